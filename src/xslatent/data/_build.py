"""Build a :class:`Dataset` from structure files and spectrum files.

Structures are read with ``ase.io.read(path, index=":")`` (any format ASE reads); every
absorbing atom of every frame is one sample, in the order frame by frame, atom index
within a frame. Spectra come from :func:`xslatent.io.read_spectra`: one spectrum per
sample, matched by order or by a name stored in each frame's ``info``.
"""

from __future__ import annotations

import datetime
import glob
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..exceptions import DataFormatError, InvalidParameterError
from ._dataset import Dataset

__all__ = ["build_dataset", "DESCRIPTORS"]

logger = logging.getLogger(__name__)

#: Descriptors understood by :func:`build_dataset`.
DESCRIPTORS = ("internal", "coulomb", "soap")
_DEFAULT_NEIGHBORS = {"internal": 2, "coulomb": 16}
_SOAP_DEFAULTS = {"r_cut": 5.0, "n_max": 4, "l_max": 3, "sigma": 0.5}
_OWNER = "build_dataset"


def _structure_files(structures: Any) -> list[Path]:
    items = [structures] if isinstance(structures, (str, os.PathLike)) else list(structures)
    files: list[Path] = []
    for item in items:
        text = str(item)
        if any(c in text for c in "*?["):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise DataFormatError(f"No structure files match {text!r}.")
            files.extend(Path(m) for m in matched)
        else:
            files.append(Path(text))
    for f in files:
        if not f.is_file():
            raise DataFormatError(f"Structure file {str(f)!r} does not exist or is not a file.")
    return files


def _read_frames(path: Path, index: str):
    try:
        import ase.io
    except ImportError:  # pragma: no cover - ase is the 'data' extra
        raise ImportError("build_dataset reads structures with ASE: pip install 'xslatent[data]'.") from None

    try:
        frames = ase.io.read(str(path), index=index)
    except Exception as exc:  # ase raises many types for malformed files
        raise DataFormatError(f"{path} cannot be read by ase.io.read: {type(exc).__name__}: {exc}") from None
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        raise DataFormatError(f"{path} holds no frames (index={index!r}).")
    return frames


def _sites(atoms, absorber, where: str) -> np.ndarray:
    if isinstance(absorber, str):
        sites = np.flatnonzero(np.asarray(atoms.get_chemical_symbols()) == absorber)
        if sites.size == 0:
            raise DataFormatError(
                f"{where} has no {absorber} atom (absorber={absorber!r}); its elements are "
                f"{sorted(set(atoms.get_chemical_symbols()))}."
            )
        return sites
    sites = np.asarray(absorber, dtype=np.int64).reshape(-1)
    if sites.min() < -len(atoms) or sites.max() >= len(atoms):
        raise DataFormatError(
            f"{where} has {len(atoms)} atoms; absorber index(es) {sites.tolist()} do not exist."
        )
    return np.where(sites < 0, sites + len(atoms), sites)


def _check_absorber(absorber: Any) -> Any:
    from ase.data import chemical_symbols

    if isinstance(absorber, str):
        if absorber not in chemical_symbols[1:]:
            raise InvalidParameterError(
                f"The 'absorber' parameter of {_OWNER} must be an element symbol (e.g. 'O') or "
                f"atom index(es). Got {absorber!r} instead."
            )
        return absorber
    idx = np.asarray(absorber)
    if idx.size == 0 or idx.dtype.kind not in "iu":
        raise InvalidParameterError(
            f"The 'absorber' parameter of {_OWNER} must be an element symbol (e.g. 'O') or "
            f"atom index(es). Got {absorber!r} instead."
        )
    return [int(i) for i in idx.reshape(-1)]


