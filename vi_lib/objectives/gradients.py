"""Monte Carlo estimators of the ELBO gradient for a diagonal Gaussian variational family.

The variational family is :math:`q_\\lambda(z) = \\prod_i \\mathcal{N}(z_i; \\mu_i, \\sigma_i^2)` with
parameters :math:`\\lambda = (\\mu, \\omega)` and :math:`\\sigma = \\exp(\\omega)` (``log_std``). Every
estimator returns *per-sample* gradients as an array of shape ``(n_samples, 2, D)``: entry
``[s, 0]`` is the gradient with respect to the mean, ``[s, 1]`` with respect to the log standard
deviation. Averaging over the first axis gives the estimate;
:func:`~vi_lib.objectives.summaries.summarize_gradients` and
:func:`~vi_lib.objectives.summaries.replicate_estimator` turn per-sample gradients into means,
variances and standard errors.

Sign convention: every function here returns the gradient of **+ELBO** (ascent direction).

Explained in Chapter: Black-box VI: score-function and reparameterization gradients
(chapters/bbvi_gradients.ipynb).

"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import (
    ValidationError,
    call_user,
    check_callable,
    check_int,
    check_rng,
)
from ..families.gaussian import _check_q, _score_from_eps

__all__ = [
    "score_function_gradient",
    "score_function_cv_gradient",
    "rao_blackwell_gradient",
    "pathwise_gradient",
    "stl_gradient",
]


_LOG_2PI = float(np.log(2.0 * np.pi))



_CV_METHODS = ("loo", "split", "plugin")



LogJoint = Callable[[np.ndarray], np.ndarray]



def _call_checked(name: str, fn: LogJoint, z: np.ndarray, shape: tuple[int, ...], where: str) -> np.ndarray:
    out = np.asarray(call_user(fn, z), dtype=np.float64)
    if out.shape != shape:
        raise ValidationError(
            f"{where}: `{name}` must return an array of shape {shape} for input of shape {z.shape}; "
            f"received shape {out.shape}."
        )
    if not np.all(np.isfinite(out)):
        raise ValidationError(
            f"{where}: `{name}` must return finite values; received non-finite values "
            f"(NaN or infinity) at {int(np.sum(~np.isfinite(out)))} entries, for inputs z of magnitude up to "
            f"{float(np.max(np.abs(z))):.3g} (drawn from `mean` and `log_std`)."
        )
    return out



def _log_q_terms(eps: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """Per-coordinate log q_i(z_i) at z = mean + sigma * eps, shape (S, D)."""
    return -0.5 * eps**2 - log_std - 0.5 * _LOG_2PI



def _control_variate(
    fh: np.ndarray,
    h: np.ndarray,
    method: str,
    fh_extra: np.ndarray | None = None,
    h_extra: np.ndarray | None = None,
) -> np.ndarray:
    """Return per-sample ``fh - a * h`` with the per-coordinate coefficient a = Cov(fh, h) / Var(h).

    ``method``: "plugin" (a from the same samples; slightly biased), "loo" (a for sample s from the
    other S - 1 samples; unbiased), "split" (a from the independent extra samples; unbiased).
    """

    def coef(f_: np.ndarray, h_: np.ndarray) -> np.ndarray:
        fc = f_ - f_.mean(axis=0)
        hc = h_ - h_.mean(axis=0)
        var = np.sum(hc**2, axis=0)
        cov = np.sum(fc * hc, axis=0)
        return np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.0)

    if method == "plugin":
        return fh - coef(fh, h) * h
    if method == "split":
        assert fh_extra is not None and h_extra is not None
        return fh - coef(fh_extra, h_extra) * h
    # leave-one-out, vectorised with running sums
    n = fh.shape[0]
    m = n - 1
    s_f, s_h = fh.sum(axis=0), h.sum(axis=0)
    s_fh, s_hh = (fh * h).sum(axis=0), (h * h).sum(axis=0)
    mf = (s_f - fh) / m
    mh = (s_h - h) / m
    cov = (s_fh - fh * h) / m - mf * mh
    var = (s_hh - h * h) / m - mh**2
    a = np.where(var > 1e-300, cov / np.where(var > 1e-300, var, 1.0), 0.0)
    return fh - a * h



def _draw(
    mean: np.ndarray, log_std: np.ndarray, n: int, rng: np.random.Generator, where: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Noise and draws ``z = mean + exp(log_std) * eps``; with ``where``, overflow is an error naming the cause."""
    eps = rng.standard_normal((n, mean.size))
    with np.errstate(over="ignore", invalid="ignore"):
        z = mean + np.exp(log_std) * eps
    if where is not None and not np.all(np.isfinite(z)):
        raise ValidationError(
            f"{where}: `log_std` (largest {float(log_std.max())!r}, so sigma = exp(log_std) up to "
            f"{_exp_str(float(log_std.max()))}) with `mean` (largest magnitude {float(np.abs(mean).max()):.4g}) "
            f"makes the draws z = mean + sigma * eps overflow float64 at {int(np.sum(~np.isfinite(z)))} entries; "
            "use a smaller `log_std` (or rescale the model)."
        )
    return eps, z


