"""Train many networks of one shape at once, as one stacked network.

A *member* is one network (its initial weights), the rows of ``X``/``Y`` it trains on, its
:class:`~xslatent.nn._train.TrainConfig` and its seed. :class:`BatchedTrainer` stacks the
parameters of ``G`` members of identical architecture into ``(G, in, out)`` tensors and
trains them together with ``torch.baddbmm``/``torch.bmm``: one forward and one backward pass
per step serve every member. Each member keeps exactly the protocol of
:func:`~xslatent.nn._train.train_module` (see its module docstring):

* its own ``np.random.default_rng(seed)`` draws its validation split and, every epoch, its
  minibatch order over its own rows;
* its own learning rate, L2 strength, batch size, ``max_iter``, ``tol`` and
  ``n_iter_no_change``;
* Adam is written out in batched form, reproducing :class:`torch.optim.Adam` (single-tensor
  path: ``m.lerp_(g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
  ``step_size = lr / bias_correction1``,
  ``denom = sqrt(v) / sqrt(bias_correction2) + eps``, ``p += (-step_size * m) / denom``)
  with a step counter per member, so a member without a minibatch in a step (its rows ran
  out) is not touched at all;
* a member that stops (converged, ``max_iter``, diverged, pruned) leaves the stack at the end
  of the epoch: its state is frozen and the remaining members are compacted.

Results equal those of ``train_module`` on the same member up to floating-point rounding
(the summation order of a few reductions differs); in float64 they agree to ~1e-12.

Supported architectures are sequences of plain ``nn.Linear`` layers, element-wise
activations (ReLU, LeakyReLU, Tanh, Identity) and the orthonormal projection of NNCA
(:class:`~xslatent.nn._modules.OrthonormalProjection`, whose ``orthogonal`` parametrization
is evaluated in batched form: Householder product or matrix exponential, times the
trivialization base). Anything else raises :class:`NotBatchableError`; callers then train
the member alone with ``train_module`` (:func:`train_unbatched`).
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
from torch.nn.utils import parametrize

from ._modules import EncoderDecoder, OrthonormalProjection
from ..metrics import covered_variance
from ._train import (
    StoppingRule,
    TrainConfig,
    TrainResult,
    divergence_message,
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

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8
#: rows per evaluation pass (bounds memory of validation / CV scoring)
_EVAL_CHUNK = 4096


class NotBatchableError(TypeError):
    """The network contains a layer the batched trainer does not implement."""


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
    """

    module: nn.Module
    train_rows: np.ndarray
    config: TrainConfig
    seed: int
    eval_rows: np.ndarray | None = None
    tag: Any = None


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


# --------------------------------------------------------------------------- architecture
def _activation_op(m: nn.Module):
    if isinstance(m, nn.ReLU):
        return ("act", "relu", 0.0)
    if isinstance(m, nn.LeakyReLU):
        return ("act", "leaky_relu", float(m.negative_slope))
    if isinstance(m, nn.Tanh):
        return ("act", "tanh", 0.0)
    if isinstance(m, nn.Identity):
        return ("act", "identity", 0.0)
    return None


def _program(module: nn.Module, prefix: str = "") -> list[tuple]:
    """Forward-order list of ops: ("linear", name, in, out, bias), ("orth", name, k, d, map,
    has_base), ("act", kind, slope)."""
    if isinstance(module, EncoderDecoder):
        return _program(module.encoder, prefix + "encoder.") + _program(
            module.decoder, prefix + "decoder."
        )
    if isinstance(module, nn.Sequential):
        ops: list[tuple] = []
        for name, child in module.named_children():
            ops += _program(child, f"{prefix}{name}.")
        return ops
    if isinstance(module, OrthonormalProjection):
        lin = module.linear
        if not parametrize.is_parametrized(lin, "weight"):
            return [("linear", prefix + "linear.", lin.in_features, lin.out_features, False, False)]
        par = lin.parametrizations.weight[0]
        omap = getattr(par.orthogonal_map, "name", str(par.orthogonal_map))
        if omap not in ("householder", "matrix_exp") or len(lin.parametrizations.weight) != 1:
            raise NotBatchableError(f"orthogonal map {omap!r} is not implemented in batched form")
        has_base = getattr(par, "base", None) is not None
        return [("orth", prefix + "linear.", lin.out_features, lin.in_features, omap, has_base)]
    if isinstance(module, nn.Linear):
        if parametrize.is_parametrized(module):
            raise NotBatchableError("parametrized Linear layers other than OrthonormalProjection")
        return [
            (
                "linear",
                prefix,
                module.in_features,
                module.out_features,
                module.bias is not None,
                True,
            )
        ]
    op = _activation_op(module)
    if op is not None:
        return [op]
    raise NotBatchableError(f"layer {type(module).__name__} has no batched implementation")


