"""Kullback-Leibler divergences and entropies in closed form, plus a Monte Carlo estimator.

All values are in nats (natural logarithms). Divide by ``log(2)`` for bits.

Explained in Chapter: KL divergence and why its direction matters (chapters/kl_divergence.ipynb).

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_positive_definite,
    check_probability_vector,
    check_shape,
    describe,
    float64_guard,
)

__all__ = [
    "kl_normal",
    "kl_mvn",
    "kl_categorical",
    "entropy_normal",
    "entropy_mvn",
    "kl_monte_carlo",
]


@float64_guard
def kl_normal(mu_q: Any, sigma_q: Any, mu_p: Any, sigma_p: Any) -> Any:
    r"""KL divergence between two univariate Gaussians, :math:`\mathrm{KL}(q \,\|\, p)`, in nats.

    With :math:`q = \mathcal{N}(\mu_q, \sigma_q^2)`, :math:`p = \mathcal{N}(\mu_p, \sigma_p^2)` and
    :math:`r = \sigma_q / \sigma_p`,

    .. math::

        \mathrm{KL}(q \,\|\, p) = \tfrac12 \left(r^2 - 1 - \log r^2\right)
        + \frac{(\mu_q - \mu_p)^2}{2 \sigma_p^2}.

    The first term is evaluated as ``expm1(t) - t`` with ``t = 2 log r`` so that scales from
    1e-6 to 1e6 give finite, accurate values.

    Parameters
    ----------
    mu_q, sigma_q : float or ndarray
        Mean and standard deviation (> 0) of :math:`q`; broadcast together with the others.
    mu_p, sigma_p : float or ndarray
        Mean and standard deviation (> 0) of :math:`p`.

    Returns
    -------
    float or ndarray
        The divergence (a float if every input is a scalar).

    References
    ----------
    kullback1951information, cover2006elements
    """
    where = "kl_normal"
    mu_q = check_finite("mu_q", mu_q, where=where)
    mu_p = check_finite("mu_p", mu_p, where=where)
    sigma_q = np.asarray(check_positive("sigma_q", sigma_q, where=where))
    sigma_p = np.asarray(check_positive("sigma_p", sigma_p, where=where))
    try:
        mu_q, sigma_q, mu_p, sigma_p = np.broadcast_arrays(mu_q, sigma_q, mu_p, sigma_p)
    except ValueError:
        raise ValidationError(f"{where}: the arguments must broadcast to a common shape; received shapes "
                              f"{np.shape(mu_q)}, {np.shape(sigma_q)}, {np.shape(mu_p)}, "
                              f"{np.shape(sigma_p)}.") from None
    t = 2.0 * (np.log(sigma_q) - np.log(sigma_p))
    out = 0.5 * (np.expm1(t) - t) + 0.5 * ((mu_q - mu_p) / sigma_p) ** 2
    return float(out) if out.ndim == 0 else out



@float64_guard
def kl_mvn(mean_q: Any, cov_q: Any, mean_p: Any, cov_p: Any) -> float:
    r"""KL divergence between multivariate Gaussians, :math:`\mathrm{KL}(q \,\|\, p)`, in nats.

    .. math::

        \mathrm{KL}(q \,\|\, p) = \tfrac12\Big[&\operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
        + (\mu_p - \mu_q)^\top \Sigma_p^{-1} (\mu_p - \mu_q) \\
        &- d + \log\det\Sigma_p - \log\det\Sigma_q\Big].

    Computed with Cholesky factors :math:`L_p, L_q`: the trace is the squared Frobenius norm of
    :math:`L_p^{-1} L_q` and the log-determinants are sums of log-diagonals.

    Parameters
    ----------
    mean_q : ndarray, shape (d,)
        Mean of :math:`q`.
    cov_q : ndarray, shape (d, d)
        Covariance of :math:`q` (symmetric positive definite).
    mean_p : ndarray, shape (d,)
        Mean of :math:`p`.
    cov_p : ndarray, shape (d, d)
        Covariance of :math:`p` (symmetric positive definite).

    Returns
    -------
    float
        The divergence.

    References
    ----------
    kullback1951information, bishop2006pattern
    """
    where = "kl_mvn"
    mean_q = check_finite("mean_q", as_array("mean_q", mean_q, ndim=1, where=where), where=where)
    d = mean_q.shape[0]
    mean_p = check_finite("mean_p", check_shape("mean_p", mean_p, (d,), where=where), where=where)
    cov_q = check_positive_definite("cov_q", check_shape("cov_q", cov_q, (d, d), where=where), where=where)
    cov_p = check_positive_definite("cov_p", check_shape("cov_p", cov_p, (d, d), where=where), where=where)
    lq = np.linalg.cholesky(cov_q)
    lp = np.linalg.cholesky(cov_p)
    m = np.linalg.solve(lp, lq)
    diff = np.linalg.solve(lp, mean_p - mean_q)
    logdet = 2.0 * (np.sum(np.log(np.diag(lp))) - np.sum(np.log(np.diag(lq))))
    return float(0.5 * (np.sum(m**2) + diff @ diff - d + logdet))



def kl_categorical(p: Any, q: Any, *, atol: float | None = None) -> float:
    r"""KL divergence between categorical distributions, :math:`\mathrm{KL}(p \,\|\, q)`, in nats.

    .. math::

        \mathrm{KL}(p \,\|\, q) = \sum_k p_k \log \frac{p_k}{q_k},

    with the conventions :math:`0 \log(0/q) = 0` and :math:`p \log(p/0) = +\infty` for
    :math:`p > 0`. The function therefore returns ``inf`` (it does not raise) when ``q`` puts zero
    probability on a category to which ``p`` gives positive probability.

    Parameters
    ----------
    p, q : ndarray or torch.Tensor, shape (K,)
        Probability vectors: non-negative entries summing to 1 within ``atol``. Float32 input (a
        float32 softmax, say) is accepted at float32 precision; entries are renormalised in
        float64 before use.
    atol : float or None
        Tolerance on the sum; ``None`` (default) picks it from each argument's dtype:
        ``max(1e-9, 4 K eps)`` with ``eps`` the machine epsilon (``1e-9`` for float64, about
        ``4.8e-6`` for 10 float32 entries).

    Returns
    -------
    float
        The divergence, possibly ``inf``.

    References
    ----------
    cover2006elements
    """
    where = "kl_categorical"
    if atol is not None:
        atol = check_positive("atol", atol, allow_zero=True, where=where)
    p_in, q_in = p, q
    p = as_array("p", p, ndim=1, where=where)
    check_shape("q", q, p.shape, where=where)
    p = check_probability_vector("p", p_in, where=where, atol=atol)
    q = check_probability_vector("q", q_in, where=where, atol=atol)
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(q[support]))))



def entropy_normal(sigma: Any) -> Any:
    r"""Differential entropy of :math:`\mathcal{N}(\mu, \sigma^2)`: :math:`\tfrac12\log(2\pi e\sigma^2)` nats.

    Parameters
    ----------
    sigma : float or ndarray
        Standard deviation(s), > 0.

    Returns
    -------
    float or ndarray
        :math:`-\mathbb{E}[\log q(z)]`.

    References
    ----------
    cover2006elements
    """
    sigma = np.asarray(check_positive("sigma", sigma, where="entropy_normal"))
    out = 0.5 * np.log(2.0 * np.pi * np.e) + np.log(sigma)
    return float(out) if out.ndim == 0 else out



def entropy_mvn(cov: Any) -> float:
    r"""Differential entropy of :math:`\mathcal{N}(\mu, \Sigma)`: :math:`\tfrac12\log\det(2\pi e\Sigma)` nats.

    Parameters
    ----------
    cov : ndarray, shape (d, d)
        Covariance (symmetric positive definite).

    Returns
    -------
    float
        The entropy.

    References
    ----------
    cover2006elements
    """
    cov = check_positive_definite("cov", cov, where="entropy_mvn")
    d = cov.shape[0]
    logdet = 2.0 * np.sum(np.log(np.diag(np.linalg.cholesky(cov))))
    return float(0.5 * d * np.log(2.0 * np.pi * np.e) + 0.5 * logdet)



def kl_monte_carlo(log_p: Callable[[np.ndarray], np.ndarray], log_q: Callable[[np.ndarray], np.ndarray],
                   sample_q: Callable[[int, np.random.Generator], np.ndarray], n: int,
                   rng: np.random.Generator) -> tuple[float, float]:
    r"""Monte Carlo estimate of :math:`\mathrm{KL}(q \,\|\, p)` with its standard error.

    .. math::

        \widehat{\mathrm{KL}} = \frac1n \sum_{s=1}^n \left[\log q(z_s) - \log p(z_s)\right],
        \qquad z_s \sim q.

    Parameters
    ----------
    log_p, log_q : callable
        Map an array of ``n`` samples to an array of ``n`` log-densities (normalised).
    sample_q : callable
        ``sample_q(n, rng)`` returns ``n`` samples from :math:`q` (first axis indexes samples);
        the ``rvs`` method of a frozen :mod:`scipy.stats` distribution has this signature.
    n : int
        Number of samples, at least 2.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    tuple of float
        ``(estimate, standard_error)``; the standard error is the sample standard deviation of
        the log-ratios divided by :math:`\sqrt{n}`.

    References
    ----------
    kullback1951information
    """
    where = "kl_monte_carlo"
    for name, fn in (("log_p", log_p), ("log_q", log_q), ("sample_q", sample_q)):
        if not callable(fn):
            raise ValidationError(f"{where}: `{name}` must be callable; received {type(fn).__name__}.")
    n = check_int("n", n, minimum=2, where=where)
    if not isinstance(rng, np.random.Generator):
        raise ValidationError(f"{where}: `rng` must be a numpy.random.Generator; received {type(rng).__name__}.")
    z = sample_q(n, rng)
    r = np.asarray(log_q(z), dtype=np.float64) - np.asarray(log_p(z), dtype=np.float64)
    if r.shape != (n,):
        raise ValidationError(f"{where}: `log_q` and `log_p` must return arrays of shape ({n},); "
                              f"received shape {r.shape}.")
    if not np.all(np.isfinite(r)):
        raise ValidationError(f"{where}: `log_q` and `log_p` must be finite at the samples of q (their "
                              f"difference is the log-ratio averaged); received log-ratios {describe(r)}.")
    return float(r.mean()), float(r.std(ddof=1) / np.sqrt(n))
