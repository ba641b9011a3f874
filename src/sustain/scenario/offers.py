"""The ``offers`` and ``value`` tables: references and the rules of each kind of offer.

The rows are checked against :mod:`sustain.scenario.schema` by the row validator like
every table; this module checks what one row alone cannot tell: ids (unique offers,
existing systems, items, sites and consumables, with hints), which keys each
``kind`` takes, and the hours per day of a fleet a systems offer creates.
"""

from __future__ import annotations

from typing import Any

from sustain.scenario.issues import Collector
from sustain.scenario.model import Offer, StockpilePlan, SystemValue
from sustain.scenario.months import month_offset
from sustain.scenario.schema import SECTION, OfferKind

#: The keys each kind of offer needs, and the keys it takes besides the common ones.
_NEEDS: dict[OfferKind, tuple[str, ...]] = {
    OfferKind.SYSTEMS: ("system", "site", "max"),
    OfferKind.SPARES: ("item", "site", "max"),
    OfferKind.CONSUMABLE: ("consumable", "per_month"),
}
_TAKES: dict[OfferKind, frozenset[str]] = {
    OfferKind.SYSTEMS: frozenset({"system", "site", "max", "from_day", "hours_per_day"}),
    OfferKind.SPARES: frozenset({"item", "site", "max", "from_day"}),
    OfferKind.CONSUMABLE: frozenset({"consumable", "per_month", "from_month"}),
}
_SPECIFIC = ("system", "item", "site", "consumable", "max", "per_month", "from_day",
             "from_month", "hours_per_day")


def check_offers(
    c: Collector,
    tables: dict[str, list[tuple[int, Any]]],
    *,
    sites: dict[str, Any],
    systems: dict[str, Any],
    items: dict[str, Any],
    plan: StockpilePlan | None,
) -> tuple[tuple[Offer, ...], tuple[SystemValue, ...]]:
    """Check ``offers`` and ``value``; report into ``c``; return their model objects."""
    fleet_hours: dict[tuple[str, str], float] = {
        (r.system, r.site): r.hours_per_day for _, r in tables["fleets"]
    }
    for _, r in tables["deliveries"]:
        if r.hours_per_day is not None:
            fleet_hours.setdefault((r.system, r.site), r.hours_per_day)
    section = SECTION in c.raw.data
    consumables = {x.id for x in plan.consumables} if plan is not None else set()
    c.unique(("offers",), tables["offers"], lambda r: r.id,
             lambda r, at: f"offer id {c.show(at, r.id)}")
    offers: list[Offer] = []
    for i, r in tables["offers"]:
        at = ("offers", i)
        kind = OfferKind(r.kind)
        for key in _NEEDS[kind]:
            if getattr(r, key) is None and key not in c.absent["offers"]:
                c.add((*at, key), f"required for an offer of kind {kind.value}")
        for key in _SPECIFIC:
            if getattr(r, key) is not None and key not in _TAKES[kind]:
                c.add((*at, key), f"an offer of kind {kind.value} takes no {key} "
                      f"(it takes {', '.join(sorted(_TAKES[kind]))})")
        ok = True
        if r.system is not None and kind is OfferKind.SYSTEMS:
            ok = c.ref((*at, "system"), r.system, systems, "system", "systems") and ok
        if r.item is not None and kind is OfferKind.SPARES:
            c.ref((*at, "item"), r.item, items, "item", "items")
        if r.site is not None and kind is not OfferKind.CONSUMABLE:
            ok = c.ref((*at, "site"), r.site, sites, "site", "sites") and ok
        if r.consumable is not None and kind is OfferKind.CONSUMABLE:
            if not section:
                c.add((*at, "consumable"),
                      "a consumable offer needs the stockpile section (the consumables "
                      "and what the partner uses)")
            elif plan is not None:
                c.ref((*at, "consumable"), r.consumable, consumables, "consumable",
                      f"{SECTION}.consumables")
        hours = r.hours_per_day
        if kind is OfferKind.SYSTEMS and ok and r.system is not None and r.site is not None:
            fleet = (r.system, r.site)
            if fleet in fleet_hours:
                if hours is not None and hours != fleet_hours[fleet]:
                    c.add((*at, "hours_per_day"),
                          f"the fleet of {c.show(at, r.system)} at {c.show(at, r.site)} runs "
                          f"{fleet_hours[fleet]:g} hours per day; an offer cannot change it: "
                          f"got {hours:g}")
                hours = fleet_hours[fleet]
            elif hours is None:
                c.add((*at, "hours_per_day"),
                      f"required: there is no fleet of {c.show(at, r.system)} at "
                      f"{c.show(at, r.site)}, so the offer creates one and must say how many "
                      "hours per day it runs")
        if (
            plan is not None and r.from_month is not None and kind is OfferKind.CONSUMABLE
            and month_offset(plan.start_month, r.from_month) < 0
        ):
            c.add((*at, "from_month"), f"month {c.plain(at, r.from_month)} is before "
                      f"start_month {plan.start_month}")
        offers.append(Offer(
            id=r.id, kind=kind.value, unit_cost=r.unit_cost, donor=r.donor, system=r.system,
            item=r.item, site=r.site, consumable=r.consumable, max=r.max or 0,
            per_month=r.per_month or 0.0, from_day=r.from_day or 0.0,
            from_month=r.from_month, hours_per_day=hours,
        ))
    for i, r in tables["value"]:
        c.ref(("value", i, "system"), r.system, systems, "system", "systems")
    c.unique(("value",), tables["value"], lambda r: r.system,
             lambda r, at: f"value of {c.show(at, r.system)}")
    value = tuple(SystemValue(system=r.system, per_system_day=r.per_system_day)
                  for _, r in tables["value"])
    return tuple(offers), value
