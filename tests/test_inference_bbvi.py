"""Tests for vi_lib.inference.bbvi: the fitting loop converges to the known optimum of a Gaussian target."""

from __future__ import annotations

import numpy as np
import pytest

from vi_lib import (
    GaussianTarget,
    ValidationError,
    fit_bbvi,
    pathwise_gradient,
    rao_blackwell_gradient,
    running_mean,
    score_function_cv_gradient,
    score_function_gradient,
    stl_gradient,
)

TARGET = GaussianTarget(
    np.array([1.0, -1.0, 0.5]), np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
)


@pytest.mark.parametrize(
    "estimator, n_samples, n_iter, tol",
    [
        ("pathwise", 8, 1500, 0.15),
        ("stl", 8, 1500, 0.15),
        ("score_cv", 16, 1500, 0.15),
        ("rao_blackwell", 16, 1500, 0.15),
    ],
)
def test_adam_fit_reaches_the_mean_field_optimum(estimator, n_samples, n_iter, tol):
    """Constant-step Adam ends in a noise ball around the optimum; its radius sets ``tol``."""
    mean_opt, log_std_opt = TARGET.optimal_mean_field()
    res = fit_bbvi(
        TARGET.log_prob,
        np.zeros(3),
        estimator=estimator,
        grad_log_joint=TARGET.grad_log_prob,
        local_log_joint=TARGET.markov_blanket_log_prob,
        n_iterations=n_iter,
        n_samples=n_samples,
        step_size=0.02,
        rng=np.random.default_rng(0),
    )
    assert res.elbo_trace.shape == (n_iter,) and res.wall_time.shape == (n_iter,)
    assert np.all(np.diff(res.wall_time) >= 0)
    np.testing.assert_allclose(res.mean, mean_opt, atol=tol)
    np.testing.assert_allclose(res.log_std, log_std_opt, atol=tol)
    # the exact ELBO at the fit is close to the optimum
    assert TARGET.elbo(mean_opt, log_std_opt) - TARGET.elbo(res.mean, res.log_std) < 0.02


def test_robbins_monro_schedule_converges():
    mean_opt, log_std_opt = TARGET.optimal_mean_field()
    res = fit_bbvi(
        TARGET.log_prob,
        np.zeros(3),
        estimator="stl",
        grad_log_joint=TARGET.grad_log_prob,
        n_iterations=3000,
        n_samples=8,
        optimizer="robbins_monro",
        step_size=0.3,
        rm_delay=10.0,
        rm_exponent=0.7,
        rng=np.random.default_rng(1),
    )
    np.testing.assert_allclose(res.mean, mean_opt, atol=0.05)
    np.testing.assert_allclose(res.log_std, log_std_opt, atol=0.05)


# The convergence tests above tolerate a noise ball, so they would pass with a missing control variate,
# a wrong step-size schedule or no Adam bias correction. The tests below pin single steps exactly.
M0, S0 = np.array([0.3, -0.2, 0.5]), np.array([-0.3, 0.1, -0.5])
ONE_STEP_ESTIMATES = {
    "score": lambda r: score_function_gradient(TARGET.log_prob, M0, S0, 7, r),
    "score_cv": lambda r: score_function_cv_gradient(TARGET.log_prob, M0, S0, 7, r, method="loo"),
    "rao_blackwell": lambda r: rao_blackwell_gradient(TARGET.markov_blanket_log_prob, M0, S0, 7, r,
                                                      control_variate="loo"),
    "pathwise": lambda r: pathwise_gradient(TARGET.grad_log_prob, M0, S0, 7, r),
    "stl": lambda r: stl_gradient(TARGET.grad_log_prob, M0, S0, 7, r),
}


