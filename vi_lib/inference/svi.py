"""Stochastic variational inference (SVI) for conditionally conjugate models: the generic pieces.

For a model whose global factor :math:`q(\\beta)` is in the exponential family with natural parameter
:math:`\\lambda`, and whose complete conditional of :math:`\\beta` is in the same family, the natural
gradient of the ELBO is :math:`\\hat\\lambda - \\lambda`, where :math:`\\hat\\lambda` is the coordinate
(CAVI) update computed as if the data were N copies of a minibatch (Hoffman et al. 2013, Eq. 25).
SVI follows noisy natural gradients with Robbins-Monro step sizes :math:`\\rho_t`:

.. math::

    \\lambda_t = (1 - \\rho_t)\\, \\lambda_{t-1} + \\rho_t\\, \\hat\\lambda_t, \\qquad
    \\rho_t = (t + \\tau)^{-\\kappa}, \\quad \\kappa \\in (0.5, 1], \\ \\tau \\ge 0.

* :func:`robbins_monro_step_size`: the schedule;
* :func:`svi_global_step`: the convex combination of natural parameters;
* :class:`SVIResult`: what an SVI fit returns (e.g. :func:`vi_lib.fit_bgmm_svi`).

Minibatches and data on disk are in :mod:`vi_lib.inference.minibatch`.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import ValidationError, as_array, check_finite, check_positive, check_scalar, describe

__all__ = ["SVIResult", "robbins_monro_step_size", "svi_global_step"]


def robbins_monro_step_size(t: Any, tau: float = 1.0, kappa: float = 0.7) -> Any:
    """The SVI step size :math:`\\rho_t = (t + \\tau)^{-\\kappa}` at step :math:`t = 1, 2, \\ldots`.

    .. math::

        \\rho_t = (t + \\tau)^{-\\kappa}, \\qquad
        \\sum_t \\rho_t = \\infty, \\quad \\sum_t \\rho_t^2 < \\infty \\iff \\kappa \\in (0.5, 1].

    The delay :math:`\\tau \\ge 0` damps the first steps; the forgetting rate :math:`\\kappa` sets how
    fast old estimates are forgotten (scikit-learn's ``LatentDirichletAllocation`` calls them
    ``learning_offset`` and ``learning_decay``). Schedules outside these conditions (a constant step,
    :math:`\\kappa \\le 0.5` or :math:`\\kappa > 1`) can be passed to the fitting functions as explicit
    arrays instead.

    Parameters
    ----------
    t : int or array of int
        Step number(s), each at least 1.
    tau : float
        Delay :math:`\\tau`, finite and non-negative.
    kappa : float
        Forgetting rate :math:`\\kappa`, in (0.5, 1].

    Returns
    -------
    float or numpy.ndarray
        :math:`\\rho_t` in (0, 1], a float for scalar ``t`` and an array of the shape of ``t`` otherwise.

    References
    ----------
    robbins1951stochastic; hoffman2013stochastic (Section 2.5).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "robbins_monro_step_size"
    kappa = check_scalar("kappa", kappa, where)
    if not 0.5 < kappa <= 1.0:
        raise ValidationError(f"{where}: `kappa` must be in (0.5, 1] (Robbins-Monro needs sum rho_t = infinity "
                              f"and sum rho_t^2 < infinity); received {describe(kappa)}.")
    tau = check_positive("tau", tau, allow_zero=True, where=where)
    if np.ndim(tau) != 0:
        raise ValidationError(f"{where}: `tau` must be a scalar; received {describe(tau)}.")
    if isinstance(t, (bool, np.bool_)) or t is None or isinstance(t, str):
        raise ValidationError(f"{where}: `t` must be an integer step number >= 1 (or an array of them); "
                              f"received {describe(t)}.")
    steps = as_array("t", t, where=where)
    if not np.all(np.isfinite(steps)) or np.any(steps != np.round(steps)) or np.any(steps < 1):
        raise ValidationError(f"{where}: `t` must be an integer step number >= 1 (or an array of them); "
                              f"received {describe(t)}.")
    if np.any(steps + tau <= 0):  # pragma: no cover - implied by t >= 1 and tau >= 0
        raise ValidationError(f"{where}: `t + tau` must be positive; received {describe(t)} and tau={tau}.")
    rho = (steps + tau) ** (-kappa)
    return float(rho) if rho.ndim == 0 else rho


def _parts(name: str, value: Any, where: str) -> list[np.ndarray]:
    if isinstance(value, tuple):
        if len(value) == 0:
            raise ValidationError(f"{where}: `{name}` must be a float array or a non-empty tuple of arrays; "
                                  "received an empty tuple.")
        return [check_finite(f"{name}[{i}]", v, where=where) for i, v in enumerate(value)]
    if isinstance(value, (np.ndarray, list, float, int)) and not isinstance(value, bool):
        return [check_finite(name, value, where=where)]
    raise ValidationError(f"{where}: `{name}` must be a float array or a tuple of arrays; "
                          f"received {type(value).__name__}.")


