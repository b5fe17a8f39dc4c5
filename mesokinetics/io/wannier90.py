"""Wannier90 tight-binding files: ``seedname_hr.dat`` (read and write) and
``seedname_tb.dat`` (read and write).

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_write

from ..models.lattice import TightBinding

#: Angstrom per nm (files store Angstrom; read values are divided by it).
ANGSTROM_PER_NM = 10.0

__all__ = ["Wannier90FormatError", "read_hr", "write_hr", "read_tb", "write_tb", "HoppingData"]


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

    def __init__(self, path) -> None:
        self.path = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError:
            raise
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
        try:
            return [int(t) for t in tokens]
        except ValueError:
            raise self.error(f"expected {what} (integers), got {' '.join(tokens)[:80]!r}") from None

    def floats(self, tokens, what):
        try:
            values = [float(t.replace("D", "E").replace("d", "e")) for t in tokens]
        except ValueError:
            raise self.error(f"expected {what} (numbers), got {' '.join(tokens)[:80]!r}") from None
        if not all(math.isfinite(v) for v in values):
            raise self.error(f"{what} must be finite numbers, got {' '.join(tokens)[:80]!r}")
        return values


def _read_sizes(lines: _Lines):
    (num_wann,) = lines.integers(lines.next("num_wann"), 1, "num_wann")
    if num_wann < 1:
        raise lines.error(f"num_wann must be >= 1, got {num_wann}")
    (nrpts,) = lines.integers(lines.next("nrpts"), 1, "nrpts")
    if nrpts < 1:
        raise lines.error(f"nrpts must be >= 1, got {nrpts}")
    if num_wann > 10_000 or nrpts * num_wann**2 > 10**9:
        raise lines.error(f"num_wann = {num_wann}, nrpts = {nrpts} is implausibly large")
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
    lines = _Lines(path)
    header = lines.header()
    n, nrpts, deg = _read_sizes(lines)
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
    lines = _Lines(path)
    header = lines.header()
    lattice = np.array([lines.floats(_three(lines, lines.next(f"lattice vector a{i + 1}"),
                                            f"lattice vector a{i + 1}"), f"lattice vector a{i + 1}")
                        for i in range(3)]) / ANGSTROM_PER_NM
    n, nrpts, deg = _read_sizes(lines)
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
