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

from ..disorder import hermitian_coefficients, hermitian_from_coefficients, shell_traces


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
    scalar : (P,) True for the shell points that keep one scalar g_n: simple bands, and
        degenerate bands whose traceless part is never driven (checked on random moments
        of the scalar span, :func:`_decoupled`)
    """

    point: np.ndarray
    traces: np.ndarray
    rate: np.ndarray
    drive: np.ndarray
    frames: list
    scalar: np.ndarray

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


def block_basis(shell, dos: np.ndarray, gamma: float, *, mirrors: list | None = None,
                scalar: np.ndarray | None = None, decouple: bool = True,
                point_traces: np.ndarray | None = None) -> BlockBasis | None:
    """The matrix components of the degenerate bands of ``shell`` (None if every band
    on it keeps one scalar per point). ``dos`` is the matrix DOS D at the shell energy.

    A degenerate band whose traceless part is never driven (:func:`_decoupled`, checked
    on random moments of the scalar span: Kramers pairs of PT-symmetric models, by the
    theorem of docs/theory.md §12) keeps the scalar path, which is then exact
    (``decouple=False`` gives it matrix components anyway, for tests). ``scalar``: the
    (P,) mask of scalar points decided before (a finite sample reuses its bulk's).

    ``mirrors``: (partner, M) per specular wall axis, with the mirror state of each point
    (:func:`~mesokinetics.boltzmann.walls.mirror_partners`) and the wall mirror M (N x N
    unitary). Frames are then propagated along every mirror orbit, V(R k) = M V(k), so
    that specular reflection r' = M r M^dagger maps component q of a point onto component
    q of its partner (docs/theory.md §12). M commutes with D, so the rates agree; two
    mirrors commute up to a phase, which X_q = V b_q V^dagger does not see (both checked).
    """
    from .walls import UnsupportedCombination

    bands = shell.bands
    mult = shell.multiplicity
    if not np.any(mult > 1):
        return None
    u = bands.vectors
    decided = scalar
    scalar = (mult == 1) if decided is None else np.array(decided, bool)
    dos_eig = bands.to_eigenbasis(dos)  # (P, N, N): every D_n block is a slice of it
    if decided is None and decouple:
        probe = _scalar_sector_probe(
            shell_traces(shell) if point_traces is None else point_traces, shell.weight)
        probe_eig = [bands.to_eigenbasis(m)
                     for m in hermitian_from_coefficients(probe.T, bands.model.size)]
    points, traces, rates, drives, frames = [], [], [], [], []
    for n in np.unique(shell.band[mult > 1]):
        pts = np.nonzero(shell.band == n)[0]
        idx = np.nonzero(bands.group == n)[0]
        w = len(idx)
        un = u[pts][:, :, idx]  # (P_n, N, w)
        d_block = dos_eig[pts][:, idx][:, :, idx]  # U_n^dagger D U_n
        if decided is not None:
            if np.all(scalar[pts]):
                continue
        elif decouple and _decoupled(d_block, [m[pts][:, idx][:, :, idx] for m in probe_eig]):
            scalar[pts] = True  # r_n = g_n P_n exactly: the scalar path
            continue
        d_val, c = np.linalg.eigh(d_block)  # (P_n, w), (P_n, w, w)
        if mirrors:
            c = _propagate_frames(pts, un, c, mirrors)
            d_full = np.conj(np.swapaxes(c, -1, -2)) @ d_block @ c
            d_val = np.real(np.diagonal(d_full, axis1=-2, axis2=-1)).copy()
            off = np.max(np.abs(d_full - d_val[:, :, None] * np.eye(w)))
            if off > 1e-8 * np.max(np.abs(d_val)):
                raise UnsupportedCombination(
                    "the wall mirror does not commute with the scattering of this shell "
                    "(P_n D P_n of mirror partners differ); use fully diffuse walls")
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
    if not frames:
        return None
    return BlockBasis(np.concatenate(points), np.concatenate(traces), np.concatenate(rates),
                      np.concatenate(drives), frames, scalar)


#: Relative size below which the coupling of a traceless part to the scalar sector, and
#: the spread of the rates inside a block, count as zero.
DECOUPLED_TOL = 1e-10


def _scalar_sector_probe(point_traces: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Two random moments S (N^2 coefficients each, (N^2, 2)) in the span V_s of the
    moments that scalar distributions can build, S = sum_p w_p g_p P_n(k_p): a traceless
    part that is orthogonal to one is orthogonal to all of V_s with probability 1 (the
    second guards against an unlucky cancellation)."""
    rng = np.random.default_rng(20261201)
    return (point_traces * weight[:, None]).T @ rng.normal(size=(len(weight), 2))


def _decoupled(d_block: np.ndarray, probe_blocks: list) -> bool:
    """True if the traceless part of this degenerate band is never driven, so that
    r_n = g_n P_n is exact (docs/theory.md §12): its states scatter at one rate
    (P_n D P_n proportional to P_n) and P_n S P_n is proportional to P_n for every moment
    S that scalar distributions build (the scalar sector is then invariant under the
    in-scattering, in the bulk and near walls alike). ``probe_blocks``: the blocks
    U_n^dagger S U_n of the probe moments (:func:`_scalar_sector_probe`). Kramers pairs of
    PT-symmetric models pass by symmetry; accidental and orbital degeneracies generally
    do not."""
    return _proportional_to_identity(d_block) and all(
        _proportional_to_identity(b) for b in probe_blocks)


def _proportional_to_identity(block: np.ndarray) -> bool:
    """True if every (w, w) block of ``block`` (..., w, w) is a multiple of 1 within
    DECOUPLED_TOL of the largest entry."""
    w = block.shape[-1]
    mean = np.real(np.einsum("...aa->...", block)) / w
    dev = np.max(np.abs(block - mean[..., None, None] * np.eye(w)))
    return bool(dev <= DECOUPLED_TOL * max(np.max(np.abs(block)), np.finfo(float).tiny))


def _propagate_frames(pts, un, c, mirrors) -> np.ndarray:
    """Frames of one degenerate band made consistent along mirror orbits: each orbit
    keeps the D_n eigenframe of its first point and C(R k) = U(R k)^dagger M U(k) C(k)."""
    from .walls import UnsupportedCombination

    c = c.copy()
    done = np.zeros(len(pts), bool)
    images = [(np.searchsorted(pts, partner[pts]), m) for partner, m in mirrors]
    for start in range(len(pts)):
        if done[start]:
            continue
        done[start] = True
        stack = [start]
        while stack:
            i = stack.pop()
            for image, m in images:
                j = image[i]
                if j == i:  # on the mirror plane: v_normal = 0, never reflected
                    continue
                cand = np.conj(un[j].T) @ m @ un[i] @ c[i]
                if not done[j]:
                    gram = np.conj(cand.T) @ cand
                    if np.max(np.abs(gram - np.eye(len(gram)))) > 1e-8:
                        raise UnsupportedCombination(
                            "the wall mirror does not map the degenerate subspaces of mirror "
                            "partners onto each other on this shell; use fully diffuse walls")
                    c[j], done[j] = cand, True
                    stack.append(j)
                else:
                    overlap = np.conj(c[j].T) @ cand  # a global phase if consistent
                    if np.max(np.abs(overlap - overlap[0, 0] * np.eye(len(overlap)))) > 1e-8:
                        raise UnsupportedCombination(
                            "the wall mirrors of this sample do not act consistently on the "
                            "degenerate subspaces of this shell; use fully diffuse walls")
    return c


@dataclass
class ComponentLayout:
    """The unknowns of a solve with matrix distributions, in order: one per scalar point
    (simple bands and decoupled degenerate ones, ``blocks.scalar``), then the w^2
    components of each point of a matrix band (docs/theory.md §12). Every per-point array
    of the scalar solvers becomes a per-unknown array; ``point`` (Q,) is the shell point of
    each unknown.

    traces (Q, N^2), tau (Q,) hbar/eV, coupling (Q,) (gamma / w_n, or gamma), weight (Q,)
    shell weights; unit (Q,): the amplitudes of r = P_n (1 for a scalar point, Tr[b_q] for
    a component), which the field drives, diffuse walls re-emit and neutrality shifts;
    number (Q,) Tr[X_q] (w_n or Tr[b_q]): particles, for wall fluxes; norm (Q,)
    Tr[X_q X_q] (w_n or 1): the neutrality inner product; beta (Q,) the component index
    inside its point; first (P,) the first unknown of each point.
    """

    blocks: BlockBasis
    scalar: np.ndarray
    point: np.ndarray
    beta: np.ndarray
    first: np.ndarray
    traces: np.ndarray
    tau: np.ndarray
    coupling: np.ndarray
    weight: np.ndarray
    unit: np.ndarray
    number: np.ndarray
    norm: np.ndarray

    @classmethod
    def build(cls, shell, blocks: BlockBasis, point_traces: np.ndarray, point_tau: np.ndarray,
              gamma: float) -> "ComponentLayout":
        scalar = np.nonzero(blocks.scalar)[0]
        ns = len(scalar)
        mult = shell.multiplicity
        bp = blocks.point
        new_run = np.r_[True, bp[1:] != bp[:-1]]
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(bp)), 0))
        first = np.zeros(len(shell), int)
        first[scalar] = np.arange(ns)
        first[bp[new_run]] = ns + np.nonzero(new_run)[0]
        point = np.concatenate([scalar, bp])
        return cls(blocks, scalar, point,
                   np.concatenate([np.zeros(ns, int), np.arange(len(bp)) - run_start]), first,
                   np.concatenate([point_traces[scalar], blocks.traces]),
                   np.concatenate([point_tau[scalar], 1.0 / blocks.rate]),
                   np.concatenate([gamma / mult[scalar], np.full(len(bp), gamma)]),
                   shell.weight[point],
                   np.concatenate([np.ones(ns), blocks.drive]),
                   np.concatenate([mult[scalar].astype(float), blocks.drive]),
                   np.concatenate([mult[scalar].astype(float), np.ones(len(bp))]))

    def __len__(self) -> int:
        return len(self.point)

    def partner(self, point_partner: np.ndarray) -> np.ndarray:
        """The unknown fed by specular reflection: component q of the partner point (the
        frames are paired by the wall mirror, :func:`block_basis`)."""
        return self.first[point_partner[self.point]] + self.beta

    def per_point(self, x: np.ndarray, multiplicity: np.ndarray) -> np.ndarray:
        """Per shell point (P, ...) from per unknown (Q, ...): the value of a scalar point,
        the trace part Tr[r_n] / w_n of a matrix one."""
        ns = len(self.scalar)
        out = np.zeros((len(self.first),) + x.shape[1:])
        out[self.scalar] = x[:ns]
        blocks = self.blocks
        shape = (-1,) + (1,) * (x.ndim - 1)
        np.add.at(out, blocks.point, x[ns:] * blocks.drive.reshape(shape))
        pts = np.unique(blocks.point)
        out[pts] /= multiplicity[pts].reshape(shape)
        return out
