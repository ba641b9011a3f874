"""Moving spares already held between sites, weighed against buying new ones
(``sustain optimize --redistribute``).

A *move* takes one unit of item i held at site g (the giver) to site r (the receiver)
at a cost m_igr per unit (:class:`Routes`, from the scenario's ``moves`` or the
defaults).  Its value is the change in the objective it causes at both ends: the gain
of the receiver's fleets less the loss of the giver's (Φ = Σ_f w_f log A_f, the
optimiser's objective: docs/optimize.md), so a unit that serves nobody where it is
(idle stock) loses nothing when it leaves.  Steady state: the transit time is a
one-off delay before the receiver holds the unit; it does not change steady-state
availability, so only the cost of a move counts (the days are reported).

Method (marginal analysis over purchases and moves together; Fox 1966, Sherbrooke
2004 ch. 2 for the purchases alone):

1. :func:`joint_greedy`: one unit at a time, the candidate with the largest gain per
   money among every purchase (one unit of an item at a site) and every move (one
   held unit along a route), until the targets are met (or the budget is spent).
   A family (a top-level item and its sub-items) is re-evaluated only when its own
   stock changed; gains with targets count each fleet only up to its target (the
   greedy of ``plain.py``).  A unit moved is never moved on, a site that gave an
   item neither receives nor buys it, and a giver keeps at least the ``min`` of its
   ``stock_limits``.
2. The moves it made are kept and the purchases are chosen again by the full
   optimiser (multi-echelon curves and, on small cases, the neighbourhood search),
   from the stock after the moves.
3. With targets, moves the plan does not need are dropped (dearest first: returning
   the unit leaves every target met), and the purchases chosen again.

The answer is the best of these plans and the plan without moves (the cheapest that
meets the targets; with a budget alone, the highest Σ weight·N·log A): moves are made
only when they beat buying.  No I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog

from sustain._types import FloatArray, IntArray
from sustain.optimize.refine import refine_plan
from sustain.optimize.state import AllocationState, Deadline, MarginalResult
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario

#: Cost of moving one unit along a route whose cost the scenario does not give, as a
#: share of the item's unit cost.
DEFAULT_MOVE_FRACTION = 0.05
#: Up to this many item-site pairs the joint greedy weighs the purchases of every
#: family beside the moves; above, only the families that have stock to move (the
#: others are bought by the full optimiser in step 2).
JOINT_MAX_PAIRS = 2_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Routes:
    """Where units may move and at what cost: (items × sites × sites) arrays indexed
    ``[item, from, to]``; ``cost`` is money per unit moved (infinite: no route),
    ``days`` the transit time (NaN where no route)."""

    cost: FloatArray
    days: FloatArray

    def any_from(self) -> npt.NDArray[np.bool_]:
        """(items × sites): True where a unit of the item can leave the site."""
        return np.asarray(np.isfinite(self.cost).any(axis=2))


def tree_days(a: ScenarioArrays) -> FloatArray:
    """(sites × sites): days from site g to site r along the support tree, up to their
    nearest common parent and down again, each leg taking the lower site's
    ``order_ship_days`` (a base to its depot: the base's; sibling bases: the sum of
    theirs)."""
    n_s = a.n_sites
    up: list[dict[int, float]] = []  # per site: ancestor (itself included) -> days up to it
    for s in range(n_s):
        path = {s: 0.0}
        days, at = 0.0, s
        while a.site_parent[at] >= 0:
            days += float(a.order_ship_days[at])
            at = int(a.site_parent[at])
            path[at] = days
        up.append(path)
    out = np.full((n_s, n_s), np.inf)
    for g in range(n_s):
        for r in range(n_s):
            common = [up[g][x] + up[r][x] for x in up[g] if x in up[r]]
            if common:
                out[g, r] = min(common)
    return out


def scenario_routes(scenario: Scenario, a: ScenarioArrays) -> Routes:
    """The routes of ``scenario.moves``, or every pair of sites when it has none.

    A route's cost per unit is its ``cost_per_unit``, else its ``cost_fraction`` (else
    :data:`DEFAULT_MOVE_FRACTION`) of the item's unit cost; its transit time is its
    ``days``, else the receiving site's ``order_ship_days`` (0 at a root).  A row that
    names an item overrides a row for every item on the same route.
    """
    n_i, n_s = a.n_items, a.n_sites
    cost = np.full((n_i, n_s, n_s), np.inf)
    days = np.full((n_i, n_s, n_s), np.nan)
    unit = a.unit_cost
    tree = tree_days(a)
    osd = a.order_ship_days
    tree = np.where(np.isinf(tree), np.maximum(osd[:, None], osd[None, :]), tree)
    if not scenario.moves:
        for g in range(n_s):
            for r in range(n_s):
                if g != r:
                    cost[:, g, r] = DEFAULT_MOVE_FRACTION * unit
                    days[:, g, r] = tree[g, r]
        return Routes(cost=cost, days=days)
    site = {x: n for n, x in enumerate(a.site_ids)}
    item = {x: n for n, x in enumerate(a.item_ids)}
    # Rows for every item first, so that rows naming an item override them.
    for m in sorted(scenario.moves, key=lambda m: m.item is not None):
        rows = np.arange(n_i) if m.item is None else np.array([item[m.item]])
        ends = [(site[m.from_site], site[m.to_site])]
        if m.both_ways:
            ends.append((ends[0][1], ends[0][0]))
        for g, r in ends:
            if m.cost_per_unit is not None:
                cost[rows, g, r] = m.cost_per_unit
            else:
                share = DEFAULT_MOVE_FRACTION if m.cost_fraction is None else m.cost_fraction
                cost[rows, g, r] = share * unit[rows]
            days[rows, g, r] = tree[g, r] if m.days is None else m.days
    return Routes(cost=cost, days=days)


@dataclass(frozen=True, slots=True, kw_only=True)
class Moves:
    """Units moved: ``qty[(item, from, to)]`` (compiled indices), whole units > 0."""

    qty: dict[tuple[int, int, int], int]

    def net(self, shape: tuple[int, int]) -> FloatArray:
        """(items × sites): units received less units given."""
        out = np.zeros(shape)
        for (i, g, r), n in self.qty.items():
            out[i, g] -= n
            out[i, r] += n
        return out

    def givers(self, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """(items × sites): True where units of the item leave the site."""
        out = np.zeros(shape, dtype=bool)
        for i, g, _ in self.qty:
            out[i, g] = True
        return out

    def cost(self, routes: Routes) -> float:
        """Money spent on the moves."""
        return math.fsum(n * float(routes.cost[i, g, r]) for (i, g, r), n in self.qty.items())

    def lines(self, a: ScenarioArrays, routes: Routes) -> list[dict[str, object]]:
        """One row per item and route: item, from, to, qty, cost_per_unit, cost, days;
        the dearest first."""
        rows = []
        for (i, g, r), n in self.qty.items():
            c = float(routes.cost[i, g, r])
            rows.append({"item": a.item_ids[i], "from": a.site_ids[g], "to": a.site_ids[r],
                         "qty": int(n), "cost_per_unit": c, "cost": n * c,
                         "days": float(routes.days[i, g, r])})
        return sorted(rows, key=lambda x: (-float(x["cost"]),  # type: ignore[arg-type]
                                           str(x["item"]), str(x["from"]), str(x["to"])))


def transport(
    held: FloatArray, stock: FloatArray, cost: FloatArray, unit_cost: float
) -> tuple[float, list[tuple[int, int, int]]]:
    """The cheapest moves and purchases that raise one item's stock from ``held`` to at
    least ``stock`` (per site): (money, moves as (from, to, units)).

    The transportation problem min Σ m_gr f_gr + c Σ b_r subject to Σ_g f_gr + b_r =
    deficit_r and Σ_r f_gr ≤ surplus_g (``cost`` = m, ``unit_cost`` = c; units below
    ``stock`` where ``held`` is more are free to leave).  When every route is open at
    one cost the answer is closed-form (move as many as both sides allow if a move is
    cheaper than a purchase); otherwise it is solved by HiGHS, whose optimum is
    integral (the constraint matrix is totally unimodular).
    """
    deficit = np.maximum(stock - held, 0.0)
    surplus = np.maximum(held - stock, 0.0)
    need = float(deficit.sum())
    if need == 0:
        return 0.0, []
    givers, takers = np.flatnonzero(surplus > 0), np.flatnonzero(deficit > 0)
    pairs = [(g, r) for g in givers.tolist() for r in takers.tolist()
             if math.isfinite(cost[g, r]) and cost[g, r] < unit_cost]
    if not pairs:
        return unit_cost * need, []
    m = np.array([cost[g, r] for g, r in pairs])
    uniform = len(pairs) == givers.size * takers.size and np.all(m == m[0])
    if uniform or givers.size == 1 or takers.size == 1:
        # Exact by greedy: with one cost any order is optimal; with one giver (or one
        # taker) each unit moved saves c − m_gr, so the largest savings go first.
        flows: list[tuple[int, int, int]] = []
        left, want = surplus.copy(), deficit.copy()
        for p in np.argsort(m, kind="stable").tolist():
            g, r = pairs[p]
            n = int(min(want[r], left[g]))
            if n > 0:
                flows.append((g, r, n))
                left[g] -= n
                want[r] -= n
        moved = sum(n for _, _, n in flows)
        spent = math.fsum(n * float(cost[g, r]) for g, r, n in flows)
        return float(spent + unit_cost * (need - moved)), flows
    n_p, n_t = len(pairs), takers.size
    take = {r: k for k, r in enumerate(takers.tolist())}
    give = {g: k for k, g in enumerate(givers.tolist())}
    a_eq = np.zeros((n_t, n_p + n_t))
    a_ub = np.zeros((givers.size, n_p + n_t))
    for p, (g, r) in enumerate(pairs):
        a_eq[take[r], p] = 1.0
        a_ub[give[g], p] = 1.0
    a_eq[np.arange(n_t), n_p + np.arange(n_t)] = 1.0
    res = linprog(np.concatenate([m, np.full(n_t, unit_cost)]), A_ub=a_ub,
                  b_ub=surplus[givers], A_eq=a_eq, b_eq=deficit[takers], bounds=(0, None),
                  method="highs")
    if res.status != 0:  # (feasible by construction: purchases fill any deficit)
        return unit_cost * need, []
    x = np.rint(res.x[:n_p]).astype(np.int64)
    flows = [(g, r, int(n)) for (g, r), n in zip(pairs, x.tolist(), strict=True) if n > 0]
    moved = sum(n for _, _, n in flows)
    return float(m @ x + unit_cost * (need - moved)), flows


def stock_price(a: ScenarioArrays, routes: Routes) -> Callable[[IntArray, FloatArray], FloatArray]:
    """``price(rows, stocks)``: what each stock (allocations × rows × sites) of the item
    rows costs from the stock held ``a.stock``, moves and purchases together
    (:func:`transport`); cached per row and stock."""
    cache: dict[tuple[int, bytes], float] = {}

    def price(rows: IntArray, stocks: FloatArray) -> FloatArray:
        out = np.zeros(stocks.shape[0])
        for j, r in enumerate(rows.tolist()):
            col = stocks[:, j]
            for n in range(col.shape[0]):
                key = (r, col[n].tobytes())
                c = cache.get(key)
                if c is None:
                    c = transport(a.stock[r], col[n], routes.cost[r], float(a.unit_cost[r]))[0]
                    cache[key] = c
                out[n] += c
        return out

    return price


def settle(a: ScenarioArrays, routes: Routes, stock: FloatArray) -> tuple[Moves, FloatArray]:
    """The moves that reach ``stock`` from the stock held most cheaply (:func:`transport`)
    and the stock they give with the purchases: ``stock`` where it is above the stock
    held, the stock held (less what leaves) elsewhere."""
    qty: dict[tuple[int, int, int], int] = {}
    out = np.maximum(a.stock, stock).astype(np.float64)
    for i in range(a.n_items):
        if np.array_equal(stock[i], a.stock[i]):
            continue
        _, flows = transport(a.stock[i], stock[i], routes.cost[i], float(a.unit_cost[i]))
        for g, r, n in flows:
            qty[(i, g, r)] = n
            out[i, g] -= n
    return Moves(qty=qty), out


def movable(held: FloatArray, min_stock: FloatArray | None) -> FloatArray:
    """Units held that may leave each (item, site): held above the ``min`` of the
    stock limits."""
    floor = np.zeros_like(held) if min_stock is None else min_stock
    return np.maximum(held - floor, 0.0)


@dataclass(slots=True)
class _Candidates:
    """One family's candidate units and the family's fleet terms after each."""

    kinds: list[tuple[int, int, int]]  # (row, from, to); from = -1 for a purchase
    terms: FloatArray  # (candidates × family fleets)
    cost: FloatArray  # per candidate


def joint_greedy(
    a: ScenarioArrays,
    routes: Routes,
    *,
    goals: FloatArray | None,
    budget: float | None,
    weights: FloatArray,
    method: Method,
    lo: FloatArray,
    hi: FloatArray,
    can_give: FloatArray,
    deadline: Deadline | None = None,
) -> tuple[Moves, FloatArray, bool]:
    """Marginal analysis over purchases and moves together, one unit at a time.

    Parameters
    ----------
    goals : FloatArray or None
        Target availability per fleet (NaN: none); stop when all are met.  None: a
        budget run, gains weighted by ``weights``.
    budget : float or None
        Money for purchases and moves together (a budget run).
    weights : FloatArray
        Per fleet: the objective's w_f in a budget run (N_f · weight_f).
    lo, hi : FloatArray
        The starting stock (held, raised to any ``min``) and the most stock per (item,
        site).
    can_give : FloatArray
        Units that may leave each (item, site) (:func:`movable`).

    Returns
    -------
    (moves, stock, met)
        The moves made, the stock reached (moves and purchases) and whether every
        goal was met.
    """
    n_f = a.fleet_system.size
    targeted = goals is not None
    w = np.where(np.isnan(goals), 0.0, 1.0) if goals is not None else weights
    state = AllocationState(a, weights=w, lo=lo, hi=hi, method=method)
    log_a = state.start_log_availability(evaluate_arrays(a.with_stock(lo), method=method))
    goal = (np.full(n_f, -np.inf) if goals is None else
            np.where(np.isnan(goals), -np.inf, np.log(np.where(np.isnan(goals), 1.0, goals))))
    cap = np.where(np.isinf(goal), -1e300, goal)
    left = can_give.copy()  # units that may still leave
    gave = np.zeros_like(lo, dtype=bool)
    took = np.zeros_like(lo, dtype=bool)  # received or bought
    moves: dict[tuple[int, int, int], int] = {}
    spent = 0.0
    from_ok = routes.any_from()
    active = [n for n, f in enumerate(state.families) if f.fleets.size and np.any(w[f.fleets] > 0)]
    if a.n_items * a.n_sites > JOINT_MAX_PAIRS:
        rows = [state.families[n].rows for n in active]
        active = [n for n, r in zip(active, rows, strict=True)
                  if np.any((can_give[r] > 0) & from_ok[r])]
    cache: dict[int, _Candidates | None] = {}

    def candidates(n: int) -> _Candidates | None:
        fam = state.families[n]
        kinds: list[tuple[int, int, int]] = []
        for r in fam.rows.tolist():
            for s in range(a.n_sites):
                if not gave[r, s] and state.stock[r, s] + 1 <= hi[r, s]:
                    kinds.append((r, -1, s))
            for g in np.flatnonzero((left[r] > 0) & ~took[r] & from_ok[r]).tolist():
                for s in np.flatnonzero(np.isfinite(routes.cost[r, g])).tolist():
                    if not gave[r, s] and state.stock[r, s] + 1 <= hi[r, s]:
                        kinds.append((r, g, s))
        if not kinds:
            return None
        pos = {int(r): j for j, r in enumerate(fam.rows.tolist())}
        base = state.stock[fam.rows]
        copies = np.repeat(base[None], len(kinds), axis=0)
        cost = np.empty(len(kinds))
        for c, (r, g, s) in enumerate(kinds):
            copies[c, pos[r], s] += 1
            if g >= 0:
                copies[c, pos[r], g] -= 1
                cost[c] = routes.cost[r, g, s]
            else:
                cost[c] = a.unit_cost[r]
        terms = state.families_eval([(fam, copies)])[0]
        return _Candidates(kinds=kinds, terms=terms, cost=cost)

    while True:
        if targeted and not np.any(goal - log_a > 0):
            break
        if deadline is not None and deadline.expired():
            break
        todo = [n for n in active if n not in cache]
        for n in todo:
            cache[n] = candidates(n)
        best: tuple[float, int, int] | None = None  # (ratio, family, candidate)
        for n in active:
            c = cache[n]
            if c is None:
                continue
            fam = state.families[n]
            cur = state.terms.current[n]
            if targeted:
                la = log_a[fam.fleets]
                cp = cap[fam.fleets]
                gain = (np.minimum(la + c.terms - cur, cp) - np.minimum(la, cp)).sum(axis=1)
            else:
                gain = (c.terms - cur) @ w[fam.fleets]
            ok = gain > 1e-12 * max(1.0, float(np.abs(log_a[fam.fleets] @ w[fam.fleets])))
            if budget is not None:
                ok &= spent + c.cost <= budget * (1 + 1e-12)
            if not np.any(ok):
                continue
            with np.errstate(divide="ignore", over="ignore"):  # free units: first
                ratio = np.where(ok, gain / np.maximum(c.cost, 1e-300), -np.inf)
            k = int(np.argmax(ratio))
            if best is None or ratio[k] > best[0]:
                best = (float(ratio[k]), n, k)
        if best is None:
            break
        _, n, k = best
        c = cache[n]
        assert c is not None
        r, g, s = c.kinds[k]
        state.stock[r, s] += 1
        took[r, s] = True
        if g >= 0:
            state.stock[r, g] -= 1
            left[r, g] -= 1
            gave[r, g] = True
            moves[(r, g, s)] = moves.get((r, g, s), 0) + 1
        spent += float(c.cost[k])
        fam = state.families[n]
        state.terms.assign(n, c.terms[k])
        log_a[fam.fleets] = state.exact_log_a(fam.fleets)
        cache.pop(n)
    met = not targeted or not np.any(goal - log_a > 0)
    return Moves(qty=moves), state.stock.copy(), bool(met)


def unneeded_moves(
    a: ScenarioArrays,
    routes: Routes,
    moves: Moves,
    plan: FloatArray,
    *,
    goals: FloatArray,
    method: Method,
) -> Moves:
    """``moves`` less the units the plan's stock ``plan`` does not need: dearest unit
    first, a unit goes back to its giver when every fleet with a goal still meets it."""
    n_f = a.fleet_system.size
    state = AllocationState(a, weights=np.ones(n_f), lo=plan, hi=plan, method=method)
    log_a = state.start_log_availability(evaluate_arrays(a.with_stock(plan), method=method))
    goal = np.where(np.isnan(goals), -np.inf, np.log(np.where(np.isnan(goals), 1.0, goals)))
    qty = dict(moves.qty)
    order: list[tuple[int, int, int]] = sorted(
        qty, key=lambda k: (-float(routes.cost[k]), k))
    fam_of: IntArray = state.family_of
    for key in order:
        r, g, s = key
        n = int(fam_of[r])
        fam = state.families[n]
        pos = int(np.flatnonzero(fam.rows == r)[0])
        while qty.get(key, 0) > 0:
            trial = state.stock[fam.rows].copy()
            trial[pos, s] -= 1
            trial[pos, g] += 1
            terms = state.families_eval([(fam, trial[None])])[0][0]
            new = log_a.copy()
            new[fam.fleets] += terms - state.terms.current[n]
            if np.any(new < goal - 1e-12):
                break
            state.stock[fam.rows] = trial
            state.terms.assign(n, terms)
            log_a[fam.fleets] = state.exact_log_a(fam.fleets)
            qty[key] -= 1
            if qty[key] == 0:
                del qty[key]
    return Moves(qty=qty)


class Plan(Protocol):
    """What this module reads of an optimiser's plan (``Optimization``)."""

    @property
    def evaluation(self) -> Evaluation:
        """The plan's stock, evaluated."""

    @property
    def purchase_cost(self) -> float:
        """Money spent on purchases."""

    @property
    def stock(self) -> FloatArray:
        """The plan's stock (items × sites)."""


