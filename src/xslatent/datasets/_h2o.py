"""The bundled H2O O K-edge dataset (computed with PySCF; see :mod:`xslatent.simulate.h2o`)."""

from __future__ import annotations

import json

import h5py
import numpy as np

from .._validation import Options, validate_params
from ..data import Dataset
from ..exceptions import DataFormatError
from ._bundled import bundled_path

__all__ = ["load_h2o", "h2o_from_generator_file", "FEATURE_NAMES"]

FEATURE_NAMES = ["angle_HOH_deg", "r_OH_long_A", "r_OH_short_A"]
_HOW = ("Generate it with `xslatent simulate h2o --out datasets/h2o` and "
        "`xslatent simulate assemble h2o datasets/h2o src/xslatent/datasets/data/h2o.h5`.")


def _attr(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def h2o_from_generator_file(path, spectrum: str = "xes") -> Dataset:
    """Read one spectrum type of an assembled H2O generator file as a :class:`Dataset`.

    X: H–O–H angle (degrees), long and short O–H bond (Å). Y: the broadened spectrum on its
    100-point grid. Metadata: positions, snapshot/trajectory/frame indices, ΔSCF binding
    energy, stick spectra. ``groups`` is the trajectory index.
    """
    validate_params("load_h2o", {"spectrum": spectrum}, {"spectrum": [Options(("xes", "xas", "xps"))]})
    try:
        with h5py.File(path, "r") as f:
            if "structure" not in f or spectrum not in f:
                raise DataFormatError(f"{path} is not an assembled xslatent H2O file (no /structure or /{spectrum}).")
            X = f["structure/internal_coordinates"][()]
            Y = f[f"{spectrum}/spectrum"][()].astype(np.float64)
            energy = f[f"{spectrum}/energy"][()]
            traj = f["structure/trajectory_index"][()]
            meta = {
                "positions": f["structure/positions"][()],
                "snapshot_index": f["structure/snapshot_index"][()],
                "trajectory_index": traj,
                "frame_index": f["structure/frame_index"][()],
                "binding_energy": f["xps/binding_energy"][()],
            }
            if spectrum in ("xes", "xas"):
                meta["stick_energy"] = f[f"sticks/{spectrum}_energy"][()]
                meta["stick_intensity"] = f[f"sticks/{spectrum}_intensity"][()]
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
            attrs["n_excluded"] = int(f["excluded/snapshot_index"].shape[0])
    except OSError as exc:
        raise DataFormatError(f"{path} cannot be read as HDF5: {exc}") from None
    attrs = json.loads(json.dumps(attrs, default=str))
    attrs["spectrum"] = spectrum
    return Dataset(
        X, Y, feature_names=FEATURE_NAMES, target_names=[f"{spectrum}_{e:.3f}eV" for e in energy],
        energy=energy, groups=traj, metadata=meta, attrs=attrs, name=f"h2o-{spectrum}",
    )


def load_h2o(spectrum: str = "xes", *, return_X_y: bool = False):
    """The bundled H2O dataset: 10 000 hot-MD snapshots with O K-edge XES, XAS and XPS.

    Parameters
    ----------
    spectrum : {"xes", "xas", "xps"}, default="xes"
    return_X_y : bool, default=False
        Return ``(X, Y)`` instead of the :class:`Dataset`.

    Returns
    -------
    Dataset or (ndarray, ndarray)

    Raises
    ------
    FileNotFoundError
        If this installation carries no H2O data (with instructions to generate it).
    DataFormatError
        If the file fails its checksum.
    """
    data = h2o_from_generator_file(bundled_path("h2o.h5", how_to_make=_HOW), spectrum)
    return (data.X, data.Y) if return_X_y else data
