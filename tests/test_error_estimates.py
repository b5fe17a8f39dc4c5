"""The error estimates of ``tol`` against the references of the validation suite (issue 12,
items 1-2; docs/accuracy.md, "Error estimates and tol"): solved with the defaults (tol =
1e-3), each result must be within tol of its reference, converged, and honest: the true
error below 3x the estimate (asserted only where the true error is above 1e-8 relative:
below that it is rounding or a plateau of the rule and the ratio is noise), and the
estimate not more than 10x pessimistic where that holds at the measured values (each
docstring gives them; the bounds are the issue's criteria, or, where a case misses
them, about twice the measured ratio with the miss stated). Known failures of the
estimator are pinned as strict xfails. The machinery itself (synthetic solves) is in
tests/test_convergence.py; the honesty table over the whole suite comes from
``python benchmarks/bench_tol.py --honesty``.
"""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import ParabolicBand, RashbaFerromagnet
from mesokinetics.quadrature import KB_EV_K
from mesokinetics.reference import (fuchs_sondheimer_ratio, fuchs_sondheimer_ratio_2d,
                                    rectangular_wire_ratio)

ELL = 10.0  # mean free path (nm)
MU = 0.2  # eV
TOL = 1e-3  # the default
NOISE = 1e-8  # relative errors below this are rounding: ratios there are not asserted


# the same metals (l = 10 nm at mu = 0.2 eV) as the default-accuracy references
from test_defaults_accuracy import metal2d, metal3d  # noqa: E402,F401  (pytest fixtures)


def relative(value, reference):
    return abs(value / reference - 1)


def assert_honest(true, est, *, pessimism=10.0):
    """true < 3 est (above the noise) and est < ``pessimism`` x true."""
    assert np.isfinite(est) and est > 0
    if true > NOISE:
        assert true < 3 * est, f"optimistic: true {true:.3g} > 3 x estimate {est:.3g}"
        assert est < pessimism * true, \
            f"pessimistic: estimate {est:.3g} > {pessimism:g} x true {true:.3g}"


def conductance_error(r):
    """(G/G_bulk, its estimated relative error)."""
    g = r.conductance_ratio()
    return g, float(r.error_of(lambda x: x.conductance_ratio())) / abs(g)


# --------------------------------------------------------------------------------------
# Films and strips: the Fuchs-Sondheimer and Soffer references
# --------------------------------------------------------------------------------------

def test_film_estimate_is_honest(metal3d):
    """3D Fuchs-Sondheimer film d/l = 0.01, p = 0 (the worst of the film grid at the
    defaults): measured true 1.14e-5, estimate 1.06e-4 (9.3x pessimistic), polar 48 kept,
    5 solves (1 + 2 polar + 1 azimuth + 1 cells: the azimuth of this isotropic film and
    the cells of this band with S = 0 agree with the start to rounding at their first
    coarse level, so their second is skipped). The azimuth is tried at 8 first (Axis.trial)
    and kept, being exact there: the conductance equals the one at the default 32 to
    rounding (measured 2e-16), at a third of the cost."""
    model, disorder = metal3d
    film = mk.Film(0.01 * ELL, 0.0, normal="z")
    r = mk.solve_slab(model, disorder, film, MU, (1.0, 0.0, 0.0))
    g, est = conductance_error(r)
    true = relative(g, fuchs_sondheimer_ratio(0.01, 0.0))
    assert r.converged is True and true < TOL
    assert r.convergence.numerics == {"polar": 48, "azimuth": 8, "cells": 200}
    assert r.convergence.solves == 5
    assert_honest(true, est)
    full = mk.solve_slab(model, disorder, film, MU, (1.0, 0.0, 0.0), azimuth=32, tol=None)
    assert g == pytest.approx(full.conductance_ratio(), rel=1e-13)


def test_strip_estimate_is_honest(metal2d):
    """2D Fuchs-Sondheimer strip d/l = 0.03, p = 0: measured true 1.23e-7, estimate
    4.96e-7 (est/true 4.0); Soffer walls eta = 2 nm, d/l = 0.01 against 2048 angles: true
    9.0e-7, estimate 4.49e-6 (est/true 5.0)."""
    model, disorder = metal2d
    r = mk.solve_slab(model, disorder, mk.Strip(0.03 * ELL, 0.0), MU, (1.0, 0.0))
    g, est = conductance_error(r)
    true = relative(g, fuchs_sondheimer_ratio_2d(0.03, 0.0))
    assert r.converged is True and true < TOL
    assert_honest(true, est)

    walls = mk.Soffer(2.0)
    ref = mk.solve_slab(model, disorder, mk.Strip(0.1, walls, cells=20), MU, (1.0, 0.0),
                        angles=2048, tol=None).conductance_ratio()
    r = mk.solve_slab(model, disorder, mk.Strip(0.1, walls), MU, (1.0, 0.0))
    g, est = conductance_error(r)
    true = relative(g, ref)
    assert r.converged is True and true < TOL
    assert_honest(true, est)


