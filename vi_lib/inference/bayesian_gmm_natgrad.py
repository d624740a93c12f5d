"""The natural gradient of the Bayesian-mixture ELBO, checked with autograd (Hoffman et al. 2013, Eqs. 23-25).

Hold the responsibilities fixed. For a global factor :math:`q(\\theta) = h(\\theta) \\exp(\\lambda^\\top
t(\\theta) - A(\\lambda))` whose complete conditional has natural parameter :math:`\\hat\\lambda` (prior plus
expected statistics), the ELBO as a function of :math:`\\lambda` is, up to a constant,

.. math::

    \\mathcal{L}(\\lambda) = (\\hat\\lambda - \\lambda)^\\top \\nabla A(\\lambda) + A(\\lambda), \\qquad
    \\nabla_\\lambda \\mathcal{L} = \\nabla^2 A(\\lambda)\\, (\\hat\\lambda - \\lambda),

and :math:`\\nabla^2 A(\\lambda)` is the Fisher information of :math:`q`. The natural gradient
:math:`(\\nabla^2 A)^{-1} \\nabla \\mathcal{L}` is therefore :math:`\\hat\\lambda - \\lambda`, and a step of size
1 is the CAVI update. The identity holds in any affine coordinates :math:`\\phi` of :math:`\\lambda`
(the gradient and the Hessian of :math:`A` pick up the same linear map), which is why the flat vector
here may use :math:`\\alpha` and :math:`\\nu` rather than :math:`\\alpha - 1` and :math:`\\nu - D`.

The flat vector (:func:`bgmm_flat_natural`) holds each symmetric :math:`S_k` by its
:math:`D(D+1)/2` lower-triangular entries: the map from them to :math:`S_k` is linear and injective. With
all :math:`D^2` entries as free coordinates the log-normaliser would depend only on the symmetric part,
so its Hessian would be singular along antisymmetric directions and the Fisher solve undefined.

* :func:`bgmm_log_normalizer_torch`: :math:`A(\\phi)` of the Dirichlet and K Normal-Wisharts;
* :func:`bgmm_elbo_torch`: :func:`vi_lib.bgmm_elbo` as a differentiable function of :math:`\\phi`;
* :func:`bgmm_natural_gradient_check`: :math:`\\hat\\phi - \\phi` next to the autograd
  :math:`(\\nabla^2 A)^{-1} \\nabla \\mathcal{L}`.

All in float64 torch, for small K and D (the Hessian is a dense square matrix of the flat size).

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._validation import ValidationError, check_int, describe, float64_guard
from ..models.bayesian_gmm import BayesianGMMPrior, _check_data, _check_prior
from .bayesian_gmm import BayesianGMMVariational, _check_q, _check_resp, _update_globals
from .bayesian_gmm_svi import _to_natural

__all__ = ["bgmm_flat_natural", "bgmm_log_normalizer_torch", "bgmm_elbo_torch", "bgmm_natural_gradient_check"]

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)


def _flat_size(dim: int, k: int) -> int:
    return k * (3 + dim + dim * (dim + 1) // 2)


def bgmm_flat_natural(q: BayesianGMMVariational) -> np.ndarray:
    """The global factors as one flat vector of natural-parameter coordinates (about the origin).

    .. math::

        \\phi &= \\big(\\alpha_{1:K},\\ \\beta_{1:K},\\ (\\beta_k m_k)_{k=1}^K,\\
        (\\mathrm{tril}\\, S_k)_{k=1}^K,\\ \\nu_{1:K}\\big), \\\\
        S_k &= W_k^{-1} + \\beta_k m_k m_k^\\top,

    of length :math:`K (3 + D + D(D+1)/2)`, with :math:`\\mathrm{tril}` the row-major lower triangle
    (``torch.tril_indices``).

    Parameters
    ----------
    q : BayesianGMMVariational
        Global factors with K components over D dimensions.

    Returns
    -------
    numpy.ndarray of shape (K (3 + D + D(D+1)/2),)
        :math:`\\phi`, float64.

    References
    ----------
    hoffman2013stochastic (Section 2.3).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    q = _check_q(q, "bgmm_flat_natural")
    eta = _to_natural(q, np.zeros(q.dim))
    rows, cols = np.tril_indices(q.dim)
    return np.concatenate([eta.concentration, eta.mean_precision, eta.precision_mean.ravel(),
                           eta.second_moment[:, rows, cols].ravel(), eta.dof])


