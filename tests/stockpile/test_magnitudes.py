"""Magnitudes: plans counted or priced in very large or very small units, and what the
planner says when numbers defeat it.

The expected numbers are the hand cases of ``test_hand_cases.py`` multiplied by the
scale of the test (a plan counted in thousands of rounds is the same plan), and
Hypothesis checks that multiplying every cost and priority, or every quantity, by a
power of ten leaves the plan the same (quantities multiplied by it).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sustain.errors import SustainError
from sustain.scenario import load_scenario
from sustain.stockpile import NumericalError, PlanInfeasible, PlanTooLarge, plan_stockpile
from sustain.stockpile.api import plan_from_data
from sustain.stockpile.build import build_lp
from sustain.stockpile.data import PlanData, plan_data
from sustain.stockpile.scale import COST_WINDOW, Window, exponent, quantity_exponents
from sustain.stockpile.solve import HighsSolver, LPProblem, LPSolution, Status
from tests.conftest import EXAMPLES
from tests.stockpile.helpers import donor, flat_demand, plan_arrays, scenario
from tests.stockpile.test_properties import SETTINGS, instances

RTOL = 1e-9


def _issue_example(scale: float = 1.0, priority: float = 1.0) -> PlanData:
    """Stock 100, floor 60, output 10/month, demand 30/month for 3 months (× ``scale``)."""
    return plan_arrays(demand=[[30 * scale] * 3], stock=100 * scale, floor=60 * scale,
                       made=10 * scale, priority=priority)


# Powers of two -----------------------------------------------------------------------

def test_exponent_leaves_numbers_inside_the_window_alone() -> None:
    w = Window(lo=1.0, hi=2.0**10)
    assert exponent(1.0, 1024.0, w) == 0
    assert exponent(0.0, 0.0, w) == 0  # nothing to scale


def test_exponent_brings_large_numbers_down_below_the_top() -> None:
    w = Window(lo=1.0, hi=2.0**10)
    assert exponent(3.0, 1e6, w) == -10  # 1e6 / 1024 = 976.6 <= 1024; / 512 would not be
    assert exponent(1024.0, 1025.0, w) == -1


def test_exponent_brings_small_numbers_up_as_far_as_the_top_allows() -> None:
    w = Window(lo=1.0, hi=2.0**10)
    assert exponent(0.25, 10.0, w) == 2  # 0.25 · 4 = 1
    assert exponent(1e-9, 100.0, w) == 3  # 100 · 8 = 800 <= 1024: the top stops it


def test_windows_hold_ordinary_plans() -> None:
    """The worked example is solved as given: every consumable's quantities and every
    stage's costs lie in the windows (exponent 0)."""
    d = plan_data(load_scenario(EXAMPLES / "coalition-munitions.yaml").stockpile)
    lp, _ = build_lp(d)
    assert list(quantity_exponents(lp.qty_lo, lp.qty_hi)) == [0, 0]
    for stage in lp.stages:
        for g in range(lp.n_groups):
            c = np.abs(stage.cost[(lp.col_group == g) & (stage.cost != 0)])
            assert exponent(float(c.min()), float(c.max()), COST_WINDOW) == 0


# Costs and priorities ----------------------------------------------------------------

@pytest.mark.parametrize("k", [-3, 0, 6, 11])
def test_cheapest_surge_first_at_any_price(k: int) -> None:
    """Two donors may surge 20/month, at 5 and 7 (× 10**k); demand 25: 20 at 5 and 5 at
    7 each month, nothing short; cost 3 × (100 + 35) = 405 (× 10**k)."""
    scale = 10.0**k
    cheap = [{"consumable": "R", "from": "2024-01", "per_month": 20, "unit_cost": 5 * scale}]
    dear = [{"consumable": "R", "from": "2024-01", "per_month": 20, "unit_cost": 7 * scale}]
    r = plan_stockpile(scenario(donors=[donor("A", surge=cheap), donor("B", surge=dear)],
                                demand=flat_demand(25)))
    assert r.total_shortfall["R"] == pytest.approx(0, abs=1e-9)
    assert_allclose(r.surge[:, 0].sum(axis=1), [60, 15])
    assert r.objective["surge_cost"] == pytest.approx(405 * scale, rel=RTOL)


