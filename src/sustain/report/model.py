"""What a report says, apart from how it is written: sections of text, tables and charts.

Every command builds one :class:`Report` from its results; the writers turn it into
Markdown (:func:`to_markdown`), and the other file types render the same object, so
a section added here appears in every format.  Tables keep typed values (numbers
stay numbers) and say how to show them through their columns' :class:`Kind`; charts
keep their data and the units of both axes.

Text blocks are Markdown (inline ``**bold**``, ```code```, lists with ``- ``), which
every writer can show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table as RichTable

#: A table cell: text, a number, or nothing known (shown as ``n/a``).
Cell = str | int | float | None


class Kind(StrEnum):
    """How a column's values are shown."""

    TEXT = "text"
    INT = "int"
    #: A number with a fixed number of decimals (:attr:`Column.digits`).
    NUMBER = "number"
    #: A share in [0, 1], shown as a percentage with :attr:`Column.digits` decimals.
    PERCENT = "percent"
    #: An amount of money, shown with thousands separators and no decimals.
    MONEY = "money"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its title, how its values are shown, and their unit (if any)."""

    title: str
    kind: Kind = Kind.TEXT
    digits: int = 1
    unit: str = ""

    @property
    def heading(self) -> str:
        """The title with the unit in parentheses: ``cost (EUR)``."""
        return f"{self.title} ({self.unit})" if self.unit else self.title

    @property
    def numeric(self) -> bool:
        """True when the values are numbers (aligned right)."""
        return self.kind is not Kind.TEXT


def _missing(value: Cell) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def show(value: Cell, column: Column) -> str:
    """``value`` as text for ``column``: ``93.1 %``, ``1,250,000``, ``n/a`` when unknown."""
    if _missing(value):
        return "n/a"
    if isinstance(value, str):
        return value
    assert value is not None
    if column.kind is Kind.PERCENT:
        return f"{100 * value:.{column.digits}f} %"
    if column.kind is Kind.MONEY:
        return f"{value:,.0f}"
    if column.kind is Kind.NUMBER:
        return f"{value:,.{column.digits}f}"
    if column.kind is Kind.INT:
        return f"{value:,.0f}" if isinstance(value, float) else str(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class Table:
    """A table: ``name`` is short (an Excel sheet's name, at most 31 characters)."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    title: str = ""
    #: Rows after which a rule is drawn (totals below the fleets, say).
    rules: tuple[int, ...] = ()
    #: Columns whose empty cells ("") repeat the value above in data files (CSV,
    #: spreadsheets), so each row can be sorted and filtered on its own; reports
    #: show the value once.
    fill_down: tuple[int, ...] = ()
    #: False for a table of data only: written to data files (CSV, spreadsheets), left
    #: out of reports read as text (Markdown, HTML), where a chart shows it.
    in_text: bool = True

    def __post_init__(self) -> None:
        width = len(self.columns)
        for n, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"table {self.name!r}: row {n} has {len(row)} cells, "
                                 f"not {width}")

    def data_rows(self) -> list[tuple[Cell, ...]]:
        """The rows as data files hold them: :attr:`fill_down` columns filled."""
        if not self.fill_down:
            return list(self.rows)
        last: dict[int, Cell] = {}
        out = []
        for row in self.rows:
            cells = list(row)
            for n in self.fill_down:
                if cells[n] == "" and n in last:
                    cells[n] = last[n]
                last[n] = cells[n]
            out.append(tuple(cells))
        return out

    def text_rows(self) -> list[list[str]]:
        """Every cell as text, as :func:`show` gives it."""
        return [[show(v, c) for v, c in zip(row, self.columns, strict=True)]
                for row in self.rows]


@dataclass(frozen=True, slots=True)
class Series:
    """One line (or band) of a chart: ``y`` against ``x``; ``low``/``high`` a band."""

    name: str
    x: tuple[float, ...]
    y: tuple[float | None, ...]
    low: tuple[float | None, ...] | None = None
    high: tuple[float | None, ...] | None = None
    #: ``line``, ``step`` (held until the next x), ``bar`` or ``markers``.
    style: str = "line"


@dataclass(frozen=True, slots=True)
class Marker:
    """A dated event on a chart's x axis (``x1`` given: a span, such as a tempo window)."""

    x: float
    label: str
    x1: float | None = None


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart: series against a common x axis; axis titles carry their units."""

    name: str
    title: str
    x_title: str
    y_title: str
    series: tuple[Series, ...]
    #: ``percent``: y values are shares in [0, 1] shown as percentages.
    y_kind: Kind = Kind.NUMBER
    markers: tuple[Marker, ...] = ()
    #: Horizontal reference lines (a target) as (y, label).
    levels: tuple[tuple[float, str], ...] = ()
    #: Names of the x positions 0, 1, 2, …: a categorical axis (a bar per fleet, a
    #: month per point); empty for a numeric axis.
    x_labels: tuple[str, ...] = ()
    #: For each level, the index of the series it belongs to (drawn in that series'
    #: colour: a donor's floor beside its stock), or -1 for a level of its own (a
    #: target, in the level colour); empty: every level of its own.
    level_series: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Text:
    """A block of Markdown text."""

    markdown: str


Block = Text | Table | Chart


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a report: its blocks in order."""

    title: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """A whole report: a title, an introduction and sections."""

    title: str
    intro: tuple[Block, ...] = ()
    sections: tuple[Section, ...] = field(default_factory=tuple)

    def tables(self) -> list[Table]:
        """Every table, in order (an Excel workbook's sheets)."""
        blocks = [*self.intro, *(b for s in self.sections for b in s.blocks)]
        return [b for b in blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        """Every chart, in order."""
        blocks = [*self.intro, *(b for s in self.sections for b in s.blocks)]
        return [b for b in blocks if isinstance(b, Chart)]


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(table: Table) -> str:
    """A Markdown (GitHub) table, numbers aligned right."""
    head = "| " + " | ".join(_escape(c.heading) for c in table.columns) + " |"
    rule = "|" + "".join("---:|" if c.numeric else "---|" for c in table.columns)
    body = ["| " + " | ".join(_escape(v) for v in row) + " |" for row in table.text_rows()]
    lines = [f"**{table.title}**", ""] if table.title else []
    return "\n".join([*lines, head, rule, *body])


def table_rich(table: Table) -> RichTable:
    """The table for the terminal (Rich), numbers aligned right, rules kept."""
    from rich.table import Table as RichTable

    t = RichTable(title=table.title or None)
    for c in table.columns:
        t.add_column(c.heading, justify="right" if c.numeric else "left")
    for n, row in enumerate(table.text_rows()):
        t.add_row(*row, end_section=n in table.rules)
    return t


def _block_markdown(block: Block) -> str | None:
    if isinstance(block, Text):
        return block.markdown.strip("\n")
    if isinstance(block, Table):
        return table_markdown(block) if block.in_text else None
    return None  # a chart: drawn by the formats that can draw (HTML), omitted here


def to_markdown(report: Report) -> str:
    """The report as Markdown text (charts are left out)."""
    parts = [f"# {report.title}"]
    parts += [t for b in report.intro if (t := _block_markdown(b))]
    for section in report.sections:
        parts.append(f"## {section.title}")
        parts += [t for b in section.blocks if (t := _block_markdown(b))]
    return "\n\n".join(parts) + "\n"
