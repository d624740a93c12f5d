"""Root pytest configuration, loaded for both unit tests and nbval runs over chapters/.

nbval starts kernels that inherit this process's environment, so the reproducibility settings
used by `make execute` (tests/reproducibility.py) are applied here, before any kernel starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

from reproducibility import REPRO_ENV  # noqa: E402

os.environ.update(REPRO_ENV)
