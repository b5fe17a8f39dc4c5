"""The guard of tests/conftest.py that fails a test session which leaves new untracked
files in the checkout: run on a throwaway git repository holding a copy of conftest.py."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import untracked_paths

CONFTEST = Path(__file__).with_name("conftest.py")

DIRTY = '''
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_writes_into_the_repository():
    (ROOT / "leftover.txt").write_text("x")
    (ROOT / "sweeps" / "rashba_strip").mkdir(parents=True)   # an empty folder counts too
    (ROOT / "my.toml").write_text("")                         # hand-written kind, but ours
    (ROOT / "out").mkdir()
    (ROOT / "out" / "ignored.json").write_text("{}")         # .gitignore'd: fine
    (ROOT / "existing.txt").write_text("edited")             # untracked before: not new
    # another process: a source file is someone's edit, an output file is the suite's
    subprocess.run([sys.executable, "-c", "import os; open('someone_elses.py', 'w'); "
                    "os.mkdir('their_package'); open('their_package/new.py', 'w'); "
                    "open('figure.png', 'w')"], cwd=ROOT, check=True)
'''

CLEAN = '''
def test_writes_nothing(tmp_path):
    (tmp_path / "result.json").write_text("{}")
'''


def _repo(tmp_path: Path, test: str) -> Path:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("__pycache__/\n.pytest_cache/\nout/\n")
    (repo / "existing.txt").write_text("before")
    shutil.copy(CONFTEST, repo / "tests" / "conftest.py")
    (repo / "tests" / "test_it.py").write_text(test)
    return repo


def _pytest(repo: Path):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "tests"],
                          cwd=repo, capture_output=True, text=True, timeout=300)


def test_session_that_leaves_new_files_fails_and_names_them(tmp_path):
    repo = _repo(tmp_path, DIRTY)
    proc = _pytest(repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = proc.stdout[proc.stdout.index("repository not clean"):]
    assert "1 passed" in proc.stdout
    named = report.splitlines()[1].split(": ", 1)[1].split(", ")
    assert named == ["figure.png", "leftover.txt", "my.toml", "sweeps/"]
    assert "test_it.py" not in report and "conftest.py" not in report


def test_clean_session_passes(tmp_path):
    proc = _pytest(_repo(tmp_path, CLEAN))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "repository not clean" not in proc.stdout


def test_untracked_paths_outside_a_checkout_is_none(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    if subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("the temporary folder is inside a git checkout")
    assert untracked_paths(tmp_path) is None
