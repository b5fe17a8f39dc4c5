"""Composite Gauss-Legendre rules and the thermal window: the one-dimensional quadratures
that every k-space and energy integral is built from (docs/theory.md §8-9).
"""

from __future__ import annotations

import numpy as np

#: Boltzmann constant in eV/K.
KB_EV_K = 8.617333262e-5

#: Ratio of consecutive panel lengths of a geometrically graded rule.
GRADING_RATIO = 0.2


def graded_edges(panels: int, ratio: float = GRADING_RATIO) -> np.ndarray:
    """Panel edges on [0, 1] graded towards 0: 0, ratio^(panels-1), ..., ratio, 1."""
    return np.concatenate([[0.0], ratio ** np.arange(panels - 1, -1, -1)])


def panel_nodes(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights of ``order`` points on each panel between
    consecutive ``edges`` (..., E) -> (..., (E - 1) order), panel by panel."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.asarray(edges, float)
    lo, hi = edges[..., :-1, None], edges[..., 1:, None]
    half = 0.5 * (hi - lo)
    shape = edges.shape[:-1] + (-1,)
    return (half * (x + 1) + lo).reshape(shape), (half * w).reshape(shape)


def graded_unit_rule(total: int, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """About ``total`` nodes on [0, 1] on ``panels`` panels graded towards 0 (at least 2
    nodes per panel)."""
    order = max(2, -(-total // panels))
    return panel_nodes(graded_edges(panels), order)


def gauss_legendre_panels(a: np.ndarray, b: np.ndarray, order: int, panels: int,
                          graded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights (I, panels order) on the intervals
    [a_i, b_i]: ``panels`` equal panels, or panels graded towards a_i."""
    edges = graded_edges(panels) if graded else np.linspace(0.0, 1.0, panels + 1)
    t, wt = panel_nodes(edges, order)
    return a[:, None] + (b - a)[:, None] * t[None], (b - a)[:, None] * wt[None]


def thermal_nodes(mu: float, temperature: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies (eV) and weights for int deps (-df_eq/deps) F(eps), docs/theory.md §9.

    With x = tanh((eps - mu) / 2kT), (-df/deps) deps = dx / 2 exactly, so Gauss-Legendre in
    x integrates the thermal window; T = 0 (kelvin) gives the single node (mu, 1).
    """
    if temperature == 0:
        return np.array([mu]), np.array([1.0])
    x, w = np.polynomial.legendre.leggauss(points)
    kt = KB_EV_K * temperature
    return mu + 2 * kt * np.arctanh(x), w / 2
