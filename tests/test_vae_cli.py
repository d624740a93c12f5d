"""Tests for the VAE checkpoints, resume and command line (no network; the loader is in test_vae_mnist.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shlex
import signal
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch

from vi_lib.vae import (
    VAE,
    CheckpointError,
    load_checkpoint,
    load_digits_split,
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


def _fake_mnist(folder, n_train=12, dot=True):
    """The issue's layout: four small IDX files re-compressed by "another tool", named with '.idx'.

    Returns the MD5s of the decompressed data, to monkeypatch over ``MNIST_FILES``.
    """
    rng = np.random.default_rng(0)
    payload = {
        "train-images-idx3-ubyte": _idx(rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8)),
        "train-labels-idx1-ubyte": _idx(rng.integers(0, 10, n_train, dtype=np.uint8)),
        "t10k-images-idx3-ubyte": _idx(rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)),
        "t10k-labels-idx1-ubyte": _idx(rng.integers(0, 10, 3, dtype=np.uint8)),
    }
    folder.mkdir()
    for base, raw in payload.items():
        name = base.replace("-idx", ".idx") if dot else base
        (folder / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=1, mtime=1))
    return {base: hashlib.md5(raw).hexdigest() for base, raw in payload.items()}


def _refuse_network(monkeypatch):
    def refuse(url, *args, **kwargs):
        raise AssertionError(f"network touched: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


_MNIST_ARGS = ["--data", "mnist", "--epochs", "1", "--batch-size", "4", "--latent-dim", "2", "--hidden", "8",
               "--iwae-k", "3", "--device", "cpu", "--no-progress", "--threads", "1"]


@pytest.mark.parametrize("no_download", [False, True], ids=["download-allowed", "no-download"])
def test_cli_uses_a_recompressed_dot_named_copy_offline(tmp_path, monkeypatch, capsys, no_download):
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", _fake_mnist(tmp_path / "mnist"))
    _refuse_network(monkeypatch)
    args = _MNIST_ARGS + ["--data-dir", str(tmp_path / "mnist"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert main(args + (["--no-download"] if no_download else [])) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["data"] == "mnist" and np.isfinite(out["test_iwae_3"])
    state = load_checkpoint(tmp_path / "ckpt" / "last.pt")
    assert state["model_config"]["total_count"] == 1 and state["model_config"]["data_dim"] == 784
    assert state["train_config"]["n_train"] == 10  # 12 images: 2 held out for validation


def test_cli_no_download_names_what_is_missing(tmp_path, monkeypatch, capsys):
    md5 = _fake_mnist(tmp_path / "mnist")
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", md5)
    _refuse_network(monkeypatch)
    (tmp_path / "mnist" / "t10k-images.idx3-ubyte.gz").unlink()
    args = _MNIST_ARGS + ["--data-dir", str(tmp_path / "mnist"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert main(args + ["--no-download"]) == 2
    err = capsys.readouterr().err
    assert "vi-vae: error: load_mnist: downloading is disabled" in err
    assert "missing: t10k-images-idx3-ubyte" in err and str(tmp_path / "mnist") in err
    assert "could not fetch" not in err and "network" not in err
    assert not (tmp_path / "ckpt").exists()


def test_cli_reports_a_bad_copy_not_a_network_error(tmp_path, monkeypatch, capsys):
    """The issue: files present but refused, and the message spoke only of a failed download."""
    md5 = _fake_mnist(tmp_path / "mnist")
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_FILES", {**md5, "t10k-images-idx3-ubyte": "0" * 32})
    _refuse_network(monkeypatch)
    args = _MNIST_ARGS + ["--data-dir", str(tmp_path / "mnist"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mnist' / 't10k-images.idx3-ubyte.gz'}: checksum mismatch" in err
    assert f"is {md5['t10k-images-idx3-ubyte']}, expected {'0' * 32}" in err
    assert "re-download" in err and "--data-dir" in err and "download_mnist" not in err


def test_cli_network_error_only_after_an_attempt(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("vi_lib.vae.mnist.MNIST_MIRROR", "https://example.invalid/")

    def offline(url, *args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    args = _MNIST_ARGS + ["--data-dir", str(tmp_path / "empty"), "--checkpoint-dir", str(tmp_path / "ckpt")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte (or .gz" in err and "is missing, and downloading" in err
    assert "failed (no network)" in err


def test_ctrl_c_keeps_last_epoch_and_prints_how_to_resume(tmp_path, capsys):
    """SIGINT to a real training process: exit 130, no traceback, a loadable checkpoint, a working resume."""
    ckpt_dir = tmp_path / "ckpt"
    args = ["--epochs", "100000", "--latent-dim", "2", "--hidden", "8", "--batch-size", "64", "--iwae-k", "2",
            "--device", "cpu", "--checkpoint-dir", str(ckpt_dir), "--no-progress", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "vi_lib.vae", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (ckpt_dir / "last.pt").is_file():  # at least one complete epoch, so training is under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and out == ""
    state = load_checkpoint(ckpt_dir / "last.pt")
    saved = state["epoch"]
    assert saved >= 1 and len(state["history"]["val_elbo"]) == saved
    assert f"holds the last complete epoch ({saved}). To resume: vi-vae " in err
    hint = err.split("To resume: ")[1].strip().splitlines()[0]
    assert shlex.split(hint)[1:] == args + ["--resume"]
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["last.pt"]  # no temporary file left behind
    # The hint's command, with a total of one more epoch, continues from the saved one.
    resumed = shlex.split(hint)[1:]
    resumed[resumed.index("--epochs") + 1] = str(saved + 1)
    assert main(resumed) == 0
    assert f"vi-vae: resuming from {ckpt_dir / 'last.pt'}" in capsys.readouterr().err
    after = load_checkpoint(ckpt_dir / "last.pt")
    assert after["epoch"] == saved + 1 and after["history"]["val_elbo"][:saved] == state["history"]["val_elbo"]
