"""Map of the out-of-plane spin accumulation in a Rashba film-wire cross-section.

A 3D "Rashba film" (h = k^2/2m + alpha (s_x k_y - s_y k_x), no k_z coupling) cut into a
wire along x (the field direction); cross-section 0 < y < 120 nm, 0 < z < 40 nm, diffuse
walls, mean free path 20 nm. The spin-orbit field turns the current into an s_z
accumulation at the side walls y = 0, W (odd in y, even in z), with a gradient-driven
interband part (paper Eq. 1). Writes OUT/rashba_wire_map.png.

    python examples/rashba_wire_map.py [--out out]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics.cross_section import Rectangle, solve_cross_section  # noqa: E402
from mesokinetics.models import RashbaFerromagnet  # noqa: E402
from mesokinetics.plotting import save_figure  # noqa: E402


def rashba_film(mass=1.0, alpha=0.1):
    """3D 'Rashba film' h = k^2/2m + alpha (s_x k_y - s_y k_x) (no k_z coupling)."""
    return RashbaFerromagnet(mass=mass, alpha=alpha, dim=3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    path = f"{parser.parse_args().out}/rashba_wire_map.png"
    model = rashba_film()
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    rect = Rectangle(120.0, 40.0, 0.0, cells=(60, 20), wall_cell=1.0)
    r = solve_cross_section(model, disorder, rect, 0.2, (1e-3, 0.0, 0.0), polar=16, azimuth=32)
    sz = r.accumulation(ops.spin(model, "z"))
    fa, fb = rect.faces()
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    for ax, (part, title) in zip(axes, [("total", "total"), ("gradient", "gradient term")]):
        data = getattr(sz, part).reshape(len(fb) - 1, len(fa) - 1)
        lim = np.max(np.abs(data))
        mesh = ax.pcolormesh(fa, fb, data, cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_aspect("equal")
        ax.set_ylabel("z (nm)")
        ax.set_title(f"<s_z> accumulation, {title}, E_x = 1e-3 V/nm")
        fig.colorbar(mesh, ax=ax, label=f"s_z ({sz.unit})")
    axes[-1].set_xlabel("y (nm)")
    save_figure(fig, path)
    print(f"wrote {path}; outer iterations {r.iterations}")


if __name__ == "__main__":
    main()
