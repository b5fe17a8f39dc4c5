"""Observables o(k): spin, currents, orbital angular momentum, or any user matrix.

docs/theory.md §1: o(x) = int_k Tr[rho(x, k) o(k)]. An :class:`Operator` is either a
constant N x N Hermitian matrix or a k-dependent callable (the currents). Units are
carried as a string: spin and orbital moments in hbar, velocities in eV nm / hbar, the
charge current e v in |e| eV nm / hbar (e = -1), spin currents in eV nm (hbar x velocity).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .bands import _matmul, to_eigenbasis_stack
from .models.base import Model, axis_index
# the orbital and spin matrix builders are part of the operators' namespace
# (ops.angular_momentum_matrices, ops.with_spin, ...); they live in models/orbitals.py
from .models.orbitals import (angular_momentum_matrices, canonical_orbital, spin_half_matrices,  # noqa: F401
                              spin_orbit_coupling, with_spin)
from .units import ELECTRON_CHARGE


class Operator:
    """A Hermitian observable, constant or k-dependent.

    Parameters
    ----------
    matrix : constant (N, N) Hermitian matrix, or None
    function : callable k (P, d) -> (P, N, N), or None
    name, unit : labels used in results and files
    eigenbasis : optional fast path bands -> U^dagger o U (see :meth:`in_eigenbasis`)
    key : optional hashable identifying the observable (see :attr:`key`); constant
        matrices get one from their entries
    """

    def __init__(
        self,
        matrix: np.ndarray | None = None,
        function: Callable[[np.ndarray], np.ndarray] | None = None,
        name: str = "operator",
        unit: str = "1",
        eigenbasis: Callable | None = None,
        key=None,
    ) -> None:
        if (matrix is None) == (function is None):
            raise ValueError("give exactly one of matrix or function")
        if matrix is not None:
            matrix = np.asarray(matrix, dtype=complex)
            if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
                raise ValueError(f"operator matrix must be square, got shape {matrix.shape}")
            if not np.allclose(matrix, matrix.conj().T, atol=1e-12 * (1 + np.abs(matrix).max())):
                raise ValueError(f"operator {name!r} is not Hermitian")
        self.matrix = matrix
        self.function = function
        self.name = name
        self.unit = unit
        # optional fast path bands -> U^dagger o U, reusing quantities Bands has cached
        # (the velocity operator in the eigenbasis) instead of re-evaluating o(k)
        self._eigenbasis = eigenbasis
        # (1/2){M, v_b} currents: (M, b), so that in_eigenbasis_many rotates M together
        # with the constant matrices
        self._anticommutator = None
        self._key = key

    @property
    def key(self):
        """A hashable that two operators share exactly when they are the same observable
        (the same constant matrix, or the same factory, model object and axes), or None
        (a user callable: only the object itself). Results cache responses by it, so an
        operator built again (``charge_current(model, 0)`` twice) is not evaluated again."""
        if self._key is None and self.matrix is not None:
            self._key = ("matrix", self.matrix.shape, self.matrix.tobytes())
        return self._key

    def __call__(self, k: np.ndarray) -> np.ndarray:
        """The operator at k (P, d): (P, N, N)."""
        if self.matrix is not None:
            return np.broadcast_to(self.matrix, (len(k),) + self.matrix.shape)
        return np.asarray(self.function(k), dtype=complex)

    def in_eigenbasis(self, bands) -> np.ndarray:
        """U^dagger o(k) U at the points of a :class:`~mesokinetics.bands.Bands`."""
        if self.matrix is not None:
            return bands.to_eigenbasis(self.matrix)
        if self._eigenbasis is not None:
            return self._eigenbasis(bands)
        return bands.to_eigenbasis(self(bands.k))

    def check_size(self, model: Model) -> "Operator":
        if self.matrix is not None and self.matrix.shape[0] != model.size:
            raise ValueError(
                f"operator {self.name!r} is {self.matrix.shape[0]}x{self.matrix.shape[0]}, "
                f"the model has {model.size} states"
            )
        return self

    def __repr__(self) -> str:
        return f"Operator({self.name!r}, unit={self.unit!r})"


def as_operator(op, model: Model) -> Operator:
    """Accept an :class:`Operator`, a constant matrix or a callable k -> (P, N, N)."""
    if isinstance(op, Operator):
        return op.check_size(model)
    if callable(op):
        return Operator(function=op, name=getattr(op, "__name__", "operator"))
    return Operator(matrix=op).check_size(model)


def _hermitian_product(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(1/2){m, v} = (1/2)(m v + (m v)^dagger) for Hermitian m and v: one product."""
    mv = _matmul(m, v)
    return 0.5 * (mv + np.conj(np.swapaxes(mv, -1, -2)))


