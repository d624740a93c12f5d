"""The book builds with warnings as errors, and every rendered page is sound in a real browser.

The build uses the committed notebook outputs (execute_notebooks: off). The browser check loads
each page in headless Chromium at 1280 px and fails on console errors, MathJax errors, raw
unrendered TeX, display equations wider than the text column, cell outputs, code blocks or tables
wider than their box, figures scaled below 0.9 of their natural width (their text would shrink
with them), and images that do not load; a static pass checks every internal link and anchor.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
MATHJAX = ROOT / "tools" / "mathjax" / "node_modules" / "mathjax" / "es5" / "tex-chtml.js"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
# A laptop-sized window: every display equation must fit the text column at this width.
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def built_html(tmp_path_factory) -> Path:
    assert MATHJAX.exists(), f"{MATHJAX} is missing: run `make mathjax` (npm install of MathJax 3)"
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, timeout=1800,
    )
    log = proc.stdout + proc.stderr
    warnings = [ln for ln in log.splitlines() if re.search(r"WARNING|ERROR", ln)]
    assert proc.returncode == 0 and not warnings, (
        f"book build failed (exit {proc.returncode}); warnings/errors:\n" + "\n".join(warnings[:50])
        + "\n--- tail of log ---\n" + log[-3000:]
    )
    html = out / "_build" / "html"
    assert (html / "index.html").exists()
    return html


def _pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def test_build_succeeds_without_warnings(built_html: Path):
    names = {p.relative_to(built_html).as_posix() for p in _pages(built_html)}
    toc = (ROOT / "_toc.yml").read_text()
    for entry in re.findall(r"file:\s*(\S+)", toc):
        assert f"{entry}.html" in names, f"{entry} from _toc.yml was not built"
    assert (built_html / "_static" / "es5" / "tex-chtml.js").exists(), "MathJax was not copied into _static"


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("img", "script") and a.get("src"):
            self.links.append(a["src"])
        if tag == "link" and a.get("href"):
            self.links.append(a["href"])


@functools.cache
def _parse(path: Path) -> _LinkParser:
    parser = _LinkParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_internal_links_and_anchors_resolve(built_html: Path):
    broken = []
    for page in _pages(built_html):
        for href in _parse(page).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(built_html)}: {href} (missing file)")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in _parse(target).ids:
                    broken.append(f"{page.relative_to(built_html)}: {href} (missing anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken))[:100])


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def chromium_or_skip() -> str:
    """The Chromium binary; without one the calling test skips, except in CI, where it fails."""
    chromium = _chromium()
    if chromium is None:
        message = ("headless Chromium not found: install the Debian package `chromium` "
                   "(`make browser` does it as root) or set CHROMIUM_PATH")
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must run this check")
        pytest.skip(message)
    return chromium


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serve ``directory`` on a free loopback port for the duration of the block; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def server(built_html: Path):
    with serve_directory(built_html) as url:
        yield url


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


# Runs inside each page once MathJax has finished typesetting.
_PAGE_CHECK_JS = r"""
async () => {
  const out = {mathjax: null, errors: [], rawTex: [], badImages: [], wideMath: [], wideOutput: [], wideCode: [],
               wideTables: [], smallImages: []};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
    out.mathjax = MathJax.version;
  }
  document.querySelectorAll('mjx-merror, [data-mjx-error]').forEach(e => {
    out.errors.push((e.getAttribute('data-mjx-error') || e.textContent || '').slice(0, 200));
  });
  const article = document.querySelector('article') || document.body;
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, mjx-container, script, style, .cell_output, .output, textarea')
       .forEach(e => e.remove());
  const text = clone.textContent;
  for (const pat of ['\\(', '\\[', '$$', '\\begin{', '\\frac', '\\mathbb', '\\KL']) {
    const i = text.indexOf(pat);
    if (i >= 0) out.rawTex.push(text.slice(Math.max(0, i - 60), i + 60));
  }
  // A display equation wider than the text column is cut off or needs sideways scrolling: either the
  // formula itself is wider than the column, or the formula with its equation number overflows its
  // container (which then shows a scroll bar).
  document.querySelectorAll('mjx-container[display="true"]').forEach(e => {
    const m = e.querySelector('mjx-math');
    const box = e.closest('.math') || e.parentElement;
    if (!m || !box) return;
    const width = Math.max(m.getBoundingClientRect().width, e.scrollWidth);
    const room = Math.min(box.clientWidth, e.clientWidth);
    if (width > room + 1) {
      const item = MathJax.startup.document.getMathItemsWithin(e)[0];
      out.wideMath.push(Math.round(width) + 'px > ' + room + 'px: '
                        + (item ? item.math : e.textContent).trim().slice(0, 100));
    }
  });
  // A printed output line wider than its box is cut off behind a sideways scroll bar; keep output
  // lines short (outputs carry the numbers the prose quotes).
  document.querySelectorAll('.cell_output pre').forEach(e => {
    if (e.scrollWidth > e.clientWidth + 1) {
      const longest = e.textContent.split('\n').reduce((a, b) => (a.length >= b.length ? a : b), '');
      out.wideOutput.push(e.scrollWidth + 'px > ' + e.clientWidth + 'px: ' + longest.trim().slice(0, 100));
    }
  });
  // Code wider than its box hides the ends of lines behind a sideways scroll bar: wrap chapter code
  // to the column (about 76 characters at 1280 px).
  document.querySelectorAll('pre').forEach(e => {
    if (e.closest('.cell_output') || e.scrollWidth <= e.clientWidth + 1) return;
    const longest = e.textContent.split('\n').reduce((a, b) => (a.length >= b.length ? a : b), '');
    out.wideCode.push(e.scrollWidth + 'px > ' + e.clientWidth + 'px (' + longest.length + ' characters): '
                      + longest.trim().slice(0, 100));
  });
  // A table wider than the column scrolls sideways inside its container and clips its last column.
  // (The theme wraps each content table in a scrolling container. Sphinx's generated general index,
  // table.indextable, is a two-column layout of API names, not content, and is left out.)
  document.querySelectorAll('article table:not(.indextable)').forEach(t => {
    const box = t.closest('.pst-scrollable-table-container');
    const width = t.getBoundingClientRect().width;
    if (width > article.clientWidth + 1 || (box && box.scrollWidth > box.clientWidth + 1)) {
      out.wideTables.push(Math.round(width) + 'px > ' + (box || article).clientWidth + 'px: '
                          + (t.querySelector('tr') || t).textContent.trim().replace(/\s+/g, ' ').slice(0, 80));
    }
  });
  for (const img of Array.from(document.images)) {
    img.loading = 'eager';
    try { await img.decode(); } catch (e) { }
    if (!(img.complete && img.naturalWidth > 0)) { out.badImages.push(img.getAttribute('src')); continue; }
    // A figure scaled below 0.9 of its natural width shrinks its text with it (10-pt labels at
    // 100 dpi are 14 px; below 0.9 they head for the 7 px seen before the figures were resized).
    // Hidden images (clientWidth 0, e.g. launch-button logos in a closed menu) are not figures.
    if (img.clientWidth > 0 && img.clientWidth < 0.9 * img.naturalWidth) {
      out.smallImages.push(img.getAttribute('src').split('/').pop() + ' shown at ' + img.clientWidth + ' of '
                           + img.naturalWidth + ' px (' + (img.clientWidth / img.naturalWidth).toFixed(2) + ')');
    }
  }
  return out;
}
"""


def test_rendered_pages_in_headless_chromium(built_html: Path, server: str):
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    problems = []
    math_pages = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        console: list[str] = []
        # No allow-list: every console error so far was ours to fix (Thebe's doubled inline script,
        # the theme's unset default mode, a missing favicon).
        page.on("console", lambda msg: console.append(f"{msg.text} ({msg.location.get('url', '')})")
                if msg.type == "error" else None)
        page.on("pageerror", lambda exc: console.append(f"uncaught: {exc}"))
        for path in _pages(built_html):
            rel = path.relative_to(built_html).as_posix()
            console.clear()
            page.goto(urljoin(server, rel), wait_until="load", timeout=60_000)
            result = page.evaluate(_PAGE_CHECK_JS)
            for text in console:
                problems.append(f"{rel}: console error: {text[:200]}")
            if result["mathjax"] is not None:
                math_pages += 1
            for err in result["errors"]:
                problems.append(f"{rel}: MathJax error: {err}")
            for raw in result["rawTex"]:
                problems.append(f"{rel}: raw TeX left unrendered near: {raw!r}")
            for wide in result["wideMath"]:
                problems.append(f"{rel}: display math wider than the text column at {VIEWPORT['width']} px: {wide}")
            for wide in result["wideOutput"]:
                problems.append(f"{rel}: cell output wider than its box at {VIEWPORT['width']} px: {wide}")
            for wide in result["wideCode"]:
                problems.append(f"{rel}: code block wider than its box at {VIEWPORT['width']} px: {wide}")
            for wide in result["wideTables"]:
                problems.append(f"{rel}: table wider than the text column at {VIEWPORT['width']} px: {wide}")
            for small in result["smallImages"]:
                problems.append(f"{rel}: figure scaled below 0.9 of its natural width (text too small): {small}")
            for src in result["badImages"]:
                problems.append(f"{rel}: image did not load: {src}")
        browser.close()
    assert math_pages > 0, "MathJax did not load on any page (check mathjax_path and html_static_path)"
    assert not problems, "\n".join(problems[:100])


# --- The vi_lib API pages (chapters/appendix/api/*.html) -------------------------------------------

def _api_pages(html: Path) -> list[Path]:
    pages = sorted((html / "chapters" / "appendix" / "api").glob("*.html"))
    assert len(pages) >= 8, "the API reference should be one page per module group"
    return pages


def _article_text(page: Path) -> str:
    source = page.read_text(encoding="utf-8")
    article = source[source.find("<article"):source.rfind("</article>")]
    return unescape(re.sub(r"<[^>]+>", " ", article))


def test_api_pages_document_every_public_name(built_html: Path):
    """Each name of vi_lib.__all__ has an entry (an anchor ``vi_lib.<module>.<name>``) and a summary-table row."""
    import vi_lib

    ids: set[str] = set()
    table_links: set[str] = set()
    for page in _api_pages(built_html):
        ids |= _parse(page).ids
        source = page.read_text(encoding="utf-8")
        for table in re.findall(r'<table class="[^"]*autosummary.*?</table>', source, re.S):
            table_links |= set(re.findall(r'href="#([^"]+)"', table))
    missing = []
    for name in vi_lib.__all__:
        anchors = {i for i in ids if i.startswith("vi_lib.") and i.rsplit(".", 1)[-1] == name}
        if not anchors:
            missing.append(f"{name}: no entry")
        elif not anchors & table_links:
            missing.append(f"{name}: not in a summary table")
    assert not missing, "public names missing from the built API pages:\n" + "\n".join(missing)


def test_api_pages_link_to_chapters_that_exist(built_html: Path):
    chapters = set()
    for page in _api_pages(built_html):
        for href in _parse(page).links:
            parts = urlsplit(href)
            if parts.scheme or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            if target.parent == (built_html / "chapters").resolve():
                assert target.exists(), f"{page.name}: chapter link {href} does not resolve"
                chapters.add(target.name)
        assert ".ipynb" not in _article_text(page), f"{page.name}: a chapter path left as text (not a link)"
    book_chapters = {p.stem + ".html" for p in (ROOT / "chapters").glob("*.ipynb")}
    assert chapters == book_chapters, f"API pages link to {sorted(chapters)}, chapters are {sorted(book_chapters)}"


def test_api_pages_have_no_raw_bibtex_keys_or_any_types(built_html: Path):
    keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", (ROOT / "references.bib").read_text(encoding="utf-8")))
    problems = []
    for page in [built_html / "chapters" / "appendix" / "api.html", *_api_pages(built_html)]:
        text = _article_text(page)
        raw = [k for k in sorted(keys) if re.search(rf"\b{re.escape(k)}\b", text)]
        problems += [f"{page.name}: raw BibTeX key {k}" for k in raw]
        if re.search(r"\(\s*Any\s*\)|:\s*Any\b", text):
            problems.append(f"{page.name}: a parameter typed Any")
    assert not problems, "\n".join(problems)


def test_chapter_buttons_serve_the_reader_notebook(built_html: Path):
    """Download, Binder and Colab buttons of each chapter open reader/<chapter>.ipynb (tools/reader_buttons.py)."""
    problems = []
    toc = re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())
    chapters = [d for d in toc if (ROOT / f"{d}.ipynb").exists()]
    assert chapters
    for docname in chapters:
        name = Path(docname).name
        page = built_html / f"{docname}.html"
        links = _parse(page).links
        download = [h for h in links if h.endswith(f"reader/{name}.ipynb") and not urlsplit(h).scheme]
        if not download or not (page.parent / download[0]).resolve().is_file():
            problems.append(f"{docname}: no download link to a copy of reader/{name}.ipynb")
        for host in ("mybinder.org", "colab.research.google.com"):
            launch = [h for h in links if host in h]
            if not launch or not all(f"reader/{name}.ipynb" in h for h in launch):
                problems.append(f"{docname}: {host} button does not open reader/{name}.ipynb: {launch}")
    assert not problems, "\n".join(problems)


# --- Publishing: the landing page's downloads, the execution report (tools/sphinx_ext/publishing.py)

def test_landing_page_links_the_reader_notebooks_zip(built_html: Path):
    import zipfile

    links = _parse(built_html / "index.html").links
    assert "downloads/reader-notebooks.zip" in links, "the landing page should link the reader notebooks' zip"
    with zipfile.ZipFile(built_html / "downloads" / "reader-notebooks.zip") as zf:
        names = sorted(Path(n).name for n in zf.namelist())
    assert names == sorted(p.name for p in (ROOT / "reader").glob("*.ipynb"))
    # The PDF is linked only when it was built first (`make site`); then the link must resolve.
    if "downloads/the-vi-book.pdf" in links:
        assert (built_html / "downloads" / "the-vi-book.pdf").is_file()


def test_execution_report_page_lists_every_chapter_with_its_time(built_html: Path):
    import json

    sys.path.insert(0, str(ROOT / "tools"))
    from book_sources import chapter_docnames, doc_title

    report = json.loads((ROOT / "chapters" / "appendix" / "execution_times.json").read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", _article_text(built_html / "chapters" / "appendix" / "execution.html"))
    text = text.replace("\u2019", "'")  # smart quotes: Bayes’ rule
    for docname in chapter_docnames():
        entry = report["chapters"][docname]
        row = f"{doc_title(docname)} {entry['seconds']:.0f} s {entry['date']}"
        assert row in text, f"execution report: no row {row!r}"
    assert f"ran on {report['last_full_run']['date']}" in text
