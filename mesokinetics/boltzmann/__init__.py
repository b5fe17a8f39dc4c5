"""Intraband response: the linear Boltzmann equation (paper Eq. 2, THEORY.md section 4)."""

from .uniform import ShellSolution, solve_shell

__all__ = ["ShellSolution", "solve_shell"]
