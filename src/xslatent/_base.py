"""Shared machinery of the torch-backed estimators (emulator, EDNN, NNCA)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ._validation import (
    BOOLEAN,
    DEVICE,
    RANDOM_STATE,
    Interval,
    Options,
    check_array,
    check_is_fitted,
    check_n_features,
    check_random_state_int,
    check_X_y,
    resolve_device,
    validate_params,
)
from .exceptions import InvalidParameterError
from .metrics import r2_score
from .nn._train import DTYPES, TrainConfig, train_module
from .nn._modules import init_linear_layers

__all__ = [
    "TorchNetworkEstimator",
    "TrainingSetup",
    "CoveredVarianceScoreMixin",
    "TRAINING_CONSTRAINTS",
    "PREDICT_CHUNK",
]


def atomic_fit(fit):
    """Decorator of ``fit``: if it raises, the estimator is left exactly as before the call.

    A failed fit thus leaves no half-fitted state (no new fitted attributes, earlier ones
    untouched), whatever step failed.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return wrapper


def multi_output_tags(tags):
    """scikit-learn tags of an estimator that needs a 2-D target ``Y``."""
    tags.target_tags.required = True
    tags.target_tags.multi_output = True
    tags.target_tags.single_output = False
    return tags


class CoveredVarianceScoreMixin:
    """``score`` = generalized covered variance, not scikit-learn's per-channel average.

    Placed first among the bases so it wins over :class:`sklearn.base.RegressorMixin`.
    """

    def score(self, X, y, sample_weight=None) -> float:
        """Generalized covered variance :func:`xslatent.metrics.r2_score` of ``predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Structures.
        y : array-like of shape (n_samples, n_outputs)
            True targets.
        sample_weight : None
            Not supported; present for scikit-learn compatibility.

        Returns
        -------
        float
        """
        if sample_weight is not None:
            raise InvalidParameterError(
                f"The 'sample_weight' argument of {type(self).__name__}.score must be None. "
                f"Got an array instead."
            )
        return r2_score(y, self.predict(X))


@dataclass
class TrainingSetup:
    """What :meth:`TorchNetworkEstimator.prepare_training` returns: validated data, the
    initialised network and how to train it."""

    X: np.ndarray
    Y: np.ndarray
    module: torch.nn.Module | None
    config: TrainConfig
    seed: int
    device: torch.device
    dtype: torch.dtype


#: rows per forward pass in ``predict`` (bounds memory on large inputs)
PREDICT_CHUNK = 65536

