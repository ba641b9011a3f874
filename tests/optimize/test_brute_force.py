"""The optimiser against brute force on small random instances.

Every reference number here comes from enumerating *every* stock vector in a box and
evaluating it with the readiness engine, never from the optimiser:

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

Single echelon (one site): with a budget and no target the optimiser maximises
``Φ = Σ_f N_f log A_f``.  Each item's term is concave in its stock (log of a concave
function), so every point marginal analysis visits maximises ``Φ − λ·cost`` for some λ
and is therefore optimal for its own cost (Fox 1966); conversely every vertex of the
upper convex hull of all (cost, Φ) points is visited.  Both are checked exactly.

Multi-echelon and multi-indenture (a depot and two bases, families of at most two
items): the acceptance bar of the issue on the cost to reach a target.

The helpers are reused by ``benchmarks/optimize.py`` (distribution on more instances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

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
    method: str = METHOD,
) -> BruteOptimum | None:
    """Cheapest stock with ``lo ≤ stock ≤ hi`` meeting ``targets`` (NaN: none); None if none.

    Families are split into two groups; each group's combinations are cut to their
    Pareto set (and to what can still succeed with everything else at its best); the
    cheapest feasible pair of one point from each group is found by a full (chunked)
    scan of all pairs.
    """
    need = np.where(np.isnan(targets), -np.inf, np.log(np.maximum(targets - TARGET_TOL, 1e-300)))
    n_f = targets.size
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


# -- (1) single echelon: the efficient points, exactly -------------------------------------
SINGLE_MAX = 5


@dataclass(frozen=True)
class SingleSite:
    """Every allocation of a single-site instance (stock 0..SINGLE_MAX per item)."""

    a: ScenarioArrays
    cost: FloatArray  # (allocations,)
    logs: FloatArray  # (allocations × fleets)
    stock: FloatArray  # (allocations × items) stock at the site


def single_site_instance(seed: int) -> SingleSite:
    """A random single-site instance whose fleets are all up at least a little at stock 0."""
    rng = np.random.default_rng(seed)
    while True:
        doc = single_site_doc(rng, int(rng.integers(3, 5)), int(rng.integers(1, 3)))
        a = compile_scenario(scenario_from_dict(doc))
        if not saturated(a):
            break
    lo = np.zeros_like(a.stock)
    hi = np.full_like(a.stock, SINGLE_MAX)
    tables = [family_table(a, rows, lo, hi) for rows in families(a)]
    assert all(t.rows.size == 1 for t in tables)
    # All combinations: item i at level l_i.
    grids = np.meshgrid(*[np.arange(t.cost.size) for t in tables], indexing="ij")
    pick = np.stack([g.ravel() for g in grids], axis=1)  # (allocations × items)
    cost = sum(t.cost[pick[:, n]] for n, t in enumerate(tables))
    logs = sum(t.logs[pick[:, n]] for n, t in enumerate(tables))
    stock = np.zeros((pick.shape[0], a.n_items))
    for n, t in enumerate(tables):
        stock[:, int(t.rows[0])] = t.stock[pick[:, n], 0, 0]
    return SingleSite(a=a, cost=np.asarray(cost), logs=np.asarray(logs), stock=stock)


def phi(a: ScenarioArrays, availability: FloatArray) -> FloatArray:
    """The budget objective ``Σ_f N_f log A_f`` (last axis: fleets)."""
    with np.errstate(divide="ignore"):
        return np.sum(a.fleet_count * np.log(availability), axis=-1)


SINGLE_SEEDS = range(100, 130)


@pytest.mark.parametrize("seed", SINGLE_SEEDS)
def test_single_site_budget_curve_is_exactly_the_efficient_points(seed: int) -> None:
    inst = single_site_instance(seed)
    a = inst.a
    value = inst.logs @ a.fleet_count  # Φ of every allocation
    scale = max(1.0, float(np.max(np.abs(value[np.isfinite(value)]))))
    tol = 1e-9 * scale
    # The engine agrees with the summed family factors (spot checks).
    rng = np.random.default_rng(seed)
    for j in rng.choice(value.size, 5, replace=False).tolist():
        ev = evaluate_arrays(a.with_stock(inst.stock[j][:, None]), method=METHOD)
        np.testing.assert_allclose(np.log(ev.availability), inst.logs[j], rtol=1e-9, atol=1e-12)

    total = float(SINGLE_MAX * a.unit_cost.sum())  # buys the whole box: nothing is skipped
    hi = np.full_like(a.stock, SINGLE_MAX)
    opt = optimize_arrays(a, budget=total, max_stock=hi, method=METHOD)
    c, v = opt.curve_cost, phi(a, opt.curve_availability)
    assert c[0] == 0.0
    np.testing.assert_allclose(
        opt.curve_availability[0], evaluate_arrays(a, method=METHOD).availability, rtol=1e-12
    )
    assert np.all(np.diff(c) > 0)
    assert np.all(np.diff(v) > -tol)

    # Each point is optimal for its cost: no allocation costing no more does better.
    for ck, vk in zip(c.tolist(), v.tolist(), strict=True):
        best = float(np.max(value[inst.cost <= ck * (1 + 1e-12) + 1e-9]))
        assert vk >= best - tol, f"point at cost {ck}: {vk} < best {best}"
        assert vk <= best + tol, f"point at cost {ck}: {vk} beats brute force {best}?"

    # The allocation behind each point (a run with that budget), re-evaluated by the engine.
    for ck, vk in zip(c[1:].tolist(), v[1:].tolist(), strict=True):
        run = optimize_arrays(a, budget=ck, max_stock=hi, method=METHOD)
        assert run.purchase_cost == pytest.approx(ck, rel=1e-12)
        assert np.all(run.buy >= 0) and np.all(run.evaluation.arrays.stock <= SINGLE_MAX)
        again = evaluate_arrays(a.with_stock(run.evaluation.arrays.stock), method=METHOD)
        assert phi(a, again.availability) == pytest.approx(vk, abs=tol)

    # Every vertex of the upper hull of all (cost, Φ) points is visited (the vertices
    # within 1e-7 of the box's best Φ may lie beyond the optimiser's stock caps).
    finite = np.flatnonzero(np.isfinite(value))
    hull = finite[upper_hull(inst.cost[finite], value[finite])]
    v_max = float(value.max())
    for h in hull.tolist():
        if v_max - value[h] <= 1e-7 * scale:
            continue
        hit = np.isclose(c, inst.cost[h], rtol=1e-12, atol=1e-9) & (np.abs(v - value[h]) <= tol)
        assert np.any(hit), f"hull vertex cost {inst.cost[h]} value {value[h]} not visited"


@pytest.mark.parametrize("seed", SINGLE_SEEDS)
def test_single_site_target_cost_is_bracketed_by_the_brute_force_hull(seed: int) -> None:
    """One fleet, a target between the start and the best of the box.

    With ``C*`` the brute-force minimum cost, ``H*`` the cost of the cheapest vertex of the
    brute-force hull meeting the target, and ``c_prev`` the greedy's last point before it
    stopped: ``c_prev < C* ≤ C_greedy ≤ H*``.  So when the optimum lies on the hull
    (``C* = H*``) the greedy's cost equals it; otherwise the gap is at most the hull
    step that crosses the target (the knapsack gap of marginal analysis).
    """
    rng = np.random.default_rng(seed + 10_000)
    while True:
        inst = single_site_instance(int(rng.integers(1 << 30)))
        if inst.a.fleet_system.size == 1:
            break
    a = inst.a
    log_a = inst.logs[:, 0]
    a0, a_max = math.exp(log_a[0]), math.exp(float(log_a.max()))
    assert inst.cost[0] == 0.0
    t = float(rng.uniform(a0, a0 + 0.98 * (a_max - a0)))
    hi = np.full_like(a.stock, SINGLE_MAX)
    opt = optimize_arrays(a, target=t, max_stock=hi, method=METHOD)
    mine = evaluate_arrays(a.with_stock(opt.evaluation.arrays.stock), method=METHOD)
    assert mine.availability[0] >= t - TARGET_TOL
    c_greedy = opt.purchase_cost
    assert c_greedy == pytest.approx(opt.curve_cost[-1], rel=1e-12)

    feasible = log_a >= math.log(t - TARGET_TOL)
    c_star = float(np.min(inst.cost[feasible]))
    finite = np.flatnonzero(np.isfinite(log_a))
    hull = finite[upper_hull(inst.cost[finite], log_a[finite])]
    h_star = float(np.min(inst.cost[hull][feasible[hull]]))
    eps = 1e-9 * max(1.0, h_star)
    assert c_star - eps <= c_greedy <= h_star + eps, (c_star, c_greedy, h_star)
    assert opt.curve_availability[-2, 0] < t
    assert opt.curve_cost[-2] < c_star
    if h_star <= c_star + eps:
        assert c_greedy == pytest.approx(c_star, rel=1e-9)


# -- (2) multi-echelon, multi-indenture: the cost to reach a target -------------------------
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
    assert bf is not None, f"seed {seed}: no allocation in the box meets {t}"
    ev = evaluate_arrays(a.with_stock(bf.stock), method=METHOD)
    np.testing.assert_allclose(np.log(ev.availability), bf.log_availability, rtol=1e-9)
    assert np.all(ev.availability >= t - TARGET_TOL)
    assert np.sum((bf.stock - a.stock) * a.unit_cost[:, None]) == pytest.approx(bf.cost)
    try:
        opt = optimize_arrays(a, target=t, max_stock=hi, method=METHOD)
    except TargetUnreachable as e:
        return Comparison(seed, doc, t, bf.cost, math.inf, error=str(e)), a
    return Comparison(seed, doc, t, bf.cost, opt.purchase_cost), a


def check_optimiser_answer(seed: int) -> None:
    """The optimiser's answer is in the box and meets the target by an independent check."""
    _, a, t = multi_echelon_instance(seed)
    hi = np.full_like(a.stock, ME_MAX)
    opt = optimize_arrays(a, target=t, max_stock=hi, method=METHOD)
    stock = opt.evaluation.arrays.stock
    assert np.all(stock >= a.stock) and np.all(stock <= ME_MAX)
    mine = evaluate_arrays(a.with_stock(stock), method=METHOD)
    assert np.all(mine.availability >= t - TARGET_TOL)


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