@pytest.mark.parametrize("priority", [1e-300, 1e-12, 1.0, 1e12, 1e300])
def test_any_priority_gives_the_same_plan(priority: float) -> None:
    """The issue example: short 0, 0, 20; capacity value 1 in every month (one more unit
    made reaches the partner); weighted shortfall 20 × priority."""
    r = plan_from_data(_issue_example(priority=priority))
    assert_allclose(r.shortfall[0], [0, 0, 20], atol=1e-9)
    assert_allclose(r.sent[0, 0], [30, 30, 10], atol=1e-9)
    assert_allclose(r.capacity_value[0, 0], [1, 1, 1], atol=1e-9)
    assert r.objective["shortfall"] == pytest.approx(20 * priority, rel=RTOL)


def test_example_priced_a_trillion_times_higher() -> None:
    """The worked example with every cost and priority × 1e12 (which HiGHS, given the
    numbers as they are, stops on with "solve error" or "not set") is the same plan,
    its surge cost and weighted shortfall × 1e12."""
    d = plan_data(load_scenario(EXAMPLES / "coalition-munitions.yaml").stockpile)
    base = plan_from_data(d)
    big = plan_from_data(replace(d, surge_cost=d.surge_cost * 1e12,
                                 unit_cost=d.unit_cost * 1e12, priority=d.priority * 1e12))
    assert_allclose(big.shortfall, base.shortfall, rtol=RTOL, atol=1e-6)
    assert_allclose(big.breach, base.breach, rtol=RTOL, atol=1e-6)
    assert big.objective["surge_cost"] == pytest.approx(base.objective["surge_cost"] * 1e12,
                                                        rel=1e-9)
    assert big.objective["shortfall"] == pytest.approx(base.objective["shortfall"] * 1e12,
                                                       rel=1e-9)


def _scaled(d: PlanData, k: int) -> PlanData:
    s = 10.0**k
    return replace(d, surge_cost=d.surge_cost * s, unit_cost=d.unit_cost * s,
                   priority=d.priority * s)


@SETTINGS
@given(instances(), st.integers(-3, 12))
def test_prices_scaled_by_a_power_of_ten_leave_the_plan(d: PlanData, k: int) -> None:
    base = plan_from_data(d)
    r = plan_from_data(_scaled(d, k))
    tol = 1e-6 * max(1.0, float(np.max(d.demand, initial=0.0)))
    assert_allclose(r.shortfall.sum(axis=1), base.shortfall.sum(axis=1), atol=tol)
    assert_allclose(r.shortfall, base.shortfall, atol=tol)
    assert_allclose(r.breach, base.breach, atol=tol)
    assert r.objective["surge_cost"] == pytest.approx(base.objective["surge_cost"] * 10.0**k,
                                                      rel=1e-6, abs=1e-6 * 10.0**k)


def _held_row_case() -> PlanData:
    """A case hypothesis found: with prices × 10**4 or more, the row holding the
    shortfall stage's optimum (coefficients 10**4 per unit short) had a slack of 1e-6
    in cost units, below the solver's feasibility tolerance in units short, and the
    last stage was declared infeasible."""
    z = np.zeros
    return PlanData(
        months=("2024-01", "2024-02", "2024-03"), donor_ids=("D0", "D1", "D2"),
        consumable_ids=("C0", "C1"), priority=np.ones(2), unit_cost=np.ones(2),
        demand=np.array([[0.0, 84, 28], [0, 0, 116]]), partner_stock=np.array([55.0, 0]),
        stock=np.array([[118.0, 0], [0, 0], [0, 0]]),
        floor=np.array([[165.0, 1], [85, 0], [129, 1]]),
        own_use=np.array([[10.0, 3], [20, 4], [3, 0]]), lead_months=np.array([0, 0, 0]),
        made=np.array([[[18.0, 60, 1], [3, 3, 3]], [[20, 5, 0], [0, 1, 23]],
                       [[3, 31, 4], [0, 1, 60]]]),
        surge_cap=np.array([[[4.0, 11, 10], [0, 0, 0]], [[0, 15, 21], [7, 0, 0]],
                            [[0, 0, 0], [0, 0, 0]]]),
        surge_cost=np.ones((3, 2, 3)),
        pledged=np.where(np.arange(18).reshape(3, 2, 3) == 13, 28.0, z((3, 2, 3))),
    )


