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

from dataclasses import fields, replace
from typing import Callable, Sequence

import numpy as np

from ..boltzmann.section import SectionProblem, SectionSolver
from ..boltzmann.slab import METHODS, solve_slab_shell
from ..boltzmann.uniform import mean_free_path, solve_shell
from ..convergence import CONDUCTIVITY_SCALE, Axis, check_budget, check_tol, converge
from ..disorder import PointDisorder
from ..models.base import Model
from ..numerics import Numerics, resolve_numerics
from ..parallel import validate_scheduler
from ..operators import Operator, as_operator
from ..quadrature import KB_EV_K, thermal_nodes
from ..samples import CrossSection, PeriodicStrip, Slab, cross_axes
from ..preflight import check_resources
from ..sampling import (RayMemo, critical_energies, ray_memo, sample, sample_shell,
                        sampler_of)
from ..sampling.brillouin import bz_options
from ..validation import validate_energy_points, validate_inputs
from ..validity import check_nodes
from .finite import PeriodicStripResponse, SectionResponse, SlabResponse
from .nodes import EnergyNode, FiniteNode
from .uniform import LevelCache, UniformResponse

Progress = Callable[[int, int], None]

#: Default number of nodes of the thermal window (T > 0).
ENERGY_POINTS = 24
#: The azimuth of 3D films and uniform solves, and the angles of 2D uniform solves, tried
#: first (Axis.trial): kept where the decisive quantities agree with 6 nodes to rounding (a
#: shell isotropic about the axis, whose response in the angle is a trigonometric
#: polynomial of low degree), else the default.
ANGULAR_TRIAL = 8


# --------------------------------------------------------------------------------------
# tol: the numerical axes of a solve and their check (mesokinetics.convergence)
# --------------------------------------------------------------------------------------


def _given(numerics: Numerics | None, options: dict, defaults: dict | None) -> set:
    """Numerics the user set: keyword options, or the fields of a ``numerics=`` object
    that differ from the solver's defaults."""
    if numerics is None:
        return set(options)
    base = Numerics.from_kwargs(dict(defaults or {}))
    return {f.name for f in fields(Numerics) if getattr(numerics, f.name) != getattr(base, f.name)}


def _axes(model: Model, num: Numerics, given: set, temperature: float, energy_points: int,
          energy_given: bool, *, uniform: bool, wire: bool = False) -> list[Axis]:
    """The numerical axes a solve checks (docs/accuracy.md): the k-space rule of the
    model's shells (angles in 2D; polar and azimuth in 3D; the Brillouin-zone grid and, in
    2D, the Fermi-loop points of lattice models), the Fermi-sea radial order of uniform
    continuum samples (a finite sample takes its intrinsic term from the bulk, where it
    is exact to rounding from radial_order 8), and the thermal window at T > 0."""
    names: list[tuple[str, int, int]] = []  # (name, value, minimum)
    # minimums: the smallest values the options accept (the coarse levels go that low);
    # graded rules need one node per panel on each side of a grazing point, or the coarse
    # levels all miss the grazing region alike and agree on a wrong value (a d = l film
    # at polar 6, 8, 12: 0.6631 against 0.6839, "converged")
    panels = 1 if uniform else int(num.grazing_panels)
    if sampler_of(model) is not None:
        names.append(("bz_grid", bz_options(num, model.dim)["grid"], 4))
        if model.dim == 2:
            names.append(("bz_contour_points", num.bz_contour_points, 16))
    elif model.dim == 2:
        names.append(("angles", num.angles, 4 * panels))
    elif model.dim == 3 and wire:
        names.extend([("polar", num.polar, 2), ("azimuth", num.azimuth, 8 * panels)])
    elif model.dim == 3:
        names.extend([("polar", num.polar, 2 * panels), ("azimuth", num.azimuth, 4)])
    if uniform and sampler_of(model) is None and model.dim > 1:
        names.append(("radial_order", num.radial_order, 2))
    # the azimuth of a film or bulk shell isotropic about the axis, and the angles of an
    # isotropic 2D bulk shell, are exact at a few nodes (the trapezoid on a trigonometric
    # polynomial of low degree): tried first at ANGULAR_TRIAL (the graded rules of strips
    # and wires are not: their walls break the isotropy)
    trial = {}
    if model.dim == 3 and not wire:
        trial["azimuth"] = ANGULAR_TRIAL
    elif model.dim == 2 and uniform:
        trial["angles"] = ANGULAR_TRIAL
    axes = [Axis(n, int(v), m, fixed=n in given, trial=trial.get(n)) for n, v, m in names]
    if temperature > 0:
        axes.append(Axis("energy_points", int(energy_points), 2, fixed=energy_given))
    return axes


