"""The efficient curve of a target plan: its purchases in the order the search made them.

With targets, the search pursues an objective whose weights change as fleets meet
their targets, and the plan it returns may come from another strategy or from a local
search that undoes purchases (``local_search.py``, ``refine.py``).  The points it
visited are therefore not one curve: some cost less than the plan yet raise some
fleets higher.  The curve reported for a target plan is instead a chain of stocks
nested inside the plan: point ``k`` holds, at every item and site, the most stock the
search had reached there by its step ``k``, but never more than the plan holds; the
plan's units the search never made follow one at a time (:func:`_fill`).  Each point
contains the one before it, so the cost rises along the curve and, since more
stock never lowers a fleet's availability under METRIC, so does every fleet's
availability (under VARI-METRIC a sub-item unit can lower its parent's fleets by about
1e-6 at most: see ``greedy.py``).  The last point is the plan.

Each point is evaluated on the families whose stock changed since the point before
(families are independent in the product formula: ``family.py``), in batches.
"""

from __future__ import annotations

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize.family import Family, families_of, fleet_terms
from sustain.optimize.state import MarginalResult
from sustain.readiness.laterals import with_laterals
from sustain.readiness.metric import Method, demand_flows, pipelines
from sustain.scenario.compile import ScenarioArrays

#: Families evaluated together in one batch.
BATCH_FAMILIES = 2048
#: The plan's purchases the search never made are ordered one unit at a time when
#: (units × item-site cells) is at most this; beyond it they are one last point.
FILL_WORK = 20_000


def family_terms(
    a: ScenarioArrays, fams: list[Family], stocks: list[FloatArray], method: Method
) -> FloatArray:
    """``Z log(1 − x)`` of each family in ``fams``, at its stock in ``stocks`` (family
    rows × sites each), for every fleet: (families × fleets; 0 for a fleet the family is
    not installed in, or without systems).  A family may appear several times."""
    n_f = a.fleet_system.size
    out = np.zeros((len(fams), n_f))
    fleets = np.arange(n_f)
    for start in range(0, len(fams), BATCH_FAMILIES):
        batch = fams[start : start + BATCH_FAMILIES]
        rows = np.concatenate([f.rows for f in batch])
        tops = np.cumsum([0] + [f.rows.size for f in batch[:-1]]).astype(np.int64)
        sub = a.subset(rows, stock=np.concatenate(stocks[start : start + BATCH_FAMILIES]))
        flows = demand_flows(sub)
        pipes = with_laterals(sub, flows, pipelines(sub, flows, method))
        terms = fleet_terms(a, flows, pipes.ebo, tops, rows, fleets,
                            (pipes.mean, pipes.var, sub.stock))
        terms[:, a.fleet_count <= 0] = 0.0
        out[start : start + len(batch)] = terms
    return out


def fills(chain: FloatArray, plan: FloatArray) -> bool:
    """Whether the units of ``plan − chain`` are few enough to be put in order one at a
    time (:func:`_fill`: at most :data:`FILL_WORK` evaluations).  Without them, the
    chain from a search without steps is its two ends."""
    cells = int(np.count_nonzero(plan > chain))
    return cells > 0 and float(np.sum(plan - chain)) * cells <= FILL_WORK


def _fill(
    a: ScenarioArrays, fams: list[Family], family_of: IntArray, chain: FloatArray,
    plan: FloatArray, weights: FloatArray, method: Method,
) -> list[tuple[int, int, FloatArray]]:
    """The units of ``plan − chain`` one at a time, each the unit with the largest gain
    in Σ w log A per money given the units before it: ``(row, site, new family terms)``
    per unit, or ``[]`` when that would take more than :data:`FILL_WORK` evaluations."""
    if not fills(chain, plan):
        return []
    cells = np.argwhere(plan > chain)
    stock = chain.copy()
    by_family: dict[int, list[tuple[int, int]]] = {}
    for r, s in cells.tolist():
        by_family.setdefault(int(family_of[r]), []).append((r, s))
    current = {g: family_terms(a, [fams[g]], [stock[fams[g].rows]], method)[0]
               for g in by_family}
    best: dict[int, tuple[float, int, int, FloatArray]] = {}

    def rank(g: int) -> None:
        """Family ``g``'s best next unit (by gain per money), if it has one left."""
        fam = fams[g]
        left = [(r, s) for r, s in by_family[g] if stock[r, s] < plan[r, s]]
        best.pop(g, None)
        if not left:
            return
        blocks = []
        for r, s in left:
            block = stock[fam.rows].copy()
            block[int(np.flatnonzero(fam.rows == r)[0]), s] += 1
            blocks.append(block)
        terms = family_terms(a, [fam] * len(left), blocks, method)
        gain = (terms - current[g][None, :]) @ weights
        cost = np.array([a.unit_cost[r] for r, _ in left])
        with np.errstate(over="ignore"):  # a free item's ratio is infinite: first
            ratio = gain / np.maximum(cost, 1e-300)
        n = int(np.argmax(ratio))
        best[g] = (float(ratio[n]), left[n][0], left[n][1], terms[n])

    for g in by_family:
        rank(g)
    out = []
    while best:
        g = max(best, key=lambda h: (best[h][0], -h))
        _, r, s, terms = best[g]
        stock[r, s] += 1
        current[g] = terms
        out.append((r, s, terms))
        rank(g)
    return out


