"""Parameter sweeps: a grid of configurations, solved in parallel, resumable.

    >>> from mesokinetics.sweep import Vary, run_sweep
    >>> run_sweep("fuchs_sondheimer_film", [Vary.parse("geometry.width=1:100:9:log")],
    ...           "sweeps/fs")                                        # doctest: +SKIP

The grid is the Cartesian product of the varied keys (the last one varies fastest).
Each point is solved by :func:`mesokinetics.run` in a worker of a
``concurrent.futures``-style executor: a local process pool by default, a Dask
distributed cluster through ``distributed.Client(address).get_executor()`` (connected by
:func:`mesokinetics.parallel.connect`, the same helper as a single solve's
``scheduler``), or any executor passed in. Workers return the results; the calling
process writes them, so the workers need no shared file system.

Output folder::

    sweep.json   manifest: base configuration, varied keys, points and their values
    sweep.csv    one row per finished point: point, varied values, summary scalars
    sweep.pvd    ParaView collection of the points' result.vtu (strips, films, wires,
                 periodic strips)
    sweep.png    summary scalars versus the first varied key
    points/0007/ one result folder per point (see mesokinetics.io.results)

A point folder appears complete or not at all: it is written into a temporary folder
``points/.mk-tmp-<pid>-0007-*`` and renamed. Rerunning the same command skips the
finished points (and removes temporary folders left by an interrupted run), so a killed
sweep resumes where it stopped and ends with the same files as an uninterrupted one.

Robustness (docs/workflows.md, "Output folders, locks and resume"):

* one writer per folder: ``.mesokinetics.lock`` holds the owner's pid, host and start
  time; a second sweep into a locked folder fails with :class:`SweepError`, a lock whose
  process is gone (a killed sweep) is taken over;
* pool workers die with the sweep: each worker asks Linux for SIGKILL when its parent
  dies (``prctl(PR_SET_PDEATHSIG)``) and, everywhere, a watchdog thread exits the worker
  when the sweep process is gone; SIGTERM of the sweep is handled like Ctrl-C (workers
  stopped, temporary files removed);
* a point counts as finished only if its files match the sha256 of its manifest and load;
  a damaged point is moved to ``damaged/0007`` (nothing is deleted) and solved again.
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
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import parallel as _parallel
from .io.atomic import (FolderLock, LockError, clean_temporaries, pid_alive,
                        process_start_time, temporary_dir, terminate_on_sigterm)
from .io.config import Config, ConfigError, _parse_value, key_unit, load_config
from .io.results import (Result, ResultError, atomic_write, folder_state, load_result,
                         verify_result)
from .parallel import SerialExecutor  # re-exported: it lived here before

__all__ = ["Vary", "SweepError", "SweepReport", "SerialExecutor", "plan", "run_sweep",
           "read_table", "sweep_status"]

MANIFEST = "sweep.json"
FORMAT = "mesokinetics-sweep"
#: where points whose files fail to load are moved before they are solved again
DAMAGED = "damaged"
#: seconds between two checks of a pool worker's watchdog
WATCHDOG_PERIOD = 0.2


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


def _ignore_sigint():  # process-pool initializer: Ctrl-C is handled by the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _set_parent_death_signal() -> bool:
    """Linux: ask the kernel to SIGKILL this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watchdog(sweep_pid: int, start_time, parent_pid: int) -> None:
    while True:
        time.sleep(WATCHDOG_PERIOD)
        if os.getppid() != parent_pid or not pid_alive(sweep_pid, start_time):
            os._exit(1)  # the sweep is gone: nobody will collect this worker's result


def _worker_init(sweep_pid: int, start_time) -> None:
    """Process-pool initializer: ignore Ctrl-C (the sweep handles it) and die with the
    sweep (parent-death signal on Linux, a polling watchdog thread everywhere)."""
    import threading

    _ignore_sigint()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if parent == sweep_pid:
        _set_parent_death_signal()
    if not pid_alive(sweep_pid, start_time):  # died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watchdog, args=(sweep_pid, start_time, parent), daemon=True,
                     name="mesokinetics-watchdog").start()


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
    damaged: dict = field(default_factory=dict)     # index -> why its files were set aside
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
    return os.path.lexists(folder / point.folder)


def _clean_temporaries(folder: Path, legacy: bool) -> None:
    """Remove temporary files and point folders of interrupted runs (under the lock:
    whoever left them is gone); ``legacy``: also ``points/.0007-*.tmp`` of version 1."""
    clean_temporaries(folder, all_owners=True)
    points = folder / "points"
    if points.is_dir():
        clean_temporaries(points, all_owners=True)
        if legacy:
            for tmp in points.glob(".[0-9][0-9][0-9][0-9]-*.tmp"):
                if tmp.is_dir() and not tmp.is_symlink():
                    shutil.rmtree(tmp, ignore_errors=True)


