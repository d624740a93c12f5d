"""Tests for vi_lib.reference.psis: k-hat of an exact q is small and of a too-narrow q large (near its theoretical
value 1 - s_q^2 / s_p^2), PSIS expectations remove the bias of a shifted q, the importance-weighted bound
increases with K towards the log evidence, and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from vi_lib import (
    FullRankGaussian,
    MeanFieldGaussian,
    ValidationError,
    importance_diagnostics,
    importance_weighted_bound,
    psis_check,
    psis_expectation,
    psis_smooth,
)

MEAN = np.array([1.0, -0.5])
COV = np.array([[1.0, 0.6], [0.6, 2.0]])
LOG_EVIDENCE = -3.0


def _gaussian_log_joint(z: torch.Tensor) -> torch.Tensor:
    mvn = torch.distributions.MultivariateNormal(torch.tensor(MEAN), covariance_matrix=torch.tensor(COV))
    return mvn.log_prob(z) + LOG_EVIDENCE


def _wide_normal(std: float):
    def log_joint(z: torch.Tensor) -> torch.Tensor:
        return (-0.5 * (z / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
    return log_joint


def test_khat_of_the_exact_q_is_small_and_its_weights_give_the_evidence():
    exact = FullRankGaussian(2, loc=MEAN, scale_tril=np.linalg.cholesky(COV))
    check = psis_check(_gaussian_log_joint, exact, n_samples=2000, seed=0)
    assert check.khat < 0.5
    np.testing.assert_allclose(check.log_weights, LOG_EVIDENCE, atol=1e-10)
    assert abs(check.elbo.estimate - LOG_EVIDENCE) < 1e-10 and check.ess > 1999
    assert check.draws.shape == (2000, 2) and check.draws.dtype == np.float64
    near = FullRankGaussian(2, loc=MEAN + 0.05, scale_tril=1.05 * np.linalg.cholesky(COV))
    near_check = psis_check(_gaussian_log_joint, near, n_samples=2000, seed=0)
    assert np.isfinite(near_check.khat) and near_check.khat < 0.5


def test_khat_of_a_badly_mismatched_q_is_large():
    """q = N(0, s_q^2 I) for p = N(0, s_p^2 I) with s_q < s_p: the weights' tail index is 1 / (1 - s_q^2 / s_p^2)."""
    narrow = psis_check(_wide_normal(2.0), MeanFieldGaussian(2, scale=0.5), n_samples=4000, seed=1)
    assert narrow.khat > 0.7
    assert abs(narrow.khat - (1 - 0.5**2 / 2.0**2)) < 0.2
    mild = psis_check(_wide_normal(1.25), MeanFieldGaussian(2, scale=1.0), n_samples=4000, seed=1)
    assert mild.khat < 0.5  # theory: 1 - 1 / 1.5625 = 0.36
    wide = psis_check(_wide_normal(1.0), MeanFieldGaussian(2, scale=1.5), n_samples=4000, seed=1)
    assert wide.khat < 0.5  # a wider q has bounded weights
    assert wide.ess > 0.5 * 4000 and narrow.ess < 0.2 * 4000


def test_psis_smooth_uses_the_same_khat_as_importance_diagnostics():
    lw = np.random.default_rng(0).standard_normal(500) * 2.0
    smoothed, khat = psis_smooth(lw)
    assert khat == pytest.approx(importance_diagnostics(lw).khat, abs=0)
    assert abs(logsumexp(smoothed)) < 1e-12
    assert np.corrcoef(smoothed, lw)[0, 1] > 0.99  # large raw weights stay large
    smoothed_equal, khat_equal = psis_smooth(np.full(30, -2.0))
    assert khat_equal == -np.inf and np.allclose(smoothed_equal, -np.log(30))


def test_psis_expectation_corrects_a_shifted_q():
    """p = N((1, -0.5), Sigma), q centred at 0 and wider: the plain mean under q is 0, the PSIS one near MEAN."""
    q = MeanFieldGaussian(2, scale=[1.6, 2.0])
    check = psis_check(_gaussian_log_joint, q, n_samples=8000, seed=2)
    assert check.khat < 0.7
    plain = check.draws.mean(0)
    corrected = psis_expectation(check.draws, check.log_weights)
    assert np.all(np.abs(plain - MEAN) > 0.4)
    np.testing.assert_allclose(corrected, MEAN, atol=0.1)
    second = psis_expectation(check.draws[:, 0] ** 2, check.log_weights)
    assert isinstance(second, float) and abs(second - (COV[0, 0] + MEAN[0] ** 2)) < 0.2


