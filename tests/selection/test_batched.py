"""Batched training equals train_module member by member (float64)."""

import numpy as np
import pytest
import torch

from xslatent import EDNN, NNCA, MLPEmulator
from xslatent.nn._batched import (
    BatchedMember,
    BatchedTrainer,
    NotBatchableError,
    network_signature,
    score_rows,
    train_unbatched,
)
from xslatent.nn._train import TrainConfig
from xslatent.selection._backend import build_module

ESTIMATORS = {
    "mlp": MLPEmulator((7, 5), dtype="float64"),
    "ednn": EDNN(2, encoder_layer_sizes=(6,), decoder_layer_sizes=(5, 4), dtype="float64"),
    "ednn-lrelu": EDNN(
        2,
        encoder_layer_sizes=(4, 4),
        decoder_layer_sizes=(6,),
        activation="leaky_relu",
        dtype="float64",
    ),
    "nnca": NNCA(2, decoder_layer_sizes=(8,), dtype="float64"),  # Householder map
    "nnca-square": NNCA(4, decoder_layer_sizes=(8,), dtype="float64"),  # matrix-exp map
    # larger networks, several parameter groups per kernel call
    "mlp-fused-adam": MLPEmulator((128, 128), dtype="float64"),
    "ednn-fused-adam": EDNN(2, encoder_layer_sizes=(128, 128), decoder_layer_sizes=(128,), dtype="float64"),
    # the orthonormal layer's gradient comes out transposed (not contiguous)
    "nnca-fused-adam": NNCA(2, decoder_layer_sizes=(128, 128), dtype="float64"),
}


def _members(est, X, Y, early, rng, share=None):
    n = X.shape[0]
    out = []
    for g in range(4):
        # unequal row counts -> ragged last minibatches; different stopping rules per member
        rows = np.sort(rng.choice(n, size=100 + g % 2, replace=False))
        # share: members with equal learning rate and L2 (folds of one candidate)
        h = {None: g, "pairs": g % 2, "all": 1}[share]
        cfg = TrainConfig(
            alpha=[0.0, 1e-3, 1e-2, 1e-4][h],
            learning_rate_init=[1e-2, 3e-3, 2e-2, 5e-3][h],
            batch_size=[16, 16, 20, 16][g],
            max_iter=[15, 25, 20, 25][g],
            early_stopping=early,
            n_iter_no_change=[3, 5, 2, 6][g],
            tol=[1e-4, 1e-4, 1e-3, 1e-5][g],
        )
        seed = 10 + g
        eval_rows = np.setdiff1d(np.arange(n), rows)
        out.append(
            BatchedMember(
                build_module(est, seed, X.shape[1], Y.shape[1]), rows, cfg, seed, eval_rows, tag=g
            )
        )
    return out


def _assert_equals_train_module(members, X, Y, fused):
    """Train ``members`` as one stack and each alone with train_module (float64): equal
    up to rounding. Returns the set of epoch counts."""
    trainer = BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float64, keep_states=True)
    assert trainer.net._fused == fused
    outs = {o.tag: o for o in trainer.run()}
    assert trainer.n_alive == 0 and len(outs) == len(members)
    n_iters = set()
    for m in members:
        ref = train_unbatched(m, X, Y, device="cpu", dtype=torch.float64, keep_state=True)
        got = outs[m.tag]
        assert got.status == ref.status == "ok"
        assert got.result.n_iter == ref.result.n_iter
        assert got.result.best_epoch == ref.result.best_epoch
        assert got.result.converged == ref.result.converged
        np.testing.assert_allclose(
            got.result.loss_curve, ref.result.loss_curve, rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            got.result.validation_scores, ref.result.validation_scores, rtol=1e-9, atol=1e-11
        )
        assert set(got.state) == set(ref.state)
        for k in ref.state:
            np.testing.assert_allclose(
                got.state[k].numpy(), ref.state[k].numpy(), rtol=1e-8, atol=1e-10, err_msg=k
            )
        assert got.eval_score == pytest.approx(ref.eval_score, rel=1e-9, abs=1e-11)
        n_iters.add(got.result.n_iter)
    return n_iters


def _adam_path(adam, monkeypatch):
    # CPU takes torch's fused Adam at every size; "stacked" forces the stacked tensor
    # operations (the path off CPU)
    if adam == "stacked":
        monkeypatch.setattr("xslatent.nn._stacked.FUSED_ADAM_MIN_PARAMS", 1 << 40)
    return adam == "fused"


