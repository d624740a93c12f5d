"""Computing the evidence :math:`p(x) = \\int p(x \\mid z) p(z) \\, \\mathrm{d}z` numerically, and why it gets hard.

* :func:`log_evidence_quadrature`: adaptive quadrature for a 1-D latent, done in log space.
* :func:`grid_log_evidence` and :func:`grid_quadrature_cost`: brute-force tensor grids, whose
  cost :math:`G^d` grows exponentially with the dimension :math:`d`.
* :func:`naive_mc_log_evidence`, :func:`summarize_log_weights`, :func:`mc_samples_needed`: the
  naive Monte Carlo estimator :math:`\\hat p(x) = \\frac1N \\sum_s p(x \\mid z_s)`,
  :math:`z_s \\sim p(z)`, with its standard error and the sample size it needs.
* :func:`gmm_log_evidence_grid_k2`: the evidence of a two-component Bayesian mixture by a 2-D grid
  over its means, checked against the exact enumeration of :mod:`vi_lib.models.mixture`.

Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq, minimize_scalar
from scipy.special import logsumexp

from .._validation import (
    ValidationError,
    as_array,
    call_user,
    check_callable,
    check_finite,
    check_int,
    check_positive,
    check_scalar,
    describe,
    float64_guard,
)
from ..models.mixture import _check_inputs

__all__ = [
    "QuadratureResult",
    "NaiveMCResult",
    "log_evidence_quadrature",
    "grid_quadrature_cost",
    "grid_log_evidence",
    "naive_mc_log_evidence",
    "summarize_log_weights",
    "naive_mc_relative_variance",
    "mc_samples_needed",
    "GridEvidence",
    "gmm_log_evidence_grid_k2",
]


class QuadratureResult(NamedTuple):
    """Result of :func:`log_evidence_quadrature`.

    Attributes
    ----------
    log_evidence : float
        Estimate of :math:`\\log p(x)` in nats.
    rel_error : float
        Quadrature's own error bound on :math:`p(x)`, relative to :math:`p(x)` (so also an
        absolute error bound on :math:`\\log p(x)` to first order).
    mode : float
        Location of the maximum of the log joint used to shift the integrand.
    """

    log_evidence: float
    rel_error: float
    mode: float



class NaiveMCResult(NamedTuple):
    """Result of :func:`naive_mc_log_evidence` (weights :math:`w_s = p(x \\mid z_s)`, :math:`z_s \\sim p(z)`).

    Attributes
    ----------
    log_evidence : float
        :math:`\\log \\hat p(x)` with :math:`\\hat p(x) = \\frac1N \\sum_s w_s`.
    log_std_error : float
        Log of the estimated standard error of :math:`\\hat p(x)`, i.e. of
        :math:`\\mathrm{sd}(w) / \\sqrt{N}` (log, because it may underflow).
    rel_std_error : float
        Estimated relative standard error :math:`\\mathrm{sd}(w) / (\\sqrt{N}\\, \\bar w)`.
    ess : float
        Effective sample size :math:`(\\sum_s w_s)^2 / \\sum_s w_s^2`, between 1 and N.
    """

    log_evidence: float
    log_std_error: float
    rel_std_error: float
    ess: float



def _check_bounds(lower: Any, upper: Any, where: str) -> tuple[float, float]:
    lo, hi = check_scalar("lower", lower, where), check_scalar("upper", upper, where)
    if not lo < hi:
        raise ValidationError(f"{where}: `upper` must be greater than `lower` ({lo!r}); received {hi!r}.")
    return lo, hi



@float64_guard
def log_evidence_quadrature(log_joint: Callable[[np.ndarray], np.ndarray], lower: float, upper: float, *,
                            grid_points: int = 4097, epsrel: float = 1e-12) -> QuadratureResult:
    """Log evidence of a model with one scalar latent, by adaptive quadrature in log space.

    Computes :math:`\\log \\int_a^b \\exp \\ell(z) \\, \\mathrm{d}z` with :math:`\\ell(z) = \\log p(x, z)`,
    carefully: the maximiser :math:`\\hat z` of :math:`\\ell` is located (grid search then Brent),
    the integrand is shifted to :math:`\\exp(\\ell(z) - \\ell(\\hat z))`, which is at most 1 and
    cannot underflow at the peak, and :func:`scipy.integrate.quad` is run on pieces whose break
    points sit at :math:`\\hat z \\pm \\{1, 3, 10, 30, 100\\} h`, where :math:`h` is the half-width
    at which :math:`\\ell` has dropped by 1/2 on each side. Then

    .. math::

        \\log p(x) = \\ell(\\hat z) + \\log \\int_a^b e^{\\ell(z) - \\ell(\\hat z)} \\, \\mathrm{d}z .

    Parameters
    ----------
    log_joint : callable
        Maps an array of latent values, shape (m,), to :math:`\\log p(x, z)`, shape (m,). It is
        also called with 0-d arrays.
    lower, upper : float
        Finite integration limits, ``lower < upper``; choose them so that the mass outside is
        negligible (for a Gaussian posterior, tens of posterior standard deviations).
    grid_points : int
        Points of the initial grid search for the mode (>= 3). The grid must resolve the peak.
    epsrel : float
        Relative tolerance passed to :func:`scipy.integrate.quad`.

    Returns
    -------
    QuadratureResult
        ``(log_evidence, rel_error, mode)``.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    kass1995bayes
    """
    where = "log_evidence_quadrature"
    check_callable("log_joint", log_joint, where)
    lo, hi = _check_bounds(lower, upper, where)
    grid_points = check_int("grid_points", grid_points, minimum=3, where=where)
    epsrel = check_positive("epsrel", epsrel, where=where)

    def ell(z: float) -> float:
        return float(np.asarray(call_user(log_joint, np.asarray([z], dtype=float)), dtype=float).reshape(-1)[0])

    grid = np.linspace(lo, hi, grid_points)
    vals = np.asarray(call_user(log_joint, grid), dtype=float)
    if vals.shape != grid.shape:
        raise ValidationError(f"{where}: `log_joint` must map shape {grid.shape} to {grid.shape}; "
                              f"returned {describe(vals)}.")
    if np.any(np.isnan(vals)) or np.any(vals == np.inf) or not np.any(np.isfinite(vals)):
        raise ValidationError(f"{where}: `log_joint` must return finite values or -inf (NaN/+inf "
                              f"or all -inf on the grid); returned {describe(vals)}.")
    i = int(np.argmax(vals))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid_points - 1)]
    res = minimize_scalar(lambda z: -ell(z), bounds=(a, b), method="bounded",
                          options={"xatol": 1e-12 * max(1.0, abs(grid[i]))})
    mode, peak = (float(res.x), -float(res.fun)) if -res.fun >= vals[i] else (float(grid[i]), float(vals[i]))

    def shifted(z: float) -> float:
        return float(np.exp(ell(z) - peak))

    def half_width(end: float) -> float:
        if ell(end) >= peak - 0.5:
            return abs(end - mode)
        root = brentq(lambda z: ell(z) - (peak - 0.5), min(mode, end), max(mode, end), xtol=1e-14)
        return abs(root - mode)

    h_lo = half_width(lo) if mode > lo else 0.0
    h_hi = half_width(hi) if mode < hi else 0.0
    breaks = {lo, hi, mode}
    for k in (1.0, 3.0, 10.0, 30.0, 100.0):
        breaks.update({max(lo, mode - k * h_lo), min(hi, mode + k * h_hi)})
    edges = sorted(breaks)
    total, err = 0.0, 0.0
    for left, right in zip(edges[:-1], edges[1:]):
        if right > left:
            val, e = quad(shifted, left, right, epsabs=0.0, epsrel=epsrel, limit=200)
            total += val
            err += e
    if not total > 0:
        raise ValidationError(f"{where}: the integral is zero to machine precision; check `lower`/`upper`.")
    return QuadratureResult(float(peak + np.log(total)), float(err / total), mode)



@float64_guard
def grid_quadrature_cost(points_per_dim: int, dims: Any) -> np.ndarray:
    """Number of log-joint evaluations of a tensor grid: :math:`G^d` for each ``d`` in ``dims``.

    Parameters
    ----------
    points_per_dim : int
        Grid points per axis, :math:`G \\ge 1`.
    dims : array_like of int, shape (k,)
        Dimensions, each >= 1.

    Returns
    -------
    numpy.ndarray of float, shape (k,)
        :math:`G^d` (floats, because they quickly exceed the int64 range).

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    where = "grid_quadrature_cost"
    g = check_int("points_per_dim", points_per_dim, minimum=1, where=where)
    d = as_array("dims", dims, ndim=1, where=where)
    if d.size == 0 or np.any(d < 1) or np.any(d != np.round(d)):
        raise ValidationError(f"{where}: `dims` must be a non-empty 1-D array of integers >= 1; "
                              f"received {describe(d)}.")
    return float(g) ** d



