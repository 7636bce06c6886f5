"""The GeO2 report's Fig. 2d hook on tiny synthetic data (no model fitting)."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import numpy as np

from xslatent.data import Dataset
from xslatent.pipeline.geo2_extras import extra_sections, fig2d_spectra
from xslatent.pipeline.paper import _pngs

ENERGY = np.linspace(-30.0, 15.0, 46)


def _spectra(pressures, n_per, seed=0):
    rng = np.random.default_rng(seed)
    p = np.repeat(pressures, n_per)
    centre = -1.0 + 0.02 * p[:, None] + 0.3 * rng.normal(size=(len(p), 1))
    return np.exp(-0.5 * (ENERGY[None, :] - centre) ** 2), p


def _data(n=24, **meta_attrs):
    rng = np.random.default_rng(1)
    meta = {"pressure_gpa": np.repeat([0.0, 40.0, 120.0], n // 3), "run_index": np.repeat(np.arange(6), n // 6)}
    meta.update(meta_attrs.pop("metadata", {}))
    return Dataset(rng.normal(size=(n, 6)), rng.normal(size=(n, 8)), groups=meta["run_index"], metadata=meta,
                   attrs=meta_attrs.pop("attrs", {}))


def _res(d=6):
    return SimpleNamespace(models={"eca": SimpleNamespace(components_=np.eye(2, d))})


def test_fig2d_from_a_spectra_sample(tmp_path):
    Y, p = _spectra([0.0, 40.0, 120.0], 4)
    sample = Dataset(np.zeros((len(p), 2)), Y, energy=ENERGY, groups=p, attrs={"spectrum_fwhm": 2.0})
    sections = extra_sections(_data(), _res(), tmp_path, log=lambda *a: None, spectra=sample)
    assert sections[0].title == "Spectra per pressure (Fig. 2d analog)"
    assert (tmp_path / "fig2d_spectra_per_pressure.png").stat().st_size > 1000
    caption = (tmp_path / "fig2d_spectra_per_pressure.txt").read_text()
    assert "12 sites (4 per pressure" in caption and "FWHM 2.0 eV" in caption and "Table 2's targets" in caption
    # the paper report embeds the PNG with that caption
    assert "4 per pressure" in _pngs(tmp_path, "fig2d_*.png")[0]


def test_fig2d_pressure_comes_from_the_sample_not_the_data_groups():
    Y, p = _spectra([0.0, 40.0], 3)
    sample = Dataset(np.zeros((6, 2)), Y, energy=ENERGY, groups=p)
    energy, spectra, pressures, _ = fig2d_spectra(_data(), sample)
    np.testing.assert_array_equal(pressures, p)  # not the data's 6 runs
    np.testing.assert_array_equal(energy, ENERGY)
    assert spectra.shape == (6, 46)


def test_fig2d_from_per_site_spectra_of_an_assembled_file(tmp_path):
    Y, _ = _spectra([0.0, 40.0, 120.0], 8)
    d = _data(metadata={"spectrum": Y.astype(np.float32)}, attrs={"spectrum_energy_grid": list(ENERGY),
                                                                 "spectrum_fwhm": 2.0})
    energy, spectra, pressures, caption = fig2d_spectra(d)
    np.testing.assert_array_equal(pressures, d.metadata["pressure_gpa"])  # by pressure, not by run
    assert "8 per pressure; every site" in caption
    extra_sections(d, _res(), tmp_path, log=lambda *a: None)
    assert (tmp_path / "fig2d_spectra_per_pressure.png").is_file()


def test_no_spectra_no_figure(tmp_path):
    sections = extra_sections(_data(), _res(), tmp_path, log=lambda *a: None)
    assert fig2d_spectra(_data()) is None
    assert [s.title for s in sections] == ["ECA basis vectors: largest loadings"]
    assert not (tmp_path / "fig2d_spectra_per_pressure.png").exists()
