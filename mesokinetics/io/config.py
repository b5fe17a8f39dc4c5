"""Sample configurations: TOML presets, their schema, validation and resolution.

A configuration describes one sample and one calculation: the model and its parameters,
the disorder, the geometry and its walls, the field, chemical potential and temperature,
the observables to compute, the numerics and the output files. Files are read as data
with :mod:`tomllib` and never executed. Every key has a type, a unit and an allowed
range (:data:`SCHEMA`); unknown keys are errors; every error is one line that names the
key, the value and what is allowed (:class:`ConfigError`).

The reference of every key is ``docs/config.md``, generated from :data:`SCHEMA` by
:func:`schema_markdown` (a test keeps the two in step).

Presets are ``*.toml`` files, each named by its file stem, searched in this order (the
first folder holding a name wins, :func:`preset_dirs`): the folders listed in the
environment variable ``MESOKINETICS_PRESETS`` (separated by ``os.pathsep``), the user
presets folder (:func:`user_preset_dir`: ``$XDG_CONFIG_HOME/mesokinetics/presets``, by
default ``~/.config/mesokinetics/presets``; ``%APPDATA%\\mesokinetics\\presets`` on
Windows), then the presets shipped with the package (the package data
``mesokinetics.geometries``, found with :mod:`importlib.resources`; its single source is
the ``geometries/`` folder of the source tree). Files a configuration names (the
``hr_file`` of a Wannier90 model) are relative to the configuration file, so a shipped
preset finds its data file inside the installed package.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "ConfigError",
    "Config",
    "Key",
    "SCHEMA",
    "MODEL_KINDS",
    "LATTICE_KINDS",
    "load_config",
    "validate",
    "find_preset",
    "preset_dirs",
    "list_presets",
    "user_preset_dir",
    "shipped_preset_dir",
    "parse_override",
    "key_unit",
    "to_toml",
    "schema_markdown",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message is one line naming the key."""


# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------

REQUIRED = object()  # sentinel: the key must be given
OPTIONAL = object()  # sentinel: the key may be absent (no default value)


@dataclass(frozen=True)
class Key:
    """One configuration key.

    kind : 'float', 'int', 'bool', 'str', 'floats' (list of numbers), 'ints' (list of
        integers), 'strs' (list of strings), 'boxes' (list of [x0, x1, y0, y1] rectangles)
    unit : unit of the value ('' for dimensionless, '-' for non-numeric)
    default : a value, REQUIRED or OPTIONAL
    low, high : inclusive bounds for numbers (or list entries); open_low excludes low
    choices : allowed strings
    length : exact list length ('dim' = the model dimension), or None
    doc : one-line description
    """

    kind: str
    unit: str = ""
    default: Any = OPTIONAL
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    choices: tuple | None = None
    length: Any = None
    doc: str = ""

    def allowed(self) -> str:
        """The allowed values in words (used in errors and in docs/config.md)."""
        if self.choices is not None:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
            return text if self.kind == "str" else f"a list of {text}"
        what = {
            "float": "a number", "int": "an integer", "bool": "true or false",
            "str": "a string", "floats": "a list of numbers", "ints": "a list of integers",
            "strs": "a list of strings",
            "boxes": "a list of rectangles [x0, x1, y0, y1] (finite numbers, x0 < x1, y0 < y1)",
        }[self.kind]
        if self.length == "dim":
            what += " with one entry per model dimension"
        elif self.length is not None:
            what += f" of length {self.length}"
        lo = hi = None
        if self.low is not None:
            lo = f"> {_fmt(self.low)}" if self.open_low else f">= {_fmt(self.low)}"
        if self.high is not None:
            hi = f"<= {_fmt(self.high)}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        if self.kind in ("float", "floats") and not bounds:
            return what.replace("a number", "a finite number").replace("of numbers", "of finite numbers")
        if bounds:
            what += (" with entries " if self.kind in ("floats", "ints") else " ") + bounds
        return what


def _fmt(x) -> str:
    return f"{x:g}"


AXIS_PAIR = re.compile(r"^[xyz]_[xyz]$")

#: Model kinds and the constructor parameters each accepts (section [model]).
MODEL_KINDS: dict[str, dict[str, Key]] = {
    "parabolic_band": {
        "mass": Key("float", "m_e", 1.0, low=0, open_low=True, doc="effective mass"),
        "dim": Key("int", "", 3, low=1, high=3, doc="spatial dimension d"),
    },
    "rashba_ferromagnet": {
        "mass": Key("float", "m_e", 1.0, low=0, open_low=True, doc="effective mass"),
        "alpha": Key("float", "eV nm", 0.0, doc="Rashba constant"),
        "beta": Key("float", "eV nm", 0.0, doc="Dresselhaus constant"),
        "exchange": Key("float", "eV", 0.0,
                        doc="exchange J_e (splitting 2 J_e); 0 gives the Rashba 2DEG"),
        "magnetization": Key("floats", "", [0.0, 0.0, 1.0], length=3,
                             doc="direction m of the magnetization (normalized; nonzero)"),
        "dim": Key("int", "", 2, low=2, high=3,
                   doc="spatial dimension d (3: a 'Rashba film' material, k_z only in k^2/2m; for wires)"),
    },
    "massive_dirac": {
        "velocity": Key("float", "eV nm", 1.0, low=0, open_low=True, doc="Dirac velocity hbar v"),
        "gap": Key("float", "eV", 0.1, doc="mass term Delta (band gap 2|Delta|)"),
    },
    "orbital_texture": {
        "mass": Key("float", "m_e", 1.0, low=0, open_low=True, doc="effective mass"),
        "texture": Key("float", "eV nm^2", 0.0, doc="orbital texture B in k^2/2m + B (k.L)^2"),
        "dim": Key("int", "", 3, low=2, high=3, doc="spatial dimension d"),
    },
    "rashba_lattice": {
        "mass": Key("float", "m_e", 1.0, low=0, open_low=True,
                    doc="band mass m (nearest-neighbour hopping t = hbar^2/(2 m a^2))"),
        "alpha": Key("float", "eV nm", 0.0, doc="Rashba constant (alpha/a) sin(k a) terms"),
        "exchange": Key("float", "eV", 0.0, doc="exchange J_e"),
        "magnetization": Key("floats", "", [0.0, 0.0, 1.0], length=3,
                             doc="direction m of the magnetization (normalized; nonzero)"),
        "lattice_constant": Key("float", "nm", 0.1, low=0, open_low=True,
                                doc="square-lattice constant a (2D; continuum Rashba ferromagnet for k_F a -> 0)"),
    },
    "qi_wu_zhang": {
        "hopping": Key("float", "eV", 1.0, low=0, open_low=True, doc="hopping t"),
        "mass": Key("float", "", 1.0, doc="mass u in units of t (Chern insulator for 0 < |u| < 2)"),
        "lattice_constant": Key("float", "nm", 1.0, low=0, open_low=True, doc="square-lattice constant a (2D)"),
    },
    "haldane": {
        "nn_hopping": Key("float", "eV", 1.0, doc="nearest-neighbour hopping t1"),
        "nnn_hopping": Key("float", "eV", 0.1, doc="second-neighbour hopping t2"),
        "phase": Key("float", "rad", 1.5707963267948966, doc="phase phi of the second-neighbour hopping"),
        "mass": Key("float", "eV", 0.0, doc="sublattice mass M"),
        "bond_length": Key("float", "nm", 0.142, low=0, open_low=True, doc="honeycomb bond length d (2D)"),
        "convention": Key("str", "-", "atomic", choices=("atomic", "lattice"),
                          doc="Bloch phase convention (with or without the site positions)"),
    },
    "wannier90": {
        "seed": Key("str", "-", OPTIONAL,
                    doc="Wannier90 seed, the path prefix of seed.win, seed_hr.dat or seed_tb.dat, "
                        "seed_wsvec.dat, seed_centres.xyz (relative to the configuration file): "
                        "lattice, spins and orbital labels come from the seed (give seed or hr_file)"),
        "hr_file": Key("str", "-", OPTIONAL,
                       doc="Wannier90 seedname_hr.dat alone (a path relative to the configuration "
                           "file), with the lattice a1 ... a3 and spins given here"),
        "dim": Key("int", "", 2, low=2, high=3,
                   doc="spatial dimension d (R components beyond d must vanish in the file)"),
        "a1": Key("floats", "nm", OPTIONAL, doc="first lattice vector (d entries; with hr_file)"),
        "a2": Key("floats", "nm", OPTIONAL, doc="second lattice vector (d entries; with hr_file)"),
        "a3": Key("floats", "nm", OPTIONAL, doc="third lattice vector (d = 3 only; 3 entries; with hr_file)"),
        "spins": Key("strs", "-", [], choices=("up", "down"),
                     doc="spin label of every Wannier function (empty: spinless; with hr_file); "
                         "builds s = sigma/2"),
    },
}
#: Model kinds with a Brillouin zone (lattice models: numerics bz_* apply).
LATTICE_KINDS = ("rashba_lattice", "qi_wu_zhang", "haldane", "wannier90")

