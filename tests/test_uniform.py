"""Uniform response against the reference results of THEORY.md section 8.

Tolerances: for the isotropic models below the angular rule is exact for the
trigonometric polynomials that occur and the shells are found to rounding; the measured
errors are 1e-15 to 1e-13 relative at 32 rays (docs/validation.md), so 1e-10 leaves
three orders of magnitude for platform differences and is far below any physics effect.
"""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics import reference as ref
from mesokinetics.models import MassiveDirac, ParabolicBand, RashbaFerromagnet
from mesokinetics.quadrature import KB_EV_K
from mesokinetics.units import E2_OVER_H, fs_to_internal

RTOL = 1e-10


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_drude_parabolic_band(dim):
    model = ParabolicBand(mass=0.8, dim=dim)
    mu, tau_fs = 0.25, 40.0
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, tau_fs), mu, [1.0] + [0.0] * (dim - 1))
    sigma = r.conductivity("internal")
    drude = ref.drude_conductivity(ref.parabolic_density(model, mu), fs_to_internal(tau_fs), model.m)
    assert np.allclose(sigma.total, drude * np.eye(dim), rtol=RTOL, atol=RTOL * drude)
    assert np.allclose(sigma.interband, 0.0, atol=RTOL * drude)


def test_drude_rashba_with_full_multiband_kernel():
    model = RashbaFerromagnet(mass=0.5, alpha=0.15)
    mu, tau_fs = 0.1, 25.0
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, tau_fs), mu, (1.0, 0.0), angles=32)
    drude = ref.drude_conductivity(ref.rashba_density(model, mu), fs_to_internal(tau_fs), model.m)
    assert r.conductivity("internal").total[0, 0] == pytest.approx(drude, rel=RTOL)
    assert r.conductivity("internal").total[1, 1] == pytest.approx(drude, rel=RTOL)


def test_edelstein_effect():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    mu, tau_fs, ex = 0.2, 100.0, 0.01
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, tau_fs), mu, (ex, 0.0), angles=32)
    sy = r.density(ops.spin(model, "y"))
    expected = ref.edelstein_spin_density(model.m, model.alpha, fs_to_internal(tau_fs), ex)
    assert sy.total == pytest.approx(expected, rel=1e-6)
    assert sy.intraband == pytest.approx(expected, rel=RTOL)
    assert abs(sy.intrinsic) + abs(sy.disorder) < RTOL * abs(expected)


def test_rashba_spin_hall_intrinsic_cancelled_by_vertex_correction():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    mu = 0.2
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, 50.0), mu, (1.0, 0.0), angles=32)
    js = r.density(ops.spin_current(model, "z", "y"))
    assert js.intrinsic == pytest.approx(1 / (8 * np.pi), rel=RTOL)
    assert js.intrinsic == pytest.approx(ref.SPIN_HALL_RASHBA_INTRINSIC, rel=RTOL)
    assert js.disorder == pytest.approx(-1 / (8 * np.pi), rel=RTOL)
    assert abs(js.total) < RTOL / (8 * np.pi)


@pytest.mark.parametrize("alpha", [0.005, 0.05, 0.2])
def test_sot_intrinsic_closed_form_and_exact_cancellation(alpha):
    """Damping-like <sigma_x> of the Rashba ferromagnet (m along z): the intrinsic term
    equals its closed form and the disorder term cancels it at any alpha k_F / J_e
    (alpha k_F / J_e = 0.14, 1.4 and 5.6 here, k_F = sqrt(2 m mu))."""
    model = RashbaFerromagnet(mass=1.0, alpha=alpha, exchange=0.1)
    mu, ex = 0.3, 1.0
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, 50.0), mu, (ex, 0.0), angles=32)
    sx = r.density(ops.pauli(model, "x"))
    closed = ref.sot_intrinsic_sigma_x(model, mu, ex)
    assert sx.intrinsic == pytest.approx(closed, rel=1e-12)
    assert abs(sx.intrinsic + sx.disorder) < 1e-12 * abs(closed)


def test_sot_field_like_part_is_twice_edelstein_and_independent_of_exchange():
    mu, tau_fs = 0.3, 50.0
    values = []
    for exchange in (0.0, 0.05, 0.1):
        model = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=exchange)
        r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, tau_fs), mu, (1.0, 0.0), angles=32)
        values.append(r.density(ops.pauli(model, "y")).total)
    expected = 2 * ref.edelstein_spin_density(model.m, 0.05, fs_to_internal(tau_fs), 1.0)
    assert np.allclose(values, expected, rtol=RTOL)


