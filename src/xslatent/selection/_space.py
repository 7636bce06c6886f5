"""Search spaces as data: parsing, validation, presets and sampling.

A search space maps estimator parameter names to what the search may try. In Python it is a
dict (or a list of dicts, tried as alternatives) as for
:class:`sklearn.model_selection.ParameterSampler`; in TOML it is the ``[params]`` table
(or ``[[params]]`` array of tables) of a file. Each entry is one of

* a **list** of values, chosen uniformly (TOML arrays of arrays become tuples, so
  ``hidden_layer_sizes = [[64, 64], [128]]`` lists two architectures);
* a **distribution** table ``{distribution = "loguniform", low = 1e-4, high = 1e-2}``:
  ``"loguniform"`` (:data:`scipy.stats.loguniform`), ``"uniform"`` (on ``[low, high]``)
  or ``"randint"`` (integers ``low <= k < high``, scipy's convention); from Python, any
  object with an ``rvs`` method (a frozen scipy distribution) also works;
* a **layer** table ``{depth = [2, 3, 4], width = [64, 128, 256]}`` for a parameter
  holding layer widths (``hidden_layer_sizes``, ``encoder_layer_sizes``,
  ``decoder_layer_sizes``): depth and width are drawn independently (each a list or a
  distribution table) and expand to a tuple of ``depth`` equal widths, e.g. depth 3,
  width 128 → ``(128, 128, 128)``; depth 0 gives ``()``. A width may be the symbol
  ``"n_features"`` or ``"n_outputs"`` (also inside explicit tuples), resolved to the input or
  output width of the data at fit time.

A ``[fixed]`` table sets parameters for every candidate without being sampled.

Sampling is :class:`sklearn.model_selection.ParameterSampler` itself, run on the *flattened*
space in which each layer table ``name`` becomes the two entries ``name__depth`` and
``name__width``: with lists only, candidates are drawn without replacement from the full grid
(at most its size); otherwise each candidate draws every entry in sorted-key order. The same
``random_state`` therefore gives the same candidates as scikit-learn's
``RandomizedSearchCV`` would on that flattened space.

Presets (``src/xslatent/selection/presets/*.toml``) hold the paper's spaces (its Tables 3–5);
see :func:`list_presets`. The emulator presets are the paper's Supplementary Table 5: its
Section II says the NNCA decoders were searched "using the same search spaces that were used
for the emulators of the ECA implementations", so the emulator space *is* the NNCA decoder
grid (H2O: depth 2–5 × widths {5, 10, 50, 100, 200, 500}; GeO2: depth 2–3 × {64, 128}).
The paper does not give learning rates and L2 values; we chose:

* randomized searches (emulator, EDNN): ``learning_rate_init`` log-uniform on
  [1e-4, 1e-2] and ``alpha`` log-uniform on [1e-6, 1e-1];
* exhaustive grids (square-matrix LReLU EDNN, NNCA): ``learning_rate_init`` in
  {1e-4, 3e-4, 1e-3, 3e-3, 1e-2} and ``alpha`` in {1e-6, 1e-5, …, 1e-1} (six values), so
  that with lists only and ``n_iter >= grid size`` the search enumerates the whole grid
  (the emulator presets use the same grids as the NNCA presets).

TOML file schema (presets and user files)::

    name = "h2o-ednn"                 # optional; defaults to the file stem
    description = "..."               # optional
    reference = "paper Table 3"       # optional
    estimator = "EDNN"                # optional: MLPEmulator | EDNN | NNCA; validated against it

    [fixed]                           # optional
    activation = "relu"

    [params]                          # or [[params]] tables tried as alternatives
    learning_rate_init = { distribution = "loguniform", low = 1e-4, high = 1e-2 }
    alpha = [1e-5, 1e-4, 1e-3]
    encoder_layer_sizes = { depth = [2, 3, 4], width = [64, 128, 256] }
"""

from __future__ import annotations

import difflib
import importlib.resources
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the 'tomli' backport
    import tomli as tomllib

from .._validation import LAYER_SIZES, _fmt
from ..exceptions import InvalidParameterError
from ..io._registry import model_classes

__all__ = ["SYMBOLS", "SearchSpace", "estimator_class", "list_presets", "load_preset"]

#: symbolic layer widths resolved at fit time
SYMBOLS = ("n_features", "n_outputs")
_DISTRIBUTIONS = ("loguniform", "uniform", "randint")
_FORBIDDEN = ("random_state",)
_TOP_KEYS = ("name", "description", "reference", "estimator", "fixed", "params")


