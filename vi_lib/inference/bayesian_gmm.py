"""CAVI for the Bayesian Gaussian mixture of Bishop (2006, section 10.2).

The model (:mod:`vi_lib.models.bayesian_gmm`) has labels :math:`Z`, weights :math:`\\pi` and component
parameters :math:`(\\mu_k, \\Lambda_k)`. The mean-field family :math:`q(Z)\\, q(\\pi, \\mu, \\Lambda)`
factorises further, by the model's structure alone, into

.. math::

    q(Z) &= \\prod_n \\mathrm{Cat}(z_n \\mid r_n), \\qquad
    q(\\pi) = \\mathrm{Dir}(\\pi \\mid \\alpha), \\\\
    q(\\mu_k, \\Lambda_k) &= \\mathcal{N}\\big(\\mu_k \\mid m_k, (\\beta_k \\Lambda_k)^{-1}\\big)\\,
    \\mathcal{W}(\\Lambda_k \\mid W_k, \\nu_k).

CAVI alternates two exact coordinate updates: the global factors from the responsibilities
(:func:`bgmm_update_globals`) and the responsibilities from the global factors (:func:`bgmm_update_resp`).
:func:`bgmm_elbo` is the ELBO in nats with every constant; :func:`fit_bgmm_cavi` runs the sweeps and
records it after every update; :func:`sklearn_lower_bound_offset` converts it to scikit-learn's
``BayesianGaussianMixture.lower_bound_``, which drops the constants.

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from .._validation import (
    ValidationError,
    check_bool,
    check_finite,
    check_int,
    check_positive,
    check_probability_rows,
    check_rng,
    check_shape,
    describe,
    float64_guard,
)
from ..models.bayesian_gmm import (
    BayesianGMMPrior,
    _check_data,
    _check_dof,
    _check_prior,
    _check_scales,
    _log_det_from_chol,
    _log_wishart_norm,
    _sq_mahalanobis,
)
from .cavi import CAVIResult, run_cavi_sweeps

__all__ = [
    "BayesianGMMVariational",
    "bgmm_update_resp",
    "bgmm_update_globals",
    "bgmm_elbo",
    "bgmm_init_resp",
    "fit_bgmm_cavi",
    "sklearn_lower_bound_offset",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
_LOG_PI = float(np.log(np.pi))
_GLOBAL_UPDATE = "q(pi, mu, Lambda)"
_RESP_UPDATE = "q(z)"


@dataclass(frozen=True)
class BayesianGMMVariational:
    """Parameters of :math:`q(\\pi) \\prod_k q(\\mu_k, \\Lambda_k)` (Bishop 2006, Eqs. 10.57, 10.59).

    .. math::

        q(\\pi) = \\mathrm{Dir}(\\pi \\mid \\alpha), \\qquad
        q(\\mu_k, \\Lambda_k) = \\mathcal{N}\\big(\\mu_k \\mid m_k, (\\beta_k \\Lambda_k)^{-1}\\big)\\,
        \\mathcal{W}(\\Lambda_k \\mid W_k, \\nu_k),

    with Bishop's Wishart scale :math:`W_k` (:math:`\\mathbb{E}_q[\\Lambda_k] = \\nu_k W_k`).
    In scikit-learn's ``BayesianGaussianMixture`` these are ``weight_concentration_``,
    ``mean_precision_``, ``means_``, ``degrees_of_freedom_`` and ``precisions_ / degrees_of_freedom_``.

    Parameters
    ----------
    concentration : array of shape (K,)
        Dirichlet parameters :math:`\\alpha_k`, positive.
    mean_precision : array of shape (K,)
        :math:`\\beta_k`, positive.
    means : array of shape (K, D)
        :math:`m_k`, finite.
    dof : array of shape (K,)
        Wishart degrees of freedom :math:`\\nu_k`, greater than D - 1.
    scale : array of shape (K, D, D)
        Wishart scales :math:`W_k`, each symmetric positive definite.

    Raises
    ------
    ValidationError
        If the shapes disagree or an argument violates its constraint.

    References
    ----------
    bishop2006pattern (Section 10.2.1); attias2000variational.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """

    concentration: np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    dof: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        where = "BayesianGMMVariational"
        alpha = check_positive("concentration", check_shape("concentration", self.concentration, (None,),
                                                            where=where), where=where)
        alpha = np.atleast_1d(alpha)
        k = alpha.size
        if k < 1:
            raise ValidationError(f"{where}: `concentration` must have at least one entry (K >= 1); "
                                  "received an empty array.")
        beta = np.atleast_1d(check_positive("mean_precision", check_shape("mean_precision", self.mean_precision,
                                                                            (k,), where=where), where=where))
        m = check_finite("means", check_shape("means", self.means, (k, None), where=where), where=where)
        d = m.shape[1]
        if d < 1:
            raise ValidationError(f"{where}: `means` must have at least one column (D >= 1); "
                                  f"received {describe(m)}.")
        nu = np.atleast_1d(_check_dof("dof", self.dof, d, where, shape=(k,)))
        w, chol = _check_scales("scale", self.scale, k, d, where)
        w = 0.5 * (w + np.swapaxes(w, 1, 2))
        for attr, value in (("concentration", alpha.copy()), ("mean_precision", beta.copy()), ("means", m.copy()),
                            ("dof", nu.copy()), ("scale", w)):
            object.__setattr__(self, attr, value)
        object.__setattr__(self, "_scale_chol", chol)

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return int(self.concentration.size)

    @property
    def dim(self) -> int:
        """Data dimension D."""
        return int(self.means.shape[1])

    @property
    def expected_weights(self) -> np.ndarray:
        """:math:`\\mathbb{E}_q[\\pi_k] = \\alpha_k / \\sum_j \\alpha_j`, shape (K,)."""
        return self.concentration / np.sum(self.concentration)

    @property
    def expected_covariances(self) -> np.ndarray:
        """:math:`(\\nu_k W_k)^{-1} = \\mathbb{E}_q[\\Lambda_k]^{-1}`, shape (K, D, D).

        This is scikit-learn's ``covariances_``. It is not :math:`\\mathbb{E}_q[\\Lambda_k^{-1}]`, which is
        :math:`W_k^{-1} / (\\nu_k - D - 1)` for :math:`\\nu_k > D + 1`.
        """
        inv_chol = np.linalg.inv(self._scale_chol)
        cov = np.swapaxes(inv_chol, 1, 2) @ inv_chol / self.dof[:, None, None]
        return 0.5 * (cov + np.swapaxes(cov, 1, 2))


def _check_q(q: object, where: str, *, dim: int | None = None, k: int | None = None, name: str = "q",
             dim_name: str = "`x`") -> BayesianGMMVariational:
    if not isinstance(q, BayesianGMMVariational):
        raise ValidationError(f"{where}: `{name}` must be a BayesianGMMVariational; received {type(q).__name__}.")
    if dim is not None and q.dim != dim:
        raise ValidationError(f"{where}: `{name}` must be over D = {dim} dimensions (the columns of {dim_name}); "
                              f"received D = {q.dim}.")
    if k is not None and q.n_components != k:
        raise ValidationError(f"{where}: `{name}` must have K = {k} components (the columns of `resp`); "
                              f"received K = {q.n_components}.")
    return q


def _check_resp(resp: Any, n: int, where: str, k: int | None = None, name: str = "resp") -> np.ndarray:
    """Responsibilities: finite, shape (N, K) (K >= 1, or the given K), non-negative rows summing to 1."""
    r = check_finite(name, check_shape(name, resp, (n, k), where=where), where=where)
    if r.shape[1] < 1:
        raise ValidationError(f"{where}: `{name}` must have at least one column (K >= 1); received {describe(r)}.")
    return check_probability_rows(name, resp, where=where)


# ---------------------------------------------------------------------------------------------
# The two coordinate updates and the ELBO, unvalidated (the fit loop calls these directly).
# ---------------------------------------------------------------------------------------------


def _q_from_prior(prior: BayesianGMMPrior, k: int) -> BayesianGMMVariational:
    """The global factors equal to the prior (what the global update gives for zero responsibilities)."""
    return BayesianGMMVariational(concentration=np.full(k, prior.concentration),
                                  mean_precision=np.full(k, prior.mean_precision),
                                  means=np.tile(prior.mean, (k, 1)), dof=np.full(k, prior.dof),
                                  scale=np.tile(prior.scale, (k, 1, 1)))


def _expected_logs(q: BayesianGMMVariational) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\mathbb{E}[\\ln \\pi_k]` (Eq. 10.66) and :math:`\\mathbb{E}[\\ln |\\Lambda_k|]` (Eq. 10.65)."""
    d = q.dim
    e_log_pi = digamma(q.concentration) - digamma(np.sum(q.concentration))
    i = np.arange(1, d + 1)
    e_log_det = np.sum(digamma(0.5 * (q.dof[:, None] + 1.0 - i)), axis=1) + d * np.log(2.0) \
        + _log_det_from_chol(q._scale_chol)
    return e_log_pi, e_log_det


