"""The choice: the offers that buy the most measure within a budget.

1. Greedy marginal analysis over the offers' units.  A candidate is a block of ``k``
   units of one offer (``k = 1 … lookahead``, so that an offer whose first unit gains
   little but whose second gains much is still seen); its gain is the measure with the
   block taken minus the measure now, and candidates are ranked by gain per cost.  The
   best affordable candidate with a positive gain is taken, and the gains of the
   offers that interact with it (its group: :func:`~sustain.deliver.groups.offer_groups`)
   are valued again; the others keep theirs, which are exact because the measure is a
   sum over groups.
2. On small cases (at most :data:`RESTART_OFFERS` offers) the greedy is also run from
   each block of each offer.
3. On small cases (at most :data:`SEARCH_UNITS` units within the budget) a local
   search from the best plan found: add a block, drop a block, or swap a block of one
   offer for a block of another within the budget, while the measure rises.
4. Every plan valued on the way is kept with its cost.  The chosen plan is the best of
   them within the budget, and the frontier (cost → measure) is their upper envelope:
   the best measure found for each budget up to the budget, non-decreasing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.deliver.groups import offer_groups
from sustain.deliver.measure import Measure, Valuation
from sustain.errors import SustainError
from sustain.scenario.model import Offer

#: Largest block of units of one offer valued as one candidate.
LOOKAHEAD = 3
#: Offers (that can be taken at all) up to which the greedy is also run from each
#: block of 1 … lookahead units of each offer, and the best of the runs kept.
RESTART_OFFERS = 12
#: Units on offer (within the budget) up to which the local search runs.
SEARCH_UNITS = 40
#: Units that fit within this share of one more unit's cost count as affordable
#: (sums of costs in floating point).
COST_TOL = 1e-9
#: A gain at most this share of the measure (or 1e-9 system-days) counts as none.
GAIN_TOL = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class Pick:
    """Units of one offer taken together (in the order a planner should take them).

    ``qty`` counts the measure's units (blocks, for a consumable offer); a consumable
    pick also gives the units a month (``per_month``) and the months shipped.
    ``from_day`` is the day the pick first adds anything.
    """

    offer: Offer
    qty: int
    cost: float
    value_gain: float
    gain_per_cost: float
    reason: str
    per_month: float | None = None
    months: int | None = None
    from_day: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetValue:
    """A fleet's value-weighted mission-capable system-days before and after the picks."""

    system: str
    site: str
    value_before: float
    value_after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NextPlan:
    """What to deliver next within ``budget`` (shared/spec/deliver-next.md)."""

    days: int
    budget: float
    spent: float
    value_before: float
    value_after: float
    picks: tuple[Pick, ...]
    frontier: tuple[tuple[float, float], ...]
    fleets: tuple[FleetValue, ...]
    qty: tuple[int, ...]
    evaluations: int
    search_evaluations: int | None = None
    search_moves: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain next --json``."""
        return {
            "measure": "mission-capable system-days",
            "days": self.days,
            "budget": self.budget,
            "spent": self.spent,
            "value_before": self.value_before,
            "value_after": self.value_after,
            "picks": [_pick_dict(p) for p in self.picks],
            "frontier": [{"cost": c, "value": v} for c, v in self.frontier],
            "fleets": [
                {"system": f.system, "site": f.site, "value_before": f.value_before,
                 "value_after": f.value_after}
                for f in self.fleets
            ],
        }


def _pick_dict(p: Pick) -> dict[str, Any]:
    """One pick of the JSON document: a consumable's ``qty`` is units a month, with
    the months shipped."""
    if p.per_month is None:
        return {"offer": p.offer.id, "kind": p.offer.kind, "qty": p.qty, "cost": p.cost,
                "value_gain": p.value_gain, "gain_per_cost": p.gain_per_cost}
    qty: float | int = int(p.per_month) if float(p.per_month).is_integer() else p.per_month
    return {"offer": p.offer.id, "kind": p.offer.kind, "qty": qty, "cost": p.cost,
            "value_gain": p.value_gain, "gain_per_cost": p.gain_per_cost,
            "months": p.months, "from_month": p.offer.from_month}


def _what(o: Offer, per_month: float | None = None) -> str:
    if o.kind == "systems":
        return f"{o.system} systems at {o.site}"
    if o.kind == "spares":
        return f"spares {o.item} at {o.site}"
    donor = f" from {o.donor}" if o.donor else ""
    start = f" from {o.from_month}" if o.from_month else ""
    return f"{o.consumable}{donor}, {per_month or 0:,.4g} a month{start}"


def _systems(x: float) -> str:
    """A change in systems available: two decimals, or two significant digits below 0.1."""
    return f"{x:+.2f}" if abs(x) >= 0.1 or x == 0 else f"{x:+.2g}"


def _reason(o: Offer, before: Valuation, after: Valuation, days: int, *, from_day: float,
            per_month: float | None = None) -> str:
    """One sentence: the extra systems available (able to fire, for a consumable), on
    average, over the days they count."""
    base = dict(zip(before.fleets, before.system_days.tolist(), strict=True))
    delta = {k: v - base.get(k, 0.0) for k, v in zip(after.fleets, after.system_days.tolist(),
                                                      strict=True)}
    span = max(days - from_day, 1.0)
    up = sorted(((v, k) for k, v in delta.items() if v > GAIN_TOL * span), reverse=True)
    down = sorted((v, k) for k, v in delta.items() if v < -GAIN_TOL * span)
    if o.kind == "consumable":
        types = sorted({k[0] for _, k in up}) or ["systems"]
        text = (f"{_what(o, per_month)}: {_systems(sum(v for v, _ in up) / span)} "
                f"{'/'.join(types)} able to fire for {span:g} days")
    else:
        text = (f"{_what(o)}: {_systems(sum(v for v, _ in up) / span)} systems available "
                f"for {span:g} days")
    if up:
        text += " (" + ", ".join(f"{k[0]} at {k[1]}" for _, k in up[:3]) + ")"
    if down:
        text += f"; {_systems(sum(v for v, _ in down) / span)} elsewhere (" + ", ".join(
            f"{k[0]} at {k[1]}" for _, k in down[:3]) + ")"
    return text


class _Plans:
    """Every choice of units valued during one run, with its cost and measure: the
    frontier's points and the plans the choice is made from."""

    def __init__(self, measure: Measure, costs: Sequence[float]) -> None:
        self.measure = measure
        self.costs = list(costs)
        self.seen: dict[tuple[int, ...], tuple[float, float]] = {}

    def cost(self, qty: Sequence[int]) -> float:
        """Money for ``qty`` units of each offer."""
        return math.fsum(q * c for q, c in zip(qty, self.costs, strict=True))

    def __call__(self, qty: Sequence[int]) -> Valuation:
        v = self.measure(qty)
        if v.qty not in self.seen:
            self.seen[v.qty] = (self.cost(v.qty), v.total)
        return v

    def best(self, limit: float) -> tuple[int, ...]:
        """The plan of largest measure costing at most ``limit`` (of those within
        :data:`GAIN_TOL` of it, the cheapest: a unit that gains nothing is not bought)."""
        within = [(k, c, v) for k, (c, v) in self.seen.items() if c <= limit]
        top = max(v for _, _, v in within)
        tol = GAIN_TOL * max(abs(top), 1.0)
        return min((c, -v, k) for k, c, v in within if v >= top - tol)[2]

    def envelope(self, limit: float) -> tuple[tuple[float, float], ...]:
        """The best measure found for each cost up to ``limit``: the points no cheaper
        plan reaches (a non-decreasing step function)."""
        out: list[tuple[float, float]] = []
        for cost, value in sorted(self.seen.values(), key=lambda p: (p[0], -p[1])):
            if cost > limit:
                break
            if not out or value > out[-1][1] + GAIN_TOL * max(abs(out[-1][1]), 1.0):
                out.append((cost, value))
        return tuple(out)


