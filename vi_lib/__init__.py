"""vi_lib: the tested companion package of *The VI Book*.

The package is organised by what variational inference is made of:

* :mod:`vi_lib.models`: the targets (log joint, exact posterior and evidence where they exist);
* :mod:`vi_lib.families`: variational families, divergences and entropies;
* :mod:`vi_lib.objectives`: the ELBO, its Monte Carlo estimators and gradient estimators;
* :mod:`vi_lib.inference`: the algorithms (EM, KL fitting, black-box VI);
* :mod:`vi_lib.reference`: answers computed independently of VI, and diagnostics;
* :mod:`vi_lib.vae`: the variational autoencoder;
* :mod:`vi_lib.book`: notebook setup, tables and plotting (presentation only; nothing above imports it).

Every public name is also available flat, ``from vi_lib import X``: this namespace is the union of
the subpackages' ``__all__``, so adding a module or a chapter never edits a list of names here.
Private modules (leading underscore) may change. Each function's docstring names the chapter that
explains it.
"""

from . import book, families, inference, models, objectives, reference, vae  # noqa: F401
from ._validation import ValidationError
from .book import *  # noqa: F403
from .families import *  # noqa: F403
from .inference import *  # noqa: F403
from .models import *  # noqa: F403
from .objectives import *  # noqa: F403
from .reference import *  # noqa: F403

# The VAE keeps its own namespace, ``vi_lib.vae``: its ``__all__`` holds names such as ``elbo`` and
# ``elbo_terms`` that would read as the general ELBO next to :mod:`vi_lib.objectives`. The names the
# chapters use flat are these.
from .vae import (  # noqa: F401
    VAE,
    active_units,
    gaussian_kl_standard,
    iwae_bound,
    kl_per_dimension,
    load_digits_split,
    load_mnist,
    train_vae,
)

__version__ = "0.1.0"

_VAE_FLAT = ["VAE", "active_units", "gaussian_kl_standard", "iwae_bound", "kl_per_dimension", "load_digits_split",
             "load_mnist", "train_vae"]

__all__ = [
    "ValidationError",
    *book.__all__,
    *models.__all__,
    *families.__all__,
    *objectives.__all__,
    *inference.__all__,
    *reference.__all__,
    *_VAE_FLAT,
]
