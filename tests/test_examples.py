"""The example scripts are executable documentation: each one ends by asserting its match
with the closed form, sum rule, symmetry or converged run it reproduces, printing one line
per check that starts with "check:" and a final "check: all N checks passed" (a failed
check raises AssertionError, so the exit code carries the physics). The fast examples
run in the default suite, the others with -m slow.

Wall times on the shared 2-core machine, whole script (imports and figures included),
with the solvers' tol check (mesokinetics 0.1.0, 2026-12-01), one or two runs at load 1-4.5,
CPU time in parentheses: sot_cancellation 8-11 s (6.3-7.5), fuchs_sondheimer 10 s (6.7-7.2),
rashba_strip_edge 13-18 s (12-13), rashba_ferromagnet_strip 11-18 s (11-12),
rashba_wire_map 21-36 s (18-22; 0.5 GB peak), orbital_film 41 s (17), kubo_vs_kinetic
64 s (29), heavy_metal_film 140 s (90; 0.85 GB peak), the last three at load 3.5-4;
lattice_specular_strip 4.6 s (5.1) idle.
FAST: the ones whose typical wall time was below ~15 s before the tol check
(rashba_wire_map: 10-17 s, 8.7 s CPU then).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

#: example -> (files it writes into --out, number of "check:" lines before the summary)
EXPECTED = {
    "sot_cancellation": (["sot_cancellation.png"], 4),
    "fuchs_sondheimer": (["fuchs_sondheimer.png"], 4),
    "rashba_strip_edge": (["rashba_strip_edge.png"], 7),
    "rashba_ferromagnet_strip": (["rashba_ferromagnet_strip.png"], 11),
    "rashba_wire_map": (["rashba_wire_map.png"], 5),
    "orbital_film": (["orbital_film.png"], 7),
    "heavy_metal_film": (["heavy_metal_film.png"], 12),
    "kubo_vs_kinetic": (["kubo_vs_kinetic.png", "kubo_vs_kinetic.md"], 10),
    "lattice_specular_strip": (["lattice_specular_strip.png"], 5),
}
FAST = ["sot_cancellation", "fuchs_sondheimer", "rashba_strip_edge", "rashba_ferromagnet_strip",
        "rashba_wire_map", "lattice_specular_strip"]
SLOW = ["orbital_film", "kubo_vs_kinetic", "heavy_metal_film"]


def test_every_example_is_listed():
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(FAST + SLOW) == scripts == sorted(EXPECTED)


def _run(name, tmp_path):
    # The examples document this repository's package: put it first on the path.
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    checks = [line for line in out.stdout.splitlines() if line.startswith("check:")]
    assert out.returncode == 0, (f"{name} exited with {out.returncode}\n" + "\n".join(checks)
                                 + "\n--- stderr ---\n" + out.stderr[-3000:])
    files, count = EXPECTED[name]
    for file in files:
        path = tmp_path / file
        assert path.is_file() and path.stat().st_size > 0, f"{name} did not write {file}"
    assert checks, f"{name} printed no check line:\n{out.stdout[-2000:]}"
    summary = re.fullmatch(r"check: all (\d+) checks passed", checks[-1])
    assert summary, f"{name}: last check line is {checks[-1]!r}"
    assert int(summary.group(1)) == len(checks) - 1 == count, (
        f"{name}: expected {count} checks, the summary says {summary.group(1)}:\n" + "\n".join(checks))
    assert not any("FAILED" in line for line in checks), "\n".join(checks)


@pytest.mark.parametrize("name", FAST)
def test_fast_example_reproduces_its_reference(name, tmp_path):
    _run(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_example_reproduces_its_reference(name, tmp_path):
    _run(name, tmp_path)
