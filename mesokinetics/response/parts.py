"""The contributions of paper Eqs. (1)-(2) to the density of an observable: one container
for uniform samples (floats), films and strips (profiles) and cross-sections (maps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Contributions:
    """Contributions to the density of an observable (floats or arrays), docs/theory.md §5.

    intraband : sum_n f_n P_n (Boltzmann)
    intrinsic : Berry-connection (Fermi-sea) interband term
    gradient : interband term driven by grad f_n (zero in a uniform sample)
    disorder : ladder vertex-correction interband term
    total : their sum
    unit : unit of every contribution
    error : estimated absolute error of ``total`` (same shape, same unit), from the
        coarser resolutions the solver checked (mesokinetics.convergence); None when the
        solve ran with ``tol=None``
    """

    intraband: float | np.ndarray
    intrinsic: float | np.ndarray
    gradient: float | np.ndarray
    disorder: float | np.ndarray
    unit: str = ""
    error: float | np.ndarray | None = None

    @property
    def total(self):
        return self.intraband + self.intrinsic + self.gradient + self.disorder

    @property
    def interband(self):
        return self.intrinsic + self.gradient + self.disorder

    def __sub__(self, other: "Contributions") -> "Contributions":
        """Contribution-wise difference (e.g. a profile minus the bulk: accumulation)."""
        return Contributions(self.intraband - other.intraband, self.intrinsic - other.intrinsic,
                             self.gradient - other.gradient, self.disorder - other.disorder,
                             self.unit)

    def weighted_mean(self, weights: np.ndarray) -> "Contributions":
        """Contribution-wise average of profiles with the given cell weights (floats)."""
        w = np.asarray(weights, float) / np.sum(weights)
        return self._map(lambda x: float(np.sum(w * np.broadcast_to(x, w.shape))))

    def _map(self, fn, unit=None) -> "Contributions":
        """Every contribution through ``fn``; the error through |fn(error)|, exact for
        the positive scalings and averages it is used with (unit conversions, means)."""
        err = None if self.error is None else np.abs(fn(self.error))
        return Contributions(
            fn(self.intraband), fn(self.intrinsic), fn(self.gradient), fn(self.disorder),
            self.unit if unit is None else unit, err,
        )

    def with_error(self, error) -> "Contributions":
        """The same contributions with the error estimate ``error`` of their total."""
        return Contributions(self.intraband, self.intrinsic, self.gradient, self.disorder,
                             self.unit, error)

    def as_dict(self) -> dict:
        return {
            "intraband": self.intraband, "intrinsic": self.intrinsic,
            "gradient": self.gradient, "disorder": self.disorder, "total": self.total,
            "unit": self.unit, **({} if self.error is None else {"error": self.error}),
        }


#: The conductivity units of :func:`in_conductivity_unit`.
CONDUCTIVITY_UNITS = ("e2/h", "internal", "SI", "S/cm", "S")


def in_conductivity_unit(tensor: Contributions, unit: str, dim: int) -> Contributions:
    """A conductivity tensor (internal units, e^2/hbar nm^(2-d)) in ``unit``: 'e2/h'
    (conductance quanta times nm^(2-d)), 'internal', 'SI' (S m^(2-d)), 'S/cm' (3D, the unit
    of Wannier90 and WannierBerri) or 'S' (2D sheet conductance); docs/theory.md §1."""
    from ..units import E2_OVER_H, conductivity_in, conductivity_si_unit, conductivity_to_si

    if unit == "internal":
        return tensor._map(lambda x: x, f"e^2/hbar nm^{2 - dim}")
    if unit == "e2/h":
        return tensor._map(lambda x: x / E2_OVER_H, f"e^2/h nm^{2 - dim}")
    if unit == "SI":
        return tensor._map(lambda x: conductivity_to_si(x, dim), conductivity_si_unit(dim))
    if unit in ("S/cm", "S"):
        return tensor._map(lambda x: conductivity_in(x, dim, unit), unit)
    raise ValueError(f"unit must be 'e2/h', 'internal', 'SI', 'S/cm' (3D) or 'S' (2D), "
                     f"got {unit!r}")
