"""Transforms from the real line to constrained supports, with their log-Jacobians (ADVI).

ADVI fits a Gaussian on an unconstrained space: a latent :math:`\\theta` with support
:math:`S \\subset \\mathbb{R}` is written :math:`\\theta = T(\\zeta)` with :math:`\\zeta \\in \\mathbb{R}`, and the
log joint on :math:`\\zeta` gains the log-Jacobian,

.. math::

    \\log p(x, \\zeta) = \\log p(x, T(\\zeta)) + \\log \\lvert T'(\\zeta) \\rvert.

The classes follow ``torch.distributions.transforms``: :meth:`forward` maps the real line to the
support, :meth:`inverse` maps back, and :meth:`log_abs_det_jacobian` gives
:math:`\\log \\lvert T'(\\zeta) \\rvert` elementwise (sum over coordinates for a vector of them). Each
log-Jacobian is computed from :math:`\\zeta` in a form that neither overflows nor underflows.

* :class:`ExpTransform`: :math:`(0, \\infty)` by :math:`e^\\zeta`;
* :class:`SoftplusTransform`: :math:`(0, \\infty)` by :math:`\\log(1 + e^\\zeta)`, close to the identity for
  large :math:`\\zeta`;
* :class:`IntervalTransform`: :math:`(a, b)` by :math:`a + (b - a) \\operatorname{sigmoid}(\\zeta)`.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validation import ValidationError, check_scalar, check_tensor, describe

__all__ = ["ExpTransform", "SoftplusTransform", "IntervalTransform"]


class _Transform:
    """Elementwise bijection from R to a support; subclasses implement the three ``_`` methods."""

    support: str = ""

    def _name(self, method: str) -> str:
        return f"{type(self).__name__}.{method}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map unconstrained values to the support, :math:`y = T(x)`.

        Parameters
        ----------
        x : torch.Tensor of any shape
            Real values (floating point).

        Returns
        -------
        torch.Tensor of the shape of ``x``
            Values in the support.
        """
        return self._forward(check_tensor("x", x, where=self._name("forward")))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Map values of the support back to the real line, :math:`x = T^{-1}(y)`.

        Parameters
        ----------
        y : torch.Tensor of any shape
            Values strictly inside the support.

        Returns
        -------
        torch.Tensor of the shape of ``y``
            Unconstrained values.
        """
        where = self._name("inverse")
        y = check_tensor("y", y, where=where)
        if not bool(self._in_support(y).all()):
            raise ValidationError(f"{where}: `y` must lie in {self.support}; received {describe(y)}.")
        return self._inverse(y)

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Elementwise :math:`\\log \\lvert T'(x) \\rvert`.

        Parameters
        ----------
        x : torch.Tensor of any shape
            Unconstrained values.
        y : torch.Tensor of the shape of ``x`` or None
            :math:`T(x)`; accepted for the ``torch.distributions`` contract and not needed.

        Returns
        -------
        torch.Tensor of the shape of ``x``
            The log-derivatives in nats.
        """
        return self._log_abs_det_jacobian(check_tensor("x", x, where=self._name("log_abs_det_jacobian")))


class ExpTransform(_Transform):
    """Positive support by the exponential: :math:`T(x) = e^x`, :math:`\\log T'(x) = x`.

    References
    ----------
    kucukelbir2017automatic

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    support = "(0, inf)"

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.exp()

    def _in_support(self, y: torch.Tensor) -> torch.Tensor:
        return (y > 0) & torch.isfinite(y)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y.log()

    def _log_abs_det_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


class SoftplusTransform(_Transform):
    """Positive support by the softplus: :math:`T(x) = \\log(1 + e^x)`.

    .. math::

        \\log T'(x) &= \\log \\operatorname{sigmoid}(x) = -\\log(1 + e^{-x}), \\\\
        T^{-1}(y) &= y + \\log(1 - e^{-y}).

    References
    ----------
    kucukelbir2017automatic

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    support = "(0, inf)"

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(x)

    def _in_support(self, y: torch.Tensor) -> torch.Tensor:
        return (y > 0) & torch.isfinite(y)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        return y + torch.log(-torch.expm1(-y))

    def _log_abs_det_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        return F.logsigmoid(x)


class IntervalTransform(_Transform):
    """Bounded support :math:`(a, b)` by the scaled sigmoid :math:`T(x) = a + (b - a) \\operatorname{sigmoid}(x)`.

    .. math::

        \\log T'(x) &= \\log(b - a) + \\log \\operatorname{sigmoid}(x) \\\\
        &\\quad + \\log \\operatorname{sigmoid}(-x),

    and :math:`T^{-1}(y) = \\operatorname{logit}\\bigl((y - a) / (b - a)\\bigr)`.

    Parameters
    ----------
    lower : float
        Lower end a (finite).
    upper : float
        Upper end b (finite, above a).

    References
    ----------
    kucukelbir2017automatic

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, lower: float = 0.0, upper: float = 1.0) -> None:
        where = "IntervalTransform"
        self.lower = check_scalar("lower", lower, where)
        self.upper = check_scalar("upper", upper, where)
        if not self.upper > self.lower:
            raise ValidationError(f"{where}: `upper` must be greater than `lower` = {self.lower!r}; "
                                  f"received {upper!r}.")
        self.support = f"({self.lower:g}, {self.upper:g})"

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lower + (self.upper - self.lower) * torch.sigmoid(x)

    def _in_support(self, y: torch.Tensor) -> torch.Tensor:
        return (y > self.lower) & (y < self.upper)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        return torch.logit((y - self.lower) / (self.upper - self.lower))

    def _log_abs_det_jacobian(self, x: torch.Tensor) -> torch.Tensor:
        return math.log(self.upper - self.lower) + F.logsigmoid(x) + F.logsigmoid(-x)
