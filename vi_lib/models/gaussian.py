"""Gaussian targets whose ELBO and its gradient are known in closed form, test beds for estimators.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_positive_definite,
    check_shape,
)
from ..families.gaussian import _check_q

__all__ = [
    "GaussianTarget",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



@dataclass(frozen=True, eq=False)
class GaussianTarget:
    """A Gaussian posterior :math:`p(z \\mid x) = \\mathcal{N}(m, \\Lambda^{-1})`, a test bed for estimators.

    The log joint is :math:`\\log p(x, z) = \\log \\mathcal{N}(z; m, \\Lambda^{-1}) + \\log p(x)` with a
    chosen log evidence (default 0, i.e. the log joint is the normalised log density), so the exact ELBO and
    its gradient for a diagonal Gaussian q are available in closed form.

    Parameters
    ----------
    mean : array of shape (D,)
        Target mean :math:`m`.
    precision : array of shape (D, D)
        Symmetric positive-definite precision matrix :math:`\\Lambda`.
    log_evidence : float
        The constant :math:`\\log p(x)` added to the log density by :meth:`log_joint` (finite).

    References
    ----------
    bishop2006pattern

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """

    mean: np.ndarray
    precision: np.ndarray
    log_evidence: float = 0.0

    def __post_init__(self) -> None:
        where = "GaussianTarget"
        m = check_finite("mean", as_array("mean", self.mean, ndim=1, where=where), where=where)
        if m.size == 0:
            raise ValidationError(f"{where}: `mean` must be non-empty; received an empty array.")
        prec = check_positive_definite("precision", self.precision, where=where)
        check_shape("precision", prec, (m.size, m.size), where=where)
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "precision", prec)
        object.__setattr__(
            self, "log_evidence", float(check_finite("log_evidence", self.log_evidence, where=where))
        )
        _, logdet = np.linalg.slogdet(prec)
        object.__setattr__(self, "_log_norm", 0.5 * logdet - 0.5 * m.size * _LOG_2PI)

    @property
    def dim(self) -> int:
        """Dimension D."""
        return int(self.mean.size)

    @property
    def covariance(self) -> np.ndarray:
        """Covariance matrix :math:`\\Lambda^{-1}`."""
        return np.linalg.inv(self.precision)

    def _z(self, z: Any, where: str) -> np.ndarray:
        return check_finite("z", check_shape("z", z, (None, self.dim), where=where), where=where)

    def log_prob(self, z: Any) -> np.ndarray:
        """Log density at each row of ``z`` (shape (S, D)); returns shape (S,).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite points, one per row (a single point as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S,)
            :math:`\\log \\mathcal{N}(z_s; m, \\Lambda^{-1})`, in nats.
        """
        d = self._z(z, "GaussianTarget.log_prob") - self.mean
        return self._log_norm - 0.5 * np.einsum("si,ij,sj->s", d, self.precision, d)

    def log_joint(self, z: Any) -> np.ndarray:
        """Log joint :math:`\\log p(z \\mid x) + \\log p(x)` at each row of ``z``; returns shape (S,).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite points, one per row (a single point as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S,)
            :meth:`log_prob` plus ``log_evidence``, in nats.
        """
        return self.log_prob(z) + self.log_evidence

    def grad_log_prob(self, z: Any) -> np.ndarray:
        """Gradient :math:`-\\Lambda (z - m)` at each row of ``z``; returns shape (S, D).

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite points, one per row (a single point as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S, D)
            Row s is :math:`\\nabla_z \\log p(z_s \\mid x)`.
        """
        d = self._z(z, "GaussianTarget.grad_log_prob") - self.mean
        return -d @ self.precision

    def markov_blanket_log_prob(self, z: Any) -> np.ndarray:
        """Column i: the terms of the log density that involve :math:`z_i`; returns shape (S, D).

        .. math::

            \\log p_i(z) = -\\tfrac{1}{2} \\Lambda_{ii} d_i^2 - \\sum_{j \\ne i} \\Lambda_{ij} d_i d_j,
            \\qquad d = z - m.

        Only coordinates j with :math:`\\Lambda_{ij} \\neq 0` (the Markov blanket of i) contribute.

        Parameters
        ----------
        z : array_like of shape (S, D)
            Finite points, one per row (a single point as shape (1, D)).

        Returns
        -------
        numpy.ndarray of shape (S, D)
            Entry (s, i) is :math:`\\log p_i(z_s)`, in nats.
        """
        d = self._z(z, "GaussianTarget.markov_blanket_log_prob") - self.mean
        diag = np.diag(self.precision)
        return -d * (d @ self.precision) + 0.5 * diag * d**2

    def elbo(self, mean: Any, log_std: Any) -> float:
        """Exact ELBO :math:`\\mathbb{E}_q[\\log p(x, z)] + H[q]` for a diagonal Gaussian q.

        Parameters
        ----------
        mean : array_like of shape (D,)
            Mean of the diagonal Gaussian q, finite.
        log_std : array_like of shape (D,)
            Log standard deviations :math:`\\omega` of q, finite.

        Returns
        -------
        float
            The ELBO, in nats (at most ``log_evidence``).
        """
        mu, om = _check_q(mean, log_std, "GaussianTarget.elbo")
        check_shape("mean", mu, (self.dim,), where="GaussianTarget.elbo")
        d = mu - self.mean
        var = np.exp(2 * om)
        e_logp = self._log_norm - 0.5 * (d @ self.precision @ d + np.sum(np.diag(self.precision) * var))
        return float(e_logp + self.log_evidence + np.sum(om) + 0.5 * self.dim * (1.0 + _LOG_2PI))

    def elbo_gradient(self, mean: Any, log_std: Any) -> np.ndarray:
        """Exact ELBO gradient, shape (2, D): rows are d/d mean and d/d log_std.

        .. math::

            \\nabla_\\mu \\mathcal{L} = -\\Lambda (\\mu - m), \\qquad
            \\nabla_{\\omega_i} \\mathcal{L} = 1 - \\Lambda_{ii} \\sigma_i^2.

        Parameters
        ----------
        mean : array_like of shape (D,)
            Mean of the diagonal Gaussian q, finite.
        log_std : array_like of shape (D,)
            Log standard deviations :math:`\\omega` of q, finite.

        Returns
        -------
        numpy.ndarray of shape (2, D)
            Row 0 is the gradient in ``mean``, row 1 the gradient in ``log_std``.
        """
        mu, om = _check_q(mean, log_std, "GaussianTarget.elbo_gradient")
        check_shape("mean", mu, (self.dim,), where="GaussianTarget.elbo_gradient")
        return np.stack(
            [-(self.precision @ (mu - self.mean)), 1.0 - np.diag(self.precision) * np.exp(2 * om)]
        )

    def optimal_mean_field(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean-field Gaussian maximising the ELBO: mean m, std :math:`1/\\sqrt{\\Lambda_{ii}}`.

        Returns
        -------
        tuple of numpy.ndarray
            ``(mean, log_std)``, each of shape (D,).
        """
        return self.mean.copy(), -0.5 * np.log(np.diag(self.precision))
