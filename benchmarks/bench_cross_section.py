"""Benchmark of the cross-section solver (issues 7, 15): plain script, prints tables.

Model: the 3D "Rashba film" h = k^2/2m + alpha (s_x k_y - s_y k_x) + J s_y, J = 0.05 eV
along y, so that the field also drives charge accumulation (the slowest mode of the outer
solve); a square cross-section of 10 mean free paths, diffuse walls.

1. Transport sweeps against the SuperLU path (``transport="splu"``): CPU time, wall time
   and peak RSS of one ``solve_cross_section``-equivalent solve, each case in a fresh
   subprocess (peak RSS = the child's ru_maxrss), for n x n cells (32, 64, 96, 128) and P
   shell points ("directions": 2 bands x polar x azimuth rays, 256 ... 2048), the scaling
   exponents, and the time of one sweep of all directions against the sweep floor
   (cells x directions x flops per cell at one flop per cycle per core).
2. Outer GMRES iterations against the cross-section size (2 ... 1000 l), sweeps and
   SuperLU, with the diffusion preconditioner.
3. Triangles (Gmsh disk of 10 l, h = 0.5 and 0.25 l): the second-order linear discontinuous
   sweeps (the default on general meshes) against the first-order upwind sweeps
   (``scheme="upwind"``): CPU, wall, peak RSS (fresh subprocess each), outer iterations and
   one transport; and the outer iterations on disks of 2 ... 1000 l with ~120 triangles.

    python benchmarks/bench_cross_section.py [--cells 32 64 96 128] [--points 256 512 1024 2048]
        [--splu-limit-gb 6] [--iterations-only] [--no-iterations] [--no-triangles]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

# flops per cell and direction of the weighted diamond sweep (grid kernel: numerator 4,
# denominator 2, division 1, two edge closures 4 + 4; the source q = src + c T.s formed in
# the kernel, 2 x 4 for the N^2 = 4 coefficients of a two-band model; stores excluded)
FLOPS_PER_CELL = 23
# SuperLU path: bytes per cell-direction measured at 64 x 64 x 512 (factors + assembly)
SPLU_BYTES = 700

RAYS = {256: (8, 16), 512: (8, 32), 1024: (16, 32), 2048: (16, 64), 4096: (32, 64)}


def rashba_film(mass=1.0, alpha=0.1, exchange_y=0.05):
    from mesokinetics.models import RashbaFerromagnet

    return RashbaFerromagnet(mass=mass, alpha=alpha, exchange=exchange_y,
                             magnetization=(0.0, 1.0, 0.0), dim=3)


def setup(points, ell=20.0):
    import mesokinetics as mk
    from mesokinetics.response import bulk_reference

    model = rashba_film()
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ell)
    polar, azimuth = RAYS[points]
    field = np.array([1e-3, 0.0, 0.0])
    bulk, _ = bulk_reference(model, disorder, 0.2, field, 0.0, 24,
                             mk.Numerics(polar=polar, azimuth=azimuth, grazing_panels=1), 0,
                             "a wire")
    uni = [n.solution for n in bulk.nodes if n.solution is not None][0]
    return model, disorder, field, uni


def solve_once(cells, points, transport, size_l=10.0, ell=20.0, precondition=True):
    """One section solve (the driver's SectionProblem + SectionSolver); returns a dict."""
    from mesokinetics import Rectangle
    from mesokinetics.boltzmann.section import SectionProblem, SectionSolver

    model, disorder, field, uni = setup(points, ell)
    rect = Rectangle(size_l * ell, size_l * ell, 0.0, cells=cells)
    mesh = rect.section_mesh((1, 2))
    c0, t0 = time.process_time(), time.perf_counter()
    prob = SectionProblem(uni.shell, disorder, mesh, rect.wall_models(mesh.region_names),
                          field, uni, transport=transport)
    solver = SectionSolver(prob)
    sol = solver.solve(maxiter=2000, precondition=precondition)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the timing below
    # one transport of all directions as the outer solve does it (the floor's counterpart)
    q = prob.volume_source(prob.moments(sol.g), True)
    per_sweep = np.inf  # best of 5 (the machine is shared)
    for _ in range(5):
        t1 = time.perf_counter()
        prob.solve_transport(q)
        per_sweep = min(per_sweep, time.perf_counter() - t1)
    return {"cells": cells, "points": len(uni.shell), "transport": transport,
            "cpu": cpu, "wall": wall, "iterations": sol.iterations, "sweep": per_sweep,
            "setup": prob.timings["setup"],
            "rss_mb": rss,
            "residual": sol.residual}


def solve_disk(h_l, points, scheme, size_l=10.0, ell=20.0):
    """One section solve on a Gmsh disk of diameter size_l l with triangles of h_l l, sweeps
    with ``scheme`` ('auto': linear discontinuous; 'upwind'); returns a dict."""
    from mesokinetics import disk
    from mesokinetics.boltzmann.section import SectionProblem, SectionSolver

    model, disorder, field, uni = setup(points, ell)
    sec = disk(size_l * ell / 2, h_l * ell)
    mesh = sec.section_mesh((1, 2))
    c0, t0 = time.process_time(), time.perf_counter()
    prob = SectionProblem(uni.shell, disorder, mesh, sec.wall_models(mesh.region_names),
                          field, uni, scheme=scheme)
    sol = SectionSolver(prob).solve(maxiter=2000)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    q = prob.volume_source(prob.moments(sol.g), True)
    per_sweep = np.inf
    for _ in range(5):
        t1 = time.perf_counter()
        prob.solve_transport(q)
        per_sweep = min(per_sweep, time.perf_counter() - t1)
    return {"cells": mesh.cells, "points": len(uni.shell), "scheme": prob.scheme, "cpu": cpu,
            "wall": wall, "iterations": sol.iterations, "sweep": per_sweep, "rss_mb": rss,
            "residual": sol.residual}


def child(args):
    if args.case[2].startswith("disk:"):
        out = solve_disk(args.case[0] / 1000, args.case[1], args.case[2][5:])
    else:
        out = solve_once(args.case[0], args.case[1], args.case[2])
    print(json.dumps(out))


def run_case(cells, points, transport):
    cmd = [sys.executable, __file__, "--case", str(cells), str(points), transport]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                                                   "PYTHONWARNINGS": "ignore"})
    if res.returncode != 0:
        return {"cells": cells, "points": points, "transport": transport,
                "error": res.stderr.strip().splitlines()[-1] if res.stderr else "failed"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def exponent(xs, ys):
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = np.isfinite(ys) & (ys > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(xs[ok]), np.log(ys[ok]), 1)[0])


