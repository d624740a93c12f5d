"""Latent Dirichlet allocation (Blei, Ng and Jordan 2003): corpora, a generative sampler, topic matching.

With :math:`K` topics over a vocabulary of :math:`V` words and :math:`D` documents,

.. math::

    \\beta_k &\\sim \\mathrm{Dir}(\\eta \\mathbf{1}_V), \\qquad
    \\theta_d \\sim \\mathrm{Dir}(\\alpha \\mathbf{1}_K), \\\\
    z_{dn} &\\sim \\mathrm{Cat}(\\theta_d), \\qquad
    w_{dn} \\mid z_{dn} = k \\sim \\mathrm{Cat}(\\beta_k).

Only the word counts of a document matter (bag of words), so a corpus is a (D, V) document-term
count matrix, stored as a :class:`scipy.sparse.csr_matrix` (what scikit-learn's
``LatentDirichletAllocation`` takes).

* :func:`corpus_from_token_ids` builds that matrix from lists of token ids;
* :func:`sample_lda_corpus` draws a corpus from the model, with its true topics and proportions;
* :func:`match_topics` pairs learned topics with true ones (topics are identified only up to a
  permutation) by the Hungarian algorithm on the Hellinger or total-variation distance.

The stochastic variational inference that fits it is in :mod:`vi_lib.inference.lda_svi`.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from .._validation import (
    ValidationError,
    as_array,
    check_int,
    check_rng,
    check_scalar,
    describe,
)

__all__ = [
    "LDACorpusSample",
    "corpus_from_token_ids",
    "sample_lda_corpus",
    "match_topics",
]

_DISTANCES = ("hellinger", "total_variation")


def _check_counts(counts: Any, where: str, name: str = "counts", vocab_size: int | None = None,
                  ) -> sp.csr_matrix:
    """``counts`` as a (D, V) CSR matrix of float64 holding finite, non-negative integers, D >= 1, V >= 1.

    Accepts a SciPy sparse matrix or anything :func:`numpy.asarray` turns into a 2-D numeric array.
    Explicit zeros are dropped, so ``data`` holds only the positive counts of each row.
    """
    if sp.issparse(counts):
        mat = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        if mat.ndim != 2:  # pragma: no cover - scipy sparse matrices are 2-D
            raise ValidationError(f"{where}: `{name}` must be a 2-D (D, V) count matrix; received {describe(counts)}.")
        data = mat.data
    else:
        arr = as_array(name, counts, ndim=2, where=where)
        data = arr
    if not np.all(np.isfinite(data)):
        raise ValidationError(f"{where}: `{name}` must be finite (no NaN or infinity); received "
                              f"{describe(counts) if not sp.issparse(counts) else 'a sparse matrix with NaN/inf'}.")
    if np.any(data < 0):
        raise ValidationError(f"{where}: `{name}` must hold non-negative counts; received a minimum entry "
                              f"{float(data.min()):.6g}.")
    if np.any(data != np.round(data)):
        bad = data[data != np.round(data)][0]
        raise ValidationError(f"{where}: `{name}` must hold integer counts; received an entry {float(bad):.6g}.")
    if not sp.issparse(counts):
        mat = sp.csr_matrix(data)
    if mat.shape[0] < 1 or mat.shape[1] < 1:
        raise ValidationError(f"{where}: `{name}` must be of shape (D, V) with D >= 1 and V >= 1; received "
                              f"shape {mat.shape}.")
    if vocab_size is not None and mat.shape[1] != vocab_size:
        raise ValidationError(f"{where}: `{name}` must have V = {vocab_size} columns (the columns of `lam`); "
                              f"received shape {mat.shape}.")
    mat.eliminate_zeros()
    mat.sort_indices()
    return mat


def _check_concentration(name: str, value: Any, where: str) -> float:
    """A symmetric Dirichlet concentration: a finite scalar > 0."""
    if value is None or isinstance(value, (str, bytes, bool)):
        raise ValidationError(f"{where}: `{name}` must be a finite positive scalar; received {describe(value)}.")
    return check_scalar(name, value, where, positive=True)


def _check_topic_matrix(name: str, value: Any, where: str, *, k: int | None = None, v: int | None = None,
                        ) -> np.ndarray:
    """A (K, V) array of finite, non-negative rows with positive sums, normalised to distributions."""
    arr = as_array(name, value, ndim=2, where=where)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValidationError(f"{where}: `{name}` must be of shape (K, V) with K >= 1 and V >= 1; received "
                              f"{describe(arr)}.")
    if (k is not None and arr.shape[0] != k) or (v is not None and arr.shape[1] != v):
        want = f"({'K' if k is None else k}, {'V' if v is None else v})"
        raise ValidationError(f"{where}: `{name}` must be of shape {want}; received {describe(arr)}.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr.sum(axis=1) <= 0):
        raise ValidationError(f"{where}: `{name}` must have finite, non-negative rows with positive sums; "
                              f"received {describe(arr)}.")
    return arr / arr.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class LDACorpusSample:
    """A corpus drawn from LDA with the parameters that generated it (built by :func:`sample_lda_corpus`).

    Attributes
    ----------
    counts : scipy.sparse.csr_matrix of shape (D, V)
        Document-term counts (float64 holding integers).
    topics : numpy.ndarray of shape (K, V)
        True topic-word distributions :math:`\\beta_k` (rows sum to one).
    doc_topics : numpy.ndarray of shape (D, K)
        True document-topic proportions :math:`\\theta_d` (rows sum to one).
    """

    counts: sp.csr_matrix
    topics: np.ndarray
    doc_topics: np.ndarray


def corpus_from_token_ids(docs: Any, vocab_size: int) -> sp.csr_matrix:
    """The (D, V) document-term count matrix of documents given as sequences of token ids.

    .. math::

        n_{dw} = \\#\\{\\, i : \\mathrm{docs}[d][i] = w \\,\\}, \\qquad 0 \\le w < V.

    An empty document gives a row of zeros.

    Parameters
    ----------
    docs : sequence of sequences of int
        One sequence of token ids per document; at least one document. Each id is an integer in
        ``[0, vocab_size)``.
    vocab_size : int
        Vocabulary size V, at least 1.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (D, V)
        Counts as float64 (integer values), sorted indices, no explicit zeros.

    Raises
    ------
    ValidationError
        If ``docs`` is not a non-empty sequence of sequences of integers, or an id is out of the
        vocabulary (the message names the document and the id).

    References
    ----------
    blei2003latent.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "corpus_from_token_ids"
    v = check_int("vocab_size", vocab_size, minimum=1, where=where)
    if docs is None or isinstance(docs, (str, bytes)) or not hasattr(docs, "__len__") or len(docs) < 1:
        raise ValidationError(f"{where}: `docs` must be a non-empty sequence of sequences of token ids; "
                              f"received {describe(docs)}.")
    rows, cols = [], []
    for d, doc in enumerate(docs):
        if doc is None or isinstance(doc, (str, bytes)) or not hasattr(doc, "__len__"):
            raise ValidationError(f"{where}: `docs[{d}]` must be a sequence of integer token ids; "
                                  f"received {describe(doc)}.")
        ids = np.asarray(doc)
        if ids.size == 0:
            continue
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValidationError(f"{where}: `docs[{d}]` must be a 1-D sequence of integer token ids; "
                                  f"received {describe(ids)}.")
        bad = (ids < 0) | (ids >= v)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValidationError(f"{where}: `docs[{d}]` must hold token ids in [0, {v}) (vocab_size = {v}); "
                                  f"received id {int(ids[i])} at position {i}.")
        rows.append(np.full(ids.size, d, dtype=np.int64))
        cols.append(ids.astype(np.int64))
    n = len(docs)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    mat = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, v))  # duplicates are summed
    mat.sum_duplicates()
    mat.sort_indices()
    return mat


