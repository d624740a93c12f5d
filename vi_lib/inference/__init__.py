"""Inference algorithms: EM, KL fitting, black-box VI, doubly stochastic VI, CAVI (and next SVI).

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import bayesian_gmm, bbvi, cavi, dsvi, em, kl_fitting
from .bayesian_gmm import *  # noqa: F403
from .bbvi import *  # noqa: F403
from .cavi import *  # noqa: F403
from .dsvi import *  # noqa: F403
from .em import *  # noqa: F403
from .kl_fitting import *  # noqa: F403

__all__ = [*bayesian_gmm.__all__, *bbvi.__all__, *cavi.__all__, *dsvi.__all__, *em.__all__, *kl_fitting.__all__]
