"""Sparing over time: the cheapest purchases that keep every fleet at its target on
every reported day (or on average over them).

**Objective.**  Purchases ``X`` (items × sites, never negative: stock is never sold)
at least cost ``Σ c_i X_is``, such that every fleet ``f`` with a target meets it at
every reported day ``t`` of the time-phased model
(:func:`~sustain.readiness.over_time.evaluate_over_time`), or, with ``average``,
such that the mean of its availability over the reported days meets it.

**Lead times.**  A unit ordered on day 0 is on the shelf on day ``L_i`` at the
earliest (the item's ``procurement_days``; ``lead_days`` for an item without one).
Availability never falls when stock is added, so a plan is feasible with some
delivery schedule if and only if it is feasible with every unit on the shelf from
``L_i`` on: the cost problem is over ``X`` alone, judged with that earliest schedule.
A (fleet, day) that even unlimited stock of every item, on the shelf from its lead
time, cannot bring to the target is *unreachable*: it is reported with that best
reachable value and constrains nothing.

**Method.**  Greedy marginal analysis on ``log A`` (Sherbrooke 2004, ch. 2 and 4),
with one constraint per (fleet, day): a unit's gain is the sum of its log-availability
gains over the (fleet, day) pairs still below target (with ``average``: its gain in
the fleets' summed availability, over the fleets still below).  ``log A`` of a fleet
is a sum over families (a top-level item and its sub-items), so the gains of units in
different families add exactly; the units of one family interact.  Each round
evaluates the model once with the current plan and once per *class* of one more unit
— every family's ``p``-th item at every site of depth ``d`` at once (their effects
are disjoint: different families, disjoint subtrees of sites) — and then buys, best
gain per cost first (a lazy heap: gains only fall as pairs meet their targets), at
most one class per family per round.  Rounds repeat until every reachable pair is
met.  A pruning pass then removes units (dearest first) that no pair needs, by the
same class evaluations with one unit fewer.  Starts: the steady optimiser's plan for
the envelope of the timeline (each fleet at its most systems and highest tempo),
completed by the greedy; and on cases up to :data:`TWO_GAINS_CELLS` cells the stock
held (with gains capped at each pair's deficit as well).  Small cases replace the
pruning by an exact exchange search (:func:`_exchange`).  The cheapest plan is kept.

**Need-by.**  Every unit starts on the shelf at its lead time; rounds of class
evaluations with one unit fewer then defer units, dearest first, to the first
reported day on which their absence would leave a reachable pair short
(:func:`_schedule`).  A unit's need-by day is the day it must be on the shelf (never
before its lead time), its order-by day the need-by less its lead time.

Array code per evaluation; the Python loops run over rounds, classes and the units
bought, never over items within an evaluation.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import sparse

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.errors import SustainError
from sustain.optimize.api import fleet_targets, optimize, stock_limits
from sustain.optimize.family import families_of, log_factor
from sustain.readiness.metric import Method, position_shortfall
from sustain.readiness.over_time import OverTime, evaluate_over_time
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario
from sustain.scenario.timeline import tempo_factors, with_delivered_fleets

#: A target counts as met within this much availability (as the steady optimiser).
TOLERANCE = 1e-9
#: Standard deviations of a pipeline above its largest mean that "unlimited" stock covers
#: when the best reachable availability is computed (backorders then below ~1e-30).
BEST_SIGMAS = 12.0
#: Rounds of the greedy, at most (each buys at least one unit).
MAX_ROUNDS = 100_000
#: Up to this many purchasable (item, site) cells the greedy also starts from the stock
#: held (above :data:`SMALL_CELLS` twice: with each gain), besides the envelope's plan;
#: the cheapest plan is kept.
TWO_GAINS_CELLS = 5_000


@dataclass(frozen=True, slots=True, kw_only=True)
class _Problem:
    """What every evaluation of a plan shares."""

    scenario: Scenario
    a: ScenarioArrays
    days: int
    step: int
    method: Method
    exponential: bool
    average: bool
    lead: FloatArray  # (items) days from order to shelf
    lo: FloatArray  # (items × sites) purchases at least (minimum stock)
    cap: FloatArray  # (items × sites) purchases at most (0: not purchasable)
    hours: FloatArray  # (systems × sites × days) hours per system per day (0: no fleet)
    fleet_k: IntArray
    fleet_s: IntArray
    need: FloatArray  # (systems × sites × days) log target less log share up; NaN: none
    by_system: sparse.csr_matrix  # systems × installations
    inst_item: IntArray
    inst_system: IntArray
    inst_qty: FloatArray
    fam_rows: list[IntArray]
    fam_of_inst: IntArray
    inst_of_fam: list[IntArray]
    subtree: list[IntArray]  # sites in the subtree of each site (itself first)
    anc: IntArray  # (depths × sites) ancestor at each depth (-1 above the site)
    shelf_ahead: FloatArray  # (sites) longest order-and-ship time below each site

    def evaluate(self, arrivals: list[tuple[FloatArray, FloatArray]]) -> OverTime:
        return evaluate_over_time(
            self.scenario, days=self.days, step=self.step, method=self.method,
            exponential=self.exponential, arrivals=arrivals,
        )

    def at_lead(self, x: FloatArray) -> list[tuple[FloatArray, FloatArray]]:
        return [(x, np.broadcast_to(self.lead[:, None], x.shape))]

    def terms(self, ot: OverTime) -> FloatArray:
        """(installations × sites × days) unweighted ``Z log(1 − x)`` terms."""
        it = self.inst_item
        x = position_shortfall(
            ot.ebo[it], ot.demand_per_day[it],
            self.a.failures_per_hour[it][:, None, None], self.hours[self.inst_system],
        )
        return np.asarray(self.inst_qty[:, None, None] * log_factor(x), dtype=np.float64)

    def log_a(self, terms: FloatArray) -> FloatArray:
        """(systems × sites × days) log availability of the operating systems."""
        n, s, d = terms.shape
        out = self.by_system @ terms.reshape(n, s * d)
        return np.asarray(out, dtype=np.float64).reshape(-1, s, d)


def _problem(
    scenario: Scenario, target: float | Mapping[str, float], days: int, step: int,
    method: Method, exponential: bool, average: bool, lead_days: float | None,
) -> tuple[_Problem, OverTime]:
    before = evaluate_over_time(scenario, days=days, step=step, method=method,
                                exponential=exponential)
    a = before.arrays
    n_i, n_s, n_r = a.n_items, a.n_sites, before.days.size
    targets = fleet_targets(a, target)
    given = a.procurement_days > 0
    if lead_days is None:
        lead_days = float(a.procurement_days.max(initial=0.0))
    lead = np.where(given, a.procurement_days, float(lead_days))
    lo_lim, hi_lim = stock_limits(scenario, a)
    lo = np.zeros((n_i, n_s)) if lo_lim is None else np.maximum(lo_lim - a.stock, 0.0)
    cap = np.full((n_i, n_s), np.inf) if hi_lim is None else np.maximum(hi_lim - a.stock, 0.0)
    cap = np.maximum(cap, lo)
    demanded = np.any(before.demand_per_day > 0, axis=2)
    cap = np.where(demanded | (lo > 0), cap, 0.0)

    n_k = len(a.system_ids)
    keys = [(a.system_ids[k], a.site_ids[s]) for k, s in zip(
        a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True)]
    tempo = np.array([tempo_factors(scenario.tempo, keys, float(t)) for t in before.days],
                     dtype=np.float64).reshape(n_r, len(keys)).T
    hours = np.zeros((n_k, n_s, n_r))
    hours[a.fleet_system, a.fleet_site] = a.fleet_hours_per_day[:, None] * tempo
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(before.operating < before.present,
                         before.operating / before.present, 1.0)
        need_f = np.log(targets)[:, None] - np.log(share)
    need_f = np.where((before.present > 0) & (targets[:, None] > 0), need_f, np.nan)
    need = np.full((n_k, n_s, n_r), np.nan)
    need[a.fleet_system, a.fleet_site] = need_f

    inst = a.installations
    by_system = sparse.csr_matrix(
        (np.ones(inst.item.size), (inst.system, np.arange(inst.item.size))),
        shape=(n_k, inst.item.size),
    )
    families = families_of(a)
    fam_of_item = np.full(n_i, -1, dtype=np.int64)
    for j, fam in enumerate(families):
        fam_of_item[fam.top] = j
    fam_of_inst = fam_of_item[inst.item]
    inst_of_fam = [np.flatnonzero(fam_of_inst == j) for j in range(len(families))]

    depth = a.site_depth
    n_depth = int(depth.max()) + 1
    anc = np.full((n_depth, n_s), -1, dtype=np.int64)
    for s in range(n_s):
        x = s
        while x >= 0:
            anc[depth[x], s] = x
            x = int(a.site_parent[x])
    subtree = [np.flatnonzero(anc[depth[s]] == s) for s in range(n_s)]
    ahead = np.zeros(n_s)
    for s in range(n_s):  # the longest sum of order-and-ship times from s to a leaf below
        for x in subtree[s].tolist():
            total, y = 0.0, x
            while y != s:
                total += float(a.order_ship_days[y])
                y = int(a.site_parent[y])
            ahead[s] = max(ahead[s], total)
    return _Problem(
        scenario=scenario, a=a, days=days, step=step, method=method, exponential=exponential,
        average=average, lead=lead, lo=lo, cap=cap, hours=hours,
        fleet_k=a.fleet_system.astype(np.int64), fleet_s=a.fleet_site.astype(np.int64),
        need=need, by_system=by_system, inst_item=inst.item.astype(np.int64),
        inst_system=inst.system.astype(np.int64), inst_qty=inst.qty.astype(np.float64),
        fam_rows=[f.rows for f in families], fam_of_inst=fam_of_inst.astype(np.int64),
        inst_of_fam=inst_of_fam, subtree=subtree, anc=anc, shelf_ahead=ahead,
    ), before


# ------------------------------------------------------------------ the constraints


@dataclass(slots=True)
class _Goal:
    """Which (system, site, day) cells must meet their targets, and how far they are."""

    p: _Problem
    on: BoolArray  # (systems × sites × days): constrained
    need: FloatArray  # log target less log share up (0 where off)
    #: Gains capped by what each (fleet, day) still lacks (else: the whole log gain on
    #: every pair below target, as the steady greedy weighs fleets).
    capped: bool = False

    def short(self, log_a: FloatArray) -> BoolArray:
        """Bool (systems × sites × days): constrained cells whose fleet is below target."""
        if self.p.average:
            return self.on & self.fleet_short(log_a)[:, :, None]
        return self.on & (log_a < self.need)

    def fleet_short(self, log_a: FloatArray) -> BoolArray:
        """Bool (systems × sites): with ``average``, fleets whose mean is below target."""
        got, want = self._means(log_a)
        return np.asarray(want > got, dtype=np.bool_)

    def _means(self, log_a: FloatArray) -> tuple[FloatArray, FloatArray]:
        # Σ_t share·A over constrained days against Σ_t target (both × share).
        av = np.where(self.on, np.exp(np.minimum(log_a - self.need, 50.0)), 0.0)
        return av.sum(axis=2), self.on.sum(axis=2).astype(np.float64)

    def deficit(self, log_a: FloatArray) -> FloatArray:
        """What each constrained cell still lacks: per day, ``need − log A`` (logs); with
        ``average``, the fleet's lack of summed availability over its days (relative
        to target), on every day of the fleet."""
        if self.p.average:
            got, want = self._means(log_a)
            return np.where(self.on, np.maximum(want - got, 0.0)[:, :, None], 0.0)
        return np.where(self.on, np.maximum(self.need - log_a, 0.0), 0.0)

    def gain(self, log_a: FloatArray, ks: IntArray, sub: IntArray | None,
             delta: FloatArray) -> FloatArray:
        """The fall in deficit from adding ``delta`` (installations × sites × days; the
        installations' systems ``ks``, the sites ``sub``, or every site when None), per
        (installation, site), each a fleet: summed over a family's entries it is the
        unit's gain; a class (every family's cells at once, their effects disjoint)
        sums them by cell."""
        lack = self.deficit(log_a)
        lack_e = lack[ks] if sub is None else lack[ks[:, None], sub[None, :]]
        if self.p.average:
            av = np.exp(np.minimum(log_a - self.need, 50.0))
            av_e = av[ks] if sub is None else av[ks[:, None], sub[None, :]]
            more = (np.where(lack_e > 0, av_e * np.expm1(delta), 0.0)).sum(axis=-1)
            fell = np.minimum(np.maximum(more, 0.0), lack_e.max(axis=-1))
            return np.asarray(fell, dtype=np.float64)
        if not self.capped:
            return np.asarray(np.where(lack_e > 0, delta, 0.0).sum(axis=-1), dtype=np.float64)
        return np.asarray(np.minimum(np.maximum(delta, 0.0), lack_e).sum(axis=-1),
                          dtype=np.float64)

    def met(self, log_a: FloatArray) -> bool:
        return not bool(np.any(self.short(log_a)))


# ----------------------------------------------------------------------- the greedy


def _classes(p: _Problem) -> list[tuple[int, int]]:
    """(depth, position in family) of every class of units."""
    n_depth = p.anc.shape[0]
    longest = max((r.size for r in p.fam_rows), default=0)
    return [(d, q) for d in range(n_depth) for q in range(longest)]


def _class_cells(p: _Problem, d: int, q: int, ok: FloatArray) -> FloatArray:
    """(items × sites) 1 at the class's cells where ``ok``."""
    out = np.zeros(ok.shape)
    rows = np.array([r[q] for r in p.fam_rows if r.size > q], dtype=np.int64)
    sites = np.flatnonzero(p.a.site_depth == d)
    if rows.size and sites.size:
        out[np.ix_(rows, sites)] = 1.0
    return out * ok


