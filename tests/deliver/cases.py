"""Small random scenarios with offers, for the tests of ``sustain next``."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from sustain.deliver import Measure
from sustain.scenario import scenario_from_dict
from sustain.scenario.model import Scenario

SITES = ["EAST", "WEST"]


def small_case(rng: np.random.Generator, *, n_fleets: int = 2, n_offers: int = 3,
               phased: bool = True, n_systems: int | None = None,
               n_spares: int | None = None, time_rows: bool = False,
               most_choices: int | None = None) -> dict[str, Any]:
    """Two system types sharing one item, a depot and two bases, and a few offers.

    With one fleet (of A) every item is installed in A, so that each is demanded.
    The offers are ``n_offers`` of a kind drawn at random, or ``n_systems`` of systems
    and ``n_spares`` of spares; ``phased``: arriving on day 0, 30 or 90;
    ``time_rows``: with a delivery, a surge of tempo and attrition; ``most_choices``:
    offers' ``max`` lowered until at most that many choices exist (for enumeration).
    """
    fleets = [("A", "EAST"), ("B", "WEST"), ("A", "WEST")][:n_fleets]
    doc: dict[str, Any] = {
        "sites": [{"id": "HUB"},
                  {"id": "EAST", "parent": "HUB", "order_ship_days": 5},
                  {"id": "WEST", "parent": "HUB", "order_ship_days": 8}],
        "systems": [{"id": "A"}, {"id": "B"}],
        "fleets": [{"system": s, "site": x, "count": int(rng.integers(1, 5)),
                    "hours_per_day": float(rng.uniform(4, 16))} for s, x in fleets],
        "items": [
            {"id": "X", "mtbf_hours": float(rng.uniform(300, 3000)),
             "installed_in": [{"system": "A"}, {"system": "B"}],
             "depot_repair_days": float(rng.uniform(10, 60))},
            {"id": "Y", "mtbf_hours": float(rng.uniform(300, 3000)),
             "installed_in": [{"system": "A", "qty": 2}],
             "base_repair_fraction": 0.5, "base_repair_days": 3,
             "depot_repair_days": float(rng.uniform(10, 60))},
            {"id": "Z", "mtbf_hours": float(rng.uniform(300, 3000)),
             "installed_in": [{"system": "B"}] if n_fleets > 1 else [{"system": "A"}],
             "depot_repair_days": float(rng.uniform(10, 60))},
        ],
        "stock": [{"item": i, "site": s, "qty": int(rng.integers(0, 3))}
                  for i in ("X", "Y", "Z") for s in ("HUB", "EAST")],
        "value": [{"system": "A", "per_system_day": float(rng.uniform(0.5, 3))}],
    }
    if time_rows:
        doc["deliveries"] = [{"day": float(rng.choice([20, 60])), "system": "A",
                              "site": "EAST", "count": int(rng.integers(1, 3))}]
        doc["tempo"] = [{"from_day": 30.0, "to_day": 90.0,
                         "factor": float(rng.uniform(1.2, 2.0))}]
        doc["attrition"] = [{"system": "A", "site": "EAST",
                             "losses_per_day": float(rng.uniform(0.002, 0.02))}]
    if n_systems is None or n_spares is None:
        kinds = ["systems" if rng.random() < 0.35 else "spares" for _ in range(n_offers)]
    else:
        kinds = ["systems"] * n_systems + ["spares"] * n_spares
    offers = []
    for n, kind in enumerate(kinds):
        row: dict[str, Any] = {"id": f"O{n}", "kind": kind, "max": int(rng.integers(1, 4))}
        site = SITES[int(rng.integers(0, 2))]
        if kind == "systems":
            system = ["A", "B"][int(rng.integers(0, 2))]
            have = [f for f in doc["fleets"] if (f["system"], f["site"]) == (system, site)]
            row |= {"system": system, "site": site,
                    "unit_cost": float(rng.uniform(5, 20))}
            if not have:
                row["hours_per_day"] = 8.0
        else:
            row |= {"item": ["X", "Y", "Z"][int(rng.integers(0, 3))],
                    "site": ["HUB", *SITES][int(rng.integers(0, 3))],
                    "unit_cost": float(rng.uniform(0.5, 4))}
        if phased:
            row["from_day"] = float(rng.choice([0, 30, 90]))
        offers.append(row)
    while most_choices is not None and math.prod(o["max"] + 1 for o in offers) > most_choices:
        big = [o for o in offers if o["max"] > 1]
        big[int(rng.integers(0, len(big)))]["max"] -= 1
    doc["offers"] = offers
    return doc


def scenario(doc: dict[str, Any]) -> Scenario:
    return scenario_from_dict(doc)


def best_by_enumeration(m: Measure, budget: float) -> float:
    """The largest measure of any choice of units within ``budget``."""
    best = -np.inf
    ranges = [range(o.max + 1) for o in m.offers]
    for qty in itertools.product(*ranges):
        cost = sum(q * o.unit_cost for q, o in zip(qty, m.offers, strict=True))
        if cost <= budget + 1e-9:
            best = max(best, m(qty).total)
    return float(best)