class _Descriptor:
    """One descriptor's settings, names and per-frame computation."""

    def __init__(self, kind, n_neighbors, neighbors, soap, frames, absorber_label):
        from ase.data import atomic_numbers

        if kind not in DESCRIPTORS:
            raise InvalidParameterError(
                f"The 'features' parameter of {_OWNER} must be one of {', '.join(map(repr, DESCRIPTORS))}. "
                f"Got {kind!r} instead."
            )
        self.kind = kind
        if neighbors is not None:
            neighbors = [neighbors] if isinstance(neighbors, str) else list(neighbors)
            bad = [s for s in neighbors if s not in atomic_numbers]
            if bad:
                raise InvalidParameterError(
                    f"The 'neighbors' parameter of {_OWNER} must be element symbols. Got {bad!r}."
                )
        self.neighbors = neighbors
        self.numbers = None if neighbors is None else [atomic_numbers[s] for s in neighbors]
        self.settings: dict = {"features": kind}
        if kind == "soap":
            if n_neighbors is not None or neighbors is not None:
                raise InvalidParameterError(
                    f"The 'n_neighbors' and 'neighbors' parameters of {_OWNER} do not apply to "
                    f"features='soap' (use soap={{'r_cut': ...}}). Got n_neighbors={n_neighbors!r}, "
                    f"neighbors={neighbors!r}."
                )
            self._init_soap(dict(soap or {}), frames)
            return
        if soap is not None:
            raise InvalidParameterError(
                f"The 'soap' parameter of {_OWNER} applies to features='soap' only. Got "
                f"features={kind!r} and soap={soap!r}."
            )
        n = _DEFAULT_NEIGHBORS[kind] if n_neighbors is None else n_neighbors
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidParameterError(
                f"The 'n_neighbors' parameter of {_OWNER} must be an int >= 1. Got {n_neighbors!r} instead."
            )
        self.n = int(n)
        self.settings.update(n_neighbors=self.n, neighbors=neighbors)
        if kind == "internal":
            from ..features.internal import internal_feature_names

            nb = neighbors[0] if neighbors and len(neighbors) == 1 else "X"
            self.names = internal_feature_names(self.n, absorber_label, nb)
        else:
            from ..features.coulomb import coulomb_matrix_feature_names

            self.names = coulomb_matrix_feature_names(self.n)

    def _init_soap(self, params: dict, frames):
        from dscribe.descriptors import SOAP

        unknown = sorted(set(params) - {"r_cut", "n_max", "l_max", "sigma", "species", "rbf"})
        if unknown:
            raise InvalidParameterError(
                f"The 'soap' parameter of {_OWNER} takes r_cut, n_max, l_max, sigma, species, rbf. "
                f"Got unknown key(s) {unknown}."
            )
        species = params.pop("species", None) or sorted(
            {s for f in frames for s in f.get_chemical_symbols()})
        periodic = any(bool(np.all(f.pbc)) for f in frames)
        cfg = {**_SOAP_DEFAULTS, **params, "species": list(species), "periodic": periodic}
        try:
            self._soap = SOAP(**cfg)
        except (ValueError, TypeError) as exc:
            raise InvalidParameterError(f"The 'soap' parameter of {_OWNER} is invalid: {exc}") from None
        self.settings.update(soap=cfg)
        self.names = [f"soap_{i}" for i in range(self._soap.get_number_of_features())]

    def __call__(self, atoms, sites, where: str) -> np.ndarray:
        try:
            if self.kind == "soap":
                return np.asarray(self._soap.create(atoms, centers=sites.tolist()), dtype=np.float64).reshape(
                    len(sites), -1)
            if self.kind == "internal":
                from ..features.internal import local_internal_coordinates

                return local_internal_coordinates(atoms, sites, self.n, neighbor_numbers=self.numbers)
            from ..features.coulomb import local_coulomb_matrix

            z = atoms.get_atomic_numbers()
            if self.numbers is not None:  # absorber + chosen neighbour species only
                keep = np.isin(z, self.numbers)
                keep[sites] = True
                sub = atoms[keep]
                return local_coulomb_matrix(sub, np.searchsorted(np.flatnonzero(keep), sites), self.n)
            return local_coulomb_matrix(atoms, sites, self.n)
        except InvalidParameterError as exc:
            raise DataFormatError(f"{where}: {exc}") from None


