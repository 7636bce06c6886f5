"""Atomic writes and checksums (xslatent._fileio)."""

import hashlib

import pytest

from xslatent._fileio import atomic_path, atomic_write_text, sha256sum


def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            assert tmp.name == "a.txt.tmp" and tmp.parent == tmp_path
            raise RuntimeError("crash")
    assert target.read_text() == "old"  # the old file survives a failed write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # no temporary left behind
    assert atomic_write_text(target, "new") == target
    assert target.read_text() == "new"


def test_atomic_path_needs_an_existing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "missing" / "a.txt") as tmp:
            tmp.write_text("x")


def test_sha256sum_known_answer(tmp_path):
    path = tmp_path / "x.bin"
    data = b"abc" * 700_000  # more than one 1 MiB block
    path.write_bytes(data)
    assert sha256sum(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(b"abc")
    assert sha256sum(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
