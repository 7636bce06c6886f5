"""Figures. Every function takes ``ax=None`` and returns the Axes (or a Figure for grids)."""

from ._interpret import plot_reconstructed_feature, plot_spectrum_fits
from ._inverse import plot_layer_errors, plot_singular_values
from ._spectra import plot_basis_vectors, plot_mean_spectrum, plot_slice_maps, plot_spectra_per_group
from ._structure import plot_species_distances

__all__ = ["plot_layer_errors", "plot_singular_values", "plot_mean_spectrum", "plot_spectra_per_group",
           "plot_basis_vectors", "plot_slice_maps", "plot_species_distances", "plot_spectrum_fits",
           "plot_reconstructed_feature"]
