"""Figures of a measured-spectrum interpretation."""

from __future__ import annotations

import numpy as np

from ._spectra import _axes

__all__ = ["plot_spectrum_fits", "plot_reconstructed_feature"]


def plot_spectrum_fits(energy, measured, fitted, labels=None, ax=None, model=""):
    """Measured spectra (dots; NaN where not compared) and their fits, offset one above the other.

    Parameters
    ----------
    energy : array-like of shape (m,)
    measured, fitted : array-like of shape (n, m)
    labels : list of str, optional
        Names written beside each pair.
    ax : matplotlib Axes, optional
    model : str
        Name of the fitting model, for the legend.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    E = np.asarray(energy, dtype=float)
    offset = 0.0
    for i, (meas, fit) in enumerate(zip(np.asarray(measured, float), np.asarray(fitted, float))):
        ax.plot(E, meas + offset, "k.", ms=2, label="measured" if i == 0 else None)
        ax.plot(E, fit + offset, "C1-", lw=1.2, label=f"fit{f' ({model})' if model else ''}" if i == 0 else None)
        if labels is not None:
            ax.annotate(labels[i], (E[0], offset), fontsize=7, va="bottom")
        offset += 1.1 * np.nanmax(np.r_[meas, fit])
    ax.set_xlabel("model energy (eV)")
    ax.set_ylabel("intensity (offset per spectrum)")
    ax.legend(fontsize=7)
    return ax


def plot_reconstructed_feature(values, labels, band=None, errors=None, ax=None, title=""):
    """One structural feature reconstructed from several spectra, with a reference band.

    Parameters
    ----------
    values : array-like of shape (n,)
        The feature per spectrum (physical units).
    labels : list of str
        Spectrum names (x ticks).
    band : (float, float), optional
        Shaded range, e.g. the training 5–95 % range of the feature.
    errors : array-like of shape (n,), optional
        Error bars (e.g. the spread over a bootstrap ensemble).
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, figsize=(2.6, 3.4))
    idx = np.arange(len(labels))
    if band is not None:
        ax.axhspan(band[0], band[1], color="0.88", label="training 5–95 %")
    ax.errorbar(idx, np.asarray(values, float), yerr=errors, fmt="o", color="C0")
    ax.set_xticks(idx, labels, rotation=45, fontsize=7, ha="right")
    ax.set_title(title, fontsize=9)
    return ax
