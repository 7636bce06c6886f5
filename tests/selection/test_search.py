import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from xslatent import EDNN, NNCA, MLPEmulator
from xslatent.exceptions import ConvergenceWarning, InvalidParameterError
from xslatent.selection import RandomizedSearch, SuccessiveHalving, candidate_seed

SPACE = {
    "hidden_layer_sizes": {"depth": [1, 2], "width": [6, 10]},
    "learning_rate_init": {"distribution": "loguniform", "low": 3e-3, "high": 3e-2},
    "alpha": [0.0, 1e-3],
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _search(est, space=SPACE, **kw):
    kw.setdefault("n_iter", 6)
    kw.setdefault("cv", 3)
    kw.setdefault("random_state", 0)
    return RandomizedSearch(est, space, **kw)


@pytest.mark.parametrize(
    "est, space",
    [
        (MLPEmulator(max_iter=15, dtype="float64"), SPACE),
        (
            EDNN(2, max_iter=30, early_stopping=True, dtype="float64"),
            {
                "encoder_layer_sizes": {"depth": [1, 2], "width": [6]},
                "decoder_layer_sizes": [(5,), (8,)],
                "learning_rate_init": [3e-3, 1e-2],
            },
        ),
        (
            NNCA(2, max_iter=15, dtype="float64"),
            {
                "decoder_layer_sizes": {"depth": [1], "width": [6, 9]},
                "alpha": [0.0, 1e-2],
                "learning_rate_init": [1e-2],
            },
        ),
    ],
    ids=["mlp", "ednn-early", "nnca"],
)
def test_batched_search_equals_unbatched(est, space, data):
    X, Y = data
    a = _search(est, space, batched=True).fit(X, Y)
    b = _search(est, space, batched=False).fit(X, Y)
    assert a.best_params_ == b.best_params_
    for k in range(3):
        np.testing.assert_allclose(
            a.cv_results_[f"split{k}_test_score"],
            b.cv_results_[f"split{k}_test_score"],
            rtol=1e-9,
            atol=1e-11,
        )
    np.testing.assert_array_equal(a.cv_results_["mean_n_iter"], b.cv_results_["mean_n_iter"])


def test_results_table_and_refit(data, tmp_path):
    X, Y = data
    s = _search(MLPEmulator(max_iter=10, dtype="float64")).fit(X, Y)
    res = s.cv_results_
    n = len(res["params"])
    assert n == 6
    for key in (
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "split2_test_score",
        "seed",
        "param_hidden_layer_sizes",
        "param_learning_rate_init",
        "mean_fit_time",
        "status",
    ):
        assert len(res[key]) == n
    assert res["rank_test_score"][s.best_index_] == 1
    assert s.best_score_ == pytest.approx(np.nanmax(res["mean_test_score"]))
    assert s.best_params_ == res["params"][s.best_index_]
    assert list(res["seed"]) == [candidate_seed(0, i) for i in range(n)]
    # the folds are KFold(shuffle=True, random_state) and the score is the mean fold R2
    assert res["mean_test_score"][0] == pytest.approx(
        np.mean([res[f"split{k}_test_score"][0] for k in range(3)])
    )
    # refit: the best candidate, its seed, all data
    ref = (
        MLPEmulator(max_iter=10, dtype="float64")
        .set_params(**s.best_params_, random_state=s.best_seed_)
        .fit(X, Y)
    )
    np.testing.assert_allclose(s.best_estimator_.predict(X), ref.predict(X), rtol=1e-12)
    assert s.score(X, Y) == pytest.approx(ref.score(X, Y))
    path = tmp_path / "cv.csv"
    res.to_csv(path)
    lines = path.read_text().splitlines()
    assert len(lines) == n + 1 and lines[0].startswith("param_alpha,")
    assert "params" not in lines[0].split(",")
    assert json.loads(lines[1].split('"')[1]) == list(res["param_hidden_layer_sizes"][0])


def test_same_seed_same_search(data):
    X, Y = data
    a = _search(MLPEmulator(max_iter=5), refit=False).fit(X, Y)
    b = _search(MLPEmulator(max_iter=5), refit=False).fit(X, Y)
    np.testing.assert_array_equal(
        a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"]
    )
    assert not hasattr(a, "best_estimator_")
    c = _search(MLPEmulator(max_iter=5), refit=False, random_state=1).fit(X, Y)
    assert a.cv_results_["params"][0] != c.cv_results_["params"][0]


def test_symbolic_widths_resolved(data):
    X, Y = data
    s = _search(
        EDNN(1, max_iter=3),
        {
            "encoder_layer_sizes": {"depth": [1, 2], "width": ["n_features"]},
            "decoder_layer_sizes": {"depth": [1], "width": ["n_outputs"]},
        },
        n_iter=2,
        cv=2,
        refit=False,
    ).fit(X, Y)
    for p in s.cv_results_["params"]:
        assert set(p["encoder_layer_sizes"]) == {4} and p["decoder_layer_sizes"] == (6,)


def test_halving_prunes_and_keeps_survivors_exact(data):
    X, Y = data
    est = MLPEmulator(max_iter=24, dtype="float64")
    plain = _search(est, n_iter=8).fit(X, Y)
    pruned = _search(est, n_iter=8, pruning=SuccessiveHalving(min_epochs=3, eta=2)).fit(X, Y)
    status = pruned.cv_results_["status"]
    assert list(status).count("ok") == 1 and set(status) == {"ok", "pruned"}
    ok = int(np.flatnonzero(status == "ok")[0])
    assert pruned.best_index_ == ok
    # a survivor trains exactly as without pruning
    for k in range(3):
        assert pruned.cv_results_[f"split{k}_test_score"][ok] == pytest.approx(
            plain.cv_results_[f"split{k}_test_score"][ok], rel=1e-10
        )
    assert pruned.cv_results_["rank_test_score"][ok] == 1
    assert set(pruned.cv_results_["mean_n_iter"][status == "pruned"]) <= {3.0, 6.0, 12.0}


def _reference_cv_scores(X, Y, alphas, cv=3, random_state=0):
    """Mean fold R2 of Ridge per alpha, computed with scikit-learn alone (same KFold)."""
    from sklearn.metrics import r2_score as sk_r2
    from sklearn.model_selection import KFold

    folds = list(KFold(cv, shuffle=True, random_state=random_state).split(X))
    return [
        np.mean([sk_r2(Y[te], Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te]),
                       multioutput="variance_weighted") for tr, te in folds])
        for a in alphas
    ]


