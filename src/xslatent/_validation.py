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
        return any(value is v or (type(value) is type(v) and value == v) for v in self.values)


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
    return all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in items)


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
    "estimator", "an estimator with fit and predict", lambda v: hasattr(v, "fit") and hasattr(v, "predict")
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
    """
    where = f" of {owner}" if owner else ""
    if array is None:
        raise InvalidParameterError(f"The '{name}' argument{where} must be an array. Got None instead.")
    try:
        out = np.asarray(array, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The '{name}' argument{where} must be a numeric array. Got {type(array).__name__} "
            f"that cannot be converted: {exc}"
        ) from None
    if out.ndim != ndim:
        hint = " Reshape with array.reshape(-1, 1) for a single feature." if ndim == 2 and out.ndim == 1 else ""
        raise InvalidParameterError(
            f"The '{name}' argument{where} must be a {ndim}-D array. Got a {out.ndim}-D array "
            f"of shape {out.shape} instead.{hint}"
        )
    if out.shape[0] < min_samples:
        raise InvalidParameterError(
            f"The '{name}' argument{where} must have at least {min_samples} sample(s). "
            f"Got shape {out.shape} instead."
        )
    if ndim == 2 and out.shape[1] < min_features:
        raise InvalidParameterError(
            f"The '{name}' argument{where} must have at least {min_features} feature(s). "
            f"Got shape {out.shape} instead."
        )
    if not np.all(np.isfinite(out)):
        n_bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise InvalidParameterError(
            f"The '{name}' argument{where} must contain only finite values. Got {n_bad} NaN or "
            f"infinite value(s) instead."
        )
    return out


def check_X_y(X: Any, Y: Any, *, owner: str = "", y_name: str = "Y", min_samples: int = 2):
    """Validate a pair of 2-D arrays with matching row counts."""
    X = check_array(X, "X", owner=owner, min_samples=min_samples)
    Y = check_array(Y, y_name, owner=owner, min_samples=min_samples)
    if X.shape[0] != Y.shape[0]:
        where = f" of {owner}" if owner else ""
        raise InvalidParameterError(
            f"The 'X' and '{y_name}' arguments{where} must have the same number of rows. "
            f"Got {X.shape[0]} and {Y.shape[0]} instead."
        )
    return X, Y


def check_n_features(estimator, X: np.ndarray) -> None:
    """Raise if ``X`` has a different number of columns than seen in ``fit``."""
    expected = estimator.n_features_in_
    if X.shape[1] != expected:
        raise InvalidParameterError(
            f"The 'X' argument of {type(estimator).__name__} must have {expected} feature(s), as "
            f"in fit. Got {X.shape[1]} instead."
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
    """Return a ``torch.device``; raise a clear error if it is not available."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            f"The 'device' parameter{' of ' + owner if owner else ''} is {device!r}, but CUDA is "
            f"not available on this machine. Use 'cpu'."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidParameterError(
            f"The 'device' parameter{' of ' + owner if owner else ''} is {device!r}, but MPS is "
            f"not available on this machine. Use 'cpu'."
        )
    return dev
