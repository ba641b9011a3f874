"""Redundancy (k out of n) and essentiality: the analytic availability against enumeration.

One site (a root): the pipeline is Poisson with mean ``m · T`` (METRIC), the backorders
``(X − s)⁺``.  The references place ``B`` holes on the ``N·Z`` positions by listing every
set of ``B`` positions (spread at random) or every way of filling systems (consolidated:
the fewest systems grounded), and sum over ``B`` with Poisson weights.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sustain import evaluate
from sustain.readiness.redundancy import up_given_backorders
from sustain.scenario import scenario_from_dict

MTBF, HOURS, REPAIR = 300.0, 12.0, 25.0


def poisson(mean: float, x: int) -> float:
    return math.exp(-mean) * mean**x / math.factorial(x)


def spread_up(count: int, z: int, k: int, b: int) -> float:
    """Share of the sets of ``b`` empty positions that leave system 0 with ≥ k units."""
    if b >= count * z:
        return 0.0
    sets = list(itertools.combinations(range(count * z), b))
    return sum(sum(1 for p in c if p < z) <= z - k for c in sets) / len(sets)


def consolidated_up(count: int, z: int, k: int, b: int) -> float:
    """1 − (fewest systems below k units with b holes) / N, by listing hole counts."""
    best = count
    for holes in itertools.product(range(z + 1), repeat=count):
        if sum(holes) == min(b, count * z):
            best = min(best, sum(h > z - k for h in holes))
    return 1.0 - best / count


def one_site(installs: list[dict[str, Any]], stock: int, *, count: int = 3,
             holes: str | None = None, fleets: int = 1) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}, {"id": "T"}],
        "fleets": [{"system": "S", "site": "D", "count": count, "hours_per_day": HOURS}],
        "items": [
            {"id": f"I{n}", "mtbf_hours": MTBF, "installed_in": [{"system": "S", **inst}]
             + ([{"system": "T", "qty": 1}] if fleets == 2 else []),
             "depot_repair_days": REPAIR}
            for n, inst in enumerate(installs)
        ],
        "stock": [{"item": f"I{n}", "site": "D", "qty": stock} for n in range(len(installs))],
    }
    if fleets == 2:
        doc["fleets"].append({"system": "T", "site": "D", "count": 2, "hours_per_day": HOURS})
    if holes is not None:
        doc["holes"] = holes
    return doc


def reference(count: int, z: int, k: int, stock: int, *, share: float = 1.0,
              mean: float | None = None, consolidated: bool = False) -> float:
    """Σ_B P(B) P(up | B), B thinned binomially with ``share``; Poisson pipeline."""
    mean = count * z * HOURS / MTBF * REPAIR if mean is None else mean
    up = consolidated_up if consolidated else spread_up
    table = [up(count, z, k, b) for b in range(count * z + 1)]
    total = 0.0
    for x in range(0, 80):
        n = max(x - stock, 0)
        for b in range(0, min(n, count * z) + 1):
            w = math.comb(n, b) * share**b * (1 - share) ** (n - b)
            total += poisson(mean, x) * w * table[b]
    return total


@pytest.mark.parametrize(("z", "k", "stock"), [(2, 1, 0), (2, 1, 2), (3, 2, 1), (3, 1, 0),
                                               (2, 2, 1)])
@pytest.mark.parametrize("holes", ["spread", "consolidated"])
def test_one_item_matches_enumeration(z: int, k: int, stock: int, holes: str) -> None:
    ev = evaluate(scenario_from_dict(one_site([{"qty": z, "needed": k}], stock, holes=holes)),
                  method="metric")
    want = reference(3, z, k, stock, consolidated=holes == "consolidated")
    if k == z and holes == "spread":  # no redundancy: Sherbrooke's product formula
        want = (1.0 - float(ev.pipes.ebo[0, 0]) / (3 * z)) ** z
    assert_allclose(ev.availability[0], want, rtol=1e-9)


@pytest.mark.parametrize("holes", ["spread", "consolidated"])
def test_shared_stock_thins_the_backorders(holes: str) -> None:
    """Two fleets draw on one shelf: fleet S's backorders are a binomial share of them."""
    ev = evaluate(scenario_from_dict(one_site([{"qty": 2, "needed": 1}], 1, holes=holes,
                                              fleets=2)), method="metric")
    mean = (3 * 2 + 2 * 1) * HOURS / MTBF * REPAIR
    want = reference(3, 2, 1, 1, share=6 / 8, mean=mean, consolidated=holes == "consolidated")
    s_fleet = ev.arrays.system_ids.index("S")
    f = int(np.flatnonzero(ev.arrays.fleet_system == s_fleet)[0])
    assert_allclose(ev.availability[f], want, rtol=1e-9)


def test_inessential_item_counts_only_for_full_mission_capability() -> None:
    doc = one_site([{"qty": 2, "needed": 1}, {"qty": 1, "essential": False}], 4)
    ev = evaluate(scenario_from_dict(doc), method="metric")
    ebo = ev.pipes.ebo[:, 0]
    assert_allclose(ev.availability[0], reference(3, 2, 1, 4), rtol=1e-9)
    fmc = (1 - ebo[0] / 6) ** 2 * (1 - ebo[1] / 3)  # every position: the product formula
    assert_allclose(ev.fully_mission_capable[0], fmc, rtol=1e-12)
    doc_json = ev.to_dict()["fleets"][0]
    assert doc_json["availability_fmc"] < doc_json["availability"]


def test_without_redundancy_both_availabilities_are_the_product_formula() -> None:
    ev = evaluate(scenario_from_dict(one_site([{"qty": 2}], 1)), method="metric")
    assert ev.availability_fmc is None
    row = ev.to_dict()["fleets"][0]
    assert row["availability_fmc"] == row["availability"]


@pytest.mark.parametrize(("count", "z", "k"), [(1, 1, 1), (2, 3, 2), (4, 2, 1), (3, 3, 3)])
def test_up_given_backorders_by_enumeration(count: int, z: int, k: int) -> None:
    for consolidated, ref in ((False, spread_up), (True, consolidated_up)):
        got = up_given_backorders(count, z, k, consolidated=consolidated)
        want = [ref(count, z, k, b) for b in range(count * z)]
        assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_redundancy_raises_availability() -> None:
    """Needing fewer units never lowers availability; here it raises it."""
    base = evaluate(scenario_from_dict(one_site([{"qty": 3}], 1))).availability[0]
    more = evaluate(scenario_from_dict(one_site([{"qty": 3, "needed": 2}], 1))).availability[0]
    assert more > base + 0.05


def test_drivers_split_the_mission_capable_loss() -> None:
    """Terms are −log R of each essential item; an inessential item drives nothing."""
    doc = one_site([{"qty": 2, "needed": 1}, {"qty": 1, "essential": False}, {"qty": 1}], 1)
    ev = evaluate(scenario_from_dict(doc), method="metric")
    d = ev.drivers()
    items = [ev.arrays.item_ids[i] for i in d.item]
    assert "I1" not in items
    assert_allclose(d.share.sum(), 1.0, rtol=1e-12)
    assert_allclose(d.term.sum(), -math.log(ev.availability[0]), rtol=1e-12)
    r0 = reference(3, 2, 1, 1)
    assert_allclose(d.term[items.index("I0")], -math.log(r0), rtol=1e-9)
