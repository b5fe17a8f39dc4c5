"""mesokinetics: quantum kinetic linear response of weakly disordered multiband systems.

Internal units: hbar = 1, energies in eV, lengths in nm, e = -1, fields in V/nm
(see :mod:`mesokinetics.units`).
"""

from . import kubo, models, operators, reference, units
from .disorder import PointDisorder
from .cross_section import (GmshSection, PeriodicStrip, Rectangle, SectionResponse, disk, polygon,
                            solve_cross_section, solve_periodic_strip)
from .geometry import Film, Fuchs, Slab, Soffer, Strip
from .response import Density, SlabResponse, UniformResponse, solve_slab, solve_uniform
from .shells import Numerics, ShellSamplingError

__version__ = "0.1.0"

__all__ = [
    "kubo",
    "models",
    "reference",
    "operators",
    "units",
    "PointDisorder",
    "Density",
    "UniformResponse",
    "solve_uniform",
    "SlabResponse",
    "solve_slab",
    "solve_cross_section",
    "solve_periodic_strip",
    "PeriodicStrip",
    "SectionResponse",
    "Rectangle",
    "GmshSection",
    "disk",
    "polygon",
    "Slab",
    "Film",
    "Strip",
    "Fuchs",
    "Soffer",
    "Numerics",
    "ShellSamplingError",
    "__version__",
]

# Workflows (issue 6): configuration files, runs, result folders. Outside the physics core.
from .io.config import load_config  # noqa: E402
from .io.results import load_result  # noqa: E402
from .workflow import run  # noqa: E402

__all__ += ["load_config", "run", "load_result"]
