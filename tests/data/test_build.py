import hashlib
import logging

import numpy as np
import pytest
from ase import Atoms
import ase.io

from xslatent.data import Dataset, build_dataset
from xslatent.exceptions import DataFormatError, InvalidParameterError

E = np.linspace(520.0, 530.0, 21)


def waters(n, seed=0):
    """n random single-water frames (O first) with a name in info."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        a, r1, r2 = rng.uniform(95, 115), rng.uniform(0.9, 1.05), rng.uniform(0.9, 1.05)
        h = np.radians(a) / 2
        pos = [[0, 0, 0], [r1 * np.sin(h), 0, r1 * np.cos(h)], [-r2 * np.sin(h), 0, r2 * np.cos(h)]]
        frames.append(Atoms("OHH", positions=pos, info={"name": f"snap{i}", "run": i % 2}))
    return frames


def boxes(n, seed=1, L=7.0):
    """n periodic frames of 8 waters (random orientations) in an L Å cube."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pos, sym = [], []
        for c in rng.uniform(0, L, (8, 3)):
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            local = np.array([[0, 0, 0], [0.76, 0, 0.59], [-0.76, 0, 0.59]]) @ q.T
            pos += list(c + local)
            sym += ["O", "H", "H"]
        a = Atoms(sym, positions=pos, cell=[L] * 3, pbc=True)
        a.wrap()
        out.append(a)
    return out


def spectra_for(X):
    """A smooth spectrum per sample that depends on its first feature."""
    c = 522 + 6 * (X[:, :1] - X[:, :1].min()) / max(np.ptp(X[:, 0]), 1e-9)
    return np.exp(-((E[None] - c) ** 2) / 2.0)


def write(tmp_path, frames, Y, name="traj.extxyz"):
    ase.io.write(tmp_path / name, frames)
    np.savetxt(tmp_path / "spectra.csv", np.vstack([E, Y]), delimiter=",", fmt="%.17g")
    return tmp_path / name, tmp_path / "spectra.csv"


def test_water_internal_equals_hand_geometry_and_provenance(tmp_path):
    frames = waters(12)
    Y = spectra_for(np.arange(12.0)[:, None])
    traj, table = write(tmp_path, frames, Y)
    ds = build_dataset(traj, table, absorber="O", neighbors="H", name="w")
    assert ds.feature_names == ["angle_HOH_deg", "r_OH_long_A", "r_OH_short_A"]
    back = ase.io.read(traj, ":")
    hand = [[a.get_angle(1, 0, 2), max(a.get_distance(0, 1), a.get_distance(0, 2)),
             min(a.get_distance(0, 1), a.get_distance(0, 2))] for a in back]
    np.testing.assert_allclose(ds.X, hand, atol=1e-10)
    np.testing.assert_array_equal(ds.Y, Y)
    np.testing.assert_array_equal(ds.energy, E)
    assert set(ds.groups.tolist()) == {"traj"}
    rec = ds.attrs["inputs"]["structures"][0]
    assert rec["sha256"] == hashlib.sha256(traj.read_bytes()).hexdigest()
    assert rec["size"] == traj.stat().st_size
    assert ds.attrs["descriptor"] == {"features": "internal", "n_neighbors": 2, "neighbors": ["H"]}
    assert "ase_version" in ds.attrs["versions"]
    ds.save(tmp_path / "d.h5")
    again = Dataset.load(tmp_path / "d.h5")
    np.testing.assert_array_equal(again.X, ds.X)
    assert again.attrs == ds.attrs


