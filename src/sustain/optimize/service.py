"""Sparing for mixed service targets: availability, fill rate and mean waiting time.

Targets (any combination, in one run): availability per fleet (as
:func:`sustain.optimize.api.optimize`), fill rate per fleet or per site, and mean
waiting time per fleet or per site (the measures of :mod:`sustain.readiness.service`).

**Method: marginal analysis on a combined shortfall.**  Each constraint ``c`` has a
shortfall ``g_c ≥ 0`` that is 0 exactly when it is met, relative to its target so that
the three measures are on one scale::

    availability A, target t:   g = max(0, log t − log A)
    fill rate F, target t:      g = max(0, 1 − F / t)
    mean wait W, target t days: g = max(0, log(W / t))

Every unit (an item at a site) is scored by the fall in ``Σ_c g_c`` per money it brings
and the best is bought, until every ``g_c`` is 0: marginal analysis (Fox 1966;
Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed., ch. 2) on the sum
of the constraints' shortfalls, a common heuristic for several service constraints
(Lagrangian treatments of fill-rate constraints: Muckstadt 2005, *Analysis and
Algorithms for Service Parts Supply Chains*).  Once a constraint
is met it no longer pulls, so money goes where targets are still short.  A clean-up
pass then removes units, dearest first, that no target needs any longer, and
improvement passes change one or two families' stock at a few cells, or swap units for
a cheaper block of another family, while every target stays met (within the
processor-time budget ``deadline``).

All the measures are sums over items of terms that depend only on the item's own
family (a top-level item and its sub-items): log availability is Σ of Sherbrooke's
log factors; fill rate and wait are demand-weighted sums with fixed denominators (the
demand does not depend on stock).  So a unit's effect on every measure is computed
by re-evaluating its family alone, and those effects add exactly across families.

**Fill rate is not convex in stock.**  ``F(s + 1) − F(s) = P(X = s)`` rises up to the
mode of the pipeline ``X`` and falls after it, so at low stock the first unit of an
item can look worse than the units after it, and a one-unit greedy would pass the item
over.  Each candidate is therefore a block of ``k = 1 … K`` units at one item and site,
scored by the best ratio over ``k`` (the slope to the first vertex of the upper concave
hull of its gains, as marginal analysis does on non-convex returns: Fox 1966), with
``K`` reaching past the pipeline's mean plus one standard deviation
(:data:`LOOKAHEAD_SD`, at most :data:`MAX_LOOKAHEAD` units).  Availability and wait
(through EBO, convex in stock at a single site) need only ``k = 1``, which the block
includes.  Limits: depot stock changes every base below it, and the combined
shortfall is a heuristic score, so the plan is not proven optimal; measured against
brute force in ``tests/optimize/test_service_targets.py``.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.errors import SustainError
from sustain.optimize.curves import level_caps
from sustain.optimize.family import Family, families_of, log_factor
from sustain.optimize.state import Deadline, Progress
from sustain.readiness.metric import Flows, Method, demand_flows, pipelines
from sustain.readiness.service import fleet_item_weights
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.messages import did_you_mean

#: A block of units at one item and site reaches this many standard deviations of the
#: pipeline past its mean (fill rate's gains peak near the mode).
LOOKAHEAD_SD = 1.0
#: The largest block of units considered at one item and site in one step.
MAX_LOOKAHEAD = 32
#: Shortfalls at most this are met (measures are compared with their targets after an
#: independent evaluation with a tolerance of 1e-9).
MET = 0.0
#: Up to this many item-site pairs, the improvement passes run after the clean-up.
EXCHANGE_MAX_PAIRS = 400
#: Neighbours of a family's stock evaluated per family and round (family moves).
NEIGHBOURS = 3_000
#: Pairs of families are tried together when (cheaper neighbours) × (neighbours) ×
#: quantities stays within this.
PAIR_WORK = 20_000_000
#: Rounds of improvement (each a family move or a swap, then the clean-up) at most.
IMPROVE_ROUNDS = 50
#: Steps between two progress reports.
PROGRESS_EVERY = 25


class Measure(StrEnum):
    """A service measure a target is set on."""

    AVAILABILITY = "availability"
    FILL_RATE = "fill_rate"
    MEAN_WAIT = "mean_wait_days"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceTargets:
    """Targets on every measure, NaN where none: per fleet (compiled order) and per site."""

    availability: FloatArray
    fleet_fill: FloatArray
    fleet_wait: FloatArray
    site_fill: FloatArray
    site_wait: FloatArray

    def vector(self) -> FloatArray:
        """Targets in the order of :class:`Quantities`."""
        return np.concatenate([self.availability, self.fleet_fill, self.fleet_wait,
                               self.site_fill, self.site_wait])

    def any_service(self) -> bool:
        """Whether some fill-rate or waiting-time target is set."""
        return bool(np.any(~np.isnan(np.concatenate([
            self.fleet_fill, self.fleet_wait, self.site_fill, self.site_wait]))))

    def to_list(self, a: ScenarioArrays) -> list[dict[str, object]]:
        """The ``service_targets`` of the JSON document: measure, system (None for a
        site), site, target."""
        out: list[dict[str, object]] = []
        for measure, per_fleet, per_site in (
            (Measure.AVAILABILITY, self.availability, None),
            (Measure.FILL_RATE, self.fleet_fill, self.site_fill),
            (Measure.MEAN_WAIT, self.fleet_wait, self.site_wait),
        ):
            for f in np.flatnonzero(~np.isnan(per_fleet)).tolist():
                out.append({"measure": str(measure),
                            "system": a.system_ids[a.fleet_system[f]],
                            "site": a.site_ids[a.fleet_site[f]],
                            "target": float(per_fleet[f])})
            if per_site is not None:
                for s in np.flatnonzero(~np.isnan(per_site)).tolist():
                    out.append({"measure": str(measure), "system": None,
                                "site": a.site_ids[s], "target": float(per_site[s])})
        return out


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SustainError(f"{what}: must be a number: got {value!r}")
    return float(value)


def _check_value(measure: Measure, key: str, value: object) -> float:
    what = f"{'fill_rate' if measure is Measure.FILL_RATE else 'max_wait'} for {key}"
    x = _number(value, what)
    if measure is Measure.FILL_RATE and not (0 < x < 1):
        raise SustainError(f"{what}: must be above 0 and below 1 (a fill rate of 1 needs "
                           f"unlimited stock): got {value}")
    if measure is Measure.MEAN_WAIT and not (math.isfinite(x) and x > 0):
        raise SustainError(f"{what}: must be a number of days above 0 (a wait of 0 needs "
                           f"unlimited stock): got {value}")
    return x


def scoped_targets(
    a: ScenarioArrays, measure: Measure, given: float | Mapping[str, float] | None,
    site_demand: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(per fleet, per site) targets on ``measure`` from a number or a mapping.

    Keys: ``SYSTEM`` (its fleets with demand), ``SYSTEM@SITE`` (one fleet), ``SITE`` (the
    site, over every request on its stock; a name that is both a system and a site means
    the system) or ``*``.  A number, or ``*``, means every site with
    demand for a fill rate and every fleet for a wait (those not named otherwise).
    """
    n_f = a.fleet_system.size
    fleet, site = np.full(n_f, np.nan), np.full(a.n_sites, np.nan)
    if given is None:
        return fleet, site
    option = "fill_rate" if measure is Measure.FILL_RATE else "max_wait"
    if not isinstance(given, Mapping):
        given = {"*": given}
    if not given:
        raise SustainError(f"{option}: no fleet or site given")
    systems = [a.system_ids[k] for k in a.fleet_system]
    sites = [a.site_ids[s] for s in a.fleet_site]
    per_system = np.asarray(fleet_item_weights(a).sum(axis=1)).ravel()
    fleet_demand = np.where(a.fleet_count > 0, per_system[a.fleet_system], 0.0)
    star: float | None = None
    for key, value in given.items():
        if not isinstance(key, str):
            raise SustainError(f"{option} {key!r}: a fleet or site is named by a string")
        x = _check_value(measure, key, value)
        if key == "*":
            star = x
            continue
        sys_id, at, at_site = key.partition("@")
        hits = [f for f in range(n_f)
                if systems[f] == sys_id and (not at or sites[f] == at_site)]
        if hits:
            served = [f for f in hits if fleet_demand[f] > 0]
            if not served:
                raise SustainError(f"{option} {key}: no demand from fleet {key} (no systems, "
                                   "or no item with an mtbf_hours installed)")
            fleet[served] = x
        elif not at and key in a.site_ids:
            s = a.site_ids.index(key)
            if site_demand[s] <= 0:
                raise SustainError(f"{option} {key}: no demand reaches site {key}")
            site[s] = x
        else:
            known = sorted({*systems, *(f"{k}@{s}" for k, s in zip(systems, sites, strict=True)),
                            *a.site_ids})
            raise SustainError(f"{option} {key}: no such fleet or site{did_you_mean(key, known)}")
    if star is not None:
        if measure is Measure.FILL_RATE:
            site[np.isnan(site) & (site_demand > 0)] = star
        else:
            fleet[np.isnan(fleet) & (fleet_demand > 0)] = star
    return fleet, site


