"""Bad input gets a clear error naming the parameter; never a silent NaN."""

import warnings

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.io.config import ConfigError
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
    """Two pockets of one band (one pocket away from k = 0 is sampled from its centre:
    tests/test_pockets.py)."""
    m = mass_to_internal(1.0)
    model = from_callable(lambda k: (((k[..., 0] ** 2 - 4.0) ** 2 / 16 + k[..., 1] ** 2)
                                     / (2 * m))[..., None, None] + 0j, dim=2)
    with pytest.raises(mk.ShellSamplingError, match="star-shaped"):
        mk.solve_uniform(model, DIS, 0.01, (1.0, 0.0))


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


def test_degenerate_bands_with_spin_do_not_warn():
    """Footnote [72]: degenerate bands with spin-orbit coupling may have a traceless
    intraband part; every solver now carries the matrix distribution (issue 13), so the
    old warning is gone."""
    from mesokinetics.bands import band_groups
    from mesokinetics.models import PAULI

    def h(k):  # Kramers-degenerate 4-band model with spin-orbit coupling
        k2 = np.sum(k * k, -1)[:, None, None]
        return 0.03 * k2 * np.eye(4) + 0.2 * k[:, 0, None, None] * np.kron(PAULI[0], PAULI[2]) \
            + 0.2 * k[:, 1, None, None] * np.kron(PAULI[1], PAULI[2]) + 0j

    model = from_callable(h, 2, spin_matrices=np.stack([np.kron(np.eye(2), p) / 2 for p in PAULI]))
    assert np.any(np.bincount(band_groups(model)) > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # tol=None: angles = 8 is the point, and its tol check would warn (ConvergenceWarning)
        mk.solve_uniform(model, DIS, 0.5, (1.0, 0.0), angles=8, tol=None)
        film = mk.solve_slab(model, DIS, mk.Strip(50.0, 0.0, cells=8), 0.5, (1.0, 0.0), angles=8,
                             tol=None)
        cell = mk.solve_periodic_strip(model, DIS, mk.PeriodicStrip(10.0, 50.0, 0.0, cells=(2, 8)),
                                       0.5, (1.0, 0.0), angles=8, tol=None)
    assert film.validity == [] and cell.validity == []


# --------------------------------------------------------------------------------------
# Issue 16: user errors, never a traceback
# --------------------------------------------------------------------------------------

STRIP = {"numerics.cells": 8, "numerics.angles": 16}


def _cli_error(capsys, args) -> str:
    """Run the command line; assert exit status 2 with one line; return the line."""
    from mesokinetics.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mesokinetics: error:"), err
    return err


def test_unsupported_combination_is_both_a_value_and_a_not_implemented_error():
    from mesokinetics.boltzmann.walls import UnsupportedCombination

    # in-plane m along the wall, mu in the Mexican hat: the lower band's shell is an annulus
    # without the wall mirror, so k_t labels no unique specular partner (Rashba +
    # Dresselhaus, as here before, now works: tests/test_specular_asymmetric.py)
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.01, magnetization=(1, 0, 0))
    disorder = mk.PointDisorder.from_mean_free_path(model, -0.03, 20.0)
    with pytest.raises(UnsupportedCombination, match="mirror symmetric.*annulus") as info:
        mk.solve_slab(model, disorder, mk.Strip(40.0, 0.5, cells=8), -0.03, (1.0, 0.0),
                      angles=16, tol=None)
    assert isinstance(info.value, ValueError) and isinstance(info.value, NotImplementedError)


ANNULUS = ["model.exchange=0.01", "model.magnetization=[1, 0, 0]", "conditions.mu=-0.03"]


@pytest.mark.parametrize("sets", [
    ANNULUS + ["geometry.specularity=0.5"],
    ANNULUS + ["geometry.roughness=0.1"],
    ANNULUS + ["geometry.specularity=1"],
])
def test_specular_walls_of_an_asymmetric_annulus_exit_2(tmp_path, capsys, sets):
    """Specular walls of a shell without the wall mirror need each band's contour to have
    two grazing points (then the strip rule pairs the momentum along the wall, and Rashba +
    Dresselhaus or m along the wall run: tests/test_specular_asymmetric.py). An annulus
    (m along the wall, mu in the Mexican hat) has four: refused, one line, exit 2."""
    args = ["run", "rashba_strip", "--out", str(tmp_path / "o"), "-q"]
    for s in sets + [f"{k}={v}" for k, v in STRIP.items()]:
        args += ["--set", s]
    err = _cli_error(capsys, args)
    assert "mirror symmetric" in err and "annulus" in err


def test_vanishing_mean_free_path_is_a_run_error():
    from mesokinetics.workflow import RunError

    config = mk.load_config("rashba_strip", {**STRIP, "model.mass": 1e12, "disorder.gamma": 1e300})
    with pytest.raises(RunError, match="mean free path"):
        mk.run(config)


