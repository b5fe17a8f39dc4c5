"""Shared fixtures: the reference models of THEORY.md section 8."""

import numpy as np
import pytest

from mesokinetics.models import from_callable


def random_hermitian(rng, n):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return (a + a.conj().T) / 2


def random_unitary(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def random_model(seed: int, n: int = 3, dim: int = 2, mass_me: float = 1.0, soc: float = 0.05):
    """h(k) = k^2/2m + sum_i k_i A_i + C with random Hermitian A_i (eV nm), C (eV).

    For mu of a few tenths of an eV the kinetic term dominates at the Fermi momenta,
    so every shell is a deformed circle (star-shaped about k = 0)."""
    from mesokinetics.units import mass_to_internal

    rng = np.random.default_rng(seed)
    a = np.stack([soc * random_hermitian(rng, n) for _ in range(dim)])
    c = 0.05 * random_hermitian(rng, n)
    m = mass_to_internal(mass_me)

    def h(k):
        k2 = np.sum(k * k, -1)[:, None, None]
        return k2 / (2 * m) * np.eye(n) + np.einsum("pi,iab->pab", k, a) + c

    def v(k):
        return (k / m)[:, :, None, None] * np.eye(n) + a[None]

    return from_callable(h, dim, velocity=v, momentum_scale=2.0), a, c


@pytest.fixture
def rng():
    return np.random.default_rng(2026)
