"""A fast, resumable VAE training loop.

Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .._validation import ValidationError, check_int, check_positive, float64_guard
from .checkpoint import load_checkpoint, save_checkpoint
from .model import VAE, _check_counts, _check_data, _elbo_terms, _iwae_objective

__all__ = ["TrainHistory", "train_vae", "evaluate_elbo", "kl_weight", "resolve_device"]


@dataclass
class TrainHistory:
    """Per-epoch mean ELBOs (nats per image) and the KL weight used in each epoch."""

    train_elbo: list[float] = field(default_factory=list)
    val_elbo: list[float] = field(default_factory=list)
    beta: list[float] = field(default_factory=list)


def resolve_device(device: str) -> torch.device:
    """Map ``"auto"``, ``"cpu"`` or ``"cuda"`` to a torch device (``auto`` picks CUDA when available).

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}
        The requested device.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ValidationError(f"resolve_device: `device` must be one of 'auto', 'cpu', 'cuda'; received {device!r}.")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValidationError("resolve_device: `device` must be available; received 'cuda' but torch sees no GPU.")
    return torch.device(device)


def kl_weight(epoch: int, warmup_epochs: int) -> float:
    r"""Linear KL warm-up :math:`\beta_e = \min(1, (e + 1) / (W + 1))` for epoch ``e`` (0-based).

    ``warmup_epochs = 0`` gives :math:`\beta = 1` throughout (the plain ELBO).

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    epoch : int >= 0
        The epoch, counted from 0.
    warmup_epochs : int >= 0
        Length :math:`W` of the warm-up.

    References
    ----------
    bowman2016generating, sonderby2016ladder
    """
    epoch = check_int("epoch", epoch, minimum=0, where="kl_weight")
    warmup_epochs = check_int("warmup_epochs", warmup_epochs, minimum=0, where="kl_weight")
    return min(1.0, (epoch + 1) / (warmup_epochs + 1))


@torch.no_grad()
def evaluate_elbo(model: VAE, x: torch.Tensor, *, seed: int = 0, batch_size: int = 1024) -> float:
    """Mean single-sample ELBO (nats per image) over ``x`` with fixed noise, accumulated in float64.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    model : VAE
        The model, evaluated in eval mode without gradients.
    x : torch.Tensor of shape (n, d)
        Images (grey levels in ``0 .. total_count``).
    seed : int, default 0
        Seed of the noise, so that two evaluations of one model agree.
    batch_size : int >= 1, default 1024
        Images per forward pass.
    """
    if not isinstance(x, torch.Tensor):
        raise ValidationError(f"evaluate_elbo: `x` must be a torch tensor; received {type(x).__name__}.")
    _check_data(model, x, "evaluate_elbo")
    check_int("batch_size", batch_size, minimum=1, where="evaluate_elbo")
    gen = torch.Generator(device=x.device).manual_seed(check_int("seed", seed, minimum=0, where="evaluate_elbo"))
    total = 0.0
    for i in range(0, x.shape[0], batch_size):
        rec, kl = _elbo_terms(model, x[i:i + batch_size], generator=gen)
        total += float((rec - kl.sum(-1)).double().sum())
    return total / x.shape[0]


def _epoch_generator(seed: int, epoch: int, device: torch.device) -> torch.Generator:
    # One generator per epoch derived from (seed, epoch): resuming at any epoch boundary
    # reproduces exactly the batches and noise of an uninterrupted run.
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + epoch)


def _cuda_graph_step(model: VAE, opt: torch.optim.Optimizer, batch_size: int, data_dim: int):
    """Capture forward, backward and Adam step of one batch as a single CUDA graph.

    Follows the whole-network capture recipe of the PyTorch CUDA-graphs documentation: static
    input tensors, warm-up on a side stream, ``capturable=True`` Adam, noise from the default
    CUDA generator (graph-safe). Returns ``(static_x, static_beta, static_elbo, graph)``, where
    ``static_elbo`` holds the batch's mean ELBO (``beta = 1``, whatever the KL weight of the step).
    """
    dev = next(model.parameters()).device
    # Warm-up steps change the parameters and Adam's moments: snapshot them, restore in place after capture
    # (in place, because the graph holds these very tensors), so the captured run starts where eager would.
    params = [p.detach().clone() for p in model.parameters()]
    moments = {id(p): {k: v.clone() for k, v in opt.state[p].items() if torch.is_tensor(v)}
               for p in model.parameters() if p in opt.state}
    static_x = torch.zeros(batch_size, data_dim, device=dev)
    static_beta = torch.ones((), device=dev)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            rec, kl = _elbo_terms(model, static_x)
            (-(rec - static_beta * kl.sum(-1)).mean()).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        rec, kl = _elbo_terms(model, static_x)
        kl_sum = kl.sum(-1)
        static_loss = -(rec - static_beta * kl_sum).mean()
        static_elbo = (rec - kl_sum).detach().mean()
        static_loss.backward()
        opt.step()
    with torch.no_grad():
        for p, saved in zip(model.parameters(), params):
            p.copy_(saved)
            for k, v in opt.state[p].items():
                if torch.is_tensor(v):
                    v.copy_(moments[id(p)][k]) if id(p) in moments else v.zero_()
    return static_x, static_beta, static_elbo, graph


