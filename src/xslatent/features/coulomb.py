"""Local Coulomb matrices of atom-centred environments in periodic (or finite) structures.

A site is described by the Coulomb matrix (Rupp et al., PRL 108, 058301, 2012) of the
centre atom and its ``n_neighbors`` nearest neighbours, ordered centre first and then by
distance from the centre. Distances are minimum-image distances in a periodic cell, so
every neighbour is represented by its closest periodic image. Entries follow dscribe's
``CoulombMatrix``::

    M_ii = 0.5 Z_i^2.4,        M_ij = Z_i Z_j / r_ij   (r in Å)

and the feature vector is the upper triangle including the diagonal, row by row
(``numpy.triu_indices``): ``(n + 1)(n + 2) / 2`` numbers, 153 for 16 neighbours.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..exceptions import InvalidParameterError

__all__ = [
    "LocalEnvironment",
    "coulomb_matrix_feature_names",
    "local_coulomb_matrix",
    "local_environment",
    "minimum_image_vectors",
]


class LocalEnvironment(NamedTuple):
    """Nearest neighbours of a set of centre atoms.

    Attributes
    ----------
    indices : ndarray of shape (n_centers, n_neighbors)
        Atom indices of the neighbours, nearest first (ties broken by index).
    distances : ndarray of shape (n_centers, n_neighbors)
        Minimum-image distances in Å.
    vectors : ndarray of shape (n_centers, n_neighbors, 3)
        Minimum-image vectors from the centre to each neighbour, in Å.
    numbers : ndarray of shape (n_centers, n_neighbors)
        Atomic numbers of the neighbours.
    """

    indices: np.ndarray
    distances: np.ndarray
    vectors: np.ndarray
    numbers: np.ndarray


def _unpack(structure: Any, numbers: Any, cell: Any, pbc: Any, owner: str):
    """Return (numbers, positions, cell or None) from an ase.Atoms or from arrays."""
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is optional for the array interface
        Atoms = ()
    if Atoms and isinstance(structure, Atoms):
        if numbers is not None or cell is not None:
            raise InvalidParameterError(
                f"The 'numbers' and 'cell' parameters of {owner} must be None when an "
                f"ase.Atoms is given. Got numbers={numbers is not None}, cell={cell is not None}."
            )
        z = structure.get_atomic_numbers()
        pos = structure.get_positions()
        if np.all(structure.pbc):
            cell = np.asarray(structure.cell[:], dtype=np.float64)
        elif np.any(structure.pbc):
            raise InvalidParameterError(
                f"The 'structure' argument of {owner} must be periodic in all three directions "
                f"or in none. Got pbc={structure.pbc.tolist()} instead."
            )
        else:
            cell = None
        return np.asarray(z, dtype=np.int64), np.asarray(pos, dtype=np.float64), cell
    pos = np.asarray(structure, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise InvalidParameterError(
            f"The 'structure' argument of {owner} must be an ase.Atoms or positions of shape "
            f"(n_atoms, 3). Got shape {pos.shape} instead."
        )
    if numbers is None:
        raise InvalidParameterError(
            f"The 'numbers' parameter of {owner} must be given with a positions array. Got None."
        )
    z = np.asarray(numbers, dtype=np.int64)
    if z.shape != (pos.shape[0],):
        raise InvalidParameterError(
            f"The 'numbers' parameter of {owner} must have one entry per atom ({pos.shape[0]}). "
            f"Got shape {z.shape} instead."
        )
    if cell is not None and pbc is not False:
        cell = np.asarray(cell, dtype=np.float64)
        if cell.shape == (3,):
            cell = np.diag(cell)
        if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-12:
            raise InvalidParameterError(
                f"The 'cell' parameter of {owner} must be a non-singular (3, 3) matrix or three "
                f"box lengths. Got shape {cell.shape} instead."
            )
    else:
        cell = None
    return z, pos, cell


def minimum_image_vectors(
    positions: Any, centers: Any, cell: Any = None, *, targets: Any = None
) -> np.ndarray:
    """Minimum-image vectors from each centre to every atom.

    Parameters
    ----------
    positions : array-like of shape (n_atoms, 3)
        Cartesian positions in Å.
    centers : array-like of int
        Indices of the centre atoms.
    cell : array-like of shape (3, 3) or (3,), optional
        Lattice vectors as rows (or orthorhombic box lengths); ``None`` for a finite system.
    targets : array-like of int, optional
        Atoms to measure to (default: all).

    Returns
    -------
    ndarray of shape (n_centers, n_targets, 3)
        ``r_target − r_centre`` for the nearest periodic image of each target. The 27 images
        in the neighbouring cells are searched after wrapping the fractional difference into
        [-0.5, 0.5), which is exact for any cell where the nearest image lies in those cells
        (all cells that are not extremely skewed).
    """
    pos = np.asarray(positions, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.int64).reshape(-1)
    tgt = pos if targets is None else pos[np.asarray(targets, dtype=np.int64)]
    d = tgt[None, :, :] - pos[centers][:, None, :]
    if cell is None:
        return d
    cell = np.asarray(cell, dtype=np.float64)
    if cell.shape == (3,):
        cell = np.diag(cell)
    frac = d @ np.linalg.inv(cell)
    frac -= np.round(frac)
    if np.allclose(cell, np.diag(np.diag(cell))):
        return frac @ cell  # orthorhombic: the rounded difference is the minimum image
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)],
                      dtype=np.float64)
    cand = (frac[:, :, None, :] + shifts[None, None]) @ cell  # (c, t, 27, 3)
    best = np.argmin(np.einsum("ctsk,ctsk->cts", cand, cand), axis=2)
    return np.take_along_axis(cand, best[:, :, None, None], axis=2)[:, :, 0]


def local_environment(
    structure: Any,
    centers: Any,
    n_neighbors: int = 16,
    *,
    numbers: Any = None,
    cell: Any = None,
    pbc: bool | None = None,
    neighbor_numbers: Any = None,
) -> LocalEnvironment:
    """The ``n_neighbors`` nearest neighbours of each centre atom (minimum image).

    Parameters
    ----------
    structure : ase.Atoms or array-like of shape (n_atoms, 3)
        The structure, or Cartesian positions in Å (then give ``numbers`` and, if periodic,
        ``cell``).
    centers : array-like of int
        Indices of the centre atoms.
    n_neighbors : int, default=16
        Neighbours per centre (the centre itself is excluded).
    numbers : array-like of int, optional
        Atomic numbers, with a positions array.
    cell : array-like of shape (3, 3) or (3,), optional
        Lattice vectors as rows, with a positions array; ``None`` for a finite system.
    pbc : bool, optional
        ``False`` ignores ``cell``.
    neighbor_numbers : array-like of int, optional
        Only atoms with these atomic numbers count as neighbours; ``None`` counts all.

    Returns
    -------
    LocalEnvironment
    """
    owner = "local_environment"
    z, pos, cell = _unpack(structure, numbers, cell, pbc, owner)
    centers = np.asarray(centers, dtype=np.int64).reshape(-1)
    n_atoms = pos.shape[0]
    if centers.size and (centers.min() < 0 or centers.max() >= n_atoms):
        raise InvalidParameterError(
            f"The 'centers' parameter of {owner} must hold atom indices in [0, {n_atoms - 1}]. "
            f"Got values from {centers.min()} to {centers.max()} instead."
        )
    allowed = np.ones(n_atoms, dtype=bool)
    if neighbor_numbers is not None:
        allowed = np.isin(z, np.asarray(neighbor_numbers, dtype=np.int64).reshape(-1))
    n_max = int(allowed.sum()) - int(np.any(allowed[centers])) if centers.size else n_atoms - 1
    if not isinstance(n_neighbors, (int, np.integer)) or not 1 <= n_neighbors <= n_max:
        which = "" if neighbor_numbers is None else f" (atoms with numbers {neighbor_numbers!r})"
        raise InvalidParameterError(
            f"The 'n_neighbors' parameter of {owner} must be an int in the range "
            f"[1, {n_max}]{which}. Got {n_neighbors!r} instead."
        )
    vec = minimum_image_vectors(pos, centers, cell)
    dist = np.sqrt(np.einsum("ctk,ctk->ct", vec, vec))
    dist[np.arange(centers.size), centers] = np.inf  # exclude the centre itself
    dist[:, ~allowed] = np.inf
    # stable sort: equal distances keep index order, so the result is deterministic
    order = np.argsort(dist, axis=1, kind="stable")[:, :n_neighbors]
    d = np.take_along_axis(dist, order, axis=1)
    v = np.take_along_axis(vec, order[:, :, None], axis=1)
    return LocalEnvironment(order, d, v, z[order])


def _coulomb_from_cluster(z: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Full Coulomb matrices (c, n, n) of clusters with numbers z (c, n) and positions vec."""
    diff = vec[:, :, None, :] - vec[:, None, :, :]
    r = np.sqrt(np.einsum("cijk,cijk->cij", diff, diff))
    zz = z[:, :, None].astype(np.float64) * z[:, None, :]
    n = z.shape[1]
    eye = np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        m = np.where(eye[None], 0.0, zz / np.where(eye[None], 1.0, r))
    idx = np.arange(n)
    m[:, idx, idx] = 0.5 * z.astype(np.float64) ** 2.4
    return m


