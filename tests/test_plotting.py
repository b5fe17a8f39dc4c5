"""Figures that show the physics (issue 16): every contribution drawn and the vanishing
ones named "= 0", an edge panel on a log axis in units of l, true maps on section meshes,
Hall currents on their own axis, sweeps against d/l with the closed form, units as math
text, bands by their physics; and the conductance per length of strips and films.

Tiny solves (few cells and angles); figures are built on the Agg backend and never shown.
"""

import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import mesokinetics as mk  # noqa: E402
from mesokinetics import operators as ops  # noqa: E402
from mesokinetics import plotting  # noqa: E402
from mesokinetics.models import ParabolicBand, RashbaFerromagnet  # noqa: E402
from mesokinetics.plotting import mathtext_unit  # noqa: E402
from mesokinetics.reference import fuchs_sondheimer_ratio, fuchs_sondheimer_ratio_2d  # noqa: E402

PARTS = ("intraband", "intrinsic", "gradient", "disorder")
STRIP = ["numerics.angles=16", "numerics.cells=12", "output.png=false", "output.vtk=false"]


@pytest.fixture(scope="module")
def strip():
    """The README's Rashba strip (W = 10 l, diffuse walls), reduced."""
    return mk.run(mk.load_config("rashba_strip", STRIP))


@pytest.fixture(scope="module")
def dirac():
    return mk.run(mk.load_config("massive_dirac_bulk", ["numerics.angles=16", "output.png=false"]))


def labels(ax):
    return ax.get_legend_handles_labels()[1]


# --- units as math text ----------------------------------------------------------------

@pytest.mark.parametrize("plain, tex", [
    ("hbar nm^-2", r"$\hbar\,\mathrm{nm}^{-2}$"),
    ("eV nm nm^-2", r"$\mathrm{eV}\,\mathrm{nm}^{-1}$"),          # powers combined
    ("|e| eV nm/hbar nm^-2", r"$|e|\,\mathrm{eV}\,\mathrm{nm}^{-1}\,\hbar^{-1}$"),
    ("eV nm/hbar", r"$\mathrm{eV}\,\mathrm{nm}/\hbar$"),
    ("e^2/h", "$e^2/h$"),
    ("e^2/h nm", r"$e^2/h\,\mathrm{nm}$"),
    ("e^2/h nm^-1", r"$e^2/h\,\mathrm{nm}^{-1}$"),
    ("e^2/hbar nm^(3-d)", r"$e^2/\hbar\,\mathrm{nm}^{3-d}$"),
    ("eV^2 nm^d", r"$\mathrm{eV}^{2}\,\mathrm{nm}^{d}$"),
    ("V/nm", r"$\mathrm{V}/\mathrm{nm}$"),
    ("1/nm", r"$\mathrm{nm}^{-1}$"),
    ("nm", r"$\mathrm{nm}$"),
    ("m_e", r"$m_\mathrm{e}$"),
    ("1", ""), ("", ""), ("-", ""),
])
def test_mathtext_unit(plain, tex):
    assert mathtext_unit(plain) == tex
    if tex:  # matplotlib's own parser accepts it
        from matplotlib.mathtext import MathTextParser

        MathTextParser("path").parse(tex)
        assert mathtext_unit(plain, wrap=False) == tex[1:-1]


def test_names_as_math_text():
    assert plotting.math_name("s_y") == "$s_y$"
    assert plotting.math_name("sigma_x") == r"$\sigma_x$"
    assert plotting.math_name("v_xy") == "$v_{xy}$"
    assert plotting.math_name("js^z_y") == "$j^{s_z}_y$"
    assert plotting.math_name("P[0]") == "P[0]"


# --- profiles across strips ------------------------------------------------------------

def test_every_contribution_in_the_legend_zero_parts_named(strip):
    fig, axes = plotting._new_figure(2)
    spin_y = plotting.plot_contributions(axes[0], strip, "spin", 1)
    spin_z = plotting.plot_contributions(axes[1], strip, "spin", 2)
    for ax in (spin_y, spin_z):
        got = labels(ax)
        for part in PARTS:
            assert part in got or f"{part} = 0" in got, (part, got)
        assert "total" in got
    # the Edelstein density is intraband, the edge s_z is the gradient term of Eq. (1)
    assert "intraband" in labels(spin_y) and "gradient = 0" in labels(spin_y)
    assert "gradient" in labels(spin_z) and "intraband = 0" in labels(spin_z)
    assert spin_y.get_ylabel() == r"$s_y$ ($\hbar\,\mathrm{nm}^{-2}$)"


