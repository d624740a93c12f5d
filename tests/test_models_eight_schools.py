"""Tests for vi_lib.models.eight_schools: the log joint against scipy, centred and non-centred forms describe one
posterior (Jacobian tau^J), the theta-marginal is the integral of the log joint, and HMC on the torch model
agrees with the exact (mu, tau) posterior from 2-D quadrature."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from vi_lib import (
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    EightSchools,
    ValidationError,
    effective_sample_size,
    hmc_sample,
    split_rhat,
)

CENTRED, NONCENTRED = EightSchools("centered"), EightSchools("noncentered")
Y, SIGMA = np.array(EIGHT_SCHOOLS_Y), np.array(EIGHT_SCHOOLS_SIGMA)


def _points(n: int = 6, seed: int = 0) -> torch.Tensor:
    """(mu, tau, theta) points with tau > 0."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(n, 10)) * 5.0
    p[:, 1] = np.exp(rng.normal(size=n))
    return torch.tensor(p)


def _quadrature() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    mu = np.linspace(-40.0, 50.0, 721)
    log_tau = np.linspace(-12.0, 9.0, 721)
    mm, tt = np.meshgrid(mu, log_tau, indexing="ij")
    lp = CENTRED.marginal_log_joint(torch.tensor(np.stack([mm, tt], -1))).numpy()
    log_cell = math.log((mu[1] - mu[0]) * (log_tau[1] - log_tau[0]))
    log_z = float(logsumexp(lp)) + log_cell
    return mm, tt, np.exp(lp + log_cell - log_z), log_z


def test_centred_log_joint_matches_scipy():
    p = _points().numpy()
    mu, tau, theta = p[:, 0], p[:, 1], p[:, 2:]
    expected = (stats.norm.logpdf(Y, theta, SIGMA).sum(1) + stats.norm.logpdf(theta, mu[:, None], tau[:, None]).sum(1)
                + stats.norm.logpdf(mu, 0, 5) + stats.halfcauchy.logpdf(tau, scale=5) + np.log(tau))
    z = CENTRED.from_constrained(torch.tensor(p))
    np.testing.assert_allclose(CENTRED.log_joint(z).numpy(), expected, rtol=1e-12)


def test_the_two_forms_differ_by_the_jacobian_of_theta_equals_mu_plus_tau_eta():
    p = _points(seed=1)
    zc, zn = CENTRED.from_constrained(p), NONCENTRED.from_constrained(p)
    torch.testing.assert_close(CENTRED.to_constrained(zc), p)
    torch.testing.assert_close(NONCENTRED.to_constrained(zn), p)
    torch.testing.assert_close(NONCENTRED.log_joint(zn), CENTRED.log_joint(zc) + 8 * zc[:, 1])
    assert CENTRED.names[:3] == ("mu", "log_tau", "theta[1]") and NONCENTRED.names[2] == "eta[1]"
    assert CENTRED.dim == NONCENTRED.dim == 10 and CENTRED.n_schools == 8


def test_marginal_log_joint_integrates_theta_out():
    """For fixed (mu, log tau), int exp(log_joint) d theta by Monte Carlo over eta equals exp(marginal)."""
    hyper = torch.tensor([[4.0, 1.0], [-2.0, 2.5]], dtype=torch.float64)
    eta = torch.randn(200_000, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for h in hyper:
        z = torch.cat([h.expand(eta.shape[0], 2), eta], dim=1)
        # non-centred log joint minus log N(eta; 0, I) is log p(y, mu, log tau | eta) weighted by the prior of eta
        log_w = NONCENTRED.log_joint(z) - (-0.5 * eta**2 - 0.5 * math.log(2 * math.pi)).sum(1)
        estimate = float(torch.logsumexp(log_w, 0)) - math.log(eta.shape[0])
        assert abs(estimate - float(NONCENTRED.marginal_log_joint(h))) < 0.01


def test_hmc_on_the_torch_model_agrees_with_the_exact_hyperparameter_posterior():
    mm, tt, post, _ = _quadrature()
    exact_mu, exact_tau = float((post * mm).sum()), float((post * np.exp(tt)).sum())
    rng = np.random.default_rng(0)
    draws, acc = hmc_sample(NONCENTRED, rng.normal(size=(2, 10)) * 0.5, n_draws=400, n_warmup=100, step_size=0.4,
                            n_leapfrog=6, rng=rng)
    assert acc > 0.7 and np.all(split_rhat(draws)[:2] < 1.1)
    hyper = NONCENTRED.to_constrained(torch.tensor(draws)).numpy()[..., :2]  # (C, N, 2): mu, tau
    mcse = hyper.reshape(-1, 2).std(0) / np.sqrt(effective_sample_size(hyper))
    assert abs(hyper[..., 0].mean() - exact_mu) < 5 * mcse[0]
    assert abs(hyper[..., 1].mean() - exact_tau) < 5 * mcse[1]
    assert 3.5 < exact_mu < 5.0 and 3.0 < exact_tau < 4.5  # the familiar values (about 4.4 and 3.6)


def test_validation_errors_are_clear():
    with pytest.raises(ValidationError, match=r"^EightSchools: `parameterization` must be one of \('centered', "
                                              r"'noncentered'\); received 'centred'"):
        EightSchools("centred")
    with pytest.raises(ValidationError, match=r"^EightSchools: `sigma` must be finite and positive"):
        EightSchools(sigma=np.r_[SIGMA[:-1], 0.0])
    with pytest.raises(ValidationError, match=r"^EightSchools: `sigma` must be of shape \(3,\)"):
        EightSchools(y=[1.0, 2.0, 3.0])
    with pytest.raises(ValidationError, match=r"^EightSchools: `y` must be non-empty"):
        EightSchools(y=[], sigma=[])
    with pytest.raises(ValidationError, match=r"^EightSchools: `tau_prior_scale` must be finite and positive"):
        EightSchools(tau_prior_scale=0.0)
    with pytest.raises(ValidationError, match=r"^EightSchools.log_joint: `z` must be a tensor of shape \(\.\.\., 10\)"):
        CENTRED.log_joint(torch.zeros(3, 8, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^EightSchools.from_constrained: `params` must have a positive tau"):
        CENTRED.from_constrained(torch.zeros(1, 10, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^EightSchools.marginal_log_joint: `hyper` must be a tensor of shape"):
        CENTRED.marginal_log_joint(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^hmc_sample: `model` must be a BayesianLogisticRegression or a torch "
                                              r"target of vi_lib.models"):
        hmc_sample("eight schools", np.zeros((2, 10)), n_draws=1, n_warmup=0, step_size=0.1, n_leapfrog=1,
                   rng=np.random.default_rng(0))
