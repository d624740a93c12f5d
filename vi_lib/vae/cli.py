"""Command-line VAE trainer: ``python -m vi_lib.vae`` or ``vi-vae``.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint
from .evaluate import iwae_bound
from .mnist import MNISTError
from .train import evaluate_elbo, resolve_device, train_vae

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vi-vae``."""
    p = argparse.ArgumentParser(
        prog="vi-vae",
        description="Train a VAE on the 8x8 digits (binomial likelihood over 17 grey levels) or MNIST "
        "(binarized at 128, Bernoulli likelihood); report the test ELBO and the IWAE log-likelihood bound "
        "in nats per image as JSON on the last line of output.",
        epilog="Example: vi-vae --data digits --epochs 50 --checkpoint-dir runs/digits ; "
        "interrupt it (Ctrl-C: exit status 130, the last complete epoch stays saved) and run the same command "
        "with --resume to continue from that epoch. MNIST: vi-vae --data mnist --data-dir DIR --no-download "
        "uses a copy already in DIR and never touches the network.",
    )
    p.add_argument("--data", choices=["digits", "mnist"], default="digits",
                   help="dataset: scikit-learn's 8x8 digits (no download) or MNIST (a local copy if there is "
                   "one, else downloaded once; verified by the MD5s of the decompressed files) (default: "
                   "%(default)s)")
    p.add_argument("--epochs", type=int, default=50, help="total number of training epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=128, help="minibatch size (default: %(default)s)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    p.add_argument("--latent-dim", type=int, default=8, help="dimension of the latent code z (default: %(default)s)")
    p.add_argument("--hidden", type=int, nargs="+", default=[128],
                   help="hidden layer widths of the encoder and of the decoder (default: %(default)s)")
    p.add_argument("--warmup-epochs", type=int, default=0,
                   help="epochs of linear KL warm-up (the KL weight rises from 0 to 1); 0 trains the ELBO "
                   "(default: %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for the weights, the batches and the noise (default: %(default)s)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="auto picks cuda when available, else cpu (default: %(default)s)")
    p.add_argument("--checkpoint-dir", default="vae-checkpoints",
                   help="folder for last.pt, written after every epoch (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue from CHECKPOINT_DIR/last.pt (same settings required); without it, an existing "
                   "last.pt is overwritten. Either way, what happens is printed before training")
    p.add_argument("--iwae-k", type=int, default=1000,
                   help="importance samples for the final test log-likelihood bound (default: %(default)s)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder: the four IDX files, .gz or not, '-idx' or '.idx' in the name, there or in "
                   "its MNIST/raw (torchvision's layout); downloads go there too (default: "
                   "$VI_LIB_DATA_DIR/mnist, else ~/.cache/vi_lib/mnist)")
    p.add_argument("--no-download", action="store_true",
                   help="never touch the network: use the MNIST copy in DATA_DIR or fail naming what is missing")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if args.data == "digits":
        from .data import load_digits_split

        s = load_digits_split(seed=0)
        return s.x_train, s.x_val, s.x_test, s.total_count
    from .mnist import load_mnist

    x_tr, _, x_te, _ = load_mnist(args.data_dir, download=not args.no_download)
    # Fixed binarization at 128: a Bernoulli (Binomial n = 1) likelihood, honest nats.
    x_tr = (x_tr >= 128).astype(np.float32)
    x_te = (x_te >= 128).astype(np.float32)
    n_val = min(10000, x_tr.shape[0] // 6)  # the last 10,000 of the 60,000 training images validate
    return x_tr[:-n_val], x_tr[-n_val:], x_te, 1


def _announce_checkpoint(ckpt: Path, resume: bool) -> None:
    """Say on stderr what happens to an existing (or missing) checkpoint, so neither is silent."""
    if resume and ckpt.exists():
        print(f"vi-vae: resuming from {ckpt}", file=sys.stderr)
    elif resume:
        print(f"vi-vae: --resume given but {ckpt} does not exist; training from scratch", file=sys.stderr)
    elif ckpt.exists():
        print(f"vi-vae: {ckpt} exists and will be overwritten after the first epoch (add --resume to continue "
              "it instead)", file=sys.stderr)


def _report_interrupt(ckpt: Path, argv: Sequence[str], stage: str) -> None:
    """After Ctrl-C: say what is saved and the command that resumes; further Ctrl-C is ignored meanwhile."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to guard
        previous = None
    try:
        resume_argv = list(argv) + ([] if "--resume" in argv else ["--resume"])
        command = "vi-vae " + shlex.join(resume_argv)
        saved = None
        if ckpt.is_file():
            try:
                saved = int(load_checkpoint(ckpt)["epoch"])
            except (CheckpointError, KeyError, TypeError, ValueError):
                saved = None
        if saved is None:
            print(f"vi-vae: interrupted {stage}; no complete epoch was saved ({ckpt} "
                  f"{'is unreadable' if ckpt.exists() else 'does not exist'}). To start again: {command}",
                  file=sys.stderr)
        else:
            print(f"vi-vae: interrupted {stage}; the current step was discarded and {ckpt} holds the last complete "
                  f"epoch ({saved}). To resume: {command}", file=sys.stderr)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trainer; returns the process exit status (0, 2 for errors, 130 after Ctrl-C).

    On Ctrl-C (``KeyboardInterrupt``) the step in progress is discarded: the checkpoint on disk
    (written atomically after every epoch) is left holding the last complete epoch, the command
    that resumes is printed on stderr, and the status is 130, without a traceback.

    Parameters
    ----------
    argv : sequence of str or None
        Command-line arguments (``None``: ``sys.argv[1:]``), as for ``vi-vae --help``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from .model import VAE

    ckpt = Path(args.checkpoint_dir) / "last.pt"
    stage = "before training"
    try:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device)
        x_tr, x_va, x_te, n = _load(args)
        _announce_checkpoint(ckpt, args.resume)
        torch.manual_seed(args.seed)
        model = VAE(x_tr.shape[1], args.latent_dim, hidden=args.hidden, total_count=n).to(device)
        t = {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in
             (("tr", x_tr), ("va", x_va), ("te", x_te))}
        stage = "during training"
        hist = train_vae(model, t["tr"], t["va"], epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, warmup_epochs=args.warmup_epochs, checkpoint_dir=args.checkpoint_dir,
                         resume=args.resume, progress=not args.no_progress)
        stage = "during the final evaluation (training had finished)"
        test_elbo = evaluate_elbo(model, t["te"], seed=args.seed)
        iw = float(np.mean(np.concatenate([iwae_bound(model, t["te"][i:i + 500], args.iwae_k, seed=args.seed)
                                           for i in range(0, t["te"].shape[0], 500)])))
    except (CheckpointError, MNISTError, ValueError) as exc:
        print(f"vi-vae: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _report_interrupt(ckpt, argv, stage)
        return 130
    result = {"data": args.data, "device": str(device), "epochs": args.epochs,
              "val_elbo": hist.val_elbo[-1] if hist.val_elbo else None,
              "test_elbo": test_elbo, f"test_iwae_{args.iwae_k}": iw}
    print(json.dumps(result))
    return 0
