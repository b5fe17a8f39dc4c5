"""Edge spin accumulation in a Rashba strip, split into the contributions of paper Eq. (1).

Rashba 2DEG (m = 1 m_e, alpha = 0.1 eV nm, mu = 0.2 eV, mean free path l = 20 nm), strip
of width W = 10 l with diffuse walls, field E_x = 1 mV/nm along the strip. Panels:
current density j_x, in-plane spin <s_y> (Edelstein) and out-of-plane spin <s_z>, whose
edge accumulation comes entirely from the gradient term -(1/2) grad f_n . A_nm.

Run: python examples/rashba_strip_edge.py [--out out] [--specularity 0.0]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    parser.add_argument("--specularity", type=float, default=0.0, help="wall specularity p in [0, 1]")
    args = parser.parse_args()

    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ELL)
    strip = mk.Strip(10 * ELL, args.specularity, cells=200)
    r = mk.solve_slab(model, disorder, strip, 0.2, (FIELD, 0.0), angles=128)

    sz = r.density(ops.spin(model, "z"))
    sy = r.density(ops.spin(model, "y"))
    print(f"strip W = {strip.width} nm = {strip.width / r.mean_free_path:.1f} l, p = {args.specularity}")
    print(f"conductance ratio G/G_bulk = {r.conductance_ratio():.6f}")
    print(f"<s_z> at the bottom wall cell: {sz.total[0]:.4e} hbar/nm^2 (gradient term {sz.gradient[0]:.4e})")
    print(f"<s_y> at the wall / bulk: {sy.total[0]:.4e} / {r.bulk.density(ops.spin(model, 'y')).total:.4e} hbar/nm^2")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), layout="constrained")
    plot_profile(axes[0], r, ops.charge_current(model, "x"), parts=("total",))
    plot_profile(axes[1], r, ops.spin(model, "y"))
    plot_profile(axes[2], r, ops.spin(model, "z"))
    axes[0].set_title("current density")
    axes[1].set_title("in-plane spin (Edelstein)")
    axes[2].set_title("out-of-plane edge spin")
    fig.suptitle(f"Rashba strip, W = 10 l, p = {args.specularity}, E_x = {FIELD} V/nm")
    print("wrote", save_figure(fig, f"{args.out}/rashba_strip_edge.png"))


if __name__ == "__main__":
    main()
