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
from .blocks import BlockBasis, ComponentLayout, block_basis
from .neutrality import homogeneous_modes

@dataclass
class ShellSolution:
    """Solution of the uniform Boltzmann equation on one shell, for a unit field (1 V/nm)
    along each axis.

    g : (d, P) g_n(k) at the shell points for E = unit vector along each axis (eV per V/nm);
        on a degenerate band the trace part Tr[r_n] / w_n of its matrix distribution
    moment : (d, N, N) shell moment S for each field axis (nm^-d per V/nm)
    tau : (P,) relaxation times tau_n(k) (hbar/eV); on a degenerate band the inverse of
        the mean rate (gamma / w_n) Tr[P_n D]
    dos : (N, N) matrix density of states D (eV^-1 nm^-d)
    null_modes : number of conserved quantities removed by the neutrality condition
    residual : solvability residual of the bordered solve, |lambda| relative to the scale
        of S that the field alone produces (0 for a consistent problem)
    blocks : the matrix components of degenerate bands (docs/theory.md §12), or None when
        every point keeps one scalar (simple bands, degenerate bands whose traceless part is
        never driven such as Kramers pairs) or the scalar approximation was asked for
    block_rho : (d, Q) their amplitudes r_q = Tr[X_q r_n] (eV per V/nm), or None
    """

    shell: Shell
    g: np.ndarray
    moment: np.ndarray
    tau: np.ndarray
    dos: np.ndarray
    null_modes: int
    residual: float
    blocks: BlockBasis | None = None
    block_rho: np.ndarray | None = None


def solve_shell(shell: Shell, disorder: PointDisorder, *, matrix: bool = True,
                decouple: bool = True) -> ShellSolution:
    """Solve Eq. (4.1) without gradients on a nonempty shell, for unit fields along x, y, z.

    Simple bands carry one g_n per point (docs/theory.md §4). With ``matrix`` (the
    default), a degenerate band carries its w_n^2 matrix components (§12: a Sylvester
    equation per point, diagonal in the eigenbasis of D_n); ``matrix=False`` keeps the
    scalar approximation r_n = g_n P_n. Degenerate bands whose traceless part is never
    driven (Kramers pairs) keep the scalar path, which is exact for them;
    ``decouple=False`` solves them with matrix components anyway (for tests).
    """
    model = shell.bands.model
    n = model.size
    traces = shell_traces(shell)  # (P, N^2), once for the DOS, the rates and the blocks
    dos = matrix_dos(shell, traces)
    tau = disorder.relaxation_times(shell, traces)
    w = shell.weight
    blocks = (block_basis(shell, dos, disorder.gamma, decouple=decouple, point_traces=traces)
              if matrix else None)
    if blocks is None:  # every point one scalar unknown: the path of §4 as it always was
        comp = _Components(traces, w, tau, disorder.gamma / shell.multiplicity,
                           ELECTRON_CHARGE * shell.velocity.T, w * shell.multiplicity)
    else:
        lay = ComponentLayout.build(shell, blocks, traces, tau, disorder.gamma)
        comp = _Components(lay.traces, lay.weight, lay.tau, lay.coupling,
                           ELECTRON_CHARGE * shell.velocity[lay.point].T * lay.unit,
                           lay.weight * lay.norm)
    rho, s, residual, r = comp.solve(n)
    moment = hermitian_from_coefficients((rho * comp.weight) @ comp.traces, n)
    if blocks is None:
        return ShellSolution(shell, rho, moment, tau, dos, r, residual)
    g = lay.per_point(rho.T, shell.multiplicity).T
    return ShellSolution(shell, g, moment, tau, dos, r, residual, blocks, rho[:, len(lay.scalar):])


@dataclass
class _Components:
    """The unknowns of the uniform solve, each a scalar equation
    r_q = tau_q (e E.v_q drive_q + c_q T_q . s) (docs/theory.md §4, §12): one per point
    (scalar path), or the unknowns of a :class:`~mesokinetics.boltzmann.blocks.ComponentLayout`.

    traces (Q, N^2); weight w_q (shell weight of the point); tau (Q,); coupling c_q (Q,);
    source (d, Q) e v drive_q; inner (Q,) weights of the neutrality inner product,
    w_q Tr[X_q X_q] (w_q w_n for a scalar point, whose X is P_n)."""

    traces: np.ndarray
    weight: np.ndarray
    tau: np.ndarray
    coupling: np.ndarray
    source: np.ndarray
    inner: np.ndarray

    def solve(self, n: int):
        """Bordered solve of (I - K) s = s0 with neutrality (docs/theory.md §4). Returns
        the amplitudes (d, Q), the coefficients s (d, N^2), the residual and the number
        of null modes."""
        traces, w, tau, coupling, source = (self.traces, self.weight, self.tau, self.coupling,
                                            self.source)
        s0 = (source * (w * tau)) @ traces  # (d, N^2)
        kernel = traces.T @ (traces * (w * tau * coupling)[:, None])
        system = np.eye(n * n) - kernel
        null, g0 = homogeneous_modes(traces, w, tau, coupling)
        null = null.T  # (N^2, r)
        # neutrality rows <g0, g> = 0 for every homogeneous solution g0
        rows = (g0 * (self.inner * tau * coupling)[:, None]).T @ traces  # (r, N^2)
        rhs_rows = -(source * (self.inner * tau)) @ g0  # (d, r)
        r = null.shape[1]
        bordered = np.block([[system, null], [rows, np.zeros((r, r))]])
        rhs = np.concatenate([s0, rhs_rows], axis=1)
        sol = np.linalg.solve(bordered, rhs.T).T
        s, lam = sol[:, : n * n], sol[:, n * n :]
        rho = tau * (source + coupling * (s @ traces.T))
        # scale: the moment the field alone would produce without cancellations (s0 itself
        # vanishes by symmetry in many models, so it cannot serve as the reference)
        scale = max(np.linalg.norm((w * tau * np.abs(source).max(axis=0)) @ np.abs(traces)),
                    np.finfo(float).tiny)
        residual = float(np.max(np.linalg.norm(lam, axis=1)) / scale) if r else 0.0
        return rho, s, residual, r


def mean_free_path(solution: ShellSolution) -> float:
    """DOS-weighted Fermi-surface average of |v_n| tau (nm), docs/theory.md §3; on a
    degenerate band with matrix components, tau is averaged over the states of the block
    (the eigenstates of D_n, rates gamma d_a, docs/theory.md §12)."""
    shell = solution.shell
    w = shell.weight * shell.multiplicity
    tau = solution.tau
    blocks = solution.blocks
    if blocks is not None:
        tau = tau.copy()
        per_state = np.zeros(len(shell))
        np.add.at(per_state, blocks.point, blocks.drive / blocks.rate)
        degenerate = np.unique(blocks.point)
        tau[degenerate] = per_state[degenerate] / shell.multiplicity[degenerate]
    return float(np.sum(w * np.linalg.norm(shell.velocity, axis=1) * tau) / np.sum(w))
