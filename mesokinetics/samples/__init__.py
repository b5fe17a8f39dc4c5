"""Samples: films and strips (:class:`Slab`), wire cross-sections and unit cells of
patterned strips (:class:`Rectangle`, :class:`GmshSection`, :func:`disk`, :func:`polygon`,
:class:`PeriodicStrip`), and their wall models (:class:`Fuchs`, :class:`Soffer`).
docs/theory.md §6-7. Units: lengths in nm.
"""

from .mesh import SectionMesh
from .section import CrossSection, GmshSection, PeriodicStrip, Rectangle, cross_axes, disk, polygon
from .slab import Film, Slab, Strip, graded_faces
from .walls import Fuchs, Soffer, WallModel, as_wall

__all__ = ["Slab", "Film", "Strip", "graded_faces", "WallModel", "Fuchs", "Soffer", "as_wall",
           "SectionMesh", "CrossSection", "Rectangle", "GmshSection", "PeriodicStrip", "disk",
           "polygon", "cross_axes"]
