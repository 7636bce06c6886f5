import math

import numpy as np
import pytest
from ase import Atoms

from xslatent.exceptions import InvalidParameterError
from xslatent.features.h2o import internal_coordinates
from xslatent.features.internal import (
    internal_coordinates_from_vectors,
    internal_feature_names,
    local_internal_coordinates,
)


def test_three_neighbours_by_hand():
    # neighbours at 1.0 (x), 1.1 (y) and 1.2 (60 degrees from x in the xy plane)
    c60, s60 = math.cos(math.radians(60)), math.sin(math.radians(60))
    atoms = Atoms("NHHH", positions=[[0, 0, 0], [0, 1.1, 0], [1.2 * c60, 1.2 * s60, 0], [1.0, 0, 0]])
    out = local_internal_coordinates(atoms, [0], 3)[0]
    # pairs (nearest, 2nd) = 90, (nearest, 3rd) = 60, (2nd, 3rd) = 30; then 1.2, 1.1, 1.0
    np.testing.assert_allclose(out, [90.0, 60.0, 30.0, 1.2, 1.1, 1.0], atol=1e-12)
    assert internal_feature_names(3, "N", "H") == [
        "angle_HNH_12_deg", "angle_HNH_13_deg", "angle_HNH_23_deg", "r_NH_3_A", "r_NH_2_A", "r_NH_1_A"]


def test_water_n2_is_exactly_the_h2o_features():
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(20, 3, 3))
    ours = np.concatenate([local_internal_coordinates(Atoms("OHH", positions=p), [0]) for p in pos])
    np.testing.assert_array_equal(ours, internal_coordinates(pos))
    assert internal_feature_names(2, "O", "H") == ["angle_HOH_deg", "r_OH_long_A", "r_OH_short_A"]


def test_periodic_minimum_image_matches_ase():
    # a water molecule split across the boundary of a 6 Å cube, plus a distant second molecule
    L = 6.0
    pos = np.array([[0.2, 3.0, 3.0], [L - 0.55, 3.3, 3.1], [0.5, 2.1, 3.0],
                    [3.0, 0.5, 0.5], [3.9, 0.6, 0.4], [2.8, 1.4, 0.5]])
    atoms = Atoms("OHHOHH", positions=pos, cell=[L, L, L], pbc=True)
    out = local_internal_coordinates(atoms, [0, 3], 2, neighbor_numbers=[1])
    for row, (o, h1, h2) in zip(out, [(0, 1, 2), (3, 4, 5)]):
        d = atoms.get_distances(o, [h1, h2], mic=True)
        angle = atoms.get_angle(h1, o, h2, mic=True)
        np.testing.assert_allclose(row, [angle, d.max(), d.min()], atol=1e-10)
    # without the cell the split molecule's H is 5.75 Å away: a different (wrong) neighbour set
    free = local_internal_coordinates(Atoms("OHHOHH", positions=pos), [0], 2, neighbor_numbers=[1])
    assert free[0, 1] > 1.5


def test_rejects_neighbour_on_absorber_and_too_many_neighbours():
    with pytest.raises(InvalidParameterError, match="on top of the absorber"):
        internal_coordinates_from_vectors(np.zeros((1, 2, 3)))
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        local_internal_coordinates(Atoms("OHH", positions=np.eye(3)), [0], 3)
