"""Summaries of Monte Carlo estimators: means, variances and standard errors of per-sample gradients.

:func:`summarize_gradients` summarises one batch of per-sample gradients (shape ``(S, 2, D)``);
:func:`replicate_estimator` reruns an estimator with independent seeds to measure its variance.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    check_callable,
    check_finite,
    check_int,
    check_rng,
    describe,
    float64_guard,
)

__all__ = [
    "GradientSummary",
    "summarize_gradients",
    "EstimatorStats",
    "replicate_estimator",
]


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



@float64_guard
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
    check_callable("estimator", estimator, where)
    n_replicates = check_int("n_replicates", n_replicates, minimum=2, where=where)
    rng = check_rng(rng, where)
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