GEOMETRY_KINDS = ("uniform", "strip", "film", "wire", "periodic_strip")
#: cross-section shapes of a wire (geometry.section)
SECTION_SHAPES = ("rectangle", "circle")
#: largest number of cells along one coordinate of a section (numerics.section_cells)
MAX_SECTION_CELLS = 4096
#: finest circular section: radius / cell_size at most this (about 1.8e6 triangles)
MAX_RADIUS_CELLS = 500
#: most notches of a periodic strip
MAX_NOTCHES = 100
WALL_KEYS = {
    "specularity": Key("float", "", OPTIONAL, low=0, high=1,
                       doc="Fuchs specular fraction p of this wall"),
    "roughness": Key("float", "nm", OPTIONAL, low=0,
                     doc="Soffer rms roughness eta of this wall, p = exp(-(2 k_perp eta)^2)"),
}

#: Every section and key. [model] keys depend on model.kind (:data:`MODEL_KINDS`);
#: [geometry.bottom] and [geometry.top] take the keys of :data:`WALL_KEYS`.
SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "name": Key("str", "-", OPTIONAL, doc="short name (default: the file stem)"),
        "description": Key("str", "-", "", doc="one-line description, shown by `mesokinetics presets`"),
    },
    "model": {
        "kind": Key("str", "-", REQUIRED, choices=tuple(MODEL_KINDS), doc="Hamiltonian h(k)"),
    },
    "disorder": {
        "gamma": Key("float", "eV^2 nm^d", OPTIONAL, low=0, open_low=True,
                     doc="strength gamma = 2 pi n_i v0^2 of scalar point disorder"),
        "tau_fs": Key("float", "fs", OPTIONAL, low=0, open_low=True,
                      doc="or: DOS-averaged relaxation time at mu"),
        "mean_free_path": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                              doc="or: DOS-averaged mean free path <|v|> tau at mu"),
    },
    "conditions": {
        "mu": Key("float", "eV", REQUIRED, doc="chemical potential"),
        "field": Key("floats", "V/nm", REQUIRED, length="dim",
                     doc="electric field; in a strip or film it must lie in the plane (1 kV/cm = 1e-4 V/nm)"),
        "temperature": Key("float", "K", 0.0, low=0, high=1e4, doc="temperature"),
    },
    "geometry": {
        "kind": Key("str", "-", "uniform", choices=GEOMETRY_KINDS,
                    doc="'uniform': infinite bulk sample; 'strip': 0 < y < W of a 2D model; "
                        "'film': 0 < z < W of a 3D model; 'wire': a 3D model's cross-section "
                        "normal to the field (solve_cross_section); 'periodic_strip': the unit "
                        "cell 0 < x < length, 0 < y < W of a patterned strip of a 2D model "
                        "(solve_periodic_strip)"),
        "width": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                     doc="width W of the strip, thickness of the film, width of a rectangular "
                         "wire section (along its first coordinate) or of a periodic strip "
                         "(strip, film, rectangle, periodic_strip: required)"),
        "height": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                      doc="height of a rectangular wire section, along its second coordinate "
                          "(section = 'rectangle': required)"),
        "section": Key("str", "-", OPTIONAL, choices=SECTION_SHAPES,
                       doc="shape of a wire's cross-section (default 'rectangle'; 'circle' "
                           "needs the gmsh extra and has diffuse walls only)"),
        "radius": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                      doc="radius of a circular wire section, centred at the origin "
                          "(section = 'circle': required)"),
        "length": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                      doc="period along the field (x) of a periodic strip (periodic_strip: required)"),
        "notches": Key("boxes", "nm", OPTIONAL,
                       doc="rectangles [x0, x1, y0, y1] removed from a periodic strip (a notch "
                           f"if it touches y = 0 or W, else a hole; at most {MAX_NOTCHES}), "
                           "edges on cell faces (default: none)"),
        "local_walls": Key("bool", "-", OPTIONAL,
                           doc="periodic strip: one diffuse re-emission constant per wall face, a "
                               "locally insulating wall (default true); false: one per region"),
        "normal": Key("str", "-", OPTIONAL, choices=("x", "y", "z"),
                      doc="axis normal to the walls (default: 'y' for a strip, 'z' for a film)"),
        "specularity": Key("float", "", OPTIONAL, low=0, high=1,
                           doc="Fuchs specular fraction p of every wall (default 0: diffuse)"),
        "roughness": Key("float", "nm", OPTIONAL, low=0,
                         doc="or: Soffer rms roughness of every wall"),
    },
    "observables": {
        "current": Key("bool", "-", True, doc="charge current density j (d components)"),
        "spin": Key("bool", "-", False, doc="spin density <s> = <sigma>/2 (3 components, hbar nm^-d)"),
        "pauli": Key("bool", "-", False, doc="Pauli spin density <sigma> (3 components, nm^-d)"),
        "orbital": Key("bool", "-", False, doc="orbital angular momentum density <L> (3 components, hbar nm^-d)"),
        "torque": Key("bool", "-", False,
                      doc="spin-orbit torque density J_e m x <sigma> (3 components, eV nm^-d; rashba_ferromagnet)"),
        "spin_current": Key("strs", "-", [], doc="spin currents (1/2){s_a, v_b} as 'a_b', e.g. 'z_y' (eV nm^(1-d))"),
        "orbital_current": Key("strs", "-", [], doc="orbital currents (1/2){L_a, v_b} as 'a_b' (eV nm^(1-d))"),
    },
    "numerics": {
        "angles": Key("int", "", OPTIONAL, low=4, high=100000,
                      doc="nodes of the 2D angular rule (default: the solver's, 128; docs/accuracy.md)"),
        "polar": Key("int", "", OPTIONAL, low=2, high=10000,
                     doc="polar nodes of the 3D rule (default: the solver's, 48; 16 for wires)"),
        "azimuth": Key("int", "", OPTIONAL, low=4, high=10000,
                       doc="azimuth nodes of the 3D rule (default: the solver's, 32)"),
        "scan_points": Key("int", "", 256, low=2, high=100000, doc="radial points bracketing shell crossings"),
        "radial_order": Key("int", "", OPTIONAL, low=2, high=1000,
                            doc="Gauss-Legendre nodes per radial panel (Fermi sea; default: the "
                                "solver's, 16)"),
        "radial_panels": Key("int", "", 4, low=2, high=1000, doc="radial panels per interval (Fermi sea)"),
        "grazing_panels": Key("int", "", OPTIONAL, low=1, high=100,
                              doc="graded angular panels towards grazing incidence (default 6 "
                                  "for strips, films and periodic strips; 1 for wires)"),
        "energy_points": Key("int", "", OPTIONAL, low=2, high=1000,
                             doc="Gauss-Legendre nodes of the thermal window (T > 0; default: "
                                 "the solver's, 24)"),
        "cells": Key("int", "", OPTIONAL, low=2, high=100000,
                     doc="cells across the strip or film (default 200)"),
        "tol": Key("float", "", 1e-3, low=1e-12, high=0.1,
                   doc="requested relative accuracy: every numerical axis not set here is "
                       "checked at coarser resolutions and refined until the estimated error "
                       "meets it (docs/accuracy.md)"),
        "budget": Key("float", "s", OPTIONAL, low=0, open_low=True,
                      doc="wall time allowed for the refinement (default: no limit)"),
        "wall_cell": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                         doc="size of the first cell at each wall (strip, film: default mean free "
                             "path / 100; rectangular wire section: default uniform cells)"),
        "section_cells": Key("ints", "", OPTIONAL, low=1, high=MAX_SECTION_CELLS, length=2,
                             doc="cells along the two coordinates of a rectangular wire section "
                                 "(width, height) or of a periodic strip (length, width) "
                                 "(default [32, 32], which numerics.tol may refine; cells given "
                                 "are only checked)"),
        "cell_size": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                         doc="triangle size of a circular wire section (default radius / 10, "
                             "which numerics.tol may refine; a size given is only checked; "
                             f"at least radius / {MAX_RADIUS_CELLS})"),
        "bz_grid": Key("int", "", OPTIONAL, low=4, high=100000,
                       doc="Brillouin-zone grid per reciprocal direction (lattice models; default 96 in 2D, 24 in 3D)"),
        "bz_refine": Key("int", "", 3, low=0, high=12,
                         doc="bisections of Fermi-sea cells crossed by a Fermi surface (lattice models)"),
        "bz_contour_points": Key("int", "", 64, low=16, high=100000,
                                 doc="points per 2D Fermi loop per reciprocal-vector length (lattice models)"),
    },
    "output": {
        "vtk": Key("bool", "-", True,
                   doc="write ParaView files (result.vtu; strips, films, wires and periodic strips)"),
        "png": Key("bool", "-", True, doc="write PNG figures"),
        "pdf": Key("bool", "-", False, doc="also write every figure as PDF"),
        "depths": Key("floats", "nm", [], low=0,
                      doc="depths from the bottom wall of the distribution plot (default: wall cell, one mean free path, centre)"),
        "map_length": Key("float", "nm", OPTIONAL, low=0, open_low=True,
                          doc="extent of the maps and VTU mesh along the transport direction (default: the width)"),
        "map_cells": Key("int", "", 40, low=1, high=10000,
                         doc="cells of the VTU mesh along the transport direction"),
    },
}

