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
from .. import operators as _ops
from ..coherence import disorder_density, intraband_density, intrinsic_densities
from ..disorder import PointDisorder
from ..models.base import Model
from ..numerics import Numerics
from ..operators import Operator, as_operator, charge_current, in_eigenbasis_many
from ..parallel import map_chunks, validate_scheduler
from ..sampling import RayMemo, sampler_of
from .nodes import EnergyNode, node_at_mu
from .parts import Contributions, in_conductivity_unit
from .saving import Saving
from ..convergence import Estimated
from ..symmetry import check_conductivity_symmetry

#: Fermi-sea points diagonalized at once; larger seas are evaluated chunk by chunk so the
#: memory stays bounded (about SEA_CHUNK N^2 d complex numbers) whatever the grid. The
#: chunks are also the tasks a ``scheduler`` distributes (:mod:`mesokinetics.parallel`).
SEA_CHUNK = 32768


class LevelCache:
    """Work shared between the solves of one adaptive solve (the start and the coarser
    levels of :func:`mesokinetics.convergence.converge`) that does not depend on the axis
    being coarsened, kept for exactly one solve of one model (create one per solve
    call; dropped with it).

    - ``rays``: a :class:`~mesokinetics.sampling.RayMemo` of the model: band energies on
      ray grids and shell crossings, keyed by their complete inputs (rays, radii, energy,
      ``scan_points``), shared by the energy nodes of a thermal window and by the levels
      that keep the rays (radial_order, energy_points sharing scan grids, cells);
    - the bulk solutions of finite samples (:func:`~mesokinetics.response.drivers.bulk_reference`),
      keyed by every argument they depend on (the model and disorder objects, mu, the
      field's bytes, temperature, energy_points, the whole :class:`Numerics` and the
      grazing axis): the levels of the slab cells (and of a cross-section's mesh) keep
      the bulk's numerics, so they get the start's bulk, the same object (its shells,
      solutions and Fermi-sea responses already evaluated).

    - the Fermi seas of lattice models (:meth:`sea_node`), keyed by the energy and the
      sea's numerics: the ``bz_contour_points`` levels keep the start's sea.

    The bulk entries are results the solve keeps anyway (``convergence.levels``); the ray
    memo is bounded (``max_bytes``)."""

    def __init__(self, model: Model, max_bytes: int | None = None) -> None:
        self.model = model
        self.rays = RayMemo(model) if max_bytes is None else RayMemo(model, max_bytes)
        self._bulk: dict = {}
        self._seas: dict = {}
        self._held: tuple = ()

    def sea_node(self, model: Model, energy: float, numerics: Numerics):
        """(key, the first :class:`EnergyNode` built on the same Fermi sea, or None) for
        a lattice model's node at ``energy`` (eV): a level that keeps the sea's numerics
        (the 2D ``bz_contour_points`` levels, the slab cells) gets that node's Sea
        object and its eigenvectors (``sea_bands``, once evaluated) instead of building
        and diagonalizing the sea again (:meth:`BrillouinZone.sea_key`: the sea's
        complete numerical inputs). Key None: not shared (continuum models, whose seas
        change with every axis; another model than the cache's; 1D lattices)."""
        sampler = sampler_of(model)
        sea_key = getattr(sampler, "sea_key", None)
        if model is not self.model or sea_key is None:
            return None, None
        part = sea_key(model, numerics)
        if part is None:
            return None, None
        key = (np.float64(energy).tobytes(),) + part
        return key, self._seas.get(key)

    def keep_sea_node(self, key, node) -> None:
        """Keep ``node`` (an :class:`EnergyNode`) as the first built on its sea (key None:
        not kept)."""
        if key is not None and key not in self._seas:
            self._seas[key] = node

    def memo_for(self, model: Model) -> RayMemo | None:
        """The ray memo when ``model`` is this cache's model (the object), else None."""
        return self.rays if model is self.model else None

    def bulk_key(self, model, disorder, mu, field, temperature, energy_points, num,
                 grazing_axis):
        """The key of a bulk solution: every input of ``_uniform``, None (no reuse) for
        another model than the cache's. The disorder is kept alive with the cache, so
        its id is not reused while an entry lives."""
        if model is not self.model:
            return None
        if not any(d is disorder for d in self._held):
            self._held += (disorder,)
        f = np.asarray(field, float)
        return (id(disorder), np.float64(mu).tobytes(), f.shape, f.tobytes(),
                np.float64(temperature).tobytes(), int(energy_points), num, grazing_axis)

    def bulk(self, key):
        """The (bulk, mean free path) of ``key``, or None."""
        return None if key is None else self._bulk.get(key)

    def keep_bulk(self, key, value) -> None:
        """Keep ``value`` = (bulk, mean free path in nm) for ``key`` (None: not kept)."""
        if key is not None:
            self._bulk[key] = value


