"""Tests for vi_lib.inference.em: EM for a 1-D Gaussian mixture as coordinate ascent on the ELBO."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vi_lib import (
    GaussianMixture1D,
    ValidationError,
    e_step,
    em_lower_bound,
    fit_em,
    gmm_log_density,
    gmm_log_likelihood,
    gmm_sample,
    init_gmm,
    m_step,
)

TRUE = GaussianMixture1D(weights=[0.3, 0.7], means=[-2.0, 1.5], variances=[0.36, 1.0])


def _random_params(rng: np.random.Generator, k: int) -> GaussianMixture1D:
    w = rng.dirichlet(np.ones(k) * 2.0)
    return GaussianMixture1D(weights=w, means=rng.normal(0, 3, k), variances=rng.uniform(0.2, 3.0, k))


def _scipy_log_density(x, p):
    """Mixture log-density from scipy's normal densities (independent of vi_lib.inference.em)."""
    return np.log(sum(w * stats.norm.pdf(x, m, np.sqrt(v)) for w, m, v in zip(p.weights, p.means, p.variances)))


def _loglik(x, p):
    return float(np.sum(_scipy_log_density(x, p)))


def test_log_density_matches_scipy(rng):
    x = rng.normal(0, 3, 50)
    expected = _scipy_log_density(x, TRUE)
    np.testing.assert_allclose(gmm_log_density(x, TRUE), expected, rtol=1e-12)
    assert gmm_log_likelihood(x, TRUE) == pytest.approx(expected.sum(), rel=1e-12)


def test_log_density_is_normalised():
    grid = np.linspace(-15, 15, 30001)
    mass = np.trapezoid(np.exp(gmm_log_density(grid, TRUE)), grid)
    assert mass == pytest.approx(1.0, abs=1e-10)


def test_sample_moments_match(rng):
    x = gmm_sample(200_000, TRUE, rng)
    mean = float(TRUE.weights @ TRUE.means)
    var = float(TRUE.weights @ (TRUE.variances + TRUE.means**2)) - mean**2
    se = np.sqrt(var / x.size)
    assert abs(x.mean() - mean) < 4 * se


def test_e_step_rows_are_posteriors(rng):
    x = rng.normal(0, 2, 30)
    r = e_step(x, TRUE)
    np.testing.assert_allclose(r.sum(axis=1), 1.0, atol=1e-14)
    joint = np.stack([w * stats.norm.pdf(x, m, np.sqrt(v))
                      for w, m, v in zip(TRUE.weights, TRUE.means, TRUE.variances)], axis=1)
    np.testing.assert_allclose(r, joint / joint.sum(axis=1, keepdims=True), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 4))
def test_bound_is_tight_after_e_step_and_below_otherwise(seed, k):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, 40)
    params = _random_params(rng, k)
    ll = gmm_log_likelihood(x, params)
    assert em_lower_bound(x, params, e_step(x, params)) == pytest.approx(ll, abs=1e-10 * max(1.0, abs(ll)))
    other = rng.dirichlet(np.ones(k), size=x.size)
    assert em_lower_bound(x, params, other) <= ll + 1e-10


def test_m_step_maximises_the_bound(rng):
    x = gmm_sample(300, TRUE, rng)
    resp = e_step(x, GaussianMixture1D([0.5, 0.5], [-1.0, 1.0], [1.0, 1.0]))
    best = m_step(x, resp)
    top = em_lower_bound(x, best, resp)
    for _ in range(20):
        w = np.clip(best.weights + rng.normal(0, 0.02, 2), 1e-3, None)
        perturbed = GaussianMixture1D(w / w.sum(), best.means + rng.normal(0, 0.05, 2),
                                      best.variances * np.exp(rng.normal(0, 0.05, 2)))
        assert em_lower_bound(x, perturbed, resp) <= top + 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 3), n=st.integers(5, 80))