ME_SEEDS = range(2000, 2050)


def test_multi_echelon_cost_is_near_the_brute_force_optimum() -> None:
    rows = distribution(ME_SEEDS)
    s = summary(rows)
    print("\ncost ratio optimiser / brute force:", {k: round(v, 4) for k, v in s.items()})
    # The brute force searches the whole box, which holds the optimiser's answer.
    cheaper = [x for x in rows if x.ratio < 1 - 1e-9]
    assert not cheaper, "optimiser cheaper than brute force:\n" + "\n".join(map(describe, cheaper))
    bad = [x for x in rows if x.ratio > 1.02]
    # The bar: >= 95 % within 2 % and never above 10 %.  Before the exact
    # neighbourhood search (optimize/refine.py) these seeds gave 84 % within 2 % and a
    # max of 1.143; with it, 100 % within 2 % and max 1.004 here, and every instance
    # optimal on seeds 2050-2649 (benchmarks/optimize.py --first-seed 2050 ...).
    assert s["median"] <= 1.0 + 1e-9
    assert s["within_2pct"] >= 0.95 and s["max"] <= 1.10, (
        f"{s}\n" + "\n".join(describe(x) for x in bad)
    )


@pytest.mark.parametrize("seed", ME_SEEDS[:10])
def test_multi_echelon_answer_meets_the_target_in_the_box(seed: int) -> None:
    check_optimiser_answer(seed)