SECTIONS = tuple(s for s in SCHEMA if s)
#: cells of a section when numerics.section_cells is not given
DEFAULT_SECTION_CELLS = (32, 32)
#: the per-wall tables [geometry.<wall>]: bottom and top (strip, film, rectangular wire,
#: periodic strip), left and right (rectangular wire), notch (periodic strip)
WALLS = ("bottom", "top", "left", "right", "notch")
#: which wall tables each geometry kind takes (uniform: every one, ignored)
KIND_WALLS = {"uniform": WALLS, "strip": ("bottom", "top"), "film": ("bottom", "top"),
              "wire": ("left", "right", "bottom", "top"), "periodic_strip": ("bottom", "top", "notch")}
#: geometry keys used by each kind besides kind, specularity and roughness (uniform: all
#: accepted and ignored, so that a finite preset can be compared with its bulk)
KIND_KEYS = {"strip": ("width", "normal"), "film": ("width", "normal"),
             "wire": ("section", "width", "height", "radius"),
             "periodic_strip": ("length", "width", "notches", "local_walls")}
#: numerics keys that only some kinds use (an error elsewhere: they would be ignored)
KIND_NUMERICS = {"section_cells": ("wire", "periodic_strip"), "cell_size": ("wire",),
                 "wall_cell": ("strip", "film", "wire")}


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _show(value) -> str:
    try:
        text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError, OverflowError, TypeError):  # > 4300 digits, deep
        text = f"<{type(value).__name__} too large or too deeply nested to show>"
    return text if len(text) <= 60 else text[:57] + "..."


#: deepest nesting of tables and lists a configuration may have (the schema needs 4:
#: [geometry.bottom] keys, lists of numbers); deeper input is refused before it is
#: copied or printed, so it cannot exhaust the recursion limit.
MAX_DEPTH = 16


