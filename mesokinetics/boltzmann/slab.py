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
grow with W / l (source iteration would stall for elastic scattering).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disorder import PointDisorder, hermitian_from_coefficients, shell_traces
from ..geometry import Fuchs, Slab
from ..shells import Shell
from ..units import ELECTRON_CHARGE
from .uniform import ShellSolution


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

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.faces[1:] + self.faces[:-1])


def mirror_partners(shell: Shell, normal: int) -> np.ndarray:
    """Index of the mirror state (same band, k_normal -> -k_normal) of each shell point.

    Exact for shells symmetric under the wall mirror; raises otherwise."""
    k = shell.k
    mirrored = k.copy()
    mirrored[:, normal] *= -1
    partner = np.full(len(k), -1)
    scale = np.max(np.linalg.norm(k, axis=1))
    for n in np.unique(shell.band):
        idx = np.nonzero(shell.band == n)[0]
        # sort-free exact matching: nearest point of the same band
        d = np.linalg.norm(mirrored[idx][:, None, :] - k[idx][None, :, :], axis=-1)
        best = np.argmin(d, axis=1)
        ok = d[np.arange(len(idx)), best] <= 1e-9 * scale
        if not np.all(ok):
            raise NotImplementedError(
                "specular reflection needs a shell that is mirror symmetric about the wall "
                "(k_normal -> -k_normal within each band); this shell is not (e.g. Rashba "
                "plus Dresselhaus, or an in-plane magnetization along the wall). Use fully "
                "diffuse walls (specularity 0) for such models."
            )
        partner[idx] = idx[best]
    return partner


def _mode_weights(shell, uniform_tau, traces, coupling, any_diffuse):
    """Homogeneous solutions to remove, as (mode vectors in s per cell, g0 per point).

    With a diffuse wall only the total charge is conserved: g0 = 1 (S = D, C = 1).
    With both walls fully specular every conserved density of the uniform problem stays
    conserved (bands that never scatter into each other keep their own densities)."""
    from .uniform import NULL_TOL

    dos = shell.weight @ traces
    if any_diffuse:
        return dos[None, :], np.ones((len(shell.weight), 1))
    kern = traces.T @ (traces * (shell.weight * uniform_tau * coupling)[:, None])
    _, sv, vt = np.linalg.svd(np.eye(traces.shape[1]) - kern)
    null = vt[sv < NULL_TOL * max(sv[0], 1.0)]
    g0 = (traces @ null.T) * (uniform_tau * coupling)[:, None]
    return null, g0


