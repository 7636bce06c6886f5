"""Paper Fig. 3 extras for H2O: Eq. 4 with a polynomial emulator, and 3-D isosurfaces.

* The earlier ECA work on H2O used a polynomial emulator; here it is polynomial ridge
  regression (``PolynomialFeatures`` + ``RidgeCV`` in a scikit-learn ``Pipeline``) with the
  degree chosen by K-fold CV on the train split, scored by the generalized R2. Its spectral
  deviation (Eq. 4, :func:`xslatent.pipeline.h2o.spectral_deviation`) is drawn as slice maps
  next to the MLP emulator's.
* Isosurfaces of the EDNN k = 1 bottleneck activation and of Eq. 4 (MLP emulator) in the
  (angle, long O–H, short O–H) space in physical units (degrees, Å), from
  ``skimage.measure.marching_cubes`` on a grid over ±2.5 training standard deviations,
  leaving out structures whose 'long' bond would be shorter than the 'short' one.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["fit_polynomial_emulator", "isosurfaces", "plot_isosurfaces", "fig3_extras"]


def fit_polynomial_emulator(X, Y, *, degrees=tuple(range(1, 11)), alphas=None, cv=5, random_state=0):
    """Polynomial ridge regression with the degree chosen by K-fold CV (generalized R2).

    Parameters
    ----------
    X, Y : ndarray
        Standardized structures and targets (train split).
    degrees : sequence of int
        Polynomial degrees tried (default 1–10).
    alphas : sequence of float, optional
        Ridge penalties of the inner ``RidgeCV`` (efficient leave-one-out); default
        ``logspace(-8, 2, 11)``.
    cv : int
    random_state : int
        Seed of the shuffled K-fold split.

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        Fitted; ``best_params_["poly__degree"]``, ``best_score_`` and ``predict``.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    from ..metrics import r2_score

    alphas = np.logspace(-8, 2, 11) if alphas is None else alphas
    pipe = Pipeline([("poly", PolynomialFeatures(include_bias=False)), ("ridge", RidgeCV(alphas=alphas))])
    search = GridSearchCV(pipe, {"poly__degree": list(degrees)}, scoring=make_scorer(r2_score),
                          cv=KFold(cv, shuffle=True, random_state=random_state))
    return search.fit(X, Y)


def _grid(x_scaler, extent=2.5, n=32):
    """Standardized grid points and the physical axis values of each dimension."""
    g = np.linspace(-extent, extent, n)
    A, B, C = np.meshgrid(g, g, g, indexing="ij")
    P = np.c_[A.ravel(), B.ravel(), C.ravel()]
    axes = x_scaler.inverse_transform(np.c_[g, g, g])  # feature-wise affine: one axis per column
    return P, axes


def isosurfaces(fn, x_scaler, valid=None, levels=(0.25, 0.5, 0.75), extent=2.5, n=32):
    """Marching-cubes isosurfaces of a scalar field over (angle, long, short) in physical units.

    Parameters
    ----------
    fn : callable
        Maps (N, 3) standardized points to (N,) values.
    x_scaler : FeatureScaler
        The train-split scaler, to express the grid in physical units.
    valid : callable, optional
        Maps standardized points to a boolean mask of structures that exist.
    levels : sequence of float
        Quantiles of the field over the valid grid points at which surfaces are drawn.
    extent, n : float, int
        The grid spans ±``extent`` standard deviations with ``n`` points per axis.

    Returns
    -------
    list of dict
        Per level: ``value``, ``verts`` (V, 3) in physical units, ``faces`` (F, 3).
    """
    from skimage.measure import marching_cubes

    P, axes = _grid(x_scaler, extent, n)
    V = np.asarray(fn(P), dtype=float).reshape(n, n, n)
    mask = None if valid is None else np.asarray(valid(P), dtype=bool).reshape(n, n, n)
    inside = V[mask] if mask is not None else V.ravel()
    spacing = tuple(float(a[1] - a[0]) for a in axes.T)
    origin = axes[0]
    out = []
    for q in levels:
        value = float(np.quantile(inside, q))
        verts, faces, _, _ = marching_cubes(V, level=value, spacing=spacing, mask=mask)
        out.append({"quantile": q, "value": value, "verts": verts + origin, "faces": faces})
    return out


