"""Benchmark: VARI-METRIC on 1,000,000 item-site pairs against a scalar baseline.

    python benchmarks/evaluate.py [--items 50000] [--bases 20] [--sample 1000]

Builds a two-echelon scenario (one depot, ``--bases`` bases, ``--items`` items with
random MTBF, repair times and stock) directly as arrays, times the vectorised engine
on all of it, then times a straightforward per-pair scalar implementation (plain
Python loops over the pmf, the way one would first write it) on ``--sample`` items
× all bases in the same process, checks that both give the same numbers, and
prints the wall times and the ratio per pair.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import demand_flows
from sustain.scenario.compile import ScenarioArrays


def build(n_items: int, n_bases: int, n_systems: int = 50, seed: int = 1) -> ScenarioArrays:
    """A random two-echelon scenario: every system type fielded at every base.

    Each item is installed in one system type (its ``Z`` is 1–3 units).
    """
    rng = np.random.default_rng(seed)
    n_sites = n_bases + 1
    qty = np.zeros((n_items, n_systems))
    qty[np.arange(n_items), rng.integers(0, n_systems, n_items)] = rng.integers(1, 4, n_items)
    fleet_system = np.repeat(np.arange(n_systems), n_bases)
    fleet_site = np.tile(np.arange(1, n_sites), n_systems)
    a = ScenarioArrays(
        site_ids=("DEPOT", *(f"B{k:02d}" for k in range(n_bases))),
        item_ids=tuple(f"I{k:06d}" for k in range(n_items)),
        system_ids=tuple(f"SYS{k:02d}" for k in range(n_systems)),
        site_parent=np.array([-1] + [0] * n_bases, dtype=np.int64),
        site_depth=np.array([0] + [1] * n_bases, dtype=np.int64),
        order_ship_days=np.concatenate([[0.0], rng.uniform(2, 10, n_bases)]),
        item_parent=np.full(n_items, -1, dtype=np.int64),
        item_level=np.zeros(n_items, dtype=np.int64),
        failures_per_hour=1.0 / rng.uniform(2_000, 50_000, n_items),
        qty_per_system=qty,
        replace_fraction=np.zeros(n_items),
        base_repair_fraction=rng.choice([0.0, 0.2, 0.5], n_items),
        base_repair_days=rng.uniform(1, 7, n_items),
        depot_repair_days=rng.uniform(10, 60, n_items),
        condemnation_fraction=rng.choice([0.0, 0.05], n_items),
        procurement_days=rng.uniform(90, 360, n_items),
        unit_cost=rng.uniform(1e3, 1e6, n_items),
        fleet_system=fleet_system.astype(np.int64),
        fleet_site=fleet_site.astype(np.int64),
        fleet_count=rng.integers(2, 12, fleet_system.size).astype(np.float64),
        fleet_hours_per_day=rng.uniform(4, 20, fleet_system.size),
        stock=np.zeros((n_items, n_sites)),
    )
    # Stock a planner might hold: the 99.9 % Poisson quantile of each base's demand over
    # a week, and at the depot the 80 % quantile of its repair pipeline.
    flows = demand_flows(a)
    stock = np.zeros((n_items, n_sites))
    stock[:, 1:] = stats.poisson.ppf(0.999, flows.demand[:, 1:] * 7.0)
    stock[:, 0] = stats.poisson.ppf(0.8, flows.demand[:, 0] * a.depot_repair_days)
    return a.with_stock(stock)


def _pmf_moments(pmf_at: list[float], s: int) -> tuple[float, float, float]:
    ebo = sum((x - s) * p for x, p in enumerate(pmf_at) if x > s)
    eb2 = sum((x - s) ** 2 * p for x, p in enumerate(pmf_at) if x > s)
    fill = sum(pmf_at[:s])
    return ebo, eb2 - ebo * ebo, fill


def _pmf(mean: float, var: float, n: int) -> list[float]:
    if mean <= 0:
        return [1.0] + [0.0] * (n - 1)
    if var <= mean * (1 + 1e-9):
        p = [math.exp(-mean)]
        for x in range(1, n):
            p.append(p[-1] * mean / x)
        return p
    q = mean / var
    r = mean * mean / (var - mean)
    p = [math.exp(r * math.log(q))]
    for x in range(1, n):
        p.append(p[-1] * (x - 1 + r) / x * (1 - q))
    return p


def scalar_varimetric(a: ScenarioArrays, items: range) -> dict[tuple[int, int], float]:
    """Per-pair VARI-METRIC in plain Python (the baseline): EBO per (item, site)."""
    out: dict[tuple[int, int], float] = {}
    n_sites = a.n_sites
    for i in items:
        k = int(np.argmax(a.qty_per_system[i]))
        rate = float(a.failures_per_hour[i] * a.qty_per_system[i, k])
        r = float(a.base_repair_fraction[i])
        local = [0.0] * (n_sites - 1)
        for f in range(a.fleet_system.size):
            if a.fleet_system[f] == k:
                hours = float(a.fleet_count[f] * a.fleet_hours_per_day[f])
                local[int(a.fleet_site[f]) - 1] += rate * hours
        up = [(1 - r) * m for m in local]
        dep_dem = sum(up)
        c = float(a.condemnation_fraction[i])
        t0 = (1 - c) * float(a.depot_repair_days[i]) + c * float(a.procurement_days[i])
        m0 = dep_dem * t0
        s0 = int(a.stock[i, 0])
        n = int(m0 + 12 * math.sqrt(m0) + s0 + 40)
        ebo0, vbo0, _ = _pmf_moments(_pmf(m0, m0, n), s0)
        out[(i, 0)] = ebo0
        for b in range(1, n_sites):
            f = up[b - 1] / dep_dem if dep_dem > 0 else 0.0
            own = local[b - 1] * r * float(a.base_repair_days[i]) + up[b - 1] * float(
                a.order_ship_days[b]
            )
            mean = own + f * ebo0
            var = own + f * f * vbo0 + f * (1 - f) * ebo0
            s = int(a.stock[i, b])
            n = int(mean + 30 * math.sqrt(var) + s + 40)
            out[(i, b)] = _pmf_moments(_pmf(mean, var, n), s)[0]
    return out


def main() -> None:
    """Run the benchmark and print times and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--bases", type=int, default=20)
    ap.add_argument("--sample", type=int, default=1_000, help="items for the scalar baseline")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    a = build(args.items, args.bases)
    pairs = args.items * (args.bases + 1)
    evaluate_arrays(a)  # warm up imports and caches
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ev = evaluate_arrays(a, method="vari-metric")
        times.append(time.perf_counter() - t0)
    t_vec = min(times)

    sample = range(min(args.sample, args.items))
    scalar_times = []
    for _ in range(args.repeat):  # the same best-of-repeat treatment as the engine
        t0 = time.perf_counter()
        ref = scalar_varimetric(a, sample)
        scalar_times.append(time.perf_counter() - t0)
    t_scalar = min(scalar_times)
    diff = max(abs(ev.pipes.ebo[i, s] - v) for (i, s), v in ref.items())

    per_vec = t_vec / pairs
    per_scalar = t_scalar / len(ref)
    print(f"VARI-METRIC, two echelons: {args.items:,} items x {args.bases} bases + depot "
          f"= {pairs:,} item-site pairs")
    print(f"  vectorised engine : {t_vec:8.3f} s   ({per_vec * 1e9:8.1f} ns per pair, "
          f"best of {args.repeat})")
    print(f"  scalar baseline   : {t_scalar:8.3f} s on {len(ref):,} pairs "
          f"({per_scalar * 1e9:8.1f} ns per pair, best of {args.repeat})")
    print(f"  speed-up per pair : {per_scalar / per_vec:8.1f}x")
    print(f"  scalar baseline extrapolated to all pairs: {per_scalar * pairs:,.0f} s")
    print(f"  max |EBO difference| vectorised vs scalar: {diff:.2e}")
    print(f"  fleets: {ev.availability.size:,}, median availability "
          f"{np.nanmedian(ev.availability):.4f}")


if __name__ == "__main__":
    main()
