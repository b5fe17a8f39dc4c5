"""Wannier90 hr.dat / tb.dat reader and writer (issue 5); whole seeds (.win, wsvec,
centres), bounded reading and ecosystem units (issue 14) on the self-made seed
tests/data/chain (tests/data/make_chain_seed.py)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.io.wannier90 import (
    ANGSTROM_PER_BOHR, Wannier90FormatError, parse_win, read_hr, read_tb, read_wannier90,
    write_hr, write_tb,
)
from mesokinetics.models.orbitals import real_orbital_angular_momentum
from mesokinetics.units import (
    angular_momentum_hall_conductivity, conductivity_in,
)
from mesokinetics.models import Haldane, POrbital, TightBinding

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _same(a: TightBinding, b: TightBinding):
    assert np.array_equal(a.R, b.R)
    assert np.array_equal(a.H, b.H)
    assert np.array_equal(a.degeneracy, b.degeneracy)


def test_hr_round_trip_is_exact_and_gives_identical_responses(tmp_path):
    model = POrbital(crystal_field=0.3, orbital_rashba=0.15, spin=False)
    path = tmp_path / "porb_hr.dat"
    write_hr(path, model)
    text = path.read_text()
    assert text.splitlines()[1].strip() == "3" and text.splitlines()[2].strip() == "5"
    back = read_hr(path, model.lattice_vectors, orbitals=model.orbitals)
    _same(model, back)
    assert np.array_equal(back.orbital_matrices, model.orbital_matrices)
    write_hr(tmp_path / "again_hr.dat", back)
    assert (tmp_path / "again_hr.dat").read_text() == text  # file -> model -> file exact
    kw = dict(bz_grid=32, bz_refine=0)
    dis = mk.PointDisorder(0.02)
    r1 = mk.solve_uniform(model, dis, 0.4, (1.0, 0.0), **kw)
    r2 = mk.solve_uniform(back, dis, 0.4, (1.0, 0.0), **kw)
    for op in (ops.orbital_current(model, "z", "y"), ops.orbital(model, "y")):
        a, b = r1.density(op), r2.density(op)
        assert (a.intraband, a.intrinsic, a.disorder) == (b.intraband, b.intrinsic, b.disorder)


def test_tb_round_trip_with_lattice_and_wannier_centres(tmp_path):
    model = Haldane(nnn_hopping=0.1, phase=0.7, mass=0.1)
    path = tmp_path / "hal_tb.dat"
    write_tb(path, model)
    back = read_tb(path, dim=2, use_centers=True)
    _same(model, back)
    assert np.allclose(back.lattice_vectors, model.lattice_vectors, rtol=1e-15, atol=0)
    assert np.allclose(back.positions, model.positions, rtol=1e-15, atol=1e-300)
    assert back.convention == "atomic" and back.position_matrix.shape == (7, 3, 2, 2)
    k = np.random.default_rng(0).normal(size=(8, 2)) * 5
    assert np.allclose(back.hamiltonian(k), model.hamiltonian(k), rtol=1e-14, atol=1e-14)
    plain = read_tb(path, dim=2)
    assert plain.convention == "lattice"
    with pytest.raises(Wannier90FormatError, match="nonzero components beyond the first 1"):
        read_tb(path, dim=1)


def test_two_dimensional_model_needs_zero_third_component(tmp_path):
    path = tmp_path / "x_hr.dat"
    path.write_text("h\n1\n3\n 1 1 1\n 0 0 0 1 1 0.5 0\n 0 0 1 1 1 0.1 0\n 0 0 -1 1 1 0.1 0\n")
    model = read_hr(path, np.eye(3))
    assert model.dim == 3
    with pytest.raises(Wannier90FormatError, match=r"R = \(0, 0, 1\) has nonzero components"):
        read_hr(path, np.eye(2))


@pytest.mark.parametrize("text, line, match", [
    ("", 1, "empty"),
    ("h\nx\n", 2, "num_wann"),
    ("h\n1\n2\n1\n", 3, "declare 2 matrix elements"),
    ("h\n1\n2\n1\n" + "\n" * 30, 35, "end of file"),
    ("h\n1\n1\n1 1\n\n\n\n\n\n", 4, "1 more degeneracy"),
    ("h\n1\n1\n1\n0 0 0 1 1 0.5\n", 5, "7 fields"),
    ("h\n1\n1\n1\n0 0 0 1 2 0.5 0\n", 5, "must be in 1..1"),
    ("h\n1\n1\n1\n0 0 0 1 1 nan 0\n", 5, "finite"),
    ("h\n1\n1\n1\n0 0 0 1 1 0.5 0\nextra\n", 6, "unexpected content"),
    ("h\n2\n1\n1\n0 0 0 1 1 0.5 0\n0 0 0 1 1 0.5 0\n0 0 0 1 2 0 0\n0 0 0 2 2 0 0\n", 6, "repeated"),
    ("h\n1\n2\n1 1\n1 0 0 1 1 0.5 0\n0 0 0 1 1 0.5 0\n", None, "not Hermitian"),
])
def test_malformed_hr_names_file_and_line(tmp_path, text, line, match):
    path = tmp_path / "bad_hr.dat"
    path.write_text(text)
    with pytest.raises(Wannier90FormatError, match=match) as info:
        read_hr(path, np.eye(3))
    assert str(path) in str(info.value)
    assert info.value.line == line


def test_binary_file_is_reported(tmp_path):
    path = tmp_path / "bin_hr.dat"
    path.write_bytes(b"header\n1\n\xff\xfe\x00garbage")
    with pytest.raises(Wannier90FormatError, match="line 3"):
        read_hr(path, np.eye(3))


def test_files_are_written_atomically(tmp_path, monkeypatch):
    """A failure while writing leaves the old file intact and no temporary file behind."""
    model = POrbital(spin=False)
    path = tmp_path / "m_hr.dat"
    write_hr(path, model)
    before = path.read_text()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_hr(path, POrbital(spin=False, crystal_field=1.0))
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m_hr.dat"]


# --- property tests --------------------------------------------------------------------

finite = st.floats(-10, 10, allow_nan=False, allow_subnormal=False)


@st.composite
def tight_binding(draw):
    dim = draw(st.integers(1, 3))
    n = draw(st.integers(1, 3))
    shells = draw(st.lists(st.tuples(*[st.integers(-2, 2)] * dim), min_size=0, max_size=4,
                           unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1e-9, 1e7]))
    hops = {}
    onsite = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    hops[(0,) * dim] = scale * (onsite + onsite.conj().T)
    for r in shells:
        if not any(r) or tuple(-x for x in r) in hops:
            continue
        m = scale * (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
        hops[r] = m
        hops[tuple(-x for x in r)] = m.conj().T
    deg = draw(st.lists(st.integers(1, 12), min_size=len(hops), max_size=len(hops)))
    # keep H(-R)/deg(-R) = H(R)^dagger / deg(R): equal weights on the pairs
    keys = list(hops)
    weights = {}
    for i, r in enumerate(keys):
        weights[r] = weights.get(tuple(-x for x in r), deg[i])
    lattice = np.diag(rng.uniform(0.2, 2.0, dim)) + 0.1 * np.triu(rng.normal(size=(dim, dim)), 1)
    return TightBinding(lattice, hops, degeneracies=[weights[r] for r in keys])


@settings(max_examples=40, **SETTINGS)
@given(model=tight_binding())
def test_random_models_round_trip_exactly(tmp_path, model):
    path = tmp_path / "r_hr.dat"
    write_hr(path, model)
    _same(model, read_hr(path, model.lattice_vectors))
    tb = tmp_path / "r_tb.dat"
    write_tb(tb, model)
    back = read_tb(tb, dim=model.dim)
    _same(model, back)
    assert np.allclose(back.lattice_vectors, model.lattice_vectors, rtol=1e-15, atol=0)


def _valid_text(tmp_path, model):
    path = tmp_path / "v_hr.dat"
    write_hr(path, model)
    return path.read_text().splitlines()


@settings(max_examples=60, **SETTINGS)
@given(model=tight_binding(), data=st.data())
def test_corrupted_files_raise_a_format_error(tmp_path, model, data):
    """Deleting a data line, replacing a field with garbage or cutting the file short is
    always reported as a Wannier90FormatError, never an exception from deep inside."""
    lines = _valid_text(tmp_path, model)
    first_data = 3 + -(-len(model.R) // 15)
    kind = data.draw(st.sampled_from(["drop", "garbage", "truncate", "extra_field"]))
    i = data.draw(st.integers(first_data, len(lines) - 1))
    if kind == "drop":
        lines = lines[:i] + lines[i + 1:]
    elif kind == "truncate":
        lines = lines[:i]
    else:
        fields = lines[i].split()
        j = data.draw(st.integers(0, len(fields) - 1))
        if kind == "garbage":
            fields[j] = data.draw(st.sampled_from(["x", "1.0.0", "--", "0x10", "nan", "1e400", ""]))
        else:
            fields.insert(j, "7")
        lines[i] = " ".join(fields)
    path = tmp_path / "c_hr.dat"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(Wannier90FormatError):
        read_hr(path, model.lattice_vectors)


@settings(max_examples=150, **SETTINGS)
@given(text=st.text(alphabet=st.sampled_from(list("0123456789 -.eE\nx+")), max_size=300))
def test_arbitrary_text_is_parsed_or_rejected_cleanly(tmp_path, text):
    path = tmp_path / "t_hr.dat"
    path.write_text("header\n" + text)
    for reader in (lambda: read_hr(path, np.eye(3)), lambda: read_tb(path)):
        try:
            model = reader()
        except Wannier90FormatError:
            continue
        assert isinstance(model, TightBinding)


# --- whole seeds: tests/data/chain (issue 14) ---------------------------------------------

CHAIN = os.path.join(os.path.dirname(__file__), "data", "chain")


def _direct_bands(seed, k):
    """Bands of Wannier90's use_ws_distance interpolation straight from the files:
    h_mn(k) = sum_R sum_T exp(i k.(R + T)) H(R)_mn / (deg(R) N_mn(R)), independent of the
    reader's hopping folding (only the raw parsers are shared)."""
    from mesokinetics.io.wannier90 import parse_hr, parse_wsvec
    data = parse_hr(seed + "_hr.dat")
    shifts = parse_wsvec(seed + "_wsvec.dat", data)
    lat = parse_win(seed + ".win").lattice
    n = data.H.shape[-1]
    h = np.zeros((len(k), n, n), complex)
    for ir, r in enumerate(data.R):
        for a in range(n):
            for b in range(n):
                t = shifts[ir][a][b]
                phase = np.exp(1j * ((r + t) @ lat @ k.T)).sum(axis=0) / len(t)
                h[:, a, b] += phase * data.H[ir, a, b] / data.deg[ir]
    return np.linalg.eigvalsh(h)