def test_strip_estimate_where_the_levels_are_erratic(metal2d):
    """2D Fuchs-Sondheimer strip d/l = 0.01, p = 0.5: errors -2.6e-4, -2.3e-7, -3.6e-8 at
    64, 96, 128 angles (96 happens to be close), so the ratio of the level steps is 7.6e-4
    and the plain extrapolation gave 1.5e-10 (244x optimistic). The ratio is now not
    trusted below 1/8 (convergence.SLOWEST): measured estimate 2.78e-8 against a true
    3.64e-8 (true/est 1.3)."""
    model, disorder = metal2d
    r = mk.solve_slab(model, disorder, mk.Strip(0.01 * ELL, 0.5), MU, (1.0, 0.0))
    g, est = conductance_error(r)
    assert_honest(relative(g, fuchs_sondheimer_ratio_2d(0.01, 0.5)), est)


@pytest.mark.xfail(strict=True, reason="known: the polar levels 24, 36, 48 of the graded film "
                   "rule converge faster than the floor 1/8 of the step ratio allows for "
                   "(docs/accuracy.md, Error estimates and tol)")
def test_film_estimate_where_the_levels_converge_fast(metal3d):
    """3D Fuchs-Sondheimer film d/l = 0.01, p = 0.5: errors -3.6e-3, -2.5e-4, -2.4e-7 at
    polar 24, 36, 48 (the last step 1000x): estimate 3.6e-5 against a true 2.4e-7 (149x
    pessimistic; far below tol, so no refinement is wasted on it)."""
    model, disorder = metal3d
    r = mk.solve_slab(model, disorder, mk.Film(0.01 * ELL, 0.5, normal="z"), MU, (1.0, 0.0, 0.0))
    g, est = conductance_error(r)
    assert_honest(relative(g, fuchs_sondheimer_ratio(0.01, 0.5)), est)


@pytest.mark.xfail(strict=True, reason="known: below d/l ~ 3e-3 the innermost graded panel "
                   "keeps one node at polar 24, 36 and 48, so the coarse levels cannot see "
                   "its error and tol is claimed met (docs/accuracy.md)")
def test_very_thin_film_below_the_grading(metal3d):
    """3D film d/l = 0.001, p = 0 at the defaults: errors -2.9e-2, -4.4e-3, -3.4e-3 at polar
    24, 36, 48 (-1.5e-3 at 64, 7.8e-5 at 96): estimate 1.4e-4, converged True, true error
    3.4e-3 > tol."""
    model, disorder = metal3d
    r = mk.solve_slab(model, disorder, mk.Film(0.001 * ELL, 0.0, normal="z"), MU, (1.0, 0.0, 0.0))
    g, est = conductance_error(r)
    assert r.converged is True
    assert relative(g, fuchs_sondheimer_ratio(0.001, 0.0)) < TOL


@pytest.mark.xfail(strict=True, reason="known: without grading (grazing_panels = 1, not a "
                   "checked axis) the strip's angular error is erratic and the coarse step "
                   "underestimates it (docs/accuracy.md)")
def test_ungraded_strip_rule(metal2d):
    """Strip d/l = 0.01, p = 0, grazing_panels = 1: errors -2.3e-2, 6.8e-4, 1.4e-3 at 64, 96,
    128 angles: estimate 1.05e-4, converged True, true error 1.4e-3 > tol."""
    model, disorder = metal2d
    r = mk.solve_slab(model, disorder, mk.Strip(0.01 * ELL, 0.0), MU, (1.0, 0.0), grazing_panels=1)
    assert r.converged is True
    assert relative(r.conductance_ratio(), fuchs_sondheimer_ratio_2d(0.01, 0.0)) < TOL


# --------------------------------------------------------------------------------------
# Wall values of a Rashba ferromagnet strip: angles and cells
# --------------------------------------------------------------------------------------

FM = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=0.1, magnetization=(1, 0, 0))
FM_MU = 0.3


