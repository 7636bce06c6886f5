"""The scikit-learn estimator contract, checked on every public estimator the same way."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SkNotFittedError
from sklearn.utils import estimator_checks

import xslatent
from xslatent import ECA, EDNN, NNCA, MLPEmulator
from xslatent.exceptions import NotFittedError

pytestmark = [
    pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning"),
    # check_readonly_memmap_input: torch.as_tensor warns on read-only arrays it only reads
    pytest.mark.filterwarnings("ignore:The given NumPy array is not writable:UserWarning"),
]

ESTIMATORS = ["MLPEmulator", "ECA", "EDNN", "NNCA", "FeatureScaler", "GlobalSpectrumScaler"]
TORCH_ESTIMATORS = (MLPEmulator, ECA, EDNN, NNCA)
#: methods that need a fitted estimator, in the order they are tried
FITTED_METHODS = (
    "predict", "transform", "inverse_transform", "score", "decode", "fit_latent", "reconstruct"
)


def test_every_public_estimator_is_covered():
    exported = (getattr(xslatent, n) for n in xslatent.__all__)
    public = {c.__name__ for c in exported if inspect.isclass(c) and hasattr(c, "fit")}
    assert public == set(ESTIMATORS)


# ---------------------------------------------------------------- helpers
def _same(a, b) -> bool:
    """Parameter equality that compares nested estimators by class and parameters."""
    if hasattr(a, "get_params") and not isinstance(a, type):
        return type(a) is type(b) and _same(a.get_params(deep=False), b.get_params(deep=False))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _fit(est, data):
    return est.fit(data.X) if _is_scaler(est) else est.fit(data.X, data.Y)


def _is_scaler(est) -> bool:
    return not isinstance(est, TORCH_ESTIMATORS)


def _method_args(est, method, data):
    """Arguments of ``method`` (valid shapes, as if fitted on ``data``)."""
    k = getattr(est, "n_components", 2)
    T = np.zeros((3, k))
    if method in ("predict", "transform"):
        return (data.X,)
    if method == "inverse_transform":
        return (data.X,) if _is_scaler(est) else (T,)
    if method == "score":
        return (data.X, data.Y)
    if method == "decode":
        return (T,)
    return (data.Y[:3],)  # fit_latent, reconstruct


def _outputs(est, data) -> dict:
    """Everything a fitted estimator computes from ``data.X``."""
    out = {}
    for method in ("predict", "transform"):
        if hasattr(est, method):
            out[method] = getattr(est, method)(data.X)
    if hasattr(est, "components_"):
        out["components_"] = est.components_
    return out


def _junk_params(est):
    """Nonsense of every kind: __init__ and set_params must store it without complaint."""
    names = est.get_params(deep=False)
    return [{k: junk for k in names} for junk in (-1, "helloworld", np.array([1.0, 4.0]), None)]


# ---------------------------------------------------------------- the contract
def _check_init_stores_params(est):
    params = est.get_params(deep=False)
    twin = type(est)(**params)
    for k, v in params.items():
        assert getattr(twin, k) is v, f"__init__ changed parameter {k!r}"
    assert set(vars(twin)) == set(params), "__init__ sets attributes other than its parameters"
    for junk in _junk_params(est):  # no validation in __init__ or set_params
        type(est)(**junk)
        clone(est).set_params(**junk)


def _check_clone(est):
    twin = clone(est)
    assert twin is not est and type(twin) is type(est)
    assert _same(twin.get_params(deep=True), est.get_params(deep=True))
    for k, v in est.get_params(deep=False).items():
        if hasattr(v, "get_params"):
            assert getattr(twin, k) is not v, f"clone shares the nested estimator {k!r}"


def _check_get_set_params(est):
    est = clone(est)
    before = est.get_params(deep=True)
    assert est.set_params(**est.get_params(deep=False)) is est
    assert _same(est.get_params(deep=True), before)
    changed = {}
    for k, v in before.items():  # includes nested names such as emulator__max_iter
        if isinstance(v, bool):
            changed[k] = not v
        elif isinstance(v, int):
            changed[k] = v + 1
    assert changed
    est.set_params(**changed)
    after = est.get_params(deep=True)
    for k, v in changed.items():
        assert after[k] == v, f"set_params did not set {k!r}"


def _check_unfitted(est, data):
    est = clone(est)
    methods = [m for m in FITTED_METHODS if hasattr(est, m)]
    assert methods
    for method in methods:
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(est, method)(*_method_args(est, method, data))
    assert issubclass(NotFittedError, SkNotFittedError)


def _check_fit(est, data):
    est = clone(est)
    params = est.get_params(deep=False)
    before = dict(vars(est))
    assert _fit(est, data) is est
    added = set(vars(est)) - set(before)
    assert added, "fit created no attribute"
    bad = sorted(a for a in added if not (a.endswith("_") or a.startswith("_")))
    assert not bad, f"fit created public attributes without a trailing underscore: {bad}"
    assert est.n_features_in_ == data.X.shape[1]
    for k, v in params.items():
        assert getattr(est, k) is v, f"fit replaced parameter {k!r}"
    # methods that needed fitting now work
    for method in FITTED_METHODS:
        if hasattr(est, method):
            getattr(est, method)(*_method_args(est, method, data))




@pytest.mark.parametrize(
    "name", list(ESTIMATORS)
)
def test_random_state_reproducible(name, make_tiny, small_data):
    """Same random_state: bit-identical on CPU, whatever the global RNGs did in between."""
    data = small_data
    first = _outputs(_fit(make_tiny(name, 0), data), data)
    torch.manual_seed(12345)  # global state must not matter
    np.random.seed(12345)
    second = _outputs(_fit(make_tiny(name, 0), data), data)
    assert first.keys() == second.keys() and first
    for key in first:  # bit-identical on CPU
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    if "random_state" not in make_tiny(name).get_params():
        return
    other = _outputs(_fit(make_tiny(name, 1), data), data)
    for key in first:
        assert not np.array_equal(first[key], other[key]), f"random_state has no effect on {key}"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimator_contract(name, make_tiny, small_data):
    est = make_tiny(name)
    _check_init_stores_params(est)
    _check_clone(est)
    _check_get_set_params(est)
    _check_unfitted(est, small_data)
    _check_fit(est, small_data)


def test_ednn_decode_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        EDNN(n_components=2).decode(np.zeros((3, 2)))


# ---------------------------------------------------------------- scikit-learn's own checks
# Those that make sense for multi-output regressors and transformers fitted on a 2-D Y.
COMMON_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_mixin_order",
    "check_valid_tag_types",
    "check_estimators_unfitted",
    "check_fit_check_is_fitted",
    "check_estimators_fit_returns_self",
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_fit_score_takes_y",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_estimators_nan_inf",
    "check_estimators_empty_data_messages",
    "check_complex_data",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimators_dtypes",
    "check_readonly_memmap_input",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_requires_y_none",
    "check_pipeline_consistency",
    "check_estimators_pickle",
]
REGRESSOR_CHECKS = ["check_regressor_multioutput", "check_regressors_no_decision_function"]
# check_n_features_in_after_fitting calls score(X, y=...), but ours is score(X, Y) (the
# fit/score convention of multi-output estimators), so it only runs on the scalers here;
# test_validation.py checks the feature count of every method of every estimator.
SCALER_CHECKS = [
    "check_transformer_general",
    "check_transformers_unfitted",
    "check_transformer_n_iter",
    "check_transformer_preserve_dtypes",
    "check_n_features_in_after_fitting",
]
SKLEARN_CASES = [(n, c) for n in ESTIMATORS for c in COMMON_CHECKS]
SKLEARN_CASES += [(n, c) for n in ("MLPEmulator", "ECA", "EDNN", "NNCA") for c in REGRESSOR_CHECKS]
SKLEARN_CASES += [(n, c) for n in ("FeatureScaler", "GlobalSpectrumScaler") for c in SCALER_CHECKS]


@pytest.mark.parametrize("cls", TORCH_ESTIMATORS, ids=lambda c: c.__name__)
def test_torch_estimators_declare_two_d_targets(cls, make_tiny):
    """The checks pass a 2-D y because the estimators' own tags ask for one."""
    tags = make_tiny(cls.__name__).__sklearn_tags__()
    assert tags.target_tags.required is True
    assert tags.target_tags.multi_output is True
    assert tags.target_tags.single_output is False


@pytest.mark.parametrize("name, check", SKLEARN_CASES, ids=[f"{n}-{c}" for n, c in SKLEARN_CASES])
def test_sklearn_check(name, check, make_tiny):
    getattr(estimator_checks, check)(name, make_tiny(name))
