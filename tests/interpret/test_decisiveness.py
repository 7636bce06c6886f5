"""Decisiveness on data whose answer is known: decisive, independent inert, correlated inert."""

import numpy as np
import pytest

from xslatent import ECA, NNCA, GlobalSpectrumScaler, MLPEmulator
from xslatent.exceptions import InvalidParameterError
from xslatent.interpret import bootstrap, conditional_residuals, decisiveness, reconstructability

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")
NAMES = ["x1", "x2", "inert", "corr-inert"]


def _data(n=1500, seed=0):
    """Spectra depend on x1 (peak position) and x2 (height); x3 is independent noise and x4 is
    correlated 0.9 with x1 but has no effect of its own."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.standard_normal((3, n))
    x4 = 0.9 * x1 + np.sqrt(1 - 0.81) * rng.standard_normal(n)
    X = np.c_[x1, x2, x3, x4]
    e = np.linspace(0, 1, 30)
    Y = np.exp(-0.5 * ((e[None] - 0.5 - 0.1 * np.tanh(x1)[:, None]) / 0.08) ** 2) * (1 + 0.3 * x2[:, None])
    Y = Y + 0.01 * rng.standard_normal(Y.shape)
    return X, GlobalSpectrumScaler().fit(Y).transform(Y)


@pytest.fixture(scope="module")
def report():
    X, Y = _data()
    em = MLPEmulator((32, 32), max_iter=100, learning_rate_init=3e-3, early_stopping=True)
    return decisiveness(em, X[:1200], Y[:1200], X_eval=X[1200:], y_eval=Y[1200:], n_resamples=6,
                        random_state=0, feature_names=NAMES)


def test_decisive_and_inert_features_are_told_apart(report):
    assert report.decisive_.tolist() == [True, True, False, False]
    assert report.status == ["decisive", "decisive", "not decisive", "recoverable by correlation, not decisive"]
    # decisive: the drop is large; both inert ones: no drop at all (< 0.01 of the variance)
    assert report.drop.low[0] > 0.2 and report.drop.low[1] > 0.2
    assert np.all(np.abs(report.drop.values[:, 2:]) < 0.01)
    # the correlated inert feature *is* predicted by the spectra (that is the leakage)
    assert report.reconstructability.low[3] > 0.6
    assert report.reconstructability.high[2] < 0.05


def test_table_rows(report):
    row = report.table[3]
    assert row["feature"] == "corr-inert" and row["decisive"] is False
    assert row["drop_low"] <= row["drop"] <= row["drop_high"]
    assert isinstance(row["ridge_R2"], float)


def test_out_of_bag_rows_and_groups_give_the_same_answer():
    X, Y = _data(seed=1)
    em = MLPEmulator((32, 32), max_iter=100, learning_rate_init=3e-3, early_stopping=True)
    rep = decisiveness(em, X, Y, n_resamples=5, groups=np.repeat(np.arange(30), 50), random_state=0)
    assert rep.decisive_.tolist() == [True, True, False, False]
    assert rep.status[3] == "recoverable by correlation, not decisive"


def test_loadings_from_a_basis_ensemble():
    X, Y = _data(n=800, seed=2)
    ens = bootstrap(NNCA(2, decoder_layer_sizes=(32,), max_iter=60, learning_rate_init=3e-3), X, Y,
                    n_resamples=3, random_state=0)
    rep = decisiveness(ens, X, Y, random_state=0)
    assert rep.loadings.estimate.shape == (2, 4)
    assert "v2_low" in rep.table[0]
    # the decisive subspace is spanned by x1 and x2: the inert x3 loads on neither vector
    assert np.all(np.abs(rep.loadings.estimate[:, 2]) < 0.2)


def test_conditional_residuals_known_answer():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5000))
    X = np.c_[a, 2 * a + 0.1 * b]
    r = conditional_residuals(X, ridge=0.0)
    # x2 given x1: residual is the 0.1 b part
    assert np.corrcoef(r[:, 1], b)[0, 1] > 0.99
    assert np.std(r[:, 1]) == pytest.approx(0.1, rel=0.05)


def test_errors():
    X, Y = _data(n=200)
    with pytest.raises(InvalidParameterError, match="given together"):
        decisiveness(MLPEmulator((4,), max_iter=2), X, Y, X_eval=X)
    with pytest.raises(InvalidParameterError, match="'threshold' parameter of decisiveness"):
        decisiveness(MLPEmulator((4,), max_iter=2), X, Y, threshold=-1.0)


def test_reconstructability_next_to_direct_regression():
    """ECA k=1 on 1-D data: the decisive feature is reconstructed, the inert one is not;
    a direct ridge regression reads the correlated inert one too."""
    X, Y = _data(n=1000, seed=3)
    Y1 = Y  # x1 and x2 decisive; a rank-2 basis holds both
    em = MLPEmulator((32, 32), max_iter=100, learning_rate_init=3e-3, early_stopping=True)
    rep = reconstructability(ECA(em, 2, n_restarts=2, max_iter=300), X[:800], Y1[:800], X_test=X[800:],
                             y_test=Y1[800:], n_resamples=3, random_state=0, feature_names=NAMES,
                             max_rows=100, fit_latent_kw=dict(max_iter=100))
    lat, direct = rep.latent, rep.direct
    assert lat.estimate.shape == (4,)
    assert lat.low[1] > 0.8  # x2 (peak height) reconstructed
    assert abs(lat.estimate[2]) < 0.1  # independent inert: not
    assert direct.low[1] > 0.9 and direct.high[2] < 0.1
    assert rep.table[0]["feature"] == "x1" and "ridge_R2_low" in rep.table[0]
