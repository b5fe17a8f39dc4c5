"""Boltzmann equation in a slab 0 < y < W: phase space (y) x (energy shell).

THEORY.md section 6. On each shell point p (band n, velocity v, normal velocity v_y):

    v_y dg_p/dy + g_p / tau_p = q_p(y),   q_p = e E.v_p + (gamma/w_n) Tr[P_n(k_p) S(y)],

with S(y) constant on each cell j (coefficients s_j in the Hermitian basis). Along a
characteristic (fixed p) the solution across a cell of width h is exact for constant q:

    g_out = g_in e^{-a} + q tau (1 - e^{-a}),            a = h / (|v_y| tau),
    <g>   = q tau + (g_in - q tau)(1 - e^{-a}) / a.

Walls (Fuchs-Sondheimer, per wall, specularity p(k_perp) in [0, 1]): a state leaving a
wall is fed by the mirror state that arrives there,

    g_in(p) = rho_p g_out(R(p)) + (1 - rho_p) C_wall,

with one diffuse constant C per wall fixed by zero particle flux into the wall. The
mirror pair (p, R(p)) forms a closed loop between the two walls that is eliminated
exactly (a 2 x 2 solve per pair), so no bounce iteration is needed.

Everything is linear in (s_j, C). The map s -> S is assembled exactly as a dense
(J N^2) x (J N^2) matrix: the triangular "direct" part by a sweep over cells that is
vectorized over shell points and source cells (contracted with BLAS on the fly), the
wall-loop part as a low-rank product. The bordered system (cell equations, wall-flux
rows, neutrality rows) is solved directly. Nothing is iterated, so the cost does not
grow with W / l (source iteration would stall for elastic scattering). For fine grids
(more than ``DIRECT_LIMIT`` unknowns J N^2) the same equations are solved matrix-free by
:mod:`~mesokinetics.boltzmann.slab_iterative`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disorder import PointDisorder, hermitian_from_coefficients, shell_traces
from ..geometry import Fuchs, Slab
from ..shells import Shell
from ..units import ELECTRON_CHARGE
from .uniform import ShellSolution, homogeneous_modes


@dataclass
class SlabShellSolution:
    """Solution on one shell in a slab.

    faces : (J+1,) cell faces (nm); widths : (J,)
    g : (P, J) cell averages of g_p; g_faces : (P, J+1) values at the faces
    gradient : (P, J) cell-average dg_p/dy = (g(y_{j+1}) - g(y_j)) / h_j (exact)
    moment : (J, N, N) shell moments S(y_j); wall_constants : diffuse constants C (bottom,
        top; NaN for a fully specular wall)
    null_modes : conserved densities fixed by neutrality
    residual : border multipliers relative to the scale of S (0 for a consistent problem)
    consistency : |S(g) - s| / scale, S recomputed from the final g against the solved s
    iterations : Krylov iterations of the iterative solver (None for the direct solve)
    """

    shell: Shell
    faces: np.ndarray
    g: np.ndarray
    g_faces: np.ndarray
    gradient: np.ndarray
    moment: np.ndarray
    tau: np.ndarray
    dos: np.ndarray
    wall_constants: tuple
    null_modes: int
    residual: float
    consistency: float
    iterations: int | None = None

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.faces[1:] + self.faces[:-1])


def mirror_partners(shell: Shell, normal: int) -> np.ndarray:
    """Index of the mirror state (same band, k_normal -> -k_normal) of each shell point.

    Exact for shells symmetric under the wall mirror; raises otherwise."""
    from scipy.spatial import cKDTree

    k = shell.k
    mirrored = k.copy()
    mirrored[:, normal] *= -1
    partner = np.full(len(k), -1)
    scale = np.max(np.linalg.norm(k, axis=1))
    for n in np.unique(shell.band):
        idx = np.nonzero(shell.band == n)[0]
        dist, best = cKDTree(k[idx]).query(mirrored[idx])
        if not np.all(dist <= 1e-9 * scale):
            raise NotImplementedError(
                "specular reflection needs a shell that is mirror symmetric about the wall "
                "(k_normal -> -k_normal within each band); this shell is not (e.g. Rashba "
                "plus Dresselhaus, or an in-plane magnetization along the wall). Use fully "
                "diffuse walls (specularity 0) for such models."
            )
        partner[idx] = idx[best]
    return partner


@dataclass
class SlabProblem:
    """Everything about one shell in one slab that does not depend on the moments S.

    Per shell point p: source e E.v_p, decay length lam = |v_y| tau, direction (up = moving
    from the bottom wall y = 0 to the top), start wall, mirror partner R(p) and specular
    fraction rho_p of the start wall. The wall loops are eliminated exactly:
    g_in,p = alpha_p o_p + beta_p o_R(p) + kappa_p . C, with o the zero-inflow outflows.
    ``modes`` (r, N^2) and ``g0`` (P, r) are the conserved densities fixed by neutrality.
    """

    shell: Shell
    faces: np.ndarray
    tau: np.ndarray
    traces: np.ndarray
    coupling: np.ndarray
    source: np.ndarray
    velocity_normal: np.ndarray
    partner: np.ndarray
    rho: np.ndarray
    diffuse_walls: tuple
    modes: np.ndarray
    g0: np.ndarray
    dos: np.ndarray

    def __post_init__(self):
        self.widths = np.diff(self.faces)
        self.up = self.velocity_normal > 0
        self.start = np.where(self.up, 0, 1)
        self.lam = np.abs(self.velocity_normal) * self.tau
        w = self.shell.weight
        self.wt = w[:, None] * self.traces  # S_j = sum_p wT_p <g_p>_j
        self.ct = self.coupling[:, None] * self.traces  # q_p = src_p + cT_p . s_j
        self.charge = (w * self.shell.multiplicity)[:, None] * self.g0  # neutrality weights
        self.flux = w * self.shell.multiplicity * self.velocity_normal
        # e^{-a} and (1 - e^{-a})/a per point and cell, in downstream order (k-major)
        self._order = np.where(self.up[None, :], np.arange(self.cells)[:, None],
                               self.cells - 1 - np.arange(self.cells)[:, None])  # (J, P)
        self._decay, self._phi = _cell_factors(self.widths[self._order], self.lam[None, :])
        # response to a unit inflow: cell averages d_in, face values, transmission e_tot
        d_in, self.faces_in = self.sweep(np.zeros((len(w), self.cells)), np.ones(len(w)))
        self.d_in, self.e_tot = d_in, self.outflow(self.faces_in)
        pp, rho, e = self.partner, self.rho, self.e_tot
        den = 1 - rho * rho[pp] * e * e[pp]
        self.alpha = rho * rho[pp] * e[pp] / den
        self.beta = rho / den
        self.kappa = np.zeros((len(w), len(self.diffuse_walls)))
        for col, wall in enumerate(self.diffuse_walls):
            self.kappa[:, col] += np.where(self.start == wall, (1 - rho) / den, 0.0)
            self.kappa[:, col] += np.where(self.start[pp] == wall, rho * e[pp] * (1 - rho[pp]) / den, 0.0)
        # scale of S that the field alone produces without cancellations (for diagnostics)
        self.scale = max(np.sqrt(len(self.widths)) * np.linalg.norm(
            (w * np.abs(self.source) * self.tau) @ np.abs(self.traces)), np.finfo(float).tiny)

    @classmethod
    def build(cls, shell, disorder, slab, field, faces, uniform):
        normal = slab.normal_axis(shell.bands.model.dim)
        traces = shell_traces(shell)
        coupling = disorder.gamma / shell.multiplicity
        npts = len(shell)
        walls = slab.walls
        all_diffuse = all(isinstance(wl, Fuchs) and wl.p == 0 for wl in walls)
        partner = np.arange(npts) if all_diffuse else mirror_partners(shell, normal)
        vy = shell.velocity[:, normal]
        rho = np.zeros(npts)
        if not all_diffuse:
            kperp = np.abs(shell.k[:, normal])
            rho = np.where(vy > 0, walls[0].specularity(kperp), walls[1].specularity(kperp))
        diffuse = tuple(i for i, wl in enumerate(walls) if not wl.fully_specular)
        if diffuse:  # diffuse re-emission mixes all bands: only the total charge is conserved
            modes, g0 = (shell.weight @ traces)[None, :], np.ones((npts, 1))
        else:  # fully specular: every conserved density of the uniform problem survives
            modes, g0 = homogeneous_modes(traces, shell.weight, uniform.tau, coupling)
        return cls(shell, faces, uniform.tau, traces, coupling,
                   ELECTRON_CHARGE * shell.velocity @ field, vy, partner, rho, diffuse,
                   modes, g0, uniform.dos)

    @property
    def cells(self) -> int:
        return len(self.widths)

    def sweep(self, q: np.ndarray, g_in: np.ndarray):
        """Exact cell averages (P, J) and face values (P, J+1) for sources q (P, J).

        All points advance together in their own downstream order (one loop over cells
        for both directions); the exact step of THEORY.md section 6 is
        <g> = q tau + (g - q tau) phi, g <- g e^{-a} + q tau (1 - e^{-a})."""
        ncell, npts = self._order.shape
        cols = np.arange(npts)
        qt_ds = q.T[self._order, cols] * self.tau  # (J, P) in downstream order
        avg_ds = np.empty((ncell, npts))
        faces_ds = np.empty((ncell + 1, npts))
        g = np.array(g_in, dtype=float)
        faces_ds[0] = g
        for k in range(ncell):
            qt, decay = qt_ds[k], self._decay[k]
            avg_ds[k] = qt + (g - qt) * self._phi[k]
            g = g * decay + qt * (1 - decay)
            faces_ds[k + 1] = g
        avg = np.where(self.up[None, :], avg_ds, avg_ds[::-1]).T
        faces = np.where(self.up[None, :], faces_ds, faces_ds[::-1]).T
        return avg, faces

    def outflow(self, g_faces: np.ndarray) -> np.ndarray:
        """Value of g at the wall where each characteristic ends, (P,)."""
        return np.where(self.up, g_faces[:, -1], g_faces[:, 0])

    def inflow(self, outflow: np.ndarray, constants: np.ndarray) -> np.ndarray:
        """g_in from the zero-inflow outflows o and the diffuse constants C (wall loops)."""
        return self.alpha * outflow + self.beta * outflow[self.partner] + self.kappa @ constants

    def sources(self, s: np.ndarray) -> np.ndarray:
        """q_p(y_j) = e E.v_p + (gamma/w_n) Tr[P_n S_j], (P, J), for moments s (J, N^2)."""
        return self.source[:, None] + self.ct @ s.T

    def finish(self, s, constants, residual) -> SlabShellSolution:
        """Final exact sweep with the solved moments s (J, N^2) and wall constants."""
        q = self.sources(s)
        avg0, faces0 = self.sweep(q, np.zeros(len(q)))
        g_in = self.inflow(self.outflow(faces0), constants)
        # linear in the inflow: add the unit-inflow responses instead of sweeping again
        g_avg = avg0 + self.d_in * g_in[:, None]
        g_faces = faces0 + self.faces_in * g_in[:, None]
        recomputed = g_avg.T @ self.wt
        consistency = float(np.linalg.norm(recomputed - s) / self.scale)
        wall_constants = [np.nan, np.nan]
        for col, wall in enumerate(self.diffuse_walls):
            wall_constants[wall] = float(constants[col])
        return SlabShellSolution(
            self.shell, self.faces, g_avg, g_faces, np.diff(g_faces, axis=1) / self.widths,
            hermitian_from_coefficients(recomputed, self.shell.bands.model.size), self.tau,
            self.dos, tuple(wall_constants), len(self.modes), residual, consistency)


#: Largest J N^2 (cells x coefficients of S per cell) solved by the direct method when the
#: method is "auto": measured crossover with the iterative path at about 1200-2000 (144-960
#: shell points), where the direct path needs about 0.2 GB (docs/slab.md).
DIRECT_LIMIT = 2000

METHODS = ("auto", "direct", "iterative")


def solve_slab_shell(
    shell: Shell, disorder: PointDisorder, slab: Slab, field: np.ndarray, faces: np.ndarray,
    uniform: ShellSolution, method: str = "auto",
) -> SlabShellSolution:
    """Solve the slab Boltzmann equation on one nonempty shell for the given field (V/nm).

    method : "direct" (dense assembly of the s -> S map and a direct bordered solve, to
        rounding), "iterative" (matrix-free GMRES with a two-grid preconditioner, memory
        O(P J), :mod:`~mesokinetics.boltzmann.slab_iterative`) or "auto" (direct up to
        ``DIRECT_LIMIT`` unknowns J N^2, iterative above)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    prob = SlabProblem.build(shell, disorder, slab, field, faces, uniform)
    if method == "direct" or (method == "auto" and prob.cells * prob.traces.shape[1] <= DIRECT_LIMIT):
        return solve_direct(prob)
    from .slab_iterative import solve_iterative

    return solve_iterative(prob)


