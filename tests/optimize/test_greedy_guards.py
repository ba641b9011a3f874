"""The greedy's guards: no step without a gain, met fleets that fall back, narrowed boxes.

Under VARI-METRIC one more sub-item unit can lower a fleet's availability: the
parent's pipeline mean falls by more than its variance in relative terms, so the
fitted negative binomial widens.  In the scenario below a unit of the sub-item U0 at
the depot raises S0@B2 by 2e-5 and lowers S0@B1 by 1.6e-12 (both read off full
evaluations by the readiness engine).  The greedy must

* never buy a step whose gain under the current weights is not positive, and end;
* count a fleet again when a step takes it back below a target it had met, so that
  the plan it returns meets every target;
* keep buying an item whose upper-site range it had to narrow (budget runs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sustain.optimize import curves, greedy
from sustain.optimize.family import Family, SubItemMove
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.state import AllocationState
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from tests.optimize.test_three_echelons import three_echelons

DEPOT, B1, B2 = 0, 1, 2
T0, T1, U0 = 0, 1, 2


def widening() -> ScenarioArrays:
    """Two bases; T1 (with sub-item U0) in system S0; T0 in both systems."""
    doc: dict[str, Any] = {
        "sites": [{"id": "D"}, {"id": "B1", "parent": "D", "order_ship_days": 7.91},
                  {"id": "B2", "parent": "D", "order_ship_days": 3.23}],
        "systems": [{"id": "S0"}, {"id": "S1"}],
        "fleets": [
            {"system": "S0", "site": "B1", "count": 4, "hours_per_day": 16.62},
            {"system": "S0", "site": "B2", "count": 6, "hours_per_day": 10.26},
            {"system": "S1", "site": "B1", "count": 8, "hours_per_day": 11.01},
            {"system": "S1", "site": "B2", "count": 4, "hours_per_day": 5.71},
        ],
        "items": [
            {"id": "T0", "unit_cost": 1006.4, "mtbf_hours": 3585.537,
             "installed_in": [{"system": "S0", "qty": 2}, {"system": "S1", "qty": 1}],
             "depot_repair_days": 9.62, "base_repair_fraction": 0.5, "base_repair_days": 2.02,
             "procurement_days": 65.45},
            {"id": "T1", "unit_cost": 142.87, "mtbf_hours": 1570.396,
             "installed_in": [{"system": "S0", "qty": 2}], "depot_repair_days": 8.76,
             "base_repair_fraction": 0.5, "base_repair_days": 1.73, "procurement_days": 53.68},
            {"id": "U0", "parent": "T1", "replace_fraction": 0.67, "unit_cost": 40.13,
             "depot_repair_days": 20.18, "base_repair_days": 1.89},
        ],
        "stock": [
            *({"item": "T0", "site": s, "qty": 5} for s in ("D", "B1", "B2")),
            {"item": "T1", "site": "D", "qty": 12}, {"item": "T1", "site": "B1", "qty": 4},
            {"item": "T1", "site": "B2", "qty": 5}, {"item": "U0", "site": "B1", "qty": 13},
        ],
    }
    return compile_scenario(scenario_from_dict(doc))


@pytest.fixture(scope="module")
def a() -> ScenarioArrays:
    return widening()


def with_unit(a: ScenarioArrays, row: int, site: int) -> np.ndarray:
    stock = a.stock.copy()
    stock[row, site] += 1
    return stock


def test_a_sub_item_unit_lowers_one_fleet_and_raises_another(a: ScenarioArrays) -> None:
    before = evaluate_arrays(a).availability
    after = evaluate_arrays(a.with_stock(with_unit(a, U0, DEPOT))).availability
    assert -1e-11 < after[0] - before[0] < -1e-13  # S0@B1 falls
    assert after[1] - before[1] > 1e-5  # S0@B2 rises
    # Under METRIC (Poisson pipelines) no fleet falls.
    m0 = evaluate_arrays(a, method="metric").availability
    m1 = evaluate_arrays(a.with_stock(with_unit(a, U0, DEPOT)), method="metric").availability
    assert np.all(m1 >= m0)


def test_a_fleet_pushed_back_below_its_met_target_counts_again(a: ScenarioArrays) -> None:
    """S0@B2 needs the U0 unit (the only thing it can gain from); S0@B1 starts just
    above its target, which that unit takes it under; one more T1 at B1 restores it."""
    start = evaluate_arrays(a).availability
    targets = np.array([start[0] - 5e-13, start[1] + 1e-5, np.nan, np.nan])
    hi = a.stock.copy()
    hi[U0, DEPOT] += 1
    hi[T1, B1] += 3
    res = marginal_allocation(a, targets=targets, min_stock=a.stock, max_stock=hi)
    assert res.met
    bought = res.stock - a.stock
    assert bought[U0, DEPOT] == 1 and bought[T1, B1] >= 1
    av = evaluate_arrays(a.with_stock(res.stock)).availability
    assert np.all(av[:2] >= targets[:2])


def test_a_step_without_gain_is_never_bought(
    a: ScenarioArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A (deliberately wrong) candidate list offers the U0 unit at the depot with a high
    ratio while only S0@B1 counts, for which that unit loses: it is refused, the run
    ends, and the plan is what the curves alone give."""
    real = greedy.sub_item_move

    def offer(state: AllocationState, fam: Family, current: np.ndarray) -> None:
        real(state, fam, current)
        if fam.top == T1 and state.stock[U0, DEPOT] < state.hi[U0, DEPOT]:
            st = state.stock[fam.rows].copy()
            st[1, DEPOT] += 1
            terms, _ = state.family_eval(fam, st[None])
            fam.sub_move = SubItemMove(ratio=1e9, row=U0, site=DEPOT, terms=terms[0])

    monkeypatch.setattr(greedy, "sub_item_move", offer)
    start = evaluate_arrays(a).availability
    targets = np.array([start[0] + 1e-5, np.nan, np.nan, np.nan])
    hi = a.stock.copy()
    hi[U0, DEPOT] += 1
    hi[T1, B1] += 3
    res = marginal_allocation(a, targets=targets, min_stock=a.stock, max_stock=hi)
    assert res.stock[U0, DEPOT] == a.stock[U0, DEPOT]  # the losing unit was never bought
    assert res.met and res.stock[T1, B1] > a.stock[T1, B1]
    monkeypatch.setattr(greedy, "sub_item_move", real)
    plain = marginal_allocation(a, targets=targets, min_stock=a.stock, max_stock=hi)
    np.testing.assert_array_equal(res.stock, plain.stock)


