"""Tests for vi_lib.reference.evidence: quadrature, grid cost, naive Monte Carlo and its sample-size formula."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy.special import logsumexp

from vi_lib import (
    BetaBernoulli,
    NormalNormal,
    ValidationError,
    grid_log_evidence,
    grid_quadrature_cost,
    log_evidence_quadrature,
    mc_samples_needed,
    naive_mc_log_evidence,
    naive_mc_relative_variance,
    normal_means_log_joint,
    summarize_log_weights,
)

NN = NormalNormal(prior_mean=0.0, prior_std=1.5, noise_std=1.0)


def test_quadrature_of_a_known_integral():
    """log of int_{-50}^{50} exp(-z^2 / 2 + 1000) dz = 1000 + log sqrt(2 pi): far beyond exp's range."""
    q = log_evidence_quadrature(lambda z: -0.5 * np.asarray(z) ** 2 + 1000.0, -50.0, 50.0)
    assert q.log_evidence == pytest.approx(1000.0 + 0.5 * np.log(2 * np.pi), rel=1e-14)
    assert q.rel_error < 1e-10 and abs(q.mode) < 1e-6


def test_quadrature_handles_mode_at_the_boundary():
    """Integrand exp(-3 z) on [0, 1]: peak at the left end; exact value (1 - e^-3) / 3."""
    q = log_evidence_quadrature(lambda z: -3.0 * np.asarray(z), 0.0, 1.0)
    assert q.log_evidence == pytest.approx(np.log(-np.expm1(-3.0) / 3.0), rel=1e-12)


def test_grid_cost_and_grid_evidence(rng):
    assert np.array_equal(grid_quadrature_cost(10, [1, 2, 3]), [10.0, 100.0, 1000.0])
    x = rng.normal(0.5, 1.0, size=(6, 2))
    exact = sum(NN.log_evidence(x[:, j]) for j in range(2))
    lj = partial(normal_means_log_joint, x=x, prior_mean=0.0, prior_std=1.5, noise_std=1.0)
    est = grid_log_evidence(lj, -8.0, 8.0, 200, 2, chunk_size=5000)
    assert est == pytest.approx(exact, abs=1e-8)


def test_naive_mc_is_within_standard_errors_of_exact(rng):
    x = NN.sample_data(5, 0.7, rng)
    exact = NN.log_evidence(x)
    res = naive_mc_log_evidence(partial(NN.log_likelihood, x=x), NN.sample_prior(200_000, rng))
    z_hat, se = np.exp(res.log_evidence), np.exp(res.log_std_error)
    assert abs(z_hat - np.exp(exact)) < 4 * se
    assert res.rel_std_error == pytest.approx(se / z_hat)
    assert 1.0 <= res.ess <= 200_000


def test_naive_mc_relative_se_matches_closed_form_second_moment(rng):
    x = NN.sample_data(10, 1.0, rng)
    rv = naive_mc_relative_variance(NN.log_evidence(x), NN.log_expected_squared_likelihood(x))
    n_samples = 400_000
    res = naive_mc_log_evidence(partial(NN.log_likelihood, x=x), NN.sample_prior(n_samples, rng))
    # the sample relative SE estimates sqrt(rv / N); allow 10% for the noise in a variance estimate
    assert res.rel_std_error == pytest.approx(np.sqrt(rv / n_samples), rel=0.1)


def test_unbiased_but_log_biased_downward(rng):
    """E[p_hat] = p(x) (within 4 SE), E[log p_hat] < log p(x) (Jensen), by many small replicates."""
    x = NN.sample_data(8, 1.0, rng)
    exact = NN.log_evidence(x)
    reps, n = 20_000, 20
    lw = NN.log_likelihood(NN.sample_prior(reps * n, rng), x).reshape(reps, n)
    log_hat = logsumexp(lw, axis=1) - np.log(n)
    ratio = np.exp(log_hat - exact)
    assert abs(ratio.mean() - 1.0) < 4 * ratio.std(ddof=1) / np.sqrt(reps)
    bias = log_hat.mean() - exact
    assert bias + 4 * log_hat.std(ddof=1) / np.sqrt(reps) < 0


def test_samples_needed_formula():
    # E[w] = 1, E[w^2] = 5 -> Var/E^2 = 4 -> N = 4 / 0.1^2 = 400
    assert mc_samples_needed(0.1, 0.0, np.log(5.0)) == pytest.approx(400.0)
    coin = BetaBernoulli(1.0, 1.0)
    x = np.array([1.0, 0.0, 1.0])
    n_needed = mc_samples_needed(0.05, coin.log_evidence(x), coin.log_expected_squared_likelihood(x))
    assert n_needed > 0
    vec = mc_samples_needed(0.1, np.zeros(2), np.log([5.0, 2.0]))
    np.testing.assert_allclose(vec, [400.0, 100.0])


def test_effective_sample_size_of_the_weights():
    # Kish's ESS (sum w)^2 / sum w^2: N for equal weights, 1 when one weight dominates.
    assert summarize_log_weights(np.zeros(7)).ess == pytest.approx(7.0)
    assert summarize_log_weights(np.array([0.0, -800.0, -900.0])).ess == pytest.approx(1.0)
    w = np.array([1.0, 1.0, 0.5, 0.1])
    assert summarize_log_weights(np.log(w) - 40.0).ess == pytest.approx(w.sum() ** 2 / (w**2).sum())


