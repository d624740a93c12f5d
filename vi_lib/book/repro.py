"""The reproducibility contract every chapter calls in its first code cell.

See the landing page of the book ("How the book is tested") for why each setting is there.
"""

from __future__ import annotations

import os
import random

import numpy as np

from .._validation import check_int

__all__ = ["setup_notebook", "DEFAULT_SEED"]

#: The seed :func:`setup_notebook` uses when a chapter does not choose one.
DEFAULT_SEED = 0


def setup_notebook(seed: int = DEFAULT_SEED, *, threads: int = 1, precision: int = 4) -> np.random.Generator:
    """Make a chapter's outputs deterministic and return its NumPy random generator.

    Sets, in one place:

    * the seeds of Python's :mod:`random`, NumPy's legacy global generator and torch
      (``torch.manual_seed``), so that library code which draws from a global generator is
      still reproducible;
    * the number of threads torch uses (float32 reductions depend on it), and deterministic
      torch algorithms;
    * NumPy's and torch's print precision, so printed arrays do not show noise digits;
    * the book's matplotlib style (:func:`vi_lib.book.plotting.use_book_style`).

    Parameters
    ----------
    seed : int
        Seed for every generator. Chapters use the default unless they say why not.
    threads : int
        Number of intra-op threads for torch. ``1`` makes float32 sums independent of the
        machine's core count.
    precision : int
        Digits after the decimal point when printing arrays.

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``: pass it explicitly to vi_lib functions that sample.
    """
    seed = check_int("seed", seed, minimum=0, where="setup_notebook")
    threads = check_int("threads", threads, minimum=1, where="setup_notebook")
    precision = check_int("precision", precision, minimum=1, where="setup_notebook")
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed)
    np.set_printoptions(precision=precision, suppress=True)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch = None
    if torch is not None:
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        torch.set_printoptions(precision=precision, sci_mode=False)
    from .plotting import use_book_style

    use_book_style()
    return np.random.default_rng(seed)
