"""The H2O data-set generator: O K-edge XPS, XES and XAS of a hot water molecule.

Orchestration of two stages, both chunked, parallel and resumable
(:mod:`xslatent.simulate._runner`):

1. Geometries: NVE molecular dynamics with GFN2-xTB (:func:`md_trajectory`, physics in
   :mod:`xslatent.simulate._h2o_md`), one file per trajectory in ``out_dir/geometries``.
2. Spectra: B3LYP ΔSCF and transition-potential calculations with PySCF for every frame
   (:func:`compute_snapshot`, physics, spectroscopic model and broadening in
   :mod:`xslatent.simulate._h2o_spectra`), one file per chunk of snapshots in
   ``out_dir/chunks``.

:func:`assemble` merges the chunks into one HDF5 file. The physics functions are
re-exported here, so ``xslatent.simulate.h2o`` stays the one public module of the generator.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._fileio import atomic_path, sha256sum
from .._validation import Interval, validate_params
from ._h2o_md import DEFAULT_TEMPERATURE, EXPERIMENTAL_GEOMETRY, md_trajectory, run_md, xtb_minimum
from ._h2o_spectra import (
    BASIS_DESCRIPTION,
    CONV_TOL,
    GRID_LEVEL,
    LORENTZ_FWHM,
    XAS_FWHM,
    XAS_GRID,
    XAS_RAMP,
    XC,
    XES_GAUSS_FWHM,
    XES_GRID,
    XPS_GAUSS_FWHM,
    XPS_GRID,
    broaden,
    broadened_spectra,
    compute_snapshot,
    energy_grid,
    make_basis,
    xas_gaussian_fwhm,
)
from ._merge import check_coverage, check_same_attrs, complete_chunk_files, concat_padded
from ._merge import pad_rows
from ._runner import ChunkError, ItemError, RunReport, chunk_path, package_versions
from ._runner import run_chunks


__all__ = [
    "DEFAULT_TEMPERATURE",
    "EXPERIMENTAL_GEOMETRY",
    "XAS_GRID",
    "XES_GRID",
    "XPS_GRID",
    "GenerateReport",
    "ItemError",
    "assemble",
    "broaden",
    "broadened_spectra",
    "compute_snapshot",
    "generate",
    "make_basis",
    "md_trajectory",
    "run_md",
    "xas_gaussian_fwhm",
    "xtb_minimum",
]

logger = logging.getLogger(__name__)

_MAX_OH = 2.0  # Å; a longer O–H bond in the MD means the molecule dissociated

_GEOMETRY_NAME = "traj_{:03d}.h5"
_CHUNK_NAME = "chunk_{:05d}.h5"
_FORMAT = "xslatent-h2o-spectra"
_FORMAT_VERSION = 1


# --------------------------------------------------------------------------- generator


class GenerateReport(NamedTuple):
    """What :func:`generate` did in each stage (see :class:`~xslatent.simulate._runner.RunReport`)."""

    geometries: RunReport
    spectra: RunReport


def _versions() -> dict:
    return package_versions("pyscf", "tblite", "ase", "numpy", "scipy", "h5py")


def _md_params(seed, temperature, timestep_fs, equilibration_fs, frame_interval_fs, frames_per_trajectory) -> dict:
    return {
        "md_method": "GFN2-xTB (tblite), NVE velocity Verlet, start at xTB minimum, "
        "internal kinetic energy 1.5 kB T0",
        "seed": int(seed),
        "temperature_K": float(temperature),
        "timestep_fs": float(timestep_fs),
        "equilibration_fs": float(equilibration_fs),
        "frame_interval_fs": float(frame_interval_fs),
        "frames_per_trajectory": int(frames_per_trajectory),
    }


def _spectra_params() -> dict:
    return {
        "generator": "xslatent.simulate.h2o",
        "xc": XC,
        "basis": BASIS_DESCRIPTION,
        "grid_level": GRID_LEVEL,
        "conv_tol": CONV_TOL,
        "xps_grid": np.asarray(XPS_GRID, dtype=np.float64),
        "xes_grid": np.asarray(XES_GRID, dtype=np.float64),
        "xas_grid": np.asarray(XAS_GRID, dtype=np.float64),
        "lorentz_fwhm_eV": LORENTZ_FWHM,
        "xps_gauss_fwhm_eV": XPS_GAUSS_FWHM,
        "xes_gauss_fwhm_eV": XES_GAUSS_FWHM,
        "xas_gauss_fwhm_eV": np.asarray(XAS_FWHM),
        "xas_fwhm_ramp_rel_be_eV": np.asarray(XAS_RAMP),
        "xes_model": "E_v = BE - IP_HOMO(dSCF) - (eps_HOMO - eps_v), I ~ E^3 |<v|r|1s>|^2 "
        "(ground-state orbitals), unit sum",
        "xas_model": "transition potential (0.5 alpha 1s hole), f = 2/3 (eps_v - eps_1s) "
        "|<1s|r|v>|^2 per core spin-orbital, absolute; E_v = BE + eps_v (threshold at dSCF BE)",
        "xps_model": "dSCF O1s binding energy (MOM), unit-area line",
    }


def _md_chunk(traj_index: int, *, n_frames, temperature, timestep_fs, equilibration_fs,
              frame_interval_fs, seed) -> dict:
    out = md_trajectory(traj_index, n_frames, temperature, timestep_fs, equilibration_fs,
                        frame_interval_fs, seed)
    from ..features.h2o import internal_coordinates

    ic = internal_coordinates(out["positions"])
    max_oh = float(ic[:, 1].max())
    if max_oh > _MAX_OH:
        raise ChunkError(f"trajectory {traj_index} dissociated (O-H {max_oh:.2f} Å)")
    etot = out["potential_energy"] + out["kinetic_energy"]
    return {
        "positions": out["positions"],
        "time_fs": out["time_fs"],
        "potential_energy": out["potential_energy"],
        "kinetic_energy": out["kinetic_energy"],
        "attrs": {
            "trajectory_index": int(traj_index),
            "max_oh_angstrom": max_oh,
            "energy_drift_eV": float(np.max(np.abs(etot - out["initial_total_energy"]))),
            **_versions(),
        },
    }


def _chunk_range(chunk_id: int, chunk_size: int, n_snapshots: int) -> range:
    return range(chunk_id * chunk_size, min((chunk_id + 1) * chunk_size, n_snapshots))


def _spectra_chunk(chunk_id: int, *, geometry_dir, n_snapshots, chunk_size,
                   frames_per_trajectory) -> dict:
    import h5py

    from ..features.h2o import internal_coordinates

    snaps = _chunk_range(chunk_id, chunk_size, n_snapshots)
    rows: dict[str, list] = {}
    excluded = []
    pos_cache: dict[int, np.ndarray] = {}
    for s in snaps:
        t, fr = divmod(s, frames_per_trajectory)
        if t not in pos_cache:
            with h5py.File(chunk_path(geometry_dir, t, _GEOMETRY_NAME), "r") as f:
                pos_cache[t] = f["positions"][()]
        pos = pos_cache[t][fr]
        try:
            res = compute_snapshot(pos)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded as excluded
            reason = str(exc) if isinstance(exc, ItemError) else f"{type(exc).__name__}: {exc}"
            excluded.append((s, reason))
            continue
        res.update(positions=pos, snapshot_index=s, trajectory_index=t, frame_index=fr)
        for k, v in res.items():
            rows.setdefault(k, []).append(v)

    n = len(rows.get("positions", []))

    def stack(key, dtype, shape=()):
        if n == 0:
            return np.zeros((0, *shape), dtype=dtype)
        return np.asarray(rows[key], dtype=dtype)

    def padded(key, fill, dtype):
        return pad_rows(rows.get(key, []), fill).astype(dtype)

    pos_arr = stack("positions", np.float64, (3, 3))
    npts = XPS_GRID[2]
    out = {
        "structure/positions": pos_arr,
        "structure/snapshot_index": stack("snapshot_index", np.int64),
        "structure/trajectory_index": stack("trajectory_index", np.int32),
        "structure/frame_index": stack("frame_index", np.int32),
        "structure/internal_coordinates": internal_coordinates(pos_arr) if n else np.zeros((0, 3)),
        "xps/binding_energy": stack("binding_energy", np.float64),
        "xps/energy": energy_grid(XPS_GRID),
        "xps/spectrum": stack("xps", np.float32, (npts,)),
        "xes/energy": energy_grid(XES_GRID),
        "xes/spectrum": stack("xes", np.float32, (XES_GRID[2],)),
        "xas/energy": energy_grid(XAS_GRID),
        "xas/spectrum": stack("xas", np.float32, (XAS_GRID[2],)),
        "sticks/xes_energy": padded("xes_energy", np.nan, np.float32),
        "sticks/xes_intensity": padded("xes_intensity", 0.0, np.float32),
        "sticks/xas_energy": padded("xas_energy", np.nan, np.float32),
        "sticks/xas_intensity": padded("xas_intensity", 0.0, np.float32),
        "diagnostics/homo_ip": stack("homo_ip", np.float64),
        "diagnostics/tp_eps_1s": stack("tp_eps_1s", np.float64),
        "diagnostics/core_overlap": stack("core_overlap", np.float64),
        "diagnostics/tp_core_overlap": stack("tp_core_overlap", np.float64),
        "diagnostics/homo_overlap": stack("homo_overlap", np.float64),
        "diagnostics/e_ground": stack("e_ground", np.float64),
        "diagnostics/e_core_hole": stack("e_core_hole", np.float64),
        "diagnostics/e_homo_hole": stack("e_homo_hole", np.float64),
        "diagnostics/e_tp": stack("e_tp", np.float64),
        "excluded": excluded,
        "attrs": {
            "snapshot_start": snaps.start,
            "snapshot_stop": snaps.stop,
            "n_snapshots": int(n_snapshots),
            **_versions(),
        },
    }
    return out


def generate(
    out_dir: str | os.PathLike,
    n_snapshots: int = 10000,
    n_workers: int = 1,
    chunk_size: int = 100,
    seed: int = 0,
    client: Any = None,
    *,
    frames_per_trajectory: int = 500,
    temperature: float = DEFAULT_TEMPERATURE,
    timestep_fs: float = 0.2,
    equilibration_fs: float = 100.0,
    frame_interval_fs: float = 10.0,
    progress: bool = True,
) -> GenerateReport:
    """Generate (or resume) the H2O structure–spectrum data set in ``out_dir``.

    Snapshot ``i`` is frame ``i % frames_per_trajectory`` of trajectory
    ``i // frames_per_trajectory``. Stage 1 writes ``out_dir/geometries/traj_XXX.h5``
    (:func:`md_trajectory`), stage 2 ``out_dir/chunks/chunk_XXXXX.h5`` with ``chunk_size``
    snapshots each (:func:`compute_snapshot`). Existing complete files are kept, so calling
    again with the same arguments resumes an interrupted run; files made with other
    parameters raise an error instead of being mixed in. Snapshots failing a sanity check are
    logged and listed in each chunk's ``excluded/index`` and ``excluded/reason``.

    Parameters
    ----------
    out_dir : path-like
        Output directory.
    n_snapshots : int, default=10000
        Number of snapshots.
    n_workers : int, default=1
        Single-threaded worker processes; 0 computes in the calling process.
    chunk_size : int, default=100
        Snapshots per chunk file.
    seed : int, default=0
        Seed of the MD initial velocities.
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster instead of local processes.
    frames_per_trajectory : int, default=500
        Frames stored per MD trajectory.
    temperature : float, default=6500.0
        T0 in K; the internal kinetic energy at the start is 1.5 k_B T0.
    timestep_fs, equilibration_fs, frame_interval_fs : float
        MD time step, time before the first frame and time between frames, in fs.
    progress : bool, default=True
        Show progress bars.

    Returns
    -------
    GenerateReport
        Per-stage computed, skipped and failed files.

    Raises
    ------
    ChunkError
        If an MD trajectory failed (nothing is simulated for its snapshots) or existing files
        were made with other parameters.
    """
    validate_params(
        "generate",
        dict(n_snapshots=n_snapshots, n_workers=n_workers, chunk_size=chunk_size, seed=seed,
             frames_per_trajectory=frames_per_trajectory),
        dict(n_snapshots=[Interval(int, 1, None)], n_workers=[Interval(int, 0, None)],
             chunk_size=[Interval(int, 1, None)], seed=[Interval(int, 0, 2**32 - 1)],
             frames_per_trajectory=[Interval(int, 1, None)]),
    )
    out_dir = Path(out_dir)
    geo_dir = out_dir / "geometries"
    chunk_dir = out_dir / "chunks"
    md = _md_params(seed, temperature, timestep_fs, equilibration_fs, frame_interval_fs,
                    frames_per_trajectory)
    n_traj = -(-n_snapshots // frames_per_trajectory)
    logger.info("stage 1: %d MD trajectories of %d frames in %s", n_traj, frames_per_trajectory, geo_dir)
    geo_report = run_chunks(
        _md_chunk, range(n_traj), geo_dir,
        kwargs=dict(n_frames=frames_per_trajectory, temperature=float(temperature),
                    timestep_fs=float(timestep_fs), equilibration_fs=float(equilibration_fs),
                    frame_interval_fs=float(frame_interval_fs), seed=int(seed)),
        n_workers=n_workers, client=client, name_format=_GEOMETRY_NAME, expected_attrs=md,
        desc="MD trajectories", progress=progress,
    )
    if geo_report.failed:
        raise ChunkError(f"MD failed for trajectories {sorted(geo_report.failed)}: "
                         f"{geo_report.failed}")

    n_chunks = -(-n_snapshots // chunk_size)

    def validate(path: Path) -> bool:
        import h5py

        with h5py.File(path, "r") as f:
            cid = int(f.attrs["chunk_id"])
            r = _chunk_range(cid, chunk_size, n_snapshots)
            return int(f.attrs["snapshot_start"]) == r.start and int(f.attrs["snapshot_stop"]) == r.stop

    logger.info("stage 2: %d snapshots in %d chunks in %s", n_snapshots, n_chunks, chunk_dir)
    spec_report = run_chunks(
        _spectra_chunk, range(n_chunks), chunk_dir,
        kwargs=dict(geometry_dir=str(geo_dir), n_snapshots=int(n_snapshots),
                    chunk_size=int(chunk_size), frames_per_trajectory=int(frames_per_trajectory)),
        n_workers=n_workers, client=client, name_format=_CHUNK_NAME,
        expected_attrs={**md, **_spectra_params(), "chunk_size": int(chunk_size)},
        validate=validate, items_per_chunk=lambda c: len(_chunk_range(c, chunk_size, n_snapshots)),
        desc="spectra chunks", progress=progress,
    )
    return GenerateReport(geo_report, spec_report)


# --------------------------------------------------------------------------- assemble

#: Datasets concatenated along the snapshot axis by :func:`assemble`, with stored dtype.
_PER_SNAPSHOT = {
    "structure/positions": np.float64,
    "structure/snapshot_index": np.int64,
    "structure/trajectory_index": np.int32,
    "structure/frame_index": np.int32,
    "structure/internal_coordinates": np.float64,
    "xps/binding_energy": np.float64,
    "xps/spectrum": np.float32,
    "xes/spectrum": np.float32,
    "xas/spectrum": np.float32,
    "sticks/xes_energy": np.float32,
    "sticks/xes_intensity": np.float32,
    "sticks/xas_energy": np.float32,
    "sticks/xas_intensity": np.float32,
    "diagnostics/homo_ip": np.float64,
    "diagnostics/tp_eps_1s": np.float64,
    "diagnostics/core_overlap": np.float64,
    "diagnostics/tp_core_overlap": np.float64,
    "diagnostics/homo_overlap": np.float64,
    "diagnostics/e_ground": np.float64,
    "diagnostics/e_core_hole": np.float64,
    "diagnostics/e_homo_hole": np.float64,
    "diagnostics/e_tp": np.float64,
}
_PADDED = {"sticks/xes_energy": np.nan, "sticks/xas_energy": np.nan,
           "sticks/xes_intensity": 0.0, "sticks/xas_intensity": 0.0}


def assemble(
    chunk_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    allow_incomplete: bool = False,
    verbose: bool = True,
) -> str:
    """Merge the chunk files of :func:`generate` into one compressed HDF5 file.

    Layout (n = snapshots kept, sorted by snapshot index; energies in eV, lengths in Å):

    ``/structure``
        ``positions`` (n, 3, 3), ``snapshot_index``, ``trajectory_index``, ``frame_index``
        (n,), ``internal_coordinates`` (n, 3): angle (deg), long O–H, short O–H.
    ``/xps``, ``/xes``, ``/xas``
        ``energy`` (100,) grid and ``spectrum`` (n, 100) float32; ``/xps/binding_energy``
        (n,) float64.
    ``/sticks``
        ``xes_energy``, ``xes_intensity`` (n, 4), valence orbitals from the deepest (2a1) to
        the HOMO (1b1); ``xas_energy``, ``xas_intensity`` (n, n_virtual), virtual TP orbitals
        by increasing energy. Energies NaN-padded, intensities zero-padded; float32.
    ``/diagnostics``
        ``homo_ip``, ``tp_eps_1s``, orbital overlaps and SCF total energies (Hartree).
    ``/excluded``
        ``snapshot_index`` and ``reason`` of snapshots that failed a check.

    Root attributes carry the provenance of the run (versions, method, MD and broadening
    parameters) and ``format``/``format_version``. Datasets are gzip + shuffle compressed and
    written without timestamps, so the same chunks give the same bytes.

    Parameters
    ----------
    chunk_dir : path-like
        The ``chunks`` directory, or the ``out_dir`` of :func:`generate` containing it.
    out_path : path-like
        File to write (written atomically).
    allow_incomplete : bool, default=False
        Assemble even if chunks are missing.
    verbose : bool, default=True
        Print the sha256 of the written file.

    Returns
    -------
    str
        Hex sha256 of the written file.

    Raises
    ------
    DataFormatError
        If there are no chunk files, chunks disagree on parameters, or (without
        ``allow_incomplete``) chunks are missing.
    """
    import h5py

    paths = complete_chunk_files(chunk_dir)
    chunk_dir = paths[0].parent
    data: dict[str, list] = {k: [] for k in _PER_SNAPSHOT}
    exc_idx, exc_reason = [], []
    attrs0 = None
    grids = {}
    covered = set()
    n_total = None
    skip_attrs = {"chunk_id", "n_excluded", "snapshot_start", "snapshot_stop", "complete"}
    for p in paths:
        with h5py.File(p, "r") as f:
            attrs = {k: v for k, v in f.attrs.items() if k not in skip_attrs}
            if attrs0 is None:
                attrs0 = attrs
                n_total = int(attrs["n_snapshots"])
                for g in ("xps", "xes", "xas"):
                    grids[g] = f[f"{g}/energy"][()]
            else:
                check_same_attrs(p, attrs, attrs0, ("seed", "temperature_K", "xc", "basis",
                                                    "grid_level", "chunk_size"))
            covered.update(range(int(f.attrs["snapshot_start"]), int(f.attrs["snapshot_stop"])))
            for k in _PER_SNAPSHOT:
                data[k].append(f[k][()])
            exc_idx.extend(f["excluded/index"][()].tolist())
            exc_reason.extend(r.decode() if isinstance(r, bytes) else str(r) for r in f["excluded/reason"][()])
    missing = sorted(set(range(n_total)) - covered)
    check_coverage(missing, n_total, "snapshots", chunk_dir, allow_incomplete)
    merged = {}
    for k, parts in data.items():
        joined = concat_padded(parts, _PADDED[k]) if k in _PADDED else np.concatenate(parts)
        merged[k] = joined.astype(_PER_SNAPSHOT[k])
    order = np.argsort(merged["structure/snapshot_index"], kind="stable")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    opts = dict(compression="gzip", compression_opts=6, shuffle=True, track_times=False)
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w", track_order=False) as f:
        for k, v in merged.items():
            f.create_dataset(k, data=v[order], chunks=True if v.ndim else None, **opts)
        for g, grid in grids.items():
            f.create_dataset(f"{g}/energy", data=grid, track_times=False)
        f["structure/internal_coordinates"].attrs["columns"] = "angle_deg,r_long_angstrom,r_short_angstrom"
        eo = np.argsort(exc_idx, kind="stable")
        f.create_dataset("excluded/snapshot_index", data=np.asarray(exc_idx, dtype=np.int64)[eo], track_times=False)
        f.create_dataset("excluded/reason", data=np.asarray(exc_reason, dtype=object)[eo] if exc_reason
                         else np.zeros(0, dtype=object), dtype=h5py.string_dtype(), track_times=False)
        for k, v in sorted(attrs0.items()):
            f.attrs[k] = v
        f.attrs["format"] = _FORMAT
        f.attrs["format_version"] = _FORMAT_VERSION
        f.attrs["n_snapshots"] = len(order)
        f.attrs["n_snapshots_requested"] = int(n_total)
        f.attrs["n_excluded"] = len(exc_idx)
        f.attrs["n_missing"] = len(missing)
        f.attrs["energy_unit"] = "eV"
        f.attrs["length_unit"] = "angstrom"
        f.attrs["normalisation"] = (
            "XPS: unit-area line; XES: sticks sum to 1; XAS: absolute oscillator strengths per "
            "core spin-orbital (spectrum in 1/eV)"
        )
    sha = sha256sum(out_path)
    logger.info("wrote %s: %d snapshots, %d excluded, sha256 %s", out_path, len(order), len(exc_idx), sha)
    if verbose:
        print(f"{sha}  {out_path}")
    return sha
