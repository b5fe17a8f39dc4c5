"""Unitary point-group symmetries of a lattice model, and the conductivity components
they forbid: a check that the Brillouin-zone quadrature keeps the model's symmetry.

docs/theory.md §8: the Brillouin-zone rules are exactly invariant under the signed
permutations of the lattice axes (square, cubic, tetragonal, orthorhombic lattices), but
hexagonal lattices and bcc/fcc primitive cells keep only inversion exact, so a coarse
``bz_grid`` there can leave symmetry-forbidden conductivity components of a few per cent.

* :func:`lattice_point_group`: the orthogonal Cartesian matrices R (d x d) that map the
  Bravais lattice of ``lattice_vectors`` onto itself (its holohedry; 48 for cubic, 24 for
  hexagonal in 3D, 12 for the triangular lattice and 8 for the square one in 2D).
* :func:`point_group`: those R that are unitary symmetries of the model,

      U h(k) U^dagger = h(R k)   for all k,   U a constant N x N unitary,

  so that (differentiating) U v_j(k) U^dagger = sum_i R_ij v_i(R k) as well. The
  projectors then transform as P_n(R k) = U P_n(k) U^dagger, the traces Tr[P P'] of the
  point-disorder kernel (docs/theory.md §3) are invariant, and every contribution of
  paper Eqs. (1)-(2) to the conductivity (docs/theory.md §4-5) obeys

      sigma = R sigma R^T,

  for proper and improper R alike (current and field are both polar vectors).
  Antiunitary symmetries (time reversal, or a mirror combined with it in a magnet) are
  not searched: they constrain sigma differently (Onsager relations with m -> -m).
* :func:`forbidden_part`: |sigma - sym(sigma)| / |sigma| with
  sym(sigma) = (1/|G|) sum_R R sigma R^T (Frobenius norms), the part of a rank-2 tensor
  that the group forbids (sym is the orthogonal projector onto the invariant tensors).
* :func:`check_conductivity_symmetry`: a :class:`~mesokinetics.validity.ValidityWarning`
  when the forbidden part of a computed conductivity exceeds ``tol``.

Bloch conventions (docs/theory.md §2, models/lattice.py): the test uses
``model.hamiltonian`` and ``model.velocity``, the pair every solver uses, and looks for a
constant U. In the "atomic" convention (phases with the orbital positions) every
space-group operation of the crystal has a constant U (a permutation of the orbitals
times their rotation matrices), so all are found. In the "lattice" convention (phases
exp(i k.R) only, Wannier90; the default without positions) an operation that moves an
orbital into another cell (C3 about a honeycomb site moves the other sublattice)
needs a k-dependent U(k) = diag(exp(i k.L_a)) U: it is not found, and rightly so, since
the Berry connections of that convention (and hence the solver's Fermi-sea terms) do
not have that symmetry. Missing a symmetry only means fewer checks; an accepted one is
verified on fresh random k for both h and dh/dk.

Units: lattice vectors in nm, k in 1/nm, h in eV, velocities in eV nm; R dimensionless.
"""

from __future__ import annotations

import weakref
from itertools import product

import numpy as np

from .models.base import Model
from .numerics import Numerics
from .sampling import BrillouinZone, sampler_of
from .sampling.brillouin import DEFAULT_GRID
from .validity import warn_new_messages

#: Default largest forbidden part |sigma - sym sigma| / |sigma| before the warning
#: (issue 12: the target accuracy of every reference is 1e-3 relative).
SYMMETRY_TOL = 1e-3

#: point groups already found: {model: {(samples, atol, seed): group}} (weak keys, so a
#: model's cache entry goes with the model)
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------------------
# the lattice
# --------------------------------------------------------------------------------------


