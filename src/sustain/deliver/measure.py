"""The measure: mission-capable system-days of a choice of offers.

For each fleet and day, the expected systems available (the readiness-over-time
engine, :func:`~sustain.readiness.over_time.evaluate_over_time`, with the systems
offered as deliveries on their ``from_day`` and the spares offered as stock arriving
on theirs) times the share of the fleet's consumable usage met that month (the
stockpile plan with the consumables offered as extra supply:
:mod:`sustain.deliver.supply`; 1 when the fleet uses no consumable) times the system
type's ``value``, summed over the days ``0 … D`` (the trapezoid rule on the engine's
report days ``0, K, 2K, …, D``).

A fleet whose type uses several consumables is as able to fire as the scarcest
allows: its share in a month is the least of theirs.

A consumable offer is taken in equal blocks of its ``per_month`` (a tenth, or one
unit where ``per_month`` is 10 or less: :func:`~sustain.deliver.supply.block_count`):
one unit of the measure is one block, shipped every month the offer ships, and costs
``per_month / blocks × unit_cost × months``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sustain._types import FloatArray
from sustain.deliver.supply import CONSUMABLE_BLOCKS, Supply, block_count
from sustain.errors import SustainError
from sustain.readiness.metric import Method
from sustain.readiness.over_time import evaluate_over_time
from sustain.scenario.compile import compile_scenario
from sustain.scenario.model import Delivery, Offer, Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Valuation:
    """The measure of one choice of offers.

    Attributes
    ----------
    qty : tuple of int
        Units taken of each offer (the order of ``Measure.offers``).
    fleets : tuple of (str, str)
        (system, site) of each fleet present at some time.
    system_days : FloatArray
        (fleets,) expected mission-capable system-days over the horizon: systems
        available times the share of their consumable usage met.
    value : FloatArray
        (fleets,) the same times each system type's value per system-day.
    """

    qty: tuple[int, ...]
    fleets: tuple[tuple[str, str], ...]
    system_days: FloatArray
    value: FloatArray

    @property
    def total(self) -> float:
        """The measure: value-weighted mission-capable system-days of every fleet."""
        return float(self.value.sum())


class Measure:
    """Values choices of ``scenario.offers`` over ``days`` (see the module docstring).

    Each distinct choice is evaluated once and remembered; :attr:`evaluations` counts
    the engine runs.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        days: int = 730,
        step: int = 7,
        method: Method | str = Method.VARI_METRIC,
        consumable_blocks: int = CONSUMABLE_BLOCKS,
    ) -> None:
        self.scenario = scenario
        self.days = int(days)
        self.step = int(step)
        self.method = Method(method)
        self.offers: tuple[Offer, ...] = scenario.offers
        a = compile_scenario(scenario)
        self._item = {x: n for n, x in enumerate(a.item_ids)}
        self._site = {x: n for n, x in enumerate(a.site_ids)}
        self._shape = (a.n_items, a.n_sites)
        self._cache: dict[tuple[int, ...], Valuation] = {}
        self._runs: dict[tuple[int, ...], tuple[tuple[tuple[str, str], ...], FloatArray,
                                                FloatArray]] = {}
        self._index = {o.id: n for n, o in enumerate(self.offers)}
        #: The stockpile coupling, where some fleet type uses a consumable.
        self.supply: Supply | None = None
        if scenario.stockpile is not None and any(u.per_system_day > 0
                                                  for u in scenario.stockpile.usage):
            self.supply = Supply(scenario, self.offers, days=self.days,
                                 blocks=consumable_blocks)
        caps, costs = [], []
        for n, o in enumerate(self.offers):
            if o.kind == "consumable":
                ships = self.supply.shipments[n] if self.supply is not None else None
                months = max(ships.months, 1) if ships is not None else 1
                count = block_count(o.per_month, consumable_blocks)
                caps.append(count)
                costs.append(o.per_month / max(count, 1) * o.unit_cost * months)
            else:
                caps.append(o.max)
                costs.append(o.unit_cost)
        #: Most units of each offer (blocks for a consumable offer).
        self.caps: tuple[int, ...] = tuple(caps)
        #: Cost of one unit of each offer (of one block, every month, for a consumable).
        self.costs: tuple[float, ...] = tuple(costs)
        #: Distinct choices valued, and runs of the readiness-over-time engine.
        self.evaluations = 0
        self.engine_runs = 0

    def in_horizon(self, o: Offer) -> bool:
        """Can ``o`` change the measure at all: systems or spares arriving by the last
        day; a consumable offer shipping in a month that counts, of a consumable some
        fleet type uses."""
        if o.kind == "consumable":
            return self.supply is not None and self.supply.useful(self._index[o.id])
        return o.from_day <= self.days

    def per_month(self, o: Offer, units: int) -> float:
        """Units a month that ``units`` blocks of consumable offer ``o`` ship."""
        return units * o.per_month / max(self.caps[self._index[o.id]], 1)

    def months(self, o: Offer) -> int:
        """Months consumable offer ``o`` ships (0: none that counts)."""
        if self.supply is None:
            return 0
        return self.supply.shipments[self._index[o.id]].months

    def first_day(self, o: Offer) -> float:
        """The day ``o`` first adds anything: its ``from_day``, or the day a consumable
        offer's first shipment reaches the partner."""
        if o.kind == "consumable" and self.supply is not None:
            return self.supply.first_day(self._index[o.id])
        return o.from_day

    def _run(self, key: tuple[int, ...]) -> tuple[tuple[tuple[str, str], ...], FloatArray,
                                                  FloatArray]:
        """The engine with the systems and spares of ``key``: the fleets, the report
        days and the expected systems available (fleets × days); remembered."""
        hit = self._runs.get(key)
        if hit is not None:
            return hit
        deliveries: list[Delivery] = []
        arrivals: list[tuple[FloatArray, float]] = []
        for o, q in zip(self.offers, key, strict=True):
            if q <= 0 or o.kind == "consumable" or not self.in_horizon(o):
                continue
            if o.kind == "systems":
                deliveries.append(Delivery(day=o.from_day, system=str(o.system),
                                           site=str(o.site), count=q,
                                           hours_per_day=o.hours_per_day))
            else:
                add = np.zeros(self._shape)
                add[self._item[str(o.item)], self._site[str(o.site)]] = q
                arrivals.append((add, o.from_day))
        scenario = replace(self.scenario, deliveries=self.scenario.deliveries + tuple(deliveries))
        ot = evaluate_over_time(scenario, days=self.days, step=self.step, method=self.method,
                                arrivals=arrivals)
        self.engine_runs += 1
        a = ot.arrays
        fleets = tuple(
            (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])])
            for f in range(a.fleet_system.size)
        )
        out = (fleets, ot.days.astype(np.float64),
               np.asarray(ot.expected_available, dtype=np.float64))
        self._runs[key] = out
        return out

    def __call__(self, qty: Sequence[int]) -> Valuation:
        """The measure with ``qty[n]`` units of offer ``n`` taken (blocks, for a
        consumable offer)."""
        key = tuple(int(x) for x in qty)
        if len(key) != len(self.offers):
            raise SustainError(f"expected {len(self.offers)} quantities: got {len(key)}")
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        engine = tuple(0 if o.kind == "consumable" else q
                       for o, q in zip(self.offers, key, strict=True))
        fleets, t, available = self._run(engine)
        if self.supply is None:
            system_days = np.asarray(np.trapezoid(available, t, axis=1), dtype=np.float64)
        else:
            system_days = self._with_consumables(key, fleets, t, available)
        self.evaluations += 1
        weight = np.array([self.scenario.value_per_system_day(k) for k, _ in fleets])
        out = Valuation(qty=key, fleets=fleets, system_days=system_days,
                        value=system_days * weight)
        self._cache[key] = out
        return out

    def _with_consumables(self, key: tuple[int, ...], fleets: tuple[tuple[str, str], ...],
                          t: FloatArray, available: FloatArray) -> FloatArray:
        """(fleets,) system-days available × the share of their consumable usage met."""
        supply = self.supply
        if supply is None:
            raise SustainError("no stockpile coupling: the measure has no consumables")
        types = tuple(dict.fromkeys(s for s, _ in fleets))
        by_type = np.zeros((len(types), t.size))
        for f, (s, _) in enumerate(fleets):
            by_type[types.index(s)] += available[f]
        d = supply.data(supply.systems_up(types, t, by_type))
        share = supply.share(d, key)  # (C, T)
        inside, after = supply.month_days(t, available)  # (fleets, T), (fleets,)
        out = np.empty(len(fleets))
        for f, (s, _) in enumerate(fleets):
            used = supply.uses.get(s, ())
            fleet_share = np.min(share[list(used)], axis=0) if used else 1.0
            out[f] = float(np.sum(inside[f] * fleet_share)) + float(after[f])
        return out
