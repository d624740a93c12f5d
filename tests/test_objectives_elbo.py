"""Tests for vi_lib.objectives.elbo: closed forms, the KL identity, Monte Carlo estimators, grid quadrature."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vi_lib import (
    GaussianQ,
    ValidationError,
    elbo_decomposition_grid,
    elbo_gaussian_grid,
    elbo_monte_carlo,
    elbo_monte_carlo_entropy_form,
    elbo_monte_carlo_kl_form,
    elbo_normal_normal,
    elbo_terms_normal_normal,
    fit_gaussian_q,
    squared_mean_log_joint,
)
from vi_lib.families.divergences import kl_normal
from vi_lib.models.conjugate import NormalNormal

MODEL = NormalNormal(prior_mean=0.5, prior_std=2.0, noise_std=1.3)
X = np.array([1.2, 0.4, 2.9, 1.7, 0.8, 2.2])

finite = partial(st.floats, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(m0=finite(min_value=-5, max_value=5), s0=finite(min_value=0.1, max_value=10),
       s=finite(min_value=0.1, max_value=10), qm=finite(min_value=-10, max_value=10),
       qs=finite(min_value=0.01, max_value=10), seed=st.integers(0, 2**31 - 1), n=st.integers(1, 30))
def test_kl_identity_to_machine_precision(m0, s0, s, qm, qs, seed, n):
    """log p(x) = ELBO(q) + KL(q || p(z|x)) for every Gaussian q, to 1e-10 (relative to scale)."""
    model = NormalNormal(prior_mean=m0, prior_std=s0, noise_std=s)
    x = np.random.default_rng(seed).normal(m0, s0 + s, n)
    pm, ps = model.posterior(x)
    log_z = model.log_evidence(x)
    for form in ("kl", "entropy"):
        elbo = elbo_normal_normal(qm, qs, model, x, form=form)
        gap = kl_normal(qm, qs, pm, ps)
        scale = max(1.0, abs(log_z), abs(elbo), gap)
        assert abs(elbo + gap - log_z) <= 1e-10 * scale


def test_two_forms_agree_and_terms_are_consistent():
    t = elbo_terms_normal_normal(0.3, 0.7, MODEL, X)
    assert t.reconstruction_form == pytest.approx(t.entropy_form, abs=1e-12)
    assert t.entropy == pytest.approx(0.5 * np.log(2 * np.pi * np.e * 0.49), abs=1e-14)
    # KL to the prior = -E_q[log p(z)] - H[q]: the entropy enters with a plus sign.
    assert t.kl_to_prior == pytest.approx(-t.expected_log_prior - t.entropy, abs=1e-12)
    assert t.kl_to_prior >= 0


def test_elbo_at_posterior_equals_log_evidence_and_is_the_maximum():
    pm, ps = MODEL.posterior(X)
    log_z = MODEL.log_evidence(X)
    assert elbo_normal_normal(pm, ps, MODEL, X) == pytest.approx(log_z, abs=1e-12)
    fit = fit_gaussian_q(partial(elbo_normal_normal, model=MODEL, x=X), 0.0, 1.0)
    assert fit.mean == pytest.approx(pm, abs=1e-7)
    assert fit.std == pytest.approx(ps, rel=1e-7)
    assert fit.elbo == pytest.approx(log_z, abs=1e-12)


def test_vectorised_terms_match_scalar():
    means = np.array([[-1.0, 0.0, 2.0]])
    stds = np.array([[0.2], [1.5]])
    grid = elbo_normal_normal(means, stds, MODEL, X)
    assert grid.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert grid[i, j] == pytest.approx(elbo_normal_normal(means[0, j], stds[i, 0], MODEL, X), abs=1e-12)
    np.testing.assert_allclose(elbo_normal_normal(means, stds, MODEL, X, form="entropy"), grid, atol=1e-11)


def test_expected_terms_match_quadrature():
    q = GaussianQ(0.9, 0.6)
    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    pts = q.mean + q.std * z
    t = elbo_terms_normal_normal(q.mean, q.std, MODEL, X)
    assert t.expected_log_likelihood == pytest.approx(w @ MODEL.log_likelihood(pts, X), abs=1e-10)
    assert t.expected_log_prior == pytest.approx(w @ MODEL.log_prior(pts), abs=1e-10)
    assert t.entropy == pytest.approx(-(w @ q.log_prob(pts)), abs=1e-10)


@pytest.mark.parametrize("qm, qs", [(0.0, 1.0), (1.5, 0.3), (-2.0, 3.0)])
def test_monte_carlo_estimators_within_4_se(qm, qs):
    rng = np.random.default_rng(1234)
    q = GaussianQ(qm, qs)
    log_joint = partial(MODEL.log_joint, x=X)
    log_lik = partial(MODEL.log_likelihood, x=X)
    t = elbo_terms_normal_normal(qm, qs, MODEL, X)
    exact = t.reconstruction_form
    for est in (elbo_monte_carlo(log_joint, q.sample, q.log_prob, 20_000, rng),
                elbo_monte_carlo_entropy_form(log_joint, q.sample, q.entropy(), 20_000, rng),
                elbo_monte_carlo_kl_form(log_lik, q.sample, t.kl_to_prior, 20_000, rng)):
        assert est.standard_error > 0
        assert abs(est.estimate - exact) < 4 * est.standard_error


def test_monte_carlo_has_zero_variance_at_the_posterior(rng):
    pm, ps = MODEL.posterior(X)
    q = GaussianQ(pm, ps)
    est = elbo_monte_carlo(partial(MODEL.log_joint, x=X), q.sample, q.log_prob, 1000, rng)
    assert est.estimate == pytest.approx(MODEL.log_evidence(X), abs=1e-10)
    assert est.standard_error < 1e-12


def test_gaussian_q_methods(rng):
    q = GaussianQ(1.0, 2.0)
    s = q.sample(100_000, rng)
    assert abs(s.mean() - 1.0) < 4 * 2.0 / np.sqrt(s.size)
    grid = np.linspace(-20, 22, 20001)
    assert np.trapezoid(np.exp(q.log_prob(grid)), grid) == pytest.approx(1.0, abs=1e-10)
    assert q.entropy() == pytest.approx(-np.trapezoid(np.exp(q.log_prob(grid)) * q.log_prob(grid), grid),
                                        abs=1e-9)


def test_grid_decomposition_reproduces_closed_form():
    q = GaussianQ(0.2, 0.8)
    grid = np.linspace(-15, 15, 6001)
    elbo, kl, log_z = elbo_decomposition_grid(partial(MODEL.log_joint, x=X), q.log_prob, grid)
    pm, ps = MODEL.posterior(X)
    assert log_z == pytest.approx(MODEL.log_evidence(X), abs=1e-10)
    assert elbo == pytest.approx(elbo_normal_normal(q.mean, q.std, MODEL, X), abs=1e-10)
    assert kl == pytest.approx(kl_normal(q.mean, q.std, pm, ps), abs=1e-10)


def test_bimodal_model_gap_is_about_log_two():
    x = np.array([4.0])
    lj = partial(squared_mean_log_joint, x=x, prior_std=1.0, noise_std=0.5)
    grid = np.linspace(-6, 6, 12001)
    fit = fit_gaussian_q(partial(elbo_gaussian_grid, log_joint=lj, grid=grid), 1.0, 0.5)
    elbo, kl, log_z = elbo_decomposition_grid(lj, GaussianQ(fit.mean, fit.std).log_prob, grid)
    assert elbo + kl == pytest.approx(log_z, abs=1e-10)
    assert fit.elbo == pytest.approx(elbo, abs=1e-12)
    # two well-separated symmetric modes: the best Gaussian sits on one of them, gap close to log 2
    assert abs(kl - np.log(2)) < 0.05


def test_squared_mean_log_joint_matches_direct_formula():
    z = np.array([-1.0, 0.5, 2.0])
    x = np.array([1.0, 3.0])
    direct = (-0.5 * np.log(2 * np.pi) - 0.5 * z**2
              + sum(-0.5 * np.log(2 * np.pi * 0.25) - 0.5 * (xi - z**2) ** 2 / 0.25 for xi in x))
    np.testing.assert_allclose(squared_mean_log_joint(z, x), direct, rtol=1e-13)


# --- bad inputs -------------------------------------------------------------------------------

def test_closed_form_validation():
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `q_std` must be finite and positive"):
        elbo_normal_normal(0.0, 0.0, MODEL, X)
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `q_std` must be finite and positive"):
        elbo_normal_normal(0.0, -1.0, MODEL, X)
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `q_mean` must be finite"):
        elbo_normal_normal(np.nan, 1.0, MODEL, X)
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `x` must be non-empty"):
        elbo_normal_normal(0.0, 1.0, MODEL, np.array([]))
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `x` must be a 1-D array"):
        elbo_normal_normal(0.0, 1.0, MODEL, np.zeros((2, 3)))
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `x` must be finite"):
        elbo_normal_normal(0.0, 1.0, MODEL, np.array([1.0, np.inf]))
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `model` must be a NormalNormal"):
        elbo_normal_normal(0.0, 1.0, "model", X)
    with pytest.raises(ValidationError, match=r"elbo_terms_normal_normal: `q_std` must broadcast"):
        elbo_normal_normal(np.zeros(3), np.ones(2), MODEL, X)
    with pytest.raises(ValidationError, match=r"elbo_normal_normal: `form` must be 'kl' or 'entropy'"):
        elbo_normal_normal(0.0, 1.0, MODEL, X, form="jensen")


def test_gaussian_q_validation(rng):
    with pytest.raises(ValidationError, match=r"GaussianQ: `std` must be finite and positive"):
        GaussianQ(0.0, 0.0)
    with pytest.raises(ValidationError, match=r"GaussianQ: `mean` must be finite"):
        GaussianQ(np.inf, 1.0)
    with pytest.raises(ValidationError, match=r"GaussianQ: `mean` must be a scalar"):
        GaussianQ(np.zeros(2), 1.0)
    with pytest.raises(ValidationError, match=r"GaussianQ.sample: `n` must be an integer >= 1"):
        GaussianQ(0.0, 1.0).sample(0, rng)
    with pytest.raises(ValidationError, match=r"GaussianQ.sample: `rng` must be a numpy.random.Generator"):
        GaussianQ(0.0, 1.0).sample(3, 42)


def test_monte_carlo_validation(rng):
    q = GaussianQ(0.0, 1.0)
    lj = partial(MODEL.log_joint, x=X)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `n` must be an integer >= 2"):
        elbo_monte_carlo(lj, q.sample, q.log_prob, 1, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `log_joint` must be callable"):
        elbo_monte_carlo(3.0, q.sample, q.log_prob, 10, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `rng` must be a numpy.random.Generator"):
        elbo_monte_carlo(lj, q.sample, q.log_prob, 10, None)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `log_q\(z\)` must return an array of shape \(10,\)"):
        elbo_monte_carlo(lj, q.sample, lambda z: q.log_prob(z)[:5], 10, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `log_joint\(z\)` must be finite"):
        elbo_monte_carlo(lambda z: np.full(z.shape, -np.inf), q.sample, q.log_prob, 10, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo: `sample_q\(n, rng\)` must return an array with n=10"):
        elbo_monte_carlo(lj, lambda n, r: q.sample(n - 1, r), q.log_prob, 10, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo_entropy_form: `entropy` must be finite"):
        elbo_monte_carlo_entropy_form(lj, q.sample, np.nan, 10, rng)
    with pytest.raises(ValidationError, match=r"elbo_monte_carlo_kl_form: `kl_to_prior` must be finite and non-neg"):
        elbo_monte_carlo_kl_form(partial(MODEL.log_likelihood, x=X), q.sample, -0.1, 10, rng)


def test_grid_and_fit_validation():
    q = GaussianQ(0.0, 1.0)
    lj = partial(MODEL.log_joint, x=X)
    with pytest.raises(ValidationError, match=r"elbo_decomposition_grid: `grid` must have at least 3 points"):
        elbo_decomposition_grid(lj, q.log_prob, np.array([0.0, 1.0]))
    with pytest.raises(ValidationError, match=r"elbo_decomposition_grid: `grid` must be increasing and evenly"):
        elbo_decomposition_grid(lj, q.log_prob, np.array([0.0, 1.0, 3.0]))
    with pytest.raises(ValidationError, match=r"elbo_decomposition_grid: `grid` must cover the posterior"):
        elbo_decomposition_grid(lj, q.log_prob, np.linspace(-1, 1, 101))
    with pytest.raises(ValidationError, match=r"elbo_decomposition_grid: `grid` must cover q"):
        elbo_decomposition_grid(lj, GaussianQ(-30.0, 1.0).log_prob, np.linspace(-15, 15, 1001))
    with pytest.raises(ValidationError, match=r"fit_gaussian_q: `init_std` must be finite and positive"):
        fit_gaussian_q(partial(elbo_normal_normal, model=MODEL, x=X), 0.0, -1.0)
    with pytest.raises(ValidationError, match=r"fit_gaussian_q: `elbo_fn` must be callable"):
        fit_gaussian_q(None, 0.0, 1.0)
    with pytest.raises(ValidationError, match=r"squared_mean_log_joint: `noise_std` must be finite and positive"):
        squared_mean_log_joint(np.zeros(2), np.ones(1), noise_std=0.0)


def _exact_variance(fn, q):
    """Var_q[fn(z)] by 80-point Gauss-Hermite quadrature (exact for the quadratic summands here)."""
    t, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    v = fn(q.mean + q.std * t)
    m = w @ v
    return w @ (v - m) ** 2


@pytest.mark.parametrize("qm, qs", [(0.0, 1.0), (1.5, 0.3)])
def test_standard_errors_equal_sqrt_variance_over_n(qm, qs):
    """SE = sd(summand) / sqrt(n); the summand's variance is known exactly, so the reported SE must
    match sqrt(Var / n) to within the few-percent noise of a sample standard deviation (n = 20000)."""
    n = 20_000
    q = GaussianQ(qm, qs)
    lj, ll = partial(MODEL.log_joint, x=X), partial(MODEL.log_likelihood, x=X)
    kl = elbo_terms_normal_normal(qm, qs, MODEL, X).kl_to_prior
    rng = np.random.default_rng(3)
    cases = [
        (elbo_monte_carlo(lj, q.sample, q.log_prob, n, rng), lambda z: lj(z) - stats.norm.logpdf(z, qm, qs)),
        (elbo_monte_carlo_entropy_form(lj, q.sample, q.entropy(), n, rng), lj),
        (elbo_monte_carlo_kl_form(ll, q.sample, kl, n, rng), ll),
    ]
    for est, summand in cases:
        assert est.standard_error == pytest.approx(np.sqrt(_exact_variance(summand, q) / n), rel=0.05)


def test_grid_rejects_q_with_mass_outside_the_grid():
    """Documented: q's mass on the grid may differ from 1 by at most 1e-8. Here about 3e-7 is outside."""
    grid = np.linspace(-15, 15, 6001)
    mean = 15.0 - 5.0  # 5 sd from the upper end: mass beyond it is 2.9e-7
    q = GaussianQ(mean, 1.0)
    assert stats.norm.sf(5.0) > 1e-7
    with pytest.raises(ValidationError, match=r"elbo_decomposition_grid: `grid` must cover q"):
        elbo_decomposition_grid(partial(MODEL.log_joint, x=X), q.log_prob, grid)

