"""Did the fit work? Pareto-smoothed importance sampling checks of a fitted family, by arviz-stats.

A fitted :math:`q` proposes draws :math:`z_s \\sim q` for the target with importance weights
:math:`\\log w_s = \\log p(x, z_s) - \\log q(z_s)`. Their mean is the ELBO estimate; their upper tail
says how far :math:`q` is from the posterior (Yao et al., 2018):

* :func:`psis_check`: draws, raw and Pareto-smoothed log weights and the Pareto :math:`\\hat k` (by
  ``arviz_stats.base.array_stats.psislw``; below 0.5 the fit is good, 0.5 to 0.7 usable, above 0.7
  the importance weights and the fit are not to be trusted);
* :func:`psis_expectation`: posterior expectations corrected with the smoothed weights;
* :func:`importance_weighted_bound`: :math:`\\mathcal L_K`, the importance-weighted bound of Burda
  et al. with K draws per group, between the ELBO (:math:`K = 1`) and :math:`\\log p(x)`.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from arviz_stats.base import array_stats
from scipy.special import logsumexp

from .._validation import ValidationError, as_array, check_callable, check_finite, check_int, describe
from ..families.gaussian_torch import _check_family, _Family
from ..objectives.elbo import MonteCarloEstimate
from .diagnostics import MIN_IMPORTANCE_DRAWS

#: Log weights whose spread is below this (relative to their size) count as equal: q is the target.
_EQUAL_WEIGHTS_RTOL = 1e-10

__all__ = ["PSISResult", "psis_check", "psis_smooth", "psis_expectation", "importance_weighted_bound"]


@dataclass(frozen=True)
class PSISResult:
    """Importance-sampling check of a family against a target, built by :func:`psis_check`.

    Attributes
    ----------
    draws : numpy.ndarray of shape (S, d)
        Draws :math:`z_s \\sim q`.
    log_weights : numpy.ndarray of shape (S,)
        Raw log weights :math:`\\log p(x, z_s) - \\log q(z_s)`.
    smoothed_log_weights : numpy.ndarray of shape (S,)
        Pareto-smoothed, self-normalised log weights (their exponentials sum to 1).
    khat : float
        Pareto :math:`\\hat k` of the weights' upper tail.
    ess : float
        Effective sample size :math:`1 / \\sum_s \\tilde w_s^2` of the smoothed weights.
    elbo : MonteCarloEstimate
        The ELBO estimate (mean log weight) with its standard error, in nats.
    """

    draws: np.ndarray
    log_weights: np.ndarray
    smoothed_log_weights: np.ndarray
    khat: float
    ess: float
    elbo: MonteCarloEstimate


def _check_log_weights(log_weights: Any, where: str, minimum: int = MIN_IMPORTANCE_DRAWS) -> np.ndarray:
    lw = check_finite("log_weights", as_array("log_weights", log_weights, ndim=1, where=where), where=where)
    if lw.size < minimum:
        raise ValidationError(f"{where}: `log_weights` must have at least {minimum} entries; received "
                              f"{describe(lw)}.")
    return lw


def _psis(lw: np.ndarray) -> tuple[np.ndarray, float]:
    if np.ptp(lw) <= _EQUAL_WEIGHTS_RTOL * max(1.0, float(np.max(np.abs(lw)))):
        # Weights equal up to rounding (q is the target up to a constant) have no tail to fit; arviz-stats
        # raises or divides by zero on them.
        return np.full(lw.size, -np.log(lw.size)), -np.inf
    # arviz-stats' psislw follows the PSIS-LOO convention: its input is a log-likelihood and the log
    # weights are its negative. Hence the minus sign (as in importance_diagnostics).
    with np.errstate(all="ignore"):
        smoothed, khat = array_stats.psislw(-lw, r_eff=1.0)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    if not (np.all(np.isfinite(smoothed)) and np.isfinite(khat)):
        # The tail weights relative to the largest underflow float64 (a spread of more than ~700 nats
        # between the largest weights and the tail's cutoff): one draw carries all the weight, the
        # generalised Pareto fit is undefined (arviz-stats divides by zero), and the tail is as heavy
        # as it gets. Report k-hat = +inf and the raw self-normalised weights.
        return lw - logsumexp(lw), np.inf
    return smoothed, float(khat)


def psis_smooth(log_weights: Any) -> tuple[np.ndarray, float]:
    """Pareto-smoothed, self-normalised log weights and their :math:`\\hat k` (computed by arviz-stats).

    The largest :math:`M = \\min(S/5, 3 \\sqrt S)` weights are replaced by the expected order
    statistics of a generalised Pareto distribution fitted to them (whose shape is :math:`\\hat k`),
    then truncated at the largest raw weight and normalised. This is
    ``arviz_stats.base.array_stats.psislw``.

    Parameters
    ----------
    log_weights : array of shape (S,)
        Raw log importance weights, finite, S >= 20.

    Returns
    -------
    tuple
        ``(smoothed_log_weights, khat)``: an array of shape (S,) whose exponentials sum to 1, and a float
        (``-inf`` when all weights are equal up to rounding, a spread below :math:`10^{-10}` relative to
        their size: q is the target and there is no tail; ``+inf`` when the tail is degenerate, one draw
        carrying all the weight because the weights span more than float64's exponent range, about
        700 nats; the smoothed weights are then the raw ones, normalised).

    References
    ----------
    vehtari2024pareto

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    return _psis(_check_log_weights(log_weights, "psis_smooth"))


