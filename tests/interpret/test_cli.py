"""`xslatent analyse` -> `xslatent interpret` end to end on a tiny budget (old spelling too)."""

import json

import numpy as np
import pytest

from xslatent import Dataset
from xslatent.cli.main import build_parser
from xslatent.exceptions import InvalidParameterError
from xslatent.pipeline import analysis
from xslatent.pipeline.analysis import Budget

TINY = Budget("tiny", {"emulator": 1, "ednn": 1, "nnca": 1}, cv=2, max_iter=15, n_iter_no_change=5, eca_restarts=1)


def _cli(argv):
    """Run a subcommand in-process, letting its exceptions through (main() turns them into exit 2)."""
    import importlib

    from xslatent.cli.main import SUBCOMMANDS

    args = build_parser().parse_args(argv)
    return importlib.import_module(SUBCOMMANDS[args.command]).run(args)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("an")
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(105, 8, 120), rng.normal(1.0, 0.05, 120)]
    E = np.linspace(520, 530, 25)
    Y = np.exp(-0.5 * ((E[None] - 525 - 0.1 * (X[:, :1] - 105)) / (0.8 + X[:, 1:2] - 1)) ** 2)
    Dataset(X, Y, energy=E, feature_names=["angle_HOH_deg", "r_OH_A"], name="toy").save(tmp / "d.h5")
    (tmp / "cfg.toml").write_text('name = "XES"\nbudget = "quick"\ncomponents = [1]\n')
    quick, analysis.BUDGETS["quick"] = analysis.BUDGETS["quick"], TINY  # "quick", made tinier
    try:
        assert _cli(["analyse", str(tmp / "d.h5"), "--out", str(tmp / "run"), "--config", str(tmp / "cfg.toml")]) == 0
    finally:
        analysis.BUDGETS["quick"] = quick
    return tmp, E, Y


def test_run_dir_is_self_describing(analysed):
    tmp, E, _ = analysed
    info = json.loads((tmp / "run" / "run.json").read_text())
    assert sorted(info["models"]) == ["eca", "ednn_k1", "nnca_k1"]
    assert info["feature_names"] == ["angle_HOH_deg", "r_OH_A"] and np.allclose(info["energy"], E)
    for entry in info["models"].values():
        assert (tmp / "run" / entry["path"] / "model.safetensors").is_file()
        model_json = json.loads((tmp / "run" / entry["path"] / "model.json").read_text())
        assert set(model_json["extras"]) == {"x_scaler", "y_scaler"}
    assert "Structure recovered from held-out spectra" in (tmp / "run" / "report.html").read_text()


def test_interpret_cli_one_row_per_spectrum(analysed, capsys):
    tmp, E, Y = analysed
    np.savetxt(tmp / "series.csv", np.vstack([E, Y[:3]]), delimiter=",")
    np.savetxt(tmp / "one.dat", np.column_stack([E, Y[5]]))
    argv = ["interpret", str(tmp / "run"), str(tmp / "series.csv"), str(tmp / "one.dat"), "--out", str(tmp / "i"),
            "--max-iter", "40"]
    assert _cli(argv) == 0
    doc = json.loads((tmp / "i" / "interpretation.json").read_text())
    assert [r["spectrum"] for r in doc["rows"]] == ["series.csv[0]", "series.csv[1]", "series.csv[2]", "one"]
    assert set(doc["spectra"][0]["models"]) == {"eca", "ednn_k1", "nnca_k1"}
    assert doc["spectra"][0]["models"]["ednn_k1"]["structure"] is None  # EDNN has no expansion
    assert "one\t+0.000" in capsys.readouterr().out
    with pytest.raises(InvalidParameterError, match="'--out' option must name a folder without"):
        _cli(argv)


def test_analyse_refuses_the_paper_workflow_names():
    with pytest.raises(InvalidParameterError, match="'DATA' argument of analyse .* Got 'h2o'"):
        _cli(["analyse", "h2o", "--out", "x"])
