"""Tests of the H2O generator and of the chunk runner it is built on.

Physics reference values are the probe figures (``probe_figures.md``): at the equilibrium
geometry BE 539.8 eV, XES 527.0 / 525.0 / 521.1 eV, XAS first peaks 535.7 and 537.6 eV.
"""

import os

import h5py
import numpy as np
import pytest

pytest.importorskip("pyscf")
pytest.importorskip("tblite")

from xslatent.exceptions import DataFormatError
from xslatent.features.h2o import internal_coordinates
from xslatent.simulate import h2o
from xslatent.simulate._runner import (
    ChunkError,
    is_complete,
    read_chunk,
    run_chunks,
)

# Small MD settings for tests: few frames close together.
FAST_MD = dict(frames_per_trajectory=2, equilibration_fs=10.0, frame_interval_fs=5.0)


# --------------------------------------------------------------------------- broadening


def test_broaden_area_and_peak():
    grid = np.linspace(520, 560, 4001)
    de = grid[1] - grid[0]
    s = h2o.broaden([530.0, 545.0], [1.0, 3.0], grid, fwhm_gauss=0.8, fwhm_lorentz=0.0)
    assert s.sum() * de == pytest.approx(4.0, rel=1e-6)
    assert grid[s.argmax()] == pytest.approx(545.0)
    # The Lorentzian tails lose a little area on a finite grid, nothing else.
    v = h2o.broaden([540.0], [1.0], grid, fwhm_gauss=0.8, fwhm_lorentz=0.16)
    assert v.sum() * de == pytest.approx(1.0, abs=0.01)
    assert grid[v.argmax()] == pytest.approx(540.0)


