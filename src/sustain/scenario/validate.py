"""Check a raw scenario completely and turn it into :class:`~sustain.scenario.model.Scenario`.

One pass gathers *every* problem (keys, types, ranges, references, the site tree,
the item tree, fractions, reachability) and raises one
:class:`~sustain.errors.ScenarioError` listing them, each with its file, line or
row, key path, the offending value and, for misspelt keys and ids, a
"did you mean" hint.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from sustain.errors import Issue, ScenarioError, Severity
from sustain.scenario import schema
from sustain.scenario.load import RawScenario
from sustain.scenario.model import (
    Fleet,
    Installation,
    Item,
    Scenario,
    Site,
    StockLevel,
    StockLimit,
    System,
)

#: Slack when checking that fractions sum to at most one.
FRACTION_SUM_TOL = 1e-9


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``.

    Case is ignored when comparing (``'west'`` suggests ``'WEST'``).
    """
    match = _closest(word, choices)
    return f" (did you mean '{match}'?)" if match is not None else ""


def _closest(word: object, choices: Iterable[str]) -> str | None:
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


#: The table a reference of each kind points into.
_TABLE_OF = {"site": "sites", "system": "systems", "item": "items"}
#: What one row of each table is called in messages.
_ROW_NAME = {"sites": "site", "systems": "system", "fleets": "fleet", "items": "item"}


class _Checker:
    """Collects issues with locations while the scenario is checked."""

    def __init__(self, raw: RawScenario) -> None:
        self.raw = raw
        self.issues: list[Issue] = list(raw.issues)
        # Ids of rows that failed their own checks: references to them are not
        # reported again (the row's own issue says what to fix).
        self.broken: dict[str, set[str]] = defaultdict(set)
        # Tables with rows whose id is unknowable (or unreadable tables): a reference
        # into them that does not resolve may be to one of those rows, so it is not
        # reported either.
        self.uncertain: set[str] = set()
        # Keys of a file table already reported as a missing or misspelt column.
        self.absent: dict[str, set[str]] = defaultdict(set)
        # Systems named by fleet rows that failed their checks.
        self.fleet_systems: set[str] = set()

    def path(self, table: str, row: int, key: str = "") -> str:
        if self.raw.tables.get(table) is not None and self.raw.tables[table].from_file:
            return key
        head = f"{table}[{row}]"
        return f"{head}.{key}" if key else head

    def row_issue(
        self, table: str, row: int, key: str, message: str, loc: tuple[Any, ...] | None = None
    ) -> None:
        where = self.raw.at(table, row, _parse_path(key) if loc is None else loc)
        self.issues.append(Issue(where=where, path=self.path(table, row, key), message=message))

    def top_issue(self, key: str, message: str, where: str | None = None) -> None:
        where = where or self.raw.locate((key,))
        self.issues.append(Issue(where=where, path=key, message=message))

    def warn(self, table: str, row: int, key: str, message: str) -> None:
        self.issues.append(
            Issue(
                where=self.raw.at(table, row, _parse_path(key)),
                path=self.path(table, row, key),
                message=message,
                severity=Severity.WARNING,
            )
        )


def _parse_path(path: str) -> tuple[Any, ...]:
    """``"installed_in[0].system"`` -> ``("installed_in", 0, "system")``."""
    out: list[Any] = []
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return tuple(out)


