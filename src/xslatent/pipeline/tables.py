"""R2 tables in the layout of the paper's Tables 1–2, with the paper's numbers beside ours."""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .analysis import ECA_LABEL

__all__ = ["PAPER_TABLE1", "PAPER_TABLE2", "eca_note", "notes_html", "table_notes", "table_rows", "write_csv",
           "write_table"]

#: paper Table 1 (H2O, their data): (spectrum, k) -> (EDNN, NNCA, ECA)
PAPER_TABLE1 = {
    ("XES", 1): (0.86, 0.79, 0.74), ("XES", 2): (1.00, 1.00, 1.00),
    ("XAS", 1): (0.85, 0.76, 0.75), ("XAS", 2): (0.98, 0.92, 0.91),
    ("XPS", 1): (1.00, 0.99, 0.99), ("XPS", 2): (1.00, 1.00, 1.00),
}
#: paper Table 2 (amorphous GeO2, 8 Kβ moments)
PAPER_TABLE2 = {("moments", 1): (0.84, 0.84, 0.77), ("moments", 2): (0.90, 0.88, 0.83)}

METHODS = ("EDNN", "NNCA", "ECA")


def table_rows(results, paper: dict, components=(1, 2)) -> list[dict]:
    """One row per (target set, k): our test R2, the paper's, the emulator's and the baselines'
    (ridge; group mean where the data have groups).

    ``ECA`` is fitted on the split the result was run with (``res.eca_fit_on``, the paper's
    "test" by default); ECA fitted on the other split, where present, gets its own column.
    """
    rows = []
    baselines = [b for b in ("ridge", "group mean") if any(b in getattr(r, "baselines", {}) for r in results)]
    for res in results:
        for k in components:
            row = {"target": res.name, "k": k}
            ref = paper.get((res.name, k), (math.nan,) * 3)
            for m, p in zip(METHODS, ref):
                row[m] = round(float(res.r2.get((m, k), math.nan)), 4)
                row[f"{m} (paper)"] = p
            for label in ECA_LABEL.values():  # ECA fitted on the other split, if it was
                if (label, k) in res.r2:
                    row[label] = round(float(res.r2[(label, k)]), 4)
            row["emulator"] = round(float(res.emulator_r2), 4)
            for b in baselines:
                bl = getattr(res, "baselines", {}).get(b)
                row[b] = round(float(bl.test_score), 4) if bl is not None else math.nan
            rows.append(row)
    return rows


def table_notes(results) -> list[str]:
    """Lines to print under a table: per target set, which fallback each container model used
    and every nesting violation (``WARNING``) of :func:`xslatent.selection.check_nesting`."""
    lines = []
    for res in results:
        for fb in getattr(res, "fallbacks", []):
            if fb.used != "search":
                lines.append(f"{res.name}: {fb.line()}")
        lines += [f"WARNING {w}" for w in getattr(res, "warnings", [])]
    return lines


def notes_html(lines) -> str:
    """:func:`table_notes` as a visible HTML block ('' when there is nothing to say)."""
    import html

    if not lines:
        return ""
    warn = ' style="color:#b00;font-weight:bold"'
    items = "".join(
        f"<li{warn if ln.startswith('WARNING') else ''}>{html.escape(ln)}</li>" for ln in lines
    )
    return f"<ul class='notes'>{items}</ul>"


def eca_note(eca_fit_on: str) -> str:
    """One sentence for a report: which split ECA was fitted on, and what that means."""
    if eca_fit_on == "test":
        return ("ECA is fitted on the test split, as in the paper (Section II); its test R2 is "
                "therefore optimistic (the basis is chosen on the data it is scored on). "
                "'ECA (fit on train)' is the out-of-sample value.")
    return ("ECA is fitted on the train split (out-of-sample test R2); 'ECA (fit on test)' is the "
            "paper's protocol, optimistic because the basis is chosen on the data it is scored on.")


def _fmt(v):
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.2f}" if v in (0.0, 1.0) or len(str(v)) <= 4 else f"{v:.4f}"
    return str(v)


def write_csv(rows: list[dict], out_dir, stem: str) -> Path:
    """Write ``rows`` to ``out_dir/stem.csv`` atomically (columns from the first row)."""
    from .._fileio import atomic_path

    path = Path(out_dir) / f"{stem}.csv"
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_table(rows: list[dict], out_dir, stem: str, notes=()) -> str:
    """Write ``stem.csv`` and ``stem.md`` (``notes`` as lines under the Markdown table);
    return the Markdown text."""
    out = Path(out_dir)
    cols = list(rows[0])
    write_csv(rows, out, stem)
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(_fmt(r[c]) for c in cols) + " |" for r in rows]
    md += [""] + [f"- {n}" for n in notes] if notes else []
    text = "\n".join(md) + "\n"
    (out / f"{stem}.md").write_text(text)
    return text
