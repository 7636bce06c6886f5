"""Tests for xslatent.data.Dataset: validation, subsets, splits and HDF5 round trips."""

import json
import os

import h5py
import numpy as np
import pytest

from xslatent.data import Dataset
from xslatent.exceptions import DataFormatError, InvalidParameterError


def make_dataset(n=20, d=3, m=5, *, str_groups=False, seed=0):
    rng = np.random.default_rng(seed)
    groups = (
        np.array(["1 GPa", "10 GPa"] * (n // 2))
        if str_groups
        else np.repeat([0.0, 5.5], n // 2)
    )
    return Dataset(
        X=rng.normal(size=(n, d)),
        Y=rng.normal(size=(n, m)),
        feature_names=[f"r{i}" for i in range(d)],
        target_names=[f"xes_{j}" for j in range(m)],
        energy=np.linspace(520.0, 530.0, m),
        groups=groups,
        metadata={
            "cn": rng.integers(3, 7, size=n),
            "positions": rng.normal(size=(n, 4, 3)),
            "label": np.array([f"frame-{i}" for i in range(n)]),
            "ok": rng.random(n) > 0.5,
        },
        attrs={"seed": 0, "code": {"name": "pyscf", "version": "2.4"}, "ratio": 0.1,
               "tags": ["a", "b"], "nothing": None},
        name="toy",
    )


def assert_same(a: Dataset, b: Dataset):
    assert np.array_equal(a.X, b.X) and a.X.dtype == b.X.dtype == np.float64
    assert np.array_equal(a.Y, b.Y) and a.Y.dtype == b.Y.dtype == np.float64
    assert a.feature_names == b.feature_names
    assert a.target_names == b.target_names
    assert all(isinstance(s, str) for s in a.feature_names + b.target_names)
    if a.energy is None:
        assert b.energy is None
    else:
        assert np.array_equal(a.energy, b.energy)
    if a.groups is None:
        assert b.groups is None
    else:
        assert np.array_equal(a.groups, b.groups)
        assert a.groups.dtype.kind == b.groups.dtype.kind
    assert list(a.metadata) == list(b.metadata)
    for k in a.metadata:
        assert np.array_equal(a.metadata[k], b.metadata[k]), k
        assert a.metadata[k].dtype.kind == b.metadata[k].dtype.kind, k
        assert a.metadata[k].shape == b.metadata[k].shape, k
    assert a.attrs == b.attrs
    assert a.name == b.name


# ---------------------------------------------------------------- construction
def test_defaults_and_properties():
    ds = Dataset(np.zeros((4, 2)), np.ones((4, 3)))
    assert ds.feature_names == ["x0", "x1"]
    assert ds.target_names == ["y0", "y1", "y2"]
    assert (len(ds), ds.n_samples, ds.n_features, ds.n_targets) == (4, 4, 2, 3)
    assert ds.energy is None and ds.groups is None
    assert ds.metadata == {} and ds.attrs == {} and ds.name == ""


def test_repr_is_short_summary():
    text = repr(make_dataset())
    assert text.startswith("Dataset(") and "n_samples=20" in text and "n_targets=5" in text
    assert len(text) < 300


def kw(**changes):
    """Keyword arguments of a valid 4-sample Dataset, with ``changes`` applied."""
    return dict(X=np.zeros((4, 2)), Y=np.zeros((4, 3)), **changes)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X=np.zeros((4, 2)), Y=np.zeros((5, 3))), "'X' and 'Y'"),
        (dict(X=np.array([[0.0, np.nan]] * 4), Y=np.zeros((4, 3))), "'X'.*finite"),
        (dict(X=np.zeros((4, 2)), Y=np.array([[np.inf, 0, 0]] * 4)), "'Y'.*finite"),
        (dict(X=np.zeros(4), Y=np.zeros((4, 3))), "'X'.*2-D"),
        (kw(feature_names=["a"]), "'feature_names'"),
        (kw(target_names=["a", "b"]), "'target_names'"),
        (kw(feature_names=["a", "a"]), "'feature_names'.*unique"),
        (kw(feature_names="ab"), "'feature_names'"),
        (kw(feature_names=[1, 2]), "'feature_names'"),
        (kw(energy=np.arange(4.0)), "'energy'"),
        (kw(energy=[0, np.nan, 1]), "'energy'"),
        (kw(groups=[1, 2, 3]), "'groups'"),
        (kw(groups=[1.0, np.nan, 1, 1]), "'groups'"),
        (kw(metadata={"cn": np.zeros(3)}), r"metadata\['cn'\]"),
        (kw(metadata={"a/b": np.zeros(4)}), "'metadata'"),
        (kw(metadata=[1]), "'metadata'"),
        (kw(metadata={"o": [object()] * 4}), r"metadata\['o'\]"),
        (kw(attrs={"f": object()}), "'attrs'"),
        (kw(name=3), "'name'"),
    ],
)
def test_validation_errors_name_the_field(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        Dataset(**kwargs)


def test_validation_error_message_says_what_was_given():
    with pytest.raises(InvalidParameterError, match=r"one name per column \(2\)\. Got 1 name"):
        Dataset(np.zeros((4, 2)), np.zeros((4, 3)), feature_names=["a"])


def test_attrs_normalised_to_json_values():
    ds = Dataset(np.zeros((2, 1)), np.zeros((2, 1)), attrs={"t": (1, 2), "i": np.int64(3)})
    assert ds.attrs == {"t": [1, 2], "i": 3}
    assert type(ds.attrs["i"]) is int


# ---------------------------------------------------------------- subsets and splits
def test_subset_keeps_everything_aligned():
    ds = make_dataset()
    idx = [5, 0, 7]
    sub = ds.subset(idx)
    assert np.array_equal(sub.X, ds.X[idx]) and np.array_equal(sub.Y, ds.Y[idx])
    assert np.array_equal(sub.groups, ds.groups[idx])
    for k, v in ds.metadata.items():
        assert np.array_equal(sub.metadata[k], v[idx])
    assert sub.feature_names == ds.feature_names and sub.attrs == ds.attrs
    sub.X[0, 0] = 1e9  # a copy
    assert ds.X[5, 0] != 1e9
    mask = np.zeros(len(ds), bool)
    mask[[1, 2]] = True
    assert np.array_equal(ds.subset(mask).X, ds.X[1:3])
    assert np.array_equal(ds.subset(slice(0, 4)).X, ds.X[:4])


@pytest.mark.parametrize("indices", [[], [20], [0.5], np.zeros(3, bool)])
def test_subset_bad_indices(indices):
    with pytest.raises(InvalidParameterError, match="'indices'"):
        make_dataset().subset(indices)


@pytest.mark.parametrize("test_size, n_test", [(0.2, 4), (0.25, 5), (0.01, 1), (7, 7)])
def test_split_sizes_disjoint_covering(test_size, n_test):
    ds = make_dataset()
    ds.metadata["row"] = np.arange(len(ds))
    train, test = ds.train_test_split(test_size=test_size, random_state=0)
    assert (len(train), len(test)) == (len(ds) - n_test, n_test)
    rows_tr, rows_te = train.metadata["row"], test.metadata["row"]
    assert not set(rows_tr) & set(rows_te)
    assert sorted(np.concatenate([rows_tr, rows_te])) == list(range(len(ds)))
    for part, rows in ((train, rows_tr), (test, rows_te)):
        assert np.array_equal(part.X, ds.X[rows]) and np.array_equal(part.Y, ds.Y[rows])
        assert np.array_equal(part.groups, ds.groups[rows])
        assert np.array_equal(part.metadata["positions"], ds.metadata["positions"][rows])


def test_split_reproducible_with_random_state():
    ds = make_dataset(n=50)
    a = ds.train_test_split(random_state=3)
    b = ds.train_test_split(random_state=3)
    c = ds.train_test_split(random_state=4)
    assert np.array_equal(a[1].X, b[1].X) and np.array_equal(a[0].X, b[0].X)
    assert not np.array_equal(a[1].X, c[1].X)


@pytest.mark.parametrize("stratify", ["groups", "label_col", "array"])
def test_split_stratified(stratify):
    ds = make_dataset(n=40, str_groups=True)
    ds.metadata["label_col"] = ds.groups.copy()
    labels = ds.groups if stratify == "array" else stratify
    train, test = ds.train_test_split(test_size=0.25, random_state=0, stratify=labels)
    assert sorted(test.groups.tolist()) == ["1 GPa"] * 5 + ["10 GPa"] * 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(test_size=1.5), r"The 'test_size' parameter of train_test_split must be a float "
                              r"in the range \(0, 1\) or an int .* Got 1\.5 instead\."),
        (dict(test_size=0), "'test_size'"),
        (dict(test_size=20), "'test_size'.*at least one sample"),
        (dict(random_state=-1), "'random_state'"),
        (dict(stratify="nope"), "'stratify'"),
        (dict(stratify=[0, 1]), "'stratify'"),
        (dict(stratify=np.arange(20)), "'stratify'"),
    ],
)
def test_split_errors(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_dataset().train_test_split(**kwargs)


def test_split_single_sample_raises():
    with pytest.raises(InvalidParameterError, match="'test_size'"):
        Dataset(np.zeros((1, 1)), np.zeros((1, 1))).train_test_split()


# ---------------------------------------------------------------- target selection
@pytest.mark.parametrize(
    "sel, cols",
    [
        ("xes_2", [2]),
        (["xes_3", "xes_0"], [3, 0]),
        (slice(1, 3), [1, 2]),
        ([0, 4], [0, 4]),
        (-1, [4]),
        (np.array([True, False, True, False, False]), [0, 2]),
    ],
)
def test_select_targets(sel, cols):
    ds = make_dataset()
    sub = ds.select_targets(sel)
    assert np.array_equal(sub.Y, ds.Y[:, cols])
    assert np.array_equal(sub.energy, ds.energy[cols])
    assert sub.target_names == [ds.target_names[j] for j in cols]
    assert np.array_equal(sub.X, ds.X) and sub.metadata.keys() == ds.metadata.keys()


def test_select_targets_pattern_for_several_spectrum_types():
    n = 6
    Y = np.arange(n * 5, dtype=float).reshape(n, 5)
    names = ["xes_0", "xes_1", "xas_0", "xas_1", "xps_0"]
    ds = Dataset(np.zeros((n, 1)), Y, target_names=names)
    xas = ds.select_targets("xas_*")
    assert xas.target_names == ["xas_0", "xas_1"]
    assert np.array_equal(xas.Y, Y[:, 2:4])


@pytest.mark.parametrize("sel", ["missing", ["xes_0", "bad"], [], [7], slice(3, 3), [0, 0]])
def test_select_targets_errors(sel):
    with pytest.raises(InvalidParameterError, match="'names_or_slice'"):
        make_dataset().select_targets(sel)


# ---------------------------------------------------------------- HDF5
@pytest.mark.parametrize("str_groups", [False, True])
def test_round_trip_exact(tmp_path, str_groups):
    ds = make_dataset(str_groups=str_groups)
    path = tmp_path / "ds.h5"
    ds.save(path)
    back = Dataset.load(path)
    assert_same(ds, back)
    assert back.groups.dtype.kind == ("U" if str_groups else "f")


def test_round_trip_minimal_and_uncompressed(tmp_path):
    ds = Dataset(np.array([[np.pi, 1e-300]]), np.array([[-0.0, 1.0 / 3.0]]))
    path = tmp_path / "m.h5"
    ds.save(str(path), compression=None)
    back = Dataset.load(str(path))
    assert_same(ds, back)
    assert np.signbit(back.Y[0, 0])


def test_save_layout(tmp_path):
    path = tmp_path / "ds.h5"
    make_dataset().save(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "xslatent.dataset"
        assert int(f.attrs["schema_version"]) == 1
        assert json.loads(f.attrs["attrs"])["seed"] == 0
        assert f["feature_names"].asstr()[()].tolist() == ["r0", "r1", "r2"]
        assert f["X"].compression == "gzip"
        assert set(f["metadata"]) == {"cn", "positions", "label", "ok"}


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "ds.h5"
    make_dataset(seed=0).save(path)
    ds2 = make_dataset(seed=1)
    ds2.save(path)
    assert os.listdir(tmp_path) == ["ds.h5"]
    assert_same(ds2, Dataset.load(path))


def test_save_failure_leaves_no_tmp(tmp_path):
    path = tmp_path / "missing_dir" / "ds.h5"
    with pytest.raises(OSError):
        make_dataset().save(path)
    assert not (tmp_path / "missing_dir").exists()
    with pytest.raises(InvalidParameterError, match="'compression'"):
        make_dataset().save(tmp_path / "x.h5", compression="zip")
    assert os.listdir(tmp_path) == []


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        Dataset.load(path)


def test_load_foreign_hdf5(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(10)
    with pytest.raises(DataFormatError, match="foreign.h5.*not an xslatent data set"):
        Dataset.load(path)


def test_load_plain_text(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("hello, I am not HDF5\n" * 20)
    with pytest.raises(DataFormatError, match="notes.h5"):
        Dataset.load(path)


def test_load_truncated(tmp_path):
    path = tmp_path / "trunc.h5"
    make_dataset(n=200).save(path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(DataFormatError, match="trunc.h5"):
        Dataset.load(path)


def test_load_newer_schema(tmp_path):
    path = tmp_path / "new.h5"
    make_dataset().save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 2
    with pytest.raises(DataFormatError, match="schema_version 2.*newer"):
        Dataset.load(path)


def test_load_missing_required_dataset(tmp_path):
    path = tmp_path / "partial.h5"
    make_dataset().save(path)
    with h5py.File(path, "r+") as f:
        del f["Y"]
    with pytest.raises(DataFormatError, match="'Y'.*missing"):
        Dataset.load(path)


def test_load_inconsistent_content(tmp_path):
    path = tmp_path / "bad.h5"
    make_dataset().save(path)
    with h5py.File(path, "r+") as f:
        del f["energy"]
        f["energy"] = np.arange(3.0)
    with pytest.raises(DataFormatError, match="bad.h5.*'energy'"):
        Dataset.load(path)


# ------------------------------------------------------------------ grouped split
def test_grouped_split_keeps_groups_whole():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(10), 7)
    ds = Dataset(rng.normal(size=(70, 2)), rng.normal(size=(70, 3)), groups=groups)
    train, test = ds.train_test_split(test_size=0.2, random_state=3, by_group=True)
    assert set(train.groups).isdisjoint(set(test.groups))
    assert len(set(test.groups)) == 2 and len(test) == 14 and len(train) == 56
    # same seed, same split; another seed, another split
    again = ds.train_test_split(test_size=0.2, random_state=3, by_group=True)[1]
    assert np.array_equal(again.groups, test.groups)
    other = [set(ds.train_test_split(test_size=2, random_state=s, by_group=True)[1].groups) for s in range(6)]
    assert len({frozenset(o) for o in other}) > 1
    assert all(len(o) == 2 for o in other)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(test_size=10), r"at least one group in each.*10-group"),
        (dict(stratify="groups"), "must be None when by_group=True"),
        (dict(by_group="yes"), "'by_group' parameter"),
    ],
)
def test_grouped_split_errors(kwargs, match):
    ds = Dataset(np.zeros((20, 2)), np.ones((20, 2)), groups=np.repeat(np.arange(10), 2))
    with pytest.raises(InvalidParameterError, match=match):
        ds.train_test_split(**{"by_group": True, **kwargs})


def test_grouped_split_needs_groups():
    ds = Dataset(np.zeros((20, 2)), np.ones((20, 2)))
    with pytest.raises(InvalidParameterError, match="'by_group' parameter .* groups=None"):
        ds.train_test_split(by_group=True)
