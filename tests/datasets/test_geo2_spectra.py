"""The bundled GeO2 spectra sample (Fig. 2d): shapes, coverage, checksum, recomputation."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from xslatent.exceptions import DataFormatError, InvalidParameterError
from xslatent.simulate.geo2_spectra import line_peaks, sample_sites

REPO = Path(__file__).resolve().parents[2]
GEOMETRIES = REPO / "datasets" / "geo2" / "geometries"
PRESSURES = [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 40.0, 80.0, 120.0]


@pytest.fixture(scope="module")
def sample():
    from xslatent.datasets import registry

    if "geo2_spectra.h5" not in registry():
        pytest.skip("no bundled GeO2 spectra sample in this installation")
    from xslatent.datasets import load_geo2_spectra

    return load_geo2_spectra()


@pytest.fixture(scope="module")
def data():
    from xslatent.datasets import load_geo2

    return load_geo2()


def test_sample_shapes_and_coverage(sample, data):
    from xslatent.datasets import registry

    entry = registry()["geo2_spectra.h5"]
    n, per = entry["n_sites"], entry["n_per_pressure"]
    assert n == 11 * per
    assert sample.Y.shape == (n, 451) and sample.X.shape == (n, 153)
    np.testing.assert_allclose(sample.energy, np.linspace(-30.0, 15.0, 451))
    assert sorted(np.unique(sample.groups)) == PRESSURES
    assert all(np.sum(sample.groups == p) == per for p in PRESSURES)
    site = sample.metadata["site_index"]
    assert len(np.unique(site)) == n
    # each spectrum is the row of load_geo2 it names: same pressure, structure and stick moments
    np.testing.assert_array_equal(data.metadata["pressure_gpa"][site], sample.groups)
    np.testing.assert_array_equal(data.metadata["run_index"][site], sample.metadata["run_index"])
    assert len(np.unique(sample.metadata["run_index"])) == 66  # every melt-quench run
    np.testing.assert_allclose(sample.X, data.X[site], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sample.metadata["moments_sticks"], data.Y[site], rtol=0, atol=1e-4)
    assert sample.attrs["max_moment_difference"] <= 1e-4 and sample.attrs["spectrum_fwhm"] == 2.0
    # unit-area Gaussians of unit-sum sticks: each spectrum integrates to its total 4p weight (> 0)
    area = sample.Y.sum(axis=1) * (sample.energy[1] - sample.energy[0])
    assert np.all(area > 0.01) and np.all(np.isfinite(sample.Y))


def test_checksum_is_verified(tmp_path):
    from xslatent.datasets import registry
    from xslatent.datasets._bundled import bundled_path, sha256sum, verify

    entry = registry().get("geo2_spectra.h5")
    if entry is None:
        pytest.skip("no bundled GeO2 spectra sample in this installation")
    path = bundled_path("geo2_spectra.h5")
    assert sha256sum(path) == entry["sha256"] and path.stat().st_size == entry["bytes"] < 1.2e6
    bad = tmp_path / "geo2_spectra.h5"
    shutil.copyfile(path, bad)
    with open(bad, "r+b") as fh:
        fh.seek(entry["bytes"] // 2)
        byte = fh.read(1)
        fh.seek(entry["bytes"] // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DataFormatError, match="sha256"):
        verify(bad, entry["sha256"])


def test_recomputed_spectra_equal_the_stored_ones(sample, data):
    pytest.importorskip("tblite")
    from xslatent.simulate.geo2_spectra import recompute_spectra

    if not GEOMETRIES.is_dir():
        pytest.skip("no datasets/geo2/geometries in this checkout")
    rows = sample.metadata["site_index"][[0, -1]]  # 0 GPa and 120 GPa
    new = recompute_spectra(data, rows, GEOMETRIES, progress=False)
    assert new.attrs["max_moment_difference"] <= 1e-4
    np.testing.assert_array_equal(new.metadata["site_index"], rows)
    np.testing.assert_allclose(new.Y, sample.Y[[0, -1]], rtol=0, atol=1e-6)


def test_sample_sites_spreads_over_pressures_and_runs():
    pressure = np.repeat([0.0, 10.0, 20.0], 60)
    runs = np.repeat(np.arange(9), 20)  # 3 runs per pressure
    rows = sample_sites(pressure, runs, n_per_pressure=7, seed=1)
    assert len(rows) == 21 and len(np.unique(rows)) == 21
    assert [int(np.sum(pressure[rows] == p)) for p in (0.0, 10.0, 20.0)] == [7, 7, 7]
    assert sorted(np.bincount(runs[rows], minlength=9)) == [2] * 6 + [3] * 3
    np.testing.assert_array_equal(rows, sample_sites(pressure, runs, n_per_pressure=7, seed=1))
    with pytest.raises(InvalidParameterError, match="'n_per_pressure' parameter of sample_sites"):
        sample_sites(pressure, runs, n_per_pressure=61)


def test_line_peaks_known_answer():
    e = np.linspace(-30, 15, 451)
    S = np.exp(-((e + 14.0) ** 2)) + 2 * np.exp(-((e - 1.5) ** 2))
    peaks = line_peaks(e, np.stack([S, S[::-1]]), np.array([-6.0, -6.0]))
    np.testing.assert_allclose(peaks, [[-14.0, 1.5], [-16.5, -1.0]], atol=1e-9)  # reversed: e -> -15 - e
