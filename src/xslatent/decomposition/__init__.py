"""Component analyses: ECA, EDNN and NNCA."""

from ._eca import ECA
from ._ednn import EDNN
from ._latent import LatentFit
from ._nnca import NNCA

__all__ = ["ECA", "EDNN", "NNCA", "LatentFit"]
