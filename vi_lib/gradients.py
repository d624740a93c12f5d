"""Monte Carlo estimators of the ELBO gradient for a diagonal Gaussian variational family.

The variational family is :math:`q_\\lambda(z) = \\prod_i \\mathcal{N}(z_i; \\mu_i, \\sigma_i^2)` with
parameters :math:`\\lambda = (\\mu, \\omega)` and :math:`\\sigma = \\exp(\\omega)` (``log_std``). Every
estimator returns *per-sample* gradients as an array of shape ``(n_samples, 2, D)``: entry
``[s, 0]`` is the gradient with respect to the mean, ``[s, 1]`` with respect to the log standard
deviation. Averaging over the first axis gives the estimate; :func:`summarize_gradients` and
:func:`replicate_estimator` turn per-sample gradients into means, variances and standard errors.

Sign convention: every function here returns the gradient of **+ELBO** (ascent direction).

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive_definite,
    check_same_shape,
    check_shape,
    describe,
)

__all__ = [
    "gaussian_entropy",
    "gaussian_score",
    "score_function_gradient",
    "score_function_cv_gradient",
    "rao_blackwell_gradient",
    "pathwise_gradient",
    "stl_gradient",
    "summarize_gradients",
    "GradientSummary",
    "replicate_estimator",
    "EstimatorStats",
    "GaussianTarget",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
_CV_METHODS = ("loo", "split", "plugin")

LogJoint = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------------------------
# Internal helpers (no validation: callers validate at the public boundary)
# ----------------------------------------------------------------------------------------------
def _check_q(mean: Any, log_std: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    mean = check_finite("mean", as_array("mean", mean, ndim=1, where=where), where=where)
    log_std = check_finite("log_std", as_array("log_std", log_std, ndim=1, where=where), where=where)
    mean, log_std = check_same_shape(("mean", "log_std"), (mean, log_std), where=where)
    if mean.size == 0:
        raise ValidationError(f"{where}: `mean` must be non-empty; received an empty array.")
    return mean, log_std


def _check_rng(rng: Any, where: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValidationError(
            f"{where}: `rng` must be a numpy.random.Generator (e.g. np.random.default_rng(0)); "
            f"received {type(rng).__name__}."
        )
    return rng


def _check_callable(name: str, fn: Any, where: str) -> None:
    if not callable(fn):
        raise ValidationError(f"{where}: `{name}` must be callable; received {type(fn).__name__}.")


def _call_checked(name: str, fn: LogJoint, z: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    out = np.asarray(fn(z), dtype=np.float64)
    if out.shape != shape:
        raise ValidationError(
            f"{where}: `{name}` must return an array of shape {shape} for input of shape {z.shape}; "
            f"received shape {out.shape}."
        )
    if not np.all(np.isfinite(out)):
        raise ValidationError(
            f"{where}: `{name}` must return finite values; received non-finite values "
            f"(NaN or infinity) at {int(np.sum(~np.isfinite(out)))} entries."
        )
    return out


def _log_q_terms(eps: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """Per-coordinate log q_i(z_i) at z = mean + sigma * eps, shape (S, D)."""
    return -0.5 * eps**2 - log_std - 0.5 * _LOG_2PI


def _score_from_eps(eps: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """Score (gradient of log q w.r.t. mean and log-std) at z = mean + sigma * eps, shape (S, 2, D)."""
    return np.stack([eps / np.exp(log_std), eps**2 - 1.0], axis=1)


def _control_variate(
    fh: np.ndarray,
    h: np.ndarray,
    method: str,
    fh_extra: np.ndarray | None = None,
    h_extra: np.ndarray | None = None,
) -> np.ndarray:
    """Return per-sample ``fh - a * h`` with the per-coordinate coefficient a = Cov(fh, h) / Var(h).

    ``method``: "plugin" (a from the same samples; slightly biased), "loo" (a for sample s from the
    other S - 1 samples; unbiased), "split" (a from the independent extra samples; unbiased).
    """

    def coef(f_: np.ndarray, h_: np.ndarray) -> np.ndarray:
        fc = f_ - f_.mean(axis=0)
        hc = h_ - h_.mean(axis=0)
        var = np.sum(hc**2, axis=0)
        cov = np.sum(fc * hc, axis=0)
        return np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)

    if method == "plugin":
        return fh - coef(fh, h) * h
    if method == "split":
        assert fh_extra is not None and h_extra is not None
        return fh - coef(fh_extra, h_extra) * h
    # leave-one-out, vectorised with running sums
    n = fh.shape[0]
    m = n - 1
    s_f, s_h = fh.sum(axis=0), h.sum(axis=0)
    s_fh, s_hh = (fh * h).sum(axis=0), (h * h).sum(axis=0)
    mf = (s_f - fh) / m
    mh = (s_h - h) / m
    cov = (s_fh - fh * h) / m - mf * mh
    var = (s_hh - h * h) / m - mh**2
    a = np.where(var > 1e-300, cov / np.where(var > 1e-300, var, 1.0), 0.0)
    return fh - a * h


def _draw(
    mean: np.ndarray, log_std: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    eps = rng.standard_normal((n, mean.size))
    return eps, mean + np.exp(log_std) * eps


# Cores shared with the BBVI loop: they take pre-drawn noise and return (per-sample gradient,
# per-sample log joint) so that the loop can monitor the ELBO with the same draws.
def _score_core(log_joint: LogJoint, mean, log_std, eps, z, where, cv=None, extra=None):
    n = eps.shape[0]
    logp = _call_checked("log_joint", log_joint, z, (n,), where)
    f = logp - _log_q_terms(eps, log_std).sum(axis=1)
    h = _score_from_eps(eps, log_std)
    fh = h * f[:, None, None]
    if cv is None:
        return fh, logp
    if cv == "split":
        eps2, z2 = extra
        logp2 = _call_checked("log_joint", log_joint, z2, (eps2.shape[0],), where)
        f2 = logp2 - _log_q_terms(eps2, log_std).sum(axis=1)
        h2 = _score_from_eps(eps2, log_std)
        return _control_variate(fh, h, cv, h2 * f2[:, None, None], h2), logp
    return _control_variate(fh, h, cv), logp


def _rao_blackwell_core(local_log_joint: LogJoint, mean, log_std, eps, z, where, cv=None, extra=None):
    n, d = eps.shape
    local = _call_checked("local_log_joint", local_log_joint, z, (n, d), where)
    f = local - _log_q_terms(eps, log_std)
    h = _score_from_eps(eps, log_std)
    fh = h * f[:, None, :]
    if cv is None:
        return fh
    if cv == "split":
        eps2, z2 = extra
        local2 = _call_checked("local_log_joint", local_log_joint, z2, (eps2.shape[0], d), where)
        h2 = _score_from_eps(eps2, log_std)
        fh2 = h2 * (local2 - _log_q_terms(eps2, log_std))[:, None, :]
        return _control_variate(fh, h, cv, fh2, h2)
    return _control_variate(fh, h, cv)


def _pathwise_core(grad_log_joint: LogJoint, mean, log_std, eps, z, where, stl=False):
    n, d = eps.shape
    g = _call_checked("grad_log_joint", grad_log_joint, z, (n, d), where)
    sigma = np.exp(log_std)
    if stl:
        # d/dz [log p(z) - log q(z)] with the parameters of q held fixed, chained through z(eps).
        dz = g + eps / sigma
        return np.stack([dz, dz * sigma * eps], axis=1)
    return np.stack([g, g * sigma * eps + 1.0], axis=1)


def _check_common(mean, log_std, n_samples, rng, where, minimum=1):
    mean, log_std = _check_q(mean, log_std, where)
    n_samples = check_int("n_samples", n_samples, minimum=minimum, where=where)
    rng = _check_rng(rng, where)
    return mean, log_std, n_samples, rng


def _check_cv_method(method: Any, where: str, allow_none: bool = False) -> str | None:
    allowed = _CV_METHODS + ((None,) if allow_none else ())
    if method not in allowed:
        raise ValidationError(f"{where}: `method` must be one of {allowed}; received {method!r}.")
    return method


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
def gaussian_entropy(log_std: Any) -> float:
    """Entropy of a diagonal Gaussian with log standard deviations ``log_std``.

    .. math::

        H[q] = \\sum_{i=1}^D \\omega_i + \\frac{D}{2} \\log(2 \\pi e).

    Parameters
    ----------
    log_std : array of shape (D,)
        Log standard deviations :math:`\\omega`.

    Returns
    -------
    float
        The entropy in nats.

    References
    ----------
    cover2006elements

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    log_std = check_finite(
        "log_std", as_array("log_std", log_std, ndim=1, where="gaussian_entropy"), where="gaussian_entropy"
    )
    return float(np.sum(log_std) + 0.5 * log_std.size * (1.0 + _LOG_2PI))


