"""Why a fleet is down: shares of −log A, availability without an item, sources of EBO.

The checks are independent of the decomposition's own arithmetic: a re-evaluation with
ample stock (an item's backorders at a site gone, or the upper sites never short),
Poisson sums written out by hand (scipy.stats), and the identity A = exp(−Σ terms).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from sustain import evaluate, load_scenario
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.conftest import EXAMPLES
from tests.strategies import scenarios

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AMPLE = 400  # the rail example's pipelines stay below ~20: P(X > 400) is nil


def _ample(ev: Evaluation, where: list[tuple[int, int]], method: str) -> Evaluation:
    """Stock 50 standard deviations above each pipeline's mean at the (item, site) pairs
    (a negative binomial's tail beyond that is below 1e-20 of its mean)."""
    stock = ev.arrays.stock.copy()
    p = ev.pipes
    for i, s in where:
        stock[i, s] = math.ceil(p.mean[i, s] + 50 * math.sqrt(p.var[i, s]) + 100)
    return evaluate_arrays(ev.arrays.with_stock(stock), method=method)


def _upper_sites(ev: Evaluation, site: int) -> list[int]:
    out, s = [], int(ev.arrays.site_parent[site])
    while s >= 0:
        out.append(s)
        s = int(ev.arrays.site_parent[s])
    return out


def _sub_items(ev: Evaluation, item: int) -> list[int]:
    parent = ev.arrays.item_parent
    out, todo = [], [item]
    while todo:
        kids = np.flatnonzero(np.isin(parent, todo)).tolist()
        out += kids
        todo = kids
    return out


@SETTINGS
@given(scenarios(), st.sampled_from(["vari-metric", "metric"]), st.data())
def test_shares_add_up_and_each_driver_matches_a_re_evaluation(
    doc: dict[str, Any], method: str, data: st.DataObject
) -> None:
    ev = evaluate(scenario_from_dict(doc), method=method)
    d = ev.drivers()
    n_f = ev.arrays.fleet_system.size
    for f in range(n_f):
        rows = slice(d.indptr[f], d.indptr[f + 1])
        av = ev.availability[f]
        if av == 1.0 or d.indptr[f] == d.indptr[f + 1]:
            assert d.indptr[f] == d.indptr[f + 1] or av < 1.0
            continue
        assert math.fsum(d.share[rows]) == pytest.approx(1.0, abs=1e-12)
        if np.all(np.isfinite(d.term[rows])):
            assert math.exp(-math.fsum(d.term[rows])) == pytest.approx(av, rel=1e-10)
        terms = d.term[rows].tolist()
        assert terms == sorted(terms, reverse=True)  # largest first
    assert np.all((d.from_upper_sites >= 0) & (d.from_sub_items >= 0))
    assert np.all(d.from_upper_sites + d.from_sub_items <= 1 + 1e-12)
    if d.item.size == 0:
        return
    r = data.draw(st.integers(0, d.item.size - 1))
    f, i, s = int(d.fleet[r]), int(d.item[r]), int(d.site[r])
    # Availability without the item's backorders at the site: ample stock of it there.
    without = _ample(ev, [(i, s)], method)
    assert without.pipes.ebo[i, s] < 1e-15 * max(1.0, ev.pipes.ebo[i, s])
    assert d.availability_without[r] == pytest.approx(without.availability[f], rel=1e-9)
    # The upper sites' part: what ample stock of the item at every upper site removes.
    upper = _ample(ev, [(i, u) for u in _upper_sites(ev, s)], method)
    assert upper.pipes.ebo[i, s] == pytest.approx(
        ev.pipes.ebo[i, s] * (1 - d.from_upper_sites[r]), rel=1e-9, abs=1e-13)
    # The site's own part: ample sub-items everywhere as well.
    subs = [(k, t) for k in _sub_items(ev, i) for t in range(ev.arrays.n_sites)]
    own = _ample(ev, [(i, u) for u in _upper_sites(ev, s)] + subs, method)
    own_share = 1 - d.from_upper_sites[r] - d.from_sub_items[r]
    assert own.pipes.ebo[i, s] == pytest.approx(ev.pipes.ebo[i, s] * own_share,
                                                rel=1e-9, abs=1e-13)


def one_site(items: list[dict[str, Any]], stock: list[dict[str, Any]],
             count: int = 2, hours: float = 20.0) -> dict[str, Any]:
    """A depot and one base; every item installed in system S."""
    return {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 3}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B", "count": count, "hours_per_day": hours}],
        "items": items,
        "stock": stock,
    }


def _item(name: str, mtbf: float, qty: int, **kw: Any) -> dict[str, Any]:
    return {"id": name, "mtbf_hours": mtbf, "installed_in": [{"system": "S", "qty": qty}],
            "depot_repair_days": 20, **kw}


def poisson_ebo(mean: float, s: int) -> float:
    """E[(X − s)⁺] for X Poisson, summed term by term."""
    x = np.arange(0, 400)
    return float(np.sum(np.maximum(x - s, 0) * stats.poisson.pmf(x, mean)))


def test_a_one_item_fleet_owes_everything_to_it() -> None:
    ev = evaluate(scenario_from_dict(one_site([_item("LRU", 300, 2)], [])))
    d = ev.drivers()
    assert d.share.tolist() == [1.0]
    assert d.availability_without.tolist() == [1.0]
    fleet = ev.to_dict()["fleets"][0]
    assert [r["item"] for r in fleet["drivers"]] == ["LRU"]
    assert fleet["drivers_other"] == {"items": 0, "share": 0.0}


