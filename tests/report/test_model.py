"""The report model: values shown by column kind, Markdown tables, tables and charts listed."""

import math

import pytest

from sustain.report.model import (
    Chart,
    Column,
    Kind,
    Report,
    Section,
    Series,
    Table,
    Text,
    show,
    to_markdown,
)


def test_values_are_shown_by_kind() -> None:
    assert show(0.93125, Column("a", Kind.PERCENT)) == "93.1 %"
    assert show(1250000.4, Column("c", Kind.MONEY)) == "1,250,000"
    assert show(0.12345, Column("d", Kind.NUMBER, digits=3)) == "0.123"
    assert show(7, Column("n", Kind.INT)) == "7"
    assert show(None, Column("a", Kind.PERCENT)) == "n/a"
    assert show(math.nan, Column("a", Kind.NUMBER)) == "n/a"
    assert show("text", Column("t")) == "text"


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        Table("t", (Column("a"), Column("b")), (("x", "y"), ("z",)))


def test_markdown_aligns_numbers_right_and_escapes_pipes() -> None:
    table = Table("fleets", (Column("system"), Column("cost", Kind.MONEY, unit="EUR")),
                  (("A|B", 1000.0),))
    report = Report("R", intro=(Text("Intro."),),
                    sections=(Section("Fleets", (table, Chart("c", "t", "day", "%", ()))),))
    text = to_markdown(report)
    assert text == ("# R\n\nIntro.\n\n## Fleets\n\n| system | cost (EUR) |\n|---|---:|\n"
                    "| A\\|B | 1,000 |\n")
    assert report.tables() == [table]
    assert [c.name for c in report.charts()] == ["c"]
    assert Series("s", (0.0,), (None,)).y == (None,)
