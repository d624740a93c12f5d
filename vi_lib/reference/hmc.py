"""A reference posterior by Hamiltonian Monte Carlo, computed independently of VI.

The sampler is preconditioned with the Laplace approximation and its chains are summarised with the
convergence diagnostics of :mod:`vi_lib.reference.diagnostics`.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._validation import (
    ValidationError,
    check_finite,
    check_int,
    check_positive,
    check_rng,
    check_shape,
    float64_guard,
)
from ..models.logistic import BayesianLogisticRegression, _check_model
from ..models.toy_targets import _TorchTarget
from .diagnostics import effective_sample_size, split_rhat
from .laplace import laplace_approximation

__all__ = [
    "hmc_sample",
    "ReferencePosterior",
    "reference_posterior",
]


def _numpy_target(model: Any, where: str) -> tuple[int, Callable, Callable]:
    """``(dim, log_joint, grad_log_joint)`` on NumPy arrays (S, D), for either kind of model."""
    if isinstance(model, BayesianLogisticRegression):
        return model.dim, model.log_joint, model.grad_log_joint
    if not isinstance(model, _TorchTarget):
        raise ValidationError(
            f"{where}: `model` must be a BayesianLogisticRegression or a torch target of vi_lib.models "
            f"(EightSchools, NealFunnel, Banana, GaussianMixture2D); received {type(model).__name__}."
        )

    def log_joint(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model.log_joint(torch.as_tensor(z, dtype=torch.float64)).numpy()

    def grad_log_joint(z: np.ndarray) -> np.ndarray:
        zt = torch.as_tensor(z, dtype=torch.float64).clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model.log_joint(zt).sum(), zt)
        return grad.numpy()

    return model.dim, log_joint, grad_log_joint


@float64_guard
def hmc_sample(
    model: Any,
    init: Any,
    *,
    n_draws: int,
    n_warmup: int,
    step_size: float,
    n_leapfrog: int,
    rng: np.random.Generator,
    precond_chol: Any = None,
) -> tuple[np.ndarray, float]:
    """Hamiltonian Monte Carlo for several chains in parallel (vectorised over chains).

    Runs in whitened coordinates :math:`z = c + L u` (``L = precond_chol``, ``c`` the mean of
    ``init``), i.e. with mass matrix :math:`(L L^\\top)^{-1}`; with L the Cholesky factor of the
    Laplace covariance the target is close to isotropic. Each iteration draws momenta
    :math:`r \\sim \\mathcal{N}(0, I)`, jitters the step size uniformly in [0.8, 1.2] times
    ``step_size``, runs ``n_leapfrog`` leapfrog steps and accepts with the Metropolis probability.

    Parameters
    ----------
    model : BayesianLogisticRegression or EightSchools or NealFunnel or Banana or GaussianMixture2D
        Target (its log joint is the unnormalised log posterior). For the torch targets the log joint
        and its gradient (by autograd) are evaluated in float64.
    init : array of shape (C, D)
        Initial states of the C chains.
    n_draws : int
        Draws kept per chain after warm-up (at least 1).
    n_warmup : int
        Iterations discarded per chain (at least 0).
    step_size : float
        Leapfrog step size in whitened coordinates (positive).
    n_leapfrog : int
        Leapfrog steps per iteration (at least 1).
    rng : numpy.random.Generator
        Source of randomness.
    precond_chol : array of shape (D, D), optional
        Lower-triangular preconditioner L (default identity).

    Returns
    -------
    tuple
        ``(draws, acceptance_rate)``: draws of shape (C, n_draws, D) and the mean acceptance
        probability after warm-up.

    References
    ----------
    neal2011mcmc

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "hmc_sample"
    dim, log_joint, grad_log_joint = _numpy_target(model, where)
    z0 = check_finite("init", check_shape("init", init, (None, dim), where=where), where=where)
    n_draws = check_int("n_draws", n_draws, minimum=1, where=where)
    n_warmup = check_int("n_warmup", n_warmup, minimum=0, where=where)
    step_size = check_positive("step_size", step_size, where=where)
    n_leapfrog = check_int("n_leapfrog", n_leapfrog, minimum=1, where=where)
    rng = check_rng(rng, where)
    L = (
        np.eye(dim)
        if precond_chol is None
        else check_finite(
            "precond_chol",
            check_shape("precond_chol", precond_chol, (dim, dim), where=where),
            where=where,
        )
    )
    center = z0.mean(axis=0)
    u = np.linalg.solve(L, (z0 - center).T).T

    def logp_grad(u_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z_ = center + u_ @ L.T
        return log_joint(z_), grad_log_joint(z_) @ L

    lp, g = logp_grad(u)
    n_chains = u.shape[0]
    draws = np.empty((n_chains, n_draws, dim))
    acc = []
    for it in range(n_warmup + n_draws):
        r = rng.standard_normal(u.shape)
        h = step_size * rng.uniform(0.8, 1.2)
        u_new, r_new = u.copy(), r + 0.5 * h * g
        for k in range(n_leapfrog):
            u_new = u_new + h * r_new
            lp_new, g_new = logp_grad(u_new)
            if k < n_leapfrog - 1:
                r_new = r_new + h * g_new
        r_new = r_new + 0.5 * h * g_new
        log_ratio = lp_new - 0.5 * np.sum(r_new**2, axis=1) - (lp - 0.5 * np.sum(r**2, axis=1))
        log_ratio = np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
        accept = np.log(rng.uniform(size=n_chains)) < log_ratio
        u = np.where(accept[:, None], u_new, u)
        lp = np.where(accept, lp_new, lp)
        g = np.where(accept[:, None], g_new, g)
        if it >= n_warmup:
            draws[:, it - n_warmup] = center + u @ L.T
            acc.append(np.minimum(1.0, np.exp(np.minimum(log_ratio, 0.0))))
    return draws, float(np.mean(acc))



@dataclass(frozen=True)
class ReferencePosterior:
    """MCMC reference posterior with its diagnostics.

    Attributes
    ----------
    draws : numpy.ndarray of shape (C, N, D)
        Post-warm-up draws of every chain.
    mean : numpy.ndarray of shape (D,)
        Posterior mean estimate.
    std : numpy.ndarray of shape (D,)
        Posterior marginal standard deviations.
    mcse_mean : numpy.ndarray of shape (D,)
        Monte Carlo standard error of ``mean`` (``std / sqrt(ess)``).
    rhat : numpy.ndarray of shape (D,)
        Split-R-hat per coordinate.
    ess : numpy.ndarray of shape (D,)
        Effective sample size per coordinate.
    acceptance_rate : float
        Mean HMC acceptance probability.
    """

    draws: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    mcse_mean: np.ndarray
    rhat: np.ndarray
    ess: np.ndarray
    acceptance_rate: float



@float64_guard
def reference_posterior(
    model: BayesianLogisticRegression,
    rng: np.random.Generator,
    *,
    n_chains: int = 4,
    n_draws: int = 1000,
    n_warmup: int = 200,
    step_size: float = 0.5,
    n_leapfrog: int = 8,
) -> ReferencePosterior:
    """Reference posterior by Laplace-preconditioned HMC, started from over-dispersed points.

    The chains start at the Laplace mode plus twice its standard deviations times standard normal
    noise, run in coordinates whitened by the Laplace covariance (:func:`hmc_sample`), and are
    summarised with :func:`split_rhat` and :func:`effective_sample_size`.

    Parameters
    ----------
    model : BayesianLogisticRegression
        The model.
    rng : numpy.random.Generator
        Source of randomness.
    n_chains : int
        Number of chains (at least 2, for R-hat).
    n_draws : int
        Draws kept per chain.
    n_warmup : int
        Warm-up iterations per chain.
    step_size : float
        Leapfrog step size in whitened coordinates.
    n_leapfrog : int
        Leapfrog steps per iteration.

    Returns
    -------
    ReferencePosterior
        Draws, moments and diagnostics.

    References
    ----------
    neal2011mcmc, gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "reference_posterior"
    rng = check_rng(rng, where)
    _check_model(model, where)
    n_chains = check_int("n_chains", n_chains, minimum=2, where=where)
    n_draws = check_int("n_draws", n_draws, minimum=1, where=where)
    n_warmup = check_int("n_warmup", n_warmup, minimum=0, where=where)
    step_size = check_positive("step_size", step_size, where=where)
    n_leapfrog = check_int("n_leapfrog", n_leapfrog, minimum=1, where=where)
    mode, cov = laplace_approximation(model)
    L = np.linalg.cholesky(cov)
    init = mode + 2.0 * rng.standard_normal((n_chains, model.dim)) @ L.T
    draws, acc = hmc_sample(
        model,
        init,
        n_draws=n_draws,
        n_warmup=n_warmup,
        step_size=step_size,
        n_leapfrog=n_leapfrog,
        rng=rng,
        precond_chol=L,
    )
    flat = draws.reshape(-1, model.dim)
    ess = effective_sample_size(draws)
    std = flat.std(axis=0, ddof=1)
    return ReferencePosterior(draws, flat.mean(axis=0), std, std / np.sqrt(ess), split_rhat(draws), ess, acc)
