"""Linear response of a uniform sample: `solve_uniform` and `UniformResponse`.

The density of any observable splits into the contributions of paper Eqs. (1)-(2):
intraband (Boltzmann), intrinsic (Berry connection, Fermi sea), gradient (zero in a
uniform sample) and disorder (ladder vertex correction). Units: internal (hbar = 1,
eV, nm, e = -1); fields in V/nm; densities in (operator unit) per nm^d.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Callable

import numpy as np

from .bands import Bands
from .boltzmann.uniform import ShellSolution, solve_shell
from .coherence import disorder_density, intraband_density, intrinsic_density
from .disorder import PointDisorder
from .models.base import Model
from .operators import Operator, as_operator, charge_current
from .shells import Numerics, Sea, find_ray_roots, ray_directions, sample_sea, sample_shell
from .units import E2_OVER_H, conductivity_si_unit, conductivity_to_si

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


def _validate(model, disorder, mu, field, temperature):
    if not isinstance(model, Model):
        raise TypeError(f"model must be a mesokinetics Model, got {type(model).__name__}")
    if not isinstance(disorder, PointDisorder):
        raise TypeError(f"disorder must be a PointDisorder, got {type(disorder).__name__}")
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
    mu, field, temperature = _validate(model, disorder, mu, field, temperature)
    if not isinstance(energy_points, (int, np.integer)) or energy_points < 2:
        raise ValueError(f"energy_points must be an integer >= 2, got {energy_points!r}")
    num = Numerics.from_kwargs(numerics)
    energies, weights = thermal_nodes(mu, temperature, energy_points)
    nodes = []
    for i, (energy, weight) in enumerate(zip(energies, weights)):
        roots = find_ray_roots(model, ray_directions(model.dim, num)[0], energy, num)
        shell = sample_shell(model, energy, num, roots)
        solution = None if shell.empty else solve_shell(shell, disorder)
        sea = sample_sea(model, energy, num, roots)
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
        node = min(self.nodes, key=lambda n: abs(n.energy - self.mu))
        return None if node.solution is None else node.solution.shell

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
        if node.sea_bands is None and len(node.sea.weight):
            node.sea_bands = Bands(self.model, node.sea.k)
        if node.sea_bands is not None:
            out[1] = intrinsic_density(node.sea_bands, node.sea.weight, node.energy,
                                       op.in_eigenbasis(node.sea_bands))
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
