"""Component analyses: ECA, EDNN (and its square-matrix leaky-ReLU form) and NNCA."""

from ._eca import ECA
from ._ednn import EDNN
from ._latent import LatentFit
from ._nnca import NNCA
from ._square_ednn import SquareLReLUEDNN

__all__ = ["ECA", "EDNN", "NNCA", "SquareLReLUEDNN", "LatentFit"]
