r"""Kubo-Bastin linear response with SCBA Green's functions and ladder vertex corrections.

This module is the independent check of the kinetic engine (docs/theory.md §10, paper
Eqs. 5-10): the T = 0 response of any observable o(k) of a uniform, weakly disordered
multiband system (scalar point disorder) to a uniform static field E, computed from the
Kubo-Bastin formula with disorder-averaged Green's functions, with (``vertex_corrections
=True``, "ladder") or without (``False``, constant-broadening approximation "CBA") the
ladder vertex correction.

Units and conventions (as in the rest of the package, docs/theory.md §1): hbar = 1,
energies in eV, k in 1/nm, e = -1, fields in V/nm, int_k = int d^dk/(2 pi)^d, densities
in (operator unit) nm^-d. Green's functions are in 1/eV, gamma = 2 pi n_i v0^2 in
eV^2 nm^d, so that n_i v0^2 = gamma / (2 pi).

Green's functions (self-consistent Born approximation, SCBA)
-------------------------------------------------------------

For point scatterers the self-energy does not depend on k:

    G^R(k, eps) = [eps - h(k) - Sigma]^-1,        Sigma = (gamma/2pi) int_k G^R(k, mu).

Only the anti-Hermitian part of Sigma is kept (the Hermitian part is a UV-divergent
constant shift plus an O(gamma) renormalization of h; the paper omits these
principal-value terms too, footnote [72]):

    Sigma = -i (gamma/2) A,   A = (i/2pi) int_k [G^R(k, mu) - G^A(k, mu)]   (N x N, >= 0),

solved by fixed-point iteration starting from the Born value A = D(mu) (the matrix DOS of
``mesokinetics.disorder``; ``self_energy="born"`` stops there, which is exactly the
kinetic engine's 1/tau_n = (gamma/w_n) Tr[P_n D]). At weak disorder A -> D(mu). The
integral of A converges for massive bands; for Dirac-like bands it grows like
log(k_max) (the usual UV logarithm of the Dirac SCBA), so the SCBA and ladder integrals
run over the disc |k| <= ``far`` x (largest Fermi momentum): ``far`` is the UV cutoff.
(The observables themselves are integrated over all k.)
Sigma is evaluated at eps = mu and kept energy independent inside the Fermi-sea
integral below (its energy dependence changes the result at relative order 1/(mu tau),
the order at which the kinetic theory and the Kubo formula are allowed to differ).

Kubo-Bastin formula and its Streda-Smrcka split
------------------------------------------------

The density of o per unit field is (Bastin et al. 1971; Crepieux & Bruno 2001),
with f the T = 0 occupation, G' = dG/deps and v^i = dh/dk_i:

    o = -(e E_i / 2pi) int deps f(eps) int_k Tr< o G^R' v^i (G^R - G^A)
                                              - o (G^R - G^A) v^i G^A' >.      (K1)

The mixed terms -Tr[o G^R' v G^A] - Tr[o G^R v G^A'] are the total derivative
d/deps Tr[o G^R v G^A]; half of the RR (and AA) terms is the total derivative of
Tr[o G^R v G^R]/2. Integrating those by parts gives o = o^I + o^II (all exact for an
energy-independent Sigma, for which G' = -G G):

    o^I  = -(e E_i / 2pi) { Re Tr<o G^R v^i G^R> - Tr<o G^R J^i G^A> }_{eps = mu}   (K2)
    o^II = -(e E_i / 2pi) Re int_{-inf}^{mu} deps Tr< o G^R' v^i G^R - o G^R v^i G^R' >
         = -(e E_i / 2pi) Re [ - int_k sum_{a != b} M_ab I(lambda_a, lambda_b) ]      (K3)

* o^I ("fermi_surface"): RR and RA products at the Fermi level. Only the RA bubble is
  dressed: J^i = v^i + Gamma^i (ladder, paper Eq. 6) or J^i = v^i (CBA). Ladder
  corrections of the RR bubbles are of relative order gamma and are left out (standard).
* o^II ("fermi_sea"): with the non-Hermitian H = h(k) + Sigma = sum_a lambda_a Pi_a
  (right/left eigenvectors, Im lambda_a <= 0), M_ab = Tr[o Pi_a v^i Pi_b] and the energy
  integral done in closed form,

      I(a, b) = int_{-inf}^{mu} dz (a - b) / ((z - a)^2 (z - b)^2)
              = -(1/u + 1/w) / (a - b) - 2 [Log u - Log w] / (a - b)^2,
      u = mu - a, w = mu - b (both in the closed upper half plane: principal Log),

  with a power series in (a - b)/u when a ~ b. Diagonal terms a = b vanish identically.
  Where the eigenvectors of H are ill conditioned (exceptional points near band
  crossings when Sigma is not a scalar), the energy integral is instead done along the
  contour eps = mu + i y, y > 0 (G^R is analytic in the upper half plane):
  int_{-inf}^{mu} F(eps) deps = -i int_0^inf F(mu + i y) dy.

Clean limit (Sigma -> -i0, eigenvalues e_a): Im I_ab -> 2 pi (f_a - f_b)/(e_a - e_b)^2
plus delta(mu - e_a) terms from the poles, so that o^II -> -e sum_{a != b} (f_a - f_b)
Im(E.v_ab o_ba)/(e_a - e_b)^2, exactly the kinetic engine's intrinsic term (docs/theory.md
§5), plus a Fermi-surface term -e sum_{a<b} (delta_a + delta_b) Im(E.v_ab o_ba)/
(e_a - e_b) that cancels against the interband part of the RA bubble in o^I. The
intraband part of the bare RA bubble gives e tau o_nn v_nn delta(eps_n - mu) with
1/tau = 2 Gamma (quasiparticle time); the ladder vertex turns it into the Boltzmann
(transport-time) response and adds the interband vertex terms of paper Eq. (1).
Checked numerically: CBA spin Hall -> +1/(8 pi), massive Dirac with mu in the gap
-> sigma_xy = -sign(gap) e^2/2h (see tests/test_kubo.py).

Ladder vertex (paper Eq. 6) for the RA bubble at eps = mu:

    J^i = v^i + Gamma^i,   Gamma^i = (gamma/2pi) int_k G^R (v^i + Gamma^i) G^A,

an N^2 x N^2 complex linear system for the constant matrix Gamma^i. With a
self-consistent Sigma, M0 = Sigma^R - Sigma^A is an exact zero mode
((gamma/2pi) int_k G^R M0 G^A = M0: the diffuson / charge conservation). It is removed
by a bordered solve that imposes neutrality of the Fermi-surface density,
Tr int_k G^R J^i G^A = 0 (the counterpart of the kinetic engine's neutrality
condition); the Lagrange multiplier of the border is returned as a residual.

k-space quadrature
------------------

Polar coordinates about k = 0 (continuum 2D/3D models with star-shaped Fermi surfaces,
as in :mod:`mesokinetics.shells`; 2D only here): periodic trapezoid in the angle, and
on each ray composite Gauss-Legendre panels with edges graded geometrically toward every
Fermi momentum k_F down to the Lorentzian width Gamma/|v_r| (the RA integrand is a
Lorentzian of width 1/(2 tau) in energy), then out to ``far`` x k_F and a mapped tail
k = k_far / t to infinity. The panel layout is the same on every ray, so the angular
integrand is smooth and the trapezoid converges spectrally.

Lattice models (2D ``TightBinding``, anything with a ``sampler`` and ``lattice_vectors``):
the periodic Brillouin zone in fractional coordinates, a ``bz_cells``^2 grid of cells
bisected adaptively (quadtree) toward the Fermi surface until every cell it crosses has an
energy spread below ``bz_resolution`` x Gamma_min, with a tensor Gauss-Legendre rule of
``bz_order``^2 nodes per leaf (:func:`build_lattice_grid`). No UV cutoff: the SCBA and
ladder integrals run over the whole zone. The per-k integrands (K2, K3, SCBA, ladder)
are the same as for continuum models; only the quadrature differs. The node count grows
like mu tau (measured counts and convergence in docs/kubo.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field as dc_field, replace
from typing import Any

import numpy as np

from .bands import Bands
from .convergence import CONDUCTIVITY_SCALE, Axis, Estimated, check_budget, check_tol, converge
from .disorder import PointDisorder, matrix_dos
from .models.base import Model
from .operators import as_operator, charge_current
from .numerics import Numerics, numerics_from_kwargs
from .quadrature import panel_nodes
from .sampling import find_ray_roots, ray_directions, sample_shell, sampler_of
from .sampling.brillouin import lattice_geometry
from .validation import validate_inputs
from .units import E2_OVER_H, ELECTRON_CHARGE, conductivity_si_unit, conductivity_to_si

__all__ = [
    "KuboNumerics",
    "KuboDensity",
    "KuboResponse",
    "solve_uniform_kubo",
    "scba_self_energy",
    "build_lattice_grid",
]


# ----------------------------------------------------------------------------------------
# numerics
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KuboNumerics:
    """Numerical parameters of the Kubo k-space quadrature.

    angles : rays (periodic trapezoid in the polar angle), integer >= 4
    order : Gauss-Legendre nodes per radial panel, integer >= 2
    ratio : target growth factor of the graded radial panels around each Fermi
        momentum (> 1; smaller is finer), dimensionless
    far : the graded region ends at the circle |k| = far x max k_F (largest Fermi
        momentum); it is also the UV cutoff of the SCBA and ladder integrals (> 1)
    tail_panels : Gauss-Legendre panels of the mapped tail k > far k_F, integer >= 1
    scan_points : radial points used to bracket the Fermi momenta on each ray (>= 16)
    scba_tol, scba_max_iter : convergence of the SCBA fixed point (relative, > 0)
    ep_condition : eigenvector condition number above which the Fermi-sea energy
        integral at a k point is done numerically on the contour mu + i y (> 1)
    contour_nodes : Gauss-Legendre nodes of that contour integral (>= 8)

    Lattice models (periodic Brillouin zone, :func:`build_lattice_grid`):

    bz_cells : initial cells per reciprocal-lattice direction (>= 2) of the adaptive quadtree
        (not the kinetic solvers' ``bz_grid``, which counts grid points of a fixed grid)
    bz_order : Gauss-Legendre nodes per side of every leaf cell (>= 1)
    bz_resolution : leaf cells near the Fermi surface have an energy spread (bound on
        |eps_n(k) - eps_n(center)| over the cell) below bz_resolution x Gamma_min, the
        smallest Born broadening (> 0; smaller is finer)
    bz_far : a cell is bisected while some band at its center lies within bz_far x its
        energy spread of mu (> 1; larger grades more gently)
    bz_max_level : largest number of bisections (>= 0)
    bz_max_points : the grid may not exceed this many nodes (ValueError otherwise)
    """

    angles: int = 48
    order: int = 8
    ratio: float = 2.5
    far: float = 10.0
    tail_panels: int = 2
    scan_points: int = 256
    scba_tol: float = 1e-12
    scba_max_iter: int = 200
    ep_condition: float = 1e4
    contour_nodes: int = 96
    bz_cells: int = 16
    bz_order: int = 4
    bz_resolution: float = 1.0
    bz_far: float = 3.0
    bz_max_level: int = 16
    bz_max_points: int = 4_000_000

    def __post_init__(self) -> None:
        ints = {"angles": 4, "order": 2, "tail_panels": 1, "scan_points": 16,
                "scba_max_iter": 1, "contour_nodes": 8, "bz_cells": 2, "bz_order": 1,
                "bz_max_level": 0, "bz_max_points": 1}
        for name, low in ints.items():
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"numerics {name} must be an integer >= {low}, got {value!r}")
        for name, low in (("ratio", 1.0), ("far", 1.0), ("ep_condition", 1.0),
                          ("bz_far", 1.0), ("bz_resolution", 0.0)):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.integer, np.floating)) or not (
                np.isfinite(value) and value > low
            ):
                raise ValueError(f"numerics {name} must be a finite number > {low}, got {value!r}")
        value = self.scba_tol
        if not isinstance(value, (int, float, np.floating)) or not (np.isfinite(value) and value > 0):
            raise ValueError(f"numerics scba_tol must be a positive number, got {value!r}")

    from_kwargs = classmethod(numerics_from_kwargs)


@dataclass
class KGrid:
    """Quadrature nodes for int_k = int d^2k/(2pi)^2.

    k : (P, 2) nodes (1/nm); weight : (P,) weights (nm^-2); inner : (P,) True for nodes
    inside the cutoff region used by the SCBA and the ladder kernel; n_levels : graded
    panels per side of each Fermi momentum.
    """

    k: np.ndarray
    weight: np.ndarray
    inner: np.ndarray
    n_levels: int
    fermi_momenta: np.ndarray

    def __len__(self) -> int:
        return len(self.weight)


def _graded_edges(a, b, wa, wb, levels, min_ratio=1.5):
    """Panel edges on [a, b] (arrays over rays), graded geometrically toward a end with
    first panel width ~wa and/or toward b with ~wb (None: no grading at that end).
    Returns (R, E) edges; the layout (number of edges) does not depend on the ray."""
    length = b - a
    if wa is not None and wb is not None:
        half = 0.5 * length
        qa = np.maximum((half / wa) ** (1.0 / levels), min_ratio)
        qb = np.maximum((half / wb) ** (1.0 / levels), min_ratio)
        m = np.arange(levels + 1)
        left = a[:, None] + half[:, None] * qa[:, None] ** (m[None] - levels)  # a+wa_eff .. mid
        right = b[:, None] - half[:, None] * qb[:, None] ** (m[None] - levels)
        edges = np.concatenate([a[:, None], left, right[:, ::-1][:, 1:], b[:, None]], axis=1)
    elif wa is not None:
        qa = np.maximum((length / wa) ** (1.0 / levels), min_ratio)
        m = np.arange(levels + 1)
        e = a[:, None] + length[:, None] * qa[:, None] ** (m[None] - levels)
        edges = np.concatenate([a[:, None], e], axis=1)
    elif wb is not None:
        qb = np.maximum((length / wb) ** (1.0 / levels), min_ratio)
        m = np.arange(levels + 1)
        e = b[:, None] - length[:, None] * qb[:, None] ** (m[None] - levels)
        edges = np.concatenate([e[:, ::-1], b[:, None]], axis=1)
    else:
        t = np.linspace(0.0, 1.0, levels + 1)
        edges = a[:, None] + length[:, None] * t[None]
    return edges


def build_grid(model: Model, mu: float, gamma_min: float, num: KuboNumerics) -> KGrid:
    """Graded polar quadrature resolving Lorentzians of width ``gamma_min`` (eV) at the
    Fermi momenta of every band on every ray (2D models)."""
    if model.dim != 2:
        raise ValueError(f"the Kubo solver supports 2D models only, got a {model.dim}D model")
    if sampler_of(model) is not None:
        return build_lattice_grid(model, mu, gamma_min, num)
    snum = Numerics(angles=num.angles, scan_points=num.scan_points)
    dirs, domega = ray_directions(2, snum)
    roots = find_ray_roots(model, dirs, mu, snum)
    n_rays = len(dirs)
    counts = np.bincount(roots.ray, minlength=n_rays)
    if counts.min() != counts.max():
        raise ValueError(
            f"the Fermi surfaces at mu = {mu} eV are not star-shaped about k = 0 (rays cross "
            f"them between {counts.min()} and {counts.max()} times); the polar Kubo grid "
            "cannot integrate them"
        )
    nr = int(counts[0]) if n_rays else 0
    order_idx = np.lexsort((roots.radius, roots.ray))
    kf = roots.radius[order_idx].reshape(n_rays, nr)
    if nr:
        # radial speeds |v_r| at the Fermi momenta -> Lorentzian widths in k
        band = roots.band[order_idx].reshape(n_rays, nr)
        kpts = (kf[..., None] * dirs[:, None, :]).reshape(-1, 2)
        bands = Bands(model, kpts)
        vel = bands.band_velocity[np.arange(len(kpts)), band.ravel()]
        vr = np.abs(np.sum(vel * np.repeat(dirs, nr, axis=0), axis=-1)).reshape(n_rays, nr)
        if np.any(vr <= 0):
            raise ValueError(f"a Fermi surface at mu = {mu} eV is tangent to a ray from k = 0")
        width = max(gamma_min, 1e-300) / vr  # (R, nr) in 1/nm
        # number of graded levels: enough for ratio <= num.ratio on the worst interval
        gaps = [kf[:, 0]] + [0.5 * (kf[:, j + 1] - kf[:, j]) for j in range(nr - 1)]
        gaps.append(num.far * float(np.max(kf[:, -1])) - kf[:, -1])
        spans = [gaps[0] / width[:, 0]]
        for j in range(nr - 1):
            spans += [gaps[j + 1] / width[:, j], gaps[j + 1] / width[:, j + 1]]
        spans.append(gaps[-1] / width[:, -1])
        worst = max(float(np.max(s)) for s in spans)
        levels = max(2, int(np.ceil(np.log(max(worst, 1.0)) / np.log(num.ratio))))
        segs = [_graded_edges(np.zeros(n_rays), kf[:, 0], None, width[:, 0], levels)]
        for j in range(nr - 1):
            segs.append(_graded_edges(kf[:, j], kf[:, j + 1], width[:, j], width[:, j + 1], levels))
        # circular cutoff: an angle-dependent one would add a boundary term to
        # int_k Tr[G^R v] = 0 and spoil the ladder's Ward identity for anisotropic shells
        k_far = np.full(n_rays, num.far * float(np.max(kf[:, -1])))
        segs.append(_graded_edges(kf[:, -1], k_far, width[:, -1], None, levels))
        edges = np.concatenate([segs[0]] + [s[:, 1:] for s in segs[1:]], axis=1)
    else:
        levels = 8
        k_far = np.full(n_rays, num.far * model.momentum_scale)
        edges = _graded_edges(np.zeros(n_rays), k_far, None, None, levels)
    r_in, w_in = panel_nodes(edges, num.order)
    # mapped tail k = k_far / t, t in (0, 1]
    t_edges = np.broadcast_to(np.linspace(0.0, 1.0, num.tail_panels + 1), (n_rays, num.tail_panels + 1))
    t, wt = panel_nodes(np.ascontiguousarray(t_edges), num.order)
    r_out = k_far[:, None] / t
    w_out = wt * k_far[:, None] / t**2
    r = np.concatenate([r_in, r_out], axis=1)
    w = np.concatenate([w_in, w_out], axis=1)
    inner = np.concatenate([np.ones_like(r_in, bool), np.zeros_like(r_out, bool)], axis=1)
    weight = w * r * domega[:, None] / (2 * np.pi) ** 2
    k = r[..., None] * dirs[:, None, :]
    return KGrid(k.reshape(-1, 2), weight.ravel(), inner.ravel(), levels, kf)


def _spectral_norms(v: np.ndarray) -> np.ndarray:
    """|| v ||_2 = sqrt(sum_i ||v^i||_2^2) of Hermitian velocity matrices (P, d, N, N)."""
    return np.sqrt(np.sum(np.max(np.abs(np.linalg.eigvalsh(v)), axis=-1) ** 2, axis=-1))


def build_lattice_grid(model: Model, mu: float, gamma_min: float, num: KuboNumerics) -> KGrid:
    """Adaptive quadrature of int_k = (1/V_cell) int d^2u over the Brillouin zone of a 2D
    lattice model (k = u . B, fractional u in [0, 1)^2).

    A ``bz_cells`` x ``bz_cells`` grid of cells is bisected (quadtree) near the Fermi surface:
    a cell with center c and half-diagonal r (1/nm) has the energy spread
    S = ||v(c)|| r + C r^2 / 2, a rigorous bound on |eps_n(k) - eps_n(c)| in the cell by
    Weyl's inequality (||v|| the spectral norm of dh/dk, C = sum_R |R|^2 ||H(R)|| a bound
    on ||d^2h/dk^2||). It is bisected while some band has |eps_n(c) - mu| < bz_far x S and
    S > bz_resolution x Gamma_min, so every cell the Fermi surface crosses ends with a
    spread below the Lorentzian width and cells grow geometrically (by 2 per level) with
    the distance from the Fermi surface. Every leaf carries a bz_order^2 tensor
    Gauss-Legendre rule. The SCBA and ladder integrals run over the whole zone (no UV
    cutoff: ``inner`` is all True).
    """

    if model.dim != 2:
        raise ValueError(f"the Kubo solver supports 2D models only, got a {model.dim}D model")
    b, vol = lattice_geometry(model)
    half_diag = 0.5 * max(np.linalg.norm(b[0] + b[1]), np.linalg.norm(b[0] - b[1]))
    cart = np.asarray(getattr(model, "R"), float) @ model.lattice_vectors
    hops = np.asarray(model.H) / np.asarray(model.degeneracy)[:, None, None]
    curv = float(np.sum(np.sum(cart**2, axis=1) * np.linalg.norm(hops, ord=2, axis=(1, 2))))
    n0 = num.bz_cells
    u = (np.arange(n0) + 0.5) / n0
    centers = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 2)
    size = 1.0 / n0
    leaves, sizes = [], []
    level = 0
    target = num.bz_resolution * max(gamma_min, 0.0)
    corners = 0.25 * np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], float)
    total = 0
    while len(centers):
        split = np.zeros(len(centers), bool)
        if level < num.bz_max_level:
            for s0 in range(0, len(centers), 65536):
                k = centers[s0:s0 + 65536] @ b
                e = np.linalg.eigvalsh(model.hamiltonian(k))
                r = size * half_diag
                spread = _spectral_norms(model.velocity(k)) * r + 0.5 * curv * r * r
                near = np.any(np.abs(e - mu) < num.bz_far * spread[:, None], axis=1)
                split[s0:s0 + 65536] = near & (spread > target)
        leaves.append(centers[~split])
        sizes.append(np.full(int(np.sum(~split)), size))
        total += int(np.sum(~split)) * num.bz_order**2
        if total + 4 * int(np.sum(split)) * num.bz_order**2 > num.bz_max_points:
            raise ValueError(
                f"the Brillouin-zone Kubo grid needs more than bz_max_points = "
                f"{num.bz_max_points} nodes at level {level + 1} (the Lorentzian width "
                f"Gamma = {gamma_min:.3g} eV is small for this zone): raise bz_max_points or "
                "bz_resolution, or increase the disorder"
            )
        centers = (centers[split][:, None, :] + size * corners[None]).reshape(-1, 2)
        size *= 0.5
        level += 1
    c = np.concatenate(leaves)
    s = np.concatenate(sizes)
    x, wx = np.polynomial.legendre.leggauss(num.bz_order)
    xx = np.stack(np.meshgrid(x, x, indexing="ij"), -1).reshape(-1, 2)
    ww = np.outer(wx, wx).ravel()
    nodes = c[:, None, :] + 0.5 * s[:, None, None] * xx[None]
    weight = (0.25 * s[:, None] ** 2 * ww[None]) / vol
    k = nodes.reshape(-1, 2) @ b
    return KGrid(k, weight.ravel(), np.ones(len(k), bool), level - 1, np.zeros((0, 0)))


# ----------------------------------------------------------------------------------------
# Green's functions and self-energy
# ----------------------------------------------------------------------------------------
def _dagger(a: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(a, -1, -2))


def _retarded(h: np.ndarray, energy: complex, sigma: np.ndarray) -> np.ndarray:
    n = h.shape[-1]
    return np.linalg.inv(energy * np.eye(n) - h - sigma)


def scba_self_energy(
    h_inner: np.ndarray, weight_inner: np.ndarray, mu: float, gamma: float,
    start: np.ndarray, tol: float = 1e-12, max_iter: int = 200,
) -> tuple[np.ndarray, int]:
    """Self-consistent Sigma = -i (gamma/2) A, A = (i/2pi) int_k (G^R - G^A) at mu.

    h_inner : (P, N, N) h(k) at the quadrature nodes (eV); weight_inner : (P,) weights
    (nm^-2); start : initial A (N x N, eV^-1 nm^-2). Returns (Sigma in eV, iterations).
    """
    a = 0.5 * (start + _dagger(start))
    for it in range(1, max_iter + 1):
        sigma = -0.5j * gamma * a
        gr = _retarded(h_inner, mu, sigma)
        new = (1j / (2 * np.pi)) * np.einsum("p,pij->ij", weight_inner, gr - _dagger(gr))
        new = 0.5 * (new + _dagger(new))
        change = np.max(np.abs(new - a)) / max(np.max(np.abs(new)), 1e-300)
        a = new
        if change < tol:
            return -0.5j * gamma * a, it
    raise RuntimeError(
        f"SCBA self-energy did not converge in {max_iter} iterations (last relative change "
        f"{change:.2e}); the disorder is too strong for the weak-disorder expansion"
    )


# ----------------------------------------------------------------------------------------
# Fermi-sea energy integral
# ----------------------------------------------------------------------------------------
_SERIES_TERMS = 12


def _sea_pair_integral(lam: np.ndarray, mu: float) -> np.ndarray:
    """I_ab = int_{-inf}^{mu} dz (a - b) / ((z - a)^2 (z - b)^2) for eigenvalues (P, N).

    Closed form -(1/u + 1/w)/(a-b) - 2 (Log u - Log w)/(a-b)^2 with u = mu - a, w = mu - b
    (Im u, Im w >= 0, so the principal Log is continuous along the path); for
    |(a-b)/u| < 0.05 the series (1/u^2) sum_{n>=2} (-1)^n (1-n)/(n+1) x^(n-1), x = (a-b)/u.
    Returns (P, N, N); the diagonal is 0. In the clean limit Im I_ab = 2 pi (f_a - f_b) /
    (e_a - e_b)^2 (plus Fermi-surface delta terms), which yields the intrinsic term.
    """
    u = mu - lam
    u = np.real(u) + 1j * np.abs(np.imag(u))  # Im u >= 0 exactly (no -0.0 branch flips)
    ua, ub = u[:, :, None], u[:, None, :]
    delta = ub - ua  # = a - b
    with np.errstate(divide="ignore", invalid="ignore"):
        x = delta / ua
        small = np.abs(x) < 0.05
        exact = -(1 / ua + 1 / ub) / delta - 2 * (np.log(ua) - np.log(ub)) / delta**2
        series = np.zeros_like(x)
        for n in range(_SERIES_TERMS + 1, 1, -1):  # Horner in x
            series = series * x + (-1) ** n * (1 - n) / (n + 1)
        series = series * x / ua**2
    out = np.where(small, series, exact)
    out[~np.isfinite(out)] = 0.0  # a == b exactly (x = 0 handled by series; guards 0/0)
    n = lam.shape[-1]
    out[:, np.arange(n), np.arange(n)] = 0.0
    return out


# ----------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KuboDensity:
    """Kubo-Bastin density of an observable (floats, or (d,) arrays per unit field).

    fermi_surface : o^I, Eq. (K2): RR and (vertex-dressed) RA bubbles at mu
    fermi_sea : o^II, Eq. (K3)
    vertex : the part of fermi_surface due to the ladder vertex Gamma (0 for CBA)
    total : fermi_surface + fermi_sea
    unit : unit of every entry
    """

    fermi_surface: Any
    fermi_sea: Any
    vertex: Any
    unit: str = ""
    #: estimated absolute error of ``total`` (same shape), from the coarser k grids the
    #: solve was checked on (``tol``, mesokinetics.convergence); None for ``tol=None``
    error: Any = None

    @property
    def total(self):
        return self.fermi_surface + self.fermi_sea

    def with_error(self, error) -> "KuboDensity":
        """The same density with the error estimate ``error`` of its total."""
        return KuboDensity(self.fermi_surface, self.fermi_sea, self.vertex, self.unit, error)

    def as_dict(self) -> dict:
        return {"fermi_surface": self.fermi_surface, "fermi_sea": self.fermi_sea,
                "vertex": self.vertex, "total": self.total, "unit": self.unit,
                **({} if self.error is None else {"error": self.error})}


@dataclass
class KuboResponse(Estimated):
    """Result of :func:`solve_uniform_kubo`; densities are linear in the field. With a
    ``tol``, every density has ``.error`` and ``convergence`` says how tol was met.

    Attributes
    ----------
    sigma : (N, N) self-energy at mu (eV), anti-Hermitian
    vertex_matrix : (d, N, N) ladder vertex Gamma^i for unit velocity vertices (eV nm);
        zero for CBA
    border_residual : relative size of the Lagrange multiplier of the bordered ladder
        solve (0 for an exactly self-consistent Sigma)
    grid : the k quadrature (:class:`KGrid`)
    """

    model: Model
    disorder: PointDisorder
    mu: float
    field: np.ndarray
    vertex_corrections: bool
    self_energy: str
    numerics: KuboNumerics
    sigma: np.ndarray
    vertex_matrix: np.ndarray
    border_residual: float
    scba_iterations: int
    grid: KGrid
    _cache: dict = dc_field(default_factory=dict, repr=False)
    metadata: dict = dc_field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.model.dim
        self.metadata.update({
            "units": {"energy": "eV", "k": "1/nm", "field": "V/nm",
                      "density": f"(operator unit) nm^-{d}", "gamma": f"eV^2 nm^{d}",
                      "charge": "e = -1", "sigma": "eV"},
            "mu": self.mu, "field": self.field.tolist(), "gamma": self.disorder.gamma,
            "vertex_corrections": self.vertex_corrections, "self_energy": self.self_energy,
            "k_points": len(self.grid), "graded_levels": self.grid.n_levels,
        })

    # --- per-node quantities, computed once ---------------------------------------------
    def _nodes(self) -> dict:
        c = self._cache
        if "gr" not in c:
            k = self.grid.k
            h = self.model.hamiltonian(k)
            c["v"] = self.model.velocity(k)  # (P, d, N, N)
            c["gr"] = _retarded(h, self.mu, self.sigma)
            heff = h + self.sigma
            lam, right = np.linalg.eig(heff)
            cond = np.linalg.cond(right)
            bad = ~(cond < self.numerics.ep_condition)
            left = np.linalg.inv(np.where(bad[:, None, None], np.eye(h.shape[-1]), right))
            c.update(h=h, lam=lam, right=right, left=left, ep=bad,
                     pair=_sea_pair_integral(lam, self.mu))
        return c

    def response(self, op) -> KuboDensity:
        """Contributions per unit field along each axis: (d,) arrays (unit per V/nm)."""
        return self._estimated(self._response(op), lambda r: r._response(op))

    def _response(self, op) -> KuboDensity:
        """:meth:`response` without the error estimate."""
        op = as_operator(op, self.model)
        c = self._nodes()
        k, w = self.grid.k, self.grid.weight
        o = op(k)
        gr, v = c["gr"], c["v"]
        ga = _dagger(gr)
        e = ELECTRON_CHARGE
        d = self.model.dim
        # Fermi surface, Eq. (K2)
        og = o @ gr  # (P, N, N)
        rr = np.real(np.einsum("p,pab,pibc,pca->i", w, og, v, gr))
        ra_bare = np.einsum("p,pab,pibc,pca->i", w, og, v, ga)
        gao = ga @ og  # G^A o G^R : Tr[o G^R X G^A] = Tr[X (G^A o G^R)]
        q = np.einsum("p,pab->ab", w, gao)
        ra_vertex = np.einsum("iab,ba->i", self.vertex_matrix, q)
        ra = ra_bare + ra_vertex
        surface = -(e / (2 * np.pi)) * (rr - np.real(ra))
        vertex = (e / (2 * np.pi)) * np.real(ra_vertex)
        # Fermi sea, Eq. (K3)
        sea_sum = np.zeros(d, complex)
        ok = ~c["ep"]
        if np.any(ok):
            lft, rgt = c["left"][ok], c["right"][ok]
            o_t = lft @ o[ok] @ rgt  # O'_{ba} = (L o R)_{ba}
            v_t = lft[:, None] @ v[ok] @ rgt[:, None]  # (P, d, N, N)
            m = np.swapaxes(o_t, -1, -2)[:, None] * v_t  # M_ab = O'_ba V'_ab
            sea_sum += np.einsum("p,piab,pab->i", w[ok], m, c["pair"][ok])
        if np.any(c["ep"]):
            sea_sum += self._contour_sea(c["h"][c["ep"]], v[c["ep"]], o[c["ep"]], w[c["ep"]])
        sea = (e / (2 * np.pi)) * np.real(sea_sum)
        unit = f"{op.unit} nm^-{d} per V/nm"
        return KuboDensity(surface, sea, vertex, unit)

    def _contour_sea(self, h, v, o, w) -> np.ndarray:
        """sum_p w_p sum_ab M_ab I_ab at ill-conditioned nodes, from the contour
        int_{-inf}^{mu} F = -i int_0^inf F(mu + i y) dy, F = Tr[o G G v G - o G v G G]."""
        nodes = self.numerics.contour_nodes
        x, wx = np.polynomial.legendre.leggauss(nodes // 2)
        t = np.concatenate([0.25 * (x + 1), 0.25 * (x + 1) + 0.5])  # two panels on [0, 1)
        wt = np.concatenate([0.25 * wx, 0.25 * wx])
        lam = np.linalg.eigvals(h + self.sigma)
        scale = np.maximum(np.min(np.abs(self.mu - lam), axis=-1), np.max(np.abs(self.sigma)))
        total = np.zeros(v.shape[1], complex)
        for ti, wi in zip(t, wt):
            y = scale * ti / (1 - ti)
            jac = scale / (1 - ti) ** 2
            g = np.linalg.inv((self.mu + 1j * y)[:, None, None] * np.eye(h.shape[-1]) - h - self.sigma)
            gg = g @ g
            # F = sum_ab M_ab (a-b)/((z-a)^2 (z-b)^2) = Tr[o G G v G] - Tr[o G v G G]
            f = (np.einsum("pab,pibc,pca->pi", o @ gg, v, g)
                 - np.einsum("pab,pibc,pca->pi", o @ g, v, gg))
            total += -1j * np.einsum("p,p,pi->i", w, wi * jac, f)
        return total

    def density(self, op) -> KuboDensity:
        """Contributions at the given field (floats), unit (operator unit) nm^-d."""
        return self._estimated(self._density(op), lambda r: r._density(op))

    def _density(self, op) -> KuboDensity:
        r = self._response(op)
        f = self.field
        return KuboDensity(float(np.dot(r.fermi_surface, f)), float(np.dot(r.fermi_sea, f)),
                           float(np.dot(r.vertex, f)), r.unit.replace(" per V/nm", ""))

    def conductivity(self, unit: str = "e2/h") -> KuboDensity:
        """Conductivity tensor sigma_ij = dj_i/dE_j, (d, d) arrays per contribution.

        unit : 'e2/h', 'internal' (e^2/hbar nm^(2-d)) or 'SI' (S m^(2-d)).
        """
        d = self.model.dim
        if unit not in ("internal", "e2/h", "SI"):
            raise ValueError(f"unit must be 'e2/h', 'internal' or 'SI', got {unit!r}")
        tensor = self._estimated(self._conductivity(), lambda r: r._conductivity())
        scale = {"internal": lambda p: p, "e2/h": lambda p: p / E2_OVER_H,
                 "SI": lambda p: conductivity_to_si(p, d)}[unit]
        name = {"internal": f"e^2/hbar nm^{2 - d}", "e2/h": f"e^2/h nm^{2 - d}",
                "SI": conductivity_si_unit(d)}[unit]
        err = None if tensor.error is None else np.abs(scale(tensor.error))
        return KuboDensity(scale(tensor.fermi_surface), scale(tensor.fermi_sea),
                           scale(tensor.vertex), name, err)

    def _conductivity(self) -> KuboDensity:
        """The conductivity tensor in internal units (e^2/hbar nm^(2-d)), no estimate."""
        rows = [self._response(charge_current(self.model, i)) for i in range(self.model.dim)]
        parts = [np.array([getattr(r, p) for r in rows])
                 for p in ("fermi_surface", "fermi_sea", "vertex")]
        return KuboDensity(*parts, unit=f"e^2/hbar nm^{2 - self.model.dim}")


# ----------------------------------------------------------------------------------------
# ladder vertex
# ----------------------------------------------------------------------------------------
def ladder_vertex(
    gr: np.ndarray, v: np.ndarray, weight: np.ndarray, gamma: float, zero_mode: np.ndarray
) -> tuple[np.ndarray, float]:
    """Constant vertex correction Gamma^i = (gamma/2pi) int_k G^R (v^i + Gamma^i) G^A.

    gr : (P, N, N) G^R(k, mu) on the SCBA/ladder domain; v : (P, d, N, N); weight : (P,);
    zero_mode : (N, N) the matrix M0 = Sigma^R - Sigma^A. Bordered solve with the
    neutrality row Tr int_k G^R (v + Gamma) G^A = 0. Returns ((d, N, N) Gamma in eV nm,
    relative size of the Lagrange multiplier).
    """
    n = gr.shape[-1]
    ga = _dagger(gr)
    c = gamma / (2 * np.pi)
    # vec(G^R M G^A) = (G^R kron G^A^T) vec(M) for row-major vec
    kernel = c * np.einsum("p,pac,pdb->abcd", weight, gr, ga).reshape(n * n, n * n)
    source = c * np.einsum("p,pac,picd,pdb->iab", weight, gr, v, ga).reshape(-1, n * n)
    q = np.einsum("p,pab,pbc->ac", weight, ga, gr)  # int G^A G^R
    row = q.T.reshape(n * n)  # Tr[M q] = vec(M) . vec(q^T)
    null = zero_mode.reshape(n * n)
    null = null / max(np.linalg.norm(null), 1e-300)
    bordered = np.zeros((n * n + 1, n * n + 1), complex)
    bordered[: n * n, : n * n] = np.eye(n * n) - kernel
    bordered[: n * n, n * n] = null
    bordered[n * n, : n * n] = row
    out, resid = [], 0.0
    for i in range(v.shape[1]):
        bare_density = np.einsum("p,pab,pbc,pca->", weight, gr, v[:, i], ga)  # Tr int G^R v G^A
        rhs = np.concatenate([source[i], [-bare_density]])
        sol = np.linalg.solve(bordered, rhs)
        out.append(sol[: n * n].reshape(n, n))
        scale = max(np.linalg.norm(source[i]), 1e-300)
        resid = max(resid, float(abs(sol[-1]) / scale))
    return np.array(out), resid


# ----------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------
def solve_uniform_kubo(
    model: Model,
    disorder: PointDisorder,
    mu: float,
    field,
    *,
    vertex_corrections: bool = True,
    self_energy: str = "scba",
    tol: float | None = 1e-3,
    observables=None,
    budget: float | None = None,
    **numerics,
) -> KuboResponse:
    """T = 0 Kubo-Bastin response of a uniform 2D system with point disorder.

    Parameters
    ----------
    model : a 2D :class:`~mesokinetics.models.base.Model`: continuum (star-shaped Fermi
        surfaces about k = 0, polar grid) or lattice (``TightBinding``: adaptive
        Brillouin-zone grid, options bz_*)
    disorder : :class:`~mesokinetics.disorder.PointDisorder`, gamma in eV^2 nm^2
    mu : chemical potential (eV)
    field : electric field (V/nm), 2 components
    vertex_corrections : True for the ladder vertex (paper Eq. 6), False for CBA
    self_energy : "scba" (self-consistent, anti-Hermitian part) or "born" (Sigma =
        -i (gamma/2) D(mu) with the clean matrix DOS, the kinetic engine's rates)
    tol, observables, budget : requested relative accuracy of the conductivity (and of
        the ``observables`` operators), as in :func:`mesokinetics.solve_uniform`: the k
        grid is checked at 3/4 and 1/2 of ``angles`` and ``order`` (continuum) or of
        ``bz_cells`` and ``bz_order`` (lattice) and refined until the estimate meets tol;
        ``tol=None`` solves once without estimate
    **numerics : see :class:`KuboNumerics` (angles, order, ratio, far, ...); the ones
        given are used as they are (checked, never refined)

    Returns a :class:`KuboResponse`; ``density(op)`` gives fermi_surface, fermi_sea,
    vertex and total (operator unit nm^-2).
    """
    mu, field, _ = validate_inputs(model, disorder, mu, field, 0.0)
    tol, budget = check_tol(tol), check_budget(budget)
    if not isinstance(vertex_corrections, (bool, np.bool_)):
        raise ValueError(f"vertex_corrections must be True or False, got {vertex_corrections!r}")
    if self_energy not in ("scba", "born"):
        raise ValueError(f"self_energy must be 'scba' or 'born', got {self_energy!r}")
    num = KuboNumerics.from_kwargs(numerics)
    given = set(numerics)
    if model.dim != 2:
        raise ValueError(f"the Kubo solver supports 2D models only, got a {model.dim}D model")
    lattice = sampler_of(model) is not None
    if lattice and getattr(model, "lattice_vectors", None) is None:
        raise NotImplementedError(
            "the Kubo solver integrates continuum models on polar grids about k = 0 and "
            "lattice models (with lattice_vectors) on the Brillouin zone; this model has a "
            "custom sampler but no lattice"
        )
    solve = functools.partial(_solve_kubo, model, disorder, mu, field, vertex_corrections,
                              self_energy, lattice)
    if tol is None:
        return solve(num)
    ops = [as_operator(op, model) for op in (observables or [])]
    names = (("bz_cells", 2), ("bz_order", 1)) if lattice else (("angles", 4), ("order", 2))
    axes = [Axis(name, int(getattr(num, name)), low, fixed=name in given) for name, low in names]

    def probes(result: KuboResponse) -> list:
        return ([(result._conductivity().total, CONDUCTIVITY_SCALE)]
                + [result._response(op).total for op in ops])

    return converge(lambda s: solve(replace(num, **s)), probes, axes, tol=tol, budget=budget)


def _solve_kubo(model: Model, disorder: PointDisorder, mu: float, field: np.ndarray,
                vertex_corrections: bool, self_energy: str, lattice: bool,
                num: KuboNumerics) -> KuboResponse:
    """One Kubo solve at the numerics ``num`` (inputs validated by the caller)."""
    gamma = float(disorder.gamma)
    n = model.size
    shell = sample_shell(model, mu, Numerics(angles=max(num.angles, 16), scan_points=num.scan_points))
    dos = matrix_dos(shell) if not shell.empty else np.zeros((n, n), complex)
    born = -0.5j * gamma * dos
    # smallest Born broadening Gamma = (gamma/2) x eigenvalue of D: sets the finest panels
    gamma_min = float(np.min(np.linalg.eigvalsh(0.25 * gamma * (dos + _dagger(dos)))))
    gamma_min = max(gamma_min, 1e-12 * max(gamma * float(np.real(np.trace(dos))), 1e-300))
    if lattice and not shell.empty:
        # the Lorentzian width of band n at k_F is (gamma/2) <n|D|n>, which a matrix DOS
        # with a small eigenvalue (orbital-polarized shells) would underestimate
        vec = shell.bands.vectors
        widths = 0.5 * gamma * np.real(np.einsum("pan,ab,pbn->pn", np.conj(vec), dos, vec))
        on_shell = shell.bands.group[None, :] == np.asarray(shell.band)[:, None]
        gamma_min = max(gamma_min, float(np.min(np.where(on_shell, widths, np.inf))))
    grid = build_grid(model, mu, gamma_min, num)
    inner = grid.inner
    h_in = model.hamiltonian(grid.k[inner])
    iterations = 0
    if shell.empty:
        sigma = np.zeros((n, n), complex)
    elif self_energy == "born":
        sigma = born
    else:
        sigma, iterations = scba_self_energy(h_in, grid.weight[inner], mu, gamma, dos,
                                             num.scba_tol, num.scba_max_iter)
    d = model.dim
    vertex = np.zeros((d, n, n), complex)
    resid = 0.0
    if vertex_corrections and not shell.empty:
        gr_in = _retarded(h_in, mu, sigma)
        v_in = model.velocity(grid.k[inner])
        vertex, resid = ladder_vertex(gr_in, v_in, grid.weight[inner], gamma, sigma - _dagger(sigma))
    return KuboResponse(model, disorder, mu, field, bool(vertex_corrections), self_energy, num,
                        sigma, vertex, resid, iterations, grid)
