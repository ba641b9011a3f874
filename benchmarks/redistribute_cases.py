"""``optimize --redistribute`` against brute force: random small cases (moves and
purchases together), shared by ``tests/optimize/test_redistribute.py`` and
``python benchmarks/redistribute_cases.py``.

The instances are those of ``optimize_cases.multi_echelon_doc`` (a depot and two bases,
fleets at both bases, at most 4 items with sub-items) with stock held at random
(0–3 units per item and site, so some is in the wrong place) and either the default
routes (every pair of sites, 5 % of the unit cost) or a ``moves`` table of random
routes and costs (1–40 % of the unit cost).

Brute force: every stock of each family with 0–``ME_MAX`` units per item and site
(``optimize_cases.family_table``, the readiness engine on each), each priced at the
cheapest way to reach it from the stock held: per item, the transport problem that
fills each site's deficit by moves from sites with a surplus or by purchases
(min Σ m_gr f_gr + c Σ b_r with Σ_g f_gr + b_r = deficit_r, Σ_r f_gr ≤ surplus_g, solved
exactly by HiGHS: the constraint matrix is totally unimodular, so the optimum is
integral).  The families' tables are then combined as for the purchases alone
(``optimize_cases.brute_min_cost``: Pareto sets, the cheapest combination meeting every
target).  Units are moved from what is held only (a unit received is not moved on).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linprog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import optimize_cases as oc

from sustain.optimize.api import TargetUnreachable, optimize_arrays
from sustain.optimize.redistribute import Routes, scenario_routes
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario

ME_MAX = 4
METHOD = oc.METHOD


def transport_cost(held: np.ndarray, stock: np.ndarray, move: np.ndarray, buy: float) -> float:
    """Cheapest moves (``move[g, r]`` per unit, inf: no route) and purchases (``buy`` per
    unit) that take one item's stock from ``held`` to ``stock`` (per site)."""
    deficit = np.maximum(stock - held, 0.0)
    surplus = np.maximum(held - stock, 0.0)
    if not deficit.any():
        return 0.0
    pairs = [(g, r) for g in np.flatnonzero(surplus).tolist()
             for r in np.flatnonzero(deficit).tolist() if math.isfinite(move[g, r])]
    if not pairs:
        return float(buy * deficit.sum())
    costs = {float(move[g, r]) for g, r in pairs}
    full = len(pairs) == np.count_nonzero(surplus) * np.count_nonzero(deficit)
    if full and len(costs) == 1:  # one cost on every route: move all that can, if cheaper
        m = costs.pop()
        moved = min(deficit.sum(), surplus.sum()) if m < buy else 0.0
        return float(m * moved + buy * (deficit.sum() - moved))
    n_p = len(pairs)
    reds = np.flatnonzero(deficit).tolist()
    # Variables: f per pair, then b per receiving site.
    c = np.array([move[g, r] for g, r in pairs] + [buy] * len(reds))
    a_eq = np.zeros((len(reds), n_p + len(reds)))
    for k, r in enumerate(reds):
        for p, (_, rr) in enumerate(pairs):
            if rr == r:
                a_eq[k, p] = 1.0
        a_eq[k, n_p + k] = 1.0
    gives = sorted({g for g, _ in pairs})
    a_ub = np.zeros((len(gives), n_p + len(reds)))
    for k, g in enumerate(gives):
        for p, (gg, _) in enumerate(pairs):
            if gg == g:
                a_ub[k, p] = 1.0
    res = linprog(c, A_ub=a_ub, b_ub=surplus[gives], A_eq=a_eq, b_eq=deficit[reds],
                  bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"transport problem failed: {res.message}")
    return float(res.fun)


def priced_table(a: ScenarioArrays, rows: np.ndarray, routes: Routes,
                 box: int = ME_MAX) -> oc.FamilyTable:
    """Every stock of a family in the box 0..``box``, priced by :func:`transport_cost`."""
    lo = np.zeros_like(a.stock)
    hi = np.full_like(a.stock, box)
    t = oc.family_table(a, rows, lo, hi, METHOD)
    cost = np.zeros(t.stock.shape[0])
    for j, r in enumerate(rows.tolist()):
        cache: dict[bytes, float] = {}
        for n in range(t.stock.shape[0]):
            x = t.stock[n, j]
            key = x.tobytes()
            if key not in cache:
                cache[key] = transport_cost(a.stock[r], x, routes.cost[r], float(a.unit_cost[r]))
            cost[n] += cache[key]
    return replace(t, cost=cost)


