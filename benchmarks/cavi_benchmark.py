"""Seconds per iteration: vi_lib's CAVI for the Bayesian Gaussian mixture vs scikit-learn's.

Usage: ``python benchmarks/cavi_benchmark.py [--sizes 1e4 1e5 1e6] [--dims 2 10] [--k 5] [--max-iter 100]
[--rtol 1e-8] [--repeats 1] [--quick]``.

For each (N, D) it draws a well-separated synthetic mixture (5 unit-covariance clusters whose centres
are about 6 standard deviations apart, in any D), builds scikit-learn's default prior (``default_bgmm_prior``),
takes one k-means initialisation (``bgmm_init_resp``, not timed), and fits it twice from those same
responsibilities:

* **ours**: ``vi_lib.fit_bgmm_cavi(..., record_every_update=False)``: the ELBO (in nats, with every
  constant) once per sweep;
* **sklearn**: ``BayesianGaussianMixture(weight_concentration_prior_type="dirichlet_distribution",
  covariance_type="full", reg_covar=0)`` with the matched prior (``covariance_prior = inv(W0)``), started
  from the same responsibilities (its ``_initialize_parameters`` is overridden to run its own initial
  M-step from them, which is what it does with its k-means labels).

Tolerance: ours stops when a sweep raises the ELBO by less than ``rtol * |ELBO|``; scikit-learn's ``tol``
is absolute, so it gets ``rtol * |our final ELBO|`` (its bound differs from the ELBO by a constant, so
changes are comparable). Both are capped at ``--max-iter`` iterations. Time per iteration is the wall
time of the whole ``fit`` divided by the number of global (M-) steps: our sweeps, and scikit-learn's
``n_iter_ + 1`` (its initial M-step is our first sweep's global update). Each fit also does one extra
E-step-sized pass: ours for the ``"init"`` ELBO, scikit-learn's its final E-step. scikit-learn's
``lower_bound_`` is converted to nats with :func:`vi_lib.sklearn_lower_bound_offset`. Not a test: timings
vary with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from vi_lib import bgmm_init_resp, default_bgmm_prior, fit_bgmm_cavi, sklearn_lower_bound_offset


class FixedInitBGMM(BayesianGaussianMixture):
    """scikit-learn's estimator started from given responsibilities ``resp0_`` (set before ``fit``)."""

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp0_)


def synthetic_mixture(n: int, d: int, k: int, rng: np.random.Generator, separation: float = 6.0) -> np.ndarray:
    centres = rng.normal(scale=separation / np.sqrt(2.0 * d), size=(k, d))  # pairwise distance ~ separation
    labels = rng.integers(k, size=n)
    return centres[labels] + rng.normal(size=(n, d))


def run_one(n: int, d: int, k: int, max_iter: int, rtol: float, repeats: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    x = synthetic_mixture(n, d, k, rng)
    prior = default_bgmm_prior(x, k)
    t0 = time.perf_counter()
    resp0 = bgmm_init_resp(x, k, rng)
    t_init = time.perf_counter() - t0
    ours_times, sk_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours = fit_bgmm_cavi(x, k, prior, init_resp=resp0, max_iter=max_iter, rtol=rtol, record_every_update=False)
        ours_times.append(time.perf_counter() - t0)
        sk = FixedInitBGMM(n_components=k, weight_concentration_prior_type="dirichlet_distribution",
                           covariance_type="full", reg_covar=0.0, weight_concentration_prior=prior.concentration,
                           mean_precision_prior=prior.mean_precision, mean_prior=prior.mean,
                           degrees_of_freedom_prior=prior.dof, covariance_prior=np.linalg.inv(prior.scale),
                           tol=rtol * abs(float(ours.elbo[-1])), max_iter=max_iter)
        sk.resp0_ = resp0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the table instead
            sk.fit(x)
        sk_times.append(time.perf_counter() - t0)
    ours_iter = ours.n_iter
    sk_iter = sk.n_iter_ + 1
    ours_per = float(np.median(ours_times)) / ours_iter
    sk_per = float(np.median(sk_times)) / sk_iter
    offset = sklearn_lower_bound_offset(n, k, prior)
    q = ours.params
    agree = float(np.max(np.abs(q.concentration - sk.weight_concentration_) / sk.weight_concentration_))
    return dict(n=n, d=d, ours_total=float(np.median(ours_times)), sk_total=float(np.median(sk_times)),
                ours_per=ours_per, sk_per=sk_per, ours_iter=ours_iter, sk_iter=sk_iter,
                ours_conv=ours.converged, sk_conv=bool(sk.converged_), ours_elbo=float(ours.elbo[-1]) / n,
                sk_elbo=(float(sk.lower_bound_) + offset) / n, ratio=sk_per / ours_per, agree=agree, t_init=t_init)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    ap.add_argument("--k", type=int, default=5, help="components fitted (and clusters drawn)")
    ap.add_argument("--max-iter", type=int, default=100)
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--repeats", type=int, default=1, help="paired runs per size; medians are reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="N = 1e4 and 1e5 only")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes if not (args.quick and s > 1e5)]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}; K = {args.k}, rtol = {args.rtol:g}, "
          f"max_iter = {args.max_iter}")
    print("| N | D | ours s/iter | sklearn s/iter | speed-up per iter | fit s ours / sklearn "
          "| iterations ours / sklearn (converged) | ELBO per point ours / sklearn (nats) | max rel. diff of alpha |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in args.dims:
        for n in sizes:
            r = run_one(n, d, args.k, args.max_iter, args.rtol, args.repeats, args.seed)
            conv = f"{r['ours_iter']} ({'yes' if r['ours_conv'] else 'no'}) / {r['sk_iter']} " \
                   f"({'yes' if r['sk_conv'] else 'no'})"
            print(f"| {n:,} | {d} | {r['ours_per']:.4g} | {r['sk_per']:.4g} | **{r['ratio']:.2f}x** "
                  f"| {r['ours_total']:.3g} / {r['sk_total']:.3g} | {conv} "
                  f"| {r['ours_elbo']:.6f} / {r['sk_elbo']:.6f} | {r['agree']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
