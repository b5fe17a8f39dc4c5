"""Lattice models and Brillouin-zone samplers (issue 5).

Measured numbers and convergence studies: docs/lattice.md, section "Validation".
Lattice corrections: the square-lattice Rashba ferromagnet approaches the continuum model
as (k_F a)^2, k_F = sqrt(2 m mu). The fast tests fit the exponent from two lattice
constants (a = 0.2, 0.1 nm; k_F a halves exactly) and take the coefficient from the fit
(Richardson: c0 = (4 c(a/2) - c(a)) / 3 removes the O((k_F a)^4) term); the slow study
`test_lattice_corrections_scaling_study` covers a = 0.4 ... 0.05 nm. Exponent tolerances
are about 2.5 x the measured offset from 2 (the O((k_F a)^4) term), at least 0.05.
"""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics import reference as ref
from mesokinetics.sampling.brillouin import band_energies, fermi_contours
from mesokinetics.topology import berry_phase, chern_number, intrinsic_response
from mesokinetics.models import (
    L_CARTESIAN, Haldane, POrbital, QiWuZhang, RashbaFerromagnet, RashbaLattice, TightBinding,
)
from mesokinetics.models.base import finite_difference_velocity
from mesokinetics.numerics import Numerics
from mesokinetics.sampling import sample_sea, sample_shell
from mesokinetics.units import fs_to_internal

DIS = mk.PointDisorder(1e-3)


def _hall(model, mu, **numerics):
    return mk.solve_uniform(model, DIS, mu, (1.0, 0.0), **numerics).conductivity("e2/h").intrinsic


# --- Chern insulators -------------------------------------------------------------------


@pytest.mark.parametrize("mass, chern", [(-1.0, 1), (1.0, -1), (3.0, 0), (-2.5, 0)])
def test_qi_wu_zhang_hall_conductivity_is_minus_chern_number(mass, chern):
    """sigma_xy = -C e^2/h with C = (1/2pi) int Omega (same sign convention as the continuum
    MassiveDirac test: Delta > 0 gives -1/2); C from Fukui-Hatsugai link variables."""
    model = QiWuZhang(hopping=1.0, mass=mass, lattice_constant=0.5)
    assert chern_number(model, 1, 48) == pytest.approx(chern, abs=1e-9)
    sigma = _hall(model, 0.0)
    assert sigma[0, 1] == pytest.approx(-chern, abs=1e-3)
    assert sigma[1, 0] == pytest.approx(chern, abs=1e-3)
    assert abs(sigma[0, 1] + chern) < 1e-10  # measured 2e-15: spectral accuracy in the gap


@pytest.mark.parametrize("phase, mass, chern", [(np.pi / 2, 0.0, -1), (-np.pi / 2, 0.0, 1),
                                                (np.pi / 2, 1.0, 0), (np.pi / 3, 0.2, -1)])
def test_haldane_phases_from_intrinsic_hall_conductivity(phase, mass, chern):
    model = Haldane(nn_hopping=1.0, nnn_hopping=0.1, phase=phase, mass=mass)
    assert chern_number(model, 1, 48) == pytest.approx(chern, abs=1e-9)
    e = band_energies(model, np.random.default_rng(0).random((4000, 2)) @ model.reciprocal_vectors)
    mu = 0.5 * (e[:, 0].max() + e[:, 1].min())  # mid gap
    assert abs(_hall(model, mu, bz_grid=48)[0, 1] + chern) < 1e-3


def test_chern_number_does_not_depend_on_phase_convention():
    atomic = Haldane(nnn_hopping=0.1, phase=np.pi / 2, convention="atomic")
    lattice = Haldane(nnn_hopping=0.1, phase=np.pi / 2, convention="lattice")
    assert _hall(atomic, 0.0, bz_grid=48)[0, 1] == pytest.approx(_hall(lattice, 0.0, bz_grid=48)[0, 1], abs=1e-12)


def test_layered_chern_insulator_3d():
    """QWZ layers (spacing c = 0.5 nm) with interlayer hopping: sigma_xy = -C e^2/(h c)."""
    qwz = QiWuZhang(mass=1.0, lattice_constant=1.0)
    hops = {tuple(r) + (0,): h for r, h in zip(qwz.R, qwz.H)}
    hops[(0, 0, 1)] = hops[(0, 0, -1)] = 0.2 * np.eye(2)
    model = TightBinding(np.diag([1.0, 1.0, 0.5]), hops)
    sigma = mk.solve_uniform(model, DIS, 0.0, (1.0, 0.0, 0.0), bz_grid=16).conductivity("e2/h")
    assert sigma.intrinsic[0, 1] * 0.5 == pytest.approx(1.0, abs=1e-4)  # measured 1.5e-5


# --- Haldane's Fermi-surface formula ----------------------------------------------------


@pytest.mark.parametrize("mu", [0.9, 1.2])
def test_haldane_fermi_surface_berry_phase_gives_non_quantized_hall(mu):
    """Haldane, PRL 93, 206602 (2004): the non-quantized part of the intrinsic anomalous
    Hall conductivity is a Fermi-surface property, -(1/2pi) sum of the Berry phases of the
    Fermi loops (occupied side on the left), modulo an integer. The Fermi-sea integral
    (adaptive grid, triangle splitting) is compared with Wilson loops on the contours;
    the discrete Berry phase converges as 1/M^2 (M points per loop): 3.3e-4, 8.4e-5,
    2.1e-5, 5.0e-6 for 64 ... 512 points per reciprocal-vector length."""
    model = Haldane(nn_hopping=1.0, nnn_hopping=0.1, phase=np.pi / 3, mass=0.2)
    sea = _hall(model, mu)[0, 1]
    loops = fermi_contours(model, mu, Numerics(bz_contour_points=512))
    assert loops and all(np.all(lp.winding == 0) for lp in loops)
    surface = -sum(berry_phase(model, lp) for lp in loops) / (2 * np.pi)
    diff = sea - surface
    assert abs(diff - np.round(diff)) < 2e-5
    assert abs(sea - np.round(sea)) > 0.05  # genuinely non-quantized


