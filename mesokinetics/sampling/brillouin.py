"""Brillouin-zone samplers for lattice models: Fermi shells and Fermi-sea quadratures.

docs/theory.md §8 on a periodic Brillouin zone. The samplers return the same
:class:`~mesokinetics.sampling.Shell` and :class:`~mesokinetics.sampling.Sea` objects as the
continuum ray samplers; :func:`mesokinetics.sampling.sample` uses :class:`BrillouinZone`
for every model with ``lattice_vectors`` (``TightBinding``), so
:func:`~mesokinetics.solve_uniform` works unchanged.

Quadratures (k = u . B with fractional coordinates u in [0, 1)^d, B the reciprocal vectors;
int_k = int d^dk / (2 pi)^d = (1 / V_cell) int d^du):

* Shell, 2D: contours of each band on a periodic ``bz_grid`` grid (contourpy), pieces that
  leave the zone joined through the periodic boundary into closed loops (or loops winding
  around the torus), every point projected onto eps_n(k) = E by Newton steps along the band
  velocity, then resampled uniformly in arc length (periodic cubic spline, two passes) and
  integrated with the periodic trapezoid rule, dl = |dk/dtheta| dtheta by FFT
  differentiation: weights dl / (|v_n| (2 pi)^2). Spectrally accurate for smooth loops.
  Next to a wall (``grazing_axis``, strips) each loop with grazing points v_n = 0 gets
  composite Gauss-Legendre pieces graded towards them instead, mirror symmetric about the
  wall when the shell is, and otherwise paired by the momentum along the wall where every
  graded loop has two grazing points (:func:`_grazing_pieces`, :func:`_graded_loops`,
  :func:`_paired_loop`).
* Shell, 3D: linear tetrahedron method on the ``bz_grid``^3 grid (6 tetrahedra per cube):
  each iso-surface triangle contributes area / |grad eps_lin| / (2 pi)^3 at its centroid,
  then projected onto the exact shell. Second order in the grid spacing.
* Shell, 1D: roots of eps_n(k) = E bracketed on the grid and bisected to rounding,
  weights 1 / (2 pi |v_n|).
* Sea, 1D: Gauss-Legendre panels between consecutive Fermi points (exact occupation steps).
* Sea, 2D/3D: the midpoint rule on the ``bz_grid``^d cells (spectrally accurate for smooth
  periodic integrands), with cells that a Fermi surface may cross bisected ``bz_refine``
  times (adaptive quad/octree); at the finest level a crossed cell is cut into triangles
  (2D) or tetrahedra (3D) and each is split along the linear interpolation of every band
  crossing it, so the occupation step is placed to second order in the finest spacing
  instead of first order for a plain step function. Cells where every band is full or
  every band is empty are left out.

Energies and eigenvectors are computed in chunks of ``bz_chunk`` k points, so memory stays
bounded by the chunk, not by the grid; :func:`intrinsic_response` evaluates Fermi-sea
responses chunk by chunk for grids too large for ``solve_uniform`` .

Units: k in 1/nm, energies in eV, shell weights eV^-1 nm^-d, sea weights nm^-d.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations, product

import numpy as np

from ..bands import Bands, band_groups, check_hermitian
from ..models.base import Model
from ..numerics import Numerics
from .shell import Sea, Shell, ShellSamplingError

#: Default grid sizes per dimension when ``bz_grid`` is None.
DEFAULT_GRID = {1: 512, 2: 96, 3: 24}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def bz_options(numerics: Numerics, dim: int) -> dict:
    """Validated BZ options (ValueError naming the option and its range)."""
    grid = numerics.bz_grid if numerics.bz_grid is not None else DEFAULT_GRID[dim]
    checks = {
        "bz_grid": (grid, 4), "bz_refine": (numerics.bz_refine, 0),
        "bz_contour_points": (numerics.bz_contour_points, 16), "bz_chunk": (numerics.bz_chunk, 1),
    }
    for name, (value, low) in checks.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"numerics {name} must be an integer >= {low}, got {value!r}")
    if numerics.bz_refine > 12:
        raise ValueError(f"numerics bz_refine must be <= 12, got {numerics.bz_refine}")
    cell = numerics.bz_cell_points
    if not isinstance(cell, (int, np.integer)) or isinstance(cell, bool) or not 1 <= cell <= 4:
        raise ValueError(f"numerics bz_cell_points must be an integer in 1..4, got {cell!r}")
    return {"grid": int(grid), "refine": int(numerics.bz_refine),
            "points": int(numerics.bz_contour_points), "chunk": int(numerics.bz_chunk),
            "cell": int(cell)}


def lattice_geometry(model: Model) -> tuple[np.ndarray, float]:
    """Reciprocal vectors B (rows, 1/nm) and cell volume V (nm^d) of a lattice model."""
    a = getattr(model, "lattice_vectors", None)
    if a is None:
        raise ValueError(
            f"{type(model).__name__} has no lattice_vectors: Brillouin-zone sampling needs a "
            "lattice model (TightBinding)"
        )
    a = np.asarray(a, float)
    return 2 * np.pi * np.linalg.inv(a).T, float(abs(np.linalg.det(a)))


def _onehot(model: Model) -> np.ndarray:
    groups = band_groups(model)
    return (groups[:, None] == np.arange(groups[-1] + 1)[None, :]).astype(float)


def band_energies(model: Model, k: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Band (degenerate-group) energies eps_n(k) (P, M) in eV, computed in chunks."""
    k = np.asarray(k, float).reshape(-1, model.dim)
    onehot = _onehot(model)
    out = np.empty((len(k), onehot.shape[1]))
    for s in range(0, len(k), chunk):
        kk = k[s:s + chunk]
        h = model.hamiltonian(kk)
        check_hermitian(h, kk)
        out[s:s + chunk] = (np.linalg.eigvalsh(h) @ onehot) / onehot.sum(0)
    return out


def fractional_grid(n: int, dim: int, offset: float = 0.0) -> np.ndarray:
    u = (np.arange(n) + offset) / n
    return np.stack(np.meshgrid(*([u] * dim), indexing="ij"), -1).reshape(-1, dim)


def project_to_shell(model: Model, k: np.ndarray, band: np.ndarray, energy: float,
                     max_iter: int = 30) -> np.ndarray:
    """Newton steps along the band velocity onto eps_band(k) = energy, (P, d) 1/nm."""
    k = np.array(k, float)
    if len(k) == 0:
        return k
    idx = np.arange(len(k))
    tol = 1e-13 * (1.0 + abs(energy))
    for _ in range(max_iter):
        b = Bands(model, k, check=False)
        de = b.energies[idx, band] - energy
        v = b.band_velocity[idx, band]
        v2 = np.sum(v * v, -1)
        if np.any(v2 <= 1e-24):
            bad = int(np.argmin(v2))
            raise ShellSamplingError(
                f"the shell at E = {energy} eV has a point of zero band velocity near "
                f"k = {k[bad].tolist()} (1/nm), band {int(band[bad])} (a van Hove or band "
                "extremum at the Fermi level); move the energy slightly"
            )
        if np.all(np.abs(de) <= tol):
            return k
        k = k - (de / v2)[:, None] * v
    raise ShellSamplingError(
        f"projection onto the shell at E = {energy} eV did not converge (max |eps - E| = "
        f"{np.abs(de).max():.3g} eV); increase bz_grid"
    )


# --------------------------------------------------------------------------------------
# 2D: Fermi loops
# --------------------------------------------------------------------------------------


