"""Audit of input validation across the whole public API of vi_lib and vi_lib.vae.

House rule: bad input gets a clear :class:`vi_lib.ValidationError` that names the argument, never a
silent NaN or a bare NumPy/torch error. Each public callable has one entry in ``SPECS`` with a
cheap valid call and the arguments to corrupt; the tables below generate, per argument,

* ``nan``: a NaN in a float or array argument,
* ``zero``/``negative``: a non-positive scale, variance or count,
* ``str``/``none``: a wrong type for a required argument,
* named extra cases: wrong shapes and other bad values specific to one function.

Each case must raise ``ValidationError`` whose message starts with the function's name and names
the argument in backticks. ``test_every_public_callable_is_audited`` keeps the audit complete.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import vi_lib  # noqa: E402
import vi_lib.vae as vae  # noqa: E402
from vi_lib import ValidationError  # noqa: E402

NAN = math.nan


# ---------------------------------------------------------------------------------------------
# Small valid inputs shared by the specs (built fresh for every call, so no case can leak state).
# ---------------------------------------------------------------------------------------------


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _nn_model() -> vi_lib.NormalNormal:
    return vi_lib.NormalNormal(0.0, 1.0, 0.5)


def _gmm() -> vi_lib.GaussianMixture1D:
    return vi_lib.GaussianMixture1D(np.array([0.5, 0.5]), np.array([-1.0, 1.0]), np.array([1.0, 1.0]))


def _x1d() -> np.ndarray:
    return np.array([-1.2, -0.8, 0.9, 1.1, 1.3])


def _resp() -> np.ndarray:
    return np.full((5, 2), 0.5)


def _ng() -> vi_lib.NormalGamma:
    return vi_lib.NormalGamma(0.0, 1.0, 2.0, 2.0)


def _ngq() -> vi_lib.NormalGammaMeanField:
    return vi_lib.NormalGammaMeanField(0.0, 1.0, 2.0, 2.0)


def _mixq() -> vi_lib.MixtureMeanField:
    return vi_lib.MixtureMeanField(np.full((5, 2), 0.5), np.array([-1.0, 1.0]), np.ones(2))


def _logreg() -> vi_lib.BayesianLogisticRegression:
    X = np.array([[1.0, 0.5], [1.0, -0.3], [1.0, 1.2], [1.0, -1.1], [1.0, 0.1], [1.0, 0.7]])
    return vi_lib.BayesianLogisticRegression(X, np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0]))


def _target() -> vi_lib.GaussianTarget:
    return vi_lib.GaussianTarget(np.zeros(2), np.eye(2))


def _vae() -> vae.VAE:
    torch.manual_seed(0)
    return vae.VAE(data_dim=4, latent_dim=2, hidden=(3,), total_count=2)


def _counts() -> torch.Tensor:
    return torch.tensor([[0.0, 1.0, 2.0, 1.0], [2.0, 2.0, 0.0, 0.0], [1.0, 0.0, 1.0, 2.0], [0.0, 0.0, 2.0, 1.0]])


def _log_joint_1d(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.asarray(z) ** 2


def _log_joint_nd(z: np.ndarray) -> np.ndarray:
    z = np.atleast_2d(z)
    return -0.5 * np.sum(z**2, axis=-1)


def _grad_log_joint(z: np.ndarray) -> np.ndarray:
    return -np.asarray(z)


def _local_log_joint(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.asarray(z) ** 2


def _nan_fn(z: Any, *args: Any) -> np.ndarray:
    return np.full(np.shape(z)[:1] or (), NAN) if np.ndim(z) else np.float64(NAN)


def _nan_like(z: Any, *args: Any) -> np.ndarray:
    return np.full(np.shape(z), NAN)


def _sample_q(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=n)


def _log_q(z: np.ndarray) -> np.ndarray:
    return -0.5 * np.asarray(z) ** 2 - 0.5 * np.log(2 * np.pi)


def _elbo_fn(m: float, s: float) -> float:
    return -0.5 * (m**2 + s**2) + np.log(s)


def _estimator(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=2)


def _nan_estimator(rng: np.random.Generator) -> np.ndarray:
    return np.full(2, NAN)


def _axes() -> Any:
    return plt.subplots()[1]



def _x2d() -> np.ndarray:
    return np.array([[-1.2, 0.3], [-0.8, 0.1], [0.9, -0.4], [1.1, 0.6], [1.3, -0.2], [-0.5, 0.8]])


def _bgmm_prior() -> vi_lib.BayesianGMMPrior:
    return vi_lib.BayesianGMMPrior(concentration=1.0, mean=np.zeros(2), mean_precision=1.0, dof=2.0, scale=np.eye(2))


def _bgmm_q(d: int = 2) -> vi_lib.BayesianGMMVariational:
    return vi_lib.BayesianGMMVariational(concentration=np.array([2.0, 3.0]), mean_precision=np.array([1.5, 2.5]),
                                         means=np.zeros((2, d)), dof=np.array([d + 1.0, d + 2.0]),
                                         scale=np.tile(np.eye(d), (2, 1, 1)))


def _bgmm_resp() -> np.ndarray:
    return np.full((6, 2), 0.5)


def _bgmm_natural() -> vi_lib.BayesianGMMNatural:
    return vi_lib.bgmm_to_natural(_bgmm_q())


def _bgmm_flat() -> torch.Tensor:
    return torch.tensor(vi_lib.bgmm_flat_natural(_bgmm_q()))


def _zeros_chunk(c: int) -> np.ndarray:
    return np.zeros((c, 2))


def _nan_chunk(c: int) -> np.ndarray:
    return np.full((c, 2), NAN)


# write_npy_in_chunks is audited with a path it never writes: every bad case fails before the rename.
_NEVER_WRITTEN = str(Path(tempfile.gettempdir()) / "vi_lib_validation_audit_never_written.npy")
def _lda_counts() -> np.ndarray:
    return np.array([[2.0, 0.0, 1.0, 0.0], [0.0, 3.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 4.0, 0.0],
                     [2.0, 2.0, 0.0, 0.0], [0.0, 1.0, 0.0, 2.0]])


BGMM = dict(concentration=np.array([2.0, 3.0]), mean_precision=np.array([1.5, 2.5]), means=np.zeros((2, 2)),
            dof=np.array([3.0, 4.0]), scale=np.tile(np.eye(2), (2, 1, 1)))

MIX = dict(weights=np.array([0.3, 0.7]), means=np.array([-1.0, 2.0]), stds=np.array([0.5, 1.0]))


# Beyond mean field: torch families, flows, transforms, targets and the PSIS checks.
def _mf2() -> vi_lib.MeanFieldGaussian:
    return vi_lib.MeanFieldGaussian(2)


def _planar_layers() -> list:
    return [vi_lib.PlanarFlow(2)]


def _torch_log_joint(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z**2).sum(-1)


def _torch_nan(z: torch.Tensor) -> torch.Tensor:
    return torch.full(z.shape[:1], NAN, dtype=z.dtype) + 0.0 * z.sum(-1)


def _torch_wrong_shape(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * z**2


def _numpy_output(z: torch.Tensor) -> np.ndarray:
    return -0.5 * (z.detach().numpy() ** 2).sum(-1)



# ---------------------------------------------------------------------------------------------
# The audit table.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """How to call one public callable validly, and which arguments to corrupt."""

    valid: Callable[[], dict[str, Any]]
    finite: tuple[str, ...] = ()  # float/array arguments that must reject NaN
    positive: tuple[str, ...] = ()  # scales, variances, counts: reject 0 and -1
    typed: tuple[str, ...] = ()  # required numeric arguments: reject "abc" and None
    extra: tuple[tuple[str, str, Any], ...] = ()  # (argument, case id, bad value)
    where: str | None = None  # function name in the message, if not the callable's
    run_valid: bool = True  # False when the valid call is slow or has side effects
    namespace: Any = field(default=vi_lib)
    infinite_ok: tuple[str, ...] = ()  # result paths that may be +-inf by the documented contract


def _v(**kw: Any) -> Callable[[], dict[str, Any]]:
    """Valid kwargs factory; zero-argument callables in ``kw`` are called on each use."""
    return lambda: {k: (v() if callable(v) and getattr(v, "_factory", False) else v) for k, v in kw.items()}


def _f(fn: Callable[[], Any]) -> Callable[[], Any]:
    fn._factory = True  # type: ignore[attr-defined]
    return fn


x2_, bprior_, bq_, bresp_ = _f(_x2d), _f(_bgmm_prior), _f(_bgmm_q), _f(_bgmm_resp)
bnat_, bflat_ = _f(_bgmm_natural), _f(_bgmm_flat)
rng_, nn_, gmm_, x1_, resp_, lr_, tgt_, vae_, cnt_, ax_ = (
    _f(_rng),
    _f(_nn_model),
    _f(_gmm),
    _f(_x1d),
    _f(_resp),
    _f(_logreg),
    _f(_target),
    _f(_vae),
    _f(_counts),
    _f(_axes),
)
ng_, ngq_, mixq_ = _f(_ng), _f(_ngq), _f(_mixq)
mf2_, planar_ = _f(_mf2), _f(_planar_layers)

SPECS: dict[str, Spec] = {
    # --- display, repro, plotting -----------------------------------------------------------
    "setup_notebook": Spec(
        _v(seed=0),
        positive=("threads", "precision"),
        typed=("seed",),
        extra=(("seed", "negative", -1),),
        run_valid=False,
    ),
    "format_table": Spec(
        _v(rows=[[1, 0.5]], headers=["n", "p"]),
        typed=("rows", "headers"),
        extra=(("rows", "ragged", [[1, 0.5, 2]]), ("headers", "str-not-list", "np"), ("floatfmt", "bad-format", "%q")),
    ),
    "new_axes": Spec(_v(ax=None), extra=(("ax", "str", "abc"),)),
    "gaussian_ellipse": Spec(
        _v(mean=np.zeros(2), cov=np.eye(2), ax=ax_),
        finite=("mean", "cov", "n_std"),
        positive=("n_std",),
        typed=("mean", "cov"),
        extra=(
            ("mean", "shape", np.zeros(3)),
            ("cov", "shape", np.eye(3)),
            ("cov", "not-pd", np.array([[1.0, 2.0], [2.0, 1.0]])),
            ("ax", "str", "abc"),
        ),
    ),
    "image_grid": Spec(
        _v(images=np.full((2, 3, 4), 0.5), image_shape=(2, 2), ax=ax_),
        finite=("images", "vmin", "vmax"),
        typed=("images", "image_shape"),
        extra=(
            ("images", "shape", np.zeros((2, 3, 5))),
            ("image_shape", "zero", (0, 2)),
            ("image_shape", "float", (2.5, 2)),
            ("pad", "negative", -1),
            ("pad", "str", "abc"),
            ("vmax", "below-vmin", -1.0),
            ("row_labels", "wrong-length", ["a"]),
            ("ax", "str", "abc"),
        ),
    ),
    # --- Bayes' rule and the evidence -------------------------------------------------------
    "BetaBernoulli": Spec(
        _v(alpha=1.0, beta=2.0),
        finite=("alpha", "beta"),
        positive=("alpha", "beta"),
        typed=("alpha", "beta"),
        extra=(("alpha", "array", np.ones(2)),),
    ),
    "NormalNormal": Spec(
        _v(prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("prior_mean", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("prior_mean", "prior_std", "noise_std"),
        extra=(("prior_std", "array", np.ones(2)),),
    ),
    "normal_means_log_joint": Spec(
        _v(mu=np.zeros((3, 2)), x=np.ones((4, 2)), prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("mu", "x", "prior_mean", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("mu", "x", "prior_mean", "prior_std", "noise_std"),
        extra=(("mu", "shape", np.zeros((3, 3))), ("x", "shape", np.ones(4)), ("x", "empty", np.ones((0, 2)))),
    ),
    "normal_normal_log_evidence_stats": Spec(
        _v(count=3.0, sum_x=1.0, sum_x2=2.0, prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("count", "sum_x", "sum_x2", "prior_mean", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("count", "sum_x", "sum_x2", "prior_mean", "prior_std", "noise_std"),
        extra=(("count", "negative", -1.0), ("sum_x", "shape", np.ones(2))),
    ),
    "grid_log_evidence": Spec(
        _v(log_joint=_log_joint_nd, lower=-5.0, upper=5.0, points_per_dim=11, dim=2),
        finite=("lower", "upper"),
        positive=("points_per_dim", "dim", "max_points", "chunk_size"),
        typed=("lower", "upper", "points_per_dim", "dim"),
        extra=(
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _nan_fn),
            ("upper", "below-lower", -6.0),
            ("dim", "float", 2.0),
        ),
    ),
    "grid_quadrature_cost": Spec(
        _v(points_per_dim=10, dims=np.array([1, 2])),
        finite=("dims",),
        positive=("points_per_dim", "dims"),
        typed=("points_per_dim", "dims"),
        extra=(("dims", "shape", np.ones((2, 2))), ("dims", "fractional", [1.5])),
    ),
    "log_evidence_quadrature": Spec(
        _v(log_joint=_log_joint_1d, lower=-10.0, upper=10.0),
        finite=("lower", "upper", "epsrel"),
        positive=("grid_points", "epsrel"),
        typed=("lower", "upper"),
        extra=(
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _nan_like),
            ("upper", "below-lower", -11.0),
            ("lower", "array", np.zeros(2)),
        ),
    ),
    "mc_samples_needed": Spec(
        _v(rel_tol=0.1, log_mean=0.0, log_second_moment=1.0),
        finite=("rel_tol", "log_mean", "log_second_moment"),
        positive=("rel_tol",),
        typed=("rel_tol", "log_mean", "log_second_moment"),
        extra=(("log_second_moment", "shape", np.ones(2)), ("log_second_moment", "below-jensen", -1.0)),
    ),
    "naive_mc_log_evidence": Spec(
        _v(log_likelihood=_log_joint_1d, prior_samples=np.linspace(-1, 1, 5)),
        finite=("prior_samples",),
        typed=("prior_samples",),
        extra=(
            ("log_likelihood", "not-callable", 3.0),
            ("log_likelihood", "returns-nan", _nan_like),
            ("prior_samples", "shape", np.zeros((2, 2, 2))),
            ("prior_samples", "too-few", np.zeros(1)),
        ),
    ),
    "naive_mc_relative_variance": Spec(
        _v(log_mean=0.0, log_second_moment=1.0),
        finite=("log_mean", "log_second_moment"),
        typed=("log_mean", "log_second_moment"),
        extra=(("log_second_moment", "shape", np.ones(2)),),
    ),
    "summarize_log_weights": Spec(
        _v(log_weights=np.array([-1.0, -2.0, -0.5])),
        finite=("log_weights",),
        typed=("log_weights",),
        extra=(
            ("log_weights", "shape", np.zeros((2, 2))),
            ("log_weights", "plus-inf", np.array([0.0, np.inf])),
            ("log_weights", "all-minus-inf", np.array([-np.inf, -np.inf])),
        ),
    ),
    "gmm_log_evidence_exact": Spec(
        _v(x=np.array([-1.0, 0.5, 1.0]), K=2, prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("x", "prior_mean", "prior_std", "noise_std"),
        positive=("K", "prior_std", "noise_std", "max_assignments", "chunk_size"),
        typed=("x", "K", "prior_mean", "prior_std", "noise_std"),
        extra=(("x", "shape", np.zeros((2, 2))), ("x", "empty", np.zeros(0))),
    ),
    "gmm_log_evidence_grid_k2": Spec(
        _v(x=np.array([-1.0, 0.5, 1.0]), prior_mean=0.0, prior_std=1.0, noise_std=0.5, points=21),
        finite=("x", "prior_mean", "prior_std", "noise_std", "half_width"),
        positive=("prior_std", "noise_std", "points", "half_width"),
        typed=("x", "prior_mean", "prior_std", "noise_std"),
        extra=(("x", "shape", np.zeros((2, 2))), ("points", "even", 20)),
    ),
    "gmm_num_assignments": Spec(_v(n=3, K=2), positive=("n", "K"), typed=("n", "K"), extra=(("n", "nan", NAN),)),
    # --- KL divergence ---------------------------------------------------------------------------
    "entropy_mvn": Spec(
        _v(cov=np.eye(2)),
        finite=("cov",),
        typed=("cov",),
        extra=(("cov", "shape", np.ones(3)), ("cov", "not-pd", -np.eye(2))),
    ),
    "entropy_normal": Spec(_v(sigma=1.0), finite=("sigma",), positive=("sigma",), typed=("sigma",)),
    "kl_categorical": Spec(
        _v(p=np.array([0.5, 0.5]), q=np.array([0.3, 0.7])),
        finite=("p", "q", "atol"),
        typed=("p", "q"),
        extra=(
            ("q", "shape", np.ones(3) / 3),
            ("p", "negative", np.array([1.5, -0.5])),
            ("q", "not-normalised", np.array([0.5, 0.6])),
            ("atol", "negative", -1.0),
        ),
    ),
    "kl_monte_carlo": Spec(
        _v(log_p=_log_q, log_q=_log_q, sample_q=_sample_q, n=10, rng=rng_),
        positive=("n",),
        typed=("n", "rng"),
        extra=(
            ("log_p", "not-callable", 3.0),
            ("log_p", "returns-nan", _nan_like),
            ("sample_q", "not-callable", 3.0),
            ("n", "float", 10.0),
        ),
    ),
    "kl_mvn": Spec(
        _v(mean_q=np.zeros(2), cov_q=np.eye(2), mean_p=np.ones(2), cov_p=2 * np.eye(2)),
        finite=("mean_q", "cov_q", "mean_p", "cov_p"),
        typed=("mean_q", "cov_q", "mean_p", "cov_p"),
        extra=(
            ("mean_p", "shape", np.zeros(3)),
            ("cov_q", "shape", np.eye(3)),
            ("cov_p", "not-pd", np.zeros((2, 2))),
            ("mean_q", "shape", np.zeros((2, 2))),
        ),
    ),
    "kl_normal": Spec(
        _v(mu_q=0.0, sigma_q=1.0, mu_p=1.0, sigma_p=2.0),
        finite=("mu_q", "sigma_q", "mu_p", "sigma_p"),
        positive=("sigma_q", "sigma_p"),
        typed=("mu_q", "sigma_q", "mu_p", "sigma_p"),
    ),
    "fit_forward_kl_gaussian": Spec(
        _v(**MIX),
        finite=("weights", "means", "stds"),
        positive=("stds",),
        typed=("weights", "means", "stds"),
        extra=(
            ("means", "shape", np.zeros(3)),
            ("weights", "not-normalised", np.ones(2)),
            ("weights", "shape", np.ones((2, 1)) / 2),
        ),
    ),
    "fit_mean_field_gaussian": Spec(
        _v(mean=np.zeros(2), cov=np.array([[1.0, 0.5], [0.5, 1.0]]), direction="reverse"),
        finite=("mean", "cov"),
        typed=("mean", "cov", "direction"),
        extra=(("cov", "shape", np.eye(3)), ("cov", "not-pd", -np.eye(2)), ("direction", "unknown", "sideways")),
    ),
    "fit_reverse_kl_gaussian": Spec(
        _v(**MIX, init_mean=0.0, init_std=1.0, n_panels=50),
        finite=("weights", "means", "stds", "init_mean", "init_std", "gtol"),
        positive=("stds", "init_std", "n_panels", "gtol"),
        typed=("weights", "means", "stds", "init_mean", "init_std"),
        extra=(("init_mean", "array", np.zeros(2)), ("stds", "shape", np.ones(3))),
    ),
    "kl_integrands": Spec(
        _v(x=np.linspace(-2, 2, 5), **MIX, q_mean=0.0, q_std=1.0),
        finite=("x", "weights", "means", "stds", "q_mean", "q_std"),
        positive=("stds", "q_std"),
        typed=("x", "weights", "means", "stds", "q_mean", "q_std"),
        extra=(("q_mean", "array", np.zeros(2)), ("q_std", "array", np.ones(2))),
    ),
    "mean_field_gaussian_forward": Spec(
        _v(mean=np.zeros(2), cov=np.eye(2)),
        finite=("mean", "cov"),
        typed=("mean", "cov"),
        extra=(("cov", "shape", np.eye(3)), ("cov", "not-pd", -np.eye(2)), ("mean", "shape", np.zeros((2, 1)))),
    ),
    "mean_field_gaussian_reverse": Spec(
        _v(mean=np.zeros(2), cov=np.eye(2)),
        finite=("mean", "cov"),
        typed=("mean", "cov"),
        extra=(("cov", "shape", np.eye(3)), ("cov", "not-symmetric", np.array([[1.0, 0.5], [0.0, 1.0]]))),
    ),
    "mixture_log_pdf": Spec(
        _v(x=np.linspace(-2, 2, 5), **MIX),
        finite=("x", "weights", "means", "stds"),
        positive=("stds",),
        typed=("x", "weights", "means", "stds"),
        extra=(("means", "shape", np.zeros(3)),),
    ),
    "reverse_kl_gradient": Spec(
        _v(mean=0.0, std=1.0, **MIX, n_panels=50),
        finite=("mean", "std", "weights", "means", "stds"),
        positive=("std", "stds", "n_panels"),
        typed=("mean", "std", "weights", "means", "stds"),
        extra=(("mean", "array", np.zeros(2)), ("stds", "shape", np.ones(3))),
    ),
    "reverse_kl_hessian": Spec(
        _v(mean=0.0, std=1.0, **MIX),
        finite=("mean", "std", "weights", "means", "stds", "step"),
        positive=("std", "stds", "step"),
        typed=("mean", "std", "weights", "means", "stds"),
        extra=(("std", "array", np.ones(2)),),
    ),
    "reverse_kl_stationary_point": Spec(
        _v(**MIX, init_mean=1.5, init_std=1.0, n_panels=50),
        finite=("weights", "means", "stds", "init_mean", "init_std"),
        positive=("stds", "init_std", "n_panels"),
        typed=("weights", "means", "stds", "init_mean", "init_std"),
        extra=(("init_std", "array", np.ones(2)),),
    ),
    "reverse_kl_to_mixture": Spec(
        _v(mean=0.0, std=1.0, **MIX, n_panels=50),
        finite=("mean", "std", "weights", "means", "stds"),
        positive=("std", "stds", "n_panels"),
        typed=("mean", "std", "weights", "means", "stds"),
        extra=(("mean", "array", np.zeros(2)),),
    ),
    # --- The ELBO and EM ---------------------------------------------------------------------------
    "GaussianQ": Spec(
        _v(mean=0.0, std=1.0),
        finite=("mean", "std"),
        positive=("std",),
        typed=("mean", "std"),
        extra=(("mean", "array", np.zeros(2)),),
    ),
    "elbo_decomposition_grid": Spec(
        _v(log_joint=_log_q, log_q=_log_q, grid=np.linspace(-10, 10, 201)),
        finite=("grid",),
        typed=("grid",),
        extra=(
            ("grid", "shape", np.zeros((3, 3))),
            ("grid", "uneven", np.array([0.0, 1.0, 3.0])),
            ("log_joint", "not-callable", 3.0),
            ("log_q", "not-callable", 3.0),
            ("log_joint", "returns-nan", _nan_like),
            ("log_q", "returns-nan", _nan_like),
        ),
    ),
    "elbo_gaussian_grid": Spec(
        _v(q_mean=0.0, q_std=1.0, log_joint=_log_q, grid=np.linspace(-10, 10, 201)),
        finite=("q_mean", "q_std", "grid"),
        positive=("q_std",),
        typed=("q_mean", "q_std", "grid"),
        extra=(
            ("q_mean", "array", np.zeros(2)),
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _nan_like),
        ),
    ),
    "elbo_monte_carlo": Spec(
        _v(log_joint=_log_q, sample_q=_sample_q, log_q=_log_q, n=10, rng=rng_),
        positive=("n",),
        typed=("n", "rng"),
        extra=(
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _nan_like),
            ("log_q", "returns-nan", _nan_like),
            ("sample_q", "not-callable", 3.0),
        ),
    ),
    "elbo_monte_carlo_entropy_form": Spec(
        _v(log_joint=_log_q, sample_q=_sample_q, entropy=1.4, n=10, rng=rng_),
        finite=("entropy",),
        positive=("n",),
        typed=("entropy", "n", "rng"),
        extra=(("log_joint", "returns-nan", _nan_like), ("entropy", "array", np.ones(2))),
    ),
    "elbo_monte_carlo_kl_form": Spec(
        _v(log_likelihood=_log_q, sample_q=_sample_q, kl_to_prior=0.1, n=10, rng=rng_),
        finite=("kl_to_prior",),
        positive=("n",),
        typed=("kl_to_prior", "n", "rng"),
        extra=(("kl_to_prior", "negative", -1.0), ("log_likelihood", "returns-nan", _nan_like)),
    ),
    # elbo_normal_normal validates through elbo_terms_normal_normal, whose name its messages carry
    # (tests/test_elbo.py pins that); its own `form` argument is checked under its own name.
    "elbo_normal_normal": Spec(
        _v(q_mean=0.0, q_std=1.0, model=nn_, x=x1_),
        finite=("q_mean", "q_std", "x"),
        positive=("q_std",),
        typed=("q_mean", "q_std", "model", "x"),
        extra=(("x", "shape", np.zeros((2, 2))),),
        where="elbo_terms_normal_normal",
    ),
    "elbo_normal_normal[form]": Spec(
        _v(q_mean=0.0, q_std=1.0, model=nn_, x=x1_),
        typed=("form",),
        extra=(("form", "unknown", "bogus"),),
        where="elbo_normal_normal",
    ),
    "elbo_terms_normal_normal": Spec(
        _v(q_mean=0.0, q_std=1.0, model=nn_, x=x1_),
        finite=("q_mean", "q_std", "x"),
        positive=("q_std",),
        typed=("q_mean", "q_std", "model", "x"),
        extra=(("x", "shape", np.zeros((2, 2))), ("x", "empty", np.zeros(0))),
    ),
    "fit_gaussian_q": Spec(
        _v(elbo_fn=_elbo_fn, init_mean=0.5, init_std=0.5),
        finite=("init_mean", "init_std", "xatol"),
        positive=("init_std", "xatol"),
        typed=("init_mean", "init_std"),
        extra=(
            ("elbo_fn", "not-callable", 3.0),
            ("elbo_fn", "returns-nan", _nan_fn),
            ("init_mean", "array", np.zeros(2)),
        ),
    ),
    "squared_mean_log_joint": Spec(
        _v(z=np.linspace(-1, 1, 3), x=x1_),
        finite=("z", "x", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("z", "x"),
        extra=(("x", "shape", np.zeros((2, 2))),),
    ),
    "GaussianMixture1D": Spec(
        _v(weights=np.array([0.5, 0.5]), means=np.array([-1.0, 1.0]), variances=np.ones(2)),
        finite=("weights", "means", "variances"),
        positive=("variances",),
        typed=("weights", "means", "variances"),
        extra=(
            ("means", "shape", np.zeros(3)),
            ("weights", "not-normalised", np.ones(2)),
            ("weights", "negative", np.array([1.5, -0.5])),
        ),
    ),
    "e_step": Spec(
        _v(x=x1_, params=gmm_), finite=("x",), typed=("x", "params"), extra=(("x", "shape", np.zeros((2, 2))),)
    ),
    "em_lower_bound": Spec(
        _v(x=x1_, params=gmm_, resp=resp_),
        finite=("x", "resp"),
        typed=("x", "params", "resp"),
        extra=(
            ("resp", "shape", np.full((5, 3), 1 / 3)),
            ("resp", "rows-not-normalised", np.ones((5, 2))),
            ("resp", "negative", np.tile([1.5, -0.5], (5, 1))),
        ),
    ),
    "fit_em": Spec(
        _v(x=x1_, init=gmm_, n_iter=3),
        finite=("x", "tol", "variance_floor"),
        positive=("n_iter", "variance_floor"),
        typed=("x", "init"),
        extra=(("tol", "negative", -1.0), ("x", "shape", np.zeros((2, 2)))),
    ),
    "gmm_log_density": Spec(
        _v(x=x1_, params=gmm_), finite=("x",), typed=("x", "params"), extra=(("x", "shape", np.zeros((2, 2))),)
    ),
    "gmm_log_likelihood": Spec(
        _v(x=x1_, params=gmm_), finite=("x",), typed=("x", "params"), extra=(("x", "empty", np.zeros(0)),)
    ),
    "gmm_sample": Spec(
        _v(n=5, params=gmm_, rng=rng_), positive=("n",), typed=("n", "params", "rng"), extra=(("n", "nan", NAN),)
    ),
    "init_gmm": Spec(
        _v(x=x1_, n_components=2, rng=rng_),
        finite=("x",),
        positive=("n_components",),
        typed=("x", "n_components", "rng"),
        extra=(("x", "too-few-distinct", np.ones(5)),),
    ),
    "m_step": Spec(
        _v(x=x1_, resp=resp_),
        finite=("x", "resp", "variance_floor"),
        positive=("variance_floor",),
        typed=("x", "resp"),
        extra=(("resp", "shape", np.full((4, 2), 0.5)),),
    ),
    # --- Bayesian Gaussian mixture by CAVI ----------------------------------------------------------
    "BayesianGMMPrior": Spec(
        _v(concentration=1.0, mean=np.zeros(2), mean_precision=1.0, dof=2.0, scale=np.eye(2)),
        finite=("concentration", "mean", "mean_precision", "dof", "scale"),
        positive=("concentration", "mean_precision"),
        typed=("concentration", "mean", "mean_precision", "dof", "scale"),
        extra=(
            ("dof", "below-d-minus-1", 1.0),
            ("dof", "array", np.full(2, 3.0)),
            ("mean", "shape", np.zeros((2, 2))),
            ("scale", "shape", np.eye(3)),
            ("scale", "not-pd", -np.eye(2)),
            ("scale", "asymmetric", np.array([[1.0, 0.5], [0.0, 1.0]])),
        ),
    ),
    "BayesianGMMVariational": Spec(
        _v(**BGMM),
        finite=("concentration", "mean_precision", "means", "dof", "scale"),
        positive=("concentration", "mean_precision"),
        typed=("concentration", "mean_precision", "means", "dof", "scale"),
        extra=(
            ("dof", "below-d-minus-1", np.array([3.0, 0.5])),
            ("mean_precision", "shape", np.ones(3)),
            ("means", "shape", np.zeros((3, 2))),
            ("scale", "shape", np.tile(np.eye(3), (2, 1, 1))),
            ("scale", "not-pd", np.stack([np.eye(2), -np.eye(2)])),
        ),
    ),
    "default_bgmm_prior": Spec(
        _v(x=x2_, n_components=2),
        finite=("x", "concentration"),
        positive=("n_components", "concentration"),
        typed=("x", "n_components"),
        extra=(("x", "shape", np.zeros(5)), ("x", "one-row", np.zeros((1, 2))), ("x", "singular", np.ones((5, 2)))),
    ),
    "sample_gaussian_mixture": Spec(
        _v(n=10, weights=np.array([0.4, 0.6]), means=np.zeros((2, 2)), covariances=np.tile(np.eye(2), (2, 1, 1)),
           rng=rng_),
        finite=("weights", "means"),
        positive=("n",),
        typed=("n", "weights", "means", "covariances", "rng"),
        extra=(("weights", "sum", np.array([0.5, 0.6])), ("means", "shape", np.zeros((3, 2))),
               ("covariances", "not-pd", np.stack([np.eye(2), -np.eye(2)]))),
    ),
    "bgmm_predictive_log_density": Spec(
        _v(x_new=x2_, q=bq_),
        finite=("x_new",),
        typed=("x_new", "q"),
        extra=(("x_new", "shape", np.zeros(3)), ("x_new", "empty", np.zeros((0, 2))), ("q", "wrong-dim", _bgmm_q(3))),
    ),
    "bgmm_update_resp": Spec(
        _v(x=x2_, q=bq_),
        finite=("x",),
        typed=("x", "q"),
        extra=(("x", "shape", np.zeros(3)), ("q", "wrong-dim", _bgmm_q(3)), ("q", "prior", _bgmm_prior())),
    ),
    "bgmm_update_globals": Spec(
        _v(x=x2_, resp=bresp_, prior=bprior_),
        finite=("x", "resp"),
        typed=("x", "resp", "prior"),
        extra=(
            ("resp", "shape", np.full((5, 2), 0.5)),
            ("resp", "rows-not-normalised", np.ones((6, 2))),
            ("resp", "negative", np.tile([1.5, -0.5], (6, 1))),
            ("prior", "wrong-dim", vi_lib.BayesianGMMPrior(1.0, np.zeros(3), 1.0, 3.0, np.eye(3))),
        ),
    ),
    "bgmm_elbo": Spec(
        _v(x=x2_, resp=bresp_, q=bq_, prior=bprior_),
        finite=("x", "resp"),
        typed=("x", "resp", "q", "prior"),
        extra=(
            ("resp", "shape", np.full((5, 2), 0.5)),
            ("resp", "rows-not-normalised", np.ones((6, 2))),
            ("q", "wrong-k", vi_lib.BayesianGMMVariational(np.ones(3), np.ones(3), np.zeros((3, 2)), np.full(3, 2.0),
                                                          np.tile(np.eye(2), (3, 1, 1)))),
            ("prior", "wrong-dim", vi_lib.BayesianGMMPrior(1.0, np.zeros(3), 1.0, 3.0, np.eye(3))),
        ),
    ),
    "bgmm_init_resp": Spec(
        _v(x=x2_, n_components=2, rng=rng_),
        finite=("x",),
        positive=("n_components",),
        typed=("x", "n_components", "rng"),
        extra=(("method", "unknown", "k-means++"), ("x", "shape", np.zeros(6)),
               ("x", "fewer-rows-than-k", np.zeros((1, 2)))),
    ),
    "fit_bgmm_cavi": Spec(
        _v(x=x2_, n_components=2, prior=bprior_, init_resp=bresp_, max_iter=3),
        finite=("x", "init_resp", "rtol"),
        positive=("n_components", "max_iter"),
        typed=("x", "n_components", "prior"),
        extra=(
            ("rtol", "negative", -1.0),
            ("init_resp", "shape", np.full((6, 3), 1 / 3)),
            ("init_resp", "rows-not-normalised", np.ones((6, 2))),
            ("record_every_update", "str", "yes"),
            ("prior", "wrong-dim", vi_lib.BayesianGMMPrior(1.0, np.zeros(3), 1.0, 3.0, np.eye(3))),
        ),
    ),
    "fit_bgmm_cavi[rng]": Spec(
        _v(x=x2_, n_components=2, prior=bprior_), extra=(("rng", "missing", None), ("rng", "str", "abc")),
        where="fit_bgmm_cavi", run_valid=False,
    ),
    "sklearn_lower_bound_offset": Spec(
        _v(n_samples=6, n_components=2, prior=bprior_),
        positive=("n_samples", "n_components"),
        typed=("n_samples", "n_components", "prior"),
        extra=(("n_samples", "float", 6.0),),
    ),
    # --- Stochastic VI -----------------------------------------------------------------------------------
    "robbins_monro_step_size": Spec(
        _v(t=3, tau=1.0, kappa=0.7),
        finite=("t", "tau", "kappa"),
        positive=("t", "kappa"),
        typed=("t", "tau", "kappa"),
        extra=(("kappa", "not-robbins-monro", 0.5), ("kappa", "above-one", 1.5), ("tau", "negative", -1.0),
               ("t", "fractional", 1.5), ("tau", "array", np.ones(2))),
    ),
    "svi_global_step": Spec(
        _v(eta=np.ones(3), eta_hat=np.zeros(3), rho=0.5),
        finite=("eta", "eta_hat", "rho"),
        positive=("rho",),
        typed=("eta", "eta_hat", "rho"),
        extra=(("rho", "above-one", 1.5), ("eta_hat", "shape", np.zeros(2)), ("eta_hat", "tuple", (np.zeros(3),))),
    ),
    "minibatches": Spec(
        _v(data=x2_, batch_size=2, rng=rng_),
        finite=("data",),
        positive=("batch_size", "n_batches"),
        typed=("data", "batch_size", "rng"),
        extra=(("batch_size", "above-n", 7), ("data", "shape", np.zeros(3)), ("data", "empty", np.zeros((0, 2))),
               ("low_memory", "int", 1)),
    ),
    "write_npy_in_chunks": Spec(
        _v(path=_NEVER_WRITTEN, n_rows=3, n_cols=2, sample_chunk=_zeros_chunk, chunk_rows=2),
        positive=("n_rows", "n_cols", "chunk_rows"),
        typed=("n_rows", "n_cols", "sample_chunk"),
        extra=(("sample_chunk", "wrong-shape", lambda c: np.zeros((c, 3))), ("sample_chunk", "returns-nan", _nan_chunk),
               ("dtype", "int", np.int64), ("path", "int", 3), ("path", "no-directory", "/nonexistent/dir/x.npy")),
        run_valid=False,
    ),
    "bgmm_to_natural": Spec(
        _v(q=bq_), finite=("centre",), typed=("q",),
        extra=(("centre", "shape", np.zeros(3)), ("q", "prior", _bgmm_prior())),
    ),
    "bgmm_from_natural": Spec(
        _v(eta=bnat_),
        finite=("centre",),
        typed=("eta",),
        extra=(
            ("eta", "nan", vi_lib.BayesianGMMNatural(*[np.full_like(a, NAN) for a in _bgmm_natural()])),
            ("eta", "shape", _bgmm_natural()._replace(dof=np.ones(3))),
            ("eta", "not-pd", _bgmm_natural()._replace(second_moment=-np.tile(np.eye(2), (2, 1, 1)))),
            ("eta", "negative-beta", _bgmm_natural()._replace(mean_precision=-np.ones(2))),
            ("eta", "tuple", tuple(_bgmm_natural())),
            ("centre", "shape", np.zeros(3)),
        ),
    ),
    "bgmm_intermediate_globals": Spec(
        _v(x_batch=x2_, resp_batch=bresp_, prior=bprior_, n_total=12),
        finite=("x_batch", "resp_batch"),
        positive=("n_total",),
        typed=("x_batch", "resp_batch", "prior", "n_total"),
        extra=(("n_total", "below-batch", 5), ("resp_batch", "shape", np.full((5, 2), 0.5)),
               ("resp_batch", "rows-not-normalised", np.ones((6, 2))), ("n_total", "float", 12.0)),
    ),
    "bgmm_svi_step": Spec(
        _v(x_batch=x2_, q=bq_, prior=bprior_, n_total=12, rho=0.5),
        finite=("x_batch", "rho"),
        positive=("n_total", "rho"),
        typed=("x_batch", "q", "prior", "n_total", "rho"),
        extra=(("rho", "above-one", 1.5), ("q", "wrong-dim", _bgmm_q(3)), ("n_total", "below-batch", 5)),
    ),
    "bgmm_elbo_terms": Spec(
        _v(x=x2_, q=bq_, prior=bprior_),
        finite=("x",),
        typed=("x", "q", "prior"),
        extra=(("q", "wrong-dim", _bgmm_q(3)), ("x", "shape", np.zeros(3))),
    ),
    "bgmm_minibatch_elbo": Spec(
        _v(x_batch=x2_, q=bq_, prior=bprior_, n_total=12),
        finite=("x_batch",),
        positive=("n_total",),
        typed=("x_batch", "q", "prior", "n_total"),
        extra=(("n_total", "below-batch", 5), ("q", "wrong-dim", _bgmm_q(3))),
    ),
    "fit_bgmm_svi": Spec(
        _v(data=x2_, n_components=2, prior=bprior_, batch_size=3, n_steps=2, rng=rng_, init=bq_),
        finite=("data", "tau", "kappa", "step_sizes", "eval_x"),
        positive=("n_components", "batch_size", "n_steps", "eval_every", "kappa"),
        typed=("data", "n_components", "prior", "batch_size", "n_steps", "rng"),
        extra=(
            ("kappa", "not-robbins-monro", 2.0),
            ("low_memory", "string", "yes"),
            ("tau", "negative", -1.0),
            ("step_sizes", "above-one", np.array([0.5, 1.5])),
            ("step_sizes", "shape", np.array([0.5])),
            ("init", "wrong-k", vi_lib.BayesianGMMVariational(np.ones(3), np.ones(3), np.zeros((3, 2)),
                                                             np.full(3, 2.0), np.tile(np.eye(2), (3, 1, 1)))),
            ("init", "wrong-dim", _bgmm_q(3)),
            ("eval_x", "wrong-dim", np.zeros((3, 3))),
            ("callback", "not-callable", 3),
            ("batch_size", "above-n", 7),
            ("prior", "wrong-dim", vi_lib.BayesianGMMPrior(1.0, np.zeros(3), 1.0, 3.0, np.eye(3))),
        ),
    ),
    "bgmm_flat_natural": Spec(_v(q=bq_), typed=("q",), extra=(("q", "prior", _bgmm_prior()),)),
    "bgmm_log_normalizer_torch": Spec(
        _v(eta_flat=bflat_, dim=2, n_components=2),
        finite=("eta_flat",),
        positive=("dim", "n_components"),
        typed=("eta_flat", "dim", "n_components"),
        extra=(("eta_flat", "shape", torch.zeros(3, dtype=torch.float64)),
               ("eta_flat", "float32", _bgmm_flat().float())),
    ),
    "bgmm_elbo_torch": Spec(
        _v(x=x2_, resp=bresp_, eta_flat=bflat_, prior=bprior_),
        finite=("x", "resp", "eta_flat"),
        typed=("x", "resp", "eta_flat", "prior"),
        extra=(("eta_flat", "shape", torch.zeros(3, dtype=torch.float64)), ("resp", "shape", np.full((5, 2), 0.5))),
    ),
    "bgmm_natural_gradient_check": Spec(
        _v(x=x2_, resp=bresp_, q=bq_, prior=bprior_),
        finite=("x", "resp"),
        typed=("x", "resp", "q", "prior"),
        extra=(("q", "wrong-k", vi_lib.BayesianGMMVariational(np.ones(3), np.ones(3), np.zeros((3, 2)),
                                                             np.full(3, 2.0), np.tile(np.eye(2), (3, 1, 1)))),),
    ),
    # --- Black-box VI gradients ----------------------------------------------------------------------
    "fit_bbvi": Spec(
        _v(
            log_joint=_log_joint_nd,
            init_mean=np.zeros(2),
            grad_log_joint=_grad_log_joint,
            n_iterations=3,
            n_samples=2,
            rng=rng_,
        ),
        finite=("init_mean", "init_log_std", "step_size", "rm_delay", "rm_exponent"),
        positive=("n_iterations", "n_samples", "step_size", "rm_delay", "rm_exponent"),
        typed=("init_mean", "rng"),
        # A wrongly shaped init_log_std is reported as `log_std` vs `mean` (pinned in test_bbvi.py).
        extra=(
            ("init_log_std", "str", "abc"),
            ("estimator", "unknown", "bogus"),
            ("optimizer", "unknown", "bogus"),
            ("grad_log_joint", "not-callable", 3.0),
            ("grad_log_joint", "returns-nan", _nan_like),
            ("log_joint", "not-callable", 3.0),
            ("callback", "not-callable", 3.0),
            ("init_mean", "shape", np.zeros((2, 2))),
        ),
    ),
    "fit_doubly_stochastic_vi": Spec(
        _v(model=lr_, init_mean=np.zeros(2), batch_size=2, n_iterations=3, rng=rng_),
        finite=("init_mean", "init_log_std", "step_size", "rm_delay", "rm_exponent", "likelihood_scale"),
        positive=("batch_size", "n_iterations", "n_samples", "step_size", "rm_delay", "rm_exponent",
                  "likelihood_scale"),
        typed=("model", "init_mean", "batch_size", "rng"),
        extra=(
            ("batch_size", "above-n", 7),
            ("batch_size", "float", 2.0),
            ("rm_exponent", "half", 0.5),
            ("optimizer", "unknown", "bogus"),
            ("init_mean", "wrong-length", np.zeros(3)),
            ("init_mean", "shape", np.zeros((2, 2))),
            ("init_log_std", "str", "abc"),
            ("likelihood_scale", "vector", np.ones(2)),
            ("callback", "not-callable", 3.0),
        ),
    ),
    "doubly_stochastic_gradient": Spec(
        _v(model=lr_, mean=np.zeros(2), log_std=np.zeros(2), batch_size=2, n_samples=2, rng=rng_),
        finite=("mean", "log_std", "likelihood_scale"),
        positive=("batch_size", "n_samples", "likelihood_scale"),
        typed=("model", "mean", "log_std", "batch_size", "n_samples", "rng"),
        extra=(("batch_size", "above-n", 7), ("mean", "wrong-length", np.zeros(3)), ("log_std", "shape", np.zeros(3))),
    ),
    "running_mean": Spec(
        _v(values=np.arange(5.0), window=2),
        finite=("values",),
        positive=("window",),
        typed=("values", "window"),
        extra=(("values", "shape", np.zeros((2, 2))), ("values", "empty", np.zeros(0))),
    ),
    "GaussianTarget": Spec(
        _v(mean=np.zeros(2), precision=np.eye(2)),
        finite=("mean", "precision", "log_evidence"),
        typed=("mean", "precision", "log_evidence"),
        extra=(
            ("precision", "shape", np.eye(3)),
            ("precision", "not-pd", -np.eye(2)),
            ("mean", "shape", np.zeros((2, 2))),
        ),
    ),
    "gaussian_entropy": Spec(
        _v(log_std=np.zeros(2)),
        finite=("log_std",),
        typed=("log_std",),
        extra=(("log_std", "shape", np.zeros((2, 2))),),
    ),
    "gaussian_score": Spec(
        _v(z=np.zeros((3, 2)), mean=np.zeros(2), log_std=np.zeros(2)),
        finite=("z", "mean", "log_std"),
        typed=("z", "mean", "log_std"),
        extra=(("z", "shape", np.zeros((3, 3))), ("log_std", "shape", np.zeros(3))),
    ),
    "pathwise_gradient": Spec(
        _v(grad_log_joint=_grad_log_joint, mean=np.zeros(2), log_std=np.zeros(2), n_samples=4, rng=rng_),
        finite=("mean", "log_std"),
        positive=("n_samples",),
        typed=("mean", "log_std", "n_samples", "rng"),
        extra=(
            ("log_std", "shape", np.zeros(3)),
            ("grad_log_joint", "returns-nan", _nan_like),
            ("grad_log_joint", "not-callable", 3.0),
        ),
    ),
    "rao_blackwell_gradient": Spec(
        _v(local_log_joint=_local_log_joint, mean=np.zeros(2), log_std=np.zeros(2), n_samples=4, rng=rng_),
        finite=("mean", "log_std"),
        positive=("n_samples",),
        typed=("mean", "log_std", "n_samples", "rng"),
        extra=(
            ("log_std", "shape", np.zeros(3)),
            ("local_log_joint", "returns-nan", _nan_like),
            ("control_variate", "unknown", "bogus"),
        ),
    ),
    "replicate_estimator": Spec(
        _v(estimator=_estimator, n_replicates=3, rng=rng_),
        positive=("n_replicates",),
        typed=("n_replicates", "rng"),
        extra=(("estimator", "not-callable", 3.0), ("estimator", "returns-nan", _nan_estimator)),
    ),
    "score_function_cv_gradient": Spec(
        _v(log_joint=_log_joint_nd, mean=np.zeros(2), log_std=np.zeros(2), n_samples=4, rng=rng_),
        finite=("mean", "log_std"),
        positive=("n_samples",),
        typed=("mean", "log_std", "n_samples", "rng"),
        extra=(("method", "unknown", "bogus"), ("log_joint", "returns-nan", _nan_fn), ("n_samples", "too-few", 1)),
    ),
    "score_function_gradient": Spec(
        _v(log_joint=_log_joint_nd, mean=np.zeros(2), log_std=np.zeros(2), n_samples=4, rng=rng_),
        finite=("mean", "log_std"),
        positive=("n_samples",),
        typed=("mean", "log_std", "n_samples", "rng"),
        extra=(("log_joint", "returns-nan", _nan_fn), ("mean", "shape", np.zeros((2, 2)))),
    ),
    "stl_gradient": Spec(
        _v(grad_log_joint=_grad_log_joint, mean=np.zeros(2), log_std=np.zeros(2), n_samples=4, rng=rng_),
        finite=("mean", "log_std"),
        positive=("n_samples",),
        typed=("mean", "log_std", "n_samples", "rng"),
        extra=(("grad_log_joint", "returns-nan", _nan_like), ("mean", "empty", np.zeros(0))),
    ),
    "summarize_gradients": Spec(
        _v(per_sample=np.ones((4, 2))),
        finite=("per_sample",),
        typed=("per_sample",),
        extra=(("per_sample", "scalar", 1.0), ("per_sample", "one-row", np.ones((1, 2)))),
    ),
    "BayesianLogisticRegression": Spec(
        _v(X=np.ones((3, 2)), y=np.array([0.0, 1.0, 1.0])),
        finite=("X", "y", "prior_std"),
        positive=("prior_std",),
        typed=("X", "y"),
        extra=(("y", "shape", np.ones(4)), ("y", "not-binary", np.array([0.0, 2.0, 1.0])), ("X", "shape", np.ones(3))),
    ),
    "effective_sample_size": Spec(
        _v(chains=np.arange(40.0).reshape(2, 20) % 7),
        finite=("chains",),
        typed=("chains",),
        extra=(("chains", "shape", np.ones(5)), ("chains", "too-short", np.ones((2, 3)))),
    ),
    "split_rhat": Spec(
        _v(chains=np.arange(40.0).reshape(2, 20) % 7),
        finite=("chains",),
        typed=("chains",),
        extra=(("chains", "shape", np.ones(5)),),
    ),
    "importance_diagnostics": Spec(
        _v(log_weights=np.linspace(-3.0, 0.0, 40)),
        finite=("log_weights",),
        typed=("log_weights",),
        extra=(
            ("log_weights", "2-d", np.zeros((5, 8))),
            ("log_weights", "too-few", np.zeros(19)),
            ("log_weights", "minus-inf", np.r_[np.zeros(30), -np.inf]),
        ),
    ),
    "hmc_sample": Spec(
        _v(model=lr_, init=np.zeros((2, 2)), n_draws=3, n_warmup=2, step_size=0.1, n_leapfrog=2, rng=rng_),
        finite=("init", "step_size", "precond_chol"),
        positive=("n_draws", "step_size", "n_leapfrog"),
        typed=("model", "init", "n_draws", "n_warmup", "step_size", "n_leapfrog", "rng"),
        extra=(("init", "shape", np.zeros((2, 3))), ("n_warmup", "negative", -1), ("precond_chol", "shape", np.eye(3))),
    ),
    "laplace_approximation": Spec(
        _v(model=lr_), positive=("max_iter", "tol"), typed=("model",), extra=(("tol", "nan", NAN),)
    ),
    "load_breast_cancer_data": Spec(
        _v(test_fraction=0.3),
        finite=("test_fraction",),
        typed=("test_fraction", "seed"),
        extra=(("test_fraction", "one", 1.0), ("test_fraction", "zero", 0.0), ("seed", "negative", -1)),
    ),
    "predictive_accuracy": Spec(
        _v(X=np.ones((3, 2)), y=np.array([0.0, 1.0, 1.0]), samples=np.zeros((4, 2))),
        finite=("X", "y", "samples"),
        typed=("X", "y", "samples"),
        extra=(
            ("y", "shape", np.ones(4)),
            ("samples", "shape", np.zeros((4, 3))),
            ("y", "not-binary", np.array([0.0, 2.0, 1.0])),
        ),
    ),
    "predictive_probability": Spec(
        _v(X=np.ones((3, 2)), samples=np.zeros((4, 2))),
        finite=("X", "samples"),
        typed=("X", "samples"),
        extra=(
            ("samples", "shape", np.zeros((4, 3))),
            ("X", "shape", np.ones(3)),
            ("samples", "empty", np.zeros((0, 2))),
        ),
    ),
    "reference_posterior": Spec(
        _v(model=lr_, rng=rng_, n_chains=2, n_draws=20, n_warmup=5, n_leapfrog=2),
        finite=("step_size",),
        positive=("n_chains", "n_draws", "step_size", "n_leapfrog"),
        typed=("model", "rng", "n_chains", "n_draws", "n_warmup", "step_size", "n_leapfrog"),
        extra=(("n_warmup", "negative", -1),),
    ),
    # --- The VAE -------------------------------------------------------------------------------------
    "VAE": Spec(
        _v(data_dim=4, latent_dim=2, hidden=(3,)),
        positive=("data_dim", "latent_dim", "total_count"),
        typed=("data_dim", "latent_dim", "total_count"),
        extra=(
            ("hidden", "zero-width", (0,)),
            ("hidden", "str", "abc"),
            ("hidden", "float", (3.5,)),
            ("decoder_hidden", "negative", (-1,)),
            ("data_dim", "float", 4.0),
        ),
    ),
    "active_units": Spec(
        _v(model=vae_, x=cnt_),
        finite=("x", "threshold"),
        positive=("threshold",),
        typed=("model", "x"),
        extra=(
            ("x", "shape", torch.zeros(4, 3)),
            ("x", "one-image", torch.zeros(1, 4)),
            ("x", "numpy", np.zeros((4, 4))),
        ),
    ),
    "gaussian_kl_standard": Spec(
        _v(mu=torch.zeros(2, 3), logvar=torch.zeros(2, 3)),
        finite=("mu", "logvar"),
        typed=("mu", "logvar"),
        extra=(("logvar", "shape", torch.zeros(2, 2)), ("mu", "numpy", np.zeros((2, 3)))),
    ),
    "iwae_bound": Spec(
        _v(model=vae_, x=cnt_, k=3),
        finite=("x",),
        positive=("k", "chunk"),
        typed=("model", "x", "k"),
        extra=(
            ("x", "shape", torch.zeros(4, 3)),
            ("seed", "negative", -1),
            ("x", "out-of-range", torch.full((2, 4), 5.0)),
        ),
    ),
    "iwae_objective": Spec(
        _v(model=vae_, x=cnt_, k=3),
        finite=("x",),
        positive=("k",),
        typed=("model", "x", "k"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("x", "out-of-range", torch.full((2, 4), 5.0)),
               ("generator", "not-a-generator", 3)),
        namespace=vae,
    ),
    "amortisation_gaps": Spec(
        _v(model=vae_, x=cnt_, n_steps=2, n_samples=2, n_eval=2, k_eval=2),
        finite=("x", "lr"),
        positive=("n_steps", "lr", "n_samples", "n_eval", "k_eval"),
        typed=("model", "x", "n_steps", "lr", "n_samples", "n_eval", "k_eval", "seed"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("seed", "negative", -1)),
        namespace=vae,
    ),
    "gradient_snr": Spec(
        _v(model=vae_, x=cnt_, k=2, n_reps=3),
        finite=("x",),
        positive=("k", "n_reps"),
        typed=("model", "x", "k", "n_reps", "seed"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("n_reps", "one", 1), ("seed", "negative", -1)),
        namespace=vae,
    ),
    "kl_per_dimension": Spec(
        _v(model=vae_, x=cnt_),
        finite=("x",),
        typed=("model", "x"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("x", "empty", torch.zeros(0, 4))),
    ),
    "load_digits_split": Spec(
        _v(seed=0), positive=("n_val", "n_test"), typed=("seed", "n_val", "n_test"), extra=(("seed", "negative", -1),)
    ),
    "train_vae": Spec(
        _v(model=vae_, x_train=cnt_, epochs=1, batch_size=2, cuda_graph=False),
        finite=("x_train", "x_val", "lr"),
        positive=("epochs", "batch_size", "lr"),
        typed=("model", "x_train", "epochs", "batch_size", "lr"),
        extra=(
            ("x_train", "shape", torch.zeros(4, 3)),
            ("x_val", "shape", torch.zeros(4, 3)),
            ("warmup_epochs", "negative", -1),
            ("iwae_k", "zero", 0),
            ("seed", "negative", -1),
            ("batch_size", "above-n", 10),
            ("x_train", "out-of-range", torch.full((4, 4), 3.0)),
            ("x_train", "numpy", np.zeros((4, 4))),
        ),
    ),
    "bce_level_mass": Spec(
        _v(p=0.3),
        finite=("p",),
        positive=("total_count",),
        typed=("p", "total_count"),
        extra=(("p", "one", 1.0), ("p", "zero", 0.0)),
        namespace=vae,
    ),
    "independent_binomial_baseline": Spec(
        _v(x_train=np.array([[0.0, 1.0], [2.0, 2.0]]), x_eval=np.array([[1.0, 0.0]]), total_count=2),
        finite=("x_train", "x_eval"),
        positive=("total_count",),
        typed=("x_train", "x_eval", "total_count"),
        extra=(
            ("x_eval", "shape", np.zeros((1, 3))),
            ("x_train", "out-of-range", np.full((2, 2), 3.0)),
            ("x_train", "shape", np.zeros(2)),
        ),
        namespace=vae,
    ),
    "independent_categorical_log_prob": Spec(
        _v(x_train=np.array([[0.0, 1.0], [2.0, 2.0]]), x_eval=np.array([[1.0, 0.0]]), total_count=2),
        finite=("x_train", "x_eval"),
        positive=("total_count",),
        typed=("x_train", "x_eval", "total_count"),
        extra=(
            ("x_eval", "shape", np.zeros((1, 3))),
            ("x_train", "out-of-range", np.full((2, 2), 3.0)),
            ("x_train", "shape", np.zeros(2)),
        ),
        namespace=vae,
    ),
    "binomial_log_prob": Spec(
        _v(x=torch.tensor([[0.0, 1.0, 2.0]]), logits=torch.zeros(1, 3), total_count=2),
        finite=("x", "logits"),
        positive=("total_count",),
        typed=("x", "logits", "total_count"),
        extra=(
            ("logits", "shape", torch.zeros(1, 2)),
            ("x", "out-of-range", torch.tensor([[0.0, 1.0, 3.0]])),
            ("x", "negative", torch.tensor([[0.0, 1.0, -1.0]])),
        ),
        namespace=vae,
    ),
    "elbo": Spec(
        _v(model=vae_, x=cnt_),
        finite=("x", "beta"),
        typed=("model", "x", "beta"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("beta", "negative", -1.0), ("generator", "wrong-type", 3)),
        namespace=vae,
    ),
    "elbo_terms": Spec(
        _v(model=vae_, x=cnt_),
        finite=("x", "eps"),
        typed=("model", "x"),
        extra=(
            ("x", "shape", torch.zeros(4, 3)),
            ("eps", "shape", torch.zeros(4, 3)),
            ("x", "numpy", np.zeros((4, 4))),
            ("eps", "numpy", np.zeros((4, 2))),
        ),
        namespace=vae,
    ),
    "evaluate_elbo": Spec(
        _v(model=vae_, x=cnt_),
        finite=("x",),
        positive=("batch_size",),
        typed=("model", "x", "batch_size"),
        extra=(("x", "shape", torch.zeros(4, 3)), ("seed", "negative", -1)),
        namespace=vae,
    ),
    "kl_weight": Spec(
        _v(epoch=0, warmup_epochs=2),
        typed=("epoch", "warmup_epochs"),
        extra=(("epoch", "negative", -1), ("warmup_epochs", "negative", -1), ("epoch", "nan", NAN)),
        namespace=vae,
    ),
    # --- mean field and CAVI -----------------------------------------------------------------
    "NormalGamma": Spec(
        _v(prior_mean=0.0, mean_precision=1.0, shape=2.0, rate=2.0),
        finite=("prior_mean", "mean_precision", "shape", "rate"),
        positive=("mean_precision", "shape", "rate"),
        typed=("prior_mean", "mean_precision", "shape", "rate"),
        extra=(("rate", "array", np.ones(2)),),
    ),
    "NormalGammaMeanField": Spec(
        _v(mu_mean=0.0, mu_precision=1.0, tau_shape=2.0, tau_rate=2.0),
        finite=("mu_mean", "mu_precision", "tau_shape", "tau_rate"),
        positive=("mu_precision", "tau_shape", "tau_rate"),
        typed=("mu_mean", "mu_precision", "tau_shape", "tau_rate"),
    ),
    "normal_gamma_update_mu": Spec(
        _v(x=x1_, model=ng_, q=ngq_), finite=("x",), typed=("x", "model", "q"),
        extra=(("x", "shape", np.zeros((2, 2))), ("x", "empty", np.zeros(0))),
    ),
    "normal_gamma_update_tau": Spec(
        _v(x=x1_, model=ng_, q=ngq_), finite=("x",), typed=("x", "model", "q"),
        extra=(("x", "shape", np.zeros((2, 2))),),
    ),
    "normal_gamma_elbo": Spec(
        _v(x=x1_, model=ng_, q=ngq_), finite=("x",), typed=("x", "model", "q"),
        extra=(("q", "wrong-type", vi_lib.NormalGammaPosterior(0.0, 1.0, 2.0, 2.0)),),
    ),
    "fit_normal_gamma_cavi": Spec(
        _v(x=x1_, model=ng_, init=ngq_, max_iter=3),
        finite=("x", "rtol"),
        positive=("max_iter",),
        typed=("x", "model", "init"),
        extra=(("rtol", "negative", -1.0),),
    ),
    "MixtureMeanField": Spec(
        _v(resp=resp_, means=np.array([-1.0, 1.0]), variances=np.ones(2)),
        finite=("resp", "means", "variances"),
        typed=("resp", "means", "variances"),
        extra=(
            ("resp", "rows-not-normalised", np.ones((5, 2))),
            ("resp", "negative", np.tile([1.5, -0.5], (5, 1))),
            ("means", "shape", np.zeros(3)),
            ("variances", "negative", np.array([1.0, -1.0])),
            ("variances", "mixed-zero", np.array([1.0, 0.0])),
            ("weights", "not-normalised", np.ones(2)),
            ("weights", "shape", np.full(3, 1 / 3)),
        ),
    ),
    "init_mixture_mean_field": Spec(
        _v(x=x1_, K=2, rng=rng_),
        finite=("x", "prior_std"),
        positive=("K", "prior_std"),
        typed=("x", "K", "rng"),
        extra=(("K", "too-many", 6), ("rng", "seed-int", 0)),
    ),
    "mixture_update_assignments": Spec(
        _v(x=x1_, q=mixq_, noise_std=0.5),
        finite=("x", "noise_std"),
        positive=("noise_std",),
        typed=("x", "q", "noise_std"),
        extra=(("x", "length", np.zeros(4)),),
    ),
    "mixture_update_means": Spec(
        _v(x=x1_, q=mixq_, prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("x", "prior_mean", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("x", "q", "prior_mean", "prior_std", "noise_std"),
    ),
    "mixture_update_weights": Spec(_v(q=mixq_), typed=("q",)),
    "mixture_elbo": Spec(
        _v(x=x1_, q=mixq_, prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("x", "prior_mean", "prior_std", "noise_std"),
        positive=("prior_std", "noise_std"),
        typed=("x", "q", "prior_mean", "prior_std", "noise_std"),
        extra=(("x", "length", np.zeros(6)),),
    ),
    "fit_mixture_cavi": Spec(
        _v(x=x1_, K=2, prior_mean=0.0, prior_std=1.0, noise_std=0.5, rng=rng_, max_iter=3),
        finite=("x", "prior_mean", "prior_std", "noise_std", "rtol"),
        positive=("K", "prior_std", "noise_std", "max_iter"),
        typed=("x", "K", "prior_mean", "prior_std", "noise_std"),
        extra=(("rng", "missing-with-init", None), ("init", "wrong-type", "abc"), ("init", "wrong-K", _f(
            lambda: vi_lib.MixtureMeanField(np.full((5, 3), 1 / 3), np.zeros(3), np.ones(3))))),
    ),
    "fit_mixture_vem": Spec(
        _v(x=x1_, K=2, prior_mean=0.0, prior_std=1.0, noise_std=0.5, rng=rng_, max_iter=3),
        finite=("x", "prior_mean", "prior_std", "noise_std", "rtol"),
        positive=("K", "prior_std", "noise_std", "max_iter"),
        typed=("x", "K", "prior_mean", "prior_std", "noise_std"),
        extra=(("point_means", "not-bool", "yes"), ("rtol", "negative", -1.0)),
    ),
    "mixture_conditional_means": Spec(
        _v(x=x1_, labels=np.array([0, 0, 1, 1, 1]), K=2, prior_mean=0.0, prior_std=1.0, noise_std=0.5),
        finite=("x", "labels", "prior_mean", "prior_std", "noise_std"),
        positive=("K", "prior_std", "noise_std"),
        typed=("x", "labels", "K", "prior_mean", "prior_std", "noise_std"),
        extra=(("labels", "out-of-range", np.array([0, 0, 1, 1, 2])), ("labels", "length", np.zeros(4)),
               ("labels", "fractional", np.array([0, 0.5, 1, 1, 1]))),
    ),
    "mixture_conditional_labels": Spec(
        _v(x=x1_, means=np.array([-1.0, 1.0]), noise_std=0.5),
        finite=("x", "means", "noise_std"),
        positive=("noise_std",),
        typed=("x", "means", "noise_std"),
        extra=(("means", "3-d", np.zeros((1, 1, 2))),),
    ),
    "DiagonalGaussianFactors": Spec(
        _v(means=np.zeros(2), variances=np.ones(2)),
        finite=("means", "variances"),
        positive=("variances",),
        typed=("means", "variances"),
        extra=(("variances", "shape", np.ones(3)),),
    ),
    "gaussian_update_coordinate": Spec(
        _v(i=0, q=_f(lambda: vi_lib.DiagonalGaussianFactors(np.zeros(2), np.ones(2))), mean=np.zeros(2),
           cov=np.array([[1.0, 0.5], [0.5, 1.0]])),
        finite=("mean", "cov"),
        typed=("i", "q", "mean", "cov"),
        extra=(("i", "negative", -1), ("i", "too-large", 2), ("cov", "not-pd", np.array([[1.0, 2.0], [2.0, 1.0]])),
               ("cov", "shape", np.eye(3))),
    ),
    "fit_gaussian_cavi": Spec(
        _v(mean=np.zeros(2), cov=np.array([[1.0, 0.5], [0.5, 1.0]]),
           init=_f(lambda: vi_lib.DiagonalGaussianFactors(np.zeros(2), np.ones(2))), max_iter=3),
        finite=("mean", "cov", "rtol", "atol"),
        positive=("max_iter",),
        typed=("mean", "cov", "init"),
        extra=(("atol", "negative", -1.0), ("init", "wrong-dim", _f(
            lambda: vi_lib.DiagonalGaussianFactors(np.zeros(3), np.ones(3))))),
    ),
    "normal_natural_params": Spec(
        _v(mean=np.zeros(2), precision=np.ones(2)), finite=("mean", "precision"), positive=("precision",),
        typed=("mean", "precision"),
    ),
    "gamma_natural_params": Spec(
        _v(shape=2.0, rate=1.0), finite=("shape", "rate"), positive=("shape", "rate"), typed=("shape", "rate"),
    ),
    # --- LDA by stochastic VI -----------------------------------------------------------------------
    "corpus_from_token_ids": Spec(
        _v(docs=[[0, 1, 1], [3]], vocab_size=4),
        positive=("vocab_size",),
        typed=("docs", "vocab_size"),
        extra=(("docs", "empty", []), ("docs", "out-of-vocabulary", [[0], [4]]),
               ("docs", "float-ids", [[0.5]])),
    ),
    "sample_lda_corpus": Spec(
        _v(n_docs=4, vocab_size=6, n_topics=2, doc_length=5, alpha=0.5, eta=0.2, rng=rng_),
        finite=("alpha", "eta"),
        positive=("n_docs", "vocab_size", "n_topics", "doc_length", "alpha", "eta"),
        typed=("n_docs", "vocab_size", "n_topics", "doc_length", "alpha", "eta", "rng"),
        extra=(("topics", "shape", np.ones((3, 6))), ("topics", "negative", -np.ones((2, 6))),
               ("n_docs", "float", 4.0)),
    ),
    "match_topics": Spec(
        _v(learned=np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]), true=np.array([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])),
        finite=("learned", "true"),
        typed=("learned", "true"),
        extra=(("learned", "shape", np.ones((3, 3))),
               ("true", "zero-row", np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])),
               ("distance", "unknown", "kl")),
    ),
    "lda_local_step": Spec(
        _v(counts_batch=_f(_lda_counts), lam=np.ones((2, 4)), alpha=0.5, max_iter=5),
        finite=("counts_batch", "lam", "alpha", "tol"),
        positive=("alpha", "max_iter"),
        typed=("counts_batch", "lam", "alpha"),
        extra=(("counts_batch", "negative", -_lda_counts()), ("counts_batch", "non-integer", _lda_counts() + 0.5),
               ("counts_batch", "wrong-V", np.ones((6, 3))), ("lam", "zero-entry", np.zeros((2, 4))),
               ("tol", "negative", -1.0), ("init_gamma", "shape", np.ones((6, 3))),
               ("init_gamma", "negative", -np.ones((6, 2)))),
    ),
    "lda_intermediate_lambda": Spec(
        _v(sstats=np.ones((2, 4)), eta=0.2, n_docs_total=10, batch_size=5),
        finite=("sstats", "eta"),
        positive=("eta", "n_docs_total", "batch_size"),
        typed=("sstats", "eta", "n_docs_total", "batch_size"),
        extra=(("batch_size", "above-D", 11), ("sstats", "negative", -np.ones((2, 4))), ("sstats", "1-D", np.ones(4))),
    ),
    "lda_global_step": Spec(
        _v(lam=np.ones((2, 4)), lam_hat=np.full((2, 4), 2.0), step_size=0.5),
        finite=("lam", "lam_hat", "step_size"),
        positive=("lam", "lam_hat", "step_size"),
        typed=("lam", "lam_hat", "step_size"),
        extra=(("step_size", "above-one", 1.5), ("lam_hat", "shape", np.ones((3, 4)))),
    ),
    "lda_perplexity": Spec(
        _v(counts=_f(_lda_counts), lam=np.ones((2, 4)), alpha=0.5, eta=0.2, max_iter=5),
        finite=("counts", "lam", "alpha", "eta", "tol"),
        positive=("alpha", "eta", "max_iter"),
        typed=("counts", "lam", "alpha", "eta"),
        extra=(("counts", "no-words", np.zeros((6, 4))), ("counts", "negative", -_lda_counts()),
               ("n_docs_total", "below-N", 5), ("tol", "negative", -1.0)),
    ),
    "fit_lda_svi": Spec(
        _v(counts=_f(_lda_counts), n_topics=2, alpha=0.5, eta=0.2, rng=rng_, batch_size=3, max_iter=5,
           eval_counts=_f(_lda_counts)),
        finite=("counts", "alpha", "eta", "tau", "kappa", "tol", "eval_counts"),
        positive=("n_topics", "alpha", "eta", "batch_size", "n_epochs", "eval_every", "max_iter"),
        typed=("counts", "n_topics", "alpha", "eta", "rng", "tau", "kappa"),
        extra=(("batch_size", "above-D", 7), ("kappa", "half", 0.5), ("kappa", "above-one", 1.5),
               ("tau", "negative", -1.0),
               ("init_lambda", "shape", np.ones((3, 4))), ("eval_counts", "wrong-V", np.ones((2, 3))),
               ("shuffle", "str", "yes"), ("counts", "non-integer", _lda_counts() + 0.5)),
    ),
    "categorical_natural_params": Spec(
        _v(log_probs=np.log([0.2, 0.8])), finite=("log_probs",), typed=("log_probs",),
        extra=(("log_probs", "one-outcome", np.zeros(1)),),
    ),
    "resolve_device": Spec(_v(device="cpu"), typed=("device",), extra=(("device", "unknown", "tpu"),), namespace=vae),
    # --- Beyond mean field: torch families, flows, transforms, targets, PSIS ---------------------
    "MeanFieldGaussian": Spec(
        _v(dim=2, loc=np.zeros(2), scale=np.ones(2)),
        finite=("loc", "scale"),
        positive=("dim", "scale"),
        typed=("dim",),
        extra=(("loc", "shape", np.zeros(3)), ("scale", "shape", np.ones(3)), ("dtype", "int", torch.int64)),
    ),
    "FullRankGaussian": Spec(
        _v(dim=2, loc=np.zeros(2), scale_tril=np.eye(2)),
        finite=("loc", "scale_tril"),
        positive=("dim",),
        typed=("dim",),
        extra=(
            ("scale_tril", "shape", np.eye(3)),
            ("scale_tril", "upper", np.array([[1.0, 0.5], [0.0, 1.0]])),
            ("scale_tril", "zero-diagonal", np.array([[1.0, 0.0], [0.5, 0.0]])),
            ("dtype", "int", torch.int64),
        ),
    ),
    "PlanarFlow": Spec(
        _v(dim=2, seed=0),
        positive=("dim",),
        typed=("dim", "seed"),
        extra=(("seed", "negative", -1), ("dtype", "int", torch.int64)),
    ),
    "AffineCoupling": Spec(
        _v(dim=2, parity=1, hidden=4, seed=0),
        positive=("dim", "hidden"),
        typed=("dim", "parity", "hidden", "seed"),
        extra=(("dim", "one", 1), ("parity", "two", 2), ("seed", "negative", -1)),
    ),
    "NormalizingFlow": Spec(
        _v(base=mf2_, layers=planar_),
        typed=("base", "layers"),
        extra=(
            ("layers", "empty", []),
            ("layers", "wrong-dim", [vi_lib.PlanarFlow(3)]),
            ("layers", "wrong-dtype", [vi_lib.PlanarFlow(2, dtype=torch.float32)]),
            ("layers", "not-a-layer", [torch.nn.Linear(2, 2)]),
        ),
    ),
    "build_flow": Spec(
        _v(dim=2, depth=2, layer="coupling", hidden=4, base_scale=1.0, seed=0),
        finite=("base_scale",),
        positive=("dim", "depth", "hidden", "base_scale"),
        typed=("dim", "depth", "layer", "hidden", "base_scale", "seed"),
        extra=(("dim", "one-for-coupling", 1), ("layer", "unknown", "radial"), ("seed", "negative", -1)),
    ),
    "MisreportedLogDet": Spec(
        _v(layer=_f(lambda: vi_lib.PlanarFlow(2)), factor=0.0),
        finite=("factor",),
        typed=("layer", "factor"),
        extra=(("layer", "not-a-layer", torch.nn.Linear(2, 2)),),
    ),
    "log_det_error": Spec(
        _v(flow=_f(lambda: vi_lib.build_flow(2, 1)), n_points=2, seed=0),
        positive=("n_points",),
        typed=("flow", "n_points", "seed"),
        extra=(("flow", "a-layer", vi_lib.PlanarFlow(2)), ("seed", "negative", -1)),
    ),
    "IntervalTransform": Spec(
        _v(lower=0.0, upper=1.0),
        finite=("lower", "upper"),
        typed=("lower", "upper"),
        extra=(("upper", "below-lower", -1.0), ("lower", "array", np.zeros(2))),
    ),
    "fit_vi_torch": Spec(
        _v(log_joint=vi_lib.Banana().log_prob, family=mf2_, n_steps=2, n_samples=4, lr=0.01, seed=0),
        finite=("lr",),
        positive=("n_steps", "n_samples", "lr"),
        typed=("family", "n_steps", "n_samples", "lr", "seed"),
        extra=(
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _torch_nan),
            ("log_joint", "wrong-shape", _torch_wrong_shape),
            ("log_joint", "numpy-output", _numpy_output),
            ("family", "wrong-dim-for-model", vi_lib.MeanFieldGaussian(3)),
            ("lr", "array", np.array([0.1, 0.2])),
            ("seed", "negative", -1),
            ("callback", "not-callable", 3),
        ),
    ),
    "NealFunnel": Spec(
        _v(dim=3, v_std=3.0),
        finite=("v_std",),
        positive=("dim", "v_std"),
        typed=("dim", "v_std"),
        extra=(("dim", "one", 1),),
    ),
    "Banana": Spec(
        _v(std1=2.0, std2=1.0, curvature=0.25),
        finite=("std1", "std2", "curvature"),
        positive=("std1", "std2"),
        typed=("std1", "std2", "curvature"),
    ),
    "GaussianMixture2D": Spec(
        _v(weights=np.array([0.3, 0.7]), means=np.zeros((2, 2)), stds=np.ones(2)),
        finite=("weights", "means", "stds"),
        positive=("stds",),
        typed=("weights", "means", "stds"),
        extra=(("weights", "not-summing-to-one", np.array([0.5, 0.6])), ("means", "shape", np.zeros((2, 3)))),
    ),
    "EightSchools": Spec(
        _v(parameterization="noncentered", y=np.array([1.0, 2.0]), sigma=np.array([1.0, 2.0]), mu_prior_std=5.0,
           tau_prior_scale=5.0),
        finite=("y", "sigma", "mu_prior_std", "tau_prior_scale"),
        positive=("sigma", "mu_prior_std", "tau_prior_scale"),
        typed=("parameterization", "mu_prior_std", "tau_prior_scale"),
        extra=(("y", "shape", np.zeros((2, 2))), ("sigma", "shape", np.ones(3)), ("y", "empty", np.zeros(0))),
    ),
    "psis_check": Spec(
        _v(log_joint=_torch_log_joint, family=mf2_, n_samples=30, seed=0),
        positive=("n_samples",),
        typed=("family", "n_samples", "seed"),
        extra=(
            ("n_samples", "too-few", 10),
            ("log_joint", "not-callable", 3.0),
            ("log_joint", "returns-nan", _torch_nan),
            ("log_joint", "wrong-shape", _torch_wrong_shape),
            ("seed", "negative", -1),
        ),
    ),
    "psis_smooth": Spec(
        _v(log_weights=np.linspace(-1.0, 1.0, 30)),
        finite=("log_weights",),
        typed=("log_weights",),
        extra=(("log_weights", "shape", np.zeros((30, 2))), ("log_weights", "too-few", np.zeros(5))),
        infinite_ok=("result[1]",),  # k-hat: -inf for equal weights, +inf for a degenerate tail (documented)
    ),
    "psis_expectation": Spec(
        _v(values=np.ones(30), log_weights=np.linspace(-1.0, 1.0, 30)),
        finite=("values", "log_weights"),
        typed=("values", "log_weights"),
        extra=(("values", "shape", np.ones(29)), ("values", "3-d", np.ones((30, 2, 2)))),
    ),
    "importance_weighted_bound": Spec(
        _v(log_weights=np.linspace(-1.0, 1.0, 30), k=5),
        finite=("log_weights",),
        positive=("k",),
        typed=("log_weights", "k"),
        extra=(("k", "too-large", 31), ("log_weights", "empty", np.zeros(0))),
    ),
}

# Silent infinities: a float64 overflow must be a ValidationError naming the argument that caused it,
# never inf/NaN entries with only a RuntimeWarning (issue 16: pathwise_gradient with log_std=400 returned
# -inf). sigma = exp(400) is finite but sigma * eps * grad overflows; exp(800) overflows in the draws;
# exp(-800) = 0 makes the 1/sigma of the score and of STL infinite. And a float32 probability vector is
# judged at float32 precision (its sum's tolerance follows the dtype), so a real error is still caught.
_SWEEP: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "pathwise_gradient": (("log_std", "overflow", np.full(2, 400.0)), ("log_std", "overflow-draws", np.full(2, 800.0))),
    "stl_gradient": (("log_std", "overflow", np.full(2, 400.0)), ("log_std", "overflow-draws", np.full(2, 800.0)),
                     ("log_std", "underflow", np.full(2, -800.0))),
    "score_function_gradient": (("log_std", "overflow-draws", np.full(2, 800.0)),
                                ("log_std", "underflow", np.full(2, -800.0))),
    "score_function_cv_gradient": (("log_std", "overflow-draws", np.full(2, 800.0)),
                                   ("log_std", "underflow", np.full(2, -800.0))),
    "rao_blackwell_gradient": (("log_std", "overflow-draws", np.full(2, 800.0)),
                               ("log_std", "underflow", np.full(2, -800.0))),
    "kl_categorical": (("p", "float32-not-normalised", np.array([0.5, 0.5001], dtype=np.float32)),
                       ("q", "float64-off-by-1e-8", np.array([0.3, 0.7 + 1e-8]))),
    # The other probability checks share check_probability_vector / check_probability_rows.
    "GaussianMixture1D": (("weights", "float32-not-normalised", np.array([0.5, 0.5001], dtype=np.float32)),
                          ("weights", "float64-off-by-1e-8", np.array([0.5, 0.5 + 1e-8]))),
    "sample_gaussian_mixture": (("weights", "float64-off-by-1e-8", np.array([0.4, 0.6 + 1e-8])),),
    "mixture_log_pdf": (("weights", "float32-not-normalised", np.array([0.3, 0.7001], dtype=np.float32)),),
    "em_lower_bound": (("resp", "float64-off-by-1e-8", np.vstack([np.full((4, 2), 0.5), [[0.5, 0.5 + 1e-8]]])),),
    "bgmm_update_globals": (("resp", "float32-not-normalised", np.tile(np.float32([0.5, 0.5001]), (6, 1))),),
    "MixtureMeanField": (("resp", "float64-off-by-1e-8", np.vstack([np.full((4, 2), 0.5), [[0.5, 0.5 + 1e-8]]])),
                         ("weights", "float64-off-by-1e-8", np.array([0.5, 0.5 + 1e-8]))),
}
for _name, _more in _SWEEP.items():
    SPECS[_name] = dataclasses.replace(SPECS[_name], extra=SPECS[_name].extra + _more)

# Names in the public namespaces that take no numeric input, each with the reason it is exempt.
EXEMPT: dict[str, str] = {
    "ValidationError": "exception class, not a function",
    "CheckpointError": "exception class, not a function",
    "MNISTError": "exception class, not a function",
    "COLORS": "constant dict of colours",
    "BOOK_STYLE": "constant dict of rcParams",
    "DEFAULT_SEED": "constant int",
    "ESTIMATORS": "constant tuple of estimator names",
    "MAX_ASSIGNMENTS": "constant int",
    "MNIST_FILES": "constant dict of file names and the MD5s of their uncompressed data",
    "MNIST_MIRROR": "constant URL string",
    "use_book_style": "takes no arguments",
    "NaiveMCResult": "result NamedTuple built by summarize_log_weights from validated input",
    "QuadratureResult": "result NamedTuple built by log_evidence_quadrature",
    "GridEvidence": "result NamedTuple built by the gmm evidence functions",
    "MeanFieldFit": "result dataclass built by fit_mean_field_gaussian",
    "ReverseKLFit": "result dataclass built by the reverse-KL fitters",
    "ELBOTerms": "result dataclass built by elbo_terms_normal_normal",
    "GaussianFit": "result NamedTuple built by fit_gaussian_q",
    "MonteCarloEstimate": "result NamedTuple built by the Monte Carlo ELBO estimators",
    "EMResult": "result dataclass built by fit_em",
    "CAVIResult": "result dataclass built by the fit_*_cavi functions (e.g. fit_bgmm_cavi)",
    "LDACorpusSample": "result dataclass built by sample_lda_corpus",
    "LDASVIResult": "result dataclass built by fit_lda_svi",
    "BBVIResult": "result dataclass built by fit_bbvi",
    "DSVIResult": "result dataclass built by fit_doubly_stochastic_vi",
    "SVIResult": "result dataclass built by the fit_*_svi functions (e.g. fit_bgmm_svi)",
    "BayesianGMMNatural": "NamedTuple of arrays built by bgmm_to_natural; bgmm_from_natural validates it",
    "open_npy_memmap": "path argument and shape/dtype expectations; errors tested in test_inference_minibatch.py",
    "EstimatorStats": "result dataclass built by replicate_estimator",
    "GradientSummary": "result dataclass built by summarize_gradients",
    "LogisticData": "data container built by load_breast_cancer_data",
    "ReferencePosterior": "result dataclass built by reference_posterior",
    "ImportanceDiagnostics": "result dataclass built by importance_diagnostics",
    "DigitsSplit": "data container built by load_digits_split",
    "TrainHistory": "result dataclass filled by train_vae",
    "AmortisationGaps": "result dataclass built by amortisation_gaps",
    "GradientSNR": "result dataclass built by gradient_snr",
    "NormalGammaPosterior": "parameter container returned by NormalGamma.posterior (and .prior)",
    "load_checkpoint": "path argument only; CheckpointError cases are tested in test_vae_cli.py",
    "save_checkpoint": "path and state dict only; round trip tested in test_vae_cli.py",
    "load_mnist": "path/URL arguments only; MNISTError cases are tested in test_vae_mnist.py",
    "download_mnist": "path/URL arguments only; MNISTError cases are tested in test_vae_mnist.py",
    "find_mnist": "path argument only; MNISTError cases are tested in test_vae_mnist.py",
    "mnist_cache_dir": "path argument only",
    "parse_idx": "bytes argument; MNISTError cases are tested in test_vae_mnist.py",
    "ExpTransform": "takes no arguments; its methods' errors are tested in test_families_transforms.py",
    "SoftplusTransform": "takes no arguments; its methods' errors are tested in test_families_transforms.py",
    "FLOW_LAYERS": "constant tuple of flow layer names",
    "EIGHT_SCHOOLS_Y": "constant tuple of the eight schools' estimated effects",
    "EIGHT_SCHOOLS_SIGMA": "constant tuple of their standard errors",
    "PARAMETERIZATIONS": "constant tuple of parameterization names",
    "TorchVIResult": "result dataclass built by fit_vi_torch",
    "PSISResult": "result dataclass built by psis_check",
}


def _public_name(key: str) -> str:
    """``"f[detail]"`` keys audit one aspect of ``f`` under a different message prefix."""
    return key.split("[")[0]


def _callable(key: str) -> Callable[..., Any]:
    return getattr(SPECS[key].namespace, _public_name(key))


def _with_entry(value: Any, entry: float) -> Any:
    """``value`` with its first entry replaced by ``entry`` (a scalar for scalars); a finite ``entry`` is
    clipped to the dtype's largest magnitude for tensors (float32 cannot hold 1e300)."""
    if isinstance(value, torch.Tensor):
        out = value.clone().to(torch.float64 if not value.is_floating_point() else value.dtype)
        if np.isfinite(entry):
            top = torch.finfo(out.dtype).max
            entry = max(-top, min(top, entry))
        out.view(-1)[0] = entry
        return out
    arr = np.array(value, dtype=float)
    if arr.ndim == 0:
        return entry
    arr.flat[0] = entry
    return arr