def test_coulomb_periodic_matches_dscribe_on_mic_cluster(tmp_path):
    from dscribe.descriptors import CoulombMatrix

    frames = boxes(2)
    n_o = 8
    traj, table = write(tmp_path, frames, np.ones((2 * n_o, E.size)))
    ds = build_dataset(traj, table, absorber="O", features="coulomb", n_neighbors=6)
    assert ds.X.shape == (16, 28)
    cm = CoulombMatrix(n_atoms_max=7, permutation="none")
    iu = np.triu_indices(7)
    row = 0
    for a in ase.io.read(traj, ":"):
        for o in np.flatnonzero(a.numbers == 8):
            vec = a.get_distances(o, range(len(a)), mic=True, vector=True)
            d = np.linalg.norm(vec, axis=1)
            d[o] = np.inf
            near = np.argsort(d, kind="stable")[:6]
            cluster = Atoms(numbers=np.r_[8, a.numbers[near]], positions=np.vstack([[0, 0, 0], vec[near]]))
            np.testing.assert_allclose(ds.X[row], cm.create(cluster).reshape(7, 7)[iu], rtol=1e-9)
            row += 1
    np.testing.assert_array_equal(ds.metadata["atom_index"][:8], np.arange(0, 24, 3))


def test_soap_matches_dscribe(tmp_path):
    from dscribe.descriptors import SOAP

    frames = boxes(2, seed=5)
    traj, table = write(tmp_path, frames, np.ones((16, E.size)))
    ds = build_dataset(traj, table, absorber="O", features="soap", soap={"r_cut": 3.0, "n_max": 2, "l_max": 2})
    ref = SOAP(species=["H", "O"], periodic=True, r_cut=3.0, n_max=2, l_max=2, sigma=0.5)
    want = np.vstack([ref.create(a, centers=np.flatnonzero(a.numbers == 8).tolist())
                      for a in ase.io.read(traj, ":")])
    np.testing.assert_allclose(ds.X, want, rtol=1e-10, atol=1e-12)
    assert ds.attrs["descriptor"]["soap"]["periodic"] is True


def test_match_by_info_name_and_groups_by_info(tmp_path):
    frames = waters(6)
    ase.io.write(tmp_path / "t.extxyz", frames)
    Y = spectra_for(np.arange(6.0)[:, None])
    (tmp_path / "sp").mkdir()
    for i in (3, 0, 5, 1, 4, 2):  # written out of order; names decide
        np.savetxt(tmp_path / "sp" / f"snap{i}.dat", np.column_stack([E, Y[i]]), fmt="%.17g")
    ds = build_dataset(tmp_path / "t.extxyz", tmp_path / "sp", absorber=0, match="info:name",
                       groups="info:run")
    np.testing.assert_allclose(ds.Y, Y)
    assert ds.groups.tolist() == ["0", "1", "0", "1", "0", "1"]
    assert ds.feature_names[0] == "angle_XAX_deg"
    (tmp_path / "sp" / "snap9.dat").write_text((tmp_path / "sp" / "snap0.dat").read_text())
    with pytest.raises(DataFormatError, match=r"no structure for \['snap9'\]"):
        build_dataset(tmp_path / "t.extxyz", tmp_path / "sp", absorber=0, match="info:name")


def test_moments_of_known_gaussians(tmp_path):
    frames = waters(3)
    sigma, centres = 0.6, np.array([523.0, 524.0, 525.0])
    grid = np.linspace(515, 535, 801)
    Y = np.exp(-((grid[None] - centres[:, None]) ** 2) / (2 * sigma**2))
    ase.io.write(tmp_path / "t.extxyz", frames)
    np.savetxt(tmp_path / "s.csv", np.vstack([grid, Y]), delimiter=",", fmt="%.17g")
    ds = build_dataset(tmp_path / "t.extxyz", tmp_path / "s.csv", absorber="O", moments=[(516, 534)])
    assert ds.energy is None and ds.target_names[:2] == ["line1_mean", "line1_std"]
    np.testing.assert_allclose(ds.Y[:, 0], centres, atol=1e-6)
    np.testing.assert_allclose(ds.Y[:, 1], sigma, rtol=1e-3)
    np.testing.assert_allclose(ds.Y[:, 2:], 0, atol=1e-3)


def test_counts_must_match(tmp_path):
    traj, table = write(tmp_path, waters(4), np.ones((5, E.size)))
    with pytest.raises(DataFormatError, match=r"5 spectra for 4 samples \(4 frames"):
        build_dataset(traj, table, absorber="O")


