"""Model files: safetensors for arrays, JSON for everything else. Nothing is unpickled.

A model is a directory holding ``model.json`` and ``model.safetensors``::

    model.json = {"format": "xslatent.model", "schema_version": 1,
                  "estimator": {"class": "NNCA", "params": {...}, "state": {...}},
                  "extras": {"x_scaler": {...FeatureScaler.to_dict()...}, ...},
                  "versions": {"xslatent": ..., "torch": ..., "numpy": ...}}

Which classes may appear, and how each is stored, is the table of
:mod:`xslatent.io._registry`, which estimators and scalers join where they are defined.
Nested estimators (the emulator inside an ECA, declared by its class) are stored here,
recursively: their description sits in the parent's ``state`` under the attribute name and
their tensors under the prefix ``"<attribute>/"``. Writing goes to a temporary directory
that is renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import DataFormatError, InvalidParameterError
from ._registry import model_class, model_classes

__all__ = [
    "save_model",
    "load_model",
    "read_model_document",
    "estimator_to_json",
    "estimator_from_json",
]

FORMAT = "xslatent.model"
SCHEMA_VERSION = 1


def _encode(value):
    """JSON-encode a parameter value; tuples and estimators are tagged for exact decoding."""
    entry = model_class(type(value).__name__)
    if entry is not None and entry.cls is type(value):
        return {"__estimator__": entry.name, "params": _encode(value.get_params(deep=False))}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidParameterError(
        f"Cannot store a parameter of type {type(value).__name__} in a model file; allowed are "
        f"numbers, strings, None, tuples, lists, dicts and the estimators of the model table "
        f"({', '.join(sorted(e.name for e in model_classes()))})."
    )


def _entry(name):
    entry = model_class(name)
    if entry is None:
        raise DataFormatError(f"Unknown estimator class {name!r} in model file.")
    return entry


def _decode(value):
    if isinstance(value, dict):
        if "__estimator__" in value:
            return _entry(value["__estimator__"]).cls(**_decode(value["params"]))
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def estimator_to_json(est, prefix: str = ""):
    """(JSON-able description, dict of tensors) of a fitted registered estimator or scaler.

    Nested estimators declared by the class are described recursively: their description
    under the attribute name in ``state``, their tensors under ``prefix + "<attribute>/"``.
    """
    name = type(est).__name__
    entry = model_class(name)
    if entry is None or entry.cls is not type(est):
        allowed = sorted(e.name for e in model_classes())
        raise InvalidParameterError(
            f"The 'estimator' argument of save_model must be one of {allowed}. "
            f"Got {name} instead."
        )
    if entry.kind == "scaler":
        return {"class": name, "dict": est.to_dict()}, {}
    scalars, tensors = est._state_for_saving()
    scalars, tensors = dict(scalars), {prefix + k: v for k, v in tensors.items()}
    for attr in entry.nested:
        desc, inner = estimator_to_json(getattr(est, attr), prefix=f"{prefix}{attr}/")
        scalars[attr] = desc
        tensors.update(inner)
    params = _encode(est.get_params(deep=False))
    return {"class": name, "params": params, "state": scalars}, tensors


def estimator_from_json(desc: dict, tensors: dict, prefix: str = "", device="cpu"):
    """Inverse of :func:`estimator_to_json` (nested estimators restored first)."""
    entry = _entry(desc.get("class"))
    if entry.kind == "scaler":
        return entry.cls.from_dict(desc["dict"])
    est = entry.cls(**_decode(desc["params"]))
    state = dict(desc["state"])
    for attr in entry.nested:
        inner = estimator_from_json(state.pop(attr), tensors, f"{prefix}{attr}/", device)
        setattr(est, attr, inner)
    nested = tuple(f"{prefix}{attr}/" for attr in entry.nested)
    own = {
        k[len(prefix) :]: v
        for k, v in tensors.items()
        if k.startswith(prefix) and not k.startswith(nested)
    }
    est._restore_state(state, own, device=device)
    return est


def _versions():
    import torch

    from .. import __version__

    return {"xslatent": __version__, "torch": torch.__version__, "numpy": np.__version__}


def save_model(estimator, path, *, extras: dict | None = None, metadata: dict | None = None) -> Path:
    """Write a fitted estimator (plus optional scalers) to directory ``path``.

    Parameters
    ----------
    estimator : MLPEmulator, ECA, EDNN or NNCA
        Fitted estimator.
    path : str or Path
        Target directory (created; replaced atomically if it exists).
    extras : dict, optional
        Named fitted scalers (``FeatureScaler``, ``GlobalSpectrumScaler``) saved beside it.
    metadata : dict, optional
        JSON-able provenance (dataset, seeds, scores).

    Returns
    -------
    Path
        The directory written.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and not (path.is_dir() and (path / "model.json").is_file()):
        raise InvalidParameterError(
            f"The 'path' argument of save_model must be a new path or an existing xslatent model "
            f"directory. Got {str(path)!r}, which exists and is not a model directory; it is left untouched."
        )
    desc, tensors = estimator_to_json(estimator)
    doc = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "estimator": desc,
        "extras": {k: estimator_to_json(v)[0] for k, v in (extras or {}).items()},
        "metadata": _encode(metadata or {}),
        "versions": _versions(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent))
    try:
        with open(tmp / "model.json", "w") as fh:
            json.dump(doc, fh, indent=1)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / "model.safetensors"))
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=path.name + ".", suffix=".old", dir=path.parent))
            os.replace(path, old / "model")
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return path


