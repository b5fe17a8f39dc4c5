"""Lattice (tight-binding) models: hoppings H(R) on a Bravais lattice.

Units: lattice vectors and orbital positions in nm, hopping matrices in eV, k in 1/nm,
velocities dh/dk in eV nm (hbar = 1).

Bloch Hamiltonian (Wannier90 convention, ``convention="lattice"``):

    h(k) = sum_R exp(i k.R) H(R) / deg(R),     dh/dk_i = sum_R i R_i exp(i k.R) H(R) / deg(R)

with R = sum_j n_j a_j and deg(R) the Wigner-Seitz degeneracy weights of Wannier90 (1 for
models built here). H(R)_ab = <a, 0|H|b, R>. With orbital positions tau_a and
``convention="atomic"`` the phase includes the intracell positions,

    h_ab(k) = sum_R exp(i k.(R + tau_b - tau_a)) H(R)_ab / deg(R) = [U^dagger h_lattice U]_ab,

U = diag(exp(i k.tau_a)). Both conventions have the same bands; the "atomic" one makes
dh/dk the velocity i[H, r] of the tight-binding approximation (diagonal position operator),
which changes interband Berry connections of non-Bravais lattices (Haldane, Kane-Mele) and
hence Fermi-sea responses of metals (not Chern numbers). The convention is stored in
``model.convention``.

Basis labels: every state may carry a site, an orbital ('s', 'px', 'py', 'pz', 'dxy',
'dyz', 'dzx', 'dx2-y2', 'dz2') and a spin ('up', 'down') label. Spin matrices s = sigma/2 and
orbital angular momentum matrices L (real-orbital basis) are built from these labels.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..units import mass_to_internal
from .base import PAULI, Model, unit_vector
from .orbitals import ORBITALS, canonical_orbital, orbital_l, real_orbital_angular_momentum

def _as_lattice(lattice_vectors, name="lattice_vectors") -> np.ndarray:
    a = np.asarray(lattice_vectors, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] not in (1, 2, 3):
        raise ValueError(
            f"{name} must be a (d, d) array of d lattice vectors (rows, nm) with d = 1, 2 or 3, "
            f"got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (nm)")
    if abs(np.linalg.det(a)) < 1e-12 * max(1.0, np.abs(a).max()) ** a.shape[0]:
        raise ValueError(f"{name} are linearly dependent (zero cell volume): {a.tolist()}")
    return a


class TightBinding(Model):
    """A tight-binding model h(k) = sum_R exp(i k.R) H(R) / deg(R) on a Bravais lattice.

    Parameters
    ----------
    lattice_vectors : (d, d) primitive vectors a_j as rows, in nm (d = 1, 2, 3)
    hoppings : mapping {R: H(R)} with R a tuple of d integers (units of a_j) and H(R) an
        (N, N) matrix in eV, H(R)_ab = <a, 0|H|b, R>; or a pair (R array (M, d) of ints,
        H array (M, N, N)). H(-R) must equal H(R)^dagger (scaled by the degeneracies); a
        deviation up to ``hermiticity_tol`` (eV) is allowed and symmetrized in h(k), so
        files written with few digits are accepted.
    degeneracies : (M,) positive integers deg(R) (Wannier90 weights), default 1
    positions : optional (N, d) orbital positions in nm (Cartesian)
    convention : 'lattice' (phase exp(i k.R), Wannier90; default without positions) or
        'atomic' (phase exp(i k.(R + tau_b - tau_a)); default with positions)
    basis : optional labels of the N states
    sites, orbitals, spins : optional per-state labels (sequences of length N). ``spins``
        entries 'up'/'down' (or None) build ``spin_matrices`` s = sigma/2 between states with
        equal site and orbital; ``orbitals`` entries s/p/d real orbitals build
        ``orbital_matrices`` L within each (site, spin, l shell).
    hermiticity_tol : eV, largest accepted |H(-R)/deg(-R) - H(R)^dagger/deg(R)|
    momentum_scale : a typical Fermi momentum (1/nm); default 1/(smallest |a_j|)
    """

    def __init__(
        self,
        lattice_vectors,
        hoppings,
        degeneracies=None,
        positions=None,
        convention: str | None = None,
        basis: Sequence[str] | None = None,
        sites: Sequence | None = None,
        orbitals: Sequence | None = None,
        spins: Sequence | None = None,
        hermiticity_tol: float = 1e-6,
        momentum_scale: float | None = None,
    ) -> None:
        a = _as_lattice(lattice_vectors)
        self.dim = a.shape[0]
        self.lattice_vectors = a
        rvecs, mats = self._parse_hoppings(hoppings)
        self.size = mats.shape[-1]
        if degeneracies is None:
            deg = np.ones(len(rvecs), dtype=int)
        else:
            deg = np.asarray(degeneracies)
            if deg.shape != (len(rvecs),) or not np.all(np.isfinite(deg)) or np.any(deg < 1) \
                    or np.any(deg != np.round(deg)):
                raise ValueError(
                    f"degeneracies must be {len(rvecs)} positive integers (one per R), got {deg!r}"
                )
            deg = deg.astype(int)
        self.R = rvecs
        self.H = mats
        self.degeneracy = deg
        if not np.isfinite(hermiticity_tol) or hermiticity_tol < 0:
            raise ValueError(f"hermiticity_tol must be >= 0 (eV), got {hermiticity_tol!r}")
        self._check_hermitian_pairs(hermiticity_tol)
        if positions is not None:
            pos = np.asarray(positions, dtype=float)
            if pos.shape != (self.size, self.dim) or not np.all(np.isfinite(pos)):
                raise ValueError(
                    f"positions must be finite, of shape ({self.size}, {self.dim}) (nm), "
                    f"got shape {pos.shape}"
                )
            self.positions = pos
        else:
            self.positions = None
        if convention is None:
            convention = "lattice" if self.positions is None else "atomic"
        if convention not in ("lattice", "atomic"):
            raise ValueError(f"convention must be 'lattice' or 'atomic', got {convention!r}")
        if convention == "atomic" and self.positions is None:
            raise ValueError("convention 'atomic' needs orbital positions (nm)")
        self.convention = convention
        self.basis = tuple(basis) if basis is not None else tuple(f"w{i + 1}" for i in range(self.size))
        if len(self.basis) != self.size:
            raise ValueError(f"basis has {len(self.basis)} labels for {self.size} states")
        self.sites = self._labels("sites", sites, default=0)
        self.orbitals = self._labels("orbitals", orbitals, default=None)
        self.spins = self._labels("spins", spins, default=None)
        self.spin_matrices = self._build_spin()
        self.orbital_matrices = self._build_orbital()
        if momentum_scale is None:
            momentum_scale = 1.0 / np.min(np.linalg.norm(a, axis=1))
        if not np.isfinite(momentum_scale) or momentum_scale <= 0:
            raise ValueError(f"momentum_scale must be > 0 (1/nm), got {momentum_scale!r}")
        self.momentum_scale = float(momentum_scale)
        self._cart = self.R @ self.lattice_vectors  # (M, d) nm
        self._prepare_fourier()

    # --- construction helpers -------------------------------------------------------
    def _parse_hoppings(self, hoppings):
        d = self.dim
        if isinstance(hoppings, Mapping):
            if not hoppings:
                raise ValueError("hoppings is empty: give at least the on-site term H(R = 0)")
            keys, mats = [], []
            for key, value in hoppings.items():
                r = np.atleast_1d(np.asarray(key))
                if r.shape != (d,) or np.any(r != np.round(r)):
                    raise ValueError(
                        f"hopping key {key!r} must be a tuple of {d} integers (units of the "
                        "lattice vectors)"
                    )
                keys.append(r.astype(int))
                mats.append(np.asarray(value, dtype=complex))
            rvecs = np.array(keys, dtype=int)
            try:
                mats = np.array(mats, dtype=complex)
            except ValueError as exc:
                raise ValueError("hopping matrices must all have the same shape (N, N)") from exc
        else:
            try:
                rvecs, mats = hoppings
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    "hoppings must be a mapping {R: H(R)} or a pair (R (M, d), H (M, N, N))"
                ) from exc
            rvecs = np.asarray(rvecs)
            mats = np.asarray(mats, dtype=complex)
            if rvecs.ndim != 2 or rvecs.shape[1] != d or np.any(rvecs != np.round(rvecs)):
                raise ValueError(f"R must be an (M, {d}) integer array, got shape {rvecs.shape}")
            rvecs = rvecs.astype(int)
        if mats.ndim != 3 or mats.shape[1] != mats.shape[2] or mats.shape[0] != len(rvecs):
            raise ValueError(
                f"hopping matrices must have shape (M, N, N) with M = {len(rvecs)} R vectors, "
                f"got {mats.shape}"
            )
        if not np.all(np.isfinite(mats)):
            raise ValueError("hopping matrices contain NaN or infinite entries (eV)")
        if len({tuple(r) for r in rvecs}) != len(rvecs):
            raise ValueError("hoppings contain a repeated R vector")
        return rvecs, mats

    def _check_hermitian_pairs(self, tol: float) -> None:
        lookup = {tuple(r): i for i, r in enumerate(self.R)}
        scaled = self.H / self.degeneracy[:, None, None]
        for i, r in enumerate(self.R):
            j = lookup.get(tuple(-r))
            partner = np.zeros_like(scaled[i]) if j is None else scaled[j]
            dev = np.max(np.abs(partner - np.conj(scaled[i].T)))
            if not dev <= tol:
                where = "is missing" if j is None else f"differs by {dev:.3g} eV"
                raise ValueError(
                    f"hoppings are not Hermitian: H(-R) must equal H(R)^dagger, but for "
                    f"R = {tuple(int(x) for x in r)} the partner R = {tuple(int(-x) for x in r)} "
                    f"{where} (hermiticity_tol = {tol} eV)"
                )

    def _labels(self, name, values, default):
        if values is None:
            return tuple([default] * self.size)
        values = tuple(values)
        if len(values) != self.size:
            raise ValueError(f"{name} has {len(values)} labels for {self.size} states")
        return values

    def _build_spin(self):
        if all(s is None for s in self.spins):
            return None
        bad = [s for s in self.spins if s not in ("up", "down")]
        if bad:
            raise ValueError(f"spins must be 'up' or 'down' for every state, got {bad[0]!r}")
        s = np.zeros((3, self.size, self.size), complex)
        pairs: dict = {}
        for i, (site, orb, sp) in enumerate(zip(self.sites, self.orbitals, self.spins)):
            pairs.setdefault((site, orb), {}).setdefault(sp, []).append(i)
        for key, group in pairs.items():
            if sorted(group) != ["down", "up"] or len(group["up"]) != 1 or len(group["down"]) != 1:
                raise ValueError(
                    f"state (site, orbital) = {key} needs exactly one 'up' and one 'down' state "
                    "to build spin matrices"
                )
            idx = [group["up"][0], group["down"][0]]
            for a in range(3):
                s[a][np.ix_(idx, idx)] = PAULI[a] / 2
        return s

    def _build_orbital(self):
        if any(o is None or orbital_l(o) is None for o in self.orbitals):
            return None
        out = np.zeros((3, self.size, self.size), complex)
        groups: dict = {}
        for i, (site, orb, sp) in enumerate(zip(self.sites, self.orbitals, self.spins)):
            groups.setdefault((site, sp, orbital_l(orb)), []).append(i)
        for (site, sp, l), idx in groups.items():
            if l == 0:
                continue
            names = [canonical_orbital(self.orbitals[i]) for i in idx]
            if sorted(names) != sorted(ORBITALS[l]):
                # an incomplete shell (e.g. px, py only): L is not closed on it
                return None
            lmat = real_orbital_angular_momentum(names)
            for a in range(3):
                out[a][np.ix_(idx, idx)] = lmat[a]
        return out

    # --- the Model interface -----------------------------------------------------------
    @property
    def reciprocal_vectors(self) -> np.ndarray:
        """(d, d) reciprocal vectors b_i as rows (1/nm), a_i . b_j = 2 pi delta_ij."""
        return 2 * np.pi * np.linalg.inv(self.lattice_vectors).T

    @property
    def cell_volume(self) -> float:
        """Unit-cell volume (nm^d): length, area or volume."""
        return float(abs(np.linalg.det(self.lattice_vectors)))

    def _prepare_fourier(self) -> None:
        """Fold the hoppings into one half of the R vectors for the batched Fourier sums.

        With F(R) = H(R)/deg(R), the symmetrized Bloch Hamiltonian
        (sum_R e^{ik.R} F(R) + h.c.)/2 equals A + A^dagger with
        A = sum_{R in S} e^{ik.R} G(R), S = {0} and one R of each pair {R, -R}, and
        G(R) = (F(R) + F(-R)^dagger)/2 (G(0) = (F(0) + F(0)^dagger)/4); the velocity is
        B_i + B_i^dagger with B_i = sum_{R in S} i R_i e^{ik.R} G(R). Half the R vectors,
        and h and dh/dk from the same phases in one matrix product: the columns of
        ``_fourier_hv`` are [G | i R_1 G | ... | i R_d G] flattened ((S, (1 + d) N^2), eV
        and eV nm). The result is Hermitian by construction and equals the per-R sum to
        rounding (tests/test_speed_equivalence.py).
        """
        n = self.size
        scaled = self.H / self.degeneracy[:, None, None]
        index = {tuple(r): i for i, r in enumerate(self.R)}
        half_r, half_g = [], []
        for i, r in enumerate(self.R):
            key, neg = tuple(r), tuple(-r)
            if not any(key):
                half_r.append(r)
                half_g.append((scaled[i] + scaled[i].conj().T) / 4)
                continue
            j = index.get(neg)
            # each pair {R, -R} once: the lexicographically positive member, or R itself
            # when its partner is missing (allowed up to hermiticity_tol)
            if j is not None and key < neg:
                continue
            partner = np.zeros((n, n), complex) if j is None else scaled[j].conj().T
            half_r.append(r)
            half_g.append((scaled[i] + partner) / 2)
        rs = np.array(half_r, dtype=int).reshape(-1, self.dim)
        gs = np.array(half_g, dtype=complex).reshape(len(rs), n * n)
        cart = rs @ self.lattice_vectors  # (S, d) nm
        self._half_R = rs
        self._half_cart = cart
        blocks = [gs] + [1j * cart[:, i, None] * gs for i in range(self.dim)]
        self._fourier_hv = np.ascontiguousarray(np.concatenate(blocks, axis=1))
        if self.convention == "atomic":
            # U^dagger (v_lattice + i (tau_b - tau_a) h_lattice) U: the intracell term
            # folds into the coefficients, i (R + tau_b - tau_a) G(R) (tau_b - tau_a is
            # antisymmetric, so the Hermitian part is still B + B^dagger)
            dtau = (self.positions.T[:, None, :] - self.positions.T[:, :, None]).reshape(self.dim, -1)
            self._fourier_v_atomic = np.ascontiguousarray(np.concatenate(
                [1j * (cart[:, i, None] + dtau[i][None, :]) * gs for i in range(self.dim)], axis=1))
        # phases as products of per-axis factors e^{i n_j (k.a_j)}: one complex
        # exponential per axis and integer n_j instead of one per R vector, when that is
        # fewer (bcc Fe: 48 R against 4 + 6 + 6 factors; not for nearest neighbours only)
        self._n_min = rs.min(axis=0)
        self._n_span = rs.max(axis=0) - self._n_min + 1
        self._factorized = int(self._n_span.sum()) < len(rs)

    def _half_phases(self, flat) -> np.ndarray:
        """e^{i k.R} for the R of the folded half set, (P, S), from per-axis tables."""
        if not self._factorized:
            return np.exp(1j * (flat @ self._half_cart.T))
        kf = flat @ self.lattice_vectors.T  # (P, d): k.a_j
        out = None
        for j in range(self.dim):
            m = np.arange(self._n_span[j]) + self._n_min[j]
            table = np.exp(1j * kf[:, j, None] * m[None, :])  # (P, span_j)
            factor = table[:, self._half_R[:, j] - self._n_min[j]]
            out = factor if out is None else out * factor
        return out

    def _fourier(self, flat, blocks: slice, cols=None) -> np.ndarray:
        """Hermitian parts of the batched Fourier sums: (P, n_blocks, N, N); block 0 is
        h_lattice(k) (eV), block 1 + i is dh/dk_i (eV nm), both 'lattice' convention
        (or the given coefficient columns, (S, n_blocks N^2))."""
        n2 = self.size * self.size
        if cols is None:
            cols = self._fourier_hv[:, blocks.start * n2:blocks.stop * n2]
        a = (self._half_phases(flat) @ cols).reshape(len(flat), blocks.stop - blocks.start,
                                                     self.size, self.size)
        return a + np.conj(np.swapaxes(a, -1, -2))

    def hamiltonian_lattice(self, k):
        """h(k) in the 'lattice' convention (periodic in k), (..., N, N) eV."""
        k = self.check_k(k)
        flat = k.reshape(-1, self.dim)
        h = self._fourier(flat, slice(0, 1))[:, 0]
        return h.reshape(k.shape[:-1] + (self.size, self.size))

    def _atomic_phase(self, flat):
        return np.exp(1j * (flat @ self.positions.T))  # (P, N): U = diag(exp(i k.tau))

    def hamiltonian(self, k):
        k = self.check_k(k)
        h = self.hamiltonian_lattice(k).reshape(-1, self.size, self.size)
        if self.convention == "atomic":
            u = self._atomic_phase(k.reshape(-1, self.dim))
            h = np.conj(u)[:, :, None] * h * u[:, None, :]
        return h.reshape(k.shape[:-1] + (self.size, self.size))

    def velocity(self, k):
        """dh/dk_i, (..., d, N, N) eV nm, from one batched Fourier sum over R."""
        k = self.check_k(k)
        flat = k.reshape(-1, self.dim)
        n, d = self.size, self.dim
        if self.convention == "lattice":
            out = self._fourier(flat, slice(1, 1 + d))
        else:  # sum_R i (R + tau_b - tau_a) e^{ik.R} H(R)_ab, then U^dagger (.) U
            out = self._fourier(flat, slice(0, d), self._fourier_v_atomic)
            u = self._atomic_phase(flat)
            out *= (np.conj(u)[:, :, None] * u[:, None, :])[:, None]
        return out.reshape(k.shape[:-1] + (d, n, n))

    def hopping(self, r) -> np.ndarray:
        """H(R)/deg(R) for R a tuple of d integers (eV); zeros if absent."""
        r = tuple(int(x) for x in np.atleast_1d(r))
        for i, rr in enumerate(self.R):
            if tuple(rr) == r:
                return self.H[i] / self.degeneracy[i]
        return np.zeros((self.size, self.size), complex)

    def state_index(self, site=None, orbital=None, spin=None) -> np.ndarray:
        """Indices of the basis states matching every given label (site, orbital, spin)."""
        keep = np.ones(self.size, bool)
        for labels, want in ((self.sites, site), (self.orbitals, orbital), (self.spins, spin)):
            if want is not None:
                if labels is self.orbitals:
                    want = canonical_orbital(want)
                    labels = [None if o is None else canonical_orbital(o) for o in labels]
                keep &= np.array([lab == want for lab in labels])
        return np.nonzero(keep)[0]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dim={self.dim}, size={self.size}, "
                f"R vectors={len(self.R)}, convention={self.convention!r})")


# ---------------------------------------------------------------------------------------
# Built-in lattice models
# ---------------------------------------------------------------------------------------


def _finite(name, value, unit):
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number ({unit}), got {value}")
    return value


def _positive(name, value, unit):
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number ({unit}), got {value}")
    return value


def _symmetric(hops: dict) -> dict:
    """Add H(-R) = H(R)^dagger for every R != 0 given once."""
    out = {}
    for r, m in hops.items():
        m = np.asarray(m, complex)
        out[r] = out.get(r, 0) + m
        if any(r):
            neg = tuple(-x for x in r)
            out[neg] = out.get(neg, 0) + m.conj().T
    return out


def QiWuZhang(hopping: float = 1.0, mass: float = 1.0, lattice_constant: float = 1.0) -> TightBinding:
    """Qi-Wu-Zhang Chern insulator on a square lattice (two orbitals, 'a' and 'b'):

        h(k) = t [sin(k_x a) s_x + sin(k_y a) s_y + (u + cos k_x a + cos k_y a) s_z]

    with Pauli matrices s (an orbital pseudospin, not a spin). Phases: |u| > 2 trivial
    (C = 0), 0 < u < 2 and -2 < u < 0 have Chern numbers of opposite sign (see
    docs/lattice.md for the sign in this package's conventions).

    Parameters
    ----------
    hopping : t in eV (> 0)
    mass : u, dimensionless (mass term u t in eV)
    lattice_constant : a in nm
    """
    t = _positive("hopping", hopping, "eV")
    u = _finite("mass", mass, "dimensionless, in units of the hopping")
    a = _positive("lattice_constant", lattice_constant, "nm")
    sx, sy, sz = PAULI
    # e^{ik} (s_z - i s_x)/2 + h.c. = cos k s_z + sin k s_x
    hops = _symmetric({(1, 0): t * (sz - 1j * sx) / 2, (0, 1): t * (sz - 1j * sy) / 2})
    hops[(0, 0)] = u * t * sz
    model = TightBinding(np.eye(2) * a, hops, basis=("a", "b"))
    model.parameters = {"hopping": t, "mass": u, "lattice_constant": a}
    return model


def Haldane(
    nn_hopping: float = 1.0,
    nnn_hopping: float = 0.1,
    phase: float = np.pi / 2,
    mass: float = 0.0,
    bond_length: float = 0.142,
    convention: str = "atomic",
) -> TightBinding:
    """Haldane model on the honeycomb lattice (sites A, B; spinless).

        h(k) = sum_j t1 [cos(k.d_j) s_x - sin(k.d_j) s_y]-type nearest-neighbour hopping
             + 2 t2 cos(phi) sum_i cos(k.b_i) + [M - 2 t2 sin(phi) sum_i sin(k.b_i)] s_z

    Lattice vectors a1 = d (3/2, sqrt3/2), a2 = d (3/2, -sqrt3/2) (d the bond length), A at
    the origin and B at (d, 0); the second-neighbour vectors b_1 = a1 - a2, b_2 = a2,
    b_3 = -a1 carry exp(+i phi) on A and exp(-i phi) on B. Chern insulator for
    |M| < 3 sqrt3 |t2 sin phi|, trivial for |M| > 3 sqrt3 |t2 sin phi|.

    Parameters
    ----------
    nn_hopping : t1 (eV); nnn_hopping : t2 (eV); phase : phi (rad); mass : M (eV)
    bond_length : d (nm), 0.142 nm as in graphene
    convention : 'atomic' (phases with the site positions, default) or 'lattice'
    """
    t1 = _finite("nn_hopping", nn_hopping, "eV")
    t2 = _finite("nnn_hopping", nnn_hopping, "eV")
    phi = _finite("phase", phase, "rad")
    m = _finite("mass", mass, "eV")
    d = _positive("bond_length", bond_length, "nm")
    a1 = d * np.array([1.5, np.sqrt(3) / 2])
    a2 = d * np.array([1.5, -np.sqrt(3) / 2])
    hops: dict = {(0, 0): np.diag([m, -m]).astype(complex)}

    def add(r, mat):
        hops[r] = hops.get(r, np.zeros((2, 2), complex)) + mat

    # nearest neighbours: A(0) -> B in cells 0, -a1, -a2 (H_AB(R) = t1)
    for r in [(0, 0), (-1, 0), (0, -1)]:
        mat = np.zeros((2, 2), complex)
        mat[0, 1] = t1
        add(r, mat)
        add(tuple(-x for x in r), mat.conj().T)
    # second neighbours along b1 = a1 - a2, b2 = a2, b3 = -a1 and their opposites
    for r in [(1, -1), (0, 1), (-1, 0)]:
        mat = np.diag([t2 * np.exp(1j * phi), t2 * np.exp(-1j * phi)])
        add(r, mat)
        add(tuple(-x for x in r), mat.conj().T)
    positions = np.array([[0.0, 0.0], [d, 0.0]])
    model = TightBinding(np.array([a1, a2]), hops, positions=positions, convention=convention,
                         basis=("A", "B"), sites=("A", "B"))
    model.parameters = {"nn_hopping": t1, "nnn_hopping": t2, "phase": phi, "mass": m,
                        "bond_length": d}
    return model


def POrbital(
    sigma_hopping: float = 1.0,
    pi_hopping: float = -0.3,
    crystal_field: float = 0.0,
    orbital_rashba: float = 0.0,
    spin_orbit: float = 0.0,
    lattice_constant: float = 0.3,
    spin: bool = True,
    exchange: float = 0.0,
    magnetization=(0.0, 0.0, 1.0),
) -> TightBinding:
    """Square lattice of p orbitals (px, py, pz) with orbital texture, as used for the
    intrinsic orbital and spin Hall effects (Go et al., PRL 121, 086602 (2018); Bhowal and
    Vignale): Slater-Koster nearest-neighbour hopping, sigma bonds along the bond and pi
    bonds across it,

        bond along x: <px|H|px> = t_sigma, <py|H|py> = <pz|H|pz> = t_pi (same along y, x<->y)

    a crystal field Delta on pz, an inversion-breaking "orbital Rashba" hopping between pz and
    the in-plane orbital along the bond, <pz, 0|H|px, +x> = -<pz, 0|H|px, -x> = gamma (and
    x -> y), which gives h_zx(k) = 2 i gamma sin(k_x a), and, with ``spin=True``, the atomic
    spin-orbit coupling lambda L.S plus an exchange J m.sigma.

    Basis: (px, py, pz) or (px up, px down, py up, ...) with spin. Orbital matrices L
    (real-orbital basis, (L_a)_bc = -i eps_abc) and spin matrices are attached.

    Parameters
    ----------
    sigma_hopping : t_sigma (eV); pi_hopping : t_pi (eV); crystal_field : Delta (eV) on pz
    orbital_rashba : gamma (eV); spin_orbit : lambda (eV) in lambda L.S (S = sigma/2)
    lattice_constant : a (nm); spin : include spin (6 states) or not (3 states)
    exchange : J (eV) in J m.sigma (spin only); magnetization : direction m (3-vector)
    """
    ts = _finite("sigma_hopping", sigma_hopping, "eV")
    tp = _finite("pi_hopping", pi_hopping, "eV")
    cf = _finite("crystal_field", crystal_field, "eV")
    gam = _finite("orbital_rashba", orbital_rashba, "eV")
    lam = _finite("spin_orbit", spin_orbit, "eV")
    jex = _finite("exchange", exchange, "eV")
    a = _positive("lattice_constant", lattice_constant, "nm")
    mvec = unit_vector("magnetization", magnetization)
    if not spin and (lam != 0 or jex != 0):
        raise ValueError("spin_orbit and exchange need spin=True")
    onsite = np.diag([0.0, 0.0, cf]).astype(complex)
    hx = np.diag([ts, tp, tp]).astype(complex)
    hy = np.diag([tp, ts, tp]).astype(complex)
    hx[2, 0], hx[0, 2] = gam, -gam  # <pz|H|px,+x> = gamma, <px|H|pz,+x> = -gamma
    hy[2, 1], hy[1, 2] = gam, -gam
    lmat = real_orbital_angular_momentum(("px", "py", "pz"))
    orbitals = ("px", "py", "pz")
    if spin:
        eye2 = np.eye(2)
        onsite = np.kron(onsite, eye2) + lam * sum(np.kron(lmat[i], PAULI[i] / 2) for i in range(3))
        onsite = onsite + jex * np.kron(np.eye(3), np.einsum("i,ijk->jk", mvec, PAULI))
        hx, hy = np.kron(hx, eye2), np.kron(hy, eye2)
        basis = tuple(f"{o} {s}" for o in orbitals for s in ("up", "down"))
        labels = dict(orbitals=tuple(o for o in orbitals for _ in range(2)),
                      spins=("up", "down") * 3)
    else:
        basis = orbitals
        labels = dict(orbitals=orbitals)
    hops = _symmetric({(1, 0): hx, (0, 1): hy})
    hops[(0, 0)] = onsite
    model = TightBinding(np.eye(2) * a, hops, basis=basis, **labels)
    model.parameters = {"sigma_hopping": ts, "pi_hopping": tp, "crystal_field": cf,
                        "orbital_rashba": gam, "spin_orbit": lam, "lattice_constant": a,
                        "exchange": jex}
    return model


def RashbaLattice(
    mass: float = 1.0,
    alpha: float = 0.0,
    exchange: float = 0.0,
    magnetization=(0.0, 0.0, 1.0),
    lattice_constant: float = 0.1,
) -> TightBinding:
    """Square-lattice Rashba ferromagnet whose low-filling limit is the continuum
    :class:`~mesokinetics.models.RashbaFerromagnet` (paper Eq. 11, beta = 0):

        h(k) = 2t [2 - cos k_x a - cos k_y a] + (alpha/a) [sin(k_y a) s_x - sin(k_x a) s_y]
               + J_e m.sigma,    t = hbar^2 / (2 m a^2)

    so h = k^2/2m + alpha (s_x k_y - s_y k_x) + J_e m.sigma + O(k^4 a^2, alpha k^3 a^2).
    Relative lattice corrections to Fermi-surface quantities are O((k_F a)^2) (about
    (k_F a)^2 / 12 for the dispersion).

    Parameters
    ----------
    mass : m in units of m_e; alpha : eV nm; exchange : J_e (eV); magnetization : m
    lattice_constant : a (nm)
    """
    m = mass_to_internal(_positive("mass", mass, "units of m_e"))
    al = _finite("alpha", alpha, "eV nm")
    jex = _finite("exchange", exchange, "eV")
    a = _positive("lattice_constant", lattice_constant, "nm")
    mvec = unit_vector("magnetization", magnetization)
    t = 1.0 / (2 * m * a * a)
    sx, sy, sz = PAULI
    eye = np.eye(2, dtype=complex)
    # sin(k a) = (e^{ika} - e^{-ika}) / 2i: H(+x) contains -(alpha/a)(-s_y)/(2i) etc.
    hx = -t * eye + (al / a) * (-sy) / (2j)
    hy = -t * eye + (al / a) * sx / (2j)
    hops = _symmetric({(1, 0): hx, (0, 1): hy})
    hops[(0, 0)] = 4 * t * eye + jex * np.einsum("i,ijk->jk", mvec, PAULI)
    model = TightBinding(np.eye(2) * a, hops, basis=("up", "down"), spins=("up", "down"),
                         momentum_scale=max(m * abs(al), np.sqrt(2 * m * max(abs(jex), 0.1))))
    model.parameters = {"mass": float(mass), "alpha": al, "exchange": jex,
                        "lattice_constant": a, "hopping": t}
    model.m = m
    model.alpha = al
    model.exchange = jex
    model.magnetization = mvec
    return model
