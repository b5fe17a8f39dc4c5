"""Wall operators shared by the slab and cross-section solvers (docs/theory.md §6-7):
the specular map R(p) that pairs each shell point with its specular partner about a wall
(the mirror state of a mirror-symmetric shell; the state of equal momentum along the wall
and opposite normal velocity otherwise, §6.1).
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
    """Index of the specular partner R(p) of each shell point about a wall normal to axis
    ``normal`` (docs/theory.md §6, §6.1): the point of the same band, energy and momentum
    along the wall with the opposite sign of v_normal.

    On a shell mirror symmetric about the wall this is the mirror state
    (k_normal -> -k_normal), found to 1e-9 of the largest |k| as always. Otherwise the
    partner has the same k_t (to ``PARALLEL_TOL`` of the largest |k|, unique per band and
    branch): the rule of a 2D continuum strip is built so (``sampling.rays.
    parallel_momentum_shell``). Raises :class:`UnsupportedCombination` when neither
    pairing is exact: a band whose contour has more than two grazing points (an annulus
    or a non-convex contour: k_t labels no unique partner), or a rule that does not pair
    k_t (3D films, a model's own sampler). On a shell with several Fermi lines per band
    (``shell.loop``: 2D lattice strips, whose rule pairs k_t on each line with two grazing
    points, docs/theory.md §8) the partner is looked for on the same line."""
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
            return _parallel_partners(shell, normal)
        partner[idx] = idx[best]
    return partner


#: Relative distance (of the largest |k|) within which two points of a band count as having
#: the same momentum along the wall; the strip rule pairs them to rounding (4 ulp).
PARALLEL_TOL = 1e-9


def _parallel_partners(shell: Shell, normal: int) -> np.ndarray:
    """Partners of a shell without the wall mirror: per band, the points with v_n > 0 and
    those with v_n < 0 sorted by k_t and paired in order, each pair with equal k_t to
    ``PARALLEL_TOL``. Raises :class:`UnsupportedCombination` otherwise."""
    k = shell.k
    t = [i for i in range(k.shape[1]) if i != normal]
    vn = shell.velocity[:, normal]
    scale = np.max(np.linalg.norm(k, axis=1))
    partner = np.full(len(k), -1)
    line = shell.band if shell.loop is None else shell.loop
    for n in np.unique(line):
        idx = np.nonzero(line == n)[0]
        up, down = idx[vn[idx] > 0], idx[vn[idx] < 0]
        ok = len(t) == 1 and len(up) == len(down) == len(idx) // 2 and 2 * len(up) == len(idx)
        if ok:
            up = up[np.argsort(k[up, t[0]], kind="stable")]
            down = down[np.argsort(k[down, t[0]], kind="stable")]
            ok = bool(np.all(np.abs(k[up, t[0]] - k[down, t[0]]) <= PARALLEL_TOL * scale))
        if not ok:
            raise UnsupportedCombination(_unpaired_message(shell, normal, int(shell.band[idx[0]])))
        partner[up], partner[down] = down, up
    return partner


def _unpaired_message(shell: Shell, normal: int, band: int) -> str:
    """Why band ``band`` of ``shell`` has no exact specular partners (one line)."""
    axis = "xyz"[normal]
    idx = np.nonzero(shell.band == band)[0]
    why = ("this shell's rule does not pair the momenta along the wall (the strips of 2D "
           "continuum and lattice models do; 3D films and models with their own sampler need "
           "a mirror-symmetric shell)")
    if shell.loop is not None:
        why = (f"a Fermi line of band {band} is not paired by that momentum: it has more than "
               f"two grazing points (v_{axis} = 0: not convex along the wall), or none (an "
               "open orbit around the Brillouin zone, whose partners lie on another line)")
    elif shell.k.shape[1] == 2:
        k = shell.k[idx]
        angle = np.arctan2(k[:, normal], k[:, 1 - normal])
        order = np.argsort(angle)
        vn = shell.velocity[idx, normal][order]
        sign_changes = int(np.count_nonzero(np.sign(vn) != np.sign(np.roll(vn, -1))))
        twice = len(np.unique(np.round(angle, 12))) < len(angle)
        if twice or sign_changes > 2:
            why = (f"the contour of band {band} has more than two grazing points (v_{axis} = 0"
                   f"{': it is an annulus' if twice else ': it is not convex'}), so the "
                   "momentum along the wall labels no unique partner")
    return ("specular reflection keeps band, energy and the momentum along the wall; a "
            "shell that is not mirror symmetric about the wall (k_normal -> -k_normal "
            f"within each band) needs its points paired by that momentum, and here {why}. "
            "Use fully diffuse walls (specularity = 0, no roughness) for this case.")


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