def service_targets(
    a: ScenarioArrays, availability: FloatArray,
    fill_rate: float | Mapping[str, float] | None,
    max_wait: float | Mapping[str, float] | None,
) -> ServiceTargets:
    """Every target of a run: ``availability`` per fleet (NaN: none) and the fill-rate
    and waiting-time targets (:func:`scoped_targets`)."""
    demand = demand_flows(a).demand.sum(axis=0)
    ff, sf = scoped_targets(a, Measure.FILL_RATE, fill_rate, demand)
    fw, sw = scoped_targets(a, Measure.MEAN_WAIT, max_wait, demand)
    return ServiceTargets(availability=availability, fleet_fill=ff, fleet_wait=fw,
                          site_fill=sf, site_wait=sw)


class Quantities:
    """The measures tracked, as one vector: log availability, fill rate and mean wait of
    every fleet, then fill rate and mean wait of every site.

    Each is a sum over families of the family's contribution (:meth:`contrib`)."""

    def __init__(self, a: ScenarioArrays, flows: Flows) -> None:
        self.a, self.flows = a, flows
        n_f, n_s = a.fleet_system.size, a.n_sites
        self.n_f, self.n_s = n_f, n_s
        self.size = 3 * n_f + 2 * n_s
        w = fleet_item_weights(a).tocsc()
        self.w = w
        den = np.asarray(w.sum(axis=1)).ravel()[a.fleet_system]
        manned = a.fleet_count > 0
        self.fleet_den = np.where(manned & (den > 0), den, np.inf)  # 1/inf: no demand
        total = flows.demand.sum(axis=0)
        self.site_den = np.where(total > 0, total, np.inf)
        self.manned = manned
        self.kind = np.concatenate([np.zeros(n_f), np.ones(n_f), np.full(n_f, 2.0),
                                    np.ones(n_s), np.full(n_s, 2.0)]).astype(np.int64)

    def contrib(self, fam: Family, ebo: FloatArray, fill: FloatArray) -> FloatArray:
        """(copies × quantities): the family's part of every quantity, for each copy of
        its stock (``ebo``, ``fill``: copies × family rows × sites)."""
        a, n_f = self.a, self.n_f
        top = fam.top
        out = np.zeros((ebo.shape[0], self.size))
        k, s = a.fleet_system, a.fleet_site
        m = self.flows.demand[fam.rows]  # family rows × sites
        wk = np.asarray(self.w[:, top].todense()).ravel()[k]  # Z_ik λ_i per fleet
        fleets = np.flatnonzero((wk > 0) & self.manned)
        if fleets.size:
            e_top = ebo[:, 0, s[fleets]]
            m_top = m[0, s[fleets]]
            per_hour = np.divide(e_top, m_top, out=np.zeros_like(e_top), where=m_top > 0)
            z = a.qty_per_system[top, k[fleets]]
            x = per_hour * a.failures_per_hour[top] * a.fleet_hours_per_day[fleets]
            out[:, fleets] = z * log_factor(x)
            out[:, n_f + fleets] = wk[fleets] * fill[:, 0, s[fleets]] / self.fleet_den[fleets]
            out[:, 2 * n_f + fleets] = wk[fleets] * per_hour / self.fleet_den[fleets]
        base = 3 * n_f
        out[:, base : base + self.n_s] = np.einsum("crs,rs->cs", fill, m) / self.site_den
        out[:, base + self.n_s :] = ebo.sum(axis=1) / self.site_den
        return out

    def shortfall(self, values: FloatArray, targets: FloatArray) -> FloatArray:
        """Per quantity (broadcast over leading axes): the relative shortfall, 0 where met
        or without a target."""
        kind = self.kind
        has = ~np.isnan(targets)
        t = np.where(has, targets, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(kind == 0, np.log(t) - values,
                         np.where(kind == 1, 1.0 - values / t,
                                  np.log(np.maximum(values, 1e-300) / t)))
        return np.where(has & (g > 0), g, 0.0)


@dataclass(slots=True)
class _Fam:
    """A family's candidate blocks and their quantities, at its current stock."""

    cells: list[tuple[int, int, int]] = field(default_factory=list)  # (row, site, units)
    values: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # cands × quantities
    cost: FloatArray = field(default_factory=lambda: np.zeros(0))
    current: FloatArray = field(default_factory=lambda: np.zeros(0))  # quantities now
    mean: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))  # rows × sites
    version: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ServicePlan:
    """What :func:`service_allocation` found.

    ``shortfalls`` names the targets the stock limits keep out of reach (empty when
    the plan meets every target); ``curve_cost`` and ``curve_values`` are the plan's
    nested points (cost and every quantity, :class:`Quantities` order)."""

    stock: FloatArray
    start_stock: FloatArray
    met: bool
    shortfalls: list[str]
    curve_cost: FloatArray
    curve_values: FloatArray


