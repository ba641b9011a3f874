"""Stock held where no demand reaches it (``idle_stock``): which rows, their value, and
how ``evaluate`` and ``optimize`` flag them (a warning line, a report section, a JSON key).

The cases are worked out by hand from the support tree: a spare at a site serves the
failures of the fleets there and the orders of the sites below it (for a sub-item, the
repairs of its parent there).
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.scenario import scenario_from_dict
from tests.conftest import EXAMPLES

RUNNER = CliRunner()


def tree() -> dict[str, Any]:
    """HUB → B1 (fleet of A), B2 (fleet of B), B3 (no fleet).  X is in A and B and never
    base-repaired; Y is in B only; Z is in A and always repaired at the base (nothing
    reaches HUB); S is a sub-item of X replaced in 30 % of its repairs; Q a sub-item of
    X never replaced."""
    return {
        "sites": [{"id": "HUB"}, {"id": "B1", "parent": "HUB", "order_ship_days": 2},
                  {"id": "B2", "parent": "HUB", "order_ship_days": 2},
                  {"id": "B3", "parent": "HUB", "order_ship_days": 2}],
        "systems": [{"id": "A"}, {"id": "B"}],
        "fleets": [{"system": "A", "site": "B1", "count": 2, "hours_per_day": 10},
                   {"system": "B", "site": "B2", "count": 3, "hours_per_day": 10}],
        "items": [
            {"id": "X", "unit_cost": 1000, "mtbf_hours": 500,
             "installed_in": [{"system": "A"}, {"system": "B"}], "depot_repair_days": 20},
            {"id": "Y", "unit_cost": 500, "mtbf_hours": 800, "installed_in": [{"system": "B"}],
             "depot_repair_days": 20},
            {"id": "Z", "unit_cost": 200, "mtbf_hours": 800, "installed_in": [{"system": "A"}],
             "base_repair_fraction": 1.0, "base_repair_days": 2, "depot_repair_days": 20},
            {"id": "S", "parent": "X", "unit_cost": 50, "replace_fraction": 0.3,
             "depot_repair_days": 10},
            {"id": "Q", "parent": "X", "unit_cost": 70, "replace_fraction": 0.0,
             "depot_repair_days": 10},
        ],
        "stock": [
            {"item": "X", "site": "HUB", "qty": 1},   # orders of B1 and B2: used
            {"item": "X", "site": "B3", "qty": 2},    # no fleet at B3: idle
            {"item": "Y", "site": "B1", "qty": 3},    # A does not use Y: idle
            {"item": "Y", "site": "B2", "qty": 1},    # used
            {"item": "Z", "site": "HUB", "qty": 4},   # repaired at B1, never sent up: idle
            {"item": "Z", "site": "B1", "qty": 1},    # used
            {"item": "S", "site": "HUB", "qty": 2},   # X's repairs at HUB replace S: used
            {"item": "S", "site": "B1", "qty": 1},    # X is not repaired at B1: idle
            {"item": "Q", "site": "HUB", "qty": 1},   # never replaced: idle
        ],
    }


def test_idle_rows_by_hand() -> None:
    ev = sustain.evaluate(scenario_from_dict(tree()))
    got = {(r["item"], r["site"]): (r["qty"], r["value"]) for r in ev.idle_stock()}
    assert got == {("X", "B3"): (2, 2000.0), ("Y", "B1"): (3, 1500.0),
                   ("Z", "HUB"): (4, 800.0), ("S", "B1"): (1, 50.0), ("Q", "HUB"): (1, 70.0)}
    values = [r["value"] for r in ev.idle_stock()]
    assert values == sorted(values, reverse=True)  # the most valuable first
    assert ev.to_dict()["idle_stock"] == ev.idle_stock()


def test_a_lateral_link_makes_a_neighbours_stock_useful() -> None:
    """Linked with B2 (where B uses Y), B1's Y can serve B2's failures: no longer idle.
    B3 is not linked, and B2 sees no demand for S either: those stay idle."""
    data = tree()
    data["laterals"] = [{"from": "B1", "to": "B2", "days": 1}]
    ev = sustain.evaluate(scenario_from_dict(data))
    got = {(r["item"], r["site"]) for r in ev.idle_stock()}
    assert got == {("X", "B3"), ("Z", "HUB"), ("S", "B1"), ("Q", "HUB")}


def test_no_key_without_idle_stock() -> None:
    """A scenario whose stock all serves some demand has no ``idle_stock`` key (the JSON
    document is what it was)."""
    sc = sustain.load_scenario(EXAMPLES / "coalition-air-defence.yaml")
    assert "idle_stock" not in sustain.evaluate(sc).to_dict()


def test_cli_flags_idle_stock(tmp_path: Any) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tree()))
    res = RUNNER.invoke(app, ["evaluate", str(path), "--json", "-o", str(tmp_path / "r.md")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["site"] for r in doc["idle_stock"]] == ["B3", "B1", "HUB", "HUB", "B1"]
    assert "warning: stock worth 4,420 EUR is held where no demand reaches it: X at B3 " \
        "(2 units, 2,000 EUR), Y at B1 (3 units, 1,500 EUR), Z at HUB (4 units, 800 EUR) " \
        "and 2 more" in res.stderr
    md = (tmp_path / "r.md").read_text()
    assert "## Idle stock" in md and "| X | B3 | 2 | 2,000 |" in md


def test_optimize_flags_idle_stock(tmp_path: Any) -> None:
    """The plan's stock: buying leaves the idle rows idle, and says so."""
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tree()))
    res = RUNNER.invoke(app, ["optimize", str(path), "-t", "0.8", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {(r["item"], r["site"]) for r in doc["idle_stock"]} == {
        ("X", "B3"), ("Y", "B1"), ("Z", "HUB"), ("S", "B1"), ("Q", "HUB")}
    assert "warning: stock worth 4,420 EUR" in res.stderr
