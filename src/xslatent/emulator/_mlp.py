"""Multilayer-perceptron emulator (torch), with MLPRegressor's parameter names."""

from __future__ import annotations

from sklearn.base import RegressorMixin

from .._base import TRAINING_CONSTRAINTS, CoveredVarianceScoreMixin, TorchNetworkEstimator
from .._validation import LAYER_SIZES, check_is_fitted, layer_sizes_tuple
from ..io._registry import register_model
from ..nn._modules import make_mlp

__all__ = ["MLPEmulator"]


@register_model(searchable=True, aliases=("emulator", "mlp"))
class MLPEmulator(CoveredVarianceScoreMixin, RegressorMixin, TorchNetworkEstimator):
    """Feed-forward ReLU network predicting spectra ``Y`` from structural descriptors ``X``.

    A PyTorch counterpart of :class:`sklearn.neural_network.MLPRegressor` (same parameter
    names and the same objective: half mean squared error plus ``alpha``-weighted L2 on the
    weights, Adam) that trains on any torch ``device`` and exposes its network to ECA.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    alpha : float, default=1e-4
        L2 penalty on the weights.
    learning_rate_init : float, default=1e-3
        Adam step size.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    max_iter : int, default=200
        Maximum number of epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its R2 stalls.
    validation_fraction : float, default=0.1
        Held-out share for early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Improvement threshold of the stopping rule.
    random_state : int or None, default=None
        Seed of initialisation, validation split and minibatch order. Fixed → bit-identical
        results on CPU.
    device : str, default="cpu"
        Torch device, e.g. "cuda:0".
    dtype : {"float32", "float64"}, default="float32"
        Floating-point precision of the network.
    verbose : bool, default=False
        Show a progress bar over epochs.

    Attributes
    ----------
    module_ : torch.nn.Sequential
        The trained network (in eval mode).
    n_features_in_, n_outputs_ : int
        Input and output widths.
    loss_curve_ : list of float
        Training loss per epoch.
    validation_scores_ : list of float or None
        Validation R2 per epoch when ``early_stopping``.
    n_iter_ : int
        Epochs run.
    seed_ : int
        The seed actually used.

    See Also
    --------
    xslatent.ECA : component analysis on a fitted emulator.

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent import MLPEmulator
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); Y = np.c_[X[:, :1] ** 2, X.sum(1)]
    >>> est = MLPEmulator(hidden_layer_sizes=(32,), max_iter=50, random_state=0).fit(X, Y)
    >>> est.predict(X).shape
    (200, 2)
    """

    _parameter_constraints = {**TRAINING_CONSTRAINTS, "hidden_layer_sizes": [LAYER_SIZES]}

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
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
        self.hidden_layer_sizes = hidden_layer_sizes
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
        return make_mlp(n_features, layer_sizes_tuple(self.hidden_layer_sizes), n_outputs, "relu")

    def fit(self, X, y, init_from=None):
        """Train the network on structures ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structural descriptors.
        y : array-like of shape (n_samples, n_outputs)
            Targets (scaled spectra or moments); 2-D, as for a multi-output
            :class:`~sklearn.neural_network.MLPRegressor`.
        init_from : linear model, optional
            Warm start from a fitted linear model with ``coef_`` (n_outputs, n_features) and
            ``intercept_`` (e.g. :class:`sklearn.linear_model.RidgeCV`): the network starts out
            computing exactly its predictions (:mod:`xslatent.nn._warm`). Needs every hidden
            layer at least ``2 * min(n_features, n_outputs)`` wide.

        Returns
        -------
        self : MLPEmulator
        """
        warm = None if init_from is None else _linear_warm_start(init_from, self.hidden_layer_sizes)
        return self._fit_network(X, y, warm_start=warm)

    def torch_forward(self, X):
        """The trained network as a torch function (used by ECA and latent inversion)."""
        check_is_fitted(self, "module_")
        return self.module_(X)


def _linear_warm_start(model, hidden_layer_sizes):
    """``warm_start(module)`` embedding a fitted linear model (see ``MLPEmulator.fit``)."""
    import numpy as np

    from ..exceptions import InvalidParameterError

    coef = getattr(model, "coef_", None)
    if coef is None:
        raise InvalidParameterError(
            "The 'init_from' argument of MLPEmulator.fit must be a fitted linear model with "
            f"'coef_' and 'intercept_'. Got {type(model).__name__} instead."
        )
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(getattr(model, "intercept_", 0.0), dtype=np.float64), coef.shape[:1]).copy()
    n_out, n_in = coef.shape
    m = min(n_in, n_out)
    hidden = layer_sizes_tuple(hidden_layer_sizes)
    if any(w < 2 * m for w in hidden):
        raise InvalidParameterError(
            f"The 'init_from' argument of MLPEmulator.fit needs every hidden layer at least "
            f"2 * min(n_features, n_outputs) = {2 * m} wide. Got hidden_layer_sizes={hidden} instead."
        )

    def warm_start(module):
        from ..nn._warm import embed_affine

        if module[0].in_features != n_in or module[-1].out_features != n_out:
            raise InvalidParameterError(
                f"The 'init_from' argument of MLPEmulator.fit must map {module[0].in_features} features "
                f"to {module[-1].out_features} outputs. Got a model of shape {coef.shape} instead."
            )
        if n_in <= n_out:
            embed_affine(module, np.eye(n_in), None, coef, intercept)
        else:
            embed_affine(module, coef, intercept, None, None)

    return warm_start
