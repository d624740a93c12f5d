"""Tests for vi_lib.logistic: log joint vs torch, stability, Laplace, HMC and its diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import vi_lib.reference.hmc as hmc
from vi_lib import (
    BayesianLogisticRegression,
    ValidationError,
    effective_sample_size,
    hmc_sample,
    laplace_approximation,
    load_breast_cancer_data,
    predictive_accuracy,
    predictive_probability,
    reference_posterior,
    split_rhat,
)


def _small_model(rng: np.random.Generator, n: int = 40, d: int = 3) -> BayesianLogisticRegression:
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    z_true = np.array([0.5, -1.0, 2.0])[:d]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ z_true))).astype(float)
    return BayesianLogisticRegression(X, y, prior_std=1.5)


def test_log_joint_and_gradient_match_torch(rng):
    m = _small_model(rng)
    z = rng.standard_normal((4, 3))
    zt = torch.tensor(z, requires_grad=True)
    lik = torch.distributions.Bernoulli(logits=zt @ torch.tensor(m.X).T).log_prob(torch.tensor(m.y)).sum(-1)
    prior = torch.distributions.Normal(0.0, 1.5).log_prob(zt).sum(-1)
    (lik + prior).sum().backward()
    np.testing.assert_allclose(m.log_joint(z), (lik + prior).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(m.grad_log_joint(z), zt.grad.numpy(), atol=1e-10)


def test_hessian_matches_finite_differences(rng):
    m = _small_model(rng)
    z = rng.standard_normal(3)
    h = 1e-6
    fd = np.stack(
        [
            (m.grad_log_joint((z + h * e)[None])[0] - m.grad_log_joint((z - h * e)[None])[0]) / (2 * h)
            for e in np.eye(3)
        ]
    )
    np.testing.assert_allclose(m.hessian(z), fd, atol=1e-5)


def test_log_joint_is_stable_for_huge_logits():
    m = BayesianLogisticRegression(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]), prior_std=1.0)
    z = np.array([[1000.0]])
    # second case has logit -1000: log sigmoid(-1000) = -1000 exactly in float64
    lp = m.log_joint(z)
    assert np.isfinite(lp).all()
    np.testing.assert_allclose(lp, -1000.0 - 0.5 * 1000.0**2 - 0.5 * np.log(2 * np.pi), rtol=1e-12)
    assert np.isfinite(m.grad_log_joint(z)).all()


def test_laplace_mode_has_zero_gradient(rng):
    m = _small_model(rng)
    mode, cov = laplace_approximation(m)
    assert np.max(np.abs(m.grad_log_joint(mode[None]))) < 1e-8
    np.testing.assert_allclose(cov, np.linalg.inv(-m.hessian(mode)), atol=1e-12)


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


def test_rhat_and_ess_on_known_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 2000, 2))
    assert np.all(np.abs(split_rhat(iid) - 1) < 0.01)
    ess = effective_sample_size(iid)
    assert np.all((ess > 6000) & (ess < 10000))
    # AR(1) with coefficient 0.9: ESS ~ N (1 - 0.9) / (1 + 0.9)
    ar = np.zeros((4, 4000))
    e = rng.standard_normal((4, 4000))
    for t in range(1, 4000):
        ar[:, t] = 0.9 * ar[:, t - 1] + e[:, t]
    ess_ar = effective_sample_size(ar)[0]
    expected = 16000 * 0.1 / 1.9
    assert 0.6 * expected < ess_ar < 1.5 * expected
    # chains stuck in different places are flagged: the 8 half-chains of unit-variance noise have means
    # 0, 0, 1, 1, 2, 2, 3, 3 (sample variance 10/7), so R-hat ~ sqrt(1 + 10/7) = 1.558
    shifted = iid + np.arange(4)[:, None, None]
    np.testing.assert_allclose(split_rhat(shifted), np.sqrt(1 + 10 / 7), atol=0.03)
    # ... and the multi-chain ESS (BDA3: var+ = W (n-1)/n + B/n) sees that they carry almost no
    # information about the common mean, unlike the agreeing chains above
    assert np.all(effective_sample_size(shifted) < 50)


def test_split_rhat_follows_the_bda3_formula():
    # Two chains of 4 split into four halves of n = 2 (Gelman et al., BDA3, section 11.4).
    chains = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 5.0, 4.0]])
    halves = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 2.0], [5.0, 4.0]])
    within = halves.var(axis=1, ddof=1).mean()
    between_over_n = halves.mean(axis=1).var(ddof=1)
    expected = np.sqrt(((2 - 1) / 2 * within + between_over_n) / within)
    assert split_rhat(chains)[0] == pytest.approx(expected, rel=1e-12)


def test_breast_cancer_split_is_standardised():
    data = load_breast_cancer_data()
    assert data.X_train.shape == (398, 31) and data.X_test.shape == (171, 31)
    np.testing.assert_allclose(data.X_train[:, 0], 1.0)
    np.testing.assert_allclose(data.X_train[:, 1:].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train[:, 1:].std(axis=0), 1.0, atol=1e-12)
    assert set(np.unique(data.y_test)) == {0.0, 1.0}
    assert data.feature_names[0] == "intercept" and len(data.feature_names) == 31


def test_predictive_helpers():
    X = np.array([[1.0, 2.0], [1.0, -2.0]])
    s = np.array([[0.0, 1.0], [0.0, 3.0]])
    p = predictive_probability(X, s)
    np.testing.assert_allclose(
        p,
        [(1 / (1 + np.exp(-2)) + 1 / (1 + np.exp(-6))) / 2, (1 / (1 + np.exp(2)) + 1 / (1 + np.exp(6))) / 2],
    )
    assert predictive_accuracy(X, [1.0, 0.0], s) == 1.0
    assert predictive_accuracy(X, [0.0, 0.0], s) == 0.5


def test_bad_inputs_raise_clear_errors(rng):
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression: `y` must contain only 0 and 1"):
        BayesianLogisticRegression(np.ones((2, 1)), np.array([0.0, 2.0]))
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression: `y` must be of shape \(2,\)"):
        BayesianLogisticRegression(np.ones((2, 1)), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression: `X` must be finite"):
        BayesianLogisticRegression(np.array([[np.nan], [1.0]]), np.array([0.0, 1.0]))
    with pytest.raises(
        ValidationError, match=r"BayesianLogisticRegression: `prior_std` must be finite and positive"
    ):
        BayesianLogisticRegression(np.ones((2, 1)), np.array([0.0, 1.0]), prior_std=0.0)
    m = _small_model(rng)
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression.log_joint: `z` must be of shape"):
        m.log_joint(np.zeros(3))
    with pytest.raises(
        ValidationError, match=r"BayesianLogisticRegression.grad_log_joint: `z` must be finite"
    ):
        m.grad_log_joint(np.array([[np.inf, 0.0, 0.0]]))
    with pytest.raises(ValidationError, match=r"hmc_sample: `step_size` must be finite and positive"):
        hmc_sample(m, np.zeros((2, 3)), n_draws=5, n_warmup=0, step_size=-0.1, n_leapfrog=3, rng=rng)
    with pytest.raises(ValidationError, match=r"hmc_sample: `init` must be of shape \(\*, 3\)"):
        hmc_sample(m, np.zeros((2, 4)), n_draws=5, n_warmup=0, step_size=0.1, n_leapfrog=3, rng=rng)
    with pytest.raises(
        ValidationError, match=r"laplace_approximation: `model` must be a BayesianLogisticRegression"
    ):
        laplace_approximation("model")
    with pytest.raises(ValidationError, match=r"split_rhat: `chains` must have shape \(C, N, D\)"):
        split_rhat(np.zeros((2, 3, 1)))
    with pytest.raises(ValidationError, match=r"reference_posterior: `n_chains` must be an integer >= 2"):
        reference_posterior(m, rng, n_chains=1)
    with pytest.raises(
        ValidationError, match=r"predictive_probability: `samples` must be of shape \(\*, 2\)"
    ):
        predictive_probability(np.ones((3, 2)), np.ones((4, 3)))
    with pytest.raises(
        ValidationError, match=r"load_breast_cancer_data: `test_fraction` must be a probability"
    ):
        load_breast_cancer_data(test_fraction=1.0)


def test_remaining_validation_messages(rng):
    model = _small_model(rng)
    with pytest.raises(ValidationError, match=r"BayesianLogisticRegression: `X` must be non-empty"):
        BayesianLogisticRegression(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValidationError, match=r"hmc_sample: `model` must be a BayesianLogisticRegression"):
        hmc_sample("model", np.zeros((2, 3)), n_draws=1, n_warmup=0, step_size=0.1, n_leapfrog=1, rng=rng)
    with pytest.raises(ValidationError, match=r"laplace_approximation: Newton's method must converge within"):
        laplace_approximation(model, max_iter=1)
    with pytest.raises(ValidationError, match=r"predictive_probability: `samples` must be non-empty"):
        predictive_probability(model.X, np.zeros((0, model.dim)))


def test_test_set_is_standardised_with_training_statistics():
    """Documented: a stratified split (seed), both sets scaled with the *training* mean and std."""
    data = load_breast_cancer_data(test_fraction=0.3, seed=0)
    raw = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(raw.data, raw.target, test_size=0.3, random_state=0,
                                              stratify=raw.target)
    scaler = StandardScaler().fit(X_tr)
    np.testing.assert_allclose(data.X_train[:, 1:], scaler.transform(X_tr), atol=1e-12)
    np.testing.assert_allclose(data.X_test[:, 1:], scaler.transform(X_te), atol=1e-12)
    np.testing.assert_array_equal(data.y_test, y_te)
    # so the test columns are *not* exactly centred: the training statistics leak nothing from them
    assert np.max(np.abs(data.X_test[:, 1:].mean(axis=0))) > 1e-3


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
