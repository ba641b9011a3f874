"""Excel workbooks (extra ``tables``: openpyxl): one sheet per table of a report.

Numbers stay numbers: a share is written as the number in [0, 1] with a percent format,
money with thousands separators, other numbers with the column's decimals.  The first
row holds the column headings in bold and stays in view; columns are as wide as their
longest text.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from sustain.errors import MissingExtraError
from sustain.report.model import Cell, Column, Kind, Report, Table

#: Excel's limit on a sheet name's length.
SHEET_NAME_MAX = 31
#: Characters Excel refuses in a sheet name.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: Widest column, in characters (a long text wraps past this in Excel's own display).
MAX_WIDTH = 60


def require_openpyxl(what: str) -> None:
    """Raise :class:`MissingExtraError` naming ``what`` when openpyxl is not installed."""
    try:
        import openpyxl  # noqa: F401  (imported to see that it is there)
    except ImportError:
        raise MissingExtraError(f"{what}: an Excel workbook", "tables") from None


def number_format(column: Column) -> str:
    """The Excel number format for ``column``'s values."""
    decimals = "." + "0" * column.digits if column.digits > 0 else ""
    if column.kind is Kind.PERCENT:
        return f"0{decimals}%"
    if column.kind is Kind.MONEY:
        return "#,##0"
    if column.kind is Kind.NUMBER:
        return f"#,##0{decimals}"
    if column.kind is Kind.INT:
        return "0"
    return "General"


def sheet_names(tables: list[Table]) -> list[str]:
    """A valid, distinct sheet name per table: its name, cut to 31 characters, with
    characters Excel refuses replaced and a number added when two would be the same."""
    names: list[str] = []
    seen: set[str] = set()
    for table in tables:
        base = _SHEET_FORBIDDEN.sub("_", table.name).strip("'") or "table"
        name = base[:SHEET_NAME_MAX]
        n = 2
        while name.lower() in seen:
            tail = f" ({n})"
            name = base[: SHEET_NAME_MAX - len(tail)] + tail
            n += 1
        seen.add(name.lower())
        names.append(name)
    return names


def _value(value: Cell) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value == "":
        return None
    return value


def write_xlsx(report: Report, path: Path) -> None:
    """Write ``report``'s tables to ``path``, one sheet each (a report with no table
    gets one sheet with its title)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    tables = report.tables()
    if not tables:
        wb.create_sheet("report").append([report.title])
    bold = Font(bold=True)
    for table, name in zip(tables, sheet_names(tables), strict=True):
        ws = wb.create_sheet(name)
        ws.append([c.heading for c in table.columns])
        for cell in ws[1]:
            cell.font = bold
        formats = [number_format(c) for c in table.columns]
        for row in table.data_rows():
            ws.append([_value(v) for v in row])
            for cell, fmt, value in zip(ws[ws.max_row], formats, row, strict=True):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"
        for n, (column, texts) in enumerate(
            zip(table.columns, zip(*table.text_rows(), strict=True) if table.rows
                else [()] * len(table.columns), strict=True), start=1):
            width = max([len(column.heading), *(len(t) for t in texts)])
            ws.column_dimensions[get_column_letter(n)].width = min(width + 2, MAX_WIDTH)
    wb.save(path)


__all__ = ["number_format", "require_openpyxl", "sheet_names", "write_xlsx"]
