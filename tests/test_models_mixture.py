"""Tests for vi_lib.models.mixture: exact enumeration of the mixture evidence vs independent quadrature."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import dblquad, trapezoid

from vi_lib import (
    NormalNormal,
    ValidationError,
    gmm_log_evidence_exact,
    gmm_log_evidence_grid_k2,
    gmm_num_assignments,
)

M0, S0, SIG = 0.0, 2.0, 1.0


def _data(rng, n):
    return np.where(rng.random(n) < 0.5, -2.0, 2.0) + SIG * rng.standard_normal(n)


def test_k1_is_the_normal_normal_evidence(rng):
    x = _data(rng, 7)
    assert gmm_log_evidence_exact(x, 1, M0, S0, SIG) == pytest.approx(NormalNormal(M0, S0, SIG).log_evidence(x),
                                                                     rel=1e-12)


def test_enumeration_matches_an_itertools_loop(rng):
    """Independent re-implementation: loop over itertools.product with NormalNormal per cluster."""
    x = _data(rng, 5)
    nn = NormalNormal(M0, S0, SIG)
    terms = []
    for labels in itertools.product(range(3), repeat=5):
        lab = np.array(labels)
        terms.append(sum(nn.log_evidence(x[lab == k]) for k in range(3) if np.any(lab == k)) - 5 * np.log(3))
    ref = np.logaddexp.reduce(terms)
    assert gmm_log_evidence_exact(x, 3, M0, S0, SIG, chunk_size=17) == pytest.approx(ref, rel=1e-12)


def test_enumeration_matches_grid_quadrature_k2(rng):
    x = _data(rng, 10)
    exact = gmm_log_evidence_exact(x, 2, M0, S0, SIG)
    grid = gmm_log_evidence_grid_k2(x, M0, S0, SIG)
    assert grid.rel_error < 1e-8
    assert np.expm1(grid.log_evidence - exact) == pytest.approx(0.0, abs=1e-8)


def test_enumeration_matches_dblquad_k2(rng):
    x = _data(rng, 3)

    c_lik, c_pri = 1.0 / np.sqrt(2 * np.pi * SIG**2), 1.0 / np.sqrt(2 * np.pi * S0**2)

    def f(m2, m1):
        p = 0.5 * np.exp(-0.5 * ((x - m1) / SIG) ** 2) + 0.5 * np.exp(-0.5 * ((x - m2) / SIG) ** 2)
        return np.prod(c_lik * p) * c_pri**2 * np.exp(-0.5 * ((m1 - M0) / S0) ** 2 - 0.5 * ((m2 - M0) / S0) ** 2)

    val, _ = dblquad(f, -16, 16, -16, 16, epsabs=0.0, epsrel=1e-9)
    assert np.log(val) == pytest.approx(gmm_log_evidence_exact(x, 2, M0, S0, SIG), abs=1e-6)


def test_mixture_evidence_by_prior_sampling_within_standard_errors(rng):
    x = _data(rng, 4)
    mu = M0 + S0 * rng.standard_normal((200_000, 2))
    lik = np.prod(0.5 * stats.norm.pdf(x[None, :], mu[:, :1], SIG) + 0.5 * stats.norm.pdf(x[None, :], mu[:, 1:], SIG),
                  axis=1)
    exact = np.exp(gmm_log_evidence_exact(x, 2, M0, S0, SIG))
    assert abs(lik.mean() - exact) < 4 * lik.std(ddof=1) / np.sqrt(lik.size)


def test_num_assignments():
    assert gmm_num_assignments(10, 2) == 1024
    assert gmm_num_assignments(30, 3) == 3**30


def test_validation_messages(rng):
    x = _data(rng, 4)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `K` must be an integer >= 1"):
        gmm_log_evidence_exact(x, 0, M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: enumerating K\*\*n = 2\*\*30"):
        gmm_log_evidence_exact(np.zeros(30), 2, M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `prior_std` must be finite and positive"):
        gmm_log_evidence_exact(x, 2, M0, -1.0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `noise_std` must be finite and positive"):
        gmm_log_evidence_exact(x, 2, M0, S0, 0.0)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `x` must be non-empty"):
        gmm_log_evidence_exact([], 2, M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `x` must be a 1-D array"):
        gmm_log_evidence_exact(np.zeros((2, 2)), 2, M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `K` must be an integer"):
        gmm_log_evidence_exact(x, 2.0, M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_grid_k2: `points` must be odd"):
        gmm_log_evidence_grid_k2(x, M0, S0, SIG, points=100)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_grid_k2: `x` must be finite"):
        gmm_log_evidence_grid_k2(np.array([np.nan]), M0, S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_num_assignments: `K` must be an integer >= 1"):
        gmm_num_assignments(3, 0)


def test_more_validation_messages(rng):
    x = _data(rng, 4)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `prior_mean` must be a scalar"):
        gmm_log_evidence_exact(x, 2, [0.0, 1.0], S0, SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_exact: `prior_std` must be a scalar"):
        gmm_log_evidence_exact(x, 2, M0, [1.0, 2.0], SIG)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_grid_k2: `half_width` must be finite and positive"):
        gmm_log_evidence_grid_k2(x, M0, S0, SIG, half_width=0.0)
    with pytest.raises(ValidationError, match=r"gmm_log_evidence_grid_k2: `points` must be an integer >= 5"):
        gmm_log_evidence_grid_k2(x, M0, S0, SIG, points=3)


def _trapezoid_evidence(x, points, half_width=10.0):
    """Independent 2-D trapezoidal rule with scipy densities (no log space needed at n = 10)."""
    g = np.linspace(M0 - half_width * S0, M0 + half_width * S0, points)
    m1, m2 = np.meshgrid(g, g, indexing="ij")
    lik = np.prod(0.5 * stats.norm.pdf(x[None, None, :], m1[..., None], SIG)
                  + 0.5 * stats.norm.pdf(x[None, None, :], m2[..., None], SIG), axis=-1)
    f = stats.norm.pdf(m1, M0, S0) * stats.norm.pdf(m2, M0, S0) * lik
    return trapezoid(trapezoid(f, g, axis=1), g)


def test_rel_error_is_the_change_against_the_coarser_grid():
    rng = np.random.default_rng(1)
    x = np.where(rng.random(10) < 0.5, -2.0, 2.0) + SIG * rng.standard_normal(10)
    exact = np.exp(gmm_log_evidence_exact(x, 2, M0, S0, SIG))
    res = gmm_log_evidence_grid_k2(x, M0, S0, SIG, points=101)  # spacing 0.4; its coarse grid has 51 points
    coarse = _trapezoid_evidence(x, 51)
    # the fine grid is accurate, the coarse one is not: rel_error must report the coarse grid's error
    assert np.exp(res.log_evidence) == pytest.approx(exact, rel=1e-8)
    assert abs(coarse / exact - 1.0) > 1e-3
    assert res.rel_error == pytest.approx(abs(coarse / exact - 1.0), rel=1e-4)

