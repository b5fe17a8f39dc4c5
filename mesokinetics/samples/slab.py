"""Films and strips with rough or smooth walls (docs/theory.md §6).

A :class:`Slab` is the region 0 < y < W along its ``normal`` axis, infinite and
translation invariant in the other directions: a strip of a 2D model or a film of a 3D
one. Each wall has a wall model giving the specular fraction p of the electrons that hit
it (Fuchs-Sondheimer boundary condition); the rest is re-emitted diffusely.

Units: lengths in nm, wave vectors in 1/nm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.base import axis_index
from .walls import as_wall


def graded_faces(width: float, cells: int, first: float) -> np.ndarray:
    """Cell faces on [0, width], symmetric, growing geometrically from cells of size
    ``first`` (nm) at both walls towards the centre. Uniform if first >= width/cells."""
    uniform = width / cells
    if first >= uniform or cells < 4:
        return np.linspace(0.0, width, cells + 1)
    half = cells // 2
    middle = cells - 2 * half  # one central cell when the count is odd

    def log_excess(r):  # log of (graded width / sample width), in logs: no overflow
        lr = half * np.log(r)  # log of r^half; r^half - 1 = r^half (1 - r^-half)
        log_side = np.log(first) + lr + np.log(-np.expm1(-lr)) - np.log(r - 1)
        log_total = np.logaddexp(np.log(2.0) + log_side,
                                 np.log(max(middle, 1e-300) * first) + half * np.log(r))
        return log_total - np.log(width)

    lo, hi = 1 + 1e-12, 2.0
    if log_excess(lo) >= 0:  # first == width / cells to rounding: the uniform mesh
        return np.linspace(0.0, width, cells + 1)
    if log_excess(hi) <= 0:
        ratio = hi
    else:  # log_excess increases with r: bisection to rounding (no scipy.optimize import)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if not lo < mid < hi:
                break
            lo, hi = (mid, hi) if log_excess(mid) < 0 else (lo, mid)
        ratio = 0.5 * (lo + hi)
    sizes = first * ratio ** np.arange(half, dtype=float)
    sizes = np.concatenate([sizes, [first * ratio ** float(half)] * middle, sizes[::-1]])
    faces = np.concatenate([[0.0], np.cumsum(sizes)])
    return faces * (width / faces[-1])


#: Cells across a slab when the user gives none.
DEFAULT_CELLS = 200


@dataclass(frozen=True)
class Slab:
    """A film or strip 0 < y < width along ``normal``, with one wall model per side.

    Parameters
    ----------
    width : thickness W (nm), > 0
    specularity : p for both walls, a pair (p_bottom, p_top), or wall models
        (:class:`Fuchs`, :class:`Soffer`); p in [0, 1]
    cells : number of cells across the sample (>= 2); default 200, which the solvers'
        ``tol`` check may refine (bisecting every cell); a value given here is used as
        it is (checked, never refined)
    wall_cell : size of the first cell at each wall (nm); default: a hundredth of the
        mean free path, so the mesh is fine within a few mean free paths of the walls,
        where S(y) varies fastest (measured convergence: docs/validation.md)
    normal : axis normal to the walls ('x', 'y', 'z' or an index), default 'y'
    """

    width: float
    specularity: object = 0.0
    cells: int | None = None
    wall_cell: float | None = None
    normal: object = "y"

    def __post_init__(self):
        w = self.width
        if not isinstance(w, (int, float, np.floating, np.integer)) or not np.isfinite(w) or w <= 0:
            raise ValueError(f"width must be a positive length in nm, got {w!r}")
        #: whether the user chose the cells (the tol check refines only the default)
        object.__setattr__(self, "cells_given", self.cells is not None)
        if self.cells is None:
            object.__setattr__(self, "cells", DEFAULT_CELLS)
        if not isinstance(self.cells, (int, np.integer)) or self.cells < 2:
            raise ValueError(f"cells must be an integer >= 2, got {self.cells!r}")
        if self.wall_cell is not None and not (np.isfinite(self.wall_cell) and self.wall_cell > 0):
            raise ValueError(f"wall_cell must be a positive length in nm, got {self.wall_cell!r}")
        spec = self.specularity
        pair = spec if isinstance(spec, (tuple, list)) else (spec, spec)
        if len(pair) != 2:
            raise ValueError(f"specularity must be one value or a pair (bottom, top), got {spec!r}")
        object.__setattr__(self, "walls", (as_wall(pair[0]), as_wall(pair[1])))

    def normal_axis(self, dim: int) -> int:
        return axis_index(self.normal, dim, "normal")

    def faces(self, mean_free_path: float) -> np.ndarray:
        """Cell faces (nm), graded towards the walls on the scale of ``mean_free_path``."""
        first = self.wall_cell if self.wall_cell is not None else mean_free_path / 100
        return graded_faces(float(self.width), int(self.cells), float(first))


#: Readable aliases: a film of a 3D model, a strip of a 2D model.
Film = Slab
Strip = Slab
