"""The stockpile section as arrays over donors × consumables × months.

:func:`plan_data` is the only place where the section's piecewise-constant rows
(``from`` a month until the next row) become monthly arrays, and where fleet-driven
usage becomes demand: ``systems up × per_system_day × days in the month × tempo``
(``shared/spec/stockpile-format.md``).  Everything after it trusts :class:`PlanData`.

Axes: donors ``d``, consumables ``c``, months ``t`` (``t = 0`` is ``start_month``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.errors import SustainError
from sustain.scenario.model import StockpilePlan
from sustain.scenario.months import days_in_months, month_offset
from sustain.scenario.schema import MAX_MONTHS

#: The arrays of :class:`PlanData` that hold quantities.
QUANTITIES = ("demand", "partner_stock", "stock", "floor", "own_use", "made", "surge_cap",
              "pledged")
#: The arrays of :class:`PlanData` that hold money or weights.
PRICES = ("priority", "unit_cost", "surge_cost")
#: How an entry of each array is named in messages: the key of the section, and whether
#: its index runs over donors and months (``{donor}``, ``{month}``).
_LABELS = {
    "demand": "demand of {consumable!r} in {month}",
    "partner_stock": "partner_stock of {consumable!r}",
    "stock": "stock of {consumable!r} of donor {donor!r}",
    "floor": "floor of {consumable!r} of donor {donor!r}",
    "own_use": "own_use_per_month of {consumable!r} of donor {donor!r}",
    "made": "production of {consumable!r} of donor {donor!r} in {month}",
    "surge_cap": "surge per_month of {consumable!r} of donor {donor!r} in {month}",
    "pledged": "pledges of {consumable!r} by donor {donor!r} in {month}",
    "priority": "priority of {consumable!r}",
    "unit_cost": "unit_cost of {consumable!r}",
    "surge_cost": "surge unit_cost of {consumable!r} of donor {donor!r} in {month}",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanData:
    """Everything the linear programme needs, as arrays, plus the labels of each axis.

    Attributes
    ----------
    months : tuple of str
        ``YYYY-MM`` of each month (axis ``t``, length T).
    donor_ids, consumable_ids : tuple of str
        Labels of axes ``d`` (D) and ``c`` (C).
    priority, unit_cost : FloatArray
        (C,) weight of a unit of shortfall; cost of one unit.
    demand : FloatArray
        (C, T) partner consumption wanted, units per month.
    partner_stock : FloatArray
        (C,) held by the partner at the start, ``P[c, -1]``.
    stock, floor, own_use : FloatArray
        (D, C) donor stock at the start ``S[d, c, -1]``, floor, own use per month.
    lead_months : IntArray
        (D,) shipped in month t, usable by the partner in month t + lead.
    made : FloatArray
        (D, C, T) committed production.
    surge_cap, surge_cost : FloatArray
        (D, C, T) most extra output the plan may buy, and its unit cost.
    pledged : FloatArray
        (D, C, T) transfers already promised (lower bounds on ``sent``).
    """

    months: tuple[str, ...]
    donor_ids: tuple[str, ...]
    consumable_ids: tuple[str, ...]
    priority: FloatArray
    unit_cost: FloatArray
    demand: FloatArray
    partner_stock: FloatArray
    stock: FloatArray
    floor: FloatArray
    own_use: FloatArray
    lead_months: IntArray
    made: FloatArray
    surge_cap: FloatArray
    surge_cost: FloatArray
    pledged: FloatArray

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(D, C, T)``."""
        return len(self.donor_ids), len(self.consumable_ids), len(self.months)

    @property
    def active(self) -> BoolArray:
        """(D, C) pairs where the donor holds, keeps, uses, makes, may make or owes anything."""
        return (
            (self.stock > 0) | (self.floor > 0) | (self.own_use > 0)
            | np.any((self.made > 0) | (self.surge_cap > 0) | (self.pledged > 0), axis=2)
        )


