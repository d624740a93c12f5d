"""Reader notebooks: each chapter as plain Jupyter Markdown, for readers outside the book.

The chapters (MyST notebooks under chapters/) stay the source of truth. This tool writes, for each
chapter in _toc.yml, a notebook with the same code cells and committed outputs whose Markdown any
front end renders without the book's Sphinx extensions or MathJax macros:

* admonitions (``:::{admonition} Title``, ``:::{note}``, ...) become block quotes with a bold title;
* ``{prf:theorem}``/``{prf:definition}``/``{prf:proof}`` become bold-labelled paragraphs with an
  ``<a id="label"></a>`` anchor; ``{exercise}`` becomes "**Exercise C.N.**" and ``{solution}`` a
  ``<details>`` block;
* ``{cite}``/``{cite:p}``/``{cite:t}`` become author-year text linked to a reference list that
  replaces ``{bibliography}`` (or is appended);
* ``{doc}`` becomes a link to the online book (``html.baseurl`` in _config.yml), ``{ref}``,
  ``{prf:ref}`` and ``{eq}`` links to anchors (in this notebook or on the online page);
* ``(label)=`` targets and ``$$ ... $$ (label)`` equation labels become anchors (equations also get
  ``\\tag{C.N}``);
* the book's MathJax macros (``sphinx.config.mathjax3_config.tex.macros``) are expanded.

Anything else written in MyST syntax is an error, so a new directive or role fails loudly here
(and in tests/test_reader_notebooks.py) until it has a rule.

The tool also owns the first code cell's install block (``--update-install-cells``): it installs
vi_lib where it cannot be imported, from the source that ``install_source`` derives from
_config.yml's ``repository`` (the one place to change).

    python tools/export_reader_notebooks.py                       # write reader/*.ipynb
    python tools/export_reader_notebooks.py --out _build/reader   # write elsewhere
    python tools/export_reader_notebooks.py --update-install-cells  # rewrite chapters' install blocks
"""

from __future__ import annotations

import argparse
import codecs
import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import latexcodec  # noqa: F401  (registers the "ulatex" codec used for author names)
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_sources import chapter_docnames  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
READER_DIR = ROOT / "reader"
ADMONITIONS = ("note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso")
PROOF_KINDS = ("theorem", "definition", "lemma", "proposition", "corollary", "example", "remark",
               "algorithm", "property", "observation", "assumption", "axiom", "conjecture",
               "criterion", "notation", "problem")


# --- configuration (everything comes from _config.yml and _toc.yml) ---------------------------

def load_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def book_base_url(config: dict) -> str:
    """The online book, `html.baseurl` in _config.yml (also Sphinx's html_baseurl)."""
    return config["html"]["baseurl"].rstrip("/") + "/"


def install_source(config: dict) -> str:
    """Where the install cell gets vi_lib: the repository of _config.yml, at its branch."""
    repo = config["repository"]
    return f"git+{repo['url'].rstrip('/')}@{repo.get('branch', 'main')}"


def install_block(source: str) -> str:
    """The chapters' first lines. Every line fits the book's 76-character code column (the URL is
    a variable, which IPython expands inside ``%pip``)."""
    return (
        "try:\n"
        "    import vi_lib\n"
        "except ImportError:  # Colab, bare Jupyter: install the companion package\n"
        f'    VI_LIB_SOURCE = "{source}"\n'
        '    %pip install --quiet "vi_lib @ {VI_LIB_SOURCE}"\n'
        "    import vi_lib\n"
    )


INSTALL_BLOCK_RE = re.compile(
    r"^try:\n    import vi_lib\nexcept ImportError:[^\n]*\n    VI_LIB_SOURCE = \"(?P<src>[^\"]+)\"\n"
    r"    %pip install --quiet \"vi_lib @ \{VI_LIB_SOURCE\}\"\n    import vi_lib\n",
    re.M,
)


def macros(config: dict) -> dict[str, str]:
    return dict(config["sphinx"]["config"]["mathjax3_config"]["tex"]["macros"])


def expand_macros(tex: str, table: dict[str, str]) -> str:
    """Replace each book macro by its definition, matching whole macro names only (\\KL, not \\KLx)."""
    if not table:
        return tex
    pattern = re.compile(r"\\(" + "|".join(sorted(map(re.escape, table), key=len, reverse=True)) + r")(?![A-Za-z])")
    return pattern.sub(lambda m: table[m.group(1)], tex)


