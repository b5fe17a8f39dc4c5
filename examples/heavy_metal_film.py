"""Spin and orbital accumulation at the surfaces of a centrosymmetric spin-orbit film.

A minimal heavy-metal model: p orbitals with orbital texture and atomic spin-orbit
coupling, h = [k^2/2m + B (k.L)^2] + lambda L.S (m = 1 m_e, B = 0.05 eV nm^2,
lambda = 0.2 eV, mu = 0.3 eV, l = 20 nm; `mesokinetics.models.SpinOrbitTexture`).
Inversion and time reversal make every band a Kramers pair. Film of thickness 5 l with
diffuse surfaces (normal z), field E_x: the bulk carries intrinsic spin and orbital Hall
currents of s_y and L_y along z, and s_y, L_y accumulate at the surfaces.

The degenerate bands carry matrix-valued intraband distributions (docs/theory.md §12).
For Kramers pairs PT symmetry keeps them proportional to the band projector even near
the walls, so their traceless (pseudospin) part vanishes identically: the intraband
<s> and <L> are zero and the accumulation is interband: mostly the paper's
gradient-induced coherence (Eq. 1, second term; 99 % at the surfaces), plus the disorder
(vertex) term of the local distributions (0.8 %).

The script ends by checking (lines starting with "check:"; AssertionError on failure):
the traceless part vanishes; <s_y>, <L_y> are odd about the mid-plane and the other
components vanish; the intraband parts vanish; the surface integrals are converged in
the polar rule and in the cells; fully specular surfaces (p = 1) give the bulk.

Run: python examples/heavy_metal_film.py [--out out]
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics.boltzmann.slab import solve_slab_shell  # noqa: E402
from mesokinetics.boltzmann.uniform import solve_shell  # noqa: E402
from mesokinetics.models import SpinOrbitTexture  # noqa: E402
from mesokinetics.plotting import plot_profile, save_figure  # noqa: E402

from _checks import check, finish_checks  # noqa: E402  (examples/_checks.py, shared)

FIELD = 1e-3  # V/nm
ELL = 20.0  # mean free path (nm)
MU = 0.3  # eV
CELLS, POLAR = 40, 16  # numerics of the film (azimuth: the default 32)


def film(model, disorder, p: float, cells: int = CELLS, polar: int = POLAR):
    # Fixed numerics, one solve each (tol=None): the example checks its own convergence by
    # doubling the polar nodes and the cells (run_checks). The tol check would cost 5
    # solves per film and warn: polar 16 leaves the current profile 1.9e-2 (max norm) and
    # G/G_bulk 1.3e-3 from polar 64 (estimated 0.22 from polar 12 and 8), while the
    # surface integrals checked here are within 6e-4 of polar 64 (polar 24: 6.2e-4 for the
    # current profile).
    return mk.solve_slab(model, disorder, mk.Film(5 * ELL, p, cells=cells, normal="z"), MU,
                         (FIELD, 0.0, 0.0), polar=polar, tol=None)


def surface_integrals(r, model) -> dict:
    """int_0^{d/2} <s_y> dz and int_0^{d/2} <L_y> dz (hbar/nm^2): the lower half (d/2 is
    a face of the symmetric mesh)."""
    half = len(r.widths) // 2
    out = {}
    for name, op in (("s_y", ops.spin(model, "y")), ("L_y", ops.orbital(model, "y"))):
        out[name] = float(np.sum(r.density(op).total[:half] * r.widths[:half]))
    return out


def run_checks(r, model, disorder) -> None:
    # PT maps k to itself: S(z) stays PT-even, proportional to 1 on every Kramers pair
    # (docs/theory.md §12), so the solver proves the blocks decoupled and keeps the exact
    # scalar path (r.solution.blocks is None). Forcing the matrix components on the same
    # shell and film: the traceless amplitudes vanish and the distribution is the scalar
    # one. Measured 2.9e-16 and 1e-15. Rounding: tolerance 1e-12.
    sol = r.solution
    forced = solve_shell(sol.shell, disorder, decouple=False)
    matrix = solve_slab_shell(sol.shell, disorder, r.slab, r.field, r.faces, forced)
    traceless = np.max(np.abs(matrix.block_g * (1 - matrix.blocks.drive)[:, None]))
    scale = np.max(np.abs(matrix.block_g))
    check("scalar path proved exact; forced traceless part vanishes",
          max(traceless / scale, float(sol.blocks is not None),
              np.max(np.abs(matrix.g - sol.g)) / np.max(np.abs(sol.g))), 1e-12,
          f"max |traceless| = {traceless:.1e} eV vs max |block| = {scale:.3e}")
    for name, axis_op in (("s", ops.spin), ("L", ops.orbital)):
        y = r.density(axis_op(model, "y"))
        scale = np.max(np.abs(y.total))
        # Mirror z -> d - z maps the film to itself and keeps E_x; s and L are
        # pseudovectors, so the y components are odd; mirror y -> -y flips the x and z
        # components, which vanish. Rounding-level identities: tolerance 1e-12.
        check(f"<{name}_y> odd about the mid-plane", np.max(np.abs(y.total + y.total[::-1])) / scale,
              1e-12, f"max |{name}_y| = {scale:.4e} {y.unit}")
        other = max(np.max(np.abs(r.density(axis_op(model, a)).total)) for a in "xz")
        check(f"<{name}_x> = <{name}_z> = 0", other / scale, 1e-12, f"max = {other:.1e}")
        # Tr[P_n s] = 0 on a Kramers pair (PT-odd operator, scalar block): the intraband
        # part vanishes identically. Measured 9e-16 (s_y), 1e-15 (L_y). Tolerance 1e-12.
        check(f"<{name}_y> intraband part vanishes", np.max(np.abs(y.intraband)) / scale, 1e-12,
              f"max |intraband| = {np.max(np.abs(y.intraband)):.1e}")
    # Converged: doubling the polar nodes and, separately, the cells. Measured differences
    # 3.6e-4 (s_y) and 6.0e-4 (L_y) for the polar rule, 7e-6 and 4.1e-5 for the cells;
    # tolerance 2e-3, about three times the largest.
    coarse = surface_integrals(r, model)
    for label, fine, tol in (("polar", film(model, disorder, 0.0, polar=2 * POLAR), 2e-3),
                             ("cells", film(model, disorder, 0.0, cells=2 * CELLS), 2e-3)):
        ref = surface_integrals(fine, model)
        for name in coarse:
            check(f"int_0^(d/2) {name} dz converged in the {label}", abs(coarse[name] / ref[name] - 1),
                  tol, f"{coarse[name]:.8g} vs {ref[name]:.8g} (doubled {label})")
    # Fully specular surfaces: the film is the bulk (no accumulation, G/G_bulk = 1); the
    # wall mirror maps the Kramers blocks (docs/theory.md §12). Measured max accumulation
    # 5e-15 of max |s_y|, |G/G_bulk - 1| = 1e-15. Tolerance 1e-10.
    spec = film(model, disorder, 1.0, cells=10)
    scale = np.max(np.abs(r.density(ops.spin(model, "y")).total))
    smax = max(np.max(np.abs(spec.accumulation(op(model, a)).total))
               for op in (ops.spin, ops.orbital) for a in "xyz")
    check("p = 1 film = bulk", max(smax / scale, abs(spec.conductance_ratio() - 1)), 1e-10,
          f"max accumulation = {smax:.1e}, G/G_bulk = {spec.conductance_ratio():.15f}")
    finish_checks()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    args = parser.parse_args()

    model = SpinOrbitTexture(mass=1.0, texture=0.05, spin_orbit=0.2, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, MU, ELL)
    r = film(model, disorder, 0.0)

    for name, op in (("spin", ops.spin_current(model, "y", "z")),
                     ("orbital", ops.orbital_current(model, "y", "z"))):
        hall = r.bulk.density(op)
        print(f"bulk {name} Hall current (y along z): intrinsic {hall.intrinsic:.4e}, disorder "
              f"{hall.disorder:.4e} (eV nm / nm^3 at E_x = {FIELD} V/nm)")
    for name, op in (("s_y", ops.spin(model, "y")), ("L_y", ops.orbital(model, "y"))):
        d = r.density(op)
        print(f"<{name}> at the bottom surface cell: {d.total[0]:.4e} hbar/nm^3 (gradient term "
              f"{d.gradient[0]:.4e})")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plot_profile(axes[0], r, ops.spin(model, "y"))
    axes[0].set_title("spin accumulation <s_y>")
    plot_profile(axes[1], r, ops.orbital(model, "y"))
    axes[1].set_title("orbital accumulation <L_y>")
    fig.suptitle(f"p-orbital film with lambda L.S, d = 5 l, diffuse surfaces, E_x = {FIELD} V/nm")
    fig.tight_layout()
    print("wrote", save_figure(fig, f"{args.out}/heavy_metal_film.png"))
    run_checks(r, model, disorder)


if __name__ == "__main__":
    main()