def solve_direct(prob: SlabProblem) -> SlabShellSolution:
    """Dense assembly and direct bordered solve; memory O((J N^2)^2), time O(J^2 P N^4)."""
    system, rhs = assemble_direct(prob)
    size, n_c = prob.cells * prob.traces.shape[1], len(prob.diffuse_walls)
    sol = np.linalg.solve(system, rhs)
    # the border multipliers vanish for a consistent problem
    residual = float(np.linalg.norm(sol[size + n_c :]) / prob.scale)
    return prob.finish(sol[:size].reshape(prob.cells, -1), sol[size : size + n_c], residual)


def assemble_direct(prob: SlabProblem) -> tuple[np.ndarray, np.ndarray]:
    """Dense bordered system and right-hand side for the unknowns [s (J N^2, cell-major),
    C (one per diffuse wall), lambda (one per conserved density)]: cell equations
    s - S(s, C) + Z lambda = S_0, zero-flux rows of the diffuse walls, neutrality rows."""
    nn = prob.traces.shape[1]
    ncell, npts = prob.cells, len(prob.source)
    widths, r, n_c = prob.widths, len(prob.modes), len(prob.diffuse_walls)
    wt, ct, charge, tau, source = prob.wt, prob.ct, prob.charge, prob.tau, prob.source

    # --- direct part: zero inflow, sources in every cell ---------------------------------
    iu = np.triu_indices(nn)
    nsym = len(iu[0])
    direct = np.empty((ncell, nn, ncell, nn))  # d S_j / d s_i
    total = np.zeros((ncell, ncell, nsym + r * nn))  # both directions, physical order
    direct_src = np.zeros((ncell, nn))  # S_j from e E.v
    neutral_src = np.zeros(r)
    h_out = np.zeros((npts, ncell))  # outflow at the far wall per unit q in cell i
    for direction in (True, False):
        sel = np.nonzero(prob.up == direction)[0]
        if sel.size == 0:
            continue
        order = np.arange(ncell) if direction else np.arange(ncell)[::-1]
        decay, phi = prob._decay[:, sel].T, prob._phi[:, sel].T  # (P_sel, J) downstream
        t = tau[sel]
        # one matmul per cell gives both d S_j / d s_i and the neutrality rows; the block
        # wT_a cT_b = w_p c_p T_pa T_pb is symmetric in (a, b), so only a <= b is computed
        ab = (wt[sel][:, iu[0]] * ct[sel][:, iu[1]])
        nab = np.einsum("pr,pb->prb", charge[sel], ct[sel]).reshape(sel.size, r * nn)
        both = np.concatenate([ab, nab], axis=1)
        buf = np.zeros((ncell, ncell, both.shape[1]))  # [k, i] in downstream order
        face = np.zeros((ncell, sel.size))  # [i, p]: face value per unit q in downstream cell i
        face_src = np.zeros(sel.size)
        src_t = source[sel] * t
        avg_src = np.zeros((ncell, sel.size))
        for k in range(ncell):
            # cell average: upstream sources seen through (1 - e^{-a})/a, plus the own cell
            buf[k, :k] = face[:k] @ (phi[:, k, None] * both)
            buf[k, k] = (t * (1 - phi[:, k])) @ both
            avg_src[k] = src_t + (face_src - src_t) * phi[:, k]
            face[:k] *= decay[:, k]
            face[k] = t * (1 - decay[:, k])
            face_src = face_src * decay[:, k] + src_t * (1 - decay[:, k])
        total += buf if direction else buf[::-1, ::-1]  # physical cell order
        avg_src = avg_src if direction else avg_src[::-1]  # (J, P_sel)
        direct_src += avg_src @ wt[sel]
        neutral_src += widths @ (avg_src @ charge[sel])
        h_out[sel[:, None], order[None, :]] = face.T
    for col, (a, b) in enumerate(zip(*iu)):  # unpack the symmetric (a, b) columns
        direct[:, a, :, b] = total[:, :, col]
        direct[:, b, :, a] = total[:, :, col]
    neutral_direct = np.einsum("j,jirb->rib", widths, total[:, :, nsym:].reshape(ncell, ncell, r, nn))

    # --- wall loops: g_in = alpha o_p + beta o_R + kappa . C, o_p = sum_i h_out (src + cT.s_i)
    pp = prob.partner
    o_s = (h_out[:, :, None] * ct[:, None, :]).reshape(npts, ncell * nn)
    o_0 = h_out.sum(axis=1) * source
    v_s = prob.alpha[:, None] * o_s + prob.beta[:, None] * o_s[pp]  # g_in per s
    v_0 = prob.alpha * o_0 + prob.beta * o_0[pp]
    u = (prob.d_in.T[:, None, :] * wt.T[None, :, :]).reshape(ncell * nn, npts)  # S per g_in

    size = ncell * nn
    ntot = size + n_c + r
    system = np.zeros((ntot, ntot))
    rhs = np.zeros(ntot)
    system[:size, :size] = -direct.reshape(size, size)
    system[np.arange(size), np.arange(size)] += 1.0
    if np.any(prob.rho):  # specular loops; absent for diffuse walls (alpha = beta = 0)
        system[:size, :size] -= u @ v_s
    system[:size, size : size + n_c] = -(u @ prob.kappa)
    rhs[:size] = direct_src.reshape(-1) + u @ v_0

    # zero particle flux into each diffuse wall: sum_p w w_n v_y g_p(wall) = 0
    for col, wall in enumerate(prob.diffuse_walls):
        starts = prob.start == wall
        coef = np.where(starts, prob.flux, prob.flux * prob.e_tot)  # g_out = o + e_tot g_in
        outflow = np.where(starts, 0.0, prob.flux)
        row = size + col
        system[row, :size] = coef @ v_s + outflow @ o_s
        system[row, size : size + n_c] = coef @ prob.kappa
        rhs[row] = -(coef @ v_0 + outflow @ o_0)

    # neutrality of every conserved density, bordered by its homogeneous solution
    inflow_charge = charge * (prob.d_in @ widths)[:, None]  # (P, r)
    modes = np.concatenate([np.tile(prob.modes, (1, ncell)), np.ones((r, n_c))], axis=1)
    modes /= np.linalg.norm(modes, axis=1, keepdims=True)
    system[: size + n_c, size + n_c :] = modes.T
    rows = slice(size + n_c, ntot)
    system[rows, :size] = neutral_direct.reshape(r, size) + inflow_charge.T @ v_s
    system[rows, size : size + n_c] = inflow_charge.T @ prob.kappa
    rhs[rows] = -(neutral_src + inflow_charge.T @ v_0)
    return system, rhs


def _cell_factors(h, lam):
    """e^{-a} and (1 - e^{-a})/a for a = h/lam (lam = 0: a = inf, no transport)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = h / lam
        decay = np.exp(-a)
        phi = np.where(a > 1e-8, -np.expm1(-a) / a, 1.0 - a / 2)
    phi = np.where(np.isfinite(a), phi, 0.0)
    return decay, phi
