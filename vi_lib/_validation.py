"""Argument checks shared by every public function of :mod:`vi_lib`.

Every public function validates its inputs at the boundary with these helpers, so that bad input
fails early with one consistent message shape::

    <function>: `<argument>` must be <expected>; received <what was passed>.

The helpers accept Python scalars, NumPy arrays and torch tensors. They return the value converted
to the type the caller works with (``float`` or ``numpy.ndarray``) so a check and its conversion
live on one line.

Overflow is handled once, at the boundary too: :func:`float64_guard` wraps a public function so
that float64 overflow anywhere inside it (a NumPy floating-point error, a Python ``OverflowError``,
a ``LinAlgError`` from an infinite matrix, or a non-finite result) becomes a :class:`ValidationError`
naming the argument of largest magnitude, the range that is supported and what was received.

The checks share their arguments:

- ``name`` (str): the argument's name as the caller spells it, quoted in the message;
- ``value`` (float, array-like or torch.Tensor): what the caller received;
- ``where`` (str or None): the public function doing the check, which starts the message;
- ``minimum`` (int or None), ``shape`` (sequence of int or None, ``None`` matching any length),
  ``ndim`` (int or None), ``allow_zero``, ``open_interval`` and ``positive`` (bool): the
  constraint, where a check takes one.

Each returns the checked value (``float``, ``int`` or ``numpy.ndarray`` of float) or raises
:class:`ValidationError`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "ValidationError",
    "as_array",
    "check_bool",
    "call_user",
    "check_callable",
    "check_finite",
    "check_int",
    "check_nonempty",
    "check_positive",
    "check_positive_definite",
    "check_probability",
    "check_probability_rows",
    "check_probability_vector",
    "check_rng",
    "check_same_shape",
    "check_scalar",
    "check_shape",
    "check_tensor",
    "check_vector",
    "describe",
    "float64_guard",
    "overflow_error",
]


class ValidationError(ValueError):
    """Raised when an argument of a vi_lib function is invalid.

    A subclass of :class:`ValueError`, so ``except ValueError`` still catches it.
    """


def describe(value: Any) -> str:
    """Short human description of ``value`` for error messages (type, shape, a few entries)."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            arr = value.detach().cpu().numpy()
            return f"tensor of shape {tuple(arr.shape)} and dtype {value.dtype}" + _preview(arr)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}" + _preview(value)
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return repr(value)


def _preview(arr: np.ndarray) -> str:
    if arr.size == 0:
        return " (empty)"
    if arr.ndim == 0:
        return f" with value {arr.item()!r}"
    flat = arr.ravel()
    head = ", ".join(f"{x:.4g}" if np.issubdtype(arr.dtype, np.floating) else str(x) for x in flat[:4])
    more = ", ..." if flat.size > 4 else ""
    return f" [{head}{more}]"


def _fail(where: str | None, name: str, expected: str, value: Any) -> ValidationError:
    prefix = f"{where}: " if where else ""
    return ValidationError(f"{prefix}`{name}` must be {expected}; received {describe(value)}.")


def as_array(name: str, value: Any, *, ndim: int | None = None, where: str | None = None,
             dtype: Any = np.float64) -> np.ndarray:
    """Convert ``value`` to a float NumPy array, checking the number of dimensions.

    Raises
    ------
    ValidationError
        If the value cannot be converted to a numeric array or has the wrong ``ndim``.
    """
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise _fail(where, name, "a numeric array", value) from None
    if ndim is not None and arr.ndim != ndim:
        raise _fail(where, name, f"a {ndim}-D array", arr)
    return arr


def check_finite(name: str, value: Any, *, where: str | None = None) -> np.ndarray:
    """Return ``value`` as a float array after checking that every entry is finite."""
    arr = as_array(name, value, where=where)
    if not np.all(np.isfinite(arr)):
        raise _fail(where, name, "finite (no NaN or infinity)", arr)
    return arr


def check_positive(name: str, value: Any, *, where: str | None = None,
                   allow_zero: bool = False) -> Any:
    """Check that ``value`` (scalar or array) is finite and > 0 (>= 0 with ``allow_zero``).

    Returns a ``float`` for scalar input and a float array otherwise.
    """
    arr = as_array(name, value, where=where)
    bad = ~np.isfinite(arr) | ((arr < 0) if allow_zero else (arr <= 0))
    if np.any(bad):
        what = "finite and non-negative" if allow_zero else "finite and positive"
        raise _fail(where, name, what, value)
    return float(arr) if arr.ndim == 0 else arr


