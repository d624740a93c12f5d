"""Safe checkpoints: plain tensors and JSON-like metadata, loaded with ``weights_only=True``.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

_FORMAT = "vi_lib.vae/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupt, or not a vi_lib VAE checkpoint."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file in the same folder, then ``os.replace``).

    Parameters
    ----------
    path : str or path-like
        Destination file.
    state : dict
        Tensors, state dicts, numbers, strings, lists and dicts only (no arbitrary objects), so
        that :func:`load_checkpoint` can read it without unpickling code.

    Returns
    -------
    pathlib.Path
        The written path.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save({"format": _FORMAT, **state}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    path : str or path-like
        Checkpoint file.
    map_location : str or torch.device
        Where to put the tensors.

    Returns
    -------
    dict
        The stored state.

    Raises
    ------
    CheckpointError
        If the file is missing, cannot be read as a safe checkpoint, or lacks the format tag.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"load_checkpoint: `path` must be an existing checkpoint file; received {str(path)!r}.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"load_checkpoint: checkpoint {str(path)!r} is corrupt or not a safe vi_lib "
                              f"checkpoint ({type(exc).__name__}); delete it or pass another file.") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise CheckpointError(f"load_checkpoint: checkpoint {str(path)!r} is not a vi_lib VAE checkpoint "
                              f"(missing format tag {_FORMAT!r}).")
    return state
