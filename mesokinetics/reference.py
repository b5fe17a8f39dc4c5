"""Closed-form reference results (docs/theory.md §11), independent of the solvers.

Used by the tests, the examples and docs/validation.md. Internal units throughout
(hbar = 1, eV, nm, e = -1, fields in V/nm, masses in hbar^2/(eV nm^2), times in hbar/eV).
"""

from __future__ import annotations

import numpy as np

from .models.continuum import ParabolicBand, RashbaFerromagnet
from .units import ELECTRON_CHARGE

E = ELECTRON_CHARGE


def parabolic_density(model: ParabolicBand, mu: float) -> float:
    """Electron density n(mu) of one parabolic band (nm^-d), T = 0."""
    if mu <= 0:
        return 0.0
    kf = np.sqrt(2 * model.m * mu)
    return {1: kf / np.pi, 2: kf**2 / (4 * np.pi), 3: kf**3 / (6 * np.pi**2)}[model.dim]


def parabolic_dos(model: ParabolicBand, mu: float) -> float:
    """Density of states of one parabolic band at mu > 0 (eV^-1 nm^-d)."""
    kf = np.sqrt(2 * model.m * mu)
    return {1: model.m / (np.pi * kf), 2: model.m / (2 * np.pi), 3: model.m * kf / (2 * np.pi**2)}[
        model.dim
    ]


def drude_conductivity(density: float, tau: float, mass: float) -> float:
    """sigma = n e^2 tau / m (internal units e^2/hbar nm^(2-d))."""
    return density * E**2 * tau / mass


def rashba_fermi_momenta(model: RashbaFerromagnet, mu: float) -> tuple[float, float]:
    """Fermi momenta (k_+, k_-) of eps = k^2/2m +/- b(k), b = sqrt(J^2 + alpha^2 k^2),
    for the pure Rashba ferromagnet (beta = 0, m along z), both bands crossing mu."""
    from scipy.optimize import brentq

    m, a, j = model.m, model.alpha, model.exchange
    b = lambda k: np.sqrt(j**2 + a**2 * k**2)  # noqa: E731
    kmax = 10 * (np.sqrt(2 * m * (abs(mu) + abs(j))) + 2 * m * abs(a)) + 1.0
    if mu <= abs(j):
        raise ValueError(f"both bands cross mu only for mu > |J_e| = {abs(j)} eV, got mu = {mu}")
    kp = brentq(lambda k: k * k / (2 * m) + b(k) - mu, 0, kmax, xtol=1e-15, rtol=1e-15)
    km = brentq(lambda k: k * k / (2 * m) - b(k) - mu, 0, kmax, xtol=1e-15, rtol=1e-15)
    return kp, km


def rashba_density(model: RashbaFerromagnet, mu: float) -> float:
    """Electron density (nm^-2) of the Rashba ferromagnet with both bands crossing mu."""
    kp, km = rashba_fermi_momenta(model, mu)
    return (kp**2 + km**2) / (4 * np.pi)


def edelstein_spin_density(mass: float, alpha: float, tau: float, field_x: float) -> float:
    """<s_y> = e m alpha tau E_x / (2 pi) (hbar nm^-2) for the Rashba 2DEG."""
    return E * mass * alpha * tau * field_x / (2 * np.pi)


#: Intrinsic spin Hall conductivity of the Rashba 2DEG for (1/2){s_z, v_y} and E along +x.
SPIN_HALL_RASHBA_INTRINSIC = -E / (8 * np.pi)


def sot_intrinsic_sigma_x(model: RashbaFerromagnet, mu: float, field_x: float) -> float:
    """Exact intrinsic <sigma_x> (nm^-2) of the Rashba ferromagnet with m along z:
    e E_x (J_e / (4 pi alpha)) [1/b(k_+) - 1/b(k_-)]."""
    kp, km = rashba_fermi_momenta(model, mu)
    j, a = model.exchange, model.alpha
    b = lambda k: np.sqrt(j**2 + a**2 * k**2)  # noqa: E731
    return E * field_x * j / (4 * np.pi * a) * (1 / b(kp) - 1 / b(km))


