"""Result folders: NumPy arrays, a JSON with units, config and timings, ParaView and PNG files.

A result folder holds

* ``result.npz``  - every array (keys below), loadable with ``numpy.load``
* ``result.json`` - units of every array, the fully resolved configuration, summary
  scalars with units, package version, timings, warnings and the list of files
* ``config.toml`` - the resolved configuration: ``mesokinetics run DIR/config.toml``
  repeats the calculation
* ``result.vtu``  - ParaView file (strips, films, wires and periodic strips), see
  :mod:`mesokinetics.io.vtk`
* ``*.png`` (and ``*.pdf``) - figures, see :mod:`mesokinetics.plotting`

Array keys (d the model dimension, J the cells, P the shell points, c the components):

* ``bulk.<quantity>.<part>`` (c,): bulk (uniform) values, parts intraband, intrinsic,
  gradient, disorder, total; ``bulk.conductivity.<part>`` (d, d) in e^2/h nm^(2-d)
* ``profile.<quantity>.<part>`` (J, c): profiles across a strip or film (cell averages)
* ``mesh.faces`` (J+1,): cell faces along the wall normal (nm), 0 at the bottom wall
* ``map.<quantity>.<part>`` (J, c): maps over the cells of a wire cross-section or a
  periodic strip (cell averages), on the mesh ``mesh.vertices`` (V, 2) (nm, in the
  section's own coordinates, whose model axes are ``geometry.axes``),
  ``mesh.cell_vertices`` and ``mesh.cell_offsets`` (the counter-clockwise vertices of
  cell j are ``cell_vertices[cell_offsets[j]:cell_offsets[j + 1]]``), ``mesh.centers``
  (J, 2) (nm), ``mesh.areas`` (J,) (nm^2), ``mesh.walls`` (B, 2, 2) wall faces as
  segments (nm) and ``mesh.wall_region`` (B,)
* ``distribution.g`` (P, J) or (P,): g_n(k) on the shell at mu (eV, for the given field);
  ``distribution.k`` (P, d) in 1/nm, ``distribution.band`` (P,), ``distribution.weight``
  (P,) in eV^-1 nm^-d

Scalar quantities (spin and orbital currents) have c = 1.

Safety of result folders (see docs/workflows.md, "Output folders"):

* ``result.json`` carries the format marker ``"format": "mesokinetics-result"`` and a
  manifest ``{"manifest": {"format": ..., "hash": "sha256", "files": {name: digest}}}``
  of every other file written. Only files listed there (plain names inside the folder,
  with one of our suffixes, regular files) whose current sha256 still matches are ever
  removed, and a rerun replaces a file only if it is ours in that sense.
* A non-empty folder that is not a result folder is refused unless ``overwrite`` (the
  command line's ``--overwrite``); even then no file but those of the same names is
  replaced and nothing is removed.
* Files are first written into a temporary folder ``.mk-tmp-<pid>-save-*`` inside the
  target (removed on every exit path), then a *pending* ``result.json`` that lists the
  old and the new hashes is written, the files are moved in, stale files of the previous
  result removed, and the final ``result.json`` written last: a folder whose
  ``result.json`` is not pending is complete, and an interrupted save stays recognisable
  as ours.
"""

from __future__ import annotations

import io as _io
import json
import os
import re
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import (LOCK_NAME, atomic_write, clean_temporaries, is_temporary, sha256_file,
                     temporary_dir)

__all__ = ["PARTS", "Result", "ResultError", "load_result", "atomic_write", "summary_text",
           "read_manifest", "folder_state", "check_output_folder", "verify_result"]

#: The contributions of paper Eqs. (1)-(2) and their sum.
PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")

FORMAT = "mesokinetics-result"
#: 2: result.json carries a manifest with the sha256 of every file
FORMAT_VERSION = 2
#: suffixes of the files a result folder holds (nothing else is ever removed)
OUR_SUFFIXES = (".npz", ".toml", ".vtu", ".png", ".pdf")
#: result.json larger than this is not ours (it holds metadata only, arrays are in the npz)
MAX_JSON_BYTES = 64 << 20

_HEX64 = re.compile(r"[0-9a-f]{64}")


class ResultError(ValueError):
    """A folder that is not a (complete) result folder, or one that may not be written;
    one-line message."""


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x


