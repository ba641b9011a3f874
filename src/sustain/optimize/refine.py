"""Exact improvement of a target plan over a neighbourhood of it (small cases).

Marginal analysis merges the families' curves on one combined score; with several
fleet targets the problem is a multiple-choice knapsack with one constraint per fleet
(``Σ_n log-factor_nf ≥ log t_f`` for every fleet ``f``, one allocation per family
``n``), on which a greedy may overshoot one fleet or buy at the wrong echelon.  This
phase takes the greedy's plan and solves that knapsack *exactly* over a neighbourhood
of it, then re-centres on the improvement and repeats (a very large-scale
neighbourhood search, Ahuja, Ergun, Orlin & Punnen 2002, *Discrete Appl. Math.* 123).

The neighbourhood of a family (a top-level item and its sub-items) is every integer
stock within ``±NEIGHBOUR_STEP`` of the plan at each of its (row, site) cells, within
the stock limits, changing at most ``K`` cells at once, with ``K`` the largest that
keeps the family under :data:`FAMILY_NEIGHBOURS` allocations; plus "deep" moves that
set at most ``K'`` cells to any level from their minimum (a purchase undone in full),
``K'`` the largest within :data:`DEEP_NEIGHBOURS`.
Each allocation is evaluated by the readiness engine on the family alone (its fleet
factors in Sherbrooke's product formula, as in :mod:`sustain.optimize.family`;
families are independent, so a fleet's log-availability is the sum of its families'
factors).  Per family the allocations are cut to the Pareto set (cost down, every targeted fleet's
factor up).  Up to :data:`ROUND_FAMILIES` families are searched per round (all of
them on small cases): those whose plan is furthest, in Lagrangian terms, from their
best allocation; the others stay at the plan for that round.  The families searched
are combined one by one (dynamic programming over Pareto sets of partial sums, the
multiple-choice knapsack of Sinha & Zoltners 1979, *Oper. Res.* 27(3), with several
constraints), pruning a partial combination when

* it cannot meet some target even with every remaining family at its best, or
* its cost plus every remaining family's cheapest allocation is not below the plan's
  (branch and bound, the plan being the incumbent), or
* its Lagrangian bound is not below the plan's cost: for prices λ ≥ 0 on the fleet
  constraints, any completion meeting the targets costs at least
  ``Σ_rest min_x (c − λ·L) + λ·(need − logs so far)`` (weak duality; Fisher 1981,
  *Mgmt Sci.* 27(1)); λ are the duals of the LP relaxation, solved by HiGHS, or
* another partial combination costs no more and is at least as high on every fleet.

The cheapest combination meeting every target replaces the plan when it is cheaper.
Every step keeps the targets, judged on the same fleet terms as the greedy, so the
plan never gets worse.  It is exact within the neighbourhood only: the result is a
local optimum of a large neighbourhood, not a proof of global optimality.

Size guards keep it off large cases: it runs only up to :data:`REFINE_MAX_PAIRS`
item-site pairs (checked by the caller), and a round gives up (keeping the plan it
has) when the partial combinations kept exceed :data:`FRONT_MAX`, or forming and
cutting them would exceed :data:`ROUND_WORK`.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.optimize import OptimizeWarning, linprog

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.optimize.family import Family
from sustain.optimize.state import (
    AllocationState,
    Deadline,
    MarginalResult,
    Step,
    stock_bounds,
)
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

#: The phase runs when items × sites is at most this (the caller checks).
REFINE_MAX_PAIRS = 400
#: Stock moved per item and site in the neighbourhood: the plan ± this.
NEIGHBOUR_STEP = 2
#: Allocations per family and round near the plan (±NEIGHBOUR_STEP), at most.
FAMILY_NEIGHBOURS = 4096
#: Allocations per family and round in the "deep" moves (a cell down to its minimum).
DEEP_NEIGHBOURS = 1024
#: Partial combinations kept while combining families; beyond, the round gives up.
FRONT_MAX = 20_000
#: Work per round, at most, counted in values handled: point pairs × fleets compared
#: in the Pareto cuts, and partial sums × fleets formed; beyond, the round gives up
#: (keeping the plan).
ROUND_WORK = 2e8
#: Values (partial sums × fleets) formed at once while combining families.
FORM_CHUNK = 1_000_000
#: Families searched per round, at most: those the Lagrangian bound says could save
#: the most; the others stay at the plan for that round.
ROUND_FAMILIES = 6
#: Rounds, each re-centred on the plan improved by the previous one.
ROUNDS = 4
#: Points compared at once in the Pareto cut (memory: chunk × front × fleets booleans).
PARETO_CHUNK = 256


def _k_changes(centre: FloatArray, alts: list[list[float]], limit: int) -> FloatArray:
    """``centre`` with at most K cells set to one of their ``alts``; K the largest that
    keeps the count within ``limit`` (every cell when all combinations fit).

    ``centre`` is flat; returns (allocations × cells), the centre first.
    """
    cells = [j for j in range(centre.size) if alts[j]]
    # count[k] = allocations changing exactly k cells (coefficients of Π (1 + m_j x)).
    count = np.zeros(len(cells) + 1)
    count[0] = 1.0
    for j in cells:
        count[1:] = count[1:] + count[:-1] * len(alts[j])
    k_max = int(np.searchsorted(np.cumsum(count), limit, side="right")) - 1
    out = [centre.copy()]
    for k in range(1, max(k_max, 0) + 1):
        for chosen in itertools.combinations(cells, k):
            for values in itertools.product(*[alts[j] for j in chosen]):
                x = centre.copy()
                x[list(chosen)] = values
                out.append(x)
    return np.array(out)


def _neighbourhood(lo: FloatArray, hi: FloatArray, centre: FloatArray) -> FloatArray:
    """The stocks of a family searched around ``centre`` (its plan).

    The union of (1) every stock within ``±NEIGHBOUR_STEP`` of the centre per cell,
    changing at most K cells, and (2) "deep" moves: at most K' cells set to any level
    from their minimum up to ``NEIGHBOUR_STEP`` above the centre (undoing a purchase
    in full, say of sub-items that a parent unit makes unnecessary); K and K' the
    largest that keep the parts within :data:`FAMILY_NEIGHBOURS` and
    :data:`DEEP_NEIGHBOURS`.  ``lo``, ``hi``,
    ``centre`` are (rows × sites); returns (allocations × rows × sites), the centre
    first, no repeats.
    """
    shape = centre.shape
    c, low, high = centre.ravel(), lo.ravel(), hi.ravel()
    top = np.minimum(high, c + NEIGHBOUR_STEP)
    near = [
        [float(v) for v in range(int(max(low[j], c[j] - NEIGHBOUR_STEP)), int(top[j]) + 1)
         if v != c[j]]
        for j in range(c.size)
    ]
    deep = [
        [float(v) for v in range(int(low[j]), int(top[j]) + 1) if v != c[j]]
        for j in range(c.size)
    ]
    both = np.vstack([_k_changes(c, near, FAMILY_NEIGHBOURS),
                      _k_changes(c, deep, DEEP_NEIGHBOURS)])
    _, first = np.unique(both, axis=0, return_index=True)
    return both[np.sort(first)].reshape(-1, *shape)


def _covers(x: FloatArray, y: FloatArray) -> BoolArray:
    """``[i, j]``: row ``x[i]`` is at least ``y[j]`` on every column (a loop over the
    few columns is much faster than ``np.all`` over a short last axis)."""
    out = x[:, None, 0] >= y[None, :, 0]
    for d in range(1, x.shape[1]):
        out &= x[:, None, d] >= y[None, :, d]
    return out


class _TooBig(Exception):
    """A Pareto cut would exceed its work budget (the round gives up)."""


def _pareto(cost: FloatArray, logs: FloatArray, work: list[float] | None = None) -> IntArray:
    """Indices of the points no other point weakly dominates (cost no more, logs no less).

    Points are taken in cost order, in chunks, each checked against the front kept so
    far and within its chunk; of equal points the first in that order stays.  ``work``
    (one number, decremented) budgets the comparisons of one value with another;
    :class:`_TooBig` is raised before it would go below zero.
    """
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    if logs.shape[1] == 0:
        return np.array([int(np.argmin(cost))], dtype=np.int64)
    order = np.lexsort((-logs.sum(axis=1), cost))
    keep: list[IntArray] = []
    front = np.zeros((0, logs.shape[1]))
    for start in range(0, order.size, PARETO_CHUNK):
        idx = order[start : start + PARETO_CHUNK]
        if work is not None:
            work[0] -= idx.size * (front.shape[0] + idx.size) * logs.shape[1]
            if work[0] < 0:
                raise _TooBig
        lg = logs[idx]
        dominated = np.zeros(idx.size, dtype=bool)
        if front.shape[0]:
            dominated |= _covers(front, lg).any(axis=0)
        dominated |= np.triu(_covers(lg, lg), k=1).any(axis=0)
        keep.append(idx[~dominated])
        front = np.vstack([front, lg[~dominated]])
    return np.concatenate(keep)


def _on_fleets(fam: Family, terms: FloatArray, fleets: IntArray) -> FloatArray:
    """A family's terms (last axis: ``fam.fleets``) spread on ``fleets`` (0 elsewhere)."""
    out = np.zeros((*terms.shape[:-1], fleets.size))
    col = np.searchsorted(fam.fleets, fleets)
    hit = col < fam.fleets.size
    hit[hit] = fam.fleets[col[hit]] == fleets[hit]
    out[..., hit] = terms[..., col[hit]]
    return out