@pytest.mark.parametrize("adam", ["fused", "stacked"])
@pytest.mark.parametrize("early", [False, True], ids=["loss-rule", "early-stopping"])
@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_batched_equals_train_module(kind, early, adam, data, monkeypatch, share=None):
    X, Y = data
    fused = _adam_path(adam, monkeypatch)
    members = _members(ESTIMATORS[kind], X, Y, early, np.random.default_rng(1), share)
    n_iters = _assert_equals_train_module(members, X, Y, fused)
    # members stopped at different epochs, so the stack was compacted on the way
    assert len(n_iters) > 1


@pytest.mark.parametrize("adam", ["fused", "stacked"])
@pytest.mark.parametrize("kind", ["mlp", "nnca", "nnca-fused-adam"])
def test_batched_equals_train_module_alone_and_in_equal_steps(kind, adam, data, monkeypatch):
    # a stack of one (the fused kernel gets whole tensors), and two members with equal rows
    # and batch size (every step takes the cached constants, the last minibatch is short)
    X, Y = data
    fused = _adam_path(adam, monkeypatch)
    members = _members(ESTIMATORS[kind], X, Y, True, np.random.default_rng(1))
    _assert_equals_train_module(members[:1], X, Y, fused)
    pair = [members[1], members[3]]
    assert pair[0].config.batch_size == pair[1].config.batch_size == 16
    assert len(pair[0].train_rows) == len(pair[1].train_rows) == 101
    _assert_equals_train_module(pair, X, Y, fused)


@pytest.mark.parametrize("share", ["pairs", "all"])
@pytest.mark.parametrize("kind", ["mlp-fused-adam", "ednn-fused-adam", "nnca-fused-adam"])
def test_fused_adam_shared_by_members_with_equal_settings(kind, share, data, monkeypatch):
    # one kernel call for the members with equal learning rate, L2 and step count ("pairs":
    # two such sets, "all": one)
    test_batched_equals_train_module(kind, True, "fused", data, monkeypatch, share=share)


def test_fused_adam_member_does_not_depend_on_its_stack_mates(data):
    # the same member alone and in a stack of four with equal settings: bit-identical
    X, Y = data
    # odd sizes: a member's slice does not end on the kernel's vector width
    members = _members(MLPEmulator((129, 127)), X, Y, True, np.random.default_rng(1), "all")
    together = {o.tag: o for o in BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float32,
                                                 keep_states=True).run()}
    alone = BatchedTrainer(members[:1], X, Y, device="cpu", dtype=torch.float32, keep_states=True).run()[0]
    for k, v in alone.state.items():
        np.testing.assert_array_equal(together[0].state[k].numpy(), v.numpy(), err_msg=k)


def test_rung_pause_and_prune(data):
    X, Y = data
    members = _members(ESTIMATORS["mlp"], X, Y, False, np.random.default_rng(2))
    trainer = BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float64, keep_states=True)
    assert trainer.run(until_epoch=5) == []
    assert trainer.epoch == 5 and trainer.n_alive == 4
    scores = dict(trainer.current_scores())
    pruned = trainer.prune([1, 3])
    assert [o.status for o in pruned] == ["pruned", "pruned"]
    assert pruned[0].eval_score == pytest.approx(scores[1])
    assert pruned[0].result.n_iter == 5
    rest = {o.tag: o for o in trainer.run()}
    assert set(rest) == {0, 2}
    # survivors are unaffected by pausing and pruning
    ref = train_unbatched(members[2], X, Y, device="cpu", dtype=torch.float64, keep_state=True)
    np.testing.assert_allclose(rest[2].result.loss_curve, ref.result.loss_curve, rtol=1e-9)


def test_divergence_fails_only_that_member(data):
    X, Y = data
    members = _members(ESTIMATORS["mlp"], X, Y, False, np.random.default_rng(3))
    with torch.no_grad():
        members[1].module[0].weight.mul_(1e200)  # squared residuals overflow: loss is inf
    outs = {
        o.tag: o for o in BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float64).run()
    }
    assert outs[1].status == "failed" and "diverged" in outs[1].error
    assert all(outs[g].status == "ok" for g in (0, 2, 3))


def test_signatures_and_unsupported_layers():
    a = build_module(MLPEmulator((8, 8)), 0, 3, 5)
    b = build_module(MLPEmulator((8, 8)), 1, 3, 5)
    c = build_module(MLPEmulator((8, 4)), 0, 3, 5)
    assert network_signature(a) == network_signature(b) != network_signature(c)
    with pytest.raises(NotBatchableError):
        network_signature(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout()))


