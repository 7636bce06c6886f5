"""O K-edge XPS, XES and XAS of one water geometry (PySCF B3LYP) and their broadening.

Physics of the H2O generator, stage 2 (:mod:`xslatent.simulate.h2o` runs it chunked and
resumable over MD frames): :func:`compute_snapshot` gives the sticks and the broadened
spectra of one geometry.

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
import math
from typing import Any

import numpy as np

from ._runner import ItemError

__all__ = [
    "XAS_GRID",
    "XES_GRID",
    "XPS_GRID",
    "broaden",
    "broadened_spectra",
    "compute_snapshot",
    "energy_grid",
    "make_basis",
    "xas_gaussian_fwhm",
]

HARTREE_EV = 27.211386245988  # CODATA 2018, as pyscf.data.nist.HARTREE2EV

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


def energy_grid(spec: tuple) -> np.ndarray:
    """The energies (eV) of a ``(start, stop, n_points)`` grid such as :data:`XES_GRID`."""
    return np.linspace(spec[0], spec[1], spec[2])


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
        "xps": broaden(be[..., None], np.ones(be.shape + (1,)), energy_grid(XPS_GRID), XPS_GAUSS_FWHM),
        "xes": broaden(xes_e, xes_i, energy_grid(XES_GRID), XES_GAUSS_FWHM),
        "xas": broaden(xas_e, xas_i, energy_grid(XAS_GRID), xas_gaussian_fwhm(xas_e, be[..., None])),
    }
