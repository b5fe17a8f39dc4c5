"""Output safety (issue 16): a configuration's name cannot send results outside the
working directory; a result.json we did not write cannot make us delete anything; a
non-empty foreign folder needs --overwrite; temporary files never stay behind; the
command line annotates descriptions after --set, wants --set after the preset name and
answers crafted result folders with one line and exit status 2.

Every test writes into tmp_path only (the working directory is moved there)."""

import hashlib
import json
import os
from pathlib import Path

import pytest

import mesokinetics as mk
from mesokinetics.cli import main
from mesokinetics.io.atomic import atomic_output, atomic_write, clean_temporaries
from mesokinetics.io.results import (ResultError, check_output_folder, folder_state, load_result,
                                     read_manifest, verify_result)
from mesokinetics.workflow import output_folder, safe_name

#: the smallest preset with reduced numerics, no figures, no VTK: about 0.3 s a run
FAST = ["numerics.angles=16", "numerics.cells=8", "output.png=false", "output.vtk=false"]


def run_cli(out, *extra, sets=()):
    return main(["run", "rashba_strip", *(["--out", str(out)] if out is not None else []), "-q",
                 *extra, "--set", *FAST, *sets])


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mesokinetics: error: "), err
    assert "Traceback" not in err
    return err


def tree(folder):
    """{relative path: bytes} of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def work(tmp_path, monkeypatch):
    """tmp_path/work as the working directory, tmp_path/victim a folder beside it."""
    wd = tmp_path / "work"
    wd.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("\\documentclass{article}\n")
    (victim / "result.npz").write_bytes(b"someone else's file")
    monkeypatch.chdir(wd)
    return wd, victim


# --------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, folder", [
    ("/etc/passwd", "etc_passwd"), ("../../x", "x"), ("..", "config"), (".", "config"),
    ("/", "config"), (".hidden", "hidden"), ("a/../../b", "a_b"), ("C:\\Windows", "C_Windows"),
    ("rashba strip (p=0.5)", "rashba_strip_p_0.5"), ("ok-name_1.2", "ok-name_1.2"),
    ("\u00e9t\u00e9", "t"), ("x" * 300, "x" * 100), ("", "config"),
])
def test_safe_name_keeps_letters_digits_dash_underscore_dot(name, folder):
    assert safe_name(name) == folder
    assert "/" not in folder and "\\" not in folder and not folder.startswith(".")


def test_absolute_and_parent_names_stay_under_the_working_directory(work, tmp_path, capsys):
    wd, victim = work
    before = tree(victim)
    for name in (str(victim), "../victim", "..", f"{victim}/../victim"):
        config = mk.load_config("rashba_strip", {"name": name})
        folder = output_folder(config)
        assert folder.parent == wd / "results" and folder.name == safe_name(name)
        code = run_cli(None, sets=[f"name={json.dumps(name)}"])
        if code == 2:  # a stricter validation of `name` may refuse it: fine, one line
            assert "name" in one_line_error(capsys)
        else:
            assert code == 0
            assert (wd / "results" / safe_name(name) / "result.json").is_file()
    assert tree(victim) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim", "work"]
    # a sweep likewise
    code = main(["sweep", "rashba_strip", "--workers", "1", "--no-plots", "-q", "--vary",
                 "geometry.width=40,60", "--set", *FAST, f"name={json.dumps(str(victim))}"])
    if code == 0:
        assert (wd / "sweeps" / safe_name(str(victim)) / "sweep.json").is_file()
    assert tree(victim) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim", "work"]


# --------------------------------------------------------------------------------------
# existing folders
# --------------------------------------------------------------------------------------


def test_hostile_result_json_never_removes_a_file_outside_the_manifest(work, capsys):
    wd, victim = work
    (victim / "outside.png").write_bytes(b"png")
    out = wd / "out"
    out.mkdir()
    thesis = out / "thesis.tex"
    thesis.write_text("my thesis\n")
    digest = hashlib.sha256(thesis.read_bytes()).hexdigest()
    hostile = [
        {"files": ["thesis.tex"]},                                         # the audit's file
        {"format": "mesokinetics-result", "files": ["thesis.tex", "../victim/thesis.tex"]},
        {"format": "mesokinetics-result", "manifest": {                    # right hash, not ours
            "format": "mesokinetics-result", "hash": "sha256",
            "files": {"thesis.tex": digest, "../victim/outside.png":
                      hashlib.sha256(b"png").hexdigest(), str(victim / "thesis.tex"): digest}}},
    ]
    for meta in hostile:
        (out / "result.json").write_text(json.dumps(meta))
        code = run_cli(out)
        if code == 2:
            assert "--overwrite" in one_line_error(capsys)
        assert thesis.read_text() == "my thesis\n"
        assert run_cli(out, "--overwrite") == 0
        assert thesis.read_text() == "my thesis\n"
        assert (victim / "outside.png").read_bytes() == b"png"
        assert (victim / "thesis.tex").exists()
        assert set(read_manifest(out)) == {"result.npz", "config.toml"}
        # a rerun into what is now our result replaces our files and keeps the thesis
        assert run_cli(out, sets=["geometry.width=60"]) == 0
        assert thesis.read_text() == "my thesis\n"
        assert load_result(out, verify=True).config["geometry"]["width"] == 60


def test_a_non_empty_foreign_folder_needs_overwrite(work, capsys):
    wd, victim = work
    before = tree(victim)
    assert run_cli(victim) == 2
    err = one_line_error(capsys)
    assert f"--out {victim}" in err and "--overwrite" in err and "allowed" in err
    assert tree(victim) == before and sorted(os.listdir(victim)) == ["result.npz", "thesis.tex"]
    # with --overwrite: files of the same names are replaced, nothing else touched
    assert run_cli(victim, "--overwrite") == 0
    assert (victim / "thesis.tex").read_bytes() == before["thesis.tex"]
    assert load_result(victim, verify=True).config["numerics"]["cells"] == 8
    # sweeps likewise
    foreign = wd / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    argv = ["sweep", "rashba_strip", "--out", str(foreign), "--workers", "1", "--no-plots", "-q",
            "--vary", "geometry.width=40", "--set", *FAST]
    assert main(argv) == 2
    assert "--overwrite" in one_line_error(capsys)
    assert sorted(os.listdir(foreign)) == ["notes.txt"]
    assert main(argv + ["--overwrite"]) == 0
    assert (foreign / "notes.txt").read_text() == "keep" and (foreign / "sweep.json").is_file()


def test_an_existing_result_is_replaced_only_with_its_own_unchanged_files(work, capsys):
    wd, _ = work
    out = wd / "res"
    assert main(["run", "rashba_strip", "--out", str(out), "-q", "--no-plots", "--set",
                 "numerics.angles=16", "numerics.cells=8"]) == 0
    assert (out / "result.vtu").is_file()
    (out / "notes.txt").write_text("mine")
    assert folder_state(out) == "result"
    # a uniform rerun writes no result.vtu: the old one is ours, unchanged, so removed
    assert run_cli(out, sets=["geometry.kind=uniform"]) == 0
    assert not (out / "result.vtu").exists() and (out / "notes.txt").read_text() == "mine"
    # a file of the previous result edited by hand is not replaced without --overwrite
    (out / "config.toml").write_text((out / "config.toml").read_text() + "# my note\n")
    before = tree(out)
    assert run_cli(out) == 2
    assert "config.toml" in one_line_error(capsys)
    assert tree(out) == before and not [n for n in os.listdir(out) if n.startswith(".")]
    assert run_cli(out, "--overwrite") == 0
    assert verify_result(out) is None and (out / "notes.txt").read_text() == "mine"
    # a changed file that the new result does not write is left alone, never removed
    assert main(["run", "rashba_strip", "--out", str(out), "-q", "--no-plots", "--set",
                 "numerics.angles=16", "numerics.cells=8"]) == 0
    with open(out / "result.vtu", "ab") as fh:
        fh.write(b"<!-- edited -->")
    assert run_cli(out, sets=["geometry.kind=uniform"]) == 0
    assert (out / "result.vtu").read_bytes().endswith(b"<!-- edited -->")
    assert "result.vtu" not in read_manifest(out)


def test_check_output_folder_states(tmp_path):
    assert check_output_folder(tmp_path / "new") == "missing"
    (tmp_path / "empty").mkdir()
    assert check_output_folder(tmp_path / "empty") == "empty"
    (tmp_path / "empty" / ".mesokinetics.lock").write_text("{}")  # our lock and temporaries
    (tmp_path / "empty" / ".mk-tmp-1-x.png").write_text("")      # do not make it foreign
    assert folder_state(tmp_path / "empty") == "empty"
    (tmp_path / "file").write_text("")
    with pytest.raises(ResultError, match="not a folder"):
        check_output_folder(tmp_path / "file", overwrite=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.txt").write_text("")
    with pytest.raises(ResultError, match="overwrite"):
        check_output_folder(tmp_path / "other")
    assert check_output_folder(tmp_path / "other", overwrite=True) == "foreign"
    # the API refuses too
    result = mk.run(mk.load_config("rashba_strip", FAST))
    with pytest.raises(ResultError, match="overwrite=True"):
        result.save(tmp_path / "other")
    assert os.listdir(tmp_path / "other") == ["a.txt"]


# --------------------------------------------------------------------------------------
# temporary files and interrupted saves
# --------------------------------------------------------------------------------------


def test_no_temporary_file_survives_a_failing_write(tmp_path, monkeypatch):
    with pytest.raises(RuntimeError):
        with atomic_output(tmp_path / "fig.png") as tmp:
            Path(tmp).write_bytes(b"half")
            raise RuntimeError("disk full")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(tmp_path / "fig.png") as tmp:
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []

    import mesokinetics.plotting as plotting

    def broken_figures(result, folder, png=True, pdf=False):
        (Path(folder) / "profile_spin.png").write_bytes(b"partial")
        raise RuntimeError("matplotlib crashed")

    monkeypatch.setattr(plotting, "result_figures", broken_figures)
    result = mk.run(mk.load_config("rashba_strip", ["numerics.angles=16", "numerics.cells=8"]))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        result.save(out, vtk=True, png=True)
    assert os.listdir(out) == []  # no temporary folder, no partial file, no result.json


def test_leftovers_of_a_killed_writer_are_removed_and_an_interrupted_save_stays_ours(tmp_path):
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / f".mk-tmp-{gone.pid}-sweep-abc.png").write_bytes(b"x")  # a killed writer's
    (tmp_path / f".mk-tmp-{os.getpid()}-mine.png").write_bytes(b"x")   # a live writer's (ours)
    (tmp_path / ".other-hidden.png").write_bytes(b"x")                 # not ours
    removed = clean_temporaries(tmp_path)
    assert [p.name for p in removed] == [f".mk-tmp-{gone.pid}-sweep-abc.png"]
    assert sorted(os.listdir(tmp_path)) == [f".mk-tmp-{os.getpid()}-mine.png", ".other-hidden.png"]

    # a save interrupted after the pending manifest: recognised as ours, refused by
    # load_result, completed by the next save
    out = tmp_path / "res"
    result = mk.run(mk.load_config("rashba_strip", FAST))
    result.save(out)
    original = os.replace
    calls = []

    def interrupted_replace(src, dst):  # Ctrl-C while the new files are moved in
        calls.append(dst)
        if Path(dst) == out / "config.toml":
            raise KeyboardInterrupt
        return original(src, dst)

    os.replace = interrupted_replace
    try:
        with pytest.raises(KeyboardInterrupt):
            mk.run(mk.load_config("rashba_strip", FAST + ["geometry.width=60"])).save(out)
    finally:
        os.replace = original
    assert out / "result.npz" in [Path(c) for c in calls]  # the pending manifest was written
    assert folder_state(out) == "result"
    with pytest.raises(ResultError, match="incomplete"):
        load_result(out)
    assert not [n for n in os.listdir(out) if n.startswith(".mk-tmp-")]
    result.save(out)
    assert verify_result(out) is None


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------


def test_description_is_annotated_after_set(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    preset = mk.load_config("rashba_strip").description
    assert run_cli(tmp_path / "a", sets=["geometry.specularity=0.5"]) == 0
    info = json.loads((tmp_path / "a" / "result.json").read_text())
    assert info["description"].startswith(preset)
    assert "(modified: " in info["description"] and "geometry.specularity=0.5" in info["description"]
    assert mk.load_config(tmp_path / "a" / "config.toml").description == info["description"]
    assert main(["show", str(tmp_path / "a")]) == 0
    assert "geometry.specularity=0.5)" in capsys.readouterr().out.splitlines()[0]
    assert mk.workflow.described(mk.load_config("rashba_strip")) == preset


@pytest.mark.parametrize("argv", [
    ["run", "--set", "numerics.cells=8", "rashba_strip"],
    ["run", "--set", "numerics.cells=8", "--out", "x", "rashba_strip"],
    ["sweep", "--set", "numerics.cells=8", "rashba_strip", "--vary", "geometry.width=40"],
    ["config", "--set", "numerics.cells=8", "rashba_strip"],
])
def test_set_before_the_preset_name_is_refused_with_one_line(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert "--set" in err and "preset name before --set" in err
    assert list(tmp_path.iterdir()) == []


def test_missing_preset_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "PRESET_OR_FILE" in one_line_error(capsys)


@pytest.fixture(scope="module")
def saved_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("saved") / "good"
    mk.run(mk.load_config("rashba_strip", FAST)).save(out)
    return out


@pytest.fixture
def valid_result(saved_result, tmp_path):
    import shutil

    return Path(shutil.copytree(saved_result, tmp_path / "good"))


@pytest.mark.parametrize("craft", ["format-only", "no-summary", "summary-keys", "truncated-npz",
                                   "npz-not-zip", "deep-json", "json-dir", "fifo-json",
                                   "fifo-npz", "garbage-json", "list-json", "pending"])
def test_crafted_show_folders_give_one_line_errors(craft, valid_result, capsys):
    out = valid_result
    meta = out / "result.json"
    info = json.loads(meta.read_text())
    if craft == "format-only":
        meta.write_text(json.dumps({"format": "mesokinetics-result"}))
    elif craft == "no-summary":
        del info["summary"]
        meta.write_text(json.dumps(info))
    elif craft == "summary-keys":
        info["summary"] = {}
        meta.write_text(json.dumps(info))
    elif craft == "truncated-npz":
        data = (out / "result.npz").read_bytes()
        (out / "result.npz").write_bytes(data[: len(data) // 2])
    elif craft == "npz-not-zip":
        (out / "result.npz").write_bytes(b"PK\x03\x04" + b"\0" * 100)
    elif craft == "deep-json":
        meta.write_text("[" * 100000 + "]" * 100000)
    elif craft == "json-dir":
        meta.unlink()
        meta.mkdir()
    elif craft == "fifo-json":
        meta.unlink()
        os.mkfifo(meta)
    elif craft == "fifo-npz":
        (out / "result.npz").unlink()
        os.mkfifo(out / "result.npz")
    elif craft == "garbage-json":
        meta.write_bytes(b"\xff\xfe{not json")
    elif craft == "list-json":
        meta.write_text("[1, 2]")
    elif craft == "pending":
        info["pending"] = True
        meta.write_text(json.dumps(info))
    assert main(["show", str(out)]) == 2
    one_line_error(capsys)


def test_show_warns_about_a_changed_file(valid_result, capsys):
    out = valid_result
    (out / "config.toml").write_text("# edited\n")
    assert main(["show", str(out)]) == 0
    assert "warning: " in capsys.readouterr().out and "config.toml" in verify_result(out)
    with pytest.raises(ResultError, match="config.toml"):
        load_result(out, verify=True)
    assert load_result(out).summary  # the arrays themselves are intact


def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path):
    atomic_write(tmp_path / "a.txt", "one")
    atomic_write(tmp_path / "a.txt", b"two")
    assert os.listdir(tmp_path) == ["a.txt"] and (tmp_path / "a.txt").read_bytes() == b"two"


def test_sigterm_during_run_exits_143_and_leaves_no_file(tmp_path, monkeypatch, capsys):
    import signal
    import time

    monkeypatch.chdir(tmp_path)
    solve = mk.workflow.run

    def terminated_run(config, **kw):
        result = solve(config, **kw)
        os.kill(os.getpid(), signal.SIGTERM)  # as a batch system's time limit does
        time.sleep(5)
        return result

    monkeypatch.setattr(mk.workflow, "run", terminated_run)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert run_cli(tmp_path / "new") == 143
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored
    assert list(tmp_path.iterdir()) == []  # the folder it created is gone again
    # into an existing result: left as it was (its lock released)
    monkeypatch.setattr(mk.workflow, "run", solve)
    assert run_cli(tmp_path / "old") == 0
    before = tree(tmp_path / "old")
    monkeypatch.setattr(mk.workflow, "run", terminated_run)
    assert run_cli(tmp_path / "old", sets=["geometry.width=60"]) == 143
    assert tree(tmp_path / "old") == before and sorted(os.listdir(tmp_path / "old")) == \
        ["config.toml", "result.json", "result.npz"]
