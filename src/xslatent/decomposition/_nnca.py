"""Neural-network component analysis (NNCA): orthonormal linear encoder + MLP decoder."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin, TransformerMixin

from .._base import TRAINING_CONSTRAINTS, CoveredVarianceScoreMixin, TorchNetworkEstimator
from .._validation import LAYER_SIZES, layer_sizes_tuple, Interval, Options, check_array, check_is_fitted
from ..exceptions import InvalidParameterError
from ..io._registry import register_model
from ..nn._modules import EncoderDecoder, OrthonormalProjection, make_mlp
from ._latent import ExpansionMixin, LatentInversionMixin

__all__ = ["NNCA", "sign_convention"]


def sign_convention(V: np.ndarray) -> np.ndarray:
    """Signs (+1/−1) that make the largest-magnitude entry of each row of ``V`` positive."""
    idx = np.argmax(np.abs(V), axis=1)
    s = np.sign(V[np.arange(V.shape[0]), idx])
    s[s == 0] = 1.0
    return s


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
    module_ : xslatent.nn.EncoderDecoder
        Trained network (the parametrization removed after training).
    n_features_in_, n_outputs_, loss_curve_, validation_scores_, n_iter_, seed_
        As in :class:`xslatent.MLPEmulator`.

    Notes
    -----
    Unlike ECA the components have no rank order: they are optimised together.

    See Also
    --------
    ECA, EDNN
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "n_components": [Interval(int, 1, None)],
        "decoder_layer_sizes": [LAYER_SIZES],
        "activation": [Options(("relu", "leaky_relu", "tanh"))],
    }
    _fitted_array_attrs = ("components_", "latent_min_", "latent_max_")

    def __init__(
        self,
        n_components=1,
        *,
        decoder_layer_sizes=(100, 100),
        activation="relu",
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
            s = torch.as_tensor(sign_convention(W.cpu().numpy()), dtype=W.dtype, device=W.device)
            W = W * s[:, None]
            enc.linear.weight.copy_(W.to(enc.linear.weight.dtype))
            first = self.module_.decoder[0]
            first.weight.mul_(s.to(first.weight.dtype)[None, :])
        self.components_ = W.cpu().numpy().astype(np.float64)
        self.n_components_ = int(self.n_components)
        self._record_latent_range(self.transform(X))

    def fit(self, X, y):
        """Learn the orthonormal basis and the decoder jointly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structures, projected on the orthonormal basis.
        y : array-like of shape (n_samples, n_outputs)
            Targets (2-D) the decoder learns to reproduce from the scores.

        Returns
        -------
        self : NNCA
        """
        return self._fit_network(X, y)

    def transform(self, X) -> np.ndarray:
        """Scores ``t = X V^T`` (n_samples, n_components)."""
        X = self._check_X(X)
        return X @ self.components_.T

    def inverse_transform(self, T) -> np.ndarray:
        """Expansion ``x' = T V`` back to (standardized) structure space."""
        check_is_fitted(self, "components_")
        T = check_array(T, "T", owner="NNCA.inverse_transform")
        if T.shape[1] != self.n_components_:
            raise InvalidParameterError(
                f"The 'T' argument of NNCA.inverse_transform must have {self.n_components_} "
                f"columns. Got {T.shape[1]} instead."
            )
        return T @ self.components_

    def decode(self, T) -> np.ndarray:
        """Decoder output for scores ``T``."""
        check_is_fitted(self, "components_")
        T = check_array(T, "T", owner="NNCA.decode")
        if T.shape[1] != self.n_components_:
            raise InvalidParameterError(
                f"The 'T' argument of NNCA.decode must have {self.n_components_} columns. "
                f"Got {T.shape[1]} instead."
            )
        return self._apply(self.module_.decoder, T)

    def _decode_latent(self, T):
        return self.module_.decoder(T)
