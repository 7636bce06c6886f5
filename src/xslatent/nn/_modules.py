"""Torch building blocks: MLPs, encoder–decoder networks, the orthonormal projection.

Initialisation is explicit and driven by a ``torch.Generator`` so that a network built from
the same seed is bit-identical wherever it is built (the batched search relies on this):
for every ``Linear`` layer in order, weight then bias are drawn from
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (PyTorch's default range).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import orthogonal

__all__ = [
    "ACTIVATIONS",
    "make_mlp",
    "EncoderDecoder",
    "OrthonormalProjection",
    "init_linear_layers",
    "linear_weights",
    "frozen_parameters",
]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}


def make_mlp(
    n_in: int,
    hidden: Sequence[int],
    n_out: int,
    activation: str = "relu",
    *,
    negative_slope: float = 0.01,
) -> nn.Sequential:
    """``Linear → act → … → Linear``: ``len(hidden)`` activated layers, linear output."""
    layers: list[nn.Module] = []
    widths = [int(n_in), *[int(h) for h in hidden]]
    for a, b in zip(widths[:-1], widths[1:]):
        layers.append(nn.Linear(a, b))
        if activation == "leaky_relu":
            layers.append(nn.LeakyReLU(negative_slope))
        else:
            layers.append(ACTIVATIONS[activation]())
    layers.append(nn.Linear(widths[-1], int(n_out)))
    return nn.Sequential(*layers)


class OrthonormalProjection(nn.Module):
    """Bias-free, activation-free linear map ``t = x V^T`` with orthonormal rows of ``V``.

    During training the rows are kept exactly orthonormal by
    :func:`torch.nn.utils.parametrizations.orthogonal` (not a penalty). After training
    :meth:`freeze` replaces the parametrization by the plain matrix it produced.
    """

    def __init__(self, n_features: int, n_components: int, parametrized: bool = True):
        super().__init__()
        self.linear = nn.Linear(n_features, n_components, bias=False)
        if parametrized:
            orthogonal(self.linear, "weight")

    @property
    def components(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)

    def freeze(self) -> None:
        """Drop the parametrization, keeping the current orthonormal matrix as a plain weight."""
        if parametrize.is_parametrized(self.linear, "weight"):
            parametrize.remove_parametrizations(self.linear, "weight", leave_parametrized=True)


class EncoderDecoder(nn.Module):
    """``decoder(encoder(x))`` with access to the bottleneck."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def _plain_linears(module: nn.Module):
    for m in module.modules():
        if isinstance(m, nn.Linear) and not parametrize.is_parametrized(m):
            yield m


#: serialises the use of torch's global RNG in :func:`assign_orthonormal` across threads
_GLOBAL_RNG_LOCK = threading.Lock()


def assign_orthonormal(linear: nn.Linear, rows: torch.Tensor, seed: int) -> None:
    """Set the weight of an orthogonally parametrized ``Linear`` to the orthonormal ``rows``.

    The parametrization's right inverse draws from torch's global RNG (to complete the basis);
    it is seeded with ``seed`` so that the result depends on that seed only, holding a lock so
    that threads (Dask thread workers) never interleave there.
    """
    original = linear.parametrizations.weight.original
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        linear.weight = rows.contiguous().to(dtype=original.dtype, device=original.device)


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy the weights and biases of every ``Linear`` of ``source`` into ``target``, in order.

    Both networks have the same layers (e.g. a fitted estimator's ``module_`` and a freshly
    built network of the same estimator). A parametrized (orthonormal) target layer gets the
    source weight through its parametrization, so a trained NNCA encoder (frozen after
    training) restarts an NNCA network exactly.
    """
    src = [m for m in source.modules() if isinstance(m, nn.Linear)]
    dst = [m for m in target.modules() if isinstance(m, nn.Linear)]
    if len(src) != len(dst):
        raise ValueError(f"copy_weights: {len(src)} linear layers in the source, {len(dst)} in the target.")
    with torch.no_grad():
        for a, b in zip(src, dst):
            if parametrize.is_parametrized(b, "weight"):
                assign_orthonormal(b, a.weight.detach(), 0)
            else:
                b.weight.copy_(a.weight.detach().to(dtype=b.weight.dtype, device=b.weight.device))
            if b.bias is not None:
                b.bias.copy_(a.bias.detach().to(dtype=b.bias.dtype, device=b.bias.device))


def init_linear_layers(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise every plain ``Linear`` of ``module`` in order from ``generator``.

    Parametrized layers (the orthonormal projection) are initialised from the same generator
    through their unconstrained ``original`` tensor.
    """
    with torch.no_grad():
        for m in module.modules():
            if not isinstance(m, nn.Linear):
                continue
            bound = 1.0 / m.in_features**0.5
            if parametrize.is_parametrized(m, "weight"):
                shape = m.parametrizations.weight.original.shape
                w = torch.empty(shape, dtype=torch.float64).uniform_(-bound, bound, generator=generator)
                # Orthonormalise the drawn rows; the parametrization's right inverse stores them.
                q, r = torch.linalg.qr(w.T)
                q = q * torch.sign(torch.diagonal(r))
                sub_seed = int(torch.randint(0, 2**62, (1,), generator=generator))
                assign_orthonormal(m, q.T, sub_seed)
            else:
                w = torch.empty(m.weight.shape, dtype=m.weight.dtype).uniform_(
                    -bound, bound, generator=generator
                )
                m.weight.copy_(w.to(m.weight.device))
            if m.bias is not None:
                b = torch.empty(m.bias.shape, dtype=m.bias.dtype).uniform_(
                    -bound, bound, generator=generator
                )
                m.bias.copy_(b.to(m.bias.device))


@contextlib.contextmanager
def frozen_parameters(module: nn.Module):
    """Temporarily stop gradients to every parameter of ``module`` (and keep it in eval mode)."""
    params = list(module.parameters())
    flags = [p.requires_grad for p in params]
    was_training = module.training
    module.eval()
    try:
        for p in params:
            p.requires_grad_(False)
        yield module
    finally:
        for p, f in zip(params, flags):
            p.requires_grad_(f)
        module.train(was_training)


def linear_weights(module: nn.Module) -> list[torch.Tensor]:
    """Weights (not biases) of the plain Linear layers: the tensors L2 regularisation acts on."""
    return [m.weight for m in _plain_linears(module)]
