"""Least-squares inversion of a decoder: latent values that best reproduce target spectra.

Shared by ECA, EDNN and NNCA. Every target row is solved at once: candidate latent points
(a grid over the training range of the latents for up to 3 components, random points
otherwise) are decoded *once*, each row keeps its ``n_starts`` best candidates as starting
points, and all (row, start) pairs are refined together by Adam on the summed squared
residual, whose gradient separates into independent per-row problems. The best start of each
row wins.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._validation import (
    Interval,
    RANDOM_STATE,
    check_array,
    check_is_fitted,
    check_random_state_int,
    validate_params,
)
from ..exceptions import InvalidParameterError
from ..nn._modules import frozen_parameters
from ..nn._multistart import multistart_adam

__all__ = ["LatentFit", "LatentInversionMixin"]


class LatentFit(NamedTuple):
    """Result of :meth:`LatentInversionMixin.fit_latent`.

    Attributes
    ----------
    latents : ndarray of shape (n_targets, n_components)
        Latent values whose decoded prediction best matches each target row.
    residuals : ndarray of shape (n_targets,)
        Residual sum of squares of each row at those latents.
    """

    latents: np.ndarray
    residuals: np.ndarray


_FIT_LATENT_CONSTRAINTS = {
    "n_starts": [Interval(int, 1, None)],
    "max_iter": [Interval(int, 0, None)],
    "learning_rate": [Interval(float, 0, None, closed="neither")],
    "random_state": [RANDOM_STATE],
    "margin": [Interval(float, 0, None, closed="left")],
}


class LatentInversionMixin:
    """Adds ``fit_latent`` (and, with an expansion, ``reconstruct``) to an estimator.

    The host provides ``_decode_latent(T: Tensor) -> Tensor`` (latent → prediction, in the
    model's dtype and device), ``n_components_``, ``n_outputs_``, ``latent_min_`` and
    ``latent_max_`` (range of the latents over the fitting data), ``_torch_dtype`` and
    ``_device()``.
    """

    def fit_latent(
        self,
        Y_target,
        *,
        n_starts: int = 8,
        max_iter: int = 500,
        learning_rate: float = 0.05,
        margin: float = 0.25,
        random_state: int | None = 0,
        n_components: int | None = None,
    ) -> LatentFit:
        """Fit latent values to target spectra by least squares through the decoder.

        Parameters
        ----------
        Y_target : array-like of shape (n_targets, n_outputs)
            Target spectra in the same (scaled) units the model was trained on.
        n_starts : int, default=8
            Starting points refined per row (the best candidates of a dense set).
        max_iter : int, default=500
            Adam steps of the refinement.
        learning_rate : float, default=0.05
            Adam step size, relative to the spread of the training latents.
        margin : float, default=0.25
            The candidate set extends this fraction of the training range beyond each end.
        random_state : int or None, default=0
            Seed of the random candidates (only used beyond 3 components).
        n_components : int or None, default=None
            Fit only the first ``n_components`` latents (ECA, whose ranks are nested);
            None uses all.

        Returns
        -------
        LatentFit
            ``(latents, residuals)``.
        """
        check_is_fitted(self, "n_components_")
        owner = f"{type(self).__name__}.fit_latent"
        validate_params(
            owner,
            dict(n_starts=n_starts, max_iter=max_iter, learning_rate=learning_rate,
                 margin=margin, random_state=random_state),
            _FIT_LATENT_CONSTRAINTS,
        )
        Y = check_array(Y_target, "Y_target", owner=owner)
        if Y.shape[1] != self.n_outputs_:
            raise InvalidParameterError(
                f"The 'Y_target' argument of {owner} must have {self.n_outputs_} columns, as in "
                f"fit. Got {Y.shape[1]} instead."
            )
        k = self.n_components_ if n_components is None else n_components
        if k != self.n_components_ and not (
            self._nested_ranks and isinstance(k, (int, np.integer)) and 1 <= k <= self.n_components_
        ):
            allowed = f"an int in the range [1, {self.n_components_}]" if self._nested_ranks else f"None or {self.n_components_}"
            raise InvalidParameterError(
                f"The 'n_components' argument of {owner} must be {allowed}. Got {n_components!r} instead."
            )
        with frozen_parameters(self._inversion_module()):
            return self._fit_latent(Y, int(k), n_starts, max_iter, learning_rate, margin, random_state)

    def _inversion_module(self):
        """The torch module whose weights the decoder uses (kept frozen during inversion)."""
        return self.module_

    #: whether the first k latents form a model of their own (ECA's rank-by-rank basis)
    _nested_ranks = False

    def _fit_latent(self, Y, k, n_starts, max_iter, learning_rate, margin, random_state):
        lo = np.asarray(self.latent_min_, dtype=float)[:k]
        hi = np.asarray(self.latent_max_, dtype=float)[:k]
        span = np.where(hi > lo, hi - lo, 1.0)
        lo, hi = lo - margin * span, hi + margin * span
        dtype, device = self._torch_dtype, self._device()

        # Candidate set: a grid when small, random points otherwise.
        if k <= 3:
            per_axis = {1: 512, 2: 64, 3: 16}[k]
            axes = [np.linspace(lo[j], hi[j], per_axis) for j in range(k)]
            cand = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, k)
        else:
            rng = np.random.default_rng(check_random_state_int(random_state))
            cand = lo + (hi - lo) * rng.random((4096, k))
        Yt = torch.as_tensor(Y, dtype=dtype, device=device)
        with torch.no_grad():
            D = self._decode_latent(torch.as_tensor(cand, dtype=dtype, device=device))
            # squared distances, rows × candidates
            d2 = (Yt**2).sum(1, keepdim=True) - 2 * Yt @ D.T + (D**2).sum(1)[None, :]
            s = min(n_starts, cand.shape[0])
            best = torch.topk(d2, s, dim=1, largest=False).indices  # (n, s)
        cand_t = torch.as_tensor(cand, dtype=dtype, device=device)
        scale = torch.as_tensor(span, dtype=dtype, device=device)
        # Optimise in units of the training spread so one learning rate fits all components.
        Z0 = (cand_t[best] - torch.as_tensor(lo, dtype=dtype, device=device)) / scale
        offset = torch.as_tensor(lo, dtype=dtype, device=device)
        target = Yt[:, None, :]

        def per_row_loss(Zc):
            T = Zc * scale + offset
            P = self._decode_latent(T.reshape(-1, k)).reshape(T.shape[0], T.shape[1], -1)
            return ((P - target) ** 2).sum(-1)  # (n, s)

        best_Z, best_loss, _ = multistart_adam(
            per_row_loss, Z0, learning_rate=learning_rate, max_evals=max_iter + 1
        )
        idx = torch.argmin(best_loss, dim=1)
        rows = torch.arange(Y.shape[0], device=device)
        T = best_Z[rows, idx] * scale + offset
        return LatentFit(
            latents=T.detach().cpu().double().numpy(),
            residuals=best_loss[rows, idx].detach().cpu().double().numpy(),
        )

    def fit_transform(self, X, y=None, **fit_params):
        """Fit on ``X`` and targets ``y``, then return the latent values of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Structures.
        y : array-like of shape (n_samples, n_outputs)
            Targets; required, since the latents are trained to predict them.
        **fit_params : dict
            Passed to ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        if y is None:
            raise InvalidParameterError(
                f"The 'y' argument of {type(self).__name__}.fit_transform must be the target "
                f"array. Got None instead."
            )
        return self.fit(X, y, **fit_params).transform(X)

    def _record_latent_range(self, T: np.ndarray) -> None:
        self.latent_min_ = np.asarray(T.min(axis=0), dtype=np.float64)
        self.latent_max_ = np.asarray(T.max(axis=0), dtype=np.float64)


class ExpansionMixin:
    """``reconstruct``: latent fit followed by the expansion ``x' = sum_k t_k v_k``."""

    def reconstruct(self, Y_target, **fit_latent_kw) -> np.ndarray:
        """Structures whose projection best explains ``Y_target``.

        Fits latent values with :meth:`fit_latent` and expands them to structure space
        with :meth:`inverse_transform`. Directions the spectra do not encode stay at the
        training mean (0 in standardized units).

        Returns
        -------
        ndarray of shape (n_targets, n_features)
        """
        return self.inverse_transform(self.fit_latent(Y_target, **fit_latent_kw).latents)