def _row_of(p: _Problem, q: int) -> IntArray:
    """Item row of each family at position ``q`` (-1 where the family is smaller)."""
    return np.array([r[q] if r.size > q else -1 for r in p.fam_rows], dtype=np.int64)


def _attribute(p: _Problem, d: int, values: FloatArray) -> FloatArray:
    """Sum (installations × sites) values into (families × sites of depth d) cells."""
    n_f = len(p.fam_rows)
    out = np.zeros((n_f, p.a.n_sites))
    anc = p.anc[d]
    valid = anc >= 0
    fam = p.fam_of_inst
    np.add.at(out, (fam[:, None], anc[None, valid]), values[:, valid])
    return out


def _greedy(
    p: _Problem, goal: _Goal, x: FloatArray, day: FloatArray, cap: FloatArray,
    sign: int = 1, keep: FloatArray | None = None,
) -> FloatArray:
    """Rounds of class evaluations and picks (module docstring), from ``x`` arriving
    on ``day``: ``sign`` +1 buys while short cells remain (within ``cap``); -1 removes
    units no constrained cell needs (down to ``keep``), dearest first.  Returns the
    new ``x``."""
    x = x.copy()
    cost = p.a.unit_cost
    classes = _classes(p)
    for _ in range(MAX_ROUNDS):
        base = p.evaluate([(x, day)])
        t0 = p.terms(base)
        log_a = p.log_a(t0)
        if sign > 0 and goal.met(log_a):
            return x
        heap: list[tuple[float, int, int, int, int]] = []
        deltas: dict[int, FloatArray] = {}
        for c, (d, q) in enumerate(classes):
            rows = _row_of(p, q)
            if sign > 0:
                ok = (x + 1 <= cap).astype(np.float64)
            else:
                floor = np.zeros_like(x) if keep is None else keep
                ok = (x - 1 >= floor).astype(np.float64)
            cells = _class_cells(p, d, q, ok)
            if not cells.any():
                continue
            ev = p.evaluate([(x, day), (sign * cells, day)])
            delta = p.terms(ev) - t0
            deltas[c] = delta
            fam_sites = np.argwhere(_attribute(p, d, np.ones(delta.shape[:2])) > 0)
            if sign > 0:
                gains = _attribute(p, d, goal.gain(log_a, p.inst_system, None, delta))
            for j, s in fam_sites.tolist():
                r = int(rows[j])
                if r < 0 or cells[r, s] == 0:
                    continue
                if sign > 0:
                    key = -gains[j, s] / max(float(cost[r]), 1e-300)
                    if not gains[j, s] > 0:
                        continue
                else:
                    key = -float(cost[r])
                heap.append((key, c, j, s, r))
        heapq.heapify(heap)
        locked: dict[int, int] = {}
        taken = 0
        while heap:
            key, c, j, s, r = heapq.heappop(heap)
            if j in locked and locked[j] != c:
                continue
            inst = p.inst_of_fam[j]
            sub = p.subtree[s]
            dl = deltas[c][np.ix_(inst, sub)]
            ks = p.inst_system[inst]
            if sign > 0:
                if not bool(goal.short(log_a).any()):
                    break
                g = float(goal.gain(log_a, ks, sub, dl).sum())
                if not g > 0:
                    continue
                fresh = -g / max(float(cost[r]), 1e-300)
                if heap and fresh > heap[0][0] + 1e-15 * abs(fresh):
                    heapq.heappush(heap, (fresh, c, j, s, r))
                    continue
            trial = log_a.copy()
            np.add.at(trial, (ks[:, None], sub[None, :]), dl)
            if sign < 0 and not _still_met(goal, log_a, trial):
                continue
            log_a = trial
            x[r, s] += sign
            locked[j] = c
            taken += 1
        if taken == 0:
            return x
    raise SustainError(f"sparing over time did not settle in {MAX_ROUNDS:,} rounds")


