"""Fermi-level scans: the uniform response at many chemical potentials in one pass.

:func:`scan_fermi_level` gives, for every mu of a scan, the numbers of
:func:`~mesokinetics.solve_uniform` (docs/theory.md §4-5, §9) at a fraction of the cost of
a loop of solves:

* **Fermi sea (intrinsic term, §5.1).** Each mu keeps its own sea rule, node for node the
  rule ``solve_uniform`` uses (the adaptive Brillouin-zone sea refines the cells crossed
  by *its* Fermi surface and splits them along it, so a rule refined for one mu is not
  refined for another; a shared rule would change the numbers). What the scan shares is
  the work: the rules of all mus are built with one energy cache
  (:meth:`~mesokinetics.sampling.BrillouinZone.seas`: grid vertices, centres and
  refinement corners diagonalized once), and their nodes are pooled and deduplicated, so
  a k point used by several mus (the Gauss-Legendre nodes of the unrefined cells between
  the Fermi surfaces) is diagonalized once. At each distinct node the eigenbasis gives,
  for every operator o, field axis i and number n of occupied eigenstates, the block sum

      S_i(n) = -e sum_{a < n <= b} [Im(v^i_ab o_ba) - Im(v^i_ba o_ab)] / (e_a - e_b)^2,

  and the intrinsic density at mu is sum_q w_q(mu) S_i(n_q(mu)), n_q(mu) = #{a: e_a(k_q) <
  mu} (eigenvalues ascending): the same sum over occupied-empty pairs as
  :func:`~mesokinetics.coherence.intrinsic_density`, evaluated for every mu from one
  diagonalization. Continuum models (rays from k = 0) have mu-dependent nodes (cut at the
  Fermi radii), so there the pooling saves little.
* **Fermi surface (intraband Boltzmann and disorder vertex terms, §4, §5.3).** One shell
  per mu, solved by :func:`~mesokinetics.boltzmann.uniform.solve_shell` as in
  ``solve_uniform``.
* **Disorder.** gamma (eV^2 nm^d) is held fixed across the scan: a sample has a fixed
  impurity strength, so tau and the mean free path change with mu through the density of
  states (1/tau = 2 pi gamma D(mu) for one band). ``PointDisorder.from_tau(model, mu0,
  ...)`` fixes gamma at one reference mu0.
* **Finite temperature (§9).** At fixed h(k) and fixed gamma every contribution at
  temperature T is the thermal average of T = 0 responses,
  R_T(mu) = int deps (-df/deps)(eps - mu) R_0(eps): the Fermi-sea term because
  f(eps_n) = int deps (-df/deps) theta(eps - eps_n), the Fermi-surface terms because
  elastic scattering keeps energy shells apart (each shell is solved at T = 0). The scan
  evaluates R_0 on the given mus (plus padding points beyond both ends, spaced
  h exp(x / 4 k_B T) at a distance x, out to :data:`TAIL_KT` k_B T, where the neglected weight of -df/deps is
  2 exp(-TAIL_KT) = 4e-10) and integrates -df/deps exactly against the piecewise-linear
  interpolant of R_0. The interpolation error is (h^2/8) |R_0''| at most for a grid
  spacing h; the mus must be spaced by at most k_B T / :data:`POINTS_PER_KT`, so that
  the thermal window holds several points and structure of R_0 on the scale k_B T is
  resolved. Measured against ``solve_uniform(temperature=T)`` (24 thermal nodes): see
  docs/validation.md (Fermi-level scans).

Units: energies and mu in eV, fields in V/nm, temperatures in K; densities in (operator
unit) nm^-d, responses per V/nm.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Callable

import numpy as np

from ..bands import Bands
from ..boltzmann.uniform import solve_shell
from ..disorder import PointDisorder
from ..models.base import Model
from ..numerics import Numerics, resolve_numerics
from ..operators import Operator, as_operator, charge_current
from ..parallel import map_chunks, validate_scheduler
from ..preflight import check_resources
from ..sampling import BrillouinZone, Sea, sample, sampler_of
from ..sampling.brillouin import bz_options, fractional_grid, lattice_geometry
from ..quadrature import KB_EV_K
from ..units import ELECTRON_CHARGE
from ..validation import validate_inputs
from ..validity import check_nodes
from .nodes import EnergyNode
from .parts import Contributions, in_conductivity_unit
from .uniform import UniformResponse, _operators_from, portable_operators

Progress = Callable[[int, int], None]

#: thermal padding: the T = 0 scan extends TAIL_KT k_B T beyond both ends of the mus, so
#: the weight of -df/deps left out, 2 / (1 + exp(TAIL_KT)), is 4e-10
TAIL_KT = 22.0
#: finite temperature needs mus spaced by at most k_B T / POINTS_PER_KT
POINTS_PER_KT = 2.0
#: the padding spacing beyond the ends grows as exp(x / (PAD_SCALE_KT k_B T)) with the
#: distance x from the end (the tails of -df/deps need few points)
PAD_SCALE_KT = 4.0


def _validate_mus(mus) -> np.ndarray:
    """mus: a non-empty 1D array of finite, strictly increasing energies (eV)."""
    try:
        arr = np.asarray(mus, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"mus must be a 1D array of energies in eV, got {mus!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"mus must be a 1D array of chemical potentials (eV), got shape "
                         f"{arr.shape}")
    if arr.size == 0:
        raise ValueError("mus is empty: give at least one chemical potential (eV)")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"mus must be finite energies (eV); non-finite entries at indices "
                         f"{np.nonzero(~np.isfinite(arr))[0].tolist()}")
    if np.any(np.diff(arr) <= 0):
        bad = int(np.nonzero(np.diff(arr) <= 0)[0][0])
        raise ValueError(f"mus must be strictly increasing (eV); mus[{bad}] = {arr[bad]} >= "
                         f"mus[{bad + 1}] = {arr[bad + 1]}")
    return arr


def _thermal_grid(mus: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """The T = 0 energies (eV) of a scan at ``temperature`` (K) and the (n_mu, n_energy)
    weights W with R_T(mu_i) = sum_j W_ij R_0(eps_j) (docs/theory.md §9)."""
    if temperature == 0:
        return mus.copy(), np.eye(len(mus))
    kt = KB_EV_K * temperature
    hmax = kt / POINTS_PER_KT
    if len(mus) > 1 and np.max(np.diff(mus)) > hmax * (1 + 1e-12):
        j = int(np.argmax(np.diff(mus)))
        raise ValueError(
            f"mus are too coarse for temperature = {temperature} K: spacing "
            f"{mus[j + 1] - mus[j]:.4g} eV between mus[{j}] and mus[{j + 1}], but a thermal scan "
            f"needs at most k_B T / {POINTS_PER_KT:g} = {hmax:.4g} eV (the -df/deps window is "
            "convolved with the piecewise-linear T = 0 scan); use more mus or scan at T = 0")
    h0 = hmax  # the padding needs no finer spacing than the bound

    def pad(sign):
        # spacing h0 exp(x / 4kT) at distance x: the interpolation error, -f' h^2 R'' ~
        # exp(-x/2kT) h0^2 R'', stays below that of the scan itself, in ~8 points per side
        out, dist = [], 0.0
        while dist < TAIL_KT * kt:
            dist += h0 * np.exp(dist / (PAD_SCALE_KT * kt))
            out.append(sign * dist)
        return np.array(out)

    energies = np.concatenate([mus[0] + pad(-1)[::-1], mus, mus[-1] + pad(1)])
    # exact integrals of -df/deps against the hat functions of the energy grid:
    # int_a^b (-f') = f(a) - f(b);  int_a^b (-f') (eps - a) = -(b - a) f(b) + F(b) - F(a),
    # F(eps) = -kT ln(1 + exp(-(eps - mu)/kT)) the antiderivative of f
    x = (energies[None, :] - mus[:, None]) / kt
    f = 0.5 * (1 - np.tanh(x / 2))  # 1/(1 + e^x) without overflow
    F = -kt * np.logaddexp(0.0, -x)
    h = np.diff(energies)[None, :]
    i0 = f[:, :-1] - f[:, 1:]
    i1 = -h * f[:, 1:] + (F[:, 1:] - F[:, :-1])
    weights = np.zeros_like(x)
    weights[:, 1:] += i1 / h
    weights[:, :-1] += i0 - i1 / h
    return energies, weights


def scan_fermi_level(
    model: Model,
    disorder: PointDisorder,
    mus,
    field,
    *,
    temperature: float = 0.0,
    sea_grid: int | None = None,
    progress: Progress | None = None,
    numerics: Numerics | None = None,
    scheduler=None,
    **options,
) -> "FermiLevelScan":
    """Uniform linear response at many chemical potentials in one pass (docs/theory.md
    §4-5, §9): for every mu the numbers of :func:`~mesokinetics.solve_uniform`, with the
    Fermi-sea work shared between the mus (module docstring: how, and why each mu keeps
    its own sea rule).

    Parameters
    ----------
    model : the Hamiltonian h(k)
    disorder : :class:`PointDisorder`; its gamma (eV^2 nm^d) is held fixed over the scan
        (a fixed impurity strength: tau changes with mu through the density of states)
    mus : chemical potentials (eV), a non-empty 1D array, finite and strictly increasing
    field : electric field (V/nm), d components
    temperature : kelvin. At T > 0 the result at each mu is the -df/deps average of the
        T = 0 scan, exact at fixed h(k) and gamma (§9); the mus must then be spaced by at
        most k_B T / 2 (0.0129 eV at 300 K), else ValueError. The T = 0 scan is padded
        beyond both ends (about 8-10 energies per side, out to 22 k_B T).
    sea_grid : None (default): every mu keeps the adaptive sea rule of ``solve_uniform``
        (the same numbers; the work the rules share is done once). An integer (lattice
        models): one uniform rule for all mus instead, sea_grid^d cells with
        ``bz_cell_points``^d Gauss-Legendre nodes each, T = 0 occupations [e_a < mu] at the
        nodes: one diagonalization for the whole scan, but the occupation step is not
        placed inside a cell, so it converges more slowly than the adaptive rule (measured:
        docs/validation.md, Fermi-level scans); compare two values of sea_grid.
    progress : optional callback progress(done, total) over the energies of the T = 0 scan
    numerics : a :class:`~mesokinetics.Numerics`, or give its fields as keyword options
    scheduler : where the Fermi-sea chunks of ``responses`` run (:mod:`mesokinetics.parallel`):
        None (serial, in this process), a Dask scheduler address ('tcp://host:8786'), a
        ``distributed.Client`` or a ``concurrent.futures.Executor``; the chunks are summed
        in their order, so the numbers equal the serial ones (kept as ``result.scheduler``)

    Returns a :class:`FermiLevelScan` (``.mu``, ``.density(op)``, ``.response(op)``,
    ``.conductivity(unit)``: arrays over mu).
    """
    mus = _validate_mus(mus)
    _, field, temperature = validate_inputs(model, disorder, mus[0], field, temperature)
    scheduler = validate_scheduler(scheduler)
    num = resolve_numerics(numerics, options)
    check_resources(model, num)
    energies, weights = _thermal_grid(mus, temperature)
    sampler = sampler_of(model)
    if sea_grid is not None:
        if isinstance(sea_grid, bool) or not isinstance(sea_grid, (int, np.integer)) or sea_grid < 2:
            raise ValueError(f"sea_grid must be None or an integer >= 2 (cells per reciprocal "
                             f"vector), got {sea_grid!r}")
        if not isinstance(sampler, BrillouinZone) or model.dim == 1:
            raise ValueError("sea_grid needs a 2D or 3D lattice model (lattice_vectors, "
                             "Brillouin-zone sampling); continuum and 1D models use their "
                             "adaptive seas (sea_grid=None)")
        bz_options(num, model.dim)  # validates bz_cell_points
    # the Brillouin-zone seas of all energies share one energy cache; with a uniform
    # sea_grid the per-energy rules are not needed at all
    if sea_grid is not None:
        seas = [Sea(float(e), np.zeros((0, model.dim)), np.zeros(0)) for e in energies]
    elif isinstance(sampler, BrillouinZone):
        seas = sampler.seas(model, energies, num)
    else:
        seas = None
    nodes = []
    for j, energy in enumerate(energies):
        if seas is not None:
            shell, sea = sampler.shell(model, float(energy), num), seas[j]
        else:
            shell, sea = sample(model, float(energy), num)
        solution = None if shell.empty else solve_shell(shell, disorder)
        nodes.append(EnergyNode(1.0, float(energy), solution, sea))
        if progress is not None:
            progress(j + 1, len(energies))
    result = FermiLevelScan(model, disorder, mus, field, temperature, num, energies, weights,
                            nodes, sea_grid=None if sea_grid is None else int(sea_grid),
                            scheduler=scheduler)
    result.validity = check_nodes(nodes, continuum=sampler is None, stacklevel=2)
    return result


@dataclass
class FermiLevelScan:
    """Result of :func:`scan_fermi_level`: the uniform response (docs/theory.md §4-5) at
    every chemical potential of a scan.

    mu : (n,) chemical potentials (eV); energies : the T = 0 scan behind them (eV; the mus
    at T = 0, padded beyond both ends at T > 0); weights : (n, n_energies) thermal weights,
    R(mu_i) = sum_j weights_ij R_0(energies_j) (the identity at T = 0); nodes : one
    :class:`~mesokinetics.response.EnergyNode` (Boltzmann solution and sea rule) per energy.

    ``response(op)`` gives the contributions per unit field, (n, d) arrays (unit per V/nm);
    ``density(op)`` at the given field, (n,) arrays; ``conductivity(unit)`` (n, d, d).
    """

    model: Model
    disorder: PointDisorder
    mu: np.ndarray
    field: np.ndarray
    temperature: float
    numerics: Numerics
    energies: np.ndarray
    weights: np.ndarray
    nodes: list
    #: None (each energy's adaptive sea), or the cells per axis of the shared uniform sea
    sea_grid: int | None = None
    #: :class:`~mesokinetics.validity.ValidityWarning` messages of the scan
    validity: list = dc_field(default_factory=list)
    #: where the Fermi-sea chunks of :meth:`responses` run (:mod:`mesokinetics.parallel`),
    #: None: serially in this process. Not pickled unless it is an address.
    scheduler: object = dc_field(default=None, repr=False, compare=False)
    _evaluated: dict = dc_field(default_factory=dict, repr=False, compare=False)
    _current_ops: list = dc_field(default_factory=list, repr=False, compare=False)
    _pool: tuple | None = dc_field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.mu)

    @property
    def metadata(self) -> dict:
        d = self.model.dim
        return {"units": {"mu": "eV", "field": "V/nm", "temperature": "K",
                          "density": f"(operator unit) nm^-{d}", "gamma": f"eV^2 nm^{d}"},
                "mu": self.mu.tolist(), "field": self.field.tolist(),
                "temperature": self.temperature, "gamma": self.disorder.gamma}

    def response(self, op) -> Contributions:
        """Contributions per unit field along each axis: (n, d) arrays, unit per (V/nm)."""
        return self.responses([op])[0]

    def responses(self, ops, progress: Progress | None = None, *,
                  scheduler=None) -> list[Contributions]:
        """:meth:`response` of several operators in one pass over the pooled Fermi-sea
        nodes (each diagonalized once for all operators and all mus); results are kept, so
        asking again for the same operator object costs nothing.

        progress : optional callback progress(done, total) over the Fermi-sea chunks
        scheduler : where the chunks run, overriding :attr:`scheduler` for this pass
            (None: the attribute's; :mod:`mesokinetics.parallel`)
        """
        ops = [as_operator(op, self.model) for op in ops]
        scheduler = validate_scheduler(self.scheduler if scheduler is None else scheduler)
        todo = [op for op in ops + self._currents() if id(op) not in self._evaluated]
        todo = list({id(op): op for op in todo}.values())
        if todo:
            parts = np.zeros((len(self.energies), len(todo), 3, self.model.dim))
            parts[:, :, 1] = self._sea_parts(todo, progress, scheduler)
            for j, node in enumerate(self.nodes):
                parts[j, :, 0], parts[j, :, 2] = self._shell_parts(node, todo)
            parts = np.einsum("ij,jopd->iopd", self.weights, parts)
            for i, op in enumerate(todo):
                self._evaluated[id(op)] = (op, parts[:, i])
        d = self.model.dim
        out = []
        for op in ops:
            p = self._evaluated[id(op)][1]
            out.append(Contributions(p[:, 0], p[:, 1], np.zeros_like(p[:, 0]), p[:, 2],
                                     f"{op.unit} nm^-{d} per V/nm"))
        return out

    def density(self, op) -> Contributions:
        """Contributions to the density of ``op`` at the given field, (n,) arrays over mu
        (operator unit per nm^d)."""
        r = self.response(op)
        return r._map(lambda x: x @ self.field, r.unit.replace(" per V/nm", ""))

    def conductivity(self, unit: str = "e2/h") -> Contributions:
        """Conductivity tensors sigma_ij(mu) = dj_i/dE_j, (n, d, d) arrays per
        contribution; units as :meth:`UniformResponse.conductivity
        <mesokinetics.response.UniformResponse.conductivity>` ('e2/h', 'internal', 'SI',
        'S/cm' in 3D, 'S' in 2D)."""
        d = self.model.dim
        rows = self.responses(self._currents())
        tensor = Contributions(*(np.stack([getattr(r, p) for r in rows], axis=1) for p in
                                 ("intraband", "intrinsic", "gradient", "disorder")), unit="")
        return in_conductivity_unit(tensor, unit, d)

    # --- evaluation ---------------------------------------------------------------------

    def _currents(self) -> list[Operator]:
        if not self._current_ops:
            self._current_ops.extend(charge_current(self.model, i) for i in range(self.model.dim))
        return self._current_ops

    def _shell_parts(self, node: EnergyNode, ops: list[Operator]):
        """Intraband and disorder parts (n_ops, d) of one T = 0 shell (docs/theory.md §4-5),
        evaluated by :class:`UniformResponse` itself (on the node without its sea), so
        they are the numbers of ``solve_uniform`` by construction."""
        d = self.model.dim
        if node.solution is None:
            return np.zeros((len(ops), d)), np.zeros((len(ops), d))
        empty = Sea(node.energy, np.zeros((0, d)), np.zeros(0))
        shell_only = UniformResponse(self.model, self.disorder, node.energy, self.field, 0.0,
                                     self.numerics, [EnergyNode(1.0, node.energy,
                                                                node.solution, empty)])
        parts = shell_only.responses(ops)
        return (np.array([p.intraband for p in parts]), np.array([p.disorder for p in parts]))

    def _pooled(self):
        """The distinct sea nodes of all energies and, sorted by node, the (node, energy,
        weight) membership of every energy's rule."""
        if self._pool is None:
            d = self.model.dim
            ks = [n.sea.k for n in self.nodes]
            k = np.ascontiguousarray(np.concatenate(ks) if ks else np.zeros((0, d)), float)
            w = np.concatenate([n.sea.weight for n in self.nodes])
            owner = np.concatenate([np.full(len(n.sea.weight), j) for j, n in enumerate(self.nodes)])
            # exact (bitwise) duplicates: the builder computes a node shared by several
            # rules by the same arithmetic, whatever the mu
            rows = k.view(np.dtype((np.void, k.dtype.itemsize * d))).ravel()
            _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
            inverse = inverse.ravel()
            order = np.argsort(inverse, kind="stable")
            self._pool = (k[first], inverse[order], owner[order], w[order])
        return self._pool

    def __getstate__(self) -> dict:
        """Pickled without a client or pool in :attr:`scheduler` (they belong to this
        process; an address is kept)."""
        state = self.__dict__.copy()
        if not (state.get("scheduler") is None or isinstance(state["scheduler"], str)):
            state["scheduler"] = None
        return state

    def _sea_parts(self, ops: list[Operator], progress=None, scheduler=None) -> np.ndarray:
        """Intrinsic parts (n_energies, n_ops, d) at T = 0 for every energy of the scan,
        from one diagonalization per distinct sea node (module docstring, S_i(n)), chunk
        by chunk (``bz_chunk`` nodes; :func:`_pooled_chunk`), the chunks run where
        ``scheduler`` says and summed in their order."""
        if self.sea_grid is not None:
            return self._grid_parts(ops, progress, scheduler)
        d = self.model.dim
        out = np.zeros((len(self.energies), len(ops), d))
        k, node_of, owner, weight = self._pooled()
        if len(k) == 0:
            return out
        chunk = max(1, int(self.numerics.bz_chunk))
        bounds = np.searchsorted(node_of, np.arange(0, len(k) + chunk, chunk))
        tasks = []
        for c, start in enumerate(range(0, len(k), chunk)):
            lo, hi = bounds[c], bounds[c + 1]
            tasks.append((k[start:start + chunk], node_of[lo:hi] - start, owner[lo:hi],
                          weight[lo:hi]))
        shared = (self.model, portable_operators(ops, self.model), np.asarray(self.energies))
        for part in map_chunks(_pooled_chunk, tasks, shared=shared, scheduler=scheduler,
                               progress=progress):
            out += part
        return out

    def _grid_parts(self, ops: list[Operator], progress=None, scheduler=None) -> np.ndarray:
        """Intrinsic parts (n_energies, n_ops, d) on the shared uniform sea: sea_grid^d
        cells (midpoint grid, symmetric under the signed permutations of the axes) with
        bz_cell_points^d Gauss-Legendre nodes each (:func:`_grid_chunk`), the chunks of
        cells run where ``scheduler`` says and summed in their order."""
        d = self.model.dim
        opts = bz_options(self.numerics, d)
        recip, volume = lattice_geometry(self.model)
        x, wx = np.polynomial.legendre.leggauss(opts["cell"])
        n = self.sea_grid
        sub = np.stack(np.meshgrid(*([x / 2] * d), indexing="ij"), -1).reshape(-1, d) / n
        wsub = np.prod(np.stack(np.meshgrid(*([wx / 2] * d), indexing="ij"), -1), -1).ravel()
        centres = fractional_grid(n, d, offset=0.5)
        out = np.zeros((len(self.energies), len(ops), d))
        chunk = max(1, int(self.numerics.bz_chunk) // len(wsub))
        tasks = [(centres[start:start + chunk],) for start in range(0, len(centres), chunk)]
        shared = (self.model, portable_operators(ops, self.model), np.asarray(self.energies),
                  (sub, wsub, n, volume, recip))
        for part in map_chunks(_grid_chunk, tasks, shared=shared, scheduler=scheduler,
                               progress=progress):
            out += part
        return out


def _block_sums(bands: Bands, ops: list[Operator]) -> np.ndarray:
    """S_i(n) of the module docstring at each point: (P, n_ops, d, N + 1), the
    intrinsic integrand with the n lowest eigenstates occupied (S(0) = S(N) = 0)."""
    d, n_states = bands.model.dim, bands.model.size
    inv2 = bands.inverse_gaps(2)
    v = bands.velocity_eig  # (P, d, N, N)
    blocks = np.zeros((len(bands), len(ops), d, n_states + 1))
    n = np.arange(1, n_states)
    for i, op in enumerate(ops):
        o = op.in_eigenbasis(bands)
        vo = np.imag(v * np.swapaxes(o, -1, -2)[:, None])  # Im(v_ab o_ba)
        y = -ELECTRON_CHARGE * inv2[:, None] * (vo - np.swapaxes(vo, -1, -2))
        # block sums over a < n <= b (eigenvalues ascending): cumulative sums along a,
        # then reversed along b; S(n) = C[n - 1, n]
        cum = np.cumsum(y, axis=-2)
        cum = np.flip(np.cumsum(np.flip(cum, -1), axis=-1), -1)
        blocks[:, i, :, 1:n_states] = cum[..., n - 1, n]
    return blocks


def _pooled_chunk(model: Model, operators, energies: np.ndarray, k: np.ndarray,
                  local: np.ndarray, owner: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Chunk task of the pooled seas: the intrinsic parts (n_energies, n_ops, d) that the
    distinct sea nodes ``k`` (P, d, 1/nm) contribute to every energy (eV) of the scan.
    ``local``, ``owner``, ``weight``: for each (node, energy) membership, the node's index
    in ``k``, the energy's index and the node's weight in that energy's rule (nm^-d).
    Module-level and pure, with picklable arguments (:mod:`mesokinetics.parallel`)."""
    ops = _operators_from(operators, model)
    bands = Bands(model, k)
    blocks = _block_sums(bands, ops)
    occupied = np.sum(bands.eigenvalues[local] < energies[owner, None], axis=1)
    values = blocks[local, :, :, occupied] * weight[:, None, None]
    out = np.zeros((len(energies), len(ops), model.dim))
    np.add.at(out, owner, values)
    return out


def _grid_chunk(model: Model, operators, energies: np.ndarray, rule: tuple,
                centres: np.ndarray) -> np.ndarray:
    """Chunk task of the uniform ``sea_grid`` rule: the intrinsic parts (n_energies, n_ops,
    d) of the cells centred at ``centres`` (fractional coordinates); ``rule`` = (sub-cell
    nodes, their weights, cells per axis, cell volume in nm^d, reciprocal vectors in 1/nm).
    Points where every band is full or every band is empty for all energies are skipped
    after one eigvalsh. Module-level and pure, with picklable arguments."""
    sub, wsub, n, volume, recip = rule
    d = model.dim
    out = np.zeros((len(energies), len(operators), d))
    lo_e, hi_e = energies.min(), energies.max()
    u = (centres[:, None, :] + sub[None]).reshape(-1, d)
    w = np.tile(wsub, len(u) // len(wsub)) / (n**d * volume)
    k = u @ recip
    e = np.linalg.eigvalsh(model.hamiltonian(k))
    keep = (e[:, 0] < hi_e) & (e[:, -1] >= lo_e)  # mixed for some energy
    if not np.any(keep):
        return out
    bands = Bands(model, k[keep])
    blocks = _block_sums(bands, _operators_from(operators, model))  # (P, ops, d, N + 1)
    occupied = np.sum(bands.eigenvalues[:, None, :] < energies[None, :, None], axis=2)
    rows = np.arange(len(bands))[:, None]
    values = blocks[rows, :, :, occupied]  # (P, n_energies, ops, d)
    out += np.einsum("p,pjod->jod", w[keep], values)
    return out
