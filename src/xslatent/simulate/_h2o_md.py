"""Molecular dynamics of a hot water molecule (GFN2-xTB via tblite, ASE velocity Verlet).

Physics of the H2O generator, stage 1 (:mod:`xslatent.simulate.h2o` runs it chunked and
resumable): :func:`md_trajectory` starts at the xTB minimum (:func:`xtb_minimum`) with the
internal kinetic energy of a hot molecule and stores a frame every 10 fs; :func:`run_md`
runs several in series.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._validation import Interval, validate_params

__all__ = ["DEFAULT_TEMPERATURE", "EXPERIMENTAL_GEOMETRY", "md_trajectory", "run_md", "xtb_minimum"]

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
