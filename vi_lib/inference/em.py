"""Expectation-maximisation for a one-dimensional Gaussian mixture, written as ELBO ascent.

EM is coordinate ascent on the evidence lower bound :math:`\\mathcal{L}(q, \\theta)`: the E-step
sets :math:`q` to the exact posterior over the component labels (making the bound tight), the
M-step maximises the bound over the parameters :math:`\\theta`. The steps are pure functions so
that each one can be tested, and :func:`fit_em` records the bound at both half-steps.

Explained in Chapter: The ELBO, derived two ways and checked to machine precision (chapters/elbo.ipynb).

"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    ValidationError,
    check_finite,
    check_int,
    check_positive,
    check_probability_rows,
    check_rng,
    check_shape,
    check_vector,
    float64_guard,
)
from ..models.mixture import GaussianMixture1D, _check_params, _component_log_joint, gmm_log_likelihood

__all__ = [
    "EMResult",
    "e_step",
    "m_step",
    "em_lower_bound",
    "init_gmm",
    "fit_em",
]


@dataclass(frozen=True)
class EMResult:
    """History of one EM run (returned by :func:`fit_em`).

    With :math:`\\theta_t` the parameters after t iterations and :math:`q_t` the posterior over
    the labels under :math:`\\theta_t` (the E-step):

    Attributes
    ----------
    params : GaussianMixture1D
        Final parameters :math:`\\theta_T`.
    log_likelihoods : array of shape (T + 1,)
        :math:`\\log p(x \\mid \\theta_t)` for t = 0, ..., T.
    bounds_after_e : array of shape (T,)
        :math:`\\mathcal{L}(q_t, \\theta_t)` for t = 0, ..., T - 1; equal to
        ``log_likelihoods[:-1]`` up to rounding (the E-step makes the bound tight).
    bounds_after_m : array of shape (T,)
        :math:`\\mathcal{L}(q_t, \\theta_{t+1})`, which lies between ``log_likelihoods[t]`` and
        ``log_likelihoods[t + 1]``.
    params_history : list of GaussianMixture1D
        :math:`\\theta_0, \\dots, \\theta_T`.
    converged : bool
        Whether the last increase of the log-likelihood was below ``tol``.
    """

    params: GaussianMixture1D
    log_likelihoods: np.ndarray
    bounds_after_e: np.ndarray
    bounds_after_m: np.ndarray
    params_history: list = field(repr=False)
    converged: bool

    @property
    def n_iter(self) -> int:
        """Number of EM iterations T that were run."""
        return int(self.bounds_after_e.size)



def _check_resp(resp: object, n: int, where: str) -> np.ndarray:
    r = check_shape("resp", resp, (n, None), where=where)
    r = check_finite("resp", r, where=where)
    if r.shape[1] < 1:
        raise ValidationError(f"{where}: `resp` must have at least one column (K >= 1); "
                              f"received shape {r.shape}.")
    return check_probability_rows("resp", resp, where=where)



@float64_guard
def e_step(x: np.ndarray, params: GaussianMixture1D) -> np.ndarray:
    """E-step: the exact posterior over component labels (the responsibilities).

    .. math::

        r_{ik} = q(z_i = k) = p(z_i = k \\mid x_i, \\theta)
        = \\frac{\\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2)}
               {\\sum_j \\pi_j \\mathcal{N}(x_i \\mid \\mu_j, \\sigma_j^2)}.

    With this q the bound :func:`em_lower_bound` equals :func:`gmm_log_likelihood`.

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, at least one point.
    params : GaussianMixture1D
        Current parameters :math:`\\theta_t`.

    Returns
    -------
    numpy.ndarray of shape (n, K)
        Responsibilities; each row is a probability vector.

    References
    ----------
    dempster1977maximum; neal1998view; bishop2006pattern (Eq. 9.23).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "e_step"
    x = check_vector(x, where)
    params = _check_params(params, where)
    logits = _component_log_joint(x, params)
    return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))



