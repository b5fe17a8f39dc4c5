"""The solvers: from a model, its disorder, a sample, mu and a field to a result object.

``solve_uniform`` (infinite sample), ``solve_slab`` (films and strips),
``solve_cross_section`` (wires) and ``solve_periodic_strip`` (patterned strips). Each
validates its inputs, samples the shells of every energy node of the thermal window
(docs/theory.md §8-9), solves the Boltzmann equation on them (§4, §6, §7) and returns a
result whose ``density(op)`` evaluates the contributions of paper Eq. (1) (§5). Solvers
print nothing and write no file; progress goes through an optional callback
``progress(done, total)`` over energy nodes.

Units: energies in eV, fields in V/nm, temperatures in K, lengths in nm.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..boltzmann.section import SectionProblem, SectionSolver
from ..boltzmann.slab import METHODS, solve_slab_shell
from ..boltzmann.uniform import mean_free_path, solve_shell
from ..disorder import PointDisorder
from ..models.base import Model
from ..numerics import Numerics, resolve_numerics
from ..quadrature import thermal_nodes
from ..samples import CrossSection, PeriodicStrip, Slab, cross_axes
from ..preflight import check_resources
from ..sampling import sample, sampler_of
from ..validation import validate_energy_points, validate_inputs
from ..validity import check_nodes
from .finite import PeriodicStripResponse, SectionResponse, SlabResponse
from .nodes import EnergyNode, FiniteNode
from .uniform import UniformResponse

Progress = Callable[[int, int], None]


def _map_nodes(items: list, solve: Callable, progress: Progress | None) -> list:
    """The energy-node loop of every solver: ``solve`` each item, reporting progress."""
    out = []
    for i, item in enumerate(items):
        out.append(solve(item))
        if progress is not None:
            progress(i + 1, len(items))
    return out


def _uniform(model, disorder, mu, field, temperature, energy_points, num: Numerics,
             grazing_axis: int | None, progress: Progress | None) -> UniformResponse:
    """Solve the uniform problem on every energy node; the shells are graded towards
    grazing incidence on a wall normal to ``grazing_axis`` when a finite sample will use
    them. Degenerate bands carry matrix distributions (docs/theory.md §12)."""
    # the window is not cut at critical energies (thermal_nodes(breaks=...)): that helps
    # a Rashba crossing (100 K Edelstein: 2.1e-4 -> 1.6e-6) but makes a 2D band edge at mu
    # ten times worse (1.2e-3 -> 1.3e-2 at 16 nodes), docs/accuracy.md
    energies, weights = thermal_nodes(mu, temperature, energy_points)

    def node(ew):
        energy, weight = ew
        shell, sea = sample(model, energy, num, grazing_axis=grazing_axis)
        solution = None if shell.empty else solve_shell(shell, disorder)
        return EnergyNode(float(weight), float(energy), solution, sea)

    nodes = _map_nodes(list(zip(energies, weights)), node, progress)
    return UniformResponse(model, disorder, mu, field, temperature, num, nodes)


def solve_uniform(
    model: Model,
    disorder: PointDisorder,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Progress | None = None,
    numerics: Numerics | None = None,
    **options,
) -> UniformResponse:
    """Linear response of an infinite uniform sample (docs/theory.md §4-5, §9).

    Parameters
    ----------
    model : the Hamiltonian h(k)
    disorder : :class:`PointDisorder` (gamma in eV^2 nm^d)
    mu : chemical potential (eV); in a gap the response is purely intrinsic
    field : electric field (V/nm), d components
    temperature : kelvin. At T > 0 each shell eps of the thermal window is solved at
        T = 0 and weighted by -df/deps (elastic scattering keeps shells apart; the Fermi
        sea term follows from f_eq(eps_n) = int deps (-df/deps) theta(eps - eps_n)).
    energy_points : Gauss-Legendre nodes of the thermal window (T > 0 only)
    progress : optional callback progress(done, total) over energy nodes
    numerics : a :class:`~mesokinetics.Numerics`, or give its fields as keyword options
    """
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    energy_points = validate_energy_points(energy_points)
    num = resolve_numerics(numerics, options)
    check_resources(model, num)
    result = _uniform(model, disorder, mu, field, temperature, energy_points, num, None, progress)
    result.validity = check_nodes(result.nodes, continuum=sampler_of(model) is None, stacklevel=2)
    return result


def bulk_reference(model, disorder, mu, field, temperature, energy_points, num: Numerics,
                   grazing_axis: int, sample_name: str) -> tuple[UniformResponse, float]:
    """The bulk solution on the shells a finite sample will use (graded towards grazing
    incidence on walls normal to ``grazing_axis``), and the mean free path (nm) at mu
    that grades its mesh. ``sample_name`` names the sample in the error raised when mu has
    no Fermi surface (a finite sample carries no intraband current without one)."""
    bulk = _uniform(model, disorder, mu, field, temperature, energy_points, num, grazing_axis,
                    None)
    if all(node.solution is None for node in bulk.nodes):
        raise ValueError(
            f"mu = {mu} eV has no Fermi surface: {sample_name} carries no intraband current and "
            "needs a Fermi surface; for a purely intrinsic response use solve_uniform"
        )
    bulk.validity = check_nodes(bulk.nodes, continuum=sampler_of(model) is None, stacklevel=3)
    ref = max(bulk.nodes, key=lambda n: n.weight if n.solution is not None else -1)
    return bulk, mean_free_path(ref.solution)


def _finite_nodes(bulk: UniformResponse, solve: Callable, progress: Progress | None) -> list:
    """Solve a finite sample on the shell of every energy node of ``bulk``."""
    def node(n):
        return FiniteNode(n.weight, n.energy, None if n.solution is None else solve(n.solution))

    return _map_nodes(bulk.nodes, node, progress)


def solve_slab(
    model: Model,
    disorder: PointDisorder,
    slab: Slab,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Progress | None = None,
    method: str = "auto",
    numerics: Numerics | None = None,
    **options,
) -> SlabResponse:
    """Linear response of a film or strip (docs/theory.md §6).

    Parameters
    ----------
    model, disorder, mu, field, temperature, energy_points, progress, numerics :
        as in :func:`solve_uniform`; the field (V/nm) must lie in the plane of the slab
    slab : :class:`~mesokinetics.Slab` (width in nm, walls, cells, normal)
    method : "direct" (dense assembly, direct solve, exact to rounding), "iterative"
        (matrix-free GMRES with a two-grid preconditioner, memory O(cells x shell points))
        or "auto" (direct up to 2000 unknowns cells x N^2, iterative above)

    The shells are sampled with an angular rule refined towards grazing incidence on the
    walls; the bulk (:func:`solve_uniform`) solution on the same shells is kept as
    ``result.bulk``, so p = 1 reproduces it to rounding. The intrinsic term is local and
    uniform, so its profile is the bulk value.
    """
    if not isinstance(slab, Slab):
        raise TypeError(f"slab must be a mesokinetics.Slab, got {type(slab).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    energy_points = validate_energy_points(energy_points)
    normal = slab.normal_axis(model.dim)
    if field[normal] != 0:
        raise ValueError(
            f"the field has a component {field[normal]} V/nm along the slab normal "
            f"(axis {'xyz'[normal]}); in a film or strip that component is screened by "
            "surface charges and the steady state carries no current across the walls. "
            "Give an in-plane field."
        )
    num = resolve_numerics(numerics, options)
    check_resources(model, num, cells=slab.cells)
    bulk, mfp = bulk_reference(model, disorder, mu, field, temperature, energy_points, num,
                               normal, "a film or strip")
    faces = slab.faces(mfp)
    nodes = _finite_nodes(
        bulk, lambda sol: solve_slab_shell(sol.shell, disorder, slab, field, faces, sol, method),
        progress)
    return SlabResponse(model, disorder, mu, field, temperature, nodes, bulk, mfp, slab=slab,
                        faces=faces)


def _solve_on_mesh(result_cls, model, disorder, sample, mu, field, temperature, energy_points,
                   num, grazing_axis, axes, wire_axis, sample_name, outer, progress):
    """The section solve shared by wires and periodic strips: bulk reference on shells
    graded towards ``grazing_axis``, the sample's mesh in the coordinates ``axes``, and
    the section problem on every energy node (outer = (rtol, maxiter, precondition) of
    the outer GMRES)."""
    bulk, mfp = bulk_reference(model, disorder, mu, field, temperature, energy_points, num,
                               grazing_axis, sample_name)
    mesh = sample.section_mesh(axes)
    walls = sample.wall_models(mesh.region_names)
    rtol, maxiter, precondition = outer

    def solve(sol):
        prob = SectionProblem(sol.shell, disorder, mesh, walls, field, sol)
        return SectionSolver(prob).solve(rtol=rtol, maxiter=maxiter, precondition=precondition)

    nodes = _finite_nodes(bulk, solve, progress)
    return result_cls(model, disorder, mu, field, temperature, nodes, bulk, mfp,
                      section=sample, mesh=mesh, wire_axis=wire_axis)


def solve_cross_section(
    model: Model,
    disorder: PointDisorder,
    section: CrossSection,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Progress | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    numerics: Numerics | None = None,
    **options,
) -> SectionResponse:
    """Linear response of a wire: a 3D sample translation invariant along the field
    (docs/theory.md §7).

    Parameters
    ----------
    model, disorder, mu, field, temperature, energy_points, progress, numerics :
        as in :func:`~mesokinetics.solve_slab`. The model must be 3D and the field (V/nm)
        along a coordinate axis, the wire axis; the cross-section is the plane normal to it.
    section : :class:`~mesokinetics.Rectangle`, :class:`~mesokinetics.GmshSection` (see
        :func:`~mesokinetics.disk`, :func:`~mesokinetics.polygon`)
    rtol, maxiter : tolerance and iteration cap of the outer GMRES solve
    precondition : use the diffusion preconditioner (False: plain GMRES, for studies)

    The shells use the wire rule (docs/theory.md §8): Gauss-Legendre nodes in theta about
    the wire axis (``polar``, default 16 here) times an azimuth cut at multiples of pi/4
    into Gauss-Legendre arcs graded towards the wall normals' grazing directions k pi/2
    (``azimuth`` nodes in all), mirror symmetric about both cross-section axes. The bulk
    (:func:`solve_uniform`) solution with the same shells is kept as ``result.bulk``.
    """
    if not isinstance(section, CrossSection):
        raise TypeError(f"section must be a CrossSection, got {type(section).__name__}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    energy_points = validate_energy_points(energy_points)
    if model.dim != 3:
        raise NotImplementedError(
            "solve_cross_section needs a 3D model (the cross-section is the plane normal to "
            "the field); for a 2D model a cross-section is a line: use solve_slab, or "
            "solve_periodic_strip for the unit cell of a patterned strip.")
    nonzero = np.nonzero(field)[0]
    if len(nonzero) != 1:
        raise ValueError(
            f"the field must lie along one coordinate axis, the wire axis, got {field.tolist()}; "
            "a component in the cross-section plane is screened by surface charges")
    wire = int(nonzero[0])
    # the wire rule (docs/theory.md §8): graded towards grazing on both wall normals, where
    # polar 16 is enough (the 48 of films would buy nothing here)
    num = resolve_numerics(numerics, options, defaults={"grazing_panels": 1, "polar": 16})
    check_resources(model, num)
    return _solve_on_mesh(SectionResponse, model, disorder, section, mu, field, temperature,
                          energy_points, num, cross_axes(wire), cross_axes(wire), wire,
                          "a wire", (rtol, maxiter, precondition), progress)


def solve_periodic_strip(
    model: Model,
    disorder: PointDisorder,
    strip: PeriodicStrip,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Progress | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    numerics: Numerics | None = None,
    **options,
) -> PeriodicStripResponse:
    """Linear response of a patterned strip of a 2D material (docs/theory.md §7): one unit
    cell (:class:`~mesokinetics.PeriodicStrip`), periodic along the field (x), walls at
    y = 0, width and on the notches. The distribution g(x, y, k) is periodic in x; the field
    is uniform (no self-consistent potential: as in the wires, charge accumulates around
    notches and its gradients carry the current around them).

    Parameters as in :func:`solve_cross_section`; the model must be 2D and the field
    along x. The shells are the strip's (:func:`~mesokinetics.solve_slab`): an angular
    rule graded towards grazing incidence on the y walls, so without notches the result
    is the strip's, up to the first-order discretization in y.
    """
    if not isinstance(strip, PeriodicStrip):
        raise TypeError(f"strip must be a PeriodicStrip, got {type(strip).__name__}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    energy_points = validate_energy_points(energy_points)
    if model.dim != 2:
        raise NotImplementedError("solve_periodic_strip needs a 2D model; for a 3D wire use "
                                  "solve_cross_section")
    if field[1] != 0 or field[0] == 0:
        raise ValueError(f"the field must lie along x (the periodic direction), got "
                         f"{field.tolist()}")
    num = resolve_numerics(numerics, options)
    check_resources(model, num)
    return _solve_on_mesh(PeriodicStripResponse, model, disorder, strip, mu, field, temperature,
                          energy_points, num, 1, (0, 1), 0, "a strip",
                          (rtol, maxiter, precondition), progress)
