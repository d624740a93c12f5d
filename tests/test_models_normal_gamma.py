"""The Normal-Gamma model: evidence, posterior and complete conditionals against quadrature and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

import vi_lib
from vi_lib import NormalGamma, ValidationError

MODEL = NormalGamma(prior_mean=0.5, mean_precision=2.0, shape=3.0, rate=2.0)


def _data(n: int = 12, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(1.2, 0.7, size=n)


def _grid_log_joint(model, x, mu, tau):
    """log p(x, mu, tau) from scipy's densities, independent of vi_lib's formulas."""
    out = stats.gamma.logpdf(tau, a=model.shape, scale=1.0 / model.rate)
    out = out + stats.norm.logpdf(mu, model.prior_mean, 1.0 / np.sqrt(model.mean_precision * tau))
    return out + stats.norm.logpdf(x[:, None], mu, 1.0 / np.sqrt(tau)).sum(axis=0)


def test_log_joint_matches_scipy_densities():
    x = _data()
    mu = np.array([-0.3, 0.8, 1.5])
    tau = np.array([0.4, 1.7, 3.0])
    np.testing.assert_allclose(MODEL.log_joint(mu, tau, x), _grid_log_joint(MODEL, x, mu, tau), rtol=1e-12)


def test_log_evidence_matches_two_dimensional_quadrature():
    x = _data()
    post = MODEL.posterior(x)
    shift = MODEL.log_joint(post.mean, post.shape / post.rate, x)
    value, _ = integrate.dblquad(lambda mu, tau: np.exp(_grid_log_joint(MODEL, x, np.array([mu]), np.array([tau]))[0]
                                                        - shift),
                                 1e-6, 20.0, lambda t: post.mean - 8.0, lambda t: post.mean + 8.0,
                                 epsabs=0.0, epsrel=1e-10)
    assert MODEL.log_evidence(x) == pytest.approx(np.log(value) + shift, abs=1e-7)


def test_posterior_density_is_joint_over_evidence():
    x = _data(30, seed=3)
    post = MODEL.posterior(x)
    mu = np.linspace(0.5, 2.0, 7)
    tau = np.linspace(0.5, 4.0, 7)
    np.testing.assert_allclose(post.log_density(mu, tau), MODEL.log_joint(mu, tau, x) - MODEL.log_evidence(x),
                               rtol=1e-10, atol=1e-10)


def test_mu_marginal_is_student_t_by_integrating_tau():
    x = _data(8, seed=5)
    post = MODEL.posterior(x)
    loc, scale, df = post.mu_marginal()
    for mu in (post.mean - 0.7, post.mean, post.mean + 1.1):
        marg, _ = integrate.quad(lambda t, mu=mu: np.exp(post.log_density(mu, t)), 0.0, np.inf, epsrel=1e-11)
        assert np.log(marg) == pytest.approx(stats.t.logpdf(mu, df, loc, scale), abs=1e-8)
    assert post.mu_std() == pytest.approx(stats.t.std(df, loc, scale), rel=1e-12)


def test_complete_conditionals_are_the_joint_sliced():
    """log p(x, mu, tau) minus the conditional's log density must not depend on the sliced variable."""
    x = _data()
    tau = 1.3
    mean, prec = MODEL.conditional_mu(x, tau)
    mus = np.linspace(-1.0, 3.0, 9)
    diff = MODEL.log_joint(mus, tau, x) - stats.norm.logpdf(mus, mean, 1.0 / np.sqrt(prec))
    assert np.ptp(diff) < 1e-9
    mu = 0.9
    shape, rate = MODEL.conditional_tau(x, mu)
    taus = np.linspace(0.2, 5.0, 9)
    diff = MODEL.log_joint(mu, taus, x) - stats.gamma.logpdf(taus, a=shape, scale=1.0 / rate)
    assert np.ptp(diff) < 1e-9


def test_sample_moments_match_the_prior():
    rng = np.random.default_rng(1)
    draws = np.array([MODEL.sample(1, rng)[:2] for _ in range(4000)])
    tau_mean, tau_se = draws[:, 1].mean(), draws[:, 1].std() / np.sqrt(len(draws))
    assert abs(tau_mean - MODEL.shape / MODEL.rate) < 5 * tau_se


def test_prior_property_and_errors():
    assert MODEL.prior.shape == MODEL.shape
    with pytest.raises(ValidationError, match=r"^NormalGammaPosterior.mu_std: `shape` must be > 1"):
        vi_lib.NormalGammaPosterior(0.0, 1.0, 0.8, 1.0).mu_std()
    with pytest.raises(ValidationError, match=r"^NormalGamma.log_joint: `tau` must be finite and positive"):
        MODEL.log_joint(0.0, -1.0, _data())
    with pytest.raises(ValidationError, match=r"^NormalGamma.conditional_tau: `mu` must be finite"):
        MODEL.conditional_tau(_data(), np.nan)
    with pytest.raises(ValidationError, match=r"^NormalGamma.posterior: `x` must be a 1-D array"):
        MODEL.posterior(np.zeros((2, 2)))
