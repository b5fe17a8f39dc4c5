"""Kubo-Bastin (SCBA, ladder and CBA) versus the kinetic engine as disorder goes to zero.

For the Rashba 2DEG (Edelstein <s_y>, spin Hall current js^z_y), the Rashba ferromagnet
(torques <sigma_x>, <sigma_y> with m along z; <sigma_z>, <sigma_y> with m along x) and the
massive Dirac model (sigma_yx, sigma_xx with mu in the upper band), for several relaxation
times tau, this script prints a markdown table (kinetic total, Kubo ladder, Kubo CBA) and
plots the ladder-minus-kinetic and CBA-minus-kinetic differences versus 1/(mu tau).

The script ends by checking (lines starting with "check:"; AssertionError on failure) that
the ladder-minus-kinetic difference of every observable shrinks as 1/(mu tau) (fitted
exponent over the three longest tau near 1), that the ladder Hall conductivity of the
massive Dirac model tends to the non-crossing formula in the same way while the kinetic
value stays at its closed form 13/28 e^2/h, and that the kinetic Edelstein density equals
e m alpha tau E_x / (2 pi).

Usage:  python examples/kubo_vs_kinetic.py [--out DIR] [--taus 50 100 200 400 800]
Writes DIR/kubo_vs_kinetic.png and DIR/kubo_vs_kinetic.md (default DIR = ./out).
Runtime about 30 s (CPU time) with the default five relaxation times.
"""

from __future__ import annotations

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
import mesokinetics.kubo as kubo  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics import reference as ref  # noqa: E402
from mesokinetics.models import MassiveDirac, RashbaFerromagnet  # noqa: E402
from mesokinetics.units import E2_OVER_H, fs_to_internal  # noqa: E402
from _checks import check, finish_checks  # noqa: E402  (examples/_checks.py, shared)


#: Non-crossing (ladder) Hall conductivity of the massive Dirac model, gap 0.1, mu 0.2:
#: 4 D mu (mu^2 + D^2) / (mu^2 + 3 D^2)^2 in e^2/h (Sinitsyn et al. 2007; Ado et al. 2015).
NCA_HALL = 4 * 0.1 * 0.2 * (0.2**2 + 0.1**2) / (0.2**2 + 3 * 0.1**2) ** 2
#: Kinetic (this engine) Hall conductivity of the same model, any tau: intrinsic
#: D/(2 mu) plus disorder D (mu^2 - D^2) / (mu (mu^2 + 3 D^2)) e^2/h = 13/28 for sigma_yx
#: (validation.md row 15 and "Additional observations").
KINETIC_HALL = 0.1 / (2 * 0.2) + 0.1 * (0.2**2 - 0.1**2) / (0.2 * (0.2**2 + 3 * 0.1**2))


