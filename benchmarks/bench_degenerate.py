"""Cost of the matrix distributions of degenerate bands against the scalar path on the same
shell (issue 13: the degenerate path should cost at most twice the scalar one).

For each model: the uniform solve on the Fermi shell (``solve_shell``) and the intraband +
disorder densities of one operator, with ``matrix=True`` (the default: w_n^2 components per
point of a degenerate band, docs/theory.md §12) and ``matrix=False`` (one scalar per point);
and a film (``solve_slab``) with the two uniform solutions. Times are the best of
``--repeat`` runs (seconds), on one thread if the BLAS honours OMP_NUM_THREADS=1.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_degenerate.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.boltzmann.slab import solve_slab_shell
from mesokinetics.boltzmann.uniform import solve_shell
from mesokinetics.coherence import disorder_density, intraband_density
from mesokinetics.models import OrbitalTexture, SpinOrbitTexture
from mesokinetics.models.lattice import POrbital
from mesokinetics.sampling import sample_shell


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def uniform_case(model, mu, disorder, repeat, **numerics):
    shell = sample_shell(model, mu, mk.Numerics(**numerics))
    op = ops.current(model, np.eye(model.size), 0)
    op_eig = op.in_eigenbasis(shell.bands)
    row = {"points": len(shell)}
    for matrix in (False, True):
        t_solve, sol = best(lambda: solve_shell(shell, disorder, matrix=matrix), repeat)
        kw = {"blocks": sol.blocks, "block_rho": sol.block_rho}

        def densities():
            intraband_density(shell, sol.g, op_eig, **kw)
            disorder_density(shell, sol.g, sol.moment, sol.dos, disorder.gamma, op_eig, **kw)

        t_dens, _ = best(densities, repeat)
        row["matrix" if matrix else "scalar"] = (t_solve, t_dens, sol)
    return shell, row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    cases = [
        ("OrbitalTexture 2D (one doublet)", OrbitalTexture(mass=1.0, texture=0.05, dim=2), 0.3, 100.0, {}),
        ("POrbital lambda L.S (3 Kramers pairs)", POrbital(crystal_field=0.3, spin_orbit=0.3), 0.5, 30.0, {}),
        ("SpinOrbitTexture 3D (3 Kramers pairs)", SpinOrbitTexture(spin_orbit=0.2), 0.3, 40.0, {}),
    ]
    print(f"{'model':40s} {'points':>6s} {'solve s/m (ms)':>18s} {'ratio':>6s} "
          f"{'densities s/m (ms)':>20s} {'ratio':>6s} {'film s/m (s)':>16s} {'ratio':>6s}")
    for name, model, mu, tau, num in cases:
        disorder = mk.PointDisorder.from_tau(model, mu, tau)
        shell, row = uniform_case(model, mu, disorder, args.repeat, **num)
        slab = mk.Strip(50.0, 0.0, cells=16) if model.dim == 2 else mk.Film(50.0, 0.0, cells=16, normal="z")
        faces = slab.faces(20.0)
        field = np.eye(model.dim)[0] * 1e-3
        film = {}
        for key in ("scalar", "matrix"):
            sol = row[key][2]
            film[key], _ = best(lambda: solve_slab_shell(shell, disorder, slab, field, faces, sol),
                                max(1, args.repeat // 2))
        (ss, ds, _), (sm, dm, _) = row["scalar"], row["matrix"]
        print(f"{name:40s} {row['points']:6d} {1e3 * ss:8.2f} / {1e3 * sm:7.2f} {sm / ss:6.2f} "
              f"{1e3 * ds:9.2f} / {1e3 * dm:8.2f} {dm / ds:6.2f} "
              f"{film['scalar']:7.2f} / {film['matrix']:6.2f} {film['matrix'] / film['scalar']:6.2f}")


if __name__ == "__main__":
    main()
