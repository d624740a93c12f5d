"""The evidence lower bound (ELBO): closed forms, Monte Carlo estimators and grid quadrature.

Sign convention: every function here returns **+ELBO**, a lower bound on :math:`\\log p(x)` in
nats. A loss to minimise is ``-elbo``; nothing here returns a loss.

.. math::

    \\mathrm{ELBO}(q) = \\mathbb{E}_{q(z)}[\\log p(x, z) - \\log q(z)]
    = \\log p(x) - \\mathrm{KL}(q(z) \\,\\|\\, p(z \\mid x)).

Explained in Chapter: The ELBO, derived two ways and checked to machine precision (chapters/elbo.ipynb).

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.special import logsumexp

from .._validation import (
    ValidationError,
    as_array,
    call_user,
    check_callable,
    check_finite,
    check_int,
    check_positive,
    check_rng,
    check_vector,
    describe,
    float64_guard,
)
from ..families.divergences import kl_normal
from ..families.gaussian import GaussianQ
from ..models.conjugate import NormalNormal

__all__ = [
    "ELBOTerms",
    "MonteCarloEstimate",
    "elbo_terms_normal_normal",
    "elbo_normal_normal",
    "elbo_monte_carlo",
    "elbo_monte_carlo_entropy_form",
    "elbo_monte_carlo_kl_form",
    "elbo_decomposition_grid",
    "elbo_gaussian_grid",
    "squared_mean_log_joint",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



@dataclass(frozen=True)
class ELBOTerms:
    """The pieces of the ELBO for a Gaussian q in the Normal-Normal model (all in nats).

    Attributes
    ----------
    expected_log_likelihood : float or numpy.ndarray
        :math:`\\mathbb{E}_q[\\log p(x \\mid z)]`, the "reconstruction" term.
    kl_to_prior : float or numpy.ndarray
        :math:`\\mathrm{KL}(q(z) \\,\\|\\, p(z)) \\ge 0`, the "regularisation" term.
    expected_log_prior : float or numpy.ndarray
        :math:`\\mathbb{E}_q[\\log p(z)]`.
    entropy : float or numpy.ndarray
        :math:`H[q] = -\\mathbb{E}_q[\\log q(z)]`; enters the ELBO with a plus sign.
    """

    expected_log_likelihood: Any
    kl_to_prior: Any
    expected_log_prior: Any
    entropy: Any

    @property
    def reconstruction_form(self) -> Any:
        """ELBO as expected log-likelihood minus KL to the prior."""
        return self.expected_log_likelihood - self.kl_to_prior

    @property
    def entropy_form(self) -> Any:
        """ELBO as expected log-joint plus entropy."""
        return self.expected_log_likelihood + self.expected_log_prior + self.entropy



class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo estimate with its standard error.

    Attributes
    ----------
    estimate : float
        The sample mean of the n summands.
    standard_error : float
        Their sample standard deviation over :math:`\\sqrt n`, >= 0.
    """

    estimate: float
    standard_error: float



def _check_model(model: object, where: str) -> NormalNormal:
    if not isinstance(model, NormalNormal):
        raise ValidationError(f"{where}: `model` must be a NormalNormal; received {type(model).__name__}.")
    return model