def lattice_point_group(lattice_vectors, *, atol: float = 1e-4) -> np.ndarray:
    """Orthogonal Cartesian matrices R mapping the Bravais lattice onto itself.

    lattice_vectors : (d, d) primitive vectors a_j as rows (nm), d = 1, 2 or 3
    atol : relative tolerance on the metric, |a'_i . a'_j - a_i . a_j| <= atol max|a|^2
        (1e-4: lattice vectors typed with 5 digits; the symmetry test of a model is exact
        in lattice coordinates, and a distortion below atol changes sigma by less)

    Each image basis a'_j = R a_j is a lattice vector n . A (integer n) of the same
    length as a_j, and the image basis must have the metric of the original one; then
    R = (A^-1 M A)^T with M the integer rows n_j. Returns (G, d, d), the identity first,
    R acting on Cartesian column vectors (k' = R k): exact maps of the given lattice,
    orthogonal to rounding for exact lattices and to about ``atol`` for lattice vectors
    given with few digits.
    """
    a = np.asarray(lattice_vectors, float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] not in (1, 2, 3) \
            or not np.all(np.isfinite(a)):
        raise ValueError(f"lattice_vectors must be a finite (d, d) array (rows, nm) with "
                         f"d = 1, 2 or 3, got shape {a.shape}")
    if not np.isfinite(atol) or atol <= 0:
        raise ValueError(f"atol must be a positive number, got {atol!r}")
    d = a.shape[0]
    gram = a @ a.T
    scale = float(np.max(np.diag(gram)))
    recip = np.linalg.inv(a).T  # rows b_i / (2 pi): n_i = v . b_i / (2 pi)
    lengths = np.sqrt(np.diag(gram))
    bound = np.floor(lengths.max() * np.linalg.norm(recip, axis=1) + 1e-9).astype(int)
    if np.prod(2 * bound + 1) > 2_000_000:
        raise ValueError("lattice_vectors are too skewed to enumerate their point group; "
                         "give a reduced (e.g. Niggli) cell")
    ns = np.array(list(product(*(range(-m, m + 1) for m in bound))), dtype=int)
    norms2 = np.einsum("ij,jk,ik->i", ns, gram, ns)
    cands = [ns[np.abs(norms2 - gram[j, j]) <= atol * scale] for j in range(d)]
    ainv = np.linalg.inv(a)
    out = []
    for rows in product(*cands):
        m = np.array(rows)
        if np.max(np.abs(m @ gram @ m.T - gram)) > atol * scale:
            continue
        r = (ainv @ m @ a).T
        if np.max(np.abs(r @ r.T - np.eye(d))) > 1e2 * atol:
            continue
        out.append(r)
    out.sort(key=lambda r: (np.max(np.abs(r - np.eye(d))) > 1e-9, np.trace(r) * -1,
                            tuple(np.round(r.ravel(), 9))))
    return np.array(out)


# --------------------------------------------------------------------------------------
# unitary symmetries of h(k)
# --------------------------------------------------------------------------------------


def _clusters(e: np.ndarray, tol: float) -> list[np.ndarray]:
    """Index groups of sorted eigenvalues closer than ``tol`` (degenerate subspaces)."""
    breaks = np.nonzero(np.diff(e) > tol)[0] + 1
    return np.split(np.arange(len(e)), breaks)


def _intertwiner(h_k, h_rk, tol: float, rng) -> np.ndarray | None:
    """A unitary U with U h_k[i] U^dagger = h_rk[i] for every i, or None.

    In the eigenbasis of the first pair (h_k[0] = W1 e W1^dagger, h_rk[0] = W2 e W2^dagger,
    equal spectra), U = W2 X W1^dagger with X block diagonal over the degenerate
    eigenvalues; the other pairs give the linear conditions X A_i - B_i X = 0,
    A_i = W1^dagger h_k[i] W1, B_i = W2^dagger h_rk[i] W2, whose null space (SVD) holds
    every intertwiner. The unitary polar factor of a generic element of it is again an
    intertwiner (X^dagger X commutes with every A_i, as the A_i, B_i are Hermitian)."""
    e1, w1 = np.linalg.eigh(h_k[0])
    e2, w2 = np.linalg.eigh(h_rk[0])
    if np.max(np.abs(e1 - e2)) > tol:
        return None
    n = len(e1)
    blocks = _clusters(e1, 1e3 * tol)
    pairs = np.array([(p, r) for b in blocks for p in b for r in b])  # unknown X_pr
    k = len(pairs)
    a = np.conj(w1.T) @ h_k[1:] @ w1  # (S, N, N)
    b = np.conj(w2.T) @ h_rk[1:] @ w2
    # column j: E_(p_j r_j) A - B E_(p_j r_j), as (S, N, N) for each j
    cols = np.zeros((k, len(a), n, n), complex)
    j = np.arange(k)
    cols[j, :, pairs[:, 0], :] += a[:, pairs[:, 1], :].transpose(1, 0, 2)
    cols[j, :, :, pairs[:, 1]] -= b[:, :, pairs[:, 0]].transpose(2, 0, 1)
    mat = cols.reshape(k, -1).T
    _, s, vh = np.linalg.svd(mat, full_matrices=False)
    null = np.conj(vh[s <= tol * np.sqrt(len(a) * n)])  # rows: x with mat @ x = 0
    if len(null) == 0:
        return None
    coef = rng.normal(size=len(null)) + 1j * rng.normal(size=len(null))
    x = np.zeros((n, n), complex)
    x[pairs[:, 0], pairs[:, 1]] = coef @ null
    lsv, sv, rsv = np.linalg.svd(x)
    if sv[-1] < 1e-6 * sv[0]:  # singular: no invertible intertwiner
        return None
    return w2 @ (lsv @ rsv) @ np.conj(w1.T)


