"""Layer-by-layer inversion of leaky-ReLU networks: where does the error build up?

A network is read as a chain of blocks ``a_{i+1} = act_i(W_i a_i + b_i)`` with ``act_i`` leaky
ReLU or identity (bottleneck, output). Inverting a block: the exact inverse of leaky ReLU,
then ``W_i z = a - b_i`` solved exactly for square ``W_i``, in least squares (tall ``W_i``) or
minimum norm (wide ``W_i``, e.g. encoder → bottleneck) through the pseudo-inverse otherwise.

Modes
-----
``"predicted"``
    Start from the network's own output ``f(x)`` and invert all blocks back to the input,
    recording the error of the recovered activations at every layer.
``"target"``
    The same, starting from given targets ``Y`` (data), optionally noisy.
``"exact"``
    Invert every block separately from the exact forward activation at its output (plus
    optional Gaussian noise of relative size ``noise``): the error each layer adds by itself.

Noise of relative size ``s`` on an activation matrix ``A`` is ``s * std(A) * N(0, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from .._validation import Interval, Options, RANDOM_STATE, check_array, check_is_fitted, validate_params
from ..exceptions import InvalidParameterError
from ..nn._network import ActivationOp, LinearOp, UnsupportedLayerError, describe_network

__all__ = [
    "Block",
    "network_blocks",
    "forward_activations",
    "invert_block",
    "layerwise_inversion",
    "weight_diagnostics",
    "InversionResult",
]


@dataclass
class Block:
    """One affine map followed by an invertible activation."""

    W: np.ndarray  # (out, in)
    b: np.ndarray  # (out,)
    slope: float | None  # leaky-ReLU slope; None = identity
    part: str  # "encoder" or "decoder"

    @property
    def kind(self) -> str:
        o, i = self.W.shape
        return "square" if o == i else ("tall" if o > i else "wide")


#: class names of the activations inversion refuses, for the error message
_NON_BIJECTIVE = {"relu": "ReLU", "tanh": "Tanh"}


def _blocks(ops, state: dict, default_part: str) -> list[Block]:
    """Blocks of a network description: each linear layer with the activation after it."""
    blocks: list[Block] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        if not isinstance(op, LinearOp):
            raise InvalidParameterError(f"Unexpected layer {op} at position {i} of the network.")
        part = op.part or default_part
        W = state[op.name + "weight"].detach().cpu().double().numpy()
        b = np.zeros(W.shape[0])
        if op.bias:
            b = state[op.name + "bias"].detach().cpu().double().numpy()
        slope = None
        if i + 1 < len(ops) and isinstance(ops[i + 1], ActivationOp):
            act = ops[i + 1]
            if act.kind == "leaky_relu":
                slope = act.slope
            elif act.kind != "identity":
                raise InvalidParameterError(
                    f"Layer-wise inversion needs bijective activations (leaky ReLU or identity). "
                    f"Got {_NON_BIJECTIVE.get(act.kind, act.kind)} in the {part} instead; train "
                    f"with activation='leaky_relu' (e.g. SquareLReLUEDNN)."
                )
            i += 1
        blocks.append(Block(W, b, slope, part))
        i += 1
    return blocks


def network_blocks(model) -> list[Block]:
    """Blocks of a fitted EDNN (encoder then decoder) or of a plain ``nn.Sequential``.

    Parameters
    ----------
    model : EDNN or torch.nn.Module
        A fitted EDNN (its ``module_`` is read) or an ``nn.Sequential`` MLP.

    Returns
    -------
    list of Block
        In forward order, read from the network's description
        (:func:`xslatent.nn._network.describe_network`).
    """
    module = getattr(model, "module_", model)
    if hasattr(module, "encoder") and hasattr(module, "decoder"):
        if not isinstance(module.encoder, nn.Sequential):
            raise InvalidParameterError(
                "The 'model' argument must have an MLP encoder (EDNN); NNCA/ECA encoders are "
                "linear projections, inverted by expansion instead."
            )
    elif not isinstance(module, nn.Sequential):
        raise InvalidParameterError(
            f"The 'model' argument must be a fitted EDNN or an nn.Sequential. "
            f"Got {type(model).__name__} instead."
        )
    try:
        ops = describe_network(module)
    except UnsupportedLayerError as exc:
        raise InvalidParameterError(
            f"The 'model' argument has a layer inversion cannot read: {exc}."
        ) from None
    return _blocks(ops, module.state_dict(), "decoder")


def _act(z, slope):
    return z if slope is None else np.where(z > 0, z, slope * z)


def _act_inv(a, slope):
    return a if slope is None else np.where(a > 0, a, a / slope)


def forward_activations(blocks: list[Block], X: np.ndarray) -> list[np.ndarray]:
    """``[a_0 = X, a_1, …, a_L]`` computed in float64."""
    acts = [np.asarray(X, dtype=np.float64)]
    for blk in blocks:
        acts.append(_act(acts[-1] @ blk.W.T + blk.b, blk.slope))
    return acts


def invert_block(blk: Block, A_out: np.ndarray) -> np.ndarray:
    """Input of ``blk`` recovered from its output (exact, least squares or minimum norm)."""
    rhs = (_act_inv(A_out, blk.slope) - blk.b).T  # (out, n)
    if blk.kind == "square":
        return np.linalg.solve(blk.W, rhs).T
    return np.linalg.lstsq(blk.W, rhs, rcond=None)[0].T


@dataclass
class InversionResult:
    """Layer-wise maximum absolute error of recovered activations.

    ``max_abs_error[i]`` is the error at activation ``a_i`` (``i = 0`` the input,
    ``i = L`` the output); ``labels[i]`` names the layer.
    """

    mode: str
    noise: float
    max_abs_error: np.ndarray
    labels: list


def _layer_labels(blocks):
    labels = ["input"]
    n_enc = sum(b.part == "encoder" for b in blocks)
    for i, blk in enumerate(blocks):
        if blk.part == "encoder":
            labels.append("bottleneck" if i == n_enc - 1 else f"enc{i + 1}")
        else:
            j = i - n_enc + 1
            labels.append("output" if i == len(blocks) - 1 else f"dec{j}")
    return labels


_CONSTRAINTS = {
    "mode": [Options(("predicted", "target", "exact"))],
    "noise": [Interval(float, 0, None, closed="left")],
    "random_state": [RANDOM_STATE],
}


def layerwise_inversion(model, X, *, mode="predicted", Y=None, noise=0.0, random_state=0) -> InversionResult:
    """Invert a leaky-ReLU network layer by layer and record the error at every layer.

    Parameters
    ----------
    model : fitted EDNN (leaky ReLU) or nn.Sequential
    X : array-like (n_samples, n_features)
        Inputs whose exact forward activations are the reference.
    mode : {"predicted", "target", "exact"}, default="predicted"
        See the module docstring.
    Y : array-like (n_samples, n_outputs), optional
        Targets to start from in mode "target".
    noise : float, default=0.0
        Relative size of Gaussian noise added to the starting activations.
    random_state : int or None, default=0

    Returns
    -------
    InversionResult
    """
    validate_params("layerwise_inversion", dict(mode=mode, noise=noise, random_state=random_state), _CONSTRAINTS)
    if hasattr(model, "module_") or hasattr(model, "fit"):
        check_is_fitted(model, "module_")
    blocks = network_blocks(model)
    X = check_array(X, "X", owner="layerwise_inversion")
    if X.shape[1] != blocks[0].W.shape[1]:
        raise InvalidParameterError(
            f"The 'X' argument of layerwise_inversion must have {blocks[0].W.shape[1]} columns. "
            f"Got {X.shape[1]} instead."
        )
    rng = np.random.default_rng(random_state)
    acts = forward_activations(blocks, X)

    def noisy(A):
        return A if noise == 0 else A + noise * A.std() * rng.standard_normal(A.shape)

    L = len(blocks)
    err = np.zeros(L + 1)
    if mode == "exact":
        for i in range(L, 0, -1):
            rec = invert_block(blocks[i - 1], noisy(acts[i]))
            err[i - 1] = np.max(np.abs(rec - acts[i - 1]))
        err[L] = 0.0 if noise == 0 else np.nan  # nothing is recovered at the output itself
    else:
        if mode == "target":
            if Y is None:
                raise InvalidParameterError("The 'Y' argument of layerwise_inversion is required for mode='target'. Got None instead.")
            start = check_array(Y, "Y", owner="layerwise_inversion")
            if start.shape != acts[-1].shape:
                raise InvalidParameterError(
                    f"The 'Y' argument of layerwise_inversion must have shape {acts[-1].shape}. Got {start.shape} instead."
                )
        else:
            start = acts[-1]
        a = noisy(start)
        err[L] = np.max(np.abs(a - acts[L]))
        for i in range(L, 0, -1):
            a = invert_block(blocks[i - 1], a)
            err[i - 1] = np.max(np.abs(a - acts[i - 1]))
    return InversionResult(mode=mode, noise=float(noise), max_abs_error=err, labels=_layer_labels(blocks))


def weight_diagnostics(model) -> list[dict]:
    """Singular values and 2-norm condition number of every weight matrix, in order.

    Returns
    -------
    list of dict
        Keys ``layer`` (label of the activation the matrix produces), ``part``, ``shape``,
        ``kind`` (square/tall/wide), ``singular_values`` (descending), ``cond``
        (``s_max / s_min``, equal to ``numpy.linalg.cond``; ``inf`` when rank deficient).
    """
    blocks = network_blocks(model)
    labels = _layer_labels(blocks)[1:]
    out = []
    for lab, blk in zip(labels, blocks):
        s = np.linalg.svd(blk.W, compute_uv=False)
        cond = np.inf if s[-1] == 0 else float(s[0] / s[-1])
        out.append(dict(layer=lab, part=blk.part, shape=tuple(blk.W.shape), kind=blk.kind,
                        singular_values=s, cond=cond))
    return out