def local_coulomb_matrix(
    structure: Any,
    centers: Any,
    n_neighbors: int = 16,
    *,
    numbers: Any = None,
    cell: Any = None,
    pbc: bool | None = None,
    return_environment: bool = False,
    flatten: bool = True,
):
    """Coulomb matrix of each centre atom and its ``n_neighbors`` nearest neighbours.

    Row and column 0 are the centre; the others are the neighbours by increasing
    minimum-image distance from the centre (ties broken by atom index). Distances between two
    neighbours are measured between the images chosen relative to the centre, i.e. within the
    local cluster, as dscribe's ``CoulombMatrix`` does for the cut-out cluster.

    Parameters
    ----------
    structure : ase.Atoms or array-like of shape (n_atoms, 3)
        The structure, or Cartesian positions in Å (then give ``numbers`` and ``cell``).
    centers : array-like of int
        Indices of the centre atoms.
    n_neighbors : int, default=16
        Neighbours per centre.
    numbers, cell, pbc
        With a positions array: atomic numbers, lattice vectors (rows) or box lengths, and
        ``pbc=False`` to ignore the cell.
    return_environment : bool, default=False
        Also return the :class:`LocalEnvironment`.
    flatten : bool, default=True
        Return the upper triangle including the diagonal, row by row (``(n+1)(n+2)/2``
        numbers per centre); otherwise the full ``(n+1, n+1)`` matrices.

    Returns
    -------
    features : ndarray of shape (n_centers, (n+1)(n+2)/2) or (n_centers, n+1, n+1)
    environment : LocalEnvironment
        Only with ``return_environment=True``.

    Examples
    --------
    >>> import numpy as np
    >>> pos = np.array([[0.0, 0, 0], [1.75, 0, 0], [0, 1.75, 0]])
    >>> local_coulomb_matrix(pos, [0], n_neighbors=2, numbers=[32, 8, 8]).shape
    (1, 6)
    """
    env = local_environment(structure, centers, n_neighbors, numbers=numbers, cell=cell, pbc=pbc)
    z_all, _, _ = _unpack(structure, numbers, cell, pbc, "local_coulomb_matrix")
    centers = np.asarray(centers, dtype=np.int64).reshape(-1)
    z = np.concatenate([z_all[centers][:, None], env.numbers], axis=1)
    vec = np.concatenate([np.zeros((centers.size, 1, 3)), env.vectors], axis=1)
    m = _coulomb_from_cluster(z, vec)
    if flatten:
        iu = np.triu_indices(n_neighbors + 1)
        m = m[:, iu[0], iu[1]]
    return (m, env) if return_environment else m


def coulomb_matrix_feature_names(n_neighbors: int = 16) -> list[str]:
    """Names ``cm_i_j`` (i ≤ j, 0 = centre) of the flattened upper triangle."""
    iu = np.triu_indices(n_neighbors + 1)
    width = len(str(n_neighbors))
    return [f"cm_{i:0{width}d}_{j:0{width}d}" for i, j in zip(*iu)]
