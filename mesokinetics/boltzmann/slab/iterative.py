"""Matrix-free solver of the slab Boltzmann equation for fine grids (docs/theory.md §6).

Same unknowns and equations as :func:`~mesokinetics.boltzmann.slab.direct.solve_direct`:
x = [s (J N^2, cell-major), C (one per diffuse wall), lambda (one per conserved density)],

    s - S(s, C) + Z lambda = S_0        (cell equations)
    flux into each diffuse wall = 0     (wall rows)
    sum_j h_j <g0_r, g>_j = 0            (neutrality rows)

but the map s -> S is never assembled. One product with the system matrix is one
zero-inflow sweep with the sources cT . s_j (O(P J)), the wall loops
g_in = alpha o + beta o_R + kappa . C and the inflow correction d_in g_in. Memory is
O(P J) instead of O((J N^2)^2).

GMRES with a two-grid preconditioner. Coarse operator: the dense bordered system of
``solve_direct`` on a coarse mesh whose faces are a subset of the fine faces. Because the
sweep is exact for piecewise-constant sources on any mesh, this coarse system is exactly
the Galerkin operator R A P for the restriction R = width-weighted average of the cell
equations over each group of fine cells and the prolongation P = piecewise-constant s
(wall constants shared; lambda rescaled by the ratio of the border normalizations). It
removes the smooth, slowly decaying diffusive modes (the modes that make source iteration
stall for elastic scattering). Smoother: one source-iteration step on the cell
equations (a transport sweep damps errors that vary on the scale of a mean free path).
One application of the preconditioner costs one coarse back-substitution and one sweep.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import LinearOperator, gmres

from .direct import assemble_direct
from .problem import SlabProblem, SlabShellSolution

#: Krylov vectors kept before GMRES restarts.
RESTART = 60


def solve_iterative(
    prob: SlabProblem, tol: float = 1e-10, maxiter: int = 200, coarse_cells: int = 64,
) -> SlabShellSolution:
    """Solve the bordered slab system of :func:`solve_direct` with preconditioned GMRES.

    tol : GMRES stops when |b - A x| <= tol * max(|b|, prob.scale) (0 < tol < 1; the
        scale of S guards problems whose S vanishes by symmetry, where b is rounding noise)
    maxiter : largest number of GMRES iterations (products with the system matrix);
        raises RuntimeError when they do not reach ``tol``
    coarse_cells : number of coarse cells of the two-grid preconditioner (>= 2; capped at
        the number of fine cells, in which case the preconditioner is the exact inverse)

    Returns the same :class:`SlabShellSolution` as the direct solver, with ``iterations``
    set to the number of GMRES iterations.
    """
    if not (np.isfinite(tol) and 0 < tol < 1):
        raise ValueError(f"tol must be a relative tolerance in (0, 1), got {tol!r}")
    if isinstance(maxiter, bool) or not isinstance(maxiter, (int, np.integer)) or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    if (isinstance(coarse_cells, bool) or not isinstance(coarse_cells, (int, np.integer))
            or coarse_cells < 2):
        raise ValueError(f"coarse_cells must be an integer >= 2, got {coarse_cells!r}")

    op = _SlabOperator(prob)
    rhs = op.rhs()
    pre = _TwoGrid(prob, op, int(coarse_cells))
    count = [0]

    def tick(_):
        count[0] += 1

    restart = min(int(maxiter), RESTART)
    # S of a symmetric problem may vanish by cancellation (e.g. a parabolic band with the
    # field along the slab): measure the residual against the scale of S, not only |b|
    atol = tol * prob.scale
    x, info = gmres(
        LinearOperator((op.n, op.n), matvec=op.apply, dtype=float), rhs,
        rtol=tol, atol=atol, restart=restart,
        maxiter=math.ceil(maxiter / restart), M=LinearOperator((op.n, op.n), matvec=pre.apply,
                                                               dtype=float),
        callback=tick, callback_type="pr_norm",
    )
    if info != 0:  # scipy checks the true residual |b - A x| before reporting success
        res = np.linalg.norm(rhs - op.apply(x))
        raise RuntimeError(
            f"GMRES did not converge in {count[0]} iterations (residual {res:.2e}, "
            f"wanted {max(tol * np.linalg.norm(rhs), atol):.2e}); raise maxiter or "
            "coarse_cells, or use the direct solver"
        )
    size, n_c = op.size, op.n_c
    residual = float(np.linalg.norm(x[size + n_c :]) / prob.scale)
    sol = prob.finish(x[:size].reshape(prob.cells, op.nn), x[size : size + n_c], residual)
    sol.iterations = count[0]
    return sol


class _SlabOperator:
    """Matrix-free bordered system of ``assemble_direct`` (same rows, same scaling)."""

    def __init__(self, prob: SlabProblem):
        self.prob = prob
        self.nn = prob.traces.shape[1]
        self.npts = len(prob.source)
        self.size = prob.cells * self.nn
        self.n_c = len(prob.diffuse_walls)
        self.r = len(prob.modes)
        self.n = self.size + self.n_c + self.r
        # border columns Z, normalized as in assemble_direct
        norm = np.sqrt(prob.cells * np.sum(prob.modes**2, axis=1) + self.n_c)
        self.norm = norm
        self.z_cell = prob.modes / norm[:, None]  # (r, N^2), the same in every cell
        self.z_wall = np.ones((self.n_c, self.r)) / norm[None, :]  # (n_c, r)
        # wall rows: flux into wall = coef . g_in + out . o (g_out = o + e_tot g_in)
        self.coef = np.zeros((self.n_c, self.npts))
        self.out = np.zeros((self.n_c, self.npts))
        for col, wall in enumerate(prob.diffuse_walls):
            starts = prob.start == wall
            self.coef[col] = np.where(starts, prob.flux, prob.flux * prob.e_tot)
            self.out[col] = np.where(starts, 0.0, prob.flux)

    def _transport(self, q, constants):
        """Cell averages g (P, J), inflows and zero-inflow outflows for sources q."""
        prob = self.prob
        g, faces = prob.sweep(q, np.zeros(self.npts))
        o = prob.outflow(faces)
        g_in = prob.inflow(o, constants)
        g += prob.d_in * g_in[:, None]
        return g, g_in, o

    def _rows(self, g, g_in, o):
        prob = self.prob
        moments = g.T @ prob.wt  # (J, N^2)
        wall = self.coef @ g_in + self.out @ o
        neutral = (prob.charge.T @ g) @ prob.widths
        return moments, wall, neutral

    def apply(self, x):
        x = np.asarray(x, dtype=float).ravel()
        prob = self.prob
        s = x[: self.size].reshape(prob.cells, self.nn)
        constants = x[self.size : self.size + self.n_c]
        lam = x[self.size + self.n_c :]
        moments, wall, neutral = self._rows(*self._transport(prob.ct @ s.T, constants))
        y = np.empty(self.n)
        y[: self.size] = (s - moments + lam @ self.z_cell).ravel()
        y[self.size : self.size + self.n_c] = wall + self.z_wall @ lam
        y[self.size + self.n_c :] = neutral
        return y

    def rhs(self):
        prob = self.prob
        q = np.repeat(prob.source[:, None], prob.cells, axis=1)
        moments, wall, neutral = self._rows(*self._transport(q, np.zeros(self.n_c)))
        return np.concatenate([moments.ravel(), -wall, -neutral])


def coarse_groups(faces: np.ndarray, groups: int) -> np.ndarray:
    """Indices of the fine faces kept as coarse faces: ``groups`` coarse cells, each a run
    of fine cells, as close as the fine mesh allows to the fine mesh's own grading with
    equal numbers of fine cells per group, but no coarse cell wider than needed.

    The coarse faces are chosen at equal steps of the mixed coordinate
    u = (index / J + y / W) / 2, which follows the fine grading near the walls (where cells
    are small) and the width in the middle (where cells are large)."""
    ncell = len(faces) - 1
    if groups >= ncell:
        return np.arange(ncell + 1)
    u = 0.5 * (np.arange(ncell + 1) / ncell + (faces - faces[0]) / (faces[-1] - faces[0]))
    targets = np.linspace(0.0, 1.0, groups + 1)
    idx = np.clip(np.searchsorted(u, targets), 0, ncell)
    # nearest fine face, then force strictly increasing indices
    lower = np.clip(idx - 1, 0, ncell)
    idx = np.where(np.abs(u[lower] - targets) < np.abs(u[idx] - targets), lower, idx)
    idx[0] = 0
    for k in range(1, groups):
        idx[k] = max(idx[k], idx[k - 1] + 1)
    idx[-1] = ncell
    for k in range(groups - 1, 0, -1):
        idx[k] = min(idx[k], idx[k + 1] - 1)
    return idx


class _TwoGrid:
    """Two-grid preconditioner: Galerkin coarse solve (dense, LU) + one sweep smoother."""

    def __init__(self, prob: SlabProblem, op: _SlabOperator, groups: int):
        self.op = op
        keep = coarse_groups(prob.faces, groups)
        self.exact = len(keep) == prob.cells + 1
        coarse = dataclasses.replace(prob, faces=prob.faces[keep])
        system, _ = assemble_direct(coarse)
        self.lu = scipy.linalg.lu_factor(system, check_finite=False)
        self.owner = np.repeat(np.arange(len(keep) - 1), np.diff(keep))  # fine cell -> group
        self.h = prob.widths
        self.big = coarse.widths
        self.jc = coarse.cells
        nn, n_c = op.nn, op.n_c
        self.csize = self.jc * nn
        norm_c = np.sqrt(self.jc * np.sum(prob.modes**2, axis=1) + n_c)
        self.lam_scale = op.norm / norm_c  # lambda_fine = lambda_coarse * norm_f / norm_c

    def restrict(self, r):
        op = self.op
        cells = r[: op.size].reshape(-1, op.nn) * self.h[:, None]
        avg = np.zeros((self.jc, op.nn))
        np.add.at(avg, self.owner, cells)
        avg /= self.big[:, None]
        return np.concatenate([avg.ravel(), r[op.size :]])

    def prolong(self, xc):
        op = self.op
        s = xc[: self.csize].reshape(self.jc, op.nn)[self.owner]
        lam = xc[self.csize + op.n_c :] * self.lam_scale
        return np.concatenate([s.ravel(), xc[self.csize : self.csize + op.n_c], lam])

    def coarse(self, r):
        return self.prolong(scipy.linalg.lu_solve(self.lu, self.restrict(r), check_finite=False))

    def apply(self, r):
        r = np.asarray(r, dtype=float).ravel()
        x = self.coarse(r)
        if self.exact:
            return x
        # smoother: one source-iteration step on the cell equations (without it GMRES
        # stalls on errors that vary within a coarse cell)
        x[: self.op.size] += (r - self.op.apply(x))[: self.op.size]
        return x