def test_summarize_log_weights_is_shift_invariant():
    lw = np.array([-1000.0, -1001.0, -1002.5, -np.inf])
    a, b = summarize_log_weights(lw), summarize_log_weights(lw + 900.0)
    assert b.log_evidence - a.log_evidence == pytest.approx(900.0)
    assert a.rel_std_error == pytest.approx(b.rel_std_error) and a.ess == pytest.approx(b.ess)
    w = np.exp(lw + 1000.0)
    assert a.log_evidence == pytest.approx(np.log(w.mean()) - 1000.0)
    assert a.rel_std_error == pytest.approx(w.std(ddof=1) / np.sqrt(4) / w.mean())


def test_validation_messages():
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `log_joint` must be callable"):
        log_evidence_quadrature(3.0, 0.0, 1.0)
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `upper` must be greater than `lower`"):
        log_evidence_quadrature(np.sin, 1.0, 0.0)
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `lower` must be finite"):
        log_evidence_quadrature(np.sin, -np.inf, 0.0)
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `log_joint` must return finite values"):
        log_evidence_quadrature(lambda z: np.full(np.shape(z), np.nan), 0.0, 1.0)
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `log_joint` must map shape"):
        log_evidence_quadrature(lambda z: 0.0, 0.0, 1.0)
    with pytest.raises(ValidationError, match=r"grid_quadrature_cost: `dims` must be a non-empty 1-D array"):
        grid_quadrature_cost(10, [0, 1])
    with pytest.raises(ValidationError, match=r"grid_quadrature_cost: `points_per_dim` must be an integer >= 1"):
        grid_quadrature_cost(0, [1])
    with pytest.raises(ValidationError, match=r"grid_log_evidence: the grid would have points_per_dim\*\*dim"):
        grid_log_evidence(np.sum, 0.0, 1.0, 100, 5, max_points=10**6)
    with pytest.raises(ValidationError, match=r"grid_log_evidence: `dim` must be an integer >= 1"):
        grid_log_evidence(np.sum, 0.0, 1.0, 10, 0)
    with pytest.raises(ValidationError, match=r"naive_mc_log_evidence: `prior_samples` must have shape"):
        naive_mc_log_evidence(np.sin, np.zeros(1))
    with pytest.raises(ValidationError, match=r"naive_mc_log_evidence: `log_likelihood` must return shape \(3,\)"):
        naive_mc_log_evidence(lambda z: np.zeros(2), np.zeros(3))
    with pytest.raises(ValidationError, match=r"summarize_log_weights: `log_weights` must be finite or -inf"):
        summarize_log_weights(np.array([-np.inf, -np.inf]))
    with pytest.raises(ValidationError, match=r"summarize_log_weights: `log_weights` must have at least 2 entries"):
        summarize_log_weights(np.array([0.0]))
    with pytest.raises(ValidationError, match=r"naive_mc_relative_variance: `log_second_moment` must be >= 2"):
        naive_mc_relative_variance(0.0, -1.0)
    with pytest.raises(ValidationError, match=r"mc_samples_needed: `rel_tol` must be finite and positive"):
        mc_samples_needed(0.0, 0.0, 1.0)


def test_more_validation_messages():
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: `lower` must be a scalar"):
        log_evidence_quadrature(np.sin, [0.0, 1.0], 2.0)
    with pytest.raises(ValidationError, match=r"log_evidence_quadrature: the integral is zero to machine precision"):
        # finite only at the single grid point z = 0.5: quad sees an integrand that is zero almost everywhere
        log_evidence_quadrature(lambda z: np.where(np.asarray(z) == 0.5, 0.0, -np.inf), 0.0, 1.0, grid_points=3)
    with pytest.raises(ValidationError, match=r"grid_log_evidence: `log_joint` must map shape \(16, 2\) to \(16,\)"):
        grid_log_evidence(lambda pts: np.zeros(3), 0.0, 1.0, 4, 2)
    with pytest.raises(ValidationError, match=r"naive_mc_relative_variance: `log_second_moment` must have the shape"):
        naive_mc_relative_variance(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_grid_is_the_midpoint_rule(dim):
    """The midpoint rule is exact for prod_i z_i on [0, 1]^d, even with G = 4 and an integrand that
    does not vanish at the edges: int = 2^-d. (A left/right Riemann sum gives (3/8)^d or (5/8)^d.)"""
    with np.errstate(divide="ignore"):
        est = grid_log_evidence(lambda z: np.sum(np.log(z), axis=1), 0.0, 1.0, 4, dim)
    assert est == pytest.approx(-dim * np.log(2.0), abs=1e-12)


def test_quadrature_rel_error_is_relative_to_the_integral():
    """Stretching z by a factor c multiplies the integral and quad's absolute error by c; the relative
    error must not change."""
    base = None
    for scale in (1.0, 100.0, 0.01):
        q = log_evidence_quadrature(lambda z, s=scale: -0.5 * (np.asarray(z) / s) ** 2, -50 * scale, 50 * scale,
                                    epsrel=1e-4)
        assert q.log_evidence == pytest.approx(np.log(scale * np.sqrt(2 * np.pi)), abs=1e-12)
        base = q.rel_error if base is None else base
        assert 0 < q.rel_error == pytest.approx(base, rel=1e-3)


def test_quadrature_mode_is_located_off_the_grid():
    c = 0.123456789  # not a point of linspace(-50, 50, 4097), whose spacing is 0.024
    q = log_evidence_quadrature(lambda z: -0.5 * (np.asarray(z) - c) ** 2, -50.0, 50.0)
    assert q.mode == pytest.approx(c, abs=1e-7)

