"""Wannier90 tight-binding files: ``seedname_hr.dat`` (read and write),
``seedname_tb.dat`` (read and write), and a whole seed (``seedname.win``, ``_hr.dat`` or
``_tb.dat``, ``_wsvec.dat``, ``_centres.xyz``) with :func:`read_wannier90` (read only).

Formats (Wannier90 >= 2.1, written by ``write_hr`` / ``write_tb``):

``seedname_hr.dat``::

    header line (free text)
    num_wann
    nrpts
    deg(R_1) ... deg(R_nrpts)          15 integers per line
    R1 R2 R3 m n Re[H_mn(R)] Im[H_mn(R)]   nrpts * num_wann^2 lines, m fastest

``seedname_tb.dat``::

    header line
    a1 (3 numbers, Angstrom)
    a2
    a3
    num_wann
    nrpts
    deg(R) ...                          15 per line
    (blank) R1 R2 R3 / m n Re Im      for each R: num_wann^2 lines, m fastest
    (blank) R1 R2 R3 / m n Re(x) Im(x) Re(y) Im(y) Re(z) Im(z)   position matrix (Angstrom)

H_mn(R) = <m, 0|H|n, R> in eV; the Bloch Hamiltonian is
h(k) = sum_R exp(i k.R) H(R) / deg(R) (:class:`~mesokinetics.models.TightBinding`,
convention "lattice"). Units: the package works in nm, Wannier90 in Angstrom: tb.dat
lattice vectors and positions are converted (1 Angstrom = 0.1 nm); ``read_hr`` takes the
lattice vectors in nm since hr.dat does not contain them.

Numbers are written with 17 significant digits, so model -> file -> model is exact, and
files are written atomically (temporary file in the same folder, then rename). Every
malformed file raises :class:`Wannier90FormatError` (a ``ValueError``) naming the file, the
line and what was expected.

2D and 1D models: R has three integers in the files; a d-dimensional model uses the first d
and requires the others to be 0 (and, in tb.dat, the lattice vectors to be block diagonal).
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write

from ..models.lattice import TightBinding

#: Angstrom per nm (files store Angstrom; read values are divided by it).
ANGSTROM_PER_NM = 10.0

#: Angstrom per bohr used by Wannier90 for ``bohr`` units in the .win (CODATA 2006, the
#: default of Wannier90's constants.F90; Fe.win 2.71175 bohr -> 1.434996295 Angstrom).
ANGSTROM_PER_BOHR = 0.52917720859

#: Largest file any reader accepts (bytes); larger files, devices and FIFOs are refused
#: before anything is read.
MAX_FILE_BYTES = 4 * 2**30

__all__ = ["Wannier90FormatError", "read_hr", "write_hr", "read_tb", "write_tb", "HoppingData",
           "read_wannier90", "parse_win", "parse_wsvec", "parse_centres", "apply_wsvec",
           "WinData", "Projection"]


#: Integers in Wannier90 files: ASCII decimal, magnitude at most MAX_INTEGER.
_INTEGER = re.compile(r"[+-]?[0-9]+")
MAX_INTEGER = 2**31 - 1


class Wannier90FormatError(ValueError):
    """A Wannier90 file that does not follow the format: file, line (1-based) and what was
    expected."""

    def __init__(self, path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


@dataclass
class HoppingData:
    """Raw content of a Wannier90 file.

    R : (M, 3) integer lattice vectors; deg : (M,) degeneracy weights; H : (M, N, N) eV;
    lattice : (3, 3) lattice vectors as rows (nm) or None (hr.dat);
    position : (M, 3, N, N) position matrix elements <m, 0|r|n, R> (nm) or None;
    header : first line of the file
    """

    R: np.ndarray
    deg: np.ndarray
    H: np.ndarray
    lattice: np.ndarray | None = None
    position: np.ndarray | None = None
    header: str = ""


class _Lines:
    """Numbered lines of a text file, blank lines skipped where allowed."""

    def __init__(self, path, what: str = "Wannier90 file", max_bytes: int = MAX_FILE_BYTES) -> None:
        self.path = str(path)
        raw = _read_bounded(path, what, max_bytes)
        self.nbytes = len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise Wannier90FormatError(path, line, "the file is not UTF-8/ASCII text") from None
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise Wannier90FormatError(path, line, "the file contains NUL bytes (not a text file)")
        self.lines = text.splitlines()
        self.pos = 0

    def error(self, message, line=None):
        return Wannier90FormatError(self.path, self.pos if line is None else line, message)

    def next(self, what: str, skip_blank: bool = True) -> list[str]:
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            self.pos += 1
            if line.strip() or not skip_blank:
                return line.split()
        raise Wannier90FormatError(self.path, len(self.lines) + 1,
                                   f"unexpected end of file, expected {what}")

    def header(self) -> str:
        if not self.lines:
            raise Wannier90FormatError(self.path, 1, "the file is empty, expected a header line")
        self.pos = 1
        return self.lines[0].strip()

    def rest_is_blank(self) -> bool:
        return all(not ln.strip() for ln in self.lines[self.pos:])

    def integers(self, tokens, count, what):
        if len(tokens) != count:
            raise self.error(f"expected {what} ({count} integer{'s' if count > 1 else ''}), "
                             f"got {len(tokens)} fields: {' '.join(tokens)[:80]!r}")
        # plain ASCII decimal integers only (int() also takes '2_6' and non-ASCII digits),
        # bounded so that every value fits the int64 arrays they are stored in
        if not all(_INTEGER.fullmatch(t) for t in tokens):
            raise self.error(f"expected {what} (integers), got {' '.join(tokens)[:80]!r}")
        values = [int(t) for t in tokens]
        if any(abs(v) > MAX_INTEGER for v in values):
            raise self.error(f"{what} must be integers of magnitude <= {MAX_INTEGER}, got "
                             f"{' '.join(tokens)[:80]!r}")
        return values

    def floats(self, tokens, what):
        try:
            values = [float(t.replace("D", "E").replace("d", "e")) for t in tokens]
        except ValueError:
            raise self.error(f"expected {what} (numbers), got {' '.join(tokens)[:80]!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise self.error(f"{what} must be finite numbers, got {' '.join(tokens)[:80]!r}")
        return values


def _read_bounded(path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before reading:
    devices, FIFOs, sockets and directories are refused, so a read never blocks or runs
    without bound). Uses :func:`mesokinetics.io.files.check_readable_file` when present."""
    try:
        from .files import check_readable_file  # shared helper (issue 14), when it exists
    except ImportError:
        check_readable_file = None
    info = os.stat(path)  # FileNotFoundError / PermissionError propagate unchanged
    if check_readable_file is not None:
        try:
            check_readable_file(path, max_bytes, what)
        except Wannier90FormatError:
            raise
        except ValueError as exc:  # one error type for every problem of a Wannier90 file
            raise Wannier90FormatError(path, None, str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if
                stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode) or
                stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "not a regular file")
        raise Wannier90FormatError(path, None, f"{what} is {kind}, not a regular file: refusing "
                                   "to read it")
    if info.st_size > max_bytes:
        raise Wannier90FormatError(path, None, f"{what} has {info.st_size} bytes, more than the "
                                   f"limit of {max_bytes} bytes")
    with open(path, "rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise Wannier90FormatError(path, None, f"{what} grew beyond the limit of {max_bytes} "
                                   "bytes while being read")
    return raw


