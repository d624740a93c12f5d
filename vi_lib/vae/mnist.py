"""MNIST: find a faithful local copy (any common layout), else download it; verify the data itself.

A copy is accepted when the *decompressed* IDX data have the published MD5s, so that every
faithful copy passes whatever compressed it: ``.gz`` or uncompressed files, ``-`` or ``.`` before
``idx`` in the name (``train-images-idx3-ubyte.gz``, ``train-images.idx3-ubyte``), in the data
folder itself or in torchvision's ``MNIST/raw/`` layout below it. Only when no copy of a file is
found, and downloading is allowed, is it fetched (streamed to a temporary file, verified, then
moved into place). Every failure is an :class:`MNISTError` naming the file and the cause.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MNISTError", "MNIST_MIRROR", "MNIST_FILES", "mnist_cache_dir", "parse_idx", "find_mnist",
           "download_mnist", "load_mnist"]

#: Where :func:`download_mnist` fetches the four MNIST ``.gz`` files from (a mirror of the original site).
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
#: File name (without ``.gz``) -> MD5 of the *uncompressed* IDX file, as published for the original
#: release. Source: the README of the book's shared data folder (``../shared/data/mnist``), recomputed
#: there from the decompressed files (2026-12-05), and the same four digests as listed for the
#: uncompressed files by independent public MNIST loaders (found by code search). The files are
#: 47,040,016, 60,008, 7,840,016 and 10,008 bytes. For reference, their SHA-256 digests are
#: ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db,
#: 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5,
#: 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7 and
#: ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2.
#: (The ``.gz`` MD5s that torchvision checks, e.g. f68b3c2d... for the training images, fit only the
#: mirror's compressed bytes: a faithful copy re-compressed by another tool fails them.)
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
_ENV = "VI_LIB_DATA_DIR"
_SUBDIRS = (Path("."), Path("MNIST") / "raw", Path("raw"))  # torchvision: root/MNIST/raw/
_FIX = "re-download it (delete the file and run again with downloading allowed) or pass --data-dir " \
       "(`data_dir`) pointing at a faithful copy"


class MNISTError(ValueError):
    """An MNIST file is missing, fails its checksum, is a corrupt gzip or IDX file, or a download failed."""


def mnist_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Data folder: ``cache_dir`` if given, else ``$VI_LIB_DATA_DIR/mnist``, else ``~/.cache/vi_lib/mnist``.

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
        raise MNISTError(f"parse_idx: {name} has a bad magic number {data[:4].hex()}; expected 0000 08 0n "
                         "(not an IDX file).")
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


def _candidates(folder: Path, base: str) -> list[Path]:
    """Existing files that could hold ``base``: uncompressed first, ``-`` or ``.`` before ``idx``."""
    dotted = base.replace("-idx", ".idx")
    names = [base, dotted, base + ".gz", dotted + ".gz"]
    return [folder / sub / n for sub in _SUBDIRS for n in names if (folder / sub / n).is_file()]


def _read_verified(path: Path, base: str, md5: str, fix: str = _FIX) -> np.ndarray:
    """Decompress if gzip, parse as IDX, check rank, then the MD5 of the IDX bytes; MNISTError naming ``path``.

    ``fix``, the advice that ends every message, is left out when empty.
    """
    fix = f"; {fix}" if fix else ""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except EOFError as exc:
            raise MNISTError(f"{path}: truncated gzip file ({exc}){fix}.") from None
        except (OSError, zlib.error) as exc:  # BadGzipFile (e.g. CRC check failed) is an OSError
            raise MNISTError(f"{path}: corrupt gzip file ({exc}){fix}.") from None
    elif path.suffix == ".gz":
        raise MNISTError(f"{path}: named .gz but not gzip data (starts with {raw[:4].hex()}){fix}.")
    try:
        arr = parse_idx(raw, name="the IDX data")
    except MNISTError as exc:
        raise MNISTError(f"{path}: {str(exc).removeprefix('parse_idx: ').rstrip('.')}{fix}.") from None
    want = 3 if "images" in base else 1
    if arr.ndim != want:
        raise MNISTError(f"{path}: {base} must hold a {want}-D array; received shape {arr.shape}{fix}.")
    got = hashlib.md5(raw).hexdigest()
    if got != md5:
        raise MNISTError(f"{path}: checksum mismatch: MD5 of the decompressed IDX data is {got}, expected {md5} "
                         f"(the published digest of {base}){fix}.")
    return arr


def _locate(folder: Path, files: dict[str, str]) -> tuple[dict[str, tuple[Path, np.ndarray]], dict[str, list[str]]]:
    """(path, verified array) by base name; for each base name without one, why each candidate failed.

    An empty list of failures means no candidate file exists at all.
    """
    found: dict[str, tuple[Path, np.ndarray]] = {}
    failures: dict[str, list[str]] = {}
    for base, md5 in files.items():
        failures[base] = []
        for path in _candidates(folder, base):
            try:
                found[base] = (path, _read_verified(path, base, md5))
                break
            except MNISTError as exc:
                failures[base].append(str(exc))
        if base in found:
            del failures[base]
    return found, failures


def _looked_for(folder: Path, base: str) -> str:
    where = ", ".join(str(folder / sub) for sub in _SUBDIRS)
    return f"{base} (or .gz, or with '.idx' for '-idx') in {where}"


def find_mnist(data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Locate and verify a local MNIST copy, touching no network; return the file used for each part.

    Looks in ``data_dir`` (see :func:`mnist_cache_dir`), its ``MNIST/raw`` (torchvision's layout) and
    ``raw``, for each of the four files under its usual name with ``-`` or ``.`` before ``idx``,
    uncompressed or ``.gz``. A file counts only if its decompressed IDX data have the MD5 of
    :data:`MNIST_FILES`.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    data_dir : str, os.PathLike or None
        The data folder.

    Returns
    -------
    dict
        Base name (a key of :data:`MNIST_FILES`) -> path of the verified file.

    Raises
    ------
    MNISTError
        A file is missing (the message lists where it looked) or every copy of it is bad (the
        message names each file and the cause).
    """
    folder = mnist_cache_dir(data_dir)
    found, failures = _locate(folder, MNIST_FILES)
    problems = [msg for base, msgs in failures.items() for msg in (msgs or [f"missing: {_looked_for(folder, base)}"])]
    if problems:
        raise MNISTError("find_mnist: no usable MNIST copy: " + " | ".join(problems))
    return {base: path for base, (path, _) in found.items()}


