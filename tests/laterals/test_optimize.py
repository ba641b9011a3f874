"""The optimiser with lateral links: brute force on small cases (the cases and the
brute force are in ``benchmarks/laterals_optimize.py``), and a budget run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from benchmarks.laterals_optimize import brute_min_cost, plan_cost, small_case

from sustain.optimize.api import Optimization, optimize_arrays
from sustain.optimize.laterals import polish_with_laterals
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario


@pytest.mark.parametrize("seed", [1000, 1003, 1005, 1007, 1011])
def test_one_item_plan_is_the_cheapest(seed: int) -> None:
    a, target = small_case(seed)
    assert a.n_items == 1
    best = brute_min_cost(a, target, max_units=4)
    assert np.isfinite(best)
    assert plan_cost(a, target) == pytest.approx(best, rel=1e-12)


def test_two_items_plan_is_the_cheapest() -> None:
    a, target = small_case(1002)
    assert a.n_items == 2
    best = brute_min_cost(a, target, max_units=2)
    assert np.isfinite(best)
    assert plan_cost(a, target) == pytest.approx(best, rel=1e-12)


def test_budget_run_spends_within_budget_and_beats_every_single_unit() -> None:
    a, _ = small_case(1000)
    opt = optimize_arrays(a, budget=100.0)
    assert 0 < opt.purchase_cost <= 100.0
    # Every one-unit plan is worth less (Σ N log A) than the plan bought.
    def value(stock: np.ndarray) -> float:
        av = evaluate_arrays(a.with_stock(stock)).availability
        return float(np.sum(a.fleet_count * np.log(av)))
    got = value(opt.stock)
    for s in range(a.n_sites):
        one = np.zeros_like(a.stock)
        one[0, s] = 1
        assert value(one) < got


def _linked_case(seed: int) -> ScenarioArrays:
    """Six items, a depot and three bases, A and B linked by a day's road (faster than
    either's resupply), part of the repairs at the bases."""
    rng = np.random.default_rng(seed)
    items = [{"id": f"P{i}", "unit_cost": float(rng.integers(1, 50)) * 1000.0,
              "mtbf_hours": float(rng.integers(300, 3000)), "installed_in": "SYS:1",
              "depot_repair_days": float(rng.integers(10, 40)),
              "base_repair_days": float(rng.integers(2, 8)),
              "base_repair_fraction": float(rng.uniform(0, 0.6))} for i in range(6)]
    doc = {"sites": [{"id": "HUB", "kind": "depot"}]
           + [{"id": s, "parent": "HUB", "order_ship_days": float(rng.integers(2, 10))}
              for s in "ABC"],
           "systems": [{"id": "SYS"}],
           "fleets": [{"system": "SYS", "site": s, "count": int(rng.integers(4, 20)),
                       "hours_per_day": float(rng.integers(4, 16))} for s in "ABC"],
           "items": items, "laterals": [{"from": "A", "to": "B", "days": 1.0}]}
    return compile_scenario(scenario_from_dict(doc))


@pytest.mark.parametrize("seed", [1, 2])
def test_a_fast_link_never_makes_the_plan_dearer(seed: int) -> None:
    """The links' plan is never dearer than the plan without them: that plan, evaluated
    with a link faster than resupply, still meets the targets, and the optimiser starts
    from it as well as from its own greedy."""
    a = _linked_case(seed)
    linked = optimize_arrays(a, target=0.9)
    unlinked = optimize_arrays(replace(a, laterals=None), target=0.9)
    assert np.all(evaluate_arrays(a.with_stock(unlinked.evaluation.arrays.stock)).availability
                  >= 0.9)
    assert _spent(linked) <= _spent(unlinked) + 1e-6
    assert np.all(linked.evaluation.availability >= 0.9 - 1e-12)


def test_polishing_a_plan_below_target_gives_nothing() -> None:
    a = _linked_case(1)
    assert polish_with_laterals(a, a.stock, np.full(a.fleet_system.size, 0.9)) is None


def _spent(res: Optimization) -> float:
    arr = res.evaluation.arrays
    return float(np.sum((arr.stock - res.held) * arr.unit_cost[:, None]))
