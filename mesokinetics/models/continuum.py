"""Continuum (effective-mass) models with analytic velocities.

Units: masses in units of the free-electron mass m_e, energies in eV, lengths in nm,
spin-orbit constants in eV nm, k in 1/nm.
"""

from __future__ import annotations

import numpy as np

from ..units import mass_to_internal
from .base import PAULI, Model, unit_vector

_I2 = np.eye(2, dtype=complex)
# Orbital angular momentum L = 1 in the real (Cartesian) p-orbital basis: (L_i)_jk = -i eps_ijk.
_LEVI = np.zeros((3, 3, 3))
for _i, _j, _k in [(0, 1, 2), (1, 2, 0), (2, 0, 1)]:
    _LEVI[_i, _j, _k] = 1.0
    _LEVI[_i, _k, _j] = -1.0
L_CARTESIAN = -1j * _LEVI


def _positive(name: str, value: float, unit: str) -> float:
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number ({unit}), got {value}")
    return value


def _finite(name: str, value: float, unit: str) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({unit}), got {value}")
    return value


class ParabolicBand(Model):
    """One scalar band eps = hbar^2 k^2 / (2 m) in d = 1, 2, 3.

    Parameters
    ----------
    mass : effective mass in units of m_e (> 0)
    dim : 1, 2 or 3
    """

    def __init__(self, mass: float = 1.0, dim: int = 2) -> None:
        if dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        self.mass = _positive("mass", mass, "units of m_e")
        self.m = mass_to_internal(self.mass)
        self.dim = dim
        self.size = 1
        self.basis = ("s",)

    def hamiltonian(self, k):
        k = self.check_k(k)
        return (np.sum(k * k, axis=-1) / (2 * self.m))[..., None, None].astype(complex)

    def velocity(self, k):
        k = self.check_k(k)
        return (k / self.m)[..., None, None].astype(complex)


class RashbaFerromagnet(Model):
    """2D Rashba(-Dresselhaus) ferromagnet, paper Eq. (11) with eps0 = k^2/2m:

    h = k^2/(2m) + alpha (s_x k_y - s_y k_x) + beta (s_x k_x - s_y k_y) + J_e m.sigma

    with Pauli matrices sigma. With ``exchange = 0`` it is the Rashba(-Dresselhaus) 2DEG.

    Parameters
    ----------
    mass : effective mass (m_e)
    alpha : Rashba constant (eV nm)
    beta : Dresselhaus constant (eV nm)
    exchange : J_e (eV), the exchange splitting is 2 J_e
    magnetization : direction m (normalized here; any nonzero 3-vector)
    dim : 2 (the 2DEG of the paper) or 3 (a "Rashba film" material: k_z enters only the
        kinetic energy, for films and wires cut from it)
    """

    size = 2
    basis = ("up", "down")
    spin_matrices = PAULI / 2

    def __init__(
        self,
        mass: float = 1.0,
        alpha: float = 0.0,
        beta: float = 0.0,
        exchange: float = 0.0,
        magnetization=(0.0, 0.0, 1.0),
        dim: int = 2,
    ) -> None:
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        self.dim = dim
        self.mass = _positive("mass", mass, "units of m_e")
        self.m = mass_to_internal(self.mass)
        self.alpha = _finite("alpha", alpha, "eV nm")
        self.beta = _finite("beta", beta, "eV nm")
        self.exchange = _finite("exchange", exchange, "eV")
        self.magnetization = unit_vector("magnetization", magnetization)
        kso = self.m * (abs(self.alpha) + abs(self.beta))
        self.momentum_scale = max(kso, np.sqrt(2 * self.m * max(abs(self.exchange), 0.1)))

    def so_field(self, k: np.ndarray) -> np.ndarray:
        """Spin-orbit field b_SO(k) (eV), shape (..., 3), with h_SO = b_SO . sigma."""
        kx, ky = k[..., 0], k[..., 1]
        a, b = self.alpha, self.beta
        return np.stack([a * ky + b * kx, -a * kx - b * ky, np.zeros_like(kx)], axis=-1)

    def so_field_jacobian(self) -> np.ndarray:
        """d b_SO / d k_i (eV nm), shape (2, 3); constant since b_SO is linear in k."""
        a, b = self.alpha, self.beta
        return np.array([[b, -a, 0.0], [a, -b, 0.0]])

    def hamiltonian(self, k):
        k = self.check_k(k)
        field = self.so_field(k) + self.exchange * self.magnetization
        eps0 = np.sum(k * k, axis=-1) / (2 * self.m)
        return eps0[..., None, None] * _I2 + np.einsum("...i,ijk->...jk", field, PAULI)

    def velocity(self, k):
        k = self.check_k(k)
        a, b = self.alpha, self.beta
        sx, sy = PAULI[0], PAULI[1]
        vx = (k[..., 0] / self.m)[..., None, None] * _I2 + (-a * sy + b * sx)
        vy = (k[..., 1] / self.m)[..., None, None] * _I2 + (a * sx - b * sy)
        if self.dim == 3:
            vz = (k[..., 2] / self.m)[..., None, None] * _I2
            return np.stack([vx, vy, vz], axis=-3)
        return np.stack([vx, vy], axis=-3)


