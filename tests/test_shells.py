"""Energy shells and Fermi-sea quadratures (THEORY.md sections 3-5)."""

import numpy as np
import pytest

from mesokinetics.models import ParabolicBand, RashbaFerromagnet, from_callable
from mesokinetics.reference import parabolic_dos
from mesokinetics.numerics import Numerics
from mesokinetics.sampling import ShellSamplingError, sample_sea, sample_shell
from mesokinetics.units import mass_to_internal


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_parabolic_density_of_states(dim):
    model = ParabolicBand(mass=0.7, dim=dim)
    shell = sample_shell(model, 0.3)
    assert shell.density_of_states() == pytest.approx(parabolic_dos(model, 0.3), rel=1e-12)
    assert np.allclose(np.linalg.norm(shell.k, axis=1), np.sqrt(2 * model.m * 0.3), rtol=1e-14)


def test_rashba_mexican_hat_annulus_is_sampled():
    """mu < 0 below the Rashba crossing: the lower band's shell is an annulus (two roots per
    ray); its DOS is (1/2pi) sum_roots k / |dEps/dk|."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    m, a = model.m, model.alpha
    mu = -0.2 * m * a**2 / 2  # between the band bottom -m alpha^2/2 and 0
    shell = sample_shell(model, mu)
    roots = m * a + np.array([-1, 1]) * np.sqrt((m * a) ** 2 + 2 * m * mu)
    dos = sum(k / abs(k / m - a) for k in roots) / (2 * np.pi)
    assert set(shell.band.tolist()) == {0}
    assert shell.density_of_states() == pytest.approx(dos, rel=1e-12)


@pytest.mark.parametrize("depth", [0.999, 0.99, 0.9])
def test_thin_ring_just_above_a_band_minimum_is_found(depth):
    """Regression: a narrow Rashba ring between two scan points shows no sign change; it is
    found from the band extremum along each ray (was silently missed, DOS = 0)."""
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    m, a = model.m, model.alpha
    mu = -depth * m * a**2 / 2
    roots = m * a + np.array([-1, 1]) * np.sqrt((m * a) ** 2 + 2 * m * mu)
    dos = sum(k / abs(k / m - a) for k in roots) / (2 * np.pi)
    assert sample_shell(model, mu).density_of_states() == pytest.approx(dos, rel=1e-12)


def test_sea_covers_exactly_the_region_of_mixed_occupation():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    mu = 0.2
    sea = sample_sea(model, mu)
    m, a = model.m, model.alpha
    kp = -m * a + np.sqrt((m * a) ** 2 + 2 * m * mu)
    km = m * a + np.sqrt((m * a) ** 2 + 2 * m * mu)
    assert np.sum(sea.weight) == pytest.approx((km**2 - kp**2) / (4 * np.pi), rel=1e-13)


def test_no_fermi_surface_gives_empty_shell():
    shell = sample_shell(ParabolicBand(mass=1, dim=2), -0.1)
    assert shell.empty and shell.density_of_states() == 0.0


def test_pocket_away_from_origin_is_reported():
    """One pocket away from k = 0 is sampled from its centre (tests/test_pockets.py); two
    pockets of one band (a double well along k_x, minima at +-2 /nm, E = 0.01 eV) are not
    star-shaped about k = 0 nor about the mean of their crossings, and are refused."""
    m = mass_to_internal(1.0)
    k0 = np.array([2.0, 0.0])
    model = from_callable(
        lambda k: (np.sum((k - k0) ** 2, -1) / (2 * m))[:, None, None] + 0j, dim=2
    )
    assert sample_shell(model, 0.05).density_of_states() == pytest.approx(m / (2 * np.pi),
                                                                          rel=1e-12)
    wells = from_callable(lambda k: (((k[..., 0] ** 2 - 4.0) ** 2 / 16 + k[..., 1] ** 2)
                                     / (2 * m))[..., None, None] + 0j, dim=2)
    with pytest.raises(ShellSamplingError, match="not star-shaped about k = 0 or its centre"):
        sample_shell(wells, 0.01)


def test_numerics_are_validated():
    with pytest.raises(ValueError, match="angles"):
        Numerics(angles=3)
    with pytest.raises(TypeError, match="unknown numerics"):
        Numerics.from_kwargs({"angels": 32})
