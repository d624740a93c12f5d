"""Tests for vi_lib.models.conjugate: closed forms vs quadrature, vs scipy/torch densities, vs sampling."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.integrate import quad

from vi_lib import (
    BetaBernoulli,
    NormalNormal,
    ValidationError,
    log_evidence_quadrature,
    normal_means_log_joint,
    normal_normal_log_evidence_stats,
)

COIN = BetaBernoulli(2.0, 3.0)
NN = NormalNormal(prior_mean=0.5, prior_std=2.0, noise_std=1.3)


def test_beta_bernoulli_posterior_counts():
    x = np.array([1, 0, 1, 1, 0, 1])
    assert COIN.posterior(x) == (6.0, 5.0)


def test_beta_bernoulli_evidence_matches_quadrature(rng):
    x = COIN.sample_data(40, 0.7, rng)
    q = log_evidence_quadrature(partial(COIN.log_joint, x=x), 0.0, 1.0)
    assert q.log_evidence == pytest.approx(COIN.log_evidence(x), rel=1e-10)


def test_beta_bernoulli_evidence_is_sequential_predictive_product(rng):
    """p(x_1..n) = prod_i p(x_i | x_<i) with p(x_i=1 | x_<i) = (a + k_<i) / (a + b + i - 1)."""
    x = COIN.sample_data(25, 0.4, rng)
    a, b, logp = COIN.alpha, COIN.beta, 0.0
    for xi in x:
        p1 = a / (a + b)
        logp += np.log(p1 if xi == 1 else 1 - p1)
        a, b = a + xi, b + 1 - xi
    assert logp == pytest.approx(COIN.log_evidence(x), rel=1e-12)


def test_beta_bernoulli_densities_match_scipy_and_torch():
    theta = np.linspace(0.01, 0.99, 7)
    x = np.array([1.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(COIN.log_prior(theta), stats.beta(2.0, 3.0).logpdf(theta), rtol=1e-12)
    np.testing.assert_allclose(COIN.log_posterior(theta, x), stats.beta(5.0, 4.0).logpdf(theta), rtol=1e-12)
    lik = torch.distributions.Bernoulli(probs=torch.tensor(theta)[:, None]).log_prob(torch.tensor(x)).sum(1)
    np.testing.assert_allclose(COIN.log_likelihood(theta, x), lik.numpy(), rtol=1e-12)


def test_posterior_by_bayes_on_a_grid_matches_closed_form(rng):
    x = COIN.sample_data(15, 0.3, rng)
    grid = np.linspace(1e-6, 1 - 1e-6, 20001)
    lj = COIN.log_joint(grid, x)
    post = np.exp(lj - lj.max())
    post /= np.trapezoid(post, grid)
    np.testing.assert_allclose(post, np.exp(COIN.log_posterior(grid, x)), atol=1e-6)


def test_coin_log_space_stable_for_large_n(rng):
    x = COIN.sample_data(100_000, 0.3, rng)
    lz = COIN.log_evidence(x)
    assert np.isfinite(lz) and lz < -50_000
    q = log_evidence_quadrature(partial(COIN.log_joint, x=x), 0.0, 1.0)
    assert q.log_evidence == pytest.approx(lz, rel=1e-12)
    # the naive product of probabilities underflows to exactly zero
    k = x.sum()
    assert 0.3**k * 0.7 ** (x.size - k) == 0.0


def test_coin_edge_thetas_are_handled():
    assert COIN.log_likelihood(1.0, np.array([1.0, 1.0])) == 0.0
    assert COIN.log_likelihood(0.0, np.array([1.0])) == -np.inf
    assert BetaBernoulli(1.0, 1.0).log_prior(0.0) == 0.0


def test_beta_bernoulli_squared_likelihood_matches_quadrature(rng):
    x = COIN.sample_data(12, 0.6, rng)
    val, _ = quad(lambda t: np.exp(2 * COIN.log_likelihood(t, x) + COIN.log_prior(t)), 0, 1, epsrel=1e-12)
    assert np.log(val) == pytest.approx(COIN.log_expected_squared_likelihood(x), rel=1e-9)


def test_sampling_helpers(rng):
    th = COIN.sample_prior(20000, rng)
    assert th.shape == (20000,)
    se = np.sqrt(2 * 3 / (25 * 6) / 20000)
    assert abs(th.mean() - 0.4) < 4 * se
    flips = COIN.sample_data(1000, 0.25, rng)
    assert set(np.unique(flips)) <= {0.0, 1.0}
    mus = NN.sample_prior(20000, rng)
    assert abs(mus.mean() - 0.5) < 4 * 2.0 / np.sqrt(20000)
    xs = NN.sample_data(20000, -1.0, rng)
    assert abs(xs.mean() + 1.0) < 4 * 1.3 / np.sqrt(20000)


def test_normal_normal_evidence_equals_multivariate_normal(rng):
    x = NN.sample_data(12, 1.7, rng)
    mean, cov = NN.marginal_mean_cov(12)
    assert cov.shape == (12, 12) and mean.shape == (12,)
    assert stats.multivariate_normal(mean, cov).logpdf(x) == pytest.approx(NN.log_evidence(x), rel=1e-12)


def test_normal_normal_evidence_matches_quadrature_and_stats_form(rng):
    x = NN.sample_data(30, -0.4, rng)
    q = log_evidence_quadrature(partial(NN.log_joint, x=x), -40.0, 40.0)
    assert q.log_evidence == pytest.approx(NN.log_evidence(x), rel=1e-11)
    stats_form = normal_normal_log_evidence_stats(np.array(30.0), x.sum(), (x**2).sum(), 0.5, 2.0, 1.3)
    assert stats_form == pytest.approx(NN.log_evidence(x), rel=1e-11)
    assert normal_normal_log_evidence_stats(np.zeros(3), np.zeros(3), np.zeros(3), 0.5, 2.0, 1.3) == \
        pytest.approx(np.zeros(3), abs=1e-15)


def test_normal_normal_posterior_is_normalised_ratio(rng):
    """Bayes' rule pointwise: log p(mu | x) = log p(mu, x) - log p(x)."""
    x = NN.sample_data(8, 2.0, rng)
    mu = np.linspace(-3, 5, 11)
    np.testing.assert_allclose(NN.log_posterior(mu, x), NN.log_joint(mu, x) - NN.log_evidence(x), atol=1e-11)
    m, s = NN.posterior(x)
    prec = 1 / 4.0 + 8 / 1.69
    assert s == pytest.approx(prec**-0.5) and m == pytest.approx((0.5 / 4 + x.sum() / 1.69) / prec)


