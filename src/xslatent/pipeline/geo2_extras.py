"""Extra GeO2 report parts: per-pressure spectra (paper Fig. 2d) and ECA v1's largest loadings."""

from __future__ import annotations

import numpy as np

__all__ = ["extra_sections", "top_loadings"]


def top_loadings(v, feature_names, n: int = 6) -> list[tuple[str, float]]:
    """The ``n`` entries of a basis vector with the largest magnitude, as (feature name, value)."""
    v = np.asarray(v, dtype=float)
    order = np.argsort(-np.abs(v), kind="stable")[:n]
    return [(str(feature_names[i]), float(v[i])) for i in order]


def extra_sections(data, res, out_dir, log=print) -> list:
    """Report sections: Fig. 2d when ``data.metadata`` holds ``spectra`` (n_sites × n_energy)
    with ``spectra_energy`` (also written to ``out_dir/fig2d_spectra_per_pressure.png``); the
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
    spectra = data.metadata.get("spectra")
    if spectra is not None:
        import matplotlib.pyplot as plt

        from ..plotting import plot_spectra_per_group
        from .geo2 import site_pressures

        fig, ax = plt.subplots(figsize=(7, 4.2))
        plot_spectra_per_group(data.metadata.get("spectra_energy"), spectra, site_pressures(data), ax=ax,
                               title="Ge Kβ spectra per pressure (Fig. 2d analog)")
        fig.savefig(f"{out_dir}/fig2d_spectra_per_pressure.png", dpi=110)
        sections.insert(0, Section("Spectra per pressure (Fig. 2d analog)", [figure_html(fig)]))
    return sections
