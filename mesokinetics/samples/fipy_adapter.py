"""The only place that imports FiPy: FiPy (and Gmsh, through FiPy) meshes in, plain
:class:`~mesokinetics.samples.mesh.SectionMesh` arrays out (docs/theory.md §7).

FiPy is imported when a mesh is built, so the rest of the package imports without it.
Units: lengths in nm.
"""

from __future__ import annotations

import os
import shutil
import sysconfig

import numpy as np

from .mesh import SectionMesh


def grid2d(dx, dy, nx: int | None = None, ny: int | None = None):
    """A FiPy ``Grid2D`` with cell sizes ``dx``, ``dy`` (nm; arrays for graded grids)."""
    import fipy

    if nx is None:
        return fipy.Grid2D(dx=dx, dy=dy)
    return fipy.Grid2D(dx=dx, dy=dy, nx=nx, ny=ny)


def gmsh2d(geo: str):
    """A FiPy ``Gmsh2D`` mesh from a Gmsh ``.geo`` script (needs the gmsh executable)."""
    import fipy

    # the gmsh wheel puts its executable beside this Python's scripts, which need not
    # be on PATH (virtual environments, pyenv before a rehash); FiPy calls it by name
    scripts = sysconfig.get_path("scripts")
    if shutil.which("gmsh") is None and shutil.which("gmsh", path=scripts) is not None:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    if shutil.which("gmsh") is None:
        raise ImportError(
            "curved or polygonal cross-sections are meshed by Gmsh, and no gmsh "
            "executable was found: pip install 'mesokinetics[gmsh]' (the gmsh wheel "
            "provides it), or use a Rectangle"
        )
    return fipy.Gmsh2D(geo)


def section_mesh_from_fipy(mesh, regions: dict, axes=(1, 2)):
    """:class:`~mesokinetics.boltzmann.section.SectionMesh` from a FiPy 2D mesh.

    regions : {name: boolean face mask} covering every exterior face exactly once.
    """
    ids = np.ma.filled(mesh.faceCellIDs, -1).T.astype(int)
    exterior = np.asarray(mesh.exteriorFaces.value, bool)
    region = np.full(ids.shape[0], -1)
    names = tuple(regions)
    for i, name in enumerate(names):
        mask = np.asarray(getattr(regions[name], "value", regions[name]), bool)
        if np.any(region[mask] >= 0):
            raise ValueError(f"wall region {name!r} overlaps another region")
        region[mask] = i
    if np.any(region[exterior] < 0):
        raise ValueError("some boundary faces belong to no wall region")
    verts = np.ma.filled(mesh._orderedCellVertexIDs, -1).T
    cell_vertices = [[int(v) for v in row if v >= 0] for row in verts]
    xy = np.asarray(mesh.vertexCoords).T
    for cell in cell_vertices:  # counter-clockwise (positive signed area), as VTK expects
        p = xy[cell]
        if np.sum(p[:, 0] * np.roll(p[:, 1], -1) - np.roll(p[:, 0], -1) * p[:, 1]) < 0:
            cell.reverse()
    cell_vertices = [tuple(c) for c in cell_vertices]
    return SectionMesh(
        centers=np.asarray(mesh.cellCenters.value).T.copy(),
        volumes=np.asarray(mesh.cellVolumes).copy(),
        face_cells=ids,
        normals=np.asarray(mesh.faceNormals.value if hasattr(mesh.faceNormals, "value")
                           else mesh.faceNormals).T.copy(),
        areas=np.asarray(mesh._faceAreas).copy(),
        face_centers=np.asarray(mesh.faceCenters.value).T.copy(),
        region=region,
        region_names=names,
        vertices=np.asarray(mesh.vertexCoords).T.copy(),
        cell_vertices=cell_vertices,
        axes=tuple(axes),
    )
