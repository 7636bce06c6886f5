"""Model files (safetensors + JSON; nothing is unpickled) and spectra readers."""

from ._model_io import load_model, save_model
from ._spectra import SpectraTable, read_spectra, read_two_column

__all__ = ["save_model", "load_model", "SpectraTable", "read_spectra", "read_two_column"]