def test_seed_reads_win_units_spinors_wsvec_and_centres():
    model = read_wannier90(CHAIN)
    a = 5.669 * ANGSTROM_PER_BOHR / 10  # bohr -> nm
    assert np.allclose(model.lattice_vectors, np.eye(3) * a, rtol=1e-15, atol=0)
    info = model.wannier90
    assert info["use_ws_distance"] and info["fermi_energy"] == 0.25 and info["mp_grid"] == (4, 1, 1)
    assert [os.path.basename(f) for f in info["files"]] == [
        "chain.win", "chain_hr.dat", "chain_wsvec.dat", "chain_centres.xyz"]
    assert model.spins == ("up", "down", "up", "down") and model.sites == ("a", "a", "b", "b")
    assert np.allclose(np.diag(ops.spin(model, "z").matrix).real, [0.5, -0.5, 0.5, -0.5])
    assert np.allclose(ops.spin(model, "x").matrix[0, 1], 0.5)
    assert np.allclose(model.orbital_matrices, 0)  # s orbitals: L = 0, and defined
    k = np.random.default_rng(5).normal(size=(40, 3)) * 20
    assert np.max(np.abs(np.linalg.eigvalsh(model.hamiltonian(k)) - _direct_bands(CHAIN, k))) < 1e-12
    bare = read_wannier90(CHAIN, use_ws_distance=False)
    assert not bare.wannier90["use_ws_distance"]
    assert np.max(np.abs(np.linalg.eigvalsh(bare.hamiltonian(k)) - _direct_bands(CHAIN, k))) > 0.05
    # the 'atomic' convention takes the centres (Angstrom -> nm) and keeps the bands
    atomic = read_wannier90(CHAIN, convention="atomic")
    assert np.allclose(atomic.positions[2], [0.46 * a, 0.001, 0.0], atol=1e-9)
    assert np.allclose(np.linalg.eigvalsh(atomic.hamiltonian(k)),
                       np.linalg.eigvalsh(model.hamiltonian(k)), atol=1e-12)
    blocks = read_wannier90(CHAIN, spinor_ordering="blocks")
    assert blocks.spins == ("up", "up", "down", "down") and blocks.sites == ("a", "b", "a", "b")


