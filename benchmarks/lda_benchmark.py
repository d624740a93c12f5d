"""Documents per second and held-out perplexity: vi_lib's SVI for LDA vs scikit-learn's online LDA.

Usage: ``python benchmarks/lda_benchmark.py [--docs 20000] [--vocab 2000] [--topics 10] [--doc-length 150]
[--batch-size 256] [--tau 64] [--kappa 0.7] [--epochs 1] [--repeats 1] [--quick]``.

One synthetic corpus is drawn from LDA (``vi_lib.sample_lda_corpus``: sparse topics with eta = 0.05,
alpha = 0.1), plus 1,000 held-out documents. Both fits use equal settings (``doc_topic_prior`` = alpha,
``topic_word_prior`` = eta, ``learning_offset`` = tau, ``learning_decay`` = kappa, ``batch_size``,
``total_samples`` = D, ``max_doc_update_iter`` = 100, ``mean_change_tol`` = 1e-3), the same initial lambda
and the documents in row order:

* **ours**: ``vi_lib.fit_lda_svi(..., shuffle=False, init_lambda=lam0)``; time = its ``wall_time`` (the
  steps only, no evaluation);
* **sklearn**: ``LatentDirichletAllocation(learning_method="online", n_jobs=1)`` put at ``lam0`` (its
  ``components_`` and counters set directly), then ``partial_fit`` once per epoch; time = wall time of
  those calls (which include its input check, about 1 % here).

Both perplexities are scikit-learn's ``perplexity`` of the held-out documents (ours via
``vi_lib.lda_perplexity``, which equals it). The ratio is ours / sklearn documents per second (above 1 means
ours is faster). Not a test: timings vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy
import sklearn
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d

from vi_lib import fit_lda_svi, lda_perplexity, match_topics, sample_lda_corpus

ALPHA, ETA = 0.1, 0.05


def sklearn_from(lam0: np.ndarray, args: argparse.Namespace, n_docs: int, seed: int) -> LatentDirichletAllocation:
    """scikit-learn's online LDA at lambda = ``lam0`` before its first step."""
    lda = LatentDirichletAllocation(n_components=lam0.shape[0], doc_topic_prior=ALPHA, topic_word_prior=ETA,
                                    learning_method="online", learning_offset=args.tau, learning_decay=args.kappa,
                                    batch_size=args.batch_size, total_samples=n_docs, max_doc_update_iter=100,
                                    mean_change_tol=1e-3, n_jobs=1, random_state=seed)
    lda._init_latent_vars(lam0.shape[1])
    lda.components_ = lam0.copy()
    lda.exp_dirichlet_component_ = np.exp(_dirichlet_expectation_2d(lda.components_))
    lda.n_features_in_ = lam0.shape[1]
    return lda


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=20000)
    p.add_argument("--vocab", type=int, default=2000)
    p.add_argument("--topics", type=int, default=10)
    p.add_argument("--doc-length", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--tau", type=float, default=64.0)
    p.add_argument("--kappa", type=float, default=0.7)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="smoke run: 2,000 documents, V = 500, K = 5")
    args = p.parse_args()
    if args.quick:
        args.docs, args.vocab, args.topics = 2000, 500, 5
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-learn {sklearn.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    rng = np.random.default_rng(args.seed)
    sample = sample_lda_corpus(args.docs + 1000, args.vocab, args.topics, args.doc_length, ALPHA, ETA, rng)
    x, held_out = sample.counts[:args.docs], sample.counts[args.docs:]
    print(f"D = {args.docs}, V = {args.vocab}, K = {args.topics}, {args.doc_length} words/doc, "
          f"{x.nnz / x.shape[0]:.0f} distinct words/doc, batch {args.batch_size}, tau {args.tau}, "
          f"kappa {args.kappa}, {args.epochs} epoch(s)")
    rows = []
    for rep in range(args.repeats):
        lam0 = np.random.default_rng(args.seed + 100 + rep).gamma(100.0, 0.01, (args.topics, args.vocab))
        ours = fit_lda_svi(x, args.topics, alpha=ALPHA, eta=ETA, rng=np.random.default_rng(rep),
                           batch_size=args.batch_size, tau=args.tau, kappa=args.kappa, n_epochs=args.epochs,
                           init_lambda=lam0, shuffle=False)
        lda = sklearn_from(lam0, args, args.docs, rep)
        t0 = time.perf_counter()
        for _ in range(args.epochs):
            lda.partial_fit(x)
        t_sk = time.perf_counter() - t0
        n = args.docs * args.epochs
        row = dict(ours_dps=n / ours.wall_time, sk_dps=n / t_sk,
                   ours_perp=lda_perplexity(held_out, ours.lam, ALPHA, ETA), sk_perp=lda.perplexity(held_out),
                   ours_hell=match_topics(ours.lam, sample.topics)[1].max(),
                   sk_hell=match_topics(lda.components_, sample.topics)[1].max())
        rows.append(row)
        print(f"repeat {rep}: ours {row['ours_dps']:.0f} docs/s, sklearn {row['sk_dps']:.0f} docs/s, "
              f"ratio {row['ours_dps'] / row['sk_dps']:.2f}x; held-out perplexity ours {row['ours_perp']:.2f}, "
              f"sklearn {row['sk_perp']:.2f}; max matched Hellinger ours {row['ours_hell']:.3f}, "
              f"sklearn {row['sk_hell']:.3f}")
    if args.repeats > 1:
        ratio = np.median([r["ours_dps"] / r["sk_dps"] for r in rows])
        print(f"median ratio {ratio:.2f}x over {args.repeats} repeats")


if __name__ == "__main__":
    main()