@pytest.mark.parametrize("k", [4, 8, 12])
def test_held_optimum_row_keeps_a_slack_in_its_own_units(k: int) -> None:
    d = _held_row_case()
    base = plan_from_data(d)
    r = plan_from_data(_scaled(d, k))
    assert_allclose(r.shortfall, base.shortfall, atol=1e-6)
    assert r.objective["surge_cost"] == pytest.approx(base.objective["surge_cost"] * 10.0**k,
                                                      rel=1e-6)


# Quantities --------------------------------------------------------------------------

@pytest.mark.parametrize("k", [-9, -6, 0, 6, 12])
def test_issue_example_counted_in_any_unit(k: int) -> None:
    """Short 0, 0, 20; sent 30, 30, 10; stock 80, 60, 60; all × 10**k."""
    s = 10.0**k
    r = plan_from_data(_issue_example(scale=s))
    assert_allclose(r.shortfall[0], np.array([0, 0, 20]) * s, rtol=RTOL, atol=1e-9 * s)
    assert_allclose(r.sent[0, 0], np.array([30, 30, 10]) * s, rtol=RTOL, atol=1e-9 * s)
    assert_allclose(r.stock[0, 0], np.array([80, 60, 60]) * s, rtol=RTOL, atol=1e-9 * s)
    assert_allclose(r.capacity_value[0, 0], [1, 1, 1], atol=1e-9)


QUANTITIES = ("demand", "partner_stock", "stock", "floor", "own_use", "made", "surge_cap",
              "pledged")


@SETTINGS
@given(instances(), st.integers(-6, 10))
def test_quantities_scaled_by_a_power_of_ten_scale_the_plan(d: PlanData, k: int) -> None:
    s = 10.0**k
    base = plan_from_data(d)
    r = plan_from_data(replace(d, **{n: getattr(d, n) * s for n in QUANTITIES}))
    tol = 1e-6 * s * max(1.0, float(np.max(d.demand, initial=0.0)))
    assert_allclose(r.shortfall.sum(axis=1), base.shortfall.sum(axis=1) * s, atol=tol)
    assert_allclose(r.breach, base.breach * s, atol=tol)


@st.composite
def wild(draw: st.DrawFn) -> PlanData:
    """Instances whose quantities and costs each lie anywhere from 1e-12 to 1e12."""
    d = draw(instances())

    def spread(x: np.ndarray) -> np.ndarray:
        exps = draw(st.lists(st.integers(-12, 12), min_size=x.size, max_size=x.size))
        return x * 10.0 ** np.array(exps, dtype=float).reshape(x.shape)

    return replace(d, demand=spread(d.demand), stock=spread(d.stock), made=spread(d.made),
                   surge_cost=spread(d.surge_cost), floor=spread(d.floor),
                   pledged=np.zeros_like(d.pledged), own_use=np.zeros_like(d.own_use))


@SETTINGS
@given(wild())
def test_wide_magnitudes_give_a_plan_or_say_why_not(d: PlanData) -> None:
    """Either a plan whose JSON is strict (no NaN, no Infinity), or a NumericalError."""
    try:
        r = plan_from_data(d)
    except NumericalError as exc:
        assert "numerical trouble" in str(exc)
        return
    json.dumps(r.to_dict(), allow_nan=False)
    assert np.all(r.shortfall <= d.demand) and np.all(r.shortfall >= 0)


