"""Model files: exact round trips, no pickle, clear errors on foreign or damaged input."""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from xslatent import FeatureScaler, GlobalSpectrumScaler
from xslatent.exceptions import DataFormatError, InvalidParameterError, NotFittedError
from xslatent.io import load_model, save_model

pytestmark = pytest.mark.filterwarnings("ignore::xslatent.exceptions.ConvergenceWarning")

MODELS = ["MLPEmulator", "ECA", "EDNN", "NNCA", "SquareLReLUEDNN"]


def _same_params(a, b) -> bool:
    """Equality of parameter values, nested estimators compared by class and parameters."""
    if hasattr(a, "get_params"):
        pa, pb = a.get_params(deep=False), b.get_params(deep=False)
        return type(a) is type(b) and _same_params(pa, pb)
    if isinstance(a, dict):
        same = isinstance(b, dict) and a.keys() == b.keys()
        return same and all(_same_params(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        same = all(_same_params(x, y) for x, y in zip(a, b))
        return type(a) is type(b) and len(a) == len(b) and same
    return type(a) is type(b) and a == b


@pytest.fixture(scope="module")
def fitted(make_tiny, small_data_shared):
    """Each model fitted once, plus fitted scalers for ``extras`` (do not modify)."""
    X, Y = small_data_shared.X, small_data_shared.Y
    models = {name: make_tiny(name).fit(X, Y) for name in MODELS}
    # ECA around an emulator fitted beforehand (the emulator parameter is then fitted too)
    emulator = make_tiny("MLPEmulator").fit(X, Y)
    models["ECA-prefitted"] = make_tiny("ECA").set_params(emulator=emulator).fit(X, Y)
    return models


@pytest.fixture
def scalers(small_data):
    return {
        "x_scaler": FeatureScaler().fit(small_data.X * 3.0 + 1.0),
        "y_scaler": GlobalSpectrumScaler().fit(small_data.Y + 2.0),
    }


@pytest.fixture
def saved(fitted, tmp_path):
    """``saved(name)``: the directory of a freshly written model."""

    def write(name):
        return save_model(fitted[name], tmp_path / name)

    return write


def _assert_same_model(a, b, X, exact_basis=True):
    """Same class, parameters, fitted attributes and outputs (``fit_latent`` tested apart).

    ``exact_basis=False`` compares ``components_`` and ``transform`` to float32 precision only.
    """
    assert type(a) is type(b)
    assert _same_params(a.get_params(deep=False), b.get_params(deep=False))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for attr in ("n_features_in_", "n_outputs_", "n_iter_", "loss_curve_", "seed_"):
        if hasattr(a, attr):
            assert getattr(a, attr) == getattr(b, attr), attr
    same = np.testing.assert_array_equal
    if not exact_basis:
        def same(x, y, err_msg=""):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=err_msg)
    if hasattr(a, "transform"):
        same(a.transform(X), b.transform(X))
    if hasattr(a, "components_"):
        same(a.components_, b.components_, err_msg="components_")
    for attr in ("latent_min_", "latent_max_", "r2_per_rank_"):
        if hasattr(a, attr):
            np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr), err_msg=attr)
    if hasattr(a, "emulator_"):
        _assert_same_model(a.emulator_, b.emulator_, X)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", [*MODELS, "ECA-prefitted"])
