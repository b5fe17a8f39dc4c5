"""Matplotlib figures of responses (outside the physics core; imports matplotlib lazily).

Every axis label carries its unit. Figures are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .io.atomic import atomic_output

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
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
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


# --------------------------------------------------------------------------------------
# Figures of saved results (mesokinetics.io.results.Result): they need only the arrays,
# so they work on freshly computed and on loaded results alike. Figures are built with
# matplotlib.figure.Figure (no pyplot state), safe in worker processes.
# --------------------------------------------------------------------------------------

PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")


def _new_figure(ncols: int = 1, nrows: int = 1, size=(4.3, 3.4), polar: bool = False,
                right: float = 0.25, gap: float = 1.3):
    from matplotlib.figure import Figure

    width, height = size[0] * ncols, size[1] * nrows
    fig = Figure(figsize=(width, height))
    kw = {"subplot_kw": {"projection": "polar"}} if polar else {}
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    # fixed margins in inches (a tight or constrained layout doubles the drawing time)
    fig.subplots_adjust(left=0.95 / width, right=1 - right / width, bottom=0.55 / height,
                        top=1 - 0.6 / height, wspace=gap / (size[0] - 1.2),
                        hspace=1.0 / (size[1] - 1.15))
    return fig, axes.ravel()


def _axis_names(result) -> tuple[str, str]:
    geo = result.geometry
    return "xyz"[geo["normal_axis"]], "xyz"[geo["transport_axis"]]


def _component_label(result, quantity: str, index: int) -> str:
    comp = result.components(quantity)[index]
    return f"{quantity}_{comp}" if comp else quantity


def _negligible(values, scale) -> bool:
    return not np.any(np.abs(values) > 1e-12 * (scale + 1e-300))


def plot_contributions(ax, result, quantity: str, component: int = 0, accumulation: bool = False,
                       parts=PARTS, show_bulk: bool = True):
    """Profiles of each contribution to one component of ``quantity`` across a strip or
    film (a saved :class:`~mesokinetics.io.results.Result`), with the walls as grey lines
    and the bulk total as a dotted line. ``accumulation`` subtracts the bulk values."""
    y = result.centers
    total = result.profile(quantity, "total", accumulation)[:, component]
    scale = np.abs(total).max()
    for part in parts:
        values = result.profile(quantity, part, accumulation)[:, component]
        if part != "total" and _negligible(values, scale):
            continue
        ax.plot(y, values, label=part, **PART_STYLES[part])
    if show_bulk and not accumulation:
        ax.axhline(result.bulk(quantity, "total")[component], color="0.4", ls=":", lw=1,
                   label="bulk total")
    for wall in (result.faces[0], result.faces[-1]):
        ax.axvline(wall, color="0.6", lw=1)
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    normal, _ = _axis_names(result)
    ax.set_xlabel(f"{normal} (nm)")
    label = _component_label(result, quantity, component)
    ax.set_ylabel(f"{'accumulation of ' if accumulation else ''}{label} ({result.unit(quantity)})")
    ax.legend(fontsize=7, loc="upper right")
    return ax


def plot_accumulation_map(ax, result, quantity: str, component: int = 0, length: float | None = None,
                          part: str = "total", cmap: str = "RdBu_r"):
    """Map of the edge accumulation (``part`` minus its bulk value) of one component over
    the sample, extruded along the transport direction as in the ParaView file; walls
    drawn as black lines, colour scale symmetric about zero. Returns the mesh artist."""
    faces = result.faces
    length = float(length or result.config.get("output", {}).get("map_length") or result.geometry["width"])
    values = result.profile(quantity, part, accumulation=True)[:, component]
    vmax = np.abs(values).max() or 1.0
    along = np.array([0.0, length])
    mesh = ax.pcolormesh(along, faces, np.repeat(values[:, None], 1, axis=1), cmap=cmap,
                         vmin=-vmax, vmax=vmax, shading="flat")
    for wall in (faces[0], faces[-1]):
        ax.axhline(wall, color="k", lw=1.2)
    normal, transport = _axis_names(result)
    ax.set_xlabel(f"{transport} (nm), transport direction")
    ax.set_ylabel(f"{normal} (nm)")
    label = _component_label(result, quantity, component)
    ax.set_title(f"accumulation of {label}" + ("" if part == "total" else f" ({part})"), fontsize=9)
    cbar = ax.figure.colorbar(mesh, ax=ax)
    cbar.set_label(f"{result.unit(quantity)}")
    return mesh


def _distribution_plane(result) -> tuple[np.ndarray, np.ndarray]:
    """Angles (in the plane of the transport axis and the normal) and a mask of the shell
    points lying (closest to) that plane."""
    k = result.arrays["distribution.k"]
    d = k.shape[1]
    geo = result.geometry
    t = geo["transport_axis"]
    if d == 1:
        return np.where(k[:, 0] >= 0, 0.0, np.pi), np.ones(len(k), bool)
    if d == 2:
        return np.arctan2(k[:, 1], k[:, 0]), np.ones(len(k), bool)
    n = geo.get("normal_axis", 2 if t != 2 else 0)
    o = 3 - t - n
    az = np.arctan2(k[:, o], k[:, t])  # azimuth about the normal, 0 along the transport axis
    off = np.abs(np.sin(az)) * (np.hypot(k[:, o], k[:, t]) > 1e-12 * np.abs(k).max())
    mask = off <= off.min() + 1e-9
    return np.arctan2(k[:, n], k[:, t]), mask


def plot_distribution(ax, result, depth: float | None = None, scale: float | None = None):
    """Polar plot of g_n(k) on the Fermi surface at ``depth`` (nm from the bottom wall;
    slab results) for each band: radius 1 + g / (2 scale), scale = max |g| by default, so
    the unit circle (dashed) is g = 0 and the plot shows the shifted Fermi surface. The
    angle is the direction of k in the plane of the transport axis and the wall normal
    (3D: the shell points nearest to that plane). Returns the scale (eV)."""
    g = result.arrays["distribution.g"]
    band = result.arrays["distribution.band"]
    if g.ndim == 2:
        centers = result.centers
        j = int(np.argmin(np.abs(centers - (centers[0] if depth is None else depth))))
        g = g[:, j]
        title = f"{_axis_names(result)[0]} = {centers[j]:.3g} nm"
    else:
        title = "uniform sample"
    angle, mask = _distribution_plane(result)
    scale = float(scale or np.abs(g[mask]).max() or 1.0)
    circle = np.linspace(0, 2 * np.pi, 181)
    ax.plot(circle, np.ones_like(circle), color="0.6", ls="--", lw=0.8)
    for i, b in enumerate(np.unique(band[mask])):
        sel = mask & (band == b)
        order = np.argsort(angle[sel])
        th, r = angle[sel][order], 1 + g[sel][order] / (2 * scale)
        style = "-" if len(np.unique(np.round(th, 12))) == len(th) else "none"
        ax.plot(np.append(th, th[:1]) if style == "-" else th, np.append(r, r[:1]) if style == "-" else r,
                marker=".", ms=3, ls=style, lw=1, color=f"C{i}", label=f"band {b}")
    ax.set_ylim(0, 1.6)
    ax.set_yticklabels([])
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="lower left", bbox_to_anchor=(-0.15, -0.15))
    return scale


def plot_bulk_contributions(ax, result, quantity: str):
    """Grouped bars: the contributions to each component of ``quantity`` in the bulk."""
    comps = result.components(quantity)
    x = np.arange(len(comps))
    width = 0.8 / len(PARTS)
    for i, part in enumerate(PARTS):
        style = PART_STYLES[part]
        ax.bar(x + (i - 2) * width, result.bulk(quantity, part), width, label=part,
               color=style["color"], edgecolor="k" if part == "total" else "none", lw=0.5)
    ax.set_xticks(x, [_component_label(result, quantity, i) for i in range(len(comps))])
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylabel(f"{quantity} ({result.unit(quantity)})")
    ax.legend(fontsize=7, loc="upper right")
    return ax


def _save_fast(fig, path: Path, dpi: int = 120) -> Path:
    """Like :func:`save_figure` (atomic) but relying on the constrained layout of the
    figure instead of a tight bounding box, which costs a second full draw."""
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path


def _write(fig, folder: Path, stem: str, png: bool, pdf: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    if png:
        out.append(_save_fast(fig, folder / f"{stem}.png"))
    if pdf:
        out.append(_save_fast(fig, folder / f"{stem}.pdf"))
    return out


def result_figures(result, folder, png: bool = True, pdf: bool = False) -> list[Path]:
    """The standard figures of a result, written into ``folder``:

    strip or film: ``profile_<quantity>.png`` (contributions across the sample, one panel
    per component), ``map_<quantity>.png`` (accumulation maps), ``distribution.png``
    (g_n on the Fermi surface at output.depths); uniform: ``contributions.png`` and
    ``distribution.png``. Components that vanish identically are left out."""
    folder = Path(folder)
    written: list[Path] = []
    name = result.name
    if result.is_slab:
        for q in result.quantities:
            prof = result.profile(q, "total")
            scale = np.abs(prof).max()
            comps = [i for i in range(prof.shape[1]) if not _negligible(
                np.concatenate([prof[:, i]] + [result.profile(q, p)[:, i] for p in PARTS]), scale)]
            comps = comps or [0]
            fig, axes = _new_figure(len(comps))
            for ax, i in zip(axes, comps):
                plot_contributions(ax, result, q, i)
            fig.suptitle(f"{name}: {result.quantities[q]['label']}", fontsize=10)
            written += _write(fig, folder, f"profile_{q}", png, pdf)
            fig, axes = _new_figure(len(comps), size=(5.0, 3.6), right=0.9, gap=2.0)
            for ax, i in zip(axes, comps):
                plot_accumulation_map(ax, result, q, i)
            fig.suptitle(f"{name}: edge accumulation (total minus bulk)", fontsize=10)
            written += _write(fig, folder, f"map_{q}", png, pdf)
    elif result.quantities:
        fig, axes = _new_figure(len(result.quantities))
        for ax, q in zip(axes, result.quantities):
            plot_bulk_contributions(ax, result, q)
            ax.set_title(result.quantities[q]["label"], fontsize=9)
        fig.suptitle(f"{name}: contributions in the bulk", fontsize=10)
        written += _write(fig, folder, "contributions", png, pdf)
    if "distribution.g" in result.arrays:
        if result.is_slab:
            depths = list(result.config.get("output", {}).get("depths") or [])
            if not depths:
                width = result.geometry["width"]
                mfp = result.summary.get("mean_free_path", width / 4)
                depths = [0.0, min(mfp, width / 2), width / 2]
        else:
            depths = [None]
        g = result.arrays["distribution.g"]
        _, mask = _distribution_plane(result)
        scale = float(np.abs(g[mask]).max() or 1.0)
        fig, axes = _new_figure(len(depths), size=(3.4, 3.6), polar=True)
        for ax, depth in zip(axes, depths):
            plot_distribution(ax, result, depth, scale)
        fig.suptitle(f"{name}: g_n(k) on the Fermi surface (eV), radius 1 + g/(2 x {scale:.3g} eV)",
                     fontsize=9)
        written += _write(fig, folder, "distribution", png, pdf)
    return written


def plot_sweep(ax, rows, x: str, y: str, group: str | None = None, xlog: bool = False, label=None,
               **style):
    """Curves of column ``y`` versus column ``x`` of a sweep table (list of dicts), one
    curve per value of ``group`` if given."""
    groups = {}
    for row in rows:
        groups.setdefault(row.get(group) if group else None, []).append(row)
    for i, (g, sel) in enumerate(groups.items()):
        sel = sorted(sel, key=lambda r: float(r[x]))
        xs = np.array([float(r[x]) for r in sel])
        ys = np.array([float(r[y]) if r.get(y) not in (None, "") else np.nan for r in sel])
        lab = label if group is None else f"{group} = {g}"
        ax.plot(xs, ys, marker="o", ms=3, label=lab, **({"color": f"C{i}"} if group else {}), **style)
    if xlog:
        ax.set_xscale("log")
    return ax


def sweep_figures(rows, keys, units, folder, png: bool = True, pdf: bool = False,
                  xlog: bool = False) -> list[Path]:
    """``sweep.png``: every summary value versus the first varied key (one curve per value
    of the second key, if any). Slab results show bulk, wall, centre and mean per
    component; uniform results the contributions."""
    folder = Path(folder)
    if not rows:
        return []
    x = keys[0]
    group = keys[1] if len(keys) > 1 else None
    try:
        [float(r[x]) for r in rows]
    except (TypeError, ValueError):
        return []  # non-numeric first key: no curves
    columns = [c for c in rows[0] if c not in keys and c != "point" and "." in c]
    scalars = [c for c in ("conductance_ratio", "sheet_conductance", "sigma_parallel", "mean_free_path")
               if c in rows[0]]
    bases = []
    for c in columns:
        base = c.rsplit(".", 1)[0]
        if base not in bases:
            bases.append(base)
    panels = [(s, [s]) for s in scalars]
    scale: dict[str, float] = {}  # largest value per unit: components of one quantity
    for c in columns:
        vals = np.abs([float(r[c]) for r in rows])
        scale[units.get(c, "")] = max(scale.get(units.get(c, ""), 0.0), float(vals.max()))
    for base in bases:
        cols = [c for c in columns if c.rsplit(".", 1)[0] == base]
        vals = np.array([[float(r[c]) for c in cols] for r in rows])
        if np.abs(vals).max() <= 1e-9 * scale.get(units.get(cols[0], ""), 0.0) or np.all(vals == 0):
            continue  # a component that vanishes by symmetry (rounding noise)
        if group:  # one curve per group value: show the wall value (slabs) or the total
            pick = [c for c in cols if c.endswith((".wall", ".total"))] or cols[:1]
            cols = pick[:1]
        panels.append((base, cols))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = _new_figure(ncols, nrows, size=(4.0, 3.0))
    for ax, (title, cols) in zip(axes, panels):
        for j, c in enumerate(cols):
            style = dict(PART_STYLES.get(c.rsplit(".", 1)[-1], {"color": f"C{j}"}))
            style.pop("lw", None)
            if group:
                plot_sweep(ax, rows, x, c, group, xlog)
                title = c
                break
            plot_sweep(ax, rows, x, c, None, xlog, label=c.rsplit(".", 1)[-1], **style)
        ax.set_xlabel(f"{x} ({units.get(x, '')})".replace(" ()", ""))
        ax.set_ylabel(f"{title} ({units.get(cols[0], '')})".replace(" ()", ""), fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return _write(fig, folder, "sweep", png, pdf)
