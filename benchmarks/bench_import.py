"""CPU cost of ``import mesokinetics`` above the numpy and scipy modules it builds on.

Each import runs in a fresh interpreter (median of ``--repeat`` runs, process CPU time).
Target (architecture issue): under 0.1 s above numpy + scipy. The baseline imports the
scipy submodules the solvers use at import (linalg, sparse.linalg, constants); the Kubo
check, scipy.optimize, matplotlib, FiPy and the workflow layer load on first use.

Run: python benchmarks/bench_import.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CASES = {
    "numpy": "import numpy",
    "numpy + scipy (linalg, sparse.linalg, constants)":
        "import numpy, scipy.linalg, scipy.sparse.linalg, scipy.constants",
    "mesokinetics": "import mesokinetics",
    "mesokinetics + first lazy use (kubo, workflow)":
        "import mesokinetics as mk; mk.kubo; mk.run",
}


def cpu_seconds(code: str, repeat: int) -> float:
    probe = f"import time; t = time.process_time(); {code}; print(time.process_time() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeat)]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    times = {name: cpu_seconds(code, args.repeat) for name, code in CASES.items()}
    base = times["numpy + scipy (linalg, sparse.linalg, constants)"]
    print("| import | CPU (s) | above numpy + scipy (s) |\n|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {t:.3f} | {t - base:+.3f} |")


if __name__ == "__main__":
    main()
