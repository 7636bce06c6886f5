"""Self-contained HTML reports."""

from ._html import Section, atomic_write_text, figure_html, png_html, table_html, write_report

__all__ = ["Section", "figure_html", "png_html", "table_html", "write_report", "atomic_write_text"]
