"""Crash-proof sweeps, in the manner of the audit of issue 16: a sweep killed with
SIGKILL or SIGTERM leaves no worker running (and none holding the caller's stdout),
resumes to the files of an uninterrupted run; two writers never share a folder; a
damaged point file is recomputed, never counted as finished.

Worker processes are found through /proc (children of the sweep: the ppid field of
/proc/<pid>/stat) and through the pids the workers record themselves."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.io.atomic import LOCK_NAME, FolderLock, Terminated, pid_alive
from mesokinetics.sweep import read_table, run_sweep, sweep_status
from test_sweep import arrays_of  # one reader of a sweep's arrays

BASE = ["numerics.angles=16", "numerics.cells=10", "output.png=false"]
VARY = ["geometry.width=40,120", "geometry.specularity=0,0.5"]
VARY_ARGS = sum((["--vary", v] for v in VARY), [])

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def children_of(pid):
    """Pids whose parent is ``pid`` (from /proc/<pid>/stat), zombies excluded."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append(int(entry))
    return out


def wait_gone(pids, timeout=10.0):
    """The pids still alive after ``timeout`` seconds (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive


#: the sweep command, its points slowed down in the (forked) pool workers, which record
#: their pids: the kill lands mid-way
SCRIPT = """\
import os, sys, time, mesokinetics.sweep as s
solve = s.compute_point
pids = os.environ["MK_TEST_PIDS"]
def slow(config):
    with open(pids, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(float(os.environ.get("MK_TEST_SLEEP", "0.4")))
    return solve(config)
s.compute_point = slow
from mesokinetics.cli import entry_point
entry_point()
"""


def start_sweep(out, tmp_path, workers=2, sleep=0.4, extra=()):
    cmd = [sys.executable, "-c", SCRIPT, "sweep", "rashba_strip", "--out", str(out),
           "--workers", str(workers), "--no-plots", "-q", "--set", *BASE, *VARY_ARGS, *extra]
    env = dict(os.environ, MK_TEST_PIDS=str(tmp_path / "worker_pids.txt"),
               MK_TEST_SLEEP=str(sleep))
    # a new session, as a batch system starts a job; the test kills the sweep's pid only,
    # not its group (that would hide leaking workers)
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def kill_leftovers(pids):
    """After a failed check: do not leave leaked workers running."""
    for pid in pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def recorded_pids(tmp_path):
    path = tmp_path / "worker_pids.txt"
    return sorted({int(x) for x in path.read_text().split()}) if path.exists() else []


def wait_for(predicate, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early: {proc.stderr.read().decode()}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def finished_points(out):
    return sorted(p.name for p in (out / "points").glob("[0-9]*") if (p / "result.json").is_file())


def assert_same_sweep(a, b):
    assert read_table(a) == read_table(b)
    xa, xb = arrays_of(a), arrays_of(b)
    assert xa.keys() == xb.keys()
    for point in xa:
        assert xa[point].keys() == xb[point].keys()
        for key in xa[point]:
            np.testing.assert_array_equal(xa[point][key], xb[point][key], err_msg=f"{point} {key}")
    # the point files are byte-identical except the timestamps and timings in result.json
    for point in xa:
        for name in os.listdir(Path(a) / "points" / point):
            if name not in ("result.json", "result.npz"):
                assert (Path(a) / "points" / point / name).read_bytes() == \
                       (Path(b) / "points" / point / name).read_bytes(), (point, name)


def no_temporaries(out):
    return [p for p in Path(out).rglob("*") if p.name.startswith(".mk-tmp-")
            or (p.parent.name == "points" and p.name.startswith("."))]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted sweep (4 points, about 2 s), in this process."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=False)
    assert report.complete and not report.failed
    return out


# --------------------------------------------------------------------------------------
# kills
# --------------------------------------------------------------------------------------


def test_sigkill_leaves_no_worker_and_the_sweep_resumes_to_the_same_files(reference, tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "killed"
    proc = start_sweep(out, tmp_path)
    workers = []
    try:
        wait_for(lambda: len(finished_points(out)) >= 1 and len(recorded_pids(tmp_path)) >= 2, proc)
        workers = children_of(proc.pid)
        assert len(workers) >= 1
        os.kill(proc.pid, signal.SIGKILL)  # the sweep only: its workers must follow
        # the caller's stdout and stderr close: no worker holds them any more
        stdout, stderr = proc.communicate(timeout=20)
        assert proc.returncode == -signal.SIGKILL
        pids = sorted(set(workers) | set(recorded_pids(tmp_path)))
        assert pids and wait_gone(pids, timeout=5) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_leftovers(set(workers) | set(recorded_pids(tmp_path)))  # only if the check failed

    finished = finished_points(out)
    assert 1 <= len(finished) < 4
    lock = json.loads((out / LOCK_NAME).read_text())  # left behind by the kill ...
    assert lock["pid"] == proc.pid and not pid_alive(lock["pid"])
    status = sweep_status(out)
    assert status["finished"] == [int(n) for n in finished] and not status["damaged"]

    # ... and taken over: the resume computes exactly the missing points
    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=False)
    assert [f"{i:04d}" for i in report.skipped] == finished
    assert sorted(report.skipped + report.computed) == [0, 1, 2, 3]
    assert not (out / LOCK_NAME).exists() and no_temporaries(out) == []
    assert_same_sweep(out, reference)


def test_sigterm_in_process_stops_the_workers_and_removes_temporaries(reference, tmp_path,
                                                                      monkeypatch):
    """Fast variant of the next test: a real SIGTERM to this process while a pool sweep
    runs (sent from the progress callback, after the first point)."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sigterm"
    before = set(children_of(os.getpid()))
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    workers = []

    def progress(done, total):
        workers.extend(set(children_of(os.getpid())) - before)
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(Terminated):
        run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=2,
                  progress=progress, plots=False)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored
    assert workers and wait_gone(sorted(set(workers))) == []
    assert not (out / LOCK_NAME).exists() and no_temporaries(out) == []
    assert 1 <= len(finished_points(out)) < 4
    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=False)
    assert report.skipped and report.complete
    assert_same_sweep(out, reference)