# --- low-filling limit: the lattice Rashba ferromagnet ----------------------------------


def _lattice_and_continuum(a, alpha, exchange, mu, tau_fs, **numerics):
    lat = RashbaLattice(mass=1.0, alpha=alpha, exchange=exchange, lattice_constant=a)
    cont = RashbaFerromagnet(mass=1.0, alpha=alpha, exchange=exchange)
    dis = mk.PointDisorder.from_tau(cont, mu, tau_fs)
    return lat, cont, mk.solve_uniform(lat, dis, mu, (1.0, 0.0), **numerics)


def _exponent(dev_a, dev_half):
    """Power p of dev ~ (k_F a)^p from lattice constants a and a/2."""
    return float(np.log2(dev_a / dev_half))


def _richardson(c_a, c_half):
    """(k_F a)^2 coefficient with the O((k_F a)^4) term removed, from c = dev / (k_F a)^2
    at a and a/2."""
    return (4 * c_half - c_a) / 3


def test_lattice_edelstein_approaches_continuum_as_kfa_squared():
    """<s_y> = e m alpha tau E / 2pi in the continuum; on the lattice the relative deviation
    is -(k_F a)^2 / 8 + O((k_F a)^4).

    Derivation (first order in alpha, single spin-degenerate band eps(k) plus the
    spin-orbit field b(k) = (alpha/a)(sin k_y a, -sin k_x a)): point disorder gives one
    k-independent 1/tau = gamma D_1 (D_1 the DOS per spin) and, because <b_hat b_hat^T> = 1/2
    on any C4-symmetric Fermi line, the same factor 2 from the spin vertex as in the
    continuum, so s_y = 2 x (bare) with bare = e tau E_x int_k delta(eps - mu)
    [b_hat_y d_x|b| - d_x b_y] (after an integration by parts of the band splitting).
    Expanding eps = k^2/2m - a^2 (k_x^4 + k_y^4)/24m and b to O(a^2), the Fermi-surface
    average of the bracket stays alpha/2 exactly at O((k_F a)^2) (the a^2 terms of b and of
    the Fermi line cancel: 1/16 - 1/4 + 5/16 - 1/8 = 0), while the lattice DOS is
    D_1 = (m/2pi)(1 + (k_F a)^2 / 8). The disorder is fixed by tau on the continuum
    (from_tau(cont, ...)), so tau_lattice = tau D_cont / D_lattice and
    s_y / s_y^cont = 1 / (1 + (k_F a)^2/8) = 1 - (k_F a)^2/8.

    Measured (default numerics; bz_refine = 5 changes nothing at 6 digits): c = dev/(k_F a)^2
    = -0.12727, -0.12556 at a = 0.2, 0.1 nm (k_F a = 0.46, 0.23); fitted exponent 2.0195;
    Richardson coefficient -0.124991 (-0.124994 at alpha = 0.02: no alpha dependence at
    this order)."""
    mu, tau = 0.2, 100.0
    expected = ref.edelstein_spin_density(RashbaLattice(mass=1.0).m, 0.1, fs_to_internal(tau), 1.0)
    devs, coefficients = [], []
    for a in (0.2, 0.1):
        lat, _, r = _lattice_and_continuum(a, 0.1, 0.0, mu, tau)
        kfa2 = 2 * lat.m * mu * a * a
        devs.append(r.density(ops.spin(lat, "y")).total / expected - 1)
        coefficients.append(devs[-1] / kfa2)
    assert devs[0] < devs[1] < 0  # the lattice reduces <s_y>
    assert _exponent(*devs) == pytest.approx(2.0, abs=0.05)  # measured 2.0195
    # the O((k_F a)^4) remainder of the Richardson value is ~1e-4 (estimated from a = 0.4,
    # 0.2, 0.1); measured -0.124991
    assert _richardson(*coefficients) == pytest.approx(-1 / 8, abs=3e-4)


def test_lattice_spin_hall_intrinsic_cancelled_by_vertex_correction():
    """Nearest-neighbour lattice Rashba: j^z_y = t a^2 sin(k_y a) sigma_z = -(t a^2/alpha)
    ds_y/dt, so the spin Hall current vanishes in the steady state exactly, as in the
    continuum (numerical residual of 8 pi j: 4.4e-7 at a = 0.1 nm, 1.1e-6 at 0.2 nm,
    bz_refine = 5, tau = 50 fs).
    Each term approaches +-1/(8 pi) as (k_F a)^2; the coefficient is not derived.

    Measured (Fermi sea at bz_refine = 3, 5 for a = 0.2, 0.1 nm: the finer lattice needs
    more bisections for the same resolution of its smaller Fermi lines; the converged sea,
    bz_grid = 64, bz_refine = 6 plus extrapolation, moves these by 1.6e-3 and 3.5e-4
    relative): intrinsic x 8 pi - 1 = -1.70032e-2, -4.29190e-3, c = -0.0810, -0.0818;
    fitted exponent 1.986 (1.988 converged); Richardson coefficient -0.0820."""
    mu = 0.2
    devs, coefficients = [], []
    for a, refine in ((0.2, 3), (0.1, 5)):
        lat, _, r = _lattice_and_continuum(a, 0.1, 0.0, mu, 50.0, bz_refine=refine)
        js = r.density(ops.spin_current(lat, "z", "y"))
        kfa2 = 2 * lat.m * mu * a * a
        devs.append(js.intrinsic * 8 * np.pi - 1)
        coefficients.append(devs[-1] / kfa2)
    assert abs(js.total) < 1e-6 / (8 * np.pi)  # a = 0.1 nm
    assert devs[0] < devs[1] < 0
    assert _exponent(*devs) == pytest.approx(2.0, abs=0.03)  # measured 1.986
    assert -0.1 < _richardson(*coefficients) < -0.06  # measured -0.0820: (k_F a)^2, not numerical