def solve_slab_shell(
    shell: Shell, disorder: PointDisorder, slab: Slab, field: np.ndarray, faces: np.ndarray,
    uniform: ShellSolution,
) -> SlabShellSolution:
    """Solve the slab Boltzmann equation on one nonempty shell for the given field (V/nm)."""
    model = shell.bands.model
    nn = model.size**2
    normal = slab.normal_axis(model.dim)
    widths = np.diff(faces)
    ncell = len(widths)
    traces = shell_traces(shell)  # (P, N^2)
    tau = uniform.tau
    w = shell.weight
    mult = shell.multiplicity
    coupling = disorder.gamma / mult
    vy = shell.velocity[:, normal]
    source = ELECTRON_CHARGE * shell.velocity @ field  # (P,) e E.v
    npts = len(w)
    up = vy > 0
    start = np.where(up, 0, 1)  # wall where each characteristic starts

    walls = slab.walls
    all_diffuse = all(isinstance(wl, Fuchs) and wl.p == 0 for wl in walls)
    partner = np.arange(npts) if all_diffuse else mirror_partners(shell, normal)
    kperp = np.abs(shell.k[:, normal])
    rho = np.zeros(npts)
    if not all_diffuse:
        rho = np.where(up, walls[0].specularity(kperp), walls[1].specularity(kperp))
    c_index = {wall: i for i, wall in enumerate(
        [wl_i for wl_i, wl in enumerate(walls) if not wl.fully_specular])}
    n_c = len(c_index)
    mode_s, g0 = _mode_weights(shell, tau, traces, coupling, n_c > 0)
    r = len(mode_s)

    wt = w[:, None] * traces  # (P, N^2): S_j = sum_p wT_p <g_p>_j
    ct = coupling[:, None] * traces  # (P, N^2): q_p = src_p + cT_p . s_j
    charge = (w * mult)[:, None] * g0  # (P, r) neutrality weights

    # --- direct part: zero inflow, sources in every cell ---------------------------------
    lam = np.abs(vy) * tau  # decay length along the normal (nm)
    direct = np.zeros((ncell, nn, ncell, nn))  # d S_j / d s_i
    direct_src = np.zeros((ncell, nn))  # S_j from e E.v
    neutral_direct = np.zeros((r, ncell, nn))
    neutral_src = np.zeros(r)
    h_out = np.zeros((npts, ncell))  # outflow at the far wall per unit q in cell i
    d_in = np.zeros((npts, ncell))  # cell average per unit inflow
    e_tot = np.zeros(npts)  # transmission from wall to wall
    for direction in (True, False):
        sel = np.nonzero(up == direction)[0]
        if sel.size == 0:
            continue
        order = np.arange(ncell) if direction else np.arange(ncell)[::-1]
        decay, phi = _cell_factors(widths[order][None, :], lam[sel, None])
        t = tau[sel]
        # one matmul per cell gives both d S_j / d s_i (N^4 columns) and the neutrality rows
        ab = (wt[sel][:, :, None] * ct[sel][:, None, :]).reshape(sel.size, nn * nn)
        nab = np.einsum("pr,pb->prb", charge[sel], ct[sel]).reshape(sel.size, r * nn)
        both = np.concatenate([ab, nab], axis=1)
        buf = np.zeros((ncell, ncell, both.shape[1]))  # [k, i] in downstream order
        face = np.zeros((sel.size, ncell))  # face value per unit q in downstream cell i
        face_src = np.zeros(sel.size)
        fin = np.ones(sel.size)
        src_t = source[sel] * t
        avg_src = np.zeros((ncell, sel.size))
        for k in range(ncell):
            # cell average: upstream sources seen through (1 - e^{-a})/a, plus the own cell
            buf[k, :k] = face[:, :k].T @ (phi[:, k, None] * both)
            buf[k, k] = (t * (1 - phi[:, k])) @ both
            avg_src[k] = src_t + (face_src - src_t) * phi[:, k]
            d_in[sel, order[k]] = fin * phi[:, k]
            fin = fin * decay[:, k]
            face[:, :k] *= decay[:, k, None]
            face[:, k] = t * (1 - decay[:, k])
            face_src = face_src * decay[:, k] + src_t * (1 - decay[:, k])
        # back to physical cell order
        phys = buf[np.argsort(order)][:, np.argsort(order)]
        direct += phys[:, :, : nn * nn].reshape(ncell, ncell, nn, nn).transpose(0, 2, 1, 3)
        neutral_direct += np.einsum("j,jirb->rib", widths, phys[:, :, nn * nn :].reshape(
            ncell, ncell, r, nn))
        avg_src = avg_src[np.argsort(order)]  # (J, P_sel)
        direct_src += avg_src @ wt[sel]
        neutral_src += widths @ (avg_src @ charge[sel])
        h_out[sel[:, None], order[None, :]] = face
        e_tot[sel] = fin

    # --- wall loops (p, R(p)) eliminated exactly: g_in = alpha o_p + beta o_R + kappa.C ---
    pp = partner
    den = 1 - rho * rho[pp] * e_tot * e_tot[pp]
    alpha = rho * rho[pp] * e_tot[pp] / den
    beta = rho / den
    kappa = np.zeros((npts, n_c))
    for wall, col in c_index.items():
        kappa[:, col] += np.where(start == wall, (1 - rho) / den, 0.0)
        kappa[:, col] += np.where(start[pp] == wall, rho * e_tot[pp] * (1 - rho[pp]) / den, 0.0)
    o_s = (h_out[:, :, None] * ct[:, None, :]).reshape(npts, ncell * nn)  # o_p per s
    o_0 = h_out.sum(axis=1) * source
    v_s = alpha[:, None] * o_s + beta[:, None] * o_s[pp]  # g_in per s
    v_0 = alpha * o_0 + beta * o_0[pp]
    u = (d_in.T[:, None, :] * wt.T[None, :, :]).reshape(ncell * nn, npts)  # S per g_in

    size = ncell * nn
    ntot = size + n_c + r
    system = np.zeros((ntot, ntot))
    rhs = np.zeros(ntot)
    system[:size, :size] = np.eye(size) - direct.reshape(size, size) - u @ v_s
    system[:size, size : size + n_c] = -(u @ kappa)
    rhs[:size] = direct_src.reshape(-1) + u @ v_0

    # zero particle flux into each diffuse wall: sum_p w w_n v_y g_p(wall) = 0
    flux = w * mult * vy
    for wall, col in c_index.items():
        starts = start == wall
        coef = np.where(starts, flux, flux * e_tot)  # g_out = o + e_tot g_in at the far wall
        outflow = np.where(starts, 0.0, flux)
        row = size + col
        system[row, :size] = coef @ v_s + outflow @ o_s
        system[row, size : size + n_c] = coef @ kappa
        rhs[row] = -(coef @ v_0 + outflow @ o_0)

    # neutrality of every conserved density, bordered by its homogeneous solution
    cell_w = d_in @ widths  # int dy of the inflow response, per point
    inflow_charge = charge * cell_w[:, None]  # (P, r)
    modes = np.concatenate([np.tile(mode_s, (1, ncell)), np.ones((r, n_c))], axis=1)
    modes /= np.linalg.norm(modes, axis=1, keepdims=True)
    system[: size + n_c, size + n_c :] = modes.T
    rows = slice(size + n_c, ntot)
    system[rows, :size] = neutral_direct.reshape(r, size) + inflow_charge.T @ v_s
    system[rows, size : size + n_c] = inflow_charge.T @ kappa
    rhs[rows] = -(neutral_src + inflow_charge.T @ v_0)

    sol = np.linalg.solve(system, rhs)
    s = sol[:size].reshape(ncell, nn)
    cvals = sol[size : size + n_c]
    # the multipliers vanish for a consistent problem; compare with the scale of S that the
    # field alone would produce without any cancellation
    scale = np.sqrt(ncell) * np.linalg.norm((w * np.abs(source) * tau) @ np.abs(traces))
    residual = float(np.linalg.norm(sol[size + n_c :]) / max(scale, np.finfo(float).tiny))

    # --- final sweep with the solved sources ---------------------------------------------
    q = source[:, None] + ct @ s.T  # (P, J)
    o = np.sum(h_out * q, axis=1)
    g_in = alpha * o + beta * o[pp] + kappa @ cvals
    g_avg, g_faces = _sweep(q, g_in, up, widths, lam, tau)
    gradient = np.diff(g_faces, axis=1) / widths
    recomputed = g_avg.T @ wt  # S_j from the final distributions
    consistency = float(np.linalg.norm(recomputed - s) / max(scale, np.finfo(float).tiny))
    moment = hermitian_from_coefficients(recomputed, model.size)
    constants = [np.nan, np.nan]
    for wall, col in c_index.items():
        constants[wall] = float(cvals[col])
    return SlabShellSolution(shell, faces, g_avg, g_faces, gradient, moment, tau,
                             uniform.dos, tuple(constants), r, residual, consistency)


