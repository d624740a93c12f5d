"""Natural parameters: eta . t(z) - A(eta) reproduces scipy's log densities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln, log_softmax

from vi_lib import ValidationError, categorical_natural_params, gamma_natural_params, normal_natural_params


def test_normal_natural_params_give_scipy_logpdf():
    m, lam = np.array([-1.0, 0.5, 3.0]), np.array([0.5, 2.0, 10.0])
    eta = normal_natural_params(m, lam)
    z = np.array([0.3, -0.2, 2.9])
    log_partition = -eta[:, 0] ** 2 / (4 * eta[:, 1]) - 0.5 * np.log(-2 * eta[:, 1])
    logpdf = eta[:, 0] * z + eta[:, 1] * z**2 - log_partition - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(logpdf, stats.norm.logpdf(z, m, 1 / np.sqrt(lam)), rtol=1e-12)


def test_gamma_natural_params_give_scipy_logpdf():
    a, b = np.array([0.7, 2.0, 9.0]), np.array([0.3, 1.0, 4.0])
    eta = gamma_natural_params(a, b)
    z = np.array([0.5, 1.5, 2.2])
    log_partition = gammaln(eta[:, 0] + 1) - (eta[:, 0] + 1) * np.log(-eta[:, 1])
    logpdf = eta[:, 0] * np.log(z) + eta[:, 1] * z - log_partition
    np.testing.assert_allclose(logpdf, stats.gamma.logpdf(z, a=a, scale=1 / b), rtol=1e-12)


def test_categorical_natural_params_ignore_the_normaliser():
    logits = np.array([[0.1, -2.0, 1.5], [3.0, 0.0, -1.0]])
    eta = categorical_natural_params(logits + 7.0)
    probs = np.exp(log_softmax(np.concatenate([eta, np.zeros((2, 1))], axis=1), axis=1))
    np.testing.assert_allclose(probs, np.exp(log_softmax(logits, axis=1)), rtol=1e-12)
    with pytest.raises(ValidationError, match=r"^categorical_natural_params: `log_probs` must have K >= 2"):
        categorical_natural_params(np.zeros(1))
