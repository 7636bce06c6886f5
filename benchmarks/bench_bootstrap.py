"""Bootstrap ensembles (xslatent.interpret.bootstrap): batched vs one-by-one members, and the
coverage of bootstrap intervals of a known basis vector.

    python benchmarks/bench_bootstrap.py              # ~2 min on 1 core
    python benchmarks/bench_bootstrap.py --coverage-datasets 40

(1) members/s: ``n_resamples`` NNCA (or emulator) members on H2O-shaped data
    (``make_subspace_spectra(8000, 3, 2, 100)``, 80 % train), trained as one stacked network
    vs one ``fit`` each (same rows, seeds and epochs; the results agree to float rounding).
(2) coverage: on ``--coverage-datasets`` independent synthetic data sets with a known
    one-dimensional decisive direction ``w`` (4 features, ``--coverage-rows`` rows, spectral
    noise ``--coverage-noise``), a 20-member row bootstrap of NNCA(1) gives a 90 % interval
    per entry of the sign-aligned basis vector; the share of entries whose interval holds
    ``w`` is the measured coverage. Several ``--coverage-noise`` values give one line each
    (low noise: the fits' optimisation spread dominates the sampling error; high noise: the
    sampling error dominates).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def members_per_second(kind: str, n_resamples: int, epochs: int) -> None:
    from xslatent import NNCA, GlobalSpectrumScaler, MLPEmulator
    from xslatent.datasets import make_subspace_spectra
    from xslatent.interpret import bootstrap

    X, Y, _, _ = make_subspace_spectra(8000, 3, 2, 100, noise=0.01, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    Y = GlobalSpectrumScaler().fit(Y).transform(Y)
    Xtr, Ytr = X[:6400], Y[:6400]
    groups = np.repeat(np.arange(16), 400)
    est = (NNCA(2, decoder_layer_sizes=(100, 100), max_iter=epochs, tol=0.0) if kind == "nnca"
           else MLPEmulator((128, 128, 128), max_iter=epochs, tol=0.0))
    out = {}
    for batched in (True, False):
        t0 = time.perf_counter()
        ens = bootstrap(est, Xtr, Ytr, n_resamples=n_resamples, groups=groups, random_state=0, batched=batched)
        out[batched] = (time.perf_counter() - t0, ens.score_interval(X[6400:], Y[6400:]))
    tb, ts = out[True][0], out[False][0]
    print(f"(1) {kind}: {n_resamples} members x {epochs} epochs: batched {tb:.1f} s "
          f"({n_resamples / tb:.2f} members/s), one by one {ts:.1f} s ({n_resamples / ts:.2f} members/s), "
          f"speed-up {ts / tb:.2f}x; test R2 {out[True][1].format()} vs {out[False][1].format()}")


def coverage(n_datasets: int, n_resamples: int, noise: float = 0.05, rows: int = 400) -> float:
    from xslatent import NNCA
    from xslatent.interpret import bootstrap

    hits, total = 0, 0
    e = np.linspace(0, 1, 20)
    for r in range(n_datasets):
        rng = np.random.default_rng(1000 + r)
        w = np.array([0.8, -0.5, 0.3, 0.1])
        w /= np.linalg.norm(w)
        X = rng.standard_normal((rows, 4))
        z = X @ w
        Y = np.exp(-0.5 * ((e[None] - 0.5 - 0.15 * np.tanh(z)[:, None]) / 0.1) ** 2)
        Y = Y + noise * rng.standard_normal(Y.shape)
        Y = (Y - Y.mean(0)) / Y.std()
        est = NNCA(1, decoder_layer_sizes=(32,), max_iter=200, learning_rate_init=3e-3, random_state=r)
        ens = bootstrap(est, X, Y, n_resamples=n_resamples, random_state=r)
        iv = ens.components_interval(w[None, :], confidence=0.9)
        inside = (iv.low[0] <= w) & (w <= iv.high[0])
        hits += int(inside.sum())
        total += w.shape[0]
    print(f"(2) coverage of 90 % intervals of a known basis vector: {hits}/{total} = {hits / total:.3f} "
          f"({n_datasets} data sets x 4 entries, {rows} rows, noise {noise}, {n_resamples} members each)")
    return hits / total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--coverage-datasets", type=int, default=25)
    ap.add_argument("--coverage-noise", type=float, nargs="+", default=[0.05, 0.3])
    ap.add_argument("--coverage-rows", type=int, default=400)
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if not args.skip_speed:
        for kind in ("emulator", "nnca"):
            members_per_second(kind, args.members, args.epochs)
    for noise in args.coverage_noise:
        coverage(args.coverage_datasets, args.members, noise, args.coverage_rows)


if __name__ == "__main__":
    main()
