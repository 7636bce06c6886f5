"""xslatent: which structural degrees of freedom does an X-ray spectrum encode?

Public estimators: :class:`MLPEmulator`, :class:`ECA`, :class:`EDNN`, :class:`NNCA`;
the score :func:`r2_score`; the data container :class:`Dataset`.

The names are imported on first use (PEP 562), so ``import xslatent`` and the ``xslatent``
command's ``--help`` do not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> submodule that defines it.
_LAZY = {
    "Dataset": "xslatent.data",
    "FeatureScaler": "xslatent.data",
    "GlobalSpectrumScaler": "xslatent.data",
    "MLPEmulator": "xslatent.emulator",
    "ECA": "xslatent.decomposition",
    "EDNN": "xslatent.decomposition",
    "NNCA": "xslatent.decomposition",
    "r2_score": "xslatent.metrics",
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:  # pragma: no cover - for static analysis only
    from .data import Dataset, FeatureScaler, GlobalSpectrumScaler
    from .decomposition import ECA, EDNN, NNCA
    from .emulator import MLPEmulator
    from .metrics import r2_score


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xslatent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
