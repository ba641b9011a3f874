"""Benchmark: ``sustain next`` (what to deliver next) — time and engine evaluations.

    python benchmarks/next.py [--step 28] [--scaled-step 28] [--skip-example] [--no-baseline]

1. The worked example (examples/coalition-next.yaml, 730 days) at three budgets:
   the measure reached, money spent, wall time and engine evaluations.
2. A scaled case: 5 fleets (one system type each, 10 items of its own, one base
   each under one depot), 54 offers (per fleet 2 of systems and 8 of spares, arriving
   on days 0 … 120; 4 of consumables), 24 months (730 days); more than 12 offers, so
   the greedy runs once. Two consumables: R fired by S0 and S1, M by S2, both short
   (partner stock, one donor with a month's lead time, and other demand of R), each
   offered by two donors (one of them the section's).

Each line gives the share of the time spent planning consumables (the stockpile
linear programmes, HiGHS) and the plans solved.

For each, the chooser's engine evaluations (and those of its local search, on
cases small enough for it) and wall time, then the same choice without the local
search, then a baseline: every offer treated as interacting with every pick (all
gains evaluated again after each pick, instead of only those of the picked offer's
group). All remember the choices already valued; the baseline's greedy takes the
same steps (the groups do not interact). Prints the ratio of the baseline's times
and evaluations to the chooser's. Target: each case under 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import sustain
from sustain.deliver import Measure, NextPlan, choose
from sustain.deliver.choose import SEARCH_UNITS
from sustain.scenario import scenario_from_dict

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition-next.yaml"


def scaled(seed: int = 7) -> dict[str, Any]:
    """The scaled case (module docstring), drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    systems = [f"S{k}" for k in range(5)]
    doc: dict[str, Any] = {
        "sites": [{"id": "DEPOT"}] + [{"id": f"B{k}", "parent": "DEPOT",
                                        "order_ship_days": 3} for k in range(5)],
        "systems": [{"id": s} for s in systems],
        "fleets": [{"system": s, "site": f"B{k}", "count": int(rng.integers(4, 20)),
                    "hours_per_day": float(rng.uniform(4, 16))} for k, s in enumerate(systems)],
        "items": [], "stock": [], "offers": [],
        "value": [{"system": s, "per_system_day": float(rng.choice([1, 4, 50]))}
                  for s in systems],
    }
    for k, s in enumerate(systems):
        for i in range(10):
            doc["items"].append({"id": f"{s}-I{i}", "mtbf_hours": float(rng.uniform(500, 5000)),
                                 "unit_cost": float(rng.uniform(1e4, 5e5)),
                                 "installed_in": [{"system": s}],
                                 "depot_repair_days": float(rng.uniform(15, 60))})
            doc["stock"].append({"item": f"{s}-I{i}", "site": "DEPOT",
                                 "qty": int(rng.integers(0, 3))})
        for n in range(2):
            doc["offers"].append({"id": f"{s}-SYS{n}", "kind": "systems", "system": s,
                                  "site": f"B{k}", "max": 3, "unit_cost": 3e6,
                                  "from_day": float(rng.choice([0, 60, 120]))})
        for i in rng.choice(10, size=8, replace=False):
            site = "DEPOT" if rng.random() < 0.5 else f"B{k}"
            cost = next(x["unit_cost"] for x in doc["items"] if x["id"] == f"{s}-I{i}")
            doc["offers"].append({"id": f"{s}-SP{i}", "kind": "spares", "item": f"{s}-I{i}",
                                  "site": site, "max": 4, "unit_cost": cost,
                                  "from_day": float(rng.choice([0, 30, 90]))})
    doc["stockpile"] = {
        "start_month": "2025-01", "months": 24,
        "consumables": [{"id": "R", "unit_cost": 3000}, {"id": "M", "unit_cost": 4e5}],
        "usage": [{"consumable": "R", "system": "S0", "per_system_day": 20},
                  {"consumable": "R", "system": "S1", "per_system_day": 30},
                  {"consumable": "M", "system": "S2", "per_system_day": 0.2}],
        "demand": [{"consumable": "R", "from": "2025-01", "per_month": 15000}],
        "partner_stock": {"R": 20000, "M": 30},
        "donors": [{"id": "US", "lead_months": 1, "stock": {"R": 40000, "M": 40},
                    "floor": {"R": 20000, "M": 20},
                    "production": [{"consumable": "R", "from": "2025-01", "per_month": 6000},
                                   {"consumable": "M", "from": "2025-06", "per_month": 1}]}],
    }
    for cid, per_month, cost in (("R", 2000, 3000.0), ("M", 4, 4e5)):
        doc["offers"].append({"id": f"{cid}-US", "donor": "US", "kind": "consumable",
                              "consumable": cid, "per_month": per_month,
                              "unit_cost": cost, "from_month": "2025-04"})
        doc["offers"].append({"id": f"{cid}-FR", "donor": "FR", "kind": "consumable",
                              "consumable": cid, "per_month": per_month,
                              "unit_cost": 1.2 * cost, "from_month": "2025-02"})
    return doc


