"""The `Model` interface: a multiband Bloch Hamiltonian h(k) and its velocity dh/dk.

Units: k in 1/nm, h in eV, velocity operator dh/dk in eV nm (= velocity with hbar = 1).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

#: Axis names accepted wherever an axis is asked for.
AXES = {"x": 0, "y": 1, "z": 2}

PAULI = np.array(
    [[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)


def axis_index(axis: int | str, dim: int, name: str = "axis") -> int:
    """Return the integer index of ``axis`` ('x', 'y', 'z' or 0..dim-1), validated."""
    if isinstance(axis, str):
        if axis.lower() not in AXES:
            raise ValueError(f"{name} must be one of 'x', 'y', 'z' or an integer, got {axis!r}")
        axis = AXES[axis.lower()]
    if not isinstance(axis, (int, np.integer)) or not 0 <= axis < dim:
        raise ValueError(f"{name} must be in 0..{dim - 1} for a {dim}D quantity, got {axis!r}")
    return int(axis)


#: vectors whose largest |component| lies in this range are normalized by the plain
#: formula v / |v| (no overflow or underflow of the squares); others are scaled first.
_PLAIN_RANGE = (1e-150, 1e150)


def safe_norm(vec) -> float:
    """|v| without overflow or underflow: the largest |component| is divided out before
    the squares are summed (v / |v| is bit-identical to the plain formula for vectors
    whose largest component lies in 1e-150..1e150)."""
    vec = np.asarray(vec, dtype=float)
    scale = float(np.max(np.abs(vec))) if vec.size else 0.0
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    if _PLAIN_RANGE[0] <= scale <= _PLAIN_RANGE[1]:
        return float(np.linalg.norm(vec))
    return scale * float(np.linalg.norm(vec / scale))


def safe_unit(vec) -> np.ndarray:
    """v / |v| for a nonzero finite vector, without overflow or underflow (for a tiny
    field such as 1e-300 V/nm or a huge one such as 1e308); bit-identical to
    ``v / np.linalg.norm(v)`` when the largest |component| lies in 1e-150..1e150."""
    vec = np.asarray(vec, dtype=float)
    scale = float(np.max(np.abs(vec))) if vec.size else 0.0
    if scale == 0.0 or not np.isfinite(scale):
        raise ValueError(f"cannot normalize the vector {vec.tolist()}: it must be nonzero and finite")
    if _PLAIN_RANGE[0] <= scale <= _PLAIN_RANGE[1]:
        return vec / np.linalg.norm(vec)
    vec = vec / scale
    return vec / np.linalg.norm(vec)


def unit_vector(name: str, value) -> np.ndarray:
    """Validate a nonzero finite 3-vector (a direction such as the magnetization) and
    return it normalized (scale-safe: [1e308, 1e308, 0] and [1e-320, 0, 0] are
    directions too)."""
    vec = np.asarray(value, dtype=float)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)) or not np.any(vec != 0):
        raise ValueError(f"{name} must be a nonzero finite 3-vector, got {value!r}")
    return safe_unit(vec)


class Model:
    """A d-dimensional N-band Bloch Hamiltonian (paper Eq. 11 is one example).

    Subclasses implement :meth:`hamiltonian` and, where they can, an analytic
    :meth:`velocity`. The default :meth:`velocity` is an 8th-order central finite
    difference of the exact h(k) (step ``fd_step`` in 1/nm), accurate to about
    1e-11 relative for Hamiltonians that vary on scales of 1/nm or slower.

    Attributes
    ----------
    dim : spatial dimension d (1, 2 or 3)
    size : number of internal states N (the matrix size)
    basis : labels of the basis states
    spin_matrices : (3, N, N) spin operator s = sigma/2 in units of hbar, or None
    orbital_matrices : (3, N, N) orbital angular momentum L in units of hbar, or None
    momentum_scale : a typical Fermi momentum (1/nm), a hint for root finding
    sampler : None (the default sampling: rays from k = 0 for continuum models, the
        Brillouin zone for models with ``lattice_vectors``), or an object with
        ``shell(model, energy, numerics)`` and ``sea(model, energy, numerics)`` returning
        :class:`~mesokinetics.sampling.Shell` and :class:`~mesokinetics.sampling.Sea`
    """

    dim: int
    size: int
    basis: tuple[str, ...] = ()
    spin_matrices: np.ndarray | None = None
    orbital_matrices: np.ndarray | None = None
    momentum_scale: float = 1.0
    fd_step: float = 1e-2
    sampler = None

    def hamiltonian(self, k: np.ndarray) -> np.ndarray:
        """h(k) in eV for k of shape (..., d) in 1/nm; returns (..., N, N)."""
        raise NotImplementedError

    def velocity(self, k: np.ndarray) -> np.ndarray:
        """Velocity operator dh/dk_i in eV nm; k (..., d) -> (..., d, N, N)."""
        return finite_difference_velocity(self.hamiltonian, np.asarray(k, float), self.fd_step)

    def check_k(self, k) -> np.ndarray:
        """Validate a k array of shape (..., d) and return it as float."""
        k = np.asarray(k, dtype=float)
        if k.ndim == 0 or k.shape[-1] != self.dim:
            raise ValueError(
                f"k must have shape (..., {self.dim}) for a {self.dim}D model, got {k.shape}"
            )
        if not np.all(np.isfinite(k)):
            raise ValueError("k contains NaN or infinite entries")
        return k

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, size={self.size})"


# Central-difference weights of order 8 for the first derivative, offsets 1..4.
_FD8 = np.array([4 / 5, -1 / 5, 4 / 105, -1 / 280])


def finite_difference_velocity(
    hamiltonian: Callable[[np.ndarray], np.ndarray], k: np.ndarray, step: float
) -> np.ndarray:
    """8th-order central difference of an exact h(k); truncation O(step^8).

    Returns (..., d, N, N). Used only when a model gives no analytic velocity.
    """
    d = k.shape[-1]
    out = []
    for i in range(d):
        e = np.zeros(d)
        e[i] = step
        acc = 0.0
        for j, c in enumerate(_FD8, start=1):
            acc = acc + c * (hamiltonian(k + j * e) - hamiltonian(k - j * e))
        out.append(acc / step)
    return np.stack(out, axis=-3)


class CallableModel(Model):
    """A model defined by user callables; see :func:`from_callable`."""

    def __init__(
        self,
        hamiltonian: Callable[[np.ndarray], np.ndarray],
        dim: int,
        velocity: Callable[[np.ndarray], np.ndarray] | None = None,
        basis: Sequence[str] | None = None,
        spin_matrices: np.ndarray | None = None,
        orbital_matrices: np.ndarray | None = None,
        momentum_scale: float = 1.0,
    ) -> None:
        if dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        if not callable(hamiltonian):
            raise TypeError("hamiltonian must be a callable k -> h(k)")
        self.dim = dim
        self._h = hamiltonian
        self._v = velocity
        probe = np.asarray(hamiltonian(np.full((1, dim), 0.1)))
        if probe.ndim != 3 or probe.shape[0] != 1 or probe.shape[1] != probe.shape[2]:
            raise ValueError(
                "hamiltonian(k) must map k of shape (P, d) to an array of shape (P, N, N); "
                f"for k of shape (1, {dim}) it returned shape {probe.shape}"
            )
        self.size = probe.shape[-1]
        self.basis = tuple(basis) if basis is not None else tuple(f"b{i}" for i in range(self.size))
        if len(self.basis) != self.size:
            raise ValueError(f"basis has {len(self.basis)} labels for {self.size} states")
        self.spin_matrices = None if spin_matrices is None else np.asarray(spin_matrices, complex)
        self.orbital_matrices = (
            None if orbital_matrices is None else np.asarray(orbital_matrices, complex)
        )
        if momentum_scale <= 0:
            raise ValueError(f"momentum_scale must be > 0 (1/nm), got {momentum_scale}")
        self.momentum_scale = float(momentum_scale)

    def hamiltonian(self, k):
        k = np.asarray(k, float)
        flat = k.reshape(-1, self.dim)
        h = np.asarray(self._h(flat), dtype=complex)
        return h.reshape(k.shape[:-1] + (self.size, self.size))

    def velocity(self, k):
        if self._v is None:
            return super().velocity(k)
        k = np.asarray(k, float)
        flat = k.reshape(-1, self.dim)
        v = np.asarray(self._v(flat), dtype=complex)
        return v.reshape(k.shape[:-1] + (self.dim, self.size, self.size))


def from_callable(
    hamiltonian: Callable[[np.ndarray], np.ndarray],
    dim: int,
    velocity: Callable[[np.ndarray], np.ndarray] | None = None,
    **kwargs,
) -> Model:
    """Wrap user functions as a :class:`Model`.

    Parameters
    ----------
    hamiltonian : k (P, d) in 1/nm -> h (P, N, N) in eV, Hermitian.
    dim : spatial dimension, 1, 2 or 3.
    velocity : optional k (P, d) -> dh/dk (P, d, N, N) in eV nm. Without it an
        8th-order finite difference of ``hamiltonian`` is used (about 1e-11 relative).
    **kwargs : ``basis``, ``spin_matrices`` (3, N, N), ``orbital_matrices``,
        ``momentum_scale`` (typical Fermi momentum, 1/nm).
    """
    return CallableModel(hamiltonian, dim, velocity=velocity, **kwargs)
