"""Input and parameter validation shared by every estimator.

One message template is used everywhere::

    The 'alpha' parameter of MLPEmulator must be a float in the range [0, inf). Got -1 instead.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .exceptions import InvalidParameterError, NotFittedError

__all__ = [
    "Interval",
    "Options",
    "validate_params",
    "check_array",
    "check_X_y",
    "check_n_features",
    "check_is_fitted",
    "check_random_state_int",
    "resolve_device",
]


@dataclass(frozen=True)
class Interval:
    """Numeric constraint ``kind`` in [``low``, ``high``] with open/closed ends."""

    kind: type  # int or float
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def describe(self) -> str:
        name = "an int" if self.kind is int else "a float"
        lo = "-inf" if self.low is None else repr(self.low)
        hi = "inf" if self.high is None else repr(self.high)
        lb = "[" if self.closed in ("both", "left") and self.low is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{name} in the range {lb}{lo}, {hi}{rb}"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if self.kind is float and not isinstance(value, numbers.Real):
            return False
        if not np.isfinite(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True


@dataclass(frozen=True)
class Options:
    """Constraint: value is one of a fixed set."""

    values: tuple

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def accepts(self, value: Any) -> bool:
        return any(value is v or (_same_kind(value, v) and value == v) for v in self.values)


def _same_kind(value: Any, option: Any) -> bool:
    """Whether ``value`` may equal ``option``: numpy scalars count, but ``True`` is not ``1``."""
    if isinstance(option, bool) or isinstance(value, (bool, np.bool_)):
        return isinstance(option, bool) and isinstance(value, (bool, np.bool_))
    if isinstance(option, str):
        return isinstance(value, str)
    if isinstance(option, numbers.Integral):
        return isinstance(value, numbers.Integral)
    if isinstance(option, numbers.Real):
        return isinstance(value, numbers.Real)
    return type(value) is type(option)


class _Constraint:
    """Named predicate constraints ('boolean', 'none', 'layer_sizes', 'random_state', 'device')."""

    def __init__(self, name: str, description: str, predicate):
        self.name = name
        self._description = description
        self._predicate = predicate

    def describe(self) -> str:
        return self._description

    def accepts(self, value: Any) -> bool:
        return bool(self._predicate(value))


def _is_layer_sizes(value: Any) -> bool:
    if isinstance(value, (str, bytes)) or isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return value >= 1
    try:
        items = list(value)
    except TypeError:
        return False
    return all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in items
    )


def layer_sizes_tuple(value) -> tuple:
    """A validated layer-size parameter as a tuple of Python ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),)
    return tuple(int(v) for v in value)


def _is_device(value: Any) -> bool:
    try:
        import torch

        torch.device(value)
        return True
    except (TypeError, RuntimeError, ValueError):
        return False


BOOLEAN = _Constraint("boolean", "a bool", lambda v: isinstance(v, (bool, np.bool_)))
NONE = _Constraint("none", "None", lambda v: v is None)
LAYER_SIZES = _Constraint(
    "layer_sizes", "a tuple of positive ints (possibly empty)", _is_layer_sizes
)
RANDOM_STATE = _Constraint(
    "random_state",
    "None or an int in the range [0, 2**32 - 1]",
    lambda v: v is None
    or (isinstance(v, numbers.Integral) and not isinstance(v, bool) and 0 <= v < 2**32),
)
DEVICE = _Constraint("device", "a torch device string such as 'cpu' or 'cuda:0'", _is_device)
ESTIMATOR = _Constraint(
    "estimator",
    "an estimator with fit and predict",
    lambda v: hasattr(v, "fit") and hasattr(v, "predict"),
)


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_params(owner: str, params: dict, constraints: dict) -> None:
    """Check every entry of ``params`` against ``constraints``.

    Raises
    ------
    InvalidParameterError
        With the house message template, for the first parameter that fails.
    """
    for name, rules in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(rule.accepts(value) for rule in rules):
            continue
        allowed = " or ".join(rule.describe() for rule in rules)
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be {allowed}. Got {_fmt(value)} instead."
        )


def _is_sparse(array: Any) -> bool:
    # duck-typed so that scipy is not imported here
    return hasattr(array, "toarray") and hasattr(array, "nnz")


def _is_complex(array: Any) -> bool:
    try:
        return bool(np.iscomplexobj(array))
    except (TypeError, ValueError):  # ragged or exotic input: left to the conversion below
        return False


def _text_dtype(array: Any):
    """The dtype of ``array`` if it holds strings or bytes (even numeric ones), else None."""
    if isinstance(array, np.ndarray):
        a = array
    else:
        try:
            a = np.asarray(array)
        except (TypeError, ValueError):
            return None
    if a.dtype.kind in "SU":
        return a.dtype
    if a.dtype == object and any(isinstance(v, (str, bytes)) for v in a.ravel()):
        return a.dtype
    return None