def _file_record(path) -> dict:
    from ..datasets._bundled import sha256sum

    p = Path(path)
    return {"path": str(p), "size": p.stat().st_size, "sha256": sha256sum(p)}


def _moments(energy: np.ndarray, Y: np.ndarray, windows) -> tuple[np.ndarray, list[str]]:
    from ..features.moments import MOMENT_NAMES, line_moments

    items = list(windows.items()) if isinstance(windows, Mapping) else [
        (f"line{j + 1}", w) for j, w in enumerate(windows)]
    cols, names = [], []
    for label, window in items:
        try:
            lo, hi = (float(v) for v in window)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The 'moments' parameter of {_OWNER} must be (low, high) energy windows. Got "
                f"{window!r} for {label!r}."
            ) from None
        mask = (energy >= lo) & (energy < hi)
        if lo >= hi or mask.sum() < 2:
            raise InvalidParameterError(
                f"The 'moments' window {label!r} ({lo:g}, {hi:g}) must contain at least 2 points "
                f"of the energy grid ({energy[0]:g} to {energy[-1]:g} eV). Got {int(mask.sum())}."
            )
        cols.append(line_moments(energy, Y, np.broadcast_to(mask, Y.shape)))
        names += [f"{label}_{m}" for m in MOMENT_NAMES]
    return np.concatenate(cols, axis=1), names