def run_checks(rows) -> None:
    """The convergence statements of the module docstring, from the rows of :func:`run`."""
    keys = []
    for r in rows:
        if (r[0], r[1]) not in keys:
            keys.append((r[0], r[1]))
    # Exponent of |ladder - kinetic| (relative for the responses ~ tau) in 1/(mu tau), fitted
    # over the three longest tau. Measured at the defaults (tau = 200, 400, 800 fs, Kubo grid
    # 48 rays): 0.997 ... 0.999 for six observables, 1.029 for the Dirac sigma_xx and 1.075
    # for the damping-like <sigma_z> (m along x), whose difference is still approaching the
    # linear regime (pairwise exponents 1.95, 1.43, 1.12, 1.03 from tau = 50 fs on; 1.0015
    # over 800 ... 3200 fs). 96 Kubo rays change the exponents by < 3e-3. Tolerance 0.2 on
    # |exponent - 1|, 2.7 times the worst measured offset; a difference that does not
    # vanish (exponent 0, the Dirac Hall case below) fails by five times that.
    for key in keys:
        sel = sorted((r for r in rows if (r[0], r[1]) == key), key=lambda r: r[4])[-3:]
        x = np.array([r[5] for r in sel])
        kin = np.array([r[6] for r in sel])
        lad = np.array([r[7] for r in sel])
        if key[1].startswith("Hall"):
            # the kinetic value is not the ladder's limit here: the ladder tends to the
            # non-crossing formula (measured exponent 0.997; vs kinetic the difference
            # tends to NCA - 13/28 = 0.352 e^2/h, the missing side-jump/skew part)
            diff, what = np.abs(lad - NCA_HALL), "|ladder - NCA formula|"
        else:
            diff = np.abs(lad - kin) / (np.abs(kin) if sel[0][3] == "relative" else 1.0)
            what = "|ladder - kinetic|" + (" / |kinetic|" if sel[0][3] == "relative" else "")
        slope = np.polyfit(np.log(x), np.log(diff), 1)[0]
        check(f"{key[0]}, {key[1]}: {what} ~ 1/(mu tau)", abs(slope - 1), 0.2,
              f"fitted exponent {slope:.4f} vs 1 over tau = {sel[0][4]:g} ... {sel[-1][4]:g} fs "
              f"(difference {diff[-1]:.3e} at the longest)")
    # Kinetic Hall conductivity of the massive Dirac model = 13/28 e^2/h at every tau.
    # Measured max 5.4e-15 relative over tau = 50 ... 800 fs (2.0e-14 up to 3200 fs).
    # Rounding-level identity: tolerance 1e-12.
    hall = [r for r in rows if r[1].startswith("Hall")]
    err = max(abs(r[6] / KINETIC_HALL - 1) for r in hall)
    check("kinetic Dirac sigma_yx = Delta/(2 mu) + Delta(mu^2 - Delta^2)/(mu(mu^2 + 3 Delta^2))", err, 1e-12,
          f"{hall[-1][6]:.15f} vs 13/28 = {KINETIC_HALL:.15f} e^2/h (worst over {len(hall)} tau)")
    # Kinetic Edelstein <s_y> = e m alpha tau E_x / (2 pi) (validation.md row 5, 2.2e-16).
    # Measured max 2.2e-16 here over the five tau. Tolerance 1e-12.
    model = cases()[0][1]
    edel = [r for r in rows if r[1].startswith("Edelstein")]
    err = max(abs(r[6] / ref.edelstein_spin_density(model.m, model.alpha, fs_to_internal(r[4]), 1.0) - 1)
              for r in edel)
    check("kinetic Edelstein <s_y> = e m alpha tau E_x / (2 pi)", err, 1e-12,
          f"worst over {len(edel)} tau (e.g. {edel[-1][6]:.10g} hbar/nm^2 at {edel[-1][4]:g} fs)")
    finish_checks()


def cases():
    """(label, model, mu (eV), [(observable label, operator, scale, unit, kind)])."""
    r = RashbaFerromagnet(mass=1.0, alpha=0.1)
    fz = RashbaFerromagnet(mass=1.0, alpha=0.03, exchange=0.1, magnetization=(0, 0, 1))
    fx = RashbaFerromagnet(mass=1.0, alpha=0.03, exchange=0.1, magnetization=(1, 0, 0))
    d = MassiveDirac(velocity=1.0, gap=0.1)
    # kind: 'relative' for responses ~ tau (compare relative differences),
    #       'absolute' for responses ~ tau^0
    return [
        ("Rashba 2DEG, mu=0.2", r, 0.2, [
            ("Edelstein <s_y>", ops.spin(r, "y"), 1.0, "hbar/nm^2", "relative"),
            ("spin Hall js^z_y", ops.spin_current(r, "z", "y"), 1.0, "eV nm/nm^2", "absolute")]),
        ("Rashba FM m=z, mu=0.3", fz, 0.3, [
            ("damping-like <sigma_x>", ops.pauli(fz, "x"), 1.0, "1/nm^2", "absolute"),
            ("field-like <sigma_y>", ops.pauli(fz, "y"), 1.0, "1/nm^2", "relative")]),
        ("Rashba FM m=x, mu=0.3", fx, 0.3, [
            ("damping-like <sigma_z>", ops.pauli(fx, "z"), 1.0, "1/nm^2", "absolute"),
            ("field-like <sigma_y>", ops.pauli(fx, "y"), 1.0, "1/nm^2", "relative")]),
        ("massive Dirac, mu=0.2", d, 0.2, [
            ("Hall sigma_yx", ops.charge_current(d, "y"), 1 / E2_OVER_H, "e^2/h", "absolute"),
            ("sigma_xx", ops.charge_current(d, "x"), 1 / E2_OVER_H, "e^2/h", "relative")]),
    ]


