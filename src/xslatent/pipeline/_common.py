"""Shared steps of the pipelines: split, standardize, provenance."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import numpy as np

from ..data import Dataset, FeatureScaler, GlobalSpectrumScaler

__all__ = ["Prepared", "prepare", "provenance", "SPLITS"]


@dataclass
class Prepared:
    """Standardized train/test arrays and the fitted scalers (fitted on the train split only)."""

    train: Dataset
    test: Dataset
    x_scaler: FeatureScaler
    y_scaler: object
    Xtr: np.ndarray
    Xte: np.ndarray
    Ytr: np.ndarray
    Yte: np.ndarray


SPLITS = ("random", "group")


def prepare(data: Dataset, *, test_size=0.2, random_state=0, y_scaling="auto", split="random") -> Prepared:
    """80/20 split; X z-scored per feature; Y scaled globally (spectra) or per target (moments).

    ``y_scaling="auto"`` uses :class:`GlobalSpectrumScaler` when the dataset has an energy grid
    and :class:`FeatureScaler` otherwise. ``split="group"`` keeps whole groups (trajectories,
    melt-quench runs) on one side (:meth:`Dataset.train_test_split` with ``by_group=True``;
    ``test_size`` then counts groups); ``"random"`` splits rows.
    """
    from .._validation import Options, validate_params

    validate_params("prepare", {"split": split}, {"split": [Options(SPLITS)]})
    train, test = data.train_test_split(test_size=test_size, random_state=random_state,
                                        by_group=split == "group")
    if y_scaling == "auto":
        y_scaling = "global" if data.energy is not None else "feature"
    xs = FeatureScaler().fit(train.X)
    ys = GlobalSpectrumScaler().fit(train.Y) if y_scaling == "global" else FeatureScaler().fit(train.Y)
    return Prepared(train, test, xs, ys, xs.transform(train.X), xs.transform(test.X),
                    ys.transform(train.Y), ys.transform(test.Y))


def provenance(**extra) -> dict:
    """Versions, machine and the given run settings."""
    import h5py
    import scipy
    import sklearn
    import torch

    from .. import __version__

    return {
        "xslatent": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
        "machine": platform.platform(),
        **extra,
    }