def gaussian_score(z: Any, mean: Any, log_std: Any) -> np.ndarray:
    """Score function of a diagonal Gaussian: the gradient of :math:`\\log q_\\lambda(z)` in :math:`\\lambda`.

    .. math::

        \\frac{\\partial \\log q}{\\partial \\mu_i} = \\frac{z_i - \\mu_i}{\\sigma_i^2}, \\qquad
        \\frac{\\partial \\log q}{\\partial \\omega_i} = \\frac{(z_i - \\mu_i)^2}{\\sigma_i^2} - 1.

    Parameters
    ----------
    z : array of shape (S, D)
        Points at which to evaluate the score.
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        ``[:, 0]`` is the score for the mean, ``[:, 1]`` for the log-std.

    References
    ----------
    williams1992simple, glynn1990likelihood

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "gaussian_score"
    mean, log_std = _check_q(mean, log_std, where)
    z = check_finite("z", check_shape("z", z, (None, mean.size), where=where), where=where)
    return _score_from_eps((z - mean) / np.exp(log_std), log_std)


def score_function_gradient(
    log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Score-function (likelihood-ratio, REINFORCE) estimator of the ELBO gradient.

    With :math:`z_s \\sim q_\\lambda` and :math:`f(z) = \\log p(x, z) - \\log q_\\lambda(z)`,

    .. math::

        \\widehat{\\nabla_\\lambda \\mathcal{L}} = \\frac{1}{S} \\sum_{s=1}^S
        \\nabla_\\lambda \\log q_\\lambda(z_s) \\, f(z_s).

    Parameters
    ----------
    log_joint : callable
        Maps an array of shape (S, D) to the log joint :math:`\\log p(x, z_s)`, shape (S,).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S (at least 1).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients with respect to (mean, log_std); their average is the estimate.

    References
    ----------
    williams1992simple, glynn1990likelihood, paisley2012variational, ranganath2014black

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "score_function_gradient"
    _check_callable("log_joint", log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng)
    return _score_core(log_joint, mean, log_std, eps, z, where)[0]


def score_function_cv_gradient(
    log_joint: LogJoint,
    mean: Any,
    log_std: Any,
    n_samples: int,
    rng: np.random.Generator,
    *,
    method: str = "loo",
) -> np.ndarray:
    """Score-function estimator with the score itself as control variate (an optimal baseline).

    For each coordinate k of :math:`\\lambda`, with :math:`h_k = \\partial_{\\lambda_k} \\log q`
    (which has mean zero) and :math:`g_k = h_k f`, the estimator is :math:`g_k - a_k h_k` with

    .. math::

        a_k^\\star = \\frac{\\operatorname{Cov}(g_k, h_k)}{\\operatorname{Var}(h_k)},

    the coefficient that minimises the variance. :math:`a^\\star` is estimated from samples:

    - ``"loo"`` (default): sample s uses the coefficient estimated from the other S - 1 samples, so
      it is independent of sample s and the estimator stays unbiased (needs S >= 3);
    - ``"split"``: the coefficient comes from S extra independent samples (unbiased, twice the cost);
    - ``"plugin"``: the same samples (as in Ranganath et al., 2014): biased by O(1/S).

    Parameters
    ----------
    log_joint : callable
        Maps an array of shape (S, D) to the log joint, shape (S,).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S (at least 3 for ``"loo"``, at least 2 otherwise).
    rng : numpy.random.Generator
        Source of randomness.
    method : {"loo", "split", "plugin"}
        How the coefficient is estimated.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients. With ``"loo"`` they are not independent (each uses the others), so
        judge their variance by replicating the whole estimator (:func:`replicate_estimator`).

    References
    ----------
    ranganath2014black, paisley2012variational, mohamed2020monte

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "score_function_cv_gradient"
    _check_callable("log_joint", log_joint, where)
    method = _check_cv_method(method, where)
    mean, log_std, n_samples, rng = _check_common(
        mean, log_std, n_samples, rng, where, minimum=3 if method == "loo" else 2
    )
    eps, z = _draw(mean, log_std, n_samples, rng)
    extra = _draw(mean, log_std, n_samples, rng) if method == "split" else None
    return _score_core(log_joint, mean, log_std, eps, z, where, cv=method, extra=extra)[0]


