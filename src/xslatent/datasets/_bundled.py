"""Registry of the datasets shipped inside the package, with checksums.

``data/registry.json`` maps each file name to its sha256 and a short description; a loader
verifies the checksum before reading, so a damaged or hand-edited file is refused.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .._fileio import atomic_path, atomic_write_text, sha256sum
from ..exceptions import DataFormatError

__all__ = ["bundled_path", "registry", "register", "sha256sum", "verify"]


def _data_dir() -> Path:
    return Path(str(resources.files("xslatent.datasets") / "data"))


def registry() -> dict:
    """The registry: file name → {"sha256", "description", ...}."""
    path = _data_dir() / "registry.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


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


def register(source, name: str, *, description: str, data_dir=None, **info) -> dict:
    """Copy ``source`` into the package's data directory as ``name`` and record its checksum.

    Used once per release after a dataset has been generated and assembled; ``info`` (e.g.
    ``n_snapshots``) is stored in the registry entry. Both writes are atomic.
    """
    import shutil

    data_dir = Path(data_dir) if data_dir is not None else _data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / name
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    reg_path = data_dir / "registry.json"
    reg = json.loads(reg_path.read_text()) if reg_path.is_file() else {}
    reg[name] = {"sha256": sha256sum(target), "description": description, "bytes": target.stat().st_size, **info}
    atomic_write_text(reg_path, json.dumps(reg, indent=1, sort_keys=True) + "\n")
    return reg[name]
