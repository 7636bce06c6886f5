"""Intervals, decisiveness and reconstructability for the ``reproduce`` pipelines.

After :func:`~xslatent.pipeline.analysis.analyse_target` has selected and fitted the models
of one target set, :func:`analyse_uncertainty` bootstraps each of them with its selected
hyper-parameters fixed (:func:`xslatent.interpret.bootstrap`; whole groups — trajectories,
melt-quench runs — are resampled when the data have groups; same-shape members train as one
stacked network; ECA members reuse the emulator members and start their projection pursuit
at the selected basis, :func:`xslatent.interpret.eca_on_ensemble` with ``warm_start=True``,
which cuts their cost about five-fold), and computes from the members:

* test R2 of every (method, k) with a percentile interval;
* R2 per rank (ECA, rotated NNCA) on the training rows, with intervals;
* basis vectors aligned to the selected model's (sign for k = 1, Procrustes for k = 2);
* the decisiveness table (:func:`xslatent.interpret.decisiveness`, on the test split,
  loadings from the ECA members) and the reconstructability tables
  (:func:`xslatent.interpret.reconstructability`, ECA and NNCA at the largest k, on the
  first ``recon_rows`` test rows, next to a direct ridge regression).

Everything the reports need is a JSON summary written to ``out/uncertainty/<name>.json``
with a fingerprint of the models and settings; a rerun with the same settings reads it
instead of recomputing. The table/figure helpers below read only that summary.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np

from ..interpret import (
    BootstrapInterval,
    bootstrap,
    decisiveness,
    eca_on_ensemble,
    intervals_separate,
    reconstructability,
)
from ..interpret._bootstrap import _interval
from ..report import atomic_write_text

__all__ = [
    "CONFIDENCE",
    "analyse_uncertainty",
    "cm_feature_groups",
    "decisiveness_rows",
    "interval_table_rows",
    "plot_basis_bands",
    "rank_rows",
    "reconstructability_rows",
    "summarise_by_group",
]

#: how bootstrap members choose their early-stopping epoch (part of the cache fingerprint:
#: results computed under an earlier rule are recomputed)
MEMBERS_STOP_ON = "out-of-bag rows"

#: confidence of every reported interval
CONFIDENCE = 0.9
METHODS = ("EDNN", "NNCA", "ECA")


def _label(kind: str, k: int | None) -> str:
    return kind if k is None else f"{kind} k={k}"


def _fingerprint(res, n_resamples, seed, extra) -> str:
    parts = {"params": res.best_params, "r2": {str(k): v for k, v in res.r2.items()}, "n": n_resamples,
             "seed": seed, **extra}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def analyse_uncertainty(
    name: str,
    res,
    prep,
    out_dir,
    *,
    n_resamples: int,
    warm_start: bool = False,
    seed: int = 0,
    components=(1, 2),
    feature_names=None,
    client=None,
    recon_rows: int = 200,
    fit_latent_iter: int = 150,
    decisiveness_rows_max: int = 2000,
    extra=None,
    log=print,
) -> dict:
    """Bootstrap the selected models of one target set; return (and cache) the summary.

    Parameters
    ----------
    name : str
        Target set label (e.g. "XES").
    res : TargetResult
        Selected, fitted models (``emulator``, ``eca``, ``ednn_k{k}``, ``nnca_k{k}``).
    prep : Prepared
        The split and scalers the models were fitted with.
    out_dir : path
        The summary goes to ``out_dir/uncertainty/<name>.json``.
    n_resamples : int
        Members per model.
    warm_start : bool, default=False
        Members start from the selected models' weights (``bootstrap(..., warm_start=True)``).
        Where False, the members of a model the run kept as a warm start (``res.fallbacks``:
        NNCA from ECA, EDNN from NNCA, emulator from ridge) still start from its weights,
        listed in the summary's ``"warm_models"``.
    seed : int
    components : tuple of int
    feature_names : list of str, optional
    client : dask.distributed.Client, optional
    recon_rows : int
        Test rows reconstructed per member (latent fits are the cost).
    fit_latent_iter : int
        Adam steps of each latent fit.
    decisiveness_rows_max : int
        Test rows the decisiveness drops are measured on.
    extra : callable, optional
        ``extra(ensembles) -> dict`` (ensembles: ``{"ECA": …, "NNCA k=1": …, …}``); its
        JSON-able result is stored in the summary under ``"extra"`` (e.g. per-pressure
        reconstructions of every member).

    Returns
    -------
    dict
        JSON-able summary (member values; intervals are taken by the helpers below).
    """
    out = Path(out_dir) / "uncertainty"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    # a model the run kept as a warm start (NNCA from ECA, EDNN from NNCA, emulator from ridge)
    # is described by members that start from it: refitted cold they would describe the
    # searched model it replaced
    warm_models = [] if warm_start else sorted(
        {fb.model for fb in getattr(res, "fallbacks", []) if fb.used != "search"})
    rule = {"warm_models": warm_models} if warm_models else {}  # older caches stay valid without
    fp = _fingerprint(res, n_resamples, seed, {"components": list(components), "recon_rows": recon_rows,
                                               "fit_latent_iter": fit_latent_iter, "warm_start": bool(warm_start),
                                               "members_stop_on": MEMBERS_STOP_ON, **rule})
    if path.is_file():
        cached = json.loads(path.read_text())
        if cached.get("fingerprint") == fp:
            log(f"[{name}] uncertainty: loaded from {path}")
            return cached
    groups = prep.train.groups
    Xtr, Ytr, Xte, Yte = prep.Xtr, prep.Ytr, prep.Xte, prep.Yte
    names = list(feature_names) if feature_names is not None else list(prep.train.feature_names)
    kw = dict(n_resamples=n_resamples, groups=groups, random_state=seed, client=client)

    def members_warm(label):
        return bool(warm_start) or label in warm_models

    summary = {"name": name, "fingerprint": fp, "n_resamples": n_resamples, "warm_start": bool(warm_start),
               "warm_models": warm_models,
               "confidence": CONFIDENCE,
               "resampled": "groups" if groups is not None else "rows", "feature_names": names,
               "scores": {}, "r2_per_rank": {}, "r2_per_rank_point": {}, "components": {}, "seconds": {}}
    kmax = max(components)

    t0 = time.time()
    em = bootstrap(res.models["emulator"], Xtr, Ytr, warm_start=members_warm("emulator"), **kw)
    summary["seconds"]["emulator"] = round(time.time() - t0, 1)
    summary["scores"]["emulator"] = em.scores(Xte, Yte).tolist()
    t0 = time.time()
    eca = eca_on_ensemble(res.models["eca"], em, Xtr, Ytr, warm_start=True)
    summary["seconds"]["eca"] = round(time.time() - t0, 1)
    for k in components:
        summary["scores"][_label("ECA", k)] = eca.scores(Xte, Yte, n_components=k).tolist()
    summary["r2_per_rank"]["ECA"] = eca.r2_per_rank_interval().values.tolist()
    summary["r2_per_rank_point"]["ECA"] = np.asarray(res.models["eca"].r2_per_rank_).tolist()
    summary["components"]["ECA"] = eca.aligned_components().tolist()
    ensembles = {"ECA": eca}
    for kind in ("ednn", "nnca"):
        for k in components:
            t0 = time.time()
            label = _label(kind.upper(), k)
            ens = bootstrap(res.models[f"{kind}_k{k}"], Xtr, Ytr, warm_start=members_warm(label), **kw)
            summary["seconds"][label] = round(time.time() - t0, 1)
            summary["scores"][label] = ens.scores(Xte, Yte).tolist()
            if kind == "nnca":
                ensembles[label] = ens
                summary["components"][label] = ens.aligned_components().tolist()
                if k > 1:
                    summary["r2_per_rank"][label] = ens.r2_per_rank_interval().values.tolist()
                    summary["r2_per_rank_point"][label] = np.asarray(res.models[f"nnca_k{k}"].r2_per_rank_).tolist()
    log(f"[{name}] bootstrap ({n_resamples} {'warm-started ' if warm_start else ''}members each, "
        f"resampling {summary['resampled']}): "
        + ", ".join(f"{k} {v} s" for k, v in summary["seconds"].items()))
    if summary["warm_models"]:
        log(f"[{name}] members of {', '.join(summary['warm_models'])} start from the selected model's weights: "
            "the run kept a warm start there, and a fresh initialisation would describe the searched model "
            "it replaced")

    t0 = time.time()
    dec = decisiveness(em, Xtr, Ytr, X_eval=Xte, y_eval=Yte, feature_names=names, basis=eca,
                       random_state=seed, confidence=CONFIDENCE, max_rows=decisiveness_rows_max)
    summary["decisiveness"] = dec.table
    summary["seconds"]["decisiveness"] = round(time.time() - t0, 1)
    t0 = time.time()
    summary["reconstructability"] = {}
    for label in ("ECA", f"NNCA k={kmax}"):
        rep = reconstructability(ensembles[label], Xtr, Ytr, X_test=Xte, y_test=Yte, feature_names=names,
                                 n_components=kmax if label == "ECA" else None, confidence=CONFIDENCE,
                                 max_rows=recon_rows, fit_latent_kw={"max_iter": fit_latent_iter})
        summary["reconstructability"][_label("ECA", kmax) if label == "ECA" else label] = rep.table
    summary["seconds"]["reconstructability"] = round(time.time() - t0, 1)
    if extra is not None:
        t0 = time.time()
        summary["extra"] = extra(ensembles)
        summary["seconds"]["extra"] = round(time.time() - t0, 1)
    atomic_write_text(path, json.dumps(summary, indent=1, default=float))
    return summary


def _iv(values) -> BootstrapInterval:
    return _interval(np.asarray(values, dtype=float), CONFIDENCE)


def _fmt(iv: BootstrapInterval, digits=3) -> str:
    return iv.format(digits)


def interval_table_rows(results, summaries: dict, components=(1, 2)) -> list[dict]:
    """Table 1/2 with intervals: per (target, k) each method's selected-model test R2, the
    bootstrap median with its 90 % interval, and the orderings the intervals support."""
    rows = []
    for res in results:
        s = summaries[res.name]
        for k in components:
            row = {"target": res.name, "k": k}
            ivs = {}
            for m in METHODS:
                ivs[m] = _iv(s["scores"][_label(m, k)])
                row[m] = round(float(res.r2.get((m, k), math.nan)), 4)
                row[f"{m} bootstrap"] = _fmt(ivs[m])
            row["emulator bootstrap"] = _fmt(_iv(s["scores"]["emulator"]))
            row["finding"] = ordering_finding(ivs)
            rows.append(row)
    return rows


def ordering_finding(ivs: dict) -> str:
    """Orderings of methods whose intervals separate ("EDNN > ECA"), the rest "≈"."""
    names = sorted(ivs, key=lambda m: -ivs[m].estimate)
    parts = []
    for a, b in zip(names[:-1], names[1:]):
        parts.append(f"{a} > {b}" if intervals_separate(ivs[a], ivs[b]) else f"{a} ≈ {b}")
    return "; ".join(parts)


def rank_rows(summaries: dict) -> list[dict]:
    """Cumulative R2 per rank on the training rows: selected model and bootstrap interval."""
    rows = []
    for name, s in summaries.items():
        for label, vals in s["r2_per_rank"].items():
            iv = _iv(vals)
            point = s["r2_per_rank_point"][label]
            for j in range(iv.values.shape[1]):
                rows.append({"target": name, "method": label, "rank": j + 1, "R2 (selected)": round(point[j], 4),
                             "bootstrap": f"{iv.estimate[j]:.3f} [{iv.low[j]:.3f}, {iv.high[j]:.3f}]"})
    return rows


def decisiveness_rows(summaries: dict) -> list[dict]:
    """One row per (target, feature): drop with interval, ridge R2, loadings, status."""
    rows = []
    for name, s in summaries.items():
        for r in s["decisiveness"]:
            row = {"target": name, "feature": r["feature"],
                   "drop": f"{r['drop']:.3f} [{r['drop_low']:.3f}, {r['drop_high']:.3f}]",
                   "marginal drop": f"{r['marginal_drop']:.3f} [{r['marginal_drop_low']:.3f}, {r['marginal_drop_high']:.3f}]",
                   "ridge R2 from spectra": f"{r['ridge_R2']:.3f} [{r['ridge_R2_low']:.3f}, {r['ridge_R2_high']:.3f}]"}
            j = 1
            while f"v{j}" in r:
                row[f"ECA v{j}"] = f"{r[f'v{j}']:.2f} [{r[f'v{j}_low']:.2f}, {r[f'v{j}_high']:.2f}]"
                j += 1
            row["status"] = r["status"]
            rows.append(row)
    return rows


def reconstructability_rows(summaries: dict) -> list[dict]:
    """One row per (target, model, feature): latent-reconstruction R2 and the ridge baseline."""
    rows = []
    for name, s in summaries.items():
        for label, table in s["reconstructability"].items():
            for r in table:
                rows.append({"target": name, "model": label, "feature": r["feature"],
                             "latent R2": f"{r['latent_R2']:.3f} [{r['latent_R2_low']:.3f}, {r['latent_R2_high']:.3f}]",
                             "ridge R2 (spectrum → structure)":
                                 f"{r['ridge_R2']:.3f} [{r['ridge_R2_low']:.3f}, {r['ridge_R2_high']:.3f}]"})
    return rows


def cm_feature_groups(n_atoms: int = 17, shells=((1, 4), (5, 6), (7, 16))) -> list[str]:
    """Group label of each Coulomb-matrix feature (upper triangle, row by row) by neighbour
    shell and kind: the Ge site's own entry, Ge–neighbour entries (distance and species of
    that neighbour), neighbour diagonal entries (species), neighbour–neighbour entries."""

    def shell(j):
        for lo, hi in shells:
            if lo <= j <= hi:
                return f"{lo}–{hi}"
        return f"{j}"

    labels = []
    i, j = np.triu_indices(n_atoms)
    for a, b in zip(i, j):
        if a == 0 and b == 0:
            labels.append("Ge self")
        elif a == 0:
            labels.append(f"Ge–neighbour {shell(b)}")
        elif a == b:
            labels.append(f"species of neighbour {shell(b)}")
        else:
            sa, sb = shell(a), shell(b)
            labels.append(f"neighbour pairs {sa} × {sb}")
    return labels


def summarise_by_group(table: list[dict], labels: list[str], value: str, low: str) -> list[dict]:
    """Summary of a per-feature table by feature group: count, decisive count (where the table
    has ``decisive``), and the largest and median ``value`` with the largest one's ``low``."""
    rows = []
    for g in dict.fromkeys(labels):
        members = [r for r, lab in zip(table, labels) if lab == g]
        vals = np.array([r[value] for r in members])
        best = members[int(np.argmax(vals))]
        row = {"group": g, "n_features": len(members)}
        if "decisive" in members[0]:
            row["n_decisive"] = int(sum(r["decisive"] for r in members))
        row.update({f"max {value}": float(vals.max()), f"its {low}": float(best[low]),
                    "at": best["feature"], f"median {value}": float(np.median(vals))})
        rows.append(row)
    return rows


