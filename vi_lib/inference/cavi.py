"""Coordinate-ascent mean-field variational inference (CAVI).

For a mean-field family :math:`q(z) = \\prod_j q_j(z_j)` the ELBO, as a function of one factor with
the others fixed, is maximised by

.. math::

    q_j^*(z_j) \\propto \\exp \\mathbb{E}_{-j}[\\log p(x, z)],

and CAVI cycles through the factors, setting each to its optimum in turn; no update can lower the
ELBO. The updates here are small pure functions (one per factor), each model has an ELBO with every
constant, and the ``fit_*`` loops record the ELBO after every coordinate update in a
:class:`CAVIResult`.

* The unknown mean and precision of a Gaussian under a Normal-Gamma prior, whose exact posterior
  and evidence are known (:class:`vi_lib.NormalGamma`): :func:`normal_gamma_update_mu`,
  :func:`normal_gamma_update_tau`, :func:`normal_gamma_elbo`, :func:`fit_normal_gamma_cavi`.
* Chapter 1's Bayesian mixture of :math:`K` unit-weight Gaussians with known noise
  (Blei, Kucukelbir & McAuliffe 2017, section 3): :func:`mixture_update_assignments`,
  :func:`mixture_update_means`, :func:`mixture_elbo`, :func:`fit_mixture_cavi`, and variational
  EM with point-estimated weights (:func:`fit_mixture_vem`).

Explained in Chapter: Mean-field variational inference and coordinate ascent
(chapters/mean_field_cavi.ipynb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CAVIResult",
]


@dataclass(frozen=True)
class CAVIResult:
    """History of one CAVI run (returned by the ``fit_*_cavi`` functions).

    A sweep updates every factor once, in the order given by ``update_names``.

    Attributes
    ----------
    params : object
        Final variational parameters (a model-specific dataclass).
    elbo_trace : array of shape (1 + U * T,)
        The ELBO in nats at the initialisation and after every one of the U coordinate updates of
        each of the T sweeps; non-decreasing up to rounding.
    trace_labels : tuple of str
        For each entry of ``elbo_trace``, ``"init"`` or the name of the update just made.
    elbo : array of shape (T + 1,)
        The ELBO at the initialisation and after each complete sweep (every U-th entry of
        ``elbo_trace``).
    params_history : list
        Variational parameters at the initialisation and after each sweep (T + 1 entries).
    converged : bool
        Whether the last sweep raised the ELBO by less than ``rtol * |ELBO|``.
    update_names : tuple of str
        Names of the U coordinate updates of one sweep, e.g. ``("q(mu)", "q(tau)")``.
    """

    params: Any
    elbo_trace: np.ndarray
    trace_labels: tuple
    elbo: np.ndarray
    params_history: list = field(repr=False)
    converged: bool
    update_names: tuple

    @property
    def n_iter(self) -> int:
        """Number of complete sweeps T that were run."""
        return int(self.elbo.size - 1)


def run_cavi_sweeps(params: Any, updates: list, elbo_fn: Any, *, max_iter: int, rtol: float,
                    record_every_update: bool = True, keep: Any = None) -> CAVIResult:
    """Shared CAVI loop (internal): apply ``updates`` in order until the ELBO stops rising.

    ``updates`` is a list of ``(name, fn)`` with ``fn(params) -> params``; ``elbo_fn(params)`` is
    the ELBO in nats. The loop stops after a sweep whose ELBO increase is below
    ``rtol * |ELBO|`` (converged) or after ``max_iter`` sweeps. With ``record_every_update=False``
    the ELBO is evaluated once per sweep and ``elbo_trace`` equals ``elbo`` (for benchmarks).
    ``keep(params)``, if given, is what ``params_history`` stores after each sweep (default: the
    state itself), so that a sweep state holding per-point arrays (responsibilities) need not be
    kept T times. Inputs are validated by the public callers.
    """
    keep = (lambda p: p) if keep is None else keep
    names = tuple(name for name, _ in updates)
    value = float(elbo_fn(params))
    trace = [value]
    labels = ["init"]
    sweeps = [value]
    history = [keep(params)]
    converged = False
    for _ in range(max_iter):
        for i, (name, fn) in enumerate(updates):
            params = fn(params)
            if record_every_update or i == len(updates) - 1:
                trace.append(float(elbo_fn(params)))
                labels.append(name)
        sweeps.append(trace[-1])
        history.append(keep(params))
        if sweeps[-1] - sweeps[-2] < rtol * abs(sweeps[-1]):
            converged = True
            break
    return CAVIResult(params=params, elbo_trace=np.array(trace), trace_labels=tuple(labels),
                      elbo=np.array(sweeps), params_history=history, converged=converged,
                      update_names=names)
