"""The time-phased keys of a scenario: references and cross-row rules.

``deliveries``, ``tempo``, ``attrition`` and ``battle_damage`` are tables like the
others (rows checked against :mod:`sustain.scenario.schema` by
:func:`~sustain.scenario.validate.validate`, which may read them from files);
``simulation`` is a mapping of settings.  This module checks what one row alone
cannot tell (ids, which fleet a row means, a window's order, one of two forms of
attrition) and builds the model objects.  They are read by the simulator only: the
analytic engine (``evaluate`` / ``optimize``) is steady state and ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sustain.scenario import schema
from sustain.scenario.model import (
    Attrition,
    BattleDamage,
    DeliveredStock,
    Delivery,
    SimulationOptions,
    TempoChange,
)

if TYPE_CHECKING:
    from sustain.scenario.validate import _Checker


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The checked time-phased keys."""

    deliveries: tuple[Delivery, ...] = ()
    tempo: tuple[TempoChange, ...] = ()
    attrition: tuple[Attrition, ...] = ()
    battle_damage: tuple[BattleDamage, ...] = ()
    simulation: SimulationOptions = field(default_factory=SimulationOptions)


def check_timeline(
    c: _Checker,
    tables: dict[str, list[tuple[int, Any]]],
    *,
    sites: dict[str, Any],
    systems: dict[str, Any],
    items: dict[str, Any],
) -> Timeline:
    """Check the time-phased tables and the ``simulation`` settings; report into ``c``."""
    from sustain.scenario.validate import _check_ref, _describe, _pydantic_message

    fleet_hours: dict[tuple[str, str], float] = {
        (r.system, r.site): r.hours_per_day for _, r in tables["fleets"]
    }
    # Which fleets exist at some time: at day 0 or created by a delivery.
    fleets: set[tuple[str, str]] = set(fleet_hours)
    new_hours: dict[tuple[str, str], tuple[int, float]] = {}
    deliveries: list[Delivery] = []
    for i, r in tables["deliveries"]:
        ok = _check_ref(c, "deliveries", i, "system", r.system, systems, "system")
        ok = _check_ref(c, "deliveries", i, "site", r.site, sites, "site") and ok
        for k, st in enumerate(r.stock or ()):
            _check_ref(c, "deliveries", i, f"stock[{k}].item", st.item, items, "item")
        key = (r.system, r.site)
        if ok and key in fleet_hours:
            if r.hours_per_day is not None and r.hours_per_day != fleet_hours[key]:
                c.row_issue(
                    "deliveries", i, "hours_per_day",
                    f"the fleet of {r.system!r} at {r.site!r} runs {fleet_hours[key]:g} hours "
                    f"per day (fleets); a delivery cannot change it: got {r.hours_per_day:g}",
                )
        elif ok and r.hours_per_day is not None:
            if key in new_hours and new_hours[key][1] != r.hours_per_day:
                c.row_issue(
                    "deliveries", i, "hours_per_day",
                    f"differs from the first delivery of {r.system!r} to {r.site!r} "
                    f"({new_hours[key][1]:g} at {c.raw.at('deliveries', new_hours[key][0])})",
                )
            new_hours.setdefault(key, (i, r.hours_per_day))
        if ok and r.count > 0:
            fleets.add(key)
    for i, r in tables["deliveries"]:
        key = (r.system, r.site)
        if key in fleet_hours or key not in fleets or (r.count == 0 and key not in new_hours):
            hours = fleet_hours.get(key)
        elif key in new_hours:
            hours = new_hours[key][1]
        else:
            c.row_issue(
                "deliveries", i, "hours_per_day",
                f"required: there is no fleet of {r.system!r} at {r.site!r} at day 0, so "
                "the delivery creates one and must say how many hours per day it runs",
            )
            hours = None
            new_hours[key] = (i, 0.0)  # report once per fleet
        deliveries.append(Delivery(
            day=r.day, system=r.system, site=r.site, count=r.count, hours_per_day=hours,
            stock=tuple(DeliveredStock(item=s.item, qty=s.qty) for s in r.stock or ()),
        ))

    doubtful = "fleets" in c.uncertain or bool(c.fleet_systems)  # a fleet row failed

    def fleet_exists(table: str, i: int, r: Any) -> None:
        ok = _check_ref(c, table, i, "system", r.system, systems, "system")
        ok = _check_ref(c, table, i, "site", r.site, sites, "site") and ok
        if ok and not doubtful and (r.system, r.site) not in fleets:
            c.row_issue(
                table, i, "",
                f"there is no fleet of {r.system!r} at {r.site!r} (in fleets or deliveries)",
            )

    tempo: list[TempoChange] = []
    for i, r in tables["tempo"]:
        if r.system is not None:
            _check_ref(c, "tempo", i, "system", r.system, systems, "system")
        if r.site is not None:
            _check_ref(c, "tempo", i, "site", r.site, sites, "site")
        if r.to_day <= r.from_day:
            c.row_issue(
                "tempo", i, "to_day",
                f"must be > from_day ({r.from_day:g}): got {r.to_day:g}",
            )
        tempo.append(TempoChange(
            from_day=r.from_day, to_day=r.to_day, factor=r.factor, system=r.system, site=r.site,
        ))

    attrition: list[Attrition] = []
    for i, r in tables["attrition"]:
        fleet_exists("attrition", i, r)
        rate, day, count = r.losses_per_day is not None, r.day is not None, r.count is not None
        if rate and (day or count):
            c.row_issue(
                "attrition", i, "losses_per_day",
                "give either losses_per_day (a rate) or day and count (losses on a day), "
                "not both",
            )
        elif not rate and not (day and count):
            if day or count:
                missing, other = ("count", "day") if day else ("day", "count")
                c.row_issue(
                    "attrition", i, missing,
                    f"required with {other} (losses on a day)",
                )
            else:
                c.row_issue(
                    "attrition", i, "",
                    "needs losses_per_day (a rate) or day and count (losses on a day)",
                )
        attrition.append(Attrition(
            system=r.system, site=r.site, losses_per_day=r.losses_per_day, day=r.day,
            count=r.count,
        ))

    damage: list[BattleDamage] = []
    first: dict[tuple[str, str], int] = {}
    for i, r in tables["battle_damage"]:
        fleet_exists("battle_damage", i, r)
        key = (r.system, r.site)
        if key in first:
            c.row_issue(
                "battle_damage", i, "",
                f"battle damage of {r.system!r} at {r.site!r} given twice "
                f"(first at {c.raw.at('battle_damage', first[key])}); one row per fleet",
            )
        first.setdefault(key, i)
        damage.append(BattleDamage(
            system=r.system, site=r.site, damaged_per_day=r.damaged_per_day,
            repair_days=r.repair_days,
        ))

    options = SimulationOptions()
    data = c.raw.data.get("simulation")
    if data is not None:
        if not isinstance(data, dict):
            c.top_issue("simulation", f"must be a mapping of keys: got {_describe(data)}")
        else:
            try:
                doc = schema.SimulationDoc.model_validate(data)
            except ValidationError as exc:
                fields = list(schema.SimulationDoc.model_fields)
                for err in exc.errors():
                    loc = ("simulation", *err["loc"])
                    c.top_issue(
                        ".".join(map(str, loc)), _pydantic_message(dict(err), fields),
                        where=c.raw.locate(loc),
                    )
            else:
                options = SimulationOptions(
                    warmup_days=doc.warmup_days, cannibalisation=bool(doc.cannibalisation),
                )
    return Timeline(
        deliveries=tuple(deliveries), tempo=tuple(tempo), attrition=tuple(attrition),
        battle_damage=tuple(damage), simulation=options,
    )
