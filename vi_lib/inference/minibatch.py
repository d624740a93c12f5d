"""Minibatches of a data set in memory or on disk, for stochastic variational inference.

SVI touches only a minibatch per step, so its data may live in a ``.npy`` file larger than memory, read
through a read-only memory map:

* :func:`write_npy_in_chunks`: write an (N, D) ``.npy`` chunk by chunk (memory independent of N),
  atomically;
* :func:`open_npy_memmap`: open one read-only, with clear errors for a missing, truncated or
  mis-shaped file;
* :func:`minibatches`: seeded minibatches without replacement within each epoch, over an array or a
  memory map, each read as an in-memory float64 copy of only its rows.

Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import ValidationError, as_array, check_bool, check_callable, check_int, check_rng, describe

__all__ = ["minibatches", "open_npy_memmap", "write_npy_in_chunks"]


def _check_rows(data: Any, where: str) -> np.ndarray:
    """A 2-D numeric array (a memory map is kept as it is: nothing is read here)."""
    if not isinstance(data, np.ndarray):
        data = as_array("data", data, ndim=2, where=where)
    if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] < 1:
        raise ValidationError(f"{where}: `data` must be a 2-D array of shape (N, D) with N >= 1 and D >= 1; "
                              f"received {describe(data)}.")
    if not (np.issubdtype(data.dtype, np.floating) or np.issubdtype(data.dtype, np.integer)):
        raise ValidationError(f"{where}: `data` must have a numeric dtype; received {describe(data)}.")
    if not isinstance(data, np.memmap) and not np.all(np.isfinite(data)):
        raise ValidationError(f"{where}: `data` must be finite (no NaN or infinity); received {describe(data)}.")
    return data


def _read_rows(data: np.ndarray, idx: np.ndarray, where: str) -> np.ndarray:
    rows = data[idx]  # fancy indexing reads a copy of these rows only
    if isinstance(rows, np.memmap) or rows.dtype != np.float64:
        rows = np.array(rows, dtype=np.float64)  # a plain float64 array that owns its memory
    if not np.all(np.isfinite(rows)):
        bad = idx[~np.all(np.isfinite(rows), axis=1)]
        raise ValidationError(f"{where}: `data` must be finite (no NaN or infinity); received non-finite rows "
                              f"{bad[:5].tolist()}.")
    return rows


def minibatches(data: Any, batch_size: int, rng: np.random.Generator, *, n_batches: int | None = None,
                low_memory: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Seeded minibatches of the rows of ``data``, without replacement within each epoch.

    Each epoch draws a fresh permutation :math:`\\sigma` of :math:`\\{0, \\ldots, N-1\\}` and cuts it into
    consecutive batches of ``batch_size`` (the last batch of an epoch is shorter when ``batch_size`` does
    not divide N), so every point is used exactly once per epoch and

    .. math::

        \\mathbb{E}\\Big[\\frac{N}{|B|} \\sum_{n \\in B} f(x_n)\\Big] = \\sum_{n=1}^N f(x_n)

    for a batch :math:`B` at any position. Indices are sorted within a batch before the rows are read,
    so a memory map is read in increasing file order; the rows come back as an in-memory float64 copy.
    An array and a memory map of the same data give identical batches for the same ``rng`` state.

    The permutation of an epoch is an array of N indices (4 bytes per point), the one allocation that grows
    with N. With ``low_memory=True`` the epoch's order is instead a keyed pseudo-random permutation
    computed batch by batch (a six-round Feistel network on the smallest even number of bits that covers
    N, with cycle walking, followed by a uniformly random rotation), so memory does not depend on N. Every
    point is still used exactly once per epoch, and the rotation makes the index at every position
    exactly uniform on :math:`\\{0, \\ldots, N-1\\}`, so the identity above holds exactly; only the joint
    law of the order differs from a uniformly random permutation. The two modes give different batches.

    Parameters
    ----------
    data : array or numpy.memmap of shape (N, D)
        The data, numeric; e.g. ``open_npy_memmap(path)``. An in-memory array is checked for finiteness
        once; a memory map batch by batch.
    batch_size : int
        Rows per batch, in 1..N.
    rng : numpy.random.Generator
        Source of the permutations.
    n_batches : int or None
        Number of batches to yield (at least 1), running over as many epochs as needed; ``None``: one
        epoch, ``ceil(N / batch_size)`` batches.
    low_memory : bool
        ``False`` (default): a uniformly random permutation per epoch (``rng.shuffle``), N indices in
        memory. ``True``: the keyed permutation described above, memory independent of N.

    Returns
    -------
    iterator of (numpy.ndarray, numpy.ndarray)
        Pairs ``(indices, rows)``: sorted int64 indices of shape (B,) and float64 rows of shape (B, D).

    Raises
    ------
    ValidationError
        At the call for bad arguments; during iteration if a memory-mapped batch holds a non-finite value.

    References
    ----------
    hoffman2013stochastic (Section 2.4).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "minibatches"
    data = _check_rows(data, where)
    n = data.shape[0]
    batch_size = check_int("batch_size", batch_size, minimum=1, where=where)
    if batch_size > n:
        raise ValidationError(f"{where}: `batch_size` must be an integer in 1..N = {n} (the rows of `data`); "
                              f"received {batch_size}.")
    rng = check_rng(rng, where)
    per_epoch = -(-n // batch_size)
    total = per_epoch if n_batches is None else check_int("n_batches", n_batches, minimum=1, where=where)
    low_memory = check_bool("low_memory", low_memory, where=where)
    return _generate(data, batch_size, rng, total, where, low_memory=low_memory)


_ROUNDS = 6
_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


class _KeyedPermutation:
    """A pseudo-random permutation of ``range(n)``, evaluated at any positions without an array of size n.

    A balanced Feistel network over ``2 h`` bits (``4**h >= n``) is a bijection of ``range(4**h)`` for any
    round function; applying it again while the result is ``>= n`` (cycle walking) restricts it to a
    bijection of ``range(n)``, at most ``4**h / n < 4`` applications on average. A uniformly random
    rotation ``(y + offset) % n`` afterwards makes the value at each position exactly uniform.
    """

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        bits = max(2, (n - 1).bit_length())
        self.n = n
        self.half = np.uint64((bits + 1) // 2)
        self.mask = np.uint64((1 << int(self.half)) - 1)
        self.keys = rng.integers(0, np.iinfo(np.uint64).max, size=_ROUNDS, dtype=np.uint64, endpoint=True)
        self.offset = int(rng.integers(n))

    def _feistel(self, x: np.ndarray) -> np.ndarray:
        left, right = x >> self.half, x & self.mask
        for key in self.keys:
            z = (right ^ key) * _MIX1  # a splitmix64-style mixer; uint64 arithmetic wraps modulo 2**64
            z ^= z >> np.uint64(31)
            z *= _MIX2
            z ^= z >> np.uint64(29)
            left, right = right, left ^ (z & self.mask)
        return (left << self.half) | right

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        y = self._feistel(positions.astype(np.uint64))
        outside = np.flatnonzero(y >= self.n)
        while outside.size:
            y[outside] = self._feistel(y[outside])
            outside = outside[y[outside] >= self.n]
        return ((y.astype(np.int64) + self.offset) % self.n).astype(np.int64)


def _generate(data: np.ndarray, batch_size: int, rng: np.random.Generator, total: int, where: str, *,
              low_memory: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches of :func:`minibatches` (arguments already checked; ``where`` names the caller in errors)."""
    n = data.shape[0]
    done = 0
    while done < total:
        if low_memory:
            order = _KeyedPermutation(n, rng)
        else:
            perm = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)  # the one O(N) array
            rng.shuffle(perm)
        for start in range(0, n, batch_size):
            if done == total:
                return
            if low_memory:
                idx = np.sort(order(np.arange(start, min(start + batch_size, n), dtype=np.int64)))
            else:
                idx = np.sort(perm[start:start + batch_size]).astype(np.int64)
            yield idx, _read_rows(data, idx, where)
            done += 1


