"""Linear response of a uniform sample: `solve_uniform` and `UniformResponse`.

The density of any observable splits into the contributions of paper Eqs. (1)-(2):
intraband (Boltzmann), intrinsic (Berry connection, Fermi sea), gradient (zero in a
uniform sample) and disorder (ladder vertex correction). Units: internal (hbar = 1,
eV, nm, e = -1); fields in V/nm; densities in (operator unit) per nm^d.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field as dc_field
from typing import Callable

import numpy as np

from .bands import Bands
from .boltzmann.uniform import ShellSolution, solve_shell
from .coherence import disorder_density, intraband_density, intrinsic_density
from .disorder import PointDisorder
from .models.base import Model
from .operators import Operator, as_operator, charge_current
from .shells import Numerics, Sea, sample
from .units import E2_OVER_H, conductivity_si_unit, conductivity_to_si

#: Fermi-sea points diagonalized at once; larger seas are evaluated chunk by chunk so the
#: memory stays bounded (about SEA_CHUNK N^2 d complex numbers) whatever the grid.
SEA_CHUNK = 32768

#: Boltzmann constant in eV/K.
KB_EV_K = 8.617333262e-5


@dataclass(frozen=True)
class Density:
    """Contributions to the density of an observable (floats or arrays).

    intraband : sum_n f_n P_n (Boltzmann)
    intrinsic : Berry-connection (Fermi-sea) interband term
    gradient : interband term driven by grad f_n (zero in a uniform sample)
    disorder : ladder vertex-correction interband term
    total : their sum
    unit : unit of every contribution
    """

    intraband: float | np.ndarray
    intrinsic: float | np.ndarray
    gradient: float | np.ndarray
    disorder: float | np.ndarray
    unit: str = ""

    @property
    def total(self):
        return self.intraband + self.intrinsic + self.gradient + self.disorder

    @property
    def interband(self):
        return self.intrinsic + self.gradient + self.disorder

    def __sub__(self, other: "Density") -> "Density":
        """Contribution-wise difference (e.g. a profile minus the bulk: accumulation)."""
        return Density(self.intraband - other.intraband, self.intrinsic - other.intrinsic,
                       self.gradient - other.gradient, self.disorder - other.disorder, self.unit)

    def weighted_mean(self, weights: np.ndarray) -> "Density":
        """Contribution-wise average of profiles with the given cell weights (floats)."""
        w = np.asarray(weights, float) / np.sum(weights)
        return self._map(lambda x: float(np.sum(w * np.broadcast_to(x, w.shape))))

    def _map(self, fn, unit=None) -> "Density":
        return Density(
            fn(self.intraband), fn(self.intrinsic), fn(self.gradient), fn(self.disorder),
            self.unit if unit is None else unit,
        )

    def as_dict(self) -> dict:
        return {
            "intraband": self.intraband, "intrinsic": self.intrinsic,
            "gradient": self.gradient, "disorder": self.disorder, "total": self.total,
            "unit": self.unit,
        }


@dataclass
class EnergyNode:
    """One energy shell of the thermal window: weight of -df/deps, energy (eV),
    the Boltzmann solution on the shell (None if it is empty) and the Fermi-sea rule."""

    weight: float
    energy: float
    solution: ShellSolution | None
    sea: Sea
    sea_bands: Bands | None = None


def node_at_mu(nodes: list, mu: float):
    """The energy node nearest ``mu`` (eV) among those with a Fermi shell, or None.

    At T = 0 this is the single node; at T > 0 the thermal node nearest mu. Empty
    nodes (energies without a Fermi surface) are skipped: a distribution or shell is
    asked for, and an empty node has none.
    """
    full = [n for n in nodes if n.solution is not None]
    return min(full, key=lambda n: abs(n.energy - mu)) if full else None


def validate_inputs(model, disorder, mu, field, temperature):
    """Check the common inputs of every solver; returns (mu, field array, temperature)."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be a mesokinetics Model, got {type(model).__name__}")
    if not isinstance(disorder, PointDisorder):
        raise TypeError(f"disorder must be a PointDisorder, got {type(disorder).__name__}")
    try:
        mu = float(mu)
    except (TypeError, ValueError):
        raise ValueError(f"mu must be a finite energy in eV, got {mu!r}") from None
    if not np.isfinite(mu):
        raise ValueError(f"mu must be a finite energy in eV, got {mu!r}")
    field = np.atleast_1d(np.asarray(field, dtype=float))
    if field.shape != (model.dim,):
        raise ValueError(
            f"field must have {model.dim} components (V/nm) for a {model.dim}D model, "
            f"got shape {field.shape}"
        )
    if not np.all(np.isfinite(field)):
        raise ValueError(f"field must be finite (V/nm), got {field.tolist()}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0 (K), got {temperature!r}")
    return float(mu), field, float(temperature)


