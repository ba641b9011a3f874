"""Check a raw scenario completely and turn it into :class:`~sustain.scenario.model.Scenario`.

One pass gathers *every* problem (keys, types, ranges, references, the site tree,
the item tree, fractions, reachability, the time-phased tables and the stockpile
section) and raises one :class:`~sustain.errors.ScenarioError` listing them, each with
its file, line or row, key path, the offending value and, for misspelt keys and ids,
a "did you mean" hint.  Every check here is linear in the size of the scenario.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import ValidationError

from sustain.errors import Severity
from sustain.scenario.column_rows import CheckedColumns, validate_columns
from sustain.scenario.columns import ColumnTable
from sustain.scenario.issues import Collector
from sustain.scenario.messages import closest, describe, hint_for, num
from sustain.scenario.model import (
    Fleet,
    Installation,
    Item,
    Lateral,
    Scenario,
    Site,
    StockLevel,
    StockLimit,
    System,
)
from sustain.scenario.moves import check_moves
from sustain.scenario.offers import check_offers
from sustain.scenario.raw import RawScenario
from sustain.scenario.rows import validate_rows
from sustain.scenario.schema import (
    OPTIONAL_TABLES,
    SECTION,
    TABLES,
    FleetRow,
    Holes,
    ItemRow,
    LateralRow,
    ScenarioDoc,
    SiteRow,
    StockLimitRow,
    StockRow,
    field_names,
)
from sustain.scenario.stock_columns import check_stock_columns
from sustain.scenario.stockpile import validate_section
from sustain.scenario.timeline import check_timeline
from sustain.scenario.uncertainty import check_uncertainty

#: Slack when checking that fractions sum to at most one.
FRACTION_SUM_TOL = 1e-9
#: Sub-items named in the message about a parent whose replace fractions sum above 1.
_MAX_TERMS = 10

#: What one row of each table is called in messages.
_ROW_NAME = {"sites": "site", "systems": "system", "fleets": "fleet", "items": "item"}


def validate(raw: RawScenario) -> Scenario:
    """Check ``raw`` and return the validated :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Listing the errors found (warnings ride along in ``issues``); at most
        :data:`~sustain.scenario.issues.MAX_SHOWN` of each kind, then their count.
    """
    c = Collector(raw)
    data = raw.data
    top_fields = field_names(ScenarioDoc)
    for key in data:
        if key not in top_fields:
            c.add((str(key),), "unknown key", hint=hint_for(str(key), top_fields))
    for key in ("name", "description", "currency"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            c.add((key,), f"must be text: got {describe(data[key])}")
    tables: dict[str, list[tuple[int, Any]]] = {}
    stock_columns: CheckedColumns | None = None
    # A munitions-only scenario (a stockpile section) needs no sites, systems, … .
    munitions = SECTION in data
    for table, model in TABLES.items():
        if table not in data:
            if table not in OPTIONAL_TABLES and not munitions:
                c.add((table,), "required key is missing")
                c.uncertain.add(table)
            tables[table] = []
            continue
        id_key = "system" if table == "fleets" else None
        given = data[table]
        if isinstance(given, ColumnTable):  # the stock of a CSV or Parquet file
            stock_columns = validate_columns(c, (table,), model, given, id_key=id_key)
            tables[table] = []
        else:
            tables[table] = validate_rows(c, (table,), model, given, id_key=id_key)
        if table in _ROW_NAME and isinstance(given, list | ColumnTable) and len(given) == 0 \
                and not munitions:
            source = raw.tables.get(table)
            message = f"at least one {_ROW_NAME[table]} is needed"
            if source is not None and source.from_file:
                c.add_at(source.where, table, message)
            else:
                c.add((table,), message)
            c.uncertain.add(table)

    sites = c.unique(("sites",), tables["sites"], lambda r: r.id,
                     lambda r, at: f"site id {c.show(at, r.id)}")
    systems = c.unique(("systems",), tables["systems"], lambda r: r.id,
                       lambda r, at: f"system id {c.show(at, r.id)}")
    items = c.unique(("items",), tables["items"], lambda r: r.id,
                     lambda r, at: f"item id {c.show(at, r.id)}")

    site_parent = _check_sites(c, sites)
    fleets_ok = _check_fleets(c, tables["fleets"], sites, systems)
    if fleets_ok is not None:  # systems delivered later, or offered, are fielded too
        fleets_ok |= {r.system for _, r in tables["deliveries"]}
        fleets_ok |= {r.system for _, r in tables["offers"] if r.system is not None}
    _check_items(c, items, systems, fleets_ok)
    _check_needed(c, items)
    holes = _check_holes(c, data)
    _check_stock(c, tables["stock"], items, sites)
    stock_table = None if stock_columns is None else check_stock_columns(
        c, stock_columns, items, sites)
    _check_limits(c, tables["stock_limits"], items, sites)
    _check_failed_rows(c, sites=sites, systems=systems, items=items)

    plan = validate_section(
        c,
        systems=systems,
        systems_uncertain="systems" in c.uncertain or bool(c.broken["systems"]),
        fielded=fleets_ok,
    )
    timeline = check_timeline(c, tables, sites=sites, systems=systems, items=items)
    offers, value = check_offers(c, tables, sites=sites, systems=systems, items=items, plan=plan)
    uncertainty = check_uncertainty(c, items)
    moves = check_moves(c, tables["moves"], sites=sites, items=items)
    laterals = _check_laterals(c, tables["laterals"], sites, site_parent)
    c.raise_if_errors()

    children: dict[str, int] = defaultdict(int)
    for p in site_parent.values():
        if p is not None:
            children[p] += 1

    def kind_of(row: SiteRow) -> str:
        if row.kind is not None:
            return str(row.kind)
        if row.parent is None:
            return "depot"
        return "intermediate" if children[row.id] else "base"

    warnings = tuple(i for i in c.issues() if i.severity is Severity.WARNING
                     and not i.path.startswith("stockpile"))
    return Scenario(
        warnings=warnings,
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
            Fleet(system=r.system, site=r.site, count=r.count, hours_per_day=r.hours_per_day,
                  weight=r.weight)
            for _, r in tables["fleets"]
        ),
        items=tuple(_item(r) for _, r in items.values()),
        stock_limits=tuple(
            StockLimit(item=r.item, site=r.site, min=r.min, max=r.max)
            for _, r in tables["stock_limits"]
        ),
        stock=stock_table if stock_table is not None else tuple(
            StockLevel(item=r.item, site=r.site, qty=r.qty) for _, r in tables["stock"]
        ),
        stockpile=plan,
        deliveries=timeline.deliveries,
        tempo=timeline.tempo,
        attrition=timeline.attrition,
        battle_damage=timeline.battle_damage,
        simulation=timeline.simulation,
        offers=offers,
        value=value,
        uncertainty=uncertainty,
        source=raw.where,
        source_files=tuple(raw.source_files),
        moves=moves,
        laterals=laterals,
        holes=holes,
    )


def _item(r: ItemRow) -> Item:
    return Item(
        id=r.id,
        name=r.name,
        unit_cost=r.unit_cost,
        mtbf_hours=r.mtbf_hours,
        installed_in=tuple(
            Installation(system=x.system, qty=x.qty, needed=x.needed, essential=x.essential)
            for x in r.installed_in or ()
        ),
        parent=r.parent,
        replace_fraction=r.replace_fraction or 0.0,
        base_repair_fraction=r.base_repair_fraction,
        base_repair_days=r.base_repair_days or 0.0,
        depot_repair_days=r.depot_repair_days or 0.0,
        condemnation_fraction=r.condemnation_fraction,
        procurement_days=r.procurement_days or 0.0,
        weibull_shape=r.weibull_shape if r.weibull_shape is not None else 1.0,
    )


def _check_needed(c: Collector, items: dict[str, tuple[int, ItemRow]]) -> None:
    """``needed`` of an installation is at most its ``qty`` (k out of n)."""
    for i, r in items.values():
        for k, inst in enumerate(r.installed_in or ()):
            if inst.needed is not None and inst.needed > inst.qty:
                c.add(("items", i, "installed_in", k, "needed"),
                      f"must be at most qty ({inst.qty}): got {inst.needed}")


def _check_holes(c: Collector, data: dict[str, Any]) -> str:
    """The ``holes`` setting (``spread`` when absent)."""
    value = data.get("holes")
    if value is None:
        return str(Holes.SPREAD)
    choices = [str(h) for h in Holes]
    if isinstance(value, str) and value.strip() in choices:
        return value.strip()
    c.add(("holes",), f"must be one of {', '.join(choices)}: got {describe(value)}",
          hint=hint_for(str(value), choices))
    return str(Holes.SPREAD)


def _find_cycles(parent: dict[str, str | None]) -> list[tuple[str, list[str]]]:
    """Cycles of the parent links, each once: ``(entry, cycle)`` with ``cycle`` starting at
    ``entry``, the first node of the cycle reached from the earliest start (in ``parent``'s
    order).  Linear in the number of nodes."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[tuple[str, list[str]]] = []
    for start in parent:
        if start in state:
            continue
        path: list[str] = []
        node: str | None = start
        while node is not None and node in parent and node not in state:
            state[node] = 1
            path.append(node)
            node = parent[node]
        if node is not None and state.get(node) == 1:
            found.append((node, path[path.index(node):]))
        for n in path:
            state[n] = 2
    return found


