"""Band geometry of h(k), vectorized over k (docs/theory.md §2).

Bands are groups of degenerate eigenvalues ("degenerate groups"), found once per model
from generic k points and kept fixed in sorted order. Everything here is gauge
invariant: degenerate-subspace bases enter only through sums over a whole group.

Conventions: energies in eV, k in 1/nm, velocities dh/dk in eV nm, Berry connection
in nm, Berry curvature in nm^2.
"""

from __future__ import annotations

import numpy as np

from .models.base import Model

#: Relative tolerance on eigenvalue differences that defines a degenerate group.
DEGENERACY_TOL = 1e-8


def check_hermitian(h: np.ndarray, k: np.ndarray, tol: float = 1e-10) -> None:
    """Raise ValueError naming the first k point where h(k) is not Hermitian."""
    dev = np.max(np.abs(h - np.conj(np.swapaxes(h, -1, -2))), axis=(-1, -2))
    scale = 1.0 + np.max(np.abs(h), axis=(-1, -2))
    bad = ~(dev <= tol * scale)
    if np.any(bad):
        idx = np.unravel_index(np.argmax(bad), bad.shape)
        raise ValueError(
            f"h(k) is not Hermitian at k = {np.asarray(k)[idx].tolist()} (1/nm): "
            f"max |h - h^dagger| = {dev[idx]:.3g} eV (NaN means h contains NaN)"
        )


def eigenvalues(h: np.ndarray) -> np.ndarray:
    """Sorted eigenvalues of Hermitian matrices (..., N, N); closed form for N <= 2.

    The 2x2 form e = (a + d)/2 -/+ sqrt(((a - d)/2)^2 + |b|^2) is exact to rounding and
    about five times faster than LAPACK on stacks of small matrices (root searches
    evaluate 1e5 of them)."""
    n = h.shape[-1]
    if n == 1:
        return np.real(h[..., 0, :])
    if n == 2:
        a, d = np.real(h[..., 0, 0]), np.real(h[..., 1, 1])
        mean = 0.5 * (a + d)
        radius = np.hypot(0.5 * (a - d), np.abs(h[..., 0, 1]))
        return np.stack([mean - radius, mean + radius], axis=-1)
    return np.linalg.eigvalsh(h)


def band_groups(model: Model, tol: float = DEGENERACY_TOL) -> np.ndarray:
    """Degenerate-group label of each sorted eigenvalue index, shape (N,).

    Eigenvalues i and i+1 belong to the same band when they coincide (relative ``tol``)
    at every one of a few generic k points; accidental degeneracies on sets of measure
    zero (the Rashba point k = 0) do not merge bands. Cached on the model.
    """
    cached = getattr(model, "_band_groups", None)
    if cached is not None and cached[0] == tol:
        return cached[1]
    rng = np.random.default_rng(12345)
    k = rng.normal(size=(16, model.dim)) * model.momentum_scale
    h = model.hamiltonian(k)
    check_hermitian(h, k)
    e = eigenvalues(h)
    scale = 1.0 + np.max(np.abs(e), axis=-1, keepdims=True)
    same = np.all(np.abs(np.diff(e, axis=-1)) <= tol * scale, axis=0)
    groups = np.concatenate([[0], np.cumsum(~same)]).astype(int)
    try:
        model._band_groups = (tol, groups)
    except AttributeError:  # pragma: no cover - frozen user objects
        pass
    return groups