def _exchange_fermi_momenta(model: RashbaFerromagnet, mu: float) -> dict[int, float]:
    """Fermi momenta of eps0 + sigma J_e = mu without spin-orbit coupling, sigma = +/-1."""
    out = {}
    for sigma in (1, -1):
        e = mu - sigma * model.exchange
        if e <= 0:
            raise ValueError("both exchange-split bands must cross mu (mu > |J_e|)")
        out[sigma] = np.sqrt(2 * model.m * e)
    return out


def _b_perp_jacobian(model: RashbaFerromagnet) -> np.ndarray:
    """d b_perp / d k_i / J_e, (2, 3), b_perp = m x (b_SO x m) (paper, after Eq. 11)."""
    m = model.magnetization
    jac = model.so_field_jacobian()
    return (jac - np.outer(jac @ m, m)) / model.exchange


def sot_eq12(model: RashbaFerromagnet, mu: float, field, order: int = 32, angles: int = 64):
    """Paper Eq. (12): T_int = (1/2) int_k (f_up - f_down) (eE . d/dk) b_perp / J_e.

    Leading order in b_SO / J_e, occupations of the bands eps0 + sigma J_e without
    spin-orbit coupling. Evaluated as a genuine 2D Fermi-sea integral (polar Gauss-
    Legendre over the annulus where f_up != f_down). Torque density in eV nm^-2.
    """
    kf = _exchange_fermi_momenta(model, mu)
    x, w = np.polynomial.legendre.leggauss(order)
    k_in, k_out = kf[1], kf[-1]
    r = 0.5 * (k_out - k_in) * (x + 1) + k_in
    wr = 0.5 * (k_out - k_in) * w * r
    ee = E * np.asarray(field, float)
    grad = _b_perp_jacobian(model)  # constant for linear spin-orbit fields
    integrand = np.full((angles, order), 1.0)[..., None] * (ee @ grad)  # f_up - f_down = -1
    weights = (2 * np.pi / angles) * wr[None, :] / (2 * np.pi) ** 2
    return 0.5 * (-1.0) * np.einsum("tr,tri->i", np.broadcast_to(weights, (angles, order)), integrand)


def sot_eq13(model: RashbaFerromagnet, mu: float, field, angles: int = 64):
    """Paper Eq. (13): the Fermi-surface form of Eq. (12),
    T_int = (1/2) sum_sigma sigma int_{FS_sigma} dl/(2pi)^2 (eE . khat) b_perp(k) / J_e."""
    kf = _exchange_fermi_momenta(model, mu)
    theta = 2 * np.pi * np.arange(angles) / angles
    khat = np.stack([np.cos(theta), np.sin(theta)], -1)
    ee = E * np.asarray(field, float)
    grad = _b_perp_jacobian(model)
    total = np.zeros(3)
    for sigma, k in kf.items():
        bperp = (k * khat) @ grad  # b_perp / J_e on the circle (linear in k)
        dl = k * 2 * np.pi / angles
        total += 0.5 * sigma * np.sum((khat @ ee)[:, None] * bperp, axis=0) * dl / (2 * np.pi) ** 2
    return total


def fuchs_sondheimer_ratio(kappa: float, p: float) -> float:
    """Film-to-bulk conductivity ratio of a 3D parabolic band (Fuchs 1938, Sondheimer 1952):

    sigma/sigma_0 = 1 - (3 / (2 kappa)) (1 - p) int_1^inf (1/t^3 - 1/t^5)
                        (1 - e^{-kappa t}) / (1 - p e^{-kappa t}) dt,

    kappa = thickness / mean free path, p the specular fraction of both walls."""
    from scipy.integrate import quad

    if kappa <= 0:
        raise ValueError(f"kappa must be > 0, got {kappa}")
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")

    def integrand(t):
        e = np.exp(-kappa * t)
        return (1 / t**3 - 1 / t**5) * (-np.expm1(-kappa * t)) / (1 - p * e)

    value, _ = quad(integrand, 1.0, np.inf, epsabs=1e-14, epsrel=1e-13, limit=400)
    return 1 - 3 / (2 * kappa) * (1 - p) * value