@float64_guard
def grid_log_evidence(log_joint: Callable[[np.ndarray], np.ndarray], lower: float, upper: float,
                      points_per_dim: int, dim: int, *, max_points: int = 10**8,
                      chunk_size: int = 2**20) -> float:
    """Brute-force log evidence on a :math:`G^d` tensor grid over the cube :math:`[a, b]^d` (midpoint rule).

    .. math::

        \\log p(x) \\approx \\log \\sum_{g} \\exp \\log p(x, z_g) + d \\log \\frac{b - a}{G},

    evaluated chunk by chunk with a running log-sum-exp. The cost is :math:`G^d` evaluations of
    ``log_joint``: the point of this function is to time that.

    Parameters
    ----------
    log_joint : callable
        Maps points of shape (m, d) to log joint values of shape (m,).
    lower, upper : float
        Limits of the cube on every axis.
    points_per_dim : int
        :math:`G \\ge 1` midpoints per axis.
    dim : int
        Dimension :math:`d \\ge 1`.
    max_points : int
        Refuse grids with more than this many points (default :math:`10^8`).
    chunk_size : int
        Points evaluated per call of ``log_joint``.

    Returns
    -------
    float
        The grid estimate of :math:`\\log p(x)`.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    where = "grid_log_evidence"
    check_callable("log_joint", log_joint, where)
    lo, hi = _check_bounds(lower, upper, where)
    g = check_int("points_per_dim", points_per_dim, minimum=1, where=where)
    d = check_int("dim", dim, minimum=1, where=where)
    max_points = check_int("max_points", max_points, minimum=1, where=where)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1, where=where)
    total_points = g**d
    if total_points > max_points:
        raise ValidationError(f"{where}: the grid would have points_per_dim**dim = {g}**{d} = {total_points} "
                              f"points, more than `max_points` = {max_points}.")
    h = (hi - lo) / g
    axis = lo + h * (np.arange(g) + 0.5)
    running = -np.inf
    for start in range(0, total_points, chunk_size):
        idx = np.arange(start, min(start + chunk_size, total_points))
        pts = np.stack([axis[i] for i in np.unravel_index(idx, (g,) * d)], axis=1)
        vals = np.asarray(call_user(log_joint, pts), dtype=float)
        if vals.shape != (idx.size,):
            raise ValidationError(f"{where}: `log_joint` must map shape {pts.shape} to ({idx.size},); "
                                  f"returned {describe(vals)}.")
        if np.any(np.isnan(vals) | (vals == np.inf)):
            raise ValidationError(f"{where}: `log_joint` must return finite values or -inf (NaN/+inf make the "
                                  f"evidence meaningless); returned {describe(vals)}.")
        running = float(np.logaddexp(running, logsumexp(vals)))
    return running + d * float(np.log(h))



def summarize_log_weights(log_weights: Any) -> NaiveMCResult:
    """Log of the mean weight, its standard error and the effective sample size, all in log space.

    With :math:`w_s = \\exp(\\log w_s)`, :math:`\\hat p = \\bar w`, the standard error is
    :math:`\\mathrm{sd}(w)/\\sqrt{N}` (sample std with ``ddof=1``), computed after subtracting
    :math:`\\max_s \\log w_s`, so nothing overflows or underflows.

    Parameters
    ----------
    log_weights : array_like, shape (N,)
        Log weights, N >= 2, finite or -inf, not all -inf.

    Returns
    -------
    NaiveMCResult
        ``(log_evidence, log_std_error, rel_std_error, ess)``.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    owen2013monte, kong1992note
    """
    where = "summarize_log_weights"
    lw = as_array("log_weights", log_weights, ndim=1, where=where)
    if lw.size < 2:
        raise ValidationError(f"{where}: `log_weights` must have at least 2 entries; received {describe(lw)}.")
    if np.any(np.isnan(lw)) or np.any(lw == np.inf) or not np.any(np.isfinite(lw)):
        raise ValidationError(f"{where}: `log_weights` must be finite or -inf, not all -inf; received {describe(lw)}.")
    n = lw.size
    top = float(np.max(lw))
    w = np.exp(lw - top)  # in [0, 1], the largest is exactly 1
    mean = float(np.mean(w))
    sd = float(np.std(w, ddof=1))
    log_mean = top + float(np.log(mean))
    rel_se = sd / (np.sqrt(n) * mean)
    log_se = top + float(np.log(sd)) - 0.5 * float(np.log(n)) if sd > 0 else -np.inf
    ess = float(np.sum(w) ** 2 / np.sum(w**2))
    return NaiveMCResult(log_mean, log_se, float(rel_se), ess)



@float64_guard
def naive_mc_log_evidence(log_likelihood: Callable[[np.ndarray], np.ndarray], prior_samples: Any) -> NaiveMCResult:
    """Naive Monte Carlo evidence: average the likelihood over draws from the prior.

    .. math::

        \\hat p(x) = \\frac1N \\sum_{s=1}^N p(x \\mid z_s), \\qquad z_s \\sim p(z),

    unbiased for :math:`p(x)`, computed as ``logsumexp(log w) - log N``. Its logarithm is biased
    *downward* (Jensen: :math:`\\mathbb{E}\\log \\hat p \\le \\log \\mathbb{E} \\hat p`).

    Parameters
    ----------
    log_likelihood : callable
        Maps the prior samples to :math:`\\log p(x \\mid z_s)`, shape (N,).
    prior_samples : array_like, shape (N,) or (N, d)
        Draws :math:`z_s \\sim p(z)`, N >= 2.

    Returns
    -------
    NaiveMCResult
        ``(log_evidence, log_std_error, rel_std_error, ess)``; see :func:`summarize_log_weights`.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    owen2013monte, robert2004monte
    """
    where = "naive_mc_log_evidence"
    check_callable("log_likelihood", log_likelihood, where)
    z = check_finite("prior_samples", prior_samples, where=where)
    if z.ndim not in (1, 2) or z.shape[0] < 2:
        raise ValidationError(f"{where}: `prior_samples` must have shape (N,) or (N, d) with N >= 2; "
                              f"received {describe(z)}.")
    lw = np.asarray(call_user(log_likelihood, z), dtype=float)
    if lw.shape != (z.shape[0],):
        raise ValidationError(f"{where}: `log_likelihood` must return shape ({z.shape[0]},); returned {describe(lw)}.")
    if np.any(np.isnan(lw) | (lw == np.inf)):
        raise ValidationError(f"{where}: `log_likelihood` must return finite values or -inf; returned {describe(lw)}.")
    return summarize_log_weights(lw)



@float64_guard
def naive_mc_relative_variance(log_mean: Any, log_second_moment: Any) -> Any:
    """Relative variance of one naive Monte Carlo weight.

    .. math::

        \\frac{\\mathrm{Var}[w]}{\\mathbb{E}[w]^2} = \\frac{\\mathbb{E}[w^2]}{\\mathbb{E}[w]^2} - 1.

    Parameters
    ----------
    log_mean : float or array_like
        :math:`\\log \\mathbb{E}[w] = \\log p(x)`.
    log_second_moment : float or array_like, same shape
        :math:`\\log \\mathbb{E}[w^2]`, e.g. :meth:`NormalNormal.log_expected_squared_likelihood`.

    Returns
    -------
    float or numpy.ndarray
        ``expm1(log_second_moment - 2 * log_mean)`` (may be ``inf`` when it overflows).

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    return _relative_variance(log_mean, log_second_moment, "naive_mc_relative_variance")



