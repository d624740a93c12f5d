"""Sphinx extension: drop repeated inline ``<script>`` blocks from each page.

Sphinx 7.x registers an inline script added after ``builder-inited`` twice: once in the builder
(``filename=None``) and again from the registry when pages are written (``filename=''``), and the
two do not compare equal. sphinx-thebe 0.3.1 adds ``const THEBE_JS_URL = ...`` that way, so every
page declared it twice and logged "Identifier 'THEBE_JS_URL' has already been declared"
(sphinx-togglebutton's inline script was doubled too, harmlessly, being a ``var``).
Jupyter Book 1.x pins Sphinx 7, so the book removes the duplicates itself; loaded from
``_config.yml`` (``sphinx: local_extensions``).
"""

from __future__ import annotations

from typing import Any


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for js in scripts:
        attrs = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", getattr(js, "priority", None), tuple(sorted(attrs.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


def setup(app: Any) -> dict:
    # Late priority: run after the themes have filled in the page's script list.
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