def _greedy(
    plans: _Plans, budget: float, qty: list[int], caps: Sequence[int],
    live: Sequence[bool], groups: Sequence[int], lookahead: int,
) -> list[tuple[int, int, float, Valuation, Valuation]]:
    """Greedy marginal analysis from ``qty`` (changed in place) up to ``caps`` units;
    returns the steps ``(offer, units, cost, before, after)``.  After a pick, the gains
    of the offers of its group are valued again (when next needed); the others keep
    theirs."""
    costs = plans.costs
    now = plans(qty)
    spent = plans.cost(qty)
    steps: list[tuple[int, int, float, Valuation, Valuation]] = []
    gains: dict[int, list[float]] = {}  # offer → gain of 1, 2, … units from now
    while True:
        tol = GAIN_TOL * max(abs(now.total), 1.0)
        best: tuple[float, int, int] | None = None
        for o in range(len(qty)):
            if not live[o] or caps[o] <= qty[o]:
                continue
            room = min(caps[o] - qty[o], int(np.floor((budget - spent) / costs[o] + COST_TOL)))
            if room < 1:
                continue
            if o not in gains:
                g: list[float] = []
                for k in range(1, min(lookahead, caps[o] - qty[o]) + 1):
                    trial = list(qty)
                    trial[o] += k
                    g.append(plans(trial).total - now.total)
                gains[o] = g
            for k, gain in enumerate(gains[o][:room], start=1):
                if gain > tol:
                    ratio = gain / (k * costs[o])
                    if best is None or ratio > best[0]:
                        best = (ratio, o, k)
        if best is None:
            return steps
        _, o, k = best
        before = now
        qty[o] += k
        now = plans(qty)
        spent += k * costs[o]
        steps.append((o, k, k * costs[o], before, now))
        for other in list(gains):
            if groups[other] == groups[o]:
                del gains[other]


