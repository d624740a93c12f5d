"""Gaussian variational families: the 1-D Gaussian ``q`` and the diagonal Gaussian ``q``.

* :class:`GaussianQ`: a 1-D Gaussian :math:`q(z) = \\mathcal{N}(m, s^2)` with its density, entropy and
  sampler (explained in chapters/elbo.ipynb).
* :func:`gaussian_entropy` and :func:`gaussian_score`: entropy and score function of the diagonal
  Gaussian :math:`q_\\lambda(z) = \\prod_i \\mathcal{N}(z_i; \\mu_i, e^{2 \\omega_i})`, parametrised by
  ``(mean, log_std)``, the family of black-box VI (explained in chapters/bbvi_gradients.ipynb).

The torch families with reparameterised sampling (mean-field and full-rank Gaussians) are in
:mod:`vi_lib.families.gaussian_torch`, and normalizing flows in :mod:`vi_lib.families.flows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_positive,
    check_rng,
    check_same_shape,
    check_shape,
    describe,
    float64_guard,
)

__all__ = [
    "GaussianQ",
    "gaussian_entropy",
    "gaussian_score",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



def _check_q(mean: Any, log_std: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    mean = check_finite("mean", as_array("mean", mean, ndim=1, where=where), where=where)
    log_std = check_finite("log_std", as_array("log_std", log_std, ndim=1, where=where), where=where)
    mean, log_std = check_same_shape(("mean", "log_std"), (mean, log_std), where=where)
    if mean.size == 0:
        raise ValidationError(f"{where}: `mean` must be non-empty; received an empty array.")
    return mean, log_std



def _score_from_eps(eps: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """Score (gradient of log q w.r.t. mean and log-std) at z = mean + sigma * eps, shape (S, 2, D)."""
    return np.stack([eps / np.exp(log_std), eps**2 - 1.0], axis=1)



def gaussian_entropy(log_std: Any) -> float:
    """Entropy of a diagonal Gaussian with log standard deviations ``log_std``.

    .. math::

        H[q] = \\sum_{i=1}^D \\omega_i + \\frac{D}{2} \\log(2 \\pi e).

    Parameters
    ----------
    log_std : array of shape (D,)
        Log standard deviations :math:`\\omega`.

    Returns
    -------
    float
        The entropy in nats.

    References
    ----------
    cover2006elements

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    log_std = check_finite(
        "log_std", as_array("log_std", log_std, ndim=1, where="gaussian_entropy"), where="gaussian_entropy"
    )
    return float(np.sum(log_std) + 0.5 * log_std.size * (1.0 + _LOG_2PI))



@float64_guard
def gaussian_score(z: Any, mean: Any, log_std: Any) -> np.ndarray:
    """Score function of a diagonal Gaussian: the gradient of :math:`\\log q_\\lambda(z)` in :math:`\\lambda`.

    .. math::

        \\frac{\\partial \\log q}{\\partial \\mu_i} = \\frac{z_i - \\mu_i}{\\sigma_i^2}, \\qquad
        \\frac{\\partial \\log q}{\\partial \\omega_i} = \\frac{(z_i - \\mu_i)^2}{\\sigma_i^2} - 1.

    Parameters
    ----------
    z : array of shape (S, D)
        Points at which to evaluate the score.
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        ``[:, 0]`` is the score for the mean, ``[:, 1]`` for the log-std.

    References
    ----------
    williams1992simple, glynn1990likelihood

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "gaussian_score"
    mean, log_std = _check_q(mean, log_std, where)
    z = check_finite("z", check_shape("z", z, (None, mean.size), where=where), where=where)
    return _score_from_eps((z - mean) / np.exp(log_std), log_std)



@dataclass(frozen=True)
class GaussianQ:
    """A univariate Gaussian variational distribution :math:`q(z) = \\mathcal{N}(z \\mid m, s^2)`.

    Parameters
    ----------
    mean : float
        Mean m, finite.
    std : float
        Standard deviation s, finite and positive.

    Notes
    -----
    Explained in Chapter: The ELBO, derived two ways and checked to machine precision
    (chapters/elbo.ipynb).
    """

    mean: float
    std: float

    def __post_init__(self) -> None:
        m = check_finite("mean", self.mean, where="GaussianQ")
        if m.ndim != 0:
            raise ValidationError(f"GaussianQ: `mean` must be a scalar; received {describe(m)}.")
        s = check_positive("std", self.std, where="GaussianQ")
        if not isinstance(s, float):
            raise ValidationError(f"GaussianQ: `std` must be a scalar; received {describe(s)}.")
        object.__setattr__(self, "mean", float(m))
        object.__setattr__(self, "std", s)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` samples, shape (n,), as ``mean + std * eps`` with ``eps ~ N(0, 1)``.

        Parameters
        ----------
        n : int
            Number of samples, >= 1.
        rng : numpy.random.Generator
            Source of randomness, e.g. ``np.random.default_rng(0)``.

        Returns
        -------
        numpy.ndarray of shape (n,)
            Independent draws from q.
        """
        n = check_int("n", n, minimum=1, where="GaussianQ.sample")
        check_rng(rng, "GaussianQ.sample")
        return self.mean + self.std * rng.standard_normal(n)

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """Log-density :math:`\\log q(z)` at points ``z`` of any shape (same shape out).

        Parameters
        ----------
        z : float or array_like of any shape
            Points, finite, evaluated elementwise.

        Returns
        -------
        numpy.ndarray or numpy.float64
            Log-density of each entry, shape of ``z`` (a numpy.float64 for a scalar ``z``);
            in nats.
        """
        z = check_finite("z", z, where="GaussianQ.log_prob")
        return -0.5 * (_LOG_2PI + 2.0 * np.log(self.std)) - 0.5 * ((z - self.mean) / self.std) ** 2

    def entropy(self) -> float:
        """Differential entropy :math:`H[q] = -\\mathbb{E}_q[\\log q] = \\tfrac12 \\log(2 \\pi e s^2)`."""
        return 0.5 * (_LOG_2PI + 1.0) + float(np.log(self.std))
