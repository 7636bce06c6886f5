"""Readers for computed and measured spectra.

Three layouts are understood (:func:`read_spectra`):

* a **table** (CSV or whitespace separated text, ``#`` comments allowed) whose first row is
  the energy grid and every further row one spectrum (a single file with two columns, or
  with a header naming its columns, is read as one spectrum instead);
* an **array file** (``.npy``, or HDF5 ``file.h5`` / ``file.h5:dataset``) of shape
  ``(n_spectra, n_energies)``, with the grid given separately (``energy=``);
* a **directory or glob** of two-column files, one spectrum per file (FEFF ``xmu.dat``,
  XDI, any ``energy intensity`` text), read by :func:`read_two_column`.

Column names follow Larch / XDI: ``energy`` and ``mu`` or ``norm``. XDI files are parsed
by a small built-in reader of the documented header (``# Column.N: name [units]``);
xraylarch is used instead when it is installed. Spectra on different grids are
interpolated onto one grid only when a ``grid`` is given; otherwise the first file whose
grid differs is named in the error.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..exceptions import DataFormatError, InvalidParameterError

__all__ = ["SpectraTable", "read_spectra", "read_two_column", "parse_grid", "check_energy_grid"]

#: Column names taken as the energy axis, in order of preference.
ENERGY_COLUMNS = ("energy", "omega", "e", "energy_ev")
_TABLE_SUFFIXES = (".csv", ".txt", ".dat", ".tsv", ".table")


@dataclass
class SpectraTable:
    """Spectra on one energy grid, with where each row came from.

    Attributes
    ----------
    energy : ndarray of shape (m,)
        Strictly increasing energy grid (eV).
    Y : ndarray of shape (n, m)
        One spectrum per row (may contain NaN; the caller decides what to do with it).
    names : list of str
        A name per row: file stem (or its folder for ``xmu.dat``-style names), or
        ``"<file>[i]"`` for rows of a table or array.
    files : list of str
        Every file read, in order.
    columns : list of str
        Intensity column used per row (``"mu"``, ``"norm"``, ... or ``"column 2"``).
    interpolated : bool
        Whether rows were interpolated onto ``energy``.
    """

    energy: np.ndarray
    Y: np.ndarray
    names: list
    files: list
    columns: list = field(default_factory=list)
    interpolated: bool = False


def check_energy_grid(energy: Any, where: str) -> np.ndarray:
    """Return ``energy`` as a finite, strictly increasing 1-D float array or raise.

    Parameters
    ----------
    energy : array-like
    where : str
        What the grid belongs to, for the message (a file name or parameter).
    """
    e = np.asarray(energy, dtype=np.float64)
    if e.ndim != 1 or e.size < 2:
        raise DataFormatError(f"The energy grid of {where} must be 1-D with at least 2 points. "
                              f"Got shape {e.shape} instead.")
    if not np.all(np.isfinite(e)):
        raise DataFormatError(f"The energy grid of {where} must be finite. Got "
                              f"{int(np.sum(~np.isfinite(e)))} NaN or infinite value(s).")
    steps = np.diff(e)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        raise DataFormatError(
            f"The energy grid of {where} must be strictly increasing. Got {e[i]:g} followed by "
            f"{e[i + 1]:g} at points {i} and {i + 1}."
        )
    return e


def parse_grid(spec: Any, owner: str = "grid") -> np.ndarray:
    """An energy grid from ``"START:STOP:NUM"``, a text / ``.npy`` file, or an array.

    Parameters
    ----------
    spec : str, path or array-like
    owner : str
        Parameter name for messages.
    """
    if isinstance(spec, (str, os.PathLike)):
        text = str(spec)
        m = re.fullmatch(r"\s*([-+0-9.eE]+):([-+0-9.eE]+):(\d+)\s*", text)
        if m:
            start, stop, num = float(m.group(1)), float(m.group(2)), int(m.group(3))
            return check_energy_grid(np.linspace(start, stop, num), f"'{owner}' ({text})")
        path = Path(text)
        if not path.is_file():
            raise InvalidParameterError(
                f"The '{owner}' parameter must be START:STOP:NUM or an existing file with one "
                f"energy per line (text or .npy). Got {text!r} instead."
            )
        arr = _load_array(path) if path.suffix == ".npy" else _load_text(path)[1]
        return check_energy_grid(np.ravel(arr), str(path))
    return check_energy_grid(spec, f"'{owner}'")


def _load_array(path: Path, key: str | None = None) -> np.ndarray:
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        import h5py

        with h5py.File(path, "r") as f:
            if key is None:
                names = [k for k in f if isinstance(f[k], h5py.Dataset)]
                if len(names) != 1:
                    raise DataFormatError(
                        f"{path} holds datasets {names}; name the spectra as '{path}:NAME'."
                    )
                key = names[0]
            if key not in f:
                raise DataFormatError(f"{path} has no dataset {key!r}; it has {list(f)}.")
            return f[key][()]
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{path} cannot be read as an array: {exc}") from None


def _load_text(path: Path) -> tuple[list[str], np.ndarray]:
    """(comment lines, 2-D float array) of a CSV or whitespace text file."""
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path} cannot be read as text: {exc}") from None
    header, rows = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#") or s.startswith("!"):
            header.append(s)
            continue
        parts = [p for p in re.split(r"[,;\s]+", s) if p]
        try:
            rows.append([float(p) for p in parts])
        except ValueError:
            if not rows:  # a column-label line before the data
                header.append("# " + s)
                continue
            raise DataFormatError(f"{path}, line {lineno}: not numbers: {s[:60]!r}") from None
        if len(rows[-1]) != len(rows[0]):
            raise DataFormatError(
                f"{path}, line {lineno}: {len(rows[-1])} values where the first data line has "
                f"{len(rows[0])}."
            )
    if not rows:
        raise DataFormatError(f"{path} holds no numeric data.")
    return header, np.asarray(rows, dtype=np.float64)


def _column_labels(header: list[str], n_cols: int) -> list[str] | None:
    """Column names from an XDI ``Column.N`` header or the last comment line of labels."""
    named = {}
    for line in header:
        m = re.match(r"#\s*column\.(\d+)\s*:\s*(\S+)", line, re.IGNORECASE)
        if m:
            named[int(m.group(1))] = m.group(2).lower()
    if named:
        return [named.get(i + 1, f"column {i + 1}") for i in range(n_cols)]
    for line in reversed(header):
        words = line.lstrip("#!").replace("@#", "").split()
        if len(words) == n_cols and all(re.match(r"[A-Za-z_]", w) for w in words):
            return [w.lower() for w in words]
    return None


def _pick(labels: list[str]) -> tuple[int, int]:
    e = next((i for name in ENERGY_COLUMNS for i, lab in enumerate(labels) if lab == name), None)
    for rule in (lambda s: s == "norm", lambda s: s.startswith("norm"),
                 lambda s: s == "mu", lambda s: s.startswith("mu") and not s.startswith("mu0")):
        y = next((i for i, lab in enumerate(labels) if rule(lab)), None)
        if y is not None:
            break
    if e is None or y is None:
        raise KeyError
    return e, y


def _read_with_larch(path: Path):  # pragma: no cover - xraylarch is an optional extra
    from larch.io import read_xdi

    g = read_xdi(str(path))
    labels = [str(lab).lower() for lab in g.array_labels]
    e, y = _pick(labels)
    return np.asarray(g.data[e], float), np.asarray(g.data[y], float), labels[y]


def read_two_column(path, *, columns: Sequence[int] | None = None):
    """One spectrum from a two-column file, a FEFF ``xmu.dat`` or an XDI file.

    Parameters
    ----------
    path : str or Path
    columns : (int, int), optional
        0-based energy and intensity columns. By default: the ``energy`` and ``norm`` (else
        ``mu``) columns named by the header (XDI ``# Column.N:`` lines, or a last comment line
        of labels such as FEFF's ``omega e k mu mu0 chi``); a file without such a header must
        have exactly two columns.

    Returns
    -------
    energy : ndarray of shape (m,)
        Strictly increasing.
    intensity : ndarray of shape (m,)
    column : str
        Name of the intensity column used.

    Raises
    ------
    DataFormatError
        Unreadable file, ambiguous columns, or an energy column that is not increasing.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path} does not exist or is not a file.")
    if columns is None and path.suffix.lower() == ".xdi":
        try:
            import larch  # noqa: F401
        except ImportError:
            pass
        else:  # pragma: no cover
            e, y, col = _read_with_larch(path)
            return check_energy_grid(e, str(path)), y, col
    header, data = _load_text(path)
    labels = _column_labels(header, data.shape[1])
    if columns is not None:
        if len(columns) != 2 or not all(0 <= int(c) < data.shape[1] for c in columns):
            raise InvalidParameterError(
                f"The 'columns' parameter of read_two_column must be two column indices in "
                f"[0, {data.shape[1] - 1}] for {path}. Got {columns!r} instead."
            )
        ie, iy = int(columns[0]), int(columns[1])
    elif labels is not None:
        try:
            ie, iy = _pick(labels)
        except KeyError:
            if data.shape[1] != 2:
                raise DataFormatError(
                    f"{path} has columns {labels}; none is 'energy' with 'mu' or 'norm'. Choose "
                    f"the columns explicitly (columns=(energy, intensity))."
                ) from None
            ie, iy = 0, 1
    elif data.shape[1] == 2:
        ie, iy = 0, 1
    else:
        raise DataFormatError(
            f"{path} has {data.shape[1]} unlabelled columns; expected two (energy, intensity) "
            f"or a header naming 'energy' and 'mu'/'norm'."
        )
    column = labels[iy] if labels is not None else f"column {iy + 1}"
    return check_energy_grid(data[:, ie], str(path)), data[:, iy], column


