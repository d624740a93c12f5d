"""One-dimensional Gaussian mixtures: densities, sampling, and the exact evidence of a small Bayesian one.

* :class:`GaussianMixture1D` with :func:`gmm_log_density`, :func:`gmm_log_likelihood` and
  :func:`gmm_sample`: a mixture with known parameters, the model that EM fits
  (explained in chapters/elbo.ipynb).
* :func:`mixture_log_pdf`: the same density from plain arrays, the bimodal target that a single
  Gaussian is fitted to by forward or reverse KL (explained in chapters/kl_divergence.ipynb).
* :func:`gmm_log_evidence_exact` and :func:`gmm_num_assignments`: a Bayesian mixture with
  :math:`K` means :math:`\\mu_k \\sim \\mathcal{N}(m_0, s_0^2)`, uniform labels and known noise, whose
  evidence is a sum over all :math:`K^n` label assignments of closed-form Normal-Normal terms
  (explained in chapters/bayes_evidence.ipynb).
* :func:`mixture_conditional_means` and :func:`mixture_conditional_labels`: that mixture's complete
  conditionals :math:`p(\\mu \\mid c, x)` and :math:`p(c_i \\mid \\mu, x_i)`, the exponential-family
  densities whose expected natural parameters CAVI uses (explained in chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_nonempty,
    check_positive,
    check_probability_vector,
    check_rng,
    check_shape,
    check_vector,
    describe,
    float64_guard,
)
from .conjugate import normal_normal_log_evidence_stats

__all__ = [
    "GaussianMixture1D",
    "gmm_log_density",
    "gmm_log_likelihood",
    "gmm_sample",
    "mixture_log_pdf",
    "MAX_ASSIGNMENTS",
    "gmm_num_assignments",
    "gmm_log_evidence_exact",
    "mixture_conditional_means",
    "mixture_conditional_labels",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



@dataclass(frozen=True)
class GaussianMixture1D:
    """Parameters :math:`\\theta = (\\pi, \\mu, \\sigma^2)` of a 1-D Gaussian mixture.

    .. math::

        p(x \\mid \\theta) = \\sum_{k=1}^K \\pi_k \\, \\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2).

    Parameters
    ----------
    weights : array of shape (K,)
        Mixing weights, positive and summing to one (within ``max(1e-9, 4 K eps)`` for the machine
        epsilon ``eps`` of their dtype, as in :func:`kl_categorical`; they are renormalised exactly).
    means : array of shape (K,)
        Component means, finite.
    variances : array of shape (K,)
        Component variances, finite and positive.

    Raises
    ------
    ValidationError
        If the three arrays are not 1-D of one length K >= 1, or violate the constraints above.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self) -> None:
        where = "GaussianMixture1D"
        w = check_finite("weights", as_array("weights", self.weights, ndim=1, where=where), where=where)
        if w.size < 1:
            raise ValidationError(f"{where}: `weights` must have at least one component (K >= 1); "
                                  "received an empty array.")
        w = check_probability_vector("weights", self.weights, where=where)
        mu = check_shape("means", self.means, (w.size,), where=where)
        mu = check_finite("means", mu, where=where)
        var = check_shape("variances", self.variances, (w.size,), where=where)
        var = np.atleast_1d(check_positive("variances", var, where=where))
        if np.any(w <= 0):
            raise ValidationError(f"{where}: `weights` must be positive; received {w!r}.")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu.copy())
        object.__setattr__(self, "variances", var.copy())

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(self.weights.size)

    @property
    def stds(self) -> np.ndarray:
        """Component standard deviations, shape (K,)."""
        return np.sqrt(self.variances)



def _check_params(params: object, where: str, name: str = "params") -> GaussianMixture1D:
    if not isinstance(params, GaussianMixture1D):
        raise ValidationError(f"{where}: `{name}` must be a GaussianMixture1D; received "
                              f"{type(params).__name__}.")
    return params



def _component_log_joint(x: np.ndarray, params: GaussianMixture1D) -> np.ndarray:
    """Matrix of :math:`\\log \\pi_k + \\log \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2)`, shape (n, K)."""
    diff = x[:, None] - params.means[None, :]
    log_norm = -0.5 * (_LOG_2PI + np.log(params.variances))[None, :] - 0.5 * diff**2 / params.variances[None, :]
    return np.log(params.weights)[None, :] + log_norm



