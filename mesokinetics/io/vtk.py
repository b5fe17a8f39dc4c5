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

__all__ = ["array_name", "profile_mesh", "write_result", "write_collection", "cell_arrays"]

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
    the cell fields ``name`` (total) and ``name/intraband``, ``name/gradient``,
    ``name/disorder`` (the intrinsic part is uniform). accumulation : subtract the bulk.

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
        for part in ("intraband", "gradient", "disorder"):
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


def write_section(path, result, operators: dict | None = None, accumulation: bool = False) -> Path:
    """Write the maps of a cross-section result (``solve_cross_section`` or
    ``solve_periodic_strip``) to ``path`` (.vtu), atomically, on the section's own mesh.

    operators : {name: operator}, default the charge current along the wire; each gives
        the cell arrays "name [unit]" (total) and "name.intraband/gradient/disorder [unit]".
    accumulation : write each contribution minus its bulk value.
    """
    import meshio


    ops = None if operators is None else {k: as_operator(v, result.model) for k, v in operators.items()}
    data = export_fields(result, ops, accumulation)
    if data["points"] is None:
        raise ValueError("this cross-section mesh carries no vertex geometry to export")
    units = {name: as_operator(op, result.model).unit for name, op in (ops or {}).items()}
    if ops is None:
        units = {"current": "|e| eV nm/hbar"}
    dim = result.model.dim
    blocks = [(kind, conn) for kind, conn in data["cells"]]
    cell_data = {}
    for key, values in data["cell_data"].items():
        name, _, part = key.partition("/")
        unit = units.get(name, "nm^2") if name != "area" else "nm^2"
        label = name if not part else f"{name}.{part}"
        if name != "area":
            label += f" [{unit} nm^-{dim}]"
        else:
            label += " [nm^2]"
        cell_data[label] = [values[order] for order in data["cell_order"]]
    mesh = meshio.Mesh(data["points"], blocks, cell_data=cell_data)
    path = Path(path)
    with atomic_output(path, ".vtu") as tmp:
        meshio.write(tmp, mesh, file_format="vtu")
    return path


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
