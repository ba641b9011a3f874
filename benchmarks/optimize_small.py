"""Benchmark: small three-echelon optimisations and the worked example, against a baseline.

    python benchmarks/optimize_small.py [--baseline SRC] [--repeat 3] [--cases NAME,...]

Each case (a scenario, a target or a budget) is optimised in a fresh interpreter, as a
``sustain optimize`` run would be, and the processor time and wall time of the
``sustain.optimize`` call are printed (the best of ``--repeat`` runs; the import of the
package is not counted, the first use of the compiled curve kernels is).  Processor
time is the measure to compare on a machine shared with other work: wall time grows
with the load, processor time hardly.

``--baseline SRC`` runs the same cases with the package found in another source tree
(e.g. a ``git worktree`` of main: ``git worktree add --detach /tmp/base main``, then
``--baseline /tmp/base/src``), interleaved with this tree's runs, and prints the ratios
baseline / this tree.  The purchase cost of each plan is printed too: equal costs show
that the speed-up did not change the answer.

The small cases (``benchmarks/scenarios/``): 8 items (3 with sub-items) on a root
depot → intermediate depot → 2-3 bases tree (a rail fleet, a wind farm, a radar
network).  The worked example: ``examples/coalition-air-defence.yaml`` (68 items).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "benchmarks" / "scenarios"
EXAMPLE = ROOT / "examples" / "coalition-air-defence.yaml"
SRC = ROOT / "src"

#: name -> (scenario file, target or None, budget or None)
CASES: dict[str, tuple[Path, float | None, float | None]] = {
    "rail 0.90": (SCENARIOS / "rail-fleet.yaml", 0.9, None),
    "rail 0.95": (SCENARIOS / "rail-fleet.yaml", 0.95, None),
    "rail budget 2M": (SCENARIOS / "rail-fleet.yaml", None, 2e6),
    "wind 0.90": (SCENARIOS / "wind-farm.yaml", 0.9, None),
    "wind 0.95": (SCENARIOS / "wind-farm.yaml", 0.95, None),
    "radar 0.90": (SCENARIOS / "radar-network.yaml", 0.9, None),
    "radar 0.95": (SCENARIOS / "radar-network.yaml", 0.95, None),
    "example 0.90": (EXAMPLE, 0.9, None),
}

#: Run in the fresh interpreter: one optimisation, timed; prints a JSON line.
WORKER = """
import json, sys, time
import sustain
scenario = sustain.load_scenario(sys.argv[1])
target = None if sys.argv[2] == "-" else float(sys.argv[2])
budget = None if sys.argv[3] == "-" else float(sys.argv[3])
c0, w0 = time.process_time(), time.perf_counter()
opt = sustain.optimize(scenario, target=target, budget=budget)
cpu, wall = time.process_time() - c0, time.perf_counter() - w0
print(json.dumps({"cpu": cpu, "wall": wall, "cost": opt.purchase_cost,
                  "stopped": getattr(opt, "refinement_stopped", False)}))
"""


def run_case(src: Path, path: Path, target: float | None, budget: float | None) -> dict[str, float]:
    """One optimisation in a fresh interpreter importing the package from ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    args = [str(path), "-" if target is None else str(target),
            "-" if budget is None else str(budget)]
    done = subprocess.run(
        [sys.executable, "-c", WORKER, *args], env=env, capture_output=True, text=True,
        check=False, timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"{src}: {path.name}: failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the cases and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="source tree (its src/) to compare with")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case and tree (best kept)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = ap.parse_args()
    names = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"--cases: unknown {unknown}; known: {list(CASES)}")
    trees = [("this", SRC)] + ([("base", args.baseline)] if args.baseline else [])
    head = f"{'case':<16} {'cpu s':>7} {'wall s':>7} {'cost':>12}"
    if args.baseline:
        head += (f" {'base cpu':>9} {'base wall':>9} {'base cost':>12} {'cpu ratio':>9}"
                 f" {'wall ratio':>10}")
    print(head)
    for name in names:
        path, target, budget = CASES[name]
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for tree, src in trees:  # interleaved: both see the same load
                r = run_case(src, path, target, budget)
                if tree not in best or r["cpu"] < best[tree]["cpu"]:
                    best[tree] = r
        t = best["this"]
        line = f"{name:<16} {t['cpu']:7.2f} {t['wall']:7.2f} {t['cost']:12,.0f}"
        if t.get("stopped"):
            line += " (refinement stopped)"
        if args.baseline:
            b = best["base"]
            line += (f" {b['cpu']:9.2f} {b['wall']:9.2f} {b['cost']:12,.0f}"
                     f" {b['cpu'] / t['cpu']:9.1f} {b['wall'] / t['wall']:10.1f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
