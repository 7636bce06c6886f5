"""GeO2 Kβ spectra from Kohn–Sham DFT on Ge(OH)n first-shell clusters, on the committed MD.

The structures are the melt–quench snapshots of :mod:`xslatent.simulate.geo2` (its
``geometries/run_XXXXX.h5``); the spectrum model is :mod:`xslatent.simulate._dft_cluster`
through :func:`xslatent.simulate.geo2.compute_sites` with
:data:`~xslatent.simulate.geo2.DFT_SETTINGS`. A DFT cluster costs 4–8 s (CN 4–6) and up to
30 s (CN 7) on one core, so the sites are split into small chunks, each one
``(part, snapshot, run)``: the Ge of the snapshot whose position in the Ge list is
``part (mod n_parts)``. Chunks run part-major, then snapshot, then run (run order is
replica-major as in stage 1), so *any prefix* of the chunk order is spread evenly over all
pressures and runs: the pilot is the first 66 chunks (every run, snapshot 0, part 0), and an
interrupted full run is still a balanced subsample. Chunk files are written atomically and a
second call resumes (:func:`~xslatent.simulate._runner.run_chunks`);
:func:`xslatent.simulate.geo2.assemble` merges whatever is complete
(``allow_incomplete=True`` for a prefix).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._validation import Interval, validate_params
from ..exceptions import DataFormatError
from . import geo2
from ._runner import RunReport, is_complete, package_versions, run_chunks

__all__ = ["N_PARTS", "chunk_table", "generate_dft"]

logger = logging.getLogger(__name__)

#: Default number of parts a snapshot's Ge are split into (72 Ge → 6 sites per chunk).
N_PARTS = 12
_CHUNK_NAME = "chunk_{:05d}.h5"
_FORMAT = "xslatent-geo2-dft-chunk"
_FORMAT_VERSION = 1


def _spread(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread out (bit-reversal-like bisection)."""
    order, seen = [], set()
    step = 1
    while step < 2 * n:
        for k in range(0, n * step, n):
            v = k // step
            if v < n and v not in seen:
                seen.add(v)
                order.append(v)
        step *= 2
    return order + [v for v in range(n) if v not in seen]


def chunk_table(n_runs: int, snapshots_per_run: int, n_parts: int,
                runs_per_pressure: int) -> list[tuple[int, int, int]]:
    """``(run, snapshot, part)`` of every chunk, in computation order (chunk id = position).

    Part-major (parts in a spread-out order: 0, n/2, n/4, 3n/4, …), then snapshot, then run in
    replica-major order, so every prefix covers all pressures and runs evenly.

    Parameters
    ----------
    n_runs : int
        Melt–quench runs (pressure-major: run ``i`` is replica ``i % runs_per_pressure``).
    snapshots_per_run : int
    n_parts : int
        Parts per snapshot.
    runs_per_pressure : int

    Returns
    -------
    list of tuple of int
    """
    runs = sorted(range(n_runs), key=lambda i: (i % runs_per_pressure, i))
    return [(r, s, p) for p in _spread(n_parts) for s in range(snapshots_per_run) for r in runs]


def _dft_chunk(chunk_id: int, *, geometry_dir: str, table: list, n_parts: int,
               spectrum: dict) -> dict:
    run_id, snap, part = table[chunk_id]
    settings = geo2.SpectrumSettings(**spectrum)
    geometry = geo2._read_geometry(geometry_dir, run_id)
    ge = np.flatnonzero(geometry["numbers"] == 32)[part::n_parts]
    out = geo2._snapshot_sites(geometry, run_id, snap, settings, centers=ge)
    excluded = [(int(ge[k]), r) for k, r in out.pop("excluded")]
    merged = geo2.merge_site_rows([out])
    merged["spectrum/energy"] = settings.grid()
    merged["excluded"] = excluded
    merged["attrs"] = {"run_index": int(run_id), "snapshot_index": int(snap), "part": int(part),
                       "pressure_gpa": geometry["pressure"], **_versions()}
    return merged


