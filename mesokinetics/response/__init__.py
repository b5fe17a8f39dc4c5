"""Linear response: the solvers (:mod:`.drivers`) and their results (:mod:`.uniform`,
:mod:`.finite`), with the contributions of paper Eqs. (1)-(2) in one container
(:class:`Contributions`, docs/theory.md §5)."""

from ..boltzmann.uniform import mean_free_path
from .drivers import bulk_reference, solve_cross_section, solve_periodic_strip, solve_slab, solve_uniform
from .finite import FiniteSampleResponse, PeriodicStripResponse, SectionResponse, SlabResponse
from .nodes import EnergyNode, FiniteNode, node_at_mu
from .parts import Contributions
from .uniform import UniformResponse
from .scan import FermiLevelScan, scan_fermi_level

__all__ = ["solve_uniform", "solve_slab", "solve_cross_section", "solve_periodic_strip",
           "bulk_reference", "mean_free_path", "Contributions", "UniformResponse",
           "FiniteSampleResponse", "SlabResponse", "SectionResponse", "PeriodicStripResponse",
           "EnergyNode", "FiniteNode", "node_at_mu", "scan_fermi_level", "FermiLevelScan"]