def check_probability(name: str, value: Any, *, where: str | None = None,
                      open_interval: bool = False) -> Any:
    """Check that ``value`` lies in [0, 1] (or (0, 1) with ``open_interval``)."""
    arr = as_array(name, value, where=where)
    if open_interval:
        ok = np.isfinite(arr) & (arr > 0) & (arr < 1)
        what = "a probability in the open interval (0, 1)"
    else:
        ok = np.isfinite(arr) & (arr >= 0) & (arr <= 1)
        what = "a probability in [0, 1]"
    if not np.all(ok):
        raise _fail(where, name, what, value)
    return float(arr) if arr.ndim == 0 else arr


def _float_eps(value: Any) -> tuple[float, str]:
    """Machine epsilon and name of the floating dtype ``value`` arrives in (float64 for non-floats)."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            if value.is_floating_point():
                return float(torch.finfo(value.dtype).eps), str(value.dtype).removeprefix("torch.")
            return float(np.finfo(np.float64).eps), "float64"
    except ImportError:  # pragma: no cover
        pass
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError):
            dtype = np.dtype(np.float64)
    if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.floating):
        return float(np.finfo(dtype).eps), dtype.name
    return float(np.finfo(np.float64).eps), "float64"


def check_probability_vector(name: str, value: Any, *, where: str | None = None,
                             atol: float | None = None) -> np.ndarray:
    """Check a 1-D probability vector; return it as float64, renormalised to sum to 1 exactly.

    The tolerance on the sum follows the precision ``value`` arrives in: by default
    ``max(1e-9, 4 * K * eps)`` for ``K`` entries and the machine epsilon ``eps`` of its floating
    dtype, so that a float32 softmax (whose sum is off by a few float32 roundings) passes while
    float64 input keeps the 1e-9 tolerance. The sum is computed in float64 and printed to full
    precision when it is off, so the message never claims a sum of 1 for entries that fail.
    """
    eps, dtype_name = _float_eps(value)
    arr = check_finite(name, as_array(name, value, ndim=1, where=where), where=where)
    if arr.size == 0:
        raise _fail(where, name, "a non-empty probability vector", arr)
    tol = max(1e-9, 4.0 * arr.size * eps) if atol is None else float(atol)
    total = float(np.sum(arr, dtype=np.float64))
    if np.any(arr < 0) or not abs(total - 1.0) <= tol:
        prefix = f"{where}: " if where else ""
        raise ValidationError(
            f"{prefix}`{name}` must be a probability vector (non-negative entries summing to 1 within {tol:.3g}, "
            f"the tolerance for {arr.size} {dtype_name} entries); received entries summing to {total!r} "
            f"(off by {total - 1.0:+.3g}) with minimum {float(arr.min())!r}.")
    return arr / total


def check_probability_rows(name: str, value: Any, *, where: str | None = None,
                           atol: float | None = None) -> np.ndarray:
    """Check a finite 2-D array whose rows are probability vectors (responsibilities, shape (N, K)).

    The row analogue of :func:`check_probability_vector`, with its dtype-aware tolerance
    ``max(1e-9, 4 * K * eps)`` on each row sum. Returns the rows as float64, each renormalised to
    sum to 1 exactly. The message reports the worst row, its sum in full and its smallest entry.
    Shape (and ``K >= 1``) is the caller's to check first.
    """
    eps, dtype_name = _float_eps(value)
    arr = check_finite(name, as_array(name, value, ndim=2, where=where), where=where)
    if arr.size == 0:
        return arr
    k = arr.shape[1]
    tol = max(1e-9, 4.0 * k * eps) if atol is None else float(atol)
    sums = np.sum(arr, axis=1, dtype=np.float64)
    off = np.abs(sums - 1.0)
    negative = np.any(arr < 0, axis=1)
    bad = negative | ~(off <= tol)
    if np.any(bad):
        i = int(np.argmax(negative)) if np.any(negative) else int(np.argmax(off))
        prefix = f"{where}: " if where else ""
        raise ValidationError(
            f"{prefix}`{name}` must have non-negative rows that sum to 1 (each within {tol:.3g}, the tolerance for "
            f"{k} {dtype_name} entries); received {int(bad.sum())} of {arr.shape[0]} rows off, the worst row {i} "
            f"summing to {float(sums[i])!r} (off by {float(sums[i]) - 1.0:+.3g}) with minimum entry "
            f"{float(arr[i].min())!r}.")
    return arr / sums[:, None]


def check_int(name: str, value: Any, *, minimum: int | None = None, where: str | None = None) -> int:
    """Check that ``value`` is an integer (not a bool), at least ``minimum`` if given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _fail(where, name, "an integer", value)
    if minimum is not None and value < minimum:
        raise _fail(where, name, f"an integer >= {minimum}", value)
    return int(value)


