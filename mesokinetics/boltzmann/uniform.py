"""Uniform linear Boltzmann equation on one energy shell (docs/theory.md §4).

With f_n = (-df_eq/deps) g_n and a uniform field, Eq. (4.1) reads

    g_n(k) / tau_n(k) = e E . v_n(k) + (gamma / w_n) Tr[P_n(k) S],
    S = sum_q int_k delta(eps_q - E) P_q(k) g_q(k).

Substituting g into S gives a real linear system for the N^2 coefficients s of S in an
orthonormal Hermitian basis, (I - K) s = s0, with

    K_ab = sum_p w_p tau_p (gamma / w_n) T_pa T_pb,   T_pa = Tr[B_a P_n(k_p)].

I - K is singular: a constant shift of g on a set of bands that scatter into each other
(an electrochemical-potential shift) solves the homogeneous problem. The null space is
found by SVD and removed with a bordered solve that makes g orthogonal to every
homogeneous solution, sum_n w_n int_k delta g_n^(0) g_n = 0 (charge neutrality, and
band-resolved neutrality when bands decouple). Nothing is left to a near-singular solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disorder import PointDisorder, hermitian_from_coefficients, matrix_dos, shell_traces
from ..sampling import Shell
from ..units import ELECTRON_CHARGE
from .neutrality import homogeneous_modes

@dataclass
class ShellSolution:
    """Solution of the uniform Boltzmann equation on one shell, for a unit field (1 V/nm)
    along each axis.

    g : (d, P) g_n(k) at the shell points for E = unit vector along each axis (eV per V/nm)
    moment : (d, N, N) shell moment S for each field axis (nm^-d per V/nm)
    tau : (P,) relaxation times tau_n(k) (hbar/eV)
    dos : (N, N) matrix density of states D (eV^-1 nm^-d)
    null_modes : number of conserved quantities removed by the neutrality condition
    residual : solvability residual of the bordered solve, |lambda| relative to the scale
        of S that the field alone produces (0 for a consistent problem)
    """

    shell: Shell
    g: np.ndarray
    moment: np.ndarray
    tau: np.ndarray
    dos: np.ndarray
    null_modes: int
    residual: float


def solve_shell(shell: Shell, disorder: PointDisorder) -> ShellSolution:
    """Solve Eq. (4.1) without gradients on a nonempty shell, for unit fields along x, y, z."""
    model = shell.bands.model
    n = model.size
    traces = shell_traces(shell)  # (P, N^2)
    dos = matrix_dos(shell)
    tau = disorder.relaxation_times(shell)
    w = shell.weight
    coupling = disorder.gamma / shell.multiplicity  # gamma / w_n
    source = ELECTRON_CHARGE * shell.velocity.T  # (d, P): e E.v for unit fields
    s0 = (source * (w * tau)) @ traces  # (d, N^2)
    kernel = traces.T @ (traces * (w * tau * coupling)[:, None])
    system = np.eye(n * n) - kernel
    null, g0 = homogeneous_modes(traces, w, tau, coupling)
    null = null.T  # (N^2, r)
    # neutrality rows <g0, g> = 0 for every homogeneous solution g0
    inner = w * shell.multiplicity
    rows = (g0 * (inner * tau * coupling)[:, None]).T @ traces  # (r, N^2)
    rhs_rows = -(source * (inner * tau)) @ g0  # (d, r)
    r = null.shape[1]
    bordered = np.block([[system, null], [rows, np.zeros((r, r))]])
    rhs = np.concatenate([s0, rhs_rows], axis=1)
    sol = np.linalg.solve(bordered, rhs.T).T
    s, lam = sol[:, : n * n], sol[:, n * n :]
    g = tau * (source + coupling * (s @ traces.T))
    moment = hermitian_from_coefficients((g * w) @ traces, n)
    # scale: the moment the field alone would produce without cancellations (s0 itself
    # vanishes by symmetry in many models, so it cannot serve as the reference)
    scale = max(np.linalg.norm((w * tau * np.abs(source).max(axis=0)) @ np.abs(traces)),
                np.finfo(float).tiny)
    residual = float(np.max(np.linalg.norm(lam, axis=1)) / scale) if r else 0.0
    return ShellSolution(shell, g, moment, tau, dos, r, residual)


def mean_free_path(solution: ShellSolution) -> float:
    """DOS-weighted Fermi-surface average of |v_n| tau_n (nm), docs/theory.md §3."""
    shell = solution.shell
    w = shell.weight * shell.multiplicity
    return float(np.sum(w * np.linalg.norm(shell.velocity, axis=1) * solution.tau) / np.sum(w))
