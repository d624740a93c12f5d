"""Bayesian logistic regression: the data, the log joint and posterior predictions.

Model: :math:`y_n \\sim \\operatorname{Bernoulli}(\\operatorname{sigmoid}(x_n^\\top z))` with prior
:math:`z \\sim \\mathcal{N}(0, s^2 I)`. Its reference posterior (Laplace, HMC) lives in
:mod:`vi_lib.reference`.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_probability,
    check_scalar,
    check_shape,
    check_tensor,
    describe,
)

__all__ = [
    "LogisticData",
    "load_breast_cancer_data",
    "BayesianLogisticRegression",
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

    @property
    def n_data(self) -> int:
        """Number of data points N."""
        return int(self.X.shape[0])

    def _z(self, z: Any, where: str) -> np.ndarray:
        return check_finite("z", check_shape("z", z, (None, self.dim), where=where), where=where)

    def _idx(self, idx: Any, where: str) -> np.ndarray:
        """``idx`` as a non-empty 1-D integer array of row indices in [0, N) (repeats allowed)."""
        arr = np.asarray(idx)
        if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
            raise ValidationError(
                f"{where}: `idx` must be a non-empty 1-D array of integer row indices; received {describe(idx)}."
            )
        if arr.min() < 0 or arr.max() >= self.n_data:
            raise ValidationError(
                f"{where}: `idx` must hold row indices in [0, {self.n_data}); received values from "
                f"{int(arr.min())} to {int(arr.max())}."
            )
        return arr

    def _scale(self, scale: Any, idx: np.ndarray, where: str) -> float:
        if scale is None:
            return self.n_data / idx.size
        return check_scalar("scale", scale, where, positive=True)

    def _log_prior(self, z: np.ndarray) -> np.ndarray:
        s2 = self.prior_std**2
        return -0.5 * np.sum(z**2, axis=1) / s2 - 0.5 * self.dim * (_LOG_2PI + np.log(s2))

    def _log_lik(self, z: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        eta = z @ X.T
        return eta @ y - np.logaddexp(0.0, eta).sum(axis=1)

    def _grad_log_lik(self, z: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (y - expit(z @ X.T)) @ X

    def _rows(self, idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The rows ``idx`` of (X, y); all of them, uncopied, for ``None``."""
        return (self.X, self.y) if idx is None else (self.X[idx], self.y[idx])

    def log_joint(self, z: Any) -> np.ndarray:
        """Log joint at each row of ``z`` (shape (S, D)); returns shape (S,).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row (a single one as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S,)
            :math:`\\log p(y, z_s \\mid X)`, in nats.
        """
        z = self._z(z, "BayesianLogisticRegression.log_joint")
        return self._log_lik(z, self.X, self.y) + self._log_prior(z)

    def log_joint_torch(self, z: Any) -> Any:
        """The log joint of :meth:`log_joint` in torch, differentiable by autograd.

        For :func:`vi_lib.fit_vi_torch`, which fits full-rank Gaussians and flows to this model;
        :math:`\\log(1 + e^{\\eta})` is ``softplus(eta)``. Computed in the dtype of ``z``.

        Parameters
        ----------
        z : torch.Tensor of shape (S, D)
            Coefficient vectors, one per row (floating point).

        Returns
        -------
        torch.Tensor of shape (S,)
            :math:`\\log p(y, z_s \\mid X)`, in nats.

        Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
        (chapters/beyond_mean_field.ipynb).
        """
        import torch

        where = "BayesianLogisticRegression.log_joint_torch"
        z = check_tensor("z", z, where=where, ndim=2, last_dim=self.dim)
        X = torch.as_tensor(self.X, dtype=z.dtype, device=z.device)
        y = torch.as_tensor(self.y, dtype=z.dtype, device=z.device)
        eta = z @ X.T
        s2 = self.prior_std**2
        log_prior = -0.5 * (z**2).sum(-1) / s2 - 0.5 * self.dim * (_LOG_2PI + np.log(s2))
        return eta @ y - torch.nn.functional.softplus(eta).sum(-1) + log_prior

    def grad_log_joint(self, z: Any) -> np.ndarray:
        """Gradient of the log joint at each row of ``z`` (shape (S, D)); returns shape (S, D).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row (a single one as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S, D)
            Row s is :math:`\\nabla_z \\log p(y, z_s \\mid X)`.
        """
        z = self._z(z, "BayesianLogisticRegression.grad_log_joint")
        return self._grad_log_lik(z, self.X, self.y) - z / self.prior_std**2

    def log_prior(self, z: Any) -> np.ndarray:
        """Log prior :math:`\\log \\mathcal{N}(z_s; 0, s^2 I)` at each row of ``z``; returns shape (S,).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row.

        Returns
        -------
        numpy.ndarray of shape (S,)
            :math:`-\\lVert z_s \\rVert^2 / (2 s^2) - (D/2) \\log(2 \\pi s^2)`.
        """
        return self._log_prior(self._z(z, "BayesianLogisticRegression.log_prior"))

    def grad_log_prior(self, z: Any) -> np.ndarray:
        """Gradient :math:`-z_s / s^2` of the log prior at each row of ``z``; returns shape (S, D).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row.

        Returns
        -------
        numpy.ndarray of shape (S, D)
            Row s is :math:`\\nabla_z \\log p(z_s)`.
        """
        return -self._z(z, "BayesianLogisticRegression.grad_log_prior") / self.prior_std**2

    def log_likelihood_terms(self, z: Any, idx: Any = None) -> np.ndarray:
        """Per-datum log-likelihood terms :math:`\\log p(y_n \\mid x_n, z_s)` for the rows ``idx``.

        .. math::

            \\ell_n(z) = y_n \\eta_n - \\log(1 + e^{\\eta_n}), \\qquad \\eta_n = x_n^\\top z.

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row.
        idx : array_like of int of shape (B,), optional
            Row indices in [0, N) (repeats allowed); default all N rows in order.

        Returns
        -------
        numpy.ndarray of shape (S, B)
            Entry (s, b) is :math:`\\ell_{\\mathrm{idx}_b}(z_s)`, in nats.
        """
        where = "BayesianLogisticRegression.log_likelihood_terms"
        z = self._z(z, where)
        X, y = self._rows(None if idx is None else self._idx(idx, where))
        eta = z @ X.T
        return eta * y - np.logaddexp(0.0, eta)

    def minibatch_log_joint(self, z: Any, idx: Any, scale: Any = None) -> np.ndarray:
        """Minibatch estimate of the log joint: the prior plus the scaled log likelihood of the rows ``idx``.

        .. math::

            \\widehat{\\log p}(y, z) = \\log p(z) + c \\sum_{n \\in B} \\log p(y_n \\mid x_n, z),
            \\qquad c = N / |B| \\text{ by default}.

        With :math:`B` a uniformly random subset of size :math:`|B|` (or :math:`|B|` draws with
        replacement) and :math:`c = N/|B|`, the expectation over :math:`B` is the full log joint.

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row.
        idx : array_like of int of shape (B,)
            Row indices of the minibatch, in [0, N) (repeats allowed).
        scale : float, optional
            Positive weight c of the batch log likelihood; default ``N / len(idx)``.

        Returns
        -------
        numpy.ndarray of shape (S,)
            The estimate at each row of ``z``, in nats; equal to :meth:`log_joint` for
            ``idx = arange(N)`` and the default scale.

        References
        ----------
        titsias2014doubly, hoffman2013stochastic
        """
        where = "BayesianLogisticRegression.minibatch_log_joint"
        z = self._z(z, where)
        idx = self._idx(idx, where)
        return self._minibatch_log_joint(z, idx, self._scale(scale, idx, where))

    def minibatch_grad_log_joint(self, z: Any, idx: Any, scale: Any = None) -> np.ndarray:
        """Gradient of :meth:`minibatch_log_joint`, an unbiased estimate of :meth:`grad_log_joint`.

        .. math::

            \\nabla_z \\widehat{\\log p} = -z / s^2
            + c \\sum_{n \\in B} \\bigl(y_n - \\operatorname{sigmoid}(x_n^\\top z)\\bigr) x_n.

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite coefficient vectors, one per row.
        idx : array_like of int of shape (B,)
            Row indices of the minibatch, in [0, N) (repeats allowed).
        scale : float, optional
            Positive weight c of the batch log likelihood; default ``N / len(idx)``.

        Returns
        -------
        numpy.ndarray of shape (S, D)
            Row s is the estimate at :math:`z_s`.

        References
        ----------
        titsias2014doubly
        """
        where = "BayesianLogisticRegression.minibatch_grad_log_joint"
        z = self._z(z, where)
        idx = self._idx(idx, where)
        return self._minibatch_grad_log_joint(z, idx, self._scale(scale, idx, where))

    def _full_batch(self, idx: np.ndarray) -> bool:
        return idx.size == self.n_data and bool(np.all(idx == np.arange(self.n_data)))

    def _minibatch_log_joint(self, z: np.ndarray, idx: np.ndarray, scale: float) -> np.ndarray:
        """Unchecked :meth:`minibatch_log_joint` (the fitting loop validates once, up front)."""
        X, y = self._rows(None if self._full_batch(idx) else idx)
        return scale * self._log_lik(z, X, y) + self._log_prior(z)

    def _minibatch_grad_log_joint(self, z: np.ndarray, idx: np.ndarray, scale: float) -> np.ndarray:
        """Unchecked :meth:`minibatch_grad_log_joint`."""
        X, y = self._rows(None if self._full_batch(idx) else idx)
        return scale * self._grad_log_lik(z, X, y) - z / self.prior_std**2

    def hessian(self, z: Any) -> np.ndarray:
        """Hessian of the log joint at a single point ``z`` (shape (D,)); returns shape (D, D).

        .. math::

            \\nabla^2 \\log p = -X^\\top \\operatorname{diag}(\\pi (1 - \\pi)) X - I / s^2,
            \\qquad \\pi = \\operatorname{sigmoid}(X z).

        Parameters
        ----------
        z : array_like of shape (D,)
            One finite coefficient vector.

        Returns
        -------
        numpy.ndarray of shape (D, D)
            The Hessian, symmetric negative definite.
        """
        z = check_finite(
            "z",
            check_shape("z", z, (self.dim,), where="BayesianLogisticRegression.hessian"),
            where="BayesianLogisticRegression.hessian",
        )
        p = expit(self.X @ z)
        return -(self.X * (p * (1 - p))[:, None]).T @ self.X - np.eye(self.dim) / self.prior_std**2



def _check_model(model: Any, where: str) -> BayesianLogisticRegression:
    if not isinstance(model, BayesianLogisticRegression):
        raise ValidationError(
            f"{where}: `model` must be a BayesianLogisticRegression; received {type(model).__name__}."
        )
    return model


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