def _still_met(goal: _Goal, before: FloatArray, after: FloatArray) -> bool:
    """Whether ``after`` leaves short no constrained cell that ``before`` met."""
    return not bool(np.any(goal.short(after) & ~goal.short(before)))


# ------------------------------------------------------------ small cases: exchanges


class _Tables:
    """Each family's log-availability terms as a function of its own purchases.

    Families do not interact, so one evaluation with every family at the same levels
    (a ``rows × sites`` array, the same for each family) gives every family's terms at
    those levels; a fleet's log availability is the sum of its families' terms.
    """

    def __init__(self, p: _Problem, day: FloatArray) -> None:
        self.p = p
        self.day = day
        self.width = max((r.size for r in p.fam_rows), default=0)
        self.cache: dict[bytes, FloatArray] = {}
        n_k, n_s = len(p.a.system_ids), p.a.n_sites
        self.shape = (len(p.fam_rows), n_k, n_s)

    def levels(self, x: FloatArray, j: int) -> FloatArray:
        """Family ``j``'s purchases as a (width × sites) array (rows past its size 0)."""
        out = np.zeros((self.width, self.p.a.n_sites))
        rows = self.p.fam_rows[j]
        out[: rows.size] = x[rows]
        return out

    def terms(self, lv: FloatArray) -> FloatArray:
        """(families × systems × sites × days) terms with every family at ``lv``."""
        key = lv.tobytes()
        if key not in self.cache:
            p = self.p
            x = np.zeros((p.a.n_items, p.a.n_sites))
            for rows in p.fam_rows:
                x[rows] = lv[: rows.size]
            t = p.terms(p.evaluate([(x, self.day)]))
            out = np.zeros((*self.shape, t.shape[2]))
            np.add.at(out, (p.fam_of_inst, p.inst_system), t)
            self.cache[key] = out
        return self.cache[key]

    def family(self, x: FloatArray, j: int) -> FloatArray:
        """(systems × sites × days) terms of family ``j`` at its purchases in ``x``."""
        return self.terms(self.levels(x, j))[j]


