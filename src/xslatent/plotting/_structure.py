"""Structural reconstruction figures (paper Fig. 5)."""

from __future__ import annotations

import numpy as np

from ._spectra import _axes

__all__ = ["plot_species_distances"]


def plot_species_distances(per_pressure: list[dict], species: str, labels, ax=None, title=None):
    """True and reconstructed mean distance of one species pair vs pressure (Fig. 5 in Å).

    Parameters
    ----------
    per_pressure : list of dict
        Rows of :func:`xslatent.pipeline.geo2_distances.species_distance_rows`.
    species : {"Ge–O", "Ge–Ge"}
    labels : sequence of str
        Reconstruction methods to draw (e.g. ``"NNCA k=1"``).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    p = np.array([r["pressure_GPa"] for r in per_pressure])
    ax.plot(p, [r[f"{species} true (Å)"] for r in per_pressure], "k-o", ms=4, lw=2, label="true")
    for label in labels:
        ax.plot(p, [r[f"{species} {label} (Å)"] for r in per_pressure], "--", marker=".", label=label)
    ax.set_xlabel("pressure (GPa)")
    ax.set_ylabel(f"mean {species} distance (Å)")
    ax.set_title(title or f"{species} neighbours of the Ge site", fontsize=9)
    ax.legend(fontsize=7)
    return ax