@pytest.mark.slow
def test_sigterm_stops_the_workers_removes_temporaries_and_exits_143(reference, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "terminated"
    proc = start_sweep(out, tmp_path)
    workers = []
    try:
        wait_for(lambda: len(recorded_pids(tmp_path)) >= 2, proc)
        workers = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        leftovers = set(workers) | set(recorded_pids(tmp_path))
    try:
        assert wait_gone(sorted(leftovers)) == []
    finally:
        kill_leftovers(leftovers)
    assert proc.returncode == 143, stderr.decode()
    assert "interrupted" in stderr.decode() and "Traceback" not in stderr.decode()
    assert wait_gone(sorted(set(workers) | set(recorded_pids(tmp_path)))) == []
    assert not (out / LOCK_NAME).exists()
    assert no_temporaries(out) == []
    assert main(["sweep", "rashba_strip", "--out", str(out), "--workers", "1", "--no-plots",
                 "-q", "--set", *BASE, *VARY_ARGS]) == 0
    assert_same_sweep(out, reference)


def test_a_finished_pool_sweep_leaves_no_process_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = set(children_of(os.getpid()))
    report = run_sweep(mk.load_config("rashba_strip", BASE), ["geometry.width=40,120"],
                       tmp_path / "pool", workers=2, progress=False, plots=False)
    assert report.complete
    assert wait_gone(sorted(set(children_of(os.getpid())) - before), timeout=5) == []


@pytest.mark.parametrize("mechanism", [pytest.param("any", marks=pytest.mark.slow), "watchdog"])
def test_a_pool_worker_dies_when_its_sweep_process_dies(tmp_path, mechanism):
    """The parent-death check itself: a forked worker initialised as the pool does it
    outlives its parent by less than a second, without being signalled (on Linux by the
    parent-death signal and the watchdog; 'watchdog': the portable fallback alone)."""
    code = ("import os, sys, time, mesokinetics.sweep as s\n"
            + ("s._set_parent_death_signal = lambda: False\n" if mechanism == "watchdog" else "")
            + "pid = os.fork()\n"
            "if pid == 0:\n"
            "    s._worker_init(os.getppid(), s.process_start_time(os.getppid()))\n"
            "    time.sleep(60)\n"
            "    os._exit(0)\n"
            "print(pid, flush=True)\n"
            "time.sleep(0.5)\n"
            "os._exit(0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    worker = int(proc.stdout.split()[0])
    try:
        assert wait_gone([worker], timeout=3) == []
    finally:
        kill_leftovers([worker])


# --------------------------------------------------------------------------------------
# one writer per folder
# --------------------------------------------------------------------------------------


def test_a_sweep_into_a_folder_locked_by_a_live_process_exits_2(tmp_path, monkeypatch, capsys):
    """Fast variant of the next test: the lock of a live process (a sleeping child)."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "locked"
    out.mkdir()
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(json.dumps({"pid": owner.pid, "host": os.uname().nodename,
                                                 "what": "mesokinetics sweep"}))
        assert main(["sweep", "rashba_strip", "--out", str(out), "--workers", "1", "--no-plots",
                     "-q", "--set", *BASE, *VARY_ARGS]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"pid {owner.pid}" in err and "--out" in err
        assert sorted(os.listdir(out)) == [LOCK_NAME]  # nothing written
        # the same through the API, and for a run into a locked folder
        with FolderLock(tmp_path / "run_out", "mesokinetics run"):
            assert main(["run", "rashba_strip", "--out", str(tmp_path / "run_out"), "-q",
                         "--set", *BASE]) == 2
            assert "in use by mesokinetics run" in capsys.readouterr().err
    finally:
        owner.kill()
        owner.wait()
    # the owner is gone: its lock is stale and the sweep takes it over
    assert main(["sweep", "rashba_strip", "--out", str(out), "--workers", "1", "--no-plots",
                 "-q", "--set", *BASE, "--vary", "geometry.width=40"]) == 0
    assert not (out / LOCK_NAME).exists()


@pytest.mark.slow
def test_a_second_sweep_into_a_locked_folder_exits_2(reference, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "busy"
    first = start_sweep(out, tmp_path, workers=1, sleep=0.3)
    try:
        wait_for(lambda: (out / LOCK_NAME).exists(), first)
        second = main(["sweep", "rashba_strip", "--out", str(out), "--workers", "1", "--no-plots",
                       "-q", "--set", *BASE, *VARY_ARGS])
        err = capsys.readouterr().err
        assert first.poll() is None  # the first was still running
        _, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second == 2
    assert err.count("\n") == 1 and "in use by mesokinetics sweep" in err and str(first.pid) in err
    assert first.returncode == 0, stderr.decode()
    status = sweep_status(out)
    assert status["finished"] == [0, 1, 2, 3] and not status["damaged"]
    assert_same_sweep(out, reference)


def test_lock_file_stale_live_and_foreign_host(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (folder / LOCK_NAME).write_text(json.dumps({"pid": gone.pid, "host": os.uname().nodename}))
    with FolderLock(folder, "test") as lock:  # stale: taken over
        assert lock.took_over["pid"] == gone.pid
        assert json.loads((folder / LOCK_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(OSError, match="in use by test"):
            FolderLock(folder, "other").acquire()  # live (this process)
    assert not (folder / LOCK_NAME).exists()
    (folder / LOCK_NAME).write_text(json.dumps({"pid": gone.pid, "host": "elsewhere.invalid"}))
    with pytest.raises(OSError, match="elsewhere.invalid"):
        FolderLock(folder).acquire()  # another host: cannot be checked, never broken
    assert json.loads((folder / LOCK_NAME).read_text())["host"] == "elsewhere.invalid"


# --------------------------------------------------------------------------------------
# damaged points
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated-npz", "truncated-json", "missing-npz", "changed-vtu"])
def test_resume_recomputes_a_damaged_point_and_show_does_not_count_it(reference, tmp_path,
                                                                      monkeypatch, capsys, damage):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "damaged_sweep"
    shutil.copytree(reference, out)
    point = out / "points" / "0001"
    if damage == "truncated-npz":
        data = (point / "result.npz").read_bytes()
        (point / "result.npz").write_bytes(data[: len(data) // 2])
    elif damage == "truncated-json":
        text = (point / "result.json").read_text()
        (point / "result.json").write_text(text[: len(text) // 3])
    elif damage == "missing-npz":
        (point / "result.npz").unlink()
    else:
        with open(point / "result.vtu", "ab") as fh:
            fh.write(b"<!-- -->")

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "3 of 4 points finished, 1 damaged" in shown and "4 of 4" not in shown
    assert sweep_status(out)["finished"] == [0, 2, 3]

    report = run_sweep(mk.load_config("rashba_strip", BASE), VARY, out, workers=1,
                       progress=False, plots=False)
    assert report.computed == [1] and report.skipped == [0, 2, 3] and list(report.damaged) == [1]
    assert (out / "damaged" / "0001").is_dir()  # set aside, not deleted
    assert_same_sweep(out, reference)
    assert sweep_status(out)["finished"] == [0, 1, 2, 3]


def test_crafted_sweep_folders_give_one_line_errors(tmp_path, capsys):
    cases = {
        "no-points": {"format": "mesokinetics-sweep"},
        "bad-index": {"format": "mesokinetics-sweep", "varies": [], "points": [{"index": "../x",
                                                                               "values": {}}]},
        "not-a-dict": [1, 2, 3],
    }
    for name, manifest in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "sweep.json").write_text(json.dumps(manifest))
        assert main(["show", str(folder)]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("mesokinetics: error: "), (name, err)
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "sweep.json").write_text("[" * 100000 + "]" * 100000)
    assert main(["show", str(deep)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_scheduler_that_is_not_an_address_exits_2_before_anything_is_written(tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "rashba_strip", "--scheduler", "notaurl", "--vary",
                 "geometry.width=40,120", "--set", *BASE]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--scheduler 'notaurl'" in err and "tcp://" in err
    assert list(tmp_path.iterdir()) == []
