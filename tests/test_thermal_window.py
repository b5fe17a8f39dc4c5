"""The thermal window cut at critical energies (mesokinetics.quadrature.thermal_nodes,
docs/theory.md §9): spectral on piecewise-smooth responses, where the uncut rule converges
as n^-2. Model responses with closed-form thermal averages (kT units), measured errors in
the docstrings; tolerances about 3x the measured error at 24 nodes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from mesokinetics.quadrature import KB_EV_K, thermal_nodes

T = 200.0
KT = KB_EV_K * T


def thermal_average(f, break_at: float) -> float:
    """int deps (-df/deps) f(eps) at mu = 0 by adaptive quadrature, split at the break."""
    def w(e):
        u = abs(e) / KT
        return np.exp(-u) / (1 + np.exp(-u)) ** 2 / KT

    return quad(lambda e: w(e) * f(e), -60 * KT, 60 * KT, points=[break_at], limit=500,
                epsabs=1e-16, epsrel=1e-13)[0]


def rule_error(f, break_at: float, points: int, breaks) -> float:
    energies, weights = thermal_nodes(0.0, T, points, breaks)
    ref = thermal_average(f, break_at)
    return abs(weights @ f(energies) / ref - 1)


def test_a_kink_at_mu():
    """sigma ~ eps theta(eps) (a 2D band edge at mu; exact kT ln 2): measured 2.3e-6 at 24
    nodes cut at mu, 5.3e-4 uncut (n^-2), 5.9e-3 with the t^2 tails of before."""
    f = lambda e: np.maximum(e, 0.0)  # noqa: E731
    assert thermal_average(f, 0.0) == pytest.approx(KT * np.log(2), rel=1e-12)
    assert rule_error(f, 0.0, 24, [0.0]) < 7e-6
    assert rule_error(f, 0.0, 24, ()) > 3e-4
    assert rule_error(f, 0.0, 48, [0.0]) < rule_error(f, 0.0, 24, [0.0]) / 30


@pytest.mark.parametrize("name, f, at, bound", [
    # measured at 24 nodes: 9.4e-7, 1.1e-7, 6.8e-7, 1.5e-8 (uncut: 2.8e-4, 1.7e-3, 4.6e-2,
    # 3.5e-2)
    ("kink 5.8 kT below mu", lambda e: np.maximum(e + 5.8 * KT, 0) + 0.3 * e, -5.8 * KT, 3e-6),
    ("square-root edge", lambda e: np.sqrt(np.maximum(e + 2 * KT, 0)), -2 * KT, 4e-7),
    ("step", lambda e: (e > KT) * (1 + 10 * e), KT, 2e-6),
    ("1/sqrt ring bottom", lambda e: np.where(e > -KT, 1 / np.sqrt(np.abs(e + KT) + 1e-300), 0.0),
     -KT, 5e-8),
])
def test_piecewise_smooth_responses(name, f, at, bound):
    assert rule_error(f, at, 24, [at]) < bound
    assert rule_error(f, at, 24, ()) > 30 * bound


def test_a_smooth_response_cut_at_mu():
    """No critical energy: the solvers cut at mu (response.drivers._thermal_window), so the
    tails' map takes the log(1 - x) of a growing response: (eps + 3 meV)^2 measured 2.4e-5
    at 24 nodes against 1.1e-2 uncut; the weights still sum to 1."""
    f = lambda e: (e + 0.003) ** 2  # noqa: E731
    assert rule_error(f, 0.0, 24, [0.0]) < 7e-5
    assert rule_error(f, 0.0, 24, ()) > 5e-3
    _, w = thermal_nodes(0.0, T, 24, [0.0])
    assert np.sum(w) == pytest.approx(1.0, abs=1e-14)