def _versions() -> dict:
    return package_versions("pyscf", "ase", "numpy", "scipy", "h5py")


def generate_dft(
    out_dir: str | os.PathLike,
    geometry_dir: str | os.PathLike,
    *,
    max_chunks: int | None = None,
    n_parts: int = N_PARTS,
    pressures: Sequence[float] = geo2.DEFAULT_PRESSURES_GPA,
    runs_per_pressure: int = 6,
    snapshots_per_run: int = 3,
    seed: int = 0,
    n_workers: int = 1,
    client: Any = None,
    spectrum: geo2.SpectrumSettings = geo2.DFT_SETTINGS,
    progress: bool = True,
) -> RunReport:
    """Compute (or resume) the DFT Kβ chunks of the committed GeO2 structures.

    Parameters
    ----------
    out_dir : path-like
        Chunk directory (``chunk_XXXXX.h5``; the id is the position in :func:`chunk_table`).
    geometry_dir : path-like
        The ``geometries`` directory of :func:`xslatent.simulate.geo2.generate`; every run
        file the requested chunks need must be complete.
    max_chunks : int, optional
        Compute only the first ``max_chunks`` chunks of the order (a balanced prefix: 66 =
        the pilot, every run's snapshot 0, one Ge in ``n_parts``); default all.
    n_parts : int, default=12
    pressures, runs_per_pressure, snapshots_per_run, seed
        The settings the structures were generated with (checked against their files).
    n_workers : int, default=1
        Single-threaded worker processes (0: in this process).
    client : dask.distributed.Client, optional
    spectrum : SpectrumSettings, default=DFT_SETTINGS
    progress : bool, default=True

    Returns
    -------
    RunReport
    """
    validate_params(
        "generate_dft",
        dict(n_parts=n_parts, n_workers=n_workers, max_chunks=max_chunks),
        dict(n_parts=[Interval(int, 1, None)], n_workers=[Interval(int, 0, None)],
             max_chunks=[Interval(int, 1, None), None]),
    )
    geo2.validate_spectrum_settings(spectrum)
    pressures = [float(p) for p in pressures]
    n_runs = len(pressures) * runs_per_pressure
    md_attrs = geo2._md_attrs(seed, geo2.MDSettings(), snapshots_per_run, geo2.DENSITY_TABLE,
                              geo2.N_FORMULA_UNITS)
    md_attrs["pressures_gpa"] = np.asarray(pressures)
    md_attrs["runs_per_pressure"] = int(runs_per_pressure)
    table = chunk_table(n_runs, snapshots_per_run, n_parts, runs_per_pressure)
    ids = list(range(len(table) if max_chunks is None else min(max_chunks, len(table))))
    geometry_dir = Path(geometry_dir)
    needed = sorted({table[i][0] for i in ids})
    absent = [r for r in needed
              if not is_complete(geometry_dir / geo2._GEOMETRY_NAME.format(r), md_attrs)]
    if absent:
        raise DataFormatError(
            f"{len(absent)} melt-quench runs needed by these chunks are missing or were made "
            f"with other settings in {geometry_dir} (e.g. {absent[:5]}); run "
            f"`xslatent simulate geo2` first.")
    attrs = {**md_attrs, **geo2._spectrum_attrs(spectrum), "format": _FORMAT,
             "format_version": _FORMAT_VERSION, "n_parts": int(n_parts),
             "n_chunks_total": len(table)}
    logger.info("DFT Kbeta: %d of %d chunks in %s", len(ids), len(table), out_dir)
    return run_chunks(
        _dft_chunk, ids, out_dir,
        kwargs=dict(geometry_dir=str(geometry_dir), table=table, n_parts=int(n_parts),
                    spectrum=asdict(spectrum)),
        n_workers=n_workers, client=client, name_format=_CHUNK_NAME, expected_attrs=attrs,
        items_per_chunk=lambda c: len(range(table[c][2], geo2.N_FORMULA_UNITS, n_parts)),
        desc="GeO2 DFT Kbeta", progress=progress,
    )