def psis_check(log_joint: Callable[[torch.Tensor], torch.Tensor], family: _Family, *, n_samples: int = 4000,
               seed: int = 0) -> PSISResult:
    """Draw from a fitted family, weight the draws by the target, and compute the PSIS diagnostic.

    .. math::

        \\log w_s = \\log p(x, z_s) - \\log q(z_s), \\qquad z_s \\sim q, \\quad s = 1, \\dots, S.

    The draws and weights are computed in torch without gradients and returned as float64 arrays.

    Parameters
    ----------
    log_joint : callable
        Maps a tensor of shape (S, d) to :math:`\\log p(x, z_s)`, shape (S,), in torch.
    family : MeanFieldGaussian or FullRankGaussian or NormalizingFlow
        The (fitted) family q.
    n_samples : int
        Number of draws S (at least 20).
    seed : int
        Seed of the ``torch.Generator`` of the draws (non-negative).

    Returns
    -------
    PSISResult
        Draws, raw and smoothed log weights, :math:`\\hat k`, ESS and the ELBO estimate.

    References
    ----------
    yao2018yes, vehtari2024pareto

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "psis_check"
    check_callable("log_joint", log_joint, where)
    family = _check_family(family, where)
    n = check_int("n_samples", n_samples, minimum=MIN_IMPORTANCE_DRAWS, where=where)
    seed = check_int("seed", seed, minimum=0, where=where)
    generator = torch.Generator(device=next(family.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        z, log_q = family._rsample_and_log_prob(n, generator)
        try:
            log_p = log_joint(z)
        except (RuntimeError, ValueError, IndexError) as err:
            raise ValidationError(f"{where}: `log_joint` failed on a batch of shape ({n}, {family.dim}) drawn from "
                                  f"`family`: {err}") from None
    if not isinstance(log_p, torch.Tensor) or tuple(log_p.shape) != (n,):
        raise ValidationError(f"{where}: `log_joint(z)` must return a torch tensor of shape ({n},); received "
                              f"{describe(log_p)}.")
    lw = (log_p - log_q).double().cpu().numpy()
    if not np.all(np.isfinite(lw)):
        raise ValidationError(f"{where}: `log_joint(z)` must be finite at the draws of `family`; received "
                              f"{describe(lw)} as log weights.")
    smoothed, khat = _psis(lw)
    elbo = MonteCarloEstimate(float(lw.mean()), float(lw.std(ddof=1) / np.sqrt(n)))
    ess = float(1.0 / np.sum(np.exp(2.0 * smoothed)))
    return PSISResult(z.double().cpu().numpy(), lw, smoothed, khat, ess, elbo)


def psis_expectation(values: Any, log_weights: Any) -> Any:
    """Self-normalised importance-sampling estimate of :math:`\\mathbb E_p[f(z)]` with Pareto-smoothed weights.

    .. math::

        \\widehat{\\mathbb E}_p[f] = \\sum_{s=1}^S \\tilde w_s f(z_s),

    where :math:`\\tilde w` are the smoothed, normalised weights of :func:`psis_smooth` computed from
    the raw ``log_weights``. When :math:`\\hat k < 0.7` this corrects the bias of the plain average
    :math:`\\frac1S \\sum_s f(z_s)` under :math:`q`.

    Parameters
    ----------
    values : array of shape (S,) or (S, k)
        :math:`f(z_s)` for each draw (finite).
    log_weights : array of shape (S,)
        Raw log importance weights of the same draws, finite, S >= 20.

    Returns
    -------
    float or numpy.ndarray of shape (k,)
        The estimate.

    References
    ----------
    vehtari2024pareto, yao2018yes

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "psis_expectation"
    lw = _check_log_weights(log_weights, where)
    f = check_finite("values", as_array("values", values, where=where), where=where)
    if f.ndim not in (1, 2) or f.shape[0] != lw.size:
        raise ValidationError(f"{where}: `values` must be of shape ({lw.size},) or ({lw.size}, k), one row per "
                              f"log weight; received {describe(f)}.")
    w = np.exp(_psis(lw)[0])
    est = np.tensordot(w, f, axes=(0, 0))
    return float(est) if f.ndim == 1 else est


