"""One shell in one slab: everything about the slab Boltzmann equation that does not
depend on the moments S (docs/theory.md §6): cell factors of the exact step along
characteristics, wall loops of mirror pairs, diffuse wall constants, neutrality modes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...disorder import hermitian_from_coefficients, shell_traces
from ...samples import Fuchs
from ...sampling import Shell
from ...units import ELECTRON_CHARGE
from ..blocks import BlockBasis, ComponentLayout, block_basis
from ..neutrality import homogeneous_modes
from ..walls import mirror_operator, mirror_partners


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
    #: matrix components of degenerate bands (docs/theory.md §12) and their cell averages
    #: and gradients (Q, J); g and gradient then hold Tr[r_n] / w_n per point
    blocks: BlockBasis | None = None
    block_g: np.ndarray | None = None
    block_gradient: np.ndarray | None = None

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.faces[1:] + self.faces[:-1])


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
    #: matrix components of degenerate bands (docs/theory.md §12): when given, every array
    #: above runs over components q instead of shell points, and ``components`` holds
    #: their shell weight w_q, inner-product weight Tr[X_q X_q], particle number Tr[X_q]
    #: and the simple-band points that come first
    blocks: BlockBasis | None = None
    components: dict | None = None

    def __post_init__(self):
        self.widths = np.diff(self.faces)
        self.up = self.velocity_normal > 0
        self.start = np.where(self.up, 0, 1)
        self.lam = np.abs(self.velocity_normal) * self.tau
        if self.components is None:
            w = self.shell.weight
            norm = number = self.shell.multiplicity
        else:
            w, norm, number = (self.components[k] for k in ("weight", "norm", "number"))
        self.weight = w
        self.wt = w[:, None] * self.traces  # S_j = sum_p wT_p <g_p>_j
        self.ct = self.coupling[:, None] * self.traces  # q_p = src_p + cT_p . s_j
        self.charge = (w * norm)[:, None] * self.g0  # neutrality weights
        self.flux = w * number * self.velocity_normal
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
        if self.components is not None:  # diffuse re-emission C P_n: the diagonal components
            self.kappa *= self.components["unit"][:, None]
        # scale of S that the field alone produces without cancellations (for diagnostics)
        self.scale = max(np.sqrt(len(self.widths)) * np.linalg.norm(
            (w * np.abs(self.source) * self.tau) @ np.abs(self.traces)), np.finfo(float).tiny)

    @classmethod
    def build(cls, shell, disorder, slab, field, faces, uniform):
        normal = slab.normal_axis(shell.bands.model.dim)
        npts = len(shell)
        walls = slab.walls
        all_diffuse = all(isinstance(wl, Fuchs) and wl.p == 0 for wl in walls)
        partner = np.arange(npts) if all_diffuse else mirror_partners(shell, normal)
        vy = shell.velocity[:, normal]
        rho = np.zeros(npts)
        if not all_diffuse:
            kn = shell.k[:, normal]  # k_perp: half the momentum transfer of the pair (§6.1)
            mirror = np.all(np.abs(kn + kn[partner]) <= 1e-9 * np.max(np.abs(shell.k)))
            kperp = np.abs(kn) if mirror else 0.5 * np.abs(kn - kn[partner])
            rho = np.where(vy > 0, walls[0].specularity(kperp), walls[1].specularity(kperp))
        diffuse = tuple(i for i, wl in enumerate(walls) if not wl.fully_specular)
        if uniform.blocks is not None:
            return cls._build_blocks(shell, disorder, field, faces, uniform, normal, partner,
                                     vy, rho, diffuse, all_diffuse)
        traces = shell_traces(shell)
        coupling = disorder.gamma / shell.multiplicity
        if diffuse:  # diffuse re-emission mixes all bands: only the total charge is conserved
            modes, g0 = (shell.weight @ traces)[None, :], np.ones((npts, 1))
        else:  # fully specular: every conserved density of the uniform problem survives
            modes, g0 = homogeneous_modes(traces, shell.weight, uniform.tau, coupling)
        return cls(shell, faces, uniform.tau, traces, coupling,
                   ELECTRON_CHARGE * shell.velocity @ field, vy, partner, rho, diffuse,
                   modes, g0, uniform.dos)

    @classmethod
    def _build_blocks(cls, shell, disorder, field, faces, uniform, normal, partner, vy, rho,
                      diffuse, all_diffuse):
        """The slab problem over matrix components (docs/theory.md §12): each component
        is transported along its point's characteristic with its own rate; specular
        walls map component q of a point onto component q of its mirror partner (frames
        paired by the wall mirror), diffuse walls re-emit C P_n."""
        mirror = None if all_diffuse else mirror_operator(shell.bands.model, normal)
        blocks = block_basis(shell, uniform.dos, disorder.gamma,
                             mirrors=None if all_diffuse else [(partner, mirror)],
                             scalar=uniform.blocks.scalar)
        lay = ComponentLayout.build(shell, blocks, shell_traces(shell), uniform.tau,
                                    disorder.gamma)
        traces, tau, coupling, weight = lay.traces, lay.tau, lay.coupling, lay.weight
        if diffuse:  # the conserved charge: r = P_n everywhere
            modes, g0 = ((weight * lay.unit) @ traces)[None, :], lay.unit[:, None].copy()
        else:
            modes, g0 = homogeneous_modes(traces, weight, tau, coupling)
        components = {"weight": weight, "norm": lay.norm, "number": lay.number,
                      "unit": lay.unit, "layout": lay}
        return cls(shell, faces, tau, traces, coupling,
                   ELECTRON_CHARGE * (shell.velocity @ field)[lay.point] * lay.unit,
                   vy[lay.point], lay.partner(partner), rho[lay.point], diffuse, modes, g0,
                   uniform.dos, blocks, components)

    @property
    def cells(self) -> int:
        return len(self.widths)

    def sweep(self, q: np.ndarray, g_in: np.ndarray):
        """Exact cell averages (P, J) and face values (P, J+1) for sources q (P, J).

        All points advance together in their own downstream order (one loop over cells
        for both directions); the exact step of docs/theory.md §6 is
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
        gradient = np.diff(g_faces, axis=1) / self.widths
        moment = hermitian_from_coefficients(recomputed, self.shell.bands.model.size)
        if self.blocks is None:
            return SlabShellSolution(
                self.shell, self.faces, g_avg, g_faces, gradient, moment, self.tau, self.dos,
                tuple(wall_constants), len(self.modes), residual, consistency)
        ns = len(self.components["layout"].scalar)
        points = [self._per_point(x) for x in (g_avg, g_faces, gradient)]
        return SlabShellSolution(
            self.shell, self.faces, *points, moment, self.tau, self.dos,
            tuple(wall_constants), len(self.modes), residual, consistency,
            blocks=self.blocks, block_g=g_avg[ns:], block_gradient=gradient[ns:])

    def _per_point(self, x: np.ndarray) -> np.ndarray:
        """Per shell point (P, ...) from per component (Q, ...), :meth:`ComponentLayout.per_point`."""
        return self.components["layout"].per_point(x, self.shell.multiplicity)


def _cell_factors(h, lam):
    """e^{-a} and (1 - e^{-a})/a for a = h/lam (lam = 0: a = inf, no transport)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = h / lam
        decay = np.exp(-a)
        phi = np.where(a > 1e-8, -np.expm1(-a) / a, 1.0 - a / 2)
    phi = np.where(np.isfinite(a), phi, 0.0)
    return decay, phi