def _read_sizes(lines: _Lines, min_line_bytes: int = 8):
    """num_wann, nrpts and the degeneracy weights; the declared sizes are checked against
    the file length (each of the nrpts num_wann^2 element lines has at least
    ``min_line_bytes`` bytes) before anything of that size is allocated."""
    (num_wann,) = lines.integers(lines.next("num_wann"), 1, "num_wann")
    if num_wann < 1:
        raise lines.error(f"num_wann must be >= 1, got {num_wann}")
    (nrpts,) = lines.integers(lines.next("nrpts"), 1, "nrpts")
    if nrpts < 1:
        raise lines.error(f"nrpts must be >= 1, got {nrpts}")
    if num_wann > 10_000 or nrpts * num_wann**2 > 10**9:
        raise lines.error(f"num_wann = {num_wann}, nrpts = {nrpts} is implausibly large")
    need = nrpts * num_wann**2 * min_line_bytes
    if need > lines.nbytes:
        raise lines.error(f"num_wann = {num_wann}, nrpts = {nrpts} declare {nrpts * num_wann**2} "
                          f"matrix elements (at least {need} bytes), but the file has only "
                          f"{lines.nbytes} bytes")
    deg: list[int] = []
    while len(deg) < nrpts:
        tokens = lines.next(f"degeneracy weights ({nrpts} integers, 15 per line)")
        left = nrpts - len(deg)
        if len(tokens) > left:
            raise lines.error(f"expected {left} more degeneracy weights, got {len(tokens)} fields")
        deg.extend(lines.integers(tokens, len(tokens), "degeneracy weights"))
    deg_arr = np.array(deg, dtype=int)
    if np.any(deg_arr < 1):
        raise lines.error("degeneracy weights must be >= 1")
    return num_wann, nrpts, deg_arr


def _t(r) -> tuple:
    return tuple(int(x) for x in r)


def _check_unique(lines: _Lines, rvecs: np.ndarray, line_of: list[int]):
    seen = {}
    for i, r in enumerate(map(_t, rvecs)):
        if r in seen:
            raise Wannier90FormatError(lines.path, line_of[i],
                                       f"R = {r} appears twice (first block at line {seen[r]})")
        seen[r] = line_of[i]


def parse_hr(path) -> HoppingData:
    """Read ``seedname_hr.dat`` into :class:`HoppingData` (no model built)."""
    lines = _Lines(path, "the hr.dat file")
    header = lines.header()
    n, nrpts, deg = _read_sizes(lines, min_line_bytes=14)  # '0 0 0 1 1 0 0' + newline
    rvecs = np.zeros((nrpts, 3), int)
    ham = np.zeros((nrpts, n, n), complex)
    line_of = []
    for i in range(nrpts):
        filled = np.zeros((n, n), bool)
        for j in range(n * n):
            tokens = lines.next(f"a matrix element 'R1 R2 R3 m n Re Im' ({nrpts * n * n} in all)")
            if len(tokens) != 7:
                raise lines.error(f"expected 7 fields 'R1 R2 R3 m n Re Im', got {len(tokens)}: "
                                  f"{' '.join(tokens)[:80]!r}")
            r1, r2, r3, m, nn = lines.integers(tokens[:5], 5, "R1 R2 R3 m n")
            re, im = lines.floats(tokens[5:], "Re Im")
            if j == 0:
                rvecs[i] = (r1, r2, r3)
                line_of.append(lines.pos)
            elif (r1, r2, r3) != _t(rvecs[i]):
                raise lines.error(
                    f"R = {(r1, r2, r3)} differs from R = {_t(rvecs[i])} of its block: each R "
                    f"needs num_wann^2 = {n * n} consecutive lines")
            if not (1 <= m <= n and 1 <= nn <= n):
                raise lines.error(f"orbital indices m = {m}, n = {nn} must be in 1..{n}")
            if filled[m - 1, nn - 1]:
                raise lines.error(f"element (m, n) = ({m}, {nn}) of R = {(r1, r2, r3)} repeated")
            filled[m - 1, nn - 1] = True
            ham[i, m - 1, nn - 1] = complex(re, im)
    if not lines.rest_is_blank():
        raise lines.error(f"unexpected content after the last of the {nrpts * n * n} matrix "
                          "elements", line=lines.pos + 1)
    _check_unique(lines, rvecs, line_of)
    return HoppingData(rvecs, deg, ham, header=header)


def parse_tb(path) -> HoppingData:
    """Read ``seedname_tb.dat`` into :class:`HoppingData` (lengths converted to nm)."""
    lines = _Lines(path, "the tb.dat file")
    header = lines.header()
    lattice = np.array([lines.floats(_three(lines, lines.next(f"lattice vector a{i + 1}"),
                                            f"lattice vector a{i + 1}"), f"lattice vector a{i + 1}")
                        for i in range(3)]) / ANGSTROM_PER_NM
    n, nrpts, deg = _read_sizes(lines, min_line_bytes=8)  # '1 1 0 0' + newline
    rvecs = np.zeros((nrpts, 3), int)
    ham = np.zeros((nrpts, n, n), complex)
    line_of = []
    for i in range(nrpts):
        rvecs[i] = lines.integers(lines.next(f"R vector {i + 1} of {nrpts} (3 integers)"), 3,
                                  f"R vector {i + 1} of {nrpts}")
        line_of.append(lines.pos)
        _block(lines, n, ham[i], 2, f"R = {_t(rvecs[i])}")
    _check_unique(lines, rvecs, line_of)
    position = None
    if not lines.rest_is_blank():
        position = np.zeros((nrpts, 3, n, n), complex)
        for i in range(nrpts):
            r = lines.integers(lines.next(f"R vector {i + 1} of the position blocks"), 3,
                               "R vector of a position block")
            if _t(r) != _t(rvecs[i]):
                raise lines.error(f"position block {i + 1} has R = {_t(r)}, expected "
                                  f"{_t(rvecs[i])} (the order of the Hamiltonian blocks)")
            _block(lines, n, position[i], 6, f"position, R = {_t(r)}")
        position /= ANGSTROM_PER_NM
        if not lines.rest_is_blank():
            raise lines.error("unexpected content after the position blocks", line=lines.pos + 1)
    return HoppingData(rvecs, deg, ham, lattice=lattice, position=position, header=header)


def _three(lines, tokens, what):
    if len(tokens) != 3:
        raise lines.error(f"expected {what} (3 numbers, Angstrom), got {len(tokens)} fields")
    return tokens


def _block(lines: _Lines, n: int, out: np.ndarray, nvalues: int, what: str):
    filled = np.zeros((n, n), bool)
    fields = "m n Re Im" if nvalues == 2 else "m n Re(x) Im(x) Re(y) Im(y) Re(z) Im(z)"
    for _ in range(n * n):
        tokens = lines.next(f"'{fields}' of {what}")
        if len(tokens) != 2 + nvalues:
            raise lines.error(f"expected {2 + nvalues} fields '{fields}' ({what}), got "
                              f"{len(tokens)}: {' '.join(tokens)[:80]!r}")
        m, nn = lines.integers(tokens[:2], 2, "m n")
        values = lines.floats(tokens[2:], fields[4:])
        if not (1 <= m <= n and 1 <= nn <= n):
            raise lines.error(f"orbital indices m = {m}, n = {nn} must be in 1..{n}")
        if filled[m - 1, nn - 1]:
            raise lines.error(f"element (m, n) = ({m}, {nn}) repeated in {what}")
        filled[m - 1, nn - 1] = True
        c = np.array(values[0::2]) + 1j * np.array(values[1::2])
        if nvalues == 2:
            out[m - 1, nn - 1] = c[0]
        else:
            out[:, m - 1, nn - 1] = c


