"""Physical constants and conversions between internal units and SI.

Internal units (docs/theory.md §1): hbar = 1, energies in eV, lengths in nm,
wave vectors in 1/nm, electron charge e = -1 (in units of |e|), fields in V/nm.
Derived units:

* time: hbar/eV = 0.6582 fs
* velocity: eV nm / hbar = 1.5193e6 m/s
* mass: hbar^2 / (eV nm^2); the electron mass is ``ELECTRON_MASS`` = 13.12 in it
* conductivity: e^2/hbar in 2D (a sheet conductance), e^2/(hbar nm) in 3D,
  e^2 nm / hbar in 1D

This is the only module that knows SI.
"""

from __future__ import annotations

from scipy import constants as _c

#: Electron charge in units of |e| (docs/theory.md §1: e < 0).
ELECTRON_CHARGE: float = -1.0

#: hbar in eV s.
HBAR_EV_S: float = _c.hbar / _c.e
#: Internal time unit hbar/eV in femtoseconds.
TIME_UNIT_FS: float = HBAR_EV_S * 1e15
#: Internal velocity unit eV nm / hbar in m/s.
VELOCITY_UNIT_M_S: float = 1e-9 / HBAR_EV_S
#: hbar^2 / (2 m_e) in eV nm^2.
HBAR2_OVER_2ME: float = _c.hbar**2 / (2.0 * _c.m_e) / _c.e * 1e18
#: Free-electron mass in internal units hbar^2 / (eV nm^2).
ELECTRON_MASS: float = 1.0 / (2.0 * HBAR2_OVER_2ME)
#: e^2/hbar in siemens.
E2_OVER_HBAR_S: float = _c.e**2 / _c.hbar
#: Conductance quantum e^2/h in units of e^2/hbar (the internal 2D unit).
E2_OVER_H: float = 1.0 / (2.0 * 3.141592653589793)


def fs_to_internal(tau_fs: float) -> float:
    """Convert a time in femtoseconds to the internal unit hbar/eV."""
    return tau_fs / TIME_UNIT_FS


def internal_to_fs(tau: float) -> float:
    """Convert a time in the internal unit hbar/eV to femtoseconds."""
    return tau * TIME_UNIT_FS


def mass_to_internal(mass_me: float) -> float:
    """Convert a mass in units of the free-electron mass to hbar^2/(eV nm^2)."""
    return mass_me * ELECTRON_MASS


def conductivity_to_si(value, dim: int):
    """Convert a conductivity from internal units to SI.

    Internal: e^2/hbar * nm^(2-d). SI: S m^(2-d), i.e. S m (1D), S (2D, sheet), S/m (3D).
    """
    return value * E2_OVER_HBAR_S * (1e-9) ** (2 - dim)


def conductivity_si_unit(dim: int) -> str:
    """Name of the SI unit of a d-dimensional conductivity."""
    return {1: "S m", 2: "S", 3: "S/m"}[dim]


#: Names of the conductivity units :func:`conductivity_in` knows, by model dimension.
CONDUCTIVITY_UNITS = {1: ("S m",), 2: ("S",), 3: ("S/m", "S/cm")}


def conductivity_in(value, dim: int, unit: str):
    """Convert a conductivity from internal units (e^2/hbar nm^(2-d)) to ``unit``.

    unit : 'S/cm' or 'S/m' (3D; S/cm is the unit of Wannier90 and WannierBerri), 'S' (2D
    sheet conductance) or 'S m' (1D). Hand check: 1 e^2/(hbar nm) = 2.434135e-4 S / 1e-9 m
    = 2.434135e5 S/m = 2434.135 S/cm; 1 e^2/hbar = 2.434135e-4 S (2D).
    """
    if unit not in CONDUCTIVITY_UNITS.get(dim, ()):
        raise ValueError(f"unit {unit!r} is not a {dim}D conductivity unit; a {dim}D model's "
                         f"units are {CONDUCTIVITY_UNITS.get(dim, ())}")
    si = conductivity_to_si(value, dim)
    return si / 100.0 if unit == "S/cm" else si


#: Units of :func:`angular_momentum_hall_conductivity`, by model dimension.
HALL_UNITS = {1: ("(hbar/e) S m",), 2: ("(hbar/e) S",), 3: ("(hbar/e) S/cm", "(hbar/e) S/m")}


def angular_momentum_hall_conductivity(value, dim: int = 3, unit: str = "(hbar/e) S/cm"):
    """Spin or orbital Hall conductivity in the ecosystem's units, from the response of an
    angular-momentum current.

    value : d<(1/2){O_g, v_a}>/dE_b with O = s (``operators.spin``, s = sigma/2, hbar) or
        L (``operators.orbital``, hbar), i.e. ``result.response(operators.spin_current(m,
        g, a))`` (or ``orbital_current``) component b (any contribution or array). Its
        internal unit is hbar (eV nm / hbar) nm^-d per V/nm = |e| nm^(1-d), which is
        (hbar/e) (e^2/hbar) nm^(2-d): the same number as a charge conductivity in
        internal units, so the conversion is that of :func:`conductivity_in`:
        1 internal = 2434.135 (hbar/e) S/cm in 3D and 2.434135e-4 (hbar/e) S in 2D.
    unit : '(hbar/e) S/cm' (3D, Wannier90 and WannierBerri), '(hbar/e) S/m', '(hbar/e) S'
        (2D sheet), '(hbar/e) S m' (1D)

    Sign and normalization (docs/materials.md): sigma^g_ab = this value equals, sign
    included, WannierBerri's static ``SHC`` with ``spin_current_type='simple'`` and
    postw90's spin Hall conductivity component (g, a, b) (spin current j^g_a = sigma^g_ab
    E_b): both use Pauli matrices sigma in {sigma_g, v_a}/2 and a prefactor
    e^2/(2 hbar), i.e. s = sigma/2 as here. (A statement "theirs = 2 pi x ours" holds only
    if theirs is counted in (hbar/e) e^2/h nm^(2-d): the 2 pi is e^2/hbar vs e^2/h.)
    The anomalous Hall conductivity needs no helper: ``conductivity('S/cm')`` has
    sigma_xy = -(e^2/hbar) int f Omega_z, the sign of Wannier90 and WannierBerri.
    """
    if unit not in HALL_UNITS.get(dim, ()):
        raise ValueError(f"unit {unit!r} is not a {dim}D spin/orbital Hall unit; use one of "
                         f"{HALL_UNITS.get(dim, ())}")
    return conductivity_in(value, dim, unit.replace("(hbar/e) ", ""))
