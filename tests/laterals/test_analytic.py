"""The lateral-resupply approximation (``readiness/laterals.py``): limits with closed
forms, balances of its rates, and the JSON keys it adds (none without laterals)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sustain.readiness import laterals as lat_mod
from sustain.readiness.evaluate import evaluate
from sustain.readiness.laterals import lateral_pipelines
from sustain.scenario import scenario_from_dict


def doc(stock_a: int, stock_b: int, *, laterals: bool = True, days: float = 1.0,
        ship_b: float = 4.0) -> dict[str, Any]:
    """A depot with plenty of stock, two bases A and B, one item."""
    out: dict[str, Any] = {
        "sites": [{"id": "HUB", "kind": "depot"},
                  {"id": "A", "parent": "HUB", "order_ship_days": 4},
                  {"id": "B", "parent": "HUB", "order_ship_days": ship_b}],
        "systems": [{"id": "SYS"}],
        "fleets": [{"system": "SYS", "site": "A", "count": 4, "hours_per_day": 10},
                   {"system": "SYS", "site": "B", "count": 3, "hours_per_day": 12}],
        "items": [{"id": "P", "unit_cost": 10, "mtbf_hours": 500, "installed_in": "SYS:1",
                   "depot_repair_days": 30}],
        "stock": [{"item": "P", "site": "HUB", "qty": 60},
                  {"item": "P", "site": "A", "qty": stock_a},
                  {"item": "P", "site": "B", "qty": stock_b}],
    }
    if laterals:
        out["laterals"] = [{"from": "A", "to": "B", "days": days}]
    return out


def test_no_stock_at_either_base_changes_nothing() -> None:
    # Nothing can be sent: with equal resupply times the pooled backorders split by
    # demand are each base's own.
    with_lat = evaluate(scenario_from_dict(doc(0, 0)))
    without = evaluate(scenario_from_dict(doc(0, 0, laterals=False)))
    assert_allclose(with_lat.availability, without.availability, rtol=1e-12)
    assert_allclose(with_lat.lateral_share, 0.0, atol=1e-15)


def test_a_base_without_stock_beside_a_full_one_waits_only_for_the_transit() -> None:
    # B never runs out (its stock far above its pipeline): every demand at A is met
    # laterally, and A's backorders are its demands in transit, λ·d (Little's law).
    days = 1.5
    ev = evaluate(scenario_from_dict(doc(0, 40, days=days)))
    a = ev.arrays
    ia, ib = a.site_ids.index("A"), a.site_ids.index("B")
    lam = ev.flows.demand[0, ia]
    assert lam == pytest.approx(4 * 10 / 500)
    assert ev.lateral_share[0, ia] == pytest.approx(1.0, abs=1e-12)
    assert ev.pipes.ebo[0, ia] == pytest.approx(lam * days, rel=1e-9)
    assert ev.pipes.fill_rate[0, ia] == pytest.approx(0.0, abs=1e-12)
    # Sherbrooke's product formula with Z = 1 and 4 systems: A = 1 − EBO / 4.
    fa = next(f for f in range(2) if a.fleet_site[f] == ia)
    assert ev.availability[fa] == pytest.approx(1 - lam * days / 4, rel=1e-12)
    # B meets A's demands too: its pipeline carries both bases' resupply.
    assert ev.pipes.mean[0, ib] == pytest.approx((lam + ev.flows.demand[0, ib]) * 4.0,
                                                 rel=1e-9)


def test_rates_balance() -> None:
    ev = evaluate(scenario_from_dict(doc(1, 2, ship_b=6.0)))
    res = lateral_pipelines(ev.arrays, ev.flows, evaluate(
        scenario_from_dict(doc(1, 2, laterals=False, ship_b=6.0))).pipes)
    a = ev.arrays
    sites = [a.site_ids.index("A"), a.site_ids.index("B")]
    lam = ev.flows.demand[0, sites]
    # What A's and B's demands draw laterally is what the other base sends.
    assert_allclose(np.sum(lam * res.share[0, sites]), np.sum(res.sent_per_day[0, sites]),
                    rtol=1e-12)
    assert np.all((res.share >= 0) & (res.share <= 1))
    assert_allclose(res.pipes.ebo, ev.pipes.ebo, rtol=1e-12)


def test_documents_carry_lateral_keys_only_with_laterals() -> None:
    plain = evaluate(scenario_from_dict(doc(1, 1, laterals=False))).to_dict()
    assert all("lateral_share" not in row for row in plain["fleets"] + plain["items"])
    linked = evaluate(scenario_from_dict(doc(1, 1))).to_dict()
    assert all(0 <= row["lateral_share"] <= 1 for row in linked["fleets"] + linked["items"])
    hub = next(r for r in linked["items"] if r["site"] == "HUB")
    assert hub["lateral_share"] == 0.0


def ring(stocks: list[int]) -> dict[str, Any]:
    """Three bases linked in a ring, two items: rows that settle at
    different speeds in one fixed point."""
    out = doc(0, 0, laterals=False)
    out["sites"].append({"id": "C", "parent": "HUB", "order_ship_days": 9})
    out["fleets"].append({"system": "SYS", "site": "C", "count": 5, "hours_per_day": 8})
    out["items"].append({"id": "Q", "unit_cost": 3, "mtbf_hours": 90, "installed_in": "SYS:2",
                         "depot_repair_days": 12, "base_repair_fraction": 0.3,
                         "base_repair_days": 5})
    out["stock"] = [{"item": "P", "site": "HUB", "qty": 60}] + [
        {"item": item, "site": site, "qty": q}
        for (item, site), q in zip([(i, s) for i in "PQ" for s in "ABC"], stocks, strict=True)]
    out["laterals"] = [{"from": f, "to": t, "days": d} for f, t, d in
                       (("A", "B", 1), ("B", "C", 2), ("A", "C", 3))]
    return out


@pytest.mark.parametrize("stocks", [[1, 2, 0, 3, 0, 5], [0, 0, 0, 0, 0, 0],
                                    [3, 0, 1, 9, 8, 0], [1, 1, 1, 2, 2, 2]])
def test_accelerated_rates_are_the_plain_iterations(monkeypatch: pytest.MonkeyPatch,
                                                    stocks: list[int]) -> None:
    # The Anderson-accelerated fixed point against the plain iteration x = step(x)
    # (no memory): the same rates, to the iteration's tolerance.
    ev = evaluate(scenario_from_dict(ring(stocks)))
    plain = evaluate(scenario_from_dict({**ring(stocks), "laterals": []})).pipes
    fast = lateral_pipelines(ev.arrays, ev.flows, plain)
    monkeypatch.setattr(lat_mod, "ANDERSON_MEMORY", 0)
    slow = lateral_pipelines(ev.arrays, ev.flows, plain)
    scale = float(ev.flows.demand.max())
    assert_allclose(fast.sent_per_day, slow.sent_per_day, rtol=0, atol=1e-9 * scale)
    for name in ("mean", "ebo", "fill_rate"):
        assert_allclose(getattr(fast.pipes, name), getattr(slow.pipes, name), rtol=1e-8,
                        atol=1e-12)


def test_rounds_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stopped after MAX_ROUNDS, the rates are the last round's: still a valid result.
    ev = evaluate(scenario_from_dict(ring([1, 2, 0, 3, 0, 5])))
    plain = evaluate(scenario_from_dict({**ring([1, 2, 0, 3, 0, 5]), "laterals": []})).pipes
    monkeypatch.setattr(lat_mod, "MAX_ROUNDS", 2)
    res = lateral_pipelines(ev.arrays, ev.flows, plain)
    assert np.all((res.share >= 0) & (res.share <= 1))
    assert np.all(np.isfinite(res.pipes.ebo))
