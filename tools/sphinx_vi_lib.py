"""Sphinx extension for the vi_lib API appendix (loaded by `_config.yml`, `sphinx: local_extensions`).

The docstrings stay plain text, readable in ``help()``; this extension turns them into links when the
book is built:

* ``Explained in Chapter: <title> (chapters/x.ipynb).`` (possibly wrapped over several lines) becomes
  a link to that chapter titled ``<title>``; any other ``chapters/x.ipynb`` becomes a link titled by
  the chapter itself. A chapter that does not exist is a build warning (an error under ``-W``).
* A numpydoc ``References`` section of bare BibTeX keys (``kingma2014autoencoding, burda2016importance``)
  becomes one parenthetical citation ``:cite:p:`...``` linked to the bibliography; a key that is not in
  the book's ``.bib`` files is a build warning.
* The directive ``vi-lib-summary`` writes a summary table of modules' public names: an autosummary
  (one line per name: the name, linked to its entry, and the first line of its docstring) of every
  name in each module's ``__all__``, so that the table cannot drift from the code.

        ```{eval-rst}
        .. vi-lib-summary:: vi_lib.models.conjugate vi_lib.models.gaussian
        ```
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.autosummary import Autosummary
from sphinx.util import logging

logger = logging.getLogger(__name__)

_CHAPTER_NOTE = re.compile(r"Explained in Chapters?:\s*(?P<title>.+?)\s*\(chapters/(?P<name>[a-z0-9_]+)\.ipynb\)",
                           re.S)
_CHAPTER_PATH = re.compile(r"(?<![/\w`<])chapters/(?P<name>[a-z0-9_]+)\.ipynb")
_SECTION_RULE = re.compile(r"^\s*-{3,}\s*$")
_ENTRY = re.compile(r"(?P<key>[A-Za-z][\w:-]*)(?:\s*\((?P<note>[^()]*)\))?")
_KEYS: dict = {}  # srcdir -> the BibTeX keys of that book
_BIB_KEY = re.compile(r"@\w+\s*\{\s*([^,\s]+)\s*,")


def bib_keys(app: Sphinx) -> set[str]:
    """Every entry key of the book's BibTeX files (``bibtex_bibfiles``)."""
    keys: set[str] = set()
    for name in app.config.bibtex_bibfiles:
        text = (Path(app.srcdir) / name).read_text(encoding="utf-8")
        keys.update(_BIB_KEY.findall(text))
    return keys


def _chapter_exists(app: Sphinx, name: str) -> bool:
    return any((Path(app.srcdir) / "chapters" / f"{name}{ext}").exists() for ext in (".ipynb", ".md"))


def _link_chapters(app: Sphinx, what_name: str, lines: list[str]) -> None:
    """Rewrite the chapter references of one docstring, in place (``lines`` keeps its indentation)."""
    i = 0
    while i < len(lines):
        start = lines[i].find("Explained in Chapter")
        if start >= 0:
            # The note may wrap: gather lines up to the one that closes ``(chapters/x.ipynb)``.
            end = i
            while end < len(lines) and ".ipynb)" not in lines[end] and lines[end].strip():
                end += 1
            if end < len(lines) and ".ipynb)" in lines[end]:
                text = " ".join(line.strip() for line in lines[i:end + 1])
                indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
                match = _CHAPTER_NOTE.search(text)
                if match:
                    name = match["name"]
                    if not _chapter_exists(app, name):
                        logger.warning(f"{what_name}: docstring names a missing chapter chapters/{name}.ipynb")
                    title = match["title"].replace("<", r"\<").replace("`", "")
                    text = text[: match.start()] + f"Explained in Chapter: :doc:`{title} </chapters/{name}>`" \
                        + text[match.end():]
                    lines[i:end + 1] = [indent + text]
        i += 1

    def link(match: re.Match) -> str:
        name = match["name"]
        if not _chapter_exists(app, name):
            logger.warning(f"{what_name}: docstring names a missing chapter chapters/{name}.ipynb")
        return f":doc:`/chapters/{name}`"

    for j, line in enumerate(lines):
        # Only outside ``literals`` (the odd-numbered pieces of a split on ``).
        pieces = line.split("``")
        lines[j] = "``".join(p if k % 2 else _CHAPTER_PATH.sub(link, p) for k, p in enumerate(pieces))


def _citation(text: str, keys: set[str], what_name: str, bibfiles) -> str | None:
    """``"a2001x, b2002y (Eq. 3)."`` -> ``":cite:p:`a2001x,b2002y{Eq. 3}`"``; None if not keys."""
    entries = [e for e in re.split(r"\s*[,;]\s*", text.strip().rstrip(".").strip()) if e]
    parsed = [_ENTRY.fullmatch(e) for e in entries]
    if not entries or not all(parsed):
        return None  # prose references (not bare keys) are left as written
    for m in parsed:
        if m["key"] not in keys:
            logger.warning(f"{what_name}: reference {m['key']!r} is not a key of {bibfiles}")
    targets = [m["key"] + (f"{{{m['note'].strip()}}}" if m["note"] else "") for m in parsed if m["key"] in keys]
    return f":cite:p:`{','.join(targets)}`" if targets else ""


def _cite_references(app: Sphinx, what_name: str, lines: list[str], keys: set[str]) -> None:
    """Turn a numpydoc ``References`` section of bare BibTeX keys into ``:cite:p:`` citations."""
    for i in range(len(lines) - 2):
        if lines[i].strip() != "References" or not _SECTION_RULE.match(lines[i + 1]):
            continue
        j = i + 2
        while j < len(lines) and lines[j].strip() and not (j + 1 < len(lines) and _SECTION_RULE.match(lines[j + 1])):
            j += 1
        if j == i + 2:
            continue
        indent = lines[i + 2][: len(lines[i + 2]) - len(lines[i + 2].lstrip())]
        cited = _citation(" ".join(line.strip() for line in lines[i + 2:j]), keys, what_name,
                          app.config.bibtex_bibfiles)
        if cited is not None:
            lines[i + 2:j] = [indent + cited]


def process_docstring(app: Sphinx, what: str, name: str, obj, options, lines: list[str]) -> None:
    """``autodoc-process-docstring`` handler; runs before napoleon (priority 400 < 500)."""
    if not name.startswith("vi_lib"):
        return
    if app.srcdir not in _KEYS:
        _KEYS[app.srcdir] = bib_keys(app)
    _link_chapters(app, name, lines)
    _cite_references(app, name, lines, _KEYS[app.srcdir])


class ModuleSummary(Autosummary):
    """``.. vi-lib-summary:: module [module ...]``: autosummary of every name in the modules' ``__all__``."""

    required_arguments = 1
    final_argument_whitespace = True

    def run(self):
        names = []
        for module_name in self.arguments[0].split():
            module = importlib.import_module(module_name)
            names += [f"~{module_name}.{name}" for name in module.__all__]
        self.content = StringList(names, source="vi-lib-summary")
        self.options.setdefault("nosignatures", True)
        return super().run()


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.connect("autodoc-process-docstring", process_docstring, priority=400)
    app.add_directive("vi-lib-summary", ModuleSummary)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