def estimator_class(kind: str):
    """The estimator class for a kind name (``"MLPEmulator"``, ``"EDNN"``, ``"NNCA"``;
    case-insensitive, ``"emulator"`` also names the MLP): the searchable classes of the
    model table :mod:`xslatent.io._registry`."""
    entries = model_classes("estimator", searchable=True)
    table = {n.lower(): e.cls for e in entries for n in (e.name, *e.aliases)}
    if not isinstance(kind, str) or kind.lower() not in table:
        names = ", ".join(repr(n) for n in sorted(e.name for e in entries))
        raise InvalidParameterError(
            f"The 'estimator' entry of the search space must be one of {names}. "
            f"Got {_fmt(kind)} instead."
        )
    return table[kind.lower()]


# --------------------------------------------------------------------------- entries
class Distribution:
    """A named scalar distribution of the search space (has ``rvs`` for ParameterSampler)."""

    def __init__(self, kind: str, low, high):
        import scipy.stats

        self.kind, self.low, self.high = kind, low, high
        if kind == "loguniform":
            self._dist = scipy.stats.loguniform(low, high)
        elif kind == "uniform":
            self._dist = scipy.stats.uniform(loc=low, scale=high - low)
        else:
            self._dist = scipy.stats.randint(low, high)

    def rvs(self, *args, **kwargs):
        return self._dist.rvs(*args, **kwargs)

    def to_dict(self) -> dict:
        return {"distribution": self.kind, "low": self.low, "high": self.high}

    def __repr__(self) -> str:
        return f"{self.kind}({self.low!r}, {self.high!r})"


class LayerGrid:
    """``depth`` × ``width`` → a tuple of ``depth`` equal widths."""

    def __init__(self, depth, width):
        self.depth, self.width = depth, width

    def to_dict(self) -> dict:
        return {"depth": _entry_to_json(self.depth), "width": _entry_to_json(self.width)}

    def __repr__(self) -> str:
        return f"LayerGrid(depth={self.depth!r}, width={self.width!r})"


def _entry_to_json(entry):
    if isinstance(entry, (Distribution, LayerGrid)):
        return entry.to_dict()
    if hasattr(entry, "rvs"):
        return {"distribution": repr(entry)}
    return [list(v) if isinstance(v, tuple) else v for v in entry]


def _err(label: str, key: str, must: str, got) -> InvalidParameterError:
    return InvalidParameterError(
        f"The '{key}' entry of {label} must be {must}. Got {_fmt(got)} instead."
    )


def _as_value(v):
    """TOML arrays → tuples; numpy scalars → Python scalars."""
    if isinstance(v, list):
        return tuple(_as_value(x) for x in v)
    if isinstance(v, np.generic):
        return v.item()
    return v


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _parse_distribution(label: str, key: str, table: Mapping) -> Distribution:
    extra = set(table) - {"distribution", "low", "high"}
    if extra:
        raise _err(
            label,
            key,
            "a distribution table with keys 'distribution', 'low', 'high'",
            {k: table[k] for k in sorted(extra)},
        )
    kind = table.get("distribution")
    if kind not in _DISTRIBUTIONS:
        raise _err(
            label,
            key,
            "a table whose 'distribution' is one of " + ", ".join(map(repr, _DISTRIBUTIONS)),
            kind,
        )
    low, high = table.get("low"), table.get("high")
    check = _is_int if kind == "randint" else _is_real
    what = "ints" if kind == "randint" else "numbers"
    if not (check(low) and check(high)) or not (np.isfinite(low) and np.isfinite(high)):
        raise _err(
            label, key, f"a {kind} distribution with finite {what} 'low' and 'high'", dict(table)
        )
    if not low < high:
        raise _err(label, key, f"a {kind} distribution with low < high", dict(table))
    if kind == "loguniform" and low <= 0:
        raise _err(label, key, "a loguniform distribution with 0 < low < high", dict(table))
    if kind != "randint":
        low, high = float(low), float(high)
    return Distribution(
        kind, int(low) if kind == "randint" else low, int(high) if kind == "randint" else high
    )


def _parse_scalar_entry(label: str, key: str, value):
    """A list, a distribution table or an rvs object."""
    if hasattr(value, "rvs"):
        return value
    if isinstance(value, Mapping):
        return _parse_distribution(label, key, value)
    if isinstance(value, (list, tuple)) and not isinstance(value, str):
        if len(value) == 0:
            raise _err(label, key, "a non-empty list of values", list(value))
        return [_as_value(v) for v in value]
    raise _err(
        label, key, "a non-empty list of values, a distribution table or a layer table", value
    )


