"""Gauge covariance and degenerate-subspace independence of every contribution."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.coherence import intrinsic_density
from mesokinetics.models import OrbitalTexture, from_callable

from conftest import mix_degenerate_states, random_hermitian, random_model, random_unitary

PARTS = ("intraband", "intrinsic", "disorder")


def _parts(r, op):
    d = r.density(op)
    return np.array([getattr(d, p) for p in PARTS])


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_constant_unitary_change_of_basis_leaves_every_contribution_unchanged(seed):
    model, _, _ = random_model(seed, n=3)
    rng = np.random.default_rng(seed)
    u = random_unitary(rng, 3)
    o = random_hermitian(rng, 3)
    rotated = from_callable(
        lambda k: u @ model.hamiltonian(k) @ u.conj().T, 2,
        velocity=lambda k: u @ model.velocity(k) @ u.conj().T, momentum_scale=2.0,
    )
    disorder = mk.PointDisorder(0.02)
    kw = dict(angles=24, radial_order=12)
    a = _parts(mk.solve_uniform(model, disorder, 0.3, (0.6, -0.8), **kw), o)
    b = _parts(mk.solve_uniform(rotated, disorder, 0.3, (0.6, -0.8), **kw), u @ o @ u.conj().T)
    assert np.allclose(a, b, rtol=1e-9, atol=1e-9 * np.abs(a).max())


def test_orbital_texture_results_do_not_depend_on_the_basis_of_degenerate_bands():
    """Mixing the degenerate states after the solve leaves the intrinsic (Fermi-sea) term
    unchanged; the Fermi-surface terms, which carry the matrix distribution of the
    degenerate band, are checked with mixing before the solve in test_degenerate.py."""
    model = OrbitalTexture(mass=1.0, texture=0.03, dim=2)
    mu = 0.3
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, 40.0), mu, (1.0, 0.0), angles=24)
    assert list(r.nodes[0].solution.shell.bands.multiplicity) == [1, 2]
    op = ops.orbital_current(model, "z", "y")
    before = _parts(r, op)
    assert abs(before[1]) > 1e-6  # a nonzero intrinsic orbital Hall response is checked
    rng = np.random.default_rng(3)
    node = r.nodes[0]
    mix_degenerate_states(node.sea_bands, rng)
    after = intrinsic_density(node.sea_bands, node.sea.weight, mu, op.in_eigenbasis(node.sea_bands))[0]
    assert after == pytest.approx(before[1], rel=1e-12)


def test_orbital_texture_3d_is_isotropic_and_its_conductivity_symmetric():
    model = OrbitalTexture(mass=1.0, texture=0.03, dim=3)
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, 0.3, 40.0), 0.3, (1.0, 0.0, 0.0),
                         polar=12, azimuth=24)
    sigma = r.conductivity("internal").total
    assert np.allclose(sigma, sigma[0, 0] * np.eye(3), rtol=1e-10, atol=1e-10 * sigma[0, 0])