def read_model_document(path) -> dict:
    """The checked ``model.json`` of a model directory, without building the estimator.

    Parameters
    ----------
    path : str or Path
        Model directory.

    Returns
    -------
    dict
        The document (``format``, ``schema_version``, ``estimator``, ``extras``,
        ``metadata``, ``versions``).

    Raises
    ------
    DataFormatError
        If the directory is not an xslatent model or its ``model.json`` is damaged.
    """
    path = Path(path)
    jpath, wpath = path / "model.json", path / "model.safetensors"
    if not jpath.is_file() or not wpath.is_file():
        raise DataFormatError(f"{path} is not an xslatent model directory (needs model.json and model.safetensors).")
    try:
        doc = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{jpath} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise DataFormatError(f"{jpath} is not an xslatent model file (top level is {type(doc).__name__}, not an object).")
    if doc.get("format") != FORMAT:
        raise DataFormatError(f"{jpath} is not an xslatent model file (format={doc.get('format')!r}).")
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        raise DataFormatError(
            f"{jpath} has schema_version {doc.get('schema_version')!r}; this xslatent reads 1..{SCHEMA_VERSION}."
        )
    return doc


def load_model(path, *, device="cpu", return_extras: bool = False):
    """Load a model written by :func:`save_model` (never unpickles).

    Parameters
    ----------
    path : str or Path
        Model directory.
    device : str, default="cpu"
        Torch device to put the networks on.
    return_extras : bool, default=False
        Also return ``(extras, metadata)``.

    Raises
    ------
    DataFormatError
        If the directory is not an xslatent model or is damaged.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .._validation import resolve_device

    resolve_device(device, "load_model")
    path = Path(path)
    doc = read_model_document(path)
    wpath = path / "model.safetensors"
    try:
        tensors = load_file(str(wpath))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataFormatError(f"{wpath} is damaged: {exc}") from None
    try:
        est = estimator_from_json(doc["estimator"], tensors, device=device)
        extras = {k: estimator_from_json(v, {}) for k, v in doc.get("extras", {}).items()}
    except (KeyError, RuntimeError, TypeError, AttributeError, ValueError) as exc:
        raise DataFormatError(f"{path} does not match its estimator class: {exc}") from None
    if return_extras:
        return est, extras, _decode(doc.get("metadata", {}))
    return est
