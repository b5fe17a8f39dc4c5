"""Fermi-level scans (issue 14, item 3): ``scan_fermi_level`` equals independent
``solve_uniform`` calls at every mu, at T = 0 and at T > 0, and rejects bad scans.

Measured agreement with separate solves: 1e-16..5e-16 of the largest contribution
(continuum Rashba ferromagnet and square Rashba lattice); T > 0 against
solve_uniform(temperature=...) with 24 thermal nodes: see the test docstrings.
"""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import RashbaFerromagnet, RashbaLattice
from mesokinetics.numerics import Numerics
from mesokinetics.response.scan import POINTS_PER_KT, _thermal_grid
from mesokinetics.sampling import Sea
from mesokinetics.topology import intrinsic_response

FIELD = (1e-3, 0.0)


def _continuum():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.05)
    return model, mk.PointDisorder.from_tau(model, mu=0.2, tau_fs=100.0)


def _lattice():
    model = RashbaLattice(alpha=0.1, exchange=0.1, magnetization=(0.6, 0.0, 0.8),
                          lattice_constant=0.3)
    return model, mk.PointDisorder(1e-3)


def _observables(model):
    return [ops.spin(model, "x"), ops.spin(model, "y"), ops.spin(model, "z")]


def _compare(scan, model, disorder, mus, rtol, **numerics):
    """Every contribution of every observable and the conductivity against solve_uniform;
    differences relative to the largest contribution of any observable over the scan (a
    symmetry-forbidden response is rounding noise, 1e-17, on either side)."""
    observables = _observables(model)
    scanned = scan.responses(observables)
    sigma = scan.conductivity("internal")
    scale = max(np.abs(getattr(r, p)).max() for r in scanned
                for p in ("intraband", "intrinsic", "disorder"))
    for i, mu in enumerate(mus):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = mk.solve_uniform(model, disorder, mu, FIELD, **numerics)
        for op, got in zip(observables, scanned):
            want = ref.response(op)
            for part in ("intraband", "intrinsic", "gradient", "disorder"):
                assert np.allclose(getattr(got, part)[i], getattr(want, part),
                                   rtol=0, atol=rtol * scale), (mu, op.name, part)
            dens = scan.density(op)  # the field is 1e-3 V/nm along x
            assert dens.total[i] == pytest.approx(ref.density(op).total, abs=rtol * scale * 1e-3)
        want = ref.conductivity("internal")
        assert np.allclose(sigma.total[i], want.total, rtol=0,
                           atol=rtol * np.abs(want.total).max())


