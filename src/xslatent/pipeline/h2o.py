"""``xslatent reproduce h2o``: the paper's Table 1 and Figures 2–3 on the bundled H2O data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..metrics import spectral_deviation
from ..report import Section, figure_html, table_html, write_report
from ._common import provenance
from ._budgets import announce
from .analysis import BUDGETS, analyse_target
from .tables import PAPER_TABLE1, eca_note, notes_html, table_notes, table_rows, write_table

__all__ = ["reproduce_h2o", "spectral_deviation"]

SPECTRA = ("XES", "XAS", "XPS")


def _ordered_bonds(x_scaler):
    """Mask of standardized (angle, long, short) points with long O–H ≥ short O–H."""

    def valid(P):
        X = x_scaler.inverse_transform(P)
        return X[:, 1] >= X[:, 2]

    return valid


def _figures(results, preps, datasets, sections, out, log=print):
    import matplotlib.pyplot as plt

    from ..plotting import plot_basis_vectors, plot_mean_spectrum, plot_slice_maps

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.3))
    for ax, res in zip(np.atleast_1d(axes), results):
        d = datasets[res.name]
        plot_mean_spectrum(d.energy, d.Y, ax=ax, title=f"{res.name} (n={len(d)})")
    fig.tight_layout()
    fig.savefig(out / "fig2_mean_spectra.png", dpi=120)
    sections.append(Section("Mean spectra and their spread (Fig. 2 analog)", [figure_html(fig)]))

    body = ["<p>Slices through the training-set centre in standardized coordinates; the blank "
            "part is where the 'long' O–H bond would be shorter than the 'short' one (no such "
            "structure exists, so the networks' values there are extrapolation).</p>"]
    for res in results:
        names = [f"{n} (std)" for n in datasets[res.name].feature_names]
        valid = _ordered_bonds(preps[res.name].x_scaler)
        ednn = res.models["ednn_k1"]
        f1 = plot_slice_maps(lambda P: ednn.transform(P)[:, 0], names, valid=valid,
                             title=f"{res.name}: EDNN k=1 bottleneck activation")
        f1.savefig(out / f"fig3_{res.name.lower()}_ednn_bottleneck.png", dpi=110)
        body.append(figure_html(f1))
        em = res.models["emulator"]
        f2 = plot_slice_maps(lambda P: spectral_deviation(em, P), names, cmap="magma", valid=valid,
                             title=f"{res.name}: spectral deviation ‖ŷ(x) − ŷ(0)‖ (Eq. 4)")
        f2.savefig(out / f"fig3_{res.name.lower()}_deviation.png", dpi=110)
        body.append(figure_html(f2))
    sections.append(Section("Bottleneck activation vs spectral deviation (Fig. 3 analog)", body))

    body, rows = [], []
    for res in results:
        comps = {"ECA": res.models["eca"].components_, "NNCA k=2": res.models["nnca_k2"].components_}
        fig, ax = plt.subplots(figsize=(6, 3.3))
        plot_basis_vectors(comps, datasets[res.name].feature_names, ax=ax, title=f"{res.name}: basis vectors")
        fig.savefig(out / f"basis_{res.name.lower()}.png", dpi=110)
        body.append(figure_html(fig))
        for m, V in comps.items():
            for j, v in enumerate(V):
                log(f"[{res.name}] {m} v{j + 1} (standardized): "
                    + ", ".join(f"{n} {x:+.3f}" for n, x in zip(datasets[res.name].feature_names, v)))
                rows.append({"target": res.name, "method": m, "vector": j + 1,
                             **{n: float(x) for n, x in zip(datasets[res.name].feature_names, v)}})
    body.append(table_html(rows))
    sections.append(Section("ECA and NNCA basis vectors (standardized structural coordinates)", body))


def reproduce_h2o(out_dir, *, budget="quick", seed=0, device="cpu", client=None, datasets=None,
                  spectra=SPECTRA, split="random", eca_fit_on="test", log=print) -> dict:
    """Run the H2O analysis and write tables, figures, models and ``report.html``.

    Parameters
    ----------
    out_dir : path
    budget : {"quick", "standard", "paper"} or Budget
    seed : int
    device : str
    client : dask.distributed.Client, optional
    datasets : dict name -> Dataset, optional
        Defaults to the bundled data (:func:`xslatent.datasets.load_h2o`).
    spectra : tuple of str
    split : {"random", "group"}
        Test split of rows, or of whole MD trajectories (the honest one: frames of one
        trajectory are correlated).
    eca_fit_on : {"test", "train"}, default="test"
        Split ECA is fitted on for the table's ECA column (the paper's "test"); the other is
        reported beside it (:func:`xslatent.pipeline.analysis.analyse_target`).

    Returns
    -------
    dict
        ``{"table": rows, "results": TargetResult list, "preps": {name: Prepared}}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = BUDGETS[budget] if isinstance(budget, str) else budget
    if datasets is None:
        from ..datasets import load_h2o

        datasets = {s: load_h2o(s.lower()) for s in spectra}
    announce(b, "h2o", datasets[spectra[0]], n_targets=len(spectra), client=client, device=device, log=log)
    t0 = time.time()
    results, preps = [], {}
    for s in spectra:
        res, prep = analyse_target(s, datasets[s], out, system="h2o", budget=b, seed=seed, device=device,
                                   client=client, split=split, eca_fit_on=eca_fit_on, log=log)
        results.append(res)
        preps[s] = prep
    rows = table_rows(results, PAPER_TABLE1)
    notes = table_notes(results)
    md = write_table(rows, out, "table1", notes)
    log("\n" + md)
    sections = [Section("Table 1: covered variance R2 on the test split", [
        f"<p>Budget <b>{b.name}</b> ({b.cv}-fold CV; candidates per search {b.n_iter}); seed {seed}; "
        f"{split} test split. "
        "The paper's numbers (their data) are printed beside ours; ridge and per-trajectory mean are "
        "baselines (a model below them has not learned). "
        f"{eca_note(eca_fit_on)}</p>", table_html(rows), notes_html(notes)])]
    _figures(results, preps, datasets, sections, out, log=log)
    uncertainty = []
    if b.n_resamples:
        from .uncertainty import h2o_sections

        uncertainty = h2o_sections(results, preps, datasets, out, n_resamples=b.n_resamples,
                                   warm_start=b.warm_bootstrap, seed=seed, client=client, log=log)[0]
        sections += uncertainty
    prov = provenance(budget=b.name, seed=seed, device=device, split=split, n_resamples=b.n_resamples,
                      warm_bootstrap=b.warm_bootstrap,
                      seconds=round(time.time() - t0, 1),
                      datasets={s: {"name": d.name, "n": len(d), "attrs": d.attrs} for s, d in datasets.items()},
                      best_params={r.name: r.best_params for r in results},
                      nesting={r.name: {"fallbacks": [fb.line() for fb in r.fallbacks], "warnings": r.warnings}
                               for r in results})
    (out / "provenance.json").write_text(json.dumps(prov, indent=1, default=str))
    write_report(out / "report.html", "xslatent: H2O O K-edge spectra (paper Table 1, Figs 2–3)", sections, prov)
    log(f"wrote {out / 'report.html'}")
    return {"table": rows, "results": results, "preps": preps, "uncertainty_sections": uncertainty}
