"""Interband coherences, paper Eq. (1) (docs/theory.md §5): three local terms.

All three are evaluated as traces in the eigenbasis of h(k), summing over eigen indices
a (band n) and b (band m != n), which is gauge invariant inside degenerate groups.
Notation: o_ab = <a|o|b>, v^i_ab = <a|dh/dk_i|b>, Delta_ab = e_a - e_b, e = -1.

1. intrinsic: rho1_nm = -e (f_n - f_m)/(eps_n - eps_m) E.A_nm, whose density is
   o1 = int_k sum_{a,b} -e (f_a - f_b) Im(E.v_ab o_ba) / Delta_ab^2   (Fermi sea);
2. gradient:  rho2 = sum_n -(i/2) grad_x f_n . [dP_n/dk, P_n], whose density per unit
   gradient of g_n on shell n is the kernel G^i_n = -sum_{a in n, b} Im(v^i_ab o_ba)/Delta_ab;
3. disorder:  rho3_nm = -(i gamma / (2 (eps_n - eps_m))) P_n (X_n + X_m) P_m,
   X_n = delta(eps_n - mu) (S - g_n D); its density on the shell is
   o3 = sum_n int_k delta(eps_n - mu) gamma sum_{a in n, b} Im(Y_ab o_ba) / Delta_ab,
   Y = S - g_n(k) D, or Y = S - r_n D for the matrix distribution r_n of a degenerate
   band (docs/theory.md §12).
"""

from __future__ import annotations

import numpy as np

from .bands import Bands
from .units import ELECTRON_CHARGE


def intrinsic_density(
    bands: Bands, weight: np.ndarray, mu: float, op_eig: np.ndarray
) -> np.ndarray:
    """Intrinsic (Fermi-sea) interband density for unit fields along each axis.

    ``bands`` and ``weight`` are a Fermi-sea quadrature (T = 0 occupations f = [e < mu]),
    ``op_eig`` the operator in the eigenbasis (P, N, N). Returns (d,) densities
    (operator unit per nm^d per V/nm).

    This is the literal formula, one operator at a time; the solvers evaluate several
    operators at once with :func:`intrinsic_densities` (the same numbers to rounding).
    """
    if len(bands) == 0:
        return np.zeros(bands.model.dim)
    occ = (bands.eigenvalues < mu).astype(float)
    df = occ[:, :, None] - occ[:, None, :]  # f_a - f_b
    factor = -ELECTRON_CHARGE * df * bands.inverse_gaps(2) * weight[:, None, None]
    v = bands.velocity_eig  # (P, d, N, N)
    vo = np.imag(v * np.swapaxes(op_eig, -1, -2)[:, None])  # Im(v_ab o_ba)
    return np.einsum("pab,piab->i", factor, vo)


#: bytes of weighted velocities per block of :func:`intrinsic_densities` (d N^2 complex
#: numbers per k point): a block small enough to stay in the cache while every operator
#: is read against it, and the extra memory is bounded whatever the chunk. Measured on
#: bcc Fe (N = 18, 4096 points, 4 operators): 1 MiB (64 points) 15.6 us per point, 2 MiB
#: 19 us, 8 MiB 23-26 us; for 2-band models a 1 MiB block holds 5000 points, so the loop
#: over blocks costs nothing.
INTRINSIC_BLOCK_BYTES = 1 << 20


