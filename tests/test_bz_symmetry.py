"""The Brillouin-zone quadratures respect the lattice symmetry (issue 14).

Before: the 3D shells used the 6 Kuhn tetrahedra around the 000-111 diagonal in every
cube and the 2D/3D Fermi-sea splits one fixed diagonal, so the rules were symmetric only
under the permutations of the axes and inversion, not under the mirrors. Measured
before the fix: the cubic two-band (s, no spin-orbit) ferromagnet of the Wannier film
preset gave sigma_yx/sigma_xx = -5.7e-2, -2.2e-3, -1.5e-3 at bz_grid 8, 24, 32 (shell
rule), and the square Rashba lattice with m along x gave a symmetry-forbidden
s_z response to E_y of 1.6e-3 (bz_grid 8) and 1.5e-5 (bz_grid 96) of the allowed one
(sea rule). Now every cell is triangulated along the diagonal pointing away from the
nearest mirror planes (sampling/brillouin.py, ``_orientations``), which every signed
permutation of the axes maps onto itself; measured residuals are 1e-16..5e-15 relative.
"""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.boltzmann.uniform import solve_shell
from mesokinetics.models import RashbaLattice, TightBinding
from mesokinetics.models.base import PAULI
from mesokinetics.response import EnergyNode, UniformResponse
from mesokinetics.sampling import Sea, sample_sea, sample_shell
from mesokinetics.units import mass_to_internal

#: symmetry-forbidden components relative to the allowed ones: the residuals measure
#: 1e-16..5e-15 (rounding of sums of 1e3..1e6 terms); 1e-12 leaves room for the BLAS
TOL = 1e-12


def cubic_ferromagnet(a=0.3, exchange=0.1):
    """The model of geometries/wannier_ferromagnet_film.toml: a simple-cubic s band per
    spin, t = hbar^2/(2 m_e a^2), split by 2 J_e; no spin-orbit coupling."""
    t = 1 / (2 * mass_to_internal(1.0) * a * a)
    hops = {(0, 0, 0): np.diag([6 * t - exchange, 6 * t + exchange])}
    for r in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
        hops[r] = hops[tuple(-x for x in r)] = -t * np.eye(2)
    return TightBinding(np.eye(3) * a, hops, spins=["up", "down"])


def cubic_spin_orbit(a=0.3, lam=0.2, exchange=0.1):
    """A cubic two-band model with spin-orbit coupling lam sum_i sigma_i sin(k_i a) and an
    exchange field along x: its C4 rotation about x (spin rotated along) forbids j_y and
    j_z for a field along x, while the intrinsic (Fermi-sea) sigma_zy is finite, so the
    sea rule is exercised."""
    t = 0.4
    hops = {(0, 0, 0): 6 * t * np.eye(2) + exchange * PAULI[0]}
    for axis in range(3):
        r = [0, 0, 0]
        r[axis] = 1
        h = -t * np.eye(2) + lam / 2j * PAULI[axis]
        hops[tuple(r)] = h
        hops[tuple(-x for x in r)] = h.conj().T
    return TightBinding(np.eye(3) * a, hops, spins=["up", "down"])


def shell_conductivity(model, disorder, mu, **numerics):
    """Intraband and disorder conductivity from the Fermi shell alone (no Fermi sea): the
    shell rule's symmetry at grids where the full sea would be slow to evaluate."""
    num = mk.Numerics(**numerics)
    shell = sample_shell(model, mu, num)
    empty = Sea(mu, np.zeros((0, model.dim)), np.zeros(0))
    node = EnergyNode(1.0, mu, solve_shell(shell, disorder), empty)
    res = UniformResponse(model, disorder, mu, np.zeros(model.dim), 0.0, num, [node])
    return res.conductivity("internal")


@pytest.mark.parametrize("bz_grid", [8, None, 9], ids=["grid8", "default24", "odd9"])
def test_cubic_ferromagnet_current_is_along_the_field(bz_grid):
    model = cubic_ferromagnet()
    sigma = shell_conductivity(model, mk.PointDisorder(1e-3), 0.3, bz_grid=bz_grid).intraband
    assert sigma[0, 0] > 0
    assert np.all(np.abs(sigma[1:, 0]) < TOL * sigma[0, 0]), sigma[:, 0]
    # cubic: the same along every axis, to rounding
    assert np.allclose(np.diag(sigma), sigma[0, 0], rtol=1e-12)


