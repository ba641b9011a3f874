"""Consumable offers on the scale of ``sustain next``: the measure against closed forms,
a systems offer drawing on a shared consumable, and the choice against a linear
programme of the offers as buyable supply (written here, independently of the
stockpile planner)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.optimize import linprog

from sustain.deliver import Measure, choose
from sustain.deliver.supply import integral
from tests.deliver.cases import scenario

#: Spares enough that no fleet ever waits for one (availability 1 to many digits).
PLENTY = 200
#: January to June 2025: the plan's months and the horizon D (days).
DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30)
D = sum(DAYS_IN_MONTH)


def _doc(*, count: int = 3, rate: float = 2.0, value: float = 2.5, partner: float = 0.0,
         offers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One fleet of A, always up, firing ``rate`` rounds of R per system-day; the
    partner holds ``partner`` rounds and no donor sends any; US ships with a month's lead."""
    return {
        "sites": [{"id": "HUB"}, {"id": "EAST", "parent": "HUB", "order_ship_days": 3}],
        "systems": [{"id": "A"}, {"id": "B"}],
        "fleets": [{"system": "A", "site": "EAST", "count": count, "hours_per_day": 10}],
        "items": [{"id": "X", "mtbf_hours": 2000, "installed_in": [{"system": "A"}],
                   "depot_repair_days": 20}],
        "stock": [{"item": "X", "site": "EAST", "qty": PLENTY}],
        "value": [{"system": "A", "per_system_day": value}],
        "stockpile": {
            "start_month": "2025-01", "months": 6,
            "consumables": [{"id": "R"}, {"id": "Q"}],
            "usage": [{"consumable": "R", "system": "A", "per_system_day": rate}],
            "partner_stock": {"R": partner},
            "donors": [{"id": "US", "lead_months": 1}],
        },
        "offers": offers or [],
    }


def _offer(oid: str, per_month: float, cost: float, *, donor: str = "FR",
           month: str = "2025-01", consumable: str = "R") -> dict[str, Any]:
    return {"id": oid, "donor": donor, "kind": "consumable", "consumable": consumable,
            "per_month": per_month, "unit_cost": cost, "from_month": month}


def test_each_round_buys_one_over_rate_system_days() -> None:
    # Demand exceeds supply: every round reaches a month that is short, and a month's
    # share met times its system-days is rounds used / rate.  So the measure is
    # value·(rounds within the horizon)/rate: the partner's stock plus the offer's
    # rounds (10 a month from 2025-02, 5 months).
    doc = _doc(partner=300.0, offers=[_offer("O", 10, 1.0, month="2025-02")])
    m = Measure(scenario(doc), days=D, step=7, consumable_blocks=10)
    assert m.caps == (10,) and m.costs == (pytest.approx(1.0 * 5),)
    assert m([0]).total == pytest.approx(2.5 * 300 / 2.0, rel=1e-9)
    assert m([4]).total == pytest.approx(2.5 * (300 + 4 * 5) / 2.0, rel=1e-9)
    # Without any shortfall the measure is systems × days × value.
    rich = Measure(scenario(_doc(partner=1e6)), days=D, step=7)
    assert rich([]).total == pytest.approx(3 * D * 2.5, rel=1e-9)


def test_blocks_are_tenths_of_per_month_priced_over_the_months_shipped() -> None:
    # US ships with a month's lead: from 2025-03 the last shipment that arrives by
    # June leaves in May, 3 months; FR (not in the section) ships from 2025-03 to June.
    doc = _doc(count=30, offers=[_offer("US-R", 5000, 3.5, donor="US", month="2025-03"),
                       _offer("FR-R", 5000, 3.5, month="2025-03")])
    m = Measure(scenario(doc), days=D, step=7)
    assert m.caps == (10, 10)
    assert m.costs == (pytest.approx(500 * 3.5 * 3), pytest.approx(500 * 3.5 * 4))
    assert m.per_month(m.offers[0], 3) == 1500
    assert m.first_day(m.offers[0]) == 31 + 28 + 31  # arrives in April
    # 30 systems fire about 1,800 rounds a month, more than a block ships, so every
    # round is worth the same: a block of FR spends the
    # whole budget on 2,000 rounds, one of US 5,250 on 1,500.
    plan = choose(m, budget=500 * 3.5 * 4)
    assert [(p.offer.id, p.per_month, p.months) for p in plan.picks] == [("FR-R", 500.0, 4)]
    assert plan.to_dict()["picks"][0] | {"cost": 0, "value_gain": 0, "gain_per_cost": 0} == {
        "offer": "FR-R", "kind": "consumable", "qty": 500, "cost": 0, "value_gain": 0,
        "gain_per_cost": 0, "months": 4, "from_month": "2025-03"}
    assert plan.value_after - plan.value_before == pytest.approx(2.5 * 2000 / 2.0, rel=1e-9)
    assert "R from FR, 500 a month from 2025-03: +" in plan.picks[0].reason
    assert "A able to fire for" in plan.picks[0].reason


