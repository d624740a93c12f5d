"""What the book contains, read from its sources: _toc.yml, the chapters, the glossary.

The PDF test, the execution report and the reader-notebook exporter derive chapter lists, titles
and glossary terms from here, never from a hard-coded list, so a chapter or glossary term added on
another branch is covered as soon as it is merged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = Path("chapters/appendix/glossary.md")


def toc_docnames(root: Path = ROOT) -> list[str]:
    """Every document in _toc.yml, in book order (``chapters/elbo``, ``chapters/appendix/api/models``)."""
    return re.findall(r"file:\s*(\S+)", (root / "_toc.yml").read_text(encoding="utf-8"))


def chapter_docnames(root: Path = ROOT) -> list[str]:
    """Chapter notebooks in book order (appendix pages are Markdown)."""
    return [d for d in toc_docnames(root) if (root / f"{d}.ipynb").exists()]


def _markdown_of(root: Path, docname: str) -> str:
    ipynb, md = root / f"{docname}.ipynb", root / f"{docname}.md"
    if ipynb.exists():
        cells = json.loads(ipynb.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return md.read_text(encoding="utf-8")


MATH = "\u2026"  # stands for inline math in glossary terms ("split-$\\hat R$" -> "split-…")


def plain_text(markdown: str, math: str = " ") -> str:
    """Markdown inline text as a reader sees it: no code ticks, emphasis marks or inline math
    (each replaced by ``math``)."""
    text = re.sub(r"\$[^$]*\$", math, markdown)
    text = re.sub(r"\{[\w:-]+\}`([^`]*)`", r"\1", text)  # {doc}`x` -> x
    return re.sub(r"[`*]", "", text).strip()


def doc_title(docname: str, root: Path = ROOT) -> str:
    """The ``#`` heading of a document (notebook or Markdown), as plain text."""
    for line in _markdown_of(root, docname).splitlines():
        if line.startswith("# "):
            return plain_text(line[2:])
    raise ValueError(f"{docname} has no '# ' title")


def glossary_terms(root: Path = ROOT) -> list[tuple[str, str]]:
    """(English, Chinese) for every row of every table in the glossary; inline math is replaced by
    ``MATH`` (the text around it is what a PDF's text layer shows reliably)."""
    terms = []
    for line in (root / GLOSSARY).read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if len(cells) < 2 or set(cells[0]) <= set("-: ") or cells[0] == "English":
            continue
        terms.append((plain_text(cells[0], MATH), plain_text(cells[1], MATH)))
    return terms
