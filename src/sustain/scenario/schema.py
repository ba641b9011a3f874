"""The scenario contract (``shared/spec/scenario-format.md``) as field tables.

One pydantic model per entity: the field name, type, unit (in the name), default
and range live here and nowhere else.  ``validate.py`` runs them and turns their
errors into :class:`~sustain.errors.Issue` objects with file, row and key path;
``docs/reference`` can be generated from the same tables
(``Model.model_json_schema()``).

The project may add optional keys; the contract's names are never renamed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Row(BaseModel):
    """Base of every table: unknown keys are errors, objects are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        allow_inf_nan=False,
        coerce_numbers_to_str=True,
    )


class SiteKind(StrEnum):
    """Role of a site in the support tree (informational; the tree decides)."""

    DEPOT = "depot"
    INTERMEDIATE = "intermediate"
    BASE = "base"


class SiteRow(_Row):
    """A site of the support tree; every site but a root names its parent."""

    id: str = Field(min_length=1, description="Unique site id.")
    name: str | None = Field(None, description="Readable name.")
    kind: SiteKind | None = Field(None, description="depot, intermediate or base.")
    parent: str | None = Field(None, description="Id of the site that resupplies this one.")
    order_ship_days: float | None = Field(
        None, ge=0, description="Resupply time parent -> this site, days (default 0)."
    )
    repair_channels: int | None = Field(
        None, ge=1,
        description="Parallel repair channels (simulator only; default unlimited).",
    )


class SystemRow(_Row):
    """A type of delivered system."""

    id: str = Field(min_length=1)
    name: str | None = None
    unit_cost: float | None = Field(None, ge=0, description="Cost of one system, currency.")


class FleetRow(_Row):
    """How many systems of a type operate at a site, and how hard."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    count: int = Field(ge=0, description="Systems of this type at this site.")
    hours_per_day: float = Field(
        gt=0, le=24, description="Operating hours per system per calendar day."
    )


class InstalledRow(_Row):
    """Where a top-level item is installed and how many per system."""

    system: str = Field(min_length=1)
    qty: int = Field(1, ge=1, description="Units of the item per system (Z).")


class ItemRow(_Row):
    """A repairable item: top-level (installed_in) or sub-item (parent)."""

    id: str = Field(min_length=1)
    name: str | None = None
    unit_cost: float = Field(0.0, ge=0, description="Cost of one spare, currency.")
    mtbf_hours: float | None = Field(
        None, gt=0, description="Mean operating hours between failures, per installed unit."
    )
    installed_in: list[InstalledRow] | None = None
    parent: str | None = Field(None, description="Parent item (for sub-items).")
    replace_fraction: float | None = Field(
        None, ge=0, le=1, description="Share of the parent's repairs that replace this item."
    )
    base_repair_fraction: float = Field(
        0.0, ge=0, le=1, description="Share of failures repaired where they occur."
    )
    base_repair_days: float | None = Field(None, gt=0, description="Repair time at a base.")
    depot_repair_days: float | None = Field(None, gt=0, description="Repair time at the root.")
    condemnation_fraction: float = Field(
        0.0, ge=0, le=1, description="Share of root arrivals scrapped and bought anew."
    )
    procurement_days: float | None = Field(
        None, gt=0, description="Lead time to replace a condemned unit."
    )
    weibull_shape: float | None = Field(
        None, ge=0.1, le=50,
        description="Weibull shape of a unit's life (simulator only; default 1 = exponential).",
    )


class StockRow(_Row):
    """Spares of an item held at a site now."""

    item: str = Field(min_length=1)
    site: str = Field(min_length=1)
    qty: int = Field(ge=0)


class StockLimitRow(_Row):
    """Bounds on the stock the optimiser may recommend for an item (added by Sustain).

    ``site`` omitted: the bounds hold at every site.  ``max: 0`` excludes the item
    from a site (e.g. not stocked forward).  Stock already held is never reduced.
    """

    item: str = Field(min_length=1)
    site: str | None = Field(None, min_length=1)
    min: int | None = Field(None, ge=0, description="Stock to hold at least.")
    max: int | None = Field(None, ge=0, description="Stock to hold at most.")


class DeliveredStockRow(_Row):
    """Spares that come with a delivery of systems."""

    item: str = Field(min_length=1)
    qty: int = Field(ge=0)


class DeliveryRow(_Row):
    """Systems (and spares) arriving at a site on a day (simulator only)."""

    day: float = Field(ge=0, description="Day of arrival.")
    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    count: int = Field(ge=0, description="Systems delivered.")
    hours_per_day: float | None = Field(
        None, gt=0, le=24,
        description="Operating hours per day; only for a fleet that does not exist at day 0.",
    )
    stock: list[DeliveredStockRow] | None = Field(
        None, description="Spares delivered with them, at the same site."
    )


class TempoRow(_Row):
    """A change of operating tempo over a window of days (simulator only)."""

    from_day: float = Field(ge=0)
    to_day: float = Field(gt=0)
    factor: float = Field(ge=0, description="Multiplies operating hours per day.")
    system: str | None = Field(None, min_length=1, description="Only this system type.")
    site: str | None = Field(None, min_length=1, description="Only at this site.")


class AttritionRow(_Row):
    """Systems of a fleet lost for good: a rate, or a count on a day (simulator only)."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    losses_per_day: float | None = Field(
        None, ge=0, description="Expected systems lost per day (Poisson process)."
    )
    day: float | None = Field(None, ge=0, description="Day of a given loss.")
    count: int | None = Field(None, ge=0, description="Systems lost on that day.")


class BattleDamageRow(_Row):
    """Systems of a fleet damaged and repaired whole (simulator only)."""

    system: str = Field(min_length=1)
    site: str = Field(min_length=1)
    damaged_per_day: float = Field(ge=0, description="Expected systems damaged per day.")
    repair_days: float = Field(gt=0, description="Whole-system repair time.")


class SimulationDoc(_Row):
    """Settings of ``sustain simulate`` kept with the scenario (command-line options win)."""

    warmup_days: float | None = Field(None, ge=0, description="Days left out of statistics.")
    cannibalisation: bool | None = Field(
        None, description="A system down for a part may take it from another down system."
    )


class ScenarioDoc(_Row):
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
        None, description="Stockpiles and production (sustain.scenario.stockpile.StockpileDoc)."
    )
    deliveries: list[DeliveryRow] = Field(default_factory=list)
    tempo: list[TempoRow] = Field(default_factory=list)
    attrition: list[AttritionRow] = Field(default_factory=list)
    battle_damage: list[BattleDamageRow] = Field(default_factory=list)
    simulation: SimulationDoc | None = None


#: The tables of a scenario and the model of one row of each.
TABLES: dict[str, type[_Row]] = {
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
}

#: Tables a scenario may leave out.
OPTIONAL_TABLES = frozenset(
    {"stock", "stock_limits", "deliveries", "tempo", "attrition", "battle_damage"}
)
#: Time-phased tables, read by the simulator only (the analytic engine is steady state).
TIMELINE_TABLES = ("deliveries", "tempo", "attrition", "battle_damage")
