"""Ge(OH)n first-shell clusters and their Kβ valence-to-core sticks from Kohn–Sham DFT (PySCF).

Cluster (:func:`hydroxide_cluster`)
    The central Ge, every O within ``bond_cutoff`` of it (the coordination cutoff the GeO2
    data set already uses) and exactly one H per O at ``R_OH`` = 0.97 Å from the O. The H
    points along the O's bond to its nearest *other* cation neighbour (another Ge within
    ``bond_cutoff`` of the O), i.e. it stands in for the next Ge of the network; an O with
    no other cation neighbour (a non-bridging O) gets its H straight outward, along the
    Ge→O direction. Charge ``4 − n_O`` (Ge⁴⁺, O²⁻, H⁺): Ge(OH)₄ neutral, Ge(OH)₅⁻,
    Ge(OH)₆²⁻, always closed shell.
Electronic structure (:func:`dft_kbeta_sticks`)
    Restricted Kohn–Sham ground state, all electrons, ``basis`` (def2-SVP), density fitting,
    integration grid level ``grid_level``, functional ``xc`` (B3LYP by default).
Sticks
    One stick per occupied *valence* orbital φ (every occupied orbital above the
    ``14 + n_O`` core orbitals: Ge 1s–3d and O 1s): intensity ``|⟨Ge 1s|r|φ⟩|²`` (dipole
    length form; origin-independent because φ ⟂ 1s), energy ``ε_φ − ε_Ge1s`` in eV
    (Koopmans-like orbital-energy differences, no further shift: the absolute scale is not
    calibrated, relative positions are what the moments and the learnability depend on).
    Kβ'' (O 2s band) and Kβ2 (O 2p band) are split at the middle of the widest gap between
    consecutive valence levels.
"""

from __future__ import annotations

import numpy as np

from ._xtb_cluster import BOND_CUTOFF, HARTREE_EV, R_OH, Cluster

__all__ = ["N_GE_CORE_ORBITALS", "dft_kbeta_sticks", "hydroxide_cluster"]

#: Doubly occupied core orbitals of Ge: 1s, 2s, 2p×3, 3s, 3p×3, 3d×5.
N_GE_CORE_ORBITALS = 14


def hydroxide_cluster(numbers, vectors, center: int, *, bond_cutoff: float = BOND_CUTOFF,
                      r_oh: float = R_OH, max_caps_per_o: int = 1,
                      cap_nonbridging: bool = True) -> Cluster:
    """Cut the Ge(OH)n cluster of ``center`` (see the module docstring for the rule).

    Parameters
    ----------
    numbers : array-like of shape (n_atoms,)
        Atomic numbers (Ge 32, O 8; any Z ≠ 8 counts as a cation for the H direction).
    vectors : ndarray of shape (n_atoms, n_atoms, 3)
        Minimum-image vectors ``r_j − r_i`` (:func:`~xslatent.features.coulomb.
        minimum_image_vectors` with all atoms as centres).
    center : int
        Index of the central Ge.
    bond_cutoff : float, default=2.4
        Cation–O bond length limit (Å), used for the first shell and for the H direction.
    r_oh : float, default=0.97
        O–H distance (Å).
    max_caps_per_o : int, default=1
        H per O at most, one towards each other cation neighbour, nearest first (the
        variant of the xTB pilot, ``cluster="first_shell"``, is ``o_max_bonds − 1``).
    cap_nonbridging : bool, default=True
        Give an O without another cation neighbour one H straight outward (along Ge→O);
        ``False`` leaves it bare (the xTB pilot variant).

    Returns
    -------
    Cluster
        Central Ge at the origin (index 0), its O nearest first, then the H in the order of
        their O; ``n_caps_o`` = number of H, ``charge`` = 4 − 2 n_O + n_H (= 4 − n_O with
        one H per O), ``core_indices`` = the Ge and its O in the structure.
    """
    z = np.asarray(numbers)
    vec = np.asarray(vectors, dtype=np.float64)
    d_c = np.linalg.norm(vec[center], axis=1)
    ox = np.flatnonzero((z == 8) & (d_c < bond_cutoff))
    ox = ox[np.argsort(d_c[ox], kind="stable")]
    o_pos = vec[center, ox]
    caps = []
    others = np.arange(len(z)) != center
    for k, j in enumerate(ox):
        d = np.linalg.norm(vec[j], axis=1)
        cations = np.flatnonzero((z != 8) & (d < bond_cutoff) & others)
        cations = cations[np.argsort(d[cations], kind="stable")][: max(0, max_caps_per_o)]
        for m in cations:
            caps.append(o_pos[k] + r_oh * vec[j, m] / d[m])
        if not len(cations) and cap_nonbridging and max_caps_per_o > 0:
            caps.append(o_pos[k] * (1.0 + r_oh / np.linalg.norm(o_pos[k])))
    n_o, n_h = len(ox), len(caps)
    numbers_out = np.array([32] + [8] * n_o + [1] * n_h, dtype=np.int64)
    positions = np.vstack([np.zeros((1, 3)), o_pos, np.asarray(caps).reshape(-1, 3)])
    core = np.concatenate([[center], ox]).astype(np.int64)
    return Cluster(numbers_out, positions, n_o + 1, 4 - 2 * n_o + n_h, n_h, 0, core)


