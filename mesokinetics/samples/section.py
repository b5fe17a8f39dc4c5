"""Cross-sections of wires and unit cells of patterned strips: meshes with named wall
regions, one wall model per region (docs/theory.md §7).

A wire is translation invariant along the field (the wire axis) with an arbitrary
cross-section in the plane normal to it: rectangles (FiPy ``Grid2D``) with one wall model
per side, and general shapes from Gmsh (``Gmsh2D``: disks, trenches, notches; any polygon)
with named wall regions. A :class:`PeriodicStrip` is the unit cell of a patterned strip of
a 2D material. Each sample turns into plain mesh arrays
(:class:`~mesokinetics.samples.mesh.SectionMesh`) through
:mod:`mesokinetics.samples.fipy_adapter`, the only module that imports FiPy.

Units: lengths in nm. Axes: for a field along x the cross-section coordinates are (y, z);
along y, (z, x); along z, (x, y) (right-handed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .fipy_adapter import gmsh2d, grid2d, section_mesh_from_fipy
from .mesh import SectionMesh
from .slab import graded_faces
from .walls import as_wall

SIDES = ("left", "right", "bottom", "top")
#: cells along each coordinate of a Rectangle or PeriodicStrip given no ``cells``
DEFAULT_SECTION_CELLS = 32
#: triangle size of a disk given no ``cell_size``, in units of its radius: a disk of
#: diameter l has G/G_bulk 5.1e-4 off there, its total current 2.2e-3 (the inscribed
#: polygon's area), so tol = 1e-3 refines it once (docs/accuracy.md)
DISK_CELL_SIZE = 0.1


def cross_axes(wire_axis: int) -> tuple[int, int]:
    """Model axes of the cross-section coordinates of a wire along ``wire_axis``."""
    return ((wire_axis + 1) % 3, (wire_axis + 2) % 3)


def _check_lengths(sample, names) -> None:
    """Each named attribute of ``sample`` must be a positive, finite length (nm)."""
    for name in names:
        v = getattr(sample, name)
        if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive length in nm, got {v!r}")


def _cell_pair(cells) -> tuple[int, int]:
    """Cells along the two coordinates from one positive integer or a pair (None: the
    default, :data:`DEFAULT_SECTION_CELLS` each)."""
    if cells is None:
        cells = DEFAULT_SECTION_CELLS
    pair = cells if isinstance(cells, (tuple, list)) else (cells, cells)
    if len(pair) != 2 or any(not isinstance(c, (int, np.integer)) or c < 1 for c in pair):
        raise ValueError(f"cells must be a positive integer or a pair, got {cells!r}")
    return tuple(int(c) for c in pair)


def _scaled_cells(cells: tuple, factor: float) -> tuple:
    """The cells of a mesh ``factor`` times finer (at least one)."""
    return tuple(max(1, int(round(c * factor))) for c in cells)


def _check_factor(factor) -> float:
    if not isinstance(factor, (int, float, np.floating, np.integer)) or not np.isfinite(factor) \
            or factor <= 0:
        raise ValueError(f"the resolution factor must be a positive number, got {factor!r}")
    return float(factor)


def _walls_from(spec, names) -> dict:
    """Wall models per region from one value, a sequence in ``names`` order, or a dict
    (missing names default to diffuse)."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"unknown wall region(s) {sorted(unknown)}; regions: {list(names)}")
        return {n: as_wall(spec.get(n, 0.0)) for n in names}
    if isinstance(spec, (tuple, list)):
        if len(spec) != len(names):
            raise ValueError(f"give one wall model per region {list(names)}, got {len(spec)}")
        return {n: as_wall(s) for n, s in zip(names, spec)}
    return {n: as_wall(spec) for n in names}


class CrossSection:
    """Base class: a FiPy mesh with named wall regions and one wall model per region."""

    walls: dict

    def fipy_mesh(self):
        raise NotImplementedError

    def regions(self, mesh) -> dict:
        raise NotImplementedError

    def section_mesh(self, axes=(1, 2)):
        mesh = self.fipy_mesh()
        return section_mesh_from_fipy(mesh, self.regions(mesh), axes)

    def wall_models(self, names) -> tuple:
        return tuple(self.walls[n] for n in names)

    #: whether the user chose the mesh (the tol check then never refines it)
    mesh_given: bool = True

    def at_resolution(self, factor: float) -> "CrossSection":
        """The same sample meshed ``factor`` times finer along each coordinate (0.5: cells
        twice as large): the levels of the mesh check of the solvers (docs/accuracy.md)."""
        raise NotImplementedError(f"{type(self).__name__} has no mesh resolution to change")


