"""What amortisation costs, and what importance weighting does to the encoder's gradient.

* :func:`amortisation_gaps`: for each image, optimise its own Gaussian :math:`q(z)` starting from the
  encoder's output, then compare :math:`\\log p_\\theta(x)` (estimated by the importance-weighted bound),
  the ELBO of the optimised :math:`q` and the ELBO of the encoder's :math:`q` (Cremer, Li and Duvenaud,
  2018): the *approximation gap* is what the Gaussian family costs, the *amortisation gap* what
  sharing one encoder across images costs.
* :func:`gradient_snr`: the signal-to-noise ratio of the encoder's and the decoder's gradients of
  :math:`\\mathcal{L}_K`, over repeated draws of the noise (Rainforth et al., 2018).

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import ValidationError, check_int, check_positive
from .model import VAE, _binomial_log_prob, _check_data, _gaussian_kl_standard, _iwae_objective, _log_weights

__all__ = ["AmortisationGaps", "amortisation_gaps", "GradientSNR", "gradient_snr"]


@dataclass(frozen=True)
class AmortisationGaps:
    """Per-image results of :func:`amortisation_gaps`, in nats (float64 arrays of shape (n,)).

    Attributes
    ----------
    log_px : numpy.ndarray
        Estimate of :math:`\\log p_\\theta(x)`: the importance-weighted bound with ``k_eval`` samples
        from the optimised :math:`q` (a lower bound, tight for large ``k_eval``).
    elbo_optimised : numpy.ndarray
        ELBO of the per-image optimised Gaussian :math:`q^*`.
    elbo_encoder : numpy.ndarray
        ELBO of the encoder's Gaussian :math:`q_\\phi(z \\mid x)`.
    mu, logvar : numpy.ndarray of shape (n, latent_dim)
        Parameters of the optimised :math:`q^*`.
    """

    log_px: np.ndarray
    elbo_optimised: np.ndarray
    elbo_encoder: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray

    @property
    def approximation_gap(self) -> np.ndarray:
        """:math:`\\log p(x) - \\mathrm{ELBO}(q^*)`: the cost of the Gaussian family, per image."""
        return self.log_px - self.elbo_optimised

    @property
    def amortisation_gap(self) -> np.ndarray:
        """:math:`\\mathrm{ELBO}(q^*) - \\mathrm{ELBO}(q_\\phi)`: the cost of one shared encoder, per image."""
        return self.elbo_optimised - self.elbo_encoder


def _elbo(model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """ELBO per image for q = N(mu, exp(logvar)): Monte Carlo reconstruction over eps (S, n, d), analytic KL."""
    z = mu + torch.exp(0.5 * logvar) * eps
    rec = _binomial_log_prob(x.expand(eps.shape[0], *x.shape), model.decode(z), model.total_count).mean(0)
    return rec - _gaussian_kl_standard(mu, logvar).sum(-1)


def amortisation_gaps(model: VAE, x: torch.Tensor, *, n_steps: int = 300, lr: float = 0.05, n_samples: int = 16,
                      n_eval: int = 500, k_eval: int = 1000, seed: int = 0) -> AmortisationGaps:
    """Optimise one Gaussian per image from the encoder's output and measure the two gaps of Cremer et al.

    For every image the mean and log-variance of :math:`q(z) = \\mathcal{N}(\\mu, \\diag(e^{v}))` start
    at the encoder's and are moved by Adam (``n_steps`` steps, learning rate ``lr``) on the ELBO with
    ``n_samples`` reparameterised draws and the analytic KL; the model's parameters are not changed.
    Then, with fresh noise, both ELBOs are estimated with ``n_eval`` draws, and
    :math:`\\log p_\\theta(x)` by the importance-weighted bound with ``k_eval`` draws from the optimised
    :math:`q` (a tighter proposal than the encoder's, so a tighter bound). The decomposition is

    .. math::

        \\log p_\\theta(x) - \\mathrm{ELBO}(q_\\phi)
        = \\underbrace{\\log p_\\theta(x) - \\mathrm{ELBO}(q^*)}_{\\text{approximation gap}}
        + \\underbrace{\\mathrm{ELBO}(q^*) - \\mathrm{ELBO}(q_\\phi)}_{\\text{amortisation gap}} .

    Parameters
    ----------
    model : VAE
        Trained model (not modified).
    x : torch.Tensor, shape (n, data_dim)
        Counts; all images are optimised together (their objectives are independent).
    n_steps : int
        Adam steps of the per-image optimisation (at least 1).
    lr : float
        Adam learning rate (positive).
    n_samples : int
        Draws per image per step (at least 1).
    n_eval : int
        Draws per image for the final ELBO estimates (at least 1).
    k_eval : int
        Importance samples per image for :math:`\\log p_\\theta(x)` (at least 1).
    seed : int
        Seed of all the noise (non-negative).

    Returns
    -------
    AmortisationGaps
        Per-image :math:`\\log p_\\theta(x)`, the two ELBOs, and the optimised parameters.

    References
    ----------
    cremer2018inference, burda2016importance

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    where = "amortisation_gaps"
    _check_data(model, x, where)
    n_steps = check_int("n_steps", n_steps, minimum=1, where=where)
    lr = check_positive("lr", lr, where=where)
    n_samples = check_int("n_samples", n_samples, minimum=1, where=where)
    n_eval = check_int("n_eval", n_eval, minimum=1, where=where)
    k_eval = check_int("k_eval", k_eval, minimum=1, where=where)
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, minimum=0, where=where))
    x = x.float()
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        with torch.no_grad():
            mu0, logvar0 = model.encode(x)
        mu = mu0.clone().requires_grad_(True)
        logvar = logvar0.clone().requires_grad_(True)
        opt = torch.optim.Adam([mu, logvar], lr=lr)
        for _ in range(n_steps):
            opt.zero_grad(set_to_none=True)
            eps = torch.randn((n_samples, *mu.shape), generator=gen, device=x.device)
            (-_elbo(model, x, mu, logvar, eps).sum()).backward()
            try:
                opt.step()
            except RuntimeError as err:  # e.g. an lr that float32 cannot hold
                raise ValidationError(f"{where}: `lr` must be a learning rate Adam can use on the model's dtype; "
                                      f"received {lr!r} ({err}).") from None
        if not (torch.isfinite(mu).all() and torch.isfinite(logvar).all()):
            raise ValidationError(f"{where}: the per-image optimisation diverged (non-finite parameters); reduce "
                                  f"`lr` (received {lr!r}).")
        with torch.no_grad():
            mu, logvar = mu.detach(), logvar.detach()
            results = {}
            for name, (m, v) in {"optimised": (mu, logvar), "encoder": (mu0, logvar0)}.items():
                total = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
                for start in range(0, n_eval, 100):
                    s = min(100, n_eval - start)
                    eps = torch.randn((s, *m.shape), generator=gen, device=x.device)
                    total += _elbo(model, x, m, v, eps).double() * s
                results[name] = (total / n_eval).cpu().numpy()
            parts = []
            for start in range(0, k_eval, 100):
                s = min(100, k_eval - start)
                eps = torch.randn((s, *mu.shape), generator=gen, device=x.device)
                parts.append(_log_weights(model, x, mu, logvar, eps).double())
            log_px = (torch.logsumexp(torch.cat(parts, 0), 0) - math.log(k_eval)).cpu().numpy()
    finally:
        for p, r in zip(model.parameters(), requires):
            p.requires_grad_(r)
    return AmortisationGaps(log_px, results["optimised"], results["encoder"], mu.cpu().double().numpy(),
                            logvar.cpu().double().numpy())


