"""Search budgets of the pipelines: ``--budget quick | standard | paper``.

A budget fixes how many candidates each search draws, the CV folds and how long each
candidate trains. Training length is counted in **optimizer steps** (minibatches of 200), not
epochs, so a budget means the same on 1 000 rows as on 10 000: the epochs of a fit are
``ceil(max_steps / steps_per_epoch)`` and the early-stopping patience
``ceil(patience_steps / steps_per_epoch)`` (at least :data:`MIN_PATIENCE` epochs), with
``steps_per_epoch`` that of one CV fold's training rows less the early-stopping hold-out.
On the bundled H2O data (8 000 training rows) the step counts reproduce the epoch counts the
budgets had before (quick: 120 epochs, patience 10; standard: 300, patience 20).

``paper`` is the paper's protocol: 20 000 candidates per model type for H2O and 200 000 for
GeO2, 5-fold CV; successive halving is on, and a Dask cluster (``--scheduler``) is
recommended. :func:`estimate_seconds` gives the wall time to expect before starting.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

__all__ = ["BUDGETS", "Budget", "MIN_PATIENCE", "announce", "estimate_seconds"]

#: fewest epochs without improvement before early stopping, whatever the data size
MIN_PATIENCE = 5
#: early-stopping hold-out of every fit (the estimators' default validation_fraction)
_HOLDOUT = 0.1
_BATCH = 200


@dataclass(frozen=True)
class Budget:
    """How much search each model gets.

    Parameters
    ----------
    name : str
    n_iter : dict
        Model kind (``"emulator"``, ``"ednn"``, ``"nnca"``) -> candidates per search.
    cv : int
        Folds of every search.
    max_iter : int
        Epochs per fit when ``max_steps`` is None.
    n_iter_no_change : int
        Early-stopping patience in epochs when ``patience_steps`` is None.
    eca_restarts : int
    pruning : bool, default=False
        Successive halving in the searches.
    max_steps : int or None, default=None
        Optimizer steps per fit (see module docstring).
    patience_steps : int or None, default=None
        Early-stopping patience in optimizer steps.
    n_iter_by_system : dict, optional
        ``system -> {kind: candidates}`` overriding ``n_iter`` (the paper's GeO2 counts).
    n_resamples : int, default=0
        Bootstrap members per selected model for intervals (0: no intervals); not part of a
        fitted model's fingerprint.
    warm_bootstrap : bool, default=False
        Bootstrap members start from the selected model's weights
        (:func:`xslatent.interpret.bootstrap` with ``warm_start=True``): several times
        cheaper, intervals without the spread over initialisations. Not part of a fitted
        model's fingerprint.
    """

    name: str
    n_iter: dict
    cv: int
    max_iter: int
    n_iter_no_change: int
    eca_restarts: int
    pruning: bool = False
    max_steps: int | None = None
    patience_steps: int | None = None
    n_iter_by_system: dict = field(default_factory=dict)
    n_resamples: int = 0
    warm_bootstrap: bool = False

    def search_n_iter(self, kind: str, system: str | None = None) -> int:
        """Candidates of the ``kind`` search for ``system``."""
        return int(self.n_iter_by_system.get(system, {}).get(kind, self.n_iter[kind]))

    def steps_per_epoch(self, n_train: int) -> int:
        """Minibatches per epoch of one CV fit on a training split of ``n_train`` rows."""
        rows = n_train * (self.cv - 1) / self.cv * (1 - _HOLDOUT)
        return max(1, math.ceil(rows / _BATCH))

    def epochs(self, n_train: int) -> tuple[int, int]:
        """``(max_iter, n_iter_no_change)`` in epochs for a training split of ``n_train`` rows."""
        spe = self.steps_per_epoch(n_train)
        max_iter = self.max_iter if self.max_steps is None else max(1, math.ceil(self.max_steps / spe))
        patience = (
            self.n_iter_no_change
            if self.patience_steps is None
            else max(MIN_PATIENCE, math.ceil(self.patience_steps / spe))
        )
        return max_iter, patience


#: bootstrap members of the quick budget (the main job), warm-started from the selected models
#: (``warm_bootstrap``) to fit the 6-minute main job; the standard (10) and ``paper`` (20)
#: budgets refit every member from a fresh initialisation.
QUICK_RESAMPLES = 8

BUDGETS = {
    # the main job: ≤ 6 minutes for the three H2O spectra on 2 CPU cores
    "quick": Budget("quick", {"emulator": 3, "ednn": 2, "nnca": 2}, cv=3, max_iter=120,
                    n_iter_no_change=10, eca_restarts=4, max_steps=2880, patience_steps=240,
                    n_resamples=QUICK_RESAMPLES, warm_bootstrap=True),
    # the acceptance run: 5-fold CV as in the paper, searches sized to fit one
    # session (about an hour for the three H2O spectra on 2 CPU cores)
    "standard": Budget("standard", {"emulator": 12, "ednn": 8, "nnca": 8}, cv=5, max_iter=300,
                       n_iter_no_change=20, eca_restarts=8, max_steps=8700, patience_steps=580,
                       n_resamples=10),
    # the paper: 20 000 candidates per model type (H2O, per spectrum), 200 000 (GeO2);
    # successive halving on; meant for a Dask cluster or a GPU
    "paper": Budget("paper", {"emulator": 20000, "ednn": 20000, "nnca": 20000}, cv=5, max_iter=1000,
                    n_iter_no_change=20, eca_restarts=16, pruning=True, max_steps=29000,
                    patience_steps=580, n_resamples=20,
                    n_iter_by_system={"geo2": {"emulator": 200000, "ednn": 200000, "nnca": 200000}}),
}

#: share of max_steps a fit runs on average before early stopping, and the work successive
#: halving (eta 3 from 10 epochs) leaves of a full search: rough planning factors
_EARLY_STOP_SHARE = 0.4
_HALVING_SHARE = 0.15


def _measure_step_seconds(n_features: int, n_outputs: int, width: int = 128, depth: int = 3,
                          members: int = 16, device: str = "cpu") -> float:
    """Seconds per optimizer step of one member of a batched group of typical networks."""
    import numpy as np
    import torch

    from ..emulator import MLPEmulator
    from ..nn._batched import BatchedMember, BatchedTrainer
    from ..nn._train import TrainConfig
    from ..selection._backend import build_module

    rng = np.random.default_rng(0)
    n = 2 * _BATCH
    X, Y = rng.standard_normal((n, n_features)), rng.standard_normal((n, n_outputs))
    est = MLPEmulator((width,) * depth, device=device)
    rows = np.arange(n)
    cfg = TrainConfig(max_iter=3, tol=0.0, n_iter_no_change=10, batch_size=_BATCH)
    mems = [BatchedMember(build_module(est, i, n_features, n_outputs), rows, cfg, i) for i in range(members)]
    trainer = BatchedTrainer(mems, X, Y, device=torch.device(device), dtype=torch.float32)
    trainer.run(1)
    t = time.perf_counter()
    trainer.run(3)
    return (time.perf_counter() - t) / (2 * 2) / members


def estimate_seconds(budget: Budget, system: str, n_train: int, n_features: int, n_outputs: int,
                     n_targets: int = 1, components=(1, 2), n_workers: int = 1, device: str = "cpu") -> float:
    """Rough wall time of a pipeline run under ``budget`` (printed before a run starts).

    Measures the per-step time of a batched group of (128, 128, 128) networks on this machine
    and multiplies by the steps of every search: candidates × folds × ``max_steps`` × the share
    a fit runs before early stopping (0.4, the mean over the quick H2O searches) × the share successive halving leaves (0.15, when
    on), for the emulator and, per rank k, EDNN and NNCA; divided by ``n_workers``. Refits,
    ECA and figures are not counted; expect ±3x.
    """
    step = _measure_step_seconds(n_features, n_outputs, device=device)
    spe = budget.steps_per_epoch(n_train)
    steps = budget.max_steps if budget.max_steps is not None else budget.max_iter * spe
    per_fit = steps * _EARLY_STOP_SHARE * (_HALVING_SHARE if budget.pruning else 1.0)
    fits = budget.search_n_iter("emulator", system) + len(tuple(components)) * (
        budget.search_n_iter("ednn", system) + budget.search_n_iter("nnca", system)
    )
    return fits * budget.cv * per_fit * step * n_targets / max(1, n_workers)


def announce(budget: Budget, system: str, data, *, n_targets: int = 1, client=None, device: str = "cpu",
             log=print) -> float:
    """Log the estimated wall time of a run before it starts (:func:`estimate_seconds`).

    For the ``paper`` budget the line also recommends a Dask cluster when none is attached.
    Returns the estimate in seconds.
    """
    n_workers = 1
    if client is not None:
        try:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        except Exception:  # an estimate only
            n_workers = 1
    n_train = int(round(0.8 * len(data)))
    n_out = data.Y.shape[1]
    sec = estimate_seconds(budget, system, n_train, data.X.shape[1], n_out, n_targets=n_targets,
                           n_workers=n_workers, device=device)
    n = {k: budget.search_n_iter(k, system) for k in ("emulator", "ednn", "nnca")}
    max_iter, patience = budget.epochs(n_train)
    hint = ""
    if budget.name == "paper" and client is None:
        hint = " Start a Dask cluster and pass --scheduler (or use --device cuda) to make this practical."
    log(f"budget {budget.name}: candidates {n}, {budget.cv}-fold CV, {max_iter} epochs max "
        f"(patience {patience}), halving {'on' if budget.pruning else 'off'}; estimated search time "
        f"{_human(sec)} on {n_workers} worker(s) of this machine (rough, ±3x).{hint}")
    return sec


def _human(sec: float) -> str:
    if sec < 120:
        return f"{sec:.0f} s"
    if sec < 7200:
        return f"{sec / 60:.0f} min"
    if sec < 3 * 86400:
        return f"{sec / 3600:.1f} h"
    return f"{sec / 86400:.1f} days"