def svi_global_step(eta: Any, eta_hat: Any, rho: float) -> Any:
    """One SVI step on natural parameters: :math:`(1 - \\rho)\\, \\eta + \\rho\\, \\hat\\eta`.

    .. math::

        \\eta_t = \\eta_{t-1} + \\rho_t \\big(\\hat\\eta_t - \\eta_{t-1}\\big)
        = (1 - \\rho_t)\\, \\eta_{t-1} + \\rho_t\\, \\hat\\eta_t,

    a step of size :math:`\\rho_t` along the natural gradient :math:`\\hat\\eta_t - \\eta_{t-1}`
    (Hoffman et al. 2013, Eq. 26). With :math:`\\rho \\in (0, 1]` it is a convex combination, so it stays
    in the (convex) natural parameter space. Any affine reparametrisation :math:`A \\eta + b` of the
    natural parameters gives the same step, since :math:`A((1-\\rho)\\eta + \\rho\\hat\\eta) + b =
    (1-\\rho)(A\\eta + b) + \\rho(A\\hat\\eta + b)`.

    Parameters
    ----------
    eta : array or tuple of arrays
        Current natural parameters: one float array, or a tuple (a ``NamedTuple`` such as
        :class:`vi_lib.BayesianGMMNatural` included) of float arrays; finite.
    eta_hat : array or tuple of arrays
        The intermediate (coordinate-update) natural parameters, of the same structure and shapes.
    rho : float
        Step size, in (0, 1].

    Returns
    -------
    numpy.ndarray or tuple
        The new natural parameters, of the type of ``eta`` (the same ``NamedTuple`` class if it is one).

    References
    ----------
    hoffman2013stochastic (Eqs. 25-26).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "svi_global_step"
    rho = check_scalar("rho", rho, where)
    if not 0.0 < rho <= 1.0:
        raise ValidationError(f"{where}: `rho` must be a step size in (0, 1]; received {describe(rho)}.")
    a = _parts("eta", eta, where)
    b = _parts("eta_hat", eta_hat, where)
    if len(a) != len(b) or isinstance(eta, tuple) != isinstance(eta_hat, tuple):
        raise ValidationError(f"{where}: `eta_hat` must have the structure of `eta` ({len(a)} "
                              f"{'parts' if isinstance(eta, tuple) else 'array'}); received "
                              f"{describe(eta_hat)}.")
    for i, (u, v) in enumerate(zip(a, b)):
        if u.shape != v.shape:
            label = f"eta_hat[{i}]" if isinstance(eta, tuple) else "eta_hat"
            raise ValidationError(f"{where}: `{label}` must have the shape of the matching part of `eta`, "
                                  f"{u.shape}; received {describe(v)}.")
    out = [(1.0 - rho) * u + rho * v for u, v in zip(a, b)]
    if not isinstance(eta, tuple):
        return out[0]
    return type(eta)(*out) if hasattr(eta, "_fields") else tuple(out)


@dataclass(frozen=True)
class SVIResult:
    """History of one SVI run (returned by the ``fit_*_svi`` functions, e.g. :func:`vi_lib.fit_bgmm_svi`).

    The held-out trace records the mean log predictive density

    .. math::

        \\frac{1}{M} \\sum_{m=1}^M \\ln p(\\tilde x_m \\mid X)

    under the current :math:`q` at the evaluation steps. Evaluation time is excluded from the timings.

    Attributes
    ----------
    params : object
        Final variational parameters (a model-specific dataclass).
    initial_params : object
        The variational parameters before the first step.
    n_steps : int
        Number of SVI steps taken.
    batch_size : int
        Minibatch size.
    step_sizes : array of shape (n_steps,)
        The step sizes :math:`\\rho_t` used.
    wall_time : float
        Seconds spent in initialisation and steps, without the held-out evaluations.
    eval_steps : array of shape (E,)
        Steps after which the held-out density was evaluated (0 is the initialisation); empty if none.
    eval_times : array of shape (E,)
        Fit seconds elapsed (evaluations excluded) at each evaluation.
    eval_log_pred : array of shape (E,)
        Held-out mean log predictive density in nats per point at each evaluation.
    """

    params: Any
    initial_params: Any
    n_steps: int
    batch_size: int
    step_sizes: np.ndarray
    wall_time: float
    eval_steps: np.ndarray
    eval_times: np.ndarray
    eval_log_pred: np.ndarray