def test_a_systems_offer_draws_down_a_shared_consumable() -> None:
    # A and B fire the same rounds; the partner has 600 and no more come.  Two more
    # systems of A fire a larger share of them (shortfall shared pro rata), so B,
    # which has every system up, loses system-days able to fire; A's rounds are worth
    # more (value 10 per system-day at 2 rounds a day, B's 1 at 2), so the offer
    # still gains and is picked, and the fleets table shows B's loss.
    doc = _doc(partner=600.0, value=10.0)
    doc["fleets"].append({"system": "B", "site": "EAST", "count": 3, "hours_per_day": 10})
    doc["items"][0]["installed_in"].append({"system": "B"})
    doc["stockpile"]["usage"].append({"consumable": "R", "system": "B", "per_system_day": 2.0})
    doc["offers"] = [{"id": "MORE-A", "kind": "systems", "system": "A", "site": "EAST",
                      "max": 2, "unit_cost": 1.0}]
    m = Measure(scenario(doc), days=D, step=7)
    before, after = m([0]), m([2])
    b = dict(zip(before.fleets, before.system_days.tolist(), strict=True))
    a = dict(zip(after.fleets, after.system_days.tolist(), strict=True))
    assert a[("B", "EAST")] < b[("B", "EAST")] - 1.0
    # Every round is used either way: the rounds are 600, each worth 1/2 system-day.
    assert sum(a.values()) == pytest.approx(600 / 2.0, rel=1e-9)
    assert sum(b.values()) == pytest.approx(600 / 2.0, rel=1e-9)
    plan = choose(m, budget=2.0)
    assert plan.qty == (2,)
    fleets = {(f.system, f.site): f for f in plan.fleets}
    assert fleets["B", "EAST"].value_after < fleets["B", "EAST"].value_before
    assert "elsewhere (B at EAST)" in plan.picks[0].reason


def test_a_fleet_using_two_consumables_fires_as_the_scarcer_allows() -> None:
    # A needs R (plenty) and Q (half of its need): its share is Q's, not the product.
    doc = _doc(partner=1e6)
    doc["stockpile"]["usage"].append({"consumable": "Q", "system": "A", "per_system_day": 1.0})
    q_need = 3 * 1.0 * D
    doc["stockpile"]["partner_stock"]["Q"] = q_need / 2
    m = Measure(scenario(doc), days=D, step=7)
    assert m([]).total == pytest.approx(2.5 * 3 * D / 2, rel=1e-6)


def _reference_lp(doc: dict[str, Any], budget: float) -> list[float]:
    """Rounds a month of each offer that the linear programme buys: fewest rounds short
    over the months, then least cost, within ``budget``; demand is the fleet's (always
    up) systems × rate × days, the offers' rounds arrive from their month (plus a
    month for US) and count only by June."""
    T = len(DAYS_IN_MONTH)
    f = doc["fleets"][0]
    rate = doc["stockpile"]["usage"][0]["per_system_day"]
    demand = np.array([f["count"] * rate * n for n in DAYS_IN_MONTH], dtype=float)
    offers = doc["offers"]
    n = len(offers)
    # Columns: q (n), short (T), partner stock P (T).
    arrive = np.zeros((T, n))
    months = np.zeros(n)
    for k, o in enumerate(offers):
        lead = 1 if o["donor"] == "US" else 0
        start = int(o["from_month"][5:7]) - 1
        for t in range(start, T - lead):
            arrive[t + lead, k] = 1.0
            months[k] += 1
    cost = np.array([o["unit_cost"] for o in offers]) * months
    a_eq = np.zeros((T, n + 2 * T))
    for t in range(T):
        a_eq[t, :n] = arrive[t]
        a_eq[t, n + t] = 1.0  # short
        a_eq[t, n + T + t] = -1.0  # P[t]
        if t:
            a_eq[t, n + T + t - 1] = 1.0  # P[t-1]
    b_eq = demand.copy()
    b_eq[0] -= doc["stockpile"]["partner_stock"]["R"]
    bounds = ([(0, o["per_month"]) for o in offers] + [(0, x) for x in demand]
              + [(0, None)] * T)
    a_ub = np.concatenate([cost, np.zeros(2 * T)])[None, :]
    c = np.concatenate([np.zeros(n), np.ones(T), np.zeros(T)])
    first = linprog(c, A_ub=a_ub, b_ub=[budget], A_eq=a_eq, b_eq=b_eq, bounds=bounds)
    assert first.status == 0
    # Held at its least shortfall, the cheapest plan.
    second = linprog(np.concatenate([cost, np.zeros(2 * T)]),
                     A_ub=np.vstack([a_ub, c[None, :]]), b_ub=[budget, first.fun + 1e-7],
                     A_eq=a_eq, b_eq=b_eq, bounds=bounds)
    assert second.status == 0
    return [float(x) for x in second.x[:n]]


