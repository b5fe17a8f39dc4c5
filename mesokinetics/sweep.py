"""Parameter sweeps: a grid of configurations, solved in parallel, resumable.

    >>> from mesokinetics.sweep import Vary, run_sweep
    >>> run_sweep("fuchs_sondheimer_film", [Vary.parse("geometry.width=1:100:9:log")],
    ...           "sweeps/fs")                                        # doctest: +SKIP

The grid is the Cartesian product of the varied keys (the last one varies fastest).
Each point is solved by :func:`mesokinetics.run` in a worker of a
``concurrent.futures``-style executor: a local process pool by default, a Dask
distributed cluster through ``distributed.Client(address).get_executor()``, or any
executor passed in. Workers return the results; the calling process writes them, so the
workers need no shared file system.

Output folder::

    sweep.json   manifest: base configuration, varied keys, points and their values
    sweep.csv    one row per finished point: point, varied values, summary scalars
    sweep.pvd    ParaView collection of the points' result.vtu (strips and films)
    sweep.png    summary scalars versus the first varied key
    points/0007/ one result folder per point (see mesokinetics.io.results)

A point folder appears complete or not at all: it is written into a temporary folder
``points/.0007-*.tmp`` and renamed. Rerunning the same command skips the finished points
(and removes temporary folders left by an interrupted run), so a killed sweep resumes
where it stopped and ends with the same files as an uninterrupted one.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io as _io
import itertools
import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .io.config import Config, ConfigError, _parse_value, key_unit, load_config
from .io.results import Result, atomic_write, load_result

__all__ = ["Vary", "SweepError", "SweepReport", "SerialExecutor", "plan", "run_sweep",
           "read_table", "sweep_status"]

MANIFEST = "sweep.json"
FORMAT = "mesokinetics-sweep"


class SweepError(ValueError):
    """A sweep that cannot be started (bad --vary, foreign output folder); one line."""


@dataclass(frozen=True)
class Vary:
    """One varied key and its values (log: geometric spacing, for the plots too)."""

    key: str
    values: tuple
    log: bool = False

    @classmethod
    def parse(cls, text: str) -> "Vary":
        """'key=start:stop:num', 'key=start:stop:num:log' or 'key=v1,v2,...'."""
        if "=" not in text:
            raise SweepError(f"--vary {text!r}: expected key=start:stop:num or key=v1,v2,...")
        key, _, spec = (s.strip() for s in text.partition("="))
        if not key or not spec:
            raise SweepError(f"--vary {text!r}: expected key=start:stop:num or key=v1,v2,...")
        what = f"--vary {key}"
        if ":" in spec and not spec.startswith(("[", '"')):
            parts = spec.split(":")
            log = parts[-1].strip().lower() == "log"
            if log:
                parts = parts[:-1]
            if len(parts) != 3:
                raise SweepError(f"{what}={spec}: expected start:stop:num[:log]")
            start, stop, num = (_parse_value(p.strip(), what) for p in parts)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop)):
                raise SweepError(f"{what}={spec}: start and stop must be numbers")
            if not isinstance(num, int) or isinstance(num, bool) or num < 1:
                raise SweepError(f"{what}={spec}: num must be an integer >= 1")
            if log and (start <= 0 or stop <= 0):
                raise SweepError(f"{what}={spec}: a log spacing needs start and stop > 0")
            grid = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
            if isinstance(start, int) and isinstance(stop, int) and np.allclose(grid, np.round(grid)):
                values = tuple(int(round(v)) for v in grid)
            else:
                values = tuple(float(v) for v in grid)
            return cls(key, values, log)
        items = [s.strip() for s in _split_list(spec)]
        if not all(items):
            raise SweepError(f"{what}={spec}: empty value in the list")
        return cls(key, tuple(_parse_value(s, what) for s in items), False)

    def spec(self) -> dict:
        return {"key": self.key, "values": list(self.values), "log": self.log}


def _split_list(spec: str) -> list[str]:
    """Split 'a,b,[1,2],c' at top-level commas."""
    out, depth, cur = [], 0, ""
    for ch in spec:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


@dataclass
class Point:
    index: int
    values: dict
    config: Config

    @property
    def folder(self) -> str:
        return f"points/{self.index:04d}"


def plan(config: Config, varies: Sequence[Vary]) -> list[Point]:
    """Every point of the grid, validated (a bad point fails here, before any work)."""
    if not varies:
        raise SweepError("give at least one --vary key=start:stop:num")
    keys = [v.key for v in varies]
    if len(set(keys)) != len(keys):
        raise SweepError(f"--vary: a key is given twice ({', '.join(keys)})")
    points = []
    for i, combo in enumerate(itertools.product(*(v.values for v in varies))):
        values = dict(zip(keys, combo))
        try:
            points.append(Point(i, values, config.replace(values)))
        except ConfigError as exc:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            raise ConfigError(f"sweep point {i} ({shown}): {exc}") from None
    return points


class SerialExecutor(cf.Executor):
    """A ``concurrent.futures`` executor that runs each call at submission, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def _ignore_sigint():  # process-pool initializer: Ctrl-C is handled by the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def compute_point(config: Config) -> Result:
    """Worker task: solve one point (the result travels back without the solver object)."""
    from .workflow import run

    return run(config, keep_response=False)