def run(scenario: sustain.Scenario, budget: float, days: int, step: int, *,
        baseline: bool = False, search: bool = True
        ) -> tuple[NextPlan, float, float, Measure]:
    """The choice, its wall time, CPU time and the measure; ``baseline``: every offer in
    one group; ``search``: with the local search (on cases small enough for it)."""
    m = Measure(scenario, days=days, step=step)
    groups = tuple(0 for _ in m.offers) if baseline else None
    t0, c0 = time.perf_counter(), time.process_time()
    plan = choose(m, budget=budget, groups=groups,
                  search_units=SEARCH_UNITS if search else 0)
    return plan, time.perf_counter() - t0, time.process_time() - c0, m


def lp_share(m: Measure, seconds: float) -> str:
    """The consumables' plans: their share of the time, and how many were solved."""
    if m.supply is None:
        return "no consumables"
    return (f"plans {m.supply.solve_seconds / seconds:.0%} of the time "
            f"({m.supply.solves} solved, {m.engine_runs} engine runs)")


def report(label: str, scenario: sustain.Scenario, budget: float, days: int,
           step: int, baseline: bool = True) -> None:
    """One line for the choice, one without the local search, one for the baseline."""
    plan, t, c, m = run(scenario, budget, days, step)
    bare, tn, cn, _ = run(scenario, budget, days, step, search=False)
    kinds = ", ".join(f"{k} {sum(p.qty for p in plan.picks if p.offer.kind == k)}"
                      for k in ("systems", "spares", "consumable"))
    print(f"{label}: budget {budget:,.0f}: measure {plan.value_before:,.0f} -> "
          f"{plan.value_after:,.0f}, spent {plan.spent:,.0f} ({kinds} units, blocks for "
          f"consumables), {len(plan.picks)} picks")
    if plan.search_evaluations is None:
        print(f"  local search:   not run (more than {SEARCH_UNITS} units within the budget)")
    else:
        print(f"  local search:   {plan.search_evaluations:5d} evaluations, "
              f"{plan.search_moves} moves taken")
    print(f"  chooser:        {t:6.1f} s ({c:6.1f} s CPU), {plan.evaluations:5d} evaluations; "
          f"{lp_share(m, t)}")
    print(f"  without search: {tn:6.1f} s ({cn:6.1f} s CPU), {bare.evaluations:5d} evaluations "
          f"(measure {bare.value_after:,.0f})")
    if not baseline:
        return
    base, tb, cb, _ = run(scenario, budget, days, step, baseline=True)
    print(f"  baseline:       {tb:6.1f} s ({cb:6.1f} s CPU), {base.evaluations:5d} evaluations "
          f"(measure {base.value_after:,.0f}; every offer valued again after each pick)")
    print(f"  ratio baseline/chooser: time {tb / t:.2f}, evaluations "
          f"{base.evaluations / plan.evaluations:.2f}")


def main() -> None:
    """Parse the options and run both cases."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--step", type=int, default=28, help="K for the worked example")
    p.add_argument("--scaled-step", type=int, default=28, help="K for the scaled case")
    p.add_argument("--skip-example", action="store_true", help="the scaled case only")
    p.add_argument("--no-baseline", action="store_true",
                   help="without the baseline (every offer valued again after each pick)")
    a = p.parse_args()
    if not a.skip_example:
        sc = sustain.load_scenario(EXAMPLE)
        for budget in (5e6, 1e7, 2e7):
            report("worked example", sc, budget, 730, a.step, not a.no_baseline)
    big = scenario_from_dict(scaled())
    report("scaled (54 offers, 5 fleets, 2 consumables, 730 days)", big, 6e7, 730,
           a.scaled_step, not a.no_baseline)


if __name__ == "__main__":
    main()