def _num(value: object) -> str:
    """A bound or value as written: ``0`` rather than ``0.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _is_number_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _describe(value: object) -> str:
    """The offending value as the user wrote it (numbers from table cells unquoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value.strip() if _is_number_text(value) else repr(value)
    if isinstance(value, dict):
        return "a mapping " + repr(value) if len(repr(value)) <= 60 else "a mapping"
    if isinstance(value, list):
        return "a list " + repr(value) if len(repr(value)) <= 60 else "a list"
    return _num(value)


def _pydantic_message(err: dict[str, Any], fields: Iterable[str]) -> str:
    """Turn one pydantic error into our wording."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    got = _describe(err.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        return f"unknown key{did_you_mean(key, fields)}"
    bounds = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }
    if kind in bounds:
        op, name = bounds[kind]
        return f"must be {op} {_num(ctx.get(name))}: got {got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number: got {got}"
    if kind == "finite_number":
        return f"must be a finite number: got {got}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number: got {got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false: got {got}"
    if kind == "string_type":
        return f"must be text: got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "list_type":
        return f"must be a list: got {got}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of keys: got {got}"
    if kind == "enum":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(err.get("input")), choices)
        return f"must be one of {ctx.get('expected')}: got {got}{hint}"
    return f"{err.get('msg', 'invalid')}: got {got}"


def _loc_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (sub-)model an error location points into."""
    if len(loc) >= 3 and loc[0] == "installed_in":
        return list(schema.InstalledRow.model_fields)
    if len(loc) >= 3 and loc[0] == "stock" and model is schema.DeliveryRow:
        return list(schema.DeliveredStockRow.model_fields)
    return list(model.model_fields)


def _parse_installed(
    value: str, name: str = "system", qty_key: str = "qty"
) -> list[dict[str, Any]] | None:
    """Parse the table-file form ``"SAMX:1;IFV:2"`` (qty defaults to 1).

    ``name`` is the key of the id (``"item"`` for the spares of a delivery).
    """
    out: list[dict[str, Any]] = []
    for part in value.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        system, _, qty = part.partition(":")
        if not system.strip():
            return None
        entry: dict[str, Any] = {name: system.strip()}
        if qty.strip():
            entry[qty_key] = qty.strip()
        out.append(entry)
    return out or None


def _row_id(row: dict[Any, Any], key: str) -> str | None:
    """The id a row that failed its checks was meant to have, if it can be told."""
    value = row.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int):
        return str(value)
    return None


def _number_fields(model: type[BaseModel]) -> dict[str, str]:
    """Numeric fields of ``model`` and what their values must be."""
    out: dict[str, str] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        if ann in (int, int | None):
            out[name] = "a whole number"
        elif ann in (float, float | None):
            out[name] = "a number"
    return out


