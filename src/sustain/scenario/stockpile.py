"""The ``stockpile:`` section of a scenario (``shared/spec/stockpile-format.md``).

Field tables (pydantic, one per row kind), the check of the whole section, and the
frozen objects the planner receives.  The same standard as the rest of the scenario:
every problem in one pass, each with its file, line or row and key path, unknown keys
with a "did you mean", months written ``YYYY-MM``, references to consumables, donors
and systems resolved.  Any list of the section (``consumables``, ``demand``, ``usage``,
``tempo``, ``donors``, ``pledges``, and a donor's ``production`` and ``surge``) may be
``{file: table.csv}``; a quantity map (``stock: {SHELL155: 300000}``) is written
``SHELL155:300000;PAC3:200`` in a table cell.

This module belongs to the scenario layer: it never imports :mod:`sustain.stockpile`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from sustain.errors import Issue, Severity
from sustain.scenario.load import RawScenario, TableSource, _is_table_ref, _load_table
from sustain.scenario.schema import _Row
from sustain.scenario.validate import (
    _closest,
    _describe,
    _loc_path,
    _pydantic_message,
    did_you_mean,
)

#: The key of the section at the top of a scenario.
SECTION = "stockpile"
#: Longest horizon accepted, months (a century).
MAX_MONTHS = 1200
_MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")

# ---------------------------------------------------------------------------------------
# Months


def month_number(month: str) -> int:
    """Months since year 0 of a ``YYYY-MM`` string (``"2023-01"`` -> 24276)."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_offset(start: str, month: str) -> int:
    """Index of ``month`` on a horizon starting at ``start`` (negative before it)."""
    return month_number(month) - month_number(start)


def month_label(start: str, k: int) -> str:
    """The ``YYYY-MM`` of month ``k`` of a horizon starting at ``start``."""
    n = month_number(start) + k
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def month_labels(start: str, months: int) -> tuple[str, ...]:
    """Every month of a horizon, ``YYYY-MM``."""
    return tuple(month_label(start, k) for k in range(months))


def days_in_months(start: str, months: int) -> tuple[int, ...]:
    """Calendar days of each month of a horizon (leap years included)."""
    out = []
    for label in month_labels(start, months):
        out.append(calendar.monthrange(int(label[:4]), int(label[5:7]))[1])
    return tuple(out)


def _as_month(value: object) -> object:
    """``YYYY-MM`` text, or a date on the first of a month (as spreadsheets store months)."""
    midnight = not isinstance(value, dt.datetime) or value.time() == dt.time(0, 0)
    if isinstance(value, dt.date) and value.day == 1 and midnight:
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str) and _MONTH_RE.fullmatch(value.strip()):
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
Qty = Annotated[float, Field(ge=0)]
QtyMap = Annotated[dict[str, Qty], BeforeValidator(_as_qty_map)]

# ---------------------------------------------------------------------------------------
# Field tables


class ConsumableRow(_Row):
    """A consumable the partner uses: a round, an interceptor."""

    id: str = Field(min_length=1, description="Unique consumable id.")
    name: str | None = Field(None, description="Readable name.")
    unit_cost: float = Field(0.0, ge=0, description="Cost of one unit, currency.")
    priority: float = Field(
        1.0, gt=0, description="Weight of one unit of shortfall in the plan (default 1)."
    )


class DemandRow(_Row):
    """Partner consumption per month from ``from`` until the next row of the consumable."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from", description="First month, YYYY-MM.")
    per_month: float = Field(ge=0, description="Units used per month.")


class UsageRow(_Row):
    """Fleet-driven consumption: units per system of a type per day in operation."""

    consumable: str = Field(min_length=1)
    system: str = Field(min_length=1, description="A system id of the scenario.")
    per_system_day: float = Field(ge=0, description="Units per system per day.")


class TempoRow(_Row):
    """Multiplier on fleet-driven usage from ``from`` (1 before the first row)."""

    from_: Month = Field(alias="from")
    factor: float = Field(ge=0)


class ProductionRow(_Row):
    """Committed output of a donor, per month from ``from`` until the next row."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from")
    per_month: float = Field(ge=0)


class SurgeRow(_Row):
    """Extra output the plan may buy, per month from ``from`` until the next row."""

    consumable: str = Field(min_length=1)
    from_: Month = Field(alias="from")
    per_month: float = Field(ge=0, description="Most extra units per month.")
    unit_cost: float | None = Field(
        None, ge=0, description="Cost of one extra unit (default: the consumable's unit_cost)."
    )


