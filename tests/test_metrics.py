"""The one R2 (NumPy and torch front ends, constant-target policy) and Eq. 4."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xslatent.exceptions import InvalidParameterError
from xslatent.metrics import covered_variance, r2_score, r2_score_torch, spectral_deviation


def _data(seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(30, 4)) * np.array([0.5, 1.0, 2.0, 4.0])
    return y, y + 0.3 * rng.normal(size=y.shape)


def test_torch_front_end_equals_numpy():
    y, p = _data()
    yt, pt = torch.as_tensor(y), torch.as_tensor(p)
    assert float(r2_score_torch(yt, pt)) == pytest.approx(r2_score(y, p), rel=1e-14)
    # leading axes of the prediction: one score per candidate
    stacked = torch.stack([pt, yt, yt.mean(0).expand_as(yt)])
    scores = r2_score_torch(yt, stacked)
    assert scores.shape == (3,)
    np.testing.assert_allclose(scores.numpy(), [r2_score(y, p), 1.0, 0.0], atol=1e-14)


def test_torch_front_end_is_differentiable():
    y, p = _data(1)
    pt = torch.as_tensor(p).requires_grad_(True)
    r2_score_torch(torch.as_tensor(y), pt).backward()
    # d R2 / d p = -2 (p - y) / SS_tot
    ss_tot = np.sum((y - y.mean(0)) ** 2)
    np.testing.assert_allclose(pt.grad.numpy(), -2 * (p - y) / ss_tot, rtol=1e-12)


def test_constant_target_policies():
    y = np.ones((5, 2))
    p = y + np.arange(10.0).reshape(5, 2) / 10
    ss_res = float(np.sum((p - y) ** 2))  # 2.85
    with pytest.raises(InvalidParameterError, match="'y_true'.*vary across samples"):
        r2_score(y, p)
    assert math.isnan(r2_score(y, p, constant_target="nan"))
    assert r2_score(y, p, constant_target="residual") == pytest.approx(-2.85, rel=1e-15)
    assert r2_score(y, p, constant_target="residual") == -ss_res
    yt, pt = torch.as_tensor(y), torch.as_tensor(p)
    assert float(r2_score_torch(yt, pt)) == pytest.approx(-ss_res, rel=1e-15)  # early stopping
    assert math.isnan(r2_score_torch(yt, pt, constant_target="nan"))
    with pytest.raises(InvalidParameterError, match="constant"):
        r2_score_torch(yt, pt, constant_target="raise")
    with pytest.raises(InvalidParameterError, match="'constant_target'.*Got 'zero'"):
        r2_score(y, p, constant_target="zero")


def test_nan_policy_covers_every_undefined_score():
    y, p = _data(2)
    assert covered_variance(y, p) == pytest.approx(r2_score(y, p), rel=1e-15)
    assert math.isnan(covered_variance(y[:1], p[:1]))
    bad = p.copy()
    bad[3, 1] = np.inf
    assert math.isnan(covered_variance(y, bad))


def test_spectral_deviation_known_answer():
    class Linear:
        A = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
        b = np.array([5.0, -1.0, 0.5])

        def predict(self, X):
            return np.asarray(X) @ self.A + self.b

    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, -2.0], [3.0, 4.0]])
    # D(x) = ||x A||: rows (0,0,0), (1,0,2), (0,-6,0), (3,12,6)
    np.testing.assert_allclose(
        spectral_deviation(Linear(), X), [0.0, math.sqrt(5.0), 6.0, math.sqrt(189.0)], rtol=1e-15
    )
