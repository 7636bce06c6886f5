"""Shipped GeO2 sites recomputed from the committed melt-quench geometries match the stored rows.

Needs the bundled ``geo2.h5`` and the repository's ``datasets/geo2/geometries`` (a source
checkout); skipped otherwise. Also checks the file against its registry entry and the
issue's physics: tetrahedral Ge at 0 GPa, octahedral at the top pressure.
"""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
GEOMETRIES = REPO / "datasets" / "geo2" / "geometries"
ROWS = (0, 5000, -1)  # first, middle and last site (0 GPa … 120 GPa)


@pytest.fixture(scope="module")
def data():
    from xslatent.datasets import registry

    if "geo2.h5" not in registry():
        pytest.skip("no bundled GeO2 file in this installation")
    from xslatent.datasets import load_geo2

    return load_geo2()


def test_registry_and_shape(data):
    from xslatent.datasets import registry

    entry = registry()["geo2.h5"]
    assert data.X.shape == (entry["n_sites"], 153)
    assert data.Y.shape == (entry["n_sites"], 8)
    assert np.all(np.isfinite(data.X)) and np.all(np.isfinite(data.Y))
    assert sorted(np.unique(data.metadata["pressure_gpa"])) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 40.0, 80.0, 120.0]
    # groups are the 66 melt-quench runs, each at one pressure
    assert np.array_equal(data.groups, data.metadata["run_index"])
    assert len(np.unique(data.groups)) == 66
    for run in np.unique(data.groups):
        assert len(np.unique(data.metadata["pressure_gpa"][data.groups == run])) == 1


def test_coordination_rises_from_four_to_six(data):
    cn = data.metadata["coordination_number"]
    p = data.metadata["pressure_gpa"]
    assert abs(cn[p == 0.0].mean() - 4.0) < 0.2
    assert abs(cn[p == 120.0].mean() - 6.0) < 0.7
    means = [cn[p == q].mean() for q in np.unique(p)]
    assert means[-1] > means[5] > means[0]


@pytest.mark.parametrize("row", ROWS)
def test_recompute_shipped_site(data, row):
    import h5py

    pytest.importorskip("tblite")
    from xslatent.simulate.geo2 import compute_sites
    from xslatent.simulate.geo2_spectra import spectrum_settings_from_attrs

    if not GEOMETRIES.is_dir():
        pytest.skip("no datasets/geo2/geometries in this checkout")
    run = int(data.metadata["run_index"][row])
    snap = int(data.metadata["snapshot_index"][row])
    atom = int(data.metadata["atom_index"][row])
    with h5py.File(GEOMETRIES / f"run_{run:05d}.h5", "r") as f:
        numbers, cell, pos = f["numbers"][()], f["cell"][()], f["positions"][snap]
        assert float(f.attrs["pressure_gpa"]) == data.metadata["pressure_gpa"][row]
    attrs = data.attrs
    settings = spectrum_settings_from_attrs(attrs)
    new = compute_sites(numbers, pos, cell, settings, centers=[atom])
    np.testing.assert_allclose(new["features/coulomb_matrix"][0], data.X[row], rtol=1e-10, atol=1e-10)
    y = new[f"targets/moments_{attrs['targets']}"][0]
    np.testing.assert_allclose(y, data.Y[row], rtol=0, atol=1e-4 * np.abs(data.Y[row]).max())
