"""Bayesian logistic regression: data, log joint, predictions and a reference posterior.

Model: :math:`y_n \\sim \\operatorname{Bernoulli}(\\operatorname{sigmoid}(x_n^\\top z))` with prior
:math:`z \\sim \\mathcal{N}(0, s^2 I)`. The reference posterior is computed independently of VI by
Hamiltonian Monte Carlo, preconditioned with the Laplace approximation, with split-:math:`\\hat R`
and effective-sample-size diagnostics.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from ._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_probability,
    check_shape,
    describe,
)
from .gradients import _check_rng

__all__ = [
    "LogisticData",
    "load_breast_cancer_data",
    "BayesianLogisticRegression",
    "laplace_approximation",
    "hmc_sample",
    "split_rhat",
    "effective_sample_size",
    "reference_posterior",
    "ReferencePosterior",
    "predictive_probability",
    "predictive_accuracy",
]

_LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class LogisticData:
    """A fixed train/test split with standardised features and an intercept column.

    Attributes
    ----------
    X_train : numpy.ndarray of shape (N_train, D)
        Training design matrix; column 0 is the intercept (all ones).
    y_train : numpy.ndarray of shape (N_train,)
        Training labels in {0, 1}.
    X_test : numpy.ndarray of shape (N_test, D)
        Test design matrix, standardised with the training means and standard deviations.
    y_test : numpy.ndarray of shape (N_test,)
        Test labels in {0, 1}.
    feature_names : tuple of str
        Names of the D columns (``"intercept"`` first).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]