def test_seed_round_trips_exactly_through_hr(tmp_path):
    """The wsvec-folded model (unit degeneracies) written as hr.dat and read back is the
    same model, and writing again reproduces the file byte for byte."""
    model = read_wannier90(CHAIN)
    path = tmp_path / "c_hr.dat"
    write_hr(path, model)
    back = read_hr(path, model.lattice_vectors)
    _same(model, back)
    write_hr(tmp_path / "again_hr.dat", back)
    assert (tmp_path / "again_hr.dat").read_text() == path.read_text()
    tb = tmp_path / "c_tb.dat"
    write_tb(tb, model)
    _same(model, read_tb(tb))


def test_seed_against_tbmodels_live():
    tbmodels = pytest.importorskip("tbmodels")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = tbmodels.Model.from_wannier_files(
            hr_file=CHAIN + "_hr.dat", wsvec_file=CHAIN + "_wsvec.dat",
            xyz_file=CHAIN + "_centres.xyz", win_file=CHAIN + ".win")
        frac = np.random.default_rng(2).uniform(-0.5, 0.5, (30, 3))
        expected = np.array(ref.eigenval(frac))
    model = read_wannier90(CHAIN)
    got = np.linalg.eigvalsh(model.hamiltonian(frac @ model.reciprocal_vectors))
    assert np.max(np.abs(got - expected)) < 1e-9


