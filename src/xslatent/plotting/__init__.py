"""Figures. Every function takes ``ax=None`` and returns the Axes."""

from ._inverse import plot_layer_errors, plot_singular_values

__all__ = ["plot_layer_errors", "plot_singular_values"]
