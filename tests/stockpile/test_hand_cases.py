"""Stockpile plans worked by hand.

Every expected number below comes from the arithmetic in the docstring of its test, not
from running the planner.  Months are 2024-01, 2024-02, 2024-03 unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sustain.stockpile import PlanInfeasible, plan_stockpile
from sustain.stockpile.api import plan_from_data
from sustain.stockpile.build import build_lp
from sustain.stockpile.data import least_breach
from sustain.stockpile.solve import solve_lexicographic
from tests.stockpile.helpers import donor, flat_demand, plan_arrays, scenario

RTOL = 1e-9


def test_issue_example_no_lead_time() -> None:
    """Stock 100, floor 60, output 10/month, demand 30/month for 3 months, no lead time.

    The donor can give its 40 above the floor plus 3 × 10 made = 70 of the 90 wanted:
    total shortfall 20.  Served in order, months 1 and 2 get 30 each and month 3 the
    last 10 (stock 100 → 80 → 60 → 60).  One more unit made in any month reaches the
    partner in time and removes one unit of shortfall: capacity value 1 in every month.
    """
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=60, output=10)],
                                demand=flat_demand(30)))
    assert r.total_shortfall == {"R": pytest.approx(20, rel=RTOL)}
    assert_allclose(r.shortfall[0], [0, 0, 20], atol=1e-9)
    assert_allclose(r.stock[0, 0], [80, 60, 60], atol=1e-9)
    assert_allclose(r.sent[0, 0], [30, 30, 10], atol=1e-9)
    assert_allclose(r.capacity_value[0, 0], [1, 1, 1], atol=1e-9)
    assert r.objective["floor_breach"] == 0


def test_issue_example_with_lead_time() -> None:
    """The same donor with lead_months 1 and demand 35/month.

    Nothing sent can arrive in month 1: its 35 is short.  Shipments of months 1 and 2
    arrive in months 2 and 3; the donor can ship 40 + 10 + 10 = 60 by month 2 against
    70 wanted: 10 more short.  Total 45.  What is made in month 3 would arrive after the
    horizon: capacity value 0 there, 1 in months 1 and 2.
    """
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=60, output=10, lead_months=1)],
                                demand=flat_demand(35)))
    assert r.total_shortfall["R"] == pytest.approx(45, rel=RTOL)
    assert r.shortfall[0, 0] == pytest.approx(35)
    assert_allclose(r.arrivals[0], [0, 35, 25], atol=1e-9)
    assert_allclose(r.capacity_value[0, 0], [1, 1, 0], atol=1e-9)


def test_first_months_need_partner_stock_when_there_is_a_lead_time() -> None:
    """Lead 2 months, demand 10/month for 4 months, partner holds 15, donor has plenty.

    Months 1 and 2 can only use the partner's 15 of 20: 5 short; months 3 and 4 are
    supplied from shipments of months 1 and 2.
    """
    r = plan_stockpile(scenario(months=4, donors=[donor(stock=1000, lead_months=2)],
                                demand=flat_demand(10), partner_stock={"R": 15}))
    assert r.total_shortfall["R"] == pytest.approx(5)
    assert_allclose(r.shortfall[0], [0, 5, 0, 0], atol=1e-9)
    assert_allclose(r.partner_stock[0], [5, 0, 0, 0], atol=1e-9)


def test_floor_holds_even_if_the_partner_goes_short() -> None:
    """Stock 100, floor 100, no output: nothing may be given; all 90 is short, no breach."""
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=100)], demand=flat_demand(30)))
    assert r.total_shortfall["R"] == pytest.approx(90)
    assert_allclose(r.stock[0, 0], [100, 100, 100])
    assert r.objective["floor_breach"] == 0


def test_pledge_forces_a_breach_which_is_reported() -> None:
    """Stock 100, floor 60, no output, a pledge of 70 in month 2, demand 30/month.

    The pledge leaves 30 from month 2 on: 30 below the floor in months 2 and 3 (60
    unit-months).  Giving anything in month 1 would deepen that breach, so month 1 is
    short 30; the 70 (no lead time) covers months 2 and 3 and leaves 10 at the partner.
    """
    pledges = [{"donor": "A", "consumable": "R", "month": "2024-02", "qty": 70}]
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=60)], demand=flat_demand(30),
                                pledges=pledges))
    assert_allclose(r.breach[0, 0], [0, 30, 30], atol=1e-9)
    assert r.objective["floor_breach"] == pytest.approx(60)
    assert_allclose(r.sent[0, 0], [0, 70, 0], atol=1e-9)
    assert_allclose(r.shortfall[0], [30, 0, 0], atol=1e-9)
    assert_allclose(r.partner_stock[0], [0, 40, 10], atol=1e-9)
    assert any("A is below its R floor (60) in 2024-02 to 2024-03, by up to 30" in n
               and "pledges" in n for n in r.notes)
    doc = r.to_dict()
    assert doc["donors"][0]["floor_breach"] == [0, 30, 30]
    # At the pledged rate (70 over 2 months = 35/month) the stock is 65, 30: below in 2024-02.
    assert doc["donors"][0]["breach_month_at_pledge_rate"] == "2024-02"


def test_own_use_forces_a_breach() -> None:
    """Stock 70, floor 60, own use 10/month, nothing made: 60, 50, 40 → breach 0, 10, 20."""
    r = plan_stockpile(scenario(donors=[donor(stock=70, floor=60, own_use_per_month=10)],
                                demand=flat_demand(5)))
    assert_allclose(r.breach[0, 0], [0, 10, 20], atol=1e-9)
    assert r.total_shortfall["R"] == pytest.approx(15)
    assert any("own use exceeds its production" in n for n in r.notes)


def test_floor_above_starting_stock_is_a_warning_and_a_reported_breach() -> None:
    """Stock 50 under a floor of 80, output 10: below by 30, 20, 10; nothing is given."""
    sc = scenario(donors=[donor(stock=50, floor=80, output=10)], demand=flat_demand(5))
    assert sc.stockpile is not None
    assert [str(w) for w in sc.stockpile.warnings] == [
        "<dict>: stockpile.donors[0].floor.R: warning: floor 80 is above the starting stock "
        "50: donor 'A' starts below its R floor"
    ]
    r = plan_stockpile(sc)
    assert_allclose(r.breach[0, 0], [20, 10, 0], atol=1e-9)  # stock 60, 70, 80
    assert r.total_shortfall["R"] == pytest.approx(15)
    assert any("starts below its floor" in n for n in r.notes)


def test_pledge_beyond_all_a_donor_can_have_is_infeasible() -> None:
    """Stock 100 + 10/month: by 2024-02 it can have 120; a pledge of 200 is 80 too many."""
    pledges = [{"donor": "A", "consumable": "R", "month": "2024-02", "qty": 200}]
    sc = scenario(donors=[donor(stock=100, output=10)], demand=flat_demand(5), pledges=pledges)
    with pytest.raises(PlanInfeasible) as info:
        plan_stockpile(sc)
    assert info.value.problems == [
        "donor 'A' cannot meet its R commitments in 2024-02: by then its pledges (200) exceed "
        "its starting stock, production and surge capacity (120) by 80; reduce or move the "
        "pledges, or add production"
    ]


def test_surge_is_bought_to_close_shortfall_whatever_it_costs() -> None:
    """No stock; surge up to 20/month at 1e6 each; demand 30: buy 20 a month, 10 short."""
    surge = [{"consumable": "R", "from": "2024-01", "per_month": 20, "unit_cost": 1e6}]
    r = plan_stockpile(scenario(donors=[donor(surge=surge)], demand=flat_demand(30)))
    assert_allclose(r.surge[0, 0], [20, 20, 20])
    assert r.total_shortfall["R"] == pytest.approx(30)
    assert r.objective["surge_cost"] == pytest.approx(60 * 1e6)


def test_cheapest_surge_first_and_none_beyond_need() -> None:
    """Two donors may surge 20/month, at 5 and at 7; demand 25: 20 at 5 and 5 at 7 each
    month, nothing short; cost 3 × (100 + 35) = 405."""
    cheap = [{"consumable": "R", "from": "2024-01", "per_month": 20, "unit_cost": 5}]
    dear = [{"consumable": "R", "from": "2024-01", "per_month": 20, "unit_cost": 7}]
    r = plan_stockpile(scenario(donors=[donor("A", surge=cheap), donor("B", surge=dear)],
                                demand=flat_demand(25)))
    assert r.total_shortfall["R"] == pytest.approx(0, abs=1e-9)
    assert_allclose(r.surge[:, 0].sum(axis=1), [60, 15])
    assert r.objective["surge_cost"] == pytest.approx(405)


def test_surge_defaults_to_the_consumable_unit_cost() -> None:
    surge = [{"consumable": "R", "from": "2024-02", "per_month": 10}]
    r = plan_stockpile(scenario(consumables=[{"id": "R", "unit_cost": 40}],
                                donors=[donor(surge=surge)], demand=flat_demand(10)))
    assert_allclose(r.surge[0, 0], [0, 10, 10])
    assert r.objective["surge_cost"] == pytest.approx(800)


def test_production_steps_hold_until_the_next_row() -> None:
    """Output 10 from 2024-01, 40 from 2024-03 (and a row from 2023 before the horizon:
    it holds from the start, replaced in 2024-01)."""
    prod = [{"consumable": "R", "from": "2023-06", "per_month": 99},
            {"consumable": "R", "from": "2024-03", "per_month": 40},
            {"consumable": "R", "from": "2024-01", "per_month": 10}]
    r = plan_stockpile(scenario(months=4, donors=[donor(production=prod)],
                                demand=flat_demand(0)))
    assert_allclose(r.made[0, 0], [10, 10, 40, 40])


def test_shipments_arriving_after_the_horizon_count_nowhere() -> None:
    """A pledge of 50 in the last month with a lead of 1 month leaves the donor but never
    reaches the partner within the plan."""
    pledges = [{"donor": "A", "consumable": "R", "month": "2024-03", "qty": 50}]
    r = plan_stockpile(scenario(donors=[donor(stock=100, lead_months=1)], demand=flat_demand(0),
                                pledges=pledges))
    assert r.stock[0, 0, -1] == pytest.approx(50)
    assert np.sum(r.arrivals) == 0


def test_priorities_weigh_shortfall_of_each_consumable() -> None:
    """Two consumables, each with its own donor: the weighted objective is 3·10 + 1·20."""
    r = plan_stockpile(scenario(
        consumables=[{"id": "R", "priority": 3}, {"id": "S"}],
        donors=[donor("A", stock={"R": 20}), donor("B", stock={"S": 10})],
        demand=flat_demand(10) + flat_demand(10, "S"),
    ))
    assert r.total_shortfall == {"R": pytest.approx(10), "S": pytest.approx(20)}
    assert r.objective["shortfall"] == pytest.approx(3 * 10 + 20)


def test_stage_one_by_lp_equals_its_closed_form() -> None:
    """Forced breaches (pledges above what the floor allows, own use above output) found by
    the LP stage equal max(0, floor − most stock), month by month."""
    d = plan_arrays(
        demand=[[50, 50, 50, 50]],
        stock=[[100], [80]], floor=[[90], [70]], own_use=[[0], [15]],
        made=np.array([[[5, 5, 5, 5]], [[0, 10, 0, 0]]]),
        pledged=np.array([[[0, 40, 0, 10]], [[0, 0, 0, 0]]]),
        lead=[0, 1],
    )
    # Donor 0: most stock 105, 70, 75, 70 → breach 0, 20, 15, 20.
    # Donor 1: 65, 60, 45, 30 → breach 5, 10, 25, 40.
    expected = np.array([[[0, 20, 15, 20]], [[5, 10, 25, 40]]])
    assert_allclose(least_breach(d), expected)
    lp, _ = build_lp(d)
    sol = solve_lexicographic(lp)
    assert sol.stage_values["floor_breach"].sum() == pytest.approx(expected.sum(), rel=1e-9)
    assert_allclose(plan_from_data(d).breach, expected, atol=1e-7)


def test_decomposed_and_whole_programmes_agree() -> None:
    rng = np.random.default_rng(3)
    d = plan_arrays(demand=rng.uniform(0, 60, (3, 8)), stock=rng.uniform(0, 200, (4, 3)),
                    floor=rng.uniform(0, 100, (4, 3)), made=rng.uniform(0, 20, (4, 3, 8)),
                    surge_cap=rng.uniform(0, 10, (4, 3, 8)),
                    surge_cost=rng.uniform(1, 9, (4, 3, 8)), lead=[0, 1, 2, 1])
    lp, _ = build_lp(d)
    a = solve_lexicographic(lp, decompose=True)
    b = solve_lexicographic(lp, decompose=False)
    for stage in ("floor_breach", "shortfall"):
        assert a.stage_values[stage].sum() == pytest.approx(b.stage_values[stage].sum(),
                                                            rel=1e-7, abs=1e-6)


def test_no_donors_only_the_partner_stock() -> None:
    """The partner holds 50 and needs 30 a month: short 0, 10, 30 (40 in all)."""
    r = plan_stockpile(scenario(demand=flat_demand(30), partner_stock={"R": 50}))
    assert_allclose(r.shortfall[0], [0, 10, 30], atol=1e-9)
    assert r.to_dict()["donors"] == []