def plot_basis_bands(summary: dict, point_components: dict, ax=None, title=None):
    """Basis vectors of the selected models with the bootstrap band of each entry."""
    from ..plotting import plot_basis_vectors

    bands = {}
    for label in point_components:
        iv = _iv(summary["components"][label])
        bands[label] = (iv.low, iv.high)
    return plot_basis_vectors(point_components, summary["feature_names"], ax=ax, title=title, bands=bands)


# --------------------------------------------------------------------------- report hooks
def _tables(summaries, results, out, components):
    from .tables import write_table

    tables = {"table_intervals": interval_table_rows(results, summaries, components),
              "r2_per_rank": rank_rows(summaries)}
    for stem, rows in tables.items():
        if rows:
            write_table(rows, out, stem)
    return tables


def _section_text(summaries, budget_name):
    s = next(iter(summaries.values()))
    start = ("each <b>warm-started</b> from the selected model's weights (ECA: its basis) — the intervals "
             "measure the data-resampling spread around the selected fit and leave out the spread over "
             "initialisations, so they are narrower than a full bootstrap (budgets standard/paper refit "
             "from fresh initialisations)" if s.get("warm_start") else "each refitted from a fresh initialisation")
    warm = sorted({m for x in summaries.values() for m in x.get("warm_models", [])})
    if warm:
        start += (f" — except {', '.join(warm)}: the run kept a warm start there (see the nesting notes), so "
                  "their members start from the selected model's weights, and a fresh initialisation would "
                  "describe the searched model it replaced; their intervals leave out the spread over "
                  "initialisations")
    return (f"<p>{s['n_resamples']} bootstrap members per model (budget <b>{budget_name}</b>), {start}, "
            f"with the selected hyper-parameters on a resample of the training {s['resampled']} "
            f"(whole trajectories/runs when the data have groups) and its own seed; "
            f"median and {int(100 * CONFIDENCE)} % percentile interval over the members. An ordering is "
            "stated as a finding ('&gt;') only where the intervals separate; otherwise '≈'.</p>")


