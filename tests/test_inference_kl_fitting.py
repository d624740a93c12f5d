"""Tests for vi_lib.inference.kl_fitting: optima vs closed forms, quadrature accuracy, validation."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from vi_lib import (
    ValidationError,
    fit_forward_kl_gaussian,
    fit_mean_field_gaussian,
    fit_reverse_kl_gaussian,
    kl_integrands,
    kl_mvn,
    mean_field_gaussian_forward,
    mean_field_gaussian_reverse,
    mixture_log_pdf,
    reverse_kl_gradient,
    reverse_kl_hessian,
    reverse_kl_stationary_point,
    reverse_kl_to_mixture,
)

W, M, S = np.array([0.3, 0.7]), np.array([-3.0, 2.0]), np.array([1.0, 0.5])


def test_mixture_log_pdf_normalised():
    val, _ = quad(lambda x: np.exp(mixture_log_pdf(np.array(x), W, M, S)), -30, 30, points=[-3, 2], limit=200)
    assert val == pytest.approx(1.0, abs=1e-10)


def test_forward_fit_matches_moments_by_quadrature():
    mu, sd = fit_forward_kl_gaussian(W, M, S)
    pdf = lambda x: np.exp(mixture_log_pdf(np.array(x), W, M, S))  # noqa: E731
    m1 = quad(lambda x: x * pdf(x), -30, 30, points=[-3, 2], limit=200)[0]
    m2 = quad(lambda x: (x - m1) ** 2 * pdf(x), -30, 30, points=[-3, 2], limit=200)[0]
    assert mu == pytest.approx(m1, abs=1e-9) and sd == pytest.approx(np.sqrt(m2), rel=1e-9)


def test_reverse_kl_quadrature_vs_adaptive():
    for mean, std in [(-3.0, 1.0), (0.0, 3.0), (2.0, 0.4)]:
        ref = quad(lambda x, a=mean, b=std: kl_integrands(np.array([x]), W, M, S, a, b)[1][0],
                   mean - 12 * std, mean + 12 * std, points=[-3, 2], limit=400, epsabs=1e-13)[0]
        assert reverse_kl_to_mixture(mean, std, W, M, S) == pytest.approx(ref, abs=1e-8)


def test_forward_kl_integrand_integrates_to_the_forward_kl():
    # independent reference: p log(p / q) from scipy densities, integrated adaptively
    def p(x):
        return np.sum(W * norm.pdf(x, M, S))

    for mean, std in [(0.5, 2.0), (-3.0, 1.0)]:
        ours = quad(lambda x, a=mean, b=std: kl_integrands(np.array([x]), W, M, S, a, b)[0][0],
                    -30, 30, points=[-3, 2], limit=400)[0]
        ref = quad(lambda x, a=mean, b=std: p(x) * (np.log(p(x)) - norm.logpdf(x, a, b)) if p(x) > 0 else 0.0,
                   -30, 30, points=[-3, 2], limit=400)[0]
        assert ours == pytest.approx(ref, abs=1e-8) and ours > 0


def test_reverse_kl_gradient_finite_difference():
    h = 1e-6
    g = reverse_kl_gradient(0.5, 1.5, W, M, S)
    fd0 = (reverse_kl_to_mixture(0.5 + h, 1.5, W, M, S) - reverse_kl_to_mixture(0.5 - h, 1.5, W, M, S)) / (2 * h)
    fd1 = (reverse_kl_to_mixture(0.5, 1.5 * np.exp(h), W, M, S)
           - reverse_kl_to_mixture(0.5, 1.5 * np.exp(-h), W, M, S)) / (2 * h)
    assert g == pytest.approx([fd0, fd1], abs=1e-6)


def test_reverse_fit_gaussian_target_is_exact():
    fit = fit_reverse_kl_gaussian([1.0], [1.5], [0.7], 0.0, 2.0)
    assert fit.converged and fit.mean == pytest.approx(1.5, abs=1e-7) and fit.std == pytest.approx(0.7, rel=1e-7)
    assert fit.kl == pytest.approx(0.0, abs=1e-12)


def test_reverse_fit_mode_seeking():
    fit = fit_reverse_kl_gaussian([0.5, 0.5], [-5.0, 5.0], [1.0, 1.0], 4.0, 1.0)
    assert fit.converged and abs(fit.mean - 5.0) < 1e-3 and fit.kl == pytest.approx(np.log(2), abs=1e-4)


def test_stationary_point_finds_saddle_between_minima():
    w, m, s = [0.5, 0.5], [-3.0, 3.0], [1.0, 1.0]
    saddle = reverse_kl_stationary_point(w, m, s, 1.5, 1.5)
    assert saddle.converged
    eig = np.linalg.eigvalsh(reverse_kl_hessian(saddle.mean, saddle.std, w, m, s))
    assert eig[0] < 0 < eig[1]
    minima = [fit_reverse_kl_gaussian(w, m, s, m0, s0) for m0, s0 in [(5.0, 0.5), (0.5, 3.0)]]
    # a mountain-pass point lies above both minima it separates
    assert saddle.kl > max(f.kl for f in minima)
    # mirror symmetry of the target
    mirror = reverse_kl_stationary_point(w, m, s, -1.5, 1.5)
    assert mirror.mean == pytest.approx(-saddle.mean, abs=1e-8) and mirror.std == pytest.approx(saddle.std, rel=1e-8)


def test_stationary_point_gaussian_target_is_exact():
    fit = reverse_kl_stationary_point([1.0], [1.5], [0.7], 0.5, 1.5)
    assert fit.converged and fit.mean == pytest.approx(1.5, abs=1e-8) and fit.std == pytest.approx(0.7, rel=1e-8)


def test_mean_field_optima():
    mu = np.array([1.0, -2.0, 0.5])
    a = np.array([[1.0, 0.6, 0.2], [0.6, 2.0, -0.4], [0.2, -0.4, 1.5]])
    m_r, v_r = mean_field_gaussian_reverse(mu, a)
    m_f, v_f = mean_field_gaussian_forward(mu, a)
    fr, ff = fit_mean_field_gaussian(mu, a, "reverse"), fit_mean_field_gaussian(mu, a, "forward")
    assert fr.converged and ff.converged
    np.testing.assert_allclose(fr.mean, m_r, atol=1e-6)
    np.testing.assert_allclose(fr.var, v_r, atol=1e-6)
    np.testing.assert_allclose(ff.mean, m_f, atol=1e-6)
    np.testing.assert_allclose(ff.var, v_f, atol=1e-6)
    assert np.all(v_r <= np.diag(a) + 1e-12)
    # the reported KLs, in the right directions: reverse KL(q || p), forward KL(p || q)
    assert fr.kl == pytest.approx(kl_mvn(m_r, np.diag(v_r), mu, a), abs=1e-10)
    assert ff.kl == pytest.approx(kl_mvn(mu, a, m_f, np.diag(v_f)), abs=1e-10)
    assert fr.kl != pytest.approx(kl_mvn(mu, a, m_r, np.diag(v_r)), abs=1e-3)  # the directions differ here


def test_validation():
    with pytest.raises(ValidationError, match=r"fit_forward_kl_gaussian: `weights` must be a probability vector "
                                              r".* received entries summing to 1\.1 "):
        fit_forward_kl_gaussian([0.5, 0.6], [0, 1], [1, 1])
    with pytest.raises(ValidationError, match=r"mixture_log_pdf: `stds` must be finite and positive"):
        mixture_log_pdf(0.0, [0.5, 0.5], [0, 1], [1, 0])
    with pytest.raises(ValidationError, match=r"mixture_log_pdf: `means` must be of shape \(2,\)"):
        mixture_log_pdf(0.0, [0.5, 0.5], [0, 1, 2], [1, 1])
    with pytest.raises(ValidationError, match=r"fit_reverse_kl_gaussian: `init_std` must be finite and positive"):
        fit_reverse_kl_gaussian([1.0], [0.0], [1.0], 0.0, 0.0)
    with pytest.raises(ValidationError, match=r"fit_reverse_kl_gaussian: `gtol` must be finite and positive"):
        fit_reverse_kl_gaussian([1.0], [0.0], [1.0], 0.0, 1.0, gtol=0.0)
    with pytest.raises(ValidationError, match=r"fit_reverse_kl_gaussian: `n_panels` must be an integer >= 2"):
        fit_reverse_kl_gaussian([1.0], [0.0], [1.0], 0.0, 1.0, n_panels=1)
    with pytest.raises(ValidationError, match=r"reverse_kl_stationary_point: `init_mean` must be finite"):
        reverse_kl_stationary_point([1.0], [0.0], [1.0], np.nan, 1.0)
    with pytest.raises(ValidationError, match=r"reverse_kl_hessian: `mean` must be finite"):
        reverse_kl_hessian(np.inf, 1.0, [1.0], [0.0], [1.0])
    with pytest.raises(ValidationError, match=r"reverse_kl_hessian: `weights` must be a probability vector "
                                              r".* received entries summing to 0\.4 "):
        reverse_kl_hessian(0.0, 1.0, [0.4], [0.0], [1.0])
    with pytest.raises(ValidationError, match=r"kl_integrands: `q_std` must be finite and positive"):
        kl_integrands(np.zeros(3), [1.0], [0.0], [1.0], 0.0, -2.0)
    with pytest.raises(ValidationError, match=r"reverse_kl_to_mixture: `std` must be finite and positive"):
        reverse_kl_to_mixture(0.0, -1.0, [1.0], [0.0], [1.0])
    with pytest.raises(ValidationError, match=r"mean_field_gaussian_reverse: `cov` must be positive definite"):
        mean_field_gaussian_reverse([0, 0], [[1, 2], [2, 1]])
    with pytest.raises(ValidationError, match=r"fit_mean_field_gaussian: `direction` must be 'reverse' or 'forward'"):
        fit_mean_field_gaussian([0, 0], np.eye(2), "sideways")
    with pytest.raises(ValidationError, match=r"mean_field_gaussian_forward: `cov` must be of shape \(2, 2\)"):
        mean_field_gaussian_forward([0, 0], np.eye(3))


MU, SIG = 1.5, 0.7


@pytest.mark.parametrize("m, s", [(0.3, 1.2), (MU, SIG), (-1.0, 0.4)])
def test_hessian_of_kl_to_a_gaussian_is_closed_form(m, s):
    """KL(N(m, e^{2l}) || N(mu, sig^2)) = log sig - l + (e^{2l} + (m - mu)^2) / (2 sig^2) - 1/2, so in
    (m, l = log s) the Hessian is diag(1 / sig^2, 2 s^2 / sig^2) with zero cross term."""
    h = reverse_kl_hessian(m, s, [1.0], [MU], [SIG])
    np.testing.assert_allclose(h, np.diag([1.0 / SIG**2, 2.0 * s**2 / SIG**2]), rtol=1e-5, atol=1e-7)


def test_loose_gtol_stops_early_and_reports_not_converged():
    """`converged` means gradient norm < 1e-6; the closed-form gradient of the Gaussian-target KL in
    (m, log s) is ((m - mu) / sig^2, s^2 / sig^2 - 1)."""
    fit = fit_reverse_kl_gaussian([1.0], [MU], [SIG], -3.0, 4.0, gtol=1e-1)
    gnorm = np.hypot((fit.mean - MU) / SIG**2, fit.std**2 / SIG**2 - 1.0)
    assert gnorm > 1e-6  # gtol is honoured: BFGS stopped well short of the optimum
    assert fit.converged is False
    tight = fit_reverse_kl_gaussian([1.0], [MU], [SIG], -3.0, 4.0)
    assert tight.converged and np.hypot((tight.mean - MU) / SIG**2, tight.std**2 / SIG**2 - 1.0) < 1e-6

