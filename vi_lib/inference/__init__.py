"""Inference algorithms: EM, KL fitting, black-box VI, CAVI, stochastic VI (mixture, LDA), doubly stochastic VI
and reparameterised VI in torch (full-rank Gaussians, flows).

The package namespace is the union of its modules' ``__all__``; a new module adds itself here.
"""


from . import (
    bayesian_gmm,
    bayesian_gmm_natgrad,
    bayesian_gmm_svi,
    bbvi,
    cavi,
    dsvi,
    em,
    kl_fitting,
    lda_svi,
    minibatch,
    svi,
    torch_vi,
)
from .bayesian_gmm import *  # noqa: F403
from .bayesian_gmm_natgrad import *  # noqa: F403
from .bayesian_gmm_svi import *  # noqa: F403
from .bbvi import *  # noqa: F403
from .cavi import *  # noqa: F403
from .dsvi import *  # noqa: F403
from .em import *  # noqa: F403
from .kl_fitting import *  # noqa: F403
from .lda_svi import *  # noqa: F403
from .minibatch import *  # noqa: F403
from .svi import *  # noqa: F403
from .torch_vi import *  # noqa: F403

__all__ = [*bayesian_gmm.__all__, *bayesian_gmm_natgrad.__all__, *bayesian_gmm_svi.__all__, *bbvi.__all__,
           *cavi.__all__, *dsvi.__all__, *em.__all__, *kl_fitting.__all__, *lda_svi.__all__, *minibatch.__all__,
           *svi.__all__, *torch_vi.__all__]