def test_broaden_batched_padding_and_per_stick_width():
    grid = np.linspace(530, 550, 201)
    e = np.array([[535.0, 540.0, np.nan], [536.0, np.nan, np.nan]])
    i = np.array([[1.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    out = h2o.broaden(e, i, grid, fwhm_gauss=[[0.5, 2.0, 1.0], [0.5, 1.0, 1.0]])
    assert out.shape == (2, 201)
    single = h2o.broaden([535.0, 540.0], [1.0, 2.0], grid, fwhm_gauss=[0.5, 2.0])
    np.testing.assert_allclose(out[0], single)
    assert np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="same shape"):
        h2o.broaden([1.0], [1.0, 2.0], grid, 0.5)


def test_xas_gaussian_fwhm_ramp():
    be = 540.0
    e = np.array([530.0, 538.0, 543.0, 548.0, 560.0])
    np.testing.assert_allclose(h2o.xas_gaussian_fwhm(e, be), [0.8, 0.8, 2.4, 4.0, 4.0])


# --------------------------------------------------------------------------- MD


def test_md_short_trajectory_bound_and_deterministic():
    kw = dict(n_frames=30, temperature=6500.0, equilibration_fs=20.0, frame_interval_fs=4.0, seed=3)
    out = h2o.md_trajectory(0, **kw)
    assert out["positions"].shape == (30, 3, 3)
    np.testing.assert_allclose(out["time_fs"][:2], [20.0, 24.0])
    ic = internal_coordinates(out["positions"])
    assert np.all((ic[:, 2] > 0.7) & (ic[:, 1] < 1.4))
    assert np.all((ic[:, 0] > 60) & (ic[:, 0] < 160))
    etot = out["potential_energy"] + out["kinetic_energy"]
    assert np.ptp(etot) < 0.02  # eV: NVE with 0.2 fs steps
    # internal kinetic energy starts at 1.5 kB T0 and the molecule does not fly apart
    assert np.abs(etot - out["initial_total_energy"]).max() < 0.02
    again = h2o.md_trajectory(0, **kw)
    np.testing.assert_array_equal(again["positions"], out["positions"])
    other = h2o.md_trajectory(1, **kw)
    assert not np.allclose(other["positions"], out["positions"])


def test_md_rejects_bad_parameters():
    with pytest.raises(ValueError, match="multiple of timestep_fs"):
        h2o.md_trajectory(0, n_frames=1, frame_interval_fs=0.3)
    with pytest.raises(ValueError, match="'temperature' parameter of md_trajectory"):
        h2o.md_trajectory(0, temperature=-1.0)


# --------------------------------------------------------------------------- one snapshot


@pytest.fixture(scope="module")
def equilibrium():
    return h2o.compute_snapshot(h2o.EXPERIMENTAL_GEOMETRY)


def test_compute_snapshot_equilibrium(equilibrium):
    r = equilibrium
    assert r["binding_energy"] == pytest.approx(539.8, abs=0.3)
    xes = np.sort(r["xes_energy"])[::-1]
    np.testing.assert_allclose(xes[:3], [527.0, 525.0, 521.1], atol=0.3)
    assert r["xes_intensity"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(r["xas_energy"][:2], [535.7, 537.6], atol=0.3)
    assert np.all(r["xas_intensity"] >= 0) and r["xas_intensity"][:2].min() > 1e-3
    assert r["core_overlap"] > 0.99 and r["tp_core_overlap"] > 0.99
    # alignment: the TP threshold (eps = 0) sits at the ΔSCF binding energy
    np.testing.assert_allclose(r["xas_energy"], r["binding_energy"] + np.sort(r["xas_energy"] - r["binding_energy"]))
    for key, spec in (("xps", h2o.XPS_GRID), ("xes", h2o.XES_GRID), ("xas", h2o.XAS_GRID)):
        assert r[key].shape == (spec[2],)
    de = (h2o.XPS_GRID[1] - h2o.XPS_GRID[0]) / (h2o.XPS_GRID[2] - 1)
    assert r["xps"].sum() * de == pytest.approx(1.0, abs=0.03)


# --------------------------------------------------------------------------- generator


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("h2o")
    report = h2o.generate(out, n_snapshots=3, n_workers=1, chunk_size=2, seed=5, progress=False, **FAST_MD)
    return out, report


def test_generate_end_to_end(generated):
    out, report = generated
    assert sorted(report.geometries.computed) == [0, 1]
    assert sorted(report.spectra.computed) == [0, 1] and report.spectra.ok
    chunks = sorted((out / "chunks").glob("chunk_*.h5"))
    assert [p.name for p in chunks] == ["chunk_00000.h5", "chunk_00001.h5"]
    c0 = read_chunk(chunks[0])
    assert c0["structure/positions"].shape == (2, 3, 3)
    np.testing.assert_array_equal(c0["structure/snapshot_index"], [0, 1])
    np.testing.assert_array_equal(c0["structure/trajectory_index"], [0, 0])
    np.testing.assert_array_equal(c0["structure/frame_index"], [0, 1])
    np.testing.assert_allclose(c0["structure/internal_coordinates"],
                               internal_coordinates(c0["structure/positions"]))
    assert np.all((c0["xps/binding_energy"] > 537) & (c0["xps/binding_energy"] < 543))
    assert c0["xas/spectrum"].shape == (2, 100) and c0["xas/spectrum"].dtype == np.float32
    assert c0["sticks/xes_energy"].shape == (2, 4)
    assert c0["excluded"] == []
    attrs = c0["attrs"]
    assert attrs["xc"] == "B3LYP" and attrs["grid_level"] == 1 and attrs["seed"] == 5
    assert attrs["temperature_K"] == h2o.DEFAULT_TEMPERATURE
    assert "pyscf_version" in attrs and "tblite_version" in attrs and "xslatent_version" in attrs
    with h5py.File(chunks[1], "r") as f:
        np.testing.assert_array_equal(f["structure/snapshot_index"][()], [2])
        np.testing.assert_array_equal(f["structure/trajectory_index"][()], [1])
    assert chunks[0].stat().st_size < 1_000_000
    # geometry cache: one file per trajectory
    assert sorted(p.name for p in (out / "geometries").iterdir()) == ["traj_000.h5", "traj_001.h5"]


def test_generate_resume_recomputes_nothing(generated, monkeypatch):
    out, _ = generated
    files = sorted(out.rglob("*.h5"))
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    # in-process (n_workers=0), so that any MD or spectrum call would be seen here
    calls = []
    for name in ("md_trajectory", "compute_snapshot"):
        monkeypatch.setattr(h2o, name, lambda *a, _name=name, **k: calls.append(_name))
    report = h2o.generate(out, n_snapshots=3, n_workers=0, chunk_size=2, seed=5, progress=False, **FAST_MD)
    assert calls == []
    assert report.geometries.computed == [] and report.spectra.computed == []
    assert sorted(report.geometries.skipped) == [0, 1] and sorted(report.spectra.skipped) == [0, 1]
    assert report.geometries.failed == {} and report.spectra.failed == {}
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes


def test_generate_refuses_other_parameters(generated):
    out, _ = generated
    with pytest.raises(ChunkError, match="seed"):
        h2o.generate(out, n_snapshots=3, n_workers=0, chunk_size=2, seed=6, progress=False, **FAST_MD)


def test_assemble_layout_and_reproducible(generated, tmp_path, capsys):
    out, _ = generated
    sha = h2o.assemble(out, tmp_path / "h2o.h5")
    assert sha in capsys.readouterr().out
    with h5py.File(tmp_path / "h2o.h5", "r") as f:
        assert f.attrs["format"] == "xslatent-h2o-spectra"
        assert f.attrs["n_snapshots"] == 3
        np.testing.assert_array_equal(f["structure/snapshot_index"][()], [0, 1, 2])
        for g in ("xps", "xes", "xas"):
            assert f[f"{g}/spectrum"].shape == (3, 100)
            assert f[f"{g}/energy"].shape == (100,)
        assert f["xps/binding_energy"].dtype == np.float64
        assert f["xes/spectrum"].compression == "gzip"
        assert f["excluded/snapshot_index"].shape == (0,)
    assert h2o.assemble(out, tmp_path / "again.h5", verbose=False) == sha
    with pytest.raises(DataFormatError, match="No complete chunk"):
        h2o.assemble(tmp_path, tmp_path / "x.h5")


def test_cli_assemble_and_help(generated, tmp_path, capsys):
    from xslatent.cli.main import main

    out, _ = generated
    assert main(["simulate", "h2o-assemble", str(out), str(tmp_path / "cli.h5")]) == 0
    assert "cli.h5" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "h2o", "--help"])
    assert exc.value.code == 0
    assert "--scheduler" in capsys.readouterr().out


def test_generate_after_kill_recomputes_only_broken_chunk(generated, tmp_path):
    import shutil

    src, _ = generated
    out = tmp_path / "run"
    shutil.copytree(src, out)
    broken = out / "chunks" / "chunk_00001.h5"
    broken.write_bytes(b"truncated by a kill")  # a partial file under the final name
    (out / "chunks" / "chunk_00002.h5.tmp").write_bytes(b"junk")  # left by an interrupted write
    before = (out / "chunks" / "chunk_00000.h5").stat().st_mtime_ns
    report = h2o.generate(out, n_snapshots=3, n_workers=0, chunk_size=2, seed=5, progress=False, **FAST_MD)
    assert report.spectra.computed == [1] and report.spectra.skipped == [0]
    assert (out / "chunks" / "chunk_00000.h5").stat().st_mtime_ns == before
    assert is_complete(broken)
    assert not list((out / "chunks").glob("*.tmp"))
    with h5py.File(broken, "r") as f, h5py.File(src / "chunks" / "chunk_00001.h5", "r") as g:
        # deterministic: the recomputed chunk matches the original to < 1 meV
        np.testing.assert_allclose(f["xps/binding_energy"][()], g["xps/binding_energy"][()], atol=1e-3)


def test_failed_check_is_recorded_as_excluded(tmp_path, monkeypatch, caplog):
    from xslatent.simulate import _h2o_spectra

    monkeypatch.setattr(_h2o_spectra, "_MIN_CORE_OVERLAP", 1.01)  # no snapshot can pass
    report = h2o.generate(tmp_path, n_snapshots=1, n_workers=0, chunk_size=1, seed=0,
                          progress=False, frames_per_trajectory=1, equilibration_fs=10.0)
    assert report.spectra.n_excluded == 1 and report.spectra.computed == [0]
    chunk = read_chunk(tmp_path / "chunks" / "chunk_00000.h5")
    assert chunk["structure/positions"].shape == (0, 3, 3)
    assert chunk["sticks/xas_energy"].shape[0] == 0
    [(index, reason)] = chunk["excluded"]
    assert index == 0 and "overlap" in reason
    assert any("excluded" in rec.message for rec in caplog.records)
    # a chunk whose snapshots were all excluded still assembles; the file records why
    h2o.assemble(tmp_path / "chunks", tmp_path / "ok.h5", verbose=False)
    with h5py.File(tmp_path / "ok.h5", "r") as f:
        assert f.attrs["n_snapshots"] == 0 and f.attrs["n_excluded"] == 1
        assert "overlap" in f["excluded/reason"][0].decode()


# --------------------------------------------------------------------------- runner


def _toy_chunk(chunk_id, *, fail_chunk=-1, bad_item=-1, counter=None):
    if counter is not None:
        with open(counter, "a") as fh:
            fh.write(f"{chunk_id}\n")
    if chunk_id == fail_chunk:
        raise RuntimeError("boom")
    items = [i for i in range(chunk_id * 3, chunk_id * 3 + 3) if i != bad_item]
    return {
        "values": np.asarray(items, dtype=float),
        "group/square": np.asarray(items, dtype=float) ** 2,
        "excluded": [(bad_item, "bad item")] if bad_item // 3 == chunk_id else [],
        "attrs": {"note": "toy"},
    }


def test_runner_records_failures_and_resumes(tmp_path):
    counter = tmp_path / "calls.txt"
    kw = dict(fail_chunk=1, bad_item=7, counter=str(counter))
    rep = run_chunks(_toy_chunk, range(3), tmp_path / "c", kwargs=kw, n_workers=0,
                     expected_attrs={"seed": 1}, progress=False)
    assert sorted(rep.computed) == [0, 2] and list(rep.failed) == [1] and "boom" in rep.failed[1]
    assert rep.n_excluded == 1
    assert not (tmp_path / "c" / "chunk_00001.h5").exists()
    c2 = read_chunk(tmp_path / "c" / "chunk_00002.h5")
    np.testing.assert_array_equal(c2["values"], [6, 8])
    assert c2["excluded"] == [(7, "bad item")] and c2["attrs"]["seed"] == 1
    # the failed chunk is retried, the others are not recomputed
    rep = run_chunks(_toy_chunk, range(3), tmp_path / "c", kwargs=dict(counter=str(counter)),
                     n_workers=0, expected_attrs={"seed": 1}, progress=False)
    assert rep.computed == [1] and sorted(rep.skipped) == [0, 2]
    assert counter.read_text().split() == ["0", "1", "2", "1"]
    with pytest.raises(ChunkError, match="seed=1"):
        run_chunks(_toy_chunk, range(3), tmp_path / "c", n_workers=0, expected_attrs={"seed": 2},
                   progress=False)


def test_runner_dask_client(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        rep = run_chunks(_toy_chunk, range(2), tmp_path, client=client, progress=False)
    assert sorted(rep.computed) == [0, 1]
    np.testing.assert_array_equal(read_chunk(tmp_path / "chunk_00001.h5")["values"], [3, 4, 5])


def test_runner_interrupt_keeps_finished_chunks(tmp_path, monkeypatch):
    calls = []

    def interrupting(chunk_id):
        calls.append(chunk_id)
        if chunk_id == 1:
            raise KeyboardInterrupt
        return {"values": np.arange(3.0)}

    with pytest.raises(KeyboardInterrupt):
        run_chunks(interrupting, range(3), tmp_path, n_workers=0, progress=False)
    assert calls == [0, 1]
    assert is_complete(tmp_path / "chunk_00000.h5")
    assert not (tmp_path / "chunk_00001.h5").exists()
    assert not list(tmp_path.glob("*.tmp"))
    assert os.listdir(tmp_path) == ["chunk_00000.h5"]
