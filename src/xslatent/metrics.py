"""Generalized covered variance (paper Eq. 1–2) and the spectral deviation (paper Eq. 4).

One R2 for the whole package: ``R2 = 1 - SS_res / SS_tot`` with residual and total sums of
squares each summed over every sample *and* output channel. Two front ends share it:
:func:`r2_score` (NumPy, validated, float64) and :func:`r2_score_torch` (torch tensors in
their own dtype, differentiable, batched over leading axes of the prediction).

Constant-target policy
----------------------
When every target is constant (``SS_tot == 0``) the ratio is undefined. Each caller states
what it needs through ``constant_target``:

``"raise"`` (default of :func:`r2_score`)
    :class:`~xslatent.exceptions.InvalidParameterError`: a reported score must be defined.
``"nan"``
    ``nan``: scores of many candidates at once (cross-validation folds, batched members),
    where one undefined score must not stop the others. Fewer than two rows or non-finite
    predictions give ``nan`` as well.
``"residual"`` (default of :func:`r2_score_torch`)
    ``-SS_res``: the early-stopping criterion on a validation split. It is monotone in the
    residual like R2 itself, so "higher is better" still ranks epochs when the held-out
    targets happen to be constant.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_array, InvalidParameterError

__all__ = [
    "CONSTANT_TARGET_POLICIES",
    "r2_per_target",
    "r2_score",
    "r2_score_torch",
    "spectral_deviation",
]

#: allowed values of the ``constant_target`` argument
CONSTANT_TARGET_POLICIES = ("raise", "nan", "residual")


def _pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true = y_true[:, None]
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    y_true = check_array(y_true, "y_true", owner="r2_score", min_samples=2)
    y_pred = check_array(y_pred, "y_pred", owner="r2_score", min_samples=2)
    if y_true.shape != y_pred.shape:
        raise InvalidParameterError(
            f"The 'y_true' and 'y_pred' arguments of r2_score must have the same shape. "
            f"Got {y_true.shape} and {y_pred.shape} instead."
        )
    return y_true, y_pred


def _check_policy(constant_target: str, owner: str) -> None:
    if constant_target not in CONSTANT_TARGET_POLICIES:
        raise InvalidParameterError(
            f"The 'constant_target' argument of {owner} must be one of "
            f"{', '.join(repr(p) for p in CONSTANT_TARGET_POLICIES)}. "
            f"Got {constant_target!r} instead."
        )


def _ratio(ss_res, ss_tot, constant_target: str):
    """``1 - ss_res / ss_tot`` with the module's constant-target policy (float or tensor)."""
    if float(ss_tot) == 0.0:
        if constant_target == "raise":
            raise InvalidParameterError(
                "The 'y_true' argument of r2_score must vary across samples. Got constant "
                "targets instead (total variance 0, score undefined)."
            )
        if constant_target == "nan":
            return math.nan
        return -ss_res
    return 1.0 - ss_res / ss_tot


def covered_variance(y: np.ndarray, p: np.ndarray, constant_target: str = "nan") -> float:
    """:func:`r2_score` on float64 arrays of equal 2-D shape, without input validation.

    For hot loops (per-epoch validation, per-fold scores) whose inputs the package built.
    """
    if constant_target == "nan" and (y.shape[0] < 2 or not np.all(np.isfinite(p))):
        return math.nan
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    ss_res = float(np.sum((y - p) ** 2))
    return _ratio(ss_res, ss_tot, constant_target)


def r2_score(y_true, y_pred, *, constant_target: str = "raise") -> float:
    """Generalized covered variance over all output channels together.

    ``R2 = 1 - tr(E^T E) / tr((Y - mean(Y))^T (Y - mean(Y)))`` with ``E = Y - Y_pred``:
    squared residuals and total variation are each summed over every sample *and* channel
    before the ratio is taken. Channels with large variance therefore weigh more, unlike the
    uniform per-channel average that :func:`sklearn.metrics.r2_score` returns by default; the
    value equals ``sklearn.metrics.r2_score(..., multioutput='variance_weighted')``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_outputs) or (n_samples,)
        True targets.
    y_pred : array-like of the same shape
        Predicted targets.
    constant_target : {"raise", "nan", "residual"}, default="raise"
        What to return when every target is constant (see the module docstring).

    Returns
    -------
    float
        1 for a perfect prediction, 0 for predicting the mean, negative when worse.

    Raises
    ------
    InvalidParameterError
        If shapes differ, fewer than two samples are given, values are not finite, or every
        target is constant and ``constant_target="raise"``.

    See Also
    --------
    r2_score_torch : the same score on torch tensors.

    Examples
    --------
    >>> r2_score([[1.0, 2.0], [3.0, 6.0]], [[1.0, 2.0], [3.0, 5.0]])
    0.9
    """
    _check_policy(constant_target, "r2_score")
    y_true, y_pred = _pair(y_true, y_pred)
    return covered_variance(y_true, y_pred, constant_target)


def r2_score_torch(y, pred, *, constant_target: str = "residual"):
    """:func:`r2_score` on torch tensors, in their dtype, keeping the autograd graph.

    Parameters
    ----------
    y : Tensor of shape (n_samples, n_outputs)
        True targets.
    pred : Tensor of shape (..., n_samples, n_outputs)
        Predictions; leading axes (e.g. several candidate models) give one score each.
    constant_target : {"raise", "nan", "residual"}, default="residual"
        What to return when every target is constant (see the module docstring).

    Returns
    -------
    Tensor of shape pred.shape[:-2] or float
        The scores (a float ``nan`` under ``constant_target="nan"`` with constant targets).
    """
    import torch

    _check_policy(constant_target, "r2_score_torch")
    ss_tot = torch.sum((y - y.mean(dim=0)) ** 2)
    ss_res = ((pred - y) ** 2).sum(dim=(-2, -1))
    return _ratio(ss_res, ss_tot, constant_target)


def r2_per_target(y_true, y_pred) -> np.ndarray:
    """Coefficient of determination of each output channel separately.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, n_outputs)
        True and predicted targets.

    Returns
    -------
    ndarray of shape (n_outputs,)
        R2 per channel; constant channels get ``nan`` (the ``"nan"`` policy).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    ss_res = np.sum((y_true - y_pred) ** 2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - ss_res / ss_tot
    out[ss_tot == 0] = np.nan
    return out


def spectral_deviation(emulator, X) -> np.ndarray:
    """Paper Eq. 4: how far the predicted spectrum moves from that of the centre structure.

    ``D(x) = ||ŷ(x) − ŷ(0)||`` (Euclidean norm over the output channels), with ``0`` the
    centre of the standardized training set.

    Parameters
    ----------
    emulator : fitted estimator with ``predict``
        Maps standardized structures to (scaled) spectra.
    X : array-like of shape (n_samples, n_features)
        Standardized structures.

    Returns
    -------
    ndarray of shape (n_samples,)
        ``D`` of each row; 0 at the centre.
    """
    X = np.asarray(X)
    Y = emulator.predict(X)
    Y0 = emulator.predict(np.zeros((1, X.shape[1])))
    return np.linalg.norm(Y - Y0, axis=1)
