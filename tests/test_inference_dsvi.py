"""Doubly stochastic VI: minibatch log joints of logistic regression, the doubly stochastic gradient, the fit.

Statistical checks use a fixed seed and a 5-standard-error threshold per coordinate: under the normal
approximation one coordinate fails by chance with probability 5.7e-7, so a check over k coordinates
fails falsely with probability at most k * 5.7e-7 (Bonferroni); k is at most 6 here (< 3.5e-6).
"""

from __future__ import annotations

import numpy as np
import pytest

from vi_lib import (
    BayesianLogisticRegression,
    DSVIResult,
    ValidationError,
    doubly_stochastic_gradient,
    fit_bbvi,
    fit_doubly_stochastic_vi,
    laplace_approximation,
    pathwise_gradient,
)

Z_THRESHOLD = 5.0


def _model(n: int = 320, d: int = 3, seed: int = 0, prior_std: float = 10.0) -> BayesianLogisticRegression:
    """Synthetic logistic regression; with a weak prior (s = 10) the likelihood dominates the posterior."""
    r = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), r.standard_normal((n, d - 1))])
    y = (r.uniform(size=n) < 1 / (1 + np.exp(-X @ np.array([0.5, -1.0, 2.0])[:d]))).astype(float)
    return BayesianLogisticRegression(X, y, prior_std=prior_std)


SMALL = _model(n=40, prior_std=1.5)
Z = np.random.default_rng(3).normal(size=(4, 3))


@pytest.fixture(scope="module")
def big():
    """The N = 320 model and a long full-data pathwise fit of it (Robbins-Monro, so no noise ball)."""
    m = _model()
    ref = fit_bbvi(m.log_joint, np.zeros(3), grad_log_joint=m.grad_log_joint, n_iterations=8000, n_samples=10,
                   optimizer="robbins_monro", step_size=0.1, rm_delay=10.0, rm_exponent=0.6,
                   rng=np.random.default_rng(0))
    return m, ref


# ---------------------------------------------------------------------------------------------
# The model's minibatch pieces.
# ---------------------------------------------------------------------------------------------
def test_prior_plus_likelihood_terms_is_the_log_joint():
    m = SMALL
    np.testing.assert_allclose(m.log_prior(Z) + m.log_likelihood_terms(Z).sum(axis=1), m.log_joint(Z), atol=1e-10)
    idx = np.array([3, 0, 7])
    np.testing.assert_array_equal(m.log_likelihood_terms(Z, idx), m.log_likelihood_terms(Z)[:, idx])
    np.testing.assert_allclose(m.grad_log_prior(Z), -Z / 1.5**2, rtol=1e-15)
    assert m.n_data == 40


def test_all_points_with_scale_one_is_the_log_joint_exactly():
    m, idx = SMALL, np.arange(40)
    np.testing.assert_array_equal(m.minibatch_log_joint(Z, idx), m.log_joint(Z))
    np.testing.assert_array_equal(m.minibatch_grad_log_joint(Z, idx, 1.0), m.grad_log_joint(Z))
    # the same points in another order agree to rounding
    perm = np.random.default_rng(0).permutation(40)
    np.testing.assert_allclose(m.minibatch_log_joint(Z, perm), m.log_joint(Z), rtol=1e-13)


def test_average_over_the_batches_of_a_partition_is_the_full_log_joint():
    """Exact unbiasedness: every point is in exactly one of the K = N/B batches, each weighted N/B."""
    m = SMALL
    batches = np.random.default_rng(1).permutation(40).reshape(5, 8)
    np.testing.assert_allclose(np.mean([m.minibatch_log_joint(Z, b) for b in batches], axis=0), m.log_joint(Z),
                               rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.mean([m.minibatch_grad_log_joint(Z, b) for b in batches], axis=0),
                               m.grad_log_joint(Z), rtol=0, atol=1e-10)


