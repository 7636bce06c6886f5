"""Figures of the inverse-stability analysis (paper Supplementary Figs 6–7 analogs)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_layer_errors", "plot_singular_values"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.6))
    return ax


def plot_layer_errors(results, ax=None, title=None):
    """Layer-wise maximum absolute error (log scale) for several modes / noise levels.

    Parameters
    ----------
    results : list of InversionResult
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    for res in results:
        err = np.asarray(res.max_abs_error, dtype=float)
        x = np.arange(err.size)
        label = f"{res.mode}, noise {res.noise:g}"
        ax.semilogy(x, np.where(err > 0, err, np.nan), marker="o", label=label)
    labels = results[0].labels
    ax.set_xticks(np.arange(len(labels)), labels, rotation=45, ha="right")
    ax.set_ylabel("max |error| of activations")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def plot_singular_values(diagnostics, ax=None, title=None):
    """Singular values of every weight matrix, one column of points per layer."""
    ax = _axes(ax)
    for i, d in enumerate(diagnostics):
        s = np.asarray(d["singular_values"])
        ax.semilogy(np.full(s.size, i), np.where(s > 0, s, np.nan), "o", ms=3, alpha=0.7)
        ax.annotate(f"κ={d['cond']:.2g}", (i, s.max()), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=6)
    ax.set_xticks(np.arange(len(diagnostics)), [f"{d['layer']}\n{d['shape'][0]}×{d['shape'][1]}" for d in diagnostics],
                  fontsize=7)
    ax.set_ylabel("singular values")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    return ax