DEEP = "[" * 5000 + "]" * 5000


def _nested(depth=5000):
    out = inner = []
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return out


@pytest.mark.parametrize("overrides, match", [
    ({"conditions.mu": 10 ** 400}, "conditions.mu .*out of range"),
    ({"conditions.field": [10 ** 400, 0]}, "conditions.field .*out of range"),
    ({"model.mass": 10 ** 5000}, "model.mass .*out of range"),
    ({"numerics.cells": 10 ** 400}, "numerics.cells .*out of range"),
    (["numerics.cells=" + "9" * 5000], "numerics.cells: cannot read value"),
    (["conditions.field=" + DEEP], "conditions.field: value nested too deeply"),
    ({"conditions.field": _nested()}, "conditions.field: nested deeper than"),
    ({5: 1.0}, "a key must be a dotted string"),
])
def test_huge_numbers_and_deep_nesting_are_config_errors(overrides, match):
    with pytest.raises(ConfigError, match=match) as info:
        mk.load_config("rashba_strip", overrides)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body", [
    "a = " + DEEP,
    "a = " + "9" * 5000,
    "[model]\nkind = 'parabolic_band'\nmass = 1" + "0" * 400
    + "\n[disorder]\ngamma = 1.0\n[conditions]\nmu = 0.1\nfield = [1.0, 0, 0]\n",
])
def test_huge_numbers_and_deep_nesting_in_a_file(tmp_path, capsys, body):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError):
        mk.load_config(path)
    _cli_error(capsys, ["config", str(path)])


def test_deeply_nested_dict_config_is_a_config_error():
    nested = _nested()
    with pytest.raises(ConfigError, match="nested deeper"):
        mk.load_config({"model": {"kind": "parabolic_band", "mass": nested}})
    with pytest.raises(TypeError, match="source must be"):
        mk.load_config(nested)


# --- pre-flight estimate (mesokinetics/preflight.py) -----------------------------------

def test_physical_memory_is_known_here():
    from mesokinetics.preflight import physical_memory

    assert physical_memory() > 2 ** 26


def test_huge_brillouin_zone_grid_is_refused_before_solving():
    from mesokinetics.models import QiWuZhang

    with pytest.raises(ValueError, match=r"PiB.*lower numerics\.bz_grid"):
        mk.solve_uniform(QiWuZhang(), DIS, 0.5, (1.0, 0.0), bz_grid=10 ** 8)


def test_huge_ray_rules_and_slabs_are_refused():
    from mesokinetics.preflight import check_resources

    with pytest.raises(ValueError, match=r"lower numerics\.polar, numerics\.azimuth"):
        check_resources(ParabolicBand(1.0, 3), mk.Numerics(polar=10000, azimuth=10000))
    with pytest.raises(ValueError, match=r"lower numerics\.cells, numerics\.angles"):
        check_resources(MODEL, mk.Numerics(angles=4096), cells=10 ** 5, memory=2 ** 30)
    check_resources(MODEL, mk.Numerics(angles=4096), cells=100, memory=2 ** 30)


def test_huge_bz_grid_in_a_config_exits_2_at_once(tmp_path, capsys):
    err = _cli_error(capsys, ["run", "wannier_ferromagnet_film", "--out", str(tmp_path / "o"),
                              "-q", "--set", "numerics.bz_grid=100000"])
    assert "PiB" in err and "numerics.bz_grid" in err


def test_every_preset_passes_the_preflight_with_room_to_spare():
    from mesokinetics.io.config import list_presets
    from mesokinetics.preflight import estimate
    from mesokinetics.workflow import SHELL_NUMERICS, _mesh_cells, _model

    for name in list_presets():
        c = mk.load_config(name).data
        # keys left out (None) take the solver defaults, as in workflow.build
        num = mk.Numerics(**{k: c["numerics"][k] for k in SHELL_NUMERICS
                             if c["numerics"].get(k) is not None})
        cells = _mesh_cells(c["geometry"], c["numerics"])  # strips, films and sections
        est = estimate(_model(c["model"]), num, cells)
        assert 0 < est.bytes < 2 ** 30, (name, est)


# --- user velocities against dh/dk (validation.check_velocity) --------------------------

def _user_model(velocity, **kwargs):
    return from_callable(MODEL.hamiltonian, 2, velocity=velocity, momentum_scale=0.5, **kwargs)


@pytest.mark.parametrize("velocity, match", [
    (lambda k: -MODEL.velocity(k), "velocity\\(k\\) is not dh/dk"),
    (lambda k: MODEL.velocity(k) * np.array([1.0, 1.2])[None, :, None, None], "not dh/dk"),
    (lambda k: MODEL.velocity(k) * np.nan, "velocity has NaN or inf entries at k = \\["),
    (lambda k: MODEL.velocity(k)[:, :1], "velocity\\(k\\) must have shape"),
])
def test_wrong_user_velocity_is_an_error_naming_the_k_point(velocity, match):
    with pytest.raises(ValueError, match=match):
        mk.solve_uniform(_user_model(velocity), DIS, 0.2, (1.0, 0.0), angles=8)


