"""The VAE model: Gaussian encoder, Binomial decoder, the per-datapoint ELBO.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import ValidationError, check_int, check_positive, describe, float64_guard

_LOG2PI = math.log(2 * math.pi)

__all__ = ["VAE", "gaussian_kl_standard", "binomial_log_prob", "elbo_terms", "elbo"]


def _check_tensor(name: str, value: object, where: str) -> torch.Tensor:
    """``value`` must be a torch tensor with finite entries (one device sync: boundary checks only)."""
    if not isinstance(value, torch.Tensor):
        raise ValidationError(f"{where}: `{name}` must be a torch tensor; received {describe(value)}.")
    if not bool(torch.isfinite(value).all()):
        raise ValidationError(f"{where}: `{name}` must be finite (no NaN or infinity); received {describe(value)}.")
    return value


def _check_counts(name: str, x: object, total_count: int, where: str) -> torch.Tensor:
    """``x`` must be a finite tensor of counts in ``0..total_count``.

    One fused min/max pass (NaN propagates into both), so checking a whole training set costs a
    few milliseconds rather than the several full passes of separate finiteness and range tests.
    """
    if not isinstance(x, torch.Tensor):
        raise ValidationError(f"{where}: `{name}` must be a torch tensor; received {describe(x)}.")
    if not x.numel():
        return x
    lo, hi = (float(v) for v in torch.aminmax(x))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValidationError(f"{where}: `{name}` must be finite (no NaN or infinity); received {describe(x)}.")
    if lo < 0 or hi > total_count:
        raise ValidationError(f"{where}: `{name}` must hold counts in 0..{total_count}; received values from "
                              f"{lo:.4g} to {hi:.4g}.")
    return x


def _check_data(model: object, x: object, where: str) -> torch.Tensor:
    """``model`` must be a VAE and ``x`` a finite (n, data_dim) tensor of its counts."""
    if not isinstance(model, VAE):
        raise ValidationError(f"{where}: `model` must be a VAE; received {type(model).__name__}.")
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != model.data_dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)
        raise ValidationError(f"{where}: `x` must be a tensor of shape (*, {model.data_dim}); received {shape}.")
    return _check_counts("x", x, model.total_count, where)


def _check_generator(generator: object, where: str) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValidationError(f"{where}: `generator` must be a torch.Generator or None; received "
                              f"{describe(generator)}.")


@float64_guard
def gaussian_kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL from a diagonal Gaussian to the standard normal prior, per latent dimension.

    This is Chapter 2's closed form for two Gaussians specialised to a standard normal prior:

    .. math::

        \mathrm{KL}(\mathcal{N}(\mu, \sigma^2) \,\|\, \mathcal{N}(0, 1))
        = \tfrac12 (\mu^2 + \sigma^2 - 1 - \log \sigma^2).

    Parameters
    ----------
    mu : torch.Tensor, shape (..., d)
        Means of ``q``.
    logvar : torch.Tensor, shape (..., d)
        Log variances of ``q``.

    Returns
    -------
    torch.Tensor, shape (..., d)
        The KL of each coordinate, in nats (sum over the last axis for the full KL).

    References
    ----------
    kingma2014autoencoding

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    if not isinstance(mu, torch.Tensor) or not isinstance(logvar, torch.Tensor):
        raise ValidationError("gaussian_kl_standard: `mu` and `logvar` must be torch tensors; "
                              f"received {type(mu).__name__} and {type(logvar).__name__}.")
    if mu.shape != logvar.shape:
        raise ValidationError("gaussian_kl_standard: `logvar` must be of the same shape as `mu` "
                              f"{tuple(mu.shape)}; received shape {tuple(logvar.shape)}.")
    _check_tensor("mu", mu, "gaussian_kl_standard")
    _check_tensor("logvar", logvar, "gaussian_kl_standard")
    return _gaussian_kl_standard(mu, logvar)


def _gaussian_kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    # Unchecked core, for the training loop (no device sync, CUDA-graph safe).
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


@float64_guard
def binomial_log_prob(x: torch.Tensor, logits: torch.Tensor, total_count: int) -> torch.Tensor:
    r"""Log-probability of counts under independent Binomial(n, sigmoid(logits)) pixels, summed.

    .. math::

        \log p(x \mid z) = \sum_j \Big[\log\binom{n}{x_j} + x_j \log \sigma(\ell_j)
        + (n - x_j) \log \sigma(-\ell_j)\Big].

    With ``total_count = 1`` this is the Bernoulli likelihood of binary images. It is a proper
    probability mass over the ``n + 1`` grey levels, so the result is honest nats.

    Parameters
    ----------
    x : torch.Tensor, shape (..., p)
        Integer-valued counts in ``0..total_count`` (any float dtype).
    logits : torch.Tensor, shape (..., p)
        Decoder logits of the success probability.
    total_count : int
        Number of trials ``n`` (16 for the 8x8 digits, 1 for binary images).

    Returns
    -------
    torch.Tensor, shape (...)
        Log-probability of each image, in nats.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    where = "binomial_log_prob"
    n = check_int("total_count", total_count, minimum=1, where=where)
    x = _check_counts("x", x, n, where)
    logits = _check_tensor("logits", logits, where)
    if x.shape[-1] != logits.shape[-1]:
        raise ValidationError(f"binomial_log_prob: `logits` must have {x.shape[-1]} pixels in its last axis; "
                              f"received shape {tuple(logits.shape)}.")
    return _binomial_log_prob(x, logits, n)


