"""Coordinate-ascent mean-field variational inference (CAVI).

For a mean-field family :math:`q(z) = \\prod_j q_j(z_j)` the ELBO, as a function of one factor with
the others fixed, is maximised by

.. math::

    q_j^*(z_j) \\propto \\exp \\mathbb{E}_{-j}[\\log p(x, z)],

and CAVI cycles through the factors, setting each to its optimum in turn; no update can lower the
ELBO. The updates here are small pure functions (one per factor), each model has an ELBO with every
constant, and the ``fit_*`` loops record the ELBO after every coordinate update in a
:class:`CAVIResult`.

* The unknown mean and precision of a Gaussian under a Normal-Gamma prior, whose exact posterior
  and evidence are known (:class:`vi_lib.NormalGamma`): :func:`normal_gamma_update_mu`,
  :func:`normal_gamma_update_tau`, :func:`normal_gamma_elbo`, :func:`fit_normal_gamma_cavi`.
* A correlated Gaussian target, where the fixed point is known (Chapter 2's :math:`1/\\Lambda_{ii}`) and
  the speed of coordinate ascent can be measured: :func:`gaussian_update_coordinate`,
  :func:`fit_gaussian_cavi`.
* Chapter 1's Bayesian mixture of :math:`K` unit-weight Gaussians with known noise
  (Blei, Kucukelbir & McAuliffe 2017, section 3): :func:`mixture_update_assignments`,
  :func:`mixture_update_means`, :func:`mixture_elbo`, :func:`fit_mixture_cavi`, and variational
  EM with point-estimated weights (:func:`fit_mixture_vem`).

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, logsumexp, xlogy

from .._validation import (
    ValidationError,
    as_array,
    check_bool,
    check_finite,
    check_int,
    check_positive,
    check_positive_definite,
    check_probability_rows,
    check_probability_vector,
    check_rng,
    check_scalar,
    check_vector,
    describe,
    float64_guard,
)
from ..families.divergences import kl_mvn
from ..models.normal_gamma import NormalGamma

__all__ = [
    "CAVIResult",
    "NormalGammaMeanField",
    "normal_gamma_update_mu",
    "normal_gamma_update_tau",
    "normal_gamma_elbo",
    "fit_normal_gamma_cavi",
    "MixtureMeanField",
    "init_mixture_mean_field",
    "mixture_update_assignments",
    "mixture_update_means",
    "mixture_update_weights",
    "mixture_elbo",
    "fit_mixture_cavi",
    "fit_mixture_vem",
    "DiagonalGaussianFactors",
    "gaussian_update_coordinate",
    "fit_gaussian_cavi",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class CAVIResult:
    """History of one CAVI run (returned by the ``fit_*_cavi`` functions).

    A sweep updates every factor once, in the order given by ``update_names``.

    Attributes
    ----------
    params : object
        Final variational parameters (a model-specific dataclass).
    elbo_trace : array of shape (1 + U * T,)
        The ELBO in nats at the initialisation and after every one of the U coordinate updates of
        each of the T sweeps; non-decreasing up to rounding.
    trace_labels : tuple of str
        For each entry of ``elbo_trace``, ``"init"`` or the name of the update just made.
    elbo : array of shape (T + 1,)
        The ELBO at the initialisation and after each complete sweep (every U-th entry of
        ``elbo_trace``).
    params_history : list
        Variational parameters at the initialisation and after each sweep (T + 1 entries).
    converged : bool
        Whether the last sweep raised the ELBO by less than ``rtol * |ELBO|``.
    update_names : tuple of str
        Names of the U coordinate updates of one sweep, e.g. ``("q(mu)", "q(tau)")``.
    """

    params: Any
    elbo_trace: np.ndarray
    trace_labels: tuple
    elbo: np.ndarray
    params_history: list = field(repr=False)
    converged: bool
    update_names: tuple

    @property
    def n_iter(self) -> int:
        """Number of complete sweeps T that were run."""
        return int(self.elbo.size - 1)


def run_cavi_sweeps(params: Any, updates: list, elbo_fn: Any, *, max_iter: int, rtol: float,
                    record_every_update: bool = True, atol: float = 0.0, keep: Any = None) -> CAVIResult:
    """Shared CAVI loop (internal): apply ``updates`` in order until the ELBO stops rising.

    ``updates`` is a list of ``(name, fn)`` with ``fn(params) -> params``; ``elbo_fn(params)`` is
    the ELBO in nats. The loop stops after a sweep whose ELBO increase is below
    ``rtol * |ELBO|`` or below ``atol`` (converged), or after ``max_iter`` sweeps. With ``record_every_update=False``
    the ELBO is evaluated once per sweep and ``elbo_trace`` equals ``elbo`` (for benchmarks).
    ``keep(params)``, if given, is what ``params_history`` stores after each sweep (default: the
    state itself), so that a sweep state holding per-point arrays (responsibilities) need not be
    kept T times. Inputs are validated by the public callers.
    """
    keep = (lambda p: p) if keep is None else keep
    names = tuple(name for name, _ in updates)
    value = float(elbo_fn(params))
    trace = [value]
    labels = ["init"]
    sweeps = [value]
    history = [keep(params)]
    converged = False
    for _ in range(max_iter):
        for i, (name, fn) in enumerate(updates):
            params = fn(params)
            if record_every_update or i == len(updates) - 1:
                trace.append(float(elbo_fn(params)))
                labels.append(name)
        sweeps.append(trace[-1])
        history.append(keep(params))
        if sweeps[-1] - sweeps[-2] < max(rtol * abs(sweeps[-1]), atol):
            converged = True
            break
    return CAVIResult(params=params, elbo_trace=np.array(trace), trace_labels=tuple(labels),
                      elbo=np.array(sweeps), params_history=history, converged=converged,
                      update_names=names)



def _check_fit_controls(max_iter: Any, rtol: Any, where: str) -> tuple[int, float]:
    return (check_int("max_iter", max_iter, minimum=1, where=where),
            check_positive("rtol", rtol, allow_zero=True, where=where))


# ---------------------------------------------------------------------------------------------
# Normal-Gamma: unknown mean and precision of a Gaussian
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalGammaMeanField:
    """Mean-field Normal-Gamma factors :math:`q(\\mu)\\, q(\\tau)`.

    .. math::

        q(\\mu, \\tau) = \\mathcal{N}(\\mu \\mid m, \\lambda^{-1})\\,\\mathrm{Gamma}(\\tau \\mid a, b).

    Unlike the exact posterior (:class:`vi_lib.NormalGammaPosterior`), the precision of
    :math:`\\mu` here is a plain number :math:`\\lambda`, not :math:`\\lambda\\tau`: the factors are
    independent.

    Parameters
    ----------
    mu_mean : float
        :math:`m`, the mean of :math:`q(\\mu)`, finite.
    mu_precision : float
        :math:`\\lambda > 0`, the precision of :math:`q(\\mu)`.
    tau_shape : float
        :math:`a > 0`, the shape of :math:`q(\\tau)`.
    tau_rate : float
        :math:`b > 0`, the rate of :math:`q(\\tau)`.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    mu_mean: float
    mu_precision: float
    tau_shape: float
    tau_rate: float

    def __post_init__(self) -> None:
        where = "NormalGammaMeanField"
        object.__setattr__(self, "mu_mean", check_scalar("mu_mean", self.mu_mean, where))
        for name in ("mu_precision", "tau_shape", "tau_rate"):
            object.__setattr__(self, name, check_scalar(name, getattr(self, name), where, positive=True))

    @property
    def mu_std(self) -> float:
        """Standard deviation of :math:`q(\\mu)`, :math:`\\lambda^{-1/2}`."""
        return float(1.0 / np.sqrt(self.mu_precision))

    @property
    def tau_mean(self) -> float:
        """:math:`\\mathbb{E}_q[\\tau] = a / b`."""
        return float(self.tau_shape / self.tau_rate)

    @property
    def tau_log_mean(self) -> float:
        """:math:`\\mathbb{E}_q[\\log \\tau] = \\psi(a) - \\log b`."""
        return float(digamma(self.tau_shape) - np.log(self.tau_rate))

    def log_density(self, mu: Any, tau: Any) -> Any:
        """Log density :math:`\\log q(\\mu) + \\log q(\\tau)`, broadcasting ``mu`` against ``tau``.

        Parameters
        ----------
        mu : array_like
            Values of :math:`\\mu`, finite.
        tau : array_like
            Values of :math:`\\tau`, finite and positive.

        Returns
        -------
        float or numpy.ndarray
            Log density in nats.
        """
        where = "NormalGammaMeanField.log_density"
        mu = check_finite("mu", mu, where=where)
        tau = np.asarray(check_positive("tau", tau, where=where))
        lam, a, b = self.mu_precision, self.tau_shape, self.tau_rate
        val = (0.5 * (np.log(lam) - _LOG_2PI) - 0.5 * lam * (mu - self.mu_mean) ** 2
               + a * np.log(b) - gammaln(a) + (a - 1.0) * np.log(tau) - b * tau)
        return float(val) if np.ndim(val) == 0 else val


