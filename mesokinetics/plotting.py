"""Matplotlib figures of responses (outside the physics core; imports matplotlib lazily).

Every axis label carries its unit, typeset as math text (:func:`mathtext_unit`). Every
contribution of paper Eqs. (1)-(2) is drawn, the vanishing ones too (named "gradient = 0"
in the legend), so a figure always shows the four-way split intraband / intrinsic /
gradient / disorder. Figures are written atomically (:mod:`mesokinetics.io.atomic`).

Figures of a strip or film: the full width on a linear axis beside an edge panel, the
distance from the wall in units of the mean free path l on a log axis. Figures of a
cross-section (:func:`plot_section_map`): true maps on the section's own mesh. Uniform
samples: one bar panel per component, so a Hall (transverse) current has its own axis.
Sweeps: against d/l, with the Fuchs-Sondheimer closed form where it applies.
"""

from __future__ import annotations

import re
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

PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")

#: A part whose largest magnitude is below this fraction of the largest total is drawn
#: as zero and labelled "<part> = 0" (rounding noise of a term that vanishes).
ZERO_TOL = 1e-10


# --------------------------------------------------------------------------------------
# Units and names as math text
# --------------------------------------------------------------------------------------

_UNIT_SYMBOLS = {
    "hbar": r"\hbar", "h": "h", "e": "e", "|e|": "|e|", "mu_B": r"\mu_\mathrm{B}",
    "m_e": r"m_\mathrm{e}", "ohm": r"\Omega", "Ohm": r"\Omega", "deg": r"{}^\circ",
    "um": r"\mu\mathrm{m}", "mu_0": r"\mu_0", "k_B": r"k_\mathrm{B}",
}
#: Groups kept together (the conductance quantum is read as one unit).
_UNIT_GROUPS = {"e^2/h": "e^2/h", "e^2/hbar": r"e^2/\hbar", "e2/h": "e^2/h", "e2/hbar": r"e^2/\hbar"}
_MATH_SPECIAL = re.compile(r"([\\$%#&~{}_^])")


def _tex_base(base: str) -> str:
    if base in _UNIT_SYMBOLS:
        return _UNIT_SYMBOLS[base]
    if re.fullmatch(r"[A-Za-z]+", base):
        return rf"\mathrm{{{base}}}"
    return _MATH_SPECIAL.sub(r"\\\1", base)


def mathtext_unit(unit: str | None, wrap: bool = True) -> str:
    """The package's plain unit strings as matplotlib math text.

    ``"hbar nm^-2"`` -> ``$\\hbar\\,\\mathrm{nm}^{-2}$``; powers of one unit are combined
    (``"eV nm nm^-2"`` -> eV nm^-1), "a/b" divides by the one unit after the slash,
    ``e^2/h`` stays one group; ``""``, ``"1"`` and ``"-"`` (dimensionless) give ``""``.
    ``wrap=False`` leaves out the dollar signs. Unknown symbols are set upright."""
    s = (unit or "").strip()
    if s in ("", "1", "-"):
        return ""
    atoms: dict = {}  # key -> [tex, exponent (int or str), written with a slash]

    def add(key, tex, exp, slash):
        if isinstance(exp, str):  # symbolic power: never combined
            atoms[(key, exp, len(atoms))] = [tex, exp, False]
        elif key in atoms:
            atoms[key][1] += exp
            atoms[key][2] = False
        else:
            atoms[key] = [tex, exp, slash]

    for token in s.split():
        if token in _UNIT_GROUPS:
            add(token, _UNIT_GROUPS[token], 1, False)
            continue
        for j, piece in enumerate(token.split("/")):
            base, hat, power = piece.partition("^")
            if not base:
                escaped = _MATH_SPECIAL.sub(r"\\\1", s)
                return f"${escaped}$" if wrap else escaped
            power = power.strip("()") if hat else "1"
            try:
                exp: int | str = int(power)
            except ValueError:
                exp = power
            if base == "1" and exp == 1:
                continue  # "1/nm"
            sign = -1 if j > 0 else 1
            if isinstance(exp, str):
                exp = exp if sign > 0 else f"-({exp})"
            else:
                exp *= sign
            add(base, _tex_base(base), exp, j > 0)
    pos = [(t, e) for t, e, _ in atoms.values() if isinstance(e, str) or e > 0]
    neg = [(t, e, sl) for t, e, sl in atoms.values() if not isinstance(e, str) and e < 0]

    def power(t, e):
        return t if e == 1 else f"{t}^{{{e}}}"

    text = r"\,".join(power(t, e) for t, e in pos)
    if pos and len(neg) == 1 and neg[0][1] == -1 and neg[0][2]:
        text += "/" + neg[0][0]
    elif neg:
        text = r"\,".join([text] * bool(text) + [power(t, e) for t, e, _ in neg])
    if not text:
        return ""
    return f"${text}$" if wrap else text


def _with_unit(text: str, unit: str | None) -> str:
    u = mathtext_unit(unit)
    return f"{text} ({u})" if u else text


_SYMBOLS = {"current": "j", "spin": "s", "pauli": r"\sigma", "orbital": "L", "torque": "T"}


def math_name(name: str) -> str:
    """An operator or quantity name as math text: "s_y" -> $s_y$, "js^z_y" (spin current
    of s_z along y) -> $j^{s_z}_y$, "sigma_x" -> $\\sigma_x$; other names unchanged."""
    m = re.fullmatch(r"j(s|L)\^([xyz])_([xyz])", name)
    if m:
        return f"$j^{{{m[1]}_{m[2]}}}_{m[3]}$"
    m = re.fullmatch(r"(sigma|[A-Za-z])_([xyz]{1,2})", name)
    if m:
        base = r"\sigma" if m[1] == "sigma" else m[1]
        return f"${base}_{m[2]}$" if len(m[2]) == 1 else f"${base}_{{{m[2]}}}$"
    return name


def _symbol(result, quantity: str, index: int) -> str:
    """Math-text symbol of one component of a saved result's quantity."""
    meta = result.quantities[quantity]
    opl = meta.get("operators") or []
    comps = result.components(quantity)
    if index < len(opl) and (not comps or math_name(opl[index]) != opl[index]):
        return math_name(opl[index])
    base = _SYMBOLS.get(quantity)
    comp = comps[index] if index < len(comps) else ""
    if base:
        return f"${base}_{comp}$" if comp else f"${base}$"
    return f"{quantity}_{comp}" if comp else quantity