def _binomial_log_prob(x: torch.Tensor, logits: torch.Tensor, n: int) -> torch.Tensor:
    # Unchecked core, for the training loop and the IWAE bound (no device sync, CUDA-graph safe).
    log_choose = (math.lgamma(n + 1) - torch.lgamma(x + 1) - torch.lgamma(n - x + 1)) if n > 1 else 0.0
    # x log sigma(l) + (n - x) log sigma(-l) = x l - n softplus(l): one transcendental per pixel.
    ll = x * logits - n * nn.functional.softplus(logits)
    return ll.sum(-1) + (log_choose.sum(-1) if n > 1 else 0.0)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class VAE(nn.Module):
    r"""A VAE with a diagonal-Gaussian encoder and an independent-Binomial decoder.

    The encoder maps ``x / total_count`` through an MLP to the mean and log-variance of
    :math:`q_\phi(z \mid x)`; the decoder maps ``z`` to one logit per pixel of
    :math:`p_\theta(x \mid z) = \prod_j \mathrm{Binomial}(x_j; n, \sigma(\ell_j(z)))`;
    the prior is :math:`p(z) = \mathcal{N}(0, I)`.

    Parameters
    ----------
    data_dim : int
        Number of pixels.
    latent_dim : int
        Dimension of ``z``.
    hidden : sequence of int
        Hidden-layer widths of the encoder (the decoder mirrors them unless ``decoder_hidden``).
    total_count : int
        Binomial number of trials (16 for the digits, 1 for binarized images).
    decoder_hidden : sequence of int, optional
        Hidden widths of the decoder.

    References
    ----------
    kingma2014autoencoding, rezende2014stochastic

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """

    def __init__(self, data_dim: int, latent_dim: int, hidden: Sequence[int] = (128,), total_count: int = 16,
                 decoder_hidden: Sequence[int] | None = None) -> None:
        super().__init__()
        self.data_dim = check_int("data_dim", data_dim, minimum=1, where="VAE")
        self.latent_dim = check_int("latent_dim", latent_dim, minimum=1, where="VAE")
        self.total_count = check_int("total_count", total_count, minimum=1, where="VAE")
        hidden = [check_int("hidden", h, minimum=1, where="VAE") for h in hidden]
        dec = list(reversed(hidden)) if decoder_hidden is None else [
            check_int("decoder_hidden", h, minimum=1, where="VAE") for h in decoder_hidden]
        self.hidden = list(hidden)
        self.decoder_hidden = dec
        self.encoder = _mlp([self.data_dim, *hidden, 2 * self.latent_dim])
        self.decoder = _mlp([self.latent_dim, *dec, self.data_dim])

    def config(self) -> dict:
        """Constructor arguments as a JSON-serialisable dict (stored in checkpoints)."""
        return {"data_dim": self.data_dim, "latent_dim": self.latent_dim, "hidden": self.hidden,
                "total_count": self.total_count, "decoder_hidden": self.decoder_hidden}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(z | x), each of shape (..., latent_dim).

        Parameters
        ----------
        x : torch.Tensor of shape (..., data_dim)
            Counts in ``0..total_count``, a floating tensor of the model's dtype and device; not
            validated here.

        Returns
        -------
        mu : torch.Tensor of shape (..., latent_dim)
            Means of q(z | x).
        logvar : torch.Tensor of shape (..., latent_dim)
            Log-variances (natural log) of q(z | x).
        """
        h = self.encoder(x / self.total_count if self.total_count > 1 else x)
        mu, logvar = h.chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits of p(x | z), shape (..., data_dim).

        Parameters
        ----------
        z : torch.Tensor of shape (..., latent_dim)
            Latent points, a floating tensor of the model's dtype and device.

        Returns
        -------
        torch.Tensor of shape (..., data_dim)
            Logit of each pixel's Binomial success probability.
        """
        return self.decoder(z)