def _accuracy_inputs(tol, budget, energy_points) -> tuple:
    """(tol, budget, energy_points, energy_given) validated; energy_points None is the
    default 24, refinable (energy_given False)."""
    given = energy_points is not None
    points = validate_energy_points(ENERGY_POINTS if energy_points is None else energy_points)
    return check_tol(tol), check_budget(budget), points, given


def _density_matrix_probes(model: Model) -> Callable:
    """The response of every traceless element of the density matrix (a Hermitian basis of
    the traceless N x N matrices: E_aa - E_a+1,a+1, E_ab + E_ba, i (E_ab - E_ba)): what an
    axis must get exactly right to keep a trial value (``Axis.trial``), so that spin,
    orbital and any other local observable asked for after the solve are exact there too.
    The trace (the charge density) is left out: neutrality pins it to zero, so it holds
    rounding only. Each element is judged against the intraband scale of the solve
    (:func:`_intraband_scale`) as its floor, so elements that vanish by symmetry (all of
    them, for the orbital texture in a field) are rounding against a physical scale."""
    n = model.size
    basis = []
    for a in range(n):
        for b in range(a, n):
            m = np.zeros((n, n), complex)
            if a == b:
                if a == n - 1:
                    continue
                m[a, a], m[a + 1, a + 1] = 1.0, -1.0
            else:
                m[a, b] = m[b, a] = 1.0
                basis.append(Operator(m.copy(), name=f"rho_{a}{b}"))
                m[a, b], m[b, a] = -1j, 1j
            basis.append(Operator(m, name=f"rho_{a}{b}"))

    def probes(result) -> list:
        floor = _intraband_scale(result)
        return [(np.asarray(result.density(op).total, float), floor) for op in basis]

    return probes


def _intraband_scale(result) -> float:
    """sum over the thermal nodes of the weighted sum_p w_p w_n |g_p . E| of the bulk
    (a finite sample: its ``bulk``), nm^-d: the size of a density response without
    cancellations, for an operator of unit norm."""
    bulk = getattr(result, "bulk", result)
    e = np.asarray(bulk.field, float)
    total = 0.0
    for node in bulk.nodes:
        sol = node.solution
        if sol is not None and len(sol.shell):
            sh = sol.shell
            total += node.weight * float(np.sum(sh.weight * sh.multiplicity * np.abs(e @ sol.g)))
    return total


def _same_shells(model: Model, num: Numerics, mu: float, temperature: float,
                 energy_points: int, cache: LevelCache) -> Callable[[dict, dict], bool]:
    """accept_trial of :func:`~mesokinetics.convergence.converge`: the bulk shells (the
    standard rule: the pockets it may miss are those of any rule) at the trial settings
    have the density of states of those at the start settings, to 1e-12, at every energy
    node (a root search each, no solve): 8 rays can miss a small pocket that 128 rays
    find, and the trial's own coarse level, missing it too, would agree exactly. The root
    searches go through the solve's ray memo (``cache``): a uniform start solve then finds
    its crossings there."""
    def accept(tried: dict, start: dict) -> bool:
        energies, _ = _thermal_window(model, num, mu, temperature, energy_points)
        memo = cache.memo_for(model)
        with ray_memo(RayMemo(model) if memo is None else memo):
            for e in energies:
                dos = [sample_shell(model, float(e), _numerics_at(num, s)).density_of_states()
                       for s in (tried, start)]
                if not abs(dos[0] - dos[1]) <= 1e-12 * abs(dos[1]):
                    return False
        return True

    return accept


#: An observable is judged against at least this fraction of its response without
#: cancellations (:func:`_observable_floors`): far below any physical value, far above the
#: rounding (1e-16 of it) that would otherwise be refined.
OBSERVABLE_FLOOR = 1e-9


