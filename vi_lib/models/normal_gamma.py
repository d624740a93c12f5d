"""The unknown mean and precision of a Gaussian under a Normal-Gamma prior: exact answers for CAVI.

:class:`NormalGamma` has

.. math::

    \\tau \\sim \\mathrm{Gamma}(a_0, b_0), \\qquad
    \\mu \\mid \\tau \\sim \\mathcal{N}\\big(\\mu_0, (\\lambda_0 \\tau)^{-1}\\big), \\qquad
    x_i \\mid \\mu, \\tau \\sim \\mathcal{N}(\\mu, \\tau^{-1}) \\text{ iid},

with the Gamma in the shape-rate form. The posterior is again Normal-Gamma and the evidence is in
closed form, so the mean-field fit of :func:`vi_lib.fit_normal_gamma_cavi` can be compared with the
exact answer, and its ELBO with the exact :math:`\\log p(x)`. The complete conditionals
:math:`p(\\mu \\mid \\tau, x)` and :math:`p(\\tau \\mid \\mu, x)` are exposed for the conditionally
conjugate view of CAVI.

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln

from .._validation import (
    ValidationError,
    check_finite,
    check_int,
    check_positive,
    check_rng,
    check_scalar,
    check_vector,
)

__all__ = [
    "NormalGamma",
    "NormalGammaPosterior",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class NormalGammaPosterior:
    """Parameters of a Normal-Gamma density :math:`\\mathrm{NG}(\\mu, \\tau \\mid m, \\lambda, a, b)`.

    .. math::

        \\mathrm{NG}(\\mu, \\tau \\mid m, \\lambda, a, b)
        = \\mathcal{N}\\big(\\mu \\mid m, (\\lambda\\tau)^{-1}\\big)\\, \\mathrm{Gamma}(\\tau \\mid a, b).

    Parameters
    ----------
    mean : float
        :math:`m`, the location of :math:`\\mu`.
    mean_precision : float
        :math:`\\lambda > 0`, the precision of :math:`\\mu` in units of :math:`\\tau`.
    shape : float
        :math:`a > 0`, the Gamma shape of :math:`\\tau`.
    rate : float
        :math:`b > 0`, the Gamma rate of :math:`\\tau`.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    mean: float
    mean_precision: float
    shape: float
    rate: float

    def mu_marginal(self) -> tuple[float, float, float]:
        """The marginal of :math:`\\mu`, a Student-t: ``(loc, scale, df)``.

        Integrating out :math:`\\tau` gives :math:`\\mu \\sim t_{2a}(m, b / (a \\lambda))`, i.e.
        location :math:`m`, scale :math:`\\sqrt{b / (a\\lambda)}` and :math:`2a` degrees of freedom.

        Parameters
        ----------
        self : NormalGammaPosterior
            The density whose :math:`\\mu`-marginal is wanted (no other arguments).

        Returns
        -------
        tuple of float
            ``(loc, scale, df)``, as taken by :data:`scipy.stats.t`.
        """
        return float(self.mean), float(np.sqrt(self.rate / (self.shape * self.mean_precision))), 2.0 * self.shape

    def mu_std(self) -> float:
        """Marginal standard deviation of :math:`\\mu`: :math:`\\sqrt{b / ((a - 1)\\lambda)}` (needs :math:`a > 1`).

        Parameters
        ----------
        self : NormalGammaPosterior
            The density (no other arguments).

        Returns
        -------
        float
            The standard deviation of the Student-t marginal of :math:`\\mu`.

        Raises
        ------
        ValidationError
            If :math:`a \\le 1` (the marginal has no finite variance).
        """
        if self.shape <= 1.0:
            raise ValidationError(f"NormalGammaPosterior.mu_std: `shape` must be > 1 for a finite variance of mu; "
                                  f"received {self.shape!r}.")
        return float(np.sqrt(self.rate / ((self.shape - 1.0) * self.mean_precision)))

    def log_density(self, mu: Any, tau: Any) -> Any:
        """Log density :math:`\\log \\mathrm{NG}(\\mu, \\tau)`, broadcasting ``mu`` against ``tau``.

        Parameters
        ----------
        mu : array_like
            Values of :math:`\\mu`, finite.
        tau : array_like
            Values of :math:`\\tau`, finite and positive; broadcast against ``mu``.

        Returns
        -------
        float or numpy.ndarray
            Log density in nats.
        """
        where = "NormalGammaPosterior.log_density"
        mu = check_finite("mu", mu, where=where)
        tau = check_positive("tau", tau, where=where)
        val = _normal_gamma_log_density(mu, np.asarray(tau), self.mean, self.mean_precision, self.shape, self.rate)
        return float(val) if np.ndim(val) == 0 else val


