"""The "Before and after" section of an optimisation: built from a document written by
hand (exact Markdown), and through the command line (terminal, Markdown and JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.report.before_after import TITLE, before_after_markdown, before_after_section
from sustain.report.model import Table
from tests.cli.test_evaluate_cli import SMALL

RUNNER = CliRunner()


def _doc(*, targets: bool, weight: float = 1.0) -> dict[str, Any]:
    """Two fleets of SAMX and one of IFV; 1,000,000 spent, 100,000 of it on stock no
    fleet's demand reaches."""
    t = 0.9 if targets else None
    return {
        "fleets": [
            {"system": "SAMX", "site": "EAST", "count": 1, "availability": 0.9,
             "availability_before": 0.5, "target": t, "weight": weight},
            {"system": "SAMX", "site": "NORTH", "count": 2, "availability": 0.95,
             "availability_before": 0.8, "target": t, "weight": weight},
            {"system": "IFV", "site": "EAST", "count": 24, "availability": 0.91,
             "availability_before": 0.91, "target": t, "weight": 1.0},
        ],
        "targets": [{"system": "SAMX", "site": "EAST", "target": 0.9}] if targets else [],
        "budget": None if targets else 1_000_000.0,
        "purchase_cost": 1_000_000.0,
        "spend_by_fleet": [{"system": "SAMX", "site": "EAST", "cost": 600_000.0},
                           {"system": "SAMX", "site": "NORTH", "cost": 250_000.0},
                           {"system": "IFV", "site": "EAST", "cost": 50_000.0}],
        "spend_by_system": [{"system": "IFV", "fleets": 1, "cost": 50_000.0},
                            {"system": "SAMX", "fleets": 2, "cost": 850_000.0}],
        "spend_unattributed": 100_000.0,
        "purchases_by_site": [{"site": "HUB", "lines": 2, "units": 3, "cost": 300_000.0},
                              {"site": "EAST", "lines": 4, "units": 9, "cost": 700_000.0}],
    }


def test_markdown_of_a_target_run() -> None:
    text = before_after_markdown(_doc(targets=True), "EUR")
    assert text.startswith(f"## {TITLE}\n\n")
    assert (
        "| system | site | systems | now | target | after | change (pts) | spend (EUR) |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n"
        "| SAMX | EAST | 1 | 50.0 % | 90.0 % | 90.0 % | 40.0 | 600,000 |\n"
        "| SAMX | NORTH | 2 | 80.0 % | 90.0 % | 95.0 % | 15.0 | 250,000 |\n"
        "| IFV | EAST | 24 | 91.0 % | 90.0 % | 91.0 % | 0.0 | 50,000 |\n"
    ) in text
    assert (
        "| system | fleets | spend (EUR) | share |\n"
        "|---|---:|---:|---:|\n"
        "| IFV | 1 | 50,000 | 5.0 % |\n"
        "| SAMX | 2 | 850,000 | 85.0 % |\n"
        "| no fleet's demand | n/a | 100,000 | 10.0 % |\n"
        "| total | 3 | 1,000,000 | 100.0 % |\n"
    ) in text
    assert (
        "| site | lines | units | cost (EUR) |\n"
        "|---|---:|---:|---:|\n"
        "| HUB | 2 | 3 | 300,000 |\n"
        "| EAST | 4 | 9 | 700,000 |\n"
        "| total | 6 | 12 | 1,000,000 |\n"
    ) in text


def test_budget_run_shows_weights_and_no_target_column() -> None:
    section = before_after_section(_doc(targets=False, weight=30.0), "EUR")
    fleets = next(b for b in section.blocks if isinstance(b, Table))
    assert [c.heading for c in fleets.columns] == [
        "system", "site", "systems", "weight", "now", "after", "change (pts)", "spend (EUR)"]
    assert [r[3] for r in fleets.rows] == [30.0, 30.0, 1.0]
    text = before_after_markdown(_doc(targets=False), "EUR")
    assert "| weight |" not in text
    assert "budget of 1,000,000 EUR" in text


def _small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_command_line(tmp_path: Path) -> None:
    """The terminal shows both tables, the Markdown report the section, the JSON the
    keys; the numbers agree with each other."""
    small = _small(tmp_path)
    report = tmp_path / "report.md"
    result = RUNNER.invoke(app, ["optimize", str(small), "-t", "0.95", "-o", str(report)])
    assert result.exit_code == 0, result.output
    assert "Availability now, target and after buying, per fleet" in result.stdout
    assert "Spend by system type" in result.stdout
    # Purchases by site, as in the report: one row per site bought at, then the total.
    by_site = json.loads(RUNNER.invoke(app, ["optimize", str(small), "-t", "0.95",
                                             "--json"]).stdout)["purchases_by_site"]
    out = result.stdout
    assert out.index("Spend by system type") < out.index("Purchases by site")
    lines = out[out.index("Purchases by site"):].splitlines()
    for r in by_site:
        (row,) = [x for x in lines if x.startswith(f"│ {r['site']} ")]
        assert [c.strip() for c in row.strip("│").split("│")] == [
            r["site"], str(r["lines"]), str(r["units"]), f"{r['cost']:,.0f}"]
    assert f"## {TITLE}" in report.read_text()
    result = RUNNER.invoke(app, ["optimize", str(small), "-t", "0.95", "--json"])
    doc = json.loads(result.stdout)
    assert [f["target"] for f in doc["fleets"]] == [0.95, 0.95]
    assert all(f["availability_before"] < 0.95 <= f["availability"] for f in doc["fleets"])
    assert doc["spend_by_system"] == [{"system": "SAMX", "fleets": 2,
                                       "cost": pytest.approx(doc["purchase_cost"])}]
    assert sum(r["cost"] for r in doc["purchases_by_site"]) == doc["purchase_cost"]
    for row in doc["fleets"]:
        assert f"{100 * row['availability_before']:.1f} %" in report.read_text()
