"""Benchmark of solve_cross_section (issue 7): plain script, prints a table.

A 64 x 64 square cross-section, 256 shell directions (polar 8 x azimuth 32) of a two-band
model (the 3D "Rashba film" h = k^2/2m + alpha (s_x k_y - s_y k_x) + J s_y, J = 0.05 eV
along y so that the field also drives charge accumulation: the slowest mode of the outer
solve), diffuse walls. Reports wall time per phase, peak memory, and the outer GMRES
iteration count versus the cross-section size (2, 10, 50 mean free paths) with the
diffusion preconditioner (walls as the transport sees them), with the earlier variant
(zero-flux walls, no upwind diffusion), and without preconditioner.

    python benchmarks/bench_cross_section.py [--cells 64] [--repeat 2]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

import mesokinetics as mk
from mesokinetics import Rectangle, solve_cross_section
from mesokinetics.models import RashbaFerromagnet


def rashba_film(mass=1.0, alpha=0.1, exchange_y=0.05):
    """3D 'Rashba film' h = k^2/2m + alpha (s_x k_y - s_y k_x) + J s_y (no k_z coupling)."""
    return RashbaFerromagnet(mass=mass, alpha=alpha, exchange=exchange_y,
                             magnetization=(0.0, 1.0, 0.0), dim=3)


def run(model, disorder, size, cells, precondition):
    rect = Rectangle(size, size, 0.0, cells=cells)
    t0 = time.perf_counter()
    r = solve_cross_section(model, disorder, rect, 0.2, (1e-3, 0.0, 0.0), polar=8, azimuth=32,
                            precondition=precondition, maxiter=2000)
    return r, time.perf_counter() - t0


def run_zero_flux_walls(model, disorder, size, cells):
    """The previous preconditioner (zero-flux walls, no upwind diffusion), for comparison."""
    from mesokinetics.boltzmann.section import SectionProblem, SectionSolver
    from mesokinetics.response import bulk_reference

    field = np.array([1e-3, 0.0, 0.0])
    t0 = time.perf_counter()
    bulk, _ = bulk_reference(model, disorder, 0.2, field, 0.0, 24,
                             mk.Numerics(polar=8, azimuth=32, grazing_panels=1), 0, "a wire")
    uni = [n.solution for n in bulk.nodes if n.solution is not None][0]
    rect = Rectangle(size, size, 0.0, cells=cells)
    mesh = rect.section_mesh((1, 2))
    prob = SectionProblem(uni.shell, disorder, mesh, rect.wall_models(mesh.region_names), field, uni)
    sol = SectionSolver(prob, numerical_diffusion=False, wall_terms=False).solve(maxiter=2000)
    return sol, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    ell = 20.0
    model = rashba_film()
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ell)

    print(f"# {args.cells} x {args.cells} cells, 256 rays x 2 bands, two-band model")
    tracemalloc.start()
    times = []
    for _ in range(args.repeat):
        r, wall = run(model, disorder, 10 * ell, args.cells, True)
        times.append(wall)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sol = r.solution
    print(f"shell points: {len(sol.shell)}, cells: {r.mesh.cells}, "
          f"unknowns of the outer solve: {r.mesh.cells * 4}")
    print(f"wall time (10 l): {', '.join(f'{t:.2f}' for t in times)} s "
          f"(factorize {sol.timings['factorize']:.2f} s, Krylov + finish {sol.timings['krylov']:.2f} s)")
    print(f"peak traced memory {peak / 2**20:.0f} MiB, max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    print(f"iterations {sol.iterations}, residual {sol.residual:.1e}")
    print()
    print("| size / l | cells | iterations (DSA) | time (s) | iterations (DSA, zero-flux walls) "
          "| time (s) | iterations (none) | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for kappa in (2, 10, 50):
        row = [f"{kappa}", f"{args.cells}"]
        r, wall = run(model, disorder, kappa * ell, args.cells, True)
        row += [str(r.solution.iterations), f"{wall:.1f}"]
        sol, wall = run_zero_flux_walls(model, disorder, kappa * ell, args.cells)
        row += [str(sol.iterations), f"{wall:.1f}"]
        r, wall = run(model, disorder, kappa * ell, args.cells, False)
        row += [str(r.solution.iterations), f"{wall:.1f}"]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
