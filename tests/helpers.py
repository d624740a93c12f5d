"""Small models shared by several test files (tests/ is on sys.path, see the root conftest.py)."""

from __future__ import annotations

import numpy as np

from vi_lib import BayesianLogisticRegression


def small_logistic_model(rng: np.random.Generator, n: int = 40, d: int = 3) -> BayesianLogisticRegression:
    """A logistic regression with an intercept and ``d - 1`` standard-normal features, labels drawn from the model."""
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    z_true = np.array([0.5, -1.0, 2.0])[:d]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-X @ z_true))).astype(float)
    return BayesianLogisticRegression(X, y, prior_std=1.5)
