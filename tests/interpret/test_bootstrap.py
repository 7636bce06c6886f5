"""Bootstrap ensembles: batched members equal one-by-one fits; intervals mean what they say."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from xslatent import ECA, NNCA, GlobalSpectrumScaler, MLPEmulator
from xslatent.datasets import make_subspace_spectra
from xslatent.exceptions import InvalidParameterError
from xslatent.interpret import align_components, bootstrap, intervals_separate

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def data():
    X, Y, W, _ = make_subspace_spectra(1000, 4, 1, 30, noise=0.02, random_state=0)
    Y = GlobalSpectrumScaler().fit(Y).transform(Y)
    return X[:800], Y[:800], X[800:], Y[800:], W, np.repeat(np.arange(16), 50)


@pytest.mark.parametrize("make", [
    lambda: MLPEmulator((16,), max_iter=15, dtype="float64"),
    lambda: NNCA(1, decoder_layer_sizes=(16,), max_iter=15, dtype="float64"),
], ids=["emulator", "nnca"])
def test_batched_members_equal_separate_fits(data, make):
    X, Y, Xt, Yt, _, g = data
    a = bootstrap(make(), X, Y, n_resamples=4, groups=g, random_state=0)
    b = bootstrap(make(), X, Y, n_resamples=4, groups=g, random_state=0, batched=False)
    np.testing.assert_allclose(a.scores(Xt, Yt), b.scores(Xt, Yt), atol=1e-10)
    for ea, eb in zip(a.estimators_, b.estimators_):
        assert ea.seed_ == eb.seed_ and ea.n_iter_ == eb.n_iter_
    # members differ from each other (rows and seeds)
    assert np.ptp(a.scores(Xt, Yt)) > 0


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("warm", [False, True])
def test_early_stopping_members_validate_on_their_out_of_bag_groups(data, batched, warm):
    from xslatent.metrics import r2_score

    X, Y, _, _, _, g = data
    est = MLPEmulator((16,), max_iter=12, early_stopping=True, n_iter_no_change=3, dtype="float64",
                      random_state=0)
    if warm:
        est.fit(X, Y)
    ens = bootstrap(est, X, Y, n_resamples=3, groups=g, random_state=2, batched=batched, warm_start=warm)
    for m, oob in zip(ens.estimators_, ens.oob_indices_):
        assert len(oob) >= 50  # whole groups left out
        # the network kept is the best epoch on the out-of-bag rows, none of which it trained on
        assert max(m.validation_scores_) == pytest.approx(r2_score(Y[oob], m.predict(X[oob])), abs=1e-10)


def test_group_resampling_draws_whole_groups(data):
    X, Y, _, _, _, g = data
    ens = bootstrap(Ridge(), X, Y, n_resamples=5, groups=g, random_state=1)
    for rows, oob in zip(ens.train_indices_, ens.oob_indices_):
        assert len(rows) == len(X)  # 16 groups of 50 drawn with replacement
        drawn = np.unique(g[rows])
        for lab in drawn:  # each drawn group appears whole (a multiple of its 50 rows)
            assert np.sum(g[rows] == lab) % 50 == 0
        assert set(g[oob]).isdisjoint(drawn)
        assert set(np.unique(g[oob])) | set(drawn) == set(np.unique(g))


def test_eca_members_use_their_own_emulators(data):
    X, Y, Xt, Yt, W, _ = data
    em = MLPEmulator((16,), max_iter=20, random_state=0).fit(X, Y)
    eca = ECA(em, 2, n_restarts=2, max_iter=200, random_state=0).fit(X, Y)
    ens = bootstrap(eca, X, Y, n_resamples=3, random_state=0)
    assert ens.reference_ is eca
    assert len({id(m.emulator_) for m in ens.estimators_}) == 3
    assert all(m.emulator_ is not em for m in ens.estimators_)
    iv = ens.r2_per_rank_interval(Xt, Yt)
    assert iv.values.shape == (3, 2) and np.all(iv.low <= iv.high)
    own = ens.r2_per_rank_interval()  # each member's r2_per_rank_ on its own rows
    np.testing.assert_array_equal(own.values, [m.r2_per_rank_ for m in ens.estimators_])
    ci = ens.components_interval()
    assert ci.estimate.shape == (2, 4)


def test_align_components_known_answer():
    rng = np.random.default_rng(0)
    V = np.linalg.qr(rng.standard_normal((5, 2)))[0].T
    theta = 0.7
    R = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    np.testing.assert_allclose(align_components(R @ V, V), V, atol=1e-12)
    np.testing.assert_allclose(align_components(-V[:1], V[:1]), V[:1])
    with pytest.raises(InvalidParameterError, match="'reference' argument"):
        align_components(V, V[:1])


def test_basis_interval_covers_known_vector(data):
    """The 90 % interval of each entry of the k=1 basis holds the true decisive direction."""
    X, Y, _, _, W, g = data
    ens = bootstrap(NNCA(1, decoder_layer_sizes=(32,), max_iter=100, learning_rate_init=3e-3),
                    X, Y, n_resamples=8, groups=g, random_state=0)
    iv = ens.components_interval(W)
    assert np.all((iv.low[0] <= W[0] + 0.02) & (W[0] - 0.02 <= iv.high[0])), (iv.low, W, iv.high)
    assert np.all(iv.high - iv.low < 0.2)


def test_reconstruction_intervals_per_group(data):
    X, Y, Xt, Yt, _, _ = data
    ens = bootstrap(NNCA(1, decoder_layer_sizes=(16,), max_iter=20), X, Y, n_resamples=3, random_state=0)
    labels = np.repeat([0.0, 10.0], 20)
    rows, means = ens.reconstruct_interval(Yt[:40], groups=labels, max_iter=50)
    assert rows.values.shape == (3, 40, 4)
    assert sorted(means) == [0.0, 10.0]
    np.testing.assert_allclose(means[10.0].values, rows.values[:, 20:].mean(axis=1))


def test_intervals_separate_and_format(data):
    X, Y, Xt, Yt, _, _ = data
    ens = bootstrap(Ridge(), X, Y, n_resamples=6, random_state=0)
    iv = ens.score_interval(Xt, Yt)
    assert iv.low <= iv.estimate <= iv.high
    assert iv.format(2).count("[") == 1
    worse = bootstrap(Ridge(), X[:, :1], Y, n_resamples=6, random_state=0).score_interval(Xt[:, :1], Yt)
    assert intervals_separate(iv, worse) == (iv.low > worse.high or worse.low > iv.high)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_resamples=1), "'n_resamples' parameter of bootstrap"),
    (dict(groups=np.zeros(800)), "at least 2 distinct groups"),
    (dict(groups=np.zeros(5)), "one label per sample"),
])
def test_bootstrap_errors(data, kwargs, match):
    X, Y = data[0], data[1]
    with pytest.raises(InvalidParameterError, match=match):
        bootstrap(Ridge(), X, Y, **kwargs)


def test_eca_on_emulator_ensemble_warm_start(data):
    from xslatent.interpret import eca_on_ensemble

    X, Y, Xt, Yt, W, g = data
    em = MLPEmulator((32,), max_iter=40, learning_rate_init=3e-3, random_state=0)
    eca = ECA(em.fit(X, Y), 1, n_restarts=2, random_state=0).fit(X, Y)
    ems = bootstrap(em, X, Y, n_resamples=3, groups=g, random_state=0)
    ens = eca_on_ensemble(eca, ems, X, Y, warm_start=True)
    assert [m.emulator_ for m in ens.estimators_] == ems.estimators_
    assert all(m.n_restarts == 1 and np.allclose(m.init, eca.components_) for m in ens.estimators_)
    assert all(np.array_equal(a, b) for a, b in zip(ens.train_indices_, ems.train_indices_))
    # members find the known direction from the warm start
    assert np.all(np.abs(ens.aligned_components()[:, 0] @ W[0]) > 0.95)
    with pytest.raises(InvalidParameterError, match="must be fitted when warm_start=True"):
        eca_on_ensemble(ECA(em, 1), ems, X, Y, warm_start=True)


def test_eca_init_shape_is_checked(data):
    X, Y = data[0], data[1]
    em = MLPEmulator((8,), max_iter=5, random_state=0).fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"'init' parameter of ECA must have shape .*\(1, 4\)"):
        ECA(em, 1, init=[[1.0, 0.0]]).fit(X, Y)


@pytest.mark.parametrize("make", [
    lambda: MLPEmulator((16,), max_iter=200, learning_rate_init=3e-3, early_stopping=True,
                        n_iter_no_change=5, dtype="float64", random_state=0),
    lambda: NNCA(2, decoder_layer_sizes=(16,), max_iter=200, learning_rate_init=3e-3, early_stopping=True,
                 n_iter_no_change=5, dtype="float64", random_state=0),
], ids=["emulator", "nnca"])
def test_warm_members_start_from_the_fitted_weights(data, make):
    X, Y, Xt, Yt, _, g = data
    ref = make().fit(X, Y)
    # a vanishing learning rate: warm members stay where they started, i.e. at the reference
    frozen = bootstrap(ref.set_params(learning_rate_init=1e-14), X, Y, n_resamples=3, groups=g,
                       random_state=0, warm_start=True)
    for m in frozen.estimators_:
        np.testing.assert_allclose(m.predict(Xt), ref.predict(Xt), atol=1e-9)
    ref.set_params(learning_rate_init=3e-3)
    warm = bootstrap(ref, X, Y, n_resamples=3, groups=g, random_state=0, warm_start=True)
    cold = bootstrap(ref, X, Y, n_resamples=3, groups=g, random_state=0)
    # the same rows and seeds; warm members stop sooner (they start converged) ...
    assert [m.seed_ for m in warm.estimators_] == [m.seed_ for m in cold.estimators_]
    assert sum(m.n_iter_ for m in warm.estimators_) < sum(m.n_iter_ for m in cold.estimators_)
    # ... and the stacked warm members equal one-by-one warm fits
    single = bootstrap(ref, X, Y, n_resamples=3, groups=g, random_state=0, warm_start=True, batched=False)
    np.testing.assert_allclose(warm.scores(Xt, Yt), single.scores(Xt, Yt), atol=1e-10)


def test_warm_start_of_eca_reuses_emulator_weights_and_basis(data):
    X, Y, Xt, Yt, W, g = data
    em = MLPEmulator((32,), max_iter=40, learning_rate_init=3e-3, random_state=0).fit(X, Y)
    eca = ECA(em, 1, n_restarts=2, random_state=0).fit(X, Y)
    ens = bootstrap(eca, X, Y, n_resamples=3, groups=g, random_state=0, warm_start=True)
    assert all(m.n_restarts == 1 and np.allclose(m.init, eca.components_) for m in ens.estimators_)
    assert all(m.emulator_ is not em for m in ens.estimators_)
    assert np.all(np.abs(ens.aligned_components()[:, 0] @ W[0]) > 0.95)


@pytest.mark.parametrize("est", [Ridge(), MLPEmulator((8,))], ids=["not torch", "unfitted"])
def test_warm_start_needs_a_fitted_network(data, est):
    X, Y = data[0], data[1]
    with pytest.raises(InvalidParameterError, match="must be a fitted torch estimator .* when warm_start=True"):
        bootstrap(est, X, Y, n_resamples=2, warm_start=True)