def _check_depth(value, where: str, source: str = "") -> None:
    """ConfigError if ``value`` nests tables or lists deeper than :data:`MAX_DEPTH`
    (iterative: safe for any depth)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Mapping):
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        if depth >= MAX_DEPTH:
            raise _error(source, where, _MISSING,
                         f"nested deeper than {MAX_DEPTH} tables or lists (expected plain "
                         "values, lists of values and tables of them)")
        stack.extend((c, depth + 1) for c in children)


def _error(source: str, key: str, value, reason: str) -> ConfigError:
    prefix = f"{source}: " if source else ""
    if value is _MISSING:
        return ConfigError(f"{prefix}{key}: {reason}")
    return ConfigError(f"{prefix}{key} = {_show(value)}: {reason}")


_MISSING = object()


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_number(v, key: Key, name: str, source: str, value_shown=None):
    shown = v if value_shown is None else value_shown
    if key.kind in ("int",):
        if not isinstance(v, int) or isinstance(v, bool):
            raise _error(source, name, shown, f"expected {key.allowed()}")
    elif not _is_number(v):
        raise _error(source, name, shown, f"expected {key.allowed()}" + (f" ({key.unit})" if key.unit not in ("", "-") else ""))
    try:
        x = float(v) if key.kind != "int" else v
    except OverflowError:  # an integer beyond the float range, e.g. 10**400
        raise _error(source, name, shown, f"out of range: expected {key.allowed()}" + _unit(key)) from None
    if key.kind != "int" and not math.isfinite(x):
        raise _error(source, name, shown, f"expected {key.allowed()}" + _unit(key))
    bad = (key.low is not None and (x <= key.low if key.open_low else x < key.low)) or (
        key.high is not None and x > key.high
    )
    if bad:
        raise _error(source, name, shown, f"out of range: expected {key.allowed()}" + _unit(key))
    return x


def _unit(key: Key) -> str:
    return f" ({key.unit})" if key.unit not in ("", "-") else ""


def _check_value(value, key: Key, name: str, source: str, dim: int | None = None):
    """Validate one value against its Key; returns the normalized value."""
    k = key.kind
    if k in ("float", "int"):
        return _check_number(value, key, name, source)
    if k == "bool":
        if not isinstance(value, bool):
            raise _error(source, name, value, "expected true or false")
        return value
    if k == "str":
        if not isinstance(value, str):
            raise _error(source, name, value, f"expected {key.allowed()}")
        if key.choices is not None and value not in key.choices:
            raise _error(source, name, value, f"expected {key.allowed()}")
        return value
    if k == "boxes":
        return _check_boxes(value, key, name, source)
    if k in ("floats", "ints", "strs"):
        if not isinstance(value, list):
            raise _error(source, name, value, f"expected {key.allowed()}" + _unit(key))
        length = dim if key.length == "dim" else key.length
        if length is not None and len(value) != length:
            raise _error(source, name, value, f"expected {length} entries, got {len(value)}"
                         + (" (one per model dimension)" if key.length == "dim" else ""))
        out = []
        for item in value:
            if k == "floats":
                out.append(_check_number(item, Key("float", key.unit, low=key.low, high=key.high,
                                                   open_low=key.open_low), name, source,
                                         value_shown=value))
            elif k == "ints":
                out.append(_check_number(item, Key("int", key.unit, low=key.low, high=key.high,
                                                   open_low=key.open_low), name, source,
                                         value_shown=value))
            else:
                if not isinstance(item, str):
                    raise _error(source, name, value, "expected a list of strings")
                if key.choices is not None and item not in key.choices:
                    raise _error(source, name, value, f"expected {key.allowed()}, got {item!r}")
                out.append(item)
        return out
    raise AssertionError(k)


def _check_boxes(value, key: Key, name: str, source: str) -> list:
    """A list of rectangles [x0, x1, y0, y1] (nm) with x0 < x1 and y0 < y1."""
    if not isinstance(value, list):
        raise _error(source, name, value, f"expected {key.allowed()}" + _unit(key))
    if len(value) > MAX_NOTCHES:
        raise _error(source, name, value, f"expected at most {MAX_NOTCHES} rectangles, got {len(value)}")
    number = Key("float", key.unit)
    out = []
    for box in value:
        if not isinstance(box, list) or len(box) != 4:
            raise _error(source, name, value, f"expected {key.allowed()}" + _unit(key)
                         + f"; got the entry {_show(box)}")
        x0, x1, y0, y1 = (_check_number(v, number, name, source, value_shown=value) for v in box)
        if not (x0 < x1 and y0 < y1):
            raise _error(source, name, value, f"each rectangle [x0, x1, y0, y1] needs x0 < x1 and "
                         f"y0 < y1, got {_show(box)}")
        out.append([x0, x1, y0, y1])
    return out


def _check_table(data, name: str, source: str) -> dict:
    if not isinstance(data, dict):
        raise _error(source, name, data, "expected a table ([" + name + "])")
    return data


def _unknown(source: str, name: str, allowed: Iterable[str]) -> ConfigError:
    return _error(source, name, _MISSING, "unknown key (allowed here: " + ", ".join(allowed) + ")")


def _resolve_section(data: dict, keys: Mapping[str, Key], section: str, source: str,
                     dim: int | None = None, skip: Iterable[str] = ()) -> dict:
    out = {}
    for name in data:
        if name not in keys and name not in skip:
            full = f"{section}.{name}" if section else name
            raise _unknown(source, full, [*keys, *skip])
    for name, key in keys.items():
        full = f"{section}.{name}" if section else name
        if name in data:
            out[name] = _check_value(data[name], key, full, source, dim)
        elif key.default is REQUIRED:
            raise _error(source, full, _MISSING, f"missing: required, {key.allowed()}" + _unit(key))
        elif key.default is not OPTIONAL:
            out[name] = copy.deepcopy(key.default)
    return out


def _check_kind_keys(geo: dict, gkind: str, source: str) -> None:
    """Geometry keys and wall tables of another kind are errors (they would be ignored)."""
    used = set(KIND_KEYS[gkind]) | {"kind", "specularity", "roughness"} | set(KIND_WALLS[gkind])
    for name in geo:
        if name not in used:
            users = [k for k, keys in KIND_KEYS.items() if name in keys] or \
                [k for k, walls in KIND_WALLS.items() if name in walls and k != "uniform"]
            what = f"[geometry.{name}]" if name in WALLS else f"geometry.{name}"
            raise _error(source, what, _MISSING,
                         f"not used by geometry.kind = {gkind!r} (used by: {', '.join(users)}; "
                         f"allowed here: {', '.join(sorted(used - {'kind'}))})")


def _check_kind_numerics(numerics, gkind: str, source: str, shape: str | None = None) -> None:
    """numerics keys that only other kinds (or another section shape) use are errors."""
    if not isinstance(numerics, dict):
        return  # reported by the [numerics] check
    for name, kinds in KIND_NUMERICS.items():
        if name not in numerics:
            continue
        ok = gkind in kinds
        if ok and gkind == "wire":
            ok = (name == "cell_size") == (shape == "circle")
        if not ok:
            where = (f"a {'circular' if shape == 'circle' else 'rectangular'} wire section"
                     if gkind == "wire" else f"geometry.kind = {gkind!r}")
            users = {"section_cells": "rectangular wire sections and periodic strips",
                     "cell_size": "circular wire sections",
                     "wall_cell": "strips, films and rectangular wire sections"}[name]
            raise _error(source, f"numerics.{name}", numerics[name],
                         f"not used by {where} (only by {users})")


def _require(geo: dict, name: str, what: str, source: str) -> None:
    if name not in geo:
        raise _error(source, f"geometry.{name}", _MISSING, f"missing: required for {what} (nm, > 0)")


def _axis_field(field, source: str, what: str) -> int:
    """The single axis of a field along one coordinate axis (else a ConfigError)."""
    axes = [i for i, f in enumerate(field) if f != 0]
    if len(axes) != 1:
        raise _error(source, "conditions.field", field,
                     f"{what} needs a field along one coordinate axis (the wire axis); a "
                     "component in the cross-section plane is screened by surface charges")
    return axes[0]


def _check_wire(geo: dict, dim: int, kind: str, field, numerics, source: str) -> None:
    """A wire: a 3D model, the field along one axis, a rectangle or a circle."""
    if dim != 3:
        hint = " (set model.dim = 3: a 'Rashba film' material)" if kind == "rashba_ferromagnet" else ""
        raise _error(source, "geometry.kind", "wire",
                     f"a wire needs a 3D model (its cross-section is the plane normal to the "
                     f"field); model kind {kind!r} here is {dim}D{hint}; for a 2D model use "
                     "'strip' or 'periodic_strip'")
    _axis_field(field, source, "a wire")
    _check_kind_keys(geo, "wire", source)
    shape = geo.setdefault("section", "rectangle")
    _check_kind_numerics(numerics, "wire", source, shape)
    if shape == "rectangle":
        for name in ("radius",):
            if name in geo:
                raise _error(source, f"geometry.{name}", geo[name],
                             "only for section = 'circle' (a rectangle has width and height)")
        _require(geo, "width", "a rectangular wire section", source)
        _require(geo, "height", "a rectangular wire section", source)
        if "specularity" not in geo and "roughness" not in geo:
            geo["specularity"] = 0.0
        return
    for name in ("width", "height", *[w for w in WALLS if w in geo]):
        if name in geo:
            what = f"[geometry.{name}]" if name in WALLS else f"geometry.{name}"
            raise _error(source, what, _MISSING,
                         "not used by a circular section (it has one diffuse wall and a radius)")
    _require(geo, "radius", "a circular wire section", source)
    if "roughness" in geo or geo.get("specularity", 0.0) != 0.0:
        which = "roughness" if "roughness" in geo else "specularity"
        raise _error(source, f"geometry.{which}", geo[which],
                     "a circular section has a curved wall, which can only be diffuse "
                     "(allowed: specularity = 0)")
    geo["specularity"] = 0.0
    size = numerics.get("cell_size") if isinstance(numerics, dict) else None
    if _is_number(size) and math.isfinite(size) and size > 0 \
            and geo["radius"] / size > MAX_RADIUS_CELLS:
        raise _error(source, "numerics.cell_size", size,
                     f"out of range for radius {_fmt(geo['radius'])} nm: expected a number >= "
                     f"radius / {MAX_RADIUS_CELLS} = {_fmt(geo['radius'] / MAX_RADIUS_CELLS)} (nm)")


def _check_periodic_strip(geo: dict, dim: int, kind: str, field, numerics, source: str) -> None:
    """A periodic strip: a 2D model, the field along x, notches inside the cell on faces."""
    if dim != 2:
        raise _error(source, "geometry.kind", "periodic_strip",
                     f"a periodic strip needs a 2D model; model kind {kind!r} here is {dim}D "
                     "(for a 3D model use 'wire' or 'film')")
    if field[0] == 0 or field[1] != 0:
        raise _error(source, "conditions.field", field,
                     "a periodic strip needs a field along x, its periodic direction ([Ex, 0] "
                     "with Ex != 0)")
    _check_kind_keys(geo, "periodic_strip", source)
    _check_kind_numerics(numerics, "periodic_strip", source)
    _require(geo, "length", "a periodic strip", source)
    _require(geo, "width", "a periodic strip", source)
    geo.setdefault("notches", [])
    geo.setdefault("local_walls", True)
    if "specularity" not in geo and "roughness" not in geo:
        geo["specularity"] = 0.0
    length, width = geo["length"], geo["width"]
    cells = numerics.get("section_cells") if isinstance(numerics, dict) else None
    ok_cells = (isinstance(cells, list) and len(cells) == 2 and all(
        isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= MAX_SECTION_CELLS for c in cells))
    nx, ny = cells if ok_cells else DEFAULT_SECTION_CELLS
    hx, hy = length / nx, width / ny
    for box in geo["notches"]:
        x0, x1, y0, y1 = box
        if x0 < 0 or x1 > length or y0 < 0 or y1 > width:
            raise _error(source, "geometry.notches", geo["notches"],
                         f"rectangle {_show(box)} reaches outside the cell 0 <= x <= "
                         f"{_fmt(length)}, 0 <= y <= {_fmt(width)} (nm)")
        for v, h, axis in ((x0, hx, "x"), (x1, hx, "x"), (y0, hy, "y"), (y1, hy, "y")):
            if abs(v / h - round(v / h)) > 1e-6:
                raise _error(source, "geometry.notches", geo["notches"],
                             f"edge {axis} = {_fmt(v)} nm of {_show(box)} is not on a cell face "
                             f"of the {nx} x {ny} grid (faces every {_fmt(hx)} nm in x, "
                             f"{_fmt(hy)} nm in y): move it or change numerics.section_cells")
    if geo["notches"]:
        import numpy as np  # only here: validating other configurations needs no numpy

        # the cells whose centres lie inside a rectangle are removed; some must remain
        xc = (np.arange(nx) + 0.5) * hx
        yc = (np.arange(ny) + 0.5) * hy
        removed = np.zeros((nx, ny), bool)
        for x0, x1, y0, y1 in geo["notches"]:
            removed |= ((xc > x0) & (xc < x1))[:, None] & ((yc > y0) & (yc < y1))[None, :]
        if removed.all():
            raise _error(source, "geometry.notches", geo["notches"], "the rectangles remove every cell")
        # a column or row of removed cells across the whole cell cuts the strip in pieces
        if removed.all(axis=1).any():
            raise _error(source, "geometry.notches", geo["notches"],
                         "a rectangle spans the whole width: it cuts the strip (no current "
                         "can flow along x)")


def validate(data: Mapping, source: str = "") -> dict:
    """Check a raw configuration (nested dict as read from TOML) and return it resolved:
    defaults filled in, numbers normalized (ints accepted for floats), nothing unknown.

    Raises :class:`ConfigError` (one line, naming the key) on the first problem.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source + ': ' if source else ''}a configuration must be a table of sections")
    _check_depth(data, "configuration", source)
    data = dict(data)
    top_keys = SCHEMA[""]
    for name in data:
        if name not in top_keys and name not in SECTIONS:
            raise _unknown(source, name, [*top_keys, *SECTIONS])
    out: dict[str, Any] = {}
    for name, key in top_keys.items():
        if name in data:
            out[name] = _check_value(data[name], key, name, source)
        elif key.default is not OPTIONAL:
            out[name] = key.default
    if "description" in out and "\n" in out["description"]:
        raise _error(source, "description", out["description"], "expected one line")
    for section in ("model", "disorder", "conditions"):
        if section not in data:
            raise _error(source, f"[{section}]", _MISSING, "missing section (required)")

    # [model]: the kind decides the parameters
    model = _check_table(data["model"], "model", source)
    if "kind" not in model:
        raise _error(source, "model.kind", _MISSING, f"missing: required, {SCHEMA['model']['kind'].allowed()}")
    kind = _check_value(model["kind"], SCHEMA["model"]["kind"], "model.kind", source)
    params = MODEL_KINDS[kind]
    for name in model:
        if name != "kind" and name not in params:
            raise _error(source, f"model.{name}", _MISSING,
                         f"not a parameter of model kind {kind!r} (allowed: {', '.join(params)})")
    out["model"] = {"kind": kind, **_resolve_section(
        {k: v for k, v in model.items() if k != "kind"}, params, "model", source)}
    m = out["model"]
    if "magnetization" in m and not any(m["magnetization"]):
        raise _error(source, "model.magnetization", m["magnetization"], "expected a nonzero 3-vector")
    dim = m.get("dim", 2)
    if kind == "wannier90":
        if ("seed" in m) == ("hr_file" in m):
            raise _error(source, "model.seed", m.get("seed", _MISSING),
                         "exactly one of model.seed (a Wannier90 seed: .win, hr/tb, wsvec, "
                         "centres) and model.hr_file (an hr.dat with a1 ... a3 given here) is required")
        if "seed" in m:
            for name in ("a1", "a2", "a3"):
                if name in m:
                    raise _error(source, f"model.{name}", m[name],
                                 "not with model.seed (the lattice comes from seed.win)")
            if m["spins"]:
                raise _error(source, "model.spins", m["spins"],
                             "not with model.seed (spins come from the seed's projections)")
        else:
            for name in ("a1", "a2"):
                if name not in m:
                    raise _error(source, f"model.{name}", _MISSING,
                                 "missing: required with model.hr_file (nm)")
            if dim == 2 and "a3" in m:
                raise _error(source, "model.a3", m["a3"], "only for model.dim = 3")
            if dim == 3 and "a3" not in m:
                raise _error(source, "model.a3", _MISSING, "missing: required for model.dim = 3 (nm)")
            for name in ("a1", "a2", "a3")[:dim]:
                if len(m[name]) != dim:
                    raise _error(source, f"model.{name}", m[name],
                                 f"expected {dim} entries (one per model dimension, nm)")

    # [disorder]: exactly one specification
    disorder = _resolve_section(_check_table(data["disorder"], "disorder", source),
                                SCHEMA["disorder"], "disorder", source)
    if len(disorder) != 1:
        given = ", ".join(f"disorder.{k}" for k in disorder) or "none"
        raise _error(source, "[disorder]", _MISSING,
                     f"give exactly one of gamma (eV^2 nm^d), tau_fs (fs), mean_free_path (nm); got {given}")
    out["disorder"] = disorder

    out["conditions"] = _resolve_section(_check_table(data["conditions"], "conditions", source),
                                         SCHEMA["conditions"], "conditions", source, dim)

    # [geometry] with optional per-wall tables [geometry.bottom], [geometry.left], ...
    geo_raw = _check_table(data.get("geometry", {}), "geometry", source)
    geo = _resolve_section(geo_raw, SCHEMA["geometry"], "geometry", source, skip=WALLS)
    if "specularity" in geo and "roughness" in geo:
        raise _error(source, "geometry.roughness", geo["roughness"],
                     "give either geometry.specularity (Fuchs) or geometry.roughness (Soffer), not both")
    for wall in WALLS:
        if wall in geo_raw:
            w = _resolve_section(_check_table(geo_raw[wall], f"geometry.{wall}", source),
                                 WALL_KEYS, f"geometry.{wall}", source)
            if len(w) != 1:
                raise _error(source, f"[geometry.{wall}]", _MISSING,
                             "give exactly one of specularity (Fuchs, 0..1) or roughness (Soffer, nm)")
            geo[wall] = w
    gkind = geo["kind"]
    field = out["conditions"]["field"]
    if gkind in ("strip", "film"):
        need = {"strip": 2, "film": 3}[gkind]
        if dim != need:
            raise _error(source, "geometry.kind", gkind,
                         f"a {gkind} needs a {need}D model; model kind {kind!r} here is {dim}D"
                         + (f" (use {'film' if dim == 3 else 'strip'})" if dim in (2, 3) else ""))
        _check_kind_keys(geo, gkind, source)
        if "width" not in geo:
            raise _error(source, "geometry.width", _MISSING, f"missing: required for a {gkind} (nm, > 0)")
        geo.setdefault("normal", "y" if gkind == "strip" else "z")
        axis = "xyz".index(geo["normal"])
        if axis >= dim:
            raise _error(source, "geometry.normal", geo["normal"],
                         f"expected an axis of the {dim}D model ({', '.join('xyz'[:dim])})")
        if "specularity" not in geo and "roughness" not in geo:
            geo["specularity"] = 0.0
        if field[axis] != 0:
            raise _error(source, "conditions.field", field,
                         f"the component along the wall normal {geo['normal']} must be 0 in a "
                         f"{gkind} (it is screened; no current crosses the walls)")
        _check_kind_numerics(data.get("numerics"), gkind, source)
    if not any(field):
        raise _error(source, "conditions.field", field,
                     "expected a nonzero field (the response is linear in it)")
    if gkind == "wire":
        _check_wire(geo, dim, kind, field, data.get("numerics"), source)
    elif gkind == "periodic_strip":
        _check_periodic_strip(geo, dim, kind, field, data.get("numerics"), source)
    out["geometry"] = geo

    obs = _resolve_section(_check_table(data.get("observables", {}), "observables", source),
                           SCHEMA["observables"], "observables", source)
    # a seed's spins come from its projections, known once it is read (checked by the workflow)
    has_spin = kind in ("rashba_ferromagnet", "massive_dirac", "rashba_lattice") or (
        kind == "wannier90" and (bool(m["spins"]) or "seed" in m))
    has_orbital = kind == "orbital_texture"
    for name, ok, what in (("spin", has_spin, "spin"), ("pauli", has_spin, "spin"),
                           ("orbital", has_orbital, "orbital angular momentum")):
        if obs[name] and not ok:
            raise _error(source, f"observables.{name}", True,
                         f"model kind {kind!r} has no {what} degree of freedom")
    if obs["torque"] and kind not in ("rashba_ferromagnet", "rashba_lattice"):
        raise _error(source, "observables.torque", True,
                     "the torque J_e m x <sigma> needs model kind 'rashba_ferromagnet' or 'rashba_lattice'")
    for name, ok, what in (("spin_current", has_spin, "spin"),
                           ("orbital_current", has_orbital, "orbital angular momentum")):
        for pair in obs[name]:
            if not AXIS_PAIR.match(pair) or "xyz".index(pair[2]) >= dim:
                raise _error(source, f"observables.{name}", obs[name],
                             f"entries must be 'a_b' with a moment axis a in x, y, z and a flow "
                             f"axis b in {', '.join('xyz'[:dim])}, got {pair!r}")
            if not ok:
                raise _error(source, f"observables.{name}", obs[name],
                             f"model kind {kind!r} has no {what} degree of freedom")
        if len(set(obs[name])) != len(obs[name]):
            raise _error(source, f"observables.{name}", obs[name], "entries must be distinct")
    out["observables"] = obs

    out["numerics"] = _resolve_section(_check_table(data.get("numerics", {}), "numerics", source),
                                       SCHEMA["numerics"], "numerics", source)
    out["output"] = _resolve_section(_check_table(data.get("output", {}), "output", source),
                                     SCHEMA["output"], "output", source)
    return out


