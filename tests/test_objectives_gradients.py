"""Tests for vi_lib.objectives.gradients: every estimator against the exact ELBO gradient of a Gaussian target."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch
from scipy import stats

from vi_lib import (
    GaussianTarget,
    ValidationError,
    gaussian_entropy,
    gaussian_score,
    pathwise_gradient,
    rao_blackwell_gradient,
    replicate_estimator,
    score_function_cv_gradient,
    score_function_gradient,
    stl_gradient,
    summarize_gradients,
)


def _target(d: int = 3) -> GaussianTarget:
    # tridiagonal precision: a chain-structured Gaussian
    prec = 2.0 * np.eye(d) - 0.8 * (np.eye(d, k=1) + np.eye(d, k=-1))
    return GaussianTarget(np.linspace(-1.0, 1.0, d), prec)


Q_MEAN = np.array([0.3, -0.2, 0.5])
Q_LOG_STD = np.array([-0.3, 0.1, -0.5])


def _estimators(t: GaussianTarget):
    return {
        "score": lambda r: score_function_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 20, r),
        "score_cv_loo": lambda r: score_function_cv_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 20, r),
        "score_cv_split": lambda r: score_function_cv_gradient(
            t.log_prob, Q_MEAN, Q_LOG_STD, 20, r, method="split"
        ),
        "rao_blackwell": lambda r: rao_blackwell_gradient(
            t.markov_blanket_log_prob, Q_MEAN, Q_LOG_STD, 20, r
        ),
        "rao_blackwell_cv": lambda r: rao_blackwell_gradient(
            t.markov_blanket_log_prob, Q_MEAN, Q_LOG_STD, 20, r, control_variate="loo"
        ),
        "pathwise": lambda r: pathwise_gradient(t.grad_log_prob, Q_MEAN, Q_LOG_STD, 20, r),
        "stl": lambda r: stl_gradient(t.grad_log_prob, Q_MEAN, Q_LOG_STD, 20, r),
    }


@pytest.mark.parametrize("name", list(_estimators(_target())))
def test_estimators_are_unbiased_within_4_standard_errors(name):
    t = _target()
    exact = t.elbo_gradient(Q_MEAN, Q_LOG_STD)
    stats = replicate_estimator(_estimators(t)[name], 1500, np.random.default_rng(7))
    z = (stats.mean - exact) / stats.standard_error
    assert stats.mean.shape == (2, 3)
    assert np.all(np.abs(z) < 4.0), f"{name}: z-scores {z}"


def test_exact_elbo_gradient_matches_torch_autograd():
    t = _target()
    mu = torch.tensor(Q_MEAN, requires_grad=True)
    om = torch.tensor(Q_LOG_STD, requires_grad=True)
    p = torch.distributions.MultivariateNormal(
        torch.tensor(t.mean), precision_matrix=torch.tensor(t.precision)
    )
    q = torch.distributions.MultivariateNormal(mu, scale_tril=torch.diag(torch.exp(om)))
    elbo = -torch.distributions.kl_divergence(q, p)  # log evidence is 0 for a normalised target
    elbo.backward()
    assert abs(elbo.item() - t.elbo(Q_MEAN, Q_LOG_STD)) < 1e-10
    np.testing.assert_allclose(
        t.elbo_gradient(Q_MEAN, Q_LOG_STD), np.stack([mu.grad.numpy(), om.grad.numpy()]), atol=1e-10
    )


def test_target_log_prob_and_grad_match_torch():
    t = _target()
    z = np.random.default_rng(1).standard_normal((5, 3))
    zt = torch.tensor(z, requires_grad=True)
    p = torch.distributions.MultivariateNormal(
        torch.tensor(t.mean), precision_matrix=torch.tensor(t.precision)
    )
    lp = p.log_prob(zt)
    lp.sum().backward()
    np.testing.assert_allclose(t.log_prob(z), lp.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(t.grad_log_prob(z), zt.grad.numpy(), atol=1e-10)


def test_markov_blanket_terms_recover_the_log_density_differences():
    """Changing only z_i changes log p by exactly the change in its Markov-blanket column."""
    t = _target(4)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((1, 4))
    for i in range(4):
        z2 = z.copy()
        z2[0, i] += 0.7
        dlp = t.log_prob(z2) - t.log_prob(z)
        dloc = t.markov_blanket_log_prob(z2)[:, i] - t.markov_blanket_log_prob(z)[:, i]
        np.testing.assert_allclose(dlp, dloc, atol=1e-12)


def test_score_has_mean_zero_and_matches_autograd(rng):
    z = Q_MEAN + np.exp(Q_LOG_STD) * rng.standard_normal((200_000, 3))
    s = summarize_gradients(gaussian_score(z, Q_MEAN, Q_LOG_STD))
    assert np.all(np.abs(s.mean) < 4 * s.standard_error)
    mu = torch.tensor(Q_MEAN, requires_grad=True)
    om = torch.tensor(Q_LOG_STD, requires_grad=True)
    torch.distributions.Normal(mu, torch.exp(om)).log_prob(torch.tensor(z[:1])).sum().backward()
    np.testing.assert_allclose(
        gaussian_score(z[:1], Q_MEAN, Q_LOG_STD)[0], np.stack([mu.grad.numpy(), om.grad.numpy()]), atol=1e-12
    )


def test_entropy_matches_torch():
    ent = torch.distributions.Normal(torch.zeros(3), torch.exp(torch.tensor(Q_LOG_STD))).entropy().sum()
    assert abs(gaussian_entropy(Q_LOG_STD) - ent.item()) < 1e-6


def test_pathwise_matches_autograd_of_reparameterized_elbo():
    t = _target()
    eps = np.random.default_rng(11).standard_normal((6, 3))
    g = pathwise_gradient(t.grad_log_prob, Q_MEAN, Q_LOG_STD, 6, np.random.default_rng(11))
    mu = torch.tensor(Q_MEAN, requires_grad=True)
    om = torch.tensor(Q_LOG_STD, requires_grad=True)
    z = mu + torch.exp(om) * torch.tensor(eps)
    p = torch.distributions.MultivariateNormal(
        torch.tensor(t.mean), precision_matrix=torch.tensor(t.precision)
    )
    ent = torch.distributions.Normal(mu, torch.exp(om)).entropy().sum()
    (p.log_prob(z).mean() + ent).backward()
    np.testing.assert_allclose(g.mean(axis=0), np.stack([mu.grad.numpy(), om.grad.numpy()]), atol=1e-10)


def test_stl_matches_autograd_with_stopped_variational_parameters():
    t = _target()
    eps = np.random.default_rng(12).standard_normal((6, 3))
    g = stl_gradient(t.grad_log_prob, Q_MEAN, Q_LOG_STD, 6, np.random.default_rng(12))
    mu = torch.tensor(Q_MEAN, requires_grad=True)
    om = torch.tensor(Q_LOG_STD, requires_grad=True)
    z = mu + torch.exp(om) * torch.tensor(eps)
    p = torch.distributions.MultivariateNormal(
        torch.tensor(t.mean), precision_matrix=torch.tensor(t.precision)
    )
    q_stopped = torch.distributions.Normal(mu.detach(), torch.exp(om).detach())
    (p.log_prob(z) - q_stopped.log_prob(z).sum(-1)).mean().backward()
    np.testing.assert_allclose(g.mean(axis=0), np.stack([mu.grad.numpy(), om.grad.numpy()]), atol=1e-10)


def test_stl_has_zero_variance_at_the_exact_posterior():
    t = GaussianTarget(np.array([1.0, -2.0]), np.diag([4.0, 0.25]))
    mean, log_std = t.optimal_mean_field()
    g = stl_gradient(t.grad_log_prob, mean, log_std, 50, np.random.default_rng(0))
    assert np.max(np.abs(g)) < 1e-12
    g_path = pathwise_gradient(t.grad_log_prob, mean, log_std, 50, np.random.default_rng(0))
    assert np.var(g_path[:, 0, 0]) > 0.1
    np.testing.assert_allclose(t.elbo_gradient(mean, log_std), 0.0, atol=1e-12)


@pytest.mark.parametrize("offset, mu0, factor, rb_factor", [(-50.0, 0.5, 0.05, 0.05), (0.0, 2.0, 0.5, 0.85)])
def test_control_variate_and_rao_blackwell_lower_variance(offset, mu0, factor, rb_factor):
    """An unnormalised log joint (offset) or a q far from the target: both reductions are large."""
    d = 10
    prec = 2.0 * np.eye(d) - 0.9 * (np.eye(d, k=1) + np.eye(d, k=-1))
    t = GaussianTarget(np.zeros(d), prec)
    mu, om = np.full(d, mu0), np.full(d, -0.2)
    rng = np.random.default_rng(5)

    def log_joint(z):
        return t.log_prob(z) + offset

    var_sf = replicate_estimator(
        lambda r: score_function_gradient(log_joint, mu, om, 10, r), 400, rng
    ).variance
    var_cv = replicate_estimator(
        lambda r: score_function_cv_gradient(log_joint, mu, om, 10, r), 400, rng
    ).variance
    var_split = replicate_estimator(
        lambda r: score_function_cv_gradient(log_joint, mu, om, 10, r, method="split"), 400, rng
    ).variance
    var_rb = replicate_estimator(
        lambda r: rao_blackwell_gradient(t.markov_blanket_log_prob, mu, om, 10, r), 400, rng
    ).variance
    # the Markov-blanket terms with the same offset per coordinate: what a baseline removes
    var_rb_shifted = replicate_estimator(
        lambda r: rao_blackwell_gradient(lambda z: t.markov_blanket_log_prob(z) + offset, mu, om, 10, r), 400, rng
    ).variance
    var_rb_split = replicate_estimator(
        lambda r: rao_blackwell_gradient(lambda z: t.markov_blanket_log_prob(z) + offset, mu, om, 10, r,
                                         control_variate="split"),
        400,
        rng,
    ).variance
    assert var_cv.sum() < factor * var_sf.sum()
    assert var_split.sum() < factor * var_sf.sum()
    assert var_rb.sum() < factor * var_sf.sum()
    # ... and on top of Rao-Blackwellisation (measured: 0.002 and 0.71 of the variance without it)
    assert var_rb_split.sum() < rb_factor * var_rb_shifted.sum()


def test_plugin_control_variate_runs_and_is_biased_at_small_s():
    t = _target()
    g = score_function_cv_gradient(
        t.log_prob, Q_MEAN, Q_LOG_STD, 5, np.random.default_rng(0), method="plugin"
    )
    assert g.shape == (5, 2, 3)
    # the coefficient estimated from the same 5 samples biases the estimate by O(1/S): detectable
    exact = t.elbo_gradient(Q_MEAN, Q_LOG_STD)
    stats = replicate_estimator(
        lambda r: score_function_cv_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 5, r, method="plugin"),
        1500,
        np.random.default_rng(7),
    )
    assert np.max(np.abs((stats.mean - exact) / stats.standard_error)) > 6.0


def test_same_seed_same_output():
    t = _target()
    a = score_function_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 4, np.random.default_rng(3))
    b = score_function_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- validation
def test_bad_inputs_raise_clear_errors():
    t = _target()
    r = np.random.default_rng(0)
    with pytest.raises(
        ValidationError, match=r"score_function_gradient: `n_samples` must be an integer >= 1"
    ):
        score_function_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 0, r)
    with pytest.raises(ValidationError, match=r"score_function_gradient: `n_samples` must be an integer"):
        score_function_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 2.5, r)
    with pytest.raises(ValidationError, match=r"pathwise_gradient: `mean` must be finite"):
        pathwise_gradient(t.grad_log_prob, [np.nan, 0, 0], Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"stl_gradient: `log_std` must be of the same shape as `mean`"):
        stl_gradient(t.grad_log_prob, Q_MEAN, [0.0, 0.0], 3, r)
    with pytest.raises(ValidationError, match=r"stl_gradient: `mean` must be a 1-D array"):
        stl_gradient(t.grad_log_prob, np.zeros((2, 3)), Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"`rng` must be a numpy.random.Generator"):
        pathwise_gradient(t.grad_log_prob, Q_MEAN, Q_LOG_STD, 3, 0)
    with pytest.raises(ValidationError, match=r"`log_joint` must be callable"):
        score_function_gradient(None, Q_MEAN, Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"`method` must be one of"):
        score_function_cv_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 5, r, method="median")
    with pytest.raises(
        ValidationError, match=r"score_function_cv_gradient: `n_samples` must be an integer >= 3"
    ):
        score_function_cv_gradient(t.log_prob, Q_MEAN, Q_LOG_STD, 2, r)
    with pytest.raises(ValidationError, match=r"`control_variate` must be one of"):
        rao_blackwell_gradient(t.markov_blanket_log_prob, Q_MEAN, Q_LOG_STD, 5, r, control_variate="x")


def test_misbehaving_callables_are_caught():
    r = np.random.default_rng(0)
    with pytest.raises(ValidationError, match=r"`log_joint` must return finite values"):
        score_function_gradient(lambda z: np.full(len(z), np.nan), Q_MEAN, Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"`log_joint` must return an array of shape \(3,\)"):
        score_function_gradient(lambda z: z, Q_MEAN, Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"`grad_log_joint` must return an array of shape \(3, 3\)"):
        pathwise_gradient(lambda z: z[:, 0], Q_MEAN, Q_LOG_STD, 3, r)
    with pytest.raises(ValidationError, match=r"`local_log_joint` must return an array of shape"):
        rao_blackwell_gradient(lambda z: z[:, 0], Q_MEAN, Q_LOG_STD, 3, r)


def test_summaries_and_target_validation():
    with pytest.raises(
        ValidationError, match=r"summarize_gradients: `per_sample` must have at least 2 samples"
    ):
        summarize_gradients(np.zeros((1, 2)))
    with pytest.raises(ValidationError, match=r"summarize_gradients: `per_sample` must be finite"):
        summarize_gradients(np.array([[1.0], [np.inf]]))
    with pytest.raises(ValidationError, match=r"replicate_estimator: `n_replicates` must be an integer >= 2"):
        replicate_estimator(lambda r: np.zeros((2, 1)), 1, np.random.default_rng(0))
    with pytest.raises(ValidationError, match=r"GaussianTarget: `precision` must be positive definite"):
        GaussianTarget(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValidationError, match=r"GaussianTarget: `precision` must be of shape \(3, 3\)"):
        GaussianTarget(np.zeros(3), np.eye(2))
    with pytest.raises(ValidationError, match=r"GaussianTarget.log_prob: `z` must be of shape \(\*, 3\)"):
        _target().log_prob(np.zeros(3))
    with pytest.raises(ValidationError, match=r"gaussian_entropy: `log_std` must be finite"):
        gaussian_entropy([np.nan])


def test_log_evidence_shifts_log_joint_and_elbo_but_not_gradient():
    t0 = _target()
    t1 = GaussianTarget(t0.mean, t0.precision, log_evidence=-50.0)
    z = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(t1.log_joint(z), t0.log_prob(z) - 50.0)
    assert abs(t1.elbo(Q_MEAN, Q_LOG_STD) - t0.elbo(Q_MEAN, Q_LOG_STD) + 50.0) < 1e-10
    np.testing.assert_array_equal(t1.elbo_gradient(Q_MEAN, Q_LOG_STD), t0.elbo_gradient(Q_MEAN, Q_LOG_STD))
    with pytest.raises(ValidationError, match=r"GaussianTarget: `log_evidence` must be finite"):
        GaussianTarget(t0.mean, t0.precision, log_evidence=np.nan)


def test_empty_means_and_bad_estimator_outputs_raise_clear_errors():
    r = np.random.default_rng(0)
    with pytest.raises(ValidationError, match=r"score_function_gradient: `mean` must be non-empty"):
        score_function_gradient(lambda z: np.zeros(len(z)), np.zeros(0), np.zeros(0), 3, r)
    with pytest.raises(ValidationError, match=r"GaussianTarget: `mean` must be non-empty"):
        GaussianTarget(np.zeros(0), np.eye(1))
    with pytest.raises(ValidationError, match=r"replicate_estimator: `estimator` must return per-sample values"):
        replicate_estimator(lambda rr: np.float64(1.0), 3, r)


def test_summarize_gradients_standard_error_is_scipy_sem():
    g = np.random.default_rng(0).normal(1.0, 3.0, size=(50, 2, 3))
    s = summarize_gradients(g)
    np.testing.assert_allclose(s.mean, g.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(s.standard_error, stats.sem(g, axis=0, ddof=1), rtol=1e-12)
    assert s.n_samples == 50


def test_replicate_estimator_variance_is_unbiased_over_few_replicates():
    seen = []

    def estimator(r):
        out = r.normal(size=(4, 2))
        seen.append(out.mean(axis=0))
        return out

    res = replicate_estimator(estimator, 3, np.random.default_rng(1))
    means = np.array(seen)
    for j in range(2):
        assert res.variance[j] == pytest.approx(statistics.variance(means[:, j]), rel=1e-12)
        assert res.standard_error[j] == pytest.approx(np.sqrt(statistics.variance(means[:, j]) / 3), rel=1e-12)
    np.testing.assert_allclose(res.mean, means.mean(axis=0), rtol=1e-13)



def test_overflow_is_an_error_naming_log_std_not_silent_infinities():
    """Issue 16: log_std = 400 gave -inf entries with only a RuntimeWarning (warnings are errors here, so
    a leaked RuntimeWarning would fail this test too)."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValidationError, match=r"^pathwise_gradient: `log_std` \(from 400\.0 to 400\.0, so sigma = "
                       r"exp\(log_std\) from 5\.22e\+173 to 5\.22e\+173\) makes the per-sample gradients overflow"):
        pathwise_gradient(lambda z: -z, np.zeros(2), np.full(2, 400.0), 4, rng)
    with pytest.raises(ValidationError, match=r"^stl_gradient: `log_std` \(largest 800\.0, so sigma = exp\(log_std\) "
                       r"up to 2\.73e\+347 \(beyond float64\)\) .* overflow float64"):
        stl_gradient(lambda z: -z, np.zeros(2), np.full(2, 800.0), 4, rng)
    with pytest.raises(ValidationError, match=r"^score_function_gradient: `log_std` \(from -800\.0 to -800\.0"):
        score_function_gradient(lambda z: -0.5 * (z**2).sum(1), np.zeros(2), np.full(2, -800.0), 4, rng)
    # Large but harmless: the same estimator at log_std = 300 is finite.
    assert np.all(np.isfinite(pathwise_gradient(lambda z: -z, np.zeros(2), np.full(2, 300.0), 4, rng)))
