"""Energy shells (Fermi surfaces) and Fermi-sea quadratures of continuum models: rays
from k = 0 (docs/theory.md §8).

Every momentum integral is int_k = int d^dk / (2 pi)^d, written in polar (2D) or
spherical (3D) coordinates about k = 0 along a fixed set of rays:

* shell:  int_k delta(eps_n(k) - E) F(k) = sum_rays dOmega sum_roots k^(d-1) F / |dEps/dk_r|
  at the roots of eps_n(k_r khat) = E on each ray (exact for any number of roots);
* sea:    radial Gauss-Legendre panels on the intervals between consecutive roots, so
  occupation steps are never inside a panel (exact handling of the shell edges).

The angular rule is the periodic trapezoid in 2D (spectrally accurate for smooth shells)
and Gauss-Legendre in cos(theta) x trapezoid in phi in 3D; a finite sample grades it
towards grazing incidence on its walls (``grazing_axis``). The ray construction needs
each shell to be crossed the same number of times by every ray (star-shaped about the
origin, or an annulus); otherwise a ray is tangent to the shell somewhere and the rule
loses its accuracy, so :class:`ShellSamplingError` is raised. Lattice models use the
Brillouin-zone samplers of :mod:`mesokinetics.sampling.brillouin` instead.

Units: k in 1/nm, energies in eV, shell weights in eV^-1 nm^-d, sea weights in nm^-d.
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from ..bands import Bands, band_groups, check_hermitian, eigenvalues
from ..models.base import Model
from ..numerics import Numerics
from ..quadrature import gauss_legendre_panels, graded_unit_rule
from .shell import Sea, Shell, ShellSamplingError


# --------------------------------------------------------------------------------------
# Memo of the pure ray computations (one model, one solve or one level of it)
# --------------------------------------------------------------------------------------

#: Bytes of arrays a :class:`RayMemo` keeps before it drops its least recently used
#: entries. The whole adaptive solve of the 3D Fuchs-Sondheimer film of bench_tol.py
#: (5 levels) needs 37 MB (4.7e6 distinct ray x radius points, one band), the 100 K Edelstein
#: solve 2 MB (its 24 energy nodes share 2-4 root grids).
RAY_MEMO_BYTES = 64 << 20


class RayMemo:
    """Results of the ray computations of one model that are pure functions of their
    arguments, kept for the calls that repeat them with bit-identical arguments:

    - the band energies on a grid of rays x radii (:func:`_energies_on_rays`), keyed by
      the bytes of the rays and the radii. The scan grid of :func:`_scan_radius` does not
      depend on the energy, and the root grid (scan_points radii up to k_scan) only
      through k_scan, which takes 2-4 values over the 24 energy nodes of a 100 K thermal
      window (the scan grid steps by sqrt(2); 2D Rashba, mu = 0.05 eV, uncut and cut
      windows): the nodes of a window, and the levels of a check that keep the rays,
      share them;
    - the crossings of an energy by the rays (:func:`find_ray_roots`), keyed by the bytes
      of the rays, of the energy and ``scan_points`` (the only field of the numerics it
      reads): repeated by levels of a check whose rays are unchanged (the radial_order
      and cells levels, the Fermi-sea rule of a strip, which ignores ``angles``).

    Both keys are the complete inputs of their (deterministic) functions given the model,
    so a hit returns the numbers a second evaluation would give, bit for bit. The arrays
    returned are made read-only (a caller that wrote into a shared result would raise).
    A memo belongs to one model (``model``) and is used only for it, and only where it is
    active (:func:`ray_memo`); its entries live as long as it does, at most
    ``max_bytes`` of arrays (least recently used dropped first)."""

    def __init__(self, model: Model, max_bytes: int = RAY_MEMO_BYTES) -> None:
        self.model = model
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict = OrderedDict()  # key -> (value, bytes)
        self.bytes = 0
        #: counts of the calls answered from the memo and of those computed (all kinds),
        #: and per kind ("energies", "roots"): [hits, misses]
        self.hits = 0
        self.misses = 0
        self.stats = {"energies": [0, 0], "roots": [0, 0]}

    def _get(self, key, compute, size):
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            self.stats[key[0]][0] += 1
            return self._entries[key][0]
        self.misses += 1
        self.stats[key[0]][1] += 1
        value = compute()
        nbytes = size(value) + sum(len(k) for k in key if isinstance(k, bytes))
        if nbytes <= self.max_bytes:
            self._entries[key] = (value, nbytes)
            self.bytes += nbytes
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
        return value

    def energies(self, dirs: np.ndarray, radii: np.ndarray, compute) -> np.ndarray:
        """``compute()`` = band energies (R, K, M) on the rays ``dirs`` x ``radii``."""
        key = ("energies", dirs.shape, dirs.dtype.str, np.ascontiguousarray(dirs).tobytes(),
               radii.shape, radii.dtype.str, np.ascontiguousarray(radii).tobytes())
        return self._get(key, lambda: _frozen(compute()), lambda e: e.nbytes)

    def roots(self, dirs: np.ndarray, energy: float, scan_points: int, compute) -> "RayRoots":
        """``compute()`` = the crossings of ``energy`` (eV) by the rays ``dirs``."""
        key = ("roots", dirs.shape, dirs.dtype.str, np.ascontiguousarray(dirs).tobytes(),
               np.float64(energy).tobytes(), int(scan_points))

        def frozen():
            r = compute()
            return RayRoots(_frozen(r.ray), _frozen(r.band), _frozen(r.radius), r.k_scan)

        return self._get(key, frozen, lambda r: r.ray.nbytes + r.band.nbytes + r.radius.nbytes)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


_ACTIVE_MEMO: contextvars.ContextVar = contextvars.ContextVar("mesokinetics_ray_memo",
                                                              default=None)


@contextmanager
def ray_memo(memo: RayMemo | None):
    """Make ``memo`` the active :class:`RayMemo` inside the block (None: none active);
    the previous one is restored after it. Context-local (threads and tasks each have
    their own), so nothing outside the block sees it."""
    token = _ACTIVE_MEMO.set(memo)
    try:
        yield memo
    finally:
        _ACTIVE_MEMO.reset(token)


def _memo_for(model: Model) -> RayMemo | None:
    """The active memo if it belongs to ``model`` (the object itself), else None."""
    memo = _ACTIVE_MEMO.get()
    return memo if memo is not None and memo.model is model else None


#: Grazing angles closer than this (rad) to 0 or pi are taken as exactly there, so the rule
#: of a shell that is mirror symmetric about the wall is exactly mirror symmetric too.
SNAP = 1e-9


def _graded_circle(b: np.ndarray, per_piece: int, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Angles and weights (rad) on the circle cut at the sorted breaks ``b`` and at the
    midpoints between consecutive breaks: every half-piece carries exactly ``per_piece``
    Gauss-Legendre nodes on ``panels`` panels graded towards its break
    (:func:`~mesokinetics.quadrature.graded_unit_rule`)."""
    nxt = np.append(b[1:], b[0] + 2 * np.pi)
    t, w = graded_unit_rule(per_piece, panels)
    half = 0.5 * (nxt - b)[:, None]
    phi = np.concatenate([b[:, None] + half * t, nxt[:, None] - half * t], axis=1).ravel()
    wt = np.concatenate([half * w, half * w], axis=1).ravel()
    return phi, wt