@dataclass
class FermiLoop:
    """One closed Fermi line of band ``band`` at energy E (2D).

    k : (M, 2) points on the shell (1/nm): in loop order, uniformly spaced in arc length;
        with a wall (``grazing_axis``) and grazing points on the loop, the graded nodes piece
        by piece, in the Wigner-Seitz cell (docs/theory.md §8)
    weight : (M,) weights of int_k delta(eps_n - E) (eV^-1 nm^-2)
    winding : (2,) integer winding numbers around the torus (0, 0 for a pocket)
    length : loop length (1/nm)
    """

    band: int
    k: np.ndarray
    weight: np.ndarray
    winding: np.ndarray
    length: float


def _join_lines(lines: list[np.ndarray], tol: float = 1e-7) -> list[tuple[np.ndarray, np.ndarray]]:
    """Join contour pieces in the unit square into loops on the torus.

    Returns (points (K, 2) unwrapped fractional coordinates without repeated end point,
    winding (2,) integers with last-point continuation = first point + winding)."""
    loops, open_lines = [], []
    for line in lines:
        if len(line) < 2:
            continue
        if np.allclose(line[0], line[-1], atol=tol):
            if len(line) > 3:
                loops.append((line[:-1].copy(), np.zeros(2, int)))
        else:
            open_lines.append(line)
    used = np.zeros(len(open_lines), bool)

    def image(p):
        return np.mod(p + 0.5 * tol, 1.0) - 0.5 * tol

    def close(p, q):
        d = np.abs(image(p) - image(q))
        return np.all(np.minimum(d, 1 - d) < tol)

    for i0 in range(len(open_lines)):
        if used[i0]:
            continue
        used[i0] = True
        chain = [open_lines[i0]]
        start = open_lines[i0][0]
        for _ in range(len(open_lines) + 1):
            end = chain[-1][-1]
            if close(end, start):
                winding = np.rint(end - start).astype(int)
                pts = np.concatenate([chain[0]] + [c[1:] for c in chain[1:]])[:-1]
                loops.append((pts, winding))
                break
            found = None
            for j in np.nonzero(~used)[0]:
                line = open_lines[j]
                if close(end, line[0]):
                    found = line
                elif close(end, line[-1]):
                    found = line[::-1]
                if found is not None:
                    used[j] = True
                    break
            if found is None:
                raise ShellSamplingError(
                    "a Fermi line leaving the Brillouin zone could not be continued through the "
                    "periodic boundary (the energy is at a saddle point, or bz_grid is too coarse)"
                )
            chain.append(found + np.rint(end - found[0]))
    return loops


def _loop_lengths(pts: np.ndarray, wcart: np.ndarray) -> tuple[np.ndarray, float]:
    seg = np.diff(np.concatenate([pts, pts[:1] + wcart]), axis=0)
    lengths = np.linalg.norm(seg, axis=1)
    return np.concatenate([[0.0], np.cumsum(lengths)]), float(lengths.sum())


def _resample(model, band, energy, pts, wcart, m):
    """Periodic cubic spline in chord length, m points uniform in it, projected."""
    from scipy.interpolate import CubicSpline

    s, total = _loop_lengths(pts, wcart)
    # repeated points (a contour through a grid vertex), the last one possibly repeating the
    # first across the closure: the spline needs strictly increasing chord lengths
    keep = np.concatenate([[True], np.diff(s[:-1]) > 1e-14 * total])
    keep[1:] &= total - s[1:-1] > 1e-14 * total
    pts, s = pts[keep], np.concatenate([s[:-1][keep], s[-1:]])
    q = pts - np.outer(s[:-1] / total, wcart)
    q = np.concatenate([q, q[:1]])
    spline = CubicSpline(s, q, bc_type="periodic")
    t = total * np.arange(m) / m
    new = spline(t) + np.outer(t / total, wcart)
    return project_to_shell(model, new, np.full(m, band), energy)


