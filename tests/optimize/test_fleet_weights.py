"""Fleet weights in the budget objective Σ weight · N · log A.

Default weights reproduce the plans made before weights existed (the worked example's
budget plan, bit for bit); a larger weight never lowers its fleet's availability when
fleets compete for the money; weights leave target mode alone; bad weights are refused
with the fleet or key named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.optimize import optimize
from sustain.optimize.api import optimize_arrays
from sustain.scenario import Installation, Scenario, load_scenario, scenario_from_dict
from sustain.scenario.compile import compile_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coalition-air-defence.yaml"

#: sha256 of the worked example's plan at a budget of 5,000,000 (purchases, curve and
#: fleets, as JSON with sorted keys), made by the optimiser before fleet weights existed
#: (commit 28a5ba1): 78 purchase lines costing 4,997,500, 109 curve points.
BUDGET_PLAN_5M = "a9aae92602b34341535119e890d0be120c0d1f25205634db9f7e1ab4a1cf2225"
FLEET_KEYS = ("system", "site", "count", "availability", "expected_available")


def _plan_hash(doc: dict[str, Any]) -> str:
    doc = json.loads(json.dumps(doc))
    fleets = [{k: f[k] for k in FLEET_KEYS} for f in doc["fleets"]]
    blob = json.dumps({"purchases": doc["purchases"], "curve": doc["curve"], "fleets": fleets},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _example_without_redundancy() -> Scenario:
    """The worked example as it was when :data:`BUDGET_PLAN_5M` was made: one transmitter
    per battery radar (the example now has two, one needed)."""
    sc = load_scenario(EXAMPLE)
    one = (Installation(system="SAMX", qty=1),)
    return dataclasses.replace(sc, items=tuple(
        dataclasses.replace(i, installed_in=one) if i.id == "SAMX-TX" else i for i in sc.items))


def test_default_weights_reproduce_the_budget_plan() -> None:
    # The example as it was when the plan was made: no lateral link, one transmitter.
    doc = optimize(dataclasses.replace(_example_without_redundancy(), laterals=()),
                   budget=5e6).to_dict()
    assert doc["purchase_cost"] == 4_997_500
    assert len(doc["purchases"]) == 78
    assert _plan_hash(doc) == BUDGET_PLAN_5M
    assert all(f["weight"] == 1.0 for f in doc["fleets"])


def test_a_weight_moves_money_to_the_batteries() -> None:
    """The worked example at 5 M: with a weight of 30 on the batteries (SAMX: 3 systems
    against 42 vehicles and 18 howitzers), both battery fleets end higher than with the
    default weights, and more of the money goes to them."""
    sc = load_scenario(EXAMPLE)
    heavy = dataclasses.replace(sc, fleets=tuple(
        dataclasses.replace(f, weight=30.0) if f.system == "SAMX" else f for f in sc.fleets))
    plain = optimize(sc, budget=5e6).to_dict()
    weighted = optimize(heavy, budget=5e6).to_dict()
    for p, w in zip(plain["fleets"], weighted["fleets"], strict=True):
        if p["system"] == "SAMX":
            assert w["availability"] > p["availability"] + 0.05
            assert w["weight"] == 30.0
    spend = {r["system"]: r["cost"] for r in plain["spend_by_system"]}
    spend_w = {r["system"]: r["cost"] for r in weighted["spend_by_system"]}
    assert spend_w["SAMX"] > spend["SAMX"] + 1e6
    assert weighted["purchase_cost"] <= 5e6


def two_fleets(rng: np.random.Generator) -> dict[str, Any]:
    """A battery (1–3 systems, dearer parts) and vehicles (10–39 systems, cheap parts), at
    one base or at two bases under a depot; each has its own items (they compete for the
    money only)."""
    def site(name: str) -> dict[str, Any]:
        return {"id": name, "parent": "D", "order_ship_days": round(float(rng.uniform(1, 8)), 2)}

    one_base = bool(rng.random() < 0.5)
    fleets = [
        {"system": "BAT", "site": "B1", "count": int(rng.integers(1, 4)),
         "hours_per_day": round(float(rng.uniform(8, 20)), 2)},
        {"system": "VEH", "site": "B1" if one_base else "B2", "count": int(rng.integers(10, 40)),
         "hours_per_day": round(float(rng.uniform(4, 10)), 2)},
    ]
    items = []
    for system, cost in (("BAT", (2e4, 4e5)), ("VEH", (1e3, 3e4))):
        for k in range(int(rng.integers(2, 5))):
            items.append({
                "id": f"{system}{k}", "unit_cost": round(float(rng.uniform(*cost))),
                "mtbf_hours": round(float(rng.uniform(300, 5000))),
                "installed_in": [{"system": system, "qty": int(rng.integers(1, 3))}],
                "depot_repair_days": round(float(rng.uniform(10, 60)), 1),
                "base_repair_fraction": float(rng.choice([0.0, 0.3])), "base_repair_days": 3,
            })
    return {"sites": [{"id": "D"}, site("B1"), site("B2")],
            "systems": [{"id": "BAT"}, {"id": "VEH"}], "fleets": fleets, "items": items}


WEIGHTS = np.geomspace(0.05, 200, 13)


# Seeds 1-4 (with seed 0 the battery's parts come too dear for the weight to matter at
# these budgets); the same sweep on seeds 0-59 (240 sweeps, 3,120 runs) never saw a fleet
# fall (docs/optimize.md, Fleet weights).
@pytest.mark.parametrize(("seed", "method"), [(s, m) for s in range(1, 5)
                                              for m in ("metric", "vari-metric")])
def test_a_larger_weight_never_lowers_its_fleet(seed: int, method: str) -> None:
    """A sweep of the battery's weight at two budgets: its availability never falls, and
    over the sweep it rises (the weight moves money to it)."""
    rng = np.random.default_rng(seed)
    a = compile_scenario(scenario_from_dict(two_fleets(rng)))
    bat = a.system_ids.index("BAT")
    f = int(np.flatnonzero(a.fleet_system == bat)[0])
    # Budgets below the cost of taking both fleets to 0.99, so they compete for it.
    need = optimize_arrays(a, target=0.99, method=method, refine_seconds=0).purchase_cost
    for budget in (float(rng.uniform(0.1, 0.4)) * need, float(rng.uniform(0.4, 0.9)) * need):
        seen = []
        for w in WEIGHTS:
            weight = np.ones(2)
            weight[f] = w
            opt = optimize_arrays(a, budget=budget, weight=weight, method=method)
            assert opt.purchase_cost <= budget
            seen.append(float(opt.evaluation.availability[f]))
        assert np.all(np.diff(seen) >= -1e-12), (budget, seen)
        assert seen[-1] > seen[0]


def test_weights_do_not_change_target_mode() -> None:
    """Targets are per fleet: the plan is the same whatever the weights, with or without
    a budget."""
    rng = np.random.default_rng(7)
    a = compile_scenario(scenario_from_dict(two_fleets(rng)))
    heavy = np.array([1000.0, 0.001])
    for kw in ({"target": 0.9}, {"target": {"BAT": 0.95, "VEH": 0.8}}):
        plain = optimize_arrays(a, **kw, refine_seconds=0)  # type: ignore[arg-type]
        weighted = optimize_arrays(a, **kw, refine_seconds=0, weight=heavy)  # type: ignore[arg-type]
        np.testing.assert_array_equal(weighted.stock, plain.stock)
        np.testing.assert_array_equal(weighted.curve_cost, plain.curve_cost)
        capped = optimize_arrays(a, **kw, budget=plain.purchase_cost, refine_seconds=0,  # type: ignore[arg-type]
                                 weight=heavy)
        np.testing.assert_array_equal(capped.stock, plain.stock)


def test_only_the_ratio_of_weights_matters() -> None:
    """Weights 3 : 1 plan as 3e-9 : 1e-9 and as 3e5 : 1e5 do (with sub-items, whose units
    the greedy buys only above a gain threshold)."""
    rng = np.random.default_rng(2)
    doc = two_fleets(rng)
    for n, item in enumerate(doc["items"][:3]):
        doc["items"].append({"id": f"SUB{n}", "parent": item["id"], "replace_fraction": 0.5,
                             "unit_cost": item["unit_cost"] // 5, "depot_repair_days": 20})
    a = compile_scenario(scenario_from_dict(doc))
    budget = 0.5 * optimize_arrays(a, target=0.99, refine_seconds=0).purchase_cost
    plans = [optimize_arrays(a, budget=budget, weight=np.array([3.0, 1.0]) * scale).stock
             for scale in (1.0, 1e-9, 1e5)]
    assert np.any(plans[0][a.item_parent >= 0] > 0)  # sub-items bought
    for stock in plans[1:]:
        np.testing.assert_array_equal(stock, plans[0])


def test_weight_one_given_is_the_default() -> None:
    doc = two_fleets(np.random.default_rng(3))
    a = compile_scenario(scenario_from_dict(doc))
    for f in doc["fleets"]:
        f["weight"] = 1
    sc = scenario_from_dict(doc)
    assert [f.weight for f in sc.fleets] == [1.0, 1.0]
    budget = float(np.sum(a.unit_cost))
    np.testing.assert_array_equal(optimize(sc, budget=budget).stock,
                                  optimize_arrays(a, budget=budget).stock)


def test_scenario_weights_reach_the_optimiser() -> None:
    """The weight is read per fleet (system, site), whatever the order of the rows."""
    doc = two_fleets(np.random.default_rng(3))
    doc["fleets"] = doc["fleets"][::-1]
    doc["fleets"][1]["weight"] = 40  # the battery
    sc = scenario_from_dict(doc)
    a = compile_scenario(sc)
    budget = float(np.sum(a.unit_cost))
    weight = np.where(np.array(a.system_ids)[a.fleet_system] == "BAT", 40.0, 1.0)
    opt = optimize(sc, budget=budget)
    np.testing.assert_array_equal(opt.stock, optimize_arrays(a, budget=budget,
                                                             weight=weight).stock)
    assert [f["weight"] for f in opt.to_dict()["fleets"]] == weight.tolist()
    unweighted = optimize(dataclasses.replace(
        sc, fleets=tuple(dataclasses.replace(f, weight=1.0) for f in sc.fleets)), budget=budget)
    assert not np.array_equal(opt.stock, unweighted.stock)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_weight_in_the_api(bad: float) -> None:
    a = compile_scenario(scenario_from_dict(two_fleets(np.random.default_rng(1))))
    with pytest.raises(SustainError, match=r"weight of fleet \w+@B\d: must be a finite "
                                           r"number > 0"):
        optimize_arrays(a, budget=1e6, weight=np.array([1.0, bad]))
    with pytest.raises(SustainError, match="one per fleet"):
        optimize_arrays(a, budget=1e6, weight=np.ones(3))


@pytest.mark.parametrize(("value", "message"), [
    ("0", "must be > 0: got 0"),
    ("-2", "must be > 0: got -2"),
    (".nan", "must be a finite number: got nan"),
    ("heavy", "must be a number: got 'heavy'"),
    ("2e6", "must be <= 1,000,000: got 2e6"),
])
def test_bad_weight_exits_2_naming_the_key(tmp_path: Path, value: str, message: str) -> None:
    doc = two_fleets(np.random.default_rng(1))
    text = json.dumps(doc).replace('"hours_per_day"', '"weight": "@W@", "hours_per_day"', 1)
    path = tmp_path / "w.yaml"
    path.write_text(text.replace('"@W@"', value))
    result = CliRunner().invoke(app, ["optimize", str(path), "--budget", "1e6", "--json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert f"fleets[0].weight: {message}" in result.stderr
    assert "Traceback" not in result.output
