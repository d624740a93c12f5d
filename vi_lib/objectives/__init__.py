"""The ELBO in its forms, its Monte Carlo estimators, and estimators of its gradient.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import elbo, gradients, summaries
from .elbo import *  # noqa: F403
from .gradients import *  # noqa: F403
from .summaries import *  # noqa: F403

__all__ = [*elbo.__all__, *gradients.__all__, *summaries.__all__]