def clock_hz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":")[1]) * 1e6
    except OSError:
        pass
    return 2e9


def table(cells_list, points_list, limit_gb):
    cores = os.cpu_count() or 1
    rate = clock_hz() * cores  # one flop per cycle per core
    rows = {}
    print(f"# sweeps vs SuperLU, Rashba film (2 bands), 10 l square, diffuse walls; floor at "
          f"{FLOPS_PER_CELL} flops/cell-direction, {rate / 1e9:.1f} Gflop/s ({cores} cores)")
    print("| cells | P | transport | CPU (s) | wall (s) | peak RSS (MB) | outer it. | "
          "one transport (s) | / floor |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in cells_list:
        for p in points_list:
            for transport in ("sweep", "splu"):
                if transport == "splu" and n * n * p * SPLU_BYTES > limit_gb * 2**30:
                    print(f"| {n}^2 | {p} | splu | skipped (estimated "
                          f"{n * n * p * SPLU_BYTES / 2**30:.1f} GB) | | | | | |", flush=True)
                    continue
                r = run_case(n, p, transport)
                rows[n, p, transport] = r
                if "error" in r:
                    print(f"| {n}^2 | {p} | {transport} | error: {r['error']} | | | | | |",
                          flush=True)
                    continue
                floor = n * n * r["points"] * FLOPS_PER_CELL / rate
                print(f"| {n}^2 | {r['points']} | {transport} | {r['cpu']:.2f} | {r['wall']:.2f} | "
                      f"{r['rss_mb']:.0f} | {r['iterations']} | {r['sweep']:.4f} | "
                      f"{r['sweep'] / floor:.1f} |", flush=True)
    print()
    print("scaling exponents (CPU time and peak RSS):")
    for transport in ("sweep", "splu"):
        for p in points_list:
            ns = [n for n in cells_list if "cpu" in rows.get((n, p, transport), {})]
            if len(ns) >= 2:
                print(f"  {transport}, P = {p}: time ~ cells^"
                      f"{exponent([n * n for n in ns], [rows[n, p, transport]['cpu'] for n in ns]):.2f}, "
                      f"one transport ~ cells^"
                      f"{exponent([n * n for n in ns], [rows[n, p, transport]['sweep'] for n in ns]):.2f}")
        for n in cells_list:
            ps = [p for p in points_list if "cpu" in rows.get((n, p, transport), {})]
            if len(ps) >= 2:
                print(f"  {transport}, {n}^2 cells: time ~ P^"
                      f"{exponent(ps, [rows[n, p, transport]['cpu'] for p in ps]):.2f}, "
                      f"one transport ~ P^"
                      f"{exponent(ps, [rows[n, p, transport]['sweep'] for p in ps]):.2f}, "
                      f"RSS ~ P^{exponent(ps, [rows[n, p, transport]['rss_mb'] for p in ps]):.2f}")
    return rows


def iterations(cells=32, points=512):
    print()
    print(f"# outer GMRES iterations vs size, {cells} x {cells} cells, P = {points}, DSA")
    print("| size / l | sweep (diamond) | time (s) | SuperLU (upwind) | time (s) |")
    print("|---|---|---|---|---|")
    for kappa in (2, 10, 50, 200, 1000):
        row = [str(kappa)]
        for transport in ("sweep", "splu"):
            r = solve_once(cells, points, transport, size_l=kappa)
            row += [str(r["iterations"]), f"{r['wall']:.1f}"]
        print("| " + " | ".join(row) + " |", flush=True)


def triangles(points=512):
    print()
    print(f"# triangles: Gmsh disk of 10 l, P = {points}, linear discontinuous (default) vs "
          "first-order upwind sweeps")
    print("| h / l | cells | scheme | CPU (s) | wall (s) | peak RSS (MB) | outer it. | "
          "one transport (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for h_l in (0.5, 0.25):
        for scheme in ("auto", "upwind"):
            r = run_case(int(round(h_l * 1000)), points, "disk:" + scheme)
            if "error" in r:
                print(f"| {h_l} | | {scheme} | error: {r['error']} | | | | |", flush=True)
                continue
            print(f"| {h_l} | {r['cells']} | {r['scheme']} | {r['cpu']:.2f} | {r['wall']:.2f} | "
                  f"{r['rss_mb']:.0f} | {r['iterations']} | {r['sweep']:.4f} |", flush=True)
    print()
    print("# outer iterations on disks with ~120 triangles (cells 0.14 size), P = 256")
    print("| size / l | LD | upwind |")
    print("|---|---|---|")
    for kappa in (2, 20, 200, 1000):
        its = [str(solve_disk(0.14 * kappa, 256, scheme, size_l=kappa)["iterations"])
               for scheme in ("auto", "upwind")]
        print(f"| {kappa} | " + " | ".join(its) + " |", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=3, type=str)
    parser.add_argument("--cells", nargs="+", type=int, default=[32, 64, 96, 128])
    parser.add_argument("--points", nargs="+", type=int, default=[256, 512, 1024, 2048])
    parser.add_argument("--splu-limit-gb", type=float, default=6.0)
    parser.add_argument("--iterations-only", action="store_true")
    parser.add_argument("--no-iterations", action="store_true")
    parser.add_argument("--no-triangles", action="store_true")
    args = parser.parse_args()
    if args.case:
        args.case = [int(args.case[0]), int(args.case[1]), args.case[2]]
        return child(args)
    import warnings

    warnings.simplefilter("ignore")
    if not args.iterations_only:
        table(args.cells, args.points, args.splu_limit_gb)
    if not args.no_iterations:
        iterations()
    if not args.no_triangles and not args.iterations_only:
        triangles()


if __name__ == "__main__":
    main()