def _normal_gamma_log_density(mu, tau, m, lam, a, b):
    log_tau = np.log(tau)
    return (a * np.log(b) - gammaln(a) + (a - 1.0) * log_tau - b * tau
            + 0.5 * (np.log(lam) + log_tau - _LOG_2PI) - 0.5 * lam * tau * (mu - m) ** 2)


@dataclass(frozen=True)
class NormalGamma:
    """Gaussian data with unknown mean :math:`\\mu` and precision :math:`\\tau`, Normal-Gamma prior.

    With :math:`\\bar x` the sample mean and :math:`S = \\sum_i (x_i - \\bar x)^2`, the posterior is
    :math:`\\mathrm{NG}(m_n, \\lambda_n, a_n, b_n)` with

    .. math::

        \\lambda_n = \\lambda_0 + n, \\quad m_n = \\frac{\\lambda_0 \\mu_0 + n \\bar x}{\\lambda_n}, \\\\
        a_n = a_0 + \\frac n2, \\quad
        b_n = b_0 + \\frac S2 + \\frac{\\lambda_0 n (\\bar x - \\mu_0)^2}{2 \\lambda_n},

    and the evidence is

    .. math::

        \\log p(x) &= \\log\\Gamma(a_n) - \\log\\Gamma(a_0) + a_0 \\log b_0 - a_n \\log b_n \\\\
        &\\quad + \\frac12 \\log\\frac{\\lambda_0}{\\lambda_n} - \\frac n2 \\log(2\\pi).

    Parameters
    ----------
    prior_mean : float
        :math:`\\mu_0`, finite.
    mean_precision : float
        :math:`\\lambda_0 > 0`: the prior precision of :math:`\\mu` is :math:`\\lambda_0 \\tau`.
    shape : float
        :math:`a_0 > 0`, the Gamma shape of the prior on :math:`\\tau`.
    rate : float
        :math:`b_0 > 0`, the Gamma rate of the prior on :math:`\\tau` (prior mean :math:`a_0 / b_0`).

    References
    ----------
    bishop2006pattern (section 2.3.6 and Eq. 10.21-10.30); murphy2023probabilistic

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    prior_mean: float
    mean_precision: float
    shape: float
    rate: float

    def __post_init__(self) -> None:
        where = "NormalGamma"
        object.__setattr__(self, "prior_mean", check_scalar("prior_mean", self.prior_mean, where))
        for name in ("mean_precision", "shape", "rate"):
            object.__setattr__(self, name, check_scalar(name, getattr(self, name), where, positive=True))

    @property
    def prior(self) -> NormalGammaPosterior:
        """The prior as a :class:`NormalGammaPosterior` (same four parameters)."""
        return NormalGammaPosterior(self.prior_mean, self.mean_precision, self.shape, self.rate)

    def posterior(self, x: Any) -> NormalGammaPosterior:
        """Exact posterior :math:`p(\\mu, \\tau \\mid x) = \\mathrm{NG}(m_n, \\lambda_n, a_n, b_n)`.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        NormalGammaPosterior
            The posterior parameters.
        """
        x = check_vector(x, "NormalGamma.posterior")
        n, xbar = x.size, float(x.mean())
        ss = float(np.sum((x - xbar) ** 2))
        lam_n = self.mean_precision + n
        m_n = (self.mean_precision * self.prior_mean + n * xbar) / lam_n
        a_n = self.shape + 0.5 * n
        b_n = self.rate + 0.5 * ss + 0.5 * self.mean_precision * n * (xbar - self.prior_mean) ** 2 / lam_n
        return NormalGammaPosterior(float(m_n), float(lam_n), float(a_n), float(b_n))

    def log_evidence(self, x: Any) -> float:
        """Exact log evidence :math:`\\log p(x)` in nats (formula above).

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float
            :math:`\\log p(x)`.
        """
        x = check_vector(x, "NormalGamma.log_evidence")
        post = self.posterior(x)
        return float(gammaln(post.shape) - gammaln(self.shape) + self.shape * np.log(self.rate)
                     - post.shape * np.log(post.rate) + 0.5 * np.log(self.mean_precision / post.mean_precision)
                     - 0.5 * x.size * _LOG_2PI)

    def log_joint(self, mu: Any, tau: Any, x: Any) -> Any:
        """Log joint :math:`\\log p(x, \\mu, \\tau)`, broadcasting ``mu`` against ``tau``.

        Parameters
        ----------
        mu : array_like
            Values of :math:`\\mu`, finite.
        tau : array_like
            Values of :math:`\\tau`, finite and positive; broadcast against ``mu``.
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            Log joint density in nats, of the broadcast shape of ``mu`` and ``tau``.
        """
        where = "NormalGamma.log_joint"
        x = check_vector(x, where)
        mu = check_finite("mu", mu, where=where)
        tau = np.asarray(check_positive("tau", tau, where=where))
        n, xbar = x.size, float(x.mean())
        ss = float(np.sum((x - xbar) ** 2))
        sq = ss + n * (xbar - mu) ** 2  # sum_i (x_i - mu)^2
        log_lik = 0.5 * n * (np.log(tau) - _LOG_2PI) - 0.5 * tau * sq
        val = log_lik + _normal_gamma_log_density(mu, tau, self.prior_mean, self.mean_precision, self.shape, self.rate)
        return float(val) if np.ndim(val) == 0 else val

    def conditional_mu(self, x: Any, tau: Any) -> tuple[Any, Any]:
        """Complete conditional :math:`p(\\mu \\mid \\tau, x) = \\mathcal{N}(m_n, (\\lambda_n \\tau)^{-1})`.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.
        tau : float or array_like
            Values of :math:`\\tau`, finite and positive.

        Returns
        -------
        tuple
            ``(mean, precision)``: :math:`m_n` (a float) and :math:`\\lambda_n \\tau` (shape of ``tau``).
        """
        where = "NormalGamma.conditional_mu"
        x = check_vector(x, where)
        tau = check_positive("tau", tau, where=where)
        lam_n = self.mean_precision + x.size
        mean = (self.mean_precision * self.prior_mean + x.sum()) / lam_n
        return float(mean), lam_n * tau

    def conditional_tau(self, x: Any, mu: Any) -> tuple[float, Any]:
        """Complete conditional :math:`p(\\tau \\mid \\mu, x) = \\mathrm{Gamma}(a_0 + (n+1)/2, b)`.

        Here :math:`b = b_0 + \\tfrac12 \\sum_i (x_i - \\mu)^2 + \\tfrac12 \\lambda_0 (\\mu - \\mu_0)^2`.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.
        mu : float or array_like
            Values of :math:`\\mu`, finite.

        Returns
        -------
        tuple
            ``(shape, rate)``: the shape (a float) and the rate (shape of ``mu``).
        """
        where = "NormalGamma.conditional_tau"
        x = check_vector(x, where)
        mu = check_finite("mu", mu, where=where)
        n, xbar = x.size, float(x.mean())
        sq = float(np.sum((x - xbar) ** 2)) + n * (xbar - mu) ** 2
        rate = self.rate + 0.5 * sq + 0.5 * self.mean_precision * (mu - self.prior_mean) ** 2
        return float(self.shape + 0.5 * (n + 1)), (float(rate) if np.ndim(rate) == 0 else rate)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
        """Draw :math:`(\\mu, \\tau)` from the prior and then ``n`` observations.

        Parameters
        ----------
        n : int
            Number of observations, >= 1.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        tuple
            ``(mu, tau, x)`` with ``x`` of shape (n,).
        """
        n = check_int("n", n, minimum=1, where="NormalGamma.sample")
        rng = check_rng(rng, "NormalGamma.sample")
        tau = rng.gamma(self.shape, 1.0 / self.rate)
        mu = rng.normal(self.prior_mean, 1.0 / np.sqrt(self.mean_precision * tau))
        return float(mu), float(tau), rng.normal(mu, 1.0 / np.sqrt(tau), size=n)
