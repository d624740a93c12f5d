"""Tests for vi_lib.models.bayesian_gmm: the prior, scikit-learn's default prior, the predictive density."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.mixture import BayesianGaussianMixture

from vi_lib import (
    BayesianGMMPrior,
    BayesianGMMVariational,
    ValidationError,
    bgmm_predictive_log_density,
    default_bgmm_prior,
    sample_gaussian_mixture,
)


def _random_q(rng: np.random.Generator, k: int, d: int) -> BayesianGMMVariational:
    scales = []
    for _ in range(k):
        a = rng.normal(size=(d, d))
        scales.append(a @ a.T / d + 0.3 * np.eye(d))
    return BayesianGMMVariational(concentration=rng.uniform(0.5, 5.0, k), mean_precision=rng.uniform(0.5, 5.0, k),
                                  means=rng.normal(size=(k, d)), dof=d - 1 + rng.uniform(0.3, 6.0, k),
                                  scale=np.stack(scales))


@pytest.mark.parametrize("d, k", [(1, 1), (1, 3), (2, 2), (3, 4)])
def test_predictive_is_the_student_t_mixture_of_scipy(d, k):
    """Bishop Eq. 10.81 against scipy.stats.multivariate_t with shape = inv(L_k)."""
    rng = np.random.default_rng(d * 10 + k)
    q = _random_q(rng, k, d)
    x = rng.normal(scale=2.0, size=(20, d))
    density = np.zeros(20)
    for j in range(k):
        df = q.dof[j] + 1 - d
        precision = df * q.mean_precision[j] / (1 + q.mean_precision[j]) * q.scale[j]
        t = stats.multivariate_t(loc=q.means[j], shape=np.linalg.inv(precision), df=df)
        density += q.concentration[j] / q.concentration.sum() * t.pdf(x)
    np.testing.assert_allclose(bgmm_predictive_log_density(x, q), np.log(density), rtol=1e-11)


def test_predictive_integrates_to_one_in_1d():
    q = _random_q(np.random.default_rng(0), 3, 1)
    total, err = integrate.quad(lambda t: np.exp(bgmm_predictive_log_density(np.array([[t]]), q)[0]),
                                -np.inf, np.inf, epsabs=1e-12, limit=200)
    assert total == pytest.approx(1.0, abs=1e-8)


def test_default_prior_is_sklearns():
    """Read back scikit-learn's own defaults (``_check_parameters``); its covariance_prior is W0^{-1}."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 2.0, 0.5], [0.0, 0.0, 0.7]]) + 4.0
    k = 5
    sk = BayesianGaussianMixture(n_components=k, covariance_type="full")
    sk._check_parameters(x)
    prior = default_bgmm_prior(x, k)
    assert prior.concentration == pytest.approx(sk.weight_concentration_prior_)
    assert prior.mean_precision == pytest.approx(sk.mean_precision_prior_)
    assert prior.dof == pytest.approx(sk.degrees_of_freedom_prior_)
    np.testing.assert_allclose(prior.mean, sk.mean_prior_, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.inv(prior.scale), sk.covariance_prior_, rtol=1e-12)
    assert default_bgmm_prior(x, k, concentration=2.5).concentration == 2.5
    one_d = default_bgmm_prior(x[:, :1], 2)
    assert one_d.scale.shape == (1, 1) and one_d.scale[0, 0] == pytest.approx(1 / np.var(x[:, 0], ddof=1))


def test_prior_is_validated():
    ok = dict(concentration=1.0, mean=np.zeros(2), mean_precision=1.0, dof=2.0, scale=np.eye(2))
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `dof` must be > D - 1 = 1"):
        BayesianGMMPrior(**{**ok, "dof": 1.0})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `scale` must be positive definite"):
        BayesianGMMPrior(**{**ok, "scale": np.diag([1.0, -1.0])})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `scale` must be of shape \(2, 2\)"):
        BayesianGMMPrior(**{**ok, "scale": np.eye(3)})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `scale` must be a symmetric matrix"):
        BayesianGMMPrior(**{**ok, "scale": np.array([[1.0, 0.5], [0.0, 1.0]])})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `concentration` must be finite and positive"):
        BayesianGMMPrior(**{**ok, "concentration": 0.0})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `mean_precision` must be a scalar"):
        BayesianGMMPrior(**{**ok, "mean_precision": np.ones(2)})
    with pytest.raises(ValidationError, match=r"^BayesianGMMPrior: `mean` must be a 1-D array"):
        BayesianGMMPrior(**{**ok, "mean": np.zeros((2, 1))})
    with pytest.raises(ValidationError, match=r"^default_bgmm_prior: `x` must have at least 2 rows"):
        default_bgmm_prior(np.zeros((1, 2)), 2)
    with pytest.raises(ValidationError, match=r"^default_bgmm_prior: `x` must have a positive-definite sample"):
        default_bgmm_prior(np.ones((5, 2)), 2)
    with pytest.raises(ValidationError, match=r"^bgmm_predictive_log_density: `q` must be over D = 2 dimensions "
                                              r"\(the columns of `x_new`\)"):
        bgmm_predictive_log_density(np.zeros((3, 2)), _random_q(np.random.default_rng(0), 2, 3))
    with pytest.raises(ValidationError, match=r"^bgmm_predictive_log_density: `q` must be a BayesianGMMVariational"):
        bgmm_predictive_log_density(np.zeros((3, 2)), BayesianGMMPrior(**ok))


def test_sample_gaussian_mixture_moments_and_labels_match_the_mixture():
    # Moments against the mixture's exact mean and covariance (law of total covariance),
    # within 5 standard errors; a z beyond 5 happens with probability < 1e-6 per coordinate.
    w = np.array([0.2, 0.5, 0.3])
    m = np.array([[-3.0, 0.0], [0.0, 2.0], [4.0, -1.0]])
    cov = np.array([np.eye(2), [[2.0, 0.8], [0.8, 1.0]], [[0.5, -0.2], [-0.2, 0.3]]])
    x = sample_gaussian_mixture(200_000, weights=w, means=m, covariances=cov,
                                       rng=np.random.default_rng(3))
    mean = w @ m
    total_cov = np.einsum("k,kij->ij", w, cov) + np.einsum("k,ki,kj->ij", w, m - mean, m - mean)
    se = np.sqrt(np.diag(total_cov) / len(x))
    assert np.all(np.abs(x.mean(axis=0) - mean) < 5 * se)
    assert np.allclose(np.cov(x.T), total_cov, rtol=0.03, atol=0.03)
    # the same rng state gives the same draws (chunked writing relies on it)
    a = sample_gaussian_mixture(10, weights=w, means=m, covariances=cov, rng=np.random.default_rng(1))
    b = sample_gaussian_mixture(10, weights=w, means=m, covariances=cov, rng=np.random.default_rng(1))
    assert np.array_equal(a, b)


def test_sample_gaussian_mixture_rejects_weights_that_do_not_sum_to_one():
    with pytest.raises(ValidationError, match=r"sample_gaussian_mixture: `weights` must be a probability vector "
                                              r".* received entries summing to 1\.1 \(off by \+0\.1\)"):
        sample_gaussian_mixture(5, weights=[0.5, 0.6], means=[[0.0], [1.0]], covariances=[[[1.0]], [[1.0]]],
                                       rng=np.random.default_rng(0))
