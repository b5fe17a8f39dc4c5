"""The quadrature objects every solver integrates with: a Fermi :class:`Shell` (points
and weights of int_k delta(eps_n - E)) and a Fermi :class:`Sea` (points and weights of
int_k over the region of mixed occupation), docs/theory.md §8. Continuum ray samplers and
Brillouin-zone samplers both return them.

Units: k in 1/nm, energies in eV, shell weights in eV^-1 nm^-d, sea weights in nm^-d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bands import Bands


class ShellSamplingError(ValueError):
    """The requested energy shell cannot be sampled (by rays from k = 0, or on the
    Brillouin-zone grid)."""


@dataclass
class Shell:
    """Weighted points of the energy shell eps_n(k) = E of every band.

    energy : E (eV)
    k : (P, d) points (1/nm)
    weight : (P,) weights of int_k delta(eps_n - E) (eV^-1 nm^-d)
    band : (P,) band index n of each point
    bands : :class:`~mesokinetics.bands.Bands` at the points (all bands)
    loop : (P,) index of the closed Fermi line each point lies on (2D Brillouin-zone
        shells: a band may have several), or None (one line per band); specular partners
        of a shell without the wall mirror are looked for on the same line
    """

    energy: float
    k: np.ndarray
    weight: np.ndarray
    band: np.ndarray
    bands: Bands
    loop: np.ndarray | None = None

    def __len__(self) -> int:
        return self.k.shape[0]

    @property
    def empty(self) -> bool:
        return len(self) == 0

    @property
    def multiplicity(self) -> np.ndarray:
        """Degeneracy w_n of the band of each point, (P,)."""
        return self.bands.multiplicity[self.band]

    @property
    def velocity(self) -> np.ndarray:
        """Band velocity v_n(k) at each point, (P, d), eV nm."""
        return self.bands.band_velocity[np.arange(len(self)), self.band]

    @property
    def eigen_mask(self) -> np.ndarray:
        """(P, N) True for eigen indices that belong to the point's band."""
        return self.bands.group[None, :] == self.band[:, None]

    def density_of_states(self) -> float:
        """Total density of states at E, sum_n w_n int_k delta(eps_n - E) (eV^-1 nm^-d)."""
        return float(np.sum(self.weight * self.multiplicity))


@dataclass
class Sea:
    """Quadrature for int_k F(k) over the region where band occupations differ at T = 0.

    k : (Q, d) nodes (1/nm); weight : (Q,) weights (nm^-d). Regions where every band is
    full or every band is empty are left out: interband Fermi-sea integrands
    (f_n - f_m) F_nm vanish there.
    """

    energy: float
    k: np.ndarray
    weight: np.ndarray