def run(taus, angles=48):
    """Return rows (case, observable, unit, kind, tau, 1/(mu tau), kinetic, ladder, cba)."""
    rows = []
    for label, model, mu, observables in cases():
        for tau in taus:
            dis = mk.PointDisorder.from_tau(model, mu, tau)
            # a comparison at fixed numerics (64 rays, the --angles Kubo grid): one solve
            # each (tol=None); their tol checks would triple the run time for the same numbers
            kin = mk.solve_uniform(model, dis, mu, (1.0, 0.0), angles=64, tol=None)
            lad = kubo.solve_uniform_kubo(model, dis, mu, (1.0, 0.0), angles=angles, tol=None)
            cba = kubo.solve_uniform_kubo(model, dis, mu, (1.0, 0.0), vertex_corrections=False,
                                          angles=angles, tol=None)
            x = 1.0 / (mu * fs_to_internal(tau))
            for name, op, scale, unit, kind in observables:
                rows.append((label, name, unit, kind, tau, x,
                             scale * kin.density(op).total, scale * lad.density(op).total,
                             scale * cba.density(op).total))
    return rows


def markdown(rows) -> str:
    lines = ["| case | observable (unit) | tau (fs) | 1/(mu tau) | kinetic | Kubo ladder "
             "| Kubo CBA | ladder - kinetic |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for case, name, unit, kind, tau, x, k, l, c in rows:
        diff = f"{(l - k) / abs(k):.2e} (rel)" if kind == "relative" else f"{l - k:.2e}"
        lines.append(f"| {case} | {name} ({unit}) | {tau:.0f} | {x:.4f} | {k:.6g} | {l:.6g} "
                     f"| {c:.6g} | {diff} |")
    return "\n".join(lines) + "\n"


def plot(rows, path):
    keys = []
    for r in rows:
        if (r[0], r[1]) not in keys:
            keys.append((r[0], r[1]))
    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, key in zip(axes.T.ravel(), keys):
        sel = [r for r in rows if (r[0], r[1]) == key]
        kind, unit = sel[0][3], sel[0][2]
        x = np.array([r[5] for r in sel])
        k = np.array([r[6] for r in sel])
        lad = np.array([r[7] for r in sel])
        cba = np.array([r[8] for r in sel])
        norm = np.abs(k) if kind == "relative" else 1.0
        ax.loglog(x, np.abs(lad - k) / norm, "o-", label="|ladder - kinetic|")
        ax.loglog(x, np.abs(cba - k) / norm, "s--", label="|CBA - kinetic|")
        trend = np.abs(lad - k) / norm
        if key[1].startswith("Hall"):
            # the kinetic value is not the limit here: compare with the non-crossing formula
            nca = NCA_HALL
            trend = np.abs(lad - nca)
            ax.loglog(x, trend, "^-", label="|ladder - NCA formula|")
        mid = len(x) // 2
        ax.loglog(x, trend[mid] * x / x[mid], ":", color="gray", label="slope 1")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{key[0]}\n{key[1]}", fontsize=9)
        ax.set_xlabel("1/(mu tau)")
        ax.set_ylabel("relative difference" if kind == "relative" else f"difference ({unit})")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out", help="output folder (default ./out)")
    parser.add_argument("--taus", type=float, nargs="+", default=[50, 100, 200, 400, 800],
                        help="relaxation times at mu in fs")
    parser.add_argument("--angles", type=int, default=48, help="rays of the Kubo grid")
    args = parser.parse_args(argv)
    if any(t <= 0 for t in args.taus):
        parser.error("relaxation times must be positive (fs)")
    if len(set(args.taus)) < 3:
        parser.error("the 1/(mu tau) check fits an exponent: give at least three relaxation times")
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    rows = run(sorted(args.taus), angles=args.angles)
    table = markdown(rows)
    print(table)
    with open(os.path.join(args.out, "kubo_vs_kinetic.md"), "w") as fh:
        fh.write(table)
    png = os.path.join(args.out, "kubo_vs_kinetic.png")
    plot(rows, png)
    print(f"wrote {png} ({time.perf_counter() - t0:.1f} s)")
    run_checks(rows)


if __name__ == "__main__":
    main()
