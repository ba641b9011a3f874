"""The measure: mission-capable system-days of a choice of offers.

For each fleet and day, the expected systems available (the readiness-over-time
engine, :func:`~sustain.readiness.over_time.evaluate_over_time`, with the systems
offered as deliveries on their ``from_day`` and the spares offered as stock arriving
on theirs) times the system type's ``value``, summed over the days ``0 … D`` (the
trapezoid rule on the engine's report days ``0, K, 2K, …, D``).

The share of each fleet's consumable usage met is taken as 1: consumable offers are
checked but not valued yet (:attr:`Measure.unvalued` names them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.readiness.metric import Method
from sustain.readiness.over_time import evaluate_over_time
from sustain.scenario.compile import compile_scenario
from sustain.scenario.model import Delivery, Offer, Scenario

#: The kinds of offer the measure values.
VALUED_KINDS = ("systems", "spares")


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
        (fleets,) expected mission-capable system-days over the horizon.
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
        self.evaluations = 0

    @property
    def unvalued(self) -> tuple[str, ...]:
        """Ids of the offers the measure does not value (consumables)."""
        return tuple(o.id for o in self.offers if o.kind not in VALUED_KINDS)

    def in_horizon(self, o: Offer) -> bool:
        """Can ``o`` change the measure at all: a valued kind arriving by the last day."""
        return o.kind in VALUED_KINDS and o.from_day <= self.days

    def __call__(self, qty: Sequence[int]) -> Valuation:
        """The measure with ``qty[n]`` units of offer ``n`` taken."""
        key = tuple(int(x) for x in qty)
        if len(key) != len(self.offers):
            raise SustainError(f"expected {len(self.offers)} quantities: got {len(key)}")
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        deliveries: list[Delivery] = []
        arrivals: list[tuple[FloatArray, float]] = []
        for o, q in zip(self.offers, key, strict=True):
            if q <= 0 or not self.in_horizon(o):
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
        self.evaluations += 1
        a = ot.arrays
        fleets = tuple(
            (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])])
            for f in range(a.fleet_system.size)
        )
        t = ot.days.astype(np.float64)
        system_days = np.asarray(np.trapezoid(ot.expected_available, t, axis=1), dtype=np.float64)
        weight = np.array([self.scenario.value_per_system_day(k) for k, _ in fleets])
        out = Valuation(qty=key, fleets=fleets, system_days=system_days,
                        value=system_days * weight)
        self._cache[key] = out
        return out