def test_frame_without_absorber(tmp_path):
    frames = waters(3)
    frames[1] = Atoms("NHH", positions=frames[1].positions)
    traj, table = write(tmp_path, frames, np.ones((3, E.size)))
    with pytest.raises(DataFormatError, match=r"frame 1 of .*traj.extxyz has no O atom"):
        build_dataset(traj, table, absorber="O")


def test_nan_spectra_error_or_skip_with_log(tmp_path, caplog):
    Y = spectra_for(np.arange(4.0)[:, None])
    Y[2, 5] = np.nan
    traj, table = write(tmp_path, waters(4), Y)
    with pytest.raises(DataFormatError, match=r"1 sample\(s\) have NaN .*spectra.csv\[2\] \(frame 2"):
        build_dataset(traj, table, absorber="O")
    with caplog.at_level(logging.WARNING):
        ds = build_dataset(traj, table, absorber="O", skip_bad=True)
    assert len(ds) == 3 and ds.metadata["frame_index"].tolist() == [0, 1, 3]
    assert ds.attrs["skipped"][0].startswith("spectra.csv[2] (frame 2")
    assert "spectra.csv[2]" in caplog.text


def test_unreadable_structure_file_and_bad_parameters(tmp_path):
    (tmp_path / "junk.extxyz").write_text("this is not\nan xyz file\n")
    np.savetxt(tmp_path / "s.csv", np.vstack([E, np.ones((1, E.size))]), delimiter=",")
    with pytest.raises(DataFormatError, match="junk.extxyz cannot be read by ase.io.read"):
        build_dataset(tmp_path / "junk.extxyz", tmp_path / "s.csv", absorber="O")
    with pytest.raises(DataFormatError, match="does not exist"):
        build_dataset(tmp_path / "none.extxyz", tmp_path / "s.csv", absorber="O")
    traj, table = write(tmp_path, waters(1), np.ones((1, E.size)))
    with pytest.raises(InvalidParameterError, match="'features' parameter .* Got 'acsf'"):
        build_dataset(traj, table, absorber="O", features="acsf")
    with pytest.raises(InvalidParameterError, match="'absorber' parameter .* Got 'Xx'"):
        build_dataset(traj, table, absorber="Xx")
    with pytest.raises(InvalidParameterError, match="'match' parameter"):
        build_dataset(traj, table, absorber="O", match="name")


def test_energy_grid_not_increasing(tmp_path):
    traj, _ = write(tmp_path, waters(2), np.ones((2, E.size)))
    np.savetxt(tmp_path / "rev.csv", np.vstack([E[::-1], np.ones((2, E.size))]), delimiter=",")
    with pytest.raises(DataFormatError, match="strictly increasing"):
        build_dataset(traj, tmp_path / "rev.csv", absorber="O")


def test_cli_build_refuses_to_overwrite(tmp_path):
    from xslatent.cli import dataset as cli
    from xslatent.cli.main import build_parser

    traj, table = write(tmp_path, waters(4), spectra_for(np.arange(4.0)[:, None]))
    argv = ["dataset", "build", str(traj), "--spectra", str(table), "--absorber", "O", "--neighbors", "H",
            "--out", str(tmp_path / "d.h5")]
    assert cli.run(build_parser().parse_args(argv)) == 0
    assert Dataset.load(tmp_path / "d.h5").feature_names[0] == "angle_HOH_deg"
    with pytest.raises(InvalidParameterError, match="'--out' option must name a new file"):
        cli.run(build_parser().parse_args(argv))


def test_groups_are_files_and_repeated_stems_use_paths(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        ase.io.write(tmp_path / d / "traj.extxyz", waters(2, seed=ord(d)))
    np.savetxt(tmp_path / "s.csv", np.vstack([E, np.ones((4, E.size))]), delimiter=",")
    ds = build_dataset([tmp_path / "a" / "traj.extxyz", tmp_path / "b" / "traj.extxyz"], tmp_path / "s.csv",
                       absorber="O")
    assert ds.groups.tolist() == [str(tmp_path / "a" / "traj.extxyz")] * 2 + [str(tmp_path / "b" / "traj.extxyz")] * 2
    assert ds.metadata["file_index"].tolist() == [0, 0, 1, 1]
