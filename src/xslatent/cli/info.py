"""``xslatent info PATH``: describe a Dataset HDF5 file, a model directory or a bundled set."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``info`` parser to ``subparsers``."""
    p = subparsers.add_parser(
        "info", help="describe a Dataset HDF5 file or a saved model",
        description="Print a summary of a Dataset file (or h2o:xes, geo2), or of a model directory.",
    )
    p.add_argument("path", help="Dataset HDF5 file, bundled name, or model directory")
    return p


def run(args) -> int:
    """Run ``info``; errors are reported by :func:`xslatent.cli.main.main`."""
    path = Path(args.path)
    if path.is_dir():
        from ..exceptions import DataFormatError

        if not (path / "model.json").is_file():
            raise DataFormatError(f"{path} is a directory without model.json, not an xslatent "
                                  "model directory.")
        doc = json.loads((path / "model.json").read_text())
        if "estimator" not in doc:
            raise DataFormatError(f"{path / 'model.json'} has no 'estimator' entry.")
        est = doc["estimator"]
        print(f"model {est['class']} ({path})")
        print("  params:", json.dumps(est.get("params", {}), default=str))
        state = est.get("state", {})
        for key in ("n_features_in_", "n_outputs_", "n_components_", "n_iter_"):
            if key in state:
                print(f"  {key}: {state[key]}")
        print("  extras:", ", ".join(doc.get("extras", {})) or "none")
        print("  metadata:", json.dumps(doc.get("metadata", {}), default=str)[:500])
        print("  versions:", doc.get("versions"))
        return 0
    from ..datasets import load_dataset

    d = load_dataset(args.path)
    print(repr(d))
    print(f"  features ({d.n_features}): {', '.join(d.feature_names[:8])}{' …' if d.n_features > 8 else ''}")
    print(f"  targets ({d.n_targets}): {', '.join(d.target_names[:8])}{' …' if d.n_targets > 8 else ''}")
    if d.groups is not None:
        import numpy as np

        vals, counts = np.unique(d.groups, return_counts=True)
        print("  groups:", ", ".join(f"{v}: {c}" for v, c in zip(vals[:20], counts[:20])))
    for k in sorted(d.attrs)[:40]:
        print(f"  attrs.{k}: {str(d.attrs[k])[:100]}")
    return 0
