"""The Laplace approximation of a posterior, with its mode found by Newton's method.

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).
"""

from __future__ import annotations

import numpy as np

from .._validation import (
    ValidationError,
    check_int,
    check_positive,
)
from ..models.logistic import BayesianLogisticRegression, _check_model

__all__ = [
    "laplace_approximation",
]


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
    _check_model(model, where)
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