def _parse_entry(label: str, key: str, value):
    if isinstance(value, Mapping) and ("depth" in value or "width" in value):
        extra = set(value) - {"depth", "width"}
        if extra or "depth" not in value or "width" not in value:
            raise _err(
                label, key, "a layer table with exactly the keys 'depth' and 'width'", dict(value)
            )
        depth = _parse_scalar_entry(label, f"{key}.depth", value["depth"])
        width = _parse_scalar_entry(label, f"{key}.width", value["width"])
        return LayerGrid(depth, width)
    if isinstance(value, LayerGrid):
        return value
    return _parse_scalar_entry(label, key, value)


# --------------------------------------------------------------------------- the space
class SearchSpace:
    """Parameter distributions of a randomized search, with optional fixed parameters.

    Parameters
    ----------
    params : dict or list of dict
        Entries as described in the module docstring (lists, distribution tables or objects
        with ``rvs``, layer tables). A list of dicts gives alternative sub-spaces.
    fixed : dict, optional
        Parameters set on every candidate.
    name : str, default="search space"
    estimator : str, optional
        Kind the space is meant for (``"MLPEmulator"``, ``"EDNN"``, ``"NNCA"``); when given,
        the space is validated against that estimator's parameters on construction.
    description, reference : str, optional

    Raises
    ------
    InvalidParameterError
        For an empty space, an entry of the wrong type or with an invalid value, or a
        parameter the estimator does not have; the message names the entry.

    Examples
    --------
    >>> from xslatent.selection import SearchSpace
    >>> space = SearchSpace({"hidden_layer_sizes": {"depth": [1, 2], "width": [8]},
    ...                      "alpha": [1e-4]})
    >>> space.sample(2, random_state=0)
    [{'alpha': 0.0001, 'hidden_layer_sizes': (8,)}, {'alpha': 0.0001, 'hidden_layer_sizes': (8, 8)}]
    """

    def __init__(
        self,
        params,
        *,
        fixed=None,
        name="search space",
        estimator=None,
        description="",
        reference="",
    ):
        self.name = str(name)
        label = self._label
        if isinstance(params, Mapping):
            raw = [params]
        elif isinstance(params, (list, tuple)) and all(isinstance(p, Mapping) for p in params):
            raw = list(params)
        else:
            raise InvalidParameterError(
                f"The 'params' of {label} must be a dict or a list of dicts. Got {_fmt(params)} instead."
            )
        if not raw or any(len(p) == 0 for p in raw):
            raise InvalidParameterError(
                f"The 'params' of {label} must name at least one parameter to search. Got an empty space instead."
            )
        self.subspaces: list[dict] = []
        for sub in raw:
            parsed = {}
            for key, value in sub.items():
                if not isinstance(key, str) or "__" in key:
                    raise _err(label, str(key), "a plain estimator parameter name (no '__')", key)
                parsed[key] = _parse_entry(label, key, value)
            self.subspaces.append(parsed)
        fixed = {} if fixed is None else fixed
        if not isinstance(fixed, Mapping):
            raise InvalidParameterError(
                f"The 'fixed' table of {label} must be a dict. Got {_fmt(fixed)} instead."
            )
        self.fixed = {k: _as_value(v) for k, v in fixed.items()}
        for sub in self.subspaces:
            both = sorted(set(sub) & set(self.fixed))
            if both:
                raise _err(
                    label, both[0], "either searched or fixed, not both", self.fixed[both[0]]
                )
        self.estimator = estimator
        self.description = description
        self.reference = reference
        if estimator is not None:
            self.validate(estimator_class(estimator)())

    @property
    def _label(self) -> str:
        return f"search space '{self.name}'"

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: Mapping, *, name: str | None = None) -> SearchSpace:
        """Build from a TOML-like document (keys as in the module docstring)."""
        label = f"search space '{name or doc.get('name', 'search space')}'"
        unknown = sorted(set(doc) - set(_TOP_KEYS))
        if unknown:
            hint = difflib.get_close_matches(unknown[0], _TOP_KEYS, n=1)
            raise InvalidParameterError(
                f"The '{unknown[0]}' key of {label} is not known; use one of "
                f"{', '.join(_TOP_KEYS)}{' (did you mean ' + repr(hint[0]) + '?)' if hint else ''}."
            )
        if "params" not in doc:
            raise InvalidParameterError(
                f"The 'params' of {label} must name at least one parameter to search. Got no [params] table instead."
            )
        return cls(
            doc["params"],
            fixed=doc.get("fixed"),
            name=name or doc.get("name", "search space"),
            estimator=doc.get("estimator"),
            description=doc.get("description", ""),
            reference=doc.get("reference", ""),
        )

    @classmethod
    def from_toml(cls, path) -> SearchSpace:
        """Read a space from a TOML file (schema in the module docstring)."""
        path = Path(path)
        with open(path, "rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidParameterError(
                    f"The search space file '{path}' is not valid TOML: {exc}"
                ) from None
        return cls.from_dict(doc, name=doc.get("name", path.stem))

    @classmethod
    def coerce(cls, obj) -> SearchSpace:
        """A SearchSpace from a SearchSpace, a preset name, a ``.toml`` path or a dict/list."""
        if isinstance(obj, SearchSpace):
            return obj
        if isinstance(obj, (str, os.PathLike)):
            text = os.fspath(obj)
            if text.endswith(".toml") or os.path.sep in text:
                return cls.from_toml(text)
            return load_preset(text)
        return cls(obj, name="param_distributions")

    # -- validation ------------------------------------------------------------------------
    def validate(self, estimator) -> None:
        """Check every entry against ``estimator``'s parameters and their rules.

        Raises
        ------
        InvalidParameterError
            Naming the first entry that is unknown or has a value the estimator rejects.
        """
        label = self._label
        owner = type(estimator).__name__
        valid = estimator.get_params(deep=False)
        # xslatent's rules (scikit-learn estimators carry rules of another kind: not used)
        rules = {
            k: v
            for k, v in getattr(estimator, "_parameter_constraints", {}).items()
            if isinstance(v, (list, tuple))
            and all(hasattr(r, "accepts") and hasattr(r, "describe") for r in v)
        }

        def check_value(key, value, shown=None):
            rule = rules.get(key)
            if rule is None:
                return
            probe = _resolve(value, 1, 1) if key.endswith("layer_sizes") else value
            if not any(r.accepts(probe) for r in rule):
                allowed = " or ".join(r.describe() for r in rule)
                raise _err(label, key, allowed, value if shown is None else shown)

        def check_name(key):
            if key in _FORBIDDEN:
                raise _err(
                    label,
                    key,
                    "left out: each candidate's seed derives from the search's random_state",
                    key,
                )
            if key not in valid:
                hint = difflib.get_close_matches(key, list(valid), n=1)
                raise InvalidParameterError(
                    f"The '{key}' entry of {label} is not a parameter of {owner}"
                    f"{' (did you mean ' + repr(hint[0]) + '?)' if hint else ''}. "
                    f"Valid parameters: {', '.join(sorted(valid))}."
                )

        for key, value in self.fixed.items():
            check_name(key)
            check_value(key, value)
        for sub in self.subspaces:
            for key, entry in sub.items():
                check_name(key)
                if isinstance(entry, LayerGrid):
                    if LAYER_SIZES not in rules.get(key, [LAYER_SIZES]):
                        raise _err(
                            label,
                            key,
                            "a list or distribution (a layer table only fits a *_layer_sizes parameter)",
                            entry.to_dict(),
                        )
                    self._check_layer_part(key, "depth", entry.depth, 0)
                    self._check_layer_part(key, "width", entry.width, 1)
                elif isinstance(entry, Distribution):
                    rule = rules.get(key)
                    if rule is not None:
                        for end in (
                            entry.low,
                            entry.high if entry.kind != "randint" else entry.high - 1,
                        ):
                            if not any(r.accepts(end) for r in rule):
                                allowed = " or ".join(r.describe() for r in rule)
                                raise _err(
                                    label, key, f"a distribution over {allowed}", entry.to_dict()
                                )
                elif hasattr(entry, "rvs"):
                    continue
                else:
                    for value in entry:
                        check_value(key, value)

    def _check_layer_part(self, key, part, entry, minimum):
        label = self._label
        name = f"{key}.{part}"
        if isinstance(entry, Distribution):
            if entry.kind != "randint" or entry.low < minimum:
                raise _err(
                    label,
                    name,
                    f"a list or a randint distribution of ints >= {minimum}",
                    entry.to_dict(),
                )
            return
        if hasattr(entry, "rvs"):
            return
        for v in entry:
            ok = _is_int(v) and v >= minimum
            if part == "width" and isinstance(v, str):
                ok = v in SYMBOLS
            if not ok:
                must = "ints >= 0" if part == "depth" else "ints >= 1 or 'n_features' / 'n_outputs'"
                raise _err(label, name, f"a list of {must}", v)

    # -- sampling --------------------------------------------------------------------------
    def flat_distributions(self) -> list[dict]:
        """The space as handed to :class:`~sklearn.model_selection.ParameterSampler`."""
        out = []
        for sub in self.subspaces:
            flat = {}
            for key, entry in sub.items():
                if isinstance(entry, LayerGrid):
                    flat[key + "__depth"] = entry.depth
                    flat[key + "__width"] = entry.width
                else:
                    flat[key] = entry
            out.append(flat)
        return out

    def sample(
        self, n_iter: int, random_state=None, *, n_features=None, n_outputs=None
    ) -> list[dict]:
        """Draw ``n_iter`` candidates (fewer if a lists-only space has fewer points).

        Parameters
        ----------
        n_iter : int
        random_state : int, RandomState or None
            Passed to :class:`~sklearn.model_selection.ParameterSampler`.
        n_features, n_outputs : int, optional
            Values of the symbolic widths; symbols stay unresolved when None.

        Returns
        -------
        list of dict
            Estimator parameters of each candidate (fixed ones included), keys sorted.
        """
        import warnings

        from sklearn.model_selection import ParameterSampler

        sampler = ParameterSampler(self.flat_distributions(), n_iter, random_state=random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The total space of parameters")
            flat_samples = list(sampler)
        out = []
        for flat in flat_samples:
            cand = dict(self.fixed)
            layers: dict[str, dict] = {}
            for key, value in flat.items():
                if key.endswith("__depth") or key.endswith("__width"):
                    name, part = key.rsplit("__", 1)
                    layers.setdefault(name, {})[part] = _as_value(value)
                else:
                    cand[key] = _as_value(value)
            for name, lw in layers.items():
                cand[name] = (lw["width"],) * int(lw["depth"])
            cand = {
                k: _resolve(v, n_features, n_outputs) if k.endswith("layer_sizes") else v
                for k, v in cand.items()
            }
            out.append(dict(sorted(cand.items())))
        return out

    def grid_size(self) -> int | None:
        """Number of distinct candidates of a lists-only space (None with distributions)."""
        total = 0
        for flat in self.flat_distributions():
            if any(hasattr(v, "rvs") for v in flat.values()):
                return None
            size = 1
            for v in flat.values():
                size *= len(v)
            total += size
        return total

    def to_dict(self) -> dict:
        """JSON-able description (round-trips through :meth:`from_dict` for TOML-built spaces)."""
        params = [{k: _entry_to_json(v) for k, v in sub.items()} for sub in self.subspaces]
        doc = {"name": self.name, "params": params[0] if len(params) == 1 else params}
        if self.fixed:
            doc["fixed"] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in self.fixed.items()
            }
        if self.estimator:
            doc["estimator"] = self.estimator
        return doc

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, estimator={self.estimator!r}, params={self.subspaces!r}, fixed={self.fixed!r})"


