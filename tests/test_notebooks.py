"""Structural checks on every chapter notebook (what nbval alone does not catch).

nbval compares only cells that were executed, so a notebook with stripped outputs passes it.
These tests make sure every stored output really came from one clean top-to-bottom run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")


def _code_cells(path: Path) -> list[dict]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _toc_files() -> set[str]:
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return set(re.findall(r"file:\s*(\S+)", text))


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebooks found under chapters/"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_code_cell_executed_in_order_without_errors(path: Path):
    cells = _code_cells(path)
    counts = [c.get("execution_count") for c in cells]
    missing = [i for i, n in enumerate(counts) if n is None]
    assert not missing, f"{path.name}: code cells {missing} have no execution count (run `make execute`)"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..{len(counts)}: the notebook was not run "
        "top to bottom in one fresh kernel (run `make execute`)"
    )
    errors = [i for i, c in enumerate(cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: code cells {errors} store an error output"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_calls_setup_notebook(path: Path):
    first = _source(_code_cells(path)[0])
    assert "setup_notebook(" in first, f"{path.name}: the first code cell must call vi_lib.setup_notebook()"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_unstable_cells_still_assert(path: Path):
    """A cell excluded from output comparison must still test something in-cell."""
    for i, cell in enumerate(_code_cells(path)):
        src = _source(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if src.lstrip().startswith(IGNORE_MARKERS) or {"nbval-ignore-output", "nbval-skip"} & set(tags):
            assert re.search(r"^\s*assert\b", src, re.M), (
                f"{path.name}: code cell {i} is excluded from nbval comparison but has no assert"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapters_define_no_reusable_code(path: Path):
    """Chapters import vi_lib; function and class definitions belong in the package."""
    for i, cell in enumerate(_code_cells(path)):
        assert not re.search(r"^\s*(def|class)\s", _source(cell), re.M), (
            f"{path.name}: code cell {i} defines a function or class; move it to vi_lib"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_the_toc(path: Path):
    rel = path.relative_to(ROOT).with_suffix("").as_posix()
    assert rel in _toc_files(), f"{rel} is not listed in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_kernelspec_is_python3(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3", f"{path.name}: kernelspec must be python3"


_EXERCISE = re.compile(r"^[`:]{3,}\{exercise(?:-start)?\}[^\n]*\n(?:[ \t]*:[^\n]*\n)*?[ \t]*:label:\s*(\S+)", re.M)
_SOLUTION = re.compile(r"^[`:]{3,}\{solution(?:-start)?\}\s*(\S+)", re.M)


def _markdown(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_exercise_pattern_sees_both_directive_forms():
    text = (
        "````{exercise}\n:label: ex-a\n\nQ\n````\n"
        "```{exercise-start}\n:class: x\n:label: ex-b\n```\n"
        "```{solution-start} ex-a\n:class: dropdown\n```\n````{solution} ex-b\nA\n````\n"
    )
    assert _EXERCISE.findall(text) == ["ex-a", "ex-b"]
    assert _SOLUTION.findall(text) == ["ex-a", "ex-b"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_exercise_has_exactly_one_solution(path: Path):
    text = _markdown(path)
    exercises, solutions = _EXERCISE.findall(text), _SOLUTION.findall(text)
    assert len(exercises) == len(set(exercises)), f"{path.name}: repeated exercise labels {exercises}"
    assert len(exercises) == text.count("{exercise}") + text.count("{exercise-start}"), (
        f"{path.name}: an exercise directive has no :label: (found labels {exercises})"
    )
    missing = [e for e in exercises if solutions.count(e) == 0]
    repeated = sorted({s for s in solutions if solutions.count(s) > 1})
    orphans = sorted(set(solutions) - set(exercises))
    assert not (missing or repeated or orphans), (
        f"{path.name}: exercises without a solution {missing}; exercises with more than one solution "
        f"{repeated}; solutions to no exercise in this chapter {orphans}"
    )


# The rendered code column is 684 px wide at the book's 1280 px viewport, about 77 monospace characters
# (tests/test_book.py measures it in Chromium); this catches an overlong line without building the book.
MAX_CODE_LINE = 76


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_code_lines_fit_the_column(path: Path):
    long_lines = [
        f"{len(line)} chars: {line}"
        for cell in _code_cells(path)
        for line in _source(cell).splitlines()
        if len(line) > MAX_CODE_LINE
    ]
    assert not long_lines, f"{path.name}: code lines longer than {MAX_CODE_LINE} characters:\n" + "\n".join(long_lines)