def rao_blackwell_gradient(
    local_log_joint: LogJoint,
    mean: Any,
    log_std: Any,
    n_samples: int,
    rng: np.random.Generator,
    *,
    control_variate: str | None = None,
) -> np.ndarray:
    """Rao-Blackwellized score-function estimator for a mean-field q.

    For coordinate i only the terms of the log joint that involve :math:`z_i` (its Markov blanket),
    :math:`\\log p_i(x, z_{(i)})`, enter:

    .. math::

        \\widehat{\\nabla_{\\lambda_i} \\mathcal{L}} = \\frac{1}{S} \\sum_{s=1}^S
        \\nabla_{\\lambda_i} \\log q_i(z_{s,i}) \\bigl(\\log p_i(x, z_{s,(i)}) - \\log q_i(z_{s,i})\\bigr).

    The dropped terms do not involve :math:`z_i`; under the mean-field q they are independent of
    :math:`z_i`, so their product with the score of :math:`q_i` factorises into
    :math:`\\mathbb{E}[\\nabla_{\\lambda_i} \\log q_i(z_i)] \\times \\mathbb{E}[\\cdot] = 0`: dropping them keeps
    the estimator unbiased and removes their noise.

    Parameters
    ----------
    local_log_joint : callable
        Maps an array of shape (S, D) to an array of shape (S, D) whose column i is the sum of
        the log-joint terms that involve :math:`z_i`.
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.
    control_variate : {None, "loo", "split", "plugin"}
        Also apply the score control variate of :func:`score_function_cv_gradient`
        (Ranganath et al. combine both).

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    ranganath2014black

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "rao_blackwell_gradient"
    _check_callable("local_log_joint", local_log_joint, where)
    if control_variate not in _CV_METHODS + (None,):
        raise ValidationError(
            f"{where}: `control_variate` must be one of {_CV_METHODS + (None,)}; "
            f"received {control_variate!r}."
        )
    minimum = 1 if control_variate is None else (3 if control_variate == "loo" else 2)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where, minimum=minimum)
    eps, z = _draw(mean, log_std, n_samples, rng)
    extra = _draw(mean, log_std, n_samples, rng) if control_variate == "split" else None
    return _rao_blackwell_core(local_log_joint, mean, log_std, eps, z, where, cv=control_variate, extra=extra)


def pathwise_gradient(
    grad_log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Reparameterization (pathwise) estimator of the ELBO gradient, entropy term exact.

    With :math:`z_s = \\mu + \\sigma \\odot \\epsilon_s`, :math:`\\epsilon_s \\sim \\mathcal{N}(0, I)`
    and :math:`g_s = \\nabla_z \\log p(x, z_s)`,

    .. math::

        \\widehat{\\nabla_\\mu \\mathcal{L}} = \\frac{1}{S} \\sum_s g_s, \\qquad
        \\widehat{\\nabla_\\omega \\mathcal{L}} = \\frac{1}{S} \\sum_s g_s \\odot \\sigma \\odot
        \\epsilon_s + 1.

    For this family the "+1" (the exact entropy gradient) coincides with the total derivative
    of :math:`-\\log q_\\lambda(z(\\lambda))`, so this is also the "total gradient" estimator.

    Parameters
    ----------
    grad_log_joint : callable
        Maps an array of shape (S, D) to :math:`\\nabla_z \\log p(x, z_s)`, shape (S, D).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    kingma2014autoencoding, rezende2014stochastic, titsias2014doubly

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "pathwise_gradient"
    _check_callable("grad_log_joint", grad_log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng)
    return _pathwise_core(grad_log_joint, mean, log_std, eps, z, where)


def stl_gradient(
    grad_log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """ "Sticking the landing" pathwise estimator: the score term of :math:`\\log q` is dropped.

    The total derivative of :math:`\\log p(x, z(\\lambda)) - \\log q_\\lambda(z(\\lambda))` has a
    path part and a score part :math:`-\\nabla_\\lambda \\log q_\\lambda(z)`, whose expectation is zero.
    Dropping it leaves

    .. math::

        \\widehat{\\nabla_\\lambda \\mathcal{L}} = \\frac{1}{S} \\sum_s
        \\bigl(\\nabla_z \\log p(x, z_s) - \\nabla_z \\log q_\\lambda(z_s)\\bigr)^\\top
        \\frac{\\partial z_s}{\\partial \\lambda},

    which is exactly zero for every sample when :math:`q_\\lambda` equals the posterior.

    Parameters
    ----------
    grad_log_joint : callable
        Maps an array of shape (S, D) to :math:`\\nabla_z \\log p(x, z_s)`, shape (S, D).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    roeder2017sticking

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "stl_gradient"
    _check_callable("grad_log_joint", grad_log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng)
    return _pathwise_core(grad_log_joint, mean, log_std, eps, z, where, stl=True)


