"""Sphinx extension: chapter pages' download and launch buttons serve the reader notebook.

sphinx-book-theme builds its header buttons in ``html-page-context`` handlers at priority 501
(``add_launch_buttons``, ``add_header_buttons``), from the page's own source file: for a chapter,
the MyST notebook ``chapters/<name>.ipynb``. This handler runs after them and, for pages that have
a reader notebook ``reader/<name>.ipynb`` (tools/export_reader_notebooks.py), points

* the Binder and Colab buttons at ``reader/<name>.ipynb`` in the repository, and
* the ".ipynb" download button at a copy of the reader notebook in the HTML output
  (``_build/html/reader/<name>.ipynb``), keeping the MyST source as a second download entry.

It works on the theme's button data, not on its HTML, and warns (an error under ``-W``) when the
buttons do not look as expected, so a theme upgrade that changes them fails the book build
instead of silently serving the MyST file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
READER_DIR = "reader"


def _reader_notebook(app, pagename: str) -> Path | None:
    source = Path(app.env.doc2path(pagename))
    if source.suffix != ".ipynb":
        return None
    return Path(app.srcdir) / READER_DIR / f"{Path(pagename).name}.ipynb"


def point_buttons_at_reader(app, pagename, templatename, context, doctree) -> None:
    reader = _reader_notebook(app, pagename)
    if reader is None:
        return
    if not reader.exists():
        LOGGER.warning(f"{pagename}: no reader notebook {reader.relative_to(app.srcdir)} "
                       "(run tools/export_reader_notebooks.py)")
        return
    theme = app.config.html_theme_options or {}
    book_relpath = theme.get("path_to_docs", "").strip("/")
    source_rel = f"{book_relpath}/{pagename}.ipynb" if book_relpath else f"{pagename}.ipynb"
    reader_rel = f"{READER_DIR}/{reader.name}"  # repository-relative: reader/ is at the top level
    launch = download = False
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if button.get("type") != "link":
                    continue
                if source_rel not in button["url"]:
                    LOGGER.warning(f"{pagename}: launch button {button.get('text')!r} does not name "
                                   f"{source_rel}: {button['url']}")
                    continue
                button["url"] = button["url"].replace(source_rel, reader_rel)
                launch = True
        if group.get("label") == "download-buttons":
            buttons = group.get("buttons", [])
            for i, button in enumerate(buttons):
                if button.get("label") == "download-source-button":
                    myst = dict(button, text=".ipynb (MyST source)", label="download-myst-source-button",
                                tooltip="Download the chapter's MyST source (renders with jupyterlab-myst)")
                    button.update(url=context["pathto"](reader_rel, 1), text=".ipynb",
                                  tooltip="Download the notebook (plain Jupyter Markdown, runs anywhere)")
                    buttons.insert(i + 1, myst)
                    download = True
                    break
    if not (launch and download):
        LOGGER.warning(f"{pagename}: found no {'launch' if not launch else 'download'} button to point at "
                       f"{reader_rel} (did sphinx-book-theme change its header buttons?)")


def copy_reader_notebooks(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.srcdir) / READER_DIR
    if source.is_dir():
        target = Path(app.outdir) / READER_DIR
        target.mkdir(parents=True, exist_ok=True)
        for notebook in sorted(source.glob("*.ipynb")):
            shutil.copy2(notebook, target / notebook.name)


def setup(app):
    # After sphinx-book-theme's handlers (priority 501), which create the buttons.
    app.connect("html-page-context", point_buttons_at_reader, priority=900)
    app.connect("build-finished", copy_reader_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