def _observable_floors(ops: list, result) -> list[float]:
    """The floor of each observable's error scale: ``OBSERVABLE_FLOOR`` times its operator
    norm (a constant matrix) times the intraband scale of the solve
    (:func:`_intraband_scale`), the size of its response without cancellations; 0 for
    k-dependent operators. Without it an observable that vanishes (the damping-like <s_z>
    of a Rashba ferromagnet with m along the field, zero by symmetry) is judged on its own
    rounding, and every axis is refined to its cap (636 s at 100 K, not converged)."""
    scale = OBSERVABLE_FLOOR * _intraband_scale(result) if ops else 0.0
    return [float(np.linalg.norm(op.matrix, 2)) * scale if op.matrix is not None else 0.0
            for op in ops]


def _finite_probes(ops: list) -> Callable:
    """The decisive quantities of a film or strip: the current profile along the field
    and the profiles of ``ops`` (each against its floor, :func:`_observable_floors`)."""
    def probes(result) -> list:
        floors = _observable_floors(ops, result)
        return [result._current_along_field()] + [
            (result.density(op).total, f) for op, f in zip(ops, floors)]

    return probes


def _section_moments(result, values: np.ndarray) -> np.ndarray:
    """int v dA and the first moments int (a - a0) v dA / L_a (L_a the half extent of
    the section along a, a0 its centre) of a map v over the cells of a cross-section."""
    xy, area = result.centers, result.cell_sizes()
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    weights = [np.ones(len(area))] + [(xy[:, i] - 0.5 * (lo[i] + hi[i])) / (0.5 * (hi[i] - lo[i]))
                                      for i in range(2)]
    return np.array([np.sum(w * values * area) for w in weights])


def _section_probes(ops: list) -> Callable:
    """The decisive quantities of a wire or periodic strip: the total current and the
    integral and first moments of the maps of ``ops`` (:func:`_section_moments`, each
    against the floor int |v| dA, so a moment that vanishes by symmetry is judged on the
    map's size, not on its own rounding). Integrals, not maps cell by cell: a map on a 2D
    mesh converges at first order or less in the cell size at fixed angles (the ray
    effects of discrete ordinates: a square wire's current map is 2.0e-3 and 1.3e-3 off
    at 32 and 64 cells against 128, its integral 1.6e-5 and 3.3e-6), and the coarser
    meshes of a curved section are not nested, so cell values compare only through a
    restriction whose own mismatch is 1-2 % at every cell size (docs/accuracy.md). The
    maps still get their estimates (``.error``) from the same levels."""
    def probes(result) -> list:
        out = [result._integrated_current()]
        for op in ops:
            v = result.density(op).total
            out.append((_section_moments(result, v),
                        float(np.sum(np.abs(v) * result.cell_sizes()))))
        return out

    return probes


def _numerics_at(num: Numerics, settings: dict) -> Numerics:
    """``num`` with the Numerics fields among ``settings``."""
    known = {f.name for f in fields(Numerics)}
    return replace(num, **{k: v for k, v in settings.items() if k in known})


def _observables(model: Model, observables) -> list:
    """The ``observables=`` operators (checked like the current by ``tol``)."""
    if observables is None:
        return []
    if not isinstance(observables, (list, tuple)):
        observables = [observables]
    return [as_operator(op, model) for op in observables]


def _once(progress: Progress | None):
    """The progress callback for the first solve only (the checks at coarser resolutions
    and refinements are not counted: their number is not known in advance)."""
    state = {"used": False}

    def give():
        if state["used"]:
            return None
        state["used"] = True
        return progress

    return give


def _bulk_convergence(result) -> None:
    """The bulk of a finite sample gets the check of the sample (its results' bulks)."""
    conv = result.convergence
    if conv is None:
        return
    levels = [replace(lev, results=tuple(None if r is None else r.bulk for r in lev.results))
              for lev in conv.levels]
    result.bulk.convergence = replace(conv, levels=levels)


