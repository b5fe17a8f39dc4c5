"""Wall operators shared by the slab and cross-section solvers (docs/theory.md §6-7):
the specular map R(p) that pairs each shell point with its mirror state about a wall.
"""

from __future__ import annotations

import numpy as np

from ..sampling import Shell

__all__ = ["UnsupportedCombination", "mirror_operator", "mirror_partners"]


class UnsupportedCombination(ValueError, NotImplementedError):
    """A combination of inputs the solvers do not implement (e.g. specular walls for a
    shell that is not mirror symmetric about the wall). A user error: a ValueError for
    the command line and the workflow (one line, exit status 2), and still a
    NotImplementedError for code that catches that."""


def mirror_partners(shell: Shell, normal: int) -> np.ndarray:
    """Index of the mirror state (same band, k_normal -> -k_normal) of each shell point.

    Exact for shells symmetric under the wall mirror; raises otherwise."""
    from scipy.spatial import cKDTree  # scipy.spatial costs 0.1 s to import: load on use

    k = shell.k
    mirrored = k.copy()
    mirrored[:, normal] *= -1
    partner = np.full(len(k), -1)
    scale = np.max(np.linalg.norm(k, axis=1))
    for n in np.unique(shell.band):
        idx = np.nonzero(shell.band == n)[0]
        dist, best = cKDTree(k[idx]).query(mirrored[idx])
        if not np.all(dist <= 1e-9 * scale):
            raise UnsupportedCombination(
                "specular reflection needs a shell that is mirror symmetric about the wall "
                "(k_normal -> -k_normal within each band); this shell is not (e.g. Rashba "
                "plus Dresselhaus, or an in-plane magnetization along the wall). Use fully "
                "diffuse walls (specularity = 0, no roughness) for such models."
            )
        partner[idx] = idx[best]
    return partner


def mirror_operator(model, normal: int) -> np.ndarray:
    """Unitary M (N x N) of the reflection about a wall plane normal to axis ``normal``,
    acting on the basis states (docs/theory.md §12): specular reflection maps the
    distribution of a degenerate band as r(k') = M r(k) M^dagger.

    A mirror is inversion times a rotation by pi about the normal, so
    M = Pi exp(-i pi J_normal) with J = L + S from the model's orbital and spin matrices
    (either may be absent) and the parity Pi = (-1)^l read from L^2 = l(l+1). A model may
    instead define ``mirror(normal)``. Raises :class:`UnsupportedCombination` unless
    M h(k) M^dagger = h(k') at random k (k' = k with k_normal -> -k_normal)."""
    custom = getattr(model, "mirror", None)
    if callable(custom):
        mirror = np.asarray(custom(normal), complex)
    else:
        n = model.size
        lmat, smat = model.orbital_matrices, model.spin_matrices
        j = np.zeros((n, n), complex)
        parity = np.eye(n, dtype=complex)
        if lmat is not None:
            j = j + lmat[normal]
            l2 = np.einsum("aij,ajk->ik", lmat, lmat)
            val, vec = np.linalg.eigh(l2)
            ell = np.rint((np.sqrt(1 + 4 * np.clip(val, 0, None)) - 1) / 2)
            parity = (vec * (-1.0) ** ell) @ np.conj(vec.T)
        if smat is not None:
            j = j + smat[normal]
        val, vec = np.linalg.eigh(j)
        mirror = parity @ (vec * np.exp(-1j * np.pi * val)) @ np.conj(vec.T)
    rng = np.random.default_rng(2024)
    k = rng.normal(size=(6, model.dim)) * model.momentum_scale
    kr = k.copy()
    kr[:, normal] *= -1
    h, hr = model.hamiltonian(k), model.hamiltonian(kr)
    dev = np.max(np.abs(mirror @ h @ np.conj(mirror.T) - hr))
    unitary = np.max(np.abs(mirror @ np.conj(mirror.T) - np.eye(model.size)))
    if not (dev <= 1e-9 * (1 + np.max(np.abs(h))) and unitary <= 1e-9):
        raise UnsupportedCombination(
            "specular reflection of a degenerate band maps its matrix distribution with the "
            f"wall mirror (axis {'xyz'[normal]} -> -{'xyz'[normal]}), built from the model's "
            "orbital and spin matrices as inversion times a pi rotation; it is not a "
            f"symmetry of this h(k) (max |M h M^dagger - h(k')| = {dev:.3g} eV). Give the "
            "model a method mirror(normal) returning the unitary, or use fully diffuse walls"
        )
    return mirror
