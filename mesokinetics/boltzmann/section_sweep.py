"""Transport sweeps on a cross-section (docs/theory.md §7; docs/cross_section.md "Method").

Per shell direction p, u_p . grad g + g / tau_p = q_p is solved cell by cell in upwind
order instead of by a sparse factorization: every cell needs only the values of its
upwind neighbours, so one direction costs a few flops per cell and no setup or factor
memory. Two discretizations:

* Tensor grids (``Rectangle``, FiPy ``Grid2D``, graded or not): a weighted diamond
  scheme, swept by index arithmetic. Cell average psi and edge averages obey the exact
  balance |u_a| (psi_R - psi_L) / dx + |u_b| (psi_T - psi_B) / dy + psi / tau = q and one
  closure per direction component,

      psi = (1 + alpha) / 2 psi_out + (1 - alpha) / 2 psi_in,
      alpha(eps) = coth(eps / 2) - 2 / eps,   eps = dx / (|u_a| tau)

  (the exponential weighting: exact in 1D for a constant source; alpha ~ eps / 6 on thin
  cells, so the scheme is the second-order diamond difference there, and alpha -> 1 on
  optically thick cells, the first-order upwind scheme, which is monotone). alpha = 1 in
  every cell is exactly the upwind finite-volume scheme of the SuperLU path.
* General meshes (Gmsh triangles, periodic strips with notches): linear discontinuous
  (LD) elements, g = a0 + a1 X + a2 Y per cell (X, Y from the centroid), the Galerkin
  equations tested with 1, X, Y and upwind traces on inflow faces, integrated exactly:
  one 3 x 3 system per cell and direction (:class:`LDTransport`; second order; docs/theory.md
  §7). ``scheme="upwind"`` keeps the first-order upwind finite volumes of the SuperLU path.
  Both are swept in a precomputed upwind order per direction (Kahn's topological sort of
  the cell graph by the sign of u.n on interior faces; acyclic for a constant velocity on
  convex cells).

Couplings that are not upwind-ordered are resolved by an inner Krylov solve on the few
values that carry them: the inflow of specular wall faces (fed by the mirror direction's
outflow, ``rho g_out,R(p)``) and the faces across the period of a periodic domain (cyclic
dependencies), swept with lagged values (for LD two per face: the end-point values of the
linear trace). The inner solve converges to 1e-14, so the
transport is exact to rounding as seen by the outer GMRES.

The kernels are compiled with numba (a dependency for this module: a Python loop over
cells is ~100x slower and the sweep has no vectorizable form over cells; the SuperLU path
``SectionProblem(..., transport="splu")`` needs only scipy).
"""

from __future__ import annotations

import numpy as np

import threading

_KERNELS = None
BLOCK = 8  # directions swept together on tensor grids
# numba's default threading layer (workqueue) must not be entered from two Python threads
# at once (threaded Dask workers): one sweep at a time per process
_LOCK = threading.Lock()


