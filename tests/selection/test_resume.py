"""The store makes a search resumable: nothing finished is recomputed."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from xslatent import MLPEmulator
from xslatent.exceptions import ConvergenceWarning
from xslatent.nn import _batched
from xslatent.selection import RandomizedSearch, ResultStore

SPACE = {
    "hidden_layer_sizes": {"depth": [1, 2], "width": [6, 10, 14, 18]},
    "learning_rate_init": {"distribution": "loguniform", "low": 3e-3, "high": 3e-2},
}


@pytest.fixture
def count_trainings(monkeypatch):
    """Count (candidate, fold) trainings started through either trainer."""
    counter = {"n": 0}
    init, single = _batched.BatchedTrainer.__init__, _batched.train_unbatched

    def counting_init(self, members, *a, **k):
        counter["n"] += len(members)
        init(self, members, *a, **k)

    def counting_single(*a, **k):
        counter["n"] += 1
        return single(*a, **k)

    monkeypatch.setattr(_batched.BatchedTrainer, "__init__", counting_init)
    monkeypatch.setattr(_batched, "train_unbatched", counting_single)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield counter


def _search(store, n_iter=6, **kw):
    return RandomizedSearch(
        MLPEmulator(max_iter=8), SPACE, n_iter=n_iter, cv=3, random_state=0, store=store, **kw
    )


def test_rerun_and_extension_recompute_nothing(tmp_path, data, count_trainings):
    X, Y = data
    store = tmp_path / "s.sqlite"
    first = _search(store, n_iter=3).fit(X, Y)
    assert count_trainings["n"] == 9 and first.n_trained_ == 9 and len(ResultStore(store)) == 9
    # sampling is sequential: the first 3 of 6 candidates are the same, so only 3 more train
    count_trainings["n"] = 0
    second = _search(store, n_iter=6).fit(X, Y)
    assert count_trainings["n"] == 9 and second.n_reused_ == 9
    count_trainings["n"] = 0
    third = _search(store, n_iter=6, batched=False).fit(X, Y)
    assert count_trainings["n"] == 0 and third.n_trained_ == 0 and third.n_reused_ == 18
    assert third.best_params_ == second.best_params_
    np.testing.assert_array_equal(
        third.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"]
    )
    # other data -> other keys
    count_trainings["n"] = 0
    _search(store, n_iter=1).fit(X[:-1], Y[:-1])
    assert count_trainings["n"] == 3


_CHILD = """
import sys, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.simplefilter("ignore")
from xslatent import MLPEmulator
from xslatent.selection import RandomizedSearch
rng = np.random.default_rng(0)
X = rng.normal(size=(151, 4))
Y = np.c_[np.sin(X[:, :2]), X[:, 2:] ** 2, X.sum(1, keepdims=True), X[:, :1] * X[:, 1:2]]
space = {{"hidden_layer_sizes": {{"depth": [1, 2], "width": [6, 10, 14, 18]}},
          "learning_rate_init": [3e-3, 1e-2, 3e-2]}}
RandomizedSearch(MLPEmulator(max_iter={max_iter}), space, n_iter=8, cv=3, random_state=0,
                 store=sys.argv[1], max_group_size=3).fit(X, Y)
"""


def _rows(path):
    if not os.path.exists(path):
        return 0
    try:
        with sqlite3.connect(path, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_search_then_resume(tmp_path, data, count_trainings):
    X, Y = data
    max_iter = 60
    store = str(tmp_path / "killed.sqlite")
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD.format(max_iter=max_iter)))
    child = subprocess.Popen([sys.executable, str(script), store])
    try:
        deadline = time.time() + 60
        while _rows(store) < 3 and time.time() < deadline and child.poll() is None:
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    done = _rows(store)
    total = 8 * 3
    assert 0 < done < total, f"kill came too late or too early ({done} of {total} stored)"
    space = {
        "hidden_layer_sizes": SPACE["hidden_layer_sizes"],
        "learning_rate_init": [3e-3, 1e-2, 3e-2],
    }
    kw = dict(n_iter=8, cv=3, random_state=0, max_group_size=3, refit=False)
    resumed = RandomizedSearch(MLPEmulator(max_iter=max_iter), space, store=store, **kw).fit(X, Y)
    assert resumed.n_reused_ == done and resumed.n_trained_ == total - done
    assert count_trainings["n"] == total - done
    fresh = RandomizedSearch(MLPEmulator(max_iter=max_iter), space, **kw).fit(X, Y)
    assert resumed.best_params_ == fresh.best_params_
    np.testing.assert_allclose(
        resumed.cv_results_["mean_test_score"], fresh.cv_results_["mean_test_score"], rtol=1e-6
    )