def fuchs_sondheimer_ratio_2d(kappa: float, p: float) -> float:
    """The 2D analogue of :func:`fuchs_sondheimer_ratio`: strip-to-bulk conductance ratio
    of a 2D parabolic band (circular Fermi surface, angle phi from the strip axis):

    sigma/sigma_0 = 1 - (4 (1 - p) / (pi kappa)) int_0^{pi/2} cos^2 phi sin phi
                        (1 - e^{-kappa/sin phi}) / (1 - p e^{-kappa/sin phi}) dphi,

    kappa = width / mean free path, p the specular fraction of both walls. Matches
    solve_slab to 2e-7 at kappa = 0.3 (p = 0.5), 1 and 3 (p = 0) with 128 angles and 60
    cells; tests/test_plotting.py checks kappa = 1 to 3e-4 with 96 angles."""
    from scipy.integrate import quad

    if kappa <= 0:
        raise ValueError(f"kappa must be > 0, got {kappa}")
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1], got {p}")

    def integrand(phi):
        s = np.sin(phi)
        if s <= 0:
            return 0.0
        e = np.exp(-kappa / s)
        return np.cos(phi) ** 2 * s * (-np.expm1(-kappa / s)) / (1 - p * e)

    value, _ = quad(integrand, 0.0, np.pi / 2, epsabs=1e-14, epsrel=1e-12, limit=200)
    return 1 - 4 * (1 - p) / (np.pi * kappa) * value


# --------------------------------------------------------------------------------------
# Wires with diffuse walls: free-path integrals (issue 7, solve_cross_section)
# --------------------------------------------------------------------------------------


def _wire_h_kernel(x, nodes: int = 0):
    """H(x) = int_0^pi sin^2 t cos^2 t (1 - exp(-x / sin t)) dt (x >= 0), by quad."""
    from scipy.integrate import quad

    if x == 0:
        return 0.0
    f = lambda t: np.sin(t) ** 2 * np.cos(t) ** 2 * -np.expm1(-x / np.sin(t))  # noqa: E731
    return 2 * quad(f, 0.0, np.pi / 2, epsabs=1e-15, epsrel=1e-13, limit=200)[0]


def _wire_ramp_kernel(x):
    """int_0^1 H(xi x) dxi = int_0^pi sin^2 cos^2 [1 - (sin t / x)(1 - e^{-x/sin t})] dt."""
    from scipy.integrate import quad

    if x == 0:
        return 0.0

    def f(t):
        s = np.sin(t)
        return s**2 * np.cos(t) ** 2 * (1 - (s / x) * -np.expm1(-x / s))

    return 2 * quad(f, 0.0, np.pi / 2, epsabs=1e-15, epsrel=1e-13, limit=200)[0]


