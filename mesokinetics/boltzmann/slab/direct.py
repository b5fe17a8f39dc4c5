"""Direct solve of the slab Boltzmann equation (docs/theory.md §6): the map s -> S
assembled exactly as a dense (J N^2) x (J N^2) matrix and the bordered system (cell
equations, wall-flux rows, neutrality rows) solved directly, to rounding.
"""

from __future__ import annotations

import numpy as np

from .problem import SlabProblem, SlabShellSolution


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
