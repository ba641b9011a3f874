"""Invariants of stockpile plans on random instances (Hypothesis).

- every balance equation holds to 1e-6 in the output document;
- bounds hold: 0 <= shortfall <= demand, sent >= pledged, 0 <= surge <= capacity, S >= 0;
- more committed production never increases the (weighted) shortfall;
- one donor, floors not binding: the shortfall equals the lost sales of a greedy
  partner supplied with everything as soon as the donor has it (a recursion written
  here), and with demand only in the last month it is
  ``max(0, demand − everything that can reach the partner in time)``;
- the floor-breach stage equals its closed form, and the closed-form test that all
  demand can be met agrees with the shortfall stage solved as a programme.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from sustain.stockpile.api import plan_from_data
from sustain.stockpile.build import build_lp
from sustain.stockpile.data import PlanData, least_breach, no_shortfall_possible
from sustain.stockpile.explain import impossible
from sustain.stockpile.solve import solve_lexicographic
from tests.stockpile.helpers import plan_arrays

TOL = 1e-6
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

@st.composite
def instances(draw: st.DrawFn) -> PlanData:
    """1–3 donors, 1–2 consumables, 1–8 months; whole numbers so hand checks stay exact."""
    D, C, T = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 8))

    def arr(*shape: int, hi: int = 200) -> np.ndarray:
        flat = draw(st.lists(st.integers(0, hi), min_size=int(np.prod(shape)),
                             max_size=int(np.prod(shape))))
        return np.array(flat, dtype=float).reshape(shape)

    stock = arr(D, C, hi=400)
    made = arr(D, C, T, hi=60)
    own = arr(D, C, hi=20)
    pledged = arr(D, C, T, hi=40) * arr(D, C, T, hi=1)  # about half the months
    d = plan_arrays(
        demand=arr(C, T, hi=150), stock=stock, floor=arr(D, C, hi=300), own_use=own,
        made=made, surge_cap=arr(D, C, T, hi=30), surge_cost=arr(D, C, T, hi=9) + 1,
        pledged=pledged, lead=draw(st.lists(st.integers(0, 2), min_size=D, max_size=D)),
        partner_stock=arr(C, hi=100)[:], priority=draw(st.sampled_from([1.0, 2.5])),
        n_donors=D,
    )
    if impossible(d):  # a plan must exist: drop what makes S >= 0 impossible
        d = replace(d, pledged=np.zeros_like(d.pledged), own_use=np.zeros_like(d.own_use))
    return d


def _balances(d: PlanData, doc: dict) -> None:
    """The balance equations, recomputed from the JSON document alone."""
    T = len(doc["months"])
    lead = {r["donor"]: r["lead_months"] for r in doc["donors"]}
    arrivals: dict[str, np.ndarray] = {c: np.zeros(T) for c in d.consumable_ids}
    for r in doc["donors"]:
        S = np.array(r["stock"], dtype=float)
        prev = np.concatenate([[r["start_stock"]], S[:-1]])
        flow = (np.array(r["made"]) + np.array(r["surge"]) - r["own_use_per_month"]
                - np.array(r["sent"]))
        assert_allclose(S, prev + flow, atol=TOL)
        assert np.all(S >= -TOL)
        assert np.all(np.array(r["sent"]) >= np.array(r["pledged"]) - TOL)
        breach = np.maximum(0.0, r["floor"] - S)
        assert_allclose(r["floor_breach"], breach, atol=TOL)
        k = lead[r["donor"]]
        if k < T:
            arrivals[r["consumable"]][k:] += np.array(r["sent"])[: T - k]
    for j, c in enumerate(doc["consumables"]):
        demand, used, short = (np.array(c[k], dtype=float) for k in ("demand", "used", "shortfall"))
        P = np.array(c["partner_stock"], dtype=float)
        prev = np.concatenate([[d.partner_stock[j]], P[:-1]])
        assert_allclose(c["arrivals"], arrivals[c["id"]], atol=TOL)
        assert_allclose(P, prev + np.array(c["arrivals"]) - used, atol=TOL)
        assert_allclose(used + short, demand, atol=TOL)
        assert np.all(short >= -TOL) and np.all(short <= demand + TOL)
        assert np.all(P >= -TOL)
        assert doc["total_shortfall"][c["id"]] == pytest.approx(short.sum(), abs=TOL)


@SETTINGS
@given(instances())
def test_balances_and_bounds_hold_in_the_output(d: PlanData) -> None:
    r = plan_from_data(d)
    doc = r.to_dict()
    # Pairs without anything to report are left out of the document: they send nothing.
    listed = {(x["donor"], x["consumable"]) for x in doc["donors"]}
    for i, j in zip(*np.nonzero(r.sent.sum(axis=2) > 0), strict=True):
        assert (d.donor_ids[i], d.consumable_ids[j]) in listed
    _balances(d, doc)
    assert np.all(r.surge <= d.surge_cap + TOL)
    assert_allclose(r.breach, np.maximum(0.0, d.floor[:, :, None] - r.stock), atol=TOL)


@SETTINGS
@given(instances(), st.data())
def test_more_production_never_increases_shortfall(d: PlanData, data: st.DataObject) -> None:
    extra = np.array(data.draw(st.lists(st.integers(0, 50), min_size=d.made.size,
                                        max_size=d.made.size)), dtype=float)
    before = plan_from_data(d).objective["shortfall"]
    after = plan_from_data(replace(d, made=d.made + extra.reshape(d.made.shape)))
    assert after.objective["shortfall"] <= before + TOL


@SETTINGS
@given(instances())
def test_floor_breach_stage_is_its_closed_form(d: PlanData) -> None:
    r = plan_from_data(d)
    assert r.objective["floor_breach"] == pytest.approx(float(least_breach(d).sum()), abs=TOL)


def _greedy_shortfall(d: PlanData) -> float:
    """One donor, no pledges, no surge, no own use, stock >= floor: the donor ships all it
    has above its floor as soon as it has it; the partner uses what it holds, month by
    month (lost sales, all months weigh the same, so serving early is optimal)."""
    T = d.shape[2]
    lead = int(d.lead_months[0])
    ship = d.made[0, 0].copy()
    ship[0] += d.stock[0, 0] - d.floor[0, 0]
    held, short = float(d.partner_stock[0]), 0.0
    for t in range(T):
        if t - lead >= 0:
            held += ship[t - lead]
        use = min(held, float(d.demand[0, t]))
        short += float(d.demand[0, t]) - use
        held -= use
    return short


@SETTINGS
@given(st.integers(1, 8), st.integers(0, 3), st.data())
def test_single_donor_shortfall_is_the_greedy_lost_sales(T: int, lead: int,
                                                          data: st.DataObject) -> None:
    ints = st.lists(st.integers(0, 100), min_size=T, max_size=T)
    stock = float(data.draw(st.integers(0, 300)))
    d = plan_arrays(demand=[data.draw(ints)], stock=stock,
                    floor=float(data.draw(st.integers(0, int(stock)))),
                    made=np.array(data.draw(ints), dtype=float)[None, None, :], lead=lead,
                    partner_stock=float(data.draw(st.integers(0, 100))))
    assert plan_from_data(d).total_shortfall["C0"] == pytest.approx(_greedy_shortfall(d),
                                                                    abs=TOL)


@SETTINGS
@given(st.integers(1, 8), st.integers(0, 3), st.data())
def test_single_donor_last_month_demand(T: int, lead: int, data: st.DataObject) -> None:
    """All demand D in the last month: short max(0, D − (P0 + stock − floor + Σ made in
    the months whose shipments land by then))."""
    made = np.array(data.draw(st.lists(st.integers(0, 100), min_size=T, max_size=T)), float)
    stock = float(data.draw(st.integers(0, 300)))
    floor = float(data.draw(st.integers(0, int(stock))))
    p0 = float(data.draw(st.integers(0, 100)))
    need = float(data.draw(st.integers(0, 1000)))
    demand = np.zeros(T)
    demand[-1] = need
    d = plan_arrays(demand=[demand], stock=stock, floor=floor, made=made[None, None, :],
                    lead=lead, partner_stock=p0)
    last = T - 1 - lead  # last month whose shipment arrives in time
    reach = p0 + (stock - floor + made[: last + 1].sum() if last >= 0 else 0.0)
    assert plan_from_data(d).total_shortfall["C0"] == pytest.approx(max(0.0, need - reach),
                                                                    abs=TOL)


@SETTINGS
@given(instances())
def test_no_shortfall_certificate_agrees_with_the_programme(d: PlanData) -> None:
    """The closed forms that spare solves (no forced breach; all demand can be met) agree
    with solving the whole programme, without the shortcuts, stage by stage."""
    lp, _ = build_lp(d)
    plain = replace(lp, stages=tuple(replace(s, zero_ok=None, scope=None) for s in lp.stages))
    sol = solve_lexicographic(plain)
    assert sol.stage_values["floor_breach"].sum() == pytest.approx(least_breach(d).sum(), abs=TOL)
    solved = sol.stage_values["shortfall"] <= TOL
    assert list(solved) == list(no_shortfall_possible(d))