def _unitary_symmetries(model: Model, ops: np.ndarray, samples: int, atol: float,
                        seed: int) -> np.ndarray:
    """The ops R (G, d, d) for which a constant unitary U maps h(k) to h(S k) and
    dh/dk_j(k) to sum_i S_ij dh/dk_i(S k), S = R^-T (= R for orthogonal R), tested on
    ``samples`` random k and verified on as many fresh ones."""
    d = model.dim
    rng = np.random.default_rng(seed)
    recip = 2 * np.pi * np.linalg.inv(np.asarray(model.lattice_vectors, float)).T
    k = rng.random((2 * samples, d)) @ recip  # (2S, d) 1/nm in the unit cell
    # k -> S k with S = R^-T (= R when orthogonal): (S k).L = k.(R^-1 L) keeps the phases
    # exp(i k.L) a permutation of the lattice vectors L exactly, also for lattice vectors
    # given with few digits, where the exact lattice map R is orthogonal only to ~atol
    smap = np.linalg.inv(ops).transpose(0, 2, 1)
    rk = np.einsum("gij,pj->gpi", smap, k)  # (G, 2S, d)
    h = np.asarray(model.hamiltonian(k))
    hr = np.asarray(model.hamiltonian(rk.reshape(-1, d))).reshape(len(ops), 2 * samples,
                                                                 *h.shape[-2:])
    scale = max(float(np.max(np.abs(np.linalg.eigvalsh(h)))), 1e-300)
    tol = atol * scale
    fit, fresh = slice(0, samples), slice(samples, 2 * samples)
    v = np.asarray(model.velocity(k[fresh]))  # (S, d, N, N)
    vscale = max(float(np.max(np.abs(v))), 1e-300)
    keep = []
    for g in range(len(ops)):
        u = _intertwiner(h[fit], hr[g, fit], tol, rng)
        if u is None:
            continue
        uh = u @ h[fresh] @ np.conj(u.T)
        if np.max(np.abs(uh - hr[g, fresh])) > tol:
            continue
        uv = u @ v @ np.conj(u.T)  # (S, d, N, N): U v_j U^dagger
        vr = np.asarray(model.velocity(rk[g, fresh]))  # v_i(S k)
        if np.max(np.abs(uv - np.einsum("ij,sinm->sjnm", smap[g], vr))) > atol * vscale:
            continue
        keep.append(g)
    return _closed(ops[keep])


def _closed(group: np.ndarray) -> np.ndarray:
    """The largest subset closed under products (drops an accepted op whose product
    with another falls outside the set; a finite closed set with the identity is a
    group, so sym(sigma) is a projector)."""
    group = np.asarray(group, float)
    while True:
        prod = np.einsum("aij,bjk->abik", group, group)  # (G, G, d, d)
        dist = np.abs(prod[:, :, None] - group[None, None]).max(axis=(-2, -1))  # (G, G, G)
        ok = (dist < 1e-6).any(axis=2).all(axis=1)  # every product g h lands in the set
        if ok.all():
            return group
        group = np.delete(group, np.nonzero(~ok)[0][-1], axis=0)


def point_group(model: Model, *, samples: int = 4, atol: float = 1e-8,
                seed: int = 0) -> np.ndarray | None:
    """The crystallographic operations R of the model's lattice that are unitary
    symmetries of the model: a constant unitary U with U h(k) U^dagger = h(R k) for all k
    (module docstring; docs/theory.md §2 for the Bloch conventions).

    model : a lattice model (``lattice_vectors``, e.g. ``TightBinding``); continuum models
        give None (no lattice: their ray rules are not covered by this check)
    samples : random k points for the linear conditions on U, and as many fresh ones
        for the verification of h and dh/dk (>= 2)
    atol : tolerance relative to max |eigenvalue| of h (and max |dh/dk| for the
        velocities) for a symmetry to be accepted
    seed : seed of the random k points (the result is deterministic)

    Returns (G, d, d) Cartesian orthogonal matrices (k' = R k), the identity first, a
    group; cached per model object. Symmetries that need a k-dependent U (orbitals moved
    between cells in the "lattice" convention) and antiunitary ones are not found.
    """
    if getattr(model, "lattice_vectors", None) is None:
        return None
    if not isinstance(samples, (int, np.integer)) or isinstance(samples, bool) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    if not np.isfinite(atol) or atol <= 0:
        raise ValueError(f"atol must be a positive number (relative), got {atol!r}")
    key = (int(samples), float(atol), int(seed))
    try:
        cached = _CACHE.setdefault(model, {})
    except TypeError:  # not weak-referenceable or unhashable: no cache
        cached = {}
    if key not in cached:
        ops = lattice_point_group(model.lattice_vectors)
        group = _unitary_symmetries(model, ops, int(samples), float(atol), int(seed))
        u, _, vh = np.linalg.svd(group)
        cached[key] = u @ vh  # the nearest orthogonal matrices (exact lattices: the same)
    return cached[key].copy()


