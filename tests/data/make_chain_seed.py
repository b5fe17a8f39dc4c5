"""Writes the small self-made Wannier90 seed ``chain`` used by tests/test_wannier90.py:
``chain.win``, ``chain_hr.dat``, ``chain_wsvec.dat``, ``chain_centres.xyz`` (a few kB).

Model: two spinful s orbitals (sites A at x = 0 and B at x = 0.46 a, off centre so that
the Wigner-Seitz images matter) on a cubic lattice a = 5.669 bohr (0.3 nm), hoppings along
a1 only (|R1| <= 2), random Hermitian spin-dependent matrices with a fixed seed; the hr.dat
R vectors and degeneracies are those of Wannier90's Wigner-Seitz cell of a 4 x 1 x 1 k
grid, and the wsvec shifts are computed here as Wannier90's ws_distance.F90 does: for each
(R, m, n) the supercell translations T (multiples of mp_grid) minimizing
|R + T + tau_n - tau_m|, all ties kept (tolerance 1e-5 Angstrom).

Run ``python tests/data/make_chain_seed.py`` to regenerate (deterministic).
"""

from itertools import product
from pathlib import Path

import numpy as np

BOHR = 0.52917720859  # Angstrom (Wannier90's value)
A_BOHR = 5.669
A = A_BOHR * BOHR  # Angstrom
MP = (4, 1, 1)
TAU = np.array([[0.0, 0.0, 0.0], [0.46 * A, 0.0, 0.0]])  # Angstrom, sites A and B
# Wannier functions: A up, A down, B up, B down (Wannier90's interleaved spinor order)
CENTRES = np.repeat(TAU, 2, axis=0) + np.array([[0.0, 0.0, 0.01], [0.0, 0.0, -0.01],
                                                 [0.0, 0.01, 0.0], [0.0, -0.01, 0.0]])
N = 4
HERE = Path(__file__).resolve().parent


def ws_rvectors():
    """R vectors of the Wigner-Seitz supercell of the MP grid with their degeneracies."""
    out = []
    lat = np.eye(3) * A
    for r in product(range(-MP[0], MP[0] + 1), range(-MP[1], MP[1] + 1), range(-MP[2], MP[2] + 1)):
        d0 = np.linalg.norm(np.array(r) @ lat)
        dist = [np.linalg.norm((np.array(r) + np.array(t) * MP) @ lat)
                for t in product((-1, 0, 1), repeat=3)]
        if d0 <= min(dist) + 1e-7:
            out.append((r, sum(abs(x - d0) < 1e-7 for x in dist)))
    return out


def shifts(r, m, n):
    d = np.array(r) * A + CENTRES[n] - CENTRES[m]
    cands = [np.array(t) * MP for t in product(range(-2, 3), repeat=3)]
    dist = np.array([np.linalg.norm(d + t * A) for t in cands])
    best = dist.min()
    return [t for t, x in zip(cands, dist) if x < best + 1e-5]


def main():
    rng = np.random.default_rng(14)
    rvecs = ws_rvectors()
    ham = {}
    for r, _ in rvecs:
        if r in ham:
            continue
        m = 0.3 * (rng.normal(size=(N, N)) + 1j * rng.normal(size=(N, N))) / (1 + abs(r[0]))
        if r == (0, 0, 0):
            m = m + m.conj().T + np.diag([0.5, -0.5, 1.2, 0.4])
        ham[r] = m
        ham[tuple(-x for x in r)] = m.conj().T
    lines = ["chain test seed (mesokinetics tests/data/make_chain_seed.py)", f"{N:12d}",
             f"{len(rvecs):12d}"]
    degs = [d for _, d in rvecs]
    lines += ["".join(f"{d:5d}" for d in degs[i:i + 15]) for i in range(0, len(degs), 15)]
    ws = ["## written by make_chain_seed.py with use_ws_distance=.true."]
    for r, _ in rvecs:
        for col in range(N):
            for row in range(N):
                v = ham[r][row, col]
                lines.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{row + 1:5d}{col + 1:5d}"
                             f"{v.real:12.6f}{v.imag:12.6f}")
        for m in range(N):
            for n in range(N):
                t = shifts(r, m, n)
                ws.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{m + 1:5d}{n + 1:5d}")
                ws.append(f"{len(t):5d}")
                ws += [f"{x[0]:5d}{x[1]:5d}{x[2]:5d}" for x in t]
    (HERE / "chain_hr.dat").write_text("\n".join(lines) + "\n")
    (HERE / "chain_wsvec.dat").write_text("\n".join(ws) + "\n")
    xyz = [f"{N + 2:6d}", " Wannier centres, written by make_chain_seed.py"]
    xyz += [f"X {c[0]:18.8f}{c[1]:18.8f}{c[2]:18.8f}" for c in CENTRES]
    xyz += [f"{s} {c[0]:18.8f}{c[1]:18.8f}{c[2]:18.8f}" for s, c in zip("AB", TAU)]
    (HERE / "chain_centres.xyz").write_text("\n".join(xyz) + "\n")
    win = f"""! chain test seed: two spinful s orbitals, lattice in bohr
num_wann = {N}
num_bands   {N}
spinors = .true.          # interleaved up/down per projection
use_ws_distance : T
fermi_energy = 0.25d0
mp_grid = {MP[0]} {MP[1]} {MP[2]}

Begin Unit_Cell_Cart
bohr
 {A_BOHR:.4f} 0.0 0.0
 0.0 {A_BOHR:.4f} 0.0
 0.0 0.0 {A_BOHR:.4f}
End Unit_Cell_Cart

begin atoms_frac
A 0.00 0.0 0.0
B 0.46 0.0 0.0
end atoms_frac

BeginProjections
A : s
B : l=0
End Projections
"""
    (HERE / "chain.win").write_text(win)


if __name__ == "__main__":
    main()
