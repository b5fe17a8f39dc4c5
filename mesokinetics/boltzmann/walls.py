"""Wall operators shared by the slab and cross-section solvers (docs/theory.md §6-7):
the specular map R(p) that pairs each shell point with its mirror state about a wall.
"""

from __future__ import annotations

import numpy as np

from ..sampling import Shell

__all__ = ["UnsupportedCombination", "mirror_partners"]


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
