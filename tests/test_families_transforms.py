"""Tests for vi_lib.families.transforms: log-Jacobians against autograd, inverses, supports, stability at the
extremes, a change of variables that integrates to one, and validation."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from vi_lib import ExpTransform, IntervalTransform, SoftplusTransform, ValidationError

TRANSFORMS = [ExpTransform(), SoftplusTransform(), IntervalTransform(-2.0, 5.0)]
IDS = ["exp", "softplus", "interval"]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_log_abs_det_jacobian_matches_autograd(transform):
    x = 2.0 * torch.randn(5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    J = jacobian(transform.forward, x)
    torch.testing.assert_close(J, torch.diag(torch.diagonal(J)), rtol=0, atol=0)  # elementwise
    expected = torch.log(torch.diagonal(J).abs())
    torch.testing.assert_close(transform.log_abs_det_jacobian(x, transform(x)), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(transform.log_abs_det_jacobian(x), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_inverse_inverts_forward_and_forward_lands_in_the_support(transform):
    x = torch.linspace(-6.0, 6.0, 101, dtype=torch.float64)
    y = transform(x)
    assert bool(transform._in_support(y).all())
    torch.testing.assert_close(transform.inverse(y), x, rtol=0, atol=1e-9)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=IDS)
def test_log_jacobian_is_finite_far_in_the_tails(transform):
    x = torch.tensor([-700.0, -40.0, 40.0, 700.0], dtype=torch.float64)
    assert bool(torch.isfinite(transform.log_abs_det_jacobian(x)).all())


def test_change_of_variables_gives_a_density_on_the_real_line():
    """Gamma(2, 1) on (0, inf) pulled back by exp and by softplus, Beta(2, 3) on (-2, 5) by the sigmoid."""
    x = torch.linspace(-30.0, 30.0, 60_001, dtype=torch.float64)
    dx = float(x[1] - x[0])
    cases = [(ExpTransform(), torch.distributions.Gamma(2.0, 1.0)),
             (SoftplusTransform(), torch.distributions.Gamma(2.0, 1.0))]
    for t, dist in cases:
        dens = (dist.log_prob(t(x)) + t.log_abs_det_jacobian(x)).exp()
        assert abs(float(dens.sum()) * dx - 1.0) < 1e-6
    t = IntervalTransform(-2.0, 5.0)
    beta = torch.distributions.Beta(torch.tensor(2.0, dtype=torch.float64), torch.tensor(3.0, dtype=torch.float64))
    dens = (beta.log_prob((t(x) + 2.0) / 7.0) - math.log(7.0) + t.log_abs_det_jacobian(x)).exp()
    assert abs(float(dens.sum()) * dx - 1.0) < 1e-6


def test_validation_errors_are_clear():
    with pytest.raises(ValidationError, match=r"^ExpTransform.inverse: `y` must lie in \(0, inf\)"):
        ExpTransform().inverse(torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^SoftplusTransform.inverse: `y` must lie in \(0, inf\)"):
        SoftplusTransform().inverse(torch.tensor([0.0], dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^IntervalTransform.inverse: `y` must lie in \(-2, 5\)"):
        IntervalTransform(-2.0, 5.0).inverse(torch.tensor([5.0], dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^IntervalTransform: `upper` must be greater than `lower`"):
        IntervalTransform(1.0, 1.0)
    with pytest.raises(ValidationError, match=r"^IntervalTransform: `lower` must be finite"):
        IntervalTransform(float("-inf"), 1.0)
    with pytest.raises(ValidationError, match=r"^ExpTransform.forward: `x` must be a floating-point torch tensor"):
        ExpTransform()(torch.tensor([1, 2]))
    with pytest.raises(ValidationError, match=r"^SoftplusTransform.log_abs_det_jacobian: `x` must be a floating"):
        SoftplusTransform().log_abs_det_jacobian([0.0])
