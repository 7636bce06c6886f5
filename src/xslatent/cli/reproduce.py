"""``xslatent reproduce {h2o,geo2,paper,DATASET.h5} --budget ... --out DIR``."""

from __future__ import annotations

from ._common import DEFAULT_DEVICE, DEFAULT_SEED, add_device_argument, add_scheduler_argument
from ._common import UsageError, add_seed_argument, dask_client

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``reproduce`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "reproduce",
        help="rerun the paper's analyses on bundled or own data",
        description="Emulator + ECA + EDNN + NNCA with randomized-search model selection, R2 tables, "
        "figures and a self-contained report.html. TARGET is 'h2o' (bundled H2O O K-edge data, paper "
        "Table 1 / Figs 2-3), 'geo2' (bundled GeO2, Table 2 / Figs 5, 8), 'paper' (both and Figs 6-7, one "
        "report) or a Dataset HDF5 file "
        "(with --config). Rerunning with the same arguments resumes.",
    )
    p.add_argument("target", help="h2o | geo2 | paper (both, one report) | path to a Dataset HDF5 file")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--budget", choices=["quick", "standard", "paper"], default=None,
                   help="search effort (default: quick for bundled data, the config's otherwise)")
    p.add_argument("--config", help="TOML config for a user dataset (see xslatent.pipeline.custom)")
    # None: a user dataset's config may set them; given on the command line, they win.
    add_seed_argument(p, default=None, default_text=f"the config's, else {DEFAULT_SEED}")
    add_device_argument(p, default=None, default_text=f"the config's, else {DEFAULT_DEVICE}")
    add_scheduler_argument(p, "the searches")
    p.add_argument("--split", choices=["random", "group"], default="random",
                   help="test split of rows, or of whole groups (H2O trajectories, GeO2 melt-quench "
                   "runs); default: random")
    p.add_argument("--resamples", type=int, default=None, metavar="N",
                   help="bootstrap members per selected model for the intervals, decisiveness and "
                   "reconstructability tables (0: none); default: the budget's (quick 8, standard 10, "
                   "paper 20)")
    p.add_argument("--eca-fit-on", choices=["test", "train"], default=None,
                   help="split ECA maximizes R2 on (default: test for h2o/geo2/paper, the paper's "
                   "protocol, optimistic; train for your own DATA.h5, out of sample); the other is "
                   "reported beside it")
    return p


def _budget(name: str, resamples):
    """The named budget, with ``--resamples`` bootstrap members when given."""
    if resamples is None:
        return name
    if resamples < 0 or resamples == 1:
        raise UsageError(f"--resamples must be 0 (no intervals) or at least 2; got {resamples}.")
    import dataclasses

    from ..pipeline._budgets import BUDGETS

    return dataclasses.replace(BUDGETS[name], n_resamples=resamples)


def run(args) -> int:
    """Run ``reproduce``; errors are reported by :func:`xslatent.cli.main.main`."""
    seed = DEFAULT_SEED if args.seed is None else args.seed
    device = args.device or DEFAULT_DEVICE
    eca_fit_on = getattr(args, "eca_fit_on", None)  # `analyse` shares this run() without the option
    if args.target in ("h2o", "geo2", "paper"):
        if args.target == "h2o":
            from ..pipeline.h2o import reproduce_h2o as reproduce
        elif args.target == "geo2":
            from ..pipeline.geo2 import reproduce_geo2 as reproduce
        else:
            from ..pipeline.paper import reproduce_paper as reproduce
        budget = _budget(args.budget or "quick", getattr(args, "resamples", None))
        with dask_client(args.scheduler) as client:
            reproduce(args.out, budget=budget, seed=seed, device=device, client=client, split=args.split,
                      eca_fit_on=eca_fit_on or "test")
        return 0
    from ..datasets import load_dataset
    from ..pipeline.custom import read_config, reproduce_dataset

    from ..selection._space import tomllib

    try:
        cfg = read_config(args.config)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"The config '{args.config}' is not valid TOML: {exc}") from None
    if args.budget:
        cfg["budget"] = args.budget
    if args.seed is not None:
        cfg["seed"] = args.seed
    if args.device:
        cfg["device"] = args.device
    if eca_fit_on:
        cfg["eca_fit_on"] = eca_fit_on
    if getattr(args, "resamples", None):
        raise UsageError("--resamples applies to the bundled targets (h2o, geo2, paper); on your own data "
                         f"take intervals with xslatent.interpret.bootstrap. Got --resamples {args.resamples}.")
    data = load_dataset(args.target)
    with dask_client(args.scheduler) as client:
        reproduce_dataset(data, args.out, cfg, client=client)
    return 0
