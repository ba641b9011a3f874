"""A small scenario for the sweep tests, as a mapping the tests edit by hand."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

import sustain


def small() -> dict[str, Any]:
    """Two echelons, two system types sharing an item, a sub-item, base repair."""
    return {
        "name": "sweep case",
        "sites": [{"id": "DEPOT"},
                  {"id": "B1", "parent": "DEPOT", "order_ship_days": 3},
                  {"id": "B2", "parent": "DEPOT", "order_ship_days": 5}],
        "systems": [{"id": "S"}, {"id": "T"}],
        "fleets": [{"system": "S", "site": "B1", "count": 6, "hours_per_day": 10},
                   {"system": "S", "site": "B2", "count": 4, "hours_per_day": 12},
                   {"system": "T", "site": "B1", "count": 5, "hours_per_day": 8}],
        "items": [
            {"id": "A", "mtbf_hours": 400, "installed_in": [{"system": "S", "qty": 1}],
             "depot_repair_days": 20, "base_repair_fraction": 0.3, "base_repair_days": 4,
             "unit_cost": 1000},
            {"id": "A1", "parent": "A", "replace_fraction": 0.5, "depot_repair_days": 12,
             "unit_cost": 300},
            {"id": "B", "mtbf_hours": 600, "installed_in": [{"system": "T", "qty": 2}],
             "depot_repair_days": 15, "unit_cost": 700},
            {"id": "C", "mtbf_hours": 900, "installed_in": [{"system": "S"}, {"system": "T"}],
             "depot_repair_days": 25, "unit_cost": 2000},
        ],
        "stock": [{"item": "A", "site": "B1", "qty": 2}, {"item": "B", "site": "B1", "qty": 1},
                  {"item": "C", "site": "DEPOT", "qty": 1}, {"item": "A1", "site": "DEPOT",
                                                            "qty": 1}],
    }


def edited(doc: dict[str, Any], table: str, field: str, factor: float,
           keep: Any = lambda row: True) -> dict[str, Any]:
    """``doc`` with ``field`` of the rows of ``table`` that ``keep`` takes times ``factor``
    (rows without the field are left alone): the edit a user would make by hand."""
    out = copy.deepcopy(doc)
    for row in out[table]:
        if field in row and keep(row):
            row[field] = row[field] * factor
    return out


def load(doc: dict[str, Any], tmp_path: Path, name: str = "case.yaml") -> sustain.Scenario:
    """``doc`` written as a YAML file and loaded as a user's scenario is."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return sustain.load_scenario(path)