def dft_kbeta_sticks(cluster: Cluster, *, xc: str = "B3LYP", basis: str = "def2-SVP",
                     grid_level: int = 1, conv_tol: float = 1e-9, max_cycle: int = 100) -> dict:
    """Kβ valence-to-core sticks of the central Ge (atom 0) of a Ge(OH)n cluster.

    Parameters
    ----------
    cluster : Cluster
        From :func:`hydroxide_cluster` (central Ge at index 0, only Ge/O/H).
    xc : str, default="B3LYP"
        Exchange–correlation functional (PySCF name).
    basis : str, default="def2-SVP"
        Orbital basis; the density-fitting basis is PySCF's default for it.
    grid_level : int, default=1
        PySCF integration-grid level.
    conv_tol : float, default=1e-9
        SCF energy convergence (Hartree).
    max_cycle : int, default=100
        SCF iterations before a level-shifted second try.

    Returns
    -------
    dict
        ``energy`` (eV, ``ε_φ − ε_Ge1s``, ascending) and ``intensity`` (``|⟨1s|r|φ⟩|²`` in
        bohr², unnormalised) of the valence sticks; ``split`` (eV, Kβ''/Kβ2 boundary);
        ``gap`` (HOMO–LUMO gap, eV); ``eps_1s``, ``homo`` (eV, absolute orbital energies);
        ``core_top`` (eV, highest core level relative to ε_1s); ``n_scf_cycles``;
        ``energy_total`` (Hartree).

    Raises
    ------
    RuntimeError
        When the SCF does not converge or the core/valence partition is not clean.
    """
    from pyscf import dft, gto

    from ..features.moments import largest_gap_split

    mol = gto.M(atom=[(int(a), tuple(p)) for a, p in zip(cluster.numbers, cluster.positions)],
                basis=basis, charge=int(cluster.charge), spin=0, unit="Angstrom", verbose=0)
    mf = dft.RKS(mol).density_fit()
    mf.xc = xc
    mf.grids.level = int(grid_level)
    mf.conv_tol = conv_tol
    mf.max_cycle = max_cycle
    cycles = {"n": 0}
    mf.callback = lambda env: cycles.__setitem__("n", cycles["n"] + 1)
    mf.kernel()
    if not mf.converged:
        mf = mf.newton()
        mf.kernel()
        if not mf.converged:
            raise RuntimeError("Kohn-Sham SCF did not converge")
    eps = np.asarray(mf.mo_energy) * HARTREE_EV
    occ = np.flatnonzero(mf.mo_occ > 0)
    occ = occ[np.argsort(eps[occ], kind="stable")]
    n_o = int(np.count_nonzero(cluster.numbers == 8))
    n_core = N_GE_CORE_ORBITALS + n_o
    core, val = occ[:n_core], occ[n_core:]
    c = np.asarray(mf.mo_coeff)
    k1s = core[0]
    # the deepest level must be the Ge 1s: nearly all its weight on atom 0
    ao_atom = np.array([s[0] for s in mol.ao_labels(fmt=False)])
    s1e = mol.intor("int1e_ovlp")
    pop0 = float(c[ao_atom == 0, k1s] @ (s1e[ao_atom == 0] @ c[:, k1s]))
    if pop0 < 0.99:
        raise RuntimeError(f"deepest orbital is not the Ge 1s (Ge weight {pop0:.3f})")
    r = mol.intor("int1e_r")
    dip = np.einsum("xij,i,jk->xk", r, c[:, k1s], c[:, val])
    inten = np.sum(dip**2, axis=0)
    e = eps[val] - eps[k1s]
    order = np.argsort(e, kind="stable")
    e, inten = e[order], inten[order]
    core_top = float(eps[core[-1]] - eps[k1s])
    if core_top >= e[0]:
        raise RuntimeError("core and valence levels overlap")
    virt = np.flatnonzero(mf.mo_occ == 0)
    gap = float(eps[virt].min() - eps[occ].max()) if len(virt) else np.nan
    return {
        "energy": e,
        "intensity": inten,
        "split": float(largest_gap_split(e)),
        "gap": gap,
        "eps_1s": float(eps[k1s]),
        "homo": float(eps[occ].max()),
        "core_top": core_top,
        "n_scf_cycles": int(cycles["n"]),
        "energy_total": float(mf.e_tot),
    }
