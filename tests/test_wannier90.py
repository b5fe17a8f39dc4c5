"""Wannier90 hr.dat / tb.dat reader and writer (issue 5)."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.io.wannier90 import (
    Wannier90FormatError, read_hr, read_tb, write_hr, write_tb,
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
    ("h\n1\n2\n1\n", 5, "end of file"),
    ("h\n1\n1\n1 1\n", 4, "1 more degeneracy"),
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
