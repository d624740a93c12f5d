"""Book furniture: notebook setup, tables, plotting style. Presentation only: no VI code imports it.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import display, plotting, repro
from .display import *  # noqa: F403
from .plotting import *  # noqa: F403
from .repro import *  # noqa: F403

__all__ = [*display.__all__, *plotting.__all__, *repro.__all__]