def intrinsic_densities(
    bands: Bands, weight: np.ndarray, mu: float, ops_eig
) -> np.ndarray:
    """:func:`intrinsic_density` of several operators at once: (n_ops, d) densities
    (operator unit per nm^d per V/nm), the same numbers to rounding.

    ``bands`` and ``weight`` are a Fermi-sea quadrature (T = 0 occupations f = [e < mu]),
    ``ops_eig`` the operators in the eigenbasis: a sequence of (P, N, N) arrays (e.g.
    :func:`~mesokinetics.operators.in_eigenbasis_many`) or one (n_ops, P, N, N) array.

    The occupations, the 1/Delta^2 factors and the velocities weighted by them are built
    once for all operators (the per-operator function rebuilds them for each), after
    which each operator costs one real dot product over its entries: with
    F_ab = -e w (f_a - f_b) / Delta_ab^2 and W^i_ab = v^i_ba, renaming a <-> b (F is
    antisymmetric) gives sum_ab F_ab Im(v^i_ab o_ba) = -sum_ab F_ab Im(W^i_ab o_ab), and
    Im(W o) = Re(X) Re(o) + Im(X) Im(o) with X = i conj(W): the density is the real dot
    product of Y^i = -i F conj(W^i) and o, both read as (real, imaginary) pairs. No
    Hermiticity is assumed. bcc Fe, 4 operators: 16-19 against 56-61 us per k point.
    """
    n_ops = len(ops_eig)
    d = bands.model.dim
    out = np.zeros((n_ops, d))
    if len(bands) == 0 or n_ops == 0:
        return out
    n = bands.eigenvalues.shape[-1]
    occ = (bands.eigenvalues < mu).astype(float)
    inv2 = bands.inverse_gaps(2)  # (P, N, N); raises on degenerate bands, as above
    v = bands.velocity_eig  # (P, d, N, N)
    block = max(1, INTRINSIC_BLOCK_BYTES // (16 * d * n * n))
    for s in range(0, len(bands), block):
        p = slice(s, s + block)
        f = occ[p]
        # -i F = i e w (f_a - f_b) / Delta^2 (broadcast over the d axes below)
        minus_i_f = ((1j * ELECTRON_CHARGE * weight[p, None, None])
                     * (f[:, :, None] - f[:, None, :]) * inv2[p])
        # Y^i = -i F conj(W^i), W^i = (v^i)^T: (d, B, N, N), read as (d, 2 B N^2) floats
        w_t = np.swapaxes(v[p], -1, -2).transpose(1, 0, 2, 3)
        y = np.empty(w_t.shape, complex)  # C order, so that the reshape below is a view
        np.multiply(minus_i_f, np.conj(w_t), out=y)
        y = y.reshape(d, -1).view(float)
        for j, o in enumerate(ops_eig):
            # (Re o, Im o) pairs, the layout of y
            out[j] += y @ np.ascontiguousarray(o[p], dtype=complex).reshape(-1).view(float)
    return out


def _band_offdiagonal(shell_mask: np.ndarray, bands: Bands) -> np.ndarray:
    """(P, N, N) 1/Delta_ab for a in the point's band and b in another band, else 0."""
    return bands.inverse_gaps(1) * shell_mask[:, :, None]


def gradient_kernel(bands: Bands, shell_mask: np.ndarray, op_eig: np.ndarray) -> np.ndarray:
    """G^i(k) = Tr[-(i/2) [dP_n/dk_i, P_n] o(k)] at shell points of band n, (P, d).

    ``shell_mask`` (P, N) marks the eigen indices of each point's band. The gradient
    density is then sum_n int_k delta(eps_n - mu) grad g_n . G_n (docs/theory.md §5).
    Units: operator unit x nm.
    """
    inv = _band_offdiagonal(shell_mask, bands)
    vo = np.imag(bands.velocity_eig * np.swapaxes(op_eig, -1, -2)[:, None])
    return -np.einsum("pab,piab->pi", inv, vo)


def disorder_kernel(shell, op_eig: np.ndarray, gamma: float) -> np.ndarray:
    """Per-point kernel q_p (P, N^2) with disorder density sum_p w_p q_p . (s - g_p d).

    The disorder term on shell point p is gamma sum_{a in n, b} Im(Y_ab o_ba)/Delta_ab =
    gamma Tr[Y Q_p], Y = S - g_p D, with the Hermitian Q_p = (M - M^dagger)/(2i),
    M = U m U^dagger, m_ba = o_ba / Delta_ab (a in the point's band). Returned as real
    coefficients in the Hermitian basis of :mod:`mesokinetics.disorder`, so that
    Tr[Y Q_p] = q_p . y for the coefficients y of Y. Linear in S, hence cheap for
    profiles: one N^2 vector per point, whatever the number of cells.
    """
    from .disorder import hermitian_coefficients

    bands = shell.bands
    inv = _band_offdiagonal(shell.eigen_mask, bands)  # 1/Delta_ab, a in band
    m_eig = np.swapaxes(inv * np.swapaxes(op_eig, -1, -2), -1, -2)  # m_ba = o_ba inv_ab
    u = bands.vectors
    m = u @ m_eig @ np.conj(np.swapaxes(u, -1, -2))
    q = (m - np.conj(np.swapaxes(m, -1, -2))) / 2j
    return gamma * hermitian_coefficients(q)


def disorder_density(
    shell, g: np.ndarray, moment: np.ndarray, dos: np.ndarray, gamma: float, op_eig: np.ndarray,
    *, blocks=None, block_rho: np.ndarray | None = None,
) -> np.ndarray:
    """Disorder (ladder vertex) interband density on a shell.

    g : (..., P) distributions; moment : (..., N, N) shell moments S for the same leading
    index (field axes, or cells); dos : (N, N) matrix DOS. Returns (...,) densities.
    ``blocks`` (a :class:`~mesokinetics.boltzmann.blocks.BlockBasis`) with amplitudes
    ``block_rho`` (..., Q): the degenerate bands carry matrix distributions r_n, and
    their term gamma Im Tr[m r_n D] replaces g_n Tr[D Q_p] (docs/theory.md §12).
    """
    from .disorder import hermitian_coefficients

    kern = disorder_kernel(shell, op_eig, gamma) * shell.weight[:, None]  # (P, N^2)
    s_part = hermitian_coefficients(moment) @ kern.sum(axis=0)
    if blocks is None:
        return s_part - g @ (kern @ hermitian_coefficients(dos))
    simple = blocks.scalar  # points with one scalar g (simple or decoupled bands)
    d_part = g[..., simple] @ (kern[simple] @ hermitian_coefficients(dos))
    bands = shell.bands
    inv = _band_offdiagonal(shell.eigen_mask, bands)
    m_eig = np.swapaxes(inv * np.swapaxes(op_eig, -1, -2), -1, -2)  # m_ba = o_ba / Delta_ab
    dos_eig = bands.to_eigenbasis(dos)
    per = gamma * shell.weight[blocks.point] * blocks.disorder_traces(m_eig, dos_eig)
    return s_part - d_part - block_rho @ per


def intraband_density(shell, g: np.ndarray, op_eig: np.ndarray, *, blocks=None,
                      block_rho: np.ndarray | None = None) -> np.ndarray:
    """Intraband density sum_n int_k delta(eps_n - mu) Tr[r_n o], (d,): g_n Tr[P_n o]
    on simple bands; with ``blocks`` and ``block_rho`` the matrix distributions of the
    degenerate bands, sum_q r_q Tr[X_q o] (docs/theory.md §12)."""
    diag = np.real(np.diagonal(op_eig, axis1=-2, axis2=-1))  # (P, N)
    trace = np.sum(diag * shell.eigen_mask, axis=-1)
    if blocks is None:
        return g @ (shell.weight * trace)
    simple = blocks.scalar  # points with one scalar g (simple or decoupled bands)
    scalar = g[..., simple] @ (shell.weight * trace)[simple]
    return scalar + block_rho @ (shell.weight[blocks.point] * blocks.block_traces(op_eig))
