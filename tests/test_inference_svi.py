"""Tests for vi_lib.inference.svi: the Robbins-Monro schedule and the natural-parameter step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from vi_lib import ValidationError, robbins_monro_step_size, svi_global_step


def test_step_size_values():
    assert robbins_monro_step_size(1, tau=1.0, kappa=0.7) == pytest.approx(2.0**-0.7, rel=1e-15)
    t = np.arange(1, 6)
    np.testing.assert_allclose(robbins_monro_step_size(t, tau=0.0, kappa=1.0), 1.0 / t, rtol=1e-15)
    rho = robbins_monro_step_size(np.arange(1, 1001), tau=10.0, kappa=0.6)
    assert rho.shape == (1000,) and np.all(np.diff(rho) < 0) and np.all((rho > 0) & (rho <= 1))
    assert isinstance(robbins_monro_step_size(3), float)


@pytest.mark.parametrize("kappa", [0.5, 0.3, 1.01, 2.0])
def test_kappa_outside_robbins_monro_is_rejected(kappa):
    with pytest.raises(ValidationError, match=r"robbins_monro_step_size: `kappa` must be in \(0.5, 1\] "
                                              r"\(Robbins-Monro needs sum rho_t = infinity and sum rho_t\^2"):
        robbins_monro_step_size(1, tau=1.0, kappa=kappa)


@pytest.mark.parametrize(("kwargs", "arg"), [
    (dict(t=0), "t"), (dict(t=1.5), "t"), (dict(t=np.array([1, 0])), "t"), (dict(t=True), "t"),
    (dict(t=1, tau=-1.0), "tau"), (dict(t=1, tau=np.nan), "tau"), (dict(t=1, kappa=np.nan), "kappa"),
])
def test_step_size_validation_names_the_argument(kwargs, arg):
    with pytest.raises(ValidationError, match=rf"^robbins_monro_step_size: `{arg}` must be"):
        robbins_monro_step_size(**kwargs)


class _Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray


def test_global_step_is_the_convex_combination_and_keeps_the_type():
    eta, eta_hat = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, -1.0])
    np.testing.assert_allclose(svi_global_step(eta, eta_hat, 0.25), 0.75 * eta + 0.25 * eta_hat, rtol=1e-15)
    np.testing.assert_array_equal(svi_global_step(eta, eta_hat, 1.0), eta_hat)
    pair = svi_global_step(_Pair(np.ones(2), np.eye(2)), _Pair(np.zeros(2), 3 * np.eye(2)), 0.5)
    assert isinstance(pair, _Pair)
    np.testing.assert_allclose(pair.a, 0.5) and np.testing.assert_allclose(pair.b, 2 * np.eye(2))
    plain = svi_global_step((np.ones(2),), (np.zeros(2),), 0.5)
    assert type(plain) is tuple


@pytest.mark.parametrize(("args", "match"), [
    ((np.ones(2), np.ones(2), 0.0), r"`rho` must be a step size in \(0, 1\]"),
    ((np.ones(2), np.ones(2), 1.5), r"`rho` must be a step size in \(0, 1\]"),
    ((np.ones(2), np.ones(3), 0.5), r"`eta_hat` must have the shape"),
    (((np.ones(2), np.ones(2)), (np.ones(2), np.ones(3)), 0.5), r"`eta_hat\[1\]` must have the shape"),
    (((np.ones(2),), np.ones(2), 0.5), r"`eta_hat` must have the structure"),
    ((np.array([1.0, np.nan]), np.ones(2), 0.5), r"`eta` must be finite"),
    (("abc", np.ones(2), 0.5), r"`eta` must be a float array or a tuple"),
])
def test_global_step_validation(args, match):
    with pytest.raises(ValidationError, match=r"^svi_global_step: " + match):
        svi_global_step(*args)