def build_dataset(
    structures: Any,
    spectra: Any,
    *,
    absorber: str | int | Sequence[int],
    features: str = "internal",
    n_neighbors: int | None = None,
    neighbors: str | Sequence[str] | None = None,
    soap: Mapping | None = None,
    energy: Any = None,
    grid: Any = None,
    columns: Sequence[int] | None = None,
    match: str = "order",
    moments: Any = None,
    groups: str | None = "file",
    skip_bad: bool = False,
    index: str = ":",
    name: str = "",
) -> Dataset:
    """Structures + spectra → :class:`Dataset` with descriptors, groups and provenance.

    Parameters
    ----------
    structures : str, path, or list of them
        Structure files (or glob patterns) in any format ``ase.io.read`` reads (extxyz,
        VASP XDATCAR, CP2K, ASE .traj, ...). Each file is one trajectory.
    spectra : str or path
        A table, ``.npy`` / HDF5 array, directory or glob of two-column files; see
        :func:`xslatent.io.read_spectra`.
    absorber : str or int or sequence of int
        Element symbol (every such atom of every frame is one sample) or atom index(es)
        taken in every frame.
    features : {"internal", "coulomb", "soap"}, default="internal"
        ``internal``: sorted distances to the ``n_neighbors`` nearest neighbours and the
        angles between them (:mod:`xslatent.features.internal`); ``coulomb``: local sorted
        Coulomb matrix (:mod:`xslatent.features.coulomb`); ``soap``: dscribe's SOAP at the
        absorber. Periodic cells use minimum-image distances.
    n_neighbors : int, optional
        Neighbours for ``internal`` (default 2) and ``coulomb`` (default 16).
    neighbors : str or list of str, optional
        Element(s) that count as neighbours (``"H"`` for water's O–H geometry); None: all.
    soap : dict, optional
        dscribe SOAP settings (``r_cut``, ``n_max``, ``l_max``, ``sigma``, ``species``, ``rbf``);
        defaults r_cut=5, n_max=4, l_max=3, sigma=0.5, all species present.
    energy : str or array-like, optional
        Energy grid of an array file of spectra.
    grid : str or array-like, optional
        Interpolate every spectrum onto this grid (``"START:STOP:NUM"``, a file or an array).
    columns : (int, int), optional
        Energy and intensity columns of two-column spectrum files.
    match : str, default="order"
        ``"order"``: the i-th spectrum belongs to the i-th sample. ``"info:KEY"``: a
        spectrum's name (file stem, see :func:`xslatent.io.read_spectra`) equals
        ``str(atoms.info[KEY])``, or ``"<info>_<atom index>"`` when a frame has several
        absorbers.
    moments : sequence of (low, high) or dict of name to (low, high), optional
        Replace each spectrum by the mean, std, skewness and excess kurtosis of the lines in
        these energy windows (:func:`xslatent.features.moments.line_moments`).
    groups : {"file"} or "info:KEY" or None, default="file"
        Group label per sample for grouped splits: the structure file (trajectory; its stem,
        or its path when stems repeat), or a value of each frame's ``info``; None records
        no groups.
    skip_bad : bool, default=False
        Drop samples whose spectrum or descriptor has NaN/inf (logged, and listed in
        ``attrs["skipped"]``) instead of raising.
    index : str, default=":"
        Frames to read from every structure file (``ase.io.read`` index).
    name : str, default=""
        Name of the data set.

    Returns
    -------
    Dataset
        ``X`` descriptors, ``Y`` spectra (or moments), ``energy`` (None with moments),
        ``groups``, ``metadata`` (``file_index``, ``frame_index``, ``atom_index``,
        ``spectrum_name``) and ``attrs`` with the provenance: input files with sizes and
        sha256, descriptor settings, package versions, skipped samples.

    Raises
    ------
    DataFormatError
        Unreadable files, a frame without the absorber, spectrum and sample counts that do
        not match, spectra with NaN (without ``skip_bad``), energy grids that are not
        increasing or differ between files (without ``grid``).
    InvalidParameterError
        Parameters outside their allowed values.

    Examples
    --------
    >>> ds = build_dataset("md.extxyz", "spectra.csv", absorber="O", neighbors="H")  # doctest: +SKIP
    >>> ds.feature_names  # doctest: +SKIP
    ['angle_HOH_deg', 'r_OH_long_A', 'r_OH_short_A']
    """
    from ..io import read_spectra
    from ..simulate._runner import package_versions

    absorber = _check_absorber(absorber)
    if not (match == "order" or (isinstance(match, str) and match.startswith("info:") and len(match) > 5)):
        raise InvalidParameterError(
            f"The 'match' parameter of {_OWNER} must be 'order' or 'info:KEY'. Got {match!r} instead."
        )
    if not (groups is None or groups == "file" or (isinstance(groups, str) and groups.startswith("info:")
                                                    and len(groups) > 5)):
        raise InvalidParameterError(
            f"The 'groups' parameter of {_OWNER} must be 'file', 'info:KEY' or None. Got {groups!r} instead."
        )
    files = _structure_files(structures)
    frames_per_file = [_read_frames(f, index) for f in files]
    all_frames = [a for frames in frames_per_file for a in frames]
    label = absorber if isinstance(absorber, str) else "A"
    desc = _Descriptor(features, n_neighbors, neighbors, soap, all_frames, label)

    # group label of a file: its stem, or its path when two files share a stem
    stems = [f.stem for f in files]
    labels = stems if len(set(stems)) == len(stems) else [str(f) for f in files]
    X, file_idx, frame_idx, atom_idx, keys, group = [], [], [], [], [], []
    for fi, (path, frames) in enumerate(zip(files, frames_per_file)):
        for j, atoms in enumerate(frames):
            where = f"frame {j} of {path}"
            sites = _sites(atoms, absorber, where)
            X.append(desc(atoms, sites, where))
            file_idx += [fi] * len(sites)
            frame_idx += [j] * len(sites)
            atom_idx += sites.tolist()
            for key_name, out in ((match, keys), (groups, group)):
                if not (isinstance(key_name, str) and key_name.startswith("info:")):
                    continue
                key = key_name[5:]
                if key not in atoms.info:
                    raise DataFormatError(
                        f"{where} has no info[{key!r}] (needed by {key_name!r}); it has {sorted(atoms.info)}."
                    )
                value = str(atoms.info[key])
                if out is keys and len(sites) > 1:
                    out += [f"{value}_{s}" for s in sites]
                else:
                    out += [value] * len(sites)
            if groups == "file":
                group += [labels[fi]] * len(sites)
    X = np.concatenate(X, axis=0)
    n = X.shape[0]

    table = read_spectra(spectra, energy=energy, grid=grid, columns=columns)
    if match == "order":
        if table.Y.shape[0] != n:
            raise DataFormatError(
                f"{table.Y.shape[0]} spectra for {n} samples ({len(all_frames)} frames in "
                f"{len(files)} file(s), absorber={absorber!r}); the counts must match when spectra "
                f"are matched by order."
            )
        order = np.arange(n)
    else:
        where = {nm: i for i, nm in enumerate(table.names)}
        if len(where) != len(table.names):
            raise DataFormatError(f"Spectrum names are not unique, so {match!r} cannot match them.")
        missing = [k for k in keys if k not in where]
        extra = sorted(set(table.names) - set(keys))
        if missing or extra:
            raise DataFormatError(
                f"Spectra do not match the structures by {match!r}: no spectrum for "
                f"{missing[:5]}{' ...' if len(missing) > 5 else ''}; no structure for "
                f"{extra[:5]}{' ...' if len(extra) > 5 else ''}."
            )
        order = np.array([where[k] for k in keys], dtype=np.int64)
    Y, spectrum_names = table.Y[order], [table.names[i] for i in order]

    bad = ~(np.all(np.isfinite(Y), axis=1) & np.all(np.isfinite(X), axis=1))
    skipped = []
    if bad.any():
        listed = [f"{spectrum_names[i]} (frame {frame_idx[i]} of {files[file_idx[i]]}, atom {atom_idx[i]})"
                  for i in np.flatnonzero(bad)]
        if not skip_bad:
            raise DataFormatError(
                f"{int(bad.sum())} sample(s) have NaN or infinite spectra or descriptors, first: "
                f"{listed[0]}. Fix them or pass skip_bad=True (--skip-bad) to drop them."
            )
        for item in listed:
            logger.warning("skipped (NaN or infinite values): %s", item)
        skipped = listed
    keep = ~bad
    if not keep.any():
        raise DataFormatError("Every sample has NaN or infinite values; nothing to build.")
    e = table.energy
    target_names = [f"E_{v:.4f}" for v in e]
    if moments is not None:
        Y, target_names = _moments(e, Y, moments)
        e = None
        nan_rows = ~np.all(np.isfinite(Y), axis=1) & keep
        if nan_rows.any():
            raise DataFormatError(
                f"{int(nan_rows.sum())} spectra have no intensity (or a single point) in a moments "
                f"window, first: {spectrum_names[int(np.flatnonzero(nan_rows)[0])]}."
            )
    attrs = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "absorber": absorber,
        "descriptor": desc.settings,
        "spectra": {"source": str(spectra), "match": match, "interpolated": table.interpolated,
                    "grid": None if grid is None else [float(table.energy[0]), float(table.energy[-1]),
                                                       int(table.energy.size)],
                    "columns": sorted(set(table.columns)), "moments": _plain_windows(moments)},
        "groups": groups,
        "inputs": {"structures": [_file_record(f) for f in files],
                   "spectra": [_file_record(f) for f in table.files]},
        "skipped": skipped,
        "versions": package_versions("numpy", "ase", "h5py", *(["dscribe"] if features == "soap" else [])),
    }
    metadata = {
        "file_index": np.asarray(file_idx)[keep],
        "frame_index": np.asarray(frame_idx)[keep],
        "atom_index": np.asarray(atom_idx)[keep],
        "spectrum_name": np.asarray(spectrum_names, dtype=str)[keep],
    }
    return Dataset(
        X[keep], Y[keep], feature_names=desc.names, target_names=target_names, energy=e,
        groups=None if groups is None else np.asarray(group, dtype=str)[keep],
        metadata=metadata, attrs=attrs, name=name,
    )


def _plain_windows(moments):
    if moments is None:
        return None
    if isinstance(moments, Mapping):
        return {k: [float(v) for v in w] for k, w in moments.items()}
    return [[float(v) for v in w] for w in moments]