def check_array(
    array: Any,
    name: str = "X",
    *,
    owner: str = "",
    ndim: int = 2,
    min_samples: int = 1,
    min_features: int = 1,
    dtype=np.float64,
) -> np.ndarray:
    """Convert ``array`` to a finite float array of the required shape or raise.

    The message names the argument (``name``), what is allowed and what was given.
    Complex, sparse and string input are refused rather than silently converted.
    """
    where = f" of {owner}" if owner else ""
    start = f"The '{name}' argument{where} must be"
    if array is None:
        raise InvalidParameterError(f"{start} an array. Got None instead.")
    if _is_sparse(array):
        raise InvalidParameterError(
            f"{start} a dense array. Got a sparse {type(array).__name__} instead. "
            f"Convert it with .toarray()."
        )
    if _is_complex(array):
        raise InvalidParameterError(
            f"{start} a real-valued array. Got complex values instead. Complex data not "
            f"supported: pass the real part, the imaginary part or the magnitude explicitly."
        )
    text = _text_dtype(array)
    if text is not None:
        raise InvalidParameterError(
            f"{start} a numeric array. Got an array of strings (dtype {text}) instead, which "
            f"cannot be converted implicitly: dtype='numeric' is not compatible with arrays of "
            f"bytes/strings. Convert your data to numeric values explicitly."
        )
    try:
        out = np.asarray(array, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{start} a numeric array. Got a {type(array).__name__} that cannot be converted "
            f"to {np.dtype(dtype).name} instead ({exc})."
        ) from None
    if out.ndim != ndim:
        hint = ""
        if ndim == 2 and out.ndim == 1:
            hint = (
                " Reshape your data either using array.reshape(-1, 1) if it has a single "
                "feature or array.reshape(1, -1) if it contains a single sample."
            )
        elif ndim == 2 and out.ndim == 0:
            hint = " Pass a 2-D array of shape (n_samples, n_features), e.g. [[value]]."
        shape = "a scalar" if out.ndim == 0 else f"a {out.ndim}-D array of shape {out.shape}"
        raise InvalidParameterError(f"{start} a {ndim}-D array. Got {shape} instead.{hint}")
    if out.shape[0] < min_samples:
        raise InvalidParameterError(
            f"{start} an array with at least {min_samples} sample(s) (rows). "
            f"Got {out.shape[0]} sample(s) (shape {out.shape}) instead."
        )
    if ndim == 2 and out.shape[1] < min_features:
        # the second sentence is scikit-learn's wording, which its common checks look for
        raise InvalidParameterError(
            f"{start} an array with at least {min_features} feature(s) (columns). Got "
            f"{out.shape[1]} feature(s) (shape={out.shape}) while a minimum of {min_features} "
            f"is required."
        )
    if not np.all(np.isfinite(out)):
        n_nan = int(np.count_nonzero(np.isnan(out)))
        n_inf = int(np.size(out) - np.count_nonzero(np.isfinite(out))) - n_nan
        raise InvalidParameterError(
            f"{start} an array of finite values. Got {n_nan} NaN and {n_inf} infinite "
            f"value(s) instead."
        )
    return out


def check_X_y(X: Any, Y: Any, *, owner: str = "", y_name: str = "Y", min_samples: int = 2):
    """Validate a pair of 2-D arrays with matching row counts."""
    if Y is None:
        where = f" of {owner}" if owner else ""
        raise InvalidParameterError(
            f"The '{y_name}' argument{where} must be the target array. Got None instead "
            f"({owner or 'this estimator'} requires y to be passed, but the target y is None)."
        )
    X = check_array(X, "X", owner=owner, min_samples=min_samples)
    Y = check_array(Y, y_name, owner=owner, min_samples=min_samples)
    if X.shape[0] != Y.shape[0]:
        where = f" of {owner}" if owner else ""
        raise InvalidParameterError(
            f"The 'X' and '{y_name}' arguments{where} must have the same number of rows. "
            f"Got {X.shape[0]} and {Y.shape[0]} instead."
        )
    return X, Y


def check_n_features(estimator, X: np.ndarray, name: str = "X") -> None:
    """Raise if ``X`` has a different number of columns than seen in ``fit``.

    The message keeps scikit-learn's sentence ("X has 3 features, but ECA is expecting 4
    features as input.") so that its common checks recognise it.
    """
    expected = estimator.n_features_in_
    if X.shape[1] != expected:
        owner = type(estimator).__name__
        raise InvalidParameterError(
            f"The '{name}' argument of {owner} must have {expected} feature(s), as seen in "
            f"fit. Got {X.shape[1]} instead: {name} has {X.shape[1]} features, but {owner} is "
            f"expecting {expected} features as input."
        )


def check_is_fitted(estimator, attributes: Sequence[str] | str) -> None:
    """Raise :class:`NotFittedError` unless every attribute in ``attributes`` exists."""
    if isinstance(attributes, str):
        attributes = [attributes]
    if not all(hasattr(estimator, a) for a in attributes):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            f"appropriate arguments before using this estimator."
        )


def check_random_state_int(random_state: int | None, rng: np.random.Generator | None = None) -> int:
    """Resolve ``random_state`` to a concrete integer seed (fresh entropy when None)."""
    if random_state is None:
        rng = rng or np.random.default_rng()
        return int(rng.integers(0, 2**31 - 1))
    return int(random_state)


def resolve_device(device: Any, owner: str = ""):
    """Return a ``torch.device``; raise a clear error if it is malformed or not available."""
    import torch

    start = f"The 'device' parameter{' of ' + owner if owner else ''} must be"
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError, ValueError):
        raise InvalidParameterError(
            f"{start} {DEVICE.describe()}. Got {_fmt(device)} instead."
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"{start} a device available on this machine, e.g. 'cpu'. Got {_fmt(device)} "
            f"instead, but CUDA is not available."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidParameterError(
            f"{start} a device available on this machine, e.g. 'cpu'. Got {_fmt(device)} "
            f"instead, but MPS is not available."
        )
    return dev
