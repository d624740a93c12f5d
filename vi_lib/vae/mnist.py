"""MNIST: checksum-verified, cached, atomic download and a strict IDX parser.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MNISTError", "MNIST_MIRROR", "MNIST_FILES", "mnist_cache_dir", "parse_idx", "download_mnist",
           "load_mnist"]

#: Where :func:`download_mnist` fetches the four MNIST files from (a mirror of the original site).
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: File name -> MD5 of the .gz file (the checksums torchvision uses).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
_ENV = "VI_LIB_DATA_DIR"


class MNISTError(ValueError):
    """A download failed its checksum, or an IDX file is corrupt or truncated."""


def mnist_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Cache folder: ``cache_dir`` if given, else ``$VI_LIB_DATA_DIR/mnist``, else ``~/.cache/vi_lib/mnist``.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        Folder to use instead of the default.
    """
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get(_ENV)
    return Path(env) / "mnist" if env else Path.home() / ".cache" / "vi_lib" / "mnist"


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an (uncompressed) unsigned-byte IDX file: magic ``0x00 0x00 0x08 ndim``, big-endian dims, data.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    data : bytes
        File contents.
    name : str
        Name used in error messages.

    Returns
    -------
    numpy.ndarray
        uint8 array of the stored shape.

    Raises
    ------
    MNISTError
        Bad magic number, unsupported type, zero dimensions, or a length that does not match.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise MNISTError(f"parse_idx: `data` must be bytes; received {type(data).__name__}.")
    if len(data) < 4:
        raise MNISTError(f"parse_idx: {name} is truncated: {len(data)} bytes, shorter than the 4-byte magic number.")
    if data[0] != 0 or data[1] != 0:
        raise MNISTError(f"parse_idx: {name} has a bad magic number {data[:4].hex()}; expected 0000 08 0n.")
    if data[2] != 0x08:
        raise MNISTError(f"parse_idx: {name} has data type 0x{data[2]:02x}; only unsigned bytes (0x08) are supported.")
    ndim = data[3]
    if ndim < 1:
        raise MNISTError(f"parse_idx: {name} declares 0 dimensions.")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MNISTError(f"parse_idx: {name} is truncated inside its header ({len(data)} < {header} bytes).")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise MNISTError(f"parse_idx: {name} has {len(data)} bytes but its header {dims} requires {expected} "
                         "(truncated or corrupt).")
    return np.frombuffer(bytes(data), dtype=np.uint8, offset=header).reshape(dims).copy()


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_mnist(cache_dir: str | os.PathLike | None = None, *, base_url: str = MNIST_MIRROR,
                   files: dict[str, str] | None = None,
                   opener: Callable[[str], Any] = urllib.request.urlopen) -> Path:
    """Download the four MNIST ``.gz`` files into the cache, verifying MD5s; cached files are reused.

    Each file is streamed into a temporary file in the cache folder and moved into place with
    ``os.replace`` only after its checksum matched, so an interrupted or corrupted download never
    leaves a file that looks complete.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    cache_dir : str or path-like, optional
        See :func:`mnist_cache_dir`.
    base_url : str
        Mirror URL ending in ``/`` (``file://`` URLs work, for tests).
    files : dict, optional
        File name -> expected MD5 (default ``MNIST_FILES``).
    opener : callable
        ``opener(url)`` returns a readable binary file-like object (default ``urllib.request.urlopen``).

    Returns
    -------
    pathlib.Path
        The cache folder.

    Raises
    ------
    MNISTError
        If a file cannot be fetched or its checksum does not match.
    """
    folder = mnist_cache_dir(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for fname, md5 in (MNIST_FILES if files is None else files).items():
        target = folder / fname
        if target.is_file() and _md5(target) == md5:
            continue
        fd, tmp = tempfile.mkstemp(prefix=fname + ".", suffix=".part", dir=folder)
        try:
            try:
                with os.fdopen(fd, "wb") as out, opener(base_url + fname) as resp:
                    for block in iter(lambda: resp.read(1 << 20), b""):
                        out.write(block)
            except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError; IncompleteRead is not
                raise MNISTError(f"download_mnist: could not fetch {base_url + fname} ({exc}); check the network "
                                 f"or put the files in {folder} yourself.") from None
            got = _md5(Path(tmp))
            if got != md5:
                raise MNISTError(f"download_mnist: checksum mismatch for {fname} from {base_url}: "
                                 f"MD5 {got}, expected {md5}.")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return folder


def load_mnist(cache_dir: str | os.PathLike | None = None, *, download: bool = True,
               base_url: str = MNIST_MIRROR) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)``: uint8 images of shape (n, 784) and labels.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    cache_dir : str or path-like, optional
        See :func:`mnist_cache_dir`.
    download : bool
        Download missing files (else a missing file is an error).
    base_url : str
        Mirror URL.

    Returns
    -------
    tuple of numpy.ndarray
        Train images (60000, 784), train labels (60000,), test images (10000, 784), test labels.

    Raises
    ------
    MNISTError
        A file is missing (with ``download=False``), fails its checksum, is not gzip, is a corrupt
        or truncated IDX file, or holds an array of the wrong rank.
    """
    folder = mnist_cache_dir(cache_dir)
    if download:
        download_mnist(folder, base_url=base_url)
    out = []
    for fname in MNIST_FILES:
        path = folder / fname
        if not path.is_file():
            raise MNISTError(f"load_mnist: {path} is missing; call with download=True or set {_ENV}.")
        try:
            raw = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            raise MNISTError(f"load_mnist: {path} is not a valid gzip file ({exc}).") from None
        arr = parse_idx(raw, name=fname)
        want = 3 if "images" in fname else 1
        if arr.ndim != want:
            raise MNISTError(f"load_mnist: {fname} must hold a {want}-D array; received shape {arr.shape}.")
        out.append(arr.reshape(arr.shape[0], -1) if want == 3 else arr)
    x_tr, y_tr, x_te, y_te = out
    if x_tr.shape[0] != y_tr.shape[0] or x_te.shape[0] != y_te.shape[0]:
        raise MNISTError("load_mnist: image and label counts differ.")
    return x_tr, y_tr, x_te, y_te
