"""Data model, HDF5 storage and standardizers.

:class:`Dataset` pairs structural features with spectra (plus names, energy grid, groups,
per-sample metadata and provenance) and reads/writes one HDF5 file; :func:`build_dataset`
makes one from structure files and spectrum files;
:class:`FeatureScaler` and :class:`GlobalSpectrumScaler` standardize features and spectra.
"""

from ._build import build_dataset
from ._dataset import Dataset
from ._scalers import FeatureScaler, GlobalSpectrumScaler, scaler_from_dict

__all__ = ["Dataset", "build_dataset", "FeatureScaler", "GlobalSpectrumScaler", "scaler_from_dict"]