def _check_flat(eta_flat: Any, dim: int, k: int, where: str) -> torch.Tensor:
    if not isinstance(eta_flat, torch.Tensor):
        if isinstance(eta_flat, np.ndarray):
            eta_flat = torch.as_tensor(eta_flat, dtype=torch.float64)
        else:
            raise ValidationError(f"{where}: `eta_flat` must be a float64 torch.Tensor (or numpy array) of shape "
                                  f"({_flat_size(dim, k)},); received {type(eta_flat).__name__}.")
    if eta_flat.dtype != torch.float64 or tuple(eta_flat.shape) != (_flat_size(dim, k),):
        raise ValidationError(f"{where}: `eta_flat` must be a float64 tensor of shape ({_flat_size(dim, k)},) "
                              f"for D = {dim}, K = {k}; received {describe(eta_flat)}.")
    if not bool(torch.all(torch.isfinite(eta_flat.detach()))):
        raise ValidationError(f"{where}: `eta_flat` must be finite (no NaN or infinity); received "
                              f"{describe(eta_flat)}.")
    return eta_flat


def _unflatten(eta: torch.Tensor, d: int, k: int) -> tuple[torch.Tensor, ...]:
    """alpha, beta, m, W^{-1}, nu from the flat coordinates (differentiable)."""
    t = d * (d + 1) // 2
    alpha, beta = eta[:k], eta[k:2 * k]
    bm = eta[2 * k:2 * k + k * d].reshape(k, d)
    tri = eta[2 * k + k * d:2 * k + k * d + k * t].reshape(k, t)
    nu = eta[2 * k + k * d + k * t:]
    rows, cols = torch.tril_indices(d, d)
    lower = torch.zeros(k, d, d, dtype=eta.dtype)
    lower[:, rows, cols] = tri
    s = lower + lower.transpose(1, 2) - torch.diag_embed(torch.diagonal(lower, dim1=1, dim2=2))
    m = bm / beta[:, None]
    w_inv = s - beta[:, None, None] * (m[:, :, None] * m[:, None, :])
    return alpha, beta, m, w_inv, nu


def _log_normalizer(eta: torch.Tensor, d: int, k: int) -> torch.Tensor:
    alpha, beta, _, w_inv, nu = _unflatten(eta, d, k)
    i = torch.arange(1, d + 1, dtype=eta.dtype)
    log_det_w = -torch.logdet(w_inv)
    dirichlet = torch.sum(torch.lgamma(alpha)) - torch.lgamma(torch.sum(alpha))
    nw = -0.5 * d * torch.log(beta) + 0.5 * d * _LOG_2PI + 0.5 * nu * log_det_w + 0.5 * nu * d * math.log(2.0) \
        + 0.25 * d * (d - 1) * _LOG_PI + torch.sum(torch.lgamma(0.5 * (nu[:, None] + 1.0 - i)), dim=1)
    return dirichlet + torch.sum(nw)


