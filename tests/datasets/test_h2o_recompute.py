"""Two shipped H2O snapshots recomputed from their stored geometries match the stored values."""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHUNK = REPO / "datasets" / "h2o" / "chunks" / "chunk_00000.h5"


@pytest.mark.skipif(not CHUNK.is_file(), reason="no committed H2O chunk in this checkout")
@pytest.mark.parametrize("row", [0, 57])
def test_recompute_shipped_snapshot(row):
    from xslatent.simulate._runner import read_chunk
    from xslatent.simulate.h2o import compute_snapshot

    stored = read_chunk(CHUNK)
    new = compute_snapshot(stored["structure/positions"][row])
    assert abs(new["binding_energy"] - stored["xps/binding_energy"][row]) <= 1e-3  # eV
    for s in ("xps", "xes", "xas"):
        ref = stored[f"{s}/spectrum"][row].astype(np.float64)
        np.testing.assert_allclose(new[s], ref, rtol=0, atol=1e-4 * np.abs(ref).max(), err_msg=s)
