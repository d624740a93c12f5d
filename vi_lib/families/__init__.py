"""Variational families and the divergences between distributions.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import divergences, exponential, gaussian
from .divergences import *  # noqa: F403
from .exponential import *  # noqa: F403
from .gaussian import *  # noqa: F403

__all__ = [*divergences.__all__, *exponential.__all__, *gaussian.__all__]