def test_paper_eq12_equals_its_fermi_surface_form_eq13():
    for mvec in [(0, 0, 1), (1, 0, 0), (1, 2, 3)]:
        model = RashbaFerromagnet(mass=1.0, alpha=0.01, beta=0.004, exchange=0.1, magnetization=mvec)
        for field in [(1.0, 0.0), (0.3, -0.7)]:
            t12 = ref.sot_eq12(model, 0.3, field)
            t13 = ref.sot_eq13(model, 0.3, field)
            assert np.allclose(t12, t13, rtol=1e-12, atol=1e-14 * np.abs(t13).max())


def test_sot_intrinsic_approaches_paper_leading_order_as_alpha_squared():
    """J_e m x <sigma>_intrinsic -> Eq. (13) as alpha -> 0; the relative deviation is the
    next order, (alpha k_F / J_e)^2: the fitted exponent is 2."""
    mu, exchange = 0.3, 0.1
    alphas = np.array([0.001, 0.002, 0.004])
    deviations = []
    for alpha in alphas:
        model = RashbaFerromagnet(mass=1.0, alpha=alpha, beta=0.3 * alpha, exchange=exchange,
                                  magnetization=(1, 1, 1))
        r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, mu, 50.0), mu, (1.0, 0.0), angles=32)
        sigma = np.array([r.density(ops.pauli(model, a)).intrinsic for a in "xyz"])
        torque = exchange * np.cross(model.magnetization, sigma)
        lead = ref.sot_eq13(model, mu, (1.0, 0.0))
        deviations.append(np.linalg.norm(torque - lead) / np.linalg.norm(lead))
    slope = np.polyfit(np.log(alphas), np.log(deviations), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.05)
    assert deviations[0] < 1e-3


def test_massive_dirac_hall_conductivity_in_gap_and_in_band():
    model = MassiveDirac(velocity=0.5, gap=0.1)
    disorder = mk.PointDisorder(1e-3)
    gap = mk.solve_uniform(model, disorder, 0.05, (1.0, 0.0)).conductivity("e2/h")
    assert gap.intrinsic[0, 1] == pytest.approx(-0.5, rel=1e-12)
    assert gap.intrinsic[1, 0] == pytest.approx(0.5, rel=1e-12)
    assert gap.intraband[0, 0] == 0 and gap.disorder[0, 1] == 0
    metal = mk.solve_uniform(model, disorder, 0.25, (1.0, 0.0)).conductivity("e2/h")
    assert metal.intrinsic[0, 1] == pytest.approx(-0.1 / (2 * 0.25), rel=1e-10)


def test_intrinsic_hall_equals_berry_curvature_integral():
    """sigma_xy intrinsic = -(e^2/hbar) int_k sum_n f_n Omega_n (TKNN), checked for a
    Fermi level in the upper Dirac band with an independent radial quadrature."""
    from mesokinetics.bands import Bands

    model = MassiveDirac(velocity=0.5, gap=0.1)
    mu = 0.25
    sigma = mk.solve_uniform(model, mk.PointDisorder(1e-3), mu, (1.0, 0.0)).conductivity("internal")
    kf = np.sqrt(mu**2 - 0.1**2) / 0.5
    x, w = np.polynomial.legendre.leggauss(400)
    t = 0.5 * (x + 1)
    k = t / (1 - t)
    wk = 0.5 * w / (1 - t) ** 2
    omega = Bands(model, np.stack([k, 0 * k], -1)).berry_curvature()
    occupied = np.stack([np.ones_like(k), (k < kf).astype(float)], -1)
    # upper band occupied only inside k_F: split that integral exactly at k_F
    xs, ws = np.polynomial.legendre.leggauss(100)
    ku = 0.5 * kf * (xs + 1)
    om_u = Bands(model, np.stack([ku, 0 * ku], -1)).berry_curvature()[:, 1]
    sea = np.sum(wk * k * omega[:, 0]) / (2 * np.pi) + np.sum(0.5 * kf * ws * ku * om_u) / (2 * np.pi)
    del occupied
    assert sigma.intrinsic[0, 1] == pytest.approx(-sea, rel=1e-9)


