"""The Laplace approximation: Newton reaches the mode."""


from __future__ import annotations

import numpy as np
from helpers import small_logistic_model

from vi_lib import (
    laplace_approximation,
)


def test_laplace_mode_has_zero_gradient(rng):
    m = small_logistic_model(rng)
    mode, cov = laplace_approximation(m)
    assert np.max(np.abs(m.grad_log_joint(mode[None]))) < 1e-8
    np.testing.assert_allclose(cov, np.linalg.inv(-m.hessian(mode)), atol=1e-12)
