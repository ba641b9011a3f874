"""The ``offers`` and ``value`` tables: every problem in one message, with hints."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sustain.errors import ScenarioError
from sustain.scenario import scenario_from_dict

BASE: dict[str, Any] = {
    "sites": [{"id": "HUB"}, {"id": "EAST", "parent": "HUB"}],
    "systems": [{"id": "HOW155"}, {"id": "SAMX"}],
    "fleets": [{"system": "HOW155", "site": "EAST", "count": 4, "hours_per_day": 6}],
    "items": [{"id": "FCC", "mtbf_hours": 900, "installed_in": [{"system": "HOW155"},
                                                                 {"system": "SAMX"}],
               "depot_repair_days": 30}],
}
STOCKPILE: dict[str, Any] = {
    "start_month": "2023-01", "months": 6,
    "consumables": [{"id": "SHELL155"}],
    "demand": [{"consumable": "SHELL155", "from": "2023-01", "per_month": 100}],
}


def _doc(**keys: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(keys)
    return doc


def _problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    return [f"{i.path}: {i.message}" for i in info.value.issues]


def test_valid_offers_and_values_load() -> None:
    sc = scenario_from_dict(_doc(
        offers=[
            {"id": "HOW-DE", "donor": "DE", "kind": "systems", "system": "HOW155",
             "site": "EAST", "max": 6, "unit_cost": 4e6, "from_day": 60},
            {"id": "SAMX-NEW", "kind": "systems", "system": "SAMX", "site": "EAST", "max": 1,
             "unit_cost": 5e7, "hours_per_day": 16},
            {"id": "FCC-US", "kind": "spares", "item": "FCC", "site": "HUB", "max": 10,
             "unit_cost": 2e5},
            {"id": "SH-FR", "kind": "consumable", "consumable": "SHELL155", "per_month": 500,
             "unit_cost": 3500, "from_month": "2023-03"},
        ],
        value=[{"system": "SAMX", "per_system_day": 50}],
        stockpile=STOCKPILE,
    ))
    how, samx, fcc, shell = sc.offers
    assert how.hours_per_day == 6  # the fleet's
    assert samx.hours_per_day == 16 and samx.from_day == 0
    assert fcc.max == 10 and fcc.kind == "spares"
    assert shell.per_month == 500 and shell.from_month == "2023-03"
    assert sc.value_per_system_day("SAMX") == 50
    assert sc.value_per_system_day("HOW155") == 1


def test_without_the_keys_nothing_changes() -> None:
    sc = scenario_from_dict(_doc())
    assert sc.offers == () and sc.value == ()


def test_every_problem_in_one_message() -> None:
    problems = _problems(_doc(
        offers=[
            {"id": "A", "kind": "systems", "system": "HOW15", "site": "EAST", "max": 2,
             "unit_cost": 1},
            {"id": "A", "kind": "spares", "item": "FCX", "site": "EASST", "max": 1,
             "unit_cost": 1},
            {"id": "C", "kind": "spares", "item": "FCC", "site": "EAST", "max": -1,
             "unit_cost": 0},
            {"id": "D", "kind": "spares", "item": "FCC", "site": "EAST", "max": 1,
             "unit_cost": 1, "system": "SAMX"},
            {"id": "E", "kind": "systems", "system": "SAMX", "site": "EAST", "max": 1,
             "unit_cost": 1},
            {"id": "F", "kind": "consumable", "consumable": "SHELL155", "per_month": 5,
             "unit_cost": 1},
            {"id": "G", "kind": "spares", "site": "EAST", "unit_cost": 1},
            {"id": "H", "kind": "munitions", "unit_cost": 1},
        ],
        value=[{"system": "SAMXX", "per_system_day": 1},
               {"system": "SAMX", "per_system_day": -1}],
    ))
    text = "\n".join(problems)
    assert "offers[0].system: 'HOW15' is not a system id (did you mean 'HOW155'?)" in text
    assert "offers[1]: offer id 'A' given twice" in text
    assert "offers[1].item: 'FCX' is not an item id (did you mean 'FCC'?)" in text
    assert "offers[1].site: 'EASST' is not a site id (did you mean 'EAST'?)" in text
    assert "offers[2].max: must be >= 0: got -1" in text
    assert "offers[2].unit_cost: must be > 0: got 0" in text
    assert "offers[3].system: an offer of kind spares takes no system" in text
    assert "offers[4].hours_per_day: required: there is no fleet of 'SAMX' at 'EAST'" in text
    assert "offers[5].consumable: a consumable offer needs the stockpile section" in text
    assert "offers[6].item: required for an offer of kind spares" in text
    assert "offers[6].max: required for an offer of kind spares" in text
    assert "offers[7].kind: must be one of" in text
    assert "value[0].system: 'SAMXX' is not a system id (did you mean 'SAMX'?)" in text
    assert "value[1].per_system_day: must be >= 0: got -1" in text


def test_consumable_offer_rules() -> None:
    problems = _problems(_doc(
        stockpile=STOCKPILE,
        offers=[
            {"id": "S", "kind": "consumable", "consumable": "SHELL15", "per_month": 5,
             "unit_cost": 1},
            {"id": "T", "kind": "consumable", "consumable": "SHELL155", "per_month": 5,
             "unit_cost": 1, "from_month": "2022-12", "site": "EAST", "max": 3},
        ],
        value=[{"system": "SAMX", "per_system_day": 2}, {"system": "SAMX", "per_system_day": 3}],
    ))
    text = "\n".join(problems)
    assert "offers[0].consumable: 'SHELL15' is not a consumable id (did you mean 'SHELL155'?)" \
        in text
    assert "offers[1].from_month: month 2022-12 is before start_month 2023-01" in text
    assert "offers[1].site: an offer of kind consumable takes no site" in text
    assert "offers[1].max: an offer of kind consumable takes no max" in text
    assert "value[1]: value of 'SAMX' given twice" in text


def test_hours_of_an_existing_fleet_cannot_change() -> None:
    problems = _problems(_doc(offers=[
        {"id": "X", "kind": "systems", "system": "HOW155", "site": "EAST", "max": 1,
         "unit_cost": 1, "hours_per_day": 12},
    ]))
    assert any("runs 6 hours per day; an offer cannot change it: got 12" in p for p in problems)