def _exp_str(x: float) -> str:
    """``exp(x)`` as text, also beyond the float64 range (where ``np.exp`` would give inf)."""
    if x < 709.0:
        return f"{np.exp(x):.3g}"
    decimal = x / np.log(10.0)
    return f"{10 ** (decimal % 1):.3g}e+{int(decimal)} (beyond float64)"


def _checked_output(out: np.ndarray, mean: np.ndarray, log_std: np.ndarray, where: str) -> np.ndarray:
    """Raise instead of returning per-sample gradients with infinities or NaNs from float64 overflow."""
    if np.all(np.isfinite(out)):
        return out
    hi, lo = float(log_std.max()), float(log_std.min())
    raise ValidationError(
        f"{where}: `log_std` (from {lo!r} to {hi!r}, so sigma = exp(log_std) from {_exp_str(lo)} to {_exp_str(hi)}) "
        f"makes the per-sample gradients overflow float64 ({int(np.sum(~np.isfinite(out)))} non-finite entries of "
        f"{out.size}); the products with sigma or 1/sigma exceed about 1.8e308. Use a `log_std` nearer 0 (or "
        "rescale the model)."
    )



def _score_core(log_joint: LogJoint, mean, log_std, eps, z, where, cv=None, extra=None):
    n = eps.shape[0]
    logp = _call_checked("log_joint", log_joint, z, (n,), where)
    f = logp - _log_q_terms(eps, log_std).sum(axis=1)
    h = _score_from_eps(eps, log_std)
    fh = h * f[:, None, None]
    if cv is None:
        return fh, logp
    if cv == "split":
        eps2, z2 = extra
        logp2 = _call_checked("log_joint", log_joint, z2, (eps2.shape[0],), where)
        f2 = logp2 - _log_q_terms(eps2, log_std).sum(axis=1)
        h2 = _score_from_eps(eps2, log_std)
        return _control_variate(fh, h, cv, h2 * f2[:, None, None], h2), logp
    return _control_variate(fh, h, cv), logp



def _rao_blackwell_core(local_log_joint: LogJoint, mean, log_std, eps, z, where, cv=None, extra=None):
    n, d = eps.shape
    local = _call_checked("local_log_joint", local_log_joint, z, (n, d), where)
    f = local - _log_q_terms(eps, log_std)
    h = _score_from_eps(eps, log_std)
    fh = h * f[:, None, :]
    if cv is None:
        return fh
    if cv == "split":
        eps2, z2 = extra
        local2 = _call_checked("local_log_joint", local_log_joint, z2, (eps2.shape[0], d), where)
        h2 = _score_from_eps(eps2, log_std)
        fh2 = h2 * (local2 - _log_q_terms(eps2, log_std))[:, None, :]
        return _control_variate(fh, h, cv, fh2, h2)
    return _control_variate(fh, h, cv)



def _pathwise_core(grad_log_joint: LogJoint, mean, log_std, eps, z, where, stl=False):
    n, d = eps.shape
    g = _call_checked("grad_log_joint", grad_log_joint, z, (n, d), where)
    sigma = np.exp(log_std)
    if stl:
        # d/dz [log p(z) - log q(z)] with the parameters of q held fixed, chained through z(eps).
        dz = g + eps / sigma
        return np.stack([dz, dz * sigma * eps], axis=1)
    return np.stack([g, g * sigma * eps + 1.0], axis=1)



def _check_common(mean, log_std, n_samples, rng, where, minimum=1):
    mean, log_std = _check_q(mean, log_std, where)
    n_samples = check_int("n_samples", n_samples, minimum=minimum, where=where)
    rng = check_rng(rng, where)
    return mean, log_std, n_samples, rng



def _check_cv_method(method: Any, where: str, allow_none: bool = False) -> str | None:
    allowed = _CV_METHODS + ((None,) if allow_none else ())
    if method not in allowed:
        raise ValidationError(f"{where}: `method` must be one of {allowed}; received {method!r}.")
    return method



