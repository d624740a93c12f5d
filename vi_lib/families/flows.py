"""Normalizing flows: planar and affine-coupling layers composed over a Gaussian base.

A flow pushes a base draw :math:`z_0 \\sim q_0` through invertible maps,
:math:`z_K = f_K \\circ \\dots \\circ f_1(z_0)`, and tracks the density by the change of variables

.. math::

    \\log q_K(z_K) = \\log q_0(z_0)
    - \\sum_{k=1}^K \\log \\lvert \\det \\partial f_k / \\partial z_{k-1} \\rvert.

Each layer follows the contract of ``torch.distributions.transforms``: :meth:`forward`,
:meth:`inverse` and :meth:`log_abs_det_jacobian`. :class:`NormalizingFlow` composes layers over a
base family and offers the interface of the Gaussian families (:meth:`rsample`, :meth:`sample`,
:meth:`log_prob`, :meth:`rsample_and_log_prob`); it has no closed-form entropy. Parameters are
initialised from a seed through a private ``torch.Generator``, never torch's global one.

* :class:`PlanarFlow`: :math:`f(z) = z + \\hat u \\tanh(w^\\top z + b)`, with :math:`\\hat u` chosen so that
  :math:`w^\\top \\hat u \\ge -1`, which makes the layer invertible (Rezende and Mohamed, 2015). Its
  inverse has no closed form; it is found by bisection along :math:`w`.
* :class:`AffineCoupling`: RealNVP's layer (Dinh et al., 2017), which keeps half the coordinates and
  scales and shifts the others by functions of the kept half; inverse and log-determinant are exact.
* :func:`build_flow`: a flow of a given depth over a standard-normal mean-field base.
* :func:`log_det_error`: the check of a flow's bookkeeping, its reported log-determinants against
  autograd's Jacobians; :class:`MisreportedLogDet` is a layer with a deliberately wrong
  log-determinant, for seeing that a flow with one still trains, and that this check catches it.

Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
(chapters/beyond_mean_field.ipynb).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import ValidationError, check_int, check_positive, check_scalar, check_tensor, describe
from .gaussian_torch import MeanFieldGaussian, _check_dtype, _check_family, _Family

__all__ = ["PlanarFlow", "AffineCoupling", "NormalizingFlow", "build_flow", "FLOW_LAYERS", "MisreportedLogDet",
           "log_det_error"]

#: Layer names accepted by :func:`build_flow`.
FLOW_LAYERS: tuple[str, ...] = ("planar", "coupling")

_BISECTION_STEPS = 80


class _FlowLayer(nn.Module):
    """An invertible map of R^d with its log-determinant (subclasses implement ``_forward``, ``_inverse``)."""

    _dim: int

    @property
    def dim(self) -> int:
        """Dimension d that the layer maps."""
        return self._dim

    def _check(self, name: str, value: Any, method: str) -> torch.Tensor:
        where = f"{type(self).__name__}.{method}"
        value = check_tensor(name, value, where=where, last_dim=self._dim)
        return value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The map :math:`y = f(x)`, applied to each point of ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (..., d)
            Points.

        Returns
        -------
        torch.Tensor of shape (..., d)
            Their images.
        """
        x = self._check("x", x, "forward")
        return self._forward(x.reshape(-1, self._dim))[0].reshape(x.shape)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse map :math:`x = f^{-1}(y)`.

        Parameters
        ----------
        y : torch.Tensor of shape (..., d)
            Points in the image of the layer.

        Returns
        -------
        torch.Tensor of shape (..., d)
            Their pre-images.
        """
        y = self._check("y", y, "inverse")
        return self._inverse(y.reshape(-1, self._dim)).reshape(y.shape)

    def log_abs_det_jacobian(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """:math:`\\log \\lvert \\det \\partial f(x) / \\partial x \\rvert` at each point of ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (..., d)
            Points (inputs of the layer).
        y : torch.Tensor of shape (..., d) or None
            Their images :math:`f(x)`; accepted for the ``torch.distributions`` contract and not needed.

        Returns
        -------
        torch.Tensor of shape (...)
            The log-determinants in nats.
        """
        x = self._check("x", x, "log_abs_det_jacobian")
        return self._forward(x.reshape(-1, self._dim))[1].reshape(x.shape[:-1])


def _seeded(seed: Any, where: str) -> torch.Generator:
    return torch.Generator().manual_seed(check_int("seed", seed, minimum=0, where=where))


class PlanarFlow(_FlowLayer):
    """Planar flow layer :math:`f(z) = z + \\hat u \\, h(w^\\top z + b)` with :math:`h = \\tanh`.

    .. math::

        \\hat u &= u + \\bigl(m(w^\\top u) - w^\\top u\\bigr)
        \\frac{w}{\\lVert w \\rVert^2}, \\qquad m(a) = -1 + \\log(1 + e^a), \\\\
        \\log \\lvert \\det J \\rvert &= \\log \\bigl\\lvert 1 + h'(w^\\top z + b)
        \\, w^\\top \\hat u \\bigr\\rvert.

    Since :math:`w^\\top \\hat u = m(w^\\top u) > -1` and :math:`0 < h' \\le 1`, the determinant is
    positive and the layer is invertible. The inverse solves the scalar equation
    :math:`w^\\top y = a + w^\\top \\hat u \\, h(a + b)` for :math:`a = w^\\top z` by bisection (its root
    lies within :math:`\\lvert w^\\top \\hat u \\rvert` of :math:`w^\\top y`), then takes one Newton step with
    gradients, so the inverse is differentiable; then :math:`z = y - \\hat u \\, h(a + b)`.

    Parameters
    ----------
    dim : int
        Dimension d (at least 1).
    seed : int
        Seed of the initialisation: :math:`w \\sim \\mathcal{N}(0, I/d)`,
        :math:`u \\sim \\mathcal{N}(0, 0.01^2 I)`, :math:`b = 0` (close to the identity).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    References
    ----------
    rezende2015variational

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, dim: int, *, seed: int = 0, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        where = "PlanarFlow"
        self._dim = d = check_int("dim", dim, minimum=1, where=where)
        dtype = _check_dtype(dtype, where)
        g = _seeded(seed, where)
        self.w = nn.Parameter(torch.randn(d, generator=g, dtype=dtype) / math.sqrt(d))
        self.u = nn.Parameter(0.01 * torch.randn(d, generator=g, dtype=dtype))
        self.b = nn.Parameter(torch.zeros((), dtype=dtype))

    @property
    def u_hat(self) -> torch.Tensor:
        """The constrained direction :math:`\\hat u` (with :math:`w^\\top \\hat u > -1`), shape (d,)."""
        wu = self.w @ self.u
        return self.u + (F.softplus(wu) - 1.0 - wu) * self.w / (self.w @ self.w).clamp_min(1e-30)

    def _forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u_hat = self.u_hat
        a = z @ self.w + self.b
        h = torch.tanh(a)
        log_det = torch.log1p((1.0 - h**2) * (self.w @ u_hat))
        return z + h[:, None] * u_hat, log_det

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        u_hat = self.u_hat
        c, b = self.w @ u_hat, self.b
        target = y @ self.w
        with torch.no_grad():
            lo, hi = target - c.abs() - 1e-12, target + c.abs() + 1e-12
            for _ in range(_BISECTION_STEPS):
                mid = 0.5 * (lo + hi)
                above = mid + c * torch.tanh(mid + b) > target
                hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)
            a = 0.5 * (lo + hi)
        # One Newton step with gradients: the root is unchanged, and autograd sees the implicit function.
        t = torch.tanh(a + b)
        a = a - (a + c * t - target) / (1.0 + c * (1.0 - t**2))
        return y - torch.tanh(a + b)[:, None] * u_hat