def _check_ng(x: Any, model: Any, q: Any, where: str,
              qname: str = "q") -> tuple[np.ndarray, NormalGamma, NormalGammaMeanField]:
    x = check_vector(x, where)
    if not isinstance(model, NormalGamma):
        raise ValidationError(f"{where}: `model` must be a NormalGamma; received {type(model).__name__}.")
    if not isinstance(q, NormalGammaMeanField):
        raise ValidationError(f"{where}: `{qname}` must be a NormalGammaMeanField; received {type(q).__name__}.")
    return x, model, q


def normal_gamma_update_mu(x: Any, model: NormalGamma, q: NormalGammaMeanField) -> NormalGammaMeanField:
    """CAVI update of :math:`q(\\mu)` with :math:`q(\\tau)` fixed.

    :math:`\\log q^*(\\mu) = \\mathbb{E}_{\\tau}[\\log p(x, \\mu, \\tau)] + \\text{const}` is quadratic in
    :math:`\\mu`, so :math:`q^*(\\mu) = \\mathcal{N}(m, \\lambda^{-1})` with

    .. math::

        m = \\frac{\\lambda_0 \\mu_0 + n \\bar x}{\\lambda_0 + n}, \\qquad
        \\lambda = (\\lambda_0 + n)\\, \\mathbb{E}_q[\\tau].

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    model : NormalGamma
        The prior.
    q : NormalGammaMeanField
        Current factors; only :math:`q(\\tau)` is read.

    Returns
    -------
    NormalGammaMeanField
        ``q`` with :math:`q(\\mu)` replaced.

    References
    ----------
    bishop2006pattern (Eq. 10.26-10.27)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    x, model, q = _check_ng(x, model, q, "normal_gamma_update_mu")
    lam_n = model.mean_precision + x.size
    m = (model.mean_precision * model.prior_mean + x.sum()) / lam_n
    return NormalGammaMeanField(float(m), float(lam_n * q.tau_mean), q.tau_shape, q.tau_rate)


def _expected_sq(x: np.ndarray, model: NormalGamma, q: NormalGammaMeanField) -> float:
    """:math:`\\mathbb{E}_{q(\\mu)}[\\sum_i (x_i - \\mu)^2 + \\lambda_0 (\\mu - \\mu_0)^2]`."""
    n, xbar = x.size, float(x.mean())
    var = 1.0 / q.mu_precision
    data = float(np.sum((x - xbar) ** 2)) + n * ((xbar - q.mu_mean) ** 2 + var)
    return data + model.mean_precision * ((q.mu_mean - model.prior_mean) ** 2 + var)


@float64_guard
def normal_gamma_update_tau(x: Any, model: NormalGamma, q: NormalGammaMeanField) -> NormalGammaMeanField:
    """CAVI update of :math:`q(\\tau)` with :math:`q(\\mu)` fixed.

    :math:`\\log q^*(\\tau)` is linear in :math:`\\log\\tau` and :math:`\\tau`, a Gamma density with

    .. math::

        a = a_0 + \\frac{n + 1}{2}, \\qquad
        b = b_0 + \\frac12 \\mathbb{E}_{\\mu}\\Big[\\sum_i (x_i - \\mu)^2 + \\lambda_0 (\\mu - \\mu_0)^2\\Big].

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    model : NormalGamma
        The prior.
    q : NormalGammaMeanField
        Current factors; only :math:`q(\\mu)` is read.

    Returns
    -------
    NormalGammaMeanField
        ``q`` with :math:`q(\\tau)` replaced.

    References
    ----------
    bishop2006pattern (Eq. 10.29-10.30)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    x, model, q = _check_ng(x, model, q, "normal_gamma_update_tau")
    a = model.shape + 0.5 * (x.size + 1)
    b = model.rate + 0.5 * _expected_sq(x, model, q)
    return NormalGammaMeanField(q.mu_mean, q.mu_precision, float(a), float(b))