def _relative_variance(log_mean: Any, log_second_moment: Any, where: str) -> Any:
    m = check_finite("log_mean", log_mean, where=where)
    s = check_finite("log_second_moment", log_second_moment, where=where)
    if m.shape != s.shape:
        raise ValidationError(f"{where}: `log_second_moment` must have the shape of `log_mean` {m.shape}; "
                              f"received {describe(s)}.")
    gap = s - 2.0 * m
    if np.any(gap < -1e-9 * np.maximum(1.0, np.abs(s))):
        raise ValidationError(f"{where}: `log_second_moment` must be >= 2 * `log_mean` (Jensen); "
                              f"received a gap of {describe(gap)}.")
    with np.errstate(over="ignore"):
        out = np.expm1(np.maximum(gap, 0.0))
    return float(out) if out.ndim == 0 else out



@float64_guard
def mc_samples_needed(rel_tol: float, log_mean: Any, log_second_moment: Any) -> Any:
    """Prior samples needed for a relative standard error ``rel_tol`` of the naive estimator.

    .. math::

        N \\approx \\frac{\\mathrm{Var}[w]}{\\varepsilon^2 \\, \\mathbb{E}[w]^2}
        = \\frac{\\mathbb{E}[w^2]/\\mathbb{E}[w]^2 - 1}{\\varepsilon^2}.

    Parameters
    ----------
    rel_tol : float
        Target relative standard error :math:`\\varepsilon > 0` (e.g. 0.1 for 10%).
    log_mean, log_second_moment : float or array_like
        As in :func:`naive_mc_relative_variance`.

    Returns
    -------
    float or numpy.ndarray
        The required N (a real number; ``inf`` if it overflows).

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    owen2013monte
    """
    eps = check_positive("rel_tol", rel_tol, where="mc_samples_needed")
    rv = _relative_variance(log_mean, log_second_moment, "mc_samples_needed")
    return rv / eps**2