@float64_guard
def m_step(x: np.ndarray, resp: np.ndarray, *, variance_floor: float = 1e-6) -> GaussianMixture1D:
    """M-step: the parameters that maximise the bound for fixed responsibilities.

    With :math:`N_k = \\sum_i r_{ik}`,

    .. math::

        \\pi_k = \\frac{N_k}{n}, \\qquad
        \\mu_k = \\frac{1}{N_k} \\sum_i r_{ik} x_i, \\\\
        \\sigma_k^2 = \\max\\Big(\\frac{1}{N_k} \\sum_i r_{ik} (x_i - \\mu_k)^2,\\;
        \\sigma^2_{\\min}\\Big).

    The floor :math:`\\sigma^2_{\\min}` (``variance_floor``) guards against the degenerate
    maximum-likelihood solution in which one component shrinks onto a single point and the
    likelihood diverges. Because the bound is unimodal in each :math:`\\sigma_k^2` and the optimal
    :math:`\\pi` and :math:`\\mu` do not depend on the variances, the clipped value is still the
    maximiser of the bound over :math:`\\sigma_k^2 \\ge \\sigma^2_{\\min}`, so EM with the floor
    never decreases the log-likelihood once the current parameters respect the floor (which
    :func:`fit_em` requires of its starting point).

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, at least one point.
    resp : array of shape (n, K)
        Responsibilities (rows are probability vectors), typically from :func:`e_step`.
    variance_floor : float
        Smallest variance allowed, positive. Default ``1e-6`` (in squared data units).

    Returns
    -------
    GaussianMixture1D
        The new parameters :math:`\\theta_{t+1}`.

    Raises
    ------
    ValidationError
        On malformed input, or when a component receives (numerically) zero total
        responsibility, so that its mean is undefined: re-initialise or use fewer components.

    References
    ----------
    dempster1977maximum; bishop2006pattern (Eqs. 9.24-9.26).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "m_step"
    x = check_vector(x, where)
    r = _check_resp(resp, x.size, where)
    floor = check_positive("variance_floor", variance_floor, where=where)
    nk = r.sum(axis=0)
    tiny = 10.0 * np.finfo(float).eps * x.size
    if np.any(nk <= tiny):
        k = int(np.argmin(nk))
        raise ValidationError(
            f"{where}: every component must receive positive total responsibility; component {k} "
            f"received {nk[k]:.3g} (it has collapsed: re-initialise or use fewer components)."
        )
    means = (r * x[:, None]).sum(axis=0) / nk
    variances = (r * (x[:, None] - means[None, :]) ** 2).sum(axis=0) / nk
    variances = np.maximum(variances, floor)
    return GaussianMixture1D(weights=nk / nk.sum(), means=means, variances=variances)



@float64_guard
def em_lower_bound(x: np.ndarray, params: GaussianMixture1D, resp: np.ndarray) -> float:
    """The ELBO :math:`\\mathcal{L}(q, \\theta)` of the mixture with label posterior ``q = resp``.

    .. math::

        \\mathcal{L}(q, \\theta) &= \\sum_{i=1}^n \\sum_{k=1}^K r_{ik}
        \\big[\\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2) - \\log r_{ik}\\big] \\\\
        &= \\log p(x \\mid \\theta) - \\sum_i \\mathrm{KL}\\big(q_i \\,\\|\\, p(z_i \\mid x_i, \\theta)\\big),

    with the convention :math:`0 \\log 0 = 0`. It returns +ELBO (a lower bound on the
    log-likelihood), not a loss.

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, at least one point.
    params : GaussianMixture1D
        Parameters :math:`\\theta`.
    resp : array of shape (n, K)
        Any label distribution q (rows are probability vectors), K equal to the number of
        components of ``params``.

    Returns
    -------
    float
        The bound in nats.

    References
    ----------
    neal1998view; bishop2006pattern (Section 9.4).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "em_lower_bound"
    x = check_vector(x, where)
    params = _check_params(params, where)
    r = _check_resp(resp, x.size, where)
    r = check_shape("resp", r, (x.size, params.n_components), where=where)
    log_joint = _component_log_joint(x, params)
    safe_log_r = np.log(np.where(r > 0, r, 1.0))
    return float(np.sum(np.where(r > 0, r * (log_joint - safe_log_r), 0.0)))



