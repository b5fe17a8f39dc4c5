"""Fermi-level scan against a loop of solve_uniform (issue 14, item 3).

    python benchmarks/bench_scan.py [n_mus] [bz_grid]

Model: the square-lattice p-orbital model with orbital Rashba, spin-orbit coupling and
exchange (6 bands; POrbital), observables: orbital and spin Hall currents and the charge
conductivity; n_mus (default 20) chemical potentials in 0.4..0.6 eV. Prints wall and CPU
times of the scan and of the loop, the speed-up and the largest relative difference.
"""

import sys
import time
import warnings

import numpy as np

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import POrbital


def main(n_mus: int = 20, bz_grid: int = 48) -> None:
    warnings.simplefilter("ignore")
    model = POrbital(orbital_rashba=0.1, spin_orbit=0.1, exchange=0.05)
    disorder = mk.PointDisorder(1e-3)
    mus = np.linspace(0.4, 0.6, n_mus)
    observables = [ops.orbital_current(model, "z", "y"), ops.spin_current(model, "z", "y")]
    w0, c0 = time.perf_counter(), time.process_time()
    scan = mk.scan_fermi_level(model, disorder, mus, (1e-3, 0.0), bz_grid=bz_grid)
    got = [r.intrinsic[:, 0] for r in scan.responses(observables)]
    sigma = scan.conductivity("internal").total
    w1, c1 = time.perf_counter(), time.process_time()
    worst = 0.0
    for i, mu in enumerate(mus):
        r = mk.solve_uniform(model, disorder, mu, (1e-3, 0.0), bz_grid=bz_grid)
        for op, g in zip(observables, got):
            worst = max(worst, abs(r.response(op).intrinsic[0] - g[i]) / np.abs(g).max())
        worst = max(worst, np.abs(r.conductivity("internal").total - sigma[i]).max()
                    / np.abs(sigma[i]).max())
    w2, c2 = time.perf_counter(), time.process_time()
    print(f"{n_mus} mus, bz_grid {bz_grid}: scan {w1 - w0:.1f} s wall ({c1 - c0:.1f} s CPU), "
          f"loop of solve_uniform {w2 - w1:.1f} s wall ({c2 - c1:.1f} s CPU): speed-up "
          f"{(w2 - w1) / (w1 - w0):.2f} wall, {(c2 - c1) / (c1 - c0):.2f} CPU; largest "
          f"relative difference {worst:.2e}")


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:3]))
