"""Spatially resolved spin-orbit torque in a Rashba ferromagnet strip.

Paper Eq. (11) with m along z (m = 1 m_e, alpha = 0.05 eV nm, J_e = 0.1 eV, mu = 0.3 eV,
l = 20 nm), strip of width 10 l with diffuse walls, field E_x. The torque density is
T = J_e m x <sigma>. In the bulk the damping-like part (<sigma_x>) cancels exactly between
the intrinsic and disorder terms (paper Eqs. 12-15); near the walls the disorder term
follows the local distributions and the cancellation is lifted, and the gradient term adds
an out-of-plane <sigma_z>. The field-like part (<sigma_y>) is the Edelstein response.

Run: python examples/rashba_ferromagnet_strip.py [--out out]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics.models import RashbaFerromagnet  # noqa: E402
from mesokinetics.plotting import plot_profile, save_figure  # noqa: E402

ELL = 20.0  # mean free path (nm)
FIELD = 1e-3  # V/nm
EXCHANGE = 0.1  # eV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    args = parser.parse_args()

    model = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=EXCHANGE)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.3, ELL)
    strip = mk.Strip(10 * ELL, 0.0, cells=160)
    r = mk.solve_slab(model, disorder, strip, 0.3, (FIELD, 0.0), angles=128)

    for axis in "xyz":
        d = r.density(ops.pauli(model, axis))
        b = r.bulk.density(ops.pauli(model, axis))
        print(f"<sigma_{axis}>: wall cell {d.total[0]: .4e}, centre {d.total[len(d.total) // 2]: .4e}, "
              f"bulk {b.total: .4e} (1/nm^2)")
    # torque T = J_e m x <sigma> with m = z: T_x = -J_e <sigma_y>, T_y = J_e <sigma_x>
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    titles = {"x": "damping-like: T_y = J_e <sigma_x>", "y": "field-like: T_x = -J_e <sigma_y>",
              "z": "out-of-plane <sigma_z>"}
    for ax, axis in zip(axes, "xyz"):
        plot_profile(ax, r, ops.pauli(model, axis))
        ax.set_title(titles[axis], fontsize=10)
    fig.suptitle(f"Rashba ferromagnet strip (m along z), W = 10 l, E_x = {FIELD} V/nm")
    print("wrote", save_figure(fig, f"{args.out}/rashba_ferromagnet_strip.png"))


if __name__ == "__main__":
    main()