def test_importance_weighted_bound_grows_with_k_towards_the_log_evidence():
    q = MeanFieldGaussian(2, scale=[1.6, 2.0])
    lw = psis_check(_gaussian_log_joint, q, n_samples=8000, seed=3).log_weights
    bounds = [importance_weighted_bound(lw, k) for k in (1, 10, 100)]
    assert bounds[0].estimate == pytest.approx(lw.mean(), abs=1e-12)  # L_1 is the ELBO
    assert bounds[0].estimate < bounds[1].estimate < bounds[2].estimate
    assert bounds[2].estimate < LOG_EVIDENCE + 3 * bounds[2].standard_error
    assert LOG_EVIDENCE - bounds[2].estimate < 0.25 * (LOG_EVIDENCE - bounds[0].estimate)
    whole = importance_weighted_bound(lw, lw.size)
    assert whole.estimate == pytest.approx(logsumexp(lw) - np.log(lw.size), abs=1e-12)
    assert math.isnan(whole.standard_error)
    assert importance_weighted_bound(np.arange(7.0), 3).estimate == pytest.approx(
        np.mean([logsumexp([0.0, 1.0, 2.0]), logsumexp([3.0, 4.0, 5.0])]) - np.log(3))  # leftover dropped


def test_validation_errors_are_clear():
    q = MeanFieldGaussian(2)
    with pytest.raises(ValidationError, match=r"^psis_check: `n_samples` must be an integer >= 20; received 10"):
        psis_check(_gaussian_log_joint, q, n_samples=10)
    with pytest.raises(ValidationError, match=r"^psis_check: `log_joint` failed on a batch of shape \(100, 3\)"):
        psis_check(_gaussian_log_joint, MeanFieldGaussian(3), n_samples=100)
    with pytest.raises(ValidationError, match=r"^psis_check: `log_joint\(z\)` must return a torch tensor of shape "
                                              r"\(100,\)"):
        psis_check(lambda z: z, q, n_samples=100)
    with pytest.raises(ValidationError, match=r"^psis_check: `log_joint\(z\)` must be finite at the draws"):
        psis_check(lambda z: torch.log(z[:, 0]), q, n_samples=100)
    with pytest.raises(ValidationError, match=r"^psis_check: `family` must be a variational family"):
        psis_check(_gaussian_log_joint, "q")
    with pytest.raises(ValidationError, match=r"^psis_smooth: `log_weights` must have at least 20 entries"):
        psis_smooth(np.zeros(5))
    with pytest.raises(ValidationError, match=r"^psis_smooth: `log_weights` must be finite"):
        psis_smooth(np.r_[np.zeros(30), np.inf])
    with pytest.raises(ValidationError, match=r"^psis_expectation: `values` must be of shape \(30,\) or \(30, k\)"):
        psis_expectation(np.zeros(29), np.zeros(30))
    with pytest.raises(ValidationError, match=r"^importance_weighted_bound: `k` must be at most the number of log "
                                              r"weights 5; received 6"):
        importance_weighted_bound(np.zeros(5), 6)
    with pytest.raises(ValidationError, match=r"^importance_weighted_bound: `k` must be an integer >= 1"):
        importance_weighted_bound(np.zeros(5), 0)


def test_a_degenerate_tail_gives_infinite_khat_not_nan():
    # One draw 800 nats above the rest: relative to it the other weights underflow float64, and
    # arviz-stats' Pareto fit divides by zero. The check reports k-hat = +inf (the heaviest tail) and
    # the raw weights, normalised, instead of NaNs with RuntimeWarnings (errors under pytest's config).
    lw = np.random.default_rng(0).normal(size=100)
    lw[7] = 800.0
    smoothed, khat = psis_smooth(lw)
    assert khat == math.inf
    assert np.all(np.isfinite(smoothed))
    assert np.exp(smoothed[7]) == pytest.approx(1.0)
    assert psis_expectation(np.arange(100.0), lw) == pytest.approx(7.0)
