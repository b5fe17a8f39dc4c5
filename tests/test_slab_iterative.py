"""Matrix-free GMRES slab solver against the dense direct solver (docs/slab.md, "Fine grids").

Iteration counts (two-grid preconditioner, default 64 coarse cells, tol 1e-10) measured for
the Rashba strip with 8 cells per mean free path, W/l = 1, 10, 100: 1, 4, 6 (diffuse
walls) and 1, 4, 6 (walls 0 / 0.9); 7 at W/l = 250 and 1000. With only 8 coarse cells:
1, 8, 11. The bounds below leave a margin of about 50 % over these numbers.
"""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.boltzmann.slab import SlabProblem, solve_direct
from mesokinetics.boltzmann.slab import coarse_groups, solve_iterative
from mesokinetics.models import ParabolicBand, RashbaFerromagnet
from mesokinetics.response import bulk_reference, mean_free_path

ELL = 20.0  # mean free path (nm)
MU = 0.2


def _models():
    return {
        "parabolic": ParabolicBand(mass=1.0, dim=2),
        "rashba": RashbaFerromagnet(mass=1.0, alpha=0.1),
    }


_BULK = {}


def make_problem(name, ratio, walls, cells, angles=32):
    """SlabProblem of the Fermi shell of a strip of width ratio * l (field along x)."""
    model = _models()[name]
    disorder = mk.PointDisorder.from_mean_free_path(model, MU, ELL)
    key = (name, angles)
    if key not in _BULK:
        bulk, _ = bulk_reference(model, disorder, MU, np.array([1.0, 0.0]), 0.0, 24,
                                 mk.Numerics(angles=angles), 1, "a strip")
        _BULK[key] = next(n.solution for n in bulk.nodes if n.solution is not None)
    uniform = _BULK[key]
    strip = mk.Strip(ratio * ELL, walls, cells=cells)
    faces = strip.faces(mean_free_path(uniform))
    return SlabProblem.build(uniform.shell, disorder, strip, np.array([1.0, 0.0]), faces, uniform)


WALLS = [0.0, (0.5, 0.9), 1.0, (0.0, 0.9)]


@pytest.mark.parametrize("walls", WALLS, ids=["diffuse", "partly", "specular", "asymmetric"])
@pytest.mark.parametrize("name", ["parabolic", "rashba"])
def test_iterative_matches_direct(name, walls):
    prob = make_problem(name, 30.0, walls, cells=90)
    direct = solve_direct(prob)
    # few coarse cells, so that the two-grid preconditioner is far from the exact inverse
    it = solve_iterative(prob, coarse_cells=12)
    assert direct.iterations is None
    assert isinstance(it.iterations, int) and it.iterations <= 15
    gscale = np.max(np.abs(direct.g))
    assert np.max(np.abs(it.g - direct.g)) < 1e-8 * gscale
    assert np.max(np.abs(it.g_faces - direct.g_faces)) < 1e-8 * gscale
    assert np.max(np.abs(it.gradient - direct.gradient)) < 1e-8 * np.max(np.abs(direct.gradient)) + 1e-8 * gscale / ELL
    # S may vanish by symmetry (parabolic band): compare on the scale of S per cell
    sscale = max(np.max(np.abs(direct.moment)), prob.scale / np.sqrt(prob.cells))
    assert np.max(np.abs(it.moment - direct.moment)) < 1e-8 * sscale
    for a, b in zip(it.wall_constants, direct.wall_constants):
        assert (np.isnan(a) and np.isnan(b)) or abs(a - b) < 1e-8 * gscale
    assert it.null_modes == direct.null_modes
    assert it.residual < 1e-10 and it.consistency < 1e-8


def test_rashba_specular_modes_and_profile():
    """Fully specular walls keep every conserved density of the uniform problem (r > 1
    neutrality rows); the Rashba strip then carries a nontrivial S with diffuse walls."""
    prob = make_problem("rashba", 5.0, (0.0, 0.9), cells=40)
    it = solve_iterative(prob, coarse_cells=8)
    assert np.max(np.abs(it.moment)) > 0.1 * prob.scale / np.sqrt(prob.cells)
    spec = make_problem("rashba", 5.0, 1.0, cells=40)
    assert len(spec.modes) >= 1 and solve_iterative(spec).null_modes == len(spec.modes)


@pytest.mark.parametrize("walls", [0.0, (0.0, 0.9)], ids=["diffuse", "asymmetric"])
def test_iteration_count_flat_in_width(walls):
    counts = {}
    for ratio in (1, 10, 100):
        prob = make_problem("rashba", float(ratio), walls, cells=8 * ratio)
        counts[ratio] = solve_iterative(prob).iterations
    # measured 1, 4, 6 (see module docstring)
    assert max(counts.values()) <= 9, counts
    assert counts[100] <= counts[10] + 3, counts


def test_small_coarse_grid_still_converges():
    # measured 11 iterations with 8 coarse cells at W/l = 100 (800 fine cells)
    prob = make_problem("rashba", 100.0, 0.0, cells=800)
    it = solve_iterative(prob, coarse_cells=8)
    assert it.iterations <= 16
    assert it.consistency < 1e-8


def test_coarse_groups_partition_the_mesh():
    faces = mk.Strip(100 * ELL, 0.0, cells=800).faces(ELL)
    for groups in (2, 8, 64, 799, 800, 5000):
        keep = coarse_groups(faces, groups)
        assert keep[0] == 0 and keep[-1] == len(faces) - 1
        assert np.all(np.diff(keep) >= 1)
        assert len(keep) == min(groups, len(faces) - 1) + 1


def test_exact_coarse_grid_needs_no_iterations():
    prob = make_problem("rashba", 2.0, (0.5, 0.9), cells=20)
    assert solve_iterative(prob, coarse_cells=64).iterations <= 1


def test_maxiter_too_small_raises():
    prob = make_problem("rashba", 100.0, 0.0, cells=400)
    with pytest.raises(RuntimeError, match="did not converge"):
        solve_iterative(prob, maxiter=1, coarse_cells=4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tol=0.0), "tol"),
        (dict(tol=-1e-8), "tol"),
        (dict(tol=float("nan")), "tol"),
        (dict(tol=1.0), "tol"),
        (dict(maxiter=0), "maxiter"),
        (dict(maxiter=-3), "maxiter"),
        (dict(maxiter=2.5), "maxiter"),
        (dict(coarse_cells=1), "coarse_cells"),
    ],
)
def test_bad_parameters(kwargs, match):
    prob = make_problem("parabolic", 2.0, 0.0, cells=8)
    with pytest.raises(ValueError, match=match):
        solve_iterative(prob, **kwargs)
