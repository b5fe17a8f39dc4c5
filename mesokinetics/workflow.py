"""From a configuration to a result: the code shared by notebooks and the command line.

    >>> import mesokinetics as mk
    >>> config = mk.load_config("rashba_strip", {"numerics.cells": 16, "numerics.angles": 16})
    >>> result = mk.run(config)                       # doctest: +SKIP
    >>> result.save("out")                            # doctest: +SKIP
    >>> mk.load_result("out").summary["conductance_ratio"]   # doctest: +SKIP

:func:`build` turns a validated :class:`~mesokinetics.io.config.Config` into the physics
objects (model, disorder, slab, numerics); :func:`run` solves and evaluates the
configured observables into a :class:`~mesokinetics.io.results.Result`, a plain container
of arrays and metadata that can be saved, loaded, pickled to a worker and plotted without
the physics objects. The physics core is used through its public API only.
"""

from __future__ import annotations

import datetime as _dt
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import operators as ops
from .disorder import PointDisorder
from .samples import Fuchs, PeriodicStrip, Rectangle, Slab, Soffer, disk
from .samples.section import DISK_CELL_SIZE
from .samples.slab import DEFAULT_CELLS
from .io.config import DEFAULT_SECTION_CELLS, Config, ConfigError, load_config
from .io.results import PARTS, Result
from .models import (Haldane, MassiveDirac, OrbitalTexture, ParabolicBand, QiWuZhang,
                     RashbaFerromagnet, RashbaLattice)
from .response import (mean_free_path, node_at_mu, solve_cross_section, solve_periodic_strip,
                       solve_slab, solve_uniform)
from .numerics import Numerics
from .models.base import safe_unit
from .parallel import connected
from .preflight import check_resources
from .units import E2_OVER_H

__all__ = ["Built", "RunError", "build", "run", "described", "safe_name", "output_folder"]


class RunError(RuntimeError):
    """The configuration is valid but the calculation cannot be done (e.g. mu lies in a
    gap of a strip, or a Fermi surface cannot be sampled); the message is one line."""


SHELL_NUMERICS = ("angles", "polar", "azimuth", "scan_points", "radial_order", "radial_panels",
                  "grazing_panels", "bz_grid", "bz_refine", "bz_contour_points")


#: geometry kinds solved on a cross-section mesh (maps rather than profiles)
SECTION_KINDS = ("wire", "periodic_strip")


@dataclass
class Built:
    """The physics objects of a configuration (``slab`` for strips and films,
    ``section`` for wires and periodic strips, both None for a uniform sample)."""

    config: Config
    model: Any
    disorder: PointDisorder
    slab: Slab | None
    mu: float
    field: np.ndarray
    temperature: float
    numerics: dict
    energy_points: int | None
    section: Any = None


def _label(config: Config) -> str:
    return config.name


def _model(spec: dict):
    kind = spec["kind"]
    params = {k: v for k, v in spec.items() if k != "kind"}
    if kind == "wannier90" and "seed" in params:
        from .io.wannier90 import read_wannier90

        # bounded reading of every file of the seed is read_wannier90's own
        return read_wannier90(params["seed"], dim=params["dim"])
    if kind == "wannier90":
        from .io.files import MAX_HR_BYTES, check_hr_header, check_readable_file
        from .io.wannier90 import read_hr

        # bounded reading: a regular file (not /dev/zero, not a FIFO), of a sane size,
        # whose header does not declare more than it holds
        check_readable_file(params["hr_file"], MAX_HR_BYTES, "model.hr_file")
        check_hr_header(params["hr_file"], "model.hr_file")
        dim = params["dim"]
        lattice = [params[a] for a in ("a1", "a2", "a3")[:dim]]
        spins = params["spins"] or None
        return read_hr(params["hr_file"], lattice, dim=dim, spins=spins)
    cls = {"parabolic_band": ParabolicBand, "rashba_ferromagnet": RashbaFerromagnet,
           "massive_dirac": MassiveDirac, "orbital_texture": OrbitalTexture,
           "rashba_lattice": RashbaLattice, "qi_wu_zhang": QiWuZhang, "haldane": Haldane}[kind]
    return cls(**params)


def _wall(spec: dict):
    if "roughness" in spec:
        return Soffer(spec["roughness"])
    return Fuchs(spec.get("specularity", 0.0))


def _section_cells(numerics: dict) -> tuple[int, int] | None:
    """numerics.section_cells, or None: the sample's default, which tol may refine."""
    cells = numerics.get("section_cells")
    return None if not cells else tuple(cells)