def download_mnist(cache_dir: str | os.PathLike | None = None, *, base_url: str = MNIST_MIRROR,
                   files: dict[str, str] | None = None,
                   opener: Callable[[str], Any] | None = None) -> Path:
    """Download the MNIST files that have no local copy, verifying the decompressed data; atomic writes.

    A file with a verified local copy (any layout :func:`find_mnist` accepts) is not fetched. A
    missing one is streamed from ``base_url + name + ".gz"`` into a temporary file in the folder,
    decompressed and checked (IDX structure, MD5 of the data), and moved into place with
    ``os.replace`` only then, so an interrupted or corrupted download never leaves a file that
    looks complete. A local copy that exists but fails verification is an error, not silently
    replaced: the message names the file and the cause.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    cache_dir : str or path-like, optional
        See :func:`mnist_cache_dir`.
    base_url : str
        Mirror URL ending in ``/`` (``file://`` URLs work, for tests).
    files : dict, optional
        Base name -> expected MD5 of the uncompressed file (default :data:`MNIST_FILES`).
    opener : callable, optional
        ``opener(url)`` returns a readable binary file-like object (default ``urllib.request.urlopen``,
        looked up when called).

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    MNISTError
        If a local copy is bad, a file cannot be fetched, or a fetched file fails verification.
    """
    folder = mnist_cache_dir(cache_dir)
    files = MNIST_FILES if files is None else files
    opener = urllib.request.urlopen if opener is None else opener
    _, failures = _locate(folder, files)
    bad = [msg for msgs in failures.values() for msg in msgs]
    if bad:
        raise MNISTError("download_mnist: a local copy exists but is not usable (nothing was downloaded): "
                         + " | ".join(bad))
    if failures:
        folder.mkdir(parents=True, exist_ok=True)
    for base in failures:
        fname = base + ".gz"
        url = base_url + fname
        target = folder / fname
        fd, tmp = tempfile.mkstemp(prefix=fname + ".", suffix=".part", dir=folder)
        try:
            try:
                with os.fdopen(fd, "wb") as out, opener(url) as resp:
                    for block in iter(lambda: resp.read(1 << 20), b""):
                        out.write(block)
            except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError; IncompleteRead is not
                raise MNISTError(f"download_mnist: {_looked_for(folder, base)} is missing, and downloading "
                                 f"{url} failed ({exc}); check the network, or put the files in {folder} "
                                 "yourself (or pass --data-dir).") from None
            try:
                _read_verified(Path(tmp), base, files[base], fix="")
            except MNISTError as exc:
                raise MNISTError(f"download_mnist: the file downloaded from {url} is not usable: {exc} "
                                 "(a bad mirror or a damaged transfer; nothing was saved).") from None
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return folder