def test_edge_panel_log_axis_in_units_of_l(strip):
    fig, (ax,) = plotting._new_figure()
    plotting.plot_edge(ax, strip, "spin", 2)
    mfp = strip.summary["mean_free_path"]
    assert ax.get_xscale() == "log"
    assert "/ $l$" in ax.get_xlabel() and f"{mfp:.3g} nm" in ax.get_xlabel()
    x = np.concatenate([line.get_xdata() for line in ax.get_lines() if len(line.get_xdata()) > 2])
    centers, faces = strip.centers, strip.faces
    assert x.min() == pytest.approx((centers[0] - faces[0]) / mfp)
    assert x.max() <= 0.5 * (faces[-1] - faces[0]) / mfp
    # s_z is odd about the centre: one wall shown, the other named
    assert "top wall: opposite sign" in labels(ax) + [h.get_label() for h in ax._mk_extra_handles]


def test_profile_figure_pairs_full_width_and_edge(strip, tmp_path):
    fig = plotting.profile_figure(strip, "spin")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4  # s_y and s_z (s_x = 0 named in the title), full + edge each
    assert [ax.get_xscale() for ax in visible] == ["linear", "log"] * 2
    assert "$s_x$ = 0" in fig._suptitle.get_text()
    written = plotting.result_figures(strip, tmp_path)
    names = sorted(p.name for p in written)
    assert "profile_spin.png" in names and "distribution.png" in names
    assert not any(n.startswith("map_") for n in names)  # no extruded profiles


def test_bands_named_by_their_physics(strip, dirac):
    assert plotting.band_labels(strip) == {0: "$-$ band (outer)", 1: "$+$ band (inner)"}
    assert plotting.band_labels(dirac) == {1: "$+$ (conduction band)"}
    fig, (ax,) = plotting._new_figure(polar=True)
    plotting.plot_distribution(ax, strip, 0.0)
    assert labels(ax) == ["$-$ band (outer)", "$+$ band (inner)"]


# --- uniform samples: the Hall current on its own axis ---------------------------------

def test_hall_current_on_its_own_axis(dirac):
    fig = plotting.bulk_figure(dirac)
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    hall = [t for t in axes if "Hall" in t]
    assert hall == ["$j_y$: Hall current ($\\perp E$)"]
    ax = axes[hall[0]]
    assert ax is not axes["$j_x$: along $E$"]
    heights = [p.get_height() for p in ax.patches]
    assert heights[-1] == pytest.approx(dirac.bulk("current", "total")[1])  # j_y alone
    assert max(abs(h) for h in heights) < 0.1 * abs(dirac.bulk("current", "total")[0])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "gradient = 0" in ticks and "intrinsic" in ticks and "disorder" in ticks


# --- sweeps ----------------------------------------------------------------------------

def _film_rows(p=0.0, flat_key=True):
    rows = []
    for i, k in enumerate(np.geomspace(0.1, 10, 5)):
        rows.append({"point": i, "geometry.width": 10 * k, "width_over_mfp": k,
                     "conductance_ratio": fuchs_sondheimer_ratio(k, p) * (1 + 1e-3),
                     "sheet_conductance": 5.0 * k, "sigma_parallel": 5.0,
                     "mean_free_path": 10.0, "current_x.bulk": 1.0, "current_x.wall": 0.5 * k})
    return rows


FILM = {"name": "film", "model": {"kind": "parabolic_band", "dim": 3},
        "geometry": {"kind": "film", "specularity": 0.0}, "conditions": {"temperature": 0.0}}
UNITS = {"conductance_ratio": "1", "sheet_conductance": "e^2/h", "sigma_parallel": "e^2/h nm^-1",
         "mean_free_path": "nm", "current_x.bulk": "|e| eV nm/hbar nm^-3",
         "current_x.wall": "|e| eV nm/hbar nm^-3", "geometry.width": "nm"}


