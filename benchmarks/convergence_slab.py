"""Convergence study of the Rashba strip (docs/validation.md, "Finite samples").

Rashba 2DEG (m = 1 m_e, alpha = 0.1 eV nm, mu = 0.2 eV, l = 20 nm), strip W = 5 l with
diffuse walls, field 1 V/nm... along x. Quantities that exist on every mesh:

* G/G0 : sheet conductance over its bulk value
* Sz_edge : int_0^{l/2} <s_z> dy (hbar nm^-1), the out-of-plane edge spin near the wall
  (over a whole half strip it is mesh independent: it telescopes to wall and centre values)
* Sy_edge : int_0^{l/2} (<s_y> - bulk) dy, the in-plane accumulation near the wall

Refined in cells (fixed shell) and in shell points (fixed cells); errors are against the
finest run of each sequence and the observed order is log2 of successive error ratios.

Usage: python benchmarks/convergence_slab.py [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import RashbaFerromagnet

ELL = 20.0


def observables(cells: int, angles: int) -> np.ndarray:
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, ELL)
    strip = mk.Strip(5 * ELL, 0.0, cells=cells)
    r = mk.solve_slab(model, disorder, strip, 0.2, (1.0, 0.0), angles=angles)
    faces, w = r.faces, r.widths
    sz = r.density(ops.spin(model, "z")).total
    sy_acc = r.accumulation(ops.spin(model, "y")).total
    # fraction of each cell inside [0, l/2]: a mesh-independent window
    inside = np.clip((0.5 * ELL - faces[:-1]) / w, 0.0, 1.0)
    return np.array([r.conductance_ratio(), np.sum(sz * w * inside), np.sum(sy_acc * w * inside)])


def study(values, label, names=("G/G0", "Sz_edge", "Sy_edge")):
    ref = values[-1][1]
    print(f"\n{label}")
    print("| n | " + " | ".join(f"{n} | err" for n in names) + " |")
    print("|---" * (1 + 2 * len(names)) + "|")
    errs = []
    for n, v in values[:-1]:
        e = np.abs(v - ref) / np.abs(ref)
        errs.append(e)
        print(f"| {n} | " + " | ".join(f"{x:.10g} | {y:.1e}" for x, y in zip(v, e)) + " |")
    print(f"| {values[-1][0]} (ref) | " + " | ".join(f"{x:.10g} | -" for x in ref) + " |")
    errs = np.array(errs)
    with np.errstate(divide="ignore", invalid="ignore"):
        orders = np.log2(errs[:-1] / errs[1:])
    print("observed orders (successive, per doubling):", np.round(orders, 2).tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer refinements")
    args = parser.parse_args()
    cells = [25, 50, 100, 200] if args.quick else [25, 50, 100, 200, 400, 800]
    angles = [32, 64, 128, 256] if args.quick else [32, 64, 128, 256, 512, 1024]
    study([(c, observables(c, 128)) for c in cells], "cells (angles = 128)")
    study([(a, observables(200, a)) for a in angles], "shell points (cells = 200)")


if __name__ == "__main__":
    main()
