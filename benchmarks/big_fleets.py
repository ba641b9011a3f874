"""Benchmark: large fleets and high targets (long pipelines, thousands of units per site).

    python benchmarks/big_fleets.py [--baseline SRC] [--cases NAME,...] [--repeat 1]
        [--timeout 300]

Each case is one ``sustain.optimize`` call in a fresh interpreter (the import of the
package is not counted, the first use of the compiled curve kernels is), which prints
its processor time, wall time, peak resident memory (``ru_maxrss`` of that process,
imports included), the plan's cost and units, and whether every target is met when
the plan is evaluated again on its own (``evaluate_arrays`` of the plan's stock).
Processor time is the measure to compare on a machine shared with other work.

The cases: one item on a depot and two bases of 50,000 systems each (100,000 in all),
every unit repaired at the depot (a 30-day repair, 3 days to ship), to 0.9 and to
0.999999; 30 items on a depot and three bases of 10,000 systems each to 0.999999; and
smaller versions of each, where older code finishes quickly too.  Their pipelines run
to thousands of units at every site, so a plan buys from 12,000 to 70,000 units.

``--baseline SRC`` runs the same cases with the package found in another source tree
(e.g. a ``git worktree`` of main: ``git worktree add --detach /tmp/base main``, then
``--baseline /tmp/base/src``), interleaved with this tree's runs, and prints the
ratios baseline / this tree.  A baseline that refuses a case for its estimated work
(``optimize.work.MAX_WORK``) is run with that limit lifted, so its time is measured.
Equal costs show that a speed-up did not change the answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def big_fleet(systems_per_base: int, n_bases: int, n_items: int) -> dict[str, Any]:
    """Items on one system type at ``n_bases`` bases of a depot, repaired at the depot."""
    return {
        "sites": [{"id": "DEPOT"}] + [
            {"id": f"B{b}", "parent": "DEPOT", "order_ship_days": 3} for b in range(n_bases)
        ],
        "systems": [{"id": "S"}],
        "fleets": [
            {"system": "S", "site": f"B{b}", "count": systems_per_base, "hours_per_day": 24}
            for b in range(n_bases)
        ],
        "items": [
            {"id": f"PART{k}", "unit_cost": 100.0 + 10 * k, "mtbf_hours": 3500.0 * (1 + 0.25 * k),
             "installed_in": [{"system": "S", "qty": 1}], "depot_repair_days": 30}
            for k in range(n_items)
        ],
    }


#: name -> (systems per base, bases, items, target)
CASES: dict[str, tuple[int, int, int, float]] = {
    "1 item 2x50k 0.9": (50_000, 2, 1, 0.9),
    "1 item 2x50k 0.999999": (50_000, 2, 1, 0.999999),
    "30 items 3x10k 0.999999": (10_000, 3, 30, 0.999999),
    "1 item 2x10k 0.9": (10_000, 2, 1, 0.9),
    "1 item 2x10k 0.999999": (10_000, 2, 1, 0.999999),
    "10 items 3x1k 0.999999": (1_000, 3, 10, 0.999999),
}

#: Run in the fresh interpreter: one optimisation, timed; prints a JSON line.
WORKER = """
import json, math, resource, sys, time
import numpy as np
from sustain.errors import SustainError
from sustain.optimize import optimize, work
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
doc, target, lift = json.loads(sys.stdin.read())
scenario = scenario_from_dict(doc)
lifted = False
c0, w0 = time.process_time(), time.perf_counter()
try:
    opt = optimize(scenario, target=target)
except SustainError as exc:
    if not lift or "too long" not in str(exc):
        raise
    work.MAX_WORK, lifted = math.inf, True
    c0, w0 = time.process_time(), time.perf_counter()
    opt = optimize(scenario, target=target)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
a = compile_scenario(scenario)
again = evaluate_arrays(a.with_stock(opt.stock))
met = bool(np.all(again.availability >= target - 1e-9))
print(json.dumps({"cpu": cpu, "wall": wall, "rss": rss, "cost": opt.purchase_cost,
                  "units": float(np.sum(opt.stock - a.stock)), "met": met,
                  "lifted": lifted}))
"""


def run_case(src: Path, case: tuple[int, int, int, float], lift: bool,
             timeout: float) -> dict[str, Any]:
    """One optimisation in a fresh interpreter importing the package from ``src``."""
    per_base, n_bases, n_items, target = case
    env = {**os.environ, "PYTHONPATH": str(src)}
    payload = json.dumps([big_fleet(per_base, n_bases, n_items), target, lift])
    try:
        done = subprocess.run(
            [sys.executable, "-c", WORKER], input=payload, env=env, capture_output=True,
            text=True, check=False, timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"cpu": float("nan"), "wall": timeout, "rss": float("nan"),
                "cost": float("nan"), "units": float("nan"), "met": False,
                "lifted": lift, "status": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {"cpu": float("nan"), "wall": float("nan"), "rss": float("nan"),
                "cost": float("nan"), "units": float("nan"), "met": False,
                "lifted": lift, "status": tail[0][:100]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cell(r: dict[str, Any]) -> str:
    if "status" in r:
        return f"{r['status']:>44}"
    return (f"{r['cpu']:7.2f} {r['wall']:7.2f} {r['rss'] / 2**20:7.0f} {r['cost']:12,.0f}"
            f" {'yes' if r['met'] else 'NO':>4}" + ("*" if r.get("lifted") else " "))


def main() -> None:
    """Run the cases and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="source tree (its src/) to compare with")
    ap.add_argument("--repeat", type=int, default=1, help="runs per case and tree (best kept)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="seconds before a run is stopped (reported as such)")
    args = ap.parse_args()
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"--cases: unknown {unknown}; known: {list(CASES)}")
    trees = [("this", SRC)] + ([("base", args.baseline)] if args.baseline else [])
    cols = f"{'cpu s':>7} {'wall s':>7} {'MB':>7} {'cost':>12} {'met':>4} "
    head = f"{'case':<24} {cols}"
    if args.baseline:
        head += f"| base {cols}| {'cpu ratio':>9} {'MB ratio':>8}"
    print(head)
    print("(MB: peak resident memory of the process, imports included; "
          "* the work limit was lifted to run it)")
    for name in names:
        best: dict[str, dict[str, Any]] = {}
        for _ in range(args.repeat):
            for tree, src in trees:  # interleaved: both see the same load
                r = run_case(src, CASES[name], lift=tree == "base", timeout=args.timeout)
                if tree not in best or r["cpu"] < best[tree]["cpu"]:
                    best[tree] = r
        t = best["this"]
        line = f"{name:<24} {_cell(t)}"
        if args.baseline:
            b = best["base"]
            line += f"| base {_cell(b)}| {b['cpu'] / t['cpu']:9.2f} {b['rss'] / t['rss']:8.2f}"
            if abs(b["cost"] - t["cost"]) > 1e-9 * max(1.0, abs(b["cost"])):
                line += f"  (cost {t['cost'] / b['cost'] - 1:+.2e} vs base)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
