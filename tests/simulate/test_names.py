"""Names never decide: the simulator takes items and fleets in the order of the file.

Compiled arrays sort ids alphabetically.  The simulator follows the scenario's own
order wherever it does things in sequence (a system's installed items, the sub-items
replaced in one repair and so the repair jobs that reach a site's channels at the same
instant, the systems, the fleets), so renaming an item, a system or a site changes no
number for the same seed, while reordering the file may.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

import sustain
from sustain.scenario import scenario_from_dict

RUN: dict[str, Any] = dict(days=600, replications=6, seed=3, warmup_days=50)


def _channel_ties(u: str = "U", v: str = "V") -> dict[str, Any]:
    """A depot with one repair channel; every repair of P replaces each of its two
    sub-items with probability 1/2, so both often reach the channel at once."""
    return {
        "sites": [{"id": "D", "repair_channels": 1},
                  {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "B", "count": 12, "hours_per_day": 20}],
        "items": [
            {"id": "P", "mtbf_hours": 200, "installed_in": [{"system": "K"}],
             "depot_repair_days": 4},
            {"id": u, "parent": "P", "replace_fraction": 0.5, "depot_repair_days": 3},
            {"id": v, "parent": "P", "replace_fraction": 0.5, "depot_repair_days": 3},
        ],
        "stock": [{"item": "P", "site": "B", "qty": 2}, {"item": u, "site": "D", "qty": 1},
                  {"item": v, "site": "D", "qty": 1}],
    }


def _everything() -> dict[str, Any]:
    """Two echelons, two system types, sub-items, channels, and every time-phased key."""
    return {
        "sites": [{"id": "D", "repair_channels": 2},
                  {"id": "B1", "parent": "D", "order_ship_days": 3},
                  {"id": "B2", "parent": "D", "order_ship_days": 5, "repair_channels": 1}],
        "systems": [{"id": "K"}, {"id": "L"}],
        "fleets": [{"system": "K", "site": "B1", "count": 6, "hours_per_day": 16},
                   {"system": "L", "site": "B2", "count": 4, "hours_per_day": 12},
                   {"system": "K", "site": "B2", "count": 3, "hours_per_day": 10}],
        "items": [
            {"id": "P", "mtbf_hours": 300,
             "installed_in": [{"system": "K"}, {"system": "L", "qty": 2}],
             "depot_repair_days": 20, "base_repair_fraction": 0.4, "base_repair_days": 3,
             "condemnation_fraction": 0.1, "procurement_days": 60, "weibull_shape": 2},
            {"id": "Q", "mtbf_hours": 500, "installed_in": [{"system": "K"}],
             "depot_repair_days": 15},
            {"id": "R", "mtbf_hours": 700, "installed_in": [{"system": "L"}],
             "depot_repair_days": 25, "base_repair_fraction": 0.5, "base_repair_days": 5},
            {"id": "U", "parent": "P", "replace_fraction": 0.5, "depot_repair_days": 8,
             "base_repair_days": 2},
            {"id": "V", "parent": "P", "replace_fraction": 0.4, "depot_repair_days": 6,
             "base_repair_days": 2},
        ],
        "stock": [{"item": "P", "site": "D", "qty": 2}, {"item": "Q", "site": "B1", "qty": 1},
                  {"item": "U", "site": "D", "qty": 1}, {"item": "R", "site": "B2", "qty": 1}],
        "deliveries": [
            {"day": 60, "system": "K", "site": "B1", "count": 2,
             "stock": [{"item": "P", "qty": 2}, {"item": "Q", "qty": 1}]},
            {"day": 90, "system": "L", "site": "B1", "count": 2, "hours_per_day": 8},
            {"day": 30, "system": "K", "site": "B2", "count": 0,
             "stock": [{"item": "V", "qty": 3}]},
        ],
        "tempo": [{"from_day": 100, "to_day": 200, "factor": 2.0, "site": "B1"},
                  {"from_day": 150, "to_day": 300, "factor": 0.5, "system": "L"}],
        "attrition": [{"system": "K", "site": "B1", "losses_per_day": 0.01},
                      {"system": "K", "site": "B2", "day": 120, "count": 1},
                      {"system": "L", "site": "B2", "day": 120, "count": 1}],
        "battle_damage": [{"system": "K", "site": "B2", "damaged_per_day": 0.02,
                           "repair_days": 12}],
        "simulation": {"cannibalisation": True},
    }


def _rename(d: dict[str, Any], new: dict[str, str]) -> dict[str, Any]:
    """The scenario with every id renamed by ``new`` (items, systems and sites)."""
    d = copy.deepcopy(d)

    def ren(row: dict[str, Any], *keys: str) -> None:
        for k in keys:
            if row.get(k) is not None:
                row[k] = new[row[k]]

    for row in d["sites"]:
        ren(row, "id", "parent")
    for row in d["systems"]:
        ren(row, "id")
    for row in d["items"]:
        ren(row, "id", "parent")
        for inst in row.get("installed_in", []):
            ren(inst, "system")
    for row in d["fleets"] + d.get("tempo", []) + d.get("attrition", []) + d.get(
            "battle_damage", []):
        ren(row, "system", "site")
    for row in d["stock"]:
        ren(row, "item", "site")
    for row in d.get("deliveries", []):
        ren(row, "system", "site")
        for st in row.get("stock", []):
            ren(st, "item")
    return d


def _by_id(doc: dict[str, Any], old: dict[str, str] | None = None) -> dict[str, Any]:
    """The document's lists keyed by (original) ids, so that orders do not matter."""
    back = old or {}

    def o(x: str) -> str:
        return back.get(x, x)

    return {
        **{k: v for k, v in doc.items()
           if k not in ("fleets", "items", "repair", "repair_shops")},
        "fleets": {(o(f["system"]), o(f["site"])): {**f, "system": 0, "site": 0}
                   for f in doc["fleets"]},
        "items": {(o(r["item"]), o(r["site"])): {**r, "item": 0, "site": 0}
                  for r in doc["items"]},
        "repair": {o(r["site"]): r["in_repair_mean"] for r in doc["repair"]},
        "repair_shops": {
            o(r["site"]): {**r, "site": 0, "fleets": sorted(
                (o(f["system"]), o(f["site"])) for f in r["fleets"])}
            for r in doc.get("repair_shops", [])
        },
    }