def _circle_cell_size(geo: dict, numerics: dict) -> float | None:
    """Triangle size (nm) of a circular section: numerics.cell_size, or None: the disk's
    default (radius / 10), which tol may refine."""
    size = numerics.get("cell_size")
    return None if not size else float(size)


def _mesh_cells(geo: dict, numerics: dict) -> int | None:
    """Cells of the spatial mesh (for the memory preflight), None for a uniform sample."""
    kind = geo["kind"]
    if kind == "uniform":
        return None
    if kind in ("strip", "film"):
        return numerics.get("cells") or DEFAULT_CELLS
    if kind == "wire" and geo.get("section") == "circle":
        # equilateral triangles of side h fill the disk: pi R^2 / (sqrt(3)/4 h^2)
        size = _circle_cell_size(geo, numerics) or DISK_CELL_SIZE * geo["radius"]
        return int(7.26 * (geo["radius"] / size) ** 2) + 1
    na, nb = _section_cells(numerics) or DEFAULT_SECTION_CELLS
    return na * nb


def _section(geo: dict, numerics: dict):
    """The cross-section sample of a wire or periodic strip configuration."""
    if "roughness" in geo:
        both = {"roughness": geo["roughness"]}
    else:
        both = {"specularity": geo.get("specularity", 0.0)}
    if geo["kind"] == "wire":
        if geo["section"] == "circle":
            return disk(geo["radius"], _circle_cell_size(geo, numerics), walls=0.0)
        walls = {side: _wall(geo.get(side, both)) for side in ("left", "right", "bottom", "top")}
        return Rectangle(geo["width"], geo["height"], walls, cells=_section_cells(numerics),
                         wall_cell=numerics.get("wall_cell"))
    walls = {name: _wall(geo.get(name, both)) for name in ("bottom", "top", "notch")}
    return PeriodicStrip(geo["length"], geo["width"], walls, cells=_section_cells(numerics),
                         notches=tuple(tuple(b) for b in geo["notches"]),
                         local_walls=geo["local_walls"])


def build(config: Config | dict | str) -> Built:
    """Model, disorder, slab or section (both None for a uniform sample) and numerics of a
    configuration."""
    if not isinstance(config, Config):
        config = load_config(config)
    c = config.data
    name = _label(config)
    try:
        model = _model(c["model"])
    except (ValueError, TypeError, OSError) as exc:
        raise ConfigError(f"{name}: [model]: {exc}") from None
    wants_spin = any(c["observables"][k] for k in ("spin", "pauli", "torque"))
    if wants_spin and model.spin_matrices is None:  # a Wannier90 seed without spinors
        raise ConfigError(f"{name}: observables: spin, pauli and torque need spin labels; the "
                          "model has none (a seed without spinors, or no model.spins)")
    # keys left out (None) take the solver's own defaults (grazing_panels: 6 for strips,
    # films and periodic strips, 1 for wires)
    numerics = {k: c["numerics"][k] for k in SHELL_NUMERICS if c["numerics"].get(k) is not None}
    mu = c["conditions"]["mu"]
    dis = c["disorder"]
    shell_numerics = Numerics(**numerics)
    try:  # before the first shell is sampled (the disorder from tau or l samples one)
        check_resources(model, shell_numerics, cells=_mesh_cells(c["geometry"], c["numerics"]))
    except ValueError as exc:
        text = str(exc)
        if c["geometry"]["kind"] in SECTION_KINDS:  # the cells of a section are set by these keys
            text = text.replace("numerics.cells", "numerics.cell_size"
                                if c["geometry"].get("section") == "circle" else "numerics.section_cells")
        raise ConfigError(f"{name}: {text}") from None
    key = next(iter(dis))
    try:
        if key == "gamma":
            disorder = PointDisorder(dis["gamma"])
        elif key == "tau_fs":
            disorder = PointDisorder.from_tau(model, mu, dis["tau_fs"], shell_numerics)
        else:
            disorder = PointDisorder.from_mean_free_path(model, mu, dis["mean_free_path"], shell_numerics)
    except ValueError as exc:
        raise ConfigError(f"{name}: disorder.{key}: {exc}") from None
    geo = c["geometry"]
    slab = section = None
    if geo["kind"] in SECTION_KINDS:
        try:
            section = _section(geo, c["numerics"])
        except ValueError as exc:
            raise ConfigError(f"{name}: [geometry]: {exc}") from None
    elif geo["kind"] != "uniform":
        if "roughness" in geo:
            both = {"roughness": geo["roughness"]}
        else:
            both = {"specularity": geo["specularity"]}
        walls = (_wall(geo.get("bottom", both)), _wall(geo.get("top", both)))
        slab = Slab(geo["width"], walls, cells=c["numerics"].get("cells"),
                    wall_cell=c["numerics"].get("wall_cell"), normal=geo["normal"])
    return Built(config, model, disorder, slab, mu, np.array(c["conditions"]["field"], float),
                 c["conditions"]["temperature"], numerics, c["numerics"].get("energy_points"),
                 section)


