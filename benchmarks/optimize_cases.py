"""Optimiser test cases shared by the tests and ``benchmarks/optimize.py``.

Random instances (single site; a depot and two bases with sub-items), a brute-force
optimum over a box of stock levels, and naive marginal analysis.  Every reference
number comes from enumerating *every* stock vector in a box and evaluating it with
the readiness engine, never from the optimiser:

* a family (a top-level item and its sub-items) is copied once per stock vector into
  one sub-scenario (``ScenarioArrays.subset``) and evaluated by ``evaluate_arrays``;
  each copy's fleet factor ``Z log(1 − EBO·share/(N·Z))`` is read off its top row;
* by the product formula a fleet's log-availability is the sum of its families'
  factors, so family tables combine by addition (checked against a full
  ``evaluate_arrays`` of the winning allocations);
* for a target, each family's table is cut to its Pareto set (cost down, every fleet's
  factor up) and to what can still reach the targets with the other families at their
  best, then the sets are combined; the cheapest combination meeting every target is
  the optimum over the whole box.

Needs only the runtime dependencies (no pytest): ``make bench`` runs after ``make run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.optimize.api import TargetUnreachable, optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import ScenarioArrays, compile_scenario

FloatArray = np.ndarray
IntArray = np.ndarray

#: A target counts as met at ``A ≥ t − TARGET_TOL`` (the optimiser's own tolerance).
TARGET_TOL = 1e-9
METHOD = "vari-metric"


# -- brute force ---------------------------------------------------------------------------
def families(a: ScenarioArrays) -> list[IntArray]:
    """Rows of each top-level item followed by its descendants (tree order)."""
    children: dict[int, list[int]] = {}
    for r, p in enumerate(a.item_parent.tolist()):
        children.setdefault(p, []).append(r)
    out = []
    for top in children.get(-1, []):
        rows, frontier = [top], [top]
        while frontier:
            frontier = [c for p in frontier for c in children.get(p, [])]
            rows.extend(frontier)
        out.append(np.array(rows, dtype=np.int64))
    return out


@dataclass(frozen=True)
class FamilyTable:
    """Every stock of one family in a box: its purchase cost and fleet log-factors."""

    rows: IntArray  # rows of the family in the scenario (top first)
    stock: FloatArray  # (allocations × family rows × sites)
    cost: FloatArray  # (allocations,) purchases over the stock held
    logs: FloatArray  # (allocations × fleets) log of the family's factor of A_f


def top_log_factors(
    a: ScenarioArrays, ebo: FloatArray, demand: FloatArray, item: int
) -> FloatArray:
    """``Z log(1 − x)`` for each row of ``ebo``/``demand`` (copies of ``item``) and fleet.

    ``x = EBO · (failures per hour) · (fleet hours per day) / demand``: the fleet's share
    of the backorders per installed position (Sherbrooke's product formula; −inf when
    the backorders fill every position).
    """
    k, s = a.fleet_system, a.fleet_site
    z = a.qty_per_system[item, k]
    eb, dem = ebo[:, s], demand[:, s]
    per = np.zeros_like(eb)
    np.divide(eb * a.failures_per_hour[item], dem, out=per, where=dem > 0)
    x = per * a.fleet_hours_per_day[None, :]
    logs = np.full(x.shape, -np.inf)
    ok = x < 1.0
    logs[ok] = np.log1p(-x[ok])
    return np.where(z[None, :] > 0, logs * np.where(z > 0, z, 1.0)[None, :], 0.0)


def family_table(
    a: ScenarioArrays, rows: IntArray, lo: FloatArray, hi: FloatArray, method: str = METHOD
) -> FamilyTable:
    """Evaluate every stock of the family ``rows`` with ``lo ≤ stock ≤ hi`` (integers)."""
    r, n_s = rows.size, a.n_sites
    ranges = [np.arange(int(l_), int(h_) + 1) for l_, h_ in zip(
        lo[rows].ravel(), hi[rows].ravel(), strict=True)]
    grid = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, r * n_s)
    n = grid.shape[0]
    stock = grid.reshape(n, r, n_s).astype(np.float64)
    sub = a.subset(np.tile(rows, n), stock=stock.reshape(n * r, n_s))
    ev = evaluate_arrays(sub, method=method)
    tops = np.arange(n) * r
    logs = top_log_factors(a, ev.pipes.ebo[tops], ev.flows.demand[tops], int(rows[0]))
    cost = np.sum((stock - a.stock[rows][None]) * a.unit_cost[rows][None, :, None], axis=(1, 2))
    return FamilyTable(rows=rows, stock=stock, cost=cost, logs=logs)


def pareto(cost: FloatArray, logs: FloatArray, chunk: int = 256) -> IntArray:
    """Indices of the points not weakly dominated (lower cost, every log at least as high)."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-np.sum(np.where(np.isfinite(logs), logs, -1e300), axis=1), cost))
    keep: list[IntArray] = []
    front = np.zeros((0, logs.shape[1]))
    for start in range(0, order.size, chunk):
        idx = order[start : start + chunk]
        lg = logs[idx]
        dominated = np.zeros(idx.size, dtype=bool)
        if front.shape[0]:
            dominated |= np.all(front[:, None, :] >= lg[None, :, :], axis=2).any(axis=0)
        within = np.all(lg[:, None, :] >= lg[None, :, :], axis=2)  # [i, j]: i covers j
        dominated |= np.triu(within, k=1).any(axis=0)
        keep.append(idx[~dominated])
        front = np.vstack([front, lg[~dominated]])
    return np.concatenate(keep)


