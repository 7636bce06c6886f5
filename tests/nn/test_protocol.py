"""The shared training protocol: the stopping rule and the multi-start Adam loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xslatent.nn._multistart import multistart_adam
from xslatent.nn._train import StoppingRule, TrainConfig


def _run(rule, losses, scores=None):
    improved = []
    for epoch, loss in enumerate(losses, start=1):
        score = None if scores is None else scores[epoch - 1]
        improved.append(rule.update(epoch, loss, score))
        if rule.done:
            break
    return improved


def test_stopping_on_training_loss():
    """MLPRegressor's rule: n_iter_no_change epochs without a decrease of at least tol."""
    rule = StoppingRule(TrainConfig(tol=0.1, n_iter_no_change=2, max_iter=50))
    # 1.0 -> 0.5 improves by 0.5; 0.45 and 0.41 improve by less than tol: stop at epoch 4
    improved = _run(rule, [1.0, 0.5, 0.45, 0.41, 0.1, 0.0])
    res = rule.result
    assert res.converged and res.n_iter == 4 and res.loss_curve == [1.0, 0.5, 0.45, 0.41]
    assert res.best_epoch == 4 and improved == [True, True, True, True]  # still the lowest loss
    assert res.validation_scores == []


def test_stopping_on_validation_score():
    rule = StoppingRule(TrainConfig(tol=0.01, n_iter_no_change=3, max_iter=50))
    scores = [0.2, 0.5, 0.505, 0.4, 0.509, 0.9]
    improved = _run(rule, [1.0] * 6, scores)
    res = rule.result
    # epochs 3, 4, 5 gain less than tol over the best 0.5: stop after epoch 5
    assert res.converged and res.n_iter == 5 and res.validation_scores == scores[:5]
    assert improved == [True, True, True, False, True] and res.best_epoch == 5
    assert rule.best_score == 0.509


def test_max_iter_ends_without_convergence():
    rule = StoppingRule(TrainConfig(tol=0.0, n_iter_no_change=5, max_iter=3))
    _run(rule, [3.0, 2.0, 1.0, 0.5])
    assert rule.done and not rule.result.converged and rule.result.n_iter == 3


def test_multistart_keeps_each_starts_best():
    """One Adam step moves every coordinate by ~lr against its gradient's sign; a start the
    step makes worse keeps its starting point."""
    Z0 = torch.tensor([[1.0], [-0.001]], dtype=torch.float64)
    best, loss, n = multistart_adam(lambda Z: (Z**2).sum(-1), Z0, learning_rate=0.1, max_evals=2)
    assert n == 2
    np.testing.assert_allclose(best.numpy(), [[0.9], [-0.001]], rtol=1e-6)
    np.testing.assert_allclose(loss.numpy(), [0.81, 1e-6], rtol=1e-5)
    assert not best.requires_grad and Z0[0, 0] == 1.0  # the input is not modified


def test_multistart_plateau_stops_and_lowers_the_rate():
    """The plateau test watches the best start: it stops the loop early, and each drop of
    the learning rate lets the best start settle closer to the minimum."""
    c = torch.tensor([0.3, -0.7], dtype=torch.float64)
    Z0 = torch.randn((5, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    errors, evals = [], []
    for drops in (0, 1, 2):
        best, loss, n = multistart_adam(
            lambda Z: ((Z - c) ** 2).sum(-1), Z0, learning_rate=0.05, max_evals=5000,
            tol=1e-12, n_iter_no_change=50, n_lr_drops=drops,
        )
        i = int(torch.argmin(loss))
        errors.append(float(torch.linalg.norm(best[i] - c)))
        evals.append(n)
        assert float(loss[i]) == pytest.approx(errors[-1] ** 2, rel=1e-9)
    assert all(n < 5000 for n in evals) and evals[0] < evals[1] < evals[2]
    assert errors[0] < 1e-6 and errors[1] < errors[0] / 2 and errors[2] <= errors[1]
    # no gain after the last drop: the loop stops exactly n_iter_no_change evaluations later
    assert evals[2] - evals[1] == 50


def _subnormal_product() -> float:
    return float(torch.tensor(1e-30, dtype=torch.float32) * torch.tensor(1e-10, dtype=torch.float32))


def test_training_loops_flush_subnormals_and_restore_the_mode():
    from xslatent.nn._train import flush_denormals

    seen = []

    @flush_denormals
    def inner():
        seen.append(_subnormal_product())

    supported = torch.set_flush_denormal(False)  # torch's default; False where the CPU lacks it
    assert _subnormal_product() > 0 or not supported
    inner()
    if supported:
        assert seen == [0.0]
    assert _subnormal_product() > 0  # the caller's mode is back

    # nested: an outer flushing caller keeps flushing after the inner loop returns
    @flush_denormals
    def outer():
        inner()
        seen.append(_subnormal_product())

    outer()
    if supported:
        assert seen[-1] == 0.0 and _subnormal_product() > 0


def test_multistart_adam_result_is_unchanged_by_flushing():
    # a quadratic: flushing subnormals to zero must not change where Adam ends up
    target = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    Z0 = torch.zeros((4, 3), dtype=torch.float64)
    best, loss, _ = multistart_adam(lambda Z: ((Z - target) ** 2).sum(-1), Z0, learning_rate=0.1, max_evals=400)
    assert torch.allclose(best, target.expand(4, 3), atol=1e-3)
    assert _subnormal_product() > 0


def test_multistart_halving_drops_the_losing_starts():
    """With ``halve_every`` the objective sees 8, 4, 2 then 1 running starts; the winner
    (closest start to the minimum) runs to the end, the others keep their best at their stop."""
    c = torch.tensor([0.3, -0.7], dtype=torch.float64)
    Z0 = c + torch.arange(1, 9, dtype=torch.float64)[:, None] * torch.ones(2, dtype=torch.float64)
    sizes = []

    def objective(Z):
        sizes.append(Z.shape[0])
        return ((Z - c) ** 2).sum(-1)

    best, loss, n = multistart_adam(
        objective, Z0, learning_rate=0.05, max_evals=400, halve_every=10
    )
    assert n == 400 and best.shape == Z0.shape and loss.shape == (8,)
    assert sizes[:10] == [8] * 10 and sizes[10:20] == [4] * 10 and sizes[20:30] == [2] * 10
    assert set(sizes[30:]) == {1}
    assert float(loss[0]) < 1e-10  # the start nearest the minimum won and converged
    assert torch.all(loss[1:] > 0.5)  # the abandoned ones stopped after 10, 20 or 30 steps
    # a running start is moved by the same Adam steps as without halving
    ref, _, _ = multistart_adam(
        lambda Z: ((Z - c) ** 2).sum(-1), Z0[:1], learning_rate=0.05, max_evals=400
    )
    torch.testing.assert_close(best[0], ref[0])


def test_multistart_halving_needs_one_axis_of_starts():
    with pytest.raises(ValueError, match="'Z' argument of multistart_adam must have 2 dimensions"):
        multistart_adam(lambda Z: (Z**2).sum(-1), torch.zeros((2, 3, 1)), learning_rate=0.1,
                        max_evals=3, halve_every=1)