@dataclass(frozen=True)
class GradientSummary:
    """Mean and standard error of a set of independent per-sample gradients.

    Attributes
    ----------
    mean : numpy.ndarray
        Average over samples.
    standard_error : numpy.ndarray
        Sample standard deviation divided by the square root of the number of samples.
    n_samples : int
        Number of samples averaged.
    """

    mean: np.ndarray
    standard_error: np.ndarray
    n_samples: int


def summarize_gradients(per_sample: Any) -> GradientSummary:
    """Mean and standard error of independent per-sample gradients (first axis = samples).

    Parameters
    ----------
    per_sample : array of shape (S, ...)
        Independent per-sample estimates, S >= 2.

    Returns
    -------
    GradientSummary
        Mean and standard error, each of shape ``per_sample.shape[1:]``.

    References
    ----------
    owen2013monte

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "summarize_gradients"
    arr = check_finite("per_sample", per_sample, where=where)
    if arr.ndim < 1 or arr.shape[0] < 2:
        raise ValidationError(
            f"{where}: `per_sample` must have at least 2 samples along axis 0; received shape {arr.shape}."
        )
    n = arr.shape[0]
    return GradientSummary(arr.mean(axis=0), arr.std(axis=0, ddof=1) / np.sqrt(n), n)


@dataclass(frozen=True)
class EstimatorStats:
    """Summary of an estimator replicated independently.

    Attributes
    ----------
    mean : numpy.ndarray
        Average of the replicated estimates.
    variance : numpy.ndarray
        Per-coordinate variance of one estimate (ddof=1 over replicates).
    standard_error : numpy.ndarray
        Standard error of ``mean``: ``sqrt(variance / n_replicates)``.
    n_replicates : int
        Number of independent replicates.
    """

    mean: np.ndarray
    variance: np.ndarray
    standard_error: np.ndarray
    n_replicates: int


def replicate_estimator(
    estimator: Callable[[np.random.Generator], Any], n_replicates: int, rng: np.random.Generator
) -> EstimatorStats:
    """Run an estimator many times and measure its mean, variance and standard error.

    Each call ``estimator(rng)`` must return per-sample gradients of shape (S, ...); one replicate
    is their average over the first axis. The variance reported is that of one replicate (an
    S-sample estimate), so estimators whose per-sample terms are dependent (leave-one-out control
    variates) are measured fairly.

    Parameters
    ----------
    estimator : callable
        Called as ``estimator(rng)``; returns an array of shape (S, ...).
    n_replicates : int
        Number of independent replicates (at least 2).
    rng : numpy.random.Generator
        Passed to every call, so replicates use consecutive, independent draws.

    Returns
    -------
    EstimatorStats
        Mean, variance and standard error, each of shape ``(...)``.

    References
    ----------
    mohamed2020monte

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "replicate_estimator"
    _check_callable("estimator", estimator, where)
    n_replicates = check_int("n_replicates", n_replicates, minimum=2, where=where)
    rng = _check_rng(rng, where)
    reps = []
    for _ in range(n_replicates):
        out = np.asarray(estimator(rng), dtype=np.float64)
        if out.ndim < 1 or out.shape[0] < 1:
            raise ValidationError(
                f"{where}: `estimator` must return per-sample values of shape (S, ...) "
                f"with S >= 1; received shape {out.shape}."
            )
        reps.append(out.mean(axis=0))
    arr = np.stack(reps)
    if not np.all(np.isfinite(arr)):
        raise ValidationError(f"{where}: `estimator(rng)` must return finite values; received replicate means "
                              f"{describe(arr)}.")
    var = arr.var(axis=0, ddof=1)
    return EstimatorStats(arr.mean(axis=0), var, np.sqrt(var / n_replicates), n_replicates)


