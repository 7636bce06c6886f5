"""Bundled and synthetic datasets."""

from ._bundled import registry
from ._geo2 import load_geo2, load_geo2_spectra
from ._h2o import h2o_from_generator_file, load_h2o
from ._resolve import load_dataset
from ._synthetic import make_mostly_linear, make_subspace_spectra

__all__ = ["make_mostly_linear", "make_subspace_spectra", "load_h2o", "h2o_from_generator_file", "registry", "load_geo2", "load_geo2_spectra", "load_dataset"]