# --------------------------------------------------------------------------------------
# Config objects, presets, overrides
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """A validated, fully resolved configuration.

    data : nested dict (sections -> keys -> values), defaults filled in
    name : preset or file name
    source : where it was read from ('' for an in-memory dict)
    overrides : the ``--set`` overrides applied, as {dotted key: value}
    """

    data: dict
    name: str = "config"
    source: str = ""
    overrides: dict = field(default_factory=dict)

    def __getitem__(self, dotted: str):
        node = self.data
        for part in dotted.split("."):
            node = node[part]
        return node

    def get(self, dotted: str, default=None):
        try:
            return self[dotted]
        except (KeyError, TypeError):
            return default

    @property
    def description(self) -> str:
        return self.data.get("description", "")

    def replace(self, overrides: Mapping[str, Any]) -> "Config":
        """A new validated Config with ``{dotted key: value}`` overrides applied."""
        raw = copy.deepcopy(self.data)
        for key, value in overrides.items():
            _set_dotted(raw, key, value, self.source)
        data = validate(raw, self.source or self.name)
        return Config(data, self.name, self.source, {**self.overrides, **dict(overrides)})

    def to_toml(self) -> str:
        head = [f"# mesokinetics configuration {self.name!r}"]
        if self.source:
            head.append(f"# read from {self.source}")
        if self.overrides:
            head.append("# overrides: " + ", ".join(f"{k}={_toml_value(v)}" for k, v in self.overrides.items()))
        return "\n".join(head) + "\n" + to_toml(self.data)

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)


