"""Tests for vi_lib.models.lda: the corpus matrix, the generative sampler and topic matching."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from vi_lib import ValidationError, corpus_from_token_ids, match_topics, sample_lda_corpus


def test_corpus_from_token_ids_counts_tokens():
    docs = [[0, 2, 2, 4], [], [1, 1, 1], np.array([4, 0], dtype=np.int32)]
    x = corpus_from_token_ids(docs, 5)
    assert sp.issparse(x) and x.format == "csr" and x.shape == (4, 5)
    expected = np.array([[1, 0, 2, 0, 1], [0, 0, 0, 0, 0], [0, 3, 0, 0, 0], [1, 0, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(x.toarray(), expected)
    assert np.all(x.data > 0) and x.has_sorted_indices  # no explicit zeros


def test_corpus_from_token_ids_names_the_document_and_the_bad_id():
    with pytest.raises(ValidationError, match=r"^corpus_from_token_ids: `docs\[1\]` must hold token ids in \[0, 5\).*"
                                              r"received id 7 at position 2"):
        corpus_from_token_ids([[0, 1], [2, 3, 7]], 5)
    with pytest.raises(ValidationError, match=r"`docs\[0\]` .*received id -1"):
        corpus_from_token_ids([[-1]], 5)
    with pytest.raises(ValidationError, match=r"`docs\[0\]` must be a 1-D sequence of integer token ids"):
        corpus_from_token_ids([[0.5, 1.0]], 5)
    with pytest.raises(ValidationError, match=r"`docs` must be a non-empty sequence"):
        corpus_from_token_ids([], 5)
    with pytest.raises(ValidationError, match=r"`vocab_size` must be an integer >= 1"):
        corpus_from_token_ids([[0]], 0)


def test_sample_lda_corpus_shapes_and_normalisation():
    s = sample_lda_corpus(50, 30, 4, 20, 0.5, 0.1, np.random.default_rng(0))
    assert s.counts.shape == (50, 30) and s.topics.shape == (4, 30) and s.doc_topics.shape == (50, 4)
    np.testing.assert_array_equal(np.asarray(s.counts.sum(axis=1)).ravel(), np.full(50, 20.0))
    np.testing.assert_allclose(s.topics.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(s.doc_topics.sum(axis=1), 1.0, atol=1e-12)
    again = sample_lda_corpus(50, 30, 4, 20, 0.5, 0.1, np.random.default_rng(0))
    np.testing.assert_array_equal(again.counts.toarray(), s.counts.toarray())


def test_sample_lda_corpus_word_frequencies_match_the_model():
    """Monte Carlo: each document's counts have mean L * theta_d beta; the pooled counts agree to 4 standard errors."""
    s = sample_lda_corpus(4000, 8, 3, 25, 1.0, 0.5, np.random.default_rng(1))
    x = s.counts.toarray()
    expected = 25 * s.doc_topics @ s.topics
    p = expected / 25
    se = np.sqrt(np.sum(25 * p * (1 - p), axis=0))  # multinomial variances, documents independent
    assert np.all(np.abs(x.sum(axis=0) - expected.sum(axis=0)) < 4 * se)


def test_sample_lda_corpus_with_fixed_topics():
    topics = np.kron(np.eye(3), np.ones((1, 4)))  # three disjoint "bars" of 4 words
    s = sample_lda_corpus(20, 12, 3, 10, 0.1, 1.0, np.random.default_rng(2), topics=2 * topics)
    np.testing.assert_allclose(s.topics, topics / 4)
    with pytest.raises(ValidationError, match=r"^sample_lda_corpus: `topics` must be of shape \(3, 12\)"):
        sample_lda_corpus(20, 12, 3, 10, 0.1, 1.0, np.random.default_rng(2), topics=topics[:2])


def test_match_topics_recovers_a_permutation():
    rng = np.random.default_rng(3)
    true = rng.dirichlet(np.full(40, 0.1), size=6)
    perm = rng.permutation(6)
    learned = np.empty_like(true)
    learned[perm] = 0.95 * true + 0.05 / 40  # learned[perm[k]] is a smoothed true[k]
    got, dist = match_topics(500.0 * learned, true)  # unnormalised rows (a lambda) are fine
    np.testing.assert_array_equal(got, perm)
    assert np.all(dist < 0.2)
    _, zero = match_topics(true, true, distance="total_variation")
    np.testing.assert_allclose(zero, 0.0, atol=1e-12)
    _, one = match_topics(np.array([[1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(one, 1.0)  # both distances are 1 for disjoint supports
    _, tv = match_topics(np.array([[1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]), distance="total_variation")
    np.testing.assert_allclose(tv, 1.0)
    _, half = match_topics(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]]), distance="total_variation")
    np.testing.assert_allclose(half, 0.5)


def test_match_topics_validation():
    t = np.ones((2, 3))
    with pytest.raises(ValidationError, match=r"^match_topics: `learned` must be of shape \(2, 3\)"):
        match_topics(np.ones((3, 3)), t)
    with pytest.raises(ValidationError, match=r"`true` must have finite, non-negative rows with positive sums"):
        match_topics(t, np.array([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]))
    with pytest.raises(ValidationError, match=r"`distance` must be one of"):
        match_topics(t, t, distance="kl")
