"""The optimiser's shortcuts for speed against its plain path, on a mid-size instance.

Curves built on demand (truncated at a gain per unit, extended when the greedy gets
there) and batched lazy rebuilds must leave the plan where the full curves put it:

* rebuilding dirty families ahead in batches never changes the greedy's path (each
  family is rebuilt from the same stock and weights as one at a time): same stock;
* truncated curves follow heuristic bounds, so the cost may move, but by at most
  0.1 % against full curves (the bar set for speed work), and every fleet still
  meets its target when the plan is re-evaluated by the readiness engine;
* each fleet's log-availability summed from the flat per-fleet array equals a
  correctly rounded sum over the families' current terms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sustain.optimize import curves, greedy
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.state import AllocationState
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

TARGET = 0.95


def instance(n_items: int = 240, n_bases: int = 6, n_systems: int = 3, seed: int = 5) -> (
    ScenarioArrays
):
    """Depot and bases, every system at every base, zero stock (a long curve)."""
    rng = np.random.default_rng(seed)
    n_sites = n_bases + 1
    qty = np.zeros((n_items, n_systems))
    qty[np.arange(n_items), rng.integers(0, n_systems, n_items)] = rng.integers(1, 4, n_items)
    fleet_system = np.repeat(np.arange(n_systems), n_bases).astype(np.int64)
    return ScenarioArrays(
        site_ids=("DEPOT", *(f"B{k}" for k in range(n_bases))),
        item_ids=tuple(f"I{k}" for k in range(n_items)),
        system_ids=tuple(f"S{k}" for k in range(n_systems)),
        site_parent=np.array([-1] + [0] * n_bases, dtype=np.int64),
        site_depth=np.array([0] + [1] * n_bases, dtype=np.int64),
        order_ship_days=np.concatenate([[0.0], rng.uniform(2, 10, n_bases)]),
        item_parent=np.full(n_items, -1, dtype=np.int64),
        item_level=np.zeros(n_items, dtype=np.int64),
        failures_per_hour=1.0 / rng.uniform(1_000, 30_000, n_items),
        qty_per_system=qty,
        replace_fraction=np.zeros(n_items),
        base_repair_fraction=rng.choice([0.0, 0.2, 0.5], n_items),
        base_repair_days=rng.uniform(1, 7, n_items),
        depot_repair_days=rng.uniform(10, 60, n_items),
        condemnation_fraction=rng.choice([0.0, 0.05], n_items),
        procurement_days=rng.uniform(90, 360, n_items),
        unit_cost=rng.uniform(1e3, 1e6, n_items),
        fleet_system=fleet_system,
        fleet_site=np.tile(np.arange(1, n_sites), n_systems).astype(np.int64),
        fleet_count=rng.integers(2, 12, fleet_system.size).astype(np.float64),
        fleet_hours_per_day=rng.uniform(4, 20, fleet_system.size),
        stock=np.zeros((n_items, n_sites)),
    )


def run(a: ScenarioArrays) -> tuple[np.ndarray, float]:
    res = marginal_allocation(a, targets=np.full(a.fleet_system.size, TARGET))
    assert res.met
    return res.stock, float(np.sum((res.stock - a.stock) * a.unit_cost[:, None]))


@pytest.fixture(scope="module")
def a() -> ScenarioArrays:
    return instance()


def full_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(greedy, "INITIAL_CUT", 0.0)
    monkeypatch.setattr(greedy, "REBUILD_CUT", 0.0)


def test_rebuilding_ahead_does_not_change_the_plan(
    a: ScenarioArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_curves(monkeypatch)
    batched, _ = run(a)
    monkeypatch.setattr(greedy, "REBUILD_AHEAD", 1)
    one_by_one, _ = run(a)
    np.testing.assert_array_equal(batched, one_by_one)
    monkeypatch.setattr(greedy, "REBUILD_AHEAD", 256)  # as the decomposition's repair
    np.testing.assert_array_equal(run(a)[0], one_by_one)


def test_curves_on_demand_cost_within_0_1_percent_of_full_curves(
    a: ScenarioArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    short: list[bool] = []
    build = curves.build_batch

    def counted(state: AllocationState, fams: list[Any], *args: Any) -> None:
        build(state, fams, *args)
        short.extend(f.curve.beyond > 0 for f in fams)

    monkeypatch.setattr(curves, "build_batch", counted)
    lazy_stock, lazy_cost = run(a)
    assert sum(short) > len(short) // 2  # the shortcut was taken (and extended)
    full_curves(monkeypatch)
    _, full_cost = run(a)
    assert lazy_cost == pytest.approx(full_cost, rel=1e-3)
    av = evaluate_arrays(a.with_stock(lazy_stock)).availability
    assert np.all(av >= TARGET - 1e-9)


def test_fleet_sums_match_a_correctly_rounded_sum_of_family_terms(a: ScenarioArrays) -> None:
    opt = AllocationState(
        a, weights=np.ones(a.fleet_system.size), lo=a.stock.copy(),
        hi=np.full_like(a.stock, np.inf), method=Method.VARI_METRIC,
    )
    rng = np.random.default_rng(0)
    opt.start_log_availability(evaluate_arrays(a))
    for g in rng.choice(len(opt.families), 40, replace=False).tolist():  # overwrite some
        opt.terms.assign(
            g, -rng.exponential(1e-3, opt.families[g].fleets.size) * 10.0 ** rng.integers(-6, 3)
        )
    fleets = np.arange(a.fleet_system.size)
    expected = [
        math.fsum(
            float(opt.terms.current[g][np.searchsorted(opt.families[g].fleets, f)])
            for g in range(len(opt.families)) if f in opt.families[g].fleets
        )
        for f in fleets.tolist()
    ]
    assert opt.exact_log_a(fleets).tolist() == expected