def score_function_gradient(
    log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Score-function (likelihood-ratio, REINFORCE) estimator of the ELBO gradient.

    With :math:`z_s \\sim q_\\lambda` and :math:`f(z) = \\log p(x, z) - \\log q_\\lambda(z)`,

    .. math::

        \\widehat{\\nabla_\\lambda \\mathcal{L}} = \\frac{1}{S} \\sum_{s=1}^S
        \\nabla_\\lambda \\log q_\\lambda(z_s) \\, f(z_s).

    Parameters
    ----------
    log_joint : callable
        Maps an array of shape (S, D) to the log joint :math:`\\log p(x, z_s)`, shape (S,).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S (at least 1).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients with respect to (mean, log_std); their average is the estimate.

    References
    ----------
    williams1992simple, glynn1990likelihood, paisley2012variational, ranganath2014black

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "score_function_gradient"
    check_callable("log_joint", log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng, where)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _score_core(log_joint, mean, log_std, eps, z, where)[0]
    return _checked_output(out, mean, log_std, where)



def score_function_cv_gradient(
    log_joint: LogJoint,
    mean: Any,
    log_std: Any,
    n_samples: int,
    rng: np.random.Generator,
    *,
    method: str = "loo",
) -> np.ndarray:
    """Score-function estimator with the score itself as control variate (an optimal baseline).

    For each coordinate k of :math:`\\lambda`, with :math:`h_k = \\partial_{\\lambda_k} \\log q`
    (which has mean zero) and :math:`g_k = h_k f`, the estimator is :math:`g_k - a_k h_k` with

    .. math::

        a_k^\\star = \\frac{\\operatorname{Cov}(g_k, h_k)}{\\operatorname{Var}(h_k)},

    the coefficient that minimises the variance. :math:`a^\\star` is estimated from samples:

    - ``"loo"`` (default): sample s uses the coefficient estimated from the other S - 1 samples, so
      it is independent of sample s and the estimator stays unbiased (needs S >= 3);
    - ``"split"``: the coefficient comes from S extra independent samples (unbiased, twice the cost);
    - ``"plugin"``: the same samples (as in Ranganath et al., 2014): biased by O(1/S).

    Parameters
    ----------
    log_joint : callable
        Maps an array of shape (S, D) to the log joint, shape (S,).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S (at least 3 for ``"loo"``, at least 2 otherwise).
    rng : numpy.random.Generator
        Source of randomness.
    method : {"loo", "split", "plugin"}
        How the coefficient is estimated.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients. With ``"loo"`` they are not independent (each uses the others), so
        judge their variance by replicating the whole estimator (:func:`replicate_estimator`).

    References
    ----------
    ranganath2014black, paisley2012variational, mohamed2020monte

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "score_function_cv_gradient"
    check_callable("log_joint", log_joint, where)
    method = _check_cv_method(method, where)
    mean, log_std, n_samples, rng = _check_common(
        mean, log_std, n_samples, rng, where, minimum=3 if method == "loo" else 2
    )
    eps, z = _draw(mean, log_std, n_samples, rng, where)
    extra = _draw(mean, log_std, n_samples, rng, where) if method == "split" else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _score_core(log_joint, mean, log_std, eps, z, where, cv=method, extra=extra)[0]
    return _checked_output(out, mean, log_std, where)



def rao_blackwell_gradient(
    local_log_joint: LogJoint,
    mean: Any,
    log_std: Any,
    n_samples: int,
    rng: np.random.Generator,
    *,
    control_variate: str | None = None,
) -> np.ndarray:
    """Rao-Blackwellized score-function estimator for a mean-field q.

    For coordinate i only the terms of the log joint that involve :math:`z_i` (its Markov blanket),
    :math:`\\log p_i(x, z_{(i)})`, enter:

    .. math::

        \\widehat{\\nabla_{\\lambda_i} \\mathcal{L}} = \\frac{1}{S} \\sum_{s=1}^S
        \\nabla_{\\lambda_i} \\log q_i(z_{s,i}) \\bigl(\\log p_i(x, z_{s,(i)}) - \\log q_i(z_{s,i})\\bigr).

    The dropped terms do not involve :math:`z_i`; under the mean-field q they are independent of
    :math:`z_i`, so their product with the score of :math:`q_i` factorises into
    :math:`\\mathbb{E}[\\nabla_{\\lambda_i} \\log q_i(z_i)] \\times \\mathbb{E}[\\cdot] = 0`: dropping them keeps
    the estimator unbiased and removes their noise.

    Parameters
    ----------
    local_log_joint : callable
        Maps an array of shape (S, D) to an array of shape (S, D) whose column i is the sum of
        the log-joint terms that involve :math:`z_i`.
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.
    control_variate : {None, "loo", "split", "plugin"}
        Also apply the score control variate of :func:`score_function_cv_gradient`
        (Ranganath et al. combine both).

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    ranganath2014black

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "rao_blackwell_gradient"
    check_callable("local_log_joint", local_log_joint, where)
    if control_variate not in _CV_METHODS + (None,):
        raise ValidationError(
            f"{where}: `control_variate` must be one of {_CV_METHODS + (None,)}; "
            f"received {control_variate!r}."
        )
    minimum = 1 if control_variate is None else (3 if control_variate == "loo" else 2)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where, minimum=minimum)
    eps, z = _draw(mean, log_std, n_samples, rng, where)
    extra = _draw(mean, log_std, n_samples, rng, where) if control_variate == "split" else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _rao_blackwell_core(local_log_joint, mean, log_std, eps, z, where, cv=control_variate, extra=extra)
    return _checked_output(out, mean, log_std, where)