def h2o_sections(results, preps, datasets, out_dir, *, n_resamples, warm_start=False, seed=0, client=None,
                 log=print):
    """Uncertainty sections of the H2O report (tables written beside ``table1``).

    Returns
    -------
    sections : list of Section
    summaries : dict name -> summary
    """
    import matplotlib.pyplot as plt

    from ..report import Section, figure_html, table_html
    from .tables import write_table

    out = Path(out_dir)
    summaries = {}
    for res in results:
        summaries[res.name] = analyse_uncertainty(
            res.name, res, preps[res.name], out, n_resamples=n_resamples, warm_start=warm_start, seed=seed,
            feature_names=datasets[res.name].feature_names, client=client, log=log)
    tables = _tables(summaries, results, out, (1, 2))
    log("\n" + write_table(tables["table_intervals"], out, "table1_intervals"))
    dec = decisiveness_rows(summaries)
    rec = reconstructability_rows(summaries)
    write_table(dec, out, "decisiveness")
    write_table(rec, out, "reconstructability")
    log("\n" + write_table(tables["r2_per_rank"], out, "r2_per_rank"))
    log("\n" + write_table(dec, out, "decisiveness"))
    figs = []
    for res in results:
        comps = {"ECA": res.models["eca"].components_, "NNCA k=2": res.models["nnca_k2"].components_}
        fig, ax = plt.subplots(figsize=(6, 3.3))
        plot_basis_bands(summaries[res.name], comps, ax=ax,
                         title=f"{res.name}: basis vectors, {int(100 * CONFIDENCE)} % bootstrap bands")
        fig.savefig(out / f"basis_bands_{res.name.lower()}.png", dpi=110)
        figs.append(figure_html(fig))
    sections = [
        Section("Table 1 with bootstrap intervals", [_section_text(summaries, "as above"),
                                                     table_html(tables["table_intervals"])]),
        Section("R2 per rank: ECA and NNCA rotated to a rank hierarchy (training rows)",
                ["<p>NNCA's basis is rotated within its span after training so that rank 1 alone covers the "
                 "most variance (later latents set to zero, as ECA's rank-j model does); full-rank "
                 "predictions are unchanged.</p>", table_html(tables["r2_per_rank"])]),
        Section("Decisiveness of each structural coordinate", [
            "<p>Drop in covered variance (test split, emulator members) when a coordinate's own variation "
            "is removed by conditional permutation (its linear relation to the other coordinates kept); "
            "the marginal drop permutes it outright. Decisive: lower interval end &gt; 0.01. A coordinate "
            "that is not decisive but a ridge regression reads from the spectra is 'recoverable by "
            "correlation, not decisive'.</p>", table_html(dec)]),
        Section("Reconstructability from the test spectra", [
            "<p>R2 of each coordinate reconstructed from test spectra (latent fit + expansion, first 200 "
            "test rows) next to a direct spectrum → structure ridge regression (what the spectra tell at "
            "best, linearly).</p>", table_html(rec)]),
        Section("Basis vectors with bootstrap bands", figs),
    ]
    return sections, summaries