@dataclass(frozen=True)
class Rectangle(CrossSection):
    """Rectangular cross-section 0 < a < width, 0 < b < height (FiPy ``Grid2D``).

    a, b are the cross-section coordinates (y, z for a field along x).

    Parameters
    ----------
    width, height : nm
    walls : one wall model (number p or :class:`~mesokinetics.samples.walls.WallModel`) for
        all sides, four in the order (left a=0, right a=width, bottom b=0, top b=height),
        or a dict over those names (missing sides diffuse)
    cells : (cells along a, cells along b), or one number for both; None (default): 32 x
        32, which the solvers' ``tol`` check may refine (cells given are only checked)
    wall_cell : size (nm) of the first cell at each wall; cells grow geometrically towards
        the centre (uniform if None or >= the uniform size)
    """

    width: float
    height: float
    walls: object = 0.0
    cells: object = None
    wall_cell: float | None = None

    def __post_init__(self):
        _check_lengths(self, ("width", "height"))
        object.__setattr__(self, "mesh_given", self.cells is not None)
        object.__setattr__(self, "cells", _cell_pair(self.cells))
        object.__setattr__(self, "walls", _walls_from(self.walls, SIDES))

    def at_resolution(self, factor: float) -> "Rectangle":
        factor = _check_factor(factor)
        wall = None if self.wall_cell is None else self.wall_cell / factor
        return replace(self, cells=_scaled_cells(self.cells, factor), wall_cell=wall)

    def faces(self):
        """Cell faces along a and b (nm)."""
        first = self.wall_cell if self.wall_cell is not None else np.inf
        return (graded_faces(float(self.width), self.cells[0], first),
                graded_faces(float(self.height), self.cells[1], first))

    def fipy_mesh(self):
        fa, fb = self.faces()
        return grid2d(np.diff(fa), np.diff(fb))

    def regions(self, mesh) -> dict:
        return {"left": mesh.facesLeft, "right": mesh.facesRight,
                "bottom": mesh.facesBottom, "top": mesh.facesTop}


@dataclass(frozen=True)
class GmshSection(CrossSection):
    """Cross-section from a Gmsh ``.geo`` script (FiPy ``Gmsh2D``; needs the ``gmsh`` wheel).

    Each ``Physical Line("name")`` is a wall region; ``walls`` maps names to wall models
    (a number p, a WallModel, or one value for all). Specular walls must be normal to a
    cross-section axis (curved walls: diffuse only). Exterior faces in no physical line
    form the region "wall".

    size_factor : Gmsh's ``Mesh.MeshSizeFactor``, a factor on every mesh size of the
        script (the levels of the solvers' mesh check use 2 and 4)
    mesh_given : False lets the solvers' ``tol`` check refine the mesh (a :func:`disk`
        given no ``cell_size``)
    """

    geo: str
    walls: object = 0.0
    size_factor: float = 1.0
    mesh_given: bool = True

    def at_resolution(self, factor: float) -> "GmshSection":
        return replace(self, size_factor=self.size_factor / _check_factor(factor))

    def fipy_mesh(self):
        geo = self.geo
        if self.size_factor != 1.0:  # appended: it scales the sizes of any script
            geo += f"\nMesh.MeshSizeFactor = {float(self.size_factor)!r};\n"
        mesh = gmsh2d(geo)
        object.__setattr__(self, "_names", tuple(mesh.physicalFaces))
        return mesh

    def regions(self, mesh) -> dict:
        ext = np.asarray(mesh.exteriorFaces.value, bool)
        out, covered = {}, np.zeros_like(ext)
        for name, mask in mesh.physicalFaces.items():
            m = np.asarray(mask.value, bool) & ext
            out[name] = m
            covered |= m
        if np.any(ext & ~covered):
            out["wall"] = ext & ~covered
        spec = self.walls
        object.__setattr__(self, "_wall_dict", _walls_from(
            spec if not isinstance(spec, dict) else {k: v for k, v in spec.items()}, tuple(out)))
        return out

    def wall_models(self, names) -> tuple:
        return tuple(self._wall_dict[n] for n in names)


