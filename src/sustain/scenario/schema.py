"""The scenario contract as field tables: one pydantic model per kind of row.

The core tables (``shared/spec/scenario-format.md``), the time-phased tables read by
the simulator, and the ``stockpile:`` section (``shared/spec/stockpile-format.md``)
all live here: each field's name, type, unit (in the name), default and accepted
range are written once.  :mod:`sustain.scenario.rows` runs these models and turns
their errors into :class:`~sustain.errors.Issue` objects with file, row and key path;
``docs/scenario.md`` and ``docs/stockpile.md`` list the same fields
(``Model.model_json_schema()`` gives them too).

Every number has a range (the table in docs/scenario.md gives the physical reason
for each): the engines downstream can trust that nothing is infinite, NaN or too
large to compute with.  The project may add optional keys; the contract's names are
never renamed.
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from sustain.scenario.months import MONTH_RE

# ---------------------------------------------------------------------------------------
# Accepted ranges (docs/scenario.md, "Accepted values", explains each one)

#: Mean operating hours between failures, per installed unit.
MIN_MTBF_HOURS, MAX_MTBF_HOURS = 0.01, 1e9
#: Repair, resupply and procurement times, days (ten years).
MAX_DELAY_DAYS = 3650.0
#: Days of time-phased events and windows (a century).
MAX_DAY = 36_500.0
#: Systems in a fleet, in a delivery, or lost on one day.
MAX_SYSTEMS = 1_000_000
#: Units of an item installed per system.
MAX_INSTALLED_QTY = 10_000
#: Spares held, bounded, or delivered, per row.
MAX_SPARES = 1_000_000_000
#: Money per unit (a spare, a system, a consumable).
MAX_UNIT_COST = 1e12
#: Multiplier of operating tempo or of usage.
MAX_TEMPO_FACTOR = 100.0
#: Weibull shape of a unit's life.
MIN_WEIBULL_SHAPE, MAX_WEIBULL_SHAPE = 0.1, 50.0
#: Parallel repair channels at a site.
MAX_REPAIR_CHANNELS = 1_000_000
#: Expected attrition losses or battle-damage events of one fleet per day.
MAX_EVENTS_PER_DAY = 1e6
#: Stockpile quantities and capacities (units, units per month).
MAX_QUANTITY = 1e12
#: Consumable units used per system per day in operation.
MAX_PER_SYSTEM_DAY = 1e6
#: Weight of a unit of shortfall in the stockpile plan.
MAX_PRIORITY = 1e12
#: Weight of a fleet's systems in the optimiser's budget objective.
MAX_FLEET_WEIGHT = 1e6
#: Longest stockpile horizon, and longest lead time, months (a century).
MAX_MONTHS = 1200
#: Cost of moving a unit between sites as a share of its unit cost.
MAX_MOVE_FRACTION = 100.0


class Row(BaseModel):
    """Base of every table: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        allow_inf_nan=False,
        coerce_numbers_to_str=True,
    )


def _pairs(value: str, name: str, hint: str, *, qty_required: bool) -> list[dict[str, Any]]:
    """Parse the table-cell form ``"SAMX:1;IFV:2"`` into ``[{name: "SAMX", "qty": "1"}, …]``."""
    out: list[dict[str, Any]] = []
    for part in value.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        key, _, qty = part.partition(":")
        if not key.strip() or (qty_required and not qty.strip()):
            raise PydanticCustomError("cell_list", hint)
        entry: dict[str, Any] = {name: key.strip()}
        if qty.strip():
            entry["qty"] = qty.strip()
        out.append(entry)
    if not out:
        raise PydanticCustomError("cell_list", hint)
    return out


#: Ends a quantity in the ``installed_in`` table cell: the item is not essential
#: (``"SAMX:1?"``; docs/scenario.md, "Redundancy and essentiality").
NON_ESSENTIAL_MARK = "?"
#: Characters of a cell that lists several systems or marks quantities.
_CELL_MARKS = frozenset(";,/" + NON_ESSENTIAL_MARK)


