"""Lattice benchmarks (issue 5): a plain script, ``python benchmarks/bench_lattice.py``.

1. A 2D four-band lattice model (Qi-Wu-Zhang x spin with Rashba-type coupling and
   exchange, metallic): the cheapest Brillouin-zone numerics that give the uniform
   response (sigma_xx total, sigma_xy intrinsic and disorder, in e^2/h) to 1e-4 relative,
   and the time of that solve.
2. A 3D random 18-orbital tight-binding model (27 R vectors): intrinsic Fermi-sea
   response (anomalous Hall, three charge currents) on a 64^3 grid, chunked: time and
   peak memory (each case in a fresh subprocess, peak RSS from getrusage), and how both
   scale with the grid.

Options: ``--quick`` runs smaller 3D grids only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np


def four_band_model():
    from mesokinetics.models import TightBinding
    from mesokinetics.models.base import PAULI

    t0, sx, sy, sz = np.eye(2), *PAULI
    u, lam, jex, a = 1.2, 0.3, 0.2, 0.5
    hops = {
        (0, 0): u * np.kron(sz, t0) + jex * np.kron(t0, sz),
        (1, 0): 0.5 * np.kron(sz - 1j * sx, t0) + lam / 2j * np.kron(t0, -sy),
        (0, 1): 0.5 * np.kron(sz - 1j * sy, t0) + lam / 2j * np.kron(t0, sx),
    }
    hops[(-1, 0)] = hops[(1, 0)].conj().T
    hops[(0, -1)] = hops[(0, 1)].conj().T
    return TightBinding(np.eye(2) * a, hops, spins=("up", "down") * 2,
                        sites=(0, 0, 1, 1))


def bench_2d():
    import mesokinetics as mk

    model = four_band_model()
    mu = -0.9
    dis = mk.PointDisorder(0.01)

    def solve(**num):
        t = time.perf_counter()
        r = mk.solve_uniform(model, dis, mu, (1.0, 0.0), **num)
        c = r.conductivity("e2/h")
        return np.array([c.total[0, 0], c.intrinsic[0, 1], c.disorder[0, 1]]), time.perf_counter() - t

    best, tbest = solve(bz_grid=384, bz_refine=5, bz_contour_points=128)
    print(f"2D four-band model, mu = {mu} eV: reference (bz_grid 384, refine 5) "
          f"sigma_xx = {best[0]:.8f}, sigma_xy int = {best[1]:.8f}, dis = {best[2]:.8f} e^2/h "
          f"({tbest:.1f} s)")
    rows = []
    for grid in (48, 96, 192):
        for refine in (1, 2, 3, 4):
            val, dt = solve(bz_grid=grid, bz_refine=refine)
            err = np.max(np.abs(val - best) / np.abs(best))
            rows.append((grid, refine, err, dt))
            print(f"  bz_grid {grid:4d} refine {refine}: max rel. error {err:.2e}  time {dt:.2f} s")
    ok = [r for r in rows if r[2] < 1e-4]
    if ok:
        g, rf, err, dt = min(ok, key=lambda r: r[3])
        print(f"  -> cheapest to 1e-4: bz_grid {g}, refine {rf}: {dt:.2f} s (error {err:.1e})")
    return rows


def random_model_3d(norb=18, seed=7):
    from mesokinetics.models import TightBinding

    rng = np.random.default_rng(seed)
    hops = {}
    for r in np.ndindex(3, 3, 3):
        r = tuple(x - 1 for x in r)
        if r in hops:
            continue
        scale = 0.3 / (1 + np.sum(np.abs(r)))
        m = scale * (rng.normal(size=(norb, norb)) + 1j * rng.normal(size=(norb, norb)))
        if not any(r):
            m = m + m.conj().T + np.diag(rng.uniform(-2, 2, norb))
        hops[r] = m
        hops[tuple(-x for x in r)] = m.conj().T
    return TightBinding(np.eye(3) * 0.4, hops)


def run_3d_case(grid, refine, cell, chunk):
    """One 3D case (in a subprocess): time, peak RSS and the result."""
    import resource

    from mesokinetics import operators as ops
    from mesokinetics.numerics import Numerics
    from mesokinetics.sampling import sample_sea
    from mesokinetics.topology import intrinsic_response

    model = random_model_3d()
    num = Numerics(bz_grid=grid, bz_refine=refine, bz_cell_points=cell, bz_chunk=chunk)
    t = time.perf_counter()
    sea = sample_sea(model, 0.0, num)
    t_sea = time.perf_counter() - t
    cur = [ops.charge_current(model, i) for i in range(3)]
    sigma = intrinsic_response(model, 0.0, cur, num, sea=sea)
    total = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB (Linux: kB)
    return {"grid": grid, "refine": refine, "cell": cell, "chunk": chunk, "points": len(sea.weight),
            "t_sea": t_sea, "t_total": total, "peak_mb": peak,
            "sigma_xy": float(sigma[0, 1]), "sigma_yz": float(sigma[1, 2])}


def bench_3d(grids):
    print("3D random 18-orbital model, intrinsic Hall (3 currents), mu = 0 eV, chunked")
    for grid, refine, cell, chunk in grids:
        out = subprocess.run([sys.executable, __file__, "--case", str(grid), str(refine),
                              str(cell), str(chunk)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  grid {r['grid']}^3 refine {r['refine']} cell_points {r['cell']} chunk {r['chunk']}: "
              f"{r['points']} sea points, sampling {r['t_sea']:.1f} s, total {r['t_total']:.1f} s, "
              f"peak RSS {r['peak_mb']:.0f} MB, sigma_xy = {r['sigma_xy']:.6e} e^2/(hbar nm)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        g, rf, c, ch = map(int, sys.argv[2:6])
        print(json.dumps(run_3d_case(g, rf, c, ch)))
        sys.exit(0)
    quick = "--quick" in sys.argv
    if not quick:
        bench_2d()
    cases = [(16, 0, 1, 8192), (32, 0, 1, 8192)]
    if not quick:
        cases += [(48, 0, 1, 8192), (64, 0, 1, 8192), (64, 0, 1, 2048)]
    bench_3d(cases)
