"""Energy nodes of the thermal window (docs/theory.md §9): each node is one energy shell
with its weight of -df/deps, solved at T = 0; results sum over nodes."""

from __future__ import annotations

from dataclasses import dataclass

from ..bands import Bands
from ..sampling import Sea


@dataclass
class EnergyNode:
    """One energy shell of the thermal window of a uniform sample: weight of -df/deps,
    energy (eV), the Boltzmann solution on the shell (None if it is empty) and the
    Fermi-sea rule (with its eigen-decomposition, cached on first use)."""

    weight: float
    energy: float
    solution: object | None
    sea: Sea
    sea_bands: Bands | None = None


@dataclass
class FiniteNode:
    """One energy shell of the thermal window of a finite sample: weight of -df/deps,
    energy (eV) and the solution on the shell (slab or section), None if it is empty."""

    weight: float
    energy: float
    solution: object | None


def node_at_mu(nodes: list, mu: float):
    """The energy node nearest ``mu`` (eV) among those with a Fermi shell, or None.

    At T = 0 this is the single node; at T > 0 the thermal node nearest mu. Empty
    nodes (energies without a Fermi surface) are skipped: a distribution or shell is
    asked for, and an empty node has none.
    """
    full = [n for n in nodes if n.solution is not None]
    return min(full, key=lambda n: abs(n.energy - mu)) if full else None
