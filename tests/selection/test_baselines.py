"""Baselines (ridge, group mean), CV noise and the nesting checks."""

import logging
import math

import numpy as np
import pytest

from xslatent.metrics import r2_score
from xslatent.selection import (
    check_nesting,
    cv_folds,
    cv_noise,
    group_mean_baseline,
    group_mean_prediction,
    ridge_baseline,
)


def test_cv_noise_is_standard_error_of_the_mean():
    assert cv_noise([0.1, 0.2, 0.3]) == pytest.approx(np.sqrt(2 / 3) * 0.1 / np.sqrt(3))
    assert cv_noise([0.5]) == 0.0
    assert cv_noise([0.2, np.nan, 0.4]) == pytest.approx(0.1 / np.sqrt(2))
    assert math.isnan(cv_noise([np.nan]))


def test_ridge_baseline_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 6))
    B = rng.standard_normal((6, 4))
    Y = X @ B + 0.1 * rng.standard_normal((300, 4))
    folds = cv_folds(3, X[:240], Y[:240], 0)
    b = ridge_baseline(X[:240], Y[:240], folds, X[240:], Y[240:])
    # noise variance 0.01 per channel against total variance ~ sum(B**2)/4 per channel
    expected = 1 - 0.01 * 4 / np.sum(B**2)
    assert b.test_score == pytest.approx(expected, abs=0.01)
    assert b.cv_score == pytest.approx(expected, abs=0.01)
    assert len(b.fold_scores) == 3 and b.cv_noise == pytest.approx(cv_noise(b.fold_scores))
    assert b.params["alpha"] <= 1.0  # little penalty needed on clean linear data
    np.testing.assert_allclose(b.estimator.coef_.T, B, atol=0.05)


def test_group_mean_prediction_known_answer():
    Ytr = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, 10.0]])
    P = group_mean_prediction(Ytr, ["a", "a", "b"], ["b", "a", "c"])
    np.testing.assert_allclose(P, [[10.0, 10.0], [2.0, 1.0], [14 / 3, 4.0]])


def test_group_mean_baseline_scores_groups_that_explain_the_targets():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(6), 40)
    Y = (g[:, None] * np.array([[1.0, -0.5]])) + 0.1 * rng.standard_normal((240, 2))
    folds = cv_folds(4, Y, Y, 0)
    b = group_mean_baseline(Y, g, folds, Y, g)
    total = np.sum((Y - Y.mean(0)) ** 2) / len(Y)
    assert b.cv_score == pytest.approx(1 - 0.02 / total, abs=0.01)
    assert b.params == {"n_groups": 6}
    assert b.test_score == pytest.approx(r2_score(Y, group_mean_prediction(Y, g, g)))


def test_nesting_flags_nnca_above_ednn_beyond_noise_only(caplog):
    scores = {("emulator", None): 0.99, ("ridge", None): 0.5, ("EDNN", 2): 0.932, ("NNCA", 2): 0.991,
              ("ECA", 2): 0.98, ("EDNN", 1): 0.90, ("NNCA", 1): 0.902}
    noise = {("EDNN", 2): 0.003, ("EDNN", 1): 0.004, ("emulator", None): 0.002}
    with caplog.at_level(logging.WARNING, logger="xslatent.selection"):
        msgs = check_nesting(scores, noise, label="XES")
    # NNCA k=1 above EDNN k=1 by 0.002 < 0.004 and NNCA k=2 above the emulator by 0.001 < 0.002:
    # within the noise, not flagged
    assert msgs == ["XES: NNCA k=2 (0.9910) > EDNN k=2 (0.9320) by 0.0590, more than the CV noise 0.0030"]
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "nesting violated" in caplog.records[0].getMessage()


