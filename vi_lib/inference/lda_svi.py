"""Stochastic variational inference for latent Dirichlet allocation (Hoffman, Blei and Bach 2010).

The model is in :mod:`vi_lib.models.lda`. The mean-field family is

.. math::

    q(\\beta, \\theta, z) = \\prod_k \\mathrm{Dir}(\\beta_k \\mid \\lambda_k)
    \\prod_d \\mathrm{Dir}(\\theta_d \\mid \\gamma_d) \\prod_{d,n} \\mathrm{Cat}(z_{dn} \\mid \\phi_{dn}),

with the global parameter :math:`\\lambda` of shape (K, V) and, per document, the local parameters
:math:`\\gamma_d` (K,) and :math:`\\phi_{dw}` (K,). One SVI step samples a minibatch :math:`B` of documents,
fits their local parameters with :math:`\\lambda` fixed (:func:`lda_local_step`), forms the
intermediate global parameter as if the minibatch were replicated :math:`D / |B|` times
(:func:`lda_intermediate_lambda`), and moves :math:`\\lambda` towards it by a natural-gradient step of
size :math:`\\rho_t = (t + \\tau)^{-\\kappa}` (:func:`lda_global_step`). :func:`fit_lda_svi` runs the
loop; :func:`lda_perplexity` evaluates held-out documents.

All functions are pure: the state is :math:`\\lambda` and the step counter, randomness comes from an
explicit :class:`numpy.random.Generator`. The parameters map to scikit-learn's
``LatentDirichletAllocation(learning_method="online")`` as ``doc_topic_prior`` = :math:`\\alpha`,
``topic_word_prior`` = :math:`\\eta`, ``learning_offset`` = :math:`\\tau`, ``learning_decay`` =
:math:`\\kappa`, ``total_samples`` = D, ``components_`` = :math:`\\lambda`, ``max_doc_update_iter`` =
``max_iter`` and ``mean_change_tol`` = ``tol``; its step counter ``n_batch_iter_`` starts at 1, as
:math:`t` does here.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import digamma, gammaln, logsumexp

from .._validation import (
    ValidationError,
    as_array,
    check_bool,
    check_int,
    check_rng,
    check_scalar,
    describe,
    float64_guard,
)
from ..models.lda import _check_concentration, _check_counts
from .svi import robbins_monro_step_size

__all__ = [
    "LDASVIResult",
    "lda_local_step",
    "lda_intermediate_lambda",
    "lda_global_step",
    "lda_perplexity",
    "fit_lda_svi",
]

_EPS = float(np.finfo(np.float64).eps)  # added to each word's normaliser, as scikit-learn does
_CHUNK = 1 << 20  # entries of (nnz, K) work arrays formed at once by the bound
_COMPACT = 0.5  # the working set of the local step is compacted when at most this fraction of it is live


# ---------------------------------------------------------------------------------------------
# Validation helpers.
# ---------------------------------------------------------------------------------------------


def _check_lambda(lam: Any, where: str, name: str = "lam", *, k: int | None = None, v: int | None = None,
                  ) -> np.ndarray:
    """The global parameter: a (K, V) array of finite, positive entries."""
    arr = as_array(name, lam, ndim=2, where=where)
    if arr.shape[0] < 1 or arr.shape[1] < 1 or (k is not None and arr.shape[0] != k) or \
            (v is not None and arr.shape[1] != v):
        want = f"({'K' if k is None else k}, {'V' if v is None else v})"
        raise ValidationError(f"{where}: `{name}` must be of shape {want} with K >= 1 and V >= 1; "
                              f"received {describe(arr)}.")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValidationError(f"{where}: `{name}` must be finite and positive (Dirichlet parameters); "
                              f"received {describe(arr)}.")
    return arr


def _check_local_controls(max_iter: Any, tol: Any, where: str) -> tuple[int, float]:
    it = check_int("max_iter", max_iter, minimum=1, where=where)
    if tol is None or isinstance(tol, (str, bytes, bool)):
        raise ValidationError(f"{where}: `tol` must be a finite scalar >= 0; received {describe(tol)}.")
    t = check_scalar("tol", tol, where)
    if t < 0:
        raise ValidationError(f"{where}: `tol` must be a finite scalar >= 0; received {t!r}.")
    return it, t


def _check_schedule(tau: Any, kappa: Any, where: str) -> tuple[float, float]:
    """Robbins-Monro schedule: tau >= 0 and kappa in (0.5, 1], so sum rho = inf and sum rho^2 < inf."""
    for name, value in (("tau", tau), ("kappa", kappa)):
        if value is None or isinstance(value, (str, bytes, bool)):
            raise ValidationError(f"{where}: `{name}` must be a finite scalar; received {describe(value)}.")
    t = check_scalar("tau", tau, where)
    if t < 0:
        raise ValidationError(f"{where}: `tau` must be a finite scalar >= 0 (the delay); received {t!r}.")
    k = check_scalar("kappa", kappa, where)
    if not 0.5 < k <= 1.0:
        raise ValidationError(f"{where}: `kappa` must be in (0.5, 1] (Robbins-Monro conditions); received {k!r}.")
    return t, k


# ---------------------------------------------------------------------------------------------
# The computations, unvalidated (the fit loop calls these directly).
# ---------------------------------------------------------------------------------------------


def _dirichlet_expectation(a: np.ndarray) -> np.ndarray:
    """:math:`\\mathbb{E}[\\ln x_j] = \\psi(a_j) - \\psi(\\sum_i a_i)` for each row of ``a``."""
    return digamma(a) - digamma(a.sum(axis=1))[:, None]


def _rows_of(indptr: np.ndarray) -> np.ndarray:
    """The row index of every stored entry of a CSR matrix."""
    return np.repeat(np.arange(indptr.size - 1), np.diff(indptr))


def _local(x: sp.csr_matrix, exp_elog_beta: np.ndarray, alpha: float, max_iter: int, tol: float,
           gamma0: np.ndarray, need_sstats: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Batch-vectorised fixed point on (gamma, phi); each document stops as scikit-learn's loop would.

    Works on the stored entries of ``x`` only: per iteration two passes of (nnz, K) arithmetic and one
    sparse-dense product. A document whose mean absolute change of gamma falls below ``tol`` is frozen;
    the working set is compacted when it is at most half live.
    """
    n_docs, vocab = x.shape
    ebt = np.ascontiguousarray(exp_elog_beta.T)  # (V, K)
    gamma = np.array(gamma0, dtype=np.float64, copy=True)
    exp_elog_theta = np.exp(_dirichlet_expectation(gamma))

    work = np.arange(n_docs)
    xw = x
    gw = ebt[xw.indices]  # exp E[log beta] at each stored entry, (nnz, K)
    rows_w = _rows_of(xw.indptr)
    ratio = xw.copy()  # its ``data`` is overwritten each iteration (no CSR rebuilt and re-checked)
    live = np.ones(n_docs, dtype=bool)
    for _ in range(max_iter):
        et = exp_elog_theta[work]
        norm_phi = np.einsum("ij,ij->i", et[rows_w], gw)
        norm_phi += _EPS
        np.divide(xw.data, norm_phi, out=ratio.data)
        new = et * (ratio @ ebt)
        new += alpha
        new_et = np.exp(_dirichlet_expectation(new))
        idx = work[live]
        change = np.mean(np.abs(new[live] - gamma[idx]), axis=1)
        gamma[idx] = new[live]
        exp_elog_theta[idx] = new_et[live]
        live_pos = np.flatnonzero(live)
        live[live_pos[change < tol]] = False
        n_live = int(live.sum())
        if n_live == 0:
            break
        if n_live <= _COMPACT * work.size:
            work = work[live]
            xw = x[work]
            gw = ebt[xw.indices]
            rows_w = _rows_of(xw.indptr)
            ratio = xw.copy()
            live = np.ones(work.size, dtype=bool)
    if not need_sstats:
        return gamma, None
    rows = _rows_of(x.indptr)
    norm_phi = np.einsum("ij,ij->i", exp_elog_theta[rows], ebt[x.indices])
    norm_phi += _EPS
    ratio = sp.csr_matrix((x.data / norm_phi, x.indices, x.indptr), shape=x.shape)
    sstats = np.asarray((ratio.T @ exp_elog_theta).T)
    sstats *= exp_elog_beta
    return gamma, sstats