def _resolve(value, n_features, n_outputs):
    """Replace symbolic widths in a layer-sizes value."""
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, tuple):
        sym = {"n_features": n_features, "n_outputs": n_outputs}
        return tuple(
            sym[v] if isinstance(v, str) and v in sym and sym[v] is not None else v for v in value
        )
    return value


# --------------------------------------------------------------------------- presets
def _preset_dir():
    return importlib.resources.files("xslatent.selection") / "presets"


def list_presets() -> list[str]:
    """Names of the bundled search-space presets."""
    return sorted(
        p.name[: -len(".toml")] for p in _preset_dir().iterdir() if p.name.endswith(".toml")
    )


def load_preset(name: str) -> SearchSpace:
    """A bundled search space by name (see :func:`list_presets`).

    Raises
    ------
    InvalidParameterError
        If no preset has that name.
    """
    names = list_presets()
    if name not in names:
        hint = difflib.get_close_matches(str(name), names, n=1)
        raise InvalidParameterError(
            f"The 'preset' parameter must be one of {', '.join(map(repr, names))}"
            f"{' (did you mean ' + repr(hint[0]) + '?)' if hint else ''}. Got {_fmt(name)} instead."
        )
    with (_preset_dir() / f"{name}.toml").open("rb") as fh:
        doc = tomllib.load(fh)
    return SearchSpace.from_dict(doc, name=name)
