"""Registry of the datasets shipped inside the package, with checksums.

``data/registry.json`` maps each file name to its sha256 and a short description; a loader
verifies the checksum before reading, so a damaged or hand-edited file is refused.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

from ..exceptions import DataFormatError

__all__ = ["bundled_path", "registry", "sha256sum", "verify"]


def _data_dir() -> Path:
    return Path(str(resources.files("xslatent.datasets") / "data"))


def registry() -> dict:
    """The registry: file name → {"sha256", "description", ...}."""
    path = _data_dir() / "registry.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def sha256sum(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(path, expected: str) -> None:
    """Raise :class:`DataFormatError` unless ``path`` has sha256 ``expected``."""
    got = sha256sum(path)
    if got != expected:
        raise DataFormatError(
            f"{path} has sha256 {got}, but the registry records {expected}: the file is damaged "
            f"or was changed. Reinstall xslatent or regenerate it."
        )


def bundled_path(name: str, *, how_to_make: str = "") -> Path:
    """Path of bundled file ``name`` after checking it against the registry."""
    entry = registry().get(name)
    path = _data_dir() / name
    if entry is None or not path.is_file():
        raise FileNotFoundError(
            f"The bundled dataset {name!r} is not in this installation (looked for {path}). {how_to_make}".strip()
        )
    verify(path, entry["sha256"])
    return path
