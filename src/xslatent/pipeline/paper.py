"""``xslatent reproduce paper``: H2O and GeO2 end to end, one report for the whole paper.

Steps (each writes into its own folder under ``out_dir`` and resumes on a rerun):

1. ``h2o/``: :func:`xslatent.pipeline.h2o.reproduce_h2o` (Table 1, Figs 2–3) and the Fig. 3
   extras of :mod:`xslatent.pipeline.h2o_fig3` (Eq. 4 with a polynomial emulator, 3-D
   isosurfaces);
2. ``geo2/``: :func:`xslatent.pipeline.geo2.reproduce_geo2` (Table 2, Figs 5, 8);
3. ``fig6_geo2/`` and ``fig7_h2o_<spectrum>/``: inverse stability
   (:func:`xslatent.pipeline.inverse_stability.run_inverse_stability`) of square-matrix
   leaky-ReLU EDNNs chosen by a search over the paper's Table 4 grid (encoder and decoder
   depth 1–5 each).

The analysis steps resume from their saved models and search stores; a finished inverse-
stability step is recorded in ``steps.json`` with its settings and is not rerun. Wall times of
every step go to ``steps.json`` and the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .._validation import Options, validate_params
from ..report import Section, atomic_write_text, png_html, table_html, write_report
from ._common import provenance

__all__ = ["INVERSE_BUDGETS", "InverseBudget", "reproduce_paper"]


@dataclass(frozen=True)
class InverseBudget:
    """Search over the Table 4 grid for the inverse-stability figures."""

    n_search: int  # candidates; >= 750 enumerates the whole grid (5 x 5 depths x 5 lr x 6 L2)
    cv: int
    max_iter: int
    n_components: tuple
    max_samples: int


INVERSE_BUDGETS = {
    "quick": InverseBudget(n_search=3, cv=2, max_iter=60, n_components=(1,), max_samples=500),
    "standard": InverseBudget(n_search=25, cv=3, max_iter=300, n_components=(1, 2), max_samples=2000),
    "paper": InverseBudget(n_search=750, cv=5, max_iter=1000, n_components=(1, 2), max_samples=2000),
}

H2O_SPECTRA = ("XES", "XAS", "XPS")


def _read_steps(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _inverse_step(name, data, preset, out, ib: InverseBudget, seed, device, steps, steps_path, log):
    """One inverse-stability run (resumable: skipped when ``steps.json`` records it done)."""
    from .inverse_stability import run_inverse_stability

    settings = {"preset": preset, "seed": seed, **ib.__dict__, "n_components": list(ib.n_components)}
    done = steps.get(name)
    if done and done.get("settings") == settings and (out / name / "inverse_stability.json").is_file():
        log(f"[paper] {name}: done earlier ({done['seconds']:.0f} s), kept")
        return json.loads((out / name / "inverse_stability.json").read_text())
    t0 = time.time()
    log(f"[paper] {name}: square leaky-ReLU EDNN, {ib.n_search} candidates of {preset} ({ib.cv}-fold CV)")
    summary = run_inverse_stability(
        data, out / name, n_components=ib.n_components, max_iter=ib.max_iter, random_state=seed,
        device=device, max_samples=ib.max_samples, n_search=ib.n_search, preset=preset, cv=ib.cv,
        report=False,
    )
    steps[name] = {"settings": settings, "seconds": round(time.time() - t0, 1)}
    atomic_write_text(steps_path, json.dumps(steps, indent=1))
    return json.loads(json.dumps(summary, default=float))


def _inverse_rows(label, summary) -> list[dict]:
    rows = []
    for k, s in summary.items():
        p, t = s["predicted"], s["target"]
        rows.append({"data": label, "k": int(k), "depths (enc, dec)": str(tuple(s["depths"])),
                     "test R2": s["test_r2"], "worst layer (from predicted)": p["worst_layer"],
                     "growth": p["growth"], "input error (from predicted)": p["input_error"],
                     "input error (from test spectra)": t["input_error"],
                     "max cond": max(s["cond"].values())})
    return rows


def reproduce_paper(out_dir, *, budget="quick", seed=0, device="cpu", client=None, eca_fit_on="test",
                    split="random", h2o_datasets=None, geo2_data=None, inverse_budget=None,
                    log=print) -> dict:
    """Run H2O and GeO2 end to end and write one ``report.html`` for the whole paper.

    Parameters
    ----------
    out_dir : path
    budget : {"quick", "standard", "paper"} or Budget
        Search effort of every step (:data:`xslatent.pipeline.analysis.BUDGETS`,
        :data:`INVERSE_BUDGETS`).
    seed : int
    device : str
    client : dask.distributed.Client, optional
    eca_fit_on : {"test", "train"}, default="test"
        The paper's protocol is "test"; the other split is reported beside it.
    split : {"random", "group"}, default="random"
        Test split of rows, or of whole groups (H2O trajectories, GeO2 melt-quench runs).
    h2o_datasets : dict name -> Dataset, optional
        Defaults to the bundled H2O data.
    geo2_data : Dataset, optional
        Defaults to the bundled GeO2 data.
    inverse_budget : InverseBudget, optional
        Defaults to ``INVERSE_BUDGETS[name]`` for the budget's name (a Budget object named
        "quick", "standard" or "paper", e.g. one with another bootstrap size, gets that
        inverse budget; any other name needs it given).

    Returns
    -------
    dict
        ``table1``, ``table2`` rows, ``species_mae`` (Fig. 5 in Å), ``inverse`` summaries and
        ``seconds`` per step.
    """
    name = budget if isinstance(budget, str) else budget.name
    if isinstance(budget, str) or inverse_budget is None:
        validate_params("reproduce_paper", {"budget": name}, {"budget": [Options(tuple(INVERSE_BUDGETS))]})
    ib = INVERSE_BUDGETS[name] if inverse_budget is None else inverse_budget
    from .geo2 import reproduce_geo2
    from .h2o import reproduce_h2o
    from .h2o_fig3 import fig3_extras

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    steps_path = out / "steps.json"
    steps = _read_steps(steps_path)
    seconds = {}
    t_all = time.time()
    if h2o_datasets is None:
        from ..datasets import load_h2o

        h2o_datasets = {s: load_h2o(s.lower()) for s in H2O_SPECTRA}
    geo2_spectra = None
    if geo2_data is None:
        from ..datasets import load_geo2, load_geo2_spectra

        geo2_data = load_geo2()
        geo2_spectra = load_geo2_spectra()  # Fig. 2d

    t0 = time.time()
    h2o = reproduce_h2o(out / "h2o", budget=budget, seed=seed, device=device, client=client,
                        datasets=h2o_datasets, spectra=tuple(h2o_datasets), eca_fit_on=eca_fit_on,
                        split=split, log=log)
    fig3_sections = fig3_extras(h2o["results"], h2o["preps"], h2o_datasets, out / "h2o", seed=seed, log=log)
    seconds["H2O: Table 1, Figs 2-3"] = time.time() - t0
    t0 = time.time()
    geo2 = reproduce_geo2(out / "geo2", budget=budget, seed=seed, device=device, client=client, data=geo2_data,
                          eca_fit_on=eca_fit_on, split=split, spectra=geo2_spectra, log=log)
    seconds["GeO2: Table 2, Figs 5, 8"] = time.time() - t0

    t0 = time.time()
    inv = {"GeO2": _inverse_step("fig6_geo2", geo2_data, "geo2-ednn-square-lrelu", out, ib, seed, device, steps,
                                 steps_path, log)}
    seconds["Fig 6 (GeO2 inverse stability)"] = time.time() - t0
    t0 = time.time()
    for s, d in h2o_datasets.items():
        inv[f"H2O {s}"] = _inverse_step(f"fig7_h2o_{s.lower()}", d, "h2o-ednn-square-lrelu", out, ib, seed,
                                        device, steps, steps_path, log)
    seconds["Fig 7 (H2O inverse stability)"] = time.time() - t0
    seconds["total"] = time.time() - t_all

    inv_rows = [r for label, s in inv.items() for r in _inverse_rows(label, s)]
    for r in inv_rows:
        log(f"[paper] inverse stability {r['data']} k={r['k']}: depths {r['depths (enc, dec)']}, test R2 "
            f"{r['test R2']:.4f}, from predicted output worst at {r['worst layer (from predicted)']} "
            f"(x{r['growth']:.3g}), input error {r['input error (from predicted)']:.3g}; from test spectra "
            f"{r['input error (from test spectra)']:.3g}; max condition number {r['max cond']:.3g}")
    timing_rows = [{"step": k, "seconds": round(v, 1)} for k, v in seconds.items()]
    for r in timing_rows:
        log(f"[paper] {r['step']}: {r['seconds']:.0f} s")
    sections = _sections(out, h2o, geo2, fig3_sections, inv_rows, timing_rows, name, ib, eca_fit_on)
    prov = provenance(budget=name, seed=seed, device=device, eca_fit_on=eca_fit_on, split=split,
                      inverse_budget=ib.__dict__,
                      seconds={k: round(v, 1) for k, v in seconds.items()}, steps=steps)
    atomic_write_text(out / "provenance.json", json.dumps(prov, indent=1, default=str))
    write_report(out / "report.html", "xslatent: the paper reproduced (H2O and GeO2)", sections, prov)
    log(f"wrote {out / 'report.html'}")
    return {"table1": h2o["table"], "table2": geo2["table"], "species_mae": geo2["species_distances"]["mae"],
            "inverse": inv, "seconds": seconds}


def _pngs(folder: Path, pattern: str, caption: str = "") -> list[str]:
    """Each PNG matching ``pattern``, captioned by ``caption``, else the ``.txt`` beside it, else its name."""
    def text(p):
        side = p.with_suffix(".txt")
        return side.read_text().strip() if side.is_file() else p.stem

    return [png_html(p, caption or text(p)) for p in sorted(folder.glob(pattern))]


def _sections(out, h2o, geo2, fig3_sections, inv_rows, timing_rows, budget, ib, eca_fit_on) -> list:
    from .tables import eca_note

    note = eca_note(eca_fit_on)
    g = out / "geo2"
    fig2 = _pngs(out / "h2o", "fig2_*.png") + (_pngs(g, "fig2d_*.png") or [
        "<p class='note'>Fig. 2d (GeO2 spectra per pressure) needs spectra: the bundled sample "
        "(load_geo2_spectra) or per-site spectra in the GeO2 dataset (assemble with keep_spectra).</p>"])
    return [
        Section("Run", [f"<p>Budget <b>{budget}</b> for every step; inverse-stability searches: "
                        f"{ib.n_search} candidates of the Table 4 grid, {ib.cv}-fold CV, bottleneck "
                        f"{list(ib.n_components)}. Wall time per step:</p>", table_html(timing_rows)]),
        Section("Table 1: H2O, covered variance R2 on the test split (paper's numbers beside ours)",
                [f"<p>{note}</p>", table_html(h2o["table"])]),
        Section("Table 2: GeO2, covered variance R2 on the test split (paper's numbers beside ours)",
                [f"<p>{note}</p>", table_html(geo2["table"])]),
        Section("Fig. 2: mean spectra and their spread", fig2),
        Section("Fig. 3: EDNN k=1 bottleneck activation vs spectral deviation (Eq. 4)",
                [p for n in ("ednn_bottleneck", "deviation") for p in _pngs(out / "h2o", f"fig3_*_{n}.png")]),
        *fig3_sections,
        Section("Fig. 5: structural reconstruction of GeO2 from the moments",
                [table_html(geo2["species_distances"]["mae"])] + _pngs(g, "fig5_species_distances.png")
                + _pngs(g, "fig5_reconstruction.png")),
        Section("Figs. 6–7: inverse stability of square leaky-ReLU EDNNs chosen on the Table 4 grid",
                [table_html(inv_rows)] + _pngs(out / "fig6_geo2", "layer_errors_k*.png", "GeO2 (Fig. 6)")
                + [png for d in sorted(out.glob("fig7_h2o_*")) for png in
                   _pngs(d, "layer_errors_k*.png", f"H2O {d.name[9:].upper()} (Fig. 7)")]),
        Section("Fig. 8: GeO2 basis vectors in the Coulomb-matrix layout", _pngs(g, "fig8_*.png")),
        *_titled(h2o.get("uncertainty_sections", []), "H2O"),
        *_titled(geo2.get("uncertainty_sections", []), "GeO2"),
    ]


def _titled(sections, system: str) -> list:
    """The systems' interval, decisiveness and reconstructability sections, titles prefixed."""
    from dataclasses import replace

    return [replace(s, title=f"{system}: {s.title}") for s in sections]
