"""Natural parameters of the exponential families that CAVI's factors live in.

An exponential-family density is :math:`p(z) = h(z) \\exp(\\eta^\\top t(z) - A(\\eta))`. In a
conditionally conjugate model, the CAVI update sets a factor's natural parameter :math:`\\eta` to
the expectation, under the other factors, of the natural parameter of its complete conditional.
These functions map the usual parameters to :math:`\\eta`, so that claim can be checked numerically.

* Normal, :math:`t(z) = (z, z^2)`: :math:`\\eta = (\\lambda m, -\\lambda/2)` for mean :math:`m` and
  precision :math:`\\lambda`.
* Gamma (shape :math:`a`, rate :math:`b`), :math:`t(z) = (\\log z, z)`: :math:`\\eta = (a - 1, -b)`.
* Categorical over K outcomes, minimal form :math:`t(z) = (1[z = 1], \\dots, 1[z = K-1])`:
  :math:`\\eta_k = \\log p_k - \\log p_K`.

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import ValidationError, check_finite, check_positive, describe

__all__ = [
    "normal_natural_params",
    "gamma_natural_params",
    "categorical_natural_params",
]


def normal_natural_params(mean: Any, precision: Any) -> np.ndarray:
    """Natural parameters :math:`(\\lambda m, -\\lambda / 2)` of :math:`\\mathcal{N}(m, \\lambda^{-1})`.

    Parameters
    ----------
    mean : array_like
        Means :math:`m`, finite.
    precision : array_like
        Precisions :math:`\\lambda > 0`; broadcast against ``mean``.

    Returns
    -------
    numpy.ndarray of shape (..., 2)
        The two natural parameters in the last axis.

    References
    ----------
    wainwright2008graphical; blei2017variational (section 4)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "normal_natural_params"
    m = check_finite("mean", mean, where=where)
    lam = np.asarray(check_positive("precision", precision, where=where))
    m, lam = np.broadcast_arrays(m, lam)
    return np.stack([lam * m, -0.5 * lam], axis=-1)


def gamma_natural_params(shape: Any, rate: Any) -> np.ndarray:
    """Natural parameters :math:`(a - 1, -b)` of :math:`\\mathrm{Gamma}(a, b)` (shape, rate).

    Parameters
    ----------
    shape : array_like
        Shapes :math:`a > 0`.
    rate : array_like
        Rates :math:`b > 0`; broadcast against ``shape``.

    Returns
    -------
    numpy.ndarray of shape (..., 2)
        The two natural parameters in the last axis.

    References
    ----------
    wainwright2008graphical; blei2017variational (section 4)

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "gamma_natural_params"
    a = np.asarray(check_positive("shape", shape, where=where))
    b = np.asarray(check_positive("rate", rate, where=where))
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a - 1.0, -b], axis=-1)


def categorical_natural_params(log_probs: Any) -> np.ndarray:
    """Minimal natural parameters :math:`\\eta_k = \\log p_k - \\log p_K` of a categorical.

    Unnormalised log-probabilities give the same :math:`\\eta` (the normaliser cancels), which is
    why an update written up to an additive constant fixes the categorical factor.

    Parameters
    ----------
    log_probs : array_like of shape (..., K)
        Log-probabilities (normalised or not) over K >= 2 outcomes in the last axis; finite.

    Returns
    -------
    numpy.ndarray of shape (..., K - 1)
        :math:`\\eta`.

    References
    ----------
    wainwright2008graphical

    Notes
    -----
    Explained in Chapter: Mean-field variational inference and coordinate ascent
    (chapters/mean_field_cavi.ipynb).
    """
    where = "categorical_natural_params"
    lp = check_finite("log_probs", log_probs, where=where)
    if lp.ndim < 1 or lp.shape[-1] < 2:
        raise ValidationError(f"{where}: `log_probs` must have K >= 2 outcomes in its last axis; "
                              f"received {describe(lp)}.")
    return lp[..., :-1] - lp[..., -1:]
