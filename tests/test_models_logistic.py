"""Bayesian logistic regression: log joint, gradient and Hessian, data split, predictions."""


from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import small_logistic_model
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from vi_lib import (
    BayesianLogisticRegression,
    ValidationError,
    hmc_sample,
    laplace_approximation,
    load_breast_cancer_data,
    predictive_accuracy,
    predictive_probability,
    reference_posterior,
    split_rhat,
)


def test_log_joint_and_gradient_match_torch(rng):
    m = small_logistic_model(rng)
    z = rng.standard_normal((4, 3))
    zt = torch.tensor(z, requires_grad=True)
    lik = torch.distributions.Bernoulli(logits=zt @ torch.tensor(m.X).T).log_prob(torch.tensor(m.y)).sum(-1)
    prior = torch.distributions.Normal(0.0, 1.5).log_prob(zt).sum(-1)
    (lik + prior).sum().backward()
    np.testing.assert_allclose(m.log_joint(z), (lik + prior).detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(m.grad_log_joint(z), zt.grad.numpy(), atol=1e-10)


def test_hessian_matches_finite_differences(rng):
    m = small_logistic_model(rng)
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
    m = small_logistic_model(rng)
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
