"""Interpretation: a measured spectrum fitted with a run's models and expanded to structure."""

from ._measured import Run, describe_run, interpret_spectra, load_run, training_convention, write_interpretation

__all__ = [
    "Run",
    "describe_run",
    "interpret_spectra",
    "load_run",
    "training_convention",
    "write_interpretation",
]