def _reduce(path, data: HoppingData, dim: int):
    """R vectors and lattice of a d-dimensional model from the 3-component file data."""
    if dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
    extra = data.R[:, dim:]
    if np.any(extra != 0):
        i = int(np.nonzero(np.any(extra != 0, axis=1))[0][0])
        raise Wannier90FormatError(
            path, None, f"R = {_t(data.R[i])} has nonzero components beyond the first {dim}: "
            f"not a {dim}D model")
    lattice = None
    if data.lattice is not None:
        lat = data.lattice
        off = np.concatenate([lat[:dim, dim:].ravel(), lat[dim:, :dim].ravel()])
        if np.any(np.abs(off) > 1e-12 * max(1.0, np.abs(lat).max())):
            raise Wannier90FormatError(
                path, None, f"the lattice vectors mix the first {dim} and the remaining "
                f"directions; a {dim}D model needs them block diagonal")
        lattice = lat[:dim, :dim]
    return data.R[:, :dim], lattice


def _model(path, data, dim, lattice, positions, kwargs):
    rvecs, file_lattice = _reduce(path, data, dim)
    lattice = file_lattice if lattice is None else lattice
    try:
        return TightBinding(lattice, (rvecs, data.H), degeneracies=data.deg,
                            positions=positions, **kwargs)
    except ValueError as exc:
        raise Wannier90FormatError(path, None, f"the hoppings do not define a valid model: {exc}") from None


def read_hr(path, lattice_vectors, dim: int | None = None, **kwargs) -> TightBinding:
    """Read ``seedname_hr.dat`` as a :class:`~mesokinetics.models.TightBinding`.

    Parameters
    ----------
    path : the file
    lattice_vectors : (d, d) lattice vectors as rows, in nm (hr.dat does not store them)
    dim : model dimension; default: the size of ``lattice_vectors``
    **kwargs : passed to ``TightBinding`` (basis, sites, orbitals, spins, positions,
        convention, hermiticity_tol, momentum_scale)
    """
    lat = np.asarray(lattice_vectors, float)
    dim = lat.shape[0] if dim is None else dim
    data = parse_hr(path)
    positions = kwargs.pop("positions", None)
    model = _model(path, data, dim, lat, positions, kwargs)
    model.wannier90_header = data.header
    return model


def read_tb(path, dim: int = 3, use_centers: bool = False, **kwargs) -> TightBinding:
    """Read ``seedname_tb.dat`` (lattice vectors and position matrix included).

    Parameters
    ----------
    path : the file
    dim : model dimension (1, 2, 3); the file's a1..a_dim must span the first dim axes
    use_centers : if True, the Wannier centres <n, 0|r|n, 0> (nm) become the orbital
        positions and the "atomic" phase convention is used; default: Wannier90's
        "lattice" convention
    **kwargs : passed to ``TightBinding``

    The full position matrix (nm) is kept as ``model.position_matrix`` (M, 3, N, N); the
    response code uses the tight-binding approximation (diagonal positions only).
    """
    data = parse_tb(path)
    positions = kwargs.pop("positions", None)
    if use_centers:
        if data.position is None:
            raise Wannier90FormatError(path, None, "use_centers needs the position blocks")
        zero = np.nonzero(np.all(data.R == 0, axis=1))[0]
        if len(zero) != 1:
            raise Wannier90FormatError(path, None, "use_centers needs the R = 0 block")
        centers = np.real(np.diagonal(data.position[zero[0]], axis1=-2, axis2=-1)).T  # (N, 3)
        positions = centers[:, :dim]
    model = _model(path, data, dim, None, positions, kwargs)
    model.position_matrix = data.position
    model.wannier90_header = data.header
    return model


# ---------------------------------------------------------------------------------------
# A whole seed: seedname.win, _hr.dat / _tb.dat, _wsvec.dat, _centres.xyz
# ---------------------------------------------------------------------------------------

#: Wannier90's real angular functions by (l, mr) (user guide, "Angular functions" and
#: "Hybrids" tables); l < 0 are the hybrids.
W90_ORBITALS = {
    0: ("s",),
    1: ("pz", "px", "py"),
    2: ("dz2", "dxz", "dyz", "dx2-y2", "dxy"),
    3: ("fz3", "fxz2", "fyz2", "fxyz", "fz(x2-y2)", "fx(x2-3y2)", "fy(3x2-y2)"),
    -1: ("sp-1", "sp-2"),
    -2: ("sp2-1", "sp2-2", "sp2-3"),
    -3: ("sp3-1", "sp3-2", "sp3-3", "sp3-4"),
    -4: ("sp3d-1", "sp3d-2", "sp3d-3", "sp3d-4", "sp3d-5"),
    -5: ("sp3d2-1", "sp3d2-2", "sp3d2-3", "sp3d2-4", "sp3d2-5", "sp3d2-6"),
}
_W90_SHELLS = {"s": 0, "p": 1, "d": 2, "f": 3, "sp": -1, "sp2": -2, "sp3": -3, "sp3d": -4,
               "sp3d2": -5}
_W90_NAME = {name: (l, mr + 1) for l, names in W90_ORBITALS.items()
             for mr, name in enumerate(names)}

_R2, _R3, _R6, _R12 = (1 / math.sqrt(x) for x in (2, 3, 6, 12))
#: Hybrids as combinations of the real orbitals (Wannier90 user guide, "Hybrids" table).
_HYBRIDS = {
    "sp-1": {"s": _R2, "px": _R2}, "sp-2": {"s": _R2, "px": -_R2},
    "sp2-1": {"s": _R3, "px": -_R6, "py": _R2}, "sp2-2": {"s": _R3, "px": -_R6, "py": -_R2},
    "sp2-3": {"s": _R3, "px": 2 * _R6},
    "sp3-1": {"s": .5, "px": .5, "py": .5, "pz": .5},
    "sp3-2": {"s": .5, "px": .5, "py": -.5, "pz": -.5},
    "sp3-3": {"s": .5, "px": -.5, "py": .5, "pz": -.5},
    "sp3-4": {"s": .5, "px": -.5, "py": -.5, "pz": .5},
    "sp3d-1": {"s": _R3, "px": -_R6, "py": _R2}, "sp3d-2": {"s": _R3, "px": -_R6, "py": -_R2},
    "sp3d-3": {"s": _R3, "px": 2 * _R6}, "sp3d-4": {"pz": _R2, "dz2": _R2},
    "sp3d-5": {"pz": -_R2, "dz2": _R2},
    "sp3d2-1": {"s": _R6, "px": -_R2, "dz2": -_R12, "dx2-y2": .5},
    "sp3d2-2": {"s": _R6, "px": _R2, "dz2": -_R12, "dx2-y2": .5},
    "sp3d2-3": {"s": _R6, "py": -_R2, "dz2": -_R12, "dx2-y2": -.5},
    "sp3d2-4": {"s": _R6, "py": _R2, "dz2": -_R12, "dx2-y2": -.5},
    "sp3d2-5": {"s": _R6, "pz": -_R2, "dz2": _R3},
    "sp3d2-6": {"s": _R6, "pz": _R2, "dz2": _R3},
}
#: The real-orbital basis the hybrids are expanded in (s, p, d; l of each).
_REAL_BASIS = ("s", "px", "py", "pz", "dxy", "dyz", "dxz", "dx2-y2", "dz2")
_REAL_L = (0, 1, 1, 1, 2, 2, 2, 2, 2)


