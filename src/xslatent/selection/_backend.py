"""Execution of (candidate, fold) trainings: grouping, batched runs, Dask fan-out.

A *task* is one candidate on one CV fold. Tasks whose networks have the same architecture
(:func:`xslatent.nn._batched.network_signature`), the same ``early_stopping``,
``batch_size``, ``dtype`` and ``device`` form a *group*; a group is trained as one
:class:`~xslatent.nn._batched.BatchedTrainer` (learning rate, L2, seed, fold rows,
``max_iter``, ``tol`` … stay per member). Everything here is importable on Dask workers.
"""

from __future__ import annotations

import math
import operator
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TRAINING_ONLY", "GroupRun", "GroupSpec", "Task", "build_module", "make_groups"]

#: memory budget of one stacked network when ``max_group_size`` is None
_GROUP_BYTES = 1 << 30
#: parameters that may differ between members of one batched group
TRAINING_ONLY = frozenset(
    {
        "alpha",
        "learning_rate_init",
        "max_iter",
        "tol",
        "n_iter_no_change",
        "validation_fraction",
        "random_state",
        "verbose",
    }
)


@dataclass
class Task:
    """One (candidate, fold) training."""

    id: int
    candidate: int
    fold: int
    params: dict
    seed: int
    key: str


@dataclass
class GroupSpec:
    """Tasks trained together, and the estimator template they are built from."""

    estimator: Any
    tasks: list = field(default_factory=list)
    batchable: bool = True
    cost: float = 0.0


def is_torch_estimator(est) -> bool:
    from .._base import TorchNetworkEstimator

    return isinstance(est, TorchNetworkEstimator)


def build_module(est, seed: int, n_features: int, n_outputs: int):
    """Initialised network of a configured torch estimator, exactly as its ``fit`` builds it
    (:meth:`~xslatent._base.TorchNetworkEstimator.build_network`)."""
    return est.build_network(n_features, n_outputs, seed)


def _arch_key(params: dict) -> str:
    from ._store import canonical_params

    return canonical_params({k: v for k, v in params.items() if k not in TRAINING_ONLY})


