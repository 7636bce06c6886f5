"""A typed description of the package's feed-forward networks, read from torch modules.

Two consumers walk the same networks: the batched trainer (:mod:`xslatent.nn._stacked`)
compiles the description into stacked tensor programs, and the inverse-stability analysis
(:mod:`xslatent.inverse`) turns it into invertible blocks. :func:`describe_network` is the
one place that knows how an :class:`~xslatent.nn._modules.EncoderDecoder`, an
``nn.Sequential`` MLP and NNCA's :class:`~xslatent.nn._modules.OrthonormalProjection` are
laid out.

A description is a tuple of operations in forward order; every operation is a frozen
dataclass, so a description is hashable and two networks of one architecture have equal
descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from torch import nn
from torch.nn.utils import parametrize

from ._modules import EncoderDecoder, OrthonormalProjection

__all__ = [
    "ActivationOp",
    "LinearOp",
    "NetworkOp",
    "OrthonormalOp",
    "UnsupportedLayerError",
    "describe_network",
]


class UnsupportedLayerError(TypeError):
    """The network contains a layer the description does not cover."""


@dataclass(frozen=True)
class LinearOp:
    """``h W^T + b`` of an ``nn.Linear`` (or of a projection whose parametrization is gone).

    Attributes
    ----------
    name : str
        State-dict prefix of the layer (``"encoder.0."``); its tensors are ``name + "weight"``
        and ``name + "bias"``.
    n_in, n_out : int
        Input and output widths.
    bias : bool
        Whether the layer has a bias.
    part : str
        ``"encoder"``, ``"decoder"`` or ``""`` (a plain MLP).
    """

    name: str
    n_in: int
    n_out: int
    bias: bool
    part: str


@dataclass(frozen=True)
class OrthonormalOp:
    """NNCA's projection ``h V^T`` with ``V`` kept orthonormal by ``orthogonal``.

    Attributes
    ----------
    name : str
        State-dict prefix of the parametrized ``nn.Linear``.
    n_components, n_features : int
        Shape of ``V``.
    orthogonal_map : str
        The parametrization's map (``"householder"``, ``"matrix_exp"``, ``"cayley"``).
    has_base : bool
        Whether the trivialization keeps a ``base`` buffer.
    n_parametrizations : int
        Parametrizations registered on the weight (1 for NNCA).
    part : str
        As for :class:`LinearOp`.
    """

    name: str
    n_components: int
    n_features: int
    orthogonal_map: str
    has_base: bool
    n_parametrizations: int
    part: str


@dataclass(frozen=True)
class ActivationOp:
    """An element-wise activation: ``"relu"``, ``"leaky_relu"`` (with ``slope``), ``"tanh"``
    or ``"identity"``."""

    kind: str
    slope: float = 0.0


NetworkOp = Union[LinearOp, OrthonormalOp, ActivationOp]


def _activation(m: nn.Module) -> ActivationOp | None:
    if isinstance(m, nn.ReLU):
        return ActivationOp("relu")
    if isinstance(m, nn.LeakyReLU):
        return ActivationOp("leaky_relu", float(m.negative_slope))
    if isinstance(m, nn.Tanh):
        return ActivationOp("tanh")
    if isinstance(m, nn.Identity):
        return ActivationOp("identity")
    return None


def _walk(module: nn.Module, prefix: str, part: str) -> list[NetworkOp]:
    if isinstance(module, EncoderDecoder):
        return _walk(module.encoder, prefix + "encoder.", "encoder") + _walk(
            module.decoder, prefix + "decoder.", "decoder"
        )
    if isinstance(module, nn.Sequential):
        ops: list[NetworkOp] = []
        for name, child in module.named_children():
            ops += _walk(child, f"{prefix}{name}.", part)
        return ops
    if isinstance(module, OrthonormalProjection):
        lin = module.linear
        if not parametrize.is_parametrized(lin, "weight"):
            return [LinearOp(prefix + "linear.", lin.in_features, lin.out_features, False, part)]
        pars = lin.parametrizations.weight
        omap = getattr(pars[0].orthogonal_map, "name", str(pars[0].orthogonal_map))
        has_base = getattr(pars[0], "base", None) is not None
        op = OrthonormalOp(
            prefix + "linear.", lin.out_features, lin.in_features, omap, has_base, len(pars), part
        )
        return [op]
    if isinstance(module, nn.Linear):
        if parametrize.is_parametrized(module):
            raise UnsupportedLayerError(
                "parametrized Linear layers other than OrthonormalProjection"
            )
        bias = module.bias is not None
        return [LinearOp(prefix, module.in_features, module.out_features, bias, part)]
    op = _activation(module)
    if op is not None:
        return [op]
    raise UnsupportedLayerError(
        f"layer {type(module).__name__} is not a supported network layer"
    )


def describe_network(module: nn.Module) -> tuple[NetworkOp, ...]:
    """The operations of ``module`` in forward order.

    Parameters
    ----------
    module : torch.nn.Module
        An :class:`~xslatent.nn._modules.EncoderDecoder`, an ``nn.Sequential`` of linear
        layers and activations, or a single such layer.

    Returns
    -------
    tuple of LinearOp, OrthonormalOp and ActivationOp

    Raises
    ------
    UnsupportedLayerError
        If a layer is none of those.
    """
    return tuple(_walk(module, "", ""))