@dataclass(frozen=True, eq=False)
class GaussianTarget:
    """A Gaussian posterior :math:`p(z \\mid x) = \\mathcal{N}(m, \\Lambda^{-1})`, a test bed for estimators.

    The log joint is :math:`\\log p(x, z) = \\log \\mathcal{N}(z; m, \\Lambda^{-1}) + \\log p(x)` with a
    chosen log evidence (default 0, i.e. the log joint is the normalised log density), so the exact ELBO and
    its gradient for a diagonal Gaussian q are available in closed form.

    Parameters
    ----------
    mean : array of shape (D,)
        Target mean :math:`m`.
    precision : array of shape (D, D)
        Symmetric positive-definite precision matrix :math:`\\Lambda`.
    log_evidence : float
        The constant :math:`\\log p(x)` added to the log density by :meth:`log_joint` (finite).

    References
    ----------
    bishop2006pattern

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """

    mean: np.ndarray
    precision: np.ndarray
    log_evidence: float = 0.0

    def __post_init__(self) -> None:
        where = "GaussianTarget"
        m = check_finite("mean", as_array("mean", self.mean, ndim=1, where=where), where=where)
        if m.size == 0:
            raise ValidationError(f"{where}: `mean` must be non-empty; received an empty array.")
        prec = check_positive_definite("precision", self.precision, where=where)
        check_shape("precision", prec, (m.size, m.size), where=where)
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "precision", prec)
        object.__setattr__(
            self, "log_evidence", float(check_finite("log_evidence", self.log_evidence, where=where))
        )
        _, logdet = np.linalg.slogdet(prec)
        object.__setattr__(self, "_log_norm", 0.5 * logdet - 0.5 * m.size * _LOG_2PI)

    @property
    def dim(self) -> int:
        """Dimension D."""
        return int(self.mean.size)

    @property
    def covariance(self) -> np.ndarray:
        """Covariance matrix :math:`\\Lambda^{-1}`."""
        return np.linalg.inv(self.precision)

    def _z(self, z: Any, where: str) -> np.ndarray:
        return check_finite("z", check_shape("z", z, (None, self.dim), where=where), where=where)

    def log_prob(self, z: Any) -> np.ndarray:
        """Log density at each row of ``z`` (shape (S, D)); returns shape (S,)."""
        d = self._z(z, "GaussianTarget.log_prob") - self.mean
        return self._log_norm - 0.5 * np.einsum("si,ij,sj->s", d, self.precision, d)

    def log_joint(self, z: Any) -> np.ndarray:
        """Log joint :math:`\\log p(z \\mid x) + \\log p(x)` at each row of ``z``; returns shape (S,)."""
        return self.log_prob(z) + self.log_evidence

    def grad_log_prob(self, z: Any) -> np.ndarray:
        """Gradient :math:`-\\Lambda (z - m)` at each row of ``z``; returns shape (S, D)."""
        d = self._z(z, "GaussianTarget.grad_log_prob") - self.mean
        return -d @ self.precision

    def markov_blanket_log_prob(self, z: Any) -> np.ndarray:
        """Column i: the terms of the log density that involve :math:`z_i`; returns shape (S, D).

        .. math::

            \\log p_i(z) = -\\tfrac{1}{2} \\Lambda_{ii} d_i^2 - \\sum_{j \\ne i} \\Lambda_{ij} d_i d_j,
            \\qquad d = z - m.

        Only coordinates j with :math:`\\Lambda_{ij} \\neq 0` (the Markov blanket of i) contribute.
        """
        d = self._z(z, "GaussianTarget.markov_blanket_log_prob") - self.mean
        diag = np.diag(self.precision)
        return -d * (d @ self.precision) + 0.5 * diag * d**2

    def elbo(self, mean: Any, log_std: Any) -> float:
        """Exact ELBO :math:`\\mathbb{E}_q[\\log p(x, z)] + H[q]` for a diagonal Gaussian q."""
        mu, om = _check_q(mean, log_std, "GaussianTarget.elbo")
        check_shape("mean", mu, (self.dim,), where="GaussianTarget.elbo")
        d = mu - self.mean
        var = np.exp(2 * om)
        e_logp = self._log_norm - 0.5 * (d @ self.precision @ d + np.sum(np.diag(self.precision) * var))
        return float(e_logp + self.log_evidence + np.sum(om) + 0.5 * self.dim * (1.0 + _LOG_2PI))

    def elbo_gradient(self, mean: Any, log_std: Any) -> np.ndarray:
        """Exact ELBO gradient, shape (2, D): rows are d/d mean and d/d log_std.

        .. math::

            \\nabla_\\mu \\mathcal{L} = -\\Lambda (\\mu - m), \\qquad
            \\nabla_{\\omega_i} \\mathcal{L} = 1 - \\Lambda_{ii} \\sigma_i^2.
        """
        mu, om = _check_q(mean, log_std, "GaussianTarget.elbo_gradient")
        check_shape("mean", mu, (self.dim,), where="GaussianTarget.elbo_gradient")
        return np.stack(
            [-(self.precision @ (mu - self.mean)), 1.0 - np.diag(self.precision) * np.exp(2 * om)]
        )

    def optimal_mean_field(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean-field Gaussian maximising the ELBO: mean m, std :math:`1/\\sqrt{\\Lambda_{ii}}`.

        Returns
        -------
        tuple of numpy.ndarray
            ``(mean, log_std)``, each of shape (D,).
        """
        return self.mean.copy(), -0.5 * np.log(np.diag(self.precision))