@float64_guard
def init_gmm(x: np.ndarray, n_components: int, rng: np.random.Generator) -> GaussianMixture1D:
    """A simple random initialisation: K distinct data points as means, the data variance for all.

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, with at least ``n_components`` distinct values.
    n_components : int
        Number of components K, at least 1.
    rng : numpy.random.Generator
        Source of randomness (which points become means).

    Returns
    -------
    GaussianMixture1D
        Uniform weights, the chosen means, and variances equal to the sample variance of x.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "init_gmm"
    x = check_vector(x, where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    check_rng(rng, where)
    distinct = np.unique(x)
    if distinct.size < k or (k > 1 and np.var(x) == 0.0):
        raise ValidationError(f"{where}: `x` must have at least n_components={k} distinct values; "
                              f"received {distinct.size}.")
    var = float(np.var(x)) if distinct.size > 1 else 1.0
    means = rng.choice(distinct, size=k, replace=False)
    return GaussianMixture1D(weights=np.full(k, 1.0 / k), means=np.sort(means), variances=np.full(k, var))



@float64_guard
def fit_em(x: np.ndarray, init: GaussianMixture1D, *, n_iter: int = 100, tol: float = 1e-10,
           variance_floor: float = 1e-6) -> EMResult:
    """Run EM from ``init`` and record the log-likelihood and the bound at both half-steps.

    Iteration t performs the E-step :math:`q_t = p(z \\mid x, \\theta_t)` (so
    :math:`\\mathcal{L}(q_t, \\theta_t) = \\log p(x \\mid \\theta_t)`) and the M-step
    :math:`\\theta_{t+1} = \\argmax_\\theta \\mathcal{L}(q_t, \\theta)`. Hence

    .. math::

        \\log p(x \\mid \\theta_{t+1}) \\ge \\mathcal{L}(q_t, \\theta_{t+1})
        \\ge \\mathcal{L}(q_t, \\theta_t) = \\log p(x \\mid \\theta_t).

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, at least one point.
    init : GaussianMixture1D
        Starting parameters :math:`\\theta_0` (e.g. from :func:`init_gmm`).
    n_iter : int
        Maximum number of iterations, at least 1.
    tol : float
        Stop once the log-likelihood increases by less than ``tol`` nats in one iteration;
        ``0`` runs all ``n_iter`` iterations. Non-negative.
    variance_floor : float
        Passed to :func:`m_step`. The variances of ``init`` must already be at least this
        floor: the monotonicity argument compares :math:`\\theta_{t+1}` with :math:`\\theta_t`
        inside the constrained set, and a starting point outside it can lose likelihood at the
        first M-step.

    Returns
    -------
    EMResult
        Final parameters and the full history.

    Raises
    ------
    ValidationError
        On malformed input, or if a variance of ``init`` is below ``variance_floor``.

    References
    ----------
    dempster1977maximum; neal1998view; mclachlan2008em.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "fit_em"
    x = check_vector(x, where)
    params = _check_params(init, where, "init")
    n_iter = check_int("n_iter", n_iter, minimum=1, where=where)
    tol = check_positive("tol", tol, allow_zero=True, where=where)
    floor = check_positive("variance_floor", variance_floor, where=where)
    if np.any(params.variances < floor):
        raise ValidationError(f"{where}: the variances of `init` must be >= `variance_floor` = {floor!r} (lower "
                              f"`variance_floor` or widen `init`); received minimum variance "
                              f"{float(params.variances.min())!r}.")
    history = [params]
    log_liks = [gmm_log_likelihood(x, params)]
    after_e: list[float] = []
    after_m: list[float] = []
    converged = False
    for _ in range(n_iter):
        resp = e_step(x, params)
        after_e.append(em_lower_bound(x, params, resp))
        params = m_step(x, resp, variance_floor=variance_floor)
        after_m.append(em_lower_bound(x, params, resp))
        history.append(params)
        log_liks.append(gmm_log_likelihood(x, params))
        if log_liks[-1] - log_liks[-2] < tol:
            converged = True
            break
    return EMResult(params=params, log_likelihoods=np.array(log_liks), bounds_after_e=np.array(after_e),
                    bounds_after_m=np.array(after_m), params_history=history, converged=converged)
