"""Pieces every subcommand shares: common options, the user-error policy, Dask clients.

Standard library only at import time, so ``xslatent --help`` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = [
    "DEFAULT_DEVICE",
    "DEFAULT_SEED",
    "UsageError",
    "add_device_argument",
    "add_scheduler_argument",
    "add_seed_argument",
    "dask_client",
    "error_message",
    "is_user_error",
    "setup_logging",
    "single_threaded",
]

#: Default of every ``--seed`` option.
DEFAULT_SEED = 0
#: Default of every ``--device`` option.
DEFAULT_DEVICE = "cpu"

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class UsageError(ValueError):
    """A command-line argument or input the user gave cannot be used; the message says why."""


def add_seed_argument(parser: argparse.ArgumentParser, what: str = "random seed", *,
                      default: int | None = DEFAULT_SEED, default_text: str | None = None) -> None:
    """Add ``--seed S`` (default :data:`DEFAULT_SEED`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Parser of the subcommand.
    what : str, default="random seed"
        What the seed controls, for the help text.
    default : int or None, default=0
        ``None`` lets the command tell "not given" from 0 (for example to prefer a config
        file's seed); the command then falls back to :data:`DEFAULT_SEED`.
    default_text : str, optional
        Help text for the default when ``default`` is None.
    """
    shown = default_text if default is None else str(default)
    parser.add_argument("--seed", type=int, default=default, metavar="S",
                        help=f"{what}; default: {shown}")


def add_device_argument(parser: argparse.ArgumentParser, *, default: str | None = DEFAULT_DEVICE,
                        default_text: str | None = None) -> None:
    """Add ``--device DEV``, the torch device of every training (default ``cpu``).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Parser of the subcommand.
    default : str or None, default="cpu"
        As for :func:`add_seed_argument`.
    default_text : str, optional
        Help text for the default when ``default`` is None.
    """
    shown = default_text if default is None else default
    parser.add_argument("--device", default=default, metavar="DEV",
                        help=f"torch device for training, e.g. cuda:0; default: {shown}")


def add_scheduler_argument(parser: argparse.ArgumentParser, what: str = "the work") -> None:
    """Add ``--scheduler ADDRESS`` (a Dask scheduler address or scheduler file)."""
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help=f"fan {what} out to this dask.distributed scheduler (tcp://host:8786, "
                        "or a scheduler file ending in .json) instead of this machine")


@contextlib.contextmanager
def dask_client(address: str | None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` connected to ``address``, closed on exit; None if no address.

    Parameters
    ----------
    address : str or None
        Scheduler address, or the path of a scheduler file (``*.json``).

    Yields
    ------
    distributed.Client or None
    """
    if not address:
        yield None
        return
    from distributed import Client

    if address.endswith(".json"):
        client = Client(scheduler_file=address)
    else:
        client = Client(address)
    try:
        yield client
    finally:
        client.close()


def setup_logging() -> None:
    """Log INFO and above to stderr with timestamps (once per process)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def single_threaded() -> None:
    """One native thread per process, set before numpy/PySCF load (processes scale better)."""
    for var in _THREAD_ENV:
        os.environ.setdefault(var, "1")


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an error the user caused (bad file, option, config or environment).

    Those end a command with one line and exit status 2; anything else is a bug and keeps its
    traceback.
    """
    import json

    user = [UsageError, OSError, ImportError, json.JSONDecodeError]
    if "xslatent.exceptions" in sys.modules:
        from ..exceptions import DataFormatError, InvalidParameterError

        user += [InvalidParameterError, DataFormatError]
    if "xslatent.simulate._runner" in sys.modules:
        from ..simulate._runner import ChunkError

        user.append(ChunkError)
    toml = sys.modules.get("tomllib") or sys.modules.get("tomli")
    if toml is not None:
        user.append(toml.TOMLDecodeError)
    return isinstance(exc, tuple(user))


def error_message(exc: BaseException) -> str:
    """``exc`` as one line: whitespace collapsed; OS errors without their errno prefix."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename is not None and str(exc.filename) not in text:
            text += f": '{exc.filename}'"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
