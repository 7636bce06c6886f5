"""Which structural features does the spectrum depend on? A per-feature decisiveness test.

The criterion
-------------
Simulation data leak structure into an interpretation: a feature that is merely correlated
with a decisive one (a bond length that co-varies with an angle along the MD trajectory) is
*predicted* by the spectrum, and a model may even use it, although the spectrum carries no
information of its own about it. Decisiveness must therefore ask what the feature does
*with its correlated partners held fixed*.

For each feature ``j`` and each bootstrap member (an emulator, or the emulator of an ECA):

1. Split ``x_j`` on the evaluation rows into the part its partners predict and a residual,
   ``x_j = E[x_j | x_-j] + r_j``, with the linear conditional expectation of the (ridge-
   stabilised) covariance of the evaluation rows: ``r_j = (P x)_j / P_jj`` with
   ``P = (C + λ I)^-1``.
2. Replace ``r_j`` by a random permutation of itself (conditional permutation): the feature
   keeps its relation to its partners but loses its own, independent variation.
3. The *drop* is the generalized R2 of the model's predictions against the true spectra on
   the original rows minus that on the perturbed rows.

A feature the spectra depend on loses covered variance (drop > 0); an inert feature, whether
independent of the others or correlated with a decisive one, does not (drop ≈ 0): its own
variation is not related to the spectra, and a model trained on data where that variation
is present learns to ignore it. The score is measured against the *true* spectra, so a
model that spuriously uses an inert feature is penalised, not rewarded. ``decisive_`` is
True where the lower end of the bootstrap interval of the drop exceeds ``threshold``.

The plain (marginal) permutation drop is reported beside it. A feature with a marginal drop
but no conditional one affects the predictions only through what it shares with its
partners: the data cannot separate it from them. A feature that is not decisive but is
well reconstructed from the spectra by a direct regression is reported as
*"recoverable by correlation, not decisive"*: that is the leakage.

Limitations: the conditional expectation is linear; strongly nonlinear dependences between
features leave part of the partners' information in the residual (the test then leans
towards calling a correlated feature decisive). Two features that are (nearly) collinear in
the data cannot be decisive individually; only jointly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import NONE, Interval, check_X_y, check_random_state_int, validate_params
from ..exceptions import InvalidParameterError
from ..metrics import r2_score
from ._bootstrap import BootstrapEnsemble, BootstrapInterval, _interval, bootstrap
from ._reconstructability import direct_reconstruction_scores

__all__ = ["DecisivenessReport", "conditional_residuals", "decisiveness"]

DECISIVE = "decisive"
RECOVERABLE = "recoverable by correlation, not decisive"
JOINT = "affects the spectrum only jointly with correlated features"
INERT = "not decisive"

_CONSTRAINTS = {
    "threshold": [Interval(float, 0, None, closed="left")],
    "recoverable_r2": [Interval(float, None, 1, closed="right")],
    "max_rows": [Interval(int, 10, None), NONE],
}


def conditional_residuals(X, ridge: float = 1e-3) -> np.ndarray:
    """Residual ``r_j = x_j - E[x_j | x_-j]`` of every feature, linear conditional expectation.

    Computed for all features at once from the precision matrix ``P = (C + ridge * tr(C)/d I)^-1``
    of the (centred) rows: ``r_j = (P (x - mean))_j / P_jj``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    ridge : float
        Relative ridge added to the covariance (keeps collinear features finite).

    Returns
    -------
    ndarray of shape (n, d)
    """
    Xc = X - X.mean(axis=0)
    C = Xc.T @ Xc / max(1, X.shape[0] - 1)
    d = C.shape[0]
    P = np.linalg.inv(C + ridge * np.trace(C) / d * np.eye(d))
    return (Xc @ P) / np.diag(P)[None, :]


def _predictor(member):
    """The structure → spectrum model of a member (an ECA's emulator: the full model)."""
    return getattr(member, "emulator_", member)


def _drops(model, X, Y, resid, rng, features):
    base = r2_score(Y, model.predict(X))
    cond, marg = np.empty(len(features)), np.empty(len(features))
    for i, j in enumerate(features):
        perm = rng.permutation(X.shape[0])
        Xc = X.copy()
        Xc[:, j] = X[:, j] - resid[:, j] + resid[perm, j]
        cond[i] = base - r2_score(Y, model.predict(Xc))
        Xm = X.copy()
        Xm[:, j] = X[perm, j]
        marg[i] = base - r2_score(Y, model.predict(Xm))
    return cond, marg


@dataclass
class DecisivenessReport:
    """Result of :func:`decisiveness`.

    Attributes
    ----------
    feature_names : list of str
    drop : BootstrapInterval
        Drop in covered variance under conditional permutation, arrays (n_features,).
    marginal_drop : BootstrapInterval
        Drop under plain permutation.
    reconstructability : BootstrapInterval
        Per-feature R2 of a direct (ridge) spectrum → structure regression.
    loadings : BootstrapInterval or None
        Aligned basis vectors, arrays (k, n_features), when the members have a basis.
    decisive_ : ndarray of bool
        ``drop.low > threshold``.
    status : list of str
        "decisive", "recoverable by correlation, not decisive", "affects the spectrum only
        jointly with correlated features" or "not decisive".
    threshold, recoverable_r2 : float
    table : list of dict
        One row per feature.
    """

    feature_names: list
    drop: BootstrapInterval
    marginal_drop: BootstrapInterval
    reconstructability: BootstrapInterval
    loadings: BootstrapInterval | None
    decisive_: np.ndarray
    status: list
    threshold: float
    recoverable_r2: float
    table: list = field(default_factory=list)


def decisiveness(
    estimator,
    X,
    y,
    *,
    n_resamples: int = 20,
    groups=None,
    random_state: int | None = None,
    client=None,
    X_eval=None,
    y_eval=None,
    feature_names=None,
    basis=None,
    threshold: float = 0.01,
    recoverable_r2: float = 0.5,
    confidence: float = 0.9,
    max_rows: int | None = 2000,
) -> DecisivenessReport:
    """Decisiveness of every input feature for the spectra (see the module docstring).

    Parameters
    ----------
    estimator : estimator or BootstrapEnsemble
        A structure → spectrum model (emulator, EDNN, NNCA, or ECA, whose emulator is used),
        bootstrapped on ``(X, y)`` unless already an ensemble (its ``train_indices_`` must
        refer to ``X``).
    X, y : array-like
        Training structures and spectra (standardized/scaled).
    n_resamples, groups, random_state, client
        As in :func:`bootstrap`; ``random_state`` also seeds the permutations.
    X_eval, y_eval : array-like, optional
        Rows the drops are measured on (a test split). Default: each member's out-of-bag rows.
    feature_names : list of str, optional
    basis : BootstrapEnsemble, optional
        Ensemble of ECA/NNCA whose aligned basis vectors give the loadings; default: the
        members' own basis, if they have one.
    threshold : float, default=0.01
        A feature is decisive when the lower end of its drop interval exceeds this (a share of
        the spectra's variance).
    recoverable_r2 : float, default=0.5
        A non-decisive feature whose direct-regression R2 interval lies above this is
        "recoverable by correlation, not decisive".
    confidence : float, default=0.9
    max_rows : int or None, default=2000
        Evaluate on at most this many rows (drawn at random).

    Returns
    -------
    DecisivenessReport
    """
    validate_params("decisiveness", {"threshold": threshold, "recoverable_r2": recoverable_r2,
                                     "max_rows": max_rows}, _CONSTRAINTS)
    X, Y = check_X_y(X, y, owner="decisiveness", y_name="y")
    if (X_eval is None) != (y_eval is None):
        raise InvalidParameterError(
            "The 'X_eval' and 'y_eval' arguments of decisiveness must be given together. Got only one."
        )
    seed = check_random_state_int(random_state)
    ens = estimator if isinstance(estimator, BootstrapEnsemble) else bootstrap(
        estimator, X, Y, n_resamples=n_resamples, groups=groups, random_state=seed, client=client)
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
    if len(names) != d:
        raise InvalidParameterError(
            f"The 'feature_names' argument of decisiveness must have {d} names. Got {len(names)} instead."
        )
    if X_eval is not None:
        Xe, Ye = check_X_y(X_eval, y_eval, owner="decisiveness", y_name="y_eval")
        if max_rows is not None and Xe.shape[0] > max_rows:
            keep = np.sort(rng.choice(Xe.shape[0], max_rows, replace=False))
            Xe, Ye = Xe[keep], Ye[keep]
        shared = (Xe, Ye, conditional_residuals(Xe))
    cond, marg, recon = [], [], []
    for i, m in enumerate(ens.estimators_):
        if X_eval is None:
            rows = ens.oob_indices_[i]
            if rows.shape[0] < 10:
                raise InvalidParameterError(
                    f"Bootstrap member {i} has {rows.shape[0]} out-of-bag rows; pass X_eval and y_eval."
                )
            if max_rows is not None and rows.shape[0] > max_rows:
                rows = np.sort(rng.choice(rows, max_rows, replace=False))
            Xe, Ye = X[rows], Y[rows]
            resid = conditional_residuals(Xe)
        else:
            Xe, Ye, resid = shared
        c, mg = _drops(_predictor(m), Xe, Ye, resid, rng, range(d))
        cond.append(c)
        marg.append(mg)
        sub = BootstrapEnsemble([m], [ens.train_indices_[i]], [ens.oob_indices_[i]], ens.seeds_[i:i + 1],
                                None, None, 0.0, ens.batched_)
        recon.append(direct_reconstruction_scores(sub, X, Y, Xe, Ye)[0])
    drop = _interval(np.array(cond), confidence)
    mdrop = _interval(np.array(marg), confidence)
    rec = _interval(np.array(recon), confidence)
    based = basis if basis is not None else (ens if hasattr(ens.estimators_[0], "components_") else None)
    loadings = based.components_interval(confidence=confidence) if based is not None else None
    decisive = np.asarray(drop.low) > threshold
    status = []
    for j in range(d):
        if decisive[j]:
            status.append(DECISIVE)
        elif mdrop.low[j] > threshold:
            status.append(JOINT)
        elif rec.low[j] > recoverable_r2:
            status.append(RECOVERABLE)
        else:
            status.append(INERT)
    table = []
    for j, n in enumerate(names):
        row = {"feature": n}
        for label, iv in (("drop", drop), ("marginal_drop", mdrop), ("ridge_R2", rec)):
            row.update({label: float(iv.estimate[j]), f"{label}_low": float(iv.low[j]),
                        f"{label}_high": float(iv.high[j])})
        if loadings is not None:
            for i in range(loadings.estimate.shape[0]):
                row.update({f"v{i + 1}": float(loadings.estimate[i, j]), f"v{i + 1}_low": float(loadings.low[i, j]),
                            f"v{i + 1}_high": float(loadings.high[i, j])})
        row["decisive"] = bool(decisive[j])
        row["status"] = status[j]
        table.append(row)
    return DecisivenessReport(names, drop, mdrop, rec, loadings, decisive, status, threshold, recoverable_r2, table)