def _set_dotted(raw: dict, dotted: str, value, source: str) -> None:
    if not isinstance(dotted, str):
        raise ConfigError(f"{source + ': ' if source else ''}{_show(dotted)}: a key must be a "
                          "dotted string, e.g. 'numerics.cells'")
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"{source + ': ' if source else ''}{dotted}: malformed key")
    _check_depth(value, dotted, source)
    node = raw
    for i, part in enumerate(parts[:-1]):
        if part not in node:
            node[part] = {}
        if not isinstance(node[part], dict):
            raise ConfigError(f"{source + ': ' if source else ''}{'.'.join(parts[:i + 1])} is a value, not a table")
        node = node[part]
    node[parts[-1]] = value
    # clearing the alternative of a mutually exclusive pair keeps --set usable
    exclusive = {(table, a): b for table in ("geometry", *WALLS)
                 for a, b in (("specularity", "roughness"), ("roughness", "specularity"))}
    if len(parts) >= 2 and (parts[-2], parts[-1]) in exclusive:
        node.pop(exclusive[(parts[-2], parts[-1])], None)
    if parts[:-1] == ["disorder"] and parts[-1] in SCHEMA["disorder"]:
        for other in SCHEMA["disorder"]:
            if other != parts[-1]:
                node.pop(other, None)


