"""Reader notebooks (reader/*.ipynb, tools/export_reader_notebooks.py) work outside the book.

* They are up to date with the chapters (regenerated in a temporary folder and compared).
* Their Markdown holds no MyST role/directive syntax and none of the book's MathJax macros.
* nbconvert's standard HTML exporter renders them in headless Chromium without MathJax errors or
  raw TeX, with MathJax configured as nbconvert configures it (not with the book's macros).
* They execute top to bottom with nbclient in a fresh virtual environment into which vi_lib is
  installed from the wheel (not editable, not the repository on the path), with pip's index
  switched off, and reproduce the chapters' outputs under nbval's rules and sanitisation.
* The install block of each chapter's first code cell matches _config.yml, installs nothing where
  vi_lib imports, and installs vi_lib (from the wheel here) where it does not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import export_reader_notebooks as reader  # noqa: E402
from test_book import _PAGE_CHECK_JS, CHROMIUM_ARGS, MATHJAX, VIEWPORT, chromium_or_skip, serve_directory  # noqa: E402

CONFIG = reader.load_config()
CHAPTERS = reader.chapter_docnames()
READERS = [ROOT / "reader" / f"{Path(d).name}.ipynb" for d in CHAPTERS]
MACROS = reader.macros(CONFIG)
NO_NETWORK = {"PIP_NO_INDEX": "1", "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}


def _markdown(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


# --- up to date, plain Markdown ------------------------------------------------------------------

def test_there_is_a_reader_notebook_per_chapter():
    assert CHAPTERS and sorted(p.name for p in (ROOT / "reader").glob("*.ipynb")) == sorted(p.name for p in READERS)


def test_committed_reader_notebooks_are_up_to_date(tmp_path: Path):
    written = reader.export(tmp_path)
    stale = [p.name for p in written if p.read_bytes() != (ROOT / "reader" / p.name).read_bytes()]
    assert not stale, f"reader notebooks out of date with their chapters: {stale}; run `make reader` and commit reader/"


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.name)
def test_reader_keeps_the_chapters_code_and_outputs(path: Path):
    chapter = next(ROOT / f"{d}.ipynb" for d in CHAPTERS if Path(d).name == path.stem)
    assert _code_cells(path) == _code_cells(chapter)


MYST = re.compile(
    r"\{[A-Za-z][\w:\-]*\}`"         # roles: {cite}`x`, {doc}`x`, {eq}`x`, {ref}`x`, {prf:ref}`x`
    r"|^\s*(```|:::)+\s*\{"          # directives: ```{prf:theorem}, :::{admonition}
    r"|^\s*\([^()\s]+\)=\s*$"        # targets: (label)=
    r"|\$\$[ \t]*\([^()\s]+\)[ \t]*$"  # equation labels: $$ (eq-label)
    r"|^\s*:(class|label|filter|nonumber):",  # directive options left behind
    re.M,
)


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.name)
def test_reader_markdown_has_no_myst_syntax_and_no_book_macros(path: Path):
    macro = re.compile(r"\\(" + "|".join(map(re.escape, MACROS)) + r")(?![A-Za-z])")
    problems = []
    for i, text in enumerate(_markdown(path)):
        for m in list(MYST.finditer(text)) + list(macro.finditer(text)):
            problems.append(f"markdown cell {i}: {text[max(0, m.start() - 40):m.end() + 40]!r}")
    assert not problems, "\n".join(problems[:50])


def test_macro_expansion_matches_whole_names_only():
    table = {"KL": r"\mathrm{KL}", "E": r"\mathbb{E}"}
    assert reader.expand_macros(r"\KL(q \| p) \E_q \KLx \Ex \E[x]", table) == (
        r"\mathrm{KL}(q \| p) \mathbb{E}_q \KLx \Ex \mathbb{E}[x]")


# --- nbconvert HTML in headless Chromium ---------------------------------------------------------

# nbconvert's template configures MathJax 2 (TeX-AMS_CHTML-full: $...$ and \(...\) inline, $$...$$
# and \[...\] display, AMS numbering). The local MathJax is version 3, which ignores that block, so
# the same settings are given in MathJax 3 form; `noundefined` is dropped so that an undefined
# macro is an error (the front ends show it in red) rather than silently coloured text.
NBCONVERT_MATHJAX3 = """<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams', useLabelIds: true,
        packages: {'[-]': ['noundefined']}},
  chtml: {displayAlign: 'center'}
};
</script>
"""


@pytest.fixture(scope="module")
def nbconvert_site(tmp_path_factory) -> Path:
    from nbconvert import HTMLExporter

    assert MATHJAX.exists(), f"{MATHJAX} is missing: run `make mathjax`"
    site = tmp_path_factory.mktemp("nbconvert")
    (site / "mathjax").symlink_to(MATHJAX.parents[1], target_is_directory=True)
    exporter = HTMLExporter(mathjax_url="mathjax/es5/tex-chtml.js")  # the standard ("lab") template
    for path in READERS:
        html, _ = exporter.from_filename(str(path))
        script = '<script src="mathjax/es5/tex-chtml.js">'
        assert script in html, "nbconvert's template no longer loads MathJax from mathjax_url"
        (site / f"{path.stem}.html").write_text(html.replace(script, NBCONVERT_MATHJAX3 + script, 1), encoding="utf-8")
    return site


@pytest.fixture(scope="module")
def nbconvert_server(nbconvert_site: Path):
    with serve_directory(nbconvert_site) as url:
        yield url


def test_nbconvert_html_renders_math_in_headless_chromium(nbconvert_server: str):
    chromium = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    # nbconvert's output areas are .jp-OutputArea (the book's are .cell_output): leave them out of
    # the raw-TeX scan like the book check does.
    check_js = _PAGE_CHECK_JS.replace(".cell_output, .output,", ".cell_output, .output, .jp-OutputArea,")
    assert check_js != _PAGE_CHECK_JS
    problems, typeset = [], 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        for path in READERS:
            page.goto(nbconvert_server + f"{path.stem}.html", wait_until="load", timeout=60_000)
            result = page.evaluate(check_js)
            if result["mathjax"] is None:
                problems.append(f"{path.name}: MathJax did not load")
            typeset += page.evaluate("document.querySelectorAll('mjx-container').length")
            problems += [f"{path.name}: MathJax error: {e}" for e in result["errors"]]
            problems += [f"{path.name}: raw TeX near {r!r}" for r in result["rawTex"]]
            problems += [f"{path.name}: image did not load: {s}" for s in result["badImages"]]
        browser.close()
    assert typeset > 100 * len(READERS) // 2, f"only {typeset} formulas typeset"
    assert not problems, "\n".join(problems[:60])


# --- a fresh virtual environment with vi_lib from the wheel -------------------------------------

@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """vi_lib built as a wheel from a copy of the package sources (as `make book` builds it)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "vi_lib", src / "vi_lib", ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
               "-w", str(tmp / "dist"), str(src)]
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **NO_NETWORK})
    wheels = list((tmp / "dist").glob("vi_lib-*.whl"))
    assert proc.returncode == 0 and len(wheels) == 1, proc.stdout + proc.stderr
    return wheels[0]


