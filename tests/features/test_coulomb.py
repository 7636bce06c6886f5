import numpy as np
import pytest

from xslatent.exceptions import InvalidParameterError
from xslatent.features.coulomb import (
    coulomb_matrix_square,
    distances_from_coulomb_matrix,
    coulomb_matrix_feature_names,
    local_coulomb_matrix,
    local_environment,
    minimum_image_vectors,
)


def random_cell(n=40, box=9.0, seed=0):
    rng = np.random.default_rng(seed)
    numbers = np.where(np.arange(n) < n // 3, 32, 8)
    return numbers, rng.uniform(0, box, (n, 3)), np.eye(3) * box


def brute_minimum_image(pos, i, cell):
    """Nearest image of every atom seen from atom i, by trying 5^3 images."""
    shifts = np.array([[a, b, c] for a in range(-2, 3) for b in range(-2, 3) for c in range(-2, 3)])
    cand = pos[None, :, :] + (shifts @ cell)[:, None, :] - pos[i]
    k = np.argmin(np.linalg.norm(cand, axis=2), axis=0)
    return cand[k, np.arange(len(pos))]


def test_hand_computed_matrix():
    pos = np.array([[0.0, 0, 0], [1.75, 0, 0], [0, 1.9, 0], [3.2, 0, 0]])
    z = [32, 8, 8, 32]
    m = local_coulomb_matrix(pos, [0], n_neighbors=3, numbers=z, flatten=False)[0]
    assert m[0, 0] == pytest.approx(0.5 * 32**2.4)
    assert m[1, 1] == pytest.approx(0.5 * 8**2.4)
    assert m[0, 1] == pytest.approx(32 * 8 / 1.75)  # nearest first
    assert m[0, 2] == pytest.approx(32 * 8 / 1.9)
    assert m[0, 3] == pytest.approx(32 * 32 / 3.2)
    assert m[1, 2] == pytest.approx(64 / np.hypot(1.75, 1.9))
    np.testing.assert_allclose(m, m.T)
    flat = local_coulomb_matrix(pos, [0], n_neighbors=3, numbers=z)[0]
    assert flat.shape == (10,)
    np.testing.assert_allclose(flat, m[np.triu_indices(4)])


def test_153_features_and_names():
    z, pos, cell = random_cell()
    x = local_coulomb_matrix(pos, np.flatnonzero(z == 32), numbers=z, cell=cell)
    assert x.shape == (int(np.sum(z == 32)), 153)
    names = coulomb_matrix_feature_names(16)
    assert len(names) == 153 and names[0] == "cm_00_00" and names[-1] == "cm_16_16"
    assert len(set(names)) == 153


TRICLINIC = np.array([[9.0, 0, 0], [2.5, 8.5, 0], [1.0, 1.5, 9.5]])


@pytest.mark.parametrize("cell", [np.eye(3) * 9.0, TRICLINIC])
def test_minimum_image_matches_brute_force(cell):
    z, frac, _ = random_cell(n=30, box=1.0, seed=3)
    pos = frac @ cell
    vec = minimum_image_vectors(pos, np.arange(len(z)), cell)
    for i in (0, 7, 29):
        np.testing.assert_allclose(vec[i], brute_minimum_image(pos, i, cell), atol=1e-12)


def test_neighbours_across_the_boundary():
    box = 10.0
    pos = np.array([[0.2, 5, 5], [9.9, 5, 5], [5, 5, 5]])
    env = local_environment(pos, [0], 2, numbers=[32, 8, 8], cell=[box, box, box])
    assert env.indices[0].tolist() == [1, 2]
    assert env.distances[0, 0] == pytest.approx(0.3)
    np.testing.assert_allclose(env.vectors[0, 0], [-0.3, 0, 0], atol=1e-12)


def test_invariant_to_translation_and_wrapping():
    z, pos, cell = random_cell(seed=1)
    centers = np.flatnonzero(z == 32)
    a = local_coulomb_matrix(pos, centers, numbers=z, cell=cell)
    shifted = (pos + [3.3, -7.1, 12.0]) % 9.0
    b = local_coulomb_matrix(shifted, centers, numbers=z, cell=cell)
    np.testing.assert_allclose(a, b, atol=1e-9)


def test_ase_atoms_input():
    from ase import Atoms

    z, pos, cell = random_cell(seed=2)
    atoms = Atoms(numbers=z, positions=pos, cell=cell, pbc=True)
    np.testing.assert_allclose(
        local_coulomb_matrix(atoms, [0, 1]), local_coulomb_matrix(pos, [0, 1], numbers=z, cell=cell)
    )


def test_equals_dscribe_on_the_cut_out_cluster():
    dscribe = pytest.importorskip("dscribe.descriptors")
    from ase import Atoms

    z, pos, cell = random_cell(n=60, box=9.0, seed=4)
    centers = np.flatnonzero(z == 32)[:5]
    ours, env = local_coulomb_matrix(pos, centers, numbers=z, cell=cell, return_environment=True,
                                     flatten=False)
    cm = dscribe.CoulombMatrix(n_atoms_max=17, permutation="none")
    for k, c in enumerate(centers):
        cluster = Atoms(numbers=np.r_[z[c], env.numbers[k]],
                        positions=np.vstack([[0, 0, 0], env.vectors[k]]))
        ref = cm.create(cluster).reshape(17, 17)
        np.testing.assert_allclose(ours[k], ref, rtol=1e-10)


def test_rejects_bad_input():
    with pytest.raises(InvalidParameterError, match="numbers"):
        local_coulomb_matrix(np.zeros((3, 3)), [0], 2)
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        local_coulomb_matrix(np.eye(3), [0], 3, numbers=[32, 8, 8])
    with pytest.raises(InvalidParameterError, match="centers"):
        local_coulomb_matrix(np.eye(3), [5], 1, numbers=[32, 8, 8])


def test_inverse_map_recovers_matrix_distances_and_species():
    """coulomb_matrix_square undoes flatten; the centre row gives back the distances, the
    diagonal the species (also for a periodic cell, with minimum-image distances)."""
    z, pos, cell = random_cell()
    centers = np.flatnonzero(z == 32)[:4]
    flat, env = local_coulomb_matrix(
        pos, centers, 6, numbers=z, cell=cell, return_environment=True
    )
    full = local_coulomb_matrix(pos, centers, 6, numbers=z, cell=cell, flatten=False)
    np.testing.assert_array_equal(coulomb_matrix_square(flat, 6), full)
    np.testing.assert_array_equal(coulomb_matrix_square(flat[0], 6), full[0])
    r, fraction = distances_from_coulomb_matrix(flat, 6)
    np.testing.assert_allclose(r, env.distances, rtol=1e-12)
    np.testing.assert_array_equal(fraction, (env.numbers == 32).astype(float))
    # an average of a Ge and an O neighbour at one rank: half Ge, mean charge 20
    mixed = distances_from_coulomb_matrix(flat[:2].mean(0), 6)[1][0]
    expected = ((env.numbers[0] == 32).astype(float) + (env.numbers[1] == 32)) / 2
    np.testing.assert_allclose(mixed, expected, atol=1e-12)