def _validate_rows(
    c: _Checker, table: str, rows: object
) -> list[tuple[int, BaseModel]]:
    """Validate one table row by row; return the rows that passed, with their index."""
    model = schema.TABLES[table]
    fields = list(model.model_fields)
    numbers = _number_fields(model)
    source = c.raw.tables.get(table)
    if source is not None and not source.readable:
        c.uncertain.add(table)  # its problem is already in raw.issues
        return []
    if not isinstance(rows, list):
        c.top_issue(
            table, f"must be a list of rows (or {{file: table.csv}}): got {_describe(rows)}"
        )
        c.uncertain.add(table)
        return []
    skip_missing: set[str] = set()
    drop: set[str] = set()
    if source is not None and source.from_file:
        for col in source.columns:
            if col not in fields:
                match = _closest(col, fields)
                c.top_issue(col, f"unknown column{did_you_mean(col, fields)}", where=source.where)
                drop.add(col)
                if match is not None:
                    c.absent[table].add(match)
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        for col in required:
            if col not in source.columns:
                if col not in c.absent[table]:
                    c.top_issue(col, "required column is missing", where=source.where)
                skip_missing.add(col)
        skip_missing |= c.absent[table]
    id_key = "id" if "id" in fields else ""
    good: list[tuple[int, BaseModel]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            c.row_issue(table, i, "", f"must be a mapping of keys: got {_describe(row)}")
            c.uncertain.add(table)
            continue
        if drop:
            row = {k: v for k, v in row.items() if k not in drop}
        ok = True
        if table == "items" and isinstance(row.get("installed_in"), str):
            parsed = _parse_installed(row["installed_in"])
            if parsed is None:
                c.row_issue(
                    table,
                    i,
                    "installed_in",
                    "must read 'SYSTEM:QTY;SYSTEM:QTY' (e.g. 'SAMX:1;IFV:2'): "
                    f"got {_describe(row['installed_in'])}",
                )
                ok = False
            else:
                row = {**row, "installed_in": parsed}
        if table == "deliveries" and isinstance(row.get("stock"), str):
            parsed = _parse_installed(row["stock"], "item")
            if parsed is None or any("qty" not in x for x in parsed):
                c.row_issue(
                    table, i, "stock",
                    "must read 'ITEM:QTY;ITEM:QTY' (e.g. 'TX:2;RX:1'): "
                    f"got {_describe(row['stock'])}",
                )
                ok = False
            else:
                row = {**row, "stock": parsed}
        for key, value in row.items():
            if isinstance(value, bool) and key in numbers:
                c.row_issue(table, i, str(key), f"must be {numbers[key]}: got {_describe(value)}")
                ok = False
        if ok:
            try:
                good.append((i, model.model_validate(row)))
                continue
            except ValidationError as exc:
                for err in exc.errors():
                    loc = tuple(err["loc"])
                    if err["type"] == "missing" and loc and loc[0] in skip_missing:
                        continue
                    if loc and isinstance(row.get(loc[0]), bool) and loc[0] in numbers:
                        continue  # reported above
                    message = _pydantic_message(dict(err), _fields_at(model, loc))
                    c.row_issue(table, i, _loc_path(loc), message, loc=loc)
        # The row failed: remember what it was meant to be, to spare cascades.
        rid = _row_id(row, id_key) if id_key else None
        if rid is not None:
            c.broken[table].add(rid)
        elif id_key:
            c.uncertain.add(table)
        if table == "fleets":
            system = _row_id(row, "system")
            if system is None:
                c.uncertain.add(table)
            else:
                c.fleet_systems.add(system)
    return good


def _check_unique(
    c: _Checker, table: str, rows: list[tuple[int, Any]], key: Any, what: str
) -> dict[Any, tuple[int, Any]]:
    seen: dict[Any, tuple[int, Any]] = {}
    for i, row in rows:
        k = key(row)
        if k in seen:
            c.row_issue(
                table, i, "", f"{what} {k!r} given twice (first at {c.raw.at(table, seen[k][0])})"
            )
            continue
        seen[k] = (i, row)
    return seen


def _check_ref(
    c: _Checker, table: str, i: int, key: str, value: str, ids: dict[str, Any], what: str
) -> bool:
    """Is ``value`` an id of a ``what``?  Reports it if not (unless that row itself failed)."""
    if value in ids:
        return True
    target = _TABLE_OF[what]
    if value in c.broken[target] or target in c.uncertain:
        return False
    article = "an" if what[0] in "aeiou" else "a"
    c.row_issue(table, i, key, f"{value!r} is not {article} {what} id{did_you_mean(value, ids)}")
    return False


def validate(raw: RawScenario) -> Scenario:
    """Check ``raw`` and return the validated :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Listing every error found (warnings ride along in ``issues``).
    """
    c = _Checker(raw)
    data = raw.data
    top_fields = list(schema.ScenarioDoc.model_fields)
    for key in data:
        if key not in top_fields:
            c.top_issue(str(key), f"unknown key{did_you_mean(str(key), top_fields)}")
    for key in ("name", "description", "currency"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            c.top_issue(key, f"must be text: got {_describe(data[key])}")
    tables: dict[str, list[tuple[int, Any]]] = {}
    # A munitions-only scenario (a stockpile section) needs no sites, systems, … .
    munitions = "stockpile" in data
    for table in schema.TABLES:
        if table not in data:
            if table not in schema.OPTIONAL_TABLES and not munitions:
                c.top_issue(table, "required key is missing")
                c.uncertain.add(table)
            tables[table] = []
            continue
        tables[table] = _validate_rows(c, table, data[table])
        if table in _ROW_NAME and data[table] == [] and not munitions:
            source = raw.tables.get(table)
            c.top_issue(
                table,
                f"at least one {_ROW_NAME[table]} is needed",
                where=source.where if source is not None and source.from_file else None,
            )
            c.uncertain.add(table)

    sites = _check_unique(c, "sites", tables["sites"], lambda r: r.id, "site id")
    systems = _check_unique(c, "systems", tables["systems"], lambda r: r.id, "system id")
    items = _check_unique(c, "items", tables["items"], lambda r: r.id, "item id")

    site_parent = _check_sites(c, sites)
    fleets_ok = _check_fleets(c, tables["fleets"], sites, systems)
    if fleets_ok is not None:  # systems delivered later are fielded too
        fleets_ok |= {r.system for _, r in tables["deliveries"]}
    _check_items(c, items, systems, fleets_ok)
    _check_stock(c, tables["stock"], items, sites)
    _check_limits(c, tables["stock_limits"], items, sites)

    from sustain.scenario.stockpile import validate_section  # imports this module

    plan, plan_issues = validate_section(
        raw,
        systems=list(systems),
        systems_uncertain="systems" in c.uncertain or bool(c.broken["systems"]),
        fielded=fleets_ok,
    )
    c.issues.extend(plan_issues)

    from sustain.scenario.timeline import check_timeline  # imports this module

    timeline = check_timeline(c, tables, sites=sites, systems=systems, items=items)

    errors = [i for i in c.issues if i.severity is Severity.ERROR]
    if errors:
        raise ScenarioError(c.issues)

    children: dict[str, int] = defaultdict(int)
    for p in site_parent.values():
        if p is not None:
            children[p] += 1

    def kind_of(row: schema.SiteRow) -> str:
        if row.kind is not None:
            return str(row.kind)
        if row.parent is None:
            return "depot"
        return "intermediate" if children[row.id] else "base"

    return Scenario(
        name=data.get("name"),
        description=data.get("description"),
        currency=data.get("currency") or "EUR",
        sites=tuple(
            Site(
                id=r.id,
                name=r.name,
                kind=kind_of(r),
                parent=r.parent,
                order_ship_days=r.order_ship_days or 0.0,
                repair_channels=r.repair_channels,
            )
            for _, r in sites.values()
        ),
        systems=tuple(
            System(id=r.id, name=r.name, unit_cost=r.unit_cost) for _, r in systems.values()
        ),
        fleets=tuple(
            Fleet(system=r.system, site=r.site, count=r.count, hours_per_day=r.hours_per_day)
            for _, r in tables["fleets"]
        ),
        items=tuple(_item(r) for _, r in items.values()),
        stock_limits=tuple(
            StockLimit(item=r.item, site=r.site, min=r.min, max=r.max)
            for _, r in tables["stock_limits"]
        ),
        stock=tuple(
            StockLevel(item=r.item, site=r.site, qty=r.qty) for _, r in tables["stock"]
        ),
        stockpile=plan,
        deliveries=timeline.deliveries,
        tempo=timeline.tempo,
        attrition=timeline.attrition,
        battle_damage=timeline.battle_damage,
        simulation=timeline.simulation,
        source=raw.where,
        source_files=tuple(raw.files),
    )


def _item(r: schema.ItemRow) -> Item:
    return Item(
        id=r.id,
        name=r.name,
        unit_cost=r.unit_cost,
        mtbf_hours=r.mtbf_hours,
        installed_in=tuple(Installation(system=x.system, qty=x.qty) for x in r.installed_in or ()),
        parent=r.parent,
        replace_fraction=r.replace_fraction or 0.0,
        base_repair_fraction=r.base_repair_fraction,
        base_repair_days=r.base_repair_days or 0.0,
        depot_repair_days=r.depot_repair_days or 0.0,
        condemnation_fraction=r.condemnation_fraction,
        procurement_days=r.procurement_days or 0.0,
        weibull_shape=r.weibull_shape if r.weibull_shape is not None else 1.0,
    )


def _check_sites(
    c: _Checker, sites: dict[str, tuple[int, schema.SiteRow]]
) -> dict[str, str | None]:
    parent: dict[str, str | None] = {}
    doubtful = "sites" in c.uncertain or bool(c.broken["sites"])
    for sid, (i, r) in sites.items():
        parent[sid] = r.parent
        if r.parent is None:
            if r.order_ship_days is not None:
                c.row_issue(
                    "sites",
                    i,
                    "order_ship_days",
                    "a root site has no parent to be resupplied from; remove the key or "
                    "give the site a parent",
                )
            continue
        if r.parent == sid:
            c.row_issue("sites", i, "parent", f"site {sid!r} names itself as its parent")
            parent[sid] = None
            continue
        if not _check_ref(c, "sites", i, "parent", r.parent, sites, "site"):
            parent[sid] = None
    reported: set[str] = set()
    for start in parent:
        path = [start]
        node = parent[start]
        while node is not None and node not in path and node in parent:
            path.append(node)
            node = parent[node]
        if node is not None and node in path:
            cycle = path[path.index(node) :]
            key = min(cycle)
            if key in reported:
                continue
            reported.add(key)
            i = sites[node][0]
            loop = " -> ".join([*cycle, node])
            c.row_issue("sites", i, "parent", f"the site tree has a cycle: {loop}")
    if sites and all(r.parent is not None for _, r in sites.values()) and not (
        reported or doubtful
    ):
        c.top_issue("sites", "no root site: one site (the top depot) must have no parent")
    return parent


def _check_fleets(
    c: _Checker,
    fleets: list[tuple[int, schema.FleetRow]],
    sites: dict[str, Any],
    systems: dict[str, Any],
) -> set[str] | None:
    """Check fleet references; return the systems that have at least one fleet.

    ``None`` when that cannot be told (a fleet row failed without naming its system).
    """
    fielded: set[str] = set(c.fleet_systems)
    seen: dict[tuple[str, str], int] = {}
    for i, r in fleets:
        ok_sys = _check_ref(c, "fleets", i, "system", r.system, systems, "system")
        ok_site = _check_ref(c, "fleets", i, "site", r.site, sites, "site")
        if ok_sys:
            fielded.add(r.system)
        else:  # a misspelt system most likely meant the closest one
            fielded.add(_closest(r.system, systems) or r.system)
        if ok_sys and ok_site:
            k = (r.system, r.site)
            if k in seen:
                c.row_issue(
                    "fleets",
                    i,
                    "",
                    f"fleet of {r.system!r} at {r.site!r} given twice "
                    f"(first at {c.raw.at('fleets', seen[k])}); merge the counts",
                )
            seen.setdefault(k, i)
    return None if "fleets" in c.uncertain else fielded


def _check_items(
    c: _Checker,
    items: dict[str, tuple[int, schema.ItemRow]],
    systems: dict[str, Any],
    fielded: set[str] | None,
) -> None:
    parent_of: dict[str, str] = {}
    share: dict[str, float] = defaultdict(float)
    absent = c.absent["items"]
    for iid, (i, r) in items.items():
        top, sub = r.installed_in is not None, r.parent is not None
        if top and sub:
            c.row_issue(
                "items",
                i,
                "parent",
                "an item is either top level (installed_in) or a sub-item (parent), not both",
            )
        elif not top and not sub:
            if not absent & {"installed_in", "parent"}:
                c.row_issue(
                    "items",
                    i,
                    "",
                    "needs installed_in (a top-level item) or parent (a sub-item)",
                )
        elif r.installed_in is not None:
            if r.mtbf_hours is None and "mtbf_hours" not in absent:
                c.row_issue("items", i, "mtbf_hours", "required for a top-level item")
            if r.replace_fraction is not None:
                c.row_issue(
                    "items",
                    i,
                    "replace_fraction",
                    "only a sub-item (with parent) has a replace_fraction",
                )
            if not r.installed_in:
                c.row_issue("items", i, "installed_in", "names no system")
            named: set[str] = set()
            for k, inst in enumerate(r.installed_in):
                key = f"installed_in[{k}].system"
                _check_ref(c, "items", i, key, inst.system, systems, "system")
                if inst.system in named:
                    c.row_issue("items", i, key, f"system {inst.system!r} named twice")
                named.add(inst.system)
        elif r.parent is not None:
            if r.mtbf_hours is not None:
                c.row_issue(
                    "items",
                    i,
                    "mtbf_hours",
                    "a sub-item fails through its parent's repairs: give replace_fraction, "
                    "not mtbf_hours",
                )
            if r.replace_fraction is None and "replace_fraction" not in absent:
                c.row_issue("items", i, "replace_fraction", "required for a sub-item")
            if r.weibull_shape is not None:
                c.row_issue(
                    "items", i, "weibull_shape",
                    "a sub-item fails through its parent's repairs: it has no lifetime shape",
                )
            if r.parent == iid:
                c.row_issue("items", i, "parent", f"item {iid!r} names itself as its parent")
            elif _check_ref(c, "items", i, "parent", r.parent, items, "item"):
                parent_of[iid] = r.parent
                share[r.parent] += r.replace_fraction or 0.0
        if (
            r.base_repair_fraction > 0
            and r.base_repair_days is None
            and "base_repair_days" not in absent
        ):
            c.row_issue(
                "items", i, "base_repair_days", "required when base_repair_fraction > 0"
            )
        if (
            r.base_repair_fraction < 1
            and r.depot_repair_days is None
            and "depot_repair_days" not in absent
        ):
            c.row_issue(
                "items",
                i,
                "depot_repair_days",
                "required when base_repair_fraction < 1 (some failures reach the depot)",
            )
        if (
            r.condemnation_fraction > 0
            and r.procurement_days is None
            and "procurement_days" not in absent
        ):
            c.row_issue(
                "items", i, "procurement_days", "required when condemnation_fraction > 0"
            )
    for pid, total in share.items():
        if total > 1 + FRACTION_SUM_TOL:
            subs = sorted(k for k, v in parent_of.items() if v == pid)
            terms = " + ".join(f"{k} {_num(items[k][1].replace_fraction)}" for k in subs)
            c.row_issue(
                "items",
                items[pid][0],
                "",
                f"the replace_fraction of its sub-items sum to {total:.4g} > 1 ({terms})",
            )
    # Cycles in the item tree, then reachability from a fleet.
    in_cycle: set[str] = set()
    for start in parent_of:
        path = [start]
        node = parent_of.get(start)
        while node is not None and node not in path:
            path.append(node)
            node = parent_of.get(node)
        if node is not None and node in path:
            cycle = path[path.index(node) :]
            if not in_cycle.intersection(cycle):
                loop = " -> ".join([*cycle, node])
                c.row_issue("items", items[node][0], "parent", f"the item tree has a cycle: {loop}")
            in_cycle.update(cycle)
    if fielded is None:
        return
    for iid, (i, _) in items.items():
        if iid in in_cycle:
            continue
        root = iid
        while root in parent_of and root not in in_cycle:
            root = parent_of[root]
        root_row = items[root][1]
        if root_row.installed_in is None or root_row.parent is not None or root in in_cycle:
            continue
        used = [x.system for x in root_row.installed_in if x.system in systems]
        if used and not any(s in fielded for s in used):
            via = "" if root == iid else f" (through {root!r})"
            c.row_issue(
                "items",
                i,
                "",
                f"item {iid!r} is installed{via} only in systems with no fleet "
                f"({', '.join(used)}): nothing demands it",
            )


def _check_stock(
    c: _Checker,
    stock: list[tuple[int, schema.StockRow]],
    items: dict[str, Any],
    sites: dict[str, Any],
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, r in stock:
        ok_item = _check_ref(c, "stock", i, "item", r.item, items, "item")
        ok_site = _check_ref(c, "stock", i, "site", r.site, sites, "site")
        if ok_item and ok_site:
            k = (r.item, r.site)
            if k in seen:
                c.row_issue(
                    "stock",
                    i,
                    "",
                    f"stock of {r.item!r} at {r.site!r} given twice "
                    f"(first at {c.raw.at('stock', seen[k])}); merge the quantities",
                )
            seen.setdefault(k, i)


def _check_limits(
    c: _Checker,
    limits: list[tuple[int, schema.StockLimitRow]],
    items: dict[str, Any],
    sites: dict[str, Any],
) -> None:
    seen: dict[tuple[str, str | None], int] = {}
    for i, r in limits:
        ok = _check_ref(c, "stock_limits", i, "item", r.item, items, "item")
        if r.site is not None:
            ok = _check_ref(c, "stock_limits", i, "site", r.site, sites, "site") and ok
        if r.min is not None and r.max is not None and r.min > r.max:
            c.row_issue("stock_limits", i, "max", f"must be >= min ({r.min}): got {r.max}")
        if ok:
            k = (r.item, r.site)
            if k in seen:
                c.row_issue(
                    "stock_limits",
                    i,
                    "",
                    f"limits of {r.item!r} at {r.site or 'every site'!r} given twice "
                    f"(first at {c.raw.at('stock_limits', seen[k])})",
                )
            seen.setdefault(k, i)
