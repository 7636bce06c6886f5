"""Broadened Ge Kβ spectra of a sample of the bundled GeO2 sites (paper Fig. 2d).

The bundled ``geo2.h5`` stores the 8 GFN1-xTB stick moments of 14 256 sites but no spectra.
:func:`sample_sites` picks a sample spread evenly over the pressures and, within each
pressure, over the melt–quench runs; :func:`recompute_spectra` recomputes those sites from
the committed structures (``datasets/geo2/geometries``) with the file's own settings
(:func:`spectrum_settings_from_attrs`) through :func:`xslatent.simulate.geo2.compute_sites`,
and checks that the recomputed stick moments are the bundled ones. The result is the
bundled ``geo2_spectra.h5`` (:func:`xslatent.datasets.load_geo2_spectra`); the script that
made it is ``examples/geo2_fig2d_spectra.py``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._validation import Interval, validate_params
from ..exceptions import DataFormatError
from . import geo2

__all__ = ["line_peaks", "recompute_spectra", "sample_sites", "spectrum_settings_from_attrs"]


def spectrum_settings_from_attrs(attrs: dict) -> geo2.SpectrumSettings:
    """The :class:`~xslatent.simulate.geo2.SpectrumSettings` recorded in a data set's attrs.

    Parameters
    ----------
    attrs : dict
        ``Dataset.attrs`` of an assembled GeO2 file (keys ``spectrum_<field>``); fields the
        file does not record keep their defaults (files older than ``method`` are xTB).

    Returns
    -------
    SpectrumSettings
    """
    fields = geo2.SpectrumSettings.__dataclass_fields__
    return geo2.SpectrumSettings(**{k: attrs[f"spectrum_{k}"] for k in fields if f"spectrum_{k}" in attrs})


def sample_sites(pressure: Any, run_index: Any, n_per_pressure: int = 32, seed: int = 0) -> np.ndarray:
    """Rows of a sample with ``n_per_pressure`` sites at every pressure, spread over the runs.

    At each pressure the sites are shared out over its runs as evenly as possible (counts
    differ by at most one) and drawn at random without replacement within each run.

    Parameters
    ----------
    pressure : array-like of shape (n_sites,)
        Pressure of each site.
    run_index : array-like of shape (n_sites,)
        Melt–quench run of each site.
    n_per_pressure : int, default=32
        Sites per pressure; at most the number of sites of the smallest pressure.
    seed : int, default=0

    Returns
    -------
    ndarray of int of shape (n_pressures * n_per_pressure,)
        Sorted row indices.
    """
    p = np.asarray(pressure)
    runs = np.asarray(run_index)
    levels = np.unique(p)
    smallest = min(int(np.sum(p == q)) for q in levels) if len(levels) else 0
    validate_params("sample_sites", {"n_per_pressure": n_per_pressure, "seed": seed},
                    {"n_per_pressure": [Interval(int, 1, smallest)], "seed": [Interval(int, 0, None)]})
    rng = np.random.default_rng(seed)
    rows = []
    for q in levels:
        q_runs = np.unique(runs[p == q])
        counts = [len(c) for c in np.array_split(np.arange(n_per_pressure), len(q_runs))]
        for r, k in zip(q_runs, counts):
            members = np.flatnonzero((p == q) & (runs == r))
            if k > len(members):
                raise DataFormatError(f"run {r} at {q:g} GPa has {len(members)} sites; {k} were asked for")
            rows.append(rng.choice(members, size=k, replace=False))
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.intp)


def recompute_spectra(data, rows: Any, geometry_dir: str | os.PathLike, *, atol: float = 1e-4,
                      progress: bool = True):
    """Broadened Kβ spectra of rows of the GeO2 data set, recomputed from its structures.

    Parameters
    ----------
    data : Dataset
        The GeO2 data set (:func:`xslatent.datasets.load_geo2`): metadata ``run_index``,
        ``snapshot_index``, ``atom_index``, ``pressure_gpa`` and, in ``attrs``, the spectrum
        settings and ``targets`` ("sticks" or "broadened", the moments in ``Y``).
    rows : array-like of int
        Rows of ``data`` to recompute (e.g. :func:`sample_sites`).
    geometry_dir : path-like
        The ``geometries`` directory of :func:`xslatent.simulate.geo2.generate`.
    atol : float, default=1e-4
        Largest allowed difference between a recomputed moment and ``data.Y``.
    progress : bool, default=True
        Show a progress bar over the snapshots.

    Returns
    -------
    Dataset
        ``X``: the recomputed Coulomb matrices; ``Y``: the broadened spectra on ``energy``
        (the settings' grid); ``groups``: pressure (GPa); metadata ``site_index`` (row in
        ``data``), ``run_index``, ``snapshot_index``, ``atom_index``, ``moments_sticks``,
        ``moments_broadened`` and ``cluster_split`` (the Kβ''/Kβ2 split, eV); ``attrs``: the
        settings and ``max_moment_difference`` (recomputed − bundled).

    Raises
    ------
    DataFormatError
        If a site fails or a recomputed moment differs from ``data.Y`` by more than ``atol``.
    """
    from tqdm.auto import tqdm

    from ..data import Dataset

    rows = np.asarray(rows, dtype=np.intp)
    settings = spectrum_settings_from_attrs(data.attrs)
    meta = data.metadata
    key = np.stack([meta["run_index"][rows], meta["snapshot_index"][rows]], axis=1)
    parts, order = [], []
    geometry, run_loaded = None, None
    for run, snap in tqdm(np.unique(key, axis=0), desc="GeO2 Kbeta spectra", disable=not progress):
        sel = rows[(key[:, 0] == run) & (key[:, 1] == snap)]
        if run != run_loaded:
            geometry, run_loaded = geo2._read_geometry(os.fspath(geometry_dir), int(run)), run
        out = geo2._snapshot_sites(geometry, int(run), int(snap), settings, centers=meta["atom_index"][sel])
        if out["excluded"]:
            raise DataFormatError(f"sites of run {run} snapshot {snap} failed: {out['excluded']}")
        parts.append(out)
        order.append(sel)
    merged = geo2.merge_site_rows(parts)
    site = np.concatenate(order)
    moments = merged[f"targets/moments_{data.attrs.get('targets', 'broadened')}"]
    diff = float(np.max(np.abs(moments - data.Y[site]))) if len(site) else 0.0
    if diff > atol:
        raise DataFormatError(f"recomputed moments differ from the data set's by up to {diff:.3g} (> {atol:g}): "
                              f"the structures or the code changed since the file was made")
    srt = np.argsort(site, kind="stable")
    grid = settings.grid()
    return Dataset(
        merged["features/coulomb_matrix"][srt], merged["spectrum/intensity"][srt],
        feature_names=data.feature_names, target_names=[f"e{e:+.1f}" for e in grid], energy=grid,
        groups=merged["sites/pressure_gpa"][srt],
        metadata={"site_index": site[srt], "run_index": merged["sites/run_index"][srt],
                  "snapshot_index": merged["sites/snapshot_index"][srt],
                  "atom_index": merged["sites/atom_index"][srt],
                  "moments_sticks": merged["targets/moments_sticks"][srt],
                  "moments_broadened": merged["targets/moments_broadened"][srt],
                  "cluster_split": merged["cluster/split"][srt]},
        attrs={**{k: v for k, v in data.attrs.items() if k.startswith("spectrum_") and k != "spectrum_energy_grid"},
               "spectrum_method": settings.method, "source": data.name, "groups": "nominal pressure (GPa)",
               "max_moment_difference": diff, "energy_unit": "eV"},
        name=f"{data.name}_spectra_sample",
    )


def line_peaks(energy: Any, spectra: Any, split: Any) -> np.ndarray:
    """Energy of the maximum of each spectrum below (Kβ'') and above (Kβ2) its split.

    Parameters
    ----------
    energy : array-like of shape (n_channels,)
    spectra : array-like of shape (n_spectra, n_channels)
    split : array-like of shape (n_spectra,)
        Energy separating the two lines of each spectrum.

    Returns
    -------
    ndarray of shape (n_spectra, 2)
        ``[:, 0]`` the Kβ'' peak, ``[:, 1]`` the Kβ2 peak (eV).
    """
    e = np.asarray(energy, dtype=float)
    S = np.asarray(spectra, dtype=float)
    below = e[None, :] < np.asarray(split, dtype=float)[:, None]
    lo = e[np.argmax(np.where(below, S, -np.inf), axis=1)]
    hi = e[np.argmax(np.where(below, -np.inf, S), axis=1)]
    return np.stack([lo, hi], axis=1)
