"""Kubo-Bastin (SCBA + ladder / CBA) versus the kinetic engine (issue 4).

Tolerances come from the convergence/trend study recorded in docs/kubo.md
("Validation: Kubo vs kinetic"; produced by examples/kubo_vs_kinetic.py --full). Measured at
tau = 200, 400, 800 fs, the ladder-minus-kinetic difference D(tau) obeys D ~ c / tau
(ratio D(tau)/D(2 tau) = 2.00 +- 0.05 for every case below, except the in-plane damping-like
torque, 2.18 then 2.04, and the massive Dirac Hall conductivity, whose difference tends to a
constant). The fast tests run at tau = 400 fs and
allow about 2.5-3x the measured difference there; k-space numerics (angles, panel order,
grading ratio) change the results by < 1e-8 relative at these settings, so the tolerance
is set by the physics trend, not by quadrature error.
"""

from __future__ import annotations

import numpy as np
import pytest

import mesokinetics as mk
import mesokinetics.kubo as kubo
from mesokinetics import operators as ops
from mesokinetics.models import MassiveDirac, ParabolicBand, RashbaFerromagnet
from mesokinetics.units import E2_OVER_H, fs_to_internal

TAU_FS = 400.0
SHE_UNIVERSAL = 1.0 / (8.0 * np.pi)


def rashba():
    return RashbaFerromagnet(mass=1.0, alpha=0.1), 0.2


def ferromagnet(mvec):
    return RashbaFerromagnet(mass=1.0, alpha=0.03, exchange=0.1, magnetization=mvec), 0.3


def dirac():
    return MassiveDirac(velocity=1.0, gap=0.1), 0.2


def solve_all(model, mu, tau_fs, field=(1.0, 0.0), angles=32):
    dis = mk.PointDisorder.from_tau(model, mu, tau_fs)
    kin = mk.solve_uniform(model, dis, mu, field, angles=64)
    lad = kubo.solve_uniform_kubo(model, dis, mu, field, angles=angles)
    cba = kubo.solve_uniform_kubo(model, dis, mu, field, vertex_corrections=False, angles=angles)
    return kin, lad, cba


@pytest.fixture(scope="module")
def rashba_solutions():
    m, mu = rashba()
    return (m,) + solve_all(m, mu, TAU_FS)


@pytest.fixture(scope="module")
def fm_z_solutions():
    m, mu = ferromagnet((0, 0, 1))
    return (m,) + solve_all(m, mu, TAU_FS)


@pytest.fixture(scope="module")
def fm_x_solutions():
    m, mu = ferromagnet((1, 0, 0))
    return (m,) + solve_all(m, mu, TAU_FS, angles=48)


@pytest.fixture(scope="module")
def dirac_solutions():
    m, mu = dirac()
    return (m,) + solve_all(m, mu, TAU_FS)


