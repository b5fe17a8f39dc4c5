"""ParaView files through meshio: the only module of the package that knows VTU.

A strip or film profile depends on the coordinate y across the sample only. For
ParaView it is extruded along the transport direction (the in-plane axis along the
field) into a 2D mesh of quads, cells = (transport cells) x (profile cells), placed in
the physical axes of the sample (a strip of a 2D model in the xy plane, a film with
normal z in the xz plane), so each profile renders as a map.

Cell data, one array per quantity and contribution, named ``"<quantity>.<part> [<unit>]"``:

* parts intraband, intrinsic, gradient, disorder, total (paper Eqs. 1-2) and
  ``accumulation`` (total minus its bulk value)
* vectors (current, spin, pauli, orbital, torque) have 3 components (the current of a
  2D model is padded with a zero z component, so ParaView treats it as a vector);
  spin and orbital currents are scalars
* ``depth [nm]``: distance of the cell centre from the bottom wall

Wire cross-sections and periodic strips (:func:`write_section_result`) are written on
their own mesh (triangles, quads, polygons) with the same cell arrays
``"<quantity>.<part> [<unit>]"`` (the five parts and ``accumulation``; vectors with 3
components x, y, z of the model axes, as in strip files and result.npz). The points lie in
the section's own coordinates (a, b, 0): ParaView's X and Y axes are the section
coordinates a and b, i.e. the model axes (y, z) for a wire along x, (z, x) along y, (x, y)
along z and for a periodic strip. Their physical names are carried by the cell arrays
``"<a> [nm]"`` and ``"<b> [nm]"`` (the cell-centre coordinates, e.g. ``y [nm]`` and
``z [nm]``), beside ``area [nm^2]``. (meshio writes no VTK field data, so the names travel
in array names.)

Sweeps get a ``.pvd`` collection that refers to the ``.vtu`` files by relative path
(meshio's XDMF time series is avoided: it writes its HDF5 file into the working folder,
meshio issue 1351).
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from ..operators import as_operator, charge_current
from .atomic import atomic_output, atomic_write

__all__ = ["array_name", "profile_mesh", "write_result", "write_collection", "cell_arrays",
           "section_result_mesh", "write_section_result", "write_section", "export_fields"]

PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")


def array_name(quantity: str, part: str, unit: str) -> str:
    """The VTU array name of one quantity and contribution, unit included."""
    return f"{quantity}.{part} [{unit}]"


def _pad3(values: np.ndarray) -> np.ndarray:
    """(J, c) -> (J, 3) with zeros, for vectors of fewer than 3 components."""
    out = np.zeros(values.shape[:-1] + (3,))
    out[..., : values.shape[-1]] = values
    return out


def cell_arrays(result) -> dict[str, np.ndarray]:
    """The cell arrays of one profile, (J,) or (J, 3), before extrusion."""
    out: dict[str, np.ndarray] = {}
    for q, meta in result.quantities.items():
        unit = meta["unit"]
        vector = meta["vector"]
        for part in (*PARTS, "accumulation"):
            if part == "accumulation":
                values = result.profile(q, "total", accumulation=True)
            else:
                values = result.profile(q, part)
            out[array_name(q, part, unit)] = _pad3(values) if vector else values[:, 0].copy()
    out["depth [nm]"] = result.centers.copy()
    return out


def profile_mesh(result, length: float | None = None, cells: int | None = None):
    """meshio.Mesh of a strip or film result: quads extruded along the transport axis.

    length : extent along the transport direction (nm); default output.map_length or the
        width. cells : number of cells along it; default output.map_cells.
    """
    import meshio

    if not result.is_slab:
        raise ValueError(f"{result.name} is a uniform sample: there is no profile to export")
    geo = result.geometry
    out = result.config.get("output", {})
    length = float(length or out.get("map_length") or geo["width"])
    cells = int(cells or out.get("map_cells", 40))
    faces = np.asarray(result.faces, float)
    ncell = len(faces) - 1
    along = np.linspace(0.0, length, cells + 1)
    t_axis, n_axis = geo["transport_axis"], geo["normal_axis"]
    # point (i, j): i along the transport axis, j along the normal
    points = np.zeros(((cells + 1) * (ncell + 1), 3))
    ii, jj = np.meshgrid(np.arange(cells + 1), np.arange(ncell + 1), indexing="ij")
    points[:, t_axis] = along[ii.ravel()]
    points[:, n_axis] = faces[jj.ravel()]
    pid = lambda i, j: i * (ncell + 1) + j  # noqa: E731
    ci, cj = np.meshgrid(np.arange(cells), np.arange(ncell), indexing="ij")
    ci, cj = ci.ravel(), cj.ravel()
    quads = np.stack([pid(ci, cj), pid(ci + 1, cj), pid(ci + 1, cj + 1), pid(ci, cj + 1)], axis=1)
    data = {name: np.tile(values, (cells,) + (1,) * (values.ndim - 1))
            for name, values in cell_arrays(result).items()}
    return meshio.Mesh(points, [("quad", quads.astype(np.int64))],
                       cell_data={name: [v] for name, v in data.items()})


def write_result(path, result, length: float | None = None, cells: int | None = None) -> Path:
    """Write the extruded profile mesh of ``result`` to ``path`` (.vtu), atomically."""
    import meshio

    path = Path(path)
    mesh = profile_mesh(result, length, cells)
    with atomic_output(path, ".vtu") as tmp:
        meshio.write(tmp, mesh, file_format="vtu")
    return path


def export_fields(result, operators: dict | None = None,
                  accumulation: bool = False) -> dict:
    """Mesh and named cell fields of a cross-section result (``SectionResponse``), for
    ParaView writers.

    operators : {name: operator} (default: the charge current along the wire). Each gives
    the cell fields ``name`` (total) and ``name/intraband``, ``name/intrinsic``
    (uniform: the bulk value), ``name/gradient``, ``name/disorder``. accumulation :
    subtract the bulk.

    Returns a dict with ``points`` (V, 3) vertex coordinates (nm, z = 0, in the
    cross-section coordinates), ``cells`` [(type, (K, n) connectivity)] grouped by type
    ('triangle', 'quad', 'polygon'), ``cell_order`` (the cell indices of each group, in
    the same order), ``centers`` (J, 3) cell centres, ``cell_data`` {name: (J,) array} in
    the mesh's cell order, and ``axes`` (the model axes of the two coordinates).
    """
    mesh = result.mesh
    if operators is None:
        operators = {"current": charge_current(result.model, result.wire_axis)}
    data = {}
    for name, op in operators.items():
        d = result.accumulation(op) if accumulation else result.density(op)
        data[name] = np.broadcast_to(d.total, (mesh.cells,)).copy()
        for part in ("intraband", "intrinsic", "gradient", "disorder"):
            data[f"{name}/{part}"] = np.broadcast_to(getattr(d, part), (mesh.cells,)).copy()
    data["area"] = mesh.volumes.copy()
    pad = lambda x: np.concatenate([x, np.zeros((len(x), 1))], axis=1)  # noqa: E731
    groups: dict = {}
    for j, verts in enumerate(mesh.cell_vertices or []):
        kind = {3: "triangle", 4: "quad"}.get(len(verts), "polygon")
        groups.setdefault(kind, ([], []))
        groups[kind][0].append(verts)
        groups[kind][1].append(j)
    cells = [(k, np.array(v, int)) for k, (v, _) in groups.items()]
    order = [np.array(o, int) for _, (_, o) in groups.items()]
    return {"points": pad(mesh.vertices) if mesh.vertices is not None else None,
            "cells": cells, "cell_order": order, "centers": pad(mesh.centers),
            "cell_data": data, "axes": mesh.axes}


def _section_mesh(vertices, cell_vertices, centers, areas, axes, cell_data: dict):
    """meshio.Mesh of a section: points (a, b, 0) in the section's own coordinates (nm),
    cells grouped by vertex count (triangle, quad, polygon blocks), the cell arrays in
    the same order, plus the centre coordinates "<a> [nm]", "<b> [nm]" named by their
    model axes and "area [nm^2]"."""
    import meshio

    if vertices is None or cell_vertices is None:
        raise ValueError("this cross-section mesh carries no vertex geometry to export")
    points = np.zeros((len(vertices), 3))
    points[:, :2] = np.asarray(vertices, float)
    names = ["xyz"[int(a)] for a in axes]
    data = dict(cell_data)
    centers = np.asarray(centers, float)
    data[f"{names[0]} [nm]"] = centers[:, 0].copy()
    data[f"{names[1]} [nm]"] = centers[:, 1].copy()
    data["area [nm^2]"] = np.asarray(areas, float).copy()
    groups: dict = {}  # a meshio block holds cells of one vertex count
    for j, verts in enumerate(cell_vertices):
        groups.setdefault(len(verts), []).append(j)
    blocks, orders = [], []
    for n, cells in sorted(groups.items()):
        kind = {3: "triangle", 4: "quad"}.get(n, "polygon")
        blocks.append((kind, np.array([list(cell_vertices[j]) for j in cells], np.int64)))
        orders.append(np.array(cells, int))
    return meshio.Mesh(points, blocks,
                       cell_data={k: [np.asarray(v)[o] for o in orders] for k, v in data.items()})


def _cells_of(result) -> list:
    """Per-cell vertex index lists of a saved section result."""
    flat, off = result.arrays["mesh.cell_vertices"], result.arrays["mesh.cell_offsets"]
    return [flat[off[j]:off[j + 1]] for j in range(len(off) - 1)]


def section_result_mesh(result):
    """meshio.Mesh of a saved wire or periodic-strip result
    (:class:`~mesokinetics.io.results.Result` with ``is_section``): the cell arrays
    "<quantity>.<part> [<unit>]" of the strip files (parts intraband, intrinsic, gradient,
    disorder, total and accumulation; vectors 3-component in the model axes x, y, z) on
    the section's own mesh; the axes are described in the module docstring."""
    if not result.is_section:
        raise ValueError(f"{result.name} is a {result.geometry['kind']} sample: there is no "
                         "cross-section map to export")
    if "mesh.vertices" not in result.arrays:
        raise ValueError(f"{result.name}: the section mesh carries no vertex geometry to export")
    data = {}
    for q, meta in result.quantities.items():
        for part in (*PARTS, "accumulation"):
            values = (result.map(q, "total", accumulation=True) if part == "accumulation"
                      else result.map(q, part))
            data[array_name(q, part, meta["unit"])] = _pad3(values) if meta["vector"] else values[:, 0].copy()
    a = result.arrays
    return _section_mesh(a["mesh.vertices"], _cells_of(result), a["mesh.centers"], a["mesh.areas"],
                         result.geometry["axes"], data)


