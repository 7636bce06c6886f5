"""Entry point of the ``xslatent`` command.

Each subcommand lives in its own module of this package exposing ``add_parser(subparsers)``
and ``run(args) -> int``. Modules are imported lazily so ``xslatent --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# subcommand name -> (module, one-line help)
SUBCOMMANDS = {
    "simulate": ("xslatent.cli.simulate", "generate structure-spectrum datasets (PySCF, xTB)"),
    "reproduce": ("xslatent.cli.reproduce", "rerun the paper's analyses on bundled or own data"),
    "select": ("xslatent.cli.select", "randomized hyper-parameter search from a TOML config"),
    "inverse-stability": ("xslatent.cli.inverse_stability", "EDNN layer-wise inversion analysis"),
    "info": ("xslatent.cli.info", "describe a Dataset HDF5 file or a saved model"),
    "dataset": ("xslatent.cli.dataset", "build a Dataset HDF5 file from structures and spectra"),
    "analyse": ("xslatent.cli.analyse", "emulator, ECA, EDNN, NNCA on a Dataset -> a reusable run directory"),
    "interpret": ("xslatent.cli.interpret", "fit a measured spectrum with a run's models -> structure"),
}


def _available():
    for name, (module, help_) in SUBCOMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            yield name, module, help_


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    from xslatent import __version__

    parser = argparse.ArgumentParser(
        prog="xslatent",
        description="Learn how X-ray spectra depend on structure and which structural degrees "
        "of freedom a spectrum encodes.",
    )
    parser.add_argument("--version", action="version", version=f"xslatent {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Only the chosen subcommand's module is imported; the others get a stub entry for --help.
    chosen = next((a for a in (argv or []) if not a.startswith("-")), None)
    for name, module, help_ in _available():
        if name == chosen:
            importlib.import_module(module).add_parser(sub)
        else:
            sub.add_parser(name, help=help_, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = SUBCOMMANDS[args.command][0]
    return int(importlib.import_module(module).run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
