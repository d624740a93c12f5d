"""Reference answers computed independently of VI (evidence, Laplace, HMC), and diagnostics.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import diagnostics, evidence, hmc, laplace, psis
from .diagnostics import *  # noqa: F403
from .evidence import *  # noqa: F403
from .hmc import *  # noqa: F403
from .laplace import *  # noqa: F403
from .psis import *  # noqa: F403

__all__ = [*diagnostics.__all__, *evidence.__all__, *hmc.__all__, *laplace.__all__, *psis.__all__]
