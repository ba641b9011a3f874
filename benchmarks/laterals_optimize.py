"""The optimiser with lateral links against brute force on small random cases.

    python benchmarks/laterals_optimize.py [--cases 40] [--seed 1]

Each case: a depot and two bases linked laterally (1 day), one or two top-level items
installed in one system type, a fleet at each base.  Brute force enumerates every
allocation of 0 to ``MAX_UNITS`` units per item at each of the three sites, evaluates
each with the laterals (``sustain.readiness``) and keeps the cheapest that meets the
target at every fleet; the optimiser's plan (``optimize_arrays``, same target, default
settings) is compared with it.  Prints how often the plan's cost equals the optimum and
the largest ratio.  ``tests/laterals/test_optimize.py`` checks a few of these cases.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np

from sustain.optimize.api import optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario

#: Units per item and site the brute force tries: 0 .. MAX_UNITS.
MAX_UNITS = 3


def small_case(seed: int) -> tuple[ScenarioArrays, float]:
    """A random small case and its target (compiled, no stock held)."""
    rng = np.random.default_rng(seed)
    n_items = int(rng.integers(1, 3))
    items = [{"id": f"P{i}", "unit_cost": float(rng.integers(1, 6)) * 10.0,
              "mtbf_hours": float(rng.integers(800, 3000)), "installed_in": "SYS:1",
              "depot_repair_days": float(rng.integers(10, 30))} for i in range(n_items)]
    doc: dict[str, Any] = {
        "sites": [{"id": "HUB", "kind": "depot"},
                  {"id": "A", "parent": "HUB", "order_ship_days": float(rng.integers(2, 8))},
                  {"id": "B", "parent": "HUB", "order_ship_days": float(rng.integers(2, 8))}],
        "systems": [{"id": "SYS"}],
        "fleets": [{"system": "SYS", "site": s, "count": int(rng.integers(2, 6)),
                    "hours_per_day": float(rng.integers(6, 16))} for s in ("A", "B")],
        "items": items,
        "laterals": [{"from": "A", "to": "B", "days": 1.0}],
    }
    target = float(rng.choice([0.8, 0.85, 0.9]))
    return compile_scenario(scenario_from_dict(doc)), target


def brute_min_cost(a: ScenarioArrays, target: float, max_units: int = MAX_UNITS) -> float:
    """The cheapest allocation (0..max_units per item and site) meeting ``target``."""
    cells = a.n_items * a.n_sites
    best = np.inf
    for combo in itertools.product(range(max_units + 1), repeat=cells):
        stock = np.array(combo, dtype=np.float64).reshape(a.n_items, a.n_sites)
        cost = float(np.sum(stock * a.unit_cost[:, None]))
        if cost >= best:
            continue
        av = evaluate_arrays(a.with_stock(stock)).availability
        if np.all(av >= target - 1e-9):
            best = cost
    return best


def plan_cost(a: ScenarioArrays, target: float) -> float:
    """The optimiser's purchase cost for ``target``."""
    return optimize_arrays(a, target=target).purchase_cost


def main() -> None:
    """Run the cases and print the summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ratios = []
    for case in range(args.cases):
        a, target = small_case(args.seed * 1000 + case)
        best = brute_min_cost(a, target)
        if not np.isfinite(best):
            continue  # the target needs more than MAX_UNITS somewhere
        got = plan_cost(a, target)
        ratios.append(got / best if best > 0 else (1.0 if got == 0 else np.inf))
    r = np.array(ratios)
    print(f"{r.size} cases solvable within {MAX_UNITS} units per cell: plan cost equal to "
          f"the optimum in {np.mean(r <= 1 + 1e-9):.0%}; within 2 % in "
          f"{np.mean(r <= 1.02):.0%}; largest ratio {r.max():.3f}; below the optimum "
          f"{int(np.sum(r < 1 - 1e-9))} (must be 0)")


if __name__ == "__main__":
    main()