def brute_redistribute(a: ScenarioArrays, routes: Routes, target: float,
                       box: int = ME_MAX) -> float | None:
    """The cheapest moves and purchases in the box meeting ``target`` for every fleet."""
    tables = [priced_table(a, rows, routes, box) for rows in oc.families(a)]
    targets = np.full(a.fleet_system.size, target)
    lo, hi = np.zeros_like(a.stock), np.full_like(a.stock, box)
    best = oc.brute_min_cost(a, targets, lo, hi, METHOD, tables=tables)
    return None if best is None else best.cost


@dataclass
class Case:
    """One random instance: the optimiser's cost (purchases and moves) and brute force's."""

    seed: int
    doc: dict[str, Any]
    target: float
    brute_cost: float
    opt_cost: float
    plain_cost: float  # the optimiser without moves
    moves: int  # units the plan moves

    @property
    def ratio(self) -> float:
        if self.brute_cost == 0:
            return 1.0 if self.opt_cost == 0 else math.inf
        return self.opt_cost / self.brute_cost


def instance(seed: int, box: int = ME_MAX
             ) -> tuple[dict[str, Any], ScenarioArrays, Routes, float]:
    """A random instance with stock held and routes, and a target reachable in the box
    (0..``box`` per item and site) and not met by the stock held."""
    rng = np.random.default_rng(seed)
    while True:
        doc = oc.multi_echelon_doc(rng)
        doc["stock"] = [
            {"item": it["id"], "site": s, "qty": int(q)}
            for it in doc["items"] for s in ("D", "B1", "B2")
            if (q := rng.choice([0, 0, 1, 2, 3])) > 0
        ]
        if rng.random() < 0.5:
            sites = ("D", "B1", "B2")
            doc["moves"] = [
                {"from": g, "to": r, "cost_fraction": round(float(rng.uniform(0.01, 0.4)), 3)}
                for g in sites for r in sites if g != r and rng.random() < 0.7
            ]
        sc = scenario_from_dict(doc)
        a = compile_scenario(sc)
        if np.any(a.stock > box):
            continue
        t = round(float(rng.uniform(0.8, 0.95)), 3)
        a_max = evaluate_arrays(a.with_stock(np.full_like(a.stock, box)), method=METHOD)
        a_held = evaluate_arrays(a, method=METHOD)
        if np.min(a_max.availability) >= t + 0.01 and np.min(a_held.availability) < t:
            return doc, a, scenario_routes(sc, a), t


def compare(seed: int, box: int = ME_MAX, without: bool = True) -> Case:
    """The optimiser with moves against brute force on instance ``seed`` (stock
    0..``box`` per item and site, for both); ``without``: the optimiser without moves
    too (else its cost is NaN)."""
    doc, a, routes, t = instance(seed, box)
    bf = brute_redistribute(a, routes, t, box)
    if bf is None:
        raise RuntimeError(f"seed {seed}: nothing in the box meets {t}")
    hi = np.full_like(a.stock, box)
    try:
        opt = optimize_arrays(a, target=t, max_stock=hi, method=METHOD, routes=routes)
        plain = optimize_arrays(a, target=t, max_stock=hi, method=METHOD) if without else None
    except TargetUnreachable:
        return Case(seed, doc, t, bf, math.inf, math.inf, 0)
    ev = evaluate_arrays(a.with_stock(opt.stock), method=METHOD)
    if not np.all(ev.availability >= t - 1e-9):
        raise RuntimeError(f"seed {seed}: the plan misses the target")
    units = sum(r["qty"] for r in opt.move_lines())
    return Case(seed, doc, t, bf, opt.purchase_cost + opt.move_cost,
                math.nan if plain is None else plain.purchase_cost, units)


def main() -> None:
    """Print the distribution of cost / brute-force optimum over random instances."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--first-seed", type=int, default=3000)
    parser.add_argument("--box", type=int, default=ME_MAX,
                        help="most stock per item and site (brute force and optimiser)")
    args = parser.parse_args()
    rows = []
    start = time.process_time()
    for seed in range(args.first_seed, args.first_seed + args.instances):
        c = compare(seed, args.box)
        rows.append(c)
        print(f"seed {seed}: target {c.target}, brute {c.brute_cost:,.2f}, with moves "
              f"{c.opt_cost:,.2f} ({c.ratio:.4f}), without {c.plain_cost:,.2f}, "
              f"{c.moves} units moved")
    ratios = np.array([c.ratio for c in rows])
    print(f"{len(rows)} instances, {time.process_time() - start:.1f} s CPU: within 2 % "
          f"{np.mean(ratios <= 1.02):.0%}, optimal {np.mean(ratios <= 1 + 1e-9):.0%}, "
          f"max {ratios.max():.4f}; moves cheaper than buying in "
          f"{sum(c.opt_cost < c.plain_cost - 1e-9 for c in rows)}")


if __name__ == "__main__":
    main()