def _with_nan(value: Any) -> Any:
    """``value`` with its first entry replaced by NaN (a NaN scalar for scalars)."""
    return _with_entry(value, NAN)


def _cases() -> list[Any]:
    cases = []
    for name, spec in SPECS.items():
        valid = spec.valid()
        for arg in spec.finite:
            bad = _with_nan(valid[arg]) if arg in valid and valid[arg] is not None else NAN
            cases.append(pytest.param(name, arg, bad, id=f"{name}-{arg}-nan"))
        for arg in spec.positive:
            like_int = isinstance(valid.get(arg, 1.0), (int, np.integer)) or arg in _INT_ARGS
            zero, neg = (0, -1) if like_int else (0.0, -1.0)
            cases.append(pytest.param(name, arg, zero, id=f"{name}-{arg}-zero"))
            cases.append(pytest.param(name, arg, neg, id=f"{name}-{arg}-negative"))
        for arg in spec.typed:
            cases.append(pytest.param(name, arg, "abc", id=f"{name}-{arg}-str"))
            cases.append(pytest.param(name, arg, None, id=f"{name}-{arg}-none"))
        for arg, label, bad in spec.extra:
            cases.append(pytest.param(name, arg, bad, id=f"{name}-{arg}-{label}"))
    return cases


# Integer arguments that take their default (so the valid kwargs do not show their type).
_INT_ARGS = {
    "threads",
    "precision",
    "max_points",
    "chunk_size",
    "max_assignments",
    "points",
    "grid_points",
    "n_panels",
    "n_iter",
    "n_samples",
    "n_iterations",
    "chunk",
    "batch_size",
    "total_count",
    "n_val",
    "n_test",
    "n_chains",
    "n_draws",
    "n_leapfrog",
    "max_iter",
    "epochs",
    "window",
    "n_components",
    "K",
    "dims",
    "n_batches",
    "n_steps",
    "eval_every",
    "n_rows",
    "n_cols",
    "chunk_rows",
    "n_total",
    "dim",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(("name", "arg", "bad"), _cases())
def test_bad_argument_raises_validation_error_naming_it(name: str, arg: str, bad: Any) -> None:
    spec = SPECS[name]
    kwargs = spec.valid()
    kwargs[arg] = bad
    where = spec.where or _public_name(name)
    # The argument in backticks, possibly called or indexed: `x`, `log_joint(z)`, `rows[0]`.
    pattern = rf"^{re.escape(where)}: .*`{re.escape(arg)}(\(.*?\)|\[\d+\])?`"
    with pytest.raises(ValidationError, match=pattern):
        _callable(name)(**kwargs)


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.run_valid])
def test_valid_call_of_each_spec_succeeds(name: str) -> None:
    """The valid inputs of the table really are valid, so each bad case isolates one argument."""
    _callable(name)(**SPECS[name].valid())


