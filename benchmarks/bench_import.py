"""CPU cost of ``import mesokinetics`` above the numpy and scipy modules it builds on.

Each import runs in a fresh interpreter (median of ``--repeat`` runs, process CPU time).
Target (architecture issue): under 0.1 s above numpy + scipy. The baseline imports the
scipy submodules the solvers use at import (linalg, sparse.linalg, constants); the Kubo
check, scipy.optimize, matplotlib, FiPy and the workflow layer load on first use.

Bytecode: an installed package imports from cached bytecode (.pyc). With
PYTHONDONTWRITEBYTECODE set (as on some CI and sandbox machines) every import compiles
the sources again, which costs about 0.1 s more for this package; the benchmark therefore
runs its interpreters with a private bytecode cache (PYTHONPYCACHEPREFIX, warmed once),
and ``--no-cache`` measures the uncached case.

Run: python benchmarks/bench_import.py [--repeat 7] [--no-cache]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

CASES = {
    "numpy": "import numpy",
    "numpy + scipy (linalg, sparse.linalg, constants)":
        "import numpy, scipy.linalg, scipy.sparse.linalg, scipy.constants",
    "mesokinetics": "import mesokinetics",
    "mesokinetics + first lazy use (kubo, workflow)":
        "import mesokinetics as mk; mk.kubo; mk.run",
}


def cpu_seconds(code: str, repeat: int, env: dict) -> float:
    probe = f"import time; t = time.process_time(); {code}; print(time.process_time() - t)"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)  # warm the cache
    runs = [float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                 check=True, env=env).stdout) for _ in range(repeat)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-cache", action="store_true", help="compile every import")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if args.no_cache:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
        times = {name: cpu_seconds(code, args.repeat, env) for name, code in CASES.items()}
    base = times["numpy + scipy (linalg, sparse.linalg, constants)"]
    print("| import | CPU (s) | above numpy + scipy (s) |\n|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {t - base:+.3f} |")


if __name__ == "__main__":
    main()
