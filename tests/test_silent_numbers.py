"""No NaN, inf or silently wrong number is ever reported with success (issue 16):
scale-safe normalizations of the field and the magnetization, and a finiteness check on
every quantity a run writes."""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.models import RashbaFerromagnet
from mesokinetics.models.base import safe_norm, safe_unit, unit_vector
from mesokinetics.workflow import RunError

# small numerics that the tol check can still check (a coarser level on every axis, one
# polar node per graded panel: polar >= 12; azimuth 8): "not checked" would be warned.
# tol 0.1: the film is then within its estimate (1.5e-2 at polar 24 on 8 cells)
FILM = {"numerics.polar": 24, "numerics.azimuth": 8, "numerics.cells": 8, "numerics.tol": 0.1}


def _film(field):
    return mk.run(mk.load_config("fuchs_sondheimer_film", {**FILM, "conditions.field": field}),
                  keep_response=False)


def test_safe_unit_is_bit_identical_to_the_plain_formula_in_range():
    rng = np.random.default_rng(16)
    for _ in range(500):
        v = rng.normal(size=3) * 10.0 ** rng.uniform(-140, 140)
        assert np.array_equal(safe_unit(v), v / np.linalg.norm(v))
        assert safe_norm(v) == np.linalg.norm(v)


@pytest.mark.parametrize("scale", [1e-320, 1e-300, 1e-160, 1e160, 1e300, 1e308])
def test_safe_unit_and_norm_at_extreme_scales(scale):
    v = scale * np.array([1.0, 1.0, 0.0])
    assert np.allclose(safe_unit(v), [2 ** -0.5, 2 ** -0.5, 0.0], rtol=1e-12)
    if scale <= 1e300:  # sqrt(2) * 1e308 is not a float
        assert safe_norm(v) == pytest.approx(np.sqrt(2) * scale, rel=1e-12)


def test_safe_unit_refuses_zero_and_nonfinite():
    for v in ([0.0, 0.0, 0.0], [np.inf, 0.0, 0.0], [np.nan, 1.0, 0.0]):
        with pytest.raises(ValueError):
            safe_unit(v)


def test_tiny_field_gives_the_conductance_ratio_of_a_normal_field():
    tiny, normal = _film([1e-300, 0.0, 0.0]), _film([1e-3, 0.0, 0.0])
    for key in ("conductance_ratio", "sigma_parallel"):
        assert np.isfinite(tiny.summary[key])
        assert tiny.summary[key] == pytest.approx(normal.summary[key], rel=1e-12)
    assert not tiny.info["warnings"]


def test_huge_magnetization_is_a_direction():
    m = unit_vector("magnetization", [1e308, 1e308, 0.0])
    assert np.allclose(m, [2 ** -0.5, 2 ** -0.5, 0.0], rtol=1e-14)
    model = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=0.1, magnetization=[1e308, 1e308, 0.0])
    ref = RashbaFerromagnet(mass=1.0, alpha=0.05, exchange=0.1, magnetization=[1.0, 1.0, 0.0])
    assert np.allclose(model.magnetization, ref.magnetization, rtol=1e-14)


def test_huge_magnetization_gives_the_torque_of_its_direction():
    over = {"numerics.angles": 16, "observables.spin_current": []}
    huge = mk.run(mk.load_config("rashba_ferromagnet_bulk",
                                 {**over, "model.magnetization": [1e308, 1e308, 0.0]}),
                  keep_response=False)
    unit = mk.run(mk.load_config("rashba_ferromagnet_bulk",
                                 {**over, "model.magnetization": [1.0, 1.0, 0.0]}),
                  keep_response=False)
    t = huge.arrays["bulk.torque.total"]
    assert np.max(np.abs(t)) > 0
    assert np.allclose(t, unit.arrays["bulk.torque.total"], rtol=1e-10, atol=0)


def test_overflowing_currents_are_a_run_error_naming_the_quantity():
    with pytest.raises(RunError, match=r"current_x\.\w+ is not finite"):
        _film([1e308, 0.0, 0.0])


def test_overflowing_currents_exit_2_with_one_line(tmp_path, capsys):
    args = ["run", "fuchs_sondheimer_film", "--out", str(tmp_path / "o"), "-q",
            "--set", "conditions.field=[1e308, 0, 0]"]
    for key, value in FILM.items():
        args += ["--set", f"{key}={value}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mesokinetics: error:") and "not finite" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