def load_mnist(cache_dir: str | os.PathLike | None = None, *, download: bool = True,
               base_url: str = MNIST_MIRROR) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)``: uint8 images of shape (n, 784) and labels.

    Uses a verified local copy when there is one (see :func:`find_mnist`); otherwise, with
    ``download=True``, fetches the missing files (see :func:`download_mnist`). With
    ``download=False`` (the CLI's ``--no-download``) the network is never touched.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    cache_dir : str or path-like, optional
        The data folder; see :func:`mnist_cache_dir`.
    download : bool
        Download files that have no local copy (else a missing file is an error naming it).
    base_url : str
        Mirror URL.

    Returns
    -------
    tuple of numpy.ndarray
        Train images (60000, 784), train labels (60000,), test images (10000, 784), test labels.

    Raises
    ------
    MNISTError
        A file is missing (with ``download=False``, or the download failed), fails its checksum
        (expected and actual MD5 given), is a truncated or corrupt gzip or IDX file, holds an
        array of the wrong rank, or images and labels disagree in number. Each message names the file.
    """
    folder = mnist_cache_dir(cache_dir)
    found, failures = _locate(folder, MNIST_FILES)
    bad = [msg for msgs in failures.values() for msg in msgs]
    if bad:
        raise MNISTError("load_mnist: " + " | ".join(bad))
    if failures and not download:
        missing = "; ".join(_looked_for(folder, base) for base in failures)
        raise MNISTError(f"load_mnist: downloading is disabled (--no-download / download=False) and these MNIST "
                         f"files are missing: {missing}. Put a copy there or pass --data-dir (`cache_dir`).")
    if failures:
        download_mnist(folder, base_url=base_url)
        found, failures = _locate(folder, MNIST_FILES)
        if failures:  # pragma: no cover - download_mnist verified and placed every missing file
            raise MNISTError(f"load_mnist: {sorted(failures)} still missing after the download.")
    x_tr, y_tr, x_te, y_te = (found[b][1] for b in MNIST_FILES)
    for split, x, y in (("train", x_tr, y_tr), ("t10k", x_te, y_te)):
        if x.shape[0] != y.shape[0]:
            raise MNISTError(f"load_mnist: {split}-images has {x.shape[0]} images but {split}-labels has "
                             f"{y.shape[0]} labels (inconsistent counts) in {folder}.")
    return x_tr.reshape(x_tr.shape[0], -1), y_tr, x_te.reshape(x_te.shape[0], -1), y_te