def test_normal_normal_likelihood_matches_torch(rng):
    x = NN.sample_data(9, 0.0, rng)
    mu = np.linspace(-2, 2, 5)
    ref = torch.distributions.Normal(torch.tensor(mu)[:, None], 1.3).log_prob(torch.tensor(x)).sum(1).numpy()
    out = NN.log_likelihood(mu, x)
    assert out.shape == (5,)
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert isinstance(NN.log_likelihood(0.3, x), float)
    np.testing.assert_allclose(NN.log_prior(mu), stats.norm(0.5, 2.0).logpdf(mu), rtol=1e-12)


def test_normal_normal_squared_likelihood_matches_quadrature(rng):
    x = NN.sample_data(6, 1.0, rng)
    q = log_evidence_quadrature(lambda mu: 2 * NN.log_likelihood(mu, x) + NN.log_prior(mu), -40.0, 40.0)
    assert q.log_evidence == pytest.approx(NN.log_expected_squared_likelihood(x), rel=1e-11)


def test_normal_normal_large_n_is_finite(rng):
    x = NN.sample_data(100_000, 1.0, rng)
    lz = NN.log_evidence(x)
    assert np.isfinite(lz)
    q = log_evidence_quadrature(partial(NN.log_joint, x=x), -40.0, 40.0)
    assert q.log_evidence == pytest.approx(lz, rel=1e-11)