def _check_sites(c: Collector, sites: dict[str, tuple[int, SiteRow]]) -> dict[str, str | None]:
    parent: dict[str, str | None] = {}
    doubtful = "sites" in c.uncertain or bool(c.broken["sites"])
    for sid, (i, r) in sites.items():
        parent[sid] = r.parent
        at = ("sites", i)
        if r.parent is None:
            if r.order_ship_days is not None:
                c.add(
                    (*at, "order_ship_days"),
                    "a root site has no parent to be resupplied from; remove the key or "
                    "give the site a parent",
                )
            continue
        if r.parent == sid:
            c.add((*at, "parent"), f"site {c.show(at, sid)} names itself as its parent")
            parent[sid] = None
            continue
        if not c.ref((*at, "parent"), r.parent, sites, "site", "sites"):
            parent[sid] = None
    cycles = _find_cycles(parent)
    for node, cycle in cycles:
        at = ("sites", sites[node][0])
        loop = " -> ".join(c.plain(at, x) for x in [*cycle, node])
        c.add((*at, "parent"), f"the site tree has a cycle: {loop}")
    if sites and all(r.parent is not None for _, r in sites.values()) and not (
        cycles or doubtful
    ):
        c.add(("sites",), "no root site: one site (the top depot) must have no parent")
    return parent


