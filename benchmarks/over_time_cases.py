"""Sparing-over-time test cases shared by the tests and ``benchmarks/over_time_optimize.py``.

Small random scenarios (1–3 items; two one-echelon bases, or a depot and one base;
a delivery and a tempo surge; 3–4 reported days) and their brute-force optimum:

* every purchase vector with 0..:data:`BOX` units per (item, site) is a candidate;
  availability never falls when stock is added, so a vector is feasible with some
  delivery schedule (stock only grows) exactly when it is feasible with every unit on
  the shelf from day 0 (lead time 0 in these cases);
* items do not interact (no sub-items), and the stock vector of one item only moves
  that item's backorders, so one evaluation of the readiness engine
  (``evaluate_over_time`` with the purchases as arrivals) per combination of the two
  cells' levels, the same for every item, gives every item's backorders at every
  level pair;
* each fleet's availability at each day is Sherbrooke's product formula
  ``Π_i (1 − EBO_i·λ_i·h_f(t)/m_i(t))^{Z_i}``, written out here from the engine's
  backorders and demands (and checked against the engine's availability where all
  items share a level pair); items combine by adding their logs;
* the cheapest vector meeting every target on every day (``A ≥ target − 1e-9``) is
  the optimum over the box.

Needs only the runtime dependencies (no pytest).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.readiness.over_time import evaluate_over_time
from sustain.scenario import scenario_from_dict
from sustain.scenario.model import Scenario

#: Units per (item, site) the brute force enumerates: 0..BOX.
BOX = 4
TARGET_TOL = 1e-9
METHOD = "vari-metric"


@dataclass(frozen=True)
class Case:
    """A small scenario, its target and reported days."""

    seed: int
    doc: dict[str, Any]
    scenario: Scenario
    target: float
    days: int
    step: int


def small_case(seed: int) -> Case:
    """A random small scenario (module docstring)."""
    rng = np.random.default_rng(seed)
    two = bool(rng.random() < 0.5)
    if two:
        sites = [{"id": "DEPOT"},
                 {"id": "B1", "parent": "DEPOT", "order_ship_days": int(rng.integers(1, 6))}]
        bases = ["B1"]
    else:
        sites = [{"id": "B1"}, {"id": "B2"}]
        bases = ["B1", "B2"]
    fleets = [{"system": "S", "site": b, "count": int(rng.integers(2, 6)),
               "hours_per_day": float(round(rng.uniform(4, 16), 1))} for b in bases]
    items = []
    for n in range(int(rng.integers(1, 4))):
        item: dict[str, Any] = {
            "id": f"I{n}", "mtbf_hours": float(round(rng.uniform(300, 2000))),
            "installed_in": [{"system": "S", "qty": int(rng.integers(1, 3))}],
            "depot_repair_days": float(round(rng.uniform(5, 25))),
            "unit_cost": float(rng.choice([1, 2, 3, 5, 8]) * 1000),
        }
        if two and rng.random() < 0.5:
            item["base_repair_fraction"] = 0.3
            item["base_repair_days"] = float(round(rng.uniform(1, 5)))
        items.append(item)
    days, step = [(40, 20), (60, 20), (30, 10), (50, 25)][int(rng.integers(0, 4))]
    doc = {
        "sites": sites, "systems": [{"id": "S"}], "fleets": fleets, "items": items,
        "deliveries": [{"day": int(rng.integers(1, days)), "system": "S",
                        "site": bases[int(rng.integers(0, len(bases)))],
                        "count": int(rng.integers(1, 4))}],
        "tempo": [{"from_day": int(rng.integers(0, days)), "to_day": days + 10,
                   "factor": float(rng.choice([1.25, 1.5]))}],
    }
    target = float(round(rng.uniform(0.6, 0.95), 3))
    return Case(seed=seed, doc=doc, scenario=scenario_from_dict(doc), target=target,
                days=days, step=step)


def _tempo(doc: dict[str, Any], t: float) -> float:
    out = 1.0
    for row in doc.get("tempo", []):
        if row["from_day"] <= t < row["to_day"]:
            out *= row["factor"]
    return out


def brute_force(case: Case) -> tuple[float, np.ndarray | None]:
    """The cheapest purchases (items × sites) meeting the target on every day, over the
    box; ``(inf, None)`` when none in the box does."""
    sc = case.scenario
    base = evaluate_over_time(sc, days=case.days, step=case.step, method=METHOD)
    a = base.arrays
    n_i, n_s, days = a.n_items, a.n_sites, base.days
    levels = list(itertools.product(range(BOX + 1), repeat=n_s))
    # Every item copied once per level pair, holding those levels: one evaluation.
    copies = dict(case.doc)
    copies["items"] = [{**it, "id": f"{it['id']}~{n}"}
                       for n in range(len(levels)) for it in case.doc["items"]]
    copies["stock"] = [
        {"item": f"{it['id']}~{n}", "site": a.site_ids[s], "qty": q}
        for n, lv in enumerate(levels) for it in case.doc["items"]
        for s, q in enumerate(lv) if q > 0
    ]
    ot = evaluate_over_time(scenario_from_dict(copies), days=case.days, step=case.step,
                            method=METHOD)
    b = ot.arrays
    row = {x: r for r, x in enumerate(b.item_ids)}
    order = np.array([[row[f"{iid}~{n}"] for iid in a.item_ids] for n in range(len(levels))])
    # log factor per (level pair, item, fleet, day)
    logf = np.zeros((len(levels), n_i, a.fleet_system.size, days.size))
    lam = b.failures_per_hour[order]
    z_all = b.qty_per_system[order]
    tempo = np.array([_tempo(case.doc, float(t)) for t in days])
    for f in range(b.fleet_system.size):
        k, s = int(b.fleet_system[f]), int(b.fleet_site[f])
        h = b.fleet_hours_per_day[f] * tempo
        dem = ot.demand_per_day[order, s, :]
        share = np.divide(lam[:, :, None] * h, dem, out=np.zeros_like(dem), where=dem > 0)
        xs = np.minimum(ot.ebo[order, s, :] * share, 1.0)
        with np.errstate(divide="ignore"):
            logf[:, :, f, :] = z_all[:, :, k, None] * np.log1p(-xs)
    # The same formula against the engine, all items at one level pair: the first pair
    # (no stock: the scenario as given) and the last (BOX everywhere).
    for n in (0, len(levels) - 1):
        x = np.full((n_i, n_s), float(levels[n][0]))
        x[:] = np.array(levels[n], dtype=np.float64)
        check = evaluate_over_time(sc, days=case.days, step=case.step, method=METHOD,
                                   arrivals=[(x, np.zeros_like(x))])
        got = np.exp(logf[n].sum(axis=0))
        ok = ~np.isnan(check.availability)
        if not np.allclose(got[ok], check.availability[ok], rtol=1e-9, atol=1e-12):
            raise AssertionError("the product formula here disagrees with the engine")
    cost_l = np.array([sum(lv) for lv in levels], dtype=np.float64)
    n_l = len(levels)
    # Every combination of one level pair per item, by broadcasting.
    log_a = np.zeros((1,) * n_i + logf.shape[2:])
    cost = np.zeros((1,) * n_i)
    for i in range(n_i):
        shape = [1] * n_i
        shape[i] = n_l
        log_a = log_a + logf[:, i].reshape(*shape, *logf.shape[2:])
        cost = cost + (cost_l * a.unit_cost[i]).reshape(shape)
    present = base.present > 0
    ok = np.all(~present | (np.exp(log_a) >= case.target - TARGET_TOL), axis=(-2, -1))
    if not ok.any():
        return np.inf, None
    flat = np.where(ok, cost, np.inf).ravel()
    best = np.unravel_index(int(np.argmin(flat)), ok.shape)
    return float(flat.min()), np.array([levels[c] for c in best], dtype=np.float64)
