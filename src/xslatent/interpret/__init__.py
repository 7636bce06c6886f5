"""Trustworthy interpretation: bootstrap intervals, decisiveness per feature, reconstructability."""

from ._bootstrap import (
    BootstrapEnsemble,
    BootstrapInterval,
    align_components,
    bootstrap,
    eca_on_ensemble,
    intervals_separate,
)
from ._decisiveness import DecisivenessReport, conditional_residuals, decisiveness
from ._reconstructability import ReconstructabilityReport, direct_reconstruction_scores, reconstructability

__all__ = [
    "BootstrapEnsemble",
    "BootstrapInterval",
    "DecisivenessReport",
    "ReconstructabilityReport",
    "align_components",
    "bootstrap",
    "conditional_residuals",
    "decisiveness",
    "direct_reconstruction_scores",
    "eca_on_ensemble",
    "intervals_separate",
    "reconstructability",
]
