"""The package layout: every public name survives the move to concept subpackages, namespaces are the
union of their modules' ``__all__``, and the VI library never imports the book furniture."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import vi_lib

PACKAGE = Path(vi_lib.__file__).resolve().parent
SUBPACKAGES = ("models", "families", "objectives", "inference", "reference", "book")

# vi_lib.__all__ before the reorganisation by concept (issue 11): chapters import these flat.
PINNED_PUBLIC_NAMES = {
    "BBVIResult", "BayesianLogisticRegression", "BetaBernoulli", "COLORS", "ELBOTerms", "EMResult",
    "EstimatorStats", "GaussianFit", "GaussianMixture1D", "GaussianQ", "GaussianTarget", "GradientSummary",
    "GridEvidence", "LogisticData", "MeanFieldFit", "MonteCarloEstimate", "NaiveMCResult", "NormalNormal",
    "QuadratureResult", "ReferencePosterior", "ReverseKLFit", "VAE", "ValidationError", "active_units",
    "e_step", "effective_sample_size", "elbo_decomposition_grid", "elbo_gaussian_grid", "elbo_monte_carlo",
    "elbo_monte_carlo_entropy_form", "elbo_monte_carlo_kl_form", "elbo_normal_normal", "elbo_terms_normal_normal",
    "em_lower_bound", "entropy_mvn", "entropy_normal", "fit_bbvi", "fit_em", "fit_forward_kl_gaussian",
    "fit_gaussian_q", "fit_mean_field_gaussian", "fit_reverse_kl_gaussian", "format_table", "gaussian_ellipse",
    "gaussian_entropy", "gaussian_kl_standard", "gaussian_score", "gmm_log_density", "gmm_log_evidence_exact",
    "gmm_log_evidence_grid_k2", "gmm_log_likelihood", "gmm_num_assignments", "gmm_sample", "grid_log_evidence",
    "grid_quadrature_cost", "hmc_sample", "image_grid", "init_gmm", "iwae_bound", "kl_categorical",
    "kl_integrands", "kl_monte_carlo", "kl_mvn", "kl_normal", "kl_per_dimension", "laplace_approximation",
    "load_breast_cancer_data", "load_digits_split", "load_mnist", "log_evidence_quadrature", "m_step",
    "mc_samples_needed", "mean_field_gaussian_forward", "mean_field_gaussian_reverse", "mixture_log_pdf",
    "naive_mc_log_evidence", "naive_mc_relative_variance", "new_axes", "normal_means_log_joint",
    "normal_normal_log_evidence_stats", "pathwise_gradient", "predictive_accuracy", "predictive_probability",
    "rao_blackwell_gradient", "reference_posterior", "replicate_estimator", "reverse_kl_gradient",
    "reverse_kl_hessian", "reverse_kl_stationary_point", "reverse_kl_to_mixture", "running_mean",
    "score_function_cv_gradient", "score_function_gradient", "setup_notebook", "split_rhat",
    "squared_mean_log_joint", "stl_gradient", "summarize_gradients", "summarize_log_weights", "train_vae",
    "use_book_style",
}


def _modules(subpackage: str) -> list[str]:
    pkg = importlib.import_module(f"vi_lib.{subpackage}")
    return [f"vi_lib.{subpackage}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


def test_no_public_name_was_lost():
    missing = sorted(PINNED_PUBLIC_NAMES - set(vi_lib.__all__))
    assert not missing, f"names chapters import flat that vi_lib no longer exports: {missing}"
    for name in PINNED_PUBLIC_NAMES:
        assert getattr(vi_lib, name) is not None


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_namespaces_are_the_union_of_their_modules_all(subpackage):
    pkg = importlib.import_module(f"vi_lib.{subpackage}")
    names = []
    for module_name in _modules(subpackage):
        module = importlib.import_module(module_name)
        assert hasattr(module, "__all__"), f"{module_name} must declare __all__"
        for name in module.__all__:
            assert getattr(pkg, name) is getattr(module, name), f"{subpackage}.{name} is not {module_name}.{name}"
            assert getattr(vi_lib, name) is getattr(module, name), f"vi_lib.{name} is not {module_name}.{name}"
        names += module.__all__
    assert sorted(pkg.__all__) == sorted(names)
    assert set(names) <= set(vi_lib.__all__)


def _imports(path: Path) -> set[str]:
    """Absolute module names imported by ``path`` (relative imports resolved against the package)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            found.add(mod)
            found |= {f"{mod}.{alias.name}" for alias in node.names}
    return found


def test_the_vi_library_never_imports_the_book_furniture():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("book/") or rel == "__init__.py":
            continue
        if any(m == "vi_lib.book" or m.startswith("vi_lib.book.") for m in _imports(path)):
            offenders.append(rel)
    assert not offenders, f"modules importing vi_lib.book (presentation only): {offenders}"


def test_the_import_scan_sees_relative_imports():
    """The scan is not vacuous: it resolves ``from ..book import x`` and ``from . import plotting``."""
    assert "vi_lib.book.plotting" in _imports(PACKAGE / "book" / "repro.py")
    assert "vi_lib.models.conjugate.NormalNormal" in _imports(PACKAGE / "objectives" / "elbo.py")
