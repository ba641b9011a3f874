"""``sustain next``: the local search after the greedy, and which gains are valued
again after a pick (the groups of interacting offers)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sustain.deliver import Measure, choose
from sustain.deliver.choose import LOOKAHEAD, _greedy, _Plans
from sustain.deliver.groups import offer_groups
from sustain.scenario.model import Consumable, Offer, StockpilePlan, Usage
from tests.deliver.cases import best_by_enumeration, scenario, small_case

#: Spares enough that no fleet ever waits for one (availability 1 to many digits).
PLENTY = 200
DAYS, STEP = 200, 10


def _trap() -> dict[str, Any]:
    """Every system always up, so an offered system adds value · (D − d + K/2) on day d
    > 0 (value · D on day 0) exactly: a knapsack with known gains.  With a budget of
    10, NOW (2.5 · 200 = 500 for 6) has the best gain per cost, then LATE (2.5 · 55 =
    137.5 for 3) fits; but B-SOON (3 · 175 = 525 for 7) and LATE are worth 662.5."""
    return {
        "sites": [{"id": "HUB"}, {"id": "EAST", "parent": "HUB", "order_ship_days": 3}],
        "systems": [{"id": "A"}, {"id": "B"}],
        "fleets": [{"system": "A", "site": "EAST", "count": 3, "hours_per_day": 10},
                   {"system": "B", "site": "EAST", "count": 2, "hours_per_day": 10}],
        "items": [{"id": "X", "mtbf_hours": 2000,
                   "installed_in": [{"system": "A"}, {"system": "B"}],
                   "depot_repair_days": 20}],
        "stock": [{"item": "X", "site": "EAST", "qty": PLENTY}],
        "value": [{"system": "A", "per_system_day": 2.5},
                  {"system": "B", "per_system_day": 3.0}],
        "offers": [
            {"id": "NOW", "kind": "systems", "system": "A", "site": "EAST", "max": 1,
             "unit_cost": 6.0},
            {"id": "B-SOON", "kind": "systems", "system": "B", "site": "EAST", "max": 1,
             "unit_cost": 7.0, "from_day": 30},
            {"id": "LATE", "kind": "systems", "system": "A", "site": "EAST", "max": 1,
             "unit_cost": 3.0, "from_day": 150},
        ],
    }


def test_the_local_search_leaves_the_trap_the_greedy_falls_in() -> None:
    m = Measure(scenario(_trap()), days=DAYS, step=STEP)
    base = (3 * 2.5 + 2 * 3.0) * DAYS
    assert m([0, 0, 0]).total == pytest.approx(base, rel=1e-9)
    greedy = choose(m, budget=10.0, restarts=0, search_units=0)
    assert greedy.qty == (1, 0, 1)
    assert greedy.value_after == pytest.approx(base + 637.5, rel=1e-9)
    assert greedy.search_evaluations is None
    searched = choose(m, budget=10.0, restarts=0)
    assert searched.qty == (0, 1, 1)  # NOW swapped for B-SOON
    assert searched.value_after == pytest.approx(base + 662.5, rel=1e-9)
    assert searched.value_after == pytest.approx(best_by_enumeration(m, 10.0), rel=1e-12)
    assert searched.search_moves == 1
    # The one neighbour of (1, 0, 1) the greedy had not valued; none of (0, 1, 1).
    assert searched.search_evaluations == 1


# Which offers interact -------------------------------------------------------------


def _offer(id: str, kind: str, **keys: Any) -> Offer:
    return Offer(id=id, kind=kind, unit_cost=1.0, max=1, **keys)


def test_groups_join_system_types_sharing_an_item_or_a_consumable() -> None:
    # A and B share item X; C and D share no item but fire the same consumable; E
    # stands alone; item W is installed in nothing.
    doc = {
        "sites": [{"id": "HUB"}],
        "systems": [{"id": s} for s in "ABCDE"],
        "fleets": [{"system": s, "site": "HUB", "count": 1, "hours_per_day": 8}
                   for s in "ABCDE"],
        "items": [
            {"id": "X", "mtbf_hours": 1000, "installed_in": [{"system": "A"}, {"system": "B"}],
             "depot_repair_days": 10},
            {"id": "XS", "parent": "X", "replace_fraction": 0.5, "depot_repair_days": 10},
            {"id": "YC", "mtbf_hours": 1000, "installed_in": [{"system": "C"}],
             "depot_repair_days": 10},
            {"id": "YD", "mtbf_hours": 1000, "installed_in": [{"system": "D"}],
             "depot_repair_days": 10},
            {"id": "YE", "mtbf_hours": 1000, "installed_in": [{"system": "E"}],
             "depot_repair_days": 10},
        ],
    }
    sc = scenario(doc)
    sc = replace(sc, stockpile=StockpilePlan(
        start_month="2026-01", months=12,
        consumables=(Consumable(id="R"), Consumable(id="UNUSED")),
        usage=(Usage(consumable="R", system="C", per_system_day=2.0),
               Usage(consumable="R", system="D", per_system_day=1.0))))
    offers = [
        _offer("SYS-A", "systems", system="A", site="HUB"),
        _offer("SP-XS", "spares", item="XS", site="HUB"),   # part of X: touches A and B
        _offer("SYS-B", "systems", system="B", site="HUB"),
        _offer("SYS-C", "systems", system="C", site="HUB"),  # more rounds drawn
        _offer("SP-YD", "spares", item="YD", site="HUB"),
        _offer("R-US", "consumable", consumable="R"),
        _offer("SP-YE", "spares", item="YE", site="HUB"),
        _offer("U-1", "consumable", consumable="UNUSED"),
        _offer("U-2", "consumable", consumable="UNUSED"),
    ]
    g = offer_groups(sc, offers)
    assert g[0] == g[1] == g[2]
    assert g[3] == g[4] == g[5]
    assert g[7] == g[8]
    assert len({g[0], g[3], g[6], g[7]}) == 4


def _two_groups(rng: np.random.Generator) -> dict[str, Any]:
    """A small case (system types A and B sharing item X) and a third system type C,
    with items of its own, a fleet, and offers of systems and spares."""
    doc = small_case(rng, n_fleets=2, n_systems=1, n_spares=3, phased=False)
    doc["systems"].append({"id": "C"})
    doc["fleets"].append({"system": "C", "site": "EAST", "count": int(rng.integers(1, 4)),
                          "hours_per_day": float(rng.uniform(4, 16))})
    for i in ("V", "W"):
        doc["items"].append({"id": i, "mtbf_hours": float(rng.uniform(300, 3000)),
                             "installed_in": [{"system": "C"}],
                             "depot_repair_days": float(rng.uniform(10, 60))})
    doc["offers"] += [
        {"id": "C-SYS", "kind": "systems", "system": "C", "site": "EAST", "max": 2,
         "unit_cost": float(rng.uniform(5, 20))},
        {"id": "C-V", "kind": "spares", "item": "V", "site": "HUB", "max": 3,
         "unit_cost": float(rng.uniform(0.5, 4))},
        {"id": "C-W", "kind": "spares", "item": "W", "site": "EAST", "max": 3,
         "unit_cost": float(rng.uniform(0.5, 4))},
    ]
    return doc


def test_gains_kept_across_groups_are_exact_and_stale_ones_would_pick_wrongly() -> None:
    # The greedy three ways: valuing again after each pick the gains of the picked
    # offer's group (the chooser), of every offer (the reference: nothing stale), or of
    # the picked offer only (stale gains for the offers it interacts with).  The first
    # must take the reference's steps on every case; the third goes wrong on some.
    rng = np.random.default_rng(15)
    stale_worse = 0
    for _ in range(6):
        m = Measure(scenario(_two_groups(rng)), days=120, step=40)
        n = len(m.offers)
        groups = offer_groups(m.scenario)
        assert len(set(groups)) == 2
        budget = 0.4 * sum(o.max * o.unit_cost for o in m.offers)
        live = [True] * n
        caps = [o.max for o in m.offers]
        runs = []
        for g in (groups, [0] * n, list(range(n))):
            qty = [0] * n
            plans = _Plans(m, [o.unit_cost for o in m.offers])
            steps = _greedy(plans, budget, qty, caps, live, g, LOOKAHEAD)
            runs.append(([(o, k) for o, k, *_ in steps], m(qty).total))
        (grouped, v_grouped), (every, v_every), (own, v_own) = runs
        assert grouped == every
        assert v_grouped == v_every
        stale_worse += own != every and v_own < v_every
    assert stale_worse >= 2
