"""Atomic file output, content hashes, folder locks and process liveness.

* :func:`atomic_output` / :func:`atomic_write`: write to a temporary file in the target
  folder, then rename; a reader (ParaView, a resumed sweep, another process) never sees
  a half-written file. The temporary file is removed on every exit path that runs Python
  code (exceptions, Ctrl-C, SIGTERM once :func:`terminate_on_sigterm` is installed);
  after a SIGKILL it is recognised by its name ``.mk-tmp-<pid>-...`` and removed by
  :func:`clean_temporaries` under the folder's lock.
* :class:`FolderLock`: one writer per output folder (a lock file ``.mesokinetics.lock``
  holding the owner's pid, host and process start time; a lock whose process is gone is
  stale and taken over).
* :func:`sha256_file`: the content hash recorded in result manifests.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TMP_PREFIX", "LOCK_NAME", "LockError", "FolderLock", "Terminated", "atomic_output",
           "atomic_write", "sha256_file", "sha256_bytes", "pid_alive", "clean_temporaries",
           "is_temporary", "terminate_on_sigterm", "temporary_dir"]

#: Prefix of every temporary file or folder we create (followed by our pid and a dash).
TMP_PREFIX = ".mk-tmp-"
#: Lock file of an output folder.
LOCK_NAME = ".mesokinetics.lock"

_TMP_RE = re.compile(re.escape(TMP_PREFIX) + r"(\d+)-")


class LockError(OSError):
    """The output folder is locked by another live process; one-line message."""


class Terminated(KeyboardInterrupt):
    """Raised in the main thread on SIGTERM (see :func:`terminate_on_sigterm`), so that
    ``finally`` blocks remove temporary files and stop pool workers, as for Ctrl-C."""


# --------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (Linux), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), else None."""
    fields = _proc_stat(pid)
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether process ``pid`` runs (zombies count as gone; with ``start_time``, a
    recycled pid of another process counts as gone too)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is not None:
        if fields[0] in ("Z", "X"):
            return False
        if start_time is not None and process_start_time(pid) not in (None, start_time):
            return False
    return True


def _windows_pid_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except (OSError, AttributeError):
        return True  # cannot tell: never break a lock that may be live


def _raise_terminated(signum, frame):  # noqa: ARG001 - signal handler signature
    raise Terminated(f"terminated by signal {signum}")


@contextmanager
def terminate_on_sigterm():
    """Within the block, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the
    main thread, so cleanup code runs; the previous handler is restored afterwards. A
    no-op outside the main thread or when a handler other than the default is set."""
    try:
        installed = signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
        if installed:
            signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        installed = False
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


# --------------------------------------------------------------------------------------
# temporary files and atomic writes
# --------------------------------------------------------------------------------------


def _tmp_prefix(stem: str) -> str:
    return f"{TMP_PREFIX}{os.getpid()}-{stem}-"


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one of our temporaries."""
    return _TMP_RE.match(name) is not None


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def clean_temporaries(folder, all_owners: bool = False) -> list[Path]:
    """Remove our temporary files and folders in ``folder`` (not recursive) whose
    creating process is gone (with ``all_owners``, also those of live processes: only
    under the folder's lock). Returns what was removed."""
    folder = Path(folder)
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None:
            continue
        pid = int(m.group(1))
        if all_owners or pid != os.getpid() and not pid_alive(pid):
            _remove(entry)
            removed.append(entry)
    return removed


@contextmanager
def temporary_dir(parent, stem: str):
    """A temporary folder in ``parent`` (ours by name), removed on exit unless it was
    renamed away inside the block."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=_tmp_prefix(stem)))
    try:
        os.chmod(tmp, 0o755)
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_output(path, suffix: str | None = None):
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    suffix : suffix of the temporary file (default: that of ``path``), for writers that
        pick the format from it (matplotlib, meshio)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_prefix(path.stem),
                               suffix=path.suffix if suffix is None else suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def atomic_write(path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write text or bytes to ``path`` atomically; returns the path."""
    with atomic_output(path, ".tmp") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data.encode(encoding) if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path) -> str | None:
    """The sha256 hex digest of a regular file (symlinks are not followed), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    h = hashlib.sha256()
    with os.fdopen(fd, "rb") as fh:
        if not _is_regular(os.fstat(fh.fileno())):
            return None
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_regular(st) -> bool:
    import stat

    return stat.S_ISREG(st.st_mode)


# --------------------------------------------------------------------------------------
# folder lock
# --------------------------------------------------------------------------------------


@contextmanager
def _folder_mutex(folder: Path):
    """An advisory lock on the folder itself (POSIX flock), so that checking, breaking
    and creating the lock file is one step; a no-op where flock is unavailable."""
    try:
        import fcntl
    except ImportError:  # Windows: O_EXCL creation alone
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # releases the flock


class FolderLock:
    """One writer per output folder: ``with FolderLock(folder, "sweep"):``.

    The lock file ``<folder>/.mesokinetics.lock`` holds the owner's pid, host, process
    start time and command. A lock of this host whose process is gone (killed) is stale
    and taken over; a live one raises :class:`LockError`. A lock written on another host
    cannot be checked and is reported with the command to remove it.
    """

    def __init__(self, folder, what: str = "mesokinetics"):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self.token = None
        self.took_over: dict | None = None

    def _read(self) -> dict | None:
        """The owner recorded in the lock file, None if there is none, {} if unreadable."""
        try:
            if not _is_regular(os.lstat(self.path)) or os.lstat(self.path).st_size > 65536:
                return {}
            owner = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError):
            return {}
        return owner if isinstance(owner, dict) else {}

    def _stale(self, owner: dict) -> bool:
        if owner.get("host") != socket.gethostname():
            return False
        pid, start = owner.get("pid"), owner.get("start_time")
        return not pid_alive(pid, start if isinstance(start, int) else None)

    def acquire(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "start_time": process_start_time(os.getpid()), "what": self.what,
              "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "token": os.urandom(8).hex()}
        with _folder_mutex(self.folder):
            owner = self._read()
            if owner is not None:
                if owner == {}:
                    # unreadable: a writer between create and write (without flock), or junk;
                    # taken over when older than a minute
                    try:
                        age = time.time() - self.path.stat().st_mtime
                    except OSError:
                        age = 0.0
                    if age < 60:
                        raise LockError(f"{self.folder} is locked ({self.path} exists, unreadable); "
                                        f"if no mesokinetics process writes there, remove {self.path}")
                elif not self._stale(owner):
                    raise LockError(
                        f"{self.folder} is in use by {owner.get('what', 'mesokinetics')} (pid "
                        f"{owner.get('pid')} on {owner.get('host')}, since {owner.get('since')}): "
                        f"wait for it, use another --out, or remove {self.path} if that process is gone")
                self.took_over = owner
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                             0o644)
            except FileExistsError:
                raise LockError(f"{self.folder} is in use by another mesokinetics process "
                                f"(lock {self.path})") from None
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
                fh.flush()
                os.fsync(fh.fileno())
        self.token = me["token"]
        return self

    def release(self) -> None:
        if self.token is None:
            return
        owner = self._read()
        if owner and owner.get("token") == self.token:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        self.token = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
