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
* General meshes (Gmsh triangles, periodic strips with notches): the first-order upwind
  finite-volume scheme of the SuperLU path, swept in a precomputed upwind order per
  direction (Kahn's topological sort of the cell graph by the sign of u.n on interior
  faces; acyclic for a constant velocity on convex cells).

Couplings that are not upwind-ordered are resolved by an inner Krylov solve on the few
values that carry them: the inflow of specular wall faces (fed by the mirror direction's
outflow, ``rho g_out,R(p)``) and the faces across the period of a periodic domain (cyclic
dependencies), swept with lagged values. The inner solve converges to 1e-14, so the
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

    _KERNELS = {"grid": grid_sweep, "order": upwind_order, "mesh": mesh_sweep}
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
        otherwise) or 'upwind'
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
