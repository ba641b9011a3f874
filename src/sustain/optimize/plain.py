"""The textbook single-unit greedy: a second opinion on small cases."""

from __future__ import annotations

import numpy as np

from sustain._types import FloatArray
from sustain.optimize.local_search import polish
from sustain.optimize.state import AllocationState, Deadline, MarginalResult, Step, stock_bounds
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays


def plain_greedy(
    a: ScenarioArrays,
    *,
    targets: FloatArray,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    deadline: Deadline | None = None,
) -> MarginalResult:
    """One unit at a time, every item at every site, valued by re-evaluating its family.

    The textbook single-unit marginal analysis (no depot-level enumeration), followed
    by the same local search.  Quadratic in the number of item-site pairs: used only
    as a second opinion on small cases, where whole units are coarse and its different
    path sometimes ends cheaper.  Past ``deadline`` it stops, its targets unmet (the
    result then has ``met`` False).
    """
    lo, hi = stock_bounds(a, min_stock, max_stock)
    opt = AllocationState(a, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi, method=method)
    ev = evaluate_arrays(a.with_stock(lo), method=method)
    log_a = opt.start_log_availability(ev)
    start_av = np.exp(log_a)
    goal = np.where(np.isnan(targets), -np.inf, np.log(np.where(np.isnan(targets), 1, targets)))
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))
    cost = start_cost
    steps: list[Step] = []
    while np.any(goal - log_a > 0):
        if deadline is not None:
            if deadline.expired():
                break
            deadline.tick()
        short = goal - log_a > 0
        best: tuple[float, int, int, int, FloatArray] | None = None
        # Every candidate unit of every family still short, in one evaluation.
        batch: list[tuple[int, list[tuple[int, int]], FloatArray]] = []
        for g, fam in enumerate(opt.families):
            if not np.any(short[fam.fleets]):
                continue
            cands = [
                (j, s) for j, r in enumerate(fam.rows.tolist()) for s in range(a.n_sites)
                if opt.stock[r, s] + 1 <= hi[r, s]
            ]
            if not cands:
                continue
            base = opt.stock[fam.rows]
            copies = np.repeat(base[None], len(cands), axis=0)
            for n, (j, s) in enumerate(cands):
                copies[n, j, s] += 1
            batch.append((g, cands, copies))
        all_terms = opt.families_eval([(opt.families[g], c) for g, _, c in batch])
        for (g, cands, _), terms in zip(batch, all_terms, strict=True):
            fam = opt.families[g]
            cap = np.where(np.isinf(goal), -1e300, goal)[fam.fleets]  # untargeted: no gain
            gain = (np.minimum(log_a[fam.fleets] + terms - opt.terms.current[g], cap)
                    - np.minimum(log_a[fam.fleets], cap)).sum(axis=1)
            unit = np.array([a.unit_cost[fam.rows[j]] for j, _ in cands])
            with np.errstate(over="ignore"):  # a free item's ratio is infinite: first
                ratio = gain / np.maximum(unit, 1e-300)
            n = int(np.argmax(ratio))
            if gain[n] > 0 and (best is None or ratio[n] > best[0]):
                j, s = cands[n]
                best = (float(ratio[n]), g, int(fam.rows[j]), s, terms[n])
        if best is None:
            break
        _, g, r, s, t = best
        opt.stock[r, s] += 1
        opt.terms.assign(g, t)
        log_a[opt.families[g].fleets] = opt.exact_log_a(opt.families[g].fleets)
        cost += float(a.unit_cost[r])
        steps.append(Step(cost=cost, rows=(r,), stock=opt.stock[[r]].copy(),
                          availability=np.exp(log_a), terms=t))
    met = bool(np.all(goal - log_a <= 0))
    if met and steps:
        steps = polish(opt, targets, log_a, steps, cost, deadline)
    return MarginalResult(stock=opt.stock, start_stock=lo, steps=steps,
                          start_availability=start_av, start_cost=start_cost, met=met)
