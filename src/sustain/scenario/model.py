"""Validated, immutable scenario objects: ids resolved, defaults filled, units in names.

Everything downstream of :mod:`sustain.scenario.validate` receives these and trusts them:
the core scenario (sites, systems, fleets, items, stock), the time-phased keys read by
the simulator, and the ``stockpile:`` section (:class:`StockpilePlan` and its parts).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, overload

from sustain._types import IntArray
from sustain.errors import Issue
from sustain.scenario.months import month_labels
from sustain.scenario.uncertainty import Uncertainty


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A site of the support tree (``parent`` is None for a root)."""

    id: str
    name: str | None = None
    kind: str
    parent: str | None = None
    order_ship_days: float = 0.0
    repair_channels: int | None = None  # simulator only; None = unlimited


@dataclass(frozen=True, slots=True, kw_only=True)
class System:
    """A type of delivered system."""

    id: str
    name: str | None = None
    unit_cost: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fleet:
    """``count`` systems of one type at one site, each run ``hours_per_day``.

    ``weight`` is the value of one available system of this fleet relative to the
    others in the optimiser's budget objective (``docs/optimize.md``).
    """

    system: str
    site: str
    count: int
    hours_per_day: float
    weight: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Installation:
    """``qty`` units of a top-level item per system of type ``system`` (Z).

    The system is mission capable while ``needed`` of them work (k out of n; ``needed``
    equals ``qty`` unless redundant), or whatever is missing when ``essential`` is false.
    """

    system: str
    qty: int
    needed: int | None = None  # None: qty
    essential: bool = True

    @property
    def k(self) -> int:
        """Units that must work (``needed``, default ``qty``)."""
        return self.qty if self.needed is None else self.needed


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """A repairable item: top level (``installed_in``) or sub-item (``parent``).

    Times are days; ``mtbf_hours`` is per installed unit per operating hour.
    """

    id: str
    name: str | None = None
    unit_cost: float = 0.0
    mtbf_hours: float | None = None
    installed_in: tuple[Installation, ...] = ()
    parent: str | None = None
    replace_fraction: float = 0.0
    base_repair_fraction: float = 0.0
    base_repair_days: float = 0.0
    depot_repair_days: float = 0.0
    condemnation_fraction: float = 0.0
    procurement_days: float = 0.0
    weibull_shape: float = 1.0  # simulator only; 1 = exponential lifetimes


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLevel:
    """Spares of an item held at a site."""

    item: str
    site: str
    qty: int


class StockTable(Sequence[StockLevel]):
    """The stock rows of a large table as columns; a :class:`StockLevel` is made only
    when a row is asked for.

    ``item_ids`` and ``site_ids`` are the distinct ids; ``item``, ``site`` and ``qty``
    hold per row the index of its item and site in them and its quantity.  It reads
    as a sequence of :class:`StockLevel` and compares equal to a tuple of the same rows.
    """

    __slots__ = ("item", "item_ids", "qty", "site", "site_ids")

    def __init__(self, *, item_ids: tuple[str, ...], site_ids: tuple[str, ...],
                 item: IntArray, site: IntArray, qty: IntArray) -> None:
        self.item_ids = item_ids
        self.site_ids = site_ids
        self.item = item
        self.site = site
        self.qty = qty

    def __len__(self) -> int:
        return int(self.qty.size)

    @overload
    def __getitem__(self, k: int) -> StockLevel: ...
    @overload
    def __getitem__(self, k: slice) -> tuple[StockLevel, ...]: ...
    def __getitem__(self, k: int | slice) -> StockLevel | tuple[StockLevel, ...]:
        if isinstance(k, slice):
            return tuple(self[j] for j in range(*k.indices(len(self))))
        return StockLevel(item=self.item_ids[self.item[k]], site=self.site_ids[self.site[k]],
                          qty=int(self.qty[k]))

    def __iter__(self) -> Iterator[StockLevel]:
        items, sites = self.item_ids, self.site_ids
        for i, s, q in zip(self.item.tolist(), self.site.tolist(), self.qty.tolist(),
                           strict=True):
            yield StockLevel(item=items[i], site=sites[s], qty=q)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other,
                                                                      strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"StockTable({len(self)} rows)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_stock_table, (self.item_ids, self.site_ids, self.item, self.site, self.qty))


def _stock_table(item_ids: tuple[str, ...], site_ids: tuple[str, ...], item: IntArray,
                 site: IntArray, qty: IntArray) -> StockTable:
    return StockTable(item_ids=item_ids, site_ids=site_ids, item=item, site=site, qty=qty)