def test_random_minibatches_are_unbiased_within_five_standard_errors():
    m, z = SMALL, Z[:1]
    rng = np.random.default_rng(2)
    batches = [rng.choice(40, size=5, replace=False) for _ in range(4000)]
    vals = np.array([np.r_[m.minibatch_log_joint(z, b), m.minibatch_grad_log_joint(z, b)[0]] for b in batches])
    exact = np.r_[m.log_joint(z), m.grad_log_joint(z)[0]]
    zscores = (vals.mean(axis=0) - exact) / (vals.std(axis=0, ddof=1) / np.sqrt(len(vals)))
    assert np.all(np.abs(zscores) < Z_THRESHOLD), zscores  # 4 coordinates


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(idx=np.array([0.0, 1.0])), r"minibatch_log_joint: `idx` must be a non-empty 1-D array of integer"),
        (dict(idx=np.array([], dtype=int)), r"`idx` must be a non-empty"),
        (dict(idx=np.array([0, 40])), r"`idx` must hold row indices in \[0, 40\); received values from 0 to 40"),
        (dict(idx=np.array([-1, 2])), r"`idx` must hold row indices"),
        (dict(idx=np.array([0, 1]), scale=-2.0), r"minibatch_log_joint: `scale` must be finite and positive"),
        (dict(idx=np.array([0, 1]), scale=np.ones(2)), r"`scale` must be a scalar"),
    ],
)
def test_minibatch_log_joint_validates_indices_and_scale(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        SMALL.minibatch_log_joint(Z, **kwargs)
    with pytest.raises(ValidationError, match=match.replace("minibatch_log_joint", "minibatch_grad_log_joint")):
        SMALL.minibatch_grad_log_joint(Z, **kwargs)


# ---------------------------------------------------------------------------------------------
# The doubly stochastic gradient.
# ---------------------------------------------------------------------------------------------
def test_doubly_stochastic_gradient_is_unbiased_for_the_full_data_pathwise_gradient():
    m = SMALL
    mean, log_std = np.array([0.3, -0.5, 1.0]), np.array([-0.7, -0.4, -1.0])
    rng = np.random.default_rng(4)
    reps = np.array([doubly_stochastic_gradient(m, mean, log_std, 5, 2, rng).mean(axis=0) for _ in range(6000)])
    full = pathwise_gradient(m.grad_log_joint, mean, log_std, 200_000, np.random.default_rng(5))
    diff = reps.mean(axis=0) - full.mean(axis=0)
    se = np.sqrt(reps.var(axis=0, ddof=1) / len(reps) + full.var(axis=0, ddof=1) / len(full))
    assert np.all(np.abs(diff / se) < Z_THRESHOLD), diff / se  # 6 coordinates
    # the minibatch noise is real: the doubly stochastic estimate is noisier than the full-data one with S = 2
    full2 = np.array([pathwise_gradient(m.grad_log_joint, mean, log_std, 2, rng).mean(axis=0) for _ in range(2000)])
    assert np.all(reps[:, 0].var(axis=0) > full2[:, 0].var(axis=0))


def test_full_batch_reproduces_fit_bbvi_draw_for_draw():
    m = _model(n=60)
    for optimizer in ("adam", "robbins_monro"):
        kw = dict(n_iterations=40, n_samples=3, optimizer=optimizer, step_size=0.05, rm_delay=5.0)
        a = fit_bbvi(m.log_joint, np.zeros(3), grad_log_joint=m.grad_log_joint, rng=np.random.default_rng(7), **kw)
        b = fit_doubly_stochastic_vi(m, np.zeros(3), batch_size=60, rng=np.random.default_rng(7), **kw)
        np.testing.assert_array_equal(b.mean, a.mean)
        np.testing.assert_array_equal(b.log_std, a.log_std)
        np.testing.assert_array_equal(b.elbo_trace, a.elbo_trace)
        assert isinstance(b, DSVIResult) and b.estimator == "pathwise" and b.likelihood_scale == 1.0
        np.testing.assert_allclose(b.data_passes, np.arange(1, 41))


def test_minibatches_follow_epochs_of_fresh_permutations():
    """batch_size 7 of N = 60: 8 disjoint batches per epoch (4 points skipped), then a new permutation."""
    seen: list[np.ndarray] = []
    m = _model(n=60)
    original = m._minibatch_grad_log_joint

    class Spy(BayesianLogisticRegression):
        def _minibatch_grad_log_joint(self, z, idx, scale):
            seen.append(idx.copy())
            return original(z, idx, scale)

    spy = Spy(m.X, m.y, m.prior_std)
    res = fit_doubly_stochastic_vi(spy, np.zeros(3), batch_size=7, n_iterations=16, rng=np.random.default_rng(0))
    assert all(len(b) == 7 for b in seen) and len(seen) == 16
    for epoch in (seen[:8], seen[8:]):
        flat = np.concatenate(epoch)
        assert len(np.unique(flat)) == 56
    assert not np.array_equal(np.concatenate(seen[:8]), np.concatenate(seen[8:]))
    np.testing.assert_allclose(res.data_passes[[7, 15]], [56 / 60, 112 / 60])
    assert res.likelihood_scale == 60 / 7


# ---------------------------------------------------------------------------------------------
# The fit: agreement with the full-data fit, both step rules, the forgotten N/|B| factor.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "optimizer, step_size",
    [("adam", 0.005), ("robbins_monro", 0.1)],
)
def test_minibatch_fit_agrees_with_the_full_data_fit(big, optimizer, step_size):
    """B = 20 of N = 320 (16 batches per epoch), 4000 steps = 250 passes.

    Over seeds 0-3 the worst errors measured were 0.09 posterior sd in the mean and 0.07 in log std for
    Adam (its constant step leaves a noise ball), 0.07 and 0.14 for Robbins-Monro; the tolerances
    (0.25 sd, 0.2 in log std, i.e. std within ~20 %) leave room for another seed.
    """
    m, ref = big
    res = fit_doubly_stochastic_vi(m, np.zeros(3), batch_size=20, n_iterations=4000, n_samples=4,
                                   optimizer=optimizer, step_size=step_size, rm_delay=10.0, rm_exponent=0.7,
                                   rng=np.random.default_rng(1))
    assert np.all(np.abs(res.mean - ref.mean) / ref.std < 0.25)
    assert np.all(np.abs(res.log_std - ref.log_std) < 0.2)
    # the full-data fit itself matches the Laplace approximation's mode and mean-field scale
    # 1/sqrt(-H_ii) (the posterior is nearly Gaussian at N = 320; measured: 0.17 sd, 1.5 % in std)
    mode, _ = laplace_approximation(m)
    assert np.all(np.abs(ref.mean - mode) / ref.std < 0.35)
    np.testing.assert_allclose(ref.std, 1 / np.sqrt(np.diag(-m.hessian(mode))), rtol=0.05)
    assert res.elbo_trace.shape == res.wall_time.shape == res.data_passes.shape == (4000,)
    assert res.data_passes[-1] == pytest.approx(250.0)


