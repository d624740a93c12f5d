"""Convergence and importance-sampling diagnostics: behaviour, and agreement with arviz-stats."""


from __future__ import annotations

import numpy as np
import pytest
from arviz_stats.base import array_stats

from vi_lib import (
    ValidationError,
    effective_sample_size,
    importance_diagnostics,
    split_rhat,
    summarize_log_weights,
)


def test_rhat_and_ess_on_known_chains():
    rng = np.random.default_rng(0)
    iid = rng.standard_normal((4, 2000, 2))
    assert np.all(np.abs(split_rhat(iid) - 1) < 0.01)
    ess = effective_sample_size(iid)
    assert np.all((ess > 6000) & (ess < 10000))
    # AR(1) with coefficient 0.9: ESS ~ N (1 - 0.9) / (1 + 0.9)
    ar = np.zeros((4, 4000))
    e = rng.standard_normal((4, 4000))
    for t in range(1, 4000):
        ar[:, t] = 0.9 * ar[:, t - 1] + e[:, t]
    ess_ar = effective_sample_size(ar)[0]
    expected = 16000 * 0.1 / 1.9
    assert 0.6 * expected < ess_ar < 1.5 * expected
    # chains stuck in different places are flagged: the 8 half-chains of unit-variance noise have means
    # 0, 0, 1, 1, 2, 2, 3, 3 (sample variance 10/7), so R-hat ~ sqrt(1 + 10/7) = 1.558
    shifted = iid + np.arange(4)[:, None, None]
    np.testing.assert_allclose(split_rhat(shifted), np.sqrt(1 + 10 / 7), atol=0.03)
    # ... and the multi-chain ESS (BDA3: var+ = W (n-1)/n + B/n) sees that they carry almost no
    # information about the common mean, unlike the agreeing chains above
    assert np.all(effective_sample_size(shifted) < 50)


def test_split_rhat_follows_the_bda3_formula():
    # Two chains of 4 split into four halves of n = 2 (Gelman et al., BDA3, section 11.4).
    chains = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 5.0, 4.0]])
    halves = np.array([[0.0, 1.0], [2.0, 3.0], [1.0, 2.0], [5.0, 4.0]])
    within = halves.var(axis=1, ddof=1).mean()
    between_over_n = halves.mean(axis=1).var(ddof=1)
    expected = np.sqrt(((2 - 1) / 2 * within + between_over_n) / within)
    assert split_rhat(chains)[0] == pytest.approx(expected, rel=1e-12)


def _disagreeing_and_iid_chains(rng: np.random.Generator) -> list[np.ndarray]:
    iid = rng.standard_normal((4, 500, 3))
    ar = np.empty((4, 500, 1))
    ar[:, 0] = rng.standard_normal((4, 1))
    for t in range(1, 500):
        ar[:, t] = 0.9 * ar[:, t - 1] + np.sqrt(1 - 0.81) * rng.standard_normal((4, 1))
    shifted = iid + np.arange(4)[:, None, None]
    return [iid, ar, shifted, iid[:, :, 0]]


def test_wrappers_are_arviz_stats_on_the_same_arrays(rng):
    """The wrappers only validate and fix the axes: (C, N, D) in, arviz's (chain, draw) reductions out."""
    for chains in _disagreeing_and_iid_chains(rng):
        arr = chains if chains.ndim == 3 else chains[:, :, None]
        np.testing.assert_array_equal(
            split_rhat(chains), array_stats.rhat(arr, chain_axis=0, draw_axis=1, method="split")
        )
        np.testing.assert_array_equal(
            effective_sample_size(chains), array_stats.ess(arr, chain_axis=0, draw_axis=1, method="identity")
        )
        assert split_rhat(chains).shape == effective_sample_size(chains).shape == (arr.shape[2],)


def _gaussian_log_weights(rng: np.random.Generator, proposal_std: float, n: int = 4000) -> np.ndarray:
    """log N(z; 0, 1) - log N(z; 0, s^2) at z ~ N(0, s^2): the weights of a Gaussian proposal for a Gaussian target."""
    z = proposal_std * rng.standard_normal(n)
    return -0.5 * z**2 + 0.5 * (z / proposal_std) ** 2 + np.log(proposal_std)


def test_khat_is_small_for_a_wide_proposal_and_large_for_a_narrow_one(rng):
    """A proposal wider than the target has bounded weights (k < 0.5); one of a quarter of the target's width
    has weights with Pareto tail index 16/15 (k = 0.94 in theory), so k-hat exceeds 0.7."""
    wide = importance_diagnostics(_gaussian_log_weights(rng, 1.2))
    narrow = [importance_diagnostics(_gaussian_log_weights(rng, 0.25)) for _ in range(5)]
    assert wide.khat < 0.5 and wide.n_draws == 4000
    # k-hat from the largest ~190 of 4000 weights is noisy (and biased low); the median of five is not.
    assert np.median([d.khat for d in narrow]) > 0.7
    assert wide.ess > 0.8 * wide.n_draws and max(d.ess for d in narrow) < wide.ess


def test_importance_diagnostics_agree_with_arviz_and_summarize_log_weights(rng):
    lw = _gaussian_log_weights(rng, 0.8, n=1000) + 3.0
    diag = importance_diagnostics(lw)
    _, khat = array_stats.psislw(-lw, r_eff=1.0)
    assert diag.khat == float(khat)
    assert diag.ess == summarize_log_weights(lw).ess
    w = np.exp(lw - lw.max())
    assert diag.ess == pytest.approx(w.sum() ** 2 / np.sum(w**2), rel=1e-12)
    assert importance_diagnostics(lw - 50.0).khat == pytest.approx(diag.khat, abs=1e-9)  # shift invariant


def test_importance_diagnostics_validation():
    with pytest.raises(ValidationError, match=r"importance_diagnostics: `log_weights` must have at least 20 entries"):
        importance_diagnostics(np.zeros(19))
    with pytest.raises(ValidationError, match=r"importance_diagnostics: `log_weights` must be finite"):
        importance_diagnostics(np.r_[np.zeros(30), -np.inf])
    with pytest.raises(ValidationError, match=r"importance_diagnostics: `log_weights` must be a 1-D array"):
        importance_diagnostics(np.zeros((5, 5)))
