"""Band geometry (THEORY.md section 2): identities that hold for any Hermitian h(k)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mesokinetics.bands import Bands, band_groups
from mesokinetics.coherence import gradient_kernel
from mesokinetics.models import MassiveDirac, OrbitalTexture, RashbaFerromagnet, from_callable
from mesokinetics.models.base import finite_difference_velocity

from conftest import random_hermitian, random_model


def _bands(seed, n=3, points=5):
    model, _, _ = random_model(seed, n=n)
    k = np.random.default_rng(seed + 1).normal(size=(points, 2))
    return model, Bands(model, k)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5))
def test_projectors_are_complete_and_idempotent(seed, n):
    _, b = _bands(seed, n)
    p = b.projectors()
    assert np.allclose(p.sum(axis=1), np.eye(n), atol=1e-12)
    assert np.allclose(p @ p, p, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5))
def test_berry_connection_is_hermitian_across_bands(seed, n):
    _, b = _bands(seed, n)
    a = b.berry_connection()  # (P, d, M, M, N, N)
    a_dag = np.conj(np.swapaxes(a, -1, -2))
    assert np.allclose(a_dag, np.swapaxes(a, 2, 3), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 5))
def test_commutator_identity(seed, n):
    """sum_{m != n} (A_nm + A_mn) = i [dP_n/dk, P_n] (THEORY.md section 2)."""
    _, b = _bands(seed, n)
    a = b.berry_connection()
    lhs = a.sum(axis=3) + a.sum(axis=2)  # (P, d, M, N, N), diagonal blocks are zero
    dp = b.projector_derivative()
    p = b.projectors()[:, None]
    rhs = 1j * (dp @ p - p @ dp)
    assert np.allclose(lhs, rhs, atol=1e-10)


def test_projector_derivative_matches_difference_of_exact_projectors():
    model, _, _ = random_model(7, n=4)
    k = np.array([[0.3, -0.7]])
    step = 1e-5
    dp = Bands(model, k).projector_derivative()[0]
    for i in range(2):
        e = np.zeros(2)
        e[i] = step
        fd = (Bands(model, k + e).projectors() - Bands(model, k - e).projectors())[0] / (2 * step)
        assert np.allclose(dp[i], fd, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_gradient_kernel_equals_commutator_trace(seed):
    """G_n = Tr[-(i/2) [dP_n/dk, P_n] o], computed in the eigenbasis, equals the matrix form."""
    model, b = _bands(seed, n=3, points=4)
    rng = np.random.default_rng(seed)
    o = random_hermitian(rng, 3)
    dp = b.projector_derivative()
    p = b.projectors()
    for n in range(b.n_bands):
        mask = np.broadcast_to(b.group == n, (len(b), 3))
        g = gradient_kernel(b, mask, b.to_eigenbasis(o))
        comm = dp[:, :, n] @ p[:, None, n] - p[:, None, n] @ dp[:, :, n]
        ref = np.real(np.trace(-0.5j * comm @ o, axis1=-2, axis2=-1))
        assert np.allclose(g, ref, atol=1e-10)


def test_berry_curvature_sums_to_zero_and_dirac_half_chern():
    model = MassiveDirac(velocity=0.5, gap=0.2)
    # int_0^inf Omega 2 pi k dk / 2pi = +/- 1/2 for each band of a massive Dirac cone
    x, w = np.polynomial.legendre.leggauss(200)
    t = 0.5 * (x + 1)
    k = 0.4 * t / (1 - t)
    wk = 0.5 * w * 0.4 / (1 - t) ** 2
    b = Bands(model, np.stack([k, 0 * k], -1))
    omega = b.berry_curvature()
    assert np.allclose(omega.sum(axis=1), 0, atol=1e-12)
    chern_lower = np.sum(wk * k * omega[:, 0])  # 2 pi k dk / (2 pi)
    assert chern_lower == pytest.approx(0.5, abs=1e-10)  # sign: Omega = -2 Im(...) convention


def test_finite_difference_velocity_accuracy():
    """The fallback velocity (8th-order central differences) is accurate to 1e-10 relative."""
    model = RashbaFerromagnet(mass=0.5, alpha=0.3, beta=0.1, exchange=0.2, magnetization=(1, 1, 1))
    k = np.random.default_rng(0).normal(size=(20, 2)) * 2
    fd = finite_difference_velocity(model.hamiltonian, k, model.fd_step)
    exact = model.velocity(k)
    assert np.max(np.abs(fd - exact)) < 1e-10 * np.max(np.abs(exact))


def test_degenerate_groups_of_orbital_texture():
    assert list(band_groups(OrbitalTexture(mass=1, texture=0.05))) == [0, 1, 1]
    assert list(band_groups(OrbitalTexture(mass=1, texture=-0.01))) == [0, 0, 1]
    assert list(band_groups(RashbaFerromagnet(alpha=0.1))) == [0, 1]


def test_non_hermitian_hamiltonian_names_the_k_point():
    model = from_callable(lambda k: np.array([[[1.0, 1.0], [0.0, 1.0]]] * len(k)), dim=2)
    with pytest.raises(ValueError, match=r"not Hermitian at k = \["):
        Bands(model, np.array([[0.1, 0.2]]))


def test_bad_callable_shape_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        from_callable(lambda k: np.ones((len(k), 2, 3)), dim=2)


def test_rashba_film_velocity_is_exact_in_3d():
    """RashbaFerromagnet(dim=3): k_z only in the kinetic energy; velocity vs differences."""
    model = RashbaFerromagnet(mass=0.7, alpha=0.2, exchange=0.05, magnetization=(0, 1, 0), dim=3)
    k = np.random.default_rng(1).normal(size=(12, 3))
    fd = finite_difference_velocity(model.hamiltonian, k, model.fd_step)
    assert np.max(np.abs(fd - model.velocity(k))) < 1e-10 * np.max(np.abs(model.velocity(k)))
    flat = RashbaFerromagnet(mass=0.7, alpha=0.2, exchange=0.05, magnetization=(0, 1, 0))
    k2 = k.copy()
    k2[:, 2] = 0.0
    assert np.allclose(model.hamiltonian(k2), flat.hamiltonian(k2[:, :2]))
