"""Asynchronous successive halving: the promotion rule, equality with synchronous halving for
one wave, and resuming from the store."""

import math
import warnings

import numpy as np
import pytest

from xslatent import MLPEmulator
from xslatent.exceptions import ConvergenceWarning, InvalidParameterError
from xslatent.selection import AsynchronousHalving, RandomizedSearch, ResultStore, SuccessiveHalving

SPACE = {
    "hidden_layer_sizes": {"depth": [1, 2], "width": [6, 10]},
    "learning_rate_init": {"distribution": "loguniform", "low": 1e-3, "high": 3e-2},
    "alpha": [0.0, 1e-3],
}
EST = MLPEmulator(max_iter=24, tol=0.0, n_iter_no_change=100, dtype="float64")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _search(pruning, n_iter=12, **kw):
    return RandomizedSearch(EST, SPACE, n_iter=n_iter, cv=3, random_state=0, pruning=pruning, refit=False, **kw)


def test_one_wave_is_synchronous_halving(data):
    X, Y = data
    sync = _search(SuccessiveHalving(min_epochs=3, eta=2), n_iter=8).fit(X, Y)
    asha = _search(AsynchronousHalving(min_epochs=3, eta=2, wave_size=8), n_iter=8).fit(X, Y)
    assert list(asha.cv_results_["status"]) == list(sync.cv_results_["status"])
    np.testing.assert_array_equal(asha.cv_results_["mean_test_score"], sync.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(asha.cv_results_["mean_n_iter"], sync.cv_results_["mean_n_iter"])


def test_promotion_rule_replayed_from_the_stored_rung_scores(data, tmp_path):
    X, Y = data
    pruning = AsynchronousHalving(min_epochs=3, eta=2, wave_size=4)
    store = tmp_path / "a.sqlite"
    s = _search(pruning, store=store).fit(X, Y)
    res = s.cv_results_
    # replay: per wave, a candidate passes rung r iff its mean fold score there is in the top
    # half of all scores recorded at r by this and earlier waves
    with ResultStore(store) as st:
        rows = st._conn.execute("SELECT key, epoch, score FROM rungs").fetchall()
        keys = dict(st._conn.execute("SELECT key, params FROM results").fetchall())
    assert len(keys) == 12 * 3
    by_params = {}
    for key, epoch, score in rows:
        by_params.setdefault((keys[key], epoch), []).append(score)
    from xslatent.selection._store import canonical_params

    base = {k: v for k, v in EST.get_params(deep=False).items() if k not in ("verbose", "device")}
    history, expected = {3: [], 6: [], 12: []}, []
    for w in range(3):
        alive = set(range(4 * w, 4 * w + 4))
        pruned_at = {}
        for r in (3, 6, 12):
            means = {}
            for c in sorted(alive):
                p = canonical_params(res["params"][c])
                sc = by_params[(p, r)]
                assert len(sc) == 3
                means[c] = float(np.mean(sc))
            history[r] += list(means.values())
            bar = sorted(history[r], reverse=True)[math.ceil(len(history[r]) / 2) - 1]
            for c, m in means.items():
                if m < bar:
                    pruned_at[c] = r
                    alive.discard(c)
        expected += ["pruned" if c in pruned_at else "ok" for c in range(4 * w, 4 * w + 4)]
        for c, r in pruned_at.items():
            assert res["mean_n_iter"][c] == r
    assert list(res["status"]) == expected
    assert 0 < expected.count("ok") < 12
    assert [t for t, _ in s.best_score_trace_] == sorted(t for t, _ in s.best_score_trace_)
    assert s.best_score_trace_[-1][1] == pytest.approx(s.best_score_)


def test_asha_resumes_and_extends_from_the_store(data, tmp_path):
    X, Y = data
    pruning = AsynchronousHalving(min_epochs=3, eta=2, wave_size=4)
    store = tmp_path / "r.sqlite"
    first = _search(pruning, n_iter=8, store=store).fit(X, Y)
    again = _search(pruning, n_iter=8, store=store).fit(X, Y)
    assert again.n_trained_ == 0 and again.n_reused_ == 24
    assert list(again.cv_results_["status"]) == list(first.cv_results_["status"])
    # two more waves: the stored waves set the bar exactly as in one uninterrupted search
    extended = _search(pruning, n_iter=16, store=store).fit(X, Y)
    fresh = _search(pruning, n_iter=16).fit(X, Y)
    assert extended.n_reused_ == 24 and extended.n_trained_ == 24
    assert list(extended.cv_results_["status"]) == list(fresh.cv_results_["status"])
    np.testing.assert_allclose(
        extended.cv_results_["mean_test_score"], fresh.cv_results_["mean_test_score"], rtol=1e-10
    )


@pytest.mark.parametrize("min_epochs, wave", [(3, 4), (12, 2)])
def test_rung_folds_ranks_on_the_first_folds_and_cross_validates_the_finalists(data, tmp_path, min_epochs, wave):
    X, Y = data
    pruning = AsynchronousHalving(min_epochs=min_epochs, eta=2, wave_size=wave, rung_folds=1)
    rungs = pruning.rungs(24)
    store = tmp_path / "f.sqlite"
    s = _search(pruning, store=store).fit(X, Y)
    res = s.cv_results_
    plain = _search(None).fit(X, Y).cv_results_
    ok = [c for c in range(12) if res["status"][c] == "ok"]
    pruned = [c for c in range(12) if res["status"][c] == "pruned"]
    assert ok and pruned
    # a finalist trains every fold exactly as without pruning: its CV score is the plain one
    np.testing.assert_allclose(res["mean_test_score"][ok], plain["mean_test_score"][ok], rtol=1e-10)
    # a pruned candidate trained its first fold only (to the rung it lost at); reports that fold
    if min_epochs == 12:  # these lost at the folds' rung, after fold 0 trained to the end
        assert sum(res["mean_n_iter"][c] == 24 / 3 for c in pruned) == 3
    for c in pruned:
        assert np.isfinite(res["split0_test_score"][c])
        assert np.isnan(res["split1_test_score"][c]) and np.isnan(res["split2_test_score"][c])
        assert res["mean_test_score"][c] == res["split0_test_score"][c]
    assert s.n_trained_ == 12 + 2 * len(ok)
    # the promotion rule replayed on fold 0's stored rung scores alone
    with ResultStore(store) as st:
        rows = st._conn.execute("SELECT key, epoch, score FROM rungs").fetchall()
        keys = dict(st._conn.execute("SELECT key, params FROM results").fetchall())
    from xslatent.selection._store import canonical_params

    by_params = {}
    for key, epoch, score in rows:
        by_params.setdefault((keys[key], epoch), []).append(score)
    history, expected = {**{r: [] for r in rungs}, "end": []}, []
    for w in range(12 // wave):
        alive, lost = set(range(wave * w, wave * w + wave)), set()
        for r in rungs:
            means = {}
            for c in sorted(alive):
                sc = by_params[(canonical_params(res["params"][c]), r)]
                assert len(sc) == 1
                means[c] = sc[0]
            history[r] += list(means.values())
            bar = sorted(history[r], reverse=True)[math.ceil(len(history[r]) / 2) - 1]
            lost |= {c for c, m in means.items() if m < bar}
            alive -= lost
        # the folds' rung: fold 0 trained to the end, against every such score so far
        means = {c: res["split0_test_score"][c] for c in sorted(alive)}
        history["end"] += list(means.values())
        bar = sorted(history["end"], reverse=True)[math.ceil(len(history["end"]) / 2) - 1]
        lost |= {c for c, m in means.items() if m < bar}
        expected += ["pruned" if c in lost else "ok" for c in range(wave * w, wave * w + wave)]
    assert list(res["status"]) == expected
    # resumed and extended from the store: as one uninterrupted search
    again = _search(pruning, store=store).fit(X, Y)
    assert again.n_trained_ == 0 and list(again.cv_results_["status"]) == expected
    extended = _search(pruning, n_iter=20, store=store).fit(X, Y)
    fresh = _search(pruning, n_iter=20).fit(X, Y)
    assert list(extended.cv_results_["status"]) == list(fresh.cv_results_["status"])
    np.testing.assert_allclose(
        extended.cv_results_["mean_test_score"], fresh.cv_results_["mean_test_score"], rtol=1e-10
    )
    # on a store written with all folds at the rungs, its pruned trainings are redone and its
    # finished ones reused: a candidate with every fold finished there reports its CV score
    other = tmp_path / "g.sqlite"
    allf = _search(AsynchronousHalving(min_epochs=min_epochs, eta=2, wave_size=wave), store=other).fit(X, Y)
    mixed = _search(pruning, store=other).fit(X, Y)
    want = ["ok" if "ok" in (e, a) else "pruned" for e, a in zip(expected, allf.cv_results_["status"])]
    assert list(mixed.cv_results_["status"]) == want
    ok = [c for c in range(12) if want[c] == "ok"]
    np.testing.assert_allclose(mixed.cv_results_["mean_test_score"][ok], plain["mean_test_score"][ok], rtol=1e-10)


def test_asha_parameters_are_checked():
    with pytest.raises(InvalidParameterError, match="'wave_size' parameter of AsynchronousHalving"):
        AsynchronousHalving(wave_size=0)
    with pytest.raises(InvalidParameterError, match="'rung_folds' parameter of AsynchronousHalving"):
        AsynchronousHalving(rung_folds=0)
    assert RandomizedSearch(EST, SPACE, pruning="asha").get_params()["pruning"] == "asha"


def test_rung_folds_with_an_estimator_that_cannot_pause(data):
    """A scikit-learn MLP trains to its end at once: it has no score at the epoch rungs, so
    it is not ranked there (not pruned for the missing score) and the folds' rung decides."""
    from sklearn.neural_network import MLPRegressor

    X, Y = data
    est = MLPRegressor(max_iter=30, random_state=0)
    space = {"hidden_layer_sizes": [(8,), (16,), (32,)], "alpha": [1e-4, 1e-2],
             "learning_rate_init": [1e-3, 1e-2]}
    pruning = AsynchronousHalving(min_epochs=3, eta=3, wave_size=4, rung_folds=1)
    s = RandomizedSearch(est, space, n_iter=8, cv=3, random_state=0, pruning=pruning, refit=False).fit(X, Y)
    res = s.cv_results_
    # per wave of 4, the folds' rung keeps the top third of every finished fold-0 score so far
    f0, seen, expected = res["split0_test_score"], [], []
    for w in range(2):
        seen += list(f0[4 * w: 4 * w + 4])
        bar = sorted(seen, reverse=True)[math.ceil(len(seen) / 3) - 1]
        expected += ["ok" if f0[c] >= bar else "pruned" for c in range(4 * w, 4 * w + 4)]
    assert list(res["status"]) == expected and 2 <= expected.count("ok") < 8
    assert s.n_trained_ == 8 + 2 * expected.count("ok")


def test_the_promotion_rule_shared_by_both_halvings():
    from xslatent.selection._search import _below_the_bar

    means = {"a": 0.9, "b": 0.8, "c": 0.8, "d": math.nan}
    # synchronous halving records one rung: 3 finite scores, eta 3 keeps ceil(3 / 3) = 1
    assert _below_the_bar(means, means.values(), 3) == {"b", "c", "d"}
    # eta 2 keeps ceil(3 / 2) = 2: the bar is 0.8, both tied at it go on; NaN never does
    assert _below_the_bar(means, means.values(), 2) == {"d"}
    # ASHA: against every score recorded at the rung, earlier waves' too
    assert _below_the_bar({"a": 0.9}, [0.97, 0.95, 0.9], 3) == {"a"}
    assert _below_the_bar({"a": 0.98}, [0.97, 0.95, 0.98], 3) == set()
    # nothing finite recorded: nobody is promoted
    assert _below_the_bar({"a": math.nan}, [math.nan], 3) == {"a"}
