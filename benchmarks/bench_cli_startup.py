"""Start-up time of the ``xslatent`` command (run on demand, not a test).

``xslatent --help`` should answer at once: the package imports its heavy libraries (torch,
numpy, h5py...) only when a command runs. Measured side by side in one run, each as the
median of ``--repeats`` fresh interpreters:

1. baseline: ``python -c pass`` (the interpreter alone);
2. ``python -m xslatent.cli.main --help``;
3. reference: ``python -c "import torch"`` (what an eager ``import xslatent`` used to cost).

It prints the three medians and the ratios of 2 and 3 to the baseline.

Usage::

    python benchmarks/bench_cli_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_seconds(args: list[str], repeats: int) -> float:
    """Median wall time of ``repeats`` runs of ``python *args`` (output discarded)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs per case (default: 7)")
    args = parser.parse_args(argv)
    base = median_seconds(["-c", "pass"], args.repeats)
    cases = {
        "xslatent --help": ["-m", "xslatent.cli.main", "--help"],
        "import torch": ["-c", "import torch"],
    }
    print(f"{'case':<18}{'median s':>10}{'/ baseline':>12}")
    print(f"{'python -c pass':<18}{base:>10.3f}{1.0:>12.1f}")
    for name, case in cases.items():
        t = median_seconds(case, args.repeats)
        print(f"{name:<18}{t:>10.3f}{t / base:>12.1f}")


if __name__ == "__main__":
    main()