def fermi_contours(model: Model, energy: float, numerics: Numerics | None = None,
                   grazing_axis: int | None = None) -> list[FermiLoop]:
    """Fermi lines eps_n(k) = energy (eV) of every band of a 2D lattice model.

    Loops are found with contourpy on a periodic ``bz_grid`` x ``bz_grid`` grid, joined
    through the zone boundary, projected onto the exact shell and resampled to
    max(bz_contour_points, bz_contour_points L / |b|_min) points uniform in arc length
    (the periodic trapezoid rule of docs/theory.md §8).

    grazing_axis : None (bulk: the uniform rule above, unchanged), or the Cartesian axis of
        a wall normal (strips): every loop on which v_n changes sign gets the rule graded
        towards its grazing points instead (:func:`_graded_loops`, docs/theory.md §8); the
        points of such loops are then ordered piece by piece, not along the loop, and
        shifted by reciprocal vectors into the Wigner-Seitz cell.
    """
    import contourpy

    numerics = numerics or Numerics()
    opts = bz_options(numerics, 2)
    if model.dim != 2:
        raise ValueError(f"fermi_contours needs a 2D model, got dim = {model.dim}")
    recip, _ = lattice_geometry(model)
    n = opts["grid"]
    e = band_energies(model, fractional_grid(n, 2) @ recip, opts["chunk"]).reshape(n, n, -1)
    e = np.concatenate([e, e[:1]], axis=0)
    e = np.concatenate([e, e[:, :1]], axis=1)  # periodic closure (n+1, n+1, M)
    u = np.arange(n + 1) / n
    bmin = np.min(np.linalg.norm(recip, axis=1))
    if grazing_axis is not None and not (isinstance(grazing_axis, (int, np.integer))
                                         and 0 <= grazing_axis < 2):
        raise ValueError(f"grazing_axis of a 2D lattice model must be 0 or 1, got {grazing_axis!r}")
    loops, graded = [], []
    for band in range(e.shape[-1]):
        z = e[:, :, band]
        if not z.min() < energy < z.max():
            continue
        gen = contourpy.contour_generator(x=u, y=u, z=z.T, line_type="Separate")
        for pts_u, winding in _join_lines(gen.lines(float(energy))):
            pts = pts_u @ recip
            wcart = winding @ recip
            pts = project_to_shell(model, pts, np.full(len(pts), band), energy)
            _, length = _loop_lengths(pts, wcart)
            m = max(opts["points"], int(np.ceil(opts["points"] * length / bmin)))
            pts = _resample(model, band, energy, pts, wcart, 4 * m)
            pts = _resample(model, band, energy, pts, wcart, m)
            # periodic trapezoid in theta = 2 pi j / m: dk/dtheta by FFT differentiation
            q = pts - np.outer(np.arange(m) / m, wcart)
            freq = np.fft.fftfreq(m, 1.0 / m)
            if m % 2 == 0:
                freq[m // 2] = 0.0
            dq = np.real(np.fft.ifft(1j * freq[:, None] * np.fft.fft(q, axis=0), axis=0))
            dk = dq + wcart / (2 * np.pi)
            dl = np.linalg.norm(dk, axis=1) * (2 * np.pi / m)
            b = Bands(model, pts, check=False)
            speed = np.linalg.norm(b.band_velocity[:, band], axis=1)
            loop = FermiLoop(band, pts, dl / speed / (2 * np.pi) ** 2, winding, float(np.sum(dl)))
            if grazing_axis is not None:
                pieces = _grazing_pieces(model, band, energy, q, wcart, b.band_velocity[:, band],
                                         grazing_axis, numerics.grazing_panels)
                if pieces is not None:
                    graded.append((len(loops), pieces))
            loops.append(loop)
    if graded:
        _graded_loops(model, energy, recip, loops, graded, grazing_axis)
    return loops


def _trig_interpolant(q: np.ndarray, wcart: np.ndarray):
    """k(theta) and dk/dtheta (1/nm) of a loop sampled at theta_j = 2 pi j / m: the
    trigonometric interpolant of the periodic part q plus theta wcart / 2 pi (the winding),
    the same FFT representation as the trapezoid weights of :func:`fermi_contours`."""
    m = len(q)
    coef = np.fft.fft(q, axis=0) / m
    freq = np.fft.fftfreq(m, 1.0 / m)
    nyquist = m % 2 == 0
    if nyquist:  # the Nyquist term as cos(m theta / 2): real and exact at the samples
        freq[m // 2] = 0.0

    def k_of(theta):
        theta = np.asarray(theta, float).ravel()
        phase = np.exp(1j * np.outer(theta, freq))
        c = coef.copy()
        if nyquist:
            c[m // 2] = 0.0
        k = np.real(phase @ c)
        dk = np.real((1j * freq * phase) @ c)
        if nyquist:
            k = k + np.outer(np.cos(0.5 * m * theta), np.real(coef[m // 2]))
            # d/dtheta of the Nyquist term is dropped, as in the trapezoid weights
        return k + np.outer(theta / (2 * np.pi), wcart), dk + wcart / (2 * np.pi)

    return k_of


def _grazing_pieces(model, band, energy, q, wcart, velocity, normal, panels):
    """The rule of one Fermi loop graded towards its grazing points, docs/theory.md §8.

    q, wcart : the uniform arc-length samples of the loop (periodic part, (m, 2) 1/nm) and
    its winding vector; velocity : band velocities there (m, 2), eV nm. The grazing points
    theta_g (loop parameter, rad) are the sign changes of v_n between samples, refined by
    the Illinois method on theta with every trial point projected onto the shell. The loop
    is cut at the theta_g and at the midpoints between consecutive ones; every half-piece
    carries floor(m / 4) Gauss-Legendre nodes on ``panels`` panels graded towards its
    grazing point (:func:`mesokinetics.sampling.rays._graded_circle`), so two grazing points
    cost m nodes, as many as the uniform rule. Weights dl / (|v_n| (2 pi)^2), dl = |dk/dtheta|
    dtheta from the interpolant, at the projected points (eV^-1 nm^-2).

    Returns None if v_n keeps its sign on the loop (no grazing point: the uniform rule
    stays), else a dict of the grazing points ``kg`` (G, 2) and, per segment g -> g + 1 and
    half (0: graded towards g, 1: towards g + 1), nodes ``k`` (G, 2, n, 2) and weights
    ``w`` (G, 2, n)."""
    from .rays import _graded_circle, _illinois

    m = len(q)
    vn = velocity[:, normal]
    positive = vn > 0
    i = np.nonzero(positive != np.roll(positive, -1))[0]
    if i.size == 0:
        return None
    k_of = _trig_interpolant(q, wcart)

    def on_shell(theta):
        return project_to_shell(model, k_of(theta)[0], np.full(np.size(theta), band), energy)

    def normal_velocity(theta):
        k = on_shell(theta)
        return Bands(model, k, check=False).band_velocity[np.arange(len(k)), band, normal]

    step = 2 * np.pi / m
    theta_g = _illinois(normal_velocity, i * step, (i + 1) * step, vn[i], vn[(i + 1) % m])
    theta_g = np.sort(np.mod(theta_g, 2 * np.pi))
    phi, wt = _graded_circle(theta_g, max(m // 4, 1), panels)
    k, dk = k_of(phi)
    k = project_to_shell(model, k, np.full(len(k), band), energy)
    speed = np.linalg.norm(Bands(model, k, check=False).band_velocity[:, band], axis=1)
    w = np.linalg.norm(dk, axis=1) * wt / speed / (2 * np.pi) ** 2
    n_g = len(theta_g)
    return {"kg": on_shell(theta_g), "k": k.reshape(n_g, 2, -1, 2), "w": w.reshape(n_g, 2, -1),
            "theta": theta_g, "k_of": k_of, "band": band, "per_half": max(m // 4, 1),
            "panels": panels}


def _project_along(model, k, band, energy, axis, max_iter: int = 30):
    """Newton steps along the Cartesian ``axis`` only onto eps_band(k) = energy (1/nm), the
    other components kept exactly; None if a step meets v_axis = 0 or does not converge."""
    k = np.array(k, float)
    idx = np.arange(len(k))
    tol = 1e-13 * (1.0 + abs(energy))
    for _ in range(max_iter):
        b = Bands(model, k, check=False)
        de = b.energies[idx, band] - energy
        if np.all(np.abs(de) <= tol):
            return k
        v = b.band_velocity[idx, band, axis]
        if np.any(v == 0):
            return None
        k[:, axis] -= de / v
    return None


def _paired_loop(model, energy, recip, pieces, normal):
    """The rule of one Fermi loop with exactly two grazing points A, B (v_n = 0) paired by
    the momentum along the wall k_t, which specular reflection conserves (docs/theory.md
    §6.1 and §8): the lattice form of :func:`mesokinetics.sampling.rays.
    parallel_momentum_shell`, on the loop parameter theta of the trigonometric
    interpolant instead of the ray angle.

    A and B cut the loop into the arc with v_n > 0 and the arc with v_n < 0, which span the
    same interval of k_t. The pair (theta_u, theta_l) of equal k_t is labelled by the
    parameter swept from A on both arcs together, sigma = (theta_u - A) + (A + 2 pi -
    theta_l), from 0 (both at A) to 2 pi (both at B); each half of sigma carries the
    ``per_half`` Gauss-Legendre nodes of :func:`_grazing_pieces` on panels graded towards
    its grazing end, so the loop keeps its m nodes. theta_u solves k_t(theta_u) =
    k_t(theta_u + 2 pi - sigma) on the interpolant (Illinois; the difference is monotonic
    in theta_u on a loop with two grazing points); the lower point takes the upper one's
    k_t exactly and both are projected onto the shell along n only. Weights, with
    |K'| = |dk/dtheta| |v_n| / |v| = |dk_t / dtheta| on each arc:

        w_u = |dk/dtheta|_u / |v_u| * |K'_l| / (|K'_u| + |K'_l|) * w_sigma / (2 pi)^2
        w_l = |dk/dtheta|_l / |v_l| * |K'_u| / (|K'_u| + |K'_l|) * w_sigma / (2 pi)^2

    (dtheta / dsigma on each arc), so w_u |v_n,u| = w_l |v_n,l|: the two carry opposite
    particle fluxes exactly. The pair is moved by one reciprocal vector into the
    Wigner-Seitz cell (its midpoint's), which keeps the two k_t equal.

    Returns (k (2 S, 2), w (2 S,)) with the upper nodes first, or None (more than two
    grazing points, or a projection that fails)."""
    from ..quadrature import graded_unit_rule
    from .rays import _illinois

    theta_g, k_of, band = pieces["theta"], pieces["k_of"], pieces["band"]
    if len(theta_g) != 2:
        return None
    t = 1 - normal
    a, b = float(theta_g[0]), float(theta_g[1])
    mid = project_to_shell(model, k_of(0.5 * (a + b))[0], np.array([band]), energy)
    v_mid = Bands(model, mid, check=False).band_velocity[0, band, normal]
    start, length = (a, b - a) if v_mid > 0 else (b, a + 2 * np.pi - b)

    def kt(theta):
        return k_of(theta)[0][:, t]

    ends = kt(np.array([start, start + length]))
    rising = np.sign(ends[1] - ends[0])
    if rising == 0:
        return None
    x, wx = graded_unit_rule(pieces["per_half"], pieces["panels"])
    sig = np.concatenate([np.pi * x, 2 * np.pi - np.pi * x])
    wsig = np.concatenate([np.pi * wx, np.pi * wx])

    def f(theta_u):
        return rising * (kt(theta_u) - kt(theta_u + 2 * np.pi - sig))

    lo = np.maximum(start, start + length - 2 * np.pi + sig)
    hi = np.minimum(start + length, start + sig)
    theta_u = _illinois(f, lo, hi, f(lo), f(hi), xtol=1e-14)
    ku, dku = k_of(theta_u)
    kl, dkl = k_of(theta_u + 2 * np.pi - sig)
    kl[:, t] = ku[:, t]
    k = _project_along(model, np.concatenate([ku, kl]), np.full(2 * len(sig), band), energy,
                       normal)
    if k is None:
        return None
    s = len(sig)
    centre = 0.5 * (k[:s] + k[s:])
    k = k + np.tile(_wigner_seitz(centre, recip) - centre, (2, 1))
    # the velocities at the shifted points, as the shell will compute them: v_n is small
    # next to the grazing points, and the fluxes must balance to rounding there too
    v = Bands(model, k, check=False).band_velocity[:, band]
    if not (np.all(v[:s, normal] > 0) and np.all(v[s:, normal] < 0)):
        return None
    measure = np.linalg.norm(np.concatenate([dku, dkl]), axis=1) / np.linalg.norm(v, axis=1)
    slope = measure * np.abs(v[:, normal])
    ratio = slope[:s] / slope[s:]
    w = np.concatenate([measure[:s] / (1 + ratio), measure[s:] * ratio / (1 + ratio)])
    w *= np.tile(wsig, 2) / (2 * np.pi) ** 2
    return k, w


def _wigner_seitz(k: np.ndarray, recip: np.ndarray) -> np.ndarray:
    """k (..., 2) shifted by reciprocal vectors to the image nearest to Gamma (1/nm): the
    Wigner-Seitz cell has every point symmetry of the lattice, so the images of mirror
    partners are mirror partners (the wall map R(p) compares k itself, not k mod G)."""
    u = np.rint(k @ np.linalg.inv(recip))
    offsets = np.array(list(product((-1, 0, 1), repeat=2)), float)
    cand = k[..., None, :] - (u[..., None, :] + offsets) @ recip  # (..., 9, 2)
    best = np.argmin(np.sum(cand * cand, -1), axis=-1)
    return np.take_along_axis(cand, best[..., None, None], -2)[..., 0, :]


def _graded_loops(model, energy, recip, loops, graded, normal):
    """Install the graded rules of :func:`_grazing_pieces` in ``loops`` (in place), made
    exactly mirror symmetric about the wall when the shell is.

    A segment between grazing points g -> g' is the mirror image of the segment (same band)
    whose grazing points are the mirror images (k_n -> -k_n, modulo reciprocal vectors, to
    1e-8 |b|_min) of g and g'. If every segment has such a partner and the mirrored nodes lie
    on the shell (|eps_n - E| <= 1e-10 (1 + |E|) eV: the model has the mirror symmetry), the
    partner's nodes are replaced by the mirror images of the segment's own nodes, weights
    kept, so every node has an exact specular partner (the continuum rule snaps and
    symmetrizes its grazing angles for the same reason, docs/theory.md §6 and §8). A
    segment that is its own mirror image (grazing points swapped) keeps its first half and
    mirrors it onto the second. Without the mirror, every graded loop is paired by k_t
    instead (:func:`_paired_loop`) if each allows it; otherwise the unpaired rule stays."""
    segs = []  # (loop position, segment, band, k start, k end)
    for pos, (_, pieces) in enumerate(graded):
        kg = _wigner_seitz(pieces["kg"], recip)
        band = loops[graded[pos][0]].band
        for g in range(len(kg)):
            segs.append((pos, g, band, kg[g], kg[(g + 1) % len(kg)]))
    tol = 1e-8 * np.min(np.linalg.norm(recip, axis=1))

    def mirror(k):
        out = np.array(k, float)
        out[..., normal] *= -1
        return out

    def same(a, b):
        return np.linalg.norm(_wigner_seitz(a - b, recip)) <= tol

    partner = []
    for pos, g, band, ks, ke in segs:
        found = None
        for j, (_, _, band2, ks2, ke2) in enumerate(segs):
            if band2 != band:
                continue
            if same(mirror(ks), ks2) and same(mirror(ke), ke2):
                found = (j, False)
            elif same(mirror(ks), ke2) and same(mirror(ke), ks2):
                found = (j, True)
            if found:
                break
        partner.append(found)
    nodes = [{"k": _wigner_seitz(p["k"], recip), "w": p["w"].copy()} for _, p in graded]
    mirrored = False
    if all(p is not None for p in partner):
        new = [{"k": n["k"].copy(), "w": n["w"].copy()} for n in nodes]
        done = np.zeros(len(segs), bool)
        for s, (j, reverse) in enumerate(partner):
            if done[s]:
                continue
            pos, g = segs[s][:2]
            pos2, g2 = segs[j][:2]
            src_k, src_w = nodes[pos]["k"][g], nodes[pos]["w"][g]  # (2, n, 2), (2, n)
            if j == s:
                if reverse:  # its own mirror image: the second half mirrors the first
                    new[pos]["k"][g, 1] = mirror(src_k[0])
                    new[pos]["w"][g, 1] = src_w[0]
                done[s] = True
                continue
            order = [1, 0] if reverse else [0, 1]
            new[pos2]["k"][g2] = mirror(src_k[order])
            new[pos2]["w"][g2] = src_w[order]
            done[s] = done[j] = True
        k_all = np.concatenate([n["k"].reshape(-1, 2) for n in new])
        b_all = np.concatenate([np.full(n["w"].size, loops[graded[pos][0]].band)
                                for pos, n in enumerate(new)])
        e = Bands(model, k_all, check=False).energies[np.arange(len(k_all)), b_all]
        if np.all(np.abs(e - energy) <= 1e-10 * (1 + abs(energy))):
            nodes, mirrored = new, True
    if not mirrored:
        # no wall mirror: pair the nodes of each loop by k_t instead, where every graded loop
        # allows it (two grazing points); otherwise the unpaired rule stays (specular walls
        # are then refused by mesokinetics.boltzmann.walls)
        paired = [_paired_loop(model, energy, recip, p, normal) for _, p in graded]
        if all(p is not None for p in paired):
            nodes = [{"k": k, "w": w} for k, w in paired]
    for (idx, _), n in zip(graded, nodes):
        loops[idx].k = n["k"].reshape(-1, 2)
        loops[idx].weight = n["w"].ravel()


def _shell_2d(model, energy, numerics, grazing_axis=None):
    loops = fermi_contours(model, energy, numerics, grazing_axis)
    if not loops:
        return _empty_shell(model, energy)
    k = np.concatenate([lp.k for lp in loops])
    w = np.concatenate([lp.weight for lp in loops])
    band = np.concatenate([np.full(len(lp.k), lp.band) for lp in loops])
    loop = np.concatenate([np.full(len(lp.k), i) for i, lp in enumerate(loops)])
    return Shell(float(energy), k, w, band.astype(int), Bands(model, k), loop=loop)


def _empty_shell(model, energy):
    k = np.zeros((0, model.dim))
    return Shell(float(energy), k, np.zeros(0), np.zeros(0, int), Bands(model, k))


# --------------------------------------------------------------------------------------
# 1D
# --------------------------------------------------------------------------------------


def _roots_1d(model, energy, opts):
    recip, _ = lattice_geometry(model)
    n = opts["grid"]
    u = np.arange(n + 1) / n
    e = band_energies(model, u[:, None] @ recip, opts["chunk"])
    above = e > energy
    j, band = np.nonzero(above[1:] != above[:-1])
    lo, hi = u[j], u[j + 1]
    idx = np.arange(len(j))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        em = band_energies(model, mid[:, None] @ recip, opts["chunk"])[idx, band] > energy
        same = em == above[j, band]
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return 0.5 * (lo + hi), band, u, e


def _shell_1d(model, energy, numerics):
    opts = bz_options(numerics, 1)
    recip, _ = lattice_geometry(model)
    root, band, _, _ = _roots_1d(model, energy, opts)
    if len(root) == 0:
        return _empty_shell(model, energy)
    k = root[:, None] @ recip
    b = Bands(model, k)
    speed = np.abs(b.band_velocity[np.arange(len(k)), band, 0])
    return Shell(float(energy), k, 1.0 / (2 * np.pi * speed), band.astype(int), b)


def _sea_1d(model, mu, numerics):
    opts = bz_options(numerics, 1)
    recip, volume = lattice_geometry(model)
    root, _, _, _ = _roots_1d(model, mu, opts)
    edges = np.unique(np.concatenate([[0.0, 1.0], np.mod(root, 1.0)]))
    x, w = np.polynomial.legendre.leggauss(max(numerics.radial_order, 8))
    # panels: the intervals between Fermi points, each cut into pieces of at most 1/16
    nodes, weights = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        pieces = max(1, int(np.ceil((b - a) * 16)))
        cuts = np.linspace(a, b, pieces + 1)
        for c0, c1 in zip(cuts[:-1], cuts[1:]):
            nodes.append(0.5 * (c1 - c0) * (x + 1) + c0)
            weights.append(0.5 * (c1 - c0) * w)
    u = np.concatenate(nodes)
    return Sea(float(mu), u[:, None] @ recip, np.concatenate(weights) / volume)


# --------------------------------------------------------------------------------------
# 3D shell: linear tetrahedra
# --------------------------------------------------------------------------------------

_CUBE = np.array(list(product((0, 1), repeat=3)))  # corner offsets, index = 4a + 2b + c


def _kuhn_table(d: int) -> np.ndarray:
    """Kuhn (Freudenthal) simplices of the unit d-cube along each body diagonal.

    Returns (2^d, d!, d + 1) corner indices (corners in ``product((0, 1), repeat=d)``
    order, index sum_i bit_i 2^(d-1-i)): for the orientation o with signs
    s = (-1, 1)[bits of o], the d! monotone paths from the corner c = (s < 0) to the
    opposite one, c -> c + s_p0 e_p0 -> c + s_p0 e_p0 + s_p1 e_p1 -> ... for every
    permutation p. Vertex j of the path for (s, p) is mapped by a signed permutation g of
    the axes to vertex j of the path for (g s, g p), so a triangulation that orients each
    cell by the signs of its centre (:func:`_orientations`) is mapped onto itself, vertex
    order included, by every signed permutation of the axes."""
    powers = 2 ** np.arange(d - 1, -1, -1)
    table = np.zeros((2**d, int(np.prod(np.arange(1, d + 1))), d + 1), int)
    for o, signs in enumerate(product((-1, 1), repeat=d)):
        signs = np.array(signs)
        start = (signs < 0).astype(int)
        for j, perm in enumerate(permutations(range(d))):
            v = start.copy()
            path = [int(v @ powers)]
            for axis in perm:
                v[axis] += signs[axis]
                path.append(int(v @ powers))
            table[o, j] = path
    return table


_KUHN = {2: _kuhn_table(2), 3: _kuhn_table(3)}
_TETS = _KUHN[3][-1]  # the orientation (+, +, +): the 6 tetrahedra around the 000-111 diagonal

#: fractional distance below which a cell centre counts as lying on a mirror plane u_i = 0
#: or 1/2 (cell centres sit on multiples of 1/(2^(refine + 1) bz_grid), far coarser)
_MIRROR_TOL = 1e-9


def _orientations(centers: np.ndarray, size: float | None = None):
    """Mirror-symmetric orientation of the simplices of cells centred at ``centers``
    (C, d) in fractional coordinates, of side ``size``.

    The Kuhn diagonal of a cell points away from the nearest mirror plane u_i = 0 (mod 1)
    along each axis: s_i = sign(w_i), w_i = u_i - round(u_i) in [-1/2, 1/2]. The mirror
    u_i -> -u_i (and every signed permutation of the axes, the point group of square,
    cubic, tetragonal and orthorhombic lattices in fractional coordinates) maps a cell with
    signs s onto the cell with the mirrored signs, so the triangulation of the grid has the
    lattice's symmetry. A cell centred on a mirror plane (w_i = 0 or +-1/2: only for odd
    ``bz_grid``) is its own image: it is triangulated along both orientations of that axis
    with half the weight each.

    In 2D with ``size`` = 1/m, m even, the diagonals alternate instead in a checkerboard,
    "/" on cells with i + j even (i, j the cell indices): the mirror i -> m - 1 - i flips
    the parity and maps "/" to "\\", the swap keeps both, so this is symmetric too, and,
    like the former fixed diagonal, it mixes diagonals radial and tangential to a Fermi
    line about Gamma, whose errors partly cancel (the lattice Rashba spin Hall
    cancellation of tests/test_lattice.py leaves 8 pi j = 1.5e-6 with the radial diagonals
    alone, 4.4e-7 with the fixed one, 7.3e-7 with the checkerboard).

    Returns (cell index (K,), orientation index (K,) into :func:`_kuhn_table`, weight
    factor (K,))."""
    c, d = centers.shape
    w = centers - np.round(centers)
    ambiguous = (np.abs(w) < _MIRROR_TOL) | (np.abs(np.abs(w) - 0.5) < _MIRROR_TOL)
    bits = (w > 0).astype(int)  # sign -1 -> bit 0, +1 -> bit 1 (product((-1, 1)) order)
    index = np.arange(c)
    factor = np.ones(c)
    for axis in range(d):
        amb = np.nonzero(ambiguous[index, axis])[0]
        if len(amb) == 0:
            continue
        bits[amb, axis] = 0
        flipped = bits[amb].copy()
        flipped[:, axis] = 1
        index = np.concatenate([index, index[amb]])
        bits = np.concatenate([bits, flipped])
        factor[amb] *= 0.5
        factor = np.concatenate([factor, factor[amb]])
    if d == 2 and size is not None:
        m = 1.0 / size
        if abs(m - np.rint(m)) < 1e-6 and int(np.rint(m)) % 2 == 0:
            # checkerboard: cells with i + j odd take the tangential diagonal, oriented
            # by flipping the sign of the axis nearer its mirror plane (|w| smaller), which
            # keeps the vertex order equivariant too; cells with |w_x| = |w_y| (on the
            # diagonal mirror) take both tangential orientations with half weight
            ij = np.floor(centers[index] / size).astype(int)
            # "/" on cells with i + j even, "\\" on odd ones; "/" is radial in the
            # quadrants with sign(w_x) = sign(w_y)
            tangential = ((ij.sum(1) % 2) == 1) ^ (bits[:, 0] != bits[:, 1])
            aw = np.abs(w[index])
            tie = tangential & (np.abs(aw[:, 0] - aw[:, 1]) < _MIRROR_TOL)
            flip = np.where(aw[:, 0] > aw[:, 1], 1, 0)  # the axis to flip
            rows = np.nonzero(tangential)[0]
            bits[rows, flip[rows]] = 1 - bits[rows, flip[rows]]
            t = np.nonzero(tie)[0]
            if len(t):
                other = bits[t].copy()
                other[:, 1 - flip[t]] = 1 - other[:, 1 - flip[t]]
                other[:, flip[t]] = 1 - other[:, flip[t]]
                factor[t] *= 0.5
                index = np.concatenate([index, index[t]])
                bits = np.concatenate([bits, other])
                factor = np.concatenate([factor, factor[t]])
    powers = 2 ** np.arange(d - 1, -1, -1)
    return index, bits @ powers, factor


def _shell_3d(model, energy, numerics):
    opts = bz_options(numerics, 3)
    recip, _ = lattice_geometry(model)
    n = opts["grid"]
    e = band_energies(model, fractional_grid(n, 3) @ recip, opts["chunk"]).reshape(n, n, n, -1)
    base = np.stack(np.meshgrid(*([np.arange(n)] * 3), indexing="ij"), -1).reshape(-1, 3)
    pts, wts, bnd = [], [], []
    for band in range(e.shape[-1]):
        corner_e = np.stack([e[tuple(((base + off) % n).T) + (band,)] for off in _CUBE], 1)
        crossed = (corner_e.min(1) < energy) & (corner_e.max(1) > energy)
        cubes = np.nonzero(crossed)[0]
        for s in range(0, len(cubes), opts["chunk"]):
            c = cubes[s:s + opts["chunk"]]
            # mirror-symmetric Kuhn tetrahedra (the lattice's signed permutations map the
            # triangulation onto itself, so a symmetric band gives a symmetric shell)
            cell, orient, factor = _orientations((base[c] + 0.5) / n)
            tets = _KUHN[3][orient]  # (K, 6, 4) corner indices
            rows = np.arange(len(cell))[:, None, None]
            te = corner_e[c][cell][rows, tets]  # (K, 6, 4)
            tx = ((base[c][cell][:, None, :] + _CUBE[None]) / n)[rows, tets] @ recip  # (K, 6, 4, 3)
            p, w = _tetra_surface(te.reshape(-1, 4), tx.reshape(-1, 4, 3), energy)
            pts.append(p)
            wts.append(w * np.repeat(factor, 6))
            bnd.append(np.full(len(p), band))
    if not pts or sum(len(p) for p in pts) == 0:
        return _empty_shell(model, energy)
    k = np.concatenate(pts)
    w = np.concatenate(wts)
    band = np.concatenate(bnd).astype(int)
    keep = w > 0
    k, w, band = k[keep], w[keep], band[keep]
    k = project_to_shell(model, k, band, energy)
    return Shell(float(energy), k, w, band, Bands(model, k))


def _tetra_surface(te, tx, energy):
    """Iso-surface of linear tetrahedra: one node per tetrahedron, at the area centroid of
    its iso-surface polygon (a triangle or a quadrilateral), with the delta weight
    area / |grad eps_lin| / (2 pi)^3 (0 where the surface misses the tetrahedron).

    The polygon's area centroid integrates linear functions on it exactly, as the
    centroids of its triangles do, and it does not depend on how a quadrilateral is cut
    into triangles (a choice that follows the energy order of the vertices and so, at
    vertices of equal energy, the rounding): the node set is as symmetric as the
    triangulation. te (T, 4) eV, tx (T, 4, 3) 1/nm -> points (T, 3), weights (T,), one
    per tetrahedron (weight 0 for those the surface misses, dropped by the caller)."""
    order = np.argsort(te, axis=1)
    e = np.take_along_axis(te, order, 1)
    x = np.take_along_axis(tx, order[:, :, None], 1)
    # gradient of the linear interpolant
    mat = x[:, 1:] - x[:, :1]
    rhs = e[:, 1:] - e[:, :1]
    ok = np.abs(np.linalg.det(mat)) > 0
    grad = np.zeros((len(e), 3))
    grad[ok] = np.linalg.solve(mat[ok], rhs[ok][..., None])[..., 0]
    gnorm = np.linalg.norm(grad, axis=1)

    def cut(i, j, sel):
        t = (energy - e[sel, i]) / (e[sel, j] - e[sel, i])
        return x[sel, i] + t[:, None] * (x[sel, j] - x[sel, i])

    tris = []
    s1 = (e[:, 0] < energy) & (energy <= e[:, 1])
    tris.append((cut(0, 1, s1), cut(0, 2, s1), cut(0, 3, s1), s1))
    s2 = (e[:, 1] < energy) & (energy <= e[:, 2])
    a, b, c, d = cut(0, 2, s2), cut(0, 3, s2), cut(1, 3, s2), cut(1, 2, s2)
    tris.append((a, b, c, s2))
    tris.append((a, c, d, s2))
    s3 = (e[:, 2] < energy) & (energy < e[:, 3])
    tris.append((cut(0, 3, s3), cut(1, 3, s3), cut(2, 3, s3), s3))
    area = np.zeros(len(e))
    moment = np.zeros((len(e), 3))
    for p0, p1, p2, sel in tris:
        tri = 0.5 * np.linalg.norm(np.cross(p1 - p0, p2 - p0), axis=1)
        area[sel] += tri
        moment[sel] += tri[:, None] * (p0 + p1 + p2) / 3
    hit = (area > 0) & (gnorm > 0)
    pts = np.zeros((len(e), 3))
    pts[hit] = moment[hit] / area[hit, None]
    w = np.zeros(len(e))
    w[hit] = area[hit] / gnorm[hit] / (2 * np.pi) ** 3
    return pts, w


# --------------------------------------------------------------------------------------
# 2D / 3D Fermi sea: midpoint rule with adaptive refinement and simplex splitting
# --------------------------------------------------------------------------------------


def _flag(corner_e, center_e, mu):
    """Cells a Fermi surface may cross: mu within [min - s/2, max + s/2] of some band,
    s the spread of the corner and centre energies. (C, 2^d, M), (C, M) -> (C,)"""
    allv = np.concatenate([corner_e, center_e[:, None]], axis=1)
    lo, hi = allv.min(1), allv.max(1)
    margin = 0.5 * (hi - lo)
    return np.any((lo - margin < mu) & (mu < hi + margin), axis=1)


def _mixed(e, mu):
    occ = e < mu
    return np.any(occ, axis=1) & ~np.all(occ, axis=1)


class _EnergyCache:
    """Band energies at the points a sea builder visits, each computed once.

    Every point the builder evaluates (grid vertices, cell centres, children and their
    corners) lies on the dyadic lattice of fractional coordinates q / scale,
    scale = 2^(bz_refine + 1) bz_grid, so integer keys identify it exactly: corners shared
    by neighbouring cells and by successive refinement levels are diagonalized once, and a
    cache shared by the seas of several chemical potentials (:meth:`BrillouinZone.seas`)
    computes each point once for all of them. Points off that lattice (never produced by
    the builder) are evaluated directly."""

    def __init__(self, model, recip, opts):
        self.model, self.recip, self.chunk = model, recip, opts["chunk"]
        self.scale = opts["grid"] * 2 ** (opts["refine"] + 1)
        self.base = self.scale + 1
        self.usable = float(self.base) ** model.dim < 2.0**62
        self.index: dict[int, int] = {}
        self.values = np.zeros((0, 0))
        self.size = 0

    def _direct(self, u):
        return band_energies(self.model, u @ self.recip, self.chunk)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Energies (P, M) at fractional points u (P, d)."""
        if len(u) == 0:
            return np.zeros((0, _onehot(self.model).shape[1]))
        if not self.usable:
            return self._direct(u)
        q = u * self.scale
        qi = np.rint(q)
        if np.any(np.abs(q - qi) > 1e-6) or qi.min() < 0 or qi.max() > self.scale:
            return self._direct(u)
        codes = qi.astype(np.int64) @ (self.base ** np.arange(u.shape[1], dtype=np.int64))
        uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        rows = np.fromiter((self.index.get(c, -1) for c in uniq.tolist()), np.int64, len(uniq))
        new = np.nonzero(rows < 0)[0]
        if len(new):
            e = self._direct(u[first[new]])
            if self.values.shape[0] < self.size + len(new):
                grown = np.empty((max(2 * self.values.shape[0], self.size + len(new)),
                                  e.shape[1]))
                if self.size:
                    grown[:self.size] = self.values[:self.size]
                self.values = grown
            rows[new] = np.arange(self.size, self.size + len(new))
            self.values[self.size:self.size + len(new)] = e
            self.index.update(zip(uniq[new].tolist(), rows[new].tolist()))
            self.size += len(new)
        return self.values[rows[inverse.ravel()]]


class _SeaBuilder:
    def __init__(self, model, mu, opts, cache: _EnergyCache | None = None):
        self.model, self.mu, self.opts = model, mu, opts
        self.recip, self.volume = lattice_geometry(model)
        self.d = model.dim
        self.cache = cache if cache is not None else _EnergyCache(model, self.recip, opts)
        self.k, self.w = [], []
        x, w = np.polynomial.legendre.leggauss(opts["cell"])
        grid = np.stack(np.meshgrid(*([x / 2] * self.d), indexing="ij"), -1).reshape(-1, self.d)
        weight = np.prod(np.stack(np.meshgrid(*([w / 2] * self.d), indexing="ij"), -1), -1)
        self.cell_rule = (grid, weight.ravel())

    def energies(self, u):
        shape = u.shape[:-1]
        e = self.cache(u.reshape(-1, self.d))
        return e.reshape(shape + (e.shape[-1],))

    def keep(self, u, e, size):
        """Cells without a Fermi surface: tensor Gauss-Legendre rule, ``bz_cell_points``
        nodes per axis (O(h^4) for 2; the midpoint rule for 1), if the occupations at the
        centre are mixed."""
        sel = _mixed(e, self.mu)
        if np.any(sel):
            x, w = self.cell_rule
            nodes = (u[sel][:, None, :] + size * x[None]).reshape(-1, self.d)
            self.k.append(nodes @ self.recip)
            self.w.append(np.tile(w, sel.sum()) * size**self.d / self.volume)

    def build(self) -> Sea:
        d, n = self.d, self.opts["grid"]
        corners = np.array(list(product((0, 1), repeat=d)))
        vert_e = self.energies(fractional_grid(n, d)).reshape((n,) * d + (-1,))
        idx = np.stack(np.meshgrid(*([np.arange(n)] * d), indexing="ij"), -1).reshape(-1, d)
        flagged = []
        for s in range(0, len(idx), self.opts["chunk"]):
            ii = idx[s:s + self.opts["chunk"]]
            centers = (ii + 0.5) / n
            ce = self.energies(centers)
            co = np.stack([vert_e[tuple(((ii + off) % n).T)] for off in corners], 1)
            fl = _flag(co, ce, self.mu)
            self.keep(centers[~fl], ce[~fl], 1.0 / n)
            flagged.append(centers[fl])
        cells = np.concatenate(flagged) if flagged else np.zeros((0, d))
        h = 1.0 / n
        signs = np.array(list(product((-1, 1), repeat=d)))
        for level in range(self.opts["refine"] + 1):
            last = level == self.opts["refine"]
            nxt = []
            step = max(1, self.opts["chunk"] // (3**d + 2**d))
            for s in range(0, len(cells), step):
                c = cells[s:s + step]
                if not last:
                    # children of size h/2: centres c + s h/4, corners c + s' h/2 (s' in {0, s})
                    child = c[:, None, :] + 0.25 * h * signs[None]  # (C, 2^d, d)
                    child = child.reshape(-1, d)
                    cc = self.energies(child)
                    corner_u = child[:, None, :] + 0.25 * h * signs[None]
                    co = self.energies(corner_u)
                    fl = _flag(co, cc, self.mu)
                    self.keep(child[~fl], cc[~fl], 0.5 * h)
                    nxt.append(child[fl])
                else:
                    corner_u = c[:, None, :] + 0.5 * h * signs[None]
                    co = self.energies(corner_u)
                    self._split_simplices(corner_u, co, h)
            if last:
                break
            cells = np.concatenate(nxt) if nxt else np.zeros((0, d))
            h *= 0.5
        if not self.k:
            return Sea(float(self.mu), np.zeros((0, d)), np.zeros(0))
        return Sea(float(self.mu), np.concatenate(self.k), np.concatenate(self.w))

    def _split_simplices(self, corner_u, corner_e, size):
        """Cut crossed cells into simplices and split each along the linearized Fermi
        surface of every band that crosses it; one centroid node per piece."""
        d = self.d
        mu_side = corner_e < self.mu
        crossed = np.any(np.any(mu_side, 1) & ~np.all(mu_side, 1), axis=1)
        if np.any(~crossed):
            # flagged by the safety margin only: no linearized Fermi surface inside
            centers = corner_u[~crossed].mean(1)
            self.keep(centers, corner_e[~crossed, 0], size)
        corner_u, corner_e = corner_u[crossed], corner_e[crossed]
        if len(corner_u) == 0:
            return
        # Kuhn simplices oriented away from the nearest mirror planes, so that the pieces
        # (and hence the sea) have the symmetry of the grid (see _orientations)
        cell, orient, factor = _orientations(corner_u.mean(1), size)
        simplices = _KUHN[d][orient]  # (K, d!, d + 1)
        rows = np.arange(len(cell))[:, None, None]
        nband = corner_e.shape[-1]
        x = corner_u[cell][rows, simplices].reshape(-1, d + 1, d)
        # the weight factor rides along as a last "band" that is constant on each simplex,
        # so the linear interpolation of the splits carries it to every piece unchanged
        aug = np.concatenate([corner_e, np.ones(corner_e.shape[:2] + (1,))], axis=-1)
        aug = aug[cell] * np.concatenate([np.ones(nband), [0.0]]) + \
            np.concatenate([np.zeros(nband), [1.0]]) * factor[:, None, None]
        e = aug[rows, simplices].reshape(-1, d + 1, nband + 1)
        for band in range(nband):
            x, e = _split_band(x, e, band, self.mu)
        vol = np.abs(np.linalg.det(x[:, 1:] - x[:, :1])) / np.prod(np.arange(1, d + 1))
        # pieces where the linearized bands are all full or all empty contribute nothing
        keep = (vol > 0) & _mixed(e[:, :, :nband].mean(1), self.mu)
        centroid = x[keep].mean(1)
        self.k.append(centroid @ self.recip)
        self.w.append(vol[keep] * e[keep, 0, nband] / self.volume)


def _split_band(x, e, band, mu):
    """Split simplices (S, d+1, d) with vertex energies (S, d+1, M) along the zero set of the
    linear interpolant of band ``band`` minus mu; returns the pieces as simplices."""
    s = e[:, :, band] - mu
    below = s < 0
    nb = below.sum(1)
    dp1 = x.shape[1]
    crossed = (nb > 0) & (nb < dp1)
    if not np.any(crossed):
        return x, e
    out_x, out_e = [x[~crossed]], [e[~crossed]]
    xc, ec, sc, bc = x[crossed], e[crossed], s[crossed], below[crossed]
    ncb = bc.sum(1)
    # order the vertices: those below first
    order = np.argsort(~bc, axis=1, kind="stable")
    xc = np.take_along_axis(xc, order[:, :, None], 1)
    ec = np.take_along_axis(ec, order[:, :, None], 1)
    sc = np.take_along_axis(sc, order, 1)

    def cut(sel, i, j):
        t = sc[sel, i] / (sc[sel, i] - sc[sel, j])
        return (xc[sel, i] + t[:, None] * (xc[sel, j] - xc[sel, i]),
                ec[sel, i] + t[:, None] * (ec[sel, j] - ec[sel, i]))

    def emit(sel, verts):
        out_x.append(np.stack([v[0] for v in verts], 1))
        out_e.append(np.stack([v[1] for v in verts], 1))

    def vert(sel, i):
        return xc[sel, i], ec[sel, i]

    dp = dp1 - 1
    if dp == 2:
        # one vertex alone on its side: it is vertex 0 (1 below) or vertex 2 (2 below)
        for lone_count, lone, others in ((1, 0, (1, 2)), (2, 2, (0, 1))):
            sel = ncb == lone_count
            if not np.any(sel):
                continue
            q1, q2 = cut(sel, lone, others[0]), cut(sel, lone, others[1])
            p1, p2 = vert(sel, others[0]), vert(sel, others[1])
            emit(sel, [vert(sel, lone), q1, q2])
            emit(sel, [q1, p1, p2])
            emit(sel, [q1, p2, q2])
    else:
        for lone_count, lone, others in ((1, 0, (1, 2, 3)), (3, 3, (0, 1, 2))):
            sel = ncb == lone_count
            if not np.any(sel):
                continue
            q = [cut(sel, lone, o) for o in others]
            p = [vert(sel, o) for o in others]
            emit(sel, [vert(sel, lone), q[0], q[1], q[2]])
            # the prism p0 p1 p2 / q0 q1 q2 as three tetrahedra
            emit(sel, [q[0], q[1], q[2], p[2]])
            emit(sel, [q[0], q[1], p[1], p[2]])
            emit(sel, [q[0], p[0], p[1], p[2]])
        sel = ncb == 2
        if np.any(sel):
            # below: 0, 1; above: 2, 3. Two prisms: (0; 02, 03) x (1; 12, 13) and mirror
            a02, a03, a12, a13 = cut(sel, 0, 2), cut(sel, 0, 3), cut(sel, 1, 2), cut(sel, 1, 3)
            v0, v1, v2, v3 = (vert(sel, i) for i in range(4))
            for tri1, tri2 in (((v0, a02, a03), (v1, a12, a13)), ((v2, a02, a12), (v3, a03, a13))):
                (p0, p1, p2), (r0, r1, r2) = tri1, tri2
                emit(sel, [p0, p1, p2, r2])
                emit(sel, [p0, p1, r1, r2])
                emit(sel, [p0, r0, r1, r2])
    return np.concatenate(out_x), np.concatenate(out_e)


# --------------------------------------------------------------------------------------
# the sampler and chunked Fermi-sea responses
# --------------------------------------------------------------------------------------


class BrillouinZone:
    """Brillouin-zone sampler for lattice models (the ``Model.sampler`` hook).

    Options come from :class:`~mesokinetics.numerics.Numerics`: ``bz_grid`` (grid points per
    reciprocal vector; None: 512, 96, 24 in 1D, 2D, 3D), ``bz_refine`` (adaptive
    bisections of Fermi-sea cells crossed by a Fermi surface), ``bz_contour_points``
    (points per Fermi loop per reciprocal-vector length, 2D), ``bz_chunk`` (k points per
    diagonalization chunk). The 1D sea uses ``radial_order`` Gauss-Legendre nodes per panel.
    """

    def shell(self, model: Model, energy: float, numerics: Numerics | None = None,
              grazing_axis: int | None = None) -> Shell:
        """The Fermi shell at ``energy`` (eV). ``grazing_axis`` (a wall normal, set by the
        finite-sample solvers): in 2D each Fermi loop's rule is graded towards its grazing
        points v_n = 0 (docs/theory.md §8); 1D shells are points and 3D shells keep the
        tetrahedron rule (no grazing refinement yet)."""
        numerics = numerics or Numerics()
        _check_energy(energy)
        if model.dim == 1:
            return _shell_1d(model, energy, numerics)
        if model.dim == 2:
            return _shell_2d(model, energy, numerics, grazing_axis)
        return _shell_3d(model, energy, numerics)

    def sea_key(self, model: Model, numerics: Numerics | None = None) -> tuple | None:
        """What :meth:`sea` reads of the numerics in 2D and 3D: the grid, its refinement,
        the cell rule and the chunk (not ``bz_contour_points``, which only the 2D shell
        reads), so two numerics with equal keys build the same sea at one energy, bit
        for bit; None in 1D (its sea reads ``radial_order``). The key of the Fermi-sea
        cache of an adaptive solve (:class:`~mesokinetics.response.uniform.LevelCache`)."""
        if model.dim == 1:
            return None
        opts = bz_options(numerics or Numerics(), model.dim)
        return ("bz", opts["grid"], opts["refine"], opts["cell"], opts["chunk"])

    def sea(self, model: Model, energy: float, numerics: Numerics | None = None) -> Sea:
        numerics = numerics or Numerics()
        _check_energy(energy)
        if model.dim == 1:
            return _sea_1d(model, energy, numerics)
        opts = bz_options(numerics, model.dim)
        return _SeaBuilder(model, float(energy), opts).build()

    def seas(self, model: Model, energies, numerics: Numerics | None = None) -> list[Sea]:
        """The Fermi-sea rules of :meth:`sea` at several chemical potentials (eV), node for
        node the same, built with one energy cache: the grid vertices, cell centres and
        refinement corners they share are diagonalized once (docs/theory.md §8)."""
        numerics = numerics or Numerics()
        energies = [float(e) for e in energies]
        for e in energies:
            _check_energy(e)
        if model.dim == 1:
            return [_sea_1d(model, e, numerics) for e in energies]
        opts = bz_options(numerics, model.dim)
        cache = _EnergyCache(model, lattice_geometry(model)[0], opts)
        return [_SeaBuilder(model, e, opts, cache).build() for e in energies]


def _check_energy(energy):
    if not np.isfinite(energy):
        raise ValueError(f"energy must be a finite number (eV), got {energy!r}")