def sample_lda_corpus(n_docs: int, vocab_size: int, n_topics: int, doc_length: int, alpha: float, eta: float,
                      rng: np.random.Generator, *, topics: np.ndarray | None = None) -> LDACorpusSample:
    """Draw a corpus from LDA: topics, document proportions, then each document's word counts.

    .. math::

        \\beta_k \\sim \\mathrm{Dir}(\\eta \\mathbf{1}_V), \\quad
        \\theta_d \\sim \\mathrm{Dir}(\\alpha \\mathbf{1}_K), \\quad
        n_{d\\cdot} \\sim \\mathrm{Mult}\\big(L, \\textstyle\\sum_k \\theta_{dk} \\beta_k\\big),

    the last being the sum over the :math:`L` words of the topic draws :math:`z_{dn}` (it is the
    document's distribution with :math:`z` summed out). A sparse :math:`\\eta < 1` gives topics with few
    heavy words, which documents of a few hundred words make recoverable; ``topics`` passes fixed ones
    (for example "bar" topics) instead.

    Parameters
    ----------
    n_docs : int
        Number of documents D, at least 1.
    vocab_size : int
        Vocabulary size V, at least 1.
    n_topics : int
        Number of topics K, at least 1.
    doc_length : int
        Words per document L, at least 1.
    alpha : float
        Symmetric Dirichlet concentration of :math:`\\theta_d`, positive.
    eta : float
        Symmetric Dirichlet concentration of :math:`\\beta_k`, positive (ignored when ``topics`` is given).
    rng : numpy.random.Generator
        Source of randomness.
    topics : array of shape (K, V), optional
        Fixed topics: non-negative rows with positive sums (normalised here).

    Returns
    -------
    LDACorpusSample
        Counts (D, V), true topics (K, V), true proportions (D, K).

    References
    ----------
    blei2003latent; hoffman2010online.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "sample_lda_corpus"
    d = check_int("n_docs", n_docs, minimum=1, where=where)
    v = check_int("vocab_size", vocab_size, minimum=1, where=where)
    k = check_int("n_topics", n_topics, minimum=1, where=where)
    length = check_int("doc_length", doc_length, minimum=1, where=where)
    a = _check_concentration("alpha", alpha, where)
    e = _check_concentration("eta", eta, where)
    rng = check_rng(rng, where)
    if topics is None:
        beta = rng.dirichlet(np.full(v, e), size=k)
    else:
        beta = _check_topic_matrix("topics", topics, where, k=k, v=v)
    theta = rng.dirichlet(np.full(k, a), size=d)
    probs = theta @ beta
    probs /= probs.sum(axis=1, keepdims=True)
    counts = np.stack([rng.multinomial(length, p) for p in probs])
    mat = sp.csr_matrix(counts.astype(np.float64))
    mat.sort_indices()
    return LDACorpusSample(counts=mat, topics=beta, doc_topics=theta)


def match_topics(learned: np.ndarray, true: np.ndarray, *, distance: str = "hellinger",
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pair learned topics with true ones by the Hungarian algorithm on a distance between distributions.

    Rows are normalised first, so the variational parameter :math:`\\lambda` can be passed directly
    (its normalised rows are :math:`\\mathbb{E}_q[\\beta_k]`). With :math:`p, q` two rows,

    .. math::

        H(p, q) = \\sqrt{\\tfrac12 \\textstyle\\sum_w (\\sqrt{p_w} - \\sqrt{q_w})^2}, \\qquad
        \\mathrm{TV}(p, q) = \\tfrac12 \\textstyle\\sum_w |p_w - q_w|,

    both in [0, 1]. The permutation :math:`\\sigma` minimises :math:`\\sum_k d(\\hat\\beta_{\\sigma(k)},
    \\beta_k)` (``scipy.optimize.linear_sum_assignment``).

    Parameters
    ----------
    learned : array of shape (K, V)
        Learned topics (or :math:`\\lambda`): finite, non-negative rows with positive sums.
    true : array of shape (K, V)
        True topics, same constraints.
    distance : {"hellinger", "total_variation"}
        The distance between rows.

    Returns
    -------
    permutation : numpy.ndarray of int, shape (K,)
        ``learned[permutation[k]]`` is matched with ``true[k]``.
    distances : numpy.ndarray of shape (K,)
        The distance of each matched pair, in [0, 1].

    References
    ----------
    kuhn1955hungarian.

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "match_topics"
    t = _check_topic_matrix("true", true, where)
    lrn = _check_topic_matrix("learned", learned, where, k=t.shape[0], v=t.shape[1])
    if distance not in _DISTANCES:
        raise ValidationError(f"{where}: `distance` must be one of {_DISTANCES}; received {describe(distance)}.")
    if distance == "hellinger":
        diff = np.sqrt(lrn)[:, None, :] - np.sqrt(t)[None, :, :]
        cost = np.sqrt(0.5 * np.sum(diff * diff, axis=2))
    else:
        cost = 0.5 * np.sum(np.abs(lrn[:, None, :] - t[None, :, :]), axis=2)
    row, col = linear_sum_assignment(cost)
    perm = np.empty(t.shape[0], dtype=np.int64)
    perm[col] = row
    return perm, cost[perm, np.arange(t.shape[0])]
