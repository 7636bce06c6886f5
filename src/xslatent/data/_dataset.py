"""The :class:`Dataset` container and its HDF5 file format.

A data set pairs structural features ``X`` (n samples x d features) with targets ``Y``
(n samples x m channels: a spectrum on an energy grid, or spectral moments), plus names,
an optional energy grid, optional per-sample groups and metadata, and provenance.

File layout (``schema_version = 1``)::

    /                       attrs: format="xslatent.dataset", schema_version=1,
                                   name=<str>, attrs=<JSON text>
    /X                      float64 (n, d)
    /Y                      float64 (n, m)
    /feature_names          UTF-8 strings (d,)
    /target_names           UTF-8 strings (m,)
    /energy                 float64 (m,)            optional
    /groups                 numeric or UTF-8 (n,)   optional
    /metadata/<key>         any numeric, bool or UTF-8 array (n, ...)
"""

from __future__ import annotations

import copy
import fnmatch
import json
import numbers
import os
from typing import Any, Mapping, Sequence

import numpy as np

from .._fileio import atomic_path
from .._validation import RANDOM_STATE, Interval, Options, check_array, validate_params
from ..exceptions import DataFormatError, InvalidParameterError

__all__ = ["Dataset", "FORMAT_NAME", "SCHEMA_VERSION"]

#: Value of the root ``format`` attribute of every file written by :meth:`Dataset.save`.
FORMAT_NAME = "xslatent.dataset"
#: Newest schema this version of xslatent writes and reads.
SCHEMA_VERSION = 1

_REQUIRED = ("X", "Y", "feature_names", "target_names")
_OWNER = "Dataset"


def _fmt(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays are common in provenance; store them as plain JSON values.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _normalise_attrs(attrs: Any) -> dict:
    """Return ``attrs`` as it will read back from a file (JSON round trip)."""
    if attrs is None:
        return {}
    if not isinstance(attrs, Mapping):
        raise InvalidParameterError(
            f"The 'attrs' parameter of {_OWNER} must be a dict of JSON-serialisable values or "
            f"None. Got {type(attrs).__name__} instead."
        )
    try:
        return json.loads(json.dumps(dict(attrs), default=_json_default))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The 'attrs' parameter of {_OWNER} must be a dict of JSON-serialisable values "
            f"(str, int, float, bool, None, list, dict, numpy scalars/arrays). Got a value that "
            f"is not: {exc}."
        ) from None


def _check_names(names: Any, field: str, n: int, prefix: str) -> list[str]:
    if names is None:
        return [f"{prefix}{i}" for i in range(n)]
    if isinstance(names, (str, bytes)):
        raise InvalidParameterError(
            f"The '{field}' parameter of {_OWNER} must be a list of {n} str. Got a single "
            f"string {_fmt(names)} instead."
        )
    try:
        out = list(names)
    except TypeError:
        raise InvalidParameterError(
            f"The '{field}' parameter of {_OWNER} must be a list of {n} str or None. Got "
            f"{type(names).__name__} instead."
        ) from None
    bad = [v for v in out if not isinstance(v, str)]
    if bad:
        raise InvalidParameterError(
            f"The '{field}' parameter of {_OWNER} must be a list of str. Got non-string "
            f"item(s) {_fmt(bad[:3])} instead."
        )
    out = [str(v) for v in out]  # np.str_ -> str
    if len(out) != n:
        raise InvalidParameterError(
            f"The '{field}' parameter of {_OWNER} must have one name per column ({n}). Got "
            f"{len(out)} name(s) instead."
        )
    if len(set(out)) != len(out):
        seen: set[str] = set()
        dups = sorted({v for v in out if v in seen or seen.add(v)})
        raise InvalidParameterError(
            f"The '{field}' parameter of {_OWNER} must contain unique names. Got duplicate(s) "
            f"{_fmt(dups)} instead."
        )
    return out


