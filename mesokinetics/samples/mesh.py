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
