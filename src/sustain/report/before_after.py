"""Before and after an optimisation: each fleet now → target → after, and where the
money goes (per fleet, per system type, per site).

Drawn from the ``optimize`` JSON document (``Optimization.to_dict``): ``fleets``
(``availability_before``, ``target``, ``availability``, ``weight``),
``spend_by_fleet``, ``spend_by_system``, ``spend_unattributed`` and
``purchases_by_site``.  :func:`before_after_section` builds the report section;
:func:`before_after_markdown` and :func:`print_before_after` write it as Markdown
and to the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from sustain.report.model import Column, Kind, Section, Table, Text, table_markdown, table_rich

TITLE = "Before and after"

#: How the spend is split, in one sentence (the method is in docs/optimize.md).
SPLIT_NOTE = (
    "Spend per fleet: each purchase's cost is split among the fleets it serves, in "
    "proportion to their shares of the demand on that item at that site (a spare at a "
    "base serves the fleets there whose systems use the item; at a depot, every fleet "
    "below it that uses it)."
)


def _fleet_table(doc: dict[str, Any], currency: str) -> Table:
    fleets = doc["fleets"]
    spend = doc["spend_by_fleet"]
    with_target = any(f.get("target") is not None for f in fleets)
    with_weight = any(f.get("weight", 1.0) != 1.0 for f in fleets)
    cols = [Column("system"), Column("site"), Column("systems", Kind.INT)]
    if with_weight:
        cols.append(Column("weight", Kind.NUMBER, 2))
    cols.append(Column("now", Kind.PERCENT))
    if with_target:
        cols.append(Column("target", Kind.PERCENT))
    cols += [Column("after", Kind.PERCENT), Column("change", Kind.NUMBER, 1, "pts"),
             Column("spend", Kind.MONEY, unit=currency)]
    rows = []
    for f, s in zip(fleets, spend, strict=True):
        before, after = f.get("availability_before"), f["availability"]
        change = None if before is None or after is None else 100 * (after - before)
        row: list[Any] = [f["system"], f["site"], f["count"]]
        if with_weight:
            row.append(f.get("weight", 1.0))
        row.append(before)
        if with_target:
            row.append(f.get("target"))
        row += [after, change, s["cost"]]
        rows.append(tuple(row))
    return Table("before-after", tuple(cols), tuple(rows),
                 title="Availability now, target and after buying, per fleet")


def _system_table(doc: dict[str, Any], currency: str) -> Table:
    total = doc["purchase_cost"]
    cols = (Column("system"), Column("fleets", Kind.INT),
            Column("spend", Kind.MONEY, unit=currency), Column("share", Kind.PERCENT))

    def share(x: float) -> float | None:
        return x / total if total > 0 else None

    rows: list[tuple[Any, ...]] = [
        (r["system"], r["fleets"], r["cost"], share(r["cost"])) for r in doc["spend_by_system"]
    ]
    rules = (len(rows) - 1,)
    unattributed = doc.get("spend_unattributed", 0.0)
    if unattributed > 0:
        rows.append(("no fleet's demand", None, unattributed, share(unattributed)))
    rows.append(("total", sum(r["fleets"] for r in doc["spend_by_system"]), total,
                 share(total)))
    return Table("spend-by-system", cols, tuple(rows), title="Spend by system type",
                 rules=rules)


def _site_table(doc: dict[str, Any], currency: str) -> Table:
    cols = (Column("site"), Column("lines", Kind.INT), Column("units", Kind.INT),
            Column("cost", Kind.MONEY, unit=currency))
    sites = doc["purchases_by_site"]
    rows: list[tuple[Any, ...]] = [(r["site"], r["lines"], r["units"], r["cost"]) for r in sites]
    rows.append(("total", sum(r["lines"] for r in sites), sum(r["units"] for r in sites),
                 doc["purchase_cost"]))
    return Table("purchases-by-site", cols, tuple(rows), title="Purchases by site",
                 rules=(len(sites) - 1,))


def before_after_section(doc: dict[str, Any], currency: str) -> Section:
    """The report section: fleets now → target → after with their spend, the spend by
    system type, and the purchases by site."""
    budget = doc.get("budget")
    intro = (
        "Availability now (the stock held), the target where one is set, and after "
        "buying the plan."
    )
    if budget is not None and not doc.get("targets"):
        intro += (
            f" The plan makes the most of a budget of {budget:,.0f} {currency}: it "
            "maximises Σ weight · systems · log(availability) over the fleets."
        )
    return Section(TITLE, (
        Text(intro),
        _fleet_table(doc, currency),
        Text(SPLIT_NOTE),
        _system_table(doc, currency),
        _site_table(doc, currency),
    ))


def before_after_markdown(doc: dict[str, Any], currency: str) -> str:
    """The section as Markdown (``## Before and after`` and its blocks)."""
    section = before_after_section(doc, currency)
    parts = [f"## {section.title}"]
    for block in section.blocks:
        if isinstance(block, Text):
            parts.append(block.markdown)
        elif isinstance(block, Table):
            parts.append(table_markdown(block))
    return "\n\n".join(parts) + "\n"


def print_before_after(console: Console, doc: dict[str, Any], currency: str) -> None:
    """The section's tables and notes in its order: fleets now → target → after with
    their spend, how the spend is split, the spend by system type, the purchases by site
    (the budget's objective, in budget mode, is the section's first note)."""
    _, *rest = blocks = before_after_section(doc, currency).blocks
    budget_mode = doc.get("budget") is not None and not doc.get("targets")
    for block in blocks if budget_mode else rest:
        if isinstance(block, Table):
            console.print(table_rich(block))
        elif isinstance(block, Text):
            console.print(block.markdown, soft_wrap=True, markup=False, highlight=False)
