"""Benchmark of :class:`xslatent.selection.RandomizedSearch` (run on demand, not a test).

Everything is measured side by side in one run, on a generated set with the shape of the H2O
XES data (8000 x 3 structural features, 100 spectrum channels; 80 % train split searched):

1. equal work: scikit-learn ``RandomizedSearchCV(MLPRegressor)`` vs ``RandomizedSearch``
   on the same candidates (``BENCH_SPACE``, the space the recorded results were measured on),
   5 folds, the same number of epochs
   and minibatch size per fit (fixed ``max_iter``, ``tol=0`` and no early stopping), pruning
   off: configurations per minute, the ratio and both best CV scores;
2. float32 GFLOP/s achieved by the batched training (forward + backward FLOPs of every
   member, over the whole search's wall time) as a fraction of this machine's GEMM rate,
   measured in the same run with a large ``torch.mm`` on the same number of threads;
3. time to quality with asynchronous successive halving (ASHA) on ``--ttq-n-iter`` (500)
   candidates: scikit-learn's full ``RandomizedSearchCV(MLPRegressor)`` over the same
   candidates (same rows, epochs, folds) gives the target (its best CV score, less 0.01) and
   its wall time; ours is the time at which :attr:`RandomizedSearch.best_score_trace_` first
   reaches the target, and the ratio;
4. configurations per minute on a Dask ``LocalCluster`` of 2 single-threaded workers vs in
   process (on a subset of the candidates).

Usage::

    python benchmarks/bench_selection.py                 # defaults below: about an hour on 1 core
    python benchmarks/bench_selection.py --small         # the same measurements, ~3 min

The ECA comparison with the authors' loop (issue 13, item 6) is not implemented; its row
prints "n/a".
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
import warnings

#: MLP emulator space of the recorded results (depth 1-4 x width {32, 64, 128, 256}, log-uniform
#: learning rate and L2); kept here so the benchmark stays comparable when presets change.
BENCH_SPACE = {
    "learning_rate_init": {"distribution": "loguniform", "low": 1e-4, "high": 1e-2},
    "alpha": {"distribution": "loguniform", "low": 1e-6, "high": 1e-1},
    "hidden_layer_sizes": {"depth": [1, 2, 3, 4], "width": [32, 64, 128, 256]},
}


def gemm_rate(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """float32 GFLOP/s of ``torch.mm`` on ``n x n`` matrices (best of ``repeats``)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def train_flops(params: dict, n_features: int, n_outputs: int, n_rows: int, epochs: float) -> float:
    """Forward + backward FLOPs of training one MLP for ``epochs`` epochs on ``n_rows`` rows.

    Per row and weight matrix (a x b): forward 2ab, weight gradient 2ab, input gradient 2ab
    (not needed for the first layer). Biases and activations are not counted.
    """
    widths = [n_features, *params["hidden_layer_sizes"], n_outputs]
    mats = list(zip(widths[:-1], widths[1:]))
    per_row = sum(6 * a * b for a, b in mats) - 2 * mats[0][0] * mats[0][1]
    return per_row * n_rows * epochs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--epochs", type=int, default=20, help="epochs per fit (fixed, no early stopping)"
    )
    p.add_argument("--n-iter", type=int, default=24, help="candidates (>= 24)")
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads of both contenders")
    p.add_argument("--dask-n-iter", type=int, default=12, help="candidates of the Dask comparison")
    p.add_argument("--min-epochs", type=int, default=2, help="first successive-halving rung")
    p.add_argument("--eta", type=int, default=3, help="successive-halving reduction factor")
    p.add_argument("--skip-dask", action="store_true")
    p.add_argument("--ttq-n-iter", type=int, default=500, help="candidates of the time-to-quality race")
    p.add_argument("--ttq-rows", type=int, default=1600, help="training rows of the time-to-quality race")
    p.add_argument("--ttq-epochs", type=int, default=20, help="epochs per fit in the time-to-quality race")
    p.add_argument("--wave-size", type=int, default=27, help="ASHA wave size")
    p.add_argument(
        "--small",
        action="store_true",
        help="quick check: 8 candidates x 5 epochs, a 60-candidate race on 800 rows x 10 epochs, no Dask",
    )
    p.add_argument(
        "--skip-sklearn-float32",
        action="store_true",
        help="skip the extra scikit-learn run on float32 data (informational row)",
    )
    args = p.parse_args(argv)
    if args.small:
        args.epochs, args.n_iter, args.skip_dask, args.skip_sklearn_float32 = 5, 8, True, True
        args.ttq_n_iter, args.ttq_rows, args.ttq_epochs, args.min_epochs = 60, 800, 10, 2

    import numpy as np
    import torch
    from sklearn.metrics import make_scorer, r2_score
    from sklearn.model_selection import KFold, RandomizedSearchCV, train_test_split
    from sklearn.neural_network import MLPRegressor
    from threadpoolctl import threadpool_limits

    from xslatent import FeatureScaler, GlobalSpectrumScaler, MLPEmulator
    from xslatent.datasets import make_subspace_spectra
    from xslatent.selection import AsynchronousHalving, RandomizedSearch, SearchSpace, SuccessiveHalving, load_preset

    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    E, n_iter, seed = args.epochs, args.n_iter, 0
    X, Y, _, _ = make_subspace_spectra(8000, 3, 2, 100, noise=0.01, random_state=seed)
    Xtr, _, Ytr, _ = train_test_split(X, Y, test_size=0.2, random_state=seed)
    Xtr = FeatureScaler().fit_transform(Xtr)
    Ytr = GlobalSpectrumScaler().fit_transform(Ytr)
    space = SearchSpace(BENCH_SPACE, name="bench-emulator")
    cands = space.sample(n_iter, seed, n_features=3, n_outputs=100)
    n_fold_rows = Xtr.shape[0] * 4 // 5

    print(f"# bench_selection {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"# {platform.node()} | {platform.processor() or platform.machine()} | {os.cpu_count()} CPUs | "
        f"torch {torch.__version__} | threads {args.threads}"
    )
    print(
        f"# data {Xtr.shape} -> {Ytr.shape[1]} outputs (train split), {n_iter} candidates x 5 folds, "
        f"{E} epochs each, batch 200"
    )
    gemm0 = gemm_rate(args.threads)
    print(f"GEMM float32 (torch.mm 2048^2): {gemm0:.1f} GFLOP/s")

    # (1a) scikit-learn, float64 as it runs by default on float64 data
    sk_space = [{k: [v] for k, v in c.items()} for c in cands]
    mlp = MLPRegressor(
        batch_size=200, max_iter=E, tol=0.0, n_iter_no_change=E + 1, shuffle=True, random_state=seed
    )
    scorer = make_scorer(r2_score, multioutput="variance_weighted")
    sk = RandomizedSearchCV(
        mlp,
        sk_space,
        n_iter=len(cands),
        cv=KFold(5, shuffle=True, random_state=seed),
        scoring=scorer,
        refit=False,
        random_state=seed,
    )
    with threadpool_limits(args.threads):
        t = time.perf_counter()
        sk.fit(Xtr, Ytr)
        t_sk = time.perf_counter() - t
    sk_best = float(np.max(sk.cv_results_["mean_test_score"]))
    print(f"sklearn RandomizedSearchCV: {t_sk:.1f} s, best CV R2 {sk_best:.4f}")

    # (1a') scikit-learn on float32 data (MLPRegressor then trains in float32): informational
    t_sk32 = sk32_best = None
    if not args.skip_sklearn_float32:
        sk32 = RandomizedSearchCV(
            mlp,
            sk_space,
            n_iter=len(cands),
            cv=KFold(5, shuffle=True, random_state=seed),
            scoring=scorer,
            refit=False,
            random_state=seed,
        )
        with threadpool_limits(args.threads):
            t = time.perf_counter()
            sk32.fit(Xtr.astype(np.float32), Ytr.astype(np.float32))
            t_sk32 = time.perf_counter() - t
        sk32_best = float(np.max(sk32.cv_results_["mean_test_score"]))
        print(
            f"sklearn RandomizedSearchCV (float32 data): {t_sk32:.1f} s, best CV R2 {sk32_best:.4f}"
        )

    # (1b) xslatent, batched, float32
    est = MLPEmulator(batch_size=200, max_iter=E, tol=0.0, n_iter_no_change=E + 1)
    ours = RandomizedSearch(est, space, n_iter=n_iter, cv=5, random_state=seed, refit=False)
    with threadpool_limits(args.threads):
        t = time.perf_counter()
        ours.fit(Xtr, Ytr)
        t_ours = time.perf_counter() - t
    assert [dict(p) for p in ours.cv_results_["params"]] == cands
    print(f"xslatent RandomizedSearch:  {t_ours:.1f} s, best CV R2 {ours.best_score_:.4f}")
    flops = sum(train_flops(c, 3, 100, n_fold_rows, E) * 5 for c in cands)
    gflops = flops / t_ours / 1e9

    # largest single group alone: the trainer's own rate, without search overheads
    from xslatent.nn._batched import BatchedMember, BatchedTrainer
    from xslatent.nn._train import TrainConfig
    from xslatent.selection._backend import build_module

    big = max(cands, key=lambda c: train_flops(c, 3, 100, 1, 1))
    folds = list(KFold(5, shuffle=True, random_state=seed).split(Xtr))
    members = []
    for k, (tr, te) in enumerate(folds * 2):
        e = MLPEmulator(**big)
        members.append(
            BatchedMember(
                build_module(e, k, 3, 100),
                tr,
                TrainConfig(max_iter=2, tol=0.0, n_iter_no_change=3, batch_size=200),
                k,
            )
        )
    trainer = BatchedTrainer(members, Xtr, Ytr, device="cpu", dtype=torch.float32)
    trainer.run(1)
    t = time.perf_counter()
    trainer.run(2)
    t_group = time.perf_counter() - t
    g_group = train_flops(big, 3, 100, n_fold_rows, 1) * len(members) / t_group / 1e9

    # (3) time to quality, >= 500 candidates: sklearn's full search vs ASHA
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(Xtr.shape[0], size=min(args.ttq_rows, Xtr.shape[0]), replace=False))
    Xq, Yq = Xtr[rows], Ytr[rows]
    Eq, nq = args.ttq_epochs, args.ttq_n_iter
    cands_q = space.sample(nq, seed + 2, n_features=3, n_outputs=100)
    mlp_q = MLPRegressor(
        batch_size=200, max_iter=Eq, tol=0.0, n_iter_no_change=Eq + 1, shuffle=True, random_state=seed
    )
    skq = RandomizedSearchCV(
        mlp_q,
        [{k: [v] for k, v in c.items()} for c in cands_q],
        n_iter=nq,
        cv=KFold(5, shuffle=True, random_state=seed + 2),
        scoring=scorer,
        refit=False,
        random_state=seed,
    )
    with threadpool_limits(args.threads):
        t = time.perf_counter()
        skq.fit(Xq, Yq)
        t_skq = time.perf_counter() - t
    skq_best = float(np.max(skq.cv_results_["mean_test_score"]))
    print(f"sklearn full search, {nq} candidates on {len(rows)} rows: {t_skq:.1f} s, best CV R2 {skq_best:.4f}")
    est_q = MLPEmulator(batch_size=200, max_iter=Eq, tol=0.0, n_iter_no_change=Eq + 1)
    pr = RandomizedSearch(
        est_q,
        space,
        n_iter=nq,
        cv=5,
        random_state=seed + 2,
        refit=False,
        pruning=AsynchronousHalving(min_epochs=args.min_epochs, eta=args.eta, wave_size=args.wave_size),
    )
    with threadpool_limits(args.threads):
        t = time.perf_counter()
        pr.fit(Xq, Yq)
        t_pr_all = time.perf_counter() - t
    target = skq_best - 0.01
    hits = [t for t, b in pr.best_score_trace_ if b >= target]
    t_pr = hits[0] if hits else float("nan")
    reached = bool(hits)
    n_ok = int(np.sum(pr.cv_results_["status"] == "ok"))
    print(
        f"xslatent ASHA:              {t_pr_all:.1f} s for all {nq} ({n_ok} not pruned), best CV R2 "
        f"{pr.best_score_:.4f}; reached {target:.4f} after {t_pr:.1f} s"
    )

    # (4) Dask LocalCluster of 2 workers vs in process, on a subset
    dask_row = None
    if not args.skip_dask:
        from distributed import Client, LocalCluster

        sub = RandomizedSearch(
            est, space, n_iter=args.dask_n_iter, cv=5, random_state=seed + 1, refit=False
        )
        t = time.perf_counter()
        sub.fit(Xtr, Ytr)
        t_local = time.perf_counter() - t
        with (
            LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
                silence_logs=40,
            ) as cluster,
            Client(cluster) as client,
        ):
            # warm the workers (imports of torch and xslatent) outside the timing
            client.run(lambda: __import__("xslatent.selection._backend") and None)
            sub_d = RandomizedSearch(
                est,
                space,
                n_iter=args.dask_n_iter,
                cv=5,
                random_state=seed + 1,
                refit=False,
                client=client,
            )
            t = time.perf_counter()
            sub_d.fit(Xtr, Ytr)
            t_dask = time.perf_counter() - t
        same = sub_d.best_params_ == sub.best_params_
        dask_row = (
            args.dask_n_iter / t_local * 60,
            args.dask_n_iter / t_dask * 60,
            t_local / t_dask,
            same,
        )

    gemm1 = gemm_rate(args.threads)
    gemm = max(gemm0, gemm1)
    cpm_sk, cpm_ours = n_iter / t_sk * 60, n_iter / t_ours * 60
    print()
    print("| measure | sklearn | xslatent | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| (1) configs/min, equal work ({n_iter} x 5 folds x {E} epochs) | {cpm_sk:.2f} | {cpm_ours:.2f} | "
        f"{cpm_ours / cpm_sk:.2f}x | >= 8x |"
    )
    print(
        f"| (1) best CV R2 | {sk_best:.4f} | {ours.best_score_:.4f} | {ours.best_score_ - sk_best:+.4f} | +-0.01 |"
    )
    if t_sk32 is not None:
        print(
            f"| (1') configs/min vs sklearn on float32 data (best {sk32_best:.4f}) | {n_iter / t_sk32 * 60:.2f} | "
            f"{cpm_ours:.2f} | {cpm_ours / (n_iter / t_sk32 * 60):.2f}x | (info) |"
        )
    print(
        f"| (2) GFLOP/s whole search / GEMM {gemm:.1f} | - | {gflops:.1f} | {gflops / gemm:.0%} | >= 50 % |"
    )
    print(
        f"| (2) GFLOP/s largest group {big['hidden_layer_sizes']} x {len(members)} members | - | "
        f"{g_group:.1f} | {g_group / gemm:.0%} | - |"
    )
    print(
        f"| (3) time to sklearn's best - 0.01, {nq} candidates (ASHA {args.min_epochs}/{args.eta}/"
        f"{args.wave_size}) | {t_skq:.1f} s | {t_pr:.1f} s{'' if reached else ' (not reached)'} | "
        f"{t_skq / t_pr:.1f}x | >= 30x |"
    )
    if dask_row:
        cl, cd, r, same = dask_row
        print(
            f"| (4) configs/min, {args.dask_n_iter} candidates: in process vs Dask 2 workers | {cl:.2f} | {cd:.2f} | "
            f"{r:.2f}x | same best: {same} |"
        )
    print("| (5) ECA vs the authors' loop (same algorithm) | - | - | n/a | item 6 not done |")
    print(f"# GEMM before/after: {gemm0:.1f} / {gemm1:.1f} GFLOP/s; load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
