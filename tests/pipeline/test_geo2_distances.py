"""Fig. 5 in Å: the Ge–O / Ge–Ge split on synthetic clusters with known distances."""

import numpy as np
import pytest

from xslatent.features.coulomb import local_coulomb_matrix
from xslatent.pipeline.geo2 import distances_from_cm
from xslatent.pipeline.geo2_distances import (
    species_distance_rows,
    species_mean_distances,
    true_species_distances,
)


def _cluster(r, z, rng):
    v = rng.standard_normal((len(r), 3))
    pos = np.r_[np.zeros((1, 3)), v / np.linalg.norm(v, axis=1, keepdims=True) * np.asarray(r)[:, None]]
    return local_coulomb_matrix(pos, [0], numbers=np.r_[32, z], pbc=False)[0]


def test_split_of_one_cluster_is_exact():
    rng = np.random.default_rng(0)
    r = np.r_[1.70, 1.75, 1.80, 1.85, 2.9, 3.1, 3.2, 3.3, 3.4, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 4.1]
    z = np.r_[8, 8, 8, 8, 32, 8, 32, 32, 8, 8, 32, 8, 8, 32, 8, 8]
    d = species_mean_distances(*distances_from_cm(_cluster(r, z, rng)[None]))[0]
    assert d[0] == pytest.approx(r[z == 8].mean(), rel=1e-12)
    assert d[1] == pytest.approx(r[z == 32].mean(), rel=1e-12)


def test_pooled_truth_and_reconstruction_of_identical_sites():
    # per pressure every site has the same distances and species, in random orientations, so the
    # averaged Coulomb matrix gives back the exact per-species means and the MAE is zero
    rng = np.random.default_rng(1)
    pressures = (0.0, 10.0, 20.0, 40.0)
    dist, nums, groups, recon = [], [], [], {}
    truth = {}
    for p in pressures:
        r = np.sort(np.r_[np.full(4, 1.75 + 0.002 * p), rng.uniform(2.0, 4.0, 12)])
        z = np.r_[np.full(4, 8), rng.permutation(np.r_[np.full(6, 8), np.full(6, 32)])]
        cms = np.array([_cluster(r, z, rng) for _ in range(5)])
        dist += [r] * 5
        nums += [z] * 5
        groups += [p] * 5
        rr, pg = distances_from_cm(cms.mean(0, keepdims=True))
        recon[p] = (rr[0], pg[0])
        truth[p] = (r[z == 8].mean(), r[z == 32].mean())
    true = true_species_distances(np.array(dist), np.array(nums), np.array(groups))
    for p in pressures:
        np.testing.assert_allclose(true[p], truth[p], rtol=1e-12)
    shifted = {p: (r + 0.1, pg) for p, (r, pg) in recon.items()}
    per_p, mae = species_distance_rows(true, {"exact": recon, "shifted": shifted})
    assert [row["pressure_GPa"] for row in per_p] == list(pressures)
    assert mae[0]["Ge–O MAE (Å)"] == pytest.approx(0, abs=1e-12)
    assert mae[0]["Ge–Ge MAE (Å)"] == pytest.approx(0, abs=1e-12)
    assert mae[1]["Ge–O MAE (Å)"] == pytest.approx(0.1, rel=1e-9)
    assert mae[1]["Ge–Ge MAE (Å)"] == pytest.approx(0.1, rel=1e-9)
    assert mae[0]["Ge–O change true (Å)"] == pytest.approx(truth[40.0][0] - truth[0.0][0])


def test_mixed_species_rank_is_split_by_its_ge_share():
    # one rank, 25 % Ge: its distance counts a quarter to Ge–Ge and three quarters to Ge–O
    r = np.array([[2.0, 3.0]])
    p = np.array([[0.0, 0.25]])
    d = species_mean_distances(r, p)[0]
    assert d[0] == pytest.approx((2.0 + 0.75 * 3.0) / 1.75)
    assert d[1] == pytest.approx(3.0)
    assert np.isnan(species_mean_distances([[2.0]], [[0.0]])[0, 1])