def _header(path: Path, where: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """Shape, dtype, Fortran order and data offset of a ``.npy`` file."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(f)
            return tuple(shape), np.dtype(dtype), bool(fortran), f.tell()
    except (ValueError, OSError, EOFError) as err:
        raise ValidationError(f"{where}: `path` must be a readable .npy file; {str(path)!r} has no valid .npy "
                              f"header ({err}).") from None


def open_npy_memmap(path: str | os.PathLike, *, shape: tuple | None = None, dtype: Any = None) -> np.memmap:
    """Open a ``.npy`` file read-only as a memory map, after checking its header and size.

    The file holds :math:`N \\times D` values after its header; it is accepted only if its size is
    at least

    .. math::

        \\text{header} + \\text{itemsize} \\times \\prod_i \\text{shape}_i

    bytes, so a truncated file (a write that died) fails here instead of deep inside a fit.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npy`` file.
    shape : tuple of (int or None) or None
        Expected shape; ``None`` entries match any length (e.g. ``(None, 2)``); ``None`` accepts any.
    dtype : numpy.dtype, type or str, or None
        Expected dtype (e.g. ``np.float64``); ``None`` accepts any.

    Returns
    -------
    numpy.memmap
        The array, mode ``"r"``; nothing is read into memory.

    Raises
    ------
    ValidationError
        Naming the path, expected and received, if the file is missing, is not a ``.npy`` file, is
        truncated, or has the wrong shape or dtype.

    References
    ----------
    hoffman2013stochastic (Section 2.4).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "open_npy_memmap"
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"{where}: `path` must be a str or os.PathLike; received {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{where}: `path` must be an existing .npy file; received {str(path)!r}, which "
                              "does not exist (or is not a file).")
    file_shape, file_dtype, fortran, offset = _header(path, where)
    if shape is not None:
        ok = len(shape) == len(file_shape) and all(s is None or s == f for s, f in zip(shape, file_shape))
        if not ok:
            raise ValidationError(f"{where}: `shape` of {str(path)!r} must be {tuple(shape)}; received a file of "
                                  f"shape {file_shape}.")
    if dtype is not None and np.dtype(dtype) != file_dtype:
        raise ValidationError(f"{where}: `dtype` of {str(path)!r} must be {np.dtype(dtype)}; received a file of "
                              f"dtype {file_dtype}.")
    needed = offset + file_dtype.itemsize * int(np.prod(file_shape, dtype=np.int64))
    size = path.stat().st_size
    if size < needed:
        raise ValidationError(f"{where}: `path` must hold {needed} bytes for shape {file_shape} and dtype "
                              f"{file_dtype}; received {str(path)!r} with {size} bytes (truncated).")
    return np.load(path, mmap_mode="r")