def disk(radius: float, cell_size: float | None = None, walls=0.0) -> GmshSection:
    """Circular cross-section of ``radius`` (nm) centred at the origin, one wall region
    "wall", triangles of size ``cell_size`` (nm; None: a tenth of the radius, which the
    solvers' ``tol`` check may refine)."""
    given = cell_size is not None
    cell_size = DISK_CELL_SIZE * radius if cell_size is None else cell_size
    geo = f"""
    h = {cell_size}; R = {radius};
    Point(1) = {{0, 0, 0, h}}; Point(2) = {{R, 0, 0, h}}; Point(3) = {{0, R, 0, h}};
    Point(4) = {{-R, 0, 0, h}}; Point(5) = {{0, -R, 0, h}};
    Circle(1) = {{2, 1, 3}}; Circle(2) = {{3, 1, 4}}; Circle(3) = {{4, 1, 5}};
    Circle(4) = {{5, 1, 2}};
    Line Loop(5) = {{1, 2, 3, 4}}; Plane Surface(6) = {{5}};
    Physical Line("wall") = {{1, 2, 3, 4}}; Physical Surface("inside") = {{6}};
    """
    return GmshSection(geo, walls, mesh_given=given)


def polygon(points, names, cell_size: float, walls=0.0) -> GmshSection:
    """Polygonal cross-section (trench, notch, L-shaped corner, ...): ``points`` (n, 2) in
    nm counter-clockwise, ``names`` the wall region of each side (side i joins point i to
    i+1); sides with the same name form one region."""
    pts = np.asarray(points, float)
    if len(names) != len(pts):
        raise ValueError("give one region name per side")
    lines = [f"Point({i + 1}) = {{{float(x)!r}, {float(y)!r}, 0, {float(cell_size)!r}}};"
             for i, (x, y) in enumerate(pts)]
    n = len(pts)
    lines += [f"Line({i + 1}) = {{{i + 1}, {(i + 1) % n + 1}}};" for i in range(n)]
    lines.append(f"Line Loop({n + 1}) = {{{', '.join(str(i + 1) for i in range(n))}}};")
    lines.append(f"Plane Surface({n + 2}) = {{{n + 1}}};")
    for name in dict.fromkeys(names):
        ids = ", ".join(str(i + 1) for i, nm in enumerate(names) if nm == name)
        lines.append(f'Physical Line("{name}") = {{{ids}}};')
    lines.append(f'Physical Surface("inside") = {{{n + 2}}};')
    return GmshSection("\n".join(lines), walls)


