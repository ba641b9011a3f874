"""Stock plans read from CSV, and how a plan changes a scenario's stock.

A plan file has the columns ``item``, ``site`` and ``qty`` (``sustain optimize -o
plan.csv`` writes them, with ``held``, ``buy``, ``cost`` and others, which are ignored
unless a mode reads them); rows naming the same item and site add up.  Every problem is
reported with the file, the row (the header is row 1) and the column.

:func:`apply_stock_plan` puts a plan into a scenario in one of three modes
(:class:`StockMode`):

``overlay`` (the default)
    the plan's quantity is the stock of each (item, site) pair it names; every other
    row of the scenario is kept;
``replace``
    the plan is the whole stock: rows of the scenario the plan does not name hold nothing;
``add``
    the plan's units come on top of the scenario's stock; the column added is ``buy``
    when the file has one (the purchases of an optimiser's plan), otherwise ``qty``.

The result says what was done (:class:`StockChange`), in one line and as a document.
"""

from __future__ import annotations

import csv
import math
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sustain._paths import kind_of
from sustain.errors import SustainError
from sustain.scenario.messages import did_you_mean, quote
from sustain.scenario.model import Scenario, StockLevel

#: The most spares of an item a plan may hold at a site (the scenario's bound on stock).
MAX_PLAN_QTY = 1_000_000_000
#: Columns a stock plan must have (``add`` mode reads ``buy`` instead of ``qty`` if present).
PLAN_COLUMNS = ("item", "site", "qty")




def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of ``path``, which must be a regular UTF-8 text file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: a FIFO must not hang
    except OSError as exc:
        raise SustainError(f"{path}: cannot read the stock plan: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise SustainError(f"{path}: is {kind_of(mode)}, not a stock plan file (CSV)")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SustainError(
            f"{path}: not a text file (UTF-8 expected): {exc.reason} at byte {exc.start}"
        ) from None
    reader = csv.DictReader(text.splitlines())
    try:
        header = list(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise SustainError(f"{path} row {reader.line_num}: not a CSV row: {exc}") from None
    return header, rows




class StockMode(StrEnum):
    """How a plan's rows change the scenario's stock (see the module docstring)."""

    OVERLAY = "overlay"
    REPLACE = "replace"
    ADD = "add"


@dataclass(frozen=True, slots=True, kw_only=True)
class StockPlan:
    """The quantities of a plan file, per ``(item, site)``, and where each was read.

    ``qty`` holds the column ``column`` summed over the rows naming each pair; ``row``
    the first row (the header is row 1) that names it; ``rows`` the data rows.  When
    ``buy`` is read and the file has a ``held`` column (the optimiser's plan), ``held``
    holds it the same way (the stock the plan was computed from); otherwise it is empty.
    """

    path: Path
    column: str
    qty: Mapping[tuple[str, str], int]
    row: Mapping[tuple[str, str], int]
    rows: int
    held: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))


def _whole(path: Path, n: int, column: str, raw: str) -> int:
    """The whole number >= 0 in cell ``raw`` (row ``n``, ``column``)."""
    try:
        q = float(raw)
    except ValueError:
        raise SustainError(f"{path} row {n}: {column} must be a number: got {quote(raw)}") from None
    if not math.isfinite(q) or q < 0 or q != int(q):
        raise SustainError(
            f"{path} row {n}: {column} must be a whole number >= 0: got {quote(raw)}"
        )
    return int(q)


def _read_plan(path: Path, scenario: Scenario | None, column: str | None) -> StockPlan:
    header, rows = _read_rows(path)
    if column is None:
        column = "buy" if "buy" in header else "qty"
    wanted = (*PLAN_COLUMNS[:2], column)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise SustainError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "(expected the plan written by `sustain optimize -o plan.csv`: item,site,qty,…)"
        )
    items = [i.id for i in scenario.items] if scenario is not None else None
    sites = [s.id for s in scenario.sites] if scenario is not None else None
    known_items, known_sites = set(items or ()), set(sites or ())
    out: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], int] = {}
    held: dict[tuple[str, str], int] = {}
    read_held = column == "buy" and "held" in header
    for n, row in enumerate(rows, start=2):
        raw = (row.get(column) or "").strip()
        q = _whole(path, n, column, raw)
        item = (row.get("item") or "").strip()
        site = (row.get("site") or "").strip()
        for name, what, value, known, ids in (
            ("item", "an item", item, known_items, items),
            ("site", "a site", site, known_sites, sites),
        ):
            if not value:
                raise SustainError(f"{path} row {n}: {name} is empty")
            if ids is not None and value not in known:
                raise SustainError(
                    f"{path} row {n}: {name}: {quote(value)} is not {what} of the "
                    f"scenario{did_you_mean(value, ids)}"
                )
        total = out.get((item, site), 0) + q
        if total > MAX_PLAN_QTY:
            raise SustainError(
                f"{path} row {n}: {column} must be at most {MAX_PLAN_QTY:,} for one item at "
                f"one site: got {quote(raw)}"
                + (f" (adding up to {total:,} with earlier rows)" if total != q else "")
            )
        out[item, site] = total
        first.setdefault((item, site), n)
        if read_held:
            h = _whole(path, n, "held", (row.get("held") or "").strip())
            held[item, site] = held.get((item, site), 0) + h
    return StockPlan(path=path, column=column, qty=MappingProxyType(out),
                     row=MappingProxyType(first), rows=len(rows), held=MappingProxyType(held))