@float64_guard
def gmm_log_density(x: np.ndarray, params: GaussianMixture1D) -> np.ndarray:
    """Pointwise log-density of the mixture.

    .. math::

        \\log p(x_i \\mid \\theta) = \\log \\sum_k \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2),

    computed with a log-sum-exp so that far tails do not underflow.

    Parameters
    ----------
    x : array of shape (n,)
        Points, finite, at least one.
    params : GaussianMixture1D
        Mixture parameters.

    Returns
    -------
    numpy.ndarray of shape (n,)
        Log-densities in nats.

    References
    ----------
    bishop2006pattern (Section 9.2).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "gmm_log_density"
    x = check_vector(x, where)
    params = _check_params(params, where)
    return logsumexp(_component_log_joint(x, params), axis=1)



@float64_guard
def gmm_log_likelihood(x: np.ndarray, params: GaussianMixture1D) -> float:
    """Log-likelihood :math:`\\log p(x \\mid \\theta) = \\sum_i \\log p(x_i \\mid \\theta)` in nats.

    Parameters
    ----------
    x : array of shape (n,)
        Data, finite, at least one point.
    params : GaussianMixture1D
        Mixture parameters.

    Returns
    -------
    float
        The log-likelihood (a sum over data points, not a mean).

    References
    ----------
    bishop2006pattern (Eq. 9.14).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "gmm_log_likelihood"
    x = check_vector(x, where)
    params = _check_params(params, where)
    return float(np.sum(logsumexp(_component_log_joint(x, params), axis=1)))