def test_lattice_spin_orbit_torque_cancellation_up_to_lattice_corrections():
    """Rashba ferromagnet (alpha = 0.05 eV nm, J_e = 0.1 eV, mu = 0.3 eV; k_F a = 0.56, 0.28
    at a = 0.2, 0.1 nm; Fermi sea at bz_refine = 3, 5). In the continuum the damping-like disorder term
    cancels the intrinsic <sigma_x> (closed form) and the field-like <sigma_y> is twice the
    Edelstein value. On the lattice:

    * intrinsic / closed - 1 = -1.46e-3, -1.15e-4: a lattice correction that falls faster
      than (k_F a)^2 (-2.87e-2 at a = 0.4 nm; converged sea: -1.53e-3, -1.3e-4);
    * disorder / closed + 1 = -3.964e-2, -9.764e-3 (Fermi-surface quantity, unchanged by
      the sea refinement): exponent 2.021, Richardson coefficient -0.1234;
    * so the cancellation residual (intrinsic + disorder)/closed = -4.110e-2, -9.879e-3
      scales with exponent 2.057 (the intrinsic part lifts it above 2);
    * field-like sigma_y / (2 Edelstein) - 1 = -8.124e-2, -1.990e-2: exponent 2.030,
      Richardson coefficient -0.2509.
    The coefficients are lattice corrections, not numerical: they are the same at the
    default bz_refine = 3 for the Fermi-surface terms."""
    mu, tau = 0.3, 50.0
    intrinsic, disorder, residual, field_like, c_disorder, c_field = ([] for _ in range(6))
    for a, refine in ((0.2, 3), (0.1, 5)):
        lat, cont, r = _lattice_and_continuum(a, 0.05, 0.1, mu, tau, bz_refine=refine)
        kfa2 = 2 * lat.m * mu * a * a
        closed = ref.sot_intrinsic_sigma_x(cont, mu, 1.0)
        sx = r.density(ops.pauli(lat, "x"))
        intrinsic.append(sx.intrinsic / closed - 1)
        disorder.append(sx.disorder / closed + 1)
        residual.append((sx.intrinsic + sx.disorder) / closed)
        edelstein = ref.edelstein_spin_density(cont.m, 0.05, fs_to_internal(tau), 1.0)
        field_like.append(r.density(ops.pauli(lat, "y")).total / (2 * edelstein) - 1)
        c_disorder.append(disorder[-1] / kfa2)
        c_field.append(field_like[-1] / kfa2)
    assert abs(intrinsic[1]) < 5e-4  # measured 1.15e-4
    assert abs(intrinsic[0] / intrinsic[1]) > 6  # faster than (k_F a)^2 (4); measured 12.7
    assert _exponent(*disorder) == pytest.approx(2.0, abs=0.05)  # measured 2.021
    assert _exponent(*residual) == pytest.approx(2.0, abs=0.15)  # measured 2.057
    assert _exponent(*field_like) == pytest.approx(2.0, abs=0.075)  # measured 2.030
    assert all(x < 0 for x in disorder + residual + field_like)
    # at order (k_F a)^2 the cancellation is broken by the disorder term alone: the intrinsic
    # share of the residual is 3.6 %, 1.2 % at a = 0.2, 0.1 nm
    assert abs(intrinsic[1] / residual[1]) < 0.03
    # coefficients from the fit (measured -0.1234, -0.2509): lattice-sized, not numerical
    assert -0.2 < _richardson(*c_disorder) < -0.08 and -0.4 < _richardson(*c_field) < -0.15


@pytest.mark.slow
def test_lattice_corrections_scaling_study():
    """a = 0.4, 0.2, 0.1, 0.05 nm: the exponent of every Fermi-surface lattice correction
    approaches 2 as a -> 0 (the O((k_F a)^4) term fades) and the Richardson coefficients
    of successive pairs agree (default BZ numerics: these are Fermi-surface terms).
    Measured exponents for the pairs 0.4/0.2, 0.2/0.1, 0.1/0.05 and Richardson coefficients:
    * Edelstein: 2.084, 2.0195, 2.0048; c = -0.1349, -0.1273, -0.1256, -0.1251;
      Richardson -0.12472, -0.12499, -0.12500 (derived: -1/8);
    * SOT damping-like disorder term: 2.042, 2.021, 2.006; Richardson -0.1246, -0.12339,
      -0.12335;
    * field-like torque: 2.128, 2.030, 2.007; Richardson -0.2499, -0.25094, -0.25099.
    Measured values are printed on failure."""
    mu_e, mu_t = 0.2, 0.3
    lattice_constants = (0.4, 0.2, 0.1, 0.05)
    series = {"edelstein": [], "sot_disorder": [], "field_like": []}
    for a in lattice_constants:
        lat, _, r = _lattice_and_continuum(a, 0.1, 0.0, mu_e, 100.0)
        expected = ref.edelstein_spin_density(lat.m, 0.1, fs_to_internal(100.0), 1.0)
        series["edelstein"].append(
            (r.density(ops.spin(lat, "y")).total / expected - 1, 2 * lat.m * mu_e * a * a))
        lat, cont, r = _lattice_and_continuum(a, 0.05, 0.1, mu_t, 50.0)
        closed = ref.sot_intrinsic_sigma_x(cont, mu_t, 1.0)
        edelstein = ref.edelstein_spin_density(cont.m, 0.05, fs_to_internal(50.0), 1.0)
        kfa2 = 2 * lat.m * mu_t * a * a
        series["sot_disorder"].append((r.density(ops.pauli(lat, "x")).disorder / closed + 1, kfa2))
        series["field_like"].append(
            (r.density(ops.pauli(lat, "y")).total / (2 * edelstein) - 1, kfa2))
    for name, values in series.items():
        devs = [d for d, _ in values]
        coefficients = [d / x for d, x in values]
        exponents = [_exponent(devs[i], devs[i + 1]) for i in range(3)]
        rich = [_richardson(coefficients[i], coefficients[i + 1]) for i in range(3)]
        info = (name, devs, exponents, rich)
        offsets = [abs(p - 2) for p in exponents]
        assert offsets[0] > offsets[1] > offsets[2], info  # -> 2 as a -> 0
        assert offsets[2] < 0.02, info
        assert abs(rich[2] - rich[1]) < 0.01 * abs(rich[2]), info
    edelstein_rich = _richardson(*[d / x for d, x in series["edelstein"][2:]])
    assert edelstein_rich == pytest.approx(-1 / 8, abs=1e-4), series["edelstein"]


