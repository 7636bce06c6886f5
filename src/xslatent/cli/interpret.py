"""``xslatent interpret RUN SPECTRUM... --out DIR``: a measured spectrum -> latent values -> structure."""

from __future__ import annotations

from ._common import add_device_argument, add_seed_argument

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``interpret`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "interpret", help="fit a measured spectrum with a run's models -> structure",
        description="Read measured or newly simulated spectra (two columns, XDI with energy and mu/norm, "
        "FEFF xmu.dat, or a table whose first row is the energy grid: one row per spectrum), put them on "
        "the run's energy grid, optionally fit a bounded energy shift and normalize the intensity, fit "
        "the latent values of every model with several starts and expand them to structure in physical "
        "units. Writes interpretation.json, interpretation.png and interpretation.html; one row per "
        "spectrum.",
    )
    p.add_argument("run_dir", metavar="RUN", help="run directory from `xslatent analyse`")
    p.add_argument("spectra", metavar="SPECTRUM", nargs="+",
                   help="spectrum files, tables, directories or quoted globs")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier interpretation in --out")
    p.add_argument("--fit-shift", type=float, default=0.0, metavar="EV",
                   help="fit an energy shift within ±EV (default 0: no shift)")
    p.add_argument("--normalize", choices=["auto", "area", "max", "none"], default="auto",
                   help="intensity scaling before the fit (default: the training spectra's convention)")
    p.add_argument("--columns", default=None, help="energy,intensity columns of two-column files (0-based)")
    p.add_argument("--models", default=None, help="comma-separated model labels (default: all)")
    p.add_argument("--n-starts", type=int, default=8, help="starting points per latent fit")
    p.add_argument("--max-iter", type=int, default=300, help="optimiser steps per latent fit")
    add_seed_argument(p)
    add_device_argument(p)
    return p


def run(args) -> int:
    """Run ``interpret``; errors are reported by :func:`xslatent.cli.main.main`."""
    from pathlib import Path

    from ..interpret import interpret_spectra, load_run, write_interpretation
    from ..io import read_spectra
    from ..io._spectra import _expand

    from ..exceptions import InvalidParameterError

    if (Path(args.out) / "interpretation.json").exists() and not args.overwrite:
        raise InvalidParameterError(
            f"The '--out' option must name a folder without an interpretation (or pass --overwrite). "
            f"Got {args.out!r}, which has one."
        )
    columns = None if args.columns is None else tuple(int(v) for v in args.columns.split(","))
    spectra = []
    for source in args.spectra:  # every file keeps its own grid
        for path in [source] if Path(source).is_file() else _expand(source) or [source]:
            table = read_spectra(path, columns=columns)
            spectra += [(name, table.energy, y) for name, y in zip(table.names, table.Y)]
    run_ = load_run(args.run_dir, device=args.device)
    result = interpret_spectra(
        run_, spectra, fit_shift=args.fit_shift, normalize=args.normalize,
        models=None if args.models is None else args.models.split(","), n_starts=args.n_starts,
        max_iter=args.max_iter,
        random_state=args.seed,
    )
    paths = write_interpretation(result, args.out, run_)
    names = result["feature_names"]
    print(f"model {result['primary_model']}; intensity: {result['settings']['normalize']} "
          f"(training convention: {(result['settings']['training_convention'] or {}).get('convention')})")
    print("spectrum\tshift_eV\t" + "\t".join(names) + "\tresidual percentile")
    for row in result["rows"]:
        print(f"{row['spectrum']}\t{row['shift_eV']:+.3f}\t"
              + "\t".join(f"{row.get(n, float('nan')):.4g}" for n in names)
              + f"\t{row['test_residual_percentile']:.0f}")
        if row["warning"]:
            print(f"  warning: {row['warning']}")
    print(f"wrote {paths['json']}, {paths['png']}, {paths['html']}")
    return 0
