"""Issue 13's acceptance problem: a generated 150-feature / 3 000-sample set with a known
linear part, analysed exactly as a user's own data (``xslatent analyse DATA.h5``).

Usage::

    python examples/acceptance_mostly_linear.py --out runs/mostly_linear   # writes the data set
    xslatent analyse runs/mostly_linear/mostly_linear.h5 --config runs/mostly_linear/config.toml \\
        --out runs/mostly_linear                                            # standard budget

The data: :func:`xslatent.datasets.make_mostly_linear` (correlated features, rank-4 linear
part, a small product nonlinearity, noise; 8 targets). The config: the GeO2 search spaces
(many features, few samples), per-target scaling, ranks 1 and 2, the standard budget.
"""

import argparse
from pathlib import Path

from xslatent import Dataset
from xslatent.datasets import make_mostly_linear

CONFIG = '''name = "mostly-linear"
system = "geo2"
budget = "standard"
components = [1, 2]
seed = 0
y_scaling = "feature"
'''


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/mostly_linear", help="folder for the data set and config")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X, Y, _, r2 = make_mostly_linear(random_state=0)
    Dataset(X, Y, name="mostly-linear-150").save(out / "mostly_linear.h5")
    (out / "config.toml").write_text(CONFIG)
    print(f"{X.shape} -> {Y.shape}; the linear part covers {r2:.3f} of the population variance; "
          f"wrote {out / 'mostly_linear.h5'} and {out / 'config.toml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
