"""``xslatent select CONFIG.toml [--scheduler ADDRESS]``: randomized search from a TOML config.

The config names a data set, an estimator, a search space and where to write results. Paths
are relative to the config file. Schema (only ``data.path``, ``estimator.kind`` and one of
``search.preset`` / ``search.space`` are required)::

    [data]
    path = "h2o_xes.h5"          # Dataset HDF5 file, or a bundled set: h2o:xes, h2o:xas, h2o:xps, geo2
    targets = "xes_*"            # optional: target columns (Dataset.select_targets)
    test_size = 0.2              # held-out share; the search sees only the train split
    split_seed = 0               # seed of the train/test split
    x_scaler = "feature"         # "feature" (FeatureScaler) | "none"
    y_scaler = "global"          # "global" (GlobalSpectrumScaler) | "feature" | "none"

    [estimator]
    kind = "EDNN"                # "MLPEmulator" | "EDNN" | "NNCA"
    [estimator.params]           # fixed parameters of every candidate
    n_components = 1
    max_iter = 200

    [search]
    preset = "h2o-ednn"          # a preset (xslatent.selection.list_presets()), or:
    # space = "my_space.toml"    # a TOML space file, or an inline table [search.space]
    #                            # with the schema of a preset file (params / fixed)
    n_iter = 100
    cv = 5
    seed = 0                     # search random_state (sampling, folds, network seeds)
    batched = true
    store = "store.sqlite"       # resumable result store (default: <output.dir>/store.sqlite)
    max_group_size = 256         # optional
    pruning = { min_epochs = 10, eta = 3 }   # optional successive halving (off if absent)

    [output]
    dir = "select-out"           # cv_results.csv, best_params.json, model/

Standardization is fitted on the train split only. Outputs: ``cv_results.csv``,
``best_params.json`` (best parameters, CV score, seed, test-split R2 of the refitted model)
and ``model/`` (:func:`xslatent.io.save_model`, with the scalers as extras). Rerunning the
same config resumes from the store. ``--scheduler`` connects to a Dask scheduler
(``tcp://host:8786``, or a scheduler file path ending in ``.json``) and fans the work out.
"""

from __future__ import annotations

import argparse

from ._common import add_scheduler_argument, dask_client

__all__ = ["add_parser", "load_config", "run"]

