import numpy as np
import pytest

from xslatent.exceptions import InvalidParameterError
from xslatent.features.moments import (
    MOMENT_NAMES,
    gaussian_broaden,
    largest_gap_split,
    line_moments,
    two_line_moment_names,
    two_line_moments,
)


def reference_moments(e, w):
    p = np.asarray(w, float) / np.sum(w)
    mu = np.sum(p * e)
    var = np.sum(p * (e - mu) ** 2)
    return np.array([mu, np.sqrt(var), np.sum(p * (e - mu) ** 3) / var**1.5,
                     np.sum(p * (e - mu) ** 4) / var**2 - 3])


def test_known_sticks():
    # two equal sticks: std = half the distance, skew 0, excess kurtosis 1 - 3 = -2
    np.testing.assert_allclose(line_moments([1.0, 3.0], [2.0, 2.0]), [2.0, 1.0, 0.0, -2.0])
    e = np.array([0.0, 1.0, 5.0])
    w = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(line_moments(e, w), reference_moments(e, w))


def test_two_gaussian_lines_on_a_grid():
    grid = np.linspace(-40, 10, 5001)
    # lower line: a single Gaussian (skew 0, excess kurtosis 0); upper line: two Gaussians
    sigma = 0.8
    lower = np.exp(-0.5 * ((grid + 20) / sigma) ** 2)
    upper = np.exp(-0.5 * (grid / 1.0) ** 2) + 0.5 * np.exp(-0.5 * ((grid - 3) / 1.0) ** 2)
    m = two_line_moments(grid, lower + upper, split=-10.0)
    np.testing.assert_allclose(m[:4], [-20.0, sigma, 0.0, 0.0], atol=1e-6)
    # mixture of N(0,1) weight 2/3 and N(3,1) weight 1/3: cumulants by hand
    p, d = 1 / 3, 3.0
    mean = p * d
    var = 1 + p * (1 - p) * d**2
    k3 = p * (1 - p) * (1 - 2 * p) * d**3
    k4 = p * (1 - p) * (1 - 6 * p + 6 * p**2) * d**4
    np.testing.assert_allclose(m[4:], [mean, np.sqrt(var), k3 / var**1.5, k4 / var**2], atol=1e-6)


def test_gaussian_broadening_adds_variance_only():
    e = np.array([-3.0, -1.0, 0.5, 2.0])
    w = np.array([0.2, 1.0, 0.7, 0.1])
    grid = np.linspace(-20, 20, 8001)
    fwhm = 2.0
    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    spec = gaussian_broaden(grid, e, w, fwhm)
    assert np.trapezoid(spec, grid) == pytest.approx(w.sum(), rel=1e-6)
    sticks = line_moments(e, w)
    broad = line_moments(grid, spec)
    var = sticks[1] ** 2 + s**2
    k3 = sticks[2] * sticks[1] ** 3
    k4 = (sticks[3]) * sticks[1] ** 4
    np.testing.assert_allclose(broad, [sticks[0], np.sqrt(var), k3 / var**1.5, k4 / var**2],
                               atol=1e-6)


def test_batches_padding_and_masks():
    e = np.array([[0.0, 1.0, 2.0, np.nan], [5.0, 6.0, np.nan, np.nan]])
    w = np.array([[1.0, 2.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    m = line_moments(e, w)
    np.testing.assert_allclose(m[0], reference_moments([0, 1, 2], [1, 2, 1]))
    np.testing.assert_allclose(m[1], [5.5, 0.5, 0.0, -2.0])
    split = np.array([0.5, 5.5])
    both = two_line_moments(e, w, split)
    assert both.shape == (2, 8)
    assert np.isnan(both[0, 2])  # a single stick has no shape
    assert both[0, 0] == 0.0 and both[1, 4] == 6.0


def test_empty_line_is_nan():
    assert np.all(np.isnan(line_moments([1.0, 2.0], [0.0, 0.0])))


def test_largest_gap_split():
    assert largest_gap_split([-20.0, -19.5, -8.0, -7.0, -1.0]) == pytest.approx(-13.75)
    e = np.array([[-1.0, -10.0, np.nan], [2.0, 0.0, 1.5]])
    np.testing.assert_allclose(largest_gap_split(e), [-5.5, 0.75])


def test_names():
    assert two_line_moment_names("a", "b")[:4] == [f"a_{m}" for m in MOMENT_NAMES]
    assert len(two_line_moment_names()) == 8


def test_rejects_negative_intensity_and_bad_fwhm():
    with pytest.raises(InvalidParameterError, match="non-negative"):
        line_moments([0.0, 1.0], [1.0, -1.0])
    with pytest.raises(InvalidParameterError, match="fwhm"):
        gaussian_broaden(np.linspace(0, 1, 5), [0.5], [1.0], 0.0)
