"""Nested models: exact embeddings (xslatent.nn._warm), warm starts and the fallback rule."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeCV

from xslatent import ECA, EDNN, NNCA, MLPEmulator
from xslatent.datasets import make_subspace_spectra
from xslatent.exceptions import InvalidParameterError
from xslatent.nn._modules import init_linear_layers, make_mlp
from xslatent.nn._warm import embed_affine
from xslatent.pipeline.analysis import nest_or_warm_start
from xslatent.selection import warm_started_ednn, warm_started_emulator, warm_started_nnca

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("hidden", [(), (6,), (8, 7, 9)])
def test_embed_affine_is_exact(activation, hidden):
    rng = np.random.default_rng(0)
    A, a = rng.standard_normal((3, 5)), rng.standard_normal(3)
    B, c = rng.standard_normal((4, 3)), rng.standard_normal(4)
    mlp = make_mlp(5, hidden, 4, activation).double()
    init_linear_layers(mlp, torch.Generator().manual_seed(1))
    embed_affine(mlp, A, a, B, c)
    X = rng.standard_normal((50, 5)) * 3
    with torch.no_grad():
        out = mlp(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(out, (X @ A.T + a) @ B.T + c, atol=1e-12)


def test_embed_affine_needs_room_and_relu():
    with pytest.raises(ValueError, match="at least 2 \\* 3 = 6 wide"):
        embed_affine(make_mlp(5, (5,), 4), np.ones((3, 5)), B=np.ones((4, 3)))
    with pytest.raises(ValueError, match="ReLU or leaky-ReLU"):
        embed_affine(make_mlp(5, (8,), 4, "tanh"), np.ones((3, 5)), B=np.ones((4, 3)))


@pytest.fixture(scope="module")
def data():
    X, Y, _, _ = make_subspace_spectra(900, 6, 2, 30, noise=0.01, random_state=3)
    Y = (Y - Y.mean(0)) / Y.std()
    return X[:600], Y[:600], X[600:], Y[600:]


@pytest.fixture(scope="module")
def nnca(data):
    Xtr, Ytr, _, _ = data
    return NNCA(2, decoder_layer_sizes=(32, 32), max_iter=40, learning_rate_init=3e-3, random_state=0).fit(Xtr, Ytr)


def test_ednn_warm_started_from_nnca_reproduces_then_improves(data, nnca):
    Xtr, Ytr, Xte, Yte = data
    # "before training": one Adam step of size 1e-12 leaves the embedded network unchanged
    ednn0 = EDNN(2, encoder_layer_sizes=(16, 16), decoder_layer_sizes=(32, 32), learning_rate_init=1e-12,
                 max_iter=1, random_state=5).fit(Xtr, Ytr, init_from=nnca)
    np.testing.assert_allclose(ednn0.predict(Xte), nnca.predict(Xte), atol=1e-5)
    ednn = EDNN(2, encoder_layer_sizes=(16, 16), decoder_layer_sizes=(32, 32), learning_rate_init=1e-3,
                max_iter=30, early_stopping=True, random_state=5).fit(Xtr, Ytr, init_from=nnca)
    assert ednn.score(Xte, Yte) >= nnca.score(Xte, Yte) - 0.01
    # a cold start with the same budget stays far below
    cold = EDNN(2, encoder_layer_sizes=(16, 16), decoder_layer_sizes=(32, 32), learning_rate_init=1e-3,
                max_iter=30, early_stopping=True, random_state=5).fit(Xtr, Ytr)
    assert ednn.score(Xte, Yte) > cold.score(Xte, Yte)


def test_warm_start_rejects_mismatched_models(data, nnca):
    Xtr, Ytr, _, _ = data
    with pytest.raises(InvalidParameterError, match="decoder_layer_sizes equal to the NNCA's \\(32, 32\\)"):
        EDNN(2, encoder_layer_sizes=(16,), decoder_layer_sizes=(8,), max_iter=1).fit(Xtr, Ytr, init_from=nnca)
    with pytest.raises(InvalidParameterError, match="encoder_layer_sizes all >= 2 \\* n_components = 4"):
        EDNN(2, encoder_layer_sizes=(3,), decoder_layer_sizes=(32, 32), max_iter=1).fit(Xtr, Ytr, init_from=nnca)
    with pytest.raises(InvalidParameterError, match="a fitted NNCA"):
        EDNN(2, max_iter=1).fit(Xtr, Ytr, init_from=NNCA(2))
    with pytest.raises(InvalidParameterError, match="'init_from' argument of MLPEmulator.fit must be a fitted linear"):
        MLPEmulator((8,), max_iter=1).fit(Xtr, Ytr, init_from=nnca)


@pytest.mark.parametrize("transpose", [False, True])
def test_emulator_warm_started_from_ridge_reproduces_it(data, transpose):
    Xtr, Ytr, Xte, Yte = data
    if transpose:  # more inputs than outputs: the embedding goes through the coefficients
        Xtr, Ytr, Xte = Ytr, Xtr, Yte
    ridge = RidgeCV().fit(Xtr, Ytr)
    em = MLPEmulator((64, 64), learning_rate_init=1e-12, max_iter=1, random_state=0).fit(Xtr, Ytr, init_from=ridge)
    np.testing.assert_allclose(em.predict(Xte), ridge.predict(Xte), atol=1e-5)


def test_fallback_rule_uses_cv_scores(data, nnca):
    Xtr, Ytr, Xte, Yte = data
    searched = EDNN(2, encoder_layer_sizes=(3,), decoder_layer_sizes=(4,), max_iter=3, random_state=0).fit(Xtr, Ytr)
    model, fb = nest_or_warm_start("EDNN k=2", searched, 0.40, "NNCA k=2", 0.95,
                                   lambda: warm_started_ednn(searched, nnca, Xtr, Ytr))
    assert fb.used == "warm start from NNCA k=2"
    assert fb.line() == "EDNN k=2: warm start from NNCA k=2 (searched CV 0.4000 < NNCA k=2 CV 0.9500)"
    assert model.encoder_layer_sizes == (4,) and model.decoder_layer_sizes == (32, 32)
    assert model.score(Xte, Yte) >= nnca.score(Xte, Yte) - 0.01
    kept, fb = nest_or_warm_start("EDNN k=2", searched, 0.96, "NNCA k=2", 0.95, lambda: 1 / 0)
    assert kept is searched and fb.used == "search"


def test_warm_started_emulator_is_at_least_ridge(data):
    Xtr, Ytr, Xte, Yte = data
    ridge = RidgeCV().fit(Xtr, Ytr)
    template = MLPEmulator((4,), learning_rate_init=1e-2, max_iter=20, early_stopping=True, random_state=0)
    em = warm_started_emulator(template, ridge, Xtr, Ytr)
    assert em.hidden_layer_sizes == (12,) and em.learning_rate_init == 1e-3
    assert em.score(Xte, Yte) >= ridge.score(Xte, Yte) - 0.005


def test_float64_warm_start_is_exact(data):
    Xtr, Ytr, Xte, _ = data
    nnca = NNCA(1, decoder_layer_sizes=(8,), max_iter=3, dtype="float64", random_state=0).fit(Xtr, Ytr)
    ednn = EDNN(1, encoder_layer_sizes=(4, 4), decoder_layer_sizes=(8,), learning_rate_init=1e-300, max_iter=1,
                dtype="float64", random_state=0).fit(Xtr, Ytr, init_from=nnca)
    np.testing.assert_allclose(ednn.predict(Xte), nnca.predict(Xte), atol=1e-12)


@pytest.fixture(scope="module")
def eca(data):
    Xtr, Ytr, _, _ = data
    em = MLPEmulator((32, 32), max_iter=60, random_state=0).fit(Xtr, Ytr)
    return ECA(em, n_components=2, random_state=0).fit(Xtr, Ytr)


@pytest.mark.parametrize("k", [1, 2])
def test_nnca_warm_started_from_eca_reproduces_then_improves(data, eca, k):
    Xtr, Ytr, Xte, Yte = data
    nnca0 = NNCA(k, decoder_layer_sizes=(32, 32), learning_rate_init=1e-12, max_iter=1,
                 random_state=0).fit(Xtr, Ytr, init_from=eca)
    np.testing.assert_allclose(nnca0.predict(Xte), eca.predict(Xte, n_components=k), atol=1e-5)
    # the same span (the rank rotation after training may turn the basis within it)
    V, U = nnca0.components_, eca.components_[:k]
    np.testing.assert_allclose(V.T @ V, U.T @ U, atol=1e-6)
    warm = warm_started_nnca(NNCA(k, decoder_layer_sizes=(4,), activation="tanh", learning_rate_init=1e-2,
                                  max_iter=30, early_stopping=True, random_state=0), eca, Xtr, Ytr)
    assert warm.decoder_layer_sizes == (32, 32) and warm.activation == "relu"
    assert warm.learning_rate_init == 1e-3
    assert warm.score(Xtr, Ytr) >= eca.score(Xtr, Ytr, n_components=k) - 0.005
    assert warm.score(Xte, Yte) >= eca.score(Xte, Yte, n_components=k) - 0.01
    cold = NNCA(k, decoder_layer_sizes=(32, 32), max_iter=30, early_stopping=True, random_state=0).fit(Xtr, Ytr)
    assert warm.score(Xte, Yte) > cold.score(Xte, Yte) + 0.05  # the same budget from scratch stays far below


def test_nnca_warm_start_rejects_mismatched_models(data, eca):
    Xtr, Ytr, _, _ = data
    with pytest.raises(InvalidParameterError, match="hidden_layer_sizes equal to the NNCA's decoder_layer_sizes \\(8,\\)"):
        NNCA(1, decoder_layer_sizes=(8,), max_iter=1).fit(Xtr, Ytr, init_from=eca)
    with pytest.raises(InvalidParameterError, match="at least n_components = 3 vectors"):
        NNCA(3, decoder_layer_sizes=(32, 32), max_iter=1).fit(Xtr, Ytr, init_from=eca)
    with pytest.raises(InvalidParameterError, match="activation 'relu'"):
        NNCA(1, decoder_layer_sizes=(32, 32), activation="tanh", max_iter=1).fit(Xtr, Ytr, init_from=eca)
    with pytest.raises(InvalidParameterError, match="a fitted ECA \\(got NNCA\\)"):
        NNCA(1, max_iter=1).fit(Xtr, Ytr, init_from=NNCA(1))


def test_nnca_fallback_compares_training_split_r2(data, eca):
    Xtr, Ytr, _, _ = data
    searched = NNCA(1, decoder_layer_sizes=(4,), max_iter=2, random_state=0).fit(Xtr, Ytr)
    inner = eca.score(Xtr, Ytr, n_components=1)
    model, fb = nest_or_warm_start("NNCA k=1", searched, searched.score(Xtr, Ytr), "ECA k=1 (fit on train)", inner,
                                   lambda: warm_started_nnca(searched, eca, Xtr, Ytr), measure="training-split R2")
    assert fb.used == "warm start from ECA k=1 (fit on train)"
    assert fb.reason.startswith("searched training-split R2 ") and "< ECA k=1 (fit on train) training-split R2" in fb.reason
    assert model.score(Xtr, Ytr) >= inner - 0.005


def test_nnca_warm_start_errors_name_the_argument(data, eca):
    Xtr, Ytr, _, _ = data
    with pytest.raises(InvalidParameterError, match="'eca' argument of warm_started_nnca must be a fitted ECA"):
        warm_started_nnca(NNCA(1), NNCA(1), Xtr, Ytr)
    with pytest.raises(InvalidParameterError, match="emulator predicts the 5 targets of y. Got one with 30"):
        NNCA(1, decoder_layer_sizes=(32, 32), max_iter=1).fit(Xtr, Ytr[:, :5], init_from=eca)
