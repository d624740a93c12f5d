"""The eight-schools model (Rubin, 1981) in centred and non-centred form, as torch log joints.

Eight coaching programmes report an estimated effect :math:`y_j` with standard error
:math:`\\sigma_j`. The hierarchical model, with the priors of the Stan example,

.. math::

    y_j \\mid \\theta_j &\\sim \\mathcal{N}(\\theta_j, \\sigma_j^2), \\qquad
    \\theta_j \\mid \\mu, \\tau \\sim \\mathcal{N}(\\mu, \\tau^2), \\\\
    \\mu &\\sim \\mathcal{N}(0, 5^2), \\qquad \\tau \\sim \\text{Half-Cauchy}(0, 5),

has a funnel between :math:`\\tau` and the :math:`\\theta_j`. The non-centred form writes
:math:`\\theta_j = \\mu + \\tau \\eta_j` with :math:`\\eta_j \\sim \\mathcal{N}(0, 1)`, which removes it
(Papaspiliopoulos et al., 2007). Both live on the unconstrained space of ADVI,
:math:`z = (\\mu, \\log \\tau, \\theta_{1:8})` or :math:`(\\mu, \\log \\tau, \\eta_{1:8})`, with the
log-Jacobian of :class:`vi_lib.ExpTransform` added for :math:`\\tau = e^{\\log \\tau}`.

:func:`vi_lib.hmc_sample` runs on these models too (it differentiates the torch log joint), which
gives the reference posterior.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_positive,
    check_scalar,
    check_shape,
    check_tensor,
)
from ..families.transforms import ExpTransform
from .toy_targets import _TorchTarget

__all__ = ["EightSchools", "EIGHT_SCHOOLS_Y", "EIGHT_SCHOOLS_SIGMA", "PARAMETERIZATIONS"]

#: Estimated treatment effects of the eight schools (Rubin, 1981).
EIGHT_SCHOOLS_Y: tuple[float, ...] = (28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0)
#: Their standard errors.
EIGHT_SCHOOLS_SIGMA: tuple[float, ...] = (15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0)
#: Parameterizations accepted by :class:`EightSchools`.
PARAMETERIZATIONS: tuple[str, ...] = ("centered", "noncentered")

_LOG_2PI = math.log(2.0 * math.pi)
_EXP = ExpTransform()


def _normal_log_pdf(x: torch.Tensor, mean: Any, std: Any) -> torch.Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - torch.log(torch.as_tensor(std, dtype=x.dtype)) - 0.5 * _LOG_2PI


class EightSchools(_TorchTarget):
    """Eight schools on the unconstrained space, centred or non-centred.

    Centred, with :math:`z = (\\mu, \\log \\tau, \\theta_1, \\dots, \\theta_J)`:

    .. math::

        \\log p(y, z) &= \\textstyle\\sum_j \\log \\mathcal{N}(y_j; \\theta_j, \\sigma_j^2)
        + \\sum_j \\log \\mathcal{N}(\\theta_j; \\mu, \\tau^2) \\\\
        &\\quad + \\log \\mathcal{N}(\\mu; 0, s_\\mu^2) + \\log p(\\tau) + \\log \\tau,

    with :math:`\\log p(\\tau) = \\log 2 - \\log(\\pi s_\\tau) - \\log(1 + \\tau^2 / s_\\tau^2)` and
    :math:`\\log \\tau` the log-Jacobian of :math:`\\tau = e^{\\log \\tau}`. Non-centred, with
    :math:`z = (\\mu, \\log \\tau, \\eta_1, \\dots, \\eta_J)`, :math:`\\theta_j = \\mu + \\tau \\eta_j` and
    :math:`\\log \\mathcal{N}(\\eta_j; 0, 1)` in place of the :math:`\\theta` prior. The map between the two
    has Jacobian :math:`\\tau^J`, so the two posteriors are the same distribution of
    :math:`(\\mu, \\tau, \\theta)` and the two log evidences agree.

    Parameters
    ----------
    parameterization : {"centered", "noncentered"}
        Which form.
    y : array of shape (J,) or None
        Estimated effects (default :data:`EIGHT_SCHOOLS_Y`).
    sigma : array of shape (J,) or None
        Their standard errors, positive (default :data:`EIGHT_SCHOOLS_SIGMA`).
    mu_prior_std : float
        Prior standard deviation :math:`s_\\mu` of :math:`\\mu` (positive; default 5).
    tau_prior_scale : float
        Scale :math:`s_\\tau` of the half-Cauchy prior of :math:`\\tau` (positive; default 5).

    References
    ----------
    rubin1981estimation, gelman2013bayesian, papaspiliopoulos2007general, betancourt2015hamiltonian

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, parameterization: str = "centered", *, y: Any = None, sigma: Any = None,
                 mu_prior_std: float = 5.0, tau_prior_scale: float = 5.0) -> None:
        where = "EightSchools"
        if parameterization not in PARAMETERIZATIONS:
            raise ValidationError(f"{where}: `parameterization` must be one of {PARAMETERIZATIONS}; "
                                  f"received {parameterization!r}.")
        self.parameterization = parameterization
        y = np.asarray(EIGHT_SCHOOLS_Y) if y is None else y
        self.y = check_finite("y", as_array("y", y, ndim=1, where=where), where=where)
        if self.y.size == 0:
            raise ValidationError(f"{where}: `y` must be non-empty; received an empty array.")
        sigma = np.asarray(EIGHT_SCHOOLS_SIGMA) if sigma is None else sigma
        self.sigma = np.asarray(check_positive("sigma", check_shape("sigma", sigma, self.y.shape, where=where),
                                               where=where), dtype=np.float64)
        self.mu_prior_std = check_scalar("mu_prior_std", mu_prior_std, where, positive=True)
        self.tau_prior_scale = check_scalar("tau_prior_scale", tau_prior_scale, where, positive=True)
        self.dim = self.y.size + 2

    @property
    def n_schools(self) -> int:
        """Number of schools J."""
        return int(self.y.size)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the coordinates of z, e.g. ``("mu", "log_tau", "theta[1]", ...)``."""
        local = "theta" if self.parameterization == "centered" else "eta"
        return ("mu", "log_tau", *(f"{local}[{j + 1}]" for j in range(self.n_schools)))

    def _log_joint(self, z: torch.Tensor) -> torch.Tensor:
        y = torch.as_tensor(self.y, dtype=z.dtype, device=z.device)
        sigma = torch.as_tensor(self.sigma, dtype=z.dtype, device=z.device)
        mu, log_tau, local = z[..., 0], z[..., 1], z[..., 2:]
        tau = _EXP._forward(log_tau)
        log_prior = self._log_hyper_prior(mu, log_tau)
        if self.parameterization == "centered":
            theta = local
            log_local = (-0.5 * ((theta - mu[..., None]) / tau[..., None]) ** 2 - log_tau[..., None]
                         - 0.5 * _LOG_2PI).sum(-1)
        else:
            theta = mu[..., None] + tau[..., None] * local
            log_local = (-0.5 * local**2 - 0.5 * _LOG_2PI).sum(-1)
        return log_prior + log_local + _normal_log_pdf(theta, y, sigma).sum(-1)

    def marginal_log_joint(self, hyper: torch.Tensor) -> torch.Tensor:
        """Log joint of the data and :math:`(\\mu, \\log \\tau)` with every :math:`\\theta_j` integrated out.

        .. math::

            \\log p(y, \\mu, \\log \\tau) &= \\textstyle\\sum_j
            \\log \\mathcal{N}(y_j; \\mu, \\sigma_j^2 + \\tau^2) \\\\
            &\\quad + \\log p(\\mu) + \\log p(\\tau) + \\log \\tau.

        It is the same for both parameterizations. On a 2-D grid it gives the exact posterior of
        :math:`(\\mu, \\tau)` and the log evidence :math:`\\log p(y)`, against which the ELBO and
        importance-weighted bounds of the 10-D fits are judged.

        Parameters
        ----------
        hyper : torch.Tensor of shape (..., 2)
            Points :math:`(\\mu, \\log \\tau)`.

        Returns
        -------
        torch.Tensor of shape (...)
            The log joint in nats.

        References
        ----------
        gelman2013bayesian
        """
        where = "EightSchools.marginal_log_joint"
        hyper = check_tensor("hyper", hyper, where=where, last_dim=2)
        y = torch.as_tensor(self.y, dtype=hyper.dtype, device=hyper.device)
        sigma = torch.as_tensor(self.sigma, dtype=hyper.dtype, device=hyper.device)
        mu, log_tau = hyper[..., 0], hyper[..., 1]
        sd = torch.sqrt(sigma**2 + _EXP._forward(2.0 * log_tau)[..., None])
        return self._log_hyper_prior(mu, log_tau) + _normal_log_pdf(y, mu[..., None], sd).sum(-1)

    def _log_hyper_prior(self, mu: torch.Tensor, log_tau: torch.Tensor) -> torch.Tensor:
        """log p(mu) + log p(tau) + log tau (the Jacobian of tau = exp(log tau))."""
        s = self.tau_prior_scale
        tau = _EXP._forward(log_tau)
        return (_normal_log_pdf(mu, 0.0, self.mu_prior_std) + math.log(2.0 / (math.pi * s))
                - torch.log1p((tau / s) ** 2) + _EXP._log_abs_det_jacobian(log_tau))

    def to_constrained(self, z: torch.Tensor) -> torch.Tensor:
        """Map points of z to :math:`(\\mu, \\tau, \\theta_1, \\dots, \\theta_J)`, the same for both forms.

        Parameters
        ----------
        z : torch.Tensor of shape (..., J + 2)
            Points of this model's unconstrained space.

        Returns
        -------
        torch.Tensor of shape (..., J + 2)
            Columns :math:`\\mu`, :math:`\\tau > 0`, then :math:`\\theta_j` (for the non-centred form
            :math:`\\mu + \\tau \\eta_j`).
        """
        z = self._z(z, "to_constrained")
        mu, tau, local = z[..., :1], _EXP._forward(z[..., 1:2]), z[..., 2:]
        theta = local if self.parameterization == "centered" else mu + tau * local
        return torch.cat([mu, tau, theta], dim=-1)

    def from_constrained(self, params: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_constrained`: :math:`(\\mu, \\tau, \\theta)` to this model's z.

        Parameters
        ----------
        params : torch.Tensor of shape (..., J + 2)
            Columns :math:`\\mu`, :math:`\\tau` (positive), :math:`\\theta_1, \\dots, \\theta_J`.

        Returns
        -------
        torch.Tensor of shape (..., J + 2)
            The unconstrained coordinates.
        """
        params = self._z(params, "from_constrained", "params")
        mu, theta = params[..., :1], params[..., 2:]
        tau = params[..., 1:2]
        if not bool((tau > 0).all()):
            raise ValidationError("EightSchools.from_constrained: `params` must have a positive tau column "
                                  "(index 1).")
        local = theta if self.parameterization == "centered" else (theta - mu) / tau
        return torch.cat([mu, _EXP._inverse(tau), local], dim=-1)