def test_months_of_supply_beyond_a_float_is_null() -> None:
    """Partner stock 1e12 against a demand of 1e-300 a month: 1e312 months, not a float."""
    r = plan_from_data(plan_arrays(demand=[[1e-300, 1e-300]], partner_stock=1e12))
    doc = r.to_dict()
    assert doc["consumables"][0]["months_of_supply"] == [None, None]
    json.dumps(doc, allow_nan=False)


# Bad numbers, huge plans -------------------------------------------------------------

def test_lead_months_beyond_the_longest_horizon_is_refused() -> None:
    """A lead of 10**30 months (beyond any integer array) is refused with a message."""
    plan = scenario(donors=[donor(stock=10)], demand=flat_demand(1)).stockpile
    assert plan is not None
    plan = replace(plan, donors=(replace(plan.donors[0], lead_months=10**30),))
    with pytest.raises(SustainError) as info:
        plan_data(plan)
    assert str(info.value) == (
        "stockpile: donor 'A': lead_months must be 0 to 1200 (the longest horizon): "
        f"got {10**30}"
    )


def test_a_number_that_is_not_finite_is_named() -> None:
    d = plan_arrays(demand=[[1.0, np.inf]], stock=5)
    with pytest.raises(SustainError) as info:
        plan_from_data(d)
    assert str(info.value) == "stockpile: demand of 'C0' in 2024-02 is not a finite number: got inf"


def test_plan_over_the_cell_limit_is_refused_before_it_is_built() -> None:
    d = plan_arrays(demand=np.ones((2, 10)), stock=np.ones((3, 2)), n_donors=3)
    with pytest.raises(PlanTooLarge) as info:
        plan_from_data(d, max_cells=59)
    assert str(info.value) == (
        "stockpile: the plan is too large: 3 donors × 2 consumables × 10 months = 60 "
        "donor-consumable-months (280 variables, 140 constraints), above the limit of 59; "
        "plan fewer months, donors or consumables at a time"
    )