#: Largest matrix size for which stacked products are written out as N broadcast
#: multiply-adds: numpy's stacked matmul costs about 0.5 us per point for 2 x 2 matrices
#: (per-matrix overhead), the written-out sums 0.1-0.2 us; from N = 4 on matmul wins.
SMALL_N = 2


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for stacks of (N, N) matrices (broadcasting leading axes)."""
    n = a.shape[-1]
    if n > SMALL_N:
        return a @ b
    out = a[..., :, 0, None] * b[..., 0, None, :]
    for c in range(1, n):
        out = out + a[..., :, c, None] * b[..., c, None, :]
    return out


#: Largest matrix size for which the operators of a stack are rotated side by side in
#: two wide products per point; above it (compute-bound products) one operator at a time
#: is as fast and needs no reshuffling copies (measured crossover N = 10-12).
STACK_MAX_N = 10


def to_eigenbasis_stack(vectors: np.ndarray, stack: np.ndarray) -> np.ndarray:
    """U^dagger O_j U for a stack of operators, batched over points and operators.

    vectors : (P, N, N) eigenvectors U as columns (``Bands.vectors``)
    stack : (K, N, N) constant matrices, or (P, K, N, N) matrices per point
    Returns (K, P, N, N) (a view, not necessarily contiguous), in the unit of the
    operators; the same numbers as ``U^dagger @ O_j @ U`` one operator at a time, to
    rounding. Small matrices (N <= STACK_MAX_N) are rotated side by side: one
    (K N x N) . (N x N) and one (N x N) . (N x K N) product per point instead of 2 K
    small ones, whose per-matrix overhead dominates (2.6 x faster at N = 4, K = 3);
    2 x 2 products are written out as broadcast sums (another 1.5-3 x).
    """
    u = np.asarray(vectors)
    p, n = u.shape[0], u.shape[-1]
    stack = np.asarray(stack, dtype=complex)
    k = stack.shape[-3]
    uh = np.conj(np.swapaxes(u, -1, -2))
    if n <= SMALL_N or n > STACK_MAX_N:
        ops = stack[None] if stack.ndim == 3 else stack  # (P or 1, K, N, N)
        return _matmul(_matmul(uh[:, None], ops), u[:, None]).transpose(1, 0, 2, 3)
    if stack.ndim == 3:  # [O_1; ...; O_K] U: (P, K N, N)
        right = stack.reshape(k * n, n) @ u
    else:
        right = stack.reshape(p, k * n, n) @ u
    # U^dagger [O_1 U | ... | O_K U]: the K blocks side by side, (P, N, K N)
    side = right.reshape(p, k, n, n).transpose(0, 2, 1, 3).reshape(p, n, k * n)
    return (uh @ side).reshape(p, n, k, n).transpose(2, 0, 1, 3)



class Bands:
    """Eigen-decomposition of h(k) at an array of k points (P, d).

    Attributes
    ----------
    k : (P, d) wave vectors (1/nm)
    eigenvalues : (P, N) sorted eigenvalues (eV)
    vectors : (P, N, N) eigenvectors as columns
    group : (N,) band label of each eigenvalue index
    multiplicity : (M,) degeneracy w_n of each band
    energies : (P, M) band energies eps_n(k) (eV)
    """

    def __init__(self, model: Model, k: np.ndarray, check: bool = True) -> None:
        self.model = model
        self.k = model.check_k(k).reshape(-1, model.dim)
        h = model.hamiltonian(self.k)
        if check:
            check_hermitian(h, self.k)
        self.eigenvalues, self.vectors = np.linalg.eigh(h)
        self.group = band_groups(model)
        self.n_bands = int(self.group[-1]) + 1
        self.multiplicity = np.bincount(self.group, minlength=self.n_bands)
        self._onehot = (self.group[:, None] == np.arange(self.n_bands)[None, :]).astype(float)
        self.energies = (self.eigenvalues @ self._onehot) / self.multiplicity
        self._velocity_eig = None

    def __len__(self) -> int:
        return self.k.shape[0]

    # --- operators in the eigenbasis -------------------------------------------------
    def to_eigenbasis(self, op: np.ndarray) -> np.ndarray:
        """U^dagger O U for a constant (N, N) or per-point (P, ..., N, N) operator."""
        u = self.vectors
        op = np.asarray(op)
        if op.ndim == 2:
            return np.conj(np.swapaxes(u, -1, -2)) @ op @ u
        extra = op.ndim - 3
        uu = u.reshape(u.shape[:1] + (1,) * extra + u.shape[1:])
        return np.conj(np.swapaxes(uu, -1, -2)) @ op @ uu

    @property
    def velocity_eig(self) -> np.ndarray:
        """Velocity operator in the eigenbasis, (P, d, N, N), eV nm."""
        if self._velocity_eig is None:
            # all axes in two batched products (to_eigenbasis_stack), contiguous for the
            # later per-axis slices
            v = self.model.velocity(self.k)  # (P, d, N, N)
            self._velocity_eig = np.ascontiguousarray(
                np.moveaxis(to_eigenbasis_stack(self.vectors, v), 0, 1))
        return self._velocity_eig

    @property
    def band_velocity(self) -> np.ndarray:
        """v_n = Tr[P_n dh/dk] / w_n, shape (P, M, d), eV nm."""
        diag = np.real(np.diagonal(self.velocity_eig, axis1=-2, axis2=-1))  # (P, d, N)
        return np.swapaxes(diag @ self._onehot, -1, -2) / self.multiplicity[:, None]

    def interband_mask(self) -> np.ndarray:
        """(N, N) True where eigen indices a, b belong to different bands."""
        return self.group[:, None] != self.group[None, :]

    def inverse_gaps(self, power: int = 1) -> np.ndarray:
        """1/(e_a - e_b)^power for a, b in different bands, 0 within a band; (P, N, N)."""
        de = self.eigenvalues[:, :, None] - self.eigenvalues[:, None, :]
        mask = self.interband_mask()
        with np.errstate(divide="ignore"):
            inv = np.where(mask, 1.0 / np.where(mask, de, 1.0) ** power, 0.0)
        if not np.all(np.isfinite(inv)):
            raise FloatingPointError(
                "two different bands are degenerate at a sampled k point; the Berry "
                "connection is singular there (move mu or the sampling)"
            )
        return inv

    # --- projectors and geometry in the original basis --------------------------------
    def projectors(self) -> np.ndarray:
        """P_n(k), shape (P, M, N, N)."""
        u = self.vectors
        sel = u[:, None, :, :] * self._onehot.T[None, :, None, :]
        return sel @ np.conj(np.swapaxes(u, -1, -2))[:, None]

    def berry_connection(self) -> np.ndarray:
        """A^i_nm = i P_n v^i P_m / (eps_m - eps_n) for n != m (0 for n = m).

        Shape (P, d, M, M, N, N), units nm. docs/theory.md §2.
        """
        u = self.vectors
        m = self.n_bands
        inv = self.inverse_gaps()  # 1/(e_a - e_b)
        a_eig = 1j * self.velocity_eig * (-inv)[:, None]  # i v_ab / (e_b - e_a)
        sel = self._onehot.T  # (M, N)
        blocks = a_eig[:, :, None, None] * sel[None, None, :, None, :, None] * sel[
            None, None, None, :, None, :
        ]
        uu = u[:, None, None, None]
        del m
        return uu @ blocks @ np.conj(np.swapaxes(uu, -1, -2))

    def projector_derivative(self) -> np.ndarray:
        """dP_n/dk_i = sum_{m != n} (P_m v^i P_n + P_n v^i P_m)/(eps_n - eps_m).

        Shape (P, d, M, N, N), units nm.
        """
        inv = self.inverse_gaps()  # 1/(e_a - e_b)
        sel = self._onehot.T  # (M, N)
        v = self.velocity_eig[:, :, None]  # (P, d, 1, N, N)
        # a in n (row) or b in n (column), weighted 1/(e_n - e_other)
        row = sel[None, None, :, :, None] * inv[:, None, None]
        col = sel[None, None, :, None, :] * (-inv)[:, None, None]
        blocks = v * (row + col)
        u = self.vectors[:, None, None]
        return u @ blocks @ np.conj(np.swapaxes(u, -1, -2))

    def berry_curvature(self) -> np.ndarray:
        """Berry curvature of each band, summed over its degenerate group.

        Omega_n^{ij} = -2 Im sum_{a in n, b not in n} v^i_ab v^j_ba / (e_a - e_b)^2.
        Returns (P, M) for d = 2 (Omega^{xy}) or (P, M, 3) for d = 3 (the pseudovector);
        units nm^2. Sum over bands is zero; int_BZ Omega / 2pi is the Chern number.
        """
        v = self.velocity_eig
        inv2 = self.inverse_gaps(2)

        def omega(i, j):
            per_a = -2 * np.imag(np.sum(v[:, i] * np.swapaxes(v[:, j], -1, -2) * inv2, axis=-1))
            return per_a @ self._onehot

        if self.model.dim == 2:
            return omega(0, 1)
        if self.model.dim == 3:
            return np.stack([omega(1, 2), omega(2, 0), omega(0, 1)], axis=-1)
        return np.zeros((len(self), self.n_bands))