@dataclass(frozen=True)
class GradientSNR:
    """Signal-to-noise ratios of :func:`gradient_snr`: per-parameter :math:`|\\text{mean}| / \\text{sd}`, averaged.

    Attributes
    ----------
    encoder : float
        Mean SNR over the encoder's parameters.
    decoder : float
        Mean SNR over the decoder's parameters.
    k : int
        Importance samples of the objective.
    n_reps : int
        Gradient draws the SNRs are computed from.
    """

    encoder: float
    decoder: float
    k: int
    n_reps: int


def gradient_snr(model: VAE, x: torch.Tensor, k: int, *, n_reps: int = 100, seed: int = 0) -> GradientSNR:
    """Signal-to-noise ratio of the gradient of :math:`\\mathcal{L}_K` for the encoder and the decoder.

    Draws ``n_reps`` independent gradients of the batch mean of :math:`\\mathcal{L}_K` (fresh noise, same
    images and parameters), and for each parameter computes

    .. math::

        \\mathrm{SNR} = \\frac{\\lvert \\mathbb{E}[g] \\rvert}{\\sqrt{\\mathrm{Var}[g]}},

    then averages over the encoder's and over the decoder's parameters. Rainforth et al. (2018)
    showed that as :math:`K` grows the decoder's SNR grows like :math:`\\sqrt K` while the encoder's
    shrinks like :math:`1/\\sqrt K`: a tighter bound can train a worse encoder.

    Parameters
    ----------
    model : VAE
        Model (its parameters are not changed; their ``.grad`` is overwritten and cleared).
    x : torch.Tensor, shape (batch, data_dim)
        Counts.
    k : int
        Importance samples (at least 1).
    n_reps : int
        Gradient draws (at least 2).
    seed : int
        Seed of the noise (non-negative).

    Returns
    -------
    GradientSNR
        Mean SNR of the encoder's and of the decoder's parameters.

    References
    ----------
    rainforth2018tighter

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    where = "gradient_snr"
    _check_data(model, x, where)
    k = check_int("k", k, minimum=1, where=where)
    n_reps = check_int("n_reps", n_reps, minimum=2, where=where)
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, minimum=0, where=where))
    x = x.float()
    groups = {"encoder": list(model.encoder.parameters()), "decoder": list(model.decoder.parameters())}
    draws: dict[str, list[torch.Tensor]] = {name: [] for name in groups}
    for _ in range(n_reps):
        model.zero_grad(set_to_none=True)
        _iwae_objective(model, x, k, gen).mean().backward()
        for name, params in groups.items():
            draws[name].append(torch.cat([p.grad.reshape(-1) for p in params]).double())
    model.zero_grad(set_to_none=True)
    snr = {}
    for name, g in draws.items():
        g = torch.stack(g)
        sd = g.std(0)
        keep = sd > 0
        snr[name] = float((g.mean(0)[keep].abs() / sd[keep]).mean())
    return GradientSNR(snr["encoder"], snr["decoder"], k, n_reps)