@dataclass(frozen=True)
class BruteOptimum:
    """The cheapest allocation in the box meeting every target."""

    cost: float
    stock: FloatArray  # (items × sites)
    log_availability: FloatArray  # per fleet, from the family tables


def brute_min_cost(
    a: ScenarioArrays, targets: FloatArray, lo: FloatArray, hi: FloatArray,
    method: str = METHOD, tables: list[FamilyTable] | None = None,
) -> BruteOptimum | None:
    """Cheapest stock with ``lo ≤ stock ≤ hi`` meeting ``targets`` (NaN: none); None if none.

    Families are split into two groups; each group's combinations are cut to their
    Pareto set (and to what can still succeed with everything else at its best); the
    cheapest feasible pair of one point from each group is found by a full (chunked)
    scan of all pairs.  ``tables``: every family's stocks, costs and log-factors, when
    the caller prices them otherwise (by default :func:`family_table`).
    """
    need = np.where(np.isnan(targets), -np.inf, np.log(np.maximum(targets - TARGET_TOL, 1e-300)))
    n_f = targets.size
    if tables is None:
        tables = [family_table(a, rows, lo, hi, method) for rows in families(a)]
    best = np.array([t.logs.max(axis=0) for t in tables])  # (families × fleets)
    total_best = best.sum(axis=0)
    fronts = []
    for n, t in enumerate(tables):
        others = total_best - best[n]
        ok = np.flatnonzero(np.all(t.logs + others[None] >= need[None], axis=1))
        fronts.append(ok[pareto(t.cost[ok], t.logs[ok])])
    if any(f.size == 0 for f in fronts):
        return None
    # Two groups of about equal numbers of combinations.
    groups: list[list[int]] = [[], []]
    size = [1, 1]
    for n in sorted(range(len(tables)), key=lambda n: -fronts[n].size):
        g = int(np.argmin(size))
        groups[g].append(n)
        size[g] *= fronts[n].size

    def combine(members: list[int]) -> tuple[FloatArray, FloatArray, IntArray]:
        cost, logs = np.zeros(1), np.zeros((1, n_f))
        idx = np.zeros((1, 0), dtype=np.int64)
        rest = total_best.copy()
        for n in members:
            rest = rest - best[n]
            t, fr = tables[n], fronts[n]
            cost = (cost[:, None] + t.cost[fr][None, :]).ravel()
            logs = (logs[:, None, :] + t.logs[fr][None, :, :]).reshape(-1, n_f)
            idx = np.concatenate(
                [np.repeat(idx, fr.size, axis=0), np.tile(fr, idx.shape[0])[:, None]], axis=1
            )
            # "rest" still counts the other group at its best: only what can succeed stays.
            ok = np.flatnonzero(np.all(logs + rest[None] >= need[None], axis=1))
            ok = ok[pareto(cost[ok], logs[ok])]
            cost, logs, idx = cost[ok], logs[ok], idx[ok]
        return cost, logs, idx

    cost_a, logs_a, idx_a = combine(groups[0])
    cost_b, logs_b, idx_b = combine(groups[1])
    if cost_a.size == 0 or cost_b.size == 0:
        return None
    win, win_cost = (-1, -1), math.inf
    chunk = max(1, 2_000_000 // max(cost_b.size, 1))
    for start in range(0, cost_a.size, chunk):
        la = logs_a[start : start + chunk]
        ok = np.all(la[:, None, :] + logs_b[None, :, :] >= need[None, None, :], axis=2)
        c = np.where(ok, cost_a[start : start + chunk, None] + cost_b[None, :], np.inf)
        j = int(np.argmin(c))
        if c.flat[j] < win_cost:
            win_cost = float(c.flat[j])
            win = (start + j // cost_b.size, j % cost_b.size)
    if not math.isfinite(win_cost):
        return None
    stock = a.stock.copy()
    for members, idx, w in ((groups[0], idx_a, win[0]), (groups[1], idx_b, win[1])):
        for n, j in zip(members, idx[w].tolist(), strict=True):
            stock[tables[n].rows] = tables[n].stock[j]
    log_av = logs_a[win[0]] + logs_b[win[1]]
    return BruteOptimum(cost=win_cost, stock=stock, log_availability=log_av)


def naive_marginal(
    a: ScenarioArrays, targets: FloatArray, hi: FloatArray, *, method: str = METHOD,
    max_steps: int | None = None,
) -> tuple[FloatArray, float, int]:
    """Plain marginal analysis: every +1 (item, site) re-evaluated on the whole scenario.

    Weights 1 on the fleets below their target; buys the unit with the largest gain in
    ``Σ_w log A`` per unit of money until every target is met, nothing gains, or
    ``max_steps``.  Returns (stock, purchase cost, steps).  The independent baseline of
    ``benchmarks/optimize.py`` (and a diagnostic: the same greedy without the optimiser's
    item curves).
    """
    stock = a.stock.copy()
    av = evaluate_arrays(a.with_stock(stock), method=method).availability
    cost, steps = 0.0, 0
    while np.any(av < targets - TARGET_TOL) and (max_steps is None or steps < max_steps):
        w = (av < targets - TARGET_TOL).astype(float)
        log_av = np.log(np.maximum(av, 1e-300))
        best, pick, pick_av = 0.0, None, av
        for i, s in zip(*np.nonzero(stock < hi), strict=True):
            stock[i, s] += 1
            new = evaluate_arrays(a.with_stock(stock), method=method).availability
            stock[i, s] -= 1
            gain = float(w @ (np.log(np.maximum(new, 1e-300)) - log_av))
            ratio = gain / max(float(a.unit_cost[i]), 1e-300)
            if ratio > best:
                best, pick, pick_av = ratio, (int(i), int(s)), new
        if pick is None:
            break
        stock[pick] += 1
        cost += float(a.unit_cost[pick[0]])
        av = pick_av
        steps += 1
    return stock, cost, steps


def upper_hull(cost: FloatArray, value: FloatArray) -> IntArray:
    """Strict vertices of the upper concave hull of (cost, value), rising part only."""
    order = np.lexsort((-value, cost))
    hull: list[int] = []
    for j in order.tolist():
        if hull and cost[j] == cost[hull[-1]]:
            continue  # same cost, lower value
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            cross = (cost[i1] - cost[i0]) * (value[j] - value[i0]) - (
                value[i1] - value[i0]
            ) * (cost[j] - cost[i0])
            if cross >= 0:  # i1 on or below the chord i0 -> j
                hull.pop()
            else:
                break
        hull.append(j)
    top = int(np.argmax([value[h] for h in hull]))
    return np.array(hull[: top + 1], dtype=np.int64)


# -- random instances ----------------------------------------------------------------------
def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def single_site_doc(rng: np.random.Generator, n_items: int, n_systems: int) -> dict[str, Any]:
    """One site (repairs there), 1–2 systems fielded there, top-level items only.

    Each item's pipeline at zero stock has mean 0.2–2.5, so stock 0..5 spans the curve.
    """
    systems = ["S0", "S1"][:n_systems]
    fleets = [
        {"system": s, "site": "D", "count": int(rng.integers(2, 9)),
         "hours_per_day": round(float(rng.uniform(4, 20)), 2)}
        for s in systems
    ]
    items = []
    for k in range(n_items):
        used = [s for s in systems if rng.random() < 0.6] or [systems[int(rng.integers(n_systems))]]
        inst = [{"system": s, "qty": int(rng.integers(1, 4))} for s in used]
        hours = sum(
            f["count"] * i["qty"] * f["hours_per_day"]
            for f in fleets for i in inst if i["system"] == f["system"]
        )
        days = round(float(rng.uniform(5, 30)), 2)
        mean = float(rng.uniform(0.2, 2.5))
        items.append({
            "id": f"I{k}", "unit_cost": round(_log_uniform(rng, 10, 1000), 2),
            "mtbf_hours": round(hours * days / mean, 3), "installed_in": inst,
            "depot_repair_days": days,
        })
    return {"sites": [{"id": "D"}], "systems": [{"id": s} for s in systems],
            "fleets": fleets, "items": items}


#: (top-level items, sub-items) in the multi-echelon instances: at most 4 items in all
#: and at most one sub-item per top-level item (families of one or two items).
SHAPES = [(1, 1), (2, 0), (2, 1), (3, 0), (2, 2), (3, 1), (4, 0)]


def multi_echelon_doc(rng: np.random.Generator) -> dict[str, Any]:
    """A depot and two bases, 1–2 systems at both bases, ≤ 4 items (sub-items included)."""
    n_systems = int(rng.integers(1, 3))
    systems = ["S0", "S1"][:n_systems]
    sites = [{"id": "D"}] + [
        {"id": b, "parent": "D", "order_ship_days": round(float(rng.uniform(1, 8)), 2)}
        for b in ("B1", "B2")
    ]
    fleets = [
        {"system": s, "site": b, "count": int(rng.integers(2, 9)),
         "hours_per_day": round(float(rng.uniform(4, 20)), 2)}
        for s in systems for b in ("B1", "B2")
    ]
    n_top, n_sub = SHAPES[int(rng.integers(len(SHAPES)))]
    items: list[dict[str, Any]] = []
    for k in range(n_top):
        used = [s for s in systems if rng.random() < 0.6] or [systems[int(rng.integers(n_systems))]]
        inst = [{"system": s, "qty": int(rng.integers(1, 3))} for s in used]
        hours = sum(
            f["count"] * i["qty"] * f["hours_per_day"]
            for f in fleets for i in inst if i["system"] == f["system"]
        )
        days = round(float(rng.uniform(5, 30)), 2)
        mean = float(rng.uniform(0.5, 3.0))  # depot pipeline at zero stock, both bases
        items.append({
            "id": f"T{k}", "unit_cost": round(_log_uniform(rng, 50, 2000), 2),
            "mtbf_hours": round(hours * days / mean, 3), "installed_in": inst,
            "depot_repair_days": days,
            "base_repair_fraction": float(rng.choice([0.0, 0.2, 0.5])),
            "base_repair_days": round(float(rng.uniform(1, 5)), 2),
            "condemnation_fraction": float(rng.choice([0.0, 0.1])),
            "procurement_days": round(float(rng.uniform(30, 90)), 2),
        })
    for k, parent in enumerate(rng.permutation(n_top)[:n_sub].tolist()):
        top = items[parent]
        items.append({
            "id": f"U{k}", "parent": top["id"],
            "replace_fraction": round(float(rng.uniform(0.3, 0.9)), 3),
            "unit_cost": round(top["unit_cost"] * float(rng.uniform(0.1, 0.5)), 2),
            "depot_repair_days": round(float(rng.uniform(5, 30)), 2),
            "base_repair_fraction": float(rng.choice([0.0, 0.3])),
            "base_repair_days": round(float(rng.uniform(1, 5)), 2),
        })
    return {"sites": sites, "systems": [{"id": s} for s in systems], "fleets": fleets,
            "items": items}


def saturated(a: ScenarioArrays) -> bool:
    """Whether some fleet has backorders filling an item's positions at the stock held."""
    ev = evaluate_arrays(a, method=METHOD)
    return bool(np.any(ev.availability <= 0))


# -- multi-echelon, multi-indenture: the cost to reach a target ---------------------------
ME_MAX = 4  # stock per item and site in the box, for both brute force and optimiser


@dataclass
class Comparison:
    """One random instance: the optimiser's cost against the brute-force optimum."""

    seed: int
    doc: dict[str, Any]
    target: float
    brute_cost: float
    opt_cost: float  # inf when the optimiser raised TargetUnreachable
    error: str | None = None
    opt_stock: FloatArray | None = None  # the optimiser's stock (None when it raised)

    @property
    def ratio(self) -> float:
        if self.brute_cost == 0:
            return 1.0 if self.opt_cost == 0 else math.inf
        return self.opt_cost / self.brute_cost


def multi_echelon_instance(seed: int) -> tuple[dict[str, Any], ScenarioArrays, float]:
    """A random instance and a target in 0.8–0.95 for every fleet, reachable in the box
    (every fleet's best ≥ target + 0.01) and not met at zero stock by some fleet."""
    rng = np.random.default_rng(seed)
    while True:
        doc = multi_echelon_doc(rng)
        a = compile_scenario(scenario_from_dict(doc))
        t = round(float(rng.uniform(0.8, 0.95)), 3)
        a_max = evaluate_arrays(a.with_stock(np.full_like(a.stock, ME_MAX)), method=METHOD)
        a_zero = evaluate_arrays(a, method=METHOD)
        if np.min(a_max.availability) >= t + 0.01 and np.min(a_zero.availability) < t:
            return doc, a, t


def compare(seed: int) -> tuple[Comparison, ScenarioArrays]:
    """Optimiser vs brute force on instance ``seed``; checks both answers with the engine."""
    doc, a, t = multi_echelon_instance(seed)
    targets = np.full(a.fleet_system.size, t)
    hi = np.full_like(a.stock, ME_MAX)
    bf = brute_min_cost(a, targets, a.stock, hi)
    if bf is None:
        raise RuntimeError(f"seed {seed}: no allocation in the box meets {t}")
    # The brute force's answer, checked by a full evaluation of its stock.
    ev = evaluate_arrays(a.with_stock(bf.stock), method=METHOD)
    np.testing.assert_allclose(np.log(ev.availability), bf.log_availability, rtol=1e-9)
    if not np.all(ev.availability >= t - TARGET_TOL):
        raise RuntimeError(f"seed {seed}: the brute-force optimum misses the target")
    spent = float(np.sum((bf.stock - a.stock) * a.unit_cost[:, None]))
    if not math.isclose(spent, bf.cost, rel_tol=1e-6, abs_tol=1e-12):
        raise RuntimeError(f"seed {seed}: brute-force cost {bf.cost} but stock costs {spent}")
    try:
        opt = optimize_arrays(a, target=t, max_stock=hi, method=METHOD)
    except TargetUnreachable as e:
        return Comparison(seed, doc, t, bf.cost, math.inf, error=str(e)), a
    return Comparison(seed, doc, t, bf.cost, opt.purchase_cost,
                      opt_stock=opt.evaluation.arrays.stock), a


def distribution(seeds: range) -> list[Comparison]:
    """Comparisons on the instances ``seeds`` (used by the test and the benchmark)."""
    return [compare(s)[0] for s in seeds]


def summary(rows: list[Comparison]) -> dict[str, float]:
    """Median, 95th percentile, max of the cost ratio, and the shares within 2 % / 10 %."""
    r = np.array([x.ratio for x in rows])
    return {
        "n": float(r.size),
        "median": float(np.median(r)),
        "p95": float(np.percentile(r, 95)),
        "max": float(np.max(r)),
        "within_2pct": float(np.mean(r <= 1.02)),
        "within_10pct": float(np.mean(r <= 1.10)),
        "exact": float(np.mean(r <= 1 + 1e-9)),
    }


def describe(x: Comparison) -> str:
    """A failing instance, precisely enough to reproduce it."""
    return (
        f"seed={x.seed} target={x.target} brute={x.brute_cost:.6g} opt={x.opt_cost:.6g} "
        f"ratio={x.ratio:.4f}{' error=' + x.error if x.error else ''}\n  doc={x.doc}"
    )