@pytest.mark.parametrize("build", [_channel_ties, _everything])
def test_renaming_changes_no_number(build: Any) -> None:
    """Every id renamed so that the alphabetical order turns round: the same document
    (ids mapped back) for the same seed, steady state and time-phased."""
    d = build()
    ids = sorted({r["id"] for k in ("sites", "systems", "items") for r in d[k]})
    new = {x: f"z{len(ids) - n:02d}" for n, x in enumerate(ids)}  # reversed order
    one = sustain.simulate(scenario_from_dict(d), **RUN).to_dict()
    two = sustain.simulate(scenario_from_dict(_rename(d, new)), **RUN).to_dict()
    assert (one["events"] > 0) and (one["items"] != [])
    assert _by_id(two, {v: k for k, v in new.items()}) == _by_id(one)


def test_simultaneous_repairs_reach_the_channel_in_file_order() -> None:
    """Two sub-items alike in all but their place in the file: listing V before U
    gives V exactly the numbers U had (the first listed is queued first), and the
    first listed waits less for the one channel (mean backorders at the depot)."""
    def depot_backorders(d: dict[str, Any]) -> dict[str, float]:
        doc = sustain.simulate(scenario_from_dict(d), days=2000, replications=40, seed=1,
                               warmup_days=100).to_dict()
        return {r["item"]: r["backorders_mean"] for r in doc["items"] if r["site"] == "D"}

    uv = depot_backorders(_channel_ties())
    swapped = _channel_ties()
    swapped["items"][1], swapped["items"][2] = swapped["items"][2], swapped["items"][1]
    vu = depot_backorders(swapped)
    assert (vu["V"], vu["U"]) == (uv["U"], uv["V"])
    assert uv["U"] < uv["V"]
