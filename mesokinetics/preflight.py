"""Pre-flight estimate of a solve: k points and the memory of its largest arrays, from the
numerics alone, before anything is allocated.

A run whose largest arrays alone would need more than :data:`MEMORY_FRACTION` of the
machine's physical memory is refused with a ValueError naming the numerics to lower
(``bz_grid = 100000`` in 3D asks for 10^15 k points, about 7 PiB): it could only end in a
MemoryError, or in swapping, after minutes of work.

The estimate counts the largest arrays of each stage (not numpy temporaries or LAPACK
workspace), so it is close to a lower bound of the peak: a refused run could not have
finished; runs below the limit may still need more. The stages counted:

* continuum shells (rays from k = 0): h(k) (N x N complex) at every ray x scan radius,
  rays = ``angles`` (2D), ``polar`` x ``azimuth`` (3D), 2 (1D), radii = ``scan_points`` + 23;
* Brillouin-zone grids of lattice models: ``bz_grid``^d points, their coordinates, grid
  indices and band energies;
* shell points (about rays x N, eigenvectors and velocities at each) and the continuum
  Fermi sea (rays x ``radial_order`` x ``radial_panels`` x N nodes);
* films and strips: ``cells`` x shell points distributions.

Memory is MemTotal of /proc/meminfo where it exists, else ``os.sysconf`` (physical pages
x page size); where neither answers, nothing is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .sampling import BrillouinZone, sampler_of
from .sampling.brillouin import DEFAULT_GRID

__all__ = ["MEMORY_FRACTION", "Estimate", "check_resources", "estimate", "physical_memory"]

#: refuse a run whose estimated largest arrays exceed this fraction of physical memory
MEMORY_FRACTION = 0.8

_GEOMETRIC_RADII = 23  # geometric points below the first scan step (sampling/rays.py)
_SLAB_ARRAYS = 6  # (points, cells) float arrays of a slab solve (distribution, sweeps, sources)


@dataclass(frozen=True)
class Estimate:
    """k points and bytes of the largest arrays of a solve.

    points : k points of the largest stage
    bytes : estimated bytes of the largest arrays (sum over stages)
    stage : the stage with the most bytes, in words
    lower : the numerics that set that stage (the ones to lower)
    """

    points: int
    bytes: int
    stage: str
    lower: tuple


def physical_memory() -> int | None:
    """Bytes of physical memory: MemTotal of /proc/meminfo, else os.sysconf; None if
    neither is available."""
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError, TypeError):
        return None


def _is_lattice(model) -> bool:
    """Sampled on the Brillouin-zone grid (not rays, not a user's own sampler)."""
    return isinstance(sampler_of(model), BrillouinZone)


def estimate(model, numerics, cells: int | None = None) -> Estimate:
    """The :class:`Estimate` of a solve of ``model`` with ``numerics`` (a
    :class:`~mesokinetics.Numerics`); ``cells``: cells across a film or strip, or None.

    Integer arithmetic throughout (no overflow for any numerics). A model with its own
    ``sampler`` is estimated from ``cells`` only."""
    d, n = int(model.dim), int(model.size)
    complex_matrix = 16 * n * n
    stages = []  # (bytes, points, words, numerics)
    if getattr(model, "sampler", None) is not None:
        shell_points = 0
    elif _is_lattice(model):
        grid = numerics.bz_grid if numerics.bz_grid is not None else DEFAULT_GRID[d]
        points = int(grid) ** d
        stages.append((points * 8 * (3 * d + n), points,
                       f"the Brillouin-zone grid ({points:.3g} k points: bz_grid = {grid} in {d}D)",
                       ("bz_grid",)))
        # 2D contours: bz_contour_points per reciprocal-vector length of Fermi loop; a 3D
        # surface: about two points per band per crossed cube, ~ grid^2 cubes (measured:
        # 4320 points on the 32^3 grid of the two-band wannier_ferromagnet_film)
        shell_points = n * (int(numerics.bz_contour_points) * 2 if d == 2 else
                            2 * int(grid) ** max(d - 1, 0))
        lower = ("bz_contour_points",) if d == 2 else ("bz_grid",)
    else:
        if d == 1:
            rays, lower = 2, ()
        elif d == 2:
            rays, lower = int(numerics.angles), ("angles",)
        else:
            rays, lower = int(numerics.polar) * int(numerics.azimuth), ("polar", "azimuth")
        radii = int(numerics.scan_points) + _GEOMETRIC_RADII
        points = rays * radii
        stages.append((points * (complex_matrix + 8 * d), points,
                       f"the ray scan ({points:.3g} k points: {rays} rays x {radii} radii)",
                       lower + ("scan_points",)))
        sea = rays * int(numerics.radial_order) * int(numerics.radial_panels) * n
        stages.append((sea * complex_matrix * (1 + d), sea,
                       f"the Fermi sea ({sea:.3g} k points)",
                       lower + ("radial_order", "radial_panels")))
        shell_points = rays * n
    if shell_points:
        stages.append((shell_points * complex_matrix * (1 + d), shell_points,
                       f"the Fermi shell ({shell_points:.3g} points)", lower))
    if cells is not None and shell_points:
        size = int(cells) * shell_points
        stages.append((size * 8 * _SLAB_ARRAYS, size,
                       f"the slab distribution ({cells} cells x {shell_points:.3g} shell points)",
                       ("cells",) + lower))
    if not stages:
        return Estimate(0, 0, "nothing", ())
    top = max(stages, key=lambda s: s[0])
    return Estimate(top[1], sum(s[0] for s in stages), top[2], top[3])


def _size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PiB"


def check_resources(model, numerics, cells: int | None = None,
                    memory: int | None = None) -> Estimate:
    """Refuse (ValueError, one line naming the numerics to lower) a solve whose largest
    arrays would exceed :data:`MEMORY_FRACTION` of physical memory (``memory`` bytes,
    default :func:`physical_memory`); returns the :class:`Estimate` otherwise."""
    est = estimate(model, numerics, cells)
    total = physical_memory() if memory is None else memory
    if total and est.bytes > MEMORY_FRACTION * total:
        names = ", ".join(f"numerics.{x}" for x in est.lower) or "the numerics"
        raise ValueError(
            f"the numerics ask for about {_size(est.bytes)} of memory, mostly {est.stage}; "
            f"this machine has {_size(total)} (limit {MEMORY_FRACTION:.0%}): lower {names}")
    return est
