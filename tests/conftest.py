"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (tests never use a global RNG)."""
    return np.random.default_rng(20261122)