def pathwise_gradient(
    grad_log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Reparameterization (pathwise) estimator of the ELBO gradient, entropy term exact.

    With :math:`z_s = \\mu + \\sigma \\odot \\epsilon_s`, :math:`\\epsilon_s \\sim \\mathcal{N}(0, I)`
    and :math:`g_s = \\nabla_z \\log p(x, z_s)`,

    .. math::

        \\widehat{\\nabla_\\mu \\mathcal{L}} = \\frac{1}{S} \\sum_s g_s, \\qquad
        \\widehat{\\nabla_\\omega \\mathcal{L}} = \\frac{1}{S} \\sum_s g_s \\odot \\sigma \\odot
        \\epsilon_s + 1.

    For this family the "+1" (the exact entropy gradient) coincides with the total derivative
    of :math:`-\\log q_\\lambda(z(\\lambda))`, so this is also the "total gradient" estimator.

    Parameters
    ----------
    grad_log_joint : callable
        Maps an array of shape (S, D) to :math:`\\nabla_z \\log p(x, z_s)`, shape (S, D).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    kingma2014autoencoding, rezende2014stochastic, titsias2014doubly

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "pathwise_gradient"
    check_callable("grad_log_joint", grad_log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng, where)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _pathwise_core(grad_log_joint, mean, log_std, eps, z, where)
    return _checked_output(out, mean, log_std, where)



def stl_gradient(
    grad_log_joint: LogJoint, mean: Any, log_std: Any, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """ "Sticking the landing" pathwise estimator: the score term of :math:`\\log q` is dropped.

    The total derivative of :math:`\\log p(x, z(\\lambda)) - \\log q_\\lambda(z(\\lambda))` has a
    path part and a score part :math:`-\\nabla_\\lambda \\log q_\\lambda(z)`, whose expectation is zero.
    Dropping it leaves

    .. math::

        \\widehat{\\nabla_\\lambda \\mathcal{L}} = \\frac{1}{S} \\sum_s
        \\bigl(\\nabla_z \\log p(x, z_s) - \\nabla_z \\log q_\\lambda(z_s)\\bigr)^\\top
        \\frac{\\partial z_s}{\\partial \\lambda},

    which is exactly zero for every sample when :math:`q_\\lambda` equals the posterior.

    Parameters
    ----------
    grad_log_joint : callable
        Maps an array of shape (S, D) to :math:`\\nabla_z \\log p(x, z_s)`, shape (S, D).
    mean : array of shape (D,)
        Mean of q.
    log_std : array of shape (D,)
        Log standard deviations of q.
    n_samples : int
        Number of samples S.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray of shape (S, 2, D)
        Per-sample gradients.

    References
    ----------
    roeder2017sticking

    Explained in Chapter: Black-box VI: score-function and reparameterization gradients
    (chapters/bbvi_gradients.ipynb).
    """
    where = "stl_gradient"
    check_callable("grad_log_joint", grad_log_joint, where)
    mean, log_std, n_samples, rng = _check_common(mean, log_std, n_samples, rng, where)
    eps, z = _draw(mean, log_std, n_samples, rng, where)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = _pathwise_core(grad_log_joint, mean, log_std, eps, z, where, stl=True)
    return _checked_output(out, mean, log_std, where)