def test_sweep_against_d_over_l_with_fuchs_sondheimer(tmp_path):
    fig = plotting.sweep_figure(_film_rows(), ["geometry.width"], UNITS, xlog=True, config=FILM)
    axes = {ax.get_title(): ax for ax in fig.axes if ax.get_visible()}
    assert "mean free path" not in axes and "sigma parallel" not in axes  # flat: no panel
    ax = axes["conductance ratio"]
    assert ax.get_xlabel().startswith("$d/l$") and ax.get_xscale() == "log"
    (fs,) = [line for line in ax.get_lines() if line.get_label() == "Fuchs-Sondheimer"]
    x, y = fs.get_xdata(), fs.get_ydata()
    assert x.min() == pytest.approx(0.1) and x.max() == pytest.approx(10)
    np.testing.assert_allclose(y[::17], [fuchs_sondheimer_ratio(k, 0.0) for k in x[::17]], rtol=1e-12)
    assert ax.get_legend() is not None
    # written through sweep_figures, the base configuration read from sweep.json
    import json

    (tmp_path / "sweep.json").write_text(json.dumps({"base": FILM}))
    (png,) = plotting.sweep_figures(_film_rows(), ["geometry.width"], UNITS, tmp_path, xlog=True)
    assert png.name == "sweep.png" and png.stat().st_size > 1000


def test_sweep_closed_form_only_where_it_applies():
    strip = dict(FILM, model={"kind": "rashba_ferromagnet"}, geometry={"kind": "strip"})
    rough = dict(FILM, geometry={"kind": "film", "bottom": {"roughness": 0.2}, "top": {"specularity": 0}})
    for base in (strip, rough, None):
        assert not plotting.fuchs_sondheimer_applies(base)
        fig = plotting.sweep_figure(_film_rows(), ["geometry.width"], UNITS, xlog=True, config=base)
        for ax in fig.axes:
            assert not any("Fuchs" in line.get_label() for line in ax.get_lines())
    # a strip of a 2D parabolic band: the 2D analogue
    strip2d = dict(FILM, model={"kind": "parabolic_band", "dim": 2}, geometry={"kind": "strip"})
    fig = plotting.sweep_figure(_film_rows(), ["geometry.width"], UNITS, xlog=True, config=strip2d)
    ax = [a for a in fig.axes if a.get_title() == "conductance ratio"][0]
    (fs,) = [line for line in ax.get_lines() if line.get_label() == "Fuchs-Sondheimer (2D)"]
    assert fs.get_ydata()[0] == pytest.approx(fuchs_sondheimer_ratio_2d(0.1, 0.0), rel=1e-12)
    # one closed-form curve per specularity of the second key
    rows = [dict(r, **{"geometry.specularity": p}) for p in (0.0, 0.5) for r in _film_rows(p)]
    fig = plotting.sweep_figure(rows, ["geometry.width", "geometry.specularity"], UNITS, xlog=True,
                                config=FILM)
    ax = [a for a in fig.axes if a.get_title() == "conductance ratio"][0]
    fs = [line for line in ax.get_lines() if line.get_label().startswith("Fuchs")]
    assert [line.get_label() for line in fs] == ["Fuchs-Sondheimer, p = 0", "Fuchs-Sondheimer, p = 0.5"]
    np.testing.assert_allclose(fs[1].get_ydata()[0], fuchs_sondheimer_ratio(fs[1].get_xdata()[0], 0.5))


# --- maps over cross-sections ----------------------------------------------------------

@pytest.fixture(scope="module")
def wire():
    model = ParabolicBand(mass=1.0, dim=3)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 10.0)
    section = mk.Rectangle(10.0, 6.0, walls=0.0, cells=(5, 3))
    # tiny numerics for a fast run: one solve (tol=None: their tol check would warn)
    return mk.solve_cross_section(model, disorder, section, 0.2, (1.0, 0.0, 0.0), polar=4, azimuth=8,
                                  tol=None)


