"""Pipelines worked by hand: Little's law on three echelons, indenture, commonality.

With no stock above a site, every unit ordered waits for the whole repair at the
top, so each pipeline is a sum of (rate × time) terms that can be written down
directly; with ample stock above, the wait vanishes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from sustain import evaluate
from sustain.scenario import scenario_from_dict

HOURS = 20.0
MTBF = 400.0


def three_level(stock: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sites": [
            {"id": "HUB"},
            {"id": "MID", "parent": "HUB", "order_ship_days": 6},
            {"id": "B1", "parent": "MID", "order_ship_days": 2},
            {"id": "B2", "parent": "MID", "order_ship_days": 3},
        ],
        "systems": [{"id": "S"}],
        "fleets": [
            {"system": "S", "site": "B1", "count": 4, "hours_per_day": HOURS},
            {"system": "S", "site": "B2", "count": 2, "hours_per_day": HOURS},
        ],
        "items": [
            {
                "id": "LRU",
                "mtbf_hours": MTBF,
                "installed_in": [{"system": "S", "qty": 2}],
                "base_repair_fraction": 0.25,
                "base_repair_days": 4,
                "depot_repair_days": 30,
                "condemnation_fraction": 0.1,
                "procurement_days": 120,
            }
        ],
        "stock": stock,
    }


def test_three_echelons_without_stock_follow_littles_law() -> None:
    ev = evaluate(scenario_from_dict(three_level([])))
    idx = {s: n for n, s in enumerate(ev.arrays.site_ids)}
    m1 = 4 * 2 * HOURS / MTBF  # failures per day at B1
    m2 = 2 * 2 * HOURS / MTBF
    up1, up2 = 0.75 * m1, 0.75 * m2
    hub_days = 0.9 * 30 + 0.1 * 120
    hub = (up1 + up2) * hub_days
    mid = (up1 + up2) * (6 + hub_days)  # nothing on the shelf anywhere: wait the whole way
    b1 = 0.25 * m1 * 4 + up1 * (2 + 6 + hub_days)
    b2 = 0.25 * m2 * 4 + up2 * (3 + 6 + hub_days)
    got = ev.pipes.mean[0]
    assert got[idx["HUB"]] == pytest.approx(hub, rel=1e-12)
    assert got[idx["MID"]] == pytest.approx(mid, rel=1e-12)
    assert got[idx["B1"]] == pytest.approx(b1, rel=1e-12)
    assert got[idx["B2"]] == pytest.approx(b2, rel=1e-12)
    # No stock: every unit in the pipeline is a backorder, so EBO equals the mean.
    np.testing.assert_allclose(ev.pipes.ebo[0], got, rtol=1e-9)
    # Availability by the product formula, with EBO = pipeline at each base.
    for f, (site, n) in enumerate([("B1", 4), ("B2", 2)]):
        want = (1 - got[idx[site]] / (n * 2)) ** 2 if got[idx[site]] < n * 2 else 0.0
        assert ev.availability[f] == pytest.approx(want, rel=1e-9)


def test_ample_stock_above_leaves_only_order_and_ship() -> None:
    stock = [{"item": "LRU", "site": s, "qty": 10_000} for s in ("HUB", "MID")]
    ev = evaluate(scenario_from_dict(three_level(stock)))
    idx = {s: n for n, s in enumerate(ev.arrays.site_ids)}
    m1 = 4 * 2 * HOURS / MTBF
    want = 0.25 * m1 * 4 + 0.75 * m1 * 2
    assert ev.pipes.mean[0, idx["B1"]] == pytest.approx(want, rel=1e-12)
    assert ev.pipes.var[0, idx["B1"]] == pytest.approx(want, rel=1e-9)
    s = 0
    ebo = sum((x - s) * stats.poisson.pmf(x, want) for x in range(1, 200))
    assert ev.pipes.ebo[0, idx["B1"]] == pytest.approx(ebo, rel=1e-9)


def indentured(sru_depot_stock: int) -> dict[str, Any]:
    return {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 5}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B", "count": 10, "hours_per_day": 10}],
        "items": [
            {"id": "LRU", "mtbf_hours": 500, "installed_in": [{"system": "S"}],
             "depot_repair_days": 20},
            {"id": "SRU", "parent": "LRU", "replace_fraction": 0.6, "depot_repair_days": 40},
        ],
        "stock": [{"item": "SRU", "site": "D", "qty": sru_depot_stock}],
    }


def test_sub_item_backorders_delay_the_parent_repair() -> None:
    ev = evaluate(scenario_from_dict(indentured(0)), method="metric")
    d, b = ev.arrays.site_ids.index("D"), ev.arrays.site_ids.index("B")
    lru, sru = ev.arrays.item_ids.index("LRU"), ev.arrays.item_ids.index("SRU")
    lam = 10 * 10 / 500  # LRU failures per day, all repaired at the depot
    sru_rate = 0.6 * lam
    assert ev.flows.demand[sru, d] == pytest.approx(sru_rate, rel=1e-12)
    assert ev.pipes.mean[sru, d] == pytest.approx(sru_rate * 40, rel=1e-12)
    # No SRU spares: each waiting SRU holds up one LRU repair (Little's law).
    assert ev.pipes.mean[lru, d] == pytest.approx(lam * 20 + sru_rate * 40, rel=1e-12)
    delay = ev.pipes.ebo[lru, d] / lam
    assert ev.pipes.mean[lru, b] == pytest.approx(lam * (5 + delay), rel=1e-12)
    # Ample SRU spares remove the delay.
    ev2 = evaluate(scenario_from_dict(indentured(1000)), method="metric")
    assert ev2.pipes.mean[lru, d] == pytest.approx(lam * 20, rel=1e-9)
    assert ev2.availability[0] > ev.availability[0]


def test_common_item_demand_is_pooled_and_backorders_shared() -> None:
    doc = {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "A"}, {"id": "C"}],
        "fleets": [
            {"system": "A", "site": "B", "count": 3, "hours_per_day": 12},
            {"system": "C", "site": "B", "count": 5, "hours_per_day": 6},
        ],
        "items": [
            {"id": "RADIO", "mtbf_hours": 300, "depot_repair_days": 10,
             "installed_in": [{"system": "A", "qty": 2}, {"system": "C", "qty": 1}]},
        ],
    }
    ev = evaluate(scenario_from_dict(doc))
    b = ev.arrays.site_ids.index("B")
    da, dc = 3 * 2 * 12 / 300, 5 * 1 * 6 / 300
    assert ev.flows.demand[0, b] == pytest.approx(da + dc, rel=1e-12)
    ebo = ev.pipes.ebo[0, b]
    assert ebo == pytest.approx((da + dc) * 12, rel=1e-9)  # no stock anywhere
    fleets = {ev.arrays.system_ids[k]: f for f, k in enumerate(ev.arrays.fleet_system)}
    want_a = (1 - ebo * da / (da + dc) / (3 * 2)) ** 2
    want_c = (1 - ebo * dc / (da + dc) / (5 * 1)) ** 1
    assert ev.availability[fleets["A"]] == pytest.approx(want_a, rel=1e-9)
    assert ev.availability[fleets["C"]] == pytest.approx(want_c, rel=1e-9)