#: Exchanges are searched when the purchasable (item, site) cells are at most this many.
SMALL_CELLS = 60
#: Improving exchanges made, at most.
MAX_EXCHANGES = 1_000


def _small(p: _Problem) -> bool:
    """Whether the exchange search runs (at most :data:`SMALL_CELLS` purchasable cells)."""
    return int(np.count_nonzero(p.cap > 0)) <= SMALL_CELLS


def _exchange(p: _Problem, goal: _Goal, x: FloatArray, day: FloatArray) -> FloatArray:
    """Cheaper feasible neighbours of ``x`` while there are (small cases): one unit
    fewer; one unit moved to a cheaper cell; one unit for two cheaper ones; two units
    for one cheaper.  Exact (family tables, :class:`_Tables`)."""
    cells: list[tuple[int, int]] = [(int(i), int(s)) for i, s in np.argwhere(p.cap > 0)]
    if not cells:
        return x
    tab = _Tables(p, day)
    fam_of_row = np.full(p.a.n_items, -1, dtype=np.int64)
    for j, rows in enumerate(p.fam_rows):
        fam_of_row[rows] = j
    cost = p.a.unit_cost
    x = x.copy()
    for _ in range(MAX_EXCHANGES):
        log_a = sum((tab.family(x, j) for j in range(len(p.fam_rows))),
                    start=np.zeros(p.need.shape))
        moves: list[tuple[float, list[tuple[int, int]], list[tuple[int, int]]]] = []
        held = [c for c in cells if x[c] > p.lo[c]]
        for n, out in enumerate(held):
            moves.append((float(cost[out[0]]), [out], []))
            for b in cells:
                if b != out and cost[b[0]] < cost[out[0]]:
                    moves.append((float(cost[out[0]] - cost[b[0]]), [out], [b]))
            for m, b in enumerate(cells):
                for c in cells[m:]:
                    if cost[b[0]] + cost[c[0]] < cost[out[0]]:
                        moves.append((float(cost[out[0]] - cost[b[0]] - cost[c[0]]), [out], [b, c]))
            for out2 in held[n:]:
                if out2 == out and x[out] - 1 <= p.lo[out]:
                    continue
                for b in cells:
                    if cost[b[0]] < cost[out[0]] + cost[out2[0]]:
                        moves.append((float(cost[out[0]] + cost[out2[0]] - cost[b[0]]),
                                      [out, out2], [b]))
        moves.sort(key=lambda m: -m[0])
        found = False
        for _saving, outs, ins in moves:
            y = x.copy()
            for c in outs:
                y[c] -= 1
            for c in ins:
                y[c] += 1
            if np.any(y > p.cap) or np.any(y < p.lo):
                continue
            fams = {int(fam_of_row[c[0]]) for c in (*outs, *ins)}
            trial = log_a.copy()
            for j in fams:
                trial += tab.family(y, j) - tab.family(x, j)
            if goal.met(trial):
                x, found = y, True
                break
        if not found:
            better = _add_then_drop(p, goal, tab, x, cells, log_a, fam_of_row)
            if better is None:
                return x
            x = better
    return x


