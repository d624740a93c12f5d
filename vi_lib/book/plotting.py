"""The book's figure style and the few drawing helpers that several chapters share.

Computing and drawing are kept apart: functions here take arrays that vi_lib computed
elsewhere, draw on an :class:`~matplotlib.axes.Axes` (a new one when ``ax`` is ``None``) and
return it. They never call ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse

from .._validation import (
    ValidationError,
    check_finite,
    check_positive,
    check_positive_definite,
    check_shape,
    describe,
)

__all__ = ["COLORS", "BOOK_STYLE", "use_book_style", "new_axes", "gaussian_ellipse", "image_grid"]

#: One colour per role, used consistently across chapters (colour-blind-safe, Okabe-Ito).
COLORS: dict[str, str] = {
    "target": "#000000",      # the distribution we want (posterior, p)
    "prior": "#56B4E9",
    "likelihood": "#E69F00",
    "posterior": "#000000",
    "q": "#0072B2",           # a variational approximation
    "forward": "#D55E00",     # fitted by forward KL(p || q)
    "reverse": "#0072B2",     # fitted by reverse KL(q || p)
    "exact": "#000000",
    "estimate": "#009E73",
    "bound": "#CC79A7",
    "grey": "#999999",
}

#: rcParams applied by :func:`use_book_style`.
BOOK_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "font.size": 10,
    "axes.prop_cycle": mpl.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                         "#E69F00", "#56B4E9", "#F0E442", "#000000"]),
    "image.cmap": "viridis",
}


def use_book_style() -> None:
    """Apply the book's matplotlib style (called by :func:`vi_lib.setup_notebook`)."""
    mpl.rcParams.update(BOOK_STYLE)


def new_axes(ax: Axes | None = None, **subplot_kw: Any) -> Axes:
    """Return ``ax`` if given, else the axes of a new figure in the book's style.

    Parameters
    ----------
    ax : matplotlib.axes.Axes or None
        Axes to draw on; ``None`` makes a new figure.
    **subplot_kw
        Passed to :func:`matplotlib.pyplot.subplots` when a figure is made.
    """
    _check_ax(ax, "new_axes")
    if ax is not None:
        return ax
    _, ax = plt.subplots(**subplot_kw)
    return ax


def _check_ax(ax: Any, where: str) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise ValidationError(f"{where}: `ax` must be a matplotlib Axes or None; received {describe(ax)}.")


