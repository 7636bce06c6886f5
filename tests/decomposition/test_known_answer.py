"""Known-answer tests: data built so the decisive directions are known."""

import numpy as np
import pytest
from scipy.linalg import subspace_angles

from xslatent import ECA, EDNN, NNCA, GlobalSpectrumScaler, MLPEmulator, r2_score
from xslatent.datasets import make_subspace_spectra

NET = dict(max_iter=300, learning_rate_init=3e-3, random_state=0)


def _split(kind, k, seed):
    X, Y, W, _ = make_subspace_spectra(2500, 10, k, 60, kind=kind, random_state=seed)
    sc = GlobalSpectrumScaler().fit(Y[:2000])
    return X[:2000], X[2000:], sc.transform(Y[:2000]), sc.transform(Y[2000:]), W


@pytest.fixture(scope="module", params=[1, 2], ids=["1d", "2d"])
def linear(request):
    k = request.param
    Xtr, Xte, Ytr, Yte, W = _split("linear", k, seed=k)
    em = MLPEmulator((64, 64), **NET).fit(Xtr, Ytr)
    eca = ECA(em, k, random_state=0).fit(Xtr, Ytr)
    nnca = NNCA(k, decoder_layer_sizes=(64, 64), **NET).fit(Xtr, Ytr)
    return dict(k=k, Xtr=Xtr, Xte=Xte, Ytr=Ytr, Yte=Yte, W=W, em=em, eca=eca, nnca=nnca)


@pytest.mark.parametrize("name", ["eca", "nnca"])
def test_recovers_decisive_subspace(linear, name):
    V = linear[name].components_
    assert V.shape == (linear["k"], 10)
    np.testing.assert_allclose(V @ V.T, np.eye(linear["k"]), atol=1e-10)
    cosines = np.cos(subspace_angles(V.T, linear["W"].T))
    assert cosines.min() >= 0.98, cosines


@pytest.mark.parametrize("name", ["eca", "nnca"])
def test_test_r2(linear, name):
    assert linear["em"].score(linear["Xte"], linear["Yte"]) >= 0.97
    assert linear[name].score(linear["Xte"], linear["Yte"]) >= 0.97


def test_eca_ranks_are_cumulative_and_ordered(linear):
    eca = linear["eca"]
    r2 = eca.r2_per_rank_
    assert r2.shape == (linear["k"],)
    assert np.all(np.diff(r2) >= -1e-9)
    assert r2[-1] >= 0.97
    for j in range(1, linear["k"] + 1):
        assert eca.score(linear["Xtr"], linear["Ytr"], n_components=j) == pytest.approx(r2[j - 1])
    # sign convention: largest-magnitude entry of each vector is positive
    V = eca.components_
    assert np.all(V[np.arange(V.shape[0]), np.argmax(np.abs(V), axis=1)] > 0)


@pytest.mark.parametrize("name", ["eca", "nnca"])
def test_reconstruct_matches_projection_of_true_structure(linear, name):
    W, Xte = linear["W"], linear["Xte"]
    rec = linear[name].reconstruct(linear["Yte"])
    assert rec.shape == Xte.shape
    assert r2_score(Xte @ W.T @ W, rec) >= 0.95


@pytest.mark.parametrize("name", ["eca", "nnca"])
def test_transform_inverse_transform_is_projection(linear, name):
    est, X = linear[name], linear["Xte"]
    V = est.components_
    np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X @ V.T @ V, atol=1e-10)


def test_eca_leaves_emulator_untouched(linear):
    em = linear["em"]
    before = [p.detach().clone() for p in em.module_.parameters()]
    ECA(em, 1, random_state=1, max_iter=50).fit(linear["Xtr"], linear["Ytr"])
    assert not em.module_.training
    for a, b in zip(before, em.module_.parameters()):
        assert b.grad is None
        assert np.array_equal(a.numpy(), b.detach().numpy())


def test_eca_fits_clone_of_unfitted_emulator(linear):
    em = MLPEmulator((32,), max_iter=5, random_state=0)
    eca = ECA(em, 1, random_state=0, max_iter=20).fit(linear["Xtr"][:300], linear["Ytr"][:300])
    assert not hasattr(em, "module_")
    assert hasattr(eca.emulator_, "module_")


