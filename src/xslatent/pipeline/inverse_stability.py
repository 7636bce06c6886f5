"""``xslatent inverse-stability``: where does layer-by-layer inversion of an EDNN fail?

Trains a leaky-ReLU EDNN with as many square weight matrices as possible
(:class:`xslatent.inverse.SquareLReLUEDNN`, float64) on the train split, then on the test
split inverts it layer by layer from (a) its own predictions, (b) the test-set spectra and
(c) the exact forward activations of each layer, each with several noise levels, and records the singular values
of every weight matrix. Writes ``layer_errors.csv``, ``singular_values.csv``, two figures
per bottleneck width and ``inverse_stability.html``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..data import Dataset
from ..exceptions import ConvergenceWarning
from ..inverse import SquareLReLUEDNN, layerwise_inversion, weight_diagnostics
from ..report import Section, figure_html, table_html, write_report
from ._common import prepare, provenance
from .tables import write_csv

__all__ = ["run_inverse_stability", "summarize_buildup"]


def summarize_buildup(result) -> dict:
    """Where the error grows most when going backwards from the output.

    Returns the label of the activation at which the error jumps most relative to the layer
    after it, that growth factor, the input-layer error and the error per layer.
    """
    err = np.asarray(result.max_abs_error, dtype=float)
    floor = 1e-12  # round-off level of O(1) float64 activations
    growth = (err[:-1] + floor) / (err[1:] + floor)
    i = int(np.nanargmax(growth))
    return {"worst_layer": result.labels[i], "growth": float(growth[i]), "input_error": float(err[0]),
            "per_layer": {lab: float(e) for lab, e in zip(result.labels, err)}}


def run_inverse_stability(
    data: Dataset,
    out_dir,
    *,
    n_components=(1,),
    encoder_depth=2,
    decoder_depth=2,
    noise_levels=(0.0, 1e-4, 1e-3, 1e-2),
    max_iter=300,
    learning_rate_init=1e-3,
    alpha=1e-4,
    random_state=0,
    device="cpu",
    max_samples=2000,
    n_search=0,
    preset="h2o-ednn-square-lrelu",
    cv=5,
    report=True,
) -> dict:
    """Run the analysis on ``data`` and write its outputs to ``out_dir``.

    Parameters
    ----------
    data : Dataset
    out_dir : path
    n_components : tuple of int
        Bottleneck widths to analyse.
    encoder_depth, decoder_depth : int
        Hidden-layer counts of the square LReLU EDNN.
    noise_levels : tuple of float
        Relative Gaussian noise added to the starting activations.
    max_iter, learning_rate_init, alpha : training settings.
    random_state : int
    device : str
    max_samples : int
        Test rows used in the inversion (the largest errors are maxima over rows).
    n_search : int, default=0
        If positive, choose the network by a randomized search of this many candidates over
        ``preset`` (the paper's square-matrix LReLU grid) with ``cv``-fold CV instead of using
        the given depths and training settings.
    preset : str
        Search space for ``n_search`` (``h2o-ednn-square-lrelu``, ``geo2-ednn-square-lrelu``).
    cv : int
    report : bool
        Write ``inverse_stability.html``.

    Returns
    -------
    dict
        Per width: test R2, summaries of the error build-up, condition numbers.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prep = prepare(data, random_state=random_state)
    Xte, Yte = prep.Xte[:max_samples], prep.Yte[:max_samples]
    err_rows, sv_rows, sections, summary = [], [], [], {}
    import matplotlib.pyplot as plt

    from ..plotting import plot_layer_errors, plot_singular_values

    for k in n_components:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if n_search > 0:
                from ..decomposition import EDNN
                from ..selection import RandomizedSearch

                search = RandomizedSearch(
                    EDNN(k, activation="leaky_relu", max_iter=max_iter, early_stopping=True, dtype="float64",
                         random_state=random_state, device=device),
                    preset, n_iter=n_search, cv=cv, random_state=random_state,
                    store=out / f"search_k{k}.sqlite",
                ).fit(prep.Xtr, prep.Ytr)
                model = search.best_estimator_
                depths = (len(model.encoder_layer_sizes), len(model.decoder_layer_sizes))
            else:
                model = SquareLReLUEDNN(
                    k, encoder_depth=encoder_depth, decoder_depth=decoder_depth, max_iter=max_iter,
                    learning_rate_init=learning_rate_init, alpha=alpha, random_state=random_state,
                    device=device, dtype="float64", early_stopping=True,
                ).fit(prep.Xtr, prep.Ytr)
                depths = (encoder_depth, decoder_depth)
        r2 = model.score(prep.Xte, prep.Yte)
        results = []
        for mode in ("predicted", "target", "exact"):
            for nz in noise_levels:
                res = layerwise_inversion(model, Xte, mode=mode, Y=Yte, noise=nz, random_state=random_state)
                results.append(res)
                for i, (lab, e) in enumerate(zip(res.labels, res.max_abs_error)):
                    err_rows.append(dict(n_components=k, mode=mode, noise=nz, index=i, layer=lab, max_abs_error=float(e)))
        diags = weight_diagnostics(model)
        for d in diags:
            s = d["singular_values"]
            sv_rows.append(dict(n_components=k, layer=d["layer"], part=d["part"], shape=f"{d['shape'][0]}x{d['shape'][1]}",
                                kind=d["kind"], cond=d["cond"], s_max=float(s[0]), s_min=float(s[-1]),
                                singular_values=";".join(f"{v:.6g}" for v in s)))
        pred0 = next(r for r in results if r.mode == "predicted" and r.noise == 0)
        exact0 = next(r for r in results if r.mode == "exact" and r.noise == 0)
        target0 = next(r for r in results if r.mode == "target" and r.noise == 0)
        summary[k] = {
            "test_r2": float(r2),
            "depths": depths,
            "predicted": summarize_buildup(pred0),
            "target": summarize_buildup(target0),
            "exact_per_layer": {lab: float(e) for lab, e in zip(exact0.labels, exact0.max_abs_error)},
            "cond": {d["layer"]: d["cond"] for d in diags},
        }
        fig, axes = plt.subplots(1, 3, figsize=(16, 3.8))
        plot_layer_errors([r for r in results if r.mode == "predicted"], ax=axes[0], title=f"(a) from predicted output, k={k}")
        plot_layer_errors([r for r in results if r.mode == "target"], ax=axes[1], title=f"(b) from test-set spectra, k={k}")
        plot_layer_errors([r for r in results if r.mode == "exact"], ax=axes[2], title=f"(c) from exact activations, k={k}")
        fig.tight_layout()
        fig.savefig(out / f"layer_errors_k{k}.png", dpi=120)
        body = [f"<p>Square LReLU EDNN, encoder depth {depths[0]}, decoder depth {depths[1]}, "
                f"bottleneck {k}; test R2 = {r2:.4f}. Going backwards from the predicted output the error "
                f"grows most at <b>{summary[k]['predicted']['worst_layer']}</b> "
                f"(×{summary[k]['predicted']['growth']:.3g}); input-layer error "
                f"{summary[k]['predicted']['input_error']:.3g}.</p>", figure_html(fig, "Layer-wise maximum absolute error")]
        fig2, ax2 = plt.subplots(figsize=(8, 3.6))
        plot_singular_values(diags, ax=ax2, title=f"Singular values per weight matrix, k={k}")
        fig2.savefig(out / f"singular_values_k{k}.png", dpi=120)
        body.append(figure_html(fig2, "Singular values (κ = condition number)"))
        body.append(table_html([{c: r[c] for c in ("layer", "shape", "kind", "cond", "s_max", "s_min")}
                                for r in sv_rows if r["n_components"] == k]))
        sections.append(Section(f"Inverse stability, bottleneck {k}", body))

    for stem, rows in (("layer_errors", err_rows), ("singular_values", sv_rows)):
        write_csv(rows, out, stem)
    (out / "inverse_stability.json").write_text(json.dumps(summary, indent=1, default=float))
    if report:
        write_report(out / "inverse_stability.html", f"Inverse stability: {data.name or 'dataset'}", sections,
                     provenance(dataset=data.name, random_state=random_state, encoder_depth=encoder_depth,
                                decoder_depth=decoder_depth, noise_levels=list(noise_levels)))
    return summary
