"""Boltzmann equation on a 2D cross-section: phase space (cell) x (energy shell).

docs/theory.md §7 (the equations of §4 and §6 in two dimensions). The sample is translation invariant along
the field (the wire axis); each shell point p (band n, in-plane velocity u_p = (v_a, v_b)
in the cross-section plane) obeys

    u_p . grad g_p + g_p / tau_p = q_p,     q_p = e E.v_p + (gamma/w_n) Tr[P_n S_j],

with the shell moment S_j constant on each cell j (coefficients s_j in the real Hermitian
basis). It works on plain mesh data (:class:`SectionMesh`; :mod:`mesokinetics.samples`
builds it from FiPy and Gmsh meshes).

Transport (``transport="sweep"``, the default; :mod:`.section_sweep`): each direction is
swept cell by cell in upwind order (compiled with numba). Rectangles (tensor grids) use a
second-order weighted diamond scheme (exact cell balance with edge values, edge closure
weighted by alpha(optical thickness) = coth(eps/2) - 2/eps: the diamond difference on thin
cells, upwind on thick ones); general meshes and periodic strips second-order linear
discontinuous elements (g linear in each cell, 3 x 3 per cell and direction; docs/theory.md
§7), in a precomputed (topologically sorted) order per direction.
Inflow wall faces receive

    g_in,p = rho_p g_out,R(p) + (1 - rho_p) C_r,

R(p) the mirror state about the wall normal (walls with a nonzero specular fraction must
be normal to a cross-section axis, which makes the mirror map exact on a mirror-symmetric
shell grid), C_r one diffuse constant per wall region fixed by zero particle flux into it.
The specular couplings and the faces across a period are solved exactly by a small
factorized coupling system (or an inner GMRES when it is large).

``transport="splu"`` keeps the earlier path: first order, finite volumes, upwind;
integrating over cell j,

    sum_f A_f (u.n_f) g_f + V_j g_j / tau = V_j q_j,

with g_f the upwind cell value on interior faces and on outflow wall faces (the value
leaving the domain; a zero outflow flux here, FiPy's default, piles mass up at the wall).
Mirror maps join shell points into orbits (at most 4 on a rectangle); the sparse operator
of each orbit is assembled once and factorized once (scipy ``splu``; a single direction is
permuted to upwind order, where it is triangular and factorizes without fill-in). The
upwind sweeps (``scheme="upwind"``) solve this same discretization.

The outer problem is linear in the cell moments s. The diffuse constants are eliminated
exactly (one unit-emission solve per region), and s - K s = S_0 is solved by GMRES with a
right preconditioner of diffusion-synthetic-acceleration type,

    M^-1 = I + L^-1 K_0,   L s = (I - K_0) s + B^i d_i s - d_i (D^ij d_j s),

the gradient expansion of the *discrete* transport operator (K_0 the uniform kernel; B, D
moments of the shell) on the same mesh, factorized once. Consistency with the upwind
scheme matters once cells approach a mean free path: the B flux is upwinded per shell
point (the scheme's own diffusion (h/2)|u.n| d_nn, times alpha(h/(|u.n| tau)) for the
second-order schemes, weighted diamond and linear discontinuous), and the walls enter as the transport
sees them at leading order (g = tau q in the wall cell): the outgoing half-range flux of
the moments leaves the wall cell, the specular part returns through the mirror states,
the diffuse part returns as the region constants C_r, extra unknowns of L with one row
each (zero particle flux into the region). With zero-flux walls instead, L overestimates
the response of charge modes that vary along a diffuse wall (which re-emits one constant
per region and so locally absorbs them), and the outer count grew from 9 to 20 between 2
and 50 mean free paths; with these terms it is flat (8-9; docs/cross_section.md).
Charge neutrality (the zero mode) is imposed afterwards by adding the homogeneous solution.

Periodic domains (``SectionMesh.period``, the unit cells of patterned 2D strips): faces
across the period are ordinary interior faces; the sweeps lag them (coupling system
above); on the SuperLU path the single-direction operators are cyclic rather than
triangular and are factorized with COLAMD like the orbits.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from ..disorder import PointDisorder, hermitian_from_coefficients, shell_traces
from ..samples.mesh import SectionMesh
from ..sampling import Shell
from ..units import ELECTRON_CHARGE
from .blocks import BlockBasis, ComponentLayout, block_basis
from .neutrality import homogeneous_modes
from .uniform import ShellSolution
from .walls import mirror_operator, mirror_partners


@dataclass
class SectionShellSolution:
    """Solution on one shell in a cross-section.

    g : (P, J) cell values of g_p; g_wall : (P, B) values on the wall faces (outgoing
        value for outflow, re-emitted value for inflow)
    gradient : (P, J, 2) cell-average in-plane gradients (1/V) sum_f A_f g_f n_f of the
        discrete solution (exact for the discrete face values)
    moment : (J, N, N) shell moments S_j; wall_constants : {region: C} (diffuse regions)
    iterations : outer GMRES iterations; residual : relative GMRES residual
    consistency : |S(g) - s| / scale; charge : residual neutrality / scale
    solvability : conserved part of the source removed before the solve (shell
        quadrature error; the slab's border multiplier), relative to the scale of S
    """

    shell: Shell
    g: np.ndarray
    g_wall: np.ndarray
    gradient: np.ndarray
    moment: np.ndarray
    tau: np.ndarray
    dos: np.ndarray
    wall_constants: dict
    iterations: int
    residual: float
    consistency: float
    charge: float
    solvability: float = 0.0
    timings: dict = dc_field(default_factory=dict)
    #: matrix components of degenerate bands (docs/theory.md §12) and their cell values
    #: and gradients (Q, J) and (Q, J, 2); g, g_wall and gradient then hold Tr[r_n] / w_n
    blocks: BlockBasis | None = None
    block_g: np.ndarray | None = None
    block_gradient: np.ndarray | None = None


def _release_heap() -> None:
    """Return freed heap pages to the OS (glibc's malloc_trim; a no-op elsewhere). The
    setup's temporaries (unit solves, preconditioner assembly) are freed but stay mapped
    in glibc's heap otherwise: about 40 MB at 64 x 64 cells x 512 directions."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _orbits(npts: int, maps: list[np.ndarray]) -> list[np.ndarray]:
    """Connected components of the shell points under the mirror maps (union-find)."""
    parent = np.arange(npts)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for m in maps:
        for i, j in enumerate(m):
            a, b = find(i), find(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = np.array([find(i) for i in range(npts)])
    return [np.nonzero(roots == r)[0] for r in np.unique(roots)]


def upwind_entries(mesh: SectionMesh, f_int: np.ndarray, f_b: np.ndarray, tau: float):
    """COO entries (rows, cols, values) of the upwind operator of one direction,

        (A g)_j = sum_f A_f (u.n_f) g_upwind(f) + V_j g_j / tau   (inflow faces excluded),

    with face fluxes f_int = A_f u.n_f on interior faces (normal from the first cell to the
    second) and f_b on wall faces (outward normal). Outflow wall faces carry the cell
    value out of the domain; inflow faces go to the right-hand side."""
    ncell = mesh.cells
    c0, c1 = mesh.face_cells[mesh.interior, 0], mesh.face_cells[mesh.interior, 1]
    bcell = mesh.face_cells[mesh.boundary, 0]
    diag = mesh.volumes / tau
    diag = diag + np.bincount(c0, np.maximum(f_int, 0), ncell)
    diag = diag + np.bincount(c1, np.maximum(-f_int, 0), ncell)
    diag = diag + np.bincount(bcell, np.maximum(f_b, 0), ncell)
    pos = f_int > 0
    rows = np.concatenate([np.arange(ncell), np.where(pos, c1, c0)])
    cols = np.concatenate([np.arange(ncell), np.where(pos, c0, c1)])
    return rows, cols, np.concatenate([diag, -np.abs(f_int)])


def upwind_solve(mesh: SectionMesh, velocity, tau: float, source, inflow_value):
    """Solve u.grad g + g/tau = source on ``mesh`` for one in-plane velocity (2,) with
    g = inflow_value on inflow wall faces (the operator of :class:`SectionProblem`)."""
    u = np.asarray(velocity, float)
    f_int = mesh.areas[mesh.interior] * (mesh.normals[mesh.interior] @ u)
    f_b = mesh.areas[mesh.boundary] * (mesh.normals[mesh.boundary] @ u)
    r, c, v = upwind_entries(mesh, f_int, f_b, tau)
    a = sp.csc_matrix((v, (r, c)), shape=(mesh.cells, mesh.cells))
    rhs = np.broadcast_to(np.asarray(source, float), (mesh.cells,)) * mesh.volumes
    rhs = rhs + mesh.wall_to_cell @ np.where(f_b < 0, -f_b * inflow_value, 0.0)
    return sla.spsolve(a, rhs)


class SectionProblem:
    """Everything about one shell on one cross-section that does not depend on S.

    shell, disorder : the Fermi shell and the disorder; mesh : :class:`SectionMesh`;
    walls : one wall model per region (``mesh.region_names`` order); field : (d,) V/nm;
    uniform : the bulk :class:`~mesokinetics.boltzmann.uniform.ShellSolution` on this shell.
    transport : 'sweep' (default: upwind-ordered sweeps, :mod:`.section_sweep`) or 'splu'
        (the earlier per-orbit SuperLU factorizations of the upwind operator; first order)
    scheme : 'auto' (second order: weighted diamond sweeps on tensor grids, linear
        discontinuous elements on general meshes and periodic strips), 'upwind' (the
        SuperLU path's first-order discretization everywhere) or 'ld' (linear
        discontinuous everywhere); docs/theory.md §7
    """

    def __init__(self, shell: Shell, disorder: PointDisorder, mesh: SectionMesh, walls,
                 field: np.ndarray, uniform: ShellSolution, transport: str = "sweep",
                 scheme: str = "auto"):
        import time

        if transport not in ("sweep", "splu"):
            raise ValueError(f"transport must be 'sweep' or 'splu', got {transport!r}")

        t0 = time.perf_counter()
        self.shell, self.mesh, self.walls = shell, mesh, tuple(walls)
        self.dos = uniform.dos
        self.shell_tau = uniform.tau  # per shell point (the mean rate on degenerate bands)
        self.gamma = disorder.gamma
        axes = mesh.axes
        bnd = mesh.boundary
        bn = mesh.normals[bnd]
        self.bcell = mesh.face_cells[bnd, 0]
        self.bregion = mesh.region[bnd]
        # specular wall faces (region, faces, in-plane axis of their normal)
        specular = []
        for r, wall in enumerate(self.walls):
            sel = np.nonzero(self.bregion == r)[0]
            if sel.size == 0 or (not wall.fully_specular and np.all(wall.specularity(
                    np.abs(shell.k[:, list(axes)] @ bn[sel].T)) == 0)):
                continue
            for i in range(2):
                faces = sel[np.abs(np.abs(bn[sel, i]) - 1) < 1e-9]
                if faces.size:
                    specular.append((wall, faces, i))
            if not np.all(np.any(np.abs(np.abs(bn[sel]) - 1) < 1e-9, axis=1)):
                raise NotImplementedError(
                    f"wall region {mesh.region_names[r]!r} has a specular part but faces "
                    "that are not normal to a cross-section axis; specular reflection is "
                    "implemented for axis-aligned walls only (curved walls would need the "
                    "mirror state interpolated on the shell). Use a diffuse wall (p = 0).")
        partners = {i: mirror_partners(shell, axes[i]) for i in sorted({sp_[2] for sp_ in specular})}
        traces = shell_traces(shell)
        self.layout = None
        if uniform.blocks is not None:  # matrix distributions on degenerate bands (§12)
            model = shell.bands.model
            mirrors = [(partners[i], mirror_operator(model, axes[i])) for i in partners]
            blocks = block_basis(shell, uniform.dos, disorder.gamma, mirrors=mirrors or None,
                                 scalar=uniform.blocks.scalar)
            self.layout = ComponentLayout.build(shell, blocks, traces, uniform.tau, disorder.gamma)
        lay = self.layout
        if lay is None:
            point = np.arange(len(shell))
            self.traces, self.tau = traces, uniform.tau
            self.coupling = disorder.gamma / shell.multiplicity
            unit = None
        else:
            point, unit = lay.point, lay.unit
            self.traces, self.tau, self.coupling = lay.traces, lay.tau, lay.coupling
        # amplitudes of r = P_n per unknown (None: one scalar per point, all 1): what the
        # field drives, diffuse walls re-emit and neutrality shifts (docs/theory.md §12)
        self.unit = unit
        self.u = shell.velocity[point][:, list(axes)]  # (P, 2) in-plane velocity
        self.source = ELECTRON_CHARGE * (shell.velocity @ field)[point]
        w = shell.weight[point]
        self.weight = w
        self.wt = w[:, None] * self.traces
        self.ct = self.coupling[:, None] * self.traces
        if unit is None:
            self.flux_weight = w * shell.multiplicity  # particles: Tr[P_n] = w_n
            self.charge_weight = self.flux_weight  # neutrality inner product
        else:
            self.source = self.source * unit
            self.flux_weight = w * lay.number  # Tr[X_q]
            self.charge_weight = w * lay.norm  # Tr[X_q X_q]
        npts = len(point)
        self.npts = npts
        self._f_int = None  # (P, Fi) interior face fluxes: built on use (SuperLU path)
        self.f_b = mesh.areas[bnd] * (self.u @ mesh.normals[bnd].T)  # (P, B), outward
        inflow = self.f_b < 0
        # specular fractions of inflow wall faces, and the mirror partner feeding them
        self.rho = np.zeros_like(self.f_b)
        self.feeder = np.broadcast_to(np.arange(npts)[:, None], self.f_b.shape).copy()
        maps = []
        for wall, faces, i in specular:
            partner = partners[i] if lay is None else lay.partner(partners[i])
            maps.append(partner)
            kperp = np.abs(shell.k[point, axes[i]])
            self.rho[:, faces] = wall.specularity(kperp)[:, None]
            self.feeder[:, faces] = partner[:, None]
        self.rho = np.where(inflow, self.rho, 0.0)
        self.emit = np.where(inflow, -self.f_b * (1 - self.rho), 0.0)  # |A u.n| (1 - rho)
        if unit is not None:  # diffuse re-emission C P_n: the diagonal components
            self.emit = self.emit * unit[:, None]
        self.diffuse = tuple(r for r, wl in enumerate(self.walls) if not wl.fully_specular
                             and np.any(self.bregion == r))
        self.transport_kind = transport
        if transport == "splu":
            self.sweeper = None
            self.scheme = "upwind"
            self._factorize(_orbits(npts, maps))
        else:
            from .section_sweep import make_transport

            self.sweeper = make_transport(mesh, self.u, self.tau, self.f_b, self.rho,
                                          self.feeder, scheme)
            self.scheme = self.sweeper.scheme
        # conserved densities fixed by neutrality (as in the slab)
        if self.diffuse:  # the conserved charge: r = P_n everywhere
            mode = np.ones(npts) if unit is None else unit
            self.modes, self.g0 = ((w * mode) @ self.traces)[None, :], mode[:, None].copy()
        else:
            self.modes, self.g0 = homogeneous_modes(self.traces, w, self.tau, self.coupling)
        self.scale = max(np.sqrt(mesh.area) * np.linalg.norm(
            (w * np.abs(self.source) * self.tau) @ np.abs(self.traces)), np.finfo(float).tiny)
        self.timings = {"setup": time.perf_counter() - t0}

    def volume_source(self, s: np.ndarray | None, with_source: bool):
        """The source q = e E.v + c T.s of the transport for cell moments s (J, N^2) (None:
        0): an array (P, J) on the SuperLU path, (src, ct, s) for the sweeps, which form q
        cell by cell (no (P, J) array)."""
        npts, ncell = self.npts, self.mesh.cells
        if self.sweeper is not None:
            src = self.source if with_source else np.zeros(npts)
            if s is None:
                return (src, np.zeros((npts, 0)), np.zeros((ncell, 0))) if with_source else None
            return (src, self.ct, np.asarray(s, float))
        q = np.zeros((npts, ncell)) if s is None else self.ct @ s.T
        if with_source:
            q += self.source[:, None]
        return q

    @property
    def zero_source(self):
        """A zero source: None for the sweeps, zeros (P, J) for the SuperLU path."""
        if self.sweeper is not None:
            return None
        return np.zeros((self.npts, self.mesh.cells))

    @property
    def f_int(self) -> np.ndarray:
        """Interior face fluxes A_f u.n_f (P, Fi) (normal from the first cell)."""
        if self._f_int is None:
            inner = self.mesh.interior
            self._f_int = self.mesh.areas[inner] * (self.u @ self.mesh.normals[inner].T)
        return self._f_int

    # ---------------------------------------------------------------- assembly -------
    def _factorize(self, orbits):
        mesh, ncell = self.mesh, self.mesh.cells
        self.orbits, self.lus, self.perms = [], [], []
        for orbit in orbits:
            rows, cols, vals = [], [], []
            index = {int(p): m for m, p in enumerate(orbit)}
            for m, p in enumerate(orbit):
                off = m * ncell
                r_, c_, v_ = upwind_entries(mesh, self.f_int[p], self.f_b[p], self.tau[p])
                rows.append(r_ + off)
                cols.append(c_ + off)
                vals.append(v_)
                fb = self.f_b[p]
                spec = np.nonzero(self.rho[p] > 0)[0]
                if spec.size:
                    feed = np.array([index[int(q)] for q in self.feeder[p, spec]])
                    rows.append(self.bcell[spec] + off)
                    cols.append(self.bcell[spec] + feed * ncell)
                    vals.append(fb[spec] * self.rho[p, spec])
            n = len(orbit) * ncell
            a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                              shape=(n, n))
            if len(orbit) == 1 and mesh.period is None:
                # upwind order: the operator of one direction is triangular there
                perm = np.argsort(mesh.centers @ self.u[orbit[0]], kind="stable")
                lu = sla.splu(a[perm][:, perm].tocsc(), permc_spec="NATURAL")
            else:
                perm = None
                lu = sla.splu(a, permc_spec="COLAMD")
            self.orbits.append(orbit)
            self.lus.append(lu)
            self.perms.append(perm)

    # ---------------------------------------------------------------- transport ------
    def solve_transport(self, q, constants: np.ndarray | None = None,
                        want_gradient: bool = False):
        """(g (P, J), wall values (P, B), gradients (P, J, 2) or None) for sources q (P, J)
        (or :meth:`volume_source`'s form) and diffuse constants per region (None: zero)."""
        if self.sweeper is None:
            if q is None:
                q = self.zero_source
            elif isinstance(q, tuple):
                src, ct, s = q
                q = src[:, None] + ct @ s.T
            g = self.transport(q, constants)
            g_wall = self.wall_values(g, constants)
            return g, g_wall, (self.gradient(g, g_wall) if want_gradient else None)
        inflow = self.f_b < 0
        if constants is not None and np.any(constants):
            base = np.where(inflow, (1 - self.rho) * constants[self.bregion], 0.0)
            if self.unit is not None:
                base = base * self.unit[:, None]
        else:
            base = np.zeros_like(self.f_b)
        return self.sweeper.solve(q, base, want_gradient)

    def transport(self, q: np.ndarray, constants: np.ndarray | None = None) -> np.ndarray:
        """Cell values g (P, J) for sources q (P, J) and diffuse constants per region."""
        if self.sweeper is not None:
            return self.solve_transport(q, constants)[0]
        mesh = self.mesh
        rhs = q * mesh.volumes[None, :]
        if constants is not None and np.any(constants):
            rhs = rhs + (mesh.wall_to_cell @ (self.emit * constants[self.bregion]).T).T
        g = np.empty_like(rhs)
        for orbit, lu, perm in zip(self.orbits, self.lus, self.perms):
            if perm is None:
                g[orbit] = lu.solve(rhs[orbit].ravel()).reshape(len(orbit), -1)
            else:
                x = np.empty(mesh.cells)
                x[perm] = lu.solve(rhs[orbit[0], perm])
                g[orbit[0]] = x
        return g

    def wall_values(self, g: np.ndarray, constants: np.ndarray | None = None) -> np.ndarray:
        """g on the wall faces (P, B) of the upwind scheme (SuperLU path): outgoing cell
        value, or the re-emitted value."""
        cell = g[:, self.bcell]
        fed = cell[self.feeder, np.arange(cell.shape[1])[None, :]]
        emitted = self.rho * fed
        if constants is not None:
            diffuse = (1 - self.rho) * constants[self.bregion]
            emitted = emitted + (diffuse if self.unit is None else diffuse * self.unit[:, None])
        return np.where(self.f_b < 0, emitted, cell)

    def wall_flux(self, g_wall: np.ndarray) -> np.ndarray:
        """Particle flux into each wall region (R,): sum_p w w_n A u.n g."""
        per_face = self.flux_weight @ (self.f_b * g_wall)
        return np.bincount(self.bregion, per_face, len(self.walls))

    def moments(self, g: np.ndarray) -> np.ndarray:
        """S_j coefficients (J, N^2) from cell values g (P, J)."""
        return (self.wt.T @ g).T  # (not g.T @ wt: BLAS would copy g)

    def charges(self, g: np.ndarray) -> np.ndarray:
        """Conserved densities sum_j V_j sum_p w w_n g0_p g_pj, (r,)."""
        return ((self.charge_weight[:, None] * self.g0).T @ g) @ self.mesh.volumes

    def gradient(self, g: np.ndarray, g_wall: np.ndarray) -> np.ndarray:
        """Cell-average in-plane gradients (P, J, 2) of the upwind solution (SuperLU path;
        the sweeps return their own)."""
        mesh = self.mesh
        inner, bnd = mesh.interior, mesh.boundary
        c0, c1 = mesh.face_cells[inner, 0], mesh.face_cells[inner, 1]
        g_face = np.where(self.f_int > 0, g[:, c0], g[:, c1])  # upwind values
        out = np.zeros(g.shape + (2,))
        for i in range(2):
            an = mesh.areas[inner] * mesh.normals[inner, i]
            bn = mesh.areas[bnd] * mesh.normals[bnd, i]
            div = sp.csr_matrix(
                (np.concatenate([an, -an, bn]),
                 (np.concatenate([np.arange(len(inner))] * 2 + [len(inner) + np.arange(len(bnd))]),
                  np.concatenate([c0, c1, self.bcell]))),
                shape=(len(inner) + len(bnd), mesh.cells))
            out[..., i] = (np.concatenate([g_face, g_wall], axis=1) @ div) / mesh.volumes
        return out


class SectionSolver:
    """Outer solve of one :class:`SectionProblem`: diffuse constants eliminated exactly,
    GMRES on the cell moments with the diffusion preconditioner.

    numerical_diffusion, wall_terms : build the preconditioner's L consistent with the
        upwind scheme and with the walls (default); False, False gives the earlier
        zero-flux-wall operator (for studies; same solution, more iterations at large
        sizes)
    """

    def __init__(self, prob: SectionProblem, numerical_diffusion: bool = True,
                 wall_terms: bool = True):
        self.prob = prob
        self.wall_terms = wall_terms
        self.numerical_diffusion = numerical_diffusion
        nd = len(prob.diffuse)
        nregion = len(prob.walls)
        self.unit_s, self.unit_charge = [], []
        fc = np.zeros((nd, nd))
        for col, r in enumerate(prob.diffuse):
            c = np.zeros(nregion)
            c[r] = 1.0
            g, g_wall, _ = prob.solve_transport(prob.zero_source, c)
            fc[:, col] = prob.wall_flux(g_wall)[list(prob.diffuse)]
            self.unit_s.append(prob.moments(g))
            del g
        self.flux_matrix = fc
        self._build_preconditioner()
        _release_heap()

    def constants(self, g_wall: np.ndarray) -> np.ndarray:
        """Diffuse constants (per region, 0 for specular ones) that cancel the wall flux
        of the zero-emission solution with wall values g_wall (P, B)."""
        prob = self.prob
        c = np.zeros(len(prob.walls))
        if prob.diffuse:
            flux = prob.wall_flux(g_wall)[list(prob.diffuse)]
            c[list(prob.diffuse)] = -np.linalg.solve(self.flux_matrix, flux)
        return c

    def apply(self, s: np.ndarray | None, with_source: bool) -> np.ndarray:
        """S(s) (J, N^2) with the diffuse constants adjusted to zero wall flux."""
        prob = self.prob
        q = prob.volume_source(s, with_source)
        g, g_wall, _ = prob.solve_transport(q)
        del q
        c = self.constants(g_wall)
        out = prob.moments(g)
        for col, r in enumerate(prob.diffuse):
            out = out + c[r] * self.unit_s[col]
        return out

    # --------------------------------------------------------------- preconditioner --
    def _build_preconditioner(self):
        """Factorize the bordered FV diffusion operator L (see the module docstring)."""
        prob, mesh = self.prob, self.prob.mesh
        t, w, c, u = prob.traces, prob.weight, prob.coupling, prob.u
        tau = prob.tau
        nn, ncell = t.shape[1], mesh.cells
        self.k0 = t.T @ (t * (w * tau * c)[:, None])
        bvec = np.einsum("p,pi,pa,pb->iab", w * tau**2 * c, u, t, t)
        dten = np.einsum("p,pi,pj,pa,pb->ijab", w * tau**3 * c, u, u, t, t)
        inner = mesh.interior
        c0, c1 = mesh.face_cells[inner, 0], mesh.face_cells[inner, 1]
        n = mesh.normals[inner]
        dist = np.abs(np.sum(mesh.center_difference(inner) * n, axis=1))
        area = mesh.areas[inner]
        dnn = np.einsum("fi,fj,ijab->fab", n, n, dten) * (area / dist)[:, None, None]
        if self.numerical_diffusion:
            # the upwind scheme's own diffusion, (h/2)|u.n| d_nn per face: with it L is
            # the gradient expansion of the *discrete* transport operator
            # (for the second-order schemes, weighted diamond and LD, alpha(h / (|u.n| tau))
            # times that: alpha ~ eps / 6 on thin cells, 1 on thick ones; LD without it
            # needs 16-24 outer iterations at 200-1000 l instead of 5-7; docs/theory.md §7)
            wk = (w * tau**2 * c)[:, None] * np.einsum("pa,pb->pab", t, t).reshape(len(w), -1)
            num = np.empty((len(inner), nn * nn))
            chunk = max(1, 2**18 // max(len(w), 1))  # faces per block: 2 MB of |u.n|
            for f0 in range(0, len(inner), chunk):
                un = np.abs(u @ n[f0:f0 + chunk].T)  # (P, chunk)
                if prob.scheme in ("diamond", "ld"):
                    from .section_sweep import diamond_weight

                    with np.errstate(divide="ignore"):
                        un = un * diamond_weight(dist[None, f0:f0 + chunk] / (un * tau[:, None]))
                num[f0:f0 + chunk] = un.T @ wk
            dnn = dnn + (0.5 * area)[:, None, None] * num.reshape(-1, nn, nn)
        bn = np.einsum("fi,iab->fab", n, bvec) * (0.5 * area)[:, None, None]
        eye_k = np.eye(nn) - self.k0
        blocks_r, blocks_c, blocks_v = [], [], []

        def add(rc, cc, v):  # blocks v (F, nn, nn) at cell pairs (rc, cc)
            ia, ib = np.meshgrid(np.arange(nn), np.arange(nn), indexing="ij")
            blocks_r.append((rc[:, None, None] * nn + ia[None]).ravel().astype(np.int32))
            blocks_c.append((cc[:, None, None] * nn + ib[None]).ravel().astype(np.int32))
            blocks_v.append(v.ravel())

        cells = np.arange(ncell)
        add(cells, cells, mesh.volumes[:, None, None] * eye_k[None])
        add(c0, c0, dnn + bn)
        add(c0, c1, -dnn + bn)
        add(c1, c1, dnn - bn)
        add(c1, c0, -dnn - bn)
        size = ncell * nn
        nd = len(prob.diffuse) if self.wall_terms else 0
        if self.wall_terms:
            # walls as the discrete transport sees them, at leading order (g = tau q in
            # the wall cell): the outgoing half-range flux of the tau q moments leaves the
            # cell, the specular part comes back through the mirror states, the diffuse
            # part comes back as the region constant C_r (extra unknowns, one row each:
            # zero particle flux into the region). Zero-flux walls instead overestimate
            # the response of charge modes that vary along a diffuse wall (that wall
            # re-emits one constant per region, so locally it absorbs them).
            fb, rho, feed = prob.f_b, prob.rho, prob.feeder
            bcell = prob.bcell
            wct = np.einsum("pb,pa->pba", prob.wt, prob.ct).reshape(len(w), -1)
            out = np.maximum(fb, 0.0)
            loss = ((out * tau[:, None] ** 2).T @ wct).reshape(-1, nn, nn)
            inflow = fb < 0
            spec = np.where(inflow, -fb * rho, 0.0) * tau[:, None]  # (P, B)
            ct_fed = prob.ct[feed] * tau[feed][..., None]  # (P, B, nn)
            gain = np.einsum("pf,pb,pfa->fba", spec, prob.wt, ct_fed)
            add(bcell, bcell, loss - gain)
            emit = (prob.emit * tau[:, None]).T @ prob.wt  # (B, nn) per unit C
            fw = prob.flux_weight
            row_s = (out * tau[:, None] * fw[:, None]).T @ prob.ct - np.einsum(
                "pf,pfa->fa", np.where(inflow, -fb * rho, 0.0) * fw[:, None], ct_fed)
            row_c = -(fw @ prob.emit)  # (B,)
            for k, reg in enumerate(prob.diffuse):
                sel = np.nonzero(prob.bregion == reg)[0]
                rows_ = (bcell[sel, None] * nn + np.arange(nn)[None, :]).ravel()
                # column C_k in the cell rows; row k: flux into region k
                blocks_r.append(rows_)
                blocks_c.append(np.full(rows_.size, size + k))
                blocks_v.append(-emit[sel].ravel())
                scale = 1.0 / max(np.abs(row_c[sel]).sum(), 1e-300)
                blocks_r.append(np.full(rows_.size + 1, size + k))
                blocks_c.append(np.concatenate([rows_, [size + k]]))
                blocks_v.append(np.concatenate([row_s[sel].ravel(), [row_c[sel].sum()]]) * scale)
            z = np.linalg.qr(prob.modes.T)[0]
        else:
            z = np.linalg.qr(homogeneous_modes(t, w, tau, c)[0].T)[0]  # (nn, r) null of I - K0
        r = z.shape[1]
        if r:  # border by the conserved densities (rows and columns size + nd + k)
            bv = (np.kron(mesh.volumes[:, None], z) / np.sqrt(mesh.area))  # (size, r)
            cell_rows = np.arange(size, dtype=np.int32)
            for k in range(r):
                blocks_r += [cell_rows, np.full(size, size + nd + k, np.int32)]
                blocks_c += [np.full(size, size + nd + k, np.int32), cell_rows]
                blocks_v += [bv[:, k], bv[:, k]]
        n_all = size + nd + r
        lv = sp.coo_matrix((np.concatenate(blocks_v), (np.concatenate(blocks_r),
                                                       np.concatenate(blocks_c))),
                           shape=(n_all, n_all))
        for blocks in (blocks_r, blocks_c, blocks_v):
            blocks.clear()  # free the COO parts before the factorization
        lv = lv.tocsc()
        self.precond_size = size
        # minimum degree on A^T + A: 2.6x fewer factor entries than COLAMD here
        self.precond = sla.splu(lv, permc_spec="MMD_AT_PLUS_A")

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """M^-1 r = r + L^-1 K0 r for residual coefficients r (J * N^2,)."""
        mesh = self.prob.mesh
        nn = self.k0.shape[0]
        kr = (r.reshape(mesh.cells, nn) @ self.k0.T) * mesh.volumes[:, None]
        rhs = np.zeros(self.precond.shape[0])
        rhs[: self.precond_size] = kr.ravel()
        return r + self.precond.solve(rhs)[: self.precond_size]

    # --------------------------------------------------------------------- solve ----
    def solve(self, rtol: float = 1e-10, maxiter: int = 200, precondition: bool = True,
              restart: int = 60) -> SectionShellSolution:
        import time

        prob = self.prob
        t0 = time.perf_counter()
        ncell, nn = prob.mesh.cells, prob.traces.shape[1]
        size = ncell * nn
        b = self.apply(None, True).ravel()
        # solvability: the conserved densities (left null vectors V_j z_r of s - K s) of
        # the source vanish up to the shell quadrature; project that part out of b and
        # report it (the slab's border multiplier), so GMRES sees a consistent system
        zt = np.tile(prob.modes, (1, ncell))  # (r, J N^2): homogeneous directions
        lt = zt * np.repeat(prob.mesh.volumes, nn)[None, :]
        lam = np.linalg.solve(lt @ zt.T, lt @ b)
        b = b - lam @ zt
        solvability = float(np.linalg.norm(lam @ zt))
        count = [0]
        m_inv = self.precondition if precondition else (lambda x: x)

        def matvec(y):
            x = m_inv(y)
            return x - self.apply(x.reshape(ncell, nn), False).ravel()

        def cb(_):
            count[0] += 1

        op = sla.LinearOperator((size, size), matvec=matvec, dtype=float)
        # tolerance relative to the moments the field alone would produce without
        # cancellations (S_0 itself vanishes by symmetry in many models)
        ref = np.sqrt(ncell) * np.linalg.norm(
            (prob.weight * np.abs(prob.source) * prob.tau) @ np.abs(prob.traces))
        ref = max(ref, np.linalg.norm(b), np.finfo(float).tiny)
        self.reference = ref
        self.solvability = solvability / ref
        if np.linalg.norm(b) <= rtol * ref:
            s, res = np.zeros(size), float(np.linalg.norm(b) / ref)
        else:
            y, info = sla.gmres(op, b, rtol=0.0, atol=rtol * ref, restart=restart,
                                maxiter=-(-maxiter // restart), callback=cb,
                                callback_type="pr_norm")
            s = m_inv(y)
            res = float(np.linalg.norm(s - self.apply(s.reshape(ncell, nn), False).ravel() - b)
                        / ref)
            if info != 0 and res > 100 * rtol:
                raise RuntimeError(
                    f"outer GMRES did not converge ({count[0]} iterations, relative residual "
                    f"{res:.2e}); raise maxiter or refine the shell/mesh")
        t1 = time.perf_counter()
        s = s.reshape(ncell, nn)
        return self.finish(s, count[0], res, {"krylov": t1 - t0, **prob.timings})

    def finish(self, s, iterations, residual, timings) -> SectionShellSolution:
        prob = self.prob
        q = prob.volume_source(s, True)
        g_wall = prob.solve_transport(q)[1]
        c = self.constants(g_wall)
        g, g_wall, grad = prob.solve_transport(q, c, want_gradient=True)
        del q
        # neutrality: add the homogeneous solutions g0 (constant in space; C shifts with it)
        ch = prob.charges(g)
        vol = prob.mesh.volumes.sum()
        gram = (prob.charge_weight[:, None] * prob.g0).T @ prob.g0 * vol
        shift = -np.linalg.solve(gram, ch)
        g += (prob.g0 @ shift)[:, None]  # a constant: the gradients do not change
        g_wall = g_wall + (prob.g0 @ shift)[:, None]
        s = s + shift @ prob.modes
        if prob.diffuse:
            c[list(prob.diffuse)] += shift[0]
        recomputed = prob.moments(g)
        consistency = float(np.linalg.norm(recomputed - s) / self.reference)
        size = sum(float(np.abs(prob.flux_weight[k:k + 64]) @ np.abs(g[k:k + 64])
                         @ prob.mesh.volumes) for k in range(0, len(g), 64))
        charge = float(np.max(np.abs(prob.charges(g))) / (size + 1e-300))
        n = prob.shell.bands.model.size
        constants = {prob.mesh.region_names[r]: float(c[r]) for r in prob.diffuse}
        moment = hermitian_from_coefficients(recomputed, n)
        lay = prob.layout
        if lay is None:
            return SectionShellSolution(
                prob.shell, g, g_wall, grad, moment, prob.tau, prob.dos, constants,
                iterations, residual, consistency, charge, self.solvability, timings)
        mult = prob.shell.multiplicity
        ns = len(lay.scalar)
        return SectionShellSolution(
            prob.shell, lay.per_point(g, mult), lay.per_point(g_wall, mult),
            lay.per_point(grad, mult), moment, prob.shell_tau, prob.dos, constants,
            iterations, residual, consistency, charge, self.solvability, timings,
            blocks=lay.blocks, block_g=g[ns:], block_gradient=grad[ns:])


def solve_section_shell(shell: Shell, disorder: PointDisorder, mesh: SectionMesh, walls,
                        field: np.ndarray, uniform: ShellSolution, rtol: float = 1e-10,
                        maxiter: int = 200, precondition: bool = True) -> SectionShellSolution:
    """Solve the cross-section Boltzmann equation on one nonempty shell."""
    prob = SectionProblem(shell, disorder, mesh, walls, field, uniform)
    return SectionSolver(prob).solve(rtol=rtol, maxiter=maxiter, precondition=precondition)