def load_breast_cancer_data(test_fraction: float = 0.3, seed: int = 0) -> LogisticData:
    """Load scikit-learn's breast-cancer data set with a fixed, stratified train/test split.

    Features are standardised with the training set's mean and standard deviation (no test
    information leaks into training), then an intercept column of ones is prepended. The data ship
    with scikit-learn, so no network access is needed.

    Parameters
    ----------
    test_fraction : float
        Fraction of the 569 cases held out, in (0, 1).
    seed : int
        Seed of the split.

    Returns
    -------
    LogisticData
        The split data (D = 31 columns including the intercept).

    References
    ----------
    bishop2006pattern

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "load_breast_cancer_data"
    test_fraction = check_probability("test_fraction", test_fraction, open_interval=True, where=where)
    seed = check_int("seed", seed, minimum=0, where=where)
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    X, y = data.data.astype(np.float64), data.target.astype(np.float64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_fraction, random_state=seed, stratify=y)
    mu, sd = X_tr.mean(axis=0), X_tr.std(axis=0)
    X_tr, X_te = (X_tr - mu) / sd, (X_te - mu) / sd
    X_tr = np.column_stack([np.ones(len(X_tr)), X_tr])
    X_te = np.column_stack([np.ones(len(X_te)), X_te])
    names = ("intercept",) + tuple(str(n) for n in data.feature_names)
    return LogisticData(X_tr, y_tr, X_te, y_te, names)


@dataclass(frozen=True, eq=False)
class BayesianLogisticRegression:
    """Log joint of Bayesian logistic regression and its gradient, vectorised over samples.

    .. math::

        \\log p(y, z \\mid X) &= \\sum_{n=1}^N \\bigl(y_n \\eta_n - \\log(1 + e^{\\eta_n})\\bigr)
        - \\frac{\\lVert z \\rVert^2}{2 s^2} - \\frac{D}{2} \\log(2 \\pi s^2), \\\\
        \\eta_n &= x_n^\\top z,

    with :math:`\\log(1 + e^{\\eta})` computed as ``logaddexp(0, eta)`` (no overflow), and gradient
    :math:`\\nabla_z \\log p = X^\\top (y - \\operatorname{sigmoid}(\\eta)) - z / s^2`.

    Parameters
    ----------
    X : array of shape (N, D)
        Design matrix (finite).
    y : array of shape (N,)
        Labels, each 0 or 1.
    prior_std : float
        Prior standard deviation s of every coefficient (positive).

    References
    ----------
    bishop2006pattern, ranganath2014black

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """

    X: np.ndarray
    y: np.ndarray
    prior_std: float = 1.0

    def __post_init__(self) -> None:
        where = "BayesianLogisticRegression"
        X = check_finite("X", as_array("X", self.X, ndim=2, where=where), where=where)
        if X.size == 0:
            raise ValidationError(f"{where}: `X` must be non-empty; received an empty array.")
        y = check_shape("y", self.y, (X.shape[0],), where=where)
        if not np.all((y == 0) | (y == 1)):
            raise ValidationError(
                f"{where}: `y` must contain only 0 and 1; received values {np.unique(y)[:5]!r}."
            )
        s = check_positive("prior_std", self.prior_std, where=where)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "prior_std", s)

    @property
    def dim(self) -> int:
        """Number of coefficients D."""
        return int(self.X.shape[1])

    def _z(self, z: Any, where: str) -> np.ndarray:
        return check_finite("z", check_shape("z", z, (None, self.dim), where=where), where=where)

    def log_joint(self, z: Any) -> np.ndarray:
        """Log joint at each row of ``z`` (shape (S, D)); returns shape (S,)."""
        z = self._z(z, "BayesianLogisticRegression.log_joint")
        eta = z @ self.X.T
        loglik = eta @ self.y - np.logaddexp(0.0, eta).sum(axis=1)
        s2 = self.prior_std**2
        logprior = -0.5 * np.sum(z**2, axis=1) / s2 - 0.5 * self.dim * (_LOG_2PI + np.log(s2))
        return loglik + logprior

    def grad_log_joint(self, z: Any) -> np.ndarray:
        """Gradient of the log joint at each row of ``z`` (shape (S, D)); returns shape (S, D)."""
        z = self._z(z, "BayesianLogisticRegression.grad_log_joint")
        return (self.y - expit(z @ self.X.T)) @ self.X - z / self.prior_std**2

    def hessian(self, z: Any) -> np.ndarray:
        """Hessian of the log joint at a single point ``z`` (shape (D,)); returns shape (D, D).

        .. math::

            \\nabla^2 \\log p = -X^\\top \\operatorname{diag}(\\pi (1 - \\pi)) X - I / s^2,
            \\qquad \\pi = \\operatorname{sigmoid}(X z).
        """
        z = check_finite(
            "z",
            check_shape("z", z, (self.dim,), where="BayesianLogisticRegression.hessian"),
            where="BayesianLogisticRegression.hessian",
        )
        p = expit(self.X @ z)
        return -(self.X * (p * (1 - p))[:, None]).T @ self.X - np.eye(self.dim) / self.prior_std**2


def laplace_approximation(
    model: BayesianLogisticRegression, *, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Laplace approximation of the posterior, with the mode found by Newton's method.

    .. math::

        p(z \\mid y) \\approx \\mathcal{N}\\bigl(\\hat z, (-\\nabla^2 \\log p(y, \\hat z))^{-1}\\bigr),
        \\qquad \\hat z = \\arg\\max_z \\log p(y, z).

    Parameters
    ----------
    model : BayesianLogisticRegression
        The model (its log joint is strictly concave, so Newton's method converges).
    max_iter : int
        Maximum Newton steps.
    tol : float
        Stop when the largest absolute gradient entry is below ``tol``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(mode, covariance)`` with shapes (D,) and (D, D).

    Raises
    ------
    ValidationError
        If Newton's method does not reach ``tol`` in ``max_iter`` steps.

    References
    ----------
    bishop2006pattern

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "laplace_approximation"
    if not isinstance(model, BayesianLogisticRegression):
        raise ValidationError(
            f"{where}: `model` must be a BayesianLogisticRegression; received {type(model).__name__}."
        )
    max_iter = check_int("max_iter", max_iter, minimum=1, where=where)
    tol = check_positive("tol", tol, where=where)
    z = np.zeros(model.dim)
    for _ in range(max_iter):
        g = model.grad_log_joint(z[None])[0]
        if np.max(np.abs(g)) < tol:
            break
        z = z - np.linalg.solve(model.hessian(z), g)
    else:
        raise ValidationError(
            f"{where}: Newton's method must converge within `max_iter`={max_iter} steps; "
            f"received a final gradient norm {np.max(np.abs(g)):.3g}."
        )
    return z, np.linalg.inv(-model.hessian(z))


def hmc_sample(
    model: BayesianLogisticRegression,
    init: Any,
    *,
    n_draws: int,
    n_warmup: int,
    step_size: float,
    n_leapfrog: int,
    rng: np.random.Generator,
    precond_chol: Any = None,
) -> tuple[np.ndarray, float]:
    """Hamiltonian Monte Carlo for several chains in parallel (vectorised over chains).

    Runs in whitened coordinates :math:`z = c + L u` (``L = precond_chol``, ``c`` the mean of
    ``init``), i.e. with mass matrix :math:`(L L^\\top)^{-1}`; with L the Cholesky factor of the
    Laplace covariance the target is close to isotropic. Each iteration draws momenta
    :math:`r \\sim \\mathcal{N}(0, I)`, jitters the step size uniformly in [0.8, 1.2] times
    ``step_size``, runs ``n_leapfrog`` leapfrog steps and accepts with the Metropolis probability.

    Parameters
    ----------
    model : BayesianLogisticRegression
        Target (its log joint is the unnormalised log posterior).
    init : array of shape (C, D)
        Initial states of the C chains.
    n_draws : int
        Draws kept per chain after warm-up (at least 1).
    n_warmup : int
        Iterations discarded per chain (at least 0).
    step_size : float
        Leapfrog step size in whitened coordinates (positive).
    n_leapfrog : int
        Leapfrog steps per iteration (at least 1).
    rng : numpy.random.Generator
        Source of randomness.
    precond_chol : array of shape (D, D), optional
        Lower-triangular preconditioner L (default identity).

    Returns
    -------
    tuple
        ``(draws, acceptance_rate)``: draws of shape (C, n_draws, D) and the mean acceptance
        probability after warm-up.

    References
    ----------
    neal2011mcmc

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "hmc_sample"
    if not isinstance(model, BayesianLogisticRegression):
        raise ValidationError(
            f"{where}: `model` must be a BayesianLogisticRegression; received {type(model).__name__}."
        )
    z0 = check_finite("init", check_shape("init", init, (None, model.dim), where=where), where=where)
    n_draws = check_int("n_draws", n_draws, minimum=1, where=where)
    n_warmup = check_int("n_warmup", n_warmup, minimum=0, where=where)
    step_size = check_positive("step_size", step_size, where=where)
    n_leapfrog = check_int("n_leapfrog", n_leapfrog, minimum=1, where=where)
    rng = _check_rng(rng, where)
    L = (
        np.eye(model.dim)
        if precond_chol is None
        else check_finite(
            "precond_chol",
            check_shape("precond_chol", precond_chol, (model.dim, model.dim), where=where),
            where=where,
        )
    )
    center = z0.mean(axis=0)
    u = np.linalg.solve(L, (z0 - center).T).T

    def logp_grad(u_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z_ = center + u_ @ L.T
        return model.log_joint(z_), model.grad_log_joint(z_) @ L

    lp, g = logp_grad(u)
    n_chains = u.shape[0]
    draws = np.empty((n_chains, n_draws, model.dim))
    acc = []
    for it in range(n_warmup + n_draws):
        r = rng.standard_normal(u.shape)
        h = step_size * rng.uniform(0.8, 1.2)
        u_new, r_new = u.copy(), r + 0.5 * h * g
        for k in range(n_leapfrog):
            u_new = u_new + h * r_new
            lp_new, g_new = logp_grad(u_new)
            if k < n_leapfrog - 1:
                r_new = r_new + h * g_new
        r_new = r_new + 0.5 * h * g_new
        log_ratio = lp_new - 0.5 * np.sum(r_new**2, axis=1) - (lp - 0.5 * np.sum(r**2, axis=1))
        log_ratio = np.where(np.isfinite(log_ratio), log_ratio, -np.inf)
        accept = np.log(rng.uniform(size=n_chains)) < log_ratio
        u = np.where(accept[:, None], u_new, u)
        lp = np.where(accept, lp_new, lp)
        g = np.where(accept[:, None], g_new, g)
        if it >= n_warmup:
            draws[:, it - n_warmup] = center + u @ L.T
            acc.append(np.minimum(1.0, np.exp(np.minimum(log_ratio, 0.0))))
    return draws, float(np.mean(acc))


def _check_chains(chains: Any, where: str) -> np.ndarray:
    arr = check_finite("chains", as_array("chains", chains, where=where), where=where)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 4:
        raise ValidationError(
            f"{where}: `chains` must have shape (C, N, D) or (C, N) with N >= 4; received shape {arr.shape}."
        )
    return arr


def split_rhat(chains: Any) -> np.ndarray:
    """Split-:math:`\\hat R` convergence diagnostic, per coordinate.

    Each chain is cut in half (so 2C chains of length N/2); with W the mean within-chain variance and
    B/n the variance of the chain means, :math:`\\hat R = \\sqrt{((n-1)/n \\, W + B/n) / W}`. Values
    near 1 (below about 1.01) indicate the chains agree.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, N >= 4.

    Returns
    -------
    numpy.ndarray of shape (D,)
        :math:`\\hat R` for every coordinate.

    References
    ----------
    gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    arr = _check_chains(chains, "split_rhat")
    n = arr.shape[1] // 2
    halves = np.concatenate([arr[:, :n], arr[:, -n:]], axis=0)
    w = halves.var(axis=1, ddof=1).mean(axis=0)
    b_over_n = halves.mean(axis=1).var(axis=0, ddof=1)
    var_plus = (n - 1) / n * w + b_over_n
    return np.sqrt(var_plus / w)


def effective_sample_size(chains: Any) -> np.ndarray:
    """Effective sample size per coordinate from multi-chain autocorrelations.

    Uses the combined-chain autocorrelation estimate
    :math:`\\hat\\rho_t = 1 - (W - \\overline{\\gamma}_t) / \\widehat{\\operatorname{var}}^+` and Geyer's
    initial monotone positive sequence to truncate the sum:
    :math:`\\text{ESS} = C N / (-1 + 2 \\sum_{k} P_k)` with :math:`P_k = \\hat\\rho_{2k} + \\hat\\rho_{2k+1}`.

    Parameters
    ----------
    chains : array of shape (C, N, D) or (C, N)
        MCMC draws, N >= 4.

    Returns
    -------
    numpy.ndarray of shape (D,)
        Effective sample size of every coordinate.

    References
    ----------
    gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    arr = _check_chains(chains, "effective_sample_size")
    c, n, d = arr.shape
    x = arr - arr.mean(axis=1, keepdims=True)
    m = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(x, n=m, axis=1)
    acov = np.fft.irfft(f * np.conj(f), n=m, axis=1)[:, :n] / n  # (C, N, D), biased autocovariance
    chain_var = acov[:, 0] * n / (n - 1)
    w = chain_var.mean(axis=0)
    var_plus = w * (n - 1) / n + (arr.mean(axis=1).var(axis=0, ddof=1) if c > 1 else 0.0)
    rho = 1.0 - (w - acov.mean(axis=0)) / var_plus  # (N, D)
    ess = np.empty(d)
    for j in range(d):
        pairs = rho[: 2 * (n // 2), j].reshape(-1, 2).sum(axis=1)
        k = 0
        total = 0.0
        prev = np.inf
        while k < pairs.size and pairs[k] > 0:
            p = min(pairs[k], prev)
            total += p
            prev = p
            k += 1
        ess[j] = c * n / max(-1.0 + 2.0 * total, 1e-12)
    return ess


@dataclass(frozen=True)
class ReferencePosterior:
    """MCMC reference posterior with its diagnostics.

    Attributes
    ----------
    draws : numpy.ndarray of shape (C, N, D)
        Post-warm-up draws of every chain.
    mean : numpy.ndarray of shape (D,)
        Posterior mean estimate.
    std : numpy.ndarray of shape (D,)
        Posterior marginal standard deviations.
    mcse_mean : numpy.ndarray of shape (D,)
        Monte Carlo standard error of ``mean`` (``std / sqrt(ess)``).
    rhat : numpy.ndarray of shape (D,)
        Split-R-hat per coordinate.
    ess : numpy.ndarray of shape (D,)
        Effective sample size per coordinate.
    acceptance_rate : float
        Mean HMC acceptance probability.
    """

    draws: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    mcse_mean: np.ndarray
    rhat: np.ndarray
    ess: np.ndarray
    acceptance_rate: float


def reference_posterior(
    model: BayesianLogisticRegression,
    rng: np.random.Generator,
    *,
    n_chains: int = 4,
    n_draws: int = 1000,
    n_warmup: int = 200,
    step_size: float = 0.5,
    n_leapfrog: int = 8,
) -> ReferencePosterior:
    """Reference posterior by Laplace-preconditioned HMC, started from over-dispersed points.

    The chains start at the Laplace mode plus twice its standard deviations times standard normal
    noise, run in coordinates whitened by the Laplace covariance (:func:`hmc_sample`), and are
    summarised with :func:`split_rhat` and :func:`effective_sample_size`.

    Parameters
    ----------
    model : BayesianLogisticRegression
        The model.
    rng : numpy.random.Generator
        Source of randomness.
    n_chains : int
        Number of chains (at least 2, for R-hat).
    n_draws : int
        Draws kept per chain.
    n_warmup : int
        Warm-up iterations per chain.
    step_size : float
        Leapfrog step size in whitened coordinates.
    n_leapfrog : int
        Leapfrog steps per iteration.

    Returns
    -------
    ReferencePosterior
        Draws, moments and diagnostics.

    References
    ----------
    neal2011mcmc, gelman2013bayesian

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "reference_posterior"
    rng = _check_rng(rng, where)
    if not isinstance(model, BayesianLogisticRegression):
        raise ValidationError(
            f"{where}: `model` must be a BayesianLogisticRegression; received {type(model).__name__}."
        )
    n_chains = check_int("n_chains", n_chains, minimum=2, where=where)
    n_draws = check_int("n_draws", n_draws, minimum=1, where=where)
    n_warmup = check_int("n_warmup", n_warmup, minimum=0, where=where)
    step_size = check_positive("step_size", step_size, where=where)
    n_leapfrog = check_int("n_leapfrog", n_leapfrog, minimum=1, where=where)
    mode, cov = laplace_approximation(model)
    L = np.linalg.cholesky(cov)
    init = mode + 2.0 * rng.standard_normal((n_chains, model.dim)) @ L.T
    draws, acc = hmc_sample(
        model,
        init,
        n_draws=n_draws,
        n_warmup=n_warmup,
        step_size=step_size,
        n_leapfrog=n_leapfrog,
        rng=rng,
        precond_chol=L,
    )
    flat = draws.reshape(-1, model.dim)
    ess = effective_sample_size(draws)
    std = flat.std(axis=0, ddof=1)
    return ReferencePosterior(draws, flat.mean(axis=0), std, std / np.sqrt(ess), split_rhat(draws), ess, acc)


def predictive_probability(X: Any, samples: Any) -> np.ndarray:
    """Monte Carlo posterior predictive probability of class 1.

    .. math::

        p(y = 1 \\mid x) \\approx \\frac{1}{S} \\sum_{s=1}^S \\operatorname{sigmoid}(x^\\top z_s).

    Parameters
    ----------
    X : array of shape (N, D)
        Inputs.
    samples : array of shape (S, D)
        Draws of the coefficients from the (approximate) posterior.

    Returns
    -------
    numpy.ndarray of shape (N,)
        Predictive probabilities of class 1.

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    return _predictive_probability(X, samples, "predictive_probability")


def _predictive_probability(X: Any, samples: Any, where: str) -> np.ndarray:
    X = check_finite("X", as_array("X", X, ndim=2, where=where), where=where)
    samples = check_finite(
        "samples", check_shape("samples", samples, (None, X.shape[1]), where=where), where=where
    )
    if samples.shape[0] == 0:
        raise ValidationError(f"{where}: `samples` must be non-empty; received an empty array.")
    return expit(X @ samples.T).mean(axis=1)


def predictive_accuracy(X: Any, y: Any, samples: Any) -> float:
    """Held-out accuracy of the posterior predictive, thresholded at 1/2.

    Parameters
    ----------
    X : array of shape (N, D)
        Inputs.
    y : array of shape (N,)
        Labels in {0, 1}.
    samples : array of shape (S, D)
        Posterior draws.

    Returns
    -------
    float
        Fraction of correct predictions.

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "predictive_accuracy"
    p = _predictive_probability(X, samples, where)
    y = check_shape("y", y, (p.size,), where=where)
    if not np.all((y == 0) | (y == 1)):
        raise ValidationError(f"{where}: `y` must hold labels 0 or 1; received {describe(y)}.")
    return float(np.mean((p > 0.5) == (y == 1)))