def _as_installed(value: object) -> object:
    """A list of ``{system, qty, needed, essential}``, or its table-cell form.

    The cell reads ``"SAMX:1;IFV:2"`` (qty 1 if absent); ``"SAMX:2/1"`` is qty 2 of which
    1 is needed, and a quantity ending in ``?`` (``"SAMX:1?"``, ``"SAMX:2/1?"``) marks the
    item not essential.
    """
    if not isinstance(value, str):
        return value
    if not _CELL_MARKS.intersection(value):  # one system, plain quantity: "SAMX:2"
        key, _, qty = value.partition(":")
        key, qty = key.strip(), qty.strip()
        if key and ":" not in qty:
            return [{"system": key, "qty": qty}] if qty else [{"system": key}]
    hint = "must read 'SYSTEM:QTY;SYSTEM:QTY' (e.g. 'SAMX:1;IFV:2')"
    if "/" in value or NON_ESSENTIAL_MARK in value:
        hint = ("must read 'SYSTEM:QTY;SYSTEM:QTY' (e.g. 'SAMX:1;IFV:2'; 'SAMX:2/1' for 2 "
                f"installed of which 1 is needed, 'SAMX:1{NON_ESSENTIAL_MARK}' for an item "
                "that is not essential)")
    entries = []
    for part in value.replace(",", ";").split(";"):
        key, colon, qty = part.partition(":")
        qty = qty.strip()
        entry: dict[str, Any] = {}
        if qty.endswith(NON_ESSENTIAL_MARK):
            qty = qty[: -len(NON_ESSENTIAL_MARK)].strip()
            entry["essential"] = False
        if "/" in qty:
            qty, _, needed = qty.partition("/")
            qty = qty.strip()
            if not needed.strip():
                raise PydanticCustomError("cell_list", hint)
            entry["needed"] = needed.strip()
        if colon and not qty and entry:
            raise PydanticCustomError("cell_list", hint)
        entries.append((f"{key}:{qty}" if qty else key, entry))
    out = _pairs(";".join(text for text, _ in entries), "system", hint, qty_required=False)
    extra = [entry for text, entry in entries if text.strip()]
    for row, entry in zip(out, extra, strict=True):
        row.update(entry)
    return out


def _as_delivered(value: object) -> object:
    """A list of ``{item, qty}``, or its table-cell form ``"TX:2;RX:1"``."""
    if not isinstance(value, str):
        return value
    hint = "must read 'ITEM:QTY;ITEM:QTY' (e.g. 'TX:2;RX:1')"
    return _pairs(value, "item", hint, qty_required=True)


def _as_month(value: object) -> object:
    """``YYYY-MM`` text, or a date on the first of a month (as spreadsheets store months)."""
    midnight = not isinstance(value, dt.datetime) or value.time() == dt.time(0, 0)
    if isinstance(value, dt.date) and value.day == 1 and midnight:
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str) and MONTH_RE.fullmatch(value.strip()):
        return value.strip()
    raise PydanticCustomError("month", "must be a month YYYY-MM (e.g. 2023-01)")


def _as_qty_map(value: object) -> object:
    """A mapping, or its table-cell form ``"SHELL155:300000;PAC3:200"``."""
    if not isinstance(value, str):
        return value
    out: dict[str, str] = {}
    for part in value.replace(",", ";").split(";"):
        if not part.strip():
            continue
        key, colon, qty = part.partition(":")
        if not colon or not key.strip() or not qty.strip() or key.strip() in out:
            raise PydanticCustomError(
                "qty_map", "must read 'CONSUMABLE:QTY;CONSUMABLE:QTY' (e.g. 'SHELL155:300000')"
            )
        out[key.strip()] = qty.strip()
    return out


Month = Annotated[str, BeforeValidator(_as_month)]
Qty = Annotated[float, Field(ge=0, le=MAX_QUANTITY)]
QtyMap = Annotated[dict[str, Qty], BeforeValidator(_as_qty_map)]

# ---------------------------------------------------------------------------------------
# The core tables


class Holes(StrEnum):
    """Where backordered (missing) units sit in the analytic availability.

    ``spread``: at random over the installed positions (Sherbrooke 2004); ``consolidated``:
    gathered onto as few systems as possible, as cannibalisation does.
    """

    SPREAD = "spread"
    CONSOLIDATED = "consolidated"


class SiteKind(StrEnum):
    """Role of a site in the support tree (informational; the tree decides)."""

    DEPOT = "depot"
    INTERMEDIATE = "intermediate"
    BASE = "base"


