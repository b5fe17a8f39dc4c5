"""Fermi-loop rules of lattice models graded at the grazing points of the wall (issue 12,
item 3; docs/theory.md §8, "Brillouin zone"): the points of each loop where v_n = 0."""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.boltzmann.walls import UnsupportedCombination, mirror_partners
from mesokinetics.models.lattice import RashbaLattice
from mesokinetics.numerics import Numerics
from mesokinetics.sampling import sample_shell

#: k_F a = 0.23 at mu = 0.2 eV: the lattice strip of tests/test_lattice.py
LATTICE = RashbaLattice(mass=1.0, alpha=0.1, lattice_constant=0.1)
MU, MFP = 0.2, 20.0


def _wall_sz(points, specularity=0.0):
    disorder = mk.PointDisorder.from_mean_free_path(LATTICE, MU, MFP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mk.ValidityWarning)
        r = mk.solve_slab(LATTICE, disorder, mk.Strip(10 * MFP, specularity, cells=200), MU,
                          (1e-3, 0.0), bz_contour_points=points)
    return r.density(ops.spin(LATTICE, "z")).total[0], r.conductance_ratio()


def test_wall_spin_of_a_lattice_strip_converges_with_the_graded_contour_rule():
    """W = 10 l, diffuse walls, 200 cells. Measured wall s_z relative to 1024 points per
    loop: 6.3e-5, 1.6e-7, 5.5e-10, 1e-14 at 64, 128, 256, 512 points. The uniform
    arc-length rule before (no grazing refinement): +16.7 %, -13.6 %, -22.2 %, +0.10 %,
    -6.6 %, -1.3 % at 64 ... 2048 points."""
    ref = _wall_sz(512)[0]
    errors = [abs(_wall_sz(p)[0] / ref - 1) for p in (64, 128, 256)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] < 2e-4 and errors[1] < 5e-7 and errors[2] < 5e-9


@pytest.mark.parametrize("model, normal", [
    (LATTICE, 1), (LATTICE, 0),
    # m in plane along x: the pockets shift along k_y, mirror symmetric about x only
    (RashbaLattice(mass=1.0, alpha=0.1, exchange=0.05, magnetization=(1, 0, 0)), 0),
])
def test_graded_rule_of_a_mirror_symmetric_lattice_shell_has_exact_specular_partners(model, normal):
    shell = sample_shell(model, MU, Numerics(bz_contour_points=64), grazing_axis=normal)
    partner = mirror_partners(shell, normal)
    mirrored = shell.k[partner].copy()
    mirrored[:, normal] *= -1
    assert np.array_equal(mirrored, shell.k)  # exact: built as mirror images
    assert np.array_equal(shell.weight[partner], shell.weight)
    assert not np.any(partner == np.arange(len(partner)))  # no node on the grazing line


def test_uniform_lattice_rule_had_no_partners_for_a_wall_normal_to_x():
    """The bulk rule (unchanged) unwraps the Gamma pocket at (2 pi / a, 0): its mirror
    image about x is a zone away, so specular walls normal to x were refused; the graded
    rule moves its nodes to the Wigner-Seitz cell."""
    bulk = sample_shell(LATTICE, MU, Numerics(bz_contour_points=64))
    with pytest.raises(UnsupportedCombination):
        mirror_partners(bulk, 0)


def test_specular_lattice_strip_keeps_the_bulk_conductance():
    """p = 1 on both walls: the shell is mirror symmetric, so the strip reproduces the
    bulk to rounding (docs/theory.md §6); measured |G/G0 - 1| = 7e-16."""
    assert _wall_sz(64, specularity=1.0)[1] == pytest.approx(1.0, abs=1e-12)


def test_bulk_lattice_rule_is_uniform_and_the_graded_rule_integrates_the_same_shell():
    """Without grazing_axis the loop keeps its uniform arc-length trapezoid rule (points in
    loop order, equal spacing; tests/test_lattice.py pins its results); the graded rule
    crowds nodes at v_y = 0 with the same count and integrates the density of states to
    1.3e-8 at 64 points (measured), 3e-11 at 200."""
    num = Numerics(bz_contour_points=64)
    bulk = sample_shell(LATTICE, MU, num)
    graded = sample_shell(LATTICE, MU, num, grazing_axis=1)
    for band in (0, 1):
        k = bulk.k[bulk.band == band]
        step = np.linalg.norm(np.diff(np.concatenate([k, k[:1]]), axis=0), axis=1)
        assert np.ptp(step) < 1e-3 * step.mean()
        sel = bulk.band == band
        dl = bulk.weight[sel] * np.linalg.norm(bulk.bands.band_velocity[sel, band], axis=1)
        assert np.ptp(dl) < 1e-3 * dl.mean()  # weight = dl / (|v| (2 pi)^2), dl constant

    def near_grazing(shell):  # nodes within ~3 degrees of v_y = 0
        v = shell.bands.band_velocity[np.arange(len(shell.k)), shell.band]
        return np.count_nonzero(np.abs(v[:, 1]) / np.linalg.norm(v, axis=1) < 0.05)

    assert len(graded.k) == len(bulk.k) == 128  # two grazing points: as many nodes per loop
    assert near_grazing(bulk) == 4 and near_grazing(graded) == 48  # measured: 4, 48
    assert graded.weight.sum() == pytest.approx(bulk.weight.sum(), rel=1e-7)