# --- input validation --------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(field=(1.0, 0.0, 0.0)), "field must have 2 components"),
        (dict(field=(np.nan, 0.0)), "field must be finite"),
        (dict(mu=np.inf), "mu must be a finite energy"),
        (dict(angles=0), "angles must be an integer"),
        (dict(order=-3), "order must be an integer"),
        (dict(ratio=1.0), "ratio must be a finite number > 1"),
        (dict(far=-2.0), "far must be a finite number > 1"),
        (dict(scba_tol=0.0), "scba_tol must be a positive number"),
        (dict(self_energy="exact"), "self_energy must be"),
        (dict(vertex_corrections="yes"), "vertex_corrections must be True or False"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    m, mu = rashba()
    args = dict(mu=mu, field=(1.0, 0.0))
    args.update(kwargs)
    mu_, field = args.pop("mu"), args.pop("field")
    with pytest.raises(ValueError, match=match):
        kubo.solve_uniform_kubo(m, mk.PointDisorder(1e-3), mu_, field, **args)


def test_bad_types_and_options():
    m, mu = rashba()
    with pytest.raises(TypeError, match="unknown numerics"):
        kubo.solve_uniform_kubo(m, mk.PointDisorder(1e-3), mu, (1, 0), angels=32)
    with pytest.raises(TypeError, match="PointDisorder"):
        kubo.solve_uniform_kubo(m, 1e-3, mu, (1, 0))
    with pytest.raises(ValueError, match="2D models only"):
        kubo.solve_uniform_kubo(ParabolicBand(1.0, dim=3), mk.PointDisorder(1e-3), 0.1, (1, 0, 0))
    r = kubo.solve_uniform_kubo(m, mk.PointDisorder(1e-3), mu, (1, 0), angles=16)
    with pytest.raises(ValueError, match="unit must be"):
        r.conductivity("S/cm")


# --- Fermi-sea conventions against the kinetic intrinsic term -----------------------------
@pytest.mark.parametrize("gap", [0.1, -0.1])
def test_dirac_gap_hall_is_half_quantum(gap):
    """mu in the gap: pure Fermi sea, sigma_xy = -sign(gap) e^2/2h, as the kinetic engine."""
    d = MassiveDirac(velocity=1.0, gap=gap)
    dis = mk.PointDisorder(1e-3)
    kr = kubo.solve_uniform_kubo(d, dis, 0.03, (1.0, 0.0), angles=16)
    c = kr.conductivity("e2/h")
    kin = mk.solve_uniform(d, dis, 0.03, (1.0, 0.0), angles=32).conductivity("e2/h")
    assert c.total[0, 1] == pytest.approx(-np.sign(gap) * 0.5, abs=1e-6)
    assert c.total[0, 1] == pytest.approx(kin.total[0, 1], abs=1e-6)
    assert abs(c.fermi_surface[0, 1]) < 1e-12
    assert abs(c.total[0, 0]) < 1e-12


# --- Rashba 2DEG ---------------------------------------------------------------------------
def test_rashba_spin_hall(rashba_solutions):
    m, kin, lad, cba = rashba_solutions
    op = ops.spin_current(m, "z", "y")
    k = kin.density(op)
    assert k.intrinsic == pytest.approx(SHE_UNIVERSAL, rel=1e-6)
    # measured: ladder total 3.5e-7 at 400 fs, halving with tau (7.1e-7 at 200 fs)
    assert abs(lad.density(op).total - k.total) < 1e-6
    # the vertex correction is what cancels the intrinsic +1/(8 pi)
    assert lad.density(op).vertex == pytest.approx(-SHE_UNIVERSAL, rel=1e-3)
    # CBA keeps the intrinsic value (measured 0.0397882 vs 0.0397887)
    assert cba.density(op).total == pytest.approx(SHE_UNIVERSAL, abs=5e-6)


def test_rashba_edelstein(rashba_solutions):
    m, kin, lad, cba = rashba_solutions
    op = ops.spin(m, "y")
    k = kin.density(op).total
    exact = -1.0 * m.m * m.alpha * fs_to_internal(TAU_FS) / (2 * np.pi)  # e m alpha tau E/2pi
    assert k == pytest.approx(exact, rel=1e-10)
    # measured relative difference 3.6e-4 at 400 fs (= 0.0460 absolute, tau independent)
    assert lad.density(op).total == pytest.approx(k, rel=1e-3)
    # CBA uses the quasiparticle time: half the Boltzmann value here
    assert cba.density(op).total == pytest.approx(0.5 * k, rel=2e-3)


# --- Rashba ferromagnet: spin-orbit torque ---------------------------------------------------
def test_torque_out_of_plane(fm_z_solutions):
    m, kin, lad, cba = fm_z_solutions
    damping, field_like = ops.pauli(m, "x"), ops.pauli(m, "y")
    k = kin.density(damping)
    assert abs(k.total) < 1e-12 and abs(k.intrinsic) > 0.3
    # ladder: measured 1.02e-4 at 400 fs (2.03e-4 at 200 fs), i.e. -> 0 like 1/tau
    assert abs(lad.density(damping).total) < 3e-4
    # CBA keeps the intrinsic torque (measured -0.36637 vs kinetic intrinsic -0.36672)
    assert cba.density(damping).total == pytest.approx(k.intrinsic, abs=1e-3)
    kf = kin.density(field_like).total
    exact = -1.0 * m.m * m.alpha * fs_to_internal(TAU_FS) / np.pi
    assert kf == pytest.approx(exact, rel=1e-10)
    # measured relative difference 6.2e-4 at 400 fs (0.0476 absolute, tau independent)
    assert lad.density(field_like).total == pytest.approx(kf, rel=1.5e-3)


def test_torque_in_plane(fm_x_solutions):
    m, kin, lad, cba = fm_x_solutions
    damping, field_like = ops.pauli(m, "z"), ops.pauli(m, "y")
    assert abs(kin.density(damping).total) < 1e-12
    # ladder: measured -6.4e-6 at 400 fs (-1.4e-5 at 200 fs); CBA gives a spurious +0.625
    assert abs(lad.density(damping).total) < 2e-5
    assert cba.density(damping).total > 0.5
    kf = kin.density(field_like).total
    # measured relative difference 8.4e-4 at 400 fs (0.0637 absolute, tau independent)
    assert lad.density(field_like).total == pytest.approx(kf, rel=2e-3)
    assert lad.border_residual < 1e-5


# --- massive Dirac: where the equivalence fails ---------------------------------------------
def _nca_hall(gap, mu):
    """Non-crossing (ladder) anomalous Hall conductivity of the massive Dirac model with
    Gaussian white-noise disorder, sigma_yx = 4 D mu (mu^2 + D^2)/(mu^2 + 3 D^2)^2 e^2/h
    (Sinitsyn et al. PRB 75, 045315 (2007); Ado et al. EPL 111, 37004 (2015))."""
    return 4 * gap * mu * (mu**2 + gap**2) / (mu**2 + 3 * gap**2) ** 2


def test_dirac_hall_ladder_matches_noncrossing_formula(dirac_solutions):
    m, kin, lad, cba = dirac_solutions
    sigma_yx = lad.conductivity("e2/h").total[1, 0]
    # measured 0.81049 vs 0.81633 at 400 fs; the gap closes linearly in 1/tau
    assert sigma_yx == pytest.approx(_nca_hall(m.gap, 0.2), rel=1.5e-2)


def _kinetic_hall(gap, mu):
    """Kinetic sigma_yx of the massive Dirac model, mu > |gap| (e^2/h): intrinsic
    D/(2 mu) plus the disorder (vertex) term D (mu^2 - D^2)/(mu (mu^2 + 3 D^2))
    (docs/validation.md; sigma_xy = -sigma_yx)."""
    return gap / (2 * mu), gap * (mu**2 - gap**2) / (mu * (mu**2 + 3 * gap**2))


def test_dirac_hall_kinetic_misses_half_of_the_ladder(dirac_solutions):
    """Characterization of a known failure of the equivalence claim (see docs/kubo.md).

    Closed forms (e^2/h, mu > D): the kinetic engine gives sigma_yx = D/(2 mu) (intrinsic)
    + D (mu^2 - D^2)/(mu (mu^2 + 3 D^2)) (disorder) = D (3 mu^2 + D^2) / (2 mu (mu^2 + 3 D^2)),
    tau independent; the ladder Kubo formula tends to the non-crossing value
    L = 4 D mu (mu^2 + D^2) / (mu^2 + 3 D^2)^2 (`_nca_hall`). Hence
        kinetic / L = (3 mu^2 + D^2)(mu^2 + 3 D^2) / (8 mu^2 (mu^2 + D^2)),
        L - kinetic = D (5 mu^2 + 3 D^2)(mu^2 - D^2) / (2 mu (mu^2 + 3 D^2)^2),
    which at mu = 2 D (D = 0.1, mu = 0.2 eV) are 91/160 and 69/196 = 0.352: the kinetic
    theory misses the fraction 69/160 = 0.43 of the ladder result (about half; 3/8 of it
    is kept as mu/D -> infinity, all of it as mu -> D). The missing part is the
    side-jump / Gaussian skew part carried by the O(tau^0) intraband response, which the
    kinetic theory leaves out at this order (paper, end of 'General formalism').

    The ladder result approaches L linearly in 1/tau (measured L(tau) - L = -5.818e-3,
    -2.913e-3 at 400, 800 fs), so the Richardson value 2 L(800) - L(400) is compared with
    the closed form."""
    m, kin, lad, cba = dirac_solutions
    gap, mu = m.gap, 0.2
    c = kin.conductivity("e2/h")
    intrinsic, disorder = _kinetic_hall(gap, mu)
    # measured: intrinsic and disorder terms equal the closed forms to 2.5e-16, 6e-17
    assert c.intrinsic[1, 0] == pytest.approx(intrinsic, abs=1e-12)
    assert c.disorder[1, 0] == pytest.approx(disorder, abs=1e-12)
    assert c.total[1, 0] == pytest.approx(13.0 / 28.0, abs=1e-12)  # the closed form at mu = 2 D
    nca = _nca_hall(gap, mu)
    assert nca == pytest.approx(40.0 / 49.0, rel=1e-14)

    lad800 = kubo.solve_uniform_kubo(m, mk.PointDisorder.from_tau(m, mu, 2 * TAU_FS), mu,
                                     (1.0, 0.0), angles=32)
    l400 = lad.conductivity("e2/h").total[1, 0]
    l800 = lad800.conductivity("e2/h").total[1, 0]
    # 1/tau approach: measured (L(400) - L) / (L(800) - L) = 1.997
    assert (l400 - nca) / (l800 - nca) == pytest.approx(2.0, abs=0.02)
    richardson = 2 * l800 - l400
    # measured richardson - L = -7.4e-6 (mu = 0.2; -1.6e-6 at mu = 0.15, -1.5e-5 at 0.3)
    assert richardson == pytest.approx(nca, abs=3e-5)
    missing = (richardson - c.total[1, 0]) / richardson
    assert missing == pytest.approx(69.0 / 160.0, abs=3e-5)  # measured 0.431245 vs 0.43125
    ratio = (3 * mu**2 + gap**2) * (mu**2 + 3 * gap**2) / (8 * mu**2 * (mu**2 + gap**2))
    assert 1 - missing == pytest.approx(ratio, abs=3e-5)
    # the longitudinal conductivity agrees: measured relative difference -1.7e-3 at 400 fs
    sxx_k = c.total[0, 0]
    assert lad.conductivity("e2/h").total[0, 0] == pytest.approx(sxx_k, rel=4e-3)


# --- single parabolic band: Drude ------------------------------------------------------------
def test_parabolic_drude_and_no_vertex():
    p = ParabolicBand(1.0, dim=2)
    mu, tau = 0.1, 400.0
    dis = mk.PointDisorder.from_tau(p, mu, tau)
    r = kubo.solve_uniform_kubo(p, dis, mu, (1.0, 0.0), angles=16)
    c = r.conductivity("internal")
    drude = (p.m * mu / (2 * np.pi)) * fs_to_internal(tau) / p.m  # n e^2 tau / m
    # point disorder is isotropic: the ladder vertex of a single band vanishes
    assert np.max(np.abs(r.vertex_matrix)) < 1e-12
    # measured relative excess 2.6e-3 at mu tau = 61 (band-bottom tail of the Lorentzian,
    # ~ 1/(2 pi mu tau))
    assert c.total[0, 0] == pytest.approx(drude, rel=5e-3)
    assert c.total[0, 0] / E2_OVER_H > 0


# --- internals ---------------------------------------------------------------------------------
def test_scba_tends_to_born_and_zero_mode(fm_x_solutions):
    """(1) The SCBA self-energy tends to the Born value Sigma_B = -i (gamma/2) D(mu) as the
    disorder weakens: Sigma - Sigma_B = O(gamma^2), i.e. the relative difference falls like
    gamma ~ 1/tau. (2) With the self-consistent Sigma, M0 = Sigma - Sigma^dagger is an exact
    zero mode of the ladder kernel on the quadrature grid: G^R - G^A = G^R M0 G^A at every
    node, so (gamma/2pi) int_k G^R M0 G^A = (gamma/2pi) int_k (G^R - G^A) = -i gamma A = M0.
    With the Born Sigma the identity fails by exactly the SCBA correction, and the bordered
    solve then needs a nonzero Lagrange multiplier. (3) The bordered ladder solution obeys
    the neutrality row Tr int_k G^R (v + Gamma) G^A = 0.

    Rashba ferromagnet with in-plane m (anisotropic shells, so the neutrality row and the
    zero mode matter; for the isotropic Rashba 2DEG the source is orthogonal to the zero
    mode by symmetry and the multiplier vanishes even for the Born Sigma)."""
    m, kin, lad, cba = fm_x_solutions
    mu, gamma = 0.3, lad.disorder.gamma

    def sigma(tau, self_energy):
        dis = mk.PointDisorder.from_tau(m, mu, tau)
        return kubo.solve_uniform_kubo(m, dis, mu, (1.0, 0.0), angles=48, self_energy=self_energy,
                                       vertex_corrections=False).sigma

    # (1) measured relative difference 1.9843e-3, 9.9327e-4, 4.9692e-4 at 200, 400, 800 fs
    # (ratios 1.998, 1.999; 3.96e-3 at 100 fs); the Born value is the kinetic engine's
    devs = []
    for tau in (200.0, 400.0, 800.0):
        scba = lad.sigma if tau == TAU_FS else sigma(tau, "scba")
        born = sigma(tau, "born")
        devs.append(np.linalg.norm(scba - born) / np.linalg.norm(born))
    assert devs[0] / devs[1] == pytest.approx(2.0, abs=0.01)
    assert devs[1] / devs[2] == pytest.approx(2.0, abs=0.01)
    assert devs[1] < 2e-3

    # (2) zero mode on the grid the solver used (inner nodes: the SCBA/ladder domain)
    k, w = lad.grid.k[lad.grid.inner], lad.grid.weight[lad.grid.inner]
    h = m.hamiltonian(k)
    eye = np.eye(h.shape[-1])

    def zero_mode_defect(sig):
        gr = np.linalg.inv(mu * eye - h - sig)
        ga = np.conj(np.swapaxes(gr, -1, -2))
        m0 = sig - sig.conj().T
        km0 = gamma / (2 * np.pi) * np.einsum("p,pab,bc,pcd->ad", w, gr, m0, ga)
        return np.linalg.norm(km0 - m0) / np.linalg.norm(m0), gr, ga

    defect, gr, ga = zero_mode_defect(lad.sigma)
    assert defect < 1e-12  # measured 4.8e-16 (SCBA converged to scba_tol = 1e-12)
    born = kubo.solve_uniform_kubo(m, lad.disorder, mu, (1.0, 0.0), angles=48, self_energy="born")
    born_defect = zero_mode_defect(born.sigma)[0]
    # measured 9.944e-4: the Born Sigma misses the zero mode by the SCBA correction (9.933e-4;
    # they differ at relative order gamma, 1.1e-3)
    assert born_defect == pytest.approx(devs[1], rel=5e-3)
    # bordered solve: multiplier measured 6.3e-8 (SCBA; the circular cutoff of the ladder
    # domain, halving with tau) against 8.7e-4 with the Born Sigma
    assert lad.border_residual < 1e-6
    assert born.border_residual > 100 * lad.border_residual

    # (3) neutrality: measured |Tr int G^R (v + Gamma) G^A| ~ 1e-13, against 5e-2 for the
    # vertex part alone (y component)
    v = m.velocity(k)
    for i in range(2):
        bare = np.einsum("p,pab,pbc,pca->", w, gr, v[:, i], ga)
        dressed = np.einsum("p,pab,bc,pca->", w, gr, lad.vertex_matrix[i], ga)
        assert abs(bare + dressed) < 1e-10 * max(abs(bare), abs(dressed), 1e-3)


def test_sea_closed_form_matches_contour():
    """The closed-form energy integral of K3 and the contour fallback agree."""
    m, mu = ferromagnet((1, 0, 0))
    dis = mk.PointDisorder.from_tau(m, mu, 100.0)
    ref = kubo.solve_uniform_kubo(m, dis, mu, (1.0, 0.0), angles=8, order=4)
    alt = kubo.solve_uniform_kubo(m, dis, mu, (1.0, 0.0), angles=8, order=4,
                                  ep_condition=1.0 + 1e-9, contour_nodes=128)
    assert alt._nodes()["ep"].sum() > 0.5 * len(alt.grid)
    a, b = ref.response(ops.pauli(m, "z")).fermi_sea, alt.response(ops.pauli(m, "z")).fermi_sea
    assert np.allclose(a, b, rtol=1e-6, atol=1e-12)


def test_numerics_insensitive(rashba_solutions):
    m, kin, lad, cba = rashba_solutions
    dis = lad.disorder
    finer = kubo.solve_uniform_kubo(m, dis, 0.2, (1.0, 0.0), angles=48, order=10, ratio=2.0)
    for op in (ops.spin(m, "y"), ops.spin_current(m, "z", "y")):
        assert finer.density(op).total == pytest.approx(lad.density(op).total, rel=1e-6, abs=1e-9)


def test_density_is_linear_in_field(rashba_solutions):
    """Densities are linear in the field: solving again with a rotated and scaled field E2
    and with the superposition E3 = 1.5 E1 - 0.4 E2 gives d(E3) = 1.5 d(E1) - 0.4 d(E2) for
    every contribution, and the per-unit-field response, self-energy and vertex do not
    depend on the field. The Rashba 2DEG is isotropic, so the in-plane spin density
    rotates with the field: s(E2) = 2.5 R(0.7) s(E1)."""
    m, kin, lad, cba = rashba_solutions
    e1 = np.asarray(lad.field, float)
    assert np.array_equal(e1, [1.0, 0.0])
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    e2 = 2.5 * rot @ e1
    e3 = 1.5 * e1 - 0.4 * e2
    r2, r3 = (kubo.solve_uniform_kubo(m, lad.disorder, 0.2, e, angles=32) for e in (e2, e3))
    spin = [ops.spin(m, a) for a in "xy"]

    def densities(r):
        ds = [r.density(op) for op in spin]
        return {part: np.array([getattr(d, part) for d in ds])
                for part in ("fermi_surface", "fermi_sea", "vertex", "total")}

    d1, d2, d3 = densities(lad), densities(r2), densities(r3)
    scale = np.max(np.abs(d1["total"]))  # 126.9 hbar/nm^2
    # measured: superposition exact (0) and rotation to 6e-15 relative (rounding); 1e-12
    # leaves room for BLAS differences only
    for part in d1:
        np.testing.assert_allclose(d3[part], 1.5 * d1[part] - 0.4 * d2[part], rtol=0, atol=1e-12 * scale,
                                   err_msg=part)
        np.testing.assert_allclose(d2[part], 2.5 * rot @ d1[part], rtol=0, atol=1e-12 * scale,
                                   err_msg=part)
    assert abs(d2["total"][0]) > 0.5 * scale  # the rotated field does give an <s_x>
    # per unit field nothing depends on the field (measured: bit-identical)
    for r in (r2, r3):
        np.testing.assert_allclose(r.sigma, lad.sigma, rtol=1e-13, atol=0)
        np.testing.assert_allclose(r.vertex_matrix, lad.vertex_matrix, rtol=1e-13, atol=0)
    np.testing.assert_allclose(r2.conductivity("internal").total, lad.conductivity("internal").total,
                               rtol=1e-12, atol=0)
    d = lad.density(spin[1])
    assert d.total == pytest.approx(float(np.dot(lad.response(spin[1]).total, e1)), rel=1e-14)
    assert "nm^-2" in d.unit and "per V/nm" not in d.unit


# --- slow: the trend study behind the tolerances -----------------------------------------------
CASES = {
    "rashba_edelstein": (rashba, None, lambda m: ops.spin(m, "y"), "relative"),
    "rashba_spin_hall": (rashba, None, lambda m: ops.spin_current(m, "z", "y"), "absolute"),
    "fm_z_damping": (ferromagnet, (0, 0, 1), lambda m: ops.pauli(m, "x"), "absolute"),
    "fm_z_field": (ferromagnet, (0, 0, 1), lambda m: ops.pauli(m, "y"), "relative"),
    "fm_x_damping": (ferromagnet, (1, 0, 0), lambda m: ops.pauli(m, "z"), "absolute"),
    "fm_x_field": (ferromagnet, (1, 0, 0), lambda m: ops.pauli(m, "y"), "relative"),
    "dirac_sxx": (dirac, None, lambda m: ops.charge_current(m, "x"), "relative"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_difference_shrinks_linearly(name):
    factory, arg, opf, kind = CASES[name]
    m, mu = factory(arg) if arg is not None else factory()
    op = opf(m)
    diffs = []
    for tau in (200.0, 400.0, 800.0):
        kin, lad, _ = solve_all(m, mu, tau, angles=48)
        k, l = kin.density(op).total, lad.density(op).total
        diffs.append((l - k) / abs(k) if kind == "relative" else l - k)
    ratios = [diffs[0] / diffs[1], diffs[1] / diffs[2]]
    assert all(1.8 < r < 2.3 for r in ratios), (diffs, ratios)


@pytest.mark.slow
def test_dirac_hall_difference_tends_to_constant():
    m, mu = dirac()
    op = ops.charge_current(m, "y")
    diffs = []
    for tau in (200.0, 400.0, 800.0):
        kin, lad, _ = solve_all(m, mu, tau, angles=32)
        diffs.append((lad.density(op).total - kin.density(op).total) / E2_OVER_H)
    # ladder -> 0.8163, kinetic = 0.4643 e^2/h: difference -> 0.352 e^2/h
    assert diffs[-1] == pytest.approx(0.352, abs=0.01)
    assert abs(diffs[2] - diffs[1]) < 0.6 * abs(diffs[1] - diffs[0])


# --- lattice models: the Brillouin-zone quadrature ------------------------------------------
from mesokinetics.topology import chern_number  # noqa: E402
from mesokinetics.models import QiWuZhang, RashbaLattice  # noqa: E402

#: reduced BZ numerics of the fast lattice tests: at tau = 25 fs they shift the Edelstein
#: ladder-minus-kinetic difference by 1.2 % of itself (-5.776e-3 vs the converged -5.707e-3
#: at the defaults bz_resolution = 1, bz_far = 3, unchanged at bz_resolution = 0.5 or
#: bz_order = 6)
LATTICE_FAST = dict(bz_resolution=2.0, bz_far=2.0)


@pytest.mark.parametrize("mass", [1.0, -1.0, 3.0])
def test_qi_wu_zhang_kubo_hall_is_minus_chern_number(mass):
    """mu in the gap: the Fermi-sea part alone gives sigma_xy = -C e^2/h, as solve_uniform."""
    model = QiWuZhang(hopping=1.0, mass=mass, lattice_constant=0.5)
    dis = mk.PointDisorder(1e-3)
    chern = chern_number(model, 1, 48)
    c = kubo.solve_uniform_kubo(model, dis, 0.0, (1.0, 0.0)).conductivity("e2/h")
    kin = mk.solve_uniform(model, dis, 0.0, (1.0, 0.0)).conductivity("e2/h")
    assert c.total[0, 1] == pytest.approx(-chern, abs=1e-8)  # measured 1e-15
    assert c.total[0, 1] == pytest.approx(kin.total[0, 1], abs=1e-8)
    assert c.total[1, 0] == pytest.approx(chern, abs=1e-8)
    assert np.max(np.abs(c.fermi_surface)) < 1e-12 and abs(c.total[0, 0]) < 1e-12


def _rashba_lattice_pair(tau_fs, **numerics):
    m = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.1)
    dis = mk.PointDisorder.from_tau(m, 0.2, tau_fs)
    # fixed numerics, as measured in the docstrings below (tol=None: one solve each)
    kin = mk.solve_uniform(m, dis, 0.2, (1.0, 0.0), bz_refine=5, tol=None)
    lad = kubo.solve_uniform_kubo(m, dis, 0.2, (1.0, 0.0), tol=None, **numerics)
    return m, kin, lad


def test_rashba_lattice_kubo_converges_to_kinetic():
    """Ladder Kubo on the Brillouin zone vs the kinetic engine, same lattice model.

    Measured relative Edelstein difference (ladder - kinetic)/kinetic at the default BZ
    numerics: -5.707e-3, -2.876e-3, -1.444e-3, -7.23e-4 at tau = 25, 50, 100, 200 fs
    (mu tau = 7.6 ... 61; ratios 1.98, 1.99, 2.00: ~ 1/(mu tau)). The spin Hall current
    vanishes identically on this lattice (j^z_y ~ ds_y/dt) in both theories: ladder
    |total| < 1e-8 at the defaults (the vertex cancels the intrinsic -0.0396),
    ~6e-7 with LATTICE_FAST."""
    diffs = []
    for tau in (12.5, 25.0):
        m, kin, lad = _rashba_lattice_pair(tau, **LATTICE_FAST)
        sy, she = ops.spin(m, "y"), ops.spin_current(m, "z", "y")
        k = kin.density(sy).total
        diffs.append((lad.density(sy).total - k) / k)
        js = lad.density(she)
        assert abs(js.total - kin.density(she).total) < 2e-6
        # the ladder vertex cancels the intrinsic spin Hall current (measured 1.2 % off at 12.5 fs)
        assert js.vertex == pytest.approx(-kin.density(she).intrinsic, rel=0.03)
        assert lad.border_residual < 1e-10
    # measured -1.126e-2, -5.78e-3 (ratio 1.95)
    assert 1.8 < diffs[0] / diffs[1] < 2.2
    assert abs(diffs[1]) < 8e-3


def test_lattice_grid_resolves_the_fermi_surface():
    m = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.1)
    dis = mk.PointDisorder.from_tau(m, 0.2, 12.5)
    lad = kubo.solve_uniform_kubo(m, dis, 0.2, (1.0, 0.0), **LATTICE_FAST)
    # the weights integrate the zone: int_k 1 = 1 / V_cell
    assert np.sum(lad.grid.weight) == pytest.approx(1 / m.cell_volume, rel=1e-12)
    assert lad.grid.inner.all() and lad.grid.n_levels >= 4
    with pytest.raises(ValueError, match="bz_max_points"):
        kubo.solve_uniform_kubo(m, dis, 0.2, (1.0, 0.0), bz_max_points=1000)
    with pytest.raises(ValueError, match="bz_resolution"):
        kubo.solve_uniform_kubo(m, dis, 0.2, (1.0, 0.0), bz_resolution=0.0)


@pytest.mark.slow
def test_rashba_lattice_difference_shrinks_linearly():
    diffs = []
    for tau in (25.0, 50.0, 100.0):
        m, kin, lad = _rashba_lattice_pair(tau)
        k = kin.density(ops.spin(m, "y")).total
        diffs.append((lad.density(ops.spin(m, "y")).total - k) / k)
        assert abs(lad.density(ops.spin_current(m, "z", "y")).total) < 1e-7
    ratios = [diffs[0] / diffs[1], diffs[1] / diffs[2]]
    assert all(1.9 < r < 2.1 for r in ratios), (diffs, ratios)