class SiteRow(Row):
    """A site of the support tree; every site but a root names its parent."""

    id: str = Field(min_length=1, description="Unique site id.")
    name: str | None = Field(None, description="Readable name.")
    kind: SiteKind | None = Field(None, description="depot, intermediate or base.")
    parent: str | None = Field(None, description="Id of the site that resupplies this one.")
    order_ship_days: float | None = Field(
        None, ge=0, le=MAX_DELAY_DAYS,
        description="Resupply time parent -> this site, days (default 0).",
    )
    repair_channels: int | None = Field(
        None, ge=1, le=MAX_REPAIR_CHANNELS,
        description="Parallel repair channels (simulator only; default unlimited).",
    )


class SystemRow(Row):
    """A type of delivered system."""

    id: str = Field(min_length=1)
    name: str | None = None
    unit_cost: float | None = Field(
        None, ge=0, le=MAX_UNIT_COST, description="Cost of one system, currency."
    )


class FleetRow(Row):
    """How many systems of a type operate at a site, and how hard."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    count: int = Field(ge=0, le=MAX_SYSTEMS, description="Systems of this type at this site.")
    hours_per_day: float = Field(
        gt=0, le=24, description="Operating hours per system per calendar day."
    )
    weight: float = Field(
        1.0, gt=0, le=MAX_FLEET_WEIGHT,
        description="Value of one available system of this fleet relative to others, in "
        "the optimiser's budget objective (default 1).",
    )


class InstalledRow(Row):
    """Where a top-level item is installed and how many per system."""

    system: str = Field(min_length=1)
    qty: int = Field(1, ge=1, le=MAX_INSTALLED_QTY, description="Units of the item per system (Z).")
    needed: int | None = Field(
        None, ge=1, le=MAX_INSTALLED_QTY,
        description="Units that must work for the system to be mission capable, at most qty "
        "(k out of n; default qty).",
    )
    essential: bool = Field(
        True, description="false: a missing unit degrades the system without grounding it.",
    )


class ItemRow(Row):
    """A repairable item: top-level (installed_in) or sub-item (parent)."""

    id: str = Field(min_length=1)
    name: str | None = None
    unit_cost: float = Field(
        0.0, ge=0, le=MAX_UNIT_COST, description="Cost of one spare, currency."
    )
    mtbf_hours: float | None = Field(
        None, ge=MIN_MTBF_HOURS, le=MAX_MTBF_HOURS,
        description="Mean operating hours between failures, per installed unit.",
    )
    installed_in: Annotated[list[InstalledRow] | None, BeforeValidator(_as_installed)] = Field(
        None, description="Systems the item is installed in (table cell: 'SAMX:1;IFV:2')."
    )
    parent: str | None = Field(None, description="Parent item (for sub-items).")
    replace_fraction: float | None = Field(
        None, ge=0, le=1, description="Share of the parent's repairs that replace this item."
    )
    base_repair_fraction: float = Field(
        0.0, ge=0, le=1, description="Share of failures repaired where they occur."
    )
    base_repair_days: float | None = Field(
        None, gt=0, le=MAX_DELAY_DAYS, description="Repair time at a base."
    )
    depot_repair_days: float | None = Field(
        None, gt=0, le=MAX_DELAY_DAYS, description="Repair time at the root."
    )
    condemnation_fraction: float = Field(
        0.0, ge=0, le=1, description="Share of root arrivals scrapped and bought anew."
    )
    procurement_days: float | None = Field(
        None, gt=0, le=MAX_DELAY_DAYS, description="Lead time to replace a condemned unit."
    )
    weibull_shape: float | None = Field(
        None, ge=MIN_WEIBULL_SHAPE, le=MAX_WEIBULL_SHAPE,
        description="Weibull shape of a unit's life (simulator only; default 1 = exponential).",
    )


class StockRow(Row):
    """Spares of an item held at a site now."""

    item: str = Field(min_length=1)
    site: str = Field(min_length=1)
    qty: int = Field(ge=0, le=MAX_SPARES)


class StockLimitRow(Row):
    """Bounds on the stock the optimiser may recommend for an item (added by Sustain).

    ``site`` omitted: the bounds hold at every site.  ``max: 0`` excludes the item
    from a site (e.g. not stocked forward).  Stock already held is never reduced.
    """

    item: str = Field(min_length=1)
    site: str | None = Field(None, min_length=1)
    min: int | None = Field(None, ge=0, le=MAX_SPARES, description="Stock to hold at least.")
    max: int | None = Field(None, ge=0, le=MAX_SPARES, description="Stock to hold at most.")


# ---------------------------------------------------------------------------------------
# The time-phased tables (simulator only)


class DeliveredStockRow(Row):
    """Spares that come with a delivery of systems."""

    item: str = Field(min_length=1)
    qty: int = Field(ge=0, le=MAX_SPARES)


class DeliveryRow(Row):
    """Systems (and spares) arriving at a site on a day (simulator only)."""

    day: float = Field(ge=0, le=MAX_DAY, description="Day of arrival.")
    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    count: int = Field(ge=0, le=MAX_SYSTEMS, description="Systems delivered.")
    hours_per_day: float | None = Field(
        None, gt=0, le=24,
        description="Operating hours per day; only for a fleet that does not exist at day 0.",
    )
    stock: Annotated[list[DeliveredStockRow] | None, BeforeValidator(_as_delivered)] = Field(
        None, description="Spares delivered with them, at the same site (cell: 'TX:2;RX:1')."
    )


class TempoRow(Row):
    """A change of operating tempo over a window of days (simulator only)."""

    from_day: float = Field(ge=0, le=MAX_DAY)
    to_day: float = Field(gt=0, le=MAX_DAY)
    factor: float = Field(
        ge=0, le=MAX_TEMPO_FACTOR, description="Multiplies operating hours per day."
    )
    system: str | None = Field(None, min_length=1, description="Only this system type.")
    site: str | None = Field(None, min_length=1, description="Only at this site.")


class AttritionRow(Row):
    """Systems of a fleet lost for good: a rate, or a count on a day (simulator only)."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    losses_per_day: float | None = Field(
        None, ge=0, le=MAX_EVENTS_PER_DAY,
        description="Expected systems lost per day (Poisson process).",
    )
    day: float | None = Field(None, ge=0, le=MAX_DAY, description="Day of a given loss.")
    count: int | None = Field(None, ge=0, le=MAX_SYSTEMS, description="Systems lost on that day.")


