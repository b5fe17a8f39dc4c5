"""The linear response of a uniform sample: :class:`UniformResponse`.

The density of any observable splits into the contributions of paper Eqs. (1)-(2)
(docs/theory.md §4-5): intraband (Boltzmann), intrinsic (Berry connection, Fermi sea),
gradient (zero in a uniform sample) and disorder (ladder vertex correction). Units:
internal (hbar = 1, eV, nm, e = -1); fields in V/nm; densities in (operator unit) per nm^d.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field

import numpy as np

from ..bands import Bands
from ..coherence import disorder_density, intraband_density, intrinsic_density
from ..disorder import PointDisorder
from ..models.base import Model
from ..numerics import Numerics
from ..operators import Operator, as_operator, charge_current, in_eigenbasis_many
from .nodes import EnergyNode, node_at_mu
from .parts import Contributions, in_conductivity_unit
from .saving import Saving

#: Fermi-sea points diagonalized at once; larger seas are evaluated chunk by chunk so the
#: memory stays bounded (about SEA_CHUNK N^2 d complex numbers) whatever the grid.
SEA_CHUNK = 32768


class _Ticker:
    """Counts steps and reports them as progress(done, total); None: silent."""

    def __init__(self, progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


@dataclass
class UniformResponse(Saving):
    """Result of :func:`~mesokinetics.solve_uniform` (docs/theory.md §4-5, §9). Densities are
    linear in the field.

    ``density(op)`` gives the contributions at the given field; ``response(op)`` per unit
    field along each axis; ``conductivity()`` the tensor sigma_ij = dj_i/dE_j.
    """

    model: Model
    disorder: PointDisorder
    mu: float
    field: np.ndarray
    temperature: float
    numerics: Numerics
    nodes: list
    metadata: dict = dc_field(default_factory=dict)
    #: :class:`~mesokinetics.validity.ValidityWarning` messages of the solve
    validity: list = dc_field(default_factory=list)
    #: responses already evaluated, {operator key: (op, (3, d) parts)} (the key of
    #: :meth:`_cache_key`); the operator is kept so that its id cannot be reused while
    #: the entry lives
    _evaluated: dict = dc_field(default_factory=dict, repr=False, compare=False)
    _current_ops: list = dc_field(default_factory=list, repr=False, compare=False)

    def __post_init__(self):
        d = self.model.dim
        self.metadata.update(
            {
                "units": {
                    "energy": "eV", "length": "nm", "k": "1/nm", "field": "V/nm",
                    "density": f"(operator unit) nm^-{d}", "time": "hbar/eV = 0.6582 fs",
                    "temperature": "K", "gamma": f"eV^2 nm^{d}", "charge": "e = -1",
                },
                "mu": self.mu, "field": self.field.tolist(), "temperature": self.temperature,
                "gamma": self.disorder.gamma,
            }
        )

    @property
    def shell(self):
        """The Fermi shell (T = 0) or the shell at mu (T > 0), or None if empty."""
        node = node_at_mu(self.nodes, self.mu)
        return None if node is None else node.solution.shell

    def response(self, op) -> Contributions:
        """Contributions per unit field along each axis: (d,) arrays, unit per (V/nm)."""
        return self.responses([op])[0]

    def responses(self, ops, progress=None) -> list[Contributions]:
        """:meth:`response` of several operators in one pass: each Fermi-sea chunk is
        diagonalized once for all of them (and for the charge currents of
        :meth:`conductivity`). Results are kept on this object, keyed by
        :attr:`~mesokinetics.operators.Operator.key`, so asking again for the same
        observable (the same operator object, or one built again by the same factory)
        costs nothing.

        progress : optional callback progress(done, total) over the Fermi-sea chunks
            (and shells) of the pass; not called when everything is cached
        """
        ops = [as_operator(op, self.model) for op in ops]
        todo = {}
        for op in ops + self._currents():
            key = self._cache_key(op)
            if key not in self._evaluated:
                todo.setdefault(key, op)
        if todo:
            keys, todo_ops = list(todo), list(todo.values())
            steps = [self._node_steps(node) for node in self.nodes]
            tick = _Ticker(progress, sum(steps))
            parts = np.zeros((len(todo_ops), 3, self.model.dim))
            for node in self.nodes:
                parts += node.weight * self._node_responses(node, todo_ops, tick)
            for key, op, p in zip(keys, todo_ops, parts):
                self._evaluated[key] = (op, p)
        d = self.model.dim
        out = []
        for op in ops:
            p = self._evaluated[self._cache_key(op)][1]
            out.append(Contributions(p[0], p[1], np.zeros(d), p[2], f"{op.unit} nm^-{d} per V/nm"))
        return out

    @staticmethod
    def _cache_key(op: Operator):
        """The operator's structural key, else its identity (the entry keeps the object
        alive, so the id cannot be reused while it is cached)."""
        key = op.key
        return ("id", id(op)) if key is None else key

    def _currents(self) -> list[Operator]:
        """The charge-current operators of :meth:`conductivity`, made once."""
        if not self._current_ops:
            self._current_ops.extend(charge_current(self.model, i) for i in range(self.model.dim))
        return self._current_ops

    @staticmethod
    def _node_steps(node: EnergyNode) -> int:
        """Progress steps of one node: its Fermi-sea chunks and its shell."""
        return -(-len(node.sea.weight) // SEA_CHUNK) + (node.solution is not None)

    def _node_responses(self, node: EnergyNode, ops: list[Operator], tick=None) -> np.ndarray:
        """(n_ops, 3, d): intraband, intrinsic and disorder parts of one energy node.

        One diagonalization per Fermi-sea chunk for all operators; in each chunk the
        velocities (all axes) and the constant matrices of every operator (and the
        moments of the spin and orbital currents) are rotated to the eigenbasis by
        batched products (:func:`~mesokinetics.operators.in_eigenbasis_many`). ``tick()``
        is called after each chunk and after the shell.
        """
        d = self.model.dim
        out = np.zeros((len(ops), 3, d))
        npts = len(node.sea.weight)

        def sea_part(bands, weight):
            for i, op_eig in enumerate(in_eigenbasis_many(ops, bands)):
                out[i, 1] += intrinsic_density(bands, weight, node.energy, op_eig)
            if tick is not None:
                tick()

        if npts <= SEA_CHUNK:  # small seas keep their eigenvectors for further operators
            if node.sea_bands is None and npts:
                node.sea_bands = Bands(self.model, node.sea.k)
            if node.sea_bands is not None:
                sea_part(node.sea_bands, node.sea.weight)
        else:  # large seas (lattice models, fine grids): bounded memory, chunk by chunk
            for start in range(0, npts, SEA_CHUNK):
                part = slice(start, start + SEA_CHUNK)
                sea_part(Bands(self.model, node.sea.k[part]), node.sea.weight[part])
        sol = node.solution
        if sol is not None:
            blocks = {"blocks": sol.blocks, "block_rho": sol.block_rho}
            for i, op_eig in enumerate(in_eigenbasis_many(ops, sol.shell.bands)):
                out[i, 0] = intraband_density(sol.shell, sol.g, op_eig, **blocks)
                out[i, 2] = disorder_density(sol.shell, sol.g, sol.moment, sol.dos,
                                             self.disorder.gamma, op_eig, **blocks)
            if tick is not None:
                tick()
        return out

    def density(self, op) -> Contributions:
        """Contributions to the density of ``op`` at the given field (floats).

        Unit: operator unit per nm^d (e.g. hbar nm^-2 for spin in 2D).
        """
        r = self.response(op)
        unit = r.unit.replace(" per V/nm", "")
        return r._map(lambda x: float(np.dot(x, self.field)), unit)

    def conductivity(self, unit: str = "e2/h") -> Contributions:
        """Conductivity tensor sigma_ij = dj_i/dE_j, (d, d) arrays per contribution.

        unit : 'e2/h' (conductance quanta times nm^(2-d)), 'internal' (e^2/hbar nm^(2-d)),
        'SI' (S m^(2-d)), 'S/cm' (3D, the unit of Wannier90 and WannierBerri) or 'S' (2D
        sheet conductance); see :func:`mesokinetics.units.conductivity_in`.
        """
        d = self.model.dim
        rows = self.responses(self._currents())
        tensor = Contributions(*(np.array([getattr(r, p) for r in rows]) for p in
                           ("intraband", "intrinsic", "gradient", "disorder")), unit="")
        return in_conductivity_unit(tensor, unit, d)