@dataclass
class SweepReport:
    """What a call of :func:`run_sweep` did."""

    folder: Path
    total: int
    skipped: list = field(default_factory=list)     # indices finished before this call
    computed: list = field(default_factory=list)    # indices finished by this call
    failed: dict = field(default_factory=dict)      # index -> one-line error
    internal_errors: bool = False
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return len(self.skipped) + len(self.computed) == self.total


def _manifest(config: Config, varies: Sequence[Vary], points: list[Point]) -> dict:
    from ._version import __version__

    return {
        "format": FORMAT, "format_version": 1, "name": config.name, "version": __version__,
        "source": config.source, "base": config.data, "base_overrides": config.overrides,
        "varies": [v.spec() for v in varies],
        "points": [{"index": p.index, "folder": p.folder, "values": p.values} for p in points],
    }


def _same_sweep(old: dict, new: dict) -> bool:
    strip = lambda m: json.loads(json.dumps({k: m.get(k) for k in ("base", "varies")}))  # noqa: E731
    return strip(old) == strip(new)


def _finished(folder: Path, point: Point) -> bool:
    return (folder / point.folder / "result.json").is_file()


def _clean_temporaries(folder: Path) -> None:
    points = folder / "points"
    if points.is_dir():
        for tmp in points.glob(".*.tmp"):
            shutil.rmtree(tmp, ignore_errors=True)


def _row(point: Point, summary: dict) -> dict:
    row = {"point": point.index}
    row.update({k: v for k, v in point.values.items()})
    row.update(summary)
    return row


def _write_table(folder: Path, rows: dict, keys: list[str]) -> Path:
    ordered = [rows[i] for i in sorted(rows)]
    columns: list[str] = ["point", *keys]
    for r in ordered:
        for c in r:
            if c not in columns:
                columns.append(c)
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    writer.writeheader()
    for r in ordered:
        writer.writerow({c: (repr(v) if isinstance(v, float) else
                             json.dumps(v) if isinstance(v, (list, dict)) else v)
                         for c, v in r.items()})
    return atomic_write(folder / "sweep.csv", buf.getvalue())


def read_table(folder) -> list[dict]:
    """Rows of a sweep's ``sweep.csv`` (numbers as floats where they parse)."""
    path = Path(folder) / "sweep.csv"
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = float(v)
            except (TypeError, ValueError):
                pass
    return rows


def _write_collection(folder: Path, points: list[Point], varies: Sequence[Vary]) -> Path | None:
    from .io import vtk

    done = [p for p in points if (folder / p.folder / "result.vtu").is_file()]
    if not done:
        return None
    steps = [p.index for p in done]
    if len(varies) == 1:
        vals = [p.values[varies[0].key] for p in done]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals) and \
                all(b > a for a, b in zip(vals, vals[1:])):
            steps = vals
    return vtk.write_collection(folder / "sweep.pvd",
                                [(s, f"{p.folder}/result.vtu") for s, p in zip(steps, done)])


