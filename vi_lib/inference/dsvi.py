"""Doubly stochastic VI: minibatches of the data *and* Monte Carlo draws of q, for logistic regression.

For a log joint that is a prior plus a sum over N data points, each step estimates the ELBO
gradient with two independent sources of noise: a minibatch :math:`B` of the data, its log
likelihood scaled by :math:`N/|B|` so that the estimate stays unbiased, and S reparameterised draws
:math:`z_s = \\mu + \\sigma \\odot \\epsilon_s` of the diagonal Gaussian q (the pathwise estimator of
:mod:`vi_lib.objectives.gradients`, entropy gradient exact). The step rules (Adam, Robbins-Monro)
are those of :func:`~vi_lib.inference.bbvi.fit_bbvi`.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).

"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    as_array,
    call_user,
    check_callable,
    check_finite,
    check_int,
    check_rng,
    check_scalar,
    float64_guard,
)
from ..families.gaussian import _check_q, gaussian_entropy
from ..models.logistic import BayesianLogisticRegression, _check_model
from ..objectives.gradients import _draw, _pathwise_core
from .bbvi import BBVIResult, _diverged_as_error, _step_rule

__all__ = [
    "fit_doubly_stochastic_vi",
    "doubly_stochastic_gradient",
    "DSVIResult",
]


@dataclass(frozen=True)
class DSVIResult(BBVIResult):
    """Output of :func:`fit_doubly_stochastic_vi`: a :class:`~vi_lib.inference.bbvi.BBVIResult` plus the data seen.

    Attributes
    ----------
    data_passes : numpy.ndarray of shape (n_iterations,)
        Passes over the data (epochs) completed after each iteration,
        :math:`(t + 1) |B| / N`; plot the ELBO trace against it to compare batch sizes by data seen.
    batch_size : int
        Minibatch size :math:`|B|`.
    likelihood_scale : float
        Weight :math:`c` of the batch log likelihood (:math:`N/|B|` unless overridden).
    """

    data_passes: np.ndarray
    batch_size: int
    likelihood_scale: float


@float64_guard
def fit_doubly_stochastic_vi(
    model: BayesianLogisticRegression,
    init_mean: Any,
    *,
    batch_size: int,
    n_iterations: int = 1000,
    n_samples: int = 1,
    optimizer: str = "adam",
    step_size: float = 0.05,
    rm_delay: float = 1.0,
    rm_exponent: float = 0.7,
    rng: np.random.Generator,
    init_log_std: Any = None,
    likelihood_scale: float | None = None,
    callback: Callable[[int, float, tuple[np.ndarray, np.ndarray]], Any] | None = None,
) -> DSVIResult:
    """Fit a diagonal Gaussian q to a logistic-regression posterior with minibatch pathwise gradients.

    Iteration t takes the next minibatch :math:`B_t` of a fresh random permutation of the N data
    points (a new permutation each epoch; the last ``N mod batch_size`` points of each permutation
    are skipped, so every batch has exactly ``batch_size`` points and is a uniformly random subset),
    draws S samples :math:`z_s = \\mu + \\sigma \\odot \\epsilon_s` and ascends

    .. math::

        \\hat g_\\mu &= \\frac1S \\sum_s \\hat\\nabla_z(z_s), \\\\
        \\hat g_\\omega &= \\frac1S \\sum_s \\hat\\nabla_z(z_s) \\odot \\sigma
        \\odot \\epsilon_s + 1, \\\\
        \\hat\\nabla_z(z) &= \\nabla_z \\log p(z)
        + c \\sum_{n \\in B_t} \\nabla_z \\log p(y_n \\mid x_n, z),

    with :math:`c = N/|B_t|`, which makes :math:`\\hat g` unbiased for the full-data ELBO gradient.
    The "+1" is the exact gradient of the Gaussian entropy. With ``batch_size = N`` no permutation
    is drawn and the run reproduces ``fit_bbvi(model.log_joint, ..., estimator="pathwise")`` draw
    for draw. Step rules as in :func:`~vi_lib.inference.bbvi.fit_bbvi`.

    Parameters
    ----------
    model : BayesianLogisticRegression
        The model; its prior and per-datum likelihood are evaluated on minibatches.
    init_mean : array of shape (D,)
        Initial mean of q.
    batch_size : int
        Minibatch size :math:`|B|`, in 1..N.
    n_iterations : int
        Number of updates (at least 1).
    n_samples : int
        Monte Carlo samples S per update (at least 1).
    optimizer : {"adam", "robbins_monro"}
        Update rule.
    step_size : float
        Adam learning rate, or the Robbins-Monro scale :math:`\\rho_0`; must be positive.
    rm_delay : float
        Robbins-Monro delay :math:`\\tau > 0` in :math:`\\rho_t = \\rho_0 (t + \\tau)^{-\\kappa}`;
        validated but ignored by Adam.
    rm_exponent : float
        Robbins-Monro exponent :math:`\\kappa \\in (1/2, 1]`; validated but ignored by Adam.
    rng : numpy.random.Generator
        Source of randomness (the permutations and the Monte Carlo draws).
    init_log_std : array of shape (D,), optional
        Initial log standard deviations (default zeros).
    likelihood_scale : float, optional
        Positive weight c of the batch log likelihood, overriding :math:`N/|B|`. Only for showing
        what goes wrong: with ``1.0`` the fit targets a posterior that saw :math:`|B|` points
        instead of N, and its standard deviations come out about :math:`\\sqrt{N/|B|}` too wide.
    callback : callable, optional
        Called after every iteration as ``callback(step, elbo_estimate, (mean, log_std))``.

    Returns
    -------
    DSVIResult
        Fitted parameters; the minibatch ELBO estimate of each iteration (before its update,
        unbiased for the full-data ELBO when :math:`c = N/|B|`); wall-clock times; passes over the data.

    Raises
    ------
    ValidationError
        On invalid arguments, or if the estimates become non-finite (typically a step size that is
        too large).

    References
    ----------
    titsias2014doubly, hoffman2013stochastic, kucukelbir2017automatic, robbins1951stochastic,
    kingma2015adam

    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "fit_doubly_stochastic_vi"
    model = _check_model(model, where)
    n_data = model.n_data
    batch_size = _check_batch_size(batch_size, n_data, where)
    scale = n_data / batch_size if likelihood_scale is None else check_scalar(
        "likelihood_scale", likelihood_scale, where, positive=True)
    mean = check_finite("init_mean", as_array("init_mean", init_mean, ndim=1, where=where), where=where)
    log_std = np.zeros_like(mean) if init_log_std is None else check_finite("init_log_std", init_log_std, where=where)
    mean, log_std = _check_q(mean, log_std, where)
    if mean.size != model.dim:
        raise ValidationError(f"{where}: `init_mean` must have length D = {model.dim}; received length {mean.size}.")
    mean, log_std = mean.copy(), log_std.copy()
    n_iterations = check_int("n_iterations", n_iterations, minimum=1, where=where)
    n_samples = check_int("n_samples", n_samples, minimum=1, where=where)
    if optimizer not in ("adam", "robbins_monro"):
        raise ValidationError(f"{where}: `optimizer` must be one of ('adam', 'robbins_monro'); received {optimizer!r}.")
    step = _step_rule(optimizer, step_size, rm_delay, rm_exponent, mean.size, where)
    rng = check_rng(rng, where)
    if callback is not None:
        check_callable("callback", callback, where)

    batches = _epoch_batches(n_data, batch_size, rng)
    elbos = np.empty(n_iterations)
    times = np.empty(n_iterations)
    start = time.perf_counter()
    for t in range(n_iterations):
        with _diverged_as_error(t, mean, log_std, step_size, where):
            elbo, g = _estimate(model, mean, log_std, next(batches), scale, n_samples, rng, where)
        if not (np.isfinite(elbo) and np.all(np.isfinite(g))):
            raise ValidationError(
                f"{where}: the ELBO estimate or gradient became non-finite at iteration {t}; "
                f"received ELBO {elbo!r}. Reduce `step_size`."
            )
        delta = step(t, g)
        mean = mean + delta[0]
        log_std = log_std + delta[1]
        elbos[t] = elbo
        times[t] = time.perf_counter() - start
        if callback is not None:
            call_user(callback, t, elbo, (mean.copy(), log_std.copy()))
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(log_std))):
        raise ValidationError(
            f"{where}: the parameters became non-finite; received mean {mean!r}. Reduce `step_size`."
        )
    passes = np.arange(1, n_iterations + 1) * (batch_size / n_data)
    return DSVIResult(mean, log_std, elbos, times, "pathwise", optimizer, n_samples, passes, batch_size, scale)


