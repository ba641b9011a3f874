"""Accuracy of the lateral-resupply approximation against the simulator.

    python benchmarks/laterals.py [--cases 60] [--reps 10] [--days 20000] [--seed 1]

Random two-echelon cases: a depot and two to four bases under it, one to three
top-level items installed in one system type, a fleet at every base, random stock (0
to 2 at a base, 0 to 3 at the depot), random lateral links between the bases (every
pair, or a chain) of 0.5 to 3 days.  Each case is evaluated (VARI-METRIC) and simulated
(``failures_while_down=True``, the analytic model's Poisson demand; deterministic
delays; a warm-up of 500 days), with its laterals and without them, and the table
gives the distribution over every fleet of every case of |analytic − simulated|
availability: with laterals, without them (the error of the model the laterals are
put on), and the change laterals make in each.  The simulated mean has a 95 %
half-width printed too, so the part of the error that is simulation noise is seen.

``docs/method.md`` ("Lateral resupply") quotes the table.
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import numpy as np

from sustain.readiness.evaluate import evaluate
from sustain.scenario import scenario_from_dict
from sustain.simulate.replicate import simulate

FloatArray = Any


def random_doc(seed: int) -> dict[str, Any]:
    """A random case with lateral links (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_bases = int(rng.integers(2, 5))
    bases = [f"B{k}" for k in range(n_bases)]
    sites: list[dict[str, Any]] = [{"id": "HUB", "kind": "depot"}]
    sites += [{"id": b, "parent": "HUB", "order_ship_days": float(rng.integers(2, 9))}
              for b in bases]
    n_items = int(rng.integers(1, 4))
    items = []
    stock = []
    for i in range(n_items):
        item: dict[str, Any] = {
            "id": f"P{i}", "unit_cost": float(rng.integers(1, 10)) * 100.0,
            "mtbf_hours": float(rng.integers(1000, 8000)),
            "installed_in": f"SYS:{int(rng.integers(1, 3))}",
            "depot_repair_days": float(rng.integers(10, 41)),
        }
        if rng.random() < 0.3:
            item["base_repair_fraction"] = round(float(rng.uniform(0.1, 0.5)), 2)
            item["base_repair_days"] = float(rng.integers(2, 8))
        items.append(item)
        stock.append({"item": f"P{i}", "site": "HUB", "qty": int(rng.integers(0, 4))})
        stock += [{"item": f"P{i}", "site": b, "qty": int(rng.integers(0, 3))} for b in bases]
    fleets = [{"system": "SYS", "site": b, "count": int(rng.integers(2, 7)),
               "hours_per_day": float(rng.integers(4, 13))} for b in bases]
    pairs = ([(bases[x], bases[y]) for x in range(n_bases) for y in range(x + 1, n_bases)]
             if rng.random() < 0.6 else list(itertools.pairwise(bases)))
    laterals = [{"from": x, "to": y, "days": float(rng.choice([0.5, 1.0, 2.0, 3.0]))}
                for x, y in pairs]
    return {"name": f"laterals-{seed}", "sites": sites, "systems": [{"id": "SYS"}],
            "fleets": fleets, "items": items, "stock": stock, "laterals": laterals}


def compare(doc: dict[str, Any], *, reps: int, days: float, seed: int
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(analytic, simulated mean, simulated 95 % half-width) availability per fleet."""
    scenario = scenario_from_dict(doc)
    ev = evaluate(scenario)
    sim = simulate(scenario, days=days, replications=reps, seed=seed, warmup_days=500.0,
                   failures_while_down=True)
    half = np.array([(hi - lo) / 2 for lo, hi in sim.availability_ci95()])
    return ev.availability, sim.availability_mean, half


def _q(x: FloatArray) -> str:
    return (f"{np.median(x):.4f} | {np.quantile(x, 0.9):.4f} | {np.max(x):.4f}")


def main() -> None:
    """Run the cases and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--days", type=float, default=20_000.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    err_lat, err_plain, gain_an, gain_sim, halves = [], [], [], [], []
    t0 = time.perf_counter()
    for case in range(args.cases):
        doc = random_doc(args.seed * 100_000 + case)
        an, sm, half = compare(doc, reps=args.reps, days=args.days, seed=case)
        plain = {k: v for k, v in doc.items() if k != "laterals"}
        an0, sm0, _ = compare(plain, reps=args.reps, days=args.days, seed=case)
        err_lat.append(an - sm)
        err_plain.append(an0 - sm0)
        gain_an.append(an - an0)
        gain_sim.append(sm - sm0)
        halves.append(half)
    s1, s0 = np.concatenate(err_lat), np.concatenate(err_plain)
    e1, e0 = np.abs(s1), np.abs(s0)
    g_an, g_sim = np.concatenate(gain_an), np.concatenate(gain_sim)
    print(f"{args.cases} random cases, {e1.size} fleets; {args.reps} replications of "
          f"{args.days:g} days each ({time.perf_counter() - t0:.0f} s)")
    print()
    print("| |analytic − simulated| availability | median | 90th percentile | max |")
    print("|---|---:|---:|---:|")
    print(f"| with laterals | {_q(e1)} |")
    print(f"| the same cases without laterals | {_q(e0)} |")
    print(f"| gain from laterals: |analytic − simulated| | {_q(np.abs(g_an - g_sim))} |")
    print(f"| simulation 95 % half-width (with laterals) | {_q(np.concatenate(halves))} |")
    print()
    print(f"mean gain from laterals: analytic {np.mean(g_an):.4f}, simulated "
          f"{np.mean(g_sim):.4f}; mean analytic − simulated: {np.mean(s1):+.4f} with "
          f"laterals, {np.mean(s0):+.4f} without")


if __name__ == "__main__":
    main()
