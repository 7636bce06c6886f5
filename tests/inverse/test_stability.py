import json

import numpy as np
import pytest
import torch
from torch import nn

from xslatent import Dataset
from xslatent.exceptions import InvalidParameterError
from xslatent.inverse import (
    Block,
    SquareLReLUEDNN,
    invert_block,
    layerwise_inversion,
    network_blocks,
    weight_diagnostics,
)


def _orthogonal(n, rng, cond=1.0):
    """Random n×n matrix with singular values spaced geometrically from 1 to 1/cond."""
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.geomspace(1.0, 1.0 / cond, n)
    return U @ np.diag(s) @ V.T


def _square_net(widths, rng, cond=2.0, slope=0.2):
    layers = []
    for i, w in enumerate(widths):
        lin = nn.Linear(w, w).double()
        with torch.no_grad():
            lin.weight.copy_(torch.as_tensor(_orthogonal(w, rng, cond)))
            lin.bias.copy_(torch.as_tensor(0.1 * rng.standard_normal(w)))
        layers.append(lin)
        if i < len(widths) - 1:
            layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


def test_well_conditioned_square_network_round_trip_is_exact():
    rng = np.random.default_rng(0)
    net = _square_net([6, 6, 6, 6], rng, cond=3.0)
    X = rng.standard_normal((500, 6))
    res = layerwise_inversion(net, X, mode="predicted")
    assert res.max_abs_error.shape == (5,)
    assert np.all(res.max_abs_error <= 1e-8), res.max_abs_error
    exact = layerwise_inversion(net, X, mode="exact")
    assert np.all(exact.max_abs_error <= 1e-8)


def test_condition_numbers_equal_numpy():
    rng = np.random.default_rng(1)
    net = _square_net([5, 5, 5], rng, cond=40.0)
    for d, m in zip(weight_diagnostics(net), [m for m in net if isinstance(m, nn.Linear)]):
        W = m.weight.detach().numpy()
        assert d["cond"] == pytest.approx(np.linalg.cond(W), rel=1e-10)
        np.testing.assert_allclose(d["singular_values"], np.linalg.svd(W, compute_uv=False))


@pytest.mark.parametrize("shape", [(7, 3), (2, 6)], ids=["tall", "wide-bottleneck"])
def test_non_square_block_is_least_squares_solution(shape):
    rng = np.random.default_rng(2)
    W = rng.standard_normal(shape)
    b = rng.standard_normal(shape[0])
    A = rng.standard_normal((50, shape[0]))  # arbitrary outputs, generally not in the range
    rec = invert_block(Block(W, b, None, "encoder"), A)
    expected = (np.linalg.pinv(W) @ (A - b).T).T  # least squares, minimum norm
    np.testing.assert_allclose(rec, expected, atol=1e-10)
    # normal equations hold: W^T (W z - (a - b)) = 0
    np.testing.assert_allclose(W.T @ (W @ rec.T - (A - b).T), 0, atol=1e-9)


def test_noise_amplification_grows_monotonically_with_noise():
    rng = np.random.default_rng(3)
    net = _square_net([8, 8, 8], rng, cond=1e4, slope=0.1)
    X = rng.standard_normal((300, 8))
    levels = [1e-8, 1e-6, 1e-4, 1e-2]
    errs = [layerwise_inversion(net, X, mode="predicted", noise=s, random_state=0).max_abs_error[0] for s in levels]
    assert np.all(np.diff(errs) > 0), errs
    # ill-conditioning amplifies: input error far exceeds the noise put in at the output
    out_scale = np.abs(net(torch.as_tensor(X)).detach().numpy()).std()
    assert errs[-1] > 100 * levels[-1] * out_scale


def test_relu_network_is_refused():
    net = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3)).double()
    with pytest.raises(InvalidParameterError, match="bijective"):
        network_blocks(net)