def in_eigenbasis_many(ops, bands) -> list[np.ndarray]:
    """``[op.in_eigenbasis(bands) for op in ops]`` (each (P, N, N)) with one batched
    rotation for all the constant matrices and the moments M of the currents
    (1/2){M, v_b} (:func:`~mesokinetics.bands.to_eigenbasis_stack`), and the velocities
    from ``bands.velocity_eig``. Same numbers as one operator at a time, to rounding."""
    ops = list(ops)
    if not ops:
        return []
    mats, where = [], {}
    for op in ops:
        m = op.matrix if op.matrix is not None else (
            op._anticommutator[0] if op._anticommutator is not None else None)
        if m is not None:
            key = (m.shape, m.tobytes())
            if key not in where:
                where[key] = len(mats)
                mats.append(m)
    rotated = to_eigenbasis_stack(bands.vectors, np.array(mats)) if mats else None
    out = []
    for op in ops:
        if op.matrix is not None:
            out.append(rotated[where[(op.matrix.shape, op.matrix.tobytes())]])
        elif op._anticommutator is not None:
            m, flow = op._anticommutator
            out.append(_hermitian_product(rotated[where[(m.shape, m.tobytes())]],
                                          bands.velocity_eig[:, flow]))
        else:
            out.append(op.in_eigenbasis(bands))
    return out


def _spin_matrices(model: Model) -> np.ndarray:
    if model.spin_matrices is None:
        raise ValueError(f"{type(model).__name__} has no spin degree of freedom")
    return np.asarray(model.spin_matrices)


def _orbital_matrices(model: Model) -> np.ndarray:
    if model.orbital_matrices is None:
        raise ValueError(f"{type(model).__name__} has no orbital angular momentum")
    return np.asarray(model.orbital_matrices)


def spin(model: Model, axis) -> Operator:
    """Spin s_a = sigma_a / 2 (units of hbar)."""
    a = axis_index(axis, 3, "spin axis")
    return Operator(_spin_matrices(model)[a], name=f"s_{'xyz'[a]}", unit="hbar")


def pauli(model: Model, axis) -> Operator:
    """Pauli spin sigma_a = 2 s_a (dimensionless); the paper's torque is J_e m x <sigma>."""
    a = axis_index(axis, 3, "spin axis")
    return Operator(2 * _spin_matrices(model)[a], name=f"sigma_{'xyz'[a]}", unit="1")


def orbital(model: Model, axis) -> Operator:
    """Orbital angular momentum L_a (units of hbar)."""
    a = axis_index(axis, 3, "orbital axis")
    return Operator(_orbital_matrices(model)[a], name=f"L_{'xyz'[a]}", unit="hbar")


def velocity(model: Model, axis) -> Operator:
    """Velocity operator v_i = dh/dk_i (eV nm / hbar)."""
    i = axis_index(axis, model.dim, "velocity axis")
    return Operator(function=lambda k: model.velocity(k)[..., i, :, :], name=f"v_{'xyz'[i]}",
                    unit="eV nm/hbar", eigenbasis=lambda bands: bands.velocity_eig[:, i],
                    key=("velocity", id(model), i))


def charge_current(model: Model, axis) -> Operator:
    """Charge current e v_i with e = -1 (|e| eV nm / hbar); its density is j_i."""
    i = axis_index(axis, model.dim, "current axis")
    return Operator(
        function=lambda k: ELECTRON_CHARGE * model.velocity(k)[..., i, :, :],
        name=f"j_{'xyz'[i]}",
        unit="|e| eV nm/hbar",
        eigenbasis=lambda bands: ELECTRON_CHARGE * bands.velocity_eig[:, i],
        key=("charge_current", id(model), i),
    )


def _symmetrized_current(model: Model, moment: np.ndarray, flow: int, name: str) -> Operator:
    def current(k):
        v = model.velocity(k)[..., flow, :, :]
        return 0.5 * (moment @ v + v @ moment)

    def current_eig(bands):
        return _hermitian_product(bands.to_eigenbasis(moment), bands.velocity_eig[:, flow])

    moment = np.asarray(moment, dtype=complex)
    op = Operator(function=current, name=name, unit="eV nm", eigenbasis=current_eig,
                  key=("anticommutator", id(model), moment.shape, moment.tobytes(), flow))
    op._anticommutator = (moment, flow)
    return op


def spin_current(model: Model, spin_axis, flow_axis) -> Operator:
    """Spin current (1/2){s_a, v_b} (hbar x eV nm/hbar = eV nm)."""
    a = axis_index(spin_axis, 3, "spin axis")
    b = axis_index(flow_axis, model.dim, "flow axis")
    return _symmetrized_current(model, _spin_matrices(model)[a], b, f"js^{'xyz'[a]}_{'xyz'[b]}")