def _pressure_reconstructions(ensembles, prep, pressures_test, n_atoms, rows_per_pressure, seed):
    """Every member's per-pressure mean distances from the Ge site (Fig. 5 bands)."""
    from types import SimpleNamespace

    from .geo2 import reconstruct_distances

    rng = np.random.default_rng(seed)
    sel = np.concatenate([
        np.sort(rng.permutation(np.flatnonzero(pressures_test == p))[:rows_per_pressure])
        for p in np.unique(pressures_test)])
    sub = SimpleNamespace(Yte=prep.Yte[sel], x_scaler=prep.x_scaler)
    out = {}
    for label, ens, k in (("ECA k=2", ensembles["ECA"], 2), ("NNCA k=2", ensembles["NNCA k=2"], None)):
        per = {}
        for m in ens.estimators_:
            rec = reconstruct_distances(m, sub, pressures_test[sel], n_components=k, n_atoms=n_atoms)
            for p, (r, _) in rec.items():
                per.setdefault(f"{p:g}", []).append(r.tolist())
        out[label] = per
    return {"rows_per_pressure": rows_per_pressure, "distances": out}


def _fig5_bands(extra, true, ge_fraction, pressures, n_atoms):
    """:func:`xslatent.pipeline.geo2._fig5` with the members' median and interval per pressure."""
    from .geo2 import _fig5

    recon, bands = {}, {}
    for label, per in extra["distances"].items():
        vals = np.array([per[f"{p:g}"] for p in pressures])  # (P, members, n_atoms - 1)
        iv = _interval(np.moveaxis(vals, 1, 0), CONFIDENCE)
        recon[f"{label} (median)"] = {p: (iv.estimate[i], None) for i, p in enumerate(pressures)}
        bands[f"{label} (median)"] = (iv.low, iv.high)
    return _fig5(recon, true, ge_fraction, pressures, n_atoms, bands=bands)


