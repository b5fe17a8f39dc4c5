"""Plain finite-volume mesh data of a 2D cross-section: the only mesh type the section
solver sees (docs/theory.md §7). Built from FiPy or Gmsh meshes by
:mod:`mesokinetics.samples.fipy_adapter`, or by hand.

Units: lengths in nm, areas in nm^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class SectionMesh:
    """Plain finite-volume mesh data of a 2D cross-section (lengths in nm).

    centers : (J, 2) cell centres; volumes : (J,) cell areas (nm^2)
    face_cells : (F, 2) the two cells of each face, second -1 on the boundary
    normals : (F, 2) unit normals, from the first cell to the second (outward on walls)
    areas : (F,) face lengths (nm); face_centers : (F, 2)
    region : (F,) wall region index of each boundary face, -1 for interior faces
    region_names : names of the wall regions
    vertices : (V, 2) vertex coordinates; cell_vertices : list of (J,) vertex-index
        tuples in counter-clockwise order (for export; optional)
    axes : model axes (indices) of the two cross-section coordinates
    period : (Lx, Ly) periods of a periodic domain (0 along a non-periodic coordinate),
        or None; interior faces may then join cells across the period (the centre
        difference of such a face is taken modulo the period)
    """

    centers: np.ndarray
    volumes: np.ndarray
    face_cells: np.ndarray
    normals: np.ndarray
    areas: np.ndarray
    face_centers: np.ndarray
    region: np.ndarray
    region_names: tuple
    vertices: np.ndarray | None = None
    cell_vertices: list | None = None
    axes: tuple = (1, 2)
    period: tuple | None = None

    def __post_init__(self):
        self.interior = np.nonzero(self.face_cells[:, 1] >= 0)[0]
        self.boundary = np.nonzero(self.face_cells[:, 1] < 0)[0]
        if np.any(self.region[self.boundary] < 0):
            raise ValueError("every boundary face needs a wall region")
        j = len(self.volumes)
        b = self.boundary
        # (B -> J) incidence of the wall faces
        self.wall_to_cell = sp.csr_matrix(
            (np.ones(len(b)), (self.face_cells[b, 0], np.arange(len(b)))), shape=(j, len(b)))

    @property
    def cells(self) -> int:
        return len(self.volumes)

    def center_difference(self, faces: np.ndarray) -> np.ndarray:
        """centres[second] - centres[first] (F, 2) of interior ``faces``, modulo the period."""
        d = self.centers[self.face_cells[faces, 1]] - self.centers[self.face_cells[faces, 0]]
        if self.period is not None:
            per = np.asarray(self.period, float)
            wrap = per > 0
            d[:, wrap] -= per[wrap] * np.round(d[:, wrap] / per[wrap])
        return d

    @property
    def area(self) -> float:
        return float(np.sum(self.volumes))

    def region_mask(self, name: str) -> np.ndarray:
        """Boolean mask over all faces of wall region ``name``."""
        return self.region == self.region_names.index(name)

    def parents_in(self, coarse: "SectionMesh") -> np.ndarray:
        """(J,) index of the cell of ``coarse`` holding each cell centre of this mesh: the
        map that restricts a finer solution onto a coarser mesh of the same sample (the
        mesh check of the solvers, docs/accuracy.md). Exact for nested meshes and for
        convex cells with vertices; the nearest coarse centre where a centre lies in no
        coarse cell (a curved wall meshed apart by the two polygons) or vertices are
        missing."""
        from scipy.spatial import cKDTree

        cached = self._moved(coarse, "parents")
        if cached is not None:
            return cached
        k = min(8, coarse.cells)
        _, near = cKDTree(coarse.centers).query(self.centers, k=k)
        near = near.reshape(self.cells, k)
        if coarse.cell_vertices is None or coarse.vertices is None:
            return near[:, 0]
        polys = _padded_polygons(coarse.vertices, coarse.cell_vertices)  # (Jc, M, 2)
        found = np.full(self.cells, -1)
        for c in range(k):  # the k nearest centres, nearest first
            todo = found < 0
            if not np.any(todo):
                break
            cand = near[todo, c]
            inside = _inside_convex(polys[cand], self.centers[todo])
            found[np.nonzero(todo)[0][inside]] = cand[inside]
        return self._keep(coarse, "parents", np.where(found >= 0, found, near[:, 0]))

    def _moved(self, coarse, what):
        """A transfer to ``coarse`` computed before (the checks restrict many maps)."""
        got = getattr(self, "_transfers", {}).get((id(coarse), what))
        return None if got is None else got[1]

    def _keep(self, coarse, what, value):
        # the coarse mesh is kept with the entry, so its id cannot be reused meanwhile
        if not hasattr(self, "_transfers"):
            self._transfers = {}
        self._transfers[(id(coarse), what)] = (coarse, value)
        return value

    def restriction(self, coarse: "SectionMesh"):
        """(Jc, J) sparse matrix of area-weighted averages onto the cells of ``coarse`` of
        cell values on this mesh (rows sum to 1): the fine cells whose centres each coarse
        cell holds (:meth:`parents_in`), or the nearest fine cell where it holds none."""
        from scipy.spatial import cKDTree

        cached = self._moved(coarse, "restriction")
        if cached is not None:
            return cached
        parent = self.parents_in(coarse)
        rows, cols = parent, np.arange(self.cells)
        empty = np.setdiff1d(np.arange(coarse.cells), parent)
        if len(empty):
            _, nearest = cKDTree(self.centers).query(coarse.centers[empty])
            rows, cols = np.append(rows, empty), np.append(cols, nearest)
        w = sp.csr_matrix((self.volumes[cols], (rows, cols)), shape=(coarse.cells, self.cells))
        return self._keep(coarse, "restriction",
                          sp.diags(1.0 / np.asarray(w.sum(axis=1)).ravel()) @ w)


def _padded_polygons(vertices: np.ndarray, cell_vertices: list) -> np.ndarray:
    """(J, M, 2) vertex coordinates of every cell, padded to the largest cell by
    repeating its last vertex (a zero-length edge, neutral in :func:`_inside_convex`)."""
    m = max(len(c) for c in cell_vertices)
    idx = np.array([tuple(c) + (c[-1],) * (m - len(c)) for c in cell_vertices])
    return np.asarray(vertices, float)[idx]


def _inside_convex(polys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N,) whether each point lies in its convex polygon (N, M, 2), either orientation,
    boundary included to rounding."""
    a = polys
    b = np.roll(polys, -1, axis=1)
    cross = ((b[..., 0] - a[..., 0]) * (points[:, None, 1] - a[..., 1])
             - (b[..., 1] - a[..., 1]) * (points[:, None, 0] - a[..., 0]))
    scale = np.max(np.abs(cross), axis=1, keepdims=True) + 1e-300
    eps = 1e-12 * scale
    return np.all(cross >= -eps, axis=1) | np.all(cross <= eps, axis=1)
