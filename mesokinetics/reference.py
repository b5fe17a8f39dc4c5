"""Closed-form reference results (THEORY.md section 8), independent of the solvers.

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
    theta = 2 * np.pi * np.arange(angles) / angles
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
