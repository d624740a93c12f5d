"""Fitting a Gaussian ``q`` to a target by forward or reverse KL, or by maximising an ELBO.

* 1-D: a Gaussian fitted to a Gaussian mixture by forward KL (moment matching) or reverse KL
  (quadrature and BFGS, with its gradient, Hessian and stationary points), and the two KL
  integrands on a grid (explained in chapters/kl_divergence.ipynb);
* 2-D: the mean-field Gaussian closest to a correlated Gaussian in either direction, in closed form
  and numerically (explained in chapters/kl_divergence.ipynb);
* :func:`fit_gaussian_q`: a 1-D Gaussian ``q`` maximising any ELBO function of its mean and standard
  deviation (explained in chapters/elbo.ipynb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import minimize, root

from .._validation import (
    ValidationError,
    as_array,
    call_user,
    check_callable,
    check_finite,
    check_int,
    check_positive,
    check_positive_definite,
    check_scalar,
    check_shape,
    describe,
    float64_guard,
)
from ..families.divergences import entropy_normal, kl_mvn
from ..models.mixture import _check_mixture, _log_pdf_and_dlog

__all__ = [
    "ReverseKLFit",
    "MeanFieldFit",
    "fit_forward_kl_gaussian",
    "reverse_kl_to_mixture",
    "reverse_kl_gradient",
    "reverse_kl_hessian",
    "fit_reverse_kl_gaussian",
    "reverse_kl_stationary_point",
    "kl_integrands",
    "mean_field_gaussian_reverse",
    "mean_field_gaussian_forward",
    "fit_mean_field_gaussian",
    "GaussianFit",
    "fit_gaussian_q",
]


@dataclass(frozen=True)
class ReverseKLFit:
    """Result of :func:`fit_reverse_kl_gaussian` or :func:`reverse_kl_stationary_point`.

    Attributes
    ----------
    mean : float
        Mean of the Gaussian q.
    std : float
        Standard deviation of q, > 0.
    kl : float
        Reverse KL :math:`\\mathrm{KL}(q \\,\\|\\, p)` at (mean, std), nats.
    converged : bool
        Whether the gradient norm fell below 1e-6.
    """

    mean: float
    std: float
    kl: float
    converged: bool



@dataclass(frozen=True)
class MeanFieldFit:
    """Result of :func:`fit_mean_field_gaussian`.

    Attributes
    ----------
    mean : numpy.ndarray of shape (d,)
        Means of the factorised Gaussian q.
    var : numpy.ndarray of shape (d,)
        Variances of q, > 0.
    kl : float
        The minimised KL (in the direction asked for), nats.
    converged : bool
        Whether the gradient norm at the optimum is below 1e-8.
    """

    mean: np.ndarray
    var: np.ndarray
    kl: float
    converged: bool



@float64_guard
def fit_forward_kl_gaussian(weights: Any, means: Any, stds: Any) -> tuple[float, float]:
    r"""Minimiser of the forward KL :math:`\mathrm{KL}(p \,\|\, q)` over Gaussians :math:`q`: moment matching.

    .. math::

        \mu^\star = \sum_k w_k m_k, \qquad
        (\sigma^\star)^2 = \sum_k w_k (s_k^2 + m_k^2) - (\mu^\star)^2.

    Parameters
    ----------
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.

    Returns
    -------
    tuple of float
        ``(mean, std)`` of the optimal Gaussian.

    References
    ----------
    minka2005divergence, bishop2006pattern
    """
    w, m, s = _check_mixture(weights, means, stds, "fit_forward_kl_gaussian")
    mu = float(np.sum(w * m))
    var = float(np.sum(w * (s**2 + (m - mu) ** 2)))
    return mu, float(np.sqrt(var))



def _gl(n_panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardised nodes ``t`` and weights (summing to 1) for expectations under N(0, 1).

    Composite 8-point Gauss-Legendre on ``[-12, 12]`` with ``n_panels`` panels, weights times the
    standard normal density (the tail mass beyond 12 sd, about 1e-32, is dropped).
    """
    t8, w8 = np.polynomial.legendre.leggauss(8)
    edges = np.linspace(-12.0, 12.0, n_panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    t = (mid[:, None] + half[:, None] * t8).ravel()
    w = (half[:, None] * w8).ravel() * np.exp(-0.5 * t**2) / np.sqrt(2.0 * np.pi)
    return t, w



@float64_guard
def reverse_kl_to_mixture(mean: float, std: float, weights: Any, means: Any, stds: Any, *,
                          n_panels: int = 400) -> float:
    r"""Reverse KL :math:`\mathrm{KL}(q \,\|\, p)` from :math:`q = \mathcal{N}(\mu, \sigma^2)` to a 1-D mixture.

    .. math::

        \mathrm{KL}(q \,\|\, p) = -H[q] - \mathbb{E}_q[\log p(x)], \qquad
        H[q] = \tfrac12 \log(2\pi e \sigma^2),

    with the expectation computed by composite 8-point Gauss-Legendre quadrature with ``n_panels``
    panels on :math:`[\mu - 12\sigma, \mu + 12\sigma]`. Against adaptive quadrature the error is
    about 1e-14 when :math:`\sigma` is within a few times the component standard deviations and
    grows when :math:`q` is much wider (about 1e-7 at :math:`\sigma = 40 s_k`); plain Gauss-Hermite
    converges slowly here because :math:`\log p` bends sharply between modes.

    Parameters
    ----------
    mean : float
        Mean of :math:`q`.
    std : float
        Standard deviation of :math:`q`, > 0.
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    n_panels : int
        Number of quadrature panels (>= 2), each with 8 nodes.

    Returns
    -------
    float
        The divergence in nats.

    References
    ----------
    minka2005divergence, blei2017variational
    """
    where = "reverse_kl_to_mixture"
    w, m, s = _check_mixture(weights, means, stds, where)
    mean = check_scalar("mean", mean, where)
    std = check_scalar("std", std, where, positive=True)
    n_panels = check_int("n_panels", n_panels, minimum=2, where=where)
    t, wt = _gl(n_panels)
    lp, _ = _log_pdf_and_dlog(mean + std * t, w, m, s)
    return float(-entropy_normal(std) - wt @ lp)



@float64_guard
def reverse_kl_gradient(mean: float, std: float, weights: Any, means: Any, stds: Any, *,
                        n_panels: int = 400) -> np.ndarray:
    r"""Gradient of :func:`reverse_kl_to_mixture` with respect to ``(mean, log std)``.

    With :math:`g(x) = -\frac{\dd}{\dd x}\log p(x)` and :math:`x = \mu + \sigma \epsilon`,
    the derivatives are :math:`\mathbb{E}_q[g(x)]` and :math:`\mathbb{E}_q[g(x)(x - \mu)] - 1`.

    Parameters
    ----------
    mean, std : float
        Parameters of :math:`q` (``std`` > 0).
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    n_panels : int
        Number of quadrature panels.

    Returns
    -------
    ndarray, shape (2,)
        The gradient.
    """
    where = "reverse_kl_gradient"
    w, m, s = _check_mixture(weights, means, stds, where)
    mean = check_scalar("mean", mean, where)
    std = check_scalar("std", std, where, positive=True)
    n_panels = check_int("n_panels", n_panels, minimum=2, where=where)
    t, wt = _gl(n_panels)
    _, dlog = _log_pdf_and_dlog(mean + std * t, w, m, s)
    g = -dlog
    return np.array([wt @ g, wt @ (g * std * t) - 1.0])



@float64_guard
def reverse_kl_hessian(mean: float, std: float, weights: Any, means: Any, stds: Any, *,
                       step: float = 1e-5) -> np.ndarray:
    """Hessian of the reverse KL in ``(mean, log std)`` by central differences of the exact gradient.

    Parameters
    ----------
    mean, std : float
        Parameters of :math:`q` (``std`` > 0).
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    step : float
        Finite-difference step (> 0).

    Returns
    -------
    ndarray, shape (2, 2)
        The symmetrised Hessian; its eigenvalues classify a stationary point.
    """
    where = "reverse_kl_hessian"
    _check_mixture(weights, means, stds, where)
    mean = check_scalar("mean", mean, where)
    std = check_scalar("std", std, where, positive=True)
    step = check_positive("step", step, where=where)
    h = np.zeros((2, 2))
    for i, e in enumerate(np.eye(2) * step):
        gp = reverse_kl_gradient(mean + e[0], std * np.exp(e[1]), weights, means, stds)
        gm = reverse_kl_gradient(mean - e[0], std * np.exp(-e[1]), weights, means, stds)
        h[:, i] = (gp - gm) / (2.0 * step)
    return 0.5 * (h + h.T)



@float64_guard
def fit_reverse_kl_gaussian(weights: Any, means: Any, stds: Any, init_mean: float, init_std: float,
                            *, n_panels: int = 400, gtol: float = 1e-10) -> ReverseKLFit:
    r"""Minimise :math:`\mathrm{KL}(q \,\|\, p)` over :math:`q = \mathcal{N}(\mu, \sigma^2)` from one start.

    BFGS in :math:`(\mu, \log\sigma)` with the exact quadrature gradient
    (:func:`reverse_kl_gradient`). The objective is non-convex for multimodal :math:`p`, so the
    answer depends on the initialisation; it is a stationary point, not necessarily a minimum
    (check with :func:`reverse_kl_hessian`).

    Parameters
    ----------
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    init_mean : float
        Initial mean.
    init_std : float
        Initial standard deviation (> 0).
    n_panels : int
        Number of quadrature panels.
    gtol : float
        Gradient tolerance passed to BFGS.

    Returns
    -------
    ReverseKLFit
        ``mean``, ``std``, ``kl`` and ``converged`` (gradient norm below ``1e-6``).

    References
    ----------
    minka2005divergence, blei2017variational
    """
    where = "fit_reverse_kl_gaussian"
    w, m, s = _check_mixture(weights, means, stds, where)
    init_mean = check_scalar("init_mean", init_mean, where)
    init_std = check_scalar("init_std", init_std, where, positive=True)
    n_panels = check_int("n_panels", n_panels, minimum=2, where=where)
    gtol = check_positive("gtol", gtol, where=where)

    def f(th: np.ndarray) -> float:
        return reverse_kl_to_mixture(th[0], float(np.exp(th[1])), w, m, s, n_panels=n_panels)

    def jac(th: np.ndarray) -> np.ndarray:
        return reverse_kl_gradient(th[0], float(np.exp(th[1])), w, m, s, n_panels=n_panels)

    res = minimize(f, np.array([init_mean, np.log(init_std)]), jac=jac, method="BFGS",
                   options={"gtol": gtol, "maxiter": 1000})
    grad = jac(res.x)
    return ReverseKLFit(float(res.x[0]), float(np.exp(res.x[1])), float(res.fun),
                        bool(np.linalg.norm(grad) < 1e-6))



@float64_guard
def reverse_kl_stationary_point(weights: Any, means: Any, stds: Any, init_mean: float, init_std: float,
                                *, n_panels: int = 400) -> ReverseKLFit:
    r"""Solve :math:`\nabla \mathrm{KL}(q \,\|\, p) = 0` over :math:`q = \mathcal{N}(\mu, \sigma^2)` near a start.

    Unlike :func:`fit_reverse_kl_gaussian`, which descends and is therefore repelled by saddle
    points, this applies a root finder (MINPACK's hybrid Powell method) to the quadrature gradient
    :func:`reverse_kl_gradient` in :math:`(\mu, \log\sigma)`. It converges to whichever stationary
    point (minimum, saddle or maximum) attracts the start; classify the result with
    :func:`reverse_kl_hessian`. Used in chapters/kl_divergence.ipynb to exhibit the saddle points
    between the local minima of the reverse KL to a two-component mixture.

    Parameters
    ----------
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    init_mean : float
        Initial mean.
    init_std : float
        Initial standard deviation (> 0).
    n_panels : int
        Number of quadrature panels.

    Returns
    -------
    ReverseKLFit
        ``mean``, ``std``, ``kl`` at the point found, and ``converged`` (gradient norm below ``1e-6``).

    References
    ----------
    minka2005divergence
    """
    where = "reverse_kl_stationary_point"
    w, m, s = _check_mixture(weights, means, stds, where)
    init_mean = check_scalar("init_mean", init_mean, where)
    init_std = check_scalar("init_std", init_std, where, positive=True)
    n_panels = check_int("n_panels", n_panels, minimum=2, where=where)

    def grad(th: np.ndarray) -> np.ndarray:
        return reverse_kl_gradient(th[0], float(np.exp(th[1])), w, m, s, n_panels=n_panels)

    res = root(grad, np.array([init_mean, np.log(init_std)]), method="hybr", tol=1e-12)
    mean, std = float(res.x[0]), float(np.exp(res.x[1]))
    return ReverseKLFit(mean, std, reverse_kl_to_mixture(mean, std, w, m, s, n_panels=n_panels),
                        bool(np.all(np.isfinite(res.x)) and np.linalg.norm(grad(res.x)) < 1e-6))



@float64_guard
def kl_integrands(x: Any, weights: Any, means: Any, stds: Any, q_mean: float, q_std: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    r"""Pointwise integrands :math:`p\log(p/q)` (forward KL) and :math:`q\log(q/p)` (reverse KL).

    Parameters
    ----------
    x : ndarray, shape (n,)
        Grid of points.
    weights, means, stds : ndarray, shape (K,)
        The mixture :math:`p`.
    q_mean : float
        Mean of the Gaussian :math:`q`.
    q_std : float
        Standard deviation of :math:`q` (> 0).

    Returns
    -------
    tuple of ndarray
        ``(forward, reverse)``, each of shape (n,); integrating each over :math:`x` gives the
        corresponding KL.
    """
    where = "kl_integrands"
    w, m, s = _check_mixture(weights, means, stds, where)
    x = check_finite("x", x, where=where)
    q_mean = check_scalar("q_mean", q_mean, where)
    q_std = check_scalar("q_std", q_std, where, positive=True)
    lp, _ = _log_pdf_and_dlog(x, w, m, s)
    lq = -0.5 * ((x - q_mean) / q_std) ** 2 - np.log(q_std) - 0.5 * np.log(2.0 * np.pi)
    return np.exp(lp) * (lp - lq), np.exp(lq) * (lq - lp)



def _check_gauss(mean: Any, cov: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    mean = check_finite("mean", as_array("mean", mean, ndim=1, where=where), where=where)
    d = mean.shape[0]
    cov = check_positive_definite("cov", check_shape("cov", cov, (d, d), where=where), where=where)
    return mean, cov



def mean_field_gaussian_reverse(mean: Any, cov: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Closed-form minimiser of :math:`\mathrm{KL}(q \,\|\, p)` over factorised Gaussians :math:`q`.

    For :math:`p = \mathcal{N}(\mu, \Sigma)` with precision :math:`\Lambda = \Sigma^{-1}`, the optimum
    is :math:`m = \mu`, :math:`v_i = 1/\Lambda_{ii}` (never larger than :math:`\Sigma_{ii}`).

    Parameters
    ----------
    mean : ndarray, shape (d,)
        Mean of :math:`p`.
    cov : ndarray, shape (d, d)
        Covariance of :math:`p`.

    Returns
    -------
    tuple of ndarray
        ``(mean, var)``, each of shape (d,).

    References
    ----------
    bishop2006pattern, murphy2023probabilistic
    """
    mean, cov = _check_gauss(mean, cov, "mean_field_gaussian_reverse")
    return mean.copy(), 1.0 / np.diag(np.linalg.inv(cov))



def mean_field_gaussian_forward(mean: Any, cov: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Closed-form minimiser of :math:`\mathrm{KL}(p \,\|\, q)` over factorised Gaussians :math:`q`.

    The optimum matches the marginals: :math:`m = \mu`, :math:`v_i = \Sigma_{ii}`.

    Parameters
    ----------
    mean : ndarray, shape (d,)
        Mean of :math:`p`.
    cov : ndarray, shape (d, d)
        Covariance of :math:`p`.

    Returns
    -------
    tuple of ndarray
        ``(mean, var)``, each of shape (d,).

    References
    ----------
    bishop2006pattern, minka2005divergence
    """
    mean, cov = _check_gauss(mean, cov, "mean_field_gaussian_forward")
    return mean.copy(), np.diag(cov).copy()



@float64_guard
def fit_mean_field_gaussian(mean: Any, cov: Any, direction: str) -> MeanFieldFit:
    r"""Numerically minimise the reverse or forward KL from a factorised Gaussian to a Gaussian.

    BFGS over :math:`(m, \log v)` from :math:`m = 0, v = 1`, with analytic gradients; used to
    confirm :func:`mean_field_gaussian_reverse` and :func:`mean_field_gaussian_forward`. The value
    reported is :func:`vi_lib.families.divergences.kl_mvn` at the optimum.

    Parameters
    ----------
    mean : ndarray, shape (d,)
        Mean of :math:`p`.
    cov : ndarray, shape (d, d)
        Covariance of :math:`p`.
    direction : {"reverse", "forward"}
        ``"reverse"`` minimises :math:`\mathrm{KL}(q \,\|\, p)`, ``"forward"`` minimises
        :math:`\mathrm{KL}(p \,\|\, q)`.

    Returns
    -------
    MeanFieldFit
        The optimum.
    """
    where = "fit_mean_field_gaussian"
    mean, cov = _check_gauss(mean, cov, where)
    if direction not in ("reverse", "forward"):
        raise ValidationError(f"{where}: `direction` must be 'reverse' or 'forward'; received {direction!r}.")
    d = mean.shape[0]
    lam = np.linalg.inv(cov)
    sig = np.diag(cov)

    def obj(th: np.ndarray) -> tuple[float, np.ndarray]:
        m, lv = th[:d], th[d:]
        v = np.exp(lv)
        r = m - mean
        if direction == "reverse":
            val = 0.5 * (np.sum(np.diag(lam) * v) + r @ lam @ r - np.sum(lv))
            grad = np.concatenate([lam @ r, 0.5 * (np.diag(lam) * v - 1.0)])
        else:
            val = 0.5 * (np.sum((sig + r**2) / v) + np.sum(lv))
            grad = np.concatenate([r / v, 0.5 * (1.0 - (sig + r**2) / v)])
        return float(val), grad

    res = minimize(obj, np.zeros(2 * d), jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 5000})
    m, v = res.x[:d], np.exp(res.x[d:])
    if direction == "reverse":
        kl = kl_mvn(m, np.diag(v), mean, cov)
    else:
        kl = kl_mvn(mean, cov, m, np.diag(v))
    return MeanFieldFit(m, v, kl, bool(np.linalg.norm(obj(res.x)[1]) < 1e-8))



class GaussianFit(NamedTuple):
    """Result of :func:`fit_gaussian_q`: the best Gaussian q found and its ELBO.

    Attributes
    ----------
    mean : float
        Mean of the best Gaussian q.
    std : float
        Its standard deviation, > 0.
    elbo : float
        Its ELBO, nats.
    """

    mean: float
    std: float
    elbo: float



@float64_guard
def fit_gaussian_q(elbo_fn: Callable[[float, float], float], init_mean: float, init_std: float, *,
                   xatol: float = 1e-10) -> GaussianFit:
    """Maximise ``elbo_fn(mean, std)`` over Gaussian q, parametrised by ``(mean, log std)``.

    Uses :func:`scipy.optimize.minimize` (Nelder-Mead, derivative-free, tight tolerances) on
    the negative ELBO; the log parametrisation keeps the standard deviation positive.

    Parameters
    ----------
    elbo_fn : callable
        ``elbo_fn(mean, std)`` returning the +ELBO of :math:`\\mathcal{N}(\\text{mean}, \\text{std}^2)`.
    init_mean : float
        Starting mean, finite.
    init_std : float
        Starting standard deviation, positive.
    xatol : float
        Absolute tolerance on the parameters, positive.

    Returns
    -------
    GaussianFit
        ``(mean, std, elbo)`` at the optimum found.

    Raises
    ------
    ValidationError
        On bad arguments.
    RuntimeError
        If the optimiser reports failure.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """
    where = "fit_gaussian_q"
    check_callable("elbo_fn", elbo_fn, where)
    m0 = check_finite("init_mean", init_mean, where=where)
    s0 = check_positive("init_std", init_std, where=where)
    for name, v in (("init_mean", m0), ("init_std", s0)):
        if np.ndim(v) != 0:
            raise ValidationError(f"{where}: `{name}` must be a scalar; received {describe(v)}.")
    tol = check_positive("xatol", xatol, where=where)
    n_calls = [0]

    def objective(p: np.ndarray) -> float:
        value = float(call_user(elbo_fn, float(p[0]), float(np.exp(p[1]))))
        n_calls[0] += 1
        if n_calls[0] == 1 and not np.isfinite(value):
            raise ValidationError(f"{where}: `elbo_fn` must return a finite ELBO at the start "
                                  f"(init_mean={float(m0)!r}, init_std={float(s0)!r}); returned {value!r}.")
        return -value

    res = minimize(objective,
                   x0=np.array([float(m0), np.log(s0)]), method="Nelder-Mead",
                   options={"xatol": tol, "fatol": 1e-13, "maxiter": 20000, "maxfev": 40000})
    if not res.success:
        raise RuntimeError(f"{where}: the optimiser did not converge: {res.message}")
    return GaussianFit(float(res.x[0]), float(np.exp(res.x[1])), float(-res.fun))
