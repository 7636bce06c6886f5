"""Emulator-based component analysis (ECA)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, clone

from .._validation import (
    DEVICE,
    ESTIMATOR,
    NONE,
    RANDOM_STATE,
    BOOLEAN,
    Interval,
    check_array,
    check_is_fitted,
    check_n_features,
    check_random_state_int,
    check_X_y,
    resolve_device,
    validate_params,
)
from .._base import atomic_fit, multi_output_tags
from .._validation import _Constraint
from ..exceptions import InvalidParameterError
from ..io._registry import register_model
from ..metrics import r2_score, r2_score_torch
from ..nn._multistart import multistart_adam
from ._latent import ExpansionMixin, LatentInversionMixin
from ._nnca import sign_convention

__all__ = ["ECA"]


def _is_fitted_emulator(est) -> bool:
    return hasattr(est, "module_")


@register_model(nested=("emulator_",))
class ECA(ExpansionMixin, LatentInversionMixin, TransformerMixin, BaseEstimator):
    """Emulator-based component analysis: projection pursuit through a trained emulator.

    Finds orthonormal basis vectors ``v_1, v_2, …`` of the (standardized) structure space one
    at a time. Vector ``v_k`` maximizes the generalized R2 of
    ``emulator(sum_{j<=k} t_j v_j)`` with ``t_j = x · v_j``, constrained orthogonal to
    ``v_1 … v_{k-1}``. The emulator is frozen (evaluated in eval mode, its weights never
    receive gradients); each rank is optimised from ``n_restarts`` random starts at once on
    the full-data objective, with a plateau test on that objective and the losing starts
    abandoned on the way (``prune_every``); the final basis is re-orthonormalised in rank
    order and given a deterministic sign. When the network starts with a linear layer, its
    output on the projected data is updated from the earlier ranks' part (computed once per
    rank) plus ``t (v W^T)``, so the cost of a step does not grow with ``n_features``.

    Parameters
    ----------
    emulator : estimator
        A fitted or unfitted :class:`xslatent.MLPEmulator` (any estimator exposing a torch
        ``module_`` and ``torch_forward``). If unfitted, a clone is fitted on the data
        passed to :meth:`fit`.
    n_components : int, default=2
        Number of basis vectors (rank).
    n_restarts : int, default=8
        Random starts per rank, optimised together; the best is kept.
    prune_every : int or None, default=5
        Abandon losing starts: every ``prune_every`` steps the worse half of the starts still
        running (by their best R2 so far) stops, until one is left, so a rank costs about
        ``2 * prune_every`` steps of all starts plus one start's run to convergence. The
        kept basin is chosen early, so the R2 can end slightly below running every start to
        the end (None, several times slower).
    max_iter : int, default=2000
        Maximum Adam steps per rank.
    learning_rate : float, default=0.05
        Adam step size on the (unnormalised) direction parameters.
    tol : float, default=1e-6
        A rank has converged when the best full-data R2 has not improved by more than
        ``tol`` for ``n_iter_no_change`` steps at the smallest learning rate (the rate is
        divided by 10 at each plateau, twice).
    n_iter_no_change : int, default=30
        Plateau length in steps.
    init : array-like of shape (n_components, n_features) or None, default=None
        Starting direction of each rank's first restart (the others stay random), e.g. the
        basis of an earlier fit on similar data: a bootstrap member then converges in a few
        plateau lengths instead of a full search. None starts every restart at random. A
        nested list keeps the estimator storable in a model file.
    random_state : int or None, default=None
        Seed of the restarts (and of the emulator clone's training, if it is fitted here).
    device : str or None, default=None
        Torch device of the optimisation; None uses the emulator's device.
    verbose : bool, default=False
        Print R2 per rank.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Orthonormal basis vectors in rank order; each row's largest-magnitude entry > 0.
    r2_per_rank_ : ndarray of shape (n_components,)
        Cumulative R2 on the fitting data using the first 1, 2, … components.
    emulator_ : estimator
        The fitted emulator used (the one given, or a fitted clone).
    n_components_ : int
    n_features_in_, n_outputs_ : int
    n_iter_ : list of int
        Optimisation steps taken per rank.
    latent_min_, latent_max_ : ndarray of shape (n_components,)
        Range of the scores over the fitting data.

    See Also
    --------
    NNCA : learns the basis jointly with a decoder.

    References
    ----------
    J. Niskanen et al., R. Soc. Open Sci. 9, 220093 (2022) (ECA); A. Vladyka et al., PCCP 25 (2023) 6707.
    """

    _parameter_constraints = {
        "emulator": [ESTIMATOR],
        "n_components": [Interval(int, 1, None)],
        "n_restarts": [Interval(int, 1, None)],
        "prune_every": [NONE, Interval(int, 1, None)],
        "max_iter": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0, None, closed="neither")],
        "tol": [Interval(float, 0, None, closed="left")],
        "n_iter_no_change": [Interval(int, 1, None)],
        "init": [NONE, _Constraint("array", "a nested list or array of shape (n_components, n_features)",
                                   lambda v: isinstance(v, (list, tuple, np.ndarray)))],
        "random_state": [RANDOM_STATE],
        "device": [NONE, DEVICE],
        "verbose": [BOOLEAN],
    }

    def __init__(
        self,
        emulator,
        n_components=2,
        *,
        n_restarts=8,
        prune_every=5,
        max_iter=2000,
        learning_rate=0.05,
        tol=1e-6,
        n_iter_no_change=30,
        init=None,
        random_state=None,
        device=None,
        verbose=False,
    ):
        self.emulator = emulator
        self.n_components = n_components
        self.n_restarts = n_restarts
        self.prune_every = prune_every
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.init = init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        return multi_output_tags(super().__sklearn_tags__())

    # -- frozen emulator -----------------------------------------------------------------
    def _frozen(self, device, module=None):
        """Gradient-free, eval-mode evaluation of the emulator network (or ``module``)."""
        if module is None:
            module = self.emulator_.module_
            module.eval()
        params = {k: v.detach().to(device) for k, v in module.named_parameters()}
        buffers = {k: v.detach().to(device) for k, v in module.named_buffers()}
        state = {**params, **buffers}

        def f(x):
            return torch.func.functional_call(module, state, (x,))

        dtype = next(iter(params.values())).dtype
        return f, dtype

    def _split_first_layer(self, device):
        """``(W, b, rest)`` when the network starts with a ``Linear`` layer, else None.

        ``emulator(x) = rest(x W^T + b)``: the optimisation then evaluates the first layer
        on the projection ``base + t v`` as ``base W^T + b + t (v W^T)``, with ``base W^T``
        computed once per rank, so a step costs ``n_samples x hidden`` there instead of
        ``n_samples x n_features x hidden`` per restart.
        """
        module = self.emulator_.module_
        if not (isinstance(module, torch.nn.Sequential) and isinstance(module[0], torch.nn.Linear)
                and any(True for _ in module[1:].parameters())):
            return None
        first = module[0]
        W = first.weight.detach().to(device)
        b = None if first.bias is None else first.bias.detach().to(device)
        rest, _ = self._frozen(device, module[1:])
        return W, b, rest

    @atomic_fit
    def fit(self, X, y):
        """Find the basis on structures ``X`` and targets ``y`` (standardized).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structures the basis vectors live in.
        y : array-like of shape (n_samples, n_outputs)
            Targets whose covered variance each vector maximizes (2-D); an unfitted
            emulator is fitted on ``(X, y)`` first.

        Returns
        -------
        self : ECA
        """
        validate_params("ECA", self.get_params(deep=False), self._parameter_constraints)
        X, Y = check_X_y(X, y, owner="ECA", y_name="y")
        if self.n_components > X.shape[1]:
            raise InvalidParameterError(
                f"The 'n_components' parameter of ECA must be an int in the range "
                f"[1, n_features={X.shape[1]}]. Got {self.n_components} instead."
            )
        if not hasattr(self.emulator, "torch_forward"):
            raise InvalidParameterError(
                "The 'emulator' parameter of ECA must expose a torch network ('module_' and "
                f"'torch_forward', e.g. xslatent.MLPEmulator). Got {type(self.emulator).__name__} instead."
            )
        if _is_fitted_emulator(self.emulator):
            self.emulator_ = self.emulator
            if self.emulator_.n_features_in_ != X.shape[1]:
                raise InvalidParameterError(
                    f"The 'X' argument of ECA must have {self.emulator_.n_features_in_} features, "
                    f"as the emulator was trained on. Got {X.shape[1]} instead."
                )
        else:
            em = clone(self.emulator)
            if self.random_state is not None and "random_state" in em.get_params():
                if em.get_params()["random_state"] is None:
                    em.set_params(random_state=self.random_state)
            self.emulator_ = em.fit(X, Y)
        if self.device is None:
            device = next(self.emulator_.module_.parameters()).device
        else:
            device = resolve_device(self.device, "ECA")
        f, dtype = self._frozen(device)
        split = self._split_first_layer(device)
        self._device_ = device
        self._dtype_ = dtype
        Xt = torch.tensor(X, dtype=dtype, device=device)  # copies: input may be read-only
        Yt = torch.tensor(Y, dtype=dtype, device=device)
        ss_tot = torch.sum((Yt - Yt.mean(0)) ** 2)
        if float(ss_tot) == 0.0:
            raise InvalidParameterError(
                "The 'y' argument of ECA must vary across samples. Got constant targets instead."
            )
        seed = check_random_state_int(self.random_state)
        gen = torch.Generator().manual_seed(seed)
        d = X.shape[1]
        init = None
        if self.init is not None:
            init = check_array(self.init, "init", owner="ECA")
            if init.shape != (self.n_components, d):
                raise InvalidParameterError(
                    f"The 'init' parameter of ECA must have shape (n_components, n_features) = "
                    f"({self.n_components}, {d}). Got {init.shape} instead."
                )
        self._init = init
        V = torch.zeros((0, d), dtype=torch.float64, device=device)
        self.n_iter_ = []
        for rank in range(int(self.n_components)):
            v, steps = self._fit_rank(f, split, Xt, Yt, V, gen, rank)
            V = torch.cat([V, v[None, :]], dim=0)
            self.n_iter_.append(steps)
        # Final re-orthonormalisation in rank order (Gram–Schmidt via QR) and sign convention.
        Q, R = torch.linalg.qr(V.T)
        Q = Q * torch.sign(torch.diagonal(R))
        Vn = Q.T.cpu().numpy()
        Vn = Vn * sign_convention(Vn)[:, None]
        self.components_ = Vn
        self.n_components_ = int(self.n_components)
        self.n_features_in_ = d
        self.n_outputs_ = Y.shape[1]
        self.r2_per_rank_ = np.array(
            [r2_score(Y, self.predict(X, n_components=j)) for j in range(1, self.n_components_ + 1)]
        )
        self._record_latent_range(self.transform(X))
        if self.verbose:
            print("ECA cumulative R2 per rank:", np.round(self.r2_per_rank_, 4))
        return self

    def _fit_rank(self, f, split, Xt, Yt, V, gen, rank):
        d = Xt.shape[1]
        R = int(self.n_restarts)
        dtype = Xt.dtype
        Vd = V.to(dtype)
        base = Xt @ Vd.T @ Vd  # projection on the earlier vectors
        U0 = torch.randn((R, d), generator=gen, dtype=torch.float64)
        U0 = U0.to(device=Xt.device, dtype=dtype)
        if self._init is not None:
            U0[0] = torch.as_tensor(self._init[rank], dtype=dtype, device=Xt.device)
        P = torch.eye(d, dtype=dtype, device=Xt.device) - Vd.T @ Vd

        def directions(Uc):
            w = Uc @ P  # remove components along earlier vectors
            return w / torch.linalg.norm(w, dim=1, keepdim=True).clamp_min(1e-30)

        n = Xt.shape[0]
        if split is None:

            def predict(v, t):
                Xp = base[None, :, :] + t.T[:, :, None] * v[:, None, :]  # (R, n, d)
                return f(Xp.reshape(-1, d)).reshape(v.shape[0], n, -1)

        else:
            W, b, rest = split
            H0 = base @ W.T if b is None else torch.addmm(b, base, W.T)  # (n, hidden)

            def predict(v, t):
                Hp = H0[None, :, :] + t.T[:, :, None] * (v @ W.T)[:, None, :]  # (R, n, hidden)
                return rest(Hp.reshape(-1, Hp.shape[-1])).reshape(v.shape[0], n, -1)

        def r2_all(Uc):
            v = directions(Uc)  # (R, d)
            t = Xt @ v.T  # (n, R)
            return r2_score_torch(Yt, predict(v, t), constant_target="raise")

        best_U, _, steps = multistart_adam(
            lambda Uc: -r2_all(Uc),
            U0,
            learning_rate=float(self.learning_rate),
            max_evals=int(self.max_iter),
            tol=self.tol,
            n_iter_no_change=int(self.n_iter_no_change),
            n_lr_drops=2,
            halve_every=None if self.prune_every is None else int(self.prune_every),
        )
        with torch.no_grad():
            r2 = r2_all(best_U)
            i = int(torch.argmax(r2))
            v = directions(best_U)[i].to(torch.float64)
            # Exact orthogonality to the earlier vectors in float64.
            v = v - V.T @ (V @ v)
            v = v / torch.linalg.norm(v)
        if self.verbose:
            print(f"ECA rank {rank + 1}: R2 {float(r2[i]):.5f} after {steps} steps")
        return v, steps

    # -- transforms ----------------------------------------------------------------------
    def _check_X(self, X):
        check_is_fitted(self, "components_")
        X = check_array(X, "X", owner="ECA")
        check_n_features(self, X)
        return X

    def _check_k(self, n_components):
        if n_components is None:
            return self.n_components_
        if not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= self.n_components_:
            raise InvalidParameterError(
                f"The 'n_components' argument of ECA.predict must be an int in the range "
                f"[1, {self.n_components_}]. Got {n_components!r} instead."
            )
        return int(n_components)

    def transform(self, X, n_components=None) -> np.ndarray:
        """Scores ``t = X V^T`` on the first ``n_components`` vectors."""
        X = self._check_X(X)
        k = self._check_k(n_components)
        return X @ self.components_[:k].T

    def inverse_transform(self, T) -> np.ndarray:
        """Expansion ``x' = T V`` (uses as many vectors as ``T`` has columns)."""
        check_is_fitted(self, "components_")
        T = check_array(T, "T", owner="ECA.inverse_transform")
        if T.shape[1] > self.n_components_:
            raise InvalidParameterError(
                f"The 'T' argument of ECA.inverse_transform must have at most "
                f"{self.n_components_} columns. Got {T.shape[1]} instead."
            )
        return T @ self.components_[: T.shape[1]]

    def predict(self, X, n_components=None) -> np.ndarray:
        """Emulator prediction on the rank-``n_components`` projection of ``X``."""
        k = self._check_k(n_components) if hasattr(self, "components_") else None
        T = self.transform(X, n_components=k)
        return self.emulator_.predict(self.inverse_transform(T))

    def score(self, X, y, n_components=None) -> float:
        """Generalized R2 (:func:`xslatent.metrics.r2_score`) of :meth:`predict`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structures, projected on the first ``n_components`` vectors.
        y : array-like of shape (n_samples, n_outputs)
            True targets.
        n_components : int or None, default=None
            Rank of the projection; None uses all components.

        Returns
        -------
        float
        """
        return r2_score(y, self.predict(X, n_components=n_components))

    # -- latent inversion ----------------------------------------------------------------
    @property
    def _torch_dtype(self):
        return next(self.emulator_.module_.parameters()).dtype

    def _device(self):
        return next(self.emulator_.module_.parameters()).device

    _nested_ranks = True

    def _inversion_module(self):
        return self.emulator_.module_

    def _decode_latent(self, T):
        V = torch.as_tensor(self.components_[: T.shape[1]], dtype=T.dtype, device=T.device)
        return self.emulator_.torch_forward(T @ V)

    # -- model files ---------------------------------------------------------------------
    def _state_for_saving(self):
        """JSON-able fitted scalars and fitted arrays; :mod:`xslatent.io` adds ``emulator_``."""
        check_is_fitted(self, "components_")
        scalars = {
            "n_components_": int(self.n_components_),
            "n_features_in_": int(self.n_features_in_),
            "n_outputs_": int(self.n_outputs_),
            "n_iter_": [int(v) for v in self.n_iter_],
        }
        tensors = {
            name: torch.as_tensor(np.ascontiguousarray(getattr(self, name)))
            for name in ("components_", "r2_per_rank_", "latent_min_", "latent_max_")
        }
        return scalars, tensors

    def _restore_state(self, scalars, tensors, device="cpu"):
        for k, v in scalars.items():
            setattr(self, k, v)
        for name in ("components_", "r2_per_rank_", "latent_min_", "latent_max_"):
            setattr(self, name, tensors[name].numpy().copy())