def gmm_sample(n: int, params: GaussianMixture1D, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` points from the mixture (labels first, then the component's normal).

    Parameters
    ----------
    n : int
        Number of points, at least 1.
    params : GaussianMixture1D
        Mixture parameters.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (n,)
        The sample.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "gmm_sample"
    n = check_int("n", n, minimum=1, where=where)
    params = _check_params(params, where)
    check_rng(rng, where)
    labels = rng.choice(params.n_components, size=n, p=params.weights)
    return params.means[labels] + params.stds[labels] * rng.standard_normal(n)



def _check_mixture(weights: Any, means: Any, stds: Any, where: str) -> tuple[np.ndarray, ...]:
    w = check_probability_vector("weights", weights, where=where)
    m = check_finite("means", check_shape("means", means, w.shape, where=where), where=where)
    s = np.asarray(check_positive("stds", check_shape("stds", stds, w.shape, where=where), where=where))
    return w, m, s



def _log_pdf_and_dlog(x: np.ndarray, w: np.ndarray, m: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
    z = (x[..., None] - m) / s
    comp = np.log(w) - 0.5 * z**2 - np.log(s) - 0.5 * np.log(2.0 * np.pi)
    lp = logsumexp(comp, axis=-1)
    resp = np.exp(comp - lp[..., None])
    dlog = np.sum(resp * (-z / s), axis=-1)
    return lp, dlog



@float64_guard
def mixture_log_pdf(x: Any, weights: Any, means: Any, stds: Any) -> np.ndarray:
    r"""Log-density of a 1-D Gaussian mixture :math:`p(x) = \sum_k w_k \mathcal{N}(x; m_k, s_k^2)`.

    Parameters
    ----------
    x : ndarray, shape (...)
        Evaluation points.
    weights, means, stds : ndarray, shape (K,)
        Mixture weights (summing to 1), component means and standard deviations (> 0).

    Returns
    -------
    ndarray, shape (...)
        :math:`\log p(x)`, computed with log-sum-exp.

    References
    ----------
    bishop2006pattern
    """
    where = "mixture_log_pdf"
    w, m, s = _check_mixture(weights, means, stds, where)
    x = check_finite("x", x, where=where)
    with np.errstate(divide="ignore"):
        return _log_pdf_and_dlog(x, w, m, s)[0]



#: Largest number of assignments :math:`K^n` that :func:`gmm_log_evidence_exact` enumerates by default.
MAX_ASSIGNMENTS = 2**22



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

    Parameters
    ----------
    n : int >= 0
        Number of data points.
    K : int >= 1
        Number of clusters.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    n = check_int("n", n, minimum=1, where="gmm_num_assignments")
    K = check_int("K", K, minimum=1, where="gmm_num_assignments")
    return K**n



@float64_guard
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



@float64_guard
def mixture_conditional_means(x: Any, labels: Any, K: int, prior_mean: float, prior_std: float,
                              noise_std: float) -> tuple[np.ndarray, np.ndarray]:
    """Complete conditional of the means of the Bayesian mixture: independent Normals.

    Given labels :math:`c`, each mean sees only its own points (Normal-Normal conjugacy). With one
    label vector, or a batch of them, and :math:`n_k = \\#\\{i : c_i = k\\}`,

    .. math::

        p(\\mu_k \\mid c, x) = \\mathcal{N}\\Big(\\frac{m_0/s_0^2 + \\sum_{i: c_i = k} x_i/\\sigma^2}{\\lambda_k},
        \\lambda_k^{-1}\\Big), \\qquad \\lambda_k = \\frac{1}{s_0^2} + \\frac{n_k}{\\sigma^2}.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    labels : array_like of int, shape (n,) or (S, n)
        Component labels in ``0 .. K-1`` (a batch of S label vectors is allowed).
    K : int
        Number of components, >= 1.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` and the known noise std :math:`\\sigma > 0`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(means, precisions)``, each of shape (K,) or (S, K).

    References
    ----------
    blei2017variational (section 3); bishop2006pattern

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "mixture_conditional_means"
    x, m0, s0, sigma = _check_inputs(x, prior_mean, prior_std, noise_std, where)
    K = check_int("K", K, minimum=1, where=where)
    lab = as_array("labels", labels, where=where)
    if lab.ndim not in (1, 2) or lab.shape[-1] != x.size:
        raise ValidationError(f"{where}: `labels` must have shape ({x.size},) or (S, {x.size}) to match `x`; "
                              f"received shape {lab.shape}.")
    if not np.all((lab == np.round(lab)) & (lab >= 0) & (lab < K)):
        raise ValidationError(f"{where}: `labels` must be integers in 0..{K - 1}; received {describe(lab)}.")
    onehot = (lab.astype(np.int64)[..., None] == np.arange(K)).astype(np.float64)  # (..., n, K)
    counts = onehot.sum(axis=-2)
    sums = np.einsum("...nk,n->...k", onehot, x)
    prec = 1.0 / s0**2 + counts / sigma**2
    return (m0 / s0**2 + sums / sigma**2) / prec, prec



@float64_guard
def mixture_conditional_labels(x: Any, means: Any, noise_std: float) -> np.ndarray:
    """Complete conditional of each label of the Bayesian mixture (uniform weights): a categorical.

    .. math::

        \\log p(c_i = k \\mid \\mu, x_i) = \\frac{x_i \\mu_k}{\\sigma^2} - \\frac{\\mu_k^2}{2\\sigma^2}
        - \\log \\sum_j \\exp\\Big(\\frac{x_i \\mu_j}{\\sigma^2} - \\frac{\\mu_j^2}{2\\sigma^2}\\Big).

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    means : array_like of shape (K,) or (S, K)
        Component means :math:`\\mu` (a batch of S draws is allowed), finite.
    noise_std : float
        Known noise std :math:`\\sigma > 0`.

    Returns
    -------
    numpy.ndarray of shape (n, K) or (S, n, K)
        Normalised log-probabilities.

    References
    ----------
    blei2017variational (section 3)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "mixture_conditional_labels"
    x, _, _, sigma = _check_inputs(x, 0.0, 1.0, noise_std, where)
    mu = check_finite("means", means, where=where)
    if mu.ndim not in (1, 2) or mu.shape[-1] < 1:
        raise ValidationError(f"{where}: `means` must have shape (K,) or (S, K) with K >= 1; "
                              f"received shape {mu.shape}.")
    logits = (x[:, None] * mu[..., None, :] - 0.5 * mu[..., None, :] ** 2) / sigma**2
    return logits - logsumexp(logits, axis=-1, keepdims=True)