def test_forgetting_the_scale_widens_q_by_about_sqrt_n_over_b(big):
    """likelihood_scale = 1 fits the posterior of |B| points: std ratio ~ sqrt(N/|B|) = 4 when the likelihood dominates.

    The prediction is only rough: with 16 times less effective data the posterior mean moves out
    (|x'z| grows), sigmoid saturates, the Fisher information per point drops, and the ratio comes out
    somewhat above 4 (measured 0.96-1.13 x 4 over seeds 0-2). The band [0.75, 1.4] x 4 allows that.
    """
    m, ref = big
    wrong = fit_doubly_stochastic_vi(m, np.zeros(3), batch_size=20, n_iterations=4000, n_samples=4, step_size=0.01,
                                     likelihood_scale=1.0, rng=np.random.default_rng(0))
    ratio = wrong.std / ref.std / np.sqrt(320 / 20)
    assert np.all((ratio > 0.75) & (ratio < 1.4)), ratio


# ---------------------------------------------------------------------------------------------
# Validation.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=0), r"^fit_doubly_stochastic_vi: `batch_size` must be an integer >= 1; received 0"),
        (dict(batch_size=61), r"`batch_size` must be at most the number of data points N = 60; received 61"),
        (dict(batch_size=5.0), r"`batch_size` must be an integer"),
        (dict(rm_exponent=0.5), r"`rm_exponent` must be in \(0.5, 1\]"),
        (dict(rm_exponent=1.2), r"`rm_exponent` must be in \(0.5, 1\]"),
        (dict(rm_delay=0.0), r"`rm_delay` must be finite and positive"),
        (dict(optimizer="sgd"), r"`optimizer` must be one of \('adam', 'robbins_monro'\); received 'sgd'"),
        (dict(likelihood_scale=0.0), r"`likelihood_scale` must be finite and positive"),
        (dict(init_mean=np.zeros(2)), r"`init_mean` must have length D = 3; received length 2"),
        (dict(init_log_std=np.zeros(2)), r"`log_std` must be of the same shape as `mean`"),
        (dict(model="abc"), r"`model` must be a BayesianLogisticRegression; received str"),
        (dict(n_samples=0), r"`n_samples` must be an integer >= 1"),
        (dict(rng=0), r"`rng` must be a numpy.random.Generator"),
    ],
)
def test_fit_validates_its_arguments(kwargs, match):
    args = dict(model=_model(n=60), init_mean=np.zeros(3), batch_size=10, n_iterations=2,
                rng=np.random.default_rng(0)) | kwargs
    with pytest.raises(ValidationError, match=match):
        fit_doubly_stochastic_vi(**args)


def test_gradient_validates_its_arguments():
    m = _model(n=60)
    with pytest.raises(ValidationError, match=r"^doubly_stochastic_gradient: `batch_size` must be at most"):
        doubly_stochastic_gradient(m, np.zeros(3), np.zeros(3), 100, 2, np.random.default_rng(0))
    with pytest.raises(ValidationError, match=r"^doubly_stochastic_gradient: `mean` must have length D = 3"):
        doubly_stochastic_gradient(m, np.zeros(2), np.zeros(2), 10, 2, np.random.default_rng(0))


def test_a_step_size_that_is_too_large_is_reported():
    pattern = r"^fit_doubly_stochastic_vi: .*(became non-finite|not finite).*(R|r)educe `step_size`"
    with pytest.raises(ValidationError, match=pattern):
        fit_doubly_stochastic_vi(_model(n=60), np.zeros(3), batch_size=5, n_iterations=200, optimizer="robbins_monro",
                                 step_size=1e6, rng=np.random.default_rng(0))
