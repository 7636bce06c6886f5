"""Baselines every model is reported against, and the nesting checks between models.

Two baselines sit next to the emulator in every table:

* **ridge** — :class:`sklearn.linear_model.RidgeCV` with ``alpha`` chosen by efficient
  leave-one-out over :data:`RIDGE_ALPHAS` (a linear model: the emulator contains it, since a
  ReLU network represents any affine map);
* **group mean** — each row predicted by the training mean of its group (trajectory, run,
  pressure); groups unseen in training get the overall training mean. Only where the data
  carry groups.

Both are cross-validated on the same folds as the searches, so their fold scores and the
CV noise are comparable with the searched models'.

**CV noise** of a cross-validated score is the standard error of its mean over the ``k``
folds, ``std(fold scores) / sqrt(k)`` (population std, as ``std_test_score``).

**Nesting checks** (:func:`check_nesting`): a model that contains another must score at least
as well. Violations are returned as one-line messages and logged with
:func:`logging.warning`; the pipelines print them under the tables. The pairs checked, on the
test scores, with the tolerance each allows:

* emulator vs ridge: the emulator must beat ridge (no CV-noise tolerance, only the floor);
* NNCA k vs EDNN k (NNCA is an EDNN with a linear orthonormal encoder), tolerance the EDNN
  search's CV noise;
* EDNN k, NNCA k, ECA k vs the emulator (a rank-k model predicts through at most the
  information the emulator uses), tolerance the emulator search's CV noise;
* EDNN k vs EDNN k+1 and NNCA k vs NNCA k+1, tolerance the CV noise of the larger model.

Every tolerance is at least :data:`NESTING_FLOOR` (``1e-4``, the last printed decimal of a
score): when all fold scores sit at 0.9999 the CV noise is about ``1e-5``, and a difference
that small is float rounding between two fits, not a model scoring above its container.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .._validation import Interval, validate_params
from ..metrics import r2_score

__all__ = [
    "NESTING_FLOOR",
    "RIDGE_ALPHAS",
    "Baseline",
    "check_nesting",
    "cv_noise",
    "group_mean_prediction",
    "ridge_baseline",
    "group_mean_baseline",
]

logger = logging.getLogger("xslatent.selection")

#: ridge penalties tried (log-spaced, from almost none to very strong)
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-4, 5, 19))


def cv_noise(fold_scores) -> float:
    """Standard error of a mean CV score: ``std(fold scores) / sqrt(k)`` (NaN-free scores only).

    Parameters
    ----------
    fold_scores : array-like of shape (k,)

    Returns
    -------
    float
        0 for a single fold; NaN if no score is finite.
    """
    s = np.asarray(fold_scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return math.nan
    return float(s.std() / math.sqrt(s.size))


@dataclass
class Baseline:
    """A baseline's cross-validated and test scores.

    Attributes
    ----------
    name : str
    fold_scores : ndarray
        Generalized R2 on each CV validation fold.
    cv_score : float
        Their mean.
    cv_noise : float
        :func:`cv_noise` of the fold scores.
    test_score : float
        Generalized R2 on the test split (fitted on the whole training split).
    params : dict
        What was chosen on the whole training split (ridge: ``alpha``).
    estimator : object or None
        The fitted model (ridge) or None (group mean).
    """

    name: str
    fold_scores: np.ndarray
    cv_score: float
    cv_noise: float
    test_score: float = math.nan
    params: dict = field(default_factory=dict)
    estimator: object = None


def _ridge():
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=RIDGE_ALPHAS)


def ridge_baseline(Xtr, Ytr, folds, Xte=None, Yte=None) -> Baseline:
    """Ridge regression with ``alpha`` chosen by leave-one-out CV, scored on ``folds``.

    In each fold ``alpha`` is chosen on the fold's training rows only, so the fold scores
    are honest; the returned estimator is refitted on all of ``Xtr``.

    Parameters
    ----------
    Xtr, Ytr : ndarray
        Training split (standardized as the models see it).
    folds : list of (train, validation) index arrays
        The searches' CV folds.
    Xte, Yte : ndarray, optional
        Test split; gives ``test_score``.

    Returns
    -------
    Baseline
    """
    scores = [
        r2_score(Ytr[va], _ridge().fit(Xtr[tr], Ytr[tr]).predict(Xtr[va])) for tr, va in folds
    ]
    est = _ridge().fit(Xtr, Ytr)
    test = r2_score(Yte, est.predict(Xte)) if Xte is not None else math.nan
    return Baseline(
        "ridge",
        np.asarray(scores),
        float(np.mean(scores)),
        cv_noise(scores),
        float(test),
        {"alpha": float(est.alpha_)},
        est,
    )


def group_mean_prediction(Ytr, groups_train, groups_pred) -> np.ndarray:
    """Each row predicted by the mean of the training rows of its group.

    Parameters
    ----------
    Ytr : ndarray of shape (n_train, n_outputs)
    groups_train : array-like of shape (n_train,)
    groups_pred : array-like of shape (n_pred,)
        Groups of the rows to predict; a group absent from ``groups_train`` gets the mean of
        all training rows.

    Returns
    -------
    ndarray of shape (n_pred, n_outputs)
    """
    Ytr = np.asarray(Ytr, dtype=np.float64)
    g_tr, g_p = np.asarray(groups_train), np.asarray(groups_pred)
    P = np.empty((g_p.shape[0], Ytr.shape[1]))
    P[:] = Ytr.mean(axis=0)
    for g in np.unique(g_p):
        rows = g_tr == g
        if rows.any():
            P[g_p == g] = Ytr[rows].mean(axis=0)
    return P


def group_mean_baseline(Ytr, groups_train, folds, Yte=None, groups_test=None) -> Baseline:
    """Per-group mean, scored on ``folds`` (and on the test split when given).

    Parameters
    ----------
    Ytr : ndarray
    groups_train : array-like of shape (n_train,)
    folds : list of (train, validation) index arrays
    Yte, groups_test : optional
        Test targets and groups.

    Returns
    -------
    Baseline
    """
    g = np.asarray(groups_train)
    scores = [
        r2_score(Ytr[va], group_mean_prediction(Ytr[tr], g[tr], g[va])) for tr, va in folds
    ]
    test = math.nan
    if Yte is not None and groups_test is not None:
        test = r2_score(Yte, group_mean_prediction(Ytr, g, groups_test))
    return Baseline(
        "group mean",
        np.asarray(scores),
        float(np.mean(scores)),
        cv_noise(scores),
        float(test),
        {"n_groups": int(np.unique(g).size)},
    )


#: Smallest tolerance of a nesting check (the fourth decimal every score is printed with).
NESTING_FLOOR = 1e-4


def check_nesting(
    scores: dict, noise: dict, *, label: str = "", log: bool = True, floor: float = NESTING_FLOOR
) -> list[str]:
    """Messages for every model that scores above a model containing it by more than noise.

    Parameters
    ----------
    scores : dict
        ``(model, k) -> score`` with models ``"emulator"`` and ``"ridge"`` (``k=None``) and
        ``"EDNN"``, ``"NNCA"``, ``"ECA"`` (``k`` an int). Missing or NaN entries are skipped.
        The pairs checked: ridge in the emulator; NNCA k in EDNN k; ECA k in NNCA k (an NNCA
        whose decoder is the emulator is an ECA: pass the ECA fitted on the same rows as
        the NNCA, not the in-sample one fitted on the scored rows); every k-model in the
        emulator; rank k in rank k + 1.
    noise : dict
        ``(model, k) -> CV noise`` of the containing models (missing: 0).
    label : str
        Prefix of each message (e.g. the target set's name).
    log : bool, default=True
        Also send each message to :func:`logging.warning` (logger ``xslatent.selection``).
    floor : float, default=NESTING_FLOOR
        Smallest tolerance of any pair (non-negative): a violation must exceed both the
        pair's CV noise and ``floor`` to be reported.

    Returns
    -------
    list of str
        One line per violation, e.g. ``"XES: NNCA k=2 (0.9910) > EDNN k=2 (0.9320) by 0.0590,
        more than the CV noise 0.0031"``.
    """

    validate_params(
        "check_nesting", {"floor": floor}, {"floor": [Interval(float, 0, None, closed="left")]}
    )

    def get(d, key):
        v = d.get(key, math.nan)
        return math.nan if v is None else float(v)

    pairs = [(("ridge", None), ("emulator", None), 0.0)]
    ks = sorted({k for (_, k) in scores if k is not None})
    for k in ks:
        pairs.append((("NNCA", k), ("EDNN", k), get(noise, ("EDNN", k))))
        pairs.append((("ECA", k), ("NNCA", k), get(noise, ("NNCA", k))))
        for m in ("EDNN", "NNCA", "ECA"):
            pairs.append(((m, k), ("emulator", None), get(noise, ("emulator", None))))
    for a, b in zip(ks[:-1], ks[1:]):
        for m in ("EDNN", "NNCA"):
            pairs.append(((m, a), (m, b), get(noise, (m, b))))

    def name(key):
        m, k = key
        return m if k is None else f"{m} k={k}"

    out = []
    for inner, outer, tol in pairs:
        si, so = get(scores, inner), get(scores, outer)
        tol = 0.0 if not math.isfinite(tol) else tol
        if not (math.isfinite(si) and math.isfinite(so)):
            continue
        if si - so > max(tol, floor):
            if inner[0] == "ridge":
                msg = f"{name(outer)} ({so:.4f}) does not beat {name(inner)} ({si:.4f})"
            else:
                if tol >= floor:
                    by, allowed = f"{si - so:.4f}", f"the CV noise {tol:.4f}"
                else:  # a gap near the floor needs one more decimal than the scores
                    by, allowed = f"{si - so:.5f}", f"the floor {floor:g}"
                msg = (
                    f"{name(inner)} ({si:.4f}) > {name(outer)} ({so:.4f}) by {by}, "
                    f"more than {allowed}"
                )
            msg = f"{label}: {msg}" if label else msg
            out.append(msg)
            if log:
                logger.warning("nesting violated: %s", msg)
    return out