def _math_label(label: str) -> str:
    """A quantity's label with its brackets typeset: "spin density <s>" -> ... $\\langle s\\rangle$."""
    def sub(m):
        inner = r"\sigma" if m[1] == "sigma" else m[1]
        return rf"$\langle {inner}\rangle$"

    return re.sub(r"<(sigma|[A-Za-z])>", sub, label)


def _component_label(result, quantity: str, index: int) -> str:
    comp = result.components(quantity)[index]
    return f"{quantity}_{comp}" if comp else quantity


def _short_ticks(ax, axis: str = "y"):
    """Scientific offsets (x 1e-4) instead of long tick labels that push the axis label
    out of a fixed margin."""
    try:
        ax.ticklabel_format(axis=axis, style="sci", scilimits=(-2, 3), useMathText=True)
    except AttributeError:  # a log or categorical axis
        pass


def _negligible(values, scale) -> bool:
    return not np.any(np.abs(values) > ZERO_TOL * (scale + 1e-300))


def _part_label(part: str, values, scale) -> str:
    return f"{part} = 0" if part != "total" and _negligible(values, scale) else part


def _transverse(result, quantity: str, index: int) -> bool:
    """A current component normal to the field (a Hall current)."""
    if quantity != "current":
        return False
    field = np.asarray(result.info.get("field", []), float)
    comps = result.components(quantity)
    a = "xyz".index(comps[index]) if index < len(comps) and comps[index] in "xyz" else None
    return a is not None and a < len(field) and np.linalg.norm(field) > 0 \
        and abs(field[a]) <= 1e-12 * np.linalg.norm(field)


# --------------------------------------------------------------------------------------
# Bands by their physics
# --------------------------------------------------------------------------------------

#: Two-band models whose bands are the +/- branches of a spin splitting.
SPIN_SPLIT_KINDS = ("rashba_ferromagnet", "rashba_lattice")
#: Two-band models with a valence (-) and a conduction (+) band.
TWO_BAND_KINDS = ("massive_dirac", "qi_wu_zhang", "haldane")


def band_labels(result) -> dict:
    """{band index: name} of the bands on the Fermi shell of a saved result.

    Bands are indexed by energy at each k (0 lowest). Spin-split two-band models (Rashba
    ferromagnet): "-" and "+" branches, with "outer"/"inner" from the Fermi momenta;
    valence/conduction models (massive Dirac, Qi-Wu-Zhang, Haldane): "-" (valence) and
    "+" (conduction); a single band: "band"; otherwise "band n"."""
    band = np.asarray(result.arrays.get("distribution.band", []), int)
    present = [int(b) for b in np.unique(band)]
    kind = (result.config.get("model") or {}).get("kind")
    if kind in SPIN_SPLIT_KINDS + TWO_BAND_KINDS and set(present) <= {0, 1}:
        sign = {0: "$-$", 1: "$+$"}
        names = {b: f"{sign[b]} band" for b in present}
        if kind in SPIN_SPLIT_KINDS and len(present) == 2 and "distribution.k" in result.arrays:
            kk = np.linalg.norm(np.asarray(result.arrays["distribution.k"], float), axis=1)
            r0, r1 = kk[band == 0].mean(), kk[band == 1].mean()
            if abs(r0 - r1) > 1e-6 * max(r0, r1):
                outer = 0 if r0 > r1 else 1
                names = {b: f"{sign[b]} band ({'outer' if b == outer else 'inner'})" for b in present}
        elif kind in TWO_BAND_KINDS:
            names = {b: f"{sign[b]} ({'valence' if b == 0 else 'conduction'} band)" for b in present}
        return names
    if kind == "parabolic_band" and present == [0]:
        return {0: "band"}
    return {b: f"band {b}" for b in present}


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


