"""Tests for vi_lib.vae: model, KL, likelihood, training, evaluation, data baselines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import binom
from sklearn.datasets import load_digits

from vi_lib import ValidationError
from vi_lib.vae import (
    VAE,
    active_units,
    bce_level_mass,
    binomial_log_prob,
    elbo,
    elbo_terms,
    evaluate_elbo,
    gaussian_kl_standard,
    independent_binomial_baseline,
    independent_categorical_log_prob,
    iwae_bound,
    kl_per_dimension,
    kl_weight,
    load_digits_split,
    resolve_device,
    train_vae,
)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 3, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ref = torch.distributions.kl_divergence(q, p)
    assert torch.allclose(gaussian_kl_standard(mu, logvar), ref, atol=1e-12)


def test_kl_validation():
    with pytest.raises(ValidationError, match="gaussian_kl_standard: `logvar` must be of the same shape"):
        gaussian_kl_standard(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValidationError, match="must be torch tensors"):
        gaussian_kl_standard(np.zeros(3), torch.zeros(3))


def test_binomial_log_prob_matches_scipy_and_normalises():
    logits = torch.tensor([[-1.3, 0.2, 2.0]], dtype=torch.float64)
    x = torch.tensor([[0.0, 7.0, 16.0]], dtype=torch.float64)
    p = torch.sigmoid(logits).numpy()
    ref = binom.logpmf(x.numpy(), 16, p).sum()
    assert float(binomial_log_prob(x, logits, 16)) == pytest.approx(ref, abs=1e-10)
    levels = torch.arange(17, dtype=torch.float64)[:, None]
    total = binomial_log_prob(levels, torch.full((17, 1), 0.4, dtype=torch.float64), 16).exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValidationError, match="binomial_log_prob: `total_count` must be an integer >= 1"):
        binomial_log_prob(x, logits, 0)
    with pytest.raises(ValidationError, match="`logits` must have 3 pixels"):
        binomial_log_prob(x, logits[:, :2], 16)


def test_bce_level_mass_is_not_one():
    # reference: exp(-BCE) from torch, summed over the 17 grey levels k / 16
    levels = torch.arange(17, dtype=torch.float64) / 16
    bce = torch.nn.functional.binary_cross_entropy(torch.full((17,), 0.3, dtype=torch.float64), levels,
                                                   reduction="none")
    assert bce_level_mass(0.3) == pytest.approx(float(torch.exp(-bce).sum()), rel=1e-12)
    assert abs(bce_level_mass(0.3) - 1.0) > 0.5
    with pytest.raises(ValidationError, match="bce_level_mass: `p` must be a probability in the open interval"):
        bce_level_mass(1.0)


def test_vae_validation():
    with pytest.raises(ValidationError, match="VAE: `latent_dim` must be an integer >= 1"):
        VAE(64, 0)
    m = VAE(4, 2, hidden=(8,))
    with pytest.raises(ValidationError, match=r"elbo_terms: `x` must be of shape \(\*, 4\)"):
        elbo_terms(m, torch.zeros(3, 5))
    with pytest.raises(ValidationError, match="elbo: `beta` must be finite and non-negative"):
        elbo(m, torch.zeros(3, 4), beta=-1.0)
    with pytest.raises(ValidationError, match="elbo_terms: `model` must be a VAE"):
        elbo_terms(torch.nn.Linear(2, 2), torch.zeros(3, 4))


def _vae_1d() -> VAE:
    """A VAE with one latent whose q(z | x) is clearly not the prior, so the KL and log-det terms matter."""
    torch.manual_seed(0)
    m = VAE(3, 1, hidden=(6,), total_count=2).double()
    with torch.no_grad():
        m.encoder[-1].bias[:] = torch.tensor([0.7, -1.5], dtype=torch.float64)  # mean 0.7, log-variance -1.5
    return m


def test_elbo_decomposition_and_reparameterization():
    torch.manual_seed(0)
    m = VAE(4, 2, hidden=(8,), total_count=3).double()
    x = torch.tensor([[0.0, 1.0, 2.0, 3.0], [3.0, 3.0, 1.0, 0.0]], dtype=torch.float64)
    eps = torch.tensor([[0.8, -1.3], [-0.4, 2.1]], dtype=torch.float64)
    rec, kl = elbo_terms(m, x, eps=eps)
    mu, logvar = m.encode(x)
    # z = mu + sigma * eps with sigma = exp(logvar / 2)
    torch.testing.assert_close(rec, binomial_log_prob(x, m.decode(mu + torch.exp(0.5 * logvar) * eps), 3))
    torch.testing.assert_close(kl, gaussian_kl_standard(mu, logvar))
    # elbo() = rec - beta * KL with the same noise, for the ELBO and for annealed weights
    for beta in (0.0, 0.3, 1.0):
        r, k = elbo_terms(m, x, generator=torch.Generator().manual_seed(5))
        torch.testing.assert_close(elbo(m, x, beta=beta, generator=torch.Generator().manual_seed(5)),
                                   r - beta * k.sum(-1))
    # gradients flow to the encoder through z = mu + sigma * eps
    (rec - kl.sum()).sum().backward()
    assert m.encoder[0].weight.grad is not None and m.encoder[0].weight.grad.abs().sum() > 0


def test_iwae_increases_with_k_and_k1_is_elbo():
    torch.manual_seed(1)
    m = VAE(5, 2, hidden=(8,), total_count=2)
    x = torch.randint(0, 3, (40, 5)).float()
    means = [iwae_bound(m, x, k, seed=3).mean() for k in (1, 10, 100)]
    assert means[0] < means[1] < means[2]
    # IWAE_1 is an unbiased single-sample ELBO estimate: compare with the analytic-KL ELBO.
    many = np.mean([iwae_bound(m, x, 1, seed=s).mean() for s in range(200)])
    ref = np.mean([evaluate_elbo(m, x, seed=s) for s in range(200)])
    assert abs(many - ref) < 0.2
    with pytest.raises(ValidationError, match="iwae_bound: `k` must be an integer >= 1"):
        iwae_bound(m, x, 0)
    with pytest.raises(ValidationError, match=r"iwae_bound: `x` must be a tensor of shape \(\*, 5\)"):
        iwae_bound(m, x[:, :3], 2)


def test_iwae_bounds_against_the_log_likelihood_by_quadrature():
    """One latent: log p(x) and the exact ELBO on a fine z grid; IWAE_1 is unbiased, IWAE_200 is tighter."""
    m = _vae_1d()
    x = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    z = torch.linspace(-12.0, 12.0, 20001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        log_joint = binomial_log_prob(x.expand(z.shape[0], 3), m.decode(z), 2) - 0.5 * z[:, 0] ** 2 \
            - 0.5 * math.log(2 * math.pi)
        dz = float(z[1, 0] - z[0, 0])
        log_px = float(torch.logsumexp(log_joint, 0)) + math.log(dz)
        mu, logvar = m.encode(x)
        log_q = torch.distributions.Normal(mu[0, 0], torch.exp(0.5 * logvar[0, 0])).log_prob(z[:, 0])
        exact_elbo = float((torch.exp(log_q) * (log_joint - log_q)).sum() * dz)
    m = m.float()
    xf = x.float()
    iwae_1 = np.array([iwae_bound(m, xf, 1, seed=s)[0] for s in range(4000)])
    se_1 = iwae_1.std(ddof=1) / math.sqrt(iwae_1.size)
    assert abs(iwae_1.mean() - exact_elbo) < 4 * se_1
    iwae_200 = np.array([iwae_bound(m, xf, 200, seed=s)[0] for s in range(200)])
    se_200 = iwae_200.std(ddof=1) / math.sqrt(iwae_200.size)
    assert iwae_1.mean() + 4 * se_1 < iwae_200.mean() <= log_px + 4 * se_200
    assert log_px - iwae_200.mean() < 0.5 * (log_px - exact_elbo)  # most of the ELBO's gap is closed
    # evaluate_elbo (analytic KL) estimates the same ELBO
    assert abs(np.mean([evaluate_elbo(m, xf, seed=s) for s in range(2000)]) - exact_elbo) < 0.05


def test_evaluate_elbo_is_the_mean_single_sample_elbo_with_its_seed():
    m = _vae_1d().float()
    x = torch.tensor([[0.0, 1.0, 2.0], [2.0, 2.0, 1.0], [1.0, 0.0, 0.0]])
    with torch.no_grad():
        rec, kl = elbo_terms(m, x, generator=torch.Generator().manual_seed(11))
    assert evaluate_elbo(m, x, seed=11) == pytest.approx(float((rec - kl.sum(-1)).double().mean()), rel=1e-6)


def test_active_units_and_kl_per_dim():
    torch.manual_seed(0)
    m = VAE(5, 3, hidden=(8,), total_count=2)
    x = torch.randint(0, 3, (50, 5)).float()
    with torch.no_grad():  # kill the third latent: its mean no longer depends on x
        m.encoder[-1].weight[2].zero_()
        m.encoder[-1].bias[2] = 0.0
        m.encoder[-1].weight[5].zero_()
        m.encoder[-1].bias[5] = 0.0
    count, act = active_units(m, x)
    assert act[2] == 0.0 and count <= 2
    kl = kl_per_dimension(m, x)
    assert kl.shape == (3,) and kl[2] == pytest.approx(0.0, abs=1e-12)
    # the definitions: activity = variance over x of the posterior means; KL averaged (not summed) over x
    with torch.no_grad():
        mu, logvar = m.encode(x)
    np.testing.assert_allclose(act, mu.double().var(0, unbiased=False).numpy(), rtol=1e-6)
    np.testing.assert_allclose(kl, gaussian_kl_standard(mu.double(), logvar.double()).mean(0).numpy(), rtol=1e-6)
    assert count == int((act > 0.01).sum())
    with pytest.raises(ValidationError, match="active_units: `threshold` must be finite and positive"):
        active_units(m, x, threshold=0.0)
    with pytest.raises(ValidationError, match="active_units: `x` must hold at least 2 images"):
        active_units(m, x[:1])


def test_kl_weight_and_device():
    assert [kl_weight(e, 3) for e in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert kl_weight(0, 0) == 1.0
    with pytest.raises(ValidationError, match="kl_weight: `warmup_epochs` must be an integer >= 0"):
        kl_weight(0, -1)
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValidationError, match="resolve_device: `device` must be one of"):
        resolve_device("tpu")


def test_digits_split_and_baseline():
    s = load_digits_split()
    assert s.x_train.shape == (1197, 64) and s.x_val.shape == (300, 64) and s.x_test.shape == (300, 64)
    assert s.x_train.max() == 16 and s.x_train.min() == 0
    base = independent_binomial_baseline(s.x_train, s.x_val, 16)
    # the documented estimate: per-pixel p = (sum of counts + 1/2) / (16 n + 1), Binomial(16, p) log-pmf
    p = (s.x_train.sum(0) + 0.5) / (16 * s.x_train.shape[0] + 1.0)
    assert base == pytest.approx(binom.logpmf(s.x_val, 16, p).sum(1).mean(), rel=1e-12)
    with pytest.raises(ValidationError, match="independent_binomial_baseline: `x_eval` must hold integers in 0..16"):
        independent_binomial_baseline(s.x_train, s.x_val + 0.5, 16)
    # the categorical baseline, recomputed pixel by pixel with a plain count of each level
    cat = independent_categorical_log_prob(s.x_train, s.x_val, 16)
    expected = np.zeros(len(s.x_val))
    for j in range(64):
        levels, counts = np.unique(s.x_train[:, j], return_counts=True)
        c = dict(zip(levels.tolist(), counts.tolist()))
        probs = np.array([(c.get(v, 0) + 0.5) / (len(s.x_train) + 0.5 * 17) for v in range(17)])
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)
        expected += np.log(probs[s.x_val[:, j]])
    assert cat.shape == (300,) and np.allclose(cat, expected, rtol=0, atol=1e-10)
    assert cat.mean() > base + 100  # these 0/16 pixels: the Binomial's shape costs most
    with pytest.raises(ValidationError, match="independent_categorical_log_prob: `x_eval` must have 64 columns"):
        independent_categorical_log_prob(s.x_train, s.x_val[:, :3], 16)
    with pytest.raises(ValidationError, match="load_digits_split: `n_val \\+ n_test` must be below 1797"):
        load_digits_split(n_val=1000, n_test=1000)


def test_kl_warmup_weight_enters_the_training_loss():
    """Same data, seed and initial weights: only the KL weight differs, so the parameters must too."""
    s = load_digits_split()
    xt = torch.tensor(s.x_train[:128], dtype=torch.float32)
    params = {}
    for warmup in (0, 3):
        torch.manual_seed(0)
        m = VAE(64, 4, hidden=(16,))
        h = train_vae(m, xt, epochs=2, batch_size=64, lr=1e-2, seed=0, warmup_epochs=warmup)
        assert h.beta == ([1.0, 1.0] if warmup == 0 else [0.25, 0.5])
        params[warmup] = torch.cat([p.detach().ravel() for p in m.parameters()])
    assert not torch.allclose(params[0], params[3], atol=1e-4)


def test_training_improves_elbo_over_baseline():
    s = load_digits_split()
    torch.manual_seed(0)
    m = VAE(64, 4, hidden=(64,))
    xt, xv = torch.tensor(s.x_train, dtype=torch.float32), torch.tensor(s.x_val, dtype=torch.float32)
    h = train_vae(m, xt, xv, epochs=15, batch_size=64, lr=3e-3)
    assert len(h.val_elbo) == 15 and h.val_elbo[-1] > h.val_elbo[0]
    assert h.val_elbo[-1] > independent_binomial_baseline(s.x_train, s.x_val, 16)
    assert math.isfinite(h.train_elbo[-1])
    with pytest.raises(ValidationError, match="train_vae: `batch_size` must be at most"):
        train_vae(m, xt[:10], epochs=1, batch_size=64)
    with pytest.raises(ValidationError, match="train_vae: `epochs` must be an integer >= 1"):
        train_vae(m, xt, epochs=0)
    with pytest.raises(ValidationError, match="train_vae: `x_train` must be a tensor of shape"):
        train_vae(m, s.x_train, epochs=1)
    with pytest.raises(ValidationError, match="evaluate_elbo: `x` must be a torch tensor; received ndarray"):
        evaluate_elbo(m, s.x_val)


def test_each_epoch_draws_new_batches_and_train_elbo_is_per_image():
    s = load_digits_split()
    xt = torch.tensor(s.x_train[:256], dtype=torch.float32)
    torch.manual_seed(0)
    m = VAE(64, 3, hidden=(16,))
    before = [p.detach().clone() for p in m.parameters()]
    # lr = 1e-30: Adam's steps are below float32 resolution, so the parameters stay fixed and the two
    # epochs differ only through their batches and noise
    h = train_vae(m, xt, epochs=2, batch_size=32, lr=1e-30, seed=5)
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    assert h.train_elbo[0] != h.train_elbo[1]  # same generator every epoch would repeat them exactly
    ref = evaluate_elbo(m, xt, seed=123)  # nats per image on the same images, other noise
    for value in h.train_elbo:
        assert value == pytest.approx(ref, rel=0.01)


def test_digits_split_is_a_seeded_partition():
    d = load_digits()
    s = load_digits_split(seed=0)
    parts = [np.column_stack([x, y]) for x, y in ((s.x_train, s.y_train), (s.x_val, s.y_val), (s.x_test, s.y_test))]
    allrows = np.concatenate(parts)
    ref = np.column_stack([d.data.astype(np.int64), d.target])
    # every image exactly once: the multiset of (pixels, label) rows equals the data set
    np.testing.assert_array_equal(allrows[np.lexsort(allrows.T)], ref[np.lexsort(ref.T)])
    assert not np.array_equal(s.x_test, ref[:300, :64])  # shuffled, not the file order
    again, other = load_digits_split(seed=0), load_digits_split(seed=1)
    np.testing.assert_array_equal(again.x_test, s.x_test)
    assert not np.array_equal(other.x_test, s.x_test)

