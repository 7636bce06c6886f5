"""GeO2 reproduce pipeline on synthetic Ge-centred clusters whose targets depend on the first shell."""

import csv
import json

import numpy as np
import pytest

from xslatent import Dataset
from xslatent.features.coulomb import local_coulomb_matrix
from xslatent.pipeline.analysis import Budget
from xslatent.pipeline.geo2 import cm_square, distances_from_cm, reproduce_geo2

TINY = Budget("tiny", {"emulator": 2, "ednn": 1, "nnca": 1}, cv=2, max_iter=30, n_iter_no_change=8, eca_restarts=2)


def _clusters(n_per_pressure=60, pressures=(0.0, 10.0, 20.0, 40.0, 80.0), seed=0):
    """Ge + 16 neighbours; the shell contracts and a 5th/6th O moves in with pressure."""
    rng = np.random.default_rng(seed)
    X, Y, groups, dist, nums, cn = [], [], [], [], [], []
    for p in pressures:
        f = p / max(pressures)
        for _ in range(n_per_pressure):
            r = np.sort(np.r_[rng.normal(1.75, 0.02, 4), rng.normal(2.9 - 0.9 * f, 0.08, 2),
                              rng.uniform(3.0 - 0.3 * f, 4.0 - 0.4 * f, 10)])
            z = np.r_[np.full(6, 8), rng.choice([8, 32], 10)]
            v = rng.standard_normal((16, 3))
            pos = np.r_[np.zeros((1, 3)), v / np.linalg.norm(v, axis=1, keepdims=True) * r[:, None]]
            X.append(local_coulomb_matrix(pos, [0], numbers=np.r_[32, z], pbc=False)[0])
            c = 4 + np.sum(r[4:6] < 2.2)
            Y.append([-24 + 2 * f + 0.3 * (r[4] - 2.5), 1 + 0.1 * c, 0.2 * np.sin(r[5]), 0.1 * r[:4].mean(),
                      -11 + 1.5 * f - 0.2 * r[5], 0.8 + 0.05 * c, 0.1 * r[4], 0.05 * r[6]])
            groups.append(p), dist.append(r), nums.append(z), cn.append(c)
    Y = np.asarray(Y) + 0.005 * rng.standard_normal((len(Y), 8))
    names = [f"{ln}_{m}" for ln in ("kbeta2pp", "kbeta2") for m in ("mean", "std", "skewness", "excess_kurtosis")]
    meta = {"coordination_number": np.asarray(cn, float), "neighbor_distances": np.asarray(dist),
            "neighbor_numbers": np.asarray(nums), "mean_ge_o_distance": np.asarray(dist)[:, :4].mean(1),
            "cluster_gap": rng.uniform(0, 3, len(Y))}
    return Dataset(np.asarray(X), Y, target_names=names, groups=np.asarray(groups), metadata=meta, name="toy-geo2")


def test_distances_from_coulomb_matrix_known_answer():
    rng = np.random.default_rng(1)
    r = np.sort(rng.uniform(1.7, 4.0, 16))
    z = np.r_[np.full(5, 8), np.full(11, 32)]
    v = rng.standard_normal((16, 3))
    pos = np.r_[np.zeros((1, 3)), v / np.linalg.norm(v, axis=1, keepdims=True) * r[:, None]]
    cm = local_coulomb_matrix(pos, [0], numbers=np.r_[32, z], pbc=False)
    rec, p_ge = distances_from_cm(cm)
    np.testing.assert_allclose(rec[0], r, rtol=1e-12)
    np.testing.assert_array_equal(p_ge[0], (z == 32).astype(float))
    M = cm_square(cm[0])
    assert M.shape == (17, 17) and np.allclose(M, M.T) and M[0, 0] == pytest.approx(0.5 * 32**2.4)


@pytest.fixture(scope="module")
def geo2_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("geo2")
    return out, reproduce_geo2(out, budget=TINY, data=_clusters(), spectra=_spectra_sample(), log=lambda *a: None)


def _spectra_sample(pressures=(0.0, 10.0, 20.0, 40.0, 80.0), n_per=3):
    """A Fig. 2d sample: Gaussians that move down with pressure, 3 per pressure."""
    energy = np.linspace(-30.0, 15.0, 91)
    p = np.repeat(pressures, n_per)
    Y = np.exp(-0.5 * (energy[None, :] + 7.0 + 0.03 * p[:, None]) ** 2)
    return Dataset(np.zeros((len(p), 1)), Y, energy=energy, groups=p, attrs={"spectrum_fwhm": 2.0})