def _map_nodes(items: list, solve: Callable, progress: Progress | None) -> list:
    """The energy-node loop of every solver: ``solve`` each item, reporting progress."""
    out = []
    for i, item in enumerate(items):
        out.append(solve(item))
        if progress is not None:
            progress(i + 1, len(items))
    return out


#: half width of the thermal window searched for critical energies, in kT: beyond it the
#: weight -df/deps is below 4e-18
WINDOW_KT = 40.0


def _thermal_window(model: Model, num: Numerics, mu: float, temperature: float,
                    points: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies (eV) and weights of the thermal window (docs/theory.md §9), cut at the
    critical energies of the model within +-40 kT of mu (band crossings and extrema,
    :func:`~mesokinetics.sampling.critical_energies`), or at mu itself where the model
    has none (lattice models: none are located yet), so every piece's rule is spectral
    on a piecewise-smooth response (:func:`~mesokinetics.quadrature.thermal_nodes`).
    Measured at 24 nodes (docs/accuracy.md): the 100 K Edelstein density 2.1e-4 -> 1.6e-6
    from the thermal average; a 2D band edge at mu (sigma ~ eps theta(eps), 200 K)
    5.3e-4 -> 2.3e-6."""
    if temperature == 0:
        return thermal_nodes(mu, temperature, points)
    kt = KB_EV_K * temperature
    breaks = critical_energies(model, num, (mu - WINDOW_KT * kt, mu + WINDOW_KT * kt))
    return thermal_nodes(mu, temperature, points, breaks if len(breaks) else [mu])


def _uniform(model, disorder, mu, field, temperature, energy_points, num: Numerics,
             grazing_axis: int | None, progress: Progress | None, *,
             cache=None) -> UniformResponse:
    """Solve the uniform problem on every energy node; the shells are graded towards
    grazing incidence on a wall normal to ``grazing_axis`` when a finite sample will use
    them. Degenerate bands carry matrix distributions (docs/theory.md §12).

    cache : the :class:`~mesokinetics.response.uniform.LevelCache` of the adaptive solve
        this call is a level of: its ray memo then serves every level, and a lattice
        model's Fermi sea is taken from the first level that built it with the same sea
        numerics; None: a memo of this call only, shared by its energy nodes. Either way
        the numbers are those of a computation without memo, bit for bit (the keys are
        the complete inputs of what they keep)."""

    def node(ew):
        energy, weight = ew
        key, first = (None, None) if cache is None else cache.sea_node(model, energy, num)
        if first is None:
            shell, sea = sample(model, energy, num, grazing_axis=grazing_axis)
        else:  # a lattice sea built by an earlier level with the same sea numerics
            shell = sample_shell(model, energy, num, grazing_axis=grazing_axis)
            sea = first.sea
        solution = None if shell.empty else solve_shell(shell, disorder)
        made = EnergyNode(float(weight), float(energy), solution, sea,
                          None if first is None else first.sea_bands)
        if cache is not None:
            cache.keep_sea_node(key, made)
        return made

    # the nodes of a thermal window share the rays and most of their scan grids (the 24
    # nodes of a 100 K Rashba window evaluate 2-4 distinct root grids): evaluated once each
    memo = None if cache is None else cache.memo_for(model)
    with ray_memo(RayMemo(model) if memo is None else memo):
        energies, weights = _thermal_window(model, num, mu, temperature, energy_points)
        nodes = _map_nodes(list(zip(energies, weights)), node, progress)
    return UniformResponse(model, disorder, mu, field, temperature, num, nodes)


def solve_uniform(
    model: Model,
    disorder: PointDisorder,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int | None = None,
    tol: float | None = 1e-3,
    observables: Sequence | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
    numerics: Numerics | None = None,
    scheduler=None,
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
    energy_points : Gauss-Legendre nodes of the thermal window (T > 0 only; default 24)
    tol : requested relative accuracy of the conductivity and of ``observables``
        (default 1e-3): every numerical axis is checked at two coarser resolutions and
        refined until the estimate meets it (mesokinetics.convergence, docs/accuracy.md);
        ``.error`` of every contribution returned is the estimate, ``result.converged``
        and ``result.convergence`` say how it went. None: one solve, no estimate.
    observables : operators whose response must also meet ``tol``
    budget : seconds of wall time for the refinement (None: no limit; a
        :class:`~mesokinetics.ConvergenceWarning` when it stops short of tol)
    progress : optional callback progress(done, total) over energy nodes (first solve)
    numerics : a :class:`~mesokinetics.Numerics`, or give its fields as keyword options;
        the ones given are used as they are (checked, never refined)
    scheduler : where the Fermi-sea chunks of the observables run
        (:mod:`mesokinetics.parallel`): None (serial, in this process), a Dask scheduler
        address ('tcp://host:8786'), a ``distributed.Client`` or a
        ``concurrent.futures.Executor``; kept as ``result.scheduler``; the numbers equal
        the serial ones
    """
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    tol, budget, energy_points, energy_given = _accuracy_inputs(tol, budget, energy_points)
    given = _given(numerics, options, None)
    num = resolve_numerics(numerics, options)
    check_resources(model, num)
    scheduler = validate_scheduler(scheduler)
    ops = _observables(model, observables)
    give = _once(progress)
    cache = LevelCache(model)  # this solve's levels share rays (never across solves)

    def at(settings: dict) -> UniformResponse:
        n = _numerics_at(num, settings)
        result = _uniform(model, disorder, mu, field, temperature,
                          settings.get("energy_points", energy_points), n, None, give(),
                          cache=cache)
        result.scheduler = scheduler
        # the user's frame: solve_uniform <- at, or <- converge <- solve <- at
        result.validity = check_nodes(result.nodes, continuum=sampler_of(model) is None,
                                      stacklevel=3 if tol is None else 5)
        return result

    if tol is None:
        return at({})

    def probes(result: UniformResponse) -> list:
        floors = _observable_floors(ops, result)
        return ([(result._conductivity_tensor().total, CONDUCTIVITY_SCALE)]
                + [(r.total, f) for r, f in zip(result.responses(ops), floors)])

    axes = _axes(model, num, given, temperature, energy_points, energy_given, uniform=True)
    return converge(at, probes, axes, tol=tol, budget=budget,
                    trial_probes=_density_matrix_probes(model),
                    accept_trial=_same_shells(model, num, mu, temperature, energy_points,
                                              cache))


def bulk_reference(model, disorder, mu, field, temperature, energy_points, num: Numerics,
                   grazing_axis: int, sample_name: str, *, stacklevel: int = 3,
                   cache=None) -> tuple[UniformResponse, float]:
    """The bulk solution on the shells a finite sample will use (graded towards grazing
    incidence on walls normal to ``grazing_axis``), and the mean free path (nm) at mu
    that grades its mesh. ``sample_name`` names the sample in the error raised when mu has
    no Fermi surface (a finite sample carries no intraband current without one).

    cache : the :class:`~mesokinetics.response.uniform.LevelCache` of the adaptive solve
        this call is a level of, or None. A level whose bulk inputs (numerics,
        energy_points, ...) equal an earlier level's (the slab cells, a section's mesh)
        gets that level's result, the same objects: its validity warnings were issued
        when it was solved and are not repeated."""
    key = None if cache is None else cache.bulk_key(model, disorder, mu, field, temperature,
                                                    energy_points, num, grazing_axis)
    hit = None if cache is None else cache.bulk(key)
    if hit is not None:
        return hit
    bulk = _uniform(model, disorder, mu, field, temperature, energy_points, num, grazing_axis,
                    None, cache=cache)
    if all(node.solution is None for node in bulk.nodes):
        raise ValueError(
            f"mu = {mu} eV has no Fermi surface: {sample_name} carries no intraband current and "
            "needs a Fermi surface; for a purely intrinsic response use solve_uniform"
        )
    bulk.validity = check_nodes(bulk.nodes, continuum=sampler_of(model) is None,
                                stacklevel=stacklevel)
    ref = max(bulk.nodes, key=lambda n: n.weight if n.solution is not None else -1)
    out = (bulk, mean_free_path(ref.solution))
    if cache is not None:
        cache.keep_bulk(key, out)
    return out


def _finite_nodes(bulk: UniformResponse, solve: Callable, progress: Progress | None) -> list:
    """Solve a finite sample on the shell of every energy node of ``bulk``."""
    def node(n):
        return FiniteNode(n.weight, n.energy, None if n.solution is None else solve(n.solution))

    return _map_nodes(bulk.nodes, node, progress)


def _coarse_faces(faces: np.ndarray) -> np.ndarray:
    """Every second face (the last one kept): the nested mesh of ceil(J / 2) cells."""
    coarse = faces[::2]
    return coarse if coarse[-1] == faces[-1] else np.append(coarse, faces[-1])


def _faces_at(base: np.ndarray, cells: int) -> np.ndarray:
    """The mesh of ``cells`` cells nested with ``base``: coarsened (every second face)
    or refined (every cell bisected) from it."""
    faces = base
    while len(faces) - 1 > cells:
        faces = _coarse_faces(faces)
    while len(faces) - 1 < cells:
        faces = np.sort(np.concatenate([faces, 0.5 * (faces[1:] + faces[:-1])]))
    if len(faces) - 1 != cells:
        raise ValueError(f"cells = {cells} is not nested with the {len(base) - 1} cells of "
                         "the starting mesh")
    return faces


def _cells_axis(slab: Slab) -> Axis:
    """The slab cells as an axis of the check: second order, coarsened onto nested
    meshes (ceil(J / 2), ceil(J / 4) cells), refined by bisection."""
    return Axis("cells", int(slab.cells), 4, fixed=bool(getattr(slab, "cells_given", True)),
                order=2.0)


def _coarsen_cells(settings: dict, axis: Axis, times: int) -> dict | None:
    """Every axis by :meth:`Axis.coarse`; the slab cells to ceil(J / 2) and ceil(J / 4)
    nested cells, a cross-section's mesh to 2 and 4 times coarser (second order:
    r' = max(r, 1/4))."""
    if axis.name not in ("cells", "mesh"):
        value = axis.coarse(settings[axis.name], times)
    else:
        value = settings[axis.name]
        for _ in range(times):
            value = -(-value // 2)
    return None if value is None or value < axis.minimum else {**settings, axis.name: value}


def solve_slab(
    model: Model,
    disorder: PointDisorder,
    slab: Slab,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int | None = None,
    tol: float | None = 1e-3,
    observables: Sequence | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
    method: str = "auto",
    numerics: Numerics | None = None,
    scheduler=None,
    **options,
) -> SlabResponse:
    """Linear response of a film or strip (docs/theory.md §6).

    Parameters
    ----------
    model, disorder, mu, field, temperature, energy_points, progress, numerics :
        as in :func:`solve_uniform`; the field (V/nm) must lie in the plane of the slab
    slab : :class:`~mesokinetics.Slab` (width in nm, walls, cells, normal)
    tol, observables, budget : as in :func:`solve_uniform`; the decisive quantities are
        the current profile and the profiles of ``observables``, and the slab cells are
        one more axis (coarsened onto nested meshes, refined by bisection; fixed when the
        Slab was given ``cells``)
    scheduler : as in :func:`solve_uniform` (the bulk's Fermi sea)
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
    tol, budget, energy_points, energy_given = _accuracy_inputs(tol, budget, energy_points)
    normal = slab.normal_axis(model.dim)
    if field[normal] != 0:
        raise ValueError(
            f"the field has a component {field[normal]} V/nm along the slab normal "
            f"(axis {'xyz'[normal]}); in a film or strip that component is screened by "
            "surface charges and the steady state carries no current across the walls. "
            "Give an in-plane field."
        )
    given = _given(numerics, options, None)
    num = resolve_numerics(numerics, options)
    check_resources(model, num, cells=slab.cells)
    scheduler = validate_scheduler(scheduler)
    ops = _observables(model, observables)
    give = _once(progress)
    base: dict = {}  # the starting mesh, graded on the first solve's mean free path
    cache = LevelCache(model)  # the cells levels reuse the start's bulk (this solve only)

    def at(settings: dict) -> SlabResponse:
        n = _numerics_at(num, settings)
        bulk, mfp = bulk_reference(model, disorder, mu, field, temperature,
                                   settings.get("energy_points", energy_points), n, normal,
                                   "a film or strip", stacklevel=4 if tol is None else 6,
                                   cache=cache)
        bulk.scheduler = scheduler
        if "faces" not in base:
            with np.errstate(all="ignore"):
                faces = slab.faces(mfp)
            if not (np.isfinite(mfp) and mfp > 0 and np.all(np.isfinite(faces))
                    and np.all(np.diff(faces) > 0)):
                raise ValueError(
                    f"the mean free path |v| tau is {mfp:g} nm, which cannot grade a mesh of "
                    f"{slab.cells} cells across {slab.width:g} nm: check the disorder "
                    "(gamma, tau or mean free path) and the model's velocities")
            base["faces"] = faces
        faces = _faces_at(base["faces"], settings.get("cells", slab.cells))
        nodes = _finite_nodes(
            bulk, lambda sol: solve_slab_shell(sol.shell, disorder, slab, field, faces, sol,
                                               method), give())
        return SlabResponse(model, disorder, mu, field, temperature, nodes, bulk, mfp,
                            slab=slab, faces=faces)

    if tol is None:
        return at({})

    axes = _axes(model, num, given, temperature, energy_points, energy_given, uniform=False)
    axes.append(_cells_axis(slab))
    result = converge(at, _finite_probes(ops), axes, tol=tol, budget=budget,
                      coarsen=_coarsen_cells, trial_probes=_density_matrix_probes(model),
                      accept_trial=_same_shells(model, num, mu, temperature, energy_points,
                                              cache))
    _bulk_convergence(result)
    return result


#: the start value of the mesh axis of cross-sections: its coarse levels 2 and 1 are
#: meshes 2 and 4 times coarser, a refinement (8) one twice finer
MESH_START = 4


def _mesh_axis(sample) -> Axis:
    """The mesh of a cross-section as an axis of the check: second order (measured: a
    square wire's ratio -2.8e-4, -6.3e-5, -1.6e-5 at 8, 16, 32 cells; a disk's -8.1e-3,
    -2.0e-3, -5.1e-4 at h = 0.2, 0.1, 0.05 l), coarsened to meshes 2 and 4 times
    coarser, refined twice finer; fixed when the user chose the mesh. Its value is the
    resolution in quarters of the sample's mesh: 4 the mesh as given, 8 twice finer."""
    return Axis("mesh", MESH_START, 1, fixed=bool(sample.mesh_given), order=2.0,
                hint="the resolution of the section's mesh (its cells, or a disk's cell_size)")


def _solve_on_mesh(result_cls, model, disorder, sample, mu, field, temperature, energy_points,
                   num, grazing_axis, axes, wire_axis, sample_name, outer, progress, check,
                   scheduler=None):
    """The section solve shared by wires and periodic strips: bulk reference on shells
    graded towards ``grazing_axis``, the sample's mesh in the coordinates ``axes``, and
    the section problem on every energy node (outer = (rtol, maxiter, precondition) of
    the outer GMRES); ``check`` = (tol, budget, observables, numerical axes) or None.
    The mesh is one more checked axis ("mesh", :func:`_mesh_axis`): the sample at the
    resolution mesh / MESH_START (:meth:`CrossSection.at_resolution`)."""
    meshes: dict = {}  # mesh value -> (sample, mesh, wall models), built once each
    rtol, maxiter, precondition = outer
    give = _once(progress)
    cache = LevelCache(model)  # the mesh levels reuse the start's bulk (this solve only)

    def meshed(value: int):
        if value not in meshes:
            at_res = sample if value == MESH_START else sample.at_resolution(value / MESH_START)
            mesh = at_res.section_mesh(axes)
            meshes[value] = (at_res, mesh, at_res.wall_models(mesh.region_names))
        return meshes[value]

    def at(settings: dict):
        n = _numerics_at(num, settings)
        at_res, mesh, walls = meshed(settings.get("mesh", MESH_START))
        bulk, mfp = bulk_reference(model, disorder, mu, field, temperature,
                                   settings.get("energy_points", energy_points), n,
                                   grazing_axis, sample_name,
                                   stacklevel=5 if check is None else 7, cache=cache)
        bulk.scheduler = scheduler

        def solve(sol):
            prob = SectionProblem(sol.shell, disorder, mesh, walls, field, sol)
            return SectionSolver(prob).solve(rtol=rtol, maxiter=maxiter, precondition=precondition)

        nodes = _finite_nodes(bulk, solve, give())
        return result_cls(model, disorder, mu, field, temperature, nodes, bulk, mfp,
                          section=at_res, mesh=mesh, wire_axis=wire_axis)

    if check is None:
        return at({})
    tol, budget, ops, checked = check
    checked = list(checked) + [_mesh_axis(sample)]
    result = converge(at, _section_probes(ops), checked, tol=tol,
                      budget=budget, coarsen=_coarsen_cells, stacklevel=4)
    _bulk_convergence(result)
    return result


def solve_cross_section(
    model: Model,
    disorder: PointDisorder,
    section: CrossSection,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int | None = None,
    tol: float | None = 1e-3,
    observables: Sequence | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    numerics: Numerics | None = None,
    scheduler=None,
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
    tol, observables, budget : as in :func:`~mesokinetics.solve_slab`; the decisive
        quantities are the total current and the integrals and first moments of the maps
        of ``observables`` (drivers._section_probes); the mesh is one more axis, checked
        on meshes 2 and 4 times coarser and refined twice finer (fixed when the section
        was given its ``cells`` or ``cell_size``)
    rtol, maxiter : tolerance and iteration cap of the outer GMRES solve
    precondition : use the diffusion preconditioner (False: plain GMRES, for studies)
    scheduler : as in :func:`~mesokinetics.solve_uniform` (the bulk's Fermi sea)

    The shells use the wire rule (docs/theory.md §8): Gauss-Legendre nodes in theta about
    the wire axis (``polar``, default 16 here) times an azimuth cut at multiples of pi/4
    into Gauss-Legendre arcs graded towards the wall normals' grazing directions k pi/2
    (``azimuth`` nodes in all), mirror symmetric about both cross-section axes. The bulk
    (:func:`solve_uniform`) solution with the same shells is kept as ``result.bulk``.
    """
    if not isinstance(section, CrossSection):
        raise TypeError(f"section must be a CrossSection, got {type(section).__name__}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    tol, budget, energy_points, energy_given = _accuracy_inputs(tol, budget, energy_points)
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
    defaults = {"grazing_panels": 1, "polar": 16}
    num = resolve_numerics(numerics, options, defaults=defaults)
    check_resources(model, num)
    check = None if tol is None else (
        tol, budget, _observables(model, observables),
        _axes(model, num, _given(numerics, options, defaults), temperature, energy_points,
              energy_given, uniform=False, wire=True))
    return _solve_on_mesh(SectionResponse, model, disorder, section, mu, field, temperature,
                          energy_points, num, cross_axes(wire), cross_axes(wire), wire,
                          "a wire", (rtol, maxiter, precondition), progress, check,
                          scheduler=validate_scheduler(scheduler))


def solve_periodic_strip(
    model: Model,
    disorder: PointDisorder,
    strip: PeriodicStrip,
    mu: float,
    field,
    *,
    temperature: float = 0.0,
    energy_points: int | None = None,
    tol: float | None = 1e-3,
    observables: Sequence | None = None,
    budget: float | None = None,
    progress: Progress | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    numerics: Numerics | None = None,
    scheduler=None,
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
    tol, budget, energy_points, energy_given = _accuracy_inputs(tol, budget, energy_points)
    if model.dim != 2:
        raise NotImplementedError("solve_periodic_strip needs a 2D model; for a 3D wire use "
                                  "solve_cross_section")
    if field[1] != 0 or field[0] == 0:
        raise ValueError(f"the field must lie along x (the periodic direction), got "
                         f"{field.tolist()}")
    num = resolve_numerics(numerics, options)
    check_resources(model, num)
    check = None if tol is None else (
        tol, budget, _observables(model, observables),
        _axes(model, num, _given(numerics, options, None), temperature, energy_points,
              energy_given, uniform=False))
    return _solve_on_mesh(PeriodicStripResponse, model, disorder, strip, mu, field, temperature,
                          energy_points, num, 1, (0, 1), 0, "a strip",
                          (rtol, maxiter, precondition), progress, check,
                          scheduler=validate_scheduler(scheduler))
