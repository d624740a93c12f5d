"""Tests for vi_lib.display, vi_lib.repro and vi_lib.plotting."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import vi_lib  # noqa: E402
from vi_lib import ValidationError, format_table, gaussian_ellipse, setup_notebook  # noqa: E402


def test_format_table_aligns_and_formats():
    text = format_table([[1, 0.123456, "a"], [100, 2.0, "bb"]], ["n", "x", "s"], floatfmt=".3f")
    assert text.splitlines() == ["  n      x   s", "---  -----  --", "  1  0.123   a", "100  2.000  bb"]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValidationError, match=r"`rows\[1\]` must have 2 entries \(one per header\); received 1"):
        format_table([[1, 2], [3]], ["a", "b"])


def test_setup_notebook_is_reproducible_and_sets_threads():
    torch_threads = torch.get_num_threads()
    try:
        rng = setup_notebook(seed=3, threads=1)
        a = (rng.normal(size=3), torch.randn(3), np.random.rand())
        rng = setup_notebook(seed=3, threads=1)
        b = (rng.normal(size=3), torch.randn(3), np.random.rand())
        np.testing.assert_array_equal(a[0], b[0])
        assert torch.equal(a[1], b[1]) and a[2] == b[2]
        assert torch.get_num_threads() == 1
        assert np.get_printoptions()["precision"] == 4
        assert matplotlib.rcParams["axes.spines.top"] is False
    finally:
        torch.set_num_threads(torch_threads)
        torch.use_deterministic_algorithms(False)
        np.set_printoptions(precision=8, suppress=False)
        torch.set_printoptions(profile="default")


@pytest.mark.parametrize("kwargs, message", [({"seed": -1}, "`seed` must be an integer >= 0"),
                                             ({"threads": 0}, "`threads` must be an integer >= 1")])
def test_setup_notebook_validates(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        setup_notebook(**kwargs)


def test_gaussian_ellipse_geometry():
    cov = np.array([[4.0, 0.0], [0.0, 1.0]])
    ax = gaussian_ellipse([1.0, -1.0], cov, n_std=2.0, edgecolor="k")
    (patch,) = ax.patches
    assert patch.center == (1.0, -1.0)
    assert sorted([patch.width, patch.height]) == pytest.approx([4.0, 8.0])
    plt.close(ax.figure)


def test_gaussian_ellipse_rejects_bad_covariance():
    with pytest.raises(ValidationError, match="gaussian_ellipse: `cov` must be positive definite"):
        gaussian_ellipse([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])


def test_public_names_exist():
    for name in vi_lib.__all__:
        assert hasattr(vi_lib, name), name
