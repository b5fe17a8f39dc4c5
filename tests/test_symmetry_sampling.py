"""Point groups of lattice models and the symmetry check of sampled conductivities
(issue 12, item 4; mesokinetics/symmetry.py, docs/accuracy.md "Symmetry of the
Brillouin sampling").

The Brillouin-zone rules are exact under the signed permutations of the lattice axes
(tests/test_bz_symmetry.py) but keep only inversion exact on hexagonal, bcc and fcc cells.
Measured forbidden parts |sigma - sym sigma| / |sigma| of the 3D hexagonal s band below
(mu = 0.5 eV): 1.1e-1, 4.1e-2, 3.6e-2, 6.7e-3, 5.6e-3, 3.4e-3 at bz_grid 4, 6, 8, 12,
16, 24; the simple-cubic band at bz_grid 4: 1e-15; 2D triangular lattices 1e-16 at any
bz_grid (their shells are resampled on the exact Fermi line, and the Fermi-sea term of a
conductivity is antisymmetric). The end-to-end tests use bz_grid 4: 0.11 against the
tolerance 1e-3, and 1e-15 or 1e-16 for the exact samplings.
"""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.models import (Haldane, POrbital, QiWuZhang, RashbaFerromagnet, RashbaLattice,
                                 TightBinding)
from mesokinetics.models.base import PAULI
from mesokinetics.symmetry import (check_conductivity_symmetry, forbidden_part, lattice_point_group,
                                   point_group, symmetrize)

SQRT3 = np.sqrt(3.0)


def triangular(a=0.3, t=1.0, alpha=0.0, exchange=0.0, magnetization=(0, 0, 1)):
    """s band on the triangular lattice (a1 = a x, a2 = a (1/2, sqrt3/2)), nearest
    neighbours t (eV); with ``alpha`` or ``exchange``, spin 1/2 with the lattice Rashba term
    (alpha/a) sum_bonds sin(k.d) (z x d/|d|).sigma and J m.sigma."""
    lat = a * np.array([[1.0, 0.0], [0.5, SQRT3 / 2]])
    spin = bool(alpha or exchange)
    eye = np.eye(2 if spin else 1, dtype=complex)
    onsite = 6 * t * eye
    if spin:
        m = np.asarray(magnetization, float) / np.linalg.norm(magnetization)
        onsite = onsite + exchange * np.einsum("i,ijk->jk", m, PAULI)
    hops = {(0, 0): onsite}
    for r in [(1, 0), (0, 1), (-1, 1)]:
        d = np.array(r) @ lat
        h = -t * eye
        if spin:
            zxd = np.array([-d[1], d[0]]) / np.linalg.norm(d)
            h = h + (alpha / a) * (zxd[0] * PAULI[0] + zxd[1] * PAULI[1]) / 2j
        hops[r] = h
        hops[tuple(-x for x in r)] = h.conj().T
    return TightBinding(lat, hops, spins=("up", "down") if spin else None)


def s_band_3d(lattice, t=1.0):
    """One s band with hopping -t (eV) to every nearest neighbour of the Bravais lattice
    with the (3, 3) primitive vectors ``lattice`` (rows, nm)."""
    from itertools import product

    ns = np.array(list(product(range(-2, 3), repeat=3)))
    length = np.linalg.norm(ns @ lattice, axis=1)
    nearest = np.abs(length - length[length > 1e-9].min()) < 1e-9
    hops = {(0, 0, 0): np.zeros((1, 1), complex)}
    hops.update({tuple(int(x) for x in n): -t * np.ones((1, 1), complex) for n in ns[nearest]})
    return TightBinding(lattice, hops)


A = 0.3
CUBIC = {"sc": np.eye(3) * A,
         "bcc": A / 2 * np.array([[-1.0, 1, 1], [1, -1, 1], [1, 1, -1]]),
         "fcc": A / 2 * np.array([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]])}
HEXAGONAL = np.array([[A, 0, 0], [A / 2, A * SQRT3 / 2, 0], [0, 0, 0.4]])


def hexagonal_s_band(t=1.0, tz=0.5):
    """Simple hexagonal s band: in-plane hopping t, along c hopping tz (eV)."""
    hops = {(0, 0, 0): np.zeros((1, 1), complex)}
    for r in [(1, 0, 0), (0, 1, 0), (-1, 1, 0)]:
        hops[r] = hops[tuple(-x for x in r)] = -t * np.ones((1, 1), complex)
    hops[(0, 0, 1)] = hops[(0, 0, -1)] = -tz * np.ones((1, 1), complex)
    return TightBinding(HEXAGONAL, hops)