def observables(built: Built) -> dict:
    """{quantity: (metadata, [operators per component])} for the configured observables.

    Vectors (current, spin, pauli, orbital) have one operator per component; the torque
    is derived from the Pauli components (T = J_e m x <sigma>) and has none.
    """
    model, obs = built.model, built.config.data["observables"]
    d = model.dim
    out: dict[str, tuple[dict, list]] = {}

    def vector(name, label, fn, comps):
        opl = [fn(model, a) for a in comps]
        out[name] = ({"label": label, "components": list(comps), "vector": True,
                      "unit": _density_unit(opl[0].unit, d), "operators": [o.name for o in opl]}, opl)

    if obs["current"]:
        vector("current", "charge current density j", ops.charge_current, "xyz"[:d])
    if obs["spin"]:
        vector("spin", "spin density <s>", ops.spin, "xyz")
    if obs["pauli"] or obs["torque"]:
        vector("pauli", "Pauli spin density <sigma>", ops.pauli, "xyz")
    if obs["orbital"]:
        vector("orbital", "orbital angular momentum density <L>", ops.orbital, "xyz")
    for pair in obs["spin_current"]:
        op = ops.spin_current(model, pair[0], pair[2])
        out[f"spin_current_{pair}"] = ({"label": f"spin current js^{pair[0]}_{pair[2]}",
                                        "components": [], "vector": False,
                                        "unit": f"{op.unit} nm^-{d}", "operators": [op.name]}, [op])
    for pair in obs["orbital_current"]:
        op = ops.orbital_current(model, pair[0], pair[2])
        out[f"orbital_current_{pair}"] = ({"label": f"orbital current jL^{pair[0]}_{pair[2]}",
                                           "components": [], "vector": False,
                                           "unit": f"{op.unit} nm^-{d}", "operators": [op.name]}, [op])
    return out


def _stack(densities: list, part: str) -> np.ndarray:
    """Components of one part: (ncomp,) for floats, (J, ncomp) for profiles."""
    return np.stack([np.broadcast_to(np.asarray(getattr(x, part), float), np.shape(densities[0].intraband))
                     for x in densities], axis=-1)


def _torque(pauli: np.ndarray, model) -> np.ndarray:
    """T = J_e m x <sigma> over the last axis."""
    return model.exchange * np.cross(np.broadcast_to(model.magnetization, pauli.shape), pauli)


def run(config: Config | dict | str, progress: Callable[[int, int], None] | None = None,
        keep_response: bool = True,
        observables_progress: Callable[[int, int], None] | None = None, *,
        scheduler=None) -> Result:
    """Solve a configuration and evaluate its observables.

    config : a :class:`~mesokinetics.io.config.Config`, a preset name, a TOML path or a
        nested dict (validated here)
    progress : optional callback progress(done, total) over the energy shells
    keep_response : keep the solver's result object as ``result.response`` (not saved)
    observables_progress : optional callback progress(done, total) over the Fermi-sea
        chunks (and shells) of the observables step, the longest step of lattice models
    scheduler : where the Fermi-sea chunks of the observables run
        (:mod:`mesokinetics.parallel`): None (serial, in this process), a Dask scheduler
        address ('tcp://host:8786', connected once for the whole run and closed after it),
        a ``distributed.Client`` or a ``concurrent.futures.Executor``. The numbers equal
        the serial run's (``mesokinetics run --scheduler ADDRESS``).

    Returns a :class:`~mesokinetics.io.results.Result`; raises
    :class:`~mesokinetics.io.config.ConfigError` or :class:`RunError` (one line) for
    problems of the input, :class:`~mesokinetics.parallel.SchedulerError` (one line) for
    a scheduler that cannot be used.
    """
    t0 = time.perf_counter()
    # an address: one client for all the passes of the run (the solvers and the kept
    # response hold the address, and reuse this client while it is open)
    with connected(scheduler):
        return _run(config, t0, progress, keep_response, observables_progress, scheduler)


