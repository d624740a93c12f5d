"""Tests for vi_lib.inference.lda_svi: SVI for LDA against scikit-learn's online LDA, and on synthetic corpora.

scikit-learn's ``LatentDirichletAllocation(learning_method="online")`` implements the same algorithm
(Hoffman, Blei and Bach 2010). Its E-step draws the starting gamma of a batch from its RandomState with
``gamma(100, 0.01, (B, K))``; we reproduce those draws with a RandomState of the same seed and pass them
as ``init_gamma``, set its ``components_`` and counter ``n_batch_iter_ = 1`` directly, and call its
``_em_step`` once (private, but it is the one minibatch step and has kept its signature since 0.19).

scikit-learn evaluates the digamma function with its own fast approximation (``psi`` in
``_online_lda_fast.pyx``: recurrence to x >= 6, then the asymptotic series to 1/x^6, error near 1e-9).
One step of ours therefore differs from its step by about 1e-8 relative, all of it from the digamma:
with its approximation swapped into our module, the two agree to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d

import vi_lib.inference.lda_svi as lda_svi
from vi_lib import (
    ValidationError,
    fit_lda_svi,
    lda_global_step,
    lda_intermediate_lambda,
    lda_local_step,
    lda_perplexity,
    match_topics,
    robbins_monro_step_size,
    sample_lda_corpus,
)

K, V, D, B = 5, 120, 300, 64
ALPHA, ETA, TAU, KAPPA = 0.2, 0.1, 10.0, 0.7


@pytest.fixture(scope="module")
def corpus():
    return sample_lda_corpus(D, V, K, 80, ALPHA, ETA, np.random.default_rng(0))


def _sklearn(max_iter: int = 50, tol: float = 1e-3, batch_size: int = B) -> LatentDirichletAllocation:
    return LatentDirichletAllocation(n_components=K, doc_topic_prior=ALPHA, topic_word_prior=ETA,
                                     learning_method="online", learning_offset=TAU, learning_decay=KAPPA,
                                     total_samples=D, batch_size=batch_size, max_doc_update_iter=max_iter,
                                     mean_change_tol=tol, n_jobs=1)


def _set_state(lda: LatentDirichletAllocation, lam: np.ndarray, seed: int) -> None:
    """Put scikit-learn's online LDA at lambda = ``lam``, before its first step, drawing gammas from ``seed``."""
    lda._init_latent_vars(lam.shape[1])
    lda.components_ = lam.copy()
    lda.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(lda.components_))
    lda.random_state_ = np.random.RandomState(seed)
    lda.n_batch_iter_ = 1
    lda.n_features_in_ = lam.shape[1]


def _as103_psi(x: np.ndarray) -> np.ndarray:
    """scikit-learn's digamma approximation (Bernardo 1976, AS 103), vectorised, for x > 1e-6."""
    x = np.array(x, dtype=np.float64, copy=True)
    result = np.zeros_like(x)
    small = x < 6
    while np.any(small):
        result[small] -= 1.0 / x[small]
        x[small] += 1
        small = x < 6
    r = 1.0 / x
    result += np.log(x) - 0.5 * r
    r = r * r
    result -= r * ((1.0 / 12.0) - r * ((1.0 / 120.0) - r * (1.0 / 252.0)))
    return result


@pytest.mark.parametrize("tol", [0.0, 1e-3])
def test_one_minibatch_step_equals_sklearn(corpus, tol, monkeypatch):
    lam0 = np.random.default_rng(1).gamma(100.0, 0.01, (K, V))
    batch = corpus.counts[:B]
    lda = _sklearn(tol=tol)
    _set_state(lda, lam0, seed=7)
    lda._em_step(batch, total_samples=D, batch_update=False)

    def ours() -> np.ndarray:
        gamma0 = np.random.RandomState(7).gamma(100.0, 0.01, (B, K))  # scikit-learn's draws
        _, sstats = lda_local_step(batch, lam0, ALPHA, max_iter=50, tol=tol, init_gamma=gamma0)
        lam_hat = lda_intermediate_lambda(sstats, ETA, D, B)
        return lda_global_step(lam0, lam_hat, robbins_monro_step_size(1, TAU, KAPPA))

    rel = np.max(np.abs(ours() - lda.components_) / lda.components_)
    assert rel < 5e-8  # measured 1.1e-8: scipy's digamma against scikit-learn's approximation
    monkeypatch.setattr(lda_svi, "digamma", _as103_psi)
    rel_same_psi = np.max(np.abs(ours() - lda.components_) / lda.components_)
    assert rel_same_psi < 1e-12  # measured ~1e-15: the rest is summation order


