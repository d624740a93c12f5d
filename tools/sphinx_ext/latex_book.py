"""Sphinx extension for the PDF (``make pdf``, the LaTeX builder); the HTML book is untouched.

1. The book's math macros (``\\KL``, ``\\E``, ``\\given``, ...) are defined once, for MathJax, under
   ``sphinx: config: mathjax3_config: tex: macros`` in ``_config.yml``. They are appended to
   ``latex_elements["preamble"]`` as LaTeX commands when the configuration is read, so a macro added
   for the site is typeset in the PDF too (``\\providecommand`` then ``\\renewcommand``: a name
   LaTeX already knows is overridden, not an error).
2. sphinx-proof 0.4 finds a theorem's document by matching section titles, which fails in the one
   merged LaTeX document: every theorem was labelled ``None:<label>`` and printed without its
   number ("Theorem  (...)" where the site shows "Theorem 1.1"). Its lookup is replaced by the
   nearest enclosing ``start_of_file`` node, which Sphinx puts around each document it merges, and
   the label is written as Sphinx writes its own (escaped), so references and the index find it.
3. sphinx-exercise 1.2 labels an exercise ``exercise:<label>`` but a ``{ref}`` from another chapter
   asks for ``<docname>:<label>``, which printed "Exercise ??". Each exercise also gets that
   label, carrying its number.
4. The book's structure, as on the site: the landing page's sections are unnumbered front matter
   (not chapters 1-4, which shifted every chapter, section and equation number), each numbered
   part of ``_toc.yml`` opens with a ``\\part`` carrying its caption, and the unnumbered parts
   (the appendices) follow ``\appendix``, so chapters and equations are numbered as on the site;
   the table of contents keeps its own title (Sphinx would give it the first part's caption).

Loaded from ``_config.yml`` (``sphinx: local_extensions``), after sphinx_proof and sphinx_exercise.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.util import texescape
from sphinx.writers.latex import LaTeXTranslator


def latex_macro_preamble(macros: dict[str, Any]) -> str:
    """LaTeX definitions for MathJax-style macros: ``{"KL": "\\\\mathrm{KL}", "f": ["#1^2", 1]}``."""
    lines = []
    for name, value in macros.items():
        body, nargs = (value[0], int(value[1])) if isinstance(value, (list, tuple)) else (value, 0)
        args = f"[{nargs}]" if nargs else ""
        lines.append(f"\\providecommand{{\\{name}}}{{}}\\renewcommand{{\\{name}}}{args}{{{body}}}")
    return "\n".join(lines)


def _add_macros(app: Any, config: Any) -> None:
    macros = (getattr(config, "mathjax3_config", None) or {}).get("tex", {}).get("macros", {})
    if not macros:
        return
    elements = dict(config.latex_elements or {})
    elements["preamble"] = (elements.get("preamble", "") + "\n% The book's math macros (mathjax3_config in "
                            "_config.yml, via tools/sphinx_ext/latex_book.py)\n" + latex_macro_preamble(macros) + "\n")
    config.latex_elements = elements


def enclosing_docname(env: Any, node: nodes.Node, parent_tag: str = "section") -> str | None:
    """The document a node came from inside the merged LaTeX doctree: the nearest enclosing
    ``start_of_file``, else the document the node was read from (Sphinx moves each document's
    children under a ``start_of_file`` without re-parenting them), else the root document."""
    top = node
    while node is not None:
        if isinstance(node, addnodes.start_of_file):
            return node["docname"]
        top, node = node, node.parent
    source = top.get("source") if isinstance(top, nodes.Element) else None
    return (env.path2doc(source) if source else None) or env.config.root_doc


def _raw(latex: str) -> nodes.raw:
    return nodes.raw("", latex + "\n", format="latex")


def _structure(app: Any, doctree: nodes.document, docname: str) -> None:
    """Front matter, parts and appendices in the merged LaTeX doctree (see the module docstring)."""
    if app.builder.format != "latex" or docname != app.config.root_doc:
        return
    toctrees = list(app.env.get_doctree(app.config.root_doc).findall(addnodes.toctree))
    opening = {}  # first document of each top-level toctree -> (caption, numbered)
    for toctree in toctrees:
        files = [str(f) for f in toctree["includefiles"]]
        if files:
            opening[files[0]] = (toctree.get("caption"), bool(toctree.get("numbered")))
    starts = [n for n in doctree.findall(addnodes.start_of_file) if n["docname"] in opening]
    if not starts:
        return
    # Unnumbered front matter up to the first part.
    doctree.insert(0, _raw("\\edef\\vibookSecnumdepth{\\the\\value{secnumdepth}}\\setcounter{secnumdepth}{-1}"))
    in_appendix = False
    for i, start in enumerate(starts):
        caption, numbered = opening[start["docname"]]
        latex = ""
        if i == 0:
            latex += "\\setcounter{secnumdepth}{\\vibookSecnumdepth}\\setcounter{chapter}{0}"
        if not numbered and not in_appendix:
            latex += "\\appendix"
            in_appendix = True
        if caption:
            latex += "\\part{" + texescape.escape(caption) + "}"
        parent = start.parent
        parent.insert(parent.index(start), _raw(latex))


def _keep_contents_title(app: Any) -> None:
    # Sphinx titles the table of contents with the root's first toctree caption, which here is the
    # first part ("Foundations"); the parts get their own pages, the contents keep "Contents".
    if app.builder.format == "latex":
        app.builder.get_contentsname = lambda indexfile: ""


def _proof_visit(original):
    def visit(self: Any, node: nodes.Element) -> None:
        if not isinstance(self, LaTeXTranslator):
            return original(self, node)
        import sphinx_proof.nodes as proof_nodes

        # The label Sphinx's references ask for (\detokenize'd, as the writer escapes them).
        self.body.append(self.hypertarget(node.attributes["label"]))  # <current document>:<label>
        self.body.append(proof_nodes.latex_admonition_start)
    return visit


def _exercise_visit(original):
    def visit(self: Any, node: nodes.Element) -> None:
        if isinstance(self, LaTeXTranslator):
            label = node.attributes.get("label", "")
            entry = getattr(self.builder.env, "sphinx_exercise_registry", {}).get(label, {})
            docname = entry.get("docname") or self.curfilestack[-1]
            ids = node.get("ids") or [label]
            number = self.builder.env.toc_fignumbers.get(docname, {}).get("exercise", {}).get(ids[0], ())
            if docname and number:
                # \ref{<docname>:<label>} prints the exercise number (not the enclosing section's).
                self.body.append("\\phantomsection\\expandafter\\def\\csname @currentlabel\\endcsname{"
                                 + ".".join(map(str, number)) + "}" + self.hypertarget(
                                     f"{docname}:{label}", withdoc=False, anchor=False) + "\n")
        original(self, node)
    return visit


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx_proof")
    app.setup_extension("sphinx_exercise")
    import sphinx_exercise.nodes as exercise_nodes
    import sphinx_proof.nodes as proof_nodes
    from sphinx_proof import NODE_TYPES

    proof_nodes.find_parent = enclosing_docname
    for node_type in NODE_TYPES.values():
        app.add_node(node_type, override=True,
                     latex=(_proof_visit(proof_nodes.visit_enumerable_node), proof_nodes.depart_enumerable_node),
                     html=(proof_nodes.visit_enumerable_node, proof_nodes.depart_enumerable_node))
    app.add_node(proof_nodes.unenumerable_node, override=True,
                 latex=(_proof_visit(proof_nodes.visit_unenumerable_node), proof_nodes.depart_unenumerable_node),
                 html=(proof_nodes.visit_unenumerable_node, proof_nodes.depart_unenumerable_node))
    app.add_node(exercise_nodes.exercise_enumerable_node, override=True,
                 latex=(_exercise_visit(exercise_nodes.visit_exercise_enumerable_node),
                        exercise_nodes.depart_exercise_enumerable_node),
                 html=(exercise_nodes.visit_exercise_enumerable_node, exercise_nodes.depart_exercise_enumerable_node),
                 singlehtml=(exercise_nodes.visit_exercise_enumerable_node,
                             exercise_nodes.depart_exercise_enumerable_node))
    app.connect("config-inited", _add_macros)
    app.connect("doctree-resolved", _structure)
    app.connect("builder-inited", _keep_contents_title)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
