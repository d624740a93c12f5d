"""Tests for vi_lib.vae.mnist: local copies in every faithful layout, each failure named, downloads.

Every failure case is built in a temporary folder from small synthetic IDX files, with
``MNIST_FILES`` monkeypatched to their digests. The happy path on the real data runs on the shared
MNIST copy (``../shared/data/mnist`` from the repository, or ``$VI_LIB_MNIST_COPY``) and skips,
saying why, where it is absent. No test touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import struct
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest

import vi_lib.vae.mnist as mnist_mod
from vi_lib.vae import MNIST_FILES, MNISTError, download_mnist, find_mnist, load_mnist, mnist_cache_dir, parse_idx

ROOT = Path(__file__).resolve().parents[1]
_SHARED = [Path(os.environ["VI_LIB_MNIST_COPY"])] if os.environ.get("VI_LIB_MNIST_COPY") else []
_SHARED += [ROOT.parent / "shared" / "data" / "mnist", ROOT.parent.parent / "shared" / "data" / "mnist"]
SHARED = next((p for p in _SHARED if all((p / f"{b}.gz").is_file() for b in MNIST_FILES)), None)
needs_shared = pytest.mark.skipif(
    SHARED is None, reason="the shared MNIST copy (../shared/data/mnist, or $VI_LIB_MNIST_COPY) is absent: "
    "the real-data happy path is not run here; the synthetic-file tests cover the logic")


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes()


def _payload(n_train: int = 6, n_test: int = 3, train_labels: int | tuple = None) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    return {
        "train-images-idx3-ubyte": _idx(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": _idx(rng.integers(0, 10, train_labels or n_train, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": _idx(rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": _idx(rng.integers(0, 10, n_test, dtype=np.uint8)),
    }


def _write(folder: Path, payload: dict[str, bytes], *, gz: bool = True, dot: bool = False,
           sub: str = ".", level: int = 9) -> Path:
    target = folder / sub
    target.mkdir(parents=True, exist_ok=True)
    for base, raw in payload.items():
        name = (base.replace("-idx", ".idx") if dot else base) + (".gz" if gz else "")
        (target / name).write_bytes(gzip.compress(raw, compresslevel=level, mtime=0) if gz else raw)
    return folder


def _digests(payload: dict[str, bytes]) -> dict[str, str]:
    return {base: hashlib.md5(raw).hexdigest() for base, raw in payload.items()}


@pytest.fixture
def fake(monkeypatch):
    """The synthetic payload, with MNIST_FILES pointing at its digests."""
    payload = _payload()
    monkeypatch.setattr(mnist_mod, "MNIST_FILES", _digests(payload))
    return payload


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a URL, so a test proves the network was not touched."""
    calls = []

    def refuse(url, *args, **kwargs):
        calls.append(url)
        raise AssertionError(f"network touched: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return calls


def test_published_digests_are_of_the_uncompressed_files():
    assert MNIST_FILES == {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    }


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("dot", [False, True], ids=["dash", "dot"])
@pytest.mark.parametrize("sub", [".", "MNIST/raw"], ids=["flat", "torchvision"])
def test_every_faithful_layout_is_found_offline(tmp_path, fake, no_network, gz, dot, sub):
    folder = _write(tmp_path / "d", fake, gz=gz, dot=dot, sub=sub, level=1)  # another compressor setting
    x_tr, y_tr, x_te, y_te = load_mnist(folder)  # download allowed, yet not needed
    assert x_tr.shape == (6, 784) and y_tr.shape == (6,) and x_te.shape == (3, 784) and y_te.shape == (3,)
    np.testing.assert_array_equal(x_tr.reshape(-1), np.frombuffer(fake["train-images-idx3-ubyte"][16:], np.uint8))
    paths = find_mnist(folder)
    assert all(p.parent == (folder / sub).resolve() or p.parent == folder / sub for p in paths.values())
    assert no_network == []


def test_missing_files_without_download_name_them_and_touch_no_network(tmp_path, fake, no_network):
    folder = _write(tmp_path / "d", {k: v for k, v in fake.items() if "t10k" not in k})
    with pytest.raises(MNISTError, match=r"downloading is disabled .*missing: t10k-images-idx3-ubyte .*"
                       r"t10k-labels-idx1-ubyte") as err:
        load_mnist(folder, download=False)
    assert "train-images" not in str(err.value) and str(folder) in str(err.value)
    with pytest.raises(MNISTError, match=r"find_mnist: no usable MNIST copy: missing: t10k-images"):
        find_mnist(folder)
    assert no_network == []


def _corrupt_cases(raw_images: bytes) -> dict[str, tuple[bytes, str]]:
    gz = gzip.compress(raw_images, mtime=0)
    flipped = bytearray(gz)
    flipped[len(gz) // 2] ^= 0xFF  # inside the deflate stream
    changed = bytearray(raw_images)
    changed[-1] ^= 0x01  # a valid IDX file, one pixel off
    short = raw_images[:-28]  # valid gzip of a truncated IDX file
    return {
        "checksum": (gzip.compress(bytes(changed), mtime=0),
                     r"checksum mismatch: MD5 of the decompressed IDX data is [0-9a-f]{32}, expected [0-9a-f]{32} "
                     r"\(the published digest of train-images-idx3-ubyte\); re-download .* or pass --data-dir"),
        "truncated-gzip": (gz[:len(gz) // 2], r"truncated gzip file \(Compressed file ended"),
        "corrupt-gzip": (bytes(flipped), r"corrupt gzip file"),
        "crc": (gz[:-8] + struct.pack("<I", (zlib.crc32(raw_images) + 1) & 0xFFFFFFFF) + gz[-4:],
                r"corrupt gzip file \(CRC check failed"),
        "not-gzip": (b"<html>404</html>", r"named \.gz but not gzip data"),
        "magic": (gzip.compress(b"\x01" + raw_images[1:], mtime=0), r"the IDX data has a bad magic number 01000803"),
        "truncated-idx": (gzip.compress(short, mtime=0),
                          r"the IDX data has 4692 bytes but its header \(6, 28, 28\) requires 4720 "
                          r"\(truncated or corrupt\)"),
        "rank": (gzip.compress(_idx(np.zeros(6, np.uint8)), mtime=0),
                 r"train-images-idx3-ubyte must hold a 3-D array; received shape \(6,\)"),
    }


@pytest.mark.parametrize("case", list(_corrupt_cases(_payload()["train-images-idx3-ubyte"])))
def test_each_bad_file_is_named_with_its_cause_and_no_download_is_tried(tmp_path, fake, no_network, case):
    content, pattern = _corrupt_cases(fake["train-images-idx3-ubyte"])[case]
    folder = _write(tmp_path / "d", fake)
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(content)
    for download in (True, False):  # a bad copy is reported, never silently replaced or "downloaded"
        with pytest.raises(MNISTError, match=rf"^load_mnist: {bad}: {pattern}") as err:
            load_mnist(folder, download=download)
        assert "could not fetch" not in str(err.value) and "download_mnist" not in str(err.value)
    with pytest.raises(MNISTError, match=rf"download_mnist: a local copy exists but is not usable .*{bad}: {pattern}"):
        download_mnist(folder)
    assert no_network == []
    assert bad.read_bytes() == content


def test_checksum_message_gives_both_digests(tmp_path, fake):
    folder = _write(tmp_path / "d", fake)
    changed = bytearray(fake["t10k-labels-idx1-ubyte"])
    changed[-1] ^= 0x01
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(changed)))
    with pytest.raises(MNISTError) as err:
        load_mnist(folder, download=False)
    msg = str(err.value)
    assert hashlib.md5(bytes(changed)).hexdigest() in msg
    assert mnist_mod.MNIST_FILES["t10k-labels-idx1-ubyte"] in msg
    assert str(folder / "t10k-labels-idx1-ubyte.gz") in msg


def test_a_good_copy_wins_over_a_bad_one(tmp_path, fake):
    folder = _write(tmp_path / "d", fake)
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 stale")  # tried first, fails
    assert find_mnist(folder)["train-images-idx3-ubyte"] == folder / "train-images-idx3-ubyte.gz"
    assert load_mnist(folder, download=False)[0].shape == (6, 784)


def test_inconsistent_counts_are_named(tmp_path, monkeypatch):
    payload = _payload(train_labels=5)
    monkeypatch.setattr(mnist_mod, "MNIST_FILES", _digests(payload))
    folder = _write(tmp_path / "d", payload)
    with pytest.raises(MNISTError, match=r"train-images has 6 images but train-labels has 5 labels "
                       r"\(inconsistent counts\)"):
        load_mnist(folder, download=False)


def test_download_when_missing_is_verified_atomic_and_cached(tmp_path, fake):
    mirror = _write(tmp_path / "mirror", fake, level=6).as_uri() + "/"
    cache = download_mnist(tmp_path / "cache", base_url=mirror)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{b}.gz" for b in fake)
    calls = []

    def opener(url):
        calls.append(url)
        return io.BytesIO(b"garbage")

    download_mnist(cache, base_url="https://example.invalid/", opener=opener)
    assert calls == []  # verified local files are not fetched again
    assert load_mnist(cache, download=False)[0].shape == (6, 784)
    # Only the missing file is fetched, and a fetched file is verified before it is kept.
    (cache / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MNISTError, match=r"the file downloaded from https://example.invalid/t10k-labels-idx1-ubyte"
                       r"\.gz is not usable: .*bad magic number"):
        download_mnist(cache, base_url="https://example.invalid/", opener=opener)
    assert calls == ["https://example.invalid/t10k-labels-idx1-ubyte.gz"]
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{b}.gz" for b in fake if "t10k-labels" not in b)
    x_tr, _, x_te, _ = load_mnist(cache, base_url=mirror)  # download=True fetches the missing one
    assert x_tr.shape == (6, 784) and x_te.shape == (3, 784)


def test_network_error_only_when_a_download_was_attempted(tmp_path, fake):
    def offline(url):
        raise OSError("no network")

    with pytest.raises(MNISTError, match=r"download_mnist: train-images-idx3-ubyte .* is missing, and downloading "
                       r"https://example.invalid/train-images-idx3-ubyte.gz failed \(no network\)"):
        download_mnist(tmp_path / "other", base_url="https://example.invalid/", opener=offline)
    assert list((tmp_path / "other").iterdir()) == []

    class Interrupted(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset")
            return super().read(10)

    with pytest.raises(MNISTError, match="failed .*connection reset"):
        download_mnist(tmp_path / "other", opener=lambda url: Interrupted(b"x" * 100))
    assert list((tmp_path / "other").iterdir()) == []  # no partial file under the final name, no temp file


def test_cache_dir_default(tmp_path, monkeypatch):
    monkeypatch.setenv("VI_LIB_DATA_DIR", str(tmp_path / "env"))
    assert mnist_cache_dir() == tmp_path / "env" / "mnist"
    assert mnist_cache_dir(tmp_path) == tmp_path


def test_parse_idx_roundtrip_and_errors():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx(arr)), arr)
    raw = _idx(arr)
    with pytest.raises(MNISTError, match="bad magic number"):
        parse_idx(b"\x01" + raw[1:])
    with pytest.raises(MNISTError, match="bad magic number"):
        parse_idx(raw[:1] + b"\x07" + raw[2:])
    with pytest.raises(MNISTError, match="only unsigned bytes"):
        parse_idx(raw[:2] + b"\x0d" + raw[3:])
    with pytest.raises(MNISTError, match=r"requires 40 \(truncated or corrupt\)"):
        parse_idx(raw[:-1])
    with pytest.raises(MNISTError, match="truncated inside its header"):
        parse_idx(raw[:9])
    with pytest.raises(MNISTError, match="shorter than the 4-byte magic"):
        parse_idx(b"\x00")
    with pytest.raises(MNISTError, match="declares 0 dimensions"):
        parse_idx(bytes([0, 0, 8, 0]))
    with pytest.raises(MNISTError, match="`data` must be bytes; received str"):
        parse_idx("0008")


@needs_shared
def test_real_copy_loads_offline_in_the_issues_layouts(tmp_path, no_network):
    """The shared copy (re-compressed with gzip -n -9, so its .gz MD5s are not torchvision's) passes as is,
    renamed with '.idx', and decompressed into torchvision's MNIST/raw."""
    x_tr, y_tr, x_te, y_te = load_mnist(SHARED)
    assert x_tr.shape == (60000, 784) and x_te.shape == (10000, 784) and x_tr.dtype == np.uint8
    assert y_tr[:5].tolist() == [5, 0, 4, 1, 9] and y_te[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y_tr).tolist()[:2] == [5923, 6742]
    dotted = tmp_path / "dotted"
    dotted.mkdir()
    for base in MNIST_FILES:
        shutil.copyfile(SHARED / f"{base}.gz", dotted / f"{base.replace('-idx', '.idx')}.gz")
    assert find_mnist(dotted)["train-images-idx3-ubyte"].name == "train-images.idx3-ubyte.gz"
    raw = tmp_path / "tv" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for base in MNIST_FILES:
        (raw / base).write_bytes(gzip.decompress((SHARED / f"{base}.gz").read_bytes()))
    x2, y2, _, _ = load_mnist(tmp_path / "tv", download=False)
    np.testing.assert_array_equal(x2, x_tr)
    np.testing.assert_array_equal(y2, y_tr)
    assert no_network == []