def test_local_step_is_a_fixed_point_and_counts_every_word(corpus):
    lam = np.random.default_rng(2).gamma(100.0, 0.01, (K, V)) + corpus.topics * 50
    gamma, sstats = lda_local_step(corpus.counts[:40], lam, ALPHA, max_iter=500, tol=0.0)
    assert np.isclose(sstats.sum(), corpus.counts[:40].sum(), rtol=1e-12)
    # At the fixed point gamma_d = alpha + sum_w n_dw phi_dw, so rows of gamma - alpha sum to the doc lengths.
    np.testing.assert_allclose((gamma - ALPHA).sum(axis=1), np.asarray(corpus.counts[:40].sum(axis=1)).ravel(),
                               rtol=1e-10)
    dense, _ = lda_local_step(corpus.counts[:40].toarray(), lam, ALPHA, max_iter=500, tol=0.0)
    np.testing.assert_allclose(dense, gamma, rtol=1e-12)  # a dense batch gives the same answer


def test_intermediate_and_global_steps():
    s = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(lda_intermediate_lambda(s, 0.5, 100, 10), 0.5 + 10 * s)
    lam, lam_hat = np.ones((2, 3)), np.full((2, 3), 3.0)
    np.testing.assert_allclose(lda_global_step(lam, lam_hat, 1.0), lam_hat)
    np.testing.assert_allclose(lda_global_step(lam, lam_hat, 0.25), 1.5)


def test_fit_is_the_composition_of_the_public_steps(corpus):
    """In row order from a given lambda, the loop only draws the starting gammas; replaying the steps matches it."""
    lam0 = np.random.default_rng(5).gamma(100.0, 0.01, (K, V))
    fit = fit_lda_svi(corpus.counts, K, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(6), batch_size=128, tau=TAU,
                      kappa=KAPPA, init_lambda=lam0, shuffle=False, max_iter=20)
    rng, lam = np.random.default_rng(6), lam0
    for t, start in enumerate(range(0, D, 128), start=1):
        batch = corpus.counts[start:start + 128]  # 128, 128, then 44 documents
        gamma0 = rng.gamma(100.0, 0.01, (batch.shape[0], K))
        _, sstats = lda_local_step(batch, lam, ALPHA, max_iter=20, init_gamma=gamma0)
        rho = (t + TAU) ** -KAPPA
        assert fit.step_sizes[t - 1] == pytest.approx(rho, rel=1e-15)
        lam = lda_global_step(lam, lda_intermediate_lambda(sstats, ETA, D, batch.shape[0]), rho)
    assert fit.n_steps == 3
    np.testing.assert_allclose(fit.lam, lam, rtol=1e-12)
    assert fit.docs_seen.size == 0 and fit.perplexity.size == 0  # no eval_counts


@pytest.mark.parametrize("sub_sampling", [False, True])
def test_perplexity_equals_sklearn(corpus, sub_sampling):
    lda = _sklearn()
    lda.fit(corpus.counts[:200])  # any lambda will do; this one is a fitted one
    held_out = corpus.counts[200:]
    theirs = lda.perplexity(held_out, sub_sampling=sub_sampling)
    ours = lda_perplexity(held_out, lda.components_, ALPHA, ETA, max_iter=50, tol=1e-3,
                          n_docs_total=D if sub_sampling else None)
    assert abs(ours / theirs - 1) < 1e-8  # measured 2e-11 and 2e-10 (digamma approximations again)


def test_perplexity_bound_is_above_the_plug_in_perplexity():
    """One topic (theta = 1): the bound is E_q[ln p(x | beta)] - KL(q(beta) || p(beta)) <= ln p(x | E_q[beta]) by
    Jensen, so its perplexity is above the plug-in one, by at most the KL term spread over the 8 words."""
    x = sp.csr_matrix(np.array([[3.0, 1.0, 0.0], [2.0, 0.0, 2.0]]))
    lam = np.array([[5e5, 1.5e5, 2e5]])
    p = lam[0] / lam[0].sum()
    plug_in = np.exp(-np.sum(x.toarray() @ np.log(p)) / x.sum())
    bound = lda_perplexity(x, lam, 1.0, 1.0)
    assert bound > plug_in
    # the excess is the topic KL term (E_q[log q(beta) - log p(beta)]) spread over 8 words
    assert bound / plug_in < np.exp(30.0 / 8)


@pytest.fixture(scope="module")
def recovery():
    """A corpus with sparse topics (eta = 0.05 over 100 words), 1000 training and 200 held-out documents."""
    s = sample_lda_corpus(1200, 100, 5, 100, 0.1, 0.05, np.random.default_rng(3))
    return s, s.counts[:1000], s.counts[1000:]


