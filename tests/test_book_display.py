"""Tests for vi_lib.book.display: plain-text tables."""


from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from vi_lib import ValidationError, format_table  # noqa: E402


def test_format_table_aligns_and_formats():
    text = format_table([[1, 0.123456, "a"], [100, 2.0, "bb"]], ["n", "x", "s"], floatfmt=".3f")
    assert text.splitlines() == ["  n      x   s", "---  -----  --", "  1  0.123   a", "100  2.000  bb"]


def test_format_table_rejects_ragged_rows():
    with pytest.raises(ValidationError, match=r"`rows\[1\]` must have 2 entries \(one per header\); received 1"):
        format_table([[1, 2], [3]], ["a", "b"])


def test_format_table_prints_bools_and_none_as_words():
    text = format_table([[True, None, 2.5]], ["flag", "none", "x"])
    assert text.splitlines()[2].split() == ["True", "None", "2.5"]