def _fm_strip(slab=None, **kw):
    disorder = mk.PointDisorder.from_mean_free_path(FM, FM_MU, 20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        return mk.solve_slab(FM, disorder, slab or mk.Strip(200.0, 0.0), FM_MU, (1e-3, 0.0), **kw)


class _OnFaces(mk.Slab):
    """A strip on given faces (references on the solver's own mesh and nested finer ones)."""

    def __init__(self, faces):
        super().__init__(200.0, 0.0, cells=len(faces) - 1)
        object.__setattr__(self, "_given_faces", np.asarray(faces, float))

    def faces(self, mean_free_path):
        return self._given_faces


def _bisect(faces):
    return np.sort(np.concatenate([faces, 0.5 * (faces[1:] + faces[:-1])]))


def _wall_cell(result, faces):
    """The average of <s_z> over the first cell of ``faces`` (nested in result.faces)."""
    sz = result.density(ops.spin(FM, "z")).total
    inside = result.faces[1:] <= faces[1] * (1 + 1e-12)
    return float(np.sum(sz[inside] * result.widths[inside]) / faces[1])


@pytest.fixture(scope="module")
def fm_default():
    return _fm_strip()


def test_ferromagnet_strip_wall_spin_estimate_is_honest(fm_default):
    """Wall-cell <s_z>, m along the wall (the shells graze at +5.5 and -11.0 degrees),
    defaults (128 angles, 200 cells): its ``.error`` against the mesh-converged value,
    from the mesh bisected once and twice, extrapolated with the observed ratio 0.315 per
    bisection (the order near the wall is 1.7, where the cells axis assumes 2): measured
    true 3.33e-5, estimate 1.29e-5 (true/est 2.6, the closest to 3 on the suite). The
    angular error is rounding here (6.9e-10 against 256 and 1024 angles on the same mesh,
    which agree to 5e-14; the angles axis estimates 1.1e-9), so the reference keeps the
    128 angles."""
    r = fm_default
    assert r.converged is True and r.convergence.numerics == {"angles": 128, "cells": 200}
    d = r.density(ops.spin(FM, "z"))
    assert d.error.shape == d.total.shape and np.all(np.isfinite(d.error))
    faces = r.faces
    levels = [float(d.total[0])]
    for f in (_bisect(faces), _bisect(_bisect(faces))):
        levels.append(_wall_cell(_fm_strip(_OnFaces(f), tol=None), faces))
    q = (levels[2] - levels[1]) / (levels[1] - levels[0])
    assert 0.2 < q < 0.4  # measured 0.315
    reference = levels[2] + (levels[2] - levels[1]) * q / (1 - q)
    true = relative(d.total[0], reference)
    est = d.error[0] / abs(d.total[0])
    assert true < TOL
    assert_honest(true, est)


def test_observables_make_their_estimate_count(fm_default):
    """At tol = 8e-6 the current profile of the strip is converged at the defaults
    (estimates: angles 1.8e-11, cells 1.44e-6), but the <s_z> profile, steeper at the
    walls, is not: ``observables=[s_z]`` bisects the cells once (400 cells) and the
    estimate there, 4.5e-6 (cells) of the s_z profile, meets tol."""
    sz = ops.spin(FM, "z")
    plain = fm_default.convergence
    assert plain.error < 8e-6  # tol = 8e-6 without observables keeps the defaults
    r = _fm_strip(tol=8e-6, observables=[sz])
    c = r.convergence
    assert c.converged is True and c.numerics == {"angles": 128, "cells": 400}
    assert c.error < 8e-6
    # the estimate is s_z's: at twice the cells it is still above the current's at 200
    assert c.estimates["cells"] > 2 * plain.estimates["cells"]
    d = r.density(sz)
    assert np.all(np.isfinite(d.error)) and d.error.shape == (400,)


# --------------------------------------------------------------------------------------
# Finite temperature: the energy window
# --------------------------------------------------------------------------------------

EDELSTEIN = RashbaFerromagnet(mass=1.0, alpha=0.1)  # band crossing at 0, ring bottom below
ED_MU, ED_T = 0.05, 100.0


@pytest.fixture(scope="module")
def edelstein():
    """(disorder, <s_y> at 100 K from the thermal average of T = 0 solves): above the band
    crossing the T = 0 Edelstein density is constant (one solve at 0.1 eV); between the
    ring bottom and 0, 32 Gauss-Legendre nodes in theta (tests/test_defaults_accuracy.py).
    16 rays integrate these isotropic shells exactly."""
    disorder = mk.PointDisorder.from_tau(EDELSTEIN, ED_MU, 100.0)
    op = ops.spin(EDELSTEIN, "y")
    kt = KB_EV_K * ED_T
    bottom = -EDELSTEIN.m * EDELSTEIN.alpha ** 2 / 2

    def cold(e):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mk.ValidityWarning)
            return mk.solve_uniform(EDELSTEIN, disorder, float(e), (1e-3, 0.0), angles=16,
                                    tol=None).density(op).total

    t, w = np.polynomial.legendre.leggauss(32)
    theta = 0.5 * np.pi * (t + 1)
    eps = 0.5 * bottom - 0.5 * (0.0 - bottom) * np.cos(theta)
    dfde = 1 / (4 * kt * np.cosh((eps - ED_MU) / (2 * kt)) ** 2)
    below = np.sum(0.25 * np.pi * (0.0 - bottom) * np.sin(theta) * w * dfde
                   * np.array([cold(e) for e in eps]))
    return disorder, cold(0.1) / (1 + np.exp(-ED_MU / kt)) + below


