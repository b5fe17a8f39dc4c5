"""ParaView files read back with VTK's own XML reader (what ParaView uses): array names,
component counts, mesh and values match the in-memory result."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.io import vtk as vtk_io

vtk = pytest.importorskip("vtk")
from vtk.util.numpy_support import vtk_to_numpy  # noqa: E402

PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")


def read_vtu(path):
    reader = vtk.vtkXMLUnstructuredGridReader()
    reader.SetFileName(str(path))
    reader.Update()
    grid = reader.GetOutput()
    cells = grid.GetCellData()
    arrays = {}
    for i in range(cells.GetNumberOfArrays()):
        arr = cells.GetArray(i)
        arrays[arr.GetName()] = (arr.GetNumberOfComponents(), vtk_to_numpy(arr))
    return grid, arrays


@pytest.fixture(scope="module", params=[
    ("rashba_ferromagnet_strip", ["numerics.angles=16", "numerics.cells=10", "output.map_cells=3"]),
    ("orbital_texture_film", ["numerics.polar=8", "numerics.azimuth=8", "numerics.cells=6",
                              "output.map_length=7.5", "output.map_cells=2"]),
], ids=["strip-2D", "film-3D"])
def saved(request, tmp_path_factory):
    name, overrides = request.param
    result = mk.run(mk.load_config(name, overrides + ["output.png=false"]))
    folder = tmp_path_factory.mktemp(name)
    result.save(folder)
    return result, folder


def test_vtu_arrays_match_the_result(saved):
    result, folder = saved
    grid, arrays = read_vtu(folder / "result.vtu")
    ncell = len(result.centers)
    cells_along = result.config["output"]["map_cells"]
    assert grid.GetNumberOfCells() == ncell * cells_along
    assert grid.GetCellType(0) == vtk.VTK_QUAD

    expected = {"depth [nm]"}
    for q, meta in result.quantities.items():
        for part in (*PARTS, "accumulation"):
            name = f"{q}.{part} [{meta['unit']}]"
            expected.add(name)
            ncomp, values = arrays[name]
            if part == "accumulation":
                reference = result.profile(q, "total", accumulation=True)
            else:
                reference = result.profile(q, part)
            if meta["vector"]:
                assert ncomp == 3, name  # vectors are 3-component, 2D currents padded
                values = values.reshape(cells_along, ncell, 3)
                padded = np.zeros((ncell, 3))
                padded[:, :reference.shape[1]] = reference
                reference = padded
            else:
                assert ncomp == 1, name
                values = values.reshape(cells_along, ncell)
                reference = reference[:, 0]
            for row in values:  # the profile is extruded unchanged along the transport axis
                np.testing.assert_allclose(row, reference, rtol=1e-14, atol=1e-300, err_msg=name)
    assert set(arrays) == expected
    np.testing.assert_allclose(arrays["depth [nm]"][1][:ncell], result.centers, rtol=1e-14)


def test_vtu_mesh_lies_in_the_physical_axes(saved):
    result, folder = saved
    grid, _ = read_vtu(folder / "result.vtu")
    points = vtk_to_numpy(grid.GetPoints().GetData())
    geo = result.geometry
    n, t = geo["normal_axis"], geo["transport_axis"]
    other = 3 - n - t
    np.testing.assert_allclose(np.unique(points[:, n]), np.unique(result.faces), rtol=1e-14)
    length = result.config["output"].get("map_length", geo["width"])
    np.testing.assert_allclose([points[:, t].min(), points[:, t].max()], [0.0, length])
    assert np.all(points[:, other] == 0)
    assert (geo["kind"], "xyz"[n], "xyz"[t]) in {("strip", "y", "x"), ("film", "z", "x")}


def test_uniform_results_write_no_vtu(tmp_path):
    result = mk.run(mk.load_config("massive_dirac_bulk", ["numerics.angles=16"]))
    result.save(tmp_path, png=False)
    assert not (tmp_path / "result.vtu").exists()
    with pytest.raises(ValueError, match="uniform"):
        vtk_io.profile_mesh(result)


def test_pvd_collection_refers_to_files_beside_it(saved, tmp_path):
    result, folder = saved
    pvd = vtk_io.write_collection(folder / "series.pvd", [(0.5, "result.vtu"),
                                                          (1.5, folder / "result.vtu")])
    root = ET.parse(pvd).getroot()
    assert root.get("type") == "Collection"
    sets = root.find("Collection").findall("DataSet")
    assert [float(s.get("timestep")) for s in sets] == [0.5, 1.5]
    for s in sets:
        assert (pvd.parent / s.get("file")).is_file()
        assert not s.get("file").startswith("/")


def test_cross_section_maps_read_back_with_vtk(tmp_path):
    """solve_cross_section maps on their own mesh: VTK reads the cells and the arrays."""
    from mesokinetics import operators as ops
    from mesokinetics import Rectangle, solve_cross_section
    from mesokinetics.models import ParabolicBand

    model = ParabolicBand(mass=1.0, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 10.0)
    rect = Rectangle(10.0, 8.0, 0.0, cells=(5, 4))
    # tiny numerics for a fast run: one solve (tol=None: their tol check would warn)
    r = solve_cross_section(model, disorder, rect, 0.2, (1e-3, 0.0, 0.0), polar=6, azimuth=8, tol=None)
    path = vtk_io.write_section(tmp_path / "wire.vtu", r, {"current": ops.charge_current(model, "x")})
    grid, arrays = read_vtu(path)
    assert grid.GetNumberOfCells() == 20
    # the names of the strip files: every part, .total included, and the accumulation
    name = "current.total [|e| eV nm/hbar nm^-3]"
    assert name in arrays and arrays[name][0] == 1
    expected = r.density(ops.charge_current(model, "x")).total
    assert np.allclose(np.sort(arrays[name][1]), np.sort(expected), rtol=1e-12)
    for part in (*PARTS, "accumulation"):
        assert f"current.{part} [|e| eV nm/hbar nm^-3]" in arrays
    # the section's own coordinates are named by their model axes (wire along x: y, z)
    assert {"y [nm]", "z [nm]", "area [nm^2]"} <= set(arrays)