class _Ticker:
    """Counts steps and reports them as progress(done, total); None: silent."""

    def __init__(self, progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def sea_densities(bands: Bands, weight: np.ndarray, mu: float, operators) -> np.ndarray:
    """Intrinsic (Fermi-sea) densities (n_ops, d) of diagonalized sea points: the
    operators rotated to the eigenbasis together
    (:func:`~mesokinetics.operators.in_eigenbasis_many`), their traces evaluated together
    (:func:`~mesokinetics.coherence.intrinsic_densities`). Operator unit nm^-d per V/nm."""
    return intrinsic_densities(bands, weight, mu, in_eigenbasis_many(operators, bands))


def fermi_sea_chunk(model: Model, operators, mu: float, k: np.ndarray,
                    weight: np.ndarray) -> np.ndarray:
    """The Fermi-sea chunk task: intrinsic densities (n_ops, d) of the sea points ``k``
    (P, d) in 1/nm with weights ``weight`` (P,) in nm^-d at the T = 0 Fermi level ``mu``
    (eV); operator unit nm^-d per V/nm.

    One diagonalization for all operators. A module-level pure function of picklable
    arguments, so :func:`mesokinetics.parallel.map_chunks` can run it in another thread,
    process or Dask worker (model and operators first: the arguments every chunk shares);
    ``operators`` are Operators or their :func:`portable_operators` descriptions (which
    the standard pickle can send)."""
    return sea_densities(Bands(model, k), weight, mu, _operators_from(operators, model))


def portable_operators(operators, model: Model) -> tuple:
    """Picklable descriptions of operators of ``model`` for :func:`fermi_sea_chunk` in
    another process: the charge currents and velocities of the package hold lambdas,
    which the standard pickle cannot send, so they travel as their factory and axis and
    are built again on the worker's copy of the model (the same numbers: the same code on
    the same arrays). Constant matrices and the currents (1/2){M, v_b} travel as their
    matrices; any other operator (a user callable) as itself, which needs cloudpickle (Dask
    has it; a process pool does not)."""
    out = []
    for op in operators:
        key = op.key
        if op.matrix is not None:
            out.append(("matrix", op.matrix, op.name, op.unit))
        elif op._anticommutator is not None:
            m, flow = op._anticommutator
            out.append(("current", m, flow, op.name))
        elif (isinstance(key, tuple) and len(key) == 3 and key[0] in ("charge_current", "velocity")
              and key[1] == id(model)):
            out.append((key[0], key[2]))
        else:
            out.append(("operator", op))
    return tuple(out)


def _operators_from(operators, model: Model) -> list[Operator]:
    """Operators from :func:`portable_operators` descriptions (Operators pass through)."""
    out = []
    for item in operators:
        if isinstance(item, Operator):
            out.append(item)
        elif item[0] == "matrix":
            out.append(Operator(item[1], name=item[2], unit=item[3]))
        elif item[0] == "current":
            out.append(_ops.current(model, item[1], item[2], name=item[3]))
        elif item[0] in ("charge_current", "velocity"):
            out.append(getattr(_ops, item[0])(model, item[1]))
        else:
            out.append(item[1])
    return out


@dataclass
class UniformResponse(Estimated, Saving):
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
    #: where the Fermi-sea chunks of :meth:`responses` run (:mod:`mesokinetics.parallel`):
    #: None (serial, in this process), a Dask scheduler address, a ``distributed.Client``
    #: or a ``concurrent.futures.Executor``; the numbers equal the serial ones. Not
    #: pickled unless it is an address (a client or pool belongs to this process).
    scheduler: object = dc_field(default=None, repr=False, compare=False)
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
        """Contributions per unit field along each axis: (d,) arrays, unit per (V/nm),
        with the error estimate of the total (``.error``) when solved with a ``tol``."""
        return self._estimated(self.responses([op])[0], lambda r: r.responses([op])[0])

    def responses(self, ops, progress=None, *, scheduler=None) -> list[Contributions]:
        """:meth:`response` of several operators in one pass: each Fermi-sea chunk is
        diagonalized once for all of them (and for the charge currents of
        :meth:`conductivity`). Results are kept on this object, keyed by
        :attr:`~mesokinetics.operators.Operator.key`, so asking again for the same
        observable (the same operator object, or one built again by the same factory)
        costs nothing.

        progress : optional callback progress(done, total) over the Fermi-sea chunks
            (and shells) of the pass; not called when everything is cached
        scheduler : where the Fermi-sea chunks run, overriding :attr:`scheduler` for this
            pass (None: the attribute's; see :mod:`mesokinetics.parallel`). The chunks of
            all energy nodes are independent tasks; their results are summed in the order
            of the serial loop, so the numbers equal the serial ones.
        """
        ops = [as_operator(op, self.model) for op in ops]
        scheduler = validate_scheduler(self.scheduler if scheduler is None else scheduler)
        todo = {}
        for op in ops + self._currents():
            key = self._cache_key(op)
            if key not in self._evaluated:
                todo.setdefault(key, op)
        if todo:
            keys, todo_ops = list(todo), list(todo.values())
            steps = [self._node_steps(node) for node in self.nodes]
            tick = _Ticker(progress, sum(steps))
            seas = self._sea_responses(todo_ops, tick, scheduler)
            parts = np.zeros((len(todo_ops), 3, self.model.dim))
            for node, sea in zip(self.nodes, seas):
                parts += node.weight * self._node_responses(node, todo_ops, tick, sea)
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

    def __getstate__(self) -> dict:
        """Pickled without a client or pool in :attr:`scheduler` (they belong to this
        process; an address is kept): the result can travel to a worker or a file.

        The responses already evaluated travel too, with their operators as
        :func:`portable_operators` descriptions (the package's currents hold lambdas,
        which the standard pickle cannot send; their keys hold ``id(model)``, which is
        another number after unpickling): :meth:`__setstate__` builds the operators again
        on the unpickled model and keys them as new operators of that model are keyed.
        Responses of user operators (a callable, or an operator of another model object)
        are left out and evaluated again on demand, to the same numbers. The charge
        currents of :meth:`conductivity` are made again on first use."""
        state = self.__dict__.copy()
        if not (state.get("scheduler") is None or isinstance(state["scheduler"], str)):
            state["scheduler"] = None
        portable = []
        for op, parts in state.get("_evaluated", {}).values():
            desc = portable_operators([op], self.model)[0]
            if desc[0] != "operator":
                portable.append((desc, parts))
        state["_evaluated"] = portable
        state["_current_ops"] = []
        return state

    def __setstate__(self, state: dict) -> None:
        """The state of :meth:`__getstate__`; the evaluated responses keyed again."""
        evaluated = state.pop("_evaluated", [])
        self.__dict__.update(state)
        self._evaluated = {}
        if isinstance(evaluated, dict):  # a state pickled before portable responses
            evaluated = [(portable_operators([op], self.model)[0], parts)
                         for op, parts in evaluated.values()]
            evaluated = [e for e in evaluated if e[0][0] != "operator"]
        for desc, parts in evaluated:
            op = _operators_from([desc], self.model)[0]
            self._evaluated[self._cache_key(op)] = (op, parts)

    def _sea_responses(self, ops: list[Operator], tick, scheduler) -> list:
        """Intrinsic (Fermi-sea) parts (n_ops, d) of every energy node, one per node.

        A sea of at most SEA_CHUNK points is one chunk, larger seas are cut into chunks of
        SEA_CHUNK (bounded memory); each chunk is diagonalized once for all operators
        (:func:`~mesokinetics.topology.fermi_sea_chunk`). Serially, small seas keep their
        eigenvectors on the node (``sea_bands``) for further operators; with a
        ``scheduler`` the chunks of all nodes are tasks of one
        :func:`~mesokinetics.parallel.map_chunks` (a node's cached eigenvectors are used
        here, not sent), and each node's chunks are summed in their order, as serially.
        ``tick()`` is called after each chunk.
        """
        d = self.model.dim
        sums = [np.zeros((len(ops), d)) for _ in self.nodes]
        tasks, owner = [], []
        for j, node in enumerate(self.nodes):
            npts = len(node.sea.weight)
            if npts == 0:
                continue
            if npts <= SEA_CHUNK and (scheduler is None or node.sea_bands is not None):
                if node.sea_bands is None:  # small seas keep their eigenvectors
                    node.sea_bands = Bands(self.model, node.sea.k)
                sums[j] += sea_densities(node.sea_bands, node.sea.weight, node.energy, ops)
                tick()
                continue
            for start in range(0, npts, SEA_CHUNK):
                part = slice(start, start + SEA_CHUNK)
                tasks.append((node.energy, node.sea.k[part], node.sea.weight[part]))
                owner.append(j)
        if tasks:
            results = map_chunks(fermi_sea_chunk, tasks,
                                 shared=(self.model, portable_operators(ops, self.model)),
                                 scheduler=scheduler, progress=lambda done, total: tick())
            for j, part in zip(owner, results):  # each node's chunks in their order
                sums[j] += part
        return sums

    def _node_responses(self, node: EnergyNode, ops: list[Operator], tick,
                        sea: np.ndarray) -> np.ndarray:
        """(n_ops, 3, d): intraband, intrinsic and disorder parts of one energy node.

        ``sea`` : the node's intrinsic parts (n_ops, d) from :meth:`_sea_responses`. On
        the shell, the velocities (all axes) and the constant matrices of every operator
        (and the moments of the spin and orbital currents) are rotated to the eigenbasis
        by batched products (:func:`~mesokinetics.operators.in_eigenbasis_many`).
        ``tick()`` is called after the shell.
        """
        d = self.model.dim
        out = np.zeros((len(ops), 3, d))
        out[:, 1] = sea
        sol = node.solution
        if sol is not None:
            blocks = {"blocks": sol.blocks, "block_rho": sol.block_rho}
            for i, op_eig in enumerate(in_eigenbasis_many(ops, sol.shell.bands)):
                out[i, 0] = intraband_density(sol.shell, sol.g, op_eig, **blocks)
                out[i, 2] = disorder_density(sol.shell, sol.g, sol.moment, sol.dos,
                                             self.disorder.gamma, op_eig, **blocks)
            tick()
        return out

    def density(self, op) -> Contributions:
        """Contributions to the density of ``op`` at the given field (floats).

        Unit: operator unit per nm^d (e.g. hbar nm^-2 for spin in 2D).
        """
        r = self.responses([op])[0]
        unit = r.unit.replace(" per V/nm", "")
        return self._estimated(r._map(lambda x: float(np.dot(x, self.field)), unit),
                               lambda res: res.density(op))

    def conductivity(self, unit: str = "e2/h") -> Contributions:
        """Conductivity tensor sigma_ij = dj_i/dE_j, (d, d) arrays per contribution.

        unit : 'e2/h' (conductance quanta times nm^(2-d)), 'internal' (e^2/hbar nm^(2-d)),
        'SI' (S m^(2-d)), 'S/cm' (3D, the unit of Wannier90 and WannierBerri) or 'S' (2D
        sheet conductance); see :func:`mesokinetics.units.conductivity_in`.
        """
        tensor = self._estimated(self._conductivity_tensor(),
                                 lambda res: res._conductivity_tensor())
        # the Brillouin sampling may break the model's point group (hexagonal, bcc, fcc
        # grids): ValidityWarning above tol, recorded once (docs/accuracy.md)
        tol = {} if self.convergence is None else {"tol": self.convergence.tol}
        check_conductivity_symmetry(self.model, tensor, self.numerics, recorded=self.validity,
                                    stacklevel=2, **tol)
        return in_conductivity_unit(tensor, unit, self.model.dim)

    def _conductivity_tensor(self) -> Contributions:
        """The conductivity tensor in internal units (e^2/hbar nm^(2-d)), no checks."""
        rows = self.responses(self._currents())
        return Contributions(*(np.array([getattr(r, p) for r in rows]) for p in
                               ("intraband", "intrinsic", "gradient", "disorder")), unit="")