class GridEvidence(NamedTuple):
    """Result of :func:`gmm_log_evidence_grid_k2`.

    Attributes
    ----------
    log_evidence : float
        Grid estimate of :math:`\\log p(x)`.
    rel_error : float
        :math:`|\\hat p_h - \\hat p_{2h}| / \\hat p_h`: the change when the grid spacing is halved, an
        (over-)estimate of the relative error of the coarser grid.
    """

    log_evidence: float
    rel_error: float



def _log_integrand_k2(mu1: np.ndarray, mu2: np.ndarray, x: np.ndarray, m0: float, s0: float,
                      sigma: float) -> np.ndarray:
    """log N(mu1) + log N(mu2) + sum_i log(0.5 N(x_i|mu1) + 0.5 N(x_i|mu2)) on broadcast grids."""
    c_prior = -0.5 * np.log(2 * np.pi * s0 * s0)
    c_lik = -0.5 * np.log(2 * np.pi * sigma * sigma)
    out = 2 * c_prior - 0.5 * ((mu1 - m0) / s0) ** 2 - 0.5 * ((mu2 - m0) / s0) ** 2
    for xi in x:
        a = -0.5 * ((xi - mu1) / sigma) ** 2
        b = -0.5 * ((xi - mu2) / sigma) ** 2
        out = out + c_lik + np.logaddexp(a, b) - np.log(2.0)
    return out



