"""Tests for vi_lib.families.gaussian_torch: densities integrate to one, draws have the closed-form moments,
the closed-form entropy agrees with Monte Carlo, and every validation error is clear."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vi_lib import FullRankGaussian, MeanFieldGaussian, ValidationError

L3 = np.array([[1.2, 0.0, 0.0], [0.6, 0.5, 0.0], [-0.3, 0.8, 2.0]])


def _families():
    return [
        MeanFieldGaussian(3, loc=[0.5, -1.0, 2.0], scale=[0.7, 1.3, 2.0]),
        FullRankGaussian(3, loc=[0.5, -1.0, 2.0], scale_tril=L3),
    ]


def _grid(lo: float, hi: float, n: int) -> tuple[torch.Tensor, float]:
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    xx, yy = torch.meshgrid(x, x, indexing="ij")
    return torch.stack([xx.ravel(), yy.ravel()], dim=1), float(x[1] - x[0]) ** 2


@pytest.mark.parametrize("family", [MeanFieldGaussian(2, loc=[0.3, -0.2], scale=[0.8, 1.5]),
                                    FullRankGaussian(2, loc=[0.3, -0.2], scale_tril=[[0.8, 0.0], [0.9, 0.6]])],
                         ids=["mean-field", "full-rank"])
def test_log_prob_integrates_to_one_on_a_grid(family):
    z, cell = _grid(-9.0, 9.0, 301)
    with torch.no_grad():
        total = float(family.log_prob(z).exp().sum()) * cell
    assert abs(total - 1.0) < 1e-6


@pytest.mark.parametrize("family", _families(), ids=["mean-field", "full-rank"])
def test_log_prob_matches_torch_distributions(family):
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = torch.distributions.MultivariateNormal(family.loc.detach(), scale_tril=family.scale_tril.detach())
    torch.testing.assert_close(family.log_prob(z).detach(), ref.log_prob(z), rtol=0, atol=1e-12)
    torch.testing.assert_close(family.entropy().detach(), ref.entropy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("family", _families(), ids=["mean-field", "full-rank"])
def test_sample_moments_match_the_closed_forms(family):
    n = 200_000
    z = family.sample((n,), generator=torch.Generator().manual_seed(0)).numpy()
    mean, cov = family.loc.detach().numpy(), family.covariance_matrix.detach().numpy()
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(z.mean(0) - mean) < 5 * se_mean)
    # Var of a sample covariance entry: (S_ii S_jj + S_ij^2) / n for Gaussian data.
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(z.T) - cov) < 5 * se_cov)


@pytest.mark.parametrize("family", _families(), ids=["mean-field", "full-rank"])
def test_entropy_agrees_with_monte_carlo(family):
    with torch.no_grad():
        z = family.sample(100_000, generator=torch.Generator().manual_seed(3))
        minus_log_q = -family.log_prob(z)
    se = float(minus_log_q.std()) / math.sqrt(z.shape[0])
    assert abs(float(minus_log_q.mean()) - float(family.entropy().detach())) < 4 * se


def test_entropy_closed_form_is_sum_of_log_diagonal():
    q = FullRankGaussian(3, scale_tril=L3)
    expected = np.log(np.diag(L3)).sum() + 1.5 * math.log(2 * math.pi * math.e)
    assert abs(float(q.entropy().detach()) - expected) < 1e-12


def test_rsample_is_reparameterised_and_sample_is_not():
    q = FullRankGaussian(2)
    z = q.rsample((5,), generator=torch.Generator().manual_seed(0))
    z.sum().backward()
    assert q.loc.grad is not None and torch.allclose(q.loc.grad, torch.full((2,), 5.0, dtype=torch.float64))
    assert not q.sample(5).requires_grad


def test_shapes_and_seeding():
    q = MeanFieldGaussian(2)
    assert q.sample().shape == (2,)
    assert q.sample((4, 3)).shape == (4, 3, 2)
    assert q.log_prob(torch.zeros(4, 3, 2, dtype=torch.float64)).shape == (4, 3)
    a = q.sample(6, generator=torch.Generator().manual_seed(7))
    b = q.sample(6, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    z, log_q = q.rsample_and_log_prob(6, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(z.detach(), a)
    torch.testing.assert_close(log_q.detach(), q.log_prob(a).detach())
    assert MeanFieldGaussian(2, dtype=torch.float32).sample(3).dtype == torch.float32


def test_parameters_are_trainable_and_scale_stays_positive():
    q = FullRankGaussian(2)
    names = {n for n, _ in q.named_parameters()}
    assert names == {"loc", "tril_offdiag", "log_diag"}
    with torch.no_grad():
        q.log_diag.fill_(-50.0)
    assert torch.all(torch.diag(q.scale_tril) > 0)


def test_validation_errors_are_clear():
    with pytest.raises(ValidationError, match=r"^MeanFieldGaussian: `dim` must be an integer >= 1; received 0"):
        MeanFieldGaussian(0)
    with pytest.raises(ValidationError, match=r"^MeanFieldGaussian: `scale` must be finite and positive"):
        MeanFieldGaussian(2, scale=[1.0, 0.0])
    with pytest.raises(ValidationError, match=r"^MeanFieldGaussian: `scale` must be of shape \(2,\)"):
        MeanFieldGaussian(2, scale=[1.0, 1.0, 1.0])
    with pytest.raises(ValidationError, match=r"^MeanFieldGaussian: `loc` must be of shape \(2,\)"):
        MeanFieldGaussian(2, loc=[0.0])
    with pytest.raises(ValidationError, match=r"^MeanFieldGaussian: `dtype` must be torch.float32 or torch.float64"):
        MeanFieldGaussian(2, dtype=torch.int64)
    with pytest.raises(ValidationError, match=r"^FullRankGaussian: `scale_tril` must be lower triangular"):
        FullRankGaussian(2, scale_tril=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValidationError, match=r"^FullRankGaussian: `scale_tril` must be finite and positive"):
        FullRankGaussian(2, scale_tril=[[1.0, 0.0], [0.5, -1.0]])
    with pytest.raises(ValidationError, match=r"^FullRankGaussian: `scale_tril` must be of shape \(2, 2\)"):
        FullRankGaussian(2, scale_tril=np.eye(3))
    q = FullRankGaussian(2)
    with pytest.raises(ValidationError, match=r"^FullRankGaussian.log_prob: `z` must be a tensor of shape "
                                              r"\(\.\.\., 2\)"):
        q.log_prob(torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^FullRankGaussian.log_prob: `z` must be a floating-point torch tensor"):
        q.log_prob(np.zeros((3, 2)))
    with pytest.raises(ValidationError, match=r"^FullRankGaussian.rsample: `sample_shape` must be a non-negative int"):
        q.rsample(-1)
    with pytest.raises(ValidationError, match=r"^FullRankGaussian.rsample: `generator` must be a torch.Generator"):
        q.rsample(2, generator=np.random.default_rng(0))
    with pytest.raises(ValidationError, match=r"^FullRankGaussian.rsample_and_log_prob: `n` must be an integer >= 1"):
        q.rsample_and_log_prob(0)
