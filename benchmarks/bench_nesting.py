"""Does the selected emulator beat ridge on a GeO2-like problem? (run on demand, not a test)

Data: :func:`xslatent.datasets.make_mostly_linear` — 3 000 samples, 150 correlated features,
8 targets, a rank-4 linear part, a small nonlinearity and noise (ridge's ceiling is printed).
80/20 split, X and Y z-scored on the train split as in the pipelines. Then, exactly as
:func:`xslatent.pipeline.analysis.analyse_target` does for its emulator: the ridge baseline on
the search's folds, the emulator search under the chosen budget (``geo2-emulator`` preset,
epochs from the budget's optimizer steps, early stopping) and the nesting rule (warm start
from ridge when the searched emulator's CV score is below ridge's). Prints CV and test R2 and
whether ``emulator >= ridge - 0.005`` holds on the test split.

Usage::

    python benchmarks/bench_nesting.py                     # standard budget
    python benchmarks/bench_nesting.py --budget quick --n-iter 2 --cv 2   # smoke check
"""

from __future__ import annotations

import argparse
import time
import warnings


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", default="standard", choices=["quick", "standard", "paper"])
    p.add_argument("--n-iter", type=int, default=None, help="emulator candidates (default: the budget's)")
    p.add_argument("--cv", type=int, default=None, help="folds (default: the budget's)")
    p.add_argument("--preset", default="geo2-emulator")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import dataclasses

    import numpy as np

    from xslatent import Dataset, MLPEmulator
    from xslatent.datasets import make_mostly_linear
    from xslatent.exceptions import ConvergenceWarning
    from xslatent.pipeline._budgets import BUDGETS
    from xslatent.pipeline._common import prepare
    from xslatent.pipeline.analysis import nest_or_warm_start
    from xslatent.selection import RandomizedSearch, cv_folds, ridge_baseline, warm_started_emulator

    warnings.simplefilter("ignore", ConvergenceWarning)
    b = BUDGETS[args.budget]
    if args.cv:
        b = dataclasses.replace(b, cv=args.cv)
    n_iter = args.n_iter or b.search_n_iter("emulator", "geo2")
    X, Y, _, r2_lin = make_mostly_linear(random_state=args.seed)
    prep = prepare(Dataset(X, Y, name="mostly-linear"), random_state=args.seed, y_scaling="feature")
    max_iter, patience = b.epochs(prep.Xtr.shape[0])
    print(f"# data {X.shape} -> {Y.shape[1]} targets; linear part's population R2 {r2_lin:.4f}")
    print(f"# budget {b.name}: {n_iter} candidates, {b.cv}-fold CV, {max_iter} epochs max, patience {patience}")
    t0 = time.perf_counter()
    folds = cv_folds(b.cv, prep.Xtr, prep.Ytr, args.seed)
    ridge = ridge_baseline(prep.Xtr, prep.Ytr, folds, prep.Xte, prep.Yte)
    t_ridge = time.perf_counter() - t0
    est = MLPEmulator(max_iter=max_iter, n_iter_no_change=patience, early_stopping=True, random_state=args.seed)
    search = RandomizedSearch(est, args.preset, n_iter=n_iter, cv=b.cv, random_state=args.seed)
    t0 = time.perf_counter()
    search.fit(prep.Xtr, prep.Ytr)
    t_search = time.perf_counter() - t0
    searched = search.best_estimator_
    t0 = time.perf_counter()
    model, fb = nest_or_warm_start("emulator", searched, search.best_score_, "ridge", ridge.cv_score,
                                   lambda: warm_started_emulator(searched, ridge.estimator, prep.Xtr, prep.Ytr))
    t_fb = time.perf_counter() - t0
    s_ridge, s_searched, s_final = ridge.test_score, searched.score(prep.Xte, prep.Yte), model.score(prep.Xte, prep.Yte)
    mean_epochs = float(np.mean(search.cv_results_["mean_n_iter"]))
    print()
    print("| model | CV R2 | test R2 | seconds |")
    print("|---|---|---|---|")
    print(f"| ridge (alpha {ridge.params['alpha']:.3g}) | {ridge.cv_score:.4f} ± {ridge.cv_noise:.4f} | {s_ridge:.4f} | {t_ridge:.1f} |")
    print(f"| emulator, searched {search.best_params_} | {search.best_score_:.4f} | {s_searched:.4f} | {t_search:.1f} |")
    print(f"| emulator, selected ({fb.used}) | - | {s_final:.4f} | {t_fb:.1f} |")
    print(f"# mean epochs per fit {mean_epochs:.0f}; {fb.line()}")
    ok = s_final >= s_ridge - 0.005
    print(f"# emulator >= ridge - 0.005 on test: {ok} ({s_final - s_ridge:+.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
