"""Trustworthy interpretation: bootstrap intervals, decisiveness per feature, reconstructability,
and a measured spectrum fitted with a run's models and expanded to structure."""

from ._bootstrap import (
    BootstrapEnsemble,
    BootstrapInterval,
    align_components,
    bootstrap,
    eca_on_ensemble,
    intervals_separate,
)
from ._decisiveness import DecisivenessReport, conditional_residuals, decisiveness
from ._measured import Run, describe_run, interpret_spectra, load_run, training_convention, write_interpretation
from ._reconstructability import ReconstructabilityReport, direct_reconstruction_scores, reconstructability

__all__ = [
    "BootstrapEnsemble",
    "BootstrapInterval",
    "DecisivenessReport",
    "ReconstructabilityReport",
    "Run",
    "align_components",
    "bootstrap",
    "conditional_residuals",
    "decisiveness",
    "describe_run",
    "direct_reconstruction_scores",
    "eca_on_ensemble",
    "interpret_spectra",
    "intervals_separate",
    "load_run",
    "reconstructability",
    "training_convention",
    "write_interpretation",
]
