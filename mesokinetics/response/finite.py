"""Results of finite samples: profiles across films and strips, maps over cross-sections.

One base, :class:`FiniteSampleResponse`, holds what every finite sample shares: the
solutions on the energy nodes, the bulk solution of the same material on the same shells,
the contributions of paper Eqs. (1)-(2) cell by cell (docs/theory.md §5-7), accumulation,
averages and the conductance ratio. Subclasses say what a cell is (a slab layer, a mesh
cell) and how the gradient term projects on it.

Units: lengths in nm, fields in V/nm, densities in (operator unit) per nm^d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..coherence import disorder_density, gradient_kernel, intraband_density
from ..disorder import PointDisorder
from ..models.base import Model, safe_norm, safe_unit
from ..operators import as_operator, charge_current
from .nodes import node_at_mu
from .parts import Contributions
from .saving import Saving
from ..convergence import Estimated
from .uniform import UniformResponse


@dataclass
class FiniteSampleResponse(Estimated, Saving):
    """Linear response of a finite sample, cell by cell.

    nodes : the energy nodes (:class:`~mesokinetics.response.nodes.FiniteNode`)
    bulk : the :class:`~mesokinetics.UniformResponse` of the same material and field, on
        the same shells (so a fully specular sample reproduces it to rounding)
    mean_free_path : DOS-averaged |v| tau at mu (nm)
    """

    model: Model
    disorder: PointDisorder
    mu: float
    field: np.ndarray
    temperature: float
    nodes: list
    bulk: UniformResponse
    mean_free_path: float

    # --- what a subclass defines -------------------------------------------------------
    def cell_sizes(self) -> np.ndarray:
        """(J,) cell widths (nm) or areas (nm^2): the weights of averages and integrals."""
        raise NotImplementedError

    def _gradient_density(self, sol, op_eig: np.ndarray) -> np.ndarray:
        """(J,) gradient term of one node's solution for an operator in the eigenbasis."""
        raise NotImplementedError

    def _integrated_current(self) -> float:
        """int j.Ehat over the cells / |E| (e^2/hbar times the cell measure)."""
        return float(np.sum(self._current_along_field() * self.cell_sizes())
                     / safe_norm(self.field))

    def _conductance(self) -> float:
        """I / |E| of the sample (see :meth:`conductance_per_length`), e^2/hbar times a
        power of nm."""
        return self._integrated_current()

    def _bulk_size(self) -> float:
        """The size that turns the bulk conductivity into the conductance of the sample."""
        return float(np.sum(self.cell_sizes()))

    def conductance_per_length(self) -> float:
        """G L = I / |E|: the conductance G of a piece of length L (along the field) times
        L, i.e. the inverse of the resistance per unit length (e^2/hbar nm^(3-d)).

        * 2D strip (:class:`SlabResponse`, d = 2): int_0^W j.Ehat dy / |E|
          (e^2/hbar nm); the strip's sheet conductance G L / W is this divided by W.
        * 3D film (d = 3): per unit width w of the film, I / (w |E|) =
          int_0^d j.Ehat dz / |E| (e^2/hbar), which is the film's sheet conductance
          (:meth:`SlabResponse.sheet_conductance`).
        * wire (:class:`SectionResponse`): int j.Ehat dA / |E| (e^2/hbar nm), the same
          as :meth:`SectionResponse.conductance`.
        * periodic strip: (1/L_cell) int j_x dA / |E| (e^2/hbar nm), the current through
          the strip per unit field.

        Internal units; divide by :data:`~mesokinetics.units.E2_OVER_H` for e^2/h."""
        return self._conductance()

    # --- shared ------------------------------------------------------------------------
    @property
    def validity(self) -> list:
        """:class:`~mesokinetics.validity.ValidityWarning` messages of the solve (the
        shells are the bulk's)."""
        return self.bulk.validity

    @property
    def solution(self):
        """Solution on the shell at mu (T = 0: the Fermi shell): g (P, J), moment, ..."""
        return node_at_mu(self.nodes, self.mu).solution

    def density(self, op) -> Contributions:
        """Profiles or maps of the four contributions to the density of ``op`` ((J,)
        arrays, operator unit per nm^d) at the given field."""
        op = as_operator(op, self.model)
        parts = np.zeros((4, len(self.cell_sizes())))
        for node in self.nodes:
            sol = node.solution
            if sol is None:
                continue
            shell = sol.shell
            op_eig = op.in_eigenbasis(shell.bands)
            g = sol.g.T  # (J, P)
            blocks = getattr(sol, "blocks", None)  # matrix distributions, docs/theory.md §12
            kw = {} if blocks is None else {"blocks": blocks, "block_rho": sol.block_g.T}
            parts[0] += node.weight * intraband_density(shell, g, op_eig, **kw)
            parts[2] += node.weight * self._gradient_density(sol, op_eig)
            parts[3] += node.weight * disorder_density(shell, g, sol.moment, sol.dos,
                                                       self.disorder.gamma, op_eig, **kw)
        parts[1] = self.bulk.density(op).intrinsic  # local and uniform: the bulk value
        return self._estimated(Contributions(parts[0], parts[1], parts[2], parts[3],
                                             f"{op.unit} nm^-{self.model.dim}"),
                               lambda r: r.density(op))

    def accumulation(self, op) -> Contributions:
        """Each contribution minus its bulk value: the edge accumulation."""
        return self._estimated(self.density(op) - self.bulk.density(op),
                               lambda r: r.accumulation(op))

    def mean(self, op) -> Contributions:
        """Averages of the contributions over the sample (floats)."""
        return self._estimated(self.density(op).weighted_mean(self.cell_sizes()),
                               lambda r: r.mean(op))

    def _current_along_field(self) -> np.ndarray:
        """(J,) total current density along the field direction."""
        ehat = safe_unit(self.field)  # scale-safe: a field of 1e-300 V/nm has a direction
        return sum(ehat[i] * self.density(charge_current(self.model, i)).total
                   for i in range(self.model.dim) if ehat[i] != 0)

    def conductance_ratio(self) -> float:
        """Conductance over its bulk value (the Fuchs-Sondheimer or wire size-effect ratio)."""
        ehat = safe_unit(self.field)
        sigma = self.bulk.conductivity("internal").total @ ehat @ ehat
        return self._conductance() / (sigma * self._bulk_size())


