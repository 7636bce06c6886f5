"""Fig. 3 extras: polynomial emulator degree by CV, isosurfaces in physical units."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from xslatent.data import FeatureScaler
from xslatent.pipeline.h2o_fig3 import fit_polynomial_emulator, isosurfaces, plot_isosurfaces


def test_polynomial_emulator_picks_the_true_degree():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3))
    Y = np.c_[X[:, 0] ** 3 - X[:, 1] * X[:, 2], X[:, 1] ** 2 + 0.5 * X[:, 0], X[:, 2] ** 3]
    Y = Y + 0.01 * rng.standard_normal(Y.shape)
    search = fit_polynomial_emulator(X, Y, degrees=(1, 2, 3), cv=3)
    assert search.best_params_["poly__degree"] == 3
    assert search.best_score_ > 0.999


def test_isosurfaces_of_a_sphere_lie_on_the_sphere_in_physical_units():
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(105, 8, 500), rng.normal(1.05, 0.05, 500), rng.normal(0.95, 0.04, 500)]
    xs = FeatureScaler().fit(X)
    surf = isosurfaces(lambda P: (P**2).sum(1), xs, levels=(0.2, 0.5), n=40)
    for s in surf:
        Z = xs.transform(s["verts"])  # back to standardized units
        r = np.sqrt((Z**2).sum(1))
        np.testing.assert_allclose(r, np.sqrt(s["value"]), rtol=0.03)
        assert s["verts"][:, 0].min() > 80 and s["verts"][:, 0].max() < 130  # degrees, not std units
    assert surf[0]["value"] < surf[1]["value"]
    # a validity mask removes the half-space x0 < 0 from the surface
    half = isosurfaces(lambda P: (P**2).sum(1), xs, valid=lambda P: P[:, 0] >= 0, levels=(0.5,), n=40)[0]
    assert xs.transform(half["verts"])[:, 0].min() > -0.2
    ax = plot_isosurfaces(surf, ["angle (°)", "long (Å)", "short (Å)"])
    assert len(ax.collections) == 2 and ax.get_xlabel() == "angle (°)"
    plt.close("all")
