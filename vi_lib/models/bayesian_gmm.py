"""The Bayesian Gaussian mixture of Bishop (2006, section 10.2): its prior and its posterior predictive.

With :math:`K` components in :math:`D` dimensions,

.. math::

    \\pi \\sim \\mathrm{Dir}(\\alpha_0 \\mathbf{1}_K), \\qquad
    \\Lambda_k \\sim \\mathcal{W}(W_0, \\nu_0), \\qquad
    \\mu_k \\mid \\Lambda_k \\sim \\mathcal{N}\\big(m_0, (\\beta_0 \\Lambda_k)^{-1}\\big), \\\\
    z_n \\sim \\mathrm{Cat}(\\pi), \\qquad
    x_n \\mid z_n = k \\sim \\mathcal{N}(\\mu_k, \\Lambda_k^{-1}),

with Bishop's Wishart parametrisation (scale :math:`W_0`, so :math:`\\mathbb{E}[\\Lambda_k] = \\nu_0 W_0`;
scipy's ``wishart(df=nu0, scale=W0)`` is the same distribution).

* :class:`BayesianGMMPrior` holds :math:`(\\alpha_0, m_0, \\beta_0, \\nu_0, W_0)`;
  :func:`default_bgmm_prior` builds scikit-learn's defaults from the data.
* :func:`sample_gaussian_mixture`: draws from a mixture of full-covariance Gaussians (the data of the
  chapters' experiments; with ``functools.partial`` it is a chunk sampler for
  :func:`vi_lib.write_npy_in_chunks`).
* :func:`bgmm_predictive_log_density`: the approximate posterior predictive under a fitted mean-field
  :math:`q` (a mixture of multivariate Student-t densities, Bishop Eq. 10.81).

The variational family and the CAVI updates are in :mod:`vi_lib.inference.bayesian_gmm`.

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_nonempty,
    check_positive_definite,
    check_probability_vector,
    check_rng,
    check_scalar,
    check_shape,
    describe,
    float64_guard,
)

__all__ = [
    "BayesianGMMPrior",
    "default_bgmm_prior",
    "bgmm_predictive_log_density",
    "sample_gaussian_mixture",
]

_LOG_PI = float(np.log(np.pi))


def _check_data(x: Any, where: str, name: str = "x") -> np.ndarray:
    """``x`` as a finite float array of shape (N, D) with N >= 1 and D >= 1."""
    arr = as_array(name, x, ndim=2, where=where)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValidationError(f"{where}: `{name}` must be a 2-D array of shape (N, D) with N >= 1 and D >= 1; "
                              f"received {describe(arr)}.")
    return check_finite(name, check_nonempty(name, arr, where=where), where=where)


def _check_dof(name: str, value: Any, dim: int, where: str, shape: tuple | None = None) -> Any:
    """Wishart degrees of freedom: finite and > D - 1 (scalar, or an array of ``shape``)."""
    arr = check_finite(name, value if shape is None else check_shape(name, value, shape, where=where), where=where)
    if shape is None and arr.ndim != 0:
        raise ValidationError(f"{where}: `{name}` must be a scalar; received {describe(arr)}.")
    if np.any(arr <= dim - 1):
        raise ValidationError(f"{where}: `{name}` must be > D - 1 = {dim - 1} (a Wishart over {dim}x{dim} "
                              f"matrices needs nu > D - 1); received {describe(value)}.")
    return float(arr) if arr.ndim == 0 else arr


def _check_scales(name: str, value: Any, k: int, dim: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A stack of K symmetric positive-definite (D, D) matrices and their lower Cholesky factors."""
    arr = check_finite(name, check_shape(name, value, (k, dim, dim), where=where), where=where)
    scale = np.maximum(1.0, np.max(np.abs(arr), axis=(1, 2)))
    asym = np.max(np.abs(arr - np.swapaxes(arr, 1, 2)), axis=(1, 2)) > 1e-10 * scale
    if np.any(asym):
        j = int(np.argmax(asym))
        raise ValidationError(f"{where}: `{name}[{j}]` must be a symmetric matrix; received {describe(arr[j])}.")
    try:
        chol = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(arr).min(axis=1)
        j = int(np.argmin(eig))
        raise ValidationError(f"{where}: `{name}[{j}]` must be positive definite; received a matrix with "
                              f"smallest eigenvalue {eig[j]:.4g}.") from None
    return arr, chol


