"""The bundled amorphous-GeO2 Ge Kβ dataset (see :mod:`xslatent.simulate.geo2`)."""

from __future__ import annotations

from ..data import Dataset
from ._bundled import bundled_path

__all__ = ["load_geo2"]

_HOW = ("Generate it with `xslatent simulate geo2 --out datasets/geo2` and assemble it into "
        "src/xslatent/datasets/data/geo2.h5.")


def load_geo2(*, return_X_y: bool = False):
    """Ge-centred local structures of amorphous GeO2 at 11 pressures with Kβ moments.

    ``X``: local Coulomb matrix (Ge + 16 nearest neighbours, 153 numbers); ``Y``: mean,
    std, skewness and excess kurtosis of the Kβ'' and Kβ2 lines; ``groups``: the
    melt-quench run of each site (66 runs: 6 replicas × 11 pressures; metadata
    ``run_index``), so that a grouped split (``train_test_split(by_group=True)``) keeps
    the correlated sites of one run on one side; metadata: nominal pressure
    (``pressure_gpa``), coordination number, neighbour distances and species, cluster
    diagnostics.

    Parameters
    ----------
    return_X_y : bool, default=False

    Returns
    -------
    Dataset or (ndarray, ndarray)
    """
    data = Dataset.load(bundled_path("geo2.h5", how_to_make=_HOW))
    # the file's groups are the pressures (also in metadata); the runs are the correlated units
    data = data._replace(groups=data.metadata["run_index"].copy())
    return (data.X, data.Y) if return_X_y else data
