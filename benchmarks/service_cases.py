"""Mixed service targets (availability, fill rate, mean wait) against brute force.

Random small instances (a depot and two bases, 1–2 system types, one or two items
with at most one sub-item; or one site with three items) and random mixed targets.
The reference is the cheapest stock vector in a box (0..``BOX`` units per item and
site) that meets every target, found by evaluating *every* vector of the box with the
readiness engine (all vectors as copies of the item set in one ``pipelines`` call) and
aggregating the measures by their definitions, written out here afresh
(docs/optimize.md, "Service targets"), not by the optimiser's code.  The targets are
those a random vector of the box reaches (so the box holds an answer), each made a
little easier at random.

``python benchmarks/service_cases.py --instances 200 --first-seed 0`` prints the
distribution of the optimiser's cost over the optimum.  Needs only the runtime
dependencies; ``tests/optimize/test_service_targets.py`` imports it.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.optimize.api import TargetUnreachable, optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method, demand_flows, pipelines
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario

#: Units per item and site in the box searched by brute force (and allowed to the optimiser).
BOX = 3
#: A target counts as met within this (the optimiser's own tolerance).
TOL = 1e-9


def instance_doc(rng: np.random.Generator) -> dict[str, Any]:
    """A random small scenario: a depot and two bases, or one site with three items."""
    one_site = rng.random() < 0.3
    n_systems = int(rng.integers(1, 3))
    systems = ["S0", "S1"][:n_systems]
    bases = ["B1"] if one_site else ["B1", "B2"]
    sites = [{"id": "B1"}] if one_site else [{"id": "D"}] + [
        {"id": b, "parent": "D", "order_ship_days": round(float(rng.uniform(1, 8)), 2)}
        for b in bases]
    fleets = [{"system": s, "site": b, "count": int(rng.integers(2, 9)),
               "hours_per_day": round(float(rng.uniform(4, 20)), 2)}
              for s in systems for b in bases]
    n_top = 3 if one_site else int(rng.integers(1, 3))
    items: list[dict[str, Any]] = []
    for k in range(n_top):
        used = [s for s in systems if rng.random() < 0.6] or [systems[0]]
        inst = [{"system": s, "qty": int(rng.integers(1, 3))} for s in used]
        hours = sum(f["count"] * i["qty"] * f["hours_per_day"]
                    for f in fleets for i in inst if i["system"] == f["system"])
        days = round(float(rng.uniform(5, 30)), 2)
        mean = float(rng.uniform(0.3, 2.5))
        items.append({
            "id": f"T{k}", "unit_cost": round(float(np.exp(rng.uniform(np.log(50),
                                                                         np.log(2000)))), 2),
            "mtbf_hours": round(hours * days / mean, 3), "installed_in": inst,
            "depot_repair_days": days,
            "base_repair_fraction": float(rng.choice([0.0, 0.3])),
            "base_repair_days": round(float(rng.uniform(1, 5)), 2),
        })
    if not one_site and n_top == 1 and rng.random() < 0.5:
        items.append({"id": "U0", "parent": "T0", "replace_fraction": 0.6,
                      "unit_cost": round(items[0]["unit_cost"] * 0.3, 2),
                      "depot_repair_days": round(float(rng.uniform(5, 30)), 2)})
    return {"sites": sites, "systems": [{"id": s} for s in systems], "fleets": fleets,
            "items": items}


@dataclass(frozen=True)
class Table:
    """Every stock vector of the box and its measures, by the definitions."""

    stock: np.ndarray  # (vectors × items × sites)
    cost: np.ndarray  # (vectors,)
    availability: np.ndarray  # (vectors × fleets)
    fleet_fill: np.ndarray
    fleet_wait: np.ndarray
    site_fill: np.ndarray  # (vectors × sites)
    site_wait: np.ndarray


def box_table(a: ScenarioArrays, method: Method) -> Table:
    """Evaluate every stock vector of ``0..BOX`` per item and site (one engine call)."""
    n_i, n_s = a.n_items, a.n_sites
    grids = np.meshgrid(*[np.arange(BOX + 1)] * (n_i * n_s), indexing="ij")
    stock = np.stack([g.ravel() for g in grids], axis=1).reshape(-1, n_i, n_s).astype(float)
    n = stock.shape[0]
    sub = a.subset(np.tile(np.arange(n_i), n), stock=stock.reshape(n * n_i, n_s))
    pipes = pipelines(sub, demand_flows(sub), method)
    ebo = pipes.ebo.reshape(n, n_i, n_s)
    fill = pipes.fill_rate.reshape(n, n_i, n_s)
    m = demand_flows(a).demand  # items × sites, independent of stock
    n_f = a.fleet_system.size
    avail = np.ones((n, n_f))
    f_fill, f_wait = np.full((n, n_f), np.nan), np.full((n, n_f), np.nan)
    for f in range(n_f):
        k, s = a.fleet_system[f], a.fleet_site[f]
        z = a.qty_per_system[:, k]
        lam = a.failures_per_hour
        mine = (z > 0) & (lam > 0)
        h = a.fleet_hours_per_day[f]
        for i in np.flatnonzero(mine).tolist():
            x = np.minimum(ebo[:, i, s] * lam[i] * h / m[i, s], 1.0)
            avail[:, f] *= (1.0 - x) ** z[i]
        w = z[mine] * lam[mine]
        if w.sum() > 0:  # else the system fails no item: no demand, NaN
            f_fill[:, f] = (fill[:, mine, s] * w).sum(axis=1) / w.sum()
            f_wait[:, f] = (ebo[:, mine, s] / m[mine, s] * w).sum(axis=1) / w.sum()
    total = m.sum(axis=0)
    s_fill = (fill * m).sum(axis=1) / total
    s_wait = ebo.sum(axis=1) / total
    cost = (stock * a.unit_cost[None, :, None]).sum(axis=(1, 2))
    return Table(stock, cost, avail, f_fill, f_wait, s_fill, s_wait)


@dataclass
class Case:
    """One random instance with its targets, the brute-force optimum and the optimiser's."""

    seed: int
    method: Method
    target: dict[str, float] | None
    fill_rate: dict[str, float]
    max_wait: dict[str, float]
    brute_cost: float
    opt_cost: float  # inf when the optimiser reported the targets unreachable
    error: str | None = None

    @property
    def ratio(self) -> float:
        if self.brute_cost == 0:
            return 1.0 if self.opt_cost == 0 else math.inf
        return self.opt_cost / self.brute_cost


