"""Extra GeO2 report parts: per-pressure spectra (paper Fig. 2d) and ECA v1's largest loadings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["extra_sections", "fig2d_spectra", "top_loadings"]


def top_loadings(v, feature_names, n: int = 6) -> list[tuple[str, float]]:
    """The ``n`` entries of a basis vector with the largest magnitude, as (feature name, value)."""
    v = np.asarray(v, dtype=float)
    order = np.argsort(-np.abs(v), kind="stable")[:n]
    return [(str(feature_names[i]), float(v[i])) for i in order]


def fig2d_spectra(data, sample=None):
    """Spectra for Fig. 2d: ``(energy, spectra, pressures, caption)``, or None without spectra.

    Parameters
    ----------
    data : Dataset
        The analysed GeO2 data set. Used when it stores per-site spectra itself
        (:func:`xslatent.simulate.geo2.assemble` with ``keep_spectra=True``: metadata
        ``spectrum``, grid ``attrs["spectrum_energy_grid"]``; pressure from
        :func:`~xslatent.pipeline.geo2.site_pressures`).
    sample : Dataset, optional
        A spectra sample (:func:`xslatent.datasets.load_geo2_spectra`: ``Y`` spectra on
        ``energy``, ``groups`` pressure); takes precedence over ``data``.

    Returns
    -------
    tuple or None
    """
    from .geo2 import site_pressures

    if sample is not None:
        energy, spectra, pressures = sample.energy, sample.Y, sample.groups
        what = "a sample of the data set's sites spread evenly over each pressure's melt-quench runs, recomputed"
    elif "spectrum" in data.metadata:
        energy, spectra, pressures = data.attrs.get("spectrum_energy_grid"), data.metadata["spectrum"], site_pressures(data)
        what = "every site of the data set"
    else:
        return None
    counts = np.unique(np.asarray(pressures), return_counts=True)[1]
    per = f"{counts[0]}" if counts.min() == counts.max() else f"{counts.min()}–{counts.max()}"
    src = sample if sample is not None else data
    fwhm = src.attrs.get("spectrum_fwhm")
    caption = (f"Ge Kβ spectra per pressure: mean (line) and 10–90 % band over {len(pressures)} sites ({per} per "
               f"pressure; {what}). GFN1-xTB sticks broadened with unit-area Gaussians of FWHM "
               f"{fwhm if fwhm is not None else '?'} eV; the moments of these sticks are Table 2's targets. "
               f"Energy relative to the central-Ge 4s level.")
    return np.asarray(energy) if energy is not None and len(energy) else None, spectra, pressures, caption


def extra_sections(data, res, out_dir, log=print, spectra=None) -> list:
    """Report sections: Fig. 2d (written to ``out_dir/fig2d_spectra_per_pressure.png``, its
    caption to ``.txt`` beside it) when
    :func:`fig2d_spectra` finds spectra (the ``spectra`` sample, e.g.
    :func:`xslatent.datasets.load_geo2_spectra`, or per-site spectra in ``data``); the
    largest loadings of ECA v1 and v2 (printed with ``log``)."""
    from ..report import Section, figure_html, table_html

    sections = []
    names = data.feature_names if data.feature_names is not None else [f"x{i}" for i in range(data.n_features)]
    rows = []
    for j, v in enumerate(res.models["eca"].components_[:2]):
        top = top_loadings(v, names)
        log(f"[geo2] ECA v{j + 1} largest loadings (standardized Coulomb matrix): "
            + ", ".join(f"{n} {x:+.3f}" for n, x in top))
        rows += [{"vector": f"ECA v{j + 1}", "feature": n, "loading": x} for n, x in top]
    sections.append(Section("ECA basis vectors: largest loadings", [
        "<p>Feature cm_i_j is the Coulomb-matrix entry M<sub>ij</sub> (0 = the Ge site, 1–16 its "
        "neighbours by distance), standardized.</p>", table_html(rows)]))
    fig2d = fig2d_spectra(data, spectra)
    if fig2d is not None:
        import matplotlib.pyplot as plt

        from ..plotting import plot_spectra_per_group

        energy, Y, pressures, caption = fig2d
        fig, ax = plt.subplots(figsize=(7, 4.2))
        plot_spectra_per_group(energy, Y, pressures, ax=ax, title="Ge Kβ spectra per pressure (Fig. 2d analog)")
        fig.savefig(f"{out_dir}/fig2d_spectra_per_pressure.png", dpi=110)
        # the paper report embeds the PNG with this caption (pipeline.paper._pngs)
        Path(out_dir, "fig2d_spectra_per_pressure.txt").write_text(caption + "\n")
        sections.insert(0, Section("Spectra per pressure (Fig. 2d analog)", [figure_html(fig, caption)]))
    return sections
