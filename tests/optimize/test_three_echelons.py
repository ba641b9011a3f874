"""Three echelons: the optimiser finds the optimum a fixed cap on depot levels missed.

A cheap part with high demand on a hub → intermediate depot → two bases tree, and an
expensive part beside it.  The cheap part's upper sites (hub and intermediate) each
have dozens of useful stock levels, so their combinations run into the thousands;
enumerating only 512 of them (a balanced box, about 22 × 22) kept the hub short, and
the plan made up for it with intermediate and base stock (about 2 % dearer).  The
enumeration is now as complete as its table budget allows.

The reference is an exhaustive enumeration over a box of stock levels, independent of
the optimiser:

* with the hub and intermediate levels fixed, a base's factor in the product formula
  depends on its own stock only (its resupply delay comes from the levels above it,
  never from a sibling base), so for every (hub, intermediate) pair the cheapest
  base stock meeting each fleet's target is found level by level; this independence
  is checked on random allocations with full evaluations;
* the expensive part's allocations are enumerated in full (every stock vector in its
  box), each combined with the cheapest completion of the cheap part.

The optimiser gets the same box as its stock limits, so the enumeration's minimum is
the optimum it should find.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from sustain.optimize.api import optimize_arrays
from sustain.optimize.curves import MIN_COMBOS, stock_caps
from sustain.optimize.state import AllocationState
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario

CHEAP_BOX = (100, 80, 25)  # hub, intermediate, each base
DEAR_BOX = (3, 3, 2, 2)  # hub, intermediate, base 0, base 1


def three_echelons(mid_ship_days: float) -> dict[str, Any]:
    part = {"installed_in": [{"system": "S", "qty": 1}]}
    return {
        "sites": [
            {"id": "HUB"},
            {"id": "MID", "parent": "HUB", "order_ship_days": mid_ship_days},
            {"id": "B0", "parent": "MID", "order_ship_days": 1.6},
            {"id": "B1", "parent": "MID", "order_ship_days": 4.8},
        ],
        "systems": [{"id": "S"}],
        "fleets": [
            {"system": "S", "site": "B0", "count": 22, "hours_per_day": 20},
            {"system": "S", "site": "B1", "count": 13, "hours_per_day": 20},
        ],
        "items": [
            {"id": "CHEAP", "unit_cost": 24.0, "mtbf_hours": 250.0, "depot_repair_days": 30.5,
             **part},
            {"id": "DEAR", "unit_cost": 624.0, "mtbf_hours": 15563.2,
             "depot_repair_days": 36.9, **part},
        ],
    }


def log_factors(a: ScenarioArrays, item: int, stock: np.ndarray) -> np.ndarray:
    """``Z log(1 − x)`` of ``item`` for each fleet (fleet f sits at base f) and each row of
    ``stock`` (rows × sites), from one evaluation of copies of the item."""
    ev = evaluate_arrays(a.subset(np.full(stock.shape[0], item, dtype=np.int64), stock=stock))
    s = a.fleet_site
    x = (ev.pipes.ebo[:, s] / ev.flows.demand[:, s] * a.failures_per_hour[item]
         * a.fleet_hours_per_day[None, :])
    with np.errstate(divide="ignore"):
        return a.qty_per_system[item, a.fleet_system] * np.log1p(-np.minimum(x, 1.0))


def enumerate_optimum(a: ScenarioArrays, target: float) -> tuple[float, np.ndarray]:
    """Cheapest stock in the boxes meeting ``target`` at both fleets, and that stock."""
    need = math.log(target - 1e-9)
    hub, mid, base = CHEAP_BOX
    h, m, b = np.meshgrid(np.arange(hub + 1), np.arange(mid + 1), np.arange(base + 1),
                          indexing="ij")
    rows = np.column_stack([h.ravel(), m.ravel(), b.ravel(), b.ravel()]).astype(float)
    cheap = log_factors(a, 0, rows).reshape(hub + 1, mid + 1, base + 1, 2)
    grid = np.meshgrid(*[np.arange(k + 1) for k in DEAR_BOX], indexing="ij")
    dear_stock = np.column_stack([g.ravel() for g in grid]).astype(float)
    dear = log_factors(a, 1, dear_stock)
    upper = np.arange(hub + 1)[:, None] + np.arange(mid + 1)[None, :]
    best, best_stock = math.inf, np.zeros((2, 4))
    for k in range(dear_stock.shape[0]):
        first = []
        for f in range(2):  # cheapest base stock per (hub, intermediate) level
            ok = cheap[:, :, :, f] + dear[k, f] >= need
            first.append(np.where(ok.any(axis=2), ok.argmax(axis=2), 10**6))
        units = upper + first[0] + first[1]
        i, j = np.unravel_index(int(np.argmin(units)), units.shape)
        cost = a.unit_cost[0] * units[i, j] + a.unit_cost[1] * dear_stock[k].sum()
        if cost < best:
            best = float(cost)
            best_stock = np.array([[i, j, first[0][i, j], first[1][i, j]], dear_stock[k]])
    return best, best_stock


@pytest.fixture(scope="module")
def case() -> ScenarioArrays:
    return compile_scenario(scenario_from_dict(three_echelons(14.3)))


def test_the_cheap_part_needs_more_upper_combinations_than_a_fixed_cap(
    case: ScenarioArrays,
) -> None:
    state = AllocationState(case, weights=np.ones(2), lo=case.stock.copy(),
                            hi=np.full_like(case.stock, np.inf), method=Method.VARI_METRIC)
    ev = evaluate_arrays(case)
    caps = stock_caps(state, np.array([0]), ev.pipes.mean[:1], ev.pipes.var[:1])
    combos = (caps[0, 0] + 1) * (caps[0, 1] + 1)
    assert combos > 4 * MIN_COMBOS


def test_a_base_factor_depends_on_its_own_stock_only(case: ScenarioArrays) -> None:
    rng = np.random.default_rng(1)
    stock = rng.integers(0, 40, (20, 4)).astype(float)
    other = stock.copy()
    other[:, 3] = rng.integers(0, 40, 20)  # change base 1 only
    np.testing.assert_array_equal(log_factors(case, 0, stock)[:, 0],
                                  log_factors(case, 0, other)[:, 0])


@pytest.mark.parametrize(("mid_ship_days", "target"), [(14.3, 0.9), (8.0, 0.95)])
def test_optimiser_finds_the_enumerated_optimum(mid_ship_days: float, target: float) -> None:
    a = compile_scenario(scenario_from_dict(three_echelons(mid_ship_days)))
    best, best_stock = enumerate_optimum(a, target)
    # The enumerated optimum meets the targets on a full evaluation of its stock.
    av = evaluate_arrays(a.with_stock(best_stock)).availability
    assert np.all(av >= target - 1e-9)
    hi = np.array([[*CHEAP_BOX[:2], CHEAP_BOX[2], CHEAP_BOX[2]], DEAR_BOX], dtype=float)
    opt = optimize_arrays(a, target=target, max_stock=hi)
    assert np.all(opt.evaluation.arrays.stock <= hi)
    assert np.all(opt.evaluation.availability >= target - 1e-9)
    assert opt.purchase_cost == pytest.approx(best, rel=1e-12)
