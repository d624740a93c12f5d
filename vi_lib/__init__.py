"""vi_lib: the tested companion package of *The VI Book*.

Chapters import public names from here only; private modules (leading underscore) may change.
Each function's docstring names the chapter that explains it.
"""

from ._validation import ValidationError
from .display import format_table
from .plotting import COLORS, gaussian_ellipse, image_grid, new_axes, use_book_style
from .repro import setup_notebook

__version__ = "0.1.0"

__all__ = [
    "ValidationError",
    "setup_notebook",
    "format_table",
    "COLORS",
    "use_book_style",
    "new_axes",
    "gaussian_ellipse",
    "image_grid",
]

# Each chapter's modules add their public names in their own block below, so that work on
# different chapters never edits the same lines.

# --- Chapter: Bayes' rule and the evidence (chapters/bayes_evidence.ipynb) ---
from .conjugate import (  # noqa: E402
    BetaBernoulli,
    NormalNormal,
    normal_means_log_joint,
    normal_normal_log_evidence_stats,
)
from .evidence import (  # noqa: E402
    NaiveMCResult,
    QuadratureResult,
    grid_log_evidence,
    grid_quadrature_cost,
    log_evidence_quadrature,
    mc_samples_needed,
    naive_mc_log_evidence,
    naive_mc_relative_variance,
    summarize_log_weights,
)
from .mixture import (  # noqa: E402
    GridEvidence,
    gmm_log_evidence_exact,
    gmm_log_evidence_grid_k2,
    gmm_num_assignments,
)

__all__ += [
    "BetaBernoulli", "NormalNormal", "normal_means_log_joint", "normal_normal_log_evidence_stats",
    "NaiveMCResult", "QuadratureResult", "grid_log_evidence", "grid_quadrature_cost", "log_evidence_quadrature",
    "mc_samples_needed", "naive_mc_log_evidence", "naive_mc_relative_variance", "summarize_log_weights",
    "GridEvidence", "gmm_log_evidence_exact", "gmm_log_evidence_grid_k2", "gmm_num_assignments",
]
# --- end Bayes ---

# --- Chapter: KL divergence (chapters/kl_divergence.ipynb) ---
from .divergences import entropy_mvn, entropy_normal, kl_categorical, kl_monte_carlo, kl_mvn, kl_normal  # noqa: E402
from .kl_fitting import (  # noqa: E402
    MeanFieldFit,
    ReverseKLFit,
    fit_forward_kl_gaussian,
    fit_mean_field_gaussian,
    fit_reverse_kl_gaussian,
    kl_integrands,
    mean_field_gaussian_forward,
    mean_field_gaussian_reverse,
    mixture_log_pdf,
    reverse_kl_gradient,
    reverse_kl_hessian,
    reverse_kl_stationary_point,
    reverse_kl_to_mixture,
)

__all__ += [
    "entropy_mvn", "entropy_normal", "kl_categorical", "kl_monte_carlo", "kl_mvn", "kl_normal",
    "MeanFieldFit", "ReverseKLFit", "fit_forward_kl_gaussian", "fit_mean_field_gaussian",
    "fit_reverse_kl_gaussian", "kl_integrands", "mean_field_gaussian_forward", "mean_field_gaussian_reverse",
    "mixture_log_pdf", "reverse_kl_gradient", "reverse_kl_hessian", "reverse_kl_stationary_point",
    "reverse_kl_to_mixture",
]
# --- end KL ---

# --- Chapter: The ELBO (chapters/elbo.ipynb) ---
from .elbo import (  # noqa: E402
    ELBOTerms,
    GaussianFit,
    GaussianQ,
    MonteCarloEstimate,
    elbo_decomposition_grid,
    elbo_gaussian_grid,
    elbo_monte_carlo,
    elbo_monte_carlo_entropy_form,
    elbo_monte_carlo_kl_form,
    elbo_normal_normal,
    elbo_terms_normal_normal,
    fit_gaussian_q,
    squared_mean_log_joint,
)
from .em import (  # noqa: E402
    EMResult,
    GaussianMixture1D,
    e_step,
    em_lower_bound,
    fit_em,
    gmm_log_density,
    gmm_log_likelihood,
    gmm_sample,
    init_gmm,
    m_step,
)

__all__ += [
    "ELBOTerms", "GaussianFit", "GaussianQ", "MonteCarloEstimate", "elbo_decomposition_grid",
    "elbo_gaussian_grid", "elbo_monte_carlo", "elbo_monte_carlo_entropy_form", "elbo_monte_carlo_kl_form",
    "elbo_normal_normal", "elbo_terms_normal_normal", "fit_gaussian_q", "squared_mean_log_joint",
]
__all__ += [
    "EMResult", "GaussianMixture1D", "e_step", "em_lower_bound", "fit_em", "gmm_log_density",
    "gmm_log_likelihood", "gmm_sample", "init_gmm", "m_step",
]
# --- end ELBO ---

# --- Chapter: Black-box VI gradients (chapters/bbvi_gradients.ipynb) ---
from .bbvi import BBVIResult, fit_bbvi, running_mean  # noqa: E402
from .gradients import (  # noqa: E402
    EstimatorStats,
    GaussianTarget,
    GradientSummary,
    gaussian_entropy,
    gaussian_score,
    pathwise_gradient,
    rao_blackwell_gradient,
    replicate_estimator,
    score_function_cv_gradient,
    score_function_gradient,
    stl_gradient,
    summarize_gradients,
)
from .logistic import (  # noqa: E402
    BayesianLogisticRegression,
    LogisticData,
    ReferencePosterior,
    effective_sample_size,
    hmc_sample,
    laplace_approximation,
    load_breast_cancer_data,
    predictive_accuracy,
    predictive_probability,
    reference_posterior,
    split_rhat,
)

__all__ += [
    "BBVIResult", "fit_bbvi", "running_mean",
    "EstimatorStats", "GaussianTarget", "GradientSummary", "gaussian_entropy", "gaussian_score",
    "pathwise_gradient", "rao_blackwell_gradient", "replicate_estimator", "score_function_cv_gradient",
    "score_function_gradient", "stl_gradient", "summarize_gradients",
    "BayesianLogisticRegression", "LogisticData", "ReferencePosterior", "effective_sample_size",
    "hmc_sample", "laplace_approximation", "load_breast_cancer_data", "predictive_accuracy",
    "predictive_probability", "reference_posterior", "split_rhat",
]
# --- end BBVI ---

# --- Chapter: The VAE (chapters/vae.ipynb) ---
from .vae import (  # noqa: E402
    VAE,
    active_units,
    gaussian_kl_standard,
    iwae_bound,
    kl_per_dimension,
    load_digits_split,
    load_mnist,
    train_vae,
)

__all__ += ["VAE", "active_units", "gaussian_kl_standard", "iwae_bound", "kl_per_dimension",
            "load_digits_split", "load_mnist", "train_vae"]
# --- end VAE ---
