"""How much of the GeO2 Kβ moments does the local Coulomb matrix explain?

A fixed-settings diagnostic for assembled GeO2 files (``xslatent simulate assemble geo2``),
used to compare target variants (moments of sticks vs of broadened lines) before the full
emulator search of ``xslatent reproduce geo2``. For each file, on the same 80/20 split as the
pipeline (X and Y z-scored on the train split):

- ridge regression (``RidgeCV``) and one MLP emulator of fixed size, test R2 over the 8
  moments and per moment;
- "pressure only": predict each test site by its pressure's train mean;
- "within pressure": R2 with the per-pressure means as the baseline instead of the global
  mean, i.e. how much of the variation *between sites of one pressure* a model explains;
- the fraction of clusters whose xTB HOMO–LUMO gap is below 0.5 eV.

    python examples/geo2_learnability.py datasets/geo2/geo2_sticks.h5 datasets/geo2/geo2_broadened.h5
"""

import argparse
import json
import warnings

import numpy as np

from xslatent import Dataset
from xslatent.emulator import MLPEmulator
from xslatent.exceptions import ConvergenceWarning
from xslatent.pipeline._common import prepare
from xslatent.pipeline.geo2 import GAP_THRESHOLD_EV, pressure_mean_prediction


def _r2(y, p, base):
    """Per-target and overall R2 of prediction ``p`` against baseline prediction ``base``."""
    sse = ((y - p) ** 2).sum(axis=0)
    sst = ((y - base) ** 2).sum(axis=0)
    return 1 - sse.sum() / sst.sum(), 1 - sse / sst


def diagnose(path, *, seed=0, hidden=(256, 256), alpha=1e-4, max_iter=300, device="cpu"):
    from sklearn.linear_model import RidgeCV

    data = Dataset.load(path)
    prep = prepare(data, random_state=seed, y_scaling="feature")
    glob = np.zeros_like(prep.Yte)  # train mean in standardized units
    pmean = pressure_mean_prediction(prep)
    preds = {"pressure only": pmean}
    preds["ridge"] = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(prep.Xtr, prep.Ytr).predict(prep.Xte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPEmulator(hidden_layer_sizes=hidden, alpha=alpha, max_iter=max_iter, early_stopping=True,
                          n_iter_no_change=20, random_state=seed, device=device).fit(prep.Xtr, prep.Ytr)
    preds[f"MLP {hidden}"] = mlp.predict(prep.Xte)
    report = {"file": str(path), "n_sites": len(data), "targets": list(data.target_names), "models": {}}
    gap = data.metadata.get("cluster_gap")
    if gap is not None:
        report[f"fraction_gap_below_{GAP_THRESHOLD_EV}eV"] = float(np.mean(np.asarray(gap) < GAP_THRESHOLD_EV))
    for label, p in preds.items():
        overall, per = _r2(prep.Yte, p, glob)
        w_overall, w_per = _r2(prep.Yte, p, pmean)
        report["models"][label] = {"r2": float(overall), "r2_per_target": per.round(4).tolist(),
                                   "within_pressure_r2": float(w_overall),
                                   "within_pressure_per_target": w_per.round(4).tolist()}
    return report


def _print(rep):
    print(f"\n{rep['file']}: {rep['n_sites']} sites; gap < {GAP_THRESHOLD_EV} eV: "
          f"{100 * rep.get(f'fraction_gap_below_{GAP_THRESHOLD_EV}eV', float('nan')):.1f} %")
    names = [t.replace("kbeta2pp", "Kb''").replace("kbeta2", "Kb2").replace("excess_kurtosis", "kurt")
             .replace("skewness", "skew") for t in rep["targets"]]
    print(f"{'model':18s} {'R2':>7s} {'within':>7s} | " + " ".join(f"{n:>9s}" for n in names))
    for label, m in rep["models"].items():
        print(f"{label:18s} {m['r2']:7.4f} {m['within_pressure_r2']:7.4f} | "
              + " ".join(f"{v:9.4f}" for v in m["r2_per_target"]))
        if label != "pressure only":
            print(f"{'  within pressure':18s} {'':7s} {'':7s} | "
                  + " ".join(f"{v:9.4f}" for v in m["within_pressure_per_target"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="assembled GeO2 dataset files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="MLP hidden layer sizes")
    ap.add_argument("--alpha", type=float, default=1e-4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    reps = [diagnose(f, seed=args.seed, hidden=tuple(args.hidden), alpha=args.alpha, device=args.device)
            for f in args.files]
    for r in reps:
        _print(r)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(reps, fh, indent=1)


if __name__ == "__main__":
    main()
