"""Maps for users (issue 15, item 4): wire cross-sections and notched periodic strips from
configuration files, `mesokinetics run` writing the map VTU (the strip files' array
names, .total included, 3-component vectors, the section's own axes), PNG maps and
result.json, `mesokinetics sweep` writing a PVD series, and `.save(folder)` on every
result object. Tiny numerics: every test writes only into tmp_path."""

import copy
import shutil
import xml.etree.ElementTree as ET

import meshio
import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics import operators as ops
from mesokinetics.cli import main
from mesokinetics.io.config import ConfigError, load_config
from mesokinetics.models import ParabolicBand, RashbaFerromagnet
from mesokinetics.workflow import build

PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")

#: a 3D Rashba-film wire along x, 6 x 4 cells, a tiny shell (a solve of well under a second)
WIRE = {
    "name": "tiny_wire",
    "model": {"kind": "rashba_ferromagnet", "dim": 3, "alpha": 0.1},
    "disorder": {"mean_free_path": 20.0},
    "conditions": {"mu": 0.2, "field": [1e-3, 0.0, 0.0]},
    "geometry": {"kind": "wire", "width": 60.0, "height": 40.0},
    "observables": {"current": True, "spin": True, "spin_current": ["z_y"]},
    "numerics": {"polar": 6, "azimuth": 8, "section_cells": [6, 4]},
}
#: a Rashba 2DEG periodic strip with one notch, 8 x 8 cells
STRIP = {
    "name": "tiny_notch",
    "model": {"kind": "rashba_ferromagnet", "alpha": 0.1},
    "disorder": {"mean_free_path": 20.0},
    "conditions": {"mu": 0.2, "field": [1e-3, 0.0]},
    "geometry": {"kind": "periodic_strip", "length": 40.0, "width": 40.0,
                 "notches": [[15.0, 25.0, 0.0, 10.0]]},
    "observables": {"current": True, "spin": True},
    "numerics": {"angles": 16, "section_cells": [8, 8]},
}


def with_(base, **changes):
    """A copy of a configuration dict with {"section.key": value} changes (None: remove)."""
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        section, key = dotted.replace("__", ".").split(".", 1)
        if value is None:
            data[section].pop(key, None)
        else:
            data[section][key] = value
    return data


# --- configuration ------------------------------------------------------------------------

def test_section_kinds_resolve_with_their_defaults():
    wire = load_config(WIRE).data["geometry"]
    assert wire == {"kind": "wire", "width": 60.0, "height": 40.0, "section": "rectangle",
                    "specularity": 0.0}
    strip = load_config(with_(STRIP, **{"geometry.notches": None})).data
    assert strip["geometry"]["notches"] == [] and strip["geometry"]["local_walls"] is True
    circle = load_config(with_(WIRE, **{"geometry.section": "circle", "geometry.width": None,
                                        "geometry.height": None, "geometry.radius": 10.0,
                                        "numerics.section_cells": None})).data
    assert circle["geometry"]["specularity"] == 0.0
    built = build(load_config(WIRE))
    assert isinstance(built.section, mk.Rectangle) and built.section.cells == (6, 4)
    built = build(load_config(STRIP))
    assert isinstance(built.section, mk.PeriodicStrip)
    assert built.section.notches == ((15.0, 25.0, 0.0, 10.0),)
    # per-wall tables of a rectangle: left, right, bottom, top
    c = load_config(WIRE, {"geometry.left": {"specularity": 1.0}, "geometry.top": {"roughness": 0.1}})
    walls = build(c).section.walls
    assert repr(walls["left"]) == "Fuchs(p=1.0)" and "Soffer" in repr(walls["top"])
    assert repr(walls["right"]) == "Fuchs(p=0.0)"