@float64_guard
def normal_gamma_elbo(x: Any, model: NormalGamma, q: NormalGammaMeanField) -> float:
    """The ELBO :math:`\\mathbb{E}_q[\\log p(x, \\mu, \\tau)] + \\mathbb{H}[q]` in nats, every constant kept.

    With :math:`\\mathbb{E}[\\tau] = a/b`, :math:`\\mathbb{E}[\\log\\tau] = \\psi(a) - \\log b` and
    :math:`E_2 = \\mathbb{E}_\\mu[\\sum_i (x_i - \\mu)^2 + \\lambda_0(\\mu - \\mu_0)^2]`,

    .. math::

        \\mathcal{L} &= \\frac{n + 1}{2}\\big(\\mathbb{E}\\log\\tau - \\log 2\\pi\\big)
        + \\frac12\\log\\lambda_0 - \\frac{\\mathbb{E}[\\tau]}{2} E_2 \\\\
        &\\quad + a_0 \\log b_0 - \\log\\Gamma(a_0) + (a_0 - 1)\\mathbb{E}\\log\\tau
        - b_0 \\mathbb{E}[\\tau] \\\\
        &\\quad + \\tfrac12 \\log\\frac{2\\pi e}{\\lambda} + a - \\log b + \\log\\Gamma(a)
        + (1 - a)\\psi(a).

    It is at most :meth:`vi_lib.NormalGamma.log_evidence`; the gap is
    :math:`\\mathrm{KL}(q \\,\\|\\, p(\\mu, \\tau \\mid x))`.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    model : NormalGamma
        The prior.
    q : NormalGammaMeanField
        The variational factors.

    Returns
    -------
    float
        The ELBO in nats.

    References
    ----------
    bishop2006pattern (section 10.1.3); blei2017variational

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    x, model, q = _check_ng(x, model, q, "normal_gamma_elbo")
    n = x.size
    e_tau, e_log_tau = q.tau_mean, q.tau_log_mean
    a0, b0 = model.shape, model.rate
    expected_log_joint = (0.5 * (n + 1) * (e_log_tau - _LOG_2PI) + 0.5 * np.log(model.mean_precision)
                          - 0.5 * e_tau * _expected_sq(x, model, q)
                          + a0 * np.log(b0) - gammaln(a0) + (a0 - 1.0) * e_log_tau - b0 * e_tau)
    a, b = q.tau_shape, q.tau_rate
    entropy = 0.5 * (_LOG_2PI + 1.0 - np.log(q.mu_precision)) + a - np.log(b) + gammaln(a) + (1.0 - a) * digamma(a)
    return float(expected_log_joint + entropy)


@float64_guard
def fit_normal_gamma_cavi(x: Any, model: NormalGamma, init: NormalGammaMeanField, *, max_iter: int = 100,
                          rtol: float = 1e-12) -> CAVIResult:
    """CAVI for the Normal-Gamma model: alternate :func:`normal_gamma_update_mu` and :func:`normal_gamma_update_tau`.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    model : NormalGamma
        The prior.
    init : NormalGammaMeanField
        Starting factors (the first update replaces :math:`q(\\mu)`, so only :math:`q(\\tau)` of
        ``init`` affects the path; both enter the initial ELBO).
    max_iter : int
        Maximum number of sweeps, >= 1.
    rtol : float
        Stop after a sweep that raises the ELBO by less than ``rtol * |ELBO|``; >= 0.

    Returns
    -------
    CAVIResult
        With ``update_names == ("q(mu)", "q(tau)")``.

    References
    ----------
    bishop2006pattern (section 10.1.3); blei2017variational

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "fit_normal_gamma_cavi"
    x, model, init = _check_ng(x, model, init, where, "init")
    max_iter, rtol = _check_fit_controls(max_iter, rtol, where)
    updates = [("q(mu)", lambda q: normal_gamma_update_mu(x, model, q)),
               ("q(tau)", lambda q: normal_gamma_update_tau(x, model, q))]
    return run_cavi_sweeps(init, updates, lambda q: normal_gamma_elbo(x, model, q), max_iter=max_iter, rtol=rtol)