class AffineCoupling(_FlowLayer):
    """Affine coupling layer of RealNVP: keep half the coordinates, scale and shift the rest.

    With a binary mask :math:`\\mu` (1 on the kept coordinates),

    .. math::

        y &= \\mu \\odot x + (1 - \\mu) \\odot
        \\bigl(x \\odot e^{s(\\mu \\odot x)} + t(\\mu \\odot x)\\bigr), \\\\
        \\log \\lvert \\det J \\rvert &= \\textstyle\\sum_i (1 - \\mu_i) \\, s_i(\\mu \\odot x),

    and :math:`x = \\mu \\odot y + (1 - \\mu) \\odot (y - t) \\odot e^{-s}` with :math:`s, t` evaluated at
    :math:`\\mu \\odot y = \\mu \\odot x`. The functions :math:`s = \\gamma \\odot \\tanh(\\cdot)` and
    :math:`t` come from one network with one tanh hidden layer; its output layer starts at zero, so
    the layer starts as the identity. The mask keeps the coordinates :math:`i` with
    :math:`i \\equiv \\text{parity} \\pmod 2`; alternate the parity between layers.

    Parameters
    ----------
    dim : int
        Dimension d (at least 2).
    parity : int
        0 keeps the even coordinates (0, 2, ...), 1 the odd ones.
    hidden : int
        Width of the hidden layer (at least 1).
    seed : int
        Seed of the initialisation of the hidden layer (weights :math:`\\mathcal{N}(0, 1/d)`).
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    References
    ----------
    dinh2017density

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, dim: int, *, parity: int = 0, hidden: int = 32, seed: int = 0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        where = "AffineCoupling"
        self._dim = d = check_int("dim", dim, minimum=2, where=where)
        parity = check_int("parity", parity, minimum=0, where=where)
        if parity > 1:
            raise ValidationError(f"{where}: `parity` must be 0 or 1; received {parity!r}.")
        hidden = check_int("hidden", hidden, minimum=1, where=where)
        dtype = _check_dtype(dtype, where)
        g = _seeded(seed, where)
        self.register_buffer("mask", (torch.arange(d) % 2 == parity).to(dtype))
        self.hidden_weight = nn.Parameter(torch.randn(hidden, d, generator=g, dtype=dtype) / math.sqrt(d))
        self.hidden_bias = nn.Parameter(torch.zeros(hidden, dtype=dtype))
        self.out_weight = nn.Parameter(torch.zeros(2 * d, hidden, dtype=dtype))
        self.out_bias = nn.Parameter(torch.zeros(2 * d, dtype=dtype))
        self.log_scale_gain = nn.Parameter(torch.zeros(d, dtype=dtype))

    def _shift_and_log_scale(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.tanh(kept @ self.hidden_weight.T + self.hidden_bias)
        raw_s, t = (hidden @ self.out_weight.T + self.out_bias).chunk(2, dim=-1)
        free = 1.0 - self.mask
        return free * t, free * self.log_scale_gain.exp() * torch.tanh(raw_s)

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, s = self._shift_and_log_scale(self.mask * x)
        return self.mask * x + (1.0 - self.mask) * (x * s.exp() + t), s.sum(-1)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        t, s = self._shift_and_log_scale(self.mask * y)
        return self.mask * y + (1.0 - self.mask) * (y - t) * (-s).exp()


class NormalizingFlow(_Family):
    """A flow :math:`z = f_K \\circ \\dots \\circ f_1(z_0)`, :math:`z_0 \\sim q_0`, as a variational family.

    .. math::

        \\log q(z) = \\log q_0(z_0) - \\sum_{k=1}^K \\log \\lvert \\det J_{f_k}(z_{k-1}) \\rvert.

    :meth:`rsample_and_log_prob` accumulates the log-determinants on the way forward (no inversion),
    which is what the fitting loop uses; :meth:`log_prob` of given points inverts the layers. The base's
    parameters are trained with the layers'. There is no closed-form entropy.

    Parameters
    ----------
    base : MeanFieldGaussian or FullRankGaussian
        The base family :math:`q_0` (a flow also works).
    layers : sequence of PlanarFlow or AffineCoupling
        The layers :math:`f_1, \\dots, f_K` in order of application, at least one, each of the base's
        dimension and dtype.

    References
    ----------
    rezende2015variational, dinh2017density, papamakarios2021normalizing

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, base: _Family, layers: Sequence[_FlowLayer]) -> None:
        super().__init__()
        where = "NormalizingFlow"
        base = _check_family(base, where, name="base")
        if isinstance(layers, nn.Module) and not isinstance(layers, nn.ModuleList):
            layers = [layers]
        if not isinstance(layers, (list, tuple, nn.ModuleList)):
            raise ValidationError(f"{where}: `layers` must be a list of flow layers (PlanarFlow, AffineCoupling); "
                                  f"received {describe(layers)}.")
        if len(layers) < 1:
            raise ValidationError(f"{where}: `layers` must hold at least one layer (flow depth >= 1); received "
                                  f"an empty {type(layers).__name__}.")
        for k, layer in enumerate(layers):
            if not isinstance(layer, _FlowLayer):
                raise ValidationError(f"{where}: `layers[{k}]` must be a flow layer (PlanarFlow or AffineCoupling); "
                                      f"received {type(layer).__name__}.")
            if layer.dim != base.dim:
                raise ValidationError(f"{where}: `layers[{k}]` must map the base's dimension {base.dim}; "
                                      f"received a layer of dimension {layer.dim}.")
            dtype = next(layer.parameters()).dtype
            if dtype != base.dtype:
                raise ValidationError(f"{where}: `layers[{k}]` must have the base's dtype {base.dtype}; "
                                      f"received {dtype}.")
        self._dim = base.dim
        self.base = base
        self.layers = nn.ModuleList(layers)

    @property
    def depth(self) -> int:
        """Number of layers K."""
        return len(self.layers)

    def _rsample_and_log_prob(self, n: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        z, log_q = self.base._rsample_and_log_prob(n, generator)
        for layer in self.layers:
            z, log_det = layer._forward(z)
            log_q = log_q - log_det
        return z, log_q

    def _log_prob(self, z: torch.Tensor) -> torch.Tensor:
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for layer in reversed(self.layers):
            z = layer._inverse(z)
            log_det = log_det + layer._forward(z)[1]
        return self.base._log_prob(z) - log_det


def build_flow(dim: int, depth: int, *, layer: str = "planar", hidden: int = 32, base_scale: float = 1.0,
               seed: int = 0, dtype: torch.dtype = torch.float64) -> NormalizingFlow:
    """A normalizing flow of ``depth`` layers over a mean-field Gaussian base at :math:`\\mathcal{N}(0, s^2 I)`.

    Layer k is seeded from a generator seeded with ``seed``, so two flows built with the same
    arguments are identical and different seeds give different layers. Coupling layers alternate
    their parity (0, 1, 0, ...), so every coordinate is transformed.

    Parameters
    ----------
    dim : int
        Dimension d (at least 1; at least 2 for coupling layers).
    depth : int
        Number of layers K (at least 1).
    layer : {"planar", "coupling"}
        :class:`PlanarFlow` or :class:`AffineCoupling` layers.
    hidden : int
        Hidden width of each coupling layer (ignored by planar layers).
    base_scale : float
        Initial standard deviation s of the base (positive).
    seed : int
        Seed of the layers' initialisation.
    dtype : torch.dtype
        ``torch.float64`` (default) or ``torch.float32``.

    Returns
    -------
    NormalizingFlow
        The flow, with a trainable base.

    References
    ----------
    rezende2015variational, dinh2017density

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "build_flow"
    dim = check_int("dim", dim, minimum=1, where=where)
    depth = check_int("depth", depth, minimum=1, where=where)
    if layer not in FLOW_LAYERS:
        raise ValidationError(f"{where}: `layer` must be one of {FLOW_LAYERS}; received {layer!r}.")
    if layer == "coupling" and dim < 2:
        raise ValidationError(f"{where}: `dim` must be at least 2 for coupling layers (they split the "
                              f"coordinates); received {dim!r}.")
    hidden = check_int("hidden", hidden, minimum=1, where=where)
    base_scale = check_positive("base_scale", base_scale, where=where)
    g = _seeded(seed, where)
    dtype = _check_dtype(dtype, where)
    seeds = torch.randint(0, 2**31 - 1, (depth,), generator=g).tolist()
    if layer == "planar":
        layers = [PlanarFlow(dim, seed=s, dtype=dtype) for s in seeds]
    else:
        layers = [AffineCoupling(dim, parity=k % 2, hidden=hidden, seed=s, dtype=dtype) for k, s in enumerate(seeds)]
    return NormalizingFlow(MeanFieldGaussian(dim, scale=base_scale, dtype=dtype), layers)


class MisreportedLogDet(_FlowLayer):
    """The map of ``layer`` with ``factor`` times its log-determinant: a deliberately wrong layer.

    .. math::

        f(x) = f_{\\text{layer}}(x), \\qquad
        \\text{reported } \\log \\lvert \\det J \\rvert = c \\cdot \\log \\lvert \\det J_{f_{\\text{layer}}}(x) \\rvert.

    With :math:`c = 0` the log-determinant is forgotten, the most common bug in a hand-written flow; with
    :math:`c = 1` the layer is correct. The draws of a flow built from it are the true flow's draws, but
    its :math:`\\log q` is wrong, so the ELBO it reports is not an ELBO and can exceed
    :math:`\\log p(x)`; the fit still runs without an error. :func:`log_det_error` catches it. The layer
    exists to demonstrate that pitfall; do not use it otherwise.

    Parameters
    ----------
    layer : PlanarFlow or AffineCoupling
        The layer whose map is used (its parameters are trained as usual).
    factor : float
        The factor c applied to the true log-determinant (finite; default 0).

    References
    ----------
    papamakarios2021normalizing

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """

    def __init__(self, layer: _FlowLayer, factor: float = 0.0) -> None:
        super().__init__()
        where = "MisreportedLogDet"
        if not isinstance(layer, _FlowLayer) or isinstance(layer, MisreportedLogDet):
            raise ValidationError(f"{where}: `layer` must be a flow layer (PlanarFlow or AffineCoupling); "
                                  f"received {type(layer).__name__}.")
        self.layer = layer
        self._dim = layer.dim
        self.factor = check_scalar("factor", factor, where)

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_det = self.layer._forward(x)
        return y, self.factor * log_det

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        return self.layer._inverse(y)


def log_det_error(flow: NormalizingFlow, *, n_points: int = 32, seed: int = 0) -> float:
    """Largest error, in nats, of a flow's reported log-determinants against autograd's Jacobians.

    Draws ``n_points`` points from the flow's base, pushes them through the layers, and at every layer
    input :math:`x` compares the layer's reported :math:`\\log \\lvert \\det J_f(x) \\rvert` with
    :math:`\\log \\lvert \\det \\rvert` of the Jacobian that ``torch.autograd.functional.jacobian``
    computes from the map alone:

    .. math::

        \\max_{k, s} \\bigl\\lvert \\text{reported}_k(x_s) - \\log \\lvert \\det
        \\partial f_k(x_s) / \\partial x_s \\rvert \\bigr\\rvert.

    A correct flow gives rounding error (about :math:`10^{-13}` in float64); a layer that forgets its
    log-determinant gives the size of the log-determinant it forgot. The check costs one d x d Jacobian
    per point and layer, so it is for testing a flow, not for every step of a fit.

    Parameters
    ----------
    flow : NormalizingFlow
        The flow to check.
    n_points : int
        Number of base draws (at least 1).
    seed : int
        Seed of the ``torch.Generator`` of the draws (non-negative).

    Returns
    -------
    float
        The largest absolute error over layers and points, in nats.

    Explained in Chapter: Beyond mean field: full-rank Gaussians and normalizing flows
    (chapters/beyond_mean_field.ipynb).
    """
    where = "log_det_error"
    if not isinstance(flow, NormalizingFlow):
        raise ValidationError(f"{where}: `flow` must be a NormalizingFlow; received {type(flow).__name__}.")
    n = check_int("n_points", n_points, minimum=1, where=where)
    generator = _seeded(seed, where)
    generator = torch.Generator(device=next(flow.parameters()).device).manual_seed(generator.initial_seed())
    worst = 0.0
    with torch.no_grad():
        x, _ = flow.base._rsample_and_log_prob(n, generator)
    for layer in flow.layers:
        with torch.no_grad():
            y, reported = layer._forward(x)
        for s in range(n):
            jac = torch.autograd.functional.jacobian(lambda v, f=layer: f._forward(v[None])[0][0], x[s])
            exact = torch.linalg.slogdet(jac.detach())[1]
            worst = max(worst, float((reported[s] - exact).abs()))
        x = y
    return worst