def network_signature(module: nn.Module) -> tuple:
    """Hashable description of ``module``'s architecture; equal signatures stack together.

    Raises
    ------
    NotBatchableError
        If the module cannot be trained by :class:`BatchedTrainer`.
    """
    p = next(module.parameters())
    return (type(module).__name__, tuple(_program(module)), str(p.dtype), str(p.device))


def _orth_forward(X: torch.Tensor, base: torch.Tensor | None, omap: str) -> torch.Tensor:
    """Batched copy of ``torch.nn.utils.parametrizations._Orthogonal.forward``."""
    n, k = X.size(-2), X.size(-1)
    transposed = n < k
    if transposed:
        X = X.mT
        n, k = k, n
    if omap == "matrix_exp":
        X = X.tril()
        if n != k:
            X = torch.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
        A = X - X.mH
        Q = torch.matrix_exp(A)
        if n != k:
            Q = Q[..., :k]
    else:
        A = X.tril(diagonal=-1)
        tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
        Q = torch.linalg.householder_product(A, tau)
        Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
    if base is not None:
        Q = base @ Q
    if transposed:
        Q = Q.mT
    return Q


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
        self.ops = _program(members[0].module)
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
            if self.early_stopping:
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

        # stacked parameters: linear weights stored transposed, (G, in, out)
        self.params: list[torch.Tensor] = []
        self.param_names: list[tuple[str, str]] = []  # (state-dict key, layout)
        self.l2_index: list[int] = []
        self.buffers: dict[int, torch.Tensor] = {}  # op position -> stacked base
        self.op_params: list[tuple] = []
        states = [m.module.state_dict() for m in members]
        for pos, op in enumerate(self.ops):
            if op[0] == "linear":
                _, name, _fi, _fo, has_bias, _ = op
                w = torch.stack([st[name + "weight"].mT for st in states]).to(self.device, dtype)
                wi = self._add_param(w.contiguous(), name + "weight", "T")
                self.l2_index.append(wi)
                bi = None
                if has_bias:
                    b = torch.stack([st[name + "bias"][None, :] for st in states]).to(
                        self.device, dtype
                    )
                    bi = self._add_param(b.contiguous(), name + "bias", "row")
                self.op_params.append((wi, bi))
            elif op[0] == "orth":
                _, name, _k, _d, _omap, has_base = op
                key = name + "parametrizations.weight.original"
                o = torch.stack([st[key] for st in states]).to(self.device, dtype)
                oi = self._add_param(o.contiguous(), key, "plain")
                if has_base:
                    self.buffers[pos] = torch.stack(
                        [st[name + "parametrizations.weight.0.base"] for st in states]
                    ).to(self.device, dtype)
                self.op_params.append((oi, None))
            else:
                self.op_params.append((None, None))
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.steps = np.zeros(len(members), dtype=np.int64)
        self.best = [p.clone() for p in self.params] if self.early_stopping else None
        self._refresh_member_arrays()

    # -- parameter bookkeeping -------------------------------------------------------------
    def _add_param(self, t: torch.Tensor, name: str, layout: str) -> int:
        self.params.append(t)
        self.param_names.append((name, layout))
        return len(self.params) - 1

    def _refresh_member_arrays(self) -> None:
        cfg = [s.config for s in self.slots]
        self._lr = np.array([c.learning_rate_init for c in cfg], dtype=np.float64)
        self._alpha = torch.tensor([c.alpha for c in cfg], dtype=self.dtype, device=self.device)
        self._any_alpha = any(c.alpha > 0 for c in cfg)
        self._shape = (len(self.slots), 1, 1)

    @property
    def n_alive(self) -> int:
        return len(self.slots)

    def _member_state(self, j: int, params: list[torch.Tensor]) -> dict:
        """State dict of member ``j`` of the stack in its module's naming."""
        st = {}
        for (name, layout), p in zip(self.param_names, params):
            t = p[j]
            if layout == "T":
                t = t.mT
            elif layout == "row":
                t = t[0]
            st[name] = t.detach().clone().contiguous()
        for pos, base in self.buffers.items():
            st[self.ops[pos][1] + "parametrizations.weight.0.base"] = base[j].clone()
        return st

    # -- forward ---------------------------------------------------------------------------
    def _forward(self, params: list[torch.Tensor], x: torch.Tensor, members=None) -> torch.Tensor:
        h = x
        for pos, (op, (pi, bi)) in enumerate(zip(self.ops, self.op_params)):
            kind = op[0]
            if kind == "linear":
                W = params[pi] if members is None else params[pi][members]
                if bi is not None:
                    b = params[bi] if members is None else params[bi][members]
                    h = torch.baddbmm(b, h, W)
                else:
                    h = torch.bmm(h, W)
            elif kind == "orth":
                O = params[pi] if members is None else params[pi][members]
                base = self.buffers.get(pos)
                if base is not None and members is not None:
                    base = base[members]
                Q = _orth_forward(O, base, op[4])
                h = torch.bmm(h, Q.mT)
            else:
                act = op[1]
                if act == "relu":
                    h = torch.relu(h)
                elif act == "leaky_relu":
                    h = torch.nn.functional.leaky_relu(h, op[2])
                elif act == "tanh":
                    h = torch.tanh(h)
        return h

    def _predict_rows(
        self, params, rows_list: list[np.ndarray], members: list[int]
    ) -> list[np.ndarray]:
        """Predictions (float64 numpy) of the given stack members on their own rows."""
        if not members:
            return []
        nmax = max(len(r) for r in rows_list)
        preds = [np.empty((len(r), self.n_outputs)) for r in rows_list]
        sel = torch.as_tensor(members, device=self.device)
        with torch.no_grad():
            for s in range(0, nmax, _EVAL_CHUNK):
                e = min(nmax, s + _EVAL_CHUNK)
                idx = np.zeros((len(members), e - s), dtype=np.int64)
                for j, r in enumerate(rows_list):
                    part = r[s:e]
                    idx[j, : len(part)] = part
                xb = self.X[torch.as_tensor(idx, device=self.device)]
                out = self._forward(params, xb, sel).cpu().double().numpy()
                for j, r in enumerate(rows_list):
                    n = max(0, min(e, len(r)) - s)
                    preds[j][s : s + n] = out[j, :n]
        return preds

    def _scores(self, params, rows_list, members) -> list[float]:
        preds = self._predict_rows(params, rows_list, members)
        return [covered_variance(self._Ynp[r], p, "nan") for r, p in zip(rows_list, preds)]

    # -- optimisation ----------------------------------------------------------------------
    def _adam(self, grads: list[torch.Tensor], active: np.ndarray) -> None:
        all_active = bool(active.all())
        self.steps += active
        t = np.maximum(self.steps, 1).astype(np.float64)
        bc1 = 1.0 - _BETA1**t
        bc2 = 1.0 - _BETA2**t
        neg_step = torch.as_tensor(-(self._lr / bc1), dtype=self.dtype, device=self.device).view(
            self._shape
        )
        bc2_sqrt = torch.as_tensor(np.sqrt(bc2), dtype=self.dtype, device=self.device).view(
            self._shape
        )
        idle = None if all_active else torch.as_tensor(np.flatnonzero(~active), device=self.device)
        with torch.no_grad():
            for p, g, m, v in zip(self.params, grads, self.m, self.v):
                shp = (-1,) + (1,) * (p.dim() - 1)
                ns, b2 = neg_step.view(shp), bc2_sqrt.view(shp)
                if idle is not None:
                    saved = (p[idle].clone(), m[idle].clone(), v[idle].clone())
                m.lerp_(g, 1 - _BETA1)
                v.mul_(_BETA2).addcmul_(g, g, value=1 - _BETA2)
                denom = (v.sqrt() / b2).add_(_EPS)
                upd = m * ns
                upd.div_(denom)
                p.add_(upd)
                if idle is not None:
                    p.index_copy_(0, idle, saved[0])
                    m.index_copy_(0, idle, saved[1])
                    v.index_copy_(0, idle, saved[2])

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

    def _train_epoch(self) -> np.ndarray:
        """One epoch for every member; returns the epoch-mean training losses (float64)."""
        G = len(self.slots)
        total = torch.zeros(G, dtype=torch.float64, device=self.device)
        m_out = self.n_outputs
        d_in = self.X.shape[1]
        for idx, mask, cnt in self._epoch_batches():
            active = cnt > 0
            cnt_t = torch.as_tensor(np.maximum(cnt, 1), dtype=self.dtype, device=self.device)
            flat = idx.reshape(-1)
            b = idx.shape[1]
            xb = torch.index_select(self.X, 0, flat).view(G, b, d_in)
            yb = torch.index_select(self.Y, 0, flat).view(G, b, m_out)
            params = [p.requires_grad_(True) for p in self.params]
            with torch.enable_grad():
                pred = self._forward(params, xb)
            with torch.no_grad():
                # d/dpred of 0.5 * mean((pred - y)**2) over the member's rows and outputs
                diff = pred.detach() - yb
                if mask is not None:
                    diff.mul_(mask.unsqueeze(-1).to(diff.dtype))
                denom = (cnt_t * m_out).view(G, 1, 1)
                loss = 0.5 * (diff * diff).sum(dim=(1, 2)) / denom.view(G)
                diff.div_(denom)
            grads = list(torch.autograd.grad(pred, params, diff))
            with torch.no_grad():
                for p in self.params:
                    p.requires_grad_(False)
                if self._any_alpha:
                    # 0.5 * alpha * sum(W**2) / batch_size on the plain linear weights
                    coef = (self._alpha / cnt_t).view(G, 1, 1)
                    l2 = 0
                    for i in self.l2_index:
                        W = self.params[i]
                        l2 = l2 + (W * W).sum(dim=(1, 2))
                        grads[i] = grads[i] + coef * W
                    loss = loss + 0.5 * self._alpha * l2 / cnt_t
                self._adam(grads, active)
                total += loss.double() * torch.as_tensor(
                    cnt, dtype=torch.float64, device=self.device
                )
        ntr = torch.as_tensor(
            [s.tr_rows.shape[0] for s in self.slots], dtype=torch.float64, device=self.device
        )
        return (total / ntr).cpu().numpy()

    # -- public ----------------------------------------------------------------------------
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
                preds = self._predict_rows(self.params, [s.va_rows for s in self.slots], members)
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
                improved[j] = s.stopping.update(self.epoch, loss, score) and va_scores is not None
                if s.stopping.done:
                    done.append((j, "ok", None))
            if self.best is not None and improved.any():
                sel = torch.as_tensor(np.flatnonzero(improved), device=self.device)
                with torch.no_grad():
                    for b, p in zip(self.best, self.params):
                        b.index_copy_(0, sel, p[sel])
            share = (time.perf_counter() - t0) / len(self.slots)
            for s in self.slots:
                s.fit_time += share
            if done:
                finished += self._finish(done)
        return finished

    def _final_params(self) -> list[torch.Tensor]:
        return self.best if self.best is not None else self.params

    def current_scores(self) -> list[tuple[int, float]]:
        """``(member index, eval-rows R2)`` of every running member at its current best
        weights (for pruning decisions)."""
        members = [j for j, s in enumerate(self.slots) if s.eval_rows is not None]
        scores = self._scores(
            self._final_params(), [self.slots[j].eval_rows for j in members], members
        )
        return [(self.slots[j].index, sc) for j, sc in zip(members, scores)]

    def prune(self, indices) -> list[MemberOutcome]:
        """Stop the running members with these (original) indices; status ``"pruned"``."""
        wanted = {int(i) for i in indices}
        done = [(j, "pruned", None) for j, s in enumerate(self.slots) if s.index in wanted]
        return self._finish(done) if done else []

    def _finish(self, done: list[tuple[int, str, str | None]]) -> list[MemberOutcome]:
        final = self._final_params()
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
                self._member_state(j, final) if (self.keep_states and status != "failed") else None
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
        k = torch.as_tensor(keep, device=self.device)
        self.params = [p.detach()[k].contiguous() for p in self.params]
        self.m = [t[k].contiguous() for t in self.m]
        self.v = [t[k].contiguous() for t in self.v]
        if self.best is not None:
            self.best = [t[k].contiguous() for t in self.best]
        self.buffers = {pos: b[k].contiguous() for pos, b in self.buffers.items()}
        self.steps = self.steps[keep]
        self.slots = [self.slots[j] for j in keep]
        if self.slots:
            self._refresh_member_arrays()