class BattleDamageRow(Row):
    """Systems of a fleet damaged and repaired whole (simulator only)."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    damaged_per_day: float = Field(
        ge=0, le=MAX_EVENTS_PER_DAY, description="Expected systems damaged per day."
    )
    repair_days: float = Field(gt=0, le=MAX_DELAY_DAYS, description="Whole-system repair time.")


class SimulationDoc(Row):
    """Settings of ``sustain simulate`` kept with the scenario (command-line options win)."""

    warmup_days: float | None = Field(
        None, ge=0, le=MAX_DAY, description="Days left out of statistics."
    )
    cannibalisation: bool | None = Field(
        None, description="A system down for a part may take it from another down system."
    )


# ---------------------------------------------------------------------------------------
# What donors can still deliver, and what a system-day is worth (``sustain next``)


class OfferKind(StrEnum):
    """What an offer adds: systems to a fleet, spares to a site, or consumable supply."""

    SYSTEMS = "systems"
    SPARES = "spares"
    CONSUMABLE = "consumable"


class OfferRow(Row):
    """Something a donor could still deliver, in whole units, at a price per unit."""

    id: str = Field(min_length=1, description="Unique offer id.")
    donor: str | None = Field(None, min_length=1, description="Who offers it (a label).")
    kind: OfferKind = Field(description="systems, spares or consumable.")
    system: str | None = Field(None, min_length=1, description="kind systems: the system type.")
    item: str | None = Field(None, min_length=1, description="kind spares: the item.")
    site: str | None = Field(
        None, min_length=1, description="kind systems or spares: where they go."
    )
    consumable: str | None = Field(
        None, min_length=1, description="kind consumable: a consumable of the stockpile section."
    )
    max: int | None = Field(
        None, ge=0, le=MAX_SPARES, description="kind systems or spares: most units offered."
    )
    per_month: float | None = Field(
        None, ge=0, le=MAX_QUANTITY, description="kind consumable: most units a month."
    )
    unit_cost: float = Field(gt=0, le=MAX_UNIT_COST, description="Cost of one unit, currency.")
    from_day: float | None = Field(
        None, ge=0, le=MAX_DAY, description="kind systems or spares: day of arrival (default 0)."
    )
    from_month: Month | None = Field(
        None, description="kind consumable: first month it can be sent (default start_month)."
    )
    hours_per_day: float | None = Field(
        None, gt=0, le=24,
        description="kind systems: hours per day of a fleet the offer creates.",
    )


class ValueRow(Row):
    """What one mission-capable system-day of a system type is worth (default 1)."""

    system: str = Field(min_length=1)
    per_system_day: float = Field(
        ge=0, le=MAX_UNIT_COST, description="Value of one mission-capable system-day."
    )


class MoveRow(Row):
    """A route along which ``sustain optimize --redistribute`` may move spares already
    held from one site to another (added by Sustain)."""

    from_: str = Field(alias="from", min_length=1, description="Site the units leave.")
    to: str = Field(min_length=1, description="Site the units go to.")
    item: str | None = Field(
        None, min_length=1, description="Only this item (default: every item)."
    )
    cost_per_unit: float | None = Field(
        None, ge=0, le=MAX_UNIT_COST, description="Cost of moving one unit, currency."
    )
    cost_fraction: float | None = Field(
        None, ge=0, le=MAX_MOVE_FRACTION,
        description="Cost of moving one unit as a share of its unit cost (default 0.05).",
    )
    days: float | None = Field(
        None, ge=0, le=MAX_DELAY_DAYS,
        description="Transit time, days (default: up and down the support tree).",
    )
    both_ways: bool = Field(False, description="The route also runs from 'to' to 'from'.")


class LateralRow(Row):
    """A lateral resupply link between two sites with the same parent (added by Sustain).

    A demand at ``from`` that finds its shelf empty takes a spare from ``to``'s shelf
    (arriving after ``days``); both ways unless ``one_way``.
    """

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    days: float = Field(
        gt=0, le=MAX_DELAY_DAYS, description="Transit time of a lateral shipment, days."
    )
    one_way: bool = Field(False, description="Only from ``to`` to ``from`` (not back).")


class ScenarioDoc(Row):
    """The top level of a scenario file."""

    name: str | None = None
    description: str | None = None
    currency: str = "EUR"
    sites: list[SiteRow]
    systems: list[SystemRow]
    fleets: list[FleetRow]
    items: list[ItemRow]
    stock: list[StockRow] = Field(default_factory=list)
    stock_limits: list[StockLimitRow] = Field(default_factory=list)
    stockpile: dict[str, Any] | None = Field(
        None, description="Stockpiles and production (StockpileDoc)."
    )
    deliveries: list[DeliveryRow] = Field(default_factory=list)
    tempo: list[TempoRow] = Field(default_factory=list)
    attrition: list[AttritionRow] = Field(default_factory=list)
    battle_damage: list[BattleDamageRow] = Field(default_factory=list)
    simulation: SimulationDoc | None = None
    offers: list[OfferRow] = Field(default_factory=list)
    value: list[ValueRow] = Field(default_factory=list)
    uncertainty: dict[str, Any] | None = Field(
        None, description="How far inputs may be off, for `sustain sweep --samples`."
    )
    moves: list[MoveRow] = Field(default_factory=list)
    laterals: list[LateralRow] = Field(default_factory=list)
    holes: Holes | None = Field(
        None, description="How the analytic model places missing units on systems: spread "
        "(at random, default) or consolidated (onto as few systems as possible).",
    )


#: The tables of a scenario and the model of one row of each.
TABLES: dict[str, type[Row]] = {
    "sites": SiteRow,
    "systems": SystemRow,
    "fleets": FleetRow,
    "items": ItemRow,
    "stock": StockRow,
    "stock_limits": StockLimitRow,
    "deliveries": DeliveryRow,
    "tempo": TempoRow,
    "attrition": AttritionRow,
    "battle_damage": BattleDamageRow,
    "offers": OfferRow,
    "value": ValueRow,
    "moves": MoveRow,
    "laterals": LateralRow,
}

#: Tables read from CSV or Parquet as columns and checked per distinct value
#: (:mod:`sustain.scenario.column_rows`): the one that grows as items × sites.
COLUMN_TABLES = frozenset({"stock"})

#: Tables a scenario may leave out.
OPTIONAL_TABLES = frozenset(
    {"stock", "stock_limits", "deliveries", "tempo", "attrition", "battle_damage", "offers",
     "value", "moves", "laterals"}
)
#: Time-phased tables, read by the simulator only (the analytic engine is steady state).
TIMELINE_TABLES = ("deliveries", "tempo", "attrition", "battle_damage")

# ---------------------------------------------------------------------------------------
# The stockpile section

#: The key of the section at the top of a scenario.
SECTION = "stockpile"


class ConsumableRow(Row):
    """A consumable the partner uses: a round, an interceptor."""

    id: str = Field(min_length=1, description="Unique consumable id.")
    name: str | None = Field(None, description="Readable name.")
    unit_cost: float = Field(
        0.0, ge=0, le=MAX_UNIT_COST, description="Cost of one unit, currency."
    )
    priority: float = Field(
        1.0, gt=0, le=MAX_PRIORITY,
        description="Weight of one unit of shortfall in the plan (default 1).",
    )


class DemandRow(Row):
    """Partner consumption per month from ``from`` until the next row of the consumable."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from", description="First month, YYYY-MM.")
    per_month: float = Field(ge=0, le=MAX_QUANTITY, description="Units used per month.")