# --- samplers --------------------------------------------------------------------------


def test_fermi_contour_shell_is_spectrally_accurate():
    """Density of states of the lattice Rashba model from 32 and 64 points per loop agree
    to rounding; pockets crossing the zone boundary are joined (M point of a square
    lattice near half filling: one loop winding around the torus is not allowed, the
    hole pocket around M is one closed loop)."""
    lat = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.2)
    d32 = sample_shell(lat, 0.2, Numerics(bz_contour_points=32)).density_of_states()
    d64 = sample_shell(lat, 0.2, Numerics(bz_contour_points=64)).density_of_states()
    assert d32 == pytest.approx(d64, rel=1e-11)
    t = lat.parameters["hopping"]
    loops = fermi_contours(lat, 6.5 * t, Numerics())  # hole pockets around M = (pi, pi)
    assert len(loops) == 2 and all(np.all(lp.winding == 0) for lp in loops)
    centre = np.mean(loops[0].k, axis=0) * 0.2 / np.pi
    assert np.allclose(np.mod(centre, 2), 1.0, atol=1e-6)


def test_open_fermi_lines_wind_around_the_zone():
    """A quasi-1D band (hopping along x only, weak along y) has open Fermi lines that wind
    around the torus; each is one loop with winding (0, +-1)."""
    model = TightBinding(np.eye(2) * 0.3, {(0, 0): [[0.0]], (1, 0): [[-1.0]], (-1, 0): [[-1.0]],
                                           (0, 1): [[-0.1]], (0, -1): [[-0.1]]})
    loops = fermi_contours(model, 0.3, Numerics())
    assert len(loops) == 2
    assert sorted(abs(int(lp.winding[1])) for lp in loops) == [1, 1]
    assert all(lp.winding[0] == 0 for lp in loops)
    # DOS: int dk_y/(2pi) 2 / (2 pi |d eps/dk_x|) checked against a 1D quadrature
    ky = (np.arange(4096) + 0.5) / 4096 * 2 * np.pi / 0.3
    c = -(0.3 + 0.2 * np.cos(ky * 0.3)) / 2.0
    dos = np.mean(2 / (2 * np.pi * 2.0 * 0.3 * np.sqrt(1 - c**2))) * (2 * np.pi / 0.3) / (2 * np.pi)
    shell = sample_shell(model, 0.3)
    assert shell.density_of_states() == pytest.approx(dos, rel=1e-10)


def test_a_contour_through_grid_vertices_is_sampled():
    """4t - 2t (cos k_x a + cos k_y a) at E = t with a = 0.5 nm: the contour passes through
    vertices of the default 96 x 96 grid, and contourpy repeats a point (the last one
    repeating the first across the closure), which broke the arc-length spline ("x must
    be strictly increasing") until repeated points were dropped there too. DOS against
    the closed form K(m) / (2 pi^2 t a^2), m = 1 - (E - 4t)^2 / 16 t^2: measured 1e-15."""
    from scipy.special import ellipkm1

    t, a, energy = 1.0, 0.5, 1.0
    hx, hy = [[-t]], [[-t]]
    square = TightBinding(np.eye(2) * a, {(0, 0): [[4 * t]], (1, 0): hx, (-1, 0): hx,
                                          (0, 1): hy, (0, -1): hy})
    exact = ellipkm1((energy - 4 * t) ** 2 / (16 * t * t)) / (2 * np.pi**2 * t * a * a)
    assert sample_shell(square, energy).density_of_states() == pytest.approx(exact, rel=1e-12)


