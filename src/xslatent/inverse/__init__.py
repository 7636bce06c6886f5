"""Inverse problems: latent fits are in the estimators; here the EDNN inverse-stability analysis."""

from ..decomposition import SquareLReLUEDNN
from ._stability import (
    Block,
    InversionResult,
    forward_activations,
    invert_block,
    layerwise_inversion,
    network_blocks,
    weight_diagnostics,
)

__all__ = [
    "SquareLReLUEDNN",
    "Block",
    "InversionResult",
    "forward_activations",
    "invert_block",
    "layerwise_inversion",
    "network_blocks",
    "weight_diagnostics",
]