@float64_guard
def elbo_terms_normal_normal(q_mean: Any, q_std: Any, model: NormalNormal, x: np.ndarray) -> ELBOTerms:
    """Closed-form ELBO terms for :math:`q(\\mu) = \\mathcal{N}(m, s^2)` in the Normal-Normal model.

    For the model :math:`\\mu \\sim \\mathcal{N}(\\mu_0, \\sigma_0^2)`,
    :math:`x_i \\mid \\mu \\sim \\mathcal{N}(\\mu, \\sigma^2)`, i = 1..n, with
    :math:`\\bar x` the sample mean,

    .. math::

        \\mathbb{E}_q[\\log p(x \\mid \\mu)] &= -\\frac{n}{2}\\log(2\\pi\\sigma^2)
            - \\frac{\\sum_i (x_i - \\bar x)^2 + n(\\bar x - m)^2 + n s^2}{2\\sigma^2}, \\\\
        \\mathbb{E}_q[\\log p(\\mu)] &= -\\frac12\\log(2\\pi\\sigma_0^2)
            - \\frac{(m - \\mu_0)^2 + s^2}{2\\sigma_0^2}, \\\\
        H[q] &= \\frac12 \\log(2\\pi e s^2),

    and :math:`\\mathrm{KL}(q \\,\\|\\, p(\\mu)) = -\\mathbb{E}_q[\\log p(\\mu)] - H[q]`, computed
    independently with :func:`vi_lib.families.divergences.kl_normal`.

    ``q_mean`` and ``q_std`` may be arrays that broadcast together (e.g. a grid for a contour
    plot); the terms then have the broadcast shape.

    Parameters
    ----------
    q_mean : float or numpy.ndarray
        Mean(s) m of q, finite.
    q_std : float or numpy.ndarray
        Standard deviation(s) s of q, finite and positive.
    model : NormalNormal
        The conjugate model.
    x : array of shape (n,)
        Observations, finite, at least one.

    Returns
    -------
    ELBOTerms
        The four terms; ``.reconstruction_form`` and ``.entropy_form`` give the ELBO.

    References
    ----------
    blei2017variational; bishop2006pattern (Section 10.1).

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "elbo_terms_normal_normal"
    m = check_finite("q_mean", q_mean, where=where)
    s = np.asarray(check_positive("q_std", q_std, where=where), dtype=float)
    model = _check_model(model, where)
    x = check_vector(x, where)
    try:
        m, s = np.broadcast_arrays(m, s)
    except ValueError:
        raise ValidationError(f"{where}: `q_std` must broadcast against `q_mean` {m.shape}; "
                              f"received {describe(s)}.") from None
    n = x.size
    xbar = float(x.mean())
    ss = float(np.sum((x - xbar) ** 2))
    noise_var = model.noise_std**2
    prior_var = model.prior_std**2
    ell = -0.5 * n * (_LOG_2PI + np.log(noise_var)) - (ss + n * (xbar - m) ** 2 + n * s**2) / (2.0 * noise_var)
    elp = -0.5 * (_LOG_2PI + np.log(prior_var)) - ((m - model.prior_mean) ** 2 + s**2) / (2.0 * prior_var)
    ent = 0.5 * (_LOG_2PI + 1.0) + np.log(s)
    kl = kl_normal(m, s, model.prior_mean, model.prior_std)  # broadcasts; a float for scalar q
    if m.ndim == 0:
        return ELBOTerms(float(ell), float(kl), float(elp), float(ent))
    return ELBOTerms(ell, kl, elp, ent)



def elbo_normal_normal(q_mean: Any, q_std: Any, model: NormalNormal, x: np.ndarray, *,
                       form: str = "kl") -> Any:
    """Closed-form +ELBO of :math:`q(\\mu) = \\mathcal{N}(m, s^2)` in the Normal-Normal model.

    .. math::

        \\mathrm{ELBO}(q) = \\underbrace{\\mathbb{E}_q[\\log p(x \\mid \\mu)]
            - \\mathrm{KL}(q(\\mu) \\,\\|\\, p(\\mu))}_{\\texttt{form="kl"}}
        = \\underbrace{\\mathbb{E}_q[\\log p(x, \\mu)] + H[q]}_{\\texttt{form="entropy"}}.

    The two forms are algebraically equal; they are computed from separate formulas (see
    :func:`elbo_terms_normal_normal`) so that their agreement is a check.

    Parameters
    ----------
    q_mean : float or numpy.ndarray
        Mean(s) of q, finite.
    q_std : float or numpy.ndarray
        Standard deviation(s) of q, finite and positive; broadcasts against ``q_mean``.
    model : NormalNormal
        The conjugate model.
    x : array of shape (n,)
        Observations, finite, at least one.
    form : {"kl", "entropy"}
        Which decomposition to evaluate.

    Returns
    -------
    float or numpy.ndarray
        +ELBO in nats (a float for scalar q parameters).

    References
    ----------
    blei2017variational; kingma2014autoencoding.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    if form not in ("kl", "entropy"):
        raise ValidationError(f"elbo_normal_normal: `form` must be 'kl' or 'entropy'; received {form!r}.")
    terms = elbo_terms_normal_normal(q_mean, q_std, model, x)
    return terms.reconstruction_form if form == "kl" else terms.entropy_form



def _draw(sample_q: Callable, n: int, rng: np.random.Generator, where: str) -> np.ndarray:
    z = np.asarray(sample_q(n, rng))
    if z.ndim < 1 or z.shape[0] != n:
        raise ValidationError(f"{where}: `sample_q(n, rng)` must return an array with n={n} rows; "
                              f"received {describe(z)}.")
    return z