def read_stock_plan(
    path: str | Path, scenario: Scenario | None = None
) -> dict[tuple[str, str], int]:
    """Spares per ``(item, site)`` from a plan CSV (columns item, site, qty).

    Parameters
    ----------
    path : str or Path
        The plan file.
    scenario : Scenario, optional
        When given, every item and site must be one of its ids.

    Raises
    ------
    SustainError
        The file cannot be read or is not a regular text file; a column is missing; an
        item or site is empty or not in ``scenario``; a quantity is not a whole number
        from 0 to :data:`MAX_PLAN_QTY` (also once rows for one item and site add up).
    """
    return dict(_read_plan(Path(path), scenario, "qty").qty)


def load_stock_plan(
    path: str | Path, scenario: Scenario, mode: StockMode | str = StockMode.OVERLAY
) -> StockPlan:
    """Read a plan for ``mode``: the ``qty`` column, or in ``add`` mode ``buy`` if present.

    Besides the checks of :func:`read_stock_plan`, a row that puts units of an item at a
    site where no system can use it (no fleet at the site or below it, now or delivered
    later, has a system the item, or the item it belongs to, is installed in; nor, for a
    top-level item, at a site it may be sent to laterally) is refused, unless the
    scenario already holds that item there.

    Raises
    ------
    SustainError
        Naming the file, the row and the column.
    """
    mode = StockMode(mode)
    plan = _read_plan(Path(path), scenario, None if mode is StockMode.ADD else "qty")
    held = {(st.item, st.site) for st in scenario.stock}
    usable = _usable_pairs(scenario)
    for (item, site), q in plan.qty.items():
        if q > 0 and (item, site) not in held and (item, site) not in usable:
            raise SustainError(
                f"{plan.path} row {plan.row[item, site]}: item {quote(item)} is not used at "
                f"site {quote(site)}: no fleet there or below it has a system that holds "
                "it, and the scenario stocks none there"
            )
    return plan


