"""Self-contained HTML reports: figures embedded as base64 PNG, tables as HTML."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

from .._fileio import atomic_write_text

__all__ = ["Section", "figure_html", "png_html", "table_html", "write_report", "atomic_write_text"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}img{max-width:100%}pre{background:#f7f7f7;padding:8px;overflow-x:auto}
.note{color:#555;font-size:90%}"""


@dataclass
class Section:
    """One titled part of a report; ``body`` is trusted HTML built with the helpers here."""

    title: str
    body: list = field(default_factory=list)
    anchor: str = ""


def figure_html(fig, caption: str = "", dpi: int = 110) -> str:
    """Embed a matplotlib figure as a base64 PNG (and close it)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return _img(buf.getvalue(), caption)


def png_html(path, caption: str = "") -> str:
    """Embed a PNG file written earlier (e.g. by a pipeline step) as base64."""
    return _img(Path(path).read_bytes(), caption)


def _img(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">{cap}</figure>'


def table_html(rows: list[dict], columns: list[str] | None = None, floatfmt: str = "{:.4g}") -> str:
    """A list of dicts as an HTML table."""
    if not rows:
        return "<p class='note'>(empty)</p>"
    columns = columns or list(rows[0])

    def cell(v):
        if isinstance(v, float):
            return floatfmt.format(v)
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(path, title: str, sections: list[Section], provenance: dict | None = None) -> Path:
    """Write one self-contained HTML page (atomically)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    if len(sections) > 1:
        parts.append("<ul>" + "".join(
            f"<li><a href='#s{i}'>{html.escape(s.title)}</a></li>" for i, s in enumerate(sections)) + "</ul>")
    for i, s in enumerate(sections):
        parts.append(f"<h2 id='s{i}'>{html.escape(s.title)}</h2>")
        parts.extend(s.body)
    if provenance:
        import json

        parts.append("<h2>Provenance</h2><pre>" + html.escape(json.dumps(provenance, indent=1, default=str)) + "</pre>")
    parts.append("</body></html>")
    atomic_write_text(path, "\n".join(parts))
    return Path(path)
