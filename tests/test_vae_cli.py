"""Tests for the VAE checkpoints, resume, command line and MNIST loader (no network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

from vi_lib.vae import (
    VAE,
    CheckpointError,
    MNISTError,
    download_mnist,
    load_checkpoint,
    load_digits_split,
    load_mnist,
    mnist_cache_dir,
    parse_idx,
    resolve_device,
    save_checkpoint,
    train_vae,
)
from vi_lib.vae.cli import main


def _digits():
    s = load_digits_split()
    return torch.tensor(s.x_train[:256], dtype=torch.float32), torch.tensor(s.x_val[:64], dtype=torch.float32)


def test_checkpoint_roundtrip_and_corruption(tmp_path):
    m = VAE(4, 2, hidden=(8,))
    p = save_checkpoint(tmp_path / "c.pt", {"model": m.state_dict(), "epoch": 3})
    state = load_checkpoint(p)
    assert state["epoch"] == 3 and torch.equal(state["model"]["decoder.0.weight"], m.decoder[0].weight)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(p.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="is corrupt or not a safe vi_lib checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="must be an existing checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"model": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a vi_lib VAE checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bad.pt", "c.pt", "foreign.pt"]  # no temp files left


class _RunsCodeWhenUnpickled:
    """Unpickling this creates a folder: the kind of side effect weights_only loading must refuse."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_checkpoint_refuses_pickled_code(tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "vi_lib.vae/1", "payload": _RunsCodeWhenUnpickled(marker)}, evil)
    with pytest.raises(CheckpointError, match="is corrupt or not a safe vi_lib checkpoint"):
        load_checkpoint(evil)
    assert not marker.exists()
    torch.load(evil, weights_only=False)  # control: an unsafe load does run the payload
    assert marker.is_dir()


def test_resume_equals_uninterrupted(tmp_path):
    xt, xv = _digits()
    torch.manual_seed(0)
    a = VAE(64, 3, hidden=(16,))
    init = {k: v.clone() for k, v in a.state_dict().items()}
    ha = train_vae(a, xt, xv, epochs=3, batch_size=32, seed=5, warmup_epochs=2, checkpoint_dir=tmp_path / "a")
    b = VAE(64, 3, hidden=(16,))
    b.load_state_dict(init)
    train_vae(b, xt, xv, epochs=1, batch_size=32, seed=5, warmup_epochs=2, checkpoint_dir=tmp_path / "b")
    c = VAE(64, 3, hidden=(16,))  # a fresh process would start from new random weights
    hc = train_vae(c, xt, xv, epochs=3, batch_size=32, seed=5, warmup_epochs=2, checkpoint_dir=tmp_path / "b",
                   resume=True)
    for k, v in a.state_dict().items():
        assert torch.equal(v, c.state_dict()[k]), k
    assert ha.val_elbo == hc.val_elbo and ha.beta == hc.beta


def test_resume_rejects_other_architecture(tmp_path):
    xt, xv = _digits()
    train_vae(VAE(64, 3, hidden=(16,)), xt, xv, epochs=1, batch_size=32, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="train_vae: `model` must match the checkpoint's architecture"):
        train_vae(VAE(64, 4, hidden=(16,)), xt, xv, epochs=2, batch_size=32, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="train_vae: the training settings must match the checkpoint's"):
        train_vae(VAE(64, 3, hidden=(16,)), xt, xv, epochs=2, batch_size=32, lr=0.5, checkpoint_dir=tmp_path,
                  resume=True)
    with pytest.raises(ValueError, match=r"train_vae: `x_val` must be a tensor of shape \(\*, 64\)"):
        train_vae(VAE(64, 3, hidden=(16,)), xt, xv[:, :10], epochs=1, batch_size=32)


