"""Encoder–decoder neural network (EDNN) with a narrow linear bottleneck."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, TransformerMixin

from .._base import TRAINING_CONSTRAINTS, CoveredVarianceScoreMixin, TorchNetworkEstimator
from .._validation import LAYER_SIZES, layer_sizes_tuple, check_array, check_is_fitted, Interval, Options
from ..exceptions import InvalidParameterError
from ..io._registry import register_model
from ..nn._modules import EncoderDecoder, make_mlp
from ._latent import LatentInversionMixin

__all__ = ["EDNN"]


@register_model(searchable=True)
class EDNN(CoveredVarianceScoreMixin, LatentInversionMixin, TransformerMixin, RegressorMixin, TorchNetworkEstimator):
    """Encoder MLP → bottleneck of ``n_components`` neurons → decoder MLP, trained end to end.

    The bottleneck is linear (no activation), so its values are the latent variables.
    EDNN covers more target variance than ECA or NNCA at the same number of components, but
    its latent values are nonlinear functions of the structure with no expansion back to
    structure space (see :mod:`xslatent.inverse` for why inverting it is unstable).

    Parameters
    ----------
    n_components : int, default=1
        Bottleneck width.
    encoder_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of the encoder (input → bottleneck).
    decoder_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of the decoder (bottleneck → output).
    activation : {"relu", "leaky_relu", "tanh"}, default="relu"
        Hidden-layer activation.
    alpha, learning_rate_init, batch_size, max_iter, early_stopping, validation_fraction, \
n_iter_no_change, tol, random_state, device, dtype, verbose
        As in :class:`xslatent.MLPEmulator`.

    Attributes
    ----------
    module_ : xslatent.nn.EncoderDecoder
        Trained network; ``module_.encoder`` ends at the bottleneck.
    n_components_ : int
        Bottleneck width.
    latent_min_, latent_max_ : ndarray of shape (n_components,)
        Range of the bottleneck values over the training data (used by ``fit_latent``).
    n_features_in_, n_outputs_, loss_curve_, validation_scores_, n_iter_, seed_
        As in :class:`xslatent.MLPEmulator`.

    See Also
    --------
    NNCA : the same with a linear, orthonormal encoder.
    ECA : rank-by-rank projection pursuit on a fitted emulator.
    """

    _parameter_constraints = {
        **TRAINING_CONSTRAINTS,
        "n_components": [Interval(int, 1, None)],
        "encoder_layer_sizes": [LAYER_SIZES],
        "decoder_layer_sizes": [LAYER_SIZES],
        "activation": [Options(("relu", "leaky_relu", "tanh"))],
    }
    _fitted_array_attrs = ("latent_min_", "latent_max_")

    def __init__(
        self,
        n_components=1,
        *,
        encoder_layer_sizes=(64, 64),
        decoder_layer_sizes=(64, 64),
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
        self.encoder_layer_sizes = encoder_layer_sizes
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
        encoder = make_mlp(n_features, layer_sizes_tuple(self.encoder_layer_sizes), k, self.activation)
        decoder = make_mlp(k, layer_sizes_tuple(self.decoder_layer_sizes), n_outputs, self.activation)
        return EncoderDecoder(encoder, decoder)

    def _check_shapes(self, X, Y):
        if self.n_components > X.shape[1]:
            raise InvalidParameterError(
                f"The 'n_components' parameter of {type(self).__name__} must be an int in the "
                f"range [1, n_features={X.shape[1]}]. Got {self.n_components} instead."
            )

    def _after_training(self, X, Y):
        self.n_components_ = int(self.n_components)
        self._record_latent_range(self.transform(X))

    def fit(self, X, y, init_from=None):
        """Train encoder and decoder jointly to predict ``y`` from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structures, the encoder's input.
        y : array-like of shape (n_samples, n_outputs)
            Targets (2-D) the decoder learns to reproduce from the bottleneck.
        init_from : NNCA, optional
            Warm start from a fitted NNCA (NNCA is an EDNN whose encoder is linear and
            orthonormal): the network starts out computing exactly the NNCA's predictions,
            its encoder carrying the projection through the hidden layers as a +/- pair of
            ReLU units (:mod:`xslatent.nn._warm`) and its decoder a copy of the NNCA's. Needs
            the same ``n_components``, ``activation`` ("relu" or "leaky_relu") and
            ``decoder_layer_sizes`` as the NNCA, and every encoder hidden layer at least
            ``2 * n_components`` wide.

        Returns
        -------
        self : EDNN
        """
        warm = None if init_from is None else self._warm_start_from_nnca(init_from)
        return self._fit_network(X, y, warm_start=warm)

    def _warm_start_from_nnca(self, nnca):
        from ._nnca import NNCA

        k = int(self.n_components)
        enc = layer_sizes_tuple(self.encoder_layer_sizes)
        dec = layer_sizes_tuple(self.decoder_layer_sizes)
        problems = []
        if not isinstance(nnca, NNCA) or not hasattr(nnca, "components_"):
            problems.append(f"a fitted NNCA (got {type(nnca).__name__})")
        else:
            if nnca.n_components_ != k:
                problems.append(f"n_components {k} (NNCA has {nnca.n_components_})")
            if nnca.activation != self.activation or self.activation not in ("relu", "leaky_relu"):
                problems.append(
                    f"activation 'relu' or 'leaky_relu' equal to the NNCA's "
                    f"(EDNN {self.activation!r}, NNCA {nnca.activation!r})"
                )
            if layer_sizes_tuple(nnca.decoder_layer_sizes) != dec:
                problems.append(
                    f"decoder_layer_sizes equal to the NNCA's {layer_sizes_tuple(nnca.decoder_layer_sizes)} "
                    f"(EDNN {dec})"
                )
        if any(w < 2 * k for w in enc):
            problems.append(f"encoder_layer_sizes all >= 2 * n_components = {2 * k} (got {enc})")
        if problems:
            raise InvalidParameterError(
                f"The 'init_from' argument of EDNN.fit must be a fitted NNCA matching the EDNN: "
                f"{'; '.join(problems)}."
            )

        def warm_start(module):
            from ..nn._warm import embed_affine

            if module.encoder[0].in_features != nnca.n_features_in_:
                raise InvalidParameterError(
                    f"The 'init_from' argument of EDNN.fit must be an NNCA fitted on "
                    f"{module.encoder[0].in_features} features. Got one with {nnca.n_features_in_} instead."
                )
            embed_affine(module.encoder, nnca.components_)
            state = {k_: v.detach().cpu() for k_, v in nnca.module_.decoder.state_dict().items()}
            module.decoder.load_state_dict(state)

        return warm_start

    def transform(self, X) -> np.ndarray:
        """Bottleneck activations (n_samples, n_components)."""
        X = self._check_X(X)
        return self._apply(self.module_.encoder, X)

    def decode(self, T) -> np.ndarray:
        """Decoder output for latent values ``T`` (n_samples, n_components)."""
        check_is_fitted(self, "module_")
        T = check_array(T, "T", owner=type(self).__name__)
        if T.shape[1] != self.n_components_:
            raise InvalidParameterError(
                f"The 'T' argument of {type(self).__name__}.decode must have "
                f"{self.n_components_} columns. Got {T.shape[1]} instead."
            )
        return self._apply(self.module_.decoder, T)

    def _decode_latent(self, T):
        return self.module_.decoder(T)