class UsageRow(Row):
    """Fleet-driven consumption: units per system of a type per day in operation."""

    consumable: str = Field(min_length=1)
    system: str = Field(min_length=1, description="A system id of the scenario.")
    per_system_day: float = Field(
        ge=0, le=MAX_PER_SYSTEM_DAY, description="Units per system per day."
    )


class StockpileTempoRow(Row):
    """Multiplier on fleet-driven usage from ``from`` (1 before the first row)."""

    from_: Month = Field(alias="from")
    factor: float = Field(ge=0, le=MAX_TEMPO_FACTOR)


class ProductionRow(Row):
    """Committed output of a donor, per month from ``from`` until the next row."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from")
    per_month: float = Field(ge=0, le=MAX_QUANTITY)


class SurgeRow(Row):
    """Extra output the plan may buy, per month from ``from`` until the next row."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from")
    per_month: float = Field(ge=0, le=MAX_QUANTITY, description="Most extra units per month.")
    unit_cost: float | None = Field(
        None, ge=0, le=MAX_UNIT_COST,
        description="Cost of one extra unit (default: the consumable's unit_cost).",
    )


class DonorRow(Row):
    """A donor: its stock, the floor it keeps for its own defence, output and lead time."""

    id: str = Field(min_length=1)
    name: str | None = None
    stock: QtyMap = Field(default_factory=dict, description="Units held at the start.")
    floor: QtyMap = Field(
        default_factory=dict, description="Minimum end-of-month stock for its own defence."
    )
    own_use_per_month: QtyMap = Field(default_factory=dict, description="Own use per month.")
    lead_months: int = Field(
        0, ge=0, le=MAX_MONTHS,
        description="Shipped in month t, usable by the partner in month t + lead.",
    )
    production: list[ProductionRow] = Field(default_factory=list)
    surge: list[SurgeRow] = Field(default_factory=list)


