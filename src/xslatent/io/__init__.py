"""Model files (safetensors + JSON; nothing is unpickled)."""

from ._model_io import load_model, read_model_document, save_model

__all__ = ["save_model", "load_model", "read_model_document"]