def test_scan_equals_separate_solves_continuum():
    """Rays from k = 0: each mu has its own roots, so nothing is shared but the batching;
    measured difference <= 5e-16 of the largest contribution."""
    model, disorder = _continuum()
    mus = np.array([0.08, 0.15, 0.2, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = mk.scan_fermi_level(model, disorder, mus, FIELD)
    assert np.array_equal(scan.mu, mus) and len(scan) == 4
    _compare(scan, model, disorder, mus, 1e-12)


def test_scan_equals_separate_solves_lattice():
    """Adaptive Brillouin-zone seas, built with one energy cache and pooled: the same rule
    per mu as solve_uniform (measured difference <= 4e-16), and k points are shared."""
    model, disorder = _lattice()
    mus = np.array([0.26, 0.28, 0.30])
    numerics = dict(bz_grid=32, bz_refine=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = mk.scan_fermi_level(model, disorder, mus, FIELD, **numerics)
    _compare(scan, model, disorder, mus, 1e-12, **numerics)
    unique, node_of, _, _ = scan._pooled()
    assert len(unique) < len(node_of)  # the rules share nodes (unrefined cells)
    # the seas are those of solve_uniform, node for node
    sea = mk.solve_uniform(model, disorder, mus[1], FIELD, **numerics).nodes[0].sea
    assert np.array_equal(scan.nodes[1].sea.k, sea.k)
    assert np.array_equal(scan.nodes[1].sea.weight, sea.weight)


def test_uniform_sea_grid_equals_the_chunked_intrinsic_response():
    """sea_grid: one shared midpoint rule for every mu; the block-sum evaluation equals
    topology.intrinsic_response on the same explicit Sea (a separate code path) to
    1e-12, and approaches the adaptive result as the grid is refined."""
    model, disorder = _lattice()
    mus = np.array([0.26, 0.30])
    n = 48
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = mk.scan_fermi_level(model, disorder, mus, FIELD, bz_grid=32, sea_grid=n)
    obs = _observables(model)
    got = [r.intrinsic for r in scan.responses(obs)]
    x, w = np.polynomial.legendre.leggauss(2)
    u1 = ((np.arange(n)[:, None] + 0.5 + x[None] / 2) / n).ravel()
    w1 = np.tile(w / 2, n) / n
    u = np.stack(np.meshgrid(u1, u1, indexing="ij"), -1).reshape(-1, 2)
    wt = np.outer(w1, w1).ravel() / model.cell_volume
    for i, mu in enumerate(mus):
        sea = Sea(mu, u @ model.reciprocal_vectors, wt)
        want = intrinsic_response(model, mu, obs, Numerics(), sea=sea)
        scale = np.abs(want).max()
        for j in range(len(obs)):
            assert np.allclose(got[j][i], want[j], rtol=0, atol=1e-12 * scale)


def test_finite_temperature_equals_solve_uniform_at_temperature():
    """T = 60 K (k_B T = 5.2 meV): the -df/deps average of a T = 0 scan spaced k_B T / 2
    against solve_uniform(temperature=60) (24 Gauss-Legendre thermal nodes), at an end
    (padding) and the centre. Measured largest difference 2.2e-7 of the largest
    contribution, the same at spacing k_B T / 4 and moving to 1.2e-7 with 96 thermal
    nodes in solve_uniform: the noise of the T = 0 ray quadratures, not the convolution;
    tolerance 2e-6."""
    model, disorder = _continuum()
    temperature = 60.0
    kt = 8.617333262e-5 * temperature
    mus = 0.2 + np.arange(-2, 3) * kt / POINTS_PER_KT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scan = mk.scan_fermi_level(model, disorder, mus, FIELD, temperature=temperature)
        assert len(scan.energies) > len(mus)  # padded beyond the ends
        obs = _observables(model)
        got = scan.responses(obs)
        for i in (0, 2, 4):
            # the 24-node solve the docstring measures (tol=None: no refinement, no check)
            ref = mk.solve_uniform(model, disorder, mus[i], FIELD, temperature=temperature,
                                   tol=None)
            scale = max(np.abs(getattr(ref.response(op), p)).max() for op in obs
                        for p in ("intraband", "intrinsic", "disorder"))
            for op, g in zip(obs, got):
                want = ref.response(op)
                for part in ("intraband", "intrinsic", "disorder"):
                    assert np.allclose(getattr(g, part)[i], getattr(want, part), rtol=0,
                                       atol=2e-6 * scale), (mus[i], op.name, part)


def test_thermal_weights_are_the_exact_fermi_window():
    """The convolution weights integrate -df/deps exactly against hat functions: each row
    sums to 1 up to the 4e-10 tail, reproduces int (-f') eps = mu, and
    int (-f') (eps - mu)^2 = (pi kT)^2 / 3 plus the interpolation error of eps^2, h^2/6
    on a uniform grid (h = kT/2: 0.042 kT^2; measured 0.044 at the centre of a 13-point
    scan, up to 0.068 at its ends, where the padding grows). A geometric padding from the
    first point on gave 0.076 kT^2 everywhere and needed this check."""
    temperature = 300.0
    kt = 8.617333262e-5 * temperature
    mus = 0.1 + np.arange(13) * kt / POINTS_PER_KT
    energies, weights = _thermal_grid(mus, temperature)
    assert len(energies) < len(mus) + 24  # about 10 padding energies per side
    assert np.all(np.abs(weights.sum(1) - 1) < 1e-9)
    # exact for linear functions but for the tails beyond the padding (4e-10 x 0.6 eV)
    assert np.allclose(weights @ energies, mus, rtol=0, atol=1e-9)
    second = np.einsum("ij,ij->i", weights, (energies[None] - mus[:, None]) ** 2)
    excess = (second - (np.pi * kt) ** 2 / 3) / kt**2
    assert np.all((excess > 0) & (excess < 0.07)), excess
    assert excess[6] == pytest.approx((0.5**2) / 6, rel=0.1)
    assert np.array_equal(_thermal_grid(mus, 0.0)[1], np.eye(len(mus)))


@pytest.mark.parametrize("mus, match", [
    ([], "empty"),
    ([[0.1, 0.2]], "1D"),
    ([0.1, np.nan], "finite"),
    ([0.2, 0.1], "strictly increasing"),
    ([0.1, 0.1], "strictly increasing"),
    ("abc", "energies in eV"),
])
def test_scan_rejects_bad_mus(mus, match):
    model, disorder = _continuum()
    with pytest.raises(ValueError, match=match):
        mk.scan_fermi_level(model, disorder, mus, FIELD)


def test_scan_rejects_coarse_thermal_grids_and_bad_options():
    model, disorder = _continuum()
    with pytest.raises(ValueError, match="too coarse for temperature"):
        mk.scan_fermi_level(model, disorder, [0.1, 0.2], FIELD, temperature=300.0)
    with pytest.raises(ValueError, match="temperature"):
        mk.scan_fermi_level(model, disorder, [0.1], FIELD, temperature=-1.0)
    with pytest.raises(ValueError, match="sea_grid needs a 2D or 3D lattice"):
        mk.scan_fermi_level(model, disorder, [0.1], FIELD, sea_grid=32)
    lat, dis = _lattice()
    with pytest.raises(ValueError, match="sea_grid must be"):
        mk.scan_fermi_level(lat, dis, [0.3], FIELD, sea_grid=1)
    with pytest.raises(ValueError, match="field"):
        mk.scan_fermi_level(model, disorder, [0.1], (1.0, 0.0, 0.0))
    with pytest.raises(TypeError, match="unknown numerics"):
        mk.scan_fermi_level(model, disorder, [0.1], FIELD, bz_gird=8)
    scan = mk.scan_fermi_level(model, disorder, [0.2], FIELD)
    with pytest.raises(ValueError, match="unit"):
        scan.conductivity("S/cm")  # a 2D model has sheet units
    assert scan.conductivity("S").total.shape == (1, 2, 2)