def test_em_never_decreases_log_likelihood(seed, k, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(3, n) * rng.uniform(0.5, 3.0)
    init = init_gmm(x, k, rng)
    res = fit_em(x, init, n_iter=40, tol=0.0, variance_floor=1e-4)
    ll = res.log_likelihoods
    scale = 1e-10 * max(1.0, float(np.max(np.abs(ll))))
    assert np.all(np.diff(ll) >= -scale)
    # the sandwich: L(q_t, theta_t) = ll_t <= L(q_t, theta_{t+1}) <= ll_{t+1}
    np.testing.assert_allclose(res.bounds_after_e, ll[:-1], rtol=0, atol=scale)
    assert np.all(res.bounds_after_m >= res.bounds_after_e - scale)
    assert np.all(res.bounds_after_m <= ll[1:] + scale)


def test_em_recovers_parameters(rng):
    x = gmm_sample(3000, TRUE, rng)
    res = fit_em(x, GaussianMixture1D([0.5, 0.5], [-0.5, 0.5], [2.0, 2.0]), n_iter=500, tol=1e-10)
    assert res.converged
    order = np.argsort(res.params.means)
    np.testing.assert_allclose(res.params.means[order], TRUE.means, atol=0.15)
    np.testing.assert_allclose(res.params.weights[order], TRUE.weights, atol=0.05)
    np.testing.assert_allclose(res.params.variances[order], TRUE.variances, rtol=0.2)
    assert res.n_iter == res.bounds_after_m.size == len(res.params_history) - 1


def test_variance_floor_prevents_collapse():
    x = np.array([0.0, 0.0, 0.0, 5.0, 6.0])
    resp = np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]] * 2)
    params = m_step(x, resp, variance_floor=1e-3)
    assert params.variances[0] == pytest.approx(1e-3)
    assert np.isfinite(gmm_log_likelihood(x, params))


def test_single_component_is_the_gaussian_mle(rng):
    x = rng.normal(2.0, 3.0, 100)
    res = fit_em(x, init_gmm(x, 1, rng), n_iter=3, tol=0.0)
    assert res.params.means[0] == pytest.approx(x.mean(), rel=1e-12)
    assert res.params.variances[0] == pytest.approx(x.var(), rel=1e-12)


# --- bad inputs -------------------------------------------------------------------------------