def _run(config, t0: float, progress, keep_response: bool, observables_progress,
         scheduler) -> Result:
    """The body of :func:`run`, inside its scheduler's connection."""
    from ._version import __version__

    if not isinstance(config, Config):
        config = load_config(config)
    built = build(config)
    t_build = time.perf_counter()
    name = _label(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            accuracy = {"tol": config.data["numerics"].get("tol", 1e-3),
                        "budget": config.data["numerics"].get("budget")}
            common = dict(temperature=built.temperature, energy_points=built.energy_points,
                          progress=progress, scheduler=scheduler, **accuracy, **built.numerics)
            if isinstance(built.section, PeriodicStrip):
                response = solve_periodic_strip(built.model, built.disorder, built.section,
                                                built.mu, built.field, **common)
            elif built.section is not None:
                response = solve_cross_section(built.model, built.disorder, built.section,
                                               built.mu, built.field, **common)
            elif built.slab is None:
                response = solve_uniform(built.model, built.disorder, built.mu, built.field,
                                         temperature=built.temperature,
                                         energy_points=built.energy_points, progress=progress,
                                         scheduler=scheduler, **accuracy, **built.numerics)
            else:
                response = solve_slab(built.model, built.disorder, built.slab, built.mu,
                                      built.field, temperature=built.temperature,
                                      energy_points=built.energy_points, progress=progress,
                                      scheduler=scheduler, **accuracy, **built.numerics)
        except (ValueError, NotImplementedError) as exc:  # physics preconditions (Fermi
            # surface, sampling) and combinations the solvers do not implement
            raise RunError(f"{name}: {exc}") from None
        except ImportError as exc:  # a circular section without Gmsh
            raise RunError(f"{name}: geometry.section = 'circle': {exc}") from None
    t_solve = time.perf_counter()
    # deprecation notices of third-party libraries (e.g. FiPy on numpy.core) say nothing
    # about this result: not recorded among its warnings
    caught = [w for w in caught if not (
        issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning))
        and "mesokinetics" not in str(w.filename))]
    arrays, info = _collect(built, response, observables_progress)
    t_obs = time.perf_counter()
    info.update({
        "name": name, "description": described(config), "version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": config.source, "overrides": {k: v for k, v in config.overrides.items()},
        "warnings": sorted({str(w.message) for w in caught}),
        "timings": {"build_s": t_build - t0, "solve_s": t_solve - t_build,
                    "observables_s": t_obs - t_solve, "run_s": t_obs - t0},
    })
    data = config.to_dict()
    data["description"] = info["description"]  # the saved config.toml says what was run
    return Result(data, arrays, info, response if keep_response else None)


def _section_info(built: Built, response) -> dict:
    """Geometry metadata of a wire or periodic strip, from the solved sample and mesh:
    shape, sizes (nm), the model axes of the two section coordinates and their names,
    the wire (transport) axis and the wall model of every region."""
    section, mesh = built.section, response.mesh
    axes = [int(a) for a in mesh.axes]
    wire = int(response.wire_axis)
    info = {"axes": axes, "axis_names": ["xyz"[a] for a in axes],
            "wire_axis": wire, "transport_axis": wire}
    walls = {}
    for name, wall in zip(mesh.region_names, section.wall_models(mesh.region_names)):
        walls.setdefault(name.split(":")[0], repr(wall))  # local walls: 'notch:7' -> 'notch'
    info["walls"] = [f"{k}: {v}" for k, v in walls.items()]
    v = np.asarray(mesh.vertices if mesh.vertices is not None else mesh.centers, float)
    extent = (v.max(axis=0) - v.min(axis=0)).tolist()
    if isinstance(section, PeriodicStrip):
        info.update({"section": "periodic_strip", "length": float(section.length),
                     "width": float(section.width),
                     "notches": [list(b) for b in section.notches]})
    elif isinstance(section, Rectangle):
        info.update({"section": "rectangle", "width": float(section.width),
                     "height": float(section.height)})
    else:  # Gmsh sections (the circle of a configuration, polygons from Python)
        geo = built.config.data["geometry"]
        circle = geo.get("section") == "circle"
        info.update({"section": "circle" if circle else "gmsh", "width": float(extent[0]),
                     "height": float(extent[1])})
        if circle:
            info["radius"] = float(geo["radius"])
    info["extent"] = extent
    info["cells"] = int(mesh.cells)
    info["area"] = float(mesh.area)
    info["period"] = None if mesh.period is None else [float(x) for x in mesh.period]
    return info


