"""Targets with hard geometry, in torch and normalised: Neal's funnel, a banana, a bimodal mixture in 2-D.

Each has a torch :meth:`log_prob` (a normalised density, so its log evidence is 0 and every ELBO is
a lower bound on 0), an exact sampler and closed-form first two moments, so a variational fit can be
checked against the truth without MCMC. :meth:`log_joint` is the same function under the name the
fitting loops expect.

* :class:`NealFunnel`: :math:`v \\sim \\mathcal{N}(0, 3^2)`, :math:`x_i \\mid v \\sim \\mathcal{N}(0, e^v)`;
  the scale of :math:`x` changes by orders of magnitude along :math:`v` (Neal, 2003).
* :class:`Banana`: a Gaussian bent by :math:`z_2 \\mapsto z_2 + b (z_1^2 - s_1^2)`, a shear of unit
  Jacobian (Haario et al., 1999).
* :class:`GaussianMixture2D`: isotropic Gaussian components; the default is the two-dimensional
  version of the bimodal target of the KL chapter (:func:`vi_lib.mixture_log_pdf` with weights
  (1/2, 1/2), means :math:`\\pm 3` and unit scales), whose first coordinate has exactly that density.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_scalar,
    check_shape,
    check_tensor,
    describe,
)

__all__ = ["NealFunnel", "Banana", "GaussianMixture2D"]

_LOG_2PI = math.log(2.0 * math.pi)


def _normal_log_pdf(x: torch.Tensor, log_std: Any) -> torch.Tensor:
    """log N(x; 0, e^{2 log_std}), elementwise."""
    return -0.5 * x**2 * torch.exp(-2.0 * torch.as_tensor(log_std, dtype=x.dtype)) - log_std - 0.5 * _LOG_2PI


def _check_generator(generator: Any, where: str) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValidationError(f"{where}: `generator` must be a torch.Generator or None; received "
                              f"{type(generator).__name__}.")


class _TorchTarget:
    """A target whose log joint is written in torch: ``dim`` and ``_log_joint`` on (..., dim) tensors."""

    dim: int

    def _z(self, z: Any, method: str, name: str = "z") -> torch.Tensor:
        return check_tensor(name, z, where=f"{type(self).__name__}.{method}", last_dim=self.dim)

    def log_joint(self, z: torch.Tensor) -> torch.Tensor:
        """Log joint :math:`\\log p(x, z)` at each point of ``z`` (torch, differentiable).

        Parameters
        ----------
        z : torch.Tensor of shape (..., d)
            Points of the (unconstrained) latent space.

        Returns
        -------
        torch.Tensor of shape (...)
            The log joint in nats.
        """
        return self._log_joint(self._z(z, "log_joint"))


class _NormalisedTarget(_TorchTarget):
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised log density :math:`\\log p(z)` at each point of ``z`` (the same as :meth:`log_joint`).

        Parameters
        ----------
        z : torch.Tensor of shape (..., d)
            Points.

        Returns
        -------
        torch.Tensor of shape (...)
            The log density in nats.
        """
        return self._log_joint(self._z(z, "log_prob"))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact draws from the target (float64).

        Parameters
        ----------
        n : int
            Number of draws (at least 1).
        generator : torch.Generator or None
            Source of randomness; ``None`` uses torch's global generator.

        Returns
        -------
        torch.Tensor of shape (n, d)
            Independent draws.
        """
        where = f"{type(self).__name__}.sample"
        n = check_int("n", n, minimum=1, where=where)
        _check_generator(generator, where)
        return self._sample(n, generator)


class NealFunnel(_NormalisedTarget):
    """Neal's funnel in d dimensions: :math:`z = (v, x_1, \\dots, x_{d-1})`.

    .. math::

        \\log p(z) = \\log \\mathcal{N}(v; 0, s^2)
        + \\sum_{i=1}^{d-1} \\log \\mathcal{N}(x_i; 0, e^{v}).

    Mean 0; covariance :math:`\\operatorname{diag}(s^2, e^{s^2/2}, \\dots, e^{s^2/2})`.

    Parameters
    ----------
    dim : int
        Dimension d (at least 2).
    v_std : float
        Standard deviation s of :math:`v` (positive; Neal used 3).

    References
    ----------
    neal2003slice, betancourt2015hamiltonian

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, dim: int = 2, v_std: float = 3.0) -> None:
        where = "NealFunnel"
        self.dim = check_int("dim", dim, minimum=2, where=where)
        self.v_std = check_scalar("v_std", v_std, where, positive=True)

    @property
    def mean(self) -> np.ndarray:
        """Exact mean (zeros), shape (d,)."""
        return np.zeros(self.dim)

    @property
    def covariance(self) -> np.ndarray:
        """Exact covariance, shape (d, d)."""
        return np.diag([self.v_std**2] + [math.exp(self.v_std**2 / 2)] * (self.dim - 1))

    def _log_joint(self, z: torch.Tensor) -> torch.Tensor:
        v, x = z[..., 0], z[..., 1:]
        return _normal_log_pdf(v, math.log(self.v_std)) + _normal_log_pdf(x, 0.5 * v[..., None]).sum(-1)

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        v = self.v_std * eps[:, :1]
        return torch.cat([v, torch.exp(0.5 * v) * eps[:, 1:]], dim=1)