def _kernels():
    """Compile (once; cached on disk) and return the numba kernels."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    import numba as nb

    @nb.njit(parallel=True, cache=True)
    def grid_sweep(ux, uy, tau, dx, dy, alx, aly, q, mode, src, ct, sm, win, bl, br, bb, bt, g, gw,
                   grad, want_grad, perm, bstart):
        """Weighted diamond sweep; directions perm[bstart[k]:bstart[k+1]] share a
        quadrant and are swept together (independent recurrences: no latency chain)."""
        nx, ny = dx.shape[0], dy.shape[0]
        nn = ct.shape[1]
        nblock = bstart.shape[0] - 1
        for blk in nb.prange(nblock):
            p0 = bstart[blk]
            m = bstart[blk + 1] - p0
            ps = perm[p0:p0 + m]
            pos_x = ux[ps[0]] >= 0
            pos_y = uy[ps[0]] >= 0
            sx = 1.0 if pos_x else -1.0
            sy = 1.0 if pos_y else -1.0
            bx = np.empty((nx, m))
            ox = np.empty((nx, m))
            cx = np.empty((nx, m))
            by = np.empty((ny, m))
            oy = np.empty((ny, m))
            cy = np.empty((ny, m))
            rt = np.empty(m)
            for k in range(m):
                p = ps[k]
                rt[k] = 1.0 / tau[p]
                for i in range(nx):
                    bx[i, k] = 2.0 * abs(ux[p]) / (dx[i] * (1.0 + alx[p, i]))
                    ox[i, k] = 1.0 - alx[p, i]
                    cx[i, k] = 1.0 / (1.0 + alx[p, i])
                for j in range(ny):
                    by[j, k] = 2.0 * abs(uy[p]) / (dy[j] * (1.0 + aly[p, j]))
                    oy[j, k] = 1.0 - aly[p, j]
                    cy[j, k] = 1.0 / (1.0 + aly[p, j])
            edge = np.empty((nx, m))
            left = np.empty(m)
            for i in range(nx):
                for k in range(m):
                    edge[i, k] = win[ps[k], bb[i]] if pos_y else win[ps[k], bt[i]]
            for jj in range(ny):
                j = jj if pos_y else ny - 1 - jj
                row = nx * j
                for k in range(m):
                    left[k] = win[ps[k], bl[j]] if pos_x else win[ps[k], br[j]]
                for ii in range(nx):
                    i = ii if pos_x else nx - 1 - ii
                    c = row + i
                    for k in range(m):
                        p = ps[k]
                        lk = left[k]
                        ek = edge[i, k]
                        if mode == 1:
                            qv = q[p, c]
                        elif mode == 2:
                            qv = src[p]
                            for a in range(nn):
                                qv += ct[p, a] * sm[c, a]
                        else:
                            qv = 0.0
                        psi = (qv + bx[i, k] * lk + by[j, k] * ek) / (
                            rt[k] + bx[i, k] + by[j, k])
                        right = (2.0 * psi - ox[i, k] * lk) * cx[i, k]
                        top = (2.0 * psi - oy[j, k] * ek) * cy[j, k]
                        if want_grad:
                            grad[p, c, 0] = sx * (right - lk) / dx[i]
                            grad[p, c, 1] = sy * (top - ek) / dy[j]
                        g[p, c] = psi
                        left[k] = right
                        edge[i, k] = top
                for k in range(m):
                    p = ps[k]
                    if pos_x:
                        gw[p, br[j]] = left[k]
                        gw[p, bl[j]] = win[p, bl[j]]
                    else:
                        gw[p, bl[j]] = left[k]
                        gw[p, br[j]] = win[p, br[j]]
            for i in range(nx):
                for k in range(m):
                    p = ps[k]
                    if pos_y:
                        gw[p, bt[i]] = edge[i, k]
                        gw[p, bb[i]] = win[p, bb[i]]
                    else:
                        gw[p, bb[i]] = edge[i, k]
                        gw[p, bt[i]] = win[p, bt[i]]

    @nb.njit(parallel=True, cache=True)
    def upwind_order(ux, uy, ptr, fnx, fny, sign, kind, idx, order):
        """Kahn's sort per direction; returns the number of directions with a cycle."""
        npts = ux.shape[0]
        ncell = ptr.shape[0] - 1
        bad = np.zeros(npts, np.int64)
        for p in nb.prange(npts):
            indeg = np.zeros(ncell, np.int64)
            for j in range(ncell):
                for k in range(ptr[j], ptr[j + 1]):
                    if kind[k] == 0 and sign[k] * (fnx[k] * ux[p] + fny[k] * uy[p]) < 0:
                        indeg[j] += 1
            head = 0
            tail = 0
            for j in range(ncell):
                if indeg[j] == 0:
                    order[p, tail] = j
                    tail += 1
            while head < tail:
                j = order[p, head]
                head += 1
                for k in range(ptr[j], ptr[j + 1]):
                    if kind[k] == 0 and sign[k] * (fnx[k] * ux[p] + fny[k] * uy[p]) > 0:
                        nbr = idx[k]
                        indeg[nbr] -= 1
                        if indeg[nbr] == 0:
                            order[p, tail] = nbr
                            tail += 1
            if tail < ncell:
                bad[p] = 1
        return bad.sum()

    @nb.njit(parallel=True, cache=True)
    def mesh_sweep(ux, uy, tau, vol, ptr, fnx, fny, sign, kind, idx, order, q, mode, src, ct, sm,
                   win,
                   lag_in, g, gw, lag_out, grad, want_grad):
        npts = ux.shape[0]
        ncell = ptr.shape[0] - 1
        nn = ct.shape[1]
        for p in nb.prange(npts):
            rt = 1.0 / tau[p]
            for jj in range(ncell):
                j = order[p, jj]
                diag = vol[j] * rt
                if mode == 1:
                    rhs = vol[j] * q[p, j]
                elif mode == 2:
                    qv = src[p]
                    for a in range(nn):
                        qv += ct[p, a] * sm[j, a]
                    rhs = vol[j] * qv
                else:
                    rhs = 0.0
                for k in range(ptr[j], ptr[j + 1]):
                    f = sign[k] * (fnx[k] * ux[p] + fny[k] * uy[p])
                    if f > 0:
                        diag += f
                    elif f < 0:
                        if kind[k] == 0:
                            v = g[p, idx[k]]
                        elif kind[k] == 1:
                            v = win[p, idx[k]]
                        else:
                            v = lag_in[p, idx[k]]
                        rhs -= f * v
                gj = rhs / diag
                g[p, j] = gj
                gx = 0.0
                gy = 0.0
                for k in range(ptr[j], ptr[j + 1]):
                    f = sign[k] * (fnx[k] * ux[p] + fny[k] * uy[p])
                    if f >= 0:
                        v = gj
                        if kind[k] == 1:
                            gw[p, idx[k]] = gj
                        elif kind[k] == 2:
                            lag_out[p, idx[k]] = gj
                    elif kind[k] == 0:
                        v = g[p, idx[k]]
                    elif kind[k] == 1:
                        v = win[p, idx[k]]
                        gw[p, idx[k]] = v
                    else:
                        v = lag_in[p, idx[k]]
                    gx += sign[k] * fnx[k] * v
                    gy += sign[k] * fny[k] * v
                if want_grad:
                    grad[p, j, 0] = gx / vol[j]
                    grad[p, j, 1] = gy / vol[j]

    @nb.njit(parallel=True, cache=True)
    def ld_sweep(ux, uy, tau, vol, mom, ptr, fnx, fny, sign, kind, idx, twin, ends, emass,
                 order, q, mode, src, ct, sm, win, lag_in, g, gw, gwe, lag_out, grad,
                 want_grad):
        """Linear discontinuous sweep (docs/theory.md §7): per cell the 3 x 3 system of
        the Galerkin equations for g = a0 + a1 X + a2 Y (X, Y from the centroid) tested
        with 1, X, Y, upwind traces on inflow faces; a0 (the cell average) goes to g, the
        slopes stay in a per-direction scratch (directions are independent)."""
        npts = ux.shape[0]
        ncell = ptr.shape[0] - 1
        nn = ct.shape[1]
        for p in nb.prange(npts):
            slope = np.empty((ncell, 2))
            upx, upy = ux[p], uy[p]
            rt = 1.0 / tau[p]
            for jj in range(ncell):
                j = order[p, jj]
                v = vol[j]
                # sigma M - (streaming against grad v) (column 0 only: grad of 1, X, Y
                # is constant) + outflow face terms
                m00 = v * rt
                m01 = 0.0
                m02 = 0.0
                m11 = mom[j, 0] * rt
                m12 = mom[j, 1] * rt
                m22 = mom[j, 2] * rt
                m10 = -upx * v
                m20 = -upy * v
                if mode == 1:
                    qv = q[p, j]
                elif mode == 2:
                    qv = src[p]
                    for a in range(nn):
                        qv += ct[p, a] * sm[j, a]
                else:
                    qv = 0.0
                b0 = qv * v
                b1 = 0.0
                b2 = 0.0
                for k in range(ptr[j], ptr[j + 1]):
                    f = sign[k] * (fnx[k] * upx + fny[k] * upy)
                    if f > 0:
                        m00 += f * emass[k, 0]
                        m01 += f * emass[k, 1]
                        m02 += f * emass[k, 2]
                        m11 += f * emass[k, 3]
                        m12 += f * emass[k, 4]
                        m22 += f * emass[k, 5]
                    elif f < 0:
                        if kind[k] == 0:
                            nb_ = idx[k]
                            t = twin[k]
                            a0 = g[p, nb_]
                            v0 = a0 + slope[nb_, 0] * ends[t, 0] + slope[nb_, 1] * ends[t, 1]
                            v1 = a0 + slope[nb_, 0] * ends[t, 2] + slope[nb_, 1] * ends[t, 3]
                        elif kind[k] == 1:
                            v0 = win[p, idx[k], 0]
                            v1 = win[p, idx[k], 1]
                        else:
                            v0 = lag_in[p, idx[k], 0]
                            v1 = lag_in[p, idx[k], 1]
                        # exact edge integral of the linear inflow trace times 1, X, Y
                        w0 = f * (2.0 * v0 + v1) / 6.0
                        w1 = f * (v0 + 2.0 * v1) / 6.0
                        b0 -= w0 + w1
                        b1 -= w0 * ends[k, 0] + w1 * ends[k, 2]
                        b2 -= w0 * ends[k, 1] + w1 * ends[k, 3]
                m10 += m01
                m20 += m02
                m21 = m12
                # Cramer's rule (the matrix is positive definite in its symmetric part:
                # the upwind DG form, nonsingular for every cell thickness)
                c00 = m11 * m22 - m12 * m21
                c01 = m12 * m20 - m10 * m22
                c02 = m10 * m21 - m11 * m20
                det = m00 * c00 + m01 * c01 + m02 * c02
                a0 = (b0 * c00 + b1 * (m02 * m21 - m01 * m22) + b2 * (m01 * m12 - m02 * m11)) / det
                a1 = (b0 * c01 + b1 * (m00 * m22 - m02 * m20) + b2 * (m02 * m10 - m00 * m12)) / det
                a2 = (b0 * c02 + b1 * (m01 * m20 - m00 * m21) + b2 * (m00 * m11 - m01 * m10)) / det
                g[p, j] = a0
                slope[j, 0] = a1
                slope[j, 1] = a2
                gx = 0.0
                gy = 0.0
                for k in range(ptr[j], ptr[j + 1]):
                    f = sign[k] * (fnx[k] * upx + fny[k] * upy)
                    if f >= 0:  # own trace
                        v0 = a0 + a1 * ends[k, 0] + a2 * ends[k, 1]
                        v1 = a0 + a1 * ends[k, 2] + a2 * ends[k, 3]
                        if kind[k] == 1:
                            gwe[p, idx[k], 0] = v0
                            gwe[p, idx[k], 1] = v1
                            gw[p, idx[k]] = 0.5 * (v0 + v1)
                        elif kind[k] == 2:
                            lag_out[p, idx[k], 0] = v0
                            lag_out[p, idx[k], 1] = v1
                    elif kind[k] == 0:
                        nb_ = idx[k]
                        t = twin[k]
                        v0 = g[p, nb_] + slope[nb_, 0] * ends[t, 0] + slope[nb_, 1] * ends[t, 1]
                        v1 = g[p, nb_] + slope[nb_, 0] * ends[t, 2] + slope[nb_, 1] * ends[t, 3]
                    elif kind[k] == 1:
                        v0 = win[p, idx[k], 0]
                        v1 = win[p, idx[k], 1]
                        gwe[p, idx[k], 0] = v0
                        gwe[p, idx[k], 1] = v1
                        gw[p, idx[k]] = 0.5 * (v0 + v1)
                    else:
                        v0 = lag_in[p, idx[k], 0]
                        v1 = lag_in[p, idx[k], 1]
                    # gradient from the face-average upwind traces (telescopes)
                    vm = 0.5 * (v0 + v1)
                    gx += sign[k] * fnx[k] * vm
                    gy += sign[k] * fny[k] * vm
                if want_grad:
                    grad[p, j, 0] = gx / v
                    grad[p, j, 1] = gy / v

    _KERNELS = {"grid": grid_sweep, "order": upwind_order, "mesh": mesh_sweep, "ld": ld_sweep}
    return _KERNELS