def elbo_terms(model: VAE, x: torch.Tensor, eps: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Reconstruction term and per-dimension KL of the ELBO, per datapoint.

    One reparameterized sample :math:`z = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon`,
    :math:`\epsilon \sim \mathcal{N}(0, I)`, gives the unbiased reconstruction estimate
    :math:`\log p_\theta(x \mid z)`; the KL is analytic (:func:`gaussian_kl_standard`).

    Parameters
    ----------
    model : VAE
        The model.
    x : torch.Tensor, shape (batch, data_dim)
        Counts.
    eps : torch.Tensor, shape (batch, latent_dim), optional
        Standard-normal noise; drawn with ``generator`` if omitted.
    generator : torch.Generator, optional
        Source of the noise.

    Returns
    -------
    rec : torch.Tensor, shape (batch,)
        Single-sample estimate of the expected log-likelihood.
    kl : torch.Tensor, shape (batch, latent_dim)
        KL per latent dimension.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    where = "elbo_terms"
    if not isinstance(model, VAE):
        raise ValidationError(f"elbo_terms: `model` must be a VAE; received {type(model).__name__}.")
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != model.data_dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else describe(x)
        raise ValidationError(f"elbo_terms: `x` must be of shape (*, {model.data_dim}); received shape {shape}.")
    _check_counts("x", x, model.total_count, where)
    if eps is not None:
        _check_tensor("eps", eps, where)
        if tuple(eps.shape) != (x.shape[0], model.latent_dim):
            raise ValidationError(f"{where}: `eps` must be of shape ({x.shape[0]}, {model.latent_dim}); "
                                  f"received shape {tuple(eps.shape)}.")
    _check_generator(generator, where)
    return _elbo_terms(model, x, eps, generator)


def _elbo_terms(model: VAE, x: torch.Tensor, eps: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    # Unchecked core of elbo_terms, for the training loop (no device sync, CUDA-graph safe).
    mu, logvar = model.encode(x)
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    z = mu + torch.exp(0.5 * logvar) * eps
    rec = _binomial_log_prob(x, model.decode(z), model.total_count)
    return rec, _gaussian_kl_standard(mu, logvar)


@float64_guard
def elbo(model: VAE, x: torch.Tensor, *, beta: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Single-sample ELBO per datapoint, :math:`\log p(x \mid z) - \beta\,\mathrm{KL}(q(z \mid x) \,\|\, p(z))`.

    ``beta = 1`` is the ELBO; ``beta < 1`` is the KL-annealed training objective (not a bound).

    Parameters
    ----------
    model : VAE
        The model.
    x : torch.Tensor, shape (batch, data_dim)
        Counts.
    beta : float
        Weight of the KL term, in [0, 1] during warm-up.
    generator : torch.Generator, optional
        Source of the reparameterization noise.

    Returns
    -------
    torch.Tensor, shape (batch,)
        ELBO estimate per datapoint, in nats.

    References
    ----------
    kingma2014autoencoding, bowman2016generating

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    beta = check_positive("beta", beta, allow_zero=True, where="elbo")
    _check_data(model, x, "elbo")
    _check_generator(generator, "elbo")
    rec, kl = _elbo_terms(model, x, generator=generator)
    return rec - beta * kl.sum(-1)


def _log_weights(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 eps: torch.Tensor) -> torch.Tensor:
    """log p(x | z) + log p(z) - log q(z | x) at z = mu + sigma * eps; eps of shape (K, batch, latent)."""
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = (-0.5 * (eps.pow(2) + logvar + _LOG2PI)).sum(-1)
    log_prior = (-0.5 * (z.pow(2) + _LOG2PI)).sum(-1)
    log_lik = _binomial_log_prob(x.expand(eps.shape[0], *x.shape), model.decode(z), model.total_count)
    return log_lik + log_prior - log_q


def _iwae_objective(model: VAE, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    # Unchecked core of iwae_objective, for the training loop.
    mu, logvar = model.encode(x)
    eps = torch.randn((k, *mu.shape), generator=generator, device=mu.device, dtype=mu.dtype)
    return torch.logsumexp(_log_weights(model, x, mu, logvar, eps), 0) - math.log(k)


@float64_guard
def iwae_objective(model: VAE, x: torch.Tensor, k: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The importance-weighted bound :math:`\mathcal{L}_K` per datapoint, differentiable (a training objective).

    .. math::

        \mathcal{L}_K(x) = \log \frac1K \sum_{k=1}^K
        \frac{p_\theta(x \mid z_k)\, p(z_k)}{q_\phi(z_k \mid x)},
        \qquad z_k = \mu_\phi(x) + \sigma_\phi(x) \odot \epsilon_k .

    With :math:`K = 1` it is the single-sample ELBO with a *sampled* KL term (same expectation as
    :func:`elbo`, more variance). Training on it with :math:`K > 1` is the importance-weighted
    autoencoder of Burda et al.; :func:`iwae_bound` evaluates the same bound without gradients.

    Parameters
    ----------
    model : VAE
        The model.
    x : torch.Tensor, shape (batch, data_dim)
        Counts.
    k : int
        Importance samples per datapoint (at least 1).
    generator : torch.Generator, optional
        Source of the reparameterization noise.

    Returns
    -------
    torch.Tensor, shape (batch,)
        One draw of :math:`\mathcal{L}_K` per datapoint, in nats, with gradients to both networks.

    References
    ----------
    burda2016importance, rainforth2018tighter

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    _check_data(model, x, "iwae_objective")
    k = check_int("k", k, minimum=1, where="iwae_objective")
    _check_generator(generator, "iwae_objective")
    return _iwae_objective(model, x, k, generator)