class Banana(_NormalisedTarget):
    """A banana-shaped 2-D density: a Gaussian sheared along a parabola.

    .. math::

        z_1 \\sim \\mathcal{N}(0, s_1^2), \\qquad
        z_2 \\mid z_1 \\sim \\mathcal{N}\\bigl(b (z_1^2 - s_1^2), s_2^2\\bigr).

    The map :math:`(z_1, z_2) \\mapsto (z_1, z_2 - b (z_1^2 - s_1^2))` has unit Jacobian, so the density
    is normalised. Mean 0; covariance :math:`\\operatorname{diag}(s_1^2, s_2^2 + 2 b^2 s_1^4)`.

    Parameters
    ----------
    std1 : float
        Standard deviation :math:`s_1` of :math:`z_1` (positive).
    std2 : float
        Conditional standard deviation :math:`s_2` of :math:`z_2` (positive).
    curvature : float
        Bend b (finite; 0 gives a Gaussian).

    References
    ----------
    haario1999adaptive

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    dim = 2

    def __init__(self, std1: float = 2.0, std2: float = 1.0, curvature: float = 0.25) -> None:
        where = "Banana"
        self.std1 = check_scalar("std1", std1, where, positive=True)
        self.std2 = check_scalar("std2", std2, where, positive=True)
        self.curvature = check_scalar("curvature", curvature, where)

    @property
    def mean(self) -> np.ndarray:
        """Exact mean (zeros), shape (2,)."""
        return np.zeros(2)

    @property
    def covariance(self) -> np.ndarray:
        """Exact covariance, shape (2, 2)."""
        return np.diag([self.std1**2, self.std2**2 + 2.0 * self.curvature**2 * self.std1**4])

    def _log_joint(self, z: torch.Tensor) -> torch.Tensor:
        z1, z2 = z[..., 0], z[..., 1]
        resid = z2 - self.curvature * (z1**2 - self.std1**2)
        return _normal_log_pdf(z1, math.log(self.std1)) + _normal_log_pdf(resid, math.log(self.std2))

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        z1 = self.std1 * eps[:, 0]
        return torch.stack([z1, self.curvature * (z1**2 - self.std1**2) + self.std2 * eps[:, 1]], dim=1)


class GaussianMixture2D(_NormalisedTarget):
    """A mixture of isotropic 2-D Gaussians :math:`p(z) = \\sum_k w_k \\mathcal{N}(z; m_k, s_k^2 I)`.

    With the defaults it is bimodal, with modes at :math:`(\\pm 3, 0)`; its first coordinate has the
    density of the KL chapter's 1-D mixture. Mean :math:`\\sum_k w_k m_k`; covariance
    :math:`\\sum_k w_k (s_k^2 I + m_k m_k^\\top) - \\bar m \\bar m^\\top`.

    Parameters
    ----------
    weights : array of shape (K,)
        Mixture weights, non-negative, summing to 1 (default (0.5, 0.5)).
    means : array of shape (K, 2)
        Component means (default ((-3, 0), (3, 0))).
    stds : array of shape (K,)
        Component standard deviations, positive (default (1, 1)).

    References
    ----------
    bishop2006pattern

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    dim = 2

    def __init__(self, weights: Any = (0.5, 0.5), means: Any = ((-3.0, 0.0), (3.0, 0.0)),
                 stds: Any = (1.0, 1.0)) -> None:
        where = "GaussianMixture2D"
        w = check_finite("weights", as_array("weights", weights, ndim=1, where=where), where=where)
        if w.size == 0 or np.any(w < 0) or abs(w.sum() - 1.0) > 1e-9:
            raise ValidationError(f"{where}: `weights` must be non-negative and sum to 1; received {describe(w)}.")
        self.weights = w
        self.means = check_finite("means", check_shape("means", means, (w.size, 2), where=where), where=where)
        self.stds = np.asarray(check_positive("stds", check_shape("stds", stds, (w.size,), where=where),
                                              where=where), dtype=np.float64)

    @property
    def mean(self) -> np.ndarray:
        """Exact mean, shape (2,)."""
        return self.weights @ self.means

    @property
    def covariance(self) -> np.ndarray:
        """Exact covariance, shape (2, 2)."""
        m = self.mean
        second = np.einsum("k,ki,kj->ij", self.weights, self.means, self.means)
        return second + np.eye(2) * float(self.weights @ self.stds**2) - np.outer(m, m)

    def _log_joint(self, z: torch.Tensor) -> torch.Tensor:
        means = torch.as_tensor(self.means, dtype=z.dtype, device=z.device)
        log_s = torch.as_tensor(np.log(self.stds), dtype=z.dtype, device=z.device)
        with np.errstate(divide="ignore"):
            log_w = torch.as_tensor(np.log(self.weights), dtype=z.dtype, device=z.device)
        sq = ((z[..., None, :] - means) ** 2).sum(-1)
        comp = log_w - 0.5 * sq * torch.exp(-2.0 * log_s) - 2.0 * log_s - _LOG_2PI
        return torch.logsumexp(comp, dim=-1)

    def _sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        w = torch.as_tensor(self.weights, dtype=torch.float64)
        k = torch.multinomial(w, n, replacement=True, generator=generator)
        eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        means = torch.as_tensor(self.means, dtype=torch.float64)
        stds = torch.as_tensor(self.stds, dtype=torch.float64)
        return means[k] + stds[k, None] * eps
