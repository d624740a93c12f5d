"""CAVI for the Normal-Gamma model and Chapter 1's Bayesian mixture.

Each update is checked against the optimal factor computed numerically from its definition,
q_j* proportional to exp E_{-j}[log p(x, z)]; each ELBO against a Monte Carlo estimate built from
scipy's densities; the gap to the exact evidence against a quadrature KL; monotonicity after every
single update on randomised problems (hypothesis); and stationarity at convergence.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import logsumexp

import vi_lib
from vi_lib import (
    MixtureMeanField,
    NormalGamma,
    NormalGammaMeanField,
    ValidationError,
    fit_mixture_cavi,
    fit_mixture_vem,
    fit_normal_gamma_cavi,
    mixture_elbo,
    mixture_update_assignments,
    mixture_update_means,
    normal_gamma_elbo,
    normal_gamma_update_mu,
    normal_gamma_update_tau,
)

MODEL = NormalGamma(prior_mean=0.0, mean_precision=0.5, shape=2.0, rate=1.5)
Q0 = NormalGammaMeanField(mu_mean=-1.0, mu_precision=0.3, tau_shape=1.5, tau_rate=4.0)
PRIOR = dict(prior_mean=0.0, prior_std=3.0, noise_std=1.0)


def _ng_data(n: int = 15, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.8, 1.3, size=n)


def _mix_data(n_per: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(-2.5, 1.0, n_per), rng.normal(0.5, 1.0, n_per), rng.normal(4.0, 1.0, n_per)])


# --- Normal-Gamma ----------------------------------------------------------------------------


def test_update_mu_is_the_normalised_exp_expected_log_joint():
    """q*(mu) from its definition: E_{q(tau)}[log p(x, mu, tau)] on a grid, normalised numerically."""
    x = _ng_data()
    mus = np.linspace(-4.0, 5.0, 2001)
    q_tau = stats.gamma(a=Q0.tau_shape, scale=1.0 / Q0.tau_rate)
    expected = np.array([integrate.quad(lambda t, m=m: q_tau.pdf(t) * MODEL.log_joint(m, t, x), 0, np.inf,
                                        epsrel=1e-11)[0] for m in mus[::50]])
    # Quadratic in mu: fit the exact quadratic through the sampled points and compare its log-normaliser.
    coef = np.polyfit(mus[::50], expected, 2)
    prec, mean = -2.0 * coef[0], coef[1] / (-2.0 * coef[0])
    q = normal_gamma_update_mu(x, MODEL, Q0)
    assert q.mu_precision == pytest.approx(prec, rel=1e-8)
    assert q.mu_mean == pytest.approx(mean, rel=1e-8, abs=1e-10)
    assert (q.tau_shape, q.tau_rate) == (Q0.tau_shape, Q0.tau_rate)


def test_update_tau_is_the_normalised_exp_expected_log_joint():
    x = _ng_data()
    q_mu = stats.norm(Q0.mu_mean, Q0.mu_std)
    taus = np.linspace(0.05, 3.0, 25)
    expected = np.array([integrate.quad(lambda m, t=t: q_mu.pdf(m) * MODEL.log_joint(m, t, x), -30, 30,
                                        epsrel=1e-12, limit=200)[0] for t in taus])
    # expected = (a - 1) log tau - b tau + const: solve the linear least squares in (log tau, tau, 1).
    design = np.column_stack([np.log(taus), taus, np.ones_like(taus)])
    (c_log, c_lin, _), *_ = np.linalg.lstsq(design, expected, rcond=None)
    q = normal_gamma_update_tau(x, MODEL, Q0)
    assert q.tau_shape == pytest.approx(c_log + 1.0, rel=1e-7)
    assert q.tau_rate == pytest.approx(-c_lin, rel=1e-7)


def test_normal_gamma_elbo_matches_monte_carlo_from_scipy_densities():
    x = _ng_data()
    rng = np.random.default_rng(2)
    mu = rng.normal(Q0.mu_mean, Q0.mu_std, size=200_000)
    tau = rng.gamma(Q0.tau_shape, 1.0 / Q0.tau_rate, size=mu.size)
    log_q = stats.norm.logpdf(mu, Q0.mu_mean, Q0.mu_std) + stats.gamma.logpdf(tau, Q0.tau_shape, scale=1 / Q0.tau_rate)
    log_p = (stats.gamma.logpdf(tau, MODEL.shape, scale=1 / MODEL.rate)
             + stats.norm.logpdf(mu, MODEL.prior_mean, 1 / np.sqrt(MODEL.mean_precision * tau))
             + 0.5 * x.size * (np.log(tau) - np.log(2 * np.pi))
             - 0.5 * tau * ((x[:, None] - mu) ** 2).sum(axis=0))
    w = log_p - log_q
    assert abs(normal_gamma_elbo(x, MODEL, Q0) - w.mean()) < 5 * w.std() / np.sqrt(w.size)


def test_gap_to_exact_evidence_is_the_kl_by_quadrature():
    x = _ng_data(10, seed=4)
    fit = fit_normal_gamma_cavi(x, MODEL, Q0)
    q = fit.params
    post = MODEL.posterior(x)
    lo, hi = q.mu_mean - 12 * q.mu_std, q.mu_mean + 12 * q.mu_std
    tmax = stats.gamma.ppf(1 - 1e-13, q.tau_shape, scale=1 / q.tau_rate)
    kl, _ = integrate.dblquad(lambda m, t: np.exp(q.log_density(m, t)) * (q.log_density(m, t) - post.log_density(m, t)),
                              1e-9, tmax, lambda t: lo, lambda t: hi, epsabs=1e-12, epsrel=1e-9)
    gap = MODEL.log_evidence(x) - fit.elbo[-1]
    assert gap > 0
    assert gap == pytest.approx(kl, rel=1e-5, abs=1e-9)


def test_mean_field_underestimates_the_marginal_std_of_mu():
    x = _ng_data(10, seed=4)
    q = fit_normal_gamma_cavi(x, MODEL, Q0).params
    assert q.mu_std < MODEL.posterior(x).mu_std()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 40), seed=st.integers(0, 10**6), lam0=st.floats(0.01, 10), a0=st.floats(0.1, 10),
       b0=st.floats(0.1, 10), m0=st.floats(-5, 5))
def test_normal_gamma_elbo_never_decreases_and_stays_below_the_evidence(n, seed, lam0, a0, b0, m0):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.normal(0, 3), rng.uniform(0.1, 3), size=n)
    model = NormalGamma(m0, lam0, a0, b0)
    init = NormalGammaMeanField(rng.normal(0, 3), rng.uniform(0.01, 5), rng.uniform(0.1, 5), rng.uniform(0.1, 5))
    fit = fit_normal_gamma_cavi(x, model, init, max_iter=30)
    trace = fit.elbo_trace
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))
    assert trace[-1] <= model.log_evidence(x) + 1e-9 * abs(trace[-1])


def test_normal_gamma_stationary_at_convergence():
    """Finite-difference gradient of the ELBO in (m, log lambda, log a, log b) is ~0 at the fixed point."""
    x = _ng_data(25, seed=7)
    q = fit_normal_gamma_cavi(x, MODEL, Q0, rtol=0.0, max_iter=200).params
    theta = np.array([q.mu_mean, np.log(q.mu_precision), np.log(q.tau_shape), np.log(q.tau_rate)])

    def elbo(th):
        return normal_gamma_elbo(x, MODEL, NormalGammaMeanField(th[0], *np.exp(th[1:])))

    h = 1e-5
    grad = [(elbo(theta + h * e) - elbo(theta - h * e)) / (2 * h) for e in np.eye(4)]
    assert np.max(np.abs(grad)) < 1e-5
    # and it is a maximum: each coordinate perturbed lowers the ELBO
    assert all(elbo(theta + 1e-2 * e) < elbo(theta) for e in np.eye(4))


def test_result_trace_layout():
    fit = fit_normal_gamma_cavi(_ng_data(), MODEL, Q0, max_iter=3, rtol=0.0)
    assert fit.update_names == ("q(mu)", "q(tau)")
    assert fit.trace_labels == ("init",) + ("q(mu)", "q(tau)") * 3
    assert fit.n_iter == 3 and not fit.converged
    np.testing.assert_array_equal(fit.elbo, fit.elbo_trace[::2])
    assert len(fit.params_history) == 4


# --- Chapter 1's mixture ---------------------------------------------------------------------


def _q_mix(x, K=3, seed=0):
    rng = np.random.default_rng(seed)
    resp = rng.dirichlet(np.ones(K), size=x.size)
    return MixtureMeanField(resp, rng.normal(0, 2, K), rng.uniform(0.1, 2, K))


def test_mixture_elbo_matches_monte_carlo_from_scipy_densities():
    x = _mix_data(5)
    q = _q_mix(x)
    rng = np.random.default_rng(3)
    S = 100_000
    mu = rng.normal(q.means, np.sqrt(q.variances), size=(S, 3))
    u = rng.random((S, x.size, 1))
    labels = (u > np.cumsum(q.resp, axis=1)[None]).sum(axis=2)  # inverse-CDF draws of c_i ~ Cat(phi_i)
    mu_c = np.take_along_axis(mu, labels, axis=1)
    log_p = (stats.norm.logpdf(mu, PRIOR["prior_mean"], PRIOR["prior_std"]).sum(1) - x.size * np.log(3)
             + stats.norm.logpdf(x, mu_c, PRIOR["noise_std"]).sum(1))
    log_q = (stats.norm.logpdf(mu, q.means, np.sqrt(q.variances)).sum(1)
             + np.log(np.take_along_axis(q.resp[None].repeat(1, 0), labels[..., None], axis=2)[..., 0]).sum(1))
    w = log_p - log_q
    assert abs(mixture_elbo(x, q, **PRIOR) - w.mean()) < 5 * w.std() / np.sqrt(S)


def test_mixture_update_means_is_the_normalised_exp_expected_log_joint():
    """log q*(mu_k) = E_{q(c)}[log p(x, c, mu)] + const on a grid: the quadratic's coefficients."""
    x = _mix_data(4)
    q = _q_mix(x)
    new = mixture_update_means(x, q, **PRIOR)
    grid = np.linspace(-6, 6, 13)
    for k in range(3):
        vals = []
        for g in grid:
            mu = q.means.copy()
            mu[k] = g
            log_lik = stats.norm.logpdf(x[:, None], mu[None, :], PRIOR["noise_std"])
            vals.append(stats.norm.logpdf(g, PRIOR["prior_mean"], PRIOR["prior_std"]) + np.sum(q.resp * log_lik))
        coef = np.polyfit(grid, vals, 2)
        assert new.variances[k] == pytest.approx(-1 / (2 * coef[0]), rel=1e-9)
        assert new.means[k] == pytest.approx(coef[1] / (-2 * coef[0]), rel=1e-9, abs=1e-12)


