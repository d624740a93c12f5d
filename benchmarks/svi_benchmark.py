"""SVI vs full-batch CAVI and scikit-learn for the Bayesian Gaussian mixture: time to a held-out target, and memory.

Usage: ``python benchmarks/svi_benchmark.py [--n 1e6] [--n-test 1e4] [--k 5] [--batch-sizes 1000 10000]
[--mem-sizes 1e6 1e7] [--skip-time] [--skip-memory] [--quick]``.

**(a) Time to a held-out target.** N points are drawn from a known mixture of K = 5 Gaussians in D = 2 (fixed
centres about 5 standard deviations apart, fixed covariances and weights), plus a held-out set from the same
mixture. With scikit-learn's default prior (``default_bgmm_prior``), one initial ``q0`` is built as
``fit_bgmm_svi`` builds it (k-means on max(B, 50 K) random rows, globals scaled to N; ``--init random``: random
responsibilities on 50 K rows instead, a start far from the optimum) and every method starts from it; its cost is
reported once, not counted in any time:

* **CAVI**: ``fit_bgmm_cavi(x, K, prior, init_resp=bgmm_update_resp(x, q0), record_every_update=False)`` run
  to ``rtol`` = 1e-10 gives the reference: its converged held-out mean log predictive density L* (nats per
  point, ``bgmm_predictive_log_density``). From its ``params_history`` we find the first sweep s whose q is
  within ``--target`` (0.01) nats of L*, then time a second run with ``max_iter = s`` (``rtol = 0``): that is
  CAVI's time to target.
* **scikit-learn**: ``BayesianGaussianMixture`` (Dirichlet, full, ``reg_covar = 0``, matched prior) from the
  same responsibilities runs the same iterations (``max_iter = s``; its final extra E-step included), timed;
  its held-out value is checked by converting its parameters to ``BayesianGMMVariational``.
* **SVI**: ``fit_bgmm_svi(..., init=q0, tau=1, kappa=0.7)`` per batch size, evaluating every
  ``--eval-every`` steps (evaluation time excluded, as in ``SVIResult.wall_time``). Its time to target is the
  fit time at the first evaluation from which every later evaluation stays within the target.

The ratios are CAVI / SVI and sklearn / SVI (above 1: SVI faster).

**(c) Memory.** For each N in ``--mem-sizes`` a subprocess writes the data with ``write_npy_in_chunks``, then
separate subprocesses run (1) SVI streamed from ``open_npy_memmap`` (batch 1000, ``low_memory=True``,
``--mem-steps`` steps) and (2) CAVI in memory (``np.load`` then ``fit_bgmm_cavi``, ``--cavi-mem-iter`` sweeps;
up to N = ``--cavi-mem-max``, above that the size of its N-proportional arrays is reported instead),
and (3) a baseline that only
imports vi_lib and loads nothing. Each reports its peak resident set (``VmHWM`` of /proc/self/status), the peak
of its anonymous resident memory (``RssAnon`` sampled every 2 ms by a thread), its file-backed resident memory
at the end (``RssFile``: pages of a memory map that were read count here, and in ``VmHWM``, though the kernel
can drop them), and the ``tracemalloc`` peak of the work (NumPy registers its buffers with tracemalloc). Not a test:
timings and memory depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from vi_lib import (
    BayesianGMMVariational,
    bgmm_init_resp,
    bgmm_intermediate_globals,
    bgmm_predictive_log_density,
    bgmm_update_resp,
    default_bgmm_prior,
    fit_bgmm_cavi,
    fit_bgmm_svi,
)
from vi_lib.inference.bayesian_gmm_svi import _svi_init

CENTRES = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0], [-5.0, 2.5]])
WEIGHTS = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
CHOL = np.array([[[1.0, 0.0], [0.3, 0.8]], [[0.7, 0.0], [0.0, 1.2]], [[1.0, 0.0], [-0.4, 0.6]],
                 [[0.5, 0.0], [0.2, 0.5]], [[1.3, 0.0], [0.5, 0.9]]])


def sample_mixture(n: int, rng: np.random.Generator) -> np.ndarray:
    """n points from the fixed generating mixture (K = 5, D = 2)."""
    labels = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    z = rng.standard_normal((n, 2))
    return CENTRES[labels] + np.einsum("nij,nj->ni", CHOL[labels], z)


class FixedInitBGMM(BayesianGaussianMixture):
    """scikit-learn's estimator started from given responsibilities ``resp0_`` (set before ``fit``)."""

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp0_)