def test_finite_temperature_matches_zero_temperature_where_response_is_flat():
    """For a 2D parabolic band (constant tau) sigma(eps) = c eps theta(eps), so at 300 K and
    mu = 0.2 eV (7.7 kT above the band bottom) the thermal average is c (mu + kT ln(1 +
    exp(-mu/kT))), 5.64e-5 above the T = 0 value: measured 3.9e-6 from it at the default
    24 nodes (the window cut at the band bottom; the uncut rule of before returned the
    T = 0 value, 5.6e-5 off, blind to the edge), 4.7e-9 at 48. For Rashba <s_y> is
    constant above the band crossing; at 100 K the crossing lies 23 kT below mu, so the
    thermal average is the T = 0 value (measured 1.3e-11)."""
    model = ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder.from_tau(model, 0.2, 30.0)
    cold = mk.solve_uniform(model, disorder, 0.2, (1.0, 0.0)).conductivity().total
    with warnings.catch_warnings():  # k_F l = 4.8 at the nodes 5.7 kT below mu
        warnings.simplefilter("ignore", mk.ValidityWarning)
        warm = mk.solve_uniform(model, disorder, 0.2, (1.0, 0.0),
                                temperature=300.0).conductivity().total
    kt = KB_EV_K * 300.0
    exact = 1 + kt / 0.2 * np.log1p(np.exp(-0.2 / kt))
    assert np.allclose(warm, cold * exact, rtol=1.2e-5, atol=1e-12 * np.max(np.abs(cold)))
    rashba = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_tau(rashba, 0.2, 30.0)
    op = ops.spin(rashba, "y")
    cold = mk.solve_uniform(rashba, disorder, 0.2, (1.0, 0.0), angles=16).density(op).total
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        warm = mk.solve_uniform(rashba, disorder, 0.2, (1.0, 0.0), angles=16,
                                temperature=100.0).density(op).total
    assert warm == pytest.approx(cold, rel=1e-10)


def test_finite_temperature_smooths_a_band_edge():
    """At a 2D band edge the T = 0 conductivity has a kink; at finite T it must equal the
    thermal average int (-df/deps) sigma_0(eps) of the T = 0 curve: sigma_0 ~ eps theta(eps).
    The window is cut at the edge (here mu): measured relative errors -2.5e-5, -2.3e-6,
    -4.4e-7, -7.3e-9 at 16, 24, 32, 64 nodes (uncut: n^-2, 1.2e-3 at 16, 7.6e-5 at 64);
    the default solve (24 nodes) estimates its error at 1.5e-6."""
    model = ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder(0.01)  # energy-independent tau in 2D
    temperature = 200.0
    kt = 8.617333262e-5 * temperature
    tau = 1 / (disorder.gamma * model.m / (2 * np.pi))
    # int (-df/de) e theta(e) de = kT ln 2 for mu = 0; sigma_0(e) = (m e / 2pi) tau / m
    expected = kt * np.log(2) * tau / (2 * np.pi)
    warm = mk.solve_uniform(model, disorder, 0.0, (1.0, 0.0), temperature=temperature,
                            energy_points=64, tol=None).conductivity("internal").total[0, 0]
    assert warm == pytest.approx(expected, rel=2.5e-8)
    default = mk.solve_uniform(model, disorder, 0.0, (1.0, 0.0), temperature=temperature)
    sigma = default.conductivity("internal")
    assert sigma.total[0, 0] == pytest.approx(expected, rel=7e-6)
    assert abs(sigma.total[0, 0] - expected) < 3 * sigma.error[0, 0]


