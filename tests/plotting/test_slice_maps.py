"""Slice maps leave structures that cannot exist blank."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from xslatent.data import FeatureScaler
from xslatent.pipeline.h2o import _ordered_bonds
from xslatent.plotting import plot_slice_maps


def test_ordered_bonds_mask_is_in_physical_units():
    rng = np.random.default_rng(0)
    r = rng.uniform(0.85, 1.15, size=(500, 2))
    X = np.c_[rng.uniform(80, 140, 500), r.max(1), r.min(1)]
    xs = FeatureScaler().fit(X)
    valid = _ordered_bonds(xs)
    pts = np.array([[104.5, 1.00, 0.95], [104.5, 0.95, 1.00], [104.5, 0.97, 0.97]])
    np.testing.assert_array_equal(valid(xs.transform(pts)), [True, False, True])


def test_slice_maps_blank_where_invalid(monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    contourf = Axes.contourf

    def record(self, A, B, Z, *args, **kwargs):
        drawn.append((np.asarray(A), np.asarray(B), np.asarray(Z)))
        return contourf(self, A, B, Z, *args, **kwargs)

    monkeypatch.setattr(Axes, "contourf", record)
    fig = plot_slice_maps(lambda P: P.sum(axis=1), ["a", "b", "c"], n=11,
                          valid=lambda P: P[:, 1] >= P[:, 2])
    plt.close(fig)
    assert len(drawn) == 3
    # slice (a, b) at c = 0: blank exactly where b < 0; elsewhere the field a + b
    A, B, Z = drawn[0]
    np.testing.assert_array_equal(np.isnan(Z), B < 0)
    np.testing.assert_allclose(Z[B >= 0], (A + B)[B >= 0])
    # slice (b, c) at a = 0: blank where b < c
    A, B, Z = drawn[2]
    np.testing.assert_array_equal(np.isnan(Z), A < B)