def test_section_over_the_cell_limit_is_refused_before_its_arrays_are_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A century of months for two donors: 2 × 1 × 1,200 = 2,400 cells."""
    sc = scenario(months=1200, donors=[donor("A", stock=5), donor("B", stock=5)],
                  demand=flat_demand(1))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plan's arrays were made")

    monkeypatch.setattr("sustain.stockpile.api.plan_data", refuse)
    with pytest.raises(PlanTooLarge, match=r"^stockpile: the plan is too large: 2 donors × 1 "
                       r"consumable × 1,200 months = 2,400 donor-consumable-months"):
        plan_stockpile(sc, max_cells=2_399)


def test_consumable_over_the_donor_month_limit_is_refused() -> None:
    """Three donors hold C1 (1 each against 10 wanted: 7 short), one holds C0: C1's
    programme is 3 × 10 donor-months."""
    stock = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    d = plan_arrays(demand=np.ones((2, 10)), stock=stock, n_donors=3)
    assert plan_from_data(d, max_donor_months=30).total_shortfall["C1"] == pytest.approx(7)
    with pytest.raises(PlanTooLarge) as info:
        plan_from_data(d, max_donor_months=29)
    assert str(info.value) == (
        "stockpile: the programme of C1 is too large: 3 donors hold, keep, use, make or owe "
        "it × 10 months = 30 donor-months, above the limit of 29 (its solve time grows "
        "faster than its size); plan fewer months, or group small donors into one"
    )


# What the planner says when the solver fails -----------------------------------------

class Failing:
    """A solver that stops as HiGHS does on numerical trouble."""

    def __call__(self, problem: LPProblem) -> LPSolution:
        return LPSolution(status=Status.ERROR, x=np.full(problem.c.size, np.nan),
                          objective=np.nan, eq_duals=np.zeros(0),
                          message="(HiGHS Status 4: Solve error)")


def test_solver_failure_is_a_numerical_error_naming_the_magnitudes() -> None:
    """Stock from 1e-9 to 1e12: the message gives the extremes, their ratio, and advice."""
    d = plan_arrays(demand=[[5.0, 5.0]], stock=np.array([[1e-9], [1e12]]), n_donors=2,
                    surge_cap=np.array([[[0, 0]], [[3, 3]]]), surge_cost=2.5)
    with pytest.raises(NumericalError) as info:
        plan_from_data(d, solver=Failing())
    assert (info.value.consumable, info.value.stage) == ("C0", "surge_cost")
    assert str(info.value) == (
        "stockpile: numerical trouble: the solver could not finish the plan of C0 "
        "(surge_cost stage: (HiGHS Status 4: Solve error)), although a plan exists. "
        "The inputs of C0 span quantities from 1e-09 (stock of 'C0' of donor 'D0') to "
        "1e+12 (stock of 'C0' of donor 'D1'), a ratio of 1.0e+21; surge unit costs from "
        "2.5 (surge unit_cost of 'C0' of donor 'D1' in 2024-01) to 2.5 (surge unit_cost of "
        "'C0' of donor 'D1' in 2024-01), a ratio of 1.0e+00. Numbers that far apart cannot "
        "all be told apart in double precision: count in larger units, or leave out "
        "quantities and costs that are negligible next to the others."
    )


def test_solver_failure_on_ordinary_numbers_asks_for_a_report() -> None:
    with pytest.raises(NumericalError) as info:
        plan_from_data(_issue_example(), solver=Failing())
    assert str(info.value).endswith(
        "The inputs of C0 span quantities from 10 (production of 'C0' of donor 'D0' in "
        "2024-01) to 100 (stock of 'C0' of donor 'D0'), a ratio of 1.0e+01. That is within "
        "what the solver handles: please report this scenario as a bug."
    )


class Wrong:
    """HiGHS, but its answer sends 1,000 more than it should in every month."""

    def __call__(self, problem: LPProblem) -> LPSolution:
        sol = HighsSolver()(problem)
        return replace(sol, x=sol.x + 1_000.0)


def test_an_answer_that_breaks_a_constraint_is_not_reported_as_a_plan() -> None:
    with pytest.raises(NumericalError) as info:
        plan_from_data(_issue_example(), solver=Wrong())
    assert str(info.value).startswith(
        "stockpile: numerical trouble: the solver's plan of C0 takes the stock of donor 'D0' "
        "below 0 by 920 in 2024-01, more than rounding allows. The inputs of C0 span"
    )


class Infeasible:
    """A solver that calls every programme infeasible."""

    def __call__(self, problem: LPProblem) -> LPSolution:
        return replace(Failing()(problem), status=Status.INFEASIBLE,
                       message="The problem is infeasible. (HiGHS Status 8)")


def test_solver_calling_a_possible_plan_infeasible_is_numerical_not_exit_3() -> None:
    with pytest.raises(NumericalError, match=r"^stockpile: numerical trouble: the solver "
                       r"could not finish the plan of C0 \(shortfall stage: The problem is "
                       r"infeasible. \(HiGHS Status 8\)\), although a plan exists."):
        plan_from_data(_issue_example(), solver=Infeasible())


def test_a_pledge_over_by_less_than_the_check_tolerance_is_still_infeasible() -> None:
    """Stock 1,000,000 and a pledge of 1,000,000.5: half a unit too many, below the
    closed-form check's tolerance (1e-6 of the stock), so only the solver finds it."""
    d = plan_arrays(demand=[[0.0, 0.0]], stock=1e6, pledged=np.array([[[1e6 + 0.5, 0.0]]]))
    with pytest.raises(PlanInfeasible) as info:
        plan_from_data(d)
    assert info.value.families == ("donor_balance", "stock >= 0", "sent >= pledged")
    assert info.value.problems == [
        "donor 'D0' cannot meet its C0 commitments in 2024-01: by then its pledges "
        "(1,000,000) exceed its starting stock, production and surge capacity (1,000,000) "
        "by 0.5; reduce or move the pledges, or add production"
    ]
