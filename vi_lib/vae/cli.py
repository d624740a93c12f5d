"""Command-line VAE trainer: ``python -m vi_lib.vae`` or ``vi-vae``.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CheckpointError
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
        "interrupt it and run the same command with --resume to continue from the last epoch.",
    )
    p.add_argument("--data", choices=["digits", "mnist"], default="digits",
                   help="dataset: scikit-learn's 8x8 digits (no download) or MNIST (downloaded once, "
                   "checksummed) (default: %(default)s)")
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
                   help="MNIST cache folder (default: $VI_LIB_DATA_DIR/mnist, else ~/.cache/vi_lib/mnist)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return p


def _load(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if args.data == "digits":
        from .data import load_digits_split

        s = load_digits_split(seed=0)
        return s.x_train, s.x_val, s.x_test, s.total_count
    from .mnist import load_mnist

    x_tr, _, x_te, _ = load_mnist(args.data_dir)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trainer; returns the process exit status.

    Parameters
    ----------
    argv : sequence of str or None
        Command-line arguments (``None``: ``sys.argv[1:]``), as for ``vi-vae --help``.
    """
    args = build_parser().parse_args(argv)
    from .model import VAE

    try:
        if args.threads is not None:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device)
        x_tr, x_va, x_te, n = _load(args)
        _announce_checkpoint(Path(args.checkpoint_dir) / "last.pt", args.resume)
        torch.manual_seed(args.seed)
        model = VAE(x_tr.shape[1], args.latent_dim, hidden=args.hidden, total_count=n).to(device)
        t = {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in
             (("tr", x_tr), ("va", x_va), ("te", x_te))}
        hist = train_vae(model, t["tr"], t["va"], epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, warmup_epochs=args.warmup_epochs, checkpoint_dir=args.checkpoint_dir,
                         resume=args.resume, progress=not args.no_progress)
        test_elbo = evaluate_elbo(model, t["te"], seed=args.seed)
        iw = float(np.mean(np.concatenate([iwae_bound(model, t["te"][i:i + 500], args.iwae_k, seed=args.seed)
                                           for i in range(0, t["te"].shape[0], 500)])))
    except (CheckpointError, MNISTError, ValueError) as exc:
        print(f"vi-vae: error: {exc}", file=sys.stderr)
        return 2
    result = {"data": args.data, "device": str(device), "epochs": args.epochs,
              "val_elbo": hist.val_elbo[-1] if hist.val_elbo else None,
              "test_elbo": test_elbo, f"test_iwae_{args.iwae_k}": iw}
    print(json.dumps(result))
    return 0