_SECTIONS = {
    "data": {"path", "targets", "test_size", "split_seed", "x_scaler", "y_scaler"},
    "estimator": {"kind", "params"},
    "search": {
        "preset",
        "space",
        "n_iter",
        "cv",
        "seed",
        "batched",
        "store",
        "max_group_size",
        "pruning",
        "verbose",
    },
    "output": {"dir"},
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``select`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "select",
        help="randomized hyper-parameter search from a TOML config",
        description="Run a batched, resumable randomized search (K-fold CV, generalized R2) "
        "described by a TOML config; see 'xslatent.cli.select' for the schema.",
    )
    p.add_argument("config", help="TOML config file")
    add_scheduler_argument(p, "the candidates")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def load_config(path):
    """Read and check a config; returns ``(doc, base_dir)``."""
    from pathlib import Path

    from ..exceptions import InvalidParameterError
    from ..selection._space import tomllib

    path = Path(path)
    with open(path, "rb") as fh:
        try:
            doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidParameterError(f"The config '{path}' is not valid TOML: {exc}") from None
    for section, value in doc.items():
        if section not in _SECTIONS:
            raise InvalidParameterError(
                f"The '{section}' section of config '{path}' is not known; use {', '.join(sorted(_SECTIONS))}."
            )
        unknown = sorted(set(value) - _SECTIONS[section])
        if unknown:
            raise InvalidParameterError(
                f"The '{section}.{unknown[0]}' key of config '{path}' is not known; use "
                f"{', '.join(sorted(_SECTIONS[section]))}."
            )
    if "path" not in doc.get("data", {}):
        raise InvalidParameterError(f"The config '{path}' must set 'data.path'.")
    if "kind" not in doc.get("estimator", {}):
        raise InvalidParameterError(f"The config '{path}' must set 'estimator.kind'.")
    search = doc.get("search", {})
    if ("preset" in search) == ("space" in search):
        raise InvalidParameterError(
            f"The config '{path}' must set exactly one of 'search.preset' and 'search.space'."
        )
    return doc, path.resolve().parent


def _scaler(kind, owner):
    from ..data import FeatureScaler, GlobalSpectrumScaler
    from ..exceptions import InvalidParameterError

    if kind == "none":
        return None
    if kind == "feature":
        return FeatureScaler()
    if kind == "global" and owner == "y_scaler":
        return GlobalSpectrumScaler()
    allowed = "'global', 'feature' or 'none'" if owner == "y_scaler" else "'feature' or 'none'"
    raise InvalidParameterError(
        f"The 'data.{owner}' key of the config must be {allowed}. Got {kind!r} instead."
    )


def run(args) -> int:
    """Run ``select``; errors are reported by :func:`xslatent.cli.main.main`."""
    import json
    import time
    from pathlib import Path

    from ..datasets import load_dataset
    from ..exceptions import InvalidParameterError
    from ..io import save_model
    from ..metrics import r2_score
    from ..selection import RandomizedSearch, SearchSpace, SuccessiveHalving
    from ..selection._space import estimator_class

    try:
        doc, base = load_config(args.config)
        data, est_cfg = doc["data"], doc["estimator"]
        search_cfg, out_cfg = doc.get("search", {}), doc.get("output", {})
        ds = load_dataset(data["path"], base=base)
        if "targets" in data:
            ds = ds.select_targets(data["targets"])
        train, test = ds.train_test_split(
            test_size=data.get("test_size", 0.2), random_state=data.get("split_seed", 0)
        )
        xs = _scaler(data.get("x_scaler", "feature"), "x_scaler")
        ys = _scaler(data.get("y_scaler", "global"), "y_scaler")
        Xtr, Ytr, Xte, Yte = train.X, train.Y, test.X, test.Y
        if xs is not None:
            Xtr, Xte = xs.fit_transform(Xtr), xs.transform(Xte)
        if ys is not None:
            Ytr, Yte = ys.fit_transform(Ytr), ys.transform(Yte)
        estimator = estimator_class(est_cfg["kind"])(**est_cfg.get("params", {}))
        if "preset" in search_cfg:
            space = search_cfg["preset"]
        elif isinstance(search_cfg["space"], str):
            space = SearchSpace.from_toml(base / search_cfg["space"])
        else:
            space = SearchSpace.from_dict(search_cfg["space"], name="search.space")
        pruning = search_cfg.get("pruning")
        if pruning is not None:
            pruning = SuccessiveHalving(**pruning)
        out_dir = base / out_cfg.get("dir", "select-out")
        out_dir.mkdir(parents=True, exist_ok=True)
        store = base / search_cfg.get("store", str(out_dir / "store.sqlite"))
    except InvalidParameterError:
        raise
    except TypeError as exc:  # an unknown or mistyped parameter in the config
        raise InvalidParameterError(f"The config '{args.config}' is not usable: {exc}") from None

    with dask_client(args.scheduler) as client:
        search = RandomizedSearch(
            estimator,
            space,
            n_iter=int(search_cfg.get("n_iter", 10)),
            cv=search_cfg.get("cv", 5),
            random_state=search_cfg.get("seed", 0),
            store=store,
            client=client,
            batched=bool(search_cfg.get("batched", True)),
            pruning=pruning,
            max_group_size=search_cfg.get("max_group_size"),
            verbose=not args.quiet and bool(search_cfg.get("verbose", True)),
        )
        t0 = time.perf_counter()
        search.fit(Xtr, Ytr)
        wall = time.perf_counter() - t0

    test_score = r2_score(Yte, search.best_estimator_.predict(Xte))
    search.cv_results_.to_csv(out_dir / "cv_results.csv")
    summary = {
        "best_params": {
            k: list(v) if isinstance(v, tuple) else v for k, v in search.best_params_.items()
        },
        "best_score": search.best_score_,
        "best_seed": search.best_seed_,
        "test_score": test_score,
        "estimator": type(estimator).__name__,
        "estimator_params": est_cfg.get("params", {}),
        "n_candidates": len(search.cv_results_["mean_test_score"]),
        "cv": search.n_splits_,
        "random_state": search.random_state_,
        "n_trained": search.n_trained_,
        "n_reused": search.n_reused_,
        "wall_time_s": wall,
        "dataset": str(base / data["path"]),
        "n_train": int(Xtr.shape[0]),
        "n_test": int(Xte.shape[0]),
    }
    (out_dir / "best_params.json").write_text(json.dumps(summary, indent=1, default=float))
    extras = {k: v for k, v in (("x_scaler", xs), ("y_scaler", ys)) if v is not None}
    save_model(
        search.best_estimator_,
        out_dir / "model",
        extras=extras,
        metadata={"selection": summary, "config": str(Path(args.config).resolve())},
    )
    print(
        f"best CV R2 {search.best_score_:.4f} (test R2 {test_score:.4f}) with "
        f"{summary['best_params']}; {search.n_trained_} trainings run, {search.n_reused_} reused; "
        f"wrote {out_dir}"
    )
    return 0
