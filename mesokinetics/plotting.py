"""Matplotlib figures of responses (outside the physics core; imports matplotlib lazily).

Every axis label carries its unit. Figures are written atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

#: Line styles of the contributions of paper Eqs. (1)-(2).
PART_STYLES = {
    "intraband": dict(color="tab:blue", ls="-"),
    "intrinsic": dict(color="tab:orange", ls="--"),
    "gradient": dict(color="tab:green", ls="-."),
    "disorder": dict(color="tab:red", ls=":"),
    "total": dict(color="0.25", ls="-", lw=3, alpha=0.45, zorder=1),
}


def save_figure(fig, path, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary file in the same folder, then rename).

    The format follows the suffix (.png, .pdf, .svg). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def plot_profile(ax, response, op, parts=("intraband", "intrinsic", "gradient", "disorder", "total"),
                 accumulation: bool = False, scale: float = 1.0, label_unit: str | None = None):
    """Plot the contributions to the density of ``op`` across a slab.

    response : :class:`~mesokinetics.SlabResponse`; accumulation : subtract the bulk
    values; scale : multiply densities (e.g. a field strength); walls drawn as grey lines.
    """
    d = response.accumulation(op) if accumulation else response.density(op)
    y = response.centers
    for part in parts:
        values = np.broadcast_to(getattr(d, part), y.shape) * scale
        if part != "total" and not np.any(np.abs(values) > 1e-12 * (np.abs(d.total).max() + 1e-300)):
            continue
        ax.plot(y, values, label=part, **PART_STYLES[part])
    for wall in (response.faces[0], response.faces[-1]):
        ax.axvline(wall, color="0.6", lw=1)
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    name = getattr(op, "name", "o")
    ax.set_xlabel(f"{'xyz'[response.slab.normal_axis(response.model.dim)]} (nm)")
    unit = label_unit or d.unit
    ax.set_ylabel(f"{'accumulation of ' if accumulation else ''}<{name}> ({unit})")
    ax.legend(fontsize=8)
    return ax