def _set_aside(folder: Path, point: Point) -> Path:
    """Move a damaged point folder to damaged/0007 (or 0007-2, ...): nothing is deleted."""
    target_dir = folder / DAMAGED
    target_dir.mkdir(exist_ok=True)
    name, k = f"{point.index:04d}", 1
    while os.path.lexists(target_dir / name):
        k += 1
        name = f"{point.index:04d}-{k}"
    os.rename(folder / point.folder, target_dir / name)
    return target_dir / name


def _load_point(folder: Path, point: Point) -> Result:
    """The finished point's result if every file matches its manifest and loads, else
    ResultError naming the problem."""
    where = folder / point.folder
    if where.is_symlink() or not where.is_dir():
        raise ResultError(f"{where}: not a folder")
    problem = verify_result(where)
    if problem:
        raise ResultError(problem)
    result = load_result(where)
    if not isinstance(result.summary, dict):
        raise ResultError(f"{where}: no summary")
    return result


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
    """Write the point folder atomically: temporary folder (removed on every exit path
    that runs Python code; after a SIGKILL by the next run), then rename."""
    final = folder / point.folder
    with temporary_dir(folder / "points", f"{point.index:04d}") as tmp:
        result.save(tmp, vtk=vtk, png=png, pdf=False)
        os.rename(tmp, final)


def _read_manifest(folder: Path) -> dict:
    """The sweep manifest, checked for the entries that status and resume use."""
    path = folder / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > (256 << 20):
            raise ValueError
        manifest = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        raise SweepError(f"{folder}: not a sweep folder (no readable {MANIFEST})") from None
    ok = (isinstance(manifest, dict) and manifest.get("format") == FORMAT
          and isinstance(manifest.get("points"), list) and isinstance(manifest.get("varies"), list)
          and all(isinstance(p, dict) and isinstance(p.get("index"), int)
                  and not isinstance(p.get("index"), bool) and 0 <= p["index"] < 10 ** 7
                  and isinstance(p.get("values"), dict) for p in manifest["points"])
          and all(isinstance(v, dict) and isinstance(v.get("key"), str)
                  and isinstance(v.get("values"), list) for v in manifest["varies"]))
    if not ok:
        raise SweepError(f"{path}: not a mesokinetics sweep manifest (format, points or varies "
                         "missing or malformed)")
    return manifest


def sweep_status(folder) -> dict:
    """Manifest of a sweep folder and which points are finished (their files intact and
    loadable) or damaged ({index: reason}); an unverified folder never counts."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    done, damaged = [], {}
    for p in manifest["points"]:
        point = Point(p["index"], p["values"], None)  # the folder name from the index only
        if not _finished(folder, point):
            continue
        try:
            _load_point(folder, point)
        except ResultError as exc:
            damaged[p["index"]] = str(exc)
        else:
            done.append(p["index"])
    lock = folder / ".mesokinetics.lock"
    owner = None
    if lock.is_file():
        try:
            owner = json.loads(lock.read_text())
        except (OSError, ValueError):
            owner = {}
        if not isinstance(owner, dict):
            owner = {}
    return {"manifest": manifest, "finished": done, "damaged": damaged, "lock": owner}


def check_scheduler(address: str) -> str:
    """A Dask scheduler address ('tcp://host:8786', 'host:8786', ...), else SweepError:
    :func:`mesokinetics.parallel.check_scheduler` in the command line's wording."""
    try:
        return _parallel.check_scheduler(address, what="--scheduler")
    except _parallel.SchedulerError as exc:
        raise SweepError(str(exc)) from None


def _check_folder(folder: Path, manifest: dict, overwrite: bool) -> bool:
    """Refuse a folder holding another sweep or foreign files; True if it holds this sweep."""
    existing = folder / MANIFEST
    if os.path.lexists(existing):
        try:
            old = _read_manifest(folder)
        except SweepError:
            old = {}
        if not _same_sweep(old, manifest):
            raise SweepError(f"{folder} holds a different sweep: use another --out or remove it")
        return True
    state = folder_state(folder)
    if state == "file":
        raise SweepError(f"--out {folder}: exists and is not a folder (allowed: a new or empty "
                         "folder, or this sweep's folder to resume it)")
    if state in ("result", "foreign") and not overwrite:
        raise SweepError(f"--out {folder}: exists and is not a sweep folder (allowed: a new or "
                         "empty folder, this sweep's folder to resume it, or any folder with "
                         "--overwrite)")
    return False