class DonorRow(_Row):
    """A donor: its stock, the floor it keeps for its own defence, output and lead time."""

    id: str = Field(min_length=1)
    name: str | None = None
    stock: QtyMap = Field(default_factory=dict, description="Units held at the start.")
    floor: QtyMap = Field(
        default_factory=dict, description="Minimum end-of-month stock for its own defence."
    )
    own_use_per_month: QtyMap = Field(default_factory=dict, description="Own use per month.")
    lead_months: int = Field(
        0, ge=0, description="Shipped in month t, usable by the partner in month t + lead."
    )
    production: list[ProductionRow] = Field(default_factory=list)
    surge: list[SurgeRow] = Field(default_factory=list)


class PledgeRow(_Row):
    """A transfer already promised: the plan must send at least ``qty`` in ``month``."""

    donor: str = Field(min_length=1)
    consumable: str = Field(min_length=1)
    month: Month
    qty: float = Field(ge=0)


class HeadRow(_Row):
    """The scalar keys of the section."""

    start_month: Month = Field(description="First month of the plan, YYYY-MM.")
    months: int = Field(ge=1, le=MAX_MONTHS, description="Length of the horizon, months.")
    partner_stock: QtyMap = Field(
        default_factory=dict, description="Units held by the partner at the start."
    )


class StockpileDoc(_Row):
    """The whole ``stockpile:`` section (its field names; the reference docs)."""

    start_month: Month
    months: int = Field(ge=1, le=MAX_MONTHS)
    consumables: list[ConsumableRow]
    demand: list[DemandRow] = Field(default_factory=list)
    usage: list[UsageRow] = Field(default_factory=list)
    tempo: list[TempoRow] = Field(default_factory=list)
    partner_stock: QtyMap = Field(default_factory=dict)
    donors: list[DonorRow] = Field(default_factory=list)
    pledges: list[PledgeRow] = Field(default_factory=list)


#: The lists of the section and the model of one row of each.
TABLES: dict[str, type[_Row]] = {
    "consumables": ConsumableRow,
    "demand": DemandRow,
    "usage": UsageRow,
    "tempo": TempoRow,
    "donors": DonorRow,
    "pledges": PledgeRow,
}
#: The lists inside one donor row.
DONOR_TABLES: dict[str, type[_Row]] = {"production": ProductionRow, "surge": SurgeRow}


def _field_names(model: type[BaseModel]) -> list[str]:
    """Keys as written in a file (aliases: ``from``, not ``from_``)."""
    return [f.alias or name for name, f in model.model_fields.items()]


# ---------------------------------------------------------------------------------------
# Validated, immutable objects


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
# Loading nested tables


def table_key(loc: tuple[Any, ...]) -> str:
    """The name a list of the section is known by: ``stockpile.donors[0].production``."""
    return _loc_path(loc)


def load_section_tables(raw: RawScenario) -> None:
    """Read every ``{file: …}`` list of the section and note where inline lists were written.

    Called by :func:`sustain.scenario.load.load_raw`; problems with table files are
    kept in ``raw.issues`` like those of top-level tables.
    """
    section = raw.data.get(SECTION)
    if not isinstance(section, dict):
        return
    for key in TABLES:
        _note_table(raw, section, (SECTION, key))
    donors = section.get("donors")
    if isinstance(donors, list):
        for i, donor in enumerate(donors):
            if isinstance(donor, dict):
                for key in DONOR_TABLES:
                    _note_table(raw, donor, (SECTION, "donors", i, key))


def _note_table(raw: RawScenario, container: dict[str, Any], loc: tuple[Any, ...]) -> None:
    value = container.get(loc[-1])
    name = table_key(loc)
    if isinstance(value, list):
        raw.tables[name] = TableSource(where=raw.locate(loc), from_file=False)
        raw.row_where[name] = [raw.locate((*loc, i)) for i in range(len(value))]
    elif isinstance(value, dict) and _is_table_ref(value):
        _load_table(raw, name, value, loc=loc)


# ---------------------------------------------------------------------------------------
# Checking


