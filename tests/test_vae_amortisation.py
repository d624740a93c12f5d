"""Tests for the IWAE objective and training, the amortisation gaps and the gradient SNR (vi_lib.vae)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vi_lib import ValidationError
from vi_lib.vae import (
    VAE,
    amortisation_gaps,
    binomial_log_prob,
    elbo,
    gradient_snr,
    iwae_bound,
    iwae_objective,
    load_digits_split,
    train_vae,
)


@pytest.fixture(scope="module")
def digits():
    split = load_digits_split(seed=0)
    return (torch.tensor(split.x_train, dtype=torch.float32), torch.tensor(split.x_test, dtype=torch.float32),
            split.total_count)


@pytest.fixture(scope="module")
def trained(digits):
    x_train, _, n = digits
    torch.manual_seed(0)
    model = VAE(64, 4, hidden=(32,), total_count=n)
    train_vae(model, x_train, epochs=15, batch_size=64, lr=2e-3, seed=0)
    return model


def test_iwae_objective_agrees_with_iwae_bound_and_with_the_elbo_at_k1(digits, trained):
    _, x_test, _ = digits
    x = x_test[:50]
    with torch.no_grad():
        reps = torch.stack([iwae_objective(trained, x, 10, generator=torch.Generator().manual_seed(s))
                            for s in range(200)]).double()
        ours = reps.mean(0).numpy()
        ref = np.mean([iwae_bound(trained, x, 10, seed=1000 + s) for s in range(200)], axis=0)
        se = reps.std(0).numpy() / math.sqrt(200)
        # the two estimators of L_10 (independent code paths) agree image by image
        assert np.all(np.abs(ours - ref) < 5 * se * math.sqrt(2) + 1e-3)
        # K = 1: same expectation as the ELBO with the analytic KL
        k1 = torch.stack([iwae_objective(trained, x, 1, generator=torch.Generator().manual_seed(s))
                          for s in range(400)]).double()
        el = torch.stack([elbo(trained, x, generator=torch.Generator().manual_seed(s)) for s in range(400)]).double()
        diff = (k1.mean(0) - el.mean(0)).mean()
        se_diff = math.sqrt((k1.var(0).mean() + el.var(0).mean()) / 400 / 50)
        assert abs(float(diff)) < 5 * se_diff
        # and L_10 > L_1 on average
        assert ours.mean() > k1.mean().item()


def test_iwae_objective_has_gradients_for_both_networks(digits, trained):
    _, x_test, _ = digits
    trained.zero_grad(set_to_none=True)
    iwae_objective(trained, x_test[:8], 5, generator=torch.Generator().manual_seed(0)).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trained.parameters())
    trained.zero_grad(set_to_none=True)


def test_training_on_the_iwae_bound_raises_the_test_bound(digits):
    x_train, x_test, n = digits
    torch.manual_seed(0)
    model = VAE(64, 4, hidden=(32,), total_count=n)
    before = iwae_bound(model, x_test, 50, seed=0).mean()
    history = train_vae(model, x_train, epochs=5, batch_size=64, lr=2e-3, seed=0, iwae_k=5)
    after = iwae_bound(model, x_test, 50, seed=0).mean()
    assert after > before + 50 and len(history.train_elbo) == 5


def test_iwae_training_resumes_only_with_the_same_k(digits, tmp_path):
    x_train, _, n = digits
    torch.manual_seed(0)
    model = VAE(64, 2, hidden=(8,), total_count=n)
    train_vae(model, x_train, epochs=1, batch_size=256, seed=0, iwae_k=3, checkpoint_dir=tmp_path)
    with pytest.raises(ValidationError, match=r"^train_vae: the training settings must match the checkpoint's"):
        train_vae(model, x_train, epochs=2, batch_size=256, seed=0, iwae_k=4, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValidationError, match=r"^train_vae: `warmup_epochs` must be 0 when `iwae_k` > 1"):
        train_vae(model, x_train, epochs=1, batch_size=256, warmup_epochs=2, iwae_k=3)


def test_amortisation_gaps_when_the_posterior_is_the_prior(digits):
    """A decoder that ignores z makes the posterior equal to the prior, exactly: q* -> N(0, I),
    the approximation gap is zero and log p(x) is the decoder's log-likelihood."""
    _, x_test, n = digits
    torch.manual_seed(0)
    model = VAE(64, 3, hidden=(16,), total_count=n)
    with torch.no_grad():
        last = model.decoder[-1]
        model.decoder[0].weight.zero_()  # the decoder's output no longer depends on z
        before = [p.clone() for p in model.parameters()]
    x = x_test[:20]
    gaps = amortisation_gaps(model, x, n_steps=400, lr=0.05, n_samples=16, n_eval=400, k_eval=200, seed=0)
    with torch.no_grad():
        exact = binomial_log_prob(x, last(torch.tanh(model.decoder[0].bias)).expand(20, 64), n).double().numpy()
    np.testing.assert_allclose(gaps.log_px, exact, atol=1e-4)
    assert np.max(np.abs(gaps.mu)) < 0.05 and np.max(np.abs(gaps.logvar)) < 0.05
    assert np.all(np.abs(gaps.approximation_gap) < 0.01)
    assert np.all(gaps.amortisation_gap > -0.01)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.requires_grad for p in model.parameters())


def test_amortisation_gaps_on_a_trained_model_are_ordered(digits, trained):
    _, x_test, _ = digits
    gaps = amortisation_gaps(trained, x_test[:40], n_steps=200, seed=1)
    assert gaps.amortisation_gap.mean() > 0 and gaps.approximation_gap.mean() > 0
    assert gaps.elbo_optimised.mean() > gaps.elbo_encoder.mean()


def test_gradient_snr_of_the_decoder_grows_with_k(digits, trained):
    _, x_test, _ = digits
    small = gradient_snr(trained, x_test[:1], 1, n_reps=100, seed=0)
    large = gradient_snr(trained, x_test[:1], 100, n_reps=100, seed=0)
    assert large.decoder > 1.3 * small.decoder
    assert small.encoder > 0 and large.k == 100 and large.n_reps == 100
    assert all(p.grad is None for p in trained.parameters())


def test_validation_messages(digits, trained):
    _, x_test, _ = digits
    with pytest.raises(ValidationError, match=r"^iwae_objective: `k` must be"):
        iwae_objective(trained, x_test[:2], 0)
    with pytest.raises(ValidationError, match=r"^gradient_snr: `n_reps` must be"):
        gradient_snr(trained, x_test[:2], 2, n_reps=1)
    with pytest.raises(ValidationError, match=r"^amortisation_gaps: `lr` must be"):
        amortisation_gaps(trained, x_test[:2], lr=1e300, n_steps=1)
