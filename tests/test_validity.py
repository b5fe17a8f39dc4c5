"""ValidityWarning where the assumptions of the theory fail on the Fermi surface
(issue 12, item 4), and the band-edge error of the ray sampler."""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.models import OrbitalTexture, ParabolicBand, RashbaFerromagnet
from mesokinetics.units import mass_to_internal
from mesokinetics import ValidityWarning


def _solve(model, disorder, mu, field=(1e-3, 0.0)):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = mk.solve_uniform(model, disorder, mu, field)
    return r, [w for w in caught if issubclass(w.category, ValidityWarning)]


def test_rashba_band_crossing_warns_and_mu_away_from_it_does_not():
    """At mu = 0 the inner Rashba circle has radius ~0 and its interband gap 2 alpha k is
    far below hbar/tau; at mu = 0.1 eV the gap x tau is large."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_tau(model, 0.1, 100.0)
    r, caught = _solve(model, disorder, 0.0)
    assert len(caught) == 1 and "interband gap x tau" in str(caught[0].message)
    gap_tau = float(str(caught[0].message).split("= ")[1].split(" ")[0])
    assert gap_tau < 1e-3
    assert r.validity == [str(caught[0].message)]
    r, caught = _solve(model, disorder, 0.1)
    assert caught == [] and r.validity == []


def test_short_mean_free_path_warns():
    model = ParabolicBand(mass=1.0, dim=2)
    _, caught = _solve(model, mk.PointDisorder.from_mean_free_path(model, 0.2, 0.5), 0.2)
    assert any("k_F l" in str(w.message) for w in caught)
    _, caught = _solve(model, mk.PointDisorder.from_mean_free_path(model, 0.2, 50.0), 0.2)
    assert caught == []


def test_degenerate_band_with_non_scalar_scattering_does_not_warn():
    """OrbitalTexture(dim=2): p_z and the in-plane transverse band are degenerate but
    scatter at different rates (issue 13). Every solver carries the matrix distribution
    (docs/theory.md §12), so there is nothing to warn about."""
    model = OrbitalTexture(mass=1.0, texture=0.05, dim=2)
    disorder = mk.PointDisorder.from_tau(model, 0.3, 400.0)
    r, caught = _solve(model, disorder, 0.3)
    assert caught == [] and r.validity == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ValidityWarning)
        # small numerics for a fast run, one solve each (tol=None: their tol check would warn)
        film = mk.solve_slab(model, disorder, mk.Strip(200.0, 0.0, cells=16), 0.3, (1e-3, 0.0),
                             angles=16, tol=None)
        cell = mk.solve_periodic_strip(model, disorder, mk.PeriodicStrip(20.0, 200.0, 0.0,
                                       cells=(2, 16)), 0.3, (1e-3, 0.0), angles=16, tol=None)
    assert film.validity == [] and cell.validity == []


def test_finite_samples_record_the_validity_of_their_shells():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_tau(model, 0.1, 100.0)
    with pytest.warns(ValidityWarning):
        r = mk.solve_slab(model, disorder, mk.Strip(100.0, 0.0, cells=20), 0.0, (1e-3, 0.0),
                          angles=16, tol=None)  # small numerics, one solve
    assert r.validity and "interband gap" in r.validity[0]


def test_mu_at_the_bottom_of_the_rashba_ring_names_the_band_edge():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    bottom = -mass_to_internal(1.0) * 0.1 ** 2 / 2
    with pytest.raises(mk.ShellSamplingError, match="extremum of band 0"):
        mk.solve_uniform(model, mk.PointDisorder(1e-3), bottom, (1e-3, 0.0))
    assert np.isfinite(mk.solve_uniform(model, mk.PointDisorder(1e-3), bottom + 1e-6,
                                        (1e-3, 0.0), angles=16)
                       .density(mk.operators.spin(model, "y")).total)