def _log_det_from_chol(chol: np.ndarray) -> np.ndarray:
    """``log|A|`` from the lower Cholesky factor(s) of A (last two axes)."""
    return 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def _log_wishart_norm(log_det_scale: np.ndarray, dof: np.ndarray, dim: int) -> np.ndarray:
    """Bishop's :math:`\\ln B(W, \\nu)` (Eq. B.79) from :math:`\\ln|W|`, with every constant."""
    i = np.arange(1, dim + 1)
    dof = np.asarray(dof, dtype=float)
    lgam = np.sum(gammaln(0.5 * (dof[..., None] + 1.0 - i)), axis=-1)
    return -0.5 * dof * log_det_scale - (0.5 * dof * dim * np.log(2.0) + 0.25 * dim * (dim - 1) * _LOG_PI + lgam)


def _sq_mahalanobis(x: np.ndarray, means: np.ndarray, chol: np.ndarray, *, chunk_elems: int = 1 << 20) -> np.ndarray:
    """(N, K) matrix of :math:`\\|L_k^\\top (x_n - m_k)\\|^2 = (x_n - m_k)^\\top W_k (x_n - m_k)`.

    ``chol[k]`` is the lower Cholesky factor :math:`L_k` of :math:`W_k`. All K projections of a block of
    rows come from one matrix product with the stacked factors, so the work is vectorised over points and
    components; rows are processed in blocks of about ``chunk_elems / (K D)`` so that the temporary is
    small (memory O(N K) for the result).
    """
    n, d = x.shape
    k = means.shape[0]
    stacked = np.ascontiguousarray(chol.transpose(1, 0, 2).reshape(d, k * d))  # [:, k*D:(k+1)*D] = L_k
    offset = np.einsum("ki,kij->kj", means, chol).reshape(k * d)  # m_k^T L_k
    out = np.empty((n, k))
    rows = max(1, chunk_elems // (k * d))
    for start in range(0, n, rows):
        y = x[start:start + rows] @ stacked
        y -= offset
        y = y.reshape(-1, k, d)
        out[start:start + rows] = np.einsum("nkd,nkd->nk", y, y)  # much faster than a sum over a short axis
    return out


@dataclass(frozen=True)
class BayesianGMMPrior:
    """Hyperparameters of the Bayesian Gaussian mixture (Bishop 2006, Eqs. 10.39-10.40).

    .. math::

        p(\\pi) &= \\mathrm{Dir}(\\pi \\mid \\alpha_0 \\mathbf{1}_K), \\\\
        p(\\mu_k, \\Lambda_k) &= \\mathcal{N}\\big(\\mu_k \\mid m_0, (\\beta_0 \\Lambda_k)^{-1}\\big)\\,
        \\mathcal{W}(\\Lambda_k \\mid W_0, \\nu_0),

    where :math:`\\mathcal{W}(\\Lambda \\mid W, \\nu) = B(W, \\nu) |\\Lambda|^{(\\nu - D - 1)/2}
    \\exp(-\\tfrac12 \\mathrm{Tr}(W^{-1} \\Lambda))`, so :math:`\\mathbb{E}[\\Lambda_k] = \\nu_0 W_0`.
    The same prior holds for every component; K is set by the fit, not here.

    Parameters
    ----------
    concentration : float
        Symmetric Dirichlet concentration :math:`\\alpha_0`, positive (scikit-learn's
        ``weight_concentration_prior``).
    mean : array of shape (D,)
        Prior mean :math:`m_0` of every component mean, finite (``mean_prior``).
    mean_precision : float
        :math:`\\beta_0`, positive: the prior precision of :math:`\\mu_k` in units of :math:`\\Lambda_k`
        (``mean_precision_prior``).
    dof : float
        Wishart degrees of freedom :math:`\\nu_0`, greater than D - 1 (``degrees_of_freedom_prior``).
    scale : array of shape (D, D)
        Wishart scale :math:`W_0`, symmetric positive definite. scikit-learn's ``covariance_prior`` is its
        inverse, :math:`W_0^{-1}`.

    Raises
    ------
    ValidationError
        If an argument violates the constraints above or the shapes of ``mean`` and ``scale`` disagree.

    References
    ----------
    bishop2006pattern (Eqs. 10.39-10.40); attias2000variational.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    concentration: float
    mean: np.ndarray
    mean_precision: float
    dof: float
    scale: np.ndarray

    def __post_init__(self) -> None:
        where = "BayesianGMMPrior"
        alpha0 = check_scalar("concentration", self.concentration, where, positive=True)
        m0 = check_finite("mean", as_array("mean", self.mean, ndim=1, where=where), where=where)
        if m0.size < 1:
            raise ValidationError(f"{where}: `mean` must have at least one entry (D >= 1); received an empty array.")
        dim = m0.size
        beta0 = check_scalar("mean_precision", self.mean_precision, where, positive=True)
        nu0 = _check_dof("dof", self.dof, dim, where)
        w0 = check_shape("scale", self.scale, (dim, dim), where=where)
        w0 = check_positive_definite("scale", w0, where=where)
        w0 = 0.5 * (w0 + w0.T)
        for attr, value in (("concentration", alpha0), ("mean", m0.copy()), ("mean_precision", beta0),
                            ("dof", nu0), ("scale", w0)):
            object.__setattr__(self, attr, value)
        object.__setattr__(self, "_scale_chol", np.linalg.cholesky(w0))

    @property
    def dim(self) -> int:
        """Data dimension D."""
        return int(self.mean.size)


def _check_prior(prior: object, where: str, dim: int | None = None, name: str = "prior") -> BayesianGMMPrior:
    if not isinstance(prior, BayesianGMMPrior):
        raise ValidationError(f"{where}: `{name}` must be a BayesianGMMPrior; received {type(prior).__name__}.")
    if dim is not None and prior.dim != dim:
        raise ValidationError(f"{where}: `{name}` must be a prior over D = {dim} dimensions (the columns of `x`); "
                              f"received a prior with D = {prior.dim}.")
    return prior


@float64_guard
def default_bgmm_prior(x: np.ndarray, n_components: int, *, concentration: float | None = None) -> BayesianGMMPrior:
    """scikit-learn's default prior for a full-covariance Bayesian Gaussian mixture, from the data.

    It is the prior of ``BayesianGaussianMixture(covariance_type="full")`` with default arguments:

    .. math::

        \\alpha_0 = 1/K, \\quad m_0 = \\bar x, \\quad \\beta_0 = 1, \\quad \\nu_0 = D, \\quad
        W_0 = \\hat\\Sigma^{-1},

    with :math:`\\bar x` the data mean and :math:`\\hat\\Sigma` the unbiased sample covariance
    (``np.cov(x.T)``). scikit-learn's ``covariance_prior`` defaults to :math:`\\hat\\Sigma` and is the inverse
    Wishart scale :math:`W_0^{-1}`, so the prior expected precision is :math:`\\nu_0 W_0 = D \\hat\\Sigma^{-1}`.
    Such a data-dependent prior is empirical Bayes; it is what a scikit-learn user gets by default.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, with N >= 2 and a positive-definite sample covariance.
    n_components : int
        Number of components K, at least 1 (sets the default concentration 1/K).
    concentration : float or None
        :math:`\\alpha_0`, positive; ``None`` (the default) gives scikit-learn's 1/K.

    Returns
    -------
    BayesianGMMPrior
        The prior.

    References
    ----------
    pedregosa2011scikit; bishop2006pattern (Section 10.2).

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "default_bgmm_prior"
    x = _check_data(x, where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    alpha0 = 1.0 / k if concentration is None else check_scalar("concentration", concentration, where, positive=True)
    if x.shape[0] < 2:
        raise ValidationError(f"{where}: `x` must have at least 2 rows to estimate a covariance; "
                              f"received {describe(x)}.")
    cov = np.atleast_2d(np.cov(x.T))
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValidationError(f"{where}: `x` must have a positive-definite sample covariance (N > D points in "
                              f"general position); received {describe(x)}.") from None
    inv_chol = np.linalg.inv(chol)
    w0 = inv_chol.T @ inv_chol
    return BayesianGMMPrior(concentration=alpha0, mean=x.mean(axis=0), mean_precision=1.0,
                            dof=float(x.shape[1]), scale=0.5 * (w0 + w0.T))


@float64_guard
def bgmm_predictive_log_density(x_new: np.ndarray, q: Any) -> np.ndarray:
    """Log posterior predictive density under the mean-field :math:`q` (Bishop 2006, Eq. 10.81).

    .. math::

        p(\\hat x \\mid X) &\\approx \\frac{1}{\\hat\\alpha} \\sum_{k=1}^K \\alpha_k\\,
        \\mathrm{St}\\big(\\hat x \\mid m_k, L_k, \\nu_k + 1 - D\\big), \\\\
        L_k &= \\frac{(\\nu_k + 1 - D)\\, \\beta_k}{1 + \\beta_k} W_k,

    with :math:`\\hat\\alpha = \\sum_k \\alpha_k` and :math:`\\mathrm{St}(x \\mid m, L, \\nu)` the
    multivariate Student-t with location m, precision matrix L and :math:`\\nu` degrees of freedom
    (scipy's ``multivariate_t(loc=m, shape=inv(L), df=nu)``). It integrates :math:`\\pi`,
    :math:`\\mu_k` and :math:`\\Lambda_k` out exactly under q; the approximation is q itself.

    Parameters
    ----------
    x_new : array of shape (M, D)
        Points at which to evaluate the density, finite.
    q : BayesianGMMVariational
        Fitted variational parameters (e.g. ``fit_bgmm_cavi(...).params``) over D dimensions.

    Returns
    -------
    numpy.ndarray of shape (M,)
        :math:`\\log p(\\hat x_m \\mid X)` in nats.

    References
    ----------
    bishop2006pattern (Eqs. 10.78-10.82).

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    from ..inference.bayesian_gmm import _check_q  # the variational family lives with its updates

    where = "bgmm_predictive_log_density"
    x_new = _check_data(x_new, where, "x_new")
    q = _check_q(q, where, dim=x_new.shape[1], dim_name="`x_new`")
    d = x_new.shape[1]
    df = q.dof + 1.0 - d
    factor = df * q.mean_precision / (1.0 + q.mean_precision)  # L_k = factor_k W_k
    maha = factor[None, :] * _sq_mahalanobis(x_new, q.means, q._scale_chol)
    log_det_l = d * np.log(factor) + _log_det_from_chol(q._scale_chol)
    log_t = (gammaln(0.5 * (df + d)) - gammaln(0.5 * df) + 0.5 * log_det_l - 0.5 * d * np.log(df * np.pi))[None, :] \
        - 0.5 * (df + d)[None, :] * np.log1p(maha / df[None, :])
    log_w = np.log(q.concentration) - np.log(np.sum(q.concentration))
    return logsumexp(log_t + log_w[None, :], axis=1)


def sample_gaussian_mixture(n: int, *, weights: Any, means: Any, covariances: Any,
                            rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` points from :math:`\\sum_k w_k \\mathcal{N}(m_k, \\Sigma_k)` (labels first, then the Gaussian).

    Parameters
    ----------
    n : int
        Number of points, at least 1.
    weights : array of shape (K,)
        Mixture weights, non-negative and summing to one (within ``max(1e-9, 4 K eps)`` for the machine
        epsilon ``eps`` of their dtype; renormalised exactly).
    means : array of shape (K, D)
        Component means, finite.
    covariances : array of shape (K, D, D)
        Component covariance matrices, each symmetric positive definite.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (n, D)
        The sample, float64.

    Raises
    ------
    ValidationError
        On a bad ``n``, weights that are not a probability vector, shapes that disagree, a
        covariance that is not positive definite, or a bad ``rng``.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "sample_gaussian_mixture"
    n = check_int("n", n, minimum=1, where=where)
    check_shape("weights", weights, (None,), where=where)
    w = check_probability_vector("weights", weights, where=where)
    k = w.size
    m = check_finite("means", check_shape("means", means, (k, None), where=where), where=where)
    d = m.shape[1]
    cov = check_shape("covariances", covariances, (k, d, d), where=where)
    chol = np.stack([np.linalg.cholesky(check_positive_definite("covariances", c, where=where)) for c in cov])
    rng = check_rng(rng, where)
    labels = rng.choice(k, size=n, p=w / w.sum())
    eps = rng.standard_normal((n, d))
    return m[labels] + np.einsum("nij,nj->ni", chol[labels], eps)
