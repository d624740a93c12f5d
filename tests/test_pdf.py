"""The whole book as one PDF (``make pdf``): it builds, and reading it back finds the whole book.

The build is the one ``make pdf`` runs (Jupyter Book's LaTeX route, xelatex), into a temporary
folder. Then, with pypdf's text extractor: every title of _toc.yml is in the PDF's outline and text,
every glossary term (English and Chinese) is in the glossary's pages, no "??" or undefined
reference or citation is left (text and LaTeX log), each numbered chapter's equations carry its
number as on the site ("(3.1)"), every figure of the chapters is embedded, and the page count is in
a sane range for the number of documents. Titles and terms come from the sources
(tools/book_sources.py), so new chapters and terms are covered when they are merged.

TeX Live comes from Debian (``make latex``, run by ``make test``). Without it this module skips,
naming what to install, except in CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from book_sources import MATH, chapter_docnames, doc_title, glossary_terms, toc_docnames  # noqa: E402

PDF_NAME = "the-vi-book.pdf"


def _latex_or_skip() -> None:
    missing = [tool for tool in ("xelatex", "latexmk", "kpsewhich") if shutil.which(tool) is None]
    if not missing:
        probe = subprocess.run(["kpsewhich", "xeCJK.sty"], capture_output=True, text=True)
        missing += [] if probe.stdout.strip() else ["xeCJK.sty"]
    if missing:
        message = (f"TeX Live for the PDF is missing ({', '.join(missing)}): run `make latex` as root "
                   "(Debian packages, see tools/ensure_latex.sh)")
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must build the PDF")
        pytest.skip(message)


class Built:
    def __init__(self, pdf: Path, log: str, seconds: float) -> None:
        from pypdf import PdfReader

        self.pdf, self.log, self.seconds = pdf, log, seconds
        self.reader = PdfReader(pdf)
        self.pages = [page.extract_text() or "" for page in self.reader.pages]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    _latex_or_skip()
    out = tmp_path_factory.mktemp("pdf")
    jb = Path(sys.executable).with_name("jupyter-book")
    start = time.perf_counter()
    proc = subprocess.run([str(jb), "build", str(ROOT), "--builder", "pdflatex", "--path-output", str(out)],
                          capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    pdf = out / "_build" / "latex" / PDF_NAME
    assert proc.returncode == 0 and pdf.exists(), f"PDF build failed (exit {proc.returncode}):\n{log[-5000:]}"
    warnings = [ln for ln in log.splitlines() if re.search(r"WARNING|ERROR", ln)]
    assert not warnings, "Sphinx warnings in the LaTeX build:\n" + "\n".join(warnings[:50])
    latex_log = (pdf.with_suffix(".log")).read_text(encoding="utf-8", errors="replace")
    built = Built(pdf, latex_log, seconds)
    print(f"\nPDF: {len(built.pages)} pages, built in {seconds:.0f} s")
    return built


def normalise(text: str) -> str:
    """Compare text as typeset: NFKC (ligatures), typographic quotes as ASCII, no whitespace or
    hyphens (line breaks and hyphenation differ between the source and the page)."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                                         "\u2010": "-", "\u2011": "-", "\u00ad": ""}))
    return re.sub(r"[\s\-]+", "", text)


def _outline(reader) -> list[tuple[str, int, int]]:
    """(title, depth, page index) of every PDF bookmark, in order."""
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((item.title, depth, reader.get_destination_page_number(item)))
    walk(reader.outline, 0)
    return found


def test_every_toc_title_is_in_the_outline_and_text(built: Built):
    outline = {normalise(title) for title, _, _ in _outline(built.reader)}
    text = normalise("".join(built.pages))
    missing = []
    for docname in toc_docnames():
        if docname == "index":
            continue
        title = normalise(doc_title(docname))
        if title not in outline:
            missing.append(f"{docname}: {doc_title(docname)!r} not in the PDF outline")
        if title not in text:
            missing.append(f"{docname}: {doc_title(docname)!r} not in the PDF text")
    assert not missing, "\n".join(missing)


def _glossary_pages(built: Built) -> str:
    """The text of the glossary appendix: from its outline entry to the next top-level entry."""
    entries = _outline(built.reader)
    title = normalise(doc_title("chapters/appendix/glossary"))
    index = next(i for i, (t, _, _) in enumerate(entries) if normalise(t) == title)
    _, depth, start = entries[index]
    after = [page for _, d, page in entries[index + 1:] if d <= depth]
    end = after[0] if after else len(built.pages) - 1
    return "".join(built.pages[start:end + 1])


def test_every_glossary_term_english_and_chinese_is_in_the_glossary(built: Built):
    terms = glossary_terms()
    assert len(terms) > 20, "found too few glossary terms: check the table format of glossary.md"
    text = normalise(_glossary_pages(built))
    missing = [f"{en} / {zh}" for en, zh in terms for term in (en, zh)
               for part in term.split(MATH) if normalise(part) not in text]
    assert not missing, "glossary terms missing from the PDF's glossary:\n" + "\n".join(missing)
    assert re.search(r"[\u4e00-\u9fff]", text), "no Chinese characters in the PDF's glossary"


def test_no_unresolved_references_or_citations(built: Built):
    text = "\n".join(built.pages)
    where = [f"page {i + 1}: ...{page[max(0, page.find('??') - 60):page.find('??') + 20]!r}"
             for i, page in enumerate(built.pages) if "??" in page]
    assert not where, "'??' in the PDF (an unresolved reference):\n" + "\n".join(where[:20])
    undefined = re.findall(r"(?:Reference|Citation|Hyper reference) `[^']*' on page \d+ undefined", built.log)
    assert not undefined, "undefined references in the LaTeX log:\n" + "\n".join(sorted(set(undefined))[:30])
    assert "There were undefined references" not in built.log
    assert "Rerun to get cross-references right" not in built.log, "latexmk stopped before references settled"
    assert not re.search(r"\[\?\]|\(\?\)", text), "an unresolved citation ([?]) in the PDF"


def test_equations_are_numbered_per_chapter_as_on_the_site(built: Built):
    text = normalise("".join(built.pages))
    missing = []
    for number, docname in enumerate(chapter_docnames(), start=1):
        notebook = (ROOT / f"{docname}.ipynb").read_text(encoding="utf-8")
        if re.search(r"\$\$\s*\(eq-[^)]+\)", notebook):
            if f"({number}.1)" not in text:
                missing.append(f"{docname}: no equation ({number}.1)")
    assert not missing, "\n".join(missing)


def test_every_chapter_figure_is_embedded(built: Built):
    figures = 0
    for docname in chapter_docnames():
        cells = json.loads((ROOT / f"{docname}.ipynb").read_text(encoding="utf-8"))["cells"]
        figures += sum("image/png" in out.get("data", {}) for c in cells if c["cell_type"] == "code"
                       for out in c.get("outputs", []))
    images = set()
    for page in built.reader.pages:
        xobjects = page.get("/Resources", {}).get("/XObject", {}) or {}
        for name, ref in xobjects.items():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                images.add(getattr(ref, "idnum", name))
    assert figures > 0
    assert len(images) >= figures, f"{len(images)} images embedded in the PDF, the chapters have {figures} figures"


def test_page_count_is_sane(built: Built):
    documents, chapters = len(toc_docnames()), len(chapter_docnames())
    pages = len(built.pages)
    # Measured: 330 pages for 7 chapters and 14 appendix pages. Far below means chapters went
    # missing; far above, a runaway output or a broken layout.
    assert 10 * chapters <= pages <= 60 * documents, f"{pages} pages for {documents} documents"
