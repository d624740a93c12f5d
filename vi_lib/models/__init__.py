"""The targets: models with their log joint and, where they exist, exact posterior and evidence.

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import bayesian_gmm, conjugate, eight_schools, gaussian, lda, logistic, mixture, normal_gamma, toy_targets
from .bayesian_gmm import *  # noqa: F403
from .conjugate import *  # noqa: F403
from .eight_schools import *  # noqa: F403
from .gaussian import *  # noqa: F403
from .lda import *  # noqa: F403
from .logistic import *  # noqa: F403
from .mixture import *  # noqa: F403
from .normal_gamma import *  # noqa: F403
from .toy_targets import *  # noqa: F403

__all__ = [*bayesian_gmm.__all__, *conjugate.__all__, *eight_schools.__all__, *gaussian.__all__, *lda.__all__,
           *logistic.__all__, *mixture.__all__, *normal_gamma.__all__, *toy_targets.__all__]