def test_brute_force_finds_the_optimum_of_a_hand_checked_case() -> None:
    """Two identical items but one twice the price: brute force buys the cheap one first."""
    item = {"mtbf_hours": 200.0, "installed_in": [{"system": "S"}], "depot_repair_days": 10}
    doc = {
        "sites": [{"id": "D"}, {"id": "B", "parent": "D", "order_ship_days": 2}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "B", "count": 4, "hours_per_day": 10}],
        "items": [{"id": "A", "unit_cost": 1.0, **item}, {"id": "C", "unit_cost": 2.0, **item}],
    }
    a = compile_scenario(scenario_from_dict(doc))
    hi = np.full_like(a.stock, 3)
    # Enumerate all 4^4 stocks directly, one full evaluation each.
    best = (math.inf, None)
    for flat in np.ndindex(4, 4, 4, 4):
        stock = np.array(flat, dtype=float).reshape(2, 2)
        av = evaluate_arrays(a.with_stock(stock), method=METHOD).availability[0]
        cost = float(stock[0].sum() + 2 * stock[1].sum())
        if av >= 0.9 - TARGET_TOL and cost < best[0]:
            best = (cost, stock)
    bf = brute_min_cost(a, np.array([0.9]), a.stock, hi)
    assert bf is not None
    assert bf.cost == best[0]


@pytest.mark.parametrize(("seed", "with_sub"), [(7, True), (8, True), (9, False)])
def test_brute_force_agrees_with_plain_enumeration(seed: int, with_sub: bool) -> None:
    """Two items (a top-level item and its sub-item, or two top-level items) on a depot
    and two bases, stock 0..2: one full ``evaluate_arrays`` per allocation (3^6)."""
    rng = np.random.default_rng(seed)
    while True:
        doc = multi_echelon_doc(rng)
        n_sub = sum("parent" in it for it in doc["items"])
        if len(doc["items"]) == 2 and (n_sub == 1) == with_sub:
            break
    a = compile_scenario(scenario_from_dict(doc))
    hi = np.full_like(a.stock, 2)
    allocs = np.stack(np.meshgrid(*[np.arange(3)] * 6, indexing="ij"), -1).reshape(-1, 2, 3)
    av = np.array([
        evaluate_arrays(a.with_stock(s.astype(float)), method=METHOD).availability
        for s in allocs
    ])
    cost = np.sum(allocs * a.unit_cost[None, :, None], axis=(1, 2))
    for q in (0.3, 0.6, 0.9):  # targets spread over what the box reaches
        t = np.quantile(av.min(axis=1), q)
        ok = np.all(av >= t - TARGET_TOL, axis=1)
        bf = brute_min_cost(a, np.full(a.fleet_system.size, t), a.stock, hi)
        assert bf is not None
        assert bf.cost == pytest.approx(float(cost[ok].min()), rel=1e-12)
