"""Stochastic variational inference for the Bayesian Gaussian mixture of Bishop (2006, section 10.2).

The global factors :math:`q(\\pi) \\prod_k q(\\mu_k, \\Lambda_k)` of :mod:`vi_lib.inference.bayesian_gmm` are a
Dirichlet and K Normal-Wisharts, each in the exponential family with natural parameters affine in

.. math::

    \\eta = \\big(\\alpha,\\ \\beta_k,\\ \\beta_k (m_k - c),\\
    W_k^{-1} + \\beta_k (m_k - c)(m_k - c)^\\top,\\ \\nu_k\\big)_{k=1}^K

for any fixed centre :math:`c` (:class:`BayesianGMMNatural`). The CAVI global update is
"prior + expected sufficient statistics" in these coordinates, so SVI (Hoffman et al. 2013) takes, per
step, a minibatch :math:`B`, its responsibilities under the current :math:`q`, the CAVI update with the
statistics scaled by :math:`N/|B|` (:func:`bgmm_intermediate_globals`), and the convex combination
:math:`(1-\\rho_t)\\eta + \\rho_t\\hat\\eta` (:func:`bgmm_svi_step`, :func:`fit_bgmm_svi`).

The ELBO with the responsibilities optimal for :math:`q` is a global term plus a sum over points
(:func:`bgmm_elbo_terms`), so a minibatch gives an unbiased estimate (:func:`bgmm_minibatch_elbo`).
The natural-gradient identity behind the step is checked with autograd in
:mod:`vi_lib.inference.bayesian_gmm_natgrad`.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .._validation import (
    ValidationError,
    call_user,
    check_bool,
    check_finite,
    check_int,
    check_rng,
    check_scalar,
    check_shape,
    describe,
    float64_guard,
)
from ..models.bayesian_gmm import BayesianGMMPrior, _check_data, _check_prior, bgmm_predictive_log_density
from .bayesian_gmm import (
    BayesianGMMVariational,
    _check_q,
    _check_resp,
    _global_terms,
    _log_rho,
    _softmax_rows,
    _sufficient_stats,
    _update_globals,
    bgmm_init_resp,
)
from .minibatch import _check_rows, _generate
from .svi import SVIResult, robbins_monro_step_size

__all__ = [
    "BayesianGMMNatural",
    "bgmm_to_natural",
    "bgmm_from_natural",
    "bgmm_intermediate_globals",
    "bgmm_svi_step",
    "bgmm_elbo_terms",
    "bgmm_minibatch_elbo",
    "fit_bgmm_svi",
]


class BayesianGMMNatural(NamedTuple):
    """Natural-parameter coordinates of :math:`q(\\pi) \\prod_k q(\\mu_k, \\Lambda_k)`, about a centre c.

    .. math::

        \\ln q(\\mu_k, \\Lambda_k) &= \\beta_k (m_k - c)^\\top \\Lambda_k (\\mu_k - c) \\\\
        &\\quad - \\tfrac{\\beta_k}{2} (\\mu_k - c)^\\top \\Lambda_k (\\mu_k - c)
        - \\tfrac12 \\mathrm{Tr}\\big(S_k \\Lambda_k\\big) \\\\
        &\\quad + \\tfrac{\\nu_k - D}{2} \\ln |\\Lambda_k| - A_k, \\\\
        S_k &= W_k^{-1} + \\beta_k (m_k - c)(m_k - c)^\\top,

    so :math:`(\\beta_k (m_k - c), \\beta_k, S_k, \\nu_k - D)` are the natural parameters of the
    Normal-Wishart for the statistics :math:`(\\Lambda \\tilde\\mu, -\\tfrac12 \\tilde\\mu^\\top\\Lambda\\tilde\\mu,
    -\\tfrac12\\Lambda, \\tfrac12 \\ln|\\Lambda|)` with :math:`\\tilde\\mu = \\mu - c`, and :math:`\\alpha - 1`
    those of the Dirichlet. The fields below are an affine image of these (:math:`\\nu_k` for
    :math:`\\nu_k - D`, :math:`\\alpha` for :math:`\\alpha - 1`; the shift by c is linear), so a convex
    combination of two of them is the convex combination of the natural parameters. The centre only
    improves rounding (the CAVI module's moments about the data mean, for the same reason); two
    parameter sets are combined only about the same centre.

    Attributes
    ----------
    concentration : array of shape (K,)
        :math:`\\alpha_k`.
    mean_precision : array of shape (K,)
        :math:`\\beta_k`.
    precision_mean : array of shape (K, D)
        :math:`\\beta_k (m_k - c)`.
    second_moment : array of shape (K, D, D)
        :math:`S_k = W_k^{-1} + \\beta_k (m_k - c)(m_k - c)^\\top`.
    dof : array of shape (K,)
        :math:`\\nu_k`.
    """

    concentration: np.ndarray
    mean_precision: np.ndarray
    precision_mean: np.ndarray
    second_moment: np.ndarray
    dof: np.ndarray


def _check_centre(centre: Any, d: int, where: str) -> np.ndarray:
    if centre is None:
        return np.zeros(d)
    return check_finite("centre", check_shape("centre", centre, (d,), where=where), where=where)


def _to_natural(q: BayesianGMMVariational, c: np.ndarray) -> BayesianGMMNatural:
    inv_chol = np.linalg.inv(q._scale_chol)
    w_inv = np.swapaxes(inv_chol, 1, 2) @ inv_chol
    dm = q.means - c
    beta = q.mean_precision
    s = w_inv + beta[:, None, None] * (dm[:, :, None] * dm[:, None, :])
    return BayesianGMMNatural(q.concentration.copy(), beta.copy(), beta[:, None] * dm, 0.5 * (s + np.swapaxes(s, 1, 2)),
                              q.dof.copy())


def _from_natural(eta: BayesianGMMNatural, c: np.ndarray) -> BayesianGMMVariational:
    beta = eta.mean_precision
    dm = eta.precision_mean / beta[:, None]
    w_inv = eta.second_moment - beta[:, None, None] * (dm[:, :, None] * dm[:, None, :])
    w_inv = 0.5 * (w_inv + np.swapaxes(w_inv, 1, 2))
    try:
        inv_chol = np.linalg.inv(np.linalg.cholesky(w_inv))
    except np.linalg.LinAlgError:
        raise ValidationError("bgmm_from_natural: `eta` must have S_k - beta_k d_k d_k^T positive definite "
                              "(a valid Wishart scale); received natural parameters outside that set.") from None
    w = np.swapaxes(inv_chol, 1, 2) @ inv_chol
    return BayesianGMMVariational(concentration=eta.concentration, mean_precision=beta, means=dm + c, dof=eta.dof,
                                  scale=0.5 * (w + np.swapaxes(w, 1, 2)))


def bgmm_to_natural(q: BayesianGMMVariational, *, centre: np.ndarray | None = None) -> BayesianGMMNatural:
    """The natural-parameter coordinates of ``q`` about ``centre`` (see :class:`BayesianGMMNatural`).

    .. math::

        (\\alpha, \\beta, m, W, \\nu) \\mapsto
        \\big(\\alpha,\\ \\beta,\\ \\beta (m - c),\\ W^{-1} + \\beta (m - c)(m - c)^\\top,\\ \\nu\\big).

    Parameters
    ----------
    q : BayesianGMMVariational
        Global factors with K components over D dimensions.
    centre : array of shape (D,) or None
        The centre c (finite); ``None`` is the origin. :func:`fit_bgmm_svi` uses the prior mean.

    Returns
    -------
    BayesianGMMNatural
        The coordinates; :func:`bgmm_from_natural` with the same centre inverts them.

    References
    ----------
    hoffman2013stochastic (Section 3); bishop2006pattern (Eqs. 10.59-10.63).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_to_natural"
    q = _check_q(q, where)
    return _to_natural(q, _check_centre(centre, q.dim, where))


def bgmm_from_natural(eta: BayesianGMMNatural, *, centre: np.ndarray | None = None) -> BayesianGMMVariational:
    """The global factors from their natural-parameter coordinates about ``centre``.

    .. math::

        m = c + \\frac{\\beta (m - c)}{\\beta}, \\qquad
        W^{-1} = S - \\beta (m - c)(m - c)^\\top.

    Parameters
    ----------
    eta : BayesianGMMNatural
        Coordinates with K components over D dimensions (e.g. from :func:`svi_global_step`).
    centre : array of shape (D,) or None
        The centre used by :func:`bgmm_to_natural`; ``None`` is the origin.

    Returns
    -------
    BayesianGMMVariational
        The global factors.

    Raises
    ------
    ValidationError
        If a field has the wrong shape or is not finite, or the parameters are outside the natural parameter
        space (:math:`\\alpha, \\beta > 0`, :math:`\\nu > D - 1`, :math:`W^{-1}` positive definite).

    References
    ----------
    hoffman2013stochastic (Section 3); bishop2006pattern (Eqs. 10.59-10.63).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_from_natural"
    if not isinstance(eta, BayesianGMMNatural):
        raise ValidationError(f"{where}: `eta` must be a BayesianGMMNatural; received {type(eta).__name__}.")
    shapes = {"concentration": (None,), "mean_precision": None, "precision_mean": None, "second_moment": None,
              "dof": None}
    parts = []
    for i, field in enumerate(BayesianGMMNatural._fields):
        if i == 1:
            k = parts[0].size
            shapes.update(mean_precision=(k,), precision_mean=(k, None), dof=(k,))
        if i == 3:
            d = parts[2].shape[1]
            shapes["second_moment"] = (k, d, d)
        try:
            parts.append(check_finite(f"eta[{i}]", check_shape(f"eta[{i}]", eta[i], shapes[field], where=where),
                                      where=where))
        except ValidationError as err:
            raise ValidationError(str(err).replace(f"`eta[{i}]`", f"`eta[{i}]` ({field})", 1)) from None
    alpha, beta, bm, s, nu = parts
    if np.any(beta <= 0) or np.any(alpha <= 0):
        raise ValidationError(f"{where}: `eta` must have positive concentration and mean_precision; received "
                              f"{describe(alpha)} and {describe(beta)}.")
    eta = BayesianGMMNatural(alpha, beta, bm, s, nu)
    centre = _check_centre(centre, bm.shape[1], where)
    try:
        return _from_natural(eta, centre)
    except ValidationError as err:
        msg = str(err)
        if not msg.startswith(where):
            msg = f"{where}: `eta` must map to valid global factors; {msg}"
        raise ValidationError(msg) from None


def _check_n_total(n_total: Any, batch: int, where: str) -> int:
    n = check_int("n_total", n_total, minimum=1, where=where)
    if n < batch:
        raise ValidationError(f"{where}: `n_total` must be at least the batch size {batch} (it is the size N of "
                              f"the data set the batch was drawn from); received {n}.")
    return n


@float64_guard
def bgmm_intermediate_globals(x_batch: np.ndarray, resp_batch: np.ndarray, prior: BayesianGMMPrior,
                              n_total: int) -> BayesianGMMVariational:
    """SVI's intermediate global parameters: the CAVI update as if the data were N/B copies of the batch.

    With :math:`s = N / |B|` and the batch statistics :math:`N_k^B = \\sum_{n \\in B} r_{nk}`,
    :math:`\\bar x^B_k`, :math:`S^B_k` (Bishop Eqs. 10.51-10.53 over the batch),

    .. math::

        \\hat\\alpha_k &= \\alpha_0 + s N^B_k, \\quad \\hat\\beta_k = \\beta_0 + s N^B_k, \\quad
        \\hat\\nu_k = \\nu_0 + s N^B_k, \\\\
        \\hat m_k &= \\frac{\\beta_0 m_0 + s N^B_k \\bar x^B_k}{\\hat\\beta_k}, \\\\
        \\hat W_k^{-1} &= W_0^{-1} + s N^B_k S^B_k \\\\
        &\\quad + \\frac{\\beta_0\\, s N^B_k}{\\beta_0 + s N^B_k}
        (\\bar x^B_k - m_0)(\\bar x^B_k - m_0)^\\top.

    In natural parameters this is prior + :math:`s` times the batch's expected sufficient statistics, an
    unbiased estimate of the full CAVI update; on the full data (:math:`s = 1`) it is
    :func:`vi_lib.bgmm_update_globals` exactly.

    Parameters
    ----------
    x_batch : array of shape (B, D)
        The minibatch, finite, B >= 1.
    resp_batch : array of shape (B, K)
        Its responsibilities: non-negative rows summing to one.
    prior : BayesianGMMPrior
        Prior over D dimensions.
    n_total : int
        Size N of the whole data set, at least B.

    Returns
    -------
    BayesianGMMVariational
        :math:`\\hat q`, the intermediate global factors.

    References
    ----------
    hoffman2013stochastic (Eq. 30 and Figure 4); bishop2006pattern (Eqs. 10.58-10.63).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_intermediate_globals"
    x = _check_data(x_batch, where, "x_batch")
    r = _check_resp(resp_batch, x.shape[0], where, name="resp_batch")
    prior = _check_prior(prior, where, dim=x.shape[1])
    n = _check_n_total(n_total, x.shape[0], where)
    return _update_globals(x, r, prior, n / x.shape[0])


def _q_unchecked(alpha: np.ndarray, beta: np.ndarray, means: np.ndarray, dof: np.ndarray, w: np.ndarray
                 ) -> BayesianGMMVariational:
    """A BayesianGMMVariational without the argument checks, for the fit loop's inner steps.

    A convex combination of valid natural parameters is valid (the natural parameter space is convex), so
    only the Cholesky factor of each :math:`W_k`, which the class stores anyway, is computed here.
    """
    q = object.__new__(BayesianGMMVariational)
    for attr, value in (("concentration", alpha), ("mean_precision", beta), ("means", means), ("dof", dof),
                        ("scale", w), ("_scale_chol", np.linalg.cholesky(w))):
        object.__setattr__(q, attr, value)
    return q


def _from_natural_fast(eta: BayesianGMMNatural, c: np.ndarray) -> BayesianGMMVariational:
    beta = eta.mean_precision
    dm = eta.precision_mean / beta[:, None]
    w_inv = eta.second_moment - beta[:, None, None] * (dm[:, :, None] * dm[:, None, :])
    w = np.linalg.inv(0.5 * (w_inv + np.swapaxes(w_inv, 1, 2)))
    return _q_unchecked(eta.concentration, beta, dm + c, eta.dof, 0.5 * (w + np.swapaxes(w, 1, 2)))


def _batch_natural(x: np.ndarray, resp: np.ndarray, prior: BayesianGMMPrior, scale: float) -> BayesianGMMNatural:
    """Intermediate natural parameters about c = m0: prior + scale * batch statistics (no q object built)."""
    c = prior.mean
    nk, sy, syy = _sufficient_stats(x, resp, c)
    inv_chol0 = np.linalg.inv(prior._scale_chol)
    w0_inv = inv_chol0.T @ inv_chol0
    count = scale * nk
    return BayesianGMMNatural(prior.concentration + count, prior.mean_precision + count, scale * sy,
                              w0_inv + scale * syy, prior.dof + count)


def _svi_step(x: np.ndarray, q: BayesianGMMVariational, eta: BayesianGMMNatural, prior: BayesianGMMPrior, n: int,
              rho: float) -> tuple[BayesianGMMVariational, BayesianGMMNatural]:
    """One step from (q, its natural parameters about the prior mean) to the new pair."""
    resp = _softmax_rows(_log_rho(x, q))[0]
    eta_hat = _batch_natural(x, resp, prior, n / x.shape[0])
    mixed = BayesianGMMNatural(*((1.0 - rho) * a + rho * b for a, b in zip(eta, eta_hat)))
    return _from_natural_fast(mixed, prior.mean), mixed


@float64_guard
def bgmm_svi_step(x_batch: np.ndarray, q: BayesianGMMVariational, prior: BayesianGMMPrior, n_total: int,
                  rho: float) -> BayesianGMMVariational:
    """One SVI step for the Bayesian Gaussian mixture (Hoffman et al. 2013, Figure 4).

    1. Local step: :math:`r_B` = ``bgmm_update_resp(x_batch, q)``.
    2. Intermediate globals: :math:`\\hat q` = ``bgmm_intermediate_globals(x_batch, r_B, prior, n_total)``.
    3. Global step in natural parameters (about the prior mean, :class:`BayesianGMMNatural`):

    .. math::

        \\eta_{t} = (1 - \\rho)\\, \\eta(q) + \\rho\\, \\eta(\\hat q).

    With ``rho = 1`` and the whole data set as the batch this is one CAVI sweep (globals after
    responsibilities).

    Parameters
    ----------
    x_batch : array of shape (B, D)
        The minibatch, finite, B >= 1.
    q : BayesianGMMVariational
        Current global factors over D dimensions.
    prior : BayesianGMMPrior
        Prior over D dimensions.
    n_total : int
        Size N of the whole data set, at least B.
    rho : float
        Step size, in (0, 1].

    Returns
    -------
    BayesianGMMVariational
        The new global factors.

    References
    ----------
    hoffman2013stochastic (Figure 4).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_svi_step"
    x = _check_data(x_batch, where, "x_batch")
    q = _check_q(q, where, dim=x.shape[1], dim_name="`x_batch`")
    prior = _check_prior(prior, where, dim=x.shape[1])
    n = _check_n_total(n_total, x.shape[0], where)
    rho = _check_rho(rho, where)
    q_new = _svi_step(x, q, _to_natural(q, prior.mean), prior, n, rho)[0]
    return BayesianGMMVariational(q_new.concentration, q_new.mean_precision, q_new.means, q_new.dof, q_new.scale)


def _check_rho(rho: Any, where: str, name: str = "rho") -> float:
    rho = check_scalar(name, rho, where)
    if not 0.0 < rho <= 1.0:
        raise ValidationError(f"{where}: `{name}` must be a step size in (0, 1]; received {describe(rho)}.")
    return rho


@float64_guard
def bgmm_elbo_terms(x: np.ndarray, q: BayesianGMMVariational, prior: BayesianGMMPrior) -> tuple[float, np.ndarray]:
    """The ELBO at the optimal responsibilities for ``q``, as a global term plus one term per point.

    With :math:`\\ln\\rho_{nk}` of :func:`vi_lib.bgmm_update_resp` and :math:`r_{nk} = \\rho_{nk} /
    \\sum_j \\rho_{nj}`, each point's contribution to :func:`vi_lib.bgmm_elbo` is

    .. math::

        \\ell_n = \\sum_k r_{nk} (\\ln \\rho_{nk} - \\ln r_{nk}) = \\ln \\sum_k \\rho_{nk},

    (since :math:`\\ln\\rho_{nk} - \\ln r_{nk}` is the same for every k), so

    .. math::

        \\mathcal{L}(q) = \\max_{q(Z)} \\mathcal{L}(q(Z), q) = G(q) + \\sum_{n=1}^N \\ell_n,

    with :math:`G` the terms without data (Bishop Eqs. 10.73, 10.74, 10.76, 10.77).

    Parameters
    ----------
    x : array of shape (N, D)
        Data, finite, N >= 1.
    q : BayesianGMMVariational
        Global factors over D dimensions.
    prior : BayesianGMMPrior
        Prior over D dimensions.

    Returns
    -------
    tuple of (float, numpy.ndarray of shape (N,))
        :math:`G(q)` and :math:`(\\ell_n)_n`, in nats; their total is
        ``bgmm_elbo(x, bgmm_update_resp(x, q), q, prior)``.

    References
    ----------
    hoffman2013stochastic (Section 2.4); bishop2006pattern (Eqs. 10.70-10.77).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_elbo_terms"
    x = _check_data(x, where)
    q = _check_q(q, where, dim=x.shape[1])
    prior = _check_prior(prior, where, dim=x.shape[1])
    return _global_terms(q, prior), _softmax_rows(_log_rho(x, q))[1]


@float64_guard
def bgmm_minibatch_elbo(x_batch: np.ndarray, q: BayesianGMMVariational, prior: BayesianGMMPrior,
                        n_total: int) -> float:
    """Unbiased minibatch estimate of the ELBO at the optimal responsibilities (:func:`bgmm_elbo_terms`).

    .. math::

        \\hat{\\mathcal{L}}_B(q) = G(q) + \\frac{N}{|B|} \\sum_{n \\in B} \\ell_n, \\qquad
        \\mathbb{E}_B\\big[\\hat{\\mathcal{L}}_B(q)\\big] = \\mathcal{L}(q)

    for a batch drawn uniformly (with or without replacement) from the N points.

    Parameters
    ----------
    x_batch : array of shape (B, D)
        The minibatch, finite, B >= 1.
    q : BayesianGMMVariational
        Global factors over D dimensions.
    prior : BayesianGMMPrior
        Prior over D dimensions.
    n_total : int
        Size N of the whole data set, at least B.

    Returns
    -------
    float
        The estimate, in nats (+ELBO, not a loss).

    References
    ----------
    hoffman2013stochastic (Section 2.4).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "bgmm_minibatch_elbo"
    x = _check_data(x_batch, where, "x_batch")
    q = _check_q(q, where, dim=x.shape[1], dim_name="`x_batch`")
    prior = _check_prior(prior, where, dim=x.shape[1])
    n = _check_n_total(n_total, x.shape[0], where)
    return _global_terms(q, prior) + n / x.shape[0] * float(np.sum(_softmax_rows(_log_rho(x, q))[1]))


def _svi_init(data: np.ndarray, k: int, prior: BayesianGMMPrior, rng: np.random.Generator, batch_size: int
              ) -> BayesianGMMVariational:
    """k-means responsibilities on a random subset, then the intermediate globals scaled to N."""
    n = data.shape[0]
    m = min(n, max(batch_size, 50 * k))
    idx = np.sort(rng.choice(n, size=m, replace=False))
    x0 = np.asarray(data[idx], dtype=np.float64)
    if not np.all(np.isfinite(x0)):
        raise ValidationError(f"fit_bgmm_svi: `data` must be finite (no NaN or infinity); received non-finite rows "
                              f"among {describe(idx)}.")
    return _update_globals(x0, bgmm_init_resp(x0, k, rng), prior, n / m)


@float64_guard
def fit_bgmm_svi(data: Any, n_components: int, prior: BayesianGMMPrior, *, batch_size: int, n_steps: int,
                 rng: np.random.Generator, tau: float = 1.0, kappa: float = 0.7, step_sizes: Any = None,
                 init: BayesianGMMVariational | None = None, eval_x: np.ndarray | None = None, eval_every: int = 100,
                 callback: Callable[[int, BayesianGMMVariational], None] | None = None,
                 low_memory: bool = False) -> SVIResult:
    """Fit the Bayesian Gaussian mixture by stochastic variational inference.

    Each of the ``n_steps`` steps draws a minibatch (as :func:`vi_lib.minibatches`: without replacement within
    an epoch) and makes :func:`bgmm_svi_step` with step size :math:`\\rho_t`:

    .. math::

        \\eta_t = (1 - \\rho_t)\\, \\eta_{t-1} + \\rho_t\\, \\hat\\eta_t(B_t), \\qquad
        \\rho_t = (t + \\tau)^{-\\kappa}.

    Only one minibatch is in memory at a time, so ``data`` may be a memory-mapped ``.npy``
    (:func:`vi_lib.open_npy_memmap`). By default the one array of size N is the epoch's permutation of
    the indices (4 bytes per point below :math:`2^{31}` points); with ``low_memory=True`` the epoch's
    order is computed batch by batch (:func:`vi_lib.minibatches`) and the fit's memory does not depend
    on N.

    Initialisation (``init=None``): k-means responsibilities (:func:`vi_lib.bgmm_init_resp`) on
    :math:`\\max(B, 50K)` random rows (at most N), then the intermediate globals scaled to N, so the
    components start apart (q equal to the prior would make every component identical, a fixed point).

    Parameters
    ----------
    data : array or numpy.memmap of shape (N, D)
        The data, finite (a memory map is checked batch by batch).
    n_components : int
        Number of components K, at least 1.
    prior : BayesianGMMPrior
        Prior over D dimensions (e.g. :func:`vi_lib.default_bgmm_prior`).
    batch_size : int
        Minibatch size B, in 1..N.
    n_steps : int
        Number of SVI steps, at least 1.
    rng : numpy.random.Generator
        Source of the minibatches and the initialisation.
    tau : float
        Delay :math:`\\tau \\ge 0` of :func:`vi_lib.robbins_monro_step_size`.
    kappa : float
        Forgetting rate :math:`\\kappa \\in (0.5, 1]`.
    step_sizes : array of shape (n_steps,) or None
        Explicit step sizes :math:`\\rho_t \\in (0, 1]`, overriding ``tau`` and ``kappa`` (neither is then
        checked): for schedules outside Robbins-Monro, such as a constant step.
    init : BayesianGMMVariational or None
        Initial global factors with K components over D dimensions; ``None``: the default above.
    eval_x : array of shape (M, D) or None
        Held-out points; if given, the mean of :func:`vi_lib.bgmm_predictive_log_density` over them is
        recorded at step 0, every ``eval_every`` steps, and at the last step.
    eval_every : int
        Steps between held-out evaluations, at least 1.
    callback : callable or None
        ``callback(t, q)`` after each step (its time, like evaluation time, is not counted).
    low_memory : bool
        As in :func:`vi_lib.minibatches`: ``True`` draws each epoch's order from a keyed permutation
        evaluated batch by batch instead of an array of N indices (different batches, same guarantees).

    Returns
    -------
    SVIResult
        ``params`` is the final :class:`vi_lib.BayesianGMMVariational`; ``wall_time`` counts
        initialisation and steps, not evaluations or callbacks.

    References
    ----------
    hoffman2013stochastic (Figure 4); robbins1951stochastic; bishop2006pattern (Section 10.2).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "fit_bgmm_svi"
    data = _check_rows(data, where)
    n, d = data.shape
    k = check_int("n_components", n_components, minimum=1, where=where)
    prior = _check_prior(prior, where, dim=d)
    batch_size = check_int("batch_size", batch_size, minimum=1, where=where)
    if batch_size > n:
        raise ValidationError(f"{where}: `batch_size` must be an integer in 1..N = {n} (the rows of `data`); "
                              f"received {batch_size}.")
    n_steps = check_int("n_steps", n_steps, minimum=1, where=where)
    rng = check_rng(rng, where)
    if step_sizes is None:
        try:
            rhos = robbins_monro_step_size(np.arange(1, n_steps + 1), tau, kappa)
        except ValidationError as err:
            raise ValidationError(str(err).replace("robbins_monro_step_size", where, 1)) from None
    else:
        rhos = check_finite("step_sizes", check_shape("step_sizes", step_sizes, (n_steps,), where=where), where=where)
        if np.any(rhos <= 0) or np.any(rhos > 1):
            raise ValidationError(f"{where}: `step_sizes` must lie in (0, 1] (a convex combination of natural "
                                  f"parameters); received {describe(rhos)}.")
    if init is not None:
        init = _check_q(init, where, dim=d, name="init", dim_name="`data`")
        if init.n_components != k:
            raise ValidationError(f"{where}: `init` must have K = n_components = {k} components; received "
                                  f"K = {init.n_components}.")
    if eval_x is not None:
        eval_x = _check_data(eval_x, where, "eval_x")
        if eval_x.shape[1] != d:
            raise ValidationError(f"{where}: `eval_x` must have D = {d} columns (those of `data`); received "
                                  f"{describe(eval_x)}.")
    eval_every = check_int("eval_every", eval_every, minimum=1, where=where)
    if callback is not None and not callable(callback):
        raise ValidationError(f"{where}: `callback` must be callable or None; received {type(callback).__name__}.")
    low_memory = check_bool("low_memory", low_memory, where=where)
    batches = _generate(data, batch_size, rng, n_steps, where, low_memory=low_memory)

    elapsed = 0.0
    start = time.perf_counter()
    q = _svi_init(data, k, prior, rng, batch_size) if init is None else init
    q0 = q
    eta = _to_natural(q, prior.mean)
    elapsed += time.perf_counter() - start
    steps, times, scores = [], [], []

    def evaluate(t: int) -> None:
        if eval_x is not None:
            steps.append(t)
            times.append(elapsed)
            scores.append(float(np.mean(bgmm_predictive_log_density(eval_x, q))))

    evaluate(0)
    for t in range(1, n_steps + 1):
        start = time.perf_counter()
        x_batch = next(batches)[1]  # reading the batch (from disk for a memory map) is timed
        q, eta = _svi_step(x_batch, q, eta, prior, n, float(rhos[t - 1]))
        elapsed += time.perf_counter() - start
        if t % eval_every == 0 or t == n_steps:
            evaluate(t)
        if callback is not None:
            call_user(callback, t, q)
    final = BayesianGMMVariational(q.concentration, q.mean_precision, q.means, q.dof, q.scale)  # checked
    return SVIResult(params=final, initial_params=q0, n_steps=n_steps, batch_size=batch_size, step_sizes=rhos,
                     wall_time=elapsed, eval_steps=np.asarray(steps, dtype=int), eval_times=np.asarray(times),
                     eval_log_pred=np.asarray(scores))
