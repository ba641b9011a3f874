"""The time-phased keys of a scenario: references and cross-row rules.

``deliveries``, ``tempo``, ``attrition`` and ``battle_damage`` are tables like the
others (rows checked against :mod:`sustain.scenario.schema` by the row validator,
and possibly read from files);
``simulation`` is a mapping of settings.  This module checks what one row alone
cannot tell (ids, which fleet a row means, a window's order, one of two forms of
attrition) and builds the model objects.  They are read by the simulator and by the
analytic evaluation over time (``evaluate --over-time``); the steady-state analytic
engine (``evaluate`` / ``optimize``) ignores them.  The readings both engines share
(the fleets a delivery creates, the tempo factor of a fleet on a day) live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from sustain.errors import SustainError
from sustain.scenario.issues import Collector
from sustain.scenario.messages import describe
from sustain.scenario.model import (
    Attrition,
    BattleDamage,
    DeliveredStock,
    Delivery,
    Fleet,
    Scenario,
    SimulationOptions,
    TempoChange,
)
from sustain.scenario.rows import pydantic_message
from sustain.scenario.schema import SimulationDoc, field_names


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    """The checked time-phased keys."""

    deliveries: tuple[Delivery, ...] = ()
    tempo: tuple[TempoChange, ...] = ()
    attrition: tuple[Attrition, ...] = ()
    battle_damage: tuple[BattleDamage, ...] = ()
    simulation: SimulationOptions = field(default_factory=SimulationOptions)


def check_timeline(
    c: Collector,
    tables: dict[str, list[tuple[int, Any]]],
    *,
    sites: dict[str, Any],
    systems: dict[str, Any],
    items: dict[str, Any],
) -> Timeline:
    """Check the time-phased tables and the ``simulation`` settings; report into ``c``."""
    fleet_hours: dict[tuple[str, str], float] = {
        (r.system, r.site): r.hours_per_day for _, r in tables["fleets"]
    }
    # Which fleets exist at some time: at day 0 or created by a delivery.
    fleets: set[tuple[str, str]] = set(fleet_hours)
    new_hours: dict[tuple[str, str], tuple[int, float]] = {}
    deliveries: list[Delivery] = []
    for i, r in tables["deliveries"]:
        at = ("deliveries", i)
        ok = c.ref((*at, "system"), r.system, systems, "system", "systems")
        ok = c.ref((*at, "site"), r.site, sites, "site", "sites") and ok
        for k, st in enumerate(r.stock or ()):
            c.ref((*at, "stock", k, "item"), st.item, items, "item", "items")
        key = (r.system, r.site)
        if ok and key in fleet_hours:
            if r.hours_per_day is not None and r.hours_per_day != fleet_hours[key]:
                c.add(
                    (*at, "hours_per_day"),
                    f"the fleet of {c.show(at, r.system)} at {c.show(at, r.site)} runs "
                    f"{fleet_hours[key]:g} hours per day (fleets); a delivery cannot change "
                    f"it: got {r.hours_per_day:g}",
                )
        elif ok and r.hours_per_day is not None:
            if key in new_hours and new_hours[key][1] != r.hours_per_day:
                first_at = c.first_at(("deliveries", new_hours[key][0]))
                c.add(
                    (*at, "hours_per_day"),
                    f"differs from the first delivery of {c.show(at, r.system)} to "
                    f"{c.show(at, r.site)} ({c.plain(at, f'{new_hours[key][1]:g}')} at {first_at})",
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
            at = ("deliveries", i)
            c.add(
                (*at, "hours_per_day"),
                f"required: there is no fleet of {c.show(at, r.system)} at {c.show(at, r.site)} "
                "at day 0, so the delivery creates one and must say how many hours per day it "
                "runs",
            )
            hours = None
            new_hours[key] = (i, 0.0)  # report once per fleet
        deliveries.append(Delivery(
            day=r.day, system=r.system, site=r.site, count=r.count, hours_per_day=hours,
            stock=tuple(DeliveredStock(item=s.item, qty=s.qty) for s in r.stock or ()),
        ))

    doubtful = "fleets" in c.uncertain or bool(c.broken["fleets"])  # a fleet row failed

    def fleet_exists(table: str, i: int, r: Any) -> None:
        at = (table, i)
        ok = c.ref((*at, "system"), r.system, systems, "system", "systems")
        ok = c.ref((*at, "site"), r.site, sites, "site", "sites") and ok
        if ok and not doubtful and (r.system, r.site) not in fleets:
            c.add(
                at,
                f"there is no fleet of {c.show(at, r.system)} at {c.show(at, r.site)} "
                "(in fleets or deliveries)",
            )

    tempo: list[TempoChange] = []
    for i, r in tables["tempo"]:
        at = ("tempo", i)
        if r.system is not None:
            c.ref((*at, "system"), r.system, systems, "system", "systems")
        if r.site is not None:
            c.ref((*at, "site"), r.site, sites, "site", "sites")
        if r.to_day <= r.from_day:
            c.add(
                (*at, "to_day"),
                f"must be > from_day ({c.plain(at, f'{r.from_day:g}')}): got {r.to_day:g}",
            )
        tempo.append(TempoChange(
            from_day=r.from_day, to_day=r.to_day, factor=r.factor, system=r.system, site=r.site,
        ))

    attrition: list[Attrition] = []
    for i, r in tables["attrition"]:
        fleet_exists("attrition", i, r)
        rate, day, count = r.losses_per_day is not None, r.day is not None, r.count is not None
        at = ("attrition", i)
        if rate and (day or count):
            c.add(
                (*at, "losses_per_day"),
                "give either losses_per_day (a rate) or day and count (losses on a day), "
                "not both",
            )
        elif not rate and not (day and count):
            if day or count:
                missing, other = ("count", "day") if day else ("day", "count")
                c.add((*at, missing), f"required with {other} (losses on a day)")
            else:
                c.add(
                    at,
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
            at = ("battle_damage", i)
            c.add(
                at,
                f"battle damage of {c.show(at, r.system)} at {c.show(at, r.site)} given twice "
                f"(first at {c.first_at(('battle_damage', first[key]))}); one row per fleet",
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
            c.add(("simulation",), f"must be a mapping of keys: got {describe(data)}")
        else:
            try:
                doc = SimulationDoc.model_validate(data)
            except ValidationError as exc:
                fields = field_names(SimulationDoc)
                for err in exc.errors():
                    loc = ("simulation", *err["loc"])
                    c.add_at(
                        c.raw.locate(loc), ".".join(map(str, loc)),
                        pydantic_message(err, fields, SimulationDoc),
                    )
            else:
                options = SimulationOptions(
                    warmup_days=doc.warmup_days, cannibalisation=bool(doc.cannibalisation),
                )
    return Timeline(
        deliveries=tuple(deliveries), tempo=tuple(tempo), attrition=tuple(attrition),
        battle_damage=tuple(damage), simulation=options,
    )


def with_delivered_fleets(scenario: Scenario) -> Scenario:
    """The scenario plus an empty (count 0) fleet for each fleet a delivery creates."""
    have = {(f.system, f.site) for f in scenario.fleets}
    extra: dict[tuple[str, str], Fleet] = {}
    for d in scenario.deliveries:
        key = (d.system, d.site)
        if key not in have and key not in extra and d.count > 0:
            if d.hours_per_day is None:  # validation requires it; a hand-built Scenario may not
                raise SustainError(
                    f"deliveries: the delivery of {d.system!r} to {d.site!r} creates a fleet "
                    "and needs hours_per_day"
                )
            extra[key] = Fleet(system=d.system, site=d.site, count=0,
                               hours_per_day=d.hours_per_day)
    if not extra:
        return scenario
    return replace(scenario, fleets=scenario.fleets + tuple(extra.values()))


def tempo_factors(
    tempo: Sequence[TempoChange], fleets: Sequence[tuple[str, str]], t: float
) -> list[float]:
    """The tempo factor of each fleet ``(system, site)`` on day ``t``.

    A row multiplies the hours per day of the fleets it matches (its ``system`` and
    ``site``, or every one where they are not given) on days ``[from_day, to_day)``;
    overlapping rows multiply, in the order of the rows.
    """
    out = [1.0] * len(fleets)
    for row in tempo:
        if row.from_day <= t < row.to_day:
            for f, (system, site) in enumerate(fleets):
                if row.system not in (None, system):
                    continue
                if row.site not in (None, site):
                    continue
                out[f] *= row.factor
    return out