class _Section:
    """Collects the issues of the section with their locations."""

    def __init__(self, raw: RawScenario) -> None:
        self.raw = raw
        self.issues: list[Issue] = []
        # Ids of rows that failed their own checks, and kinds with unknowable ids:
        # references into them that do not resolve are not reported again.
        self.broken: dict[str, set[str]] = {"consumable": set(), "donor": set()}
        self.uncertain: set[str] = set()

    def place(self, loc: tuple[Any, ...]) -> tuple[str, str]:
        """``(where, path)`` of the key path ``loc``: a file row, or a line and full path."""
        for k in range(len(loc) - 1, 0, -1):
            if not isinstance(loc[k], int):
                continue
            source = self.raw.tables.get(table_key(loc[:k]))
            if source is not None and source.from_file:
                rows = self.raw.row_where.get(table_key(loc[:k]), [])
                where = rows[loc[k]] if 0 <= loc[k] < len(rows) else source.where
                return where, _loc_path(loc[k + 1 :])
        return self.raw.locate(loc), _loc_path(loc)

    def add(self, loc: tuple[Any, ...], message: str, *, warning: bool = False) -> None:
        where, path = self.place(loc)
        severity = Severity.WARNING if warning else Severity.ERROR
        self.issues.append(Issue(where=where, path=path, message=message, severity=severity))

    def ref(self, loc: tuple[Any, ...], value: str, ids: Collection[str], kind: str) -> bool:
        """Is ``value`` an id of a ``kind``?  Reports it if not (unless that row failed)."""
        if value in ids:
            return True
        if value in self.broken.get(kind, ()) or kind in self.uncertain:
            return False
        self.add(loc, f"{value!r} is not a {kind} id{did_you_mean(value, ids)}")
        return False


def _validate_rows(
    s: _Section, loc: tuple[Any, ...], model: type[_Row], rows: object
) -> list[tuple[int, Any]]:
    """Check one list of the section row by row; return the rows that passed."""
    name = table_key(loc)
    source = s.raw.tables.get(name)
    kind = {ConsumableRow: "consumable", DonorRow: "donor"}.get(model)
    if source is not None and not source.readable:
        if kind is not None:
            s.uncertain.add(kind)
        return []  # its problem is already in raw.issues
    if not isinstance(rows, list):
        s.add(loc, f"must be a list of rows (or {{file: table.csv}}): got {_describe(rows)}")
        if kind is not None:
            s.uncertain.add(kind)
        return []
    fields = _field_names(model)
    numbers = {
        (f.alias or n) for n, f in model.model_fields.items()
        if f.annotation in (int, float, int | None, float | None)
    }
    drop: set[str] = set()
    skip_missing: set[str] = set()
    if source is not None and source.from_file:
        for col in source.columns:
            if col not in fields:
                s.issues.append(
                    Issue(where=source.where, path=col,
                          message=f"unknown column{did_you_mean(col, fields)}")
                )
                drop.add(col)
                match = _closest(col, fields)
                if match is not None:
                    skip_missing.add(match)
        for n, f in model.model_fields.items():
            col = f.alias or n
            if f.is_required() and col not in source.columns:
                if col not in skip_missing:
                    s.issues.append(
                        Issue(where=source.where, path=col, message="required column is missing")
                    )
                skip_missing.add(col)
    good: list[tuple[int, Any]] = []
    for i, row in enumerate(rows):
        here = (*loc, i)
        if not isinstance(row, dict):
            s.add(here, f"must be a mapping of keys: got {_describe(row)}")
            _mark_broken(s, model, None)
            continue
        row = {k: v for k, v in row.items() if k not in drop}
        ok = True
        for key, value in row.items():
            if isinstance(value, bool) and key in numbers:
                kind = "a whole number" if key in ("lead_months", "months") else "a number"
                s.add((*here, key), f"must be {kind}: got {_describe(value)}")
                ok = False
        if model is DonorRow:
            for key in DONOR_TABLES:
                nested = s.raw.tables.get(table_key((*here, key)))
                if nested is not None and not nested.readable:
                    row.pop(key, None)  # reported while loading
                    ok = False
        if ok:
            try:
                good.append((i, model.model_validate(row)))
                continue
            except ValidationError as exc:
                errors = exc.errors()
                # A missing key that a misspelt one most likely meant: the "did you mean"
                # of the misspelt key says it all.
                meant = {
                    (*tuple(e["loc"])[:-1], _closest(e["loc"][-1], _field_names(
                        _sub_model(model, tuple(e["loc"])))))
                    for e in errors if e["type"] == "extra_forbidden"
                }
                for err in errors:
                    eloc = tuple(err["loc"])
                    if err["type"] == "missing" and (
                        (eloc and eloc[0] in skip_missing) or eloc in meant
                    ):
                        continue
                    if eloc and isinstance(row.get(eloc[0]), bool) and eloc[0] in numbers:
                        continue
                    sub = _sub_model(model, eloc)
                    s.add((*here, *eloc), _pydantic_message(dict(err), _field_names(sub)))
        _mark_broken(s, model, row)
    return good