# ---------------------------------------------------------------------------------------------
# Chapter 1's Bayesian mixture: K means with a Gaussian prior, known noise, labels as local variables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MixtureMeanField:
    """Mean-field factors of the Bayesian mixture: Gaussian means, categorical labels.

    .. math::

        q(\\mu, c) = \\prod_k \\mathcal{N}(\\mu_k \\mid m_k, s_k^2) \\prod_i \\mathrm{Cat}(c_i \\mid \\varphi_i).

    Parameters
    ----------
    resp : array of shape (n, K)
        :math:`\\varphi_{ik} = q(c_i = k)`; non-negative rows summing to one.
    means : array of shape (K,)
        :math:`m_k`, finite.
    variances : array of shape (K,)
        :math:`s_k^2 \\ge 0`; all zero means point estimates of the means (variational EM).
    weights : array of shape (K,), optional
        Mixing weights :math:`w_k` (positive, summing to one): a fixed or point-estimated
        parameter, not a random variable. Default uniform, :math:`1/K`, as in Chapter 1's model.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    resp: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = "MixtureMeanField"
        r = check_finite("resp", as_array("resp", self.resp, ndim=2, where=where), where=where)
        n, K = r.shape
        if n < 1 or K < 1:
            raise ValidationError(f"{where}: `resp` must have at least one row and one column; "
                                  f"received shape {r.shape}.")
        r = check_probability_rows("resp", self.resp, where=where)
        m = check_finite("means", as_array("means", self.means, ndim=1, where=where), where=where)
        v = check_finite("variances", as_array("variances", self.variances, ndim=1, where=where), where=where)
        for name, arr in (("means", m), ("variances", v)):
            if arr.shape != (K,):
                raise ValidationError(f"{where}: `{name}` must have shape ({K},) to match the {K} columns of "
                                      f"`resp`; received shape {arr.shape}.")
        if np.any(v < 0) or (np.any(v == 0) and not np.all(v == 0)):
            raise ValidationError(f"{where}: `variances` must be all positive (a Gaussian q per mean) or all zero "
                                  f"(point estimates); received {describe(v)}.")
        if self.weights is None:
            w = np.full(K, 1.0 / K)
        else:
            w = as_array("weights", self.weights, ndim=1, where=where)
            if w.shape != (K,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
                raise ValidationError(f"{where}: `weights` must be {K} positive numbers summing to 1; received "
                                      f"{describe(w)}.")
            w = check_probability_vector("weights", self.weights, where=where)
        object.__setattr__(self, "resp", r / r.sum(axis=1, keepdims=True))
        object.__setattr__(self, "means", m.copy())
        object.__setattr__(self, "variances", v.copy())
        object.__setattr__(self, "weights", w / w.sum())

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(self.means.size)

    @property
    def point_means(self) -> bool:
        """Whether the means are point estimates (all variances zero)."""
        return bool(np.all(self.variances == 0))


def _check_mix(x: Any, q: Any, where: str, qname: str = "q") -> tuple[np.ndarray, MixtureMeanField]:
    x = check_vector(x, where)
    if not isinstance(q, MixtureMeanField):
        raise ValidationError(f"{where}: `{qname}` must be a MixtureMeanField; received {type(q).__name__}.")
    if q.resp.shape[0] != x.size:
        raise ValidationError(f"{where}: `{qname}.resp` must have one row per point of `x` ({x.size}); received "
                              f"{q.resp.shape[0]} rows.")
    return x, q


def _check_prior(prior_mean: Any, prior_std: Any, noise_std: Any, where: str) -> tuple[float, float, float]:
    return (check_scalar("prior_mean", prior_mean, where), check_scalar("prior_std", prior_std, where, positive=True),
            check_scalar("noise_std", noise_std, where, positive=True))


@float64_guard
def init_mixture_mean_field(x: Any, K: int, rng: np.random.Generator, *, prior_std: float = 1.0) -> MixtureMeanField:
    """A random starting point: the means of q at K distinct data points, variances ``prior_std**2``.

    The responsibilities start uniform; the first CAVI update (:func:`mixture_update_assignments`)
    replaces them, so the start is determined by the means.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= K.
    K : int
        Number of components, >= 1.
    rng : numpy.random.Generator
        Source of randomness (which points become means).
    prior_std : float
        Starting standard deviation of each :math:`q(\\mu_k)`, > 0.

    Returns
    -------
    MixtureMeanField
        The starting factors.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "init_mixture_mean_field"
    x = check_vector(x, where)
    K = check_int("K", K, minimum=1, where=where)
    rng = check_rng(rng, where)
    s0 = check_scalar("prior_std", prior_std, where, positive=True)
    if K > x.size:
        raise ValidationError(f"{where}: `K` must be at most the number of points {x.size}; received {K}.")
    means = rng.choice(x, size=K, replace=False)
    return MixtureMeanField(np.full((x.size, K), 1.0 / K), means, np.full(K, s0**2))