def _seed(tmp_path, win: str, size: int, name="s"):
    """A seed with the given .win and a random hr.dat of ``size`` functions."""
    rng = np.random.default_rng(size)
    m = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
    t = rng.normal(size=(size, size)) * 0.1
    model = TightBinding(np.eye(3) * 0.3, {(0, 0, 0): m + m.conj().T, (1, 0, 0): t,
                                           (-1, 0, 0): t.T})
    write_hr(tmp_path / f"{name}_hr.dat", model)
    (tmp_path / f"{name}.win").write_text(win)
    return str(tmp_path / name)


CELL = "begin unit_cell_cart\nang\n3 0 0\n0 3 0\n0 0 3\nend unit_cell_cart\n"


def test_projection_order_follows_wannier90(tmp_path):
    """Wannier90 orders functions per projection line by site, then l = -5..3, then mr,
    then spin (up, down): 'Fe: sp3d2;dxy;dxz;dyz' gives sp3d2-1..6, dxz, dyz, dxy."""
    win = parse_win(_seed(tmp_path, CELL + "spinors = T\nbegin atoms_frac\nFe 0 0 0\n"
                          "end atoms_frac\nbegin projections\nFe: sp3d2;dxy;dxz;dyz\n"
                          "end projections\n", 18) + ".win")
    names = [(p.orbital, p.spin) for p in win.projections]
    expected = [f"sp3d2-{i}" for i in range(1, 7)] + ["dxz", "dyz", "dxy"]
    assert names == [(o, s) for o in expected for s in ("up", "down")]


def test_hybrid_and_rotated_orbitals_give_angular_momentum(tmp_path):
    """L in the Wannier basis from the projections: sp3 hybrids span s + p (L^2 = 0, 2, 2,
    2, [Lx, Ly] = i Lz); p orbitals with local axes z' = x, x' = y are the global
    (x, y, z) orbitals, so L equals real_orbital_angular_momentum(px, py, pz)."""
    seed = _seed(tmp_path, CELL + "begin atoms_cart\nC 0 0 0\nend atoms_cart\n"
                 "begin projections\nC: sp3\nc=1.5,0,0: p : z=1,0,0 : x=0,1,0\n"
                 "end projections\n", 7)
    model = read_wannier90(seed)
    lm = model.orbital_matrices
    lsq = sum(lm[a] @ lm[a] for a in range(3))
    assert np.allclose(np.linalg.eigvalsh(lsq[:4, :4]), [0, 2, 2, 2], atol=1e-12)
    assert np.allclose(lm[0] @ lm[1] - lm[1] @ lm[0], 1j * lm[2], atol=1e-12)
    assert np.allclose(lm[:, 4:, 4:], real_orbital_angular_momentum(["px", "py", "pz"]), atol=1e-12)
    assert np.allclose(ops.orbital(model, "z").matrix, lm[2])
    assert model.spin_matrices is None


