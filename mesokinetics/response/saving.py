"""``.save(folder)`` on every result object: a convenience method that delegates to the
workflow layer (:func:`mesokinetics.workflow.save`), which writes the result folder.

The physics core does no I/O: this method is its one door to the outside world, imported
at call time only, and the core never calls it (``tests/test_architecture.py`` allows
exactly this module -> ``mesokinetics.workflow`` edge).
"""

from __future__ import annotations

__all__ = ["Saving"]


class Saving:
    """Mixin of the result classes (uniform, slab, section, periodic strip)."""

    def save(self, folder, **kw) -> list:
        """Write this result as a result folder (result.npz, result.json, config.toml,
        result.vtu for finite samples, PNG figures); the keywords (``observables``,
        ``spin_currents``, ``name``, ``overwrite``, ``vtk``, ``png``) are those of
        :func:`mesokinetics.save`. Returns the paths written, result.json last."""
        from ..workflow import save  # the I/O layer, loaded on first use only

        return save(self, folder, **kw)