def test_mixture_update_assignments_is_exp_expected_log_joint():
    x = _mix_data(4)
    q = _q_mix(x)
    new = mixture_update_assignments(x, q, PRIOR["noise_std"])
    # E_{q(mu_k)}[log N(x_i | mu_k, sigma^2)] by Gauss-Hermite quadrature, then normalised.
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    mu = q.means[None, :, None] + np.sqrt(q.variances)[None, :, None] * nodes[None, None, :]
    expected = (stats.norm.logpdf(x[:, None, None], mu, PRIOR["noise_std"]) * weights).sum(axis=2)
    np.testing.assert_allclose(new.resp, np.exp(expected - logsumexp(expected, axis=1, keepdims=True)), rtol=1e-10)


def test_mixture_gap_to_exact_evidence_is_non_negative_and_small_when_separated():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-4, 1, 5), rng.normal(4, 1, 5)])
    log_px = vi_lib.gmm_log_evidence_exact(x, 2, **PRIOR)
    best = max(fit_mixture_cavi(x, 2, **PRIOR, rng=np.random.default_rng(s)).elbo[-1] for s in range(5))
    gap = log_px - best
    # Two well-separated groups: the posterior has two relabelled modes, each captured by one optimum;
    # q can hold only one, so the gap is at least log 2 - (overlap), and not much more.
    assert np.log(2) - 0.05 < gap < np.log(2) + 0.5


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 30), K=st.integers(1, 4), seed=st.integers(0, 10**6), s0=st.floats(0.1, 10),
       sigma=st.floats(0.2, 5), vem=st.booleans(), point=st.booleans())
