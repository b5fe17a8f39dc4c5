"""Validation of the inputs that every solver shares (the kinetic solvers and the Kubo
check): clear errors naming the parameter, its unit and its allowed range.
"""

from __future__ import annotations

import numpy as np

from .disorder import PointDisorder
from .models.base import CallableModel, Model, finite_difference_velocity

#: largest relative difference (max |v - v_fd| / max |v|) allowed between a user-supplied
#: velocity and the 8th-order finite difference of h(k); the difference measures 1e-14 for
#: polynomial models and about 1e-10 for smooth ones, a wrong sign or a missing term is
#: of order 1e-2..1
VELOCITY_RTOL = 1e-6
#: seeded random k points (normal, of the momentum scale) of the velocity check
VELOCITY_POINTS = 4


def validate_inputs(model, disorder, mu, field, temperature) -> tuple[float, np.ndarray, float]:
    """Check the common inputs of every solver; returns (mu in eV, field array in V/nm,
    temperature in K)."""
    if not isinstance(model, Model):
        raise TypeError(f"model must be a mesokinetics Model, got {type(model).__name__}")
    if not isinstance(disorder, PointDisorder):
        raise TypeError(f"disorder must be a PointDisorder, got {type(disorder).__name__}")
    check_velocity(model)
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


def _user_velocity(model) -> bool:
    """True if ``model`` has a velocity the user wrote: a callable given to
    ``from_callable``, or a ``velocity`` method of a class outside mesokinetics. The
    built-in models (continuum and lattice) are skipped: their analytic velocities are
    tested against finite differences (tests/test_bands.py, tests/test_lattice.py)."""
    if isinstance(model, CallableModel):
        return model._v is not None
    method = type(model).velocity
    return method is not Model.velocity and not getattr(method, "__module__", "").startswith("mesokinetics.")


def _at(k) -> str:
    return "[" + ", ".join(f"{x:.6g}" for x in np.asarray(k, float)) + "]"


def check_velocity(model) -> None:
    """Check a user-supplied ``velocity`` against the 8th-order finite difference of
    ``hamiltonian`` at :data:`VELOCITY_POINTS` seeded random k points of the model's
    momentum scale (step 0.01 x momentum scale); ValueError above :data:`VELOCITY_RTOL`
    (e.g. a wrong sign, which flips the Edelstein response), or for NaN/inf in h or v,
    naming the model and the k point. Done once per model (the flag
    ``_velocity_checked`` is cached on it); free for the built-in models."""
    if getattr(model, "_velocity_checked", False):
        return
    if _user_velocity(model):
        name = "from_callable model" if isinstance(model, CallableModel) else type(model).__name__
        scale = float(getattr(model, "momentum_scale", 1.0) or 1.0)
        k = np.random.default_rng(16).normal(size=(VELOCITY_POINTS, model.dim)) * scale
        h = np.asarray(model.hamiltonian(k))
        for p in range(len(k)):
            if not np.all(np.isfinite(h[p])):
                raise ValueError(f"{name}: the Hamiltonian has NaN or inf entries at k = {_at(k[p])} 1/nm")
        try:
            v = np.asarray(model.velocity(k))
        except ValueError as exc:  # e.g. a reshape of an array of the wrong shape
            raise ValueError(f"{name}: velocity(k) must have shape (P, d, N, N) = "
                             f"{(len(k), model.dim) + h.shape[1:]} for k of shape {k.shape}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        if v.shape != (len(k), model.dim) + h.shape[1:]:
            raise ValueError(f"{name}: velocity(k) must have shape (P, d, N, N) = "
                             f"{(len(k), model.dim) + h.shape[1:]} for k of shape {k.shape}, "
                             f"got {v.shape}")
        for p in range(len(k)):
            if not np.all(np.isfinite(v[p])):
                raise ValueError(f"{name}: the velocity has NaN or inf entries at k = {_at(k[p])} 1/nm")
        fd = finite_difference_velocity(model.hamiltonian, k, 0.01 * scale)
        size = max(float(np.max(np.abs(fd))), float(np.max(np.abs(v))))
        if size > 0:
            err = np.max(np.abs(v - fd).reshape(len(k), -1), axis=1) / size
            p = int(np.argmax(err))
            if err[p] > VELOCITY_RTOL:
                raise ValueError(
                    f"{name}: velocity(k) is not dh/dk: it differs from a finite difference "
                    f"of hamiltonian(k) by {err[p]:.2g} (relative; tolerance {VELOCITY_RTOL:g}) "
                    f"at k = {_at(k[p])} 1/nm; check the signs and terms of the velocity")
    try:
        model._velocity_checked = True
    except AttributeError:  # a model that refuses new attributes is checked every time
        pass
