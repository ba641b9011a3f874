"""Large fleets and high targets: long pipelines, many units per site.

* Leaf tables start at the lowest floor of a batch (``ebo_table(..., min_stock)``):
  the same numbers, to the bit, as the columns of a table from 0, and at target
  0.999999 (far in the tail of a pipeline of 11,000 units) they agree with mpmath sums
  of the definition.
* The greedy takes a curve's consecutive steps in one run when no other entry of the
  heap comes between them: the same steps (costs, stock, availabilities) as one unit
  at a time, checked with runs switched off.
* Plans meet their targets on an independent evaluation, and cost no more than the
  textbook one-unit-at-a-time greedy (``plain_greedy``) on fleets of thousands of
  systems.
* Work that once ran for minutes is now accepted; bigger work is still refused.
"""

from __future__ import annotations

from typing import Any

import mpmath as mp
import numpy as np
import pytest

from sustain.optimize import greedy, optimize
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.plain import plain_greedy
from sustain.optimize.work import MAX_WORK, estimate_work
from sustain.readiness.backorders import ebo_table
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.optimize.test_options import big_fleet as one_base_fleet


def depot_fleet(per_base: int, n_bases: int, n_items: int, mtbf: float = 3500.0) -> dict[str, Any]:
    """Items on ``n_bases`` bases of ``per_base`` systems, every repair at the depot."""
    return {
        "sites": [{"id": "DEPOT"}] + [
            {"id": f"B{b}", "parent": "DEPOT", "order_ship_days": 3} for b in range(n_bases)
        ],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": f"B{b}", "count": per_base, "hours_per_day": 24}
                   for b in range(n_bases)],
        "items": [
            {"id": f"P{k}", "unit_cost": 100.0 + 10 * k, "mtbf_hours": mtbf * (1 + 0.25 * k),
             "installed_in": [{"system": "S", "qty": 1}], "depot_repair_days": 30}
            for k in range(n_items)
        ],
    }


# -- tables from a floor ---------------------------------------------------------------
@pytest.mark.parametrize("low", [0, 1, 127, 128, 129, 5_000, 11_999, 12_000])
def test_a_table_from_a_floor_is_the_full_tables_columns(low: int) -> None:
    """Poisson and negative binomial rows, small means (recurrence from p(0)) and large
    ones (exact anchors every 128 levels): every column equal to the bit."""
    mean = np.array([0.0, 3.0, 450.0, 700.0, 6_000.0, 11_300.0])
    var = mean * np.array([1.0, 1.0, 1.5, 1.0, 2.0, 1.0])
    full = ebo_table(mean, var, 12_000)
    part = ebo_table(mean, var, 12_000, low)
    assert part.shape == (mean.size, 12_000 - low + 1)
    assert np.array_equal(part, full[:, low:])


def test_a_table_from_a_floor_refuses_a_floor_above_the_top() -> None:
    with pytest.raises(ValueError, match="min_stock"):
        ebo_table(np.array([5.0]), np.array([5.0]), 10, 11)


def test_far_tail_backorders_match_mpmath() -> None:
    """A base pipeline of 11,300 units (Poisson) and one of 11,300 with variance 2·mean
    (negative binomial), stocked for 0.999999: EBO(s) = Σ_{x>s} (x − s) p(x) by mpmath,
    relative error below 1e-9 from the mean to 9 standard deviations above it."""
    m = 11_300.0
    levels = [11_300, 12_250]
    mp.mp.dps = 30
    for v in (m, 2 * m):
        table = ebo_table(np.array([m]), np.array([v]), 12_250, 11_300)[0]
        for s in levels:
            sd = float(np.sqrt(v))
            top = int(s + 40 * sd) + 100  # terms past it below e^-800 of the sum
            exact = mp.fsum((x - s) * _pmf(m, v, x) for x in range(s + 1, top))
            got = table[s - 11_300]
            assert abs(got - float(exact)) <= 1e-9 * float(exact), (v, s, got, exact)


def _pmf(m: float, v: float, x: int) -> Any:
    """P(X = x) by mpmath: Poisson(m) when v = m, else the negative binomial of mean m
    and variance v (n = m²/(v − m), p = m/v)."""
    if v == m:
        return mp.exp(-m + x * mp.log(m) - mp.loggamma(x + 1))
    n, p = m * m / (v - m), m / v
    return mp.exp(mp.loggamma(n + x) - mp.loggamma(n) - mp.loggamma(x + 1)
                  + n * mp.log(p) + x * mp.log(1 - p))


