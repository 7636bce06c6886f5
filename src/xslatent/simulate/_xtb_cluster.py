"""Ge-centred clusters and their Kβ valence-to-core sticks from GFN1-xTB (tblite).

Cluster
    The central Ge and its ``n_neighbors`` nearest atoms (minimum image), i.e. exactly the
    atoms of its local Coulomb matrix, unwrapped around the centre. Bonds cut by the cluster
    boundary are capped with hydrogen along the real bond direction: an O bonded (in the
    bulk, Ge–O < ``bond_cutoff``) to fewer than ``o_max_bonds`` Ge of the cluster gets an H
    at ``R_OH`` towards each missing Ge, nearest first, up to ``o_max_bonds`` bonds; a
    non-central Ge with fewer than ``ge_max_bonds`` O of the cluster gets an H at ``R_GEH``
    towards each missing O, up to ``ge_max_bonds`` bonds.
Charge
    Ionic electron count: Ge⁴⁺, O²⁻, H⁺ on O, H⁻ on Ge, so
    ``charge = 4 nGe − 2 nO + nH(O) − nH(Ge)``: every O 2p, O–H and Ge–H bonding level is
    filled and every Ge 4s/4p level empty, whatever the coordination.
Spectrum
    GFN1-xTB single point; the converged Fock matrix ``F = S C ε Cᵀ S`` is Löwdin
    orthogonalised, the O 2s diagonal elements are shifted by ``o2s_shift`` (plain xTB puts
    the O 2s band too shallow) and the matrix is re-diagonalised. Each occupied orbital
    gives a stick with intensity equal to its central-Ge 4p Löwdin weight, at an energy
    relative to a local reference at the emitting atom (by default the central Ge 4s
    diagonal element of the Löwdin-orthogonalised Fock matrix), never a global level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BOHR_ANGSTROM", "HARTREE_EV", "Cluster", "cut_cluster", "kbeta_sticks"]

HARTREE_EV = 27.211386245988
BOHR_ANGSTROM = 0.529177210903
R_OH = 0.97  # Å, O–H cap
R_GEH = 1.53  # Å, Ge–H cap (GeH4)
BOND_CUTOFF = 2.4  # Å, Ge–O bond (first minimum of g_GeO)


@dataclass
class Cluster:
    """A capped Ge-centred cluster (positions in Å, central Ge at the origin, index 0)."""

    numbers: np.ndarray
    positions: np.ndarray
    n_core: int
    charge: int
    n_caps_o: int
    n_caps_ge: int
    core_indices: np.ndarray


def cut_cluster(
    numbers: np.ndarray,
    vectors: np.ndarray,
    center: int,
    *,
    n_neighbors: int = 16,
    bond_cutoff: float = BOND_CUTOFF,
    o_max_bonds: int = 2,
    ge_max_bonds: int = 4,
) -> Cluster:
    """Cut and cap the cluster of ``center``.

    Parameters
    ----------
    numbers : ndarray of shape (n_atoms,)
        Atomic numbers (Ge 32, O 8).
    vectors : ndarray of shape (n_atoms, n_atoms, 3)
        Minimum-image vectors ``r_j − r_i`` (from :func:`~xslatent.features.coulomb.
        minimum_image_vectors` with all atoms as centres).
    center : int
        Index of the central Ge.
    n_neighbors : int, default=16
        Core atoms besides the centre.
    bond_cutoff : float, default=2.4
        Ge–O bond length limit (Å).
    o_max_bonds, ge_max_bonds : int
        Cap O up to this many Ge bonds, non-central Ge up to this many O bonds (0 disables).

    Returns
    -------
    Cluster
    """
    numbers = np.asarray(numbers)
    d_c = np.linalg.norm(vectors[center], axis=1)
    d_c[center] = np.inf
    core = np.concatenate([[center], np.argsort(d_c, kind="stable")[:n_neighbors]])
    in_core = np.zeros(len(numbers), dtype=bool)
    in_core[core] = True
    pos = vectors[center, core].copy()
    pos[0] = 0.0
    caps = []
    n_cap_o = n_cap_ge = 0
    for k, j in enumerate(core):
        z = numbers[j]
        if z == 8:
            partner_z, max_bonds, r_cap = 32, o_max_bonds, R_OH
        elif z == 32 and k > 0:
            partner_z, max_bonds, r_cap = 8, ge_max_bonds, R_GEH
        else:
            continue
        d = np.linalg.norm(vectors[j], axis=1)
        bonded = np.flatnonzero((numbers == partner_z) & (d < bond_cutoff))
        n_in = int(np.count_nonzero(in_core[bonded]))
        missing = bonded[~in_core[bonded]]
        missing = missing[np.argsort(d[missing], kind="stable")]
        for m in missing[: max(0, max_bonds - n_in)]:
            caps.append(pos[k] + r_cap * vectors[j, m] / d[m])
            if z == 8:
                n_cap_o += 1
            else:
                n_cap_ge += 1
    z_core = numbers[core]
    n_ge = int(np.count_nonzero(z_core == 32))
    n_o = int(np.count_nonzero(z_core == 8))
    charge = 4 * n_ge - 2 * n_o + n_cap_o - n_cap_ge
    # caps are ordered O caps and Ge caps as encountered; their number is all that matters
    all_num = np.concatenate([z_core, np.ones(len(caps), dtype=z_core.dtype)])
    all_pos = np.vstack([pos, np.asarray(caps).reshape(-1, 3)])
    return Cluster(all_num.astype(np.int64), all_pos, len(core), int(charge), n_cap_o, n_cap_ge,
                   core.astype(np.int64))


def _ao_labels(calc):
    """Atom index and angular momentum of each atomic orbital."""
    ang = np.asarray(calc.get("angular-momenta"))
    shell_atom = np.asarray(calc.get("shell-map"))
    ao_shell = np.asarray(calc.get("orbital-map"))
    ao_atom = shell_atom[ao_shell]
    ao_l = ang[ao_shell]
    return ao_atom, ao_l


REFERENCES = ("ao", "lowdin", "potential")
_COULOMB_EV_A = 14.399645


def kbeta_sticks(cluster: Cluster, *, o2s_shift: float = -11.0, reference: str = "lowdin",
                 accuracy: float = 1.0) -> dict:
    """Kβ valence-to-core sticks of the central Ge of ``cluster``.

    Parameters
    ----------
    cluster : Cluster
    o2s_shift : float, default=-11.0
        Shift (eV) of the O 2s diagonal of the Löwdin-orthogonalised Fock matrix.
    reference : {"ao", "lowdin", "potential"}, default="lowdin"
        Energy zero: the central Ge 4s diagonal element of the AO Fock matrix (``"ao"``) or
        of the Löwdin-orthogonalised one (``"lowdin"``), or ``-φ`` with ``φ = Σ_B q_B / r_B``
        the point-charge potential (eV/e) of the other cluster atoms' xTB charges at the
        central Ge (``"potential"``: the initial-state core-level shift of the potential
        model, up to a constant).
    accuracy : float, default=1.0
        tblite accuracy setting.

    Returns
    -------
    dict
        ``energy`` (eV, relative to ``reference``), ``intensity``
        (central Ge 4p Löwdin weight), ``o2s_weight`` of the occupied orbitals (ascending
        energy); ``split`` (eV, midpoint of the O 2s / O 2p gap), ``gap`` (HOMO–LUMO gap of
        the xTB solution, eV), ``fractional`` (occupations not 0/2), ``ref_ao``,
        ``ref_lowdin``, ``ref_potential`` (the three references, eV, absolute),
        ``charge_center`` (xTB charge of the central Ge), ``homo`` (eV, relative), ``n_occ``,
        ``o2s_top`` and ``o2p_bottom`` (eV, relative).
    """
    from tblite.interface import Calculator

    calc = Calculator("GFN1-xTB", cluster.numbers, cluster.positions / BOHR_ANGSTROM,
                      charge=float(cluster.charge), uhf=0)
    calc.set("verbosity", 0)
    calc.set("save-integrals", 1)
    calc.set("accuracy", accuracy)
    res = calc.singlepoint()
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    eps = np.asarray(res.get("orbital-energies"))
    occ = np.asarray(res.get("orbital-occupations"))
    coef = np.asarray(res.get("orbital-coefficients"))
    s = np.asarray(res.get("overlap-matrix"))
    ao_atom, ao_l = _ao_labels(calc)

    nel = float(occ.sum())
    n_occ = int(round(nel / 2))
    fractional = bool(np.max(np.abs(occ - np.round(occ / 2) * 2)) > 1e-3)
    gap = float((eps[n_occ] - eps[n_occ - 1]) * HARTREE_EV) if n_occ < len(eps) else np.inf

    fock = (s @ coef * eps) @ coef.T @ s * HARTREE_EV
    w, u = np.linalg.eigh(s)
    x = (u / np.sqrt(w)) @ u.T
    f_l = x @ fock @ x
    o2s = (cluster.numbers[ao_atom] == 8) & (ao_l == 0)
    ge4p = (ao_atom == 0) & (ao_l == 1)
    ge4s = np.flatnonzero((ao_atom == 0) & (ao_l == 0))[0]
    ref_ao = float(fock[ge4s, ge4s])
    ref_lowdin = float(f_l[ge4s, ge4s])
    q = np.asarray(res.get("charges"))
    r = np.linalg.norm(cluster.positions[1:] - cluster.positions[0], axis=1)
    ref_pot = -float(_COULOMB_EV_A * np.sum(q[1:] / r))
    ref = {"ao": ref_ao, "lowdin": ref_lowdin, "potential": ref_pot}[reference]
    f_l[o2s, o2s] += o2s_shift
    e, c = np.linalg.eigh(f_l)
    c2 = c[:, :n_occ] ** 2
    energy = e[:n_occ] - ref
    intensity = c2[ge4p].sum(axis=0)
    o2s_w = c2[o2s].sum(axis=0)
    band = o2s_w >= 0.5
    if band.any() and (~band).any():
        top = energy[band].max()
        above = energy[(~band) & (energy > top)]
        bottom = above.min() if above.size else np.nan
    else:
        top = bottom = np.nan
    return {
        "energy": energy,
        "intensity": intensity,
        "o2s_weight": o2s_w,
        "split": 0.5 * (top + bottom),
        "o2s_top": top,
        "o2p_bottom": bottom,
        "gap": gap,
        "fractional": fractional,
        "ref_ao": ref_ao,
        "ref_lowdin": ref_lowdin,
        "ref_potential": ref_pot,
        "charge_center": float(q[0]),
        "homo": float(energy[-1]),
        "n_occ": n_occ,
    }


def pyscf_kbeta_sticks(cluster: Cluster, *, xc: str = "PBE0", basis: str = "def2-SVP",
                       valence_window: float = 25.0) -> dict:
    """All-electron reference: Kβ valence-to-core sticks of the central Ge with PySCF.

    Restricted Kohn–Sham ground state (density fitting); stick energies
    ``ε_k − ε_1s(Ge)`` and dipole intensities ``|⟨φ_k|r|φ_1s⟩|²`` for the occupied orbitals
    within ``valence_window`` eV of the HOMO. Used to check the xTB model (line separation,
    shifts with coordination, intensity ratio), not in production.

    Returns
    -------
    dict
        ``energy`` (eV, relative to ε_1s), ``intensity`` (arbitrary units, sum 1),
        ``split`` (midpoint of the widest gap between valence levels), ``eps_1s`` (eV).
    """
    from pyscf import dft, gto

    from ..features.moments import largest_gap_split

    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(cluster.numbers, cluster.positions)],
                basis=basis, charge=cluster.charge, spin=0, unit="Angstrom", verbose=0)
    mf = dft.RKS(mol).density_fit()
    mf.xc = xc
    mf.conv_tol = 1e-9
    mf.kernel()
    if not mf.converged:
        raise RuntimeError("PySCF SCF did not converge")
    eps = mf.mo_energy * HARTREE_EV
    occ = mf.mo_occ > 0
    c = mf.mo_coeff
    # the Ge 1s: the deepest orbital, localised on atom 0
    k1s = int(np.argmin(eps))
    r = mol.intor("int1e_r")
    dip = np.einsum("xij,i,jk->xk", r, c[:, k1s], c)
    inten = np.sum(dip**2, axis=0)
    homo = eps[occ].max()
    val = occ & (eps > homo - valence_window)
    e = eps[val] - eps[k1s]
    w = inten[val] / inten[val].sum()
    order = np.argsort(e)
    e, w = e[order], w[order]
    return {"energy": e, "intensity": w, "split": float(largest_gap_split(e)),
            "eps_1s": float(eps[k1s]), "homo": float(homo - eps[k1s])}
