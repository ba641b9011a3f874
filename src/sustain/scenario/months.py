"""Month arithmetic of the stockpile horizon: ``YYYY-MM`` labels, offsets, calendar days."""

from __future__ import annotations

import calendar
import re

#: A month as written in a scenario: ``YYYY-MM``.
MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def month_number(month: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` string (``"2023-01"`` -> 24276)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_offset(start: str, month: str) -> int:
    """Index of ``month`` on a horizon starting at ``start`` (negative before it)."""
    return month_number(month) - month_number(start)


def month_label(start: str, k: int) -> str:
    """The ``YYYY-MM`` of month ``k`` of a horizon starting at ``start``."""
    n = month_number(start) + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def month_labels(start: str, months: int) -> tuple[str, ...]:
    """Every month of a horizon, ``YYYY-MM``."""
    return tuple(month_label(start, k) for k in range(months))


def days_in_months(start: str, months: int) -> tuple[int, ...]:
    """Calendar days of each month of a horizon (leap years included)."""
    out = []
    for label in month_labels(start, months):
        out.append(calendar.monthrange(int(label[:4]), int(label[5:7]))[1])
    return tuple(out)