def test_with_consumable_offers_only_the_picks_are_the_lp_of_the_offers() -> None:
    # The conditions (docs/next.md, *Consumable offers only*): one fleet type using
    # the consumable and no other demand, so that every month's share met times its
    # system-days is rounds used / rate; the horizon ends with a month of the plan;
    # every month short by more than all offers together (each round is worth the
    # same); whole blocks at the optimum.  The measure is then linear in the rounds,
    # the LP a fractional knapsack by cost per round, and the greedy takes it.
    offers = [_offer("FR-1", 10, 1.0), _offer("US", 10, 0.8, donor="US", month="2025-02"),
              _offer("FR-3", 10, 3.0),
              _offer("LATE", 10, 0.1, month="2025-07"),  # after the plan: never shipped
              _offer("UNUSED", 10, 0.1, consumable="Q")]  # nothing uses Q
    doc = _doc(offers=offers)
    m = Measure(scenario(doc), days=D, step=7, consumable_blocks=10)
    assert not m.in_horizon(m.offers[3]) and not m.in_horizon(m.offers[4])
    for budget in (16.0, 32 + 60 + 54, 32 + 60 + 180):
        want = _reference_lp(dict(doc, offers=offers[:3]), budget)
        assert all(abs(x - round(x)) < 1e-6 for x in want), want  # whole blocks
        plan = choose(m, budget=budget)
        got = [m.per_month(o, q) for o, q in zip(m.offers, plan.qty, strict=True)]
        assert got == pytest.approx([*want, 0.0, 0.0], abs=1e-6), budget
        assert all(p.offer.id not in ("LATE", "UNUSED") for p in plan.picks)


def test_with_one_consumable_offer_the_greedy_takes_the_lp_rounded_up_to_a_block() -> None:
    # One offer: the shortfall, a convex function of the rounds a month, ends at the
    # LP's quantity q*; each block that closes some of it gains, so the greedy takes
    # ceil(q*) blocks of one round when the budget allows, and the budget's whole
    # blocks when it does not.
    doc = _doc(partner=700.0, offers=[_offer("O", 400, 1.0)])
    m = Measure(scenario(doc), days=D, step=7, consumable_blocks=400)
    q_star = _reference_lp(doc, 1e9)[0]
    assert 0 < q_star < 400 and q_star % 1 > 0.01
    assert choose(m, budget=1e9).qty == (math.ceil(q_star),)
    tight = 6 * 1.0 * 20.5  # 20.5 rounds a month over 6 months
    assert _reference_lp(doc, tight)[0] == pytest.approx(20.5)
    assert choose(m, budget=tight).qty == (20,)


def test_month_integrals_are_the_trapezoid_rule_split_at_month_ends() -> None:
    # The integral of the linear interpolant up to every report day is the trapezoid
    # rule; split anywhere, the pieces add up; past the last day, the last value holds.
    rng = np.random.default_rng(5)
    t = np.array([0.0, 7.0, 14.0, 21.0, 25.0])
    f = rng.uniform(0, 5, size=(3, t.size))
    whole = integral(t, f, t)
    for k in range(1, t.size):
        assert whole[:, k] == pytest.approx(np.trapezoid(f[:, :k + 1], t[:k + 1], axis=1))
    x = np.sort(rng.uniform(0, 25, size=6))
    assert integral(t, f, x) == pytest.approx(np.array([[np.trapezoid(
        np.interp(np.linspace(0, b, 20001), t, row), np.linspace(0, b, 20001)) for b in x]
        for row in f]), rel=1e-6)
    assert integral(t, f, np.array([31.0]))[:, 0] == pytest.approx(whole[:, -1] + 6 * f[:, -1])
