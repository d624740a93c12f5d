"""Tests for vi_lib.models.toy_targets: each density integrates to one, its exact draws have the closed-form
moments, the mixture's first coordinate is the KL chapter's 1-D mixture, and validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vi_lib import Banana, GaussianMixture2D, NealFunnel, ValidationError, mixture_log_pdf

TARGETS = [NealFunnel(2), Banana(), GaussianMixture2D(), GaussianMixture2D([0.2, 0.5, 0.3], [[0, 0], [2, 1], [-1, 3]],
                                                                           [0.5, 1.0, 0.7])]
IDS = ["funnel", "banana", "mixture", "mixture3"]


@pytest.mark.parametrize("target", TARGETS, ids=IDS)
def test_log_prob_integrates_to_one(target):
    if isinstance(target, NealFunnel):
        # x | v is normalised for every v, so integrate x on a v-dependent grid: p(v) * int p(x|v) dx.
        v = torch.linspace(-20, 20, 801, dtype=torch.float64)
        u = torch.linspace(-12, 12, 801, dtype=torch.float64)  # x = e^{v/2} u
        vv, uu = torch.meshgrid(v, u, indexing="ij")
        x = torch.exp(vv / 2) * uu
        dens = target.log_prob(torch.stack([vv, x], -1)).exp() * torch.exp(vv / 2)
        total = float(dens.sum()) * float(v[1] - v[0]) * float(u[1] - u[0])
    else:
        g = torch.linspace(-15, 25, 801, dtype=torch.float64)
        xx, yy = torch.meshgrid(g, g, indexing="ij")
        total = float(target.log_prob(torch.stack([xx, yy], -1)).exp().sum()) * float(g[1] - g[0]) ** 2
    assert abs(total - 1.0) < 1e-6


@pytest.mark.parametrize("target", TARGETS[1:], ids=IDS[1:])
def test_exact_draws_have_the_closed_form_moments(target):
    n = 200_000
    z = target.sample(n, generator=torch.Generator().manual_seed(0)).numpy()
    cov = target.covariance
    assert np.all(np.abs(z.mean(0) - target.mean) < 5 * np.sqrt(np.diag(cov) / n))
    # the fourth moments bound the error of a sample covariance; 5% of the scale is ample at n = 2e5
    assert np.all(np.abs(np.cov(z.T) - cov) < 0.05 * np.sqrt(np.outer(np.diag(cov), np.diag(cov))))


def test_funnel_draws_have_the_closed_form_moments_of_v_and_the_log_scale_of_x():
    """Var x = e^{s^2/2} is dominated by rare huge draws; check v exactly and log|x| = v/2 + log|eps| instead."""
    target = NealFunnel(4, v_std=1.5)
    z = target.sample(200_000, generator=torch.Generator().manual_seed(1)).numpy()
    se = 1.5 / math.sqrt(z.shape[0])
    assert abs(z[:, 0].mean()) < 5 * se and abs(z[:, 0].std() - 1.5) < 0.01
    # E log|eps| for eps ~ N(0, 1) is -(gamma + log 2) / 2
    expected = -(np.euler_gamma + math.log(2.0)) / 2
    assert np.all(np.abs(np.log(np.abs(z[:, 1:])).mean(0) - expected) < 0.02)
    np.testing.assert_allclose(np.diag(target.covariance), [2.25, *[math.exp(2.25 / 2)] * 3])


def test_draws_agree_with_log_prob_by_a_histogram_check():
    target = Banana()
    z = target.sample(100_000, generator=torch.Generator().manual_seed(3))
    inside = ((z[:, 0].abs() < 1) & (z[:, 1].abs() < 1)).double().mean()
    g = torch.linspace(-1, 1, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    dens = target.log_prob(torch.stack([xx, yy], -1)).exp()
    w = torch.ones(401, dtype=torch.float64)
    w[0] = w[-1] = 0.5  # trapezoid
    mass = float((dens * w[:, None] * w[None, :]).sum()) * float(g[1] - g[0]) ** 2
    assert abs(float(inside) - mass) < 5 * math.sqrt(mass * (1 - mass) / 100_000)


def test_first_coordinate_of_the_default_mixture_is_the_kl_chapter_target():
    target = GaussianMixture2D()
    x1 = torch.linspace(-8, 8, 33, dtype=torch.float64)
    y = torch.linspace(-10, 10, 2001, dtype=torch.float64)
    xx, yy = torch.meshgrid(x1, y, indexing="ij")
    marginal = target.log_prob(torch.stack([xx, yy], -1)).exp().sum(1) * float(y[1] - y[0])
    expected = np.exp(mixture_log_pdf(x1.numpy(), [0.5, 0.5], [-3.0, 3.0], [1.0, 1.0]))
    np.testing.assert_allclose(marginal.numpy(), expected, rtol=1e-8, atol=1e-14)


def test_log_joint_is_log_prob_differentiable_and_batched():
    target = NealFunnel(3)
    z = torch.zeros(4, 5, 3, dtype=torch.float64, requires_grad=True)
    out = target.log_joint(z)
    assert out.shape == (4, 5)
    torch.testing.assert_close(out, target.log_prob(z))
    out.sum().backward()
    assert z.grad is not None


def test_validation_errors_are_clear():
    with pytest.raises(ValidationError, match=r"^NealFunnel: `dim` must be an integer >= 2; received 1"):
        NealFunnel(1)
    with pytest.raises(ValidationError, match=r"^NealFunnel: `v_std` must be finite and positive"):
        NealFunnel(2, v_std=0.0)
    with pytest.raises(ValidationError, match=r"^Banana: `std2` must be finite and positive"):
        Banana(std2=-1.0)
    with pytest.raises(ValidationError, match=r"^Banana: `curvature` must be finite"):
        Banana(curvature=float("nan"))
    with pytest.raises(ValidationError, match=r"^GaussianMixture2D: `weights` must be non-negative and sum to 1"):
        GaussianMixture2D(weights=[0.5, 0.6])
    with pytest.raises(ValidationError, match=r"^GaussianMixture2D: `means` must be of shape \(2, 2\)"):
        GaussianMixture2D(means=[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    with pytest.raises(ValidationError, match=r"^GaussianMixture2D: `stds` must be finite and positive"):
        GaussianMixture2D(stds=[1.0, 0.0])
    with pytest.raises(ValidationError, match=r"^Banana.log_prob: `z` must be a tensor of shape \(\.\.\., 2\)"):
        Banana().log_prob(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^NealFunnel.log_joint: `z` must be a floating-point torch tensor"):
        NealFunnel().log_joint(np.zeros((3, 2)))
    with pytest.raises(ValidationError, match=r"^Banana.sample: `n` must be an integer >= 1; received 0"):
        Banana().sample(0)
    with pytest.raises(ValidationError, match=r"^Banana.sample: `generator` must be a torch.Generator or None"):
        Banana().sample(3, generator=0)
