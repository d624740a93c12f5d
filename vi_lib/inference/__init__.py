"""Inference algorithms: EM, KL fitting, black-box VI, CAVI and stochastic VI.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import bayesian_gmm, bbvi, cavi, em, kl_fitting, lda_svi
from .bayesian_gmm import *  # noqa: F403
from .bbvi import *  # noqa: F403
from .cavi import *  # noqa: F403
from .em import *  # noqa: F403
from .kl_fitting import *  # noqa: F403
from .lda_svi import *  # noqa: F403

__all__ = [*bayesian_gmm.__all__, *bbvi.__all__, *cavi.__all__, *em.__all__, *kl_fitting.__all__, *lda_svi.__all__]