def test_mixture_elbo_never_decreases_after_any_update(n, K, seed, s0, sigma, vem, point):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, size=n)
    init = MixtureMeanField(rng.dirichlet(np.ones(K), size=n), rng.normal(0, 3, K), rng.uniform(0.01, 3, K),
                            rng.dirichlet(np.ones(K)) if vem else None)
    kw = dict(prior_mean=float(rng.normal()), prior_std=s0, noise_std=sigma, init=init, max_iter=20)
    fit = fit_mixture_vem(x, K, point_means=point, **kw) if vem else fit_mixture_cavi(x, K, **kw)
    trace = fit.elbo_trace
    assert np.all(np.diff(trace[1:]) >= -1e-9 * np.abs(trace[2:]))
    if not (vem and point):
        # Starting from the given init, the first update may only raise the ELBO as well.
        assert trace[1] >= trace[0] - 1e-9 * abs(trace[0])


def test_mixture_stationary_at_convergence():
    x = _mix_data(10)
    fit = fit_mixture_cavi(x, 3, **PRIOR, rng=np.random.default_rng(0), rtol=0.0, max_iter=300)
    q = fit.params
    logits = np.log(q.resp)

    def elbo(m, logv, lg):
        r = np.exp(lg - logsumexp(lg, axis=1, keepdims=True))
        return mixture_elbo(x, MixtureMeanField(r, m, np.exp(logv)), **PRIOR)

    h = 1e-6
    base = (q.means, np.log(q.variances), logits)
    scale = abs(fit.elbo[-1])
    for which in range(3):
        for idx in np.ndindex(base[which].shape):
            if which == 2 and idx[1] != 0 and idx[0] % 7:
                continue  # a sample of the logits is enough
            plus = [b.copy() for b in base]
            minus = [b.copy() for b in base]
            plus[which][idx] += h
            minus[which][idx] -= h
            assert abs(elbo(*plus) - elbo(*minus)) / (2 * h) < 1e-5 * max(1.0, scale / x.size)


