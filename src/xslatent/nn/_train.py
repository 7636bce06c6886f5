"""One trainer for every network of the package (emulator, EDNN, NNCA).

Objective and stopping follow :class:`sklearn.neural_network.MLPRegressor` so that ``alpha``,
``tol`` and ``n_iter_no_change`` mean the same thing:

* minibatch loss ``0.5 * mean((y - f(x))**2) + 0.5 * alpha * sum(||W||**2) / batch_size``
  over the weights (not biases) of plain linear layers;
* Adam with ``learning_rate_init`` (betas 0.9/0.999, eps 1e-8);
* without early stopping: stop when the epoch-mean training loss has not decreased by at least
  ``tol`` for ``n_iter_no_change`` consecutive epochs;
* with early stopping: hold out ``validation_fraction`` of the rows, score the generalized R2
  on them after every epoch, stop when it has not increased by at least ``tol`` for
  ``n_iter_no_change`` epochs, and restore the best weights.

Random protocol (reproduced exactly by the batched search): ``rng = np.random.default_rng(seed)``
draws, in order, the validation split (``rng.permutation(n)``; the last
``max(1, round(validation_fraction * n))`` rows of it are held out) and then one
``rng.permutation(n_train)`` per epoch for minibatch order.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..exceptions import ConvergenceWarning
from ..metrics import r2_score_torch
from ._modules import linear_weights

__all__ = [
    "StoppingRule",
    "TrainConfig",
    "TrainResult",
    "divergence_message",
    "fit_threads_to_idle_cores",
    "flush_denormals",
    "prime_thread_pool",
    "resolve_batch_size",
    "split_validation",
    "threads_for_idle_cores",
    "train_module",
]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _flushing() -> bool:
    """Whether the CPU flushes subnormal floats to zero in this thread."""
    tiny = torch.tensor(1e-30, dtype=torch.float32) * torch.tensor(1e-10, dtype=torch.float32)
    return float(tiny) == 0.0


def prime_thread_pool() -> bool:
    """Start torch's intra-op thread pool with subnormals flushed to zero in its threads.

    The flush mode is a per-thread CPU flag; ``torch.set_flush_denormal`` (and
    :func:`flush_denormals`) set it in the calling thread only, and a thread inherits it from
    the thread that creates it. Torch creates its OpenMP worker threads at its first parallel
    operation, so calling this before any other torch work makes every intra-op thread flush
    subnormals for the life of the process (the calling thread's own mode is restored).
    Without it, stacked training (bootstrap ensembles, the model search) on 2+ threads ran
    4x slower on 2 cores. The command-line tool and its Dask workers call it at start-up; call
    it yourself first thing in a script to get the same speed. A no-op where the pool already
    runs.

    Returns
    -------
    bool
        Whether the pool was started here (False: it already existed, or one thread).
    """
    import os

    if torch.get_num_threads() < 2:
        return False
    tasks = "/proc/self/task"
    before = len(os.listdir(tasks)) if os.path.isdir(tasks) else None
    with _flush_denormals_ctx():
        x = torch.ones(1 << 18)
        x.mul_(2.0)  # large enough for an intra-op parallel region
    return before is not None and len(os.listdir(tasks)) > before


def threads_for_idle_cores(current: int, n_cpus: int, busy_cores: float) -> int:
    """Threads to use when other processes keep ``busy_cores`` of ``n_cpus`` cores busy.

    Parameters
    ----------
    current : int
        The thread count now (never exceeded).
    n_cpus : int
        Cores of the machine.
    busy_cores : float
        Cores' worth of CPU time other processes use.

    Returns
    -------
    int
        The idle cores, rounded to the nearest whole core, at least 1 and at most ``current``.
    """
    return max(1, min(int(current), int(n_cpus - busy_cores + 0.5)))


def _cgroup_quotas() -> list[float]:
    """CPU quotas (in cores) of this process's cgroup and its ancestors (v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), from ``/proc/self/cgroup``."""
    import posixpath

    try:
        with open("/proc/self/cgroup") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    places = []  # (directory of the hierarchy, path in it, v2?)
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, path = parts
        if hid == "0" and controllers == "":
            places.append(("/sys/fs/cgroup", path, True))
        elif "cpu" in controllers.split(","):
            for root in (f"/sys/fs/cgroup/{controllers}", "/sys/fs/cgroup/cpu"):
                places.append((root, path, False))
    if not places:
        places = [("/sys/fs/cgroup", "/", True), ("/sys/fs/cgroup/cpu", "/", False)]
    quotas = []
    for root, path, v2 in places:
        while True:
            d = posixpath.join(root, path.lstrip("/"))
            try:
                if v2:
                    with open(posixpath.join(d, "cpu.max")) as fh:
                        quota, period = fh.read().split()[:2]
                else:
                    with open(posixpath.join(d, "cpu.cfs_quota_us")) as fh:
                        quota = fh.read().strip()
                    with open(posixpath.join(d, "cpu.cfs_period_us")) as fh:
                        period = fh.read().strip()
                if quota not in ("max", "-1") and float(period) > 0:
                    quotas.append(float(quota) / float(period))
            except (OSError, ValueError):
                pass
            if path in ("", "/"):
                break
            path = posixpath.dirname(path.rstrip("/")) or "/"
    return quotas


def _cpu_limit() -> int | None:
    """Cores this process may use: its CPU affinity and the CPU quotas of its cgroup and the
    cgroup's ancestors, rounded up; None where neither is known."""
    import math
    import os

    limits = [max(1, math.ceil(q)) for q in _cgroup_quotas()]
    if hasattr(os, "sched_getaffinity"):
        limits.append(len(os.sched_getaffinity(0)))
    return min(limits) if limits else None


def _cpu_times():
    with open("/proc/stat") as fh:
        vals = [float(v) for v in fh.readline().split()[1:9]]  # guest time is already in user
    return sum(vals), vals[3] + (vals[4] if len(vals) > 4 else 0.0)  # total, idle + iowait


def fit_threads_to_idle_cores(sample_seconds: float = 0.25, log=None) -> int | None:
    """Lower torch's thread count to the cores that other processes leave idle.

    Torch's OpenMP threads spin while they wait for each other: with one of 2 cores busy
    with another process, a 2-thread stacked training ran 31x slower (7.56 against 0.24 s
    per epoch of ten (256, 256, 256) networks) than on an idle machine, and 1 thread ran at
    0.40 s. This measures how busy the machine's CPUs are over ``sample_seconds`` while this
    process waits (``/proc/stat``; Linux only) and sets :func:`torch.set_num_threads` to
    :func:`threads_for_idle_cores`. It first lowers the count to the cores this process may use
    at all (its CPU affinity and cgroup CPU quota, as in a container or a batch-system job:
    torch counts the host's cores). The command line calls it at the start of every training
    command. Nothing changes when ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set (the user
    chose) or on one thread; where ``/proc/stat`` is missing only the CPU limit applies. The
    busy time is the whole machine's (``/proc/stat``), also for cores outside the affinity.

    Parameters
    ----------
    sample_seconds : float, default=0.25
        Length of the measurement.
    log : callable, optional
        Receives one line for each reason the thread count is lowered (the CPU limit, then
        the busy cores).

    Returns
    -------
    int or None
        The new thread count, or None when it was left as it was.
    """
    import os
    import time

    start = current = torch.get_num_threads()
    if current < 2 or os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return None

    def lower(new, why):
        torch.set_num_threads(new)
        if log is not None:
            log(f"{why}: training on {new} thread{'s' if new > 1 else ''} instead of {current} "
                f"(set OMP_NUM_THREADS to choose)")
        return new

    limit = _cpu_limit()
    if limit is not None and limit < current:
        current = lower(limit, f"this process may use {limit} CPU core{'s' if limit > 1 else ''} "
                               "(affinity / cgroup quota)")
    if current >= 2:
        try:
            t0, i0 = _cpu_times()
            time.sleep(sample_seconds)
            t1, i1 = _cpu_times()
        except (OSError, ValueError, IndexError):
            t0 = t1 = 0.0
        n_cpus = os.cpu_count() or current
        if t1 > t0:
            busy = n_cpus * (1.0 - (i1 - i0) / (t1 - t0))
            new = threads_for_idle_cores(current, n_cpus, busy)
            if new < current:
                current = lower(new, f"about {busy:.1f} of {n_cpus} CPU cores are busy with other processes")
    return current if current < start else None


@contextlib.contextmanager
def _flush_denormals_ctx():
    before = _flushing()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


def flush_denormals(func):
    """Decorator: run ``func`` with subnormal floats flushed to zero on the CPU.

    The gradients and Adam first moments of weights feeding nearly dead units drift into the
    subnormal range (below 1.2e-38 in float32) during long fits (12 % of an EDNN's entries
    after 60 epochs), and x86 CPUs compute on subnormals up to a hundred times slower: an
    82-epoch EDNN fit on 2 cores ran 4.2x slower without flushing, with the same result. The mode is a per-thread flag: this
    sets it in the calling thread; torch's intra-op threads get it from
    :func:`prime_thread_pool`. Every optimisation loop of the package
    (:func:`train_module`, the batched trainer, :func:`~xslatent.nn._multistart.multistart_adam`,
    the NNCA rank rotation) runs under this decorator; the caller's flush mode is restored
    afterwards (``torch.set_flush_denormal``; a no-op on GPUs and on CPUs without the mode).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _flush_denormals_ctx():
            return func(*args, **kwargs)

    return wrapper


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train_module` (see module docstring for their meaning)."""

    alpha: float = 1e-4
    learning_rate_init: float = 1e-3
    batch_size: int | str = "auto"
    max_iter: int = 200
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4


@dataclass
class TrainResult:
    loss_curve: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    n_iter: int = 0
    best_epoch: int = 0
    converged: bool = False


def resolve_batch_size(batch_size, n_samples: int) -> int:
    """``"auto"`` → ``min(200, n_samples)``; an int is clipped to ``n_samples``."""
    if batch_size == "auto":
        return min(200, n_samples)
    return max(1, min(int(batch_size), n_samples))


def split_validation(rng: np.random.Generator, n: int, fraction: float):
    """Indices (train, validation) of the early-stopping split, per the module's protocol."""
    perm = rng.permutation(n)
    n_val = max(1, int(round(fraction * n)))
    if n - n_val < 1:
        raise ValueError(
            f"The 'validation_fraction' parameter leaves no training rows: {n} samples, "
            f"{n_val} held out."
        )
    return np.sort(perm[: n - n_val]), np.sort(perm[n - n_val :])


@dataclass
class StoppingRule:
    """The stopping rule of the module docstring, one epoch at a time, for one network.

    Used by :func:`train_module` and, per member, by the batched trainer, so both stop at
    the same epoch. It also keeps the network's :class:`TrainResult`.

    Parameters
    ----------
    config : TrainConfig
        Supplies ``tol``, ``n_iter_no_change`` and ``max_iter``.
    result : TrainResult, optional
        Where the learning history is recorded (a new one by default).
    """

    config: TrainConfig
    result: TrainResult = field(default_factory=TrainResult)
    best_loss: float = math.inf
    best_score: float = -math.inf
    no_improve: int = 0

    def update(self, epoch: int, loss: float, score: float | None = None) -> bool:
        """Record epoch ``epoch`` (1-based) with its mean training loss and, under early
        stopping, its validation score.

        Returns
        -------
        bool
            Whether the validation score is a new best (the weights to restore at the end);
            without a score, whether the training loss is a new best.
        """
        cfg, res = self.config, self.result
        res.loss_curve.append(loss)
        res.n_iter = epoch
        if score is not None:
            res.validation_scores.append(score)
            improved = score > self.best_score
            if improved:
                res.best_epoch = epoch
            if score < self.best_score + cfg.tol:
                self.no_improve += 1
            else:
                self.no_improve = 0
            self.best_score = max(self.best_score, score)
        else:
            if loss > self.best_loss - cfg.tol:
                self.no_improve += 1
            else:
                self.no_improve = 0
            improved = loss < self.best_loss
            if improved:
                self.best_loss = loss
                res.best_epoch = epoch
        if self.no_improve >= cfg.n_iter_no_change:
            res.converged = True
        return improved

    @property
    def done(self) -> bool:
        """Converged, or ``max_iter`` epochs recorded."""
        return self.result.converged or self.result.n_iter >= self.config.max_iter


def divergence_message(epoch: int, loss: float, config: TrainConfig) -> str:
    """The error of a network whose epoch loss is not finite."""
    return (
        f"Training diverged at epoch {epoch} (loss {loss}); lower 'learning_rate_init' "
        f"(now {config.learning_rate_init})."
    )


@flush_denormals
def train_module(
    module: nn.Module,
    X: np.ndarray,
    Y: np.ndarray,
    config: TrainConfig,
    *,
    seed: int,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
    desc: str = "training",
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> TrainResult:
    """Train ``module`` in place to map ``X`` to ``Y``; return the learning history.

    ``module`` must already be initialised and on ``device`` with ``dtype``. With
    ``config.early_stopping``, ``validation = (X_val, Y_val)`` is the early-stopping set and
    every row of ``X`` is trained on (e.g. a bootstrap member's out-of-bag rows); by default a
    ``validation_fraction`` of ``X`` is held out.
    """
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    tr_idx, val = np.arange(n), None
    if config.early_stopping and validation is not None:
        val = validation
    elif config.early_stopping:
        tr_idx, va_idx = split_validation(rng, n, config.validation_fraction)
        val = (X[va_idx], Y[va_idx])
    Xt = torch.as_tensor(X[tr_idx], dtype=dtype, device=device)
    Yt = torch.as_tensor(Y[tr_idx], dtype=dtype, device=device)
    if val is not None:
        Xv, Yv = (torch.as_tensor(a, dtype=dtype, device=device) for a in val)
    n_train = Xt.shape[0]
    bs = resolve_batch_size(config.batch_size, n_train)
    weights = linear_weights(module)
    opt = torch.optim.Adam(module.parameters(), lr=config.learning_rate_init, betas=(0.9, 0.999), eps=1e-8)
    stopping = StoppingRule(config)
    result = stopping.result
    best_state = None

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.max_iter, desc=desc, leave=False)
    module.train()
    try:
        for epoch in range(config.max_iter):
            perm = torch.as_tensor(rng.permutation(n_train), device=device)
            total = 0.0
            for start in range(0, n_train, bs):
                idx = perm[start : start + bs]
                xb, yb = Xt[idx], Yt[idx]
                opt.zero_grad(set_to_none=True)
                pred = module(xb)
                loss = 0.5 * torch.mean((pred - yb) ** 2)
                if config.alpha > 0:
                    l2 = sum(torch.sum(w * w) for w in weights)
                    loss = loss + 0.5 * config.alpha * l2 / xb.shape[0]
                loss.backward()
                opt.step()
                total += float(loss.detach()) * xb.shape[0]
            epoch_loss = total / n_train
            if not math.isfinite(epoch_loss):
                raise FloatingPointError(divergence_message(epoch + 1, epoch_loss, config))
            score = None
            if val is not None:
                module.eval()
                with torch.no_grad():
                    score = float(r2_score_torch(Yv, module(Xv), constant_target="residual"))
                module.train()
            if stopping.update(epoch + 1, epoch_loss, score) and val is not None:
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{epoch_loss:.3g}")
            if result.converged:
                break
    finally:
        if bar is not None:
            bar.close()
    opt.zero_grad(set_to_none=True)  # leave no stale gradients on the trained weights
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    if not result.converged:
        warnings.warn(
            f"{desc}: stopped at max_iter={config.max_iter} before the loss changed by less "
            f"than tol={config.tol} for n_iter_no_change={config.n_iter_no_change} epochs.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return result