def _check_fleets(
    c: Collector,
    fleets: list[tuple[int, FleetRow]],
    sites: dict[str, Any],
    systems: dict[str, Any],
) -> set[str] | None:
    """Check fleet references; return the systems that have at least one fleet.

    ``None`` when that cannot be told (a fleet row failed without naming its system).
    """
    fielded: set[str] = set(c.broken["fleets"])
    seen: dict[tuple[str, str], int] = {}
    for i, r in fleets:
        at = ("fleets", i)
        ok_sys = c.ref((*at, "system"), r.system, systems, "system", "systems")
        ok_site = c.ref((*at, "site"), r.site, sites, "site", "sites")
        if ok_sys:
            fielded.add(r.system)
        else:  # a misspelt system most likely meant the closest one
            fielded.add(closest(r.system, systems) or r.system)
        if ok_sys and ok_site:
            k = (r.system, r.site)
            if k in seen:
                c.add(
                    at,
                    f"fleet of {c.show(at, r.system)} at {c.show(at, r.site)} given twice "
                    f"(first at {c.first_at(('fleets', seen[k]))}); merge the counts",
                )
            seen.setdefault(k, i)
    return None if "fleets" in c.uncertain else fielded


def _check_items(
    c: Collector,
    items: dict[str, tuple[int, ItemRow]],
    systems: dict[str, Any],
    fielded: set[str] | None,
) -> None:
    parent_of: dict[str, str] = {}
    share: dict[str, float] = defaultdict(float)
    subs_of: dict[str, list[str]] = defaultdict(list)
    absent = c.absent["items"]
    for iid, (i, r) in items.items():
        at = ("items", i)
        top, sub = r.installed_in is not None, r.parent is not None
        if top and sub:
            c.add(
                (*at, "parent"),
                "an item is either top level (installed_in) or a sub-item (parent), not both",
            )
        elif not top and not sub:
            if not absent & {"installed_in", "parent"}:
                c.add(at, "needs installed_in (a top-level item) or parent (a sub-item)")
        elif r.installed_in is not None:
            if r.mtbf_hours is None and "mtbf_hours" not in absent:
                c.add((*at, "mtbf_hours"), "required for a top-level item")
            if r.replace_fraction is not None:
                c.add(
                    (*at, "replace_fraction"),
                    "only a sub-item (with parent) has a replace_fraction",
                )
            if not r.installed_in:
                c.add((*at, "installed_in"), "names no system")
            named: set[str] = set()
            for k, inst in enumerate(r.installed_in):
                key = (*at, "installed_in", k, "system")
                c.ref(key, inst.system, systems, "system", "systems")
                if inst.system in named:
                    c.add(key, f"system {c.show(at, inst.system)} named twice")
                named.add(inst.system)
        elif r.parent is not None:
            if r.mtbf_hours is not None:
                c.add(
                    (*at, "mtbf_hours"),
                    "a sub-item fails through its parent's repairs: give replace_fraction, "
                    "not mtbf_hours",
                )
            if r.replace_fraction is None and "replace_fraction" not in absent:
                c.add((*at, "replace_fraction"), "required for a sub-item")
            if r.weibull_shape is not None:
                c.add(
                    (*at, "weibull_shape"),
                    "a sub-item fails through its parent's repairs: it has no lifetime shape",
                )
            if r.parent == iid:
                c.add((*at, "parent"), f"item {c.show(at, iid)} names itself as its parent")
            elif c.ref((*at, "parent"), r.parent, items, "item", "items"):
                parent_of[iid] = r.parent
                share[r.parent] += r.replace_fraction or 0.0
                subs_of[r.parent].append(iid)
        if (
            r.base_repair_fraction > 0
            and r.base_repair_days is None
            and "base_repair_days" not in absent
        ):
            c.add((*at, "base_repair_days"), "required when base_repair_fraction > 0")
        if (
            r.base_repair_fraction < 1
            and r.depot_repair_days is None
            and "depot_repair_days" not in absent
        ):
            c.add(
                (*at, "depot_repair_days"),
                "required when base_repair_fraction < 1 (some failures reach the depot)",
            )
        if (
            r.condemnation_fraction > 0
            and r.procurement_days is None
            and "procurement_days" not in absent
        ):
            c.add((*at, "procurement_days"), "required when condemnation_fraction > 0")
    for pid, total in share.items():
        if total > 1 + FRACTION_SUM_TOL:
            at = ("items", items[pid][0])
            subs = sorted(subs_of[pid])
            terms = " + ".join(
                f"{c.plain(at, k)} {num(items[k][1].replace_fraction)}"
                for k in subs[:_MAX_TERMS]
            ) + (" + …" if len(subs) > _MAX_TERMS else "")
            c.add(at, f"the replace_fraction of its sub-items sum to {total:.4g} > 1 ({terms})")
    # Cycles in the item tree, then reachability from a fleet.
    in_cycle: set[str] = set()
    for node, cycle in _find_cycles(dict(parent_of)):
        at = ("items", items[node][0])
        loop = " -> ".join(c.plain(at, x) for x in [*cycle, node])
        c.add((*at, "parent"), f"the item tree has a cycle: {loop}")
        in_cycle.update(cycle)
    if fielded is None:
        return
    root_of: dict[str, str] = {}
    for iid, (i, _) in items.items():
        if iid in in_cycle:
            continue
        path: list[str] = []
        node = iid
        while node in parent_of and node not in in_cycle and node not in root_of:
            path.append(node)
            node = parent_of[node]
        root = root_of.get(node, node)
        for n in path:
            root_of[n] = root
        root_row = items[root][1]
        if root_row.installed_in is None or root_row.parent is not None or root in in_cycle:
            continue
        used = [x.system for x in root_row.installed_in if x.system in systems]
        if used and not any(s in fielded for s in used):
            at = ("items", i)
            via = "" if root == iid else f" (through {c.show(at, root)})"
            c.add(
                at,
                f"item {c.show(at, iid)} is installed{via} only in systems with no fleet "
                f"({', '.join(c.plain(at, s) for s in used[:_MAX_TERMS])}"
                f"{', …' if len(used) > _MAX_TERMS else ''}): nothing demands it",
            )