def _warm(disorder, **kw):
    with warnings.catch_warnings():  # the shells near the crossing: gap x tau < 10
        warnings.simplefilter("ignore", mk.ValidityWarning)
        return mk.solve_uniform(EDELSTEIN, disorder, ED_MU, (1e-3, 0.0), temperature=ED_T, **kw)


def test_finite_temperature_estimate_is_honest(edelstein):
    """Edelstein <s_y> of the Rashba 2DEG at 100 K, mu = 0.05 eV (the band crossing 5.8 kT
    below mu), 16 rays (exact for these shells: fixed, and checked at 12 only, exact
    there), the window cut at the ring bottom and the crossing: measured true 1.57e-6,
    estimate 8.3e-7 (true/est 1.9), all of it the energy window (24 nodes, checked at 18
    and 12); 5 solves. (The uncut window of before: true 2.14e-4, estimate 1.82e-4.)"""
    disorder, ref = edelstein
    op = ops.spin(EDELSTEIN, "y")
    r = _warm(disorder, angles=16)
    d = r.density(op)
    true, est = relative(d.total, ref), abs(d.error / d.total)
    assert r.converged is True and true < TOL
    assert r.convergence.numerics["energy_points"] == 24 and r.convergence.fixed == ("angles",)
    assert r.convergence.estimates["angles"] < 1e-14  # exact rule
    assert_honest(true, est)


def test_refinement_of_the_energy_window_meets_a_tighter_tol(edelstein):
    """At tol = 3e-7 the default 24 nodes (true 1.57e-6, estimated 6.7e-7 on the decisive
    quantities) are not enough: the window is doubled once (48 nodes) and meets it:
    measured true 1.8e-8, estimate 2.3e-8 (1.3x), 9 solves. The cut window converges
    spectrally on each piece: 1.1e-5, 3.6e-6, 1.6e-6, 3.8e-7, 1.8e-8 at 12, 16, 24, 32,
    48 nodes."""
    disorder, ref = edelstein
    op = ops.spin(EDELSTEIN, "y")
    r = _warm(disorder, angles=16, tol=3e-7)
    assert r.converged is True and r.convergence.numerics["energy_points"] == 48
    d = r.density(op)
    assert_honest(relative(d.total, ref), abs(d.error / d.total))
    assert relative(d.total, ref) < 3e-7


# --------------------------------------------------------------------------------------
# Wires: the angles and the mesh
# --------------------------------------------------------------------------------------

