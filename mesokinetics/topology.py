"""Topology and the Berry-curvature (intrinsic) response of lattice models: Chern numbers,
Berry phases of Fermi loops, and the Fermi-sea intrinsic term evaluated chunk by chunk
(docs/theory.md §5, §8). Independent of the transport solvers, which use the same
intrinsic term through :mod:`mesokinetics.coherence`; both evaluate a chunk of the sea by
the same task, :func:`mesokinetics.response.uniform.fermi_sea_chunk`.
"""

from __future__ import annotations

import numpy as np

from .bands import Bands
from .models.base import Model
from .numerics import Numerics
from .operators import as_operator
from .parallel import map_chunks, validate_scheduler
from .response.uniform import fermi_sea_chunk, portable_operators
from .sampling import BrillouinZone, Sea, sampler_of
from .sampling.brillouin import FermiLoop, bz_options, fractional_grid, lattice_geometry


def intrinsic_response(model: Model, mu: float, operators, numerics: Numerics | None = None,
                       sea: Sea | None = None, progress=None, *, scheduler=None) -> np.ndarray:
    """Intrinsic (Fermi-sea, Berry-connection) term of each operator per unit field,
    evaluated in chunks of ``bz_chunk`` k points: memory O(bz_chunk N^2 d) whatever the grid.
    Each chunk is diagonalized once for all operators, which are rotated to the eigenbasis
    and traced together (:func:`~mesokinetics.response.uniform.fermi_sea_chunk`, the task
    of ``solve_uniform``'s Fermi sea).

    operators : one operator or a list (see :func:`mesokinetics.operators.as_operator`)
    progress : optional callback progress(done, total) over the chunks
    scheduler : where the chunks run (:mod:`mesokinetics.parallel`): None (serial, in this
        process), a Dask scheduler address ('tcp://host:8786'), a ``distributed.Client``
        or a ``concurrent.futures.Executor``; the chunks are summed in their order, so the
        result equals the serial one
    Returns (n_operators, d): operator unit nm^-d per V/nm, the same numbers as
    ``solve_uniform(...).response(op).intrinsic`` at T = 0.
    """
    numerics = numerics or Numerics()
    if not np.isfinite(mu):
        raise ValueError(f"mu must be a finite energy in eV, got {mu!r}")
    scheduler = validate_scheduler(scheduler)
    single = not isinstance(operators, (list, tuple))
    ops = [as_operator(o, model) for o in ([operators] if single else operators)]
    sampler = sampler_of(model) or BrillouinZone()
    sea = sea if sea is not None else sampler.sea(model, mu, numerics)
    chunk = bz_options(numerics, model.dim)["chunk"]
    chunks = [(mu, sea.k[s:s + chunk], sea.weight[s:s + chunk])
              for s in range(0, len(sea.weight), chunk)]
    parts = map_chunks(fermi_sea_chunk, chunks, shared=(model, portable_operators(ops, model)),
                       scheduler=scheduler, progress=progress)
    out = np.zeros((len(ops), model.dim))
    for part in parts:  # in the order of the chunks: the serial sum
        out += part
    return out[0] if single else out


def chern_number(model: Model, occupied: int, grid: int = 64) -> float:
    """Chern number of the lowest ``occupied`` eigenstates of a 2D model (Fukui, Hatsugai
    and Suzuki, J. Phys. Soc. Jpn. 74, 1674 (2005)): C = (1 / 2 pi) sum over plaquettes of
    the Berry flux from U(1) link variables, an integer for any grid fine enough to resolve
    the curvature. Independent of the Berry-curvature formula used by the response code.
    Sign: C = (1 / 2 pi) int_BZ Omega with Omega = curl A, A = i <u|grad u>."""
    if model.dim != 2:
        raise ValueError(f"chern_number needs a 2D model, got dim = {model.dim}")
    if not isinstance(occupied, (int, np.integer)) or not 0 < occupied < model.size:
        raise ValueError(f"occupied must be an integer in 1..{model.size - 1}, got {occupied!r}")
    if not isinstance(grid, (int, np.integer)) or grid < 4:
        raise ValueError(f"grid must be an integer >= 4, got {grid!r}")
    recip, _ = lattice_geometry(model)
    ham = getattr(model, "hamiltonian_lattice", model.hamiltonian)  # periodic gauge
    k = fractional_grid(grid, 2) @ recip
    _, vec = np.linalg.eigh(ham(k))
    u = vec[:, :, :occupied].reshape(grid, grid, model.size, occupied)

    def link(a, b):
        return np.linalg.det(np.conj(np.swapaxes(a, -1, -2)) @ b)

    u10 = np.roll(u, -1, axis=0)
    u01 = np.roll(u, -1, axis=1)
    u11 = np.roll(u10, -1, axis=1)
    loop = link(u, u10) * link(u10, u11) * link(u11, u01) * link(u01, u)
    # k = u1 b1 + u2 b2: the plaquette (u1, u2) -> (u1+1) -> (u2+1) is counterclockwise
    # when b1 x b2 > 0
    orient = np.sign(recip[0, 0] * recip[1, 1] - recip[0, 1] * recip[1, 0])
    return float(-orient * np.sum(np.angle(loop)) / (2 * np.pi))


def berry_phase(model: Model, loop: FermiLoop) -> float:
    """Berry phase (rad) of band ``loop.band`` around a closed Fermi loop, oriented with the
    occupied side (eps_n < E) on the left: gamma = -arg prod <u_j|u_{j+1}> (the
    determinant over a degenerate group), gauge invariant. By Stokes it equals, modulo
    2 pi, the Berry-curvature flux of band n through the occupied region it bounds."""
    if np.any(loop.winding != 0):
        raise ValueError("berry_phase needs a contractible loop (winding 0)")
    pts = loop.k
    b = Bands(model, pts, check=False)
    v = b.band_velocity[:, loop.band]
    tangent = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
    if np.sum(tangent[:, 0] * v[:, 1] - tangent[:, 1] * v[:, 0]) > 0:
        pts = pts[::-1]
        b = Bands(model, pts, check=False)
    cols = np.nonzero(b.group == loop.band)[0]
    u = b.vectors[:, :, cols]
    ov = np.conj(np.swapaxes(u, -1, -2)) @ np.roll(u, -1, axis=0)
    return float(-np.sum(np.angle(np.linalg.det(ov))))
