"""Conserved densities of the Boltzmann equation and the neutrality condition that fixes
them (docs/theory.md §4).

I - K is singular: a constant shift of g on a set of bands that scatter into each other
(an electrochemical-potential shift) solves the homogeneous problem. Its null space is
found by SVD; every solver removes it with a bordered condition (charge neutrality, and
band-resolved neutrality when bands decouple), so nothing is left to a near-singular solve.
"""

from __future__ import annotations

import numpy as np


#: Singular values of I - K below NULL_TOL * max(1, largest) are null modes.
NULL_TOL = 1e-10


def homogeneous_modes(traces, weight, tau, coupling) -> tuple[np.ndarray, np.ndarray]:
    """Null space of I - K: coefficients z (r, N^2) and homogeneous solutions
    g0 = tau (gamma / w_n) T z (P, r), one per conserved density of the uniform problem."""
    kernel = traces.T @ (traces * (weight * tau * coupling)[:, None])
    _, sv, vt = np.linalg.svd(np.eye(traces.shape[1]) - kernel)
    null = vt[sv < NULL_TOL * max(sv[0], 1.0)]  # I - K is O(1) off its null space
    return null, (traces @ null.T) * (tau * coupling)[:, None]
