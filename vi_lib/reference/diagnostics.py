"""Convergence and importance-sampling diagnostics, computed by arviz-stats.

The book uses these diagnostics but does not teach how to compute them, so they come from a
well-kept library, ``arviz_stats.base.array_stats``; the functions here only validate their input,
fix the axis convention and name the method:

* :func:`split_rhat`: split-:math:`\\hat R` (``array_stats.rhat(..., method="split")``);
* :func:`effective_sample_size`: multi-chain ESS with Geyer's initial monotone sequence
  (``array_stats.ess(..., method="identity")``);
* :func:`importance_diagnostics`: the Pareto :math:`\\hat k` of importance weights
  (``array_stats.psislw``) and their Kish effective sample size.

Chains are arrays of shape ``(C, N, D)`` (chains, draws, coordinates) or ``(C, N)``.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from arviz_stats.base import array_stats

from .._validation import ValidationError, as_array, check_finite, describe, float64_guard
from .evidence import summarize_log_weights

__all__ = ["split_rhat", "effective_sample_size", "ImportanceDiagnostics", "importance_diagnostics"]

#: Fewest log weights :func:`importance_diagnostics` accepts: the Pareto fit uses the largest
#: :math:`\min(N/5, 3\sqrt N)` weights, which must be enough to fit a tail.
MIN_IMPORTANCE_DRAWS = 20


def _check_chains(chains: Any, where: str) -> np.ndarray:
    arr = check_finite("chains", as_array("chains", chains, where=where), where=where)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 4:
        raise ValidationError(
            f"{where}: `chains` must have shape (C, N, D) or (C, N) with N >= 4; received shape {arr.shape}."
        )
    return arr


@float64_guard
def split_rhat(chains: Any) -> np.ndarray:
    """Split-:math:`\\hat R` convergence diagnostic, per coordinate (computed by arviz-stats).

    Each chain is cut in half (so 2C chains of length n = N/2); with W the mean within-chain variance
    and B/n the variance of the chain means, :math:`\\hat R = \\sqrt{((n-1)/n \\, W + B/n) / W}`.
    Values near 1 (below about 1.01) indicate the chains agree. This is
    ``arviz_stats.base.array_stats.rhat(chains, chain_axis=0, draw_axis=1, method="split")``.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, finite, N >= 4.

    Returns
    -------
    numpy.ndarray of shape (D,)
        :math:`\\hat R` for every coordinate.

    References
    ----------
    gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    arr = _check_chains(chains, "split_rhat")
    return np.asarray(array_stats.rhat(arr, chain_axis=0, draw_axis=1, method="split"), dtype=np.float64)


@float64_guard
def effective_sample_size(chains: Any) -> np.ndarray:
    """Effective sample size per coordinate from multi-chain autocorrelations (computed by arviz-stats).

    Uses the combined-chain autocorrelation estimate
    :math:`\\hat\\rho_t = 1 - (W - \\overline{\\gamma}_t) / \\widehat{\\operatorname{var}}^+` and Geyer's
    initial monotone positive sequence to truncate the sum:
    :math:`\\text{ESS} = C N / (-1 + 2 \\sum_{k} P_k)` with :math:`P_k = \\hat\\rho_{2k} + \\hat\\rho_{2k+1}`.
    The chains are not split and not rank-normalised: this is
    ``arviz_stats.base.array_stats.ess(chains, chain_axis=0, draw_axis=1, method="identity")``.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, finite, N >= 4.

    Returns
    -------
    numpy.ndarray of shape (D,)
        Effective sample size of every coordinate.

    References
    ----------
    gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    arr = _check_chains(chains, "effective_sample_size")
    return np.asarray(array_stats.ess(arr, chain_axis=0, draw_axis=1, method="identity"), dtype=np.float64)


@dataclass(frozen=True)
class ImportanceDiagnostics:
    """Reliability of a set of importance weights, built by :func:`importance_diagnostics`.

    Attributes
    ----------
    khat : float
        Pareto :math:`\\hat k` of the upper tail of the weights. Below 0.5 the weights have finite
        variance; up to 0.7 the estimate is usable; above 0.7 it is not to be trusted.
    ess : float
        Kish effective sample size :math:`(\\sum_s w_s)^2 / \\sum_s w_s^2` of the raw weights.
    n_draws : int
        Number of weights N.
    """

    khat: float
    ess: float
    n_draws: int


@float64_guard
def importance_diagnostics(log_weights: Any) -> ImportanceDiagnostics:
    """Pareto :math:`\\hat k` and Kish ESS of importance weights :math:`w_s = p(x, z_s) / q(z_s)`.

    :math:`\\hat k` is the shape of a generalised Pareto distribution fitted to the largest weights
    (Vehtari et al.'s PSIS diagnostic, computed by ``arviz_stats.base.array_stats.psislw``). It says
    whether the importance-sampling estimate of :math:`p(x)` can be trusted: for :math:`\\hat k < 0.5`
    the weights have finite variance, for :math:`\\hat k > 0.7` the estimate is unreliable even when
    the effective sample size looks large. The ESS is the one of :func:`summarize_log_weights`.

    Parameters
    ----------
    log_weights : array of shape (N,)
        Log importance weights, finite, N >= 20 (``MIN_IMPORTANCE_DRAWS``).

    Returns
    -------
    ImportanceDiagnostics
        ``khat``, ``ess`` and ``n_draws``.

    References
    ----------
    vehtari2024pareto, kong1992note

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "importance_diagnostics"
    lw = check_finite("log_weights", as_array("log_weights", log_weights, ndim=1, where=where), where=where)
    if lw.size < MIN_IMPORTANCE_DRAWS:
        raise ValidationError(
            f"{where}: `log_weights` must have at least {MIN_IMPORTANCE_DRAWS} entries to fit a Pareto tail; "
            f"received {describe(lw)}."
        )
    # arviz-stats' psislw follows the PSIS-LOO convention: its input is a log-likelihood and the log
    # weights are its negative. Hence the minus sign.
    _, khat = array_stats.psislw(-lw, r_eff=1.0)
    return ImportanceDiagnostics(float(khat), summarize_log_weights(lw).ess, int(lw.size))