@dataclass
class Projection:
    """One Wannier function's projection from ``begin projections``: site label and
    Cartesian centre (nm), Wannier90's (l, mr) and orbital name, spin ('up', 'down' or
    None without spinors), radial index r, local axes z and x (Cartesian, default z, x),
    spin quantization axis and the .win line it came from."""

    site: str
    position: np.ndarray
    l: int
    mr: int
    orbital: str
    spin: str | None
    radial: int
    zaxis: np.ndarray
    xaxis: np.ndarray
    qaxis: np.ndarray
    line: int


@dataclass
class WinData:
    """What :func:`read_wannier90` uses from ``seedname.win``: lattice vectors (rows, nm)
    or None, atoms [(label, Cartesian position nm)], spinors, num_wann, use_ws_distance
    (None if not set; Wannier90's default is true since 3.0), fermi_energy (eV) or None,
    mp_grid or None, projections (list of :class:`Projection`, None without a block) and
    notes on what could not be mapped."""

    path: str
    lattice: np.ndarray | None = None
    atoms: list = field(default_factory=list)
    spinors: bool = False
    num_wann: int | None = None
    use_ws_distance: bool | None = None
    fermi_energy: float | None = None
    mp_grid: tuple | None = None
    projections: list | None = None
    notes: list = field(default_factory=list)


_COMMENT = re.compile(r"[!#].*")
# Wannier90 takes a line starting with 'begin' and naming the block as its start (text
# after the name on that line is ignored), so 'BeginProjections' and 'begin : kpoint_path'
# open blocks too.
_BEGIN = re.compile(r"^begin[\s:=]*([a-z_]+)")
_END = re.compile(r"^end[\s:=]*([a-z_]+)")
#: .win keywords read by parse_win (a second occurrence of one is an error).
_WIN_KEYS = ("num_wann", "spinors", "use_ws_distance", "fermi_energy", "mp_grid",
             "select_projections")


def _fortran_float(tok: str) -> float:
    return float(tok.replace("d", "e").replace("D", "E"))


def _bool(value: str, path, line, key):
    v = value.strip().lower().strip(".")
    if v in ("t", "true"):
        return True
    if v in ("f", "false"):
        return False
    raise Wannier90FormatError(path, line, f"{key} must be a logical (T, F, .true., .false.), "
                               f"got {value!r}")


def _coords(text: str, path, line, what) -> np.ndarray:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        values = [_fortran_float(p) for p in parts]
    except ValueError:
        raise Wannier90FormatError(path, line, f"{what}: expected 3 numbers, got {text!r}") from None
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise Wannier90FormatError(path, line, f"{what}: expected 3 finite numbers, got {text!r}")
    return np.array(values)


def parse_win(path, max_bytes: int = MAX_FILE_BYTES) -> WinData:
    """Read the parts of ``seedname.win`` that define the model (see :class:`WinData`).

    Wannier90 syntax: case-insensitive, comments after '!' or '#', ``key = value``,
    ``key : value`` or ``key value``, blocks ``begin name`` ... ``end name``. Lengths:
    ``unit_cell_cart`` and ``atoms_cart`` in Angstrom unless their first line says
    ``bohr`` (1 bohr = 0.52917720859 Angstrom, Wannier90's value); converted to nm.
    """
    lines = _Lines(path, "the .win file", max_bytes)
    win = WinData(path=str(path))
    keys: dict = {}
    blocks: dict = {}
    current = None
    for number, raw in enumerate(lines.lines, start=1):
        text = _COMMENT.sub("", raw).strip().lower()
        if not text:
            continue
        begin, end = _BEGIN.match(text), _END.match(text)
        if begin:
            if current is not None:
                raise Wannier90FormatError(path, number, f"'begin {begin.group(1)}' inside block "
                                           f"'{current[0]}' (opened at line {current[1]})")
            name = begin.group(1)
            if name in blocks:
                raise Wannier90FormatError(path, number, f"block '{name}' appears twice (first at "
                                           f"line {blocks[name][0]})")
            current = (name, number)
            blocks[name] = (number, [])
            continue
        if end:
            if current is None or end.group(1) != current[0]:
                want = "no block is open" if current is None else \
                    f"expected 'end {current[0]}' (opened at line {current[1]})"
                raise Wannier90FormatError(path, number, f"'end {end.group(1)}': {want}")
            current = None
            continue
        if current is not None:
            blocks[current[0]][1].append((number, text))
            continue
        for match in re.finditer(r"(?:^|\s)([a-z_][a-z_0-9]*)\s*(?:=|:|\s)\s*([^=:\s]+(?:[\s,]+"
                                 r"[-+0-9.ed]+)*)", text):
            key = match.group(1)
            if key not in _WIN_KEYS:
                continue
            if key in keys:
                raise Wannier90FormatError(path, number, f"keyword '{key}' appears twice (first at "
                                           f"line {keys[key][1]})")
            keys[key] = (match.group(2), number)
    if current is not None:
        raise Wannier90FormatError(path, current[1], f"block '{current[0]}' is never closed "
                                   f"('end {current[0]}' missing)")

    def integer(key):
        value, number = keys[key]
        try:
            return int(value.split()[0])
        except ValueError:
            raise Wannier90FormatError(path, number, f"{key} must be an integer, got {value!r}") from None

    if "num_wann" in keys:
        win.num_wann = integer("num_wann")
        if win.num_wann < 1:
            raise Wannier90FormatError(path, keys["num_wann"][1], "num_wann must be >= 1")
    if "spinors" in keys:
        win.spinors = _bool(keys["spinors"][0], path, keys["spinors"][1], "spinors")
    if "use_ws_distance" in keys:
        win.use_ws_distance = _bool(keys["use_ws_distance"][0], path, keys["use_ws_distance"][1],
                                    "use_ws_distance")
    if "fermi_energy" in keys:
        value, number = keys["fermi_energy"]
        try:
            win.fermi_energy = _fortran_float(value.split()[0])
        except ValueError:
            raise Wannier90FormatError(path, number, f"fermi_energy must be a number (eV), got "
                                       f"{value!r}") from None
    if "mp_grid" in keys:
        value, number = keys["mp_grid"]
        try:
            grid = tuple(int(x) for x in re.split(r"[,\s]+", value.strip()))
        except ValueError:
            grid = ()
        if len(grid) != 3 or min(grid) < 1:
            raise Wannier90FormatError(path, number, f"mp_grid must be 3 positive integers, got "
                                       f"{value!r}")
        win.mp_grid = grid

    if "unit_cell_cart" in blocks:
        start, body = blocks["unit_cell_cart"]
        scale, body = _length_unit(body)
        if len(body) != 3:
            raise Wannier90FormatError(path, start, f"unit_cell_cart needs 3 lattice vectors, got "
                                       f"{len(body)} lines")
        win.lattice = np.array([_coords(t, path, n, "lattice vector") for n, t in body]) * \
            scale / ANGSTROM_PER_NM
        if abs(np.linalg.det(win.lattice)) < 1e-12:
            raise Wannier90FormatError(path, start, "unit_cell_cart vectors are linearly dependent")
    elif "unit_cell_frac" in blocks:
        raise Wannier90FormatError(path, blocks["unit_cell_frac"][0], "unit_cell_frac is not a "
                                   "Wannier90 block; give unit_cell_cart")
    if "atoms_frac" in blocks and "atoms_cart" in blocks:
        raise Wannier90FormatError(path, blocks["atoms_cart"][0], "both atoms_frac and "
                                   "atoms_cart are given")
    for name in ("atoms_frac", "atoms_cart"):
        if name not in blocks:
            continue
        start, body = blocks[name]
        scale, body = _length_unit(body) if name == "atoms_cart" else (1.0, body)
        if name == "atoms_frac" and win.lattice is None:
            raise Wannier90FormatError(path, start, "atoms_frac needs unit_cell_cart")
        for number, text in body:
            parts = text.split(None, 1)
            if len(parts) != 2:
                raise Wannier90FormatError(path, number, f"{name}: expected 'label x y z', got "
                                           f"{text!r}")
            xyz = _coords(parts[1], path, number, f"{name} position")
            cart = xyz @ win.lattice if name == "atoms_frac" else xyz * scale / ANGSTROM_PER_NM
            win.atoms.append((parts[0], cart))
    if "projections" in blocks:
        win.projections = _projections(path, blocks["projections"], win, keys)
    return win