def is_rotation_group_about_z(group, n):
    """The group is the n proper rotations about z (2D: all proper)."""
    return len(group) == n and np.all(np.linalg.det(group) > 0)


# --- the lattice --------------------------------------------------------------------------


@pytest.mark.parametrize("lattice, order", [
    (np.eye(2) * A, 8), (A * np.array([[1.0, 0], [0.5, SQRT3 / 2]]), 12),
    (A * np.array([[1.0, 0], [-0.5, SQRT3 / 2]]), 12),  # 120 degree basis
    (np.diag([A, 2 * A]), 4), (A * np.array([[1.0, 0], [0.3, 0.7]]), 2),  # oblique
    (CUBIC["sc"], 48), (CUBIC["bcc"], 48), (CUBIC["fcc"], 48), (HEXAGONAL, 24),
    (np.diag([A, A, 2 * A]), 16), (np.array([[A]]), 2),
], ids=["square", "triangular", "triangular120", "rectangular", "oblique", "sc", "bcc", "fcc",
        "hexagonal", "tetragonal", "chain"])
def test_lattice_point_group_is_the_holohedry(lattice, order):
    g = lattice_point_group(lattice)
    d = len(lattice)
    assert len(g) == order
    assert np.allclose(g[0], np.eye(d))
    assert np.allclose(np.einsum("gij,gkj->gik", g, g), np.eye(d), atol=1e-12)  # orthogonal
    # each maps the lattice onto itself: integer images of the primitive vectors
    images = np.einsum("gij,kj->gki", g, lattice) @ np.linalg.inv(lattice)
    assert np.allclose(images, np.round(images), atol=1e-9)


def test_lattice_point_group_rejects_a_bad_lattice():
    with pytest.raises(ValueError, match="lattice_vectors"):
        lattice_point_group(np.ones((2, 3)))


# --- unitary symmetries of h(k) -------------------------------------------------------------


def test_square_rashba_lattice_has_c4v_and_a_ferromagnet_keeps_what_m_allows():
    """Rashba on the square lattice: C4v (8). m along z keeps the 4 rotations about z
    (the mirrors only as antiunitary mirror x time reversal, not searched); m along x
    keeps the mirror x -> -x (the mirror whose normal is m; axial m is kept); m along
    (1, 1) the mirror with normal (1, 1); without spin-orbit coupling the spin decouples
    and all 8 stay (U = orbital operation x identity on spin)."""
    rashba = point_group(RashbaLattice(alpha=0.1, lattice_constant=A))
    assert len(rashba) == 8
    mz = point_group(RashbaLattice(alpha=0.1, exchange=0.1, lattice_constant=A))
    assert is_rotation_group_about_z(mz, 4)
    c4 = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert any(np.allclose(r, c4) for r in mz)
    mx = point_group(RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(1, 0, 0),
                                   lattice_constant=A))
    assert len(mx) == 2 and np.allclose(mx[1], np.diag([-1.0, 1.0]))
    m110 = point_group(RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(1, 1, 0),
                                     lattice_constant=A))
    assert len(m110) == 2 and np.allclose(m110[1], [[0.0, -1.0], [-1.0, 0.0]])  # normal (1, 1)
    no_soc = point_group(RashbaLattice(alpha=0.0, exchange=0.1, magnetization=(1, 0, 0),
                                       lattice_constant=A))
    assert len(no_soc) == 8
    degenerate = point_group(RashbaLattice(alpha=0.0, lattice_constant=A))  # Kramers pairs
    assert len(degenerate) == 8


def test_equal_spectra_are_not_enough_qi_wu_zhang_has_only_c4():
    """QWZ: the bands +-|d(k)| are mirror symmetric, but a mirror would reverse the
    pseudospin vector (sigma_x -> -sigma_x at fixed sigma_y, sigma_z), which no unitary
    does: only the 4 rotations are unitary symmetries."""
    model = QiWuZhang()
    mirror = np.diag([-1.0, 1.0])
    k = np.random.default_rng(3).normal(size=(5, 2))
    assert np.allclose(np.linalg.eigvalsh(model.hamiltonian(k)),
                       np.linalg.eigvalsh(model.hamiltonian(k @ mirror.T)))
    assert is_rotation_group_about_z(point_group(model), 4)