def steps(
    rows: Iterable[tuple[int, float]], n_months: int, *, before: float = 0.0
) -> FloatArray:
    """Piecewise-constant monthly values from ``(first month index, value)`` rows.

    Each value holds from its month until the next row's; months before the first row
    take ``before``.  Rows from before the horizon (negative index) hold from month 0.
    """
    pairs = sorted(rows)
    out = np.full(n_months, before, dtype=np.float64)
    if not pairs:
        return out
    starts = np.array([k for k, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    which = np.searchsorted(starts, np.arange(n_months), side="right") - 1
    has = which >= 0
    out[has] = values[which[has]]
    return out


def plan_data(
    plan: StockpilePlan,
    *,
    systems_up: Mapping[str, float | FloatArray] | None = None,
    prefer_usage: bool = False,
    add_usage: bool = False,
) -> PlanData:
    """Arrays of the section ``plan``.

    Parameters
    ----------
    plan : StockpilePlan
        The validated section.
    systems_up : mapping of str to float or FloatArray, optional
        Systems of each type expected to be working (fleet count × availability, summed
        over the type's fleets): one number for every month, or a (T,) array of each
        month's mean.  Needed for ``usage`` rows; a type absent counts 0.
    prefer_usage : bool
        For a consumable with both ``demand`` and ``usage`` rows: take fleet-driven
        usage (``True``) or the explicit demand (``False``, the default).  A
        consumable with only one kind of row takes that kind.
    add_usage : bool
        Fleet-driven usage is added to the explicit demand, which then stands for the
        partner's use other than the fleets' (overrides ``prefer_usage``).

    Returns
    -------
    PlanData
    """
    T = plan.months
    start = plan.start_month
    for donor in plan.donors:
        if not 0 <= donor.lead_months <= MAX_MONTHS:
            raise SustainError(
                f"stockpile: donor {donor.id!r}: lead_months must be 0 to {MAX_MONTHS} "
                f"(the longest horizon): got {donor.lead_months}"
            )
    cids = tuple(c.id for c in plan.consumables)
    dids = tuple(d.id for d in plan.donors)
    c_idx = {c: k for k, c in enumerate(cids)}
    d_idx = {d: k for k, d in enumerate(dids)}
    D, C = len(dids), len(cids)

    def at(month: str) -> int:
        return month_offset(start, month)

    days = np.asarray(days_in_months(start, T), dtype=np.float64)
    tempo = steps(((at(s.from_month), s.factor) for s in plan.tempo), T, before=1.0)
    up = systems_up or {}
    explicit: dict[str, list[tuple[int, float]]] = {}
    for s in plan.demand:
        explicit.setdefault(s.consumable, []).append((at(s.from_month), s.per_month))
    per_day: dict[str, FloatArray] = {}
    for u in plan.usage:
        systems = np.broadcast_to(np.asarray(up.get(u.system, 0.0), dtype=np.float64), (T,))
        per_day[u.consumable] = per_day.get(u.consumable, 0.0) + u.per_system_day * systems
    demand = np.zeros((C, T))
    for cid, k in c_idx.items():
        use_fleets = cid in per_day and (add_usage or prefer_usage or cid not in explicit)
        if use_fleets:
            demand[k] = per_day[cid] * days * tempo
        if cid in explicit and (add_usage or not use_fleets):
            demand[k] += steps(explicit[cid], T)

    stock = np.zeros((D, C))
    floor = np.zeros((D, C))
    own = np.zeros((D, C))
    made = np.zeros((D, C, T))
    cap = np.zeros((D, C, T))
    cost = np.zeros((D, C, T))
    unit_cost = np.array([c.unit_cost for c in plan.consumables], dtype=np.float64)
    cost[:] = unit_cost[None, :, None]
    for d, donor in enumerate(plan.donors):
        for key, target in (("stock", stock), ("floor", floor), ("own_use_per_month", own)):
            for cid, qty in getattr(donor, key).items():
                target[d, c_idx[cid]] = qty
        prod: dict[str, list[tuple[int, float]]] = {}
        for p in donor.production:
            prod.setdefault(p.consumable, []).append((at(p.from_month), p.per_month))
        for cid, rows in prod.items():
            made[d, c_idx[cid]] = steps(rows, T)
        surge: dict[str, list[tuple[int, float]]] = {}
        price: dict[str, list[tuple[int, float]]] = {}
        for q in donor.surge:
            surge.setdefault(q.consumable, []).append((at(q.from_month), q.per_month))
            price.setdefault(q.consumable, []).append((at(q.from_month), q.unit_cost))
        for cid, rows in surge.items():
            cap[d, c_idx[cid]] = steps(rows, T)
            cost[d, c_idx[cid]] = steps(price[cid], T, before=unit_cost[c_idx[cid]])
    pledged = np.zeros((D, C, T))
    for pl in plan.pledges:
        t = at(pl.month)
        if 0 <= t < T:
            pledged[d_idx[pl.donor], c_idx[pl.consumable], t] += pl.qty
    partner = np.zeros(C)
    for cid, qty in plan.partner_stock.items():
        partner[c_idx[cid]] = qty
    return PlanData(
        months=plan.month_labels,
        donor_ids=dids,
        consumable_ids=cids,
        priority=np.array([c.priority for c in plan.consumables], dtype=np.float64),
        unit_cost=unit_cost,
        demand=demand,
        partner_stock=partner,
        stock=stock,
        floor=floor,
        own_use=own,
        lead_months=np.array([d.lead_months for d in plan.donors], dtype=np.int64),
        made=made,
        surge_cap=cap,
        surge_cost=cost,
        pledged=pledged,
    )


def one_consumable(d: PlanData, c: int) -> PlanData:
    """The part of ``d`` that concerns consumable ``c`` alone (every donor kept).

    The programme separates by consumable, so its plan of ``c`` is the plan of ``c``
    in ``d``.
    """
    k = slice(c, c + 1)
    return replace(
        d, consumable_ids=d.consumable_ids[k], priority=d.priority[k],
        unit_cost=d.unit_cost[k], demand=d.demand[k], partner_stock=d.partner_stock[k],
        stock=d.stock[:, k], floor=d.floor[:, k], own_use=d.own_use[:, k],
        made=d.made[:, k], surge_cap=d.surge_cap[:, k], surge_cost=d.surge_cost[:, k],
        pledged=d.pledged[:, k],
    )


def with_shipments(
    d: PlanData, donor_ids: tuple[str, ...], lead_months: IntArray, shipped: FloatArray,
) -> PlanData:
    """``d`` with donors added that ship ``shipped[e, c, t]`` in month t, arriving
    ``lead_months[e]`` months later: each makes that much and is pledged to send it,
    and holds, keeps and uses nothing, so its shipments are exactly those.
    """
    E = len(donor_ids)
    _, C, T = d.shape
    if shipped.shape != (E, C, T) or lead_months.shape != (E,):
        raise ValueError(f"shipments of shape {shipped.shape} and leads of shape "
                         f"{lead_months.shape} for {E} donors, {C} consumables, {T} months")
    zeros2, zeros3 = np.zeros((E, C)), np.zeros((E, C, T))
    return replace(
        d, donor_ids=d.donor_ids + donor_ids,
        stock=np.concatenate([d.stock, zeros2]), floor=np.concatenate([d.floor, zeros2]),
        own_use=np.concatenate([d.own_use, zeros2]),
        lead_months=np.concatenate([d.lead_months, lead_months.astype(np.int64)]),
        made=np.concatenate([d.made, shipped]),
        surge_cap=np.concatenate([d.surge_cap, zeros3]),
        surge_cost=np.concatenate([d.surge_cost, np.broadcast_to(
            d.unit_cost[None, :, None], (E, C, T))]),
        pledged=np.concatenate([d.pledged, shipped]),
    )


def most_stock(d: PlanData) -> FloatArray:
    """(D, C, T) the highest end-of-month stock each donor can have: surge at capacity,
    send only what is pledged, ``Smax[t] = S[-1] + Σ_{τ≤t}(made + surge_cap − own_use − pledged)``.

    Sending more or surging less only lowers every later month's stock, so this bounds
    every plan, month by month, and is reached by one plan in all months at once.
    """
    flow = d.made + d.surge_cap - d.own_use[:, :, None] - d.pledged
    return d.stock[:, :, None] + np.cumsum(flow, axis=2)


def least_breach(d: PlanData) -> FloatArray:
    """(D, C, T) the least floor breach any plan can have: ``max(0, floor − Smax)``.

    Stage 1 of the plan (total breach) is separable by donor and consumable and every
    month's least breach is reached by one plan (:func:`most_stock`), so its optimum is
    ``Σ least_breach`` and each month of an optimal plan breaches exactly this much.
    """
    return np.maximum(0.0, d.floor[:, :, None] - most_stock(d))


def most_arrivals(d: PlanData) -> FloatArray:
    """(C, T) the most that can have reached the partner by the end of each month, with
    every donor kept at its least breach (:func:`least_breach`).

    Donor d's cumulative shipments ``X[t]`` must cover its pledges (``X[t] − X[t−1] >=
    pledged[t]``) and leave ``S[t] >= floor − least_breach[t]``, i.e. ``X[t] <= H[t] =
    S[-1] + Σ_{τ≤t}(made + surge_cap − own_use) − floor + least_breach[t]``.  With
    ``Z = X − Σ pledged`` non-decreasing, the most it can have shipped by t, in every
    month at once, is ``Σ_{τ≤t} pledged + min_{τ≥t}(H[τ] − Σ_{σ≤τ} pledged)``
    (shipping everything as soon as it may).  A shipment counts ``lead_d`` months later.
    """
    _, C, T = d.shape
    cum_p = np.cumsum(d.pledged, axis=2)
    room = (d.stock[:, :, None] + np.cumsum(d.made + d.surge_cap - d.own_use[:, :, None], axis=2)
            - d.floor[:, :, None] + least_breach(d) - cum_p)
    later_min = np.minimum.accumulate(room[:, :, ::-1], axis=2)[:, :, ::-1]
    shipped = cum_p + np.maximum(later_min, 0.0)
    out = np.zeros((C, T))
    for lead in np.unique(d.lead_months):  # one term per distinct lead time, not per donor
        if lead < T:
            part = shipped[d.lead_months == lead].sum(axis=0)
            out[:, lead:] += part[:, : T - lead]
    return out


def no_shortfall_possible(d: PlanData) -> BoolArray:
    """(C,) whether some plan meets all demand of the consumable, with floors held at
    their least breach: ``P[-1] + most_arrivals[t] >= Σ_{τ≤t} demand`` in every month."""
    need = np.cumsum(d.demand, axis=1) - d.partner_stock[:, None]
    tol = 1e-9 * np.maximum(1.0, np.abs(need))
    return np.all(most_arrivals(d) >= need - tol, axis=1)


def quantity_range(d: PlanData) -> tuple[FloatArray, FloatArray]:
    """(C,) the smallest non-zero quantity among each consumable's inputs, and a bound on
    every quantity its plan can hold: the partner's starting stock, plus all that donors
    hold, make and may make, plus all demand, pledges and own use over the horizon, plus
    the highest floor.  Both are 0 for a consumable with no quantities at all.
    """
    T = d.shape[2]
    hi = (d.partner_stock + np.sum(d.stock + d.own_use * T, axis=0)
          + np.sum(d.made + d.surge_cap + d.pledged, axis=(0, 2))
          + np.sum(d.demand, axis=1) + np.max(d.floor, axis=0, initial=0.0))
    lo = np.full(d.shape[1], np.inf)
    for name in QUANTITIES:
        x = np.asarray(getattr(d, name))
        x = np.where(x > 0, x, np.inf)
        # The consumable axis is the first of (C,) and (C, T), the second otherwise.
        c_axis = 0 if name in ("demand", "partner_stock") else 1
        others = tuple(k for k in range(x.ndim) if k != c_axis)
        lo = np.minimum(lo, np.min(x, axis=others, initial=np.inf) if others else x)
    lo[~np.isfinite(lo)] = 0.0
    return lo, hi


def entry_name(d: PlanData, name: str, index: tuple[int, ...]) -> str:
    """Words for one entry of an array of :class:`PlanData`: ``index`` over its axes,
    (C,), (C, T), (D, C) or (D, C, T) (``"production of 'R' of donor 'US' in 2024-03"``)."""
    if name in ("demand", "partner_stock", "priority", "unit_cost"):
        c, t = index[0], (index[1] if len(index) > 1 else 0)
        donor = ""
    else:
        donor = d.donor_ids[index[0]]
        c, t = index[1], (index[2] if len(index) > 2 else 0)
    return _LABELS[name].format(consumable=d.consumable_ids[c], donor=donor, month=d.months[t])


def check_numbers(d: PlanData) -> None:
    """Every quantity, cost and priority of ``d`` is a finite number.

    Raises
    ------
    SustainError
        Naming the first entry that is not (NaN, or beyond the range of a float after
        the monthly arithmetic).
    """
    for name in (*QUANTITIES, *PRICES):
        x = np.asarray(getattr(d, name))
        bad = ~np.isfinite(x)
        if np.any(bad):
            index = tuple(int(k[0]) for k in np.nonzero(bad))
            raise SustainError(
                f"stockpile: {entry_name(d, name, index)} is not a finite number: "
                f"got {float(x[index])}"
            )