def test_every_public_callable_is_audited() -> None:
    public = set(vi_lib.__all__) | set(vae.__all__)
    audited = {_public_name(key) for key in SPECS}
    missing = sorted(public - audited - set(EXEMPT))
    assert not missing, f"public names without a validation spec or an exemption: {missing}"
    stale = sorted((audited | set(EXEMPT)) - public)
    assert not stale, f"specs or exemptions for names that are no longer public: {stale}"
    assert not audited & set(EXEMPT), "a name is both audited and exempt"
    for name in SPECS:
        assert callable(_callable(name)), name


# ---------------------------------------------------------------------------------------------
# Extreme finite values: every `finite` argument at +-1e300 (and +-800 for log-scale arguments).
# ---------------------------------------------------------------------------------------------

# Arguments on the log scale: exp(800) overflows float64 and exp(-800) underflows to 0.
_LOG_SCALE = {"log_std", "init_log_std", "logvar", "logits", "log_weights", "log_probs", "log_mean",
              "log_second_moment", "log_evidence"}


def _extreme_cases() -> list[Any]:
    cases = []
    for name, spec in SPECS.items():
        valid = spec.valid()
        for arg in spec.finite:
            base = valid.get(arg)
            if base is None and arg == "init_log_std":  # defaults to zeros like init_mean
                base = np.zeros_like(valid["init_mean"])
            extremes = (1e300, -1e300) + ((800.0, -800.0) if arg in _LOG_SCALE else ())
            for extreme in extremes:
                bad = _with_entry(base, extreme) if base is not None else extreme
                cases.append(pytest.param(name, arg, bad, id=f"{name}-{arg}-{extreme:+g}"))
    return cases


