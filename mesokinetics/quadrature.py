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


def graded_counts(total: int, panels: int) -> np.ndarray:
    """Nodes per panel of a graded rule: exactly ``total`` nodes on ``panels`` panels (at
    most ``total``), shares growing linearly away from the graded end (1 : 2 : ... :
    panels, largest remainders rounded up, at least one node per panel).

    Why linear: on a geometric mesh the panel next to the singular point and the largest
    one are equally hard in their own scaled variable, but a panel k steps out carries
    about ratio^-k more of the integral, so its error must fall by that much more; with
    Gauss-Legendre, one more node per step buys it (the hp rule of Babuska and Guo). The
    equal split that came before spent as many nodes on a panel of width 3e-4 as on the
    panel of width 0.8 and had to round up per panel, so 16 and 24 polar nodes built the
    same rule (docs/theory.md §8)."""
    total, panels = int(total), int(panels)
    if total < 1 or panels < 1:
        raise ValueError(f"a graded rule needs total >= 1 and panels >= 1, got {total}, {panels}")
    panels = min(panels, total)
    share = total * np.arange(1, panels + 1) / (panels * (panels + 1) / 2)
    n = np.maximum(np.floor(share).astype(int), 1)
    while n.sum() > total:  # only from the floor of 1: take from the most over-served
        n[np.argmax(np.where(n > 1, n - share, -np.inf))] -= 1
    while n.sum() < total:  # largest remainders first
        n[np.argmax(share - n)] += 1
    return n


