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

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..exceptions import ConvergenceWarning
from ._modules import linear_weights

__all__ = ["TrainConfig", "TrainResult", "train_module", "resolve_batch_size", "split_validation"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}


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


def _r2_torch(y: torch.Tensor, p: torch.Tensor) -> float:
    ss_tot = torch.sum((y - y.mean(dim=0)) ** 2)
    ss_res = torch.sum((y - p) ** 2)
    if float(ss_tot) == 0.0:
        return -float(ss_res)
    return float(1.0 - ss_res / ss_tot)


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
) -> TrainResult:
    """Train ``module`` in place to map ``X`` to ``Y``; return the learning history.

    ``module`` must already be initialised and on ``device`` with ``dtype``.
    """
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    if config.early_stopping:
        tr_idx, va_idx = split_validation(rng, n, config.validation_fraction)
    else:
        tr_idx, va_idx = np.arange(n), None
    Xt = torch.as_tensor(X[tr_idx], dtype=dtype, device=device)
    Yt = torch.as_tensor(Y[tr_idx], dtype=dtype, device=device)
    if va_idx is not None:
        Xv = torch.as_tensor(X[va_idx], dtype=dtype, device=device)
        Yv = torch.as_tensor(Y[va_idx], dtype=dtype, device=device)
    n_train = Xt.shape[0]
    bs = resolve_batch_size(config.batch_size, n_train)
    weights = linear_weights(module)
    opt = torch.optim.Adam(module.parameters(), lr=config.learning_rate_init, betas=(0.9, 0.999), eps=1e-8)
    result = TrainResult()
    best_loss = math.inf
    best_score = -math.inf
    best_state = None
    no_improve = 0

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
                raise FloatingPointError(
                    f"Training diverged at epoch {epoch + 1} (loss {epoch_loss}); lower "
                    f"'learning_rate_init' (now {config.learning_rate_init})."
                )
            result.loss_curve.append(epoch_loss)
            result.n_iter = epoch + 1
            if va_idx is not None:
                module.eval()
                with torch.no_grad():
                    score = _r2_torch(Yv, module(Xv))
                module.train()
                result.validation_scores.append(score)
                if score > best_score:
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    result.best_epoch = epoch + 1
                if score < best_score + config.tol:
                    no_improve += 1
                else:
                    no_improve = 0
                best_score = max(best_score, score)
            else:
                if epoch_loss > best_loss - config.tol:
                    no_improve += 1
                else:
                    no_improve = 0
                if epoch_loss < best_loss:
                    best_loss = epoch_loss
                    result.best_epoch = epoch + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{epoch_loss:.3g}")
            if no_improve >= config.n_iter_no_change:
                result.converged = True
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