def _read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _page_title(root: Path, docname: str) -> str:
    path = root / f"{docname}.ipynb"
    if path.exists():
        text = "\n".join(_source(c) for c in _read_nb(path)["cells"] if c["cell_type"] == "markdown")
    else:
        text = (root / f"{docname}.md").read_text(encoding="utf-8")
    m = re.search(r"^# (.+)$", text, re.M)
    return m.group(1).strip() if m else docname


# --- bibliography -------------------------------------------------------------------------------

class Bibliography:
    def __init__(self, path: Path):
        from pybtex.database import parse_file

        self.data = parse_file(str(path))

    def _last_names(self, key: str) -> list[str]:
        entry = self.data.entries[key]
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [codecs.decode(" ".join(p.prelast_names + p.last_names), "ulatex") for p in people]
        return [n.replace("{", "").replace("}", "") for n in names]

    def authors(self, key: str) -> str:
        names = self._last_names(key)
        if len(names) >= 3:
            return f"{names[0]} et al."
        return " and ".join(names) or key

    def year(self, key: str) -> str:
        return self.data.entries[key].fields.get("year", "n.d.")

    def markdown_list(self, keys: list[str]) -> str:
        from pybtex.database import BibliographyData
        from pybtex.plugin import find_plugin

        entries = {}
        for key in keys:
            entry = copy.deepcopy(self.data.entries[key])
            for name, value in entry.fields.items():  # \url{x} -> x (pybtex keeps the macro)
                entry.fields[name] = re.sub(r"\\url\{([^}]*)\}", r"\1", value)
            entries[key] = entry
        style = find_plugin("pybtex.style.formatting", "plain")()
        backend = find_plugin("pybtex.backends", "markdown")()
        order = sorted(keys, key=lambda k: (self._last_names(k) or [k], self.year(k), k))
        formatted = {e.key: e.text.render(backend) for e in style.format_entries(
            BibliographyData(entries).entries[k] for k in order)}
        return "\n".join(f'- <a id="ref-{k}"></a>{" ".join(formatted[k].split())}' for k in order)


# --- labels shared between chapters ---------------------------------------------------------------

@dataclass
class Target:
    docname: str
    text: str  # what a reference shows: "Exercise 2.3", "(2.4)", "Theorem 1.1", a heading
    number: str | None = None  # a section's number, "4.3", for {numref}


@dataclass
class Book:
    root: Path
    config: dict
    base_url: str
    macros: dict[str, str]
    bib: Bibliography
    chapters: list[str]
    titles: dict[str, str] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)

    def title(self, docname: str) -> str:
        if docname not in self.titles:
            self.titles[docname] = _page_title(self.root, docname)
        return self.titles[docname]

    def page_url(self, docname: str) -> str:
        return f"{self.base_url}{docname}.html"


class MystError(ValueError):
    pass


# --- the converter -------------------------------------------------------------------------------

FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})(?P<rest>.*)$")
DIRECTIVE_RE = re.compile(r"^\s*\{(?P<name>[A-Za-z][\w:\-]*)\}\s*(?P<arg>.*)$")
OPTION_RE = re.compile(r"^\s*:(?P<key>[\w\-]+):\s*(?P<value>.*)$")
SECTION_RE = re.compile(r"^## (?!#)(?P<title>.*)$")
TARGET_RE = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
MATH_CLOSE_RE = re.compile(r"^(?P<body>.*?)\$\$\s*(?:\((?P<label>[^()\s]+)\))?\s*$")
ROLE_OR_CODE_RE = re.compile(
    r"\{(?P<role>[A-Za-z][\w:\-]*)\}`(?P<content>[^`]*)`"  # a MyST role
    r"|(?P<code>(?P<ticks>`+).+?(?<!`)(?P=ticks)(?!`))",  # an inline code span (left alone)
    re.S,
)


