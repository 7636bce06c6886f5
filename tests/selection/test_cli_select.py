import json

import numpy as np
import pytest

from xslatent.cli.main import main
from xslatent.data import Dataset
from xslatent.io import load_model

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")

CONFIG = """
[data]
path = "ds.h5"
targets = "xes_*"
test_size = 0.25
split_seed = 0
y_scaler = "global"

[estimator]
kind = "EDNN"
[estimator.params]
n_components = 1
max_iter = 5

[search]
n_iter = 3
cv = 3
seed = 0
{space}

[output]
dir = "out"
"""


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = np.c_[
        np.exp(-((np.linspace(0, 1, 12)[None, :] - 0.5 - 0.1 * X[:, :1]) ** 2) / 0.02), X[:, 1:2]
    ]
    names = [f"xes_{i}" for i in range(12)] + ["other"]
    Dataset(X, Y, target_names=names).save(tmp_path / "ds.h5")
    return tmp_path


@pytest.mark.parametrize(
    "space",
    [
        'preset = "h2o-ednn-square-lrelu"',
        "[search.space.params]\nlearning_rate_init = [1e-3, 1e-2]\nencoder_layer_sizes = { depth = [1, 2], width = [4] }",
    ],
    ids=["preset", "inline"],
)
def test_select_writes_results_and_resumes(dataset, space, capsys):
    cfg = dataset / "select.toml"
    cfg.write_text(CONFIG.format(space=space))
    assert main(["select", str(cfg), "--quiet"]) == 0
    out = dataset / "out"
    summary = json.loads((out / "best_params.json").read_text())
    assert summary["n_trained"] == 9 and summary["n_reused"] == 0
    assert summary["n_train"] == 60 and summary["n_test"] == 20
    rows = (out / "cv_results.csv").read_text().splitlines()
    assert len(rows) == 4 and "mean_test_score" in rows[0]
    model, extras, meta = load_model(out / "model", return_extras=True)
    assert model.n_outputs_ == 12 and set(extras) == {"x_scaler", "y_scaler"}
    assert meta["selection"]["best_score"] == pytest.approx(summary["best_score"])
    assert "best CV R2" in capsys.readouterr().out
    # the same command again resumes: nothing is retrained
    assert main(["select", str(cfg), "--quiet"]) == 0
    assert json.loads((out / "best_params.json").read_text())["n_trained"] == 0


def test_select_reports_config_errors(dataset, capsys):
    cfg = dataset / "bad.toml"
    cfg.write_text(CONFIG.format(space='preset = "h2o-ednn"\nbogus = 1'))
    assert main(["select", str(cfg)]) == 2
    assert "'search.bogus'" in capsys.readouterr().err
    cfg.write_text(CONFIG.format(space="[search.space.params]\nlearning_rate_init = [-1.0]"))
    assert main(["select", str(cfg)]) == 2
    assert "'learning_rate_init'" in capsys.readouterr().err
