"""Tests for xslatent.data.FeatureScaler and GlobalSpectrumScaler."""

import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from xslatent.data import FeatureScaler, GlobalSpectrumScaler, scaler_from_dict
from xslatent.exceptions import DataFormatError, InvalidParameterError, NotFittedError

SCALERS = [FeatureScaler, GlobalSpectrumScaler]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return rng.normal(loc=[1.0, -3.0, 100.0, 0.0], scale=[0.5, 2.0, 10.0, 1e-3], size=(30, 4))


# ---------------------------------------------------------------- FeatureScaler
def test_feature_scaler_matches_numpy(X):
    sc = FeatureScaler().fit(X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    np.testing.assert_array_equal(sc.mean_, mean)
    np.testing.assert_array_equal(sc.scale_, std)
    np.testing.assert_allclose(sc.transform(X), (X - mean) / std, rtol=0, atol=1e-14)
    np.testing.assert_allclose(sc.transform(X).std(axis=0), 1.0, rtol=1e-12)
    assert sc.n_features_in_ == 4 and sc.n_samples_seen_ == 30
    assert not sc.constant_features_.any()


@pytest.mark.parametrize("with_mean, with_std", [(True, False), (False, True), (False, False)])
def test_feature_scaler_options(X, with_mean, with_std):
    sc = FeatureScaler(with_mean=with_mean, with_std=with_std).fit(X)
    expected = (X - (X.mean(0) if with_mean else 0)) / (X.std(0) if with_std else 1)
    np.testing.assert_allclose(sc.transform(X), expected, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(sc.inverse_transform(sc.transform(X)), X, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("value", [0.0, 7.25, 1e6 + 0.1, -3e-8])
def test_feature_scaler_constant_feature_kept(X, value):
    X = X.copy()
    X[:, 1] = value
    sc = FeatureScaler().fit(X)
    assert sc.constant_features_.tolist() == [False, True, False, False]
    assert sc.scale_[1] == 1.0
    Z = sc.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 1], 0.0, atol=1e-8)
    np.testing.assert_array_equal(sc.inverse_transform(Z)[:, 1], X[:, 1])
    np.testing.assert_allclose(sc.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)


def test_feature_scaler_constant_features_raise(X):
    X = X.copy()
    X[:, [0, 3]] = 2.0
    with pytest.raises(InvalidParameterError, match=r"constant column\(s\) at index 0, 3"):
        FeatureScaler(constant_features="raise").fit(X)
    FeatureScaler(constant_features="raise").fit(np.eye(3))  # no constant column: fine


def test_feature_scaler_transform_checks_features(X):
    sc = FeatureScaler().fit(X)
    with pytest.raises(InvalidParameterError, match="'X'.*4 feature"):
        sc.transform(X[:, :3])
    with pytest.raises(InvalidParameterError, match="'X'.*finite"):
        sc.transform(np.full((2, 4), np.nan))


# ---------------------------------------------------------------- GlobalSpectrumScaler
def test_global_scaler_hand_computation():
    rng = np.random.default_rng(1)
    Y = rng.random((25, 40)) * np.linspace(1, 10, 40)
    sc = GlobalSpectrumScaler().fit(Y)
    mean = Y.mean(axis=0)
    scale = np.sqrt(np.mean((Y - mean) ** 2))
    np.testing.assert_array_equal(sc.mean_, mean)
    assert isinstance(sc.scale_, float)
    assert sc.scale_ == pytest.approx(scale, rel=1e-15)
    Z = sc.transform(Y)
    np.testing.assert_allclose(Z, (Y - mean) / scale, rtol=1e-13, atol=1e-13)
    assert np.sqrt(np.mean(Z**2)) == pytest.approx(1.0, rel=1e-12)
    # one scalar: relative channel weights are kept (unlike a per-channel z-score)
    assert not np.allclose(Z.std(axis=0), 1.0)
    np.testing.assert_allclose(sc.inverse_transform(Z), Y, rtol=1e-12, atol=1e-12)


def test_global_scaler_without_mean():
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    sc = GlobalSpectrumScaler(with_mean=False).fit(Y)
    np.testing.assert_array_equal(sc.mean_, [0.0, 0.0])
    assert sc.scale_ == pytest.approx(np.sqrt(30.0 / 4))
    np.testing.assert_allclose(sc.inverse_transform(sc.transform(Y)), Y, rtol=1e-12)


@pytest.mark.parametrize("Y", [np.tile([1.0, 2.0, 3.0], (5, 1)), np.ones((1, 3))])
def test_global_scaler_identical_spectra_raise(Y):
    match = "'X' argument of GlobalSpectrumScaler.*identical"
    with pytest.raises(InvalidParameterError, match=match):
        GlobalSpectrumScaler().fit(Y)


# ---------------------------------------------------------------- common contract
@pytest.mark.parametrize("cls", SCALERS)
def test_not_fitted(cls, X):
    est = cls()
    for method in (est.transform, est.inverse_transform):
        with pytest.raises(NotFittedError, match="not fitted"):
            method(X)
    assert est.to_dict()["fitted"] is None
    assert cls.from_dict(est.to_dict()).get_params() == est.get_params()


@pytest.mark.parametrize("cls", SCALERS)
def test_fit_returns_self_and_fit_transform(cls, X):
    est = cls()
    assert est.fit(X) is est
    np.testing.assert_array_equal(cls().fit_transform(X), est.transform(X))


@pytest.mark.parametrize("cls", SCALERS)
def test_inverse_round_trip(cls, X):
    est = cls().fit(X)
    np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "est",
    [
        FeatureScaler(),
        FeatureScaler(with_mean=False, constant_features="raise"),
        GlobalSpectrumScaler(),
        GlobalSpectrumScaler(with_mean=False),
    ],
)
def test_dict_round_trip_exact(est, X):
    est.fit(X)
    d = json.loads(json.dumps(est.to_dict()))
    back = type(est).from_dict(d)
    assert back.get_params() == est.get_params()
    for key in est._fitted_attributes:
        a, b = getattr(est, key), getattr(back, key)
        assert np.array_equal(a, b), key
        assert type(a) is type(b), key
    np.testing.assert_array_equal(back.transform(X), est.transform(X))
    assert type(scaler_from_dict(d)) is type(est)