TRAINING_CONSTRAINTS = {
    "alpha": [Interval(float, 0, None, closed="left")],
    "learning_rate_init": [Interval(float, 0, None, closed="neither")],
    "batch_size": [Interval(int, 1, None), Options(("auto",))],
    "max_iter": [Interval(int, 1, None)],
    "early_stopping": [BOOLEAN],
    "validation_fraction": [Interval(float, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(int, 1, None)],
    "tol": [Interval(float, 0, None, closed="left")],
    "random_state": [RANDOM_STATE],
    "device": [DEVICE],
    "dtype": [Options(("float32", "float64"))],
    "verbose": [BOOLEAN],
}


@functools.lru_cache(maxsize=None)
def _init_param_names(cls) -> tuple:
    return tuple(BaseEstimator._get_param_names.__func__(cls))


class TorchNetworkEstimator(BaseEstimator):
    """Base class: validates parameters, builds, trains and evaluates ``module_``.

    Subclasses define ``_parameter_constraints``, ``_build_module(n_features, n_outputs)``
    and may override ``_after_training``.
    """

    _parameter_constraints: dict = TRAINING_CONSTRAINTS
    #: fitted numpy attributes that model files store beside the network weights
    _fitted_array_attrs: tuple = ()

    def __sklearn_tags__(self):
        return multi_output_tags(super().__sklearn_tags__())

    @classmethod
    def _get_param_names(cls):
        # scikit-learn reads the __init__ signature anew on every get_params, set_params and
        # clone; a search clones per training: read it once per class
        return list(_init_param_names(cls))

    # -- helpers -------------------------------------------------------------------------
    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False), self._parameter_constraints)

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            alpha=float(self.alpha),
            learning_rate_init=float(self.learning_rate_init),
            batch_size=self.batch_size,
            max_iter=int(self.max_iter),
            early_stopping=bool(self.early_stopping),
            validation_fraction=float(self.validation_fraction),
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
        )

    @property
    def _torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def build_network(self, n_features: int, n_outputs: int, seed: int) -> torch.nn.Module:
        """The initialised network ``fit`` would train, on the estimator's device and dtype.

        Linear layers are initialised by :func:`~xslatent.nn._modules.init_linear_layers`
        from ``torch.Generator().manual_seed(seed)``. Package-internal: shared by ``fit`` and
        the batched search.

        Parameters
        ----------
        n_features, n_outputs : int
            Input and output widths.
        seed : int
            Seed of the initial weights.

        Returns
        -------
        torch.nn.Module
        """
        module = self._build_module(n_features, n_outputs)
        init_linear_layers(module, torch.Generator().manual_seed(int(seed)))
        device = resolve_device(self.device, type(self).__name__)
        return module.to(device=device, dtype=self._torch_dtype)

    def prepare_training(self, X, y, *, build: bool = True) -> TrainingSetup:
        """Validate parameters and data and build the initialised network, as ``fit`` does.

        Package-internal: ``fit`` trains the result with
        :func:`~xslatent.nn._train.train_module`, the batched search stacks it with other
        candidates. Nothing is stored on the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Structures.
        y : array-like of shape (n_samples, n_outputs)
            Targets.
        build : bool, default=True
            Build the initialised network; False: validate only (``module`` is None), for a
            caller that already holds the network of these parameters and seed.

        Returns
        -------
        TrainingSetup

        Raises
        ------
        InvalidParameterError
            If a parameter or the data is not valid for this estimator.
        """
        self._validate_params()
        owner = type(self).__name__
        X, Y = check_X_y(X, y, owner=owner, y_name="y")
        if self.early_stopping and X.shape[0] < 3:
            raise InvalidParameterError(
                f"The 'X' argument of {owner} must have at least 3 samples when early_stopping=True "
                f"(a validation split is held out). Got {X.shape[0]} instead."
            )
        self._check_shapes(X, Y)
        device = resolve_device(self.device, owner)
        seed = check_random_state_int(self.random_state)
        module = self.build_network(X.shape[1], Y.shape[1], seed) if build else None
        return TrainingSetup(X, Y, module, self._train_config(), seed, device, self._torch_dtype)

    @atomic_fit
    def _fit_network(self, X, y, warm_start=None, validation=None):
        """Build, initialise and train ``module_``; ``warm_start(module)``, when given,
        overwrites the drawn initial weights (see ``EDNN.fit(init_from=...)``);
        ``validation = (X_val, y_val)``, when given with ``early_stopping``, is the
        early-stopping set and all of ``X`` is trained on (bootstrap members' out-of-bag rows)."""
        setup = self.prepare_training(X, y)
        X, Y = setup.X, setup.Y
        if validation is not None:
            validation = check_X_y(*validation, owner=type(self).__name__, y_name="y")
            if validation[0].shape[1] != X.shape[1] or validation[1].shape[1] != Y.shape[1]:
                raise InvalidParameterError(
                    f"The validation rows of {type(self).__name__} must have {X.shape[1]} features and "
                    f"{Y.shape[1]} targets like X and y. Got {validation[0].shape[1]} and "
                    f"{validation[1].shape[1]} instead."
                )
        if warm_start is not None:  # after the cast, so float64 models start exactly
            warm_start(setup.module)
        result = train_module(
            setup.module,
            X,
            Y,
            setup.config,
            seed=setup.seed,
            device=setup.device,
            dtype=setup.dtype,
            progress=bool(self.verbose),
            desc=type(self).__name__,
            validation=validation,
        )
        return self._adopt_network(setup.module, result, X, Y, setup.seed)

    def _adopt_network(self, module, result, X, Y, seed: int):
        """Take a network trained on ``(X, Y)`` (by :func:`train_module` or a member of a
        :class:`~xslatent.nn._batched.BatchedTrainer`) as this estimator's fitted state."""
        self.module_ = module
        self.n_features_in_ = X.shape[1]
        self.n_outputs_ = Y.shape[1]
        self.seed_ = seed
        self.loss_curve_ = list(result.loss_curve)
        self.validation_scores_ = list(result.validation_scores) if self.early_stopping else None
        self.n_iter_ = result.n_iter
        self.best_epoch_ = result.best_epoch
        self._after_training(X, Y)
        return self

    def _check_shapes(self, X, Y) -> None:  # noqa: D401 - hook
        """Hook for estimator-specific shape rules."""

    def _after_training(self, X, Y) -> None:  # noqa: D401 - hook
        """Hook run after training (e.g. freezing parametrizations, sign conventions)."""

    def _check_X(self, X) -> np.ndarray:
        check_is_fitted(self, "module_")
        X = check_array(X, "X", owner=type(self).__name__)
        check_n_features(self, X)
        return X

    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    def _as_tensor(self, A) -> torch.Tensor:
        return torch.as_tensor(np.asarray(A), dtype=self._torch_dtype, device=self._device())

    def _apply(self, fn, X: np.ndarray) -> np.ndarray:
        """Evaluate torch function ``fn`` on ``X`` in chunks, without gradients."""
        outs = []
        with torch.no_grad():
            for start in range(0, X.shape[0], PREDICT_CHUNK):
                outs.append(fn(self._as_tensor(X[start : start + PREDICT_CHUNK])).cpu().double().numpy())
        return np.concatenate(outs, axis=0) if outs else np.empty((0, 0))

    # -- public API ----------------------------------------------------------------------
    def predict(self, X) -> np.ndarray:
        """Predicted targets for structures ``X`` (n_samples, n_outputs)."""
        X = self._check_X(X)
        return self._apply(self.module_, X)

    # -- model files ---------------------------------------------------------------------
    def _state_for_saving(self):
        """JSON-able fitted scalars and a dict of tensors (network weights, fitted arrays)."""
        check_is_fitted(self, "module_")
        scalars = {
            "n_features_in_": int(self.n_features_in_),
            "n_outputs_": int(self.n_outputs_),
            "seed_": int(self.seed_),
            "n_iter_": int(self.n_iter_),
            "best_epoch_": int(self.best_epoch_),
            **({"n_components_": int(self.n_components_)} if hasattr(self, "n_components_") else {}),
            "loss_curve_": [float(v) for v in self.loss_curve_],
            "validation_scores_": None
            if self.validation_scores_ is None
            else [float(v) for v in self.validation_scores_],
        }
        tensors = {f"module_.{k}": v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        for name in self._fitted_array_attrs:
            tensors[name] = torch.as_tensor(np.ascontiguousarray(getattr(self, name)))
        return scalars, tensors

    def _restore_state(self, scalars: dict, tensors: dict, device="cpu") -> None:
        for k, v in scalars.items():
            setattr(self, k, v)
        module = self._build_module(self.n_features_in_, self.n_outputs_, for_loading=True)
        module = module.to(dtype=self._torch_dtype)  # before loading, so float64 weights stay exact
        state = {k[len("module_.") :]: v for k, v in tensors.items() if k.startswith("module_.")}
        module.load_state_dict(state)
        self.module_ = module.to(device=resolve_device(device)).eval()
        for name in self._fitted_array_attrs:
            setattr(self, name, tensors[name].numpy().copy())