def _moves(
    qty: Sequence[int], caps: Sequence[int], live: Sequence[bool], costs: Sequence[float],
    spent: float, limit: float, lookahead: int,
) -> Iterator[list[int]]:
    """The neighbours of ``qty`` within ``limit``: add a block of 1 … ``lookahead``
    units of an offer, drop one, or swap a block of one offer for a block of another."""
    n = len(qty)
    held = [o for o in range(n) if qty[o] > 0]
    room = [o for o in range(n) if live[o] and caps[o] > qty[o]]

    def blocks(o: int, most: int) -> range:
        return range(1, min(lookahead, most) + 1)

    for p in room:
        for j in blocks(p, caps[p] - qty[p]):
            if spent + j * costs[p] <= limit:
                yield [q + j if m == p else q for m, q in enumerate(qty)]
    for o in held:
        for k in blocks(o, qty[o]):
            yield [q - k if m == o else q for m, q in enumerate(qty)]
    for o in held:
        for k in blocks(o, qty[o]):
            for p in room:
                if p == o:
                    continue
                for j in blocks(p, caps[p] - qty[p]):
                    if spent - k * costs[o] + j * costs[p] <= limit:
                        trial = list(qty)
                        trial[o] -= k
                        trial[p] += j
                        yield trial


def _local_search(
    plans: _Plans, qty: Sequence[int], caps: Sequence[int], live: Sequence[bool],
    limit: float, lookahead: int,
) -> tuple[list[int], int]:
    """First-improvement local search from ``qty`` over :func:`_moves`: the first move
    that raises the measure is taken, until none does; returns the plan and the number
    of moves taken."""
    now = list(qty)
    value = plans(now).total
    taken = 0
    while True:
        tol = GAIN_TOL * max(abs(value), 1.0)
        for trial in _moves(now, caps, live, plans.costs, plans.cost(now), limit, lookahead):
            v = plans(trial).total
            if v > value + tol:
                now, value = trial, v
                taken += 1
                break
        else:
            return now, taken