def write_npy_in_chunks(path: str | os.PathLike, n_rows: int, n_cols: int,
                        sample_chunk: Callable[[int], np.ndarray], *, chunk_rows: int = 100_000,
                        dtype: Any = np.float64) -> Path:
    """Write an (``n_rows``, ``n_cols``) ``.npy`` file chunk by chunk, atomically.

    Rows :math:`[s, s + c)` are ``sample_chunk(c)`` for :math:`c = \\min(\\text{chunk\\_rows}, N - s)`,
    written in order, so peak memory is one chunk, :math:`O(\\text{chunk\\_rows} \\times D)`, not
    :math:`O(N D)`. The header is :mod:`numpy.lib.format`'s; the chunks are appended with plain file
    writes rather than through ``open_memmap``, whose written pages would count in the writer's
    resident memory. The file is written to a temporary name in the same directory and renamed
    (``os.replace``) when complete, so ``path`` never holds a partial file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its directory must exist. An existing file is replaced.
    n_rows : int
        Number of rows N, at least 1.
    n_cols : int
        Number of columns D, at least 1.
    sample_chunk : callable
        ``sample_chunk(c)`` returns a finite array of shape (c, ``n_cols``).
    chunk_rows : int
        Rows per chunk, at least 1.
    dtype : numpy.dtype, type or str
        Floating dtype of the file (default float64).

    Returns
    -------
    pathlib.Path
        ``path``.

    References
    ----------
    hoffman2013stochastic (Section 2.4).

    Notes
    -----
    Explained in Chapter: Stochastic variational inference (chapters/stochastic_vi.ipynb).
    """
    where = "write_npy_in_chunks"
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError(f"{where}: `path` must be a str or os.PathLike; received {type(path).__name__}.")
    n_rows = check_int("n_rows", n_rows, minimum=1, where=where)
    n_cols = check_int("n_cols", n_cols, minimum=1, where=where)
    sample_chunk = check_callable("sample_chunk", sample_chunk, where)
    chunk_rows = check_int("chunk_rows", chunk_rows, minimum=1, where=where)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValidationError(f"{where}: `dtype` must be a floating numpy dtype; received {dtype!r}.") from None
    if not np.issubdtype(dt, np.floating):
        raise ValidationError(f"{where}: `dtype` must be a floating numpy dtype; received {dt}.")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValidationError(f"{where}: `path` must be in an existing directory; received {str(path)!r}.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            header = {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False, "shape": (n_rows, n_cols)}
            np.lib.format.write_array_header_1_0(f, header)
            for start in range(0, n_rows, chunk_rows):
                c = min(chunk_rows, n_rows - start)
                chunk = np.asarray(sample_chunk(c))
                if chunk.shape != (c, n_cols) or not np.all(np.isfinite(chunk)):
                    raise ValidationError(f"{where}: `sample_chunk({c})` must return a finite array of shape "
                                          f"({c}, {n_cols}); received {describe(chunk)}.")
                f.write(np.ascontiguousarray(chunk, dtype=dt).tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