def test_explicit_validation_rows_equal_train_module(data):
    """A member with ``validation_rows`` trains on all its rows and stops on those rows,
    exactly as ``train_module(..., validation=...)`` (bootstrap members: their out-of-bag rows)."""
    X, Y = data
    members = _members(ESTIMATORS["mlp"], X, Y, True, np.random.default_rng(4))
    for g, m in enumerate(members):
        m.validation_rows = np.setdiff1d(np.arange(X.shape[0]), m.train_rows)[: 30 + 5 * g]
    trainer = BatchedTrainer(members, X, Y, device="cpu", dtype=torch.float64, keep_states=True)
    outs = {o.tag: o for o in trainer.run()}
    for m in members:
        ref = train_unbatched(m, X, Y, device="cpu", dtype=torch.float64, keep_state=True)
        got = outs[m.tag]
        assert got.result.n_iter == ref.result.n_iter and got.result.best_epoch == ref.result.best_epoch
        np.testing.assert_allclose(got.result.validation_scores, ref.result.validation_scores, rtol=1e-9, atol=1e-11)
        for k in ref.state:
            np.testing.assert_allclose(got.state[k].numpy(), ref.state[k].numpy(), rtol=1e-8, atol=1e-10)
        # the best validation score is the kept network's R2 on the validation rows
        best = max(got.result.validation_scores)
        assert best == pytest.approx(score_rows(_load(m, got.state), X, Y, m.validation_rows, device="cpu",
                                                dtype=torch.float64), abs=1e-10)
    # all rows trained on: the loss curve differs from holding out a fraction of them
    plain = train_unbatched(_members(ESTIMATORS["mlp"], X, Y, True, np.random.default_rng(4))[0], X, Y,
                            device="cpu", dtype=torch.float64)
    assert plain.result.loss_curve[0] != pytest.approx(outs[0].result.loss_curve[0], rel=1e-6)


def _load(member, state):
    import copy

    module = copy.deepcopy(member.module)
    module.load_state_dict(state)
    return module


def test_fused_adam_has_a_cpu_kernel_here():
    from xslatent.nn._stacked import _fused_adam_on_cpu

    # torch >= 2.4 (CI pins 2.13): the fused path is exercised by the *-fused-adam cases above
    assert _fused_adam_on_cpu()


def test_validation_rows_must_match_the_data(data):
    from xslatent.exceptions import InvalidParameterError

    X, Y = data
    est = MLPEmulator((4,), max_iter=2, early_stopping=True, random_state=0)
    with pytest.raises(InvalidParameterError, match="validation rows of MLPEmulator must have"):
        est._fit_network(X, Y, validation=(X[:20, :-1], Y[:20]))


def test_relu_after_an_activation_or_on_the_input_trains_as_train_module(data):
    # the stacked forward applies ReLU in place only right after a linear layer: a ReLU that
    # follows tanh (whose backward reads its saved output) or that starts the network (on the
    # caller's input) must not be
    X, Y = data
    rng = np.random.default_rng(3)
    members = []
    for g, first in enumerate([False, True]):
        torch.manual_seed(g)
        layers = [torch.nn.ReLU()] if first else []
        layers += [torch.nn.Linear(X.shape[1], 6), torch.nn.Tanh(), torch.nn.ReLU(), torch.nn.Linear(6, Y.shape[1])]
        net = torch.nn.Sequential(*layers).double()
        rows = np.sort(rng.choice(X.shape[0], size=100, replace=False))
        cfg = TrainConfig(alpha=1e-3, learning_rate_init=1e-2, batch_size=16, max_iter=8, tol=0.0,
                          n_iter_no_change=20)
        members.append(BatchedMember(net, rows, cfg, 10 + g, np.setdiff1d(np.arange(X.shape[0]), rows), tag=g))
    for m in members:
        assert _assert_equals_train_module([m], X, Y, fused=True) == {8}
    # the forward's input belongs to the caller: a leading ReLU leaves it as it was
    net = BatchedTrainer(members[1:], X, Y, device="cpu", dtype=torch.float64).net
    x = torch.as_tensor(X[None, :20]).clone()
    x_before = x.clone()
    assert (x_before < 0).any()
    net.forward(net.params, x)
    assert torch.equal(x, x_before)