def save_figure(fig, path, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` atomically (temporary file in the same folder, then rename).

    The format follows the suffix (.png, .pdf, .svg). Returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def _save_fast(fig, path: Path, dpi: int = 120) -> Path:
    """Like :func:`save_figure` (atomic) but with the fixed margins of the figure instead
    of a tight bounding box, which costs a second full draw."""
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


def _new_figure(ncols: int = 1, nrows: int = 1, size=(4.3, 3.4), polar: bool = False,
                right: float = 0.25, gap: float = 1.3, left: float = 0.95, top: float = 0.6,
                bottom: float = 0.55, width_ratios=None, hgap: float = 1.0, sharey=False):
    """A :class:`matplotlib.figure.Figure` (no pyplot state: safe in worker processes)
    with fixed margins in inches (a tight or constrained layout doubles the drawing
    time). ``size`` is the size of one panel and its share of the gaps."""
    from matplotlib.figure import Figure

    width, height = size[0] * ncols + right, size[1] * nrows
    fig = Figure(figsize=(width, height))
    kw = {"subplot_kw": {"projection": "polar"}} if polar else {}
    if width_ratios is not None:
        kw["gridspec_kw"] = {"width_ratios": list(width_ratios)}
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey, **kw)
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap / max(size[0] - gap, 0.5),
                        hspace=hgap / max(size[1] - hgap, 0.5))
    return fig, axes.ravel()


# --------------------------------------------------------------------------------------
# Profiles across strips and films
# --------------------------------------------------------------------------------------


def _draw_parts(ax, x, values: dict, scale: float, alpha: float | None = None, label: bool = True):
    """One line per part (zero parts at zero, labelled "<part> = 0"); returns the lines."""
    lines = []
    for part, v in values.items():
        style = dict(PART_STYLES[part])
        if alpha is not None:
            style["alpha"] = style.get("alpha", 1.0) * alpha
            style["lw"] = style.get("lw", 1.5) * 0.7
        zero = part != "total" and _negligible(v, scale)
        y = np.zeros_like(x) if zero else np.broadcast_to(v, np.shape(x))
        lines += ax.plot(x, y, label=_part_label(part, v, scale) if label else None, **style)
    return lines


def plot_profile(ax, response, op, parts=PARTS, accumulation: bool = False, scale: float = 1.0,
                 label_unit: str | None = None, legend: bool = True):
    """Plot the contributions to the density of ``op`` across a slab.

    response : :class:`~mesokinetics.SlabResponse`; accumulation : subtract the bulk
    values; scale : multiply densities (e.g. a field strength); walls drawn as grey lines.
    Every part in ``parts`` is drawn; parts that vanish are labelled "<part> = 0"."""
    d = response.accumulation(op) if accumulation else response.density(op)
    y = response.centers
    total = np.broadcast_to(d.total, y.shape) * scale
    values = {p: np.broadcast_to(getattr(d, p), y.shape) * scale for p in parts}
    _draw_parts(ax, y, values, float(np.abs(total).max()))
    for wall in (response.faces[0], response.faces[-1]):
        ax.axvline(wall, color="0.6", lw=1)
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    name = math_name(getattr(op, "name", "o"))
    ax.set_xlabel(f"${'xyz'[response.slab.normal_axis(response.model.dim)]}$ (nm)")
    unit = label_unit or d.unit
    ax.set_ylabel(_with_unit(f"{'accumulation of ' if accumulation else ''}{name}", unit))
    _short_ticks(ax)
    if legend:
        ax.legend(fontsize=8, loc="best", framealpha=0.8)
    return ax


def plot_contributions(ax, result, quantity: str, component: int = 0, accumulation: bool = False,
                       parts=PARTS, show_bulk: bool = True, legend: bool = True):
    """Profiles of each contribution to one component of ``quantity`` across a strip or
    film (a saved :class:`~mesokinetics.io.results.Result`) on a linear axis, with the
    walls as grey lines and the bulk total as a dotted line. ``accumulation`` subtracts
    the bulk values. Parts that vanish are drawn at zero and labelled "<part> = 0"."""
    y = result.centers
    total = result.profile(quantity, "total", accumulation)[:, component]
    scale = float(np.abs(total).max())
    values = {p: result.profile(quantity, p, accumulation)[:, component] for p in parts}
    _draw_parts(ax, y, values, scale)
    if show_bulk and not accumulation:
        ax.axhline(result.bulk(quantity, "total")[component], color="0.4", ls=":", lw=1,
                   label="bulk total")
    for wall in (result.faces[0], result.faces[-1]):
        ax.axvline(wall, color="0.6", lw=1)
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    normal, _ = _axis_names(result)
    ax.set_xlabel(f"${normal}$ (nm)")
    label = _symbol(result, quantity, component)
    ax.set_ylabel(_with_unit(f"{'accumulation of ' if accumulation else ''}{label}", result.unit(quantity)))
    _short_ticks(ax)
    if legend:
        ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return ax


def _mirror(values: np.ndarray, faces: np.ndarray) -> str | None:
    """"even" or "odd" if every row of ``values`` (parts x cells) is (anti)symmetric about
    the centre of a mirror-symmetric mesh, else None."""
    if not np.allclose(faces - faces[0], (faces[-1] - faces[::-1]), rtol=0, atol=1e-9 * faces[-1]):
        return None
    scale = np.abs(values).max() + 1e-300
    if np.abs(values - values[:, ::-1]).max() <= 1e-6 * scale:
        return "even"
    if np.abs(values + values[:, ::-1]).max() <= 1e-6 * scale:
        return "odd"
    return None


def plot_edge(ax, result, quantity: str, component: int = 0, accumulation: bool = False,
              parts=PARTS, walls: str = "both", show_bulk: bool = True, legend: bool = True):
    """The edge region: each contribution against the distance from the wall in units of
    the mean free path l, on a log axis (from the first cell centre to the middle).

    walls : "both" folds the two walls onto one axis (the top wall as thinner, lighter
    lines; only the bottom wall when the profile is symmetric or antisymmetric about the
    centre, said in the legend), or "bottom". Returns the axis."""
    from matplotlib.lines import Line2D

    y, faces = result.centers, result.faces
    mfp = float(result.summary.get("mean_free_path") or (faces[-1] - faces[0]) / 4)
    mid = 0.5 * (faces[0] + faces[-1])
    profs = {p: result.profile(quantity, p, accumulation)[:, component] for p in parts}
    total = result.profile(quantity, "total", accumulation)[:, component]
    scale = float(np.abs(total).max())
    low, high = y < mid, y > mid
    symmetry = _mirror(np.array([profs[p] for p in parts] + [total]), faces) if walls == "both" else None
    _draw_parts(ax, (y[low] - faces[0]) / mfp, {p: v[low] for p, v in profs.items()}, scale)
    extra = []
    if walls == "both" and symmetry is None:
        _draw_parts(ax, (faces[-1] - y[high][::-1]) / mfp,
                    {p: v[high][::-1] for p, v in profs.items()}, scale, alpha=0.5, label=False)
        extra = [Line2D([], [], color="0.3", lw=1.5, label="bottom wall"),
                 Line2D([], [], color="0.3", lw=1.0, alpha=0.5, label="top wall")]
    elif symmetry == "even":
        extra = [Line2D([], [], color="none", label="top wall: mirror image")]
    elif symmetry == "odd":
        extra = [Line2D([], [], color="none", label="top wall: opposite sign")]
    if show_bulk and not accumulation:
        ax.axhline(result.bulk(quantity, "total")[component], color="0.4", ls=":", lw=1,
                   label="bulk total")
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(1.0, color="0.75", lw=0.8, ls="--", zorder=0)
    ax.set_xscale("log")
    ax.set_xlim((y[0] - faces[0]) / mfp * 0.8, (mid - faces[0]) / mfp)
    ax.set_xlabel(rf"distance from the wall / $l$  ($l$ = {mfp:.3g} nm)")
    if legend:
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + extra, fontsize=7, loc="best", framealpha=0.8)
    ax._mk_extra_handles = extra  # for a legend drawn outside by result_figures
    return ax


def plot_accumulation_map(ax, result, quantity: str, component: int = 0, length: float | None = None,
                          part: str = "total", cmap: str = "RdBu_r"):
    """Map of the edge accumulation (``part`` minus its bulk value) of one component of a
    strip or film, extruded along the transport direction as in the ParaView file (the
    data are a profile: prefer :func:`plot_contributions` and :func:`plot_edge`; true maps
    of cross-sections: :func:`plot_section_map`). Walls drawn as black lines, colour scale
    symmetric about zero. Returns the mesh artist."""
    faces = result.faces
    length = float(length or result.config.get("output", {}).get("map_length") or result.geometry["width"])
    values = result.profile(quantity, part, accumulation=True)[:, component]
    vmax = np.abs(values).max() or 1.0
    along = np.array([0.0, length])
    mesh = ax.pcolormesh(along, faces, values[:, None], cmap=cmap,
                         vmin=-vmax, vmax=vmax, shading="flat")
    for wall in (faces[0], faces[-1]):
        ax.axhline(wall, color="k", lw=1.2)
    normal, transport = _axis_names(result)
    ax.set_xlabel(f"${transport}$ (nm), transport direction")
    ax.set_ylabel(f"${normal}$ (nm)")
    label = _symbol(result, quantity, component)
    ax.set_title(f"accumulation of {label}" + ("" if part == "total" else f" ({part})"), fontsize=9)
    cbar = ax.figure.colorbar(mesh, ax=ax)
    cbar.set_label(mathtext_unit(result.unit(quantity)))
    return mesh


def _axis_names(result) -> tuple[str, str]:
    geo = result.geometry
    return "xyz"[geo["normal_axis"]], "xyz"[geo["transport_axis"]]


# --------------------------------------------------------------------------------------
# Maps over cross-sections
# --------------------------------------------------------------------------------------


def _draw_cell_map(ax, polys, centers, values, walls, period, axis_names, title: str,
                   cbar_label: str, accumulation: bool, part: str, cmap, colorbar: bool):
    """The drawing shared by :func:`plot_section_map` (solver results) and
    :func:`plot_result_map` (saved results): one polygon per cell (or a triangulation of
    the centres), the wall segments (B, 2, 2) in black, the edges of a periodic
    coordinate dashed (``period``: [(axis, low, high)]), equal aspect, a colour bar."""
    from matplotlib.collections import LineCollection, PolyCollection

    values = np.asarray(values, float)
    vmax = float(np.abs(values).max()) or 1.0
    both_signs = values.min() < -1e-6 * vmax and values.max() > 1e-6 * vmax
    diverging = accumulation or both_signs or (part != "total" and values.max() <= 0 < -values.min())
    kw = dict(cmap=cmap or ("RdBu_r" if diverging else "viridis"))
    if diverging:
        kw.update(clim=(-vmax, vmax))
    if polys is not None:
        coll = PolyCollection(polys, array=values, edgecolors="face", linewidths=0.3, **kw)
        ax.add_collection(coll)
    else:  # no cell polygons: triangulate the centres
        c = np.asarray(centers)
        coll = ax.tripcolor(c[:, 0], c[:, 1], values, shading="flat", **kw)
    if walls is not None:
        ax.add_collection(LineCollection(np.asarray(walls), colors="k", linewidths=1.4))
    for axis, low, high in period:
        for edge in (low, high):
            (ax.axvline if axis == 0 else ax.axhline)(edge, color="0.4", lw=1, ls="--")
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_xlabel(f"${axis_names[0]}$ (nm)")
    ax.set_ylabel(f"${axis_names[1]}$ (nm)")
    ax.set_title(title, fontsize=9)
    if colorbar:
        cbar = ax.figure.colorbar(coll, ax=ax, shrink=0.9)
        cbar.set_label(cbar_label)
    return coll


def plot_section_map(result, op, part: str = "total", ax=None, accumulation: bool = False,
                     cmap: str | None = None, walls: bool = True, colorbar: bool = True):
    """True 2D map of one contribution to the density of ``op`` over the cells of a
    cross-section (:class:`~mesokinetics.SectionResponse` of
    :func:`~mesokinetics.solve_cross_section`, or
    :class:`~mesokinetics.PeriodicStripResponse` of
    :func:`~mesokinetics.solve_periodic_strip`).

    One polygon per cell (``result.mesh.cell_vertices``), the walls (boundary faces)
    drawn in black, periodic edges dashed, the axes labelled with the section's own
    coordinates (nm, equal aspect) and a colour bar with the unit. The colour scale is
    symmetric about zero (``RdBu_r``) when the values change sign or for
    ``accumulation=True``, sequential (``viridis``) otherwise. ``ax`` : an axis (a new
    figure if None). Returns the axis; the cell polygons are ``ax.collections[0]``.
    Saved results (``mesokinetics run`` of a wire or periodic strip): :func:`plot_result_map`."""
    from .operators import as_operator

    mesh = result.mesh
    if ax is None:
        fig, (ax,) = _new_figure(size=(4.6, 4.0), right=1.3, left=0.8)
    op = as_operator(op, result.model)
    d = result.accumulation(op) if accumulation else result.density(op)
    values = np.asarray(np.broadcast_to(getattr(d, part), (mesh.cells,)), float)
    polys = None
    if mesh.vertices is not None and mesh.cell_vertices is not None:
        polys = [np.asarray(mesh.vertices)[list(cv)] for cv in mesh.cell_vertices]
    segments = None
    if walls:
        b = mesh.boundary
        t = np.stack([-mesh.normals[b, 1], mesh.normals[b, 0]], axis=1) * (0.5 * mesh.areas[b])[:, None]
        fc = mesh.face_centers[b]
        segments = np.stack([fc - t, fc + t], axis=1)
    period = []
    if mesh.period is not None and mesh.vertices is not None:
        v = np.asarray(mesh.vertices)
        period = [(i, v[:, i].min(), v[:, i].max()) for i, per in enumerate(mesh.period) if per and per > 0]
    name = math_name(op.name)
    what = f"accumulation of {name}" if accumulation else name
    _draw_cell_map(ax, polys, mesh.centers, values, segments, period,
                   ["xyz"[i] for i in mesh.axes], what + ("" if part == "total" else f", {part}"),
                   _with_unit(name, d.unit), accumulation, part, cmap, colorbar)
    return ax


def plot_result_map(result, quantity: str, component: int = 0, part: str = "total", ax=None,
                    accumulation: bool = False, cmap: str | None = None, colorbar: bool = True,
                    zero: bool = False):
    """Map of one component and contribution of a saved wire or periodic-strip result
    (:class:`~mesokinetics.io.results.Result`, e.g. ``mesokinetics.load_result(folder)``):
    the same drawing as :func:`plot_section_map`, from the arrays of the result folder
    (``map.<quantity>.<part>``, ``mesh.*``), walls in black, the section's own axes.
    ``zero``: draw the contribution at zero, titled "<part> = 0" (a vanishing term)."""
    if ax is None:
        fig, (ax,) = _new_figure(size=(4.6, 4.0), right=1.3, left=0.8)
    a, geo = result.arrays, result.geometry
    values = result.map(quantity, part, accumulation=accumulation)[:, component]
    polys = None
    if "mesh.vertices" in a:
        v, flat, off = a["mesh.vertices"], a["mesh.cell_vertices"], a["mesh.cell_offsets"]
        polys = [v[flat[off[j]:off[j + 1]]] for j in range(len(off) - 1)]
    period = []
    if geo.get("period") and "mesh.vertices" in a:
        v = a["mesh.vertices"]
        period = [(i, v[:, i].min(), v[:, i].max()) for i, per in enumerate(geo["period"]) if per and per > 0]
    symbol = _symbol(result, quantity, component)
    what = f"accumulation of {symbol}" if accumulation else symbol
    if zero:
        values = np.zeros_like(values)
    title = what + ("" if part == "total" else f", {part}") + (" = 0" if zero else "")
    _draw_cell_map(ax, polys, a["mesh.centers"], values, a.get("mesh.walls"), period,
                   geo.get("axis_names", ["a", "b"]), title,
                   _with_unit(symbol, result.unit(quantity)), accumulation or zero, part, cmap,
                   colorbar)  # a zero map on the symmetric scale: white, aligned with the others
    return ax



# --------------------------------------------------------------------------------------
# The distribution on the Fermi surface
# --------------------------------------------------------------------------------------


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
    slab results) for each band (named by :func:`band_labels`): radius 1 + g / (2 scale),
    scale = max |g| by default, so the unit circle (dashed) is g = 0 and the plot shows
    the shifted Fermi surface. The angle is the direction of k in the plane of the
    transport axis and the wall normal (3D: the shell points nearest to that plane).
    Returns the scale (eV)."""
    g = result.arrays["distribution.g"]
    band = result.arrays["distribution.band"]
    if g.ndim == 2:
        centers = result.centers
        j = int(np.argmin(np.abs(centers - (centers[0] if depth is None else depth))))
        g = g[:, j]
        mfp = result.summary.get("mean_free_path")
        dist = centers[j] - result.faces[0]
        title = f"${_axis_names(result)[0]}$ = {centers[j]:.3g} nm" + (
            f" = {dist / mfp:.2g} $l$" if mfp else "")
    else:
        title = "uniform sample"
    angle, mask = _distribution_plane(result)
    scale = float(scale or np.abs(g[mask]).max() or 1.0)
    names = band_labels(result)
    circle = np.linspace(0, 2 * np.pi, 181)
    ax.plot(circle, np.ones_like(circle), color="0.6", ls="--", lw=0.8)
    for i, b in enumerate(np.unique(band[mask])):
        sel = mask & (band == b)
        order = np.argsort(angle[sel])
        th, r = angle[sel][order], 1 + g[sel][order] / (2 * scale)
        style = "-" if len(np.unique(np.round(th, 12))) == len(th) else "none"
        ax.plot(np.append(th, th[:1]) if style == "-" else th, np.append(r, r[:1]) if style == "-" else r,
                marker=".", ms=3, ls=style, lw=1, color=f"C{i}", label=names.get(int(b), f"band {b}"))
    ax.set_ylim(0, 1.6)
    ax.set_yticklabels([])
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, loc="lower left", bbox_to_anchor=(-0.15, -0.15))
    return scale


# --------------------------------------------------------------------------------------
# Uniform samples
# --------------------------------------------------------------------------------------


def plot_bulk_component(ax, result, quantity: str, component: int = 0):
    """Bars of the contributions to one component of ``quantity`` in the bulk, each on
    its own axis (so a small Hall current is not hidden beside a large longitudinal
    one); vanishing parts are named "<part> = 0" on the axis."""
    vals = np.array([result.bulk(quantity, p)[component] for p in PARTS])
    scale = float(abs(vals[-1]) or np.abs(vals).max())
    x = np.arange(len(PARTS))
    for i, part in enumerate(PARTS):
        style = PART_STYLES[part]
        v = 0.0 if part != "total" and _negligible(vals[i], scale) else vals[i]
        ax.bar(x[i], v, 0.7, label=_part_label(part, vals[i], scale), color=style["color"],
               edgecolor="k" if part == "total" else "none", lw=0.5)
    ax.set_xticks(x, [_part_label(p, vals[i], scale) for i, p in enumerate(PARTS)], fontsize=7,
                  rotation=30, ha="right", rotation_mode="anchor")
    ax.axhline(0.0, color="0.5", lw=0.8)
    sym = _symbol(result, quantity, component)
    ax.set_ylabel(_with_unit(sym, result.unit(quantity)))
    _short_ticks(ax)
    if _transverse(result, quantity, component):
        ax.set_title(f"{sym}: Hall current ($\\perp E$)", fontsize=9, pad=13)
    elif quantity == "current":
        ax.set_title(f"{sym}: along $E$", fontsize=9, pad=13)
    else:
        ax.set_title(f"{sym}", fontsize=9, pad=13)
    return ax


def plot_bulk_contributions(ax, result, quantity: str):
    """Grouped bars: the contributions to each component of ``quantity`` in the bulk, on
    one axis (see :func:`plot_bulk_component` for one axis per component)."""
    comps = result.components(quantity)
    x = np.arange(max(len(comps), 1))
    width = 0.8 / len(PARTS)
    total = np.abs(result.bulk(quantity, "total")).max()
    for i, part in enumerate(PARTS):
        style = PART_STYLES[part]
        vals = result.bulk(quantity, part)
        ax.bar(x + (i - 2) * width, vals, width, label=_part_label(part, vals, total),
               color=style["color"], edgecolor="k" if part == "total" else "none", lw=0.5)
    ax.set_xticks(x, [_symbol(result, quantity, i) for i in range(len(x))])
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylabel(_with_unit(quantity, result.unit(quantity)))
    ax.legend(fontsize=7, loc="best", framealpha=0.8)
    return ax


# --------------------------------------------------------------------------------------
# The standard figures of a result folder
# --------------------------------------------------------------------------------------


def _kept_components(result, quantity: str, arrays) -> tuple[list[int], list[int]]:
    """(components drawn, components that vanish in every part)."""
    ncomp = arrays[0].shape[-1]
    scale = max(float(np.abs(a).max()) for a in arrays)
    keep = [i for i in range(ncomp) if not _negligible(np.concatenate([np.ravel(a[..., i]) for a in arrays]),
                                                       scale)]
    return keep or [0], [i for i in range(ncomp) if i not in (keep or [0])]


def _zero_note(result, quantity: str, zero: list[int]) -> str:
    return ("; " + ", ".join(_symbol(result, quantity, i) for i in zero) + " = 0") if zero else ""


def profile_figure(result, quantity: str):
    """The figure ``profile_<quantity>.png`` of a strip or film: one row per component
    that does not vanish, the full width (linear axis) beside the edge (distance from the
    wall in units of l, log axis), one legend per row outside the axes."""
    keep, zero = _kept_components(result, quantity, [result.profile(quantity, p) for p in PARTS])
    fig, axes = _new_figure(2, len(keep), size=(4.1, 3.0), right=1.75, gap=0.3, top=0.7,
                            bottom=0.6, hgap=0.75, width_ratios=(1.15, 1.0), sharey="row")
    for row, i in enumerate(keep):
        full, edge = axes[2 * row], axes[2 * row + 1]
        plot_contributions(full, result, quantity, i, legend=False)
        plot_edge(edge, result, quantity, i, legend=False)
        edge.tick_params(labelleft=False)
        handles, _ = edge.get_legend_handles_labels()
        edge.legend(handles=handles + edge._mk_extra_handles, fontsize=7, loc="upper left",
                    bbox_to_anchor=(1.03, 1.0), frameon=False, borderaxespad=0.0)
        if row < len(keep) - 1:
            full.set_xlabel("")
            edge.set_xlabel("")
    label = _math_label(result.quantities[quantity]["label"])
    fig.suptitle(f"{result.name}: {label}{_zero_note(result, quantity, zero)}", fontsize=10)
    return fig


def bulk_figure(result):
    """The figure ``contributions.png`` of a uniform sample: one row per quantity, one
    bar panel per component that does not vanish (a Hall current on its own axis)."""
    panels, notes = [], []
    for q in result.quantities:
        keep, zero = _kept_components(result, q, [result.bulk(q, p) for p in PARTS])
        panels.append((q, keep))
        notes.append(_zero_note(result, q, zero).lstrip("; "))
    ncols = max(len(k) for _, k in panels)
    fig, axes = _new_figure(ncols, len(panels), size=(3.3, 3.1), gap=1.15, hgap=1.35, top=0.75,
                            left=0.9, bottom=0.85)
    for row, (q, keep) in enumerate(panels):
        for col in range(ncols):
            ax = axes[row * ncols + col]
            if col < len(keep):
                plot_bulk_component(ax, result, q, keep[col])
            else:
                ax.set_visible(False)
    note = "; ".join(n for n in notes if n)
    fig.suptitle(f"{result.name}: contributions in the bulk" + (f" ({note})" if note else ""), fontsize=10)
    return fig


def distribution_figure(result):
    """The figure ``distribution.png``: g_n(k) at output.depths (slabs: by default the
    wall, one mean free path and the centre) or in the uniform sample."""
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
    fig, axes = _new_figure(len(depths), size=(3.4, 3.6), polar=True, right=0.45)
    for ax, depth in zip(axes, depths):
        plot_distribution(ax, result, depth, scale)
    fig.suptitle(f"{result.name}: $g_n(k)$ on the Fermi surface, radius $1 + g/(2 \\times {scale:.3g}$ eV$)$",
                 fontsize=9)
    return fig


def map_figure(result, quantity: str):
    """The figure ``map_<quantity>.png`` of a wire cross-section or a periodic strip: one
    row per component that does not vanish, one column per contribution (total first,
    then intraband, intrinsic, gradient, disorder; a contribution that vanishes in every
    component gets no column and is named in the title, e.g. "intrinsic = 0"), each panel
    a map on the section's own mesh with the walls in black and its own colour bar."""
    maps = {p: result.map(quantity, p) for p in PARTS}
    keep, zero = _kept_components(result, quantity, list(maps.values()))
    scale = float(np.abs(maps["total"]).max()) or 1.0
    parts = ["total"] + [p for p in PARTS[:-1] if not _negligible(maps[p][:, keep], scale)]
    vanishing = [p for p in PARTS[:-1] if p not in parts]
    ext = result.geometry.get("extent") or [1.0, 1.0]
    aspect = min(max(ext[1] / ext[0], 0.2), 2.0) if ext[0] > 0 else 1.0
    fig, axes = _new_figure(len(parts), len(keep), size=(4.4, 1.1 + 3.0 * aspect), right=0.9,
                            gap=1.75, hgap=0.95, top=0.75, left=0.75, bottom=0.6)
    for row, i in enumerate(keep):
        row_scale = max(float(np.abs(maps[p][:, i]).max()) for p in PARTS) or 1.0
        for col, part in enumerate(parts):
            ax = axes[row * len(parts) + col]
            if part != "total" and _negligible(maps[part][:, i], row_scale):
                # rounding noise of a term that vanishes for this component: drawn at
                # zero and named, as in the profile figures
                plot_result_map(result, quantity, i, part, ax=ax, zero=True)
            else:
                plot_result_map(result, quantity, i, part, ax=ax)
    label = _math_label(result.quantities[quantity]["label"])
    notes = _zero_note(result, quantity, zero) + ("; " + ", ".join(f"{p} = 0" for p in vanishing)
                                                  if vanishing else "")
    fig.suptitle(f"{result.name}: {label}{notes}", fontsize=10)
    return fig


def result_figures(result, folder, png: bool = True, pdf: bool = False) -> list[Path]:
    """The standard figures of a result, written into ``folder``:

    strip or film: ``profile_<quantity>.png`` (:func:`profile_figure`: every contribution
    across the full width beside the edge on a log axis in units of l) and
    ``distribution.png`` (g_n on the Fermi surface at output.depths); uniform:
    ``contributions.png`` (:func:`bulk_figure`: one bar panel per component, Hall
    currents on their own axis) and ``distribution.png``; wire cross-section or periodic
    strip: ``map_<quantity>.png`` (:func:`map_figure`: maps of every contribution that
    does not vanish, walls drawn; no distribution figure). Components that vanish in every
    contribution are left out and named in the title ("s_x = 0"); vanishing contributions
    are drawn and named ("gradient = 0"). Cross-section maps: :func:`plot_section_map`."""
    folder = Path(folder)
    written: list[Path] = []
    if result.is_slab:
        for q in result.quantities:
            written += _write(profile_figure(result, q), folder, f"profile_{q}", png, pdf)
    elif result.is_section:
        for q in result.quantities:
            written += _write(map_figure(result, q), folder, f"map_{q}", png, pdf)
    elif result.quantities:
        written += _write(bulk_figure(result), folder, "contributions", png, pdf)
    if "distribution.g" in result.arrays:
        written += _write(distribution_figure(result), folder, "distribution", png, pdf)
    return written


# --------------------------------------------------------------------------------------
# Sweeps
# --------------------------------------------------------------------------------------

#: Keys whose sweep is drawn against d/l (the summary column width_over_mfp).
D_OVER_L_KEYS = ("geometry.width", "disorder.mean_free_path", "disorder.tau", "disorder.gamma")

_SCALAR_NAMES = {
    "conductance_ratio": r"$G/G_\mathrm{bulk}$", "sheet_conductance": "sheet conductance",
    "conductance_per_length": r"$GL = I/E$", "sigma_parallel": r"$\sigma_\parallel$",
    "mean_free_path": "$l$", "width_over_mfp": "$d/l$", "gamma": r"$\gamma$",
}


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
        lab = label if group is None else f"{group.rsplit('.', 1)[-1]} = {g}"
        ax.plot(xs, ys, marker="o", ms=3, label=lab, **({"color": f"C{i}"} if group else {}), **style)
    if xlog:
        ax.set_xscale("log")
    return ax


def _quantity_symbol(base: str) -> str:
    """Math text of a summary column base: "spin_y" -> $s_y$, "spin_current_z_y" ->
    $j^{s_z}_y$; other names unchanged."""
    m = re.fullmatch(r"(spin|orbital)_current_([xyz])_([xyz])", base)
    if m:
        return f"$j^{{{'s' if m[1] == 'spin' else 'L'}_{m[2]}}}_{m[3]}$"
    q, _, comp = base.rpartition("_")
    if q in _SYMBOLS and comp in ("x", "y", "z"):
        return f"${_SYMBOLS[q]}_{comp}$"
    return _SYMBOLS.get(base, base) if base in ("torque",) else base


def _sweep_base(config, folder: Path) -> dict | None:
    if config is not None:
        return getattr(config, "data", config)
    try:
        import json

        return json.loads((folder / "sweep.json").read_text()).get("base")
    except (OSError, ValueError, AttributeError):
        return None


def fuchs_sondheimer_form(base: dict | None):
    """The Fuchs-Sondheimer closed form that holds for a sweep's base configuration, as
    (function(kappa, p), label), or None: a film of a 3D parabolic band
    (:func:`~mesokinetics.reference.fuchs_sondheimer_ratio`) or a strip of a 2D one
    (:func:`~mesokinetics.reference.fuchs_sondheimer_ratio_2d`), with the same constant
    specularity p on both walls (Fuchs walls, no roughness), T = 0."""
    from . import reference

    if not base:
        return None
    model, geo = base.get("model", {}), base.get("geometry", {})
    dim = int(model.get("dim", 3))
    if model.get("kind") != "parabolic_band" or (dim, geo.get("kind")) not in ((3, "film"), (2, "strip")):
        return None
    if float((base.get("conditions") or {}).get("temperature", 0.0) or 0.0) != 0.0:
        return None
    walls = [geo.get(s) for s in ("bottom", "top")]
    if any(w is not None for w in walls):
        if any(w is None or "roughness" in w for w in walls):
            return None
        if float(walls[0].get("specularity", 0.0)) != float(walls[1].get("specularity", 0.0)):
            return None
    if dim == 3:
        return reference.fuchs_sondheimer_ratio, "Fuchs-Sondheimer"
    fn = getattr(reference, "fuchs_sondheimer_ratio_2d", None)
    return (fn, "Fuchs-Sondheimer (2D)") if fn is not None else None


def fuchs_sondheimer_applies(base: dict | None) -> bool:
    """Whether :func:`fuchs_sondheimer_form` has a closed form for ``base``."""
    return fuchs_sondheimer_form(base) is not None


def _specularity(base: dict, row: dict) -> float:
    if "geometry.specularity" in row:
        return float(row["geometry.specularity"])
    geo = base.get("geometry", {})
    if "geometry.bottom.specularity" in row:
        return float(row["geometry.bottom.specularity"])
    return float((geo.get("bottom") or geo).get("specularity", 0.0))


def sweep_figures(rows, keys, units, folder, png: bool = True, pdf: bool = False,
                  xlog: bool = False, config=None) -> list[Path]:
    """``sweep.png`` (:func:`sweep_figure`) in ``folder``; ``config`` : the base
    configuration (default: read from ``folder/sweep.json``). Returns the paths."""
    folder = Path(folder)
    fig = sweep_figure(rows, keys, units, xlog=xlog, config=_sweep_base(config, folder))
    return [] if fig is None else _write(fig, folder, "sweep", png, pdf)


def sweep_figure(rows, keys, units, xlog: bool = False, config=None):
    """Every summary value versus the first varied key (one curve per value of the
    second key, if any); None if the first key is not numeric.

    A sweep of the width or of the mean free path is drawn against d/l (width / mean free
    path, the summary column ``width_over_mfp``; log axis when the sweep is log-spaced).
    The conductance ratio of a parabolic band with constant p carries the
    Fuchs-Sondheimer closed form (dashed; :func:`fuchs_sondheimer_form`: 3D films and 2D
    strips; ``config`` : the base configuration as a dict or Config). Values
    that do not change over the sweep get no panel; they are listed at the bottom. Slab
    results show bulk, wall, centre and mean per component; uniform results the
    contributions."""
    if not rows:
        return None
    x = keys[0]
    group = keys[1] if len(keys) > 1 else None
    try:
        [float(r[x]) for r in rows]
    except (TypeError, ValueError):
        return None  # non-numeric first key: no curves
    xlabel = _with_unit(f"${x}$" if "." not in x else x, units.get(x, ""))
    if x in D_OVER_L_KEYS and all(r.get("width_over_mfp") not in (None, "") for r in rows):
        x, xlabel = "width_over_mfp", "$d/l$ (width / mean free path)"
    base = getattr(config, "data", config)
    columns = [c for c in rows[0] if c not in keys and c != "point" and "." in c]
    scalars = [c for c in ("conductance_ratio", "conductance_per_length", "sheet_conductance",
                           "sigma_parallel", "mean_free_path") if c in rows[0]]
    if "conductance_per_length" in scalars and "sheet_conductance" in scalars:
        a = np.array([float(r["conductance_per_length"]) for r in rows])
        b = np.array([float(r["sheet_conductance"]) for r in rows])
        if np.allclose(a, b, rtol=1e-12, atol=0):
            scalars.remove("conductance_per_length")  # the same number (a film)
    bases = []
    for c in columns:
        b = c.rsplit(".", 1)[0]
        if b not in bases:
            bases.append(b)
    constant: list[str] = []

    def flat(cols) -> bool:
        vals = np.array([[float(r[c]) for c in cols] for r in rows], float)
        span = np.nanmax(vals) - np.nanmin(vals)
        return bool(span <= 1e-9 * (np.nanmax(np.abs(vals)) + 1e-300))

    panels = []
    for s in scalars:
        if s != x and flat([s]):
            u = mathtext_unit(units.get(s, ""))
            constant.append(f"{_SCALAR_NAMES.get(s, s)} = {float(rows[0][s]):.4g}" + (f" {u}" if u else ""))
        elif s != x:
            panels.append((s, [s]))
    scale: dict[str, float] = {}  # largest value per unit: components of one quantity
    for c in columns:
        vals = np.abs([float(r[c]) for r in rows])
        scale[units.get(c, "")] = max(scale.get(units.get(c, ""), 0.0), float(vals.max()))
    for b in bases:
        cols = [c for c in columns if c.rsplit(".", 1)[0] == b]
        vals = np.array([[float(r[c]) for c in cols] for r in rows])
        if np.abs(vals).max() <= 1e-9 * scale.get(units.get(cols[0], ""), 0.0) or np.all(vals == 0):
            continue  # a component that vanishes by symmetry (rounding noise)
        if flat(cols):
            u = mathtext_unit(units.get(cols[0], ""))
            constant.append(f"{b} = {float(rows[0][cols[0]]):.4g}" + (f" {u}" if u else ""))
            continue
        if group:  # one curve per group value: show the wall value (slabs) or the total
            pick = [c for c in cols if c.endswith((".wall", ".total"))] or cols[:1]
            cols = pick[:1]
        panels.append((b, cols))
    if not panels:
        panels = [(scalars[0], scalars[:1])] if scalars else [(bases[0], [c for c in columns
                                                                          if c.startswith(bases[0])])]
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = _new_figure(ncols, nrows, size=(4.0, 3.1), gap=1.2, hgap=1.0,
                            bottom=0.55 + 0.25 * bool(constant))
    fs = fuchs_sondheimer_form(base) if "conductance_ratio" in rows[0] else None
    for ax, (title, cols) in zip(axes, panels):
        for j, c in enumerate(cols):
            style = dict(PART_STYLES.get(c.rsplit(".", 1)[-1], {"color": f"C{j}"}))
            style.pop("lw", None)
            style.pop("zorder", None)
            if group:
                plot_sweep(ax, rows, x, c, group, xlog)
                break
            plot_sweep(ax, rows, x, c, None, xlog, label=c.rsplit(".", 1)[-1] if len(cols) > 1 else
                       ("solver" if title == "conductance_ratio" and fs else None), **style)
        if title == "conductance_ratio" and fs:
            _draw_fuchs_sondheimer(ax, rows, x, group, base, xlog, *fs)
        if title == "conductance_ratio":
            ax.axhline(1.0, color="0.8", lw=0.8, zorder=0)
        if xlog and len(cols) == 1:  # an extensive quantity over decades: log axis too
            v = np.array([float(r[cols[0]]) for r in rows], float)
            if np.all(v > 0) and v.max() > 30 * v.min():
                ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        if title == "sheet_conductance" and "nm" in units.get(title, ""):
            name = r"$GL = I/E$"  # a 2D strip: the width integral of sigma, not per square
            title = "conductance x length"
        elif title in _SCALAR_NAMES:
            name = _SCALAR_NAMES[title]
        else:
            name = _quantity_symbol(title)
        ax.set_ylabel(_with_unit(name, units.get(cols[0], "")), fontsize=8)
        if ax.get_yscale() == "linear":
            _short_ticks(ax)
        ax.set_title(title.replace("_", " ") if title in _SCALAR_NAMES or " " in title else name, fontsize=9, pad=13)
        handles, labels = ax.get_legend_handles_labels()
        if any(lab and not lab.startswith("_") for lab in labels):
            ax.legend(fontsize=6, loc="best", framealpha=0.8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if constant:
        fig.text(0.01, 0.01, "constant over the sweep: " + ", ".join(constant), fontsize=7, color="0.3")
    title = base.get("name") if isinstance(base, dict) else None
    if title:
        fig.suptitle(f"{title}: sweep of {keys[0]}" + (f" and {group}" if group else ""), fontsize=10)
    return fig


def _draw_fuchs_sondheimer(ax, rows, x: str, group, base: dict, xlog: bool, ratio, name: str):
    """The closed form ``ratio(kappa, p)`` (dashed, one curve per p) over the range of d/l."""

    kappa = np.array([float(r["width_over_mfp"]) for r in rows])
    lo, hi = kappa.min(), kappa.max()
    ks = np.geomspace(lo, hi, 60) if (xlog or hi / lo > 20) and lo > 0 else np.linspace(lo, hi, 60)
    if x != "width_over_mfp":
        xs_of = dict(zip(kappa, [float(r[x]) for r in rows]))
        order = np.argsort(list(xs_of))
        kk, xx = np.array(list(xs_of))[order], np.array(list(xs_of.values()))[order]
        xs = np.interp(ks, kk, xx)
    else:
        xs = ks
    ps = {}
    for r in rows:
        ps.setdefault(r.get(group) if group else None, _specularity(base, r))
    for i, (g, p) in enumerate(ps.items()):
        if not 0 <= p <= 1:
            continue
        ys = [ratio(float(k), p) for k in ks]
        lab = name + (f", p = {p:g}" if group else "")
        ax.plot(xs, ys, color=f"C{i}" if group else "k", ls="--", lw=1, label=lab, zorder=3)
