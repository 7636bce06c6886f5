import math

import numpy as np
import pytest

from xslatent.exceptions import InvalidParameterError
from xslatent.features.h2o import INTERNAL_COORDINATE_NAMES, internal_coordinates


def water(angle_deg, r1, r2):
    half = math.radians(angle_deg) / 2
    return np.array(
        [
            [0.0, 0.0, 0.0],
            [r1 * math.sin(half), 0.0, r1 * math.cos(half)],
            [-r2 * math.sin(half), 0.0, r2 * math.cos(half)],
        ]
    )


@pytest.mark.parametrize("angle", [60.0, 104.52, 150.0])
@pytest.mark.parametrize("r1, r2", [(0.9572, 0.9572), (0.9, 1.1), (1.2, 0.85)])
def test_known_geometry(angle, r1, r2):
    out = internal_coordinates(water(angle, r1, r2))
    assert out.shape == (3,)
    np.testing.assert_allclose(out, [angle, max(r1, r2), min(r1, r2)], atol=1e-10)


def test_invariant_to_rigid_motion():
    rng = np.random.default_rng(0)
    pos = water(100.0, 0.95, 1.05)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    moved = pos @ q.T + rng.standard_normal(3)
    np.testing.assert_allclose(internal_coordinates(moved), internal_coordinates(pos), atol=1e-10)


def test_vectorised_matches_loop():
    rng = np.random.default_rng(1)
    geoms = np.stack([water(a, r1, r2) for a, r1, r2 in zip(
        rng.uniform(70, 150, 20), rng.uniform(0.8, 1.3, 20), rng.uniform(0.8, 1.3, 20))])
    batch = internal_coordinates(geoms)
    assert batch.shape == (20, 3)
    np.testing.assert_allclose(batch, np.stack([internal_coordinates(g) for g in geoms]))
    assert np.all(batch[:, 1] >= batch[:, 2])
    assert len(INTERNAL_COORDINATE_NAMES) == 3


def test_accepts_ase_atoms():
    ase = pytest.importorskip("ase")
    atoms = ase.Atoms("OH2", positions=water(104.5, 0.96, 0.97))
    np.testing.assert_allclose(internal_coordinates(atoms), [104.5, 0.97, 0.96], atol=1e-10)
    assert internal_coordinates([atoms, atoms]).shape == (2, 3)
    with pytest.raises(InvalidParameterError, match="ordered O, H, H"):
        internal_coordinates(ase.Atoms("H2O", positions=water(104.5, 0.96, 0.97)))


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.zeros((2, 3, 3, 3)), np.full((3, 3), np.nan)])
def test_rejects_bad_shapes(bad):
    with pytest.raises(InvalidParameterError, match="'positions' argument of internal_coordinates"):
        internal_coordinates(bad)
