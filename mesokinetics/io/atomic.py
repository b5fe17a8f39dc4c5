"""Atomic file output: write to a temporary file in the target folder, then rename.

A reader (ParaView, a resumed sweep, another process) never sees a half-written file,
and an interrupted write leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_output(path, suffix: str | None = None):
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    suffix : suffix of the temporary file (default: that of ``path``), for writers that
        pick the format from it (matplotlib, meshio)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-",
                               suffix=path.suffix if suffix is None else suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write(path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write text or bytes to ``path`` atomically; returns the path."""
    with atomic_output(path, ".tmp") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data.encode(encoding) if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)
