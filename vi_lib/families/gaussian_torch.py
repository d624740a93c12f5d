"""Gaussian variational families in torch: mean-field and full-rank, reparameterised.

Both follow the conventions of ``torch.distributions``: :meth:`rsample` draws differentiably
(:math:`z = m + L \\epsilon`, :math:`\\epsilon \\sim \\mathcal{N}(0, I)`), :meth:`sample` draws without
gradients, :meth:`log_prob` scores points of shape ``(..., d)`` and :meth:`entropy` is closed-form.
Their parameters are ``torch.nn.Parameter`` s, so any torch optimiser fits them; the fitting loop is
:func:`vi_lib.inference.torch_vi.fit_vi_torch`, which takes these families and the normalizing flows
of :mod:`vi_lib.families.flows` interchangeably.

Scales are kept positive through an exponential: the mean-field family stores
:math:`\\log \\sigma_i` (the ``log_std`` of :func:`vi_lib.fit_bbvi`), the full-rank family the strictly
lower triangle of its Cholesky factor and the logarithm of its diagonal.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import (
    ValidationError,
    check_finite,
    check_int,
    check_positive,
    check_shape,
    check_tensor,
    describe,
)

__all__ = ["MeanFieldGaussian", "FullRankGaussian"]

_LOG_2PI = math.log(2.0 * math.pi)


def _check_dtype(dtype: Any, where: str) -> torch.dtype:
    if dtype not in (torch.float32, torch.float64):
        raise ValidationError(f"{where}: `dtype` must be torch.float32 or torch.float64; received {dtype!r}.")
    return dtype


def _sample_shape(sample_shape: Any, where: str) -> tuple[int, ...]:
    """``sample_shape`` as a tuple of non-negative ints (an int n means ``(n,)``)."""
    if isinstance(sample_shape, (int, np.integer)) and not isinstance(sample_shape, bool):
        sample_shape = (sample_shape,)
    ok = isinstance(sample_shape, (tuple, list, torch.Size)) and all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in sample_shape)
    if not ok:
        raise ValidationError(f"{where}: `sample_shape` must be a non-negative int or a tuple of them; "
                              f"received {describe(sample_shape)}.")
    return tuple(int(n) for n in sample_shape)


def _check_generator(generator: Any, where: str) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValidationError(f"{where}: `generator` must be a torch.Generator or None; received "
                              f"{type(generator).__name__}.")


class _Family(nn.Module):
    """What every variational family of the torch side offers (the loop relies on nothing else).

    Subclasses set ``self._dim`` and implement ``_rsample_and_log_prob(n, generator)`` on flat
    batches ``(n, d)`` and ``_log_prob(z)`` on ``(n, d)``.
    """

    _dim: int

    @property
    def dim(self) -> int:
        """Dimension d of the latent variable."""
        return self._dim

    @property
    def dtype(self) -> torch.dtype:
        """Floating-point type of the parameters (and of every draw)."""
        return next(self.parameters()).dtype

    def _eps(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        p = next(self.parameters())
        return torch.randn(n, self._dim, generator=generator, dtype=p.dtype, device=p.device)

    def rsample(self, sample_shape: Any = (), generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised draws: differentiable with respect to the parameters.

        Parameters
        ----------
        sample_shape : int or tuple of int
            Leading shape of the batch of draws (``()`` for one draw).
        generator : torch.Generator or None
            Source of the standard-normal noise; ``None`` uses torch's global generator.

        Returns
        -------
        torch.Tensor of shape (\\*sample_shape, d)
            The draws.
        """
        where = f"{type(self).__name__}.rsample"
        shape = _sample_shape(sample_shape, where)
        _check_generator(generator, where)
        n = math.prod(shape)
        z, _ = self._rsample_and_log_prob(n, generator)
        return z.reshape(*shape, self._dim)

    def sample(self, sample_shape: Any = (), generator: torch.Generator | None = None) -> torch.Tensor:
        """Draws without gradients (:meth:`rsample` under ``torch.no_grad()``).

        Parameters
        ----------
        sample_shape : int or tuple of int
            Leading shape of the batch of draws (``()`` for one draw).
        generator : torch.Generator or None
            Source of the standard-normal noise; ``None`` uses torch's global generator.

        Returns
        -------
        torch.Tensor of shape (\\*sample_shape, d)
            The draws, detached.
        """
        with torch.no_grad():
            return self.rsample(sample_shape, generator)

    def rsample_and_log_prob(self, n: int, generator: torch.Generator | None = None
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` reparameterised draws and :math:`\\log q` at each, in one pass.

        For a flow this is much cheaper than :meth:`log_prob` of the draws, which inverts the flow.

        Parameters
        ----------
        n : int
            Number of draws (at least 1).
        generator : torch.Generator or None
            Source of the standard-normal noise; ``None`` uses torch's global generator.

        Returns
        -------
        tuple of torch.Tensor
            ``(z, log_q)`` of shapes (n, d) and (n,), both differentiable.
        """
        where = f"{type(self).__name__}.rsample_and_log_prob"
        n = check_int("n", n, minimum=1, where=where)
        _check_generator(generator, where)
        return self._rsample_and_log_prob(n, generator)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log density :math:`\\log q(z)` at each point of ``z``.

        Parameters
        ----------
        z : torch.Tensor of shape (..., d)
            Points, in the dtype of the family.

        Returns
        -------
        torch.Tensor of shape (...)
            :math:`\\log q(z)` in nats.
        """
        where = f"{type(self).__name__}.log_prob"
        z = check_tensor("z", z, where=where, last_dim=self._dim)
        flat = z.reshape(-1, self._dim).to(self.dtype)
        return self._log_prob(flat).reshape(z.shape[:-1])


def _check_dim(dim: Any, where: str) -> int:
    return check_int("dim", dim, minimum=1, where=where)


def _init_loc(loc: Any, dim: int, where: str) -> np.ndarray:
    if loc is None:
        return np.zeros(dim)
    return check_finite("loc", check_shape("loc", loc, (dim,), where=where), where=where)


class MeanFieldGaussian(_Family):
    """Mean-field Gaussian :math:`q(z) = \\prod_i \\mathcal{N}(z_i; m_i, \\sigma_i^2)` in torch.

    .. math::

        z = m + \\sigma \\odot \\epsilon, \\qquad
        H[q] = \\sum_{i=1}^d \\log \\sigma_i + \\frac d2 \\log(2 \\pi e).

    The parameters are ``loc`` (:math:`m`) and ``log_scale`` (:math:`\\log \\sigma`).

    Parameters
    ----------
    dim : int
        Dimension d (at least 1).
    loc : array of shape (d,) or None
        Initial mean (default zeros).
    scale : float or array of shape (d,)
        Initial standard deviations, positive (default 1).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    References
    ----------
    blei2017variational, kucukelbir2017automatic

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, dim: int, *, loc: Any = None, scale: Any = 1.0, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        where = "MeanFieldGaussian"
        self._dim = _check_dim(dim, where)
        dtype = _check_dtype(dtype, where)
        m = _init_loc(loc, self._dim, where)
        s = check_positive("scale", scale, where=where)
        if np.ndim(s) == 0:
            s = np.full(self._dim, s)
        s = check_shape("scale", s, (self._dim,), where=where)
        self.loc = nn.Parameter(torch.tensor(m, dtype=dtype))
        self.log_scale = nn.Parameter(torch.tensor(np.log(s), dtype=dtype))

    @property
    def scale(self) -> torch.Tensor:
        """Standard deviations :math:`\\sigma = e^{\\text{log\\_scale}}`, shape (d,)."""
        return self.log_scale.exp()

    @property
    def scale_tril(self) -> torch.Tensor:
        """Cholesky factor :math:`\\operatorname{diag}(\\sigma)` of the covariance, shape (d, d)."""
        return torch.diag(self.scale)

    @property
    def covariance_matrix(self) -> torch.Tensor:
        """Covariance :math:`\\operatorname{diag}(\\sigma^2)`, shape (d, d)."""
        return torch.diag(self.scale**2)

    def entropy(self) -> torch.Tensor:
        """Closed-form entropy :math:`\\sum_i \\log \\sigma_i + (d/2) \\log(2 \\pi e)` in nats (0-D tensor)."""
        return self.log_scale.sum() + 0.5 * self._dim * (_LOG_2PI + 1.0)

    def _rsample_and_log_prob(self, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        eps = self._eps(n, generator)
        z = self.loc + self.scale * eps
        log_q = -0.5 * (eps**2).sum(-1) - self.log_scale.sum() - 0.5 * self._dim * _LOG_2PI
        return z, log_q

    def _log_prob(self, z: torch.Tensor) -> torch.Tensor:
        u = (z - self.loc) / self.scale
        return -0.5 * (u**2).sum(-1) - self.log_scale.sum() - 0.5 * self._dim * _LOG_2PI


class FullRankGaussian(_Family):
    """Full-rank Gaussian :math:`q(z) = \\mathcal{N}(z; m, L L^\\top)` in torch.

    .. math::

        z = m + L \\epsilon, \\qquad
        H[q] = \\sum_{i=1}^d \\log L_{ii} + \\frac d2 \\log(2 \\pi e),

    with :math:`L` lower triangular and :math:`L_{ii} = e^{\\ell_i} > 0`. The parameters are ``loc``
    (:math:`m`), ``tril_offdiag`` (whose strictly lower triangle is that of :math:`L`; the rest is
    unused) and ``log_diag`` (:math:`\\ell`).

    Parameters
    ----------
    dim : int
        Dimension d (at least 1).
    loc : array of shape (d,) or None
        Initial mean (default zeros).
    scale_tril : array of shape (d, d) or None
        Initial Cholesky factor: lower triangular with a positive diagonal (default the identity).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    References
    ----------
    kucukelbir2017automatic, titsias2014doubly

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, dim: int, *, loc: Any = None, scale_tril: Any = None,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        where = "FullRankGaussian"
        self._dim = d = _check_dim(dim, where)
        dtype = _check_dtype(dtype, where)
        m = _init_loc(loc, d, where)
        if scale_tril is None:
            L = np.eye(d)
        else:
            L = check_finite("scale_tril", check_shape("scale_tril", scale_tril, (d, d), where=where), where=where)
            if np.any(np.triu(L, 1) != 0):
                raise ValidationError(f"{where}: `scale_tril` must be lower triangular (zeros above the "
                                      f"diagonal); received {describe(L)}.")
            check_positive("scale_tril", np.diag(L), where=where)
        self.loc = nn.Parameter(torch.tensor(m, dtype=dtype))
        self.tril_offdiag = nn.Parameter(torch.tensor(np.tril(L, -1), dtype=dtype))
        self.log_diag = nn.Parameter(torch.tensor(np.log(np.diag(L)), dtype=dtype))

    @property
    def scale_tril(self) -> torch.Tensor:
        """Cholesky factor :math:`L` of the covariance, shape (d, d)."""
        return torch.tril(self.tril_offdiag, -1) + torch.diag(self.log_diag.exp())

    @property
    def covariance_matrix(self) -> torch.Tensor:
        """Covariance :math:`L L^\\top`, shape (d, d)."""
        L = self.scale_tril
        return L @ L.T

    def entropy(self) -> torch.Tensor:
        """Closed-form entropy :math:`\\sum_i \\log L_{ii} + (d/2) \\log(2 \\pi e)` in nats (0-D tensor)."""
        return self.log_diag.sum() + 0.5 * self._dim * (_LOG_2PI + 1.0)

    def _rsample_and_log_prob(self, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        eps = self._eps(n, generator)
        z = self.loc + eps @ self.scale_tril.T
        log_q = -0.5 * (eps**2).sum(-1) - self.log_diag.sum() - 0.5 * self._dim * _LOG_2PI
        return z, log_q

    def _log_prob(self, z: torch.Tensor) -> torch.Tensor:
        u = torch.linalg.solve_triangular(self.scale_tril, (z - self.loc).T, upper=False).T
        return -0.5 * (u**2).sum(-1) - self.log_diag.sum() - 0.5 * self._dim * _LOG_2PI


def _check_family(family: Any, where: str, name: str = "family") -> _Family:
    if not isinstance(family, _Family):
        raise ValidationError(f"{where}: `{name}` must be a variational family (MeanFieldGaussian, "
                              f"FullRankGaussian or NormalizingFlow); received {type(family).__name__}.")
    return family