def test_outputs(geo2_run):
    out, res = geo2_run
    for name in ("table2.csv", "table2.md", "learnability.json", "reconstruction.csv", "fig5_reconstruction.png",
                 "fig8_basis_vectors.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader(open(out / "table2.csv")))
    assert [r["k"] for r in rows] == ["1", "2"] and rows[0]["ECA (paper)"] == "0.77"
    gate = json.loads((out / "learnability.json").read_text())
    assert set(gate["per_target_r2"]) == set(_clusters(2).target_names)
    assert 0 <= gate["fraction_gap_below_0.5ev"] <= 1
    cn = res["coordination"]
    assert [r["pressure_GPa"] for r in cn] == [0.0, 10.0, 20.0, 40.0, 80.0]
    assert cn[0]["mean_CN"] < cn[-1]["mean_CN"]
    # known answers of the toy clusters: the 5th/6th O (at 2.9 - 0.9 p/80 Å) bond only at 80 GPa
    data = _clusters()
    assert [r["mean_CN"] for r in cn] == pytest.approx(
        [data.metadata["coordination_number"][data.groups == p].mean() for p in (0, 10, 20, 40, 80)])
    assert [r["mean_CN"] for r in cn[:4]] == [4.0] * 4 and cn[-1]["mean_CN"] > 5.9
    assert gate["fraction_gap_below_0.5ev"] == pytest.approx(
        np.mean(data.metadata["cluster_gap"] < 0.5))
    # the line means are linear in pressure (plus a small spread): the per-pressure mean
    # predicts them almost exactly; kbeta2pp_excess_kurtosis (0.1 × the mean first-shell
    # distance, drawn independently of pressure) it cannot predict at all
    per = gate["pressure_only_per_target"]
    assert per["kbeta2pp_mean"] > 0.99 and per["kbeta2_mean"] > 0.99
    assert per["kbeta2pp_excess_kurtosis"] < 0.05
    html = (out / "report.html").read_text()
    assert "Coordination vs pressure" in html and "Learnability" in html
    # Fig. 2d from the spectra sample, with its caption
    assert (out / "fig2d_spectra_per_pressure.png").stat().st_size > 0
    assert "15 sites (3 per pressure" in html and "FWHM 2.0 eV" in html


def test_reconstruction_follows_the_moving_fifth_and_sixth_neighbours(geo2_run):
    _, res = geo2_run
    rho = {r["model"]: r for r in res["reconstruction_spearman"]}
    assert set(rho) == {"NNCA k=1", "NNCA k=2", "ECA k=1", "ECA k=2"}
    # the targets depend on r5, r6 and pressure: the best model's curves follow the truth
    best = max(rho.values(), key=lambda r: r["rho_5"] + r["rho_6"])
    assert best["rho_5"] >= 0.8 and best["rho_6"] >= 0.8


def test_species_distances_in_angstrom(geo2_run):
    out, res = geo2_run
    sp = res["species_distances"]
    test = _clusters().train_test_split(test_size=0.2, random_state=0)[1]
    r, z = test.metadata["neighbor_distances"], test.metadata["neighbor_numbers"]
    for row in sp["per_pressure"]:
        m = test.groups == row["pressure_GPa"]
        assert row["Ge–O true (Å)"] == pytest.approx(r[m][z[m] == 8].mean(), rel=1e-12)
        assert row["Ge–Ge true (Å)"] == pytest.approx(r[m][z[m] == 32].mean(), rel=1e-12)
    assert {row["model"] for row in sp["mae"]} == {"NNCA k=1", "NNCA k=2", "ECA k=1", "ECA k=2"}
    for row in sp["mae"]:
        # reconstructed distances stay within the clusters' range: errors of tenths of an Å
        assert 0 <= row["Ge–O MAE (Å)"] < 1.0 and 0 <= row["Ge–Ge MAE (Å)"] < 1.0
    # one component: the reconstructed first shell is monotonic in the fitted latent
    d = sp["first_shell"]["NNCA k=1"]
    t = np.array(list(d["latent"].values()))
    s = np.array(list(d["shell_rec"].values()))
    order = np.argsort(t)
    assert np.all(np.diff(s[order]) >= -1e-9) or np.all(np.diff(s[order]) <= 1e-9)
    html = (out / "report.html").read_text()
    assert "Fig. 5 in ångström" in html and "largest loadings" in html
    assert (out / "fig5_species_mae.csv").is_file()


def test_runs_as_groups_and_pressure_in_metadata(tmp_path):
    # the bundled layout: groups are melt-quench runs (2 per pressure), pressure is metadata;
    # every per-pressure table is still per pressure, not per run
    d = _clusters(n_per_pressure=40)
    pressure = d.groups
    runs = np.array([f"run{int(p)}-{i % 2}" for i, p in enumerate(pressure)])
    d = Dataset(d.X, d.Y, target_names=d.target_names, groups=runs,
                metadata={**d.metadata, "pressure_gpa": pressure}, name="toy-geo2-runs")
    res = reproduce_geo2(tmp_path, budget=TINY, data=d, log=lambda *a: None)
    rows = res["species_distances"]["per_pressure"]
    assert [row["pressure_GPa"] for row in rows] == [0.0, 10.0, 20.0, 40.0, 80.0]
    test = d.train_test_split(test_size=0.2, random_state=0)[1]
    r, z, p = test.metadata["neighbor_distances"], test.metadata["neighbor_numbers"], test.metadata["pressure_gpa"]
    for row in rows:
        m = p == row["pressure_GPa"]
        assert row["Ge–O true (Å)"] == pytest.approx(r[m][z[m] == 8].mean(), rel=1e-12)
