"""The choice: the offers that buy the most measure within a budget.

Greedy marginal analysis over the offers' units.  A candidate is a block of ``k``
units of one offer (``k = 1 … lookahead``, so that an offer whose first unit gains
little but whose second gains much is still seen); its gain is the measure with the
block taken minus the measure now, and candidates are ranked by gain per cost.  The
best affordable candidate with a positive gain is taken, and the gains of the
offers that interact with it (the same group of system types sharing items:
:meth:`~sustain.deliver.measure.Measure.component`) are evaluated again; the others
keep theirs, which are exact because the measure is a sum over groups.  The steps
taken are the frontier (cost → measure), a by-product of the one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain.deliver.measure import Measure, Valuation
from sustain.errors import SustainError
from sustain.scenario.model import Offer

#: Largest block of units of one offer valued as one candidate.
LOOKAHEAD = 3
#: Offers (that can be taken at all) up to which the greedy is also run from each
#: block of 1 … lookahead units of each offer, and the best of the runs kept.
RESTART_OFFERS = 12
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


def _greedy(
    measure: Measure, budget: float, qty: list[int], caps: list[int], lookahead: int,
) -> list[tuple[int, int, float, Valuation, Valuation]]:
    """Greedy marginal analysis from ``qty`` (changed in place) up to ``caps`` units;
    returns the steps ``(offer, units, cost, before, after)``."""
    offers = measure.offers
    costs = measure.costs
    now = measure(qty)
    spent = sum(q * c for q, c in zip(qty, costs, strict=True))
    steps: list[tuple[int, int, float, Valuation, Valuation]] = []
    live = [measure.in_horizon(o) and cap > qty[n]
            for n, (o, cap) in enumerate(zip(offers, caps, strict=True))]
    gains: dict[int, list[float]] = {}  # offer → gain of 1, 2, … units from now
    while True:
        tol = GAIN_TOL * max(abs(now.total), 1.0)
        best: tuple[float, int, int] | None = None
        for o in range(len(offers)):
            if not live[o]:
                continue
            room = min(caps[o] - qty[o],
                       int(np.floor((budget - spent) / costs[o] + COST_TOL)))
            if room < 1:
                continue
            if o not in gains:
                g: list[float] = []
                for k in range(1, min(lookahead, caps[o] - qty[o]) + 1):
                    trial = list(qty)
                    trial[o] += k
                    g.append(measure(trial).total - now.total)
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
        now = measure(qty)
        spent += k * costs[o]
        steps.append((o, k, k * costs[o], before, now))
        group = measure.component[o]
        for other in list(gains):
            if measure.component[other] == group:
                del gains[other]


def _envelope(points: list[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """The points no other beats: each a cost and the best value found for it or less."""
    out: list[tuple[float, float]] = []
    for cost, value in sorted(points, key=lambda p: (p[0], -p[1])):
        if not out or value > out[-1][1]:
            out.append((cost, value))
    return tuple(out)


def choose(
    measure: Measure, *, budget: float, lookahead: int = LOOKAHEAD,
    restarts: int = RESTART_OFFERS,
) -> NextPlan:
    """The offers of ``measure`` to take within ``budget`` (module docstring).

    Raises
    ------
    sustain.errors.SustainError
        ``budget`` negative or not finite, or ``lookahead`` < 1.
    """
    b = float(budget)
    if not np.isfinite(b) or b < 0:
        raise SustainError(f"budget must be a finite number >= 0: got {budget!r}")
    if lookahead < 1:
        raise SustainError(f"lookahead must be >= 1: got {lookahead}")
    offers = measure.offers
    costs = measure.costs
    n = len(offers)
    caps = list(measure.caps)
    first = measure([0] * n)
    runs: list[tuple[list[int], list[tuple[int, int, float, Valuation, Valuation]]]] = []
    qty = [0] * n
    runs.append((qty, _greedy(measure, b, qty, caps, lookahead)))
    live = [o for o in range(n) if measure.in_horizon(offers[o]) and caps[o] > 0
            and costs[o] <= b * (1 + COST_TOL)]
    if len(live) <= restarts:
        for o in live:
            for k in range(1, min(lookahead, caps[o]) + 1):
                if k * costs[o] > b * (1 + COST_TOL):
                    break
                qty = [0] * n
                qty[o] = k
                start = measure(qty)
                if start.total - first.total <= GAIN_TOL * max(abs(first.total), 1.0):
                    continue
                steps = [(o, k, k * costs[o], first, start)]
                runs.append((qty, steps + _greedy(measure, b, qty, caps, lookahead)))
    points = [(0.0, first.total)]
    for _, steps in runs:
        spent = 0.0
        for _, _, cost, _, after in steps:
            spent += cost
            points.append((spent, after.total))
    chosen = max(runs, key=lambda r: measure(r[0]).total)[0]
    # The order to take the chosen units in: the greedy again, capped at them.
    qty = [0] * n
    chosen_cost = sum(q * c for q, c in zip(chosen, costs, strict=True))
    steps = _greedy(measure, chosen_cost, qty, list(chosen), lookahead)
    rest = [o for o in range(n) if qty[o] < chosen[o]]
    if rest:  # units whose gain shows only with others: taken together last
        before = measure(qty)
        after = measure(chosen)
        for o in rest:
            steps.append((o, chosen[o] - qty[o], (chosen[o] - qty[o]) * costs[o],
                          before, after))
            before = after
        qty = list(chosen)
    now = measure(qty)
    spent = 0.0
    for _, _, cost, _, after in steps:
        spent += cost
        points.append((spent, after.total))

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
                    frontier=_envelope([p for p in points if p[0] <= b]),
                    fleets=fleets, qty=tuple(qty), evaluations=measure.evaluations)
