"""The 8x8 handwritten digits (UCI, via scikit-learn) with a fixed split, and honest baselines.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from .._validation import ValidationError, as_array, check_int, check_probability

__all__ = [
    "DigitsSplit", "load_digits_split", "independent_binomial_baseline", "independent_categorical_log_prob",
    "bce_level_mass",
]


@dataclass(frozen=True)
class DigitsSplit:
    """Train/validation/test arrays of grey-level counts (int64, values 0..16) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    total_count: int = 16


def load_digits_split(seed: int = 0, n_val: int = 300, n_test: int = 300) -> DigitsSplit:
    """Load scikit-learn's 1797 8x8 digits and split them at random into train/validation/test.

    Parameters
    ----------
    seed : int
        Seed of the permutation (the split is a pure function of it).
    n_val : int
        Validation images.
    n_test : int
        Test images.

    Returns
    -------
    DigitsSplit
        Count arrays of shape (n, 64) with values 0..16, and integer labels.

    References
    ----------
    alpaydin1998optical

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    from sklearn.datasets import load_digits

    where = "load_digits_split"
    seed = check_int("seed", seed, minimum=0, where=where)
    n_val = check_int("n_val", n_val, minimum=1, where=where)
    n_test = check_int("n_test", n_test, minimum=1, where=where)
    d = load_digits()
    x = d.data.astype(np.int64)
    y = d.target.astype(np.int64)
    if n_val + n_test >= x.shape[0]:
        raise ValidationError(f"{where}: `n_val + n_test` must be below {x.shape[0]}; received {n_val + n_test}.")
    perm = np.random.default_rng(seed).permutation(x.shape[0])
    te, va, tr = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    return DigitsSplit(x[tr], y[tr], x[va], y[va], x[te], y[te])


def independent_binomial_baseline(x_train: np.ndarray, x_eval: np.ndarray, total_count: int) -> float:
    r"""Mean log-likelihood (nats per image, float64) of pixel-independent Binomials fitted to ``x_train``.

    Each pixel gets :math:`\hat p_j = (s_j + 1/2) / (N n + 1)` where :math:`s_j` is its total count
    over the :math:`N` training images: the posterior mean under a Jeffreys Beta(1/2, 1/2) prior,
    i.e. the maximum-likelihood estimate nudged away from 0 and 1 so that a pixel never seen on in
    training does not give :math:`\log 0` on new data. A VAE must beat this number to have learned
    anything about how pixels co-vary.

    Parameters
    ----------
    x_train : numpy.ndarray, shape (N, p)
        Training counts in ``0..total_count``.
    x_eval : numpy.ndarray, shape (M, p)
        Counts to score.
    total_count : int
        Binomial number of trials.

    Returns
    -------
    float
        Mean of :math:`\sum_j \log \mathrm{Binomial}(x_j; n, \hat p_j)` over ``x_eval``.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    xt, xe, n = _check_counts(x_train, x_eval, total_count, "independent_binomial_baseline")
    p = (xt.sum(0) + 0.5) / (xt.shape[0] * n + 1.0)
    ll = gammaln(n + 1) - gammaln(xe + 1) - gammaln(n - xe + 1) + xlogy(xe, p) + xlog1py(n - xe, -p)
    return float(ll.sum(1).mean())


def independent_categorical_log_prob(x_train: np.ndarray, x_eval: np.ndarray, total_count: int) -> np.ndarray:
    r"""Log-likelihood per image (nats, float64) of pixel-independent categoricals fitted to ``x_train``.

    Each pixel :math:`j` gets its own distribution over the levels :math:`0, \dots, n`:
    :math:`\hat p_j(v) = (c_{jv} + 1/2) / (N + (n + 1)/2)`, with :math:`c_{jv}` the number of the
    :math:`N` training images in which pixel :math:`j` has level :math:`v` (a Jeffreys
    Dirichlet(1/2, ..., 1/2) posterior mean, so an unseen level never gives :math:`\log 0`). Like
    :func:`independent_binomial_baseline` it models no co-variation between pixels, but it fits each
    pixel's marginal exactly, whatever its shape (the digits' pixels are mostly 0 or 16, which a
    Binomial cannot fit). Beating it is the evidence that a model learned how pixels co-vary.

    Parameters
    ----------
    x_train : numpy.ndarray, shape (N, p)
        Training counts in ``0..total_count``.
    x_eval : numpy.ndarray, shape (M, p)
        Counts to score.
    total_count : int
        Largest level n (the levels are 0..n).

    Returns
    -------
    numpy.ndarray of shape (M,)
        :math:`\sum_j \log \hat p_j(x_j)` for each image of ``x_eval``.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    xt, xe, n = _check_counts(x_train, x_eval, total_count, "independent_categorical_log_prob")
    levels = n + 1
    counts = np.stack([(xt == v).sum(axis=0) for v in range(levels)], axis=1)  # (p, levels)
    probs = (counts + 0.5) / (xt.shape[0] + 0.5 * levels)
    return np.log(probs[np.arange(xt.shape[1]), xe.astype(np.int64)]).sum(axis=1)


def _check_counts(x_train: Any, x_eval: Any, total_count: Any, where: str) -> tuple[np.ndarray, np.ndarray, int]:
    n = check_int("total_count", total_count, minimum=1, where=where)
    xt = as_array("x_train", x_train, ndim=2, where=where)
    xe = as_array("x_eval", x_eval, ndim=2, where=where)
    for name, arr in (("x_train", xt), ("x_eval", xe)):
        if np.any((arr < 0) | (arr > n) | (arr != np.round(arr))):
            raise ValidationError(f"{where}: `{name}` must hold integers in 0..{n}; received values outside.")
    if xt.shape[1] != xe.shape[1]:
        raise ValidationError(f"{where}: `x_eval` must have {xt.shape[1]} columns; received {xe.shape[1]}.")
    return xt, xe, n


def bce_level_mass(p: float, total_count: int = 16) -> float:
    r"""Total "probability" :math:`\sum_{k=0}^{n} \exp(-\mathrm{BCE}(k/n, p))` of the grey-level BCE.

    Tutorials often feed grey levels :math:`y = k/n \in [0, 1]` to a binary cross-entropy
    :math:`\mathrm{BCE}(y, p) = -y \log p - (1 - y) \log(1 - p)` and call :math:`-\mathrm{BCE}` a
    log-likelihood. Summed over the ``n + 1`` levels that the data can take, the implied masses do
    not add up to one (and the continuous version does not integrate to one either: the
    continuous Bernoulli of the References), so the "nats" are not nats.

    Parameters
    ----------
    p : float
        Bernoulli parameter in (0, 1).
    total_count : int
        Number of grey levels minus one.

    Returns
    -------
    float
        The sum (it is 1 only by accident).

    References
    ----------
    loaizaganem2019continuous

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    p = check_probability("p", p, open_interval=True, where="bce_level_mass")
    n = check_int("total_count", total_count, minimum=1, where="bce_level_mass")
    y = np.arange(n + 1) / n
    return float(np.exp(y * np.log(p) + (1 - y) * np.log1p(-p)).sum())
