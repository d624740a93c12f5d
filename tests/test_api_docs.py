"""The public API is documented: docstrings exist, link back to a chapter, and appear in the API appendix."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import vi_lib

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = (ROOT / "chapters" / "appendix" / "api.md").read_text(encoding="utf-8")
CORE_MODULES = {"vi_lib._validation", "vi_lib.book.display", "vi_lib.book.plotting", "vi_lib.book.repro"}
PUBLIC = [(name, getattr(vi_lib, name)) for name in vi_lib.__all__]
CALLABLES = [(n, o) for n, o in PUBLIC if inspect.isfunction(o) or inspect.isclass(o)]
# Book-wide utilities (validation, display, plotting, reproducibility) are not tied to one chapter.
CHAPTER_CALLABLES = [(n, o) for n, o in CALLABLES if o.__module__ not in CORE_MODULES]


def test_all_is_unique():
    assert len(vi_lib.__all__) == len(set(vi_lib.__all__))


@pytest.mark.parametrize("name, obj", CALLABLES, ids=[n for n, _ in CALLABLES])
def test_public_callable_has_docstring(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc) > 40, f"vi_lib.{name} needs a real docstring"


def test_core_modules_exist_and_are_few():
    """The exemption list names real modules, and most public callables are chapter code."""
    assert all(__import__(m, fromlist=["_"]) for m in CORE_MODULES)
    assert len(CHAPTER_CALLABLES) > 0.8 * len(CALLABLES)


@pytest.mark.parametrize("name, obj", CHAPTER_CALLABLES, ids=[n for n, _ in CHAPTER_CALLABLES])
def test_chapter_code_links_back_to_its_chapter(name, obj):
    module = obj.__module__
    doc = inspect.getdoc(obj) or ""
    module_doc = inspect.getdoc(__import__(module, fromlist=["_"])) or ""
    chapters = re.findall(r"chapters/([a-z_]+)\.ipynb", doc + module_doc)
    assert chapters, f"vi_lib.{name}: docstring (or its module's) must name the chapter that explains it"
    for chapter in chapters:
        assert (ROOT / "chapters" / f"{chapter}.ipynb").exists(), f"vi_lib.{name} links to missing {chapter}"


@pytest.mark.parametrize("name", vi_lib.__all__)
def test_public_name_is_in_the_api_appendix(name):
    """Either named explicitly (``vi_lib.name``) or its whole module is rendered with automodule."""
    module = getattr(getattr(vi_lib, name), "__module__", None)
    explicit = re.search(rf"\bvi_lib\.{re.escape(name)}\b", API_PAGE)
    by_module = module and re.search(rf"automodule:: {re.escape(module)}\s*$", API_PAGE, re.M)
    assert explicit or by_module, f"vi_lib.{name} is public but not documented in chapters/appendix/api.md"
