"""Neural-network component analysis (NNCA): orthonormal linear encoder + MLP decoder."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin, TransformerMixin

from .._base import TRAINING_CONSTRAINTS, CoveredVarianceScoreMixin, TorchNetworkEstimator
from .._validation import (
    BOOLEAN,
    LAYER_SIZES,
    Interval,
    Options,
    check_array,
    check_is_fitted,
    layer_sizes_tuple,
)
from ..exceptions import InvalidParameterError
from ..io._registry import register_model
from ..metrics import r2_score
from ..nn._modules import EncoderDecoder, OrthonormalProjection, make_mlp
from ..nn._train import flush_denormals
from ._latent import ExpansionMixin, LatentInversionMixin

__all__ = ["NNCA", "hierarchical_rotation", "sign_convention"]


def sign_convention(V: np.ndarray) -> np.ndarray:
    """Signs (+1/−1) that make the largest-magnitude entry of each row of ``V`` positive."""
    idx = np.argmax(np.abs(V), axis=1)
    s = np.sign(V[np.arange(V.shape[0]), idx])
    s[s == 0] = 1.0
    return s


#: rows used to search the rotation (all rows when fewer); the final choice is checked on all
_ROTATION_ROWS = 2048


@flush_denormals
def hierarchical_rotation(
    decode, T, Y, *, n_candidates: int = 32, n_refine: int = 2, max_iter: int = 50,
    learning_rate: float = 0.05, random_state: int = 0,
) -> np.ndarray:
    """Orthogonal ``k × k`` matrix ``Q`` that puts latent coordinates in a rank hierarchy.

    With rotated scores ``t' = Q t`` (basis ``Q V``) the rank-``j`` model decodes
    ``t'_1 … t'_j`` with the later coordinates set to zero, as ECA's rank-``j`` model does.
    ``Q`` is built greedily, one row at a time, as ECA builds its basis: row ``q_j`` is the
    unit vector orthogonal to ``q_1 … q_{j-1}`` that maximises the generalized R2 of the
    rank-``j`` model on ``(T, Y)``. Each row is chosen among the remaining original axes
    (projected on the free subspace) and ``n_candidates`` random directions, and the best
    ``n_refine`` of them are refined by Adam on the sphere; the last row completes the frame.
    Because the original first axis is a candidate of the first row, the rotated rank-1 R2 is
    never below the unrotated one (up to the row subsample used for the search).

    Parameters
    ----------
    decode : callable
        Frozen decoder, ``Tensor (n, k) -> Tensor (n, n_outputs)``.
    T : torch.Tensor of shape (n, k)
        Latent scores of the fitting data.
    Y : torch.Tensor of shape (n, n_outputs)
        Targets of the fitting data.
    n_candidates, n_refine, max_iter : int
        Random candidate directions, candidates refined, Adam steps of the refinement.
    learning_rate : float
        Adam step size.
    random_state : int
        Seed of the candidate directions.

    Returns
    -------
    ndarray of shape (k, k)
        Orthogonal; rows are the new axes in the old latent coordinates.
    """
    k = T.shape[1]
    dtype, device = T.dtype, T.device
    eye = torch.eye(k, dtype=dtype, device=device)
    if k == 1:
        return np.eye(1)
    gen = torch.Generator().manual_seed(int(random_state))
    if T.shape[0] > _ROTATION_ROWS:
        idx = torch.randperm(T.shape[0], generator=gen)[:_ROTATION_ROWS].to(device)
        Ts, Ys = T[idx], Y[idx]
    else:
        Ts, Ys = T, Y
    ss_tot = ((Ys - Ys.mean(0)) ** 2).sum()
    rows: list[torch.Tensor] = []
    for j in range(1, k):
        done = torch.stack(rows) if rows else torch.zeros((0, k), dtype=dtype, device=device)
        free = eye - done.T @ done

        def frames(U):
            u = U @ free
            u = u / torch.linalg.norm(u, dim=1, keepdim=True).clamp_min(1e-30)
            # complete each candidate (done rows, u) to a full frame; later rows are irrelevant
            # to the rank-j score, so any completion works
            head = torch.cat([done[None].expand(u.shape[0], -1, -1), u[:, None, :]], dim=1)
            return head

        def score(U, Tsub=Ts, Ysub=Ys, sst=ss_tot):
            head = frames(U)
            P = head.mT @ head
            Tp = torch.einsum("nk,ckl->cnl", Tsub, P)
            pred = decode(Tp.reshape(-1, k)).reshape(U.shape[0], Tsub.shape[0], -1)
            return 1.0 - ((pred - Ysub[None]) ** 2).sum(dim=(1, 2)) / sst

        axes = eye[[i for i in range(k) if float(torch.linalg.norm(eye[i] @ free)) > 1e-8]]
        rand = torch.randn((n_candidates, k), generator=gen, dtype=torch.float64).to(device, dtype)
        cand = torch.cat([axes, rand])
        with torch.no_grad():
            r2 = score(cand)
        top = torch.topk(r2, min(n_refine, cand.shape[0])).indices
        U = cand[top].clone().requires_grad_(True)
        opt = torch.optim.Adam([U], lr=learning_rate)
        best_r2 = torch.full((U.shape[0],), -float("inf"), dtype=dtype, device=device)
        best_U = U.detach().clone()
        for _ in range(max_iter + 1):
            r2u = score(U)
            with torch.no_grad():
                better = r2u > best_r2
                best_r2 = torch.where(better, r2u, best_r2)
                best_U = torch.where(better[:, None], U.detach(), best_U)
            opt.zero_grad(set_to_none=True)
            (-r2u.sum()).backward()
            opt.step()
        with torch.no_grad():
            choice = frames(best_U[torch.argmax(best_r2)][None])[0, -1]
            if j == 1:
                # keep the unrotated first axis unless the choice beats it on all rows
                sst_all = ((Y - Y.mean(0)) ** 2).sum()
                both = torch.stack([choice, eye[0]])
                r2_all = score(both, T, Y, sst_all)
                if r2_all[1] >= r2_all[0]:
                    choice = eye[0]
        rows.append(choice.detach())
    done = torch.stack(rows)
    # the last row: the unit vector orthogonal to all others
    _, _, Vh = torch.linalg.svd(done.double(), full_matrices=True)
    Q = torch.cat([done.double(), Vh[-1:]], dim=0)
    # exact orthogonality in float64
    U_, _, Vh_ = torch.linalg.svd(Q)
    return (U_ @ Vh_).cpu().numpy()


@register_model(searchable=True)
class NNCA(CoveredVarianceScoreMixin, ExpansionMixin, LatentInversionMixin, TransformerMixin, RegressorMixin, TorchNetworkEstimator):
    """EDNN whose encoder is one bias-free, activation-free layer with orthonormal rows.

    The encoder computes the ECA scores ``t = X V^T``; the basis ``V`` is learned jointly
    with the decoder and stays exactly orthonormal during training through
    :func:`torch.nn.utils.parametrizations.orthogonal`. Latent values expand back to
    structure space as ``x' = t V``.

    Parameters
    ----------
    n_components : int, default=1
        Number of basis vectors (bottleneck width); at most ``n_features``.
    decoder_layer_sizes : tuple of int, default=(100, 100)
        Hidden widths of the decoder.
    activation : {"relu", "leaky_relu", "tanh"}, default="relu"
        Decoder activation.
    hierarchical : bool, default=True
        After training, rotate the basis within its span by the orthogonal ``k × k`` matrix of
        :func:`hierarchical_rotation` and map the decoder's input accordingly (its first layer
        becomes ``W_1 Q^T``), so that full-rank predictions are unchanged while the rank-``j``
        model (later latents set to zero, as in ECA) covers the most variance for each ``j``
        in turn. The paper notes that NNCA's lack of rank order "could in principle be fixed
        by posterior unitary transformation"; this is that transformation. False keeps the
        basis as trained (no rank order; :meth:`predict` then only takes the full rank).
    alpha, learning_rate_init, batch_size, max_iter, early_stopping, validation_fraction, \
