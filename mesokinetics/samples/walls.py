"""Wall models: the specular fraction p of the electrons hitting a wall (Fuchs-Sondheimer
boundary condition; the rest is re-emitted diffusely), constant (Fuchs) or angle
dependent (Soffer), docs/theory.md §6. Shared by films, strips and cross-sections.

Units: wave vectors in 1/nm, roughness in nm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class WallModel:
    """Specular fraction p(k_perp) in [0, 1] of the electrons hitting a wall."""

    def specularity(self, k_normal: np.ndarray) -> np.ndarray:
        """p for incident states with normal wave-vector component ``k_normal`` (1/nm)."""
        raise NotImplementedError

    @property
    def fully_specular(self) -> bool:
        return False


@dataclass(frozen=True)
class Fuchs(WallModel):
    """Constant specularity p (Fuchs 1938): 0 fully diffuse, 1 fully specular."""

    p: float = 0.0

    def __post_init__(self):
        if not isinstance(self.p, (int, float, np.floating, np.integer)) or not 0 <= self.p <= 1:
            raise ValueError(f"specularity must be in [0, 1], got {self.p!r}")

    def specularity(self, k_normal):
        return np.full(np.shape(k_normal), float(self.p))

    @property
    def fully_specular(self) -> bool:
        return self.p == 1


@dataclass(frozen=True)
class Soffer(WallModel):
    """Soffer's angle-dependent roughness model, p = exp(-(2 k_perp eta)^2), with the rms
    roughness eta in nm and k_perp the normal component of the incident wave vector."""

    roughness: float

    def __post_init__(self):
        r = self.roughness
        if not isinstance(r, (int, float, np.floating, np.integer)) or not np.isfinite(r) or r < 0:
            raise ValueError(f"roughness must be a non-negative length in nm, got {r!r}")

    def specularity(self, k_normal):
        return np.exp(-((2 * np.asarray(k_normal) * self.roughness) ** 2))

    @property
    def fully_specular(self) -> bool:
        return self.roughness == 0


def as_wall(spec) -> WallModel:
    """A wall model from a number p in [0, 1] or a :class:`WallModel`."""
    if isinstance(spec, WallModel):
        return spec
    return Fuchs(spec)
