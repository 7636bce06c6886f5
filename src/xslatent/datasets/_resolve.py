"""One way to name data on the command line: a bundled set or a Dataset file."""

from __future__ import annotations

from pathlib import Path

from ..data import Dataset
from ..exceptions import InvalidParameterError

__all__ = ["load_dataset"]

BUNDLED = ("h2o:xes", "h2o:xas", "h2o:xps", "geo2")


def load_dataset(spec, base=None) -> Dataset:
    """``"h2o:xes"`` / ``"h2o:xas"`` / ``"h2o:xps"`` / ``"geo2"`` (bundled) or a Dataset HDF5 path.

    Relative paths are taken relative to ``base`` when given.
    """
    spec = str(spec)
    if spec.startswith("h2o:"):
        if spec not in BUNDLED:
            raise InvalidParameterError(f"The dataset name must be one of {BUNDLED} or a file path. Got {spec!r} instead.")
        from ._h2o import load_h2o

        return load_h2o(spec.split(":", 1)[1])
    if spec == "geo2":
        from ._geo2 import load_geo2

        return load_geo2()
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    return Dataset.load(path)
