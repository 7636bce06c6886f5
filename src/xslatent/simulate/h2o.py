"""O K-edge XPS, XES and XAS of a hot water molecule: the H2O data-set generator.

Two stages, both resumable (see :mod:`xslatent.simulate._runner`):

1. Geometries: NVE molecular dynamics with GFN2-xTB (tblite) from the xTB minimum with the
   internal kinetic energy of a hot molecule (:func:`md_trajectory`), one file per
   trajectory in ``out_dir/geometries``.
2. Spectra: B3LYP ΔSCF and transition-potential calculations with PySCF for every frame
   (:func:`compute_snapshot`), one file per chunk of snapshots in ``out_dir/chunks``.

:func:`assemble` merges the chunks into one HDF5 file.

Spectroscopic model (all energies in eV)
----------------------------------------
XPS
    ΔSCF O 1s binding energy ``BE = E(1s⁻¹ cation) − E(ground)``; the core hole is kept in the
    1s by the maximum-overlap method. The spectrum is one line of unit area at ``BE``.
XES
    Valence → O 1s emission from ground-state orbitals. The HOMO line sits at
    ``BE − IP_HOMO`` with ``IP_HOMO`` from a valence-cation ΔSCF; lower valence levels are
    placed by orbital-energy differences: ``E_v = BE − IP_HOMO − (ε_HOMO − ε_v)``. Intensities
    ``E_v³ |⟨φ_v|r|φ_1s⟩|²`` are **normalised to unit sum** over the valence orbitals
    (radiative branching ratios of one core hole), so a broadened XES has unit area up to
    the part of the lines outside the grid.
XAS
    Transition potential: a UKS state with 0.5 electron removed from the O 1s α orbital
    (kept there by maximum overlap). Oscillator strengths per core spin-orbital
    ``f_v = 2/3 (ε_v − ε_1s) |⟨φ_1s|r|φ_v⟩|²`` (atomic units, TP orbitals, unshifted TP
    energy) are kept **absolute** (not renormalised: the sum over the basis-set
    pseudo-continuum depends on the basis, the absolute scale is physical, like an
    edge-jump normalisation). Energies are **aligned to the ΔSCF threshold**:
    ``E_v = ε_v − ε_1s + (BE + ε_1s) = BE + ε_v`` (TP orbital energies), i.e. the
    transition-potential ionisation threshold (ε = 0) is placed at the ΔSCF binding energy.
    At the experimental geometry the first two peaks are at 535.7 and 537.6 eV
    (experiment 534.0 and 535.9 eV: a constant shift of about −1.7 eV that we do not apply).

Broadening: a Voigt profile per stick (:func:`broaden`) with a 0.16 eV FWHM Lorentzian and a
Gaussian of FWHM 0.5 eV (XPS), 0.8 eV (XES), and for XAS 0.8 eV below ``BE − 2`` rising
linearly to 4 eV at ``BE + 8`` and constant above (:func:`xas_gaussian_fwhm`). Each stick's
profile has unit area times its intensity.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._fileio import atomic_path, sha256sum
from .._validation import Interval, validate_params
from ..exceptions import DataFormatError
from ._runner import ChunkError, ItemError, RunReport, chunk_path, is_complete, package_versions, run_chunks

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

HARTREE_EV = 27.211386245988  # CODATA 2018, as pyscf.data.nist.HARTREE2EV

#: Initial internal kinetic energy is 1.5 k_B T0 (3 vibrational dof). 6500 K gives O–H
#: 0.82–1.20 Å and H–O–H 78–141° (1–99 % ranges) with GFN2-xTB.
DEFAULT_TEMPERATURE = 6500.0

#: Experimental equilibrium geometry (r = 0.9572 Å, angle 104.52°), atoms O, H, H in Å.
EXPERIMENTAL_GEOMETRY = np.array(
    [
        [0.0, 0.0, 0.0],
        [0.9572 * math.sin(math.radians(52.26)), 0.0, 0.9572 * math.cos(math.radians(52.26))],
        [-0.9572 * math.sin(math.radians(52.26)), 0.0, 0.9572 * math.cos(math.radians(52.26))],
    ]
)

XC = "B3LYP"
GRID_LEVEL = 1
CONV_TOL = 1e-10
BASIS_DESCRIPTION = (
    "O: uncontracted aug-cc-pVDZ plus one s, p and d shell with exponent (smallest exponent "
    "of that l)/3; H: aug-cc-pVDZ"
)

#: (start, stop, n_points) of the broadened-spectrum energy grids in eV.
XPS_GRID = (537.0, 542.5, 100)
XES_GRID = (515.0, 530.0, 100)
XAS_GRID = (532.0, 547.0, 100)
LORENTZ_FWHM = 0.16
XPS_GAUSS_FWHM = 0.5
XES_GAUSS_FWHM = 0.8
#: XAS Gaussian FWHM: XAS_FWHM[0] below BE + XAS_RAMP[0], linear to XAS_FWHM[1] at BE + XAS_RAMP[1].
XAS_FWHM = (0.8, 4.0)
XAS_RAMP = (-2.0, 8.0)

# Sanity checks of one snapshot (module attributes so tests can tighten them).
_BE_WINDOW = (530.0, 550.0)
_MIN_CORE_OVERLAP = 0.9
_MAX_OH = 2.0  # Å; a longer O–H bond in the MD means the molecule dissociated

_GEOMETRY_NAME = "traj_{:03d}.h5"
_CHUNK_NAME = "chunk_{:05d}.h5"
_FORMAT = "xslatent-h2o-spectra"
_FORMAT_VERSION = 1


def _grid(spec: tuple) -> np.ndarray:
    return np.linspace(spec[0], spec[1], spec[2])


# --------------------------------------------------------------------------- molecular dynamics


@functools.lru_cache(maxsize=1)
def xtb_minimum() -> np.ndarray:
    """GFN2-xTB minimum-energy geometry of H2O.

    Returns
    -------
    positions : ndarray of shape (3, 3)
        Cartesian coordinates in Å, atoms O, H, H (BFGS to fmax 1e-4 eV/Å).
    """
    from ase import Atoms
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    atoms = Atoms("OH2", positions=[[0.0, 0.0, 0.0], [0.75, 0.0, 0.58], [-0.75, 0.0, 0.58]])
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=1000)
    return atoms.get_positions().copy()


def _steps(duration_fs: float, timestep_fs: float, name: str) -> int:
    n = duration_fs / timestep_fs
    if abs(n - round(n)) > 1e-6:
        raise ValueError(
            f"The '{name}' parameter must be a multiple of timestep_fs={timestep_fs}. "
            f"Got {duration_fs} instead."
        )
    return round(n)


def md_trajectory(
    traj_index: int,
    n_frames: int = 500,
    temperature: float = DEFAULT_TEMPERATURE,
    timestep_fs: float = 0.2,
    equilibration_fs: float = 100.0,
    frame_interval_fs: float = 10.0,
    seed: int = 0,
) -> dict:
    """One NVE GFN2-xTB trajectory of a hot water molecule.

    The molecule starts at the xTB minimum with random velocities from which translation and
    rotation are removed; they are then rescaled so that the internal kinetic energy is
    ``1.5 k_B T0`` (not ``3N/2 k_B T0``, which would dissociate the molecule at these T0).
    After ``equilibration_fs`` a frame is stored every ``frame_interval_fs``.

    Parameters
    ----------
    traj_index : int
        Trajectory number; the velocities depend only on ``(seed, traj_index)``.
    n_frames : int, default=500
        Frames to store.
    temperature : float, default=6500.0
        T0 in K defining the internal kinetic energy.
    timestep_fs : float, default=0.2
        Velocity-Verlet time step in fs.
    equilibration_fs : float, default=100.0
        Time before the first stored frame, in fs.
    frame_interval_fs : float, default=10.0
        Time between stored frames, in fs.
    seed : int, default=0
        Seed of the run.

    Returns
    -------
    dict
        ``positions`` (n_frames, 3, 3) Å, ``time_fs`` (n_frames,), ``potential_energy`` and
        ``kinetic_energy`` (n_frames,) in eV, and ``initial_total_energy`` (eV).

    Notes
    -----
    MD is chaotic, so bitwise reproducibility needs the same libraries and one thread
    (set ``OMP_NUM_THREADS=1``, as the generator's workers do).
    """
    from ase import Atoms, units
    from ase.md.velocitydistribution import Stationary, ZeroRotation
    from ase.md.verlet import VelocityVerlet
    from tblite.ase import TBLite

    validate_params(
        "md_trajectory",
        dict(traj_index=traj_index, n_frames=n_frames, temperature=temperature,
             timestep_fs=timestep_fs, equilibration_fs=equilibration_fs,
             frame_interval_fs=frame_interval_fs, seed=seed),
        dict(traj_index=[Interval(int, 0, None)], n_frames=[Interval(int, 1, None)],
             temperature=[Interval(float, 0, None, "neither")],
             timestep_fs=[Interval(float, 0, None, "neither")],
             equilibration_fs=[Interval(float, 0, None)],
             frame_interval_fs=[Interval(float, 0, None, "neither")],
             seed=[Interval(int, 0, None)]),
    )
    n_equil = _steps(equilibration_fs, timestep_fs, "equilibration_fs")
    n_every = _steps(frame_interval_fs, timestep_fs, "frame_interval_fs")

    atoms = Atoms("OH2", positions=xtb_minimum())
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(traj_index)]))
    kT = units.kB * float(temperature)
    masses = atoms.get_masses()
    atoms.set_momenta(rng.standard_normal((3, 3)) * np.sqrt(masses * kT)[:, None])
    Stationary(atoms, preserve_temperature=False)
    ZeroRotation(atoms, preserve_temperature=False)
    target = 1.5 * kT
    atoms.set_momenta(atoms.get_momenta() * math.sqrt(target / atoms.get_kinetic_energy()))
    e_total0 = atoms.get_potential_energy() + atoms.get_kinetic_energy()

    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    if n_equil:
        dyn.run(n_equil)
    pos = np.empty((n_frames, 3, 3))
    epot = np.empty(n_frames)
    ekin = np.empty(n_frames)
    for k in range(n_frames):
        if k:
            dyn.run(n_every)
        pos[k] = atoms.get_positions()
        epot[k] = atoms.get_potential_energy()
        ekin[k] = atoms.get_kinetic_energy()
    return {
        "positions": pos,
        "time_fs": equilibration_fs + frame_interval_fs * np.arange(n_frames),
        "potential_energy": epot,
        "kinetic_energy": ekin,
        "initial_total_energy": e_total0,
    }


def run_md(
    n_trajectories: int = 20,
    frames_per_trajectory: int = 500,
    temperature: float = DEFAULT_TEMPERATURE,
    timestep_fs: float = 0.2,
    equilibration_fs: float = 100.0,
    frame_interval_fs: float = 10.0,
    seed: int = 0,
) -> dict:
    """Several :func:`md_trajectory` runs in series, stacked.

    Parameters
    ----------
    n_trajectories : int, default=20
        Number of trajectories (indices 0 … n_trajectories − 1).
    frames_per_trajectory, temperature, timestep_fs, equilibration_fs, frame_interval_fs, seed
        As in :func:`md_trajectory`.

    Returns
    -------
    dict
        ``positions`` (n, 3, 3) Å, ``trajectory_index`` and ``frame_index`` (n,), with
        ``n = n_trajectories * frames_per_trajectory``.

    See Also
    --------
    generate : the parallel, resumable version that caches trajectories on disk.
    """
    pos, traj, frame = [], [], []
    for t in range(n_trajectories):
        out = md_trajectory(t, frames_per_trajectory, temperature, timestep_fs,
                            equilibration_fs, frame_interval_fs, seed)
        pos.append(out["positions"])
        traj.append(np.full(frames_per_trajectory, t))
        frame.append(np.arange(frames_per_trajectory))
    return {
        "positions": np.concatenate(pos),
        "trajectory_index": np.concatenate(traj),
        "frame_index": np.concatenate(frame),
    }


# --------------------------------------------------------------------------- electronic structure


@functools.lru_cache(maxsize=1)
def _o_basis() -> list:
    from pyscf import gto

    shells = gto.uncontract(gto.basis.load("aug-cc-pvdz", "O"))
    smallest: dict[int, float] = {}
    for shell in shells:
        exps = [prim[0] for prim in shell[1:]]
        smallest[shell[0]] = min(smallest.get(shell[0], np.inf), *exps)
    return shells + [[l, [smallest[l] / 3.0, 1.0]] for l in (0, 1, 2)]


def make_basis() -> dict:
    """PySCF basis of the H2O calculations.

    Returns
    -------
    dict
        ``{"O": shells, "H": "aug-cc-pvdz"}``: oxygen uncontracted aug-cc-pVDZ plus one extra
        diffuse s, p and d shell each with exponent (smallest exponent of that l)/3.
    """
    return {"O": copy.deepcopy(_o_basis()), "H": "aug-cc-pvdz"}


def _mol(positions: np.ndarray, charge: int = 0, spin: int = 0):
    from pyscf import gto

    mol = gto.Mole()
    mol.atom = [("O", positions[0]), ("H", positions[1]), ("H", positions[2])]
    mol.unit = "Angstrom"
    mol.basis = make_basis()
    mol.charge = charge
    mol.spin = spin
    mol.verbose = 0
    mol.build()
    return mol


def _ks(mol, grids, restricted: bool):
    from pyscf import dft

    mf = dft.RKS(mol) if restricted else dft.UKS(mol)
    mf.xc = XC
    mf.conv_tol = CONV_TOL
    mf.max_cycle = 100
    mf.verbose = 0
    if grids is None:
        mf.grids.level = GRID_LEVEL
    else:  # same nuclei, same grid: build it once per snapshot
        mf.grids = grids
    return mf


def _fractional_mom(mf, ref_coeff: np.ndarray, ref_occ: np.ndarray):
    """Maximum-overlap occupations that also allow a fractional occupation.

    For each spin, the MOs spanning the occupied reference orbitals best are occupied; each
    reference orbital with a fractional occupation passes it to the MO overlapping it most.
    The reference stays the initial orbitals (IMOM), which keeps a core hole in the core.
    """
    s_ao = mf.get_ovlp()
    occupied = [np.flatnonzero(ref_occ[s] > 0) for s in range(2)]
    fractional = [np.flatnonzero((ref_occ[s] > 0) & (ref_occ[s] < 1)) for s in range(2)]

    def get_occ(mo_energy=None, mo_coeff=None):
        if mo_coeff is None:
            mo_coeff = mf.mo_coeff
        occ = np.zeros((2, mo_coeff[0].shape[1]))
        for s in range(2):
            proj = ref_coeff[:, occupied[s]].T @ s_ao @ mo_coeff[s]
            chosen = np.argsort(-np.einsum("ij,ij->j", proj, proj), kind="stable")[: len(occupied[s])]
            occ[s, chosen] = 1.0
            for i in fractional[s]:
                row = np.abs(ref_coeff[:, i] @ s_ao @ mo_coeff[s][:, chosen])
                occ[s, chosen[np.argmax(row)]] = ref_occ[s, i]
        return occ

    mf.get_occ = get_occ
    return mf


def _hole_overlap(mf, ref: np.ndarray, s_ao: np.ndarray, below: float = 1.0) -> tuple[float, int]:
    """|⟨ref|φ_h⟩| for the lowest-energy α MO with occupation < ``below``."""
    occ = np.asarray(mf.mo_occ[0])
    idx = np.flatnonzero(occ < below - 1e-8)
    h = idx[np.argmin(np.asarray(mf.mo_energy[0])[idx])]
    return float(abs(ref @ s_ao @ mf.mo_coeff[0][:, h])), int(h)


def compute_snapshot(positions: Any, *, check: bool = True) -> dict:
    """XPS, XES and XAS of one water geometry (B3LYP, PySCF).

    Four SCF calculations on one DFT grid (level 1): RKS ground state; ΔSCF O 1s⁻¹ cation
    (UKS with the α 1s emptied, maximum-overlap occupations); ΔSCF HOMO⁻¹ cation; and a
    half-core-hole transition-potential state. Each starts from the ground-state orbitals.
    See the module docstring for energies, intensities, alignment and normalisation.

    Parameters
    ----------
    positions : array-like of shape (3, 3) or ase.Atoms
        Cartesian coordinates in Å, atoms ordered O, H, H.
    check : bool, default=True
        Raise :class:`ItemError` when a sanity check fails: an SCF did not converge, the
        binding energy is outside 530–550 eV, or a hole orbital overlaps its ground-state
        orbital (O 1s or HOMO) by 0.9 or less (the hole slipped out of the orbital).

    Returns
    -------
    dict
        ``binding_energy`` (eV), ``homo_ip`` (ΔSCF, eV); sticks ``xes_energy``,
        ``xes_intensity`` (valence orbitals from the deepest, unit sum) and ``xas_energy``,
        ``xas_intensity`` (all virtual TP orbitals, oscillator strengths); broadened
        ``xps``, ``xes``, ``xas`` on ``XPS_GRID``, ``XES_GRID``, ``XAS_GRID``; diagnostics
        ``core_overlap``, ``tp_core_overlap``, ``homo_overlap``, ``tp_eps_1s`` (eV) and the
        total energies ``e_ground``, ``e_core_hole``, ``e_homo_hole``, ``e_tp`` (Hartree).

    Raises
    ------
    ItemError
        When ``check`` is True and a sanity check fails; the message is the reason.
    """
    if hasattr(positions, "get_positions"):
        positions = positions.get_positions()
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape != (3, 3) or not np.all(np.isfinite(pos)):
        raise ValueError(
            f"The 'positions' argument of compute_snapshot must be a finite (3, 3) array. "
            f"Got shape {pos.shape} instead."
        )
    from pyscf import scf

    failures: list[str] = []

    # 1. ground state
    mol = _mol(pos)
    gs = _ks(mol, None, restricted=True)
    gs.kernel()
    if not gs.converged:
        failures.append("ground-state SCF did not converge")
    grids = gs.grids
    c0, e0, occ0 = gs.mo_coeff, gs.mo_energy, gs.mo_occ
    s_ao = gs.get_ovlp()
    nocc = int(np.count_nonzero(occ0 > 0))
    homo = nocc - 1
    half = occ0 / 2.0
    cation = _mol(pos, charge=1, spin=1)

    # 2. O 1s core hole (ΔSCF); MOM keeps the hole in the 1s
    occ_core = np.array([half, half])
    occ_core[0, 0] = 0.0
    ch = scf.addons.mom_occ(_ks(cation, grids, restricted=False), (c0, c0), occ_core)
    ch.kernel(ch.make_rdm1((c0, c0), occ_core))
    if not ch.converged:
        failures.append("core-hole SCF did not converge")
    be = (ch.e_tot - gs.e_tot) * HARTREE_EV
    core_overlap, _ = _hole_overlap(ch, c0[:, 0], s_ao)
    if not (_BE_WINDOW[0] <= be <= _BE_WINDOW[1]):
        failures.append(f"binding energy {be:.2f} eV outside {_BE_WINDOW[0]}-{_BE_WINDOW[1]} eV")
    if not core_overlap > _MIN_CORE_OVERLAP:
        failures.append(f"core-hole orbital overlap {core_overlap:.3f} <= {_MIN_CORE_OVERLAP}")

    # 3. valence (HOMO) hole (ΔSCF) for the XES energy scale
    occ_val = np.array([half, half])
    occ_val[0, homo] = 0.0
    vh = scf.addons.mom_occ(_ks(cation, grids, restricted=False), (c0, c0), occ_val)
    vh.kernel(vh.make_rdm1((c0, c0), occ_val))
    if not vh.converged:
        failures.append("valence-hole SCF did not converge")
    homo_ip = (vh.e_tot - gs.e_tot) * HARTREE_EV
    homo_overlap, _ = _hole_overlap(vh, c0[:, homo], s_ao)
    if not homo_overlap > _MIN_CORE_OVERLAP:
        failures.append(f"valence-hole orbital overlap {homo_overlap:.3f} <= {_MIN_CORE_OVERLAP}")

    r_ao = mol.intor("int1e_r")  # (3, nao, nao)
    val = np.arange(1, nocc)
    d_xes = np.einsum("xij,i,jv->vx", r_ao, c0[:, 0], c0[:, val])
    xes_e = be - homo_ip - (e0[homo] - e0[val]) * HARTREE_EV
    xes_i = xes_e**3 * np.einsum("vx,vx->v", d_xes, d_xes)
    xes_i = xes_i / xes_i.sum()

    # 4. transition potential: half an α electron removed from the 1s
    occ_tp = np.array([half, half])
    occ_tp[0, 0] = 0.5
    tp = _fractional_mom(_ks(mol, grids, restricted=False), c0, occ_tp)
    tp.kernel(tp.make_rdm1((c0, c0), occ_tp))
    if not tp.converged:
        failures.append("transition-potential SCF did not converge")
    tp_overlap, i1s = _hole_overlap(tp, c0[:, 0], s_ao)
    if not tp_overlap > _MIN_CORE_OVERLAP:
        failures.append(f"transition-potential core orbital overlap {tp_overlap:.3f} <= {_MIN_CORE_OVERLAP}")
    eps_a = np.asarray(tp.mo_energy[0])
    c_a = tp.mo_coeff[0]
    virt = np.flatnonzero(np.asarray(tp.mo_occ[0]) == 0)
    virt = virt[np.argsort(eps_a[virt], kind="stable")]
    d_xas = np.einsum("xij,i,jv->vx", r_ao, c_a[:, i1s], c_a[:, virt])
    de = eps_a[virt] - eps_a[i1s]
    xas_i = 2.0 / 3.0 * de * np.einsum("vx,vx->v", d_xas, d_xas)
    xas_e = be + eps_a[virt] * HARTREE_EV

    if check and failures:
        raise ItemError("; ".join(failures))

    out = {
        "binding_energy": float(be),
        "homo_ip": float(homo_ip),
        "xes_energy": xes_e,
        "xes_intensity": xes_i,
        "xas_energy": xas_e,
        "xas_intensity": xas_i,
        "core_overlap": core_overlap,
        "tp_core_overlap": tp_overlap,
        "homo_overlap": homo_overlap,
        "tp_eps_1s": float(eps_a[i1s] * HARTREE_EV),
        "e_ground": float(gs.e_tot),
        "e_core_hole": float(ch.e_tot),
        "e_homo_hole": float(vh.e_tot),
        "e_tp": float(tp.e_tot),
        "failures": failures,
    }
    out.update(broadened_spectra(be, xes_e, xes_i, xas_e, xas_i))
    return out


# --------------------------------------------------------------------------- broadening


def broaden(
    sticks_e: Any,
    sticks_i: Any,
    grid: Any,
    fwhm_gauss: Any,
    fwhm_lorentz: float = LORENTZ_FWHM,
) -> np.ndarray:
    """Broaden stick spectra with area-normalised Voigt profiles.

    Parameters
    ----------
    sticks_e : array-like of shape (..., n_sticks)
        Stick energies (eV). NaN marks padding and is ignored.
    sticks_i : array-like of shape (..., n_sticks)
        Stick intensities; each profile integrates to its intensity.
    grid : array-like of shape (n_points,)
        Energies at which the spectrum is evaluated.
    fwhm_gauss : float or array-like broadcastable to ``sticks_e``
        Gaussian full width at half maximum of every stick, or one per stick.
    fwhm_lorentz : float, default=0.16
        Lorentzian full width at half maximum.

    Returns
    -------
    spectrum : ndarray of shape (..., n_points)

    Examples
    --------
    >>> import numpy as np
    >>> grid = np.linspace(530, 550, 2001)
    >>> s = broaden([540.0], [2.0], grid, fwhm_gauss=0.5, fwhm_lorentz=0.0)
    >>> round(float(s.sum() * (grid[1] - grid[0])), 6), float(grid[s.argmax()])
    (2.0, 540.0)
    """
    from scipy.special import voigt_profile

    e = np.asarray(sticks_e, dtype=np.float64)
    inten = np.asarray(sticks_i, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    if e.shape != inten.shape:
        raise ValueError(
            f"The 'sticks_e' and 'sticks_i' arguments of broaden must have the same shape. "
            f"Got {e.shape} and {inten.shape} instead."
        )
    if grid.ndim != 1:
        raise ValueError(f"The 'grid' argument of broaden must be 1-D. Got shape {grid.shape} instead.")
    fwhm_g = np.broadcast_to(np.asarray(fwhm_gauss, dtype=np.float64), e.shape)
    if np.any(fwhm_g < 0) or fwhm_lorentz < 0 or (np.any(fwhm_g == 0) and fwhm_lorentz == 0):
        raise ValueError(
            "The widths of broaden must be non-negative and not both zero. "
            f"Got fwhm_gauss={fwhm_gauss!r}, fwhm_lorentz={fwhm_lorentz!r} instead."
        )
    pad = ~np.isfinite(e)
    e = np.where(pad, 0.0, e)
    inten = np.where(pad, 0.0, inten)
    sigma = fwhm_g / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    gamma = 0.5 * fwhm_lorentz
    prof = voigt_profile(grid - e[..., None], sigma[..., None], gamma)
    return np.einsum("...s,...sg->...g", inten, prof)


def xas_gaussian_fwhm(energy: Any, binding_energy: Any) -> np.ndarray:
    """Energy-dependent Gaussian FWHM of the XAS broadening.

    0.8 eV below ``binding_energy − 2`` eV, rising linearly to 4 eV at ``binding_energy + 8``
    eV and constant above.

    Parameters
    ----------
    energy : array-like
        Stick energies in eV.
    binding_energy : float or array-like broadcastable to ``energy``
        O 1s binding energy in eV.

    Returns
    -------
    ndarray
        FWHM in eV, same shape as ``energy``.
    """
    rel = np.asarray(energy, dtype=np.float64) - np.asarray(binding_energy, dtype=np.float64)
    t = np.clip((rel - XAS_RAMP[0]) / (XAS_RAMP[1] - XAS_RAMP[0]), 0.0, 1.0)
    return XAS_FWHM[0] + t * (XAS_FWHM[1] - XAS_FWHM[0])


def broadened_spectra(be: Any, xes_e: Any, xes_i: Any, xas_e: Any, xas_i: Any) -> dict:
    """XPS, XES and XAS on the standard grids from sticks (single or batched).

    Parameters
    ----------
    be : float or array-like of shape (n,)
        O 1s binding energies in eV.
    xes_e, xes_i : array-like of shape (..., n_sticks)
        XES sticks.
    xas_e, xas_i : array-like of shape (..., n_sticks)
        XAS sticks.

    Returns
    -------
    dict
        ``xps``, ``xes``, ``xas`` with shape (..., 100), on ``XPS_GRID``, ``XES_GRID`` and
        ``XAS_GRID``.
    """
    be = np.asarray(be, dtype=np.float64)
    xas_e = np.asarray(xas_e, dtype=np.float64)
    return {
        "xps": broaden(be[..., None], np.ones(be.shape + (1,)), _grid(XPS_GRID), XPS_GAUSS_FWHM),
        "xes": broaden(xes_e, xes_i, _grid(XES_GRID), XES_GAUSS_FWHM),
        "xas": broaden(xas_e, xas_i, _grid(XAS_GRID), xas_gaussian_fwhm(xas_e, be[..., None])),
    }


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


def _pad(rows: list, fill: float) -> np.ndarray:
    width = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), width), fill)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


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
        return _pad(rows.get(key, []), fill).astype(dtype)

    pos_arr = stack("positions", np.float64, (3, 3))
    npts = XPS_GRID[2]
    out = {
        "structure/positions": pos_arr,
        "structure/snapshot_index": stack("snapshot_index", np.int64),
        "structure/trajectory_index": stack("trajectory_index", np.int32),
        "structure/frame_index": stack("frame_index", np.int32),
        "structure/internal_coordinates": internal_coordinates(pos_arr) if n else np.zeros((0, 3)),
        "xps/binding_energy": stack("binding_energy", np.float64),
        "xps/energy": _grid(XPS_GRID),
        "xps/spectrum": stack("xps", np.float32, (npts,)),
        "xes/energy": _grid(XES_GRID),
        "xes/spectrum": stack("xes", np.float32, (XES_GRID[2],)),
        "xas/energy": _grid(XAS_GRID),
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

    chunk_dir = Path(chunk_dir)
    if (chunk_dir / "chunks").is_dir():
        chunk_dir = chunk_dir / "chunks"
    paths = sorted(chunk_dir.glob("chunk_*.h5"))
    paths = [p for p in paths if is_complete(p)]
    if not paths:
        raise DataFormatError(f"No complete chunk files in {chunk_dir}.")
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
                for k in ("seed", "temperature_K", "xc", "basis", "grid_level", "chunk_size"):
                    if not _same(attrs.get(k), attrs0.get(k)):
                        raise DataFormatError(f"{p} has {k}={attrs.get(k)!r}, other chunks {attrs0.get(k)!r}.")
            covered.update(range(int(f.attrs["snapshot_start"]), int(f.attrs["snapshot_stop"])))
            for k in _PER_SNAPSHOT:
                data[k].append(f[k][()])
            exc_idx.extend(f["excluded/index"][()].tolist())
            exc_reason.extend(r.decode() if isinstance(r, bytes) else str(r) for r in f["excluded/reason"][()])
    missing = n_total - len(covered & set(range(n_total)))
    if missing and not allow_incomplete:
        raise DataFormatError(
            f"{missing} of {n_total} snapshots have no chunk in {chunk_dir}; finish the run or "
            f"pass allow_incomplete=True."
        )
    merged = {}
    for k, parts in data.items():
        if k in _PADDED:
            width = max(a.shape[1] for a in parts)
            parts = [np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=_PADDED[k]) for a in parts]
        merged[k] = np.concatenate(parts).astype(_PER_SNAPSHOT[k])
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
        f.attrs["n_missing"] = int(missing)
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


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bytes):
        a = a.decode()
    if isinstance(b, bytes):
        b = b.decode()
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):  # pragma: no cover
        return a == b
