"""Internal coordinates of an absorbing atom's nearest neighbours.

A site is described by the distances from the absorbing atom to its ``n`` nearest
neighbours (minimum image in a periodic cell) and the angles neighbour–absorber–neighbour
between every pair of them. The columns are the angles first (pairs ``(i, j)``, ``i < j``,
neighbours ranked nearest first) and then the distances, *longest first*. Sorting by
distance removes the permutational symmetry of equivalent neighbours, which a spectrum
does not see.

With ``n = 2`` on water (absorber O, neighbours H) the three columns are exactly the H2O
data set's angle H–O–H, long O–H and short O–H (:func:`xslatent.features.h2o.internal_coordinates`
is this function on the molecule's two O–H vectors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError
from .coulomb import local_environment

__all__ = [
    "internal_coordinates_from_vectors",
    "internal_feature_names",
    "local_internal_coordinates",
]


def internal_coordinates_from_vectors(vectors: Any) -> np.ndarray:
    """Angles between and lengths of the absorber → neighbour vectors of each site.

    Parameters
    ----------
    vectors : array-like of shape (n_sites, n, 3)
        Vectors from the absorber to its ``n >= 1`` neighbours, in Å, in any order.

    Returns
    -------
    ndarray of shape (n_sites, n (n - 1) / 2 + n)
        Angles in degrees between the neighbours ranked by distance (pairs ``(i, j)``,
        ``i < j``, nearest first), then the ``n`` distances in Å, longest first.

    Raises
    ------
    InvalidParameterError
        If a neighbour sits on the absorber (zero distance).
    """
    vec = np.asarray(vectors, dtype=np.float64)
    if vec.ndim != 3 or vec.shape[2] != 3 or vec.shape[1] < 1:
        raise InvalidParameterError(
            "The 'vectors' argument of internal_coordinates_from_vectors must have shape "
            f"(n_sites, n_neighbors >= 1, 3). Got shape {vec.shape} instead."
        )
    r = np.linalg.norm(vec, axis=2)
    if np.any(r == 0):
        site = int(np.flatnonzero(np.any(r == 0, axis=1))[0])
        raise InvalidParameterError(
            "The 'vectors' argument of internal_coordinates_from_vectors must have non-zero "
            f"lengths. Site {site} has a neighbour on top of the absorber."
        )
    order = np.argsort(r, axis=1, kind="stable")
    r = np.take_along_axis(r, order, axis=1)
    vec = np.take_along_axis(vec, order[:, :, None], axis=1)
    n = vec.shape[1]
    angles = []
    for i in range(n):
        for j in range(i + 1, n):
            cos = np.einsum("ij,ij->i", vec[:, i], vec[:, j]) / (r[:, i] * r[:, j])
            angles.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.column_stack(angles + [r[:, k] for k in range(n - 1, -1, -1)])


def internal_feature_names(
    n_neighbors: int = 2, absorber: str = "A", neighbor: str = "X"
) -> list[str]:
    """Column names of :func:`local_internal_coordinates`, with units.

    Parameters
    ----------
    n_neighbors : int, default=2
    absorber, neighbor : str
        Element symbols used in the names.

    Returns
    -------
    list of str
        For ``n_neighbors=2`` ``angle_XAX_deg, r_AX_long_A, r_AX_short_A`` (the names of the
        bundled H2O data for A=O, X=H); otherwise ``angle_XAX_<i><j>_deg`` for the neighbour
        pairs (ranked nearest first, 1-based) and ``r_AX_<k>_A`` from the farthest ``k = n``
        to the nearest ``k = 1``.
    """
    n = int(n_neighbors)
    if n == 2:
        return [f"angle_{neighbor}{absorber}{neighbor}_deg", f"r_{absorber}{neighbor}_long_A",
                f"r_{absorber}{neighbor}_short_A"]
    angles = [f"angle_{neighbor}{absorber}{neighbor}_{i + 1}{j + 1}_deg"
              for i in range(n) for j in range(i + 1, n)]
    return angles + [f"r_{absorber}{neighbor}_{k}_A" for k in range(n, 0, -1)]


def local_internal_coordinates(
    structure: Any,
    centers: Any,
    n_neighbors: int = 2,
    *,
    neighbor_numbers: Any = None,
) -> np.ndarray:
    """Internal coordinates of each centre atom's ``n_neighbors`` nearest neighbours.

    Parameters
    ----------
    structure : ase.Atoms
        The structure; a cell periodic in all three directions uses minimum-image distances.
    centers : array-like of int
        Indices of the absorbing atoms.
    n_neighbors : int, default=2
        Neighbours per centre.
    neighbor_numbers : array-like of int, optional
        Only atoms with these atomic numbers count as neighbours (e.g. ``[1]`` for the
        hydrogens around a water oxygen); ``None`` counts every atom.

    Returns
    -------
    ndarray of shape (n_centers, n_neighbors (n_neighbors - 1) / 2 + n_neighbors)
        See :func:`internal_coordinates_from_vectors`; names from :func:`internal_feature_names`.

    Examples
    --------
    >>> from ase import Atoms
    >>> water = Atoms("OHH", positions=[[0, 0, 0], [1.0, 0, 0], [0, 0.9, 0]])
    >>> local_internal_coordinates(water, [0]).round(6).tolist()
    [[90.0, 1.0, 0.9]]
    """
    env = local_environment(structure, centers, n_neighbors, neighbor_numbers=neighbor_numbers)
    return internal_coordinates_from_vectors(env.vectors)
