"""Boltzmann equation in a slab 0 < y < W: phase space (y) x (energy shell).

docs/theory.md §6. On each shell point p (band n, velocity v, normal velocity v_y):

    v_y dg_p/dy + g_p / tau_p = q_p(y),   q_p = e E.v_p + (gamma/w_n) Tr[P_n(k_p) S(y)],

with S(y) constant on each cell j (coefficients s_j in the Hermitian basis). Along a
characteristic (fixed p) the solution across a cell of width h is exact for constant q:

    g_out = g_in e^{-a} + q tau (1 - e^{-a}),            a = h / (|v_y| tau),
    <g>   = q tau + (g_in - q tau)(1 - e^{-a}) / a.

Walls (Fuchs-Sondheimer, per wall, specularity p(k_perp) in [0, 1]): a state leaving a
wall is fed by the mirror state that arrives there,

    g_in(p) = rho_p g_out(R(p)) + (1 - rho_p) C_wall,

with one diffuse constant C per wall fixed by zero particle flux into the wall. The
mirror pair (p, R(p)) forms a closed loop between the two walls that is eliminated
exactly (a 2 x 2 solve per pair), so no bounce iteration is needed.

Everything is linear in (s_j, C). The map s -> S is assembled exactly as a dense
(J N^2) x (J N^2) matrix: the triangular "direct" part by a sweep over cells that is
vectorized over shell points and source cells (contracted with BLAS on the fly), the
wall-loop part as a low-rank product. The bordered system (cell equations, wall-flux
rows, neutrality rows) is solved directly. Nothing is iterated, so the cost does not
grow with W / l (source iteration would stall for elastic scattering). For fine grids
(more than ``DIRECT_LIMIT`` unknowns J N^2) the same equations are solved matrix-free by
:mod:`~mesokinetics.boltzmann.slab.iterative`; :func:`~mesokinetics.boltzmann.slab.solve_slab_shell`
chooses between the two.
"""

from .default import DIRECT_LIMIT, METHODS, solve_slab_shell
from .direct import assemble_direct, solve_direct
from .iterative import coarse_groups, solve_iterative
from .problem import SlabProblem, SlabShellSolution

__all__ = ["SlabProblem", "SlabShellSolution", "solve_slab_shell", "solve_direct",
           "assemble_direct", "solve_iterative", "coarse_groups", "DIRECT_LIMIT", "METHODS"]