def test_every_step_raises_the_fleets_below_their_targets(a: ScenarioArrays) -> None:
    """On the whole scenario (every unit allowed), each step raises Σ log A over the
    fleets below their targets just before it."""
    targets = np.array([0.99999, 0.99999, 0.999999, np.nan])
    res = marginal_allocation(a, targets=targets)
    assert res.met
    prev = res.start_availability
    for st in res.steps:
        below = ~np.isnan(targets) & (prev < targets)
        assert np.sum(np.log(st.availability[below]) - np.log(prev[below])) > 0
        prev = st.availability


def test_a_narrowed_box_is_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budget run on the three-echelon case with the enumeration cut to 3 × 3 upper
    levels: the first curve ends at the box (hub and intermediate at 2, bases at their
    caps, about 200 units); extended from there, the run goes past the box and spends
    the budget of 800 units."""
    a = compile_scenario(scenario_from_dict(three_echelons(14.3)))
    budget = 800 * 24.0
    monkeypatch.setattr(curves, "MIN_COMBOS", 9)
    monkeypatch.setattr(curves, "PIPE_BUDGET", 1)
    monkeypatch.setattr(curves, "CELL_BUDGET", 1)
    narrow = marginal_allocation(a, budget=budget)
    assert narrow.stock[0, 0] > 2 and narrow.stock[0, 1] > 2
    spent = float(np.sum((narrow.stock - a.stock) * a.unit_cost[:, None]))
    assert spent > 0.95 * budget