def diamond_weight(eps: np.ndarray) -> np.ndarray:
    """alpha(eps) = coth(eps/2) - 2/eps (0 at eps = 0, 1 at eps = inf), elementwise."""
    eps = np.asarray(eps, float)
    out = np.ones_like(eps)
    small = eps < 1e-3
    mid = ~small & np.isfinite(eps)
    out[small] = eps[small] / 6 - eps[small] ** 3 / 360
    e = eps[mid]
    out[mid] = 1.0 / np.tanh(e / 2) - 2.0 / e
    return out


def tensor_grid(mesh):
    """(dx, dy, bl, br, bb, bt) if ``mesh`` is a tensor grid with cells numbered
    i + nx j (FiPy Grid2D) and walls on its four sides, else None. bl, br (ny,) and bb,
    bt (nx,) are the boundary indices (positions in mesh.boundary) of the side faces."""
    if mesh.period is not None:
        return None
    c = mesh.centers
    tol = 1e-9 * max(np.ptp(c[:, 0]), np.ptp(c[:, 1]), 1.0)
    n = mesh.normals
    if not np.all((np.abs(np.abs(n[:, 0]) - 1) < 1e-9) | (np.abs(np.abs(n[:, 1]) - 1) < 1e-9)):
        return None
    xf = mesh.face_centers[np.abs(n[:, 0]) > 0.5, 0]
    yf = mesh.face_centers[np.abs(n[:, 1]) > 0.5, 1]
    xs = xf[np.unique(np.round(xf / tol), return_index=True)[1]]
    ys = yf[np.unique(np.round(yf / tol), return_index=True)[1]]
    nx, ny = len(xs) - 1, len(ys) - 1
    if nx < 1 or ny < 1 or nx * ny != mesh.cells:
        return None
    dx, dy = np.diff(xs), np.diff(ys)
    i, j = np.arange(mesh.cells) % nx, np.arange(mesh.cells) // nx
    if (np.max(np.abs(c[:, 0] - (xs[i] + dx[i] / 2))) > 10 * tol
            or np.max(np.abs(c[:, 1] - (ys[j] + dy[j] / 2))) > 10 * tol
            or np.max(np.abs(mesh.volumes - dx[i] * dy[j])) > 1e-9 * mesh.volumes.max()):
        return None
    b = mesh.boundary
    cell = mesh.face_cells[b, 0]
    nb_ = n[b]
    sides = []
    for axis, sgn, count, along in ((0, -1, ny, j), (0, 1, ny, j), (1, -1, nx, i), (1, 1, nx, i)):
        sel = np.nonzero(np.abs(nb_[:, axis] - sgn) < 1e-9)[0]
        if len(sel) != count:
            return None
        pos = np.full(count, -1)
        pos[along[cell[sel]]] = sel
        if np.any(pos < 0):
            return None
        sides.append(pos.astype(np.int64))
    if sum(len(s) for s in sides) != len(b):
        return None
    return (dx, dy, *sides)