def parse_override(text: str) -> tuple[str, Any]:
    """'key=value' -> (key, value). The value is read as a TOML value (numbers, true,
    false, [lists], "strings"); a bare word that is not TOML is taken as a string."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. numerics.cells=16")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not key:
        raise ConfigError(f"--set {text!r}: empty key")
    if not re.fullmatch(r"[^\s=]+", key):  # one-line errors: no whitespace in keys
        raise ConfigError(f"--set {text!r}: malformed key {key!r}")
    return key, _parse_value(raw, f"--set {key}")


#: quoted TOML strings (removed before the checks of plain numbers)
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
#: tokens that begin like a number (bare words such as run_2_6 begin with a letter)
_NUMBER_TOKEN = re.compile(r"(?<![\w.])[+-]?\.?\d[\w.+-]*")


def _not_plain(bare: str) -> bool:
    """A TOML number form that is not a plain decimal number: 2_6, 1e1_0, 0x1a, 0o17, 0b101."""
    return any("_" in t or re.match(r"[+-]?0[xob]", t) for t in _NUMBER_TOKEN.findall(bare))
PLAIN_FORM = "plain decimal numbers such as 26, 1.5 or 1e-3"


def _parse_value(raw: str, what: str):
    """A ``--set`` or ``--vary`` value: TOML syntax, numbers in plain decimal form only
    (no '2_6', no '0x1a', no Unicode digits such as '\u0662\u0666'), bare words as strings."""
    bare = _QUOTED.sub("", raw)
    if any(ch.isdigit() and not ch.isascii() for ch in bare) or any(
            ch.isnumeric() and not ch.isascii() for ch in bare):
        raise ConfigError(f"{what} = {_show(raw)}: Unicode digits are not numbers here; "
                          f"write {PLAIN_FORM} (ASCII 0-9)")
    if _not_plain(bare):
        raise ConfigError(f"{what} = {_show(raw)}: write {PLAIN_FORM} "
                          "(no '_' between digits, no 0x/0o/0b prefixes)")
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except RecursionError:
        raise ConfigError(f"{what}: value nested too deeply (expected a number, a list of "
                          "numbers, true/false or a string)") from None
    except ValueError as exc:
        if not isinstance(exc, tomllib.TOMLDecodeError):  # e.g. an integer of > 4300 digits
            raise ConfigError(f"{what}: cannot read value {_show(raw)}: "
                              f"{str(exc).splitlines()[0][:80]}") from None
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", raw):
            return raw
        raise ConfigError(f"{what}: cannot read value {raw!r} (use TOML syntax: 1.5, true, [0.001, 0], \"text\")") from None


#: The package whose data are the shipped presets (the source tree's ``geometries/``).
PRESET_PACKAGE = "mesokinetics.geometries"


def user_preset_dir() -> Path:
    """The per-user presets folder (whether or not it exists):
    ``%APPDATA%\\mesokinetics\\presets`` on Windows, else
    ``$XDG_CONFIG_HOME/mesokinetics/presets`` (default ``~/.config/mesokinetics/presets``)."""
    if os.name == "nt":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mesokinetics" / "presets"


def shipped_preset_dir() -> Path | None:
    """The folder of the presets shipped with the package (``importlib.resources``), or
    None if the package data cannot be found."""
    from importlib import resources

    try:
        folder = resources.files(PRESET_PACKAGE)
    except ModuleNotFoundError:
        # an editable install made before the presets became package data: the source
        # tree's folder (reinstall with `pip install -e .` to use the package data)
        folder = Path(__file__).resolve().parents[2] / "geometries"
    path = Path(os.fspath(folder)) if isinstance(folder, os.PathLike) else None
    return path if path is not None and path.is_dir() else None


def preset_dirs() -> list[Path]:
    """Existing folders searched for presets, first wins: the folders of
    $MESOKINETICS_PRESETS, the user folder (:func:`user_preset_dir`), the shipped presets
    (:func:`shipped_preset_dir`)."""
    dirs = [Path(p).expanduser() for p in os.environ.get("MESOKINETICS_PRESETS", "").split(os.pathsep) if p]
    dirs.append(user_preset_dir())
    shipped = shipped_preset_dir()
    if shipped is not None:
        dirs.append(shipped)
    out: list[Path] = []
    for d in dirs:
        if d.is_dir() and d not in out:
            out.append(d)
    return out


def list_presets() -> dict[str, Path]:
    """{name: path} of the available presets (first folder wins)."""
    found: dict[str, Path] = {}
    for d in preset_dirs():
        for path in sorted(d.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def find_preset(name_or_path: str | os.PathLike) -> Path:
    """A preset name (file stem in :func:`preset_dirs`) or a path to a TOML file."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if path.is_file():
        return path
    if path.suffix == ".toml" or os.sep in text or (os.altsep and os.altsep in text):
        raise ConfigError(f"{text}: no such file")
    presets = list_presets()
    if text in presets:
        return presets[text]
    hint = ", ".join(presets) or f"none found; set MESOKINETICS_PRESETS or add files to {user_preset_dir()}"
    raise ConfigError(f"{text}: no such preset or file (presets: {hint})")


