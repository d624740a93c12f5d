"""Two conjugate models whose posterior and evidence are available in closed form.

* :class:`BetaBernoulli`: a coin with bias :math:`\\theta \\sim \\mathrm{Beta}(\\alpha, \\beta)` and
  flips :math:`x_i \\mid \\theta \\sim \\mathrm{Bernoulli}(\\theta)`.
* :class:`NormalNormal`: a mean :math:`\\mu \\sim \\mathcal{N}(m_0, s_0^2)` and observations
  :math:`x_i \\mid \\mu \\sim \\mathcal{N}(\\mu, \\sigma^2)` with known noise :math:`\\sigma`.

Everything is computed in log space (log-Beta functions, sufficient statistics), so that the
evidence of :math:`10^5` observations, a number far below the smallest float, stays finite.

Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaln, xlog1py, xlogy

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_nonempty,
    check_probability,
    check_rng,
    check_scalar,
    check_shape,
    check_vector,
    describe,
    float64_guard,
)

__all__ = [
    "BetaBernoulli",
    "NormalNormal",
    "normal_normal_log_evidence_stats",
    "normal_means_log_joint",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



def _out(values: np.ndarray) -> Any:
    """Return a Python float for 0-d results, the array otherwise."""
    return float(values) if np.ndim(values) == 0 else values



def _check_coin_data(x: Any, where: str) -> np.ndarray:
    arr = as_array("x", x, ndim=1, where=where)
    arr = check_nonempty("x", arr, where=where)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValidationError(f"{where}: `x` must contain only coin flips coded 0 or 1; received {describe(arr)}.")
    return arr



@dataclass(frozen=True)
class BetaBernoulli:
    """Beta-Bernoulli coin model: a Beta prior on the bias and Bernoulli flips.

    :math:`\\theta \\sim \\mathrm{Beta}(\\alpha, \\beta)` and
    :math:`x_i \\mid \\theta \\sim \\mathrm{Bernoulli}(\\theta)`.

    With :math:`k = \\sum_i x_i` heads in :math:`n` flips the posterior is
    :math:`\\mathrm{Beta}(\\alpha + k, \\beta + n - k)` and the evidence of the observed *sequence* is

    .. math::

        p(x_{1:n}) = \\int_0^1 \\theta^k (1 - \\theta)^{n-k} \\, \\mathrm{Beta}(\\theta \\mid \\alpha, \\beta)
        \\, \\mathrm{d}\\theta = \\frac{B(\\alpha + k, \\beta + n - k)}{B(\\alpha, \\beta)}.

    Parameters
    ----------
    alpha : float
        First prior shape parameter, finite and positive.
    beta : float
        Second prior shape parameter, finite and positive.

    Notes
    -----
    Data ``x`` are 1-D arrays of 0/1 values (at least one flip). The evidence is the probability
    of the ordered sequence, not of the count :math:`k` (which would add
    :math:`\\log \\binom{n}{k}`).

    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    gelman2013bayesian, bishop2006pattern
    """

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_scalar("alpha", self.alpha, "BetaBernoulli", positive=True))
        object.__setattr__(self, "beta", check_scalar("beta", self.beta, "BetaBernoulli", positive=True))

    @staticmethod
    def _counts(x: Any, where: str) -> tuple[float, float]:
        arr = _check_coin_data(x, where)
        k = float(arr.sum())
        return k, float(arr.size) - k

    def posterior(self, x: Any) -> tuple[float, float]:
        """Posterior shape parameters ``(alpha + k, beta + n - k)`` given flips ``x`` of shape (n,).

        Parameters
        ----------
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        tuple of float
            ``(alpha + k, beta + n - k)``, both > 0: the Beta posterior's shape parameters.
        """
        heads, tails = self._counts(x, "BetaBernoulli.posterior")
        return self.alpha + heads, self.beta + tails

    def log_evidence(self, x: Any) -> float:
        """Log-probability of the flip sequence ``x`` (shape (n,)): ``betaln(a+k, b+n-k) - betaln(a, b)``.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        float <= 0
            Log evidence :math:`\\log p(x_{1:n})` of the ordered sequence, in nats.
        """
        heads, tails = self._counts(x, "BetaBernoulli.log_evidence")
        return float(betaln(self.alpha + heads, self.beta + tails) - betaln(self.alpha, self.beta))

    def log_expected_squared_likelihood(self, x: Any) -> float:
        """Log of :math:`\\mathbb{E}_{p(\\theta)}[p(x \\mid \\theta)^2]`, the second moment of naive MC weights.

        It equals :math:`B(\\alpha+2k, \\beta+2(n-k)) / B(\\alpha, \\beta)`; see
        :func:`vi_lib.mc_samples_needed`.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        float <= 0
            :math:`\\log \\mathbb{E}_{p(\\theta)}[p(x \\mid \\theta)^2]`, in nats.
        """
        heads, tails = self._counts(x, "BetaBernoulli.log_expected_squared_likelihood")
        return float(betaln(self.alpha + 2 * heads, self.beta + 2 * tails) - betaln(self.alpha, self.beta))

    def log_prior(self, theta: Any) -> Any:
        """Beta log-density at ``theta`` in [0, 1] (any shape; same shape out).

        Parameters
        ----------
        theta : float or array_like of any shape
            Biases in [0, 1], evaluated elementwise.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``theta``, else an array of ``theta``'s shape; in nats.
            At 0 (or 1) it is ``-inf`` if ``alpha`` (or ``beta``) > 1 and ``+inf`` if it is < 1.
        """
        theta = check_probability("theta", theta, where="BetaBernoulli.log_prior")
        t = np.asarray(theta, dtype=float)
        val = xlogy(self.alpha - 1.0, t) + xlog1py(self.beta - 1.0, -t) - betaln(self.alpha, self.beta)
        return _out(val)

    def log_likelihood(self, theta: Any, x: Any) -> Any:
        """:math:`k \\log \\theta + (n-k) \\log(1-\\theta)` for every ``theta`` (any shape; same shape out).

        Parameters
        ----------
        theta : float or array_like of any shape
            Biases in [0, 1], evaluated elementwise; each entry is scored against all of ``x``
            (``theta`` is not broadcast against ``x``).
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``theta``, else an array of ``theta``'s shape; in nats,
            ``-inf`` where ``theta`` makes the flips impossible (0 with a head, 1 with a tail).
        """
        where = "BetaBernoulli.log_likelihood"
        theta = check_probability("theta", theta, where=where)
        heads, tails = self._counts(x, where)
        t = np.asarray(theta, dtype=float)
        return _out(xlogy(heads, t) + xlog1py(tails, -t))

    def log_joint(self, theta: Any, x: Any) -> Any:
        """:math:`\\log p(\\theta) + \\log p(x \\mid \\theta)` (any shape of ``theta``; same shape out).

        Parameters
        ----------
        theta : float or array_like of any shape
            Biases in [0, 1], evaluated elementwise; each entry is scored against all of ``x``
            (``theta`` is not broadcast against ``x``).
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``theta``, else an array of ``theta``'s shape; in nats.
        """
        return _out(np.asarray(self.log_prior(theta)) + np.asarray(self.log_likelihood(theta, x)))

    def log_posterior(self, theta: Any, x: Any) -> Any:
        """Log-density of the posterior :math:`\\mathrm{Beta}(\\alpha + k, \\beta + n - k)` at ``theta``.

        Parameters
        ----------
        theta : float or array_like of any shape
            Biases in [0, 1], evaluated elementwise.
        x : array_like of shape (n,)
            Observed coin flips, each 0 or 1; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``theta``, else an array of ``theta``'s shape; in nats.
        """
        theta = check_probability("theta", theta, where="BetaBernoulli.log_posterior")
        a, b = self.posterior(x)
        return BetaBernoulli(a, b).log_prior(theta)

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` biases from the Beta prior, shape (n,).

        Parameters
        ----------
        n : int
            Number of draws, >= 1.
        rng : numpy.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            Biases in [0, 1].
        """
        n = check_int("n", n, minimum=1, where="BetaBernoulli.sample_prior")
        check_rng(rng, "BetaBernoulli.sample_prior")
        return rng.beta(self.alpha, self.beta, size=n)

    def sample_data(self, n: int, theta: float, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` flips (0.0 or 1.0, shape (n,)) of a coin with bias ``theta``.

        Parameters
        ----------
        n : int
            Number of flips, >= 1.
        theta : float
            Probability of heads, a scalar in [0, 1].
        rng : numpy.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            Flips as float64, 1.0 (heads) with probability ``theta``, else 0.0.
        """
        where = "BetaBernoulli.sample_data"
        n = check_int("n", n, minimum=1, where=where)
        theta = check_probability("theta", theta, where=where)
        if np.ndim(theta) != 0:
            raise ValidationError(f"{where}: `theta` must be a scalar; received {describe(theta)}.")
        check_rng(rng, where)
        return (rng.random(n) < theta).astype(np.float64)



@float64_guard
def normal_normal_log_evidence_stats(count: Any, sum_x: Any, sum_x2: Any, prior_mean: float, prior_std: float,
                                     noise_std: float) -> Any:
    """Normal-Normal log evidence from sufficient statistics (vectorised; ``count = 0`` gives 0).

    For :math:`n` observations with :math:`S = \\sum_i x_i`, :math:`Q = \\sum_i x_i^2` and posterior
    precision :math:`\\lambda = 1/s_0^2 + n/\\sigma^2`,

    .. math::

        \\log p(x) = -\\frac{n}{2}\\log(2\\pi\\sigma^2) - \\frac12 \\log(s_0^2 \\lambda)
        - \\frac{Q}{2\\sigma^2} - \\frac{m_0^2}{2 s_0^2}
        + \\frac{(m_0 / s_0^2 + S / \\sigma^2)^2}{2 \\lambda}.

    An empty group (``count = 0``, ``S = Q = 0``) has evidence 1, so this formula is what the
    mixture enumeration of :func:`vi_lib.gmm_log_evidence_exact` sums per cluster. For a single
    large data set prefer :meth:`NormalNormal.log_evidence`, which centres the data first.

    Parameters
    ----------
    count : array_like of int, any shape
        Number of observations in each group, >= 0.
    sum_x : array_like, same shape as ``count``
        Sum of the observations in each group.
    sum_x2 : array_like, same shape as ``count``
        Sum of squared observations in each group.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0`, :math:`\\sigma > 0`.

    Returns
    -------
    float or numpy.ndarray
        Log evidence of each group, shape of ``count``.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    bishop2006pattern, murphy2023probabilistic
    """
    where = "normal_normal_log_evidence_stats"
    m0 = check_scalar("prior_mean", prior_mean, where, positive=False)
    s0 = check_scalar("prior_std", prior_std, where, positive=True)
    sigma = check_scalar("noise_std", noise_std, where, positive=True)
    n = check_finite("count", count, where=where)
    if np.any(n < 0):
        raise ValidationError(f"{where}: `count` must be non-negative; received {describe(n)}.")
    s, q = check_finite("sum_x", sum_x, where=where), check_finite("sum_x2", sum_x2, where=where)
    if s.shape != n.shape or q.shape != n.shape:
        raise ValidationError(f"{where}: `sum_x` and `sum_x2` must have the shape of `count` {n.shape}; "
                              f"received {s.shape} and {q.shape}.")
    s0sq, var = s0 * s0, sigma * sigma
    lam = 1.0 / s0sq + n / var
    val = (-0.5 * n * (_LOG_2PI + np.log(var)) - 0.5 * np.log(s0sq * lam) - q / (2.0 * var)
           - m0 * m0 / (2.0 * s0sq) + (m0 / s0sq + s / var) ** 2 / (2.0 * lam))
    return _out(val)



@dataclass(frozen=True)
class NormalNormal:
    """Normal mean with known noise, the Normal-Normal model.

    :math:`\\mu \\sim \\mathcal{N}(m_0, s_0^2)` and :math:`x_i \\mid \\mu \\sim \\mathcal{N}(\\mu, \\sigma^2)` iid.

    Posterior: precision :math:`\\lambda_n = 1/s_0^2 + n/\\sigma^2`, mean
    :math:`m_n = (m_0/s_0^2 + \\sum_i x_i/\\sigma^2)/\\lambda_n`, std :math:`s_n = \\lambda_n^{-1/2}`.
    Evidence, with :math:`\\bar x` the sample mean and :math:`\\mathrm{SS} = \\sum_i (x_i - \\bar x)^2`:

    .. math::

        \\log p(x) = -\\frac{n}{2}\\log(2\\pi\\sigma^2) - \\frac{\\mathrm{SS}}{2\\sigma^2}
        + \\frac12 \\log\\frac{2\\pi\\sigma^2}{n}
        + \\log \\mathcal{N}\\!\\left(\\bar x \\,\\middle|\\, m_0, s_0^2 + \\frac{\\sigma^2}{n}\\right),

    which equals the multivariate normal log-density of :math:`x` under
    :math:`\\mathcal{N}(m_0 \\mathbf{1}, \\sigma^2 I + s_0^2 \\mathbf{1}\\mathbf{1}^\\top)`
    (see :meth:`marginal_mean_cov`).

    Parameters
    ----------
    prior_mean : float
        Prior mean :math:`m_0`, finite.
    prior_std : float
        Prior standard deviation :math:`s_0`, finite and positive.
    noise_std : float
        Observation noise standard deviation :math:`\\sigma`, finite and positive.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).

    References
    ----------
    bishop2006pattern, murphy2023probabilistic
    """

    prior_mean: float
    prior_std: float
    noise_std: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "prior_mean", check_scalar("prior_mean", self.prior_mean, "NormalNormal"))
        object.__setattr__(self, "prior_std", check_scalar("prior_std", self.prior_std, "NormalNormal", positive=True))
        object.__setattr__(self, "noise_std", check_scalar("noise_std", self.noise_std, "NormalNormal", positive=True))

    def posterior(self, x: Any) -> tuple[float, float]:
        """Posterior ``(mean, std)`` of :math:`\\mu` given data ``x`` of shape (n,).

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        tuple of float
            ``(mean, std)``: :math:`m_n` and :math:`s_n > 0`.
        """
        x = check_vector(x, "NormalNormal.posterior")
        prec = 1.0 / self.prior_std**2 + x.size / self.noise_std**2
        mean = (self.prior_mean / self.prior_std**2 + x.sum() / self.noise_std**2) / prec
        return float(mean), float(1.0 / np.sqrt(prec))

    def log_evidence(self, x: Any) -> float:
        """Log evidence :math:`\\log p(x)` of data ``x`` (shape (n,)) from centred sufficient statistics.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float
            Log density of ``x`` under its marginal :math:`p(x)`, in nats.
        """
        x = check_vector(x, "NormalNormal.log_evidence")
        n = x.size
        var = self.noise_std**2
        xbar = float(x.mean())
        ss = float(np.sum((x - xbar) ** 2))
        marg_var = self.prior_std**2 + var / n
        log_norm_xbar = -0.5 * (_LOG_2PI + np.log(marg_var)) - 0.5 * (xbar - self.prior_mean) ** 2 / marg_var
        return float(-0.5 * n * (_LOG_2PI + np.log(var)) - ss / (2.0 * var)
                     + 0.5 * (_LOG_2PI + np.log(var / n)) + log_norm_xbar)

    def log_expected_squared_likelihood(self, x: Any) -> float:
        """Log of :math:`\\mathbb{E}_{p(\\mu)}[p(x \\mid \\mu)^2]`, the second moment of naive Monte Carlo weights.

        Because :math:`\\mathcal{N}(x \\mid \\mu, \\sigma^2)^2
        = \\mathcal{N}(x \\mid \\mu, \\sigma^2/2) / (2\\sigma\\sqrt{\\pi})`,

        .. math::

            \\mathbb{E}_{p(\\mu)}[p(x \\mid \\mu)^2] = (2\\sigma\\sqrt{\\pi})^{-n} \\, p_{\\sigma/\\sqrt{2}}(x),

        where :math:`p_{\\sigma/\\sqrt 2}` is the evidence of the same model with noise std :math:`\\sigma/\\sqrt{2}`.

        Parameters
        ----------
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float
            :math:`\\log \\mathbb{E}_{p(\\mu)}[p(x \\mid \\mu)^2]`, in nats.
        """
        x = check_vector(x, "NormalNormal.log_expected_squared_likelihood")
        half = NormalNormal(self.prior_mean, self.prior_std, self.noise_std / np.sqrt(2.0))
        return float(-x.size * np.log(2.0 * self.noise_std * np.sqrt(np.pi)) + half.log_evidence(x))

    def log_prior(self, mu: Any) -> Any:
        """Prior log-density :math:`\\log \\mathcal{N}(\\mu \\mid m_0, s_0^2)` (any shape of ``mu``; same shape out).

        Parameters
        ----------
        mu : float or array_like of any shape
            Values of the mean, finite, evaluated elementwise.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``mu``, else an array of ``mu``'s shape; in nats.
        """
        mu = check_finite("mu", mu, where="NormalNormal.log_prior")
        return _out(-0.5 * (_LOG_2PI + 2.0 * np.log(self.prior_std))
                    - 0.5 * ((mu - self.prior_mean) / self.prior_std) ** 2)

    def log_likelihood(self, mu: Any, x: Any) -> Any:
        """Log-likelihood :math:`\\sum_i \\log \\mathcal{N}(x_i \\mid \\mu, \\sigma^2)` for every ``mu``.

        Any shape of ``mu``, same shape out; a scalar ``mu`` gives a float.

        Uses :math:`\\sum_i (x_i - \\mu)^2 = \\mathrm{SS} + n (\\bar x - \\mu)^2`, so the cost for
        :math:`m` values of ``mu`` is :math:`O(n + m)`, not :math:`O(nm)`.

        Parameters
        ----------
        mu : float or array_like of any shape
            Values of the mean, finite, evaluated elementwise; each entry is scored against all of ``x``
            (``mu`` is not broadcast against ``x``).
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``mu``, else an array of ``mu``'s shape; in nats.
        """
        where = "NormalNormal.log_likelihood"
        mu = check_finite("mu", mu, where=where)
        x = check_vector(x, where)
        n, var = x.size, self.noise_std**2
        xbar = x.mean()
        ss = np.sum((x - xbar) ** 2)
        return _out(-0.5 * n * (_LOG_2PI + np.log(var)) - (ss + n * (xbar - mu) ** 2) / (2.0 * var))

    def log_joint(self, mu: Any, x: Any) -> Any:
        """:math:`\\log p(\\mu) + \\log p(x \\mid \\mu)` (shape of ``mu``).

        Parameters
        ----------
        mu : float or array_like of any shape
            Values of the mean, finite, evaluated elementwise; each entry is scored against all of ``x``
            (``mu`` is not broadcast against ``x``).
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``mu``, else an array of ``mu``'s shape; in nats.
        """
        return _out(np.asarray(self.log_prior(mu)) + np.asarray(self.log_likelihood(mu, x)))

    def log_posterior(self, mu: Any, x: Any) -> Any:
        """Posterior log-density :math:`\\log \\mathcal{N}(\\mu \\mid m_n, s_n^2)` (shape of ``mu``).

        Parameters
        ----------
        mu : float or array_like of any shape
            Values of the mean, finite, evaluated elementwise.
        x : array_like of shape (n,)
            Observations, finite; n >= 1.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``mu``, else an array of ``mu``'s shape; in nats.
        """
        mu = check_finite("mu", mu, where="NormalNormal.log_posterior")
        m, s = self.posterior(x)
        return _out(-0.5 * (_LOG_2PI + 2.0 * np.log(s)) - 0.5 * ((mu - m) / s) ** 2)

    def marginal_mean_cov(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the marginal distribution of ``n`` observations.

        Mean ``prior_mean * ones(n)``, covariance ``noise_std**2 * I + prior_std**2 * ones((n, n))``.

        Parameters
        ----------
        n : int
            Number of observations, >= 1.

        Returns
        -------
        mean : numpy.ndarray of shape (n,)
            Marginal mean of :math:`x_{1:n}`.
        cov : numpy.ndarray of shape (n, n)
            Marginal covariance, symmetric positive definite.
        """
        n = check_int("n", n, minimum=1, where="NormalNormal.marginal_mean_cov")
        mean = np.full(n, self.prior_mean)
        cov = self.noise_std**2 * np.eye(n) + self.prior_std**2 * np.ones((n, n))
        return mean, cov

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` means from the prior, shape (n,).

        Parameters
        ----------
        n : int
            Number of draws, >= 1.
        rng : numpy.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            Draws of :math:`\\mu \\sim \\mathcal{N}(m_0, s_0^2)`.
        """
        n = check_int("n", n, minimum=1, where="NormalNormal.sample_prior")
        check_rng(rng, "NormalNormal.sample_prior")
        return self.prior_mean + self.prior_std * rng.standard_normal(n)

    def sample_data(self, n: int, mu: float, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` observations :math:`x_i \\sim \\mathcal{N}(\\mu, \\sigma^2)`, shape (n,).

        Parameters
        ----------
        n : int
            Number of observations, >= 1.
        mu : float
            The mean, a finite scalar.
        rng : numpy.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            Independent observations.
        """
        where = "NormalNormal.sample_data"
        n = check_int("n", n, minimum=1, where=where)
        mu = check_scalar("mu", mu, where, positive=False)
        check_rng(rng, where)
        return mu + self.noise_std * rng.standard_normal(n)



@float64_guard
def normal_means_log_joint(mu: Any, x: Any, prior_mean: float, prior_std: float, noise_std: float) -> np.ndarray:
    """Log joint of ``d`` independent Normal-Normal coordinates, at ``m`` points at once.

    Coordinate :math:`j` has its own mean :math:`\\mu_j \\sim \\mathcal{N}(m_0, s_0^2)` and data column
    :math:`x_{ij} \\sim \\mathcal{N}(\\mu_j, \\sigma^2)`; the log joint is the sum over coordinates of
    :meth:`NormalNormal.log_joint`, and the exact log evidence is the sum of the per-column
    :meth:`NormalNormal.log_evidence`. Used to time brute-force grid quadrature in ``d`` dimensions.

    Parameters
    ----------
    mu : array_like, shape (m, d)
        Points in parameter space.
    x : array_like, shape (n, d)
        Data, one column per coordinate.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0`, :math:`\\sigma > 0`, shared by all coordinates.

    Returns
    -------
    numpy.ndarray, shape (m,)
        :math:`\\log p(\\mu, x)` at each point.

    Notes
    -----
    Explained in Chapter: Bayes' rule and the evidence problem (chapters/bayes_evidence.ipynb).
    """
    where = "normal_means_log_joint"
    model = NormalNormal(check_scalar("prior_mean", prior_mean, where, positive=False),
                         check_scalar("prior_std", prior_std, where, positive=True),
                         check_scalar("noise_std", noise_std, where, positive=True))
    x = check_finite("x", as_array("x", x, ndim=2, where=where), where=where)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValidationError(f"{where}: `x` must be non-empty; received {describe(x)}.")
    mu = check_finite("mu", check_shape("mu", mu, (None, x.shape[1]), where=where), where=where)
    total = np.zeros(mu.shape[0])
    for j in range(x.shape[1]):
        total += model.log_joint(mu[:, j], x[:, j])
    return total