def test_decoupled_bands_keep_band_resolved_neutrality():
    """Without spin-orbit coupling the two exchange-split bands never scatter into each
    other: two conserved densities, both fixed by neutrality; no spurious spin density."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.0, exchange=0.05)
    disorder = mk.PointDisorder(0.01)
    r = mk.solve_uniform(model, disorder, 0.2, (1.0, 0.0), angles=16)
    assert r.nodes[0].solution.null_modes == 2
    sigma = r.conductivity("internal").total[0, 0]
    tau = 1 / (disorder.gamma * model.m / (2 * np.pi))
    assert sigma == pytest.approx(model.m * 0.2 / np.pi * tau / model.m, rel=RTOL)
    assert abs(r.density(ops.spin(model, "z")).total) < 1e-12


def test_conductivity_units():
    model = ParabolicBand(mass=1.0, dim=2)
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, 0.2, 30.0), 0.2, (1.0, 0.0))
    internal = r.conductivity("internal").total[0, 0]
    assert r.conductivity("e2/h").total[0, 0] == pytest.approx(internal / E2_OVER_H)
    assert r.conductivity("SI").total[0, 0] == pytest.approx(internal * 2.434134805787947e-4)
    with pytest.raises(ValueError, match="unit"):
        r.conductivity("mho")


def test_chunked_fermi_sea_and_operator_fast_paths_agree_with_direct_evaluation(monkeypatch):
    """Large seas are evaluated in chunks, and current operators reuse the cached velocity
    in the eigenbasis: both must give the same numbers as the plain evaluation."""
    from mesokinetics.response import uniform as response_module
    from mesokinetics.bands import Bands

    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.05, magnetization=(1, 0, 1))
    r = mk.solve_uniform(model, mk.PointDisorder.from_tau(model, 0.2, 50.0), 0.2, (1.0, 0.0),
                         angles=16, tol=None)
    op = ops.spin_current(model, "z", "y")
    whole = r.response(op)
    monkeypatch.setattr(response_module, "SEA_CHUNK", 100)
    assert len(r.nodes[0].sea.weight) > 3 * 100  # several chunks
    r.nodes[0].sea_bands = None
    r._evaluated.clear()  # the response is cached: evaluate it again, chunk by chunk
    chunked = r.response(op)
    assert np.allclose(chunked.intrinsic, whole.intrinsic, rtol=1e-12, atol=1e-15)
    bands = Bands(model, r.nodes[0].sea.k[:50])
    for operator in (op, ops.charge_current(model, "x"), ops.velocity(model, "y")):
        slow = bands.to_eigenbasis(operator(bands.k))
        assert np.allclose(operator.in_eigenbasis(bands), slow, atol=1e-13)


def test_shell_at_mu_skips_empty_thermal_nodes():
    """Just below a band bottom at T > 0 the thermal node nearest mu has no Fermi surface
    while nodes above the bottom do: ``shell`` is the shell of the nearest non-empty node
    (it used to return None, unlike every other "node at mu" pick)."""
    import mesokinetics as mk
    from mesokinetics.models import ParabolicBand

    model = ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder(gamma=1e-3)
    r = mk.solve_uniform(model, disorder, -1e-3, (1e-3, 0.0), temperature=100.0)
    nearest = min(r.nodes, key=lambda n: abs(n.energy - r.mu))
    assert nearest.solution is None  # the case this test is about
    shell = r.shell
    assert shell is not None and not shell.empty
    full = [n for n in r.nodes if n.solution is not None]
    assert shell.energy == min(full, key=lambda n: abs(n.energy - r.mu)).energy


def test_many_observables_share_one_diagonalization_of_the_fermi_sea(monkeypatch):
    """responses(ops) evaluates every operator (and the charge currents of conductivity)
    with one diagonalization per Fermi-sea chunk, with the same numbers as one operator at
    a time; asking again costs nothing."""
    import mesokinetics as mk
    from mesokinetics import operators as ops
    from mesokinetics.models import RashbaFerromagnet
    from mesokinetics.response import uniform as response_module

    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.05, magnetization=(1, 0, 1))
    disorder = mk.PointDisorder.from_tau(model, 0.2, 50.0)
    wanted = [ops.spin(model, a) for a in "xyz"] + [ops.spin_current(model, "z", "y")]
    one_by_one = mk.solve_uniform(model, disorder, 0.2, (1.0, 0.0), angles=16)
    singles = [one_by_one.response(op) for op in wanted]
    calls = []
    original = response_module.Bands

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(response_module, "SEA_CHUNK", 100)  # several chunks per sea
    monkeypatch.setattr(response_module, "Bands", counting)
    # tol=None: one solve (the tol check would diagonalize the seas of its coarser solves)
    r = mk.solve_uniform(model, disorder, 0.2, (1.0, 0.0), angles=16, tol=None)
    chunks = -(-len(r.nodes[0].sea.weight) // 100)
    batch = r.responses(wanted)
    assert len(calls) == chunks  # not len(wanted) + 2 currents times that
    r.conductivity()
    r.responses(wanted)
    assert len(calls) == chunks
    for a, b in zip(singles, batch):
        for part in ("intraband", "intrinsic", "disorder"):
            assert np.allclose(getattr(a, part), getattr(b, part), rtol=1e-12, atol=1e-15)
