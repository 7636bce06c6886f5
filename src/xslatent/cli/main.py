"""Entry point of the ``xslatent`` command.

Adding a subcommand: write one module in this package with ``add_parser(subparsers)``
(which creates the subcommand's parser, with its help text, and returns it) and
``run(args) -> int``, then add one line to :data:`SUBCOMMANDS`. A subcommand module imports
only the standard library at module level (numpy, torch, h5py... inside ``run``), so that
``xslatent --help`` stays instant; ``tests/cli/test_cli_policy.py`` checks this for every module.

Error policy (one place, here): an error the user caused (a missing or unreadable file, a bad
option or config value, :class:`~xslatent.exceptions.InvalidParameterError`,
:class:`~xslatent.exceptions.DataFormatError`, a missing optional dependency, see
:func:`xslatent.cli._common.is_user_error`) ends the command with one line
``xslatent COMMAND: error: ...`` on stderr and exit status 2; Ctrl-C ends it with status 130.
Any other exception is a bug and keeps its traceback. ``--traceback`` shows the traceback
of user errors too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ._common import error_message, is_user_error

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: Subcommand name -> module implementing it (``add_parser`` and ``run``), in --help order.
SUBCOMMANDS = {
    "simulate": "xslatent.cli.simulate",
    "reproduce": "xslatent.cli.reproduce",
    "select": "xslatent.cli.select",
    "inverse-stability": "xslatent.cli.inverse_stability",
    "info": "xslatent.cli.info",
    "dataset": "xslatent.cli.dataset",
    "analyse": "xslatent.cli.analyse",
    "interpret": "xslatent.cli.interpret",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``prog: error: message``)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``xslatent`` parser with every subcommand of :data:`SUBCOMMANDS`.

    Returns
    -------
    argparse.ArgumentParser
    """
    from xslatent import __version__

    parser = _Parser(
        prog="xslatent",
        description="Learn how X-ray spectra depend on structure and which structural degrees "
        "of freedom a spectrum encodes.",
    )
    parser.add_argument("--version", action="version", version=f"xslatent {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of an error instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        p = importlib.import_module(module).add_parser(sub)
        p.set_defaults(_module=module)
        if p.prog.split()[-1] != name:  # pragma: no cover - a registration mistake
            raise RuntimeError(f"{module}.add_parser created {p.prog!r}, expected {name!r}")
    return parser


#: command modules that train networks: their process starts torch's threads in flush mode
_TRAINING_COMMANDS = ("reproduce", "analyse", "select", "inverse_stability", "interpret")


def main(argv: list[str] | None = None) -> int:
    """Run ``xslatent`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments without the program name.

    Returns
    -------
    int
        0 on success, 2 for a user error, 130 after Ctrl-C, or the subcommand's own status.

    Raises
    ------
    SystemExit
        From argparse, for ``--help``, ``--version`` and invalid command lines (status 2).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # Commands write figures to files: a non-interactive backend unless the user chose one.
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        if args._module.rsplit(".", 1)[-1] in _TRAINING_COMMANDS:
            from ..nn._train import fit_threads_to_idle_cores, prime_thread_pool

            # spinning OpenMP threads on a core another process uses slow training 30x
            fit_threads_to_idle_cores(log=lambda m: print(f"xslatent {args.command}: {m}", file=sys.stderr))
            prime_thread_pool()  # torch's worker threads flush subnormals (4x on stacked training)
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        print(f"xslatent {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.traceback or not is_user_error(exc):
            raise
        print(f"xslatent {args.command}: error: {error_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