def _save_point(folder: Path, point: Point, result: Result, vtk: bool, png: bool) -> None:
    """Write the point folder atomically: temporary folder, then rename."""
    final = folder / point.folder
    tmp = Path(tempfile.mkdtemp(dir=folder / "points", prefix=f".{point.index:04d}-", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o755)
        result.save(tmp, vtk=vtk, png=png, pdf=False)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep_status(folder) -> dict:
    """Manifest of a sweep folder and which points are finished."""
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise SweepError(f"{folder}: not a sweep folder (no readable {MANIFEST})") from None
    done = [p["index"] for p in manifest["points"] if (folder / p["folder"] / "result.json").is_file()]
    return {"manifest": manifest, "finished": done}


def run_sweep(config, varies: Sequence[Vary | str], out, *, workers: int | None = None,
              scheduler: str | None = None, executor: cf.Executor | None = None,
              vtk: bool = True, point_plots: bool = False, plots: bool = True,
              progress: bool | Callable[[int, int], None] = True) -> SweepReport:
    """Solve every point of the grid that is not finished yet and write the sweep folder.

    config : Config, preset name, TOML path or dict (the base of every point)
    varies : :class:`Vary` objects or their 'key=...' strings
    out : the sweep folder; an existing one must hold the same sweep (it is resumed)
    workers : processes of the local pool (default: the number of CPUs; 1 runs in this
        process); ignored when ``scheduler`` or ``executor`` is given
    scheduler : address of a Dask distributed scheduler ('tcp://host:8786'); needs the
        ``distributed`` package
    executor : any ``concurrent.futures``-style executor (used as is, not shut down)
    vtk, point_plots : write result.vtu (strips and films) / PNG figures in every point
    plots : write sweep.png
    progress : True for a progress bar on stderr, False for none, or a callback
        progress(done, total)
    """
    t0 = time.perf_counter()
    if not isinstance(config, Config):
        config = load_config(config)
    varies = [v if isinstance(v, Vary) else Vary.parse(v) for v in varies]
    points = plan(config, varies)
    keys = [v.key for v in varies]
    folder = Path(out)
    manifest = _manifest(config, varies, points)
    existing = folder / MANIFEST
    if existing.is_file():
        try:
            old = json.loads(existing.read_text())
        except (OSError, ValueError):
            old = {}
        if old.get("format") != FORMAT or not _same_sweep(old, manifest):
            raise SweepError(f"{folder} holds a different sweep: use another --out or remove it")
    elif folder.exists() and any(folder.iterdir()):
        raise SweepError(f"{folder} exists and is not a sweep folder: use another --out")
    (folder / "points").mkdir(parents=True, exist_ok=True)
    _clean_temporaries(folder)
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")

    report = SweepReport(folder, len(points))
    rows: dict[int, dict] = {}
    todo = []
    for p in points:
        if _finished(folder, p):
            report.skipped.append(p.index)
            try:
                rows[p.index] = _row(p, load_result(folder / p.folder).summary)
            except ValueError:  # unreadable: recompute
                report.skipped.remove(p.index)
                shutil.rmtree(folder / p.folder, ignore_errors=True)
                todo.append(p)
        else:
            todo.append(p)

    bar = None
    callback = progress if callable(progress) else None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=len(points), initial=len(report.skipped), unit="point",
                   desc=config.name, dynamic_ncols=True, leave=True)

    own_executor = executor is None
    client = None
    window = len(todo)  # futures in flight: all of them for Dask and user executors
    if executor is None:
        if scheduler:
            try:
                from distributed import Client
            except ImportError:
                raise SweepError("--scheduler needs the 'distributed' package: "
                                 "pip install 'mesokinetics[dask]'") from None
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise SweepError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            executor = client.get_executor(pure=False)
        elif workers == 1 or len(todo) <= 1:
            executor = SerialExecutor()
            window = 1
        else:
            n = min(workers or os.cpu_count() or 1, len(todo))
            executor = cf.ProcessPoolExecutor(max_workers=n, initializer=_ignore_sigint)
            window = 2 * n  # a bounded queue: points are saved while others run
    from .io.config import ConfigError as _CE
    from .workflow import RunError

    futures: dict = {}
    queue = list(reversed(todo))

    def completed():
        """Yield finished futures, keeping at most ``window`` in flight."""
        while queue or futures:
            while queue and len(futures) < max(window, 1):
                p = queue.pop()
                futures[executor.submit(compute_point, p.config)] = p
            done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: futures[f].index):
                yield fut, futures.pop(fut)

    try:
        for fut, p in completed():
            try:
                result = fut.result()
            except (RunError, _CE) as exc:
                report.failed[p.index] = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported, the sweep goes on
                report.failed[p.index] = f"{type(exc).__name__}: {exc}"
                report.internal_errors = True
            else:
                _save_point(folder, p, result, vtk, point_plots)
                report.computed.append(p.index)
                rows[p.index] = _row(p, result.summary)
                _write_table(folder, rows, keys)
            if bar is not None:
                bar.update(1)
            if callback is not None:
                callback(len(report.skipped) + len(report.computed) + len(report.failed), len(points))
    except KeyboardInterrupt:
        for fut in futures:
            fut.cancel()
        if isinstance(executor, cf.ProcessPoolExecutor):
            for proc in list(getattr(executor, "_processes", {}).values()):
                proc.terminate()
        raise
    finally:
        if bar is not None:
            bar.close()
        if own_executor:
            if client is not None:  # ClientExecutor.shutdown has no cancel_futures
                executor.shutdown(wait=True)
                client.close()
            else:
                executor.shutdown(wait=True, cancel_futures=True)
        if rows:
            _write_table(folder, rows, keys)
            _write_collection(folder, points, varies)

    if plots and rows:
        from .plotting import sweep_figures

        first = load_result(folder / points[min(rows)].folder)
        units = dict(first.info["summary_units"])
        units.update({k: key_unit(k, config.data["model"]["kind"]) for k in keys})
        sweep_figures([rows[i] for i in sorted(rows)], keys, units, folder,
                      xlog=varies[0].log)
    report.computed.sort()
    report.seconds = time.perf_counter() - t0
    return report