#: largest configuration file read (bytes); the presets have about 2 kB
MAX_CONFIG_BYTES = 16 * 2 ** 20


def read_toml(path: Path, label: str | None = None) -> dict:
    """Parse a TOML file as data; errors become one-line :class:`ConfigError`."""
    from .files import check_readable_file

    label = label or str(path)
    try:  # a regular file of sane size: no device, FIFO or multi-GB file is read
        check_readable_file(path, MAX_CONFIG_BYTES, "the configuration file")
    except ValueError as exc:
        raise ConfigError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{label}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label}: malformed TOML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{label}: malformed TOML: tables or lists nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{label}: malformed TOML: {str(exc).splitlines()[0][:100]}") from None


def load_config(source, overrides: Mapping[str, Any] | Iterable[str] | None = None) -> Config:
    """Read and validate a configuration.

    source : a preset name (see :func:`list_presets`), a path to a TOML file, a nested
        dict, or a :class:`Config`
    overrides : {dotted key: value} or 'key=value' strings (as ``--set``), applied
        before validation; e.g. ``{"numerics.cells": 16, "geometry.width": 50.0}``

    Raises :class:`ConfigError` with a one-line message naming the key.
    """
    if isinstance(overrides, Mapping):
        pairs = dict(overrides)
    else:
        pairs = dict(parse_override(o) for o in (overrides or ()))
    if isinstance(source, Config):
        return source.replace(pairs) if pairs else source
    if not isinstance(source, (Mapping, str, os.PathLike)):
        raise TypeError("source must be a preset name, a TOML path, a nested dict or a Config, "
                        f"got {type(source).__name__}")
    if isinstance(source, Mapping):
        _check_depth(source, "configuration")
        raw = copy.deepcopy(dict(source))
        name, where = str(raw.get("name", "config")), ""
    else:
        path = find_preset(source)
        raw = read_toml(path, label=os.fspath(source))
        name, where = path.stem, str(path)
    label = os.fspath(source) if where else name
    for key, value in pairs.items():
        _set_dotted(raw, key, value, label)
    model = raw.get("model")
    if where and isinstance(model, dict) and model.get("kind") == "wannier90":
        # files named by a configuration are relative to it; the resolved (absolute) path
        # is what result folders record
        for key in ("hr_file", "seed"):
            if isinstance(model.get(key), str) and not Path(model[key]).is_absolute():
                model[key] = str((Path(where).resolve().parent / model[key]))
    data = validate(raw, label)
    data.setdefault("name", name)
    return Config(data, data["name"], where, pairs)


# --------------------------------------------------------------------------------------
# TOML writer (the resolved configs hold only tables, numbers, strings, bools, lists)
# --------------------------------------------------------------------------------------


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(data: Mapping, prefix: str = "") -> str:
    """Serialize nested dicts of plain values to TOML (round-trips through tomllib)."""
    lines = [f"{_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    blocks = ["\n".join(lines)] if lines else []
    for k, v in data.items():
        if isinstance(v, Mapping):
            name = f"{prefix}.{_key(k)}" if prefix else _key(k)
            body = to_toml(v, name)
            blocks.append(f"[{name}]\n{body}")
    return "\n\n".join(b.rstrip("\n") for b in blocks) + "\n"


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_\-]+", k) else json.dumps(k)


def key_unit(dotted: str, model_kind: str | None = None) -> str:
    """Unit of a dotted key ('' if dimensionless or unknown)."""
    parts = dotted.split(".")
    key = None
    if len(parts) == 2 and parts[0] == "model" and model_kind in MODEL_KINDS:
        key = MODEL_KINDS[model_kind].get(parts[1])
    elif len(parts) == 2 and parts[0] in SCHEMA:
        key = SCHEMA[parts[0]].get(parts[1])
    elif len(parts) == 3 and parts[0] == "geometry" and parts[1] in WALLS:
        key = WALL_KEYS.get(parts[2])
    return "" if key is None or key.unit in ("", "-") else key.unit


# --------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------


def _default_text(key: Key) -> str:
    if key.default is REQUIRED:
        return "required"
    if key.default is OPTIONAL:
        return "-"
    return f"`{_toml_value(key.default)}`"


def _rows(section: str, keys: Mapping[str, Key]) -> list[str]:
    rows = []
    for name, key in keys.items():
        full = f"{section}.{name}" if section else name
        unit = key.unit if key.unit not in ("", "-") else ("1" if key.unit == "" else "-")
        rows.append(f"| `{full}` | {unit} | {_default_text(key)} | {key.allowed()} | {key.doc} |")
    return rows


def schema_markdown() -> str:
    """The key reference tables of docs/config.md (generated from :data:`SCHEMA`)."""
    head = ["| key | unit | default | allowed | meaning |", "|---|---|---|---|---|"]
    out = []
    out += ["### Top level", "", *head, *_rows("", SCHEMA[""]), ""]
    out += ["### `[model]`", "", *head, *_rows("model", SCHEMA["model"]), ""]
    for kind, params in MODEL_KINDS.items():
        out += [f"Parameters of `kind = \"{kind}\"`:", "", *head, *_rows("model", params), ""]
    for section in ("disorder", "conditions", "geometry"):
        out += [f"### `[{section}]`", "", *head, *_rows(section, SCHEMA[section]), ""]
    out += ["### `[geometry.bottom]`, `[geometry.top]`, `[geometry.left]`, `[geometry.right]`, "
            "`[geometry.notch]` (optional, one key each)", "",
            "Per-wall models: `bottom` and `top` (strip, film, rectangular wire section at "
            "b = 0 and b = height, periodic strip at y = 0 and y = W), `left` and `right` "
            "(rectangular wire section at a = 0 and a = width), `notch` (the notch and hole "
            "walls of a periodic strip). A wall without a table takes "
            "`geometry.specularity` or `geometry.roughness`.", "", *head,
            *_rows("geometry.bottom", WALL_KEYS), ""]
    for section in ("observables", "numerics", "output"):
        out += [f"### `[{section}]`", "", *head, *_rows(section, SCHEMA[section]), ""]
    return "\n".join(out)
