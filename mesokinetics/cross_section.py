"""Wires and patterned films: the linear response on a 2D cross-section (FiPy meshes).

A sample translation invariant along the field (the wire axis) with an arbitrary
cross-section in the plane normal to it: rectangles (FiPy ``Grid2D``) with one wall model
per side, and general shapes from Gmsh (``Gmsh2D``: disks, trenches, notches; any polygon)
with named wall regions, each with its own wall model. The physics is in
:mod:`mesokinetics.boltzmann.section` (pure numpy/scipy); this module builds the meshes,
holds the result object and the export helper. FiPy (and Gmsh for general shapes) is
imported lazily, so the rest of the package imports without it.

Units: lengths in nm, fields in V/nm, densities in (operator unit) per nm^3 (3D models).
Axes: for a field along x the cross-section coordinates are (y, z); along y, (z, x);
along z, (x, y) (right-handed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .disorder import PointDisorder
from .geometry import as_wall, graded_faces
from .models.base import Model
from .operators import as_operator, charge_current
from .response import (Density, SlabNode, UniformResponse, bulk_reference, node_at_mu,
                       validate_inputs)

SIDES = ("left", "right", "bottom", "top")


def _cross_axes(wire_axis: int) -> tuple[int, int]:
    return ((wire_axis + 1) % 3, (wire_axis + 2) % 3)


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


def section_mesh_from_fipy(mesh, regions: dict, axes=(1, 2)):
    """:class:`~mesokinetics.boltzmann.section.SectionMesh` from a FiPy 2D mesh.

    regions : {name: boolean face mask} covering every exterior face exactly once.
    """
    from .boltzmann.section import SectionMesh

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


@dataclass(frozen=True)
class Rectangle(CrossSection):
    """Rectangular cross-section 0 < a < width, 0 < b < height (FiPy ``Grid2D``).

    a, b are the cross-section coordinates (y, z for a field along x).

    Parameters
    ----------
    width, height : nm
    walls : one wall model (number p or :class:`~mesokinetics.geometry.WallModel`) for
        all sides, four in the order (left a=0, right a=width, bottom b=0, top b=height),
        or a dict over those names (missing sides diffuse)
    cells : (cells along a, cells along b), or one number for both
    wall_cell : size (nm) of the first cell at each wall; cells grow geometrically towards
        the centre (uniform if None or >= the uniform size)
    """

    width: float
    height: float
    walls: object = 0.0
    cells: object = 32
    wall_cell: float | None = None

    def __post_init__(self):
        for name in ("width", "height"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive length in nm, got {v!r}")
        cells = self.cells if isinstance(self.cells, (tuple, list)) else (self.cells, self.cells)
        if len(cells) != 2 or any(not isinstance(c, (int, np.integer)) or c < 1 for c in cells):
            raise ValueError(f"cells must be a positive integer or a pair, got {self.cells!r}")
        object.__setattr__(self, "cells", tuple(int(c) for c in cells))
        object.__setattr__(self, "walls", _walls_from(self.walls, SIDES))

    def faces(self):
        """Cell faces along a and b (nm)."""
        first = self.wall_cell if self.wall_cell is not None else np.inf
        return (graded_faces(float(self.width), self.cells[0], first),
                graded_faces(float(self.height), self.cells[1], first))

    def fipy_mesh(self):
        import fipy

        fa, fb = self.faces()
        return fipy.Grid2D(dx=np.diff(fa), dy=np.diff(fb))

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
    """

    geo: str
    walls: object = 0.0

    def fipy_mesh(self):
        import os
        import shutil
        import sysconfig

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
        mesh = fipy.Gmsh2D(self.geo)
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