def _geometry_info(built: Built, response=None) -> dict:
    d = built.model.dim
    geo = dict(built.config.data["geometry"])
    info = {"kind": geo["kind"], "dim": d}
    field = built.field
    if built.section is not None:
        info.update(_section_info(built, response))
        return info
    if built.slab is None:
        info["transport_axis"] = int(np.argmax(np.abs(field)))
        return info
    normal = built.slab.normal_axis(d)
    inplane = [i for i in range(d) if i != normal]
    info.update({
        "width": float(built.slab.width), "normal_axis": normal,
        "transport_axis": max(inplane, key=lambda i: abs(field[i])),
        "walls": [repr(w) for w in built.slab.walls],
    })
    return info


def _collect(built: Built, response, progress=None) -> tuple[dict, dict]:
    """Arrays and metadata of a solved configuration (see Result for the layout).

    Every number is checked: an overflow or NaN is a RunError naming the quantity (one
    line; numpy's floating-point warnings are silenced here, the check reports them)."""
    with np.errstate(all="ignore"):
        return _collect_checked(built, response, progress)


def _collect_checked(built: Built, response, progress=None) -> tuple[dict, dict]:
    model = built.model
    d = model.dim
    arrays: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    quantities: dict[str, dict] = {}
    summary: dict[str, float] = {}
    summary_units: dict[str, str] = {}
    slab = built.slab is not None
    section = built.section is not None
    bulk = response.bulk if slab or section else response
    wanted = observables(built)
    # every bulk response in one pass over the Fermi sea (one diagonalization per chunk)
    bulk.responses([op for _, opl in wanted.values() for op in opl], progress=progress)

    for qname, (meta, opl) in wanted.items():
        dens_b = [bulk.density(op) for op in opl]
        for part in PARTS:
            arrays[f"bulk.{qname}.{part}"] = _stack(dens_b, part)
            units[f"bulk.{qname}.{part}"] = meta["unit"]
        if slab or section:
            where = "profile" if slab else "map"
            dens = [response.density(op) for op in opl]
            for part in PARTS:
                arrays[f"{where}.{qname}.{part}"] = _stack(dens, part)
                units[f"{where}.{qname}.{part}"] = meta["unit"]
        quantities[qname] = meta
    if "pauli" in quantities and built.config.data["observables"]["torque"]:
        unit = f"eV nm^-{d}"
        for where in ("bulk", "profile") if slab else ("bulk", "map") if section else ("bulk",):
            for part in PARTS:
                arrays[f"{where}.torque.{part}"] = _torque(arrays[f"{where}.pauli.{part}"], model)
                units[f"{where}.torque.{part}"] = unit
        quantities["torque"] = {"label": "spin-orbit torque density J_e m x <sigma>",
                                "components": list("xyz"), "vector": True, "unit": unit,
                                "operators": ["J_e m x sigma"]}
        if not built.config.data["observables"]["pauli"]:
            for key in [k for k in arrays if ".pauli." in k]:
                del arrays[key], units[key]
            del quantities["pauli"]

    # conductivity tensor of the bulk, by contribution
    cond_unit = "e^2/h" + _nm(2 - d)
    cond = bulk.conductivity("e2/h")
    for part in PARTS:
        arrays[f"bulk.conductivity.{part}"] = np.asarray(getattr(cond, part), float)
        units[f"bulk.conductivity.{part}"] = cond_unit

    # summary scalars
    for qname, meta in quantities.items():
        comps = meta["components"] or [None]
        for i, comp in enumerate(comps):
            label = f"{qname}_{comp}" if comp else qname
            if slab:
                prof = arrays[f"profile.{qname}.total"][:, i]
                w = np.diff(response.faces)
                vals = {"bulk": arrays[f"bulk.{qname}.total"][i], "wall": prof[0],
                        "centre": prof[len(prof) // 2], "mean": np.sum(w * prof) / np.sum(w)}
            elif section:
                cell_map = arrays[f"map.{qname}.total"][:, i]
                w = response.areas
                vals = {"bulk": arrays[f"bulk.{qname}.total"][i],
                        "mean": np.sum(w * cell_map) / np.sum(w),
                        "min": cell_map.min(), "max": cell_map.max()}
            else:
                vals = {part: arrays[f"bulk.{qname}.{part}"][i] for part in PARTS}
            for k, v in vals.items():
                summary[f"{label}.{k}"] = float(v)
                summary_units[f"{label}.{k}"] = meta["unit"]
    ehat = safe_unit(built.field)
    summary["sigma_parallel"] = float(ehat @ arrays["bulk.conductivity.total"] @ ehat)
    summary_units["sigma_parallel"] = cond_unit
    if not slab:
        for i in range(d):
            for j in range(d):
                summary[f"sigma_{'xyz'[i]}{'xyz'[j]}"] = float(arrays["bulk.conductivity.total"][i, j])
                summary_units[f"sigma_{'xyz'[i]}{'xyz'[j]}"] = cond_unit
    node = _fermi_node(bulk)
    if slab:
        mfp = float(response.mean_free_path)
        if not (np.isfinite(mfp) and mfp > 0):  # e.g. mass = 1e12 with gamma = 1e300
            raise RunError(f"{_label(built.config)}: the mean free path |v| tau is {mfp:g} nm "
                           f"(gamma = {built.disorder.gamma:g} eV^2 nm^{d}): the disorder is "
                           "far too strong or the velocities far too small for a kinetic "
                           "description; lower the disorder or check the model parameters")
        summary["mean_free_path"] = mfp
        summary["conductance_ratio"] = float(response.conductance_ratio())
        g_l = float(response.conductance_per_length() / E2_OVER_H)
        summary["conductance_per_length"] = g_l  # I/E = G L (strip); per unit width (film)
        summary["sheet_conductance"] = g_l if d == 3 else g_l / float(built.slab.width)
        summary_units.update({"mean_free_path": "nm", "conductance_ratio": "1",
                              "conductance_per_length": "e^2/h" + _nm(3 - d),
                              "sheet_conductance": "e^2/h"})
        summary["width_over_mfp"] = float(built.slab.width / response.mean_free_path)
        summary_units["width_over_mfp"] = "1"
    elif section:
        mfp = float(response.mean_free_path)
        summary["mean_free_path"] = mfp
        summary["conductance_ratio"] = float(response.conductance_ratio())
        # wire: int j.Ehat dA / |E|; periodic strip: I / |E| per unit field (e^2/h nm both)
        summary["conductance_per_length"] = float(response.conductance_per_length() / E2_OVER_H)
        geo = _section_info(built, response)
        size = 2 * geo["radius"] if "radius" in geo else geo["width"]
        summary["width_over_mfp"] = float(size / mfp)
        summary["iterations"] = float(response.iterations)
        summary["cells"] = float(response.mesh.cells)
        summary_units.update({"mean_free_path": "nm", "conductance_ratio": "1",
                              "conductance_per_length": "e^2/h nm", "width_over_mfp": "1",
                              "iterations": "1", "cells": "1"})
    elif node is not None:
        summary["mean_free_path"] = mean_free_path(node.solution)
        summary_units["mean_free_path"] = "nm"
    summary["gamma"] = float(built.disorder.gamma)
    summary_units["gamma"] = f"eV^2 nm^{d}"

    # the distribution g_n(k) on the shell at mu
    if slab:
        faces = np.asarray(response.faces, float)
        arrays["mesh.faces"] = faces
        units["mesh.faces"] = "nm"
        sol = response.solution
        arrays["distribution.g"] = np.asarray(sol.g, float)
        shell = sol.shell
        energy = node_at_mu(response.nodes, response.mu).energy
    elif section:
        mesh_arrays = _mesh_arrays(response.mesh)
        arrays.update(mesh_arrays)
        units.update({k: "1" if k in ("mesh.cell_vertices", "mesh.cell_offsets", "mesh.wall_region")
                      else "nm^2" if k == "mesh.areas" else "nm" for k in mesh_arrays})
        shell = None  # g(r, k) over a 2D mesh is large and has no figure: not stored
    elif node is not None:
        shell = node.solution.shell
        arrays["distribution.g"] = built.field @ node.solution.g
        energy = node.energy
    else:
        shell = None
    if shell is not None:
        arrays["distribution.k"] = np.asarray(shell.k, float)
        arrays["distribution.band"] = np.asarray(shell.band, np.int64)
        arrays["distribution.weight"] = np.asarray(shell.weight, float)
        units.update({"distribution.g": "eV", "distribution.k": "1/nm", "distribution.band": "1",
                      "distribution.weight": f"eV^-1 nm^-{d}"})
    info = {
        "format": "mesokinetics-result", "format_version": 1,
        "geometry": _geometry_info(built, response), "dim": d,
        "mu": built.mu, "field": built.field.tolist(), "temperature": built.temperature,
        "distribution_energy": float(energy) if shell is not None else None,
        "quantities": quantities, "array_units": units,
        "summary": summary, "summary_units": summary_units,
        "units": dict(bulk.metadata.get("units", {})),
        "convergence": _convergence_info(response),
    }
    _check_finite(built, arrays, summary)
    return arrays, info


def _convergence_info(response) -> dict | None:
    """How the solve met its tol (mesokinetics.Convergence.as_dict), with the estimated
    error of the conductance ratio of finite samples; None for tol = None solves."""
    conv = getattr(response, "convergence", None)
    if conv is None:
        return None
    out = conv.as_dict()
    if hasattr(response, "conductance_ratio"):
        out["conductance_ratio_error"] = float(
            response.error_of(lambda r: r.conductance_ratio()))
    return out


#: the arrays of a section mesh in a result (see :func:`_mesh_arrays`)
_MESH_KEYS = ("mesh.vertices", "mesh.cell_vertices", "mesh.cell_offsets", "mesh.centers",
              "mesh.areas", "mesh.walls", "mesh.wall_region")


def _mesh_arrays(mesh) -> dict:
    """Plain arrays of a section mesh, enough to draw maps and write ParaView files from a
    saved result without the solver objects: vertices (V, 2) in the section coordinates
    (nm), the counter-clockwise vertices of every cell as a flat index list with offsets
    (J + 1,), cell centres (J, 2), areas (J,) (nm^2), and the wall faces as segments
    (B, 2, 2) with their region index (B,)."""
    b = mesh.boundary
    # a wall face is a segment: its centre +- half its length along the tangent
    tangent = np.stack([-mesh.normals[b, 1], mesh.normals[b, 0]], axis=1) * (0.5 * mesh.areas[b])[:, None]
    centre = mesh.face_centers[b]
    out = {"mesh.centers": np.asarray(mesh.centers, float), "mesh.areas": np.asarray(mesh.volumes, float),
           "mesh.walls": np.stack([centre - tangent, centre + tangent], axis=1).astype(float),
           "mesh.wall_region": np.asarray(mesh.region[b], np.int64)}
    if mesh.vertices is not None and mesh.cell_vertices is not None:
        flat = [int(i) for cell in mesh.cell_vertices for i in cell]
        out["mesh.vertices"] = np.asarray(mesh.vertices, float)
        out["mesh.cell_vertices"] = np.asarray(flat, np.int64)
        out["mesh.cell_offsets"] = np.cumsum([0] + [len(c) for c in mesh.cell_vertices]).astype(np.int64)
    return out


def _check_finite(built: Built, arrays: dict, summary: dict) -> None:
    """No NaN or inf is ever written: RunError naming the first quantity that is not
    finite (e.g. a field so large that the currents overflow)."""
    for key, value in list(summary.items()) + list(arrays.items()):
        a = np.asarray(value)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise RunError(f"{_label(built.config)}: {key} is not finite (NaN or inf): the "
                           "inputs are outside the range the solver can represent (check the "
                           "magnitudes of field, mu, gamma and the model parameters)")


def _density_unit(unit: str, d: int) -> str:
    return f"nm^-{d}" if unit in ("1", "") else f"{unit} nm^-{d}"


def _nm(power: int) -> str:
    """' nm^p' (empty for p = 0, ' nm' for p = 1)."""
    return "" if power == 0 else " nm" if power == 1 else f" nm^{power}"


def _fermi_node(uniform):
    return node_at_mu(uniform.nodes, uniform.mu)


# --------------------------------------------------------------------------------------
# Output folders and descriptions
# --------------------------------------------------------------------------------------

#: longest folder name derived from a configuration's name
MAX_NAME = 100


def safe_name(name) -> str:
    """A folder name derived from a configuration's ``name``: every run of characters
    other than letters, digits, '-', '_' and '.' becomes one '_' (so path separators,
    '..' components and drive letters cannot survive), leading and trailing dots and
    underscores are stripped, the result is cut to 100 characters; 'config' if nothing
    is left. '/etc/x' -> 'etc_x', '../../x' -> 'x', '.hidden' -> 'hidden'."""
    import re

    text = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name))
    text = re.sub(r"(^|_)\.+(?=_|$)", r"\1", text)  # bare '.' and '..' components
    text = re.sub(r"_+", "_", text).strip("._")[:MAX_NAME].rstrip("._")
    return text or "config"


