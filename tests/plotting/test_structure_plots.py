"""Per-group spectra (Fig. 2d) and species distances (Fig. 5 in Å): what is drawn is the data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from xslatent.exceptions import InvalidParameterError
from xslatent.plotting import plot_species_distances, plot_spectra_per_group


def test_spectra_per_group_draws_each_groups_mean_and_band():
    rng = np.random.default_rng(0)
    e = np.linspace(11000, 11020, 25)
    groups = np.repeat([0.0, 10.0, 20.0], 40)
    Y = np.exp(-0.5 * ((e - 11010 - 0.1 * groups[:, None]) / 2) ** 2) + 0.05 * rng.standard_normal((120, 25))
    ax = plot_spectra_per_group(e, Y, groups)
    assert [ln.get_label() for ln in ax.lines] == ["0 GPa", "10 GPa", "20 GPa"]
    for ln, g in zip(ax.lines, (0.0, 10.0, 20.0)):
        np.testing.assert_allclose(ln.get_xydata()[:, 1], Y[groups == g].mean(0))
    # the first band is the 10-90 % range of the first group: its upper edge in the path
    band = ax.collections[0].get_paths()[0].vertices
    hi = np.quantile(Y[groups == 0.0], 0.9, axis=0)
    assert np.isclose(band[:, 1].max(), hi.max())
    plt.close("all")


def test_spectra_per_group_rejects_mismatched_groups():
    with pytest.raises(InvalidParameterError, match="'groups'.*one entry per spectrum.*Got shape"):
        plot_spectra_per_group(None, np.zeros((5, 3)), [0, 1])


def test_species_distances_plots_rows():
    rows = [{"pressure_GPa": p, "Ge–O true (Å)": 3 - 0.01 * p, "Ge–O NNCA k=1 (Å)": 3 - 0.008 * p}
            for p in (0.0, 10.0, 20.0)]
    ax = plot_species_distances(rows, "Ge–O", ["NNCA k=1"])
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0, 3], [10, 2.92], [20, 2.84]])
    assert ax.get_ylabel() == "mean Ge–O distance (Å)"
    plt.close("all")