@float64_guard
def bgmm_log_normalizer_torch(eta_flat: torch.Tensor, dim: int, n_components: int) -> torch.Tensor:
    """Log-normaliser :math:`A(\\phi)` of :math:`q(\\pi) \\prod_k q(\\mu_k, \\Lambda_k)` in the flat coordinates.

    .. math::

        A &= \\sum_k \\ln\\Gamma(\\alpha_k) - \\ln\\Gamma\\Big(\\sum_k \\alpha_k\\Big) \\\\
        &\\quad + \\sum_k \\Big[-\\tfrac{D}{2} \\ln \\beta_k + \\tfrac{D}{2} \\ln 2\\pi
        - \\ln B(W_k, \\nu_k)\\Big], \\\\
        -\\ln B(W, \\nu) &= \\tfrac{\\nu}{2} \\ln |W| + \\tfrac{\\nu D}{2} \\ln 2
        + \\tfrac{D(D-1)}{4} \\ln \\pi \\\\
        &\\quad + \\sum_{i=1}^D \\ln\\Gamma\\big(\\tfrac{\\nu + 1 - i}{2}\\big),

    with :math:`W_k^{-1} = S_k - \\beta_k m_k m_k^\\top` recovered from :math:`\\phi` (the base measure is 1 in
    these coordinates). Its gradient is the expected sufficient statistics and its Hessian the Fisher
    information of :math:`q`.

    Parameters
    ----------
    eta_flat : torch.Tensor of shape (K (3 + D + D(D+1)/2),)
        Flat coordinates (:func:`bgmm_flat_natural`), float64, finite, inside the natural parameter space.
    dim : int
        Data dimension D, at least 1.
    n_components : int
        Number of components K, at least 1.

    Returns
    -------
    torch.Tensor
        The scalar :math:`A(\\phi)`, differentiable in ``eta_flat``.

    References
    ----------
    hoffman2013stochastic (Eqs. 23-25); bishop2006pattern (Eqs. B.23 and B.79).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_log_normalizer_torch"
    d = check_int("dim", dim, minimum=1, where=where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    return _log_normalizer(_check_flat(eta_flat, d, k, where), d, k)


def _elbo(x: torch.Tensor, resp: torch.Tensor, eta: torch.Tensor, prior: BayesianGMMPrior) -> torch.Tensor:
    n, d = x.shape
    k = resp.shape[1]
    alpha, beta, m, w_inv, nu = _unflatten(eta, d, k)
    i = torch.arange(1, d + 1, dtype=eta.dtype)
    log_det_w = -torch.logdet(w_inv)
    e_log_pi = torch.digamma(alpha) - torch.digamma(torch.sum(alpha))
    e_log_det = torch.sum(torch.digamma(0.5 * (nu[:, None] + 1.0 - i)), dim=1) + d * math.log(2.0) + log_det_w
    diff = x[:, None, :] - m[None, :, :]  # (N, K, D)
    sol = torch.linalg.solve(w_inv[None].expand(n, k, d, d), diff[..., None])[..., 0]  # W_k (x_n - m_k)
    maha = torch.sum(diff * sol, dim=-1)
    log_rho = e_log_pi + 0.5 * e_log_det - 0.5 * d * _LOG_2PI - 0.5 * (d / beta + nu * maha)
    positive = resp > 0
    data = torch.sum(resp * log_rho) - torch.sum(resp[positive] * torch.log(resp[positive]))
    # The terms without data (Bishop Eqs. 10.73, 10.74, 10.76, 10.77), as in vi_lib.bgmm_elbo.
    alpha0, beta0, nu0 = prior.concentration, prior.mean_precision, prior.dof
    m0 = torch.as_tensor(prior.mean, dtype=eta.dtype)
    w0_inv = torch.as_tensor(np.linalg.inv(prior.scale), dtype=eta.dtype)
    log_c0 = math.lgamma(k * alpha0) - k * math.lgamma(alpha0)
    log_c = torch.lgamma(torch.sum(alpha)) - torch.sum(torch.lgamma(alpha))
    dirichlet = log_c0 + (alpha0 - 1.0) * torch.sum(e_log_pi) - (torch.sum((alpha - 1.0) * e_log_pi) + log_c)
    d0 = m0[None, :] - m
    maha0 = torch.sum(d0 * torch.linalg.solve(w_inv, d0[..., None])[..., 0], dim=-1)
    trace = torch.einsum("ij,kji->k", w0_inv, torch.linalg.inv(w_inv))

    def log_b(log_det: Any, dof: Any) -> Any:
        lg = sum(torch.lgamma(torch.as_tensor(0.5 * (dof + 1.0 - j), dtype=eta.dtype)) for j in range(1, d + 1))
        return -0.5 * dof * log_det - (0.5 * dof * d * math.log(2.0) + 0.25 * d * (d - 1) * _LOG_PI + lg)

    log_b0 = log_b(float(np.linalg.slogdet(prior.scale)[1]), nu0)
    log_p = torch.sum(0.5 * (d * math.log(beta0 / (2.0 * math.pi)) + e_log_det - d * beta0 / beta
                             - beta0 * nu * maha0)) + k * log_b0 + 0.5 * (nu0 - d - 1.0) * torch.sum(e_log_det) \
        - 0.5 * torch.sum(nu * trace)
    entropy = -log_b(log_det_w, nu) - 0.5 * (nu - d - 1.0) * e_log_det + 0.5 * nu * d
    log_q = torch.sum(0.5 * e_log_det + 0.5 * d * torch.log(beta / (2.0 * math.pi)) - 0.5 * d - entropy)
    return data + dirichlet + log_p - log_q


@float64_guard
def bgmm_elbo_torch(x: np.ndarray, resp: np.ndarray, eta_flat: torch.Tensor, prior: BayesianGMMPrior
                    ) -> torch.Tensor:
    """:func:`vi_lib.bgmm_elbo` as a differentiable torch function of the flat natural coordinates.

    .. math::

        \\mathcal{L}(\\phi) &= \\sum_{nk} r_{nk} (\\ln \\rho_{nk}(\\phi) - \\ln r_{nk})
        + \\mathbb{E}[\\ln p(\\pi)] \\\\
        &\\quad + \\mathbb{E}[\\ln p(\\mu, \\Lambda)]
        - \\mathbb{E}[\\ln q(\\pi)] - \\mathbb{E}[\\ln q(\\mu, \\Lambda)],

    the same terms as the NumPy version (Bishop Eqs. 10.70-10.77) with the responsibilities held fixed,
    written in float64 torch so that autograd gives :math:`\\nabla_\\phi \\mathcal{L}`.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    resp : array of shape (N, K)
        Responsibilities (held fixed): non-negative rows summing to one.
    eta_flat : torch.Tensor of shape (K (3 + D + D(D+1)/2),)
        Flat coordinates (:func:`bgmm_flat_natural`), float64, finite; may require grad.
    prior : BayesianGMMPrior
        Prior over D dimensions.

    Returns
    -------
    torch.Tensor
        The scalar ELBO in nats (+ELBO, not a loss).

    References
    ----------
    bishop2006pattern (Eqs. 10.70-10.77); hoffman2013stochastic (Eq. 23).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_elbo_torch"
    x = _check_data(x, where)
    r = _check_resp(resp, x.shape[0], where)
    prior = _check_prior(prior, where, dim=x.shape[1])
    eta = _check_flat(eta_flat, x.shape[1], r.shape[1], where)
    return _elbo(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(r, dtype=torch.float64), eta, prior)


