"""Energy shells (Fermi surfaces) and Fermi-sea quadratures for continuum models.

THEORY.md sections 3-5. Every momentum integral is int_k = int d^dk / (2 pi)^d, written
in polar (2D) or spherical (3D) coordinates about k = 0 along a fixed set of rays:

* shell:  int_k delta(eps_n(k) - E) F(k) = sum_rays dOmega sum_roots k^(d-1) F / |dEps/dk_r|
  at the roots of eps_n(k_r khat) = E on each ray (exact for any number of roots);
* sea:    radial Gauss-Legendre panels on the intervals between consecutive roots, so
  occupation steps are never inside a panel (exact handling of the shell edges).

The angular rule is the periodic trapezoid in 2D (spectrally accurate for smooth shells)
and Gauss-Legendre in cos(theta) x trapezoid in phi in 3D. The ray construction needs
each shell to be crossed the same number of times by every ray (star-shaped about the
origin, or an annulus); otherwise a ray is tangent to the shell somewhere and the rule
loses its accuracy, so :class:`ShellSamplingError` is raised. Lattice models will bring
their own Brillouin-zone samplers with the same outputs.

Units: k in 1/nm, energies in eV, shell weights in eV^-1 nm^-d, sea weights in nm^-d.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .bands import Bands, band_groups, check_hermitian, eigenvalues
from .models.base import Model


class ShellSamplingError(ValueError):
    """The requested energy shell cannot be sampled by rays from k = 0."""


def numerics_from_kwargs(cls, kwargs: dict):
    """Build a numerics dataclass from keyword options, rejecting unknown names."""
    known = set(cls.__dataclass_fields__)
    unknown = set(kwargs) - known
    if unknown:
        raise TypeError(f"unknown numerics option(s) {sorted(unknown)}; allowed: {sorted(known)}")
    return cls(**kwargs)


@dataclass(frozen=True)
class Numerics:
    """Numerical parameters of the k-space quadratures (dimensionless counts).

    angles : rays in 2D (periodic trapezoid), >= 4
    polar, azimuth : Gauss-Legendre nodes in cos(theta) (>= 2) and trapezoid nodes in
        phi (>= 4) (3D)
    scan_points : radial points used to bracket shell crossings on each ray
    radial_order, radial_panels : Gauss-Legendre nodes per panel and panels per
        interval of the Fermi-sea radial integrals
    grazing_axis : None, or the axis index of a wall normal. The angular rule is then
        oriented along it and refined towards grazing directions (k perpendicular to the
        normal), where the distribution in a film or strip jumps and varies on the scale
        W/l: composite Gauss-Legendre on ``grazing_panels`` geometrically graded panels
        (ratio 0.2) per quarter circle (2D) or per hemisphere in cos(theta) (3D), with
        about ``angles`` (2D) or ``polar`` (3D) nodes in all. Set by the slab solver.
    grazing_panels : number of graded panels (>= 1)
    bz_grid : Brillouin-zone samplers of lattice models (:mod:`mesokinetics.brillouin`):
        grid points per reciprocal lattice vector (>= 4); None: 512, 96, 24 in 1D, 2D, 3D
    bz_refine : adaptive bisections of Fermi-sea cells crossed by a Fermi surface (0..12)
    bz_contour_points : points per Fermi loop per reciprocal-vector length (2D, >= 16)
    bz_chunk : k points per diagonalization chunk (bounds the memory, >= 1)
    bz_cell_points : Gauss-Legendre nodes per axis in Fermi-sea cells without a Fermi
        surface (1..4; 1 is the midpoint rule)
    """

    angles: int = 64
    polar: int = 16
    azimuth: int = 32
    scan_points: int = 256
    radial_order: int = 16
    radial_panels: int = 4
    grazing_axis: int | None = None
    grazing_panels: int = 6
    sea_angles: int = 64
    bz_grid: int | None = None
    bz_refine: int = 3
    bz_contour_points: int = 64
    bz_chunk: int = 8192
    bz_cell_points: int = 2

    def __post_init__(self):
        # a periodic trapezoid needs more than 2 nodes to integrate cos^2 exactly: a
        # smaller angular rule can miss a response entirely (2 rays along y for E along x)
        minimum = {"angles": 4, "azimuth": 4, "sea_angles": 4}
        for name in ("angles", "polar", "azimuth", "scan_points", "radial_order", "radial_panels",
                     "sea_angles"):
            value, low = getattr(self, name), minimum.get(name, 2)
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"numerics {name} must be an integer >= {low}, got {value!r}")
        if not isinstance(self.grazing_panels, (int, np.integer)) or self.grazing_panels < 1:
            raise ValueError(f"numerics grazing_panels must be an integer >= 1, got {self.grazing_panels!r}")

    from_kwargs = classmethod(numerics_from_kwargs)


def _graded_half(total: int, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1], composite Gauss-Legendre on panels graded towards 0."""
    order = max(2, -(-total // panels))
    edges = np.concatenate([[0.0], 0.2 ** np.arange(panels - 1, -1, -1)])
    x, w = np.polynomial.legendre.leggauss(order)
    t0, t1 = edges[:-1, None], edges[1:, None]
    return (0.5 * (t1 - t0) * (x + 1) + t0).ravel(), (0.5 * (t1 - t0) * w).ravel()


def _graded_directions(dim: int, numerics: Numerics) -> tuple[np.ndarray, np.ndarray]:
    """Angular rule refined towards directions perpendicular to ``grazing_axis``."""
    normal = numerics.grazing_axis
    if dim == 1:
        return ray_directions(1, Numerics())
    if not 0 <= normal < dim:
        raise ValueError(f"grazing_axis must be in 0..{dim - 1}, got {normal}")
    if dim == 2:
        # angle phi from the wall plane: grading towards phi = 0 (mod pi)
        t, w = _graded_half(max(numerics.angles // 4, 2), numerics.grazing_panels)
        phi_q = 0.5 * np.pi * t  # (0, pi/2)
        phi = np.concatenate([phi_q, np.pi - phi_q, -phi_q, phi_q - np.pi])
        wt = np.tile(0.5 * np.pi * w, 4)
        tangent = 1 - normal
        dirs = np.zeros((len(phi), 2))
        dirs[:, tangent] = np.cos(phi)
        dirs[:, normal] = np.sin(phi)
        return dirs, wt
    # 3D: mu = cos(theta) about the normal, graded towards mu = 0 in each hemisphere
    t, w = _graded_half(max(numerics.polar // 2, 2), numerics.grazing_panels)
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


def ray_directions(dim: int, numerics: Numerics) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (R, d) and solid-angle weights (R,) with sum = 2, 2 pi or 4 pi."""
    if numerics.grazing_axis is not None:
        return _graded_directions(dim, numerics)
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


@dataclass
class Shell:
    """Weighted points of the energy shell eps_n(k) = E of every band.

    energy : E (eV)
    k : (P, d) points (1/nm)
    weight : (P,) weights of int_k delta(eps_n - E) (eV^-1 nm^-d)
    band : (P,) band index n of each point
    bands : :class:`~mesokinetics.bands.Bands` at the points (all bands)
    """

    energy: float
    k: np.ndarray
    weight: np.ndarray
    band: np.ndarray
    bands: Bands

    def __len__(self) -> int:
        return self.k.shape[0]

    @property
    def empty(self) -> bool:
        return len(self) == 0

    @property
    def multiplicity(self) -> np.ndarray:
        """Degeneracy w_n of the band of each point, (P,)."""
        return self.bands.multiplicity[self.band]

    @property
    def velocity(self) -> np.ndarray:
        """Band velocity v_n(k) at each point, (P, d), eV nm."""
        return self.bands.band_velocity[np.arange(len(self)), self.band]

    @property
    def eigen_mask(self) -> np.ndarray:
        """(P, N) True for eigen indices that belong to the point's band."""
        return self.bands.group[None, :] == self.band[:, None]

    def density_of_states(self) -> float:
        """Total density of states at E, sum_n w_n int_k delta(eps_n - E) (eV^-1 nm^-d)."""
        return float(np.sum(self.weight * self.multiplicity))


def sample(model: Model, energy: float, numerics: Numerics | None = None) -> tuple[Shell, "Sea"]:
    """Shell and Fermi-sea quadratures at ``energy`` (eV), sharing one root search.

    Models that bring their own sampler (``model.sampler``, e.g. Brillouin-zone samplers
    of lattice models, with methods ``shell(model, energy, numerics)`` and
    ``sea(model, energy, numerics)``) use it; continuum models use rays from k = 0."""
    numerics = numerics or Numerics()
    sampler = getattr(model, "sampler", None)
    if sampler is not None:
        return sampler.shell(model, energy, numerics), sampler.sea(model, energy, numerics)
    roots = find_ray_roots(model, ray_directions(model.dim, numerics)[0], energy, numerics)
    shell = sample_shell(model, energy, numerics, roots)
    if numerics.grazing_axis is not None:
        # the grazing refinement serves the wall scattering of the shells only; the smooth
        # Fermi-sea integrand keeps the standard, spectrally accurate rule with sea_angles
        sea_rule = replace(numerics, grazing_axis=None, angles=numerics.sea_angles,
                           azimuth=max(4, min(numerics.azimuth, numerics.sea_angles)))
        return shell, sample_sea(model, energy, sea_rule)
    return shell, sample_sea(model, energy, numerics, roots)


def sample_shell(
    model: Model, energy: float, numerics: Numerics | None = None, roots: RayRoots | None = None
) -> Shell:
    """Sample the energy shell at ``energy`` (eV) of every band.

    Continuum models: rays from k = 0. ``roots`` (from :func:`find_ray_roots` with the same
    numerics) avoids a second search. Models with a ``sampler`` use it instead.
    """
    numerics = numerics or Numerics()
    sampler = getattr(model, "sampler", None)
    if sampler is not None:
        return sampler.shell(model, energy, numerics)
    dirs, domega = ray_directions(model.dim, numerics)
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


def _check_star_shaped(roots: RayRoots, n_rays: int, energy: float) -> None:
    if roots.band.size == 0:
        return
    n_bands = int(roots.band.max()) + 1
    counts = np.zeros((n_rays, n_bands), int)
    np.add.at(counts, (roots.ray, roots.band), 1)
    for n in range(n_bands):
        c = counts[:, n]
        if c.min() != c.max():
            raise ShellSamplingError(
                f"the shell of band {n} at E = {energy} eV is not star-shaped about k = 0: "
                f"rays from the origin cross it between {c.min()} and {c.max()} times "
                "(a pocket away from k = 0). Ray sampling would be inaccurate; use a model "
                "centred on the pocket, or a Brillouin-zone sampler."
            )


@dataclass
class Sea:
    """Quadrature for int_k F(k) over the region where band occupations differ at T = 0.

    k : (Q, d) nodes (1/nm); weight : (Q,) weights (nm^-d). Regions where every band is
    full or every band is empty are left out: interband Fermi-sea integrands
    (f_n - f_m) F_nm vanish there.
    """

    energy: float
    k: np.ndarray
    weight: np.ndarray


def _gauss_panels(a, b, order, panels, graded):
    """Composite Gauss-Legendre nodes/weights on [a, b] for arrays a, b of shape (I,)."""
    x, w = np.polynomial.legendre.leggauss(order)
    if graded:
        ratio = 0.2
        edges = np.concatenate([[0.0], ratio ** np.arange(panels - 1, -1, -1)])
    else:
        edges = np.linspace(0.0, 1.0, panels + 1)
    t0, t1 = edges[:-1], edges[1:]
    t = (0.5 * (t1 - t0)[:, None] * (x[None] + 1) + t0[:, None]).ravel()
    wt = (0.5 * (t1 - t0)[:, None] * w[None]).ravel()
    nodes = a[:, None] + (b - a)[:, None] * t[None]
    weights = (b - a)[:, None] * wt[None]
    return nodes, weights


def sample_sea(
    model: Model, energy: float, numerics: Numerics | None = None, roots: RayRoots | None = None
) -> Sea:
    """Fermi-sea quadrature at chemical potential ``energy`` (eV), T = 0.

    On each ray the radial axis is cut at every shell crossing; intervals with mixed
    occupation get Gauss-Legendre panels (graded towards k = 0 on the first interval,
    where band touchings sit), and an unbounded last interval is mapped to [0, 1) by
    k = k_last + L t / (1 - t).
    """
    numerics = numerics or Numerics()
    sampler = getattr(model, "sampler", None)
    if sampler is not None:
        return sampler.sea(model, energy, numerics)
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
            nodes, weights = _gauss_panels(
                a[sel], b[sel], numerics.radial_order, numerics.radial_panels, graded
            )
            ks.append(nodes)
            ws.append(weights)
            rays.append(np.repeat(ri[sel][:, None], nodes.shape[1], 1))
    tail = ~finite
    if np.any(tail):
        scale = np.maximum(a[tail], model.momentum_scale)
        t, wt = _gauss_panels(
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
