"""File helpers shared by every writer: atomic replacement and checksums.

A leaf module (standard library only), so any subpackage may import it without pulling in
numpy, h5py or torch.

Every file xslatent writes goes through :func:`atomic_path`: the content is written to a
temporary file beside the target, flushed to disk, and renamed over the target only when
complete. An interruption (Ctrl-C, ``kill``, power loss) therefore leaves either the old file
or the new one under the final name, never half of one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TMP_SUFFIX", "atomic_path", "atomic_write_text", "sha256sum"]

#: Suffix of the temporary file :func:`atomic_path` writes beside its target.
TMP_SUFFIX = ".tmp"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:  # makes the rename itself durable
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - directories cannot be opened on every platform
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike, *, fsync: bool = True) -> Iterator[Path]:
    """Write a file atomically: yield a temporary path, then rename it to ``path``.

    The caller writes the complete file to the yielded path (``<name>.tmp`` in the same
    directory, so the rename stays on one file system). On normal exit the file is flushed
    to disk and renamed over ``path``; if the block raises, the temporary file is removed and
    ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        Final file name; its directory must exist.
    fsync : bool, default=True
        Flush the file and the directory entry to disk before and after the rename.

    Yields
    ------
    Path
        The temporary file to write.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        yield tmp
        if fsync:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    if fsync:
        _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : path-like
        File to write.
    text : str
        Content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like
        File to hash.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
