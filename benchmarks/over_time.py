"""Benchmark: readiness over time (VARI-METRIC), and its gap to the simulator.

    python benchmarks/over_time.py [--items 10000] [--bases 20] [--points 4]
    python benchmarks/over_time.py --simulator [--reps 1000] [--scale 10]

Default: the two-echelon scenario of ``benchmarks/evaluate.py`` (one depot,
``--bases`` bases, ``--items`` items, 50 system types at every base) with a delivery
adding half the systems at five bases on day 91, tempo × 1.5 on days [150, 220) and
given losses on day 300, evaluated at 52 weekly points (days 0, 7, …, 364) by
``sustain.evaluate_over_time``.  The baseline evaluates each point separately with
a straightforward per-day loop: every pipeline is the sum of the daily demand over
its window (one vectorised pass per day of the longest delay), the depot evaluated
at each lagged day the bases read, on ``--points`` of the days (its time per day
is the same for every day); both must agree (every event falls on a whole day and
the order-and-ship times are whole days, so the daily sums are exact).  Prints both
wall times and their ratio for all 52 days (53 with day 364).

``--simulator``: the two-echelon scenario of ``tests/readiness/test_over_time.py``
(fleets and MTBFs × ``--scale``/10), analytic against the time-phased simulator with
the analytic assumptions: the largest gap and the share of reported days inside the
simulated 99 % band.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

import sustain
from evaluate import build
from sustain.readiness.backorders import backorder_moments
from sustain.readiness.metric import demand_flows, fleet_availability
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import (
    Attrition,
    Delivery,
    Fleet,
    Installation,
    Item,
    Scenario,
    Site,
    StockLevel,
    System,
    TempoChange,
)


def scenario_of(a: ScenarioArrays, n_bases: int) -> Scenario:
    """The arrays of ``build`` as a scenario, with deliveries, a surge and losses."""
    sites = [Site(id=a.site_ids[0], kind="depot")] + [
        Site(id=s, kind="base", parent=a.site_ids[0], order_ship_days=float(o))
        for s, o in zip(a.site_ids[1:], np.round(a.order_ship_days[1:]), strict=True)
    ]
    items = []
    for i, iid in enumerate(a.item_ids):
        k = np.flatnonzero(a.qty_per_system[i])
        items.append(Item(
            id=iid, unit_cost=float(a.unit_cost[i]), mtbf_hours=1.0 / a.failures_per_hour[i],
            installed_in=tuple(Installation(system=a.system_ids[j], qty=int(a.qty_per_system[i, j]))
                               for j in k),
            base_repair_fraction=float(a.base_repair_fraction[i]),
            base_repair_days=float(a.base_repair_days[i]),
            depot_repair_days=float(a.depot_repair_days[i]),
            condemnation_fraction=float(a.condemnation_fraction[i]),
            procurement_days=float(a.procurement_days[i]),
        ))
    fleets = [
        Fleet(system=a.system_ids[k], site=a.site_ids[s], count=int(n), hours_per_day=float(h))
        for k, s, n, h in zip(a.fleet_system, a.fleet_site, a.fleet_count,
                              a.fleet_hours_per_day, strict=True)
    ]
    ii, ss = np.nonzero(a.stock)
    stock = [StockLevel(item=a.item_ids[i], site=a.site_ids[s], qty=int(a.stock[i, s]))
             for i, s in zip(ii, ss, strict=True)]
    deliveries = [Delivery(day=91, system=f.system, site=f.site, count=max(1, f.count // 2))
                  for f in fleets if f.site in {a.site_ids[b] for b in range(1, 6)}]
    losses = [Attrition(system=f.system, site=f.site, day=300, count=1)
              for f in fleets[::7]]
    return Scenario(
        sites=tuple(sites), systems=tuple(System(id=k) for k in a.system_ids),
        fleets=tuple(fleets), items=tuple(items), stock=tuple(stock),
        deliveries=tuple(deliveries),
        tempo=(TempoChange(from_day=150, to_day=220, factor=1.5),),
        attrition=tuple(losses),
    )


def per_day_loop(sc: Scenario, a: ScenarioArrays, rows: np.ndarray, days: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Pipeline means and EBO (rows × sites × days), each day on its own, by daily sums.

    Two echelons, single indenture, deterministic delays, whole-day events: the
    demand on day u (the piece [u, u+1)) comes from the fleets present that day.
    """
    keys = list(zip((a.system_ids[k] for k in a.fleet_system),
                    (a.site_ids[s] for s in a.fleet_site), strict=True))
    of = {k: f for f, k in enumerate(keys)}
    cache: dict[Any, Any] = {}

    def flows_on(u: int) -> Any:
        u = max(u, 0)
        count = a.fleet_count.copy()
        for d in sc.deliveries:
            if d.day <= u:
                count[of[(d.system, d.site)]] += d.count
        for r in sc.attrition:
            if r.day is not None and r.count and r.day <= u:
                f = of[(r.system, r.site)]
                count[f] = max(count[f] - r.count, 0)
        tempo = np.prod([t.factor for t in sc.tempo if t.from_day <= u < t.to_day])
        key = (count.tobytes(), float(tempo))
        if key not in cache:
            sub = a.subset(rows)
            cache[key] = (demand_flows(replace_fleets(sub, count, tempo)), count, tempo)
        return cache[key]

    def window(what: str, t: int, delay: np.ndarray) -> np.ndarray:
        out = np.zeros(np.broadcast_shapes(delay.shape, (rows.size, a.n_sites)))
        for k in range(int(np.ceil(delay.max()))):
            w = np.clip(delay - k, 0.0, 1.0)
            out += getattr(flows_on(t - k - 1)[0], what) * w
        return out

    o = np.round(a.order_ship_days)
    stock = a.stock[rows]
    mean = np.zeros((rows.size, a.n_sites, days.size))
    ebo = np.zeros_like(mean)

    done: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def depot(t: int) -> tuple[np.ndarray, np.ndarray]:
        if t in done:
            return done[t]
        rep = window("repairs", t, a.depot_repair_days[rows, None])[:, 0]
        dem = window("demand", t, a.procurement_days[rows, None])[:, 0]
        proc = window("repairs", t, a.procurement_days[rows, None])[:, 0]
        m = rep + (dem - proc)
        bo = backorder_moments(m, m, stock[:, 0])
        done[t] = m, np.stack([bo.ebo, bo.vbo])
        return done[t]

    for n, t in enumerate(days.tolist()):
        m0, bo0 = depot(t)
        mean[:, 0, n] = m0
        ebo[:, 0, n] = bo0[0]
        base = window("repairs", t, a.base_repair_days[rows, None])
        base += window("up", t, np.broadcast_to(o[None, :], (1, a.n_sites)))
        var = base.copy()
        for s in range(1, a.n_sites):
            lag = t - int(o[s])
            fl = flows_on(lag)[0]
            f = np.minimum(np.divide(fl.up[:, s], fl.demand[:, 0], out=np.zeros(rows.size),
                                     where=fl.demand[:, 0] > 0), 1.0)
            _, (p_ebo, p_vbo) = depot(lag)
            base[:, s] += f * p_ebo
            var[:, s] += f * f * p_vbo + f * (1 - f) * p_ebo
        bo = backorder_moments(base[:, 1:], var[:, 1:], stock[:, 1:])
        mean[:, 1:, n] = base[:, 1:]
        ebo[:, 1:, n] = bo.ebo
        fl, count, tempo = flows_on(t)
        fleet_availability(replace_fleets(a.subset(rows), count, tempo), fl, ebo[:, :, n])
    return mean, ebo