def _non_finite_leaves(out: Any, path: str = "result", depth: int = 0) -> list[str]:
    """Paths of the non-finite floating entries in ``out`` (arrays, tensors, tuples, dataclasses, dicts)."""
    if depth > 4:
        return []
    if isinstance(out, torch.Tensor):
        return [path] if out.is_floating_point() and not bool(torch.isfinite(out).all()) else []
    if isinstance(out, (float, np.floating)) or (isinstance(out, np.ndarray) and out.dtype.kind in "fc"):
        return [] if np.all(np.isfinite(out)) else [path]
    if isinstance(out, dict):
        return [p for k, v in out.items() for p in _non_finite_leaves(v, f"{path}[{k!r}]", depth + 1)]
    if isinstance(out, (tuple, list)):
        return [p for i, v in enumerate(out) for p in _non_finite_leaves(v, f"{path}[{i}]", depth + 1)]
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return [p for f in dataclasses.fields(out)
                for p in _non_finite_leaves(getattr(out, f.name), f"{path}.{f.name}", depth + 1)]
    if isinstance(out, torch.nn.Module):
        return [f"{path}.{n}" for n, p in out.named_parameters() if not bool(torch.isfinite(p).all())]
    return []


@pytest.mark.parametrize(("name", "arg", "bad"), _extreme_cases())
def test_extreme_finite_argument_gives_finite_result_or_names_it(name: str, arg: str, bad: Any) -> None:
    """Huge (or, on the log scale, very negative) finite input never yields a silent inf/NaN or a bare error.

    The call either returns a result whose floating entries are all finite, or raises ValidationError
    starting with the function's name and naming the argument. RuntimeWarnings are errors here
    (pyproject's filterwarnings), so an overflow that only warns fails too, as does a bare
    OverflowError, FloatingPointError or LinAlgError.
    """
    spec = SPECS[name]
    kwargs = spec.valid()
    kwargs[arg] = bad
    where = spec.where or _public_name(name)
    pattern = rf"^{re.escape(where)}: .*`{re.escape(arg)}(\(.*?\)|\[\d+\])?`"
    try:
        out = _callable(name)(**kwargs)
    except ValidationError as exc:
        assert re.search(pattern, str(exc), flags=re.DOTALL), f"message must start with {where!r}, name `{arg}`: {exc}"
        return
    bad_leaves = [leaf for leaf in _non_finite_leaves(out) if leaf not in spec.infinite_ok]
    assert not bad_leaves, f"{where}({arg}=extreme) returned non-finite values silently at {bad_leaves}"