def test_fermi_sea_area_converges_second_order():
    """Area between the two Fermi circles of the lattice Rashba model (the region where the
    occupations differ), from the sea rule with exact occupations at its nodes, against the
    spectrally accurate contour area: errors 5.1e-3, 1.3e-3, 2.9e-4, 9.5e-5, 1.9e-5,
    5.3e-6 at bz_refine = 0..5 (h^2 in the finest cell size)."""
    lat = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.1)
    mu = 0.2
    loops = fermi_contours(lat, mu, Numerics(bz_contour_points=64))

    def area(p):
        m = len(p)
        f = np.fft.fftfreq(m, 1 / m)
        f[m // 2] = 0
        d = np.real(np.fft.ifft(1j * f[:, None] * np.fft.fft(p, axis=0), axis=0))
        return 0.5 * abs(np.sum(p[:, 0] * d[:, 1] - p[:, 1] * d[:, 0])) * 2 * np.pi / m

    exact = abs(area(loops[0].k) - area(loops[1].k)) / (2 * np.pi) ** 2
    errors = []
    for level in (1, 3):
        sea = sample_sea(lat, mu, Numerics(bz_refine=level))
        occ = band_energies(lat, sea.k) < mu
        mixed = occ.any(1) & ~occ.all(1)
        errors.append(abs(sea.weight[mixed].sum() / exact - 1))
    assert errors[1] < 2e-4
    assert errors[0] / errors[1] > 8  # second order: 16 expected for two bisections


def test_cubic_lattice_density_of_states_tetrahedra():
    """Simple cubic band -2t sum cos(k_i a) at E = -3t: DOS against the exact 1D integral of
    the square-lattice DOS (K elliptic). Linear tetrahedra: relative errors 5.1e-3, 6.5e-4,
    3.2e-4, 8.1e-5 at bz_grid 8, 16, 32, 64."""
    from scipy.integrate import quad
    from scipy.special import ellipkm1

    t, a, energy = 1.0, 0.3, -3.0
    hops = {(0, 0, 0): [[0.0]]}
    for axis in range(3):
        r = [0, 0, 0]
        r[axis] = 1
        hops[tuple(r)] = hops[tuple(-x for x in r)] = [[-t]]
    cubic = TightBinding(np.eye(3) * a, hops)

    def square(e):
        return 0.0 if abs(e) >= 4 * t else ellipkm1(e**2 / (16 * t * t)) / (2 * np.pi**2 * t)

    val, _ = quad(lambda z: square(energy + 2 * t * np.cos(z)), 0, np.pi, limit=500,
                  epsabs=1e-14, epsrel=1e-13)
    exact = val / np.pi / a**3
    shell = sample_shell(cubic, energy, Numerics(bz_grid=32))
    assert shell.density_of_states() == pytest.approx(exact, rel=1e-3)


def test_chunked_intrinsic_response_equals_solve_uniform():
    model = POrbital(orbital_rashba=0.1, spin_orbit=0.1, exchange=0.05)
    mu = 0.5
    # the same numerics on both routes: one solve (tol=None)
    r = mk.solve_uniform(model, DIS, mu, (1.0, 0.0), bz_grid=32, bz_refine=1, tol=None)
    op_list = [ops.orbital_current(model, "z", "y"), ops.spin_current(model, "z", "y")]
    chunked = intrinsic_response(model, mu, op_list, Numerics(bz_grid=32, bz_refine=1, bz_chunk=257))
    for op, value in zip(op_list, chunked):
        assert np.allclose(value, r.response(op).intrinsic, rtol=1e-12, atol=1e-15)


# --- models and operators ----------------------------------------------------------------


@pytest.mark.parametrize("model", [
    QiWuZhang(mass=0.7), Haldane(mass=0.1), Haldane(convention="lattice"),
    POrbital(orbital_rashba=0.1, spin_orbit=0.05, exchange=0.02), RashbaLattice(alpha=0.1, exchange=0.1),
], ids=["qwz", "haldane-atomic", "haldane-lattice", "p-orbital", "rashba"])
def test_analytic_velocity_matches_finite_difference(model):
    k = np.random.default_rng(1).normal(size=(6, 2)) * 3
    fd = finite_difference_velocity(model.hamiltonian, k, 1e-3)
    assert np.allclose(model.velocity(k), fd, atol=1e-9)


def test_atomic_convention_is_a_unitary_transform_of_the_lattice_one():
    atomic, lattice = Haldane(mass=0.1), Haldane(mass=0.1, convention="lattice")
    k = np.random.default_rng(2).normal(size=(5, 2)) * 5
    u = np.exp(1j * k @ atomic.positions.T)
    ha = atomic.hamiltonian(k)
    assert np.allclose(ha, np.conj(u)[:, :, None] * lattice.hamiltonian(k) * u[:, None, :])
    assert np.allclose(np.linalg.eigvalsh(ha), np.linalg.eigvalsh(lattice.hamiltonian(k)))


def test_orbital_angular_momentum_of_p_and_d_orbitals():
    for shell, l in (("p", 1), ("d", 2)):
        lm = ops.angular_momentum_matrices(shell)
        n = 2 * l + 1
        assert lm.shape == (3, n, n)
        for a, b, c in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
            assert np.allclose(lm[a] @ lm[b] - lm[b] @ lm[a], 1j * lm[c])
        assert np.allclose(sum(x @ x for x in lm), l * (l + 1) * np.eye(n))
        assert np.allclose(np.linalg.eigvalsh(lm[2]), np.arange(-l, l + 1))
    assert np.allclose(ops.angular_momentum_matrices("p"), L_CARTESIAN)
    with pytest.raises(ValueError, match="complete l shell"):
        ops.angular_momentum_matrices(["dxy", "dx2-y2"])  # L_x leaves this pair
    ls = ops.spin_orbit_coupling("p")  # L.S: j = 3/2 (x4) at +1/2, j = 1/2 (x2) at -1
    assert np.allclose(np.linalg.eigvalsh(ls), [-1, -1, 0.5, 0.5, 0.5, 0.5])


def test_porbital_labels_build_spin_and_orbital_operators():
    model = POrbital(orbital_rashba=0.1, spin_orbit=0.1)
    lm, s = ops.angular_momentum_matrices("p"), ops.spin_half_matrices()
    assert np.allclose(model.orbital_matrices, ops.with_spin(lm))
    assert np.allclose(model.spin_matrices, ops.with_spin(np.eye(3), s))
    assert np.allclose(ops.local_operator(model, lm[2], ["px", "py", "pz"]).matrix, model.orbital_matrices[2])
    assert list(np.real(np.diag(ops.projector(model, orbital="pz", spin="down").matrix))) == [0, 0, 0, 0, 0, 1]
    assert np.allclose(ops.total_angular_momentum(model, "z").matrix, lm[2].repeat(2, 0).repeat(2, 1)
                       * np.kron(np.ones((3, 3)), np.eye(2)) + model.spin_matrices[2])


def test_porbital_orbital_hall_without_spin_orbit_coupling():
    """Orbital texture alone (gamma != 0, no spin) gives an intrinsic orbital Hall current
    (Go et al. 2018); the longitudinal L_z current is odd under x -> -x and vanishes up to
    the quadrature error (the triangle splitting of crossed cells is not mirror symmetric:
    1.4e-4 of the Hall value at bz_grid = 64, bz_refine = 2)."""
    model = POrbital(sigma_hopping=1.0, pi_hopping=-0.3, crystal_field=0.5, orbital_rashba=0.2,
                     spin=False)
    r = mk.solve_uniform(model, DIS, 0.2, (1.0, 0.0), bz_grid=64, bz_refine=2)
    oh = r.density(ops.orbital_current(model, "z", "y"))
    assert abs(oh.intrinsic) > 1e-3
    odd = r.density(ops.orbital_current(model, "z", "x"))
    assert abs(odd.intrinsic) < 1e-3 * abs(oh.intrinsic)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lattice_vectors=[[1, 0], [2, 0]]), "linearly dependent"),
    (dict(lattice_vectors=[[1, 0, 0]]), "lattice_vectors"),
    (dict(hoppings={(0, 0): [[0.0]], (1, 0): [[1.0]]}), "not Hermitian"),
    (dict(hoppings={(0, 0): [[np.nan]]}), "NaN"),
    (dict(hoppings={(0, 0.5): [[1.0]]}), "integers"),
    (dict(degeneracies=[0]), "degeneracies"),
    (dict(positions=[[0.0, 0.0], [1.0, 0.0]]), "positions"),
    (dict(convention="atomic"), "positions"),
    (dict(spins=["left"]), "spins"),
])
def test_tight_binding_rejects_bad_input(kwargs, match):
    args = dict(lattice_vectors=np.eye(2), hoppings={(0, 0): [[0.0]]})
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        TightBinding(**args)


