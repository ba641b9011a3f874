"""A target with a budget: the cheapest plan meeting the target if the budget covers it,
else :class:`BudgetTooSmall` naming the budget; and the curve of every mode is monotone.

Reference answers come from brute force over every stock in a box, evaluated by the
readiness engine (never from the optimiser).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from benchmarks.optimize_cases import brute_min_cost, multi_echelon_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sustain.optimize import BudgetTooSmall, TargetUnreachable
from sustain.optimize.api import optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from tests.optimize.test_targets import check_common, two_bases

#: Stock 0..BOX of each item in the brute force.
BOX = 7
UNIT = 100.0


def three_items() -> ScenarioArrays:
    """One site, one fleet of 4 systems, three items of equal cost (pipeline means 0.8,
    1.6 and 2.4 at zero stock): with equal costs and Poisson pipelines (each item's log
    factor concave in its stock) marginal analysis is optimal for every budget, so the
    best availability within a budget is the brute-force maximum."""
    doc = {
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "D", "count": 4, "hours_per_day": 10}],
        "items": [
            {"id": f"I{k}", "unit_cost": UNIT, "mtbf_hours": 40 * 20 / mean,
             "installed_in": [{"system": "S"}], "depot_repair_days": 20}
            for k, mean in enumerate((0.8, 1.6, 2.4))
        ],
    }
    return compile_scenario(scenario_from_dict(doc))


def brute(a: ScenarioArrays) -> tuple[np.ndarray, np.ndarray]:
    """Cost and availability of every stock 0..BOX of each item."""
    costs, avs = [], []
    for q in itertools.product(range(BOX + 1), repeat=a.n_items):
        stock = np.array(q, dtype=np.float64)[:, None]
        costs.append(float(stock.sum()) * UNIT)
        avs.append(float(evaluate_arrays(a.with_stock(stock), method="metric").availability[0]))
    return np.array(costs), np.array(avs)


def test_budget_and_target_against_brute_force() -> None:
    a = three_items()
    costs, avs = brute(a)
    target = 0.9
    cheapest = float(costs[avs >= target].min())
    hi = np.full_like(a.stock, BOX)
    bf = brute_min_cost(a, np.array([target]), a.stock, hi, "metric")
    assert bf is not None and bf.cost == pytest.approx(cheapest)
    # A budget that covers the cheapest plan: that plan, within the budget.
    for budget in (cheapest, cheapest + 250.0):
        opt = optimize_arrays(a, target=target, budget=budget, method="metric", max_stock=hi)
        check_common(a, opt, "metric")
        assert opt.purchase_cost == pytest.approx(cheapest)
        assert opt.evaluation.availability[0] >= target
        assert opt.budget == budget
    # One unit less: no plan within the budget meets the target (brute force); the error
    # names the budget and reports the best availability within it.
    for budget in (cheapest - UNIT, cheapest - 2.5 * UNIT, 0.0):
        best = float(avs[costs <= budget].max())
        with pytest.raises(BudgetTooSmall) as err:
            optimize_arrays(a, target=target, budget=budget, method="metric", max_stock=hi)
        e = err.value
        assert e.budget == budget and e.needed == pytest.approx(cheapest)
        assert e.spent <= budget
        [(system, site, t, reached)] = e.reached
        assert (system, site, t) == ("S", "D", target)
        assert reached == pytest.approx(best, rel=1e-9)
        assert e.shortfalls == e.reached
        message = str(e)
        assert message.startswith(f"the budget {budget:,.0f} is the cause")
        assert f"costs {cheapest:,.0f}" in message
        assert f"fleet S at D {reached:.4g} (target 0.9)" in message
        assert "stock limits" not in message


def test_stock_limits_are_blamed_before_the_budget() -> None:
    """No stock may be bought: the stock limits are the cause, whatever the budget."""
    a = three_items()
    for budget in (0.0, 1e9):
        with pytest.raises(TargetUnreachable) as err:
            optimize_arrays(a, target=0.9, budget=budget, max_stock=a.stock.copy())
        assert not isinstance(err.value, BudgetTooSmall)
        assert "within the stock limits given" in str(err.value)
        assert "budget" not in str(err.value)


def test_fleet_target_with_a_budget() -> None:
    a = compile_scenario(scenario_from_dict(two_bases()))
    alone = optimize_arrays(a, target={"SAMX@WEST": 0.9})
    assert alone.purchase_cost > 0
    opt = optimize_arrays(a, target={"SAMX@WEST": 0.9}, budget=alone.purchase_cost)
    check_common(a, opt)
    np.testing.assert_array_equal(opt.stock, alone.stock)
    with pytest.raises(BudgetTooSmall) as err:
        optimize_arrays(a, target={"SAMX@WEST": 0.9}, budget=alone.purchase_cost / 3)
    [(system, site, t, reached)] = err.value.reached  # only the fleet with a target
    assert (system, site, t) == ("SAMX", "WEST", 0.9) and reached < 0.9
    assert err.value.spent <= alone.purchase_cost / 3


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    target=st.floats(0.5, 0.95),
    share=st.floats(0.0, 1.5),
    method=st.sampled_from(["metric", "vari-metric"]),
)
def test_every_mode_stays_within_budget_and_its_curve_is_monotone(
    seed: int, target: float, share: float, method: str
) -> None:
    """Target, budget and both: the budget is never exceeded (or the run says the budget
    is the cause), and every curve rises in cost, in the share of systems up, and (with
    targets) in each fleet; with targets it ends at the plan (``check_common``).  The
    scenarios: a depot and two bases, up to 4 items with sub-items
    (``benchmarks.optimize_cases.multi_echelon_doc``)."""
    a = compile_scenario(scenario_from_dict(multi_echelon_doc(np.random.default_rng(seed))))
    alone = optimize_arrays(a, target=target, method=method)
    check_common(a, alone, method)
    budget = share * alone.purchase_cost
    both: Any
    try:
        both = optimize_arrays(a, target=target, budget=budget, method=method)
    except BudgetTooSmall as err:
        assert budget < alone.purchase_cost
        assert err.spent <= budget * (1 + 1e-12)
        both = None
    if both is not None:
        check_common(a, both, method)
        assert both.purchase_cost <= budget * (1 + 1e-12)
        assert np.all(both.evaluation.availability >= target - 1e-9)
    spend = optimize_arrays(a, budget=budget, method=method)
    check_common(a, spend, method)
    assert spend.purchase_cost <= budget * (1 + 1e-12)
