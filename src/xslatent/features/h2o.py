"""Internal coordinates of a water molecule.

The H2O data sets describe each snapshot by three numbers: the H–O–H angle and the two
O–H bond lengths, sorted so that the longer bond comes first. Sorting removes the
permutational symmetry of the two hydrogens, which the spectra do not see. This is the
general absorber descriptor of :mod:`xslatent.features.internal` with two neighbours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..exceptions import InvalidParameterError
from .internal import internal_coordinates_from_vectors

__all__ = ["INTERNAL_COORDINATE_NAMES", "internal_coordinates"]

#: Column names of :func:`internal_coordinates` output, with units.
INTERNAL_COORDINATE_NAMES = ("angle_deg", "r_long_angstrom", "r_short_angstrom")


def _as_positions(structures: Any) -> np.ndarray:
    """Return positions as a float array of shape (3, 3) or (n, 3, 3)."""
    try:
        from ase import Atoms
    except ImportError:  # pragma: no cover - ase is a declared dependency of simulate
        Atoms = ()

    def one(atoms) -> np.ndarray:
        symbols = atoms.get_chemical_symbols()
        if symbols != ["O", "H", "H"]:
            raise InvalidParameterError(
                "The 'positions' argument of internal_coordinates must hold atoms ordered "
                f"O, H, H. Got {''.join(symbols)} instead."
            )
        return atoms.get_positions()

    if Atoms and isinstance(structures, Atoms):
        return one(structures)
    if Atoms and isinstance(structures, (list, tuple)) and structures and all(
        isinstance(a, Atoms) for a in structures
    ):
        return np.stack([one(a) for a in structures])
    try:
        pos = np.asarray(structures, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            "The 'positions' argument of internal_coordinates must be an array of shape "
            f"(3, 3) or (n, 3, 3), an ase.Atoms or a list of them. Got {type(structures).__name__}"
            f" that cannot be converted: {exc}"
        ) from None
    if pos.shape[-2:] != (3, 3) or pos.ndim not in (2, 3):
        raise InvalidParameterError(
            "The 'positions' argument of internal_coordinates must have shape (3, 3) or "
            f"(n, 3, 3). Got shape {pos.shape} instead."
        )
    if not np.all(np.isfinite(pos)):
        raise InvalidParameterError(
            "The 'positions' argument of internal_coordinates must contain only finite values."
        )
    return pos


def internal_coordinates(positions: Any) -> np.ndarray:
    """H–O–H angle and the longer and shorter O–H distance of water geometries.

    Parameters
    ----------
    positions : array-like of shape (3, 3) or (n, 3, 3), ase.Atoms or list of ase.Atoms
        Cartesian coordinates in Å with atoms ordered O, H, H.

    Returns
    -------
    coords : ndarray of shape (3,) or (n, 3)
        Columns are the angle in degrees, the long O–H distance and the short O–H distance,
        both in Å (see ``INTERNAL_COORDINATE_NAMES``). A single geometry gives a 1-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from xslatent.features.h2o import internal_coordinates
    >>> pos = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.9, 0.0]])
    >>> internal_coordinates(pos)
    array([90. ,  1. ,  0.9])
    """
    pos = _as_positions(positions)
    single = pos.ndim == 2
    pos = pos.reshape(-1, 3, 3)
    try:
        out = internal_coordinates_from_vectors(pos[:, 1:] - pos[:, :1])
    except InvalidParameterError:
        raise InvalidParameterError(
            "The 'positions' argument of internal_coordinates has a hydrogen on top of the oxygen."
        ) from None
    return out[0] if single else out
