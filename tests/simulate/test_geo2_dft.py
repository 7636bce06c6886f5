"""GeO2 Kβ from DFT: the Ge(OH)n cluster builder on hand-made sites and the stick model."""

import numpy as np
import pytest

from xslatent.exceptions import InvalidParameterError
from xslatent.features.coulomb import minimum_image_vectors
from xslatent.simulate import geo2
from xslatent.simulate._dft_cluster import hydroxide_cluster
from xslatent.simulate._xtb_cluster import R_OH
from xslatent.simulate.geo2_dft import chunk_table

TET = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float) / np.sqrt(3)
OCT = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
TBP = np.array([[0, 0, 1], [0, 0, -1], [1, 0, 0], [-0.5, np.sqrt(3) / 2, 0],
                [-0.5, -np.sqrt(3) / 2, 0]], float)


def site(directions, r=1.80, bridged=(), r_ge=1.80, extra=()):
    """Ge at the origin with O at ``r`` along ``directions``; O number k in ``bridged`` gets a
    second Ge at ``r_ge`` from it, bent by 40° away from the Ge–O line; ``extra``: more atoms."""
    numbers, pos = [32], [np.zeros(3)]
    for v in directions:
        numbers.append(8)
        pos.append(r * v)
    partners = {}
    for k in bridged:
        v = directions[k]
        perp = np.cross(v, [0.3, 0.5, 0.8])
        perp /= np.linalg.norm(perp)
        u = np.cos(np.radians(40)) * v + np.sin(np.radians(40)) * perp
        numbers.append(32)
        pos.append(r * v + r_ge * u)
        partners[k] = u
    for z, p in extra:
        numbers.append(z)
        pos.append(np.asarray(p, float))
    numbers, pos = np.array(numbers), np.array(pos)
    return numbers, minimum_image_vectors(pos, np.arange(len(numbers))), partners


@pytest.mark.parametrize("dirs, cn, charge", [(TET, 4, 0), (TBP, 5, -1), (OCT, 6, -2)])
def test_hydroxide_cluster_cn_charge_and_outward_h(dirs, cn, charge):
    z, vec, _ = site(dirs)
    cl = hydroxide_cluster(z, vec, 0)
    assert cl.n_core == cn + 1 and cl.n_caps_o == cn and cl.charge == charge
    assert cl.numbers.tolist() == [32] + [8] * cn + [1] * cn
    # non-bridging O: the H continues the Ge–O line outward, 0.97 Å beyond the O
    for o, h in zip(cl.positions[1:cn + 1], cl.positions[cn + 1:]):
        np.testing.assert_allclose(h, o * (1.80 + R_OH) / 1.80, atol=1e-12)


def test_hydroxide_cluster_h_points_to_the_other_cation():
    z, vec, partners = site(TET, bridged=(0, 2))
    cl = hydroxide_cluster(z, vec, 0)
    assert cl.charge == 0 and cl.n_caps_o == 4
    o, h = cl.positions[1:5], cl.positions[5:]
    for k in range(4):
        np.testing.assert_allclose(np.linalg.norm(h[k] - o[k]), R_OH, atol=1e-12)
        expected = partners[k] if k in partners else o[k] / np.linalg.norm(o[k])
        np.testing.assert_allclose((h[k] - o[k]) / R_OH, expected, atol=1e-12)


def test_hydroxide_cluster_cutoff_and_order():
    # a fifth O at 2.6 Å is outside the 2.4 Å coordination cutoff; O sorted by distance
    z, vec, _ = site(TET[::-1], extra=[(8, [0.0, 0.0, 2.6])])
    cl = hydroxide_cluster(z, vec, 0)
    assert cl.n_core == 5 and cl.charge == 0
    assert cl.core_indices.tolist() == [0, 1, 2, 3, 4]
    wider = hydroxide_cluster(z, vec, 0, bond_cutoff=2.7)
    assert wider.n_core == 6 and wider.charge == -1
    np.testing.assert_allclose(np.linalg.norm(wider.positions[5]), 2.6)


def test_first_shell_variant_is_the_same_builder_without_outward_caps():
    z, vec, _ = site(TET, bridged=(1,))
    cl = geo2._first_shell_cluster(z, vec, 0, geo2.SpectrumSettings(cluster="first_shell"))
    assert cl.n_caps_o == 1 and cl.charge == 4 - 8 + 1


def test_chunk_order_prefixes_are_balanced():
    table = chunk_table(66, 3, 12, 6)
    assert len(table) == 66 * 3 * 12 and len(set(table)) == len(table)
    pilot = table[:88]
    runs = [r for r, _, _ in pilot]
    pressure = np.array(runs) // 6
    # every pressure appears in the pilot, 8 (replicas 0-1 twice) chunks each
    assert np.bincount(pressure).tolist() == [8] * 11
    assert {p for _, _, p in pilot} == {0}


def test_dft_settings_are_validated():
    with pytest.raises(InvalidParameterError, match="cluster"):
        geo2.validate_spectrum_settings(geo2.SpectrumSettings(method="dft", cluster="coulomb"))
    with pytest.raises(InvalidParameterError, match="method"):
        geo2.validate_spectrum_settings(geo2.SpectrumSettings(method="hf"))


def test_kbeta_doublet_depends_on_ge_o_distance():
    """Ge(OH)4 at two Ge–O lengths: Kβ'' 17-19 eV below the Kβ2 top with ~1/5 of its
    intensity, and the Kβ''/Kβ2 ratio falls as Ge–O grows (the known sensitivity)."""
    pytest.importorskip("pyscf")
    from xslatent.simulate._dft_cluster import dft_kbeta_sticks

    ratios = []
    for r in (1.74, 1.80):
        z, vec, _ = site(TET, r=r)
        st = dft_kbeta_sticks(hydroxide_cluster(z, vec, 0))
        e, w = st["energy"], st["intensity"]
        low = e < st["split"]
        assert 5 < st["gap"] < 10
        assert 16 < e.max() - e[low].max() < 20
        ratios.append(w[low].sum() / w[~low].sum())
    assert 0.12 < ratios[1] < ratios[0] < 0.25


def test_cli_dft_without_geometries_is_a_one_line_error(tmp_path, capsys):
    from xslatent.cli.main import main

    rc = main(["simulate", "geo2", "--method", "dft", "--out", str(tmp_path), "--max-chunks", "1",
               "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "melt-quench runs" in err[0]


def test_committed_chunk_site_recomputes():
    """A site of the first committed DFT chunk (run 0, 0 GPa) recomputed from its geometry."""
    import h5py
    from pathlib import Path

    pytest.importorskip("pyscf")
    root = Path(__file__).resolve().parents[2] / "datasets"
    chunk = root / "geo2_dft" / "chunks" / "chunk_00000.h5"
    if not chunk.is_file():
        pytest.skip("no committed DFT chunks in this checkout")
    with h5py.File(chunk, "r") as f:
        atom = int(f["sites/atom_index"][0])
        snap = int(f["sites/snapshot_index"][0])
        run = int(f["sites/run_index"][0])
        want = {k: f[f"targets/{k}"][0] for k in ("moments_sticks", "moments_broadened")}
        cm = f["features/coulomb_matrix"][0]
    geometry = geo2._read_geometry(str(root / "geo2" / "geometries"), run)
    new = geo2._snapshot_sites(geometry, run, snap, geo2.DFT_SETTINGS, centers=[atom])
    np.testing.assert_allclose(new["features/coulomb_matrix"][0], cm, rtol=1e-12)
    for k, y in want.items():
        np.testing.assert_allclose(new[f"targets/{k}"][0], y, rtol=0, atol=1e-4)