def test_point_means_assignment_update_is_the_em_e_step():
    """Variational EM with point means: the q(c) update is Chapter 3's E-step with variances sigma^2."""
    x = _mix_data(6)
    fit = fit_mixture_vem(x, 3, **PRIOR, point_means=True, rng=np.random.default_rng(2))
    q = fit.params
    params = vi_lib.GaussianMixture1D(q.weights, q.means, np.full(3, PRIOR["noise_std"] ** 2))
    np.testing.assert_allclose(mixture_update_assignments(x, q, PRIOR["noise_std"]).resp, vi_lib.e_step(x, params),
                               rtol=1e-10, atol=1e-14)
    # and with a flat prior the mean update is the M-step's weighted mean
    flat = mixture_update_means(x, q, 0.0, 1e8, PRIOR["noise_std"], point=True)
    np.testing.assert_allclose(flat.means, vi_lib.m_step(x, q.resp).means, rtol=1e-8)


def test_relabelled_optimum_has_equal_elbo():
    x = _mix_data(10)
    q = fit_mixture_cavi(x, 3, **PRIOR, rng=np.random.default_rng(0)).params
    perm = [2, 0, 1]
    relabelled = MixtureMeanField(q.resp[:, perm], q.means[perm], q.variances[perm])
    assert mixture_elbo(x, relabelled, **PRIOR) == pytest.approx(mixture_elbo(x, q, **PRIOR), rel=1e-13)


def test_complete_conditionals_match_conjugate_posteriors():
    x = _mix_data(3)
    labels = np.random.default_rng(0).integers(0, 3, size=x.size)
    means, prec = vi_lib.mixture_conditional_means(x, labels, 3, **PRIOR)
    nn = vi_lib.NormalNormal(PRIOR["prior_mean"], PRIOR["prior_std"], PRIOR["noise_std"])
    for k in range(3):
        if np.any(labels == k):
            m, s = nn.posterior(x[labels == k])
            assert means[k] == pytest.approx(m, rel=1e-12)
            assert prec[k] == pytest.approx(s**-2, rel=1e-12)
    mu = np.array([-1.0, 0.5, 2.0])
    log_p = vi_lib.mixture_conditional_labels(x, mu, PRIOR["noise_std"])
    brute = stats.norm.logpdf(x[:, None], mu, PRIOR["noise_std"])
    np.testing.assert_allclose(log_p, brute - logsumexp(brute, axis=1, keepdims=True), rtol=1e-10)


