"""Bundled and synthetic datasets."""

from ._synthetic import make_subspace_spectra

__all__ = ["make_subspace_spectra"]