def _length_unit(body):
    """(Angstrom per unit, remaining lines) of a block whose first line may be a unit."""
    if body and body[0][1] in ("bohr", "ang", "angstrom"):
        return (ANGSTROM_PER_BOHR if body[0][1] == "bohr" else 1.0), body[1:]
    return 1.0, body


def _projections(path, block, win: WinData, keys) -> list | None:
    """Wannier90's order of the projection functions (readwrite.F90,
    w90_readwrite_get_projections): for each line, each site of the species (in the
    order of the atoms block), each l from -5 to 3, each mr, then spin up and down
    (interleaved) when spinors = T. None (with a note) for random projections."""
    start, body = block
    scale, body = _length_unit(body)
    if body and body[0][1] == "random":
        win.notes.append("random projections: no orbital or spin labels")
        return None
    species: dict = {}
    for label, cart in win.atoms:
        species.setdefault(label, []).append(cart)
    out = []
    zdef, xdef, qdef = np.array([0., 0., 1.]), np.array([1., 0., 0.]), np.array([0., 0., 1.])
    for number, text in body:
        if text == "random":
            win.notes.append("partly random projections: no orbital or spin labels")
            return None
        if ":" not in text:
            raise Wannier90FormatError(path, number, f"malformed projection {text!r}: expected "
                                       "'site : orbitals [: options]'")
        site_text, rest = text.split(":", 1)
        site_text = site_text.strip()
        if site_text.startswith("c=") or site_text.startswith("f="):
            xyz = _coords(site_text[2:], path, number, "projection centre")
            if site_text.startswith("f="):
                if win.lattice is None:
                    raise Wannier90FormatError(path, number, "f= centres need unit_cell_cart")
                sites = [(site_text, xyz @ win.lattice)]
            else:
                sites = [(site_text, xyz * scale / ANGSTROM_PER_NM)]
        else:
            if site_text not in species:
                raise Wannier90FormatError(path, number, f"projection site {site_text!r} is not an "
                                           f"atom label of the atoms block ({sorted(species)})")
            cs = species[site_text]
            sites = [(site_text if len(cs) == 1 else f"{site_text}{i + 1}", c)
                     for i, c in enumerate(cs)]
        qaxis, spins = qdef, ["up", "down"] if win.spinors else [None]
        m = re.search(r"\[([^\]]*)\]", rest)
        if m:
            if not win.spinors:
                raise Wannier90FormatError(path, number, "spin quantization axis given but "
                                           "spinors = F")
            qaxis = _coords(m.group(1), path, number, "spin quantization axis")
            rest = rest[:m.start()] + rest[m.end():]
        m = re.search(r"\(([^)]*)\)", rest)
        if m:
            if not win.spinors:
                raise Wannier90FormatError(path, number, "spin (u, d) given but spinors = F")
            spins = [s for s, c in (("up", "u"), ("down", "d")) if c in m.group(1)]
            if not spins:
                raise Wannier90FormatError(path, number, "spin brackets need u and/or d")
            rest = rest[:m.start()] + rest[m.end():]
        fields_ = rest.split(":")
        states = set()
        for item in re.split(r";", fields_[0]):
            item = item.strip()
            if not item:
                continue
            if item.startswith("l="):
                parts = [p.strip() for p in item[2:].split(",")]
                try:
                    l = int(parts[0])
                    mrs = None
                    if len(parts) > 1:
                        if not parts[1].startswith("mr="):
                            raise ValueError
                        mrs = [int(parts[1][3:])] + [int(p) for p in parts[2:]]
                except ValueError:
                    raise Wannier90FormatError(path, number, f"malformed angular momentum "
                                               f"{item!r}: expected l=L[,mr=M1,M2...]") from None
                if l not in W90_ORBITALS:
                    raise Wannier90FormatError(path, number, f"l = {l} must be in -5..3")
                mrs = mrs or list(range(1, len(W90_ORBITALS[l]) + 1))
                for mr in mrs:
                    if not 1 <= mr <= len(W90_ORBITALS[l]):
                        raise Wannier90FormatError(path, number, f"mr = {mr} is out of range for "
                                                   f"l = {l} (1..{len(W90_ORBITALS[l])})")
                    states.add((l, mr))
                continue
            for name in (p.strip() for p in item.split(",")):
                if name in _W90_SHELLS:
                    l = _W90_SHELLS[name]
                    states.update((l, mr) for mr in range(1, len(W90_ORBITALS[l]) + 1))
                elif name in _W90_NAME:
                    states.add(_W90_NAME[name])
                else:
                    raise Wannier90FormatError(path, number, f"unknown orbital {name!r} (Wannier90 "
                                               "names: s, p, pz, px, py, d, dz2, dxz, dyz, "
                                               "dx2-y2, dxy, f..., sp, sp2, sp3, sp3d, sp3d2, "
                                               "sp3-1, ..., or l=..,mr=..)")
        zaxis, xaxis, radial = zdef, xdef, 1
        for opt in fields_[1:]:
            opt = opt.strip()
            if opt.startswith("z="):
                zaxis = _coords(opt[2:], path, number, "z axis")
            elif opt.startswith("x="):
                xaxis = _coords(opt[2:], path, number, "x axis")
            elif opt.startswith("r="):
                try:
                    radial = int(opt[2:])
                except ValueError:
                    raise Wannier90FormatError(path, number, f"r must be an integer, got {opt!r}") from None
            elif opt.startswith("zona=") or not opt:
                pass
            else:
                raise Wannier90FormatError(path, number, f"unknown projection option {opt!r}")
        for site, cart in sites:
            for l in range(-5, 4):
                for mr in range(1, 8):
                    if (l, mr) in states:
                        for spin in spins:
                            out.append(Projection(site, np.array(cart, float), l, mr,
                                                  W90_ORBITALS[l][mr - 1], spin, radial, zaxis,
                                                  xaxis, qaxis, number))
    if "select_projections" in keys:
        value, number = keys["select_projections"]
        chosen = []
        for part in re.split(r"[,\s]+", value.strip()):
            a, _, b = part.partition("-")
            try:
                chosen.extend(range(int(a), int(b or a) + 1))
            except ValueError:
                raise Wannier90FormatError(path, number, f"select_projections: bad entry {part!r}") from None
        if any(not 1 <= c <= len(out) for c in chosen):
            raise Wannier90FormatError(path, number, f"select_projections refers to projections "
                                       f"beyond the {len(out)} defined")
        out = [out[c - 1] for c in chosen]
    if win.num_wann is not None and len(out) != win.num_wann:
        raise Wannier90FormatError(path, start, f"the projections block defines {len(out)} "
                                   f"functions, num_wann = {win.num_wann}")
    return out