class _Search:
    """The stock being built, every family's current quantities and the evaluator."""

    def __init__(self, a: ScenarioArrays, targets: FloatArray, method: Method,
                 lo: FloatArray, hi: FloatArray) -> None:
        self.a, self.method, self.lo, self.hi = a, method, lo, hi
        self.flows = demand_flows(a)
        self.q = Quantities(a, self.flows)
        self.targets = targets
        self.stock = lo.copy()
        self.fams = families_of(a)
        start = pipelines(a.with_stock(lo), self.flows, method)
        self.cap = level_caps(start.mean, start.var, lo, hi)
        self.state = [_Fam() for _ in self.fams]

    def evaluate(self, fam: Family, stocks: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(quantities per copy, pipeline means of copy 0) of ``stocks`` (copies ×
        family rows × sites)."""
        n_copies, n_rows = stocks.shape[0], fam.rows.size
        rows = np.tile(fam.rows, n_copies)
        sub = self.a.subset(rows, stock=stocks.reshape(n_copies * n_rows, -1))
        pipes = pipelines(sub, demand_flows(sub), self.method)
        shape = (n_copies, n_rows, self.a.n_sites)
        ebo, fill = pipes.ebo.reshape(shape), pipes.fill_rate.reshape(shape)
        return self.q.contrib(fam, ebo, fill), pipes.mean.reshape(shape)[0]

    def refresh(self, n: int) -> None:
        """Family ``n``'s quantities now and for every candidate block."""
        fam, st = self.fams[n], self.state[n]
        base = self.stock[fam.rows]
        now, mean = self.evaluate(fam, base[None])
        st.current, st.mean = now[0], mean
        cells: list[tuple[int, int, int]] = []
        for j, r in enumerate(fam.rows.tolist()):
            for s in range(self.a.n_sites):
                room = self.cap[r, s] - base[j, s]
                if room < 1 or self.flows.demand[r, s] <= 0:
                    continue
                reach = math.ceil(mean[j, s] + LOOKAHEAD_SD * math.sqrt(mean[j, s]) - base[j, s])
                top = int(min(room, MAX_LOOKAHEAD, max(1, reach)))
                cells.extend((j, s, k) for k in range(1, top + 1))
        st.cells = cells
        st.version += 1
        if not cells:
            st.values, st.cost = np.zeros((0, self.q.size)), np.zeros(0)
            return
        copies = np.repeat(base[None], len(cells), axis=0)
        for c, (j, s, k) in enumerate(cells):
            copies[c, j, s] += k
        st.values, _ = self.evaluate(fam, copies)
        unit = self.a.unit_cost[fam.rows]
        st.cost = np.array([unit[j] * k for j, _, k in cells])

    def best(self, n: int, values: FloatArray) -> tuple[float, int]:
        """(gain per money, candidate) of family ``n``'s best block against ``values``."""
        st = self.state[n]
        if not st.cells:
            return 0.0, -1
        now = self.q.shortfall(values, self.targets).sum()
        after = self.q.shortfall(values + st.values - st.current, self.targets).sum(axis=1)
        gain = now - after
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(gain > 1e-15 * max(now, 1.0), gain / np.maximum(st.cost, 1e-300),
                             -np.inf)
        c = int(np.argmax(ratio))
        return float(ratio[c]), c

    def values(self) -> FloatArray:
        """Every quantity, summed over the families' current parts."""
        return np.sum([st.current for st in self.state], axis=0)


def service_allocation(
    a: ScenarioArrays, targets: ServiceTargets, *, method: Method, lo: FloatArray,
    hi: FloatArray, progress: Progress | None = None, deadline: Deadline | None = None,
    start: FloatArray | None = None,
) -> ServicePlan:
    """The cheapest stock found meeting every target of ``targets`` (module docstring).

    ``start`` (at least ``lo``, at most ``hi``): the greedy begins from this stock
    instead of ``lo`` (its units come first in the curve); the clean-up and the
    improvement passes may still take any unit above ``lo`` away."""
    tv = targets.vector()
    search = _Search(a, tv, method, lo, hi)
    path: list[tuple[int, int, float]] = []  # (row, site, new level) per unit step
    if start is not None:
        search.stock = np.minimum(np.maximum(start, lo), hi)
        search.cap = np.maximum(search.cap, search.stock)
        for r, s in zip(*np.nonzero(search.stock > lo), strict=True):
            path.append((int(r), int(s), float(search.stock[r, s])))
    for n in range(len(search.fams)):
        search.refresh(n)
    values = search.values()
    q = search.q
    heap: list[tuple[float, int, int]] = []
    for n in range(len(search.fams)):
        ratio, _ = search.best(n, values)
        if ratio > -np.inf and ratio > 0:
            heap.append((-ratio, n, search.state[n].version))
    heapq.heapify(heap)
    cost = float(np.sum((search.stock - lo) * a.unit_cost[:, None]))
    steps = 0
    while heap and q.shortfall(values, tv).max(initial=0.0) > MET:
        _, n, version = heapq.heappop(heap)
        st = search.state[n]
        if version != st.version:
            continue
        ratio, c = search.best(n, values)
        if c < 0 or not ratio > 0:
            continue
        if heap and ratio < -heap[0][0]:
            heapq.heappush(heap, (-ratio, n, st.version))
            continue
        j, s, k = st.cells[c]
        r = int(search.fams[n].rows[j])
        values = values + st.values[c] - st.current
        for _ in range(k):
            search.stock[r, s] += 1
            cost += float(a.unit_cost[r])
            path.append((r, s, float(search.stock[r, s])))
        search.refresh(n)
        ratio, c = search.best(n, values)
        if c >= 0 and ratio > 0:
            heapq.heappush(heap, (-ratio, n, search.state[n].version))
        steps += 1
        if progress is not None and steps % PROGRESS_EVERY == 0:
            progress(steps, cost, float(q.shortfall(values, tv).max(initial=0.0)))
    values = search.values()
    met = bool(q.shortfall(values, tv).max(initial=0.0) <= MET)
    if met:
        if deadline is not None:
            deadline.restart()
            deadline.stage = "improving the plan"
        _clean_up(search)
        if a.n_items * a.n_sites <= EXCHANGE_MAX_PAIRS:
            _improve(search, deadline)
    shortfalls = [] if met else _shortfall_text(a, q, search.values(), tv)
    costs, curve = _curve(search, path)
    return ServicePlan(stock=search.stock, start_stock=lo, met=met, shortfalls=shortfalls,
                       curve_cost=costs, curve_values=curve)


def _removals(search: _Search, n: int) -> tuple[list[tuple[int, int]], FloatArray]:
    """Family ``n``'s units that could go (above ``lo``) and its quantities without each."""
    fam = search.fams[n]
    base = search.stock[fam.rows]
    cells = [(j, s) for j, r in enumerate(fam.rows.tolist()) for s in range(search.a.n_sites)
             if base[j, s] > search.lo[r, s]]
    if not cells:
        return cells, np.zeros((0, search.q.size))
    copies = np.repeat(base[None], len(cells), axis=0)
    for c, (j, s) in enumerate(cells):
        copies[c, j, s] -= 1
    values, _ = search.evaluate(fam, copies)
    return cells, values


def _clean_up(search: _Search) -> None:
    """Remove units, dearest first, that no target needs (one at a time until none)."""
    q, tv = search.q, search.targets
    options = {n: _removals(search, n) for n in range(len(search.fams))}
    while True:
        values = search.values()
        best: tuple[float, int, int] | None = None
        for n, (cells, vals) in options.items():
            if not cells:
                continue
            ok = q.shortfall(values + vals - search.state[n].current, tv).max(axis=1) <= MET
            unit = search.a.unit_cost[search.fams[n].rows]
            for c in np.flatnonzero(ok).tolist():
                price = float(unit[cells[c][0]])
                if best is None or price > best[0]:
                    best = (price, n, c)
        if best is None:
            return
        _, n, c = best
        j, s = options[n][0][c]
        search.stock[search.fams[n].rows[j], s] -= 1
        search.refresh(n)
        options[n] = _removals(search, n)


@dataclass(slots=True)
class _Neighbours:
    """A family's neighbouring stocks, their quantities and cost changes."""

    version: int
    stocks: FloatArray  # (neighbours × family rows × sites)
    values: FloatArray  # (neighbours × quantities)
    dcost: FloatArray  # (neighbours,)


def _neighbour_stocks(search: _Search, n: int) -> FloatArray:
    """Family ``n``'s neighbours: its stock changed at one or two cells by −2..+2, or at
    three cells by ±1, within ``[lo, cap]`` (at most :data:`NEIGHBOURS`; three-cell,
    then two-cell changes are dropped first)."""
    fam = search.fams[n]
    rows = fam.rows.tolist()
    base = search.stock[fam.rows]
    cells = [(j, s) for j, r in enumerate(rows) for s in range(search.a.n_sites)
             if search.flows.demand[r, s] > 0 or base[j, s] > search.lo[r, s]]
    out: list[FloatArray] = []
    for size, steps in ((1, (-2, -1, 1, 2)), (2, (-2, -1, 1, 2)), (3, (-1, 1))):
        combos = list(itertools.combinations(cells, size))
        if len(out) + len(combos) * len(steps) ** size > NEIGHBOURS:
            break
        for combo in combos:
            for delta in itertools.product(steps, repeat=size):
                new = base.copy()
                good = True
                for (j, s), d in zip(combo, delta, strict=True):
                    new[j, s] += d
                    good &= bool(search.lo[rows[j], s] <= new[j, s] <= search.cap[rows[j], s])
                if good:
                    out.append(new)
    return np.array(out).reshape(-1, len(rows), search.a.n_sites)


def _neighbours(search: _Search, n: int, cache: dict[int, _Neighbours]) -> _Neighbours:
    """:func:`_neighbour_stocks` of family ``n``, evaluated (cached per family version)."""
    st = search.state[n]
    hit = cache.get(n)
    if hit is not None and hit.version == st.version:
        return hit
    fam = search.fams[n]
    stocks = _neighbour_stocks(search, n)
    if stocks.shape[0]:
        values, _ = search.evaluate(fam, stocks)
    else:
        values = np.zeros((0, search.q.size))
    unit = search.a.unit_cost[fam.rows]
    dcost = np.einsum("crs,r->c", stocks - search.stock[fam.rows][None], unit)
    cache[n] = _Neighbours(st.version, stocks, values - st.current, dcost)
    return cache[n]


def _family_moves(search: _Search, cache: dict[int, _Neighbours]) -> bool:
    """The cheapest change found of one family's stock, or of two families' stocks
    together (their effects add exactly), among their neighbours, that keeps every
    target met; True when one was applied."""
    q, tv = search.q, search.targets
    values = search.values()
    nbs = [_neighbours(search, n, cache) for n in range(len(search.fams))]
    best: tuple[float, list[tuple[int, int]]] | None = None
    for n, nb in enumerate(nbs):
        cheaper = np.flatnonzero(nb.dcost < -1e-9)
        if not cheaper.size:
            continue
        ok = q.shortfall(values + nb.values[cheaper], tv).max(axis=1) <= MET
        if np.any(ok):
            c = int(cheaper[ok][np.argmin(nb.dcost[cheaper[ok]])])
            if best is None or -nb.dcost[c] > best[0]:
                best = (float(-nb.dcost[c]), [(n, c)])
    sizes = [nb.dcost.size for nb in nbs]
    work = sum(int(np.sum(nb.dcost < 0)) for nb in nbs) * sum(sizes) * q.size
    if best is None and len(nbs) > 1 and work <= PAIR_WORK:
        for n, nb in enumerate(nbs):
            for c in np.flatnonzero(nb.dcost < -1e-9).tolist():
                base = values + nb.values[c]
                for m, other in enumerate(nbs):
                    if m == n:
                        continue
                    idx = np.flatnonzero(other.dcost + nb.dcost[c] < -1e-9)
                    if not idx.size:
                        continue
                    ok = q.shortfall(base + other.values[idx], tv).max(axis=1) <= MET
                    if not np.any(ok):
                        continue
                    d = int(idx[ok][np.argmin(other.dcost[idx[ok]])])
                    saving = -float(nb.dcost[c] + other.dcost[d])
                    if best is None or saving > best[0]:
                        best = (saving, [(n, c), (m, d)])
    if best is None:
        return False
    for n, c in best[1]:
        search.stock[search.fams[n].rows] = nbs[n].stocks[c]
    for n, _ in best[1]:
        search.refresh(n)
    return True


def _swaps(search: _Search) -> bool:
    """Replace 1 or more units at one item and site by a cheaper block of another
    family (effects of different families add exactly), the largest saving first;
    True when one was found."""
    q, tv = search.q, search.targets
    values = search.values()
    best: tuple[float, int, tuple[int, int, int], int, int] | None = None
    for n, fam in enumerate(search.fams):
        base = search.stock[fam.rows]
        unit = search.a.unit_cost[fam.rows]
        cells = [(j, s, r) for j, row in enumerate(fam.rows.tolist())
                 for s in range(search.a.n_sites)
                 for r in range(1, int(base[j, s] - search.lo[row, s]) + 1)]
        if not cells:
            continue
        copies = np.repeat(base[None], len(cells), axis=0)
        for c, (j, s, r) in enumerate(cells):
            copies[c, j, s] -= r
        vals, _ = search.evaluate(fam, copies)
        for c, cell in enumerate(cells):
            price = float(unit[cell[0]]) * cell[2]
            without = values + vals[c] - search.state[n].current
            for m, st in enumerate(search.state):
                if m == n or not st.cells:
                    continue
                idx = np.flatnonzero(st.cost < price - 1e-9 * max(price, 1.0))
                if not idx.size:
                    continue
                ok = q.shortfall(without + st.values[idx] - st.current, tv).max(axis=1) <= MET
                if np.any(ok):
                    d = idx[ok][int(np.argmin(st.cost[idx[ok]]))]
                    saving = price - float(st.cost[d])
                    if best is None or saving > best[0]:
                        best = (saving, n, cell, m, int(d))
    if best is None:
        return False
    _, n, (j, s, r), m, d = best
    search.stock[search.fams[n].rows[j], s] -= r
    jj, ss, k = search.state[m].cells[d]
    search.stock[search.fams[m].rows[jj], ss] += k
    search.refresh(n)
    search.refresh(m)
    return True


def _improve(search: _Search, deadline: Deadline | None) -> None:
    """Family moves and swaps, each followed by the clean-up, while they save money
    (and the processor-time budget lasts)."""
    cache: dict[int, _Neighbours] = {}
    for _ in range(IMPROVE_ROUNDS):
        if deadline is not None and deadline.expired():
            return
        if not (_family_moves(search, cache) or _swaps(search)):
            return
        _clean_up(search)


def _shortfall_text(a: ScenarioArrays, q: Quantities, values: FloatArray,
                    targets: FloatArray) -> list[str]:
    """One phrase per target left short: what, target, best reached."""
    short = np.flatnonzero(q.shortfall(values, targets) > MET)
    out = []
    for i in short.tolist():
        out.append(describe(a, q, i, float(targets[i]), float(values[i])))
    return out


def describe(a: ScenarioArrays, q: Quantities, i: int, target: float, value: float) -> str:
    """``fill rate at site EAST: target 0.95 cannot be reached; best reachable 0.93``."""
    n_f = q.n_f
    if i < 3 * n_f:
        f = i % n_f
        where = f"fleet {a.system_ids[a.fleet_system[f]]} at {a.site_ids[a.fleet_site[f]]}"
        kind = ("availability", "fill rate", "mean wait")[i // n_f]
    else:
        s = (i - 3 * n_f) % q.n_s
        where = f"site {a.site_ids[s]}"
        kind = ("fill rate", "mean wait")[(i - 3 * n_f) // q.n_s]
    if kind == "availability":
        value = math.exp(value)
    unit = " days" if kind == "mean wait" else ""
    return (f"{kind} of {where}: target {target:.4g}{unit} cannot be reached; best "
            f"reachable {value:.4g}{unit}")


def _curve(search: _Search, path: list[tuple[int, int, float]]) -> tuple[FloatArray, FloatArray]:
    """The plan's nested points: point ``p`` holds at each item and site the least of
    the level the greedy had reached by its step ``p`` and the plan's level; then the
    units of the plan the greedy's path never held (from the exchanges), one item and
    site at a time.  Cost and every quantity at each point."""
    a, plan, lo = search.a, search.stock, search.lo
    family_of = np.zeros(a.n_items, dtype=np.int64)
    for n, fam in enumerate(search.fams):
        family_of[fam.rows] = n
    level = lo.copy()
    changes: list[tuple[int, int, float]] = [(r, s, min(v, plan[r, s])) for r, s, v in path]
    for r, s in zip(*np.nonzero(plan > lo), strict=True):
        changes.append((int(r), int(s), float(plan[r, s])))
    costs = [0.0]
    stocks: list[tuple[int, FloatArray]] = []  # (family, its rows' stock) per point
    for r, s, v in changes:
        if v <= level[r, s]:
            continue
        costs.append(costs[-1] + float(a.unit_cost[r]) * (v - level[r, s]))
        level[r, s] = v
        n = int(family_of[r])
        stocks.append((n, level[search.fams[n].rows].copy()))
    parts = [search.evaluate(fam, lo[fam.rows][None])[0][0] for fam in search.fams]
    values = [np.sum(parts, axis=0)]
    for n, st in stocks:
        v = search.evaluate(search.fams[n], st[None])[0][0]
        values.append(values[-1] + v - parts[n])
        parts[n] = v
    return np.array(costs), np.array(values)


def search_lists(targets: ServiceTargets) -> IntArray:
    """Indices of the quantities with a target (for reports)."""
    return np.flatnonzero(~np.isnan(targets.vector()))
