"""The default slab method: direct up to ``DIRECT_LIMIT`` unknowns, iterative above (in
the manner of Kwant's ``solvers/default.py``), docs/theory.md §6.
"""

from __future__ import annotations

import numpy as np

from ...disorder import PointDisorder
from ...samples import Slab
from ...sampling import Shell
from ..uniform import ShellSolution
from .direct import solve_direct
from .iterative import solve_iterative
from .problem import SlabProblem, SlabShellSolution


#: Largest J N^2 (cells x coefficients of S per cell) solved by the direct method when the
#: method is "auto": measured crossover with the iterative path at about 1200-2000 (144-960
#: shell points), where the direct path needs about 0.2 GB (docs/slab.md).
DIRECT_LIMIT = 2000

METHODS = ("auto", "direct", "iterative")


def solve_slab_shell(
    shell: Shell, disorder: PointDisorder, slab: Slab, field: np.ndarray, faces: np.ndarray,
    uniform: ShellSolution, method: str = "auto",
) -> SlabShellSolution:
    """Solve the slab Boltzmann equation on one nonempty shell for the given field (V/nm).

    method : "direct" (dense assembly of the s -> S map and a direct bordered solve, to
        rounding), "iterative" (matrix-free GMRES with a two-grid preconditioner, memory
        O(P J), :mod:`~mesokinetics.boltzmann.slab.iterative`) or "auto" (direct up to
        ``DIRECT_LIMIT`` unknowns J N^2, iterative above)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    prob = SlabProblem.build(shell, disorder, slab, field, faces, uniform)
    if method == "direct" or (method == "auto" and prob.cells * prob.traces.shape[1] <= DIRECT_LIMIT):
        return solve_direct(prob)
    return solve_iterative(prob)