def test_wire_estimate_includes_the_mesh(metal3d):
    """Square wire of side l, diffuse, on a coarse 16 x 16 mesh the user chose (fixed,
    checked on 8 x 8 and 4 x 4): polar 16 and azimuth 32 are kept, 7 solves. Against the
    free-path integral 0.517391: measured true 6.33e-5, estimate 8.68e-5 (1.4x; the mesh
    8.2e-5 of it, second order: -2.8e-4, -6.3e-5, -1.6e-5 at 8, 16, 32 cells)."""
    model, disorder = metal3d
    section = mk.Rectangle(ELL, ELL, 0.0, cells=16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        r = mk.solve_cross_section(model, disorder, section, MU, (1.0, 0.0, 0.0))
    g, est = conductance_error(r)
    assert r.converged is True
    assert r.convergence.numerics == {"polar": 16, "azimuth": 32, "mesh": 4}
    assert r.convergence.fixed == ("mesh",)
    assert r.convergence.estimates["mesh"] > 10 * r.convergence.estimates["polar"]
    assert_honest(relative(g, rectangular_wire_ratio(1.0)), est)


def test_periodic_strip_estimate_includes_the_mesh(metal2d):
    """Unit cell (5 nm x l) of a strip without notches on the default 32 x 32 mesh: the
    strip's Fuchs-Sondheimer ratio. Measured true 4.9e-7, estimate 1.1e-6 (the mesh
    1.1e-6, angles 7e-10), 5 solves, none refined."""
    model, disorder = metal2d
    r = mk.solve_periodic_strip(model, disorder, mk.PeriodicStrip(5.0, ELL, 0.0), MU, (1.0, 0.0))
    g, est = conductance_error(r)
    assert r.converged is True and r.convergence.numerics["mesh"] == 4
    assert "mesh" not in r.convergence.fixed and r.section.cells == (32, 32)
    assert_honest(relative(g, fuchs_sondheimer_ratio_2d(1.0, 0.0)), est)


def test_wire_observables_are_judged_on_their_moments():
    """Rashba-film wire 40 x 20 nm (l = 20 nm), 16 x 8 cells given, observables=[s_z]: the
    edge accumulation is odd in y, so its integral vanishes (rounding, 3e-20) and is
    judged against the floor int |s_z| dA, and its y moment carries the check. That moment
    converges at first order in the cells (-3.397, -3.267, -3.194, -3.155, -3.134 x 1e-2
    at 8 x 4 ... 128 x 64): true error at 16 x 8 about 4.2e-2 of the floor, estimated
    3.7e-2 (mesh 3.5e-2), so the solve is not converged and the warning names the mesh;
    without observables the same solve meets tol (current: mesh 4.3e-4)."""
    from mesokinetics.models import RashbaFerromagnet as RF

    model = RF(mass=1.0, alpha=0.1, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    section = mk.Rectangle(40.0, 20.0, 0.0, cells=(16, 8))
    sz = ops.spin(model, "z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        with pytest.warns(mk.ConvergenceWarning, match="mesh = 4 was set explicitly"):
            r = mk.solve_cross_section(model, disorder, section, 0.2, (1e-3, 0.0, 0.0),
                                       observables=[sz])
        plain = mk.solve_cross_section(model, disorder, section, 0.2, (1e-3, 0.0, 0.0))
    assert r.converged is False and 0.02 < r.convergence.estimates["mesh"] < 0.06
    assert plain.converged is True and plain.convergence.estimates["mesh"] < 1e-3
    d = r.density(sz)
    assert np.all(np.isfinite(d.error)) and np.max(d.error) < 0.1 * np.max(np.abs(d.total))


def test_mesh_levels_refused_by_a_notch_leave_the_mesh_unchecked(metal2d):
    """A notch edge at 1.25 nm sits on the faces of the 8 x 8 and 4 x 4 meshes of a 5 nm
    cell but not on those of 2 x 2: the second mesh level is refused, the mesh axis is
    checked on one level only and named in the ConvergenceWarning."""
    model, disorder = metal2d
    strip = mk.PeriodicStrip(5.0, 5.0, 0.0, cells=8, notches=[(0.0, 1.25, 0.0, 1.25)])
    with pytest.warns(mk.ConvergenceWarning, match="mesh"):
        r = mk.solve_periodic_strip(model, disorder, strip, MU, (1.0, 0.0))
    assert r.converged is False and "mesh" in r.convergence.unchecked


# --------------------------------------------------------------------------------------
# Behaviour: tol=None, explicit numerics, budget, refinement, bad values
# --------------------------------------------------------------------------------------

def test_tol_none_gives_no_estimate(metal2d):
    model, disorder = metal2d
    n = ops.charge_current(model, "x")
    r = mk.solve_slab(model, disorder, mk.Strip(ELL, 0.0, cells=20), MU, (1.0, 0.0), angles=32,
                      tol=None)
    assert r.convergence is None and r.converged is None
    assert r.error_of(lambda x: x.conductance_ratio()) is None
    for parts in (r.density(n), r.mean(n), r.accumulation(n), r.bulk.conductivity(),
                  r.bulk.response(n)):
        assert parts.error is None


def test_estimates_come_with_every_contribution(metal2d):
    """density, mean, accumulation of a strip and conductivity, response of its bulk all
    carry a finite estimate of the shape of their total (the strip's check)."""
    model, disorder = metal2d
    jx = ops.charge_current(model, "x")
    r = mk.solve_slab(model, disorder, mk.Strip(ELL, 0.0, cells=20), MU, (1.0, 0.0))
    assert r.converged is True and r.convergence.fixed == ("cells",)
    for parts in (r.density(jx), r.mean(jx), r.accumulation(jx), r.bulk.conductivity(),
                  r.bulk.response(jx)):
        err = np.asarray(parts.error)
        assert err.shape == np.shape(parts.total) and np.all(np.isfinite(err)) and np.all(err >= 0)


def test_explicit_numerics_are_not_refined_and_warn(metal2d):
    """angles = 32 on the strip d/l = 0.01 (error 6.6e-2 there): checked at 24 (16 is
    below the graded rule's minimum, 4 per panel), never refined; ConvergenceWarning naming
    angles, converged False. angles = 16 has no coarser level at all: not checked, which
    is not converged either."""
    model, disorder = metal2d
    strip = mk.Strip(0.01 * ELL, 0.0)
    with pytest.warns(mk.ConvergenceWarning, match="angles = 32 was set explicitly"):
        r = mk.solve_slab(model, disorder, strip, MU, (1.0, 0.0), angles=32)
    c = r.convergence
    assert r.converged is False and c.numerics["angles"] == 32 and "angles" in c.fixed
    assert c.error > TOL and "angles" in c.reason
    with pytest.warns(mk.ConvergenceWarning, match="angles = 16 has no coarser level"):
        r = mk.solve_slab(model, disorder, strip, MU, (1.0, 0.0), angles=16)
    assert r.converged is False and "angles" in r.convergence.unchecked


def test_default_numerics_are_refined_when_not_enough(metal2d):
    """With grazing_panels = 2 (not a checked axis) the default 128 angles miss tol on the
    strip d/l = 0.01 (measured 1.3e-3): the solver doubles twice (512) and the result
    meets it (2.0e-7; estimate 8.9e-7, est/true 4.4)."""
    model, disorder = metal2d
    ref = fuchs_sondheimer_ratio_2d(0.01, 0.0)
    old = mk.solve_slab(model, disorder, mk.Strip(0.01 * ELL, 0.0), MU, (1.0, 0.0),
                        grazing_panels=2, tol=None)
    assert relative(old.conductance_ratio(), ref) > TOL
    r = mk.solve_slab(model, disorder, mk.Strip(0.01 * ELL, 0.0), MU, (1.0, 0.0), grazing_panels=2)
    assert r.converged is True and r.convergence.numerics["angles"] == 512
    g, est = conductance_error(r)
    true = relative(g, ref)
    assert true < TOL
    assert_honest(true, est)


def test_budget_stops_the_refinement_with_a_warning(metal2d):
    model, disorder = metal2d
    with pytest.warns(mk.ConvergenceWarning, match="budget"):
        r = mk.solve_slab(model, disorder, mk.Strip(0.01 * ELL, 0.0), MU, (1.0, 0.0),
                          grazing_panels=2, budget=1e-6)
    assert r.converged is False and r.convergence.numerics["angles"] == 128
    assert "budget" in r.convergence.reason


def _every_finite_solver(metal2d, metal3d) -> list:
    """Calls of the strip, wire and periodic-strip solvers taking the tol options."""
    m2, d2 = metal2d
    m3, d3 = metal3d
    return [
        lambda **kw: mk.solve_slab(m2, d2, mk.Strip(ELL, 0.0, cells=4), MU, (1.0, 0.0), **kw),
        lambda **kw: mk.solve_cross_section(m3, d3, mk.Rectangle(ELL, ELL, 0.0, cells=4), MU,
                                            (1.0, 0.0, 0.0), **kw),
        lambda **kw: mk.solve_periodic_strip(m2, d2, mk.PeriodicStrip(ELL, ELL, cells=4), MU,
                                             (1.0, 0.0), **kw),
    ]


@pytest.mark.parametrize("bad", [0.0, -1e-3, 0.5, float("nan"), "1e-3", True])
def test_bad_tol_is_refused_by_every_solver(metal2d, metal3d, bad):
    for call in _every_finite_solver(metal2d, metal3d):
        with pytest.raises(ValueError, match="tol must be"):
            call(tol=bad)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan"), "10", True])
def test_bad_budget_is_refused_by_every_solver(metal2d, metal3d, bad):
    m2, d2 = metal2d
    calls = [lambda **kw: mk.solve_uniform(m2, d2, MU, (1.0, 0.0), **kw)]
    for call in calls + _every_finite_solver(metal2d, metal3d):
        with pytest.raises(ValueError, match="budget must be"):
            call(budget=bad)
