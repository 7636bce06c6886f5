"""Bad input and bad parameters: every estimator refuses them with a message that names them.

Every message follows one template, "The 'alpha' parameter of MLPEmulator must be a float
in the range [0, inf). Got -1 instead.": it names the parameter or argument, says what is
allowed and what was given. The tests check all three.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse
import sklearn.metrics
import torch

from xslatent import ECA, FeatureScaler
from xslatent.exceptions import InvalidParameterError
from xslatent.metrics import r2_score

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")

SUPERVISED = ["MLPEmulator", "ECA", "EDNN", "NNCA", "SquareLReLUEDNN"]
SCALERS = ["FeatureScaler", "GlobalSpectrumScaler"]
DECOMPOSITIONS = ["ECA", "EDNN", "NNCA"]


def raises_named(name: str, allowed: str = "", given: str = ""):
    """``pytest.raises`` for our ``ValueError`` whose message names ``name`` and says "Got".

    ``allowed`` and ``given`` are regular expressions for what the message says is allowed
    (before "Got") and what was given (after it).
    """
    assert issubclass(InvalidParameterError, ValueError)
    pattern = rf"'{re.escape(name)}'.* must .*{allowed}.*Got .*{given}"
    return pytest.raises(InvalidParameterError, match=pattern)


def _with_str(A):
    """``A`` as an object array with one numeric string ("1.5") among the floats."""
    A = np.array(A, dtype=object)
    A[0, 0] = "1.5"
    return A


def _with(A, index, value):
    A = np.array(A, dtype=float)
    A[index] = value
    return A


# ---------------------------------------------------------------- bad arrays in fit
# id -> (new X, new Y) from (X, Y), the argument the message names, allowed, given
FIT_INPUT_CASES = {
    "X-nan": (lambda X, Y: (_with(X, (2, 1), np.nan), Y), "X", "finite", "1 NaN"),
    "Y-nan": (lambda X, Y: (X, _with(Y, (0, 3), np.nan)), "y", "finite", "1 NaN"),
    "X-inf": (lambda X, Y: (_with(X, (0, 0), np.inf), Y), "X", "finite", "1 infinite"),
    "Y-neg-inf": (lambda X, Y: (X, _with(Y, (5, 0), -np.inf)), "y", "finite", "1 infinite"),
    "rows-mismatch": (lambda X, Y: (X, Y[:-1]), "y", "same number of rows", "48 and 47"),
    "X-1d": (lambda X, Y: (X[:, 0], Y), "X", "2-D", r"1-D array of shape \(48,\).*Reshape"),
    "Y-1d": (lambda X, Y: (X, Y[:, 0]), "y", "2-D", r"1-D array of shape \(48,\).*Reshape"),
    "X-3d": (lambda X, Y: (X[:, :, None], Y), "X", "2-D", "3-D"),
    "X-scalar": (lambda X, Y: (1.0, Y), "X", "2-D", "scalar"),
    "no-rows": (lambda X, Y: (X[:0], Y[:0]), "X", "at least 2 sample", "0 sample"),
    "one-row": (lambda X, Y: (X[:1], Y[:1]), "X", "at least 2 sample", "1 sample"),
    "X-no-columns": (lambda X, Y: (X[:, :0], Y), "X", "at least 1 feature", r"0 feature\(s\)"),
    "Y-no-columns": (lambda X, Y: (X, Y[:, :0]), "y", "at least 1 feature", r"0 feature\(s\)"),
    "X-complex": (lambda X, Y: (X + 1j, Y), "X", "real-valued", "complex"),
    "Y-complex": (lambda X, Y: (X, Y * (1 + 0j)), "y", "real-valued", "complex"),
    "X-strings": (lambda X, Y: (np.full(X.shape, "a"), Y), "X", "numeric", "cannot be converted"),
    "X-numeric-strings": (
        lambda X, Y: (X.astype(str), Y), "X", "numeric", r"strings \(dtype <U\d+\).*cannot be converted"
    ),
    "X-object-strings": (lambda X, Y: (_with_str(X), Y), "X", "numeric", r"strings \(dtype object\)"),
    "y-strings": (lambda X, Y: (X, Y.astype(str)), "y", "numeric", "strings"),
    "X-None": (lambda X, Y: (None, Y), "X", "array", "None"),
    "Y-None": (lambda X, Y: (X, None), "y", "target array", "None"),
    "X-sparse": (lambda X, Y: (scipy.sparse.csr_matrix(X), Y), "X", "dense", "sparse"),
}
SCALER_FIT_CASES = ["X-nan", "X-inf", "X-1d", "X-3d", "X-scalar", "X-no-columns", "X-complex",
                    "X-strings", "X-numeric-strings", "X-object-strings", "X-None", "X-sparse"]


@pytest.mark.parametrize("case", FIT_INPUT_CASES)
@pytest.mark.parametrize("name", SUPERVISED)
def test_fit_rejects_bad_arrays(name, case, make_tiny, small_data):
    change, arg, allowed, given = FIT_INPUT_CASES[case]
    X, Y = change(small_data.X, small_data.Y)
    with raises_named(arg, allowed, given):
        make_tiny(name).fit(X, Y)


@pytest.mark.parametrize("case", SCALER_FIT_CASES)
@pytest.mark.parametrize("name", SCALERS)
def test_scaler_fit_rejects_bad_arrays(name, case, make_tiny, small_data):
    change, arg, allowed, given = FIT_INPUT_CASES[case]
    X, _ = change(small_data.X, small_data.Y)
    with raises_named(arg, allowed, given):
        make_tiny(name).fit(X)


@pytest.mark.parametrize("name", SCALERS)
def test_scaler_fit_rejects_no_rows(name, make_tiny, small_data):
    with raises_named("X", "at least 1 sample", "0 sample"):
        make_tiny(name).fit(small_data.X[:0])


# ---------------------------------------------------------------- bad arrays after fit
@pytest.fixture(scope="module")
def fitted(make_tiny, small_data_shared):
    """Every estimator fitted once on the shared small data (do not refit or modify)."""
    X, Y = small_data_shared.X, small_data_shared.Y
    out = {name: make_tiny(name).fit(X, Y) for name in SUPERVISED}
    out.update({name: make_tiny(name).fit(X) for name in SCALERS})
    return out


PREDICT_INPUT_CASES = {
    "nan": (lambda X: _with(X, (1, 1), np.nan), "finite", "1 NaN"),
    "inf": (lambda X: _with(X, (1, 1), np.inf), "finite", "1 infinite"),
    "1d": (lambda X: X[0], "2-D", r"1-D array of shape \(4,\).*Reshape"),
    "3d": (lambda X: X[None], "2-D", "3-D"),
    "no-rows": (lambda X: X[:0], "at least 1 sample", "0 sample"),
    "no-columns": (lambda X: X[:, :0], "at least 1 feature", r"0 feature\(s\)"),
    "too-few-features": (
        lambda X: X[:, :3],
        r"4 feature\(s\), as seen in fit",
        r"3 instead: X has 3 features, but \w+ is expecting 4 features as input\.",
    ),
    "too-many-features": (
        lambda X: np.c_[X, X[:, :1]], r"4 feature\(s\)", "X has 5 features, but"),
    "complex": (lambda X: X * (1 + 1j), "real-valued", "complex"),
    "None": (lambda X: None, "array", "None"),
}
METHODS = {
    "MLPEmulator": ["predict", "score"],
    "ECA": ["predict", "transform", "score"],
    "EDNN": ["predict", "transform", "score"],
    "NNCA": ["predict", "transform", "score"],
    "FeatureScaler": ["transform", "inverse_transform"],
    "GlobalSpectrumScaler": ["transform", "inverse_transform"],
}
METHOD_CASES = [(n, m) for n, methods in METHODS.items() for m in methods]


@pytest.mark.parametrize("case", PREDICT_INPUT_CASES)
@pytest.mark.parametrize("name, method", METHOD_CASES, ids=[f"{n}.{m}" for n, m in METHOD_CASES])
def test_methods_reject_bad_arrays(name, method, case, fitted, small_data):
    change, allowed, given = PREDICT_INPUT_CASES[case]
    X = change(small_data.X[:6])
    args = (X, small_data.Y[:6]) if method == "score" else (X,)
    with raises_named("X", allowed, given):
        getattr(fitted[name], method)(*args)


@pytest.mark.parametrize("name", SUPERVISED)
def test_score_rejects_bad_targets(name, fitted, small_data):
    with raises_named("y_true", "finite", "1 NaN"):
        fitted[name].score(small_data.X, _with(small_data.Y, (0, 0), np.nan))
    with raises_named("y_true", "same shape", r"\(48, 7\) and \(48, 8\)"):
        fitted[name].score(small_data.X, small_data.Y[:, :7])


@pytest.mark.parametrize("name", ["ECA", "NNCA"])
def test_inverse_transform_rejects_bad_latents(name, fitted):
    est = fitted[name]
    with raises_named("T", "columns", "3"):
        est.inverse_transform(np.zeros((2, 3)))
    with raises_named("T", "finite", "1 NaN"):
        est.inverse_transform(np.array([[np.nan, 0.0]]))
    with raises_named("T", "2-D", "1-D"):
        est.inverse_transform(np.zeros(2))


@pytest.mark.parametrize(
    "name",
    [
        "EDNN",
        "NNCA",
    ],
)
def test_decode_rejects_wrong_latent_width(name, fitted):
    with raises_named("T", "2 columns", "3"):
        fitted[name].decode(np.zeros((2, 3)))


@pytest.mark.parametrize("name", ["EDNN", "NNCA"])
def test_decode_rejects_non_finite_latents(name, fitted):
    with raises_named("T", "finite", "1 infinite"):
        fitted[name].decode(np.array([[np.inf, 0.0]]))


@pytest.mark.parametrize("name", DECOMPOSITIONS)
def test_fit_latent_rejects_bad_targets_and_parameters(name, fitted, small_data):
    est, owner = fitted[name], f"{name}.fit_latent"
    with raises_named("Y_target", "8 columns", "7"):
        est.fit_latent(small_data.Y[:2, :7])
    with raises_named("Y_target", "finite", "1 NaN"):
        est.fit_latent(_with(small_data.Y[:2], (0, 0), np.nan))
    with raises_named("Y_target", "2-D", "1-D"):
        est.fit_latent(small_data.Y[0])
    for param, value in [("n_starts", 0), ("max_iter", -1), ("learning_rate", 0.0),
                         ("margin", -0.5), ("random_state", -1)]:
        got = re.escape(repr(value))
        pattern = rf"The '{param}' parameter of {re.escape(owner)} must be .*Got {got} instead\."
        with pytest.raises(InvalidParameterError, match=pattern):
            est.fit_latent(small_data.Y[:2], **{param: value})


def test_eca_rank_argument_checked(fitted, small_data):
    with raises_named("n_components", r"\[1, 2\]", "3 instead"):
        fitted["ECA"].predict(small_data.X, n_components=3)
    with raises_named("n_components", r"\[1, 2\]", "0 instead"):
        fitted["ECA"].transform(small_data.X, n_components=0)


# ---------------------------------------------------------------- bad hyper-parameters
TORCH_PARAM_CASES = [
    ("alpha", -1.0), ("learning_rate_init", 0.0), ("batch_size", 0), ("batch_size", "big"),
    ("max_iter", 0), ("tol", -1e-3), ("n_iter_no_change", 0), ("validation_fraction", 1.0),
    ("early_stopping", "yes"), ("random_state", -1), ("random_state", 2**32), ("device", "nope"),
    ("dtype", "float16"), ("verbose", 1),
]
PARAM_CASES = (
    [("MLPEmulator", p, v) for p, v in TORCH_PARAM_CASES]
    + [("MLPEmulator", "hidden_layer_sizes", v) for v in [(0,), (8, -1), "8", 2.5]]
    + [("EDNN", p, v) for p, v in TORCH_PARAM_CASES]
    + [("EDNN", "n_components", 0), ("EDNN", "encoder_layer_sizes", (0,)),
       ("EDNN", "decoder_layer_sizes", (0,)), ("EDNN", "activation", "sigmoid")]
    + [("NNCA", p, v) for p, v in TORCH_PARAM_CASES]
    + [("NNCA", "n_components", 0), ("NNCA", "n_components", 1.5),
       ("NNCA", "decoder_layer_sizes", (0,)), ("NNCA", "activation", "sigmoid")]
    + [("ECA", p, v) for p, v in [
        ("n_components", 0), ("n_restarts", 0), ("max_iter", 0), ("learning_rate", 0.0),
        ("tol", -1.0), ("n_iter_no_change", 0), ("random_state", -1), ("device", "nope"),
        ("verbose", "no"), ("emulator", "mlp"), ("emulator", None)]]
    + [("FeatureScaler", "with_mean", "yes"), ("FeatureScaler", "with_std", None),
       ("FeatureScaler", "constant_features", "drop"), ("GlobalSpectrumScaler", "with_mean", 1)]
)


@pytest.mark.parametrize(
    "name, param, value", PARAM_CASES, ids=[f"{n}-{p}={v!r}" for n, p, v in PARAM_CASES]
)
def test_fit_rejects_bad_parameters(name, param, value, make_tiny, small_data):
    est = make_tiny(name).set_params(**{param: value})
    got = re.escape(repr(value))
    pattern = rf"The '{param}' parameter of {name} must be .+\. Got {got} instead\."
    with pytest.raises(InvalidParameterError, match=pattern):
        est.fit(small_data.X) if name in SCALERS else est.fit(small_data.X, small_data.Y)


def test_eca_checks_its_emulator(make_tiny, small_data):
    X, Y = small_data.X, small_data.Y
    # parameters of an unfitted emulator are checked when ECA fits its clone
    est = make_tiny("ECA").set_params(emulator__alpha=-1.0)
    match = r"The 'alpha' parameter of MLPEmulator .*Got -1\.0"
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(X, Y)
    # a regressor without a torch network cannot be searched
    from sklearn.linear_model import LinearRegression

    with raises_named("emulator", "torch network", "LinearRegression"):
        make_tiny("ECA").set_params(emulator=LinearRegression()).fit(X, Y)
    # a fitted emulator must match the data
    emulator = make_tiny("MLPEmulator").fit(X[:, :3], Y)
    with raises_named("X", "3 features", "4"):
        ECA(emulator, n_components=2, max_iter=5).fit(X, Y)


@pytest.mark.parametrize("name", DECOMPOSITIONS)
def test_n_components_above_n_features(name, make_tiny, small_data):
    est = make_tiny(name).set_params(n_components=5)
    with raises_named("n_components", r"\[1, n_features=4\]", "5 instead"):
        est.fit(small_data.X, small_data.Y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["MLPEmulator", "NNCA"])
def test_unavailable_device(name, make_tiny, small_data):
    est = make_tiny(name).set_params(device="cuda:0")
    with raises_named("device", "available on this machine", "'cuda:0'"):
        est.fit(small_data.X, small_data.Y)


def test_parameters_accept_numpy_scalars(make_tiny, small_data):
    est = make_tiny("MLPEmulator").set_params(
        dtype=np.str_("float64"), max_iter=np.int64(3), alpha=np.float32(1e-4)
    )
    est.fit(small_data.X, small_data.Y)
    assert est.predict(small_data.X[:2]).dtype == np.float64


# ---------------------------------------------------------------- constant features
def test_feature_scaler_keeps_constant_feature(small_data):
    X = small_data.X.copy()
    X[:, 2] = 7.5
    sc = FeatureScaler().fit(X)
    Z = sc.transform(X)
    assert np.isfinite(Z).all()
    assert sc.constant_features_.tolist() == [False, False, True, False]
    np.testing.assert_array_equal(Z[:, 2], 0.0)
    np.testing.assert_allclose(sc.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", SUPERVISED)
def test_fit_with_constant_standardized_feature(name, make_tiny, small_data):
    X = small_data.X.copy()
    X[:, 2] = -3.0
    Xs = FeatureScaler().fit_transform(X)
    est = make_tiny(name).fit(Xs, small_data.Y)
    assert np.isfinite(est.predict(Xs)).all()
    if hasattr(est, "transform"):
        assert np.isfinite(est.transform(Xs)).all()
    if hasattr(est, "components_"):
        V = est.components_
        assert np.isfinite(V).all()
        np.testing.assert_allclose(V @ V.T, np.eye(V.shape[0]), atol=1e-10)
    assert np.isfinite(est.score(Xs, small_data.Y))


# ---------------------------------------------------------------- r2_score
def test_r2_score_hand_computation():
    y = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
    p = np.array([[1.5, 2.0], [3.0, 5.0], [4.0, 4.0]])
    ss_res = 0.5**2 + 1.0**2 + 1.0**2  # 2.25
    ss_tot = (4 + 0 + 4) + (4 + 4 + 0)  # column means 3 and 4
    assert r2_score(y, p) == pytest.approx(1.0 - ss_res / ss_tot, rel=1e-15)
    assert r2_score([[1.0, 2.0], [3.0, 6.0]], [[1.0, 2.0], [3.0, 5.0]]) == pytest.approx(0.9)
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.broadcast_to(y.mean(0), y.shape)) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_r2_score_is_variance_weighted(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(50, 6)) * np.array([0.1, 1, 3, 10, 0.5, 2])
    p = y + rng.normal(size=y.shape)
    ours = r2_score(y, p)
    weighted = sklearn.metrics.r2_score(y, p, multioutput="variance_weighted")
    assert ours == pytest.approx(weighted, rel=1e-12)
    # the channels' variances differ, so the uniform average of scikit-learn's default differs
    assert abs(ours - sklearn.metrics.r2_score(y, p)) > 1e-3


def test_r2_score_one_dimensional_matches_sklearn():
    rng = np.random.default_rng(3)
    y = rng.normal(size=20)
    p = y + 0.3 * rng.normal(size=20)
    assert r2_score(y, p) == pytest.approx(sklearn.metrics.r2_score(y, p), rel=1e-12)
    assert r2_score(y, p) == r2_score(y[:, None], p[:, None])


def test_r2_score_errors():
    y = np.arange(12.0).reshape(6, 2)
    with raises_named("y_pred", "same shape", r"\(6, 2\) and \(6, 1\)"):
        r2_score(y, y[:, :1])
    with raises_named("y_pred", "same shape", r"\(6, 2\) and \(5, 2\)"):
        r2_score(y, y[:5])
    with raises_named("y_true", "vary across samples", "constant"):
        r2_score(np.ones((6, 2)), y)
    with raises_named("y_true", "finite", "1 NaN"):
        r2_score(_with(y, (0, 0), np.nan), y)
    with raises_named("y_pred", "finite", "1 infinite"):
        r2_score(y, _with(y, (0, 0), np.inf))
    with raises_named("y_true", "at least 2 sample", "1 sample"):
        r2_score(y[:1], y[:1])


# ---------------------------------------------------------------- failed fit
def _fail_late(cls, monkeypatch):
    """Make ``fit`` of ``cls`` fail after training, once fitted attributes would be set."""

    def boom(*args, **kwargs):
        raise RuntimeError("late failure")

    monkeypatch.setattr(cls, "_fit_rank" if cls is ECA else "_after_training", boom)


@pytest.mark.parametrize("name", SUPERVISED)
def test_failed_fit_leaves_no_half_fitted_state(name, make_tiny, small_data, monkeypatch):
    X, Y = small_data.X, small_data.Y
    fresh = make_tiny(name)
    refit = make_tiny(name).fit(X, Y)
    before, predicted = dict(vars(refit)), refit.predict(X)
    _fail_late(type(fresh), monkeypatch)
    for est in (fresh, refit):
        with pytest.raises(RuntimeError, match="late failure"):
            est.fit(X, 2.0 * Y)
    # the unfitted one gained nothing, the fitted one is exactly as it was
    assert set(vars(fresh)) == set(fresh.get_params(deep=False))
    assert vars(refit).keys() == before.keys()
    assert all(vars(refit)[k] is v for k, v in before.items())
    monkeypatch.undo()
    np.testing.assert_array_equal(refit.predict(X), predicted)


def test_eca_constant_targets_leave_no_emulator(make_tiny, small_data):
    """ECA trains its emulator before it can see that the targets are constant."""
    est = make_tiny("ECA")
    with raises_named("y", "vary across samples", "constant"):
        est.fit(small_data.X, np.ones_like(small_data.Y))
    assert not hasattr(est, "emulator_") and not hasattr(est, "components_")