BAD = [
    (WIRE, {"model.dim": 2, "conditions.field": [1e-3, 0.0]}, "geometry.kind = 'wire': a wire needs a 3D model"),
    (WIRE, {"conditions.field": [1e-3, 1e-3, 0.0]}, "conditions.field"),
    (WIRE, {"geometry.height": None}, "geometry.height: missing: required for a rectangular wire section"),
    (WIRE, {"geometry.height": -1.0}, "geometry.height = -1.0: out of range: expected a number > 0"),
    (WIRE, {"geometry.section": "square"}, "geometry.section = 'square': expected one of 'rectangle', 'circle'"),
    (WIRE, {"geometry.radius": 5.0}, "geometry.radius"),
    (WIRE, {"geometry.normal": "z"}, "geometry.normal: not used by geometry.kind = 'wire'"),
    (WIRE, {"numerics.section_cells": [6]}, "numerics.section_cells = [6]: expected 2 entries"),
    (WIRE, {"numerics.section_cells": [6, 0]}, "numerics.section_cells = [6, 0]: out of range: expected an integer >= 1 and <= 4096"),
    (WIRE, {"numerics.section_cells": [6.0, 4]}, "numerics.section_cells"),
    (WIRE, {"numerics.cell_size": 1.0}, "numerics.cell_size = 1.0: not used by a rectangular wire section"),
    (with_(WIRE, **{"geometry.section": "circle", "geometry.width": None, "geometry.height": None,
                    "numerics.section_cells": None}), {"geometry.radius": 10.0, "geometry.specularity": 0.5},
     "geometry.specularity = 0.5: a circular section has a curved wall, which can only be diffuse"),
    (with_(WIRE, **{"geometry.section": "circle", "geometry.width": None, "geometry.height": None,
                    "numerics.section_cells": None}), {"geometry.radius": 10.0, "numerics.cell_size": 0.001},
     "numerics.cell_size = 0.001: out of range for radius 10 nm: expected a number >= radius / 500"),
    (STRIP, {"model.dim": 3, "conditions.field": [1e-3, 0.0, 0.0]}, "a periodic strip needs a 2D model"),
    (STRIP, {"conditions.field": [0.0, 1e-3]}, "a periodic strip needs a field along x"),
    (STRIP, {"geometry.length": None}, "geometry.length: missing: required for a periodic strip"),
    (STRIP, {"geometry.notches": [[15.0, 26.0, 0.0, 10.0]]}, "edge x = 26 nm of [15.0, 26.0, 0.0, 10.0] is not on a cell face"),
    (STRIP, {"geometry.notches": [[15.0, 25.0, 0.0, 50.0]]}, "reaches outside the cell"),
    (STRIP, {"geometry.notches": [[25.0, 15.0, 0.0, 10.0]]}, "needs x0 < x1 and y0 < y1"),
    (STRIP, {"geometry.notches": [[15.0, 25.0, 0.0]]}, "geometry.notches"),
    (STRIP, {"geometry.notches": [[15.0, 25.0, 0.0, 40.0]]}, "spans the whole width"),
    (STRIP, {"geometry.notches": [[0.0, 40.0, 0.0, 40.0]]}, "remove every cell"),
    (STRIP, {"numerics.wall_cell": 1.0}, "numerics.wall_cell = 1.0: not used by geometry.kind = 'periodic_strip'"),
    (STRIP, {"geometry.left": {"specularity": 1.0}}, "[geometry.left]: not used by geometry.kind = 'periodic_strip'"),
    (STRIP, {"geometry.local_walls": 1}, "geometry.local_walls = 1: expected true or false"),
]


