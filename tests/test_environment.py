"""environment.yml (conda, Binder) and pyproject.toml must name the same dependencies."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    reqs = list(project["dependencies"])
    for extra in ("book", "test", "dev"):
        reqs += project["optional-dependencies"][extra]
    return {_normalise(r) for r in reqs}


def _environment_pip_requirements() -> set[str]:
    """The entries of the `- pip:` list in environment.yml (a tiny parser: no PyYAML needed)."""
    lines = (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()
    reqs, in_pip, pip_indent = [], False, 0
    for line in lines:
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped.strip():
            continue
        indent = len(stripped) - len(stripped.lstrip())
        if re.match(r"^\s*-\s*pip:\s*$", stripped):
            in_pip, pip_indent = True, indent
            continue
        if in_pip:
            if indent <= pip_indent:
                in_pip = False
                continue
            reqs.append(stripped.strip()[1:].strip())
    return {_normalise(r) for r in reqs if not r.startswith("-e")}


def _normalise(req: str) -> str:
    name, _, spec = re.match(r"^([A-Za-z0-9_.\-]+)(\[.*\])?(.*)$", req.strip()).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + (spec or "").replace(" ", "")


def test_environment_yml_matches_pyproject():
    in_pyproject, in_env = _pyproject_requirements(), _environment_pip_requirements()
    assert in_env, "found no pip requirements in environment.yml"
    assert in_pyproject == in_env, (
        f"only in pyproject.toml: {sorted(in_pyproject - in_env)}; "
        f"only in environment.yml: {sorted(in_env - in_pyproject)}"
    )


def test_environment_yml_installs_vi_lib_itself():
    assert re.search(r"^\s*-\s*-e\s+\.\s*$", (ROOT / "environment.yml").read_text(), re.M), (
        "environment.yml must install vi_lib (`- -e .` in its pip list) so chapters can import it"
    )


def test_normalise_catches_a_changed_specifier():
    # The comparison is on name AND specifier: a bumped lower bound on one side is drift.
    assert _normalise("Torch >= 2.2") == "torch>=2.2"
    assert _normalise("torch>=2.2") != _normalise("torch>=2.3")
    assert _normalise("sphinx_proof>=0.2") == _normalise("sphinx-proof>=0.2")
