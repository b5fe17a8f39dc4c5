"""mk.save: a solver's result object written as a result folder (issue 16, 'low-level
results cannot be exported'), read back with mk.load_result."""

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.models import RashbaFerromagnet

MODEL = RashbaFerromagnet(mass=1.0, alpha=0.1)
DISORDER = mk.PointDisorder.from_mean_free_path(MODEL, 0.2, 20.0)


def test_a_strip_saved_from_python_reads_back_with_its_profiles_and_vtu(tmp_path):
    # small numerics for a fast run, one solve (tol=None: their tol check would warn)
    r = mk.solve_slab(MODEL, DISORDER, mk.Strip(100.0, 0.0, cells=30), 0.2, (1e-3, 0.0),
                      angles=32, tol=None)
    written = mk.save(r, tmp_path / "strip", observables=("current", "spin"),
                      spin_currents=("z_y",), png=False)
    assert {p.name for p in written} == {"result.npz", "config.toml", "result.vtu", "result.json"}
    back = mk.load_result(tmp_path / "strip")
    assert back.summary["conductance_ratio"] == r.conductance_ratio()
    for i, axis in enumerate("xyz"):
        sz = r.density(ops.spin(MODEL, axis))
        for part in ("intraband", "intrinsic", "gradient", "disorder", "total"):
            assert np.array_equal(back.profile("spin", part)[:, i],
                                  np.broadcast_to(getattr(sz, part), sz.total.shape))
    assert np.array_equal(back.faces, r.faces)


def test_a_uniform_result_saves_and_bad_arguments_are_named(tmp_path):
    u = mk.solve_uniform(MODEL, DISORDER, 0.2, (1e-3, 0.0), angles=16)
    mk.save(u, tmp_path / "bulk", png=False)
    back = mk.load_result(tmp_path / "bulk")
    assert back.bulk("current", "total")[0] == u.density(ops.charge_current(MODEL, "x")).total
    with pytest.raises(ValueError, match="observables must be among"):
        mk.save(u, tmp_path / "x", observables=("magnetization",))
    with pytest.raises(TypeError, match="UniformResponse, SlabResponse, SectionResponse or PeriodicStripResponse"):
        mk.save(u.nodes, tmp_path / "y")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("mine")
    with pytest.raises(ValueError):
        mk.save(u, tmp_path / "foreign", png=False)
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "mine"
