"""A requested accuracy for every solver: error estimates from coarser resolutions,
refinement until ``tol`` is met, and :class:`ConvergenceWarning` when it is not
(docs/accuracy.md, "Error estimates and tol").

Each numerical axis a (``angles``, ``polar``, ``azimuth``, ``radial_order``, ``bz_grid``,
``bz_contour_points`` and the thermal ``energy_points``) is checked by solving again with
it at 3/4 and 1/2 of its value n_a, every other axis unchanged: two equal steps, since
these rules converge faster than any power of n. From a quantity v0, v1, v2 at the
three resolutions (docs/accuracy.md):

    d = |v0 - v1|,    r = ||v0 - v1|| / ||v1 - v2||    (max norms)
    e_a = d r' / (1 - r')   if r < 1/2, r' = max(r, 1/8) (geometric convergence in equal
                            steps: the error of v0 is the sum of the remaining steps,
                            d (r + r^2 + ...); r is not trusted below 1/8, SLOWEST)
    e_a = d                 otherwise (not yet asymptotic: the coarse step itself)

The slab cells, second order, are checked on nested meshes of half and a quarter of the
cells, with r' = max(r, 2^-2) (observed order 1.7 next to a diffuse wall). An axis whose
first coarse level agrees with the start to 1e-13 (an isotropic film's azimuth) is not
checked further. After a refinement, the other axes are checked again at the refined
numerics before the solve counts as converged. The estimate of a result is the sum of
e_a over the axes, for any quantity computed from it (``Convergence.error_of``). Cells
are compared on nested meshes: the coarse faces are every second face of the fine ones,
so a cell average of the fine mesh restricts exactly onto the coarse mesh and the
estimate is prolonged back cell by cell. A cross-section's mesh (the axis "mesh", second
order) is checked the same way on meshes 2 and 4 times coarser, which need not be nested
(Gmsh triangles): a grid is then a mesh object whose ``restriction(coarse)`` averages
the fine cells whose centres each coarse cell holds (:class:`SectionMesh`).

An axis may carry a cheaper ``trial`` value, tried before its start: the azimuth of 3D
films and uniform solves and the angles of 2D uniform solves, at 8. Where the decisive
quantities and the response of every traceless element of the density matrix agree with
the first coarse level (6) to 1e-13, and its shells have the density of states of the
start's at every energy node (so that no small pocket is missed by both), the axis is
exact there (the trapezoid rule on a shell isotropic about the axis, or on a response
that is a trigonometric polynomial of low degree, such as the Rashba shells with both
bands at the Fermi level) and keeps the trial value; the trial solves are then the start
and its first level. Otherwise the axis starts at its default, and the two trial solves
were the cost of trying.

The solver refines (doubles; cells: bisects) the axis with the largest estimate until
the estimated relative error of the decisive quantities (the charge current, and the
``observables`` the user passes) is below ``tol``, an axis reaches ``2**MAX_DOUBLINGS``
times its start, or the time ``budget`` runs out; then ``converged`` is False and a
:class:`ConvergenceWarning` names the axis. Axes the user set explicitly are estimated but
never refined.

This module is physics-neutral: the solvers give it a function that solves at given
settings and one that extracts the decisive quantities.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

#: Doublings of one axis beyond its starting value before the solver gives up on it.
MAX_DOUBLINGS = 3
#: Below this ratio of successive level differences the convergence counts as geometric
#: and is extrapolated; above it the estimate is the coarse step itself.
GEOMETRIC = 0.5
#: The smallest ratio r the extrapolation uses: the error is assumed to shrink by at most
#: 8 per step of n/4. Coarse levels converge erratically (aliasing of the periodic
#: trapezoid, grazing panels with one node each), and a measured r of 1e-3 from them
#: made the estimate 5x optimistic on a Kubo grid; with r >= 1/8 it is 2.5x optimistic
#: there and 10x pessimistic on the thinnest 3D film (docs/accuracy.md).
SLOWEST = 0.125
#: Relative difference between the first coarse level and the start below which an axis
#: counts as exact (rounding): its second coarse level is not solved.
EXACT = 1e-13


#: The smallest scale of a conductivity for the check (internal units, e^2/hbar nm^(2-d)):
#: the conductance quantum e^2/h. Errors are relative to max(|sigma|, e^2/h), so the
#: vanishing conductivity of a trivial insulator (1e-16 of rounding, or 5e-6 e^2/h of
#: Brillouin-zone error on a coarse grid) is judged against the quantum of its Hall
#: conductance, not against itself.
CONDUCTIVITY_SCALE = 1 / (2 * np.pi)


class ConvergenceWarning(UserWarning):
    """A solver could not meet its ``tol``: the message names the axis, the estimated
    error and what stopped the refinement (a budget, the doubling cap or a value fixed by
    the user)."""


@dataclass(frozen=True)
class Axis:
    """One numerical axis of a solve.

    name : the option ('angles', 'polar', 'cells', 'energy_points', ...)
    start : its starting value (the default or the user's)
    minimum : the smallest value the coarse levels may use
    fixed : set by the user: estimated, never refined
    order : algebraic order of convergence when known (cells: 2), used when the second
        coarse level is not available (r = 2^-order for a halving)
    hint : what the user sets to change the axis, where that is not an option of the
        same name (a cross-section's mesh: its cells or cell_size)
    trial : a cheaper value tried before ``start``: where the axis is exact there (its
        first coarse level agrees to ``EXACT``: the azimuth of a shell isotropic about the
        wall normal, which the trapezoid rule integrates exactly), the solve keeps it;
        otherwise it starts at ``start`` (None: no trial)
    """

    name: str
    start: int
    minimum: int
    fixed: bool = False
    order: float | None = None
    hint: str = ""
    trial: int | None = None

    def coarse(self, value: int, times: int = 1) -> int | None:
        """The first (times = 1: 3/4 of the value) or second (times = 2: half of it)
        coarser level, or None below the minimum. Two equal steps of n/4 below n: the
        rules of these axes converge faster than any power of n, and the closer levels
        keep the extrapolated estimate within a factor of a few of the true error
        (docs/accuracy.md), where n/2 and n/4 overestimated it 10-10^4 times."""
        v = int(value) - times * max(1, int(value) // 4)
        return v if v >= self.minimum else None


@dataclass
class AxisLevels:
    """The solutions an axis was checked on: its value there, the result at that value
    and at its two coarser levels (None where below the minimum)."""

    axis: Axis
    value: int
    results: tuple
    relative: float = 0.0
    #: the settings (as a sorted tuple) the axis was checked at
    at: tuple = ()


def _parents(fine: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """The coarse cell holding each cell of the nested fine mesh (faces in nm)."""
    centres = 0.5 * (fine[1:] + fine[:-1])
    return np.clip(np.searchsorted(coarse, centres) - 1, 0, len(coarse) - 2)


def _cells(grid) -> int:
    """Number of cells of a grid: slab faces (an array of J + 1 faces) or a mesh object
    with ``cells``."""
    return len(grid) - 1 if isinstance(grid, np.ndarray) else int(grid.cells)


def _same_grid(fine, coarse) -> bool:
    """Nothing to move between the grids: none, the same object, or slab faces of equal
    length. A grid is an array of slab faces (nested meshes), or a mesh object with
    ``parents_in(coarse)`` and ``restriction(coarse)`` (a cross-section,
    :class:`SectionMesh`)."""
    return (fine is None or coarse is None or fine is coarse
            or (isinstance(fine, np.ndarray) and len(fine) == len(coarse)))


def _restrict(values: np.ndarray, fine, coarse) -> np.ndarray:
    """Cell averages on the coarse grid of values on the fine one (last axis = cells);
    non-profile values pass unchanged."""
    values = np.asarray(values)
    if _same_grid(fine, coarse) or values.shape[-1:] != (_cells(fine),):
        return values
    n = _cells(coarse)
    flat = values.reshape(-1, values.shape[-1])
    if isinstance(fine, np.ndarray):  # nested slab meshes: width-weighted cell averages
        parent, w = _parents(fine, coarse), np.diff(fine)
        out = np.stack([np.bincount(parent, row * w, n) for row in flat])
        out /= np.bincount(parent, w, n)
    else:
        out = np.asarray(fine.restriction(coarse) @ flat.T).T
    return out.reshape(values.shape[:-1] + (n,))


def _prolong(values: np.ndarray, coarse, fine) -> np.ndarray:
    """Piecewise-constant values on ``fine`` of cell values on ``coarse``."""
    values = np.asarray(values)
    if _same_grid(fine, coarse) or values.shape[-1:] != (_cells(coarse),):
        return values
    parent = _parents(fine, coarse) if isinstance(fine, np.ndarray) else fine.parents_in(coarse)
    return values[..., parent]


def _grid(result):
    """The grid of a result's profiles or maps: slab faces, or a cross-section mesh
    (``result.cell_grid``), None for a uniform result."""
    return getattr(result, "cell_grid", None)


def _factor(step: float, prev: float | None, order: float | None) -> float:
    """g in e = d g (module docstring): step = ||v0 - v1||, prev = ||v1 - v2|| or None."""
    if prev is not None:
        r = step / prev if prev > 0 else (0.0 if step == 0 else np.inf)
    elif order is not None:
        r = 2.0 ** -order
    else:
        r = np.inf
    if r >= GEOMETRIC:
        return 1.0  # not asymptotic: the coarse step itself
    if prev is not None:  # a measured ratio: not trusted below the floor of the axis
        r = max(r, SLOWEST if order is None else 2.0 ** -order)
    return r / (1 - r)


def level_estimate(v0, v1, v2=None, *, order: float | None = None) -> np.ndarray:
    """Absolute error estimate of v0 from the same quantity at the first (v1) and second
    (v2, or None) coarser level, all on one grid (module docstring); same shape as v0."""
    v0, v1 = np.asarray(v0, float), np.asarray(v1, float)
    d = np.abs(v0 - v1)
    prev = None if v2 is None else float(np.max(np.abs(v1 - np.asarray(v2, float)), initial=0.0))
    return d * _factor(float(np.max(d, initial=0.0)), prev, order)


def _axis_estimate(vals: Sequence, faces: Sequence, order: float | None):
    """The estimate of vals[0]'s error from its coarser levels (vals[1:], on the nested
    meshes ``faces``, None for non-profiles): d on the first coarse mesh (cell by cell,
    so a wall cell is not averaged away), the ratio r on the coarsest. Returns (estimate,
    the faces it lives on)."""
    if len(vals) < 2:
        return np.zeros_like(np.asarray(vals[0], float)), faces[0]
    f0, f1 = faces[0], faces[1]
    v0 = _restrict(np.asarray(vals[0], float), f0, f1)
    v1 = np.asarray(vals[1], float)
    d = np.abs(v0 - v1)
    prev = None
    step = float(np.max(d, initial=0.0))
    if len(vals) >= 3:
        f2 = faces[2]
        a, b = _restrict(v0, f1, f2), _restrict(v1, f1, f2)
        step = float(np.max(np.abs(a - b), initial=0.0))
        prev = float(np.max(np.abs(b - np.asarray(vals[2], float)), initial=0.0))
    return d * _factor(step, prev, order), f1


@dataclass
class Convergence:
    """How a solver met (or did not meet) its ``tol``: ``result.convergence``.

    tol : the requested relative accuracy
    converged : the estimated relative error of the decisive quantities is below tol
    numerics : the values finally used on every checked axis
    estimates : estimated relative error per axis (of the decisive quantities, max norm
        over them, each relative to its own scale)
    fixed : axes set by the user (never refined)
    reason : why refinement stopped short of tol ('' when converged)
    solves : number of solves made (the result's and the coarse ones)
    unchecked : axes whose coarse levels the solver refused or that have none, with the
        message (checked on fewer levels, or not at all: the estimate then says nothing
        about them, and ``converged`` is False)
    """

    tol: float
    converged: bool
    numerics: dict
    estimates: dict
    fixed: tuple
    reason: str = ""
    solves: int = 1
    levels: list = field(default_factory=list, repr=False)
    unchecked: dict = field(default_factory=dict)

    @property
    def error(self) -> float:
        """The estimated relative error of the decisive quantities (sum over axes)."""
        return float(sum(self.estimates.values()))

    def error_of(self, final, fn: Callable, value=None) -> np.ndarray:
        """Estimated absolute error of ``fn(final)`` (any float or array computed from a
        result: a profile, a mean, a conductance), same shape: the sum over axes of
        :func:`level_estimate` on the results each axis was checked on. ``value`` is
        fn(final) when already computed. A profile must be returned whole (its cells are
        matched across the nested meshes of the cells axis): the error of one cell is
        ``error_of(lambda r: r.density(op).total)[j]``, not ``fn = ...total[j]``, which
        would compare different cells of the coarser meshes."""
        value = np.asarray(fn(final) if value is None else value, float)
        total = np.zeros_like(value)
        target = _grid(final)
        for lev in self.levels:
            rs = [r for r in lev.results if r is not None]
            vals = [value if r is final else np.asarray(fn(r), float) for r in rs]
            est, on = _axis_estimate(vals, [_grid(r) for r in rs], lev.axis.order)
            # an axis checked at other settings of a refined axis: its mesh is nested too
            total = total + np.broadcast_to(_prolong(est, on, target), value.shape)
        return total

    def as_dict(self) -> dict:
        """A JSON-able summary (written into result files)."""
        return {"tol": self.tol, "converged": self.converged, "numerics": dict(self.numerics),
                "estimates": {k: float(v) for k, v in self.estimates.items()},
                "error": self.error, "fixed": list(self.fixed), "reason": self.reason,
                "solves": self.solves, "unchecked": dict(self.unchecked)}


def _relative(probes0: Sequence, probes1: Sequence, probes2, order, faces,
              floors: Sequence) -> float:
    """Largest estimated relative error over the decisive quantities, each relative to
    max(its max-norm scale, its floor) (quantities vanishing identically without a floor
    are skipped)."""
    worst = 0.0
    for i, v0 in enumerate(probes0):
        scale = max(float(np.max(np.abs(v0), initial=0.0)), floors[i])
        if scale == 0.0 or not np.isfinite(scale):
            continue
        vals = [v0, probes1[i]] + ([] if probes2 is None else [probes2[i]])
        est, _ = _axis_estimate(vals, faces, order)
        worst = max(worst, float(np.max(est, initial=0.0)) / scale)
    return worst


def converge(solve_at: Callable[[dict], object], probes: Callable[[object], list],
             axes: Sequence[Axis], *, tol: float, budget: float | None = None,
             refine: Callable[[dict, Axis], dict] | None = None,
             coarsen: Callable[[dict, Axis, int], dict | None] | None = None,
             trial_probes: Callable[[object], list] | None = None,
             accept_trial: Callable[[dict, dict], bool] | None = None,
             stacklevel: int = 3):
    """Solve at the start values, check every axis on two coarser levels, refine until the
    estimate meets ``tol`` (module docstring). Returns the finest result with
    ``result.convergence`` set.

    solve_at(settings) : a result at the settings {axis name: value}
    probes(result) : the decisive quantities of a result: arrays, or (array, floor) pairs
        whose floor is the smallest scale their error is measured against
    refine(settings, axis) / coarsen(settings, axis, times) : the settings with one axis
        doubled / at its first or second coarser level (None below its minimum); default:
        twice the value / :meth:`Axis.coarse`
    budget : seconds of wall time for the whole solve (None: no limit); a refinement that
        would exceed it is not started
    trial_probes(result) : arrays, or (array, floor) pairs, that must be exact too for an
        axis to keep its ``trial`` value, besides the decisive quantities (each judged
        against the largest of them and of the floors): the solvers pass the response of
        every element of the density matrix, so that a quantity the user asks for later is
        exact at the trial value as well
    accept_trial(tried, start) : a cheaper check that the trial settings see the same
        shells as the start settings (the solvers compare the densities of states at every
        energy node): two coarse levels that both miss a small pocket agree exactly, on
        nothing; None accepts
    """
    t0 = time.perf_counter()
    cache: dict = {}
    timing: dict = {}

    def key(settings):
        return tuple(sorted(settings.items()))

    def solve(settings, quiet=False):
        k = key(settings)
        if k not in cache:
            t = time.perf_counter()
            if quiet:  # coarse levels: their validity warnings repeat or mislead
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cache[k] = solve_at(dict(settings))
            else:
                cache[k] = solve_at(dict(settings))
            timing[k] = time.perf_counter() - t
        return cache[k]

    if coarsen is None:
        def coarsen(settings, axis, times):
            v = axis.coarse(settings[axis.name], times)
            return None if v is None else {**settings, axis.name: v}
    if refine is None:
        def refine(settings, axis):
            return {**settings, axis.name: 2 * settings[axis.name]}

    settings = {a.name: int(a.start) for a in axes}
    probe_cache: dict = {}
    floors: list = []

    def probed(settings_):
        k = key(settings_)
        if k not in probe_cache:
            got = probes(solve(settings_, quiet=True))
            # a probe is an array, or (array, floor): the smallest scale of its error
            pairs = [p if isinstance(p, tuple) else (p, 0.0) for p in got]
            floors[:] = [float(f) for _, f in pairs]
            probe_cache[k] = [np.asarray(v, float) for v, _ in pairs]
        return probe_cache[k]

    unchecked: dict = {}

    def coarse_solve(settings_, axis):
        """A coarse level, or None where the solver refuses it (e.g. a Kubo grid that
        would exceed its point budget): the axis is then checked on fewer levels."""
        if settings_ is None:
            return None
        try:
            solve(settings_, quiet=True)
            probed(settings_)
        except (ValueError, ArithmeticError) as exc:
            unchecked[axis.name] = f"{axis.name} = {settings_[axis.name]}: {exc}"
            return None
        return settings_

    def is_exact(at, half) -> bool:
        """The decisive quantities at ``at`` and at its first coarse level ``half`` agree
        to EXACT (rounding)."""
        p0, p1 = probed(at), probed(half)
        f0, f1 = _grid(solve(at)), _grid(solve(half, quiet=True))
        return all(np.max(np.abs(_restrict(a, f0, f1) - b), initial=0.0)
                   <= EXACT * max(float(np.max(np.abs(a), initial=0.0)), f)
                   for a, b, f in zip(p0, p1, floors))

    def check(axis, at):
        unchecked.pop(axis.name, None)
        first = coarsen(at, axis, 1)
        if first is None:
            unchecked[axis.name] = (f"{axis.name} = {at[axis.name]} has no coarser level to "
                                    f"check it against (smallest {axis.minimum})")
        half = coarse_solve(first, axis)
        if half is None:
            return AxisLevels(axis, at[axis.name], (solve(at),), 0.0, key(at))
        rs = [solve(at), solve(half, quiet=True)]
        p0, p1 = probed(at), probed(half)
        exact = is_exact(at, half)
        # exact already (an isotropic film's azimuth): the difference is rounding and the
        # second level would only confirm it
        quarter = None if exact else coarse_solve(coarsen(at, axis, 2), axis)
        probes_ = [p0, p1]
        if quarter is not None:
            rs.append(solve(quarter, quiet=True))
            probes_.append(probed(quarter))
        faces = [_grid(r) for r in rs]
        # an exact axis: its rounding-level step itself (no extrapolation by the order)
        rel = _relative(*probes_, *([None] if quarter is None else []),
                        None if exact else axis.order, faces + faces[-1:], floors)
        return AxisLevels(axis, at[axis.name], tuple(rs), rel, key(at))

    def trial_exact(at, half) -> bool:
        """is_exact, and the ``trial_probes`` agree to EXACT of the largest of them."""
        if not is_exact(at, half):
            return False
        if trial_probes is None:
            return True
        r0, r1 = solve(at), solve(half, quiet=True)
        a = [p if isinstance(p, tuple) else (p, 0.0) for p in trial_probes(r0)]
        b = [p[0] if isinstance(p, tuple) else p for p in trial_probes(r1)]
        scale = max((max(float(np.max(np.abs(x), initial=0.0)), float(f)) for x, f in a),
                    default=0.0)
        return all(np.max(np.abs(_restrict(np.asarray(x, float), _grid(r0), _grid(r1))
                                 - np.asarray(y, float)), initial=0.0) <= EXACT * scale
                   for (x, _), y in zip(a, b))

    trials = [a for a in axes if a.trial is not None and not a.fixed
              and a.minimum <= a.trial < a.start]
    if trials:
        # cheaper values first: an axis exact there keeps its value (the solves are reused
        # as the start and its first coarse level); the others start as usual
        tried = {**settings, **{a.name: int(a.trial) for a in trials}}
        solve(tried)
        for a in trials:
            first = coarsen(tried, a, 1)
            if first is not None and coarse_solve(first, a) is not None \
                    and trial_exact(tried, first) and (
                        accept_trial is None
                        or accept_trial({**settings, a.name: int(a.trial)}, settings)):
                settings[a.name] = int(a.trial)
        unchecked.clear()
    final = solve(settings)
    levels = {a.name: check(a, settings) for a in axes}
    reason = ""
    while True:
        total = sum(lev.relative for lev in levels.values())
        if total <= tol:
            # axes checked before another was refined: check them again where the result
            # now is (an angular error can grow 500x when the cells are refined 4x)
            stale = [lev.axis for lev in levels.values() if lev.at != key(settings)]
            if not stale:
                break
            if budget is not None and time.perf_counter() - t0 > budget:
                reason = (f"the budget of {budget:g} s stopped the check of "
                          f"{', '.join(a.name for a in stale)} at the refined numerics")
                break
            for a in stale:
                levels[a.name] = check(a, settings)
            continue
        free = [lev for lev in levels.values() if not lev.axis.fixed]
        pinned = [lev for lev in levels.values() if lev.axis.fixed]
        if not free or sum(lev.relative for lev in pinned) >= tol:
            worst = max(pinned or free, key=lambda lev: lev.relative)
            what = worst.axis.hint or worst.axis.name
            reason = (f"{worst.axis.name} = {settings[worst.axis.name]} was set explicitly "
                      f"(not refined); estimated relative error {total:.2g} > tol = {tol:g}: "
                      f"raise {what}, or leave it out so the solver refines it")
            break
        worst = max(free, key=lambda lev: lev.relative)
        a = worst.axis
        if settings[a.name] >= a.start * 2 ** MAX_DOUBLINGS:
            reason = (f"{a.name} reached {settings[a.name]} ({MAX_DOUBLINGS} doublings of "
                      f"{a.start}) with an estimated relative error {total:.2g} > tol = {tol:g}")
            break
        nxt = refine(settings, a)
        if budget is not None:
            expected = 2.0 * timing.get(key(settings), 0.0)
            if time.perf_counter() - t0 + expected > budget:
                reason = (f"the budget of {budget:g} s stopped the refinement of {a.name} at "
                          f"{settings[a.name]}: estimated relative error {total:.2g} > "
                          f"tol = {tol:g}")
                break
        try:
            refined = solve(nxt)
        except (ValueError, ArithmeticError) as exc:  # e.g. a grid beyond its point budget
            reason = (f"refining {a.name} to {nxt[a.name]} failed ({exc}); estimated "
                      f"relative error {total:.2g} > tol = {tol:g}")
            break
        settings, final = nxt, refined
        levels[a.name] = check(a, settings)
    if not reason and unchecked:
        reason = "not checked: " + "; ".join(unchecked.values())
    converged = not reason
    if reason:
        warnings.warn(f"not converged to tol = {tol:g}: {reason}", ConvergenceWarning,
                      stacklevel=stacklevel)
    final.convergence = Convergence(
        tol=float(tol), converged=converged, numerics=dict(settings),
        estimates={name: float(lev.relative) for name, lev in levels.items()},
        fixed=tuple(a.name for a in axes if a.fixed), reason=reason, solves=len(cache),
        levels=list(levels.values()), unchecked=dict(unchecked))
    return final


def check_tol(tol) -> float | None:
    """``tol`` validated: None (no estimate, no refinement) or a float in [1e-12, 0.5)."""
    if tol is None:
        return None
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) \
            or not np.isfinite(tol) or not 1e-12 <= tol < 0.5:
        raise ValueError(f"tol must be a relative accuracy in [1e-12, 0.5) or None, got {tol!r}")
    return float(tol)


def check_budget(budget) -> float | None:
    """``budget`` validated: None or a positive number of seconds."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, float, np.floating, np.integer)) \
            or not np.isfinite(budget) or budget <= 0:
        raise ValueError(f"budget must be a positive time in seconds or None, got {budget!r}")
    return float(budget)


class Estimated:
    """Mixin of the result classes: ``convergence``, ``converged`` and the error
    estimates attached to the contributions they return."""

    #: how the solve met its tol (:class:`Convergence`), None for ``tol=None``
    convergence: Convergence | None = None

    @property
    def converged(self) -> bool | None:
        """True if the estimated error meets ``tol``; None when no estimate was made."""
        return None if self.convergence is None else self.convergence.converged

    def error_of(self, fn: Callable, value=None):
        """Estimated absolute error of any quantity ``fn(result)`` (float or array), e.g.
        ``r.error_of(lambda r: r.conductance_ratio())``; None for ``tol=None`` solves."""
        if self.convergence is None:
            return None
        return self.convergence.error_of(self, fn, value)

    def _estimated(self, parts, fn: Callable):
        """``parts`` (Contributions of this result) with the error of their total, where
        ``fn(result)`` computes the same Contributions on another result."""
        if self.convergence is None:
            return parts
        return parts.with_error(self.convergence.error_of(self, lambda r: fn(r).total,
                                                          parts.total))