def disk(radius: float, cell_size: float, walls=0.0) -> GmshSection:
    """Circular cross-section of ``radius`` (nm) centred at the origin, one wall region
    "wall", triangles of size ``cell_size`` (nm)."""
    geo = f"""
    h = {cell_size}; R = {radius};
    Point(1) = {{0, 0, 0, h}}; Point(2) = {{R, 0, 0, h}}; Point(3) = {{0, R, 0, h}};
    Point(4) = {{-R, 0, 0, h}}; Point(5) = {{0, -R, 0, h}};
    Circle(1) = {{2, 1, 3}}; Circle(2) = {{3, 1, 4}}; Circle(3) = {{4, 1, 5}};
    Circle(4) = {{5, 1, 2}};
    Line Loop(5) = {{1, 2, 3, 4}}; Plane Surface(6) = {{5}};
    Physical Line("wall") = {{1, 2, 3, 4}}; Physical Surface("inside") = {{6}};
    """
    return GmshSection(geo, walls)


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
    cells : (cells along x, cells along y), or one number for both
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
    cells: object = 32
    notches: tuple = ()
    local_walls: bool = True

    def __post_init__(self):
        for name in ("length", "width"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive length in nm, got {v!r}")
        cells = self.cells if isinstance(self.cells, (tuple, list)) else (self.cells, self.cells)
        if len(cells) != 2 or any(not isinstance(c, (int, np.integer)) or c < 1 for c in cells):
            raise ValueError(f"cells must be a positive integer or a pair, got {self.cells!r}")
        object.__setattr__(self, "cells", tuple(int(c) for c in cells))
        notches = tuple(tuple(float(v) for v in r) for r in self.notches)
        if any(len(r) != 4 or r[1] <= r[0] or r[3] <= r[2] for r in notches):
            raise ValueError("notches are rectangles (x0, x1, y0, y1) with x0 < x1, y0 < y1")
        object.__setattr__(self, "notches", notches)
        object.__setattr__(self, "walls", _walls_from(self.walls, ("bottom", "top", "notch")))

    def fipy_mesh(self):
        import fipy

        nx, ny = self.cells
        return fipy.Grid2D(dx=self.length / nx, dy=self.width / ny, nx=nx, ny=ny)

    def regions(self, mesh) -> dict:
        return {"left": mesh.facesLeft, "right": mesh.facesRight,
                "bottom": mesh.facesBottom, "top": mesh.facesTop}

    def wall_models(self, names) -> tuple:
        return tuple(self.walls[n.split(":")[0]] for n in names)

    def section_mesh(self, axes=(0, 1)):
        """The Grid2D with the left and right faces joined (period ``length`` along x)
        and the notch cells removed (their faces the region "notch")."""
        from .boltzmann.section import SectionMesh

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


# --------------------------------------------------------------------------------------
# Solver and result
# --------------------------------------------------------------------------------------


def solve_cross_section(
    model: Model,
    disorder: PointDisorder,
    section: CrossSection,
    mu: float,
    field,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Callable[[int, int], None] | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    **numerics,
) -> "SectionResponse":
    """Linear response of a wire: a 3D sample translation invariant along the field.

    Parameters
    ----------
    model, disorder, mu, field, temperature, energy_points, progress, **numerics :
        as in :func:`~mesokinetics.solve_slab`. The model must be 3D and the field (V/nm)
        along a coordinate axis, the wire axis; the cross-section is the plane normal to it.
    section : :class:`Rectangle`, :class:`GmshSection` (see :func:`disk`, :func:`polygon`)
    rtol, maxiter : tolerance and iteration cap of the outer GMRES solve
    precondition : use the diffusion preconditioner (False: plain GMRES, for studies)

    The shells are sampled with Gauss-Legendre nodes in cos(theta) about the wire axis
    (``polar`` in all, per hemisphere polar/2) times ``azimuth`` trapezoid nodes in the
    cross-section plane, so the grid is mirror symmetric about both cross-section axes
    when ``azimuth`` is a multiple of 4. The bulk (:func:`solve_uniform`) solution with
    the same shells is kept as ``result.bulk``.
    """
    if not isinstance(section, CrossSection):
        raise TypeError(f"section must be a CrossSection, got {type(section).__name__}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    if model.dim != 3:
        raise NotImplementedError(
            "solve_cross_section needs a 3D model (the cross-section is the plane normal to "
            "the field); for a 2D model a cross-section is a line: use solve_slab, or "
            "solve_periodic_strip for the unit cell of a patterned strip.")
    nonzero = np.nonzero(field)[0]
    if len(nonzero) != 1:
        raise ValueError(
            f"the field must lie along one coordinate axis, the wire axis, got {field.tolist()}; "
            "a component in the cross-section plane is screened by surface charges")
    wire = int(nonzero[0])
    axes = _cross_axes(wire)
    numerics = {"grazing_panels": 1, **numerics, "grazing_axis": wire}
    bulk, mfp = bulk_reference(model, disorder, mu, field, temperature, energy_points,
                               numerics, "a wire")
    mesh = section.section_mesh(axes)
    nodes = _solve_nodes(bulk, disorder, mesh, section.wall_models(mesh.region_names), field,
                         rtol, maxiter, precondition, progress)
    return SectionResponse(model, disorder, section, mesh, mu, field, temperature, nodes, bulk,
                           mfp, wire)


def _solve_nodes(bulk, disorder, mesh, walls, field, rtol, maxiter, precondition, progress):
    """Solve the section problem on the shell of every energy node of ``bulk``."""
    from .boltzmann.section import SectionProblem, SectionSolver

    nodes = []
    for i, node in enumerate(bulk.nodes):
        sol = None
        if node.solution is not None:
            prob = SectionProblem(node.solution.shell, disorder, mesh, walls, field, node.solution)
            sol = SectionSolver(prob).solve(rtol=rtol, maxiter=maxiter, precondition=precondition)
        nodes.append(SlabNode(node.weight, node.energy, sol))
        if progress is not None:
            progress(i + 1, len(bulk.nodes))
    return nodes


def solve_periodic_strip(
    model: Model,
    disorder: PointDisorder,
    strip: PeriodicStrip,
    mu: float,
    field,
    temperature: float = 0.0,
    energy_points: int = 24,
    progress: Callable[[int, int], None] | None = None,
    rtol: float = 1e-10,
    maxiter: int = 200,
    precondition: bool = True,
    **numerics,
) -> "PeriodicStripResponse":
    """Linear response of a patterned strip of a 2D material: one unit cell
    (:class:`PeriodicStrip`), periodic along the field (x), walls at y = 0, width and on
    the notches. The distribution g(x, y, k) is periodic in x; the field is uniform (no
    self-consistent potential: as in the wires, charge accumulates around notches and
    its gradients carry the current around them).

    Parameters as in :func:`solve_cross_section`; the model must be 2D and the field
    along x. The shells are the strip's (:func:`~mesokinetics.solve_slab`): an angular
    rule graded towards grazing incidence on the y walls, so without notches the result
    is the strip's, up to the first-order discretization in y.
    """
    if not isinstance(strip, PeriodicStrip):
        raise TypeError(f"strip must be a PeriodicStrip, got {type(strip).__name__}")
    mu, field, temperature = validate_inputs(model, disorder, mu, field, temperature)
    if model.dim != 2:
        raise NotImplementedError("solve_periodic_strip needs a 2D model; for a 3D wire use "
                                  "solve_cross_section")
    if field[1] != 0 or field[0] == 0:
        raise ValueError(f"the field must lie along x (the periodic direction), got "
                         f"{field.tolist()}")
    numerics = {**numerics, "grazing_axis": 1}
    bulk, mfp = bulk_reference(model, disorder, mu, field, temperature, energy_points,
                               numerics, "a strip")
    mesh = strip.section_mesh((0, 1))
    nodes = _solve_nodes(bulk, disorder, mesh, strip.wall_models(mesh.region_names), field,
                         rtol, maxiter, precondition, progress)
    return PeriodicStripResponse(model, disorder, strip, mesh, mu, field, temperature, nodes,
                                 bulk, mfp, 0)


@dataclass
class SectionResponse:
    """Result of :func:`solve_cross_section`: maps over the cells of the cross-section.

    mesh : :class:`~mesokinetics.boltzmann.section.SectionMesh` (centres, areas in nm, nm^2)
    bulk : the :class:`~mesokinetics.UniformResponse` of the same material and field
    mean_free_path : DOS-averaged |v| tau at mu (nm); wire_axis : index of the field axis
    """

    model: Model
    disorder: PointDisorder
    section: CrossSection
    mesh: object
    mu: float
    field: np.ndarray
    temperature: float
    nodes: list
    bulk: UniformResponse
    mean_free_path: float
    wire_axis: int

    @property
    def centers(self) -> np.ndarray:
        """(J, 2) cell centres in the cross-section coordinates (nm)."""
        return self.mesh.centers

    @property
    def areas(self) -> np.ndarray:
        return self.mesh.volumes

    @property
    def solution(self):
        """Solution on the shell at mu: g (P, J), moment (J, N, N), iterations, ..."""
        return node_at_mu(self.nodes, self.mu).solution

    @property
    def iterations(self) -> int:
        return max(n.solution.iterations for n in self.nodes if n.solution is not None)

    def density(self, op) -> Density:
        """Maps of the four contributions to the density of ``op`` ((J,) cell fields,
        operator unit per nm^3) at the given field."""
        from .coherence import disorder_density, gradient_kernel, intraband_density

        op = as_operator(op, self.model)
        parts = np.zeros((4, self.mesh.cells))
        axes = list(self.mesh.axes)
        for node in self.nodes:
            sol = node.solution
            if sol is None:
                continue
            shell = sol.shell
            op_eig = op.in_eigenbasis(shell.bands)
            g = sol.g.T
            parts[0] += node.weight * intraband_density(shell, g, op_eig)
            kern = gradient_kernel(shell.bands, shell.eigen_mask, op_eig)[:, axes]  # (P, 2)
            parts[2] += node.weight * np.einsum("pji,pi->j", sol.gradient, shell.weight[:, None] * kern)
            parts[3] += node.weight * disorder_density(shell, g, sol.moment, sol.dos,
                                                       self.disorder.gamma, op_eig)
        parts[1] = self.bulk.density(op).intrinsic
        return Density(parts[0], parts[1], parts[2], parts[3], f"{op.unit} nm^-{self.model.dim}")

    def accumulation(self, op) -> Density:
        """Each contribution minus its bulk value: the accumulation maps."""
        return self.density(op) - self.bulk.density(op)

    def mean(self, op) -> Density:
        """Cross-section averages of the contributions (floats)."""
        return self.density(op).weighted_mean(self.areas)

    def conductance(self) -> float:
        """Wire conductance per unit length, int j.Ehat dA / |E| (e^2/hbar nm)."""
        ehat = self.field / np.linalg.norm(self.field)
        j = self.density(charge_current(self.model, self.wire_axis)).total * ehat[self.wire_axis]
        return float(np.sum(j * self.areas) / np.linalg.norm(self.field))

    def conductance_ratio(self) -> float:
        """Conductance over its bulk value sigma A (the wire size-effect ratio)."""
        ehat = self.field / np.linalg.norm(self.field)
        sigma = self.bulk.conductivity("internal").total @ ehat @ ehat
        return self.conductance() / (sigma * float(np.sum(self.areas)))


@dataclass
class PeriodicStripResponse(SectionResponse):
    """Result of :func:`solve_periodic_strip` (maps over the cells of the unit cell; the
    coordinates are (x, y))."""

    def sheet_conductance(self) -> float:
        """Current through the strip per unit field, (1/L) int j_x dA / |E| (e^2/hbar):
        the strip's :meth:`~mesokinetics.SlabResponse.sheet_conductance`."""
        return self.conductance() / float(self.section.length)

    def conductance_ratio(self) -> float:
        """Sheet conductance over the bulk sigma W of the unpatterned strip."""
        sigma = self.bulk.conductivity("internal").total[0, 0]
        return self.sheet_conductance() / (sigma * float(self.section.width))


def export_fields(result: SectionResponse, operators: dict | None = None,
                  accumulation: bool = False) -> dict:
    """Mesh and named cell fields of a cross-section result, for ParaView writers.

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


# --------------------------------------------------------------------------------------
# FiPy's own terms, for cross-checks (sign convention and outflow faces)
# --------------------------------------------------------------------------------------


def fipy_upwind_solve(mesh, velocity, tau: float, source: float, inflow_value: float,
                      outflow: str = "upwind", sign: int = 1) -> np.ndarray:
    """Solve u.grad g + g/tau = source on a FiPy mesh with FiPy's upwind term.

    outflow : 'upwind' (the outgoing value leaves with the flow: the outflow face
    coefficient is zeroed and its flux added as an implicit source on the wall cells) or
    'default' (FiPy's no-flux outflow faces, a known trap); sign = -1 writes the
    equation multiplied by -1 (FiPy issue #349, a known trap). Inflow faces are
    constrained to ``inflow_value``. For tests; the solver does not use this.
    """
    import fipy

    u = np.asarray(velocity, float)
    var = fipy.CellVariable(mesh=mesh, value=0.0)
    normals = np.asarray(mesh.faceNormals)
    un = u @ normals
    ext = np.asarray(mesh.exteriorFaces.value, bool)
    inflow = ext & (un < 0)
    out = ext & (un > 0)
    var.constrain(inflow_value, where=inflow)
    coeff = fipy.FaceVariable(mesh=mesh, rank=1, value=np.repeat(u[:, None], mesh.numberOfFaces, 1))
    extra = 0.0
    if outflow == "upwind":
        coeff.setValue(0.0, where=np.repeat(out[None], 2, 0))
        # outgoing flux A u.n g_cell as an implicit source on the wall cells
        cells = np.ma.filled(mesh.faceCellIDs[0], 0)
        w = np.bincount(cells[out], (np.asarray(mesh._faceAreas) * un)[out], mesh.numberOfCells)
        extra = fipy.CellVariable(mesh=mesh, value=w / np.asarray(mesh.cellVolumes))
    elif outflow != "default":
        raise ValueError("outflow must be 'upwind' or 'default'")
    eq = (fipy.UpwindConvectionTerm(coeff=coeff) + fipy.ImplicitSourceTerm(coeff=1.0 / tau + extra)
          == source)
    if sign < 0:
        eq = (-fipy.UpwindConvectionTerm(coeff=coeff) - fipy.ImplicitSourceTerm(coeff=1.0 / tau + extra)
              == -source)
    solver = fipy.LinearLUSolver(tolerance=1e-14, criterion="initial", iterations=1)
    eq.solve(var=var, solver=solver)
    return np.asarray(var.value).copy()
