"""Many networks of one architecture as one stacked network: forward pass and Adam step.

:class:`StackedNetwork` compiles a network description (:func:`~xslatent.nn._network.
describe_network`) into tensors that hold ``G`` members side by side: linear weights stored
transposed as ``(G, in, out)``, biases as ``(G, 1, out)``, NNCA's orthonormal parameters as
``(G, k, d)``. One ``torch.baddbmm``/``torch.bmm`` chain evaluates every member.

Adam is written out in batched form, reproducing :class:`torch.optim.Adam` (single-tensor
path: ``m.lerp_(g, 1 - beta1)``, ``v = beta2 v + (1 - beta2) g^2``,
``step_size = lr / bias_correction1``, ``denom = sqrt(v) / sqrt(bias_correction2) + eps``,
``p += (-step_size * m) / denom``) with a step counter and a learning rate per member, so a
member without a minibatch in a step is not touched at all. ``torch.optim.Adam`` cannot be
used here: it has one step counter and one learning rate per parameter tensor, and a stacked
tensor holds many members.

Supported are plain ``nn.Linear`` layers, element-wise activations (ReLU, LeakyReLU, Tanh,
Identity) and the orthonormal projection of NNCA (its ``orthogonal`` parametrization is
evaluated in batched form: Householder product or matrix exponential, times the
trivialization base). Anything else raises :class:`NotBatchableError`.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from ._network import (
    ActivationOp,
    LinearOp,
    NetworkOp,
    OrthonormalOp,
    UnsupportedLayerError,
    describe_network,
)

__all__ = ["NotBatchableError", "StackedNetwork", "batchable_description", "network_signature"]

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8
#: parameters per member from which :meth:`StackedNetwork.adam_step` uses torch's fused Adam on
#: CPU. 0: always. Measured per step against the stacked tensor operations (one core, 3 -> 100
#: outputs, batch 200): equal or faster at every size once the folds of a candidate share
#: their calls (1 x 32 to 2 x 128, 10-25 members: 6-14 % faster) and for stacks of up to ~12
#: distinct candidates (up to 25 % faster); 5-9 % slower only for 27 distinct candidates of
#: under 8 000 parameters. A member's path depends on its size alone, never on its stack-mates.
FUSED_ADAM_MIN_PARAMS = 0


@functools.lru_cache(maxsize=None)
def _fused_adam_on_cpu() -> bool:
    """Whether ``torch._fused_adam_`` has a CPU kernel (torch >= 2.4; earlier: CUDA only)."""
    if not hasattr(torch, "_fused_adam_"):
        return False
    try:
        p, g, m, v = (torch.zeros(2) for _ in range(4))
        torch._fused_adam_([p], [g], [m], [v], [], [torch.tensor(1.0)], lr=1e-3, beta1=_BETA1, beta2=_BETA2,
                           weight_decay=0.0, eps=_EPS, amsgrad=False, maximize=False)
    except (RuntimeError, NotImplementedError):
        return False
    return True


_ORTHOGONAL_MAPS = ("householder", "matrix_exp")


class NotBatchableError(UnsupportedLayerError):
    """The network contains a layer the batched trainer does not implement."""


def batchable_description(module: nn.Module) -> tuple[NetworkOp, ...]:
    """:func:`~xslatent.nn._network.describe_network`, restricted to what stacks.

    Raises
    ------
    NotBatchableError
        If a layer (or an orthogonal map) has no batched implementation.
    """
    try:
        ops = describe_network(module)
    except NotBatchableError:
        raise
    except UnsupportedLayerError as exc:
        raise NotBatchableError(str(exc)) from None
    for op in ops:
        if isinstance(op, OrthonormalOp) and (
            op.orthogonal_map not in _ORTHOGONAL_MAPS or op.n_parametrizations != 1
        ):
            raise NotBatchableError(
                f"orthogonal map {op.orthogonal_map!r} is not implemented in batched form"
            )
    return ops


def network_signature(module: nn.Module) -> tuple:
    """Hashable description of ``module``'s architecture; equal signatures stack together.

    Raises
    ------
    NotBatchableError
        If the module cannot be stacked.
    """
    p = next(module.parameters())
    return (type(module).__name__, batchable_description(module), str(p.dtype), str(p.device))


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


class StackedNetwork:
    """``G`` networks of one description, stacked (see module docstring).

    Parameters
    ----------
    ops : tuple of NetworkOp
        The shared description (:func:`batchable_description`).
    states : list of dict
        One ``state_dict`` per member, in the modules' naming.
    device : torch.device
    dtype : torch.dtype
    keep_best : bool
        Also keep a copy of the parameters at each member's best epoch (early stopping).
    """

    def __init__(self, ops, states: list[dict], *, device, dtype, keep_best: bool):
        self.ops = tuple(ops)
        self.device, self.dtype = device, dtype
        self.params: list[torch.Tensor] = []
        self.param_names: list[tuple[str, str]] = []  # (state-dict key, layout)
        self.l2_index: list[int] = []
        self.buffers: dict[int, torch.Tensor] = {}  # op position -> stacked base
        self.op_params: list[tuple] = []
        for pos, op in enumerate(self.ops):
            if isinstance(op, LinearOp):
                w = torch.stack([st[op.name + "weight"].mT for st in states]).to(device, dtype)
                wi = self._add_param(w.contiguous(), op.name + "weight", "T")
                self.l2_index.append(wi)
                bi = None
                if op.bias:
                    b = torch.stack([st[op.name + "bias"][None, :] for st in states])
                    b = b.to(device, dtype)
                    bi = self._add_param(b.contiguous(), op.name + "bias", "row")
                self.op_params.append((wi, bi))
            elif isinstance(op, OrthonormalOp):
                key = op.name + "parametrizations.weight.original"
                o = torch.stack([st[key] for st in states]).to(device, dtype)
                oi = self._add_param(o.contiguous(), key, "plain")
                if op.has_base:
                    self.buffers[pos] = torch.stack(
                        [st[op.name + "parametrizations.weight.0.base"] for st in states]
                    ).to(device, dtype)
                self.op_params.append((oi, None))
            else:
                self.op_params.append((None, None))
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.steps = np.zeros(len(states), dtype=np.int64)
        self.best = [p.clone() for p in self.params] if keep_best else None
        self._fused_cache: bool | None = None  # see _fused
        # per stack layout, see _member_views and l2_views
        self._member_views_cache: list | None = None
        self._l2_views_cache: list | None = None
        # see _fused_adam_step; float32, like torch.optim.Adam's step counts (default dtype)
        self._step_scalar = torch.zeros((), dtype=torch.float32)
        # fused Adam's parameter groups: with L2 (weight decay), without
        l2 = set(self.l2_index)
        self._fused_groups = [[i for i in range(len(self.params)) if i in l2],
                              [i for i in range(len(self.params)) if i not in l2]]

    def _add_param(self, t: torch.Tensor, name: str, layout: str) -> int:
        self.params.append(t)
        self.param_names.append((name, layout))
        return len(self.params) - 1

    @property
    def final_params(self) -> list[torch.Tensor]:
        """The parameters to report: the best-epoch copy under early stopping, else current."""
        return self.best if self.best is not None else self.params

    def member_state(self, j: int, params: list[torch.Tensor]) -> dict:
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
            st[self.ops[pos].name + "parametrizations.weight.0.base"] = base[j].clone()
        return st

    def forward(
        self, params: list[torch.Tensor], x: torch.Tensor, members=None
    ) -> torch.Tensor:
        """Outputs ``(G', n, out)`` of the members (all, or those indexed by ``members``) on
        their inputs ``x`` of shape ``(G', n, in)``."""
        h = x
        for pos, (op, (pi, bi)) in enumerate(zip(self.ops, self.op_params)):
            if isinstance(op, LinearOp):
                W = params[pi] if members is None else params[pi][members]
                if bi is not None:
                    b = params[bi] if members is None else params[bi][members]
                    h = torch.baddbmm(b, h, W)
                else:
                    h = torch.bmm(h, W)
            elif isinstance(op, OrthonormalOp):
                O = params[pi] if members is None else params[pi][members]
                base = self.buffers.get(pos)
                if base is not None and members is not None:
                    base = base[members]
                Q = _orth_forward(O, base, op.orthogonal_map)
                h = torch.bmm(h, Q.mT)
            elif isinstance(op, ActivationOp):
                if op.kind == "relu":
                    # in place right after a linear layer (no backward reads a linear layer's
                    # result); never on the caller's input nor on an activation's output,
                    # which its backward may have saved
                    fresh = pos > 0 and isinstance(self.ops[pos - 1], (LinearOp, OrthonormalOp))
                    h = torch.relu_(h) if fresh else torch.relu(h)
                elif op.kind == "leaky_relu":
                    h = torch.nn.functional.leaky_relu(h, op.slope)
                elif op.kind == "tanh":
                    h = torch.tanh(h)
        return h

    def adam_step(
        self,
        grads: list[torch.Tensor],
        active: np.ndarray,
        lr: np.ndarray,
        weight_decay: torch.Tensor | None = None,
    ) -> None:
        """One Adam step of the ``active`` members with their learning rates ``lr``.

        ``weight_decay`` (per member, or None) adds ``weight_decay[j] * W`` to the gradient of
        every weight in :attr:`l2_index` first: the gradient of the L2 term
        ``0.5 * alpha * sum(W**2) / batch_size`` with ``weight_decay = alpha / batch_size``.

        On CPU, members with at least :data:`FUSED_ADAM_MIN_PARAMS` parameters (all, by
        default) are updated by torch's fused Adam kernel (one pass over parameter, gradient
        and moments; a call per distinct learning rate, weight decay and step count and per
        parameter group with / without L2, so the folds of one candidate share their calls);
        elsewhere by stacked tensor operations over all members at once.
        Both compute Adam as :class:`torch.optim.Adam` does (betas 0.9 / 0.999, eps 1e-8).
        """
        self.steps += active
        if self._fused:
            self._fused_adam_step(grads, active, lr, weight_decay)
            return
        if weight_decay is not None:
            coef = weight_decay.view(-1, 1, 1)
            for i in self.l2_index:
                grads[i] = grads[i].addcmul(coef, self.params[i])
        all_active = bool(active.all())
        t = np.maximum(self.steps, 1).astype(np.float64)
        bc1 = 1.0 - _BETA1**t
        bc2 = 1.0 - _BETA2**t
        shape = (len(self.steps), 1, 1)
        dev, dt = self.device, self.dtype
        neg_step = torch.as_tensor(-(lr / bc1), dtype=dt, device=dev).view(shape)
        bc2_sqrt = torch.as_tensor(np.sqrt(bc2), dtype=dt, device=dev).view(shape)
        idle = None if all_active else torch.as_tensor(np.flatnonzero(~active), device=dev)
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

    @property
    def _fused(self) -> bool:
        # decided once per stack layout (compact() lays the stack out anew and forgets it)
        if self._fused_cache is None:
            n = sum(p[0].numel() for p in self.params) if self.params else 0
            self._fused_cache = (
                self.device.type == "cpu" and n >= FUSED_ADAM_MIN_PARAMS and _fused_adam_on_cpu()
                and all(t.is_contiguous() for t in (*self.params, *self.m, *self.v)))
        return self._fused_cache

    @property
    def _alone(self) -> bool:
        """A stack of one: each member slice is the whole tensor (the same memory)."""
        return len(self.steps) == 1

    def _member_views(self) -> list:
        """Per parameter ``i`` and member ``j``, the member's slices ``(params[i][j], m[i][j],
        v[i][j])`` (the whole tensors in a stack of one). Built once per stack layout: the
        tensors are updated in place and replaced only by :meth:`compact`."""
        if self._member_views_cache is None:
            self._member_views_cache = [
                [(p, m, v)] if self._alone else [(p[j], m[j], v[j]) for j in range(p.shape[0])]
                for p, m, v in zip(self.params, self.m, self.v)
            ]
        return self._member_views_cache

    def l2_views(self) -> list[torch.Tensor]:
        """The weights in :attr:`l2_index` as ``(G, 1, k)`` views (valid until :meth:`compact`)."""
        if self._l2_views_cache is None:
            self._l2_views_cache = [
                self.params[i].view(self.params[i].shape[0], 1, -1) for i in self.l2_index
            ]
        return self._l2_views_cache

    def _fused_adam_step(self, grads, active, lr, weight_decay) -> None:
        # the kernel walks each tensor's memory in order: a transposed gradient (that of an
        # orthonormal layer's parameter) must be laid out like its parameter first
        grads = [g if g.is_contiguous() else g.contiguous() for g in grads]
        groups = self._fused_groups
        wd = None if weight_decay is None else weight_decay.detach().cpu().numpy().astype(np.float64)
        # one kernel call per (learning rate, weight decay, step count) and parameter group
        # (with / without L2): the folds of one candidate share all three. Each member goes
        # in as its own slice, never the stack whole: the kernel's vector body and scalar
        # tail round differently, so a member's result must not depend on its stack-mates
        same: dict[tuple, list[int]] = {}
        for j in np.flatnonzero(active):
            key = (float(lr[j]), 0.0 if wd is None else float(wd[j]), int(self.steps[j]))
            same.setdefault(key, []).append(int(j))
        views = self._member_views()
        alone = self._alone
        with torch.no_grad():
            for (lr_j, wd_j, step_j), js in same.items():
                # the kernel reads the step count, never writes it: one scalar, refilled
                step = self._step_scalar.fill_(float(step_j))
                for gi, idx in enumerate(groups):
                    if not idx:
                        continue
                    sl = [views[i][j] for i in idx for j in js]
                    ps = [t[0] for t in sl]
                    gs = [grads[i] for i in idx] if alone else [grads[i][j] for i in idx for j in js]
                    torch._fused_adam_(
                        ps, gs, [t[1] for t in sl], [t[2] for t in sl],
                        [], [step] * len(ps), lr=lr_j, beta1=_BETA1, beta2=_BETA2,
                        weight_decay=wd_j if gi == 0 else 0.0, eps=_EPS, amsgrad=False, maximize=False,
                    )

    def keep_best(self, improved: np.ndarray) -> None:
        """Copy the current parameters of the ``improved`` members into the best copy."""
        if self.best is None or not improved.any():
            return
        sel = torch.as_tensor(np.flatnonzero(improved), device=self.device)
        with torch.no_grad():
            for b, p in zip(self.best, self.params):
                b.index_copy_(0, sel, p[sel])

    def compact(self, keep: np.ndarray) -> None:
        """Keep only the members ``keep`` (indices into the current stack), in that order."""
        if keep.shape[0] == self.steps.shape[0]:
            return
        k = torch.as_tensor(keep, device=self.device)
        self._fused_cache = None
        self._member_views_cache = self._l2_views_cache = None
        self.params = [p.detach()[k].contiguous() for p in self.params]
        self.m = [t[k].contiguous() for t in self.m]
        self.v = [t[k].contiguous() for t in self.v]
        if self.best is not None:
            self.best = [t[k].contiguous() for t in self.best]
        self.buffers = {pos: b[k].contiguous() for pos, b in self.buffers.items()}
        self.steps = self.steps[keep]
