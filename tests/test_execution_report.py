"""The execution report (chapters/appendix/execution_times.json, tools/execute_notebooks.py).

`make execute` records each chapter's run time, date and machine; the appendix page renders it
(tools/sphinx_ext/publishing.py; the rendered page is checked in tests/test_book.py). Chapters come
from _toc.yml, so a chapter merged from another branch must have been executed with the tool.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import execute_notebooks  # noqa: E402
from book_sources import chapter_docnames  # noqa: E402

REPORT = ROOT / "chapters" / "appendix" / "execution_times.json"


def test_every_chapter_in_the_book_has_a_recorded_run():
    report = json.loads(REPORT.read_text(encoding="utf-8"))
    chapters = report["chapters"]
    missing = [d for d in chapter_docnames() if d not in chapters]
    assert not missing, ("chapters never run with tools/execute_notebooks.py (it records their time): "
                         + ", ".join(f"python tools/execute_notebooks.py {d}.ipynb" for d in missing))
    stale = sorted(set(chapters) - set(chapter_docnames()))
    assert not stale, f"execution report lists chapters no longer in _toc.yml: {stale} (run `make execute`)"
    for docname, entry in chapters.items():
        assert entry["seconds"] > 0 and entry["machine"], (docname, entry)
        dt.date.fromisoformat(entry["date"])
    full = report["last_full_run"]
    assert full and full["seconds"] > 0, "no full `make execute` recorded"
    dt.date.fromisoformat(full["date"])


def test_running_one_chapter_updates_only_its_entry():
    before = {
        "last_full_run": {"date": "2026-01-01", "seconds": 300.0, "machine": "old"},
        "chapters": {"chapters/a": {"seconds": 10.0, "date": "2026-01-01", "machine": "old"},
                     "chapters/b": {"seconds": 20.0, "date": "2026-01-01", "machine": "old"}},
    }
    after = execute_notebooks.update_report(before, {"chapters/b": 25.04}, "new", "2026-02-02", full_run=False)
    assert after["chapters"]["chapters/a"] == before["chapters"]["chapters/a"]
    assert after["chapters"]["chapters/b"] == {"seconds": 25.0, "date": "2026-02-02", "machine": "new"}
    assert after["last_full_run"] == before["last_full_run"]


def test_a_full_run_records_its_date_and_total_and_drops_removed_chapters():
    before = {"last_full_run": None,
              "chapters": {"chapters/gone": {"seconds": 1.0, "date": "2026-01-01", "machine": "old"}}}
    after = execute_notebooks.update_report(before, {"chapters/a": 10.0, "chapters/b": 5.0}, "m", "2026-03-03",
                                            full_run=True)
    assert set(after["chapters"]) == {"chapters/a", "chapters/b"}
    assert after["last_full_run"] == {"date": "2026-03-03", "seconds": 15.0, "machine": "m"}


def test_machine_description_names_cpu_python_and_threads():
    text = execute_notebooks.machine_description()
    assert "cores" in text and "Python" in text and "thread" in text