def doubly_stochastic_gradient(
    model: BayesianLogisticRegression,
    mean: Any,
    log_std: Any,
    batch_size: int,
    n_samples: int,
    rng: np.random.Generator,
    *,
    likelihood_scale: float | None = None,
) -> np.ndarray:
    """One doubly stochastic estimate of the ELBO gradient: a random minibatch and S pathwise draws.

    The minibatch :math:`B` is drawn uniformly without replacement; with :math:`c = N/|B|`,

    .. math::

        \\mathbb{E}_{B, \\epsilon}\\Bigl[\\nabla_z \\log p(z) + c \\sum_{n \\in B}
        \\nabla_z \\log p(y_n \\mid x_n, z)\\Bigr]_{z = \\mu + \\sigma \\odot \\epsilon}
        = \\mathbb{E}_\\epsilon\\bigl[\\nabla_z \\log p(y, z)\\bigr],

    so the result, averaged over its first axis, is unbiased for the full-data pathwise gradient
    of :func:`~vi_lib.objectives.gradients.pathwise_gradient`.

    Parameters
    ----------
    model : BayesianLogisticRegression
        The model.
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    batch_size : int
        Minibatch size, in 1..N.
    n_samples : int
        Number of Monte Carlo samples S (at least 1).
    rng : numpy.random.Generator
        Source of randomness (the batch, then the draws).
    likelihood_scale : float, optional
        Positive weight c of the batch log likelihood (default :math:`N/|B|`).

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients with respect to (mean, log_std), all on the same minibatch (so they
        are not independent: judge the variance by replicating the whole estimate).

    References
    ----------
    titsias2014doubly

    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "doubly_stochastic_gradient"
    model = _check_model(model, where)
    mean, log_std = _check_q(mean, log_std, where)
    if mean.size != model.dim:
        raise ValidationError(f"{where}: `mean` must have length D = {model.dim}; received length {mean.size}.")
    batch_size = _check_batch_size(batch_size, model.n_data, where)
    n_samples = check_int("n_samples", n_samples, minimum=1, where=where)
    rng = check_rng(rng, where)
    scale = model.n_data / batch_size if likelihood_scale is None else check_scalar(
        "likelihood_scale", likelihood_scale, where, positive=True)
    idx = np.sort(rng.choice(model.n_data, size=batch_size, replace=False))
    return _per_sample(model, mean, log_std, idx, scale, n_samples, rng, where)[1]


# ----------------------------------------------------------------------------------------------
# The steps: check the batch size, deal the minibatches, one Monte Carlo estimate.
# ----------------------------------------------------------------------------------------------
def _check_batch_size(batch_size: Any, n_data: int, where: str) -> int:
    batch_size = check_int("batch_size", batch_size, minimum=1, where=where)
    if batch_size > n_data:
        raise ValidationError(
            f"{where}: `batch_size` must be at most the number of data points N = {n_data}; received {batch_size}."
        )
    return batch_size


def _epoch_batches(n_data: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Endless minibatches: ``N // batch_size`` disjoint batches per epoch from a fresh permutation.

    A full batch is all rows in order and draws nothing from ``rng`` (so the random stream matches
    :func:`~vi_lib.inference.bbvi.fit_bbvi`).
    """
    if batch_size == n_data:
        everything = np.arange(n_data)
        while True:
            yield everything
    while True:
        perm = rng.permutation(n_data)
        for k in range(n_data // batch_size):
            yield perm[k * batch_size:(k + 1) * batch_size]


def _per_sample(model: BayesianLogisticRegression, mean: np.ndarray, log_std: np.ndarray, idx: np.ndarray,
                scale: float, n: int, rng: np.random.Generator, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` samples of q; return the minibatch log joint (n,) and per-sample pathwise gradients (n, 2, D)."""
    with np.errstate(over="ignore", invalid="ignore"):
        eps, z = _draw(mean, log_std, n, rng)
    if not np.all(np.isfinite(z)):
        raise ValidationError(
            f"{where}: the samples of q are not finite (largest `log_std` {float(np.max(log_std)):.4g}, largest "
            f"|`mean`| {float(np.max(np.abs(mean))):.4g}); in a fit, reduce `step_size`."
        )
    # A diverging fit overflows here: no RuntimeWarning, the non-finite result becomes a ValidationError.
    with np.errstate(over="ignore", invalid="ignore"):
        logp = model._minibatch_log_joint(z, idx, scale)
        g = model._minibatch_grad_log_joint(z, idx, scale)
        if not (np.all(np.isfinite(logp)) and np.all(np.isfinite(g))):
            raise ValidationError(
                f"{where}: the minibatch log joint or its gradient became non-finite (largest |`mean`| "
                f"{float(np.max(np.abs(mean))):.4g}); in a fit, reduce `step_size`."
            )
        grads = _pathwise_core(lambda _: g, mean, log_std, eps, z, where)
    return logp, grads


def _estimate(model: BayesianLogisticRegression, mean: np.ndarray, log_std: np.ndarray, idx: np.ndarray,
              scale: float, n: int, rng: np.random.Generator, where: str) -> tuple[float, np.ndarray]:
    """The minibatch ELBO estimate and the mean gradient (2, D), as in ``fit_bbvi``'s pathwise step."""
    logp, grads = _per_sample(model, mean, log_std, idx, scale, n, rng, where)
    return float(np.mean(logp)) + gaussian_entropy(log_std), grads.mean(axis=0)