def test_square_lrelu_ednn_shapes_and_bottleneck_error():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((400, 4))
    Y = np.c_[np.tanh(X @ rng.standard_normal(4)), X[:, :1] ** 2, np.sin(X[:, 1])]
    m = SquareLReLUEDNN(1, encoder_depth=2, decoder_depth=3, max_iter=30, random_state=0).fit(X, Y)
    diags = weight_diagnostics(m)
    shapes = [d["shape"] for d in diags]
    assert shapes == [(4, 4), (4, 4), (1, 4), (3, 1), (3, 3), (3, 3), (3, 3)]
    assert [d["layer"] for d in diags] == ["enc1", "enc2", "bottleneck", "dec1", "dec2", "dec3", "output"]
    res = layerwise_inversion(m, X, mode="predicted")
    labels = res.labels
    # the decoder part is recovered exactly from the network's own output …
    assert res.max_abs_error[labels.index("bottleneck")] < 1e-8
    # … but the 4 → 1 bottleneck map loses what it projected away
    assert res.max_abs_error[labels.index("enc2")] > 1e-3


def test_pipeline_writes_outputs(tmp_path):
    from xslatent.pipeline.inverse_stability import run_inverse_stability

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 3))
    Y = np.c_[np.tanh(X[:, 0] + X[:, 1]), np.cos(X[:, 2]), X[:, 0] * X[:, 1]]
    summary = run_inverse_stability(Dataset(X, Y, name="toy"), tmp_path, n_components=(1,), max_iter=10,
                                    noise_levels=(0.0, 1e-3))
    for name in ("layer_errors.csv", "singular_values.csv", "layer_errors_k1.png", "singular_values_k1.png",
                 "inverse_stability.html", "inverse_stability.json"):
        assert (tmp_path / name).stat().st_size > 0
    assert "data:image/png;base64" in (tmp_path / "inverse_stability.html").read_text()
    assert set(summary[1]["cond"]) == {"enc1", "enc2", "bottleneck", "dec1", "dec2", "output"}


def test_pipeline_with_search_uses_square_lrelu_grid(tmp_path):
    from xslatent.pipeline.inverse_stability import run_inverse_stability

    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 3))
    Y = np.c_[np.tanh(X[:, 0] + X[:, 1]), np.cos(X[:, 2]), X[:, 0] * X[:, 1], X[:, 2]]
    summary = run_inverse_stability(Dataset(X, Y, name="toy"), tmp_path, n_components=(1,), max_iter=5,
                                    noise_levels=(0.0,), n_search=2, cv=2, preset="h2o-ednn-square-lrelu")
    enc, dec = summary[1]["depths"]
    assert 1 <= enc <= 5 and 1 <= dec <= 5
    # every hidden matrix is square: encoder width = 3 inputs, decoder width = 4 outputs
    shapes = [tuple(int(v) for v in r.split(",")[3].split("x")) for r in
              (tmp_path / "singular_values.csv").read_text().splitlines()[1:]]
    assert shapes[:enc] == [(3, 3)] * enc and shapes[enc] == (1, 3)
    assert shapes[-1] == (4, 4)


def test_cli_prints_per_layer_table(tmp_path, capsys):
    from xslatent.cli.main import main

    rng = np.random.default_rng(7)
    X = rng.standard_normal((200, 3))
    Y = np.c_[np.tanh(X[:, 0] + X[:, 1]), np.cos(X[:, 2]), X[:, 0] * X[:, 1]]
    Dataset(X, Y, name="toy").save(tmp_path / "toy.h5")
    assert main(["inverse-stability", str(tmp_path / "toy.h5"), "--out", str(tmp_path / "out"),
                 "--max-iter", "5", "--noise", "0"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "inverse_stability.json").read_text())["1"]
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("  ")}
    assert list(rows)[1:] == ["input", "enc1", "enc2", "bottleneck", "dec1", "dec2", "output"]
    # the printed numbers are the ones in the JSON summary
    assert float(rows["bottleneck"][0]) == pytest.approx(summary["predicted"]["per_layer"]["bottleneck"], rel=1e-2)
    assert float(rows["enc1"][3]) == pytest.approx(summary["cond"]["enc1"], rel=1e-2)