def test_orbital_texture_model_keeps_c4v_with_spin_orbit_and_c4_with_exchange():
    """POrbital: U = (orbital rotation of px, py, pz) x (spin rotation), found from h."""
    assert len(point_group(POrbital(orbital_rashba=0.1, spin_orbit=0.1))) == 8
    g = point_group(POrbital(orbital_rashba=0.1, spin_orbit=0.1, exchange=0.1))
    assert is_rotation_group_about_z(g, 4)


def test_hexagonal_lattice_models():
    """Triangular s band and Rashba: C6v (12); Rashba with m along z: C6 (6); with m
    along x: the mirror x -> -x (2). Honeycomb in the 'atomic' convention: graphene C6v
    (12), Haldane C6 (6), with a sublattice mass C3 (3); in the 'lattice' convention the
    rotations move the B site into another cell and need a k-dependent U, so they are
    not found (and the Berry connection of that convention does not have them)."""
    assert len(point_group(triangular())) == 12
    assert len(point_group(triangular(alpha=0.2))) == 12
    assert is_rotation_group_about_z(point_group(triangular(alpha=0.2, exchange=0.1)), 6)
    mx = point_group(triangular(alpha=0.2, exchange=0.1, magnetization=(1, 0, 0)))
    assert len(mx) == 2 and np.allclose(mx[1], np.diag([-1.0, 1.0]))
    assert len(point_group(Haldane(nnn_hopping=0.0))) == 12
    assert is_rotation_group_about_z(point_group(Haldane()), 6)
    assert is_rotation_group_about_z(point_group(Haldane(mass=0.1)), 3)
    assert len(point_group(Haldane(convention="lattice"))) == 2  # E and the bond-centre C2


@pytest.mark.parametrize("kind", ["sc", "bcc", "fcc"])
def test_cubic_s_bands_have_all_48_operations(kind):
    assert len(point_group(s_band_3d(CUBIC[kind]))) == 48


def test_spin_orbit_ferromagnet_keeps_the_rotations_about_m_in_any_basis():
    """Cubic sigma.sin(k a) model (chiral: the 24 proper rotations; inversion only as
    an antiunitary): m along x keeps the 4 rotations about x. The same model in a random
    orbital basis (H(R) -> W H(R) W^dagger) has the same group (U is found, not assumed)."""
    def model(exchange, w=np.eye(2)):
        t, lam = 0.4, 0.2
        hops = {(0, 0, 0): w @ (6 * t * np.eye(2) + exchange * PAULI[0]) @ w.conj().T}
        for axis in range(3):
            r = [0, 0, 0]
            r[axis] = 1
            h = w @ (-t * np.eye(2) + lam / 2j * PAULI[axis]) @ w.conj().T
            hops[tuple(r)], hops[tuple(-x for x in r)] = h, h.conj().T
        return TightBinding(np.eye(3) * A, hops)

    assert len(point_group(model(0.0))) == 24
    g = point_group(model(0.1))
    assert len(g) == 4 and np.all(np.linalg.det(g) > 0)
    assert np.allclose(g[:, 0, 0], 1.0)  # rotations about x
    q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(2, 2))
                        + 1j * np.random.default_rng(8).normal(size=(2, 2)))
    assert np.allclose(point_group(model(0.1, q)), g)


def test_point_group_is_cached_per_model_and_none_for_continuum_models():
    model = triangular()
    g = point_group(model)
    g[:] = 0  # a copy: the cache is not touched
    assert len(point_group(model)) == 12 and np.allclose(point_group(model)[0], np.eye(2))
    assert point_group(RashbaFerromagnet(alpha=0.1)) is None
    with pytest.raises(ValueError, match="samples"):
        point_group(model, samples=1)


# --- the forbidden part ---------------------------------------------------------------------


def test_forbidden_part_of_hand_made_tensors():
    c4v = point_group(RashbaLattice(alpha=0.1, lattice_constant=A))
    c4 = point_group(RashbaLattice(alpha=0.1, exchange=0.1, lattice_constant=A))
    c6v = point_group(triangular())
    iso = np.eye(2) * 3.0
    hall = np.array([[1.0, 0.2], [-0.2, 1.0]])
    aniso = np.diag([1.0, 2.0])
    assert forbidden_part(iso, c4v) < 1e-15
    assert forbidden_part(hall, c4) < 1e-15  # a Hall tensor is allowed under rotations
    assert np.isclose(forbidden_part(hall, c4v), np.hypot(0.2, 0.2) / np.linalg.norm(hall))
    assert np.allclose(symmetrize(hall, c4v), np.eye(2))
    assert np.isclose(forbidden_part(aniso, c4), np.sqrt(0.5) / np.sqrt(5.0))  # xx - yy
    assert np.isclose(forbidden_part(np.array([[1.0, 0.0], [0.0, -1.0]]), c6v), 1.0)
    assert forbidden_part(aniso, None) == 0.0 and forbidden_part(np.zeros((2, 2)), c4) == 0.0
    cubic = point_group(s_band_3d(CUBIC["fcc"]))
    t = np.diag([1.0, 1.0, 1.0]) + 0.01 * np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    assert np.isclose(forbidden_part(t, cubic), np.sqrt(2) * 0.01 / np.linalg.norm(t))
    with pytest.raises(ValueError, match="tensor"):
        forbidden_part(np.ones(3), cubic)
    with pytest.raises(ValueError, match="group"):
        forbidden_part(np.eye(2), cubic)


