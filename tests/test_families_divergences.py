"""Tests for vi_lib.families.divergences: closed forms vs torch, Monte Carlo, properties, validation."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vi_lib import ValidationError
from vi_lib.families.divergences import entropy_mvn, entropy_normal, kl_categorical, kl_monte_carlo, kl_mvn, kl_normal

D = torch.distributions


def test_kl_normal_matches_torch():
    args = [(0.3, 0.7, -1.2, 2.0), (1.0, 1.0, 1.0, 1.0), (5.0, 3.0, 0.0, 0.5)]
    for mq, sq, mp, sp in args:
        ref = D.kl_divergence(D.Normal(torch.tensor(mq, dtype=torch.float64), sq),
                              D.Normal(torch.tensor(mp, dtype=torch.float64), sp)).item()
        assert kl_normal(mq, sq, mp, sp) == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_kl_normal_broadcasts():
    out = kl_normal(np.zeros(3), np.array([0.5, 1.0, 2.0]), 0.0, 1.0)
    assert out.shape == (3,) and out[1] == 0.0


def test_kl_normal_monte_carlo():
    rng = np.random.default_rng(0)
    mq, sq, mp, sp = 0.5, 0.8, -0.3, 1.5
    est, se = kl_monte_carlo(
        lambda z: -0.5 * ((z - mp) / sp) ** 2 - np.log(sp) - 0.5 * np.log(2 * np.pi),
        lambda z: -0.5 * ((z - mq) / sq) ** 2 - np.log(sq) - 0.5 * np.log(2 * np.pi),
        lambda n, r: mq + sq * r.standard_normal(n), 20000, rng)
    assert abs(est - kl_normal(mq, sq, mp, sp)) < 4 * se


@pytest.mark.parametrize("sq,sp", [(1e-6, 1e6), (1e6, 1e-6), (1e-6, 1e-6 * (1 + 1e-9)), (1e6, 1.0)])
def test_kl_normal_extreme_scales(sq, sp):
    # high-precision reference: log-ratio computed exactly via log1p where the ratio is near 1
    r = sq / sp
    ref = 0.5 * (r * r - 1.0) - np.log(sq / sp) if abs(r - 1) > 1e-3 else (r - 1) ** 2
    val = kl_normal(0.0, sq, 0.0, sp)
    assert np.isfinite(val)
    assert val == pytest.approx(ref, rel=1e-6, abs=1e-30)


def test_kl_mvn_matches_torch_and_mc():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 3))
    cq, cp = a @ a.T + 0.5 * np.eye(3), b @ b.T + 0.5 * np.eye(3)
    mq, mp = rng.standard_normal(3), rng.standard_normal(3)
    q = D.MultivariateNormal(torch.tensor(mq), torch.tensor(cq))
    p = D.MultivariateNormal(torch.tensor(mp), torch.tensor(cp))
    ref = D.kl_divergence(q, p).item()
    val = kl_mvn(mq, cq, mp, cp)
    assert val == pytest.approx(ref, rel=1e-10)
    est, se = kl_monte_carlo(lambda z: p.log_prob(torch.tensor(z)).numpy(),
                             lambda z: q.log_prob(torch.tensor(z)).numpy(),
                             lambda n, r: r.multivariate_normal(mq, cq, size=n), 20000, rng)
    assert abs(est - val) < 4 * se
    assert kl_mvn(mq, cq, mq, cq) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("a,b", [(1e-6, 1e6), (1e6, 1e-6), (1e-6, 1e-6 * (1 + 1e-9)), (1e6, 1.0), (1e-6, 1e-6)])
def test_kl_mvn_extreme_scales(a, b):
    # cov_q = a^2 C and cov_p = b^2 C with equal means: KL = d/2 (r^2 - 1 - log r^2), r = a / b
    c = np.array([[1.0, 0.3, 0.1], [0.3, 0.5, -0.2], [0.1, -0.2, 2.0]])
    t = 2.0 * (np.log(a) - np.log(b))
    ref = 1.5 * (np.expm1(t) - t)
    val = kl_mvn(np.zeros(3), a**2 * c, np.zeros(3), b**2 * c)
    assert np.isfinite(val)
    assert val == pytest.approx(ref, rel=1e-6, abs=1e-12)


def test_kl_mvn_univariate_agrees_with_kl_normal():
    assert kl_mvn([0.3], [[0.49]], [-1.2], [[4.0]]) == pytest.approx(kl_normal(0.3, 0.7, -1.2, 2.0), rel=1e-12)


def test_kl_mvn_validation():
    with pytest.raises(ValidationError, match=r"kl_mvn: `cov_p` must be positive definite"):
        kl_mvn([0, 0], np.eye(2), [0, 0], [[1, 2], [2, 1]])
    with pytest.raises(ValidationError, match=r"kl_mvn: `mean_p` must be of shape \(2,\)"):
        kl_mvn([0, 0], np.eye(2), [0, 0, 0], np.eye(3))
    with pytest.raises(ValidationError, match=r"kl_mvn: `cov_q` must be of shape \(2, 2\)"):
        kl_mvn([0, 0], np.eye(3), [0, 0], np.eye(2))


def test_kl_normal_validation():
    with pytest.raises(ValidationError, match=r"kl_normal: `sigma_q` must be finite and positive"):
        kl_normal(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValidationError, match=r"kl_normal: `sigma_p` must be finite and positive"):
        kl_normal(0.0, 1.0, 0.0, -1.0)
    with pytest.raises(ValidationError, match=r"kl_normal: the arguments must broadcast"):
        kl_normal(np.zeros(2), np.ones(3), 0.0, 1.0)


def test_kl_categorical():
    p, q = np.array([0.2, 0.5, 0.3]), np.array([0.4, 0.4, 0.2])
    ref = D.kl_divergence(D.Categorical(probs=torch.tensor(p)), D.Categorical(probs=torch.tensor(q))).item()
    assert kl_categorical(p, q) == pytest.approx(ref, rel=1e-12)
    assert kl_categorical([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(np.log(2))
    assert kl_categorical([0.5, 0.5], [1.0, 0.0]) == np.inf
    with pytest.raises(ValidationError, match=r"kl_categorical: `p` must be a probability vector"):
        kl_categorical([0.5, 0.6], [0.5, 0.5])
    with pytest.raises(ValidationError, match=r"kl_categorical: `q` must be a probability vector"):
        kl_categorical([0.5, 0.5], [1.5, -0.5])
    with pytest.raises(ValidationError, match=r"kl_categorical: `q` must be of shape \(2,\)"):
        kl_categorical([0.5, 0.5], [0.2, 0.3, 0.5])


def test_entropies():
    assert entropy_normal(2.0) == pytest.approx(D.Normal(0.0, torch.tensor(2.0, dtype=torch.float64))
                                                .entropy().item(), rel=1e-12)
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    ref = D.MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.tensor(cov)).entropy().item()
    assert entropy_mvn(cov) == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValidationError, match=r"entropy_normal: `sigma` must be finite and positive"):
        entropy_normal(-1.0)
    with pytest.raises(ValidationError, match=r"entropy_mvn: `cov` must be positive definite"):
        entropy_mvn([[1.0, 2.0], [2.0, 1.0]])


def test_kl_monte_carlo_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(ValidationError, match=r"kl_monte_carlo: `n` must be an integer >= 2"):
        kl_monte_carlo(np.zeros_like, np.zeros_like, lambda n, r: np.zeros(n), 1, rng)
    with pytest.raises(ValidationError, match=r"kl_monte_carlo: `rng` must be a numpy.random.Generator"):
        kl_monte_carlo(np.zeros_like, np.zeros_like, lambda n, r: np.zeros(n), 10, 0)
    with pytest.raises(ValidationError, match=r"kl_monte_carlo: `log_p` must be callable; received float"):
        kl_monte_carlo(1.0, np.zeros_like, lambda n, r: np.zeros(n), 10, rng)
    with pytest.raises(ValidationError, match=r"kl_monte_carlo: `log_q` and `log_p` must return arrays of shape"):
        kl_monte_carlo(np.zeros_like, np.zeros_like, lambda n, r: np.zeros((n, 2)), 10, rng)


finite = st.floats(-50, 50, allow_nan=False)
scale = st.floats(1e-6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(finite, scale, finite, scale)
def test_kl_normal_properties(mq, sq, mp, sp):
    assert kl_normal(mq, sq, mp, sp) >= 0.0
    assert kl_normal(mq, sq, mq, sq) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), st.integers(0, 2**31))
def test_kl_categorical_properties(raw, seed):
    p = np.array(raw) / np.sum(raw)
    q = np.random.default_rng(seed).dirichlet(np.ones(p.size))
    assert kl_categorical(p, q) >= -1e-15
    assert kl_categorical(p, p) == 0.0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(0, 2**31), st.floats(-3, 3))
def test_kl_mvn_properties(d, seed, log_scale):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    cq = 10.0**log_scale * (a @ a.T + 0.1 * np.eye(d))
    cp = b @ b.T + 0.1 * np.eye(d)
    mq, mp = rng.standard_normal(d), rng.standard_normal(d)
    assert kl_mvn(mq, cq, mp, cp) >= -1e-12
    assert kl_mvn(mp, cp, mq, cq) >= -1e-12
    assert kl_mvn(mq, cq, mq, cq) == pytest.approx(0.0, abs=1e-12)


def test_kl_categorical_accepts_a_float32_softmax_and_prints_the_sum_in_full():
    """Issue 16: a float32 softmax sums to 1 only within float32 rounding, far above the old 1e-9."""
    g = torch.Generator().manual_seed(0)
    logits_p, logits_q = torch.randn(1000, generator=g), torch.randn(1000, generator=g)
    p32, q32 = torch.softmax(logits_p, 0), torch.softmax(logits_q, 0)
    assert p32.dtype == torch.float32 and abs(float(p32.double().sum()) - 1.0) > 1e-9  # the old check refused it
    ref = D.kl_divergence(D.Categorical(probs=p32.double()), D.Categorical(probs=q32.double())).item()
    assert kl_categorical(p32, q32) == pytest.approx(ref, rel=1e-6)
    assert kl_categorical(p32.numpy(), q32.numpy()) == pytest.approx(ref, rel=1e-6)
    # A float32 vector that really is off is still refused, and the message shows the sum to full precision.
    bad = np.array([0.5, 0.5001], dtype=np.float32)
    with pytest.raises(ValidationError, match=r"kl_categorical: `p` must be a probability vector .* within "
                       r"9\.54e-07, the tolerance for 2 float32 entries\); received entries summing to "
                       r"1\.000100016593933 \(off by \+0\.0001\)"):
        kl_categorical(bad, [0.5, 0.5])
    # float64 keeps the 1e-9 tolerance; a sum that is 1 to six digits no longer reads as "1".
    with pytest.raises(ValidationError, match=r"within 1e-09, the tolerance for 2 float64 entries\); received "
                       r"entries summing to 1\.00000001 \(off by \+1e-08\)"):
        kl_categorical([0.5, 0.50000001], [0.5, 0.5])
    assert kl_categorical([0.5, 0.5 + 1e-10], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-9)
    assert kl_categorical([0.5, 0.5 + 1e-7], [0.5, 0.5], atol=1e-6) == pytest.approx(0.0, abs=1e-6)
