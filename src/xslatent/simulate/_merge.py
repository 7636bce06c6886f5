"""Merging chunk files and ragged per-item arrays: shared by every generator's ``assemble``.

Per-item stick lists differ in length (the number of virtual orbitals, of cluster orbitals),
so chunk functions pad them to a rectangle with :func:`pad_rows`, and ``assemble`` pads the
chunks to the widest one with :func:`concat_padded`. Energies are padded with NaN,
intensities and weights with 0, so padding never adds a line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import DataFormatError
from ._runner import attrs_equal, is_complete

__all__ = [
    "check_coverage",
    "check_same_attrs",
    "complete_chunk_files",
    "concat_padded",
    "pad_rows",
]


def pad_rows(rows: Sequence, fill: float, width: int | None = None) -> np.ndarray:
    """Stack 1-D rows of different lengths into one 2-D float array, padded with ``fill``.

    Parameters
    ----------
    rows : sequence of 1-D array-likes
        Rows; row ``i`` fills ``out[i, :len(rows[i])]``.
    fill : float
        Value of the padding (NaN for energies, 0 for intensities).
    width : int, optional
        Number of columns; default: the longest row.

    Returns
    -------
    ndarray of shape (len(rows), width), float64

    Examples
    --------
    >>> pad_rows([[1.0, 2.0], [3.0]], fill=0.0)
    array([[1., 2.],
           [3., 0.]])
    """
    width = max((len(r) for r in rows), default=0) if width is None else width
    out = np.full((len(rows), width), fill)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def concat_padded(parts: Sequence[np.ndarray], fill: float) -> np.ndarray:
    """Concatenate 2-D arrays along axis 0 after padding their columns to the widest with ``fill``.

    Parameters
    ----------
    parts : sequence of ndarray of shape (n_i, width_i)
        At least one array.
    fill : float
        Value of the added columns.

    Returns
    -------
    ndarray of shape (sum n_i, max width_i)

    Examples
    --------
    >>> concat_padded([np.ones((1, 2)), np.zeros((2, 1))], fill=-1.0)
    array([[ 1.,  1.],
           [ 0., -1.],
           [ 0., -1.]])
    """
    width = max(a.shape[1] for a in parts)
    return np.concatenate(
        [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=fill) for a in parts]
    )


def complete_chunk_files(directory: str | os.PathLike, pattern: str = "chunk_*.h5") -> list[Path]:
    """The complete chunk files of a run, sorted by name.

    Parameters
    ----------
    directory : path-like
        The ``chunks`` directory of a run, or the run's output directory containing it.
    pattern : str, default="chunk_*.h5"
        Glob of the chunk file names.

    Returns
    -------
    list of Path
        Files marked complete by :func:`xslatent.simulate._runner.run_chunks`; unfinished
        or unreadable files are left out.

    Raises
    ------
    DataFormatError
        If there is no complete chunk file.
    """
    chunk_dir = Path(directory)
    if (chunk_dir / "chunks").is_dir():
        chunk_dir = chunk_dir / "chunks"
    paths = [p for p in sorted(chunk_dir.glob(pattern)) if is_complete(p)]
    if not paths:
        raise DataFormatError(f"No complete chunk files in {chunk_dir}.")
    return paths


def check_same_attrs(path: str | os.PathLike, attrs: Mapping[str, Any],
                     reference: Mapping[str, Any], keys: Iterable[str]) -> None:
    """Raise unless chunk ``path`` agrees with the first chunk on the run parameters ``keys``.

    Parameters
    ----------
    path : path-like
        The chunk being merged, for the message.
    attrs, reference : mapping
        Its attributes and those of the first chunk.
    keys : iterable of str
        Attributes that must be equal (compared with
        :func:`~xslatent.simulate._runner.attrs_equal`; a key missing from both is equal).

    Raises
    ------
    DataFormatError
        Naming the first key that differs and both values.
    """
    for k in keys:
        if not attrs_equal(attrs.get(k), reference.get(k)):
            raise DataFormatError(f"{path} has {k}={attrs.get(k)!r}, other chunks {reference.get(k)!r}.")


def check_coverage(missing: Sequence[int], n_total: int, unit: str, chunk_dir: str | os.PathLike,
                   allow_incomplete: bool) -> None:
    """Raise if items of a run have no chunk, unless ``allow_incomplete``.

    Parameters
    ----------
    missing : sequence of int
        Indices of the items (snapshots, runs) that no complete chunk holds.
    n_total : int
        Number of items the run asked for.
    unit : str
        Plural name of the items, for the message.
    chunk_dir : path-like
        Directory of the chunks, for the message.
    allow_incomplete : bool
        Accept missing items.

    Raises
    ------
    DataFormatError
        Naming how many items are missing and the first few of them.
    """
    if len(missing) and not allow_incomplete:
        raise DataFormatError(
            f"{len(missing)} of {n_total} {unit} have no chunk in {chunk_dir} (e.g. "
            f"{list(missing[:5])}); finish the run or pass allow_incomplete=True."
        )