n_iter_no_change, tol, random_state, device, dtype, verbose
        As in :class:`xslatent.MLPEmulator`.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Orthonormal basis vectors; each row's largest-magnitude entry is positive.
    n_components_ : int
    latent_min_, latent_max_ : ndarray of shape (n_components,)
        Range of the scores over the training data.
    r2_per_rank_ : ndarray of shape (n_components,)
        Cumulative R2 on the fitting data using the first 1, 2, … components (later latents
        set to zero), as :attr:`xslatent.ECA.r2_per_rank_`.
    rotation_ : ndarray of shape (n_components, n_components)
        The orthogonal matrix applied after training (identity when ``hierarchical=False``).
    module_ : xslatent.nn.EncoderDecoder
        Trained network (the parametrization removed after training).
    n_features_in_, n_outputs_, loss_curve_, validation_scores_, n_iter_, seed_
        As in :class:`xslatent.MLPEmulator`.

    Notes
    -----
    The components are optimised together, so as trained they have no rank order; with
    ``hierarchical=True`` (default) a rotation within their span restores ECA's rank-by-rank
    meaning without changing the full-rank model.

    See Also
    --------
    ECA, EDNN
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "n_components": [Interval(int, 1, None)],
        "decoder_layer_sizes": [LAYER_SIZES],
        "activation": [Options(("relu", "leaky_relu", "tanh"))],
        "hierarchical": [BOOLEAN],
    }
    _fitted_array_attrs = ("components_", "latent_min_", "latent_max_", "r2_per_rank_", "rotation_")

    def __init__(
        self,
        n_components=1,
        *,
        decoder_layer_sizes=(100, 100),
        activation="relu",
        hierarchical=True,
        alpha=1e-4,
        learning_rate_init=1e-3,
        batch_size="auto",
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        device="cpu",
        dtype="float32",
        verbose=False,
    ):
        self.n_components = n_components
        self.decoder_layer_sizes = decoder_layer_sizes
        self.activation = activation
        self.hierarchical = hierarchical
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    def _build_module(self, n_features, n_outputs, for_loading=False):
        k = int(self.n_components)
        encoder = OrthonormalProjection(n_features, k, parametrized=not for_loading)
        decoder = make_mlp(k, layer_sizes_tuple(self.decoder_layer_sizes), n_outputs, self.activation)
        return EncoderDecoder(encoder, decoder)

    def _check_shapes(self, X, Y):
        if self.n_components > X.shape[1]:
            raise InvalidParameterError(
                f"The 'n_components' parameter of NNCA must be an int in the range "
                f"[1, n_features={X.shape[1]}]. Got {self.n_components} instead."
            )

    def _after_training(self, X, Y):
        enc = self.module_.encoder
        enc.freeze()
        with torch.no_grad():
            W = enc.linear.weight.detach().double()
            # Exact orthonormality after float32 training: symmetric re-orthonormalisation
            # (the closest orthonormal rows, so predictions barely move).
            U, _, Vh = torch.linalg.svd(W, full_matrices=False)
            W = U @ Vh
        k = W.shape[0]
        Q = np.eye(k)
        if self.hierarchical and k > 1:
            Q = self._rank_rotation(X @ W.cpu().numpy().T, Y)
        self._apply_rotation(W.cpu().numpy(), Q)
        self.n_components_ = k
        self._record_latent_range(self.transform(X))
        self.r2_per_rank_ = np.array(
            [r2_score(Y, self.predict(X, n_components=j)) for j in range(1, k + 1)]
        ) if self.hierarchical else np.array([np.nan] * (k - 1) + [r2_score(Y, self.predict(X))])

    def _rank_rotation(self, T, Y) -> np.ndarray:
        """:func:`hierarchical_rotation` of the trained decoder on the training scores."""
        from ..nn._modules import frozen_parameters

        decoder = self.module_.decoder
        dtype = self._torch_dtype
        with frozen_parameters(decoder):
            return hierarchical_rotation(
                decoder,
                torch.as_tensor(T, dtype=dtype, device=self._device()),
                torch.as_tensor(Y, dtype=dtype, device=self._device()),
                random_state=int(self.seed_),
            )

    def _apply_rotation(self, W: np.ndarray, Q: np.ndarray) -> None:
        """Set the basis to ``s * (Q W)`` (signs ``s`` by :func:`sign_convention`) and the decoder's
        first layer to ``W_1 (s Q)^T`` so that full-rank predictions are unchanged."""
        Vn = Q @ W
        s = sign_convention(Vn)
        Qs = Q * s[:, None]
        enc, first = self.module_.encoder, self.module_.decoder[0]
        with torch.no_grad():
            enc.linear.weight.copy_(torch.as_tensor(Qs @ W, dtype=enc.linear.weight.dtype))
            W1 = first.weight.detach().double().cpu().numpy() @ Qs.T
            first.weight.copy_(torch.as_tensor(W1, dtype=first.weight.dtype, device=first.weight.device))
        self.components_ = Qs @ W
        self.rotation_ = Qs

    def fit(self, X, y, init_from=None):
        """Learn the orthonormal basis and the decoder jointly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structures, projected on the orthonormal basis.
        y : array-like of shape (n_samples, n_outputs)
            Targets (2-D) the decoder learns to reproduce from the scores.
        init_from : ECA, optional
            Warm start from a fitted ECA (ECA is a linear projection in front of the emulator,
            so an NNCA whose decoder has the emulator's architecture contains it): the basis
            starts at the ECA's first ``n_components`` vectors and the decoder at the emulator
            with its first layer ``W_1`` replaced by ``W_1 V^T``, so that the network starts
            out computing exactly the ECA's rank-``n_components`` predictions. Needs
            ``n_components`` at most the ECA's, ``activation="relu"`` and
            ``decoder_layer_sizes`` equal to the emulator's ``hidden_layer_sizes``.

        Returns
        -------
        self : NNCA
        """
        warm = None if init_from is None else self._warm_start_from_eca(init_from)
        return self._fit_network(X, y, warm_start=warm)

    def _warm_start_from_eca(self, eca):
        from ._eca import ECA

        k = int(self.n_components)
        dec = layer_sizes_tuple(self.decoder_layer_sizes)
        problems = []
        if not isinstance(eca, ECA) or not hasattr(eca, "components_"):
            problems.append(f"a fitted ECA (got {type(eca).__name__})")
        else:
            emulator = eca.emulator_
            hidden = getattr(emulator, "hidden_layer_sizes", None)
            module = getattr(emulator, "module_", None)
            if eca.components_.shape[0] < k:
                problems.append(f"at least n_components = {k} vectors (the ECA has {eca.components_.shape[0]})")
            if not (isinstance(module, torch.nn.Sequential) and hidden is not None
                    and layer_sizes_tuple(hidden) == dec):
                problems.append(
                    f"an MLP emulator with hidden_layer_sizes equal to the NNCA's decoder_layer_sizes {dec} "
                    f"(the emulator has {None if hidden is None else layer_sizes_tuple(hidden)})"
                )
        if self.activation != "relu":
            problems.append(f"activation 'relu', the emulator's (NNCA {self.activation!r})")
        if problems:
            raise InvalidParameterError(
                f"The 'init_from' argument of NNCA.fit must be a fitted ECA matching the NNCA: "
                f"{'; '.join(problems)}."
            )
        V = np.asarray(eca.components_[:k], dtype=np.float64)

        def warm_start(module):
            from ..nn._modules import assign_orthonormal

            if module.encoder.linear.in_features != V.shape[1]:
                raise InvalidParameterError(
                    f"The 'init_from' argument of NNCA.fit must be an ECA fitted on "
                    f"{module.encoder.linear.in_features} features. Got one with {V.shape[1]} instead."
                )
            n_out = module.decoder[-1].out_features
            em_out = eca.emulator_.module_[-1].out_features
            if n_out != em_out:
                raise InvalidParameterError(
                    f"The 'init_from' argument of NNCA.fit must be an ECA whose emulator predicts the "
                    f"{n_out} targets of y. Got one with {em_out} instead."
                )
            assign_orthonormal(module.encoder.linear, torch.as_tensor(V), 0)
            state = {k_: v.detach().cpu() for k_, v in eca.emulator_.module_.state_dict().items()}
            state["0.weight"] = state["0.weight"].double() @ torch.as_tensor(V).T
            module.decoder.load_state_dict({k_: v.to(module.decoder[0].weight.dtype) for k_, v in state.items()})

        return warm_start

    @property
    def _nested_ranks(self) -> bool:
        """The first ``j`` latents form a model of their own when the basis is rotated."""
        return bool(self.hierarchical)

    def _check_k(self, n_components, owner) -> int:
        k_max = self.n_components_
        if n_components is None:
            return k_max
        ok = isinstance(n_components, (int, np.integer)) and (
            1 <= n_components <= k_max if self.hierarchical else n_components == k_max
        )
        if not ok:
            allowed = f"an int in the range [1, {k_max}]" if self.hierarchical else f"None or {k_max} (hierarchical=False)"
            raise InvalidParameterError(
                f"The 'n_components' argument of NNCA.{owner} must be {allowed}. Got {n_components!r} instead."
            )
        return int(n_components)

    def transform(self, X, n_components=None) -> np.ndarray:
        """Scores ``t = X V^T`` on the first ``n_components`` vectors (all by default)."""
        X = self._check_X(X)
        k = self._check_k(n_components, "transform")
        return X @ self.components_[:k].T

    def inverse_transform(self, T) -> np.ndarray:
        """Expansion ``x' = T V`` back to (standardized) structure space.

        With ``hierarchical=True``, ``T`` may have fewer columns than components (the first
        ones, as in :meth:`xslatent.ECA.inverse_transform`).
        """
        check_is_fitted(self, "components_")
        T = check_array(T, "T", owner="NNCA.inverse_transform")
        self._check_latent_width(T, "inverse_transform")
        return T @ self.components_[: T.shape[1]]

    def _check_latent_width(self, T, owner):
        k_max = self.n_components_
        if T.shape[1] == k_max or (self.hierarchical and 1 <= T.shape[1] <= k_max):
            return
        allowed = f"1 to {k_max}" if self.hierarchical else f"{k_max}"
        raise InvalidParameterError(
            f"The 'T' argument of NNCA.{owner} must have {allowed} columns. Got {T.shape[1]} instead."
        )

    def predict(self, X, n_components=None) -> np.ndarray:
        """Predicted targets; with ``n_components=j`` the rank-``j`` model (later latents zero).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_components : int or None, default=None
            Rank of the model (requires ``hierarchical=True`` below the full rank).

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        X = self._check_X(X)
        k = self._check_k(n_components, "predict")
        if k == self.n_components_:
            return self._apply(self.module_, X)
        return self.decode(X @ self.components_[:k].T)

    def score(self, X, y, n_components=None, sample_weight=None) -> float:
        """Generalized R2 of :meth:`predict` (of the rank-``n_components`` model).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Structures.
        y : array-like of shape (n_samples, n_outputs)
            True targets.
        n_components : int, optional
            Rank of the model (default: all components).
        sample_weight : None
            Not supported.

        Returns
        -------
        float
        """
        if sample_weight is not None:
            return super().score(X, y, sample_weight=sample_weight)  # raises: not supported
        return r2_score(y, self.predict(X, n_components=n_components))

    def decode(self, T) -> np.ndarray:
        """Decoder output for scores ``T`` (missing trailing latents are set to zero)."""
        check_is_fitted(self, "components_")
        T = check_array(T, "T", owner="NNCA.decode")
        self._check_latent_width(T, "decode")
        return self._apply(self._decode_latent, T)

    def _decode_latent(self, T):
        if T.shape[1] < self.n_components_:
            T = torch.cat([T, T.new_zeros(T.shape[0], self.n_components_ - T.shape[1])], dim=1)
        return self.module_.decoder(T)

    def _restore_state(self, scalars, tensors, device="cpu"):
        # model files written before the rotation existed: unrotated, no per-rank R2
        if "rotation_" not in tensors:
            k = int(scalars.get("n_components_", self.n_components))
            tensors = {**tensors, "rotation_": torch.eye(k, dtype=torch.float64),
                       "r2_per_rank_": torch.full((k,), float("nan"), dtype=torch.float64)}
            self.hierarchical = False
        super()._restore_state(scalars, tensors, device=device)