def _targets(
    a: ScenarioArrays, t: Table, rng: np.random.Generator
) -> tuple[dict[str, float], dict[str, float], dict[str, float], np.ndarray]:
    """Random mixed targets a random vector of the box reaches, and the vectors that
    meet them all."""
    names = [f"{a.system_ids[k]}@{a.site_ids[s]}"
             for k, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True)]
    w = int(rng.integers(t.cost.size))
    avail: dict[str, float] = {}
    fill: dict[str, float] = {}
    wait: dict[str, float] = {}
    ok = np.ones(t.cost.size, dtype=bool)
    kinds = rng.permutation(["avail", "ffill", "sfill", "fwait", "swait"])[: rng.integers(1, 4)]
    if not any(k != "avail" for k in kinds):
        kinds = np.append(kinds, "sfill")
    demanded = np.flatnonzero(t.site_wait[0] == t.site_wait[0])  # sites with demand
    for kind in kinds.tolist():
        easier = float(rng.uniform(0.0, 0.1))
        if kind in ("avail", "ffill", "fwait"):
            f = int(rng.integers(len(names)))
            col = {"avail": t.availability, "ffill": t.fleet_fill, "fwait": t.fleet_wait}[kind]
            key, values, reached = names[f], col[:, f], float(col[w, f])
        else:
            s = int(demanded[rng.integers(demanded.size)])
            col = t.site_fill if kind == "sfill" else t.site_wait
            key, values, reached = a.site_ids[s], col[:, s], float(col[w, s])
        if kind == "avail" and reached > 1e-6:
            avail[key] = math.floor(reached * (1 - easier / 4) * 1e6) / 1e6
            ok &= values >= avail[key] - TOL
        elif kind in ("ffill", "sfill") and 1e-6 < reached < 1:
            fill[key] = math.floor(reached * (1 - easier) * 1e6) / 1e6
            ok &= values >= fill[key] - TOL
        elif kind in ("fwait", "swait") and reached > 0:
            wait[key] = math.ceil(reached * (1 + easier) * 1e6) / 1e6
            ok &= values <= wait[key] * (1 + TOL)
    return avail, fill, wait, ok


def run_case(seed: int) -> Case:
    """Instance ``seed``: brute force and the optimiser, both within the box."""
    rng = np.random.default_rng(seed)
    method = Method.METRIC if rng.random() < 0.5 else Method.VARI_METRIC
    while True:
        a = compile_scenario(scenario_from_dict(instance_doc(rng)))
        t = box_table(a, method)
        avail, fill, wait, ok = _targets(a, t, rng)
        if (fill or wait) and not ok[0]:  # something to buy
            break
    brute = float(t.cost[ok].min())
    best = int(np.flatnonzero(ok & (t.cost == brute))[0])
    ev = evaluate_arrays(a.with_stock(t.stock[best]), method=method)
    sm = ev.service()  # the definitions here agree with the engine's measures
    np.testing.assert_allclose(ev.availability, t.availability[best], rtol=1e-9)
    np.testing.assert_allclose(sm.site_fill_rate, t.site_fill[best], rtol=1e-9)
    np.testing.assert_allclose(sm.fleet_mean_wait_days, t.fleet_wait[best], rtol=1e-9)
    try:
        opt = optimize_arrays(a, target=avail or None, fill_rate=fill or None,
                              max_wait=wait or None, method=method,
                              max_stock=np.full_like(a.stock, BOX))
    except TargetUnreachable as e:
        return Case(seed, method, avail, fill, wait, brute, math.inf, error=str(e))
    return Case(seed, method, avail, fill, wait, brute, opt.purchase_cost)


def main() -> None:
    """Print the distribution of the optimiser's cost over the brute-force optimum."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--instances", type=int, default=200)
    p.add_argument("--first-seed", type=int, default=0)
    args = p.parse_args()
    cases = [run_case(s) for s in range(args.first_seed, args.first_seed + args.instances)]
    r = np.array([c.ratio for c in cases])
    print(f"{len(cases)} instances: optimal {np.mean(r <= 1 + 1e-9):.1%}, within 2 % "
          f"{np.mean(r <= 1.02):.1%}, within 10 % {np.mean(r <= 1.1):.1%}, "
          f"worst {r.max():.3f}, mean {r[np.isfinite(r)].mean():.4f}")
    for c in sorted(cases, key=lambda c: -c.ratio)[:5]:
        print(f"  seed {c.seed} ({c.method}): {c.opt_cost:,.2f} vs {c.brute_cost:,.2f} "
              f"(ratio {c.ratio:.3f}); availability {c.target}, fill {c.fill_rate}, "
              f"wait {c.max_wait}" + (f"; {c.error}" if c.error else ""))


if __name__ == "__main__":
    main()
