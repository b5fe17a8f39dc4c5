"""Parameter sweeps: the grid, resuming after a kill with exactly the missing points,
atomic point folders, and the same results on a process pool, in process and on a Dask
distributed cluster."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.io.results import Result
from mesokinetics.sweep import SweepError, Vary, read_table, run_sweep

BASE = ["numerics.angles=16", "numerics.cells=10", "output.png=false"]
VARY = ["geometry.width=40:200:3", "geometry.specularity=0,0.5"]


def arrays_of(folder):
    out = {}
    for point in sorted((Path(folder) / "points").iterdir()):
        if point.name.startswith("."):
            continue
        with np.load(point / "result.npz") as npz:
            out[point.name] = {k: npz[k] for k in npz.files}
    return out


def assert_same_sweep(a, b):
    ta, tb = read_table(a), read_table(b)
    assert ta == tb
    xa, xb = arrays_of(a), arrays_of(b)
    assert xa.keys() == xb.keys()
    for point in xa:
        assert xa[point].keys() == xb[point].keys()
        for key in xa[point]:
            np.testing.assert_allclose(xa[point][key], xb[point][key], rtol=1e-12, atol=0,
                                       err_msg=f"{point} {key}")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep, computed in this process."""
    out = tmp_path_factory.mktemp("reference")
    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=True)
    assert report.complete and report.computed == list(range(6)) and not report.failed
    return out


def test_vary_specs():
    assert Vary.parse("geometry.width=10:30:3").values == (10, 20, 30)
    assert Vary.parse("conditions.mu=0.1:0.2:3").values == pytest.approx((0.1, 0.15, 0.2))
    v = Vary.parse("geometry.width=1:100:3:log")
    assert v.log and v.values == pytest.approx((1.0, 10.0, 100.0))
    assert Vary.parse("geometry.kind=uniform,strip").values == ("uniform", "strip")
    assert Vary.parse("conditions.field=[1e-3,0],[2e-3,0]").values == ([1e-3, 0], [2e-3, 0])
    for bad in ("width", "geometry.width=1:2", "geometry.width=1:2:0", "geometry.width=0:1:3:log",
                "geometry.width=a:b:3"):
        with pytest.raises(SweepError):
            Vary.parse(bad)


def test_sweep_folder_table_collection_and_rows(reference):
    rows = read_table(reference)
    assert [r["point"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert [(r["geometry.width"], r["geometry.specularity"]) for r in rows] == [
        (40, 0), (40, 0.5), (120, 0), (120, 0.5), (200, 0), (200, 0.5)]
    # every row is the summary of its point folder
    for r in rows:
        result = mk.load_result(reference / "points" / f"{int(r['point']):04d}")
        assert result.config["geometry"]["width"] == r["geometry.width"]
        assert r["conductance_ratio"] == result.summary["conductance_ratio"]
    # more specular walls and wider strips conduct better
    ratio = {(r["geometry.width"], r["geometry.specularity"]): r["conductance_ratio"] for r in rows}
    assert ratio[(40, 0)] < ratio[(40, 0.5)] and ratio[(40, 0)] < ratio[(200, 0)] < 1
    pvd = (reference / "sweep.pvd").read_text()
    assert pvd.count("<DataSet") == 6 and 'file="points/0005/result.vtu"' in pvd
    assert (reference / "sweep.png").stat().st_size > 1000
    manifest = json.loads((reference / "sweep.json").read_text())
    assert [p["values"] for p in manifest["points"]][1] == {"geometry.width": 40,
                                                           "geometry.specularity": 0.5}


def test_killed_sweep_resumes_with_exactly_the_missing_points(reference, tmp_path):
    out = tmp_path / "killed"
    # the points are slowed down (in the forked pool workers too) so that the kill lands mid-way
    script = ("import time, mesokinetics.sweep as s\n"
              "solve = s.compute_point\n"
              "def slow(config):\n"
              "    time.sleep(0.3)\n"
              "    return solve(config)\n"
              "s.compute_point = slow\n"
              "from mesokinetics.cli import entry_point\n"
              "entry_point()\n")
    cmd = [sys.executable, "-c", script,
           "sweep", "rashba_strip", "--out", str(out), "--workers", "2", "--no-plots", "-q",
           "--set", *BASE, *sum((["--vary", v] for v in VARY), [])]
    proc = subprocess.Popen(cmd, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("points/[0-9]*/result.json"))) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its pool workers
        proc.wait()
    finished = sorted(p.name for p in (out / "points").iterdir() if not p.name.startswith("."))
    assert 2 <= len(finished) < 6
    for name in finished:  # a point folder is complete or absent
        assert (out / "points" / name / "result.json").is_file()
    before = {n: (out / "points" / n / "result.json").stat().st_mtime_ns for n in finished}
    (out / "points" / ".0005-stale.tmp").mkdir(exist_ok=True)  # as a kill during a write leaves

    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=False)
    assert [f"{i:04d}" for i in report.skipped] == finished
    assert sorted(report.skipped + report.computed) == list(range(6))
    assert not set(report.skipped) & set(report.computed)
    assert {n: (out / "points" / n / "result.json").stat().st_mtime_ns for n in finished} == before
    assert not [p for p in (out / "points").iterdir() if p.name.startswith(".")]
    assert_same_sweep(out, reference)

    again = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                      progress=False, plots=False)
    assert again.computed == [] and len(again.skipped) == 6