class PledgeRow(Row):
    """A transfer already promised: the plan must send at least ``qty`` in ``month``."""

    donor: str = Field(min_length=1)
    consumable: str = Field(min_length=1)
    month: Month
    qty: float = Field(ge=0, le=MAX_QUANTITY)


class HeadRow(Row):
    """The scalar keys of the section."""

    start_month: Month = Field(description="First month of the plan, YYYY-MM.")
    months: int = Field(ge=1, le=MAX_MONTHS, description="Length of the horizon, months.")
    partner_stock: QtyMap = Field(
        default_factory=dict, description="Units held by the partner at the start."
    )


class StockpileDoc(Row):
    """The whole ``stockpile:`` section (its field names; the reference docs)."""

    start_month: Month
    months: int = Field(ge=1, le=MAX_MONTHS)
    consumables: list[ConsumableRow]
    demand: list[DemandRow] = Field(default_factory=list)
    usage: list[UsageRow] = Field(default_factory=list)
    tempo: list[StockpileTempoRow] = Field(default_factory=list)
    partner_stock: QtyMap = Field(default_factory=dict)
    donors: list[DonorRow] = Field(default_factory=list)
    pledges: list[PledgeRow] = Field(default_factory=list)


#: The lists of the section and the model of one row of each.
STOCKPILE_TABLES: dict[str, type[Row]] = {
    "consumables": ConsumableRow,
    "demand": DemandRow,
    "usage": UsageRow,
    "tempo": StockpileTempoRow,
    "donors": DonorRow,
    "pledges": PledgeRow,
}
#: The lists inside one donor row.
DONOR_TABLES: dict[str, type[Row]] = {"production": ProductionRow, "surge": SurgeRow}


@functools.cache
def field_names(model: type[BaseModel]) -> tuple[str, ...]:
    """Keys as written in a file (aliases: ``from``, not ``from_``)."""
    return tuple(f.alias or name for name, f in model.model_fields.items())
