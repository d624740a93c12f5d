"""Plain-text tables for chapter outputs (stable across machines, readable in HTML and Jupyter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._validation import ValidationError, _fail

__all__ = ["format_table"]


def _is_seq(x: Any) -> bool:
    # Lists, tuples and NumPy arrays of cells, but not a bare string (a sequence of characters).
    return not isinstance(x, (str, bytes)) and hasattr(x, "__len__") and hasattr(x, "__iter__")


def _is_iterable(x: Any) -> bool:
    return not isinstance(x, (str, bytes)) and hasattr(x, "__iter__")


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

    Parameters
    ----------
    rows : sequence of sequences
        The table body, one sequence of cells per row (lists, tuples or 1-D arrays).
    headers : sequence of str
        One heading per column.
    floatfmt : str, default ".4g"
        :func:`format` specification for non-integer numbers.

    Returns
    -------
    str
        The table, lines joined by newlines.

    Examples
    --------
    >>> print(format_table([[1, 0.5], [10, 0.25]], ["n", "p"]))
     n     p
    --  ----
     1   0.5
    10  0.25
    """
    where = "format_table"
    if not _is_seq(headers) or not all(isinstance(h, str) for h in headers):
        raise _fail(where, "headers", "a sequence of strings", headers)
    if not _is_iterable(rows):
        raise _fail(where, "rows", "a sequence of rows (each a sequence of cells)", rows)
    rows = [list(row) if _is_iterable(row) else row for row in rows]
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise _fail(where, f"rows[{i}]", "a sequence of cells", row)
    try:
        format(1.0, floatfmt)
    except (TypeError, ValueError):
        raise _fail(where, "floatfmt", "a float format specification such as '.4g'", floatfmt) from None
    cells = [[_cell(x, floatfmt) for x in row] for row in rows]
    for i, row in enumerate(cells):
        if len(row) != len(headers):
            raise ValidationError(
                f"format_table: `rows[{i}]` must have {len(headers)} entries (one per header); "
                f"received {len(row)}."
            )
    widths = [max([len(h)] + [len(r[j]) for r in cells]) for j, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
