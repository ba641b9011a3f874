"""A stock plan read from CSV: the ``qty`` column of ``sustain optimize -o plan.csv``.

The plan replaces a scenario's stock (``sustain simulate --stock plan.csv``).  The file
needs the columns ``item``, ``site`` and ``qty``; other columns (``held``, ``buy``,
``cost``, …) are ignored, rows naming the same item and site add up.  Every problem is
reported with the file, the row (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import math
import os
import stat
from pathlib import Path

from sustain._paths import kind_of
from sustain.errors import SustainError
from sustain.scenario.messages import did_you_mean, quote
from sustain.scenario.model import Scenario

#: The most spares of an item a plan may hold at a site (the scenario's bound on stock).
MAX_PLAN_QTY = 1_000_000_000
#: Columns a stock plan must have.
PLAN_COLUMNS = ("item", "site", "qty")




def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of ``path``, which must be a regular UTF-8 text file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO must not hang
    except OSError as exc:
        raise SustainError(f"{path}: cannot read the stock plan: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise SustainError(f"{path}: is {kind_of(mode)}, not a stock plan file (CSV)")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SustainError(
            f"{path}: not a text file (UTF-8 expected): {exc.reason} at byte {exc.start}"
        ) from None
    reader = csv.DictReader(text.splitlines())
    try:
        header = list(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise SustainError(f"{path} row {reader.line_num}: not a CSV row: {exc}") from None
    return header, rows


def read_stock_plan(
    path: str | Path, scenario: Scenario | None = None
) -> dict[tuple[str, str], int]:
    """Spares per ``(item, site)`` from a plan CSV (columns item, site, qty).

    Parameters
    ----------
    path : str or Path
        The plan file.
    scenario : Scenario, optional
        When given, every item and site must be one of its ids.

    Raises
    ------
    SustainError
        The file cannot be read or is not a regular text file; a column is missing; an
        item or site is empty or not in ``scenario``; a quantity is not a whole number
        from 0 to :data:`MAX_PLAN_QTY` (also once rows for one item and site add up).
    """
    path = Path(path)
    header, rows = _read_rows(path)
    missing = [c for c in PLAN_COLUMNS if c not in header]
    if missing:
        raise SustainError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(expected the plan written by `sustain optimize -o plan.csv`: item,site,qty,…)"
        )
    items = [i.id for i in scenario.items] if scenario is not None else None
    sites = [s.id for s in scenario.sites] if scenario is not None else None
    known_items, known_sites = set(items or ()), set(sites or ())
    out: dict[tuple[str, str], int] = {}
    for n, row in enumerate(rows, start=2):
        raw = (row.get("qty") or "").strip()
        try:
            q = float(raw)
        except ValueError:
            raise SustainError(f"{path} row {n}: qty must be a number: got {quote(raw)}") from None
        if not math.isfinite(q) or q < 0 or q != int(q):
            raise SustainError(
                f"{path} row {n}: qty must be a whole number >= 0: got {quote(raw)}"
            )
        item = (row.get("item") or "").strip()
        site = (row.get("site") or "").strip()
        for column, what, value, known, ids in (
            ("item", "an item", item, known_items, items),
            ("site", "a site", site, known_sites, sites),
        ):
            if not value:
                raise SustainError(f"{path} row {n}: {column} is empty")
            if ids is not None and value not in known:
                raise SustainError(
                    f"{path} row {n}: {column}: {quote(value)} is not {what} of the "
                    f"scenario{did_you_mean(value, ids)}"
                )
        total = out.get((item, site), 0) + int(q)
        if total > MAX_PLAN_QTY:
            raise SustainError(
                f"{path} row {n}: qty must be at most {MAX_PLAN_QTY:,} for one item at one "
                f"site: got {quote(raw)}"
                + (f" (adding up to {total:,} with earlier rows)" if total != int(q) else "")
            )
        out[item, site] = total
    return out