@float64_guard
def bgmm_natural_gradient_check(x: np.ndarray, resp: np.ndarray, q: BayesianGMMVariational,
                                prior: BayesianGMMPrior) -> tuple[np.ndarray, np.ndarray]:
    """The natural gradient two ways: :math:`\\hat\\phi - \\phi` and the autograd Fisher solve.

    .. math::

        \\hat\\phi - \\phi \\quad \\text{and} \\quad
        \\big(\\nabla^2_\\phi A(\\phi)\\big)^{-1} \\nabla_\\phi \\mathcal{L}(\\phi),

    where :math:`\\phi` = ``bgmm_flat_natural(q)``, :math:`\\hat\\phi` = ``bgmm_flat_natural(
    bgmm_update_globals(x, resp, prior))`` (the CAVI update), the gradient is autograd's of
    :func:`bgmm_elbo_torch` and the Hessian autograd's of :func:`bgmm_log_normalizer_torch`. They agree
    (Hoffman et al. 2013, Eq. 25) up to rounding.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    resp : array of shape (N, K)
        Responsibilities (held fixed): non-negative rows summing to one.
    q : BayesianGMMVariational
        Global factors with K components over D dimensions, where the gradient is taken.
    prior : BayesianGMMPrior
        Prior over D dimensions.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray)
        :math:`\\hat\\phi - \\phi` and the Fisher-preconditioned autograd gradient, float64, each of shape
        (K (3 + D + D(D+1)/2),).

    References
    ----------
    hoffman2013stochastic (Eqs. 23-25).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_natural_gradient_check"
    x = _check_data(x, where)
    r = _check_resp(resp, x.shape[0], where)
    k = r.shape[1]
    q = _check_q(q, where, dim=x.shape[1], k=k)
    prior = _check_prior(prior, where, dim=x.shape[1])
    d = x.shape[1]
    phi = bgmm_flat_natural(q)
    phi_hat = bgmm_flat_natural(_update_globals(x, r, prior))
    eta = torch.tensor(phi, dtype=torch.float64, requires_grad=True)
    grad = torch.autograd.grad(_elbo(torch.as_tensor(x), torch.as_tensor(r), eta, prior), eta)[0]
    fisher = torch.autograd.functional.hessian(lambda v: _log_normalizer(v, d, k), eta.detach())
    natural = torch.linalg.solve(fisher, grad)
    return phi_hat - phi, natural.detach().numpy()