def test_a_point_that_fails_while_writing_leaves_no_folder(reference, tmp_path, monkeypatch):
    out = tmp_path / "crash"
    original = Result.save

    def crashing_save(self, folder, **kw):
        if self.config["geometry"]["width"] == 120 and self.config["geometry"]["specularity"] == 0.5:
            (Path(folder) / "result.npz").write_bytes(b"partial")
            raise OSError(28, "No space left on device")
        return original(self, folder, **kw)

    monkeypatch.setattr(Result, "save", crashing_save)
    config = mk.load_config("rashba_strip", BASE)
    with pytest.raises(OSError):
        run_sweep(config, VARY, out, workers=1, progress=False, plots=False)
    names = sorted(p.name for p in (out / "points").iterdir())
    assert names == ["0000", "0001", "0002"]  # point 3 failed: no folder, no temporary
    monkeypatch.setattr(Result, "save", original)
    report = run_sweep(config, VARY, out, workers=1, progress=False, plots=False)
    assert report.computed == [3, 4, 5]
    assert_same_sweep(out, reference)


def test_process_pool_gives_the_same_results(reference, tmp_path, capsys):
    out = tmp_path / "pool"
    argv = ["sweep", "rashba_strip", "--out", str(out), "--workers", "2", "--no-plots", "-q",
            "--set", *BASE, *sum((["--vary", v] for v in VARY), [])]
    assert main(argv) == 0
    assert_same_sweep(out, reference)
    assert main(["show", str(out)]) == 0
    assert "6 of 6 points finished" in capsys.readouterr().out


def test_dask_cluster_gives_the_same_results_as_the_process_pool(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        argv = ["sweep", "rashba_strip", "--out", str(out), "--scheduler",
                cluster.scheduler_address, "--no-plots", "-q", "--set", *BASE,
                *sum((["--vary", v] for v in VARY), [])]
        assert main(argv) == 0
    assert_same_sweep(out, reference)


def test_sweep_refuses_a_different_sweep_in_the_same_folder(reference, capsys):
    assert main(["sweep", "rashba_strip", "--out", str(reference), "--vary",
                 "geometry.width=50,60", "--set", *BASE]) == 2
    assert "holds a different sweep" in capsys.readouterr().err


def test_fuchs_sondheimer_thickness_sweep(tmp_path):
    out = tmp_path / "fs"
    report = run_sweep(mk.load_config("fuchs_sondheimer_film",
                                      ["numerics.polar=8", "numerics.azimuth=4", "numerics.cells=6"]),
                       ["geometry.width=2:50:3:log"], out, workers=1, progress=False, plots=False)
    assert report.complete
    ratios = [r["conductance_ratio"] for r in read_table(out)]
    assert ratios == sorted(ratios)  # the Fuchs-Sondheimer ratio grows with the thickness