def test_from_dict_errors(X):
    d = FeatureScaler().fit(X).to_dict()
    with pytest.raises(DataFormatError, match="GlobalSpectrumScaler"):
        GlobalSpectrumScaler.from_dict(d)
    with pytest.raises(DataFormatError, match="'class'"):
        scaler_from_dict({"class": "Pickle"})
    with pytest.raises(DataFormatError, match="'version'"):
        FeatureScaler.from_dict({**d, "version": 99})
    with pytest.raises(DataFormatError, match="mean_"):
        FeatureScaler.from_dict({**d, "fitted": {**d["fitted"], "mean_": [0.0]}})
    with pytest.raises(InvalidParameterError, match="'constant_features'"):
        FeatureScaler.from_dict({**d, "params": {**d["params"], "constant_features": "drop"}})


@pytest.mark.parametrize(
    "est, match",
    [
        (FeatureScaler(constant_features="drop"),
         r"The 'constant_features' parameter of FeatureScaler must be one of 'keep', 'raise'\. "
         r"Got 'drop' instead\."),
        (FeatureScaler(with_mean=1), "'with_mean' parameter of FeatureScaler must be a bool"),
        (GlobalSpectrumScaler(with_mean="yes"), "'with_mean' parameter of GlobalSpectrumScaler"),
    ],
)
def test_bad_params(est, match, X):
    with pytest.raises(InvalidParameterError, match=match):
        est.fit(X)


@pytest.mark.parametrize("cls", SCALERS)
def test_clone_and_pipeline(cls, X):
    est = cls(with_mean=False)
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()
    est.fit(X)
    assert not hasattr(clone(est), "scale_")
    Z = make_pipeline(cls()).fit_transform(X)
    np.testing.assert_array_equal(Z, cls().fit(X).transform(X))
    assert list(cls().fit(X).get_feature_names_out()) == [f"x{i}" for i in range(4)]