def _fig8_bands(summary, n_atoms):
    import matplotlib.pyplot as plt

    from .geo2 import cm_square

    panels = []
    for label in ("ECA", "NNCA k=2"):
        iv = _iv(summary["components"][label])
        for j in range(iv.estimate.shape[0]):
            sure = (iv.low[j] > 0) | (iv.high[j] < 0)
            panels.append((f"{label} v{j + 1} (median)", np.where(sure, iv.estimate[j], 0.0), sure.mean()))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.4))
    for ax, (label, v, frac) in zip(np.atleast_1d(axes), panels):
        M = cm_square(v, n_atoms - 1)
        lim = max(np.abs(M).max(), 1e-12)
        im = ax.imshow(M, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"{label}\n{100 * frac:.0f} % of entries ≠ 0 at {int(100 * CONFIDENCE)} %", fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.tight_layout()
    return fig


def geo2_sections(res, prep, data, out_dir, *, n_resamples, pressures_test, true_distances, ge_fraction,
                  pressures, n_atoms=17, warm_start=False, seed=0, client=None, rows_per_pressure=40, log=print):
    """Uncertainty sections of the GeO2 report: Table 2 with intervals, R2 per rank,
    decisiveness and reconstructability of the 153 Coulomb-matrix entries summarised by
    neighbour shell and kind, Fig. 5 and Fig. 8 analogs with bands."""
    from ..report import Section, figure_html, table_html
    from .tables import write_table

    out = Path(out_dir)

    def extra(ensembles):
        return _pressure_reconstructions(ensembles, prep, pressures_test, n_atoms, rows_per_pressure, seed)

    s = analyse_uncertainty("moments", res, prep, out, n_resamples=n_resamples, warm_start=warm_start, seed=seed,
                            feature_names=data.feature_names, client=client, extra=extra,
                            decisiveness_rows_max=1000, log=log)
    summaries = {"moments": s}
    tables = _tables(summaries, [res], out, (1, 2))
    log("\n" + write_table(tables["table_intervals"], out, "table2_intervals"))
    log("\n" + write_table(tables["r2_per_rank"], out, "r2_per_rank"))
    labels = cm_feature_groups(n_atoms)
    write_table(decisiveness_rows(summaries), out, "decisiveness")
    write_table(reconstructability_rows(summaries), out, "reconstructability")
    dec_sum = summarise_by_group(s["decisiveness"], labels, "drop", "drop_low")
    log("\n" + write_table(dec_sum, out, "decisiveness_by_group"))
    rec_sum = []
    for label, table in s["reconstructability"].items():
        for row in summarise_by_group(table, labels, "latent_R2", "latent_R2_low"):
            g = row["group"]
            ridge = [r["ridge_R2"] for r, lab in zip(table, labels) if lab == g]
            rec_sum.append({"model": label, **row, "median ridge_R2": float(np.median(ridge))})
    write_table(rec_sum, out, "reconstructability_by_group")
    fig5 = _fig5_bands(s["extra"], true_distances, ge_fraction, pressures, n_atoms)
    fig5.savefig(out / "fig5_reconstruction_bands.png", dpi=110)
    fig8 = _fig8_bands(s, n_atoms)
    fig8.savefig(out / "fig8_basis_vectors_bands.png", dpi=110)
    sections = [
        Section("Table 2 with bootstrap intervals", [_section_text(summaries, "as above"),
                                                     table_html(tables["table_intervals"])]),
        Section("R2 per rank: ECA and rotated NNCA (training rows)", [table_html(tables["r2_per_rank"])]),
        Section("Decisiveness of the Coulomb-matrix entries, by neighbour shell and kind", [
            "<p>Per entry: drop in covered variance (test split, emulator members) under conditional "
            "permutation; summarised per group (full table: decisiveness.csv). Decisive: lower interval "
            "end &gt; 0.01.</p>", table_html(dec_sum)]),
        Section("Reconstructability of the Coulomb-matrix entries, by group", [
            "<p>Median per-entry R2 of the latent reconstruction from test moments next to a direct "
            "ridge regression (full table: reconstructability.csv).</p>", table_html(rec_sum)]),
        Section("Structural reconstruction per pressure with bootstrap bands (Fig. 5 analog)", [
            f"<p>Each member reconstructs {rows_per_pressure} test sites per pressure; bands are "
            f"{int(100 * CONFIDENCE)} % intervals over the members.</p>", figure_html(fig5)]),
        Section("Basis vectors with bootstrap support (Fig. 8 analog)", [
            "<p>Median aligned basis vectors; entries whose interval includes 0 are blanked.</p>",
            figure_html(fig8)]),
    ]
    return sections, summaries
