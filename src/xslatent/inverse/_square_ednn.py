"""Old import path of :class:`xslatent.decomposition.SquareLReLUEDNN` (kept working)."""

from ..decomposition._square_ednn import SquareLReLUEDNN

__all__ = ["SquareLReLUEDNN"]