def _rule_2d(numerics: Numerics, normal: int, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2D angular rule graded towards each break angle (rad, from the wall plane).

    The circle is cut at the breaks and at the midpoints between consecutive breaks;
    each piece carries composite Gauss-Legendre on ``grazing_panels`` panels graded
    towards its break, with about ``angles`` / 4 nodes whatever its length: the
    distribution varies on the graded scale next to every break, however close two
    breaks are (two bands of shifted shells), so every break gets the same resolution.
    With the breaks 0 and pi this is the quarter-circle rule graded towards k parallel
    to the wall (docs/theory.md §8), with 4 floor(angles / 4) rays; n breaks cost n / 2
    times that."""
    phi, wt = _graded_circle(np.sort(np.mod(breaks, 2 * np.pi)), max(numerics.angles // 4, 1),
                             numerics.grazing_panels)
    dirs = np.zeros((len(phi), 2))
    dirs[:, 1 - normal] = np.cos(phi)
    dirs[:, normal] = np.sin(phi)
    return dirs, wt


def _branch_normal_velocity(model: Model, phi: np.ndarray, band: np.ndarray, rank: np.ndarray,
                            energy: float, numerics: Numerics, normal: int) -> np.ndarray:
    """v_n . n at the ``rank``-th crossing (by radius) of ``band`` on the rays at angles
    ``phi`` (rad from the wall plane), eV nm."""
    dirs = np.zeros((len(phi), 2))
    dirs[:, 1 - normal] = np.cos(phi)
    dirs[:, normal] = np.sin(phi)
    return _crossing_normal_velocity(model, dirs, band, rank, energy, numerics, normal)


def _ranked_crossings(roots: RayRoots):
    """The crossings sorted by (ray, band, radius) as (ray, band, radius, rank), rank =
    the index of each crossing among those of its (ray, band), by radius."""
    order = np.lexsort((roots.radius, roots.band, roots.ray))
    ray, band, radius = roots.ray[order], roots.band[order], roots.radius[order]
    first = np.ones(len(ray), bool)
    first[1:] = (ray[1:] != ray[:-1]) | (band[1:] != band[:-1])
    start = np.maximum.accumulate(np.where(first, np.arange(len(ray)), 0))
    return ray, band, radius, np.arange(len(ray)) - start


def _crossing_normal_velocity(model: Model, dirs: np.ndarray, band: np.ndarray, rank: np.ndarray,
                              energy: float, numerics: Numerics, normal: int) -> np.ndarray:
    """v_n . n (eV nm) at the ``rank``-th crossing (by radius) of ``band`` on each ray
    ``dirs`` (NaN where the ray has fewer crossings)."""
    roots = find_ray_roots(model, dirs, energy, numerics)
    out = np.full(len(dirs), np.nan)
    ray, bnd, rad, rank_of = _ranked_crossings(roots)
    hit = (bnd == band[ray]) & (rank_of == rank[ray])
    if np.any(hit):
        k = rad[hit, None] * dirs[ray[hit]]
        v = Bands(model, k).band_velocity[np.arange(len(k)), bnd[hit], normal]
        out[ray[hit]] = v
    return out


def _illinois_step(a, b, fa, fb, c, fc, side):
    """One Illinois update of the brackets [a, b] with the new point c, f(c) = fc: c
    replaces the end of its sign, and the value of an end kept twice in a row is halved
    (side: +1 / -1 for the end replaced last)."""
    keep_b = np.sign(fc) == np.sign(fa)  # the root is in [c, b]: c replaces a
    a, fa = np.where(keep_b, c, a), np.where(keep_b, fc, fa)
    b, fb = np.where(keep_b, b, c), np.where(keep_b, fb, fc)
    fb = np.where(keep_b & (side == 1), 0.5 * fb, fb)
    fa = np.where(~keep_b & (side == -1), 0.5 * fa, fa)
    return a, b, fa, fb, np.where(keep_b, 1, -1)


def _illinois(f, a, b, fa, fb, xtol: float = 1e-12, max_iter: int = 100) -> np.ndarray:
    """Roots of ``f`` in the brackets [a, b] (arrays, f(a) f(b) <= 0) by the Illinois
    method: regula falsi, halving the retained end's value when an end is kept twice.
    Stops when every bracket is below ``xtol`` or every estimate moved by less than
    ``xtol`` (regula falsi need not shrink a bracket from both sides, and waiting for
    that cost 36 evaluations of the shell per rim search, each a full root search)."""
    a, b, fa, fb = (np.array(x, float) for x in (a, b, fa, fb))
    side = np.zeros(a.size, int)
    last = np.full(a.size, np.nan)
    # a value at rounding level of f is a root: its sign is noise, and following it turned
    # a converged estimate into a bisection (35 shell evaluations at the equator of a sphere)
    ftol = 1e-13 * np.maximum(np.abs(fa), np.abs(fb))
    for _ in range(max_iter):
        if np.all(np.abs(b - a) <= xtol):
            return 0.5 * (a + b)
        denom = fb - fa
        c = np.where(denom != 0, (a * fb - b * fa) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        c = np.where((c > np.minimum(a, b)) & (c < np.maximum(a, b)), c, 0.5 * (a + b))
        if np.all(np.abs(c - last) <= xtol):
            return c
        last = c
        fc = f(c)
        a, b, fa, fb, side = _illinois_step(a, b, fa, fb, c, fc, side)
        done = np.abs(fc) <= ftol
        a, b = np.where(done, c, a), np.where(done, c, b)
    return 0.5 * (a + b)


@dataclass
class Grazing:
    """The grazing points v_n . n = 0 of the shells at one energy (2D continuum models),
    from the search of :func:`grazing_angles`.

    points : (band, crossing rank by radius, ray angles in rad from the wall plane,
        unsnapped) for every band and rank with sign changes of v_n
    k_scan : radius (1/nm) beyond which no band crosses the energy
    radii : band -> (smallest, largest) radius (1/nm) of its crossings on the search rays
    angles, profile : the search rays' angles (rad) and, for every band that crosses each
        of them once, its radius on each (1/nm): starting points of later root searches
    """

    points: list
    k_scan: float
    radii: dict
    angles: np.ndarray | None = None
    profile: dict | None = None


def _search_rays(numerics: Numerics, normal: int) -> tuple[np.ndarray, np.ndarray]:
    """The uniform rule of max(angles, 64) rays of the grazing search: angles (rad, from
    the wall plane) and directions."""
    n0 = max(numerics.angles, 64)
    phi0 = 2 * np.pi * (np.arange(n0) + 0.5) / n0
    dirs = np.zeros((n0, 2))
    dirs[:, 1 - normal] = np.cos(phi0)
    dirs[:, normal] = np.sin(phi0)
    return phi0, dirs


def _without(roots: RayRoots, ignore: frozenset) -> RayRoots:
    """``roots`` without the crossings of the bands in ``ignore``."""
    if not ignore:
        return roots
    keep = ~np.isin(roots.band, list(ignore))
    return RayRoots(roots.ray[keep], roots.band[keep], roots.radius[keep], roots.k_scan)


def _grazing_points(model: Model, energy: float, numerics: Numerics, normal: int,
                    ignore: frozenset = frozenset()) -> Grazing:
    """The grazing points of every band's shell (:class:`Grazing`): sign changes of
    v_n . n between the rays of a uniform rule of max(angles, 64) rays, for every band and
    every crossing of a ray (by radius), refined by the Illinois method on the ray angle.
    The bands in ``ignore`` are left out (sampled from their pockets' centres)."""
    phi0, dirs = _search_rays(numerics, normal)
    n0 = len(phi0)
    roots = _without(find_ray_roots(model, dirs, energy, numerics), ignore)
    if roots.band.size == 0:
        return Grazing([], roots.k_scan, {}, phi0, {})
    _check_star_shaped(roots, n0, energy)
    order = np.lexsort((roots.radius, roots.band, roots.ray))
    ray, band, radius = roots.ray[order], roots.band[order], roots.radius[order]
    k = radius[:, None] * dirs[ray]
    vn = Bands(model, k).band_velocity[np.arange(len(k)), band, normal]
    found, radii, profile = [], {}, {}
    for n in np.unique(band):
        sel = band == n
        radii[int(n)] = (float(radius[sel].min()), float(radius[sel].max()))
        per_ray = np.count_nonzero(sel) // n0
        if per_ray == 1:
            profile[int(n)] = radius[sel]
        v = vn[sel].reshape(n0, per_ray)  # rays in order, crossings by radius
        for j in range(per_ray):
            i = np.nonzero(np.sign(v[:, j]) != np.sign(np.roll(v[:, j], -1)))[0]
            if i.size == 0:
                continue
            lo, hi = phi0[i], phi0[i] + 2 * np.pi / n0
            flo, fhi = v[i, j], np.roll(v[:, j], -1)[i]
            nb, rk = np.full(len(i), n), np.full(len(i), j)
            found.append((int(n), j, _illinois(lambda c: _branch_normal_velocity(
                model, c, nb, rk, energy, numerics, normal), lo, hi, flo, fhi)))
    return Grazing(found, roots.k_scan, radii, phi0, profile)


def _snap(phi: np.ndarray) -> np.ndarray:
    """Angles mod 2 pi, those within ``SNAP`` of 0 or pi put there."""
    phi = np.mod(phi, 2 * np.pi)
    for target in (0.0, np.pi, 2 * np.pi):
        phi = np.where(np.abs(phi - target) < SNAP, target % (2 * np.pi), phi)
    return phi


def _mirror_set(phi: np.ndarray) -> bool:
    """True when the set of angles ``phi`` (rad) is its own mirror image -phi to ``SNAP``."""
    return all(np.min(np.abs(np.angle(np.exp(1j * (m - phi))))) < SNAP
               for m in np.mod(-phi, 2 * np.pi))


def _grazing_breaks(grazing: Grazing) -> np.ndarray:
    """The break angles of the 2D strip rule from the grazing points (:func:`grazing_angles`)."""
    found = [phi for _, _, phi in grazing.points]
    if not found:
        return np.array([0.0, np.pi])
    phi = np.unique(_snap(np.concatenate(found)))
    if _mirror_set(phi):
        # a shell mirror symmetric about the wall: keep the rule exactly symmetric
        half = phi[phi <= np.pi]
        phi = np.unique(np.mod(np.concatenate([half, -half]), 2 * np.pi))
    return phi


def grazing_angles(model: Model, energy: float, numerics: Numerics, normal: int) -> np.ndarray:
    """Angles (rad, from the wall plane) of the rays through the points where a band's
    shell is tangent to the wall, v_n . n = 0 (2D continuum models), docs/theory.md §8.

    Found on the shell itself: sign changes of v_n . n between the rays of a uniform
    rule, for every band and every crossing of a ray (by radius), refined by the Illinois
    method on the ray angle. On a shell mirror symmetric about the wall they are 0 and
    pi; on shifted circles (an in-plane magnetization along the wall) they are not."""
    return _grazing_breaks(_grazing_points(model, energy, numerics, normal))


def _spherical(theta: np.ndarray, phi: np.ndarray, pole: int, a: int, b: int) -> np.ndarray:
    """Unit vectors (Q, 3) at polar angle ``theta`` from axis ``pole`` and azimuth ``phi``
    from axis ``a`` towards axis ``b`` (rad)."""
    d = np.zeros(np.broadcast(theta, phi).shape + (3,))
    st = np.sin(theta)
    d[..., pole] = np.cos(theta)
    d[..., a] = st * np.cos(phi)
    d[..., b] = st * np.sin(phi)
    return d


def _azimuth_axes(normal: int) -> tuple[int, int]:
    """The two axes (a, b) about ``normal`` from which the azimuth is measured."""
    a, b = [i for i in range(3) if i != normal]
    return a, b


def _rule_3d_film(numerics: Numerics, normal: int, rims: list) -> tuple[np.ndarray, np.ndarray]:
    """3D rule graded towards the rim v . n = 0 of every band's shell, per azimuth
    (docs/theory.md §8).

    ``rims[j]``: the sorted polar angles theta (rad from the normal, in (0, pi)) of the
    rim points on column j of the ``azimuth`` trapezoid columns phi_j = 2 pi (j + 1/2) /
    azimuth. Each meridian theta in [0, pi] is cut at its rim points and at the midpoints
    between them; each half-piece carries exactly floor(polar / 2) Gauss-Legendre nodes in
    theta on ``grazing_panels`` panels graded towards its rim point. A single rim at the
    equator (isotropic or mirror-symmetric shells) gives 2 floor(polar / 2) nodes per
    column, mirror symmetric about the equator. The variable is theta (weight sin theta),
    not cos theta: a smooth integrand on the sphere is analytic in theta along a meridian,
    so the panels next to the poles stay spectrally accurate whatever the rim does."""
    nphi = numerics.azimuth
    phi0 = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
    per = max(numerics.polar // 2, 1)
    t, w = graded_unit_rule(per, numerics.grazing_panels)
    a, b = _azimuth_axes(normal)
    dirs, weights = [], []
    for j, rim in enumerate(rims):
        # half-pieces (start, end) graded towards start: [0, r_1] and [r_m, pi] whole (a
        # pole is no grazing point), the segments between rims cut at their midpoints
        mid = 0.5 * (rim[:-1] + rim[1:])
        starts = np.concatenate([rim[:1], rim[:-1], rim[1:], rim[-1:]])
        ends = np.concatenate([[0.0], mid, mid, [np.pi]])
        th = (starts[:, None] + (ends - starts)[:, None] * t[None]).ravel()
        wt = (np.abs(ends - starts)[:, None] * w[None]).ravel()
        dirs.append(_spherical(th, np.full_like(th, phi0[j]), normal, a, b))
        weights.append(wt * np.sin(th) * (2 * np.pi / nphi))
    return np.concatenate(dirs), np.concatenate(weights)


def _rule_wire(numerics: Numerics, walls: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """3D rule of a wire whose walls are normal to the cross-section axes ``walls`` = (a,
    b) (docs/theory.md §8). The wire axis w is the third axis: polar angle theta from w,
    azimuth phi in the section from a towards b.

    The grazing set of a wall normal to a is v_a = 0, the great circle phi = +-pi/2 (and
    the poles); of a wall normal to b, phi = 0, pi. The azimuth is therefore cut at
    k pi/2 and at the midpoints k pi/2 + pi/4 (the diagonals, where the free path in a
    square section has a kink), and each of the 8 half-pieces carries exactly
    floor(azimuth / 8) Gauss-Legendre nodes on ``grazing_panels`` panels graded towards its
    k pi/2 end. Theta: floor(polar / 2) Gauss-Legendre nodes on [0, pi/2] and their
    mirror images on [pi/2, pi]. The rule is mirror symmetric about both section axes
    and about the section plane. Measured on the square wire of side l (exact transport
    on the rule, tests/test_defaults_accuracy.py): 8.0e-7 relative to the free-path
    integral at polar 16 x azimuth 32 with grazing_panels = 1 (the wires' default); the
    phi trapezoid gave -4.9e-4 with theta Gauss-Legendre and -2.3e-3 with cos(theta)
    Gauss-Legendre: it puts no node boundary at the kinks of the free path in phi. With
    only floor(azimuth / 8) nodes per arc, more panels than nodes make 1-node panels: keep
    grazing_panels at 1 unless the arcs are well resolved (thin wires, d << l)."""
    a, b = walls
    w_axis = 3 - a - b
    per = max(numerics.polar // 2, 1)
    x, wx = np.polynomial.legendre.leggauss(per)
    th = np.concatenate([0.25 * np.pi * (x + 1), np.pi - 0.25 * np.pi * (x + 1)])
    wth = np.concatenate([0.25 * np.pi * wx] * 2) * np.sin(th)
    phi, wphi = _graded_circle(np.arange(4) * 0.5 * np.pi, max(numerics.azimuth // 8, 1),
                               numerics.grazing_panels)
    dirs = _spherical(th[:, None], phi[None, :], w_axis, a, b).reshape(-1, 3)
    return dirs, (wth[:, None] * wphi[None, :]).ravel()


def grazing_rims(model: Model, energy: float, numerics: Numerics, normal: int) -> list:
    """Per azimuth column about the wall normal (phi_j = 2 pi (j + 1/2) / azimuth), the
    sorted polar angles theta (rad from the normal) of the rays through the rim of every
    band's 3D shell, where v . n = 0 (docs/theory.md §8).

    Found on the shell itself, as :func:`grazing_angles` in 2D: sign changes of v_n along
    each meridian between the rays of max(polar, 32) equal steps in theta, for every band
    and every crossing of a ray (by radius), refined by the Illinois method on theta.
    Rims within ``SNAP`` of the equator are put on it, and a set of rims mirror symmetric
    about the equator (theta -> pi - theta) in every column is made exactly symmetric, so
    the rule of a mirror-symmetric shell keeps every specular partner."""
    nphi = numerics.azimuth
    phi0 = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
    n0 = max(numerics.polar, 32)
    th0 = np.pi * (np.arange(n0) + 0.5) / n0
    a, b = _azimuth_axes(normal)
    dirs = _spherical(th0[None, :], phi0[:, None], normal, a, b).reshape(-1, 3)  # column-major
    roots = find_ray_roots(model, dirs, energy, numerics)
    equator = [np.array([0.5 * np.pi])] * nphi
    if roots.band.size == 0:
        return equator
    _check_star_shaped(roots, len(dirs), energy)
    order = np.lexsort((roots.radius, roots.band, roots.ray))
    ray, band, radius = roots.ray[order], roots.band[order], roots.radius[order]
    vn = Bands(model, radius[:, None] * dirs[ray]).band_velocity[np.arange(len(ray)), band, normal]
    lo, hi, flo, fhi, col, nb, rk = [], [], [], [], [], [], []
    for n in np.unique(band):
        sel = band == n
        per_ray = np.count_nonzero(sel) // len(dirs)
        v = vn[sel].reshape(nphi, n0, per_ray)
        for j in range(per_ray):
            c, i = np.nonzero(np.sign(v[:, :-1, j]) != np.sign(v[:, 1:, j]))
            lo.append(th0[i]), hi.append(th0[i + 1]), flo.append(v[c, i, j]), fhi.append(v[c, i + 1, j])
            col.append(c), nb.append(np.full(len(c), n)), rk.append(np.full(len(c), j))
    if not lo or sum(len(x) for x in lo) == 0:
        return equator
    lo, hi, flo, fhi, col, nb, rk = (np.concatenate(x) for x in (lo, hi, flo, fhi, col, nb, rk))
    theta = _illinois(lambda th: _crossing_normal_velocity(
        model, _spherical(th, phi0[col], normal, a, b), nb, rk, energy, numerics, normal),
        lo, hi, flo, fhi)
    theta = np.where(np.abs(theta - 0.5 * np.pi) < SNAP, 0.5 * np.pi, theta)
    rims = [np.unique(theta[col == j]) for j in range(nphi)]
    rims = [r if r.size else equator[0] for r in rims]
    if all(np.all(np.min(np.abs(r[:, None] - (np.pi - r)[None, :]), axis=1) < SNAP) for r in rims):
        # mirror-symmetric shell: keep the rule exactly symmetric about the equator
        rims = [np.unique(np.concatenate([r[r <= 0.5 * np.pi], np.pi - r[r <= 0.5 * np.pi]]))
                for r in rims]
    return rims


def _check_grazing_axis(dim: int, axis) -> None:
    """``axis``: one wall normal (an axis index < dim), or in 3D the pair of section axes
    of a wire (two different axes)."""
    if isinstance(axis, tuple):
        if dim != 3 or len(axis) != 2 or len(set(axis)) != 2 or not all(
                isinstance(i, (int, np.integer)) and 0 <= i < 3 for i in axis):
            raise ValueError(f"a pair of wall normals (a wire's section axes) needs two "
                             f"different axes of a 3D model, got {axis} in {dim}D")
        return
    if not 0 <= axis < dim:
        raise ValueError(f"grazing_axis must be in 0..{dim - 1}, got {axis}")


def _graded_directions(dim: int, numerics: Numerics, normal: int,
                       breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Angular rule refined towards grazing incidence on a wall normal to axis ``normal``:
    in 2D towards the ``breaks`` (default 0 and pi: k parallel to the wall), in 3D
    towards the equator about the normal (the rim of a mirror-symmetric shell; the true
    rim of any shell needs the model: :func:`shell_rule`); ``normal`` a pair of section
    axes: the wire rule (:func:`_rule_wire`)."""
    if dim == 1:
        return ray_directions(1, Numerics())
    _check_grazing_axis(dim, normal)
    if dim == 2:
        return _rule_2d(numerics, normal, np.array([0.0, np.pi]) if breaks is None else breaks)
    if isinstance(normal, tuple):  # a wire: the walls are normal to both section axes
        return _rule_wire(numerics, normal)
    return _rule_3d_film(numerics, normal, [np.array([0.5 * np.pi])] * numerics.azimuth)


def ray_directions(dim: int, numerics: Numerics,
                   grazing_axis: int | tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (R, d) and solid-angle weights (R,) with sum = 2, 2 pi or 4 pi.

    grazing_axis : None, or the axis index of a wall normal: the rule is then graded
    towards directions perpendicular to it (``Numerics.grazing_panels``)."""
    if grazing_axis is not None:
        return _graded_directions(dim, numerics, grazing_axis)
    if dim == 1:
        return np.array([[1.0], [-1.0]]), np.ones(2)
    if dim == 2:
        n = numerics.angles
        theta = 2 * np.pi * (np.arange(n) + 0.5) / n
        return np.stack([np.cos(theta), np.sin(theta)], -1), np.full(n, 2 * np.pi / n)
    if dim == 3:
        x, wx = np.polynomial.legendre.leggauss(numerics.polar)
        nphi = numerics.azimuth
        phi = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
        st = np.sqrt(1 - x**2)
        dirs = np.stack(
            [
                (st[:, None] * np.cos(phi)[None]).ravel(),
                (st[:, None] * np.sin(phi)[None]).ravel(),
                np.repeat(x, nphi),
            ],
            -1,
        )
        return dirs, np.repeat(wx, nphi) * (2 * np.pi / nphi)
    raise ValueError(f"dim must be 1, 2 or 3, got {dim}")


def _band_onehot(model: Model) -> np.ndarray:
    groups = band_groups(model)
    return (groups[:, None] == np.arange(groups[-1] + 1)[None, :]).astype(float)


def _energies_on_rays(model: Model, dirs: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Band energies (R, K, M) at k = r khat for all rays and radii (from the active
    :class:`RayMemo` when it holds them: read-only then)."""
    memo = _memo_for(model)
    if memo is not None:
        return memo.energies(dirs, radii, lambda: _compute_energies_on_rays(model, dirs, radii))
    return _compute_energies_on_rays(model, dirs, radii)


def _compute_energies_on_rays(model: Model, dirs: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """:func:`_energies_on_rays` evaluated."""
    k = radii[None, :, None] * dirs[:, None, :]
    flat = k.reshape(-1, model.dim)
    h = model.hamiltonian(flat)
    check_hermitian(h, flat)
    onehot = _band_onehot(model)
    e = (eigenvalues(h) @ onehot) / onehot.sum(0)
    return e.reshape(k.shape[:2] + (onehot.shape[1],))


def _band_energy_at(model: Model, dirs: np.ndarray, band: np.ndarray, r: np.ndarray) -> np.ndarray:
    """eps_band(r dir) for matching arrays of directions (Q, d), bands and radii (Q,)."""
    onehot = _band_onehot(model)
    ev = eigenvalues(model.hamiltonian(r[:, None] * dirs))
    return ((ev @ onehot) / onehot.sum(0))[np.arange(len(r)), band]


def _crossing_brackets(model, dirs, energy, radii, e):
    """Radial brackets (ray, band, lo, hi) each holding one crossing of ``energy``.

    Sign changes of eps - E between grid points give most brackets. A pair of crossings
    between two grid points (a thin ring around a band extremum, such as the Rashba
    "Mexican hat" just above its bottom) shows no sign change; it is found from the
    discrete extrema of eps along the ray, refined by golden-section search, and split
    into two brackets at the true extremum.
    """
    above = e > energy  # (R, K, M)
    ray, j, band = np.nonzero(above[:, 1:] != above[:, :-1])
    lo, hi = [radii[j]], [radii[j + 1]]
    rays, bands = [ray], [band]
    d = np.diff(e, axis=1)  # (R, K-1, M)
    ext_ray, ext_j, ext_band = np.nonzero(d[:, :-1] * d[:, 1:] < 0)  # extremum near radii[j+1]
    same = (above[ext_ray, ext_j, ext_band] == above[ext_ray, ext_j + 1, ext_band]) & (
        above[ext_ray, ext_j + 1, ext_band] == above[ext_ray, ext_j + 2, ext_band])
    # a smooth extremum lies within about one grid step of variation beyond its sampled
    # value; refine only those close enough to the energy (factor 4 for safety)
    step = np.maximum(np.abs(d[ext_ray, ext_j, ext_band]), np.abs(d[ext_ray, ext_j + 1, ext_band]))
    near = np.abs(e[ext_ray, ext_j + 1, ext_band] - energy) <= 4 * step
    keep = same & near
    ext_ray, ext_j, ext_band = ext_ray[keep], ext_j[keep], ext_band[keep]
    if ext_ray.size:
        is_min = d[ext_ray, ext_j, ext_band] < 0
        a, b = radii[ext_j], radii[ext_j + 2]
        sign = np.where(is_min, 1.0, -1.0)
        f = lambda r: sign * _band_energy_at(model, dirs[ext_ray], ext_band, r)  # noqa: E731
        golden = (np.sqrt(5) - 1) / 2
        for _ in range(80):  # golden section: 0.618^80 ~ 2e-17 of the bracket
            c, dd = b - golden * (b - a), a + golden * (b - a)
            left = f(c) < f(dd)  # the minimum of f lies in [a, dd]
            a, b = np.where(left, a, c), np.where(left, dd, b)
        r_ext = 0.5 * (a + b)
        e_ext = sign * f(r_ext)
        hidden = (e_ext > energy) != above[ext_ray, ext_j + 1, ext_band]
        for side in (0, 1):
            rays.append(ext_ray[hidden])
            bands.append(ext_band[hidden])
            lo.append(np.where(side == 0, radii[ext_j], r_ext)[hidden])
            hi.append(np.where(side == 0, r_ext, radii[ext_j + 2])[hidden])
    return (np.concatenate(rays), np.concatenate(bands), np.concatenate(lo), np.concatenate(hi))


def critical_energies(model: Model, numerics: Numerics, window: tuple[float, float]) -> np.ndarray:
    """Energies (eV) in ``window`` where the T = 0 response of a continuum model may have
    a kink or a step (docs/theory.md §9): the band energies at k = 0 (band crossings such
    as the Rashba point, band bottoms of parabolic bands) and the extrema of every band
    along the rays of the standard rule (the bottom of a Rashba ring; for a warped band,
    the lowest and highest extremum energy over the rays, between which the edge is
    smeared). Found on a scan to the radius beyond which no band reaches the top of the
    window, refined by golden-section search as for thin rings (:func:`_crossing_brackets`)."""
    lo, hi = float(window[0]), float(window[1])
    dirs, _ = ray_directions(model.dim, numerics)
    found = [_energies_on_rays(model, dirs[:1], np.zeros(1))[0, 0]]
    k_scan = _scan_radius(model, dirs, hi)
    radii = np.unique(np.concatenate([np.linspace(0.0, k_scan, numerics.scan_points),
                                      k_scan / numerics.scan_points * 2.0 ** -np.arange(1, 24)]))
    e = _energies_on_rays(model, dirs, radii)  # (R, K, M)
    d = np.diff(e, axis=1)
    ray, j, band = np.nonzero(d[:, :-1] * d[:, 1:] < 0)  # a discrete extremum at radii[j + 1]
    if ray.size:
        sign = np.where(d[ray, j, band] < 0, 1.0, -1.0)  # minimise sign * eps
        a, b = radii[j], radii[j + 2]
        f = lambda r: sign * _band_energy_at(model, dirs[ray], band, r)  # noqa: E731
        golden = (np.sqrt(5) - 1) / 2
        for _ in range(80):
            c, dd = b - golden * (b - a), a + golden * (b - a)
            left = f(c) < f(dd)
            a, b = np.where(left, a, c), np.where(left, dd, b)
        ext = sign * f(0.5 * (a + b))
        for n in np.unique(band):
            for kind in (1.0, -1.0):
                sel = (band == n) & (sign == kind)
                if np.any(sel):
                    found.append([ext[sel].min(), ext[sel].max()])
    values = np.unique(np.round(np.concatenate([np.ravel(x) for x in found]), 12))
    return values[(values > lo) & (values < hi)]


def _scan_radius(model: Model, dirs: np.ndarray, energy: float) -> float:
    """A radius beyond which no band crosses ``energy`` on any ray (1/nm)."""
    radii = model.momentum_scale * 2.0 ** np.linspace(-12, 12, 49)
    e = _energies_on_rays(model, dirs, radii)
    _, _, _, hi = _crossing_brackets(model, dirs, energy, radii, e)
    if hi.size == 0:
        return float(radii[-1])
    return float(2.0 * hi.max())


@dataclass
class RayRoots:
    """Crossings of an energy shell by the rays.

    ray, band, radius : (Q,) ray index, band index and radius (1/nm) of each crossing
    k_scan : radius (1/nm) beyond which no band crosses the energy
    """

    ray: np.ndarray
    band: np.ndarray
    radius: np.ndarray
    k_scan: float


def find_ray_roots(
    model: Model, dirs: np.ndarray, energy: float, numerics: Numerics
) -> RayRoots:
    """All radii where eps_n(r khat) = energy, bracketed on a grid and refined to rounding
    (from the active :class:`RayMemo` when it holds them: read-only arrays then). Of the
    numerics only ``scan_points`` is read."""
    memo = _memo_for(model)
    if memo is not None:
        return memo.roots(dirs, energy, numerics.scan_points,
                          lambda: _find_ray_roots(model, dirs, energy, numerics))
    return _find_ray_roots(model, dirs, energy, numerics)


def _find_ray_roots(model: Model, dirs: np.ndarray, energy: float,
                    numerics: Numerics) -> RayRoots:
    """:func:`find_ray_roots` evaluated."""
    k_scan = _scan_radius(model, dirs, energy)
    fine = np.linspace(0.0, k_scan, numerics.scan_points)
    # geometric points below the first linear step resolve small pockets near k = 0
    geo = fine[1] * 2.0 ** -np.arange(1, 24)
    radii = np.unique(np.concatenate([fine, geo]))
    e = _energies_on_rays(model, dirs, radii)
    ray, band, lo, hi = _crossing_brackets(model, dirs, energy, radii, e)
    radius = _refine_roots(model, dirs[ray], band, lo, hi, energy)
    return RayRoots(ray, band, radius, k_scan)


def _refine_roots(model, dirs, band, lo, hi, energy, max_iter: int = 200):
    """Vectorized Illinois (modified regula falsi) on brackets [lo, hi]."""
    if lo.size == 0:
        return lo.copy()
    def f(r):
        return _band_energy_at(model, dirs, band, r) - energy

    a, b = lo.astype(float).copy(), hi.astype(float).copy()
    fa, fb = f(a), f(b)
    side = np.zeros(a.size, int)
    for _ in range(max_iter):
        width = np.abs(b - a)
        if np.all(width <= 4 * np.finfo(float).eps * np.maximum(np.abs(b), 1e-300)):
            break
        denom = fb - fa
        c = np.where(denom != 0, (a * fb - b * fa) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        c = np.where((c > np.minimum(a, b)) & (c < np.maximum(a, b)), c, 0.5 * (a + b))
        fc = f(c)
        same_a = np.sign(fc) == np.sign(fa)
        # replace the endpoint with the same sign; halve the other value if it repeats
        a = np.where(same_a, c, a)
        fa_new = np.where(same_a, fc, fa)
        b = np.where(same_a, b, c)
        fb_new = np.where(same_a, fb, fc)
        fb_new = np.where(same_a & (side == 1), fb_new * 0.5, fb_new)
        fa_new = np.where(~same_a & (side == -1), fa_new * 0.5, fa_new)
        side = np.where(same_a, 1, -1)
        fa, fb = fa_new, fb_new
        done = fc == 0
        if np.any(done):
            a = np.where(done, c, a)
            b = np.where(done, c, b)
    return 0.5 * (a + b)


def sample_rays(model: Model, energy: float, numerics: Numerics,
                grazing_axis: int | tuple | None = None) -> tuple[Shell, Sea]:
    """Shell and Fermi-sea quadratures at ``energy`` (eV) of a continuum model, sharing
    one root search where the two rules share their rays."""
    if model.dim == 2 and _one_axis(grazing_axis):
        shell = _strip_shell(model, energy, numerics, int(grazing_axis))
    else:
        rule = shell_rule(model, energy, numerics, grazing_axis)
        roots = find_ray_roots(model, rule[0], energy, numerics)
        shell = ray_shell(model, energy, numerics, roots, grazing_axis, rule)
    if grazing_axis is not None:
        # the grazing refinement serves the wall scattering of the shells only; the smooth
        # Fermi-sea integrand keeps the standard, spectrally accurate rule with sea_angles
        sea_rule = replace(numerics, angles=numerics.sea_angles,
                           azimuth=max(4, min(numerics.azimuth, numerics.sea_angles)))
        return shell, ray_sea(model, energy, sea_rule)
    return shell, ray_sea(model, energy, numerics, roots)


def _one_axis(axis) -> bool:
    """True for one wall normal (an axis index), False for None or a wire's pair."""
    return isinstance(axis, (int, np.integer)) and not isinstance(axis, bool)


def _strip_shell(model: Model, energy: float, numerics: Numerics, normal: int,
                 ignore: frozenset = frozenset()) -> Shell:
    """The shell of a 2D continuum model next to walls normal to axis ``normal``: the
    rule graded at the grazing points (:func:`_rule_2d`) when the shell is mirror
    symmetric about the wall, the rule paired by the momentum along the wall
    (:func:`parallel_momentum_shell`) when it is not and every band's contour has two
    grazing points, and the graded rule, unpaired, otherwise (docs/theory.md §6.1, §8).

    A band whose shell is a pocket away from k = 0 is built the same way on the model
    seen from the pocket's centre (:func:`_strip_pockets`); ``ignore``: bands left out."""
    _check_grazing_axis(2, normal)
    if not ignore:
        pockets = _strip_pockets(model, energy, numerics, normal)
        if pockets:
            return pockets
    grazing = _grazing_points(model, energy, numerics, normal, ignore)
    breaks = _grazing_breaks(grazing)
    if not _mirror_set(breaks):  # the grazing points already show the shell is asymmetric
        paired = parallel_momentum_shell(model, energy, numerics, normal, grazing)
        if paired is not None:
            return paired
    rule = _rule_2d(numerics, normal, breaks)
    roots = _without(find_ray_roots(model, rule[0], energy, numerics), ignore)
    return ray_shell(model, energy, numerics, roots, normal, rule, grazing=grazing,
                     pair=_mirror_set(breaks))


def _strip_pockets(model: Model, energy: float, numerics: Numerics,
                   normal: int) -> Shell | None:
    """The strip shell of a model with pockets away from k = 0 (None if it has none): the
    other bands from k = 0, and each pocket's band from its centre c (the mean of its
    crossings on the grazing search's rays), on the model seen from c (:class:`_CentredModel`),
    its nodes moved back by c. A translation keeps k_t equal within each pair of the k_t
    rule, and maps the mirror about c onto pairs of equal k_t and opposite v_n, which
    :func:`mesokinetics.boltzmann.walls.mirror_partners` pairs by k_t (docs/theory.md §8)."""
    _, dirs = _search_rays(numerics, normal)
    roots = find_ray_roots(model, dirs, energy, numerics)
    pockets = _pocket_bands(roots, len(dirs), energy)
    if not pockets:
        return None
    bands = frozenset(range(model.size))  # band labels are at most the number of states
    parts = [_strip_shell(model, energy, numerics, normal, frozenset(pockets))]
    origins = [np.zeros(2)]
    for n in pockets:
        centre = _pocket_centre(roots, dirs, n)
        centred = _CentredModel(model, centre)
        found = find_ray_roots(centred, dirs, energy, numerics)
        if _pocket_bands(_without(found, frozenset(bands - {n})), len(dirs), energy):
            raise ShellSamplingError(_not_star_shaped(
                n, found, len(dirs), energy, about="k = 0 or its centre"))
        parts.append(_strip_shell(centred, energy, numerics, normal, frozenset(bands - {n})))
        origins.append(centre)
    k = np.concatenate([p.k + c for p, c in zip(parts, origins)])
    return Shell(float(energy), k, np.concatenate([p.weight for p in parts]),
                 np.concatenate([p.band for p in parts]).astype(int), Bands(model, k))


def shell_rule(model: Model, energy: float, numerics: Numerics,
               grazing_axis: int | tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rays (R, d) and solid-angle weights (R,) of the shell at ``energy`` (eV): the
    standard rule, or, next to walls, a rule graded towards grazing incidence
    (docs/theory.md §8): ``grazing_axis`` one wall normal (strips, films): in 2D at the true
    tangent points of every band's shell (:func:`grazing_angles`), in 3D at the true rim
    v . n = 0 of every band's shell, per azimuth (:func:`grazing_rims`); a pair of section
    axes (a wire along the third): the wire rule (:func:`_rule_wire`)."""
    if grazing_axis is None or model.dim == 1:
        return ray_directions(model.dim, numerics, grazing_axis)
    _check_grazing_axis(model.dim, grazing_axis)
    if model.dim == 2:
        return _rule_2d(numerics, grazing_axis, grazing_angles(model, energy, numerics, grazing_axis))
    if isinstance(grazing_axis, tuple):
        return _rule_wire(numerics, grazing_axis)
    return _rule_3d_film(numerics, grazing_axis, grazing_rims(model, energy, numerics, grazing_axis))


def ray_shell(model: Model, energy: float, numerics: Numerics, roots: RayRoots | None = None,
              grazing_axis: int | tuple | None = None, rule: tuple | None = None, *,
              grazing: Grazing | None = None, pair: bool = True) -> Shell:
    """The energy shell at ``energy`` (eV) of every band of a continuum model, on rays
    from k = 0. ``roots`` (from :func:`find_ray_roots` on the same rays) avoids a second
    search; ``rule`` (from :func:`shell_rule`) a second construction of the rays.

    A 2D shell next to a wall (``grazing_axis`` one axis) that turns out not to be mirror
    symmetric about it is rebuilt paired by the momentum along the wall
    (:func:`parallel_momentum_shell`; ``grazing``: its grazing points, if known) unless
    ``pair`` is False."""
    dirs, domega = rule if rule is not None else shell_rule(model, energy, numerics, grazing_axis)
    if roots is None:
        roots = find_ray_roots(model, dirs, energy, numerics)
    pockets = _pocket_bands(roots, len(dirs), energy)
    centre = np.zeros((len(roots.band), model.dim))
    if pockets:
        if grazing_axis is not None:  # 3D films and wires: their graded rules are about
            # k = 0 (2D strips take their pockets from the centres in _strip_pockets)
            raise ShellSamplingError(_not_star_shaped(pockets[0], roots, len(dirs), energy))
        roots, centre = _with_centred_pockets(model, dirs, energy, numerics, roots, pockets)
    k = centre + roots.radius[:, None] * dirs[roots.ray]
    bands = Bands(model, k)
    n = np.arange(len(k))
    radial_speed = np.abs(np.sum(bands.band_velocity[n, roots.band] * dirs[roots.ray], axis=-1))
    if np.any(radial_speed <= 1e-12 * np.max(radial_speed, initial=1.0)):
        raise ShellSamplingError(
            f"a shell at E = {energy} eV is tangent to a ray from k = 0 (zero radial "
            "velocity); the ray sampling cannot integrate it"
        )
    d = model.dim
    weight = domega[roots.ray] * roots.radius ** (d - 1) / radial_speed / (2 * np.pi) ** d
    shell = Shell(float(energy), k, weight, roots.band.astype(int), bands)
    if pair and d == 2 and _one_axis(grazing_axis) and not _mirror_symmetric_rays(
            dirs, roots, int(grazing_axis)):
        # a strip of a shell without the wall mirror: pair the nodes by their momentum
        # along the wall instead (docs/theory.md §6.1); None (a band without exactly two
        # grazing points) keeps the graded rule, unpaired
        if grazing is None:
            grazing = _grazing_points(model, energy, numerics, int(grazing_axis))
        paired = parallel_momentum_shell(model, energy, numerics, int(grazing_axis), grazing)
        if paired is not None:
            return paired
    return shell


#: Relative distance (of the largest radius) within which the mirror image of a shell
#: point counts as a shell point, as in :func:`mesokinetics.boltzmann.walls.mirror_partners`.
MIRROR_TOL = 1e-9


def _mirror_symmetric_rays(dirs: np.ndarray, roots: RayRoots, normal: int) -> bool:
    """True when the rays ``dirs`` and the shell crossings ``roots`` on them are mirror
    symmetric about the wall (k_normal -> -k_normal): every ray has a mirror ray (to
    ``MIRROR_TOL`` rad), crossed by every band equally often at the same radii (to
    ``MIRROR_TOL`` of the largest radius)."""
    if roots.band.size == 0:
        return True
    phi = np.mod(np.arctan2(dirs[:, normal], dirs[:, 1 - normal]), 2 * np.pi)
    order = np.argsort(phi)
    target = np.mod(-phi, 2 * np.pi)
    pos = np.searchsorted(phi[order], target)
    cand = np.stack([order[(pos - 1) % len(phi)], order[pos % len(phi)]], -1)
    gap = np.abs(np.angle(np.exp(1j * (phi[cand] - target[:, None]))))
    mirror = cand[np.arange(len(phi)), np.argmin(gap, axis=1)]
    if np.max(np.min(gap, axis=1)) > MIRROR_TOL:
        return False
    ray, band, radius, rank = _ranked_crossings(roots)
    table = np.full((len(phi), int(band.max()) + 1, int(rank.max()) + 1), np.nan)
    table[ray, band, rank] = radius
    other = table[mirror]
    same_count = np.array_equal(np.isnan(table), np.isnan(other))
    return bool(same_count and np.nanmax(np.abs(table - other)) <= MIRROR_TOL * np.max(radius))


def _ray(phi: np.ndarray, normal: int) -> np.ndarray:
    """Unit vectors (Q, 2) at the angles ``phi`` (rad) from the wall plane towards the normal."""
    dirs = np.zeros((len(phi), 2))
    dirs[:, 1 - normal] = np.cos(phi)
    dirs[:, normal] = np.sin(phi)
    return dirs


def _band_radius(model: Model, energy: float, normal: int, band: np.ndarray, phi: np.ndarray,
                 guess: np.ndarray, lo: np.ndarray, hi: np.ndarray, k_scan: float) -> np.ndarray:
    """Radius (1/nm) where the ray at angle ``phi`` crosses the shell of ``band`` (which
    crosses each ray once): the secant method from ``guess`` to rounding (a few steps from
    the interpolated profile of the grazing search); where it does not settle inside
    [lo, hi], the bracketed search (:func:`_refine_roots`) in [lo, hi] if that brackets a
    crossing, else in [0, k_scan]."""
    dirs = _ray(phi, normal)
    eps = np.finfo(float).eps

    def f(r):
        return _band_energy_at(model, dirs, band, r) - energy

    r1, r2 = np.array(guess, float), np.array(guess, float) * (1 + 1e-7)
    f1, f2 = f(r1), f(r2)
    for _ in range(30):
        denom = f2 - f1
        step = np.where(denom != 0, f2 * (r2 - r1) / np.where(denom != 0, denom, 1.0), 0.0)
        r1, f1 = r2, f2
        r2 = r2 - step
        if np.all(np.abs(step) <= 2 * eps * np.abs(r2)):
            break
        f2 = f(r2)
    f2 = f(r2)
    scale_e = np.abs(_band_energy_at(model, dirs, band, r2)) + abs(energy)
    bad = ~(np.isfinite(r2) & (r2 >= lo) & (r2 <= hi) & (np.abs(f2) <= 64 * eps * scale_e))
    if np.any(bad):
        d, b = dirs[bad], band[bad]
        a0, b0 = lo[bad], hi[bad]
        ok = np.sign(_band_energy_at(model, d, b, a0) - energy) * np.sign(
            _band_energy_at(model, d, b, b0) - energy) < 0
        r2 = r2.copy()
        r2[bad] = _refine_roots(model, d, b, np.where(ok, a0, 0.0), np.where(ok, b0, float(k_scan)),
                                energy)
    return r2


def _pair_angles(model: Model, energy: float, normal: int, band: np.ndarray, sigma: np.ndarray,
                 start: np.ndarray, length: np.ndarray, rlo: np.ndarray, rhi: np.ndarray,
                 k_scan: float, scale: float, guess, max_iter: int = 200) -> tuple[np.ndarray, ...]:
    """The pairs of points with equal momentum along the wall k_t at the parameters
    ``sigma`` in [0, 2 pi] of their band's contour (:func:`parallel_momentum_shell`): ray
    angles phi_u on the branch v_n > 0, which runs from the grazing angle ``start`` (A) to
    A + ``length`` (B), and phi_l = phi_u + 2 pi - sigma on the branch v_n < 0 (B to
    A + 2 pi), with F(phi_u) = k_t(phi_u) - k_t(phi_l) = 0. F is monotonic on its bracket
    (k_t runs between its extremes at A and B on both branches), so the Illinois method
    converges; vectorized over the points, radii from ``guess(phi, rows)`` and bracketed
    by [rlo, rhi] (:func:`_band_radius`); the pairs next to a grazing point are polished
    by :func:`_polish_pairs`. Returns phi_u, r_u, phi_l, r_l; stops when every |F| is
    within 4 ulp of ``scale`` or the brackets have closed."""
    def radius(phi):
        return _band_radius(model, energy, normal, band, phi, guess(phi, slice(None)), rlo, rhi,
                            k_scan)

    def f(phi):
        return radius(phi) * np.cos(phi) - radius(phi + 2 * np.pi - sigma) * np.cos(
            phi + 2 * np.pi - sigma)

    eps = np.finfo(float).eps
    a = np.maximum(start, start + length - 2 * np.pi + sigma)
    b = np.minimum(start + length, start + sigma)
    fa, fb = f(a), f(b)
    side = np.zeros(a.size, int)
    ftol = 4 * eps * scale
    c = 0.5 * (a + b)
    for _ in range(max_iter):
        denom = fb - fa
        c = np.where(denom != 0, (a * fb - b * fa) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        c = np.where((c >= np.minimum(a, b)) & (c <= np.maximum(a, b)), c, 0.5 * (a + b))
        fc = f(c)
        done = np.abs(fc) <= ftol
        if np.all(done):
            break
        a, b, fa, fb, side = _illinois_step(a, b, fa, fb, c, fc, side)
        a, b = np.where(done, c, a), np.where(done, c, b)
        if np.all(np.abs(b - a) <= 4 * eps * np.maximum(np.abs(a), 1.0)):
            c = 0.5 * (a + b)
            break
    c = _polish_pairs(model, energy, normal, band, sigma, c, rlo, rhi, k_scan, guess)
    phi_l = c + 2 * np.pi - sigma
    return c, radius(c), phi_l, radius(phi_l)


#: Pairs closer than this (rad of sigma) to a grazing point get their k_t balance from the
#: arc between them (:func:`_polish_pairs`), and ``POLISH_NODES`` Gauss-Legendre nodes on it.
POLISH_SIGMA = 0.1
POLISH_NODES = 16


def _polish_pairs(model: Model, energy: float, normal: int, band: np.ndarray, sigma: np.ndarray,
                  phi_u: np.ndarray, rlo: np.ndarray, rhi: np.ndarray, k_scan: float, guess,
                  steps: int = 3) -> np.ndarray:
    """Newton steps on the pairs next to a grazing point (sigma or 2 pi - sigma below
    ``POLISH_SIGMA``), with F = k_t(phi_u) - k_t(phi_l) taken as the integral of
    K' = d k_t / d phi = -r v_n / (v . khat) over the short arc between the two points
    (through the grazing point), on ``POLISH_NODES`` Gauss-Legendre nodes. The difference
    of the two k_t has an error of an ulp of k_t, which near grazing (K' ~ s, the angle
    from it) puts the pair ulp / s apart and its v_n off by ulp / s^2 relative (about
    1e-3 at the first nodes of 2048 angles): without this step the wall spin of the
    diffuse strip of tests/test_grazing.py was 4e-9 off at 2048 angles (1.7e-15 with it).
    The arc integral is accurate relative to F itself."""
    near = np.minimum(sigma, 2 * np.pi - sigma) < POLISH_SIGMA
    if not np.any(near):
        return phi_u
    x, wx = np.polynomial.legendre.leggauss(POLISH_NODES)
    idx = np.nonzero(near)[0]
    sg = sigma[idx]
    # the short arc: [phi_u - sigma, phi_u] through A, or [phi_u, phi_u + 2 pi - sigma] through B
    through_a = sg <= np.pi
    length = np.where(through_a, sg, 2 * np.pi - sg)
    sign = np.where(through_a, 1.0, -1.0)
    nodes = np.repeat(idx, POLISH_NODES)

    def slope(phi, rows):
        r = _band_radius(model, energy, normal, band[rows], phi, guess(phi, rows), rlo[rows],
                         rhi[rows], k_scan)
        dirs = _ray(phi, normal)
        v = Bands(model, r[:, None] * dirs).band_velocity[np.arange(len(phi)), band[rows]]
        return -r * v[:, normal] / np.sum(v * dirs, axis=-1)

    phi = phi_u[idx].copy()
    for _ in range(steps):
        start = np.where(through_a, phi - sg, phi)
        arc = (start[:, None] + 0.5 * length[:, None] * (x + 1)).ravel()
        k_arc = slope(arc, nodes).reshape(len(idx), POLISH_NODES)
        f = sign * 0.5 * length * (k_arc @ wx)
        ends = slope(np.concatenate([phi, phi + 2 * np.pi - sg]), np.concatenate([idx, idx]))
        df = ends[:len(idx)] - ends[len(idx):]
        step = np.where(df != 0, f / np.where(df != 0, df, 1.0), 0.0)
        step = np.clip(step, -0.25 * length, 0.25 * length)  # stay on the arc
        phi = phi - step
    out = phi_u.copy()
    out[idx] = phi
    return out


def parallel_momentum_shell(model: Model, energy: float, numerics: Numerics, normal: int,
                            grazing: Grazing | None = None) -> Shell | None:
    """The strip shell of a 2D continuum model that is not mirror symmetric about the
    wall, with nodes paired by the momentum along the wall k_t, which specular reflection
    conserves (docs/theory.md §6.1, docs/slab.md "Specular walls without mirror symmetry").

    The two grazing points A, B (v_n = 0; ``grazing``, from :func:`_grazing_points`) of a
    band's contour cut it into the branch v_n > 0 (ray angles A to B) and the branch
    v_n < 0 (B to A + 2 pi), over the same interval of k_t. The pair (phi_u, phi_l) with
    equal k_t is labelled by sigma = (phi_u - A) + (A + 2 pi - phi_l), the angle swept
    from A on both branches together, from 0 (both at A) to 2 pi (both at B). Each half
    [0, pi], [pi, 2 pi] of sigma carries ``angles`` / 2 Gauss-Legendre nodes on
    ``grazing_panels`` panels graded towards its grazing end
    (:func:`~mesokinetics.quadrature.graded_unit_rule`): 2 ``angles`` points per band, as
    many as the graded rule of a shell without mirror symmetry (for a circle this is the
    mirror-symmetric rule with twice the angles: sigma = 2 phi). Weights: the shell
    measure per ray angle, r / (|v . khat| (2 pi)^2) as on rays, times d phi / d sigma on
    each branch, 1 / (1 + |K'_u / K'_l|) and 1 / (1 + |K'_l / K'_u|) with
    K' = d k_t / d phi = -r v_n / (v . khat). Then w_u |v_n,u| = w_l |v_n,l| (the k_t
    measure of the pair: the two points carry opposite particle fluxes, exactly), and each
    branch gets at least the node density of its own ray angle. (Labelling the lower
    nodes by the upper ray angle instead starved the lower branch where it is bent most:
    the density of states was 2.6e-3 off at 128 angles for Rashba + Dresselhaus, alpha =
    0.1, beta = 0.05 eV nm, mu = 0.2 eV.)

    Returns None (the graded rule stays unpaired, and specular walls are refused) when a
    band is crossed more than once by a ray (an annulus) or does not have exactly two
    grazing points (a non-convex contour): k_t then labels no unique partner."""
    t = 1 - normal
    if grazing is None:
        grazing = _grazing_points(model, energy, numerics, normal)
    graz: dict = {}
    for n, j, phi in grazing.points:
        graz.setdefault(n, []).append((j, phi))
    present = np.array(sorted(grazing.radii), int)
    if present.size == 0:
        return None
    starts, lengths = [], []
    for n in present:
        points = graz.get(int(n), [])
        if len(points) != 1 or points[0][0] != 0 or int(n) not in grazing.profile:
            return None  # crossed twice by a ray (an annulus)
        phi_g = np.unique(_snap(points[0][1]))
        if len(phi_g) != 2:  # a non-convex contour
            return None
        starts.append(phi_g[0])
        lengths.append(phi_g[1] - phi_g[0])
    starts, lengths = np.array(starts), np.array(lengths)
    mid = _branch_normal_velocity(model, starts + 0.5 * lengths, present,
                                  np.zeros(len(starts), int), energy, numerics, normal)
    if not np.all(np.isfinite(mid) & (mid != 0)):
        return None
    # the branch v_n > 0 runs from A to B: take the other arc where it is the other one
    starts = np.where(mid > 0, starts, starts + lengths)
    lengths = np.where(mid > 0, lengths, 2 * np.pi - lengths)
    x, wx = graded_unit_rule(max(numerics.angles // 2, 1), numerics.grazing_panels)
    sig = np.concatenate([np.pi * x, 2 * np.pi - np.pi * x])
    wsig = np.concatenate([np.pi * wx, np.pi * wx])
    nsig = len(sig)
    band = np.repeat(present, nsig)
    sigma, wsigma = np.tile(sig, len(present)), np.tile(wsig, len(present))
    rmin = np.repeat([grazing.radii[int(n)][0] for n in present], nsig)
    rmax = np.repeat([grazing.radii[int(n)][1] for n in present], nsig)
    scale = float(rmax.max())
    phi0 = grazing.angles
    profiles = np.stack([grazing.profile[int(n)] for n in present])  # (bands, rays)
    row = np.repeat(np.arange(len(present)), nsig)

    def guess(phi, rows):  # the radius profile of the grazing search, interpolated periodically
        x = np.mod(phi - phi0[0], 2 * np.pi) / (phi0[1] - phi0[0])
        i = np.floor(x).astype(int) % len(phi0)
        frac = x - np.floor(x)
        sel = row[rows]
        return (1 - frac) * profiles[sel, i] + frac * profiles[sel, (i + 1) % len(phi0)]

    phi_u, r_u, phi_l, r_l = _pair_angles(
        model, energy, normal, band, sigma, np.repeat(starts, nsig), np.repeat(lengths, nsig),
        0.8 * rmin, np.minimum(1.25 * rmax, grazing.k_scan), grazing.k_scan, scale, guess)
    k_u, k_l = r_u[:, None] * _ray(phi_u, normal), r_l[:, None] * _ray(phi_l, normal)
    if not np.all(np.abs(k_u[:, t] - k_l[:, t]) <= 1e-12 * scale):
        return None
    m = len(band)
    k = np.concatenate([k_u, k_l])
    band2 = np.concatenate([band, band]).astype(int)
    order = np.lexsort((band2, np.mod(np.arctan2(k[:, normal], k[:, t]), 2 * np.pi)))
    where = np.empty(2 * m, int)
    where[order] = np.arange(2 * m)  # position of each (upper, lower) point in the shell
    bands = Bands(model, k[order])
    v = bands.band_velocity[where, band2]  # (2m, 2), upper points then lower ones
    khat = np.concatenate([_ray(phi_u, normal), _ray(phi_l, normal)])
    v_r = np.abs(np.sum(v * khat, axis=-1))
    vn = v[:, normal]
    if not (np.all(vn[:m] > 0) and np.all(vn[m:] < 0)) or np.any(
            v_r <= 1e-12 * np.max(v_r, initial=1.0)):
        return None
    measure = np.concatenate([r_u, r_l]) / v_r  # shell measure per ray angle, x (2 pi)^2
    slope = measure * np.abs(vn)  # |K'| = |d k_t / d phi|
    ratio = slope[:m] / slope[m:]  # |K'_u / K'_l|
    weight = np.concatenate([measure[:m] / (1 + ratio), measure[m:] * ratio / (1 + ratio)])
    weight *= np.tile(wsigma, 2) / (2 * np.pi) ** 2
    return Shell(float(energy), k[order], weight[order], band2[order], bands)


def _touches_extremum(roots: RayRoots, band: int, rel: float = 1e-6) -> bool:
    """True when every crossing of ``band`` pairs up with another on the same ray at
    nearly the same radius: the energy is at a band extremum, not in a pocket."""
    sel = roots.band == band
    ray, radius = roots.ray[sel], roots.radius[sel]
    if radius.size == 0 or radius.size % 2:
        return False
    order = np.lexsort((radius, ray))
    ray, radius = ray[order], radius[order]
    pair_ray = ray[0::2] == ray[1::2]
    close = np.abs(radius[1::2] - radius[0::2]) <= rel * np.maximum(radius[1::2], 1e-300)
    return bool(np.all(pair_ray & close))


def _crossing_counts(roots: RayRoots, n_rays: int) -> np.ndarray:
    """(rays, bands) number of crossings of each band by each ray."""
    n_bands = int(roots.band.max()) + 1 if roots.band.size else 0
    counts = np.zeros((n_rays, n_bands), int)
    np.add.at(counts, (roots.ray, roots.band), 1)
    return counts


def _not_star_shaped(band: int, roots: RayRoots, n_rays: int, energy: float,
                     about: str = "k = 0") -> str:
    c = _crossing_counts(roots, n_rays)[:, band]
    return (f"the shell of band {band} at E = {energy} eV is not star-shaped about {about}: "
            f"rays from there cross it between {c.min()} and {c.max()} times (a pocket away "
            "from k = 0). Uniform samples and strips take a convex pocket from its centre; "
            "several pockets of one band, and pockets in 3D films and wires (whose graded "
            "rules are built about k = 0), are not sampled: use a model centred on the "
            "pocket, or a Brillouin-zone sampler.")


def _pocket_bands(roots: RayRoots, n_rays: int, energy: float) -> list[int]:
    """The bands whose shell some rays from k = 0 cross and others do not, or cross a
    different number of times (a pocket away from k = 0); raises ShellSamplingError when
    that is because ``energy`` lies at a band extremum (a ring or point of vanishing
    width)."""
    counts = _crossing_counts(roots, n_rays)
    bad = []
    for n in range(counts.shape[1]):
        c = counts[:, n]
        if c.min() != c.max() and _touches_extremum(roots, n):
            raise ShellSamplingError(
                f"E = {energy} eV lies at an extremum of band {n} (its shell is a ring or "
                "point of vanishing width there, found on some rays and not on others, and "
                "the density of states is singular): move the energy slightly off the band "
                "edge, e.g. by 1e-6 eV"
            )
        if c.min() != c.max():
            bad.append(n)
    return bad


def _check_star_shaped(roots: RayRoots, n_rays: int, energy: float) -> None:
    pockets = _pocket_bands(roots, n_rays, energy)
    if pockets:
        raise ShellSamplingError(_not_star_shaped(pockets[0], roots, n_rays, energy))


def _pocket_centre(roots: RayRoots, dirs: np.ndarray, band: int) -> np.ndarray:
    """The mean of ``band``'s crossings by the rays ``dirs`` from k = 0 (1/nm): inside its
    pocket when the pocket is convex."""
    sel = roots.band == band
    return np.mean(roots.radius[sel, None] * dirs[roots.ray[sel]], axis=0)


class _CentredModel(Model):
    """``model`` with k measured from ``centre`` (1/nm): h'(k) = h(k + centre), for rays
    from a point inside a pocket. Every attribute the samplers read is the model's own."""

    def __init__(self, model: Model, centre: np.ndarray) -> None:
        self.base, self.centre = model, np.asarray(centre, float)
        self.dim, self.size, self.basis = model.dim, model.size, model.basis
        self.spin_matrices, self.orbital_matrices = model.spin_matrices, model.orbital_matrices
        self.momentum_scale = model.momentum_scale

    def hamiltonian(self, k: np.ndarray) -> np.ndarray:
        return self.base.hamiltonian(np.asarray(k, float) + self.centre)

    def velocity(self, k: np.ndarray) -> np.ndarray:
        return self.base.velocity(np.asarray(k, float) + self.centre)


def _with_centred_pockets(model: Model, dirs: np.ndarray, energy: float, numerics: Numerics,
                          roots: RayRoots, pockets: list[int]) -> tuple[RayRoots, np.ndarray]:
    """The crossings of ``roots`` with those of every band in ``pockets`` replaced by the
    crossings of the same rays drawn from the centre of its pocket (the mean of its
    crossings from k = 0: inside a convex pocket), and the origin (Q, d) of each crossing's
    ray (0 for the other bands). The shell measure on rays from any point is the same
    d Omega r^(d-1) / |v . khat| (docs/theory.md §8), so the rule stays spectral; near a
    band minimum away from k = 0 (a Rashba ferromagnet with an in-plane magnetization,
    between the minimum and the band's energy at k = 0) this replaces a refusal. Raises
    ShellSamplingError when the pocket is not star-shaped about its centre either."""
    keep = ~np.isin(roots.band, pockets)
    ray, band, radius = [roots.ray[keep]], [roots.band[keep]], [roots.radius[keep]]
    origin = [np.zeros((int(keep.sum()), model.dim))]
    for n in pockets:
        centre = _pocket_centre(roots, dirs, n)
        found = find_ray_roots(_CentredModel(model, centre), dirs, energy, numerics)
        mine = _without(found, frozenset(range(model.size)) - {n})
        if not np.array_equal(np.bincount(mine.ray, minlength=len(dirs)),
                              np.ones(len(dirs), int)):
            raise ShellSamplingError(_not_star_shaped(n, mine, len(dirs), energy,
                                                      about="k = 0 or its centre"))
        ray.append(mine.ray)
        band.append(mine.band)
        radius.append(mine.radius)
        origin.append(np.tile(centre, (len(mine.ray), 1)))
    merged = RayRoots(np.concatenate(ray), np.concatenate(band), np.concatenate(radius),
                      roots.k_scan)
    return merged, np.concatenate(origin)


def ray_sea(model: Model, energy: float, numerics: Numerics, roots: RayRoots | None = None) -> Sea:
    """Fermi-sea quadrature at chemical potential ``energy`` (eV), T = 0.

    On each ray the radial axis is cut at every shell crossing; intervals with mixed
    occupation get Gauss-Legendre panels (graded towards k = 0 on the first interval,
    where band touchings sit), and an unbounded last interval is mapped to [0, 1) by
    k = k_last + L t / (1 - t).

    A model with one band (one degenerate group) has no interval of mixed occupation:
    its sea is empty whatever the rays, and is returned without the root search (the
    empty Sea the search would give; the shell's own search still checks its rays).
    """
    if roots is None and band_groups(model)[-1] == 0:
        return Sea(float(energy), np.zeros((0, model.dim)), np.zeros(0))
    dirs, domega = ray_directions(model.dim, numerics)
    if roots is None:
        roots = find_ray_roots(model, dirs, energy, numerics)
    n_rays = len(dirs)
    order = np.lexsort((roots.radius, roots.ray))
    ray_sorted, r_sorted = roots.ray[order], roots.radius[order]
    counts = np.bincount(ray_sorted, minlength=n_rays)
    if counts.min() != counts.max():
        # at a band extremum: refused. A pocket away from k = 0: the rays from its centre,
        # where every band's shell is star-shaped about it (spectral again); otherwise the
        # rays from k = 0, which the pocket only cuts into more intervals, each integrated
        # exactly along its ray (the angular rule then converges algebraically next to the
        # rays tangent to the pocket, which the angles check of tol measures)
        pockets = _pocket_bands(roots, n_rays, energy)
        if pockets and not isinstance(model, _CentredModel):
            centre = _pocket_centre(roots, dirs, pockets[0])
            centred = _CentredModel(model, centre)
            found = find_ray_roots(centred, dirs, energy, numerics)
            if found.band.size and np.all(np.ptp(_crossing_counts(found, n_rays), axis=0) == 0):
                sea = ray_sea(centred, energy, numerics, found)
                return Sea(sea.energy, sea.k + centre, sea.weight)
    nr = int(counts.max()) if counts.size else 0
    radii = np.full((n_rays, nr), np.inf)  # the crossings of each ray, padded with inf
    slot = np.arange(len(ray_sorted)) - np.repeat(np.cumsum(counts) - counts, counts)
    radii[ray_sorted, slot] = r_sorted
    lo = np.concatenate([np.zeros((n_rays, 1)), radii], axis=1)  # (R, nr+1)
    hi = np.concatenate([radii, np.full((n_rays, 1), np.inf)], axis=1)
    # occupation pattern of each interval, from its midpoint (or the far region)
    mid = np.where(np.isfinite(hi), 0.5 * (lo + hi), roots.k_scan)
    kmid = mid[..., None] * dirs[:, None, :]
    e_mid = Bands(model, kmid.reshape(-1, model.dim)).energies.reshape(n_rays, nr + 1, -1)
    occ = e_mid < energy
    mixed = np.any(occ, axis=-1) & ~np.all(occ, axis=-1) & np.isfinite(lo)
    ri, ii = np.nonzero(mixed)
    a, b = lo[ri, ii], hi[ri, ii]
    finite = np.isfinite(b)
    ks, ws, rays = [], [], []
    for sel, graded in ((finite & (a == 0), True), (finite & (a > 0), False)):
        if np.any(sel):
            nodes, weights = gauss_legendre_panels(
                a[sel], b[sel], numerics.radial_order, numerics.radial_panels, graded
            )
            ks.append(nodes)
            ws.append(weights)
            rays.append(np.repeat(ri[sel][:, None], nodes.shape[1], 1))
    tail = ~finite
    if np.any(tail):
        scale = np.maximum(a[tail], model.momentum_scale)
        t, wt = gauss_legendre_panels(
            np.zeros(tail.sum()), np.ones(tail.sum()), numerics.radial_order,
            numerics.radial_panels, False,
        )
        ks.append(a[tail][:, None] + scale[:, None] * t / (1 - t))
        ws.append(wt * scale[:, None] / (1 - t) ** 2)
        rays.append(np.repeat(ri[tail][:, None], t.shape[1], 1))
    if not ks:
        return Sea(float(energy), np.zeros((0, model.dim)), np.zeros(0))
    r = np.concatenate([x.ravel() for x in ks])
    w = np.concatenate([x.ravel() for x in ws])
    ray = np.concatenate([x.ravel() for x in rays])
    d = model.dim
    weight = w * r ** (d - 1) * domega[ray] / (2 * np.pi) ** d
    return Sea(float(energy), r[:, None] * dirs[ray], weight)
