"""Validation of the inputs that every solver shares (the kinetic solvers and the Kubo
check): clear errors naming the parameter, its unit and its allowed range.
"""

from __future__ import annotations

import numpy as np

from .disorder import PointDisorder
from .models.base import Model


def validate_inputs(model, disorder, mu, field, temperature) -> tuple[float, np.ndarray, float]:
    """Check the common inputs of every solver; returns (mu in eV, field array in V/nm,
    temperature in K)."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be a mesokinetics Model, got {type(model).__name__}")
    if not isinstance(disorder, PointDisorder):
        raise TypeError(f"disorder must be a PointDisorder, got {type(disorder).__name__}")
    try:
        mu = float(mu)
    except (TypeError, ValueError):
        raise ValueError(f"mu must be a finite energy in eV, got {mu!r}") from None
    if not np.isfinite(mu):
        raise ValueError(f"mu must be a finite energy in eV, got {mu!r}")
    field = np.atleast_1d(np.asarray(field, dtype=float))
    if field.shape != (model.dim,):
        raise ValueError(
            f"field must have {model.dim} components (V/nm) for a {model.dim}D model, "
            f"got shape {field.shape}"
        )
    if not np.all(np.isfinite(field)):
        raise ValueError(f"field must be finite (V/nm), got {field.tolist()}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0 (K), got {temperature!r}")
    return float(mu), field, float(temperature)


def validate_energy_points(energy_points) -> int:
    """Gauss-Legendre nodes of the thermal window: an integer >= 2."""
    if not isinstance(energy_points, (int, np.integer)) or energy_points < 2:
        raise ValueError(f"energy_points must be an integer >= 2, got {energy_points!r}")
    return int(energy_points)