def _dirichlet_terms(prior: float, post: np.ndarray, elog: np.ndarray) -> float:
    """Sum over rows of :math:`\\mathbb{E}_q[\\ln \\mathrm{Dir}(x \\mid \\text{prior})
    - \\ln \\mathrm{Dir}(x \\mid \\text{post})]`."""
    size = post.shape[1]
    return float(np.sum((prior - post) * elog) + np.sum(gammaln(post)) - post.size * gammaln(prior)
                 + post.shape[0] * gammaln(prior * size) - np.sum(gammaln(post.sum(axis=1))))


def _bound(x: sp.csr_matrix, gamma: np.ndarray, lam: np.ndarray, alpha: float, eta: float, scale: float) -> float:
    """scikit-learn's ``_approx_bound``: document terms (times ``scale``) plus the topic terms."""
    elog_theta = _dirichlet_expectation(gamma)
    elog_beta_t = np.ascontiguousarray(_dirichlet_expectation(lam).T)  # (V, K)
    rows = _rows_of(x.indptr)
    k = lam.shape[0]
    step = max(1, _CHUNK // k)
    words = 0.0
    for s in range(0, x.data.size, step):
        sl = slice(s, s + step)
        words += float(np.dot(x.data[sl], logsumexp(elog_theta[rows[sl]] + elog_beta_t[x.indices[sl]], axis=1)))
    docs = words + _dirichlet_terms(alpha, gamma, elog_theta)
    return scale * docs + _dirichlet_terms(eta, lam, elog_beta_t.T)


def _perplexity(x: sp.csr_matrix, lam: np.ndarray, alpha: float, eta: float, max_iter: int, tol: float,
                n_docs_total: int | None) -> float:
    gamma, _ = _local(x, np.exp(_dirichlet_expectation(lam)), alpha, max_iter, tol, np.ones((x.shape[0], lam.shape[0])),
                      need_sstats=False)
    scale = 1.0 if n_docs_total is None else n_docs_total / x.shape[0]
    n_words = float(x.data.sum()) * scale
    return float(np.exp(-_bound(x, gamma, lam, alpha, eta, scale) / n_words))


# ---------------------------------------------------------------------------------------------
# Public steps.
# ---------------------------------------------------------------------------------------------


def lda_local_step(counts_batch: Any, lam: np.ndarray, alpha: float, *, max_iter: int = 100, tol: float = 1e-3,
                   init_gamma: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local step of SVI for LDA: fit each document's :math:`(\\gamma_d, \\phi_d)` with :math:`\\lambda` fixed.

    With :math:`\\mathbb{E}[\\ln \\theta_{dk}] = \\psi(\\gamma_{dk}) - \\psi(\\sum_j \\gamma_{dj})` and
    :math:`\\mathbb{E}[\\ln \\beta_{kw}] = \\psi(\\lambda_{kw}) - \\psi(\\sum_v \\lambda_{kv})`, iterate

    .. math::

        \\phi_{dwk} &\\propto \\exp\\{\\mathbb{E}[\\ln \\theta_{dk}] + \\mathbb{E}[\\ln \\beta_{kw}]\\}, \\\\
        \\gamma_{dk} &= \\alpha + \\textstyle\\sum_w n_{dw} \\phi_{dwk},

    for each document until the mean absolute change of :math:`\\gamma_d` is below ``tol`` (or
    ``max_iter`` iterations), then return :math:`\\gamma` and the expected sufficient statistics

    .. math::

        s_{kw} = \\textstyle\\sum_{d \\in B} n_{dw} \\phi_{dwk}.

    The normaliser of :math:`\\phi_{dw}` gets ``2.2e-16`` added and each document stops on its own
    criterion, both as in scikit-learn; the iteration is vectorised over the documents of the batch
    and touches only their non-zero counts.

    Parameters
    ----------
    counts_batch : array or scipy.sparse matrix of shape (B, V)
        Word counts of the minibatch: finite, non-negative integers; B >= 1.
    lam : array of shape (K, V)
        Global variational parameter :math:`\\lambda`, positive.
    alpha : float
        Symmetric Dirichlet prior on :math:`\\theta_d`, positive.
    max_iter : int
        Most fixed-point iterations per document, at least 1.
    tol : float
        Stop a document when :math:`\\tfrac1K \\sum_k |\\gamma^{new}_{dk} - \\gamma^{old}_{dk}|` < ``tol``;
        at least 0 (0 runs ``max_iter`` iterations).
    init_gamma : array of shape (B, K), optional
        Starting :math:`\\gamma`, positive; default all ones (scikit-learn's ``transform``; its training
        E-step draws Gamma(100, 1/100) entries instead).

    Returns
    -------
    gamma : numpy.ndarray of shape (B, K)
        The documents' Dirichlet parameters :math:`\\gamma_d`.
    sstats : numpy.ndarray of shape (K, V)
        :math:`s_{kw} = \\sum_d n_{dw} \\phi_{dwk}`; it sums to the number of words in the batch.

    References
    ----------
    blei2003latent; hoffman2010online (Algorithm 2); hoffman2013stochastic.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "lda_local_step"
    lam = _check_lambda(lam, where)
    k, v = lam.shape
    x = _check_counts(counts_batch, where, "counts_batch", vocab_size=v)
    a = _check_concentration("alpha", alpha, where)
    it, t = _check_local_controls(max_iter, tol, where)
    if init_gamma is None:
        gamma0 = np.ones((x.shape[0], k))
    else:
        gamma0 = as_array("init_gamma", init_gamma, ndim=2, where=where)
        if gamma0.shape != (x.shape[0], k) or not np.all(np.isfinite(gamma0)) or np.any(gamma0 <= 0):
            raise ValidationError(f"{where}: `init_gamma` must be finite and positive of shape ({x.shape[0]}, {k}) "
                                  f"(rows of `counts_batch`, rows of `lam`); received {describe(gamma0)}.")
    gamma, sstats = _local(x, np.exp(_dirichlet_expectation(lam)), a, it, t, gamma0, need_sstats=True)
    return gamma, sstats


def lda_intermediate_lambda(sstats: np.ndarray, eta: float, n_docs_total: int, batch_size: int) -> np.ndarray:
    """The intermediate global parameter: the optimum of :math:`\\lambda` if the batch were the corpus, replicated.

    .. math::

        \\hat\\lambda = \\eta + \\frac{D}{|B|} \\, s,

    with :math:`s` the expected sufficient statistics of the batch (:func:`lda_local_step`). It is the
    coordinate-ascent update of :math:`\\lambda` on a corpus of :math:`D / |B|` copies of the batch; its
    expectation over uniformly drawn batches is the full-corpus update.

    Parameters
    ----------
    sstats : array of shape (K, V)
        Expected sufficient statistics of the batch: finite and non-negative.
    eta : float
        Symmetric Dirichlet prior on the topics, positive.
    n_docs_total : int
        Number of documents D in the corpus, at least 1.
    batch_size : int
        Number of documents :math:`|B|` in the batch, from 1 to ``n_docs_total``.

    Returns
    -------
    numpy.ndarray of shape (K, V)
        :math:`\\hat\\lambda`.

    References
    ----------
    hoffman2010online (Algorithm 2); hoffman2013stochastic.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "lda_intermediate_lambda"
    s = as_array("sstats", sstats, ndim=2, where=where)
    if s.shape[0] < 1 or s.shape[1] < 1 or not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValidationError(f"{where}: `sstats` must be a finite, non-negative array of shape (K, V); "
                              f"received {describe(s)}.")
    e = _check_concentration("eta", eta, where)
    d = check_int("n_docs_total", n_docs_total, minimum=1, where=where)
    b = check_int("batch_size", batch_size, minimum=1, where=where)
    if b > d:
        raise ValidationError(f"{where}: `batch_size` must be an integer in [1, n_docs_total] = [1, {d}]; "
                              f"received {b}.")
    return e + (d / b) * s


def lda_global_step(lam: np.ndarray, lam_hat: np.ndarray, step_size: float) -> np.ndarray:
    """The global SVI step: a natural-gradient step on :math:`\\lambda`, a convex combination.

    .. math::

        \\lambda_{t} = (1 - \\rho_t)\\, \\lambda_{t-1} + \\rho_t\\, \\hat\\lambda_t,

    with :math:`\\rho_t = (t + \\tau)^{-\\kappa}` in :func:`fit_lda_svi`, since the natural gradient of
    the ELBO with respect to :math:`\\lambda` is :math:`\\hat\\lambda -
    \\lambda` (Hoffman et al. 2013).

    Parameters
    ----------
    lam : array of shape (K, V)
        Current :math:`\\lambda`, positive.
    lam_hat : array of shape (K, V)
        Intermediate parameter :math:`\\hat\\lambda`, positive.
    step_size : float
        :math:`\\rho_t` in (0, 1].

    Returns
    -------
    numpy.ndarray of shape (K, V)
        The new :math:`\\lambda`.

    References
    ----------
    hoffman2010online (Algorithm 2); hoffman2013stochastic (Eqs. 26 and 28).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "lda_global_step"
    lam = _check_lambda(lam, where)
    lam_hat = _check_lambda(lam_hat, where, "lam_hat", k=lam.shape[0], v=lam.shape[1])
    if step_size is None or isinstance(step_size, (str, bytes, bool)):
        raise ValidationError(f"{where}: `step_size` must be a scalar in (0, 1]; received {describe(step_size)}.")
    rho = check_scalar("step_size", step_size, where)
    if not 0.0 < rho <= 1.0:
        raise ValidationError(f"{where}: `step_size` must be a scalar in (0, 1]; received {rho!r}.")
    return (1.0 - rho) * lam + rho * lam_hat


@float64_guard
def lda_perplexity(counts: Any, lam: np.ndarray, alpha: float, eta: float, *, max_iter: int = 100,
                   tol: float = 1e-3, n_docs_total: int | None = None) -> float:
    """Per-word perplexity bound of documents under :math:`\\lambda`: scikit-learn's ``perplexity``.

    The documents' :math:`\\gamma` are fitted from all-ones starts with :math:`\\lambda` fixed (as
    ``transform`` does), then

    .. math::

        \\mathcal{B} &= s \\sum_d \\Big[\\sum_w n_{dw} \\ln \\sum_k
        e^{\\mathbb{E}[\\ln \\theta_{dk}] + \\mathbb{E}[\\ln \\beta_{kw}]} \\\\
        &\\qquad + \\mathbb{E}_q[\\ln p(\\theta_d \\mid \\alpha)
        - \\ln q(\\theta_d \\mid \\gamma_d)]\\Big] \\\\
        &\\quad + \\sum_k \\mathbb{E}_q[\\ln p(\\beta_k \\mid \\eta)
        - \\ln q(\\beta_k \\mid \\lambda_k)], \\\\
        \\mathrm{perplexity} &= \\exp\\big(-\\mathcal{B} / (s \\textstyle\\sum_{dw} n_{dw})\\big),

    with Dirichlet densities :math:`p` (prior) and :math:`q` (variational).
    The word term is the ELBO after optimising :math:`\\phi` in closed form. :math:`\\mathcal{B}` is the
    ELBO of these documents (with the topic term of the whole model), a lower bound on
    :math:`\\ln p(\\text{documents})`, so the result is an upper bound on the per-word perplexity
    :math:`\\exp(-\\ln p / \\text{words})`. With ``n_docs_total = None``, :math:`s = 1` (scikit-learn's
    ``perplexity(X)``): the corpus-level topic term is counted once, against these documents' words
    only, so it inflates the perplexity of a small held-out set. With ``n_docs_total = D``,
    :math:`s = D / \\#\\text{docs}` (``perplexity(X, sub_sampling=True)`` with ``total_samples = D``).

    Parameters
    ----------
    counts : array or scipy.sparse matrix of shape (N, V)
        Word counts: finite, non-negative integers, N >= 1, with at least one word in total.
    lam : array of shape (K, V)
        Global variational parameter, positive.
    alpha : float
        Symmetric Dirichlet prior on :math:`\\theta_d`, positive.
    eta : float
        Symmetric Dirichlet prior on the topics, positive.
    max_iter : int
        Most fixed-point iterations per document (scikit-learn's ``max_doc_update_iter``).
    tol : float
        Per-document stopping tolerance on the mean change of gamma (``mean_change_tol``), at least 0.
    n_docs_total : int, optional
        Corpus size D to scale the document terms to, at least the number of rows of ``counts``.

    Returns
    -------
    float
        The perplexity bound, per word (>= 1 nats-exponentiated; lower is better).

    References
    ----------
    blei2003latent; hoffman2010online; pedregosa2011scikit.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "lda_perplexity"
    lam = _check_lambda(lam, where)
    x = _check_counts(counts, where, vocab_size=lam.shape[1])
    if x.data.sum() <= 0:
        raise ValidationError(f"{where}: `counts` must hold at least one word; received an all-zero matrix of "
                              f"shape {x.shape}.")
    a = _check_concentration("alpha", alpha, where)
    e = _check_concentration("eta", eta, where)
    it, t = _check_local_controls(max_iter, tol, where)
    d = None
    if n_docs_total is not None:
        d = check_int("n_docs_total", n_docs_total, minimum=1, where=where)
        if d < x.shape[0]:
            raise ValidationError(f"{where}: `n_docs_total` must be at least the number of documents in `counts` "
                                  f"({x.shape[0]}); received {d}.")
    return _perplexity(x, lam, a, e, it, t, d)


# ---------------------------------------------------------------------------------------------
# The loop.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LDASVIResult:
    """Result of :func:`fit_lda_svi`.

    Attributes
    ----------
    lam : numpy.ndarray of shape (K, V)
        Final global parameter :math:`\\lambda` (scikit-learn's ``components_``).
    n_steps : int
        Number of SVI steps (minibatches) taken.
    docs_seen : numpy.ndarray of int, shape (E,)
        Documents processed when each held-out evaluation was made (0 for the initial :math:`\\lambda`).
    perplexity : numpy.ndarray of shape (E,)
        Held-out perplexity bound (:func:`lda_perplexity`) at those points; empty without ``eval_counts``.
    wall_time : float
        Seconds spent in the SVI steps, evaluations excluded.
    step_sizes : numpy.ndarray of shape (n_steps,)
        The :math:`\\rho_t` used.
    """

    lam: np.ndarray
    n_steps: int
    docs_seen: np.ndarray
    perplexity: np.ndarray
    wall_time: float
    step_sizes: np.ndarray


@float64_guard
def fit_lda_svi(counts: Any, n_topics: int, *, alpha: float, eta: float, rng: np.random.Generator,
                batch_size: int = 128, tau: float = 10.0, kappa: float = 0.7, n_epochs: int = 1,
                init_lambda: np.ndarray | None = None, eval_counts: Any = None, eval_every: int = 10,
                max_iter: int = 100, tol: float = 1e-3, shuffle: bool = True) -> LDASVIResult:
    """Stochastic variational inference for LDA (online LDA, Hoffman, Blei and Bach 2010, Algorithm 2).

    For :math:`t = 1, 2, \\dots`: take the next minibatch :math:`B` of documents, run
    :func:`lda_local_step` from :math:`\\gamma` drawn from Gamma(100, 1/100) (as scikit-learn and
    Hoffman's code do), and update

    .. math::

        \\rho_t = (t + \\tau)^{-\\kappa}, \\qquad
        \\lambda \\leftarrow (1 - \\rho_t)\\lambda + \\rho_t\\Big(\\eta + \\frac{D}{|B|} s_B\\Big).

    Each epoch visits every document once, in a fresh random order (``shuffle``) or in row order
    (scikit-learn's ``fit``); the last batch of an epoch may be smaller, and its :math:`D/|B|` uses its
    own size. :math:`t` starts at 1 as scikit-learn's ``n_batch_iter_`` does (Hoffman's Algorithm 2 counts
    from 0: the same schedule with :math:`\\tau` one larger).

    Parameters
    ----------
    counts : array or scipy.sparse matrix of shape (D, V)
        Training counts: finite, non-negative integers.
    n_topics : int
        Number of topics K, at least 1.
    alpha : float
        Symmetric Dirichlet prior on each :math:`\\theta_d`, positive.
    eta : float
        Symmetric Dirichlet prior on each topic, positive.
    rng : numpy.random.Generator
        Source of the batch order, the initial :math:`\\lambda` and the initial :math:`\\gamma`.
    batch_size : int
        Documents per step, from 1 to D.
    tau : float
        Delay :math:`\\tau \\ge 0` (scikit-learn's ``learning_offset``).
    kappa : float
        Forgetting rate :math:`\\kappa \\in (0.5, 1]` (``learning_decay``).
    n_epochs : int
        Passes over the corpus, at least 1.
    init_lambda : array of shape (K, V), optional
        Starting :math:`\\lambda`, positive; default Gamma(100, 1/100) draws (scikit-learn's).
    eval_counts : array or scipy.sparse matrix of shape (N, V), optional
        Held-out documents whose perplexity is recorded.
    eval_every : int
        Evaluate every this many steps (and at the start and the end), at least 1.
    max_iter : int
        Most local iterations per document, at least 1.
    tol : float
        Local stopping tolerance, at least 0.
    shuffle : bool
        Draw a random document order each epoch (True) or use row order (False).

    Returns
    -------
    LDASVIResult
        Final :math:`\\lambda`, the held-out perplexity trace and the wall time of the steps.

    References
    ----------
    hoffman2010online (Algorithm 2); hoffman2013stochastic; robbins1951stochastic.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "fit_lda_svi"
    x = _check_counts(counts, where)
    n_docs, vocab = x.shape
    k = check_int("n_topics", n_topics, minimum=1, where=where)
    a = _check_concentration("alpha", alpha, where)
    e = _check_concentration("eta", eta, where)
    rng = check_rng(rng, where)
    b = check_int("batch_size", batch_size, minimum=1, where=where)
    if b > n_docs:
        raise ValidationError(f"{where}: `batch_size` must be an integer in [1, D] = [1, {n_docs}] (the rows of "
                              f"`counts`); received {b}.")
    tau_, kappa_ = _check_schedule(tau, kappa, where)
    epochs = check_int("n_epochs", n_epochs, minimum=1, where=where)
    every = check_int("eval_every", eval_every, minimum=1, where=where)
    it, tl = _check_local_controls(max_iter, tol, where)
    shuffle = check_bool("shuffle", shuffle, where=where)
    if init_lambda is None:
        lam = rng.gamma(100.0, 0.01, (k, vocab))
    else:
        lam = _check_lambda(init_lambda, where, "init_lambda", k=k, v=vocab).copy()
    x_eval = None
    if eval_counts is not None:
        x_eval = _check_counts(eval_counts, where, "eval_counts", vocab_size=vocab)
        if x_eval.data.sum() <= 0:
            raise ValidationError(f"{where}: `eval_counts` must hold at least one word; received an all-zero "
                                  f"matrix of shape {x_eval.shape}.")

    seen, perp, rhos = [], [], []

    def evaluate(n_seen: int) -> None:
        if x_eval is not None:
            seen.append(n_seen)
            perp.append(_perplexity(x_eval, lam, a, e, it, tl, None))

    evaluate(0)
    wall, step, n_seen = 0.0, 0, 0
    for _ in range(epochs):
        order = rng.permutation(n_docs) if shuffle else np.arange(n_docs)
        for start in range(0, n_docs, b):
            tic = time.perf_counter()
            idx = order[start:start + b]
            batch = x[idx] if shuffle else x[start:start + b]
            step += 1
            gamma0 = rng.gamma(100.0, 0.01, (idx.size, k))
            _, sstats = _local(batch, np.exp(_dirichlet_expectation(lam)), a, it, tl, gamma0, need_sstats=True)
            rho = float(robbins_monro_step_size(step, tau_, kappa_))
            lam *= 1.0 - rho
            lam += rho * (e + (n_docs / idx.size) * sstats)
            rhos.append(rho)
            n_seen += idx.size
            wall += time.perf_counter() - tic
            if step % every == 0:
                evaluate(n_seen)
    if x_eval is not None and (not seen or seen[-1] != n_seen):
        evaluate(n_seen)
    return LDASVIResult(lam=lam, n_steps=step, docs_seen=np.asarray(seen, dtype=np.int64),
                        perplexity=np.asarray(perp, dtype=np.float64), wall_time=wall,
                        step_sizes=np.asarray(rhos))