def choose(
    measure: Measure, *, budget: float, lookahead: int = LOOKAHEAD,
    restarts: int = RESTART_OFFERS, search_units: int = SEARCH_UNITS,
    groups: Sequence[int] | None = None,
) -> NextPlan:
    """The offers of ``measure`` to take within ``budget`` (module docstring).

    ``groups`` (one number per offer; by default
    :func:`~sustain.deliver.groups.offer_groups`) says which offers interact: after a
    pick, the gains of the offers with its number are valued again.

    Raises
    ------
    sustain.errors.SustainError
        ``budget`` negative or not finite, ``lookahead`` < 1, or ``groups`` not one per
        offer.
    """
    b = float(budget)
    if not np.isfinite(b) or b < 0:
        raise SustainError(f"budget must be a finite number >= 0: got {budget!r}")
    if lookahead < 1:
        raise SustainError(f"lookahead must be >= 1: got {lookahead}")
    offers = measure.offers
    costs = measure.costs
    n = len(offers)
    group = offer_groups(measure.scenario, offers) if groups is None else tuple(groups)
    if len(group) != n:
        raise SustainError(f"expected {n} groups, one per offer: got {len(group)}")
    caps = list(measure.caps)  # most units of each offer (blocks for consumables)
    live = [measure.in_horizon(o) and caps[n] > 0 for n, o in enumerate(offers)]
    limit = b + COST_TOL * max([b, 1.0, *costs])
    plans = _Plans(measure, costs)
    first = plans([0] * n)
    _greedy(plans, b, [0] * n, caps, live, group, lookahead)
    starts = [o for o in range(n) if live[o] and costs[o] <= limit]
    if len(starts) <= restarts:
        for o in starts:
            for k in range(1, min(lookahead, caps[o]) + 1):
                if k * costs[o] > limit:
                    break
                qty = [0] * n
                qty[o] = k
                if plans(qty).total - first.total > GAIN_TOL * max(abs(first.total), 1.0):
                    _greedy(plans, b, qty, caps, live, group, lookahead)
    units = sum(min(caps[o], int(b / costs[o] + COST_TOL)) for o in starts)
    searched: int | None = None
    moved = 0
    if units <= search_units:
        evals = measure.evaluations
        _, moved = _local_search(plans, plans.best(limit), caps, live, limit, lookahead)
        searched = measure.evaluations - evals
    chosen = plans.best(limit)
    # The order to take the chosen units in: the greedy again, capped at them.
    qty = [0] * n
    steps = _greedy(plans, plans.cost(chosen), qty, chosen, live, group, lookahead)
    rest = [o for o in range(n) if qty[o] < chosen[o]]
    if rest:  # units whose gain shows only with others: taken together last
        before_v = plans(qty)
        after_v = plans(chosen)
        for o in rest:
            steps.append((o, chosen[o] - qty[o], (chosen[o] - qty[o]) * costs[o],
                          before_v, after_v))
            before_v = after_v
        qty = list(chosen)
    now = plans(qty)
    spent = math.fsum(cost for _, _, cost, _, _ in steps)

    picks: list[Pick] = []
    merged: list[list[Any]] = []
    for o, k, cost, before, after in steps:
        if merged and merged[-1][0] == o:
            merged[-1][1] += k
            merged[-1][2] += cost
            merged[-1][4] = after
        else:
            merged.append([o, k, cost, before, after])
    for o, k, cost, before, after in merged:
        gain = after.total - before.total
        offer = offers[o]
        per_month = measure.per_month(offer, k) if offer.kind == "consumable" else None
        arrive = measure.first_day(offer)
        picks.append(Pick(offer=offer, qty=k, cost=cost, value_gain=gain,
                          gain_per_cost=gain / cost,
                          reason=_reason(offer, before, after, measure.days, from_day=arrive,
                                         per_month=per_month),
                          per_month=per_month,
                          months=measure.months(offer) if per_month is not None else None,
                          from_day=arrive))
    keys = list(dict.fromkeys(first.fleets + now.fleets))
    v0 = dict(zip(first.fleets, first.value.tolist(), strict=True))
    v1 = dict(zip(now.fleets, now.value.tolist(), strict=True))
    fleets = tuple(FleetValue(system=k[0], site=k[1], value_before=v0.get(k, 0.0),
                              value_after=v1.get(k, 0.0)) for k in keys)
    return NextPlan(days=measure.days, budget=b, spent=spent, value_before=first.total,
                    value_after=now.total, picks=tuple(picks),
                    frontier=plans.envelope(limit), fleets=fleets, qty=tuple(qty),
                    evaluations=measure.evaluations, search_evaluations=searched,
                    search_moves=moved)
