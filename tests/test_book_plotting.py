"""Tests for vi_lib.book.plotting: ellipses, image grids, the shared style."""


from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from vi_lib import ValidationError, gaussian_ellipse, image_grid  # noqa: E402


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


def test_image_grid_tiles_images_with_blank_padding():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 16, size=(2, 3, 8 * 8))
    ax = image_grid(images, (8, 8), vmin=0, vmax=16, row_labels=["a", "b"])
    mosaic = ax.images[0].get_array()
    assert mosaic.shape == (2 * 9 - 1, 3 * 9 - 1)
    # image (1, 2) sits at rows 9..16, columns 18..25; the padding between tiles is masked (drawn blank)
    np.testing.assert_array_equal(mosaic[9:17, 18:26], images[1, 2].reshape(8, 8))
    assert mosaic.mask[8, :].all() and mosaic.mask[:, 8].all() and not mosaic.mask[:8, :8].any()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert list(ax.get_xticks()) == []
    assert not any(s.get_visible() for s in ax.spines.values())
    plt.close("all")


def test_image_grid_accepts_image_shaped_input():
    images = np.arange(2 * 2 * 4 * 3, dtype=float).reshape(2, 2, 4, 3)
    ax = image_grid(images, (4, 3), vmax=100.0, pad=0, col_labels=["x", "y"])
    np.testing.assert_array_equal(ax.images[0].get_array()[4:8, 3:6], images[1, 1])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    plt.close("all")


@pytest.mark.parametrize("kwargs, message", [
    ({"images": np.zeros((2, 3, 10))}, r"image_grid: `images` must have shape \(rows, cols, 64\) or "
                                        r"\(rows, cols, 8, 8\); received shape \(2, 3, 10\)"),
    ({"image_shape": (8, 0)}, r"image_grid: `image_shape` must be a pair of positive integers \(H, W\); "
                              r"received \(8, 0\)"),
    ({"image_shape": "8x8"}, r"image_grid: `image_shape` must be a pair of positive integers"),
    ({"vmin": 1.0, "vmax": 1.0}, r"image_grid: `vmax` must be greater than `vmin`; received vmin=1.0, vmax=1.0"),
    ({"pad": -1}, r"image_grid: `pad` must be a non-negative integer; received -1"),
    ({"row_labels": ["only one"]}, r"image_grid: `row_labels` must have one label per row \(2\); received 1"),
    ({"col_labels": ["a"]}, r"image_grid: `col_labels` must have one label per column \(3\); received 1"),
    ({"images": np.full((2, 3, 64), np.nan)}, r"image_grid: `images` must be finite"),
])
def test_image_grid_rejects_bad_input(kwargs, message):
    args = {"images": np.zeros((2, 3, 64)), "image_shape": (8, 8)} | kwargs
    images, shape = args.pop("images"), args.pop("image_shape")
    with pytest.raises(ValidationError, match=message):
        image_grid(images, shape, **args)


@pytest.mark.parametrize("cov", [[[4.0, 1.5], [1.5, 1.0]], [[1.0, -0.8], [-0.8, 2.0]], [[1.0, 0.0], [0.0, 3.0]]])
def test_ellipse_is_the_n_std_mahalanobis_contour(cov):
    """Every point of the drawn ellipse x satisfies (x - m)^T cov^{-1} (x - m) = n_std^2."""
    cov, mean = np.array(cov), np.array([1.0, -1.0])
    ax = gaussian_ellipse(mean, cov, n_std=1.5)
    (patch,) = ax.patches
    t = np.linspace(0, 2 * np.pi, 64)
    pts = patch.get_patch_transform().transform(np.column_stack([np.cos(t), np.sin(t)]))
    d = pts - mean
    np.testing.assert_allclose(np.einsum("si,ij,sj->s", d, np.linalg.inv(cov), d), 1.5**2, rtol=1e-10)
    plt.close(ax.figure)
