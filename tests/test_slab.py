"""Films and strips (THEORY.md section 6) against Fuchs-Sondheimer, the bulk engine and
exact sum rules and symmetries.

Tolerances come from the convergence study in docs/validation.md ("Finite samples"):
the Fuchs-Sondheimer ratio with the grazing-refined angular rule (polar = 64, six graded
panels) is within 6.7e-6 of the closed form over d/l in [0.01, 100]; the Rashba strip
centre matches the bulk to 1e-7.
"""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.coherence import gradient_kernel
from mesokinetics.models import ParabolicBand, RashbaFerromagnet
from mesokinetics.reference import fuchs_sondheimer_ratio

ELL = 10.0  # mean free path (nm)


@pytest.fixture(scope="module")
def metal3d():
    model = ParabolicBand(mass=1.0, dim=3)
    return model, mk.PointDisorder.from_mean_free_path(model, 0.2, ELL)


@pytest.mark.parametrize("kappa", [0.01, 0.1, 1.0, 10.0, 100.0])
@pytest.mark.parametrize("p", [0.0, 0.5, 0.9])
def test_fuchs_sondheimer_film_conductance(metal3d, kappa, p):
    model, disorder = metal3d
    film = mk.Film(kappa * ELL, p, cells=8, normal="z")
    # fixed numerics against the closed form (tol=None: one solve, no tol check)
    r = mk.solve_slab(model, disorder, film, 0.2, (1.0, 0.0, 0.0), polar=64, azimuth=4,
                      tol=None)
    assert r.conductance_ratio() == pytest.approx(fuchs_sondheimer_ratio(kappa, p), abs=1e-4)


def test_specular_film_is_bulk(metal3d):
    model, disorder = metal3d
    # an identity at any numerics: one solve at small ones (tol=None)
    r = mk.solve_slab(model, disorder, mk.Film(3.0, 1.0, cells=8, normal="z"), 0.2,
                      (1.0, 0.0, 0.0), polar=16, azimuth=4, tol=None)
    assert r.conductance_ratio() == pytest.approx(1.0, abs=1e-13)


@pytest.fixture(scope="module")
def rashba_strip():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    strip = mk.Strip(30 * 20.0, 0.0, cells=100)
    return model, mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=64)


def test_thick_strip_centre_equals_bulk(rashba_strip):
    model, r = rashba_strip
    c = len(r.centers) // 2
    for op in (ops.charge_current(model, "x"), ops.spin(model, "y")):
        d, b = r.density(op), r.bulk.density(op)
        assert d.total[c] == pytest.approx(b.total, rel=1e-3)
    js, jb = r.density(ops.spin_current(model, "z", "y")), r.bulk.density(ops.spin_current(model, "z", "y"))
    assert js.intrinsic[c] == pytest.approx(jb.intrinsic, rel=1e-12)
    assert js.disorder[c] == pytest.approx(jb.disorder, rel=1e-3)
    assert abs(js.total[c]) < 1e-3 * abs(jb.intrinsic)


def test_gradient_term_sum_rule(rashba_strip):
    """int_0^Y rho_grad dy = sum_n int_k delta(eps_n - mu) G_n (g_n(Y) - g_n(0)) for any
    face Y: the cell-average gradients telescope, so this holds to rounding. Checked over
    the lower half of the strip (over the whole strip the odd s_z profile integrates to 0)."""
    model, r = rashba_strip
    sol = r.solution
    op = ops.spin(model, "z")
    kern = gradient_kernel(sol.shell.bands, sol.shell.eigen_mask, op.in_eigenbasis(sol.shell.bands))[:, 1]
    half = len(r.centers) // 2
    for face in (half, len(r.centers)):
        closed = np.sum(sol.shell.weight * kern * (sol.g_faces[:, face] - sol.g_faces[:, 0]))
        integral = np.sum(r.density(op).gradient[:face] * r.widths[:face])
        assert integral == pytest.approx(closed, rel=1e-12, abs=1e-13)
    assert abs(np.sum(r.density(op).gradient[:half] * r.widths[:half])) > 1.0  # nonzero edge spin


def test_rashba_strip_symmetry(rashba_strip):
    model, r = rashba_strip
    sz = r.density(ops.spin(model, "z")).total
    sy = r.density(ops.spin(model, "y")).total
    assert np.max(np.abs(sz + sz[::-1])) < 1e-12 * np.max(np.abs(sz))
    assert np.max(np.abs(sy - sy[::-1])) < 1e-12 * np.max(np.abs(sy))
    assert np.max(np.abs(sz)) > 0.1


