"""The intraband density matrix inside degenerate bands (docs/theory.md §12).

On a band n of degeneracy w_n > 1 the intraband block is a Hermitian w_n x w_n matrix
r_n(k) = P_n r_n P_n, not g_n P_n. At each shell point it is expanded in a real basis of
Hermitian matrices X_q = V b_q V^dagger, where the columns of V are the eigenvectors of
the block D_n = P_n D P_n of the matrix DOS (eigenvalues d_a, eV^-1 nm^-d) and b_q runs
over E_aa, (E_ab + E_ba)/sqrt 2 and i(E_ab - E_ba)/sqrt 2 (a < b), the basis of
:func:`mesokinetics.disorder.hermitian_coefficients`. In that basis the out-scattering
(gamma/2){D_n, r_n} is diagonal, with rate

    lambda_q = gamma (d_a + d_b) / 2                                      (eV),

so every component q obeys the scalar equation of §4 with its own rate, in-scattering
gamma Tr[X_q S] (coupling gamma, not gamma/w_n) and drive e E.v_n Tr[b_q] (only the
diagonal components are driven: P_n v P_n = v_n P_n, §2). The components are orthonormal
(Tr[X_q X_q'] = delta), which fixes the inner product of the neutrality condition.

The basis V is fixed by D_n up to rotations inside degenerate eigenvalues of D_n, where
the rates are equal and the result does not depend on the choice: results are gauge
covariant inside the subspace (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..disorder import hermitian_coefficients, hermitian_from_coefficients


@dataclass
class BlockBasis:
    """Matrix-valued components of the intraband distribution on one shell.

    point : (Q,) shell point of each component
    traces : (Q, N^2) T_qa = Tr[B_a X_q] (the row that replaces Tr[B_a P_n] of §4)
    rate : (Q,) lambda_q (eV)
    drive : (Q,) Tr[b_q]: 1 for the diagonal components, 0 for the coherences
    frames : per degenerate band, (points (P_n,), eigen indices (w,), frame C (P_n, w, w))
        with C the eigenvectors of D_n in the h eigenbasis of the block; the columns of
        V = U[:, block] C span the subspace
    """

    point: np.ndarray
    traces: np.ndarray
    rate: np.ndarray
    drive: np.ndarray
    frames: list

    def __len__(self) -> int:
        return len(self.point)

    def block_traces(self, op_eig: np.ndarray) -> np.ndarray:
        """Tr[X_q o] for every component, (Q,), from the operator in the eigenbasis of
        h at the shell points (P, N, N)."""
        return np.concatenate([
            hermitian_coefficients(_frame_block(op_eig, pts, idx, c)).ravel()
            for pts, idx, c in self.frames])

    def gradient_traces(self, bands, shell_mask: np.ndarray, op_eig: np.ndarray) -> np.ndarray:
        """G^i_q = -Re Tr[o X_q A^i_(n, out)] for every component, (Q, d): the gradient
        kernel of docs/theory.md §12 (rho2 = -(1/2)(grad r_n . A_nm + A_mn . grad r_n)),
        which reduces to the scalar kernel of §5.2 for X = P_n. Units: operator unit x nm.

        In the frame C: Tr[o X A] = Tr[b F], F = C^dagger (A o)_nn C, so
        G = -coefficients of (F + F^dagger)/2."""
        inv = bands.inverse_gaps(1) * shell_mask[:, :, None]  # 1/(e_a - e_b), a in band
        out = []
        for i in range(bands.velocity_eig.shape[1]):
            a_eig = -1j * bands.velocity_eig[:, i] * inv  # A^i_ab = i v_ab / (e_b - e_a)
            ao = a_eig @ op_eig
            per = []
            for pts, idx, c in self.frames:
                f = _frame_block(ao, pts, idx, c)
                per.append(hermitian_coefficients((f + np.conj(np.swapaxes(f, -1, -2))) / 2).ravel())
            out.append(-np.concatenate(per))
        return np.stack(out, axis=-1)

    def disorder_traces(self, m_eig: np.ndarray, dos_eig: np.ndarray) -> np.ndarray:
        """Im Tr[m X_q D] for every component, (Q,): the r_n D P_m and P_n D r_m terms of
        the disorder coherence (docs/theory.md §12), with m_ba = o_ba / (e_a - e_b) for a
        in the point's band and b outside it (both matrices in the eigenbasis of h).

        Im Tr[m X D] = Tr[b F'] with F = C^dagger (D m)_nn C and F' = (F - F^dagger)/2i.
        """
        dm = dos_eig @ m_eig
        out = []
        for pts, idx, c in self.frames:
            f = _frame_block(dm, pts, idx, c)
            out.append(hermitian_coefficients((f - np.conj(np.swapaxes(f, -1, -2))) / 2j).ravel())
        return np.concatenate(out)


def _frame_block(mat: np.ndarray, pts: np.ndarray, idx: np.ndarray, c: np.ndarray) -> np.ndarray:
    """C^dagger M_nn C at the points of one degenerate band, (P_n, w, w)."""
    block = mat[pts][:, idx][:, :, idx]
    return np.conj(np.swapaxes(c, -1, -2)) @ block @ c


def _unit_hermitian(w: int) -> np.ndarray:
    """The w^2 basis matrices b_q of w x w Hermitian matrices, (w^2, w, w), in the order
    of :func:`mesokinetics.disorder.hermitian_coefficients`."""
    return hermitian_from_coefficients(np.eye(w * w), w)


def block_basis(shell, dos: np.ndarray, gamma: float, *, partner: np.ndarray | None = None,
                mirror: np.ndarray | None = None) -> BlockBasis | None:
    """The matrix components of the degenerate bands of ``shell`` (None if every band
    on it is simple). ``dos`` is the matrix DOS D at the shell energy (N x N).

    With ``partner`` (mirror state of each point, :func:`~mesokinetics.boltzmann.walls.
    mirror_partners`) and the wall mirror ``mirror`` (N x N unitary), the frame of the
    second point of each mirror pair is the mirror image of the first, V' = M V, so that
    specular reflection r' = M r M^dagger maps component q of a point onto component q of
    its partner (docs/theory.md §12). M commutes with D, so the rates agree (checked)."""
    from .walls import UnsupportedCombination

    bands = shell.bands
    mult = shell.multiplicity
    if not np.any(mult > 1):
        return None
    u = bands.vectors
    points, traces, rates, drives, frames = [], [], [], [], []
    for n in np.unique(shell.band[mult > 1]):
        pts = np.nonzero(shell.band == n)[0]
        idx = np.nonzero(bands.group == n)[0]
        w = len(idx)
        un = u[pts][:, :, idx]  # (P_n, N, w)
        d_block = np.conj(np.swapaxes(un, -1, -2)) @ dos @ un
        d_val, c = np.linalg.eigh(d_block)  # (P_n, w), (P_n, w, w)
        if partner is not None:
            image = np.searchsorted(pts, partner[pts])  # position of each point's partner
            first = np.nonzero(image > np.arange(len(pts)))[0]
            second = image[first]
            c[second] = np.conj(np.swapaxes(un[second], -1, -2)) @ mirror @ un[first] @ c[first]
            d_full = np.conj(np.swapaxes(c[second], -1, -2)) @ d_block[second] @ c[second]
            scale = np.max(np.abs(d_val))
            off = np.abs(d_full - d_val[first][:, :, None] * np.eye(w))
            gram = np.conj(np.swapaxes(c[second], -1, -2)) @ c[second] - np.eye(w)
            if len(first) and (np.max(off) > 1e-8 * scale or np.max(np.abs(gram)) > 1e-8):
                raise UnsupportedCombination(
                    "the wall mirror does not map the degenerate subspaces (or their "
                    "scattering) of mirror partners onto each other on this shell; use fully "
                    "diffuse walls")
            d_val[second] = d_val[first]
        v = un @ c
        b = _unit_hermitian(w)  # (w^2, w, w)
        x = v[:, None] @ b[None] @ np.conj(np.swapaxes(v, -1, -2))[:, None]  # (P_n, w^2, N, N)
        traces.append(hermitian_coefficients(x).reshape(len(pts) * w * w, -1))
        iu = np.triu_indices(w, 1)
        pair_rate = 0.5 * (d_val[:, iu[0]] + d_val[:, iu[1]])
        rates.append(gamma * np.concatenate([d_val, pair_rate, pair_rate], axis=1).ravel())
        drive = np.concatenate([np.ones(w), np.zeros(w * w - w)])
        drives.append(np.tile(drive, len(pts)))
        points.append(np.repeat(pts, w * w))
        frames.append((pts, idx, c))
    return BlockBasis(np.concatenate(points), np.concatenate(traces), np.concatenate(rates),
                      np.concatenate(drives), frames)
