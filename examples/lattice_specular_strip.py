"""Specular walls on a lattice strip without the wall mirror, against the continuum strip.

The square-lattice Rashba ferromagnet (``RashbaLattice``: m = 1 m_e, alpha = 0.05 eV nm,
J_e = 0.1 eV, m in the plane along the strip, mu = 0.3 eV, l = 20 nm) in a strip of width
2 l with partly specular walls (p = 0.5) and the field along the strip. Its Fermi loops are
not mirror symmetric about the walls, so specular reflection pairs the states of equal
momentum along the wall, loop by loop (docs/theory.md §8, docs/slab.md). Its low-filling
limit is the continuum ``RashbaFerromagnet``, whose strip is validated separately
(tests/test_specular_asymmetric.py); the lattice corrections are O((k_F a)^2).

The script ends by checking (lines starting with "check:"; AssertionError on failure):
that the specular partners carry opposite particle fluxes, that the lattice strip approaches
the continuum strip as a^2 (the ratio of the differences per halving of a, for the
conductance ratio and the wall accumulation of <s_y>), and that the Richardson extrapolation
of a = 0.05 and 0.025 nm meets the continuum.

Numerics are fixed (tol=None: 40 cells, 128 points per loop, 256 angles for the continuum), so
that every lattice constant is solved on the same mesh; at these numerics the quadrature is
converged far below the lattice corrections (tests/test_specular_lattice.py).

Run: python examples/lattice_specular_strip.py [--out out]
"""

from __future__ import annotations

import argparse
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics.boltzmann.walls import mirror_partners  # noqa: E402
from mesokinetics.models import RashbaFerromagnet, RashbaLattice  # noqa: E402
from mesokinetics.plotting import save_figure  # noqa: E402
from _checks import check, finish_checks  # noqa: E402  (examples/_checks.py, shared)

ELL = 20.0  # mean free path (nm)
FIELD = (1e-3, 0.0)  # V/nm, along the strip; the walls are normal to y
MU = 0.3  # eV
P = 0.5  # specularity of both walls
PARAMS = dict(mass=1.0, alpha=0.05, exchange=0.1, magnetization=(1, 0, 0))
SPACINGS = (0.1, 0.05, 0.025)  # lattice constants a (nm)


def solve(model, **numerics):
    """The strip of ``model`` at the fixed numerics of the study."""
    disorder = mk.PointDisorder.from_mean_free_path(model, MU, ELL)
    with warnings.catch_warnings():
        # the bands cross at k = 0, far below mu: gap x tau = 5.9 at the Fermi level, reported
        warnings.simplefilter("ignore", mk.ValidityWarning)
        return mk.solve_slab(model, disorder, mk.Strip(2 * ELL, P, cells=40), MU, FIELD,
                             tol=None, **numerics)


def main(out: str) -> None:
    spin = ops.spin(RashbaFerromagnet(**PARAMS), "y")  # the same 2 x 2 matrix on the lattice
    cont = solve(RashbaFerromagnet(**PARAMS), angles=256)
    lattice = {a: solve(RashbaLattice(lattice_constant=a, **PARAMS), bz_contour_points=128)
               for a in SPACINGS}

    def values(r):
        return np.array([r.conductance_ratio(), r.accumulation(spin).total[0]])

    ref = values(cont)
    diff = {a: (values(r) - ref) / np.abs(ref) for a, r in lattice.items()}
    for a in SPACINGS:
        print(f"a = {a} nm: G/G_bulk {values(lattice[a])[0]:.9f} (continuum {ref[0]:.9f}), "
              f"wall <s_y> accumulation {values(lattice[a])[1]:.6e} (continuum {ref[1]:.6e}) "
              "hbar/nm^2")

    shell = lattice[SPACINGS[0]].solution.shell
    partner = mirror_partners(shell, 1)
    flux = shell.weight * shell.velocity[:, 1]
    check("specular partners carry opposite particle fluxes",
          float(np.max(np.abs(flux + flux[partner]) / np.abs(flux))), 1e-14,
          f"{len(shell)} shell points, equal k_t in each pair")
    for i, name in enumerate(("conductance ratio", "wall <s_y> accumulation")):
        ratios = [diff[a][i] / diff[a / 2][i] for a in SPACINGS[:2]]
        # (k_F a)^2 corrections: 4 per halving; measured 4.02-4.07
        check(f"{name}: lattice - continuum shrinks as a^2",
              max(abs(r - 4.0) for r in ratios), 0.3,
              "ratios per halving of a " + ", ".join(f"{r:.3f}" for r in ratios))
        rich = (4 * diff[SPACINGS[2]][i] - diff[SPACINGS[1]][i]) / 3
        # measured 9e-8 (conductance) and 3.4e-6 (accumulation): the a^4 remainder
        check(f"{name}: Richardson extrapolation (a = 0.05, 0.025 nm) meets the continuum",
              abs(rich), (3e-7, 1e-5)[i], f"relative {rich:+.2e}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    y = cont.centers / ELL
    left.plot(y, cont.accumulation(spin).total, "k-", lw=2, label="continuum")
    for a in SPACINGS:
        left.plot(lattice[a].centers / ELL, lattice[a].accumulation(spin).total, "--",
                  label=f"lattice a = {a} nm")
    left.set_xlabel("y / l")
    left.set_ylabel(r"$\langle s_y\rangle$ - bulk (hbar nm$^{-2}$)")
    left.set_title(f"Rashba ferromagnet strip, m along the wall, p = {P}")
    left.legend(fontsize=8)
    a = np.array(SPACINGS)
    for i, name in enumerate(("G/G_bulk", r"wall $\langle s_y\rangle$ accumulation")):
        right.loglog(a, [abs(diff[x][i]) for x in SPACINGS], "o-", label=name)
    right.loglog(a, abs(diff[SPACINGS[0]][1]) * (a / a[0]) ** 2, "k:", label=r"$\propto a^2$")
    right.set_xlabel("lattice constant a (nm)")
    right.set_ylabel("|lattice / continuum - 1|")
    right.legend(fontsize=8)
    fig.tight_layout()
    print("wrote", save_figure(fig, f"{out}/lattice_specular_strip.png"))
    finish_checks()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (created if missing)")
    main(parser.parse_args().out)
