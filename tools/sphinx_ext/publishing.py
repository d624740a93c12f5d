"""Sphinx extension: the landing page's downloads and the execution report appendix.

``{book-downloads}`` (on the landing page) lists the whole book as one PDF and a zip of the reader
notebooks. The zip is written into the HTML output (``downloads/reader-notebooks.zip``) when the
build finishes; the PDF is copied there from ``_build/latex/the-vi-book.pdf`` when ``make pdf`` has
built it (``make site`` builds the PDF first), and only then linked, so a build never has a dead
link. In the PDF itself both entries point at the online book (``html.baseurl``).

``{execution-report}`` renders ``chapters/appendix/execution_times.json``, which
``tools/execute_notebooks.py`` (``make execute``) writes: each chapter's run time, date and machine,
and the date of the last full run. Chapters come from _toc.yml, so a new chapter appears (as not
yet timed) as soon as it is in the book.

Loaded from ``_config.yml`` (``sphinx: local_extensions``).
"""

from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from book_sources import chapter_docnames, doc_title  # noqa: E402

PDF_NAME = "the-vi-book.pdf"
ZIP_NAME = "reader-notebooks.zip"
DOWNLOADS = "downloads"
REPORT = Path("chapters/appendix/execution_times.json")


def _pdf_source(app: Any) -> Path:
    return Path(app.srcdir) / "_build" / "latex" / PDF_NAME


class BookDownloads(SphinxDirective):
    """A bullet list: the PDF (when built) and the reader notebooks as one zip."""

    def run(self) -> list[nodes.Node]:
        app = self.env.app
        latex = app.builder.format == "latex"
        base = (app.config.html_baseurl.rstrip("/") + "/") if latex else "../" * self.env.docname.count("/")
        items = []
        if latex or _pdf_source(app).exists():
            self.env.note_dependency(str(_pdf_source(app)))
            items.append(("The whole book as one PDF", f"{base}{DOWNLOADS}/{PDF_NAME}", ""))
        items.append(("The reader notebooks", f"{base}{DOWNLOADS}/{ZIP_NAME}",
                      " (one zip: every chapter as a plain Jupyter notebook with its outputs)"))
        bullets = nodes.bullet_list()
        for text, uri, tail in items:
            para = nodes.paragraph()
            para += nodes.reference("", text, refuri=uri)
            para += nodes.Text(tail)
            bullets += nodes.list_item("", para)
        return [bullets]


def _write_downloads(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / DOWNLOADS
    out.mkdir(parents=True, exist_ok=True)
    readers = sorted((Path(app.srcdir) / "reader").glob("*.ipynb"))
    with zipfile.ZipFile(out / ZIP_NAME, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in readers:  # fixed timestamps: the same notebooks give the same zip
            info = zipfile.ZipInfo(f"the-vi-book-notebooks/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    if _pdf_source(app).exists():
        shutil.copyfile(_pdf_source(app), out / PDF_NAME)


def _always_reread_landing_page(app: Any, env: Any, added: set, changed: set, removed: set) -> list[str]:
    # Whether the PDF exists decides the landing page's list: read it again on every build.
    return [app.config.root_doc] if app.config.root_doc in env.found_docs else []


class ExecutionReport(SphinxDirective):
    """The table of chapter run times from chapters/appendix/execution_times.json."""

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.app.srcdir)
        path = root / REPORT
        self.env.note_dependency(str(path))
        report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        timed = report.get("chapters", {})
        lines = ["| Chapter | Run time | Executed on |", "| --- | --- | --- |"]
        machines = []
        for docname in chapter_docnames(root):
            entry = timed.get(docname)
            link = f"{{doc}}`{doc_title(docname, root)} </{docname}>`"
            if entry is None:
                lines.append(f"| {link} | not timed yet | run `python tools/execute_notebooks.py {docname}.ipynb` |")
                continue
            lines.append(f"| {link} | {entry['seconds']:.0f} s | {entry['date']} |")
            if entry["machine"] not in machines:
                machines.append(entry["machine"])
        full = report.get("last_full_run")
        lines.append("")
        if full:
            lines.append(f"The last full `make execute` ran on {full['date']} and took {full['seconds']:.0f} s "
                         f"for every chapter in turn, on: {full['machine']}.")
        else:
            lines.append("No full `make execute` has been recorded yet.")
        others = [m for m in machines if not full or m != full["machine"]]
        if others:
            lines += ["", "Chapters re-run on their own since then were timed on: " + "; ".join(others) + "."]
        container = nodes.container(classes=["execution-report"])
        self.state.nested_parse(StringList(lines, source=str(path)), self.content_offset, container)
        return [container]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("book-downloads", BookDownloads)
    app.add_directive("execution-report", ExecutionReport)
    app.connect("build-finished", _write_downloads)
    app.connect("env-get-outdated", _always_reread_landing_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
