"""Who the purchases serve: the spend split by fleet and system type, the purchases by
site, and each fleet's availability before and after.

The split is checked against shares worked out by hand from the demand flows (a fleet
at the root, a base-repaired item, a sub-item, a purchase no demand reaches), and its
sums on random instances; availability before is checked against our own evaluation of
the stock held.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from benchmarks.optimize_cases import multi_echelon_doc, multi_echelon_instance

from sustain.optimize.api import optimize_arrays
from sustain.optimize.spend import fleet_demand, split_spend
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import demand_flows
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario


def three_fleets() -> dict[str, Any]:
    """Fleet A at base B1 (2 systems × 10 h), B at base B2 (3 × 20 h), C at the root HUB
    (1 × 10 h); X is in all three, half repaired where it fails; S is a sub-item of X
    (never base-repaired); Y is in system B only."""
    return {
        "sites": [{"id": "HUB"}, {"id": "B1", "parent": "HUB", "order_ship_days": 2},
                  {"id": "B2", "parent": "HUB", "order_ship_days": 3}],
        "systems": [{"id": "A"}, {"id": "B"}, {"id": "C"}],
        "fleets": [{"system": "A", "site": "B1", "count": 2, "hours_per_day": 10},
                   {"system": "B", "site": "B2", "count": 3, "hours_per_day": 20},
                   {"system": "C", "site": "HUB", "count": 1, "hours_per_day": 10}],
        "items": [
            {"id": "X", "unit_cost": 1000, "mtbf_hours": 500,
             "installed_in": [{"system": "A"}, {"system": "B"}, {"system": "C"}],
             "base_repair_fraction": 0.5, "base_repair_days": 2, "depot_repair_days": 20},
            {"id": "S", "parent": "X", "unit_cost": 90, "replace_fraction": 0.4,
             "depot_repair_days": 10},
            {"id": "Y", "unit_cost": 500, "mtbf_hours": 800, "installed_in": [{"system": "B"}],
             "depot_repair_days": 20},
        ],
    }


def _buy(a: ScenarioArrays, units: dict[tuple[str, str], int]) -> np.ndarray:
    buy = np.zeros_like(a.stock)
    for (item, site), n in units.items():
        buy[a.item_ids.index(item), a.site_ids.index(site)] = n
    return buy


def test_split_by_hand() -> None:
    """Operating hours a day: A 20, B 60, C 10 (failures of X in proportion).

    X at HUB: C's failures arrive whole (10), A's and B's after half are repaired at
    their bases (10, 30): shares 0.2, 0.2, 0.6.  X at B1: A alone.  S at HUB: X's
    repairs at HUB (C 10, A 10, B 30) plus the S failures of the bases' repairs of X,
    all sent up (A 10, B 30): 10 : 20 : 60.  Y at B1: system B is not at B1, so no
    demand reaches it (unattributed).
    """
    a = compile_scenario(scenario_from_dict(three_fleets()))
    buy = _buy(a, {("X", "HUB"): 1, ("X", "B1"): 2, ("S", "HUB"): 1, ("Y", "B1"): 1})
    spend = split_spend(a, buy)
    fleet = {a.system_ids[k]: n for n, k in enumerate(a.fleet_system.tolist())}
    expected = {"A": 0.2 * 1000 + 2000 + 90 * 2 / 9, "B": 0.6 * 1000 + 90 * 6 / 9,
                "C": 0.2 * 1000 + 90 * 1 / 9}
    for system, cost in expected.items():
        assert spend.by_fleet[fleet[system]] == pytest.approx(cost, rel=1e-12)
    assert spend.unattributed == pytest.approx(500, rel=1e-12)
    total = float(np.sum(buy * a.unit_cost[:, None]))
    assert spend.by_fleet.sum() + spend.unattributed == pytest.approx(total, rel=1e-12)


def test_fleet_parts_add_up_to_the_demand() -> None:
    """The demand each fleet alone puts on an item at a site sums to the demand."""
    a = compile_scenario(scenario_from_dict(multi_echelon_doc(np.random.default_rng(5))))
    ii, ss = np.meshgrid(np.arange(a.n_items), np.arange(a.n_sites), indexing="ij")
    parts = fleet_demand(a, ii.ravel(), ss.ravel())
    np.testing.assert_allclose(parts.sum(axis=0), demand_flows(a).demand.ravel(),
                               rtol=1e-12, atol=1e-15)
    assert np.all(parts >= 0)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_spend_and_sites_sum_to_the_purchase_cost(seed: int) -> None:
    """On random budget runs: the fleets' spend (with what no demand reaches) sums to the
    purchase cost, each system type's spend to its fleets', the sites' to the purchases."""
    rng = np.random.default_rng(seed)
    a = compile_scenario(scenario_from_dict(multi_echelon_doc(rng)))
    budget = float(np.sum(a.unit_cost)) * float(rng.uniform(0.5, 3))
    opt = optimize_arrays(a, budget=budget)
    doc = opt.to_dict()
    assert doc["purchase_cost"] > 0
    by_fleet = [r["cost"] for r in doc["spend_by_fleet"]]
    assert all(c >= 0 for c in by_fleet)
    assert sum(by_fleet) + doc["spend_unattributed"] == pytest.approx(doc["purchase_cost"],
                                                                      rel=1e-12)
    assert doc["spend_unattributed"] == 0  # every site here has demand for every item
    for row in doc["spend_by_system"]:
        mine = [r["cost"] for r in doc["spend_by_fleet"] if r["system"] == row["system"]]
        assert row["fleets"] == len(mine)
        assert row["cost"] == pytest.approx(sum(mine), rel=1e-12, abs=1e-9)
    sites = doc["purchases_by_site"]
    assert sum(r["cost"] for r in sites) == pytest.approx(doc["purchase_cost"], rel=1e-12)
    assert sum(r["lines"] for r in sites) == len(doc["purchases"])
    assert sum(r["units"] for r in sites) == sum(p["qty"] for p in doc["purchases"])
    for r in sites:
        mine = [p for p in doc["purchases"] if p["site"] == r["site"]]
        assert r["cost"] == pytest.approx(sum(p["cost"] for p in mine), rel=1e-12)


