"""Two shipped H2O snapshots recomputed from their stored geometries match the stored values.

The rows come from the bundled file when this installation has it (what users load), and
from the first committed generator chunk otherwise.
"""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHUNK = REPO / "datasets" / "h2o" / "chunks" / "chunk_00000.h5"
ROWS = (0, 57)


@pytest.fixture(scope="module")
def stored():
    import h5py

    from xslatent.datasets import registry
    from xslatent.datasets._bundled import bundled_path

    if "h2o.h5" in registry():
        path = bundled_path("h2o.h5")
    elif CHUNK.is_file():
        path = CHUNK
    else:
        pytest.skip("no bundled H2O file or committed chunk in this checkout")
    with h5py.File(path, "r") as f:
        rows = list(ROWS)
        return {
            "positions": f["structure/positions"][rows],
            "binding_energy": f["xps/binding_energy"][rows],
            **{s: f[f"{s}/spectrum"][rows].astype(np.float64) for s in ("xps", "xes", "xas")},
        }


@pytest.mark.parametrize("i", range(len(ROWS)))
def test_recompute_shipped_snapshot(stored, i):
    from xslatent.simulate.h2o import compute_snapshot

    new = compute_snapshot(stored["positions"][i])
    assert abs(new["binding_energy"] - stored["binding_energy"][i]) <= 1e-3  # eV
    for s in ("xps", "xes", "xas"):
        ref = stored[s][i]
        np.testing.assert_allclose(new[s], ref, rtol=0, atol=1e-4 * np.abs(ref).max(), err_msg=s)