def _evaluate(name: str, fn: Callable, z: np.ndarray, n: int, where: str) -> np.ndarray:
    vals = np.asarray(call_user(fn, z), dtype=float)
    if vals.shape != (n,):
        raise ValidationError(f"{where}: `{name}(z)` must return an array of shape ({n},); "
                              f"received {describe(vals)}.")
    if not np.all(np.isfinite(vals)):
        raise ValidationError(f"{where}: `{name}(z)` must be finite at every sample; "
                              f"received {describe(vals)}.")
    return vals



def _mean_and_se(vals: np.ndarray) -> MonteCarloEstimate:
    return MonteCarloEstimate(float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(vals.size)))



def elbo_monte_carlo(log_joint: Callable[[np.ndarray], np.ndarray],
                     sample_q: Callable[[int, np.random.Generator], np.ndarray],
                     log_q: Callable[[np.ndarray], np.ndarray], n: int,
                     rng: np.random.Generator) -> MonteCarloEstimate:
    """Plain Monte Carlo estimate of +ELBO with its standard error.

    .. math::

        \\widehat{\\mathrm{ELBO}} = \\frac1n \\sum_{j=1}^n \\big[\\log p(x, z_j) - \\log q(z_j)\\big],
        \\qquad z_j \\sim q,

    which is unbiased; the standard error is the sample standard deviation of the summands
    divided by :math:`\\sqrt n`. When q is the exact posterior every summand equals
    :math:`\\log p(x)` and the standard error is zero up to rounding.

    Parameters
    ----------
    log_joint : callable
        ``log_joint(z)`` returns :math:`\\log p(x, z_j)` for each of the n samples, shape (n,)
        (the data x are bound inside the callable).
    sample_q : callable
        ``sample_q(n, rng)`` returns n samples from q, an array with n rows.
    log_q : callable
        ``log_q(z)`` returns :math:`\\log q(z_j)`, shape (n,).
    n : int
        Number of samples, at least 2 (needed for a standard error).
    rng : numpy.random.Generator
        Source of randomness, passed to ``sample_q``.

    Returns
    -------
    MonteCarloEstimate
        ``(estimate, standard_error)`` of +ELBO in nats.

    Raises
    ------
    ValidationError
        On bad arguments, or if a callable returns the wrong shape or a non-finite value.

    References
    ----------
    ranganath2014black; blei2017variational.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "elbo_monte_carlo"
    for name, fn in (("log_joint", log_joint), ("sample_q", sample_q), ("log_q", log_q)):
        check_callable(name, fn, where)
    n = check_int("n", n, minimum=2, where=where)
    check_rng(rng, where)
    z = _draw(sample_q, n, rng, where)
    return _mean_and_se(_evaluate("log_joint", log_joint, z, n, where) - _evaluate("log_q", log_q, z, n, where))



def elbo_monte_carlo_entropy_form(log_joint: Callable[[np.ndarray], np.ndarray],
                                  sample_q: Callable[[int, np.random.Generator], np.ndarray],
                                  entropy: float, n: int, rng: np.random.Generator) -> MonteCarloEstimate:
    """+ELBO as a Monte Carlo estimate of :math:`\\mathbb{E}_q[\\log p(x, z)]` plus the exact entropy.

    .. math::

        \\widehat{\\mathrm{ELBO}} = \\frac1n \\sum_{j=1}^n \\log p(x, z_j) + H[q],
        \\qquad H[q] = -\\mathbb{E}_q[\\log q(z)].

    Parameters
    ----------
    log_joint : callable
        ``log_joint(z)`` returns :math:`\\log p(x, z_j)`, shape (n,).
    sample_q : callable
        ``sample_q(n, rng)`` returns n samples from q.
    entropy : float
        The exact entropy :math:`H[q]` in nats (finite; may be negative for a narrow density).
    n : int
        Number of samples, at least 2.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    MonteCarloEstimate
        ``(estimate, standard_error)`` of +ELBO in nats.

    References
    ----------
    kucukelbir2017automatic; blei2017variational.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "elbo_monte_carlo_entropy_form"
    check_callable("log_joint", log_joint, where)
    check_callable("sample_q", sample_q, where)
    h = check_finite("entropy", entropy, where=where)
    if h.ndim != 0:
        raise ValidationError(f"{where}: `entropy` must be a scalar; received {describe(h)}.")
    n = check_int("n", n, minimum=2, where=where)
    check_rng(rng, where)
    z = _draw(sample_q, n, rng, where)
    est = _mean_and_se(_evaluate("log_joint", log_joint, z, n, where))
    return MonteCarloEstimate(est.estimate + float(h), est.standard_error)