class MassiveDirac(Model):
    """2D massive Dirac model h = v (s_x k_x + s_y k_y) + gap s_z (Pauli matrices).

    Parameters
    ----------
    velocity : hbar v in eV nm
    gap : mass term Delta in eV; the band gap is 2 |Delta|
    """

    dim = 2
    size = 2
    basis = ("a", "b")

    def __init__(self, velocity: float = 1.0, gap: float = 0.1) -> None:
        self.v = _positive("velocity", velocity, "eV nm")
        self.gap = _finite("gap", gap, "eV")
        self.spin_matrices = PAULI / 2
        self.momentum_scale = max(abs(self.gap), 0.1) / self.v

    def hamiltonian(self, k):
        k = self.check_k(k)
        return (
            self.v * (k[..., 0, None, None] * PAULI[0] + k[..., 1, None, None] * PAULI[1])
            + self.gap * PAULI[2]
        )

    def velocity(self, k):
        k = self.check_k(k)
        shape = k.shape[:-1] + (2, 2, 2)
        return np.broadcast_to(self.v * PAULI[:2], shape).copy()


class OrbitalTexture(Model):
    """Three p orbitals (L = 1) with orbital texture: h = k^2/(2m) + B (k.L)^2.

    In the real-orbital basis (p_x, p_y, p_z), (L_i)_jk = -i eps_ijk, so (k.L)^2 =
    k^2 - k k^T: one band k^2/2m with the orbital along k (L.k = 0) and a doubly
    degenerate band k^2/2m + B k^2. In 2D, k = (k_x, k_y, 0) and the three orbitals
    are kept.

    Parameters
    ----------
    mass : effective mass (m_e)
    texture : B in eV nm^2 (either sign; B > -1/(2m) keeps both bands electron-like)
    dim : 2 or 3
    """

    size = 3
    basis = ("px", "py", "pz")
    orbital_matrices = L_CARTESIAN

    def __init__(self, mass: float = 1.0, texture: float = 0.0, dim: int = 3) -> None:
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        self.mass = _positive("mass", mass, "units of m_e")
        self.m = mass_to_internal(self.mass)
        self.texture = _finite("texture", texture, "eV nm^2")
        self.dim = dim
        self.momentum_scale = 1.0

    def _k3(self, k):
        if self.dim == 3:
            return k
        return np.concatenate([k, np.zeros(k.shape[:-1] + (1,))], axis=-1)

    def hamiltonian(self, k):
        k = self.check_k(k)
        k3 = self._k3(k)
        k2 = np.sum(k3 * k3, axis=-1)[..., None, None]
        kk = k3[..., :, None] * k3[..., None, :]
        return (k2 / (2 * self.m) + self.texture * k2) * np.eye(3) - self.texture * kk + 0j

    def velocity(self, k):
        k = self.check_k(k)
        k3 = self._k3(k)
        eye = np.eye(3)
        out = []
        for i in range(self.dim):
            ei = eye[i]
            dkk = ei[:, None] * k3[..., None, :] + k3[..., :, None] * ei[None, :]
            diag = (k3[..., i] * (1 / self.m + 2 * self.texture))[..., None, None] * eye
            out.append(diag - self.texture * dkk + 0j)
        return np.stack(out, axis=-3)


class SpinOrbitTexture(Model):
    """p orbitals with orbital texture and atomic spin-orbit coupling, a minimal
    centrosymmetric heavy-metal model:

        h = [k^2/(2m) + B (k.L)^2] (x) 1_spin + lambda L.S,    S = sigma/2,

    basis (px up, px down, py up, ...). Inversion (h(k) = h(-k), p orbitals odd) and
    time reversal make every band a Kramers pair (three pairs in 3D: j = 3/2 and 1/2 split
    by lambda at k = 0, mixed by the texture). The orbital and spin Hall currents are
    intrinsic (docs/theory.md §5); spin and orbital accumulate at surfaces through the
    gradient term (examples/heavy_metal_film.py).

    Parameters
    ----------
    mass : effective mass (m_e); texture : B (eV nm^2); spin_orbit : lambda (eV);
    dim : 2 or 3
    """

    size = 6
    basis = tuple(f"{o} {s}" for o in ("px", "py", "pz") for s in ("up", "down"))
    orbital_matrices = np.stack([np.kron(l, _I2) for l in L_CARTESIAN])
    spin_matrices = np.stack([np.kron(np.eye(3), p / 2) for p in PAULI])

    def __init__(self, mass: float = 1.0, texture: float = 0.05, spin_orbit: float = 0.1,
                 dim: int = 3) -> None:
        self._orbital = OrbitalTexture(mass=mass, texture=texture, dim=dim)
        self.mass, self.m, self.texture, self.dim = (self._orbital.mass, self._orbital.m,
                                                     self._orbital.texture, dim)
        self.spin_orbit = _finite("spin_orbit", spin_orbit, "eV")
        self.momentum_scale = 1.0
        self._ls = self.spin_orbit * np.einsum("iab,icd->acbd", L_CARTESIAN,
                                               PAULI / 2).reshape(6, 6)

    def hamiltonian(self, k):
        return np.kron(self._orbital.hamiltonian(k), _I2) + self._ls

    def velocity(self, k):
        v = self._orbital.velocity(k)  # (..., d, 3, 3)
        return np.einsum("...ab,cd->...acbd", v, _I2).reshape(v.shape[:-2] + (6, 6))
