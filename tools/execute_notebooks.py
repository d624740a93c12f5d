"""Re-execute chapter notebooks in place with the book's reproducibility settings.

Usage: ``python tools/execute_notebooks.py [NOTEBOOK ...]`` (default: every chapter).
``make execute`` calls this. The environment set here is the one ``tests/conftest.py`` sets for
nbval, so stored outputs and re-executed outputs are produced under the same settings.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reproducibility import REPRO_ENV  # noqa: E402


def main(argv: list[str]) -> int:
    import nbformat
    from nbclient import NotebookClient

    os.environ.update(REPRO_ENV)
    paths = [Path(p) for p in argv] or sorted((ROOT / "chapters").rglob("*.ipynb"))
    paths = [p for p in paths if ".ipynb_checkpoints" not in p.parts]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = NotebookClient(nb, timeout=900, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        # Keep the stored notebook free of per-run noise.
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path}: "
              f"executed in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