def test_resolve_device_auto(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ValueError, match="resolve_device: `device` must be available; received 'cuda'"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"


def test_cli_runs_and_resumes(tmp_path, capsys):
    args = ["--epochs", "1", "--latent-dim", "2", "--hidden", "16", "--iwae-k", "5", "--device", "cpu",
            "--checkpoint-dir", str(tmp_path), "--no-progress", "--threads", "1"]
    assert main(args + ["--resume"]) == 0  # nothing to resume yet: said, then trained from scratch
    captured = capsys.readouterr()
    assert f"--resume given but {tmp_path / 'last.pt'} does not exist; training from scratch" in captured.err
    out1 = json.loads(captured.out)
    assert out1["epochs"] == 1 and out1["test_iwae_5"] >= out1["test_elbo"] - 5.0
    assert (tmp_path / "last.pt").is_file()
    # Mark the saved history: a real resume keeps it, a silent restart from scratch would overwrite it.
    state = load_checkpoint(tmp_path / "last.pt")
    state["history"]["val_elbo"][0] = 123.0
    save_checkpoint(tmp_path / "last.pt", {k: v for k, v in state.items() if k != "format"})
    assert main(args[:1] + ["2"] + args[2:] + ["--resume"]) == 0
    captured = capsys.readouterr()
    assert f"vi-vae: resuming from {tmp_path / 'last.pt'}" in captured.err
    out2 = json.loads(captured.out)
    assert out2["epochs"] == 2 and np.isfinite(out2["test_iwae_5"])
    resumed = load_checkpoint(tmp_path / "last.pt")
    assert resumed["epoch"] == 2 and resumed["history"]["val_elbo"][0] == 123.0
    assert len(resumed["history"]["val_elbo"]) == 2
    assert main(args[:1] + ["3"] + args[2:] + ["--resume", "--lr", "0.01"]) == 2
    assert "the training settings must match the checkpoint's" in capsys.readouterr().err
    # Without --resume an existing checkpoint is overwritten: said before training starts.
    assert main(args) == 0
    assert f"{tmp_path / 'last.pt'} exists and will be overwritten" in capsys.readouterr().err
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 1
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    assert main(args[:1] + ["3"] + args[2:] + ["--resume"]) == 2
    assert "is corrupt or not a safe vi_lib checkpoint" in capsys.readouterr().err


def test_cli_progress_bar_and_auto_device(tmp_path):
    # A subprocess: the root conftest sets TQDM_DISABLE=1, which tqdm reads when it is imported.
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    args = ["--epochs", "2", "--latent-dim", "2", "--hidden", "16", "--iwae-k", "2", "--device", "auto",
            "--checkpoint-dir", str(tmp_path), "--threads", "1"]
    r = subprocess.run([sys.executable, "-m", "vi_lib.vae", *args], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 0, r.stderr
    assert "epochs: 100%" in r.stderr and "2/2" in r.stderr  # the tqdm bar, on stderr
    assert json.loads(r.stdout)["device"] == ("cuda" if torch.cuda.is_available() else "cpu")


def test_python_dash_m_help():
    r = subprocess.run([sys.executable, "-m", "vi_lib.vae", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--resume" in r.stdout and "--device" in r.stdout


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes()


def test_parse_idx_roundtrip_and_errors():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(_idx(arr)), arr)
    raw = _idx(arr)
    with pytest.raises(MNISTError, match="bad magic number"):
        parse_idx(b"\x01" + raw[1:])
    with pytest.raises(MNISTError, match="only unsigned bytes"):
        parse_idx(raw[:2] + b"\x0d" + raw[3:])
    with pytest.raises(MNISTError, match=r"requires 40 \(truncated or corrupt\)"):
        parse_idx(raw[:-1])
    with pytest.raises(MNISTError, match="truncated inside its header"):
        parse_idx(raw[:9])
    with pytest.raises(MNISTError, match="shorter than the 4-byte magic"):
        parse_idx(b"\x00")


def test_parse_idx_rejects_zero_dims_and_non_bytes():
    with pytest.raises(MNISTError, match="declares 0 dimensions"):
        parse_idx(bytes([0, 0, 8, 0]))
    with pytest.raises(MNISTError, match="`data` must be bytes; received str"):
        parse_idx("0008")


def _fake_mnist(folder, n_train=6, label_shape=None):
    """Four small gzipped IDX files and their MD5s; ``label_shape`` overrides the training labels' shape."""
    rng = np.random.default_rng(0)
    payload = {
        "train-images-idx3-ubyte.gz": _idx(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte.gz": _idx(rng.integers(0, 10, label_shape or n_train, dtype=np.uint8)),
        "t10k-images-idx3-ubyte.gz": _idx(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte.gz": _idx(rng.integers(0, 10, 3, dtype=np.uint8)),
    }
    folder.mkdir()
    md5 = {}
    for name, raw in payload.items():
        gz = gzip.compress(raw, mtime=0)
        (folder / name).write_bytes(gz)
        md5[name] = hashlib.md5(gz).hexdigest()
    return md5


def test_download_with_file_url_and_fake_opener(tmp_path, monkeypatch):
    md5 = _fake_mnist(tmp_path / "mirror")
    cache = download_mnist(tmp_path / "cache", base_url=(tmp_path / "mirror").as_uri() + "/", files=md5)
    assert sorted(p.name for p in cache.iterdir()) == sorted(md5)
    calls = []

    def opener(url):
        calls.append(url)
        return io.BytesIO(b"garbage")

    download_mnist(cache, base_url="https://example.invalid/", files=md5, opener=opener)
    assert calls == []  # cached, verified files are not fetched again
    with pytest.raises(MNISTError, match="checksum mismatch for train-images-idx3-ubyte.gz"):
        download_mnist(tmp_path / "other", base_url="https://example.invalid/", files=md5, opener=opener)
    assert list((tmp_path / "other").iterdir()) == []  # nothing half-written

    def offline(url):
        raise OSError("no network")

    with pytest.raises(MNISTError, match="could not fetch https://example.invalid/train-images"):
        download_mnist(tmp_path / "other", base_url="https://example.invalid/", files=md5, opener=offline)
    assert list((tmp_path / "other").iterdir()) == []
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", md5)
    x_tr, y_tr, x_te, y_te = load_mnist(cache, download=False)
    assert x_tr.shape == (6, 784) and y_tr.shape == (6,) and x_te.shape == (3, 784) and y_te.shape == (3,)
    monkeypatch.setenv("VI_LIB_DATA_DIR", str(tmp_path / "env"))
    assert mnist_cache_dir() == tmp_path / "env" / "mnist"
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    with pytest.raises(MNISTError, match="is not a valid gzip file"):
        load_mnist(cache, download=False)
    with pytest.raises(MNISTError, match="is missing"):
        load_mnist(tmp_path / "empty", download=False)


def test_download_replaces_bad_cache_and_survives_interruption(tmp_path, monkeypatch):
    md5 = _fake_mnist(tmp_path / "mirror")
    mirror = (tmp_path / "mirror").as_uri() + "/"
    cache = download_mnist(tmp_path / "cache", base_url=mirror, files=md5)
    bad = cache / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"stale partial file")
    download_mnist(cache, base_url=mirror, files=md5)  # a cached file with a wrong MD5 is fetched again
    assert hashlib.md5(bad.read_bytes()).hexdigest() == md5["t10k-images-idx3-ubyte.gz"]

    class Interrupted(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 0:
                raise ConnectionResetError("connection reset")
            return super().read(10)

    with pytest.raises(MNISTError, match="could not fetch .*connection reset"):
        download_mnist(tmp_path / "other", base_url=mirror, files=md5, opener=lambda url: Interrupted(b"x" * 100))
    assert list((tmp_path / "other").iterdir()) == []  # no partial file under the final name, no temp file
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", md5)
    x_tr, _, x_te, _ = load_mnist(tmp_path / "fresh", base_url=mirror)  # download=True path
    assert x_tr.shape == (6, 784) and x_te.shape == (3, 784) and x_tr.dtype == np.uint8
    # A labels file where images belong: valid IDX, wrong rank.
    (tmp_path / "fresh" / "train-images-idx3-ubyte.gz").write_bytes(
        (tmp_path / "fresh" / "train-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(MNISTError, match=r"train-images-idx3-ubyte.gz must hold a 3-D array; received shape \(6,\)"):
        load_mnist(tmp_path / "fresh", download=False)


def test_cli_on_cached_mnist_binarizes(tmp_path, monkeypatch, capsys):
    md5 = _fake_mnist(tmp_path / "mnist", n_train=12)
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", md5)  # cached files verify: no network
    args = ["--data", "mnist", "--data-dir", str(tmp_path / "mnist"), "--epochs", "1", "--batch-size", "4",
            "--latent-dim", "2", "--hidden", "8", "--iwae-k", "3", "--device", "cpu", "--no-progress",
            "--checkpoint-dir", str(tmp_path / "ckpt"), "--threads", "1"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"] == "mnist" and np.isfinite(out["test_iwae_3"])
    state = load_checkpoint(tmp_path / "ckpt" / "last.pt")
    assert state["model_config"]["total_count"] == 1 and state["model_config"]["data_dim"] == 784
    assert state["train_config"]["n_train"] == 10  # 12 images: 2 held out for validation


def test_load_mnist_rejects_inconsistent_files(tmp_path, monkeypatch):
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", _fake_mnist(tmp_path / "a", n_train=6, label_shape=(5,)))
    with pytest.raises(MNISTError, match="image and label counts differ"):
        load_mnist(tmp_path / "a", download=False)
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", _fake_mnist(tmp_path / "b", label_shape=(6, 2)))
    with pytest.raises(MNISTError, match=r"train-labels-idx1-ubyte.gz must hold a 1-D array"):
        load_mnist(tmp_path / "b", download=False)


def test_parse_idx_checks_both_leading_zero_bytes():
    raw = _idx(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(MNISTError, match="bad magic number"):
        parse_idx(raw[:1] + b"\x07" + raw[2:])

