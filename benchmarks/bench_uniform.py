"""Timings of the uniform (bulk) engine: ``python benchmarks/bench_uniform.py [--json FILE]``.

A plain script (no pytest-benchmark): every timing is the best of several repeats after
one warm-up call, measured with time.perf_counter, in milliseconds.

(a) Rashba 2DEG (m = 1 m_e, alpha = 0.1 eV nm, mu = 0.2 eV, tau = 100 fs): a full solve
    plus all terms (intraband, intrinsic, disorder) of <s_y> and of the spin Hall current
    (1/2){s_z, v_y}, at the smallest number of rays that reproduces the Edelstein value
    e m alpha tau E_x / (2 pi) to 1e-6 relative (target: under 50 ms).
(b) The same calculation versus the number of rays (angles = 16 ... 1024).
(c) Random N-band 2D models h = k^2/2m + sum_i k_i A_i + C (as tests/conftest.py), N = 2,
    4, 8, at fixed angles, split into root search, shell sampling, Boltzmann solve, Fermi-sea
    sampling and density evaluation.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics import reference as ref
from mesokinetics.bands import Bands
from mesokinetics.boltzmann import solve_shell
from mesokinetics.models import RashbaFerromagnet, from_callable
from mesokinetics.response import EnergyNode, UniformResponse
from mesokinetics.numerics import Numerics
from mesokinetics.sampling import find_ray_roots, ray_directions, sample_sea, sample_shell
from mesokinetics.units import fs_to_internal, mass_to_internal

MU, TAU_FS, ALPHA, MASS = 0.2, 100.0, 0.1, 1.0  # eV, fs, eV nm, m_e
FIELD = (1.0, 0.0)  # V/nm


def best_time(fn, min_repeats: int = 5, budget_s: float = 0.5) -> float:
    """Best wall time of fn() in ms: one warm-up call, then at least ``min_repeats`` calls
    and as many more as fit in ``budget_s`` seconds (at most 200)."""
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    repeats = int(min(200, max(min_repeats, budget_s / max(warm, 1e-9))))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best


# --- (a), (b): Rashba 2DEG ---------------------------------------------------------------
RASHBA = RashbaFerromagnet(mass=MASS, alpha=ALPHA)
EDELSTEIN = ref.edelstein_spin_density(RASHBA.m, ALPHA, fs_to_internal(TAU_FS), FIELD[0])
OPS = (ops.spin(RASHBA, "y"), ops.spin_current(RASHBA, "z", "y"))


def rashba_all_terms(angles: int, disorder: mk.PointDisorder):
    """Solve and evaluate every term of <s_y> and of the spin Hall current."""
    r = mk.solve_uniform(RASHBA, disorder, MU, FIELD, angles=angles)
    return [r.density(op) for op in OPS]


def rashba_disorder(angles: int) -> mk.PointDisorder:
    return mk.PointDisorder.from_tau(RASHBA, MU, TAU_FS, Numerics(angles=angles))


def smallest_angles(target: float = 1e-6) -> tuple[int, float]:
    """Smallest number of rays giving the Edelstein <s_y> to ``target`` relative error."""
    for angles in range(4, 257):  # Numerics requires angles >= 4
        sy, _ = rashba_all_terms(angles, rashba_disorder(angles))
        err = abs(sy.total / EDELSTEIN - 1)
        if err < target:
            return angles, err
    raise RuntimeError("no angles <= 256 reached the target accuracy")


def bench_rashba(angles_list) -> list[dict]:
    rows = []
    for angles in angles_list:
        disorder = rashba_disorder(angles)
        sy, js = rashba_all_terms(angles, disorder)
        rows.append({
            "angles": angles,
            "ms": best_time(lambda: rashba_all_terms(angles, disorder)),
            "root_search_ms": best_time(lambda: find_ray_roots(
                RASHBA, ray_directions(2, Numerics(angles=angles))[0], MU, Numerics(angles=angles))),
            "edelstein_rel_err": abs(sy.total / EDELSTEIN - 1),
            "spin_hall_intrinsic_rel_err": abs(js.intrinsic * 8 * np.pi - 1),
        })
    return rows


# --- (c): random N-band models -------------------------------------------------------------
def random_model(seed: int, n: int, soc: float = 0.05):
    """h(k) = k^2/2m + sum_i k_i A_i + C, random Hermitian A_i (eV nm) and C (eV), m = m_e."""
    rng = np.random.default_rng(seed)

    def herm():
        a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
        return (a + a.conj().T) / 2

    a = np.stack([soc * herm() for _ in range(2)])
    c = 0.05 * herm()
    m = mass_to_internal(1.0)

    def h(k):
        k2 = np.sum(k * k, -1)[:, None, None]
        return k2 / (2 * m) * np.eye(n) + np.einsum("pi,iab->pab", k, a) + c

    def v(k):
        return (k / m)[:, :, None, None] * np.eye(n) + a[None]

    return from_callable(h, 2, velocity=v, momentum_scale=2.0)


def bench_nband(n: int, angles: int, mu: float = 0.3) -> dict:
    model = random_model(2026 + n, n)
    num = Numerics(angles=angles)
    dirs = ray_directions(2, num)[0]
    disorder = mk.PointDisorder(0.02)  # eV^2 nm^2
    rng = np.random.default_rng(n)
    o = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    op = ops.Operator((o + o.conj().T) / 2, name="random")

    roots = find_ray_roots(model, dirs, mu, num)
    shell = sample_shell(model, mu, num, roots)
    sea = sample_sea(model, mu, num, roots)

    sol = solve_shell(shell, disorder)
    node = EnergyNode(1.0, mu, sol, sea)
    cached = UniformResponse(model, disorder, mu, np.array(FIELD), 0.0, num, [node])
    cached.density(op)  # builds the Fermi-sea eigen-decomposition once

    times = {
        "root search": best_time(lambda: find_ray_roots(model, dirs, mu, num)),
        "shell sampling": best_time(lambda: sample_shell(model, mu, num, roots)),
        "Boltzmann solve": best_time(lambda: solve_shell(shell, disorder)),
        "sea sampling": best_time(lambda: sample_sea(model, mu, num, roots)),
        "sea eigenvectors": best_time(lambda: Bands(model, sea.k)),
        "density (1 op)": best_time(lambda: cached.density(op)),
        "full solve_uniform + 1 op": best_time(
            lambda: mk.solve_uniform(model, disorder, mu, FIELD, angles=angles).density(op)),
    }
    return {"N": n, "angles": angles, "shell_points": len(shell), "sea_points": len(sea.weight),
            "null_modes": sol.null_modes, "ms": times}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE")
    parser.add_argument("--nband-angles", type=int, default=64,
                        help="rays for the N-band benchmark (default 64, the package default)")
    args = parser.parse_args(argv)

    print(f"mesokinetics {mk.__version__}, numpy {np.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}; times in ms, best of repeats\n")

    # (a)
    n_min, err = smallest_angles()
    a_rows = bench_rashba(sorted({n_min, 8, 64}))
    print("## (a) Rashba 2DEG, all terms of <s_y> and of the spin Hall current\n")
    print(f"Smallest angles with |<s_y>/Edelstein - 1| < 1e-6: {n_min} (error {err:.1e}).\n")
    print("| angles | time (ms) | Edelstein rel. error | spin Hall intrinsic rel. error |")
    print("|---:|---:|---:|---:|")
    for r in a_rows:
        print(f"| {r['angles']} | {r['ms']:.2f} | {r['edelstein_rel_err']:.1e} "
              f"| {r['spin_hall_intrinsic_rel_err']:.1e} |")

    # (b)
    b_rows = bench_rashba([16, 32, 64, 128, 256, 512, 1024])
    print("\n## (b) Rashba 2DEG versus the number of rays (2 shell points per ray)\n")
    print("| angles | shell points | time (ms) | of which root search (ms) | ms per shell point |")
    print("|---:|---:|---:|---:|---:|")
    for r in b_rows:
        print(f"| {r['angles']} | {2 * r['angles']} | {r['ms']:.2f} | {r['root_search_ms']:.2f} "
              f"| {r['ms'] / (2 * r['angles']):.4f} |")

    # (c)
    c_rows = [bench_nband(n, args.nband_angles) for n in (2, 4, 8)]
    stages = list(c_rows[0]["ms"])
    print(f"\n## (c) Random N-band 2D models, angles = {args.nband_angles}, mu = 0.3 eV\n")
    print("| N | shell pts | sea pts | " + " | ".join(stages) + " |")
    print("|---:|---:|---:|" + "---:|" * len(stages))
    for r in c_rows:
        print(f"| {r['N']} | {r['shell_points']} | {r['sea_points']} | "
              + " | ".join(f"{r['ms'][s]:.2f}" for s in stages) + " |")

    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"smallest_angles": n_min, "smallest_angles_error": err,
                       "rashba": a_rows, "rashba_vs_angles": b_rows, "nband": c_rows},
                      handle, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
