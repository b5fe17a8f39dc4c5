"""Spin-orbit torque in a Rashba ferromagnet: the intrinsic term is cancelled by disorder.

Paper Eqs. (11)-(15), THEORY.md section 8. The model is the 2D Rashba ferromagnet

    h = k^2/(2m) + alpha (sigma_x k_y - sigma_y k_x) + J_e sigma_z      (m along z)

with scalar point disorder, driven by a field E_x. The torque is T = J_e m x <sigma>, so
with m along z the damping-like channel is <sigma_x> and the field-like one <sigma_y>.

For each alpha this script computes with ``mesokinetics.solve_uniform``:

* the intrinsic (Berry connection) and disorder (vertex correction) parts of <sigma_x>,
  and compares the intrinsic part with its closed form (``reference.sot_intrinsic_sigma_x``)
  and with the paper's leading order in alpha k_F / J_e, Eq. (13) (``reference.sot_eq13``);
* the relative residual |intrinsic + disorder| / |intrinsic|: the cancellation is exact at
  every alpha k_F / J_e, so the residual sits at the level of rounding (~1e-15);
* the field-like <sigma_y>, which equals twice the Edelstein value e m alpha tau E_x / pi.

Units: hbar = 1, energies in eV, lengths in nm, e = -1 (mesokinetics.units). Densities are
given per unit field, in nm^-2 per (V/nm) (<sigma> is dimensionless). The x axis uses
k_F = sqrt(2 m mu), the Fermi momentum without spin-orbit coupling and exchange.

Run:  python examples/sot_cancellation.py [--out DIR]   (writes DIR/sot_cancellation.png)
"""

from __future__ import annotations

import argparse
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics import reference as ref  # noqa: E402
from mesokinetics.models import RashbaFerromagnet  # noqa: E402
from mesokinetics.units import fs_to_internal  # noqa: E402

MASS = 1.0  # effective mass (m_e)
EXCHANGE = 0.1  # J_e (eV)
MU = 0.3  # chemical potential (eV); mu > J_e so both bands cross it
TAU_FS = 50.0  # Fermi-level relaxation time (fs), sets the disorder strength gamma
FIELD = (1.0, 0.0)  # E (V/nm): results below are per unit field along x


def sot_point(alpha: float, angles: int) -> dict:
    """All the quantities of the figure and the table at one Rashba constant (eV nm)."""
    model = RashbaFerromagnet(mass=MASS, alpha=alpha, exchange=EXCHANGE)
    disorder = mk.PointDisorder.from_tau(model, MU, TAU_FS)
    result = mk.solve_uniform(model, disorder, MU, FIELD, angles=angles)

    sigma_x = result.density(ops.pauli(model, "x"))  # damping-like channel
    sigma_y = result.density(ops.pauli(model, "y"))  # field-like channel
    # Eq. (13) returns the torque J_e m x <sigma>; with m = z its y component is J_e <sigma_x>
    torque_eq13 = ref.sot_eq13(model, MU, FIELD)
    tau = fs_to_internal(TAU_FS)  # hbar/eV
    return {
        "alpha": alpha,
        "alpha_kf_over_j": alpha * np.sqrt(2 * model.m * MU) / EXCHANGE,
        "intrinsic": sigma_x.intrinsic,
        "disorder": sigma_x.disorder,
        "intraband": sigma_x.intraband,
        "closed_form": ref.sot_intrinsic_sigma_x(model, MU, FIELD[0]),
        "eq13": torque_eq13[1] / EXCHANGE,
        "field_like": sigma_y.total,
        "edelstein_x2": 2 * ref.edelstein_spin_density(model.m, alpha, tau, FIELD[0]),
    }


def plot(rows: list[dict], path: str) -> None:
    """Two panels: the damping-like terms, and the relative cancellation residual."""
    x = np.array([r["alpha_kf_over_j"] for r in rows])
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    residual = np.abs(col["intrinsic"] + col["disorder"]) / np.abs(col["intrinsic"])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    ax1.semilogx(x, col["intrinsic"], "o", ms=6, mfc="none", label="intrinsic (solver)")
    ax1.semilogx(x, -col["disorder"], "x", ms=6, label="$-$disorder (solver)")
    ax1.semilogx(x, col["closed_form"], "-", lw=1.2, label="intrinsic, closed form")
    ax1.semilogx(x, col["eq13"], "--", lw=1.2, label="paper Eq. (13), leading order")
    ax1.axhline(0, color="0.7", lw=0.6)
    lim = 1.3 * np.max(np.abs(col["closed_form"]))
    ax1.set_ylim(-lim, 0.25 * lim)
    ax1.set_xlabel(r"$\alpha k_F / J_e$   ($k_F = \sqrt{2 m \mu}/\hbar$)")
    ax1.set_ylabel(r"$\langle\sigma_x\rangle / E_x$   (nm$^{-2}$ per V/nm)")
    ax1.set_title(r"damping-like $\langle\sigma_x\rangle$, $J_e$ = 0.1 eV, $\mu$ = 0.3 eV")
    ax1.legend(fontsize=8, loc="lower left")

    zero = residual == 0
    ax2.loglog(x[~zero], residual[~zero], "o", ms=5, label="solver")
    if np.any(zero):  # the two terms agree to the last bit: drawn at the bottom of the axis
        ax2.loglog(x[zero], np.full(zero.sum(), 2e-18), "v", ms=6, color="C0",
                   mfc="none", label="exactly 0")
    ax2.axhline(np.finfo(float).eps, color="0.5", ls=":", label="machine epsilon")
    ax2.set_ylim(1e-18, 1e-10)
    ax2.set_xlabel(r"$\alpha k_F / J_e$")
    ax2.set_ylabel("|intrinsic + disorder| / |intrinsic|   (dimensionless)")
    ax2.set_title("cancellation is exact at every $\\alpha k_F/J_e$")
    ax2.legend(fontsize=8)

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".png", prefix=".sot_", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format="png", dpi=130)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    finally:
        plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    parser.add_argument("--points", type=int, default=25, help="number of alpha values")
    parser.add_argument("--angles", type=int, default=32, help="rays of the shell quadrature")
    args = parser.parse_args(argv)

    alphas = np.geomspace(1e-3, 0.3, args.points)  # eV nm
    rows = [sot_point(a, args.angles) for a in alphas]

    print(f"Rashba ferromagnet: m = {MASS} m_e, J_e = {EXCHANGE} eV, mu = {MU} eV, "
          f"tau = {TAU_FS} fs; <sigma> per E_x in nm^-2 per V/nm")
    print(f"{'alpha':>8} {'a kF/J':>8} {'intrinsic':>11} {'disorder':>11} "
          f"{'int/closed-1':>12} {'int/Eq13-1':>11} {'residual':>9} {'sy/2Edel-1':>10}")
    for r in rows:
        print(f"{r['alpha']:8.2e} {r['alpha_kf_over_j']:8.3f} {r['intrinsic']:11.4e} "
              f"{r['disorder']:11.4e} {r['intrinsic'] / r['closed_form'] - 1:12.1e} "
              f"{r['intrinsic'] / r['eq13'] - 1:11.1e} "
              f"{abs(r['intrinsic'] + r['disorder']) / abs(r['intrinsic']):9.1e} "
              f"{r['field_like'] / r['edelstein_x2'] - 1:10.1e}")

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "sot_cancellation.png")
    plot(rows, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
