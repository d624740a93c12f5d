"""Variational autoencoders: model, data, training, checkpoints, evaluation, command line.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from .amortisation import AmortisationGaps, GradientSNR, amortisation_gaps, gradient_snr
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import (
    DigitsSplit,
    bce_level_mass,
    independent_binomial_baseline,
    independent_categorical_log_prob,
    load_digits_split,
)
from .evaluate import active_units, iwae_bound, kl_per_dimension
from .mnist import (
    MNIST_FILES,
    MNIST_MIRROR,
    MNISTError,
    download_mnist,
    find_mnist,
    load_mnist,
    mnist_cache_dir,
    parse_idx,
)
from .model import VAE, binomial_log_prob, elbo, elbo_terms, gaussian_kl_standard, iwae_objective
from .train import TrainHistory, evaluate_elbo, kl_weight, resolve_device, train_vae

__all__ = [
    "AmortisationGaps", "GradientSNR", "amortisation_gaps", "gradient_snr",
    "CheckpointError", "load_checkpoint", "save_checkpoint",
    "DigitsSplit", "bce_level_mass", "independent_binomial_baseline", "independent_categorical_log_prob",
    "load_digits_split",
    "active_units", "iwae_bound", "kl_per_dimension",
    "MNIST_FILES", "MNIST_MIRROR", "MNISTError", "download_mnist", "find_mnist", "load_mnist", "mnist_cache_dir",
    "parse_idx",
    "VAE", "binomial_log_prob", "elbo", "elbo_terms", "gaussian_kl_standard", "iwae_objective",
    "TrainHistory", "evaluate_elbo", "kl_weight", "resolve_device", "train_vae",
]
