"""xslatent: which structural degrees of freedom does an X-ray spectrum encode?

Public estimators: :class:`MLPEmulator`, :class:`ECA`, :class:`EDNN`, :class:`NNCA`,
:class:`SquareLReLUEDNN`;
the score :func:`r2_score`; the data container :class:`Dataset`.
"""

__version__ = "0.1.0"

from .data import Dataset, FeatureScaler, GlobalSpectrumScaler
from .decomposition import ECA, EDNN, NNCA, SquareLReLUEDNN
from .emulator import MLPEmulator
from .metrics import r2_score

__all__ = [
    "Dataset",
    "FeatureScaler",
    "GlobalSpectrumScaler",
    "MLPEmulator",
    "ECA",
    "EDNN",
    "NNCA",
    "SquareLReLUEDNN",
    "r2_score",
    "__version__",
]
