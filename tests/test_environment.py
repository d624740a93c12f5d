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


# --- binder/requirements.txt: the lean Binder/reader environment ---------------------------------

BINDER = ROOT / "binder" / "requirements.txt"
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def _binder_lines() -> list[str]:
    lines = (BINDER.read_text(encoding="utf-8")).splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def test_binder_requirements_are_the_runtime_dependencies():
    """Binder installs what the chapters import, with the same specifiers as pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {_normalise(r) for r in project["dependencies"]}
    reqs = {_normalise(ln) for ln in _binder_lines() if not ln.startswith("-") and ln != "."}
    assert runtime <= reqs, f"missing from binder/requirements.txt: {sorted(runtime - reqs)}"
    assert reqs - runtime == {_normalise("jupyterlab-myst>=2.0")}, (
        f"binder/requirements.txt should add only jupyterlab-myst to the runtime dependencies: {sorted(reqs - runtime)}"
    )


def test_binder_is_lean_cpu_torch_and_no_build_or_test_tools():
    lines = _binder_lines()
    assert CPU_INDEX in lines, "binder/requirements.txt must take torch from the CPU index (not the CUDA build)"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    def name(req: str) -> str:
        return re.split(r"[<>=!~]", _normalise(req))[0]

    tooling = {name(r) for extra in ("book", "test") for r in project["optional-dependencies"][extra]}
    named = {name(ln) for ln in lines if not ln.startswith("-") and ln != "."}
    assert not named & tooling, f"binder/requirements.txt names book/test tooling: {sorted(named & tooling)}"
    assert "." in lines, "binder/requirements.txt must install vi_lib itself (a `.` line)"
    assert (ROOT / "environment.yml").exists(), "the top-level environment.yml stays (the user's layout)"


# --- requirements/lock.txt: the exact versions `make` installs (`make lock` regenerates it) -------

LOCK = ROOT / "requirements" / "lock.txt"


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"requirements/lock.txt: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version.split(";")[0].strip()
    return pins


def test_lock_pins_every_pyproject_requirement_within_its_specifier():
    """Every dependency of pyproject.toml (hence of environment.yml) is pinned in the lock at a
    version its specifier admits; torch, installed first by TORCH_SPEC, must admit TORCH_VERSION."""
    from packaging.requirements import Requirement

    pins = _lock_pins()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    torch_version = re.search(r"^TORCH_VERSION \?= (\S+)", makefile, re.M).group(1)
    problems = []
    for req in map(Requirement, _pyproject_requirements()):
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        version = torch_version if name == "torch" else pins.get(name)
        if version is None:
            problems.append(f"{name}: not in requirements/lock.txt")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{name}: locked {version} is outside {req.specifier}")
    assert not problems, "run `make lock` and commit requirements/lock.txt:\n" + "\n".join(problems)


def test_lock_is_made_by_make_lock_and_has_no_cuda_wheels():
    text = LOCK.read_text(encoding="utf-8")
    assert "#    make lock" in text.splitlines()[1], "the lock's header should name its refresh command, `make lock`"
    pins = _lock_pins()
    assert "torch" not in pins, "torch is installed by TORCH_SPEC, not from the lock"
    cuda = sorted(n for n in pins if n.startswith("nvidia-") or n == "triton")
    assert not cuda, f"the lock pins CUDA wheels {cuda}: `make lock` must resolve torch's CPU build"
    assert {"filelock", "sympy", "networkx"} <= set(pins), "torch's own dependencies should be pinned"
