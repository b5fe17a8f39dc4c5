"""The tol machinery on synthetic solves with known errors (mesokinetics/convergence.py):
the level estimate, nested-mesh restriction, refinement, fixed axes, budget, warnings.
The physics references are in tests/test_error_estimates.py."""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.convergence import (Axis, ConvergenceWarning, _prolong, _restrict,
                                      check_budget, check_tol, converge, level_estimate)


class Fake:
    """A 'result' whose value converges geometrically in n: v(n) = 1 + c q^n."""

    def __init__(self, settings, c=1.0, q=0.9):
        self.settings = settings
        self.value = 1.0 + sum(c * q ** n for n in settings.values())


def _probes(result):
    return [np.array([result.value])]


def test_level_estimate_is_exact_for_geometric_convergence_in_equal_steps():
    """v = 1 + q^n at n, 3n/4, n/2 (equal steps): the extrapolated estimate d r/(1 - r)
    is the remaining error q^n exactly (r = q^16 = 0.185, above the floor 1/8)."""
    n, q = 64, 0.9
    v = {m: 1.0 + q ** m for m in (n, 3 * n // 4, n // 2)}
    est = level_estimate(v[n], v[3 * n // 4], v[n // 2])
    assert est == pytest.approx(q ** n, rel=1e-9)


def test_level_estimate_with_a_known_order_and_without_asymptotics():
    """Second order, one halving: d / 3 is the error of the fine value. A ratio above
    1/2 is not extrapolated: the estimate is the coarse step itself."""
    h = 0.01
    assert level_estimate(1 + h ** 2, 1 + (2 * h) ** 2, order=2.0) == pytest.approx(h ** 2)
    assert level_estimate(1.0, 1.5, 1.7) == pytest.approx(0.5)  # r = 2.5 >= 1/2


def test_restriction_onto_nested_meshes_is_exact_for_cell_averages():
    fine = np.sort(np.random.default_rng(1).uniform(0, 3, 9))
    fine = np.concatenate([[0.0], fine, [3.0]])  # 10 cells
    coarse = np.append(fine[::2], fine[-1]) if fine[::2][-1] != fine[-1] else fine[::2]
    f = lambda x: np.sin(x) + x ** 2  # noqa: E731
    from scipy.integrate import quad
    avg = lambda faces: np.array([quad(f, a, b)[0] / (b - a)  # noqa: E731
                                  for a, b in zip(faces[:-1], faces[1:])])
    assert _restrict(avg(fine), fine, coarse) == pytest.approx(avg(coarse), rel=1e-12)
    back = _prolong(avg(coarse), coarse, fine)
    assert back.shape == (len(fine) - 1,)
    assert _restrict(back, fine, coarse) == pytest.approx(avg(coarse), rel=1e-12)


def test_converge_refines_until_tol_and_reports_an_honest_error():
    """Start at n = 16 with error 0.9^16 = 0.19: doubling three times reaches 0.9^128 =
    1.4e-6 < 1e-3 (64 gives 1.2e-3, just above: there r = 0.9^16 = 0.19 is above the
    floor 1/8, and the estimate is exact). At 128 the measured r = 0.9^32 = 0.034 is
    below the floor: the estimate uses r = 1/8, 4.0x the true error."""
    axes = [Axis("angles", 16, 4)]
    r = converge(lambda s: Fake(s), _probes, axes, tol=1e-3)
    assert r.convergence.converged and r.settings == {"angles": 128}
    assert r.convergence.numerics == {"angles": 128}
    true = 0.9 ** 128
    err = r.convergence.error_of(r, lambda x: x.value)
    assert err == pytest.approx(0.9 ** 96 * (1 - 0.9 ** 32) / 7, rel=1e-6)
    assert true < err < 10 * true
    at64 = level_estimate(1 + 0.9 ** 64, 1 + 0.9 ** 48, 1 + 0.9 ** 32)
    assert at64 == pytest.approx(0.9 ** 64, rel=1e-9)


def test_fixed_axis_is_not_refined_and_warns():
    axes = [Axis("angles", 16, 4, fixed=True)]
    with pytest.warns(ConvergenceWarning, match="angles = 16 was set explicitly"):
        r = converge(lambda s: Fake(s), _probes, axes, tol=1e-3)
    assert r.settings == {"angles": 16} and r.convergence.converged is False
    assert "angles" in r.convergence.reason


def test_doubling_cap_and_budget_stop_the_refinement_with_a_warning():
    axes = [Axis("angles", 8, 4)]
    with pytest.warns(ConvergenceWarning, match="3 doublings"):
        r = converge(lambda s: Fake(s, q=0.99), _probes, axes, tol=1e-3)
    assert r.settings == {"angles": 64} and not r.convergence.converged

    def slow(settings):
        import time
        time.sleep(0.02)
        return Fake(settings)

    with pytest.warns(ConvergenceWarning, match="budget of 0.05 s"):
        r = converge(slow, _probes, [Axis("angles", 16, 4)], tol=1e-3, budget=0.05)
    assert not r.convergence.converged and r.settings == {"angles": 16}


def test_the_worst_axis_is_refined_first_and_others_keep_their_value():
    axes = [Axis("a", 96, 4), Axis("b", 16, 4)]  # b carries 0.9^16, a 0.9^96 = 4e-5
    r = converge(lambda s: Fake(s), _probes, axes, tol=1e-3)
    assert r.settings["a"] == 96 and r.settings["b"] == 128 and r.convergence.converged
    # a was checked again at the refined b (its estimate there is unchanged: independent)
    assert dict(r.convergence.levels[0].at) == {"a": 96, "b": 128}


@pytest.mark.parametrize("bad", [0.0, -1e-3, 0.5, 2.0, float("nan"), "1e-3", True])
def test_bad_tol_is_refused_naming_the_parameter(bad):
    with pytest.raises(ValueError, match="tol must be a relative accuracy"):
        check_tol(bad)
    model = mk.models.ParabolicBand(mass=1.0, dim=2)
    with pytest.raises(ValueError, match="tol must be"):
        mk.solve_uniform(model, mk.PointDisorder(1e-3), 0.1, (1.0, 0.0), tol=bad)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), "10"])
def test_bad_budget_is_refused_naming_the_parameter(bad):
    with pytest.raises(ValueError, match="budget must be a positive time in seconds"):
        check_budget(bad)


def test_uniform_solve_with_tol_none_is_one_solve_without_estimate():
    model = mk.models.ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder.from_tau(model, 0.1, 100.0)
    plain = mk.solve_uniform(model, disorder, 0.1, (1.0, 0.0), tol=None)
    assert plain.converged is None and plain.conductivity().error is None
    checked = mk.solve_uniform(model, disorder, 0.1, (1.0, 0.0))
    sigma = checked.conductivity()
    assert checked.converged is True and sigma.error.shape == (2, 2)
    assert np.all(sigma.error <= 1e-10 * np.abs(sigma.total[0, 0]))  # isotropic: exact rules
    assert sigma.total == pytest.approx(plain.conductivity().total, rel=1e-14)
    # the angles are tried at 8 first (Axis.trial) and kept: exact there for this shell
    assert checked.convergence.as_dict()["numerics"] == {"angles": 8, "radial_order": 16}
    # m in plane, one band at mu: shifted circle, not a low-degree polynomial in the angle
    shifted = mk.models.RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=0.1,
                                          magnetization=(1, 0, 0))
    dis = mk.PointDisorder.from_tau(shifted, 0.05, 100.0)
    kept = mk.solve_uniform(shifted, dis, 0.05, (1.0, 0.0))
    assert kept.converged is True and kept.convergence.numerics["angles"] == 128
    # with both bands at mu (0.3 eV) its band sums are polynomials in cos and sin: exact
    both = mk.solve_uniform(shifted, mk.PointDisorder.from_tau(shifted, 0.3, 100.0), 0.3,
                            (1.0, 0.0))
    assert both.convergence.numerics["angles"] == 8
    fixed = mk.solve_uniform(shifted, mk.PointDisorder.from_tau(shifted, 0.3, 100.0), 0.3,
                             (1.0, 0.0), tol=None)
    for op in (mk.operators.spin(shifted, "y"), mk.operators.spin(shifted, "z")):
        assert both.density(op).total == pytest.approx(fixed.density(op).total, rel=1e-12,
                                                        abs=1e-12)