def gaussian_ellipse(mean: Any, cov: Any, *, n_std: float = 2.0, ax: Axes | None = None,
                     **kwargs: Any) -> Axes:
    """Draw the ``n_std``-standard-deviation contour of a 2-D Gaussian.

    The ellipse's axes are the eigenvectors of ``cov``, with half-lengths ``n_std`` times the
    square roots of the eigenvalues. Extra keyword arguments go to
    :class:`matplotlib.patches.Ellipse` (e.g. ``edgecolor``, ``label``, ``linestyle``).

    Parameters
    ----------
    mean : array-like of shape (2,)
        Centre of the ellipse.
    cov : array-like of shape (2, 2)
        Covariance (symmetric positive definite).
    n_std : float > 0, default 2.0
        Number of standard deviations the contour is drawn at.
    ax : matplotlib.axes.Axes or None
        Axes to draw on; ``None`` makes a new figure.
    **kwargs
        Passed to :class:`matplotlib.patches.Ellipse`.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    mean = check_finite("mean", check_shape("mean", mean, (2,), where="gaussian_ellipse"), where="gaussian_ellipse")
    cov = check_positive_definite("cov", check_shape("cov", cov, (2, 2), where="gaussian_ellipse"),
                                  where="gaussian_ellipse")
    n_std = check_positive("n_std", n_std, where="gaussian_ellipse")
    _check_ax(ax, "gaussian_ellipse")
    ax = new_axes(ax)
    evals, evecs = np.linalg.eigh(cov)
    angle = float(np.degrees(np.arctan2(evecs[1, -1], evecs[0, -1])))
    width, height = 2 * n_std * np.sqrt(evals[::-1])
    kwargs.setdefault("facecolor", "none")
    kwargs.setdefault("linewidth", 2.0)
    ax.add_patch(Ellipse(xy=tuple(mean), width=width, height=height, angle=angle, **kwargs))
    ax.update_datalim([mean - n_std * np.sqrt(np.diag(cov)), mean + n_std * np.sqrt(np.diag(cov))])
    ax.autoscale_view()
    return ax


def image_grid(images: Any, image_shape: tuple[int, int], *, vmin: float = 0.0, vmax: float = 1.0,
               pad: int = 1, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
               ax: Axes | None = None) -> Axes:
    """Draw a grid of greyscale images (dark = high values) as one picture on one Axes.

    The images are tiled into a single array with ``pad`` blank pixels between them and drawn
    with one ``imshow``, so the grid has no per-tile frames; the Axes keeps ticks only where
    ``row_labels`` / ``col_labels`` name the rows or columns (e.g. the latent values of a
    traversal). Used for reconstructions, samples and latent traversals in
    chapters/vae.ipynb.

    Parameters
    ----------
    images : array of shape (rows, cols, H * W) or (rows, cols, H, W)
        Pixel values; entries outside ``[vmin, vmax]`` are drawn at the nearest end of the scale.
    image_shape : tuple of int
        ``(H, W)``, the shape of one image.
    vmin, vmax : float
        Values drawn white and black.
    pad : int
        Blank pixels between neighbouring images.
    row_labels, col_labels : sequence of str, optional
        One label per row (on the y axis) or column (on the x axis).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's Axes if ``None``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    where = "image_grid"
    arr = check_finite("images", images, where=where)
    try:
        h, w = (int(v) for v in image_shape)
        integral = all(float(v) == int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise ValidationError(f"{where}: `image_shape` must be a pair of positive integers (H, W); "
                              f"received {image_shape!r}.") from None
    if h < 1 or w < 1 or not integral:
        raise ValidationError(f"{where}: `image_shape` must be a pair of positive integers (H, W); "
                              f"received {image_shape!r}.")
    if arr.ndim == 3 and arr.shape[2] == h * w:
        arr = arr.reshape(arr.shape[0], arr.shape[1], h, w)
    if arr.ndim != 4 or arr.shape[2:] != (h, w):
        raise ValidationError(f"{where}: `images` must have shape (rows, cols, {h * w}) or (rows, cols, {h}, {w}); "
                              f"received shape {arr.shape}.")
    if not float(vmax) > float(vmin):
        raise ValidationError(f"{where}: `vmax` must be greater than `vmin`; received vmin={vmin}, vmax={vmax}.")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValidationError(f"{where}: `pad` must be a non-negative integer; received {pad!r}.")
    _check_ax(ax, where)
    rows, cols = arr.shape[:2]
    for name, labels, n, unit in (("row_labels", row_labels, rows, "row"), ("col_labels", col_labels, cols, "column")):
        if labels is not None and len(labels) != n:
            raise ValidationError(f"{where}: `{name}` must have one label per {unit} ({n}); "
                                  f"received {len(labels)}.")
    mosaic = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan)
    for i in range(rows):
        for j in range(cols):
            mosaic[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = arr[i, j]
    ax = new_axes(ax)
    cmap = mpl.colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_yticks([i * (h + pad) + (h - 1) / 2 for i in range(rows)] if row_labels is not None else [])
    if row_labels is not None:
        ax.set_yticklabels(list(row_labels))
    ax.set_xticks([j * (w + pad) + (w - 1) / 2 for j in range(cols)] if col_labels is not None else [])
    if col_labels is not None:
        ax.set_xticklabels(list(col_labels))
    ax.tick_params(length=0)
    return ax
