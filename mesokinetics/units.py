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
