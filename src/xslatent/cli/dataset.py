"""``xslatent dataset build STRUCTURES... --spectra SPECTRA --absorber O --out DATA.h5``."""

from __future__ import annotations

import logging

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``dataset`` parser (action ``build``) to ``subparsers``."""
    p = subparsers.add_parser(
        "dataset", help="build a Dataset HDF5 file from structures and spectra",
        description="Dataset tools. 'build': read structures with ase.io (any format ASE reads), "
        "compute descriptors at every absorbing atom, pair them with spectra and write one Dataset "
        "HDF5 file with groups and provenance.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="structures + spectra -> Dataset HDF5",
                       description="Every absorbing atom of every frame is one sample (frame by frame, "
                       "atom index within a frame); the i-th spectrum belongs to the i-th sample unless "
                       "--match info:KEY.")
    b.add_argument("structures", nargs="+", help="structure files or globs (one file = one trajectory)")
    b.add_argument("--spectra", required=True,
                   help="table (first row = energy grid), .npy/.h5 array (with --energy), or a "
                   "directory / quoted glob of two-column files (FEFF xmu.dat, XDI)")
    b.add_argument("--absorber", required=True,
                   help="element symbol (e.g. O: every O is a sample) or comma-separated atom indices")
    b.add_argument("--features", default="internal", choices=["internal", "coulomb", "soap"])
    b.add_argument("--n-neighbors", type=int, default=None,
                   help="neighbours for internal (default 2) or coulomb (default 16)")
    b.add_argument("--neighbors", default=None, help="comma-separated neighbour elements, e.g. H")
    b.add_argument("--soap", default=None,
                   help="SOAP settings as key=value,... (r_cut, n_max, l_max, sigma)")
    b.add_argument("--energy", default=None, help="energy grid of an array: START:STOP:NUM or a file")
    b.add_argument("--grid", default=None, help="interpolate all spectra onto START:STOP:NUM or a file")
    b.add_argument("--columns", default=None, help="energy,intensity columns of two-column files (0-based)")
    b.add_argument("--match", default="order", help="'order' (default) or info:KEY")
    b.add_argument("--moments", default=None,
                   help="line windows LO:HI,LO:HI: store per-line mean/std/skewness/kurtosis instead of spectra")
    b.add_argument("--groups", default="file", help="'file' (default), info:KEY or 'none'")
    b.add_argument("--index", default=":", help="frames to read per file (ase.io.read index)")
    b.add_argument("--skip-bad", action="store_true", help="drop samples with NaN spectra (logged)")
    b.add_argument("--name", default="", help="data set name")
    b.add_argument("--out", required=True, help="Dataset HDF5 file to write")
    b.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    return p


def _parse_pairs(text, parameter, kind=float):
    from ..exceptions import InvalidParameterError

    try:
        return [tuple(kind(v) for v in item.split(":")) for item in text.split(",") if item]
    except ValueError:
        raise InvalidParameterError(
            f"The '{parameter}' option must be LO:HI[,LO:HI...]. Got {text!r} instead."
        ) from None


def _absorber(text: str):
    if text.replace(",", "").replace("-", "").isdigit():
        return [int(v) for v in text.split(",") if v]
    return text


def _soap(text):
    from ..exceptions import InvalidParameterError

    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidParameterError(f"The '--soap' option must be key=value,... Got {text!r} instead.")
        out[key.strip()] = int(value) if key.strip() in ("n_max", "l_max") else float(value)
    return out


def run(args) -> int:
    """Run ``dataset build``; errors are reported by :func:`xslatent.cli.main.main`."""
    from pathlib import Path

    from ..data import build_dataset
    from ..exceptions import InvalidParameterError

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise InvalidParameterError(
            f"The '--out' option must name a new file (or pass --overwrite). Got {str(out)!r}, which exists."
        )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    columns = None
    if args.columns:
        columns = tuple(int(v) for v in args.columns.split(","))
    ds = build_dataset(
        args.structures, args.spectra, absorber=_absorber(args.absorber), features=args.features,
        n_neighbors=args.n_neighbors,
        neighbors=None if args.neighbors is None else args.neighbors.split(","),
        soap=None if args.soap is None else _soap(args.soap), energy=args.energy, grid=args.grid,
        columns=columns, match=args.match,
        moments=None if args.moments is None else _parse_pairs(args.moments, "--moments"),
        groups=None if args.groups == "none" else args.groups, skip_bad=args.skip_bad,
        index=args.index, name=args.name,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save(out)
    n_groups = 0 if ds.groups is None else len(set(ds.groups.tolist()))
    print(f"wrote {out}: {ds.n_samples} samples, {ds.n_features} features ({args.features}), "
          f"{ds.n_targets} targets, {n_groups} group(s), {len(ds.attrs['skipped'])} skipped")
    return 0
