"""The fast paths of issue 14 (item 4) give the numbers of the plain ones: the batched,
half-R Fourier sum of TightBinding against a literal per-R sum, the batched rotation of
operators to the eigenbasis against one operator at a time, and the response cache that
recognises an operator built again. Timings are in benchmarks/bench_wannier.py, not here.
"""

import os
from pathlib import Path

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.bands import Bands
from mesokinetics.io.wannier90 import read_wannier90
from mesokinetics.models import POrbital, RashbaLattice, TightBinding
from mesokinetics.bands import to_eigenbasis_stack
from mesokinetics.operators import in_eigenbasis_many
from mesokinetics.workflow import run

CHAIN = os.path.join(os.path.dirname(__file__), "data", "chain")
FE = Path(__file__).resolve().parents[2] / "shared" / "data" / "wannier90" / "Fe"


def per_r(model, k):
    """h(k) and dh/dk as the docstring of models/lattice.py writes them, one R at a time:
    h = sum_R e^{ik.R} H(R)/deg(R) (Hermitian part), v_i = sum_R i R_i e^{ik.R} H(R)/deg(R),
    then the 'atomic' gauge U^dagger (.) U and its i (tau_b - tau_a) h term."""
    n, d = model.size, model.dim
    h = np.zeros((len(k), n, n), complex)
    v = np.zeros((len(k), d, n, n), complex)
    for r, mat, deg in zip(model.R, model.H, model.degeneracy):
        rc = r @ model.lattice_vectors
        phase = np.exp(1j * (k @ rc))[:, None, None]
        h += phase * mat / deg
        for i in range(d):
            v[:, i] += 1j * rc[i] * phase * mat / deg
    h = 0.5 * (h + np.conj(np.swapaxes(h, -1, -2)))
    v = 0.5 * (v + np.conj(np.swapaxes(v, -1, -2)))
    if model.convention == "atomic":
        u = np.exp(1j * (k @ model.positions.T))
        gauge = np.conj(u)[:, :, None] * u[:, None, :]
        h = gauge * h
        for i in range(d):
            dtau = model.positions[None, :, i] - model.positions[:, None, i]
            v[:, i] = gauge * v[:, i] + 1j * dtau * h
    return h, v


