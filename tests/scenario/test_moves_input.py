"""The ``moves`` table (routes for ``optimize --redistribute``): every problem in one
message, with hints; valid rows load with their defaults."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import ScenarioError
from sustain.scenario import scenario_from_dict
from sustain.scenario.model import Move

BASE: dict[str, Any] = {
    "sites": [{"id": "HUB"}, {"id": "WEST", "parent": "HUB"}, {"id": "EAST", "parent": "HUB"}],
    "systems": [{"id": "S"}],
    "fleets": [{"system": "S", "site": "WEST", "count": 2, "hours_per_day": 10}],
    "items": [{"id": "X", "mtbf_hours": 500, "installed_in": "S:1", "depot_repair_days": 10}],
}


def _doc(moves: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["moves"] = moves
    return doc


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    return [f"{i.path}: {i.message}" for i in info.value.issues]


def test_valid_moves_load() -> None:
    sc = scenario_from_dict(_doc([
        {"from": "EAST", "to": "WEST", "cost_per_unit": 800, "days": 2},
        {"from": "HUB", "to": "WEST", "item": "X", "cost_fraction": 0.1, "both_ways": True},
    ]))
    assert sc.moves == (
        Move(from_site="EAST", to_site="WEST", cost_per_unit=800.0, days=2.0),
        Move(from_site="HUB", to_site="WEST", item="X", cost_fraction=0.1, both_ways=True),
    )
    assert scenario_from_dict(BASE).moves == ()


def test_every_problem_at_once() -> None:
    got = _problems(_doc([
        {"from": "HUB", "to": "WESTT"},
        {"from": "WEST", "to": "WEST"},
        {"from": "HUB", "to": "WEST", "item": "Y", "cost_per_unit": 5, "cost_fraction": 0.1},
        {"from": "HUB", "to": "WEST", "cost_per_unit": -1},
        {"from": "HUB", "to": "EAST", "both_ways": True},
        {"from": "EAST", "to": "HUB"},
        {"fro": "EAST", "to": "HUB"},
        {"from": "HUB", "to": "EAST", "days": 4000, "cost_fraction": 101},
    ]))
    assert got == [
        "moves[3].cost_per_unit: must be >= 0: got -1",
        "moves[6].fro: unknown key (did you mean 'from'?)",
        "moves[7].cost_fraction: must be <= 100: got 101",
        "moves[7].days: must be <= 3650: got 4000",
        "moves[0].to: 'WESTT' is not a site id (did you mean 'WEST'?)",
        "moves[1].to: must differ from 'from' (a route joins two sites): got 'WEST'",
        "moves[2].item: 'Y' is not an item id",
        "moves[2].cost_fraction: give cost_per_unit or cost_fraction, not both",
        "moves[5]: route from 'EAST' to 'HUB' for every item given twice "
        "(first at <dict>)",
    ]


def test_cli_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "s.json"


    path.write_text(json.dumps(_doc([{"from": "HUB", "to": "NOWHERE"}])))
    res = CliRunner().invoke(app, ["optimize", str(path), "-t", "0.9", "--redistribute"])
    assert res.exit_code == 2
    assert "moves[0].to: 'NOWHERE' is not a site id" in res.output
