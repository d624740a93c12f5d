"""Exact evidence of a small Bayesian Gaussian mixture in 1-D, by brute-force enumeration.

Model: :math:`K` component means :math:`\\mu_k \\sim \\mathcal{N}(m_0, s_0^2)` independently, labels
:math:`c_i` uniform on :math:`\\{1, \\dots, K\\}`, and :math:`x_i \\mid c_i, \\mu \\sim
\\mathcal{N}(\\mu_{c_i}, \\sigma^2)`. Given an assignment :math:`c`, the clusters are independent
Normal-Normal models, so

.. math::

    p(x) = \\sum_{c \\in \\{1..K\\}^n} K^{-n} \\prod_{k=1}^K p_{\\mathrm{NN}}(x_{\\{i: c_i = k\\}}),

a sum of :math:`K^n` closed-form terms (an empty cluster contributes a factor 1).

Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy.special import logsumexp

from ._validation import ValidationError, as_array, check_finite, check_int, check_nonempty, check_positive, describe
from .conjugate import normal_normal_log_evidence_stats

__all__ = [
    "MAX_ASSIGNMENTS",
    "GridEvidence",
    "gmm_num_assignments",
    "gmm_log_evidence_exact",
    "gmm_log_evidence_grid_k2",
]

#: Largest number of assignments :math:`K^n` that :func:`gmm_log_evidence_exact` enumerates by default.
MAX_ASSIGNMENTS = 2**22


class GridEvidence(NamedTuple):
    """Result of :func:`gmm_log_evidence_grid_k2`.

    Fields (in order):

    log_evidence : float
        Grid estimate of :math:`\\log p(x)`.
    rel_error : float
        :math:`|\\hat p_h - \\hat p_{2h}| / \\hat p_h`: the change when the grid spacing is halved, an
        (over-)estimate of the relative error of the coarser grid.
    """

    log_evidence: float
    rel_error: float


def _check_inputs(x: Any, prior_mean: Any, prior_std: Any, noise_std: Any, where: str
                  ) -> tuple[np.ndarray, float, float, float]:
    arr = as_array("x", x, ndim=1, where=where)
    arr = check_finite("x", check_nonempty("x", arr, where=where), where=where)
    m0 = check_finite("prior_mean", prior_mean, where=where)
    if m0.ndim != 0:
        raise ValidationError(f"{where}: `prior_mean` must be a scalar; received {describe(m0)}.")
    s0 = check_positive("prior_std", prior_std, where=where)
    sigma = check_positive("noise_std", noise_std, where=where)
    for name, v in (("prior_std", s0), ("noise_std", sigma)):
        if not isinstance(v, float):
            raise ValidationError(f"{where}: `{name}` must be a scalar; received {describe(v)}.")
    return arr, float(m0), s0, sigma


def gmm_num_assignments(n: int, K: int) -> int:
    """Number :math:`K^n` of label assignments of ``n`` points to ``K`` clusters (an exact Python int).

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    n = check_int("n", n, minimum=1, where="gmm_num_assignments")
    K = check_int("K", K, minimum=1, where="gmm_num_assignments")
    return K**n


def gmm_log_evidence_exact(x: Any, K: int, prior_mean: float, prior_std: float, noise_std: float, *,
                           max_assignments: int = MAX_ASSIGNMENTS, chunk_size: int = 2**16) -> float:
    """Exact log evidence of the Bayesian 1-D Gaussian mixture by enumerating all :math:`K^n` assignments.

    For each assignment :math:`c` the per-cluster counts, sums and sums of squares are formed with
    one-hot matrix products, each cluster's Normal-Normal log evidence comes from
    :func:`vi_lib.normal_normal_log_evidence_stats`, and the terms are combined with a running
    log-sum-exp:

    .. math::

        \\log p(x) = -n \\log K + \\log \\sum_{c} \\exp \\sum_{k=1}^K
        \\log p_{\\mathrm{NN}}(x_{\\{i : c_i = k\\}}).

    Time and memory grow as :math:`K^n`; assignments are processed in chunks of ``chunk_size``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Observations, finite, n >= 1.
    K : int
        Number of components, >= 1.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` (prior of every mean) and known noise std :math:`\\sigma > 0`.
    max_assignments : int
        Refuse to enumerate more than this many assignments (default ``MAX_ASSIGNMENTS`` =
        :math:`2^{22}`, a few seconds).
    chunk_size : int
        Assignments processed per vectorised step.

    Returns
    -------
    float
        :math:`\\log p(x)` in nats.

    Raises
    ------
    ValidationError
        For invalid inputs or when :math:`K^n` exceeds ``max_assignments``.

    Notes
    -----
    The sum is invariant to relabelling the clusters; it double-counts nothing because the means
    are labelled variables with a common prior. Explained in Chapter: Bayes' rule and the evidence
    problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    bishop2006pattern, blei2017variational
    """
    where = "gmm_log_evidence_exact"
    x, m0, s0, sigma = _check_inputs(x, prior_mean, prior_std, noise_std, where)
    K = check_int("K", K, minimum=1, where=where)
    max_assignments = check_int("max_assignments", max_assignments, minimum=1, where=where)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1, where=where)
    n = x.size
    total = K**n
    if total > max_assignments:
        raise ValidationError(f"{where}: enumerating K**n = {K}**{n} = {total} assignments exceeds "
                              f"`max_assignments` = {max_assignments}; use fewer points or raise the limit.")
    powers = K ** np.arange(n, dtype=np.int64)
    x2 = x * x
    running = -np.inf
    for start in range(0, total, chunk_size):
        idx = np.arange(start, min(start + chunk_size, total), dtype=np.int64)
        labels = (idx[:, None] // powers[None, :]) % K  # (A, n): the base-K digits of the index
        log_terms = np.zeros(idx.size)
        for k in range(K):
            onehot = (labels == k).astype(np.float64)
            log_terms += normal_normal_log_evidence_stats(onehot.sum(axis=1), onehot @ x, onehot @ x2, m0, s0, sigma)
        running = float(np.logaddexp(running, logsumexp(log_terms)))
    return running - n * float(np.log(K))


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