# -- runs of steps ----------------------------------------------------------------------
@pytest.mark.parametrize(("per_base", "n_items", "target"),
                         [(1_000, 1, 0.999999), (1_000, 4, 0.9999), (500, 3, 0.99)])
def test_runs_take_the_same_steps_as_one_unit_at_a_time(
    monkeypatch: pytest.MonkeyPatch, per_base: int, n_items: int, target: float
) -> None:
    a = compile_scenario(scenario_from_dict(depot_fleet(per_base, 2, n_items)))
    targets = np.full(a.fleet_system.size, target)
    with_runs = marginal_allocation(a, targets=targets)
    monkeypatch.setattr(greedy, "RUN_MAX", 0)  # every step comes off the heap
    single = marginal_allocation(a, targets=targets)
    assert with_runs.met and single.met
    assert np.array_equal(with_runs.stock, single.stock)
    assert len(with_runs.steps) == len(single.steps) > 100
    for x, y in zip(with_runs.steps, single.steps, strict=True):
        assert x.cost == y.cost and x.rows == y.rows
        assert np.array_equal(x.stock, y.stock)
        assert np.array_equal(x.availability, y.availability)


# -- plans ------------------------------------------------------------------------------
@pytest.mark.parametrize(("per_base", "target"), [(400, 0.999), (1_000, 0.99)])
def test_no_dearer_than_the_one_unit_greedy_and_targets_met(per_base: int, target: float) -> None:
    """One item on a depot and two bases of hundreds of systems (pipelines of about
    100-350 units a base): the greedy's plan meets the targets on an independent
    evaluation and costs no more than the textbook greedy's (units of equal cost)."""
    a = compile_scenario(scenario_from_dict(depot_fleet(per_base, 2, 1)))
    targets = np.full(a.fleet_system.size, target)
    ours = marginal_allocation(a, targets=targets)
    plain = plain_greedy(a, targets=targets)
    assert ours.met and plain.met
    cost = float(np.sum(ours.stock * a.unit_cost[:, None]))
    plain_cost = float(np.sum(plain.stock * a.unit_cost[:, None]))
    assert cost <= plain_cost + 1e-9
    again = evaluate_arrays(a.with_stock(ours.stock))
    assert np.all(again.availability >= target - 1e-12)


def test_one_item_on_40000_systems_to_0_999999() -> None:
    """Two bases of 20,000 systems, every repair at the depot (30 days, plus 3 to ship;
    about 4,500 units in each base's pipeline without depot stock), whose estimated
    work was refused before: accepted, every target met on re-evaluation, and the depot
    stock the plan holds shortens both bases' pipelines."""
    sc = scenario_from_dict(depot_fleet(20_000, 2, 1))
    a = compile_scenario(sc)
    est = estimate_work(a, evaluate_arrays(a), a.stock, np.full_like(a.stock, np.inf))
    assert 1e8 < est.work < MAX_WORK
    opt = optimize(sc, target=0.999999)
    assert np.all(opt.evaluation.availability >= 0.999999 - 1e-12)
    stock = opt.stock[0]
    assert stock[0] > 0 and np.all(stock[1:] > 4_000)
    without = evaluate_arrays(a).pipes.mean[0, 1:]
    assert np.all(without > 4_500)
    assert np.all(opt.evaluation.pipes.mean[0, 1:] < without)


# -- the work limit ---------------------------------------------------------------------
def test_a_fleet_of_36501_systems_is_now_accepted() -> None:
    """One item on 36,501 systems (a pipeline of ~25,000 units), which once ran for
    minutes and was refused: its estimated work is now within the limit (it runs in
    about 10 processor seconds)."""
    doc = one_base_fleet(count=36_501, mtbf=300.0)
    doc["fleets"][0]["hours_per_day"] = 12
    a = compile_scenario(scenario_from_dict(doc))
    est = estimate_work(a, evaluate_arrays(a), a.stock, np.full_like(a.stock, np.inf))
    assert 1e8 < est.work < MAX_WORK