def parse_wsvec(path, data: HoppingData, max_bytes: int = MAX_FILE_BYTES) -> list:
    """Read ``seedname_wsvec.dat``: for every R of ``data`` and every pair (m, n) the
    Wigner-Seitz shifts T (integer lattice units) of that hopping. Returns a list over
    R (in the order of ``data.R``) of (N, N) lists of (n_images, 3) integer arrays.

    Format (Wannier90 ws_write_vec): a '##' header; then for each R, m, n a line
    'R1 R2 R3 m n', a line with the number of images and one 'T1 T2 T3' line per image.
    """
    lines = _Lines(path, "the wsvec.dat file", max_bytes)
    lines.header()
    n = data.H.shape[-1]
    nr = len(data.R)
    if nr * n * n * 18 > lines.nbytes:  # each block has >= 18 bytes
        raise Wannier90FormatError(path, None, f"the model has {nr * n * n} hoppings (R, m, n) but "
                                   f"the file has only {lines.nbytes} bytes: not its wsvec file")
    index = {_t(r): i for i, r in enumerate(data.R)}
    shifts: list = [[[None] * n for _ in range(n)] for _ in range(nr)]
    count = 0
    while not lines.rest_is_blank():
        tokens = lines.next("'R1 R2 R3 m n'")
        r1, r2, r3, m, nn = lines.integers(tokens, 5, "'R1 R2 R3 m n'")
        if (r1, r2, r3) not in index:
            raise lines.error(f"R = {(r1, r2, r3)} is not an R vector of the Hamiltonian file")
        if not (1 <= m <= n and 1 <= nn <= n):
            raise lines.error(f"orbital indices m = {m}, n = {nn} must be in 1..{n}")
        ir = index[(r1, r2, r3)]
        if shifts[ir][m - 1][nn - 1] is not None:
            raise lines.error(f"(R, m, n) = ({(r1, r2, r3)}, {m}, {nn}) appears twice")
        (k,) = lines.integers(lines.next("the number of Wigner-Seitz images"), 1,
                              "the number of Wigner-Seitz images")
        if not 1 <= k <= 1000:
            raise lines.error(f"the number of images must be in 1..1000, got {k}")
        t = np.array([lines.integers(lines.next(f"image shift {j + 1} of {k} (3 integers)"), 3,
                                     "an image shift 'T1 T2 T3'") for j in range(k)], int)
        shifts[ir][m - 1][nn - 1] = t
        count += 1
    if count != nr * n * n:
        missing = next((data.R[i], a + 1, b + 1) for i in range(nr) for a in range(n)
                       for b in range(n) if shifts[i][a][b] is None)
        raise Wannier90FormatError(path, len(lines.lines) + 1, f"{count} of the {nr * n * n} "
                                   f"hoppings have images; missing e.g. (R, m, n) = "
                                   f"({_t(missing[0])}, {missing[1]}, {missing[2]})")
    return shifts


def apply_wsvec(data: HoppingData, shifts: list) -> HoppingData:
    """Wannier90's use_ws_distance interpolation as hoppings: each H(R)_mn / deg(R) is split
    equally over its N_mn(R) images R + T (weights 1/N_mn(R)), the images of all R are
    summed, and the result has unit degeneracies:

        h_mn(k) = sum_R sum_T exp(i k.(R + T)) H(R)_mn / (deg(R) N_mn(R))

    (postw90_common.F90, pw90common_fourier_R_to_k). The position matrix is not shifted
    (it is dropped from the result)."""
    n = data.H.shape[-1]
    rows, src, frac = [], [], []
    for ir, r in enumerate(data.R):
        for a in range(n):
            for b in range(n):
                t = shifts[ir][a][b]
                rows.append(r[None, :] + t)
                src.append(np.repeat([[ir, a, b]], len(t), axis=0))
                frac.append(np.full(len(t), 1.0 / (len(t) * data.deg[ir])))
    rvec = np.concatenate(rows)
    src = np.concatenate(src)
    frac = np.concatenate(frac)
    new_r, inverse = np.unique(rvec, axis=0, return_inverse=True)
    ham = np.zeros((len(new_r), n, n), complex)
    np.add.at(ham, (inverse.ravel(), src[:, 1], src[:, 2]), data.H[src[:, 0], src[:, 1], src[:, 2]]
              * frac)
    return HoppingData(new_r, np.ones(len(new_r), int), ham, lattice=data.lattice, position=None,
                       header=data.header)


