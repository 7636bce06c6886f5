"""Standardizers for structural features and spectra.

* :class:`FeatureScaler` z-scores each feature (structural features, spectral moments).
* :class:`GlobalSpectrumScaler` subtracts the mean spectrum and divides by one scalar, so
  the relative weight of the channels of a spectrum on a grid is kept.

Both serialise to plain JSON-compatible dicts (:meth:`~FeatureScaler.to_dict`) so models
can be saved without pickle.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from .._validation import (
    BOOLEAN,
    Options,
    check_array,
    check_is_fitted,
    check_n_features,
    validate_params,
)
from ..exceptions import DataFormatError, InvalidParameterError
from ..io._registry import model_class, model_classes, register_model

__all__ = ["FeatureScaler", "GlobalSpectrumScaler", "scaler_from_dict"]

_DICT_VERSION = 1


def _constant_tolerance(X: np.ndarray) -> np.ndarray:
    """Per-column std below which a column counts as constant.

    Round-off in a two-pass std of a constant column grows at most like
    ``n_samples * eps * max|x|``; anything below 10 times that is treated as constant.
    """
    n = X.shape[0]
    return 10.0 * n * np.finfo(np.float64).eps * np.max(np.abs(X), axis=0)


class _BaseScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Shared fitted-state checks and dict (de)serialisation."""

    _parameter_constraints: dict = {}
    # name -> kind ("array", "bool_array", "float", "int") of fitted attributes in to_dict
    _fitted_attributes: dict[str, str] = {}

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)

    def _check_transform_input(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "scale_")
        X = check_array(X, "X", owner=type(self).__name__)
        check_n_features(self, X)
        return X

    def transform(self, X: Any) -> np.ndarray:
        """Scale ``X`` (features, or spectra for the global scaler).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to scale.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            ``(X - mean_) / scale_``.
        """
        X = self._check_transform_input(X)
        return (X - self.mean_) / self.scale_

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Standardized data.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            ``X * scale_ + mean_``.
        """
        X = self._check_transform_input(X)
        return X * self.scale_ + self.mean_

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of the scaler.

        Returns
        -------
        dict
            Keys ``"class"``, ``"version"``, ``"params"`` and ``"fitted"`` (``None`` when
            not fitted, else the fitted attributes with arrays as lists). Floats survive
            a :mod:`json` round trip exactly.

        See Also
        --------
        from_dict : rebuild the scaler.
        """
        fitted = None
        if hasattr(self, "scale_"):
            fitted = {}
            for key, kind in self._fitted_attributes.items():
                value = getattr(self, key)
                if kind == "array":
                    fitted[key] = [float(v) for v in value]
                elif kind == "bool_array":
                    fitted[key] = [bool(v) for v in value]
                elif kind == "float":
                    fitted[key] = float(value)
                else:
                    fitted[key] = int(value)
        return {
            "class": type(self).__name__,
            "version": _DICT_VERSION,
            "params": self.get_params(),
            "fitted": fitted,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _BaseScaler:
        """Rebuild a scaler from the output of :meth:`to_dict`.

        Parameters
        ----------
        d : dict
            As returned by :meth:`to_dict` (possibly after a JSON round trip).

        Returns
        -------
        scaler
            An instance of this class, fitted if ``d`` holds fitted attributes.

        Raises
        ------
        DataFormatError
            If ``d`` describes another class, a newer version, or is incomplete.
        InvalidParameterError
            If a stored parameter is not allowed.
        """
        name = cls.__name__
        if not isinstance(d, dict) or d.get("class") != name:
            got = d.get("class") if isinstance(d, dict) else type(d).__name__
            raise DataFormatError(
                f"The 'd' argument of {name}.from_dict must describe a {name} (key 'class'). "
                f"Got {got!r} instead."
            )
        version = d.get("version")
        if not isinstance(version, int) or not 1 <= version <= _DICT_VERSION:
            raise DataFormatError(
                f"The 'd' argument of {name}.from_dict must have 'version' in [1, "
                f"{_DICT_VERSION}]. Got {version!r} instead."
            )
        params = d.get("params")
        if not isinstance(params, dict):
            raise DataFormatError(
                f"The 'd' argument of {name}.from_dict must have a dict under 'params'. Got "
                f"{type(params).__name__} instead."
            )
        est = cls(**params)
        est._validate_params()
        fitted = d.get("fitted")
        if fitted is None:
            return est
        missing = [k for k in est._fitted_attributes if k not in fitted]
        if missing:
            raise DataFormatError(
                f"The 'd' argument of {name}.from_dict lacks fitted attribute(s) "
                f"{', '.join(repr(k) for k in missing)}."
            )
        n = int(fitted["n_features_in_"])
        for key, kind in est._fitted_attributes.items():
            value = fitted[key]
            if kind in ("array", "bool_array"):
                arr = np.asarray(value, dtype=np.float64 if kind == "array" else bool)
                if arr.shape != (n,):
                    raise DataFormatError(
                        f"The 'd' argument of {name}.from_dict must have {n} value(s) under "
                        f"'fitted.{key}'. Got shape {arr.shape} instead."
                    )
                value = arr
            elif kind == "float":
                value = float(value)
            else:
                value = int(value)
            setattr(est, key, value)
        return est


@register_model(kind="scaler")
class FeatureScaler(_BaseScaler):
    """Z-score each feature, handling constant features explicitly.

    ``transform(X) = (X - mean_) / scale_``, with ``scale_`` the population standard
    deviation (``ddof=0``) of each feature in the training data.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the per-feature mean; if False, ``mean_`` is all zeros.
    with_std : bool, default=True
        Divide by the per-feature standard deviation; if False, ``scale_`` is all ones.
    constant_features : {"keep", "raise"}, default="keep"
        What to do with a feature whose standard deviation is at most
        ``10 * n_samples * eps * max|x|`` (constant up to round-off): ``"keep"`` gives it
        scale 1 (so it is only centered, and maps to 0 when ``with_mean``); ``"raise"``
        raises :class:`~xslatent.exceptions.InvalidParameterError` naming the columns.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Offset subtracted from each feature.
    scale_ : ndarray of shape (n_features,)
        Divisor of each feature; never zero.
    constant_features_ : ndarray of bool of shape (n_features,)
        Which features were found constant.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    n_samples_seen_ : int
        Number of samples seen in :meth:`fit`.

    See Also
    --------
    GlobalSpectrumScaler : one scalar scale for all channels of a spectrum.
    sklearn.preprocessing.StandardScaler : same transform, without the constant-feature
        policy and the JSON round trip.

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent.data import FeatureScaler
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0]])
    >>> sc = FeatureScaler().fit(X)
    >>> sc.transform(X)
    array([[-1.,  0.],
           [ 1.,  0.]])
    >>> sc.constant_features_
    array([False,  True])
    """

    _parameter_constraints = {
        "with_mean": [BOOLEAN],
        "with_std": [BOOLEAN],
        "constant_features": [Options(("keep", "raise"))],
    }
    _fitted_attributes = {
        "mean_": "array",
        "scale_": "array",
        "constant_features_": "bool_array",
        "n_features_in_": "int",
        "n_samples_seen_": "int",
    }

    def __init__(
        self, with_mean: bool = True, with_std: bool = True, constant_features: str = "keep"
    ) -> None:
        self.with_mean = with_mean
        self.with_std = with_std
        self.constant_features = constant_features

    def fit(self, X: Any, y: Any = None) -> FeatureScaler:
        """Compute the per-feature mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (finite).
        y : None
            Ignored.

        Returns
        -------
        self : FeatureScaler
            The fitted scaler.

        Raises
        ------
        InvalidParameterError
            For a bad parameter or input, or a constant feature with
            ``constant_features="raise"``.
        """
        self._validate_params()
        owner = type(self).__name__
        X = check_array(X, "X", owner=owner)
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        constant = std <= _constant_tolerance(X)
        if self.constant_features == "raise" and constant.any():
            cols = np.flatnonzero(constant).tolist()
            shown = ", ".join(str(c) for c in cols[:10]) + (", ..." if len(cols) > 10 else "")
            raise InvalidParameterError(
                f"The 'X' argument of {owner} must have no constant feature when "
                f"constant_features='raise'. Got {len(cols)} constant column(s) at index "
                f"{shown} instead. Drop them or use constant_features='keep'."
            )
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.scale_ = np.where(constant, 1.0, std) if self.with_std else np.ones_like(std)
        self.constant_features_ = constant
        self.n_features_in_ = X.shape[1]
        self.n_samples_seen_ = X.shape[0]
        return self


@register_model(kind="scaler")
class GlobalSpectrumScaler(_BaseScaler):
    """Subtract the mean spectrum, then divide by one scalar for all channels.

    ``scale_`` is the root mean square of the centered training data over every sample
    and channel, ``sqrt(mean((Y - mean_)**2))``, so the relative intensities of the
    channels are kept (the paper's standardization of spectra on a grid).

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the per-channel mean spectrum; if False, ``mean_`` is all zeros and
        ``scale_`` is the root mean square of the raw data.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
        Mean spectrum subtracted from each sample.
    scale_ : float
        The single divisor; positive.
    n_features_in_ : int
        Number of channels seen in :meth:`fit`.
    n_samples_seen_ : int
        Number of spectra seen in :meth:`fit`.

    See Also
    --------
    FeatureScaler : per-feature z-score.

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent.data import GlobalSpectrumScaler
    >>> Y = np.array([[0.0, 2.0], [2.0, 6.0]])
    >>> sc = GlobalSpectrumScaler().fit(Y)
    >>> sc.mean_, sc.scale_
    (array([1., 4.]), 1.5811388300841898)
    """

    _parameter_constraints = {"with_mean": [BOOLEAN]}
    _fitted_attributes = {
        "mean_": "array",
        "scale_": "float",
        "n_features_in_": "int",
        "n_samples_seen_": "int",
    }

    def __init__(self, with_mean: bool = True) -> None:
        self.with_mean = with_mean

    def fit(self, X: Any, y: Any = None) -> GlobalSpectrumScaler:
        """Compute the mean spectrum and the global scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels)
            Training spectra (finite).
        y : None
            Ignored.

        Returns
        -------
        self : GlobalSpectrumScaler
            The fitted scaler.

        Raises
        ------
        InvalidParameterError
            For a bad parameter or input, or if all spectra are identical (with
            ``with_mean``) or all zero (without), so that the scale would be zero.
        """
        self._validate_params()
        owner = type(self).__name__
        X = check_array(X, "X", owner=owner)
        mean = X.mean(axis=0) if self.with_mean else np.zeros(X.shape[1])
        scale = float(np.sqrt(np.mean((X - mean) ** 2)))
        tol = float(np.max(_constant_tolerance(X)))
        if not scale > tol:
            what = "spectra that are not all identical" if self.with_mean else "a nonzero spectrum"
            raise InvalidParameterError(
                f"The 'X' argument of {owner} must contain {what}: the global scale would be "
                f"zero. Got {X.shape[0]} sample(s) with scale {scale:g} instead."
            )
        self.mean_ = mean
        self.scale_ = scale
        self.n_features_in_ = X.shape[1]
        self.n_samples_seen_ = X.shape[0]
        return self


def scaler_from_dict(d: dict[str, Any]) -> FeatureScaler | GlobalSpectrumScaler:
    """Rebuild any xslatent scaler from the output of its ``to_dict``.

    Parameters
    ----------
    d : dict
        Output of :meth:`FeatureScaler.to_dict` or :meth:`GlobalSpectrumScaler.to_dict`.

    Returns
    -------
    FeatureScaler or GlobalSpectrumScaler
        The scaler named by ``d["class"]``.

    Raises
    ------
    DataFormatError
        If ``d["class"]`` is not a known scaler.
    """
    name = d.get("class") if isinstance(d, dict) else None
    entry = model_class(name, kind="scaler")
    if entry is None:
        raise DataFormatError(
            f"The 'd' argument of scaler_from_dict must have 'class' in "
            f"{sorted(e.name for e in model_classes('scaler'))}. Got {name!r} instead."
        )
    return entry.cls.from_dict(d)
