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
    from .sweep import SweepError
    from .workflow import RunError

    return (UserError, ConfigError, ResultError, SweepError, RunError)


def _overrides(pairs) -> dict:
    from .io.config import parse_override

    return dict(parse_override(p) for p in (pairs or []))


def _check_writable(folder: Path) -> None:
    """Create ``folder`` and prove that a file can be written there, before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(fd)
        os.remove(tmp)
    except OSError as exc:
        raise UserError(f"cannot write to {folder}: {exc.strerror or exc}") from None


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


def cmd_run(args) -> int:
    from .io.config import load_config
    from .workflow import run

    t0 = time.perf_counter()
    config = load_config(args.preset, _overrides(args.set))
    out = Path(args.out) if args.out else Path("results") / config.name
    _check_writable(out)
    result = run(config)
    try:
        files = result.save(out, vtk=False if args.no_vtk else None,
                            png=False if args.no_plots else None, pdf=True if args.pdf else None)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
    if not args.quiet:
        print(result.summary_text())
        print(f"wrote {out}/: {_files_line(files)} ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_sweep(args) -> int:
    from .io.config import load_config
    from .sweep import run_sweep, sweep_status

    config = load_config(args.preset, _overrides(args.set))
    out = Path(args.out) if args.out else Path("sweeps") / config.name
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: expected an integer >= 1")
    _check_writable(out)
    try:
        report = run_sweep(config, args.vary, out, workers=args.workers, scheduler=args.scheduler,
                           vtk=not args.no_vtk, point_plots=args.point_plots,
                           plots=not args.no_plots, progress=not args.quiet)
    except KeyboardInterrupt:
        try:
            status = sweep_status(out)
            done = f"{len(status['finished'])} of {len(status['manifest']['points'])} points finished; "
        except Exception:  # noqa: BLE001 - best effort message
            done = ""
        print(f"{PROG}: interrupted: {done}rerun the same command to resume", file=sys.stderr)
        return 130
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
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
    from .io.results import load_result
    from .sweep import read_table, sweep_status

    folder = Path(args.folder)
    if (folder / "sweep.json").is_file():
        status = sweep_status(folder)
        m = status["manifest"]
        varies = "; ".join(f"{v['key']} = {', '.join(map(str, v['values']))}" for v in m["varies"])
        print(f"sweep {m['name']} (mesokinetics {m['version']}): {len(status['finished'])} of "
              f"{len(m['points'])} points finished")
        print(f"varied: {varies}")
        if (folder / "sweep.csv").is_file():
            rows = read_table(folder)
            keys = ["point"] + [v["key"] for v in m["varies"]]
            extra = [c for c in ("conductance_ratio", "sigma_parallel") if rows and c in rows[0]]
            cols = keys + extra
            print("  ".join(c.rjust(14) for c in cols))
            for r in rows:
                print("  ".join((f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c])).rjust(14)
                                for c in cols))
        return 0
    result = load_result(folder)
    info = result.info
    print(result.summary_text())
    print(f"mesokinetics {info.get('version')}, created {info.get('created')}, "
          f"from {info.get('source') or 'a dict'}"
          + (", overrides " + ", ".join(f"{k}={v}" for k, v in info["overrides"].items())
             if info.get("overrides") else ""))
    print(f"files: {', '.join(info.get('files', []))}")
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
                                   "result.vtu (strips, films) and PNG figures into --out; print a summary.")
    p.add_argument("preset", metavar="PRESET_OR_FILE", help="preset name or path to a TOML file")
    p.add_argument("--out", metavar="DIR", help="result folder (default: results/NAME)")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", help=set_help)
    p.add_argument("--no-vtk", action="store_true", help="do not write result.vtu")
    p.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    p.add_argument("--pdf", action="store_true", help="also write the figures as PDF")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="solve a grid of parameter values (resumable, parallel)",
                       description="Solve the Cartesian product of the --vary values, one result folder "
                                   "per point under DIR/points/, plus DIR/sweep.csv, sweep.pvd and "
                                   "sweep.png. Rerunning the same command skips finished points.")
    p.add_argument("preset", metavar="PRESET_OR_FILE", help="preset name or path to a TOML file")
    p.add_argument("--vary", metavar="KEY=SPEC", action="append", required=True,
                   help="KEY=START:STOP:NUM (linear), KEY=START:STOP:NUM:log (geometric) or "
                        "KEY=V1,V2,... (repeatable: the grid is the product)")
    p.add_argument("--out", metavar="DIR", help="sweep folder (default: sweeps/NAME)")
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
                       description="List the presets (TOML files in geometries/ and in "
                                   "$MESOKINETICS_PRESETS) with one-line descriptions.")
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
    p.add_argument("preset", metavar="PRESET_OR_FILE")
    p.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", help=set_help)
    p.set_defaults(func=cmd_config)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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