def _sub_model(model: type[_Row], loc: tuple[Any, ...]) -> type[_Row]:
    """The (nested) row model an error location points into."""
    if model is DonorRow and len(loc) >= 3 and loc[0] in DONOR_TABLES:
        return DONOR_TABLES[loc[0]]
    return model


def _mark_broken(s: _Section, model: type[_Row], row: dict[Any, Any] | None) -> None:
    kind = {ConsumableRow: "consumable", DonorRow: "donor"}.get(model)
    if kind is None:
        return
    value = None if row is None else row.get("id")
    if isinstance(value, str) and value.strip():
        s.broken[kind].add(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        s.broken[kind].add(str(value))
    else:
        s.uncertain.add(kind)


def _unique(
    s: _Section,
    loc: tuple[Any, ...],
    rows: list[tuple[int, Any]],
    key: Callable[[Any], Any],
    what: Callable[[Any], str],
    hint: str = "",
) -> dict[Any, tuple[int, Any]]:
    """Rows by ``key``; a repeated key is reported (with where it was first given)."""
    seen: dict[Any, tuple[int, Any]] = {}
    for i, row in rows:
        k = key(row)
        if k in seen:
            first, _ = s.place((*loc, seen[k][0]))
            s.add((*loc, i), f"{what(row)} given twice (first at {first}){hint}")
            continue
        seen[k] = (i, row)
    return seen


def validate_section(
    raw: RawScenario,
    *,
    systems: Collection[str],
    systems_uncertain: bool,
    fielded: Collection[str] | None,
) -> tuple[StockpilePlan | None, list[Issue]]:
    """Check the ``stockpile:`` section of ``raw``.

    Parameters
    ----------
    raw : RawScenario
        The scenario as read; its ``stockpile`` key is checked.
    systems : collection of str
        System ids of the scenario (``usage`` rows refer to them).
    systems_uncertain : bool
        Some system rows failed their own checks: an unknown system is not reported.
    fielded : collection of str or None
        Systems with at least one fleet (``None``: cannot be told).

    Returns
    -------
    (StockpilePlan or None, list of Issue)
        The section (``None`` if absent or if any error was found) and every issue,
        errors and warnings, each with its file, line or row and key path.
    """
    if SECTION not in raw.data:
        return None, []
    s = _Section(raw)
    section = raw.data[SECTION]
    top = (SECTION,)
    if not isinstance(section, dict):
        s.add(top, f"must be a mapping of keys (start_month, months, …): got {_describe(section)}")
        return None, s.issues
    fields = _field_names(StockpileDoc)
    for key in section:
        if key not in fields:
            s.add((*top, key), f"unknown key{did_you_mean(str(key), fields)}")

    head: HeadRow | None = None
    head_keys = {k: section[k] for k in _field_names(HeadRow) if k in section}
    if isinstance(head_keys.get("months"), bool):
        s.add((*top, "months"), f"must be a whole number: got {_describe(head_keys['months'])}")
    else:
        try:
            head = HeadRow.model_validate(head_keys)
        except ValidationError as exc:
            for err in exc.errors():
                message = _pydantic_message(dict(err), _field_names(HeadRow))
                s.add((*top, *tuple(err["loc"])), message)

    rows = {
        key: _validate_rows(s, (*top, key), model, section[key])
        for key, model in TABLES.items()
        if key in section
    }
    if "consumables" not in section:
        s.add((*top, "consumables"), "required key is missing")
        s.uncertain.add("consumable")

    consumables = _unique(
        s, (*top, "consumables"), rows.get("consumables", []), lambda r: r.id,
        lambda r: f"consumable id {r.id!r}",
    )
    donors = _unique(
        s, (*top, "donors"), rows.get("donors", []), lambda r: r.id,
        lambda r: f"donor id {r.id!r}",
    )
    cids = list(consumables)
    start = head.start_month if head is not None else None
    end = month_label(start, head.months - 1) if head is not None and start else None

    def in_horizon(loc: tuple[Any, ...], month: str, *, must: bool) -> None:
        """Report a month outside the horizon (``must``: before its start is an error)."""
        if start is None or end is None:
            return
        if must and month_offset(start, month) < 0:
            s.add(loc, f"month {month} is before start_month {start}")
        elif month_offset(end, month) > 0:
            s.add(loc, f"month {month} is after the last month of the plan ({end}): "
                  "this row has no effect", warning=True)

    # Partner stock.
    if head is not None:
        for cid in head.partner_stock:
            s.ref((*top, "partner_stock", cid), cid, cids, "consumable")

    # Demand, usage, tempo.
    demand_loc = (*top, "demand")
    for i, r in rows.get("demand", []):
        s.ref((*demand_loc, i, "consumable"), r.consumable, cids, "consumable")
        in_horizon((*demand_loc, i, "from"), r.from_, must=False)
    _unique(
        s, demand_loc, rows.get("demand", []), lambda r: (r.consumable, r.from_),
        lambda r: f"demand of {r.consumable!r} from {r.from_}",
    )
    usage_loc = (*top, "usage")
    for i, r in rows.get("usage", []):
        s.ref((*usage_loc, i, "consumable"), r.consumable, cids, "consumable")
        if r.system not in systems:
            if not systems_uncertain:
                hint = did_you_mean(r.system, systems) if systems else (
                    " (the scenario lists no systems)")
                s.add((*usage_loc, i, "system"), f"{r.system!r} is not a system id{hint}")
        elif fielded is not None and r.system not in fielded:
            s.add((*usage_loc, i, "system"),
                  f"system {r.system!r} has no fleet: this usage adds no demand", warning=True)
    _unique(
        s, usage_loc, rows.get("usage", []), lambda r: (r.consumable, r.system),
        lambda r: f"usage of {r.consumable!r} by {r.system!r}",
    )
    tempo_loc = (*top, "tempo")
    for i, r in rows.get("tempo", []):
        in_horizon((*tempo_loc, i, "from"), r.from_, must=False)
    _unique(s, tempo_loc, rows.get("tempo", []), lambda r: r.from_,
            lambda r: f"tempo from {r.from_}")

    # Donors.
    donors_loc = (*top, "donors")
    for did, (i, d) in donors.items():
        here = (*donors_loc, i)
        for key in ("stock", "floor", "own_use_per_month"):
            for cid in getattr(d, key):
                s.ref((*here, key, cid), cid, cids, "consumable")
        for key in DONOR_TABLES:
            steps = list(enumerate(getattr(d, key)))
            for k, r in steps:
                s.ref((*here, key, k, "consumable"), r.consumable, cids, "consumable")
                in_horizon((*here, key, k, "from"), r.from_, must=False)
            def label(r: Any, what: str = key) -> str:
                return f"{what} of {r.consumable!r} from {r.from_}"

            _unique(s, (*here, key), steps, lambda r: (r.consumable, r.from_), label)
        for cid, floor in d.floor.items():
            held = d.stock.get(cid, 0.0)
            if cid in consumables and floor > held:
                s.add((*here, "floor", cid),
                      f"floor {_n(floor)} is above the starting stock {_n(held)}: donor "
                      f"{did!r} starts below its {cid} floor", warning=True)

    # Pledges.
    pledges_loc = (*top, "pledges")
    for i, r in rows.get("pledges", []):
        s.ref((*pledges_loc, i, "donor"), r.donor, list(donors), "donor")
        s.ref((*pledges_loc, i, "consumable"), r.consumable, cids, "consumable")
        in_horizon((*pledges_loc, i, "month"), r.month, must=True)
    _unique(
        s, pledges_loc, rows.get("pledges", []), lambda r: (r.donor, r.consumable, r.month),
        lambda r: f"pledge of {r.consumable!r} by {r.donor!r} in {r.month}",
        hint="; merge the quantities",
    )

    # Soft: a consumable nothing demands (not said when there are errors: cascades).
    needed = {r.consumable for _, r in rows.get("demand", [])}
    needed |= {r.consumable for _, r in rows.get("usage", [])}
    clean = not any(x.severity is Severity.ERROR for x in s.issues)
    for cid, (i, _) in consumables.items():
        if clean and cid not in needed:
            s.add((*top, "consumables", i),
                  f"nothing demands {cid!r} (no demand or usage row)", warning=True)

    if any(x.severity is Severity.ERROR for x in s.issues) or head is None:
        return None, s.issues
    return _plan(head, consumables, rows, donors, s.issues), s.issues


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.4g}"


def _plan(
    head: HeadRow,
    consumables: dict[str, tuple[int, ConsumableRow]],
    rows: dict[str, list[tuple[int, Any]]],
    donors: dict[str, tuple[int, DonorRow]],
    issues: list[Issue],
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
        warnings=tuple(issues),
    )