def plan_path(
    a: ScenarioArrays, res: MarginalResult, plan: FloatArray, method: Method, points: int,
    weights: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Costs (purchases over the stock held) and availabilities (points × fleets) of the
    nested chain from ``res.start_stock`` to ``plan`` (see the module docstring).

    ``res.steps`` are the search's steps (a step with no rows jumps to the plan);
    about ``points`` of them are kept, evenly by step number.  The plan's units the
    search never made follow one at a time, best gain in ``Σ weights·log A`` per money
    first (when few enough: :data:`FILL_WORK`); the plan is the last point.  ``plan``
    must hold at least ``res.start_stock`` everywhere.
    """
    steps = res.steps
    n = len(steps) + 1  # the start, then the stock after each step
    keep = np.unique(np.linspace(0, n - 1, max(min(points - 1, n), 1)).round().astype(int))
    marks = set(keep.tolist())
    fams = families_of(a)
    family_of = np.zeros(a.n_items, dtype=np.int64)
    for g, fam in enumerate(fams):
        family_of[fam.rows] = g
    reached = res.start_stock.copy()  # the most stock the search has held so far
    chain = res.start_stock.copy()  # the current point: min(reached, plan)
    terms = family_terms(a, fams, [chain[f.rows] for f in fams], method)
    costs = [float(np.sum((chain - a.stock) * a.unit_cost[:, None]))]
    # The search's own stock, and each family's terms there when a step gave them: a
    # family of the chain at the search's stock needs no evaluation.  The others are
    # evaluated together once the chain is known: ``updates`` holds, per point after
    # the first, (family, known terms or None, index into ``pending``).
    held = res.start_stock.copy()
    known: dict[int, FloatArray] = {g: terms[g, f.fleets] for g, f in enumerate(fams)}
    pending: list[tuple[Family, FloatArray]] = []
    updates: list[list[tuple[int, FloatArray | None, int]]] = []
    touched: set[int] = set()

    def flush(new_rows: FloatArray | None = None) -> None:
        """Record a point at ``min(reached, plan)`` for the rows touched (``new_rows``:
        every row at the plan) if any stock changed."""
        if new_rows is None:
            rows = np.array(sorted(touched), dtype=np.int64)
            new = np.minimum(reached[rows], plan[rows])
        else:
            rows = np.arange(a.n_items)
            new = new_rows
        touched.clear()
        moved = rows[np.any(new != chain[rows], axis=1)] if rows.size else rows
        if not moved.size:
            return
        spent = float(np.sum((new - chain[rows]) @ np.ones(a.n_sites) * a.unit_cost[rows]))
        chain[rows] = new
        point: list[tuple[int, FloatArray | None, int]] = []
        changed = np.unique(family_of[moved]).tolist()
        cat = np.concatenate([fams[g].rows for g in changed])
        starts = np.cumsum([0] + [fams[g].rows.size for g in changed[:-1]])
        off = np.logical_or.reduceat(np.any(chain[cat] != held[cat], axis=1), starts)
        for g, differs in zip(changed, off.tolist(), strict=True):
            if g in known and not differs:
                point.append((g, known[g], -1))
            else:
                point.append((g, None, len(pending)))
                pending.append((fams[g], chain[fams[g].rows].copy()))
        updates.append(point)
        costs.append(costs[-1] + spent)

    for k, st in enumerate(steps, start=1):
        if not st.rows:  # the local search's end: the plan itself
            break
        for j, r in enumerate(st.rows):
            held[r] = st.stock[j]
            np.maximum(reached[r], st.stock[j], out=reached[r])
            touched.add(r)
        if st.terms is not None and len(st.rows) == 1:
            known[int(family_of[st.rows[0]])] = st.terms
        else:
            for r in st.rows:
                known.pop(int(family_of[r]), None)
        if k in marks:
            flush()
    log_a = terms.sum(axis=0)
    avs = [np.exp(log_a)]

    def replay() -> None:
        """Evaluate the pending families and the availability of the points recorded
        (log A updated by each family's change; summed afresh at the end)."""
        done = (family_terms(a, [f for f, _ in pending], [b for _, b in pending], method)
                if pending else np.zeros((0, a.fleet_system.size)))
        for point in updates:
            for g, value, n in point:
                log_a[:] -= terms[g]
                if value is None:
                    terms[g] = done[n]
                else:
                    terms[g] = 0.0
                    terms[g, fams[g].fleets] = value
                log_a[:] += terms[g]
            avs.append(np.exp(log_a))
        pending.clear()
        updates.clear()

    flush()
    replay()
    for r, s, new_terms in _fill(a, fams, family_of, chain, plan, weights, method):
        chain[r, s] += 1
        log_a += new_terms - terms[family_of[r]]
        terms[family_of[r]] = new_terms
        costs.append(costs[-1] + float(a.unit_cost[r]))
        avs.append(np.exp(log_a))
    flush(plan.copy())
    replay()
    avs[-1] = np.exp(terms.sum(axis=0))  # the plan: no drift from the updates
    return np.array(costs), np.array(avs)
