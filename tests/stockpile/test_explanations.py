"""Why a donor holds back, and months of cover: small plans worked by hand.

Months are 2024-01, 2024-02, 2024-03; one consumable ``R``, no lead time.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sustain.stockpile import plan_stockpile
from sustain.stockpile.explain import _first_lowest_after, months_of_cover
from tests.stockpile.helpers import donor, flat_demand, plan_arrays, scenario


def test_donor_holds_back_for_a_later_pledge() -> None:
    """Stock 100, floor 60, no production, demand 30 a month, a pledge of 40 in 2024-03.

    The pledge is hard, so the 40 above the floor must still be there in 2024-03: nothing
    more is sent in 2024-01 and 2024-02 (30 short each), 40 arrive in 2024-03 (30 used,
    10 left with the partner).  The donor holds 40 above its floor while the partner is
    short, for its pledge of 2024-02 to 2024-03 (40 in all), at its floor in 2024-03.

    Cover at the end of each month (partner + donor above floor, over demand to come):
    2024-01: 0 + 40 over 30, 30 -> 1 + 10/30; 2024-02: the same (the last month's demand,
    30, stands for the months after the horizon: 40 = 30 + 10/30 of a month);
    2024-03: 10 + 0 over 30 a month -> 1/3.
    """
    pledges = [{"donor": "A", "consumable": "R", "month": "2024-03", "qty": 40}]
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=60)],
                                demand=flat_demand(30), pledges=pledges))
    assert_allclose(r.shortfall[0], [30, 30, 0], atol=1e-9)
    assert_allclose(r.stock[0, 0], [100, 100, 60], atol=1e-9)
    held = [n for n in r.notes if n.startswith("A keeps")]
    assert held == [
        "A keeps up to 40 R above its floor (60) in 2024-01 to 2024-02 while the partner "
        "is short: pledges of 40 from 2024-02 to 2024-03 bring it down to its floor in "
        "2024-03, so any unit sent sooner would put it (further) below its floor then"
    ]
    assert not any("sends no more" in n for n in r.notes)
    assert_allclose(r.months_of_cover[0], [1 + 1 / 3, 1 + 1 / 3, 1 / 3], rtol=1e-12)
    doc = r.to_dict()["consumables"][0]
    assert doc["months_of_cover"] == [1.333, 1.333, 0.333]
    assert doc["months_of_supply"] == [0, 0, pytest.approx(1 / 3, abs=1e-3)]


def test_donor_at_its_floor_keeps_it() -> None:
    """Stock 100, floor 60, demand 50 a month: 40 sent in 2024-01 (10 short), then the
    donor is at its floor and sends nothing more (50 short in 2024-02 and 2024-03);
    its cover is 0 from 2024-01 on."""
    r = plan_stockpile(scenario(donors=[donor(stock=100, floor=60)], demand=flat_demand(50)))
    assert_allclose(r.shortfall[0], [10, 50, 50], atol=1e-9)
    assert [n for n in r.notes if n.startswith("A ")] == [
        "A sends no more R in 2024-01 to 2024-03 while the partner is short: its stock is "
        "at or below its floor (60), which it keeps for its own defence"
    ]
    assert_allclose(r.months_of_cover[0], [0, 0, 0], atol=1e-12)


def test_holdback_runs_are_listed_apart() -> None:
    """Demand 30 in 2024-01, 0 in 2024-02, 30 in 2024-03; stock 70, floor 60: month 1 gets
    10 (20 short), month 3 nothing (30 short).  The donor is at its floor in two runs."""
    demand = [{"consumable": "R", "from": "2024-01", "per_month": 30},
              {"consumable": "R", "from": "2024-02", "per_month": 0},
              {"consumable": "R", "from": "2024-03", "per_month": 30}]
    r = plan_stockpile(scenario(donors=[donor(stock=70, floor=60)], demand=demand))
    assert_allclose(r.shortfall[0], [20, 0, 30], atol=1e-9)
    assert any(n.startswith("A sends no more R in 2024-01 and 2024-03 while") for n in r.notes)


def test_months_of_cover_closed_forms() -> None:
    """Demand 10, 20, 40 a month; a reserve of 25 at the end of month 0 meets month 1's 20
    and 5 of month 2's 40: 1.125 months.  At the end of month 2 the months to come are
    all after the horizon, at the last month's 40: 25/40.  A reserve of 0 is 0 months; a
    last month with no demand leaves a reserve that outlasts the horizon without an end
    (NaN)."""
    d = plan_arrays(demand=np.array([[10.0, 20.0, 40.0]]), floor=5.0)
    stock = np.full((1, 1, 3), 30.0)  # 25 above the floor of 5
    assert_allclose(months_of_cover(d, stock, np.zeros((1, 3)))[0],
                    [1 + 5 / 40, 25 / 40, 25 / 40], rtol=1e-12)
    assert_allclose(months_of_cover(d, np.full((1, 1, 3), 5.0), np.zeros((1, 3)))[0],
                    [0, 0, 0])
    no_end = plan_arrays(demand=np.array([[10.0, 20.0, 0.0]]))
    cover = months_of_cover(no_end, np.full((1, 1, 3), 100.0), np.zeros((1, 3)))[0]
    assert np.isnan(cover).all()


@given(st.lists(st.integers(0, 3), min_size=1, max_size=15))
def test_first_lowest_after_is_the_brute_force(values: list[int]) -> None:
    """The month a holding-back donor is first at its lowest: against argmin of each tail."""
    x = np.array(values, dtype=float)
    assert list(_first_lowest_after(x)) == [t + int(np.argmin(x[t:])) for t in range(x.size)]
