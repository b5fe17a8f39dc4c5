"""The numerical parameters of every k-space quadrature: one :class:`Numerics`.

Solvers take them as keyword options (``solve_uniform(..., angles=128)``) or as one
object (``numerics=Numerics(angles=128)``); both are validated here. Settings that a
solver derives from its sample (the wall normal towards which a shell rule is graded)
are not user fields: the solver passes them to the sampler itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


def numerics_from_kwargs(cls, kwargs: dict):
    """Build a numerics dataclass from keyword options, rejecting unknown names."""
    known = {f.name for f in fields(cls)}
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"unknown numerics option(s) {sorted(unknown)}; allowed: {sorted(known)}")
    return cls(**kwargs)


@dataclass(frozen=True)
class Numerics:
    """Numerical parameters of the k-space quadratures (dimensionless counts),
    docs/theory.md §8.

    angles : rays in 2D (periodic trapezoid), >= 4. Default 128: the graded rule of a
        strip then meets 1e-3 on every reference of docs/accuracy.md (64 left the 2D
        Fuchs-Sondheimer strip 2.8e-3 off); for the uniform rule it is spectral anyway
    polar, azimuth : 3D. polar >= 2: Gauss-Legendre nodes in cos(theta) of the standard
        rule; in a film, nodes per meridian of the graded rule (floor(polar / 2) on each
        side of the rim); in a wire, Gauss-Legendre nodes in theta about the wire axis.
        Default 48: the Fuchs-Sondheimer film within 1.2e-5 over d/l = 0.01 ... 30 (16
        gave 1.9e-2). azimuth >= 4: trapezoid nodes in phi (films, standard rule); in a
        wire, 8 floor(azimuth / 8) Gauss-Legendre nodes on the 8 arcs between k pi/4
    scan_points : radial points used to bracket shell crossings on each ray
    radial_order, radial_panels : Gauss-Legendre nodes per panel and panels per
        interval of the Fermi-sea radial integrals
    grazing_panels : in films, strips and wires the shell rule is oriented along the wall
        normals and refined towards grazing directions (v . n = 0 on a wall), where the
        distribution jumps and varies on the scale W/l: composite Gauss-Legendre on
        ``grazing_panels`` geometrically graded panels (ratio 0.2) on each side of every
        grazing point, with exactly floor(angles / 4) (2D), floor(polar / 2) (3D films) or
        floor(azimuth / 8) (wires) nodes there, shared 1 : 2 : ... : grazing_panels from
        the grazing point out (quadrature.graded_counts); 1 is plain Gauss-Legendre
        (>= 1; wires default to 1)
    sea_angles : angular nodes of the Fermi-sea rule of a sample whose shells are graded
        (the smooth sea integrand keeps the standard rule): rays in 2D; in 3D the sea uses
        min(azimuth, sea_angles) (at least 4) azimuthal nodes and ``polar`` polar nodes
    bz_grid : Brillouin-zone samplers of lattice models (:mod:`mesokinetics.sampling.brillouin`):
        grid points per reciprocal lattice vector (>= 4); None: 512, 96, 24 in 1D, 2D, 3D
    bz_refine : adaptive bisections of Fermi-sea cells crossed by a Fermi surface (0..12)
    bz_contour_points : points per Fermi loop per reciprocal-vector length (2D, >= 16)
    bz_chunk : k points per diagonalization chunk (bounds the memory, >= 1)
    bz_cell_points : Gauss-Legendre nodes per axis in Fermi-sea cells without a Fermi
        surface (1..4; 1 is the midpoint rule)
    """

    angles: int = 128
    polar: int = 48
    azimuth: int = 32
    scan_points: int = 256
    radial_order: int = 16
    radial_panels: int = 4
    grazing_panels: int = 6
    sea_angles: int = 64
    bz_grid: int | None = None
    bz_refine: int = 3
    bz_contour_points: int = 64
    bz_chunk: int = 8192
    bz_cell_points: int = 2

    def __post_init__(self):
        # a periodic trapezoid needs more than 2 nodes to integrate cos^2 exactly: a
        # smaller angular rule can miss a response entirely (2 rays along y for E along x)
        minimum = {"angles": 4, "azimuth": 4, "sea_angles": 4}
        for name in ("angles", "polar", "azimuth", "scan_points", "radial_order", "radial_panels",
                     "sea_angles"):
            value, low = getattr(self, name), minimum.get(name, 2)
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"numerics {name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.grazing_panels, (int, np.integer)) or self.grazing_panels < 1:
            raise ValueError(f"numerics grazing_panels must be an integer >= 1, got {self.grazing_panels!r}")

    from_kwargs = classmethod(numerics_from_kwargs)


def resolve_numerics(numerics: "Numerics | None", options: dict, defaults: dict | None = None) -> Numerics:
    """One :class:`Numerics` from a solver's ``numerics=`` object or its keyword options
    (not both); ``defaults`` are the solver's own defaults for options the user left out."""
    if numerics is not None:
        if options:
            raise TypeError(f"give numerics either as numerics=Numerics(...) or as keyword "
                            f"options, not both (got numerics= and {sorted(options)})")
        if not isinstance(numerics, Numerics):
            raise TypeError(f"numerics must be a mesokinetics.Numerics, got {type(numerics).__name__}")
        return numerics
    return Numerics.from_kwargs({**(defaults or {}), **options})