@pytest.mark.parametrize("win, size, suffix, line, match", [
    (CELL + "spinors = maybe\n", 2, ".win", 7, "logical"),
    (CELL + "begin projections\nX: s\nend projections\n", 2, ".win", 8, "not an atom label"),
    (CELL + "begin atoms_cart\nA 0 0 0\nend atoms_cart\nbegin projections\nA: q\n"
     "end projections\n", 2, ".win", 11, "unknown orbital"),
    (CELL + "num_wann = 2\nbegin atoms_cart\nA 0 0 0\nend atoms_cart\nbegin projections\n"
     "A: p\nend projections\n", 3, ".win", 11, "defines 3 functions, num_wann = 2"),
    (CELL + "begin projections\n", 2, ".win", 7, "never closed"),
    ("begin unit_cell_cart\n1 0 0\n0 1 0\nend unit_cell_cart\n", 2, ".win", 1, "3 lattice vectors"),
    ("num_wann = 1\n", 2, ".win", None, "unit_cell_cart"),
])
def test_malformed_win_names_file_and_line(tmp_path, win, size, suffix, line, match):
    seed = _seed(tmp_path, win, size)
    with pytest.raises(Wannier90FormatError, match=match) as info:
        read_wannier90(seed)
    assert info.value.path.endswith(suffix) and info.value.line == line


@pytest.mark.parametrize("edit, line, match", [
    (lambda t: t.replace("    2    0    0    1    1\n", "    3    0    0    1    1\n", 1),
     None, "not an R vector"),
    (lambda t: "\n".join(t.splitlines()[:-4]) + "\n", None, "missing"),
    (lambda t: t.replace("\n    2\n", "\n    0\n", 1), 3, "number of images"),
    (lambda t: t.replace("    0    0    0\n", "    0    0\n", 1), 4, "3 integers"),
])
def test_malformed_wsvec_names_file_and_line(tmp_path, edit, line, match):
    import shutil
    for ext in (".win", "_hr.dat", "_centres.xyz"):
        shutil.copy(CHAIN + ext, tmp_path / ("chain" + ext))
    text = open(CHAIN + "_wsvec.dat").read()
    (tmp_path / "chain_wsvec.dat").write_text(edit(text))
    with pytest.raises(Wannier90FormatError, match=match) as info:
        read_wannier90(tmp_path / "chain")
    assert info.value.path.endswith("chain_wsvec.dat")
    if line is not None:
        assert info.value.line == line


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="_hr.dat"):
        read_wannier90(tmp_path / "nothing")
    seed = _seed(tmp_path, CELL, 2)
    with pytest.raises(FileNotFoundError, match="wsvec"):
        read_wannier90(seed, use_ws_distance=True)
    with pytest.raises(Wannier90FormatError, match="centres"):
        read_wannier90(seed, convention="atomic")


def test_non_regular_and_oversized_files_are_refused(tmp_path):
    """Devices, FIFOs and directories are refused before any read (no blocking), and so
    are files above max_bytes."""
    fifo = tmp_path / "f_hr.dat"
    os.mkfifo(fifo)
    with pytest.raises(Wannier90FormatError, match="FIFO"):
        read_hr(fifo, np.eye(3))
    with pytest.raises(Wannier90FormatError, match="device"):
        read_hr("/dev/null", np.eye(3))
    with pytest.raises(Wannier90FormatError, match="directory|folder"):
        read_tb(tmp_path)
    with pytest.raises(Wannier90FormatError, match="more than the"):
        read_wannier90(CHAIN, max_bytes=1000)


# --- ecosystem units (issue 14) ---------------------------------------------------------

def test_conductivity_units_against_hand_calculation():
    """e^2/hbar = (1.602176634e-19 C)^2 / (6.62607015e-34 J s / 2 pi) = 2.434135e-4 S (SI
    2019 exact values); per nm: 2.434135e5 S/m = 2434.135 S/cm."""
    e, hbar = 1.602176634e-19, 6.62607015e-34 / (2 * np.pi)
    hand = e**2 / hbar
    assert abs(hand - 2.4341348e-4) < 1e-10
    assert np.isclose(conductivity_in(1.0, 3, "S/cm"), hand / 1e-9 / 100, rtol=1e-12)
    assert np.isclose(conductivity_in(2.0, 3, "S/m"), 2 * hand / 1e-9, rtol=1e-12)
    assert np.isclose(conductivity_in(1.0, 2, "S"), hand, rtol=1e-12)
    assert np.isclose(angular_momentum_hall_conductivity(1.0), 2434.1348, rtol=1e-7)
    assert np.isclose(angular_momentum_hall_conductivity(1.0, 2, "(hbar/e) S"), hand, rtol=1e-12)
    with pytest.raises(ValueError, match="not a 2D conductivity unit"):
        conductivity_in(1.0, 2, "S/cm")
    with pytest.raises(ValueError, match="spin/orbital Hall unit"):
        angular_momentum_hall_conductivity(1.0, 3, "S/cm")