def _as_string_or_plain(values: Any, field: str) -> np.ndarray:
    """Return ``values`` as a numeric, bool or unicode array; reject other objects."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biufc":
        return arr
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype.kind in "OS":
        flat = arr.ravel()
        if arr.dtype.kind == "S" or all(isinstance(v, (str, bytes)) for v in flat):
            try:
                return np.array(
                    [v.decode("utf-8") if isinstance(v, bytes) else v for v in flat], dtype=str
                ).reshape(arr.shape)
            except UnicodeDecodeError:
                pass
    raise InvalidParameterError(
        f"The '{field}' parameter of {_OWNER} must be an array of numbers, bools or str. Got "
        f"an array of dtype {arr.dtype} instead."
    )


def _check_groups(groups: Any, n: int) -> np.ndarray | None:
    if groups is None:
        return None
    arr = _as_string_or_plain(groups, "groups")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidParameterError(
            f"The 'groups' parameter of {_OWNER} must be a 1-D array with one entry per sample "
            f"({n}). Got shape {arr.shape} instead."
        )
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise InvalidParameterError(
            f"The 'groups' parameter of {_OWNER} must contain only finite values. Got "
            f"{int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))} NaN or infinite "
            f"value(s) instead."
        )
    return arr


def _check_metadata(metadata: Any, n: int) -> dict[str, np.ndarray]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidParameterError(
            f"The 'metadata' parameter of {_OWNER} must be a dict of name -> array or None. "
            f"Got {type(metadata).__name__} instead."
        )
    out: dict[str, np.ndarray] = {}
    for key, values in metadata.items():
        if not isinstance(key, str) or not key or "/" in key or key in (".", ".."):
            raise InvalidParameterError(
                f"The 'metadata' parameter of {_OWNER} must have non-empty str keys without "
                f"'/'. Got key {_fmt(key)} instead."
            )
        arr = _as_string_or_plain(values, f"metadata[{key!r}]")
        if arr.ndim == 0 or arr.shape[0] != n:
            raise InvalidParameterError(
                f"The 'metadata[{key!r}]' parameter of {_OWNER} must be an array with one row "
                f"per sample ({n}). Got shape {arr.shape} instead."
            )
        out[key] = arr
    return out


class Dataset:
    """Paired structural features and spectra, with names, groups and provenance.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Structural features (finite floats).
    Y : array-like of shape (n_samples, n_targets)
        Targets: spectra on an energy grid or spectral moments (finite floats).
    feature_names : sequence of str, default=None
        Unique column names of ``X``; ``None`` gives ``x0, x1, ...``.
    target_names : sequence of str, default=None
        Unique column names of ``Y``; ``None`` gives ``y0, y1, ...``.
    energy : array-like of shape (n_targets,), default=None
        Energy grid of the spectrum channels, or ``None`` (e.g. for moments).
    groups : array-like of shape (n_samples,), default=None
        A label per sample (numeric or str), e.g. the pressure of each snapshot; usable
        for stratified splits.
    metadata : dict of str to array-like, default=None
        Extra per-sample columns, each with ``n_samples`` rows and any trailing shape
        (coordination number, trajectory index, raw positions ``(n, n_atoms, 3)``, ...).
        Values may be numeric, bool or str; NaN is allowed here.
    attrs : dict, default=None
        Free-form provenance (code versions, seeds, settings). Stored as JSON, so it is
        normalised on construction to what reads back from a file (tuples become lists,
        numpy scalars become Python numbers).
    name : str, default=""
        Short name of the data set.

    Attributes
    ----------
    n_samples : int
        Number of rows (also ``len(dataset)``).
    n_features : int
        Number of columns of ``X``.
    n_targets : int
        Number of columns of ``Y``.

    See Also
    --------
    xslatent.data.FeatureScaler : z-score ``X`` feature-wise.
    xslatent.data.GlobalSpectrumScaler : scale spectra by one scalar.

    Notes
    -----
    Arrays are converted with :func:`numpy.asarray` and are not copied when already of the
    right type; methods returning a new :class:`Dataset` always copy.

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent.data import Dataset
    >>> ds = Dataset(np.zeros((10, 3)), np.ones((10, 5)), energy=np.linspace(0, 1, 5))
    >>> train, test = ds.train_test_split(test_size=0.2, random_state=0)
    >>> len(train), len(test)
    (8, 2)
    """

    X: np.ndarray
    Y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    energy: np.ndarray | None
    groups: np.ndarray | None
    metadata: dict[str, np.ndarray]
    attrs: dict[str, Any]
    name: str

    def __init__(
        self,
        X: Any,
        Y: Any,
        feature_names: Sequence[str] | None = None,
        target_names: Sequence[str] | None = None,
        energy: Any = None,
        groups: Any = None,
        metadata: Mapping[str, Any] | None = None,
        attrs: Mapping[str, Any] | None = None,
        name: str = "",
    ) -> None:
        X = check_array(X, "X", owner=_OWNER)
        Y = check_array(Y, "Y", owner=_OWNER)
        if X.shape[0] != Y.shape[0]:
            raise InvalidParameterError(
                f"The 'X' and 'Y' arguments of {_OWNER} must have the same number of rows. "
                f"Got {X.shape[0]} and {Y.shape[0]} instead."
            )
        n, d = X.shape
        m = Y.shape[1]
        if energy is not None:
            energy = check_array(energy, "energy", owner=_OWNER, ndim=1)
            if energy.shape[0] != m:
                raise InvalidParameterError(
                    f"The 'energy' argument of {_OWNER} must have one value per target column "
                    f"({m}). Got {energy.shape[0]} value(s) instead."
                )
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"The 'name' parameter of {_OWNER} must be a str. Got {_fmt(name)} instead."
            )
        self.X = X
        self.Y = Y
        self.feature_names = _check_names(feature_names, "feature_names", d, "x")
        self.target_names = _check_names(target_names, "target_names", m, "y")
        self.energy = energy
        self.groups = _check_groups(groups, n)
        self.metadata = _check_metadata(metadata, n)
        self.attrs = _normalise_attrs(attrs)
        self.name = name

    # ------------------------------------------------------------------ basic protocol
    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of structural features (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def n_targets(self) -> int:
        """Number of target channels (columns of ``Y``)."""
        return int(self.Y.shape[1])

    def __repr__(self) -> str:
        parts = [
            f"name={self.name!r}",
            f"n_samples={self.n_samples}",
            f"n_features={self.n_features}",
            f"n_targets={self.n_targets}",
        ]
        if self.energy is not None:
            parts.append(f"energy=[{self.energy.min():g}, {self.energy.max():g}]")
        if self.groups is not None:
            parts.append(f"groups={len(np.unique(self.groups))} unique")
        if self.metadata:
            parts.append(f"metadata={_fmt(list(self.metadata))}")
        if self.attrs:
            parts.append(f"attrs={_fmt(list(self.attrs))}")
        return f"Dataset({', '.join(parts)})"

    def _replace(self, **changes: Any) -> Dataset:
        fields = dict(
            X=self.X,
            Y=self.Y,
            feature_names=list(self.feature_names),
            target_names=list(self.target_names),
            energy=self.energy,
            groups=self.groups,
            metadata=dict(self.metadata),
            attrs=copy.deepcopy(self.attrs),
            name=self.name,
        )
        fields.update(changes)
        return Dataset(**fields)

    # ------------------------------------------------------------------ sample subsets
    def _sample_indices(self, indices: Any, owner: str) -> np.ndarray:
        n = self.n_samples
        if isinstance(indices, slice):
            return np.arange(n)[indices]
        idx = np.asarray(indices)
        if idx.dtype.kind == "b":
            if idx.shape != (n,):
                raise InvalidParameterError(
                    f"The 'indices' parameter of {owner} must be a boolean mask of shape "
                    f"({n},). Got shape {idx.shape} instead."
                )
            return np.flatnonzero(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise InvalidParameterError(
                f"The 'indices' parameter of {owner} must be a 1-D array of ints, a boolean "
                f"mask or a slice. Got {_fmt(indices)} instead."
            )
        idx = idx.astype(np.intp)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise InvalidParameterError(
                f"The 'indices' parameter of {owner} must contain indices in the range "
                f"[{-n}, {n - 1}]. Got values from {idx.min()} to {idx.max()} instead."
            )
        return idx

    def subset(self, indices: Any) -> Dataset:
        """Return the samples selected by ``indices``, with groups and metadata aligned.

        Parameters
        ----------
        indices : array-like of int, boolean mask of shape (n_samples,), or slice
            Rows to keep, in this order. Must select at least one sample.

        Returns
        -------
        Dataset
            A new data set with copied arrays and the same names, energy, attrs and name.
        """
        idx = self._sample_indices(indices, "Dataset.subset")
        if idx.size == 0:
            raise InvalidParameterError(
                "The 'indices' parameter of Dataset.subset must select at least one sample. "
                "Got an empty selection instead."
            )
        return self._replace(
            X=self.X[idx],
            Y=self.Y[idx],
            energy=None if self.energy is None else self.energy.copy(),
            groups=None if self.groups is None else self.groups[idx],
            metadata={k: v[idx] for k, v in self.metadata.items()},
        )

    _split_constraints = {
        "test_size": [Interval(float, 0, 1, closed="neither"), Interval(int, 1, None)],
        "random_state": [RANDOM_STATE],
    }

    def train_test_split(
        self,
        test_size: float | int = 0.2,
        random_state: int | None = None,
        stratify: Any = None,
    ) -> tuple[Dataset, Dataset]:
        """Split the samples at random into a train and a test data set.

        Parameters
        ----------
        test_size : float in (0, 1) or int >= 1, default=0.2
            Fraction (rounded up) or number of samples in the test set. Both sets must
            end up non-empty.
        random_state : int or None, default=None
            Seed of the shuffle; ``None`` draws fresh entropy.
        stratify : None, str or array-like of shape (n_samples,), default=None
            Class labels to keep in the same proportions in both sets: ``"groups"`` uses
            :attr:`groups`, another str names a 1-D entry of :attr:`metadata`, an array
            gives the labels directly.

        Returns
        -------
        train, test : Dataset
            Disjoint subsets covering every sample; within each, samples keep their
            original order.

        Raises
        ------
        InvalidParameterError
            For a bad ``test_size``, ``random_state`` or ``stratify``, or a split that
            leaves a set empty or a class too small to stratify.
        """
        owner = "train_test_split"
        validate_params(
            owner,
            {"test_size": test_size, "random_state": random_state},
            self._split_constraints,
        )
        n = self.n_samples
        if isinstance(test_size, numbers.Integral):
            n_test = int(test_size)
        else:
            n_test = int(np.ceil(float(test_size) * n))
        n_train = n - n_test
        if n_test < 1 or n_train < 1:
            raise InvalidParameterError(
                f"The 'test_size' parameter of {owner} must leave at least one sample in each "
                f"of the train and test sets of this {n}-sample data set. Got {_fmt(test_size)} "
                f"({n_train} train, {n_test} test) instead."
            )
        labels = self._stratify_labels(stratify, owner)

        from sklearn.model_selection import train_test_split as _sk_split

        try:
            train_idx, test_idx = _sk_split(
                np.arange(n),
                test_size=n_test,
                train_size=n_train,
                random_state=random_state,
                shuffle=True,
                stratify=labels,
            )
        except ValueError as exc:  # e.g. a class with a single member
            raise InvalidParameterError(
                f"The 'stratify' parameter of {owner} cannot be used for this split: {exc}"
            ) from None
        return self.subset(np.sort(train_idx)), self.subset(np.sort(test_idx))

    def _stratify_labels(self, stratify: Any, owner: str) -> np.ndarray | None:
        if stratify is None:
            return None
        if isinstance(stratify, str):
            if stratify == "groups":
                if self.groups is None:
                    raise InvalidParameterError(
                        f"The 'stratify' parameter of {owner} is 'groups', but this data set "
                        f"has no groups. Got stratify='groups' with groups=None instead."
                    )
                return self.groups
            if stratify in self.metadata and self.metadata[stratify].ndim == 1:
                return self.metadata[stratify]
            allowed = ["groups"] + [k for k, v in self.metadata.items() if v.ndim == 1]
            raise InvalidParameterError(
                f"The 'stratify' parameter of {owner} must be None, an array of labels, or one "
                f"of {_fmt(allowed)}. Got {stratify!r} instead."
            )
        labels = np.asarray(stratify)
        if labels.ndim != 1 or labels.shape[0] != self.n_samples:
            raise InvalidParameterError(
                f"The 'stratify' parameter of {owner} must be a 1-D array with one label per "
                f"sample ({self.n_samples}). Got shape {labels.shape} instead."
            )
        return labels

    # ------------------------------------------------------------------ target subsets
    def select_targets(self, names_or_slice: Any) -> Dataset:
        """Return a data set with a subset of the target columns.

        Useful when one file holds several spectrum types side by side (e.g. target
        names ``xes_0 ... xes_99, xas_0 ... xas_99``).

        Parameters
        ----------
        names_or_slice : str, sequence of str, slice, int, sequence of int or boolean mask
            A str is an exact target name or, when no name matches exactly, a
            shell-style pattern (``"xes_*"``) matched with :func:`fnmatch.fnmatchcase`.
            A sequence of str lists names; a slice, an int, ints or a boolean mask of
            length ``n_targets`` select columns by position. A column may not be selected
            twice.

        Returns
        -------
        Dataset
            Copy with the selected columns of ``Y``, ``target_names`` and ``energy``;
            ``X``, groups, metadata and attrs are copied unchanged.
        """
        owner = "Dataset.select_targets"
        m = self.n_targets
        sel = names_or_slice
        if isinstance(sel, str):
            if sel in self.target_names:
                cols = np.array([self.target_names.index(sel)])
            else:
                cols = np.array(
                    [j for j, t in enumerate(self.target_names) if fnmatch.fnmatchcase(t, sel)],
                    dtype=np.intp,
                )
                if cols.size == 0:
                    raise InvalidParameterError(
                        f"The 'names_or_slice' parameter of {owner} must be a target name or a "
                        f"pattern matching one; available: {_fmt(self.target_names)}. Got "
                        f"{sel!r}, which matches none, instead."
                    )
        elif isinstance(sel, slice):
            cols = np.arange(m)[sel]
        elif isinstance(sel, numbers.Integral) and not isinstance(sel, bool):
            if not -m <= sel < m:
                raise InvalidParameterError(
                    f"The 'names_or_slice' parameter of {owner} must be a column index in "
                    f"[{-m}, {m - 1}]. Got {sel} instead."
                )
            cols = np.array([int(sel)], dtype=np.intp)
        else:
            items = list(sel) if not isinstance(sel, np.ndarray) else sel
            if len(items) and all(isinstance(v, str) for v in items):
                missing = [v for v in items if v not in self.target_names]
                if missing:
                    raise InvalidParameterError(
                        f"The 'names_or_slice' parameter of {owner} must list existing target "
                        f"names; available: {_fmt(self.target_names)}. Got unknown name(s) "
                        f"{_fmt(missing)} instead."
                    )
                cols = np.array([self.target_names.index(v) for v in items], dtype=np.intp)
            else:
                arr = np.asarray(items)
                if arr.dtype.kind == "b" and arr.shape == (m,):
                    cols = np.flatnonzero(arr)
                elif arr.ndim == 1 and arr.dtype.kind in "iu" and (
                    arr.size == 0 or (arr.min() >= -m and arr.max() < m)
                ):
                    cols = arr.astype(np.intp)
                else:
                    raise InvalidParameterError(
                        f"The 'names_or_slice' parameter of {owner} must be a str, a list of "
                        f"target names, a slice, column indices in [{-m}, {m - 1}] or a boolean "
                        f"mask of length {m}. Got {_fmt(sel)} instead."
                    )
        if cols.size == 0:
            raise InvalidParameterError(
                f"The 'names_or_slice' parameter of {owner} must select at least one target "
                f"column. Got {_fmt(sel)}, which selects none, instead."
            )
        if len(np.unique(np.arange(m)[cols])) != cols.size:
            raise InvalidParameterError(
                f"The 'names_or_slice' parameter of {owner} must not select a column twice. "
                f"Got {_fmt(sel)} instead."
            )
        return self._replace(
            X=self.X.copy(),
            Y=self.Y[:, cols],
            target_names=[self.target_names[j] for j in cols],
            energy=None if self.energy is None else self.energy[cols],
            groups=None if self.groups is None else self.groups.copy(),
            metadata={k: v.copy() for k, v in self.metadata.items()},
        )

    # ------------------------------------------------------------------ HDF5 I/O
    def save(self, path: str | os.PathLike, *, compression: str | None = "gzip") -> None:
        """Write the data set to an HDF5 file, atomically.

        The file is written to ``path + ".tmp"`` and renamed over ``path`` only when
        complete, so a crash never leaves a half-written file under ``path``.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file; its directory must exist. An existing file is replaced.
        compression : {"gzip", "lzf"} or None, default="gzip"
            HDF5 filter for the numeric arrays (lossless).

        See Also
        --------
        Dataset.load : read a file written by this method.
        """
        import h5py

        validate_params(
            "Dataset.save",
            {"compression": compression},
            {"compression": [Options(("gzip", "lzf", None))]},
        )
        str_dt = h5py.string_dtype("utf-8")

        def put(group, key: str, arr: np.ndarray) -> None:
            if arr.dtype.kind == "U":
                group.create_dataset(key, data=arr.astype(object), dtype=str_dt)
            elif arr.ndim == 0 or arr.size == 0 or compression is None:
                group.create_dataset(key, data=arr)
            else:
                group.create_dataset(key, data=arr, compression=compression)

        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = FORMAT_NAME
                f.attrs["schema_version"] = np.int64(SCHEMA_VERSION)
                f.attrs["name"] = self.name
                f.attrs["attrs"] = json.dumps(self.attrs)
                put(f, "X", self.X)
                put(f, "Y", self.Y)
                put(f, "feature_names", np.array(self.feature_names, dtype=str))
                put(f, "target_names", np.array(self.target_names, dtype=str))
                if self.energy is not None:
                    put(f, "energy", self.energy)
                if self.groups is not None:
                    put(f, "groups", self.groups)
                meta = f.create_group("metadata", track_order=True)
                for key, arr in self.metadata.items():
                    put(meta, key, arr)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dataset:
        """Read a data set written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
            File to read.

        Returns
        -------
        Dataset
            Equal, array for array and name for name, to the saved one.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        DataFormatError
            If the file is not HDF5 or is truncated, is not an xslatent data set, has a
            newer schema version than this xslatent reads, or lacks a required dataset.
        """
        import h5py

        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(2, f"No such data set file: '{path}'", path)
        try:
            with h5py.File(path, "r") as f:
                return cls._from_h5(f, path, h5py)
        except DataFormatError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise DataFormatError(
                f"Cannot read '{path}' as an xslatent data set: it is not a valid HDF5 file or "
                f"it is truncated or corrupt ({type(exc).__name__}: {exc})."
            ) from exc

    @classmethod
    def _from_h5(cls, f: Any, path: str, h5py: Any) -> Dataset:
        def attr(key: str) -> Any:
            value = f.attrs.get(key)
            return value.decode("utf-8") if isinstance(value, bytes) else value

        fmt = attr("format")
        if fmt != FORMAT_NAME:
            raise DataFormatError(
                f"'{path}' is an HDF5 file but not an xslatent data set: its root 'format' "
                f"attribute must be {FORMAT_NAME!r}. Got {_fmt(fmt)} instead."
            )
        version = attr("schema_version")
        if not isinstance(version, (numbers.Integral, np.integer)) or int(version) < 1:
            raise DataFormatError(
                f"'{path}' has an invalid 'schema_version' attribute: it must be a positive "
                f"int. Got {_fmt(version)} instead."
            )
        if int(version) > SCHEMA_VERSION:
            raise DataFormatError(
                f"'{path}' uses schema_version {int(version)}, written by a newer xslatent; "
                f"this version reads schema_version <= {SCHEMA_VERSION}. Upgrade xslatent."
            )
        missing = [k for k in _REQUIRED if k not in f]
        if missing:
            raise DataFormatError(
                f"'{path}' is not a complete xslatent data set: required dataset(s) "
                f"{', '.join(repr(k) for k in missing)} are missing."
            )

        def read(node: Any) -> np.ndarray:
            if not isinstance(node, h5py.Dataset):
                raise DataFormatError(
                    f"'{path}' is not a valid xslatent data set: '{node.name}' must be an "
                    f"HDF5 dataset. Got {type(node).__name__} instead."
                )
            if h5py.check_string_dtype(node.dtype) is not None:
                raw = node.asstr()[()]
                return np.array(raw, dtype=str).reshape(np.shape(raw))
            return node[()]

        try:
            attrs = json.loads(attr("attrs") or "{}")
        except (TypeError, ValueError) as exc:
            raise DataFormatError(
                f"'{path}' has a root 'attrs' attribute that is not valid JSON ({exc})."
            ) from None
        name = attr("name")
        meta_group = f.get("metadata")
        metadata = {}
        if meta_group is not None:
            metadata = {key: read(meta_group[key]) for key in meta_group}
        try:
            return cls(
                X=read(f["X"]),
                Y=read(f["Y"]),
                feature_names=read(f["feature_names"]).tolist(),
                target_names=read(f["target_names"]).tolist(),
                energy=read(f["energy"]) if "energy" in f else None,
                groups=read(f["groups"]) if "groups" in f else None,
                metadata=metadata,
                attrs=attrs,
                name="" if name is None else str(name),
            )
        except InvalidParameterError as exc:
            raise DataFormatError(
                f"'{path}' holds an inconsistent xslatent data set: {exc}"
            ) from None