@pytest.mark.parametrize("estimator", sorted(ONE_STEP_ESTIMATES))
def test_one_robbins_monro_step_is_rho_0_times_the_documented_estimator(estimator):
    """lambda_1 = lambda_0 + rho_0 g_0 with rho_0 = step_size * rm_delay**-rm_exponent (t = 0)."""
    res = fit_bbvi(TARGET.log_prob, M0, init_log_std=S0, estimator=estimator, grad_log_joint=TARGET.grad_log_prob,
                   local_log_joint=TARGET.markov_blanket_log_prob, n_iterations=1, n_samples=7,
                   optimizer="robbins_monro", step_size=0.3, rm_delay=4.0, rm_exponent=0.7,
                   rng=np.random.default_rng(9))
    g = ONE_STEP_ESTIMATES[estimator](np.random.default_rng(9)).mean(0)  # same draws as the loop
    rho = 0.3 * 4.0**-0.7
    np.testing.assert_allclose(res.mean, M0 + rho * g[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.log_std, S0 + rho * g[1], rtol=0, atol=1e-12)


def test_first_adam_step_moves_each_coordinate_by_the_learning_rate():
    # With bias correction the first Adam step is lr * g / (|g| + 1e-8) in every coordinate.
    res = fit_bbvi(TARGET.log_prob, np.zeros(3), estimator="pathwise", grad_log_joint=TARGET.grad_log_prob,
                   n_iterations=1, n_samples=4, step_size=0.05, rng=np.random.default_rng(0))
    np.testing.assert_allclose(np.abs(res.mean), 0.05, rtol=1e-5)
    np.testing.assert_allclose(np.abs(res.log_std), 0.05, rtol=1e-5)


def test_elbo_trace_estimates_the_elbo_of_the_current_q():
    # 200,000 samples: the per-sample spread of log p - log q here is about 3.4 nats, so the
    # standard error is about 0.0076 and 0.04 is five of them; a missing entropy term is off by 4.2 nats.
    init_log_std = np.array([0.2, -0.4, 0.1])
    res = fit_bbvi(TARGET.log_prob, np.zeros(3), init_log_std=init_log_std, estimator="pathwise",
                   grad_log_joint=TARGET.grad_log_prob, n_iterations=1, n_samples=200_000,
                   rng=np.random.default_rng(0))
    assert abs(res.elbo_trace[0] - TARGET.elbo(np.zeros(3), init_log_std)) < 0.04


def test_callback_receives_step_elbo_and_params():
    seen = []
    res = fit_bbvi(
        TARGET.log_prob,
        np.zeros(3),
        estimator="pathwise",
        grad_log_joint=TARGET.grad_log_prob,
        n_iterations=5,
        n_samples=2,
        rng=np.random.default_rng(0),
        callback=lambda t, e, p: seen.append((t, e, p[0].shape, p[1].shape)),
    )
    assert [s[0] for s in seen] == list(range(5))
    assert [s[1] for s in seen] == list(res.elbo_trace)
    assert seen[0][2:] == ((3,), (3,))


def test_same_seed_same_fit():
    kw = dict(estimator="score_cv", n_iterations=20, n_samples=5, rng=None)
    a = fit_bbvi(TARGET.log_prob, np.zeros(3), **{**kw, "rng": np.random.default_rng(4)})
    b = fit_bbvi(TARGET.log_prob, np.zeros(3), **{**kw, "rng": np.random.default_rng(4)})
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.elbo_trace, b.elbo_trace)


def test_running_mean():
    np.testing.assert_allclose(running_mean([1.0, 3.0, 5.0, 7.0], 2), [1.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(running_mean([2.0, 4.0], 10), [2.0, 3.0])
    with pytest.raises(ValidationError, match=r"running_mean: `window` must be an integer >= 1"):
        running_mean([1.0], 0)
    with pytest.raises(ValidationError, match=r"running_mean: `values` must be finite"):
        running_mean([1.0, np.nan], 2)
    with pytest.raises(ValidationError, match=r"running_mean: `values` must be non-empty"):
        running_mean([], 2)


def test_bad_inputs_raise_clear_errors():
    r = np.random.default_rng(0)
    lp, g = TARGET.log_prob, TARGET.grad_log_prob
    with pytest.raises(ValidationError, match=r"fit_bbvi: `step_size` must be finite and positive"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, step_size=0.0, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `step_size` must be finite and positive"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, step_size=-1.0, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `n_samples` must be an integer >= 1"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, n_samples=0, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `n_samples` must be an integer >= 3"):
        fit_bbvi(lp, np.zeros(3), estimator="score_cv", n_samples=2, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `n_iterations` must be an integer >= 1"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, n_iterations=0, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `estimator` must be one of"):
        fit_bbvi(lp, np.zeros(3), estimator="magic", rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `optimizer` must be one of"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, optimizer="sgd", rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `grad_log_joint` must be given"):
        fit_bbvi(lp, np.zeros(3), estimator="pathwise", rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `local_log_joint` must be given"):
        fit_bbvi(lp, np.zeros(3), estimator="rao_blackwell", rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `rm_exponent` must be in \(0.5, 1\]"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, optimizer="robbins_monro", rm_exponent=0.4, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `init_mean` must be finite"):
        fit_bbvi(lp, np.array([0.0, np.inf, 0.0]), grad_log_joint=g, rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `log_std` must be of the same shape as `mean`"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, init_log_std=np.zeros(2), rng=r)
    with pytest.raises(ValidationError, match=r"fit_bbvi: `rng` must be a numpy.random.Generator"):
        fit_bbvi(lp, np.zeros(3), grad_log_joint=g, rng=0)


def test_divergence_is_reported_not_returned_as_nan():
    def log_joint(z):
        return np.where(np.abs(z[:, 0]) > 2, np.nan, -0.5 * np.sum(z**2, axis=1))

    with pytest.raises(ValidationError, match=r"fit_bbvi: the ELBO estimate or gradient became non-finite"):
        fit_bbvi(
            log_joint,
            np.zeros(3),
            estimator="pathwise",
            grad_log_joint=lambda z: -z,
            init_log_std=np.full(3, 1.0),
            n_samples=20,
            n_iterations=10,
            rng=np.random.default_rng(0),
        )
    with pytest.raises(ValidationError, match=r"fit_bbvi: `log_joint` must return finite values"):
        fit_bbvi(
            log_joint,
            np.zeros(3),
            estimator="score",
            init_log_std=np.full(3, 1.0),
            n_samples=20,
            n_iterations=10,
            rng=np.random.default_rng(0),
        )