# --------------------------------------------------------------------------------------
# the forbidden part of a tensor and the check
# --------------------------------------------------------------------------------------


def symmetrize(tensor, group) -> np.ndarray:
    """sym(sigma) = (1/|G|) sum_R R sigma R^T, the part of the rank-2 tensor allowed by
    the group (its orthogonal projection onto the invariant tensors)."""
    t, g = _tensor_and_group(tensor, group)
    return np.einsum("gij,jk,glk->il", g, t, g) / len(g)


def _tensor_and_group(tensor, group):
    t = np.asarray(tensor)
    if t.ndim != 2 or t.shape[0] != t.shape[1]:
        raise ValueError(f"tensor must be a (d, d) array, got shape {t.shape}")
    g = np.asarray(group, float)
    if g.ndim != 3 or g.shape[1:] != t.shape or len(g) == 0:
        raise ValueError(f"group must be a (G, {t.shape[0]}, {t.shape[0]}) array of "
                         f"orthogonal matrices matching the tensor, got shape {g.shape}")
    return t, g


def forbidden_part(tensor, group) -> float:
    """The part of a rank-2 tensor that the point group forbids,

        |sigma - sym(sigma)| / |sigma|,   sym(sigma) = (1/|G|) sum_R R sigma R^T,

    with Frobenius norms (dimensionless, in [0, 1]; 0 for a zero tensor or a group
    None). tensor : (d, d) array (any unit); group : (G, d, d) from :func:`point_group`.
    """
    if group is None:
        return 0.0
    t, _ = _tensor_and_group(tensor, group)
    norm = float(np.linalg.norm(t))
    if norm == 0 or not np.isfinite(norm):
        return 0.0
    return float(np.linalg.norm(t - symmetrize(t, group)) / norm)


def symmetry_message(fraction: float, tol: float, bz_grid: int | None, dim: int, *,
                     brillouin: bool = True) -> str:
    """The :class:`~mesokinetics.validity.ValidityWarning` message of a conductivity
    whose symmetry-forbidden part ``fraction`` exceeds ``tol`` at ``bz_grid`` (None: the
    default of ``dim`` dimensions); ``brillouin`` False: the model brings its own sampler."""
    head = (f"symmetry-forbidden conductivity components are {fraction:.2g} of the tensor "
            f"(|sigma - sym sigma| / |sigma|, tol {tol:g})")
    if not brillouin:
        return (f"the model's own sampler breaks the model's symmetry: {head}; refine the "
                "sampler")
    grid = f"{bz_grid}" if bz_grid is not None else f"{DEFAULT_GRID.get(dim, '?')} (default)"
    refine = " (or bz_refine for the Fermi-sea terms)" if dim == 2 else ""
    return (f"the Brillouin sampling breaks the model's symmetry: {head} at bz_grid = "
            f"{grid}; raise bz_grid{refine}")


def check_conductivity_symmetry(model: Model, tensor, numerics: Numerics | None = None, *,
                                tol: float = SYMMETRY_TOL, recorded: list | None = None,
                                stacklevel: int = 1) -> list[str]:
    """Messages (a list of 0 or 1) when the conductivity breaks the model's symmetry by
    more than ``tol``, warned as :class:`~mesokinetics.validity.ValidityWarning`.

    model : the model solved (lattice models; continuum models return [])
    tensor : the conductivity, a (d, d) array in any unit, or a
        :class:`~mesokinetics.Contributions` (its ``total`` is checked)
    numerics : the :class:`~mesokinetics.Numerics` of the solve (names bz_grid)
    tol : largest accepted |sigma - sym sigma| / |sigma| (:func:`forbidden_part`)
    recorded : a result's ``validity`` list: messages already in it are neither warned
        nor appended again, new ones are appended
    stacklevel : 1 points the warning at the caller of this function
    """
    if not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol must be a positive number (relative), got {tol!r}")
    group = point_group(model)
    if group is None or len(group) < 2:
        return []
    sigma = np.asarray(getattr(tensor, "total", tensor))
    fraction = forbidden_part(sigma, group)
    if not fraction > tol:
        return []
    grid = None if numerics is None else numerics.bz_grid
    messages = [symmetry_message(fraction, tol, grid, model.dim,
                                 brillouin=isinstance(sampler_of(model), BrillouinZone))]
    warn_new_messages(messages, recorded, stacklevel=stacklevel + 1)
    return messages
