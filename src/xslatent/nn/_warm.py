"""Warm starts that make a network reproduce a simpler model it contains.

A ReLU (or leaky-ReLU) MLP contains every affine map of its input, and an encoder–decoder
network contains NNCA (a linear orthonormal encoder): we set the weights so that the network
computes exactly the simpler model, then training can only move on from there.

The construction (:func:`embed_affine`): to make ``Linear → act → … → Linear`` compute
``x ↦ B (A x + a) + c`` with ``A`` of shape (m, n), every hidden layer at least ``2m`` wide,

* first layer: rows ``0:m`` = ``A`` (bias ``a``), rows ``m:2m`` = ``-A`` (bias ``-a``), so the
  activation carries ``z = A x + a`` as the pair ``(act(z), act(-z))``;
* further hidden layers: identity on units ``0:2m`` (zero bias, zero weight from the other
  units); a (leaky) ReLU maps the non-negative half of each pair to itself;
* output layer: ``B / (1 + s^L)`` on units ``0:m``, ``-B / (1 + s^L)`` on ``m:2m``, bias ``c``,
  zero on the other units (``s`` the negative slope, 0 for ReLU, ``L`` the number of hidden
  layers: ``act^L(z) - act^L(-z) = (1 + s^L) z``).

Units beyond ``2m`` keep their random initial incoming weights but feed nothing yet, so they
receive gradients and can be recruited by training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["embed_affine", "negative_slope", "hidden_widths"]


def negative_slope(mlp: nn.Sequential) -> float:
    """Negative slope of the MLP's activations (0 for ReLU).

    Raises
    ------
    ValueError
        If an activation is neither ReLU nor leaky ReLU (no exact embedding exists).
    """
    slopes = set()
    for m in mlp:
        if isinstance(m, nn.Linear):
            continue
        if isinstance(m, nn.ReLU):
            slopes.add(0.0)
        elif isinstance(m, nn.LeakyReLU):
            slopes.add(float(m.negative_slope))
        else:
            raise ValueError(
                f"a warm start needs ReLU or leaky-ReLU activations; got {type(m).__name__}."
            )
    if len(slopes) > 1:
        raise ValueError("a warm start needs one activation throughout the network.")
    return slopes.pop() if slopes else 0.0


def hidden_widths(mlp: nn.Sequential) -> list[int]:
    """Output widths of every Linear layer but the last."""
    return [m.out_features for m in mlp if isinstance(m, nn.Linear)][:-1]


def embed_affine(mlp: nn.Sequential, A, a=None, B=None, c=None) -> None:
    """Set ``mlp``'s weights in place so that ``mlp(x) = B (A x + a) + c`` (module docstring).

    Parameters
    ----------
    mlp : torch.nn.Sequential
        ``Linear → act → … → Linear`` (as :func:`xslatent.nn._modules.make_mlp` builds),
        already initialised; hidden layers at least ``2 * A.shape[0]`` wide.
    A : array-like of shape (m, n_in)
    a : array-like of shape (m,), optional
        Zero when omitted.
    B : array-like of shape (n_out, m), optional
        Identity when omitted (then ``n_out == m``).
    c : array-like of shape (n_out,), optional
        Zero when omitted.

    Raises
    ------
    ValueError
        If a hidden layer is narrower than ``2m``, the shapes do not match or the activation
        is not (leaky) ReLU.
    """
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    first, last = linears[0], linears[-1]
    A = torch.as_tensor(np.array(A, dtype=np.float64))
    m = A.shape[0]
    a = torch.zeros(m, dtype=A.dtype) if a is None else torch.as_tensor(np.array(a, dtype=np.float64))
    B = torch.eye(m, dtype=A.dtype) if B is None else torch.as_tensor(np.array(B, dtype=np.float64))
    n_out = B.shape[0]
    c = torch.zeros(n_out, dtype=A.dtype) if c is None else torch.as_tensor(np.array(c, dtype=np.float64))
    if A.shape[1] != first.in_features or n_out != last.out_features or B.shape[1] != m:
        raise ValueError(
            f"embed_affine: maps of shapes A {tuple(A.shape)}, B {tuple(B.shape)} do not fit a "
            f"network {first.in_features} -> {last.out_features}."
        )
    s = negative_slope(mlp)
    hidden = hidden_widths(mlp)
    if any(w < 2 * m for w in hidden):
        raise ValueError(
            f"embed_affine: every hidden layer must be at least 2 * {m} = {2 * m} wide; got "
            f"widths {tuple(hidden)}."
        )

    def put(param, value):
        param.copy_(value.to(dtype=param.dtype, device=param.device))

    with torch.no_grad():
        if not hidden:  # a single affine layer
            put(first.weight, B @ A)
            put(first.bias, B @ a + c)
            return
        W = first.weight.detach().to(dtype=torch.float64, device="cpu").clone()
        b = first.bias.detach().to(dtype=torch.float64, device="cpu").clone()
        W[:m], W[m : 2 * m] = A, -A
        b[:m], b[m : 2 * m] = a, -a
        put(first.weight, W)
        put(first.bias, b)
        for lin in linears[1:-1]:
            W = lin.weight.detach().to(dtype=torch.float64, device="cpu").clone()
            b = lin.bias.detach().to(dtype=torch.float64, device="cpu").clone()
            W[: 2 * m] = 0.0
            W[: 2 * m, : 2 * m] = torch.eye(2 * m, dtype=torch.float64)
            b[: 2 * m] = 0.0
            put(lin.weight, W)
            put(lin.bias, b)
        scale = 1.0 / (1.0 + s ** len(hidden))
        W = torch.zeros(last.weight.shape, dtype=torch.float64)
        W[:, :m], W[:, m : 2 * m] = B * scale, -B * scale
        put(last.weight, W)
        put(last.bias, c)
