"""Marginal analysis when sites share stock laterally.

With lateral resupply an item's backorders at a site depend on the stock at every site
linked to it (:mod:`sustain.readiness.laterals`), so the per-site curves the greedy of
:mod:`sustain.optimize.greedy` merges are no longer separable by site.  The families
(a top-level item and its sub-items) stay independent in the objective, so this greedy
buys one unit at a time, valuing every candidate unit (every row of a family, every
site) by re-evaluating its whole family with the laterals: the textbook single-unit
marginal analysis (Sherbrooke 2004, ch. 4), with the family as the unit of
re-evaluation.  A purchase changes only its own family's candidates, so only those are
evaluated again.

Targets: a fleet's gain counts up to its target (as in the other greedies) and the run
stops when every target is met; the plan is then polished by the same local search.
Budget: the gain is Σ_f w_f Δ log A_f, and a unit is bought only while the money left
pays for it.
"""

from __future__ import annotations

import numpy as np

from sustain._types import FloatArray
from sustain.optimize.local_search import polish
from sustain.optimize.state import (
    MIN_GAIN,
    AllocationState,
    Deadline,
    MarginalResult,
    Step,
    stock_bounds,
)
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays


def lateral_greedy(
    a: ScenarioArrays,
    *,
    targets: FloatArray | None = None,
    budget: float | None = None,
    fleet_weight: FloatArray | None = None,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    deadline: Deadline | None = None,
) -> MarginalResult:
    """Single-unit marginal analysis with whole-family re-evaluation (laterals).

    ``targets`` per fleet (NaN: none), or ``budget`` alone with ``fleet_weight``
    (the fleets' weights, scaled; multiplied by the fleet sizes as in the budget
    objective); both: the targets pursued within the budget.
    """
    lo, hi = stock_bounds(a, min_stock, max_stock)
    n_f = a.fleet_system.size
    opt = AllocationState(a, weights=np.ones(n_f), lo=lo, hi=hi, method=method)
    ev = evaluate_arrays(a.with_stock(lo), method=method)
    log_a = opt.start_log_availability(ev)
    start_av = np.exp(log_a)
    if targets is not None:
        aim = np.where(np.isnan(targets), 1.0, targets)
        goal = np.where(np.isnan(targets), -np.inf, np.log(np.maximum(aim, 1e-300)))
        w = np.ones(n_f)
    else:
        goal = np.full(n_f, np.inf)
        fw = np.ones(n_f) if fleet_weight is None else fleet_weight
        w = fw * a.fleet_count
    money = np.inf if budget is None else budget * (1 + 1e-12)
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))
    cost = start_cost
    steps: list[Step] = []
    cache: dict[int, tuple[list[tuple[int, int]], FloatArray]] = {}
    while targets is None or np.any(goal - log_a > 0):
        if deadline is not None:
            if deadline.expired():
                break
            deadline.tick()
        short = goal - log_a > 0
        todo = [g for g, fam in enumerate(opt.families)
                if g not in cache and np.any(short[fam.fleets])]
        batch = []
        for g in todo:
            fam = opt.families[g]
            cands = [(j, s) for j, r in enumerate(fam.rows.tolist()) for s in range(a.n_sites)
                     if opt.stock[r, s] + 1 <= hi[r, s]]
            base = opt.stock[fam.rows]
            copies = np.repeat(base[None], len(cands), axis=0)
            for n, (j, s) in enumerate(cands):
                copies[n, j, s] += 1
            batch.append((g, cands, copies))
        evaluated = opt.families_eval([(opt.families[g], c) for g, c_, c in batch if c_])
        it = iter(evaluated)
        for g, cands, _ in batch:
            cache[g] = (cands, next(it) if cands else np.zeros((0, 0)))
        best: tuple[float, int, int, int, FloatArray] | None = None
        for g, fam in enumerate(opt.families):
            if g not in cache or not np.any(short[fam.fleets]):
                continue
            cands, terms = cache[g]
            if not cands:
                continue
            unit = a.unit_cost[fam.rows[[j for j, _ in cands]]]
            cur = opt.terms.current[g]
            if targets is not None:
                cap = np.where(np.isinf(goal), -1e300, goal)[fam.fleets]
                gain = (np.minimum(log_a[fam.fleets] + terms - cur, cap)
                        - np.minimum(log_a[fam.fleets], cap)).sum(axis=1)
                floor = 0.0
            else:
                gain = (terms - cur) @ w[fam.fleets]
                floor = MIN_GAIN * max(1.0, abs(float(cur @ w[fam.fleets])))
            gain = np.where(cost + unit <= money, gain, -np.inf)
            with np.errstate(over="ignore"):  # a free unit's ratio is infinite: first
                ratio = gain / np.maximum(unit, 1e-300)
            n = int(np.argmax(ratio))
            if gain[n] > floor and (best is None or ratio[n] > best[0]):
                j, s = cands[n]
                best = (float(ratio[n]), g, int(fam.rows[j]), s, terms[n])
        if best is None:
            break
        _, g, r, s, t = best
        opt.stock[r, s] += 1
        opt.terms.assign(g, t)
        cache.pop(g)
        log_a[opt.families[g].fleets] = opt.exact_log_a(opt.families[g].fleets)
        cost += float(a.unit_cost[r])
        steps.append(Step(cost=cost, rows=(r,), stock=opt.stock[[r]].copy(),
                          availability=np.exp(log_a), terms=t))
    met = targets is None or bool(np.all(goal - log_a <= 0))
    if targets is not None and met and steps and budget is None:
        steps = polish(opt, targets, log_a, steps, cost, deadline)
    return MarginalResult(stock=opt.stock, start_stock=lo, steps=steps,
                          start_availability=start_av, start_cost=start_cost, met=met)


def polish_with_laterals(
    a: ScenarioArrays,
    stock: FloatArray,
    targets: FloatArray,
    *,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    deadline: Deadline | None = None,
) -> MarginalResult | None:
    """Start from ``stock`` (a plan found without the links, say), evaluated with the
    links, and run the local search on it: units the links make unneeded are dropped,
    others exchanged for cheaper ones.  None when ``stock`` does not meet the targets
    with the links."""
    lo, hi = stock_bounds(a, min_stock, max_stock)
    n_f = a.fleet_system.size
    opt = AllocationState(a, weights=np.ones(n_f), lo=lo, hi=hi, method=method)
    start_av = np.exp(opt.start_log_availability(evaluate_arrays(a.with_stock(lo),
                                                                 method=method)))
    opt.stock = np.clip(stock, lo, hi)
    log_a = opt.start_log_availability(evaluate_arrays(a.with_stock(opt.stock), method=method))
    aim = np.where(np.isnan(targets), 1.0, targets)
    goal = np.where(np.isnan(targets), -np.inf, np.log(np.maximum(aim, 1e-300)))
    if np.any(goal - log_a > 0):
        return None
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))
    cost = start_cost + float(np.sum((opt.stock - lo) * a.unit_cost[:, None]))
    first = Step(cost=cost, rows=(), stock=np.zeros((0, a.n_sites)), availability=np.exp(log_a))
    steps = polish(opt, targets, log_a, [first], cost, deadline)
    return MarginalResult(stock=opt.stock, start_stock=lo, steps=steps,
                          start_availability=start_av, start_cost=start_cost, met=True)