@float64_guard
def mixture_update_assignments(x: Any, q: MixtureMeanField, noise_std: float) -> MixtureMeanField:
    """CAVI update of every :math:`q(c_i)` with :math:`q(\\mu)` fixed.

    .. math::

        \\varphi_{ik} \\propto w_k \\exp\\Big(\\frac{x_i\\, \\mathbb{E}[\\mu_k]}{\\sigma^2}
        - \\frac{\\mathbb{E}[\\mu_k^2]}{2\\sigma^2}\\Big), \\qquad \\mathbb{E}[\\mu_k^2] = m_k^2 + s_k^2.

    With point means (:math:`s_k^2 = 0`) this is the E-step of EM (:func:`vi_lib.e_step`) with
    every component variance :math:`\\sigma^2`.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    q : MixtureMeanField
        Current factors; the means, variances and weights are read.
    noise_std : float
        Known noise std :math:`\\sigma > 0`.

    Returns
    -------
    MixtureMeanField
        ``q`` with new responsibilities.

    References
    ----------
    blei2017variational (Eq. 26)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "mixture_update_assignments"
    x, q = _check_mix(x, q, where)
    var = check_scalar("noise_std", noise_std, where, positive=True) ** 2
    logits = (np.log(q.weights)[None, :]
              + (x[:, None] * q.means[None, :] - 0.5 * (q.means**2 + q.variances)[None, :]) / var)
    resp = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    return MixtureMeanField(resp, q.means, q.variances, q.weights)


@float64_guard
def mixture_update_means(x: Any, q: MixtureMeanField, prior_mean: float, prior_std: float, noise_std: float, *,
                         point: bool = False) -> MixtureMeanField:
    """CAVI update of every :math:`q(\\mu_k)` with the assignments fixed.

    .. math::

        s_k^2 = \\Big(\\frac{1}{s_0^2} + \\frac{\\sum_i \\varphi_{ik}}{\\sigma^2}\\Big)^{-1}, \\qquad
        m_k = s_k^2 \\Big(\\frac{m_0}{s_0^2} + \\frac{\\sum_i \\varphi_{ik} x_i}{\\sigma^2}\\Big).

    With ``point=True`` the means become point estimates: :math:`m_k` above is also the maximiser
    of :math:`\\mathbb{E}_{q(c)}[\\log p(x, c, \\mu)]` over :math:`\\mu_k` (the MAP M-step), and the
    variances are set to zero.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    q : MixtureMeanField
        Current factors; the responsibilities are read.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` and the known noise std :math:`\\sigma > 0`.
    point : bool
        Point estimates instead of Gaussian factors (variational EM).

    Returns
    -------
    MixtureMeanField
        ``q`` with new means and variances.

    References
    ----------
    blei2017variational (Eq. 34-35)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "mixture_update_means"
    x, q = _check_mix(x, q, where)
    m0, s0, sigma = _check_prior(prior_mean, prior_std, noise_std, where)
    prec = 1.0 / s0**2 + q.resp.sum(axis=0) / sigma**2
    means = (m0 / s0**2 + (q.resp * x[:, None]).sum(axis=0) / sigma**2) / prec
    variances = np.zeros_like(prec) if point else 1.0 / prec
    return MixtureMeanField(q.resp, means, variances, q.weights)


def mixture_update_weights(q: MixtureMeanField) -> MixtureMeanField:
    """Point-estimate M-step for the mixing weights: :math:`w_k = \\frac1n \\sum_i \\varphi_{ik}`.

    This maximises the ELBO over :math:`w` on the simplex (the only term with :math:`w` is
    :math:`\\sum_{ik} \\varphi_{ik} \\log w_k`), as EM's M-step does (:func:`vi_lib.m_step`). A weight
    is kept at least 1e-300 so that its logarithm stays finite.

    Parameters
    ----------
    q : MixtureMeanField
        Current factors; the responsibilities are read.

    Returns
    -------
    MixtureMeanField
        ``q`` with new weights.

    References
    ----------
    dempster1977maximum; neal1998view

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    if not isinstance(q, MixtureMeanField):
        raise ValidationError(f"mixture_update_weights: `q` must be a MixtureMeanField; received {type(q).__name__}.")
    w = np.maximum(q.resp.mean(axis=0), 1e-300)
    return MixtureMeanField(q.resp, q.means, q.variances, w / w.sum())


@float64_guard
def mixture_elbo(x: Any, q: MixtureMeanField, prior_mean: float, prior_std: float, noise_std: float) -> float:
    """The ELBO of the Bayesian mixture in nats, every constant kept.

    .. math::

        \\mathcal{L} &= \\sum_k \\mathbb{E}[\\log \\mathcal{N}(\\mu_k \\mid m_0, s_0^2)] \\\\
        &\\quad + \\sum_{i,k} \\varphi_{ik}\\big(\\log w_k
        + \\mathbb{E}[\\log \\mathcal{N}(x_i \\mid \\mu_k, \\sigma^2)]\\big) \\\\
        &\\quad - \\sum_{i,k} \\varphi_{ik} \\log \\varphi_{ik} + \\sum_k \\tfrac12 \\log(2\\pi e s_k^2),

    with :math:`\\mathbb{E}[(x_i - \\mu_k)^2] = (x_i - m_k)^2 + s_k^2`. It is at most
    :math:`\\log p(x)` (:func:`vi_lib.gmm_log_evidence_exact` for uniform weights). With point means
    the last sum (the entropy of the means' factors) is left out and the bound is on
    :math:`\\log p(x, \\hat\\mu)`, the objective of MAP-EM.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    q : MixtureMeanField
        The variational factors.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` and the known noise std :math:`\\sigma > 0`.

    Returns
    -------
    float
        The ELBO in nats.

    References
    ----------
    blei2017variational (Eq. 21); bishop2006pattern

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "mixture_elbo"
    x, q = _check_mix(x, q, where)
    m0, s0, sigma = _check_prior(prior_mean, prior_std, noise_std, where)
    m, v, r = q.means, q.variances, q.resp
    prior = np.sum(-0.5 * np.log(2.0 * np.pi * s0**2) - ((m - m0) ** 2 + v) / (2.0 * s0**2))
    sq = (x[:, None] - m[None, :]) ** 2 + v[None, :]
    lik = np.sum(r * (np.log(q.weights)[None, :] - 0.5 * np.log(2.0 * np.pi * sigma**2) - sq / (2.0 * sigma**2)))
    entropy_c = -np.sum(xlogy(r, r))
    entropy_mu = 0.0 if q.point_means else np.sum(0.5 * np.log(2.0 * np.pi * np.e * v))
    return float(prior + lik + entropy_c + entropy_mu)