@dataclass(frozen=True)
class PeriodicStrip(CrossSection):
    """Unit cell of a patterned strip of a 2D material: 0 < x < length (periodic, along
    the field), 0 < y < width (walls), on a uniform FiPy ``Grid2D``; optional rectangular
    notches or holes (cells removed, their faces a wall region "notch").

    Parameters
    ----------
    length, width : nm (length: the period along x)
    walls : wall models of the regions ("bottom" y = 0, "top" y = width, "notch"): one
        value, a sequence in that order, or a dict (missing names diffuse)
    cells : (cells along x, cells along y), or one number for both; None (default): 32 x
        32, which the solvers' ``tol`` check may refine (cells given are only checked)
    notches : rectangles (x0, x1, y0, y1) in nm removed from the domain (cells whose
        centres lie inside); a rectangle touching y = 0 or width is a notch, one inside
        a hole. Put their edges on cell faces.
    local_walls : one diffuse re-emission constant per wall face (zero particle flux
        through every face: a locally insulating wall; one extra transport solve per wall
        face) instead of one per region (an equipotential re-emitter, which lets current
        enter a region at one face and leave it at another: through a notch)
    """

    length: float
    width: float
    walls: object = 0.0
    cells: object = None
    notches: tuple = ()
    local_walls: bool = True

    def __post_init__(self):
        _check_lengths(self, ("length", "width"))
        object.__setattr__(self, "mesh_given", self.cells is not None)
        object.__setattr__(self, "cells", _cell_pair(self.cells))
        notches = tuple(tuple(float(v) for v in r) for r in self.notches)
        if any(len(r) != 4 or r[1] <= r[0] or r[3] <= r[2] for r in notches):
            raise ValueError("notches are rectangles (x0, x1, y0, y1) with x0 < x1, y0 < y1")
        object.__setattr__(self, "notches", notches)
        object.__setattr__(self, "walls", _walls_from(self.walls, ("bottom", "top", "notch")))

    def at_resolution(self, factor: float) -> "PeriodicStrip":
        """As :meth:`CrossSection.at_resolution`; refused (ValueError) where a notch edge
        would not lie on a cell face of the new mesh (the notch would change shape)."""
        cells = _scaled_cells(self.cells, _check_factor(factor))
        if cells[0] < 2:  # one column would be its own upwind neighbour across the period
            raise ValueError(f"a periodic unit cell needs at least 2 cells along x, got "
                             f"{cells[0]} at {factor:g} times the {self.cells} mesh")
        spacing = (self.length / cells[0], self.width / cells[1])
        for notch in self.notches:
            for edge, h in zip(notch, (spacing[0],) * 2 + (spacing[1],) * 2):
                if abs(edge / h - round(edge / h)) > 1e-9 * max(1.0, abs(edge / h)):
                    raise ValueError(
                        f"the notch edge at {edge:g} nm is not on a face of the {cells} mesh "
                        f"(spacing {h:g} nm): the notch would change shape")
        return replace(self, cells=cells)

    def fipy_mesh(self):
        nx, ny = self.cells
        return grid2d(self.length / nx, self.width / ny, nx, ny)

    def regions(self, mesh) -> dict:
        return {"left": mesh.facesLeft, "right": mesh.facesRight,
                "bottom": mesh.facesBottom, "top": mesh.facesTop}

    def wall_models(self, names) -> tuple:
        return tuple(self.walls[n.split(":")[0]] for n in names)

    def section_mesh(self, axes=(0, 1)):
        """The Grid2D with the left and right faces joined (period ``length`` along x)
        and the notch cells removed (their faces the region "notch")."""
        fm = self.fipy_mesh()
        sm = section_mesh_from_fipy(fm, self.regions(fm), axes)
        fc, normals = sm.face_cells.copy(), sm.normals.copy()
        names = list(sm.region_names)
        region = sm.region.copy()
        left = np.nonzero(region == names.index("left"))[0]
        right = np.nonzero(region == names.index("right"))[0]
        left = left[np.argsort(sm.face_centers[left, 1])]
        right = right[np.argsort(sm.face_centers[right, 1])]
        # right faces (outward normal +x) become interior faces to the first column
        fc[right, 1] = fc[left, 0]
        region[right] = -1
        keep = np.ones(len(fc), bool)
        keep[left] = False
        xy = sm.centers
        removed = np.zeros(sm.cells, bool)
        for x0, x1, y0, y1 in self.notches:
            removed |= (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
        if np.all(removed):
            raise ValueError("the notches remove every cell")
        notch = len(names)
        a, b = fc[:, 0], fc[:, 1]
        ra, rb = removed[a], np.where(b >= 0, removed[np.maximum(b, 0)], False)
        keep &= ~(ra & ((b < 0) | rb))
        flip = keep & ra & ~rb  # the kept cell is the second one: it becomes the first
        fc[flip, 0], fc[flip, 1] = b[flip], -1
        normals[flip] *= -1
        cut = keep & ~ra & rb
        fc[cut, 1] = -1
        region[flip | cut] = notch
        new = np.cumsum(~removed) - 1
        fc = np.where(fc >= 0, new[np.maximum(fc, 0)], -1)[keep]
        region = region[keep]
        present = [r for r in ("bottom", "top") if np.any(region == names.index(r))]
        if np.any(region == notch):
            present.append("notch")
        lookup = {names.index(r) if r != "notch" else notch: i for i, r in enumerate(present)}
        region = np.array([lookup.get(int(r), -1) for r in region])
        cv = [c for c, r in zip(sm.cell_vertices, removed) if not r]
        if self.local_walls:  # one region per wall face, named "region:k"
            wall = np.nonzero(region >= 0)[0]
            base = region[wall]
            order = np.lexsort((np.arange(len(wall)), base))
            counts = {}
            new_names = []
            for f in wall[order]:
                name = present[region[f]]
                k = counts.get(name, 0)
                counts[name] = k + 1
                new_names.append(f"{name}:{k}")
                region[f] = len(new_names) - 1
            present = new_names
        return SectionMesh(
            centers=sm.centers[~removed], volumes=sm.volumes[~removed], face_cells=fc,
            normals=normals[keep], areas=sm.areas[keep], face_centers=sm.face_centers[keep],
            region=region, region_names=tuple(present), vertices=sm.vertices,
            cell_vertices=cv, axes=tuple(axes), period=(float(self.length), 0.0))