def _bare_venv(where: Path) -> Path:
    """A new venv (no vi_lib) that sees this environment's other packages through a plain path.

    A `.pth` line adds a folder of links to this environment's site-packages, minus vi_lib's
    editable install: paths added that way are not site dirs, so their own .pth files (the editable
    finder among them) are not processed either. pip comes from that folder and installs into the
    new venv.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = Path(next((where / "lib").glob("python*/site-packages")))
    deps = where / "deps"
    deps.mkdir()
    here = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_relative_to(sys.prefix)))
    for entry in here.iterdir():
        if not entry.name.startswith(("vi_lib", "__editable__", "_virtualenv")):
            (deps / entry.name).symlink_to(entry)
    (site / "deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    python = where / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import vi_lib"], capture_output=True, text=True, cwd=where)
    assert probe.returncode != 0, "vi_lib is importable in the fresh venv before installing it"
    return python


def _kernel_manager(python: Path, where: Path):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = where / "kernels" / "reader-venv"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "reader venv", "language": "python",
        "env": {**NO_NETWORK, "PYTHONPATH": ""},
    }), encoding="utf-8")
    ksm = KernelSpecManager(kernel_dirs=[str(where / "kernels")])
    return KernelManager(kernel_name="reader-venv", kernel_spec_manager=ksm)


def _execute(nb, km, cwd: Path, timeout: int) -> None:
    """Run a notebook with nbclient in the kernel of `km`, and shut that kernel down afterwards."""
    from nbclient import NotebookClient

    try:
        client = NotebookClient(nb, timeout=timeout, km=km, resources={"metadata": {"path": str(cwd)}})
        client.execute(cleanup_kc=True)  # with a km passed in, nbclient would otherwise leave it running
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        km.cleanup_resources()


def _vi_lib_file(python: Path, cwd: Path) -> str:
    return subprocess.run([str(python), "-c", "import vi_lib; print(vi_lib.__file__)"], capture_output=True,
                          text=True, cwd=cwd, check=True).stdout.strip()


@pytest.fixture(scope="session")
def wheel_venv(tmp_path_factory, wheel: Path) -> Path:
    where = tmp_path_factory.mktemp("venv-wheel")
    python = _bare_venv(where / "venv")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, cwd=where, env={**os.environ, **NO_NETWORK})
    assert Path(_vi_lib_file(python, where)).is_relative_to(where / "venv"), "vi_lib is not the wheel's copy"
    return where


SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")  # nbval 0.11's defaults


def _comparable(outputs, patterns) -> dict[str, list]:
    """nbval's view of a cell's outputs: streams merged, flattened by key, sanitised."""
    from nbval.plugin import coalesce_streams, transform_streams_for_comparison

    def sanitize(value):
        if isinstance(value, str):
            for regex, replace in patterns:
                value = re.sub(regex, replace, value)
        return value

    flat = defaultdict(list)
    for out in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in out.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(sanitize(data))
            else:
                flat[key].append(sanitize(value))
    return dict(flat)


def _compared(cell) -> bool:
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = dict(find_comment_markers(cell.source))
    options.update(find_metadata_tags(cell.metadata))
    return options.get("check", True) and not options.get("skip", False)


@pytest.mark.parametrize("path", READERS, ids=lambda p: p.name)
def test_reader_notebook_runs_in_a_fresh_venv_with_the_wheel(path: Path, wheel_venv: Path, tmp_path: Path):
    from nbval.plugin import get_sanitize_patterns

    python = wheel_venv / "venv" / "bin" / "python"
    patterns = get_sanitize_patterns((ROOT / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8"))
    reference = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell("import vi_lib; print(vi_lib.__file__)")
    nb.cells.append(probe)
    _execute(nb, _kernel_manager(python, tmp_path), tmp_path, timeout=1200)
    where = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    assert Path(where).is_relative_to(wheel_venv / "venv"), f"the kernel imported vi_lib from {where}"
    differ = []
    for i, (ran, ref) in enumerate(zip(nb.cells[:-1], reference.cells)):
        if ref.cell_type != "code" or not _compared(ref):
            continue
        if _comparable(ran.outputs, patterns) != _comparable(ref.outputs, patterns):
            differ.append(f"code cell {i}:\n--- chapter ---\n{_comparable(ref.outputs, patterns)}"
                          f"\n--- fresh venv ---\n{_comparable(ran.outputs, patterns)}")
    assert not differ, f"{path.name}: outputs differ from the chapter's\n" + "\n".join(differ)[:6000]


# --- the install block ---------------------------------------------------------------------------

@pytest.mark.parametrize("docname", CHAPTERS)
def test_install_block_matches_config(docname: str):
    first = "".join(_code_cells(ROOT / f"{docname}.ipynb")[0]["source"])
    expected = reader.install_block(reader.install_source(CONFIG))
    assert first.startswith(expected), (
        f"{docname}: the first code cell must start with the install block for {reader.install_source(CONFIG)} "
        "(run `python tools/export_reader_notebooks.py --update-install-cells`)")
    assert reader.INSTALL_BLOCK_RE.match(first)


def _run_cells(km, sources: list[str], cwd: Path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    _execute(nb, km, cwd, timeout=300)
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in nb.cells]


RECORD_PIP = """
calls = []
get_ipython().run_line_magic = lambda *args, **kwargs: calls.append(args)  # what `%pip ...` calls
"""


def test_install_block_does_nothing_where_vi_lib_imports(tmp_path: Path):
    block = reader.install_block(reader.install_source(CONFIG))
    km = _kernel_manager(Path(sys.executable), tmp_path)  # the book's own environment
    out = _run_cells(km, [RECORD_PIP, block + "print(calls)"], tmp_path)
    assert out[1].strip() == "[]", f"the install block called a magic where vi_lib imports: {out[1]}"


def test_install_block_installs_the_wheel_where_vi_lib_is_missing(tmp_path: Path, wheel: Path):
    python = _bare_venv(tmp_path / "venv")
    block = reader.install_block(reader.install_source(CONFIG))
    local = reader.install_block(wheel.as_uri())  # the same block, pointed at the local wheel
    assert local.replace(wheel.as_uri(), reader.install_source(CONFIG)) == block
    out = _run_cells(_kernel_manager(python, tmp_path), [local + "print(vi_lib.__file__)"], tmp_path)
    assert Path(out[0].strip().splitlines()[-1]).is_relative_to(tmp_path / "venv"), out[0]
    assert Path(_vi_lib_file(python, tmp_path)).is_relative_to(tmp_path / "venv")