@pytest.mark.parametrize("numerics, match", [
    (dict(bz_grid=2), "bz_grid"), (dict(bz_refine=-1), "bz_refine"),
    (dict(bz_cell_points=7), "bz_cell_points"), (dict(bz_contour_points=3), "bz_contour_points"),
    (dict(bz_chunk=0), "bz_chunk"),
])
def test_brillouin_numerics_are_validated(numerics, match):
    with pytest.raises(ValueError, match=match):
        mk.solve_uniform(QiWuZhang(), DIS, 0.0, (1.0, 0.0), **numerics)


def test_builtin_models_validate_parameters():
    with pytest.raises(ValueError, match="hopping"):
        QiWuZhang(hopping=-1)
    with pytest.raises(ValueError, match="bond_length"):
        Haldane(bond_length=0)
    with pytest.raises(ValueError, match="lattice_constant"):
        RashbaLattice(lattice_constant=np.nan)
    with pytest.raises(ValueError, match="spin=True"):
        POrbital(spin=False, spin_orbit=0.1)


# --- slow convergence studies -------------------------------------------------------------


@pytest.mark.slow
def test_intrinsic_spin_hall_sea_convergence_study():
    """Fermi-sea convergence of the lattice intrinsic spin Hall term (a = 0.1 nm):
    differences to the finest rule shrink with bz_refine; a plain step function on a
    uniform grid converges much more slowly (first order)."""
    lat = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.1)
    op = ops.spin_current(lat, "z", "y")
    best = intrinsic_response(lat, 0.2, op, Numerics(bz_grid=384, bz_refine=5))[0]
    errs = [abs(intrinsic_response(lat, 0.2, op, Numerics(bz_refine=r))[0] / best - 1)
            for r in (1, 3, 5)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 1e-5


STRIP = dict(width=100.0, mean_free_path=20.0, mu=0.2)


def _strip(model, specularity, **numerics):
    """Rashba strip, E along x, walls normal to y; observables the strip tests compare."""
    disorder = mk.PointDisorder.from_mean_free_path(model, STRIP["mu"], STRIP["mean_free_path"])
    r = mk.solve_slab(model, disorder, mk.Strip(STRIP["width"], specularity, cells=40), STRIP["mu"],
                      (1.0, 0.0), **numerics)
    sz, sy = r.density(ops.spin(model, "z")).total, r.density(ops.spin(model, "y")).total
    near = int(np.argmin(np.abs(r.centers - 2.5)))  # y = 2.45 nm ~ l/8: the s_z accumulation
    return dict(g=r.conductance_ratio(), j=r.mean(ops.charge_current(model, "x")).total,
                sz_near=sz[near], sz_wall=sz[0], sy_wall=sy[0])


def test_lattice_strip_reproduces_the_continuum_strip():
    """The slab solver accepts lattice models through their Brillouin-zone shells: a strip
    (W = 100 nm, l = 20 nm, diffuse walls) of the lattice Rashba model approaches the
    continuum strip as (k_F a)^2. a = 0.1, 0.05 nm (k_F a = 0.23, 0.115) with 512 and 1024
    contour points per reciprocal-vector length: the same ~117 points per Fermi loop, so the
    contour quadrature error (1 % of the lattice correction of G/G0 at both) does not bias
    the exponent. Continuum: 128 angles (converged to 1e-8).

    Measured lattice - continuum:
    * G/G0: 3.092e-4, 7.835e-5, the converged values (the uniform loop rule gave 3.124e-4,
      7.917e-5 here): exponent 1.981; p = 0.5 in the slow test;
    * mean current j_x, relative: -2.208e-3, -5.550e-4: exponent 1.992, coefficient
      -0.042 (k_F a)^2 (the bulk conductivity at fixed l);
    * s_z at y = 2.45 nm (the spin Hall accumulation, 0.30 of its wall value), relative:
      +9.04e-3, +2.25e-3: exponent 2.006;
    * wall spin (first cell, 0.1 nm), with the Fermi loops graded at the grazing points
      (docs/theory.md §8): <s_z> +1.989e-2, +4.895e-3 (exponent 2.023: a lattice
      correction, no longer contour noise; with the uniform loop rule it wandered between
      -22 % and +17 % with the resolution); <s_y> +6.9e-5, +9.5e-6 (was 1.58e-3, 3.67e-4
      of contour quadrature)."""
    cont = _strip(RashbaFerromagnet(mass=1.0, alpha=0.1), 0.0, angles=128)
    fine, finer = (_strip(RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=a), 0.0,
                          bz_contour_points=points) for a, points in ((0.1, 512), (0.05, 1024)))
    dev = {key: [lat[key] / cont[key] - 1 for lat in (fine, finer)] for key in cont}
    g_dev = [lat["g"] - cont["g"] for lat in (fine, finer)]
    assert 0 < g_dev[1] < g_dev[0] < 1e-3
    assert _exponent(*g_dev) == pytest.approx(2.0, abs=0.05)  # measured 1.981
    assert _exponent(*dev["j"]) == pytest.approx(2.0, abs=0.05)  # measured 1.992
    assert _exponent(*dev["sz_near"]) == pytest.approx(2.0, abs=0.05)  # measured 2.006
    assert _exponent(*dev["sz_wall"]) == pytest.approx(2.0, abs=0.05)  # measured 2.023
    assert max(abs(d) for d in dev["sy_wall"]) < 2e-4  # measured 6.9e-5, 9.5e-6
    assert cont["sz_wall"] > 2 * cont["sz_near"] > 0  # the accumulation sits at the wall (0.30)