def test_nan_hamiltonian_with_user_velocity_names_the_k_point():
    model = from_callable(lambda k: np.full((len(k), 1, 1), np.nan) + 0j, dim=2,
                          velocity=lambda k: np.zeros((len(k), 2, 1, 1)))
    with pytest.raises(ValueError, match=r"Hamiltonian has NaN or inf entries at k = \["):
        mk.solve_uniform(model, DIS, 0.1, (1.0, 0.0))


def test_correct_user_velocity_passes_once_and_is_cached():
    from mesokinetics.validation import check_velocity

    calls = []

    def velocity(k):
        calls.append(len(k))
        return MODEL.velocity(k)

    model = _user_model(velocity)
    check_velocity(model)
    assert model._velocity_checked and len(calls) == 1
    check_velocity(model)
    assert len(calls) == 1


def test_builtin_models_skip_the_velocity_check():
    import time

    from mesokinetics.models import QiWuZhang
    from mesokinetics.validation import check_velocity

    for model in (RashbaFerromagnet(mass=1.0, alpha=0.1), QiWuZhang()):
        t0 = time.perf_counter()
        check_velocity(model)
        assert time.perf_counter() - t0 < 1e-3 and model._velocity_checked


# --- plain numbers in --set / --vary values; bounded readers ----------------------------

@pytest.mark.parametrize("text", ["numerics.cells=2_6", "numerics.cells=\u0662\u0666",
                                  "numerics.cells=\uff11\uff12", "conditions.mu=0x10",
                                  "conditions.field=[1_0.0, 0]", "conditions.mu=1e1_0",
                                  "numerics.cells=\u00b2"])
def test_only_plain_decimal_numbers_in_set_values(text):
    from mesokinetics.io.config import parse_override

    key = text.split("=")[0]
    with pytest.raises(ConfigError, match=rf"--set {key} = .*plain decimal numbers") as info:
        parse_override(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text, value", [("name=run_2_6", "run_2_6"), ("numerics.cells=26", 26),
                                         ("conditions.field=[1e-3, 0.0]", [0.001, 0.0]),
                                         ("conditions.mu=+1.5e+3", 1500.0),
                                         ("description=\"2_6 \u0662\u0666\"", "2_6 \u0662\u0666")])
def test_plain_values_words_and_strings_still_read(text, value):
    from mesokinetics.io.config import parse_override

    assert parse_override(text)[1] == value


def test_vary_values_must_be_plain_numbers():
    from mesokinetics.sweep import Vary

    with pytest.raises(ConfigError, match="plain decimal"):
        Vary.parse("geometry.width=1_0:100:3")
    assert Vary.parse("geometry.width=10:100:2").values == (10, 100)


def test_check_readable_file(tmp_path):
    import os

    from mesokinetics.io.files import check_readable_file

    good = tmp_path / "a_hr.dat"
    good.write_text("x\n")
    assert check_readable_file(good, 10, "model.hr_file") == good
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, match in [("/dev/zero", "is a device"), (fifo, "is a FIFO"), (tmp_path, "is a folder"),
                        (tmp_path / "none", "cannot read"), (good, "more than the 1 B")]:
        with pytest.raises(ValueError, match=rf"model.hr_file = .*{match}"):
            check_readable_file(path, 1 if path == good else 10, "model.hr_file")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "header"])
def test_hr_file_that_cannot_be_read_safely_exits_2(tmp_path, capsys, special):
    import os

    if special == "fifo":
        path = tmp_path / "fifo_hr.dat"
        os.mkfifo(path)
    elif special == "header":  # declares 15 GiB of matrix elements in a 20-byte file
        path = tmp_path / "big_hr.dat"
        path.write_text("big\n  1000\n  1200000\n")
    else:
        path = special
    err = _cli_error(capsys, ["run", "wannier_ferromagnet_film", "--out", str(tmp_path / "o"),
                              "-q", "--set", f'model.hr_file="{path}"'])
    assert "model.hr_file" in err and ("regular file" in err or "header declares" in err)


def test_configuration_files_are_read_bounded(tmp_path):
    import os

    from mesokinetics.io.config import MAX_CONFIG_BYTES, read_toml

    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.write(b"a = 1\n")
        fh.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no 16 MiB written
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path, match in [(big, "more than the 16 MiB"), (fifo, "is a FIFO"), (tmp_path, "is a folder")]:
        with pytest.raises(ConfigError, match=match):
            read_toml(path)
