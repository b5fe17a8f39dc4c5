"""Bounded readers: checks made before a file named by the user is opened.

Only regular files are read (``/dev/zero`` would be read until memory runs out, a FIFO
blocks the reader forever), and only up to a size limit; a Wannier90 ``_hr.dat`` header
must not declare more entries than the file can hold (the parser would allocate the
declared arrays first). Every problem is a ValueError of one line naming the key.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["MAX_HR_BYTES", "check_readable_file", "check_hr_header"]

#: largest Wannier90 file read (bytes): hr.dat files of hundreds of Wannier functions
#: and thousands of R vectors stay well below
MAX_HR_BYTES = 4 * 2 ** 30

#: shortest possible line of an hr.dat matrix element: 'R1 R2 R3 m n Re Im' with one
#: character per field, single spaces and a newline
_MIN_HR_LINE = 14


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} TiB"


def check_readable_file(path, max_bytes: int, what: str) -> Path:
    """The path of a regular, readable file of at most ``max_bytes`` bytes; ValueError
    (one line naming ``what``, e.g. 'model.hr_file') for a missing file, a directory, a
    device, a FIFO or socket, or a file that is too large. Nothing is opened but the
    file's metadata (a FIFO is never opened, so this cannot block)."""
    p = Path(os.fspath(path))
    try:
        st = os.stat(p)
    except OSError as exc:
        raise ValueError(f"{what} = {str(p)!r}: cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{what} = {str(p)!r}: is a folder, expected a file")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device" if
                (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise ValueError(f"{what} = {str(p)!r}: is {kind}; expected a regular file")
    if st.st_size > max_bytes:
        raise ValueError(f"{what} = {str(p)!r}: the file has {_size(st.st_size)}, more than "
                         f"the {_size(max_bytes)} this reader accepts")
    if not os.access(p, os.R_OK):
        raise ValueError(f"{what} = {str(p)!r}: cannot read: permission denied")
    return p


def check_hr_header(path, what: str = "model.hr_file") -> None:
    """Compare the sizes declared in a Wannier90 ``_hr.dat`` header (num_wann, nrpts)
    with the file length before the parser allocates them: the num_wann^2 x nrpts
    matrix-element lines need at least 14 bytes each. Reads three lines of at most
    4 kB. Malformed headers are left to the parser (which names the line)."""
    p = Path(os.fspath(path))
    size = os.stat(p).st_size
    with open(p, "rb") as fh:
        lines = [fh.readline(4096) for _ in range(3)]
    try:
        num_wann, nrpts = int(lines[1].split()[0]), int(lines[2].split()[0])
    except (IndexError, ValueError):
        return
    if num_wann < 0 or nrpts < 0:
        return
    need = num_wann * num_wann * nrpts * _MIN_HR_LINE
    if need > size:
        raise ValueError(
            f"{what} = {str(p)!r}: the header declares num_wann = {num_wann} and nrpts = "
            f"{nrpts} ({num_wann * num_wann * nrpts:.3g} matrix elements, at least "
            f"{_size(need)}) but the file has {_size(size)}: truncated or not an hr.dat file")