@pytest.mark.parametrize("base, changes, message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_section_configurations_are_one_line_errors_naming_the_key(base, changes, message):
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        section, key = dotted.split(".", 1)
        if value is None:
            data[section].pop(key, None)
        elif section == "geometry" and isinstance(value, dict):
            data[section][key] = value
        else:
            data[section][key] = value
    with pytest.raises(ConfigError) as err:
        load_config(data)
    assert "\n" not in str(err.value)
    assert message in str(err.value)


def test_the_presets_are_sections():
    assert load_config("rashba_wire_map")["geometry.kind"] == "wire"
    notched = load_config("notched_strip")
    assert notched["geometry.kind"] == "periodic_strip" and notched["geometry.notches"]


# --- mesokinetics run: the map VTU, PNG maps, result.json ------------------------------------

@pytest.fixture(scope="module")
def wire_run(tmp_path_factory):
    config = tmp_path_factory.mktemp("config") / "wire.toml"
    config.write_text(load_config(WIRE).to_toml())
    out = tmp_path_factory.mktemp("wire") / "out"
    assert main(["run", str(config), "--out", str(out), "-q"]) == 0
    return out


def test_run_writes_the_map_vtu_png_maps_and_result_json(wire_run):
    files = {p.name for p in wire_run.iterdir()}
    assert {"result.vtu", "result.json", "result.npz", "config.toml", "map_current.png",
            "map_spin.png", "map_spin_current_z_y.png"} <= files
    result = mk.load_result(wire_run, verify=True)
    assert result.is_section and not result.is_slab
    geo = result.geometry
    assert geo["kind"] == "wire" and geo["axis_names"] == ["y", "z"] and geo["wire_axis"] == 0
    assert 0 < result.summary["conductance_ratio"] < 1
    assert result.map("spin", "total").shape == (24, 3)
    assert "y, = " in result.summary_text().replace("(y", "y")  # the section is described


def test_map_vtu_has_the_strip_array_names_total_and_3_component_vectors(wire_run):
    result = mk.load_result(wire_run)
    mesh = meshio.read(wire_run / "result.vtu")
    data = {name: np.concatenate(blocks) for name, blocks in mesh.cell_data.items()}
    assert sum(len(c.data) for c in mesh.cells) == 24
    expected = {"y [nm]", "z [nm]", "area [nm^2]"}
    for q, meta in result.quantities.items():
        expected |= {f"{q}.{part} [{meta['unit']}]" for part in (*PARTS, "accumulation")}
    assert set(data) == expected
    for q, meta in result.quantities.items():
        name = lambda part: f"{q}.{part} [{meta['unit']}]"  # noqa: E731
        parts = sum(data[name(p)] for p in PARTS[:-1])
        np.testing.assert_allclose(data[name("total")], parts, rtol=1e-12, atol=1e-14 * np.abs(parts).max())
        if meta["vector"]:
            assert data[name("total")].shape == (24, 3), q
        else:
            assert data[name("total")].ndim == 1, q
        np.testing.assert_allclose(data[name("accumulation")],
                                   data[name("total")] - result.bulk(q, "total"), rtol=1e-12, atol=1e-300)
    # one quad per cell: the points lie in the section's own coordinates (a, b, 0) = (y, z, 0)
    assert mesh.cells[0].type == "quad"
    np.testing.assert_array_equal(mesh.points[:, 2], 0.0)
    assert mesh.points[:, 0].max() == pytest.approx(60.0) and mesh.points[:, 1].max() == pytest.approx(40.0)
    np.testing.assert_allclose(data["y [nm]"], result.arrays["mesh.centers"][:, 0])
    # the s_z edge accumulation is odd in y (mirror symmetry of the Rashba film wire)
    sz = data[f"spin.total [{result.unit('spin')}]"][:, 2].reshape(4, 6)
    assert np.max(np.abs(sz + sz[:, ::-1])) < 1e-10 * np.max(np.abs(sz))


def test_a_notched_strip_runs_with_its_maps(tmp_path):
    out = tmp_path / "out"
    result = mk.run(load_config(STRIP))
    written = {p.name for p in result.save(out)}
    assert {"result.vtu", "map_current.png", "map_spin.png"} <= written
    assert result.geometry["axis_names"] == ["x", "y"] and result.geometry["notches"]
    # the notch removes the cells whose centres lie inside it: 2 x 2 of the 8 x 8
    assert result.summary["cells"] == 60
    mesh = meshio.read(out / "result.vtu")
    assert {"x [nm]", "y [nm]"} <= set(mesh.cell_data)
    current = np.concatenate(mesh.cell_data[f"current.total [{result.unit('current')}]"])
    assert current.shape == (60, 3) and np.all(current[:, 2] == 0)  # a 2D current, padded


@pytest.mark.skipif(shutil.which("gmsh") is None, reason="needs the gmsh extra")
def test_a_circular_wire_runs(tmp_path):
    data = with_(WIRE, **{"geometry.section": "circle", "geometry.width": None, "geometry.height": None,
                          "geometry.radius": 10.0, "numerics.section_cells": None,
                          "numerics.cell_size": 5.0})
    data["model"] = {"kind": "parabolic_band", "dim": 3}
    data["observables"] = {"current": True}
    result = mk.run(load_config(data))
    result.save(tmp_path / "out", png=False)
    assert result.geometry["section"] == "circle" and 0 < result.summary["conductance_ratio"] < 1
    assert meshio.read(tmp_path / "out" / "result.vtu").cells[0].type == "triangle"


# --- sweeps: a PVD series ---------------------------------------------------------------

def test_sweep_over_a_section_writes_a_pvd_that_refers_to_existing_files(tmp_path):
    config = tmp_path / "wire.toml"
    config.write_text(load_config(WIRE, {"observables.spin": False, "observables.spin_current": []}).to_toml())
    out = tmp_path / "sweep"
    assert main(["sweep", str(config), "--vary", "geometry.width=40,60", "--workers", "1",
                 "--out", str(out), "-q", "--no-plots"]) == 0
    root = ET.parse(out / "sweep.pvd").getroot()
    assert root.tag == "VTKFile" and root.get("type") == "Collection"
    sets = root.find("Collection").findall("DataSet")
    assert [float(s.get("timestep")) for s in sets] == [40.0, 60.0]
    for s in sets:
        path = out / s.get("file")
        assert not s.get("file").startswith("/") and path.is_file()
        assert sum(len(c.data) for c in meshio.read(path).cells) == 24
    assert not [p for p in out.rglob(".mk-tmp-*")]


# --- .save(folder) on every result object -----------------------------------------------

def test_save_method_on_section_slab_and_uniform_results(tmp_path):
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    # tiny numerics for a fast run: one solve each (tol=None: their tol check would warn)
    wire = mk.solve_cross_section(model, disorder, mk.Rectangle(40.0, 20.0, 0.0, cells=(4, 2)),
                                  0.2, (1e-3, 0.0, 0.0), polar=6, azimuth=8, tol=None)
    written = wire.save(tmp_path / "wire", png=False, spin_currents=("z_y",))
    assert {p.name for p in written} == {"result.npz", "config.toml", "result.vtu", "result.json"}
    back = mk.load_result(tmp_path / "wire")
    np.testing.assert_array_equal(back.map("spin", "gradient")[:, 2],
                                  wire.density(ops.spin(model, "z")).gradient)
    assert back.summary["conductance_ratio"] == wire.conductance_ratio()
    assert back.geometry["section"] == "rectangle" and back.geometry["width"] == 40.0
    # a model without spin: the default observables are the current only
    metal = ParabolicBand(mass=1.0, dim=3)
    m = mk.solve_cross_section(metal, mk.PointDisorder.from_mean_free_path(metal, 0.2, 10.0),
                               mk.Rectangle(10.0, 10.0, 0.0, cells=2), 0.2, (1.0, 0.0, 0.0),
                               polar=4, azimuth=8, tol=None)
    m.save(tmp_path / "metal", png=False)
    assert set(mk.load_result(tmp_path / "metal").quantities) == {"current"}
    strip = mk.solve_slab(RashbaFerromagnet(alpha=0.1), mk.PointDisorder(0.01), mk.Strip(50.0, 0.0, cells=6),
                          0.2, (1e-3, 0.0), angles=8, tol=None)
    strip.save(tmp_path / "strip", png=False)
    assert mk.load_result(tmp_path / "strip").is_slab
    strip.bulk.save(tmp_path / "bulk", png=False)
    assert mk.load_result(tmp_path / "bulk").geometry["kind"] == "uniform"
    with pytest.raises(TypeError, match="observable"):
        wire.save(tmp_path / "x", observable=("spin",))


def test_save_of_a_periodic_strip_result(tmp_path):
    model = RashbaFerromagnet(mass=1.0, alpha=0.1)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    cell = mk.PeriodicStrip(20.0, 20.0, walls=0.0, cells=4, notches=[(5, 15, 0, 5)])
    # tiny numerics for a fast run: one solve (tol=None: their tol check would warn)
    r = mk.solve_periodic_strip(model, disorder, cell, 0.2, (1e-3, 0.0), angles=8, tol=None)
    mk.save(r, tmp_path / "p", png=True)
    back = mk.load_result(tmp_path / "p")
    assert back.geometry["kind"] == "periodic_strip" and back.geometry["period"] == [20.0, 0.0]
    assert (tmp_path / "p" / "map_current.png").is_file()


# --- the command line: bad input exits 2 with one line ------------------------------------

CLI_ERRORS = [
    (["run", "rashba_strip", "--set", "geometry.kind=wire"], "a wire needs a 3D model"),
    (["run", "notched_strip", "--set", "geometry.notches=[[41,60,0,30]]"], "is not on a cell face"),
    (["run", "rashba_wire_map", "--set", "geometry.section=circle"], "numerics.section_cells = [60, 20]: not used by a circular wire section"),
    (["run", "rashba_wire_map", "--set", "numerics.section_cells=[60,20,3]"], "numerics.section_cells"),
    (["sweep", "notched_strip", "--vary", "geometry.length=100,50"], "sweep point 1"),
]


@pytest.mark.parametrize("argv, text", CLI_ERRORS, ids=[str(i) for i in range(len(CLI_ERRORS))])
def test_bad_section_input_exits_2_with_one_line(argv, text, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mesokinetics: error: ") and text in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
