"""Tests for vi_lib.inference.torch_vi: fit_vi_torch reaches known optima (the numpy fit_bbvi's on logistic
regression, a Gaussian target's mean and covariance), flows beat a Gaussian where they should, runs are
seeded, and every check of the log joint and the arguments gives a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import small_logistic_model

from vi_lib import (
    Banana,
    FullRankGaussian,
    GaussianTarget,
    MeanFieldGaussian,
    ValidationError,
    build_flow,
    fit_bbvi,
    fit_vi_torch,
    psis_check,
)

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[1.0, 0.8, -0.3], [0.8, 2.0, 0.4], [-0.3, 0.4, 0.5]])


def _gaussian_log_joint(z: torch.Tensor) -> torch.Tensor:
    mvn = torch.distributions.MultivariateNormal(torch.tensor(MEAN), covariance_matrix=torch.tensor(COV))
    return mvn.log_prob(z)


def _standard_normal(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z**2).sum(-1)


def _average_after(start: int, values: list, step: int, value: np.ndarray) -> None:
    if step >= start:
        values.append(value)


def test_mean_field_fit_agrees_with_fit_bbvi_on_logistic_regression():
    """Same model, same family, same estimator (pathwise, exact entropy): the same optimum.

    Constant-step Adam ends in a noise ball, so both runs average their iterates over the second half
    (Polyak averaging) before they are compared; the averages agree to about 0.01 (posterior sds ~0.4).
    """
    model = small_logistic_model(np.random.default_rng(0))
    numpy_iterates, torch_iterates = [], []
    fit_bbvi(model.log_joint, np.zeros(3), grad_log_joint=model.grad_log_joint, n_iterations=3000, n_samples=16,
             step_size=0.01, rng=np.random.default_rng(0),
             callback=lambda t, e, p: _average_after(1500, numpy_iterates, t, np.concatenate(p)))
    res = fit_vi_torch(model.log_joint_torch, MeanFieldGaussian(3), n_steps=3000, n_samples=16, lr=0.01, seed=0,
                       callback=lambda t, e, q: _average_after(
                           1500, torch_iterates, t, torch.cat([q.loc, q.log_scale]).detach().numpy().copy()))
    np.testing.assert_allclose(np.mean(torch_iterates, 0), np.mean(numpy_iterates, 0), atol=0.03)
    assert res.analytic_entropy and res.elbo_trace.shape == (3000,) and np.all(np.diff(res.wall_time) >= 0)


def test_full_rank_fit_recovers_the_mean_and_covariance_of_a_gaussian_target():
    means, covs = [], []

    def record(t: int, elbo: float, q: FullRankGaussian) -> None:
        if t >= 1000:
            means.append(q.loc.detach().numpy().copy())
            covs.append(q.covariance_matrix.detach().numpy().copy())

    res = fit_vi_torch(_gaussian_log_joint, FullRankGaussian(3), n_steps=2500, n_samples=16, lr=0.02, seed=1,
                       callback=record)
    np.testing.assert_allclose(np.mean(means, 0), MEAN, atol=0.03)
    np.testing.assert_allclose(np.mean(covs, 0), COV, atol=0.05)
    # the target is normalised: the ELBO is at most 0, and at the exact q it is 0
    assert abs(np.mean(res.elbo_trace[-500:])) < 0.02


def test_mean_field_fit_of_a_gaussian_reaches_the_known_mean_field_optimum():
    """Mean field under-disperses: sd_i = 1 / sqrt(Lambda_ii), not sqrt(Sigma_ii)."""
    target = GaussianTarget(MEAN, np.linalg.inv(COV))
    mean_opt, log_std_opt = target.optimal_mean_field()
    res = fit_vi_torch(_gaussian_log_joint, MeanFieldGaussian(3), n_steps=2000, n_samples=16, lr=0.02, seed=2)
    np.testing.assert_allclose(res.family.loc.detach().numpy(), mean_opt, atol=0.1)
    np.testing.assert_allclose(res.family.log_scale.detach().numpy(), log_std_opt, atol=0.1)
    assert np.all(log_std_opt < 0.5 * np.log(np.diag(COV)) - 0.1)


def test_a_flow_fits_the_banana_better_than_a_full_rank_gaussian():
    target = Banana()
    gauss = fit_vi_torch(target.log_prob, FullRankGaussian(2), n_steps=800, n_samples=32, lr=0.05, seed=0)
    flow = fit_vi_torch(target.log_prob, build_flow(2, 4, layer="coupling", hidden=16), n_steps=800, n_samples=32,
                        lr=0.01, seed=0)
    assert not flow.analytic_entropy
    elbo_gauss = psis_check(target.log_prob, gauss.family, n_samples=4000).elbo
    elbo_flow = psis_check(target.log_prob, flow.family, n_samples=4000).elbo
    assert elbo_gauss.estimate < -0.2  # KL(q || p) of the best Gaussian is visibly positive
    assert elbo_flow.estimate > elbo_gauss.estimate + 0.1 + 3 * (elbo_flow.standard_error + elbo_gauss.standard_error)


def test_runs_are_seeded_and_leave_the_initial_family_untouched():
    q = FullRankGaussian(3)
    a = fit_vi_torch(_gaussian_log_joint, q, n_steps=20, seed=4)
    b = fit_vi_torch(_gaussian_log_joint, q, n_steps=20, seed=4)
    c = fit_vi_torch(_gaussian_log_joint, q, n_steps=20, seed=5)
    np.testing.assert_array_equal(a.elbo_trace, b.elbo_trace)
    assert not np.array_equal(a.elbo_trace, c.elbo_trace)
    assert torch.equal(q.loc, torch.zeros(3, dtype=torch.float64)) and a.family is not q
    assert not torch.equal(a.family.loc, q.loc)


def _nan_outside(z: torch.Tensor) -> torch.Tensor:
    lp = -0.5 * (z**2).sum(-1)
    return torch.where(z.abs().max(-1).values < 10.0, lp, torch.full_like(lp, float("nan")))


def test_validation_errors_are_clear():
    q2 = MeanFieldGaussian(2)
    model = small_logistic_model(np.random.default_rng(0))
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `family` must have the dimension of the log joint's "
                                              r"model, 3; received a family of dimension 2"):
        fit_vi_torch(model.log_joint_torch, q2)
    A = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint` failed on a batch of shape \(16, 2\) "
                                              r"drawn from `family` \(is the family's dimension 2 the model's\?\)"):
        fit_vi_torch(lambda z: -0.5 * ((z @ A) ** 2).sum(-1), q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint\(z\)` must return a torch tensor of shape "
                                              r"\(16,\) for z of shape \(16, 2\); received tensor of shape \(16, 2\)"):
        fit_vi_torch(lambda z: -0.5 * z**2, q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint\(z\)` must return a torch tensor"):
        fit_vi_torch(lambda z: -0.5 * (z.detach().numpy() ** 2).sum(-1), q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint\(z\)` must be finite at the initial "
                                              r"family's draws"):
        fit_vi_torch(lambda z: torch.log(z[:, 0]), q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint\(z\)` must be computed in torch from z"):
        fit_vi_torch(lambda z: torch.zeros(z.shape[0], dtype=z.dtype), q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: the ELBO estimate became non-finite at step 1; "
                                              r"received nan\. Reduce `lr`"):
        fit_vi_torch(_nan_outside, q2, lr=100.0, n_steps=5)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `family` must be a variational family"):
        fit_vi_torch(_standard_normal, torch.distributions.Normal(0.0, 1.0))
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `log_joint` must be callable"):
        fit_vi_torch("log p", q2)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `n_steps` must be an integer >= 1; received 0"):
        fit_vi_torch(_standard_normal, q2, n_steps=0)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `n_samples` must be an integer >= 1; received 0"):
        fit_vi_torch(_standard_normal, q2, n_samples=0)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `lr` must be finite and positive; received -0\.1"):
        fit_vi_torch(_standard_normal, q2, lr=-0.1)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `lr` must be a positive scalar"):
        fit_vi_torch(_standard_normal, q2, lr=[0.1, 0.2])
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `seed` must be an integer >= 0; received -1"):
        fit_vi_torch(_standard_normal, q2, seed=-1)
    with pytest.raises(ValidationError, match=r"^fit_vi_torch: `callback` must be callable"):
        fit_vi_torch(_standard_normal, q2, callback=3)


def test_the_log_joint_torch_of_logistic_regression_matches_numpy():
    model = small_logistic_model(np.random.default_rng(1))
    z = np.random.default_rng(2).standard_normal((5, 3))
    np.testing.assert_allclose(model.log_joint_torch(torch.tensor(z)).numpy(), model.log_joint(z), rtol=0, atol=1e-12)
    with pytest.raises(ValidationError, match=r"^BayesianLogisticRegression.log_joint_torch: `z` must be a tensor of "
                                              r"shape \(\.\.\., 3\)"):
        model.log_joint_torch(torch.zeros(5, 2, dtype=torch.float64))