def diffuse_wire_ratio_chords(area: float, chord_integral, mean_free_path: float = 1.0) -> float:
    """Conductance ratio sigma_wire / (sigma_0 A) of a convex wire with diffuse walls,
    3D parabolic band, from its chord-length distribution (see :func:`circular_wire_ratio`):

        1 - (3 l / (4 pi A)) int_0^{2 pi} dphi int dt H(L(t, phi) / l),

    ``chord_integral(phi)`` = int dt H(L(t, phi)/l) over the chords L of direction phi."""
    from scipy.integrate import quad

    total = quad(chord_integral, 0.0, 2 * np.pi, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
    return 1 - 3 * mean_free_path / (4 * np.pi * area) * total


def circular_wire_ratio(kappa: float) -> float:
    """Conductance ratio of a circular wire with diffuse walls (Dingle 1950), 3D parabolic
    band, kappa = diameter / mean free path.

    Reference computed by an independent route, not Dingle's closed series: for a
    parabolic band with the field along the axis x, diffuse walls re-emit nothing
    (the isotropic part vanishes by symmetry), and along each free path

        g = e tau E v_x [1 - exp(-s / l)],   s = d(r, phi) / sin(theta),

    s the distance back to the wall, d its projection on the cross-section, theta the
    angle to the axis. The ratio is the cross-section average
    1 - (3 / (4 pi A)) int_A dA int dOmega cos^2 theta exp(-d / (l sin theta)). Cutting
    the cross-section into chords of direction phi (length L, transverse coordinate t)
    and integrating along each chord gives, exactly,

        sigma / sigma_0 = 1 - (3 l / (4 pi A)) int_0^{2 pi} dphi int dt H(L / l),
        H(x) = int_0^pi sin^2 t cos^2 t (1 - exp(-x / sin t)) dt.

    For the circle (radius R = kappa l / 2) L = 2 sqrt(R^2 - t^2) for every phi. Checks:
    H(inf) = pi/8 and Cauchy's formula give 1 - 3 l / (4 d) for d >> l (Dingle's thick-wire
    limit, R. B. Dingle, Proc. R. Soc. A 201, 545 (1950)); the same formula for a film
    (L = W / |cos phi|) reproduces Fuchs-Sondheimer (tests). Nested adaptive quadrature,
    about 1e-10.
    """
    from scipy.integrate import quad

    if kappa <= 0:
        raise ValueError(f"kappa must be > 0, got {kappa}")
    r = kappa / 2  # in units of l
    # int_{-R}^{R} dt H(2 sqrt(R^2 - t^2)), t = R sin(beta)
    inner = quad(lambda b: r * np.cos(b) * _wire_h_kernel(2 * r * np.cos(b)), -np.pi / 2,
                 np.pi / 2, epsabs=1e-14, epsrel=1e-11, limit=200)[0]
    return 1 - 3 / (4 * np.pi * np.pi * r * r) * 2 * np.pi * inner


def rectangular_wire_ratio(kappa_a: float, kappa_b: float | None = None) -> float:
    """Conductance ratio of a rectangular wire with diffuse walls (MacDonald and
    Sarginson 1950), 3D parabolic band, sides kappa_a l and kappa_b l (square if
    kappa_b is None).

    Same free-path integral as :func:`circular_wire_ratio`, evaluated independently of
    MacDonald and Sarginson's series (D. K. C. MacDonald and K. Sarginson, Proc. R. Soc.
    A 203, 223 (1950)). For sides W, H and a chord direction phi in (0, pi/2) the chord
    lengths rise linearly from 0 to L_max = min(W / cos phi, H / sin phi) over a transverse
    width m = min(W sin phi, H cos phi) at both ends, with a plateau of width
    |W sin phi - H cos phi| in between, so

        int dt H(L / l) = |W sin phi - H cos phi| H(L_max / l) + 2 m R(L_max / l),
        R(x) = int_0^1 H(xi x) dxi,

    and the four quadrants of phi are equal. Thick-wire limit 1 - (3 l / 16) P / A
    (P the perimeter): 1 - 3 l / (4 a) for a square of side a.
    """
    from scipy.integrate import quad

    wa = float(kappa_a)
    hb = wa if kappa_b is None else float(kappa_b)
    if wa <= 0 or hb <= 0:
        raise ValueError("sides must be > 0")

    def chords(phi):
        s, c = np.sin(phi), np.cos(phi)
        lmax = min(wa / c if c > 0 else np.inf, hb / s if s > 0 else np.inf)
        m = min(wa * s, hb * c)
        return abs(wa * s - hb * c) * _wire_h_kernel(lmax) + 2 * m * _wire_ramp_kernel(lmax)

    corner = np.arctan2(hb, wa)  # kink of the chord profile
    total = sum(quad(chords, a, b, epsabs=1e-14, epsrel=1e-11, limit=200)[0]
                for a, b in ((0.0, corner), (corner, np.pi / 2)))
    return 1 - 3 / (4 * np.pi * wa * hb) * 4 * total


def diffuse_film_ratio_chords(kappa: float) -> float:
    """Fuchs-Sondheimer ratio (p = 0) from the chord formula of
    :func:`circular_wire_ratio` (L = W / cos phi): a check of that formula against
    :func:`fuchs_sondheimer_ratio`."""
    from scipy.integrate import quad

    f = lambda phi: np.cos(phi) * _wire_h_kernel(kappa / np.cos(phi))  # noqa: E731
    return 1 - 3 / (np.pi * kappa) * quad(f, 0.0, np.pi / 2, epsabs=1e-14, epsrel=1e-11,
                                           limit=200)[0]
