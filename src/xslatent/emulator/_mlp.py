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

    def fit(self, X, y):
        """Train the network on structures ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized structural descriptors.
        y : array-like of shape (n_samples, n_outputs)
            Targets (scaled spectra or moments); 2-D, as for a multi-output
            :class:`~sklearn.neural_network.MLPRegressor`.

        Returns
        -------
        self : MLPEmulator
        """
        return self._fit_network(X, y)

    def torch_forward(self, X):
        """The trained network as a torch function (used by ECA and latent inversion)."""
        check_is_fitted(self, "module_")
        return self.module_(X)