def test_solution_satisfies_walls_and_neutrality(rashba_strip):
    model, r = rashba_strip
    sol = r.solution
    shell = sol.shell
    flux = shell.weight * shell.multiplicity * shell.velocity[:, 1]
    scale = np.sum(np.abs(flux * sol.g_faces[:, 0]))
    assert abs(flux @ sol.g_faces[:, 0]) < 1e-12 * scale
    assert abs(flux @ sol.g_faces[:, -1]) < 1e-12 * scale
    charge = (shell.weight * shell.multiplicity) @ sol.g @ r.widths
    assert abs(charge) < 1e-12 * ((shell.weight * shell.multiplicity) @ np.abs(sol.g) @ r.widths)
    assert sol.residual < 1e-12 and sol.consistency < 1e-12


def test_specular_strip_is_bulk_for_a_mirror_symmetric_shell():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.05)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    # an identity at any numerics: one solve at small ones (tol=None)
    r = mk.solve_slab(model, disorder, mk.Strip(40.0, 1.0, cells=20), 0.2, (1.0, 0.0), angles=32,
                      tol=None)
    for axis in "xyz":
        d, b = r.density(ops.pauli(model, axis)), r.bulk.density(ops.pauli(model, axis))
        assert np.allclose(d.total, b.total, rtol=1e-11, atol=1e-11 * (abs(b.total) + 1))


def test_soffer_limits():
    model = ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ELL)
    run = lambda walls: mk.solve_slab(model, disorder, mk.Strip(ELL, walls, cells=8), 0.2,  # noqa: E731
                                      (1.0, 0.0), angles=64).conductance_ratio()
    assert run(mk.Soffer(0.0)) == pytest.approx(1.0, abs=1e-13)
    # very rough walls are diffuse except for grazing states with k_perp < 1/(2 eta):
    # measured 1.8e-5 above the p = 0 value for eta = 50 nm
    assert run(mk.Soffer(50.0)) == pytest.approx(run(0.0), rel=1e-4)
    smooth, rough = run(mk.Soffer(0.05)), run(mk.Soffer(0.3))
    assert run(0.0) < rough < smooth < 1.0


