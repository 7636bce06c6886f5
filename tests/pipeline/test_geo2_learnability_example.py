"""examples/geo2_learnability.py on data built so the answer is known."""

import importlib.util
from pathlib import Path

import numpy as np

from xslatent import Dataset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "geo2_learnability.py"


def _load():
    spec = importlib.util.spec_from_file_location("geo2_learnability", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pressure_and_within_pressure_shares(tmp_path):
    # target 0: pure per-pressure offset; target 1: linear in X within pressure; target 2: noise
    rng = np.random.default_rng(0)
    n, groups = 1200, np.repeat([0.0, 10.0, 20.0], 400)
    X = rng.standard_normal((n, 6))
    X[:, 5] = groups / 10  # the pressure is a feature
    y0 = groups / 10 + 0.01 * rng.standard_normal(n)
    y1 = X[:, 1] + 0.01 * rng.standard_normal(n)
    y2 = rng.standard_normal(n)
    path = tmp_path / "toy.h5"
    Dataset(X, np.c_[y0, y1, y2], groups=groups, metadata={"cluster_gap": np.r_[np.zeros(300), np.ones(900)]},
            name="toy").save(path)
    rep = _load().diagnose(path, hidden=(16,), max_iter=40)
    assert rep["fraction_gap_below_0.5eV"] == 0.25
    po = rep["models"]["pressure only"]["r2_per_target"]
    assert po[0] > 0.99 and abs(po[1]) < 0.05 and abs(po[2]) < 0.05
    ridge = rep["models"]["ridge"]
    assert ridge["r2_per_target"][0] > 0.99 and ridge["r2_per_target"][1] > 0.99
    assert abs(ridge["r2_per_target"][2]) < 0.05
    # within pressure: target 1 fully explained, target 2 not at all
    assert ridge["within_pressure_per_target"][1] > 0.99 and ridge["within_pressure_per_target"][2] < 0.05