def test_brute_force_two_items_two_echelons_metric() -> None:
    """Every number from Poisson sums: METRIC pipelines, the product formula, its logs."""
    n, hours = 2, 20.0
    items = [_item("A", 400, 1, base_repair_fraction=0.5, base_repair_days=4),
             _item("B", 900, 2)]
    stock = [{"item": "A", "site": "D", "qty": 1}, {"item": "A", "site": "B", "qty": 1},
             {"item": "B", "site": "D", "qty": 2}]
    ev = evaluate(scenario_from_dict(one_site(items, stock, n, hours)), method="metric")
    want = {}
    for name, mtbf, z, r, t_base, s_d, s_b in (("A", 400, 1, 0.5, 4, 1, 1),
                                                ("B", 900, 2, 0.0, 0, 2, 0)):
        m = n * z * hours / mtbf
        up = (1 - r) * m
        ebo_d = poisson_ebo(up * 20, s_d)
        own = r * m * t_base + up * 3
        ebo = poisson_ebo(own + ebo_d, s_b)  # f = 1: the base has the depot to itself
        ebo_own = poisson_ebo(own, s_b)
        term = -z * math.log1p(-ebo / (n * z))
        want[name] = (term, ebo, (ebo - ebo_own) / ebo)
    total = sum(t for t, _, _ in want.values())
    assert ev.availability[0] == pytest.approx(math.exp(-total), rel=1e-12)
    fleet = ev.to_dict()["fleets"][0]
    assert [r["item"] for r in fleet["drivers"]] == sorted(want, key=lambda k: -want[k][0])
    for row in fleet["drivers"]:
        term, ebo, upper = want[row["item"]]
        assert row["share"] == pytest.approx(term / total, rel=1e-10)
        assert row["ebo"] == pytest.approx(ebo, rel=1e-10)
        assert row["availability_without"] == pytest.approx(math.exp(term - total), rel=1e-10)
        assert row["from_upper_sites"] == pytest.approx(upper, rel=1e-9)
        assert row["from_sub_items"] == 0.0


def test_brute_force_sub_item_at_a_single_site() -> None:
    """A fleet at the depot itself: no upper sites; the SRU's backorders hold up LRU
    repairs (METRIC: LRU pipeline m·T + EBO_SRU, Sherbrooke 2004 sec. 5.2)."""
    doc = {
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "D", "count": 3, "hours_per_day": 10}],
        "items": [_item("LRU", 200, 1), {"id": "SRU", "parent": "LRU", "replace_fraction": 0.5,
                                         "depot_repair_days": 30}],
        "stock": [{"item": "LRU", "site": "D", "qty": 2}],
    }
    ev = evaluate(scenario_from_dict(doc), method="metric")
    m = 3 * 10 / 200
    ebo_sru = poisson_ebo(0.5 * m * 30, 0)
    ebo = poisson_ebo(m * 20 + ebo_sru, 2)
    (row,) = ev.to_dict()["fleets"][0]["drivers"]
    assert row["ebo"] == pytest.approx(ebo, rel=1e-10)
    assert row["from_sub_items"] == pytest.approx((ebo - poisson_ebo(m * 20, 2)) / ebo, rel=1e-9)
    assert row["from_upper_sites"] == 0.0
    assert row["share"] == 1.0


def test_positions_all_empty_share_the_loss() -> None:
    """EBO beyond the installed positions: A = 0, the blocking items share the loss."""
    items = [_item("A", 5, 1), _item("B", 5, 1), _item("C", 5000, 1)]
    ev = evaluate(scenario_from_dict(one_site(items, [], count=1, hours=24)))
    assert ev.availability[0] == 0.0
    fleet = ev.to_dict()["fleets"][0]
    shares = {r["item"]: r["share"] for r in fleet["drivers"]}
    assert shares == {"A": 0.5, "B": 0.5, "C": 0.0} or shares == {"A": 0.5, "B": 0.5}
    assert all(r["availability_without"] == 0.0 for r in fleet["drivers"] if r["item"] != "C")


def test_the_worked_example_names_why_samx_at_east_is_down() -> None:
    sc = load_scenario(EXAMPLES / "coalition-air-defence.yaml")
    doc = evaluate(sc).to_dict()
    (fleet,) = [f for f in doc["fleets"] if (f["system"], f["site"]) == ("SAMX", "EAST")]
    assert fleet["availability"] < 0.65  # 0.63 with the lateral link to NORTH, 0.51 without
    assert len(fleet["drivers"]) == 5
    assert all(r["item"].startswith("SAMX-") and r["site"] == "EAST" for r in fleet["drivers"])
    total = sum(r["share"] for r in fleet["drivers"]) + fleet["drivers_other"]["share"]
    assert total == pytest.approx(1.0, abs=1e-12)
    # Top five items' removal each lifts the fleet; the first lifts it most.
    lifts = [r["availability_without"] - fleet["availability"] for r in fleet["drivers"]]
    assert lifts == sorted(lifts, reverse=True) and lifts[-1] > 0


def test_exact_method_splits_against_the_poisson_own_pipeline() -> None:
    """Graves' model: ample depot stock leaves the base its own Poisson pipeline."""
    sc = load_scenario(EXAMPLES / "rail-two-echelon.yaml")
    ev = evaluate(sc, method="exact")
    d = ev.drivers()
    assert d.item.size > 0 and np.all(d.from_sub_items == 0)
    r = int(np.argmax(d.from_upper_sites))
    i, s = int(d.item[r]), int(d.site[r])
    a = compile_scenario(sc)
    stock = a.stock.copy()
    stock[i, a.site_parent[s]] = AMPLE
    ample = evaluate_arrays(a.with_stock(stock), method="exact")
    assert ample.pipes.ebo[i, s] == pytest.approx(
        ev.pipes.ebo[i, s] * (1 - d.from_upper_sites[r]), rel=1e-6)
