"""Shared test setup: one torch thread, Agg backend, fixed global seeds, a small data set."""

from __future__ import annotations

import random
import sys
from typing import NamedTuple

import matplotlib
import numpy as np
import pytest
import torch

# Small networks train faster on one thread, and one thread keeps float sums in a fixed order.
torch.set_num_threads(1)
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _fixed_global_seeds():
    """Seed the global generators so that code that forgets ``random_state`` is still repeatable."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield
    if "matplotlib.pyplot" in sys.modules:  # close figures only if a test drew one
        sys.modules["matplotlib.pyplot"].close("all")


class SmallData(NamedTuple):
    """Standardized structures ``X``, scaled spectra ``Y`` and the decisive basis ``W``."""

    X: np.ndarray
    Y: np.ndarray
    W: np.ndarray


@pytest.fixture(scope="session")
def small_data_shared() -> SmallData:
    """``small_data`` for session- and module-scoped fixtures: do not modify these arrays."""
    from xslatent.datasets import make_subspace_spectra

    X, Y, W, _ = make_subspace_spectra(
        n_samples=48, n_features=4, n_components=2, n_channels=8, random_state=0
    )
    X = (X - X.mean(0)) / X.std(0)
    Y = Y - Y.mean(0)
    Y = Y / np.sqrt(np.mean(Y**2))
    return SmallData(X, Y, W)


@pytest.fixture
def small_data(small_data_shared) -> SmallData:
    """48 samples, 4 standardized features, 8 spectral channels (fresh copies per test)."""
    return SmallData(*(a.copy() for a in small_data_shared))


def _tiny_estimator(name: str, random_state: int | None = 0):
    """Each public estimator with a configuration that fits ``small_data`` in well under 1 s."""
    from xslatent import (
        ECA,
        EDNN,
        NNCA,
        FeatureScaler,
        GlobalSpectrumScaler,
        MLPEmulator,
        SquareLReLUEDNN,
    )

    if name == "MLPEmulator":
        return MLPEmulator(hidden_layer_sizes=(8,), max_iter=20, random_state=random_state)
    if name == "ECA":
        emulator = MLPEmulator(hidden_layer_sizes=(8,), max_iter=20)
        return ECA(emulator, n_components=2, n_restarts=2, max_iter=30, random_state=random_state)
    if name == "EDNN":
        return EDNN(
            n_components=2,
            encoder_layer_sizes=(8,),
            decoder_layer_sizes=(8,),
            max_iter=20,
            random_state=random_state,
        )
    if name == "NNCA":
        return NNCA(
            n_components=2, decoder_layer_sizes=(8,), max_iter=20, random_state=random_state
        )
    if name == "SquareLReLUEDNN":
        return SquareLReLUEDNN(
            n_components=2, encoder_depth=1, decoder_depth=1, max_iter=20, random_state=random_state
        )
    if name == "FeatureScaler":
        return FeatureScaler()
    if name == "GlobalSpectrumScaler":
        return GlobalSpectrumScaler()
    raise KeyError(name)


@pytest.fixture(scope="session")
def make_tiny():
    """``make_tiny(name, random_state=0)``: a tiny, fast configuration of a public estimator.

    Names: MLPEmulator, ECA (wrapping an unfitted MLPEmulator), EDNN, NNCA, SquareLReLUEDNN,
    FeatureScaler, GlobalSpectrumScaler.
    """
    return _tiny_estimator
