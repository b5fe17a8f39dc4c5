"""The coarser meshes of a cross-section that the tol check compares (issue 12): the
samples at another resolution, and the transfer of maps between their meshes
(SectionMesh.parents_in / restriction, mesokinetics.convergence._restrict)."""

from __future__ import annotations

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.convergence import _prolong, _restrict


def test_rectangle_levels_are_nested_and_restrict_exactly():
    """16 x 16 cells onto 8 x 8 (uniform faces): every fine cell's parent holds its centre
    and the restriction of a linear map is its coarse cell average, exact to rounding."""
    fine, coarse = (mk.Rectangle(10.0, 10.0, 0.0, cells=c).section_mesh() for c in (16, 8))
    parent = fine.parents_in(coarse)
    assert np.bincount(parent, minlength=coarse.cells).tolist() == [4] * coarse.cells
    assert np.max(np.abs(coarse.centers[parent] - fine.centers)) < 10.0 / 16 + 1e-12
    v = 2.0 * fine.centers[:, 0] - 3.0 * fine.centers[:, 1]
    expected = 2.0 * coarse.centers[:, 0] - 3.0 * coarse.centers[:, 1]
    assert np.max(np.abs(_restrict(v, fine, coarse) - expected)) < 1e-12
    assert _prolong(expected, coarse, fine).shape == v.shape


def test_triangle_levels_restrict_with_every_coarse_cell_covered():
    """A disk's triangles at h and 2h (Gmsh's MeshSizeFactor) are not nested: each fine
    centre is located in the coarse triangle that holds it, rows of the restriction sum
    to one, and a constant map restricts to itself."""
    pytest.importorskip("gmsh")
    disk = mk.disk(5.0)
    fine, coarse = disk.section_mesh(), disk.at_resolution(0.5).section_mesh()
    assert coarse.cells < fine.cells / 3
    parent = fine.parents_in(coarse)
    from mesokinetics.samples.mesh import _inside_convex, _padded_polygons

    polys = _padded_polygons(coarse.vertices, coarse.cell_vertices)[parent]
    inside = _inside_convex(polys, fine.centers)
    assert np.mean(inside) > 0.99  # the rest lie between the two polygons of the curved wall
    R = fine.restriction(coarse)
    assert np.allclose(np.asarray(R.sum(axis=1)).ravel(), 1.0, atol=1e-14)
    assert np.all(np.diff(R.indptr) > 0)  # every coarse cell gets a value
    assert np.allclose(_restrict(np.full(fine.cells, 3.0), fine, coarse), 3.0, atol=1e-13)


def test_sample_resolution_and_who_chose_the_mesh():
    r = mk.Rectangle(10.0, 20.0, 0.0, wall_cell=0.1)
    assert r.cells == (32, 32) and r.mesh_given is False
    half = r.at_resolution(0.5)
    assert half.cells == (16, 16) and half.wall_cell == pytest.approx(0.2)
    assert mk.Rectangle(10.0, 20.0, 0.0, cells=(8, 4)).mesh_given is True
    assert mk.disk(5.0).mesh_given is False and mk.disk(5.0, 0.5).mesh_given is True
    assert mk.disk(5.0).at_resolution(0.25).size_factor == 4.0
    assert mk.PeriodicStrip(5.0, 5.0).mesh_given is False
    with pytest.raises(ValueError, match="resolution factor"):
        r.at_resolution(0.0)


def test_periodic_strip_levels_keep_the_notches():
    """A coarser unit cell is refused where a notch edge leaves the faces, or where one
    column would remain along the period."""
    strip = mk.PeriodicStrip(5.0, 5.0, 0.0, cells=8, notches=[(0.0, 1.25, 0.0, 1.25)])
    assert strip.at_resolution(0.5).cells == (4, 4)
    with pytest.raises(ValueError, match="notch edge at 1.25 nm"):
        strip.at_resolution(0.25)
    with pytest.raises(ValueError, match="at least 2 cells along x"):
        mk.PeriodicStrip(5.0, 5.0, 0.0, cells=(2, 8)).at_resolution(0.5)