@pytest.mark.slow
def test_lattice_strip_scaling_study():
    """Both specularities, 235 points per Fermi loop (a = 0.1, 0.05 nm at 1024, 2048
    contour points). Measured G/G0 lattice - continuum: 3.1005e-4, 7.856e-5 (p = 0),
    1.7509e-4, 4.431e-5 (p = 0.5): exponents 1.981, 1.982; current 1.992, 1.991; s_z at
    2.45 nm 2.020, 2.022; wall <s_y> within 4.2e-4, 9.2e-5 (p = 0) and 1.7e-4, 5.1e-5
    (p = 0.5), contour quadrature; wall <s_z> +1.9 %, -0.8 % and +2.0 %, -0.6 %."""
    for p in (0.0, 0.5):
        cont = _strip(RashbaFerromagnet(mass=1.0, alpha=0.1), p, angles=128)
        lats = [_strip(RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=a), p,
                       bz_contour_points=points) for a, points in ((0.1, 1024), (0.05, 2048))]
        g_dev = [lat["g"] - cont["g"] for lat in lats]
        info = (p, g_dev, cont, lats)
        assert _exponent(*g_dev) == pytest.approx(2.0, abs=0.05), info
        assert _exponent(*[lat["j"] / cont["j"] - 1 for lat in lats]) == pytest.approx(2.0, abs=0.05), info
        assert _exponent(*[lat["sz_near"] / cont["sz_near"] - 1 for lat in lats]) == pytest.approx(
            2.0, abs=0.05), info
        assert all(lat["sy_wall"] == pytest.approx(cont["sy_wall"], rel=1e-3) for lat in lats), info


def _cubic_band(a):
    """Simple-cubic s band eps = 2t (3 - sum cos k_i a), t = hbar^2 / (2 m_e a^2): the
    parabolic band of mass m_e at low filling."""
    from mesokinetics.units import mass_to_internal

    t = 1 / (2 * mass_to_internal(1.0) * a * a)
    hops = {(0, 0, 0): [[6 * t]]}
    for r in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
        hops[r] = hops[tuple(-x for x in r)] = [[-t]]
    return TightBinding(np.eye(3) * a, hops), t


def _cubic_film_ratio(a, mu, thickness, mean_free_path, nodes=32):
    """Exact Boltzmann G/G0 of a diffuse-walled film (normal z, field x) of the simple-cubic
    band with point disorder. One band and point disorder: tau is constant on the Fermi
    surface, and the in-scattering and the diffusely re-emitted parts vanish for a
    distribution odd in v_x, so g = e tau E v_x [1 - exp(-z / (tau v_z))] (v_z > 0, mirrored
    for v_z < 0) and the film average gives
        G/G0 = <v_x^2 F(d / (tau |v_z|))> / <v_x^2>,   F(u) = 1 - (1 - e^-u) / u,
    <.> the Fermi-surface integral with weight delta(eps - mu), tau = l / <|v|>_DOS (the
    definition of PointDisorder.from_mean_free_path). For a parabolic band this is the
    Fuchs-Sondheimer integral. Fermi surface by Newton along each direction (star-shaped
    at low filling), Gauss-Legendre in cos(theta) on [0, 1] (both hemispheres alike) x
    trapezoid in phi: converged to 1e-12 at 32 nodes."""
    from mesokinetics.units import mass_to_internal

    _, t = _cubic_band(a)
    x, wx = np.polynomial.legendre.leggauss(nodes)
    cos_t = 0.5 * (x + 1)
    phi = (np.arange(2 * nodes) + 0.5) * np.pi / nodes
    sin_t = np.sqrt(1 - cos_t**2)
    n = np.stack([np.outer(sin_t, np.cos(phi)), np.outer(sin_t, np.sin(phi)),
                  np.outer(cos_t, np.ones_like(phi))])
    k = np.full(n.shape[1:], np.sqrt(2 * mass_to_internal(1.0) * mu))
    for _ in range(60):
        eps = 2 * t * (3 - np.cos(k * n * a).sum(0))
        k = k - (eps - mu) / (2 * t * a * (n * np.sin(k * n * a)).sum(0))
    v = 2 * t * a * np.sin(k * n * a)
    weight = wx[:, None] * k**2 / np.abs((n * v).sum(0))
    tau = mean_free_path / (np.sum(weight * np.linalg.norm(v, axis=0)) / np.sum(weight))
    u = thickness / (tau * np.abs(v[2]))
    f = 1 - (-np.expm1(-u)) / u
    return float(np.sum(weight * v[0] ** 2 * f) / np.sum(weight * v[0] ** 2))