class SweepTransport:
    """Transport of all shell directions by sweeps, with the specular and periodic
    couplings resolved by an inner GMRES (module docstring).

    mesh : SectionMesh; u : (P, 2) in-plane velocities; tau : (P,)
    rho, feeder : (P, B) specular fraction of inflow wall faces and the direction whose
        outflow feeds them; scheme : 'auto' (weighted diamond on tensor grids, upwind
        otherwise) or 'upwind'. General meshes get :class:`LDTransport` from
        :func:`make_transport` (what SectionProblem calls); this class's own mesh path is
        the first-order upwind scheme.
    """

    def __init__(self, mesh, u, tau, f_b, rho, feeder, scheme: str = "auto",
                 inner_rtol: float = 1e-14, inner_maxiter: int = 400,
                 direct_limit: int = 4_000_000):
        if scheme not in ("auto", "upwind"):
            raise ValueError(f"scheme must be 'auto' or 'upwind', got {scheme!r}")
        self.k = _kernels()
        self.mesh = mesh
        self.ux = np.ascontiguousarray(u[:, 0], float)
        self.uy = np.ascontiguousarray(u[:, 1], float)
        self.tau = np.ascontiguousarray(tau, float)
        self.inflow = f_b < 0
        self.inner_rtol, self.inner_maxiter = inner_rtol, inner_maxiter
        # couplings: a factorized coupling matrix if it has at most direct_limit entries
        # (0: always the inner GMRES)
        self.direct_limit = direct_limit
        self.coupling_sweeps = 0
        npts, nb_ = f_b.shape
        # specular coupling: inflow faces with rho > 0, fed by feeder's outflow there
        sp_p, sp_b = np.nonzero(self.inflow & (rho > 0))
        self.spec = (sp_p, sp_b, feeder[sp_p, sp_b], rho[sp_p, sp_b])
        self.inner_iterations = []
        grid = tensor_grid(mesh)
        self.structured = grid is not None
        self.scheme = "diamond" if (grid is not None and scheme == "auto") else "upwind"
        if grid is not None:
            self.dx, self.dy, self.bl, self.br, self.bb, self.bt = grid
            if self.scheme == "diamond":
                with np.errstate(divide="ignore"):
                    self.alx = diamond_weight(self.dx[None, :] / (np.abs(self.ux)[:, None]
                                                                 * self.tau[:, None]))
                    self.aly = diamond_weight(self.dy[None, :] / (np.abs(self.uy)[:, None]
                                                                 * self.tau[:, None]))
            else:
                self.alx = np.ones((npts, len(self.dx)))
                self.aly = np.ones((npts, len(self.dy)))
            self.nlag = 0
            # blocks of up to BLOCK directions in one quadrant (swept together)
            quad = 2 * (self.ux >= 0) + (self.uy >= 0)
            self.perm = np.argsort(quad, kind="stable").astype(np.int64)
            starts = [0]
            qs = quad[self.perm]
            for k in range(1, len(qs) + 1):
                if k == len(qs) or qs[k] != qs[k - 1] or k - starts[-1] == BLOCK:
                    starts.append(k)
            self.bstart = np.array(starts, np.int64)
        else:
            self._build_mesh_graph(mesh)

    # ------------------------------------------------------------- general meshes ---
    def _build_mesh_graph(self, mesh):
        fc = mesh.face_cells
        nf = len(fc)
        bindex = np.full(nf, -1)
        bindex[mesh.boundary] = np.arange(len(mesh.boundary))
        lag = np.full(nf, -1)
        if mesh.period is not None:
            inner = mesh.interior
            raw = mesh.centers[fc[inner, 1]] - mesh.centers[fc[inner, 0]]
            # across the period: the second cell lies behind the face normal (or the
            # centre difference changes modulo the period)
            wrapped = (np.sum(raw * mesh.normals[inner], axis=1) < 0) | np.any(
                np.abs(raw - mesh.center_difference(inner)) > 1e-9 * max(
                    1.0, float(np.max(np.abs(mesh.period)))), axis=1)
            lag[inner[wrapped]] = np.arange(int(wrapped.sum()))
        self.nlag = int((lag >= 0).sum())
        an = mesh.areas[:, None] * mesh.normals
        # cell -> face incidence, twice for interior faces
        cells = np.concatenate([fc[:, 0], fc[mesh.interior, 1]])
        faces = np.concatenate([np.arange(nf), mesh.interior])
        sign = np.concatenate([np.ones(nf), -np.ones(len(mesh.interior))])
        other = np.concatenate([fc[:, 1], fc[mesh.interior, 0]])
        o = np.argsort(cells, kind="stable")
        cells, faces, sign, other = cells[o], faces[o], sign[o], other[o]
        kind = np.where(bindex[faces] >= 0, 1, np.where(lag[faces] >= 0, 2, 0))
        idx = np.where(kind == 1, bindex[faces], np.where(kind == 2, lag[faces], other))
        self.ptr = np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=mesh.cells))])
        self.fnx = np.ascontiguousarray(an[faces, 0])
        self.fny = np.ascontiguousarray(an[faces, 1])
        self.sign = sign.astype(float)
        self.kind = kind.astype(np.int64)
        self.idx = idx.astype(np.int64)
        self.vol = np.ascontiguousarray(mesh.volumes, float)
        self.order = np.empty((len(self.ux), mesh.cells), np.int32)
        with _LOCK:
            bad = self.k["order"](self.ux, self.uy, self.ptr, self.fnx, self.fny, self.sign,
                                  self.kind, self.idx, self.order)
        if bad:
            raise RuntimeError(
                f"{bad} shell directions have a cyclic upwind graph on this mesh (non-convex "
                "cells?); use SectionProblem(..., transport='splu')")

    # ------------------------------------------------------------------ sweeps ------
    def _sweep(self, q, win, lag_in, want_grad):
        """One sweep of all directions; q (P, J), None (no volume source) or a tuple
        (src (P,), ct (P, n), s (J, n)) for q = src + ct s computed in the kernel."""
        npts, ncell = len(self.ux), self.mesh.cells
        g = np.empty((npts, ncell))
        gw = np.zeros_like(win)
        grad = np.empty((npts, ncell, 2)) if want_grad else np.empty((1, 1, 2))
        dummy = np.zeros((1, 1))
        src, ct, sm = np.zeros(1), dummy, dummy
        if q is None:
            mode, q = 0, dummy
        elif isinstance(q, tuple):  # (src (P,), ct (P, n), s (J, n)): q = src + ct s, fused
            mode, (src, ct, sm), q = 2, (np.ascontiguousarray(a, float) for a in q), dummy
        else:
            mode = 1
            if not (q.flags.c_contiguous and q.dtype == np.float64):
                q = np.ascontiguousarray(q, float)
        with _LOCK:
            return self._run(q, mode, src, ct, sm, win, lag_in, g, gw, grad, want_grad)

    def _run(self, q, mode, src, ct, sm, win, lag_in, g, gw, grad, want_grad):
        npts = len(self.ux)
        if self.structured:
            self.k["grid"](self.ux, self.uy, self.tau, self.dx, self.dy, self.alx, self.aly,
                           q, mode, src, ct, sm, win, self.bl, self.br, self.bb, self.bt, g, gw,
                           grad,
                           want_grad, self.perm, self.bstart)
            lag_out = None
        else:
            lag_out = np.zeros((npts, max(self.nlag, 1)))
            if lag_in is None:
                lag_in = np.zeros_like(lag_out)
            self.k["mesh"](self.ux, self.uy, self.tau, self.vol, self.ptr, self.fnx, self.fny,
                           self.sign, self.kind, self.idx, self.order, q, mode, src, ct, sm,
                           win, lag_in,
                           g, gw, lag_out, grad, want_grad)
        return g, gw, lag_out, (grad if want_grad else None)

    @property
    def coupled(self) -> bool:
        return len(self.spec[0]) > 0 or self.nlag > 0

    def _pack(self, gw, lag_out):
        """Coupling values implied by one sweep: rho g_out,R(p) at specular inflow faces,
        the upwind values across the period."""
        p, b, feed, rho = self.spec
        parts = [rho * gw[feed, b]]
        if self.nlag:
            parts.append(lag_out.ravel())
        return np.concatenate(parts)

    def _unpack(self, x, base):
        p, b, _, _ = self.spec
        win = base.copy()
        n = len(p)
        win[p, b] += x[:n]
        lag = x[n:].reshape(len(self.ux), self.nlag) if self.nlag else None
        return win, lag

    def _coupling_matrix(self):
        """Factorized I - F of the coupling values (None if too large): F maps the coupling
        values (specular inflow rho g_out,R(p), lagged period values) to those one sweep
        without sources implies. F is read off one sweep per coupled slot (wall face or
        period face) with a unit inflow there for all directions at once (directions are
        independent within a sweep), so it costs (slots) sweeps once; each transport is
        then two sweeps and one sparse solve instead of an inner Krylov loop."""
        if getattr(self, "_direct", False) is not False:
            return self._direct
        import scipy.sparse as sp
        import scipy.sparse.linalg as sla

        npts = len(self.ux)
        sp_p, sp_b, feed, rho = self.spec
        nspec = len(sp_p)
        n = nspec + npts * self.nlag
        faces = np.unique(sp_b)
        # unknowns per direction, and the direction whose sweep produces each unknown
        spec_index = np.full((npts, self.inflow.shape[1]), -1)
        spec_index[sp_p, sp_b] = np.arange(nspec)
        per_dir = np.bincount(sp_p, minlength=npts) + self.nlag
        src = np.concatenate([feed, np.repeat(np.arange(npts), self.nlag)])
        nnz = int(per_dir[src].sum())
        self._direct = None
        if nnz > self.direct_limit:
            return None
        rows, cols, vals = [], [], []
        zero_b = np.zeros(self.inflow.shape)
        lag0 = np.zeros((npts, self.nlag)) if self.nlag else None
        for b in faces:
            win = zero_b.copy()
            win[:, b] = 1.0
            _, gw, lag_out, _ = self._sweep(None, win, lag0, False)
            y = self._pack(gw, lag_out)
            j = spec_index[src, b]  # the unknown (src direction, face b), or -1
            ok = (j >= 0) & (y != 0)
            rows.append(np.nonzero(ok)[0])
            cols.append(j[ok])
            vals.append(y[ok])
        for l_ in range(self.nlag):
            lag = np.zeros((npts, self.nlag))
            lag[:, l_] = 1.0
            _, gw, lag_out, _ = self._sweep(None, zero_b, lag, False)
            y = self._pack(gw, lag_out)
            j = nspec + src * self.nlag + l_
            ok = y != 0
            rows.append(np.nonzero(ok)[0])
            cols.append(j[ok])
            vals.append(y[ok])
        f = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
        self.coupling_sweeps = len(faces) + self.nlag
        self._direct = sla.splu((sp.identity(n, format="csc") - f).tocsc())
        return self._direct

    def solve(self, q, base, want_grad=False):
        """g (P, J), wall values (P, B) and optionally gradients (P, J, 2) for sources q
        (P, J; None: zero) and the diffuse part ``base`` (P, B) of the inflow values."""
        base = np.ascontiguousarray(base, float)
        if not self.coupled:
            g, gw, _, grad = self._sweep(q, base, None, want_grad)
            return g, gw, grad
        import scipy.sparse.linalg as sla

        zero_q = None
        zero_b = np.zeros_like(base)
        g, gw, lag_out, _ = self._sweep(q, base, None, False)
        rhs = self._pack(gw, lag_out)
        n = rhs.size

        def matvec(x):
            win, lag = self._unpack(x, zero_b)
            _, gw_, lag_, _ = self._sweep(zero_q, win, lag, False)
            return x - self._pack(gw_, lag_)

        count = [0]

        def cb(_):
            count[0] += 1

        norm = np.linalg.norm(rhs)
        direct = self._coupling_matrix() if self.direct_limit > 0 else None
        if norm == 0:
            x = rhs
        elif direct is not None:
            x = direct.solve(rhs)
        else:
            op = sla.LinearOperator((n, n), matvec=matvec, dtype=float)
            x, info = sla.gmres(op, rhs, rtol=0.0, atol=self.inner_rtol * norm, restart=50,
                                maxiter=-(-self.inner_maxiter // 50), callback=cb,
                                callback_type="pr_norm")
            if info != 0:
                res = np.linalg.norm(matvec(x) - rhs) / norm
                if res > 100 * self.inner_rtol:
                    raise RuntimeError(
                        f"inner wall/period coupling solve did not converge ({count[0]} "
                        f"sweeps, residual {res:.1e}); use transport='splu'")
        self.inner_iterations.append(count[0])
        win, lag = self._unpack(x, base)
        g, gw, _, grad = self._sweep(q, win, lag, want_grad)
        return g, gw, grad


def polygon_moments(points: np.ndarray, ref: np.ndarray):
    """Area, centroid and central second moments of the polygons whose edges are
    ``points`` (E, 2, 2) (counter-clockwise start and end of each edge, nm), grouped by the
    cell index ``ref[0]`` (E,), fanned from the reference points ``ref[1]`` (E, 2) (any
    point: signed triangle areas make the fan exact for every simple polygon).

    Returns V (J,), centroid (J, 2), (Ixx, Ixy, Iyy) (J, 3) = int (x - xc)^a (y - yc)^b dA
    (nm^2, nm, nm^4). Exact: on a triangle int x_i x_j = (A/12)(sum_v v_i v_j + s_i s_j),
    s the vertex sum."""
    cell, c = ref
    ncell = int(cell.max()) + 1
    a = points[:, 0] - c
    b = points[:, 1] - c
    area = 0.5 * (a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    vol = np.bincount(cell, area, ncell)
    cen = np.stack([np.bincount(cell, area * (a[:, i] + b[:, i]) / 3, ncell)
                    for i in range(2)], 1) / vol[:, None]  # relative to the fan points
    s = a + b
    second = []
    for i, k in ((0, 0), (0, 1), (1, 1)):
        m = area / 12 * (a[:, i] * a[:, k] + b[:, i] * b[:, k] + s[:, i] * s[:, k])
        second.append(np.bincount(cell, m, ncell))
    second = np.stack(second, 1)
    # parallel-axis shift to the centroid
    second[:, 0] -= vol * cen[:, 0] ** 2
    second[:, 1] -= vol * cen[:, 0] * cen[:, 1]
    second[:, 2] -= vol * cen[:, 1] ** 2
    return vol, cen, second


class LDTransport(SweepTransport):
    """Linear discontinuous (LD) transport on general meshes (docs/theory.md §7): the
    upwind-ordered sweeps of :class:`SweepTransport` with g linear in each cell (3 unknowns
    per cell and direction, solved cell by cell from a 3 x 3 system), second order in the
    cell size on triangles and on the quadrilaterals of periodic strips.

    Wall and period couplings carry the linear trace of a face by its values at the two
    face end points (end 0 = centre + (A/2) t, end 1 = centre - (A/2) t, t the face normal
    turned by +90 degrees), so a specular wall reflects the full linear outflow profile
    of the mirror direction and a period face passes the upwind cell's profile: the same
    discretization as one cell-connected mesh. Interface to section.py as the base class:
    g (P, J) cell averages, wall values (P, B) face averages of the traces, gradients (P,
    J, 2) = (1/V) sum_f A_f n_f <g_f> of the face-average upwind traces (telescoping, as
    for the other schemes), the diffuse inflow ``base`` (P, B) constant along each face.
    """

    def __init__(self, mesh, u, tau, f_b, rho, feeder, inner_rtol: float = 1e-14,
                 inner_maxiter: int = 400, direct_limit: int = 4_000_000):
        SweepTransport.__init__(self, mesh, u, tau, f_b, rho, feeder, "upwind", inner_rtol,
                                inner_maxiter, direct_limit)
        if self.structured:  # LD asked for on a tensor grid: build the mesh graph anyway
            self.structured = False
            self._build_mesh_graph(mesh)
        self.scheme = "ld"
        self._build_ld_geometry(mesh)

    def _build_ld_geometry(self, mesh):
        """Per incidence (cell, face) the end points relative to the cell centroid and the
        edge mass matrix (1/6)(2 e0 e0^T + e0 e1^T + e1 e0^T + 2 e1 e1^T) of phi = (1, X, Y)
        at the end points; per cell the centroid second moments; the twin incidence (the
        same face seen from the neighbour) of interior faces."""
        fc = mesh.face_cells
        nf = len(fc)
        inner = mesh.interior
        cells = np.concatenate([fc[:, 0], fc[inner, 1]])
        faces = np.concatenate([np.arange(nf), inner])
        sgn = np.concatenate([np.ones(nf), -np.ones(len(inner))])
        o = np.argsort(cells, kind="stable")  # the order of _build_mesh_graph
        cells, faces, sgn = cells[o], faces[o], sgn[o]
        # where each cell sees its face: on a periodic domain the image of the face centre
        # nearest to the cell centre (unambiguous while cells are smaller than half the
        # period, unlike the centre difference of two cells with 2 cells per period)
        shift = np.zeros((len(cells), 2))
        if mesh.period is not None:
            per = np.asarray(mesh.period, float)
            wrap = per > 0
            d = mesh.face_centers[faces] - mesh.centers[cells]
            shift[:, wrap] = -per[wrap] * np.round(d[:, wrap] / per[wrap])
        n = mesh.normals[faces]
        t = np.stack([-n[:, 1], n[:, 0]], 1)
        half = 0.5 * mesh.areas[faces, None] * t
        centre = mesh.face_centers[faces] + shift
        e0, e1 = centre + half, centre - half
        # counter-clockwise edges: e1 -> e0 seen from the first cell (outward normal n),
        # e0 -> e1 from the second
        first = sgn > 0
        start = np.where(first[:, None], e1, e0)
        end = np.where(first[:, None], e0, e1)
        vol, cen, second = polygon_moments(np.stack([start, end], 1),
                                           (cells, mesh.centers[cells]))
        cen = cen + mesh.centers
        if np.max(np.abs(vol - mesh.volumes)) > 1e-9 * np.max(mesh.volumes):
            raise ValueError("the faces of some cells do not close around them (LD sweep "
                             "needs straight faces that bound each cell)")
        x0, x1 = e0 - cen[cells], e1 - cen[cells]
        self.ends = np.ascontiguousarray(np.concatenate([x0, x1], 1))  # (K, 4)
        p0 = np.concatenate([np.ones((len(cells), 1)), x0], 1)
        p1 = np.concatenate([np.ones((len(cells), 1)), x1], 1)
        pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
        self.emass = np.ascontiguousarray(np.stack(
            [(2 * p0[:, i] * p0[:, k] + p0[:, i] * p1[:, k] + p1[:, i] * p0[:, k]
              + 2 * p1[:, i] * p1[:, k]) / 6 for i, k in pairs], 1))
        self.mom = np.ascontiguousarray(second)
        self.centroids = cen
        twin = np.full(len(cells), -1, np.int64)
        pos = np.full((nf, 2), -1, np.int64)
        pos[faces[first], 0] = np.nonzero(first)[0]
        pos[faces[~first], 1] = np.nonzero(~first)[0]
        twin[pos[inner, 0]] = pos[inner, 1]
        twin[pos[inner, 1]] = pos[inner, 0]
        self.twin = twin

    # ------------------------------------------------------------------ sweeps ------
    def _run(self, q, mode, src, ct, sm, win, lag_in, g, gw, grad, want_grad):
        """win (P, B, 2) inflow end-point values; returns (g, gw (P, B) face averages,
        lag_out (P, nlag, 2), grad) and keeps the outflow end points in self._gwe."""
        npts = len(self.ux)
        lag_out = np.zeros((npts, max(self.nlag, 1), 2))
        if lag_in is None:
            lag_in = np.zeros_like(lag_out)
        if win.ndim == 2:
            win = np.repeat(win[:, :, None], 2, axis=2)
        gw = np.zeros(win.shape[:2])
        gwe = np.zeros_like(win)
        self.k["ld"](self.ux, self.uy, self.tau, self.vol, self.mom, self.ptr, self.fnx,
                     self.fny, self.sign, self.kind, self.idx, self.twin, self.ends,
                     self.emass, self.order, q, mode, src, ct, sm,
                     np.ascontiguousarray(win), np.ascontiguousarray(lag_in), g, gw, gwe,
                     lag_out, grad, want_grad)
        self._gwe = gwe
        return g, gw, lag_out, (grad if want_grad else None)

    def _pack(self, gw, lag_out):
        """Coupling values of one sweep: rho g_out,R(p) at both end points of the specular
        inflow faces, the upwind end-point values across the period."""
        p, b, feed, rho = self.spec
        parts = [(rho[:, None] * self._gwe[feed, b]).ravel()]
        if self.nlag:
            parts.append(lag_out.ravel())
        return np.concatenate(parts)

    def _unpack(self, x, base):
        """(win (P, B, 2), lag (P, nlag, 2)) from coupling values x over the diffuse part
        ``base`` (P, B)."""
        p, b, _, _ = self.spec
        win = np.repeat(base[:, :, None], 2, axis=2)
        n = 2 * len(p)
        win[p, b] += x[:n].reshape(-1, 2)
        lag = x[n:].reshape(len(self.ux), self.nlag, 2) if self.nlag else None
        return win, lag

    def _coupling_matrix(self):
        """Factorized I - F over the coupling values (2 per specular inflow face and per
        period face and direction), read off one unit sweep per (face, end point)."""
        if getattr(self, "_direct", False) is not False:
            return self._direct
        import scipy.sparse as sp
        import scipy.sparse.linalg as sla

        npts = len(self.ux)
        sp_p, sp_b, feed, rho = self.spec
        nspec = len(sp_p)
        nb_ = self.inflow.shape[1]
        n = 2 * (nspec + npts * self.nlag)
        faces = np.unique(sp_b)
        spec_index = np.full((npts, nb_), -1)
        spec_index[sp_p, sp_b] = np.arange(nspec)
        per_dir = 2 * (np.bincount(sp_p, minlength=npts) + self.nlag)
        # the direction whose sweep produces each coupling value
        src = np.concatenate([np.repeat(feed, 2), np.repeat(np.arange(npts), 2 * self.nlag)])
        self._direct = None
        if int(per_dir[src].sum()) > self.direct_limit:
            return None
        rows, cols, vals = [], [], []
        zero_b = np.zeros((npts, nb_, 2))
        lag0 = np.zeros((npts, self.nlag, 2)) if self.nlag else None
        for b in faces:
            for e in range(2):
                win = zero_b.copy()
                win[:, b, e] = 1.0
                _, gw, lag_out, _ = self._sweep(None, win, lag0, False)
                y = self._pack(gw, lag_out)
                j = spec_index[src, b]
                j = np.where(j >= 0, 2 * j + e, -1)
                ok = (j >= 0) & (y != 0)
                rows.append(np.nonzero(ok)[0])
                cols.append(j[ok])
                vals.append(y[ok])
        for l_ in range(self.nlag):
            for e in range(2):
                lag = np.zeros((npts, self.nlag, 2))
                lag[:, l_, e] = 1.0
                _, gw, lag_out, _ = self._sweep(None, zero_b, lag, False)
                y = self._pack(gw, lag_out)
                j = 2 * nspec + (src * self.nlag + l_) * 2 + e
                ok = y != 0
                rows.append(np.nonzero(ok)[0])
                cols.append(j[ok])
                vals.append(y[ok])
        f = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
        self.coupling_sweeps = 2 * (len(faces) + self.nlag)
        self._direct = sla.splu((sp.identity(n, format="csc") - f).tocsc())
        return self._direct


def make_transport(mesh, u, tau, f_b, rho, feeder, scheme: str = "auto"):
    """The sweep transport for ``scheme``: 'auto' (weighted diamond on tensor grids,
    linear discontinuous on general meshes and periodic strips), 'upwind' (the first-order
    finite volumes of the SuperLU path everywhere) or 'ld' (linear discontinuous on any
    mesh, tensor grids included)."""
    if scheme not in ("auto", "upwind", "ld"):
        raise ValueError(f"scheme must be 'auto', 'upwind' or 'ld', got {scheme!r}")
    if scheme == "ld" or (scheme == "auto" and tensor_grid(mesh) is None):
        return LDTransport(mesh, u, tau, f_b, rho, feeder)
    return SweepTransport(mesh, u, tau, f_b, rho, feeder, scheme)
