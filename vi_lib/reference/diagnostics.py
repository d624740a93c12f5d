"""Convergence and importance-sampling diagnostics.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
)

__all__ = [
    "split_rhat",
    "effective_sample_size",
]


def _check_chains(chains: Any, where: str) -> np.ndarray:
    arr = check_finite("chains", as_array("chains", chains, where=where), where=where)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 4:
        raise ValidationError(
            f"{where}: `chains` must have shape (C, N, D) or (C, N) with N >= 4; received shape {arr.shape}."
        )
    return arr



def split_rhat(chains: Any) -> np.ndarray:
    """Split-:math:`\\hat R` convergence diagnostic, per coordinate.

    Each chain is cut in half (so 2C chains of length N/2); with W the mean within-chain variance and
    B/n the variance of the chain means, :math:`\\hat R = \\sqrt{((n-1)/n \\, W + B/n) / W}`. Values
    near 1 (below about 1.01) indicate the chains agree.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, N >= 4.

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
    n = arr.shape[1] // 2
    halves = np.concatenate([arr[:, :n], arr[:, -n:]], axis=0)
    w = halves.var(axis=1, ddof=1).mean(axis=0)
    b_over_n = halves.mean(axis=1).var(axis=0, ddof=1)
    var_plus = (n - 1) / n * w + b_over_n
    return np.sqrt(var_plus / w)



def effective_sample_size(chains: Any) -> np.ndarray:
    """Effective sample size per coordinate from multi-chain autocorrelations.

    Uses the combined-chain autocorrelation estimate
    :math:`\\hat\\rho_t = 1 - (W - \\overline{\\gamma}_t) / \\widehat{\\operatorname{var}}^+` and Geyer's
    initial monotone positive sequence to truncate the sum:
    :math:`\\text{ESS} = C N / (-1 + 2 \\sum_{k} P_k)` with :math:`P_k = \\hat\\rho_{2k} + \\hat\\rho_{2k+1}`.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, N >= 4.

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
    c, n, d = arr.shape
    x = arr - arr.mean(axis=1, keepdims=True)
    m = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, n=m, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=m, axis=1)[:, :n] / n  # (C, N, D), biased autocovariance
    chain_var = acov[:, 0] * n / (n - 1)
    w = chain_var.mean(axis=0)
    var_plus = w * (n - 1) / n + (arr.mean(axis=1).var(axis=0, ddof=1) if c > 1 else 0.0)
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus  # (N, D)
    ess = np.empty(d)
    for j in range(d):
        pairs = rho[: 2 * (n // 2), j].reshape(-1, 2).sum(axis=1)
        k = 0
        total = 0.0
        prev = np.inf
        while k < pairs.size and pairs[k] > 0:
            p = min(pairs[k], prev)
            total += p
            prev = p
            k += 1
        ess[j] = c * n / max(-1.0 + 2.0 * total, 1e-12)
    return ess
