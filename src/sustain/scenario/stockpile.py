"""Check the ``stockpile:`` section of a scenario (``shared/spec/stockpile-format.md``).

The same standard as the rest of the scenario, through the same
:class:`~sustain.scenario.issues.Collector` and row validator: every problem in one
pass, each with its file, line or row and key path, unknown keys with a "did you
mean", months written ``YYYY-MM``, references to consumables, donors and systems
resolved.  Any list of the section (``consumables``, ``demand``, ``usage``, ``tempo``,
``donors``, ``pledges``, and a donor's ``production`` and ``surge``) may be
``{file: table.csv}`` (read by :mod:`sustain.scenario.load`); a quantity map
(``stock: {SHELL155: 300000}``) is written ``SHELL155:300000;PAC3:200`` in a table cell.
The field tables are in :mod:`sustain.scenario.schema`, the objects the planner
receives in :mod:`sustain.scenario.model`.

This module belongs to the scenario layer: it never imports :mod:`sustain.stockpile`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from sustain.errors import Issue
from sustain.scenario.issues import Collector
from sustain.scenario.messages import describe, hint_for
from sustain.scenario.model import (
    Consumable,
    DemandStep,
    Donor,
    Pledge,
    ProductionStep,
    StockpilePlan,
    SurgeStep,
    TempoStep,
    Usage,
)
from sustain.scenario.months import month_label, month_offset
from sustain.scenario.raw import table_key
from sustain.scenario.rows import pydantic_message, validate_rows
from sustain.scenario.schema import (
    DONOR_TABLES,
    SECTION,
    STOCKPILE_TABLES,
    ConsumableRow,
    DonorRow,
    HeadRow,
    StockpileDoc,
    field_names,
)

#: Names of the section's tables of ids, for references into them.
CONSUMABLES = f"{SECTION}.consumables"
DONORS = f"{SECTION}.donors"


def validate_section(
    c: Collector,
    *,
    systems: Collection[str],
    systems_uncertain: bool,
    fielded: Collection[str] | None,
) -> StockpilePlan | None:
    """Check the ``stockpile:`` section of ``c.raw``, reporting into ``c``.

    Parameters
    ----------
    c : Collector
        Receives every issue of the section, errors and warnings.
    systems : collection of str
        System ids of the scenario (``usage`` rows refer to them).
    systems_uncertain : bool
        Some system rows failed their own checks: an unknown system is not reported.
    fielded : collection of str or None
        Systems with at least one fleet (``None``: cannot be told).

    Returns
    -------
    StockpilePlan or None
        The section (``None`` if absent or if the section has any error); its
        ``warnings`` are the section's issues.
    """
    raw = c.raw
    if SECTION not in raw.data:
        return None
    mark, errors_before = c.mark(), c.errors
    section = raw.data[SECTION]
    top = (SECTION,)
    if not isinstance(section, dict):
        c.add(top, f"must be a mapping of keys (start_month, months, …): got {describe(section)}")
        return None
    fields = field_names(StockpileDoc)
    for key in section:
        if key not in fields:
            c.add((*top, key), "unknown key", hint=hint_for(str(key), fields))

    head: HeadRow | None = None
    head_keys = {k: section[k] for k in field_names(HeadRow) if k in section}
    if isinstance(head_keys.get("months"), bool):
        c.add((*top, "months"), f"must be a whole number: got {describe(head_keys['months'])}")
    else:
        try:
            head = HeadRow.model_validate(head_keys)
        except ValidationError as exc:
            for err in exc.errors():
                message = pydantic_message(err, field_names(HeadRow), HeadRow)
                c.add((*top, *tuple(err["loc"])), message)

    rows = {
        key: validate_rows(
            c, (*top, key), model, section[key],
            nested=DONOR_TABLES if model is DonorRow else (),
        )
        for key, model in STOCKPILE_TABLES.items()
        if key in section
    }
    if "consumables" not in section:
        c.add((*top, "consumables"), "required key is missing")
        c.uncertain.add(CONSUMABLES)

    consumables = c.unique(
        (*top, "consumables"), rows.get("consumables", []), lambda r: r.id,
        lambda r, at: f"consumable id {c.show(at, r.id)}",
    )
    donors = c.unique(
        (*top, "donors"), rows.get("donors", []), lambda r: r.id,
        lambda r, at: f"donor id {c.show(at, r.id)}",
    )
    start = head.start_month if head is not None else None
    end = month_label(start, head.months - 1) if head is not None and start else None

    def in_horizon(loc: tuple[Any, ...], month: str, *, must: bool) -> None:
        """Report a month outside the horizon (``must``: before its start is an error)."""
        if start is None or end is None:
            return
        if must and month_offset(start, month) < 0:
            c.add(loc, f"month {c.plain(loc, month)} is before start_month {start}")
        elif month_offset(end, month) > 0:
            c.add(loc, f"month {c.plain(loc, month)} is after the last month of the plan "
                  f"({end}): this row has no effect", warning=True)

    def consumable(loc: tuple[Any, ...], cid: str) -> None:
        c.ref(loc, cid, consumables, "consumable", CONSUMABLES)

    # Partner stock.
    if head is not None:
        for cid in head.partner_stock:
            consumable((*top, "partner_stock", cid), cid)

    # Demand, usage, tempo.
    demand_loc = (*top, "demand")
    for i, r in rows.get("demand", []):
        consumable((*demand_loc, i, "consumable"), r.consumable)
        in_horizon((*demand_loc, i, "from"), r.from_, must=False)
    c.unique(
        demand_loc, rows.get("demand", []), lambda r: (r.consumable, r.from_),
        lambda r, at: f"demand of {c.show(at, r.consumable)} from {c.plain(at, r.from_)}",
    )
    usage_loc = (*top, "usage")
    at: tuple[Any, ...]
    for i, r in rows.get("usage", []):
        at = (*usage_loc, i, "system")
        consumable((*usage_loc, i, "consumable"), r.consumable)
        if r.system not in systems:
            if not systems_uncertain:
                c.add(at, f"{c.show(at, r.system)} is not a system id",
                      hint=hint_for(r.system, systems) if systems else (
                          lambda: " (the scenario lists no systems)"))
        elif fielded is not None and r.system not in fielded:
            c.add(at, f"system {c.show(at, r.system)} has no fleet: this usage adds no demand",
                  warning=True)
    c.unique(
        usage_loc, rows.get("usage", []), lambda r: (r.consumable, r.system),
        lambda r, at: f"usage of {c.show(at, r.consumable)} by {c.show(at, r.system)}",
    )
    tempo_loc = (*top, "tempo")
    for i, r in rows.get("tempo", []):
        in_horizon((*tempo_loc, i, "from"), r.from_, must=False)
    c.unique(tempo_loc, rows.get("tempo", []), lambda r: r.from_,
             lambda r, at: f"tempo from {c.plain(at, r.from_)}")

    # Donors.
    donors_loc = (*top, "donors")
    for did, (i, d) in donors.items():
        here = (*donors_loc, i)
        for key in ("stock", "floor", "own_use_per_month"):
            for cid in getattr(d, key):
                consumable((*here, key, cid), cid)
        for key in DONOR_TABLES:
            steps = list(enumerate(getattr(d, key)))
            for k, r in steps:
                consumable((*here, key, k, "consumable"), r.consumable)
                in_horizon((*here, key, k, "from"), r.from_, must=False)

            def label(r: Any, at: tuple[Any, ...], what: str = key) -> str:
                return f"{what} of {c.show(at, r.consumable)} from {c.plain(at, r.from_)}"

            c.unique((*here, key), steps, lambda r: (r.consumable, r.from_), label)
        for cid, floor in d.floor.items():
            held = d.stock.get(cid, 0.0)
            if cid in consumables and floor > held:
                at = (*here, "floor", cid)
                c.add(at, f"floor {c.plain(at, _n(floor))} is above the starting stock "
                      f"{c.plain(at, _n(held))}: donor {c.show(at, did)} starts below its "
                      f"{c.plain(at, cid)} floor", warning=True)

    # Pledges.
    pledges_loc = (*top, "pledges")
    for i, r in rows.get("pledges", []):
        c.ref((*pledges_loc, i, "donor"), r.donor, donors, "donor", DONORS)
        consumable((*pledges_loc, i, "consumable"), r.consumable)
        in_horizon((*pledges_loc, i, "month"), r.month, must=True)
    c.unique(
        pledges_loc, rows.get("pledges", []), lambda r: (r.donor, r.consumable, r.month),
        lambda r, at: f"pledge of {c.show(at, r.consumable)} by {c.show(at, r.donor)} in "
        f"{c.plain(at, r.month)}",
        hint="; merge the quantities",
    )

    # Rows that failed their own checks (a negative quantity): their references are
    # independent of that, so this pass reports them too.
    refs: dict[str, tuple[tuple[str, Collection[str], str, str], ...]] = {
        "demand": (("consumable", consumables, "consumable", CONSUMABLES),),
        "usage": (("consumable", consumables, "consumable", CONSUMABLES),),
        "pledges": (("donor", donors, "donor", DONORS),
                    ("consumable", consumables, "consumable", CONSUMABLES)),
    }
    for key, checks in refs.items():
        for i, row in c.failed[table_key((*top, key))]:
            for field, ids, what, table in checks:
                value = row.get(field)
                if isinstance(value, str) and value:
                    c.ref((*top, key, i, field), value, ids, what, table)

    # Soft: a consumable nothing demands (not said when there are errors: cascades).
    needed = {r.consumable for _, r in rows.get("demand", [])}
    needed |= {r.consumable for _, r in rows.get("usage", [])}
    clean = c.errors == errors_before
    for cid, (i, _) in consumables.items():
        if clean and cid not in needed:
            at = (*top, "consumables", i)
            c.add(at, f"nothing demands {c.show(at, cid)} (no demand or usage row)",
                  warning=True)

    issues = c.since(mark)
    if c.errors > errors_before or head is None:
        return None
    return _plan(head, consumables, rows, donors, tuple(issues))


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


def _plan(
    head: HeadRow,
    consumables: Mapping[str, tuple[int, ConsumableRow]],
    rows: Mapping[str, list[tuple[int, Any]]],
    donors: Mapping[str, tuple[int, DonorRow]],
    warnings: tuple[Issue, ...],
) -> StockpilePlan:
    cost = {cid: r.unit_cost for cid, (_, r) in consumables.items()}
    return StockpilePlan(
        start_month=head.start_month,
        months=head.months,
        consumables=tuple(
            Consumable(id=r.id, name=r.name, unit_cost=r.unit_cost, priority=r.priority)
            for _, r in consumables.values()
        ),
        demand=tuple(
            DemandStep(consumable=r.consumable, from_month=r.from_, per_month=r.per_month)
            for _, r in rows.get("demand", [])
        ),
        usage=tuple(
            Usage(consumable=r.consumable, system=r.system, per_system_day=r.per_system_day)
            for _, r in rows.get("usage", [])
        ),
        tempo=tuple(
            TempoStep(from_month=r.from_, factor=r.factor) for _, r in rows.get("tempo", [])
        ),
        partner_stock=MappingProxyType(dict(head.partner_stock)),
        donors=tuple(
            Donor(
                id=d.id,
                name=d.name,
                stock=MappingProxyType(dict(d.stock)),
                floor=MappingProxyType(dict(d.floor)),
                own_use_per_month=MappingProxyType(dict(d.own_use_per_month)),
                lead_months=d.lead_months,
                production=tuple(
                    ProductionStep(consumable=p.consumable, from_month=p.from_,
                                   per_month=p.per_month)
                    for p in d.production
                ),
                surge=tuple(
                    SurgeStep(
                        consumable=p.consumable, from_month=p.from_, per_month=p.per_month,
                        unit_cost=cost[p.consumable] if p.unit_cost is None else p.unit_cost,
                    )
                    for p in d.surge
                ),
            )
            for _, d in donors.values()
        ),
        pledges=tuple(
            Pledge(donor=r.donor, consumable=r.consumable, month=r.month, qty=r.qty)
            for _, r in rows.get("pledges", [])
        ),
        warnings=warnings,
    )