def run_sweep(config, varies: Sequence[Vary | str], out, *, workers: int | None = None,
              scheduler: str | None = None, executor: cf.Executor | None = None,
              vtk: bool = True, point_plots: bool = False, plots: bool = True,
              progress: bool | Callable[[int, int], None] = True,
              overwrite: bool = False) -> SweepReport:
    """Solve every point of the grid that is not finished yet and write the sweep folder.

    config : Config, preset name, TOML path or dict (the base of every point)
    varies : :class:`Vary` objects or their 'key=...' strings
    out : the sweep folder; an existing one must hold the same sweep (it is resumed)
    workers : processes of the local pool (default: the number of CPUs; 1 runs in this
        process); ignored when ``scheduler`` or ``executor`` is given
    scheduler : address of a Dask distributed scheduler ('tcp://host:8786'); needs the
        ``distributed`` package
    executor : any ``concurrent.futures``-style executor (used as is, not shut down)
    vtk, point_plots : write result.vtu (strips, films, sections) / PNG figures in every point
    plots : write sweep.png
    progress : True for a progress bar on stderr, False for none, or a callback
        progress(done, total)
    overwrite : accept a non-empty folder that is not a sweep folder (nothing in it is
        removed; a folder holding another sweep is always refused)

    Only one process writes a sweep folder at a time (:class:`SweepError` otherwise).
    SIGTERM is handled like Ctrl-C (KeyboardInterrupt subclass
    :class:`~mesokinetics.io.atomic.Terminated`) while the sweep runs.
    """
    t0 = time.perf_counter()
    if not isinstance(config, Config):
        config = load_config(config)
    varies = [v if isinstance(v, Vary) else Vary.parse(v) for v in varies]
    points = plan(config, varies)
    if scheduler and executor is None:
        scheduler = check_scheduler(scheduler)
    folder = Path(out)
    manifest = _manifest(config, varies, points)
    _check_folder(folder, manifest, overwrite)  # before anything is created
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = FolderLock(folder, "mesokinetics sweep").acquire()
    except LockError as exc:
        raise SweepError(str(exc)) from None
    try:
        with terminate_on_sigterm():
            ours = _check_folder(folder, manifest, overwrite)  # again, under the lock
            (folder / "points").mkdir(exist_ok=True)
            _clean_temporaries(folder, legacy=ours)
            atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n")
            return _run_locked(config, varies, points, folder, t0, workers=workers,
                               scheduler=scheduler, executor=executor, vtk=vtk,
                               point_plots=point_plots, plots=plots, progress=progress)
    finally:
        lock.release()


def _run_locked(config, varies, points, folder, t0, *, workers, scheduler, executor, vtk,
                point_plots, plots, progress) -> SweepReport:
    keys = [v.key for v in varies]
    report = SweepReport(folder, len(points))
    rows: dict[int, dict] = {}
    todo = []
    for p in points:
        if _finished(folder, p):
            try:
                rows[p.index] = _row(p, _load_point(folder, p).summary)
            except ResultError as exc:  # damaged: set aside, solve again
                report.damaged[p.index] = str(exc)
                _set_aside(folder, p)
                todo.append(p)
            else:
                report.skipped.append(p.index)
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
    try:
        if executor is None:
            if scheduler:
                try:
                    client = _parallel.connect(scheduler, what="--scheduler")
                except _parallel.SchedulerError as exc:
                    raise SweepError(str(exc)) from None
                executor = client.get_executor(pure=False)
            elif workers == 1 or len(todo) <= 1:
                executor = SerialExecutor()
                window = 1
            else:
                n = min(workers or os.cpu_count() or 1, len(todo))
                executor = cf.ProcessPoolExecutor(
                    max_workers=n, initializer=_worker_init,
                    initargs=(os.getpid(), process_start_time(os.getpid())))
                window = 2 * n  # a bounded queue: points are saved while others run
    except BaseException:
        if bar is not None:
            bar.close()
        raise
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

    def stop_workers():
        if isinstance(executor, cf.ProcessPoolExecutor):
            for proc in list((getattr(executor, "_processes", None) or {}).values()):
                try:
                    proc.kill()
                except (OSError, ValueError, AttributeError):
                    pass

    interrupted = False
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
    except BaseException:
        interrupted = True
        for fut in futures:
            fut.cancel()
        stop_workers()
        raise
    finally:
        try:
            if bar is not None:
                bar.close()
            if own_executor:
                if client is not None:  # ClientExecutor.shutdown has no cancel_futures
                    executor.shutdown(wait=not interrupted)
                    client.close()
                else:
                    executor.shutdown(wait=True, cancel_futures=True)
            if rows:
                _write_table(folder, rows, keys)
                _write_collection(folder, points, varies)
        except KeyboardInterrupt:  # a second Ctrl-C or SIGTERM during cleanup
            stop_workers()
            if not interrupted:
                raise

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
