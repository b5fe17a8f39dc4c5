"""Where the assumptions of the theory fail on a Fermi surface: :class:`ValidityWarning`.

The kinetic theory of Valet & Raimondi is the leading order in hbar/(tau Delta) and
1/(k_F l) (docs/theory.md §5, §13). A solve still returns numbers outside that regime,
so each solver checks the shells it solved on and warns, naming the quantity, its value
and what to do:

* interband gap x tau below ``GAP_TAU_MIN`` at a shell point (a band crossing or an
  avoided crossing near mu): the interband terms diverge as 1/gap there;
* k_F l below ``KF_L_MIN`` (continuum models; k_F the DOS-weighted |k| on the shell):
  weak localization and the O(1/(k_F l)) corrections are no longer small;
* (after the solve, :mod:`mesokinetics.symmetry`) symmetry-forbidden conductivity
  components above 1e-3 of the tensor: the Brillouin sampling breaks the model's point
  group (hexagonal lattices, bcc/fcc primitive cells at too coarse a ``bz_grid``).

At T > 0 only the energy nodes carrying at least ``NODE_WEIGHT_MIN`` of the thermal
weight are checked: the window cut at critical energies puts nodes next to a band
crossing or edge several kT from mu (at 100 K with the Rashba crossing 5.8 kT below mu,
a node 5.5e-5 eV from it: gap x tau 0.017 at weight 1e-4), where the theory fails on a
sliver of the window that cannot move the result by more than its weight.

Degenerate bands need no check: every solver carries their matrix distribution
(docs/theory.md §12); the gap check flags near-degeneracies that are neither resolved nor
exact.

Every message is also recorded in the result's ``validity`` list (and, through the
workflow, in result.json). Units: gaps in eV, tau in hbar/eV, lengths in nm.
"""

from __future__ import annotations

import warnings

import numpy as np


#: Smallest interband gap x tau (hbar = 1) at a shell point before the warning.
GAP_TAU_MIN = 10.0
#: Smallest k_F l before the warning.
KF_L_MIN = 10.0


class ValidityWarning(UserWarning):
    """The assumptions of the kinetic theory fail on the sampled Fermi surface."""


def _min_gap_tau(solution) -> tuple[float, int]:
    """Smallest |e_a - E| tau over eigenvalues a outside the point's own band, and the
    shell point where it occurs."""
    shell = solution.shell
    gaps = np.abs(shell.bands.eigenvalues - shell.energy)  # (P, N)
    gaps = np.where(shell.eigen_mask, np.inf, gaps)
    per_point = np.min(gaps, axis=1, initial=np.inf) * solution.tau
    p = int(np.argmin(per_point))
    return float(per_point[p]), p


def _kf_l(solution) -> float:
    """DOS-weighted k_F times the DOS-weighted mean free path |v| tau (continuum)."""
    shell = solution.shell
    w = shell.weight * shell.multiplicity
    kf = np.sum(w * np.linalg.norm(shell.k, axis=1)) / np.sum(w)
    ell = np.sum(w * np.linalg.norm(shell.velocity, axis=1) * solution.tau) / np.sum(w)
    return float(kf * ell)


def validity_messages(solutions, *, continuum: bool) -> list[str]:
    """Messages for the assumptions that fail on the solved shells (the worst case of
    each kind over all shells; empty if none)."""
    solutions = [s for s in solutions if s is not None]
    if not solutions:
        return []
    out = []
    gaps = [(_min_gap_tau(s), s) for s in solutions]
    (gap_tau, p), sol = min(gaps, key=lambda g: g[0][0])
    if gap_tau < GAP_TAU_MIN:
        k = np.array2string(sol.shell.k[p], precision=4)
        out.append(
            f"interband gap x tau = {gap_tau:.3g} (hbar = 1) < {GAP_TAU_MIN:g} at k = {k} "
            f"1/nm on the shell E = {sol.shell.energy:.6g} eV: the theory assumes gaps >> "
            "hbar/tau (a band crossing near mu, or scattering too strong for this gap); move "
            "mu away from the crossing, weaken the disorder, or use the Kubo check "
            "(mesokinetics.kubo)")
    if continuum:
        kfl, sol = min(((_kf_l(s), s) for s in solutions), key=lambda x: x[0])
        if kfl < KF_L_MIN:
            out.append(f"k_F l = {kfl:.3g} < {KF_L_MIN:g} on the shell E = "
                       f"{sol.shell.energy:.6g} eV: corrections of order 1/(k_F l) beyond "
                       "this theory are not small; use weaker disorder")
    return out


#: the smallest thermal weight of an energy node whose shell is checked (the default tol)
NODE_WEIGHT_MIN = 1e-3


def check_nodes(nodes, *, continuum: bool, stacklevel: int) -> list[str]:
    """Validity messages over the solved energy nodes of weight >= ``NODE_WEIGHT_MIN``
    (module docstring), warned as :class:`ValidityWarning` and returned for the
    result's ``validity`` list."""
    heavy = [n for n in nodes if n.weight >= NODE_WEIGHT_MIN]
    messages = validity_messages([n.solution for n in heavy], continuum=continuum)
    for msg in messages:
        warnings.warn(msg, ValidityWarning, stacklevel=stacklevel + 1)
    return messages


def warn_new_messages(messages: list[str], recorded: list | None, *, stacklevel: int) -> list[str]:
    """Warn each message not yet in ``recorded`` (a result's ``validity`` list, or None:
    warn all) as :class:`ValidityWarning` and append it there; returns the new ones.
    For checks made after the solve (the symmetry of a conductivity,
    :mod:`mesokinetics.symmetry`), which may run again on the same result."""
    new = [m for m in messages if recorded is None or m not in recorded]
    for msg in new:
        warnings.warn(msg, ValidityWarning, stacklevel=stacklevel + 1)
        if recorded is not None:
            recorded.append(msg)
    return new
