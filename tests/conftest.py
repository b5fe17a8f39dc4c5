"""Shared fixtures: the reference models of THEORY.md section 8; and the guard that the
test suite leaves the repository clean (no new untracked files, see
:func:`untracked_paths`)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mesokinetics.models import from_callable


def random_hermitian(rng, n):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return (a + a.conj().T) / 2


def random_unitary(rng, n):
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def mix_degenerate_states(bands, rng) -> None:
    """Replace the eigenvectors of every degenerate group of ``bands`` by a random unitary
    mix at every point (results must not depend on the basis inside a subspace)."""
    for n in range(bands.n_bands):
        idx = np.nonzero(bands.group == n)[0]
        if len(idx) > 1:
            mix = np.stack([random_unitary(rng, len(idx)) for _ in range(len(bands))])
            bands.vectors[:, :, idx] = bands.vectors[:, :, idx] @ mix
            bands._velocity_eig = None


def random_model(seed: int, n: int = 3, dim: int = 2, mass_me: float = 1.0, soc: float = 0.05):
    """h(k) = k^2/2m + sum_i k_i A_i + C with random Hermitian A_i (eV nm), C (eV).

    For mu of a few tenths of an eV the kinetic term dominates at the Fermi momenta,
    so every shell is a deformed circle (star-shaped about k = 0)."""
    from mesokinetics.units import mass_to_internal

    rng = np.random.default_rng(seed)
    a = np.stack([soc * random_hermitian(rng, n) for _ in range(dim)])
    c = 0.05 * random_hermitian(rng, n)
    m = mass_to_internal(mass_me)

    def h(k):
        k2 = np.sum(k * k, -1)[:, None, None]
        return k2 / (2 * m) * np.eye(n) + np.einsum("pi,iab->pab", k, a) + c

    def v(k):
        return (k / m)[:, :, None, None] * np.eye(n) + a[None]

    return from_callable(h, dim, velocity=v, momentum_scale=2.0), a, c


@pytest.fixture
def rng():
    return np.random.default_rng(2026)


# --------------------------------------------------------------------------------------
# The test suite leaves the repository clean
# --------------------------------------------------------------------------------------
# Tests write into tmp_path (or chdir there), never into the checkout. The untracked, not
# ignored paths of the checkout are recorded when the first test starts and compared when
# the session ends (after every teardown); new ones fail the session (exit status 1) and
# are named in a section of the summary. Other people may edit the working tree while the
# suite runs, so: paths that existed at the start never count; tracked files are not
# compared; and a new hand-written file (SOURCE_SUFFIXES: code, docs, presets, input
# data) counts only if this process (or a forked worker) wrote it, as seen by an audit
# hook. Test outputs (results, figures, sweep folders, empty folders) count whoever wrote
# them. Outside a git checkout, or without git, the check is skipped.

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = (".py", ".md", ".toml", ".dat", ".win", ".xyz", ".cfg", ".ini", ".yml", ".yaml")
_CLEAN: dict = {"written": set()}


def untracked_paths(folder) -> set | None:
    """Untracked paths under ``folder`` that .gitignore does not exclude, relative to it:
    files, and empty folders with a trailing '/'. None outside a git checkout."""

    def git(*args):
        return subprocess.run(["git", "-C", os.fspath(folder), "ls-files", "--others",
                               "--exclude-standard", "-z", *args],
                              capture_output=True, timeout=60, check=True).stdout

    try:
        files = git().decode(errors="replace").split("\0")
        folders = git("--directory").decode(errors="replace").split("\0")
    except (OSError, subprocess.SubprocessError):
        return None
    files = {p for p in files if p}
    empty = {d for d in folders if d.endswith("/") and not any(f.startswith(d) for f in files)}
    return files | empty


def _record_writes(event, args):
    """Audit hook: paths under the repository that this process opens for writing,
    creates as folders or renames onto (relative, '/'-separated)."""
    try:
        if event == "open":
            path, mode, flags = args
            if mode is None:
                writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            else:
                writing = any(c in mode for c in "wax+")
        elif event == "os.mkdir":
            path, writing = args[0], True
        elif event == "os.rename":
            path, writing = args[1], True
        else:
            return
        if not writing or isinstance(path, int):
            return
        full = os.path.abspath(os.fsdecode(path))
        root = str(REPOSITORY) + os.sep
        if full.startswith(root):
            _CLEAN["written"].add(full[len(root):].replace(os.sep, "/"))
    except Exception:  # noqa: BLE001 - an audit hook must never break the operation
        pass


def left_behind(before: set, after: set, written: set) -> list:
    """The new paths that count (see the comment above)."""
    def ours(path):
        return path.rstrip("/") in written or (path.endswith("/") and any(w.startswith(path) for w in written))

    return sorted(p for p in after - before
                  if ours(p) or p.endswith("/") or not p.lower().endswith(SOURCE_SUFFIXES))


@pytest.fixture(scope="session", autouse=True)
def repository_stays_clean():
    """Record the untracked paths of the checkout at the start of the session and watch
    this process's writes (the comparison is in :func:`pytest_sessionfinish`)."""
    if "before" not in _CLEAN:
        _CLEAN["before"] = untracked_paths(REPOSITORY)
        if _CLEAN["before"] is not None:
            sys.addaudithook(_record_writes)
    yield


def pytest_sessionfinish(session, exitstatus):
    before = _CLEAN.get("before")
    if before is None:
        return
    new = left_behind(before, untracked_paths(REPOSITORY) or set(), _CLEAN["written"])
    if new:
        _CLEAN["new"] = new
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    new = _CLEAN.get("new")
    if new:
        terminalreporter.section("repository not clean", sep="=", red=True, bold=True)
        terminalreporter.line(f"the test session created {len(new)} untracked path(s) in "
                              f"{REPOSITORY} (write into tmp_path instead): " + ", ".join(new),
                              red=True)
