"""Benchmark: sparing over time (``sustain.optimize_over_time``), speed and quality.

    python benchmarks/over_time_optimize.py [--items 1000] [--bases 20] [--target 0.9]
    python benchmarks/over_time_optimize.py --brute [--cases 50]

Default: the two-echelon scenario of ``benchmarks/over_time.py`` (one depot,
``--bases`` bases, ``--items`` items, 50 system types at every base, a delivery on day
91, tempo × 1.5 on days [150, 220), losses on day 300; procurement 90–360 days),
VARI-METRIC, 52 weekly points (days 0, 7, …, 364), every fleet's target
``--target`` on every day.  The baseline in the same run is the steady optimiser
(``sustain.optimize``) on the worst day held for ever (every delivery in, tempo × 1.5,
no losses): its time, its cost against the plan's, and how many (fleet, day) pairs its
stock leaves below target over time that a purchase could reach.

``--brute``: the plan's cost against the brute-force optimum on ``--cases`` small
random cases (``benchmarks/over_time_cases.py``; what ``tests/optimize/test_over_time.py``
checks): the share within 2 % and the largest gap.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

import sustain
from evaluate import build
from over_time import scenario_of
from over_time_cases import METHOD, brute_force, small_case
from sustain.optimize.over_time import optimize_over_time
from sustain.scenario.compile import compile_scenario


def brute(cases: int) -> np.ndarray:
    """Gaps (plan cost / optimum − 1) on the first ``cases`` usable seeds."""
    gaps = []
    seed = 0
    while len(gaps) < cases:
        c = small_case(seed)
        seed += 1
        best, _ = brute_force(c)
        if not np.isfinite(best):
            continue  # no plan in the box meets the target: not a usable case
        plan = optimize_over_time(c.scenario, target=c.target, days=c.days, step=c.step,
                                  method=METHOD, lead_days=0.0)
        if plan.unreachable.any():
            continue
        gaps.append(plan.purchase_cost / best - 1.0 if best > 0 else
                    (0.0 if plan.purchase_cost == 0 else np.inf))
    return np.array(gaps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--bases", type=int, default=20)
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--brute", action="store_true")
    ap.add_argument("--cases", type=int, default=50)
    args = ap.parse_args()
    if args.brute:
        t0 = time.perf_counter()
        g = brute(args.cases)
        print(f"{g.size} small cases ({time.perf_counter() - t0:.1f} s): "
              f"{np.mean(g <= 0.02):.0%} within 2 % of the brute-force optimum, "
              f"largest gap {100 * g.max():.2f} %, mean {100 * g.mean():.3f} % "
              "(negative: cheaper than the best plan in the box of 0..4 units per cell)")
        return
    sc = scenario_of(build(args.items, args.bases), args.bases)
    a = compile_scenario(sc)
    t0, c0 = time.perf_counter(), time.process_time()
    plan = optimize_over_time(sc, target=args.target, days=364, step=7, method="vari-metric")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    short = plan.unreachable.sum()
    print(f"{a.n_items:,} items × {a.n_sites} sites × {plan.before.days.size} days, "
          f"{a.fleet_system.size:,} fleets, target {args.target}: {wall:.1f} s "
          f"(CPU {cpu:.1f} s); cost {plan.purchase_cost:,.0f}, {len(plan.lines):,} purchase "
          f"lines; {short:,} (fleet, day) pairs unreachable in time")
    # Baseline: the steady optimiser on the worst day held for ever (every delivery
    # in, tempo × 1.5, before the losses): what a planner without the time axis buys.
    counts = {(f.system, f.site): f.count for f in sc.fleets}
    for d in sc.deliveries:
        counts[(d.system, d.site)] += d.count
    worst = replace(
        sc, deliveries=(), tempo=(), attrition=(),
        fleets=tuple(replace(f, count=counts[(f.system, f.site)],
                             hours_per_day=f.hours_per_day * 1.5) for f in sc.fleets),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    steady = sustain.optimize(worst, target=args.target, method="vari-metric",
                              refine_seconds=0)
    wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    lead = np.broadcast_to(plan.lead_days[:, None], steady.buy.shape)
    ot = sustain.evaluate_over_time(sc, days=364, step=7, method="vari-metric",
                                    arrivals=[(steady.buy, lead)])
    reach = ~plan.unreachable & (ot.present > 0) & ~np.isnan(plan.targets)[:, None]
    missed = int(np.sum(reach & (ot.availability < args.target - 1e-9)))
    print(f"baseline, steady optimize on the worst day held for ever (every delivery in, "
          f"tempo × 1.5): {wall_s:.1f} s (CPU {cpu_s:.1f} s; over time / steady: "
          f"{cpu / max(cpu_s, 1e-9):.1f}× the CPU time), cost {steady.purchase_cost:,.0f}; "
          f"the plan over time costs {plan.purchase_cost / max(steady.purchase_cost, 1e-300):.2f}× "
          f"as much; the steady stock, on the shelf at the lead times, leaves {missed:,} of "
          f"{int(reach.sum()):,} reachable (fleet, day) pairs below target")


if __name__ == "__main__":
    main()
