"""Bad input gets a clear error naming the parameter; never a silent NaN."""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import MassiveDirac, OrbitalTexture, ParabolicBand, RashbaFerromagnet, from_callable
from mesokinetics.units import mass_to_internal

MODEL = RashbaFerromagnet(mass=1.0, alpha=0.1)
DIS = mk.PointDisorder(0.01)


@pytest.mark.parametrize("gamma", [-1.0, 0.0, np.nan, np.inf])
def test_gamma_must_be_positive(gamma):
    with pytest.raises(ValueError, match="gamma must be a positive"):
        mk.PointDisorder(gamma)


def test_negative_temperature():
    with pytest.raises(ValueError, match="temperature"):
        mk.solve_uniform(MODEL, DIS, 0.2, (1.0, 0.0), temperature=-1.0)


@pytest.mark.parametrize("field", [(1.0,), (1.0, 0.0, 0.0), (np.nan, 0.0)])
def test_field_of_wrong_dimension_or_not_finite(field):
    with pytest.raises(ValueError, match="field"):
        mk.solve_uniform(MODEL, DIS, 0.2, field)


def test_chemical_potential_must_be_finite():
    with pytest.raises(ValueError, match="mu"):
        mk.solve_uniform(MODEL, DIS, np.nan, (1.0, 0.0))


def test_non_hermitian_hamiltonian():
    model = from_callable(lambda k: np.array([[[0.1, 1.0], [0.0, 0.2]]] * len(k)) + 0j, dim=2)
    with pytest.raises(ValueError, match="not Hermitian at k"):
        mk.solve_uniform(model, DIS, 0.15, (1.0, 0.0))


def test_nan_in_hamiltonian_is_reported():
    model = from_callable(lambda k: np.full((len(k), 1, 1), np.nan) + 0j, dim=2)
    with pytest.raises(ValueError, match="NaN"):
        mk.solve_uniform(model, DIS, 0.1, (1.0, 0.0))


def test_shell_that_cannot_be_sampled():
    m = mass_to_internal(1.0)
    model = from_callable(
        lambda k: (np.sum((k - [1.5, 0.0]) ** 2, -1) / (2 * m))[:, None, None] + 0j, dim=2
    )
    with pytest.raises(mk.ShellSamplingError, match="star-shaped"):
        mk.solve_uniform(model, DIS, 0.02, (1.0, 0.0))


def test_mu_in_gap_is_allowed_and_purely_intrinsic():
    model = MassiveDirac(velocity=0.5, gap=0.1)
    d = mk.solve_uniform(model, DIS, 0.0, (1.0, 0.0)).density(ops.charge_current(model, "y"))
    assert d.intraband == 0.0 and d.disorder == 0.0 and d.intrinsic != 0.0


def test_disorder_by_tau_in_a_gap_is_an_error():
    with pytest.raises(ValueError, match="no Fermi surface"):
        mk.PointDisorder.from_tau(MassiveDirac(velocity=0.5, gap=0.1), 0.0, 10.0)
    with pytest.raises(ValueError, match="no Fermi surface"):
        mk.PointDisorder.from_mean_free_path(ParabolicBand(1.0, 2), -0.1, 10.0)


@pytest.mark.parametrize("tau", [0.0, -5.0, np.nan])
def test_tau_must_be_positive(tau):
    with pytest.raises(ValueError, match="tau_fs"):
        mk.PointDisorder.from_tau(MODEL, 0.2, tau)


@pytest.mark.parametrize(
    "factory, match",
    [
        (lambda: ParabolicBand(mass=-1.0), "mass"),
        (lambda: ParabolicBand(mass=1.0, dim=4), "dim"),
        (lambda: RashbaFerromagnet(alpha=np.nan), "alpha"),
        (lambda: RashbaFerromagnet(magnetization=(0, 0, 0)), "magnetization"),
        (lambda: MassiveDirac(velocity=0.0), "velocity"),
        (lambda: OrbitalTexture(dim=1), "dim"),
    ],
)
def test_model_parameters_are_validated(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_operators_are_validated():
    with pytest.raises(ValueError, match="no spin"):
        ops.spin(ParabolicBand(1.0, 2), "x")
    with pytest.raises(ValueError, match="no orbital"):
        ops.orbital(MODEL, "z")
    with pytest.raises(ValueError, match="axis"):
        ops.spin(MODEL, "w")
    with pytest.raises(ValueError, match="flow axis"):
        ops.spin_current(MODEL, "z", "z")
    with pytest.raises(ValueError, match="not Hermitian"):
        ops.Operator(np.array([[0, 1], [0, 0]]))
    r = mk.solve_uniform(MODEL, DIS, 0.2, (1.0, 0.0), angles=8)
    with pytest.raises(ValueError, match="3x3"):
        r.density(np.eye(3))


def test_mean_free_path_conversion_for_a_parabolic_band():
    model = ParabolicBand(mass=1.0, dim=2)
    mu, ell = 0.2, 30.0
    d = mk.PointDisorder.from_mean_free_path(model, mu, ell)
    kf = np.sqrt(2 * model.m * mu)
    tau = 1 / (d.gamma * model.m / (2 * np.pi))
    assert kf / model.m * tau == pytest.approx(ell, rel=1e-12)


def test_degenerate_bands_with_spin_warn():
    """Footnote [72]: degenerate bands with spin-orbit coupling miss a traceless part."""
    from mesokinetics.bands import band_groups
    from mesokinetics.models import PAULI

    def h(k):  # Kramers-degenerate 4-band model with spin-orbit coupling
        k2 = np.sum(k * k, -1)[:, None, None]
        return 0.03 * k2 * np.eye(4) + 0.2 * k[:, 0, None, None] * np.kron(PAULI[0], PAULI[2]) \
            + 0.2 * k[:, 1, None, None] * np.kron(PAULI[1], PAULI[2]) + 0j

    model = from_callable(h, 2, spin_matrices=np.stack([np.kron(np.eye(2), p) / 2 for p in PAULI]))
    assert np.any(np.bincount(band_groups(model)) > 1)
    with pytest.warns(UserWarning, match="footnote"):
        mk.solve_uniform(model, DIS, 0.5, (1.0, 0.0), angles=8)