def random_model(seed, dim=3, n=4, reach=2, convention="lattice"):
    """Random hoppings on every R with |n_j| <= reach (including pairs written with a
    small non-Hermitian error, within hermiticity_tol), degeneracy weights, positions."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(-reach, reach + 1)] * dim, indexing="ij"), -1)
    rs = grid.reshape(-1, dim)
    rs = rs[rng.permutation(len(rs))]  # no particular order of R
    index = {tuple(r): i for i, r in enumerate(rs)}
    deg = rng.integers(1, 4, len(rs))
    mats = np.zeros((len(rs), n, n), complex)
    for i, r in enumerate(rs):
        j = index[tuple(-r)]
        if j < i:
            continue
        m = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        if i == j:
            m = m + m.conj().T
        mats[i] = m * deg[i]
        mats[j] = (m.conj().T + 1e-8 * rng.normal(size=(n, n))) * deg[j] if i != j else m * deg[i]
    lat = np.eye(dim) * 0.3 + 0.05 * rng.normal(size=(dim, dim))
    pos = rng.uniform(0, 0.3, (n, dim)) if convention == "atomic" else None
    return TightBinding(lat, (rs, mats), degeneracies=deg, positions=pos, convention=convention)


def random_k(model, count=300, seed=1):
    frac = np.random.default_rng(seed).uniform(-2, 2, (count, model.dim))
    return frac @ model.reciprocal_vectors


def assert_close(a, b, rtol=1e-13):
    assert np.max(np.abs(a - b)) <= rtol * np.max(np.abs(b))


@pytest.mark.parametrize("dim, n, reach, convention", [
    (3, 4, 2, "lattice"), (3, 3, 1, "atomic"), (2, 5, 3, "lattice"), (2, 2, 2, "atomic"),
    (1, 3, 4, "lattice")])
def test_batched_fourier_sum_equals_the_per_r_sum(dim, n, reach, convention):
    model = random_model(7 * dim + n, dim, n, reach, convention)
    k = random_k(model)
    h, v = per_r(model, k)
    assert_close(model.hamiltonian(k), h)
    assert_close(model.velocity(k), v)
    if convention == "lattice":
        assert_close(model.hamiltonian_lattice(k), h)
    assert model.hamiltonian(k[:0]).shape == (0, n, n)
    assert model.velocity(k[:0]).shape == (0, dim, n, n)


def test_missing_partner_within_tolerance_is_folded_like_a_zero_partner():
    """An R whose -R is absent (accepted up to hermiticity_tol) counts with a zero partner,
    whichever of R, -R is the one given."""
    small = 1e-9 * np.ones((2, 2))
    for r in ((1,), (-1,)):
        hops = {(0,): np.diag([0.1, -0.2]).astype(complex), (2,): np.eye(2) * 0.3,
                (-2,): np.eye(2) * 0.3, r: small}
        model = TightBinding([[0.4]], hops)
        k = random_k(model)
        h, v = per_r(model, k)
        assert_close(model.hamiltonian(k), h)
        assert_close(model.velocity(k), v)


def test_batched_fourier_sum_on_a_real_seed():
    """The self-made seed (Wigner-Seitz folded hoppings) and, when ../shared is present,
    bcc Fe (95 R vectors, 18 orbitals; phases from per-axis factors) in both conventions."""
    seeds = [read_wannier90(CHAIN)]
    if (FE.parent / "Fe_tb.dat").exists():
        fe = read_wannier90(FE, convention="atomic")  # read once (about 5 s)
        seeds += [fe, TightBinding(fe.lattice_vectors, (fe.R, fe.H), degeneracies=fe.degeneracy,
                                   convention="lattice")]
    for model in seeds:
        k = random_k(model, 200)
        h, v = per_r(model, k)
        assert_close(model.hamiltonian(k), h)
        assert_close(model.velocity(k), v)


@pytest.mark.parametrize("model", [POrbital(spin=False), POrbital(spin_orbit=0.2, exchange=0.1),
                                   mk.models.RashbaFerromagnet(alpha=0.1, exchange=0.05)],
                         ids=["3 bands", "6 bands", "2 bands"])
def test_batched_rotation_equals_one_operator_at_a_time(model):
    rng = np.random.default_rng(2)
    k = rng.normal(size=(257, model.dim)) * model.momentum_scale
    bands = Bands(model, k)
    n = model.size
    mats = rng.normal(size=(4, n, n)) + 1j * rng.normal(size=(4, n, n))
    per_point = rng.normal(size=(len(k), 3, n, n)) + 1j * rng.normal(size=(len(k), 3, n, n))
    u = bands.vectors
    uh = np.conj(np.swapaxes(u, -1, -2))
    got = to_eigenbasis_stack(u, mats)
    for j in range(4):
        assert_close(got[j], uh @ mats[j] @ u)
    got = to_eigenbasis_stack(u, per_point)
    for j in range(3):
        assert_close(got[j], uh @ per_point[:, j] @ u)
    # the velocities of all axes, and every operator kind through in_eigenbasis_many
    slow = Bands(model, k)
    fast = Bands(model, k)
    per_axis = np.stack([slow.to_eigenbasis(v) for v in np.moveaxis(model.velocity(k), 1, 0)], 1)
    assert_close(fast.velocity_eig, per_axis)
    observables = [ops.charge_current(model, i) for i in range(model.dim)]
    observables += [ops.velocity(model, 0), ops.Operator(np.diag(np.arange(n) + 1.0)),
                    ops.Operator(function=lambda q: model.velocity(q)[:, 0] * 2.0)]
    if model.spin_matrices is not None:
        observables += [ops.spin(model, "z"), ops.spin(model, "x"),
                        ops.spin_current(model, "z", "y"), ops.spin_current(model, "x", 0),
                        ops.current(model, ops.spin(model, "y").matrix, 1)]
    if model.orbital_matrices is not None:
        observables += [ops.orbital(model, "z"), ops.orbital_current(model, "z", "x")]
    for op, op_eig in zip(observables, in_eigenbasis_many(observables, fast)):
        assert_close(op_eig, slow.to_eigenbasis(op(k)))
    assert in_eigenbasis_many([], fast) == []


def test_responses_recognise_an_operator_built_again_and_report_progress():
    model = RashbaLattice(alpha=0.3, exchange=0.1, lattice_constant=0.3)
    res = mk.solve_uniform(model, mk.PointDisorder(0.002), 0.5, (1e-3, 0.0), bz_grid=16)
    calls = []
    first = res.responses([ops.spin_current(model, "z", "y"), ops.spin(model, "y")],
                          progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == list(
        range(1, len(calls) + 1))
    cached = len(res._evaluated)
    n_calls = len(calls)
    again = res.responses([ops.spin_current(model, "z", "y"), ops.spin(model, "y"),
                           ops.charge_current(model, 0)], progress=lambda *a: calls.append(a))
    assert len(calls) == n_calls  # everything cached: no progress reported
    assert len(res._evaluated) == cached  # nothing evaluated again
    for a, b in zip(first, again):
        assert np.array_equal(a.total, b.total)
    # a user callable has no key: evaluated once per object, equal to the built-in one
    user = ops.Operator(function=lambda q: model.velocity(q)[:, 1] * -1.0, name="j_y by hand")
    assert np.allclose(res.response(user).total, res.response(ops.charge_current(model, 1)).total,
                       rtol=1e-12, atol=0)
    assert len(res._evaluated) == cached + 1


def test_workflow_reports_the_observables_step():
    """workflow.run feeds the CLI's progress bars: the solve over energy nodes, the
    observables over the Fermi-sea chunks and shells, each ending at done == total."""
    config = mk.load_config("wannier_ferromagnet_film",
                            ["numerics.bz_grid=8", "numerics.bz_refine=0", "numerics.cells=8"])
    solve, observables = [], []
    run(config, progress=lambda *a: solve.append(a),
        observables_progress=lambda *a: observables.append(a))
    for calls in (solve, observables):
        assert calls and calls[-1][0] == calls[-1][1]
