"""``xslatent simulate``: generate structure–spectrum data sets.

Subcommands::

    xslatent simulate h2o --out DIR [--n-snapshots N] [--workers W] [--chunk-size C]
                          [--seed S] [--scheduler ADDRESS]
    xslatent simulate h2o-assemble DIR OUT.h5

Rerunning ``h2o`` with the same arguments resumes an interrupted run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "simulate",
        help="generate structure-spectrum datasets (PySCF, xTB)",
        description="Generate structure-spectrum data sets. Runs are chunked and resumable: "
        "rerun the same command to continue after an interruption.",
    )
    sub = parser.add_subparsers(dest="system", metavar="SYSTEM")
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
    h2o.add_argument("--seed", type=int, default=0, metavar="S", help="MD seed; default: 0")
    h2o.add_argument("--temperature", type=float, default=None, metavar="T0",
                     help="T0 in K, internal kinetic energy 1.5 kB T0; default: 6500")
    h2o.add_argument("--frames-per-trajectory", type=int, default=500, metavar="F",
                     help="frames per MD trajectory (10 fs apart); default: 500")
    h2o.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="run on this dask.distributed scheduler instead of local processes")
    h2o.add_argument("--no-progress", action="store_true", help="hide progress bars")
    h2o.set_defaults(_simulate=_run_h2o)

    asm = sub.add_parser(
        "h2o-assemble",
        help="merge the chunks of an h2o run into one HDF5 file",
        description="Merge the chunk files of an h2o run into one compressed HDF5 file and "
        "print its sha256.",
    )
    asm.add_argument("dir", metavar="DIR", help="output directory of 'simulate h2o' (or its chunks/)")
    asm.add_argument("output", metavar="OUT.h5", help="file to write")
    asm.add_argument("--allow-incomplete", action="store_true",
                     help="assemble even if some chunks are missing")
    asm.set_defaults(_simulate=_run_h2o_assemble)

    from ._simulate_geo2 import add_geo2_parser

    add_geo2_parser(sub)
    return parser


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _run_h2o(args) -> int:
    # Before numpy/pyscf load: one thread per process (processes scale better here).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    from tqdm.contrib.logging import logging_redirect_tqdm

    from xslatent.simulate import h2o

    client = None
    if args.scheduler:
        from distributed import Client

        client = Client(args.scheduler)
    kwargs = {"frames_per_trajectory": args.frames_per_trajectory, "progress": not args.no_progress}
    if args.temperature is not None:
        kwargs["temperature"] = args.temperature
    try:
        with logging_redirect_tqdm():
            report = h2o.generate(
                args.out, n_snapshots=args.n_snapshots, n_workers=args.workers,
                chunk_size=args.chunk_size, seed=args.seed, client=client, **kwargs,
            )
    except KeyboardInterrupt:
        print(f"Interrupted. Finished chunks are kept in {args.out}; rerun the same command to "
              "resume.", file=sys.stderr)
        return 130
    finally:
        if client is not None:
            client.close()
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
    _setup_logging()
    from xslatent.exceptions import DataFormatError
    from xslatent.simulate._runner import ChunkError

    try:
        return int(args._simulate(args) or 0)
    except (ChunkError, DataFormatError) as exc:
        print(f"xslatent simulate: error: {exc}", file=sys.stderr)
        return 2