def test_mixture_fit_errors():
    x = _mix_data(2)
    with pytest.raises(ValidationError, match=r"^fit_mixture_cavi: pass `init` .* or `rng`"):
        fit_mixture_cavi(x, 2, **PRIOR)
    with pytest.raises(ValidationError, match=r"^fit_mixture_cavi: `init` must have K = 3"):
        fit_mixture_cavi(x, 3, **PRIOR, init=MixtureMeanField(np.full((x.size, 2), 0.5), np.zeros(2), np.ones(2)))
    with pytest.raises(ValidationError, match=r"^mixture_elbo: `q.resp` must have one row per point"):
        mixture_elbo(x[:3], _q_mix(x), **PRIOR)
    with pytest.raises(ValidationError, match=r"^MixtureMeanField: `variances` must be all positive .* or all zero"):
        MixtureMeanField(np.full((2, 2), 0.5), np.zeros(2), np.array([1.0, 0.0]))


# --- a Gaussian target -------------------------------------------------------------------------


def _random_cov(d, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d), rng.normal(size=d)


def test_gaussian_cavi_reaches_the_reverse_kl_optimum_of_chapter_2():
    cov, mu = _random_cov(4, 0)
    init = vi_lib.DiagonalGaussianFactors(np.zeros(4), np.ones(4))
    fit = vi_lib.fit_gaussian_cavi(mu, cov, init, atol=0.0, max_iter=5000, rtol=1e-15)
    m_ref, v_ref = vi_lib.mean_field_gaussian_reverse(mu, cov)
    np.testing.assert_allclose(fit.params.means, m_ref, atol=1e-6)
    np.testing.assert_allclose(fit.params.variances, v_ref, rtol=1e-12)


def test_gaussian_coordinate_update_is_the_optimal_factor():
    cov, mu = _random_cov(3, 1)
    q = vi_lib.DiagonalGaussianFactors(np.array([0.3, -1.0, 2.0]), np.array([0.5, 1.0, 2.0]))
    new = vi_lib.gaussian_update_coordinate(1, q, mu, cov)
    # E_{-1}[log N(z | mu, cov)] as a function of z_1 by Monte Carlo-free exact sampling of a grid: quadratic fit.
    grid = np.linspace(-3, 3, 7)
    rng = np.random.default_rng(0)
    others = rng.normal(q.means[[0, 2]], np.sqrt(q.variances[[0, 2]]), size=(200_000, 2))
    vals = []
    for g in grid:
        z = np.column_stack([others[:, 0], np.full(len(others), g), others[:, 1]])
        vals.append(stats.multivariate_normal(mu, cov).logpdf(z).mean())
    coef = np.polyfit(grid, vals, 2)
    # The quadratic coefficient does not depend on the draws; the linear one to Monte Carlo accuracy.
    assert new.variances[1] == pytest.approx(-1 / (2 * coef[0]), rel=1e-9)
    assert new.means[1] == pytest.approx(coef[1] / (-2 * coef[0]), abs=0.01)


def test_gaussian_cavi_error_contracts_by_rho_squared_per_sweep():
    rho = 0.95
    cov = np.array([[1.0, rho], [rho, 1.0]])
    fit = vi_lib.fit_gaussian_cavi(np.zeros(2), cov, vi_lib.DiagonalGaussianFactors(np.array([1.0, -1.0]), np.ones(2)),
                                   max_iter=20, atol=0.0)
    err = np.array([abs(p.means[1]) for p in fit.params_history[1:]])
    np.testing.assert_allclose(err[1:] / err[:-1], rho**2, rtol=1e-9)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(d=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_gaussian_cavi_elbo_never_decreases(d, seed):
    cov, mu = _random_cov(d, seed)
    rng = np.random.default_rng(seed + 1)
    init = vi_lib.DiagonalGaussianFactors(rng.normal(0, 3, d), rng.uniform(0.01, 5, d))
    trace = vi_lib.fit_gaussian_cavi(mu, cov, init, max_iter=30).elbo_trace
    assert np.all(np.diff(trace) >= -1e-9 * np.maximum(1.0, np.abs(trace[1:])))
    assert np.all(trace <= 1e-12)