def elbo_monte_carlo_kl_form(log_likelihood: Callable[[np.ndarray], np.ndarray],
                             sample_q: Callable[[int, np.random.Generator], np.ndarray],
                             kl_to_prior: float, n: int, rng: np.random.Generator) -> MonteCarloEstimate:
    """+ELBO as a Monte Carlo reconstruction term minus the exact KL to the prior.

    .. math::

        \\widehat{\\mathrm{ELBO}} = \\frac1n \\sum_{j=1}^n \\log p(x \\mid z_j)
        - \\mathrm{KL}(q(z) \\,\\|\\, p(z)),

    the form used by the variational autoencoder when the KL is available in closed form.

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(z)`` returns :math:`\\log p(x \\mid z_j)`, shape (n,).
    sample_q : callable
        ``sample_q(n, rng)`` returns n samples from q.
    kl_to_prior : float
        The exact :math:`\\mathrm{KL}(q \\,\\|\\, p(z))` in nats, finite and non-negative.
    n : int
        Number of samples, at least 2.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    MonteCarloEstimate
        ``(estimate, standard_error)`` of +ELBO in nats.

    References
    ----------
    kingma2014autoencoding.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "elbo_monte_carlo_kl_form"
    check_callable("log_likelihood", log_likelihood, where)
    check_callable("sample_q", sample_q, where)
    kl = check_positive("kl_to_prior", kl_to_prior, allow_zero=True, where=where)
    if not isinstance(kl, float):
        raise ValidationError(f"{where}: `kl_to_prior` must be a scalar; received {describe(kl)}.")
    n = check_int("n", n, minimum=2, where=where)
    check_rng(rng, where)
    z = _draw(sample_q, n, rng, where)
    est = _mean_and_se(_evaluate("log_likelihood", log_likelihood, z, n, where))
    return MonteCarloEstimate(est.estimate - kl, est.standard_error)



def _check_grid(grid: object, where: str) -> tuple[np.ndarray, float]:
    g = as_array("grid", grid, ndim=1, where=where)
    g = check_finite("grid", g, where=where)
    if g.size < 3:
        raise ValidationError(f"{where}: `grid` must have at least 3 points; received {describe(g)}.")
    dz = np.diff(g)
    h = float(dz.mean())
    if h <= 0 or not np.allclose(dz, h, rtol=1e-8, atol=0.0):
        raise ValidationError(f"{where}: `grid` must be increasing and evenly spaced; "
                              f"received {describe(g)}.")
    return g, h



def elbo_decomposition_grid(log_joint: Callable[[np.ndarray], np.ndarray],
                            log_q: Callable[[np.ndarray], np.ndarray],
                            grid: np.ndarray) -> tuple[float, float, float]:
    """ELBO, KL to the posterior and log-evidence of a 1-D model by quadrature on a grid.

    With the (unnormalised) posterior :math:`p(x, z)` and a density q on an evenly spaced grid
    of spacing h that covers both,

    .. math::

        \\log p(x) &\\approx \\log \\sum_j h\\, p(x, z_j), \\\\
        \\mathrm{ELBO}(q) &\\approx \\sum_j h\\, q(z_j) [\\log p(x, z_j) - \\log q(z_j)],

    and :math:`\\mathrm{KL}(q \\,\\|\\, p(z \\mid x)) \\approx \\sum_j h\\, q(z_j)
    [\\log q(z_j) - \\log p(x, z_j) + \\log p(x)]`. For smooth integrands that vanish at both
    ends this rule converges faster than any power of h, so a fine grid gives near machine
    precision; the identity ``log_evidence == elbo + kl`` then holds to rounding.

    Parameters
    ----------
    log_joint : callable
        ``log_joint(z)`` for an array of grid points, returning :math:`\\log p(x, z)`, same shape.
    log_q : callable
        ``log_q(z)`` returning :math:`\\log q(z)`, same shape.
    grid : array of shape (G,)
        Increasing, evenly spaced points (G >= 3) covering q and the posterior.

    Returns
    -------
    tuple of float
        ``(elbo, kl, log_evidence)`` in nats.

    Raises
    ------
    ValidationError
        On a malformed grid, non-finite callable output, or a grid that does not cover q or the
        posterior (mass of q on the grid differs from 1 by more than 1e-8, or the posterior
        density at an end point exceeds 1e-12 of its maximum).

    References
    ----------
    blei2017variational.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    return _elbo_decomposition_grid(log_joint, log_q, grid, "elbo_decomposition_grid")