def test_check_warns_names_bz_grid_and_records_once():
    model = triangular()
    sigma = np.diag([1.0, 1.01])
    assert check_conductivity_symmetry(model, np.eye(2), mk.Numerics(bz_grid=8)) == []
    recorded = []
    with pytest.warns(mk.ValidityWarning, match="bz_grid = 8; raise bz_grid"):
        out = check_conductivity_symmetry(model, sigma, mk.Numerics(bz_grid=8), recorded=recorded)
    assert out == recorded and len(out) == 1 and "0.005 of the tensor" in out[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", mk.ValidityWarning)  # already recorded: no new warning
        assert check_conductivity_symmetry(model, sigma, mk.Numerics(bz_grid=8),
                                           recorded=recorded) == out
    assert recorded == out
    assert check_conductivity_symmetry(model, sigma, mk.Numerics(bz_grid=8), tol=1e-2) == []
    with pytest.warns(mk.ValidityWarning, match=r"bz_grid = 96 \(default\)"):
        check_conductivity_symmetry(model, sigma, mk.Numerics())
    assert check_conductivity_symmetry(RashbaFerromagnet(alpha=0.1), sigma) == []
    with pytest.raises(ValueError, match="tol"):
        check_conductivity_symmetry(model, sigma, tol=0.0)


# --- end to end: solve_uniform ----------------------------------------------------------------


def _solved_check(model, mu, field, grid):
    """conductivity() runs the check itself (UniformResponse.conductivity): its warnings,
    and the messages of a second, direct check (already recorded: not warned again)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = mk.solve_uniform(model, mk.PointDisorder(0.05), mu, field, bz_grid=grid, tol=None)
        sigma = r.conductivity("internal")
        again = r.conductivity("internal")
    group = point_group(model)
    with warnings.catch_warnings(record=True) as repeat:
        warnings.simplefilter("always")
        messages = check_conductivity_symmetry(model, sigma, r.numerics, recorded=r.validity)
    assert not [w for w in repeat if issubclass(w.category, mk.ValidityWarning)]
    assert again.total == pytest.approx(sigma.total, rel=1e-15)
    found = [w for w in caught if issubclass(w.category, mk.ValidityWarning)
             and "Brillouin sampling" in str(w.message)]
    return forbidden_part(sigma.total, group), messages, found, r


def test_hexagonal_lattice_at_a_coarse_grid_is_flagged():
    """3D hexagonal s band, bz_grid 4: the tetrahedron shell rule breaks C6 (forbidden
    part 0.11, measured); conductivity() warns once (two calls) and records the message
    in result.validity."""
    fraction, messages, found, r = _solved_check(hexagonal_s_band(), 0.5, (1e-3, 0, 0), 4)
    assert fraction > 2e-2
    assert len(messages) == 1 and "bz_grid = 4" in messages[0]
    assert [str(w.message) for w in found] == messages and messages[0] in r.validity


@pytest.mark.parametrize("case", ["cubic", "triangular2d"])
def test_exact_samplings_are_not_flagged(case):
    """The same grid on a simple-cubic lattice (signed permutations: exact, 1e-15) and on
    the 2D triangular lattice (Fermi lines resampled on the exact shell: 1e-16 at any
    bz_grid, measured), with the spin-orbit ferromagnet whose C6 forbids xx != yy."""
    if case == "cubic":
        fraction, messages, found, _ = _solved_check(s_band_3d(CUBIC["sc"]), 0.5, (1e-3, 0, 0), 4)
    else:
        model = triangular(alpha=0.3, exchange=0.2)
        fraction, messages, found, _ = _solved_check(model, 2.0, (1e-3, 0), 4)
    assert fraction < 1e-12
    assert messages == [] and found == []