def test_wannier_film_preset_bulk_is_symmetric():
    """The preset's own hr.dat and lattice at its bz_grid = 32 (the shell terms: the model
    has no interband coupling, so its intrinsic and disorder terms vanish identically)."""
    from pathlib import Path

    from mesokinetics.io.wannier90 import read_hr

    hr = Path(mk.__file__).resolve().parent.parent / "geometries" / "wannier_ferromagnet_film_hr.dat"
    if not hr.exists():
        pytest.skip("presets not next to the package")
    model = read_hr(hr, np.eye(3) * 0.3, spins=["up", "down"])  # as the preset reads it
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.3, 10.0, mk.Numerics(bz_grid=32))
    sigma = shell_conductivity(model, disorder, 0.3, bz_grid=32).intraband
    assert np.all(np.abs(sigma[1:, 0]) < TOL * sigma[0, 0]), sigma[:, 0]


def test_cubic_spin_orbit_model_forbidden_currents_vanish_with_the_sea():
    """Full solve (shell and adaptive sea) at bz_grid 8, bz_refine 1: j_y = j_z = 0 for E along x in
    every contribution, while the intrinsic sigma_zy (E along y) is finite."""
    model = cubic_spin_orbit()
    # a symmetry at the given (coarse) sampling: one solve (tol=None)
    r = mk.solve_uniform(model, mk.PointDisorder(2e-3), 2.0, (1e-3, 0.0, 0.0), bz_grid=8,
                         bz_refine=1, tol=None)
    sigma = r.conductivity("internal")
    scale = abs(sigma.total[0, 0])
    assert abs(sigma.intrinsic[2, 1]) > 1e-4 * scale  # the sea term is not trivially zero
    for part in ("intraband", "intrinsic", "disorder"):
        col = getattr(sigma, part)[:, 0]
        assert np.all(np.abs(col[1:]) < TOL * scale), (part, col)


@pytest.mark.parametrize("bz_grid", [8, None], ids=["grid8", "default96"])
def test_square_rashba_lattice_forbidden_spin_response_vanishes(bz_grid):
    """m along x: the mirror x -> -x forbids an s_z response to E_y (and j_y for E_x).
    Before the symmetric triangulation the Fermi-sea term gave 1.6e-3 (grid 8) and
    1.5e-5 (grid 96) of the allowed s_z response to E_x."""
    model = RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0), lattice_constant=0.3)
    r = mk.solve_uniform(model, mk.PointDisorder(1e-3), 0.3, (1e-3, 0.0), bz_grid=bz_grid)
    sz = r.response(ops.spin(model, "z"))
    allowed = abs(sz.intrinsic[0])
    assert allowed > 1e-3
    for part in ("intraband", "intrinsic", "disorder"):
        assert abs(getattr(sz, part)[1]) < TOL * allowed, (part, getattr(sz, part))
    sigma = r.conductivity("internal").total
    assert abs(sigma[1, 0]) < TOL * sigma[0, 0]


def _generators():
    """Generators of the 48 signed permutations of three axes (the cubic point group O_h
    in Cartesian = fractional coordinates): the mirror x -> -x, the swap x <-> y and the
    cycle x -> y -> z. A rule invariant under them is invariant under the whole group."""
    mirror = np.diag([-1.0, 1.0, 1.0])
    swap = np.eye(3)[[1, 0, 2]]
    cycle = np.eye(3)[[2, 0, 1]]
    return [mirror, swap, cycle]


def _structure_factors(k, w, a, band=None):
    """sum_p w_p exp(i k_p . r) over lattice vectors r with components in -1..2: equal
    for a rule and its image under a symmetry g iff the rules agree on these Fourier
    modes (a mismatch of any node or weight shows up)."""
    from itertools import product

    r = np.array(list(product(range(-1, 3), repeat=k.shape[1]))) * a
    phase = np.exp(1j * k @ r.T)
    if band is None:
        return w @ phase
    return np.stack([w[band == b] @ phase[band == b] for b in np.unique(band)])


@pytest.mark.parametrize("bz_grid, refine", [(8, 2), (9, 0)])
def test_rules_are_invariant_under_the_cubic_group(bz_grid, refine):
    """Shell and sea rules of the cubic ferromagnet mapped by the signed permutations:
    their Fourier moments are unchanged to rounding (odd grids: cells on a mirror plane
    are split along both orientations with half weight)."""
    model = cubic_ferromagnet()
    num = mk.Numerics(bz_grid=bz_grid, bz_refine=refine)
    shell = sample_shell(model, 0.3, num)
    sea = sample_sea(model, 0.3, num)
    s0 = _structure_factors(shell.k, shell.weight, 0.3, shell.band)
    q0 = _structure_factors(sea.k, sea.weight, 0.3)
    for g in _generators():
        s = _structure_factors(shell.k @ g.T, shell.weight, 0.3, shell.band)
        q = _structure_factors(sea.k @ g.T, sea.weight, 0.3)
        assert np.abs(s - s0).max() < 1e-13 * np.abs(s0).max()
        assert np.abs(q - q0).max() < 1e-13 * np.abs(q0).max()