def replace_fleets(a: ScenarioArrays, count: np.ndarray, tempo: float) -> ScenarioArrays:
    """``a`` with other fleet counts and every fleet's hours × ``tempo``."""
    return replace(a, fleet_count=count, fleet_hours_per_day=a.fleet_hours_per_day * tempo)


def speed(args: argparse.Namespace) -> None:
    a = build(args.items, args.bases)
    sc = scenario_of(a, args.bases)
    a = compile_scenario(sc)
    best, cpu = np.inf, np.inf
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        ot = sustain.evaluate_over_time(sc, days=364, step=7, method="vari-metric")
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    fast = best
    print(f"{a.n_items:,} items × {a.n_sites} sites × {ot.days.size} days: "
          f"{fast:.2f} s vectorised (best of {args.repeat}; CPU {cpu:.2f} s)")
    rows = np.arange(a.n_items)
    cols = np.arange(0, ot.days.size, max(1, ot.days.size // args.points))[: args.points]
    t0, c0 = time.perf_counter(), time.process_time()
    mean, ebo = per_day_loop(sc, a, rows, ot.days[cols])
    slow = time.perf_counter() - t0
    slow_cpu = time.process_time() - c0
    err_m = np.max(np.abs(mean - ot.pipeline_mean[:, :, cols]) / np.maximum(mean, 1e-300))
    err_e = np.max(np.abs(ebo - ot.ebo[:, :, cols]) / np.maximum(ebo, 1e-12))
    every = slow / cols.size * ot.days.size
    print(f"per-day loop on days {ot.days[cols].tolist()}: {slow:.2f} s "
          f"({every:.1f} s for all {ot.days.size} days at the same rate)")
    ratio_cpu = slow_cpu / cols.size * ot.days.size / cpu
    print(f"ratio: {every / fast:.1f}× (CPU {ratio_cpu:.1f}×); largest relative differences "
          "on those days: "
          f"pipeline {err_m:.1e}, EBO {err_e:.1e}")


def two_echelons(shift: float, scale: int) -> dict[str, Any]:
    """The scenario of tests/readiness/test_over_time.py (scale 10 there)."""
    return {
        "sites": [{"id": "DEPOT"}, {"id": "B1", "parent": "DEPOT", "order_ship_days": 5},
                  {"id": "B2", "parent": "DEPOT", "order_ship_days": 8}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B1", "count": 20 * scale, "hours_per_day": 20},
                   {"system": "S", "site": "B2", "count": 15 * scale, "hours_per_day": 16}],
        "items": [
            {"id": "LRU", "mtbf_hours": 2000 * scale,
             "installed_in": [{"system": "S", "qty": 1}],
             "base_repair_fraction": 0.3, "base_repair_days": 4, "depot_repair_days": 20},
            {"id": "SRU", "parent": "LRU", "replace_fraction": 0.5, "depot_repair_days": 15},
            {"id": "PSU", "mtbf_hours": 1000 * scale,
             "installed_in": [{"system": "S", "qty": 2}],
             "depot_repair_days": 10, "condemnation_fraction": 0.1, "procurement_days": 40},
        ],
        "stock": [{"item": "LRU", "site": "DEPOT", "qty": 3},
                  {"item": "LRU", "site": "B1", "qty": 2},
                  {"item": "LRU", "site": "B2", "qty": 1},
                  {"item": "SRU", "site": "DEPOT", "qty": 1},
                  {"item": "PSU", "site": "B1", "qty": 2},
                  {"item": "PSU", "site": "B2", "qty": 2},
                  {"item": "PSU", "site": "DEPOT", "qty": 2}],
        "deliveries": [{"day": 60 + shift, "system": "S", "site": "B2", "count": 15 * scale,
                        "stock": [{"item": "PSU", "qty": 2}]}],
        "tempo": [{"from_day": 120 + shift, "to_day": 180 + shift, "factor": 2.0}],
    }


def against_simulator(args: argparse.Namespace) -> None:
    from sustain.scenario import scenario_from_dict

    warmup, horizon = 150, 240
    for delays in ("deterministic", "exponential"):
        ot = sustain.evaluate_over_time(
            scenario_from_dict(two_echelons(0, args.scale)), days=horizon, step=10,
            exponential=delays == "exponential",
        )
        sim = sustain.simulate(
            scenario_from_dict(two_echelons(warmup, args.scale)), days=warmup + horizon,
            replications=args.reps, seed=5, failures_while_down=True, delays=delays,
        )
        at = {float(d): n for n, d in enumerate(sim.series_days)}
        up = sim.series[:, [at[warmup + float(d)] for d in ot.days], :]
        mean = up.mean(axis=0).T
        half = stats.t.ppf(0.995, args.reps - 1) * up.std(axis=0, ddof=1).T / np.sqrt(args.reps)
        gap = ot.availability - mean
        inside = np.mean(np.abs(gap) <= half)
        worst = np.unravel_index(np.argmax(np.abs(gap)), gap.shape)
        print(f"{delays}: largest |gap| {np.max(np.abs(gap)):.4f} "
              f"(fleet {worst[0]}, day {ot.days[worst[1]]}), day-0 gaps "
              f"{np.round(gap[:, 0], 4).tolist()}, inside the 99 % band on "
              f"{100 * inside:.0f} % of fleet-days (half-width median {np.median(half):.4f})")


def main() -> None:
    """Command line: see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--bases", type=int, default=20)
    ap.add_argument("--points", type=int, default=4, help="days the per-day loop evaluates")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--simulator", action="store_true", help="the gap to the simulator")
    ap.add_argument("--reps", type=int, default=1_000)
    ap.add_argument("--scale", type=int, default=10)
    args = ap.parse_args()
    if args.simulator:
        against_simulator(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