P = TypeVar("P", bound=Plan)


def _objective(opt: Plan, weights: FloatArray) -> float:
    """Σ w_f log A_f of the plan (−inf when a weighted fleet is at 0)."""
    av = np.nan_to_num(opt.evaluation.availability, nan=1.0)
    with np.errstate(divide="ignore"):
        logs = np.where(weights > 0, np.log(np.maximum(av, 0.0)), 0.0)
    return float(np.sum(weights * logs))


def redistribute_plan(
    a: ScenarioArrays,
    routes: Routes,
    solve: Callable[[FloatArray, float | None, npt.NDArray[np.bool_]], P | None],
    *,
    goals: FloatArray | None,
    budget: float | None,
    weights: FloatArray,
    method: Method,
    lo: FloatArray,
    hi: FloatArray,
    min_stock: FloatArray | None,
) -> tuple[P | None, Moves]:
    """The best plan with moves (steps 1–3 of the module docstring) and its moves, or
    (None, no moves) when no plan with moves meets the targets within the budget.

    ``solve(held, budget, givers)`` is the optimiser's plan from the stock ``held`` with
    money ``budget`` for purchases (None: no budget), buying nothing where ``givers``
    is True (a site that gives an item away does not buy it), or None when it cannot
    meet the targets within that money.
    ``goals``: per fleet, NaN where none (None: a budget run, ``weights`` its w_f).
    The caller compares the answer with the plan without moves.
    """
    moves, _, _ = joint_greedy(a, routes, goals=goals, budget=budget, weights=weights,
                               method=method, lo=lo, hi=hi,
                               can_give=movable(a.stock, min_stock))
    best: tuple[P, Moves] | None = None
    tried: set[tuple[tuple[tuple[int, int, int], int], ...]] = set()
    for _ in range(2):
        key = tuple(sorted(moves.qty.items()))
        if not moves.qty or key in tried:
            break
        tried.add(key)
        spend = moves.cost(routes)
        if budget is not None and spend > budget * (1 + 1e-12):
            break
        opt = solve(a.stock + moves.net(a.stock.shape),
                    None if budget is None else max(budget - spend, 0.0),
                    moves.givers(a.stock.shape))
        if opt is None:
            break
        if best is None or better_plan(opt, moves, best, routes, goals, weights):
            best = (opt, moves)
        if goals is None:
            break
        # Step 3: the moves this plan does not need go back; the purchases are chosen again.
        moves = unneeded_moves(a, routes, moves, opt.stock, goals=goals, method=method)
    if best is None:
        return None, Moves(qty={})
    return best


