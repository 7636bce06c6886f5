"""Keep the best of several starts: one Adam loop over many independent starting points.

Used by ECA (restarts of each basis vector) and by latent fitting (starting points per
target row). The starts are rows of one tensor ``Z`` of shape ``(*starts, n_params)``; the
objective returns one loss per start, and the starts do not interact, so Adam on the summed
loss moves each start by its own gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..exceptions import InvalidParameterError
from ._train import flush_denormals

__all__ = ["multistart_adam"]


@flush_denormals
def multistart_adam(
    objective: Callable[[torch.Tensor], torch.Tensor],
    Z: torch.Tensor,
    *,
    learning_rate: float,
    max_evals: int,
    tol: float = 0.0,
    n_iter_no_change: int | None = None,
    n_lr_drops: int = 0,
    halve_every: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Minimise ``objective`` from every start in ``Z`` at once; keep each start's best point.

    The objective is evaluated at most ``max_evals`` times, with one Adam step
    (:class:`torch.optim.Adam`, default betas) between consecutive evaluations. With
    ``n_iter_no_change`` set, a plateau ends the loop early: when the best loss over all
    starts has not decreased by more than ``tol`` for ``n_iter_no_change`` evaluations, the
    learning rate is divided by 10 (at most ``n_lr_drops`` times), after that the loop stops.
    With ``halve_every`` set (starts along one axis only), the losing starts are abandoned:
    every ``halve_every`` evaluations the worse half of the starts still running (by their
    best loss) stops, until one is left, so later steps evaluate fewer starts (each kept
    start keeps its Adam moments; the objective then receives only the running rows).

    Parameters
    ----------
    objective : callable
        ``objective(Z) -> Tensor`` of shape ``Z.shape[:-1]``: the loss of each start.
    Z : Tensor of shape (*starts, n_params)
        Starting points (copied).
    learning_rate : float
        Initial Adam step size.
    max_evals : int
        Maximum number of objective evaluations (``max_evals - 1`` Adam steps).
    tol : float, default=0.0
        Plateau tolerance on the best loss.
    n_iter_no_change : int or None, default=None
        Plateau length in evaluations; None runs all ``max_evals`` evaluations.
    n_lr_drops : int, default=0
        Learning-rate divisions by 10 before a plateau stops the loop.
    halve_every : int or None, default=None
        Evaluations between halvings of the running starts; None runs every start to the
        end. Requires ``Z`` of shape (n_starts, n_params).

    Returns
    -------
    best_Z : Tensor of shape Z.shape
        Each start's best point seen (detached); an abandoned start's best up to its stop.
    best_loss : Tensor of shape Z.shape[:-1]
        Its loss.
    n_evals : int
        Evaluations made.
    """
    if halve_every is not None and Z.ndim != 2:
        raise InvalidParameterError(
            f"The 'Z' argument of multistart_adam must have 2 dimensions (starts, parameters) "
            f"with 'halve_every' set. Got {Z.ndim} instead."
        )
    best_Z = Z.detach().clone()
    best_loss = torch.full(Z.shape[:-1], math.inf, dtype=Z.dtype, device=Z.device)
    active = None  # indices of the running starts, once some were abandoned
    Z = Z.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([Z], lr=learning_rate)
    lr = learning_rate
    best_overall = math.inf
    no_improve = drops = n_evals = 0
    for it in range(max_evals):
        loss = objective(Z)
        with torch.no_grad():
            if active is None:
                better = loss < best_loss
                best_loss = torch.where(better, loss, best_loss)
                best_Z = torch.where(better[..., None], Z, best_Z)
            else:
                better = loss < best_loss[active]
                best_loss[active] = torch.where(better, loss, best_loss[active])
                best_Z[active] = torch.where(better[:, None], Z, best_Z[active])
        n_evals = it + 1
        if n_evals == max_evals:
            break
        if n_iter_no_change is not None:
            top = float(best_loss.min())
            if top < best_overall - tol:
                no_improve = 0
            else:
                no_improve += 1
            best_overall = min(best_overall, top)
            if no_improve >= n_iter_no_change:
                if drops >= n_lr_drops:
                    break
                drops += 1
                lr /= 10.0
                for group in opt.param_groups:
                    group["lr"] = lr
                no_improve = 0
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        if halve_every is not None and n_evals % halve_every == 0 and Z.shape[0] > 1:
            Z, opt, active = _keep_best_half(Z, opt, best_loss, active)
    return best_Z.detach(), best_loss, n_evals


def _keep_best_half(Z, opt, best_loss, active):
    """Keep the better half of the running rows of ``Z`` with their Adam state."""
    if active is None:
        active = torch.arange(Z.shape[0], device=Z.device)
    order = torch.argsort(best_loss[active], stable=True)[: (Z.shape[0] + 1) // 2]
    order = torch.sort(order).values  # keep the rows in start order
    state = opt.state[Z]
    Zk = Z.detach()[order].clone().requires_grad_(True)
    new = torch.optim.Adam([Zk], lr=opt.param_groups[0]["lr"])
    new.state[Zk] = {
        key: (val[order].clone() if key != "step" else val.clone()) for key, val in state.items()
    }
    return Zk, new, active[order]