def importance_weighted_bound(log_weights: Any, k: int) -> MonteCarloEstimate:
    """The importance-weighted bound :math:`\\mathcal L_K` from groups of K log weights.

    The S log weights are cut into :math:`G = \\lfloor S / K \\rfloor` groups of K (leftovers dropped);
    each group gives one draw of

    .. math::

        \\log \\frac1K \\sum_{k=1}^K w_k, \\qquad
        \\mathbb E = \\mathcal L_K \\le \\log p(x),

    and the estimate is their average, with standard error over the groups (none for :math:`G = 1`).
    :math:`\\mathcal L_1` is the ELBO and :math:`\\mathcal L_K` increases with K.

    Parameters
    ----------
    log_weights : array of shape (S,)
        Log importance weights :math:`\\log p(x, z_s) - \\log q(z_s)` of independent draws, finite.
    k : int
        Draws per group K (at least 1, at most S).

    Returns
    -------
    MonteCarloEstimate
        The estimate of :math:`\\mathcal L_K` in nats and its standard error (NaN when G = 1).

    References
    ----------
    burda2016importance, cremer2018inference

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "importance_weighted_bound"
    lw = _check_log_weights(log_weights, where, minimum=1)
    k = check_int("k", k, minimum=1, where=where)
    if k > lw.size:
        raise ValidationError(f"{where}: `k` must be at most the number of log weights {lw.size}; received {k}.")
    groups = lw[: (lw.size // k) * k].reshape(-1, k)
    bounds = logsumexp(groups, axis=1) - np.log(k)
    se = float("nan")
    if bounds.size > 1:
        # Scaled so that squaring cannot overflow, whatever the magnitude of the log weights.
        dev = bounds - bounds.mean()
        scale = float(np.max(np.abs(dev))) or 1.0
        se = scale * float(np.sqrt(np.sum((dev / scale) ** 2) / (bounds.size - 1) / bounds.size))
    return MonteCarloEstimate(float(bounds.mean()), se)