def lpd(x_test: np.ndarray, q: BayesianGMMVariational) -> float:
    return float(np.mean(bgmm_predictive_log_density(x_test, q)))


def time_to_target(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    n, k = int(args.n), args.k
    x, x_test = sample_mixture(n, rng), sample_mixture(int(args.n_test), rng)
    prior = default_bgmm_prior(x, k)
    t0 = time.perf_counter()
    if args.init == "kmeans":
        q0 = _svi_init(x, k, prior, np.random.default_rng(args.seed + 1), max(args.batch_sizes))
    else:  # random responsibilities on a subset: every component starts near the data mean
        sub = x[np.random.default_rng(args.seed + 1).choice(n, 50 * k, replace=False)]
        q0 = bgmm_intermediate_globals(sub, bgmm_init_resp(sub, k, np.random.default_rng(args.seed + 1), "random"),
                                       prior, n)
    t_init = time.perf_counter() - t0
    resp0 = bgmm_update_resp(x, q0)

    t0 = time.perf_counter()
    ref = fit_bgmm_cavi(x, k, prior, init_resp=resp0, max_iter=args.cavi_max_iter, rtol=1e-10,
                        record_every_update=False)
    t_ref = time.perf_counter() - t0
    history = [lpd(x_test, q) for q in ref.params_history]
    best = history[-1]
    target = best - args.target
    sweeps = next(i for i, v in enumerate(history) if all(w >= target for w in history[i:]))
    sweeps = max(sweeps, 1)
    t0 = time.perf_counter()
    cavi = fit_bgmm_cavi(x, k, prior, init_resp=resp0, max_iter=sweeps, rtol=0.0, record_every_update=False)
    t_cavi = time.perf_counter() - t0
    cavi_lpd = lpd(x_test, cavi.params)

    sk = FixedInitBGMM(n_components=k, weight_concentration_prior_type="dirichlet_distribution",
                       covariance_type="full", reg_covar=0.0, weight_concentration_prior=prior.concentration,
                       mean_precision_prior=prior.mean_precision, mean_prior=prior.mean,
                       degrees_of_freedom_prior=prior.dof, covariance_prior=np.linalg.inv(prior.scale), tol=0.0,
                       max_iter=max(sweeps - 1, 1))  # its initial M-step is our first sweep's global update
    sk.resp0_ = resp0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(x)
    t_sk = time.perf_counter() - t0
    sk_q = BayesianGMMVariational(sk.weight_concentration_, sk.mean_precision_, sk.means_, sk.degrees_of_freedom_,
                                  sk.precisions_ / sk.degrees_of_freedom_[:, None, None])
    sk_lpd = lpd(x_test, sk_q)

    init = f"k-means on {min(n, max(max(args.batch_sizes), 50 * k)):,} rows" if args.init == "kmeans" else \
        f"random responsibilities on {50 * k} rows"
    print(f"# (a) N = {n:,}, held-out M = {x_test.shape[0]:,}, D = 2, K = {k}; initial q0 ({init}) "
          f"{t_init:.3f} s, not counted; held-out at q0 {history[0]:.5f} nats/point")
    print(f"# CAVI reference: {ref.n_iter} sweeps ({'converged' if ref.converged else 'not converged'}) in "
          f"{t_ref:.2f} s; L* = {best:.5f} nats/point; target L* - {args.target:g} = {target:.5f}, first held by "
          f"sweep {sweeps}")
    print("| method | steps / sweeps to target | time to target (s) | held-out at that point (nats/pt) "
          "| CAVI time / this | sklearn time / this |")
    print("|---|---|---|---|---|---|")
    print(f"| CAVI (vi_lib), full batch | {sweeps} sweeps | {t_cavi:.3f} | {cavi_lpd:.5f} | 1 | {t_sk / t_cavi:.2f} |")
    print(f"| scikit-learn BayesianGaussianMixture | {sk.n_iter_ + 1} iterations | {t_sk:.3f} | {sk_lpd:.5f} "
          f"| {t_cavi / t_sk:.2f} | 1 |")
    for b in args.batch_sizes:
        res = fit_bgmm_svi(x, k, prior, batch_size=b, n_steps=max(200, args.svi_steps * 1000 // b),
                           rng=np.random.default_rng(args.seed + 2), init=q0,
                           eval_x=x_test, eval_every=args.eval_every)
        vals = res.eval_log_pred
        hit = [i for i in range(len(vals)) if np.all(vals[i:] >= target)]
        if hit and hit[0] == 0:
            print(f"| SVI B = {b:,} | 0 steps: q0 is already within the target | 0 | {vals[0]:.5f} | - | - |")
        elif hit:
            i = hit[0]
            t = float(res.eval_times[i])
            print(f"| SVI B = {b:,} (tau 1, kappa 0.7) | {res.eval_steps[i]} steps ({res.eval_steps[i] * b / n:.3g} "
                  f"epochs) | {t:.3f} | {vals[i]:.5f} (final {vals[-1]:.5f}) | **{t_cavi / t:.1f}x** "
                  f"| **{t_sk / t:.1f}x** |", flush=True)
        else:
            print(f"| SVI B = {b:,} | not reached in {res.n_steps} steps ({res.wall_time:.2f} s) | - | final "
                  f"{vals[-1]:.5f} | - | - |", flush=True)


_CHILD = r"""
import json, sys, threading, time, tracemalloc
import numpy as np
mode, path = sys.argv[1], sys.argv[2]
n, k, steps, cavi_iter = (int(a) for a in sys.argv[3:7])
from vi_lib import (bgmm_update_resp, default_bgmm_prior, fit_bgmm_cavi, fit_bgmm_svi, open_npy_memmap,
                    write_npy_in_chunks)
from vi_lib.inference.bayesian_gmm_svi import _svi_init
sys.path.insert(0, sys.argv[7])
from svi_benchmark import sample_mixture

def status():
    out = {}
    for line in open("/proc/self/status"):
        key = line.split(":")[0]
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024.0
    return out

peak_anon = [0.0]
running = [True]

def sample_anon():  # the peak of anonymous memory (VmHWM also counts pages of the memory map that were read)
    while running[0]:
        peak_anon[0] = max(peak_anon[0], status()["RssAnon"])
        time.sleep(0.002)

sampler = threading.Thread(target=sample_anon, daemon=True)
sampler.start()
tracemalloc.start()
t0 = time.perf_counter()
if mode == "write":
    rng = np.random.default_rng(0)
    write_npy_in_chunks(path, n, 2, lambda c: sample_mixture(c, rng), chunk_rows=100_000)
elif mode == "svi":
    x = open_npy_memmap(path, shape=(n, 2), dtype=np.float64)
    prior = default_bgmm_prior(np.asarray(x[:100_000]), k)  # prior from a leading block (m0, W0 only)
    fit_bgmm_svi(x, k, prior, batch_size=1000, n_steps=steps, rng=np.random.default_rng(1),
                 low_memory=True)
elif mode == "cavi":
    x = np.load(path)
    prior = default_bgmm_prior(x[:100_000], k)
    q0 = _svi_init(x, k, prior, np.random.default_rng(1), 1000)
    fit_bgmm_cavi(x, k, prior, init_resp=bgmm_update_resp(x, q0), max_iter=cavi_iter, rtol=0.0,
                  record_every_update=False)
elapsed = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] / 2**20
running[0] = False
sampler.join()
print(json.dumps(dict(status(), tracemalloc=peak, seconds=elapsed, peak_anon=peak_anon[0])))
"""


def child(mode: str, path: str, n: int, k: int, steps: int, cavi_iter: int) -> dict:
    here = Path(__file__).resolve().parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(here.parent), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, path, str(n), str(k), str(steps), str(cavi_iter),
                          str(here)], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(args: argparse.Namespace) -> None:
    k = args.k
    print(f"\n# (c) peak memory, D = 2, K = {k}; SVI batch 1000, {args.mem_steps} steps, streamed from a .npy "
          f"memory map; CAVI {args.cavi_mem_iter} sweeps in memory. MiB.")
    print("| N | data file (MiB) | run | seconds | VmHWM peak RSS | peak RssAnon (sampled) | RssFile at end "
          "| tracemalloc peak |")
    print("|---|---|---|---|---|---|---|---|")
    base = child("none", "-", 1, k, 1, 1)
    print(f"| - | - | baseline (imports only) | {base['seconds']:.2f} | {base['VmHWM']:.0f} | {base['peak_anon']:.0f} "
          f"| {base['RssFile']:.0f} | {base['tracemalloc']:.1f} |")
    with tempfile.TemporaryDirectory(dir=args.tmp_dir) as tmp:
        for n in (int(s) for s in args.mem_sizes):
            path = str(Path(tmp) / f"x_{n}.npy")
            size = (n * 2 * 8) / 2**20
            runs = [("write (write_npy_in_chunks)", child("write", path, n, k, 1, 1)),
                    ("SVI from memmap", child("svi", path, n, k, args.mem_steps, 1))]
            if n <= args.cavi_mem_max:
                runs.append(("CAVI in memory", child("cavi", path, n, k, 1, args.cavi_mem_iter)))
            for name, r in runs:
                print(f"| {n:,} | {size:.0f} | {name} | {r['seconds']:.2f} | {r['VmHWM']:.0f} | {r['peak_anon']:.0f} "
                      f"| {r['RssFile']:.0f} | {r['tracemalloc']:.1f} |", flush=True)
            if n > args.cavi_mem_max:
                # data (N D) + responsibilities and log rho (2 N K) + Mahalanobis block result (N K), float64
                est = n * 8 * (2 + 3 * k) / 2**20
                print(f"| {n:,} | {size:.0f} | CAVI in memory: not run; its N-sized float64 arrays alone "
                      f"(x, resp, log rho, squared distances) | - | >= {est:.0f} + baseline | - | - | - |")
            os.unlink(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e6)
    ap.add_argument("--n-test", type=float, default=1e4)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--svi-steps", type=int, default=2000,
                    help="SVI steps at B = 1000; max(200, svi_steps * 1000 / B) at batch size B")
    ap.add_argument("--init", choices=["kmeans", "random"], default="kmeans",
                    help="common initial q0: fit_bgmm_svi's default (k-means on a subset) or random responsibilities")
    ap.add_argument("--eval-every", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.01, help="nats per point below CAVI's converged value")
    ap.add_argument("--cavi-max-iter", type=int, default=300)
    ap.add_argument("--mem-sizes", type=float, nargs="+", default=[1e6, 1e7])
    ap.add_argument("--mem-steps", type=int, default=2000)
    ap.add_argument("--cavi-mem-iter", type=int, default=5)
    ap.add_argument("--cavi-mem-max", type=float, default=1e7, help="largest N at which CAVI's memory is measured")
    ap.add_argument("--tmp-dir", default=None, help="where the .npy files are written (default: system temp)")
    ap.add_argument("--skip-time", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke test: N = 2e4, memory at 1e4 and 1e5")
    args = ap.parse_args()
    if args.quick:
        args.n, args.n_test, args.batch_sizes, args.svi_steps = 2e4, 2e3, [200, 1000], 600
        args.mem_sizes, args.mem_steps, args.cavi_mem_max = [1e4, 1e5], 200, 1e5
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}, numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn "
          f"{sklearn.__version__}, {time.strftime('%Y-%m-%d')}")
    if not args.skip_time:
        time_to_target(args)
    if not args.skip_memory:
        memory(args)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
