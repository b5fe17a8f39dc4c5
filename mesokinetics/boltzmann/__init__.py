"""Intraband response: the linear Boltzmann equation (paper Eq. 2, docs/theory.md §4, §6, §7).

``uniform`` (one N^2 x N^2 solve per shell), ``slab`` (films and strips: problem, direct and
iterative solves, the default-method chooser), ``section`` (wire cross-sections and
periodic strips on 2D meshes), ``walls`` (specular maps), ``neutrality`` (conserved
densities).
"""

from .uniform import ShellSolution, solve_shell

__all__ = ["ShellSolution", "solve_shell"]
