"""The ``mesokinetics`` command: run presets, sweep parameters, list presets, show results.

User errors (unknown preset, bad key or value, malformed TOML, unwritable folder, a
sample without Fermi surface...) print one line ``mesokinetics: error: ...`` and exit
with status 2, without a traceback (``--debug`` shows it). Anything else is a bug and
keeps its traceback (status 1). An interrupted sweep exits with status 130.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

PROG = "mesokinetics"


class UserError(Exception):
    """Reported as one line, exit status 2."""


def _user_errors():
    from .io.config import ConfigError
    from .io.results import ResultError
    from .parallel import SchedulerError
    from .sweep import SweepError
    from .workflow import RunError

    return (UserError, ConfigError, ResultError, SchedulerError, SweepError, RunError)


def _overrides(pairs) -> dict:
    from .io.config import parse_override

    return dict(parse_override(p) for p in (pairs or []))


def _check_writable(folder: Path) -> None:
    """Create ``folder`` and prove that a file can be written there, before any work."""
    from .io.atomic import TMP_PREFIX

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{TMP_PREFIX}{os.getpid()}-write-test-")
        os.close(fd)
        os.remove(tmp)
    except OSError as exc:
        raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def _remove_if_new_and_empty(folder: Path, existed: bool) -> None:
    """After a failed run: remove the output folder if this command created it and
    nothing is in it."""
    if not existed:
        try:
            folder.rmdir()
        except OSError:
            pass


def _interrupted(exc: BaseException) -> int:
    from .io.atomic import Terminated

    return 143 if isinstance(exc, Terminated) else 130


#: options of run/sweep/config that take one value (for finding the preset in argv)
_VALUE_OPTIONS = ("--out", "--vary", "--workers", "--scheduler")


def _check_set_order(command: str, argv: list, args) -> None:
    """``--set`` takes KEY=VALUE pairs after the preset name only: before it, the preset
    name would be read as a pair (or the order be ambiguous)."""
    if command not in ("run", "sweep", "config"):
        return
    try:
        tokens = argv[argv.index(command) + 1:]
    except ValueError:
        return
    sets = [i for i, t in enumerate(tokens) if t == "--set" or t.startswith("--set=")]
    usage = f"{PROG} {command} PRESET_OR_FILE --set KEY=VALUE ..."
    if args.preset is None:
        if sets:
            raise UserError(f"--set: put the preset name before --set ({usage}); "
                            "the preset name was read as a --set pair")
        raise UserError(f"PRESET_OR_FILE missing: give a preset name ({PROG} presets) or a TOML file")
    where = [i for i, t in enumerate(tokens)
             if t == args.preset and (i == 0 or tokens[i - 1] not in _VALUE_OPTIONS)]
    if sets and where and sets[0] < where[0]:
        raise UserError(f"--set: put the preset name before --set ({usage})")


def _files_line(files) -> str:
    names = [Path(f).name for f in files]
    pngs = [n for n in names if n.endswith(".png")]
    pdfs = [n for n in names if n.endswith(".pdf")]
    other = [n for n in names if n not in pngs and n not in pdfs]
    parts = other + ([f"{len(pngs)} PNG"] if pngs else []) + ([f"{len(pdfs)} PDF"] if pdfs else [])
    return ", ".join(parts)


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


class _StepBar:
    """A tqdm progress bar on stderr for one step of a run, fed by the solvers'
    ``progress(done, total)`` callbacks. Created at the first report (a step that
    reports nothing prints nothing), shown only on a terminal (tqdm's ``disable=None``)
    and never with --quiet."""

    def __init__(self, desc: str, unit: str, enabled: bool, after: "_StepBar | None" = None) -> None:
        self.desc, self.unit, self.enabled, self.bar, self.after = desc, unit, enabled, None, after

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            if self.after is not None:  # the previous step is over: one bar at a time
                self.after.close()

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, leave=True,
                            dynamic_ncols=True, disable=None, file=sys.stderr)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def cmd_run(args) -> int:
    from .parallel import check_scheduler, connected

    t0 = time.perf_counter()
    if args.scheduler is not None:  # a malformed address fails before anything is written
        check_scheduler(args.scheduler, what="--scheduler")
    # connected before the output folder is made: an unreachable scheduler leaves nothing
    try:
        with connected(args.scheduler, what="--scheduler"):
            return _run_command(args, t0)
    except KeyboardInterrupt as exc:  # while connecting (a solve reports its own)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return _interrupted(exc)


def _run_command(args, t0: float) -> int:
    """``mesokinetics run`` inside the connection to its --scheduler (if any)."""
    from .io.atomic import FolderLock, LockError, terminate_on_sigterm
    from .io.config import load_config
    from .io.results import check_output_folder
    from .workflow import output_folder, run

    config = load_config(args.preset, _overrides(args.set))
    out = output_folder(config, args.out, "results")
    try:
        check_output_folder(out, args.overwrite)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    existed = out.exists()
    _check_writable(out)
    try:
        lock = FolderLock(out, "mesokinetics run").acquire()
    except LockError as exc:
        _remove_if_new_and_empty(out, existed)
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    done = False
    solve_bar = _StepBar("solve", "shell", not args.quiet)
    bars = (solve_bar, _StepBar("observables", "chunk", not args.quiet, after=solve_bar))
    try:
        with terminate_on_sigterm():
            try:
                result = run(config, progress=bars[0], observables_progress=bars[1],
                             scheduler=args.scheduler)
            finally:
                for bar in bars:
                    bar.close()
            files = result.save(out, vtk=False if args.no_vtk else None,
                                png=False if args.no_plots else None,
                                pdf=True if args.pdf else None, overwrite=args.overwrite)
        done = True
    except KeyboardInterrupt as exc:
        print(f"{PROG}: interrupted: {out} left as it was", file=sys.stderr)
        return _interrupted(exc)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        lock.release()
        if not done:
            _remove_if_new_and_empty(out, existed)
    if not args.quiet:
        print(result.summary_text())
        print(f"wrote {out}/: {_files_line(files)} ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_sweep(args) -> int:
    from .io.config import load_config
    from .sweep import check_scheduler, run_sweep, sweep_status  # SweepError wording
    from .workflow import output_folder

    config = load_config(args.preset, _overrides(args.set))
    out = output_folder(config, args.out, "sweeps")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: expected an integer >= 1")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    try:
        report = run_sweep(config, args.vary, out, workers=args.workers, scheduler=args.scheduler,
                           vtk=not args.no_vtk, point_plots=args.point_plots,
                           plots=not args.no_plots, progress=not args.quiet,
                           overwrite=args.overwrite)
    except KeyboardInterrupt as exc:
        try:
            status = sweep_status(out)
            done = f"{len(status['finished'])} of {len(status['manifest']['points'])} points finished; "
        except Exception:  # noqa: BLE001 - best effort message
            done = ""
        print(f"{PROG}: interrupted: {done}rerun the same command to resume", file=sys.stderr)
        return _interrupted(exc)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    for index, reason in sorted(report.damaged.items()):
        print(f"{PROG}: point {index} was damaged ({reason}): moved to {out}/damaged/ and "
              "solved again", file=sys.stderr)
    if not args.quiet:
        print(f"{config.name}: {report.total} points, {len(report.skipped)} already finished, "
              f"{len(report.computed)} computed, {len(report.failed)} failed "
              f"({report.seconds:.1f} s)")
        print(f"wrote {out}/: sweep.csv, sweep.json, points/"
              + (", sweep.pvd" if (out / "sweep.pvd").is_file() else "")
              + (", sweep.png" if (out / "sweep.png").is_file() else ""))
    for index, message in sorted(report.failed.items()):
        print(f"{PROG}: point {index} failed: {message}", file=sys.stderr)
    if report.internal_errors:
        return 1
    return 2 if report.failed else 0


def cmd_presets(args) -> int:
    from .io.config import ConfigError, list_presets, load_config, preset_dirs

    presets = list_presets()
    if not presets:
        raise UserError("no presets found (looked in: "
                        + (", ".join(map(str, preset_dirs())) or "no folder") + ")")
    width = max(len(n) for n in presets)
    for name, path in presets.items():
        try:
            text = load_config(path).description or "(no description)"
        except ConfigError as exc:
            text = f"(invalid: {exc})"
        print(f"{name.ljust(width)}  {text}" + (f"  [{path}]" if args.verbose else ""))
    return 0


def cmd_config(args) -> int:
    from .io.config import load_config

    print(load_config(args.preset, _overrides(args.set)).to_toml(), end="")
    return 0


def cmd_show(args) -> int:
    import csv

    from .io.results import ResultError, load_result, verify_result
    from .sweep import read_table, sweep_status

    folder = Path(args.folder)
    if os.path.lexists(folder / "sweep.json"):
        status = sweep_status(folder)
        m = status["manifest"]
        varies = "; ".join(f"{v['key']} = {', '.join(map(str, v['values']))}" for v in m["varies"])
        damaged = status["damaged"]
        print(f"sweep {m.get('name')} (mesokinetics {m.get('version')}): {len(status['finished'])} of "
              f"{len(m['points'])} points finished"
              + (f", {len(damaged)} damaged (rerun the sweep command to solve them again)"
                 if damaged else ""))
        print(f"varied: {varies}")
        for index, reason in sorted(damaged.items()):
            print(f"damaged: point {index}: {reason}")
        if status["lock"] is not None:
            owner = status["lock"]
            print(f"in use by pid {owner.get('pid')} on {owner.get('host')} since {owner.get('since')} "
                  "(or left by a killed sweep: the next run takes it over)")
        if (folder / "sweep.csv").is_file():
            try:
                rows = read_table(folder)
            except (OSError, ValueError, UnicodeDecodeError, csv.Error) as exc:
                raise ResultError(f"{folder / 'sweep.csv'}: unreadable: {exc}") from None
            keys = ["point"] + [v["key"] for v in m["varies"]]
            extra = [c for c in ("conductance_ratio", "sigma_parallel") if rows and c in rows[0]]
            cols = keys + extra
            print("  ".join(c.rjust(14) for c in cols))
            for r in rows:
                print("  ".join((f"{r.get(c):.6g}" if isinstance(r.get(c), float) else str(r.get(c, "")))
                                .rjust(14) for c in cols))
        return 0
    result = load_result(folder)
    info = result.info
    try:
        text = result.summary_text()
        overrides = info.get("overrides") or {}
        line = (f"mesokinetics {info.get('version')}, created {info.get('created')}, "
                f"from {info.get('source') or 'a dict'}"
                + (", overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items())
                   if overrides else ""))
        files = ", ".join(map(str, info.get("files", [])))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ResultError(f"{folder / 'result.json'}: not a valid result file (entry "
                          f"{' '.join(str(exc).split())[:80]} missing or malformed)") from None
    print(text)
    print(line)
    print(f"files: {files}")
    problem = verify_result(folder)
    if problem:
        print(f"warning: {problem}")
    return 0


# --------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Quantum kinetic linear response of weakly disordered multiband samples: "
                    "run presets (TOML), sweep parameters, inspect results.",
        epilog="Presets live in geometries/ (see 'mesokinetics presets'); keys and units: "
               "docs/config.md. Example: mesokinetics run rashba_strip --out out",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of user errors too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    set_help = ("override a configuration key, e.g. --set numerics.cells=16 geometry.width=50.0 "
                "(value in TOML syntax; repeatable)")

    p = sub.add_parser("run", help="solve one preset or TOML file and write its result folder",
                       description="Solve one sample and write result.npz, result.json, config.toml, "
                                   "result.vtu (strips, films: profiles; wires, periodic strips: maps "
                                   "on the section's own mesh) and PNG figures into --out; print a "
                                   "summary.")
    p.add_argument("preset", metavar="PRESET_OR_FILE", nargs="?",
                   help="preset name or path to a TOML file (before --set)")
    p.add_argument("--out", metavar="DIR",
                   help="result folder: new, empty or a previous result (default: "
                        "results/NAME under the working directory, NAME sanitized)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty folder that is not a result folder (files of "
                        "the same names are replaced, nothing else is removed)")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", help=set_help)
    p.add_argument("--no-vtk", action="store_true", help="do not write result.vtu")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    p.add_argument("--pdf", action="store_true", help="also write the figures as PDF")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the Fermi-sea chunks of the observables on a Dask distributed "
                        "cluster, e.g. tcp://127.0.0.1:8786 (the same numbers as serially; "
                        "needs pip install 'mesokinetics[dask]')")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="solve a grid of parameter values (resumable, parallel)",
                       description="Solve the Cartesian product of the --vary values, one result folder "
                                   "per point under DIR/points/, plus DIR/sweep.csv, sweep.pvd and "
                                   "sweep.png. Rerunning the same command skips finished points.")
    p.add_argument("preset", metavar="PRESET_OR_FILE", nargs="?",
                   help="preset name or path to a TOML file (before --set)")
    p.add_argument("--vary", metavar="KEY=SPEC", action="append", required=True,
                   help="KEY=START:STOP:NUM (linear), KEY=START:STOP:NUM:log (geometric) or "
                        "KEY=V1,V2,... (repeatable: the grid is the product)")
    p.add_argument("--out", metavar="DIR",
                   help="sweep folder: new, empty or this sweep's (resumed) (default: "
                        "sweeps/NAME under the working directory, NAME sanitized)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty folder that is not a sweep folder "
                        "(nothing in it is removed)")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", help=set_help)
    p.add_argument("--workers", metavar="N", type=int,
                   help="processes of the local pool (default: number of CPUs; 1: no pool)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask distributed cluster, e.g. tcp://127.0.0.1:8786 "
                        "(needs pip install 'mesokinetics[dask]')")
    p.add_argument("--point-plots", action="store_true", help="write PNG figures in every point folder")
    p.add_argument("--no-vtk", action="store_true", help="do not write result.vtu and sweep.pvd")
    p.add_argument("--no-plots", action="store_true", help="do not write sweep.png")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("presets", help="list the presets with their descriptions",
                       description="List the presets (TOML files in $MESOKINETICS_PRESETS, "
                                   "the user folder ~/.config/mesokinetics/presets and the "
                                   "shipped geometries/; first wins) with one-line descriptions.")
    p.add_argument("-v", "--verbose", action="store_true", help="show the file of each preset")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("show", help="summarize a result or sweep folder",
                       description="Print the summary of a result folder (mesokinetics run) or the "
                                   "status and table of a sweep folder.")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("config", help="validate a preset or file and print it fully resolved",
                       description="Validate and print the resolved configuration (all defaults "
                                   "filled in) as TOML; a starting point for your own file.")
    p.add_argument("preset", metavar="PRESET_OR_FILE", nargs="?")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", help=set_help)
    p.set_defaults(func=cmd_config)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        _check_set_order(args.command, argv, args)
        return args.func(args)
    except _user_errors() as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split("\n"))
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. mesokinetics presets | head
        return 0


def entry_point() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