def _plain_name(name) -> bool:
    """A file name directly inside a folder: no separator, no leading dot, no NUL."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and not name.startswith(".")
            and not any(c in name for c in "/\\\0:") and name not in (".", ".."))


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read_json(path: Path):
    """Parse a regular JSON file of bounded size; ResultError otherwise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise ResultError(f"{path}: missing") from None
    except OSError as exc:
        raise ResultError(f"{path}: unreadable: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ResultError(f"{path}: not a regular file")
    if st.st_size > MAX_JSON_BYTES:
        raise ResultError(f"{path}: too large for a result file ({st.st_size} bytes)")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ResultError(f"{path}: unreadable: {' '.join(str(exc).split())[:200]}") from None


def read_manifest(folder) -> dict | None:
    """{file name: set of accepted sha256 digests} of a result folder written by
    mesokinetics (format marker and manifest present), or None for any other folder.
    Entries that are not plain names with one of our suffixes are dropped."""
    try:
        info = _read_json(Path(folder) / "result.json")
    except ResultError:
        return None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        return None
    manifest = info.get("manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("hash") != "sha256" or not isinstance(manifest.get("files"), dict):
        return None
    out = {}
    for name, digests in manifest["files"].items():
        if not _plain_name(name) or name == "result.json" or not name.endswith(OUR_SUFFIXES):
            continue
        digests = [digests] if isinstance(digests, str) else digests
        if isinstance(digests, list):
            ok = {d for d in digests if isinstance(d, str) and _HEX64.fullmatch(d)}
            if ok:
                out[name] = ok
    return out


def _entries(folder: Path) -> list[str]:
    """Names in ``folder`` other than our lock and our temporaries."""
    return [n for n in os.listdir(folder) if n != LOCK_NAME and not is_temporary(n)]


def folder_state(folder) -> str:
    """'missing', 'empty', 'result' (a result folder of ours, possibly interrupted while
    saving), 'file' (not a folder) or 'foreign' (anything else that is not empty)."""
    folder = Path(folder)
    if not os.path.lexists(folder):
        return "missing"
    if not folder.is_dir():
        return "file"
    if not _entries(folder):
        return "empty"
    return "result" if read_manifest(folder) is not None else "foreign"


def check_output_folder(folder, overwrite: bool = False, option: str = "--out") -> str:
    """Refuse a folder that may not receive a result (one-line :class:`ResultError`);
    returns its :func:`folder_state`."""
    state = folder_state(folder)
    flag = "--overwrite" if option.startswith("--") else "overwrite=True"
    if state == "file":
        raise ResultError(f"{option} {folder}: exists and is not a folder (allowed: a new or empty "
                          "folder or a previous result folder)")
    if state == "foreign" and not overwrite:
        raise ResultError(f"{option} {folder}: not empty and not a mesokinetics result folder "
                          "(allowed: a new or empty folder, a previous result folder, or any "
                          f"folder with {flag})")
    if state == "result" and not overwrite:  # before any work: the files every result writes
        folder, manifest = Path(folder), read_manifest(folder)
        changed = [n for n in ("result.npz", "config.toml")
                   if os.path.lexists(folder / n) and not _ours(folder, n, manifest)]
        if changed:
            raise ResultError(_conflict_message(option, folder, changed, flag))
    return state


def _conflict_message(option: str, folder, names, flag: str) -> str:
    return (f"{option} {folder}: {', '.join(names)} not written by mesokinetics or changed since "
            f"(allowed: a previous result with unchanged files, or {flag})")


def _ours(folder: Path, name: str, manifest: dict) -> bool:
    """Whether ``folder/name`` is a regular file listed in ``manifest`` with its current hash."""
    return name in manifest and _regular(folder / name) and sha256_file(folder / name) in manifest[name]


def verify_result(folder) -> str | None:
    """None if ``folder`` is a complete result folder whose every listed file is intact,
    else a one-line reason."""
    folder = Path(folder)
    try:
        info = _read_json(folder / "result.json")
    except ResultError as exc:
        return str(exc)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        return f"{folder / 'result.json'}: not a mesokinetics result file"
    if info.get("pending"):
        return f"{folder}: incomplete (interrupted while saving)"
    manifest = read_manifest(folder)
    if not manifest or "result.npz" not in manifest:
        return f"{folder / 'result.json'}: no file manifest (written by another version?)"
    for name in manifest:
        if not _ours(folder, name, manifest):
            what = "missing" if not os.path.lexists(folder / name) else "changed or damaged"
            return f"{folder / name}: {what} since it was written"
    return None


@dataclass
class Result:
    """Arrays and metadata of one solved configuration (see the module docstring).

    config : the fully resolved configuration (nested dict)
    arrays : {key: numpy array}
    info : metadata (units, quantities, summary, timings, version, geometry)
    response : the solver's result object when freshly computed (not saved), else None
    """

    config: dict
    arrays: dict
    info: dict
    response: Any = field(default=None, repr=False, compare=False)

    # -- access ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.info.get("name", "result")

    @property
    def geometry(self) -> dict:
        return self.info["geometry"]

    @property
    def is_slab(self) -> bool:
        """A strip or film: profiles across the sample (``profile``)."""
        return self.geometry["kind"] in ("strip", "film")

    @property
    def is_section(self) -> bool:
        """A wire cross-section or a periodic strip: maps over mesh cells (``map``)."""
        return self.geometry["kind"] in ("wire", "periodic_strip")

    @property
    def quantities(self) -> dict:
        return self.info["quantities"]

    @property
    def summary(self) -> dict:
        return self.info["summary"]

    @property
    def faces(self) -> np.ndarray:
        return self.arrays["mesh.faces"]

    @property
    def centers(self) -> np.ndarray:
        f = self.faces
        return 0.5 * (f[1:] + f[:-1])

    @property
    def widths(self) -> np.ndarray:
        return np.diff(self.faces)

    def unit(self, quantity: str) -> str:
        return self.quantities[quantity]["unit"]

    def components(self, quantity: str) -> list[str]:
        """Component labels ('x', 'y', 'z'), or [''] for a scalar quantity."""
        return self.quantities[quantity]["components"] or [""]

    def bulk(self, quantity: str, part: str = "total") -> np.ndarray:
        """Bulk values (c,) of one contribution."""
        return self.arrays[f"bulk.{quantity}.{part}"]

    def profile(self, quantity: str, part: str = "total", accumulation: bool = False) -> np.ndarray:
        """Profile (J, c) of one contribution across a strip or film; with
        ``accumulation`` the bulk value of the same contribution is subtracted."""
        if not self.is_slab:
            raise ValueError(f"{self.name} is a uniform sample: it has no profiles, use bulk()")
        p = self.arrays[f"profile.{quantity}.{part}"]
        return p - self.bulk(quantity, part) if accumulation else p

    def map(self, quantity: str, part: str = "total", accumulation: bool = False) -> np.ndarray:
        """Map (J, c) of one contribution over the cells of a wire cross-section or a
        periodic strip; with ``accumulation`` the bulk value of the same contribution is
        subtracted."""
        if not self.is_section:
            raise ValueError(f"{self.name} is a {self.geometry['kind']} sample: it has no "
                             "cross-section maps (wires and periodic strips have)")
        m = self.arrays[f"map.{quantity}.{part}"]
        return m - self.bulk(quantity, part) if accumulation else m

    # -- files ------------------------------------------------------------------------
    def save(self, folder, vtk: bool | None = None, png: bool | None = None,
             pdf: bool | None = None, overwrite: bool = False) -> list[Path]:
        """Write the result folder (created if needed). ``vtk``, ``png``, ``pdf`` default
        to the configuration's [output]. Returns the paths written, ``result.json`` last.

        The folder must be new, empty or a previous result folder: its files (those its
        manifest lists with an unchanged hash) are replaced, and those the new result
        does not write removed. A non-empty folder of other files, or a file of the
        previous result changed since, raises :class:`ResultError` unless ``overwrite``
        (then files of the same names are replaced and nothing else is touched)."""
        folder = Path(folder)
        out = self.config.get("output", {})
        vtk = out.get("vtk", True) if vtk is None else vtk
        png = out.get("png", True) if png is None else png
        pdf = out.get("pdf", False) if pdf is None else pdf
        check_output_folder(folder, overwrite, option="folder")
        folder.mkdir(parents=True, exist_ok=True)
        clean_temporaries(folder)  # left by killed writers (their pid is gone)
        timings = dict(self.info.get("timings", {}))
        with temporary_dir(folder, "save") as stage:
            staged: list[Path] = []
            t0 = time.perf_counter()
            buf = _io.BytesIO()
            np.savez_compressed(buf, **self.arrays)
            staged.append(atomic_write(stage / "result.npz", buf.getvalue()))
            from .config import to_toml

            head = (f"# resolved configuration of {self.name!r} (mesokinetics {self.info.get('version')})\n"
                    "# repeat with: mesokinetics run <this folder>/config.toml\n")
            staged.append(atomic_write(stage / "config.toml", head + to_toml(self.config)))
            timings["save_arrays_s"] = time.perf_counter() - t0
            if vtk and (self.is_slab or self.is_section):
                t = time.perf_counter()
                from . import vtk as vtk_io

                write = vtk_io.write_result if self.is_slab else vtk_io.write_section_result
                staged.append(write(stage / "result.vtu", self))
                timings["save_vtk_s"] = time.perf_counter() - t
            if png or pdf:
                t = time.perf_counter()
                from ..plotting import result_figures

                staged += result_figures(self, stage, png=png, pdf=pdf)
                timings["save_plots_s"] = time.perf_counter() - t
            names = []
            for p in staged:
                p = Path(p)
                if p.parent != stage or not _plain_name(p.name) or not p.name.endswith(OUR_SUFFIXES) \
                        or p.name in names:
                    raise RuntimeError(f"internal error: result file {p} outside the result folder")
                names.append(p.name)
            hashes = {n: sha256_file(stage / n) for n in names}
            written = self._commit(folder, stage, names, hashes, timings, overwrite)
        return written

    def _commit(self, folder: Path, stage: Path, names: list, hashes: dict, timings: dict,
                overwrite: bool) -> list[Path]:
        """Move the staged files into ``folder`` (see the module docstring)."""
        old = read_manifest(folder) or {}
        conflicts = [n for n in names if os.path.lexists(folder / n) and not _ours(folder, n, old)]
        if os.path.lexists(folder / "result.json") and read_manifest(folder) is None:
            conflicts.append("result.json")
        if conflicts and not overwrite:
            raise ResultError(_conflict_message("folder", folder, conflicts, "--overwrite"))
        stale = [n for n in old if n not in hashes and _ours(folder, n, old)]
        # 1. a pending manifest that accepts the old and the new files
        pending = {n: sorted(old.get(n, set()) | {hashes[n]}) for n in names}
        pending.update({n: sorted(old[n]) for n in stale})
        atomic_write(folder / "result.json", json.dumps(
            {"format": FORMAT, "format_version": FORMAT_VERSION, "pending": True,
             "name": self.name,
             "manifest": {"format": FORMAT, "hash": "sha256", "files": pending}}, indent=1) + "\n")
        # 2. the new files, 3. the previous result's files that are not rewritten
        for n in names:
            os.replace(stage / n, folder / n)
        for n in stale:
            if _ours(folder, n, old):
                (folder / n).unlink()
        # 4. the final result.json
        info = dict(self.info, timings=timings)
        info["format"], info["format_version"] = FORMAT, FORMAT_VERSION
        info.pop("pending", None)
        info["files"] = names + ["result.json"]
        info["manifest"] = {"format": FORMAT, "hash": "sha256", "files": hashes}
        info["config"] = self.config
        text = json.dumps(_jsonable(info), indent=1, sort_keys=False)
        atomic_write(folder / "result.json", text + "\n")
        self.info = {k: v for k, v in info.items() if k != "config"}
        return [folder / n for n in names] + [folder / "result.json"]

    def summary_text(self) -> str:
        return summary_text(self)


#: entries of result.json that load_result and summary_text need, and their types
_REQUIRED = {"config": dict, "geometry": dict, "summary": dict, "summary_units": dict,
             "quantities": dict, "field": list, "mu": (int, float), "temperature": (int, float)}


def load_result(folder, verify: bool = False) -> Result:
    """Read a result folder written by :meth:`Result.save` (or ``mesokinetics run``).

    verify : also check the sha256 of every file against the manifest.
    Raises :class:`ResultError` (one line) for anything that is not a complete result."""
    folder = Path(folder)
    meta = folder / "result.json"
    if not folder.is_dir():
        raise ResultError(f"{folder}: no such folder")
    if not os.path.lexists(meta):
        raise ResultError(f"{folder}: not a result folder (no result.json)")
    info = _read_json(meta)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ResultError(f"{meta}: not a mesokinetics result file")
    if info.get("pending"):
        raise ResultError(f"{folder}: incomplete result (interrupted while saving): run it again")
    for key, kind in _REQUIRED.items():
        if not isinstance(info.get(key), kind) or isinstance(info.get(key), bool):
            raise ResultError(f"{meta}: not a valid result file (entry {key!r} missing or malformed)")
    if not isinstance(info["geometry"].get("kind"), str):
        raise ResultError(f"{meta}: not a valid result file (entry 'geometry.kind' missing)")
    if verify:
        problem = verify_result(folder)
        if problem:
            raise ResultError(problem)
    npz = folder / "result.npz"
    if not _regular(npz):
        raise ResultError(f"{npz}: missing or not a regular file")
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError) as exc:
        raise ResultError(f"{npz}: unreadable ({type(exc).__name__}: "
                          f"{' '.join(str(exc).split())[:160]})") from None
    config = info.pop("config")
    return Result(config, arrays, info)


# --------------------------------------------------------------------------------------
# Text summary
# --------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x: .4e}" if x != 0 else f"{0.0: .4e}"


def _section_text(geo: dict, s: dict) -> str:
    """One line describing a wire cross-section or a periodic strip."""
    ratio = f"{s.get('width_over_mfp', float('nan')):.3g} l"
    names = geo.get("axis_names", ["a", "b"])
    if geo["kind"] == "periodic_strip":
        notches = geo.get("notches") or []
        shape = (f"periodic strip, period {geo['length']:g} nm along x, W = {geo['width']:g} nm "
                 f"= {ratio}, {len(notches)} notch{'es' if len(notches) != 1 else ''}")
    elif geo.get("section") == "circle":
        shape = f"wire along {'xyz'[geo['wire_axis']]}, circular section R = {geo['radius']:g} nm (2R = {ratio})"
    else:
        shape = (f"wire along {'xyz'[geo['wire_axis']]}, {geo.get('section', 'section')} "
                 f"{geo['width']:g} nm ({names[0]}, = {ratio}) x {geo['height']:g} nm ({names[1]})")
    return f"{shape}, {geo.get('cells', '?')} cells, walls {', '.join(geo.get('walls', []))}"


def _numerics_text(name: str, value) -> str:
    """One entry of the accuracy line: a cross-section's mesh (the check's axis "mesh",
    its resolution in units of the sample's mesh / MESH_START) as a factor, 'mesh x2'
    for twice finer than given; every other axis as its value."""
    if name == "mesh":
        from ..response.drivers import MESH_START  # only for section results

        return f"mesh x{float(value) / MESH_START:g}"
    return f"{name} {value}"


def summary_text(result: Result) -> str:
    """A short table: sample, then the observables and the scalar results with units."""
    info = result.info
    geo = info["geometry"]
    lines = [f"{result.name}: {info.get('description', '')}".rstrip(": ")]
    field = ", ".join(f"{x:g}" for x in info["field"])
    s = info["summary"]
    if result.is_slab:
        sample = (f"{geo['kind']} W = {geo['width']:g} nm = {s.get('width_over_mfp', float('nan')):.3g} l "
                  f"(normal {'xyz'[geo['normal_axis']]}), walls {', '.join(geo['walls'])}")
    elif result.is_section:
        sample = _section_text(geo, s)
    else:
        sample = "uniform (bulk) sample"
    lines.append(f"{sample}; mu = {info['mu']:g} eV, E = ({field}) V/nm, T = {info['temperature']:g} K, "
                 f"l = {s.get('mean_free_path', float('nan')):.4g} nm")
    rows = []
    if result.is_slab:
        cols = ("bulk", "wall", "centre", "mean")
    elif result.is_section:
        cols = ("bulk", "mean", "min", "max")
    else:
        cols = PARTS
    for q in result.quantities:
        for comp in result.components(q):
            label = f"{q}_{comp}" if comp else q
            rows.append([label, result.unit(q)] + [_num(s[f"{label}.{c}"]) for c in cols])
    header = ["quantity", "unit", *cols]
    table = [header] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    fmt = lambda r: "  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths)))  # noqa: E731
    lines.append(fmt(header))
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt(r) for r in rows]
    units = info["summary_units"]
    scalars = [k for k in ("conductance_ratio", "conductance_per_length", "sheet_conductance",
                           "sigma_parallel") if k in s]
    if not (result.is_slab or result.is_section):
        scalars += [k for k in s if k.startswith("sigma_") and k != "sigma_parallel"]
    if result.is_section and "iterations" in s:
        scalars.append("iterations")
    for k in scalars:
        unit = units.get(k, "")
        lines.append(f"{k} = {s[k]:.6g} {'' if unit == '1' else unit}".rstrip())
    conv = info.get("convergence")
    if isinstance(conv, dict) and "converged" in conv:
        used = ", ".join(_numerics_text(k, v) for k, v in dict(conv.get("numerics", {})).items())
        state = "converged" if conv["converged"] else "NOT converged"
        lines.append(f"accuracy: {state} to tol {conv.get('tol', float('nan')):g} (estimated "
                     f"relative error {conv.get('error', float('nan')):.2g}; {used}; "
                     f"{conv.get('solves', 1)} solves)")
    t = info.get("timings", {})
    if t:
        lines.append("timings: " + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in t.items()))
    for w in info.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines)