FILM = dict(mu=0.2, thickness=20.0, mean_free_path=20.0)  # d = l, diffuse walls


def _lattice_film(a, bz_grid):
    """Slab solver on the cubic band; the disorder is set with the same BZ numerics as the
    solve. (from_mean_free_path at its default bz_grid = 24 misses the DOS by 4 % at
    a = 0.3 nm: the solve then runs at a different l, which shifts G/G0 by +0.008 at
    bz_grid = 48 and +0.0095 at 128.)"""
    model, _ = _cubic_band(a)
    numerics = dict(bz_grid=bz_grid, bz_refine=0)
    dis = mk.PointDisorder.from_mean_free_path(model, FILM["mu"], FILM["mean_free_path"],
                                               mk.Numerics(**numerics))
    # bz_grid fixed on purpose (a convergence study): one solve (tol=None)
    r = mk.solve_slab(model, dis, mk.Film(FILM["thickness"], 0.0, cells=16), FILM["mu"],
                      (1.0, 0.0, 0.0), **numerics, tol=None)
    assert r.mean_free_path == pytest.approx(FILM["mean_free_path"], rel=1e-9)
    return r.conductance_ratio()


def test_cubic_lattice_film_reproduces_the_fuchs_sondheimer_film():
    """3D lattice film: simple-cubic s band, normal along a3, diffuse walls, d = l = 20 nm,
    mu = 0.2 eV. References: the Fuchs-Sondheimer ratio (reference.fuchs_sondheimer_ratio,
    kappa = 1: 0.683857) for the continuum, and the exact Boltzmann ratio of the lattice band
    (`_cubic_film_ratio`), which tends to it as (k_F a)^2: deviation -4.692e-4, -1.894e-3,
    -7.864e-3, -3.751e-2 at a = 0.075, 0.15, 0.3, 0.6 nm (k_F a = 0.17 ... 1.37), exponent
    2.013 from 0.15/0.075, coefficient -0.0159 (k_F a)^2; 8e-8 off at a = 1e-3 nm.

    The slab solver reproduces the lattice value, converging with bz_grid (tetrahedron shell,
    no grazing refinement): errors -2.6e-3, -6.1e-4 at bz_grid = 16, 32 for a = 0.6 nm
    (ratio 4.3) and -3.3e-3 at bz_grid = 32 for a = 0.3 nm (k_F a = 0.69), where the lattice
    correction (-7.9e-3) is resolved: the solver is 3x closer to the lattice value than to
    the continuum one. (The earlier 0.3 % agreement with the continuum at a = 0.3 nm, 0.6824
    at bz_grid = 48, came from setting the disorder at a coarser BZ grid than the solve:
    the exact lattice value is 0.6760.) The continuum solver
    gives the closed form to 9e-8 at polar = 64 (2.4e-4 at 16, 9.8e-5 at 32)."""
    from mesokinetics.models import ParabolicBand

    fs = ref.fuchs_sondheimer_ratio(FILM["thickness"] / FILM["mean_free_path"], 0.0)
    model = ParabolicBand(1.0, dim=3)
    dis = mk.PointDisorder.from_mean_free_path(model, FILM["mu"], FILM["mean_free_path"])
    cont = mk.solve_slab(model, dis, mk.Film(FILM["thickness"], 0.0, cells=16), FILM["mu"],
                         (1.0, 0.0, 0.0), polar=64, azimuth=16).conductance_ratio()
    assert cont == pytest.approx(fs, abs=1e-6)  # measured 9.2e-8

    # the exact lattice reference tends to Fuchs-Sondheimer as (k_F a)^2
    assert _cubic_film_ratio(1e-3, **FILM) == pytest.approx(fs, abs=1e-6)  # measured 8e-8
    dev = {a: _cubic_film_ratio(a, **FILM) - fs for a in (0.075, 0.15, 0.3, 0.6)}
    assert _exponent(dev[0.15], dev[0.075]) == pytest.approx(2.0, abs=0.05)  # measured 2.013
    assert dev[0.6] < dev[0.3] < dev[0.15] < 0

    coarse, fine = _lattice_film(0.6, 16), _lattice_film(0.6, 32)
    errors = [coarse - (fs + dev[0.6]), fine - (fs + dev[0.6])]
    assert abs(errors[1]) < 1.5e-3  # measured -6.1e-4
    assert abs(errors[0]) > 3 * abs(errors[1])  # measured ratio 4.3
    g = _lattice_film(0.3, 32)
    assert g == pytest.approx(fs + dev[0.3], abs=7e-3)  # measured -3.3e-3
    assert abs(g - (fs + dev[0.3])) < 0.5 * abs(g - fs)  # the lattice correction is resolved


@pytest.mark.slow
def test_cubic_lattice_film_bz_grid_convergence_study():
    """a = 0.3 nm (k_F a = 0.69): slab solver minus the exact lattice ratio -7.57e-3,
    -4.03e-3, -3.27e-3, -1.45e-3, -3.9e-4 at bz_grid = 16, 24, 32, 48, 64 (about second
    order, not monotone in the rate); at 64 the solver is 21x closer to the lattice value
    than to Fuchs-Sondheimer."""
    fs = ref.fuchs_sondheimer_ratio(1.0, 0.0)
    exact = _cubic_film_ratio(0.3, **FILM)
    errors = [_lattice_film(0.3, g) - exact for g in (32, 64)]
    assert abs(errors[1]) < 1e-3  # measured 3.9e-4
    assert abs(errors[0]) > 4 * abs(errors[1])  # measured 8.4
    assert abs(errors[1]) < 0.1 * abs(exact + errors[1] - fs)