def _mixture_fit(x, K, prior_mean, prior_std, noise_std, init, rng, max_iter, rtol, where, *, weights, point):
    x = check_vector(x, where)
    K = check_int("K", K, minimum=1, where=where)
    m0, s0, sigma = _check_prior(prior_mean, prior_std, noise_std, where)
    max_iter, rtol = _check_fit_controls(max_iter, rtol, where)
    if init is None:
        if rng is None:
            raise ValidationError(f"{where}: pass `init` (a MixtureMeanField) or `rng` (a numpy.random.Generator "
                                  "to draw one); received neither.")
        init = init_mixture_mean_field(x, K, rng, prior_std=s0)
    x, init = _check_mix(x, init, where, "init")
    if init.n_components != K:
        raise ValidationError(f"{where}: `init` must have K = {K} components; received {init.n_components}.")
    if point:
        init = MixtureMeanField(init.resp, init.means, np.zeros(K), init.weights)
    updates = [("q(c)", lambda q: mixture_update_assignments(x, q, sigma)),
               ("mu (point)" if point else "q(mu)",
                lambda q: mixture_update_means(x, q, m0, s0, sigma, point=point))]
    if weights:
        updates.append(("w (point)", mixture_update_weights))
    return run_cavi_sweeps(init, updates, lambda q: mixture_elbo(x, q, m0, s0, sigma), max_iter=max_iter, rtol=rtol)