@float64_guard
def gmm_log_evidence_grid_k2(x: Any, prior_mean: float, prior_std: float, noise_std: float, *,
                             points: int = 801, half_width: float = 10.0) -> GridEvidence:
    """Log evidence of the :math:`K = 2` mixture by 2-D quadrature over the means (no enumeration).

    .. math::

        p(x) = \\iint {} & \\mathcal{N}(\\mu_1 \\mid m_0, s_0^2) \\, \\mathcal{N}(\\mu_2 \\mid m_0, s_0^2) \\\\
        & \\times \\prod_{i=1}^n \\left[\\tfrac12 \\mathcal{N}(x_i \\mid \\mu_1, \\sigma^2)
        + \\tfrac12 \\mathcal{N}(x_i \\mid \\mu_2, \\sigma^2)\\right] \\mathrm{d}\\mu_1 \\, \\mathrm{d}\\mu_2 .

    The trapezoidal rule on a uniform ``points`` x ``points`` grid over the square
    :math:`[m_0 - w s_0, m_0 + w s_0]^2` with :math:`w` = ``half_width``, in log space. For a
    smooth integrand that has decayed to nothing at the edges, the trapezoidal rule converges
    faster than any power of the spacing; the reported error is the change against the grid with
    twice the spacing. The grid must resolve the posterior width :math:`\\approx \\sigma/\\sqrt{n}`.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations, finite.
    prior_mean, prior_std, noise_std : float
        As in :func:`gmm_log_evidence_exact`.
    points : int
        Odd number of grid points per axis, >= 5.
    half_width : float
        Half-width of the square in prior standard deviations, > 0.

    Returns
    -------
    GridEvidence
        ``(log_evidence, rel_error)``.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    where = "gmm_log_evidence_grid_k2"
    x, m0, s0, sigma = _check_inputs(x, prior_mean, prior_std, noise_std, where)
    points = check_int("points", points, minimum=5, where=where)
    if points % 2 == 0:
        raise ValidationError(f"{where}: `points` must be odd (so the grid halves exactly); received {points}.")
    w = check_positive("half_width", half_width, where=where)
    grid = np.linspace(m0 - w * s0, m0 + w * s0, points)
    h = grid[1] - grid[0]
    log_f = _log_integrand_k2(grid[:, None], grid[None, :], x, m0, s0, sigma)
    trap = np.full(points, np.log(1.0))
    trap[[0, -1]] = np.log(0.5)
    log_wts = trap[:, None] + trap[None, :]
    fine = float(logsumexp(log_f + log_wts)) + 2.0 * float(np.log(h))
    coarse_f = log_f[::2, ::2]
    c = coarse_f.shape[0]
    trap_c = np.zeros(c)
    trap_c[[0, -1]] = np.log(0.5)
    coarse = float(logsumexp(coarse_f + trap_c[:, None] + trap_c[None, :])) + 2.0 * float(np.log(2.0 * h))
    return GridEvidence(fine, float(abs(np.expm1(coarse - fine))))
