"""Plain-text tables for chapter outputs (stable across machines, readable in HTML and Jupyter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["format_table"]


def _cell(x: Any, floatfmt: str) -> str:
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        return str(x)
    try:
        return format(float(x), floatfmt)
    except (TypeError, ValueError):
        return str(x)


def format_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], *, floatfmt: str = ".4g") -> str:
    """Format ``rows`` as an aligned plain-text table with a header rule.

    Integers print exactly, other numbers with ``floatfmt``, anything else with ``str``.
    Numeric columns are right-aligned.

    Examples
    --------
    >>> print(format_table([[1, 0.5], [10, 0.25]], ["n", "p"]))
     n     p
    --  ----
     1   0.5
    10  0.25
    """
    cells = [[_cell(x, floatfmt) for x in row] for row in rows]
    for i, row in enumerate(cells):
        if len(row) != len(headers):
            from ._validation import ValidationError

            raise ValidationError(
                f"format_table: `rows[{i}]` must have {len(headers)} entries (one per header); "
                f"received {len(row)}."
            )
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
