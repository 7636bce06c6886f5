import numpy as np

from xslatent.plotting import plot_reconstructed_feature, plot_spectrum_fits


def test_spectrum_fits_are_offset_and_keep_gaps():
    E = np.linspace(0, 1, 5)
    meas = np.array([[np.nan, 1.0, 2.0, 1.0, np.nan], [0.0, 1.0, 1.0, 1.0, 0.0]])
    fit = np.array([[0.5, 1.0, 2.0, 1.0, 0.5], [0.0, 1.0, 1.0, 1.0, 0.0]])
    ax = plot_spectrum_fits(E, meas, fit, labels=["a", "b"], model="nnca_k2")
    lines = ax.get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), meas[0])
    np.testing.assert_allclose(lines[3].get_ydata(), fit[1] + 2.2)  # offset 1.1 x the first maximum
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["measured", "fit (nnca_k2)"]


def test_reconstructed_feature_band_and_points():
    ax = plot_reconstructed_feature([104.0, 106.0], ["p1", "p2"], band=(95.0, 115.0), errors=[0.5, 0.7], title="angle")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [104.0, 106.0])
    assert ax.get_title() == "angle" and [t.get_text() for t in ax.get_xticklabels()] == ["p1", "p2"]
    band = ax.patches[0]  # the training band
    assert (band.get_y(), band.get_y() + band.get_height()) == (95.0, 115.0)