def _natural_key(text: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _file_names(files: list[Path]) -> list[str]:
    stems = [f.stem for f in files]
    if len(set(stems)) == len(stems):
        return stems
    return [f.parent.name if f.stem == "xmu" or stems.count(f.stem) > 1 else f.stem for f in files]


def _expand(source: str) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    else:
        files = [Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file()]
    return sorted(files, key=lambda p: _natural_key(str(p)))


def _on_grid(energy, y, grid, where):
    if grid[0] < energy[0] - 1e-9 or grid[-1] > energy[-1] + 1e-9:
        raise DataFormatError(
            f"{where} covers {energy[0]:g} to {energy[-1]:g} eV; the requested grid needs "
            f"{grid[0]:g} to {grid[-1]:g} eV (no extrapolation)."
        )
    return np.interp(grid, energy, y)


def read_spectra(
    source,
    *,
    energy: Any = None,
    grid: Any = None,
    columns: Sequence[int] | None = None,
) -> SpectraTable:
    """Read spectra from a table, an array file, or a directory / glob of two-column files.

    Parameters
    ----------
    source : str or Path
        A table (``.csv``/``.txt``/``.dat``/...: first row the energy grid, each further row
        one spectrum), an array (``.npy``, ``.h5``/``.hdf5`` optionally ``file.h5:dataset``),
        a directory, or a glob pattern (``"runs/*/xmu.dat"``) of two-column files.
    energy : array-like, str or path, optional
        The energy grid of an array file (``"START:STOP:NUM"``, a file or an array);
        required for arrays, refused otherwise.
    grid : array-like, str or path, optional
        Interpolate every spectrum linearly onto this grid. Without it all spectra must share
        one grid.
    columns : (int, int), optional
        Energy and intensity columns of two-column files (see :func:`read_two_column`).

    Returns
    -------
    SpectraTable

    Raises
    ------
    DataFormatError
        Unreadable files, no files matched, grids that are not increasing, or grids that
        differ (without ``grid``).
    InvalidParameterError
        ``energy`` missing for an array or given for another layout.
    """
    text = str(source)
    base, _, key = text.partition(":") if re.search(r"\.(h5|hdf5):", text) else (text, "", "")
    path = Path(base)
    target = None if grid is None else parse_grid(grid)
    is_array = path.suffix.lower() in (".npy", ".h5", ".hdf5")
    if energy is not None and not is_array:
        raise InvalidParameterError(
            f"The 'energy' parameter applies to .npy / HDF5 arrays only; {text!r} carries its own "
            f"energies. Got energy={energy!r}."
        )
    if path.is_file():
        if is_array:
            if energy is None:
                raise InvalidParameterError(
                    f"The 'energy' parameter is required for the array file {text!r} "
                    f"(START:STOP:NUM, a file with one energy per line, or an array). Got None."
                )
            Y = np.asarray(_load_array(path, key or None), dtype=np.float64)
            e = parse_grid(energy, "energy")
        else:
            header, data = _load_text(path)
            if (path.suffix.lower() == ".xdi" or data.shape[1] == 2 or columns is not None
                    or _column_labels(header, data.shape[1]) is not None):
                # one spectrum in columns, not a table with the grid as first row
                e, y, col = read_two_column(path, columns=columns)
                if target is not None:
                    y, e = _on_grid(e, y, target, str(path)), target
                return SpectraTable(e, y[None, :], [path.stem], [str(path)], [col], target is not None)
            e, Y = check_energy_grid(data[0], f"{path} (first row)"), data[1:]
        if Y.ndim != 2 or Y.shape[1] != e.size or Y.shape[0] == 0:
            raise DataFormatError(
                f"{text} must hold (n_spectra >= 1, {e.size}) values to match its {e.size}-point "
                f"energy grid. Got shape {Y.shape} instead."
            )
        names = [f"{path.name}[{i}]" for i in range(Y.shape[0])]
        if target is not None:
            Y = np.stack([_on_grid(e, y, target, f"{text} row {i}") for i, y in enumerate(Y)])
            e = target
        return SpectraTable(e, Y, names, [str(path)], ["row"] * len(names), target is not None)
    files = _expand(text)
    if not files:
        raise DataFormatError(f"No spectrum files found at {text!r} (a file, a directory or a glob).")
    rows, cols, e0 = [], [], None
    for f in files:
        e, y, col = read_two_column(f, columns=columns)
        cols.append(col)
        if target is not None:
            rows.append(_on_grid(e, y, target, str(f)))
            continue
        if e0 is None:
            e0, first = e, f
        elif e.shape != e0.shape or not np.allclose(e, e0, rtol=0, atol=1e-6 * max(1.0, abs(e0).max())):
            raise DataFormatError(
                f"{f} has a different energy grid ({e.size} points, {e[0]:g} to {e[-1]:g} eV) "
                f"from {first} ({e0.size} points, {e0[0]:g} to {e0[-1]:g} eV). Pass a common grid "
                f"(--grid START:STOP:NUM) to interpolate."
            )
        rows.append(y)
    energy_out = target if target is not None else e0
    return SpectraTable(energy_out, np.stack(rows), _file_names(files), [str(f) for f in files], cols,
                        target is not None)
