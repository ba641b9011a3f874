"""The share of each fleet's consumable usage met, month by month: the stockpile plan.

Day 0 of the readiness-over-time engine is the first day of the stockpile section's
``start_month``; month ``m`` holds the days ``[b_m, b_{m+1})``, ``b`` the cumulative
calendar days.  For a choice of offers:

- each system type's usage is ``per_system_day`` × its expected systems available,
  summed over its fleets (the engine's expected systems up, integrated over the
  month by the trapezoid rule on the report days and held at day ``D``'s value past
  the horizon) × tempo — :func:`~sustain.stockpile.data.plan_data` with monthly
  systems up, added to the consumable's explicit ``demand`` rows (the partner's use
  other than the fleets');
- a consumable offer taken at ``q`` units a month ships ``q`` in every month from its
  ``from_month`` whose shipment reaches the partner within the plan and the horizon,
  arriving with its donor's ``lead_months`` (0 for a donor not in the section):
  :func:`~sustain.stockpile.data.with_shipments`;
- the stockpile plan (:func:`~sustain.stockpile.api.plan_from_data`) gives each
  month's shortfall, and the share met is ``1 − short/demand`` (1 in a month with
  no demand), the same for every user of the consumable: the fleets using it and the
  partner's other demand share a shortfall pro rata.

Each consumable is planned on its own (the programme separates by consumable) and
remembered by its demand and the units taken of its offers; a consumable whose whole
demand can be met (:func:`~sustain.stockpile.data.no_shortfall_possible`, closed
form) needs no solve.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray
from sustain.scenario.model import Offer, Scenario, StockpilePlan
from sustain.scenario.months import days_in_months, month_offset
from sustain.stockpile.api import check_plan_exists, plan_from_data
from sustain.stockpile.data import (
    PlanData,
    no_shortfall_possible,
    one_consumable,
    plan_data,
    with_shipments,
)

#: A consumable offer is taken in at most this many equal blocks of its ``per_month``
#: (:func:`block_count`).
CONSUMABLE_BLOCKS = 10


def block_count(per_month: float, blocks: int = CONSUMABLE_BLOCKS) -> int:
    """Equal blocks an offer of ``per_month`` units a month is taken in: ``blocks``,
    or fewer so that a block is at least one unit (``per_month`` 2: two blocks of one);
    0 for an offer of nothing."""
    if per_month <= 0:
        return 0
    return max(1, min(blocks, math.ceil(per_month)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipments:
    """What one unit (block) of a consumable offer ships.

    Attributes
    ----------
    consumable : int
        Index of the consumable in the section.
    per_unit : float
        Units a month in one block (``per_month / count``).
    count : int
        Blocks offered (:func:`block_count`).
    first, last : int
        First and last month shipped (``last < first``: none).
    lead : int
        Months from shipment to arrival.
    """

    consumable: int
    per_unit: float
    count: int
    first: int
    last: int
    lead: int

    @property
    def months(self) -> int:
        """Months shipped."""
        return max(0, self.last - self.first + 1)


def month_bounds(plan: StockpilePlan) -> FloatArray:
    """(T + 1,) the day each month of the plan starts, and the day after the last."""
    days = np.asarray(days_in_months(plan.start_month, plan.months), dtype=np.float64)
    return np.concatenate([[0.0], np.cumsum(days)])


def integral(t: FloatArray, f: FloatArray, x: FloatArray) -> FloatArray:
    """(rows, len(x)) ``∫_0^x f``: ``f`` (rows × len(t)) linear between the days ``t``
    (the trapezoid rule's interpolant) and held at its last value after ``t[-1]``;
    ``x >= 0``."""
    t = np.asarray(t, dtype=np.float64)
    cum = np.concatenate([np.zeros((f.shape[0], 1)),
                          np.cumsum(np.diff(t) * (f[:, 1:] + f[:, :-1]) / 2, axis=1)], axis=1)
    if t.size == 1:
        return f[:, :1] * x[None, :]
    i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, t.size - 2)
    inside = np.minimum(x, t[-1])
    w = (inside - t[i]) / (t[i + 1] - t[i])
    fx = f[:, i] + (f[:, i + 1] - f[:, i]) * w[None, :]
    out = cum[:, i] + (inside - t[i])[None, :] * (f[:, i] + fx) / 2
    return out + f[:, -1:] * np.maximum(x - t[-1], 0.0)[None, :]


class Supply:
    """The stockpile coupling of :class:`~sustain.deliver.measure.Measure` (module
    docstring): which system types use which consumables, what each consumable offer
    ships, and the share of each consumable's usage met for a choice.

    Raises
    ------
    sustain.stockpile.PlanInfeasible
        A donor of the section is overcommitted: no stockpile plan exists.
    """

    def __init__(self, scenario: Scenario, offers: Sequence[Offer], *, days: int,
                 blocks: int = CONSUMABLE_BLOCKS) -> None:
        plan = scenario.stockpile
        if plan is None:
            raise ValueError("a scenario without a stockpile section has no supply")
        if blocks < 1:
            raise ValueError(f"blocks must be >= 1: got {blocks}")
        self.plan = plan
        self.days = int(days)
        self.bounds = month_bounds(plan)
        self.consumable_ids = tuple(c.id for c in plan.consumables)
        c_idx = {c: k for k, c in enumerate(self.consumable_ids)}
        uses: dict[str, set[int]] = {}
        for u in plan.usage:
            if u.per_system_day > 0:
                uses.setdefault(u.system, set()).add(c_idx[u.consumable])
        #: The consumables each system type uses (in section order).
        self.uses: dict[str, tuple[int, ...]] = {s: tuple(sorted(c)) for s, c in uses.items()}
        self.used = tuple(sorted({c for cs in self.uses.values() for c in cs}))
        # The last month whose days count: the one holding day D - 1 (or the plan's last).
        T = plan.months
        self.last_month = min(T - 1, int(np.searchsorted(self.bounds, self.days - 1,
                                                         side="right")) - 1)
        lead = {d.id: d.lead_months for d in plan.donors}
        self.shipments: dict[int, Shipments] = {}
        for n, o in enumerate(offers):
            if o.kind != "consumable" or o.consumable is None:
                continue
            first = month_offset(plan.start_month, o.from_month or plan.start_month)
            lag = lead.get(o.donor or "", 0)
            count = block_count(o.per_month, blocks)
            self.shipments[n] = Shipments(
                consumable=c_idx[o.consumable], per_unit=o.per_month / max(count, 1),
                count=count, first=first, last=self.last_month - lag, lead=lag)
        self.blocks = blocks
        # Whether a donor is overcommitted depends on neither demand nor offers (each
        # offer's donor makes what it ships): checked once.
        check_plan_exists(plan_data(plan))
        self._cache: dict[tuple[int, bytes, tuple[int, ...]], FloatArray] = {}
        self.solves = 0
        self.solve_seconds = 0.0

    def useful(self, n: int) -> bool:
        """Can offer ``n`` (a consumable offer) change the measure at all: it ships in
        some month that counts, some fleet type uses its consumable, and it has units."""
        s = self.shipments[n]
        return s.months > 0 and s.per_unit > 0 and s.consumable in self.used

    def first_day(self, n: int) -> float:
        """The day the first shipment of offer ``n`` reaches the partner."""
        s = self.shipments[n]
        return float(self.bounds[min(s.first + s.lead, self.plan.months)])

    def systems_up(self, system_ids: Sequence[str], t: FloatArray,
                   available: FloatArray) -> dict[str, FloatArray]:
        """Each system type's mean systems available in each month of the plan:
        ``available`` (types × days ``t``) integrated over the month (:func:`integral`)
        over its calendar days."""
        cum = integral(t, available, self.bounds)
        per_month = np.diff(cum, axis=1) / np.diff(self.bounds)[None, :]
        return {s: per_month[k] for k, s in enumerate(system_ids)}

    def data(self, up: Mapping[str, FloatArray]) -> PlanData:
        """The section as arrays, with fleet usage from ``up`` added to explicit demand."""
        return plan_data(self.plan, systems_up=up, add_usage=True)

    def share(self, d: PlanData, qty: Sequence[int]) -> FloatArray:
        """(C, T) share of each consumable's demand met with ``qty`` units of each offer
        (1 for a consumable no fleet uses: it is not planned)."""
        _, C, T = d.shape
        out = np.ones((C, T))
        for c in self.used:
            mine = tuple(n for n, s in self.shipments.items() if s.consumable == c)
            taken = tuple(int(qty[n]) for n in mine)
            key = (c, d.demand[c].tobytes(), taken)
            hit = self._cache.get(key)
            if hit is None:
                hit = self._share_of(one_consumable(d, c), [self.shipments[n] for n in mine],
                                     taken)
                self._cache[key] = hit
            out[c] = hit
        return out

    def _share_of(self, d: PlanData, ships: list[Shipments], taken: tuple[int, ...]) -> FloatArray:
        """(T,) share met of the one consumable of ``d`` with ``taken`` blocks of ``ships``."""
        T = d.shape[2]
        leads = sorted({s.lead for s, k in zip(ships, taken, strict=True) if k > 0})
        if leads:
            shipped = np.zeros((len(leads), 1, T))
            for s, k in zip(ships, taken, strict=True):
                if k > 0 and s.months > 0:
                    shipped[leads.index(s.lead), 0, s.first:s.last + 1] += k * s.per_unit
            d = with_shipments(d, tuple(f"offers, lead {x}" for x in leads),
                               np.array(leads, dtype=np.int64), shipped)
        demand = d.demand[0]
        if bool(no_shortfall_possible(d)[0]):
            return np.ones(T)
        t0 = time.perf_counter()
        short = plan_from_data(d).shortfall[0]
        self.solve_seconds += time.perf_counter() - t0
        self.solves += 1
        with np.errstate(divide="ignore", invalid="ignore"):
            met = np.where(demand > 0, 1.0 - short / demand, 1.0)
        return np.asarray(np.clip(met, 0.0, 1.0), dtype=np.float64)

    def month_days(self, t: FloatArray, available: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per row of ``available`` (rows × days ``t``, ``t[-1]`` = D): system-days in each
        month of the plan within ``[0, D]`` (rows × T), and after the plan's last month
        (rows,), where every share is 1."""
        edges = np.minimum(self.bounds, float(t[-1]))
        cum = integral(t, available, edges)
        inside = np.diff(cum, axis=1)
        total = integral(t, available, np.array([float(t[-1])]))[:, 0]
        return inside, total - cum[:, -1]