#: The references of each core table: key, the table it points into, what a row there is.
_REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "sites": (("parent", "sites", "site"),),
    "fleets": (("system", "systems", "system"), ("site", "sites", "site")),
    "items": (("parent", "items", "item"),),
    "stock": (("item", "items", "item"), ("site", "sites", "site")),
    "stock_limits": (("item", "items", "item"), ("site", "sites", "site")),
    "deliveries": (("system", "systems", "system"), ("site", "sites", "site")),
    "tempo": (("system", "systems", "system"), ("site", "sites", "site")),
    "attrition": (("system", "systems", "system"), ("site", "sites", "site")),
    "battle_damage": (("system", "systems", "system"), ("site", "sites", "site")),
    "moves": (("from", "sites", "site"), ("to", "sites", "site"), ("item", "items", "item")),
    "laterals": (("from", "sites", "site"), ("to", "sites", "site")),
}


def _ref_text(value: object) -> str | None:
    """An id as a row that failed its checks wrote it, if it reads as one."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _check_failed_rows(
    c: Collector,
    *,
    sites: dict[str, Any],
    systems: dict[str, Any],
    items: dict[str, Any],
) -> None:
    """The references of rows that failed their own checks (a negative count, a missing
    key), from the keys that passed: they are independent of the row's other problems,
    so the same pass reports them (an unknown system in a fleet whose count is also
    negative).  Checks that need the whole row (repeats, cycles, required-when rules)
    wait until the row is fixed."""
    ids = {"sites": sites, "systems": systems, "items": items}
    for table, refs in _REFERENCES.items():
        for i, row in c.failed[table]:
            at = (table, i)
            for key, target, what in refs:
                value = _ref_text(row.get(key))
                if value is None or (key == "parent" and value == _ref_text(row.get("id"))):
                    continue
                c.ref((*at, key), value, ids[target], what, target)
            if table == "items" and "installed_in" in row:
                try:
                    installed = ItemRow.model_validate(
                        {"id": "-", "installed_in": row["installed_in"]}).installed_in
                except ValidationError:  # reported with the row
                    installed = None
                for k, inst in enumerate(installed or ()):
                    c.ref((*at, "installed_in", k, "system"), inst.system, systems, "system",
                          "systems")


def _check_stock(
    c: Collector,
    stock: list[tuple[int, StockRow]],
    items: dict[str, Any],
    sites: dict[str, Any],
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, r in stock:
        at = ("stock", i)
        ok_item = c.ref((*at, "item"), r.item, items, "item", "items")
        ok_site = c.ref((*at, "site"), r.site, sites, "site", "sites")
        if ok_item and ok_site:
            k = (r.item, r.site)
            if k in seen:
                c.add(
                    at,
                    f"stock of {c.show(at, r.item)} at {c.show(at, r.site)} given twice "
                    f"(first at {c.first_at(('stock', seen[k]))}); merge the quantities",
                )
            seen.setdefault(k, i)


def _check_limits(
    c: Collector,
    limits: list[tuple[int, StockLimitRow]],
    items: dict[str, Any],
    sites: dict[str, Any],
) -> None:
    seen: dict[tuple[str, str | None], int] = {}
    for i, r in limits:
        at = ("stock_limits", i)
        ok = c.ref((*at, "item"), r.item, items, "item", "items")
        if r.site is not None:
            ok = c.ref((*at, "site"), r.site, sites, "site", "sites") and ok
        if r.min is not None and r.max is not None and r.min > r.max:
            c.add((*at, "max"), f"must be >= min ({r.min}): got {r.max}")
        if ok:
            k = (r.item, r.site)
            if k in seen:
                site = c.show(at, r.site) if r.site is not None else "'every site'"
                c.add(
                    at,
                    f"limits of {c.show(at, r.item)} at {site} given twice "
                    f"(first at {c.first_at(('stock_limits', seen[k]))})",
                )
            seen.setdefault(k, i)


def _check_laterals(
    c: Collector,
    rows: list[tuple[int, LateralRow]],
    sites: dict[str, tuple[int, SiteRow]],
    site_parent: dict[str, str | None],
) -> tuple[Lateral, ...]:
    """Lateral links: known sites, not a site to itself, two sites with the same parent
    and no sites below them, each direction given once."""
    below = {p for p in site_parent.values() if p is not None}
    seen: dict[tuple[str, str], int] = {}
    out: list[Lateral] = []
    for i, r in rows:
        at = ("laterals", i)
        ok = c.ref((*at, "from"), r.from_, sites, "site", "sites")
        ok = c.ref((*at, "to"), r.to, sites, "site", "sites") and ok
        if not ok or r.from_ not in site_parent or r.to not in site_parent:
            continue
        if r.from_ == r.to:
            c.add((*at, "to"), f"a site cannot send spares to itself: got {c.show(at, r.to)}")
            continue
        bad = False
        for key, sid in (("from", r.from_), ("to", r.to)):
            if site_parent[sid] is None:
                c.add((*at, key), f"{c.show(at, sid)} is a root site: lateral resupply joins "
                      "sites that share a parent")
                bad = True
            elif sid in below:
                c.add((*at, key), f"{c.show(at, sid)} has sites below it: lateral resupply "
                      "joins sites with no sites below them")
                bad = True
        if bad:
            continue
        if site_parent[r.from_] != site_parent[r.to]:
            c.add(at, f"{c.show(at, r.from_)} (parent {c.show(at, site_parent[r.from_])}) and "
                  f"{c.show(at, r.to)} (parent {c.show(at, site_parent[r.to])}) do not have "
                  "the same parent: lateral resupply joins sites under one parent")
            continue
        links = [(r.from_, r.to)] if r.one_way else [(r.from_, r.to), (r.to, r.from_)]
        repeat = next((k for k in links if k in seen), None)
        if repeat is not None:
            c.add(at, f"spares from {c.show(at, repeat[0])} to {c.show(at, repeat[1])} given "
                  f"twice (first at {c.first_at(('laterals', seen[repeat]))})")
            continue
        for k in links:
            seen[k] = i
            resupply = sites[k[1]][1].order_ship_days or 0.0
            if r.days >= resupply > 0:
                c.add((*at, "days"), f"spares from {c.show(at, k[0])} reach {c.show(at, k[1])} "
                      f"in {r.days:g} days, no sooner than its own resupply "
                      f"({resupply:g} order-ship days): a demand is filled laterally whenever "
                      "the neighbour has a spare, so this link can lower availability",
                      warning=True)
        out.append(Lateral(from_site=r.from_, to_site=r.to, days=r.days, one_way=r.one_way))
    return tuple(out)
