"""Re-execute chapter notebooks in place with the book's reproducibility settings.

Usage: ``python tools/execute_notebooks.py [NOTEBOOK ...]`` (default: every chapter in _toc.yml).
``make execute`` calls this. The environment set here is the one ``tests/conftest.py`` sets for
nbval, so stored outputs and re-executed outputs are produced under the same settings.

Each run also records, in ``chapters/appendix/execution_times.json`` (committed), how long each
chapter took, when, and on what machine; the appendix page "Execution report" is rendered from
that file (tools/sphinx_ext/publishing.py). Running one chapter updates only that chapter's entry;
running them all (no arguments) also records the date and total of the full run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

from book_sources import chapter_docnames  # noqa: E402
from reproducibility import REPRO_ENV  # noqa: E402

REPORT = ROOT / "chapters" / "appendix" / "execution_times.json"


def machine_description() -> str:
    """CPU model and cores, OS, Python and torch versions, and the thread settings used."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        torch = f", torch {metadata.version('torch')}"
    except metadata.PackageNotFoundError:
        torch = ""
    return (f"{cpu}, {cores} cores available, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}{torch}; one BLAS/torch thread per kernel")


def load_report(path: Path = REPORT) -> dict:
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"last_full_run": None, "chapters": {}}


def update_report(report: dict, timings: dict[str, float], machine: str, date: str, full_run: bool) -> dict:
    """The report with the chapters of ``timings`` (docname -> seconds) replaced; others kept.

    A full run (every chapter) also sets ``last_full_run`` and drops chapters no longer in the book.
    """
    chapters = dict(report.get("chapters", {}))
    for docname, seconds in timings.items():
        chapters[docname] = {"seconds": round(seconds, 1), "date": date, "machine": machine}
    new = {"last_full_run": report.get("last_full_run"), "chapters": chapters}
    if full_run:
        new["chapters"] = {d: chapters[d] for d in timings}
        new["last_full_run"] = {"date": date, "seconds": round(sum(timings.values()), 1), "machine": machine}
    new["chapters"] = dict(sorted(new["chapters"].items()))
    return new


def write_report(report: dict, path: Path = REPORT) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def docname_of(path: Path) -> str:
    return path.resolve().relative_to(ROOT).with_suffix("").as_posix()


def main(argv: list[str]) -> int:
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(REPRO_ENV)
    full_run = not argv
    paths = [Path(p) for p in argv] or [ROOT / f"{d}.ipynb" for d in chapter_docnames()]
    paths = [p for p in paths if ".ipynb_checkpoints" not in p.parts]
    timings: dict[str, float] = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        seconds = time.perf_counter() - start
        # Keep the stored notebook free of per-run noise.
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path}: executed in {seconds:.1f} s")
        timings[docname_of(path)] = seconds
    in_book = set(chapter_docnames())
    timed = {d: s for d, s in timings.items() if d in in_book}
    today = dt.date.today().isoformat()
    write_report(update_report(load_report(), timed, machine_description(), today, full_run), REPORT)
    print(f"{REPORT.relative_to(ROOT)}: updated {len(timed)} chapter(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