@float64_guard
def train_vae(model: VAE, x_train: torch.Tensor, x_val: torch.Tensor | None = None, *, epochs: int,
              batch_size: int = 128, lr: float = 1e-3, seed: int = 0, warmup_epochs: int = 0,
              checkpoint_dir: str | os.PathLike | None = None, resume: bool = False, progress: bool = False,
              cuda_graph: bool = True, iwae_k: int = 1) -> TrainHistory:
    r"""Maximise the (optionally KL-annealed) ELBO with Adam, one epoch at a time.

    The data stay one tensor on the model's device; each epoch draws a permutation and takes
    batches by indexing (no per-item ``Dataset``), which keeps the loop compute-bound. The last
    incomplete batch is dropped. Adam uses the fused implementation (fastest on CPU too, measured).
    On CUDA the whole step is captured once as a CUDA graph and replayed (unmeasured in this book's
    CI, which has no GPU); its noise comes from the default CUDA generator. With ``checkpoint_dir``
    the model, optimizer, history and training settings are saved after every epoch (``last.pt``);
    ``resume=True`` continues from it and, on CPU, gives the same final parameters as an
    uninterrupted run, because each epoch's randomness is derived from ``(seed, epoch)``. Resuming
    with another ``seed``, ``batch_size``, ``lr``, ``warmup_epochs`` or training-set size is an
    error (it would silently change the run).

    With ``iwae_k = K > 1`` the objective is the importance-weighted bound
    :math:`\mathcal{L}_K` (:func:`iwae_objective`, Burda et al.) instead of the ELBO, with the same
    optimiser and batches; the recorded training value is then the batch mean of
    :math:`\mathcal{L}_K`, and KL warm-up is not available (it has no meaning for
    :math:`\mathcal{L}_K`). These steps run eagerly, without a CUDA graph.

    Explained in Chapter: A variational autoencoder (chapters/vae.ipynb).

    Parameters
    ----------
    model : VAE
        Model to train in place (its device is used).
    x_train : torch.Tensor, shape (n, data_dim)
        Training counts.
    x_val : torch.Tensor, shape (m, data_dim), optional
        Validation counts; the validation ELBO is recorded each epoch.
    epochs : int
        Total number of epochs (including those already done when resuming).
    batch_size : int
        Minibatch size.
    lr : float
        Adam learning rate.
    seed : int
        Seed of the batch order and reparameterization noise.
    warmup_epochs : int
        Linear KL warm-up length (:func:`kl_weight`); 0 trains the plain ELBO.
    checkpoint_dir : str or path-like, optional
        Folder for ``last.pt``.
    resume : bool
        Continue from ``checkpoint_dir/last.pt`` if it exists (else start from scratch).
    progress : bool
        Show a tqdm progress bar over epochs.
    cuda_graph : bool
        Use the CUDA-graph step on CUDA devices.
    iwae_k : int
        Importance samples per image of the training objective (1: the ELBO; default).

    Returns
    -------
    TrainHistory
        Per-epoch mean training ELBO (``beta = 1``, single sample, running mean over the epoch's
        batches; :math:`\mathcal{L}_K` when ``iwae_k > 1``), validation ELBO (nats per image) and the
        KL weight used.

    References
    ----------
    kingma2014autoencoding, bowman2016generating, burda2016importance
    """
    where = "train_vae"
    if not isinstance(model, VAE):
        raise ValidationError(f"{where}: `model` must be a VAE; received {type(model).__name__}.")
    epochs = check_int("epochs", epochs, minimum=1, where=where)
    batch_size = check_int("batch_size", batch_size, minimum=1, where=where)
    lr = check_positive("lr", lr, where=where)
    seed = check_int("seed", seed, minimum=0, where=where)
    warmup_epochs = check_int("warmup_epochs", warmup_epochs, minimum=0, where=where)
    iwae_k = check_int("iwae_k", iwae_k, minimum=1, where=where)
    if iwae_k > 1 and warmup_epochs > 0:
        raise ValidationError(f"{where}: `warmup_epochs` must be 0 when `iwae_k` > 1 (KL warm-up applies to the "
                              f"ELBO only); received warmup_epochs={warmup_epochs} with iwae_k={iwae_k}.")
    for name, arr in (("x_train", x_train), ("x_val", x_val)):
        if arr is None and name == "x_val":
            continue
        if not isinstance(arr, torch.Tensor) or arr.ndim != 2 or arr.shape[1] != model.data_dim:
            shape = tuple(arr.shape) if isinstance(arr, torch.Tensor) else type(arr).__name__
            raise ValidationError(f"{where}: `{name}` must be a tensor of shape (*, {model.data_dim}); "
                                  f"received {shape}.")
        _check_counts(name, arr, model.total_count, where)
    if x_train.shape[0] < batch_size:
        raise ValidationError(f"{where}: `batch_size` must be at most the number of training images "
                              f"{x_train.shape[0]}; received {batch_size}.")
    device = next(model.parameters()).device
    x_train = x_train.to(device=device, dtype=torch.float32)
    x_val = None if x_val is None else x_val.to(device=device, dtype=torch.float32)
    use_graph = cuda_graph and device.type == "cuda" and iwae_k == 1
    opt = torch.optim.Adam(model.parameters(), lr=lr, capturable=use_graph,
                           fused=True)
    history = TrainHistory()
    start = 0
    n = x_train.shape[0]
    train_config = {"seed": seed, "batch_size": batch_size, "lr": lr, "warmup_epochs": warmup_epochs, "n_train": n}
    if iwae_k > 1:  # (absent for the ELBO, so that earlier checkpoints still resume)
        train_config["iwae_k"] = iwae_k
    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / "last.pt"
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt, map_location=device)
        if state.get("model_config") != model.config():
            raise ValidationError(f"{where}: `model` must match the checkpoint's architecture "
                                  f"{state.get('model_config')}; received {model.config()}.")
        if state.get("train_config") != train_config:
            raise ValidationError(f"{where}: the training settings must match the checkpoint's "
                                  f"{state.get('train_config')}; received {train_config}.")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        for group in opt.param_groups:  # the checkpoint may come from another device
            group["capturable"] = use_graph
        history = TrainHistory(**state["history"])
        start = int(state["epoch"])
    n_batches = n // batch_size
    graph_parts = _cuda_graph_step(model, opt, batch_size, model.data_dim) if use_graph and start < epochs else None
    epoch_iter = range(start, epochs)
    if progress:
        from tqdm import tqdm

        epoch_iter = tqdm(epoch_iter, total=epochs, initial=start, desc="epochs", unit="epoch")
    for epoch in epoch_iter:
        beta = kl_weight(epoch, warmup_epochs)
        gen = _epoch_generator(seed, epoch, device)
        perm = torch.randperm(n, generator=gen, device=device)
        model.train()
        total = torch.zeros((), dtype=torch.float64, device=device)
        for b in range(n_batches):
            xb = x_train[perm[b * batch_size:(b + 1) * batch_size]]
            if graph_parts is not None:
                static_x, static_beta, static_elbo, graph = graph_parts
                static_x.copy_(xb)
                static_beta.fill_(beta)
                graph.replay()
                total += static_elbo.double()
                continue
            opt.zero_grad(set_to_none=True)
            if iwae_k > 1:
                bound = _iwae_objective(model, xb, iwae_k, generator=gen).mean()
                (-bound).backward()
                opt.step()
                total += bound.detach().double()
                continue
            rec, kl = _elbo_terms(model, xb, generator=gen)
            loss = -(rec - beta * kl.sum(-1)).mean()
            loss.backward()
            opt.step()
            with torch.no_grad():
                total += (rec - kl.sum(-1)).mean().double()
        model.eval()
        history.train_elbo.append(float(total) / n_batches)
        history.beta.append(beta)
        if x_val is not None:
            history.val_elbo.append(evaluate_elbo(model, x_val, seed=seed))
        if progress and x_val is not None:
            epoch_iter.set_postfix(val_elbo=f"{history.val_elbo[-1]:.2f}")
        if ckpt is not None:
            save_checkpoint(ckpt, {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1,
                                   "history": {"train_elbo": history.train_elbo, "val_elbo": history.val_elbo,
                                               "beta": history.beta},
                                   "model_config": model.config(), "train_config": train_config})
    return history