@dataclass
class SlabResponse(FiniteSampleResponse):
    """Result of :func:`~mesokinetics.solve_slab`: profiles across a film or strip.

    slab : the :class:`~mesokinetics.Slab`
    faces, centers, widths : the mesh (nm) along the normal, 0 at the bottom wall
    """

    slab: object = None
    faces: np.ndarray = None

    @property
    def cell_grid(self) -> np.ndarray:
        """The faces the profiles live on (the tol check compares nested meshes)."""
        return self.faces

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.faces[1:] + self.faces[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    def cell_sizes(self) -> np.ndarray:
        return self.widths

    @property
    def distribution(self) -> np.ndarray:
        """g_n(y, k) cell averages on the Fermi shell, (P, J) (eV for the given field)."""
        return self.solution.g

    @property
    def distribution_faces(self) -> np.ndarray:
        """g_n(y, k) at the cell faces, (P, J+1)."""
        return self.solution.g_faces

    def _gradient_density(self, sol, op_eig):
        shell = sol.shell
        normal = self.slab.normal_axis(self.model.dim)
        kern = gradient_kernel(shell.bands, shell.eigen_mask, op_eig)[:, normal]
        if sol.blocks is None:
            return sol.gradient.T @ (shell.weight * kern)
        # degenerate bands: the gradient of the matrix distribution, docs/theory.md §12
        blocks = sol.blocks
        simple = blocks.scalar  # points with one scalar g (simple or decoupled bands)
        kern_b = blocks.gradient_traces(shell.bands, shell.eigen_mask, op_eig)[:, normal]
        return (sol.gradient.T[:, simple] @ (shell.weight * kern)[simple]
                + sol.block_gradient.T @ (shell.weight[blocks.point] * kern_b))

    def sheet_conductance(self) -> float:
        """The width integral int_0^W j.Ehat dy / |E| (e^2/hbar nm^(3-d)), equal to
        :meth:`conductance_per_length`.

        3D film: the sheet conductance (conductance per square, G L / w for a film of
        width w, e^2/hbar). 2D strip: not a sheet conductance but I / |E| = G L
        (e^2/hbar nm); deprecated there (DeprecationWarning): use
        :meth:`conductance_per_length` (the same number), and divide it by the width for
        the strip's sheet conductance."""
        if self.model.dim != 3:
            import warnings

            warnings.warn("sheet_conductance() of a 2D strip is I/|E| = G L (e^2/hbar nm), "
                          "not a sheet conductance: use conductance_per_length() (same value), "
                          "divided by the width for the sheet conductance", DeprecationWarning,
                          stacklevel=2)
        return self._conductance()


@dataclass
class SectionResponse(FiniteSampleResponse):
    """Result of :func:`~mesokinetics.solve_cross_section`: maps over the cells of a wire
    cross-section.

    section : the cross-section sample; mesh : its
        :class:`~mesokinetics.samples.mesh.SectionMesh` (centres, areas in nm, nm^2)
    wire_axis : index of the field axis
    """

    section: object = None
    mesh: object = None
    wire_axis: int = 0

    @property
    def cell_grid(self):
        """The mesh the maps live on (the tol check compares maps across meshes)."""
        return self.mesh

    @property
    def centers(self) -> np.ndarray:
        """(J, 2) cell centres in the cross-section coordinates (nm)."""
        return self.mesh.centers

    @property
    def areas(self) -> np.ndarray:
        return self.mesh.volumes

    def cell_sizes(self) -> np.ndarray:
        return self.areas

    @property
    def iterations(self) -> int:
        return max(n.solution.iterations for n in self.nodes if n.solution is not None)

    def _gradient_density(self, sol, op_eig):
        shell = sol.shell
        axes = list(self.mesh.axes)
        kern = gradient_kernel(shell.bands, shell.eigen_mask, op_eig)[:, axes]
        if sol.blocks is None:
            return np.einsum("pji,pi->j", sol.gradient, shell.weight[:, None] * kern)
        # degenerate bands: the gradient of the matrix distribution, docs/theory.md §12
        blocks = sol.blocks
        simple = blocks.scalar  # points with one scalar g (simple or decoupled bands)
        kern_b = blocks.gradient_traces(shell.bands, shell.eigen_mask, op_eig)[:, axes]
        return (np.einsum("pji,pi->j", sol.gradient[simple], (shell.weight[:, None] * kern)[simple])
                + np.einsum("qji,qi->j", sol.block_gradient,
                            shell.weight[blocks.point][:, None] * kern_b))

    def conductance(self) -> float:
        """Wire conductance per unit length, int j.Ehat dA / |E| (e^2/hbar nm)."""
        return self._integrated_current()


@dataclass
class PeriodicStripResponse(SectionResponse):
    """Result of :func:`~mesokinetics.solve_periodic_strip` (maps over the cells of the
    unit cell; the coordinates are (x, y)). ``conductance_ratio()`` is the sheet
    conductance over the bulk sigma W of the unpatterned strip."""

    def _conductance(self) -> float:
        return self._integrated_current() / float(self.section.length)

    def _bulk_size(self) -> float:
        return float(self.section.width)  # the unpatterned strip

    def sheet_conductance(self) -> float:
        """Current through the strip per unit field, (1/L) int j_x dA / |E| = I / |E|
        (e^2/hbar nm): not a sheet conductance, deprecated (DeprecationWarning): use
        :meth:`conductance_per_length` (the same number)."""
        import warnings

        warnings.warn("PeriodicStripResponse.sheet_conductance() is I/|E| = G L (e^2/hbar nm), "
                      "not a sheet conductance: use conductance_per_length() (same value)",
                      DeprecationWarning, stacklevel=2)
        return self._conductance()
