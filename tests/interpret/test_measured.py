"""interpret: a known shift and a known structure recovered on synthetic spectra; run dirs round-trip."""

import json

import numpy as np
import pytest

from xslatent import ECA, Dataset, MLPEmulator
from xslatent.exceptions import DataFormatError, InvalidParameterError
from xslatent.interpret import describe_run, interpret_spectra, load_run, training_convention, write_interpretation
from xslatent.io import save_model
from xslatent.pipeline._common import prepare
from xslatent.pipeline.analysis import TargetResult

E = np.linspace(515, 535, 81)
NAMES = ["angle_deg", "r_long_A", "r_short_A"]


def gauss(e, c, s):
    return np.exp(-0.5 * ((e - c) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def spectra(X, e):
    """Two unit-area lines: the angle moves weight between them, r_long sets the width;
    r_short is not encoded. Area 1 for every structure (an 'area' convention)."""
    w = 1 / (1 + np.exp(-(X[:, :1] - 105) / 8))
    s = 0.7 + 3 * (X[:, 1:2] - 1.0)
    return w * gauss(e, 522, s) + (1 - w) * gauss(e, 527, s)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    X = np.c_[rng.normal(105, 8, n), rng.normal(1.0, 0.05, n), rng.normal(0.95, 0.04, n)]
    data = Dataset(X, spectra(X, E), energy=E, feature_names=NAMES, name="synth")
    prep = prepare(data, random_state=0)
    em = MLPEmulator((48, 48), max_iter=300, learning_rate_init=3e-3, random_state=0).fit(prep.Xtr, prep.Ytr)
    eca = ECA(em, 2, n_restarts=2, random_state=0).fit(prep.Xtr, prep.Ytr)
    out = tmp_path_factory.mktemp("run")
    extras = {"x_scaler": prep.x_scaler, "y_scaler": prep.y_scaler}
    save_model(eca, out / "models" / "t" / "eca", extras=extras)
    for i in range(2):  # a (small) bootstrap ensemble beside the model
        member = ECA(em, 2, n_restarts=1, random_state=i + 1).fit(prep.Xtr[i::2], prep.Ytr[i::2])
        save_model(member, out / "models" / "t" / "bootstrap" / "eca" / str(i), extras=extras)
    res = TargetResult("t", models={"emulator": em, "eca": eca}, r2={("ECA", 2): eca.score(prep.Xte, prep.Yte)})
    info, sections = describe_run(out, data, res, prep, "t", n_reference=40, log=lambda *a: None)
    return out, eca, prep, info


def test_run_directory_round_trips(run_dir):
    out, eca, prep, info = run_dir
    run = load_run(out)
    assert run.feature_names == NAMES and np.allclose(run.energy, E)
    assert run.info == json.loads((out / "run.json").read_text()) == info
    assert info["normalization"]["convention"] == "area"
    assert len(info["models"]["eca"]["test_mse"]) == 40
    np.testing.assert_allclose(run.models["eca"].predict(prep.Xte), eca.predict(prep.Xte), rtol=1e-6)
    np.testing.assert_allclose(run.x_scaler.inverse_transform(prep.Xte), prep.test.X, rtol=1e-12)
    assert len(run.bootstrap["eca"]) == 2


def test_recovers_known_shift_and_structure(run_dir):
    out, _, _, _ = run_dir
    run = load_run(out)
    truth = np.array([[112.0, 1.03, 0.97]])
    wide = np.linspace(505, 545, 401)
    shift = 0.37
    # the measurement sits 0.37 eV above the model and is in arbitrary units (x 250)
    result = interpret_spectra(run, [("snap", wide + shift, 250 * spectra(truth, wide)[0])], fit_shift=1.5)
    m = result["spectra"][0]["models"]["eca"]
    assert abs(m["shift_eV"] - shift) <= 0.05
    assert m["structure"]["angle_deg"] == pytest.approx(112.0, abs=1.5)
    assert m["structure"]["r_long_A"] == pytest.approx(1.03, abs=0.006)
    # r_short is not encoded: it stays near the training mean, and its leverage says so
    assert m["structure"]["r_short_A"] == pytest.approx(run.info["features_train"]["mean"][2], abs=0.01)
    lev = result["models"]["eca"]["feature_leverage"]
    assert lev["angle_deg"] > 0.9 and lev["r_long_A"] > 0.9 and lev["r_short_A"] < 0.05
    assert m["intensity_factor"] == pytest.approx(1 / 250, rel=0.02)
    assert not m["outside_training_manifold"] and result["rows"][0]["warning"] == ""
    assert all(v >= 0 for v in m["structure_bootstrap_std"].values())


def test_ensemble_average_gives_projected_mean_structure(run_dir):
    out, eca, prep, _ = run_dir
    run = load_run(out)
    rng = np.random.default_rng(5)
    ens = np.c_[rng.normal(100, 2, 50), rng.normal(0.98, 0.01, 50), rng.normal(0.95, 0.02, 50)]
    avg = spectra(ens, E).mean(0)
    result = interpret_spectra(run, [("average", E - 0.2, avg)], fit_shift=0.5)
    m = result["spectra"][0]["models"]["eca"]
    assert abs(m["shift_eV"] + 0.2) <= 0.05
    assert m["structure"]["angle_deg"] == pytest.approx(ens[:, 0].mean(), abs=1.5)
    assert m["structure"]["r_long_A"] == pytest.approx(ens[:, 1].mean(), abs=0.006)


def test_outside_manifold_warning_and_outputs(run_dir, tmp_path):
    out, _, _, _ = run_dir
    run = load_run(out)
    alien = gauss(E, 532.0, 0.3)
    result = interpret_spectra(run, [("ok", E, spectra(np.array([[105.0, 1.0, 0.95]]), E)[0]), ("alien", E, alien)])
    assert [r["spectrum"] for r in result["rows"]] == ["ok", "alien"]
    assert result["rows"][0]["warning"] == ""
    assert "outside the training manifold" in result["rows"][1]["warning"]
    assert result["spectra"][1]["models"]["eca"]["test_residual_percentile"] == 100.0
    paths = write_interpretation(result, tmp_path / "o", run)
    back = json.loads(paths["json"].read_text())
    assert back["rows"][1]["warning"] == result["rows"][1]["warning"]
    html = paths["html"].read_text()
    assert "outside the training manifold" in html and "data:image/png;base64" in html


def test_bad_inputs(run_dir, tmp_path):
    out, _, _, _ = run_dir
    run = load_run(out)
    y = spectra(np.array([[105.0, 1.0, 0.95]]), E)[0]
    with pytest.raises(InvalidParameterError, match=r"covers 525 to 535 eV.*37 of 81 channels"):
        interpret_spectra(run, [("half", E[40:], y[40:])], fit_shift=0.5)
    with pytest.raises(InvalidParameterError, match="'normalize' parameter .* Got 'peak'"):
        interpret_spectra(run, [("s", E, y)], normalize="peak")
    with pytest.raises(InvalidParameterError, match="'models' parameter .* Got \\['nnca_k2'\\]"):
        interpret_spectra(run, [("s", E, y)], models=["nnca_k2"])
    with pytest.raises(DataFormatError, match="strictly increasing"):
        interpret_spectra(run, [("s", E[::-1], y)])
    with pytest.raises(DataFormatError, match="no run.json"):
        load_run(tmp_path)


@pytest.mark.parametrize("scale, expected", [("area", "area"), ("max", "max"), ("none", "none")])
def test_training_convention(scale, expected):
    rng = np.random.default_rng(0)
    Y = gauss(E[None], 525, rng.uniform(0.5, 2.0, (20, 1)))  # unit area, varying maximum
    if scale == "max":
        Y = Y / Y.max(1, keepdims=True)
    elif scale == "none":
        Y = Y * rng.uniform(0.5, 2.0, (20, 1))
    assert training_convention(E, Y)["convention"] == expected