#: ``price(rows, stocks)``: the cost of each stock (allocations × rows × sites) of the
#: item rows ``rows``, when it is not the purchases at unit cost (moves of stock held:
#: :mod:`sustain.optimize.redistribute`).
Price = Callable[[IntArray, FloatArray], FloatArray]


def _family_options(
    opt: AllocationState, fam: Family, fleets: IntArray, work: list[float],
    price: Price | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The family's neighbourhood, Pareto-cut: (stocks, cost change, logs on ``fleets``).

    The cut compares only the family's own targeted fleets (the other columns are 0).
    """
    a = opt.a
    centre = opt.stock[fam.rows]
    stocks = _neighbourhood(opt.lo[fam.rows], opt.hi[fam.rows], centre)
    terms, _ = opt.family_eval(fam, stocks)  # (allocations × fam.fleets)
    logs = _on_fleets(fam, terms, fleets)
    if price is not None:
        cost = price(fam.rows, stocks) - price(fam.rows, centre[None])[0]
    else:
        cost = np.sum((stocks - centre[None]) * a.unit_cost[fam.rows][None, :, None],
                      axis=(1, 2))
    own = np.isin(fleets, fam.fleets)
    keep = _pareto(cost, logs[:, own], work)
    return stocks[keep], cost[keep], logs[keep]


def _dual_prices(
    options: list[tuple[FloatArray, FloatArray, FloatArray]], short: FloatArray
) -> FloatArray:
    """Prices λ ≥ 0 of the fleet constraints from the LP relaxation of the knapsack.

    The relaxation: min Σ c_nx·y_nx subject to Σ_x y_nx = 1 per family,
    Σ L_nx·y_nx ≥ ``short`` per fleet, y ≥ 0 (the linear multiple-choice knapsack,
    Sinha & Zoltners 1979), solved by HiGHS; λ are its duals on the fleet rows.  Any
    λ ≥ 0 gives a valid bound in :func:`_improve_once` (weak duality), so a failed
    solve only returns zeros (no pruning from it).
    """
    cost = np.concatenate([o[1] for o in options])
    logs = np.concatenate([o[2] for o in options])  # (variables × fleets)
    fam = np.repeat(np.arange(len(options)), [o[1].size for o in options])
    c_scale = max(float(np.max(np.abs(cost))), 1e-300)
    r_scale = np.maximum(np.max(np.abs(logs), axis=0), 1e-300)
    a_eq = sparse.csr_matrix((np.ones(fam.size), (fam, np.arange(fam.size))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        res = linprog(
            cost / c_scale, A_ub=-(logs / r_scale).T, b_ub=-short / r_scale, A_eq=a_eq,
            b_eq=np.ones(len(options)), bounds=(0, None), method="highs",
        )
    if res.status != 0 or res.ineqlin is None:
        return np.zeros(short.size)
    lam = -np.asarray(res.ineqlin.marginals, dtype=np.float64) * c_scale / r_scale
    return np.asarray(np.where(np.isfinite(lam), np.maximum(lam, 0.0), 0.0), dtype=np.float64)


def _improve_once(
    opt: AllocationState, targets: FloatArray, log_a: FloatArray, deadline: Deadline | None = None,
    price: Price | None = None,
) -> float | None:
    """One round: the cheapest plan meeting the targets in the neighbourhood, applied.

    Returns the money saved (> 0), or None when nothing cheaper was found or the round
    gave up on size or on ``deadline``.  Updates ``opt.stock``.
    """
    a = opt.a
    fleets = np.flatnonzero(~np.isnan(targets))
    need = np.log(targets[fleets])
    members = [
        n for n, fam in enumerate(opt.families)
        if fam.fleets.size and np.any(np.isin(fam.fleets, fleets))
    ]
    if not members:
        return None
    options = []
    fixed = log_a[fleets].copy()
    current = []
    work = [ROUND_WORK]
    for n in members:
        if _out_of_time(deadline):
            return None
        fam = opt.families[n]
        try:
            options.append(_family_options(opt, fam, fleets, work, price))
        except _TooBig:
            return None  # too many to sort through: keep the plan
        # What the other items (no targeted fleet, or not in any family) contribute.
        current.append(_on_fleets(fam, opt.terms.current[n], fleets))
        fixed -= current[-1]
    # Lagrangian bound: for λ ≥ 0, a completion meeting the targets costs at least
    # Σ_rest min_x (c − λ·L) + λ·(need − logs so far).
    lam = _dual_prices(options, need - fixed)
    relaxed = np.array([float(np.min(o[1] - o[2] @ lam)) for o in options])
    # Families whose plan is furthest from their Lagrangian best (what the bound says
    # they could save) are searched; the others stay at the plan this round.
    room = -np.array([c @ lam for c in current]) - relaxed
    order = np.sort(np.argsort(-room, kind="stable")[:ROUND_FAMILIES])
    for m in np.setdiff1d(np.arange(len(members)), order).tolist():
        fixed += current[m]
    members = [members[m] for m in order.tolist()]
    options = [options[m] for m in order.tolist()]
    # The bound again, for the families searched (the others fixed): tighter.
    lam = _dual_prices(options, need - fixed)
    relaxed = np.array([float(np.min(o[1] - o[2] @ lam)) for o in options])
    best = np.array([o[2].max(axis=0) for o in options])  # (families × fleets)
    cheapest = np.array([o[1].min() for o in options])
    rest_best = best.sum(axis=0)
    rest_cost = float(cheapest.sum())
    rest_relaxed = float(relaxed.sum())
    eps = 1e-9 * max(1.0, float(np.sum(opt.stock * a.unit_cost[:, None])))
    cost = np.zeros(1)
    logs = fixed[None, :].copy()
    pick = np.zeros((1, 0), dtype=np.int64)
    d = fleets.size
    for m, (_, c_n, l_n) in enumerate(options):
        if _out_of_time(deadline):
            return None
        rest_best = rest_best - best[m]
        rest_cost -= float(cheapest[m])
        rest_relaxed -= float(relaxed[m])
        # Every partial combination with every allocation of family m, in chunks; only
        # those that pass the bounds are kept.
        parts: list[tuple[FloatArray, FloatArray, IntArray]] = []
        n_kept = 0
        step = max(1, FORM_CHUNK // (c_n.size * d))
        for s0 in range(0, cost.size, step):
            s1 = min(s0 + step, cost.size)
            work[0] -= (s1 - s0) * c_n.size * d
            if work[0] < 0 or _out_of_time(deadline):
                return None  # too many to form: keep the plan
            cc = (cost[s0:s1, None] + c_n[None, :]).ravel()
            ll = (logs[s0:s1, None, :] + l_n[None, :, :]).reshape(-1, d)
            ok = np.flatnonzero(
                np.all(ll + rest_best[None, :] >= need[None, :], axis=1)
                & (cc + rest_cost < -eps)
                & (cc + rest_relaxed + (need[None, :] - ll) @ lam < -eps)
            )
            if ok.size:
                both = np.column_stack([pick[s0 + ok // c_n.size], ok % c_n.size])
                parts.append((cc[ok], ll[ok], both))
                n_kept += ok.size
                if n_kept > 4 * FRONT_MAX:
                    return None  # too many to sort through: keep the plan
        if not parts:
            return None  # nothing in the neighbourhood is cheaper and meets the targets
        cost = np.concatenate([p[0] for p in parts])
        logs = np.concatenate([p[1] for p in parts])
        pick = np.concatenate([p[2] for p in parts])
        try:
            keep = _pareto(cost, logs, work)
        except _TooBig:
            return None  # too many to sort through: keep the plan
        if keep.size > FRONT_MAX:
            return None
        cost, logs, pick = cost[keep], logs[keep], pick[keep]
    w = int(np.argmin(cost))
    if not cost[w] < -eps:
        return None
    for m, n in enumerate(members):
        fam = opt.families[n]
        opt.stock[fam.rows] = options[m][0][pick[w, m]]
    return float(-cost[w])


def _plan_cost(opt: AllocationState, price: Price | None) -> float:
    """What the search's stock costs: purchases over ``opt.a.stock``, or ``price``."""
    if price is None:
        return float(np.sum((opt.stock - opt.a.stock) * opt.a.unit_cost[:, None]))
    return math.fsum(float(price(f.rows, opt.stock[f.rows][None])[0]) for f in opt.families)


def _out_of_time(deadline: Deadline | None) -> bool:
    """Whether ``deadline`` is spent (reporting progress when it is not)."""
    if deadline is None:
        return False
    if deadline.expired():
        return True
    deadline.tick()
    return False


def refine_plan(
    a: ScenarioArrays,
    res: MarginalResult,
    *,
    targets: FloatArray,
    method: Method,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    deadline: Deadline | None = None,
    price: Price | None = None,
) -> MarginalResult:
    """The plan ``res`` (meeting ``targets``) improved by exact neighbourhood search.

    Runs up to :data:`ROUNDS` rounds of :func:`_improve_once`, each from the plan the
    previous one left, and stops at the first round that finds nothing cheaper.  The
    steps returned keep the greedy's below the new cost and end at the new plan
    (``path.py`` builds the reported curve from them).  Returns ``res`` itself when
    nothing was saved.  Past ``deadline`` the round running gives up (keeping the plan
    of the rounds before it).  ``price``: what a family's stocks cost, when it is not
    their purchases over ``a.stock`` at unit cost (the steps then cost that too).
    """
    if not res.met or not np.any(~np.isnan(targets)):
        return res
    lo, hi = stock_bounds(a, min_stock, max_stock)
    opt = AllocationState(a, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi, method=method)
    opt.stock = res.stock.copy()
    saved = 0.0
    log_a = np.zeros(0)
    cost = _plan_cost(opt, price)
    for k in range(ROUNDS):
        if _out_of_time(deadline):
            break
        if deadline is not None:
            deadline.stage = f"neighbourhood search, round {k + 1}"
            deadline.best_cost = cost - saved
            deadline.tick(force=True)
        ev = evaluate_arrays(a.with_stock(opt.stock), method=method)
        log_a = opt.start_log_availability(ev)
        more = _improve_once(opt, targets, log_a, deadline, price)
        if more is None:
            break
        saved += more
    if saved <= 0:
        return res
    ev = evaluate_arrays(a.with_stock(opt.stock), method=method)
    log_a = opt.start_log_availability(ev)
    cost = _plan_cost(opt, price)
    av = np.exp(log_a)
    if not math.isfinite(cost) or np.any(~np.isnan(targets) & (av < targets - 1e-12)):
        return res  # (a safeguard: the rounds keep every target by construction)
    kept = [st for st in res.steps if st.cost < cost - 1e-9]
    kept.append(
        Step(cost=cost, rows=(), stock=np.zeros((0, a.n_sites)), availability=av)
    )
    return MarginalResult(
        stock=opt.stock, start_stock=res.start_stock, steps=kept,
        start_availability=res.start_availability, start_cost=res.start_cost, met=True,
    )
