"""Slab solver benchmark (issue 3): time and memory, scaling, and a comparison with a plain
first-order upwind finite-difference solve with source iteration at equal accuracy.

Rashba strip (m = 1 m_e, alpha = 0.1 eV nm, mu = 0.2 eV, l = 20 nm), W = 20 l, diffuse
walls, field along x. "All contributions of spin and current": the four contributions of
<s_x>, <s_y>, <s_z>, j_x, j_y profiles.

Usage: python benchmarks/bench_slab.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.boltzmann.slab import SlabProblem
from mesokinetics.response import bulk_reference
from mesokinetics.models import RashbaFerromagnet

ELL, MU = 20.0, 0.2
MODEL = RashbaFerromagnet(mass=1.0, alpha=0.1)
DISORDER = mk.PointDisorder.from_mean_free_path(MODEL, MU, ELL)


def run(cells: int, angles: int, width: float = 20 * ELL):
    r = mk.solve_slab(MODEL, DISORDER, mk.Strip(width, 0.0, cells=cells), MU, (1.0, 0.0), angles=angles)
    out = [r.density(op) for op in (ops.spin(MODEL, a) for a in "xyz")]
    out += [r.density(ops.charge_current(MODEL, a)) for a in "xy"]
    return r, out


def best_time(fn, repeat=3):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def peak_memory(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def edge_quantities(r) -> np.ndarray:
    """G/G0 and int_0^{l/2} <s_z> dy: quantities defined on any mesh."""
    faces, w = r.faces, r.widths
    inside = np.clip((0.5 * ELL - faces[:-1]) / w, 0.0, 1.0)
    sz = r.density(ops.spin(MODEL, "z")).total
    return np.array([r.conductance_ratio(), np.sum(sz * w * inside)])


# --- the baseline: first-order upwind finite differences + source iteration -------------
def upwind_source_iteration(cells: int, angles: int, width: float, tol: float = 1e-8,
                            max_iter: int = 20000):
    """Uniform grid, g at cell centres, first-order upwind v_y dg/dy, diffuse walls
    (C from zero flux each iteration), S updated from g each iteration (source iteration),
    neutrality by removing the mean charge. Returns (G/G0, Sz_edge, iterations)."""
    bulk, _ = bulk_reference(MODEL, DISORDER, MU, np.array([1.0, 0.0]), 0.0, 24,
                             mk.Numerics(angles=angles), 1, "a strip")
    sol = bulk.nodes[0].solution
    faces = np.linspace(0.0, width, cells + 1)
    prob = SlabProblem(
        sol.shell, faces, sol.tau, *_shell_data(sol, bulk))
    h = width / cells
    vy, tau, up = prob.velocity_normal, prob.tau, prob.up
    s = np.zeros((cells, prob.traces.shape[1]))
    g = np.zeros((len(vy), cells))
    a = np.abs(vy) / h
    denom = 1.0 / tau + a
    for it in range(1, max_iter + 1):
        q = prob.sources(s)
        # wall constants from the outgoing values of the previous iterate
        c_bottom = -np.sum(np.where(~up, prob.flux * g[:, 0], 0)) / np.sum(np.where(up, prob.flux, 0))
        c_top = -np.sum(np.where(up, prob.flux * g[:, -1], 0)) / np.sum(np.where(~up, prob.flux, 0))
        new = np.empty_like(g)
        prev = np.where(up, c_bottom, c_top)
        for j in range(cells):  # upwind sweeps, both directions at once
            jj = np.where(up, j, cells - 1 - j)
            val = (q[np.arange(len(vy)), jj] + a * prev) / denom
            new[np.arange(len(vy)), jj] = val
            prev = val
        charge = (prob.shell.weight * prob.shell.multiplicity) @ new
        new -= charge.mean() / np.sum(prob.shell.weight * prob.shell.multiplicity)
        s_new = new.T @ prob.wt
        change = np.max(np.abs(s_new - s)) / max(np.max(np.abs(s_new)), 1e-300)
        g, s = new, s_new
        if change < tol:
            break
    jx = (-prob.shell.velocity[:, 0] * prob.shell.weight) @ g
    sigma = bulk.conductivity("internal").total[0, 0]
    ratio = np.sum(jx * h) / (sigma * width)
    from mesokinetics.coherence import gradient_kernel

    op = ops.spin(MODEL, "z")
    kern = gradient_kernel(sol.shell.bands, sol.shell.eigen_mask, op.in_eigenbasis(sol.shell.bands))[:, 1]
    # gradient from cell-centre differences (first order), the FD solver's natural choice
    grad = np.gradient(g, h, axis=1)
    sz = (sol.shell.weight * kern) @ grad
    centers = 0.5 * (faces[1:] + faces[:-1])
    inside = np.clip((0.5 * ELL - faces[:-1]) / h, 0.0, 1.0)
    del centers
    return np.array([ratio, np.sum(sz * h * inside)]), it


def _shell_data(sol, bulk):
    from mesokinetics.disorder import shell_traces
    from mesokinetics.units import ELECTRON_CHARGE

    shell = sol.shell
    traces = shell_traces(shell)
    coupling = DISORDER.gamma / shell.multiplicity
    vy = shell.velocity[:, 1]
    return (traces, coupling, ELECTRON_CHARGE * shell.velocity @ np.array([1.0, 0.0]), vy,
            np.arange(len(vy)), np.zeros(len(vy)), (0, 1),
            (shell.weight @ traces)[None, :], np.ones((len(vy), 1)), sol.dos)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write the numbers to this file")
    args = parser.parse_args()
    report = {}

    angles = 512  # about 528 shell points per band with the grazing-refined rule
    r, _ = run(400, angles)
    npts = len(r.solution.shell)
    t = best_time(lambda: run(400, angles), repeat=1 if args.quick else 3)
    mem = peak_memory(lambda: run(400, angles))
    print(f"(a) W = 20 l, 400 cells, {npts} shell points ({npts // 2} per band), all contributions "
          f"of s_x, s_y, s_z, j_x, j_y: {t:.2f} s, peak traced memory {mem:.0f} MB")
    report["target"] = dict(cells=400, shell_points=npts, seconds=t, peak_mb=mem)

    print("\n(b) time vs cells (angles = 128) and vs shell points (cells = 200)")
    print("| cells | s |\n|---|---|")
    for cells in ([100, 200, 400] if args.quick else [100, 200, 400, 800]):
        tc = best_time(lambda: run(cells, 128), repeat=1)
        report.setdefault("cells", {})[cells] = tc
        print(f"| {cells} | {tc:.3f} |")
    print("| angles | shell points | s |\n|---|---|---|")
    for ang in ([128, 256, 512] if args.quick else [128, 256, 512, 1024]):
        rr, _ = run(200, ang)
        ta = best_time(lambda: run(200, ang), repeat=1)
        report.setdefault("angles", {})[ang] = ta
        print(f"| {ang} | {len(rr.solution.shell)} | {ta:.3f} |")

    print("\n(c) exact characteristics + direct solve vs first-order upwind FD + source iteration")
    reference = edge_quantities(run(800, 256)[0])
    exact_cells = 100
    t_exact = best_time(lambda: run(exact_cells, 256), repeat=1)
    err_exact = np.abs(edge_quantities(run(exact_cells, 256)[0]) / reference - 1)
    print(f"exact, {exact_cells} graded cells: errors G/G0 {err_exact[0]:.1e}, Sz_edge {err_exact[1]:.1e}, {t_exact:.2f} s")
    for cells in ([400, 1600] if args.quick else [400, 1600, 6400]):
        t0 = time.perf_counter()
        val, iters = upwind_source_iteration(cells, 256, 20 * ELL)
        tf = time.perf_counter() - t0
        err = np.abs(val / reference - 1)
        print(f"upwind FD, {cells} uniform cells: errors G/G0 {err[0]:.1e}, Sz_edge {err[1]:.1e}, "
              f"{iters} source iterations, {tf:.1f} s (ratio to exact {tf / t_exact:.0f}x)")
        report.setdefault("upwind", {})[cells] = dict(err=err.tolist(), iterations=iters, seconds=tf)
    report["exact"] = dict(cells=exact_cells, err=err_exact.tolist(), seconds=t_exact)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