def test_conductivity_in_s_per_cm_and_sheet_siemens():
    qwz = mk.QiWuZhang(mass=1.0) if hasattr(mk, "QiWuZhang") else None
    from mesokinetics.models import QiWuZhang
    model = qwz or QiWuZhang(mass=1.0)
    res = mk.solve_uniform(model, mk.PointDisorder(0.05), 0.0, (1e-3, 0.0), bz_grid=32, bz_refine=0)
    internal = res.conductivity("internal").intrinsic
    assert np.allclose(res.conductivity("S").intrinsic, internal * 2.4341348e-4, rtol=1e-6)
    assert res.conductivity("S").unit == "S"
    # sign: sigma_xy = -(e^2/h) C with C = (1/2pi) int Omega, Omega = curl i<u|grad u>:
    # Wannier90's and WannierBerri's AHC -(e^2/hbar) int f Omega has the same sign
    occupied_c = mk.topology.chern_number(model, 1, grid=48)
    assert abs(res.conductivity("e2/h").intrinsic[0, 1] + occupied_c) < 1e-3
    with pytest.raises(ValueError, match="not a 2D conductivity unit"):
        res.conductivity("S/cm")
    cube = TightBinding(np.eye(3) * 0.3, {(0, 0, 0): np.zeros((1, 1)), (1, 0, 0): [[-1.0]],
                                         (-1, 0, 0): [[-1.0]], (0, 1, 0): [[-0.5]],
                                         (0, -1, 0): [[-0.5]], (0, 0, 1): [[-0.7]],
                                         (0, 0, -1): [[-0.7]]})
    r3 = mk.solve_uniform(cube, mk.PointDisorder(0.05), 0.3, (1e-3, 0, 0), bz_grid=12, bz_refine=0)
    assert np.allclose(r3.conductivity("S/cm").intraband,
                       r3.conductivity("internal").intraband * 2434.1348, rtol=1e-6)


def test_spin_hall_convention_equals_wannierberri_simple_formula():
    """WannierBerri's static SHC, spin_current_type='simple' (calculators/static.py SHC,
    formula/covariant.py SpinOmega, factors.py), written out: with Pauli matrices S,
    J = ({S, v_a})/2, Omega^s_n = -2 Im sum_l J_nl v^b_ln / (e_n - e_l)^2 and
    sigma = (e^2 / 2 hbar) int sum_n f_n Omega^s_n. On the same k points it equals
    d<(1/2){s_z, v_a}>/dE_b of this package (s = sigma/2) in internal units, sign included
    (no factor 2 pi)."""
    from mesokinetics.sampling.brillouin import fractional_grid
    from mesokinetics.sampling.shell import Sea
    from mesokinetics.topology import intrinsic_response
    model = POrbital(crystal_field=0.3, orbital_rashba=0.2, spin_orbit=0.3, spin=True)
    mu, n = 0.1, 24
    k = fractional_grid(n, 2, offset=0.5) @ model.reciprocal_vectors  # no Kramers points
    w = np.full(len(k), 1.0 / (n**2 * model.cell_volume))
    ours = intrinsic_response(model, mu, ops.spin_current(model, "z", "x"), sea=Sea(mu, k, w))
    e, u = np.linalg.eigh(model.hamiltonian(k))
    v = np.einsum("pji,pajk,pkl->pail", u.conj(), model.velocity(k), u)
    s = np.einsum("pji,jk,pkl->pil", u.conj(), 2 * model.spin_matrices[2], u)  # Pauli
    j = 0.5 * (s @ v[:, 0] + v[:, 0] @ s)  # flow along x
    de = e[:, :, None] - e[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.abs(de) > 1e-9, 1 / de**2, 0.0)
    occ = (e < mu).astype(float)
    wb = []
    for b in range(2):
        omega = -2 * np.imag(np.einsum("pnl,pln,pnl->pn", j, v[:, b], inv))
        wb.append(0.5 * np.sum(w[:, None] * occ * omega))
    assert np.max(np.abs(ours)) > 1e-3
    assert np.allclose(ours, wb, rtol=1e-9, atol=1e-12)