def output_folder(config: Config, out=None, kind: str = "results"):
    """Where a run (``kind='results'``) or a sweep (``kind='sweeps'``) writes: ``out`` if
    given, else ``<working directory>/<kind>/<safe_name(config.name)>``, which is always
    inside the working directory whatever the configuration's name."""
    from pathlib import Path

    if out is not None:
        return Path(out)
    base = Path.cwd() / kind
    folder = base / safe_name(config.name)
    if folder.parent != base:  # cannot happen: safe_name has no separators
        raise ConfigError(f"name = {config.name!r}: cannot derive a folder name")
    return folder


def described(config: Config) -> str:
    """The configuration's description, annotated with its overrides, e.g. 'diffuse
    walls (modified: geometry.specularity=0.5)': a preset's text describes the preset,
    not what --set made of it."""
    import json

    text = config.description
    if not config.overrides:
        return text
    shown = []
    for key, value in config.overrides.items():
        try:
            v = json.dumps(value) if not isinstance(value, str) else value
        except (TypeError, ValueError):
            v = str(value)
        shown.append(f"{key}={v}")
    note = f"modified: {', '.join(shown)}"
    return f"{text} ({note})" if text else note


# --------------------------------------------------------------------------------------
# Result folders of solver objects (the Python route)
# --------------------------------------------------------------------------------------