class ChapterConverter:
    def __init__(self, book: Book, docname: str, strict: bool = True):
        self.book = book
        self.strict = strict  # the first pass, collecting labels, does not know later ones yet
        self.docname = docname
        self.chapter = book.chapters.index(docname) + 1
        self.counters: dict[str, int] = {}
        self.section = 0  # level-2 headings seen: sections C.1, C.2, ... as the book numbers them
        self.cited: list[str] = []
        self.bibliography_placed = False

    # numbering per chapter, by kind (equations, exercises, theorems, definitions, ...)
    def number(self, kind: str) -> str:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return f"{self.chapter}.{self.counters[kind]}"

    def register(self, label: str | None, text: str, number: str | None = None) -> None:
        if label:
            self.book.targets.setdefault(label, Target(self.docname, text, number))

    # ---- blocks
    def convert(self, text: str, quoted: bool = False) -> str:
        lines = text.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            fence = FENCE_RE.match(line)
            stripped = line.strip()
            if fence:
                char, n = fence["fence"][0], len(fence["fence"])
                end = i + 1
                while end < len(lines) and not re.fullmatch(rf"\s*{re.escape(char)}{{{n},}}\s*", lines[end]):
                    end += 1
                body = lines[i + 1:end]
                directive = DIRECTIVE_RE.match(fence["rest"])
                if directive:
                    out.append(self._protect(self.directive(directive["name"], directive["arg"].strip(), body, quoted)))
                elif char == "`":
                    out.append(self._protect("\n".join(lines[i:end + 1])))  # an ordinary code block: verbatim
                else:
                    raise MystError(f"{self.docname}: colon fence without a directive: {line!r}")
                i = end + 1
                continue
            if TARGET_RE.match(stripped):
                label = TARGET_RE.match(stripped)["label"]
                heading = next((ln for ln in lines[i + 1:] if ln.strip()), "")
                number = f"{self.chapter}.{self.section + 1}" if SECTION_RE.match(heading) else None
                self.register(label, heading.lstrip("#").strip() if heading.startswith("#") else label, number)
                out.append(f'<a id="{label}"></a>')
                i += 1
                continue
            if stripped.startswith("$$"):
                first = stripped[2:]
                end = i
                m = MATH_CLOSE_RE.match(first)
                if m:  # $$ ... $$ on one line
                    body, label = m["body"], m["label"]
                else:
                    parts = [first] if first.strip() else []
                    end = i + 1
                    while end < len(lines) and not MATH_CLOSE_RE.match(lines[end].strip()):
                        parts.append(lines[end])
                        end += 1
                    if end == len(lines):
                        raise MystError(f"{self.docname}: unclosed $$ block")
                    m = MATH_CLOSE_RE.match(lines[end].strip())
                    if m["body"].strip():
                        parts.append(m["body"])
                    body, label = "\n".join(parts), m["label"]
                out.extend(self.display_math(body, label, quoted))
                i = end + 1
                continue
            if SECTION_RE.match(line) and not quoted:
                self.section += 1
                line = f"## {self.chapter}.{self.section} {SECTION_RE.match(line)['title']}"
            out.append(line)
            i += 1
        return self.inline("\n".join(out), quoted)

    def display_math(self, body: str, label: str | None, quoted: bool) -> list[str]:
        body = body.strip("\n")
        lines = []
        if label:
            number = self.number("equation")
            self.register(label, f"({number})")
            body = f"{body}\n\\tag{{{number}}}"
            lines += [f'<a id="{label}"></a>', ""]
        # Placeholder-protected from the inline pass (roles/code spans), macros expanded here.
        body = expand_macros(body, self.book.macros)
        if quoted:  # one line: a front end that extracts math before Markdown would see "> " otherwise
            lines.append("$$ " + " ".join(ln.strip() for ln in body.split("\n")) + " $$")
        else:
            lines += ["$$", body, "$$"]
        return [self._protect("\n".join(lines))]

    _protected: list[str]

    def _protect(self, text: str) -> str:
        if not hasattr(self, "_protected"):
            self._protected = []
        self._protected.append(text)
        return f"\x00{len(self._protected) - 1}\x00"

    def _unprotect(self, text: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: self._protected[int(m.group(1))], text)

    def directive(self, name: str, arg: str, body: list[str], quoted: bool) -> str:
        options: dict[str, str] = {}
        while body and OPTION_RE.match(body[0]):
            m = OPTION_RE.match(body[0])
            options[m["key"]] = m["value"].strip()
            body = body[1:]
        content = "\n".join(body).strip("\n")
        label = options.get("label")
        anchor = f'<a id="{label}"></a>' if label else ""
        kind = name.split(":", 1)[1] if name.startswith("prf:") else name

        if name == "admonition" or name in ADMONITIONS:
            title = arg or name.capitalize()
            inner = self.convert(content, quoted=True)
            lines = [f"{anchor}**{self.inline(title, True)}**", ""] + inner.split("\n")
            return "\n".join(("> " + ln).rstrip() for ln in lines)
        if name.startswith("prf:") and kind in PROOF_KINDS:
            number = self.number(kind)
            heading = f"{kind.capitalize()} {number}"
            self.register(label, heading)
            title = f" ({self.inline(arg, quoted)})" if arg else ""
            return self._labelled(f"{anchor}**{heading}{title}.**", self.convert(content, quoted))
        if name == "prf:proof":
            inner = self.convert(content, quoted).rstrip()
            last = inner.split("\n")[-1] if inner else ""
            ends_in_text = last and "\x00" not in last and not re.match(r"^\s*(\$\$|[-*>|]|\d+\.|`{3,}|<)", last)
            ending = " ∎" if ends_in_text else "\n\n∎"
            return self._labelled(f"{anchor}*Proof.*", inner + ending)
        if name == "exercise":
            number = None if "nonumber" in options else self.number("exercise")
            heading = f"Exercise {number}" if number else "Exercise"
            self.register(label, heading)
            title = f" ({self.inline(arg, quoted)})" if arg else ""
            return self._labelled(f"{anchor}**{heading}{title}.**", self.convert(content, quoted))
        if name == "solution":
            target = self.book.targets.get(arg)
            what = f"Solution to {target.text}" if target else "Solution"
            inner = self.convert(content, quoted)
            return f"{anchor}<details>\n<summary>{what}</summary>\n\n{inner}\n\n</details>"
        if name == "solution-start":
            target = self.book.targets.get(arg)
            return f"{anchor}**Solution to {target.text if target else 'the exercise'}.**"
        if name == "solution-end":
            return ""
        if name == "bibliography":
            self.bibliography_placed = True
            return "\x01BIBLIOGRAPHY\x01"
        if name == "math":
            return "\n".join(self.display_math(content, label, quoted))
        raise MystError(f"{self.docname}: no reader-notebook rule for directive {{{name}}}")

    def _labelled(self, label: str, body: str) -> str:
        if body and not re.match(r"^\s*(\$\$|[-*>|#]|\d+\.\s|`{3,}|<|\x00)", body):
            return f"{label} {body}"
        return f"{label}\n\n{body}"

    # ---- inline
    def inline(self, text: str, quoted: bool = False) -> str:
        if quoted:  # keep inline math on one line inside block quotes
            text = re.sub(r"(?<![\\$])\$(?!\$)([^$]+?)(?<!\\)\$",
                          lambda m: "$" + " ".join(m.group(1).split("\n")) + "$", text)
        parts = []
        pos = 0
        for m in ROLE_OR_CODE_RE.finditer(text):
            parts.append(expand_macros(text[pos:m.start()], self.book.macros))
            parts.append(m.group(0) if m["code"] else self.role(m["role"], m["content"]))
            pos = m.end()
        parts.append(expand_macros(text[pos:], self.book.macros))
        return self._unprotect("".join(parts))

    def _link_to(self, label: str) -> str:
        target = self.book.targets.get(label)
        if target is None and not self.strict:
            return f"#{label}"
        if target is None:
            raise MystError(f"{self.docname}: unknown label {label!r}")
        if target.docname == self.docname:
            return f"#{label}"
        return f"{self.book.page_url(target.docname)}#{label}"

    def role(self, name: str, content: str) -> str:
        explicit = re.fullmatch(r"(?P<text>.+?)\s*<(?P<target>[^<>]+)>", content, re.S)
        text, target = (explicit["text"], explicit["target"]) if explicit else (None, content.strip())
        if name in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts"):
            keys = [k.strip() for k in content.split(",") if k.strip()]
            for key in keys:
                if key not in self.book.bib.data.entries:
                    raise MystError(f"{self.docname}: unknown citation {key!r}")
                if key not in self.cited:
                    self.cited.append(key)
            bib = self.book.bib
            if name in ("cite:t", "cite:ts"):
                return "; ".join(f"[{bib.authors(k)} ({bib.year(k)})](#ref-{k})" for k in keys)
            return "(" + "; ".join(f"[{bib.authors(k)}, {bib.year(k)}](#ref-{k})" for k in keys) + ")"
        if name == "doc":
            base = Path(self.docname).parent
            docname = Path(target.lstrip("/")) if target.startswith("/") else base / target
            docname = Path(*[p for p in docname.as_posix().split("/") if p]).as_posix()
            while "/../" in f"/{docname}":
                docname = re.sub(r"(^|/)[^/]+/\.\.(/|$)", r"\1", docname, count=1)
            return f"[{text or self.book.title(docname)}]({self.book.page_url(docname)})"
        if name == "numref":
            known = self.book.targets.get(target)
            if known is None and self.strict:
                raise MystError(f"{self.docname}: unknown label {target!r}")
            number = known.number if known and known.number else (known.text if known else target)
            shown = (text or "%s").replace("%s", number)
            return f"[{shown}]({self._link_to(target)})"
        if name in ("ref", "prf:ref", "eq"):
            known = self.book.targets.get(target)
            return f"[{text or (known.text if known else target)}]({self._link_to(target)})"
        raise MystError(f"{self.docname}: no reader-notebook rule for role {{{name}}}")


