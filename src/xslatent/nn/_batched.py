"""Train many networks of one shape at once, as one stacked network.

A *member* is one network (its initial weights), the rows of ``X``/``Y`` it trains on, its
:class:`~xslatent.nn._train.TrainConfig` and its seed. :class:`BatchedTrainer` stacks the
parameters of ``G`` members of identical architecture into ``(G, in, out)`` tensors and
trains them together with ``torch.baddbmm``/``torch.bmm``: one forward and one backward pass
per step serve every member (:class:`~xslatent.nn._stacked.StackedNetwork`). Each member
keeps exactly the protocol of :func:`~xslatent.nn._train.train_module` (see its module
docstring):

* its own ``np.random.default_rng(seed)`` draws its validation split and, every epoch, its
  minibatch order over its own rows;
* its own learning rate, L2 strength, batch size, ``max_iter``, ``tol`` and
  ``n_iter_no_change``;
* its own stopping rule (:class:`~xslatent.nn._train.StoppingRule`, the one
  ``train_module`` uses);
* Adam in batched form (:meth:`StackedNetwork.adam_step`) with a step counter per member,
  so a member without a minibatch in a step (its rows ran out) is not touched at all;
* a member that stops (converged, ``max_iter``, diverged, pruned) leaves the stack at the end
  of the epoch: its state is frozen and the remaining members are compacted.

Results equal those of ``train_module`` on the same member up to floating-point rounding
(the summation order of a few reductions differs); in float64 they agree to ~1e-12.

Supported architectures are those :mod:`xslatent.nn._stacked` compiles; anything else
raises :class:`NotBatchableError`, and callers then train the member alone with
``train_module`` (:func:`train_unbatched`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..metrics import covered_variance
from ._stacked import (
    NotBatchableError,
    StackedNetwork,
    batchable_description,
    network_signature,
)
from ._train import (
    StoppingRule,
    TrainConfig,
    TrainResult,
    divergence_message,
    flush_denormals,
    resolve_batch_size,
    split_validation,
    train_module,
)

__all__ = [
    "BatchedMember",
    "BatchedTrainer",
    "MemberOutcome",
    "NotBatchableError",
    "network_signature",
    "score_rows",
    "train_unbatched",
]

#: rows per evaluation pass (bounds memory of validation / CV scoring)
_EVAL_CHUNK = 4096


@dataclass
class BatchedMember:
    """One network to train.

    Attributes
    ----------
    module : torch.nn.Module
        Initialised network on the trainer's device and dtype; it is read, never modified.
    train_rows : ndarray of int
        Rows of the trainer's ``X``/``Y`` the member trains on (``train_module``'s data).
    config : TrainConfig
    seed : int
        Seed of the member's validation split and minibatch order.
    eval_rows : ndarray of int or None
        Rows scored (generalized R2) once training ends, e.g. a CV validation fold.
    tag : object
        Returned unchanged in the member's :class:`MemberOutcome`.
    validation_rows : ndarray of int or None
        With early stopping: the early-stopping rows (``train_module``'s ``validation``), and
        every one of ``train_rows`` is trained on; None holds out a ``validation_fraction``
        of ``train_rows`` as ``train_module`` does.
    """

    module: nn.Module
    train_rows: np.ndarray
    config: TrainConfig
    seed: int
    eval_rows: np.ndarray | None = None
    tag: Any = None
    validation_rows: np.ndarray | None = None


@dataclass
class MemberOutcome:
    """What became of one member.

    ``status`` is ``"ok"`` (trained to a stopping rule or ``max_iter``), ``"failed"``
    (diverged; ``error`` says why) or ``"pruned"`` (stopped early by the caller).
    ``eval_score`` is the generalized R2 on ``eval_rows`` (nan if failed or no rows).
    ``fit_time`` is the member's share of the wall time of the stacked steps it took part in.
    """

    index: int
    tag: Any
    status: str
    result: TrainResult
    eval_score: float = math.nan
    error: str | None = None
    fit_time: float = 0.0
    state: dict | None = field(default=None, repr=False)


def score_rows(module: nn.Module, X: np.ndarray, Y: np.ndarray, rows, *, device, dtype) -> float:
    """Generalized R2 of ``module`` on ``X[rows]`` (predictions in ``dtype``, score in float64)."""
    rows = np.asarray(rows)
    outs = []
    with torch.no_grad():
        for s in range(0, rows.shape[0], _EVAL_CHUNK):
            xb = torch.as_tensor(X[rows[s : s + _EVAL_CHUNK]], dtype=dtype, device=device)
            outs.append(module(xb).cpu().double().numpy())
    return covered_variance(np.asarray(Y[rows], dtype=np.float64), np.concatenate(outs), "nan")


# --------------------------------------------------------------------------- unbatched
def train_unbatched(
    member: BatchedMember, X: np.ndarray, Y: np.ndarray, *, device, dtype, keep_state=False
):
    """Train one member with :func:`train_module` (the reference the batched trainer matches)."""
    import warnings

    from ..exceptions import ConvergenceWarning

    module = copy.deepcopy(member.module)
    rows = np.asarray(member.train_rows)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = train_module(
                module,
                X[rows],
                Y[rows],
                member.config,
                seed=member.seed,
                device=device,
                dtype=dtype,
                validation=None if member.validation_rows is None
                else (X[member.validation_rows], Y[member.validation_rows]),
            )
    except FloatingPointError as exc:
        return MemberOutcome(
            0,
            member.tag,
            "failed",
            TrainResult(),
            error=str(exc),
            fit_time=time.perf_counter() - t0,
        )
    fit_time = time.perf_counter() - t0
    score = math.nan
    if member.eval_rows is not None and len(member.eval_rows):
        score = score_rows(module, X, Y, member.eval_rows, device=device, dtype=dtype)
    state = {k: v.detach().clone() for k, v in module.state_dict().items()} if keep_state else None
    return MemberOutcome(
        0, member.tag, "ok", result, eval_score=score, fit_time=fit_time, state=state
    )


# --------------------------------------------------------------------------- batched
class _Slot:
    """Per-member bookkeeping (host side)."""

    __slots__ = (
        "bs",
        "config",
        "eval_rows",
        "fit_time",
        "index",
        "result",
        "rng",
        "state",
        "stopping",
        "tag",
        "tr_rows",
        "va_rows",
    )


class BatchedTrainer:
    """Train ``G`` members of one architecture simultaneously (see module docstring).

    Parameters
    ----------
    members : sequence of BatchedMember
        Members with equal :func:`network_signature` and equal ``config.early_stopping``.
    X, Y : ndarray
        Shared data; members address it through their row indices.
    device : torch.device
    dtype : torch.dtype
    keep_states : bool, default=False
        Keep each finished member's final ``state_dict`` (in its module's naming) in its
        :class:`MemberOutcome`.
    on_finish : callable, optional
        Called with each :class:`MemberOutcome` as soon as the member stops.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from xslatent.nn._modules import init_linear_layers, make_mlp
    >>> from xslatent.nn._train import TrainConfig
    >>> X = np.random.default_rng(0).normal(size=(60, 3)); Y = np.sin(X)
    >>> def net(seed):
    ...     m = make_mlp(3, (8,), 3)
    ...     init_linear_layers(m, torch.Generator().manual_seed(seed))
    ...     return m
    >>> members = [BatchedMember(net(s), np.arange(40), TrainConfig(learning_rate_init=lr, max_iter=5),
    ...                          seed=s, eval_rows=np.arange(40, 60)) for s, lr in [(0, 1e-3), (1, 1e-2)]]
    >>> outcomes = BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float32).run()
    >>> [o.result.n_iter for o in outcomes]
    [5, 5]
    """

    def __init__(
        self,
        members: Sequence[BatchedMember],
        X: np.ndarray,
        Y: np.ndarray,
        *,
        device,
        dtype,
        keep_states: bool = False,
        on_finish: Callable[[MemberOutcome], None] | None = None,
    ):
        if not members:
            raise ValueError("BatchedTrainer needs at least one member.")
        self.device = torch.device(device)
        self.dtype = dtype
        self.keep_states = keep_states
        self.on_finish = on_finish
        sigs = {network_signature(m.module) for m in members}
        if len(sigs) != 1:
            raise ValueError("All members of a BatchedTrainer must share one network signature.")
        early = {bool(m.config.early_stopping) for m in members}
        if len(early) != 1:
            raise ValueError("All members of a BatchedTrainer must share config.early_stopping.")
        self.early_stopping = early.pop()
        self.X = torch.as_tensor(np.asarray(X), dtype=dtype, device=self.device)
        self.Y = torch.as_tensor(np.asarray(Y), dtype=dtype, device=self.device)
        self._Ynp = np.asarray(Y, dtype=np.float64)
        self.n_outputs = self.Y.shape[1]
        self.epoch = 0
        self.outcomes: list[MemberOutcome] = []

        # host-side protocol: the same draws, in the same order, as train_module
        self.slots: list[_Slot] = []
        for i, m in enumerate(members):
            s = _Slot()
            s.index, s.tag, s.config = i, m.tag, m.config
            rows = np.asarray(m.train_rows, dtype=np.int64)
            s.rng = np.random.default_rng(m.seed)
            if self.early_stopping and m.validation_rows is not None:
                s.tr_rows, s.va_rows = rows, np.asarray(m.validation_rows, dtype=np.int64)
            elif self.early_stopping:
                tr, va = split_validation(s.rng, rows.shape[0], m.config.validation_fraction)
                s.tr_rows, s.va_rows = rows[tr], rows[va]
            else:
                s.tr_rows, s.va_rows = rows, None
            s.eval_rows = None if m.eval_rows is None else np.asarray(m.eval_rows, dtype=np.int64)
            s.bs = resolve_batch_size(m.config.batch_size, s.tr_rows.shape[0])
            s.stopping = StoppingRule(m.config)
            s.result = s.stopping.result
            s.fit_time = 0.0
            self.slots.append(s)

        self.net = StackedNetwork(
            batchable_description(members[0].module),
            [m.module.state_dict() for m in members],
            device=self.device,
            dtype=dtype,
            keep_best=self.early_stopping,
        )
        self._refresh_member_arrays()

    # -- parameter bookkeeping -------------------------------------------------------------
    def _refresh_member_arrays(self) -> None:
        cfg = [s.config for s in self.slots]
        self._lr = np.array([c.learning_rate_init for c in cfg], dtype=np.float64)
        self._alpha = torch.tensor([c.alpha for c in cfg], dtype=self.dtype, device=self.device)
        self._any_alpha = any(c.alpha > 0 for c in cfg)
        self._consts: dict = {}  # see _step_constants

    @property
    def n_alive(self) -> int:
        return len(self.slots)

    def _predict_rows(
        self, params, rows_list: list[np.ndarray], members: list[int]
    ) -> list[np.ndarray]:
        """Predictions (float64 numpy) of the given stack members on their own rows."""
        if not members:
            return []
        nmax = max(len(r) for r in rows_list)
        preds = [np.empty((len(r), self.n_outputs)) for r in rows_list]
        # every member in stack order: the parameters as they are, no gather
        whole = list(members) == list(range(len(self.slots)))
        sel = None if whole else torch.as_tensor(members, device=self.device)
        with torch.no_grad():
            for s in range(0, nmax, _EVAL_CHUNK):
                e = min(nmax, s + _EVAL_CHUNK)
                idx = np.zeros((len(members), e - s), dtype=np.int64)
                for j, r in enumerate(rows_list):
                    part = r[s:e]
                    idx[j, : len(part)] = part
                xb = self.X[torch.as_tensor(idx, device=self.device)]
                out = self.net.forward(params, xb, sel).cpu().double().numpy()
                for j, r in enumerate(rows_list):
                    n = max(0, min(e, len(r)) - s)
                    preds[j][s : s + n] = out[j, :n]
        return preds

    def _scores(self, params, rows_list, members) -> list[float]:
        preds = self._predict_rows(params, rows_list, members)
        return [covered_variance(self._Ynp[r], p, "nan") for r, p in zip(rows_list, preds)]

    def _epoch_batches(self):
        """Per-step (row index matrix, row counts) for one epoch; draws each member's order."""
        slots = self.slots
        orders = [s.tr_rows[s.rng.permutation(s.tr_rows.shape[0])] for s in slots]
        ntr = np.array([o.shape[0] for o in orders])
        bs = np.array([s.bs for s in slots])
        if np.all(ntr == ntr[0]) and np.all(bs == bs[0]):
            full = torch.as_tensor(np.stack(orders), device=self.device)
            n, b = int(ntr[0]), int(bs[0])
            for start in range(0, n, b):
                stop = min(n, start + b)
                yield full[:, start:stop], None, np.full(len(slots), stop - start)
            return
        nsteps = -(-ntr // bs)
        for step in range(int(nsteps.max())):
            cnt = np.clip(ntr - step * bs, 0, bs)
            width = int(cnt.max())
            idx = np.zeros((len(slots), width), dtype=np.int64)
            mask = np.zeros((len(slots), width), dtype=bool)
            for j, o in enumerate(orders):
                c = int(cnt[j])
                if c:
                    idx[j, :c] = o[step * bs[j] : step * bs[j] + c]
                    mask[j, :c] = True
            yield (
                torch.as_tensor(idx, device=self.device),
                torch.as_tensor(mask, device=self.device),
                cnt,
            )

    def _step_constants(self, cnt: np.ndarray, uniform: bool):
        """Per-member tensors of a step with ``cnt`` rows per member: the loss denominator
        ``cnt * n_outputs`` (shape ``(G,)``) and the L2 strength over the rows (``alpha /
        cnt``, the weight decay of the Adam step; None without L2). A member without rows
        counts 1. When every member has the same count (``uniform``) they are cached per count
        until the stack changes."""
        key = int(cnt[0]) if uniform else None
        got = self._consts.get(key) if uniform else None
        if got is None:
            cnt_t = torch.as_tensor(np.maximum(cnt, 1), dtype=self.dtype, device=self.device)
            got = (cnt_t * self.n_outputs, self._alpha / cnt_t if self._any_alpha else None)
            if uniform:
                self._consts[key] = got
        return got

    def _train_epoch(self) -> np.ndarray:
        """One epoch for every member; returns the epoch-mean training losses (float64)."""
        G = len(self.slots)
        m_out = self.n_outputs
        d_in = self.X.shape[1]
        step_losses, step_counts = [], []
        l2_views = self.net.l2_views() if self._any_alpha else None
        for idx, mask, cnt in self._epoch_batches():
            active = cnt > 0
            # no mask: every member has the same number of rows in this step
            denom, decay = self._step_constants(cnt, uniform=mask is None)
            flat = idx.reshape(-1)
            b = idx.shape[1]
            xb = torch.index_select(self.X, 0, flat).view(G, b, d_in)
            yb = torch.index_select(self.Y, 0, flat).view(G, b, m_out)
            params = self.net.params
            for p in params:
                p.requires_grad_(True)
            with torch.enable_grad():
                pred = self.net.forward(params, xb)
            with torch.no_grad():
                # d/dpred of 0.5 * mean((pred - y)**2) over the member's rows and outputs
                diff = pred.detach() - yb
                if mask is not None:
                    diff.mul_(mask.unsqueeze(-1).to(diff.dtype))
                loss = 0.5 * (diff * diff).sum(dim=(1, 2)) / denom
                diff.div_(denom.view(G, 1, 1))
            grads = list(torch.autograd.grad(pred, params, diff))
            with torch.no_grad():
                for p in params:
                    p.requires_grad_(False)
                if decay is not None and l2_views:
                    # 0.5 * alpha * sum(W**2) / batch_size on the plain linear weights, that is
                    # 0.5 * decay * sum(W**2); its gradient decay * W is added inside the Adam step
                    sq = None
                    for v in l2_views:  # (G, 1, k) rows: sum(W**2) as one batched dot product each
                        sq = torch.bmm(v, v.mT) if sq is None else torch.baddbmm(sq, v, v.mT)
                    loss = loss.addcmul(decay, sq.view(G), value=0.5)
                self.net.adam_step(grads, active, self._lr, decay)
                step_losses.append(loss)
                step_counts.append(cnt)
        # epoch mean over each member's rows: sum over steps of (step loss x step rows) / rows
        losses = torch.stack(step_losses).double().cpu().numpy()
        rows = np.array([s.tr_rows.shape[0] for s in self.slots], dtype=np.float64)
        return (losses * np.stack(step_counts)).sum(axis=0) / rows

    # -- public ----------------------------------------------------------------------------
    @flush_denormals
    def run(self, until_epoch: int | None = None) -> list[MemberOutcome]:
        """Train until every member stopped or the group reached ``until_epoch`` epochs.

        Returns
        -------
        list of MemberOutcome
            The members that finished during this call.
        """
        finished: list[MemberOutcome] = []
        while self.slots and (until_epoch is None or self.epoch < until_epoch):
            t0 = time.perf_counter()
            losses = self._train_epoch()
            self.epoch += 1
            done: list[tuple[int, str, str | None]] = []
            va_scores = None
            if self.early_stopping:
                members = list(range(len(self.slots)))
                va_rows = [s.va_rows for s in self.slots]
                preds = self._predict_rows(self.net.params, va_rows, members)
                va_scores = [
                    covered_variance(self._Ynp[s.va_rows], p, "residual")
                    for s, p in zip(self.slots, preds)
                ]
            improved = np.zeros(len(self.slots), dtype=bool)
            for j, s in enumerate(self.slots):
                loss = float(losses[j])
                if not math.isfinite(loss):
                    done.append((j, "failed", divergence_message(self.epoch, loss, s.config)))
                    continue
                score = None if va_scores is None else va_scores[j]
                new_best = s.stopping.update(self.epoch, loss, score)
                improved[j] = new_best and va_scores is not None
                if s.stopping.done:
                    done.append((j, "ok", None))
            self.net.keep_best(improved)
            share = (time.perf_counter() - t0) / len(self.slots)
            for s in self.slots:
                s.fit_time += share
            if done:
                finished += self._finish(done)
        return finished

    def current_scores(self) -> list[tuple[int, float]]:
        """``(member index, eval-rows R2)`` of every running member at its current best
        weights (for pruning decisions)."""
        members = [j for j, s in enumerate(self.slots) if s.eval_rows is not None]
        scores = self._scores(
            self.net.final_params, [self.slots[j].eval_rows for j in members], members
        )
        return [(self.slots[j].index, sc) for j, sc in zip(members, scores)]

    def prune(self, indices) -> list[MemberOutcome]:
        """Stop the running members with these (original) indices; status ``"pruned"``."""
        wanted = {int(i) for i in indices}
        done = [(j, "pruned", None) for j, s in enumerate(self.slots) if s.index in wanted]
        return self._finish(done) if done else []

    def _finish(self, done: list[tuple[int, str, str | None]]) -> list[MemberOutcome]:
        final = self.net.final_params
        ok = [j for j, status, _ in done if status != "failed"]
        scored = [
            j for j in ok if self.slots[j].eval_rows is not None and len(self.slots[j].eval_rows)
        ]
        scores = dict(
            zip(scored, self._scores(final, [self.slots[j].eval_rows for j in scored], scored))
        )
        outs = []
        for j, status, err in done:
            s = self.slots[j]
            state = (
                self.net.member_state(j, final) if (self.keep_states and status != "failed") else None
            )
            out = MemberOutcome(
                s.index,
                s.tag,
                status,
                s.result,
                eval_score=scores.get(j, math.nan),
                error=err,
                fit_time=s.fit_time,
                state=state,
            )
            outs.append(out)
        # compact the stack
        keep = np.setdiff1d(np.arange(len(self.slots)), [j for j, _, _ in done])
        self._compact(keep)
        for out in outs:
            self.outcomes.append(out)
            if self.on_finish is not None:
                self.on_finish(out)
        return outs

    def _compact(self, keep: np.ndarray) -> None:
        if keep.shape[0] == len(self.slots):
            return
        self.net.compact(keep)
        self.slots = [self.slots[j] for j in keep]
        if self.slots:
            self._refresh_member_arrays()