def check_bool(name: str, value: Any, *, where: str | None = None) -> bool:
    """Check that ``value`` is a bool (``True`` or ``False``, NumPy's included; not 0 or 1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(where, name, "a bool (True or False)", value)
    return bool(value)


def check_nonempty(name: str, value: Any, *, where: str | None = None) -> np.ndarray:
    """Return ``value`` as a float array after checking that it has at least one entry."""
    arr = as_array(name, value, where=where)
    if arr.size == 0:
        raise _fail(where, name, "non-empty", arr)
    return arr


def check_shape(name: str, value: Any, shape: Sequence[int | None], *,
                where: str | None = None) -> np.ndarray:
    """Check that ``value`` has shape ``shape``; ``None`` entries match any length."""
    arr = as_array(name, value, where=where)
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        pretty = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise _fail(where, name, f"of shape {pretty}", arr)
    return arr


def check_same_shape(names: Sequence[str], values: Sequence[Any], *,
                     where: str | None = None) -> list[np.ndarray]:
    """Check that all ``values`` share one shape; returns them as float arrays."""
    arrs = [as_array(n, v, where=where) for n, v in zip(names, values)]
    first = arrs[0].shape
    for n, a in zip(names[1:], arrs[1:]):
        if a.shape != first:
            raise _fail(where, n, f"of the same shape as `{names[0]}` {first}", a)
    return arrs


def check_positive_definite(name: str, value: Any, *, where: str | None = None) -> np.ndarray:
    """Check that ``value`` is a finite, symmetric, positive-definite square matrix.

    Symmetry is checked to a relative tolerance of 1e-10; positive definiteness by a Cholesky
    factorization. Returns the matrix as a float array.
    """
    arr = check_finite(name, value, where=where)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise _fail(where, name, "a square 2-D matrix", arr)
    scale = max(1.0, float(np.max(np.abs(arr))))
    if not np.allclose(arr, arr.T, rtol=0.0, atol=1e-10 * scale):
        raise _fail(where, name, "a symmetric matrix", arr)
    try:
        np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(arr)
        raise ValidationError(
            (f"{where}: " if where else "")
            + f"`{name}` must be positive definite; received a matrix with smallest eigenvalue "
            f"{eig.min():.4g}."
        ) from None
    return arr


def check_scalar(name: str, value: Any, where: str | None = None, *, positive: bool = False) -> float:
    """Return ``value`` as a ``float`` after checking that it is a finite scalar (and > 0 if ``positive``)."""
    arr = check_positive(name, value, where=where) if positive else check_finite(name, value, where=where)
    if np.ndim(arr) != 0:
        raise _fail(where, name, "a scalar", arr)
    return float(arr)


def check_vector(value: Any, where: str | None = None, *, name: str = "x") -> np.ndarray:
    """Return ``value`` as a float array after checking that it is 1-D, non-empty and finite (data ``x``)."""
    arr = check_nonempty(name, as_array(name, value, ndim=1, where=where), where=where)
    return check_finite(name, arr, where=where)


def check_rng(rng: Any, where: str | None = None) -> np.random.Generator:
    """Return ``rng`` after checking that it is a :class:`numpy.random.Generator` (no hidden global state)."""
    if not isinstance(rng, np.random.Generator):
        prefix = f"{where}: " if where else ""
        raise ValidationError(
            f"{prefix}`rng` must be a numpy.random.Generator (e.g. np.random.default_rng(0)); "
            f"received {type(rng).__name__}."
        )
    return rng


def check_callable(name: str, fn: Any, where: str | None = None) -> Any:
    """Return ``fn`` after checking that it is callable."""
    if not callable(fn):
        prefix = f"{where}: " if where else ""
        raise ValidationError(f"{prefix}`{name}` must be callable; received {type(fn).__name__}.")
    return fn


# ---------------------------------------------------------------------------------------------
# Overflow: huge finite input must not give a silent inf/NaN, a RuntimeWarning or a bare error.
# ---------------------------------------------------------------------------------------------

_F = TypeVar("_F", bound=Callable[..., Any])
_guard_state = threading.local()
_LN10 = math.log(10.0)


def _numeric_leaves(value: Any, depth: int = 0) -> list[np.ndarray]:
    """Float views of the numbers in an argument: scalars, arrays, tensors, and the fields of small containers."""
    if depth > 2 or isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        return []
    if isinstance(value, (int, float, np.integer, np.floating)):
        return [np.asarray(value, dtype=np.float64)]
    if isinstance(value, np.ndarray):
        return [value.astype(np.float64, copy=False)] if value.dtype.kind in "iuf" and value.size else []
    try:
        import torch

        if isinstance(value, torch.Tensor):
            if value.numel() and (value.is_floating_point() or not value.dtype.is_complex):
                return [value.detach().to("cpu", torch.float64).numpy()]
            return []
        if isinstance(value, torch.nn.Module):
            return []
    except ImportError:  # pragma: no cover
        pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [a for f in dataclasses.fields(value) for a in _numeric_leaves(getattr(value, f.name), depth + 1)]
    if isinstance(value, tuple):  # NamedTuples of parameters
        return [a for v in value for a in _numeric_leaves(v, depth + 1)]
    return []


def _decades(value: Any, log_scale: bool) -> float | None:
    """How far ``value`` is from moderate, in powers of ten of the number float64 must hold.

    ``log10 max|entry|`` for an ordinary argument; for a log-scale one, ``max|entry| / ln 10`` (the
    decades of ``exp(entry)``), so that ``log_std=800`` and ``x=1e347`` rank alike.
    """
    leaves = [a[np.isfinite(a)] for a in _numeric_leaves(value)]
    leaves = [a for a in leaves if a.size]
    if not leaves:
        return None
    top = max(float(np.max(np.abs(a))) for a in leaves)
    if log_scale:
        return top / _LN10
    return math.log10(top) if top > 0 else -math.inf


def _received(value: Any) -> str:
    if dataclasses.is_dataclass(value) or isinstance(value, tuple):
        top = max(float(np.max(np.abs(a))) for a in _numeric_leaves(value) if a.size)
        return f"{type(value).__name__} with entries of magnitude up to {top:.3g}"
    return describe(value)


def _non_finite(out: Any, depth: int = 0) -> bool:
    """Whether a result holds a NaN or an infinity (arrays, tensors, tuples, dataclasses, dicts)."""
    if depth > 3 or out is None or isinstance(out, (str, bytes, bool)):
        return False
    if isinstance(out, (float, np.floating)) or (isinstance(out, np.ndarray) and out.dtype.kind in "fc"):
        return not bool(np.all(np.isfinite(out)))
    try:
        import torch

        if isinstance(out, torch.Tensor):
            return out.is_floating_point() and not bool(torch.isfinite(out.detach()).all())
    except ImportError:  # pragma: no cover
        pass
    if isinstance(out, dict):
        return any(_non_finite(v, depth + 1) for v in out.values())
    if isinstance(out, (tuple, list)):
        return any(_non_finite(v, depth + 1) for v in out)
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return any(_non_finite(getattr(out, f.name), depth + 1) for f in dataclasses.fields(out))
    return False


# Argument names the package uses for exponentiated quantities (see the notation table).
LOG_SCALE_NAMES = ("log_std", "init_log_std", "logvar", "logits", "log_weights", "log_probs", "log_mean",
                   "log_second_moment", "log_evidence")
_HUGE_DECADES = 100.0  # 1e100, or exp(230) for a log-scale argument


def _largest_decades(signature: inspect.Signature, args: tuple, kwargs: dict, log_scale: Sequence[str]) -> float:
    bound = signature.bind(*args, **kwargs)
    sizes = [_decades(v, k in log_scale) for k, v in bound.arguments.items() if k != "self"]
    return max((d for d in sizes if d is not None), default=-math.inf)


def overflow_error(where: str, arguments: dict[str, Any], cause: str, *,
                   log_scale: Sequence[str] = ()) -> ValidationError:
    """The error for a float64 overflow: it names the argument of largest magnitude among ``arguments``.

    ``arguments`` maps argument names to what the caller passed; ``log_scale`` names those that are
    exponentiated (a log standard deviation, a log weight), whose supported range is about +-700.
    ``cause`` says what overflowed, for the end of the message.
    """
    sizes = {name: _decades(v, name in log_scale) for name, v in arguments.items()}
    sizes = {name: d for name, d in sizes.items() if d is not None}
    if not sizes:
        return ValidationError(f"{where}: the computation overflowed float64 ({cause}).")
    name = max(sizes, key=lambda k: sizes[k])
    if name in log_scale:
        expected = ("a log-scale value within about +-700 (it is exponentiated: exp overflows float64 above 709.8 "
                    "and underflows to 0 below -745)")
    else:
        expected = ("of moderate magnitude (the computation forms squares, products and exponentials of it, which "
                    "must stay below float64's largest value, about 1.8e308: rescale to well below 1e150)")
    return ValidationError(f"{where}: `{name}` must be {expected}; received {_received(arguments[name])}, the argument "
                           f"of largest magnitude, and the computation overflowed float64 ({cause}).")


def call_user(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a user's callable (``log_joint``, ``elbo_fn``, ``callback``) from inside a guarded function.

    An overflow inside it is marked as the callable's, so that :func:`float64_guard` can say so: it
    names the argument of largest magnitude when one is huge (the callable was fed points derived
    from it), and the callable itself otherwise.
    """
    try:
        return fn(*args, **kwargs)
    except (FloatingPointError, OverflowError) as exc:
        exc.vi_lib_callback = fn  # type: ignore[attr-defined]
        raise