def test_section_map_one_patch_per_cell_equal_aspect(wire):
    ax = plotting.plot_section_map(wire, ops.charge_current(wire.model, "x"))
    cells = ax.collections[0]
    assert len(cells.get_paths()) == wire.mesh.cells == 15
    np.testing.assert_allclose(cells.get_array(), wire.density(ops.charge_current(wire.model, "x")).total)
    assert ax.get_aspect() == 1.0
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$y$ (nm)", "$z$ (nm)")  # wire along x
    walls = ax.collections[1]
    assert len(walls.get_segments()) == len(wire.mesh.boundary)
    cbar = ax.figure.axes[-1]
    assert cbar.get_ylabel() == "$j_x$ ($|e|\\,\\mathrm{eV}\\,\\mathrm{nm}^{-2}\\,\\hbar^{-1}$)"
    # an accumulation map: a colour scale symmetric about zero
    ax = plotting.plot_section_map(wire, ops.charge_current(wire.model, "x"), accumulation=True)
    lo, hi = ax.collections[0].get_clim()
    assert lo == -hi


def test_periodic_strip_map_in_plane_axes():
    model = RashbaFerromagnet(mass=1.0, alpha=0.1, exchange=0.05, magnetization=(0, 1, 0))
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 20.0)
    cell = mk.PeriodicStrip(20.0, 20.0, walls=0.0, cells=4, local_walls=False)
    # tiny numerics for a fast run: one solve (tol=None: their tol check would warn)
    r = mk.solve_periodic_strip(model, disorder, cell, 0.2, (1e-3, 0.0), angles=8, tol=None)
    fig, axes = plotting._new_figure(2)
    plotting.plot_section_map(r, ops.spin(model, "z"), part="gradient", ax=axes[0])
    assert len(axes[0].collections[0].get_paths()) == r.mesh.cells == 16
    assert (axes[0].get_xlabel(), axes[0].get_ylabel()) == ("$x$ (nm)", "$y$ (nm)")
    assert axes[0].get_title() == "$s_z$, gradient"
    # conductance per length of the periodic strip: I / E; sheet_conductance deprecated
    with pytest.warns(DeprecationWarning, match="conductance_per_length"):
        old = r.sheet_conductance()
    assert r.conductance_per_length() == old
    sigma = r.bulk.conductivity("internal").total[0, 0]
    assert r.conductance_per_length() == pytest.approx(r.conductance_ratio() * sigma * 20.0, rel=1e-12)


# --- conductance per length of strips and films ----------------------------------------

def test_conductance_per_length_strip_and_film():
    """I / E = G L: for a specular strip sigma W (e^2/hbar nm); for a film per unit
    width, sigma d (e^2/hbar), which is its sheet conductance."""
    model = ParabolicBand(mass=1.0, dim=2)
    disorder = mk.PointDisorder.from_mean_free_path(model, 0.2, 10.0)
    strip = mk.Slab(30.0, 1.0, cells=6)
    # identities at any numerics: one solve at small ones (tol=None)
    r = mk.solve_slab(model, disorder, strip, 0.2, (1e-3, 0.0), angles=16, tol=None)
    sigma = r.bulk.conductivity("internal").total[0, 0]
    assert r.conductance_per_length() == pytest.approx(sigma * 30.0, rel=1e-9)
    with pytest.warns(DeprecationWarning, match="conductance_per_length"):
        assert r.sheet_conductance() == r.conductance_per_length()

    # a diffuse strip: the 2D Fuchs-Sondheimer ratio (reference.fuchs_sondheimer_ratio_2d)
    diffuse = mk.solve_slab(model, disorder, mk.Slab(10.0, 0.0, cells=24), 0.2, (1e-3, 0.0), angles=96)
    assert diffuse.conductance_ratio() == pytest.approx(fuchs_sondheimer_ratio_2d(1.0, 0.0), rel=3e-4)
    assert fuchs_sondheimer_ratio_2d(1e-6, 1.0) == 1.0

    model3 = ParabolicBand(mass=1.0, dim=3)
    disorder3 = mk.PointDisorder.from_mean_free_path(model3, 0.2, 10.0)
    film = mk.Slab(10.0, 0.0, cells=6, normal="z")
    f = mk.solve_slab(model3, disorder3, film, 0.2, (1e-3, 0.0, 0.0), polar=8, azimuth=8, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a film's sheet conductance is what it says
        assert f.sheet_conductance() == f.conductance_per_length()
    sigma3 = f.bulk.conductivity("internal").total[0, 0]
    assert f.conductance_per_length() == pytest.approx(f.conductance_ratio() * sigma3 * 10.0, rel=1e-12)
