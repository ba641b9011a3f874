"""Greedy marginal analysis over the families' efficient curves and sub-item units.

The objective is a weighted sum of fleets' log-availabilities,
``Φ = Σ_f w_f log A_f`` with ``log A_f = Σ_i Z_i log(1 − EBO_is·share_if/(N_f Z_i))``
(Sherbrooke's product formula), which is a sum over top-level items (each term
depends only on that item's stock, and on its sub-items' through repair delays).
Each top-level item's efficient curve (``curves.py``) is merged with the others by
the classical greedy on ``ΔΦ / Δcost`` (Sherbrooke 2004, ch. 2 and 4; Fox 1966):
every point visited is on the efficient curve of the separable problem.

Targets per fleet: a fleet's weight is 1 while it is below its target and 0 once it
reaches it (the items it depends on then get new curves, from the stock bought so
far); the run stops when every target is met.  With a budget the weights are the
fleet sizes times the fleets' own weights (1 unless the scenario gives one), and the
run buys down the curve while the money lasts.

Multi-indenture: a top-level item's curve is built with its sub-items' current stock
held fixed, and each sub-item unit (at any site) is a candidate of its own whose gain
is found by re-evaluating the whole family; after any purchase in a family its
candidates are rebuilt.  Sub-items and parents compete for the same money.

Under VARI-METRIC a unit can lower a fleet's availability slightly (a sub-item unit
lowers its parent's pipeline mean more than its variance, so the fitted negative
binomial widens; by about 1e-6 at most in the cases measured).  Two guards follow: a
step whose gain under the current weights is not positive is never bought (its
candidate is dropped), and a fleet that falls back below a target it had met counts
again (at most :data:`MAX_REVIVALS` times, so the loop always ends).

Pure array code apart from the greedy loop; no I/O.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize.curves import build_curves
from sustain.optimize.family import Curve, Family, SubItemMove
from sustain.optimize.local_search import polish
from sustain.optimize.state import (
    MIN_GAIN,
    AllocationState,
    Deadline,
    MarginalResult,
    Progress,
    Step,
    stock_bounds,
)
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

#: Families rebuilt together when a family whose weights fell reaches the top of the heap.
REBUILD_AHEAD = 64
#: Rebuilt curves go down to this share of the current ratio; the rest is built on demand.
REBUILD_CUT = 0.25
#: First curves go down to this share of the item's best first unit's gain (targets only).
INITIAL_CUT = 1e-3
#: Times a fleet that fell back below a target it had met counts again, at most.
MAX_REVIVALS = 8

#: Most curve steps taken in one run (bounds the arrays of a run).
RUN_MAX = 4096


def _curve_run(
    cur: Curve, top_ratio: float, log_a: FloatArray, fleets: IntArray, live: FloatArray
) -> tuple[int, FloatArray, FloatArray] | None:
    """The curve's next steps the one-unit-at-a-time loop would take in a row, at once.

    Steps from ``cur.pos`` on whose ratio is strictly above ``top_ratio`` (the best other
    entry of the heap: a tie goes to the entry queued first, as the heap would order
    it), whose terms stay above -50 at both ends (below, the loop sums log A afresh),
    that lower no fleet's term (a fall may revive a met fleet), and that come before the
    first step after which a fleet reaches its target (``live``: that step is left to
    the loop).  ``log A`` of the family's fleets after each step is summed in order
    (``cumsum`` along the steps: the loop's own additions); returns the number of
    steps, those sums and their availabilities, or None when there is no such step.
    """
    n, pos = len(cur.ratio), cur.pos
    ratio, low = cur.ratio, cur.low
    if low[pos] < -50:
        return None
    k = 0
    while (k < RUN_MAX and pos + k < n and ratio[pos + k] > top_ratio
           and low[pos + k + 1] >= -50):
        k += 1
    if k == 0:
        return None
    logs = cur.logs[pos : pos + k + 1]
    delta = logs[1:] - logs[:-1]
    falls = np.flatnonzero((delta < 0).any(axis=1))
    if falls.size:
        k = int(falls[0])
    if k == 0:
        return None
    sums = np.cumsum(np.concatenate([log_a[fleets][None, :], delta[:k]]), axis=0)[1:]
    avs = np.exp(sums)
    hits = np.flatnonzero((avs >= live[fleets][None, :]).any(axis=1))
    if hits.size:
        k = int(hits[0])
    if k == 0:
        return None
    return k, sums[:k], avs[:k]


def sub_item_move(state: AllocationState, fam: Family, current_terms: FloatArray) -> None:
    """Set ``fam.sub_move`` to the family's best single sub-item unit (any sub-item, any
    site), or None when no unit gains more than :data:`MIN_GAIN` (relative) under the
    current weights."""
    fam.sub_move = None
    if fam.rows.size < 2:
        return
    base = state.stock[fam.rows]
    cands = []
    copies = []
    for j in range(1, fam.rows.size):
        r = int(fam.rows[j])
        for s in range(state.a.n_sites):
            if base[j, s] + 1 <= state.hi[r, s]:
                st = base.copy()
                st[j, s] += 1
                cands.append((r, s))
                copies.append(st)
    if not cands:
        return
    terms, _ = state.family_eval(fam, np.array(copies))
    w = state.w[fam.fleets]
    gain = (terms - current_terms[None, :]) @ w
    cost = np.array([state.a.unit_cost[r] for r, _ in cands])
    with np.errstate(over="ignore"):  # a free item's ratio is infinite: first
        ratio = gain / np.maximum(cost, 1e-300)
    n = int(np.argmax(ratio))
    if gain[n] > MIN_GAIN * max(1.0, abs(float(current_terms @ w))):
        r, s = cands[n]
        fam.sub_move = SubItemMove(ratio=float(ratio[n]), row=r, site=s, terms=terms[n])


def marginal_allocation(
    a: ScenarioArrays,
    *,
    targets: FloatArray | None = None,
    budget: float | None = None,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    progress: Progress | None = None,
    drop_met: bool = True,
    start: Evaluation | None = None,
    deadline: Deadline | None = None,
    fleet_weight: FloatArray | None = None,
    only_families: IntArray | None = None,
    rebuild_ahead: int | None = None,
    first_cut: float | None = None,
) -> MarginalResult:
    """Greedy marginal analysis from the stock held, to targets or within a budget.

    Parameters
    ----------
    a : ScenarioArrays
        The scenario; ``a.stock`` is the stock already held (never sold).
    targets : FloatArray, optional
        Availability target per fleet (NaN: no target).  Stop when all are met.
    budget : float, optional
        Money for purchases; without targets, buy the best points while it lasts.
    method : Method
        METRIC or VARI-METRIC pipelines.
    min_stock, max_stock : FloatArray, optional
        (items × sites) bounds; ``max_stock`` equal to the held stock excludes a site.
    progress : callable, optional
        Called as ``progress(step, cost, worst_gap)`` every few steps.
    drop_met : bool
        Whether a fleet stops counting once it meets its target (default), or keeps
        its weight until every target is met (a second strategy tried on small cases).
    start : Evaluation, optional
        An evaluation of the scenario at the starting stock (``a.stock`` raised to
        ``min_stock``), when the caller has one.
    deadline : Deadline, optional
        A budget of processor time: once spent, the greedy (or its local search) stops;
        a greedy stopped short of its targets returns ``met`` False.
    fleet_weight : FloatArray, optional
        With a budget and no targets: each fleet's weight, which multiplies its size in
        the objective Σ weight·N·log A (1 for every fleet when not given).
    only_families : IntArray, optional
        The families (:func:`~sustain.optimize.family.families_of` order) that may be
        bought for; the others keep their starting stock (None: every family).
    rebuild_ahead : int, optional
        Families whose curves are rebuilt together when a stale one comes to the top
        (None: :data:`REBUILD_AHEAD`; more suits a search over many families whose weights
        change often, as the decomposition's repair).
    first_cut : float, optional
        With targets: the first curves are built down to this ratio (gain per money)
        instead of :data:`INITIAL_CUT` of each item's best first unit, and extended on
        demand past it (a caller that knows roughly where the greedy will stop, as the
        decomposition's repair does, builds less).
    """
    n_f = a.fleet_system.size
    rebuild_ahead = REBUILD_AHEAD if rebuild_ahead is None else rebuild_ahead
    lo, hi = stock_bounds(a, min_stock, max_stock)
    if targets is None:
        targets = np.full(n_f, np.nan)
    if budget is not None and np.all(np.isnan(targets)):
        weights = a.fleet_count.astype(np.float64).copy()
        if fleet_weight is not None:
            weights *= fleet_weight
    else:
        weights = np.where(np.isnan(targets), 0.0, 1.0)
    opt = AllocationState(a, weights=weights, lo=lo, hi=hi, method=method)
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))

    ev = evaluate_arrays(a.with_stock(lo), method=method) if start is None else start
    # log A per fleet as the sum of the same item terms the greedy updates (no underflow).
    log_a = opt.start_log_availability(ev)
    start_av = np.exp(log_a)
    below = ~np.isnan(targets) & (start_av < targets)
    opt.w = np.where(np.isnan(targets), opt.w, np.where(below, 1.0, 0.0))
    if budget is None and not np.any(below):
        return MarginalResult(
            stock=lo, start_stock=lo, steps=[], start_availability=start_av,
            start_cost=start_cost, met=True,
        )

    fam_terms = opt.terms  # current fleet terms of each family, to update log A
    allowed = np.ones(len(opt.families), dtype=bool)
    if only_families is not None:
        allowed[:] = False
        allowed[only_families] = True
    active = [
        n for n, f in enumerate(opt.families)
        if allowed[n] and f.fleets.size and np.any(opt.w[f.fleets] > 0)
    ]
    # The families each fleet depends on that may be bought for (the others are never
    # queued, so a change of weights has nothing to mark on them).
    fleet_fams = opt.fams_of_fleet if only_families is None else [
        np.asarray(fs, dtype=np.int64)[allowed[fs]].tolist() for fs in opt.fams_of_fleet]
    if first_cut is not None and budget is None:
        build_curves(opt, [opt.families[n] for n in active], first_cut)
    else:
        build_curves(opt, [opt.families[n] for n in active],
                     rel=INITIAL_CUT if budget is None else 0.0)
    heap: list[tuple[float, int, int, int]] = []  # (-ratio, seq, family, version)
    seq = itertools.count()
    queued = np.zeros(len(opt.families))  # ratio of each family's live heap entry (0: none)
    dirty: set[int] = set()  # families whose curves predate a change of weights, or end short
    revived = np.zeros(n_f, dtype=np.int64)  # times each fleet fell back below its target

    families = opt.families
    unit_cost: list[float] = a.unit_cost.tolist()
    multi = [f.rows.size > 1 for f in families]
    # Target of each fleet still counting (+inf once met, or with none): a step "hits"
    # a fleet when its availability reaches this.
    live = np.where((opt.w > 0) & ~np.isnan(targets), targets, np.inf)

    def push(fam_i: int, fresh: bool = False, subs: bool = True) -> None:
        """Queue the family's best next step (``fresh``: its terms are already current;
        ``subs``: look for its best sub-item unit again)."""
        fam = families[fam_i]
        fam.version += 1
        cur = fam.curve
        if cur is not None and not fresh:
            fam_terms.assign(fam_i, cur.logs[cur.pos], cur.low[cur.pos])
        if multi[fam_i] and subs:
            sub_item_move(opt, fam, fam_terms.current[fam_i])
        best = -math.inf
        sub = fam.sub_move
        if cur is not None and cur.pos < len(cur.ratio):
            best = cur.ratio[cur.pos]
        elif cur is not None and cur.beyond > 0 and (sub is None or cur.beyond > sub.ratio):
            best = cur.beyond  # a bound on the rest of a truncated curve: extend on demand
            dirty.add(fam_i)
        if sub is not None:
            best = max(best, sub.ratio)
        if best > 0 and math.isfinite(best):
            heapq.heappush(heap, (-best, next(seq), fam_i, fam.version))
            queued[fam_i] = best
        else:
            queued[fam_i] = 0.0

    for n in active:
        push(n)

    steps: list[Step] = []
    cost = start_cost
    spent = 0.0
    n_step = 0
    last_ratio = np.inf  # ratio of the last step taken
    heappop = heapq.heappop
    timed_out = False  # stopped by the deadline
    while heap:
        if deadline is not None:
            if deadline.expired():
                timed_out = True
                break
            deadline.tick()
        key, _, fam_i, version = heappop(heap)
        fam = families[fam_i]
        if version != fam.version:
            continue
        if fam_i in dirty:
            # Lazy rebuild: weights only fall, so a stale ratio is an upper bound on the
            # new one; rebuild this family (and the next dirty ones on top) and re-queue.
            batch = [fam_i]
            if len(dirty) > 1 and rebuild_ahead > 1:
                # Rebuild ahead the dirty families likeliest to be popped next (highest
                # stale ratios): one batched build instead of many small ones.
                others = np.fromiter(dirty, dtype=np.int64, count=len(dirty))
                others = others[others != fam_i]
                keys = queued[others]
                if others.size > rebuild_ahead - 1:
                    top = np.argpartition(-keys, rebuild_ahead - 2)[: rebuild_ahead - 1]
                    others, keys = others[top], keys[top]
                batch.extend(others[keys > 0].tolist())
            dirty.difference_update(batch)
            cut = REBUILD_CUT * min(last_ratio, -key) if budget is None else 0.0
            build_curves(opt, [families[n] for n in batch], cut)
            for n in batch:
                push(n)
            continue
        cur = fam.curve
        sub = fam.sub_move
        take_curve = cur is not None and cur.pos < len(cur.ratio) and (
            sub is None or cur.ratio[cur.pos] >= sub.ratio
        )
        old_terms = fam_terms.current[fam_i]
        old_low = fam_terms.lows[fam_i]
        if take_curve:
            assert cur is not None
            p = cur.pos + 1
            # Units added along the curve are the stock added (all at the top's row).
            dcost = float(cur.units[p] - cur.units[p - 1]) * unit_cost[fam.top]
            r = fam.top
            new_terms = cur.logs[p]
        else:
            assert sub is not None
            r, s, new_terms = sub.row, sub.site, sub.terms
            dcost = unit_cost[r]
        if budget is not None and spent + dcost > budget * (1 + 1e-12):
            continue  # this family's next step does not fit; others may
        if not take_curve and not float((new_terms - old_terms) @ opt.w[fam.fleets]) > 0:
            # Never buy a step that does not raise the weighted objective.  (A curve's
            # ratios are positive by construction, from the family's current terms and
            # weights: it is rebuilt whenever either changes.)
            fam.sub_move = None
            push(fam_i, fresh=True, subs=False)
            continue
        last_ratio = -key
        if take_curve:
            assert cur is not None
            cur.pos = p
            opt.stock[r] = cur.stock[p]
            fam_terms.assign(fam_i, new_terms, cur.low[p])
        else:
            opt.stock[r, s] += 1
            fam_terms.assign(fam_i, new_terms)
        delta = new_terms - old_terms
        if min(old_low, fam_terms.lows[fam_i]) < -50:  # terms <= 0
            log_a[fam.fleets] = opt.exact_log_a(fam.fleets)  # large terms: no drift
        else:
            log_a[fam.fleets] += delta
        cost += dcost
        spent += dcost
        av = np.exp(log_a)
        steps.append(Step(cost=cost, rows=(r,), stock=opt.stock[r : r + 1].copy(), availability=av,
                          terms=fam_terms.current[fam_i]))
        n_step += 1
        if progress is not None and n_step % 25 == 0:
            gap = np.nanmax(np.where(np.isnan(targets), np.nan, targets - av), initial=0.0)
            progress(n_step, cost, float(gap) if np.isfinite(gap) else 0.0)
        # Only this family's fleets moved.  Targets newly met: those fleets stop
        # counting; the curves they shaped are rebuilt when they reach the top.
        ff = fam.fleets
        reached = av[ff] >= live[ff]
        if drop_met and min(delta.tolist(), default=0.0) < 0:
            # A met fleet that fell back below its target (a step can lower one fleet
            # slightly while raising others: the VARI-METRIC fit of a parent widens
            # when its sub-items improve) counts again, a bounded number of times.
            fell = ff[np.isinf(live[ff]) & (av[ff] < targets[ff]) & (revived[ff] < MAX_REVIVALS)]
            if fell.size:
                revived[fell] += 1
                opt.w[fell] = 1.0
                live[fell] = targets[fell]
                again = sorted({n for f in fell.tolist() for n in fleet_fams[f]})
                dirty.difference_update(again)
                build_curves(opt, [families[n] for n in again],
                             REBUILD_CUT * last_ratio if budget is None else 0.0)
                for n in again:  # (this family among them)
                    push(n)
                if not reached.any():
                    continue
        if not reached.any():
            if not take_curve and fam.curve is not None:
                build_curves(opt, [fam])  # sub-item stock changed this item's repair delays
                push(fam_i)
                continue
            if take_curve and not multi[fam_i] and budget is None and deadline is None:
                # Many units at once: the curve's next steps that would come off the heap
                # one after the other anyway (ratio above every other entry), up to the
                # step before a target is reached; the same steps and numbers as one
                # at a time (see _curve_run).
                assert cur is not None
                top_ratio = -heap[0][0] if heap else -math.inf
                run = _curve_run(cur, top_ratio, log_a, fam.fleets, live)
                if run is not None:
                    k, sums, avs = run
                    p0, r = cur.pos, fam.top
                    for j in range(k):
                        p = p0 + j + 1
                        dcost = float(cur.units[p] - cur.units[p - 1]) * unit_cost[r]
                        cost += dcost
                        spent += dcost
                        av = np.exp(log_a)
                        av[fam.fleets] = avs[j]
                        steps.append(Step(cost=cost, rows=(r,), stock=cur.stock[p : p + 1].copy(),
                                          availability=av, terms=cur.logs[p]))
                        n_step += 1
                        if progress is not None and n_step % 25 == 0:
                            gap = np.nanmax(np.where(np.isnan(targets), np.nan, targets - av),
                                            initial=0.0)
                            progress(n_step, cost, float(gap) if np.isfinite(gap) else 0.0)
                    last_ratio = cur.ratio[p0 + k - 1]
                    cur.pos = p0 + k
                    opt.stock[r] = cur.stock[cur.pos]
                    fam_terms.assign(fam_i, cur.logs[cur.pos], cur.low[cur.pos])
                    log_a[fam.fleets] = sums[k - 1]
            push(fam_i, fresh=take_curve)
            continue
        newly = np.zeros(targets.size, dtype=bool)
        newly[ff[reached]] = True
        if not drop_met:
            if np.all(np.isnan(targets) | (av >= targets)):
                break
            newly[:] = False
        if np.any(newly):
            opt.w[newly] = 0.0
            live[newly] = np.inf
            if not np.any(opt.w > 0):
                break
            changed = {n for f in np.flatnonzero(newly) for n in fleet_fams[f]}
            for n in changed:
                if (opt.w[families[n].fleets] > 0).any():
                    dirty.add(n)
                else:  # nothing left to gain for this family: drop it from the heap
                    dead = families[n]
                    dead.curve, dead.sub_move = None, None
                    dead.version += 1
                    queued[n] = 0.0
            if fam_i in changed:
                if fam_i in dirty:
                    # Re-queued with its old (upper-bound) ratio; its terms are current.
                    push(fam_i, fresh=True)
                continue
        if not take_curve and fam.curve is not None:
            build_curves(opt, [fam])  # sub-item stock changed this item's repair delays
        push(fam_i)
    met = not timed_out and bool(np.all(np.isnan(targets) | (np.exp(log_a) >= targets)))
    if met and budget is None and steps:
        steps = polish(opt, targets, log_a, steps, cost, deadline)
    return MarginalResult(
        stock=opt.stock, start_stock=lo, steps=steps, start_availability=start_av,
        start_cost=start_cost, met=met,
    )
