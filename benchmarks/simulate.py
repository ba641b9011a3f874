"""Benchmark: the Sustain event kernel against the same model written plainly in SimPy.

    python benchmarks/simulate.py [--days 20000] [--reps 8] [--bases 2] [--items 3] [--phased]
                                  [--repeat 3] [--no-simpy]

Builds a two-echelon, single-indenture scenario (a depot, ``--bases`` bases with a
fleet of 10 systems each, ``--items`` item types per system, some repaired at the
base), simulates it with :func:`sustain.simulate.simulate` (realistic default: a down
system does not fail; deterministic repair and shipping times) and with a plain SimPy
model of the same logistics, in the same process, with the same number of
replications (timings: best of ``--repeat``, after one short call that compiles the
kernel or loads it from numba's cache, reported on its own).  Prints model events
per second for both, the ratio, and each fleet's availability and each base item's
mean backorders with 95 % confidence intervals from both, flagging any pair whose
difference is outside its combined 99 % interval.

A model event is a failure clock firing (thinned ones included), a repair finishing
or a shipment arriving; both implementations count the same ones.

``--documents DIR`` writes instead the JSON documents of 18 simulations (the worked
example, steady-only and time-phased scenarios with sub-items, repair channels,
cannibalisation, Weibull lives, battle damage, losses, deliveries; every option) to
DIR, one file each: run it with two versions (``PYTHONPATH=A/src`` and ``B/src``) and
``cmp`` the files to check that a change leaves the numbers identical to the bit.

``--no-simpy`` times the kernel alone, to compare two versions of Sustain in
interleaved runs: ``PYTHONPATH=A/src python benchmarks/simulate.py --no-simpy --phased``,
then the same with ``B/src``, and again (machine load cancels out over the pairs);
``--cpu`` times by CPU time (the replications run in a helper thread of this process,
so it counts that thread's time too).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from scipy import stats

from sustain.scenario import Scenario, load_scenario, scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.simulate import simulate


def build(n_bases: int = 2, n_items: int = 3, count: int = 10, seed: int = 3) -> ScenarioArrays:
    """One depot (site 0), ``n_bases`` bases, one system type with ``n_items`` items."""
    rng = np.random.default_rng(seed)
    n_s = n_bases + 1
    return ScenarioArrays(
        site_ids=("DEPOT", *(f"B{k}" for k in range(n_bases))),
        item_ids=tuple(f"I{k}" for k in range(n_items)),
        system_ids=("SYS",),
        site_parent=np.array([-1] + [0] * n_bases, dtype=np.int64),
        site_depth=np.array([0] + [1] * n_bases, dtype=np.int64),
        order_ship_days=np.array([0.0] + [3.0] * n_bases),
        item_parent=np.full(n_items, -1, dtype=np.int64),
        item_level=np.zeros(n_items, dtype=np.int64),
        failures_per_hour=1.0 / rng.uniform(800, 2000, n_items),
        qty_per_system=np.ones((n_items, 1)),
        replace_fraction=np.zeros(n_items),
        base_repair_fraction=np.linspace(0.0, 0.5, n_items),
        base_repair_days=np.full(n_items, 4.0),
        depot_repair_days=rng.uniform(15, 30, n_items),
        condemnation_fraction=np.zeros(n_items),
        procurement_days=np.zeros(n_items),
        unit_cost=np.ones(n_items),
        fleet_system=np.zeros(n_bases, dtype=np.int64),
        fleet_site=np.arange(1, n_s, dtype=np.int64),
        fleet_count=np.full(n_bases, float(count)),
        fleet_hours_per_day=np.full(n_bases, 16.0),
        stock=np.vstack([np.r_[3.0, np.full(n_bases, 1.0)] for _ in range(n_items)]),
    )


def simpy_replication(a: ScenarioArrays, days: float, rng: np.random.Generator) -> dict:
    """One replication of the same model, written plainly in SimPy."""
    env = simpy.Environment()
    n_i, n_s = a.n_items, a.n_sites
    inf = float("inf")
    stock = {(i, s): simpy.Container(env, capacity=inf, init=int(a.stock[i, s]))
             for i in range(n_i) for s in range(n_s)}
    events = 0
    waiting = {(i, s): 0 for i in range(n_i) for s in range(n_s)}  # backorders
    bo_area = {k: 0.0 for k in waiting}
    bo_last = {k: 0.0 for k in waiting}
    down = [0] * a.fleet_system.size
    down_area = [0.0] * a.fleet_system.size
    down_last = [0.0] * a.fleet_system.size

    def level(area: dict | list, last: dict | list, lvl: dict | list, k: object, d: int) -> None:
        area[k] += lvl[k] * (env.now - last[k])  # type: ignore[index]
        last[k] = env.now  # type: ignore[index]
        lvl[k] += d  # type: ignore[index]

    def request(i: int, s: int):  # type: ignore[no-untyped-def]
        """Take a good unit from (i, s), waiting FCFS when there is none."""
        if stock[i, s].level == 0:
            level(bo_area, bo_last, waiting, (i, s), +1)
            yield stock[i, s].get(1)
            level(bo_area, bo_last, waiting, (i, s), -1)
        else:
            yield stock[i, s].get(1)

    def depot_repair(i: int):  # type: ignore[no-untyped-def]
        nonlocal events
        yield env.timeout(a.depot_repair_days[i])
        events += 1
        yield stock[i, 0].put(1)

    def base_repair(i: int, s: int):  # type: ignore[no-untyped-def]
        nonlocal events
        yield env.timeout(a.base_repair_days[i])
        events += 1
        yield stock[i, s].put(1)

    def resupply(i: int, s: int):  # type: ignore[no-untyped-def]
        nonlocal events
        env.process(depot_repair(i))
        yield env.process(request(i, 0))
        yield env.timeout(a.order_ship_days[s])
        events += 1
        yield stock[i, s].put(1)

    rates = a.failures_per_hour * a.qty_per_system[:, 0]

    def system(f: int):  # type: ignore[no-untyped-def]
        nonlocal events
        s = int(a.fleet_site[f])
        lam = rates * a.fleet_hours_per_day[f]
        total = float(lam.sum())
        cum = np.cumsum(lam) / total
        while True:
            yield env.timeout(rng.exponential(1.0 / total))
            events += 1
            i = min(int(np.searchsorted(cum, rng.random(), side="right")), n_i - 1)
            if rng.random() < a.base_repair_fraction[i]:
                env.process(base_repair(i, s))
            else:
                env.process(resupply(i, s))
            if stock[i, s].level == 0:  # down until a part comes
                level(down_area, down_last, down, f, +1)
                yield env.process(request(i, s))
                level(down_area, down_last, down, f, -1)
            else:
                yield stock[i, s].get(1)

    for f in range(a.fleet_system.size):
        for _ in range(int(a.fleet_count[f])):
            env.process(system(f))
    env.run(until=days)
    for k in waiting:
        level(bo_area, bo_last, waiting, k, 0)
    for f in range(len(down)):
        level(down_area, down_last, down, f, 0)
    return {
        "availability": 1.0 - np.array(down_area) / (a.fleet_count * days),
        "backorders": np.array([[bo_area[i, s] / days for s in range(n_s)] for i in range(n_i)]),
        "events": events,
    }


def ci(x: np.ndarray) -> tuple[float, float]:
    """Mean and half-width of the 95 % t interval over axis 0."""
    n = x.shape[0]
    return x.mean(axis=0), stats.t.ppf(0.975, n - 1) * x.std(axis=0, ddof=1) / math.sqrt(n)


def as_scenario(a: ScenarioArrays, days: float) -> Scenario:
    """The same model as a :class:`Scenario` with a tempo row of factor 1 over the whole
    run: nothing changes but the kernel (the time-phased one, per-unit lifetimes)."""
    sites = [
        {"id": s, **({"parent": a.site_ids[p], "order_ship_days": float(a.order_ship_days[n])}
                     if (p := int(a.site_parent[n])) >= 0 else {})}
        for n, s in enumerate(a.site_ids)
    ]
    items = [
        {"id": x, "mtbf_hours": 1.0 / float(a.failures_per_hour[i]),
         "installed_in": [{"system": "SYS", "qty": int(a.qty_per_system[i, 0])}],
         "base_repair_fraction": float(a.base_repair_fraction[i]),
         "base_repair_days": float(a.base_repair_days[i]),
         "depot_repair_days": float(a.depot_repair_days[i])}
        for i, x in enumerate(a.item_ids)
    ]
    return scenario_from_dict({
        "sites": sites, "systems": [{"id": "SYS"}], "items": items,
        "fleets": [{"system": "SYS", "site": a.site_ids[int(a.fleet_site[f])],
                    "count": int(a.fleet_count[f]),
                    "hours_per_day": float(a.fleet_hours_per_day[f])}
                   for f in range(a.fleet_system.size)],
        "stock": [{"item": a.item_ids[i], "site": a.site_ids[s], "qty": int(a.stock[i, s])}
                  for i in range(a.n_items) for s in range(a.n_sites) if a.stock[i, s] > 0],
        # Factor 1 to the end of the run, or the last day a scenario may name: the same.
        "tempo": [{"from_day": 0, "to_day": min(days + 1, 36_500), "factor": 1.0}],
    })


def _one_site(n: int, mtbf: float = 1e9, repair: float = 10.0, stock: int = 0,
              shape: float | None = None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": "X", "mtbf_hours": mtbf, "installed_in": [{"system": "K"}],
                            "depot_repair_days": repair}
    if shape is not None:
        item["weibull_shape"] = shape
    return {"sites": [{"id": "S"}], "systems": [{"id": "K"}],
            "fleets": [{"system": "K", "site": "S", "count": n, "hours_per_day": 24.0}],
            "items": [item],
            "stock": [{"item": "X", "site": "S", "qty": stock}] if stock else [], **extra}


_RICH: dict[str, Any] = {
    "sites": [{"id": "D", "repair_channels": 2},
              {"id": "B1", "parent": "D", "order_ship_days": 3},
              {"id": "B2", "parent": "D", "order_ship_days": 5, "repair_channels": 1}],
    "systems": [{"id": "K"}, {"id": "L"}],
    "fleets": [{"system": "K", "site": "B1", "count": 6, "hours_per_day": 16},
               {"system": "L", "site": "B2", "count": 4, "hours_per_day": 12},
               {"system": "K", "site": "B2", "count": 3, "hours_per_day": 10}],
    "items": [
        {"id": "P", "mtbf_hours": 300,
         "installed_in": [{"system": "K"}, {"system": "L", "qty": 2}],
         "depot_repair_days": 20, "base_repair_fraction": 0.4, "base_repair_days": 3,
         "condemnation_fraction": 0.1, "procurement_days": 60, "weibull_shape": 2},
        {"id": "Q", "mtbf_hours": 500, "installed_in": [{"system": "K"}],
         "depot_repair_days": 15},
        {"id": "R", "mtbf_hours": 700, "installed_in": [{"system": "L"}],
         "depot_repair_days": 25, "base_repair_fraction": 0.5, "base_repair_days": 5},
        {"id": "U", "parent": "P", "replace_fraction": 0.5, "depot_repair_days": 8,
         "base_repair_days": 2},
        {"id": "V", "parent": "P", "replace_fraction": 0.4, "depot_repair_days": 6,
         "base_repair_days": 2},
    ],
    "stock": [{"item": "P", "site": "D", "qty": 2}, {"item": "Q", "site": "B1", "qty": 1},
              {"item": "U", "site": "D", "qty": 1}, {"item": "R", "site": "B2", "qty": 1}],
    "deliveries": [
        {"day": 60, "system": "K", "site": "B1", "count": 2,
         "stock": [{"item": "P", "qty": 2}, {"item": "Q", "qty": 1}]},
        {"day": 90, "system": "L", "site": "B1", "count": 2, "hours_per_day": 8},
        {"day": 30, "system": "K", "site": "B2", "count": 0,
         "stock": [{"item": "V", "qty": 3}]},
    ],
    "tempo": [{"from_day": 100, "to_day": 200, "factor": 2.0, "site": "B1"},
              {"from_day": 150, "to_day": 300, "factor": 0.5, "system": "L"}],
    "attrition": [{"system": "K", "site": "B1", "losses_per_day": 0.01},
                  {"system": "L", "site": "B2", "day": 120, "count": 1}],
    "battle_damage": [{"system": "K", "site": "B2", "damaged_per_day": 0.02,
                       "repair_days": 12}],
}


def documents(out: Path) -> None:
    """Write the documents of 18 simulations to ``out`` (see the module docstring)."""
    import sustain  # the public verb (with compare), whatever the version

    ex = load_scenario(Path(__file__).parents[1] / "examples" / "coalition-air-defence.yaml")
    exa = compile_scenario(ex)
    rich = scenario_from_dict(_RICH)
    canni = scenario_from_dict({
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "B", "count": 6, "hours_per_day": 20}],
        "items": [{"id": f"I{k}", "mtbf_hours": 400 + 150 * k,
                   "installed_in": [{"system": "K"}], "depot_repair_days": 20,
                   "base_repair_fraction": 0.3, "base_repair_days": 4} for k in range(3)],
        "stock": [{"item": "I0", "site": "B", "qty": 1}, {"item": "I1", "site": "D", "qty": 1}],
    })
    big = _one_site(300, mtbf=240, repair=20)
    two = {**_one_site(6, mtbf=480, repair=15, shape=0.6)}
    two["items"] = [two["items"][0], {"id": "Y", "mtbf_hours": 900, "weibull_shape": 8,
                                      "installed_in": [{"system": "K", "qty": 3}],
                                      "depot_repair_days": 9}]
    sub = build(2, 4)
    sub = replace(sub, item_parent=np.array([-1, -1, -1, 0]), item_level=np.array([0, 0, 0, 1]),
                  failures_per_hour=np.r_[sub.failures_per_hour[:3], 0.0],
                  qty_per_system=np.array([[1.0], [1.0], [1.0], [0.0]]),
                  replace_fraction=np.array([0.0, 0.0, 0.0, 0.6]))
    runs: dict[str, Any] = {
        "example-phased": lambda: sustain.simulate(ex, days=365, replications=20, seed=7),
        "example-phased-compare": lambda: sustain.simulate(
            ex, days=200, replications=6, seed=3, warmup_days=20, compare=True),
        "example-arrays-fwd": lambda: sustain.simulate(
            exa, days=600, replications=8, seed=3, failures_while_down=True, compare=True),
        "example-arrays-expo-channels": lambda: sustain.simulate(
            exa, days=600, replications=8, seed=5, delays="exponential",
            repair_channels={"HUB": 2, "DEPOT-UA": 1}, warmup_days=100),
        "example-canni-fwd-expo": lambda: sustain.simulate(
            ex, days=300, replications=6, seed=9, cannibalisation=True,
            failures_while_down=True, delays="exponential"),
        "benchmark-sub-item": lambda: sustain.simulate(
            sub, days=2000, replications=8, seed=0, warmup_days=50),
        "benchmark-channels-expo": lambda: sustain.simulate(
            build(3, 4), days=1500, replications=6, seed=2, delays="exponential",
            repair_channels={"DEPOT": 1, "B0": 1}),
        "phased-weibull-attrition-damage": lambda: sustain.simulate(scenario_from_dict(
            _one_site(4, mtbf=500.0, stock=1, shape=2.0,
                      attrition=[{"system": "K", "site": "S", "losses_per_day": 0.01}],
                      battle_damage=[{"system": "K", "site": "S", "damaged_per_day": 0.02,
                                      "repair_days": 10}])), days=300, replications=6, seed=3),
        "phased-weibull-0.6-8": lambda: sustain.simulate(
            scenario_from_dict(two), days=3000, replications=6, seed=4, warmup_days=300),
        "rich": lambda: sustain.simulate(rich, days=365, replications=10, seed=11,
                                         warmup_days=30),
        "rich-canni": lambda: sustain.simulate(rich, days=365, replications=10, seed=12,
                                               cannibalisation=True),
        "rich-canni-fwd-expo": lambda: sustain.simulate(
            rich, days=365, replications=10, seed=13, cannibalisation=True,
            failures_while_down=True, delays="exponential"),
        "canni-two-echelon": lambda: sustain.simulate(
            canni, days=3000, replications=6, seed=17, warmup_days=200, cannibalisation=True),
        "steady-canni-off": lambda: sustain.simulate(canni, days=3000, replications=6, seed=17,
                                                     warmup_days=200),
        "steady-growth-300": lambda: sustain.simulate(
            scenario_from_dict(big), days=1000, replications=4, seed=8, warmup_days=100),
        "phased-growth-300": lambda: sustain.simulate(
            scenario_from_dict({**big, "tempo": [{"from_day": 0, "to_day": 5000,
                                                  "factor": 1.0}]}),
            days=1000, replications=4, seed=8, warmup_days=100),
        "battle-erlang": lambda: sustain.simulate(scenario_from_dict(_one_site(
            8, battle_damage=[{"system": "K", "site": "S", "damaged_per_day": 0.2,
                               "repair_days": 15}])),
            days=2000, replications=6, seed=12, warmup_days=100, delays="exponential"),
        "losses-empty-refill": lambda: sustain.simulate(scenario_from_dict(_one_site(
            5, mtbf=300, attrition=[{"system": "K", "site": "S", "day": 120, "count": 2},
                                    {"system": "K", "site": "S", "day": 150, "count": 9}],
            deliveries=[{"day": 170, "system": "K", "site": "S", "count": 3}])),
            days=200, replications=3, seed=5),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, fn in runs.items():
        t0 = time.perf_counter()
        doc = fn().to_dict()
        (out / f"{name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True))
        print(f"{name}: {doc['events']:,} events, {time.perf_counter() - t0:.2f} s")


def main() -> None:
    """Run both, print throughput and statistics."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=20_000)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--bases", type=int, default=2)
    ap.add_argument("--items", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="Timings: best of this many runs.")
    ap.add_argument("--phased", action="store_true",
                    help="Also time the time-phased mode of the loop on the same model.")
    ap.add_argument("--cpu", action="store_true",
                    help="Time the kernel by the process's CPU time instead of wall time (less "
                    "sensitive to other work on a shared machine).")
    ap.add_argument("--documents", type=Path, metavar="DIR",
                    help="Write the documents of 18 simulations to DIR instead (A/B checks).")
    ap.add_argument("--no-simpy", action="store_true",
                    help="Time the kernel alone (for A/B runs of two versions of sustain, "
                    "e.g. with PYTHONPATH set to each version's src).")
    args = ap.parse_args()
    if args.documents is not None:
        documents(args.documents)
        return
    a = build(args.bases, args.items)
    clock = time.process_time if args.cpu else time.perf_counter

    t0 = time.perf_counter()  # the compiled loop: compiled once per machine, then cached
    simulate(a, days=10, replications=1, seed=args.seed)
    t_first = time.perf_counter() - t0

    t_sus = t_simpy = math.inf
    sp: list[dict] = []
    for _ in range(args.repeat):  # same seeds each time: same work, best time
        t0 = clock()
        res = simulate(a, days=args.days, replications=args.reps, seed=args.seed)
        t_sus = min(t_sus, clock() - t0)
        if args.no_simpy:
            continue
        t0 = time.perf_counter()
        seeds = np.random.SeedSequence(args.seed + 1000).spawn(args.reps)
        sp = [simpy_replication(a, args.days, np.random.default_rng(s)) for s in seeds]
        t_simpy = min(t_simpy, time.perf_counter() - t0)

    print(f"scenario: depot + {args.bases} bases, {args.items} items, "
          f"{int(a.fleet_count.sum())} systems; {args.reps} reps × {args.days:g} days")
    print(f"first simulate() call in this process: {t_first:.2f} s (numba compiles the "
          "loop on a machine's first run, then loads it from its cache)")
    print(f"sustain kernel: {res.events:>10,} events in {t_sus:7.2f} s = "
          f"{res.events / t_sus:>10,.0f} events/s")
    z = stats.norm.ppf(0.995) / stats.norm.ppf(0.975)
    m1, h1 = ci(res.availability)
    if sp:
        ev_simpy = sum(r["events"] for r in sp)
        print(f"SimPy (plain):  {ev_simpy:>10,} events in {t_simpy:7.2f} s = "
              f"{ev_simpy / t_simpy:>10,.0f} events/s")
        print(f"ratio (events/s): {(res.events / t_sus) / (ev_simpy / t_simpy):.1f}x; "
              f"ratio (wall time for the same simulated days): {t_simpy / t_sus:.1f}x")
        print("(the kernel also counts thinned failure clocks of down systems, which SimPy's "
              "blocked processes do not have: the wall-time ratio is the fair one)")
        bad = 0
        m2, h2 = ci(np.stack([r["availability"] for r in sp]))
        print("\navailability      sustain              SimPy")
        for f in range(a.fleet_system.size):
            ok = abs(m1[f] - m2[f]) <= z * math.hypot(h1[f], h2[f])
            bad += not ok
            print(f"  {a.site_ids[a.fleet_site[f]]:<6} {m1[f]:.4f} ± {h1[f]:.4f}    "
                  f"{m2[f]:.4f} ± {h2[f]:.4f}  {'ok' if ok else 'DIFFERENT'}")
        b1, g1 = ci(res.backorders_reps)
        b2, g2 = ci(np.stack([r["backorders"] for r in sp]))
        print("backorders (item, site)")
        for i in range(a.n_items):
            for s in range(a.n_sites):
                ok = abs(b1[i, s] - b2[i, s]) <= z * math.hypot(g1[i, s], g2[i, s]) + 1e-12
                bad += not ok
                print(f"  {a.item_ids[i]:<3} {a.site_ids[s]:<6} {b1[i, s]:.4f} ± "
                      f"{g1[i, s]:.4f}    {b2[i, s]:.4f} ± {g2[i, s]:.4f}  "
                      f"{'ok' if ok else 'DIFFERENT'}")
        print(f"\n{bad} statistic(s) outside the combined 99 % interval")
    if args.phased:
        sc = as_scenario(a, args.days)
        t0 = time.perf_counter()  # the time-phased specialisation: compile or load from cache
        simulate(sc, days=10, replications=1, seed=args.seed)
        print(f"\nfirst time-phased simulate() call: {time.perf_counter() - t0:.2f} s")
        t_ph = math.inf
        for _ in range(args.repeat):
            t0 = clock()
            ph = simulate(sc, days=args.days, replications=args.reps, seed=args.seed)
            t_ph = min(t_ph, clock() - t0)
        assert ph.phased is not None
        print(f"time-phased kernel: {ph.events:>10,} events in {t_ph:7.2f} s = "
              f"{ph.events / t_ph:>10,.0f} events/s; wall time {t_ph / t_sus:.1f}x the "
              "steady-state kernel's"
              + (f", {t_simpy / t_ph:.1f}x faster than SimPy" if sp else ""))
        m3, h3 = ci(ph.availability)
        for f in range(a.fleet_system.size):
            ok = abs(m1[f] - m3[f]) <= z * math.hypot(h1[f], h3[f])
            print(f"  {a.site_ids[a.fleet_site[f]]:<6} steady {m1[f]:.4f} ± {h1[f]:.4f}    "
                  f"phased {m3[f]:.4f} ± {h3[f]:.4f}  {'ok' if ok else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
