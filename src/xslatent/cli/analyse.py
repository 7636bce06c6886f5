"""``xslatent analyse DATA.h5 --out RUN``: emulator, ECA, EDNN, NNCA -> a reusable run directory.

The same analysis as ``xslatent reproduce DATA.h5 --config CONFIG`` (which keeps working),
under the name a user looks for. ``RUN`` holds the models and scalers (``RUN/models/``,
safetensors + JSON), ``run.json``, tables, figures and ``report.html``; ``xslatent
interpret RUN spectrum`` reads it.
"""

from __future__ import annotations

from ._common import DEFAULT_DEVICE, DEFAULT_SEED, add_device_argument, add_scheduler_argument
from ._common import add_seed_argument

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``analyse`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "analyse", help="emulator, ECA, EDNN, NNCA on a Dataset -> a reusable run directory",
        description="Emulator + ECA + EDNN + NNCA with randomized-search model selection on a Dataset "
        "HDF5 file (e.g. from `xslatent dataset build`) or a bundled set (h2o:xes, h2o:xas, h2o:xps). Writes models "
        "and scalers (RUN/models/, safetensors + JSON), run.json, R2 tables, figures and report.html. "
        "Rerunning with the same arguments resumes.",
    )
    p.add_argument("target", metavar="DATA", help="Dataset HDF5 file or bundled name (h2o:xes, h2o:xas, ...)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--config", help="TOML config (see xslatent.pipeline.custom); optional")
    p.add_argument("--budget", choices=["quick", "standard", "paper"], default=None,
                   help="search effort (default: the config's, else standard)")
    add_seed_argument(p, default=None, default_text=f"the config's, else {DEFAULT_SEED}")
    add_device_argument(p, default=None, default_text=f"the config's, else {DEFAULT_DEVICE}")
    add_scheduler_argument(p, "the searches")
    return p


def run(args) -> int:
    """Run ``analyse`` (the ``reproduce DATA --config`` path)."""
    from ..exceptions import InvalidParameterError
    from .reproduce import run as reproduce_run

    if args.target in ("h2o", "geo2", "paper"):
        raise InvalidParameterError(
            f"The 'DATA' argument of analyse must be a Dataset file or h2o:xes, h2o:xas or "
            f"h2o:xps. Got {args.target!r}; for the paper's full workflow use "
            f"`xslatent reproduce {args.target}`."
        )
    return reproduce_run(args)
