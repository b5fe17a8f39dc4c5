"""Fuchs-Sondheimer: conductance of a thin metal film versus thickness and wall roughness.

3D parabolic band (m = 1 m_e, mu = 0.2 eV, mean free path l = 10 nm), film of thickness
d with specular fraction p on both walls, field in the plane. The solver's ratio
sigma_film / sigma_bulk is compared with the closed-form Fuchs-Sondheimer integral
(mesokinetics.reference.fuchs_sondheimer_ratio).

Run: python examples/fuchs_sondheimer.py [--out out]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics.models import ParabolicBand  # noqa: E402
from mesokinetics.plotting import save_figure  # noqa: E402
from mesokinetics.reference import fuchs_sondheimer_ratio  # noqa: E402

ELL = 10.0  # mean free path (nm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    args = parser.parse_args()

    model = ParabolicBand(mass=1.0, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ELL)
    kappas = np.logspace(-2, 2, 13)
    curve = np.logspace(-2, 2, 200)
    fig, ax = plt.subplots(figsize=(6, 4))
    print("| d/l | p | solver | closed form | rel. diff |\n|---|---|---|---|---|")
    for p, color in ((0.0, "tab:blue"), (0.5, "tab:orange"), (0.9, "tab:green")):
        ratios = []
        for kappa in kappas:
            film = mk.Film(kappa * ELL, p, cells=8, normal="z")
            r = mk.solve_slab(model, disorder, film, 0.2, (1.0, 0.0, 0.0), polar=64, azimuth=4)
            ratios.append(r.conductance_ratio())
            exact = fuchs_sondheimer_ratio(kappa, p)
            print(f"| {kappa:.3g} | {p} | {ratios[-1]:.8f} | {exact:.8f} | {ratios[-1] / exact - 1:.1e} |")
        ax.plot(curve, [fuchs_sondheimer_ratio(k, p) for k in curve], color=color, lw=1,
                label=f"closed form, p = {p}")
        ax.plot(kappas, ratios, "o", color=color, ms=4, label=f"mesokinetics, p = {p}")
    ax.set_xscale("log")
    ax.set_xlabel("film thickness / mean free path d/l")
    ax.set_ylabel(r"$\sigma_{film}/\sigma_{bulk}$")
    ax.set_title("Fuchs-Sondheimer, 3D parabolic band")
    ax.legend(fontsize=7)
    print("wrote", save_figure(fig, f"{args.out}/fuchs_sondheimer.png"))


if __name__ == "__main__":
    main()