def test_forced_stock_without_demand_is_unattributed() -> None:
    """A minimum stock at a site no fleet's demand reaches serves no fleet."""
    a = compile_scenario(scenario_from_dict(three_fleets()))
    lo = _buy(a, {("Y", "B1"): 2})  # Y is used by system B, which is at B2 only
    opt = optimize_arrays(a, target=0.0, min_stock=lo)
    doc = opt.to_dict()
    assert doc["purchase_cost"] == 1000
    assert doc["spend_unattributed"] == 1000
    assert all(r["cost"] == 0 for r in doc["spend_by_fleet"])
    assert doc["purchases_by_site"] == [{"site": "B1", "lines": 1, "units": 2, "cost": 1000.0}]
    # "Now" is the stock held, not the minimum the plan starts from.
    held = evaluate_arrays(a).availability
    assert [f["availability_before"] for f in doc["fleets"]] == held.tolist()


def test_a_linked_sites_stock_is_split_among_its_neighbours_fleets() -> None:
    """The same Y at B1, with B1 and B2 linked: B1's shelf serves B's failures at B2,
    so B's fleet pays for it; nothing is unattributed."""
    data = three_fleets()
    data["laterals"] = [{"from": "B1", "to": "B2", "days": 1}]
    a = compile_scenario(scenario_from_dict(data))
    spend = split_spend(a, _buy(a, {("Y", "B1"): 2}))
    assert spend.unattributed == 0.0
    assert spend.by_fleet.tolist() == [0.0, 1000.0, 0.0]


@pytest.mark.parametrize(("seed", "method"), [(11, "metric"), (12, "vari-metric"),
                                              (13, "vari-metric")])
def test_before_is_the_stock_held_and_after_is_not_lower(seed: int, method: str) -> None:
    """Target mode: availability before is our own evaluation of the stock held; no fleet
    ends below it (METRIC: more stock never lowers availability; VARI-METRIC: a sub-item
    unit can, by about 1e-6); every target is met."""
    _, a, t = multi_echelon_instance(seed)
    opt = optimize_arrays(a, target=t, method=method, refine_seconds=0)
    doc = opt.to_dict()
    held = evaluate_arrays(a, method=method).availability
    before = np.array([f["availability_before"] for f in doc["fleets"]])
    after = np.array([f["availability"] for f in doc["fleets"]])
    np.testing.assert_allclose(before, held, rtol=1e-12)
    assert np.all(after >= before - (0 if method == "metric" else 1e-6))
    assert all(f["target"] == t for f in doc["fleets"])
    assert np.all(after >= t - 1e-9)
    assert np.any(after > before)