def test_eca_first_layer_shortcut_and_pruning_keep_the_answer(linear, monkeypatch):
    """The first-layer shortcut (``base W^T + t v W^T``) gives the same basis as evaluating
    the whole network on ``base + t v``; abandoning losing restarts finds the same R2 as
    running all of them."""
    X, Y = linear["Xtr"][:500], linear["Ytr"][:500]
    kw = dict(random_state=0, max_iter=80)
    fast = ECA(linear["em"], linear["k"], prune_every=None, **kw).fit(X, Y)
    monkeypatch.setattr(ECA, "_split_first_layer", lambda self, device: None)
    plain = ECA(linear["em"], linear["k"], prune_every=None, **kw).fit(X, Y)
    np.testing.assert_allclose(fast.components_, plain.components_, atol=1e-4)
    assert fast.n_iter_ == plain.n_iter_
    monkeypatch.undo()
    pruned = ECA(linear["em"], linear["k"], random_state=0).fit(X, Y)
    full = ECA(linear["em"], linear["k"], random_state=0, prune_every=None).fit(X, Y)
    assert pruned.r2_per_rank_[-1] >= full.r2_per_rank_[-1] - 1e-4
    assert pruned.r2_per_rank_[-1] >= 0.97


def test_nonlinear_bottleneck_ednn_beats_linear_projections():
    """Y depends on ||x_1:2||: one EDNN neuron captures it, no single direction can."""
    Xtr, Xte, Ytr, Yte, _ = _split("radial", 1, seed=1)
    em = MLPEmulator((64, 64), **NET).fit(Xtr, Ytr)
    r2_eca = ECA(em, 1, random_state=0).fit(Xtr, Ytr).score(Xte, Yte)
    r2_nnca = NNCA(1, decoder_layer_sizes=(64, 64), **NET).fit(Xtr, Ytr).score(Xte, Yte)
    ednn = EDNN(1, encoder_layer_sizes=(64, 64), decoder_layer_sizes=(64, 64), **NET).fit(Xtr, Ytr)
    r2_ednn = ednn.score(Xte, Yte)
    assert r2_ednn >= 0.95
    assert r2_ednn >= r2_nnca + 0.1
    assert r2_ednn >= r2_eca + 0.1
    # the bottleneck is a monotone function of the radius
    r = np.linalg.norm(Xte[:, :2], axis=1)
    from scipy.stats import spearmanr

    assert abs(spearmanr(ednn.transform(Xte)[:, 0], r).statistic) >= 0.95


@pytest.mark.parametrize("name", ["eca", "nnca"])
def test_fit_latent_recovers_latents_of_decoded_targets(linear, name):
    """Targets produced by the model's own decoder are matched exactly."""
    est = linear[name]
    T_true = est.transform(linear["Xte"][:200])
    Y_model = est.predict(linear["Xte"][:200])
    fit = est.fit_latent(Y_model)
    assert fit.latents.shape == T_true.shape
    assert fit.residuals.shape == (200,)
    # residual tiny relative to the spectra's own energy
    assert np.median(fit.residuals / np.sum(Y_model**2, axis=1)) < 1e-4
    assert r2_score(T_true, fit.latents) >= 0.99


def test_eca_fit_latent_on_leading_ranks(linear):
    """ECA's ranks are nested: the first k scores can be fitted on their own."""
    eca, nnca = linear["eca"], linear["nnca"]
    X = linear["Xte"][:100]
    Y1 = eca.predict(X, n_components=1)
    fit = eca.fit_latent(Y1, n_components=1)
    assert fit.latents.shape == (100, 1)
    assert r2_score(eca.transform(X, n_components=1), fit.latents) >= 0.99
    assert eca.reconstruct(Y1, n_components=1).shape == X.shape
    wrong = nnca.n_components_ + 1
    with pytest.raises(ValueError, match=f"'n_components'.*Got {wrong}"):
        nnca.fit_latent(nnca.predict(X), n_components=wrong)
    # NNCA rotated to a rank hierarchy (the default) is nested too
    fit = nnca.fit_latent(nnca.predict(X, n_components=1), n_components=1)
    assert r2_score(nnca.transform(X, n_components=1), fit.latents) >= 0.99