def save(response, folder, *, observables=None, spin_currents=(),
         name: str = "result", overwrite: bool = False, vtk: bool | None = None,
         png: bool | None = None) -> list:
    """Write a solver's result as a result folder, the layout `mesokinetics run` writes
    (result.npz, result.json with a hashed manifest, config.toml, result.vtu for films,
    strips, wires and periodic strips, PNG figures); read it back with
    :func:`mesokinetics.load_result`. Every result object has it as a method too:
    ``response.save(folder, ...)`` (:mod:`mesokinetics.response.saving`).

    response : a :class:`~mesokinetics.UniformResponse`, :class:`~mesokinetics.SlabResponse`,
        :class:`~mesokinetics.SectionResponse` or :class:`~mesokinetics.PeriodicStripResponse`
    observables : among "current", "spin", "pauli", "orbital", "torque" (Rashba
        ferromagnets); default ("current", "spin") for a model with spin, ("current",)
        otherwise. spin_currents : pairs "a_b" for (1/2){s_a, v_b}
    folder : new, empty or a previous result folder (else ``overwrite``, see
        :meth:`~mesokinetics.io.results.Result.save`)
    Returns the paths written, result.json last. Physics objects are saved here, outside
    the physics core, so the solvers and their results never do I/O themselves.
    """
    from ._version import __version__
    from .response import PeriodicStripResponse, SectionResponse, SlabResponse, UniformResponse

    if not isinstance(response, (UniformResponse, SlabResponse, SectionResponse)):
        raise TypeError(f"response must be a UniformResponse, SlabResponse, SectionResponse or "
                        f"PeriodicStripResponse, got {type(response).__name__}")
    known = ("current", "spin", "pauli", "orbital", "torque")
    model = response.model
    if observables is None:
        observables = ("current", "spin") if model.spin_matrices is not None else ("current",)
    unknown = set(observables) - set(known)
    if unknown:
        raise ValueError(f"observables must be among {known}, got {sorted(unknown)}")
    slab = response.slab if isinstance(response, SlabResponse) else None
    section = response.section if isinstance(response, SectionResponse) else None
    obs = {k: k in observables for k in known}
    obs.update({"spin_current": list(spin_currents), "orbital_current": []})
    if section is not None:
        kind = "periodic_strip" if isinstance(response, PeriodicStripResponse) else "wire"
    else:
        kind = "uniform" if slab is None else ("strip" if model.dim == 2 else "film")
    config = Config({"observables": obs, "geometry": {"kind": kind},
                     "output": {"vtk": True, "png": True, "pdf": False}},
                     name=safe_name(name))
    built = Built(config, model, response.disorder, slab, response.mu, response.field,
                  response.temperature, {}, len(response.nodes), section)
    arrays, info = _collect(built, response)
    info.update({"name": config.name, "description": f"saved from Python ({type(model).__name__})",
                 "version": __version__,
                 "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                 "source": "", "overrides": {}, "warnings": sorted(set(response_validity(response))),
                 "timings": {}})
    return Result(config.to_dict(), arrays, info, response).save(folder, vtk=vtk, png=png,
                                                                 overwrite=overwrite)


def response_validity(response) -> list:
    """The ValidityWarning messages recorded on a solver's result."""
    return list(getattr(response, "validity", []) or [])
