"""Benchmark: the robust plan (``optimize --confidence``) against the nominal plan.

    python benchmarks/robust.py [--samples 100] [--check-samples 100]

On the worked example (target 0.9, confidence 0.9): the processor time (this process,
``time.process_time``, so ``--workers 1``: other programs loading the machine do not
inflate it) of the nominal plan
alone (``sustain.optimize``, the baseline), of the robust plan with one fresh draw (the
search: the nominal plan, the chains, their terms in every draw, the greedy) and with
``--check-samples`` fresh draws (each plan evaluated in each), in the same run.
Prints each, the ratio to the baseline, the cost per draw of the search and of the
check, and the two plans' costs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import sustain
from sustain.sweep.robust import robust_optimize

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition-air-defence.yaml"


def main() -> None:
    """Run the benchmark and print the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--check-samples", type=int, default=100)
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--confidence", type=float, default=0.9)
    args = ap.parse_args()
    sc = sustain.load_scenario(EXAMPLE)
    robust_optimize(sc, target=args.target, confidence=args.confidence, samples=2,
                    check_samples=1, refine_seconds=0)  # warm-up (imports, caches)
    t = time.process_time()
    nominal = sustain.optimize(sc, target=args.target)
    base = time.process_time() - t
    t = time.process_time()
    robust_optimize(sc, target=args.target, confidence=args.confidence,
                    samples=args.samples, check_samples=1)
    search = time.process_time() - t
    t = time.process_time()
    plan = robust_optimize(sc, target=args.target, confidence=args.confidence,
                           samples=args.samples, check_samples=args.check_samples)
    full = time.process_time() - t
    check = max(full - search, 0.0)
    print("processor seconds of this process")
    print(f"nominal plan (baseline)                 {base:8.2f} s   1.0x   cost "
          f"{nominal.purchase_cost:,.0f}")
    print(f"robust plan, {args.samples} draws, 1 fresh       {search:8.2f} s "
          f"{search / base:6.1f}x   {(search - base) / args.samples * 1e3:.0f} ms per draw "
          "beyond the nominal plan")
    print(f"robust plan and {args.check_samples} fresh draws    {full:8.2f} s "
          f"{full / base:6.1f}x   {check / args.check_samples * 1e3:.0f} ms per fresh draw "
          "(two plans evaluated)")
    print(f"robust cost {plan.robust.purchase_cost:,.0f} (+"
          f"{plan.cost_of_robustness:,.0f}); worst fleet on fresh draws "
          f"{min(plan.robust_check.p()[~np.isnan(plan.targets)], default=0.0):.3f} "
          f"(nominal plan {plan.nominal_check.p_all():.3f} all fleets at once)")


if __name__ == "__main__":
    main()
