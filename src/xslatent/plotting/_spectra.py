"""Spectra, basis vectors and structural-space maps."""

from __future__ import annotations

import numpy as np

from ..exceptions import InvalidParameterError

__all__ = ["plot_mean_spectrum", "plot_spectra_per_group", "plot_basis_vectors", "plot_slice_maps"]


def _axes(ax, figsize=(5, 3.5)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_mean_spectrum(energy, Y, ax=None, title=None, quantiles=(0.05, 0.95), xlabel="energy (eV)"):
    """Mean spectrum with the spread of the data (paper Fig. 2 analog).

    Shades the ``quantiles`` band and the ±1 std band around the mean.
    """
    ax = _axes(ax)
    Y = np.asarray(Y)
    x = np.arange(Y.shape[1]) if energy is None else np.asarray(energy)
    mean, std = Y.mean(0), Y.std(0)
    lo, hi = np.quantile(Y, quantiles, axis=0)
    ax.fill_between(x, lo, hi, color="0.85", label=f"{int(quantiles[0]*100)}–{int(quantiles[1]*100)} % range")
    ax.fill_between(x, mean - std, mean + std, color="0.65", label="±1 std")
    ax.plot(x, mean, "k", lw=1.5, label="mean")
    ax.set_xlabel(xlabel if energy is not None else "channel")
    ax.set_ylabel("intensity")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def plot_spectra_per_group(energy, spectra, groups, ax=None, quantiles=(0.1, 0.9), title=None,
                           xlabel="energy (eV)", group_label="{} GPa"):
    """Mean spectrum and its 10–90 % band for each group, e.g. per pressure (paper Fig. 2d).

    Parameters
    ----------
    energy : array-like of shape (n_channels,) or None
        Energy grid; None plots against the channel index.
    spectra : array-like of shape (n_samples, n_channels)
    groups : array-like of shape (n_samples,)
        Group of each spectrum; one line and band per distinct value, in sorted order.
    ax : matplotlib Axes, optional
    quantiles : (float, float), default=(0.1, 0.9)
        Band drawn around each group's mean.
    title : str, optional
    xlabel : str
    group_label : str
        Format of each group's legend entry.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax, (6, 4))
    Y = np.asarray(spectra, dtype=float)
    g = np.asarray(groups)
    if Y.ndim != 2 or g.shape != (Y.shape[0],):
        raise InvalidParameterError(
            f"The 'groups' argument must have one entry per spectrum ({Y.shape[0]} for spectra of shape "
            f"{Y.shape}). Got shape {g.shape} instead."
        )
    x = np.arange(Y.shape[1]) if energy is None else np.asarray(energy)
    levels = np.unique(g)
    colors = _colormap("viridis", len(levels))
    for c, level in zip(colors, levels):
        Yg = Y[g == level]
        lo, hi = np.quantile(Yg, quantiles, axis=0)
        ax.fill_between(x, lo, hi, color=c, alpha=0.2, lw=0)
        name = f"{level:g}" if isinstance(level, (int, float, np.number)) else str(level)
        ax.plot(x, Yg.mean(axis=0), color=c, lw=1.3, label=group_label.format(name))
    ax.set_xlabel(xlabel if energy is not None else "channel")
    ax.set_ylabel("intensity")
    ax.legend(fontsize=6, ncol=2, title=f"mean, {int(quantiles[0] * 100)}–{int(quantiles[1] * 100)} % band",
              title_fontsize=6)
    if title:
        ax.set_title(title)
    return ax


def _colormap(name, n):
    import matplotlib

    return matplotlib.colormaps[name](np.linspace(0.0, 0.9, max(n, 1)))


def plot_basis_vectors(components: dict, feature_names, ax=None, title=None, bands: dict | None = None):
    """Grouped bars: one group per feature, one bar per (method, vector).

    ``bands`` maps a method label of ``components`` to ``(low, high)`` arrays of the same
    shape as its vectors (e.g. a bootstrap interval); they are drawn as error bars.
    """
    ax = _axes(ax, (6, 3.5))
    names = list(feature_names)
    bands = bands or {}
    bars = [(f"{m} v{j + 1}", V[j], (bands[m][0][j], bands[m][1][j]) if m in bands else None)
            for m, V in components.items() for j in range(V.shape[0])]
    width = 0.8 / max(1, len(bars))
    x = np.arange(len(names))
    for i, (label, v, band) in enumerate(bars):
        pos = x + (i - (len(bars) - 1) / 2) * width
        yerr = None if band is None else np.abs(np.vstack([v - band[0], band[1] - v]))
        ax.bar(pos, v, width, label=label, yerr=yerr, capsize=2, error_kw={"lw": 0.8})
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, names)
    ax.set_ylabel("component (standardized units)")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    return ax


def plot_slice_maps(fn, axis_names, centre=None, extent=2.5, n=61, fig=None, title=None, cmap="viridis",
                    valid=None):
    """Contour maps of a scalar field on three orthogonal slices through ``centre``.

    ``fn`` maps (N, 3) standardized points to (N,) values. ``valid``, if given, maps the same
    points to a boolean mask; points where it is False (e.g. structures that cannot exist)
    are left blank instead of showing the model's extrapolation. Returns the figure.
    """
    import matplotlib.pyplot as plt

    centre = np.zeros(3) if centre is None else np.asarray(centre, dtype=float)
    g = np.linspace(-extent, extent, n)
    A, B = np.meshgrid(g, g, indexing="xy")
    if fig is None:
        fig = plt.figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 3)
    pairs = [(0, 1, 2), (0, 2, 1), (1, 2, 0)]
    for ax, (i, j, fixed) in zip(axes, pairs):
        P = np.tile(centre, (A.size, 1))
        P[:, i], P[:, j] = A.ravel(), B.ravel()
        Z = np.asarray(fn(P), dtype=float).reshape(A.shape)
        if valid is not None:
            Z = np.where(np.asarray(valid(P), dtype=bool).reshape(A.shape), Z, np.nan)
        cs = ax.contourf(A, B, Z, levels=15, cmap=cmap)
        ax.contour(A, B, Z, levels=15, colors="k", linewidths=0.3)
        fig.colorbar(cs, ax=ax, shrink=0.85)
        ax.set_xlabel(axis_names[i])
        ax.set_ylabel(axis_names[j])
        ax.set_title(f"{axis_names[fixed]} = {centre[fixed]:g}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