def _log_rho(x: np.ndarray, q: BayesianGMMVariational) -> np.ndarray:
    """:math:`\\ln \\rho_{nk}` of Bishop Eq. 10.46, shape (N, K): the unnormalised log responsibilities."""
    d = x.shape[1]
    e_log_pi, e_log_det = _expected_logs(q)
    const = e_log_pi + 0.5 * e_log_det - 0.5 * d * _LOG_2PI - 0.5 * d / q.mean_precision
    out = _sq_mahalanobis(x, q.means, q._scale_chol)
    out *= -0.5 * q.dof
    out += const
    return out


def _softmax_rows(log_rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise softmax and log-sum-exp of an (N, K) array (max-shifted).

    The row maxima and sums are taken column by column (K vector operations over N): NumPy's reductions
    along a short last axis are several times slower.
    """
    shift = log_rho[:, 0].copy()
    for j in range(1, log_rho.shape[1]):
        np.maximum(shift, log_rho[:, j], out=shift)
    resp = log_rho - shift[:, None]
    np.exp(resp, out=resp)
    total = resp[:, 0].copy()
    for j in range(1, resp.shape[1]):
        total += resp[:, j]
    resp /= total[:, None]
    return resp, shift + np.log(total)


def _sufficient_stats(x: np.ndarray, resp: np.ndarray, centre: np.ndarray, *, chunk_elems: int = 1 << 20
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:math:`N_k`, :math:`\\sum_n r_{nk} y_n` and :math:`\\sum_n r_{nk} y_n y_n^\\top` for y = x - centre.

    One pass over row blocks; the K second-moment matrices of a block come from one matrix product
    (``(r y)^T y`` with ``r y`` of shape (rows, K D)), so nothing of shape (N, K, D, D) is formed.
    """
    n, d = x.shape
    k = resp.shape[1]
    nk = resp.sum(axis=0)
    sy = np.zeros((k, d))
    syy = np.zeros((k * d, d))
    rows = max(1, chunk_elems // (k * d))
    for start in range(0, n, rows):
        y = x[start:start + rows] - centre
        r = resp[start:start + rows]
        sy += r.T @ y
        ry = (r[:, :, None] * y[:, None, :]).reshape(-1, k * d)
        syy += ry.T @ y
    return nk, sy, syy.reshape(k, d, d)


def _update_globals(x: np.ndarray, resp: np.ndarray, prior: BayesianGMMPrior, scale: float = 1.0
                    ) -> BayesianGMMVariational:
    """Bishop Eqs. 10.58, 10.60-10.63, written in moments about the data mean (stable for any N_k >= 0).

    ``scale`` multiplies the sufficient statistics: SVI's intermediate update from a minibatch uses
    N / |B| (:mod:`vi_lib.inference.bayesian_gmm_svi`); the CAVI update is ``scale = 1``.
    """
    centre = x.mean(axis=0)
    nk, sy, syy = _sufficient_stats(x, resp, centre)
    if scale != 1.0:
        nk, sy, syy = scale * nk, scale * sy, scale * syy
    beta0 = prior.mean_precision
    alpha = prior.concentration + nk
    beta = beta0 + nk
    nu = prior.dof + nk
    mu0 = prior.mean - centre
    m_c = (beta0 * mu0 + sy) / beta[:, None]
    # W_k^{-1} = W_0^{-1} + beta0 mu0 mu0^T + sum_n r_nk y_n y_n^T - beta_k m_k m_k^T  (all about `centre`),
    # equal to W_0^{-1} + N_k S_k + beta0 N_k / (beta0 + N_k) (xbar_k - m0)(xbar_k - m0)^T (Eq. 10.62).
    inv_chol0 = np.linalg.inv(prior._scale_chol)
    w0_inv = inv_chol0.T @ inv_chol0
    w_inv = w0_inv + beta0 * np.outer(mu0, mu0) + syy - beta[:, None, None] * (m_c[:, :, None] * m_c[:, None, :])
    w_inv = 0.5 * (w_inv + np.swapaxes(w_inv, 1, 2))
    inv_chol = np.linalg.inv(np.linalg.cholesky(w_inv))
    w = np.swapaxes(inv_chol, 1, 2) @ inv_chol
    return BayesianGMMVariational(concentration=alpha, mean_precision=beta, means=m_c + centre, dof=nu,
                                  scale=0.5 * (w + np.swapaxes(w, 1, 2)))


def _global_terms(q: BayesianGMMVariational, prior: BayesianGMMPrior) -> float:
    """The ELBO terms that do not involve the data: Bishop Eqs. 10.73, 10.74, 10.76, 10.77."""
    d, k = q.dim, q.n_components
    e_log_pi, e_log_det = _expected_logs(q)
    alpha0, beta0, nu0 = prior.concentration, prior.mean_precision, prior.dof
    alpha, beta, nu = q.concentration, q.mean_precision, q.dof
    # Dirichlet: E[ln p(pi)] - E[ln q(pi)], with ln C(a) = ln Gamma(sum a) - sum ln Gamma(a_k) (Eq. B.23).
    log_c0 = gammaln(k * alpha0) - k * gammaln(alpha0)
    log_c = gammaln(np.sum(alpha)) - np.sum(gammaln(alpha))
    dirichlet = log_c0 + (alpha0 - 1.0) * np.sum(e_log_pi) - (np.sum((alpha - 1.0) * e_log_pi) + log_c)
    # E[ln p(mu, Lambda)] (Eq. 10.74).
    maha0 = _sq_mahalanobis(prior.mean[None, :], q.means, q._scale_chol)[0]  # (m_k - m0)^T W_k (m_k - m0)
    inv_chol0 = np.linalg.inv(prior._scale_chol)
    w0_inv = inv_chol0.T @ inv_chol0
    trace = np.einsum("ij,kji->k", w0_inv, q.scale)
    log_b0 = _log_wishart_norm(_log_det_from_chol(prior._scale_chol), np.asarray(nu0), d)
    log_p = np.sum(0.5 * (d * np.log(beta0 / (2.0 * np.pi)) + e_log_det - d * beta0 / beta - beta0 * nu * maha0)) \
        + k * log_b0 + 0.5 * (nu0 - d - 1.0) * np.sum(e_log_det) - 0.5 * np.sum(nu * trace)
    # E[ln q(mu, Lambda)] (Eq. 10.77) with the Wishart entropy (Eq. B.82).
    log_b = _log_wishart_norm(_log_det_from_chol(q._scale_chol), nu, d)
    entropy = -log_b - 0.5 * (nu - d - 1.0) * e_log_det + 0.5 * nu * d
    log_q = np.sum(0.5 * e_log_det + 0.5 * d * np.log(beta / (2.0 * np.pi)) - 0.5 * d - entropy)
    return float(dirichlet + log_p - log_q)


def _resp_log_resp(resp: np.ndarray) -> float:
    """:math:`\\sum_{nk} r_{nk} \\ln r_{nk}` with :math:`0 \\ln 0 = 0`."""
    positive = resp > 0
    return float(np.sum(resp[positive] * np.log(resp[positive])))


# ---------------------------------------------------------------------------------------------
# Public updates.
# ---------------------------------------------------------------------------------------------


@float64_guard
def bgmm_update_resp(x: np.ndarray, q: BayesianGMMVariational) -> np.ndarray:
    """CAVI update of :math:`q(Z)`: the responsibilities given the global factors (Bishop Eqs. 10.46-10.49).

    .. math::

        \\ln \\rho_{nk} &= \\mathbb{E}[\\ln \\pi_k] + \\tfrac12 \\mathbb{E}[\\ln |\\Lambda_k|]
        - \\tfrac{D}{2} \\ln(2\\pi) \\\\
        &\\quad - \\tfrac12 \\big(D \\beta_k^{-1} + \\nu_k (x_n - m_k)^\\top W_k (x_n - m_k)\\big), \\\\
        r_{nk} &= \\frac{\\rho_{nk}}{\\sum_j \\rho_{nj}},

    with :math:`\\mathbb{E}[\\ln \\pi_k] = \\psi(\\alpha_k) - \\psi(\\sum_j \\alpha_j)` (Eq. 10.66) and
    :math:`\\mathbb{E}[\\ln |\\Lambda_k|] = \\sum_{i=1}^D \\psi\\big(\\tfrac{\\nu_k + 1 - i}{2}\\big)
    + D \\ln 2 + \\ln |W_k|` (Eq. 10.65). Vectorised over points and components (one matrix product per
    block of rows against the stacked Cholesky factors of the :math:`W_k`), normalised by log-sum-exp.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    q : BayesianGMMVariational
        Current global factors over D dimensions.

    Returns
    -------
    numpy.ndarray of shape (N, K)
        Responsibilities :math:`r_{nk} = q(z_n = k)`; each row sums to one.

    References
    ----------
    bishop2006pattern (Eqs. 10.46-10.49 and 10.64-10.66).

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "bgmm_update_resp"
    x = _check_data(x, where)
    q = _check_q(q, where, dim=x.shape[1])
    return _softmax_rows(_log_rho(x, q))[0]


@float64_guard
def bgmm_update_globals(x: np.ndarray, resp: np.ndarray, prior: BayesianGMMPrior) -> BayesianGMMVariational:
    """CAVI update of :math:`q(\\pi) \\prod_k q(\\mu_k, \\Lambda_k)` given the responsibilities.

    With :math:`N_k = \\sum_n r_{nk}`, :math:`\\bar x_k = N_k^{-1} \\sum_n r_{nk} x_n` and
    :math:`S_k = N_k^{-1} \\sum_n r_{nk} (x_n - \\bar x_k)(x_n - \\bar x_k)^\\top` (Eqs. 10.51-10.53),

    .. math::

        \\alpha_k = \\alpha_0 + N_k, \\quad \\beta_k = \\beta_0 + N_k, \\quad
        m_k = \\frac{\\beta_0 m_0 + N_k \\bar x_k}{\\beta_k}, \\quad \\nu_k = \\nu_0 + N_k, \\\\
        W_k^{-1} = W_0^{-1} + N_k S_k + \\frac{\\beta_0 N_k}{\\beta_0 + N_k}
        (\\bar x_k - m_0)(\\bar x_k - m_0)^\\top.

    It is computed from moments about the data mean, so a component with :math:`N_k = 0` gets the
    prior back; no (N, K, D, D) array is formed.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    resp : array of shape (N, K)
        Responsibilities: non-negative rows summing to one.
    prior : BayesianGMMPrior
        Prior over D dimensions.

    Returns
    -------
    BayesianGMMVariational
        The optimal global factors for this ``resp``.

    References
    ----------
    bishop2006pattern (Eqs. 10.51-10.53 and 10.58-10.63).

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "bgmm_update_globals"
    x = _check_data(x, where)
    r = _check_resp(resp, x.shape[0], where)
    prior = _check_prior(prior, where, dim=x.shape[1])
    return _update_globals(x, r, prior)


@float64_guard
def bgmm_elbo(x: np.ndarray, resp: np.ndarray, q: BayesianGMMVariational, prior: BayesianGMMPrior) -> float:
    """The ELBO of the Bayesian Gaussian mixture in nats, with every constant (Bishop Eqs. 10.70-10.77).

    .. math::

        \\mathcal{L} &= \\mathbb{E}[\\ln p(X \\mid Z, \\mu, \\Lambda)] + \\mathbb{E}[\\ln p(Z \\mid \\pi)]
        + \\mathbb{E}[\\ln p(\\pi)] + \\mathbb{E}[\\ln p(\\mu, \\Lambda)] \\\\
        &\\quad - \\mathbb{E}[\\ln q(Z)] - \\mathbb{E}[\\ln q(\\pi)] - \\mathbb{E}[\\ln q(\\mu, \\Lambda)].

    The first, second and fifth terms are :math:`\\sum_{nk} r_{nk} (\\ln \\rho_{nk} - \\ln r_{nk})` with
    :math:`\\rho` of :func:`bgmm_update_resp`. The others keep the Dirichlet normalisers
    :math:`\\ln C(\\alpha)`, the Wishart normalisers :math:`\\ln B(W, \\nu)` (with their
    :math:`\\tfrac{D(D-1)}{4} \\ln \\pi`), and the :math:`-\\tfrac{D}{2}\\ln 2\\pi` of every Gaussian, so
    the value is a true lower bound on :math:`\\ln p(X)`. It holds for any ``resp`` and ``q``, not only
    at a CAVI fixed point.

    scikit-learn's ``lower_bound_`` is evaluated right after its M-step, where ``q`` is the global update
    of ``resp``. There the ELBO collapses to

    .. math::

        \\mathcal{L} &= -\\sum_{nk} r_{nk} \\ln r_{nk} + \\ln \\frac{C(\\alpha_0 \\mathbf{1}_K)}{C(\\alpha)} \\\\
        &\\quad + \\sum_k \\Big[\\ln \\frac{B(W_0, \\nu_0)}{B(W_k, \\nu_k)}
        + \\frac{D}{2} \\ln \\frac{\\beta_0}{\\beta_k}\\Big] - \\frac{ND}{2} \\ln 2\\pi,

    and scikit-learn keeps only the terms that change; the difference is :func:`sklearn_lower_bound_offset`.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    resp : array of shape (N, K)
        Responsibilities: non-negative rows summing to one.
    q : BayesianGMMVariational
        Global factors with K components over D dimensions.
    prior : BayesianGMMPrior
        Prior over D dimensions.

    Returns
    -------
    float
        +ELBO in nats (not a loss).

    References
    ----------
    bishop2006pattern (Eqs. 10.70-10.77 and B.79-B.82); blei2017variational.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "bgmm_elbo"
    x = _check_data(x, where)
    r = _check_resp(resp, x.shape[0], where)
    q = _check_q(q, where, dim=x.shape[1], k=r.shape[1])
    prior = _check_prior(prior, where, dim=x.shape[1])
    return float(np.sum(r * _log_rho(x, q))) - _resp_log_resp(r) + _global_terms(q, prior)


def sklearn_lower_bound_offset(n_samples: int, n_components: int, prior: BayesianGMMPrior) -> float:
    """:func:`bgmm_elbo` minus scikit-learn's ``BayesianGaussianMixture.lower_bound_``, in nats.

    scikit-learn (``weight_concentration_prior_type="dirichlet_distribution"``, ``covariance_type="full"``,
    ``reg_covar=0``) evaluates

    .. math::

        \\mathcal{L}_{\\mathrm{sk}} &= -\\sum_{nk} r_{nk} \\ln r_{nk} - \\ln C(\\alpha) \\\\
        &\\quad - \\sum_k \\big[\\ln B(W_k, \\nu_k) + \\tfrac{D(D-1)}{4} \\ln \\pi\\big]
        - \\tfrac{D}{2} \\sum_k \\ln \\beta_k

    with ``q`` the global update of ``resp`` (its ``_log_wishart_norm`` drops the :math:`\\ln \\pi` term of
    :math:`\\ln B`). At that point the ELBO equals :math:`\\mathcal{L}_{\\mathrm{sk}}` plus the terms that
    depend only on N, K and the prior:

    .. math::

        \\mathcal{L} - \\mathcal{L}_{\\mathrm{sk}} &= \\ln C(\\alpha_0 \\mathbf{1}_K) + K \\ln B(W_0, \\nu_0) \\\\
        &\\quad + \\tfrac{KD}{2} \\ln \\beta_0 + \\tfrac{K D (D-1)}{4} \\ln \\pi - \\tfrac{ND}{2} \\ln (2\\pi).

    The identity holds only where ``q`` is optimal for ``resp`` (scikit-learn's state when it records the
    bound), not after the responsibilities are updated.

    Parameters
    ----------
    n_samples : int
        Number of data points N, at least 1.
    n_components : int
        Number of components K, at least 1.
    prior : BayesianGMMPrior
        The prior, matched to scikit-learn's (``covariance_prior`` is :math:`W_0^{-1}`).

    Returns
    -------
    float
        The offset in nats; ``bgmm_elbo(...) == lower_bound_ + offset``.

    References
    ----------
    pedregosa2011scikit; bishop2006pattern (Eqs. 10.70-10.77).

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "sklearn_lower_bound_offset"
    n = check_int("n_samples", n_samples, minimum=1, where=where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    prior = _check_prior(prior, where)
    d = prior.dim
    alpha0 = prior.concentration
    log_c0 = gammaln(k * alpha0) - k * gammaln(alpha0)
    log_b0 = float(_log_wishart_norm(_log_det_from_chol(prior._scale_chol), np.asarray(prior.dof), d))
    return float(log_c0 + k * log_b0 + 0.5 * k * d * np.log(prior.mean_precision)
                 + 0.25 * k * d * (d - 1) * _LOG_PI - 0.5 * n * d * _LOG_2PI)


@float64_guard
def bgmm_init_resp(x: np.ndarray, n_components: int, rng: np.random.Generator, method: str = "kmeans"
                   ) -> np.ndarray:
    """Initial responsibilities, as scikit-learn's ``init_params`` ``"kmeans"`` or ``"random"``.

    ``"kmeans"``: one-hot labels of ``sklearn.cluster.KMeans(n_clusters=K, n_init=1, random_state=s)``
    with the seed ``s = rng.integers(2**31 - 1)``. ``"random"``: uniform(0, 1) entries, each row
    normalised to sum to one.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, with at least K rows.
    n_components : int
        Number of components K, at least 1.
    rng : numpy.random.Generator
        Source of randomness.
    method : str
        ``"kmeans"`` (default) or ``"random"``.

    Returns
    -------
    numpy.ndarray of shape (N, K)
        Responsibilities; each row sums to one.

    References
    ----------
    pedregosa2011scikit.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "bgmm_init_resp"
    x = _check_data(x, where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    rng = check_rng(rng, where)
    if method not in ("kmeans", "random"):
        raise ValidationError(f"{where}: `method` must be 'kmeans' or 'random'; received {method!r}.")
    n = x.shape[0]
    if method == "random":
        resp = rng.uniform(size=(n, k))
        return resp / resp.sum(axis=1, keepdims=True)
    if n < k:
        raise ValidationError(f"{where}: `x` must have at least n_components={k} rows for k-means; "
                              f"received {describe(x)}.")
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=k, n_init=1, random_state=int(rng.integers(2**31 - 1))).fit(x).labels_
    resp = np.zeros((n, k))
    resp[np.arange(n), labels] = 1.0
    return resp


@dataclass(frozen=True)
class _SweepState:
    """What the CAVI loop carries: both factors, and log rho under ``q`` so neither update recomputes it.

    ``data_term`` is :math:`\\sum r (\\ln \\rho - \\ln r)` when known cheaply (after the q(z) update it is the
    sum of the row log-normalisers), else ``None``.
    """

    q: BayesianGMMVariational
    resp: np.ndarray
    log_rho: np.ndarray
    resp_log_resp: float
    data_term: float | None = None


@float64_guard
def fit_bgmm_cavi(x: np.ndarray, n_components: int, prior: BayesianGMMPrior, *, init_resp: np.ndarray | None = None,
                  rng: np.random.Generator | None = None, max_iter: int = 1000, rtol: float = 1e-10,
                  record_every_update: bool = True) -> CAVIResult:
    """Fit the Bayesian Gaussian mixture by CAVI, recording the ELBO after every coordinate update.

    The loop starts from :math:`q(Z)` = ``init_resp`` and the global factors equal to the prior (the
    ``"init"`` entry of the trace). Each sweep makes the two exact updates, in scikit-learn's order:

    1. ``"q(pi, mu, Lambda)"``: :func:`bgmm_update_globals` from the current responsibilities (in the
       first sweep, scikit-learn's initial M-step from its k-means labels);
    2. ``"q(z)"``: :func:`bgmm_update_resp` from the new global factors.

    Neither update can lower the ELBO (:func:`bgmm_elbo`). The loop stops when a sweep raises it by less
    than ``rtol * |ELBO|``. The global update's entries of ``elbo_trace`` (from the second sweep on) are
    scikit-learn's ``lower_bounds_`` plus :func:`sklearn_lower_bound_offset`.

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    n_components : int
        Number of components K, at least 1.
    prior : BayesianGMMPrior
        Prior over D dimensions (e.g. :func:`default_bgmm_prior`).
    init_resp : array of shape (N, K) or None
        Initial responsibilities (rows summing to one); ``None`` uses
        ``bgmm_init_resp(x, K, rng, "kmeans")``.
    rng : numpy.random.Generator or None
        Needed only when ``init_resp`` is ``None``.
    max_iter : int
        Maximum number of sweeps, at least 1.
    rtol : float
        Relative tolerance on the ELBO increase per sweep, non-negative.
    record_every_update : bool
        If ``False``, the ELBO is evaluated once per sweep (after ``"q(z)"``): faster, for benchmarks.

    Returns
    -------
    CAVIResult
        ``params`` is the final :class:`BayesianGMMVariational`; ``params_history`` holds the global
        factors at the start and after each sweep. The final responsibilities are
        ``bgmm_update_resp(x, result.params)`` (the last update of every sweep), so they are not stored.

    References
    ----------
    bishop2006pattern (Section 10.2); attias2000variational; blei2017variational.

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "fit_bgmm_cavi"
    x = _check_data(x, where)
    k = check_int("n_components", n_components, minimum=1, where=where)
    prior = _check_prior(prior, where, dim=x.shape[1])
    max_iter = check_int("max_iter", max_iter, minimum=1, where=where)
    rtol = check_positive("rtol", rtol, allow_zero=True, where=where)
    record_every_update = check_bool("record_every_update", record_every_update, where=where)
    if init_resp is None:
        if rng is None:
            raise ValidationError(f"{where}: `rng` must be a numpy.random.Generator when `init_resp` is None "
                                  "(it seeds the k-means initialisation); received None.")
        resp0 = bgmm_init_resp(x, k, check_rng(rng, where))
    else:
        resp0 = _check_resp(init_resp, x.shape[0], where, k=k, name="init_resp")

    q0 = _q_from_prior(prior, k)
    state = _SweepState(q=q0, resp=resp0, log_rho=_log_rho(x, q0), resp_log_resp=_resp_log_resp(resp0))

    def update_globals(s: _SweepState) -> _SweepState:
        q = _update_globals(x, s.resp, prior)
        return _SweepState(q=q, resp=s.resp, log_rho=_log_rho(x, q), resp_log_resp=s.resp_log_resp)

    record = bool(record_every_update)

    def update_resp(s: _SweepState) -> _SweepState:
        resp, lse = _softmax_rows(s.log_rho)
        # sum r ln r is needed only for the ELBO after the next global update, which is recorded only with
        # record_every_update (ln r = ln rho - lse exactly, so no logarithm of r is taken).
        resp_log_resp = float(np.einsum("nk,nk->", resp, s.log_rho - lse[:, None])) if record else float("nan")
        return _SweepState(q=s.q, resp=resp, log_rho=s.log_rho, resp_log_resp=resp_log_resp,
                           data_term=float(np.sum(lse)))

    def elbo(s: _SweepState) -> float:
        data = s.data_term if s.data_term is not None else float(np.einsum("nk,nk->", s.resp, s.log_rho)) \
            - s.resp_log_resp
        return data + _global_terms(s.q, prior)

    result = run_cavi_sweeps(state, [(_GLOBAL_UPDATE, update_globals), (_RESP_UPDATE, update_resp)], elbo,
                             max_iter=max_iter, rtol=rtol, record_every_update=record,
                             keep=lambda s: s.q)
    return CAVIResult(params=result.params.q, elbo_trace=result.elbo_trace, trace_labels=result.trace_labels,
                      elbo=result.elbo, params_history=result.params_history, converged=result.converged,
                      update_names=result.update_names)