def test_kubo_check_estimates_its_error_and_honours_fixed_numerics():
    """The Kubo-Bastin check takes tol too: Rashba ferromagnet, sigma_xx estimated
    (measured 3.4e-8 absolute on 50.6 e^2/h at the defaults: angles 48, order 8)."""
    from mesokinetics import kubo
    from mesokinetics.models import RashbaFerromagnet

    model = RashbaFerromagnet(mass=1.0, alpha=0.1, beta=0.06, exchange=0.05)
    disorder = mk.PointDisorder.from_tau(model, 0.2, 50.0)
    r = kubo.solve_uniform_kubo(model, disorder, 0.2, (1.0, 0.0))
    c = r.conductivity("e2/h")
    assert r.converged and c.error.shape == (2, 2)
    assert 0 < c.error[0, 0] < 1e-6 * abs(c.total[0, 0])
    plain = kubo.solve_uniform_kubo(model, disorder, 0.2, (1.0, 0.0), tol=None)
    assert plain.conductivity("e2/h").error is None
    assert c.total == pytest.approx(plain.conductivity("e2/h").total, rel=1e-14)
    # angles 8 alone: 5.3e-5 off, estimated 2.1e-5 (r floored at 1/8); order 3: 4.3e-4
    with pytest.warns(ConvergenceWarning, match="order = 3 was set explicitly"):
        coarse = kubo.solve_uniform_kubo(model, disorder, 0.2, (1.0, 0.0), angles=8, order=3)
    assert coarse.converged is False and coarse.convergence.numerics == {"angles": 8, "order": 3}


def test_a_trivial_insulator_does_not_drive_a_refinement():
    """QWZ with mass 3 (trivial), mu in the gap: sigma_xy is 5.3e-6 e^2/h of zone error at
    bz_grid 16 (2.1e-8 at 24, 2.7e-18 at 96), judged against e^2/h, not against itself:
    converged, no warning (the Kubo grid of this case used to refine until it ran out
    of points)."""
    from mesokinetics.models import QiWuZhang

    model = QiWuZhang(hopping=1.0, mass=3.0, lattice_constant=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        r = mk.solve_uniform(model, mk.PointDisorder(1e-3), 0.0, (1.0, 0.0), bz_grid=16)
    sigma = r.conductivity("e2/h")
    assert r.converged and abs(sigma.total[0, 1]) == pytest.approx(5.29e-6, rel=1e-2)
    assert sigma.error[0, 1] > abs(sigma.total[0, 1]) / 3  # honest (measured 5.5e-6)
