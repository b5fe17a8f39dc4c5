"""Sampling of Fermi shells and Fermi seas (docs/theory.md §8): one entry point for every
model.

Continuum models are sampled on rays from k = 0 (:mod:`.rays`); lattice models (those
with ``lattice_vectors``, e.g. ``TightBinding``) on their Brillouin zone
(:mod:`.brillouin`); a model may bring its own sampler (``model.sampler``: an object with
``shell(model, energy, numerics)`` and ``sea(model, energy, numerics)``).
"""

from __future__ import annotations

from ..models.base import Model
from ..numerics import Numerics
from .brillouin import BrillouinZone
from .rays import (RayMemo, RayRoots, critical_energies as _ray_critical_energies,
                   find_ray_roots, ray_directions, ray_memo, ray_sea, ray_shell, sample_rays)
from .shell import Sea, Shell, ShellSamplingError

__all__ = ["Shell", "Sea", "ShellSamplingError", "RayRoots", "RayMemo", "ray_memo",
           "BrillouinZone", "sampler_of", "sample", "sample_shell", "sample_sea",
           "find_ray_roots", "ray_directions", "critical_energies"]

_BRILLOUIN_ZONE = BrillouinZone()


def sampler_of(model: Model):
    """The sampler of ``model``: its own (``model.sampler``), the Brillouin zone of a
    lattice model, or None for a continuum model (rays from k = 0)."""
    own = getattr(model, "sampler", None)
    if own is not None:
        return own
    if getattr(model, "lattice_vectors", None) is not None:
        return _BRILLOUIN_ZONE
    return None


def _sampler_shell(sampler, model, energy, numerics, grazing_axis):
    """The shell of a non-ray sampler: the Brillouin zone takes ``grazing_axis``; a model's
    own sampler keeps the two-argument interface (``shell(model, energy, numerics)``)."""
    if grazing_axis is not None and isinstance(sampler, BrillouinZone):
        return sampler.shell(model, energy, numerics, grazing_axis=grazing_axis)
    return sampler.shell(model, energy, numerics)


def sample(model: Model, energy: float, numerics: Numerics | None = None, *,
           grazing_axis: int | tuple | None = None) -> tuple[Shell, Sea]:
    """Shell and Fermi-sea quadratures at ``energy`` (eV).

    grazing_axis : None, or the axis of a wall normal: the shell rule is then graded
    towards grazing incidence on that wall (set by the finite-sample solvers): rays of
    continuum models, and the Fermi loops of 2D Brillouin-zone shells at their grazing
    points (docs/theory.md §8). A model's own sampler does not take it."""
    numerics = numerics or Numerics()
    sampler = sampler_of(model)
    if sampler is not None:
        return (_sampler_shell(sampler, model, energy, numerics, grazing_axis),
                sampler.sea(model, energy, numerics))
    return sample_rays(model, energy, numerics, grazing_axis)


def sample_shell(model: Model, energy: float, numerics: Numerics | None = None,
                 roots: RayRoots | None = None, *, grazing_axis: int | tuple | None = None) -> Shell:
    """The energy shell at ``energy`` (eV) of every band. ``roots`` (continuum models,
    from :func:`find_ray_roots` with the same numerics) avoids a second root search."""
    numerics = numerics or Numerics()
    sampler = sampler_of(model)
    if sampler is not None:
        return _sampler_shell(sampler, model, energy, numerics, grazing_axis)
    return ray_shell(model, energy, numerics, roots, grazing_axis)


def sample_sea(model: Model, energy: float, numerics: Numerics | None = None,
               roots: RayRoots | None = None) -> Sea:
    """Fermi-sea quadrature at chemical potential ``energy`` (eV), T = 0."""
    numerics = numerics or Numerics()
    sampler = sampler_of(model)
    if sampler is not None:
        return sampler.sea(model, energy, numerics)
    return ray_sea(model, energy, numerics, roots)


def critical_energies(model: Model, numerics: Numerics | None, window: tuple[float, float]):
    """Energies (eV) inside ``window`` where the T = 0 response may have a kink or a step
    (band crossings and band extrema), the breaks of the thermal rule
    (:func:`mesokinetics.quadrature.thermal_nodes`, docs/theory.md §9). Continuum models:
    :func:`.rays.critical_energies`. Models with their own sampler or a Brillouin zone:
    none yet (their van Hove points and edges are not located; the thermal rule is then
    uncut, spectral on smooth responses and n^-2 across a kink)."""
    import numpy as np

    if sampler_of(model) is not None:
        return np.zeros(0)
    return _ray_critical_energies(model, numerics or Numerics(), window)
