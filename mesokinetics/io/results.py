"""Result folders: NumPy arrays, a JSON with units, config and timings, ParaView and PNG files.

A result folder holds

* ``result.npz``  - every array (keys below), loadable with ``numpy.load``
* ``result.json`` - units of every array, the fully resolved configuration, summary
  scalars with units, package version, timings, warnings and the list of files
* ``config.toml`` - the resolved configuration: ``mesokinetics run DIR/config.toml``
  repeats the calculation
* ``result.vtu``  - ParaView file (strips and films), see :mod:`mesokinetics.io.vtk`
* ``*.png`` (and ``*.pdf``) - figures, see :mod:`mesokinetics.plotting`

Array keys (d the model dimension, J the cells, P the shell points, c the components):

* ``bulk.<quantity>.<part>`` (c,): bulk (uniform) values, parts intraband, intrinsic,
  gradient, disorder, total; ``bulk.conductivity.<part>`` (d, d) in e^2/h nm^(2-d)
* ``profile.<quantity>.<part>`` (J, c): profiles across a strip or film (cell averages)
* ``mesh.faces`` (J+1,): cell faces along the wall normal (nm), 0 at the bottom wall
* ``distribution.g`` (P, J) or (P,): g_n(k) on the shell at mu (eV, for the given field);
  ``distribution.k`` (P, d) in 1/nm, ``distribution.band`` (P,), ``distribution.weight``
  (P,) in eV^-1 nm^-d

Scalar quantities (spin and orbital currents) have c = 1. Files are written atomically
(temporary file, then rename) and ``result.json`` last, so a folder with a
``result.json`` is complete.
"""

from __future__ import annotations

import io as _io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write

__all__ = ["PARTS", "Result", "ResultError", "load_result", "atomic_write", "summary_text"]

#: The contributions of paper Eqs. (1)-(2) and their sum.
PARTS = ("intraband", "intrinsic", "gradient", "disorder", "total")

FORMAT = "mesokinetics-result"


class ResultError(ValueError):
    """A folder that is not a (complete) result folder; one-line message."""


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
        return self.geometry["kind"] != "uniform"

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

    # -- files ------------------------------------------------------------------------
    def save(self, folder, vtk: bool | None = None, png: bool | None = None,
             pdf: bool | None = None) -> list[Path]:
        """Write the result folder (created if needed; previous result files there are
        replaced). ``vtk``, ``png``, ``pdf`` default to the configuration's [output].
        Returns the paths written, ``result.json`` last."""
        folder = Path(folder)
        out = self.config.get("output", {})
        vtk = out.get("vtk", True) if vtk is None else vtk
        png = out.get("png", True) if png is None else png
        pdf = out.get("pdf", False) if pdf is None else pdf
        folder.mkdir(parents=True, exist_ok=True)
        _remove_previous(folder)
        timings = dict(self.info.get("timings", {}))
        written: list[Path] = []
        t0 = time.perf_counter()
        buf = _io.BytesIO()
        np.savez_compressed(buf, **self.arrays)
        written.append(atomic_write(folder / "result.npz", buf.getvalue()))
        from .config import to_toml

        head = (f"# resolved configuration of {self.name!r} (mesokinetics {self.info.get('version')})\n"
                "# repeat with: mesokinetics run <this folder>/config.toml\n")
        written.append(atomic_write(folder / "config.toml", head + to_toml(self.config)))
        timings["save_arrays_s"] = time.perf_counter() - t0
        if vtk and self.is_slab:
            t = time.perf_counter()
            from . import vtk as vtk_io

            written.append(vtk_io.write_result(folder / "result.vtu", self))
            timings["save_vtk_s"] = time.perf_counter() - t
        if png or pdf:
            t = time.perf_counter()
            from ..plotting import result_figures

            written += result_figures(self, folder, png=png, pdf=pdf)
            timings["save_plots_s"] = time.perf_counter() - t
        info = dict(self.info, timings=timings)
        info["files"] = [p.name for p in written] + ["result.json"]
        info["config"] = self.config
        text = json.dumps(_jsonable(info), indent=1, sort_keys=False)
        written.append(atomic_write(folder / "result.json", text + "\n"))
        self.info = {k: v for k, v in info.items() if k != "config"}
        return written

    def summary_text(self) -> str:
        return summary_text(self)


def _remove_previous(folder: Path) -> None:
    """Delete the files listed by a previous result.json in ``folder`` (ours only)."""
    meta = folder / "result.json"
    if not meta.is_file():
        return
    try:
        files = json.loads(meta.read_text()).get("files", [])
    except (OSError, ValueError):
        return
    for name in files:
        if isinstance(name, str) and "/" not in name and "\\" not in name and name not in ("", ".", ".."):
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                pass


def load_result(folder) -> Result:
    """Read a result folder written by :meth:`Result.save` (or ``mesokinetics run``)."""
    folder = Path(folder)
    meta = folder / "result.json"
    if not folder.is_dir():
        raise ResultError(f"{folder}: no such folder")
    if not meta.is_file():
        raise ResultError(f"{folder}: not a result folder (no result.json)")
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise ResultError(f"{meta}: unreadable: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ResultError(f"{meta}: not a mesokinetics result file")
    try:
        with np.load(folder / "result.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ResultError(f"{folder / 'result.npz'}: unreadable: {exc}") from None
    config = info.pop("config")
    return Result(config, arrays, info)


# --------------------------------------------------------------------------------------
# Text summary
# --------------------------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{x: .4e}" if x != 0 else f"{0.0: .4e}"


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
    else:
        sample = "uniform (bulk) sample"
    lines.append(f"{sample}; mu = {info['mu']:g} eV, E = ({field}) V/nm, T = {info['temperature']:g} K, "
                 f"l = {s.get('mean_free_path', float('nan')):.4g} nm")
    rows = []
    if result.is_slab:
        cols = ("bulk", "wall", "centre", "mean")
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
    scalars = [k for k in ("conductance_ratio", "sheet_conductance", "sigma_parallel") if k in s]
    if not result.is_slab:
        scalars += [k for k in s if k.startswith("sigma_") and k != "sigma_parallel"]
    for k in scalars:
        unit = units.get(k, "")
        lines.append(f"{k} = {s[k]:.6g} {'' if unit == '1' else unit}".rstrip())
    t = info.get("timings", {})
    if t:
        lines.append("timings: " + ", ".join(f"{k[:-2]} {v:.2f} s" for k, v in t.items()))
    for w in info.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines)
