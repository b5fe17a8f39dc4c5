"""Specular walls for lattice strips without the wall mirror (issue 12, item 3; docs/theory.md
§6.1 and §8, docs/slab.md "Specular walls without mirror symmetry").

The graded rule of each Fermi loop with two grazing points is paired by the momentum along
the wall k_t (``sampling.brillouin._paired_loop``), as the continuum strip rule is
(tests/test_specular_asymmetric.py). Checked here:

* the pairing itself: same loop and k_t, opposite v_n, opposite particle fluxes;
* the rule integrates the bulk spectrally (density of states, <v_x^2>);
* exactness: a square lattice whose band is shifted along the wall normal by a Peierls
  phase (symmetric about k_y = phi / a, not about k_y = 0: the paired rule) gives the strip of
  the unshifted lattice (the mirror rule) at any specularity;
* the square-lattice Rashba ferromagnet with m along the wall converges to the continuum
  strip (tests/test_specular_asymmetric.py, validated there) as a^2, (k_F a)^2 being its
  lattice correction (models.RashbaLattice).
"""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.boltzmann.walls import mirror_partners
from mesokinetics.models import RashbaFerromagnet, RashbaLattice
from mesokinetics.models.lattice import TightBinding
from mesokinetics.numerics import Numerics
from mesokinetics.sampling import sample

ELL = 20.0  # mean free path (nm)
FIELD = (1e-3, 0.0)  # V/nm, along the strip (wall normal y)
MU = 0.3  # eV: both Rashba bands at the Fermi level
PARAMS = dict(mass=1.0, alpha=0.05, exchange=0.1, magnetization=(1, 0, 0))


def _lattice(a=0.1):
    return RashbaLattice(lattice_constant=a, **PARAMS)


def _peierls_square(phi, hopping=1.0, a=0.5):
    """One band, -2t cos(k_x a) - 2t cos(k_y a - phi) + 4t: the hopping along y carries the
    phase phi, which moves the band by phi / a along k_y."""
    hx = np.array([[-hopping]], complex)
    hy = np.array([[-hopping * np.exp(-1j * phi)]])
    return TightBinding(np.eye(2) * a, {(1, 0): hx, (-1, 0): hx.conj().T, (0, 1): hy,
                                        (0, -1): hy.conj().T,
                                        (0, 0): np.array([[4 * hopping]], complex)})


def _strip(model, mu, walls, width=2 * ELL, **numerics):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        disorder = mk.PointDisorder.from_mean_free_path(model, mu, ELL)
        return mk.solve_slab(model, disorder, mk.Strip(width, walls, cells=40), mu, FIELD,
                             tol=None, **numerics)


def test_lattice_partners_are_exact():
    """Same band and loop, the same k_t exactly (the lower node takes the upper one's), opposite
    v_n, R(R(p)) = p, opposite particle fluxes (measured 3.6e-16 relative); the shell is not
    mirror symmetric (the old rule was refused with specular walls)."""
    model = _lattice()
    shell, _ = sample(model, MU, Numerics(), grazing_axis=1)
    partner = mirror_partners(shell, 1)
    vn = shell.velocity[:, 1]
    assert np.array_equal(shell.band[partner], shell.band)
    assert np.array_equal(shell.loop[partner], shell.loop)
    assert np.array_equal(shell.k[partner, 0], shell.k[:, 0])
    assert np.all(vn * vn[partner] < 0)
    assert np.array_equal(partner[partner], np.arange(len(shell)))
    flux = shell.weight * vn
    assert np.max(np.abs(flux + flux[partner]) / np.abs(flux)) < 1e-14
    mirrored = shell.k.copy()
    mirrored[:, 1] *= -1
    kf = np.max(np.linalg.norm(shell.k, axis=1))
    gap = [np.min(np.linalg.norm(shell.k[shell.band == shell.band[i]] - mirrored[i], axis=1))
           for i in range(len(shell))]
    assert max(gap) > 1e-2 * kf


def test_paired_lattice_rule_integrates_the_bulk():
    """Density of states and <v_x^2> of the paired strip rule against the uniform loop rule at
    bz_contour_points = 1024, measured (relative):

    | points | DOS | <v_x^2> |
    |---|---|---|
    | 32 | 2.4e-4 | 2.3e-3 |
    | 64 | 1.3e-5 | 2.2e-6 |
    | 128 | 3.5e-8 | 1.5e-8 |
    | 256 | 1.7e-11 | 2.0e-11 |

    spectral, as the mirror-symmetric graded rule (m along z: 1.2e-8 at 64 points)."""
    model = _lattice()
    ref, _ = sample(model, MU, Numerics(bz_contour_points=1024))
    shell, _ = sample(model, MU, Numerics(bz_contour_points=128), grazing_axis=1)

    def vx2(s):
        return np.sum(s.weight * s.velocity[:, 0] ** 2)

    assert shell.density_of_states() == pytest.approx(ref.density_of_states(), rel=1e-7)
    assert vx2(shell) == pytest.approx(vx2(ref), rel=5e-8)


