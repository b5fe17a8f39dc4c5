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

from dataclasses import dataclass, replace

import numpy as np

from ..bands import Bands, band_groups, check_hermitian, eigenvalues
from ..models.base import Model
from ..numerics import Numerics
from ..quadrature import gauss_legendre_panels, graded_unit_rule
from .shell import Sea, Shell, ShellSamplingError


#: Grazing angles closer than this (rad) to 0 or pi are taken as exactly there, so the rule
#: of a shell that is mirror symmetric about the wall is exactly mirror symmetric too.
SNAP = 1e-9


def _rule_2d(numerics: Numerics, normal: int, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2D angular rule graded towards each break angle (rad, from the wall plane).

    The circle is cut at the breaks and at the midpoints between consecutive breaks;
    each piece carries composite Gauss-Legendre on ``grazing_panels`` panels graded
    towards its break, with about ``angles`` / 4 nodes whatever its length: the
    distribution varies on the graded scale next to every break, however close two
    breaks are (two bands of shifted shells), so every break gets the same resolution.
    With the breaks 0 and pi this is the quarter-circle rule graded towards k parallel
    to the wall (docs/theory.md §8); n breaks cost n / 2 times ``angles`` rays."""
    b = np.sort(np.mod(breaks, 2 * np.pi))
    nxt = np.append(b[1:], b[0] + 2 * np.pi)
    phis, weights = [], []
    for lo, hi in zip(b, nxt):
        half = 0.5 * (hi - lo)
        t, w = graded_unit_rule(max(numerics.angles // 4, 2), numerics.grazing_panels)
        phis += [lo + half * t, hi - half * t]
        weights += [half * w, half * w]
    phi, wt = np.concatenate(phis), np.concatenate(weights)
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
    roots = find_ray_roots(model, dirs, energy, numerics)
    out = np.full(len(phi), np.nan)
    for i in range(len(phi)):
        r = np.sort(roots.radius[(roots.ray == i) & (roots.band == band[i])])
        if rank[i] < len(r):
            k = r[rank[i]] * dirs[i]
            out[i] = Bands(model, k[None]).band_velocity[0, band[i], normal]
    return out


def _illinois(f, a, b, fa, fb, xtol: float = 1e-12, max_iter: int = 100) -> np.ndarray:
    """Roots of ``f`` in the brackets [a, b] (arrays, f(a) f(b) <= 0) by the Illinois
    method: regula falsi, halving the retained end's value when an end is kept twice."""
    a, b, fa, fb = (np.array(x, float) for x in (a, b, fa, fb))
    side = np.zeros(a.size, int)
    for _ in range(max_iter):
        if np.all(np.abs(b - a) <= xtol):
            break
        denom = fb - fa
        c = np.where(denom != 0, (a * fb - b * fa) / np.where(denom != 0, denom, 1.0), 0.5 * (a + b))
        c = np.where((c > np.minimum(a, b)) & (c < np.maximum(a, b)), c, 0.5 * (a + b))
        fc = f(c)
        keep_b = np.sign(fc) == np.sign(fa)  # the root is in [c, b]: c replaces a
        a, fa = np.where(keep_b, c, a), np.where(keep_b, fc, fa)
        b, fb = np.where(keep_b, b, c), np.where(keep_b, fb, fc)
        fb = np.where(keep_b & (side == 1), 0.5 * fb, fb)
        fa = np.where(~keep_b & (side == -1), 0.5 * fa, fa)
        side = np.where(keep_b, 1, -1)
        done = fc == 0
        a, b = np.where(done, c, a), np.where(done, c, b)
    return 0.5 * (a + b)


def grazing_angles(model: Model, energy: float, numerics: Numerics, normal: int) -> np.ndarray:
    """Angles (rad, from the wall plane) of the rays through the points where a band's
    shell is tangent to the wall, v_n . n = 0 (2D continuum models), docs/theory.md §8.

    Found on the shell itself: sign changes of v_n . n between the rays of a uniform
    rule, for every band and every crossing of a ray (by radius), refined by the Illinois
    method on the ray angle. On a shell mirror symmetric about the wall they are 0 and
    pi; on shifted circles (an in-plane magnetization along the wall) they are not."""
    n0 = max(numerics.angles, 64)
    phi0 = 2 * np.pi * (np.arange(n0) + 0.5) / n0
    dirs = np.zeros((n0, 2))
    dirs[:, 1 - normal] = np.cos(phi0)
    dirs[:, normal] = np.sin(phi0)
    roots = find_ray_roots(model, dirs, energy, numerics)
    if roots.band.size == 0:
        return np.array([0.0, np.pi])
    _check_star_shaped(roots, n0, energy)
    order = np.lexsort((roots.radius, roots.band, roots.ray))
    ray, band, radius = roots.ray[order], roots.band[order], roots.radius[order]
    k = radius[:, None] * dirs[ray]
    vn = Bands(model, k).band_velocity[np.arange(len(k)), band, normal]
    found = []
    for n in np.unique(band):
        sel = band == n
        per_ray = np.count_nonzero(sel) // n0
        v = vn[sel].reshape(n0, per_ray)  # rays in order, crossings by radius
        for j in range(per_ray):
            i = np.nonzero(np.sign(v[:, j]) != np.sign(np.roll(v[:, j], -1)))[0]
            if i.size == 0:
                continue
            lo, hi = phi0[i], phi0[i] + 2 * np.pi / n0
            flo, fhi = v[i, j], np.roll(v[:, j], -1)[i]
            nb, rk = np.full(len(i), n), np.full(len(i), j)
            found.append(_illinois(lambda c: _branch_normal_velocity(
                model, c, nb, rk, energy, numerics, normal), lo, hi, flo, fhi))
    if not found:
        return np.array([0.0, np.pi])
    phi = np.mod(np.concatenate(found), 2 * np.pi)
    for target in (0.0, np.pi, 2 * np.pi):
        phi = np.where(np.abs(phi - target) < SNAP, target % (2 * np.pi), phi)
    phi = np.unique(phi)
    mirror = np.mod(-phi, 2 * np.pi)
    if all(np.min(np.abs(np.angle(np.exp(1j * (m - phi))))) < SNAP for m in mirror):
        # a shell mirror symmetric about the wall: keep the rule exactly symmetric
        half = phi[phi <= np.pi]
        phi = np.unique(np.mod(np.concatenate([half, -half]), 2 * np.pi))
    return phi


def _graded_directions(dim: int, numerics: Numerics, normal: int,
                       breaks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Angular rule refined towards grazing incidence on a wall normal to axis ``normal``:
    in 2D towards the ``breaks`` (default 0 and pi: k parallel to the wall), in 3D
    towards the equator of cos(theta) about the normal."""
    if dim == 1:
        return ray_directions(1, Numerics())
    if not 0 <= normal < dim:
        raise ValueError(f"grazing_axis must be in 0..{dim - 1}, got {normal}")
    if dim == 2:
        return _rule_2d(numerics, normal, np.array([0.0, np.pi]) if breaks is None else breaks)
    # 3D: mu = cos(theta) about the normal, graded towards mu = 0 in each hemisphere
    t, w = graded_unit_rule(max(numerics.polar // 2, 2), numerics.grazing_panels)
    mu = np.concatenate([t, -t])
    wmu = np.concatenate([w, w])
    nphi = numerics.azimuth
    phi = 2 * np.pi * (np.arange(nphi) + 0.5) / nphi
    st = np.sqrt(1 - mu**2)
    a, b = [i for i in range(3) if i != normal]
    dirs = np.zeros((len(mu) * nphi, 3))
    dirs[:, a] = (st[:, None] * np.cos(phi)[None]).ravel()
    dirs[:, b] = (st[:, None] * np.sin(phi)[None]).ravel()
    dirs[:, normal] = np.repeat(mu, nphi)
    return dirs, np.repeat(wmu, nphi) * (2 * np.pi / nphi)


def ray_directions(dim: int, numerics: Numerics,
                   grazing_axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    """Band energies (R, K, M) at k = r khat for all rays and radii."""
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
    """All radii where eps_n(r khat) = energy, bracketed on a grid and refined to rounding."""
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
                grazing_axis: int | None = None) -> tuple[Shell, Sea]:
    """Shell and Fermi-sea quadratures at ``energy`` (eV) of a continuum model, sharing
    one root search where the two rules share their rays."""
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


def shell_rule(model: Model, energy: float, numerics: Numerics,
               grazing_axis: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rays (R, d) and solid-angle weights (R,) of the shell at ``energy`` (eV): the
    standard rule, or, next to a wall normal to ``grazing_axis``, a rule graded towards
    grazing incidence: in 2D at the true tangent points of every band's shell
    (:func:`grazing_angles`), in 3D towards the equator about the normal."""
    if grazing_axis is not None and model.dim == 2:
        if not 0 <= grazing_axis < 2:
            raise ValueError(f"grazing_axis must be in 0..1, got {grazing_axis}")
        return _rule_2d(numerics, grazing_axis, grazing_angles(model, energy, numerics, grazing_axis))
    return ray_directions(model.dim, numerics, grazing_axis)


def ray_shell(model: Model, energy: float, numerics: Numerics, roots: RayRoots | None = None,
              grazing_axis: int | None = None, rule: tuple | None = None) -> Shell:
    """The energy shell at ``energy`` (eV) of every band of a continuum model, on rays
    from k = 0. ``roots`` (from :func:`find_ray_roots` on the same rays) avoids a second
    search; ``rule`` (from :func:`shell_rule`) a second construction of the rays."""
    dirs, domega = rule if rule is not None else shell_rule(model, energy, numerics, grazing_axis)
    if roots is None:
        roots = find_ray_roots(model, dirs, energy, numerics)
    _check_star_shaped(roots, len(dirs), energy)
    k = roots.radius[:, None] * dirs[roots.ray]
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
    return Shell(float(energy), k, weight, roots.band.astype(int), bands)


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


def _check_star_shaped(roots: RayRoots, n_rays: int, energy: float) -> None:
    if roots.band.size == 0:
        return
    n_bands = int(roots.band.max()) + 1
    counts = np.zeros((n_rays, n_bands), int)
    np.add.at(counts, (roots.ray, roots.band), 1)
    for n in range(n_bands):
        c = counts[:, n]
        if c.min() != c.max() and _touches_extremum(roots, n):
            raise ShellSamplingError(
                f"E = {energy} eV lies at an extremum of band {n} (its shell is a ring or "
                "point of vanishing width there, found on some rays and not on others, and "
                "the density of states is singular): move the energy slightly off the band "
                "edge, e.g. by 1e-6 eV"
            )
        if c.min() != c.max():
            raise ShellSamplingError(
                f"the shell of band {n} at E = {energy} eV is not star-shaped about k = 0: "
                f"rays from the origin cross it between {c.min()} and {c.max()} times "
                "(a pocket away from k = 0). Ray sampling would be inaccurate; use a model "
                "centred on the pocket, or a Brillouin-zone sampler."
            )


def ray_sea(model: Model, energy: float, numerics: Numerics, roots: RayRoots | None = None) -> Sea:
    """Fermi-sea quadrature at chemical potential ``energy`` (eV), T = 0.

    On each ray the radial axis is cut at every shell crossing; intervals with mixed
    occupation get Gauss-Legendre panels (graded towards k = 0 on the first interval,
    where band touchings sit), and an unbounded last interval is mapped to [0, 1) by
    k = k_last + L t / (1 - t).
    """
    dirs, domega = ray_directions(model.dim, numerics)
    if roots is None:
        roots = find_ray_roots(model, dirs, energy, numerics)
    n_rays = len(dirs)
    order = np.lexsort((roots.radius, roots.ray))
    ray_sorted, r_sorted = roots.ray[order], roots.radius[order]
    counts = np.bincount(ray_sorted, minlength=n_rays)
    if counts.min() != counts.max():
        _check_star_shaped(roots, n_rays, energy)
    nr = int(counts.max()) if counts.size else 0
    radii = r_sorted.reshape(n_rays, nr) if nr else np.zeros((n_rays, 0))
    lo = np.concatenate([np.zeros((n_rays, 1)), radii], axis=1)  # (R, nr+1)
    hi = np.concatenate([radii, np.full((n_rays, 1), np.inf)], axis=1)
    # occupation pattern of each interval, from its midpoint (or the far region)
    mid = np.where(np.isfinite(hi), 0.5 * (lo + hi), roots.k_scan)
    kmid = mid[..., None] * dirs[:, None, :]
    e_mid = Bands(model, kmid.reshape(-1, model.dim)).energies.reshape(n_rays, nr + 1, -1)
    occ = e_mid < energy
    mixed = np.any(occ, axis=-1) & ~np.all(occ, axis=-1)
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