def _add_then_drop(
    p: _Problem, goal: _Goal, tab: _Tables, x: FloatArray, cells: list[tuple[int, int]],
    log_a: FloatArray, fam_of_row: IntArray,
) -> FloatArray | None:
    """One unit more at some cell, then as many units fewer elsewhere as stay feasible
    (dearest first): the first such change that lowers the cost, or None."""
    cost = p.a.unit_cost
    for b in cells:
        if x[b] + 1 > p.cap[b]:
            continue
        y = x.copy()
        y[b] += 1
        cur = log_a + tab.family(y, int(fam_of_row[b[0]])) - tab.family(x, int(fam_of_row[b[0]]))
        saved = -float(cost[b[0]])
        for c in sorted(cells, key=lambda c: -cost[c[0]]):
            if c == b:
                continue
            while y[c] - 1 >= p.lo[c]:
                z = y.copy()
                z[c] -= 1
                j = int(fam_of_row[c[0]])
                trial = cur + tab.family(z, j) - tab.family(y, j)
                if not goal.met(trial):
                    break
                y, cur = z, trial
                saved += float(cost[c[0]])
        if saved > 1e-9 * max(1.0, float(cost[b[0]])):
            return y
    return None


# ------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True, kw_only=True)
class OverTimePlan:
    """Purchases that keep the fleets at their targets over time, and when each is needed.

    Attributes
    ----------
    before, after : OverTime
        Readiness over time with the stock held, and with the purchases on the shelf
        on their need-by days.
    targets : FloatArray
        Per fleet (compiled order of ``before.arrays``), NaN where none.
    average : bool
        Targets judged on the mean over the reported days.
    lead_days : FloatArray
        Days from order to shelf per item.
    lines : list of (item, site, qty, need_by)
        The purchases, by need-by day (compiled indices).
    best : FloatArray
        (fleets × days) availability with unlimited stock of every item, each on the
        shelf from its lead time (NaN with no system present).
    unreachable : BoolArray
        (fleets × days): days where even ``best`` misses the target (with
        ``average``: every day of a fleet whose mean best misses it).
    """

    before: OverTime
    after: OverTime
    targets: FloatArray
    average: bool
    lead_days: FloatArray
    lines: list[tuple[int, int, int, float]]
    best: FloatArray
    unreachable: BoolArray

    @property
    def buy(self) -> FloatArray:
        """Units bought per item and site."""
        a = self.before.arrays
        out = np.zeros((a.n_items, a.n_sites))
        for i, s, q, _ in self.lines:
            out[i, s] += q
        return out

    @property
    def purchase_cost(self) -> float:
        """Money spent on the purchases."""
        return float(np.sum(self.buy * self.before.arrays.unit_cost[:, None]))

    def purchases(self) -> list[dict[str, Any]]:
        """One row per (item, site, need-by day): qty, costs, need_by, order_by."""
        a = self.before.arrays
        return [
            {
                "item": a.item_ids[i], "site": a.site_ids[s], "qty": q,
                "unit_cost": float(a.unit_cost[i]), "cost": float(q * a.unit_cost[i]),
                "need_by": _day(nb), "order_by": _day(nb - self.lead_days[i]),
            }
            for i, s, q, nb in self.lines
        ]

    def shortfalls(self) -> list[dict[str, Any]]:
        """Per fleet left short: the unreachable days and the best value on each."""
        a = self.before.arrays
        days = self.before.days.tolist()
        out = []
        for f in np.flatnonzero(self.unreachable.any(axis=1)).tolist():
            at = np.flatnonzero(self.unreachable[f]).tolist()
            out.append({
                "system": a.system_ids[a.fleet_system[f]], "site": a.site_ids[a.fleet_site[f]],
                "target": float(self.targets[f]), "days": [days[n] for n in at],
                "best": [float(self.best[f, n]) for n in at],
            })
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain optimize --over-time --json`` (docs/optimize.md)."""
        a = self.before.arrays
        days = [int(d) for d in self.before.days.tolist()]
        fleets = []
        for f in range(a.fleet_system.size):
            fleets.append({
                "system": a.system_ids[a.fleet_system[f]], "site": a.site_ids[a.fleet_site[f]],
                "target": None if np.isnan(self.targets[f]) else float(self.targets[f]),
                "before": _series(self.before.availability[f]),
                "after": _series(self.after.availability[f]),
                "count": self.after.present[f].tolist(),
            })
        targets = [
            {"system": x["system"], "site": x["site"], "target": x["target"]}
            for x in fleets if x["target"] is not None
        ]
        return {
            "method": str(self.before.method), "exponential": self.before.exponential,
            "average": self.average, "days": days, "targets": targets,
            "purchases": self.purchases(), "purchase_cost": self.purchase_cost,
            "fleets": fleets, "shortfalls": self.shortfalls(),
        }


def _day(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _series(values: FloatArray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values.tolist()]


def _best(p: _Problem, before: OverTime) -> FloatArray:
    """(systems × sites × days) log availability with "unlimited" purchasable stock."""
    sd = np.sqrt(np.maximum(before.pipeline_var, 0.0))
    big = np.ceil(np.max(before.pipeline_mean + BEST_SIGMAS * sd, axis=2)) + 10.0
    big = np.minimum(big, p.cap)
    return p.log_a(p.terms(p.evaluate(p.at_lead(big))))


def _schedule(
    p: _Problem, goal: _Goal, x: FloatArray, days: IntArray, unreachable: BoolArray
) -> tuple[list[tuple[int, int, int, float]], list[tuple[FloatArray, FloatArray]]]:
    """Need-by days of the units of ``x`` (module docstring), and the arrivals they make.

    Every unit starts on the shelf at its lead time.  Rounds of class evaluations
    with one unit fewer give, for each (item, site), what removing one unit does on
    every day; units are then deferred, dearest first, to the first reported day on
    which their absence would leave a constrained (fleet, day) short (less the longest
    order-and-ship time below their site), charging that absence to the earlier days.
    A unit that raises availability on an unreachable day stays at its lead time.
    Absences of units of different families add exactly; within a family, one class
    per round.
    """
    earliest = np.broadcast_to(p.lead[:, None], x.shape)
    n_r = days.size
    late: list[tuple[int, int, float]] = []  # deferred units: (item, site, on-shelf day)
    if p.average:
        return _lines(x, earliest, late)
    early = x.copy()  # units still on the shelf from their lead time
    pinned = early <= 0
    cost = p.a.unit_cost
    classes = _classes(p)
    for _ in range(MAX_ROUNDS):
        arrivals = _arrivals(early, earliest, late)
        t0 = p.terms(p.evaluate(arrivals))
        slack = np.where(goal.on, p.log_a(t0) - goal.need, np.inf)
        cands: list[tuple[float, int, int, int, int]] = []
        deltas: dict[int, FloatArray] = {}
        for c, (d, q) in enumerate(classes):
            cells = _class_cells(p, d, q, (~pinned & (early >= 1)).astype(np.float64))
            if not cells.any():
                continue
            ev = p.evaluate([*arrivals, (-cells, earliest)])
            deltas[c] = p.terms(ev) - t0
            rows = _row_of(p, q)
            for r, s in np.argwhere(cells > 0).tolist():
                j = int(np.flatnonzero(rows == r)[0])
                cands.append((-float(cost[r]), c, j, s, r))
        if not cands:
            break
        cands.sort()
        locked: dict[int, int] = {}
        moved = 0
        for _key, c, j, s, r in cands:
            if j in locked and locked[j] != c:
                continue
            inst, sub = p.inst_of_fam[j], p.subtree[s]
            ks = p.inst_system[inst]
            dl = np.zeros(slack.shape)
            np.add.at(dl, (ks[:, None], sub[None, :]), deltas[c][np.ix_(inst, sub)])
            if np.any(unreachable & (dl < -MIN_HELP)):
                pinned[r, s] = True
                continue
            short = np.any(slack + dl < 0.0, axis=(0, 1))
            first = int(np.argmax(short)) if short.any() else n_r - 1
            day = max(float(days[first]) - float(p.shelf_ahead[s]), float(p.lead[r]))
            if day <= p.lead[r]:
                pinned[r, s] = True
                continue
            slack[:, :, :first] += dl[:, :, :first]
            early[r, s] -= 1
            pinned[r, s] |= early[r, s] <= 0
            late.append((r, s, day))
            locked[j] = c
            moved += 1
        if moved == 0:
            break
    return _lines(early, earliest, late)


#: A unit "helps" a day when it raises a log availability there by more than this.
MIN_HELP = 1e-12


def _arrivals(early: FloatArray, earliest: FloatArray, late: list[tuple[int, int, float]]
              ) -> list[tuple[FloatArray, FloatArray]]:
    """The arrivals of units on the shelf from their lead time and of deferred units."""
    out = [(early, earliest)]
    by_day: dict[float, FloatArray] = {}
    for r, s, day in late:
        q = by_day.setdefault(day, np.zeros(early.shape))
        q[r, s] += 1
    out += [(q, np.full(early.shape, day)) for day, q in by_day.items()]
    return out


def _lines(early: FloatArray, earliest: FloatArray, late: list[tuple[int, int, float]]
           ) -> tuple[list[tuple[int, int, int, float]], list[tuple[FloatArray, FloatArray]]]:
    arrivals = _arrivals(early, earliest, late)
    lines = [
        (i, s, int(q[i, s]), float(d[i, s]))
        for q, d in arrivals for i, s in np.argwhere(q > 0).tolist()
    ]
    return lines, arrivals


def _check_days(days: object, step: object) -> None:
    for name, v in (("days", days), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise SustainError(f"{name} must be a whole number of days: got {v!r}")


def optimize_over_time(
    scenario: Scenario,
    *,
    target: float | Mapping[str, float],
    days: int = 365,
    step: int = 7,
    method: Method | str = Method.VARI_METRIC,
    average: bool = False,
    exponential: bool = False,
    lead_days: float | None = None,
) -> OverTimePlan:
    """The cheapest purchases keeping every fleet at its target on every reported day.

    Parameters
    ----------
    scenario : Scenario
        Its stock is held already (never sold); its time-phased keys shape demand as
        in :func:`~sustain.readiness.over_time.evaluate_over_time`; its
        ``stock_limits`` bound the stock per item and site.
    target : float or mapping
        As in :func:`sustain.optimize` (a number for every fleet, or per system id /
        ``SYSTEM@SITE``).
    days, step : int
        Horizon D and days between reports K: the days ``0, K, 2K, …, D``.
    method : {"vari-metric", "metric"}
    average : bool
        Targets on each fleet's mean availability over the reported days instead of
        on every day.
    exponential : bool
        Exponential delays of the same means instead of deterministic ones.
    lead_days : float, optional
        Lead time of an item without ``procurement_days``; by default the longest
        ``procurement_days`` of the scenario's items (0 when none has one).

    Returns
    -------
    OverTimePlan
        Unreachable days are reported in it (``unreachable``, ``shortfalls()``), not
        raised.

    Raises
    ------
    sustain.errors.SustainError
        For an option out of range (days, step, method, target, lead_days).
    """
    _check_days(days, step)
    try:
        m = Method(method)
    except ValueError:
        raise SustainError(f"method must be 'vari-metric' or 'metric': got {method!r}") from None
    if m is Method.EXACT:
        raise SustainError("over time the method is vari-metric or metric, not exact")
    if lead_days is not None and not (math.isfinite(lead_days) and lead_days >= 0):
        raise SustainError(f"lead_days must be a number of days >= 0: got {lead_days}")
    p, before = _problem(scenario, target, int(days), int(step), m, bool(exponential),
                         bool(average), lead_days)
    best = _best(p, before)
    present = np.isfinite(p.need)
    per_day = present & (best < p.need + np.log1p(-TOLERANCE))  # no purchase reaches
    if p.average:
        # The mean over every day with systems present; where even unlimited stock
        # cannot lift it to the target, over the days that can each reach it; where
        # that fails too, the fleet constrains nothing.
        on = present.copy()
        need0 = np.nan_to_num(p.need)
        bad = _Goal(p=p, on=on, need=need0).fleet_short(best + TOLERANCE)
        on &= ~(bad[:, :, None] & per_day)
        worse = _Goal(p=p, on=on, need=need0).fleet_short(best + TOLERANCE)
        on &= ~worse[:, :, None]
        unreach_ks = present & ~on
    else:
        unreach_ks = per_day
        on = present & ~unreach_ks
    goal = _Goal(p=p, on=on, need=np.where(on, np.nan_to_num(p.need), 0.0))
    earliest = np.broadcast_to(p.lead[:, None], p.lo.shape)
    cells = int(np.count_nonzero(p.cap > 0))
    plans = []
    # Starts: the steady plan of the timeline's envelope (completed by the greedy);
    # from the stock held, the greedy alone (up to TWO_GAINS_CELLS, or when the
    # envelope has no plan), and with capped gains too above the exchange search.
    envelope = _envelope_plan(p, before, target)
    starts: list[tuple[bool, FloatArray | None]] = [(False, envelope)]
    if cells <= TWO_GAINS_CELLS or envelope is None:
        starts.append((False, p.lo))
    if cells <= TWO_GAINS_CELLS and not _small(p):
        starts.append((True, p.lo))
    for capped, start in starts:
        if start is None:
            continue
        x = _greedy(p, replace(goal, capped=capped), start, earliest, p.cap)
        if _small(p):
            x = _exchange(p, goal, x, earliest)  # its moves include every removal
        else:
            x = _greedy(p, goal, x, earliest, p.cap, sign=-1, keep=p.lo)
        plans.append((float(np.sum(x * p.a.unit_cost[:, None])), capped, x))
    x = min(plans, key=lambda c: c[:2])[2]
    lines, arrivals = _schedule(p, goal, x, before.days, unreach_ks)
    lines.sort(key=lambda r: (r[3], r[0], r[1]))
    after = p.evaluate(arrivals) if arrivals else before
    # A (fleet, day) the search left short (within rounding of what unlimited stock
    # reaches): reported with the others.
    unreach_ks = unreach_ks | goal.short(p.log_a(p.terms(after)) + np.log1p(TOLERANCE))
    k, s = p.fleet_k, p.fleet_s
    best_f = np.where(before.present > 0, np.exp(np.minimum(best[k, s], 0.0)) * _share(before),
                      np.nan)
    return OverTimePlan(
        before=before, after=after, targets=fleet_targets(p.a, target), average=p.average,
        lead_days=p.lead, lines=lines, best=best_f, unreachable=unreach_ks[k, s],
    )


def _envelope_plan(
    p: _Problem, before: OverTime, target: float | Mapping[str, float]
) -> FloatArray | None:
    """The steady optimiser's plan for the envelope of the timeline — each fleet at the
    most systems it ever has (rounded up) and its highest tempo, held for ever —
    within the purchase limits; None when the steady optimiser finds none.  A start
    for the greedy, which then completes and prunes it."""
    a = p.a
    sc = with_delivered_fleets(p.scenario)
    peak = np.ceil(np.nan_to_num(before.present).max(axis=1) - 1e-9)
    hours = p.hours[p.fleet_k, p.fleet_s].max(axis=1)
    of = {(a.system_ids[k], a.site_ids[s]): f for f, (k, s) in enumerate(
        zip(p.fleet_k.tolist(), p.fleet_s.tolist(), strict=True))}
    fleets = []
    for fl in sc.fleets:
        f = of[(fl.system, fl.site)]
        fleets.append(replace(fl, count=int(peak[f]),
                              hours_per_day=float(hours[f]) or fl.hours_per_day))
    # Over time the model has no lateral resupply: nor has the start it is given.
    env = replace(sc, fleets=tuple(fleets), deliveries=(), tempo=(), attrition=(),
                  battle_damage=(), laterals=())
    try:
        opt = optimize(env, target=target, method=p.method, refine_seconds=0.0)
    except SustainError:
        return None
    b = opt.evaluation.arrays
    x = np.zeros_like(p.lo)
    rows = [a.item_ids.index(i) for i in b.item_ids]
    cols = [a.site_ids.index(s) for s in b.site_ids]
    x[np.ix_(rows, cols)] = opt.buy
    return np.minimum(np.maximum(x, p.lo), p.cap)


def _share(ot: OverTime) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ot.operating < ot.present, ot.operating / ot.present, 1.0)
