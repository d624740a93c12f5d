"""The CUDA-graph training path of vi_lib.vae.train_vae (runs only on a machine with a CUDA GPU).

CI has no GPU, so these tests skip there; run ``pytest tests/test_vae_cuda.py`` on a GPU machine
after changing ``vi_lib/vae/train.py``. The CPU path is covered by test_vae_model.py and
test_vae_cli.py.
"""

from __future__ import annotations

import pytest
import torch

from vi_lib.vae import VAE, load_digits_split, train_vae
from vi_lib.vae.checkpoint import load_checkpoint
from vi_lib.vae.train import _cuda_graph_step

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (CI has none): the CUDA-graph training step")


def _digits(device: str):
    s = load_digits_split()
    return (torch.tensor(s.x_train, dtype=torch.float32, device=device),
            torch.tensor(s.x_val, dtype=torch.float32, device=device))


def test_capture_restores_parameters_and_adam_state_and_replay_is_one_adam_step():
    torch.manual_seed(0)
    m = VAE(64, 4, hidden=(32,)).cuda()
    before = [p.detach().clone() for p in m.parameters()]
    lr = 1e-2
    opt = torch.optim.Adam(m.parameters(), lr=lr, capturable=True, fused=True)
    static_x, static_beta, static_elbo, graph = _cuda_graph_step(m, opt, 16, 64)
    # the warm-up steps before capture changed the parameters and Adam's state; both are restored
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))
    for p in m.parameters():
        assert all(not v.any() for v in opt.state[p].values() if torch.is_tensor(v))
    # one replay = Adam's first step: with its bias correction each coordinate moves by about lr
    # (a step counter left at the warm-up's value would give about 0.58 lr)
    static_x.copy_(torch.randint(0, 17, (16, 64), device="cuda").float())
    static_beta.fill_(1.0)
    graph.replay()
    torch.cuda.synchronize()
    for a, b in zip(before, m.parameters()):
        largest = float((b.detach() - a).abs().max())
        assert 0.9 * lr < largest <= 1.001 * lr
    assert torch.isfinite(static_elbo).item()


def test_graph_and_eager_training_reach_the_same_elbo():
    x_train, x_val = _digits("cuda")
    final = {}
    for graph in (True, False):
        torch.manual_seed(0)
        m = VAE(64, 4, hidden=(64,)).cuda()
        h = train_vae(m, x_train, x_val, epochs=15, batch_size=64, lr=3e-3, seed=0, cuda_graph=graph)
        assert len(h.val_elbo) == 15 and h.val_elbo[-1] > h.val_elbo[0] + 20.0
        assert all(torch.isfinite(torch.tensor(h.train_elbo)))
        final[graph] = h.val_elbo[-1]
    # the two paths draw different noise (default CUDA generator vs per-epoch generators), so they differ
    # like two seeds: on CPU, seven seeds gave final validation ELBOs with sd 1.6 nats (range -166.3 to
    # -162.1), so a difference of two runs has sd ~2.2 and 10 nats is about 4.5 of them
    assert abs(final[True] - final[False]) < 10.0


def test_graph_path_checkpoints_and_resumes(tmp_path):
    x_train, x_val = _digits("cuda")
    torch.manual_seed(0)
    m = VAE(64, 4, hidden=(32,)).cuda()
    train_vae(m, x_train, x_val, epochs=2, batch_size=64, seed=0, checkpoint_dir=tmp_path)
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 2
    torch.manual_seed(0)
    resumed = VAE(64, 4, hidden=(32,)).cuda()
    h = train_vae(resumed, x_train, x_val, epochs=3, batch_size=64, seed=0, checkpoint_dir=tmp_path, resume=True)
    assert len(h.val_elbo) == 3 and load_checkpoint(tmp_path / "last.pt")["epoch"] == 3
