"""Ge Kβ valence-to-core emission of amorphous GeO2 under pressure: the GeO2 data-set generator.

Two stages, both chunked, parallel and resumable (:mod:`xslatent.simulate._runner`):

1. Structures (``out_dir/geometries/run_XXXXX.h5``, one file per melt–quench run):
   classical MD with LAMMPS (:func:`~xslatent.simulate._lammps.melt_quench`) of 216 atoms
   (72 GeO2) in a cubic cell at a **fixed density per nominal pressure**
   (:data:`DENSITY_TABLE`): random start, melt at 5000 K, linear quench to 300 K, hold, then
   snapshots. Constant-pressure runs are not used: with this BKS-form potential they come out
   too dense at low pressure (0 GPa → 4.03 g/cm³ against 3.66 measured).
2. Spectra (``out_dir/chunks/chunk_XXXXX.h5``, one file per run): for every Ge of every
   snapshot, its local Coulomb matrix and environment (:mod:`xslatent.features.coulomb`),
   a capped cluster, GFN1-xTB Kβ sticks (:mod:`xslatent.simulate._xtb_cluster`), the
   broadened spectrum and the 8 moments of its two lines (:mod:`xslatent.features.moments`).

:func:`assemble` merges the chunks into one :class:`xslatent.data.Dataset` file:
``X`` = Coulomb matrices (153), ``Y`` = 8 Kβ moments, ``groups`` = nominal pressure,
with per-site metadata and all settings in ``attrs``.

Spectroscopic model (energies in eV)
------------------------------------
Cluster (``cluster="coulomb"``, the default): the Ge and its 16 nearest neighbours, i.e. the
atoms of its Coulomb matrix; bonds cut by the cluster edge are capped with H along the real
bond (O up to 2 Ge/H bonds at 0.97 Å, non-central Ge up to 4 O/H bonds at 1.53 Å).
``cluster="first_shell"``: the Ge, its bonded O (Ge–O < 2.4 Å) and one H per O towards the
O's nearest other Ge: Ge(OH)n clusters. Charge by ionic electron count
``4 nGe − 2 nO + nH(on O) − nH(on Ge)``. Sticks: occupied orbitals of the Löwdin-
orthogonalised GFN1-xTB Fock matrix after a −11 eV O 2s level shift and re-diagonalisation;
intensity = central-Ge 4p Löwdin weight; energy relative to the central-Ge 4s diagonal of the
Löwdin-orthogonalised Fock matrix (the shift and the reference were chosen against PySCF
PBE0/def2-SVP Ge(OH)n clusters, see ``attrs["calibration"]``). Kβ'' and Kβ2 are split at the
middle of the gap between the O 2s band (orbitals
with O 2s weight ≥ 0.5) and the O 2p band above it. Broadened spectrum: unit-area Gaussians
of FWHM 2.0 eV (≈ the Ge K-level natural width, 1.96 eV), on a 0.1 eV grid; moments are
intensity-weighted over each side of the split.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import numpy as np

from .._fileio import sha256sum
from .._validation import Interval, Options, validate_params
from ..exceptions import InvalidParameterError
from ._merge import check_coverage, check_same_attrs, complete_chunk_files, concat_padded
from ._merge import pad_rows
from ._runner import RunReport, _plain, chunk_path, package_versions
from ._runner import run_chunks

__all__ = [
    "DEFAULT_PRESSURES_GPA",
    "DENSITY_SOURCE",
    "DENSITY_TABLE",
    "LINE_NAMES",
    "MDSettings",
    "SpectrumSettings",
    "GenerateReport",
    "assemble",
    "compute_sites",
    "generate",
    "target_names",
]

logger = logging.getLogger(__name__)

#: Nominal pressures (GPa) of the data set: 11 values from 0 to 120 GPa, dense where the
#: glass changes from tetrahedral to octahedral (≈ 5–20 GPa). The exact pressures of the
#: paper's AIMD set are not stated in its text; this choice follows its "11 pressures from 0
#: to 120 GPa".
DEFAULT_PRESSURES_GPA = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 40.0, 80.0, 120.0)

#: Density (g/cm³) of GeO2 glass at 300 K for each nominal pressure (GPa).
DENSITY_TABLE = {
    0.0: 3.66,
    2.0: 3.95,
    4.0: 4.25,
    6.0: 4.55,
    8.0: 4.80,
    10.0: 5.00,
    15.0: 5.45,
    20.0: 5.85,
    40.0: 6.75,
    80.0: 7.55,
    120.0: 8.05,
}
DENSITY_SOURCE = (
    "Experimental GeO2-glass densities: 3.66 g/cm3 at ambient pressure; 2-20 GPa approximate "
    "values following the in-situ density measurements of Hong et al. (Phys. Rev. B 75, "
    "104201, 2007) as used by Hong et al. (J. Phys.: Condens. Matter 26, 035104, 2014, 'X-ray "
    "absorption spectroscopy of GeO2 glass to 64 GPa'); 40 GPa towards the dense octahedral "
    "glass of the latter (density approaching alpha-PbO2-type GeO2 above ~40 GPa); 80 and 120 "
    "GPa extrapolated with a Birch-Murnaghan curve (K0 ~ 250 GPa, K' = 4) below the "
    "alpha-PbO2-type crystal. Values were set from memory of these works' curves, not "
    "digitised: check them against the sources before a production run."
)

#: Line names: Kβ'' (lower, O 2s-derived) and Kβ2 (upper, O 2p/Ge 4p valence band).
LINE_NAMES = ("kbeta2pp", "kbeta2")
N_FORMULA_UNITS = 72
N_NEIGHBORS = 16
_GEOMETRY_NAME = "run_{:05d}.h5"
_CHUNK_NAME = "chunk_{:05d}.h5"
_FORMAT = "xslatent-geo2-chunk"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class MDSettings:
    """Melt–quench protocol (temperatures in K, times in ps, time step in fs)."""

    melt_temperature: float = 5000.0
    final_temperature: float = 300.0
    melt_ps: float = 12.0
    quench_ps: float = 30.0
    hold_ps: float = 5.0
    snapshot_interval_ps: float = 2.0
    timestep_fs: float = 1.0
    thermostat_damping_fs: float = 100.0
    kspace_accuracy: float = 1.0e-4


@dataclass(frozen=True)
class SpectrumSettings:
    """Cluster, electronic-structure and broadening settings (lengths Å, energies eV).

    ``method="xtb"`` (the shipped xTB set): GFN1-xTB on ``cluster`` ("coulomb" or
    "first_shell"), with ``o2s_shift`` and ``reference``. ``method="dft"``: Kohn–Sham DFT
    (``xc``, ``basis``, ``grid_level``) on the Ge(OH)n cluster (``cluster="hydroxide"``,
    :mod:`xslatent.simulate._dft_cluster`); stick energies ``ε_φ − ε_Ge1s − energy_offset``.
    """

    cluster: str = "coulomb"
    n_neighbors: int = N_NEIGHBORS
    bond_cutoff: float = 2.4
    o_max_bonds: int = 2
    ge_max_bonds: int = 4
    o2s_shift: float = -11.0
    reference: str = "lowdin"
    fwhm: float = 2.0
    grid_start: float = -30.0
    grid_stop: float = 15.0
    grid_points: int = 451
    method: str = "xtb"
    xc: str = "B3LYP"
    basis: str = "def2-SVP"
    grid_level: int = 1
    energy_offset: float = 10840.0

    def grid(self) -> np.ndarray:
        return np.linspace(self.grid_start, self.grid_stop, self.grid_points)


#: Settings of the DFT Kβ data set (issue: "GeO2 Kβ spectra from DFT on first-shell clusters").
DFT_SETTINGS = SpectrumSettings(method="dft", cluster="hydroxide")


def validate_spectrum_settings(s: SpectrumSettings) -> None:
    """Raise :class:`InvalidParameterError` for an unknown method/cluster/reference."""
    validate_params("SpectrumSettings", {"method": s.method},
                    {"method": [Options(("xtb", "dft"))]})
    clusters = ("hydroxide",) if s.method == "dft" else ("coulomb", "first_shell")
    validate_params("SpectrumSettings", {"cluster": s.cluster, "reference": s.reference},
                    {"cluster": [Options(clusters)],
                     "reference": [Options(("lowdin", "ao", "potential"))]})


def target_names() -> list[str]:
    """The 8 moment names, Kβ'' first: ``kbeta2pp_mean`` … ``kbeta2_excess_kurtosis``."""
    from ..features.moments import two_line_moment_names

    return two_line_moment_names(*LINE_NAMES)


class GenerateReport(NamedTuple):
    """Per-stage reports of :func:`generate`."""

    structures: RunReport
    spectra: RunReport


# --------------------------------------------------------------------------- sites


def _first_shell_cluster(numbers, vectors, center, settings):
    from ._dft_cluster import hydroxide_cluster

    return hydroxide_cluster(numbers, vectors, center, bond_cutoff=settings.bond_cutoff,
                             max_caps_per_o=max(0, settings.o_max_bonds - 1),
                             cap_nonbridging=False)


def _xtb_site(z, vec, center, s):
    from ._xtb_cluster import cut_cluster, kbeta_sticks

    if s.cluster == "coulomb":
        cl = cut_cluster(z, vec, center, n_neighbors=s.n_neighbors, bond_cutoff=s.bond_cutoff,
                         o_max_bonds=s.o_max_bonds, ge_max_bonds=s.ge_max_bonds)
    else:
        cl = _first_shell_cluster(z, vec, center, s)
    st = kbeta_sticks(cl, o2s_shift=s.o2s_shift, reference=s.reference)
    if not np.isfinite(st["split"]):
        raise RuntimeError("no gap between the O 2s and O 2p bands")
    diag = {f"cluster/{k}": st[k] for k in (
        "gap", "fractional", "split", "o2s_top", "o2p_bottom", "homo", "ref_ao", "ref_lowdin",
        "ref_potential", "charge_center")}
    diag["sticks/o2s_weight"] = st["o2s_weight"]
    return cl, st["energy"], st["intensity"], st["split"], diag


def _dft_site(z, vec, center, s):
    from ._dft_cluster import dft_kbeta_sticks, hydroxide_cluster

    cl = hydroxide_cluster(z, vec, center, bond_cutoff=s.bond_cutoff)
    st = dft_kbeta_sticks(cl, xc=s.xc, basis=s.basis, grid_level=s.grid_level)
    e = st["energy"] - s.energy_offset
    split = st["split"] - s.energy_offset
    diag = {f"cluster/{k}": st[k] for k in ("gap", "eps_1s", "homo", "n_scf_cycles",
                                             "energy_total")}
    diag["cluster/split"] = split
    diag["cluster/core_top"] = st["core_top"] - s.energy_offset
    return cl, e, st["intensity"], split, diag


def compute_sites(
    numbers: Any,
    positions: Any,
    cell: Any,
    settings: SpectrumSettings | None = None,
    *,
    centers: Sequence[int] | None = None,
) -> dict:
    """Features, cluster diagnostics, sticks and moments of the Ge sites of one structure.

    Parameters
    ----------
    numbers : array-like of shape (n_atoms,)
        Atomic numbers (Ge 32, O 8).
    positions : array-like of shape (n_atoms, 3)
        Cartesian positions in Å.
    cell : array-like of shape (3, 3)
        Lattice vectors as rows (periodic in all directions).
    settings : SpectrumSettings, optional
    centers : sequence of int, optional
        Ge atoms to compute (default: all).

    Returns
    -------
    dict
        Per-site arrays (first axis = site, in the order of ``centers``) under the keys used
        in chunk files (``features/coulomb_matrix``, ``targets/moments_broadened``, …) and
        ``"excluded"``: ``(position in centers, reason)`` of sites whose xTB calculation
        failed (their rows are absent).
    """
    from ..features.coulomb import local_coulomb_matrix, minimum_image_vectors
    from ..features.moments import gaussian_broaden, two_line_moments

    s = SpectrumSettings() if settings is None else settings
    validate_spectrum_settings(s)
    site = _dft_site if s.method == "dft" else _xtb_site
    z = np.asarray(numbers, dtype=np.int64)
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(cell, dtype=np.float64)
    centers = np.flatnonzero(z == 32) if centers is None else np.asarray(centers, dtype=np.int64)
    vec = minimum_image_vectors(pos, np.arange(len(z)), cell)
    cm, env = local_coulomb_matrix(pos, centers, s.n_neighbors, numbers=z, cell=cell,
                                   return_environment=True)
    grid = s.grid()
    rows: dict[str, list] = {}
    excluded = []
    for k, c in enumerate(centers):
        try:
            cl, e, w, split, diag = site(z, vec, int(c), s)
        except Exception as exc:  # noqa: BLE001 - recorded as an excluded site
            excluded.append((k, f"{type(exc).__name__}: {exc}"))
            continue
        spec = gaussian_broaden(grid, e, w, s.fwhm)
        lower = e < split
        d = env.distances[k]
        bonded = (env.numbers[k] == 8) & (d < s.bond_cutoff)
        row = {
            "features/coulomb_matrix": cm[k],
            "sites/atom_index": int(c),
            "sites/coordination_number": int(bonded.sum()),
            "sites/mean_ge_o_distance": float(d[bonded].mean()) if bonded.any() else np.nan,
            "sites/neighbor_distances": d,
            "sites/neighbor_numbers": env.numbers[k],
            "targets/moments_broadened": two_line_moments(grid, spec, split),
            "targets/moments_sticks": two_line_moments(e, w, split),
            "cluster/charge": cl.charge,
            "cluster/n_atoms": len(cl.numbers),
            "cluster/n_caps_o": cl.n_caps_o,
            "cluster/n_caps_ge": cl.n_caps_ge,
            **diag,
            "cluster/line_intensity": np.array([w[lower].sum(), w[~lower].sum()]),
            "sticks/energy": e,
            "sticks/intensity": w,
            "spectrum/intensity": spec.astype(np.float32),
        }
        for key, v in row.items():
            rows.setdefault(key, []).append(v)
    out = {key: _stack(key, v) for key, v in rows.items()}
    out["excluded"] = excluded
    return out


_PADDED = {"sticks/energy": np.nan, "sticks/intensity": 0.0, "sticks/o2s_weight": 0.0}


def _stack(key: str, values: list) -> np.ndarray:
    if key in _PADDED:
        return pad_rows(values, _PADDED[key])
    return np.asarray(values)


# --------------------------------------------------------------------------- chunks


def _versions() -> dict:
    return package_versions("lammps", "tblite", "ase", "numpy", "scipy", "h5py")


def _run_table(pressures: Sequence[float], runs_per_pressure: int) -> list[tuple[float, int]]:
    return [(float(p), r) for p in pressures for r in range(runs_per_pressure)]


def _run_seed(seed: int, run_id: int) -> int:
    return int(np.random.SeedSequence([int(seed), int(run_id)]).generate_state(1)[0])


def _md_attrs(seed, md: MDSettings, n_snapshots: int, densities: dict,
              n_formula_units: int) -> dict:
    from ._lammps import BKSPotential

    pot = BKSPotential(kspace_accuracy=md.kspace_accuracy)
    out = {f"md_{k}": v for k, v in asdict(md).items()}
    out.update(pot.as_attrs())
    out.update({
        "seed": int(seed),
        "n_formula_units": int(n_formula_units),
        "snapshots_per_run": int(n_snapshots),
        "md_method": "LAMMPS NVT (Nose-Hoover) at fixed density: random start, 0.5 ps "
        "displacement-limited start at the melt temperature, melt, linear quench, hold, "
        "snapshots",
        "density_table_pressure_gpa": np.array(sorted(densities), dtype=np.float64),
        "density_table_g_cm3": np.array([densities[p] for p in sorted(densities)]),
        "density_source": DENSITY_SOURCE,
    })
    return out


def _spectrum_attrs(s: SpectrumSettings) -> dict:
    out = {f"spectrum_{k}": v for k, v in asdict(s).items()}
    if s.method == "dft":
        from ._dft_cluster import __doc__ as model

        out.update({
            "generator": "xslatent.simulate.geo2 (method dft)",
            "spectrum_model": " ".join(model.split()),
            "energy_reference": "eps_phi - eps_Ge1s - spectrum_energy_offset (eV)",
            "line_split": "midpoint of the widest gap between consecutive valence levels",
            "broadening": "unit-area Gaussian per stick, FWHM spectrum_fwhm eV",
            "moments": "intensity-weighted mean, population std, skewness, excess kurtosis of "
            "each line (below / above the split); broadened: over the grid",
            "coordination_cutoff_angstrom": float(s.bond_cutoff),
        })
        return out
    out.update({
        "generator": "xslatent.simulate.geo2",
        "xtb_method": "GFN1-xTB (tblite), Gamma-only cluster, default electronic temperature",
        "cluster_rule": (
            "coulomb: central Ge + its n_neighbors nearest atoms (minimum image) = the Coulomb-"
            "matrix atoms; H caps along real bonds cut by the edge: O up to o_max_bonds Ge/H "
            "bonds (O-H 0.97 A), non-central Ge up to ge_max_bonds O/H bonds (Ge-H 1.53 A), "
            "nearest missing partner first; first_shell: Ge + O within bond_cutoff + "
            "(o_max_bonds - 1) H per O towards its nearest other Ge"
        ),
        "charge_rule": "ionic count: 4 nGe - 2 nO + nH(on O) - nH(on Ge), closed shell",
        "intensity_model": "central-Ge 4p Loewdin weight of each occupied orbital",
        "energy_reference": "spectrum_reference: 'lowdin' = central-Ge 4s diagonal element of "
        "the Loewdin-orthogonalised converged Fock matrix S^-1/2 (S C eps C^T S) S^-1/2 (local: "
        "follows the potential at the emitter); 'ao' = same element of the AO Fock matrix; "
        "'potential' = -sum_B q_B/r_B at the central Ge",
        "o2s_shift_model": "O 2s diagonal of the Loewdin-orthogonalised Fock matrix shifted "
        "by spectrum_o2s_shift eV, then re-diagonalised (occupied set = lowest N/2)",
        "calibration": "o2s_shift and reference chosen against PySCF PBE0/def2-SVP (all-"
        "electron, density fitting) Kbeta sticks (eps_k - eps_1s, |<k|r|1s>|^2) of 7 Ge(OH)n "
        "clusters (CN 4-7) cut from melt-quench glasses: mean Kbeta''-Kbeta2 separation "
        "13.47 eV (PySCF) vs 12.46 (shift -10), 13.32 (-11), 14.19 (-12); line means vs PySCF "
        "across clusters: Loewdin reference r = 0.98 (Kbeta'', slope 1.18) and 0.97 "
        "(Kbeta2, slope 2.2), AO reference r = 0.69 (slope 0.10) and 0.79 (0.34)",
        "line_split": "midpoint between the top of the O 2s band (orbitals with O 2s Loewdin "
        "weight >= 0.5) and the lowest occupied orbital above it",
        "broadening": "unit-area Gaussian per stick, FWHM spectrum_fwhm eV",
        "moments": "intensity-weighted mean, population std, skewness, excess kurtosis of "
        "each line (below / above the split); broadened: over the grid",
        "coordination_cutoff_angstrom": float(s.bond_cutoff),
    })
    return out


def _md_chunk(run_id: int, *, runs: list, seed: int, n_snapshots: int, md: dict, densities: dict,
              n_formula_units: int) -> dict:
    from ._lammps import BKSPotential, lammps_version, melt_quench

    pressure, replica = runs[run_id]
    settings = MDSettings(**md)
    res = melt_quench(
        n_formula_units, densities[pressure], seed=_run_seed(seed, run_id),
        potential=BKSPotential(kspace_accuracy=settings.kspace_accuracy),
        melt_temperature=settings.melt_temperature, final_temperature=settings.final_temperature,
        melt_ps=settings.melt_ps, quench_ps=settings.quench_ps, hold_ps=settings.hold_ps,
        n_snapshots=n_snapshots, snapshot_interval_ps=settings.snapshot_interval_ps,
        timestep_fs=settings.timestep_fs, thermostat_damping_fs=settings.thermostat_damping_fs,
    )
    out = {
        "numbers": res.numbers,
        "cell": res.cell,
        "positions": res.positions,
        "snapshot_time_ps": res.snapshot_time_ps,
        "snapshot_temperature": res.snapshot_temperature,
        "snapshot_pressure_gpa": res.snapshot_pressure_gpa,
        "snapshot_potential_energy": res.snapshot_potential_energy,
        "attrs": {
            "run_index": int(run_id),
            "replica": int(replica),
            "pressure_gpa": float(pressure),
            "density_g_cm3": float(densities[pressure]),
            "run_seed": _run_seed(seed, run_id),
            "lammps_build": lammps_version(),
            **_versions(),
        },
    }
    for stage, arr in res.log.items():
        out[f"log/{stage}"] = arr  # columns: time_ps, T_K, P_GPa, PE_eV
    return out


def _read_geometry(geometry_dir: str, run_id: int) -> dict:
    import h5py

    with h5py.File(chunk_path(geometry_dir, run_id, _GEOMETRY_NAME), "r") as f:
        return {"numbers": f["numbers"][()], "cell": f["cell"][()],
                "frames": f["positions"][()], "md_pressure": f["snapshot_pressure_gpa"][()],
                "pressure": float(f.attrs["pressure_gpa"]),
                "density": float(f.attrs["density_g_cm3"])}


def _snapshot_sites(geometry: dict, run_id: int, snap: int, settings: SpectrumSettings,
                    centers: Sequence[int] | None = None) -> dict:
    """:func:`compute_sites` of one snapshot, with its run/snapshot/pressure per site."""
    out = compute_sites(geometry["numbers"], geometry["frames"][snap], geometry["cell"],
                        settings, centers=centers)
    n = len(out.get("sites/atom_index", []))
    out["sites/snapshot_index"] = np.full(n, snap, dtype=np.int32)
    out["sites/md_pressure_gpa"] = np.full(n, geometry["md_pressure"][snap])
    out["sites/run_index"] = np.full(n, run_id, dtype=np.int32)
    out["sites/pressure_gpa"] = np.full(n, geometry["pressure"])
    out["sites/density_g_cm3"] = np.full(n, geometry["density"])
    out["spectrum/energy"] = settings.grid()
    return out


def merge_site_rows(parts: Sequence[dict]) -> dict:
    """Concatenate per-site dicts of :func:`compute_sites` (padding the stick arrays)."""
    merged = {}
    for key in parts[0] if parts else []:
        if key in ("excluded", "spectrum/energy"):
            continue
        vals = [p[key] for p in parts if key in p and len(p[key])]
        if not vals:
            continue
        merged[key] = concat_padded(vals, _PADDED[key]) if key in _PADDED else np.concatenate(vals)
    return merged


def _spectra_chunk(run_id: int, *, geometry_dir: str, spectrum: dict) -> dict:
    settings = SpectrumSettings(**spectrum)
    geometry = _read_geometry(geometry_dir, run_id)
    n_ge = int(np.count_nonzero(geometry["numbers"] == 32))
    parts, excluded = [], []
    for snap in range(len(geometry["frames"])):
        out = _snapshot_sites(geometry, run_id, snap, settings)
        excluded += [(snap * n_ge + k, r) for k, r in out.pop("excluded")]
        parts.append(out)
    merged = merge_site_rows(parts)
    merged["spectrum/energy"] = settings.grid()
    merged["excluded"] = excluded
    merged["attrs"] = {"run_index": int(run_id), "pressure_gpa": geometry["pressure"],
                       **_versions()}
    return merged


def generate(
    out_dir: str | os.PathLike,
    pressures: Sequence[float] = DEFAULT_PRESSURES_GPA,
    runs_per_pressure: int = 6,
    snapshots_per_run: int = 3,
    n_workers: int = 1,
    seed: int = 0,
    client: Any = None,
    *,
    md: MDSettings | None = None,
    spectrum: SpectrumSettings | None = None,
    densities: dict | None = None,
    n_formula_units: int = N_FORMULA_UNITS,
    progress: bool = True,
) -> GenerateReport:
    """Generate (or resume) the GeO2 Kβ data set in ``out_dir``.

    Run ``i`` is replica ``i % runs_per_pressure`` at pressure
    ``pressures[i // runs_per_pressure]``; its MD seed is derived from ``(seed, i)``. Stage 1
    writes ``out_dir/geometries/run_XXXXX.h5``; stage 2 ``out_dir/chunks/chunk_XXXXX.h5``
    (72 × ``snapshots_per_run`` sites each). Existing complete files are kept, so calling
    again with the same arguments resumes; files made with other settings raise
    :class:`~xslatent.simulate._runner.ChunkError`. Sites whose xTB calculation fails are
    logged and listed in the chunk's ``excluded`` group.

    Parameters
    ----------
    out_dir : path-like
        Output directory.
    pressures : sequence of float, default=DEFAULT_PRESSURES_GPA
        Nominal pressures in GPa; each needs a density in ``densities``.
    runs_per_pressure : int, default=6
        Independent melt–quench runs per pressure.
    snapshots_per_run : int, default=3
        Snapshots per run (``md.snapshot_interval_ps`` apart at the final temperature).
    n_workers : int, default=1
        Single-threaded worker processes; 0 computes in the calling process.
    seed : int, default=0
        Base seed of the runs.
    client : dask.distributed.Client, optional
        Run the chunks on this Dask cluster instead.
    md : MDSettings, optional
    spectrum : SpectrumSettings, optional
    densities : dict of float to float, optional
        Density (g/cm³) per nominal pressure; default :data:`DENSITY_TABLE`.
    n_formula_units : int, default=72
        GeO2 units per cell (216 atoms); smaller cells are for tests only (the cell edge must
        stay above twice the radius of the 16-neighbour sphere).
    progress : bool, default=True
        Show progress bars.

    Returns
    -------
    GenerateReport
    """
    validate_params(
        "generate",
        dict(runs_per_pressure=runs_per_pressure, snapshots_per_run=snapshots_per_run,
             n_workers=n_workers, seed=seed, n_formula_units=n_formula_units),
        dict(runs_per_pressure=[Interval(int, 1, None)], snapshots_per_run=[Interval(int, 1, None)],
             n_workers=[Interval(int, 0, None)], seed=[Interval(int, 0, 2**32 - 1)],
             n_formula_units=[Interval(int, 6, None)]),
    )
    md = MDSettings() if md is None else md
    spectrum = SpectrumSettings() if spectrum is None else spectrum
    validate_spectrum_settings(spectrum)
    densities = dict(DENSITY_TABLE if densities is None else densities)
    pressures = [float(p) for p in pressures]
    missing = [p for p in pressures if p not in densities]
    if missing:
        raise InvalidParameterError(
            f"The 'pressures' parameter of generate must list pressures with a density in "
            f"'densities' ({sorted(densities)}). Got {missing} without one instead."
        )
    out_dir = Path(out_dir)
    runs = _run_table(pressures, runs_per_pressure)
    md_attrs = _md_attrs(seed, md, snapshots_per_run, densities, n_formula_units)
    md_attrs["pressures_gpa"] = np.asarray(pressures)
    md_attrs["runs_per_pressure"] = int(runs_per_pressure)
    logger.info("stage 1: %d melt-quench runs in %s", len(runs), out_dir / "geometries")
    # Replica-major order: a partial (interrupted) run covers every pressure early.
    order = sorted(range(len(runs)), key=lambda i: (runs[i][1], i))
    geo = run_chunks(
        _md_chunk, order, out_dir / "geometries",
        kwargs=dict(runs=runs, seed=int(seed), n_snapshots=int(snapshots_per_run),
                    md=asdict(md), densities=densities, n_formula_units=int(n_formula_units)),
        n_workers=n_workers, client=client, name_format=_GEOMETRY_NAME,
        expected_attrs=md_attrs, desc="GeO2 melt-quench", progress=progress,
    )
    done = [i for i in order if i not in geo.failed]
    if geo.failed:
        logger.error("MD failed for runs %s; their spectra are skipped", sorted(geo.failed))
    logger.info("stage 2: Kbeta spectra of %d runs in %s", len(done), out_dir / "chunks")
    spec = run_chunks(
        _spectra_chunk, done, out_dir / "chunks",
        kwargs=dict(geometry_dir=str(out_dir / "geometries"), spectrum=asdict(spectrum)),
        n_workers=n_workers, client=client, name_format=_CHUNK_NAME,
        expected_attrs={**md_attrs, **_spectrum_attrs(spectrum), "format": _FORMAT,
                        "format_version": _FORMAT_VERSION},
        items_per_chunk=lambda c: n_formula_units * snapshots_per_run,
        desc="GeO2 Kbeta spectra", progress=progress,
    )
    for cid, why in geo.failed.items():
        spec.failed.setdefault(cid, f"MD failed: {why}")
    return GenerateReport(geo, spec)


# --------------------------------------------------------------------------- assemble

_SKIP_ATTRS = {"chunk_id", "n_excluded", "complete", "run_index", "pressure_gpa",
               "snapshot_index", "part"}


def assemble(
    out_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    targets: str = "broadened",
    allow_incomplete: bool = False,
    keep_spectra: bool = True,
    name: str = "geo2_kbeta",
    verbose: bool = True,
) -> str:
    """Merge the chunks of :func:`generate` into one :class:`~xslatent.data.Dataset` file.

    ``X`` holds the 153 Coulomb-matrix numbers (feature names ``cm_i_j``), ``Y`` the 8 Kβ
    moments (``targets="broadened"``: of the broadened lines; ``"sticks"``: of the sticks),
    ``groups`` the nominal pressure in GPa. Metadata (one row per site): ``pressure_gpa``,
    ``density_g_cm3``, ``md_pressure_gpa`` (virial pressure of the snapshot with the model
    potential), ``run_index``, ``snapshot_index``, ``atom_index``, ``coordination_number``,
    ``mean_ge_o_distance``, ``neighbor_distances`` (16), ``neighbor_numbers`` (16), the other
    moment set (``moments_sticks`` or ``moments_broadened``), cluster diagnostics
    (``cluster_charge``, ``cluster_n_atoms``, ``cluster_n_caps_o``, ``cluster_n_caps_ge``,
    ``cluster_gap``, ``cluster_fractional``, ``cluster_split``, ``cluster_o2s_top``,
    ``cluster_o2p_bottom``, ``cluster_homo``, ``cluster_ref_ao``, ``cluster_ref_lowdin``,
    ``cluster_line_intensity`` (2)), the sticks (``sticks_energy``, ``sticks_intensity``,
    ``sticks_o2s_weight``, NaN/0 padded) and the broadened ``spectrum`` (float32; its grid is
    ``attrs["spectrum_energy_grid"]``). Sites with a non-finite moment are dropped and
    counted in ``attrs["n_dropped_nonfinite"]``.

    Parameters
    ----------
    out_dir : path-like
        The ``out_dir`` of :func:`generate` (or its ``chunks`` directory).
    out_path : path-like
        File to write.
    targets : {"broadened", "sticks"}, default="broadened"
    allow_incomplete : bool, default=False
        Assemble even if some runs have no chunk.
    keep_spectra : bool, default=True
        Keep the sticks and the broadened spectra in the metadata (about 4 kB per site);
        ``False`` gives a file small enough to bundle.
    name : str, default="geo2_kbeta"
    verbose : bool, default=True
        Print the sha256 of the file.

    Returns
    -------
    str
        Hex sha256 of the written file.
    """
    import h5py

    from ..data import Dataset
    from ..features.coulomb import coulomb_matrix_feature_names

    validate_params("assemble", {"targets": targets},
                    {"targets": [Options(("broadened", "sticks"))]})
    paths = complete_chunk_files(out_dir)
    chunk_dir = paths[0].parent
    data: dict[str, list] = {}
    attrs0: dict | None = None
    grid = None
    excluded = []
    ids = []
    for p in paths:
        with h5py.File(p, "r") as f:
            attrs = {k: v for k, v in f.attrs.items() if k not in _SKIP_ATTRS}
            if attrs0 is None:
                attrs0 = attrs
                grid = f["spectrum/energy"][()]
            else:
                check_same_attrs(p, attrs, attrs0, ("seed", "spectrum_method", "spectrum_cluster",
                                                    "spectrum_fwhm", "spectrum_o2s_shift",
                                                    "md_quench_ps"))
            ids.append(int(f.attrs["chunk_id"]))
            excluded += [(int(f.attrs["chunk_id"]), int(i), _plain(r))
                         for i, r in zip(f["excluded/index"][()], f["excluded/reason"][()])]
            if "features/coulomb_matrix" not in f:
                continue
            for group in ("features", "targets", "sites", "cluster", "sticks", "spectrum"):
                for key, node in f[group].items():
                    full = f"{group}/{key}"
                    if full == "spectrum/energy":
                        continue
                    data.setdefault(full, []).append(node[()])
    n_runs = len(np.asarray(attrs0["pressures_gpa"])) * int(attrs0["runs_per_pressure"])
    n_runs = int(attrs0.get("n_chunks_total", n_runs))  # DFT chunks: one per (part, snapshot, run)
    missing = sorted(set(range(n_runs)) - set(ids))
    check_coverage(missing, n_runs, "chunks" if "n_chunks_total" in attrs0 else "runs", chunk_dir,
                   allow_incomplete)
    merged = {}
    for key, parts in data.items():
        merged[key] = concat_padded(parts, _PADDED[key]) if key in _PADDED else np.concatenate(parts)
    order = np.lexsort((merged["sites/atom_index"], merged["sites/snapshot_index"],
                        merged["sites/run_index"]))
    merged = {k: v[order] for k, v in merged.items()}
    main, other = ("moments_broadened", "moments_sticks")
    if targets == "sticks":
        main, other = other, main
    Y = merged[f"targets/{main}"]
    X = merged["features/coulomb_matrix"]
    ok = np.all(np.isfinite(Y), axis=1) & np.all(np.isfinite(X), axis=1)
    metadata = {}
    for key, v in merged.items():
        group, leaf = key.split("/", 1)
        if key in ("features/coulomb_matrix", f"targets/{main}"):
            continue
        meta_key = leaf if group in ("sites", "targets") else f"{group}_{leaf}"
        if group == "spectrum":
            meta_key = "spectrum"
        if not keep_spectra and group in ("spectrum", "sticks"):
            continue
        metadata[meta_key] = v[ok]
    n_neighbors = int(attrs0["spectrum_n_neighbors"])
    out_attrs = {k: _plain(v) for k, v in sorted(attrs0.items())}
    out_attrs.update({
        "targets": targets,
        "target_lines": "kbeta2pp = Kbeta'' (below the split), kbeta2 = Kbeta2 (above)",
        "spectrum_energy_grid": grid if keep_spectra else [],
        "energy_unit": "eV",
        "length_unit": "angstrom",
        "feature_description": "local Coulomb matrix, upper triangle incl. diagonal, row by row: "
        "central Ge then its nearest neighbours by minimum-image distance; M_ii = 0.5 Z^2.4, "
        "M_ij = Z_i Z_j / r_ij (r in angstrom, between the cluster images)",
        "groups": "nominal pressure (GPa)",
        "n_sites": int(ok.sum()),
        "n_dropped_nonfinite": int((~ok).sum()),
        "n_excluded": len(excluded),
        "excluded": [[c, i, r] for c, i, r in excluded][:1000],
        "n_runs_missing": len(missing),
    })
    ds = Dataset(
        X[ok], Y[ok],
        feature_names=coulomb_matrix_feature_names(n_neighbors),
        target_names=target_names(),
        groups=merged["sites/pressure_gpa"][ok],
        metadata=metadata,
        attrs=out_attrs,
        name=name,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    ds.save(out_path)
    sha = sha256sum(out_path)
    logger.info("wrote %s: %d sites, %d excluded, %d dropped, sha256 %s", out_path, int(ok.sum()),
                len(excluded), int((~ok).sum()), sha)
    if verbose:
        print(f"{sha}  {out_path}")
    return sha