def _cell_factors(h, lam):
    """e^{-a} and (1 - e^{-a})/a for a = h/lam (lam = 0: a = inf, no transport)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = h / lam
        decay = np.exp(-a)
        phi = np.where(a > 1e-8, -np.expm1(-a) / a, 1.0 - a / 2)
    phi = np.where(np.isfinite(a), phi, 0.0)
    return decay, phi


def _sweep(q, g_in, up, widths, lam, tau):
    """Exact cell averages and face values of g for piecewise-constant sources q (P, J)."""
    npts, ncell = q.shape
    g_avg = np.zeros((npts, ncell))
    faces = np.zeros((npts, ncell + 1))
    for direction in (True, False):
        sel = np.nonzero(up == direction)[0]
        if sel.size == 0:
            continue
        order = np.arange(ncell) if direction else np.arange(ncell)[::-1]
        decay, phi = _cell_factors(widths[None, :], lam[sel, None])
        t = tau[sel]
        g = g_in[sel].copy()
        faces[sel, 0 if direction else ncell] = g
        for j in order:
            qt = q[sel, j] * t
            g_avg[sel, j] = qt + (g - qt) * phi[:, j]
            g = g * decay[:, j] + qt * (1 - decay[:, j])
            faces[sel, j + 1 if direction else j] = g
    return g_avg, faces