def test_round_trip(name, fitted, scalers, small_data, tmp_path, monkeypatch):
    est = fitted[name]
    metadata = {"dataset": "synthetic", "seeds": (0, 1), "r2": 0.875, "nested": {"k": [1, None]}}
    path = save_model(est, tmp_path / "model", extras=scalers, metadata=metadata)
    assert path == tmp_path / "model"
    assert sorted(os.listdir(path)) == ["model.json", "model.safetensors"]

    def refuse(*args, **kwargs):
        raise AssertionError("load_model must not unpickle")

    unpicklers = [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")]
    for module, attr in unpicklers:
        monkeypatch.setattr(module, attr, refuse)
    loaded, extras, meta = load_model(path, return_extras=True)
    monkeypatch.undo()

    # NNCA's basis is exact only to float32 precision: see test_round_trip_exact_basis
    _assert_same_model(est, loaded, small_data.X, exact_basis=name != "NNCA")
    assert meta == metadata and isinstance(meta["seeds"], tuple)
    assert extras.keys() == scalers.keys()
    for key, sc in scalers.items():
        assert type(extras[key]) is type(sc)
        assert extras[key].to_dict() == sc.to_dict()
        Z = small_data.X if key == "x_scaler" else small_data.Y
        np.testing.assert_array_equal(extras[key].transform(Z), sc.transform(Z))
    # without return_extras only the estimator comes back
    assert type(load_model(path)) is type(est)


@pytest.mark.parametrize("name", ["FeatureScaler", "GlobalSpectrumScaler"])
def test_scaler_round_trip(name, make_tiny, small_data, tmp_path, monkeypatch):
    """Scalers are public estimators too: saved and loaded as the model itself."""
    est = make_tiny(name).fit(small_data.X * 2.0 - 1.0)
    path = save_model(est, tmp_path / "scaler")

    def refuse(*args, **kwargs):
        raise AssertionError("load_model must not unpickle")

    for module, attr in [(pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")]:
        monkeypatch.setattr(module, attr, refuse)
    loaded = load_model(path)
    monkeypatch.undo()
    assert type(loaded) is type(est) and loaded.to_dict() == est.to_dict()
    np.testing.assert_array_equal(loaded.transform(small_data.X), est.transform(small_data.X))
    np.testing.assert_array_equal(loaded.scale_, est.scale_)


def test_every_public_estimator_is_in_the_model_table():
    """The table that io, scalers and search spaces share lists every public estimator."""
    import inspect

    import xslatent
    from xslatent.io._registry import model_class

    public = [getattr(xslatent, n) for n in xslatent.__all__]
    public = [c for c in public if inspect.isclass(c) and hasattr(c, "fit")]
    assert len(public) == 7
    for cls in public:
        entry = model_class(cls.__name__)
        assert entry is not None and entry.cls is cls, cls.__name__
    assert model_class("ECA").nested == ("emulator_",)
    assert model_class("FeatureScaler", kind="estimator") is None


def test_io_imports_no_estimator_module():
    """Estimators join the table; io never imports them (no decomposition <-> io circle)."""
    import ast
    from pathlib import Path

    import xslatent.io

    for path in Path(xslatent.io.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                top = node.module.split(".")[0]
                assert top not in ("decomposition", "emulator", "data", "selection"), (path, top)


def test_unregistered_nested_estimator_refused(fitted, tmp_path):
    """An ECA around an emulator class the model table does not know cannot be saved."""
    from sklearn.base import clone

    from xslatent import MLPEmulator

    class MyEmulator(MLPEmulator):
        pass

    eca = clone(fitted["ECA"])
    eca.__dict__.update(vars(fitted["ECA"]))
    eca.emulator = MyEmulator(hidden_layer_sizes=(8,))
    with pytest.raises(InvalidParameterError, match="type MyEmulator.*MLPEmulator"):
        save_model(eca, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_nested_estimator_layout_unchanged(saved):
    """ECA's emulator sits in its state under 'emulator_', tensors under 'emulator_/'."""
    path = saved("ECA")
    doc = json.loads((path / "model.json").read_text())
    nested = doc["estimator"]["state"]["emulator_"]
    assert nested["class"] == "MLPEmulator" and nested["state"]["n_features_in_"] == 4
    from safetensors.torch import load_file

    keys = set(load_file(str(path / "model.safetensors")))
    assert {"components_", "emulator_/module_.0.weight"} <= keys


@pytest.mark.parametrize("name", ["ECA", "NNCA"])
def test_round_trip_exact_basis(name, saved, fitted, small_data):
    est, loaded = fitted[name], load_model(saved(name))
    np.testing.assert_array_equal(loaded.components_, est.components_)
    np.testing.assert_array_equal(loaded.transform(small_data.X), est.transform(small_data.X))


@pytest.mark.parametrize(
    "name",
    ["ECA", "ECA-prefitted", "EDNN", "NNCA"],
)
def test_round_trip_fit_latent(name, saved, fitted, small_data):
    est, loaded = fitted[name], load_model(saved(name))
    assert loaded.n_components_ == est.n_components_
    a = est.fit_latent(small_data.Y[:4], max_iter=20)
    b = loaded.fit_latent(small_data.Y[:4], max_iter=20)
    np.testing.assert_array_equal(a.latents, b.latents)
    np.testing.assert_array_equal(a.residuals, b.residuals)
    if hasattr(est, "reconstruct"):
        Y2 = small_data.Y[:2]
        np.testing.assert_array_equal(
            est.reconstruct(Y2, max_iter=5), loaded.reconstruct(Y2, max_iter=5)
        )


@pytest.mark.parametrize(
    "name", ["MLPEmulator", "NNCA"]
)
def test_round_trip_float64(name, make_tiny, small_data, tmp_path):
    est = make_tiny(name).set_params(dtype="float64").fit(small_data.X, small_data.Y)
    loaded = load_model(save_model(est, tmp_path / "model"))
    assert next(loaded.module_.parameters()).dtype == torch.float64
    np.testing.assert_array_equal(loaded.predict(small_data.X), est.predict(small_data.X))


def test_loaded_model_is_independent_of_the_original(fitted, saved, small_data):
    loaded = load_model(saved("NNCA"))
    assert loaded.module_ is not fitted["NNCA"].module_
    loaded.module_.decoder[0].weight.data.zero_()
    assert not np.array_equal(loaded.predict(small_data.X), fitted["NNCA"].predict(small_data.X))


def test_files_hold_no_pickle(saved):
    path = saved("ECA")
    raw = (path / "model.json").read_bytes()
    doc = json.loads(raw)  # plain JSON
    assert doc["format"] == "xslatent.model" and doc["schema_version"] == 1
    assert doc["estimator"]["class"] == "ECA"
    assert not raw.startswith(b"\x80") and b"py/object" not in raw and b"__reduce__" not in raw
    # safetensors: an 8-byte little-endian header length, a JSON header, then raw tensor bytes
    blob = (path / "model.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    assert "components_" in header and any(k.startswith("emulator_/module_.") for k in header)
    # neither a pickle nor a torch.save zip archive
    assert not blob.startswith(b"\x80") and not blob.startswith(b"PK")


def test_save_unfitted_raises(make_tiny, tmp_path):
    with pytest.raises(NotFittedError):
        save_model(make_tiny("NNCA"), tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert os.listdir(tmp_path) == []


def test_save_replaces_existing_model_atomically(fitted, small_data, tmp_path):
    path = tmp_path / "model"
    save_model(fitted["EDNN"], path)
    save_model(fitted["NNCA"], path)
    assert os.listdir(tmp_path) == ["model"]  # no .tmp or .old left behind
    assert sorted(os.listdir(path)) == ["model.json", "model.safetensors"]
    loaded = load_model(path)
    assert type(loaded).__name__ == "NNCA"
    expected = fitted["NNCA"].predict(small_data.X)
    np.testing.assert_array_equal(loaded.predict(small_data.X), expected)


def test_save_creates_parent_directories(fitted, tmp_path):
    path = save_model(fitted["MLPEmulator"], tmp_path / "a" / "b" / "model")
    assert type(load_model(str(path))).__name__ == "MLPEmulator"  # str paths work too


# ---------------------------------------------------------------- foreign and damaged input
def _edit_json(path, change):
    doc = json.loads((path / "model.json").read_text())
    change(doc)
    (path / "model.json").write_text(json.dumps(doc))


def test_missing_directory(tmp_path):
    with pytest.raises(DataFormatError, match="not an xslatent model directory"):
        load_model(tmp_path / "nope")


@pytest.mark.parametrize("missing", ["model.json", "model.safetensors"])
def test_missing_file(missing, saved):
    path = saved("MLPEmulator")
    (path / missing).unlink()
    with pytest.raises(DataFormatError, match="not an xslatent model directory"):
        load_model(path)


def test_plain_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataFormatError, match="not an xslatent model directory"):
        load_model(tmp_path)


@pytest.mark.parametrize("content", [b"not json {", b"\xff\xfe\x00binary", b""])
def test_json_not_parsable(content, saved):
    path = saved("MLPEmulator")
    (path / "model.json").write_bytes(content)
    with pytest.raises(DataFormatError, match="not valid JSON"):
        load_model(path)


@pytest.mark.parametrize("fmt", ["sklearn.model", None, 1])
def test_wrong_format_string(fmt, saved):
    path = saved("MLPEmulator")
    _edit_json(path, lambda d: d.update(format=fmt))
    with pytest.raises(DataFormatError, match="not an xslatent model file"):
        load_model(path)


@pytest.mark.parametrize("version", [2, 99, 0])
def test_unsupported_schema_version(version, saved):
    path = saved("NNCA")
    _edit_json(path, lambda d: d.update(schema_version=version))
    with pytest.raises(DataFormatError, match=f"schema_version {version}"):
        load_model(path)


@pytest.mark.parametrize("keep", [0, 5, 100, -4])
def test_truncated_safetensors(keep, saved):
    path = saved("ECA")
    blob = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(blob[:keep])
    with pytest.raises(DataFormatError, match="model.safetensors is damaged"):
        load_model(path)


def test_pickle_in_place_of_safetensors(saved):
    path = saved("MLPEmulator")
    (path / "model.safetensors").write_bytes(pickle.dumps({"module_.0.weight": [1.0]}))
    with pytest.raises(DataFormatError, match="damaged"):
        load_model(path)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d["estimator"].update({"class": "os.system"}), "Unknown estimator class"),
        (lambda d: d["estimator"]["params"].update(bogus=1), "does not match"),
        (lambda d: d["estimator"].pop("state"), "does not match"),
        (lambda d: d["estimator"]["state"].update(n_features_in_=7), "does not match"),
        (lambda d: d["extras"].update(x={"class": "FeatureScaler", "dict": {"class": "NNCA"}}),
         "FeatureScaler"),
    ],
    ids=["unknown-class", "unknown-param", "no-state", "wrong-shape", "bad-extra"],
)
def test_json_inconsistent_with_weights(change, match, saved):
    path = saved("NNCA")
    _edit_json(path, change)
    with pytest.raises(DataFormatError, match=match):
        load_model(path)


def test_weights_of_another_model(saved):
    path, other = saved("NNCA"), saved("EDNN")
    (path / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    with pytest.raises(DataFormatError, match="does not match"):
        load_model(path)


@pytest.mark.parametrize(
    "doc",
    [
        [1, 2],
        "xslatent.model",
        {"format": "xslatent.model", "schema_version": "one"},
        {"format": "xslatent.model", "schema_version": None},
        {"format": "xslatent.model", "schema_version": 1, "estimator": "NNCA"},
    ],
    ids=["list", "string", "version-str", "version-null", "estimator-str"],
)
def test_malformed_json_document(doc, saved):
    path = saved("NNCA")
    (path / "model.json").write_text(json.dumps(doc))
    with pytest.raises(DataFormatError):
        load_model(path)


def test_load_in_a_fresh_interpreter(saved):
    """``import xslatent`` is lazy: load_model alone must find every class (ECA's emulator)."""
    import subprocess
    import sys

    path = saved("ECA")
    code = (
        "import sys; from xslatent.io import load_model; m = load_model(sys.argv[1]); "
        "print(type(m).__name__, type(m.emulator_).__name__, m.components_.shape)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["ECA", "MLPEmulator", "(2,", "4)"]
