"""A black-box VI fitting loop for a diagonal Gaussian q, with a choice of gradient estimator.

The loop maximises the ELBO (it does gradient *ascent* on +ELBO) over the mean and log standard
deviation of :math:`q(z) = \\mathcal{N}(\\mu, \\operatorname{diag}(e^{2\\omega}))`, using one of the
estimators of :mod:`vi_lib.objectives.gradients` and either Adam or a Robbins-Monro step-size schedule.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).

"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    check_positive,
    check_rng,
    float64_guard,
)
from ..families.gaussian import _check_q, gaussian_entropy
from ..objectives.gradients import LogJoint, _draw, _pathwise_core, _rao_blackwell_core, _score_core

__all__ = [
    "fit_bbvi",
    "BBVIResult",
    "running_mean",
    "ESTIMATORS",
]


#: Estimator names accepted by :func:`fit_bbvi`.
ESTIMATORS: tuple[str, ...] = ("score", "score_cv", "rao_blackwell", "pathwise", "stl")



_OPTIMIZERS = ("adam", "robbins_monro")



@dataclass(frozen=True)
class BBVIResult:
    """Output of :func:`fit_bbvi`.

    Attributes
    ----------
    mean : numpy.ndarray of shape (D,)
        Fitted mean of q.
    log_std : numpy.ndarray of shape (D,)
        Fitted log standard deviations of q.
    elbo_trace : numpy.ndarray of shape (n_iterations,)
        Monte Carlo ELBO estimate at each iteration (before that iteration's update), using the
        same draws as the gradient and the exact entropy.
    wall_time : numpy.ndarray of shape (n_iterations,)
        Seconds elapsed since the start of the loop, after each iteration.
    estimator : str
        Name of the gradient estimator used.
    optimizer : str
        ``"adam"`` or ``"robbins_monro"``.
    n_samples : int
        Monte Carlo samples per iteration.
    """

    mean: np.ndarray
    log_std: np.ndarray
    elbo_trace: np.ndarray
    wall_time: np.ndarray
    estimator: str
    optimizer: str
    n_samples: int

    @property
    def std(self) -> np.ndarray:
        """Fitted standard deviations ``exp(log_std)``."""
        return np.exp(self.log_std)



@float64_guard
def fit_bbvi(
    log_joint: LogJoint,
    init_mean: Any,
    *,
    estimator: str = "pathwise",
    grad_log_joint: LogJoint | None = None,
    local_log_joint: LogJoint | None = None,
    init_log_std: Any = None,
    n_iterations: int = 1000,
    n_samples: int = 10,
    optimizer: str = "adam",
    step_size: float = 0.05,
    rm_delay: float = 1.0,
    rm_exponent: float = 0.7,
    rng: np.random.Generator,
    callback: Callable[[int, float, tuple[np.ndarray, np.ndarray]], Any] | None = None,
) -> BBVIResult:
    """Fit a diagonal Gaussian q by stochastic gradient ascent on the ELBO.

    Each iteration draws ``n_samples`` points :math:`z_s = \\mu + \\sigma \\odot \\epsilon_s`, forms
    the chosen gradient estimate :math:`\\hat g_t` and updates :math:`\\lambda = (\\mu, \\omega)`:

    - ``"robbins_monro"``: :math:`\\lambda_{t+1} = \\lambda_t + \\rho_t \\hat g_t` with
      :math:`\\rho_t = \\text{step\\_size} \\, (t + \\text{rm\\_delay})^{-\\kappa}` and
      :math:`\\kappa = \\text{rm\\_exponent} \\in (1/2, 1]`, so that :math:`\\sum_t \\rho_t = \\infty` and
      :math:`\\sum_t \\rho_t^2 < \\infty`;
    - ``"adam"``: Adam with learning rate ``step_size`` and the default moment parameters
      (0.9, 0.999, 1e-8), applied to the ascent direction.

    Parameters
    ----------
    log_joint : callable
        Maps (S, D) to the log joint, shape (S,). Always needed: it monitors the ELBO.
    init_mean : array of shape (D,)
        Initial mean of q.
    estimator : {"score", "score_cv", "rao_blackwell", "pathwise", "stl"}
        Gradient estimator (see :mod:`vi_lib.objectives.gradients`). ``"score_cv"`` uses the
        leave-one-out control variate; ``"rao_blackwell"`` uses it too.
    grad_log_joint : callable, optional
        Maps (S, D) to :math:`\\nabla_z \\log p`, shape (S, D); needed by ``"pathwise"`` and ``"stl"``.
    local_log_joint : callable, optional
        Markov-blanket terms, (S, D) to (S, D); needed by ``"rao_blackwell"``.
    init_log_std : array of shape (D,), optional
        Initial log standard deviations (default zeros).
    n_iterations : int
        Number of updates (at least 1).
    n_samples : int
        Monte Carlo samples per update (at least 3 for the control-variate estimators).
    optimizer : {"adam", "robbins_monro"}
        Update rule.
    step_size : float
        Adam learning rate, or the Robbins-Monro scale; must be positive.
    rm_delay : float
        Robbins-Monro delay (positive); ignored by Adam.
    rm_exponent : float
        Robbins-Monro exponent in (0.5, 1]; ignored by Adam.
    rng : numpy.random.Generator
        Source of randomness.
    callback : callable, optional
        Called after every iteration as ``callback(step, elbo_estimate, (mean, log_std))``.

    Returns
    -------
    BBVIResult
        Fitted parameters, ELBO trace and wall-clock times.

    Raises
    ------
    ValidationError
        On invalid arguments, or if the log joint or the gradient becomes non-finite during the
        run (typically a step size that is too large).

    References
    ----------
    ranganath2014black, kucukelbir2017automatic, robbins1951stochastic, kingma2015adam

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "fit_bbvi"
    _check_estimator(estimator, optimizer, grad_log_joint, local_log_joint, where)
    check_callable("log_joint", log_joint, where)
    mean = check_finite("init_mean", as_array("init_mean", init_mean, ndim=1, where=where), where=where)
    log_std = np.zeros_like(mean) if init_log_std is None else check_finite("init_log_std", init_log_std, where=where)
    mean, log_std = _check_q(mean, log_std, where)
    mean, log_std = mean.copy(), log_std.copy()
    n_iterations = check_int("n_iterations", n_iterations, minimum=1, where=where)
    n_samples = check_int("n_samples", n_samples, minimum=3 if estimator in ("score_cv", "rao_blackwell") else 1,
                          where=where)
    step = _step_rule(optimizer, step_size, rm_delay, rm_exponent, mean.size, where)
    rng = check_rng(rng, where)
    if callback is not None:
        check_callable("callback", callback, where)

    estimate = _make_estimator(estimator, log_joint, grad_log_joint, local_log_joint, where)
    elbos = np.empty(n_iterations)
    times = np.empty(n_iterations)
    start = time.perf_counter()
    for t in range(n_iterations):
        with _diverged_as_error(t, mean, log_std, step_size, where):
            elbo, g = estimate(mean, log_std, n_samples, rng)
        if not (np.isfinite(elbo) and np.all(np.isfinite(g))):
            raise ValidationError(
                f"{where}: the ELBO estimate or gradient became non-finite at iteration {t}; "
                f"received ELBO {elbo!r}. Reduce `step_size` or check `log_joint`."
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
    return BBVIResult(mean, log_std, elbos, times, estimator, optimizer, n_samples)


# ----------------------------------------------------------------------------------------------
# The steps of the loop: check the estimator choice, build the estimator, build the step rule.
# ----------------------------------------------------------------------------------------------
def _check_estimator(estimator: str, optimizer: str, grad_log_joint: Any, local_log_joint: Any, where: str) -> None:
    """The estimator and optimiser names are known, and the callables the estimator needs are given."""
    if estimator not in ESTIMATORS:
        raise ValidationError(f"{where}: `estimator` must be one of {ESTIMATORS}; received {estimator!r}.")
    if optimizer not in _OPTIMIZERS:
        raise ValidationError(f"{where}: `optimizer` must be one of {_OPTIMIZERS}; received {optimizer!r}.")
    if estimator in ("pathwise", "stl"):
        if grad_log_joint is None:
            raise ValidationError(
                f"{where}: `grad_log_joint` must be given for estimator {estimator!r}; received None."
            )
        check_callable("grad_log_joint", grad_log_joint, where)
    if estimator == "rao_blackwell":
        if local_log_joint is None:
            raise ValidationError(
                f"{where}: `local_log_joint` must be given for estimator 'rao_blackwell'; received None."
            )
        check_callable("local_log_joint", local_log_joint, where)


def _make_estimator(estimator: str, log_joint: LogJoint, grad_log_joint: LogJoint | None,
                    local_log_joint: LogJoint | None, where: str
                    ) -> Callable[[np.ndarray, np.ndarray, int, np.random.Generator], tuple[float, np.ndarray]]:
    """One Monte Carlo step: draw ``n`` samples of q, return the ELBO estimate and the mean gradient (2, D)."""

    def estimate(mean: np.ndarray, log_std: np.ndarray, n: int, rng: np.random.Generator) -> tuple[float, np.ndarray]:
        eps, z = _draw(mean, log_std, n, rng)
        if estimator in ("pathwise", "stl"):
            logp = call_user(log_joint, z)
            grads = _pathwise_core(grad_log_joint, mean, log_std, eps, z, where, stl=estimator == "stl")
        elif estimator == "rao_blackwell":
            logp = call_user(log_joint, z)
            grads = _rao_blackwell_core(local_log_joint, mean, log_std, eps, z, where, cv="loo")
        else:
            grads, logp = _score_core(
                log_joint, mean, log_std, eps, z, where, cv="loo" if estimator == "score_cv" else None
            )
        elbo = float(np.mean(np.asarray(logp, dtype=np.float64))) + gaussian_entropy(log_std)
        return elbo, grads.mean(axis=0)

    return estimate


@contextmanager
def _diverged_as_error(t: int, mean: np.ndarray, log_std: np.ndarray, step_size: Any, where: str) -> Iterator[None]:
    """Say which argument to change when the estimator rejects the iterate of iteration ``t`` of a fit.

    At ``t = 0`` the iterate is the starting point, so the message names `init_mean` and `init_log_std`;
    later, the steps have carried it there, so it names `step_size`.
    """
    try:
        yield
    except ValidationError as exc:
        at = (f"largest |mean| {float(np.max(np.abs(mean))):.4g}, log_std from {float(np.min(log_std)):.4g} to "
              f"{float(np.max(log_std)):.4g}")
        if t == 0:
            raise ValidationError(f"{exc} This was at the starting point `init_mean`, `init_log_std` ({at}).") from exc
        raise ValidationError(f"{where}: the iterates diverged by iteration {t} ({at}); reduce `step_size` (received "
                              f"{step_size!r}). At that iterate: {str(exc).removeprefix(where + ': ')}") from exc


def _step_rule(optimizer: str, step_size: Any, rm_delay: Any, rm_exponent: Any, dim: int, where: str
               ) -> Callable[[int, np.ndarray], np.ndarray]:
    """The ascent step at iteration ``t`` from the gradient ``g`` (2, D): Adam, or Robbins-Monro.

    Adam keeps its two moment estimates in the closure; Robbins-Monro uses
    :math:`\\rho_t = \\rho_0 (t + \\tau)^{-\\kappa}`.
    """
    step_size = check_positive("step_size", step_size, where=where)
    rm_delay = check_positive("rm_delay", rm_delay, where=where)
    rm_exponent = check_positive("rm_exponent", rm_exponent, where=where)
    if not 0.5 < rm_exponent <= 1.0:
        raise ValidationError(
            f"{where}: `rm_exponent` must be in (0.5, 1] (Robbins-Monro conditions); "
            f"received {rm_exponent!r}."
        )
    if optimizer != "adam":
        return lambda t, g: step_size * (t + rm_delay) ** (-rm_exponent) * g
    b1, b2, adam_eps = 0.9, 0.999, 1e-8
    moments = {"m1": np.zeros((2, dim)), "m2": np.zeros((2, dim))}

    def adam(t: int, g: np.ndarray) -> np.ndarray:
        m1 = moments["m1"] = b1 * moments["m1"] + (1 - b1) * g
        m2 = moments["m2"] = b2 * moments["m2"] + (1 - b2) * g**2
        return step_size * (m1 / (1 - b1 ** (t + 1))) / (np.sqrt(m2 / (1 - b2 ** (t + 1))) + adam_eps)

    return adam



def running_mean(values: Any, window: int) -> np.ndarray:
    """Trailing running average of a noisy trace (e.g. ELBO estimates).

    Entry t is the mean of ``values[max(0, t - window + 1) : t + 1]``, so the output has the
    same length as the input and no look-ahead.

    Parameters
    ----------
    values : array of shape (T,)
        The trace, finite.
    window : int
        Window length (at least 1).

    Returns
    -------
    numpy.ndarray of shape (T,)
        The smoothed trace.

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "running_mean"
    values = check_finite("values", as_array("values", values, ndim=1, where=where), where=where)
    window = check_int("window", window, minimum=1, where=where)
    if values.size == 0:
        raise ValidationError(f"{where}: `values` must be non-empty; received an empty array.")
    c = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)
