"""Seconds per epoch: vi_lib's VAE loop vs a pytorch/examples-style DataLoader loop.

Usage: ``python benchmarks/vae_benchmark.py [--epochs 2] [--device auto|cpu|cuda] [--quick] [--data-dir DIR]``.

Both loops train the same 784-400-20 MLP VAE (Bernoulli decoder, summed BCE = negative Bernoulli
log-likelihood, Adam 1e-3, batch 128) from the same initial weights on the same data: MNIST
(binarized at 128) when a verified local copy is found (``--data-dir``, else the folder of
``vi_lib.vae.mnist_cache_dir``; never downloaded), else synthetic 28x28 binary images; it says which, and why
MNIST was not used. The reference loop follows pytorch/examples vae/main.py: a per-item
``Dataset``, a shuffling ``DataLoader``, ``model(x)`` returning reconstructions, ``mu``, ``logvar``.
Ours keeps the data in one tensor, batches by indexing a permutation, uses fused Adam (CPU and
CUDA), and on CUDA replays the whole step as one CUDA graph. Not a test: timings vary.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from vi_lib.vae import VAE, MNISTError, evaluate_elbo, load_mnist, resolve_device, train_vae


class ItemDataset(Dataset):
    """Per-item access, as torchvision datasets provide."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.x[i]), 0


class ExamplesVAE(nn.Module):
    """The pytorch/examples VAE (fc1 784-400, fc21/fc22 400-20, fc3 20-400, fc4 400-784, ReLU)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def reference_epoch(model, loader, opt, device) -> float:
    model.train()
    total = 0.0
    for data, _ in loader:
        data = data.to(device)
        opt.zero_grad()
        recon, mu, logvar = model(data)
        bce = F.binary_cross_entropy(recon, data.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        loss = bce + kld
        loss.backward()
        total += loss.item()
        opt.step()
    return total / len(loader.dataset)


@torch.no_grad()
def reference_test_loss(model, x: torch.Tensor) -> float:
    model.eval()
    g = torch.Generator(device=x.device).manual_seed(0)
    h = F.relu(model.fc1(x))
    mu, logvar = model.fc21(h), model.fc22(h)
    z = mu + torch.randn(mu.shape, generator=g, device=x.device) * torch.exp(0.5 * logvar)
    recon = torch.sigmoid(model.fc4(F.relu(model.fc3(z))))
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return float(bce + kld) / x.shape[0]


def ours_from(ref: ExamplesVAE) -> VAE:
    """A vi_lib VAE (ReLU swapped in to match) with the reference's initial weights."""
    m = VAE(784, 20, hidden=(400,), total_count=1)
    m.encoder[1] = nn.ReLU()
    m.decoder[1] = nn.ReLU()
    with torch.no_grad():
        m.encoder[0].load_state_dict(ref.fc1.state_dict())
        m.encoder[2].weight.copy_(torch.cat([ref.fc21.weight, ref.fc22.weight]))
        m.encoder[2].bias.copy_(torch.cat([ref.fc21.bias, ref.fc22.bias]))
        m.decoder[0].load_state_dict(ref.fc3.state_dict())
        m.decoder[2].load_state_dict(ref.fc4.state_dict())
    return m


def load_data(quick: bool, data_dir: str | None = None):
    try:
        x_tr, _, x_te, _ = load_mnist(data_dir, download=False)
        x_tr = (x_tr >= 128).astype(np.float32)
        x_te = (x_te >= 128).astype(np.float32)
        source = "MNIST (local copy, verified, binarized at 128)"
    except MNISTError as exc:
        print(f"MNIST not used: {exc}")
        rng = np.random.default_rng(0)
        # Synthetic binary images with structure: random blobs thresholded, so the VAE has something to learn.
        proto = rng.random((10, 784)) < 0.2
        idx = rng.integers(0, 10, 70000)
        flip = rng.random((70000, 784)) < 0.05
        x = (proto[idx] ^ flip).astype(np.float32)
        x_tr, x_te = x[:60000], x[60000:]
        source = "synthetic 28x28 binary images (no usable local MNIST copy)"
    if quick:
        x_tr, x_te = x_tr[:12800], x_te[:2000]
    return x_tr, x_te, source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--quick", action="store_true", help="12,800 training images instead of 60,000")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=3, help="paired (reference, ours) runs; medians are reported")
    ap.add_argument("--data-dir", default=None,
                    help="folder with a local MNIST copy (see vi_lib.vae.find_mnist; default: the vi_lib cache)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    x_tr, x_te, source = load_data(args.quick, args.data_dir)
    print(f"data: {source}; train {x_tr.shape}, test {x_te.shape}; device {device}; torch {torch.__version__}; "
          f"threads {torch.get_num_threads()}; {platform.processor() or platform.machine()}")
    x_te_t = torch.as_tensor(x_te, device=device)
    x_tr_t = torch.as_tensor(x_tr, device=device)
    # The two loops alternate, `repeats` times, each time from the same initial weights, so that load
    # from other processes drifting during the run affects both; we report medians over the repeats.
    ref_times, ours_times, ratios = [], [], []
    for r in range(args.repeats):
        torch.manual_seed(0)
        ref = ExamplesVAE()
        ours = ours_from(ref).to(device)  # same initial weights
        ref = ref.to(device)
        loader = DataLoader(ItemDataset(x_tr), batch_size=128, shuffle=True)
        opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
        t = time.perf_counter()
        for _ in range(args.epochs):
            reference_epoch(ref, loader, opt, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        ref_s = (time.perf_counter() - t) / args.epochs
        t = time.perf_counter()
        train_vae(ours, x_tr_t, epochs=args.epochs, batch_size=128, lr=1e-3, seed=0)  # includes graph capture on CUDA
        if device.type == "cuda":
            torch.cuda.synchronize()
        ours_s = (time.perf_counter() - t) / args.epochs
        ref_times.append(ref_s)
        ours_times.append(ours_s)
        ratios.append(ref_s / ours_s)
        print(f"repeat {r + 1}/{args.repeats}: reference {ref_s:.2f} s/epoch, ours {ours_s:.2f} s/epoch, "
              f"speed-up {ref_s / ours_s:.2f}x")
    print(f"reference (Dataset + DataLoader): {np.median(ref_times):.2f} s/epoch (median); test loss "
          f"{reference_test_loss(ref, x_te_t):.2f} nats/image")
    print(f"vi_lib.vae.train_vae          : {np.median(ours_times):.2f} s/epoch (median); test loss "
          f"{-evaluate_elbo(ours, x_te_t):.2f} nats/image")
    print(f"speed-up: {np.median(ratios):.2f}x (median of {args.repeats} paired repeats; "
          f"range {min(ratios):.2f}x-{max(ratios):.2f}x)")


if __name__ == "__main__":
    main()