def better_plan(
    opt: Plan, moves: Moves, than: tuple[Plan, Moves], routes: Routes,
    goals: FloatArray | None, weights: FloatArray,
) -> bool:
    """Is ``opt`` with ``moves`` better than ``than``: cheaper with targets, higher
    Σ w log A with a budget alone (cheaper on a tie)?"""
    cost = opt.purchase_cost + moves.cost(routes)
    other = than[0].purchase_cost + than[1].cost(routes)
    if goals is None:
        mine, theirs = _objective(opt, weights), _objective(than[0], weights)
        if mine != theirs:
            return mine > theirs
    return cost < other - 1e-9 * max(1.0, abs(other))


def refine_with_moves(
    a: ScenarioArrays,
    routes: Routes,
    stock: FloatArray,
    *,
    goals: FloatArray,
    method: Method,
    min_stock: FloatArray | None,
    max_stock: FloatArray | None,
    deadline: Deadline,
) -> tuple[Moves, FloatArray] | None:
    """Step 4 (targets, small cases): the exact neighbourhood search of ``refine.py``
    around the plan's ``stock``, each family's stocks priced by moves and purchases
    from the stock held (:func:`stock_price`) and allowed down to the ``min`` of the
    stock limits (units may leave); the cheaper plan's moves and stock
    (:func:`settle`), or None when it finds nothing cheaper."""
    floor = np.zeros_like(a.stock) if min_stock is None else min_stock
    low = a.with_stock(floor)
    ev = evaluate_arrays(a.with_stock(stock), method=method)
    start = MarginalResult(stock=stock.copy(), start_stock=floor, steps=[],
                           start_availability=ev.availability, start_cost=0.0, met=True)
    price = stock_price(a, routes)
    res = refine_plan(low, start, targets=goals, method=method, min_stock=floor,
                      max_stock=max_stock, deadline=deadline, price=price)
    if res is start:
        return None
    return settle(a, routes, res.stock)
