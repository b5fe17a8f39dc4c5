"""Orbital edge accumulation at the surfaces of a film of the L = 1 orbital-texture model.

h = k^2/2m + B (k.L)^2 (m = 1 m_e, B = 0.05 eV nm^2, mu = 0.3 eV, l = 10 nm), film of
thickness 5 l with diffuse surfaces (normal z), field E_x. The bulk carries an intrinsic
orbital Hall current of L_y along z; at the surfaces, orbital moment <L_y> accumulates.
In this model the intraband part of <L> vanishes (real orbitals), so the accumulation is
the paper's gradient-induced interband coherence (Eq. 1, second term): the "orbital edge
accumulation" the paper discusses, only partially tied to the orbital Hall conductivity.

Run: python examples/orbital_film.py [--out out]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics.models import OrbitalTexture  # noqa: E402
from mesokinetics.plotting import plot_profile, save_figure  # noqa: E402

ELL = 10.0  # mean free path (nm)
FIELD = 1e-3  # V/nm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    args = parser.parse_args()

    model = OrbitalTexture(mass=1.0, texture=0.05, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.3, ELL)
    film = mk.Film(5 * ELL, 0.0, cells=60, normal="z")
    r = mk.solve_slab(model, disorder, film, 0.3, (FIELD, 0.0, 0.0), polar=32, azimuth=16)

    hall = r.bulk.density(ops.orbital_current(model, "y", "z"))
    ly = r.density(ops.orbital(model, "y"))
    print(f"bulk orbital Hall current j^Ly_z: intrinsic {hall.intrinsic:.4e}, disorder "
          f"{hall.disorder:.1e} (eV nm / nm^3 at E_x = {FIELD} V/nm)")
    print(f"<L_y> at the bottom surface cell: {ly.total[0]:.4e} hbar/nm^3 "
          f"(gradient term {ly.gradient[0]:.4e}, intraband {ly.intraband[0]:.1e})")

    fig, ax = plt.subplots(figsize=(6, 4))
    plot_profile(ax, r, ops.orbital(model, "y"))
    ax.set_title(f"orbital accumulation, L = 1 texture film, d = 5 l, E_x = {FIELD} V/nm")
    print("wrote", save_figure(fig, f"{args.out}/orbital_film.png"))


if __name__ == "__main__":
    main()
