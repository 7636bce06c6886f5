"""Chunk merging and ragged-array padding shared by the generators' assemble functions."""

import numpy as np
import pytest

from xslatent.exceptions import DataFormatError
from xslatent.simulate._merge import (
    check_coverage,
    check_same_attrs,
    complete_chunk_files,
    concat_padded,
    pad_rows,
)
from xslatent.simulate._runner import attrs_equal, run_chunks


def _chunk(chunk_id):
    return {"sticks/energy": np.arange(chunk_id + 1, dtype=float)[None], "attrs": {"seed": 1}}


def test_pad_rows_known_answer():
    out = pad_rows([[1.0, 2.0, 3.0], [], [4.0]], fill=np.nan)
    np.testing.assert_array_equal(out, [[1, 2, 3], [np.nan] * 3, [4, np.nan, np.nan]])
    assert pad_rows([[1.0]], 0.0, width=3).tolist() == [[1.0, 0.0, 0.0]]
    assert pad_rows([], 0.0).shape == (0, 0)


def test_concat_padded_known_answer():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[4.0], [5.0]])
    np.testing.assert_array_equal(concat_padded([a, b], 0.0), [[1, 2, 3], [4, 0, 0], [5, 0, 0]])
    np.testing.assert_array_equal(concat_padded([b, a], np.nan)[:2, 1:], np.full((2, 2), np.nan))


def test_complete_chunk_files_finds_the_chunks_dir_and_skips_unfinished(tmp_path):
    run_chunks(_chunk, range(3), tmp_path / "chunks", n_workers=0, progress=False)
    (tmp_path / "chunks" / "chunk_00003.h5").write_bytes(b"half a file")
    found = complete_chunk_files(tmp_path)
    assert [p.name for p in found] == [f"chunk_{i:05d}.h5" for i in range(3)]
    assert complete_chunk_files(tmp_path / "chunks") == found
    with pytest.raises(DataFormatError, match="No complete chunk files"):
        complete_chunk_files(tmp_path / "empty")


@pytest.mark.parametrize("a, b, equal", [
    (b"B3LYP", "B3LYP", True),
    (np.int64(5), 5, True),
    (np.array([1.0, 2.0]), [1.0, 2.0], True),
    (np.array([1.0, 2.0]), [1.0, 2.5], False),
    ("coulomb", "first_shell", False),
    (None, 0.5, False),
])
def test_attrs_equal(a, b, equal):
    assert attrs_equal(a, b) is equal


def test_run_parameter_checks_name_what_differs(tmp_path):
    check_same_attrs("c1.h5", {"seed": 1, "xc": b"B3LYP"}, {"seed": 1, "xc": "B3LYP"}, ("seed", "xc"))
    with pytest.raises(DataFormatError, match=r"c2.h5 has seed=2, other chunks 1\."):
        check_same_attrs("c2.h5", {"seed": 2}, {"seed": 1}, ("seed",))
    check_coverage([], 10, "snapshots", tmp_path, allow_incomplete=False)
    check_coverage([3, 4], 10, "snapshots", tmp_path, allow_incomplete=True)
    with pytest.raises(DataFormatError, match=r"2 of 10 snapshots have no chunk in .*\(e.g. \[3, 4\]\)"):
        check_coverage([3, 4], 10, "snapshots", tmp_path, allow_incomplete=False)
