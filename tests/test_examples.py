"""The example scripts run and write their figures (all of them with -m slow)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAST = ["sot_cancellation"]
SLOW = ["fuchs_sondheimer", "rashba_strip_edge", "orbital_film", "rashba_ferromagnet_strip",
        "kubo_vs_kinetic", "rashba_wire_map"]


def _run(name, tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert list(tmp_path.glob("*.png")), f"{name} wrote no figure"


@pytest.mark.parametrize("name", FAST)
def test_main_example_runs(name, tmp_path):
    _run(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_example_runs(name, tmp_path):
    _run(name, tmp_path)
