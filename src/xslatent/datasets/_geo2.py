"""The bundled amorphous-GeO2 Ge Kβ dataset (see :mod:`xslatent.simulate.geo2`)."""

from __future__ import annotations

from ..data import Dataset
from ._bundled import bundled_path

__all__ = ["load_geo2", "load_geo2_spectra"]

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


def load_geo2_spectra():
    """Broadened Ge Kβ spectra of a sample of the :func:`load_geo2` sites (paper Fig. 2d).

    The bundled GeO2 file stores the sites' stick moments only; this sample (the same number
    of sites at each of the 11 pressures, shared evenly over each pressure's melt-quench
    runs) was recomputed from the committed structures with the file's own GFN1-xTB
    settings, and its stick moments equal the bundled ones (``attrs["max_moment_difference"]``).
    Made by ``examples/geo2_fig2d_spectra.py``
    (:mod:`xslatent.simulate.geo2_spectra`).

    Returns
    -------
    Dataset
        ``X``: local Coulomb matrices (153); ``Y``: spectra (unit-area Gaussians of FWHM
        ``attrs["spectrum_fwhm"]`` eV per stick) on ``energy`` (eV, relative to the
        central-Ge 4s level; 451 points from −30 to 15 eV); ``groups``: nominal pressure
        (GPa); metadata ``site_index`` (row of the site in :func:`load_geo2`),
        ``run_index``, ``snapshot_index``, ``atom_index``, ``moments_sticks`` (8, the
        :func:`load_geo2` targets), ``moments_broadened`` (8) and ``cluster_split`` (eV, the
        Kβ''/Kβ2 boundary).
    """
    return Dataset.load(bundled_path("geo2_spectra.h5", how_to_make=_HOW_SPECTRA))


_HOW_SPECTRA = "Make it with `python examples/geo2_fig2d_spectra.py` in a source checkout."