@pytest.mark.parametrize("walls", [0.5, mk.Soffer(0.3)])
def test_peierls_shifted_band_gives_the_unshifted_strip(walls):
    """The shift k_y -> k_y - phi / a maps every shell point with its velocity onto the
    unshifted lattice's, so the strips are the same physics, sampled by the two rules (paired
    by k_t at phi = 0.3, mirror pairs at phi = 0). Measured (the difference of the two
    64-point rules): conductance ratio 5.2e-11 and 3.8e-11 apart at p = 0.5 and Soffer 0.3 nm,
    current profile 1.9e-9 and 5.4e-10 (largest relative, at the wall)."""
    mu = 1.0
    shifted, plain = (_strip(_peierls_square(phi), mu, walls) for phi in (0.3, 0.0))
    assert shifted.conductance_ratio() == pytest.approx(plain.conductance_ratio(), rel=3e-10)
    current = ops.charge_current(_peierls_square(0.0), "x")
    np.testing.assert_allclose(shifted.density(current).total, plain.density(current).total,
                               rtol=6e-9)


def test_fully_specular_lattice_strip_conserves_particles():
    """p = 1 (W = 2 l): no particle current through any cell face along the normal (measured
    at rounding); the lattice bulk is not partner symmetric (its (k_F a)^2 corrections), so
    the conductance ratio is below 1 by 1.7e-6 at a = 0.1 nm and 1.0e-7 at 0.05 nm (a^4:
    the continuum strip is exactly the bulk here)."""
    r = _strip(_lattice(), MU, 1.0)
    s = r.solution
    shell = s.shell
    w, vn = shell.weight * shell.multiplicity, shell.velocity[:, 1]
    flux = (w * vn) @ s.g_faces
    assert np.max(np.abs(flux)) < 1e-13 * np.max((w * np.abs(vn)) @ np.abs(s.g_faces))
    assert 1 - 3e-6 < r.conductance_ratio() < 1 - 1e-6


@pytest.mark.parametrize("mu", [MU, 0.0])
def test_lattice_strip_converges_to_the_continuum_as_a_squared(mu):
    """p = 0.5, W = 2 l, against the continuum strip at 256 angles. Measured, lattice minus
    continuum (relative), conductance ratio / wall accumulation of <s_y>:

    | a (nm) | mu = 0.3 eV | mu = 0 (one band) |
    |---|---|---|
    | 0.1 | -3.2e-4 / -9.8e-3 | -1.5e-4 / -3.2e-3 |
    | 0.05 | -7.9e-5 / -2.4e-3 | -3.7e-5 / -8.0e-4 |
    | 0.025 | -2.0e-5 / -6.0e-4 | -9.1e-6 / -2.0e-4 |

    ratios 4.02-4.07 per halving; the Richardson extrapolation of a = 0.05 and 0.025 nm meets
    the continuum to 9e-8 / 3.4e-6 (mu = 0.3 eV)."""
    cont = _strip(RashbaFerromagnet(**PARAMS), mu, 0.5, angles=256)
    spin = ops.spin(RashbaFerromagnet(**PARAMS), "y")

    def values(r):
        return np.array([r.conductance_ratio(), r.accumulation(spin).total[0]])

    ref = values(cont)
    diff = [values(_strip(_lattice(a), mu, 0.5, bz_contour_points=128)) - ref
            for a in (0.05, 0.025)]
    ratio = diff[0] / diff[1]
    assert np.all((3.8 < ratio) & (ratio < 4.3))
    richardson = (4 * diff[1] - diff[0]) / 3
    assert np.all(np.abs(richardson) < np.array([3e-7, 1e-5]) * np.abs(ref))


def test_default_numerics_meet_tol_on_a_specular_lattice_strip():
    """solve_slab with its defaults (tol = 1e-3) and the wall <s_y> as an observable, a = 0.05
    nm, p = 0.5, W = 2 l: converged, the conductance ratio within tol of 512 points per loop
    on the final mesh, and the wall accumulation within 3x its estimate. Measured: converged
    at bz_contour_points 128 and 200 cells in 12 solves (1.8 s); conductance ratio 6.9e-10
    off (estimate 7e-7 on the angular axis), wall accumulation 1.3e-9 off (estimate 9.5e-9)."""
    model = _lattice(0.05)
    spin = ops.spin(model, "y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        disorder = mk.PointDisorder.from_mean_free_path(model, MU, ELL)
        r = mk.solve_slab(model, disorder, mk.Strip(2 * ELL, 0.5), MU, FIELD, observables=[spin])
        cells = r.convergence.numerics["cells"]
        ref = mk.solve_slab(model, disorder, mk.Strip(2 * ELL, 0.5, cells=cells), MU, FIELD,
                            tol=None, bz_contour_points=512)
    assert r.convergence.converged
    assert r.conductance_ratio() == pytest.approx(ref.conductance_ratio(), rel=1e-3)
    acc, acc_ref = r.accumulation(spin), ref.accumulation(spin)
    assert abs(acc.total[0] - acc_ref.total[0]) < 3 * acc.error[0]
