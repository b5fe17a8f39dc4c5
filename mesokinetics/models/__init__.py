"""Band-structure models h(k): continuum models and user callables."""

from .base import Model, from_callable, finite_difference_velocity, PAULI
from .continuum import (MassiveDirac, OrbitalTexture, ParabolicBand, RashbaFerromagnet,
                        SpinOrbitTexture, L_CARTESIAN)
from .lattice import Haldane, POrbital, QiWuZhang, RashbaLattice, TightBinding

__all__ = [
    "Model",
    "from_callable",
    "finite_difference_velocity",
    "PAULI",
    "L_CARTESIAN",
    "ParabolicBand",
    "RashbaFerromagnet",
    "MassiveDirac",
    "OrbitalTexture",
    "SpinOrbitTexture",
    "TightBinding",
    "QiWuZhang",
    "Haldane",
    "POrbital",
    "RashbaLattice",
]
