"""Generalized covered variance (paper Eq. 1–2)."""

from __future__ import annotations

import numpy as np

from ._validation import check_array, InvalidParameterError

__all__ = ["r2_score", "r2_per_target"]


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


def r2_score(y_true, y_pred) -> float:
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

    Returns
    -------
    float
        1 for a perfect prediction, 0 for predicting the mean, negative when worse.

    Raises
    ------
    InvalidParameterError
        If shapes differ, fewer than two samples are given, values are not finite, or every
        target is constant (the score is then undefined).

    Examples
    --------
    >>> r2_score([[1.0, 2.0], [3.0, 6.0]], [[1.0, 2.0], [3.0, 5.0]])
    0.9
    """
    y_true, y_pred = _pair(y_true, y_pred)
    ss_res = float(np.sum((y_true - y_pred) ** 2))
    ss_tot = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    if ss_tot == 0.0:
        raise InvalidParameterError(
            "The 'y_true' argument of r2_score must vary across samples. Got constant targets "
            "instead (total variance 0, score undefined)."
        )
    return 1.0 - ss_res / ss_tot


def r2_per_target(y_true, y_pred) -> np.ndarray:
    """Coefficient of determination of each output channel separately.

    Constant channels get ``nan``.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    ss_res = np.sum((y_true - y_pred) ** 2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - ss_res / ss_tot
    out[ss_tot == 0] = np.nan
    return out