# --- notebooks -----------------------------------------------------------------------------------

def _make_book(root: Path) -> Book:
    config = load_config(root)
    book = Book(root=root, config=config, base_url=book_base_url(config), macros=macros(config),
                bib=Bibliography(root / "references.bib"), chapters=chapter_docnames(root))
    # First pass: collect every label (and its number) so references across chapters resolve.
    for docname in book.chapters:
        conv = ChapterConverter(book, docname, strict=False)
        for cell in _read_nb(root / f"{docname}.ipynb")["cells"]:
            if cell["cell_type"] == "markdown":
                conv.convert(_source(cell))
    return book


def reader_notebook(book: Book, docname: str) -> dict:
    nb = _read_nb(book.root / f"{docname}.ipynb")
    conv = ChapterConverter(book, docname)
    cells = []
    for cell in nb["cells"]:
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            cell["source"] = conv.convert(_source(cell))
        cells.append(cell)
    references = book.bib.markdown_list(conv.cited) if conv.cited else ""
    for cell in cells:
        if cell["cell_type"] == "markdown" and "\x01BIBLIOGRAPHY\x01" in cell["source"]:
            cell["source"] = cell["source"].replace("\x01BIBLIOGRAPHY\x01", references)
    if references and not conv.bibliography_placed:
        cells.append({"cell_type": "markdown", "id": "reader-references", "metadata": {},
                      "source": "## References\n\n" + references})
    header = (
        f"*This is the plain-Jupyter version of chapter {conv.chapter} of "
        f"[{book.config['title']}]({book.base_url}), generated from the book's "
        f"[`{docname}.ipynb`]({book.page_url(docname)}) by `tools/export_reader_notebooks.py`. "
        "Edit the chapter, not this file.*"
    )
    cells.insert(0, {"cell_type": "markdown", "id": "reader-header", "metadata": {}, "source": header})
    for cell in cells:  # store sources as line lists, as Jupyter does
        src = _source(cell)
        cell["source"] = src.splitlines(keepends=True)
    metadata = {k: v for k, v in nb["metadata"].items() if k in ("kernelspec", "language_info")}
    return {"cells": cells, "metadata": metadata, "nbformat": nb["nbformat"], "nbformat_minor": nb["nbformat_minor"]}


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def export(out_dir: Path, root: Path = ROOT) -> list[Path]:
    book = _make_book(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for docname in book.chapters:
        path = out_dir / f"{Path(docname).name}.ipynb"
        path.write_text(dumps(reader_notebook(book, docname)), encoding="utf-8")
        written.append(path)
    return written


def update_install_cells(root: Path = ROOT) -> list[Path]:
    """Put the install block (source from _config.yml) at the top of each chapter's first code cell.

    Only that cell's source changes: its outputs stay (the import succeeds where the chapters run).
    """
    block = install_block(install_source(load_config(root)))
    changed = []
    for docname in chapter_docnames(root):
        path = root / f"{docname}.ipynb"
        raw = path.read_text(encoding="utf-8")
        nb = json.loads(raw)
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        src = _source(cell)
        if INSTALL_BLOCK_RE.search(src):
            new = INSTALL_BLOCK_RE.sub(lambda _: block, src, count=1)
        else:
            new = block + "\n" + re.sub(r"^import vi_lib\n", "", src, count=1, flags=re.M)
        if new != src:
            cell["source"] = new.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=READER_DIR, help="output folder (default: reader/)")
    parser.add_argument("--update-install-cells", action="store_true",
                        help="rewrite the install block of each chapter's first code cell from _config.yml")
    args = parser.parse_args(argv)
    if args.update_install_cells:
        for path in update_install_cells():
            print(f"updated install cell: {path.relative_to(ROOT)}")
    for path in export(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
