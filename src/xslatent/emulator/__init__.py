"""Neural-network emulators: structure → spectrum regressors."""

from ._mlp import MLPEmulator

__all__ = ["MLPEmulator"]
