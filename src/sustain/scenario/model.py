"""Validated, immutable scenario objects: ids resolved, defaults filled, units in names.

Everything downstream of :mod:`sustain.scenario.validate` receives these and trusts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sustain.scenario.stockpile import StockpilePlan


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
    """``count`` systems of one type at one site, each run ``hours_per_day``."""

    system: str
    site: str
    count: int
    hours_per_day: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Installation:
    """``qty`` units of a top-level item per system of type ``system`` (Z)."""

    system: str
    qty: int


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole validated scenario."""

    name: str | None = None
    description: str | None = None
    currency: str = "EUR"
    sites: tuple[Site, ...]
    systems: tuple[System, ...]
    fleets: tuple[Fleet, ...]
    items: tuple[Item, ...]
    stock: tuple[StockLevel, ...] = ()
    stock_limits: tuple[StockLimit, ...] = ()
    stockpile: StockpilePlan | None = None
    deliveries: tuple[Delivery, ...] = ()
    tempo: tuple[TempoChange, ...] = ()
    attrition: tuple[Attrition, ...] = ()
    battle_damage: tuple[BattleDamage, ...] = ()
    simulation: SimulationOptions = field(default_factory=SimulationOptions)
    source: str = "<memory>"
    # Resolved paths of the files read: the scenario file, then each table file.  Where
    # the scenario came from, not what it says: left out of comparisons.
    source_files: tuple[Path, ...] = field(default=(), compare=False)
