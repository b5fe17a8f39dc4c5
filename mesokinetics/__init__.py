"""mesokinetics: quantum kinetic linear response of weakly disordered multiband systems.

Internal units: hbar = 1, energies in eV, lengths in nm, e = -1, fields in V/nm
(see :mod:`mesokinetics.units`). The package reads as the physics pipeline
(docs/architecture.md): models -> bands -> sampling -> disorder -> boltzmann ->
coherence -> response, with the Kubo-Bastin check (:mod:`mesokinetics.kubo`) as an
independent route, and io, plotting, workflows and the command line outside the core.
"""

from __future__ import annotations

import importlib

from . import models, operators, reference, units
from ._version import __version__
from .convergence import Convergence, ConvergenceWarning
from .disorder import PointDisorder
from .numerics import Numerics
from .response import (Contributions, PeriodicStripResponse, SectionResponse, SlabResponse,
                       UniformResponse, solve_cross_section, solve_periodic_strip, solve_slab,
                       solve_uniform)
from .response.scan import FermiLevelScan, scan_fermi_level
from .samples import Film, Fuchs, GmshSection, PeriodicStrip, Rectangle, Slab, Soffer, Strip, disk, polygon
from .sampling import ShellSamplingError
from .validity import ValidityWarning

#: The former name of :class:`Contributions` (kept so that existing scripts still run).
Density = Contributions

# Loaded on first use: the Kubo check (an independent route, not needed for a solve) and
# the workflow layer (TOML configs, result folders, the run driver) outside the core.
_LAZY = {
    "kubo": ("mesokinetics.kubo", None),
    "topology": ("mesokinetics.topology", None),
    "load_config": ("mesokinetics.io.config", "load_config"),
    "load_result": ("mesokinetics.io.results", "load_result"),
    "run": ("mesokinetics.workflow", "run"),
    "save": ("mesokinetics.workflow", "save"),
}

__all__ = [
    "kubo", "topology", "models", "reference", "operators", "units",
    "PointDisorder", "Numerics", "ShellSamplingError", "ValidityWarning",
    "ConvergenceWarning", "Convergence",
    "Contributions", "Density",
    "solve_uniform", "UniformResponse", "scan_fermi_level", "FermiLevelScan",
    "solve_slab", "SlabResponse",
    "solve_cross_section", "SectionResponse",
    "solve_periodic_strip", "PeriodicStripResponse",
    "Slab", "Film", "Strip", "Fuchs", "Soffer",
    "Rectangle", "GmshSection", "PeriodicStrip", "disk", "polygon",
    "load_config", "run", "load_result", "save",
    "__version__",
]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        value = value if attr is None else getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mesokinetics' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
