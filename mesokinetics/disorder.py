"""Weak scalar point disorder in the self-consistent Born approximation (paper Eqs. 3-4).

docs/theory.md §3 (hbar = 1):

* strength gamma = 2 pi n_i v0^2 (eV^2 nm^d)
* matrix density of states D(E) = sum_q int_k delta(eps_q - E) P_q(k)   (N x N, eV^-1 nm^-d)
* out-scattering rate 1/tau_n(k) = (gamma / w_n) Tr[P_n(k) D(eps_n)]        (eV)
* kernel W_nq(k, k') = (gamma / w_n) Tr[P_n(k) P_q(k')]; the scattering-in term is
  (gamma / w_n) Tr[P_n(k) S] with the shell moment S = sum_q int_k delta P_q g_q.

Shell moments are handled as real coefficient vectors in an orthonormal basis of
Hermitian matrices (:func:`hermitian_coefficients`), which keeps every solve real-linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.base import Model
from .numerics import Numerics
from .sampling import Shell, sample_shell
from .units import fs_to_internal


def hermitian_coefficients(m: np.ndarray) -> np.ndarray:
    """Real coefficients c_a = Tr[B_a M] of Hermitian M in an orthonormal Hermitian basis.

    Basis (Tr[B_a B_b] = delta_ab): E_jj; (E_jk + E_kj)/sqrt 2 and i(E_jk - E_kj)/sqrt 2
    for j < k. Input (..., N, N), output (..., N^2). For Hermitian M, sum_a c_a B_a = M.
    """
    n = m.shape[-1]
    iu = np.triu_indices(n, 1)
    diag = np.real(np.diagonal(m, axis1=-2, axis2=-1))
    upper = m[..., iu[0], iu[1]]
    return np.concatenate(
        [diag, np.sqrt(2) * np.real(upper), np.sqrt(2) * np.imag(upper)], axis=-1
    )


def hermitian_from_coefficients(c: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`hermitian_coefficients`: (..., N^2) -> (..., N, N)."""
    c = np.asarray(c, float)
    iu = np.triu_indices(n, 1)
    npair = len(iu[0])
    m = np.zeros(c.shape[:-1] + (n, n), dtype=complex)
    idx = np.arange(n)
    m[..., idx, idx] = c[..., :n]
    upper = (c[..., n : n + npair] + 1j * c[..., n + npair :]) / np.sqrt(2)
    m[..., iu[0], iu[1]] = upper
    m[..., iu[1], iu[0]] = np.conj(upper)
    return m


@dataclass(frozen=True)
class PointDisorder:
    """Scalar point scatterers, gamma = 2 pi n_i v0^2 in eV^2 nm^d (hbar = 1).

    Use :meth:`from_tau` or :meth:`from_mean_free_path` to specify the disorder by the
    Fermi-level relaxation time or mean free path instead.
    """

    gamma: float

    def __post_init__(self):
        g = self.gamma
        if not isinstance(g, (int, float, np.floating, np.integer)) or not np.isfinite(g) or g <= 0:
            raise ValueError(f"gamma must be a positive number (eV^2 nm^d), got {g!r}")

    @staticmethod
    def _fermi_shell(model: Model, mu: float, numerics: Numerics | None, what: str) -> Shell:
        shell = sample_shell(model, mu, numerics)
        if shell.empty:
            raise ValueError(
                f"mu = {mu} eV has no Fermi surface (it lies in a gap or outside the bands); "
                f"disorder cannot be specified by a {what} there: give gamma directly"
            )
        return shell

    @classmethod
    def from_tau(
        cls, model: Model, mu: float, tau_fs: float, numerics: Numerics | None = None
    ) -> "PointDisorder":
        """Disorder whose Fermi-surface averaged scattering rate at ``mu`` is 1/tau.

        The average is weighted by the density of states, <1/tau> = gamma Tr[D^2] / Tr[D]
        (exact for a single band: 1/tau = gamma D). ``tau_fs`` in femtoseconds, mu in eV.
        """
        if not np.isfinite(tau_fs) or tau_fs <= 0:
            raise ValueError(f"tau_fs must be a positive time in fs, got {tau_fs!r}")
        shell = cls._fermi_shell(model, mu, numerics, "relaxation time")
        dos = matrix_dos(shell)
        tau = fs_to_internal(tau_fs)
        return cls(float(np.real(np.trace(dos)) / (tau * np.real(np.trace(dos @ dos)))))

    @classmethod
    def from_mean_free_path(
        cls, model: Model, mu: float, mean_free_path: float, numerics: Numerics | None = None
    ) -> "PointDisorder":
        """Disorder with mean free path l = <|v|> tau at ``mu`` (nm), <.> the DOS average."""
        if not np.isfinite(mean_free_path) or mean_free_path <= 0:
            raise ValueError(f"mean_free_path must be a positive length in nm, got {mean_free_path!r}")
        shell = cls._fermi_shell(model, mu, numerics, "mean free path")
        dos = matrix_dos(shell)
        w = shell.weight * shell.multiplicity
        speed = np.sum(w * np.linalg.norm(shell.velocity, axis=-1)) / np.sum(w)
        tau = mean_free_path / speed
        return cls(float(np.real(np.trace(dos)) / (tau * np.real(np.trace(dos @ dos)))))

    def scattering_rates(self, shell: Shell, traces: np.ndarray | None = None) -> np.ndarray:
        """1/tau_n(k) at the shell points (eV): (gamma / w_n) Tr[P_n D]. ``traces``:
        :func:`shell_traces` of the shell if already computed."""
        traces = shell_traces(shell) if traces is None else traces
        return self.gamma * traces @ hermitian_coefficients(matrix_dos(shell, traces)) / (
            shell.multiplicity
        )

    def relaxation_times(self, shell: Shell, traces: np.ndarray | None = None) -> np.ndarray:
        """tau_n(k) at the shell points in hbar/eV (multiply by 0.6582 for fs)."""
        rate = self.scattering_rates(shell, traces)
        if np.any(~(rate > 0)):
            bad = np.argmin(np.where(np.isfinite(rate), rate, -np.inf))
            raise ValueError(
                f"the scattering rate vanishes at shell point k = {shell.k[bad].tolist()} "
                f"(band {shell.band[bad]}): the state is decoupled from all others, so its "
                "Boltzmann response is infinite"
            )
        return 1.0 / rate


def shell_traces(shell: Shell) -> np.ndarray:
    """T_pa = Tr[B_a P_n(k_p)] for every shell point p (band n = shell.band[p]), (P, N^2)."""
    u = shell.bands.vectors
    mask = shell.eigen_mask[:, None, :]
    proj = (u * mask) @ np.conj(np.swapaxes(u, -1, -2))
    return hermitian_coefficients(proj)


def matrix_dos(shell: Shell, traces: np.ndarray | None = None) -> np.ndarray:
    """Matrix density of states D = sum_q int_k delta(eps_q - E) P_q (N x N, eV^-1 nm^-d);
    ``traces``: :func:`shell_traces` of the shell if already computed."""
    n = shell.bands.model.size
    if shell.empty:
        return np.zeros((n, n), complex)
    coeff = shell.weight @ (shell_traces(shell) if traces is None else traces)
    return hermitian_from_coefficients(coeff, n)