def test_generic_estimator_falls_back(data):
    X, Y = data
    s = _search(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, n_iter=3).fit(X, Y)
    assert s.best_params_["alpha"] in (0.1, 1.0, 10.0)
    assert s.best_score_ > 0
    # the scores are scikit-learn's own cross-validation of Ridge with the generalized R2
    alphas = [p["alpha"] for p in s.cv_results_["params"]]
    assert sorted(alphas) == [0.1, 1.0, 10.0]
    expected = _reference_cv_scores(X, Y, alphas)
    np.testing.assert_allclose(s.cv_results_["mean_test_score"], expected, rtol=1e-10)
    assert s.best_params_["alpha"] == alphas[int(np.argmax(expected))]
    assert s.best_score_ == pytest.approx(max(expected), rel=1e-10)


def test_ridge_search_known_answer():
    """Linear targets with 1 % noise: the least-shrunk Ridge wins with R2 = 1 - noise share."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    B = rng.normal(size=(4, 5))
    noise = 0.1 * rng.normal(size=(200, 5))
    Y = X @ B + noise
    alphas = [1e-3, 10.0, 1000.0]
    s = _search(Ridge(), {"alpha": alphas}, n_iter=3).fit(X, Y)
    by_alpha = dict(zip([p["alpha"] for p in s.cv_results_["params"]], s.cv_results_["mean_test_score"]))
    assert s.best_params_ == {"alpha": 1e-3}
    # the attainable R2 is 1 - var(noise) / var(Y); more shrinkage only loses
    ceiling = 1 - np.sum(noise.var(0)) / np.sum(Y.var(0))
    assert by_alpha[1e-3] == pytest.approx(ceiling, abs=0.002)
    assert by_alpha[1e-3] > by_alpha[10.0] > by_alpha[1000.0]
    assert by_alpha[1000.0] < 0.5  # alpha = 1000 against ~130 training rows shrinks most of B
    np.testing.assert_allclose([by_alpha[a] for a in alphas], _reference_cv_scores(X, Y, alphas),
                               rtol=1e-10)
    # refit on all rows: the estimator is Ridge(alpha=1e-3) on (X, Y)
    np.testing.assert_allclose(s.best_estimator_.coef_, Ridge(alpha=1e-3).fit(X, Y).coef_)


def test_failed_candidates_are_reported(data):
    X, Y = data
    s = _search(NNCA(max_iter=3), {"n_components": [1, 9]}, n_iter=2, refit=False).fit(X, Y)
    st = dict(zip([p["n_components"] for p in s.cv_results_["params"]], s.cv_results_["status"]))
    assert st == {1: "ok", 9: "failed"}
    assert s.best_params_ == {"n_components": 1}


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"n_iter": 0}, "n_iter"),
        ({"cv": 1}, "cv"),
        ({"pruning": "fast"}, "pruning"),
        ({"random_state": -1}, "random_state"),
        ({"batched": "yes"}, "batched"),
    ],
)
def test_bad_search_parameters(kw, name, data):
    X, Y = data
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of RandomizedSearch"):
        _search(MLPEmulator(max_iter=2), **kw).fit(X, Y)


def test_space_checked_against_estimator(data):
    X, Y = data
    with pytest.raises(InvalidParameterError, match="'encoder_layer_sizes'.*MLPEmulator"):
        _search(MLPEmulator(), {"encoder_layer_sizes": [(4,)]}).fit(X, Y)