def test_nesting_flags_emulator_below_ridge_and_models_above_the_emulator():
    scores = {("emulator", None): 0.495, ("ridge", None): 0.53, ("EDNN", 1): 0.487, ("NNCA", 1): 0.518,
              ("ECA", 1): 0.45, ("EDNN", 2): 0.483, ("NNCA", 2): 0.523}
    noise = {("emulator", None): 0.01, ("EDNN", 1): 0.01, ("EDNN", 2): 0.01, ("NNCA", 2): 0.001}
    msgs = check_nesting(scores, noise, log=False)
    assert msgs[0] == "emulator (0.4950) does not beat ridge (0.5300)"
    text = "\n".join(msgs)
    assert "NNCA k=1 (0.5180) > EDNN k=1 (0.4870) by 0.0310" in text
    assert "NNCA k=1 (0.5180) > emulator (0.4950) by 0.0230" in text
    assert "NNCA k=2 (0.5230) > emulator" in text
    assert "EDNN k=1 (0.4870) > EDNN k=2" not in text  # 0.004 < noise 0.01
    assert "ECA" not in text
    assert len(msgs) == 5  # ridge, NNCA1>EDNN1, NNCA1>emu, NNCA2>EDNN2, NNCA2>emu


def test_nesting_is_silent_when_the_ordering_holds():
    scores = {("emulator", None): 0.99, ("ridge", None): 0.6, ("EDNN", 1): 0.9, ("NNCA", 1): 0.85,
              ("ECA", 1): 0.8, ("EDNN", 2): 0.98, ("NNCA", 2): 0.97, ("ECA", 2): 0.96}
    assert check_nesting(scores, {}, log=False) == []


def test_nesting_flags_eca_above_nnca_beyond_the_nnca_noise():
    scores = {("emulator", None): 0.99, ("ridge", None): 0.6, ("EDNN", 1): 0.9, ("NNCA", 1): 0.85,
              ("ECA", 1): 0.88, ("EDNN", 2): 0.98, ("NNCA", 2): 0.97, ("ECA", 2): 0.975}
    noise = {("NNCA", 1): 0.01, ("NNCA", 2): 0.01}
    # ECA k=1 above NNCA k=1 by 0.03 > 0.01 flagged; k=2 by 0.005 < 0.01 not
    assert check_nesting(scores, noise, log=False) == [
        "ECA k=1 (0.8800) > NNCA k=1 (0.8500) by 0.0300, more than the CV noise 0.0100"]


def test_nesting_ignores_rounding_level_differences_when_the_noise_rounds_to_zero():
    # the H2O XPS case: every fold at 0.9999, CV noise ~1e-5, EDNN k=1 above k=2 by 3e-5 —
    # float rounding between two fits, below the fourth decimal every score is printed with
    scores = {("emulator", None): 0.99995, ("ridge", None): 0.9, ("EDNN", 1): 0.99993,
              ("EDNN", 2): 0.99990, ("NNCA", 1): 0.9980, ("NNCA", 2): 0.9990}
    noise = {("EDNN", 2): 1e-5, ("NNCA", 2): 1e-5, ("emulator", None): 1e-5}
    assert check_nesting(scores, noise, log=False) == []
    # the floor is the smallest tolerance, not a replacement for a larger CV noise
    scores[("EDNN", 2)] = 0.99960
    assert check_nesting(scores, noise, log=False) == [
        "EDNN k=1 (0.9999) > EDNN k=2 (0.9996) by 0.00033, more than the floor 0.0001"]
    assert check_nesting(scores, noise, log=False, floor=0.0005) == []
    noise[("EDNN", 2)] = 2e-4
    assert check_nesting(scores, noise, log=False) == [
        "EDNN k=1 (0.9999) > EDNN k=2 (0.9996) by 0.0003, more than the CV noise 0.0002"]
    for bad in (-1, math.nan, True):
        with pytest.raises(ValueError, match=r"'floor' parameter of check_nesting must be a float in the range \[0, inf\)"):
            check_nesting(scores, noise, floor=bad)
