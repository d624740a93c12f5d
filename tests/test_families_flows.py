"""Tests for vi_lib.families.flows: every log-determinant against autograd's Jacobian, inverses, the flow
density integrates to one and agrees with its own draws, invertibility of planar layers, validation."""

from __future__ import annotations

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from vi_lib import (
    FLOW_LAYERS,
    AffineCoupling,
    FullRankGaussian,
    MeanFieldGaussian,
    MisreportedLogDet,
    NormalizingFlow,
    PlanarFlow,
    ValidationError,
    build_flow,
    log_det_error,
)


def _randomise(module: torch.nn.Module, seed: int, std: float = 0.7) -> torch.nn.Module:
    """Move every parameter away from its (near-identity) initialisation, reproducibly."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def _layers(dim: int) -> list[torch.nn.Module]:
    return [_randomise(PlanarFlow(dim, seed=1), 11), _randomise(AffineCoupling(dim, parity=0, hidden=8, seed=2), 12),
            _randomise(AffineCoupling(dim, parity=1, hidden=8, seed=3), 13)]


@pytest.mark.parametrize("index", range(3), ids=["planar", "coupling-even", "coupling-odd"])
@pytest.mark.parametrize("dim", [2, 3, 5])
def test_layer_log_det_matches_autograd_jacobian(index, dim):
    layer = _layers(dim)[index]
    x = 1.5 * torch.randn(6, dim, generator=torch.Generator().manual_seed(dim), dtype=torch.float64)
    log_det = layer.log_abs_det_jacobian(x, layer(x)).detach()
    for i in range(x.shape[0]):
        J = jacobian(lambda v: layer(v[None])[0], x[i])  # noqa: B023 - evaluated immediately
        sign, logabs = torch.linalg.slogdet(J)
        assert sign != 0
        assert abs(float(logabs - log_det[i])) < 1e-10


@pytest.mark.parametrize("index", range(3), ids=["planar", "coupling-even", "coupling-odd"])
def test_layer_inverse_inverts_forward(index):
    layer = _layers(3)[index]
    x = 2.0 * torch.randn(50, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    torch.testing.assert_close(layer.inverse(layer(x)), x, rtol=0, atol=1e-10)


def test_planar_constraint_keeps_the_layer_invertible_even_for_adversarial_u():
    layer = PlanarFlow(2, seed=0)
    with torch.no_grad():
        layer.w.copy_(torch.tensor([1.0, 0.0], dtype=torch.float64))
        layer.u.copy_(torch.tensor([-5.0, 0.0], dtype=torch.float64))  # w.u = -5 would fold the plane
    assert float((layer.w @ layer.u_hat).detach()) > -1.0
    x = torch.linspace(-3, 3, 201, dtype=torch.float64)[:, None] * torch.tensor([1.0, 0.0], dtype=torch.float64)
    y = layer(x)[:, 0].detach()
    assert torch.all(torch.diff(y) > 0)  # monotone along w: no two points share an image
    torch.testing.assert_close(layer.inverse(layer(x)), x, rtol=0, atol=1e-10)


def test_planar_inverse_is_differentiable_through_the_newton_step():
    layer = _randomise(PlanarFlow(2, seed=4), 21)
    y = torch.randn(3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    J = jacobian(lambda v: layer.inverse(v[None])[0], y[0].detach())
    J_fwd = jacobian(lambda v: layer(v[None])[0], layer.inverse(y[:1]).detach()[0])
    torch.testing.assert_close(J @ J_fwd, torch.eye(2, dtype=torch.float64), rtol=0, atol=1e-8)


def _flow(dim: int = 2) -> NormalizingFlow:
    base = FullRankGaussian(dim, loc=[0.2] * dim, scale_tril=torch.eye(dim).numpy() * 0.9)
    return NormalizingFlow(base, _layers(dim))


def test_flow_log_prob_matches_change_of_variables_through_autograd():
    flow = _flow(3)
    z0 = torch.randn(4, 3, generator=torch.Generator().manual_seed(8), dtype=torch.float64)

    def push(v: torch.Tensor) -> torch.Tensor:
        for layer in flow.layers:
            v = layer(v)
        return v

    z = push(z0)
    for i in range(4):
        J = jacobian(lambda v: push(v[None])[0], z0[i])  # noqa: B023 - evaluated immediately
        expected = flow.base.log_prob(z0[i]) - torch.linalg.slogdet(J)[1]
        assert abs(float((flow.log_prob(z[i]) - expected).detach())) < 1e-9


def test_rsample_and_log_prob_agrees_with_log_prob_by_inversion():
    flow = _flow(2)
    z, log_q = flow.rsample_and_log_prob(200, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(flow.log_prob(z).detach(), log_q.detach(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("layer", ["planar", "coupling"])
def test_flow_density_integrates_to_one_and_matches_its_draws(layer):
    flow = build_flow(2, 4, layer=layer, hidden=8, seed=3)
    _randomise(flow.layers, 30, std=0.5)
    x = torch.linspace(-12.0, 12.0, 401, dtype=torch.float64)
    xx, yy = torch.meshgrid(x, x, indexing="ij")
    grid = torch.stack([xx.ravel(), yy.ravel()], dim=1)
    cell = float(x[1] - x[0]) ** 2
    with torch.no_grad():
        dens = flow.log_prob(grid).exp()
        mass = float(dens.sum()) * cell
        grid_mean = (dens[:, None] * grid).sum(0) * cell
        draws = flow.sample(100_000, generator=torch.Generator().manual_seed(2))
    assert abs(mass - 1.0) < 2e-3
    se = draws.std(0) / math.sqrt(draws.shape[0])
    assert torch.all((draws.mean(0) - grid_mean).abs() < 5 * se + 2e-3)


def test_build_flow_is_seeded_alternates_parity_and_starts_near_its_base():
    a, b, c = build_flow(3, 3, seed=5), build_flow(3, 3, seed=5), build_flow(3, 3, seed=6)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    coupling = build_flow(4, 3, layer="coupling")
    assert [int(layer.mask[0]) for layer in coupling.layers] == [1, 0, 1]
    assert coupling.depth == 3
    z = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(coupling.log_prob(z), coupling.base.log_prob(z))  # zero output layers: identity


def test_global_rng_is_untouched_by_construction():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    build_flow(3, 4, layer="coupling")
    build_flow(3, 4, layer="planar")
    assert torch.equal(before, torch.get_rng_state())


def test_validation_errors_are_clear():
    base = MeanFieldGaussian(2)
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `layers` must hold at least one layer "
                                              r"\(flow depth >= 1\)"):
        NormalizingFlow(base, [])
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `layers\[1\]` must map the base's dimension 2; "
                                              r"received a layer of dimension 3"):
        NormalizingFlow(base, [PlanarFlow(2), PlanarFlow(3)])
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `layers\[0\]` must have the base's dtype"):
        NormalizingFlow(base, [PlanarFlow(2, dtype=torch.float32)])
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `layers\[0\]` must be a flow layer"):
        NormalizingFlow(base, [torch.nn.Linear(2, 2)])
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `layers` must be a list of flow layers"):
        NormalizingFlow(base, "planar")
    with pytest.raises(ValidationError, match=r"^NormalizingFlow: `base` must be a variational family"):
        NormalizingFlow(torch.distributions.Normal(0.0, 1.0), [PlanarFlow(2)])
    with pytest.raises(ValidationError, match=r"^build_flow: `depth` must be an integer >= 1; received 0"):
        build_flow(2, 0)
    with pytest.raises(ValidationError, match=r"^build_flow: `layer` must be one of \('planar', 'coupling'\)"):
        build_flow(2, 2, layer="radial")
    with pytest.raises(ValidationError, match=r"^build_flow: `dim` must be at least 2 for coupling layers"):
        build_flow(1, 2, layer="coupling")
    with pytest.raises(ValidationError, match=r"^build_flow: `base_scale` must be finite and positive"):
        build_flow(2, 2, base_scale=0.0)
    with pytest.raises(ValidationError, match=r"^AffineCoupling: `dim` must be an integer >= 2; received 1"):
        AffineCoupling(1)
    with pytest.raises(ValidationError, match=r"^AffineCoupling: `parity` must be 0 or 1; received 2"):
        AffineCoupling(2, parity=2)
    with pytest.raises(ValidationError, match=r"^PlanarFlow: `seed` must be an integer >= 0; received -1"):
        PlanarFlow(2, seed=-1)
    layer = PlanarFlow(2)
    with pytest.raises(ValidationError, match=r"^PlanarFlow.forward: `x` must be a tensor of shape \(\.\.\., 2\)"):
        layer(torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValidationError, match=r"^PlanarFlow.inverse: `y` must be a floating-point torch tensor"):
        layer.inverse([[0.0, 0.0]])
    with pytest.raises(ValidationError, match=r"^PlanarFlow.log_abs_det_jacobian: `x` must be a tensor of shape"):
        layer.log_abs_det_jacobian(torch.zeros(3, dtype=torch.float64)[None, :])
    with pytest.raises(ValidationError, match=r"^NormalizingFlow.log_prob: `z` must be a tensor of shape"):
        build_flow(2, 1).log_prob(torch.zeros(3, dtype=torch.float64))


def test_log_det_error_is_rounding_for_correct_flows_and_catches_a_forgotten_log_det():
    for layer in FLOW_LAYERS:
        flow = build_flow(3, 3, layer=layer, seed=4)
        with torch.no_grad():  # move off the initialisation (coupling layers start at the identity)
            for p in flow.parameters():
                p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(9), dtype=p.dtype))
        assert log_det_error(flow, n_points=8) < 1e-10
        broken = NormalizingFlow(flow.base, [MisreportedLogDet(lay, factor=0.0) for lay in flow.layers])
        # the error is the largest true |log det| of a layer, which the perturbation made non-zero
        x, _ = flow.base._rsample_and_log_prob(8, torch.Generator().manual_seed(0))
        true_max = 0.0
        for lay in flow.layers:
            x, ld = lay._forward(x)
            true_max = max(true_max, float(ld.detach().abs().max()))
        assert log_det_error(broken, n_points=8) == pytest.approx(true_max, rel=1e-9)
        # same draws as the correct flow, different log q
        g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
        z1, lq1 = flow.rsample_and_log_prob(5, g1)
        z2, lq2 = broken.rsample_and_log_prob(5, g2)
        torch.testing.assert_close(z1, z2)
        assert not torch.allclose(lq1, lq2)


def test_misreported_log_det_validation():
    with pytest.raises(ValidationError, match=r"^MisreportedLogDet: `layer` must be a flow layer"):
        MisreportedLogDet(torch.nn.Linear(2, 2))
    with pytest.raises(ValidationError, match=r"^MisreportedLogDet: `factor` must be"):
        MisreportedLogDet(PlanarFlow(2), factor=float("nan"))
    with pytest.raises(ValidationError, match=r"^log_det_error: `flow` must be a NormalizingFlow"):
        log_det_error(PlanarFlow(2))
    with pytest.raises(ValidationError, match=r"^log_det_error: `n_points` must be"):
        log_det_error(build_flow(2, 1), n_points=0)
