"""Argument checks shared by every public function of :mod:`vi_lib`.

Every public function validates its inputs at the boundary with these helpers, so that bad input
fails early with one consistent message shape::

    <function>: `<argument>` must be <expected>; received <what was passed>.

The helpers accept Python scalars, NumPy arrays and torch tensors. They return the value converted
to the type the caller works with (``float`` or ``numpy.ndarray``) so a check and its conversion
live on one line.

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

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "ValidationError",
    "as_array",
    "check_callable",
    "check_finite",
    "check_int",
    "check_nonempty",
    "check_positive",
    "check_positive_definite",
    "check_probability",
    "check_rng",
    "check_same_shape",
    "check_scalar",
    "check_shape",
    "check_tensor",
    "check_vector",
    "describe",
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


def check_int(name: str, value: Any, *, minimum: int | None = None, where: str | None = None) -> int:
    """Check that ``value`` is an integer (not a bool), at least ``minimum`` if given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise _fail(where, name, "an integer", value)
    if minimum is not None and value < minimum:
        raise _fail(where, name, f"an integer >= {minimum}", value)
    return int(value)


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