@dataclass(frozen=True, slots=True, kw_only=True)
class StockLimit:
    """Bounds on recommended stock of an item at a site (every site if ``site`` is None)."""

    item: str
    site: str | None = None
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveredStock:
    """Spares of ``item`` that come with a delivery."""

    item: str
    qty: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    """A route for moving spares held from ``from_site`` to ``to_site`` (every item, or
    ``item``); a cost per unit or a share of the unit cost (None: the default), and a
    transit time (None: the receiving site's order-and-ship time)."""

    from_site: str
    to_site: str
    item: str | None = None
    cost_per_unit: float | None = None
    cost_fraction: float | None = None
    days: float | None = None
    both_ways: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """``count`` systems (and ``stock``) arriving at ``site`` on ``day`` (simulator only)."""

    day: float
    system: str
    site: str
    count: int
    hours_per_day: float | None = None  # for a fleet that does not exist at day 0
    stock: tuple[DeliveredStock, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TempoChange:
    """Operating hours per day times ``factor`` on days [from_day, to_day) (simulator only).

    ``system`` / ``site`` None: every system type / every site.
    """

    from_day: float
    to_day: float
    factor: float
    system: str | None = None
    site: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Attrition:
    """Systems of a fleet lost: ``losses_per_day`` (a Poisson rate) or ``count`` on ``day``."""

    system: str
    site: str
    losses_per_day: float | None = None
    day: float | None = None
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BattleDamage:
    """Systems of a fleet damaged at ``damaged_per_day``, each down ``repair_days``."""

    system: str
    site: str
    damaged_per_day: float
    repair_days: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulationOptions:
    """Settings of the simulator kept with the scenario (command-line options win)."""

    warmup_days: float | None = None
    cannibalisation: bool = False


# ---------------------------------------------------------------------------------------
# The stockpile section


@dataclass(frozen=True, slots=True, kw_only=True)
class Consumable:
    """A consumable; ``priority`` weighs a unit of its shortfall in the plan."""

    id: str
    name: str | None = None
    unit_cost: float = 0.0
    priority: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandStep:
    """Partner use of ``consumable``: ``per_month`` from ``from_month`` until the next step."""

    consumable: str
    from_month: str
    per_month: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Fleet-driven use: ``per_system_day`` units per system of type ``system`` per day."""

    consumable: str
    system: str
    per_system_day: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TempoStep:
    """Multiplier on fleet-driven usage from ``from_month``."""

    from_month: str
    factor: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductionStep:
    """Committed output per month from ``from_month`` until the next step."""

    consumable: str
    from_month: str
    per_month: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SurgeStep:
    """Extra output the plan may buy per month from ``from_month``, at ``unit_cost`` each."""

    consumable: str
    from_month: str
    per_month: float
    unit_cost: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Donor:
    """A donor; quantity maps are keyed by consumable id (absent means 0)."""

    id: str
    name: str | None = None
    stock: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    floor: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    own_use_per_month: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    lead_months: int = 0
    production: tuple[ProductionStep, ...] = ()
    surge: tuple[SurgeStep, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Pledge:
    """A promised transfer: at least ``qty`` of ``consumable`` from ``donor`` in ``month``."""

    donor: str
    consumable: str
    month: str
    qty: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StockpilePlan:
    """The validated ``stockpile:`` section.

    ``warnings`` holds the soft problems found (a floor above the starting stock, a
    consumable nothing demands), for the caller to show.
    """

    start_month: str
    months: int
    consumables: tuple[Consumable, ...]
    demand: tuple[DemandStep, ...] = ()
    usage: tuple[Usage, ...] = ()
    tempo: tuple[TempoStep, ...] = ()
    partner_stock: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    donors: tuple[Donor, ...] = ()
    pledges: tuple[Pledge, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def month_labels(self) -> tuple[str, ...]:
        """Every month of the horizon, ``YYYY-MM``."""
        return month_labels(self.start_month, self.months)


# ---------------------------------------------------------------------------------------
# What donors can still deliver


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """Up to ``max`` units (``per_month`` a month for a consumable) at ``unit_cost`` each.

    ``kind`` is ``"systems"`` (``system`` at ``site``, arriving on ``from_day``;
    ``hours_per_day`` is the fleet's), ``"spares"`` (``item`` at ``site`` from
    ``from_day``) or ``"consumable"`` (``consumable`` from ``from_month``).
    """

    id: str
    kind: str
    unit_cost: float
    donor: str | None = None
    system: str | None = None
    item: str | None = None
    site: str | None = None
    consumable: str | None = None
    max: int = 0
    per_month: float = 0.0
    from_day: float = 0.0
    from_month: str | None = None
    hours_per_day: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemValue:
    """What one mission-capable system-day of ``system`` is worth."""

    system: str
    per_system_day: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Lateral:
    """Spares may be sent from ``from_site`` to ``to_site`` in ``days`` when a demand at
    ``to_site`` finds its shelf empty; the other way too unless ``one_way``.  Both sites
    have the same parent and no sites below them."""

    from_site: str
    to_site: str
    days: float
    one_way: bool = False


# ---------------------------------------------------------------------------------------
# The whole scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole validated scenario.

    ``source`` names the scenario file in messages; ``source_files`` holds the resolved
    path of every file the load read, the scenario file first, then each table file
    (empty for a scenario built from a mapping); two scenarios that say the same
    compare equal whatever files they were read from.
    """

    name: str | None = None
    description: str | None = None
    currency: str = "EUR"
    sites: tuple[Site, ...]
    systems: tuple[System, ...]
    fleets: tuple[Fleet, ...]
    items: tuple[Item, ...]
    stock: tuple[StockLevel, ...] | StockTable = ()
    stock_limits: tuple[StockLimit, ...] = ()
    stockpile: StockpilePlan | None = None
    deliveries: tuple[Delivery, ...] = ()
    tempo: tuple[TempoChange, ...] = ()
    attrition: tuple[Attrition, ...] = ()
    battle_damage: tuple[BattleDamage, ...] = ()
    simulation: SimulationOptions = field(default_factory=SimulationOptions)
    offers: tuple[Offer, ...] = ()
    value: tuple[SystemValue, ...] = ()
    uncertainty: Uncertainty | None = None
    source: str = "<memory>"
    source_files: tuple[Path, ...] = field(default=(), compare=False)
    moves: tuple[Move, ...] = ()
    laterals: tuple[Lateral, ...] = ()
    #: Soft problems found outside the stockpile section (a lateral link slower than
    #: the resupply it stands in for), for the caller to show; never compared.
    warnings: tuple[Issue, ...] = field(default=(), compare=False)
    holes: str = "spread"  # or "consolidated" (schema.Holes)

    def value_per_system_day(self, system: str) -> float:
        """The ``value`` of one mission-capable system-day of ``system`` (default 1)."""
        for v in self.value:
            if v.system == system:
                return v.per_system_day
        return 1.0
