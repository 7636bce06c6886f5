import numpy as np
import pytest

from xslatent.exceptions import DataFormatError, InvalidParameterError
from xslatent.io import read_spectra, read_two_column

E = np.linspace(520.0, 530.0, 11)
Y = np.vstack([np.exp(-((E - c) ** 2)) for c in (524.0, 525.0, 526.0)])

XDI = """# XDI/1.0 GSE/1.0
# Column.1: energy eV
# Column.2: i0
# Column.3: mutrans
# Column.4: norm
# Element.symbol: O
# Element.edge: K
# ///
# measured at some beamline
#----
# energy i0 mutrans norm
"""

FEFF = """# Fe K edge, FEFF 9
#  omega    e    k    mu    mu0     chi    @#
"""


def test_table_first_row_is_energy(tmp_path):
    path = tmp_path / "spectra.csv"
    np.savetxt(path, np.vstack([E, Y]), delimiter=",")
    t = read_spectra(path)
    np.testing.assert_array_equal(t.energy, E)
    np.testing.assert_array_equal(t.Y, Y)
    assert t.names == ["spectra.csv[0]", "spectra.csv[1]", "spectra.csv[2]"]
    ws = tmp_path / "spectra.txt"
    np.savetxt(ws, np.vstack([E, Y]), header="whitespace table")
    np.testing.assert_array_equal(read_spectra(ws).Y, Y)


def test_npy_and_hdf5_need_energy(tmp_path):
    import h5py

    np.save(tmp_path / "y.npy", Y)
    t = read_spectra(tmp_path / "y.npy", energy="520:530:11")
    np.testing.assert_allclose(t.energy, E)
    np.testing.assert_array_equal(t.Y, Y)
    with h5py.File(tmp_path / "y.h5", "w") as f:
        f["spectra"] = Y
        f["other"] = np.zeros(3)
    np.savetxt(tmp_path / "grid.txt", E)
    np.testing.assert_array_equal(read_spectra(f"{tmp_path}/y.h5:spectra", energy=tmp_path / "grid.txt").Y, Y)
    with pytest.raises(InvalidParameterError, match="'energy' parameter is required"):
        read_spectra(tmp_path / "y.npy")
    with pytest.raises(DataFormatError, match="name the spectra"):
        read_spectra(tmp_path / "y.h5", energy=E)
    with pytest.raises(DataFormatError, match=r"\(n_spectra >= 1, 12\)"):
        read_spectra(tmp_path / "y.npy", energy="520:530:12")


def test_directory_of_two_column_files_natural_order(tmp_path):
    for i in (10, 2, 1):
        np.savetxt(tmp_path / f"frame_{i}.dat", np.column_stack([E, Y[0] * i]))
    t = read_spectra(tmp_path)
    assert t.names == ["frame_1", "frame_2", "frame_10"]
    np.testing.assert_allclose(t.Y, np.vstack([Y[0], 2 * Y[0], 10 * Y[0]]))
    assert read_spectra(str(tmp_path / "frame_1*.dat")).names == ["frame_1", "frame_10"]


def test_xdi_picks_energy_and_norm(tmp_path):
    path = tmp_path / "meas.xdi"
    data = np.column_stack([E, np.full_like(E, 7.0), 3 * Y[1], Y[1]])
    path.write_text(XDI + "\n".join(" ".join(f"{v:.10g}" for v in r) for r in data) + "\n")
    e, y, col = read_two_column(path)
    np.testing.assert_allclose(e, E)
    np.testing.assert_allclose(y, Y[1], rtol=1e-9)
    assert col == "norm"
    t = read_spectra(path)  # a single file with a column header is one spectrum
    assert t.Y.shape == (1, E.size) and t.names == ["meas"]


def test_feff_xmu_picks_omega_and_mu_and_names_by_folder(tmp_path):
    for run in ("run_a", "run_b"):
        (tmp_path / run).mkdir()
        k = np.linspace(0, 3, E.size)
        data = np.column_stack([E, E - 520, k, Y[2], 0.9 * Y[2], Y[2] - 0.9 * Y[2]])
        (tmp_path / run / "xmu.dat").write_text(
            FEFF + "\n".join(" ".join(f"{v:.10g}" for v in r) for r in data) + "\n")
    t = read_spectra(str(tmp_path / "*" / "xmu.dat"))
    assert t.names == ["run_a", "run_b"] and t.columns == ["mu", "mu"]
    np.testing.assert_allclose(t.Y[0], Y[2], rtol=1e-9)


def test_different_grids_error_names_file_unless_grid(tmp_path):
    np.savetxt(tmp_path / "a.dat", np.column_stack([E, Y[0]]))
    np.savetxt(tmp_path / "b.dat", np.column_stack([E + 0.05, Y[0]]))
    with pytest.raises(DataFormatError, match=r"b\.dat has a different energy grid .*a\.dat"):
        read_spectra(tmp_path)
    t = read_spectra(tmp_path, grid="521:529:17")
    assert t.interpolated and t.Y.shape == (2, 17)
    np.testing.assert_allclose(t.Y[1], np.interp(t.energy, E + 0.05, Y[0]))
    with pytest.raises(DataFormatError, match="no extrapolation"):
        read_spectra(tmp_path, grid="519:529:5")


@pytest.mark.parametrize("energy, match", [
    (E[::-1], "strictly increasing"), (np.r_[E[:3], E[2], E[4:]], "strictly increasing")])
def test_energy_not_increasing(tmp_path, energy, match):
    np.savetxt(tmp_path / "a.dat", np.column_stack([energy, Y[0]]))
    with pytest.raises(DataFormatError, match=match):
        read_spectra(tmp_path)
    np.savetxt(tmp_path / "t.csv", np.vstack([energy, Y]), delimiter=",")
    with pytest.raises(DataFormatError, match="first row"):
        read_spectra(tmp_path / "t.csv")


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "bad.dat").write_text("520 1.0\n521 oops\n")
    with pytest.raises(DataFormatError, match=r"bad\.dat, line 2"):
        read_spectra(tmp_path)
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(DataFormatError, match="cannot be read as text"):
        read_two_column(tmp_path / "bin.dat")
    with pytest.raises(DataFormatError, match="No spectrum files found"):
        read_spectra(tmp_path / "nothing_*.dat")
    (tmp_path / "three.txt").write_text("1 2 3\n2 3 4\n")
    with pytest.raises(DataFormatError, match="3 unlabelled columns"):
        read_two_column(tmp_path / "three.txt")
