"""make_mostly_linear: the linear part and its population R2 are what they claim."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from xslatent.datasets import make_mostly_linear
from xslatent.metrics import r2_score


def test_linear_part_and_its_r2():
    X, Y, B, r2_lin = make_mostly_linear(20000, 20, 5, rank=3, nonlinearity=0.5, noise=0.5, random_state=0)
    assert X.shape == (20000, 20) and Y.shape == (20000, 5) and B.shape == (20, 5)
    assert np.linalg.matrix_rank(B) == 3
    np.testing.assert_allclose(X.std(axis=0), 1.0, atol=0.03)
    # the features are correlated, as descriptors are
    C = np.corrcoef(X.T)
    assert np.abs(C[np.triu_indices(20, 1)]).max() > 0.2
    # least squares on many rows recovers B and reaches the stated ceiling
    fit = LinearRegression().fit(X, Y)
    np.testing.assert_allclose(fit.coef_.T, B, atol=0.03)
    assert r2_score(Y, fit.predict(X)) == pytest.approx(r2_lin, abs=0.01)
    # the residual is more than noise: the product term is nonlinear in X
    resid = Y - X @ B
    assert np.sum(resid.var(axis=0)) > 5 * 0.5**2 * 1.005


def test_bad_rank_is_reported():
    with pytest.raises(ValueError, match="'rank' parameter of make_mostly_linear must be at most"):
        make_mostly_linear(10, 3, 2, rank=3)
