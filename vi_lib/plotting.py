"""The book's figure style and the few drawing helpers that several chapters share.

Computing and drawing are kept apart: functions here take arrays that vi_lib computed
elsewhere, draw on an :class:`~matplotlib.axes.Axes` (a new one when ``ax`` is ``None``) and
return it. They never call ``plt.show()``.
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Ellipse

from ._validation import check_positive, check_positive_definite, check_shape

__all__ = ["COLORS", "BOOK_STYLE", "use_book_style", "new_axes", "gaussian_ellipse"]

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
    """Return ``ax`` if given, else the axes of a new figure in the book's style."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(**subplot_kw)
    return ax


def gaussian_ellipse(mean: Any, cov: Any, *, n_std: float = 2.0, ax: Axes | None = None,
                     **kwargs: Any) -> Axes:
    """Draw the ``n_std``-standard-deviation contour of a 2-D Gaussian.

    The ellipse's axes are the eigenvectors of ``cov``, with half-lengths ``n_std`` times the
    square roots of the eigenvalues. Extra keyword arguments go to
    :class:`matplotlib.patches.Ellipse` (e.g. ``edgecolor``, ``label``, ``linestyle``).
    """
    mean = check_shape("mean", mean, (2,), where="gaussian_ellipse")
    cov = check_positive_definite("cov", check_shape("cov", cov, (2, 2), where="gaussian_ellipse"),
                                  where="gaussian_ellipse")
    n_std = check_positive("n_std", n_std, where="gaussian_ellipse")
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