@settings(max_examples=25, deadline=None)
@given(m0=st.floats(-5, 5), s0=st.floats(0.1, 5), s=st.floats(0.1, 5), n=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_normal_normal_evidence_property(m0, s0, s, n, seed):
    model = NormalNormal(m0, s0, s)
    x = model.sample_data(n, model.sample_prior(1, np.random.default_rng(seed))[0], np.random.default_rng(seed + 1))
    mean, cov = model.marginal_mean_cov(n)
    assert model.log_evidence(x) == pytest.approx(stats.multivariate_normal(mean, cov).logpdf(x), abs=1e-9)


def test_normal_means_log_joint_sums_columns(rng):
    x = rng.normal(size=(7, 3))
    mu = rng.normal(size=(4, 3))
    out = normal_means_log_joint(mu, x, 0.0, 1.5, 0.8)
    model = NormalNormal(0.0, 1.5, 0.8)
    ref = sum(model.log_joint(mu[:, j], x[:, j]) for j in range(3))
    np.testing.assert_allclose(out, ref, rtol=1e-13)


@pytest.mark.parametrize("args, match", [
    ((0.0, 1.0), r"BetaBernoulli: `alpha` must be finite and positive; received 0.0"),
    ((1.0, -2.0), r"BetaBernoulli: `beta` must be finite and positive"),
    ((np.nan, 1.0), r"BetaBernoulli: `alpha` must be finite and positive"),
    (([1.0, 2.0], 1.0), r"BetaBernoulli: `alpha` must be a scalar"),
])
def test_beta_bernoulli_rejects_bad_hyperparameters(args, match):
    with pytest.raises(ValidationError, match=match):
        BetaBernoulli(*args)


@pytest.mark.parametrize("kwargs, match", [
    ({"prior_mean": 0.0, "prior_std": 0.0, "noise_std": 1.0}, r"NormalNormal: `prior_std` must be finite"),
    ({"prior_mean": 0.0, "prior_std": 1.0, "noise_std": -1.0}, r"NormalNormal: `noise_std` must be finite"),
    ({"prior_mean": np.inf, "prior_std": 1.0, "noise_std": 1.0}, r"NormalNormal: `prior_mean` must be finite"),
])
def test_normal_normal_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        NormalNormal(**kwargs)


def test_data_validation_messages(rng):
    with pytest.raises(ValidationError, match=r"BetaBernoulli.log_evidence: `x` must contain only coin flips coded 0"):
        COIN.log_evidence(np.array([0.0, 1.0, 0.5]))
    with pytest.raises(ValidationError, match=r"BetaBernoulli.posterior: `x` must be non-empty"):
        COIN.posterior(np.array([]))
    with pytest.raises(ValidationError, match=r"BetaBernoulli.log_evidence: `x` must be a 1-D array"):
        COIN.log_evidence(np.ones((2, 2)))
    with pytest.raises(ValidationError, match=r"BetaBernoulli.log_likelihood: `theta` must be a probability in \[0"):
        COIN.log_likelihood(np.array([0.5, 1.2]), np.array([1.0]))
    with pytest.raises(ValidationError, match=r"BetaBernoulli.log_prior: `theta` must be a probability"):
        COIN.log_prior(-0.1)
    with pytest.raises(ValidationError, match=r"NormalNormal.log_evidence: `x` must be non-empty"):
        NN.log_evidence([])
    with pytest.raises(ValidationError, match=r"NormalNormal.posterior: `x` must be finite"):
        NN.posterior(np.array([1.0, np.nan]))
    with pytest.raises(ValidationError, match=r"NormalNormal.log_likelihood: `mu` must be finite"):
        NN.log_likelihood(np.array([np.inf]), np.array([1.0]))
    with pytest.raises(ValidationError, match=r"NormalNormal.marginal_mean_cov: `n` must be an integer >= 1"):
        NN.marginal_mean_cov(0)
    with pytest.raises(ValidationError, match=r"NormalNormal.sample_prior: `rng` must be a numpy.random.Generator"):
        NN.sample_prior(3, 0)
    with pytest.raises(ValidationError, match=r"BetaBernoulli.sample_data: `theta` must be a probability"):
        COIN.sample_data(3, 1.5, rng)
    with pytest.raises(ValidationError, match=r"BetaBernoulli.sample_prior: `n` must be an integer >= 1"):
        COIN.sample_prior(0, rng)
    with pytest.raises(ValidationError, match=r"normal_normal_log_evidence_stats: `count` must be non-negative"):
        normal_normal_log_evidence_stats(-1.0, 0.0, 0.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValidationError, match=r"normal_normal_log_evidence_stats: `sum_x` and `sum_x2` must have"):
        normal_normal_log_evidence_stats(np.ones(2), np.ones(3), np.ones(2), 0.0, 1.0, 1.0)
    with pytest.raises(ValidationError, match=r"normal_means_log_joint: `mu` must be of shape \(\*, 3\)"):
        normal_means_log_joint(np.zeros((4, 2)), np.zeros((5, 3)), 0.0, 1.0, 1.0)
    with pytest.raises(ValidationError, match=r"normal_means_log_joint: `x` must be non-empty"):
        normal_means_log_joint(np.zeros((4, 0)), np.zeros((0, 0)), 0.0, 1.0, 1.0)


def test_more_validation_messages(rng):
    with pytest.raises(ValidationError, match=r"BetaBernoulli.sample_data: `theta` must be a scalar"):
        COIN.sample_data(3, [0.5, 0.5], rng)
    with pytest.raises(ValidationError, match=r"NormalNormal.sample_data: `mu` must be a scalar"):
        NN.sample_data(3, [1.0, 2.0], rng)
    with pytest.raises(ValidationError, match=r"NormalNormal.sample_data: `mu` must be finite"):
        NN.sample_data(3, np.nan, rng)
    with pytest.raises(ValidationError, match=r"NormalNormal.log_posterior: `mu` must be finite"):
        NN.log_posterior(np.nan, np.array([1.0]))
    with pytest.raises(ValidationError, match=r"BetaBernoulli.log_posterior: `theta` must be a probability"):
        COIN.log_posterior(2.0, np.array([1.0]))
    with pytest.raises(ValidationError, match=r"normal_normal_log_evidence_stats: `prior_std` must be a scalar"):
        normal_normal_log_evidence_stats(1.0, 0.0, 0.0, 0.0, [1.0, 2.0], 1.0)


def test_coin_flips_have_frequency_theta():
    rng = np.random.default_rng(0)
    for theta in (0.1, 0.25, 0.9):
        flips = BetaBernoulli(2.0, 3.0).sample_data(20_000, theta, rng)
        se = np.sqrt(theta * (1 - theta) / flips.size)
        assert abs(flips.mean() - theta) < 4 * se


def test_samplers_match_their_distributions_by_ks():
    rng = np.random.default_rng(1)
    coin, nn = BetaBernoulli(2.0, 3.0), NormalNormal(0.5, 2.0, 1.3)
    assert stats.kstest(coin.sample_prior(20_000, rng), stats.beta(2.0, 3.0).cdf).pvalue > 1e-3
    assert stats.kstest(nn.sample_prior(20_000, rng), stats.norm(0.5, 2.0).cdf).pvalue > 1e-3
    assert stats.kstest(nn.sample_data(20_000, -1.0, rng), stats.norm(-1.0, 1.3).cdf).pvalue > 1e-3

