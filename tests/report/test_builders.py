"""The reports of every command: the charts carry the documents' data and units on both
axes; the optional parts appear only when the document has them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import sustain
from sustain.report.builders import (
    evaluation_report,
    optimization_report,
    over_time_report,
    simulation_report,
    stockpile_report,
)
from sustain.report.model import Kind, to_markdown
from tests.cli.test_evaluate_cli import SMALL
from tests.cli.test_output_types import _stockpile_yaml


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> sustain.Scenario:
    path = tmp_path_factory.mktemp("b") / "small.yaml"
    path.write_text(SMALL)
    return sustain.load_scenario(path)


def test_evaluation_bars_are_the_fleets_availability(small: sustain.Scenario) -> None:
    doc = sustain.evaluate(small).to_dict()
    report = evaluation_report(small, doc)
    (chart,) = report.charts()
    assert chart.x_labels == tuple(f"{f['system']} @ {f['site']}" for f in doc["fleets"])
    assert chart.series[0].y == tuple(f["availability"] for f in doc["fleets"])
    assert chart.series[0].style == "bar" and chart.y_kind is Kind.PERCENT
    assert "(%)" in chart.y_title
    titles = [s.title for s in report.sections]
    assert "Repair shops" not in titles and "Stock plans" not in titles
    assert "Approximation error" not in titles


def test_optimization_curve_is_cost_in_currency_against_availability(
        small: sustain.Scenario) -> None:
    doc = sustain.optimize(small, target=0.9, refine_seconds=0).to_dict()
    report = optimization_report(small, doc)
    curve = next(c for c in report.charts() if c.name == "efficient curve")
    overall = next(s for s in curve.series if s.name == "all systems")
    assert overall.x == tuple(float(p["cost"]) for p in doc["curve"])
    assert overall.y == tuple(p["availability"] for p in doc["curve"])
    assert curve.x_title == f"purchases ({small.currency})"
    assert curve.levels == ((0.9, "target 90 %"),)
    text = to_markdown(report)
    assert f"## Purchases ({doc['purchase_cost']:,.0f} {small.currency})" in text


def test_over_time_chart_has_every_day(small: sustain.Scenario) -> None:
    doc = sustain.evaluate_over_time(small, days=30, step=10).to_dict()
    (chart,) = over_time_report(small, doc).charts()
    assert [s.x for s in chart.series] == [(0.0, 10.0, 20.0, 30.0)] * len(doc["fleets"])
    assert chart.series[0].y == tuple(p["availability"] for p in doc["fleets"][0]["series"])


def test_simulation_chart_has_its_band(small: sustain.Scenario) -> None:
    doc = sustain.simulate(small, days=30, replications=3, seed=1, compare=True).to_dict()
    report = simulation_report(small, doc)
    (chart,) = report.charts()
    band = chart.series[0]
    points = doc["fleets"][0]["series"]
    assert band.low == tuple(p["lo"] for p in points)
    assert band.high == tuple(p["hi"] for p in points)
    assert all(lo <= y <= hi for lo, y, hi in zip(band.low, band.y, band.high, strict=True)
               if None not in (lo, y, hi))
    (fleets,) = report.tables()
    assert [c.title for c in fleets.columns][-2:] == ["VARI-METRIC", "METRIC"]


def test_stockpile_chart_per_consumable_by_month(tmp_path: Path) -> None:
    path = tmp_path / "rounds.yaml"
    path.write_text(_stockpile_yaml())
    sc = sustain.load_scenario(path)
    doc = sustain.plan_stockpile(sc).to_dict()
    (chart,) = stockpile_report(sc, doc).charts()
    assert chart.x_labels == tuple(doc["months"])
    donor = next(s for s in chart.series if s.name == "DONOR-A stock")
    assert donor.y == tuple(doc["donors"][0]["stock"])
    assert chart.levels == ((100.0, "DONOR-A floor"),)
    assert chart.y_title == "units" and chart.x_title == "month"


def test_dated_events_are_marked_on_the_time_charts(tmp_path: Path) -> None:
    path = tmp_path / "events.yaml"
    path.write_text(SMALL + """
deliveries:
  - {day: 20, system: SAMX, site: WEST, count: 2}
  - {day: 90, system: SAMX, site: WEST, count: 1}
tempo:
  - {from_day: 10, to_day: 60, factor: 2, site: EAST}
""")
    sc = sustain.load_scenario(path)
    doc = sustain.evaluate_over_time(sc, days=30, step=10).to_dict()
    (chart,) = over_time_report(sc, doc).charts()
    # The tempo window is cut at the last day; the delivery after it is left out.
    assert [(m.x, m.x1, m.label) for m in chart.markers] == [
        (10.0, 30.0, "tempo × 2 (at EAST)"), (20.0, None, "2 SAMX delivered to WEST")]


def test_over_time_data_table_has_every_fleet_and_day(small: sustain.Scenario,
                                                      tmp_path: Path) -> None:
    """The CSV of --over-time holds every reported day of every fleet, from the document;
    the Markdown leaves that data table out (the chart shows it)."""
    from sustain.report.builders import MAIN_TABLE
    from sustain.report.model import to_markdown
    from sustain.report.outputs import main_table, table_csv

    doc = sustain.evaluate_over_time(small, days=30, step=10).to_dict()
    report = over_time_report(small, doc)
    rows = list(csv.reader(table_csv(main_table(report, MAIN_TABLE["over-time"]))
                           .splitlines()))
    assert rows[0] == ["system", "site", "day", "systems present", "availability",
                       "expected available"]
    expected = [(f["system"], f["site"], p["day"], p["availability"])
                for f in doc["fleets"] for p in f["series"]]
    assert [(r[0], r[1], int(r[2]), float(r[4])) for r in rows[1:]] == expected
    assert "| systems present |" not in to_markdown(report)


def test_fill_down_repeats_blanks_in_data_files_only() -> None:
    from sustain.report.model import Column, Kind, Table, table_markdown
    from sustain.report.outputs import table_csv

    t = Table("t", (Column("fleet"), Column("item"), Column("share", Kind.PERCENT)),
              (("A", "x", 0.5), ("", "y", 0.5), ("B", "z", 1.0)), fill_down=(0,))
    assert table_csv(t).splitlines()[1:] == ["A,x,0.5", "A,y,0.5", "B,z,1.0"]
    assert "|  | y | 50.0 % |" in table_markdown(t)
