"""Why fleets are down: JSON keys, the terminal table, the report section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.report.drivers import drivers_section, worst_fleets
from sustain.report.model import Kind, Table, Text
from tests.cli.test_evaluate_cli import EXAMPLE, SMALL

RUNNER = CliRunner()
KEYS = {"item", "site", "share", "ebo", "availability_without", "from_upper_sites",
        "from_sub_items"}


def _fleet(system: str, av: float | None, drivers: list[tuple[str, float]],
           other: tuple[int, float] = (0, 0.0)) -> dict[str, Any]:
    return {
        "system": system, "site": "B", "count": 2, "availability": av,
        "expected_available": 0.0,
        "drivers": [{"item": i, "site": "B", "share": s, "ebo": 0.5,
                     "availability_without": 0.9, "from_upper_sites": 0.25,
                     "from_sub_items": 0.0} for i, s in drivers],
        "drivers_other": {"items": other[0], "share": other[1]},
    }


def test_the_section_lists_fleets_worst_first_with_typed_cells() -> None:
    fleets = [_fleet("GOOD", 0.95, [("X", 1.0)]),
              _fleet("BAD", 0.5, [("A", 0.7), ("B", 0.2)], (3, 0.1)),
              _fleet("EMPTY", None, [])]
    section = drivers_section(fleets)
    assert section.title == "Why fleets are down"
    text, table = section.blocks
    assert isinstance(text, Text) and isinstance(table, Table)
    assert [c.kind for c in table.columns][:4] == [Kind.TEXT, Kind.PERCENT, Kind.TEXT,
                                                   Kind.PERCENT]
    assert [r[:4] for r in table.rows] == [
        ("BAD at B", 0.5, "A", 0.7), ("", "", "B", 0.2), ("", "", "3 other items", 0.1),
        ("GOOD at B", 0.95, "X", 1.0),
    ]
    assert table.rules == (2,)
    assert [f["system"] for f in worst_fleets(fleets)] == ["BAD"]


def test_a_fleet_without_backorders_says_so() -> None:
    (table,) = [b for b in drivers_section([_fleet("S", 1.0, [])]).blocks
                if isinstance(b, Table)]
    assert table.rows == (("S at B", 1.0, "no backorders", "", "", "", "", ""),)


def test_evaluate_json_terminal_and_report(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    doc = json.loads(RUNNER.invoke(app, ["evaluate", str(path), "--json"]).stdout)
    for f in doc["fleets"]:
        assert all(set(r) == KEYS for r in f["drivers"])
        assert set(f["drivers_other"]) == {"items", "share"}
        total = sum(r["share"] for r in f["drivers"]) + f["drivers_other"]["share"]
        assert total == pytest.approx(1.0, abs=1e-12)
    shown = RUNNER.invoke(app, ["evaluate", str(path)])
    assert shown.exit_code == 0
    assert "Why fleets are down" in shown.stdout
    report = tmp_path / "r.md"
    assert RUNNER.invoke(app, ["evaluate", str(path), "-o", str(report), "-q"]).exit_code == 0
    text = report.read_text()
    assert "## Why fleets are down" in text
    assert "| SAMX at EAST |" in text


def test_optimize_json_carries_the_drivers_after_buying(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    result = RUNNER.invoke(app, ["optimize", str(path), "-t", "0.8", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert all("drivers" in f and "drivers_other" in f for f in doc["fleets"])


def test_worked_example_terminal_names_samx_at_east_first() -> None:
    result = RUNNER.invoke(app, ["evaluate", str(EXAMPLE)])
    assert result.exit_code == 0
    table = result.stdout[result.stdout.index("Why fleets are down"):]
    # The worst fleet (63 % with its lateral link to NORTH) first, with items absent
    # from the top-backorders table.
    assert 0 < table.index("SAMX at EAST") < table.index("SAMX at NORTH")
    assert "SAMX-ANT" in table
