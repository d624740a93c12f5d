"""vi_lib: the tested companion package of *The VI Book*.

Chapters import public names from here only; private modules (leading underscore) may change.
Each function's docstring names the chapter that explains it.
"""

from ._validation import ValidationError
from .display import format_table
from .plotting import COLORS, gaussian_ellipse, new_axes, use_book_style
from .repro import setup_notebook

__version__ = "0.1.0"

__all__ = [
    "ValidationError",
    "setup_notebook",
    "format_table",
    "COLORS",
    "use_book_style",
    "new_axes",
    "gaussian_ellipse",
]

# Each chapter's modules add their public names in their own block below, so that work on
# different chapters never edits the same lines.

# --- Chapter: Bayes' rule and the evidence (chapters/bayes_evidence.ipynb) ---
# --- end Bayes ---

# --- Chapter: KL divergence (chapters/kl_divergence.ipynb) ---
# --- end KL ---

# --- Chapter: The ELBO (chapters/elbo.ipynb) ---
# --- end ELBO ---

# --- Chapter: Black-box VI gradients (chapters/bbvi_gradients.ipynb) ---
# --- end BBVI ---

# --- Chapter: The VAE (chapters/vae.ipynb) ---
# --- end VAE ---