def graded_unit_rule(total: int, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``total`` Gauss-Legendre nodes and weights on [0, 1], on ``panels`` panels
    graded geometrically towards 0 (edges 0, ratio^(panels-1), ..., ratio, 1) with
    :func:`graded_counts` nodes each. ``panels = 1`` is plain Gauss-Legendre."""
    counts = graded_counts(total, panels)
    edges = graded_edges(len(counts))
    xs, ws = [], []
    for lo, hi, n in zip(edges[:-1], edges[1:], counts):
        x, w = np.polynomial.legendre.leggauss(int(n))
        xs.append(lo + 0.5 * (hi - lo) * (x + 1))
        ws.append(0.5 * (hi - lo) * w)
    return np.concatenate(xs), np.concatenate(ws)


def gauss_legendre_panels(a: np.ndarray, b: np.ndarray, order: int, panels: int,
                          graded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights (I, panels order) on the intervals
    [a_i, b_i]: ``panels`` equal panels, or panels graded towards a_i."""
    edges = graded_edges(panels) if graded else np.linspace(0.0, 1.0, panels + 1)
    t, wt = panel_nodes(edges, order)
    return a[:, None] + (b - a)[:, None] * t[None], (b - a)[:, None] * wt[None]


def thermal_nodes(mu: float, temperature: float, points: int,
                  breaks=()) -> tuple[np.ndarray, np.ndarray]:
    """Energies (eV) and weights for int deps (-df_eq/deps) F(eps), docs/theory.md §9.

    With x = tanh((eps - mu) / 2kT), (-df/deps) deps = dx / 2 exactly, so Gauss-Legendre in
    x integrates the thermal window; T = 0 (kelvin) gives the single node (mu, 1).

    breaks : energies (eV) where F may have a kink or a step (band edges, band crossings:
        :func:`mesokinetics.sampling.critical_energies`). The window is cut there and each
        piece gets its own Gauss-Legendre rule, so the rule stays spectrally accurate on
        piecewise-smooth responses; without the cut a kink converges as n^-2 and, at 100 K
        with the Rashba band crossing 5.8 kT below mu, 24 nodes missed 54 % of the thermal
        shift of the Edelstein density (docs/accuracy.md). Each piece is integrated by
        Gauss-Legendre in t under a polynomial map x(t) whose derivative vanishes at the
        break ends, which makes the square-root behaviour at a band edge analytic:
        t^2 (3 - 2t) between two breaks; on the tails 6t^2 - 8t^3 + 3t^4, whose
        derivative also vanishes twice at x = +-1, where a response growing like a power
        of eps - mu is a power of log(1 -+ x) (measured on sigma ~ eps theta(eps - mu):
        2.3e-6 at 24 nodes, against 5.3e-4 uncut and 5.9e-3 with t^2 tails). The weights
        sum to 1 to rounding. Nodes per piece: :func:`_piece_counts`. Breaks whose x is
        within 1e-14 of +-1 (weight below 1e-14) are ignored. Exactly ``points`` nodes;
        without breaks inside the window, or with fewer than 2 nodes per piece, the rule
        is plain Gauss-Legendre in x. The solvers cut at the model's critical energies,
        or at mu where it has none (``response.drivers._thermal_window``).
    """
    if temperature == 0:
        return np.array([mu]), np.array([1.0])
    kt = KB_EV_K * temperature
    xb = np.tanh((np.asarray(breaks, float).ravel() - mu) / (2 * kt))
    xb = np.unique(xb[np.abs(xb) < 1 - 1e-14])
    if xb.size == 0:
        x, w = np.polynomial.legendre.leggauss(points)
        return mu + 2 * kt * np.arctanh(x), w / 2
    if points < 2 * (xb.size + 1):  # too few nodes to cut: the plain rule
        xb = xb[:0]
    if xb.size == 0:
        x, w = np.polynomial.legendre.leggauss(points)
        return mu + 2 * kt * np.arctanh(x), w / 2
    edges = np.concatenate([[-1.0], xb, [1.0]])
    counts = _piece_counts(edges, int(points))
    energies, weights = [], []
    for lo, hi, n in zip(edges[:-1], edges[1:], counts):
        # maps t in [0, 1] -> x whose derivative vanishes at every break end: the
        # square-root behaviour of a response at a band edge (and the 1/sqrt density of
        # states of a 2D ring bottom) becomes analytic in t; the Jacobians are
        # polynomials, so the weights stay exact for a constant (they sum to 1)
        t, wt = np.polynomial.legendre.leggauss(int(n))
        t, wt = 0.5 * (t + 1), 0.5 * wt
        if lo == -1.0 or hi == 1.0:
            # a tail, from its break (t = 0) to x = -1 or 1 (t = 1): P(t) = 6t^2 - 8t^3 +
            # 3t^4 has P'(0) = 0 (a square root at a band edge becomes analytic) and a
            # double zero of P' at t = 1, where a response growing like a power of
            # eps - mu is a power of log(1 - x) in x: the plain t^2 map (P'(1) != 0) left
            # it there and was 10x worse than no cut on a kink at mu (docs/accuracy.md)
            p, dp = 6 * t**2 - 8 * t**3 + 3 * t**4, 12 * t * (1 - t) ** 2
            if lo == -1.0:
                x, jac = hi - (hi - lo) * p, (hi - lo) * dp
            else:
                x, jac = lo + (hi - lo) * p, (hi - lo) * dp
        else:  # between two breaks: x = lo + (hi - lo) t^2 (3 - 2 t)
            x, jac = lo + (hi - lo) * t**2 * (3 - 2 * t), 6 * (hi - lo) * t * (1 - t)
        energies.append(mu + 2 * kt * np.arctanh(x))
        weights.append(0.5 * jac * wt)
    energies, weights = np.concatenate(energies), np.concatenate(weights)
    return energies, weights


def _piece_counts(edges: np.ndarray, points: int) -> np.ndarray:
    """Nodes per piece of the thermal window cut at ``edges`` (in x), for points >= 2
    pieces: a floor of points // (3 pieces) (2 to 8) each, the rest by largest remainders in proportion to
    the square root of the arccos-length of the piece (arccos-length: the node density of
    Gauss-Legendre in x). The square root gives the thin pieces next to a band edge, where
    the cosine map must resolve an edge, more than their share of the window; measured on
    the Rashba 2DEG at 100 K (docs/accuracy.md) it beat proportional shares by 3-10x."""
    pieces = len(edges) - 1
    floor = max(2, min(8, points // (3 * pieces)))  # 2: the Jacobian between breaks is quadratic
    length = np.sqrt(np.abs(np.diff(np.arccos(np.clip(edges, -1, 1)))))
    share = floor + (points - floor * pieces) * length / length.sum()
    n = np.floor(share).astype(int)
    while n.sum() < points:
        n[np.argmax(share - n)] += 1
    return n