def _warn_degenerate_with_spin(model: Model) -> None:
    """Paper footnote [72]: rho_intra = sum_n f_n P_n is exact for non-degenerate bands and
    for degenerate ones without spin-orbit coupling; a degenerate band of a model with spin
    (Kramers pairs with spin-orbit coupling) also has a traceless intraband part, omitted."""
    from .bands import band_groups

    if model.spin_matrices is not None and np.any(np.bincount(band_groups(model)) > 1):
        warnings.warn(
            "the model has degenerate bands and a spin degree of freedom: with spin-orbit "
            "coupling the intraband density matrix has a traceless part inside each "
            "degenerate band that this theory omits (paper footnote [72]); spin "
            "responses of these bands may be incomplete",
            stacklevel=3,
        )


def thermal_nodes(mu: float, temperature: float, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Energies (eV) and weights for int deps (-df_eq/deps) F(eps).

    With x = tanh((eps - mu) / 2kT), (-df/deps) deps = dx / 2 exactly, so Gauss-Legendre in
    x integrates the thermal window; T = 0 gives the single node (mu, 1).
    """
    if temperature == 0:
        return np.array([mu]), np.array([1.0])
    x, w = np.polynomial.legendre.leggauss(points)
    kt = KB_EV_K * temperature
    return mu + 2 * kt * np.arctanh(x), w / 2


def solve_uniform(
    model: Model,
    disorder: PointDisorder,
    mu: float,
    field,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Callable[[int, int], None] | None = None,
    **numerics,
) -> "UniformResponse":
    """Linear response of an infinite uniform sample (THEORY.md sections 4-5).

    Parameters
    ----------
    model : the Hamiltonian h(k)
    disorder : :class:`PointDisorder` (gamma in eV^2 nm^d)
    mu : chemical potential (eV); in a gap the response is purely intrinsic
    field : electric field (V/nm), d components
    temperature : kelvin. At T > 0 each shell eps of the thermal window is solved at
        T = 0 and weighted by -df/deps (elastic scattering keeps shells apart; the Fermi
        sea term follows from f_eq(eps_n) = int deps (-df/deps) theta(eps - eps_n)).
    energy_points : Gauss-Legendre nodes of the thermal window (T > 0 only)
    progress : optional callback progress(done, total) over energy nodes
    **numerics : k-space quadrature options, see :class:`~mesokinetics.shells.Numerics`
    """
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    if not isinstance(energy_points, (int, np.integer)) or energy_points < 2:
        raise ValueError(f"energy_points must be an integer >= 2, got {energy_points!r}")
    num = Numerics.from_kwargs(numerics)
    _warn_degenerate_with_spin(model)
    energies, weights = thermal_nodes(mu, temperature, energy_points)
    nodes = []
    for i, (energy, weight) in enumerate(zip(energies, weights)):
        shell, sea = sample(model, energy, num)
        solution = None if shell.empty else solve_shell(shell, disorder)
        nodes.append(EnergyNode(float(weight), float(energy), solution, sea))
        if progress is not None:
            progress(i + 1, len(energies))
    return UniformResponse(model, disorder, mu, field, temperature, num, nodes)


@dataclass
class UniformResponse:
    """Result of :func:`solve_uniform`. Densities are linear in the field.

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

    def response(self, op) -> Density:
        """Contributions per unit field along each axis: (d,) arrays, unit per (V/nm)."""
        op = as_operator(op, self.model)
        d = self.model.dim
        parts = np.zeros((3, d))
        for node in self.nodes:
            parts += node.weight * self._node_response(node, op)
        unit = f"{op.unit} nm^-{d} per V/nm"
        return Density(parts[0], parts[1], np.zeros(d), parts[2], unit)

    def _node_response(self, node: EnergyNode, op: Operator) -> np.ndarray:
        d = self.model.dim
        out = np.zeros((3, d))
        npts = len(node.sea.weight)
        if npts <= SEA_CHUNK:  # small seas keep their eigenvectors for further operators
            if node.sea_bands is None and npts:
                node.sea_bands = Bands(self.model, node.sea.k)
            if node.sea_bands is not None:
                out[1] = intrinsic_density(node.sea_bands, node.sea.weight, node.energy,
                                           op.in_eigenbasis(node.sea_bands))
        else:  # large seas (lattice models, fine grids): bounded memory, chunk by chunk
            for start in range(0, npts, SEA_CHUNK):
                part = slice(start, start + SEA_CHUNK)
                bands = Bands(self.model, node.sea.k[part])
                out[1] += intrinsic_density(bands, node.sea.weight[part], node.energy,
                                            op.in_eigenbasis(bands))
        sol = node.solution
        if sol is not None:
            op_eig = op.in_eigenbasis(sol.shell.bands)
            out[0] = intraband_density(sol.shell, sol.g, op_eig)
            out[2] = disorder_density(sol.shell, sol.g, sol.moment, sol.dos,
                                      self.disorder.gamma, op_eig)
        return out

    def density(self, op) -> Density:
        """Contributions to the density of ``op`` at the given field (floats).

        Unit: operator unit per nm^d (e.g. hbar nm^-2 for spin in 2D).
        """
        r = self.response(op)
        unit = r.unit.replace(" per V/nm", "")
        return r._map(lambda x: float(np.dot(x, self.field)), unit)

    def conductivity(self, unit: str = "e2/h") -> Density:
        """Conductivity tensor sigma_ij = dj_i/dE_j, (d, d) arrays per contribution.

        unit : 'e2/h' (conductance quanta times nm^(2-d)), 'internal' (e^2/hbar nm^(2-d))
        or 'SI' (S m^(2-d)).
        """
        d = self.model.dim
        rows = [self.response(charge_current(self.model, i)) for i in range(d)]
        tensor = Density(*(np.array([getattr(r, p) for r in rows]) for p in
                           ("intraband", "intrinsic", "gradient", "disorder")), unit="")
        if unit == "internal":
            return tensor._map(lambda x: x, f"e^2/hbar nm^{2 - d}")
        if unit == "e2/h":
            return tensor._map(lambda x: x / E2_OVER_H, f"e^2/h nm^{2 - d}")
        if unit == "SI":
            return tensor._map(lambda x: conductivity_to_si(x, d), conductivity_si_unit(d))
        raise ValueError(f"unit must be 'e2/h', 'internal' or 'SI', got {unit!r}")


# --------------------------------------------------------------------------------------
# Finite samples: films and strips
# --------------------------------------------------------------------------------------


@dataclass
class SlabNode:
    """One energy shell of the thermal window in a slab: weight of -df/deps, energy (eV)
    and the slab solution on the shell (:class:`~mesokinetics.boltzmann.slab.SlabShellSolution`)."""

    weight: float
    energy: float
    solution: "object"


def solve_slab(
    model: Model,
    disorder: PointDisorder,
    slab,
    mu: float,
    field,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Callable[[int, int], None] | None = None,
    method: str = "auto",
    **numerics,
) -> "SlabResponse":
    """Linear response of a film or strip (THEORY.md section 6).

    Parameters
    ----------
    model, disorder, mu, field, temperature, energy_points, progress, **numerics :
        as in :func:`solve_uniform`; the field (V/nm) must lie in the plane of the slab
    slab : :class:`~mesokinetics.geometry.Slab` (width in nm, walls, cells, normal)
    method : "direct" (dense assembly, direct solve, exact to rounding), "iterative"
        (matrix-free GMRES with a two-grid preconditioner, memory O(cells x shell points))
        or "auto" (direct up to 2000 unknowns cells x N^2, iterative above)

    The bulk (:func:`solve_uniform`) solution of the same material is computed too and
    kept as ``result.bulk``; the intrinsic term is local and uniform, so its profile is
    the bulk value.
    """
    from .boltzmann.slab import solve_slab_shell
    from .geometry import Slab

    from .boltzmann.slab import METHODS

    if not isinstance(slab, Slab):
        raise TypeError(f"slab must be a mesokinetics.Slab, got {type(slab).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    normal = slab.normal_axis(model.dim)
    if field[normal] != 0:
        raise ValueError(
            f"the field has a component {field[normal]} V/nm along the slab normal "
            f"(axis {'xyz'[normal]}); in a film or strip that component is screened by "
            "surface charges and the steady state carries no current across the walls. "
            "Give an in-plane field."
        )
    # shells sampled with an angular rule refined towards grazing incidence on the walls;
    # the bulk reference uses the same shells, so p = 1 reproduces it to rounding
    numerics = {**numerics, "grazing_axis": normal}
    bulk, mfp = bulk_reference(model, disorder, mu, field, temperature, energy_points,
                               numerics, "a film or strip")
    faces = slab.faces(mfp)
    nodes = []
    for i, node in enumerate(bulk.nodes):
        sol = None
        if node.solution is not None:
            sol = solve_slab_shell(node.solution.shell, disorder, slab, field, faces,
                                   node.solution, method)
        nodes.append(SlabNode(node.weight, node.energy, sol))
        if progress is not None:
            progress(i + 1, len(bulk.nodes))
    return SlabResponse(model, disorder, slab, mu, field, temperature, faces, nodes, bulk, mfp)


def bulk_reference(model, disorder, mu, field, temperature, energy_points, numerics,
                   sample: str) -> tuple["UniformResponse", float]:
    """The bulk solution on the shells a finite sample will use, and the mean free path
    (nm) at mu that grades its mesh. ``sample`` names the sample in the error raised when
    mu has no Fermi surface (a finite sample carries no intraband current without one)."""
    bulk = solve_uniform(model, disorder, mu, field, temperature, energy_points, None, **numerics)
    if all(node.solution is None for node in bulk.nodes):
        raise ValueError(
            f"mu = {mu} eV has no Fermi surface: {sample} carries no intraband current and "
            "needs a Fermi surface; for a purely intrinsic response use solve_uniform"
        )
    ref = max(bulk.nodes, key=lambda n: n.weight if n.solution is not None else -1)
    return bulk, mean_free_path(ref.solution)


def mean_free_path(solution: ShellSolution) -> float:
    """DOS-weighted Fermi-surface average of |v_n| tau_n (nm)."""
    shell = solution.shell
    w = shell.weight * shell.multiplicity
    return float(np.sum(w * np.linalg.norm(shell.velocity, axis=1) * solution.tau) / np.sum(w))


@dataclass
class SlabResponse:
    """Result of :func:`solve_slab`: profiles across the sample (arrays over cells).

    faces, centers, widths : the mesh (nm) along the normal, 0 at the bottom wall
    bulk : the :class:`UniformResponse` of the same material and field
    mean_free_path : DOS-averaged |v| tau at mu (nm)
    """

    model: Model
    disorder: PointDisorder
    slab: object
    mu: float
    field: np.ndarray
    temperature: float
    faces: np.ndarray
    nodes: list
    bulk: UniformResponse
    mean_free_path: float

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.faces[1:] + self.faces[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    @property
    def solution(self):
        """Slab solution on the shell at mu (T = 0: the Fermi shell): g, g_faces, moment."""
        return node_at_mu(self.nodes, self.mu).solution

    @property
    def distribution(self) -> np.ndarray:
        """g_n(y, k) cell averages on the Fermi shell, (P, J) (eV for the given field)."""
        return self.solution.g

    @property
    def distribution_faces(self) -> np.ndarray:
        """g_n(y, k) at the cell faces, (P, J+1)."""
        return self.solution.g_faces

    def density(self, op) -> Density:
        """Profiles of the four contributions to the density of ``op`` ((J,) arrays,
        operator unit per nm^d) at the given field."""
        from .coherence import gradient_kernel

        op = as_operator(op, self.model)
        ncell = len(self.centers)
        parts = np.zeros((4, ncell))
        normal = self.slab.normal_axis(self.model.dim)
        for node in self.nodes:
            sol = node.solution
            if sol is None:
                continue
            shell = sol.shell
            op_eig = op.in_eigenbasis(shell.bands)
            g = sol.g.T  # (J, P)
            parts[0] += node.weight * intraband_density(shell, g, op_eig)
            kern = gradient_kernel(shell.bands, shell.eigen_mask, op_eig)[:, normal]
            parts[2] += node.weight * (sol.gradient.T @ (shell.weight * kern))
            parts[3] += node.weight * disorder_density(shell, g, sol.moment, sol.dos,
                                                       self.disorder.gamma, op_eig)
        parts[1] = self.bulk.density(op).intrinsic
        unit = f"{op.unit} nm^-{self.model.dim}"
        return Density(parts[0], parts[1], parts[2], parts[3], unit)

    def accumulation(self, op) -> Density:
        """Each contribution minus its bulk value: the edge accumulation profiles."""
        return self.density(op) - self.bulk.density(op)

    def mean(self, op) -> Density:
        """Width-averaged contributions across the sample (floats)."""
        return self.density(op).weighted_mean(self.widths)

    def sheet_conductance(self) -> float:
        """int_0^W j.Ehat dy / |E| (e^2/hbar nm^(3-d)): conductance per unit length along
        the field of a strip (2D), or per unit length of a film (3D)."""
        ehat = self.field / np.linalg.norm(self.field)
        j = sum(ehat[i] * self.density(charge_current(self.model, i)).total
                for i in range(self.model.dim) if ehat[i] != 0)
        return float(np.sum(j * self.widths) / np.linalg.norm(self.field))

    def conductance_ratio(self) -> float:
        """Sheet conductance over its bulk value sigma W (Fuchs-Sondheimer ratio)."""
        ehat = self.field / np.linalg.norm(self.field)
        sigma = self.bulk.conductivity("internal").total @ ehat @ ehat
        return self.sheet_conductance() / (sigma * float(np.sum(self.widths)))
