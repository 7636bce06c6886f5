"""What the spectra can tell about each structural feature: latent reconstruction vs a direct
spectrum → structure regression, both with bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import Options, check_X_y, validate_params
from ..exceptions import InvalidParameterError
from ..metrics import r2_per_target
from ._bootstrap import BootstrapEnsemble, BootstrapInterval, _interval, bootstrap

__all__ = ["ReconstructabilityReport", "direct_reconstruction_scores", "reconstructability"]

BASELINES = ("ridge", "mlp")


def _baseline(kind: str, seed: int):
    if kind == "ridge":
        from sklearn.linear_model import RidgeCV

        return RidgeCV(alphas=np.logspace(-4, 3, 15))
    from ..emulator import MLPEmulator

    return MLPEmulator((64, 64), max_iter=200, early_stopping=True, random_state=seed)


def direct_reconstruction_scores(ensemble: BootstrapEnsemble, X, y, X_test, y_test, *, baseline="ridge") -> np.ndarray:
    """Per-feature test R2 of a direct spectrum → structure regression, one per member.

    The regression (``"ridge"``: :class:`sklearn.linear_model.RidgeCV` over a log grid of
    penalties; ``"mlp"``: :class:`xslatent.MLPEmulator` with early stopping, from spectra to
    structures) is fitted on each member's resampled training rows of ``(y → X)`` and
    scored on ``(y_test → X_test)``: what the spectrum could tell about each feature at best
    with that regression, with the same resampling spread as the ensemble.

    Returns
    -------
    ndarray of shape (n_members, n_features)
    """
    validate_params("direct_reconstruction_scores", {"baseline": baseline}, {"baseline": [Options(BASELINES)]})
    out = []
    for rows, seed in zip(ensemble.train_indices_, ensemble.seeds_):
        reg = _baseline(baseline, int(seed)).fit(y[rows], X[rows])
        out.append(r2_per_target(X_test, reg.predict(y_test)))
    return np.array(out)


@dataclass
class ReconstructabilityReport:
    """Per-feature R2 of structures reconstructed from test spectra, with intervals.

    Attributes
    ----------
    feature_names : list of str
    latent : BootstrapInterval
        Reconstruction through the model (latent fit + expansion ``x' = t V``), arrays of
        shape (n_features,). A feature outside the basis span stays at the training mean,
        so its R2 is about 0 even when the spectrum carries it.
    direct : BootstrapInterval
        The direct spectrum → structure regression baseline.
    n_components : int or None
        Rank used for the latent reconstruction.
    baseline : str
    table : list of dict
        One row per feature (name, both R2 with intervals).
    """

    feature_names: list
    latent: BootstrapInterval
    direct: BootstrapInterval
    n_components: int | None
    baseline: str
    table: list = field(default_factory=list)


def reconstructability(
    estimator,
    X,
    y,
    *,
    X_test,
    y_test,
    n_resamples: int = 20,
    groups=None,
    random_state=None,
    client=None,
    n_components: int | None = None,
    baseline: str = "ridge",
    feature_names=None,
    confidence: float = 0.9,
    max_rows: int | None = 500,
    fit_latent_kw: dict | None = None,
) -> ReconstructabilityReport:
    """How well each structural feature is reconstructed from spectra, next to the best a
    direct regression does.

    Parameters
    ----------
    estimator : ECA, NNCA or BootstrapEnsemble of them
        Bootstrapped on ``(X, y)`` (see :func:`bootstrap`) unless already an ensemble.
    X, y : array-like
        Training structures and spectra (standardized/scaled); the baseline regression is
        fitted on each member's resample of them.
    X_test, y_test : array-like
        Held-out structures and spectra; the spectra are reconstructed, the structures are
        the truth.
    n_resamples, groups, random_state, client
        As in :func:`bootstrap` (ignored for an ensemble).
    n_components : int or None
        Rank of the latent reconstruction (ECA, hierarchical NNCA); None uses all.
    baseline : {"ridge", "mlp"}, default="ridge"
    feature_names : list of str, optional
    confidence : float, default=0.9
    max_rows : int or None, default=500
        Reconstruct at most this many test rows (the first ones; latent fits are the cost).
    fit_latent_kw : dict, optional
        Passed to ``reconstruct``.

    Returns
    -------
    ReconstructabilityReport
    """
    validate_params("reconstructability", {"baseline": baseline}, {"baseline": [Options(BASELINES)]})
    X, Y = check_X_y(X, y, owner="reconstructability", y_name="y")
    Xt, Yt = check_X_y(X_test, y_test, owner="reconstructability", y_name="y_test")
    if Xt.shape[1] != X.shape[1] or Yt.shape[1] != Y.shape[1]:
        raise InvalidParameterError(
            f"The 'X_test' and 'y_test' arguments of reconstructability must have {X.shape[1]} and "
            f"{Y.shape[1]} columns, as X and y. Got {Xt.shape[1]} and {Yt.shape[1]} instead."
        )
    ens = estimator if isinstance(estimator, BootstrapEnsemble) else bootstrap(
        estimator, X, Y, n_resamples=n_resamples, groups=groups, random_state=random_state, client=client)
    if not hasattr(ens.estimators_[0], "reconstruct"):
        raise InvalidParameterError(
            f"The 'estimator' argument of reconstructability must reconstruct structures (ECA, NNCA). "
            f"Got {type(ens.estimators_[0]).__name__} instead."
        )
    if max_rows is not None and Xt.shape[0] > max_rows:
        Xt, Yt = Xt[:max_rows], Yt[:max_rows]
    R = ens.reconstructions(Yt, n_components=n_components, **(fit_latent_kw or {}))
    latent = _interval(np.array([r2_per_target(Xt, r) for r in R]), confidence)
    direct = _interval(direct_reconstruction_scores(ens, X, Y, Xt, Yt, baseline=baseline), confidence)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
    table = [
        {"feature": n, **{f"{label}{suffix}": float(getattr(iv, attr)[j])
                          for label, iv in (("latent_R2", latent), (f"{baseline}_R2", direct))
                          for suffix, attr in (("", "estimate"), ("_low", "low"), ("_high", "high"))}}
        for j, n in enumerate(names)
    ]
    return ReconstructabilityReport(names, latent, direct, n_components, baseline, table)
