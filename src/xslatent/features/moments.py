"""Statistical moments of spectral lines.

A spectrum with two lines (for Ge Kβ emission: Kβ'' from O 2s-derived orbitals and Kβ2 from
the O 2p/Ge 4p valence band) is split at an energy between them, and each line is
summarised by four intensity-weighted moments: mean, standard deviation, skewness and
excess kurtosis. The same code works on sticks (line energies and intensities) and on
spectra tabulated on an energy grid (the intensities are then the grid values: on a
uniform grid the spacing cancels).

Missing sticks are marked by NaN energies or zero intensity, so batches of spectra with
different numbers of sticks can be stored as padded arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError

__all__ = [
    "MOMENT_NAMES",
    "gaussian_broaden",
    "largest_gap_split",
    "line_moments",
    "two_line_moments",
    "two_line_moment_names",
]

#: Order of the moments returned by :func:`line_moments`.
MOMENT_NAMES = ("mean", "std", "skewness", "excess_kurtosis")


def _as_pair(energy: Any, intensity: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(energy, dtype=np.float64)
    w = np.asarray(intensity, dtype=np.float64)
    try:
        e, w = np.broadcast_arrays(e, w)
    except ValueError:
        raise InvalidParameterError(
            f"The 'energy' and 'intensity' arguments of {owner} must have broadcastable shapes. "
            f"Got {np.shape(energy)} and {np.shape(intensity)} instead."
        ) from None
    if e.ndim == 0:
        raise InvalidParameterError(
            f"The 'energy' argument of {owner} must be an array (last axis = sticks or grid "
            f"points). Got a scalar instead."
        )
    if np.any(np.nan_to_num(w, nan=0.0) < 0):
        raise InvalidParameterError(
            f"The 'intensity' argument of {owner} must be non-negative. Got a minimum of "
            f"{np.nanmin(w):g} instead."
        )
    return e, w


def line_moments(energy: Any, intensity: Any, mask: Any = None) -> np.ndarray:
    """Intensity-weighted mean, std, skewness and excess kurtosis along the last axis.

    Parameters
    ----------
    energy : array-like of shape (..., m)
        Stick energies or grid energies. NaN marks a missing stick.
    intensity : array-like of shape (..., m)
        Non-negative weights (stick intensities or spectrum values on a uniform grid).
    mask : array-like of bool of shape (..., m), optional
        Points that belong to the line; the others are ignored.

    Returns
    -------
    ndarray of shape (..., 4)
        ``mean``, ``std`` (population), ``skewness`` (μ3/σ³) and ``excess kurtosis``
        (μ4/σ⁴ − 3). NaN where the line has no intensity; skewness and kurtosis are NaN
        where it has zero width (a single stick).

    Examples
    --------
    >>> import numpy as np
    >>> line_moments([0.0, 1.0, 2.0], [1.0, 2.0, 1.0]).round(4).tolist()
    [1.0, 0.7071, 0.0, -1.0]
    """
    e, w = _as_pair(energy, intensity, "line_moments")
    valid = np.isfinite(e) & np.isfinite(w)
    if mask is not None:
        valid &= np.broadcast_to(np.asarray(mask, dtype=bool), e.shape)
    w = np.where(valid, w, 0.0)
    e = np.where(valid, e, 0.0)
    total = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = w / total[..., None]
        mean = np.sum(p * e, axis=-1)
        d = np.where(valid, e - mean[..., None], 0.0)
        m2 = np.sum(p * d**2, axis=-1)
        m3 = np.sum(p * d**3, axis=-1)
        m4 = np.sum(p * d**4, axis=-1)
        std = np.sqrt(m2)
        tiny = m2 <= (1e-12 * np.maximum(np.abs(mean), 1.0)) ** 2
        skew = np.where(tiny, np.nan, m3 / np.where(tiny, 1.0, m2) ** 1.5)
        kurt = np.where(tiny, np.nan, m4 / np.where(tiny, 1.0, m2) ** 2 - 3.0)
    out = np.stack([mean, std, skew, kurt], axis=-1)
    out[~(total > 0)] = np.nan
    return out


def two_line_moments(energy: Any, intensity: Any, split: Any) -> np.ndarray:
    """Moments of the line below ``split`` and of the line above it.

    Parameters
    ----------
    energy, intensity : array-like of shape (..., m)
        Sticks or a spectrum on a grid (see :func:`line_moments`).
    split : float or array-like of shape (...)
        Energy between the two lines (points exactly at ``split`` go to the upper line).

    Returns
    -------
    ndarray of shape (..., 8)
        The four moments of the lower line, then those of the upper line.
    """
    e, w = _as_pair(energy, intensity, "two_line_moments")
    s = np.asarray(split, dtype=np.float64)[..., None]
    lower = e < s
    upper = e >= s
    return np.concatenate([line_moments(e, w, lower), line_moments(e, w, upper)], axis=-1)


def two_line_moment_names(lower: str = "low", upper: str = "high") -> list[str]:
    """Names ``<line>_<moment>`` in the order of :func:`two_line_moments`."""
    return [f"{line}_{m}" for line in (lower, upper) for m in MOMENT_NAMES]


def largest_gap_split(energy: Any, mask: Any = None) -> np.ndarray:
    """Midpoint of the widest gap between consecutive sorted energies (last axis).

    Parameters
    ----------
    energy : array-like of shape (..., m)
        Level energies; NaN entries are ignored.
    mask : array-like of bool of shape (..., m), optional
        Levels to consider.

    Returns
    -------
    ndarray of shape (...)
        Split energy; NaN where fewer than two levels are given.
    """
    e = np.array(energy, dtype=np.float64)
    if mask is not None:
        e = np.where(np.broadcast_to(np.asarray(mask, dtype=bool), e.shape), e, np.nan)
    e = np.sort(e, axis=-1)  # NaN sort last
    gaps = np.diff(e, axis=-1)
    gaps = np.where(np.isfinite(gaps), gaps, -np.inf)
    if gaps.shape[-1] == 0:
        return np.full(e.shape[:-1], np.nan)
    k = np.argmax(gaps, axis=-1)
    lo = np.take_along_axis(e, k[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(e, k[..., None] + 1, axis=-1)[..., 0]
    out = 0.5 * (lo + hi)
    return np.where(np.isfinite(out), out, np.nan)


def gaussian_broaden(grid: Any, energy: Any, intensity: Any, fwhm: float) -> np.ndarray:
    """Sum of unit-area Gaussians of full width ``fwhm`` at the stick energies.

    Parameters
    ----------
    grid : array-like of shape (g,)
        Energies at which to evaluate the spectrum.
    energy, intensity : array-like of shape (..., m)
        Sticks; NaN energies or zero intensities are ignored.
    fwhm : float
        Full width at half maximum (same unit as the energies), > 0.

    Returns
    -------
    ndarray of shape (..., g)
        Spectrum; its integral over an unbounded grid equals the summed intensity.
    """
    if not np.isfinite(fwhm) or fwhm <= 0:
        raise InvalidParameterError(
            f"The 'fwhm' parameter of gaussian_broaden must be a float in the range (0, inf). "
            f"Got {fwhm!r} instead."
        )
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 1:
        raise InvalidParameterError(
            f"The 'grid' argument of gaussian_broaden must be a 1-D array. Got shape {g.shape} "
            f"instead."
        )
    e, w = _as_pair(energy, intensity, "gaussian_broaden")
    ok = np.isfinite(e) & np.isfinite(w)
    e = np.where(ok, e, 0.0)
    w = np.where(ok, w, 0.0)
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    z = (g - e[..., :, None]) / sigma
    prof = np.exp(-0.5 * z**2) / (sigma * np.sqrt(2.0 * np.pi))
    return np.einsum("...m,...mg->...g", w, prof)
