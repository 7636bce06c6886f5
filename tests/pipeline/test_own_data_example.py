"""The own-data example's files rebuild exactly the bundled H2O features and spectra."""

import importlib.util
from pathlib import Path

import numpy as np

from xslatent.data import build_dataset
from xslatent.datasets import load_h2o

EXAMPLE = Path(__file__).parents[2] / "examples" / "own_data" / "run_example.py"


def test_example_files_build_back_to_the_bundled_data(tmp_path):
    spec = importlib.util.spec_from_file_location("own_data_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    truth = example.write_user_files(tmp_path, frames_per_traj=10)
    files = sorted(tmp_path.glob("traj_*.extxyz"))
    ds = build_dataset(files, tmp_path / "spectra.csv", absorber="O", neighbors="H")
    h2o = load_h2o("xes")
    idx = np.concatenate([np.flatnonzero(h2o.groups == t)[:10] for t in example.TRAIN_TRAJ])
    assert ds.feature_names == h2o.feature_names == truth["names"]
    np.testing.assert_allclose(ds.X, h2o.X[idx], atol=1e-6)  # extxyz keeps 8 decimals of positions
    np.testing.assert_allclose(ds.Y, h2o.Y[idx], rtol=1e-9, atol=1e-12)
    assert ds.groups.tolist() == [f"traj_{t:03d}" for t in example.TRAIN_TRAJ for _ in range(10)]
    e, y = np.loadtxt(tmp_path / "average_shifted.dat", unpack=True)
    np.testing.assert_allclose(e, h2o.energy + example.SHIFT_EV)
