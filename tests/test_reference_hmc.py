"""The HMC reference posterior: checked against quadrature on one coordinate, MCSE honest, over-dispersed starts."""


from __future__ import annotations

import numpy as np
import pytest
from helpers import small_logistic_model

import vi_lib.reference.hmc as hmc
from vi_lib import (
    BayesianLogisticRegression,
    ValidationError,
    hmc_sample,
    laplace_approximation,
    predictive_probability,
    reference_posterior,
)


def _one_coordinate_model():
    X = np.ones((15, 1))
    y = (np.random.default_rng(2).uniform(size=15) < 0.7).astype(float)
    return BayesianLogisticRegression(X, y, prior_std=2.0)


def _quadrature_moments(m):
    """Posterior mean and standard deviation of a one-coordinate model on a fine grid."""
    grid = np.linspace(-6, 8, 20001)
    lp = m.log_joint(grid[:, None])
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean_q = np.sum(w * grid)
    return mean_q, np.sqrt(np.sum(w * (grid - mean_q) ** 2))


def test_hmc_on_a_one_coordinate_model_matches_quadrature():
    """1-D posterior: compare HMC moments to numerical integration on a fine grid."""
    m = _one_coordinate_model()
    mean_q, std_q = _quadrature_moments(m)
    ref = reference_posterior(m, np.random.default_rng(3), n_chains=4, n_draws=1500, n_warmup=100)
    assert abs(ref.mean[0] - mean_q) < 4 * ref.mcse_mean[0]
    assert abs(ref.std[0] / std_q - 1) < 0.05
    assert ref.rhat[0] < 1.01
    assert 0.6 < ref.acceptance_rate <= 1.0


def test_hmc_metropolis_step_keeps_the_posterior_with_a_coarse_integrator():
    """With 3 long leapfrog steps many proposals are wrong; only the accept/reject step keeps the target."""
    m = _one_coordinate_model()
    mean_q, std_q = _quadrature_moments(m)
    draws, acceptance = hmc_sample(m, np.zeros((4, 1)), n_draws=3000, n_warmup=100, step_size=1.0, n_leapfrog=3,
                                   rng=np.random.default_rng(1))
    assert 0.3 < acceptance < 0.9  # many rejections: the test exercises the Metropolis step
    # without the accept/reject step the spread is about 4x too wide; 0.05 is about five standard errors
    assert abs(draws.std() / std_q - 1) < 0.05
    assert abs(draws.mean() - mean_q) < 0.1 * std_q


def test_mcse_matches_the_spread_of_replicated_means():
    """Sticky chains (one short leapfrog step): the MCSE std/sqrt(ESS) must match the standard
    deviation of the posterior-mean estimate across 60 independent replicates (std/sqrt(N) is ~7x
    too small here)."""
    m = _one_coordinate_model()
    means, mcse = [], []
    for s in range(60):
        r = reference_posterior(m, np.random.default_rng(100 + s), n_chains=4, n_draws=500, n_warmup=100,
                                step_size=0.3, n_leapfrog=1)
        means.append(r.mean[0])
        mcse.append(r.mcse_mean[0])
    ratio = np.std(means, ddof=1) / np.median(mcse)
    assert 0.6 < ratio < 1.6, ratio


def test_reference_posterior_starts_overdispersed(monkeypatch):
    """Documented: chains start at the Laplace mode plus twice its standard deviations times N(0, 1)."""
    seen = {}
    original = hmc.hmc_sample

    def spy(model, init, **kw):
        seen["init"] = np.array(init)
        return original(model, init, **kw)

    monkeypatch.setattr(hmc, "hmc_sample", spy)
    m = _one_coordinate_model()
    reference_posterior(m, np.random.default_rng(0), n_chains=400, n_draws=4, n_warmup=0)
    mode, cov = laplace_approximation(m)
    z = (seen["init"][:, 0] - mode[0]) / np.sqrt(cov[0, 0])
    assert 1.7 < z.std(ddof=1) < 2.3


def test_remaining_validation_messages(rng):
    model = small_logistic_model(rng)
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression: `X` must be non-empty"):
        BayesianLogisticRegression(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValidationError, match=r"hmc_sample: `model` must be a BayesianLogisticRegression"):
        hmc_sample("model", np.zeros((2, 3)), n_draws=1, n_warmup=0, step_size=0.1, n_leapfrog=1, rng=rng)
    with pytest.raises(ValidationError, match=r"laplace_approximation: Newton's method must converge within"):
        laplace_approximation(model, max_iter=1)
    with pytest.raises(ValidationError, match=r"predictive_probability: `samples` must be non-empty"):
        predictive_probability(model.X, np.zeros((0, model.dim)))
