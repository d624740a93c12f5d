"""Reparameterised VI in torch: any family of :mod:`vi_lib.families`, any log joint written in torch.

The loop maximises the ELBO (gradient *ascent* on +ELBO; the optimiser minimises ``loss = -ELBO``)
with Adam, the gradient coming from autograd through reparameterised draws. It is the torch
counterpart of :func:`vi_lib.fit_bbvi` for families whose gradients nobody wants to derive by hand:
full-rank Gaussians and normalizing flows.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._validation import ValidationError, check_callable, check_int, check_positive, describe
from ..families.gaussian_torch import _check_family, _Family

__all__ = ["fit_vi_torch", "TorchVIResult"]

TorchLogJoint = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True, eq=False)
class TorchVIResult:
    """Output of :func:`fit_vi_torch`.

    Attributes
    ----------
    family : MeanFieldGaussian or FullRankGaussian or NormalizingFlow
        The fitted family (a copy: the family passed in is left at its initial values).
    elbo_trace : numpy.ndarray of shape (n_steps,)
        Monte Carlo ELBO estimate at each step, before that step's update, in nats.
    wall_time : numpy.ndarray of shape (n_steps,)
        Seconds since the start of the loop, after each step.
    n_samples : int
        Monte Carlo draws per step.
    lr : float
        Adam learning rate.
    analytic_entropy : bool
        Whether the ELBO used the family's closed-form entropy (Gaussians) rather than
        :math:`-\\log q` at the draws (flows).
    """

    family: _Family
    elbo_trace: np.ndarray
    wall_time: np.ndarray
    n_samples: int
    lr: float
    analytic_entropy: bool


def _elbo_estimate(log_joint: TorchLogJoint, family: _Family, n: int, generator: torch.Generator,
                   analytic: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The ELBO estimate (0-D, differentiable) and the log joint at the draws."""
    z, log_q = family._rsample_and_log_prob(n, generator)
    log_p = log_joint(z)
    if analytic:
        return log_p.mean() + family.entropy(), log_p
    return (log_p - log_q).mean(), log_p


def _check_log_joint_output(log_joint: TorchLogJoint, family: _Family, n: int, generator: torch.Generator,
                            where: str) -> None:
    """One call of ``log_joint`` on draws of the initial family: right type, shape, finiteness and graph."""
    model_dim = getattr(getattr(log_joint, "__self__", None), "dim", None)
    if isinstance(model_dim, (int, np.integer)) and model_dim != family.dim:
        raise ValidationError(f"{where}: `family` must have the dimension of the log joint's model, "
                              f"{int(model_dim)}; received a family of dimension {family.dim}.")
    z, _ = family._rsample_and_log_prob(n, generator)
    try:
        out = log_joint(z)
    except (RuntimeError, ValueError, IndexError) as err:
        raise ValidationError(
            f"{where}: `log_joint` failed on a batch of shape ({n}, {family.dim}) drawn from `family` "
            f"(is the family's dimension {family.dim} the model's?): {err}") from None
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (n,):
        raise ValidationError(f"{where}: `log_joint(z)` must return a torch tensor of shape ({n},) for z of "
                              f"shape ({n}, {family.dim}); received {describe(out)}.")
    if not bool(torch.isfinite(out).all()):
        raise ValidationError(f"{where}: `log_joint(z)` must be finite at the initial family's draws; "
                              f"received {describe(out)}. Start the family where the target has mass.")
    if not out.requires_grad:
        raise ValidationError(f"{where}: `log_joint(z)` must be computed in torch from z (autograd needs a "
                              f"graph to z); received a tensor that does not require grad.")


def fit_vi_torch(
    log_joint: TorchLogJoint,
    family: _Family,
    *,
    n_steps: int = 2000,
    n_samples: int = 16,
    lr: float = 0.01,
    seed: int = 0,
    callback: Callable[[int, float, _Family], Any] | None = None,
) -> TorchVIResult:
    """Fit a variational family by Adam on the reparameterised ELBO, gradients by autograd.

    Each step draws :math:`z_s = T_\\lambda(\\epsilon_s)`, :math:`s = 1, \\dots, S`, and ascends

    .. math::

        \\widehat{\\mathcal L}(\\lambda) = \\frac1S \\sum_{s=1}^S \\log p(x, z_s) + H[q_\\lambda]

    for the Gaussian families (closed-form entropy), or
    :math:`\\frac1S \\sum_s \\bigl(\\log p(x, z_s) - \\log q_\\lambda(z_s)\\bigr)` for flows, whose
    :math:`\\log q_\\lambda(z_s)` comes with the draw. Adam minimises ``loss = -ELBO`` with its default
    moment parameters.

    Before the first step, one call of ``log_joint`` on draws of the initial family must return a
    finite tensor of shape (S,) that autograd can differentiate; where ``log_joint`` is a bound
    method of a model with a ``dim`` attribute (the torch targets of :mod:`vi_lib.models`), the
    family's dimension must equal it.

    Parameters
    ----------
    log_joint : callable
        Maps a tensor of shape (S, d) to the log joint :math:`\\log p(x, z_s)`, shape (S,), in torch.
    family : MeanFieldGaussian or FullRankGaussian or NormalizingFlow
        The initial family; it is copied, not modified.
    n_steps : int
        Adam steps (at least 1).
    n_samples : int
        Monte Carlo draws per step, S (at least 1).
    lr : float
        Adam learning rate (positive).
    seed : int
        Seed of the ``torch.Generator`` of the draws (non-negative).
    callback : callable or None
        Called after every step as ``callback(step, elbo_estimate, family)``.

    Returns
    -------
    TorchVIResult
        The fitted family, the ELBO trace and wall-clock times.

    Raises
    ------
    ValidationError
        On invalid arguments, a log joint that fails the initial check, or an ELBO estimate that
        becomes non-finite during the run (typically ``lr`` too large).

    References
    ----------
    kucukelbir2017automatic, titsias2014doubly, rezende2015variational, kingma2015adam

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "fit_vi_torch"
    check_callable("log_joint", log_joint, where)
    family = _check_family(family, where)
    n_steps = check_int("n_steps", n_steps, minimum=1, where=where)
    n_samples = check_int("n_samples", n_samples, minimum=1, where=where)
    lr = check_positive("lr", lr, where=where)
    if np.ndim(lr) != 0:
        raise ValidationError(f"{where}: `lr` must be a positive scalar; received {describe(lr)}.")
    seed = check_int("seed", seed, minimum=0, where=where)
    if callback is not None:
        check_callable("callback", callback, where)

    family = copy.deepcopy(family)
    device = next(family.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    _check_log_joint_output(log_joint, family, n_samples, generator, where)
    analytic = callable(getattr(family, "entropy", None))
    optimizer = torch.optim.Adam(family.parameters(), lr=lr)
    elbos, times = np.empty(n_steps), np.empty(n_steps)
    start = time.perf_counter()
    for t in range(n_steps):
        optimizer.zero_grad(set_to_none=True)
        elbo, _ = _elbo_estimate(log_joint, family, n_samples, generator, analytic)
        value = float(elbo.detach())
        if not np.isfinite(value):
            raise ValidationError(f"{where}: the ELBO estimate became non-finite at step {t}; received {value!r}. "
                                  f"Reduce `lr` or check `log_joint`.")
        (-elbo).backward()
        optimizer.step()
        elbos[t], times[t] = value, time.perf_counter() - start
        if callback is not None:
            callback(t, value, family)
    return TorchVIResult(family, elbos, times, n_samples, float(lr), analytic)
