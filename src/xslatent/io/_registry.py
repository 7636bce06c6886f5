"""The one table of classes a model file may name (as ASE's ``define_io_format``).

Estimators and scalers join the table where they are defined, with the class decorator
:func:`register_model`; this module imports nothing of the package, so any module may use
it without an import circle. Since ``import xslatent`` loads nothing eagerly, a look-up first
imports the modules that define model classes, named here as strings (:data:`PROVIDERS`),
as ASE imports a format's module only when the format is used. Model files (:mod:`xslatent.io`), scaler dictionaries
(:func:`xslatent.data.scaler_from_dict`) and search spaces
(:func:`xslatent.selection.estimator_class`) all look classes up here.

An entry says how a class is stored:

* ``kind="estimator"``: parameters as JSON, fitted state through the class's
  ``_state_for_saving`` / ``_restore_state`` (JSON scalars and a dict of tensors);
* ``kind="scaler"``: the class's ``to_dict`` / ``from_dict``;
* ``nested``: fitted attributes holding other registered estimators (ECA's ``emulator_``).
  :mod:`xslatent.io` stores and restores them recursively, so the class itself never
  encodes them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["ModelClass", "model_class", "model_classes", "register_model"]

KINDS = ("estimator", "scaler")
#: modules whose import registers every model class of the package
PROVIDERS = ("xslatent.data", "xslatent.emulator", "xslatent.decomposition")


@dataclass(frozen=True)
class ModelClass:
    """One entry of the table (see the module docstring).

    Attributes
    ----------
    cls : type
        The class.
    kind : {"estimator", "scaler"}
        How it is stored.
    nested : tuple of str
        Fitted attributes that hold nested estimators.
    aliases : tuple of str
        Other (case-insensitive) names accepted by search spaces.
    searchable : bool
        Whether search spaces may name it.
    """

    cls: type
    kind: str = "estimator"
    nested: tuple = ()
    aliases: tuple = ()
    searchable: bool = False

    @property
    def name(self) -> str:
        return self.cls.__name__


_TABLE: dict[str, ModelClass] = {}
_loaded = False


def _load_providers() -> None:
    global _loaded
    if not _loaded:
        for module in PROVIDERS:
            importlib.import_module(module)
        _loaded = True


def register_model(*, kind: str = "estimator", nested=(), aliases=(), searchable: bool = False):
    """Class decorator: add the class to the model table under its ``__name__``.

    Parameters
    ----------
    kind : {"estimator", "scaler"}, default="estimator"
        How the class is stored (see the module docstring).
    nested : tuple of str, default=()
        Fitted attributes that hold nested registered estimators.
    aliases : tuple of str, default=()
        Further names by which search spaces may refer to the class.
    searchable : bool, default=False
        Whether search spaces may name the class.

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.
    """
    if kind not in KINDS:
        raise ValueError(
            f"The 'kind' argument of register_model must be one of {KINDS}. Got {kind!r} instead."
        )

    def add(cls: type) -> type:
        name = cls.__name__
        known = _TABLE.get(name)
        if known is not None and known.cls.__qualname__ != cls.__qualname__:
            raise ValueError(f"Two model classes are named {name!r}: {known.cls} and {cls}.")
        _TABLE[name] = ModelClass(cls, kind, tuple(nested), tuple(aliases), bool(searchable))
        return cls

    return add


def model_class(name, kind: str | None = None) -> ModelClass | None:
    """The entry named ``name`` (of kind ``kind`` if given), or None."""
    _load_providers()
    entry = _TABLE.get(name) if isinstance(name, str) else None
    if entry is None or (kind is not None and entry.kind != kind):
        return None
    return entry


def model_classes(kind: str | None = None, *, searchable: bool | None = None) -> list[ModelClass]:
    """Entries in order of registration, optionally of one kind or searchability."""
    _load_providers()
    return [
        e
        for e in _TABLE.values()
        if (kind is None or e.kind == kind)
        and (searchable is None or e.searchable == searchable)
    ]
