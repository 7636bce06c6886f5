"""Command-line front end of the GeO2 Kβ generator, for ``xslatent simulate``.

``add_geo2_parser(subparsers)`` adds the ``geo2`` system to the ``simulate`` subcommand and
``add_geo2_assemble_arguments(parser)`` the arguments of ``simulate assemble geo2``::

    xslatent simulate geo2 --out DIR [--pressures P ...] [--runs-per-pressure R]
                           [--snapshots-per-run S] [--workers W] [--seed S]
                           [--cluster {coulomb,first_shell}] [--scheduler ADDRESS]
    xslatent simulate geo2 --method dft --out DIR --geometries GEO_DIR [--max-chunks N]
    xslatent simulate assemble geo2 DIR OUT.h5 [--targets {broadened,sticks}]

(the older spelling ``simulate geo2-assemble`` still works) and ``run_geo2(args)`` runs
either. Rerunning ``geo2`` with the same arguments resumes. Heavy imports happen inside ``run_geo2`` so that ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from ._common import add_scheduler_argument, add_seed_argument, dask_client, setup_logging
from ._common import single_threaded

__all__ = ["add_geo2_assemble_arguments", "add_geo2_parser", "run_geo2"]


def add_geo2_parser(subparsers) -> None:
    """Add the ``geo2`` parser (and the deprecated ``geo2-assemble``) to ``subparsers``."""
    p = subparsers.add_parser(
        "geo2",
        help="Ge Kβ VtC moments of amorphous GeO2 (LAMMPS melt-quench, GFN1-xTB clusters)",
        description="Melt-quench GeO2 glasses with LAMMPS at fixed densities per nominal "
        "pressure, then compute every Ge site's Coulomb matrix and Kβ valence-to-core "
        "spectrum (GFN1-xTB cluster) and its 8 line moments. Chunked and resumable: rerun "
        "the same command to continue.",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--pressures", type=float, nargs="+", default=None, metavar="P",
                   help="nominal pressures in GPa (default: 0 2 4 6 8 10 15 20 40 80 120)")
    p.add_argument("--runs-per-pressure", type=int, default=6, metavar="R",
                   help="independent melt-quench runs per pressure; default: 6")
    p.add_argument("--snapshots-per-run", type=int, default=3, metavar="S",
                   help="snapshots per run (72 sites each); default: 3")
    p.add_argument("--workers", type=int, default=1, metavar="W",
                   help="single-threaded worker processes (0: in this process); default: 1")
    add_seed_argument(p, "base seed")
    p.add_argument("--cluster", choices=("coulomb", "first_shell"), default="coulomb",
                   help="xTB cluster: the 17 Coulomb-matrix atoms + H caps (default) or "
                   "Ge(OH)n first shell")
    p.add_argument("--method", choices=("xtb", "dft"), default="xtb",
                   help="spectrum model: GFN1-xTB clusters with their own MD (default), or "
                   "B3LYP/def2-SVP on Ge(OH)n clusters of existing structures (--geometries)")
    p.add_argument("--geometries", metavar="GEO_DIR", default=None,
                   help="with --method dft: the geometries/ directory of an xtb run "
                   "(default: DIR/geometries)")
    p.add_argument("--max-chunks", type=int, default=None, metavar="N",
                   help="with --method dft: only the first N chunks of 6 sites, a prefix spread "
                   "evenly over pressures and runs (88 = the pilot); default: all")
    p.add_argument("--melt-ps", type=float, default=None, help="melt time at 5000 K (12 ps)")
    p.add_argument("--quench-ps", type=float, default=None, help="quench 5000 -> 300 K (30 ps)")
    p.add_argument("--hold-ps", type=float, default=None, help="hold at 300 K (5 ps)")
    add_scheduler_argument(p, "the runs")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(_simulate=run_geo2, _geo2_action="generate")

    # Older spelling of 'simulate assemble geo2', kept working; not listed in --help.
    a = subparsers.add_parser("geo2-assemble")
    add_geo2_assemble_arguments(a)
    a.set_defaults(_deprecated="simulate assemble geo2")


def add_geo2_assemble_arguments(a: argparse.ArgumentParser) -> None:
    """Add the arguments of ``simulate assemble geo2`` to its parser ``a``."""
    a.add_argument("dir", metavar="DIR", help="output directory of 'simulate geo2'")
    a.add_argument("output", metavar="OUT.h5", help="file to write")
    a.add_argument("--targets", choices=("broadened", "sticks"), default="broadened",
                   help="moments of the broadened lines (default) or of the sticks")
    a.add_argument("--allow-incomplete", action="store_true",
                   help="assemble even if some runs are missing")
    a.add_argument("--no-spectra", action="store_true",
                   help="leave out the sticks and broadened spectra (a file small enough to bundle)")
    a.set_defaults(_simulate=run_geo2, _geo2_action="assemble")


def run_geo2(args: argparse.Namespace) -> int:
    """Run ``simulate geo2`` or ``simulate assemble geo2``; returns the exit status."""
    if getattr(args, "_geo2_action", "generate") == "assemble":
        from xslatent.simulate import geo2

        geo2.assemble(args.dir, args.output, targets=args.targets,
                      allow_incomplete=args.allow_incomplete,
                      keep_spectra=not args.no_spectra, verbose=True)
        return 0
    single_threaded()
    setup_logging()
    from dataclasses import replace

    from tqdm.contrib.logging import logging_redirect_tqdm

    from xslatent.simulate import geo2

    if args.method == "dft":
        return _run_dft(args)
    md = geo2.MDSettings()
    changes = {k: getattr(args, k) for k in ("melt_ps", "quench_ps", "hold_ps")
               if getattr(args, k, None) is not None}
    md = replace(md, **changes)
    spectrum = geo2.SpectrumSettings(cluster=args.cluster)
    try:
        with dask_client(args.scheduler) as client, logging_redirect_tqdm():
            report = geo2.generate(
                args.out,
                pressures=args.pressures or geo2.DEFAULT_PRESSURES_GPA,
                runs_per_pressure=args.runs_per_pressure,
                snapshots_per_run=args.snapshots_per_run,
                n_workers=args.workers, seed=args.seed, client=client,
                md=md, spectrum=spectrum, progress=not args.no_progress,
            )
    except KeyboardInterrupt:
        print(f"Interrupted. Finished runs are kept in {args.out}; rerun the same command to "
              "resume.", file=sys.stderr)
        return 130
    s = report.spectra
    print(f"{len(report.structures.computed)} run(s) simulated, {len(s.computed)} spectra "
          f"chunk(s) computed, {len(s.skipped)} already present, {len(s.failed)} failed, "
          f"{s.n_excluded} site(s) excluded; {report.structures.seconds + s.seconds:.0f} s.")
    if s.failed:
        print(f"Failed runs {sorted(s.failed)}: rerun the same command to retry them.",
              file=sys.stderr)
        return 1
    return 0


def _run_dft(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm.contrib.logging import logging_redirect_tqdm

    from xslatent.simulate.geo2 import DEFAULT_PRESSURES_GPA
    from xslatent.simulate.geo2_dft import generate_dft

    out = Path(args.out)
    geometries = Path(args.geometries) if args.geometries else out / "geometries"
    try:
        with dask_client(args.scheduler) as client, logging_redirect_tqdm():
            r = generate_dft(out / "chunks", geometries, max_chunks=args.max_chunks,
                             pressures=args.pressures or DEFAULT_PRESSURES_GPA,
                             runs_per_pressure=args.runs_per_pressure,
                             snapshots_per_run=args.snapshots_per_run, seed=args.seed,
                             n_workers=args.workers, client=client,
                             progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"Interrupted. Finished chunks are kept in {out / 'chunks'}; rerun the same "
              "command to resume.", file=sys.stderr)
        return 130
    print(f"{len(r.computed)} DFT chunk(s) computed, {len(r.skipped)} already present, "
          f"{len(r.failed)} failed, {r.n_excluded} site(s) excluded; {r.seconds:.0f} s.")
    return 1 if r.failed else 0