def make_groups(
    estimator,
    tasks: list[Task],
    n_features: int,
    n_outputs: int,
    *,
    batched: bool,
    max_group_size: int | None,
    min_groups: int = 1,
    cache: dict | None = None,
) -> list[GroupSpec]:
    """Partition tasks into groups (see module docstring), largest work first.

    ``cache``, when given, keeps each architecture's network signature between calls with the
    same ``estimator``, ``n_features`` and ``n_outputs`` (the waves of one search)."""
    from sklearn.base import clone

    from ..nn._batched import NotBatchableError, network_signature

    if not batched or not is_torch_estimator(estimator):
        groups = [GroupSpec(estimator, [t], batchable=False, cost=1.0) for t in tasks]
        return groups
    sig_cache: dict[str, Any] = {} if cache is None else cache
    by_key: dict[Any, GroupSpec] = {}
    caps: dict[Any, int] = {}
    for t in tasks:
        ak = _arch_key(t.params)
        if ak not in sig_cache:
            est = clone(estimator).set_params(**t.params)
            try:
                module = est.build_network(n_features, n_outputs, 0)
                nparams = sum(p.numel() for p in module.parameters())
                widths = sum(m.out_features for m in module.modules() if hasattr(m, "out_features"))
                sig_cache[ak] = (network_signature(module), nparams, widths, est)
            except (NotBatchableError, ValueError, TypeError):  # invalid ones fail when built
                sig_cache[ak] = (None, 0, 0, est)
        sig, nparams, widths, est = sig_cache[ak]
        if sig is None:
            by_key[("single", t.id)] = GroupSpec(estimator, [t], batchable=False, cost=1.0)
            continue
        gk = (sig, bool(est.early_stopping), str(est.batch_size), str(est.device), str(est.dtype))
        g = by_key.setdefault(gk, GroupSpec(estimator, [], batchable=True))
        g.tasks.append(t)
        g.cost += nparams * float(t.params.get("max_iter", est.max_iter))
        if gk not in caps:
            bs = 200 if est.batch_size == "auto" else int(est.batch_size)
            itemsize = 8 if est.dtype == "float64" else 4
            # parameters, gradients, Adam moments and best copy, plus one step's activations
            per_member = itemsize * (6 * nparams + 3 * bs * (widths + n_features + n_outputs))
            caps[gk] = int(max(1, min(512, _GROUP_BYTES // max(per_member, 1))))
    out: list[GroupSpec] = []
    for gk, g in by_key.items():
        cap = max_group_size or caps.get(gk) or len(g.tasks)
        for start in range(0, len(g.tasks), cap):
            part = g.tasks[start : start + cap]
            out.append(GroupSpec(g.estimator, part, g.batchable, g.cost * len(part) / len(g.tasks)))
    # split the largest groups until there is enough parallelism
    while len(out) < min_groups:
        out.sort(key=lambda g: -len(g.tasks))
        g = out[0]
        if len(g.tasks) < 2:
            break
        half = len(g.tasks) // 2
        out[0:1] = [
            GroupSpec(g.estimator, g.tasks[:half], g.batchable, g.cost / 2),
            GroupSpec(g.estimator, g.tasks[half:], g.batchable, g.cost / 2),
        ]
    out.sort(key=lambda g: -g.cost)
    return out


def _result(
    task: Task,
    status: str,
    score=math.nan,
    n_iter=0,
    best_epoch=0,
    converged=False,
    fit_time=0.0,
    error=None,
):
    return {
        "task": task.id,
        "status": status,
        "score": float(score),
        "n_iter": int(n_iter),
        "best_epoch": int(best_epoch),
        "converged": bool(converged),
        "fit_time": float(fit_time),
        "error": error,
    }


class GroupRun:
    """A group being trained; survives between successive-halving rungs.

    Parameters
    ----------
    spec : GroupSpec
    X, Y : ndarray
        The search's training data.
    folds : list of (train, test) index arrays
    batched : bool
        Stack members in a :class:`BatchedTrainer`; otherwise train each with
        ``train_module`` (or, when pausing at rungs is needed, a one-member trainer).
    on_result : callable, optional
        Called with each result dict as soon as a task finishes.
    """

    def __init__(
        self, spec: GroupSpec, X, Y, folds, *, batched: bool, on_result: Callable | None = None
    ):
        from sklearn.base import clone

        from ..exceptions import InvalidParameterError

        self.spec, self.X, self.Y, self.folds = spec, X, Y, folds
        self.on_result = on_result
        self.batched = batched and spec.batchable
        self.torch = is_torch_estimator(spec.estimator)
        self.pending: list[Task] = []
        self.failed: list[dict] = []
        self.trainers: list = []
        self.members: dict[int, Any] = {}
        self._by_id = {t.id: t for t in spec.tasks}
        modules: dict[int, Any] = {}
        for t in spec.tasks:
            est = clone(spec.estimator).set_params(**t.params, random_state=int(t.seed))
            if not self.torch:
                self.pending.append(t)
                continue
            tr = folds[t.fold][0]
            try:
                # folds of one candidate share its seed, hence its initial network: built once
                setup = est.prepare_training(X[tr], Y[tr], build=t.candidate not in modules)
            except (InvalidParameterError, ValueError, TypeError) as exc:
                self.failed.append(_result(t, "failed", error=f"{type(exc).__name__}: {exc}"))
                continue
            from ..nn._batched import BatchedMember

            module = modules.setdefault(t.candidate, setup.module)
            member = BatchedMember(
                module, tr, setup.config, setup.seed, folds[t.fold][1], tag=t.id
            )
            self.members[t.id] = (member, est)
            self.pending.append(t)

    # -- helpers ---------------------------------------------------------------------------
    def _emit(self, results: list[dict]) -> list[dict]:
        if self.on_result is not None:
            for r in results:
                self.on_result(r)
        return results

    def _ensure_trainers(self, pausable: bool) -> None:
        if self.trainers or not self.pending or not self.torch:
            return
        if not (self.batched or pausable):
            return
        from ..nn._batched import BatchedTrainer, NotBatchableError

        mems = [self.members[t.id][0] for t in self.pending]
        est = self.members[self.pending[0].id][1]
        dev, dt = self._device_dtype(est)
        groups = [mems] if self.batched else [[m] for m in mems]
        try:
            self.trainers = [
                BatchedTrainer(g, self.X, self.Y, device=dev, dtype=dt) for g in groups
            ]
        except NotBatchableError:
            if pausable:
                raise
            self.batched = False
            self.trainers = []

    @staticmethod
    def _device_dtype(est):
        from .._validation import resolve_device
        from ..nn._train import DTYPES

        return resolve_device(est.device), DTYPES[est.dtype]

    def _outcome_result(self, o) -> dict:
        t = self._by_id[o.tag]
        r = o.result
        return _result(
            t, o.status, o.eval_score, r.n_iter, r.best_epoch, r.converged, o.fit_time, o.error
        )

    # -- public ----------------------------------------------------------------------------
    def advance(self, until_epoch: int | None = None) -> list[dict]:
        """Train until ``until_epoch`` epochs (None: to the end); results of finished tasks."""
        out = self._emit(self.failed)
        self.failed = []
        if not self.pending:
            return out
        if not self.torch:
            out += self._emit([self._fit_generic(t) for t in self.pending])
            self.pending = []
            return out
        self._ensure_trainers(pausable=until_epoch is not None)
        if self.trainers:
            for tr in self.trainers:
                for o in tr.run(until_epoch):
                    out += self._emit([self._outcome_result(o)])
            alive = {s.tag for tr in self.trainers for s in tr.slots}
            self.pending = [t for t in self.pending if t.id in alive]
            self.trainers = [tr for tr in self.trainers if tr.n_alive]
            return out
        from ..nn._batched import train_unbatched

        for t in self.pending:
            member, est = self.members[t.id]
            dev, dt = self._device_dtype(est)
            o = train_unbatched(member, self.X, self.Y, device=dev, dtype=dt)
            o.tag = t.id
            out += self._emit([self._outcome_result(o)])
        self.pending = []
        return out

    def scores(self) -> dict[int, float]:
        """Current fold score of every running task (at its best weights so far)."""
        out = {}
        for tr in self.trainers:
            cur = dict(tr.current_scores())
            for s in tr.slots:
                out[s.tag] = cur.get(s.index, math.nan)
        return out

    def prune(self, task_ids) -> list[dict]:
        """Stop these running tasks (status 'pruned', score at the rung)."""
        ids = set(task_ids)
        out = []
        for tr in self.trainers:
            idx = [s.index for s in tr.slots if s.tag in ids]
            if idx:
                out += [self._outcome_result(o) for o in tr.prune(idx)]
        self.pending = [t for t in self.pending if t.id not in ids]
        self.trainers = [tr for tr in self.trainers if tr.n_alive]
        return self._emit(out)

    def _fit_generic(self, t: Task) -> dict:
        """Any scikit-learn estimator: clone, set parameters and seed, fit, score the fold."""
        from sklearn.base import clone

        from ..metrics import covered_variance

        est = clone(self.spec.estimator)
        params = dict(t.params)
        if "random_state" in est.get_params(deep=False):
            params["random_state"] = int(t.seed)
        tr, te = self.folds[t.fold]
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.set_params(**params).fit(self.X[tr], self.Y[tr])
            fit_time = time.perf_counter() - t0
            pred = np.asarray(est.predict(self.X[te]), dtype=np.float64).reshape(len(te), -1)
            y_te = np.asarray(self.Y[te], dtype=np.float64).reshape(len(te), -1)
            score = covered_variance(y_te, pred, "nan")
        except Exception as exc:  # error_score=nan semantics, as scikit-learn's searches
            return _result(
                t, "failed", fit_time=time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"
            )
        return _result(t, "ok", score, int(getattr(est, "n_iter_", 0) or 0), fit_time=fit_time)


# --------------------------------------------------------------------------- Dask side
_WORKER_READY = False


def _set_worker_threads() -> None:
    """Once per worker process: torch threads = the worker's threads, and undo the malloc
    tuning of Dask's nanny.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which pins glibc's mmap
    threshold: every tensor above 128 KiB is then a fresh ``mmap`` with page faults, and
    element-wise torch ops run ~10x slower. A fixed 32 MiB mmap threshold and a 256 MiB trim
    threshold restore in-process speed while still returning memory to the system.
    """
    global _WORKER_READY
    if _WORKER_READY:
        return
    try:
        from distributed import get_worker

        n = get_worker().state.nthreads
    except Exception:  # not on a worker
        return
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    from ..nn._train import prime_thread_pool

    prime_thread_pool()
    import os
    import sys

    if sys.platform.startswith("linux") and "MALLOC_TRIM_THRESHOLD_" in os.environ:
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
            libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        except (OSError, AttributeError):
            pass
    _WORKER_READY = True


def dask_run_group(spec: GroupSpec, X, Y, folds, batched: bool) -> list[dict]:
    """Worker task: train a whole group, return its results."""
    _set_worker_threads()
    return GroupRun(spec, X, Y, folds, batched=batched).advance(None)


def dask_start_group(spec: GroupSpec, X, Y, folds, batched: bool) -> GroupRun:
    _set_worker_threads()
    return GroupRun(spec, X, Y, folds, batched=batched)


def dask_advance(run: GroupRun, until_epoch) -> tuple:
    """Worker task: advance a live group to a rung; returns (run, results, scores)."""
    _set_worker_threads()
    results = run.advance(until_epoch)
    return run, results, run.scores()


def dask_prune(run: GroupRun, task_ids) -> tuple:
    results = run.prune(task_ids)
    return run, results, {}


getitem = operator.getitem