def test_svi_recovers_the_topics_and_perplexity_falls(recovery):
    """LDA's ELBO is multimodal: from a random start, a run can merge two topics and split another (in 8
    seeds, about half the runs of ours and 3/8 of scikit-learn's). As in practice, we keep the best of three
    starts by held-out perplexity, which uses no ground truth, and then require every true topic to be
    matched within Hellinger 0.15: the sampling noise of a topic estimated from ~20,000 words over 100 terms
    is about sqrt(99 / (8 * 20000)) ~ 0.025, random lambdas are at 0.65-0.8 and a merged topic at ~0.9."""
    s, x, held_out = recovery
    fits = [fit_lda_svi(x, 5, alpha=0.1, eta=0.05, rng=np.random.default_rng(seed), batch_size=50, tau=1.0,
                        kappa=0.7, n_epochs=3, eval_counts=held_out, eval_every=10) for seed in range(3)]
    best = min(fits, key=lambda r: r.perplexity[-1])
    _, dist = match_topics(best.lam, s.topics)
    _, random_dist = match_topics(np.random.default_rng(9).gamma(100.0, 0.01, (5, 100)), s.topics)
    assert dist.max() < 0.15 and random_dist.min() > 0.5
    assert best.n_steps == 60 and best.docs_seen[-1] == 3000 and best.wall_time > 0
    assert best.perplexity[-1] < 0.2 * best.perplexity[0]
    # after the first evaluation the trace falls, up to minibatch noise of 1%
    assert np.all(np.diff(best.perplexity[1:]) < 0.01 * best.perplexity[1:-1])


def test_svi_matches_sklearn_online_lda_from_the_same_start(recovery):
    """Equal settings and the same initial lambda, documents in row order: the held-out perplexities agree."""
    s, x, held_out = recovery
    lam0 = np.random.default_rng(4).gamma(100.0, 0.01, (5, 100)) + 20 * s.topics  # tilted to the truth (Hellinger 0.68)
    ours = fit_lda_svi(x, 5, alpha=0.1, eta=0.05, rng=np.random.default_rng(0), batch_size=50, tau=1.0, kappa=0.7,
                       n_epochs=2, init_lambda=lam0, shuffle=False)
    lda = LatentDirichletAllocation(n_components=5, doc_topic_prior=0.1, topic_word_prior=0.05,
                                    learning_method="online", learning_offset=1.0, learning_decay=0.7,
                                    total_samples=1000, batch_size=50, n_jobs=1)
    _set_state(lda, lam0, seed=0)
    for _ in range(2):
        lda.partial_fit(x)
    assert lda.n_batch_iter_ - 1 == ours.n_steps == 40
    ours_p = lda_perplexity(held_out, ours.lam, 0.1, 0.05)
    assert abs(ours_p / lda.perplexity(held_out) - 1) < 1e-3  # measured 6.5e-6 (only the gamma draws differ)
    assert np.max(match_topics(ours.lam, lda.components_)[1]) < 0.01  # measured 7e-4


def test_validation_messages(corpus):
    lam = np.ones((K, V))
    x = corpus.counts[:10]
    with pytest.raises(ValidationError, match=r"^fit_lda_svi: `batch_size` must be an integer in \[1, D\] = \[1, 10\]"):
        fit_lda_svi(x, K, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(0), batch_size=11)
    with pytest.raises(ValidationError, match=r"^fit_lda_svi: `batch_size` must be an integer >= 1"):
        fit_lda_svi(x, K, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(0), batch_size=0)
    for kappa in (0.5, 1.01):
        with pytest.raises(ValidationError, match=r"^fit_lda_svi: `kappa` must be in \(0.5, 1\]"):
            fit_lda_svi(x, K, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(0), kappa=kappa, batch_size=5)
    with pytest.raises(ValidationError, match=r"^fit_lda_svi: `tau` must be a finite scalar >= 0"):
        fit_lda_svi(x, K, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(0), tau=-1.0, batch_size=5)
    with pytest.raises(ValidationError, match=r"^fit_lda_svi: `alpha` must be finite and positive"):
        fit_lda_svi(x, K, alpha=0.0, eta=ETA, rng=np.random.default_rng(0), batch_size=5)
    with pytest.raises(ValidationError, match=r"^lda_local_step: `counts_batch` must hold non-negative counts"):
        lda_local_step(-x.toarray(), lam, ALPHA)
    with pytest.raises(ValidationError, match=r"^lda_local_step: `counts_batch` must hold integer counts; "
                                              r"received an entry 0.5"):
        lda_local_step(np.full((2, V), 0.5), lam, ALPHA)
    with pytest.raises(ValidationError, match=r"^lda_local_step: `counts_batch` must have V = 120 columns"):
        lda_local_step(np.ones((2, 3)), lam, ALPHA)
    with pytest.raises(ValidationError, match=r"^lda_local_step: `init_gamma` must be finite and positive of shape"):
        lda_local_step(x, lam, ALPHA, init_gamma=np.ones((3, K)))
    with pytest.raises(ValidationError, match=r"^lda_perplexity: `eta` must be finite and positive"):
        lda_perplexity(x, lam, ALPHA, -1.0)
    with pytest.raises(ValidationError, match=r"^lda_perplexity: `counts` must hold at least one word"):
        lda_perplexity(sp.csr_matrix((2, V)), lam, ALPHA, ETA)
    with pytest.raises(ValidationError, match=r"^lda_global_step: `step_size` must be a scalar in \(0, 1\]"):
        lda_global_step(lam, lam, 1.5)
    with pytest.raises(ValidationError, match=r"^lda_intermediate_lambda: `batch_size` must be an integer in "
                                              r"\[1, n_docs_total\]"):
        lda_intermediate_lambda(lam, ETA, 10, 20)
