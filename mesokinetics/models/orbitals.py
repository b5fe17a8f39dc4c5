"""Atomic orbital angular momentum and spin matrices in real-orbital bases (units of hbar):
the matrices that lattice models attach to their basis labels and that spin, orbital and
spin-orbit operators are built from (docs/theory.md §1).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import PAULI

#: Orbital labels understood by the angular-momentum builder, by angular momentum l.
ORBITALS = {
    0: ("s",),
    1: ("px", "py", "pz"),
    2: ("dxy", "dyz", "dzx", "dx2-y2", "dz2"),
}
_ALIASES = {"dxz": "dzx", "dx2y2": "dx2-y2", "d3z2-r2": "dz2", "dz^2": "dz2"}

# Real orbitals as homogeneous polynomials in (x, y, z), normalized to equal norm on the
# unit sphere within each l (real spherical harmonics up to a common factor).
_SQ3 = np.sqrt(3.0)
_POLY = {
    "s": {(0, 0, 0): 1.0},
    "px": {(1, 0, 0): 1.0},
    "py": {(0, 1, 0): 1.0},
    "pz": {(0, 0, 1): 1.0},
    "dxy": {(1, 1, 0): 1.0},
    "dyz": {(0, 1, 1): 1.0},
    "dzx": {(1, 0, 1): 1.0},
    "dx2-y2": {(2, 0, 0): 0.5, (0, 2, 0): -0.5},
    "dz2": {(0, 0, 2): 2 / (2 * _SQ3), (2, 0, 0): -1 / (2 * _SQ3), (0, 2, 0): -1 / (2 * _SQ3)},
}


def canonical_orbital(label: str) -> str:
    """The canonical name of a real-orbital label ('dxz' -> 'dzx'), or the label itself."""
    low = str(label).lower()
    return _ALIASES.get(low, low)


def orbital_l(label: str) -> int | None:
    """Angular momentum l of a real-orbital label, None if unknown."""
    name = canonical_orbital(label)
    for l, names in ORBITALS.items():
        if name in names:
            return l
    return None


def _apply_l(poly: dict, axis: int) -> dict:
    """L_axis = -i (r x grad)_axis applied to a polynomial {exponents: coefficient}.

    Returns the polynomial L_axis p / (-i), i.e. (r x grad)_axis p, with real coefficients.
    """
    a, b = [(1, 2), (2, 0), (0, 1)][axis]  # (r x grad)_x = y d_z - z d_y, cyclic
    out: dict = {}
    for exps, c in poly.items():
        for first, second, sign in ((a, b, 1.0), (b, a, -1.0)):
            # sign * r_first * d_second
            if exps[second] == 0:
                continue
            e = list(exps)
            coef = sign * c * e[second]
            e[second] -= 1
            e[first] += 1
            key = tuple(e)
            out[key] = out.get(key, 0.0) + coef
    return out


def real_orbital_angular_momentum(orbitals: Sequence[str]) -> np.ndarray:
    """Orbital angular momentum L (units of hbar) in a basis of real atomic orbitals.

    ``orbitals``: labels of one l shell (any order), e.g. ('px', 'py', 'pz') or the five d
    orbitals. Derived from L = -i r x grad acting on the orbitals as polynomials, so the
    phase convention is that of real spherical harmonics with positive coefficients of
    x, y, z, xy, yz, zx, (x^2 - y^2)/2, (3z^2 - r^2)/(2 sqrt 3). For p orbitals
    (L_a)_bc = -i eps_abc. Returns (3, n, n) Hermitian matrices with
    [L_x, L_y] = i L_z and L^2 = l(l+1).
    """
    names = [canonical_orbital(o) for o in orbitals]
    ls = {orbital_l(o) for o in names}
    if None in ls or len(ls) != 1:
        raise ValueError(
            f"orbitals must be real orbitals of one l shell from {ORBITALS}, got {list(orbitals)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"orbitals contains repeated labels: {list(orbitals)}")
    monomials = sorted({e for n in names for e in _POLY[n]} | {
        e for n in names for ax in range(3) for e in _apply_l(_POLY[n], ax)})
    index = {m: i for i, m in enumerate(monomials)}

    def vec(poly):
        v = np.zeros(len(monomials))
        for e, c in poly.items():
            v[index[e]] += c
        return v

    basis = np.stack([vec(_POLY[n]) for n in names], axis=1)  # (n_mono, n)
    out = np.zeros((3, len(names), len(names)), complex)
    for ax in range(3):
        images = np.stack([vec(_apply_l(_POLY[n], ax)) for n in names], axis=1)
        coef, *_ = np.linalg.lstsq(basis, images, rcond=None)
        if not np.allclose(basis @ coef, images, atol=1e-12):
            raise ValueError(f"orbitals {list(orbitals)} do not span a complete l shell")
        out[ax] = -1j * coef
    return out


def angular_momentum_matrices(orbitals="p") -> np.ndarray:
    """Orbital angular momentum L (units of hbar) in a basis of real atomic orbitals.

    orbitals : 'p' (px, py, pz), 'd' (dxy, dyz, dzx, dx2-y2, dz2) or a sequence of real
        orbital labels of one l shell in any order. Returns (3, n, n); for p orbitals
        (L_a)_bc = -i eps_abc, and in general [L_x, L_y] = i L_z, L^2 = l(l + 1).
    """
    if isinstance(orbitals, str):
        key = {"p": 1, "d": 2}.get(orbitals.lower())
        if key is None:
            raise ValueError(f"orbitals must be 'p', 'd' or a sequence of labels, got {orbitals!r}")
        orbitals = ORBITALS[key]
    return real_orbital_angular_momentum(tuple(orbitals))


def spin_half_matrices() -> np.ndarray:
    """Spin-1/2 matrices s = sigma/2 (units of hbar), (3, 2, 2), basis (up, down)."""
    return PAULI / 2


def with_spin(orbital_matrix: np.ndarray, spin_matrix: np.ndarray | None = None) -> np.ndarray:
    """Tensor product orbital (x) spin, spin index fastest (basis (o1 up, o1 down, o2 up, ...)).

    orbital_matrix : (n, n) or (..., n, n); spin_matrix : (2, 2) or (..., 2, 2) with the same
    leading shape, default the identity (an orbital operator extended to the spinful basis).
    Example: ``with_spin(L[2], S[2])`` is L_z S_z; ``with_spin(L[0])`` is L_x (x) 1.
    """
    o = np.asarray(orbital_matrix)
    s = np.eye(2) if spin_matrix is None else np.asarray(spin_matrix)
    if o.shape[-1] != o.shape[-2] or s.shape[-2:] != (2, 2):
        raise ValueError(f"orbital_matrix must be (..., n, n) and spin_matrix (..., 2, 2), got "
                         f"{o.shape} and {s.shape}")
    out = o[..., :, None, :, None] * s[..., None, :, None, :]
    n = o.shape[-1]
    return out.reshape(out.shape[:-4] + (2 * n, 2 * n))


def spin_orbit_coupling(orbitals="p") -> np.ndarray:
    """Atomic L.S (units of hbar^2) in the basis orbitals (x) (up, down), spin fastest."""
    lmat = angular_momentum_matrices(orbitals)
    s = spin_half_matrices()
    return sum(with_spin(lmat[a], s[a]) for a in range(3))