def parse_centres(path, num_wann: int, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """Wannier centres (num_wann, 3) in nm from ``seedname_centres.xyz`` (Angstrom; the
    first num_wann entries, labelled X, are the centres, atoms follow)."""
    lines = _Lines(path, "the centres.xyz file", max_bytes)
    (count,) = lines.integers(lines.next("the number of entries"), 1, "the number of entries")
    if count < num_wann or count > lines.nbytes:
        raise lines.error(f"{count} entries: expected at least num_wann = {num_wann} centres")
    lines.pos += 1  # comment line
    out = np.zeros((num_wann, 3))
    for i in range(num_wann):
        tokens = lines.next(f"centre {i + 1} of {num_wann} 'X x y z'", skip_blank=False)
        if len(tokens) != 4 or tokens[0].upper() != "X":
            raise lines.error(f"expected centre {i + 1} of {num_wann} as 'X x y z' (Angstrom), "
                              f"got {' '.join(tokens)[:80]!r}")
        out[i] = lines.floats(tokens[1:], "a centre (Angstrom)")
    return out / ANGSTROM_PER_NM


def _axes(p: Projection) -> np.ndarray:
    """Rows x', y', z' of a projection's local frame (Cartesian, orthonormal)."""
    z = p.zaxis / np.linalg.norm(p.zaxis)
    x = p.xaxis / np.linalg.norm(p.xaxis)
    if abs(np.dot(x, z)) > 1e-6:
        raise ValueError("x and z axes of a projection must be orthogonal")
    return np.array([x, np.cross(z, x), z])


def _orbital_matrices(projs: list, notes: list):
    """L (3, N, N) in the Wannier basis from the projections (the Wannier functions taken
    as their atomic projections): within each (site, spin, radial) group the states are
    expanded in real s, p, d orbitals (hybrids by the Wannier90 table) and must span
    complete l shells; local axes rotate L as a vector. None (with a note) otherwise."""
    from ..models.orbitals import real_orbital_angular_momentum
    n = len(projs)
    out = np.zeros((3, n, n), complex)
    groups: dict = {}
    for i, p in enumerate(projs):
        groups.setdefault((p.site, p.spin, p.radial), []).append(i)
    lfull = np.zeros((3, 9, 9), complex)
    for l, idx in ((0, [0]), (1, [1, 2, 3]), (2, [4, 5, 6, 7, 8])):
        if l:
            lfull[np.ix_(range(3), idx, idx)] = real_orbital_angular_momentum(
                [_REAL_BASIS[i] for i in idx])
    for key, idx in groups.items():
        coef = np.zeros((len(idx), 9))
        for row, i in enumerate(idx):
            p = projs[i]
            if p.l == 3:
                notes.append(f"f orbitals on {p.site}: no orbital angular momentum matrices")
                return None
            combo = _HYBRIDS.get(p.orbital, {p.orbital: 1.0})
            for name, c in combo.items():
                coef[row, _REAL_BASIS.index(name)] = c
        ls = {_REAL_L[j] for j in range(9) if np.any(coef[:, j] != 0)}
        cols = [j for j in range(9) if _REAL_L[j] in ls]
        c = coef[:, cols]
        if c.shape[0] != c.shape[1] or not np.allclose(c @ c.T, np.eye(len(idx)), atol=1e-12):
            notes.append(f"the projections on {key[0]} (spin {key[1]}) do not span complete "
                         f"l shells: no orbital angular momentum matrices")
            return None
        try:
            frames = {tuple(_axes(projs[i]).ravel()) for i in idx}
        except ValueError as exc:
            notes.append(f"{exc}: no orbital angular momentum matrices")
            return None
        if len(frames) != 1:
            notes.append(f"mixed local axes on {key[0]}: no orbital angular momentum matrices")
            return None
        rot = np.array(frames.pop()).reshape(3, 3)  # rows: local axes in global coordinates
        local = np.einsum("ai,xij,bj->xab", c, lfull[np.ix_(range(3), cols, cols)], c)
        glob = np.einsum("ba,bij->aij", rot, local)  # L_a = sum_b (e'_b . e_a) L'_b
        out[np.ix_(range(3), idx, idx)] = glob
    return out


def read_wannier90(seed, dim: int = 3, *, convention: str = "lattice",
                   use_ws_distance: bool | None = None, labels: bool = True,
                   spinor_ordering: str = "interleaved", hermiticity_tol: float = 1e-6,
                   max_bytes: int = MAX_FILE_BYTES) -> TightBinding:
    """A :class:`~mesokinetics.models.TightBinding` from a Wannier90 seed (path prefix).

    Reads ``seed.win`` (lattice ``unit_cell_cart`` in Angstrom or bohr, converted to nm;
    atoms; ``spinors``; ``begin projections``; ``use_ws_distance``; ``fermi_energy``),
    ``seed_hr.dat`` or else ``seed_tb.dat`` (eV; the tb.dat lattice, in Angstrom, is used
    when present and must agree with the .win to 1e-6), ``seed_wsvec.dat`` when present
    and ``seed_centres.xyz`` when present.

    Parameters
    ----------
    seed : path prefix, e.g. 'data/silicon' for data/silicon.win, data/silicon_hr.dat
    dim : model dimension; R components beyond dim must vanish (2D films: dim=2)
    convention : 'lattice' (Wannier90's phase exp(i k.R), default) or 'atomic' (phase with
        the Wannier centres of ``_centres.xyz``, else the tb.dat position diagonal)
    use_ws_distance : apply ``_wsvec.dat`` as Wannier90 does (each H(R)_mn split over its
        Wigner-Seitz images R + T with weights 1/N_images); None: when the file exists
        (required if the .win sets use_ws_distance = true... it is then Wannier90's
        interpolation), True: the file is required, False: ignored
    labels : turn the projections into site/orbital/spin labels, spin matrices s = sigma/2
        (on-site: each Wannier function taken as its spinor projection, an approximation)
        and orbital angular momentum L (each Wannier function taken as its atomic
        projection, hybrids expanded by Wannier90's table)
    spinor_ordering : 'interleaved' (Wannier90 >= 2.1 with pw2wannier90 and VASP >= 6:
        up and down of each projection adjacent) or 'blocks' (all up, then all down: old
        VASP interfaces)
    hermiticity_tol : eV, see TightBinding
    max_bytes : largest accepted file size

    The model carries ``model.wannier90`` (a dict: files read, fermi_energy (eV) or None,
    mp_grid, use_ws_distance applied, projections, notes on labels that could not be
    built) and ``model.wannier90_data`` (the Hamiltonian file as read, before the
    Wigner-Seitz shifts). The model's hoppings have unit degeneracies after the shifts;
    :func:`write_hr` writes them exactly (the wsvec file is then no longer needed).
    """
    if spinor_ordering not in ("interleaved", "blocks"):
        raise ValueError(f"spinor_ordering must be 'interleaved' or 'blocks', got {spinor_ordering!r}")
    if convention not in ("lattice", "atomic"):
        raise ValueError(f"convention must be 'lattice' or 'atomic', got {convention!r}")
    seed = str(seed)
    files = {s: Path(seed + s) for s in (".win", "_hr.dat", "_tb.dat", "_wsvec.dat",
                                         "_centres.xyz")}
    exists = {s: f.exists() for s, f in files.items()}
    if not exists["_hr.dat"] and not exists["_tb.dat"]:
        raise FileNotFoundError(f"neither {files['_hr.dat']} nor {files['_tb.dat']} exists "
                                f"(seed {seed!r})")
    win = parse_win(files[".win"], max_bytes) if exists[".win"] else None
    read = []
    if exists["_hr.dat"]:
        ham_path = files["_hr.dat"]
        data = parse_hr(ham_path)
        if win is None or win.lattice is None:
            raise Wannier90FormatError(files[".win"], None, "the lattice (unit_cell_cart) is "
                                       f"needed with {ham_path.name}, which does not store it")
        lattice = win.lattice
    else:
        ham_path = files["_tb.dat"]
        data = parse_tb(ham_path)
        lattice = data.lattice
        if win is not None and win.lattice is not None and not np.allclose(
                win.lattice, data.lattice, rtol=1e-6, atol=1e-6 * np.abs(data.lattice).max()):
            raise Wannier90FormatError(files[".win"], None, f"unit_cell_cart {win.lattice.tolist()}"
                                       f" nm differs from the lattice of {ham_path.name} "
                                       f"{data.lattice.tolist()} nm")
    read.append(str(ham_path))
    if win is not None:
        read.insert(0, str(files[".win"]))
    n = data.H.shape[-1]
    if win is not None and win.num_wann is not None and win.num_wann != n:
        raise Wannier90FormatError(files[".win"], None, f"num_wann = {win.num_wann}, but "
                                   f"{ham_path.name} has {n} Wannier functions")
    raw = data
    applied = False
    if use_ws_distance is not False and exists["_wsvec.dat"]:
        data = apply_wsvec(data, parse_wsvec(files["_wsvec.dat"], data, max_bytes))
        read.append(str(files["_wsvec.dat"]))
        applied = True
    elif use_ws_distance is True:
        raise FileNotFoundError(f"use_ws_distance=True needs {files['_wsvec.dat']}")
    notes = [] if win is None else list(win.notes)
    if not applied and win is not None and win.use_ws_distance is not False and \
            not exists["_wsvec.dat"] and use_ws_distance is None and exists["_hr.dat"]:
        notes.append("no _wsvec.dat: bands differ from Wannier90's use_ws_distance "
                     "interpolation (its default since 3.0)")
    centres = None
    if exists["_centres.xyz"]:
        centres = parse_centres(files["_centres.xyz"], n, max_bytes)
        read.append(str(files["_centres.xyz"]))
    elif raw.position is not None:
        zero = np.nonzero(np.all(raw.R == 0, axis=1))[0]
        if len(zero) == 1:
            centres = np.real(np.diagonal(raw.position[zero[0]], axis1=-2, axis2=-1)).T
    positions = None
    if convention == "atomic":
        if centres is None:
            raise Wannier90FormatError(files["_centres.xyz"], None, "convention 'atomic' needs the "
                                       "Wannier centres (_centres.xyz or the tb.dat positions)")
        positions = centres[:, :dim]
    label_kw: dict = {}
    projs = None
    lmat = None
    if labels and win is not None and win.projections is not None:
        projs = list(win.projections)
        if len(projs) != n:
            raise Wannier90FormatError(files[".win"], None, f"the projections define {len(projs)} "
                                       f"functions, the Hamiltonian has {n}")
        if win.spinors and spinor_ordering == "blocks":
            ups = [p for p in projs if p.spin == "up"]
            downs = [p for p in projs if p.spin == "down"]
            if len(ups) != len(downs):
                raise ValueError("spinor_ordering 'blocks' needs as many up as down projections")
            projs = ups + downs
        tags = [p.orbital + (f"@r{p.radial}" if p.radial != 1 else "") +
                ("" if np.allclose(p.zaxis, [0, 0, 1]) and np.allclose(p.xaxis, [1, 0, 0])
                 else "@axes") for p in projs]
        label_kw = dict(sites=[p.site for p in projs], orbitals=tags,
                        basis=[f"{p.site} {t}" + (f" {p.spin}" if p.spin else "")
                               for p, t in zip(projs, tags)])
        if win.spinors:
            pairs: dict = {}
            for p, t in zip(projs, tags):
                pairs.setdefault((p.site, t), []).append(p.spin)
            if any(not np.allclose(p.qaxis / np.linalg.norm(p.qaxis), [0, 0, 1]) for p in projs):
                notes.append("a spin quantization axis other than z: no spin matrices")
            elif any(sorted(v) != ["down", "up"] for v in pairs.values()):
                notes.append("not every projection has both spins: no spin matrices")
            else:
                label_kw["spins"] = [p.spin for p in projs]
        lmat = _orbital_matrices(projs, notes)
    elif labels and win is not None and win.spinors:
        notes.append("spinors without a projections block: no spin or orbital labels")
    lattice = np.asarray(lattice, float)
    try:
        data3 = HoppingData(data.R, data.deg, data.H, lattice=lattice)
        rvecs, lat = _reduce(ham_path, data3, dim)
        model = TightBinding(lat, (rvecs, data.H), degeneracies=data.deg, positions=positions,
                             convention=convention, hermiticity_tol=hermiticity_tol, **label_kw)
    except ValueError as exc:
        if isinstance(exc, Wannier90FormatError):
            raise
        raise Wannier90FormatError(ham_path, None, f"the hoppings do not define a valid model: "
                                   f"{exc}") from None
    model.orbital_matrices = lmat
    model.wannier90_header = data.header
    model.wannier90_data = raw
    model.wannier90 = {
        "seed": seed, "files": read, "use_ws_distance": applied,
        "fermi_energy": None if win is None else win.fermi_energy,
        "mp_grid": None if win is None else win.mp_grid,
        "spinors": bool(win is not None and win.spinors), "spinor_ordering": spinor_ordering,
        "projections": projs, "centres": centres, "notes": notes,
    }
    return model


def _r3(model: TightBinding) -> np.ndarray:
    r = np.zeros((len(model.R), 3), int)
    r[:, : model.dim] = model.R
    return r


def _deg_lines(deg) -> list[str]:
    return ["".join(f"{int(x):5d}" for x in deg[i:i + 15]) for i in range(0, len(deg), 15)]


def _num(x: float) -> str:
    return f"{x: .17e}"


def _check_model(model):
    if not isinstance(model, TightBinding):
        raise TypeError(f"model must be a TightBinding, got {type(model).__name__}")


def write_hr(path, model: TightBinding, header: str | None = None) -> None:
    """Write ``model`` as ``seedname_hr.dat`` (17 significant digits, atomically).

    The phase convention of hr.dat is "lattice"; orbital positions and labels are not
    stored (give them again to :func:`read_hr`)."""
    _check_model(model)
    n = model.size
    head = header if header is not None else getattr(model, "wannier90_header", "") or \
        "written by mesokinetics"
    out = [head.replace("\n", " "), f"{n:12d}", f"{len(model.R):12d}", *_deg_lines(model.degeneracy)]
    for r, h in zip(_r3(model), model.H):
        for col in range(n):
            for row in range(n):
                v = h[row, col]
                out.append(f"{r[0]:5d}{r[1]:5d}{r[2]:5d}{row + 1:5d}{col + 1:5d} "
                           f"{_num(v.real)} {_num(v.imag)}")
    atomic_write(path, "\n".join(out) + "\n")


def write_tb(path, model: TightBinding, header: str | None = None,
             position_matrix: np.ndarray | None = None) -> None:
    """Write ``model`` as ``seedname_tb.dat`` (Angstrom; 17 significant digits, atomically).

    position_matrix : (M, 3, N, N) in nm; default: the model's ``position_matrix`` if it
    has one, else the orbital positions (or zeros) on the diagonal of the R = 0 block.
    Dimensions beyond the model's get unit lattice vectors of 1 nm."""
    _check_model(model)
    n, d = model.size, model.dim
    lattice = np.eye(3)
    lattice[:d, :d] = model.lattice_vectors
    pos = position_matrix if position_matrix is not None else getattr(model, "position_matrix", None)
    if pos is None:
        pos = np.zeros((len(model.R), 3, n, n), complex)
        if model.positions is not None:
            zero = np.nonzero(np.all(model.R == 0, axis=1))[0]
            if len(zero):
                for a in range(d):
                    pos[zero[0], a] = np.diag(model.positions[:, a])
    pos = np.asarray(pos, complex)
    if pos.shape != (len(model.R), 3, n, n):
        raise ValueError(f"position_matrix must have shape {(len(model.R), 3, n, n)} (nm), "
                         f"got {pos.shape}")
    head = header if header is not None else getattr(model, "wannier90_header", "") or \
        "written by mesokinetics"
    out = [head.replace("\n", " ")]
    out += ["    ".join(_num(x * ANGSTROM_PER_NM) for x in row) for row in lattice]
    out += [f"{n:d}", f"{len(model.R):d}", *_deg_lines(model.degeneracy)]
    r3 = _r3(model)
    for r, h in zip(r3, model.H):
        out += ["", f"{r[0]:5d}{r[1]:5d}{r[2]:5d}"]
        for col in range(n):
            for row in range(n):
                out.append(f"{row + 1:5d}{col + 1:5d}   {_num(h[row, col].real)} {_num(h[row, col].imag)}")
    for r, p in zip(r3, pos):
        out += ["", f"{r[0]:5d}{r[1]:5d}{r[2]:5d}"]
        for col in range(n):
            for row in range(n):
                vals = p[:, row, col] * ANGSTROM_PER_NM
                out.append(f"{row + 1:5d}{col + 1:5d}   " + " ".join(
                    f"{_num(v.real)} {_num(v.imag)}" for v in vals))
    atomic_write(path, "\n".join(out) + "\n")