def test_params_validation():
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` must have at least one"):
        GaussianMixture1D([], [], [])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` must be a probability vector .*"
                                              r"received entries summing to 1\.1 "):
        GaussianMixture1D([0.5, 0.6], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` must be a probability vector .*"
                                              r"with minimum -0\.5"):
        GaussianMixture1D([1.5, -0.5], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` must be positive"):
        GaussianMixture1D([1.0, 0.0], [0.0, 1.0], [1.0, 1.0])
    # float32 weights (a float32 softmax) are judged at float32 precision; float64 keeps 1e-9
    w32 = np.array([0.1, 0.2, 0.7], dtype=np.float32)
    assert abs(float(w32.sum(dtype=np.float64)) - 1.0) > 1e-9
    assert GaussianMixture1D(w32, [0.0, 1.0, 2.0], [1.0, 1.0, 1.0]).weights.sum() == pytest.approx(1.0, abs=1e-15)
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` .* within 1e-09, the tolerance for 2 "
                                              r"float64 entries\); received entries summing to 1\.00000001 "):
        GaussianMixture1D([0.5, 0.5 + 1e-8], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `variances` must be finite and positive"):
        GaussianMixture1D([0.5, 0.5], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `means` must be of shape \(2,\)"):
        GaussianMixture1D([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `means` must be finite"):
        GaussianMixture1D([0.5, 0.5], [0.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValidationError, match=r"GaussianMixture1D: `weights` must be a 1-D array"):
        GaussianMixture1D([[0.5, 0.5]], [0.0, 1.0], [1.0, 1.0])


def test_data_validation():
    with pytest.raises(ValidationError, match=r"gmm_log_likelihood: `x` must be non-empty"):
        gmm_log_likelihood(np.array([]), TRUE)
    with pytest.raises(ValidationError, match=r"e_step: `x` must be finite"):
        e_step(np.array([0.0, np.inf]), TRUE)
    with pytest.raises(ValidationError, match=r"gmm_log_density: `x` must be a 1-D array"):
        gmm_log_density(np.zeros((2, 2)), TRUE)
    with pytest.raises(ValidationError, match=r"e_step: `params` must be a GaussianMixture1D"):
        e_step(np.zeros(3), {"weights": [1.0]})


def test_m_step_validation():
    x = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValidationError, match=r"m_step: `resp` must be of shape \(3, \*\)"):
        m_step(x, np.ones((2, 1)))
    with pytest.raises(ValidationError, match=r"m_step: `resp` must have non-negative rows that sum to 1 \(each "
                                              r"within 1e-09, .*received 3 of 3 rows off, the worst row 0 summing "
                                              r"to 1\.4 \(off by \+0\.4\)"):
        m_step(x, np.full((3, 2), 0.7))
    with pytest.raises(ValidationError, match=r"m_step: `resp` .* the worst row 1 summing to 1\.00000001 "):
        m_step(x, np.array([[0.5, 0.5], [0.5, 0.5 + 1e-8], [1.0, 0.0]]))
    r32 = np.array([[0.1, 0.9], [0.3, 0.7], [0.6, 0.4]], dtype=np.float32)  # float32 rows pass at float32 precision
    r64 = r32.astype(np.float64)  # the same numbers in float64 are off by 3e-8, beyond float64's tolerance
    with pytest.raises(ValidationError, match=r"m_step: `resp` .* 2 float64 entries"):
        m_step(x, r64)
    np.testing.assert_allclose(m_step(x, r32).weights, m_step(x, r64 / r64.sum(axis=1, keepdims=True)).weights,
                               rtol=0, atol=1e-15)
    with pytest.raises(ValidationError, match=r"m_step: every component must receive positive total"):
        m_step(x, np.array([[1.0, 0.0]] * 3))
    with pytest.raises(ValidationError, match=r"m_step: `variance_floor` must be finite and positive"):
        m_step(x, np.ones((3, 1)), variance_floor=0.0)
    with pytest.raises(ValidationError, match=r"em_lower_bound: `resp` must be of shape \(3, 2\)"):
        em_lower_bound(x, TRUE, np.ones((3, 1)))


def test_fit_and_init_validation(rng):
    x = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValidationError, match=r"init_gmm: `n_components` must be an integer >= 1"):
        init_gmm(x, 0, rng)
    with pytest.raises(ValidationError, match=r"init_gmm: `x` must have at least n_components=4 distinct"):
        init_gmm(x, 4, rng)
    with pytest.raises(ValidationError, match=r"init_gmm: `rng` must be a numpy.random.Generator"):
        init_gmm(x, 2, 0)
    with pytest.raises(ValidationError, match=r"fit_em: `n_iter` must be an integer >= 1"):
        fit_em(x, TRUE, n_iter=0)
    with pytest.raises(ValidationError, match=r"fit_em: `tol` must be finite and non-negative"):
        fit_em(x, TRUE, tol=-1.0)
    with pytest.raises(ValidationError, match=r"fit_em: the variances of `init` must be >= `variance_floor` = 0.01"):
        fit_em(x, GaussianMixture1D([0.5, 0.5], [0.0, 2.0], [1e-8, 1.0]), variance_floor=1e-2)
    with pytest.raises(ValidationError, match=r"gmm_sample: `n` must be an integer >= 1"):
        gmm_sample(0, TRUE, rng)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_em_stays_monotone_when_the_variance_floor_binds(seed):
    """With a floor above the ML variances the clipped M-step still maximises the bound."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(-3, 0.1, 20), rng.normal(3, 0.1, 20)])
    res = fit_em(x, init_gmm(x, 2, rng), n_iter=30, tol=0.0, variance_floor=0.5)
    ll = res.log_likelihoods
    scale = 1e-10 * max(1.0, float(np.max(np.abs(ll))))
    assert np.all(np.diff(ll) >= -scale)
    assert np.all(res.params.variances >= 0.5)
    assert np.all(res.bounds_after_m >= res.bounds_after_e - scale)


def test_not_converged_when_iterations_run_out():
    x = gmm_sample(500, TRUE, np.random.default_rng(0))
    res = fit_em(x, GaussianMixture1D([0.5, 0.5], [-0.5, 0.5], [2.0, 2.0]), n_iter=2, tol=1e-10)
    ll = [_loglik(x, p) for p in res.params_history]
    assert ll[-1] - ll[-2] > 1e-10  # still climbing after 2 iterations
    assert res.n_iter == 2 and res.converged is False


def test_stops_at_the_first_increase_below_tol():
    x = gmm_sample(500, TRUE, np.random.default_rng(1))
    tol = 1e-3
    res = fit_em(x, GaussianMixture1D([0.5, 0.5], [-0.5, 0.5], [2.0, 2.0]), n_iter=500, tol=tol)
    ll = np.array([_loglik(x, p) for p in res.params_history])
    inc = np.diff(ll)
    assert res.converged
    assert inc[-1] < tol and np.all(inc[:-1] >= tol)


def test_tol_zero_runs_all_iterations():
    """Documented: tol = 0 runs all n_iter iterations, even once the log-likelihood stops changing."""
    rng = np.random.default_rng(2)
    x = rng.normal(2.0, 3.0, 100)
    res = fit_em(x, init_gmm(x, 1, rng), n_iter=6, tol=0.0)  # K = 1: exact MLE after one step
    assert res.n_iter == 6 and len(res.params_history) == 7


def test_init_gmm_uses_the_sample_variance():
    x = np.random.default_rng(3).normal(0.0, 3.0, 50)
    init = init_gmm(x, 3, np.random.default_rng(0))
    np.testing.assert_allclose(init.variances, np.full(3, np.var(x)), rtol=1e-12)
    assert set(init.means) <= set(x) and np.all(np.diff(init.means) > 0)
    np.testing.assert_allclose(init.weights, 1 / 3)



def test_fit_em_agrees_with_scikit_learn_from_the_same_start():
    """Cross-check against an independent EM: sklearn.mixture.GaussianMixture (1-D, full covariance,
    no covariance regularisation) started from our init reaches the same fixed point (measured when
    written: weights within 9e-8, means within 3.4e-7, variances within 8e-7 relative, log-likelihood
    within 3e-11; 116 iterations here, 106 in scikit-learn, whose stopping rule differs)."""
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(3)
    truth = GaussianMixture1D(np.array([0.3, 0.5, 0.2]), np.array([-4.0, 0.0, 3.5]), np.array([0.8, 1.0, 0.6]))
    x = gmm_sample(600, truth, rng)
    init = init_gmm(x, 3, np.random.default_rng(4))
    ours = fit_em(x, init, n_iter=2000, tol=1e-13)
    sk = GaussianMixture(
        n_components=3, covariance_type="full", tol=1e-13, max_iter=2000, reg_covar=0.0,
        weights_init=init.weights, means_init=init.means[:, None],
        precisions_init=(1.0 / init.variances)[:, None, None],
    ).fit(x[:, None])
    assert ours.converged and sk.converged_
    np.testing.assert_allclose(ours.params.weights, sk.weights_, atol=1e-6)
    np.testing.assert_allclose(ours.params.means, sk.means_[:, 0], atol=1e-5)
    np.testing.assert_allclose(ours.params.variances, sk.covariances_[:, 0, 0], rtol=1e-5)
    # sklearn's score is the mean log-likelihood per point.
    assert ours.log_likelihoods[-1] == pytest.approx(sk.score(x[:, None]) * x.size, abs=1e-8)
