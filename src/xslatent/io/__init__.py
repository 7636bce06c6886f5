"""Model files (safetensors + JSON; nothing is unpickled) and spectra readers."""

from ._model_io import load_model, read_model_document, save_model
from ._spectra import SpectraTable, read_spectra, read_two_column

__all__ = [
    "save_model",
    "load_model",
    "read_model_document",
    "SpectraTable",
    "read_spectra",
    "read_two_column",
]