@float64_guard
def fit_mixture_cavi(x: Any, K: int, prior_mean: float, prior_std: float, noise_std: float, *,
                     init: MixtureMeanField | None = None, rng: np.random.Generator | None = None,
                     max_iter: int = 500, rtol: float = 1e-10) -> CAVIResult:
    """CAVI for Chapter 1's Bayesian mixture (Blei, Kucukelbir & McAuliffe 2017, section 3).

    Each sweep updates every :math:`q(c_i)` (:func:`mixture_update_assignments`), then every
    :math:`q(\\mu_k)` (:func:`mixture_update_means`); the weights stay uniform.

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    K : int
        Number of components, >= 1.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` and the known noise std :math:`\\sigma > 0`.
    init : MixtureMeanField, optional
        Starting factors with K components; if omitted, drawn by :func:`init_mixture_mean_field`.
    rng : numpy.random.Generator, optional
        Needed when ``init`` is omitted.
    max_iter : int
        Maximum number of sweeps, >= 1.
    rtol : float
        Stop after a sweep that raises the ELBO by less than ``rtol * |ELBO|``; >= 0.

    Returns
    -------
    CAVIResult
        With ``update_names == ("q(c)", "q(mu)")``.

    References
    ----------
    blei2017variational (section 3)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    return _mixture_fit(x, K, prior_mean, prior_std, noise_std, init, rng, max_iter, rtol, "fit_mixture_cavi",
                        weights=False, point=False)


@float64_guard
def fit_mixture_vem(x: Any, K: int, prior_mean: float, prior_std: float, noise_std: float, *,
                    point_means: bool = False, init: MixtureMeanField | None = None,
                    rng: np.random.Generator | None = None, max_iter: int = 500, rtol: float = 1e-10) -> CAVIResult:
    """Variational EM for the mixture: the weights :math:`w` become point-estimated parameters.

    Each sweep updates :math:`q(c)`, then the means (Gaussian factors, or point estimates with
    ``point_means=True``), then :math:`w` (:func:`mixture_update_weights`). Every step maximises
    the same objective :func:`mixture_elbo`, so it cannot decrease. With point means and a flat
    prior (large ``prior_std``) the sweep is EM for a mixture with all variances fixed at
    :math:`\\sigma^2` (Chapter 3's EM).

    Parameters
    ----------
    x : array_like of shape (n,)
        Observations, finite; n >= 1.
    K : int
        Number of components, >= 1.
    prior_mean, prior_std, noise_std : float
        :math:`m_0`, :math:`s_0 > 0` and the known noise std :math:`\\sigma > 0`.
    point_means : bool
        Point estimates of the means instead of Gaussian factors.
    init : MixtureMeanField, optional
        Starting factors with K components (its weights are the starting :math:`w`); if omitted,
        drawn by :func:`init_mixture_mean_field`.
    rng : numpy.random.Generator, optional
        Needed when ``init`` is omitted.
    max_iter : int
        Maximum number of sweeps, >= 1.
    rtol : float
        Stop after a sweep that raises the objective by less than ``rtol * |objective|``; >= 0.

    Returns
    -------
    CAVIResult
        With ``update_names`` ``("q(c)", "q(mu)", "w (point)")`` or ``("q(c)", "mu (point)", "w (point)")``.

    References
    ----------
    neal1998view; dempster1977maximum; blei2017variational

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    point_means = check_bool("point_means", point_means, where="fit_mixture_vem")
    return _mixture_fit(x, K, prior_mean, prior_std, noise_std, init, rng, max_iter, rtol, "fit_mixture_vem",
                        weights=True, point=bool(point_means))



# ---------------------------------------------------------------------------------------------
# A Gaussian target N(mu, Lambda^{-1}) fitted by a fully factorised Gaussian
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagonalGaussianFactors:
    """Fully factorised Gaussian :math:`q(z) = \\prod_i \\mathcal{N}(z_i \\mid m_i, v_i)`.

    Parameters
    ----------
    means : array of shape (d,)
        :math:`m`, finite.
    variances : array of shape (d,)
        :math:`v > 0`.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self) -> None:
        where = "DiagonalGaussianFactors"
        m = check_finite("means", as_array("means", self.means, ndim=1, where=where), where=where)
        v = as_array("variances", self.variances, ndim=1, where=where)
        if v.shape != m.shape or m.size < 1:
            raise ValidationError(f"{where}: `variances` must have the shape of `means` {m.shape} (d >= 1); "
                                  f"received shape {v.shape}.")
        v = np.atleast_1d(check_positive("variances", v, where=where))
        object.__setattr__(self, "means", m.copy())
        object.__setattr__(self, "variances", v.copy())


def _check_gauss_target(mean: Any, cov: Any, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu = check_finite("mean", as_array("mean", mean, ndim=1, where=where), where=where)
    cov = check_positive_definite("cov", cov, where=where)
    if cov.shape != (mu.size, mu.size):
        raise ValidationError(f"{where}: `cov` must have shape ({mu.size}, {mu.size}) to match `mean`; "
                              f"received shape {cov.shape}.")
    return mu, cov, np.linalg.inv(cov)


def _gaussian_coordinate(i: int, q: DiagonalGaussianFactors, mu: np.ndarray,
                         prec: np.ndarray) -> DiagonalGaussianFactors:
    means = q.means.copy()
    variances = q.variances.copy()
    others = np.arange(mu.size) != i
    means[i] = mu[i] - prec[i, others] @ (means[others] - mu[others]) / prec[i, i]
    variances[i] = 1.0 / prec[i, i]
    return DiagonalGaussianFactors(means, variances)


def gaussian_update_coordinate(i: int, q: DiagonalGaussianFactors, mean: Any, cov: Any) -> DiagonalGaussianFactors:
    """CAVI update of :math:`q(z_i)` for the target :math:`\\mathcal{N}(\\mu, \\Lambda^{-1})`.

    :math:`\\mathbb{E}_{-i}[\\log p(z)]` is quadratic in :math:`z_i` with curvature :math:`\\Lambda_{ii}`:

    .. math::

        q^*(z_i) = \\mathcal{N}\\Big(\\mu_i - \\Lambda_{ii}^{-1} \\sum_{j \\ne i} \\Lambda_{ij}(m_j - \\mu_j),\\;
        \\Lambda_{ii}^{-1}\\Big).

    The variance is the conditional variance :math:`1/\\Lambda_{ii}`, never larger than the
    marginal :math:`\\Sigma_{ii}` (Chapter 2).

    Parameters
    ----------
    i : int
        The coordinate to update, ``0 <= i < d``.
    q : DiagonalGaussianFactors
        Current factors.
    mean : array_like of shape (d,)
        :math:`\\mu`, the target's mean.
    cov : array_like of shape (d, d)
        :math:`\\Sigma = \\Lambda^{-1}`, the target's covariance (symmetric positive definite).

    Returns
    -------
    DiagonalGaussianFactors
        ``q`` with factor i replaced.

    References
    ----------
    bishop2006pattern (Eq. 10.12-10.13)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "gaussian_update_coordinate"
    mu, _, prec = _check_gauss_target(mean, cov, where)
    if not isinstance(q, DiagonalGaussianFactors) or q.means.size != mu.size:
        raise ValidationError(f"{where}: `q` must be DiagonalGaussianFactors of dimension {mu.size}; received "
                              f"{describe(q) if not isinstance(q, DiagonalGaussianFactors) else q.means.size}.")
    i = check_int("i", i, minimum=0, where=where)
    if i >= mu.size:
        raise ValidationError(f"{where}: `i` must be below the dimension {mu.size}; received {i}.")
    return _gaussian_coordinate(i, q, mu, prec)


@float64_guard
def fit_gaussian_cavi(mean: Any, cov: Any, init: DiagonalGaussianFactors, *, max_iter: int = 1000,
                      rtol: float = 0.0, atol: float = 1e-12) -> CAVIResult:
    """CAVI for a Gaussian target: update :math:`q(z_1), \\dots, q(z_d)` in turn.

    The target is normalised, so the ELBO is :math:`-\\mathrm{KL}(q \\,\\|\\, \\mathcal{N}(\\mu, \\Sigma))`
    (computed by :func:`vi_lib.kl_mvn`), and the fixed point is Chapter 2's
    :func:`vi_lib.mean_field_gaussian_reverse`. In two dimensions with correlation :math:`\\rho` the
    error of the means shrinks by a factor :math:`\\rho^2` per sweep.

    Parameters
    ----------
    mean : array_like of shape (d,)
        :math:`\\mu`, the target's mean.
    cov : array_like of shape (d, d)
        :math:`\\Sigma`, the target's covariance (symmetric positive definite).
    init : DiagonalGaussianFactors
        Starting factors of dimension d.
    max_iter : int
        Maximum number of sweeps, >= 1.
    rtol : float
        Relative stopping tolerance on the ELBO increase of a sweep, >= 0.
    atol : float
        Also stop once a sweep raises the ELBO by less than ``atol`` nats (the ELBO tends to 0 here,
        so a relative tolerance alone never triggers), >= 0.

    Returns
    -------
    CAVIResult
        With ``update_names == ("q(z_1)", ..., "q(z_d)")``.

    References
    ----------
    bishop2006pattern (section 10.1.2)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "fit_gaussian_cavi"
    mu, cov, prec = _check_gauss_target(mean, cov, where)
    if not isinstance(init, DiagonalGaussianFactors) or init.means.size != mu.size:
        got = describe(init) if not isinstance(init, DiagonalGaussianFactors) else init.means.size
        raise ValidationError(f"{where}: `init` must be DiagonalGaussianFactors of dimension {mu.size}; "
                              f"received {got}.")
    max_iter, rtol = _check_fit_controls(max_iter, rtol, where)
    atol = check_positive("atol", atol, allow_zero=True, where=where)
    updates = [(f"q(z_{i + 1})", lambda q, i=i: _gaussian_coordinate(i, q, mu, prec)) for i in range(mu.size)]
    return run_cavi_sweeps(init, updates, lambda q: -kl_mvn(q.means, np.diag(q.variances), mu, cov),
                           max_iter=max_iter, rtol=rtol, atol=atol)
