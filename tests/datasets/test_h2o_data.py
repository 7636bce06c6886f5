"""The H2O loader on the committed generator chunks, and the bundled file's checksum."""

from pathlib import Path

import numpy as np
import pytest

from xslatent.datasets import h2o_from_generator_file, registry
from xslatent.datasets._bundled import sha256sum
from xslatent.exceptions import DataFormatError

REPO = Path(__file__).resolve().parents[2]
CHUNKS = REPO / "datasets" / "h2o"


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    if not (CHUNKS / "chunks").is_dir():
        pytest.skip("no committed H2O chunks in this checkout")
    from xslatent.simulate.h2o import assemble

    path = tmp_path_factory.mktemp("h2o") / "h2o.h5"
    assemble(CHUNKS, path, allow_incomplete=True)
    return path


@pytest.mark.parametrize("spectrum", ["xes", "xas", "xps"])
def test_loader_gives_consistent_dataset(assembled, spectrum):
    d = h2o_from_generator_file(assembled, spectrum)
    assert d.n_features == 3 and d.n_targets == 100 and len(d.energy) == 100
    angle, long_, short = d.X.T
    assert np.all(long_ >= short)
    assert np.all((angle > 60) & (angle < 170)) and np.all((short > 0.7) & (long_ < 1.4))
    be = d.metadata["binding_energy"]
    assert np.all((be > 530) & (be < 550))
    # the features are those of the stored positions
    from xslatent.features.h2o import internal_coordinates

    np.testing.assert_allclose(internal_coordinates(d.metadata["positions"]), d.X, atol=1e-9)
    assert d.attrs["xc"].lower() == "b3lyp" and d.attrs["spectrum"] == spectrum


def test_loader_refuses_foreign_file(tmp_path):
    import h5py

    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f["a"] = [1, 2]
    with pytest.raises(DataFormatError, match="not an assembled"):
        h2o_from_generator_file(p)


def test_bundled_h2o_checksum():
    entry = registry().get("h2o.h5")
    if entry is None:
        pytest.skip("the bundled H2O file is not generated yet")
    from xslatent.datasets import load_h2o
    from xslatent.datasets._bundled import _data_dir

    assert sha256sum(_data_dir() / "h2o.h5") == entry["sha256"]
    d = load_h2o("xes")
    assert len(d) == entry["n_snapshots"]


def test_register_records_checksum_and_verify_refuses_changes(tmp_path):
    import json

    from xslatent.datasets._bundled import register, verify

    src = tmp_path / "src.h5"
    src.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(200)))
    entry = register(src, "demo.h5", description="demo", data_dir=tmp_path / "data", n_snapshots=3)
    assert entry["sha256"] == sha256sum(src) and entry["n_snapshots"] == 3
    reg = json.loads((tmp_path / "data" / "registry.json").read_text())
    assert reg["demo.h5"]["bytes"] == src.stat().st_size
    verify(tmp_path / "data" / "demo.h5", entry["sha256"])
    (tmp_path / "data" / "demo.h5").write_bytes(b"changed")
    with pytest.raises(DataFormatError, match="sha256"):
        verify(tmp_path / "data" / "demo.h5", entry["sha256"])
