"""``xslatent simulate``: generate structure–spectrum data sets.

The system is one slot, the action another::

    xslatent simulate h2o --out DIR [--n-snapshots N] [--workers W] [--chunk-size C]
                          [--seed S] [--scheduler ADDRESS]
    xslatent simulate geo2 --out DIR [...]                  (see xslatent.cli._simulate_geo2)
    xslatent simulate assemble h2o DIR OUT.h5 [--allow-incomplete]
    xslatent simulate assemble geo2 DIR OUT.h5 [--targets {broadened,sticks}] [--no-spectra]

Rerunning a generation with the same arguments resumes an interrupted run. The older
spellings ``simulate h2o-assemble`` and ``simulate geo2-assemble`` still work and print a
deprecation note.
"""

from __future__ import annotations

import argparse
import sys

from ._common import add_scheduler_argument, add_seed_argument, dask_client, setup_logging
from ._common import single_threaded
from ._simulate_geo2 import add_geo2_assemble_arguments, add_geo2_parser

__all__ = ["add_parser", "run"]


def _add_h2o_assemble_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", metavar="DIR", help="output directory of 'simulate h2o' (or its chunks/)")
    p.add_argument("output", metavar="OUT.h5", help="file to write")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="assemble even if some chunks are missing")
    p.set_defaults(_simulate=_run_h2o_assemble)


_H2O_ASSEMBLE = "Merge the chunk files of an h2o run into one compressed HDF5 file and print its sha256."


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``simulate`` parser (systems and the ``assemble`` action) to ``subparsers``."""
    parser = subparsers.add_parser(
        "simulate",
        help="generate structure-spectrum datasets (PySCF, xTB)",
        description="Generate structure-spectrum data sets ('simulate SYSTEM'), or merge a "
        "finished run into one file ('simulate assemble SYSTEM'). Runs are chunked and "
        "resumable: rerun the same command to continue after an interruption.",
    )
    sub = parser.add_subparsers(dest="system", metavar="{h2o,geo2,assemble}")
    sub.required = True

    h2o = sub.add_parser(
        "h2o",
        help="O K-edge XPS/XES/XAS of hot H2O (GFN2-xTB MD, B3LYP ΔSCF/TP)",
        description="Hot-water MD with GFN2-xTB, then O 1s XPS (ΔSCF), XES and XAS "
        "(transition potential) with PySCF B3LYP for every snapshot.",
    )
    h2o.add_argument("--out", required=True, metavar="DIR", help="output directory")
    h2o.add_argument("--n-snapshots", type=int, default=10000, metavar="N", help="default: 10000")
    h2o.add_argument("--workers", type=int, default=1, metavar="W",
                     help="single-threaded worker processes (0: in this process); default: 1")
    h2o.add_argument("--chunk-size", type=int, default=100, metavar="C",
                     help="snapshots per chunk file; default: 100")
    add_seed_argument(h2o, "MD seed")
    h2o.add_argument("--temperature", type=float, default=None, metavar="T0",
                     help="T0 in K, internal kinetic energy 1.5 kB T0; default: 6500")
    h2o.add_argument("--frames-per-trajectory", type=int, default=500, metavar="F",
                     help="frames per MD trajectory (10 fs apart); default: 500")
    add_scheduler_argument(h2o, "the chunks")
    h2o.add_argument("--no-progress", action="store_true", help="hide progress bars")
    h2o.set_defaults(_simulate=_run_h2o)

    add_geo2_parser(sub)

    assemble = sub.add_parser(
        "assemble",
        help="merge the chunks of a finished run into one HDF5 file",
        description="Merge the chunk files of a 'simulate SYSTEM' run into one file and print "
        "its sha256.",
    )
    systems = assemble.add_subparsers(dest="assemble_system", metavar="SYSTEM")
    systems.required = True
    _add_h2o_assemble_arguments(systems.add_parser(
        "h2o", help="one compressed HDF5 file of the H2O spectra", description=_H2O_ASSEMBLE))
    add_geo2_assemble_arguments(systems.add_parser(
        "geo2", help="one xslatent Dataset file of the GeO2 sites",
        description="Merge the chunk files of a geo2 run into one xslatent Dataset file "
        "(X: Coulomb matrices, Y: 8 Kβ moments, groups: pressure) and print its sha256."))

    # Older spelling, kept working; not listed in --help.
    old = sub.add_parser("h2o-assemble", description=_H2O_ASSEMBLE)
    _add_h2o_assemble_arguments(old)
    old.set_defaults(_deprecated="simulate assemble h2o")
    return parser


def _run_h2o(args) -> int:
    single_threaded()
    from tqdm.contrib.logging import logging_redirect_tqdm

    from xslatent.simulate import h2o

    kwargs = {"frames_per_trajectory": args.frames_per_trajectory, "progress": not args.no_progress}
    if args.temperature is not None:
        kwargs["temperature"] = args.temperature
    try:
        with dask_client(args.scheduler) as client, logging_redirect_tqdm():
            report = h2o.generate(
                args.out, n_snapshots=args.n_snapshots, n_workers=args.workers,
                chunk_size=args.chunk_size, seed=args.seed, client=client, **kwargs,
            )
    except KeyboardInterrupt:
        print(f"Interrupted. Finished chunks are kept in {args.out}; rerun the same command to "
              "resume.", file=sys.stderr)
        return 130
    spectra = report.spectra
    print(
        f"{len(spectra.computed)} chunk(s) computed, {len(spectra.skipped)} already present, "
        f"{len(spectra.failed)} failed, {spectra.n_excluded} snapshot(s) excluded in this run; "
        f"{spectra.seconds:.0f} s."
    )
    if spectra.failed:
        print(f"Failed chunks {sorted(spectra.failed)}: rerun the same command to retry them.",
              file=sys.stderr)
        return 1
    return 0


def _run_h2o_assemble(args) -> int:
    from xslatent.simulate import h2o

    h2o.assemble(args.dir, args.output, allow_incomplete=args.allow_incomplete, verbose=True)
    return 0


def run(args) -> int:
    """Run ``simulate``; errors are reported by :func:`xslatent.cli.main.main`."""
    setup_logging()
    if getattr(args, "_deprecated", None):
        print(f"xslatent simulate: note: 'simulate {args.system}' is deprecated; use "
              f"'xslatent {args._deprecated}'.", file=sys.stderr)
    return int(args._simulate(args) or 0)