def plot_isosurfaces(surfaces, axis_names, ax=None, title=None, cmap="viridis"):
    """Draw :func:`isosurfaces` output on a 3-D matplotlib Axes; returns the Axes."""
    import matplotlib
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    if ax is None:
        ax = plt.figure(figsize=(5, 4.5)).add_subplot(projection="3d")
    colors = matplotlib.colormaps[cmap](np.linspace(0.1, 0.9, len(surfaces)))
    lo, hi = [], []
    for c, s in zip(colors, surfaces):
        if len(s["faces"]) == 0:
            continue
        ax.add_collection3d(Poly3DCollection(s["verts"][s["faces"]], facecolor=c, edgecolor="none", alpha=0.45,
                                             label=f"{s['value']:.3g} (q{int(100 * s['quantile'])})"))
        lo.append(s["verts"].min(0))
        hi.append(s["verts"].max(0))
    if lo:
        ax.set_xlim(np.min(lo, 0)[0], np.max(hi, 0)[0])
        ax.set_ylim(np.min(lo, 0)[1], np.max(hi, 0)[1])
        ax.set_zlim(np.min(lo, 0)[2], np.max(hi, 0)[2])
    ax.set_xlabel(axis_names[0], fontsize=8)
    ax.set_ylabel(axis_names[1], fontsize=8)
    ax.set_zlabel(axis_names[2], fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


_UNITS = {"angle_HOH_deg": "H–O–H angle (°)", "r_OH_long_A": "long O–H (Å)", "r_OH_short_A": "short O–H (Å)"}


def fig3_extras(results, preps, datasets, out_dir, *, seed=0, cv=5, log=print) -> list:
    """Polynomial-emulator Eq. 4 and 3-D isosurfaces for each H2O target set.

    Writes ``fig3_<name>_deviation_poly.png``, ``fig3_<name>_isosurfaces.png`` and
    ``fig3_polynomial.json`` (degree, CV and test R2) under ``out_dir``; logs the polynomial
    emulator's scores. Returns report sections.
    """
    import matplotlib.pyplot as plt

    from ..metrics import r2_score
    from ..plotting import plot_slice_maps
    from ..report import Section, figure_html, table_html
    from .h2o import _ordered_bonds, spectral_deviation

    rows, body_poly, body_iso = [], [], []
    for res in results:
        prep, d = preps[res.name], datasets[res.name]
        poly = fit_polynomial_emulator(prep.Xtr, prep.Ytr, cv=cv, random_state=seed)
        deg = int(poly.best_params_["poly__degree"])
        row = {"target": res.name, "degree": deg, "CV R2": float(poly.best_score_),
               "test R2": float(r2_score(prep.Yte, poly.predict(prep.Xte))), "MLP emulator test R2": res.emulator_r2}
        rows.append(row)
        log(f"[{res.name}] polynomial emulator: degree {deg} (CV), CV R2 {row['CV R2']:.4f}, test R2 "
            f"{row['test R2']:.4f} (MLP {res.emulator_r2:.4f})")
        names = [f"{n} (std)" for n in d.feature_names]
        valid = _ordered_bonds(prep.x_scaler)
        f = plot_slice_maps(lambda P: spectral_deviation(poly, P), names, cmap="magma", valid=valid,
                            title=f"{res.name}: Eq. 4 with the polynomial emulator (degree {deg})")
        f.savefig(f"{out_dir}/fig3_{res.name.lower()}_deviation_poly.png", dpi=110)
        body_poly.append(figure_html(f))

        ednn, em = res.models["ednn_k1"], res.models["emulator"]
        axis_names = [_UNITS.get(n, n) for n in d.feature_names]
        fig = plt.figure(figsize=(11, 4.6))
        for i, (fn, label, cmap) in enumerate((
                (lambda P: ednn.transform(P)[:, 0], "EDNN k=1 bottleneck activation", "viridis"),
                (lambda P: spectral_deviation(em, P), "Eq. 4 spectral deviation (MLP)", "magma"))):
            surf = isosurfaces(fn, prep.x_scaler, valid=valid)
            plot_isosurfaces(surf, axis_names, ax=fig.add_subplot(1, 2, i + 1, projection="3d"),
                             title=f"{res.name}: {label}", cmap=cmap)
        fig.tight_layout()
        fig.savefig(f"{out_dir}/fig3_{res.name.lower()}_isosurfaces.png", dpi=110)
        body_iso.append(figure_html(fig))
    with open(f"{out_dir}/fig3_polynomial.json", "w") as fh:
        json.dump(rows, fh, indent=1)
    return [
        Section("Fig. 3: Eq. 4 with the polynomial emulator of the earlier ECA work", [
            "<p>Polynomial ridge regression (PolynomialFeatures + RidgeCV), degree chosen by "
            f"{cv}-fold CV on the train split; slices through the training-set centre as for the MLP.</p>",
            table_html(rows)] + body_poly),
        Section("Fig. 3 in 3-D: isosurfaces in (angle, long O–H, short O–H)", [
            "<p>Isosurfaces at the 25/50/75 % quantiles of each field over ±2.5 training standard "
            "deviations (marching cubes), physical units; structures with long O–H &lt; short O–H left out.</p>"]
            + body_iso),
    ]
