"""Evaluating a VAE: the importance-weighted bound, KL per dimension, active units.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import ValidationError, check_int, check_positive
from .model import VAE, _check_data, _gaussian_kl_standard, _log_weights

__all__ = ["iwae_bound", "kl_per_dimension", "active_units"]


def _check(model: VAE, x: torch.Tensor, where: str) -> None:
    _check_data(model, x, where)
    if x.shape[0] < 1:
        raise ValidationError(f"{where}: `x` must hold at least 1 image; received shape {tuple(x.shape)}.")


@torch.no_grad()
def iwae_bound(model: VAE, x: torch.Tensor, k: int, *, seed: int = 0, chunk: int = 100) -> np.ndarray:
    r"""Importance-weighted lower bound :math:`\mathcal{L}_K(x) \le \log p_\theta(x)` per datapoint.

    .. math::

        \mathcal{L}_K(x) = \log \frac1K \sum_{k=1}^K
        \frac{p_\theta(x \mid z_k)\, p(z_k)}{q_\phi(z_k \mid x)},
        \qquad z_k \sim q_\phi(z \mid x).

    :math:`\mathcal{L}_1` is the ELBO (with a sampled, not analytic, KL); the expectation of
    :math:`\mathcal{L}_K` increases with :math:`K` and tends to :math:`\log p_\theta(x)`.
    Log-weights are computed in float32 and combined with a float64 log-sum-exp.

    Parameters
    ----------
    model : VAE
        Trained model.
    x : torch.Tensor, shape (n, data_dim)
        Counts.
    k : int
        Number of importance samples per datapoint.
    seed : int
        Seed of the proposal samples.
    chunk : int
        Samples processed at once (memory control).

    Returns
    -------
    numpy.ndarray, shape (n,)
        One draw of the bound per datapoint, in nats (float64).

    References
    ----------
    burda2016importance

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    where = "iwae_bound"
    _check(model, x, where)
    k = check_int("k", k, minimum=1, where=where)
    chunk = check_int("chunk", chunk, minimum=1, where=where)
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, minimum=0, where=where))
    x = x.float()
    mu, logvar = model.encode(x)
    logw_parts = []
    for start in range(0, k, chunk):
        m = min(chunk, k - start)
        eps = torch.randn((m, *mu.shape), generator=gen, device=x.device)
        logw_parts.append(_log_weights(model, x, mu, logvar, eps).double())
    logw = torch.cat(logw_parts, 0)
    return (torch.logsumexp(logw, 0) - math.log(k)).cpu().numpy()


@torch.no_grad()
def kl_per_dimension(model: VAE, x: torch.Tensor) -> np.ndarray:
    r"""Average over ``x`` of :math:`\mathrm{KL}(q(z_u \mid x) \,\|\, \mathcal{N}(0, 1))` for each latent ``u``.

    Parameters
    ----------
    model : VAE
        Model.
    x : torch.Tensor, shape (n, data_dim)
        Counts.

    Returns
    -------
    numpy.ndarray, shape (latent_dim,)
        Mean KL per latent dimension, nats (float64).

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    _check(model, x, "kl_per_dimension")
    mu, logvar = model.encode(x.float())
    return _gaussian_kl_standard(mu.double(), logvar.double()).mean(0).cpu().numpy()


@torch.no_grad()
def active_units(model: VAE, x: torch.Tensor, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    r"""Active units of Burda et al.: :math:`A_u = \mathrm{Cov}_x(\mathbb{E}_{q(u \mid x)}[u]) > 0.01`.

    A latent whose posterior mean does not move with ``x`` carries no information about ``x``.

    Parameters
    ----------
    model : VAE
        Model.
    x : torch.Tensor, shape (n, data_dim)
        Counts (at least two images).
    threshold : float
        Activity threshold on the variance.

    Returns
    -------
    count : int
        Number of active units.
    activity : numpy.ndarray, shape (latent_dim,)
        Variance across ``x`` of each posterior mean (float64).

    References
    ----------
    burda2016importance

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    _check(model, x, "active_units")
    threshold = check_positive("threshold", threshold, where="active_units")
    if x.shape[0] < 2:
        raise ValidationError(f"active_units: `x` must hold at least 2 images; received {x.shape[0]}.")
    mu, _ = model.encode(x.float())
    activity = mu.double().var(0, unbiased=False).cpu().numpy()
    return int((activity > threshold).sum()), activity
