"""Tests for vi_lib._validation: every check accepts good input and names the problem otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vi_lib._validation import (
    ValidationError,
    as_array,
    check_finite,
    check_int,
    check_nonempty,
    check_positive,
    check_positive_definite,
    check_probability,
    check_same_shape,
    check_shape,
    describe,
)


def test_validation_error_is_a_value_error():
    assert issubclass(ValidationError, ValueError)


def test_check_positive_returns_float_for_scalars_and_arrays_otherwise():
    assert check_positive("s", 2) == 2.0 and isinstance(check_positive("s", 2), float)
    np.testing.assert_array_equal(check_positive("s", [1.0, 2.0]), [1.0, 2.0])


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, [1.0, -2.0]])
def test_check_positive_message_names_argument_expectation_and_value(bad):
    with pytest.raises(ValidationError, match=r"^f: `sigma` must be finite and positive; received "):
        check_positive("sigma", bad, where="f")


def test_check_positive_allow_zero():
    assert check_positive("s", 0.0, allow_zero=True) == 0.0
    with pytest.raises(ValidationError, match="`s` must be finite and non-negative; received -1.0"):
        check_positive("s", -1.0, allow_zero=True)


def test_check_finite_rejects_nan_in_tensor_and_describes_it():
    with pytest.raises(ValidationError, match=r"`x` must be finite \(no NaN or infinity\); received array of "
                                              r"shape \(2,\) and dtype float64 \[1, nan\]"):
        check_finite("x", torch.tensor([1.0, float("nan")], dtype=torch.float64))


def test_check_probability_bounds():
    assert check_probability("p", 0.0) == 0.0
    with pytest.raises(ValidationError, match=r"`p` must be a probability in \[0, 1\]; received 1.5"):
        check_probability("p", 1.5)
    with pytest.raises(ValidationError, match=r"open interval \(0, 1\)"):
        check_probability("p", 0.0, open_interval=True)


@pytest.mark.parametrize("bad, expected", [(1.5, "an integer"), (True, "an integer"), (0, "an integer >= 1")])
def test_check_int(bad, expected):
    with pytest.raises(ValidationError, match=f"`n` must be {expected}; received"):
        check_int("n", bad, minimum=1)
    assert check_int("n", np.int64(3), minimum=1) == 3


def test_check_nonempty():
    with pytest.raises(ValidationError, match=r"`x` must be non-empty; received array of shape \(0,\)"):
        check_nonempty("x", [])


def test_check_shape_with_wildcards():
    assert check_shape("m", np.zeros((3, 2)), (None, 2)).shape == (3, 2)
    with pytest.raises(ValidationError, match=r"`m` must be of shape \(\*, 2\); received array of shape \(3, 3\)"):
        check_shape("m", np.zeros((3, 3)), (None, 2))
    with pytest.raises(ValidationError, match=r"must be of shape \(2,\)"):
        check_shape("v", np.zeros(3), (2,))


def test_check_same_shape():
    a, b = check_same_shape(["a", "b"], [[1, 2], [3, 4]])
    assert a.shape == b.shape == (2,)
    with pytest.raises(ValidationError, match=r"`b` must be of the same shape as `a` \(2,\)"):
        check_same_shape(["a", "b"], [[1, 2], [3, 4, 5]])


def test_check_positive_definite():
    check_positive_definite("S", np.eye(2))
    with pytest.raises(ValidationError, match="`S` must be a symmetric matrix"):
        check_positive_definite("S", [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValidationError, match="`S` must be positive definite; received a matrix with smallest "
                                              "eigenvalue -1"):
        check_positive_definite("S", [[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValidationError, match="`S` must be a square 2-D matrix"):
        check_positive_definite("S", np.ones(3))


def test_as_array_rejects_non_numeric_and_wrong_ndim():
    with pytest.raises(ValidationError, match="`x` must be a numeric array; received 'abc'"):
        as_array("x", "abc")
    with pytest.raises(ValidationError, match="`x` must be a 2-D array"):
        as_array("x", [1.0, 2.0], ndim=2)


def test_describe_is_short_for_big_arrays():
    text = describe(np.arange(1000.0))
    assert "shape (1000,)" in text and text.endswith(", ...]") and len(text) < 100


def test_check_probability_rows_tolerance_follows_dtype_and_message_prints_the_sum_in_full():
    from vi_lib._validation import check_probability_rows

    r32 = np.array([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4]], dtype=np.float32)
    out = check_probability_rows("resp", r32, where="f")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    with pytest.raises(ValidationError, match=r"^f: `resp` must have non-negative rows that sum to 1 \(each within "
                                              r"1e-09, the tolerance for 2 float64 entries\); received 1 of 2 rows "
                                              r"off, the worst row 1 summing to 1\.00000001 \(off by \+1e-08\)"):
        check_probability_rows("resp", np.array([[0.5, 0.5], [0.5, 0.5 + 1e-8]]), where="f")
    with pytest.raises(ValidationError, match=r"the tolerance for 2 float32 entries\); .* worst row 0 summing to "
                                              r"1\.0001"):
        check_probability_rows("resp", np.array([[0.5, 0.5001]], dtype=np.float32), where="f")
    with pytest.raises(ValidationError, match=r"worst row 0 summing to 1\.0 \(off by \+0\) with minimum entry -0\.5"):
        check_probability_rows("resp", np.array([[1.5, -0.5], [0.5, 0.5]]), where="f")


def _guarded_square(x, log_std=0.0):
    from vi_lib._validation import float64_guard

    @float64_guard(where="square")
    def square(x, log_std=0.0):
        return np.asarray(x, dtype=float) ** 2 * np.exp(log_std)

    return square(x, log_std=log_std)


def test_float64_guard_names_the_argument_of_largest_magnitude_and_the_supported_range():
    assert _guarded_square(3.0) == 9.0
    with pytest.raises(ValidationError, match=r"^square: `x` must be of moderate magnitude .* well below 1e150\); "
                                              r"received 1e\+300, the argument of largest magnitude, and the "
                                              r"computation overflowed float64 \(FloatingPointError: overflow"):
        _guarded_square(1e300)
    with pytest.raises(ValidationError, match=r"^square: `log_std` must be a log-scale value within about \+-700 "
                                              r".*received 800\.0"):
        _guarded_square(2.0, log_std=800.0)


def test_float64_guard_checks_the_result_and_only_the_outermost_call():
    from vi_lib._validation import float64_guard

    @float64_guard
    def inner(x):
        return torch.tensor([x], dtype=torch.float32) * 1e30  # torch overflows silently, no NumPy error

    @float64_guard
    def outer(x):
        return inner(x) + 1

    assert float(outer(1.0)) == pytest.approx(1e30, rel=1e-6)
    with pytest.raises(ValidationError, match=r"^outer: `x` .* received 1e\+20, .*the result has non-finite entries"):
        outer(1e20)
    with pytest.raises(ValidationError, match=r"^inner: `x`"):
        inner(1e20)


def test_float64_guard_blames_a_huge_argument_or_else_the_callback_that_overflowed():
    from vi_lib._validation import call_user, float64_guard

    @float64_guard
    def integrate(log_joint, upper):
        z = np.linspace(0.0, upper, 5)
        return float(np.sum(np.exp(np.asarray(call_user(log_joint, z)) - 1e3)))

    assert integrate(lambda z: -0.5 * z**2, 2.0) == pytest.approx(np.sum(np.exp(-0.5 * np.linspace(0, 2, 5) ** 2
                                                                                  - 1e3)))
    with pytest.raises(ValidationError, match=r"^integrate: `upper` must be of moderate magnitude .*received 1e\+300"
                                              r".*FloatingPointError: overflow encountered in square, inside "
                                              r"`log_joint`\)"):
        integrate(lambda z: -0.5 * z**2, 1e300)
    with pytest.raises(ValidationError, match=r"^integrate: `log_joint` must return finite values without "
                                              r"overflowing float64; it raised FloatingPointError: overflow .* for "
                                              r"arguments of moderate magnitude\."):
        integrate(lambda z: np.exp(z * 800.0), 2.0)
