"""``xslatent reproduce DATASET.h5 --config CONFIG.toml``: the same analysis on a user's data.

CONFIG (TOML; every key optional)::

    name = "XES"              # label of the target set in tables
    system = "h2o"            # preset family of the search spaces: h2o | geo2
    budget = "standard"       # quick | standard | paper
    components = [1, 2]       # ranks / bottleneck widths
    seed = 0
    device = "cpu"
    y_scaling = "auto"        # auto | global (one scalar for all channels) | feature (per target)
    eca_fit_on = "train"      # train (out of sample, like EDNN and NNCA) | test (the paper's
                              # protocol: scored in-sample, optimistic); the other is
                              # reported beside it

    [spaces]                  # per model kind: a preset name or a path to a space TOML
    emulator = "h2o-emulator"
    ednn = "my_ednn_space.toml"
"""

from __future__ import annotations

import json
import time
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

from .._validation import Interval, Options, validate_params
from ..data import Dataset
from ..exceptions import InvalidParameterError
from ..report import Section, figure_html, table_html, write_report
from ._common import provenance
from ._budgets import announce
from .analysis import BUDGETS, ECA_FIT_ON, analyse_target
from .tables import eca_note, notes_html, table_notes, table_rows, write_table

__all__ = ["read_config", "reproduce_dataset", "DEFAULT_CONFIG"]

DEFAULT_CONFIG = {
    "name": "target", "system": "h2o", "budget": "standard", "components": [1, 2], "seed": 0,
    "device": "cpu", "y_scaling": "auto", "eca_fit_on": "train", "spaces": {},
}
_RULES = {
    "budget": [Options(tuple(BUDGETS))],
    "system": [Options(("h2o", "geo2"))],
    "seed": [Interval(int, 0, None)],
    "y_scaling": [Options(("auto", "global", "feature"))],
    "eca_fit_on": [Options(ECA_FIT_ON)],
}


def read_config(path=None) -> dict:
    """Parse and validate a reproduce config; unknown keys are errors."""
    cfg = dict(DEFAULT_CONFIG)
    if path is not None:
        with open(path, "rb") as fh:
            user = tomllib.load(fh)
        unknown = sorted(set(user) - set(DEFAULT_CONFIG))
        if unknown:
            raise InvalidParameterError(
                f"The config {path} has unknown key(s) {unknown}; allowed are {sorted(DEFAULT_CONFIG)}."
            )
        cfg.update(user)
        base = Path(path).parent
        cfg["spaces"] = {k: (str(base / v) if str(v).endswith(".toml") else v) for k, v in cfg["spaces"].items()}
    validate_params("reproduce config", cfg, _RULES)
    bad = sorted(set(cfg["spaces"]) - {"emulator", "ednn", "nnca"})
    if bad:
        raise InvalidParameterError(f"The config [spaces] table has unknown model kind(s) {bad}; allowed are emulator, ednn, nnca.")
    if not cfg["components"] or not all(isinstance(k, int) and k >= 1 for k in cfg["components"]):
        raise InvalidParameterError(
            f"The 'components' config key must be a non-empty list of positive ints. Got {cfg['components']!r} instead."
        )
    return cfg


def reproduce_dataset(data: Dataset, out_dir, config: dict, *, client=None, log=print) -> dict:
    """Emulator, ECA, EDNN and NNCA on ``data`` with the settings of ``config``.

    ``out_dir`` becomes a reusable run directory: models and scalers under ``models/``,
    ``run.json`` (see :func:`xslatent.interpret.describe_run`), tables and ``report.html``.
    """
    import matplotlib.pyplot as plt

    from ..plotting import plot_basis_vectors, plot_mean_spectrum

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    comps = tuple(config["components"])
    announce(BUDGETS[config["budget"]], config["system"], data, client=client, device=config["device"], log=log)
    res, prep = analyse_target(config["name"], data, out, system=config["system"], budget=BUDGETS[config["budget"]],
                               components=comps, seed=config["seed"], device=config["device"], client=client,
                               presets=config["spaces"], y_scaling=config["y_scaling"],
                               eca_fit_on=config["eca_fit_on"], log=log)
    from ..interpret import describe_run

    _, run_sections = describe_run(out, data, res, prep, config["name"], random_state=config["seed"], log=log)
    rows = table_rows([res], {}, components=comps)
    notes = table_notes([res])
    md = write_table(rows, out, "table", notes)
    log("\n" + md)
    sections = [Section("Covered variance R2 on the test split",
                        [f"<p>{eca_note(config['eca_fit_on'])}</p>", table_html(rows), notes_html(notes)])]
    fig, ax = plt.subplots(figsize=(6, 3.4))
    plot_mean_spectrum(data.energy, data.Y, ax=ax, title=data.name)
    sections.append(Section("Targets: mean and spread", [figure_html(fig)]))
    if data.n_features <= 40:
        V = {"ECA": res.models["eca"].components_, f"NNCA k={max(comps)}": res.models[f"nnca_k{max(comps)}"].components_}
        fig, ax = plt.subplots(figsize=(max(6, 0.4 * data.n_features), 3.4))
        plot_basis_vectors(V, data.feature_names, ax=ax)
        sections.append(Section("Basis vectors", [figure_html(fig)]))
    sections += run_sections
    prov = provenance(config=config, dataset=data.name, n=len(data), seconds=round(time.time() - t0, 1),
                      best_params=res.best_params)
    (out / "provenance.json").write_text(json.dumps(prov, indent=1, default=str))
    write_report(out / "report.html", f"xslatent: {data.name or config['name']}", sections, prov)
    return {"table": rows, "result": res, "prepared": prep}