def _usable_pairs(scenario: Scenario) -> set[tuple[str, str]]:
    """(item, site) pairs where a spare can serve a system: the site or one below it
    fields a system that holds the item (a sub-item: its top-level item)."""
    parent = {s.id: s.parent for s in scenario.sites}
    fielded = {(f.system, f.site) for f in scenario.fleets}
    fielded |= {(d.system, d.site) for d in scenario.deliveries}
    serving: dict[str, set[str]] = {}  # system -> sites at or above a site that fields it
    for system, site in fielded:
        at: str | None = site
        while at is not None and at not in serving.setdefault(system, set()):
            serving[system].add(at)
            at = parent.get(at)
    by_id = {i.id: i for i in scenario.items}
    out: set[tuple[str, str]] = set()
    for it in scenario.items:
        root = it
        while root.parent is not None:  # a validated item tree has no cycles
            root = by_id[root.parent]
        for inst in root.installed_in:
            out |= {(it.id, s) for s in serving.get(inst.system, ())}
    # A top-level item's spare at a site that may send it laterally serves the site it
    # is linked to (``laterals``).
    for lat in scenario.laterals:
        links = [(lat.from_site, lat.to_site)] + ([] if lat.one_way else
                                                   [(lat.to_site, lat.from_site)])
        for giver, taker in links:
            out |= {(it.id, giver) for it in scenario.items
                    if it.parent is None and (it.id, taker) in out}
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class StockChange:
    """What putting a plan into a scenario did.

    Counts are of stock rows (one per item and site): ``replaced`` rows of the scenario
    the plan named (in ``add`` mode: added units to), ``kept`` rows left as they were,
    ``dropped`` rows left out (``replace`` mode: they now hold nothing), ``new`` pairs
    the scenario had no row for; ``rows_after`` rows remain.  ``purchase_cost``
    is the cost of the units the plan adds over the scenario's stock, ``removed_cost``
    of the units it takes away (both at the items' unit costs).
    """

    file: str
    mode: StockMode
    column: str
    file_rows: int
    rows_before: int
    rows_after: int
    replaced: int
    kept: int
    dropped: int
    new: int
    units_added: int
    units_removed: int
    purchase_cost: float
    removed_cost: float
    held_differs: int = 0
    held_differs_first: tuple[str, str] | None = None

    @property
    def message(self) -> str:
        """One line saying what was done."""
        rows = f"{self.file_rows} row{'s' if self.file_rows != 1 else ''} from {self.file}"
        new = f"; {self.new} new" if self.new else ""
        if self.mode is StockMode.ADD:
            differs = ""
            if self.held_differs_first is not None:
                item, site = self.held_differs_first
                differs = (
                    f"; its held column differs from the stock held in {self.held_differs} "
                    f"row{'s' if self.held_differs != 1 else ''} (first {quote(item)} at "
                    f"{quote(site)}): the plan was computed from another stock"
                )
            return (
                f"stock: {rows} added {self.units_added:,} units (column {self.column}) to "
                f"{self.replaced} of {self.rows_before} rows{new}; {self.kept} unchanged"
                f"{differs}"
            )
        if self.mode is StockMode.REPLACE:
            dropped = f", {self.dropped} dropped (now 0)" if self.dropped else ""
            return (
                f"stock: {rows} replaced all {self.rows_before} rows: {self.replaced} set "
                f"by the file{dropped}{new}"
            )
        return (
            f"stock: {rows} replaced {self.replaced} of {self.rows_before} rows; "
            f"{self.kept} kept{new}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON document (``stock_plan`` of the command documents)."""
        return {
            "file": self.file, "mode": str(self.mode), "column": self.column,
            "file_rows": self.file_rows, "rows_before": self.rows_before,
            "rows_after": self.rows_after, "replaced": self.replaced, "kept": self.kept,
            "dropped": self.dropped, "new": self.new, "units_added": self.units_added,
            "units_removed": self.units_removed, "purchase_cost": self.purchase_cost,
            "removed_cost": self.removed_cost, "held_differs": self.held_differs,
            "message": self.message,
        }


def apply_stock_plan(
    scenario: Scenario, plan: StockPlan, mode: StockMode | str = StockMode.OVERLAY
) -> tuple[Scenario, StockChange]:
    """``scenario`` with its stock changed by ``plan`` in ``mode``, and what was done.

    The scenario's rows keep their order; pairs it did not hold follow, in the order of
    the plan file.  Nothing else of the scenario changes.

    Raises
    ------
    SustainError
        ``add`` mode would hold more than :data:`MAX_PLAN_QTY` of an item at a site
        (naming the file and row).
    """
    mode = StockMode(mode)
    before = {(st.item, st.site): st.qty for st in scenario.stock}
    after: dict[tuple[str, str], int] = {}
    replaced = kept = dropped = 0
    adding = mode is StockMode.ADD
    for key, q in before.items():
        if key in plan.qty and not (adding and plan.qty[key] == 0):
            replaced += 1
            after[key] = q + plan.qty[key] if adding else plan.qty[key]
        elif mode is StockMode.REPLACE:
            dropped += 1  # left out of the rows: nothing held
        else:
            kept += 1
            after[key] = q
    new = [k for k, q in plan.qty.items() if k not in before and (q > 0 or not adding)]
    after.update((k, plan.qty[k]) for k in new)
    for key, q in after.items():
        if q > MAX_PLAN_QTY:
            raise SustainError(
                f"{plan.path} row {plan.row[key]}: {plan.column} {plan.qty[key]:,} added to "
                f"the {before[key]:,} held of {quote(key[0])} at {quote(key[1])} makes "
                f"{q:,}, more than {MAX_PLAN_QTY:,}"
            )
    cost = {i.id: i.unit_cost for i in scenario.items}
    added = {k: after.get(k, 0) - before.get(k, 0) for k in [*before, *new]}
    units_added = sum(d for d in added.values() if d > 0)
    units_removed = -sum(d for d in added.values() if d < 0)
    rows = tuple(StockLevel(item=i, site=s, qty=q) for (i, s), q in after.items())
    differs = [k for k in [*before, *(k for k in plan.held if k not in before)]
               if plan.held and plan.held.get(k, 0) != before.get(k, 0)]
    change = StockChange(
        file=str(plan.path), mode=mode, column=plan.column, file_rows=plan.rows,
        rows_before=len(before), rows_after=len(rows),
        replaced=replaced, kept=kept, dropped=dropped, new=len(new),
        units_added=units_added, units_removed=units_removed,
        purchase_cost=math.fsum(d * cost[k[0]] for k, d in added.items() if d > 0),
        removed_cost=math.fsum(-d * cost[k[0]] for k, d in added.items() if d < 0),
        held_differs=len(differs), held_differs_first=differs[0] if differs else None,
    )
    return replace(scenario, stock=rows), change
