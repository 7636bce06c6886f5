"""Exceptions raised by xslatent.

Each subclasses a standard exception so callers can catch the usual ones.
"""

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = ["InvalidParameterError", "DataFormatError", "NotFittedError", "ConvergenceWarning"]


class InvalidParameterError(ValueError, TypeError):
    """A parameter or an input array has a value that is not allowed."""


class DataFormatError(ValueError, OSError):
    """A file is not an xslatent file, is truncated, or has an unknown schema."""


class NotFittedError(_SkNotFittedError):
    """An estimator was used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """An optimisation stopped at its iteration limit before meeting its tolerance."""
