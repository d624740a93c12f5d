"""Variational families and the divergences between distributions.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import divergences, exponential, flows, gaussian, gaussian_torch, transforms
from .divergences import *  # noqa: F403
from .exponential import *  # noqa: F403
from .flows import *  # noqa: F403
from .gaussian import *  # noqa: F403
from .gaussian_torch import *  # noqa: F403
from .transforms import *  # noqa: F403

__all__ = [*divergences.__all__, *exponential.__all__, *flows.__all__, *gaussian.__all__, *gaussian_torch.__all__,
           *transforms.__all__]