def float64_guard(fn: _F | None = None, *, log_scale: Sequence[str] = LOG_SCALE_NAMES, where: str | None = None) -> Any:
    """Decorator: float64 overflow inside ``fn`` becomes a :class:`ValidationError` naming the argument.

    The body runs with NumPy's overflow, invalid-operation and division-by-zero errors raised
    (``np.errstate``), and its result is checked to be finite, so huge but finite input cannot produce
    a silent inf/NaN, a ``RuntimeWarning``, or a bare ``FloatingPointError``/``OverflowError``/
    ``LinAlgError``. The error names the argument of largest magnitude (see :func:`overflow_error`);
    ``log_scale`` lists the exponentiated arguments (by default the package's log-scale names,
    ``LOG_SCALE_NAMES``). Only the outermost guarded call checks, so a fit that calls guarded steps
    in its loop pays for one check per call, not one per iteration, and
    errors carry the name of the function the caller called. Code inside that handles infinities on
    purpose keeps its own ``np.errstate`` block, which takes precedence.
    """
    if fn is None:
        return functools.partial(float64_guard, log_scale=log_scale, where=where)
    name = where or fn.__name__
    signature = inspect.signature(fn)

    def fail(args: tuple, kwargs: dict, cause: str, exc: BaseException | None = None) -> ValidationError:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        callback = getattr(exc, "vi_lib_callback", None)
        if callback is not None:
            cb = next((k for k, v in arguments.items() if v is callback), "a callable argument")
            cb = f"`{cb}`" if cb in arguments else cb
            if _largest_decades(signature, args, kwargs, log_scale) < _HUGE_DECADES:
                return ValidationError(f"{name}: {cb} must return finite values without overflowing float64; it "
                                       f"raised {cause} for arguments of moderate magnitude.")
            cause = f"{cause}, inside {cb}"
        return overflow_error(name, arguments, cause, log_scale=log_scale)

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if getattr(_guard_state, "active", False):
            return fn(*args, **kwargs)
        _guard_state.active = True
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise"):
                out = fn(*args, **kwargs)
        except (FloatingPointError, OverflowError) as exc:
            raise fail(args, kwargs, f"{type(exc).__name__}: {exc}", exc) from exc
        except np.linalg.LinAlgError as exc:  # an overflow only when some argument is huge; else not ours to reword
            err = fail(args, kwargs, f"LinAlgError: {exc}")
            if _largest_decades(signature, args, kwargs, log_scale) < _HUGE_DECADES:
                raise
            raise err from exc
        finally:
            _guard_state.active = False
        if _non_finite(out):
            raise fail(args, kwargs, "the result has non-finite entries")
        return out

    return guarded  # type: ignore[return-value]


def check_tensor(name: str, value: Any, *, where: str | None = None, ndim: int | None = None,
                 last_dim: int | None = None, finite: bool = False) -> Any:
    """Return ``value`` after checking that it is a floating-point torch tensor.

    With ``ndim`` the number of dimensions must match; with ``last_dim`` the last axis must have that
    length (the coordinates of a batch of points); with ``finite`` every entry must be finite, which
    synchronises with the device, so the torch code calls it at boundaries only.
    """
    import torch

    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise _fail(where, name, "a floating-point torch tensor", value)
    if ndim is not None and value.ndim != ndim:
        raise _fail(where, name, f"a {ndim}-D tensor", value)
    if last_dim is not None and (value.ndim == 0 or value.shape[-1] != last_dim):
        raise _fail(where, name, f"a tensor of shape (..., {last_dim})", value)
    if finite and not bool(torch.isfinite(value).all()):
        raise _fail(where, name, "finite (no NaN or infinity)", value)
    return value