def test_specular_walls_of_a_shell_without_mirror_symmetry():
    """Rashba + Dresselhaus: specular walls pair states of equal k_parallel (issue 12 item
    3, tests/test_specular_asymmetric.py); a contour with more than two grazing points (an
    annulus, where k_parallel labels no unique partner) still needs diffuse walls."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, beta=0.05)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    r = mk.solve_slab(model, disorder, mk.Strip(40.0, 0.5, cells=10), 0.2, (1.0, 0.0), angles=32,
                      tol=None)
    assert r.solution.residual < 1e-12 and 0 < r.conductance_ratio() < 1
    annulus = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.01, magnetization=(1, 0, 0))
    dis = mk.PointDisorder.from_mean_free_path(annulus, -0.03, 20.0)
    with pytest.raises(NotImplementedError, match="mirror symmetric|annulus|convex"):
        mk.solve_slab(annulus, dis, mk.Strip(40.0, 0.5, cells=10), -0.03, (1.0, 0.0), angles=32,
                      tol=None)
    r = mk.solve_slab(annulus, dis, mk.Strip(40.0, 0.0, cells=10), -0.03, (1.0, 0.0), angles=32,
                      tol=None)
    assert r.solution.residual < 1e-12


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(width=0.0), "width"),
        (dict(width=-5.0), "width"),
        (dict(width=10.0, specularity=1.5), "specularity"),
        (dict(width=10.0, specularity=(0.0, -0.1)), "specularity"),
        (dict(width=10.0, cells=1), "cells"),
        (dict(width=10.0, wall_cell=0.0), "wall_cell"),
    ],
)
def test_bad_slab_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mk.Slab(**kwargs)


def test_bad_slab_solve_input():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder(0.01)
    strip = mk.Strip(50.0, 0.0, cells=10)
    with pytest.raises(ValueError, match="along the slab normal"):
        mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.5))
    with pytest.raises(ValueError, match="no Fermi surface"):
        mk.solve_slab(model, disorder, strip, -1.0, (1.0, 0.0))
    with pytest.raises(ValueError, match="normal"):
        mk.solve_slab(model, disorder, mk.Strip(50.0, normal="z"), 0.2, (1.0, 0.0))
    with pytest.raises(ValueError, match="Soffer|roughness"):
        mk.Soffer(-1.0)


def test_in_plane_field_direction_of_an_isotropic_film(metal3d):
    """For a parabolic band the film conductance ratio does not depend on the in-plane
    field direction, and the current follows the field."""
    model, disorder = metal3d
    film = mk.Film(ELL, 0.0, cells=8, normal="y")
    along_x = mk.solve_slab(model, disorder, film, 0.2, (1.0, 0.0, 0.0), polar=32, azimuth=16)
    oblique = mk.solve_slab(model, disorder, film, 0.2, (0.6, 0.0, 0.8), polar=32, azimuth=16)
    assert oblique.conductance_ratio() == pytest.approx(along_x.conductance_ratio(), rel=1e-10)
    jx = oblique.mean(ops.charge_current(model, "x")).total
    jz = oblique.mean(ops.charge_current(model, "z")).total
    assert jz / jx == pytest.approx(0.8 / 0.6, rel=1e-10)


def test_finite_temperature_strip_centre_equals_finite_temperature_bulk():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    # strip centre and bulk at the same small numerics (tol=None: one solve)
    r = mk.solve_slab(model, disorder, mk.Strip(30 * 20.0, 0.0, cells=60), 0.2, (1.0, 0.0),
                      temperature=300.0, energy_points=6, angles=32, tol=None)
    assert len(r.nodes) == 6
    c = len(r.centers) // 2
    d, b = r.density(ops.spin(model, "y")), r.bulk.density(ops.spin(model, "y"))
    assert d.total[c] == pytest.approx(b.total, rel=1e-3)


def test_graded_mesh_for_fine_grids():
    """Regression: 2^half overflowed for cells >= 2048; the grading is solved in logs."""
    from mesokinetics.samples import graded_faces

    for cells in (4, 5, 51, 400, 3201):
        faces = graded_faces(20000.0, cells, 0.2)
        assert len(faces) == cells + 1 and faces[-1] == pytest.approx(20000.0, rel=1e-12)
        assert np.all(np.diff(faces) > 0)
        assert np.allclose(np.diff(faces), np.diff(faces)[::-1], rtol=1e-9)
    assert np.diff(graded_faces(20000.0, 3201, 0.2))[0] == pytest.approx(0.2, rel=1e-9)


def test_automatic_method_switches_to_the_iterative_solver():
    """Above DIRECT_LIMIT unknowns the matrix-free path runs and agrees with the direct one."""
    from mesokinetics.boltzmann.slab import default as slab_module

    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    strip = mk.Strip(200.0, 0.0, cells=60)
    # the two linear solvers at the same small numerics: one solve each (tol=None)
    direct = mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=32, method="direct",
                           tol=None)
    auto = mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=32, tol=None)
    assert auto.solution.iterations is None  # 60 x 4 unknowns: direct
    limit = slab_module.DIRECT_LIMIT
    try:
        slab_module.DIRECT_LIMIT = 100
        iterative = mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=32, tol=None)
    finally:
        slab_module.DIRECT_LIMIT = limit
    assert iterative.solution.iterations is not None
    op = ops.spin(model, "z")
    assert np.allclose(iterative.density(op).total, direct.density(op).total, rtol=1e-8,
                       atol=1e-8 * np.abs(direct.density(op).total).max())
    with pytest.raises(ValueError, match="method"):
        mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), method="fast")


@pytest.mark.slow
def test_rashba_strip_convergence_orders():
    """The convergence study of docs/validation.md: second order in the cells (measured
    successive orders 2.4, 2.3, 1.9 for G/G0) and faster than algebraic in shell points."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)

    def ratio(cells, angles):
        strip = mk.Strip(100.0, 0.0, cells=cells)
        return mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=angles).conductance_ratio()

    cells = [ratio(c, 128) for c in (50, 100, 200, 400)]
    diffs = np.abs(np.diff(cells))
    orders = np.log2(diffs[:-1] / diffs[1:])
    assert np.all(orders > 1.5), orders
    angles = [ratio(200, a) for a in (64, 128, 256)]
    assert abs(angles[1] - angles[2]) < 1e-3 * abs(angles[0] - angles[2])


def test_graded_faces_for_any_width_cells_and_wall_cell():
    """The graded mesh exists for every (W, cells, wall cell), including a wall cell equal
    to W / cells to rounding (W = 2 l with 200 cells and the default l/100 wall cell used
    to raise from the root finder): faces from 0 to W, increasing, symmetric, the first
    cell equal to the requested wall cell (or W / cells when that is smaller) unless the
    growth ratio reaches its cap of 2, where the mesh is stretched to fill W."""
    from mesokinetics.samples import graded_faces

    rng = np.random.default_rng(7)
    cases = [(w * ell, n, ell / 100) for ell in (3.1, 10.0, 13.7) for w, n in
             ((1, 100), (2, 200), (4, 400), (0.5, 50))]
    cases += [(2.0, 200, 0.01 * (1 + e)) for e in (-1e-16, -1e-14, -1e-12, -1e-10, 1e-14)]
    cases += [(float(rng.uniform(0.1, 100)), int(rng.integers(4, 500)),
               float(10 ** rng.uniform(-3, 1))) for _ in range(200)]
    for width, cells, first in cases:
        f = graded_faces(width, cells, first)
        h = np.diff(f)
        assert f[0] == 0 and f[-1] == pytest.approx(width, rel=1e-14) and len(f) == cells + 1
        assert np.all(h > 0)
        assert np.allclose(h, h[::-1], rtol=1e-9)
        if cells >= 4 and np.max(h[1:] / h[:-1]) < 2 - 1e-9:
            assert h[0] == pytest.approx(min(first, width / cells), rel=1e-8)
        else:  # growth capped at 2 per cell (or too few cells): the mesh is stretched to W
            assert h[0] >= min(first, width / cells) * (1 - 1e-12)