def _write_mesh(path, mesh) -> Path:
    import meshio

    path = Path(path)
    with atomic_output(path, ".vtu") as tmp:
        meshio.write(tmp, mesh, file_format="vtu")
    return path


def write_section_result(path, result) -> Path:
    """Write the maps of a saved wire or periodic-strip result to ``path`` (.vtu),
    atomically (:func:`section_result_mesh`)."""
    return _write_mesh(path, section_result_mesh(result))


def write_section(path, result, operators: dict | None = None, accumulation: bool = False) -> Path:
    """Write the maps of a cross-section solver result (``solve_cross_section`` or
    ``solve_periodic_strip``) to ``path`` (.vtu), atomically, on the section's own mesh
    (axes as in the module docstring).

    operators : {name: operator}, default the charge current along the wire; each gives
        the scalar cell arrays "name.<part> [unit]", parts intraband, intrinsic, gradient,
        disorder, total, and "name.accumulation [unit]" (total minus its bulk value).
    accumulation : write each contribution minus its bulk value instead.

    A whole result folder (every configured observable, vectors, result.json, PNG maps):
    ``response.save(folder)`` or :func:`mesokinetics.save`.
    """
    if operators is None:
        operators = {"current": charge_current(result.model, result.wire_axis)}
    mesh = result.mesh
    data = {}
    for name, op in operators.items():
        op = as_operator(op, result.model)
        dens, bulk = result.density(op), result.bulk.density(op)
        for part in PARTS:
            values = np.broadcast_to(getattr(dens, part), (mesh.cells,)).astype(float)
            data[array_name(name, part, dens.unit)] = values - getattr(bulk, part) if accumulation else values
        data[array_name(name, "accumulation", dens.unit)] = (
            np.broadcast_to(dens.total, (mesh.cells,)) - bulk.total).astype(float)
    return _write_mesh(path, _section_mesh(mesh.vertices, mesh.cell_vertices, mesh.centers,
                                           mesh.volumes, mesh.axes, data))


def write_collection(path, entries) -> Path:
    """Write a ParaView ``.pvd`` collection.

    entries : iterable of (timestep, file) with files relative to the folder of ``path``
        (or absolute). ParaView's time slider then walks through them.
    """
    path = Path(path)
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
             "  <Collection>"]
    for step, file in entries:
        rel = os.path.relpath(file, path.parent) if os.path.isabs(os.fspath(file)) else os.fspath(file)
        lines.append(f'    <DataSet timestep="{float(step)!r}" group="" part="0" '
                     f"file={quoteattr(Path(rel).as_posix())}/>")
    lines += ["  </Collection>", "</VTKFile>", ""]
    return atomic_write(path, "\n".join(lines))