def orbital_current(model: Model, orbital_axis, flow_axis) -> Operator:
    """Orbital current (1/2){L_a, v_b} (eV nm)."""
    a = axis_index(orbital_axis, 3, "orbital axis")
    b = axis_index(flow_axis, model.dim, "flow axis")
    return _symmetrized_current(
        model, _orbital_matrices(model)[a], b, f"jL^{'xyz'[a]}_{'xyz'[b]}"
    )


# --------------------------------------------------------------------------------------
# Atomic orbital angular momentum, spin tensor products and label-based operators
# (lattice models; new in issue 5)
# --------------------------------------------------------------------------------------


def total_angular_momentum(model: Model, axis) -> Operator:
    """J_a = L_a + S_a (units of hbar); needs orbital and spin matrices on the model."""
    a = axis_index(axis, 3, "angular momentum axis")
    j = _orbital_matrices(model)[a] + _spin_matrices(model)[a]
    return Operator(j, name=f"J_{'xyz'[a]}", unit="hbar")


def current(model: Model, matrix, flow_axis, name: str | None = None, unit: str = "1") -> Operator:
    """Current of any constant Hermitian observable O: (1/2){O, v_b}.

    matrix : (N, N) Hermitian (unit ``unit``); flow_axis : b. Unit of the current:
    (unit) x eV nm / hbar. Spin and orbital currents of lattice models are the special
    cases :func:`spin_current` and :func:`orbital_current`.
    """
    m = Operator(matrix, name=name or "O", unit=unit).check_size(model).matrix
    b = axis_index(flow_axis, model.dim, "flow axis")

    def fn(k):
        v = model.velocity(k)[..., b, :, :]
        return 0.5 * (m @ v + v @ m)

    def fn_eig(bands):
        return _hermitian_product(bands.to_eigenbasis(m), bands.velocity_eig[:, b])

    op = Operator(function=fn, name=name or f"j(O)_{'xyz'[b]}", unit=f"{unit} eV nm/hbar",
                  eigenbasis=fn_eig, key=("anticommutator", id(model), m.shape, m.tobytes(), b))
    op._anticommutator = (m, b)
    return op


def projector(model: Model, site=None, orbital=None, spin=None) -> Operator:
    """Projector on the basis states with the given labels (a lattice model's ``sites``,
    ``orbitals``, ``spins``); its density is the occupation of those states (nm^-d)."""
    finder = getattr(model, "state_index", None)
    if finder is None:
        raise ValueError(f"{type(model).__name__} has no basis labels (site, orbital, spin)")
    idx = finder(site=site, orbital=orbital, spin=spin)
    if len(idx) == 0:
        raise ValueError(f"no basis state has site={site!r}, orbital={orbital!r}, spin={spin!r}")
    p = np.zeros((model.size, model.size), complex)
    p[idx, idx] = 1.0
    label = ",".join(f"{k}={v}" for k, v in (("site", site), ("orbital", orbital), ("spin", spin))
                     if v is not None)
    return Operator(p, name=f"P[{label}]", unit="1")


def local_operator(model: Model, orbital_matrix, orbitals, spin_matrix=None, name: str = "O",
                   unit: str = "1") -> Operator:
    """An on-site operator built by orbital names: ``orbital_matrix`` (n, n) acts on the
    orbitals ``orbitals`` (labels, in the matrix's order) of every site (and spin, or
    together with ``spin_matrix`` (2, 2) on the spin), zero elsewhere."""
    om = np.asarray(orbital_matrix, complex)
    labels = [str(o) for o in orbitals]
    if om.shape != (len(labels), len(labels)):
        raise ValueError(f"orbital_matrix must be ({len(labels)}, {len(labels)}) for the "
                         f"orbitals {labels}, got {om.shape}")
    sites = getattr(model, "sites", None)
    orbs = getattr(model, "orbitals", None)
    spins = getattr(model, "spins", None)
    if orbs is None or any(o is None for o in orbs):
        raise ValueError(f"{type(model).__name__} has no orbital labels")
    want = [canonical_orbital(o) for o in labels]
    have = [canonical_orbital(o) for o in orbs]
    spin_index = {"up": 0, "down": 1, None: None}
    out = np.zeros((model.size, model.size), complex)
    for i in range(model.size):
        for j in range(model.size):
            if sites[i] != sites[j] or have[i] not in want or have[j] not in want:
                continue
            a, b = want.index(have[i]), want.index(have[j])
            si, sj = spin_index[spins[i]], spin_index[spins[j]]
            if spin_matrix is None:
                if si == sj:
                    out[i, j] = om[a, b]
            elif si is not None and sj is not None:
                out[i, j] = om[a, b] * np.asarray(spin_matrix)[si, sj]
    if not np.any(out):
        raise ValueError(f"the model has none of the orbitals {labels}")
    return Operator(out, name=name, unit=unit)