def _elbo_decomposition_grid(log_joint: Callable[[np.ndarray], np.ndarray], log_q: Callable[[np.ndarray], np.ndarray],
                             grid: np.ndarray, where: str, q_desc: str = "q") -> tuple[float, float, float]:
    check_callable("log_joint", log_joint, where)
    check_callable("log_q", log_q, where)
    g, h = _check_grid(grid, where)
    lj = _evaluate("log_joint", log_joint, g, g.size, where)
    lq = _evaluate("log_q", log_q, g, g.size, where)
    log_z = float(logsumexp(lj) + np.log(h))
    if max(lj[0], lj[-1]) - lj.max() > np.log(1e-12):
        raise ValidationError(f"{where}: `grid` must cover the posterior; its density at an end point "
                              f"is {np.exp(max(lj[0], lj[-1]) - lj.max()):.3g} of its maximum.")
    qz = np.exp(lq)
    mass = float(qz.sum() * h)
    if abs(mass - 1.0) > 1e-8:
        raise ValidationError(f"{where}: `grid` must cover {q_desc}; q integrates to {mass:.10f} on it.")
    elbo = float(np.sum(qz * (lj - lq)) * h)
    kl = float(np.sum(qz * (lq - lj + log_z)) * h)
    return elbo, kl, log_z



@float64_guard
def elbo_gaussian_grid(q_mean: float, q_std: float, log_joint: Callable[[np.ndarray], np.ndarray],
                       grid: np.ndarray) -> float:
    """+ELBO of :math:`q = \\mathcal{N}(m, s^2)` for a 1-D model by grid quadrature.

    A convenience wrapper of :func:`elbo_decomposition_grid` with a :class:`GaussianQ`, in the
    ``(mean, std)`` signature that :func:`fit_gaussian_q` expects.

    Parameters
    ----------
    q_mean : float
        Mean of q.
    q_std : float
        Standard deviation of q, positive.
    log_joint : callable
        ``log_joint(z)`` returning :math:`\\log p(x, z)` at grid points.
    grid : array of shape (G,)
        Evenly spaced grid covering q and the posterior.

    Returns
    -------
    float
        +ELBO in nats.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "elbo_gaussian_grid"
    m = check_finite("q_mean", q_mean, where=where)
    s = check_positive("q_std", q_std, where=where)
    for name, v in (("q_mean", m), ("q_std", s)):
        if np.ndim(v) != 0:
            raise ValidationError(f"{where}: `{name}` must be a scalar; received {describe(v)}.")
    q = GaussianQ(float(m), float(s))
    q_desc = f"q = N(`q_mean`, `q_std`^2) with q_mean={q.mean!r}, q_std={q.std!r}"
    return _elbo_decomposition_grid(log_joint, q.log_prob, grid, where, q_desc)[0]



@float64_guard
def squared_mean_log_joint(z: np.ndarray, x: np.ndarray, *, prior_std: float = 1.0,
                           noise_std: float = 0.5) -> np.ndarray:
    """Log-joint of a toy non-conjugate model whose posterior is bimodal.

    .. math::

        z \\sim \\mathcal{N}(0, \\sigma_0^2), \\qquad x_i \\mid z \\sim \\mathcal{N}(z^2, \\sigma^2),

    so only :math:`z^2` is identified and the posterior is symmetric about zero with two modes
    near :math:`\\pm\\sqrt{\\bar x}` when :math:`\\bar x` is large enough.

    Parameters
    ----------
    z : numpy.ndarray
        Latent values, finite, any shape.
    x : array of shape (n,)
        Observations, finite, at least one.
    prior_std : float
        Prior standard deviation, positive.
    noise_std : float
        Observation noise standard deviation, positive.

    Returns
    -------
    numpy.ndarray
        :math:`\\log p(x, z)` with the shape of ``z``.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "squared_mean_log_joint"
    z = check_finite("z", z, where=where)
    x = check_vector(x, where)
    s0 = check_positive("prior_std", prior_std, where=where)
    s = check_positive("noise_std", noise_std, where=where)
    log_prior = -0.5 * (_LOG_2PI + 2.0 * np.log(s0)) - 0.5 * (z / s0) ** 2
    resid = x.reshape((1,) * z.ndim + (-1,)) - (z**2)[..., None]
    log_lik = np.sum(-0.5 * (_LOG_2PI + 2.0 * np.log(s)) - 0.5 * (resid / s) ** 2, axis=-1)
    return log_prior + log_lik
